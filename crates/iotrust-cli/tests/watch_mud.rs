//! `iotrust watch --pcap F --mud MAP`: a generated capture in which a bulb announces its
//! MUD URL over DHCP and a mapped camera scans like Mirai; the binary reports both
//! detectors and the violations, nothing of MUD without `--mud`, and a bad map line is
//! named with its field (exit 2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use iotrust_flow::link_type;
use iotrust_flow::testing::{dns, mud as m, packets as p, PcapWriter};

const BULB: [u8; 4] = [192, 168, 1, 20];
const CAM: [u8; 4] = [192, 168, 1, 40];
const CLOUD: [u8; 4] = [203, 0, 113, 10];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../iotrust-watch/tests/fixtures/mud")
}

fn capture() -> Vec<u8> {
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

fn watch(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .arg("watch")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn watch_mud_reports_violations_with_their_declaration() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("home.pcap");
    std::fs::write(&pcap, capture()).unwrap();
    std::fs::copy(fixtures().join("cam.json"), dir.path().join("cam.json")).unwrap();
    let map = dir.path().join("map.csv");
    std::fs::write(&map, "address,mud-file-or-url\n192.168.1.40,cam.json\n").unwrap();
    let mud_dir = dir.path().join("mud");
    std::fs::create_dir_all(mud_dir.join("mud.bulb.example")).unwrap();
    std::fs::copy(
        fixtures().join("bulb.json"),
        mud_dir.join("mud.bulb.example/bulb2000.json"),
    )
    .unwrap();
    let (code, out, err) = watch(&[
        "--pcap",
        pcap.to_str().unwrap(),
        "--local",
        "192.168.1.0/24",
        "--mud",
        map.to_str().unwrap(),
        "--mud-dir",
        mud_dir.to_str().unwrap(),
        "--mud-no-fetch",
        "--threads",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let opened: Vec<(String, String, String)> = events
        .iter()
        .filter(|e| e["event"] == "opened")
        .map(|e| {
            (
                e["device"].as_str().unwrap().to_string(),
                e["detector"].as_str().unwrap().to_string(),
                e["mud"]["departure"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = |d: &str, det: &str, k: &str| (d.to_string(), det.to_string(), k.to_string());
    for w in [
        want("192.168.1.20", "mud-violation", "new-port"),
        want("192.168.1.20", "mud-violation", "new-peer"),
        want("192.168.1.40", "mirai-scan", ""),
        want("192.168.1.40", "mud-violation", "new-peer"),
    ] {
        assert!(opened.contains(&w), "{w:?} not in {opened:?}\n{err}");
    }
    assert_eq!(opened.len(), 4, "{opened:?}");
    let port = events
        .iter()
        .find(|e| e["mud"]["departure"] == "new-port")
        .unwrap();
    assert_eq!(port["mud"]["source"], "dhcpv4");
    assert_eq!(
        port["mud"]["mud_url"],
        "https://mud.bulb.example/bulb2000.json"
    );
    assert_eq!(port["mud"]["flows"][0]["peer_port"], 23);
    assert_eq!(
        port["mud"]["flows"][0]["peer_names"][0],
        "cloud.bulb.example"
    );

    // without --mud: the scan alone
    let (code, out, _) = watch(&[
        "--pcap",
        pcap.to_str().unwrap(),
        "--local",
        "192.168.1.0/24",
    ]);
    assert_eq!(code, 0);
    assert!(!out.contains("mud-violation"), "{out}");
    assert!(out.contains("mirai-scan"));

    // a bad map line names its line and field
    std::fs::write(&map, "address,mud-file-or-url\n192.168.1.x,cam.json\n").unwrap();
    let (code, _, err) = watch(&[
        "--pcap",
        pcap.to_str().unwrap(),
        "--mud",
        map.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("map.csv:2: field 1 (address): `192.168.1.x` is not an IP address"),
        "{err}"
    );
}
