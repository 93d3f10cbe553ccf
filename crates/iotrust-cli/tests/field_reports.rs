//! `iotrust watch --registry`: a provider's watcher tells a real registry (`iotrust serve` on
//! loopback, SQLite) which products it sees compromised. The device is matched to its product
//! through the provider's CPE inventory; the registry is down when the watcher starts, so the
//! report waits in the queue and goes out on a retry.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use iotrust_flow::testing::{packets, PcapWriter};

#[path = "support/registry.rs"]
mod registry;
use registry::{free_port, get, iotrust, product_id, root, setup, submit, Server};

const TOKEN: &str = "tok-veridor-0123456789";

/// A Mirai-style scan from `dev`: SYNs to 80 addresses on telnet, each with seq = daddr.
fn mirai_scan_pcap(path: &Path, dev: [u8; 4]) {
    let t0 = 1_764_000_000_000_000i64;
    let mut w = PcapWriter::new(iotrust_flow::link_type::RAW, false, false);
    for i in 0..80u32 {
        let dst = [198, 51, (i / 200) as u8, (i % 200 + 1) as u8];
        let seq = u32::from_be_bytes(dst);
        let p = packets::ipv4_tcp(dev, dst, 40000 + i as u16, 23, seq, 0x02, 64);
        w.packet(t0 + i as i64 * 6_000, &p, p.len() as u32);
    }
    std::fs::write(path, w.finish()).unwrap();
}

#[test]
fn watch_reports_a_compromised_product_to_the_registry_after_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let label = setup(
        d,
        "examples/profiles/smart-lock.toml",
        "Veridor Security Ltd",
        TOKEN,
    );
    let pcap = dir.path().join("scan.pcap");
    mirai_scan_pcap(&pcap, [10, 1, 2, 3]);
    std::fs::write(
        dir.path().join("inventory.csv"),
        "address,manufacturer,model\n10.1.2.3,Veridor Security Ltd,VD-SL4\n10.1.2.4,Acme,Unregistered\n",
    )
    .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");

    // Bad settings are refused before anything runs, with the file named.
    let (code, _, err) = iotrust(&[
        "watch",
        "--pcap",
        pcap.to_str().unwrap(),
        "--registry",
        &base,
        "--provider-token-file",
        &format!("{d}/provider-token"),
        "--provider-key",
        &format!("{d}/issuer.key.json"),
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("issuer.key.json") && err.contains("not provider"),
        "{err}"
    );
    std::fs::write(dir.path().join("bad-inventory.csv"), "10.1.2.3,Veridor\n").unwrap();
    let (code, _, err) = iotrust(&[
        "watch",
        "--pcap",
        pcap.to_str().unwrap(),
        "--registry",
        &base,
        "--provider-token-file",
        &format!("{d}/provider-token"),
        "--provider-key",
        &format!("{d}/isp-a.key.json"),
        "--inventory",
        &format!("{d}/bad-inventory.csv"),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("bad-inventory.csv:1"), "{err}");

    // The watcher starts while the registry is down: its report waits and is retried.
    let watch = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(["watch", "--pcap"])
        .arg(&pcap)
        .args([
            "--registry",
            &base,
            "--provider-token-file",
            &format!("{d}/provider-token"),
            "--provider-key",
            &format!("{d}/isp-a.key.json"),
            "--inventory",
            &format!("{d}/inventory.csv"),
        ])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let _server = Server::start(d, port);
    submit(d, &base, &label, "examples/profiles/smart-lock.toml");
    let out = watch.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("\"mirai-scan\""), "{stdout}");
    assert!(
        stderr.contains("field reports: 1 sent") && !stderr.contains(" 0 retried"),
        "{stderr}"
    );

    // The registry counts the device against the product, and it is under review.
    let id = product_id(&base, "VD-SL4");
    let p = get(&format!("{base}/api/v1/products/{id}"));
    assert_eq!(p["field"]["devices"], 1, "{p}");
    assert_eq!(p["field"]["providers"], 1, "{p}");
    assert!(
        p["field"]["detectors"].to_string().contains("mirai-scan"),
        "{p}"
    );
    assert_eq!(p["status"], "under-review", "{p}");
    // No subscriber address reached the registry.
    assert!(!p.to_string().contains("10.1.2.3"), "{p}");
}
