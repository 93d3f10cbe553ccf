#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| iotrust_mud::fuzzing::mud(data));
