#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| iotrust_probe::fuzzing::import(data));
