//! softflowd (Debian) turns captures into NetFlow v5, v9 and IPFIX and sends them, live, to
//! `iotrust watch --netflow` on loopback; the incidents must be the ones `iotrust watch
//! --pcap` finds in the same capture. Two real captures (shared/data/pcap: a spoofed SYN flood
//! and a BACnet reflection attack) and one the test writes itself: a Mirai scanner at its
//! real rate (160 SYN/s, 23 and 2323 in 9:1, sequence number = destination) among benign
//! subscribers. Also 1:10 sampled NetFlow v9 (softflowd `-s 10`), scaled back by the rate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn shared_pcap(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/pcap")
        .join(name)
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// (device, detector, attack, role) of every incident opened ("" where a detector names no
/// attack).
type Opened = BTreeSet<(String, String, String, String)>;

fn opened(stdout: &[u8]) -> Opened {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "opened")
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (s("device"), s("detector"), s("attack"), s("role"))
        })
        .collect()
}

fn watch_pcap(file: &Path) -> Opened {
    let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .arg("watch")
        .arg("--pcap")
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    opened(&o.stdout)
}

/// softflowd reads `file` and exports it with `args` to a fresh `iotrust watch --netflow`;
/// returns the incidents opened and the collector's summary line.
fn watch_softflowd(file: &Path, args: &[&str]) -> (Opened, String) {
    let dir = tempfile::tempdir().unwrap();
    let udp = format!("127.0.0.1:{}", free_udp_port());
    let child = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(["watch", "--netflow", &udp, "--duration", "6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    // softflowd 1.1.0 stalls (blocked in accept on its control socket, nothing exported) when
    // the control socket's path is 13 characters or longer, so it runs in the temporary
    // directory with short relative paths.
    let mut sf = Command::new("softflowd")
        .current_dir(dir.path())
        .arg("-r")
        .arg(file)
        .args([
            "-n", &udp, "-d", "-a", "-m", "1000000", "-p", "s.pid", "-c", "s.ctl",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("softflowd is installed (scripts/test-packages.txt)");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = sf.try_wait().unwrap() {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = sf.kill();
            panic!(
                "softflowd {args:?} did not finish reading {}",
                file.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "softflowd {args:?}: {status}");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("watch: collector: "))
        .unwrap_or_else(|| panic!("no collector line: {err}"))
        .to_string();
    assert!(line.contains(" 0 dropped by the kernel"), "{line}");
    (opened(&o.stdout), line)
}

fn records(line: &str) -> u64 {
    // "watch: collector: N datagrams, M records, ..."
    line.split(", ")
        .find_map(|p| p.strip_suffix(" records"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

fn check_views(file: &Path, expected: &Opened) {
    assert_eq!(
        &watch_pcap(file),
        expected,
        "pcap view of {}",
        file.display()
    );
    for (view, args) in [
        ("NetFlow v5", &["-v", "5"][..]),
        ("NetFlow v9", &["-v", "9"][..]),
        ("IPFIX", &["-v", "10"][..]),
        ("NetFlow v9 1:10", &["-v", "9", "-s", "10"][..]),
    ] {
        let (got, line) = watch_softflowd(file, args);
        eprintln!("{} as {view}: {line}", file.display());
        assert!(records(&line) > 0, "{view}: {line}");
        assert_eq!(&got, expected, "{view} of {}: {line}", file.display());
    }
}

fn set(items: &[(&str, &str, &str, &str)]) -> Opened {
    items
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect()
}

#[test]
fn spoofed_syn_flood_same_incident_from_pcap_and_softflowd_exports() {
    check_views(
        &shared_pcap("stopddos-synflood-spoofed.pcap"),
        &set(&[("10.10.10.10", "inbound-attack", "syn-flood", "victim")]),
    );
}

#[test]
fn bacnet_reflection_same_incident_from_pcap_and_softflowd_exports() {
    check_views(
        &shared_pcap("stopddos-udp-bacnet-iot-reflection.pcap"),
        &set(&[("10.10.10.1", "inbound-attack", "reflection", "victim")]),
    );
}

// --- a capture the test writes: Ethernet/IPv4 frames in a classic pcap

struct Pcap(Vec<u8>);

impl Pcap {
    fn new() -> Self {
        let mut b = Vec::new();
        b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&65_535u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
        Pcap(b)
    }

    fn frame(&mut self, ts_us: i64, ip: &[u8]) {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
        f.extend_from_slice(ip);
        self.0
            .extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        self.0
            .extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        self.0.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.0.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.0.extend_from_slice(&f);
    }
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let len = 20 + l4.len();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&(len as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    h.extend_from_slice(l4);
    h
}

fn tcp(sport: u16, dport: u16, seq: u32, flags: u8, payload: usize) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload);
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(&[0x50, flags]);
    t.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    t.resize(20 + payload, 0);
    t
}

/// xorshift, so the capture is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn mirai_scanner_same_incident_from_pcap_and_softflowd_exports() {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH_ACK: u8 = 0x18;
    let t0: i64 = 1_700_000_000_000_000;
    let scanner = [100, 64, 7, 10];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // (time, packet), sorted before writing
    let mut pkts: Vec<(i64, Vec<u8>)> = Vec::new();
    // 20 s of scanning at 160 SYN/s: random public destinations, 23 and 2323 in 9:1,
    // sequence number = destination address, one fixed source port (scanner.c's raw socket)
    for s in 0..20i64 {
        for i in 0..160i64 {
            let dst = loop {
                let d = (rng.next() as u32).to_be_bytes();
                if !matches!(d[0], 0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 224..=255) {
                    break d;
                }
            };
            let dport = if i % 10 == 0 { 2323 } else { 23 };
            let seg = tcp(41_234, dport, u32::from_be_bytes(dst), SYN, 0);
            pkts.push((t0 + s * 1_000_000 + i * 6_250, ipv4(scanner, dst, 6, &seg)));
        }
    }
    // benign subscribers: each fetches pages from a few web servers over HTTPS
    for host in 1..=20u8 {
        let src = [100, 64, 8, host];
        for k in 0..6u32 {
            let dst = [151, 101, (k % 3) as u8, 1 + (k as u8)];
            let start = t0 + i64::from(host) * 700_000 + i64::from(k) * 2_900_000;
            let sport = 50_000 + u16::from(host) * 10 + k as u16;
            pkts.push((start, ipv4(src, dst, 6, &tcp(sport, 443, 1, SYN, 0))));
            pkts.push((
                start + 20_000,
                ipv4(dst, src, 6, &tcp(443, sport, 9, SYN | ACK, 0)),
            ));
            for n in 0..8i64 {
                let at = start + 40_000 + n * 15_000;
                pkts.push((at, ipv4(src, dst, 6, &tcp(sport, 443, 2, PSH_ACK, 200))));
                pkts.push((
                    at + 5_000,
                    ipv4(dst, src, 6, &tcp(443, sport, 10, PSH_ACK, 1_200)),
                ));
            }
        }
    }
    pkts.sort_by_key(|(t, _)| *t);
    let mut pcap = Pcap::new();
    for (t, p) in &pkts {
        pcap.frame(*t, p);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mirai-scanner.pcap");
    std::fs::write(&file, &pcap.0).unwrap();

    check_views(
        &file,
        &set(&[("100.64.7.10", "mirai-scan", "", "infected-device")]),
    );
}
