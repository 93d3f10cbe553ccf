//! A generated capture for the MUD tests of `iotrust watch`: a bulb announces its MUD URL
//! over DHCP, looks up its cloud and talks to it, then opens telnet to it and contacts an
//! undeclared peer; a mapped camera scans like Mirai. Shared by `watch_mud.rs` and
//! `watch_bus.rs`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use iotrust_flow::link_type;
use iotrust_flow::testing::{dns, mud as m, packets as p, PcapWriter};

pub const BULB: [u8; 4] = [192, 168, 1, 20];
pub const CAM: [u8; 4] = [192, 168, 1, 40];
pub const CLOUD: [u8; 4] = [203, 0, 113, 10];

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../iotrust-watch/tests/fixtures/mud")
}

pub fn capture() -> Vec<u8> {
    let mut w = PcapWriter::new(link_type::ETHERNET, false, false);
    let mut t = 1_765_000_000_000_000i64;
    let bulb_mac = [2, 0, 0, 0, 0, BULB[3]];
    let announce = m::dhcpv4_frame(
        3,
        bulb_mac,
        [0; 4],
        Some(BULB),
        "https://mud.bulb.example/bulb2000.json",
    );
    w.packet(t, &announce, announce.len() as u32);
    // an IP packet from `src`, framed with its MAC
    let mut put = |w: &mut PcapWriter, src: [u8; 4], ip: Vec<u8>| {
        t += 1000;
        let f = m::ethernet_from([2, 0, 0, 0, 0, src[3]], 0x0800, &ip);
        w.packet(t, &f, f.len() as u32);
    };
    let resolver = [192, 168, 1, 1];
    let q = p::udp_with(5353, 53, &dns::query(1, "cloud.bulb.example", 1));
    put(&mut w, BULB, p::ipv4(BULB, resolver, 17, 64, &q));
    let a = dns::response(1, "cloud.bulb.example", 1, &[(&CLOUD, 300)]);
    put(
        &mut w,
        resolver,
        p::ipv4(resolver, BULB, 17, 64, &p::udp_with(53, 5353, &a)),
    );
    put(
        &mut w,
        BULB,
        p::ipv4_tcp(BULB, CLOUD, 40000, 443, 1, 0x02, 64),
    );
    put(
        &mut w,
        CLOUD,
        p::ipv4_tcp(CLOUD, BULB, 443, 40000, 1, 0x12, 64),
    );
    // outside the declaration: telnet to its cloud, and an undeclared peer
    put(
        &mut w,
        BULB,
        p::ipv4_tcp(BULB, CLOUD, 40001, 23, 1, 0x02, 64),
    );
    put(
        &mut w,
        BULB,
        p::ipv4_tcp(BULB, [198, 51, 100, 7], 40002, 8080, 1, 0x02, 64),
    );
    for i in 0..10u8 {
        let dst = [198, 18, 0, i + 1];
        put(
            &mut w,
            CAM,
            p::ipv4_tcp(CAM, dst, 50000, 23, u32::from_be_bytes(dst), 0x02, 64),
        );
    }
    w.finish()
}

/// The map, the `--mud-dir` and the capture in `dir`: (capture, map, mud-dir).
pub fn files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let pcap = dir.join("home.pcap");
    std::fs::write(&pcap, capture()).unwrap();
    std::fs::copy(fixtures().join("cam.json"), dir.join("cam.json")).unwrap();
    let map = dir.join("map.csv");
    std::fs::write(&map, "address,mud-file-or-url\n192.168.1.40,cam.json\n").unwrap();
    let mud_dir = dir.join("mud");
    std::fs::create_dir_all(mud_dir.join("mud.bulb.example")).unwrap();
    std::fs::copy(
        fixtures().join("bulb.json"),
        mud_dir.join("mud.bulb.example/bulb2000.json"),
    )
    .unwrap();
    (pcap, map, mud_dir)
}
