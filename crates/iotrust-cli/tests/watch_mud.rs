//! `iotrust watch --pcap F --mud MAP`: a generated capture in which a bulb announces its
//! MUD URL over DHCP and a mapped camera scans like Mirai; the binary reports both
//! detectors and the violations, nothing of MUD without `--mud`, and a bad map line is
//! named with its field (exit 2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[path = "support/mud_capture.rs"]
mod mud_capture;

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
    let (pcap, map, mud_dir) = mud_capture::files(dir.path());
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
