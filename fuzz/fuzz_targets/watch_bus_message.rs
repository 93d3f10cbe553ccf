#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| iotrust_watch::fuzzing::bus_message(data));
