//! `iotrust evidence import`: other tools' output and SBOMs become evidence that
//! `iotrust assess --evidence` reads, with clear errors and exit code 2 on bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> String {
    root()
        .join("crates/iotrust-probe/tests/fixtures/import")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn iotrust(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn imported_scan_feeds_assess() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ssh.json");
    let o = iotrust(&[
        "evidence",
        "import",
        "--from",
        "ssh-audit",
        &fixture("loopback-legacy.ssh-audit.json"),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("ssh-weak-kex"), "{table}");
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(ev["kind"], "test-report");
    assert_eq!(
        ev["devices"][0]["facts"]["comms.legacy_crypto_offered"],
        true
    );
    let o = iotrust(&[
        "assess",
        "examples/profiles/ip-camera.toml",
        "--evidence",
        &out.to_string_lossy(),
        "--format",
        "json",
    ]);
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(
        report.contains("comms.legacy_crypto_offered"),
        "the imported fact reaches the assessment"
    );
}

#[test]
fn imported_sbom_is_documented_evidence() {
    let o = iotrust(&[
        "evidence",
        "import",
        "--from",
        "cyclonedx",
        &fixture("camera-firmware.cdx.json"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ev: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(ev["kind"], "document");
    assert_eq!(ev["facts"]["dev.sbom"], true);
    assert_eq!(ev["sbom"]["spec"], "CycloneDX 1.6");
}

#[test]
fn bad_input_names_the_field_and_exits_2() {
    let o = iotrust(&[
        "evidence",
        "import",
        "--from",
        "spdx",
        &fixture("broken.spdx.json"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("packages[1].downloadLocation"), "{e}");
    let o = iotrust(&[
        "evidence",
        "import",
        "--from",
        "zap",
        &fixture("broken.spdx.json"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nmap-xml, ssh-audit, testssl"));
    let o = iotrust(&[
        "evidence",
        "import",
        "--from",
        "nmap-xml",
        "/nonexistent.xml",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// A bad check file stops `iotrust probe` before anything is sent, naming file, line and field.
#[test]
fn bad_check_file_is_refused_before_probing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        r#"[[check]]
id = "wipe"
title = "t"
severity = "low"
protocol = "http"
provisions = ["etsi-en-303-645@3.1.3#5.6-1"]
outcomes = ["minimal-services"]
sources = ["me"]
request = { method = "DELETE", path = "/" }
match = [{ status = [200] }]
example = [{ matches = true, response = "HTTP/1.1 200 OK\nContent-Length: 0\n\n" }, { matches = false, response = "HTTP/1.1 404 No\nContent-Length: 0\n\n" }]
"#,
    )
    .unwrap();
    let o = iotrust(&[
        "probe",
        "127.0.0.1",
        "--checks",
        &dir.path().to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("mine.toml") && e.contains("wipe.method") && e.contains("could change a device"),
        "{e}"
    );
}

/// `--vantage` is recorded in the evidence; an unknown vantage is refused before probing.
#[test]
fn probe_records_its_vantage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ev.json");
    // A closed loopback port: nothing answers, the run still writes its evidence.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("127.0.0.1:{port}");
    let o = iotrust(&[
        "probe",
        &target,
        "--no-udp",
        "--vantage",
        "wan",
        "-o",
        &out.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(ev["vantage"], "wan");
    let o = iotrust(&["probe", &target, "--vantage", "dmz"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--vantage") && e.contains("`dmz`"), "{e}");
}
