//! `iotrust watch --registry`: a provider's watcher tells a real registry (`iotrust serve` on
//! loopback, SQLite) which products it sees compromised. The device is matched to its product
//! through the provider's CPE inventory; the registry is down when the watcher starts, so the
//! report waits in the queue and goes out on a retry.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iotrust_flow::testing::{packets, PcapWriter};

const TOKEN: &str = "tok-veridor-0123456789";
const PROVIDER_TOKEN: &str = "tok-isp-a-0123456789";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn iotrust(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get_json(url: &str) -> Option<serde_json::Value> {
    let mut r = ureq::get(url).call().ok()?;
    r.body_mut().read_json().ok()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Keys, a label for the smart-lock example, the token files.
fn setup(d: &str) -> String {
    for (role, name) in [("issuing-body", "issuer"), ("provider", "isp-a")] {
        let (code, _, err) = iotrust(&["keys", "new", "--role", role, "--name", name, "--dir", d]);
        assert_eq!(code, 0, "{err}");
    }
    let label = format!("{d}/label.json");
    let (code, _, err) = iotrust(&[
        "label",
        "issue",
        "examples/profiles/smart-lock.toml",
        "--key",
        &format!("{d}/issuer.key.json"),
        "--info",
        "examples/labels/label-info.toml",
        "-o",
        &label,
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        format!("{d}/tokens.txt"),
        format!("Veridor Security Ltd,{TOKEN}\n"),
    )
    .unwrap();
    std::fs::write(format!("{d}/token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(
        format!("{d}/providers.txt"),
        format!("isp-a,{PROVIDER_TOKEN}\n"),
    )
    .unwrap();
    std::fs::write(format!("{d}/provider-token"), format!("{PROVIDER_TOKEN}\n")).unwrap();
    label
}

fn serve(d: &str, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args([
            "serve",
            "--db",
            &format!("{d}/r.sqlite"),
            "--trust",
            &format!("{d}/issuer.pub.json"),
            "--tokens",
            &format!("{d}/tokens.txt"),
            "--provider-tokens",
            &format!("{d}/providers.txt"),
            "--provider-key",
            &format!("{d}/isp-a.pub.json"),
            "--review-threshold-devices",
            "1",
            "--review-threshold-providers",
            "1",
            "--rate-limit",
            "0",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let t0 = Instant::now();
    while get_json(&format!("{base}/api/v1/openapi.json")).is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child)
}

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
    let label = setup(d);
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
    let _server = serve(d, port);
    let (code, out, err) = iotrust(&[
        "label",
        "submit",
        &label,
        "--profile",
        "examples/profiles/smart-lock.toml",
        "--registry",
        &base,
        "--token-file",
        &format!("{d}/token"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
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
    let found: serde_json::Value = {
        let mut r = ureq::get(&format!("{base}/api/v1/search?q=VD-SL4"))
            .call()
            .unwrap();
        r.body_mut().read_json().unwrap()
    };
    let id = found["items"][0]["id"]
        .as_str()
        .or_else(|| found["results"][0]["id"].as_str())
        .unwrap_or_else(|| panic!("{found}"))
        .to_string();
    let p = get_json(&format!("{base}/api/v1/products/{id}")).unwrap();
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
