//! `iotrust mud`: generate from a profile, check (with the Cisco luminaire's real signature,
//! tests/fixtures of iotrust-mud), and enforce with the real `nft` in network namespaces the
//! test creates (device ↔ router ↔ peer).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

#[path = "support/root.rs"]
mod root;
use root::can_run;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn iotrust(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(args)
        .output()
        .unwrap()
}

fn fixture(rel: &str) -> String {
    root()
        .join("crates/iotrust-mud/tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn check_real_files_and_the_luminaire_signature() {
    let lum = fixture("cisco-luminaire/Luminaire_150.json");
    let ca = fixture("cisco-luminaire/luminaire-cacert.pem");
    let o = iotrust(&["mud", "check", &lum, "--ca", &ca]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("signature expired: valid signature") && out.contains("expired"),
        "{out}"
    );
    let o = iotrust(&["mud", "check", &lum, "--ca", &ca, "--as-of", "2019-01-01"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // One flipped byte.
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(&lum).unwrap();
    bytes[200] ^= 0x20;
    let bad = dir.path().join("Luminaire_150.json");
    std::fs::write(&bad, bytes).unwrap();
    let o = iotrust(&[
        "mud",
        "check",
        bad.to_str().unwrap(),
        "--signature",
        &fixture("cisco-luminaire/Luminaire_150.p7s"),
        "--ca",
        &ca,
        "--as-of",
        "2019-01-01",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["signature"]["status"], "bad", "{v}");
    // The draft file is named as such.
    let o = iotrust(&[
        "mud",
        "check",
        &fixture("osmud/legacy-draft-lightbulb2000.json"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("pre-RFC draft syntax"));
    let o = iotrust(&[
        "mud",
        "check",
        &fixture("namib-unsw/Amazon-Echo.json"),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0));
}

const PROFILE: &str = r#"
schema = "iotrust-profile/2"
[product]
manufacturer = "Test Maker"
model = "T-1"
category = "smart-plug"
[[communication]]
class = "maker-cloud"
domain = "cloud.mud-test.example"
protocol = "tcp"
ports = 8443
direction = "from-device"
purpose = "telemetry to the maker's cloud"
"#;

#[test]
fn generate_round_trips_and_names_a_missing_url() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    std::fs::write(&p, PROFILE).unwrap();
    let out = dir.path().join("m.json");
    let o = iotrust(&[
        "mud",
        "generate",
        p.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no MUD URL"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = iotrust(&[
        "mud",
        "generate",
        p.to_str().unwrap(),
        "--url",
        "https://mud-test.example/t-1.json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = iotrust(&["mud", "check", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        v["ietf-mud:mud"]["mud-url"],
        "https://mud-test.example/t-1.json"
    );
    assert_eq!(
        v["ietf-access-control-list:acls"]["acl"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "v4 and v6, both directions"
    );
}

fn sh(args: &[&str]) -> String {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Namespaces, the router's /etc/netns directory and the peer's listener, removed on drop
/// (also when the test fails).
struct Lab {
    ns: Vec<String>,
    etc: PathBuf,
    children: Vec<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.ns {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
        let _ = std::fs::remove_dir_all(&self.etc);
    }
}

/// From the device namespace: does a TCP connection to addr:port open within 2 s?
fn connects(ns: &str, addr: &str, port: u16) -> bool {
    let script = format!(
        "import socket,sys\ns=socket.socket()\ns.settimeout(2)\ntry:\n s.connect(('{addr}',{port})); s.sendall(b'hi'); sys.exit(0)\nexcept Exception as e:\n print(e); sys.exit(1)"
    );
    Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", &script])
        .status()
        .unwrap()
        .success()
}

#[test]
fn enforce_in_namespaces_passes_declared_and_drops_the_rest() {
    if !can_run("mud enforce", &["ip", "nft", "python3"]) {
        return;
    }
    let id = std::process::id();
    let (dev, rt, peer) = (
        format!("mud-dev-{id}"),
        format!("mud-rt-{id}"),
        format!("mud-peer-{id}"),
    );
    let mut lab = Lab {
        ns: vec![dev.clone(), rt.clone(), peer.clone()],
        etc: PathBuf::from(format!("/etc/netns/{rt}")),
        children: vec![],
    };
    for n in &lab.ns {
        sh(&["ip", "netns", "add", n]);
        sh(&["ip", "-n", n, "link", "set", "lo", "up"]);
    }
    sh(&[
        "ip", "-n", &rt, "link", "add", "rdev", "type", "veth", "peer", "name", "vdev", "netns",
        &dev,
    ]);
    sh(&[
        "ip", "-n", &rt, "link", "add", "rpeer", "type", "veth", "peer", "name", "vpeer", "netns",
        &peer,
    ]);
    sh(&[
        "ip",
        "-n",
        &rt,
        "addr",
        "add",
        "10.77.1.1/24",
        "dev",
        "rdev",
    ]);
    sh(&[
        "ip",
        "-n",
        &rt,
        "addr",
        "add",
        "10.77.2.1/24",
        "dev",
        "rpeer",
    ]);
    sh(&[
        "ip",
        "-n",
        &dev,
        "addr",
        "add",
        "10.77.1.2/24",
        "dev",
        "vdev",
    ]);
    sh(&[
        "ip",
        "-n",
        &peer,
        "addr",
        "add",
        "10.77.2.2/24",
        "dev",
        "vpeer",
    ]);
    sh(&[
        "ip",
        "-n",
        &peer,
        "addr",
        "add",
        "10.77.2.3/24",
        "dev",
        "vpeer",
    ]);
    for (n, d) in [
        (&rt, "rdev"),
        (&rt, "rpeer"),
        (&dev, "vdev"),
        (&peer, "vpeer"),
    ] {
        sh(&["ip", "-n", n, "link", "set", d, "up"]);
    }
    sh(&[
        "ip",
        "-n",
        &dev,
        "route",
        "add",
        "default",
        "via",
        "10.77.1.1",
    ]);
    sh(&[
        "ip",
        "-n",
        &peer,
        "route",
        "add",
        "default",
        "via",
        "10.77.2.1",
    ]);
    sh(&[
        "ip",
        "netns",
        "exec",
        &rt,
        "sysctl",
        "-qw",
        "net.ipv4.ip_forward=1",
    ]);
    // The router resolves the declared name to the peer (bind-mounted over /etc/hosts).
    std::fs::create_dir_all(&lab.etc).unwrap();
    std::fs::write(
        lab.etc.join("hosts"),
        "127.0.0.1 localhost\n10.77.2.2 cloud.mud-test.example\n",
    )
    .unwrap();

    // The peer listens on the declared port and an undeclared one, on both its addresses.
    let server = "import socket,threading\ndef serve(a,p):\n s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind((a,p)); s.listen(16)\n while True:\n  c,_=s.accept(); c.close()\nfor a in ['10.77.2.2','10.77.2.3']:\n for p in [8443,9000]:\n  threading.Thread(target=serve,args=(a,p),daemon=True).start()\nimport time\nwhile True: time.sleep(1)";
    lab.children.push(
        Command::new("ip")
            .args(["netns", "exec", &peer, "python3", "-c", server])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Without enforcement everything passes.
    assert!(connects(&dev, "10.77.2.3", 9000));

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    std::fs::write(&p, PROFILE).unwrap();
    let mud = dir.path().join("t-1.json");
    sh(&[
        env!("CARGO_BIN_EXE_iotrust"),
        "mud",
        "generate",
        p.to_str().unwrap(),
        "--url",
        "https://mud-test.example/t-1.json",
        "-o",
        mud.to_str().unwrap(),
    ]);
    let o = Command::new("ip")
        .args([
            "netns",
            "exec",
            &rt,
            env!("CARGO_BIN_EXE_iotrust"),
            "mud",
            "enforce",
            mud.to_str().unwrap(),
            "--device",
            "10.77.1.2",
            "--once",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    assert!(connects(&dev, "10.77.2.2", 8443), "declared peer and port");
    assert!(!connects(&dev, "10.77.2.2", 9000), "undeclared port");
    assert!(!connects(&dev, "10.77.2.3", 8443), "undeclared peer");

    let table = "iotrust_mud_10_77_1_2";
    let json = sh(&[
        "ip", "netns", "exec", &rt, "nft", "-j", "list", "table", "inet", table,
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rules: Vec<&serde_json::Value> = v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x.get("rule"))
        .collect();
    let packets = |comment: &str| -> u64 {
        rules
            .iter()
            .filter(|r| r["comment"].as_str() == Some(comment))
            .flat_map(|r| r["expr"].as_array().unwrap())
            .filter_map(|e| e.get("counter").and_then(|c| c["packets"].as_u64()))
            .sum()
    };
    // Two refused connections, each a SYN and its retries.
    assert!(packets("not in the MUD file (from device)") >= 2, "{json}");
    assert!(packets("mud-t-1-v4fr/c0-0-frdev") >= 1, "{json}");
    assert!(packets("mud-t-1-v4to/c0-0-todev") >= 1, "{json}");
    // The name set holds the resolved address.
    let set = sh(&[
        "ip", "netns", "exec", &rt, "nft", "list", "set", "inet", table, "dns0_v4",
    ]);
    assert!(set.contains("10.77.2.2"), "{set}");
    // Loading again replaces the table (and re-resolves).
    let o = Command::new("ip")
        .args([
            "netns",
            "exec",
            &rt,
            env!("CARGO_BIN_EXE_iotrust"),
            "mud",
            "enforce",
            mud.to_str().unwrap(),
            "--device",
            "10.77.1.2",
            "--once",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(connects(&dev, "10.77.2.2", 8443));

    // A running enforcer re-resolves: the name moves to the other address, the set follows
    // and the table (with its counters) stays.
    lab.children.push(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &rt,
                env!("CARGO_BIN_EXE_iotrust"),
                "mud",
                "enforce",
                mud.to_str().unwrap(),
                "--device",
                "10.77.1.2",
                "--refresh",
                "1",
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(
        !connects(&dev, "10.77.2.2", 9000),
        "undeclared port, counted"
    );
    let dropped = |lab: &Lab| -> u64 {
        let _ = lab;
        let json = sh(&[
            "ip", "netns", "exec", &rt, "nft", "-j", "list", "table", "inet", table,
        ]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.get("rule"))
            .filter(|r| r["comment"].as_str() == Some("not in the MUD file (from device)"))
            .flat_map(|r| r["expr"].as_array().unwrap())
            .filter_map(|e| e.get("counter").and_then(|c| c["packets"].as_u64()))
            .sum()
    };
    let before = dropped(&lab);
    assert!(before >= 1);
    // Same file, rewritten in place (it is bind-mounted over the router's /etc/hosts).
    std::fs::write(
        lab.etc.join("hosts"),
        "127.0.0.1 localhost\n10.77.2.3 cloud.mud-test.example\n",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let set = sh(&[
        "ip", "netns", "exec", &rt, "nft", "list", "set", "inet", table, "dns0_v4",
    ]);
    assert!(
        set.contains("10.77.2.3") && !set.contains("10.77.2.2 "),
        "{set}"
    );
    assert!(dropped(&lab) >= before, "the table was not reloaded");
    assert!(connects(&dev, "10.77.2.3", 8443), "the name's new address");
    assert!(!connects(&dev, "10.77.2.2", 8443), "its old one");
    drop(lab);
}
