//! `iotrust watch` end to end with its sinks: the UDP collector on loopback fed softflowd's
//! real NetFlow v9 (a committed fixture), two detector threads, the Prometheus endpoint
//! scraped while it runs, a webhook receiver and subscriber notices — all on loopback.
//! Also: live capture in a network namespace, and softflowd's live exports of real and
//! generated captures giving the incidents of the captures themselves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use iotrust_flow::testing::{packets, PcapWriter, Rng};

#[path = "support/root.rs"]
mod root;
use root::can_run;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scrape(addr: &str) -> String {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(c, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut s = String::new();
    c.read_to_string(&mut s).unwrap();
    s
}

#[test]
fn collector_with_threads_metrics_webhook_and_notices() {
    let dir = tempfile::tempdir().unwrap();
    // 300 packets of the spoofed SYN flood are no attack at the defaults: lower the bar
    let cfg = dir.path().join("watch.toml");
    std::fs::write(&cfg, "[inbound]\nsyn_pps = 15\n").unwrap();
    let subs = dir.path().join("subs.csv");
    std::fs::write(&subs, "10.10.10.0/24,cust-1010\n").unwrap();
    let tpl = dir.path().join("notice.txt");
    std::fs::write(
        &tpl,
        "To {subscriber}: {device} {detector} {attack} ({role})\n",
    )
    .unwrap();
    let notices = dir.path().join("notices");

    // the webhook receiver
    let hook = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_addr = hook.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in hook.incoming() {
            let mut conn = conn.unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                let n = conn.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let len: usize = text[..i]
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length").then_some(value)
                        })
                        .map(|v| v.trim().parse().unwrap())
                        .unwrap_or(0);
                    if data.len() >= i + 4 + len {
                        tx.send(text[i + 4..i + 4 + len].to_string()).unwrap();
                        break;
                    }
                }
            }
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });

    let udp = format!("127.0.0.1:{}", free_udp_port());
    let metrics = format!("127.0.0.1:{}", free_tcp_port());
    let child = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args([
            "watch",
            "--netflow",
            &udp,
            "--duration",
            "5",
            "--threads",
            "2",
        ])
        .args(["--metrics", &metrics, "--config", cfg.to_str().unwrap()])
        .args(["--subscribers", subs.to_str().unwrap()])
        .args(["--webhook", &format!("http://{hook_addr}/incidents")])
        .args(["--notice-template", tpl.to_str().unwrap()])
        .args(["--notices", notices.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let fixture = root().join("crates/iotrust-flow/tests/fixtures/softflowd-v9-synflood300.pcap");
    let mut reader =
        iotrust_flow::CaptureReader::new(std::fs::File::open(fixture).unwrap()).unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        let ihl = usize::from(p.data[0] & 0x0f) * 4;
        sender.send_to(&p.data[ihl + 8..], &udp).unwrap();
    }
    // the collector syncs every 100 ms and on a quiet socket
    std::thread::sleep(Duration::from_millis(1500));
    let m = scrape(&metrics);
    assert!(m.starts_with("HTTP/1.1 200 OK"), "{m}");
    assert!(m.contains("\niotrust_watch_records_total 298\n"), "{m}");
    assert!(
        m.contains("\niotrust_watch_incidents_total{detector=\"inbound-attack\"} 1\n"),
        "{m}"
    );
    assert!(m.contains("\niotrust_watch_socket_drops_total 0\n"), "{m}");
    assert!(m.contains("\niotrust_watch_tracked_hosts "), "{m}");

    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("2 detector thread(s)"), "{err}");
    assert!(err.contains("webhook: "), "{err}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    assert_eq!(lines[0]["event"], "opened");
    assert_eq!(lines[0]["device"], "10.10.10.10");
    assert_eq!(lines[0]["subscriber"], "cust-1010");
    // every event reached the webhook, as the same JSON
    let posted: Vec<serde_json::Value> = rx
        .try_iter()
        .map(|b| serde_json::from_str(&b).unwrap())
        .collect();
    assert_eq!(posted.len(), lines.len(), "{err}");
    assert_eq!(posted[0]["id"], lines[0]["id"]);
    assert_eq!(posted[0]["device"], "10.10.10.10");
    // one notice for the opened incident
    let files: Vec<_> = std::fs::read_dir(&notices).unwrap().collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(notices.join("notice-1-10.10.10.10.txt")).unwrap();
    assert_eq!(
        text,
        "To cust-1010: 10.10.10.10 inbound-attack syn-flood (victim)\n"
    );
}

/// Runs a command, panicking with its output if it fails.
fn sh(args: &[&str]) {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Network namespaces of one test run, removed when dropped.
struct Netns(Vec<String>);

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

/// `iotrust watch` inside network namespace `ns`.
fn watch_in(ns: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_iotrust"), "watch"]);
    c
}

/// Two network namespaces named after `tag` and this process, joined by a veth pair
/// (`vcap` in the capturing one with `cap_addr`, `vsub` in the subscriber's with
/// `sub_addrs`), the subscriber's default route through the capturing one. Returns their
/// names and the guard that removes them.
fn veth_pair(tag: &str, cap_addr: &str, sub_addrs: &[&str]) -> (String, String, Netns) {
    let id = std::process::id();
    let (cap, sub) = (format!("{tag}-cap-{id}"), format!("{tag}-sub-{id}"));
    let guard = Netns(vec![cap.clone(), sub.clone()]);
    sh(&["ip", "netns", "add", &cap]);
    sh(&["ip", "netns", "add", &sub]);
    sh(&[
        "ip", "-n", &cap, "link", "add", "vcap", "type", "veth", "peer", "name", "vsub", "netns",
        &sub,
    ]);
    sh(&["ip", "-n", &cap, "addr", "add", cap_addr, "dev", "vcap"]);
    for a in sub_addrs {
        sh(&["ip", "-n", &sub, "addr", "add", a, "dev", "vsub"]);
    }
    for (ns, dev) in [(&cap, "vcap"), (&sub, "vsub")] {
        sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
        sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
    let gw = cap_addr.split('/').next().unwrap_or(cap_addr);
    sh(&["ip", "-n", &sub, "route", "add", "default", "via", gw]);
    (cap, sub, guard)
}

/// Live capture (`--interface`) inside two network namespaces the test creates, joined by
/// a veth pair: a "subscriber" namespace opens telnet connections to 120 addresses through
/// the other, where `iotrust watch --interface` captures on its end of the pair and must
/// report the scanner. Needs root, `ip` (iproute2), tcpdump and python3
/// (crates/iotrust-watch/tests/lab/PACKAGES); skipped without them outside CI.
#[test]
fn live_capture_in_a_network_namespace_finds_a_telnet_scanner() {
    if !can_run("live capture test", &["ip", "tcpdump", "python3"]) {
        return;
    }
    let (cap, sub, _guard) = veth_pair("iotw", "10.99.0.1/24", &["10.99.0.2/24"]);
    let mut child = watch_in(&cap)
        .args(["--interface", "vcap", "--duration", "10", "--threads", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // stdout read as it comes, each line with the time it arrived
    let stdout = child.stdout.take().unwrap();
    let (lines_rx, reader) = {
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(stdout).lines() {
                let Ok(l) = l else { break };
                let _ = tx.send((std::time::Instant::now(), l));
            }
        });
        (rx, reader)
    };
    std::thread::sleep(Duration::from_millis(2000));
    // one burst of 120 non-blocking telnet connection attempts to distinct addresses
    // (198.18/15, routed into the capturing namespace, which drops them); the sockets close
    // at once, so nothing follows the burst: the link is quiet afterwards
    let script = "import socket\nkeep = []\nfor i in range(120):\n    s = socket.socket()\n    s.setblocking(False)\n    s.connect_ex(('198.18.%d.%d' % (i // 200, 1 + i % 200), 23))\n    keep.append(s)\n";
    sh(&["ip", "netns", "exec", &sub, "python3", "-c", script]);
    let burst_end = std::time::Instant::now();
    let o = child.wait_with_output().unwrap();
    let exited = std::time::Instant::now();
    // the reader ends at the end of stdout: every line is in the channel then
    reader.join().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("capturing on vcap"), "{err}");
    let timed: Vec<(std::time::Instant, serde_json::Value)> = lines_rx
        .try_iter()
        .map(|(t, l)| (t, serde_json::from_str(&l).unwrap()))
        .collect();
    let lines: Vec<&serde_json::Value> = timed.iter().map(|(_, l)| l).collect();
    let (at, scan) = timed
        .iter()
        .find(|(_, l)| l["event"] == "opened" && l["device"] == "10.99.0.2")
        .unwrap_or_else(|| panic!("no incident for the scanner: {lines:?}\n{err}"));
    // reported while the link was quiet, not when the capture ended 5 s or more later
    assert!(
        *at < burst_end + Duration::from_secs(3) && *at + Duration::from_secs(3) < exited,
        "the incident came {:?} after the burst, {:?} before the end",
        at.saturating_duration_since(burst_end),
        exited.saturating_duration_since(*at)
    );
    assert_eq!(scan["detector"], "mirai-scan", "{scan}");
    assert_eq!(scan["samples"][0]["kind"], "pcap");
    assert_eq!(scan["samples"][0]["dst_port"], 23);
}

/// Domain indicators against a real resolver and client: in the namespaces of the live
/// capture test, dnsmasq (in the capturing namespace) answers `cnc.example.com` with
/// 198.18.7.50, and dig (in the subscriber's) asks for it; then a second subscriber address,
/// which never asked, connects to 198.18.7.50:443. `iotrust watch --interface` with the
/// domain on its indicator list must report the lookup and the contact with the answered
/// address. Needs root, ip, tcpdump, python3, dnsmasq and dig
/// (crates/iotrust-watch/tests/lab/PACKAGES); skipped without them outside CI.
#[test]
fn live_capture_finds_a_lookup_of_a_listed_domain_and_contact_with_its_address() {
    if !can_run(
        "DNS live test",
        &["ip", "tcpdump", "python3", "dnsmasq", "dig"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ind = dir.path().join("c2.txt");
    std::fs::write(&ind, "# test list\ncnc.example.com mirai-cnc\n").unwrap();
    let (cap, sub, _guard) = veth_pair("iotd", "10.98.0.1/24", &["10.98.0.2/24", "10.98.0.3/24"]);
    // the resolver: answers from its configuration only, never forwards
    let pid = dir.path().join("dnsmasq.pid");
    sh(&[
        "ip",
        "netns",
        "exec",
        &cap,
        "dnsmasq",
        "--no-resolv",
        "--no-hosts",
        "--listen-address=10.98.0.1",
        "--bind-interfaces",
        "--address=/cnc.example.com/198.18.7.50",
        &format!("--pid-file={}", pid.display()),
    ]);
    struct Kill(PathBuf);
    impl Drop for Kill {
        fn drop(&mut self) {
            if let Ok(p) = std::fs::read_to_string(&self.0) {
                let _ = Command::new("kill").arg(p.trim()).output();
            }
        }
    }
    let _dnsmasq = Kill(pid);
    let child = watch_in(&cap)
        .args(["--interface", "vcap", "--duration", "8", "--threads", "2"])
        .arg("--indicators")
        .arg(&ind)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let dig = Command::new("ip")
        .args([
            "netns", "exec", &sub, "dig", "+short", "+tries=3", "+time=1",
        ])
        .args(["-b", "10.98.0.2", "@10.98.0.1", "cnc.example.com", "A"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&dig.stdout).trim(), "198.18.7.50");
    // another subscriber address connects to the answered address (dropped in the
    // capturing namespace: only the SYN matters)
    let script = "import socket\ns = socket.socket()\ns.bind(('10.98.0.3', 0))\ns.setblocking(False)\ns.connect_ex(('198.18.7.50', 443))\nimport time\ntime.sleep(0.5)\n";
    sh(&["ip", "netns", "exec", &sub, "python3", "-c", script]);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let opened = |device: &str| {
        lines
            .iter()
            .find(|l| l["event"] == "opened" && l["device"] == device)
            .unwrap_or_else(|| panic!("no incident for {device}: {lines:?}\n{err}"))
    };
    let lookup = opened("10.98.0.2");
    assert_eq!(lookup["detector"], "c2-contact", "{lookup}");
    assert_eq!(lookup["domains"][0], "cnc.example.com", "{lookup}");
    assert_eq!(
        lookup["summary"],
        "10.98.0.2 looks up listed C2 domain cnc.example.com (mirai-cnc)"
    );
    let contact = opened("10.98.0.3");
    assert_eq!(contact["targets"][0]["peer"], "198.18.7.50", "{contact}");
    assert_eq!(contact["targets"][0]["dst_port"], 443, "{contact}");
    assert_eq!(contact["domains"][0], "cnc.example.com", "{contact}");
    assert_eq!(contact["labels"][0], "mirai-cnc", "{contact}");
}

/// The incidents of the lookup of x7.bad.example (listed as `*.bad.example dga`) by
/// 192.0.2.20 and the contact of 192.0.2.21 with the address answered, in that order.
fn assert_lookup_then_contact(out: &str) {
    let summaries: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["summary"].to_string())
        .collect();
    assert_eq!(
        summaries,
        [
            "\"192.0.2.20 looks up listed C2 domain *.bad.example (dga)\"",
            "\"192.0.2.21 contacts C2 198.18.7.50:443, an address of listed domain *.bad.example (dga)\"",
        ],
        "{out}"
    );
}

/// The same from a capture file (`--pcap`, written here): with two threads and with one,
/// the lookup and the answer to a subscriber, then contact with the answered address by
/// another subscriber; an unreadable payload on port 53 is no error; without domains on the
/// list, nothing is reported.
#[test]
fn capture_file_finds_a_listed_domain_and_its_address() {
    use iotrust_flow::testing::dns as wire;
    let dir = tempfile::tempdir().unwrap();
    let t0 = 1_764_000_000_000_000i64;
    let (dev, other, resolver) = ([192, 0, 2, 20], [192, 0, 2, 21], [192, 0, 2, 1]);
    let answer = wire::response(9, "x7.bad.example", 1, &[(&[198, 18, 7, 50], 30)]);
    let pkts = [
        packets::ipv4(
            dev,
            resolver,
            17,
            64,
            &packets::udp_with(40000, 53, &wire::query(9, "x7.bad.example", 1)),
        ),
        packets::ipv4(
            resolver,
            dev,
            17,
            64,
            &packets::udp_with(53, 40000, &answer),
        ),
        packets::ipv4(
            dev,
            resolver,
            17,
            64,
            &packets::udp_with(40001, 53, b"\xff\xff"),
        ),
        packets::ipv4_tcp(other, [198, 18, 7, 50], 50000, 443, 1, 0x02, 64),
    ];
    let mut w = PcapWriter::new(iotrust_flow::link_type::RAW, false, false);
    for (i, p) in pkts.iter().enumerate() {
        w.packet(t0 + i as i64 * 1_000_000, p, p.len() as u32);
    }
    let file = dir.path().join("dns.pcap");
    std::fs::write(&file, w.finish()).unwrap();
    let ind = dir.path().join("c2.txt");
    std::fs::write(&ind, "*.bad.example dga\n").unwrap();
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, "203.0.113.9\n").unwrap();
    let run = |list: &Path, threads: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
            .args(["watch", "--threads", threads, "--pcap"])
            .arg(&file)
            .arg("--indicators")
            .arg(list)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let out = run(&ind, "2");
    assert_eq!(out, run(&ind, "1"));
    assert_lookup_then_contact(&out);
    assert_eq!(run(&plain, "2"), "");
}

/// The same lookup and contact from Zeek's logs: conn.log (TSV) and dns.log (JSON lines),
/// read merged by time whichever order they are given in; the incidents read as from the
/// capture file above, and a dns.log line is no traffic record.
#[test]
fn zeek_dns_log_finds_a_listed_domain_and_its_address() {
    let dir = tempfile::tempdir().unwrap();
    let conn = dir.path().join("conn.log");
    let head = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n";
    let lines = [
        // the lookup's own flow, and the other subscriber's SYN to the answered address
        "1764000000.000000\tC1\t192.0.2.20\t40000\t192.0.2.1\t53\tudp\tdns\t1.000000\t32\t48\tSF\tT\tT\t0\tDd\t1\t60\t1\t76\t-",
        "1764000005.000000\tC2\t192.0.2.21\t50000\t198.18.7.50\t443\ttcp\t-\t-\t-\t-\tS0\tT\tF\t0\tS\t1\t40\t0\t0\t-",
    ];
    std::fs::write(&conn, format!("{head}{}\n", lines.join("\n"))).unwrap();
    let dns = dir.path().join("dns.log");
    std::fs::write(
        &dns,
        concat!(
            r#"{"ts":1764000000.0,"uid":"C1","id.orig_h":"192.0.2.20","id.orig_p":40000,"id.resp_h":"192.0.2.1","id.resp_p":53,"proto":"udp","trans_id":9,"rtt":1.0,"query":"X7.bad.example","qclass":1,"qtype":1,"rcode":0,"answers":["198.18.7.50"],"TTLs":[30.0]}"#,
            "\n",
            r#"{"ts":1764000002.0,"uid":"C3","id.orig_h":"192.0.2.20","id.orig_p":40001,"id.resp_h":"192.0.2.1","id.resp_p":53,"proto":"udp","query":"benign.example","qtype":1}"#,
            "\n",
        ),
    )
    .unwrap();
    let ind = dir.path().join("c2.txt");
    std::fs::write(&ind, "*.bad.example dga\n").unwrap();
    let run_with = |files: [&Path; 2], threads: &str, more: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
            .args(["watch", "--threads", threads, "--indicators"])
            .arg(&ind)
            .args(["--zeek", files[0].to_str().unwrap()])
            .args(["--zeek", files[1].to_str().unwrap()])
            .args(more)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success(), "{err}");
        (String::from_utf8(o.stdout).unwrap(), err)
    };
    let run = |files, threads| run_with(files, threads, &[]);
    let (out, err) = run([&conn, &dns], "2");
    assert_eq!(out, run([&dns, &conn], "2").0);
    assert_eq!(out, run([&conn, &dns], "1").0);
    assert_lookup_then_contact(&out);
    // three records from conn.log (the lookup's flow both ways, the SYN); none from dns.log
    assert!(err.contains("\"records\":3,"), "{err}");
    assert!(!err.contains("input problem"), "{err}");
    // incidents living one second (a C2 contact's, three: held three times the time to
    // live): the lookup's (last seen at the answer, t0 + 1 s) is closed when the stream
    // reaches the SYN at t0 + 5 s, before the contact's opens
    let short = dir.path().join("short.toml");
    std::fs::write(&short, "incident_ttl_secs = 1\n").unwrap();
    let closed_tpl = root().join("crates/iotrust-watch/templates/closed-notice.txt");
    for threads in ["1", "2"] {
        let notices = dir.path().join(format!("notices-{threads}"));
        let (out, _) = run_with(
            [&conn, &dns],
            threads,
            &[
                "--config",
                short.to_str().unwrap(),
                "--notices",
                notices.to_str().unwrap(),
                "--closed-notice-template",
                closed_tpl.to_str().unwrap(),
            ],
        );
        // a notice for the closed incident only (no template for opened ones)
        let files: Vec<String> = std::fs::read_dir(&notices)
            .unwrap()
            .map(|f| f.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(files, ["notice-1-192.0.2.20-closed.txt"]);
        let text = std::fs::read_to_string(notices.join(&files[0])).unwrap();
        assert!(
            text.contains("address 192.0.2.20") && text.contains("incident 1."),
            "{text}"
        );
        assert!(!text.contains('{'), "{text}");
        let events: Vec<(String, u64)> = out
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| {
                (
                    v["event"].as_str().unwrap().to_string(),
                    v["id"].as_u64().unwrap(),
                )
            })
            .collect();
        let want = [("opened", 1), ("closed", 1), ("opened", 2)].map(|(e, i)| (e.to_string(), i));
        assert_eq!(events, want, "{threads} thread(s): {out}");
    }
    // notices need a template
    let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(["watch", "--zeek", conn.to_str().unwrap(), "--notices"])
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--notices needs --notice-template"));
}

/// Sends one-SYN NetFlow v5 flows (subscriber 192.0.2.D to PEER:443), a second of record
/// time apart, to a collector on loopback.
struct SynSender {
    sock: UdpSocket,
    to: String,
    sent: u32,
}

impl SynSender {
    const SECS: u32 = 1_764_000_000;

    fn new(to: &str) -> SynSender {
        SynSender {
            sock: UdpSocket::bind("127.0.0.1:0").unwrap(),
            to: to.to_string(),
            sent: 0,
        }
    }

    fn send(&mut self, dev: u8, peer: [u8; 4]) {
        use iotrust_flow::testing::{netflow_v5, V5Header};
        use iotrust_flow::{FlowRecord, SourceKind};
        self.sent += 1;
        let mut r = FlowRecord::new(SourceKind::NetflowV5);
        (r.src, r.dst) = (
            iotrust_flow::Addr::v4([192, 0, 2, dev]),
            iotrust_flow::Addr::v4(peer),
        );
        (r.proto, r.src_port, r.dst_port) = (6, 50_000, 443);
        (r.packets, r.bytes, r.tcp_flags) = (1, 60, iotrust_flow::TcpFlags(0x02));
        let t = (i64::from(Self::SECS) + i64::from(self.sent)) * 1_000_000;
        (r.first_us, r.last_us) = (t - 1_000, t - 1_000);
        let h = V5Header {
            uptime_ms: 3_600_000,
            secs: Self::SECS + self.sent,
            nsecs: 0,
            engine_type: 0,
            engine_id: 0,
            sampling: 0,
        };
        self.sock.send_to(&netflow_v5(h, &[r]), &self.to).unwrap();
    }
}

/// The summaries of the `opened` events in watch's JSON lines.
fn opened_summaries(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "opened")
        .map(|v| v["summary"].as_str().unwrap().to_string())
        .collect()
}

/// A long-running collector takes a changed --indicators file without a restart: a C2
/// address added to the file is found after the reload, one removed no longer is, and a
/// file that does not load is reported while the list in force stays.
#[test]
fn collector_reloads_a_changed_indicator_file() {
    let dir = tempfile::tempdir().unwrap();
    let ind = dir.path().join("c2.txt");
    std::fs::write(&ind, "203.0.113.9 old-cnc\n").unwrap();
    let udp = format!("127.0.0.1:{}", free_udp_port());
    let child = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args([
            "watch",
            "--netflow",
            &udp,
            "--duration",
            "9",
            "--threads",
            "2",
        ])
        .args([
            "--indicators-reload",
            "1",
            "--indicators",
            ind.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut syn = SynSender::new(&udp);
    let mut send = |dev: u8, peer: [u8; 4]| syn.send(dev, peer);
    std::thread::sleep(Duration::from_millis(1500));
    send(40, [198, 51, 100, 44]);
    send(41, [203, 0, 113, 9]);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&ind, "198.51.100.44 new-cnc\n").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    send(42, [198, 51, 100, 44]);
    send(43, [203, 0, 113, 9]);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&ind, "198.51.100.45/33 broken\n").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    send(44, [198, 51, 100, 44]);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let opened = opened_summaries(&o.stdout);
    assert_eq!(
        opened,
        [
            "192.0.2.41 contacts listed C2 203.0.113.9:443 (old-cnc)",
            "192.0.2.42 contacts listed C2 198.51.100.44:443 (new-cnc)",
            "192.0.2.44 contacts listed C2 198.51.100.44:443 (new-cnc)",
        ],
        "{err}"
    );
    assert!(
        err.contains("c2.txt changed: 1 indicator(s) in force"),
        "{err}"
    );
    assert!(err.contains("c2.txt:1:"), "{err}");
    assert!(
        err.contains("the indicators loaded before stay in force"),
        "{err}"
    );
}

// --- softflowd (Debian) turns captures into NetFlow v5, v9 and IPFIX and sends them, live,
// to `iotrust watch --netflow` on loopback; the incidents must be the ones `iotrust watch
// --pcap` finds in the same capture. Two real captures (shared/data/pcap: a spoofed SYN
// flood and a BACnet reflection attack) and one the test writes itself: a Mirai scanner at
// its real rate (160 SYN/s, 23 and 2323 in 9:1, sequence number = destination) among benign
// subscribers. Also 1:10 sampled NetFlow v9 (softflowd `-s 10`), scaled back by the rate.

fn shared_pcap(name: &str) -> PathBuf {
    root().join("../shared/data/pcap").join(name)
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

#[test]
fn mirai_scanner_same_incident_from_pcap_and_softflowd_exports() {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH_ACK: u8 = 0x18;
    let t0: i64 = 1_700_000_000_000_000;
    let scanner = [100, 64, 7, 10];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let ipv4 = |src, dst, l4: &[u8]| packets::ipv4(src, dst, 6, 64, l4);
    // a TCP segment with `payload` zero bytes
    let tcp = |sport, dport, seq, flags, payload: usize| {
        let mut t = packets::tcp(sport, dport, seq, flags);
        t.resize(t.len() + payload, 0);
        t
    };
    // (time, packet), sorted before writing
    let mut pkts: Vec<(i64, Vec<u8>)> = Vec::new();
    // 20 s of scanning at 160 SYN/s: random public destinations, 23 and 2323 in 9:1,
    // sequence number = destination address, one fixed source port (scanner.c's raw socket)
    for s in 0..20i64 {
        for i in 0..160i64 {
            let dst = loop {
                let d = (rng.next_u64() as u32).to_be_bytes();
                if !matches!(d[0], 0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 224..=255) {
                    break d;
                }
            };
            let dport = if i % 10 == 0 { 2323 } else { 23 };
            let seg = tcp(41_234, dport, u32::from_be_bytes(dst), SYN, 0);
            pkts.push((t0 + s * 1_000_000 + i * 6_250, ipv4(scanner, dst, &seg)));
        }
    }
    // benign subscribers: each fetches pages from a few web servers over HTTPS
    for host in 1..=20u8 {
        let src = [100, 64, 8, host];
        for k in 0..6u32 {
            let dst = [151, 101, (k % 3) as u8, 1 + (k as u8)];
            let start = t0 + i64::from(host) * 700_000 + i64::from(k) * 2_900_000;
            let sport = 50_000 + u16::from(host) * 10 + k as u16;
            pkts.push((start, ipv4(src, dst, &tcp(sport, 443, 1, SYN, 0))));
            pkts.push((
                start + 20_000,
                ipv4(dst, src, &tcp(443, sport, 9, SYN | ACK, 0)),
            ));
            for n in 0..8i64 {
                let at = start + 40_000 + n * 15_000;
                pkts.push((at, ipv4(src, dst, &tcp(sport, 443, 2, PSH_ACK, 200))));
                pkts.push((
                    at + 5_000,
                    ipv4(dst, src, &tcp(443, sport, 10, PSH_ACK, 1_200)),
                ));
            }
        }
    }
    pkts.sort_by_key(|(t, _)| *t);
    let mut pcap = PcapWriter::new(1, false, false);
    for (t, p) in &pkts {
        let frame = packets::ethernet(0x0800, &[], p);
        pcap.packet(*t, &frame, frame.len() as u32);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mirai-scanner.pcap");
    std::fs::write(&file, pcap.finish()).unwrap();

    check_views(
        &file,
        &set(&[("100.64.7.10", "mirai-scan", "", "infected-device")]),
    );
}

/// Threat-intel feeds as indicator sources: a STIX bundle and a Feodo Tracker blocklist
/// (the intel crate's samples, written to the formats' specifications). A device that
/// contacts an address the STIX bundle lists while the indicator is valid is in C2 contact,
/// with the feed and the entry on the incident; the same contact before the indicator's
/// `valid_from` is nothing; a bad feed line is reported with its line and skipped.
#[test]
fn feeds_are_indicator_sources_with_their_names_and_validity() {
    let dir = tempfile::tempdir().unwrap();
    let data = root().join("crates/iotrust-intel/tests/data");
    let conn = dir.path().join("conn.log");
    let head = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n";
    // 2023-11-14 (before the bundle's valid_from, 2024-03-01), then 2025-11-24
    let lines = [
        "1700000000.000000\tC1\t192.0.2.30\t40000\t203.0.113.7\t48101\ttcp\t-\t-\t-\t-\tS0\tT\tF\t0\tS\t1\t40\t0\t0\t-",
        "1764000000.000000\tC2\t192.0.2.31\t40001\t203.0.113.7\t48101\ttcp\t-\t-\t-\t-\tS0\tT\tF\t0\tS\t1\t40\t0\t0\t-",
    ];
    std::fs::write(&conn, format!("{head}{}\n", lines.join("\n"))).unwrap();
    let bad = dir.path().join("feodo.txt");
    std::fs::write(&bad, "# Feodo Tracker\n203.0.113.200\nnot-an-address\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(["watch", "--zeek"])
        .arg(&conn)
        .arg("--feed")
        .arg(data.join("stix/bundle.json"))
        .arg("--feed")
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    assert!(err.contains("feodo.txt:3"), "{err}");
    let out = String::from_utf8(o.stdout).unwrap();
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{out}");
    let e = &events[0];
    assert_eq!(e["device"], "192.0.2.31");
    assert_eq!(e["detector"], "c2-contact");
    let label = e["labels"][0].as_str().unwrap();
    assert!(
        label.starts_with("bundle/Mirai CNC") && label.contains("Mirai"),
        "{label}"
    );
    // an unknown format is refused with the flag named, exit 2
    let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(["watch", "--zeek"])
        .arg(&conn)
        .args(["--feed-format", "csv", "--feed"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--feed-format"));
}

/// A committed capture (200 packets of a spoofed SYN flood) that opens one incident at a
/// lowered bar; the config file is written to `dir`.
fn synflood_args(dir: &Path) -> Vec<String> {
    let cfg = dir.join("watch.toml");
    std::fs::write(&cfg, "[inbound]\nsyn_pps = 15\n").unwrap();
    let pcap = root().join("crates/iotrust-flow/tests/fixtures/editcap-synflood200.pcapng");
    vec![
        "watch".into(),
        "--threads".into(),
        "1".into(),
        "--pcap".into(),
        pcap.to_str().unwrap().into(),
        "--config".into(),
        cfg.to_str().unwrap().into(),
    ]
}

/// `--format json` is the default (JSON lines); `--format text` writes a line per event for
/// a person: time (the last record's), event, device, detector, severity, summary.
#[test]
fn watch_format_json_is_the_default_and_text_is_one_line_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let base = synflood_args(dir.path());
    let run = |extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
            .args(&base)
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let default = run(&[]);
    assert_eq!(run(&["--format", "json"]), default);
    let events: Vec<serde_json::Value> = default
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{default}");
    let expected: String = events
        .iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            format!(
                "{} {:<9} {} {} {} {}\n",
                s("last_seen"),
                s("event"),
                s("device"),
                s("detector"),
                s("severity"),
                s("summary")
            )
        })
        .collect();
    let text = run(&["--format", "text"]);
    assert_eq!(text, expected);
    assert!(
        text.starts_with("2021-04-28T10:30:21.145609Z opened    10.10.10.10 inbound-attack medium 10.10.10.10 receives a syn-flood"),
        "{text}"
    );
    // and to a file
    let file = dir.path().join("events.txt");
    assert_eq!(run(&["--format", "text", "-o", file.to_str().unwrap()]), "");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
    let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(&base)
        .args(["--format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// A bad --webhook URL, an unreadable or empty --webhook-ca file and a malformed
/// --webhook-header stop watch at start with exit code 2 and an error naming the flag (and
/// never the header's value, which may be a secret).
#[test]
fn watch_webhook_settings_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let base = synflood_args(dir.path());
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "no certificate here\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let headers = dir.path().join("headers.txt");
    std::fs::write(&headers, "# HEC\nX-Ok: 1\n\nAuthorization Splunk s3cret\n").unwrap();
    let https = "https://127.0.0.1:9/hook";
    for (args, starts) in [
        (
            vec!["--webhook", "ftp://127.0.0.1/"],
            "error: --webhook: `ftp://127.0.0.1/`: only http:// and https://",
        ),
        (
            vec!["--webhook", "http://user:pw@127.0.0.1/"],
            "error: --webhook: ",
        ),
        (
            vec!["--webhook", "http://127.0.0.1:99999/"],
            "error: --webhook: ",
        ),
        (
            vec![
                "--webhook",
                https,
                "--webhook-ca",
                missing.to_str().unwrap(),
            ],
            "error: --webhook-ca: cannot read ",
        ),
        (
            vec![
                "--webhook",
                https,
                "--webhook-ca",
                not_pem.to_str().unwrap(),
            ],
            "error: --webhook-ca: ",
        ),
        (
            vec![
                "--webhook",
                "http://127.0.0.1:9/",
                "--webhook-ca",
                not_pem.to_str().unwrap(),
            ],
            "error: --webhook-ca: applies to https:// URLs only",
        ),
        (
            vec![
                "--webhook",
                https,
                "--webhook-header",
                "Authorization Bearer s3cret",
            ],
            "error: --webhook-header: expected `Name: value`",
        ),
        (
            vec!["--webhook", https, "--webhook-header", "Bad Name: s3cret"],
            "error: --webhook-header: `Bad Name`: not a valid header name",
        ),
        (
            vec!["--webhook", https, "--webhook-header", "Content-Length: 1"],
            "error: --webhook-header: `Content-Length`: set by the webhook itself",
        ),
        (
            vec![
                "--webhook",
                https,
                "--webhook-header-file",
                headers.to_str().unwrap(),
            ],
            "error: --webhook-header-file: ",
        ),
        (
            vec![
                "--webhook",
                https,
                "--webhook-header-file",
                missing.to_str().unwrap(),
            ],
            "error: --webhook-header-file: cannot read ",
        ),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
            .args(&base)
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with(starts), "{args:?}: {err}");
        assert!(!err.contains("s3cret"), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}: nothing is watched");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(&base)
        .args(["--webhook", https, "--webhook-header-file"])
        .arg(&headers)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("headers.txt:4: expected `Name: value`"),
        "the line is named: {err}"
    );
    // the CA and header flags need --webhook
    let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(&base)
        .args(["--webhook-header", "X-A: b"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// `--webhook https://…` with `--webhook-ca` (a CA made here) and `--webhook-header`: the
/// event reaches a rustls server on loopback with the header, as the same JSON as its line.
#[test]
fn watch_posts_over_https_to_a_server_of_an_internal_ca() {
    let dir = tempfile::tempdir().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "internal test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let ca_file = dir.path().join("ca.pem");
    let header_file = dir.path().join("hec-headers");
    std::fs::write(&header_file, "Authorization: Splunk 0b5e-t0k3n\n").unwrap();
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    )
    .unwrap();
    let config = std::sync::Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let tcp = tcp.unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            let request = loop {
                let n = match tls.read(&mut buf) {
                    Ok(0) | Err(_) => break None,
                    Ok(n) => n,
                };
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                let Some(i) = text.find("\r\n\r\n") else {
                    continue;
                };
                let len: usize = text[..i]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length").then_some(value)
                    })
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                if data.len() >= i + 4 + len {
                    break Some((text[..i].to_string(), text[i + 4..i + 4 + len].to_string()));
                }
            };
            // logged before the answer
            let answered = request.is_some();
            tx.send(request).unwrap();
            if answered {
                let _ = tls.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
    });
    let o = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(synflood_args(dir.path()))
        .args([
            "--webhook",
            &format!("https://{addr}/services/collector/raw"),
        ])
        .arg("--webhook-ca")
        .arg(&ca_file)
        .args(["--webhook-header", "X-Splunk-Request-Channel: 7f3c"])
        .arg("--webhook-header-file")
        .arg(&header_file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("webhook: 1 sent, 0 failed, 0 dropped\n"),
        "{err}"
    );
    let line = String::from_utf8(o.stdout).unwrap();
    let got: Vec<_> = rx.try_iter().collect();
    assert_eq!(got.len(), 1, "{got:?}");
    let (head, body) = got[0].clone().expect("a request");
    assert!(
        head.starts_with("POST /services/collector/raw HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nAuthorization: Splunk 0b5e-t0k3n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nX-Splunk-Request-Channel: 7f3c"),
        "{head}"
    );
    assert_eq!(format!("{body}\n"), line);
}

/// A long-running collector takes a changed --feed (a Spamhaus DROP list) as it takes a
/// changed --indicators file: a prefix added is found after the reload, one removed no
/// longer is; the incident names the feed and the entry.
#[test]
fn collector_reloads_a_changed_feed() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("drop.txt");
    let list = |prefix: &str, id: &str| format!("; Spamhaus DROP List\n{prefix} ; {id}\n");
    std::fs::write(&feed, list("203.0.113.0/24", "SBL000001")).unwrap();
    let udp = format!("127.0.0.1:{}", free_udp_port());
    let child = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(["watch", "--netflow", &udp, "--duration", "7"])
        .args(["--indicators-reload", "1", "--feed", feed.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut syn = SynSender::new(&udp);
    let mut send = |dev: u8, peer: [u8; 4]| syn.send(dev, peer);
    std::thread::sleep(Duration::from_millis(1500));
    send(50, [203, 0, 113, 9]);
    send(51, [198, 51, 100, 44]);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&feed, list("198.51.100.0/24", "SBL000002")).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    send(52, [203, 0, 113, 9]);
    send(53, [198, 51, 100, 44]);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let opened = opened_summaries(&o.stdout);
    assert_eq!(
        opened,
        [
            "192.0.2.50 contacts listed C2 203.0.113.9:443 (drop/SBL000001 spamhaus-drop)",
            "192.0.2.53 contacts listed C2 198.51.100.44:443 (drop/SBL000002 spamhaus-drop)",
        ],
        "{err}"
    );
    assert!(err.contains("drop.txt changed"), "{err}");
}
