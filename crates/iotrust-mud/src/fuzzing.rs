//! Entry points for `cargo fuzz` (fuzz/fuzz_targets/mud.rs): untrusted bytes into the checker,
//! and what parses into the policy and the nftables compiler. They must never panic.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// A MUD file: checked; when valid, judged and compiled.
pub fn mud(data: &[u8]) {
    let Ok((m, _)) = crate::MudFile::parse(data) else {
        return;
    };
    let device = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10));
    let names = vec!["cloud.example.com".to_string()];
    let ctx = crate::Context::default();
    for (protocol, port) in [(6u8, 443u16), (17, 53), (1, 0)] {
        let _ = m.policy().judge(
            &crate::Conversation {
                device,
                peer: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
                peer_names: &names,
                protocol,
                device_port: Some(40000),
                peer_port: Some(port),
                from_device: true,
                initiated_by_device: Some(true),
            },
            &ctx,
        );
    }
    let rs = crate::nft::compile(
        &m,
        &crate::nft::Options {
            device,
            timeout: 60,
        },
        &BTreeMap::new(),
        &ctx,
    );
    let _ = crate::nft::refresh_script(&rs, &BTreeMap::new(), 60);
}
