#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| iotrust_assess::fuzzing::profile_toml(data));
