//! A registry for CLI tests: `iotrust serve` on loopback (SQLite in the test's directory) with
//! an issuing body's key, one manufacturer's token and one provider (`isp-a`) with its token and
//! key; and the binary run from the repository root. Shared by `field_reports.rs` and
//! `the_loop.rs`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PROVIDER_TOKEN: &str = "tok-isp-a-0123456789";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `iotrust ARGS` from the repository root: exit code, stdout, stderr.
pub fn iotrust(args: &[&str]) -> (i32, String, String) {
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

/// `iotrust ARGS`, which must succeed; its stdout.
pub fn ok(args: &[&str]) -> String {
    let (code, out, err) = iotrust(args);
    assert_eq!(code, 0, "iotrust {args:?}: {out}{err}");
    out
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Keys (`issuer`, `isp-a`) and token files in `d` for `manufacturer` with `token`; the
/// signed label of `profile`.
pub fn setup(d: &str, profile: &str, manufacturer: &str, token: &str) -> String {
    for (role, name) in [("issuing-body", "issuer"), ("provider", "isp-a")] {
        ok(&["keys", "new", "--role", role, "--name", name, "--dir", d]);
    }
    let label = format!("{d}/label.json");
    ok(&[
        "label",
        "issue",
        profile,
        "--key",
        &format!("{d}/issuer.key.json"),
        "--info",
        "examples/labels/label-info.toml",
        "-o",
        &label,
    ]);
    std::fs::write(
        format!("{d}/tokens.txt"),
        format!("{manufacturer},{token}\n"),
    )
    .unwrap();
    std::fs::write(format!("{d}/token"), format!("{token}\n")).unwrap();
    std::fs::write(
        format!("{d}/providers.txt"),
        format!("isp-a,{PROVIDER_TOKEN}\n"),
    )
    .unwrap();
    std::fs::write(format!("{d}/provider-token"), format!("{PROVIDER_TOKEN}\n")).unwrap();
    label
}

/// `iotrust serve` on `port` with the files of [`setup`] (review thresholds of 1 device from 1
/// provider), ready when this returns; killed on drop.
pub struct Server(Child);

impl Server {
    pub fn start(d: &str, port: u16) -> Server {
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
        let server = Server(child);
        wait_up(&format!("http://127.0.0.1:{port}"));
        server
    }
}

/// Waits (30 s at most) until the registry at `base` answers its OpenAPI document.
pub fn wait_up(base: &str) {
    let t0 = Instant::now();
    while ureq::get(&format!("{base}/api/v1/openapi.json"))
        .call()
        .is_err()
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The JSON at `url`.
pub fn get(url: &str) -> serde_json::Value {
    let mut r = ureq::get(url).call().unwrap();
    r.body_mut().read_json().unwrap()
}

/// The registry id of the one product `q` finds.
pub fn product_id(base: &str, q: &str) -> String {
    let found = get(&format!("{base}/api/v1/search?q={q}"));
    found["items"][0]["id"]
        .as_str()
        .or_else(|| found["results"][0]["id"].as_str())
        .unwrap_or_else(|| panic!("{found}"))
        .to_string()
}

/// `label submit` of `label` for `profile` with the manufacturer's token.
pub fn submit(d: &str, base: &str, label: &str, profile: &str) -> String {
    ok(&[
        "label",
        "submit",
        label,
        "--profile",
        profile,
        "--registry",
        base,
        "--token-file",
        &format!("{d}/token"),
    ])
}
