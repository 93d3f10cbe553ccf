#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| iotrust_flow::fuzzing::mud_dhcpv6(data));
