//! `iotrust watch inlet | worker | sink` over a real NATS JetStream server (Debian's
//! `nats-server`, started by the test on a loopback port it chose, removed at the end):
//! the sink's events equal those of one `iotrust watch` process on the same captures, also
//! when a worker is killed (SIGKILL) between two captures and another takes its partitions
//! over after the lease runs out, replaying them to rebuild their state.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iotrust_flow::testing::{packets, PcapWriter, Rng};

#[path = "support/mud_capture.rs"]
mod mud_capture;
#[path = "support/registry.rs"]
mod registry;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A nats-server with JetStream on loopback, killed and its store removed on drop.
struct Nats {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nats {
    fn start() -> Nats {
        let dir = tempfile::tempdir().unwrap();
        let port = free_tcp_port();
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run nats-server ({e}): install Debian's package \
                     (apt-get install nats-server; scripts/test-packages.txt lists it)"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nats {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process killed on drop (a worker or sink that outlives a failed assertion).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn iotrust() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotrust"))
}

/// A Mirai scanner (160 SYN/s to 23 and 2323, sequence number = destination) among
/// benign HTTPS users, 20 s, as the test of `watch --netflow` writes it.
fn mirai_capture(path: &Path) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let t0 = 1_700_000_000_000_000i64;
    let scanner = [100, 64, 7, 7];
    let mut pkts: Vec<(i64, Vec<u8>)> = Vec::new();
    for s in 0..20i64 {
        for i in 0..160i64 {
            let dst = loop {
                let d = (rng.next_u64() as u32).to_be_bytes();
                if !matches!(d[0], 0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 224..=255) {
                    break d;
                }
            };
            let dport = if i % 10 == 0 { 2323 } else { 23 };
            let seg = packets::tcp(41_234, dport, u32::from_be_bytes(dst), 0x02);
            pkts.push((
                t0 + s * 1_000_000 + i * 6_250,
                packets::ipv4(scanner, dst, 6, 64, &seg),
            ));
        }
    }
    for host in 1..=20u8 {
        let src = [100, 64, 8, host];
        for k in 0..6u32 {
            let dst = [151, 101, (k % 3) as u8, 1 + (k as u8)];
            let start = t0 + i64::from(host) * 700_000 + i64::from(k) * 2_900_000;
            let sport = 50_000 + u16::from(host) * 10 + k as u16;
            pkts.push((
                start,
                packets::ipv4(src, dst, 6, 64, &packets::tcp(sport, 443, 1, 0x02)),
            ));
            pkts.push((
                start + 20_000,
                packets::ipv4(dst, src, 6, 64, &packets::tcp(443, sport, 9, 0x12)),
            ));
        }
    }
    pkts.sort_by_key(|(t, _)| *t);
    let mut w = PcapWriter::new(iotrust_flow::link_type::RAW, false, false);
    for (t, p) in &pkts {
        w.packet(*t, p, p.len() as u32);
    }
    std::fs::write(path, w.finish()).unwrap();
}

/// (event, device, detector, attack) of every event, counted.
type Events = BTreeMap<(String, String, String, String), usize>;

fn events(text: &str) -> Events {
    let mut m = Events::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        *m.entry((s("event"), s("device"), s("detector"), s("attack")))
            .or_default() += 1;
    }
    m
}

fn single(captures: &[PathBuf]) -> Events {
    let mut cmd = iotrust();
    cmd.args(["watch", "--threads", "1"]);
    for c in captures {
        cmd.arg("--pcap").arg(c);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    events(&String::from_utf8_lossy(&o.stdout))
}

fn inlet_cmd(url: &str, partitions: &str, capture: &Path) -> Command {
    let mut c = iotrust();
    c.args(["watch", "inlet", "--bus", url, "--partitions", partitions])
        .args(["--replicas", &replicas(url)])
        .arg("--pcap")
        .arg(capture);
    c
}

fn inlet(url: &str, partitions: &str, capture: &Path) {
    let o = inlet_cmd(url, partitions, capture).output().unwrap();
    assert!(
        o.status.success(),
        "inlet: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Three copies on a cluster of three (the URL list names three servers), else one.
fn replicas(url: &str) -> String {
    if url.split(',').count() >= 3 {
        "3"
    } else {
        "1"
    }
    .to_string()
}

fn worker_with_lease(url: &str, name: &str, lease: &str) -> Proc {
    Proc(
        iotrust()
            .args([
                "watch", "worker", "--bus", url, "--lease", lease, "--name", name,
            ])
            .args(["--replicas", &replicas(url)])
            .stdout(Stdio::null())
            .stderr(log_file(name))
            .spawn()
            .unwrap(),
    )
}

/// Where a child's stderr goes: a file under $IOTRUST_TEST_LOGS when set (to read after a
/// failure), else nowhere.
fn log_file(name: &str) -> Stdio {
    match std::env::var_os("IOTRUST_TEST_LOGS") {
        Some(d) => std::fs::File::create(Path::new(&d).join(format!("{name}.err")))
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null()),
        None => Stdio::null(),
    }
}

fn worker(url: &str, name: &str) -> Proc {
    worker_with_lease(url, name, "2")
}

/// Runs a sink until it wrote `n` events (or 60 s passed) and returns them.
fn sink(url: &str, n: usize, out: &Path) -> Events {
    let mut s = Proc(
        iotrust()
            .args([
                "watch",
                "sink",
                "--bus",
                url,
                "--max-events",
                &n.to_string(),
                "-o",
            ])
            .arg(out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.0.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(s);
    events(&std::fs::read_to_string(out).unwrap_or_default())
}

/// `watch status` as JSON; tried again a few times while a cluster elects new leaders
/// (a request then times out).
fn status(url: &str) -> serde_json::Value {
    let mut last = String::new();
    for _ in 0..10 {
        let o = iotrust()
            .args(["watch", "status", "--bus", url, "--format", "json"])
            .args(["--replicas", &replicas(url)])
            .output()
            .unwrap();
        if o.status.success() {
            return serde_json::from_slice(&o.stdout).unwrap();
        }
        last = String::from_utf8_lossy(&o.stderr).into_owned();
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("watch status: {last}");
}

#[test]
fn bus_events_equal_one_process_and_survive_a_worker_kill() {
    let dir = tempfile::tempdir().unwrap();
    let mirai = dir.path().join("mirai.pcap");
    mirai_capture(&mirai);
    let shared = root().join("../shared/data/pcap");
    let first = vec![mirai.clone(), shared.join("stopddos-synflood-spoofed.pcap")];
    let second = shared.join("stopddos-udp-bacnet-iot-reflection.pcap");
    let mut all = first.clone();
    all.push(second.clone());
    let want = single(&all);
    let want_first = single(&first);
    assert!(want.keys().any(|k| k.2 == "mirai-scan"), "{want:?}");
    assert!(want.len() > want_first.len(), "{want:?}");

    let nats = Nats::start();
    for c in &first {
        inlet(&nats.url, "4", c);
    }
    // one worker takes every partition and publishes the first captures' events
    let mut w1 = worker(&nats.url, "w1");
    let n_first: usize = want_first.values().sum();
    let got = sink(&nats.url, n_first, &dir.path().join("sink1.jsonl"));
    assert_eq!(got, want_first);
    let st = status(&nats.url);
    assert_eq!(st["partitions"], 4);
    assert!(
        st["detail"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["owner"] == "w1"),
        "{st}"
    );
    // SIGKILL: no lease released, no last checkpoint written
    w1.0.kill().unwrap();
    w1.0.wait().unwrap();
    inlet(&nats.url, "4", &second);
    let killed = Instant::now();
    let _w2 = worker(&nats.url, "w2");
    let n_all: usize = want.values().sum();
    // the same durable sink goes on where it stopped: it wants the rest
    let rest = sink(&nats.url, n_all - n_first, &dir.path().join("sink2.jsonl"));
    let mut got = got;
    for (k, v) in rest {
        *got.entry(k).or_default() += v;
    }
    assert_eq!(got, want, "after the takeover");
    // within the lease (2 s) and a renewal round, plus the replay and the sink
    assert!(killed.elapsed() < Duration::from_secs(30));
    // and w2 holds every partition, each checkpointed up to its last message
    let caught_up = |st: &serde_json::Value| {
        st["detail"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["owner"] == "w2" && p["checkpoint_seq"] == p["last_seq"])
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut st = status(&nats.url);
    while !caught_up(&st) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        st = status(&nats.url);
    }
    assert!(caught_up(&st), "{st}");
}

/// (event, device, detector, departure) of every event, counted.
fn mud_events(text: &str) -> Events {
    let mut m = Events::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        let kind = v["mud"]["departure"].as_str().unwrap_or("").to_string();
        *m.entry((s("event"), s("device"), s("detector"), kind))
            .or_default() += 1;
    }
    m
}

#[test]
fn mud_violations_over_the_bus_equal_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, map, mud_dir) = mud_capture::files(dir.path());
    let mud_flags = |c: &mut Command| {
        c.arg("--mud")
            .arg(&map)
            .arg("--mud-dir")
            .arg(&mud_dir)
            .arg("--mud-no-fetch");
    };
    let mut one = iotrust();
    one.args([
        "watch",
        "--threads",
        "1",
        "--local",
        "192.168.1.0/24",
        "--pcap",
    ])
    .arg(&pcap);
    mud_flags(&mut one);
    let o = one.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = mud_events(&String::from_utf8_lossy(&o.stdout));
    assert!(want.keys().any(|k| k.2 == "mud-violation"), "{want:?}");
    assert!(want.keys().any(|k| k.2 == "mirai-scan"), "{want:?}");

    let nats = Nats::start();
    // the inlet publishes the announcements with the records; it knows nothing of MUD
    let o = inlet_cmd(&nats.url, "4", &pcap)
        .args(["--local", "192.168.1.0/24"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "inlet: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut w = iotrust();
    w.args([
        "watch", "worker", "--bus", &nats.url, "--lease", "2", "--name", "wm",
    ])
    .stdout(Stdio::null())
    .stderr(log_file("wm"));
    mud_flags(&mut w);
    let _w = Proc(w.spawn().unwrap());
    let n: usize = want.values().sum();
    let out = dir.path().join("sink.jsonl");
    let _ = sink(&nats.url, n, &out);
    let got = mud_events(&std::fs::read_to_string(&out).unwrap_or_default());
    assert_eq!(got, want);
}

#[test]
fn a_bus_that_is_down_is_a_clear_error() {
    let port = free_tcp_port();
    let url = format!("nats://127.0.0.1:{port}");
    let o = iotrust()
        .args(["watch", "status", "--bus", &url, "--connect-wait", "2"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("cannot connect to {url}")), "{err}");
    assert!(err.contains("trying again"), "{err}");
}

/// Three nats-servers in one JetStream cluster on loopback (routes between them), each
/// with its own store; killed and removed on drop.
struct Cluster {
    nodes: Vec<Option<Child>>,
    urls: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let client: Vec<u16> = (0..3).map(|_| free_tcp_port()).collect();
        let route: Vec<u16> = (0..3).map(|_| free_tcp_port()).collect();
        let routes = route
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::new();
        for i in 0..3 {
            let store = dir.path().join(format!("n{i}"));
            let child = Command::new("nats-server")
                .args(["-js", "--server_name", &format!("n{i}")])
                .args(["--cluster_name", "iotrust-test", "-a", "127.0.0.1"])
                .args(["-p", &client[i].to_string()])
                .args(["--cluster", &format!("nats://127.0.0.1:{}", route[i])])
                .args(["--routes", &routes, "-sd"])
                .arg(&store)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot run nats-server ({e}): apt-get install nats-server")
                });
            nodes.push(Some(child));
        }
        let urls: Vec<String> = client
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect();
        let c = Cluster {
            nodes,
            urls,
            _dir: dir,
        };
        // JetStream answers once the servers elected a meta leader: status (which creates
        // the streams with three copies) succeeds then
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let o = iotrust()
                .args(["watch", "status", "--bus", &c.url(), "--replicas", "3"])
                .args(["--connect-wait", "5"])
                .output()
                .unwrap();
            if o.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not come up: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        c
    }

    fn url(&self) -> String {
        self.urls.join(",")
    }

    /// SIGKILL of node `i`.
    fn kill(&mut self, i: usize) {
        if let Some(mut n) = self.nodes.get_mut(i).and_then(Option::take) {
            n.kill().unwrap();
            n.wait().unwrap();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_cluster_of_three_loses_a_worker_and_a_server_and_no_incident() {
    let dir = tempfile::tempdir().unwrap();
    let mirai = dir.path().join("mirai.pcap");
    mirai_capture(&mirai);
    let shared = root().join("../shared/data/pcap");
    let first = vec![mirai.clone(), shared.join("stopddos-synflood-spoofed.pcap")];
    let second = shared.join("stopddos-udp-bacnet-iot-reflection.pcap");
    let mut all = first.clone();
    all.push(second.clone());
    let want = single(&all);
    let n_first: usize = single(&first).values().sum();
    let n_all: usize = want.values().sum();

    let mut cluster = Cluster::start();
    let url = cluster.url();
    let mut w1 = worker(&url, "w1");
    let _w2 = worker(&url, "w2");
    let out = dir.path().join("sink.jsonl");
    let mut sink = Proc(
        iotrust()
            .args(["watch", "sink", "--bus", &url, "--replicas", "3"])
            .args(["--max-events", &n_all.to_string(), "-o"])
            .arg(&out)
            .stderr(log_file("sink"))
            .spawn()
            .unwrap(),
    );
    for c in &first {
        inlet(&url, "4", c);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines(&out) < n_first {
        assert!(Instant::now() < deadline, "the first events did not come");
        std::thread::sleep(Duration::from_millis(100));
    }
    // both workers come to hold partitions (the first to start hands some on)
    let owners = |st: &serde_json::Value| -> std::collections::BTreeSet<String> {
        st["detail"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["owner"].as_str().map(str::to_string))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut st = status(&url);
    while owners(&st).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        st = status(&url);
    }
    assert_eq!(owners(&st).len(), 2, "{st}");
    // the second capture goes out while a worker and a server are killed
    let mut second_inlet = Proc(
        inlet_cmd(&url, "4", &second)
            .stderr(log_file("inlet2"))
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(150));
    w1.0.kill().unwrap();
    w1.0.wait().unwrap();
    cluster.kill(0);
    let done = second_inlet.0.wait().unwrap();
    assert!(done.success(), "the inlet failed with a server down");
    let deadline = Instant::now() + Duration::from_secs(90);
    while sink.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "{} of {n_all} events after the takeover",
            lines(&out)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = events(&std::fs::read_to_string(&out).unwrap());
    if let Some(d) = std::env::var_os("IOTRUST_TEST_LOGS") {
        let _ = std::fs::copy(&out, Path::new(&d).join("sink.jsonl"));
    }
    assert_eq!(got, want);
    // w2 holds every partition (leases may be re-taken while the cluster settles)
    let all_w2 = |st: &serde_json::Value| {
        st["detail"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["owner"] == "w2")
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut st = status(&url);
    while !all_w2(&st) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        st = status(&url);
    }
    assert!(all_w2(&st), "{st}");
    assert_eq!(st["replicas"], 3);
}

#[test]
fn a_worker_restarted_resumes_from_its_own_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mirai = dir.path().join("mirai.pcap");
    mirai_capture(&mirai);
    let shared = root().join("../shared/data/pcap");
    let second = shared.join("stopddos-synflood-spoofed.pcap");
    let want = single(&[mirai.clone(), second.clone()]);
    let n_first: usize = single(std::slice::from_ref(&mirai)).values().sum();
    let n_all: usize = want.values().sum();
    let nats = Nats::start();
    inlet(&nats.url, "2", &mirai);
    // a lease far longer than the test: only its own name lets the restarted worker in
    let mut w = worker_with_lease(&nats.url, "w1", "120");
    let got = sink(&nats.url, n_first, &dir.path().join("a.jsonl"));
    w.0.kill().unwrap();
    w.0.wait().unwrap();
    inlet(&nats.url, "2", &second);
    let started = Instant::now();
    let _w = worker_with_lease(&nats.url, "w1", "120");
    let rest = sink(&nats.url, n_all - n_first, &dir.path().join("b.jsonl"));
    assert!(started.elapsed() < Duration::from_secs(60));
    let mut got = got;
    for (k, v) in rest {
        *got.entry(k).or_default() += v;
    }
    assert_eq!(got, want);
}

#[test]
fn a_slow_sink_holds_events_on_the_bus_and_drops_only_where_told() {
    let dir = tempfile::tempdir().unwrap();
    let mirai = dir.path().join("mirai.pcap");
    mirai_capture(&mirai);
    let want = single(std::slice::from_ref(&mirai));
    let n: usize = want.values().sum();
    let nats = Nats::start();
    inlet(&nats.url, "2", &mirai);
    let _w = worker(&nats.url, "w1");
    // a webhook nobody answers (each event is tried for seconds) behind a queue of one: its
    // events are dropped and counted; the sink takes one event at a time from the bus
    // (--max-pending 1) and the file gets every one
    let dead = free_tcp_port();
    let out = dir.path().join("slow.jsonl");
    let o = iotrust()
        .args(["watch", "sink", "--bus", &nats.url, "--max-pending", "1"])
        .args(["--webhook", &format!("http://127.0.0.1:{dead}/events")])
        .args(["--webhook-queue", "1", "--max-events", &n.to_string()])
        .args(["--duration", "60", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(events(&std::fs::read_to_string(&out).unwrap()), want);
    let err = String::from_utf8_lossy(&o.stderr);
    let dropped: u64 = err
        .split("failed, ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    assert!(dropped > 0, "{err}");
    assert!(err.contains(&format!("{n} event(s) written")), "{err}");
}

fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut c) = TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = write!(
        c,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut s = String::new();
    let _ = c.read_to_string(&mut s);
    s
}

#[test]
fn a_worker_serves_leases_lag_and_checkpoint_age_as_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let mirai = dir.path().join("mirai.pcap");
    mirai_capture(&mirai);
    let nats = Nats::start();
    inlet(&nats.url, "2", &mirai);
    let addr = format!("127.0.0.1:{}", free_tcp_port());
    let _w = Proc(
        iotrust()
            .args(["watch", "worker", "--bus", &nats.url, "--name", "m1"])
            .args(["--metrics", &addr])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut m = String::new();
    while Instant::now() < deadline {
        m = scrape(&addr);
        if m.contains("iotrust_watch_bus_leases_held 2")
            && m.contains("iotrust_watch_bus_lag_messages{partition=\"0\"} 0")
            && m.contains("iotrust_watch_bus_lag_messages{partition=\"1\"} 0")
            && m.contains("iotrust_watch_bus_checkpoint_age_seconds{partition=\"1\"}")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(m.contains("iotrust_watch_bus_leases_held 2"), "{m}");
    assert!(
        m.contains("iotrust_watch_bus_lag_messages{partition=\"1\"} 0"),
        "{m}"
    );
    let records = m
        .lines()
        .find_map(|l| l.strip_prefix("iotrust_watch_records_total "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert!(records > 3000, "{m}");
    assert!(m.contains("iotrust_watch_bus_messages_in_total"), "{m}");
}

/// The files of `dir`, name and content, sorted.
fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read_to_string(e.path()).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_sink_writes_text_notices_and_filters_as_one_process_does() {
    let dir = tempfile::tempdir().unwrap();
    let mirai = dir.path().join("mirai.pcap");
    mirai_capture(&mirai);
    let flood = root().join("../shared/data/pcap/stopddos-synflood-spoofed.pcap");
    let opened = dir.path().join("opened.txt");
    std::fs::write(
        &opened,
        "Incident {id}: {device} ({detector}, {severity}) ports {ports} peers {peers}\n",
    )
    .unwrap();
    let closed = dir.path().join("closed.txt");
    std::fs::write(&closed, "Closed {id}: {device} after {records} records\n").unwrap();
    let outputs = |cmd: &mut Command, tag: &str| {
        cmd.args(["--format", "text", "-o"])
            .arg(dir.path().join(format!("{tag}.txt")))
            .arg("--notices")
            .arg(dir.path().join(format!("{tag}-notices")))
            .arg("--notice-template")
            .arg(&opened)
            .arg("--closed-notice-template")
            .arg(&closed)
            .arg("--filters")
            .arg(dir.path().join(format!("{tag}.nft")));
    };
    // one process, one thread: incident ids from 1, as one partition numbers them
    let mut one = iotrust();
    one.args(["watch", "--threads", "1", "--pcap"])
        .arg(&mirai)
        .arg("--pcap")
        .arg(&flood);
    outputs(&mut one, "one");
    let o = one.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want_text = std::fs::read_to_string(dir.path().join("one.txt")).unwrap();
    let n = want_text.lines().count();
    assert!(want_text.contains("mirai-scan"), "{want_text}");

    let nats = Nats::start();
    inlet(&nats.url, "1", &mirai);
    inlet(&nats.url, "1", &flood);
    let _w = worker(&nats.url, "w1");
    let mut s = iotrust();
    s.args([
        "watch",
        "sink",
        "--bus",
        &nats.url,
        "--max-events",
        &n.to_string(),
    ])
    .args(["--duration", "60"]);
    outputs(&mut s, "bus");
    let o = s.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("filter proposal(s) written"), "{err}");

    assert_eq!(
        std::fs::read_to_string(dir.path().join("bus.txt")).unwrap(),
        want_text
    );
    let want_notices = files(&dir.path().join("one-notices"));
    assert!(
        want_notices
            .values()
            .any(|t| t.contains("mirai-scan") && t.contains("23, 2323")),
        "{want_notices:?}"
    );
    assert_eq!(files(&dir.path().join("bus-notices")), want_notices);
    let want_nft = std::fs::read_to_string(dir.path().join("one.nft")).unwrap();
    assert!(want_nft.contains("tcp dport { 23, 2323 }"), "{want_nft}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("bus.nft")).unwrap(),
        want_nft
    );
}

/// `watch sink --registry`: the field report of a product seen compromised goes out from
/// the bus's events, as from one process (`field_reports.rs`): the registry counts the
/// device against the product the inventory names.
#[test]
fn the_sink_reports_compromised_products_to_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let token = "tok-veridor-0123456789";
    let label = registry::setup(
        d,
        "examples/profiles/smart-lock.toml",
        "Veridor Security Ltd",
        token,
    );
    let port = registry::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = registry::Server::start(d, port);
    registry::submit(d, &base, &label, "examples/profiles/smart-lock.toml");
    let mirai = dir.path().join("mirai.pcap");
    mirai_capture(&mirai);
    std::fs::write(
        dir.path().join("inventory.csv"),
        "address,manufacturer,model\n100.64.7.7,Veridor Security Ltd,VD-SL4\n",
    )
    .unwrap();
    let want = single(std::slice::from_ref(&mirai));
    let n: usize = want.values().sum();

    let nats = Nats::start();
    inlet(&nats.url, "2", &mirai);
    let _w = worker(&nats.url, "w1");
    let o = iotrust()
        .args([
            "watch",
            "sink",
            "--bus",
            &nats.url,
            "--max-events",
            &n.to_string(),
        ])
        .args(["--duration", "60", "--registry", &base])
        .arg("--provider-token-file")
        .arg(format!("{d}/provider-token"))
        .arg("--provider-key")
        .arg(format!("{d}/isp-a.key.json"))
        .arg("--inventory")
        .arg(dir.path().join("inventory.csv"))
        .arg("-o")
        .arg(dir.path().join("events.jsonl"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // the report is sent as the incident opens and again as it closes (the same report id,
    // replaced at the registry)
    assert!(
        err.contains(" sent, 0 retried, 0 refused, 0 undelivered; 0 incident(s)")
            && !err.contains("field reports: 0 sent"),
        "{err}"
    );
    let id = registry::product_id(&base, "VD-SL4");
    let p = registry::get(&format!("{base}/api/v1/products/{id}"));
    assert_eq!(p["field"]["devices"], 1, "{p}");
    assert!(
        p["field"]["detectors"].to_string().contains("mirai-scan"),
        "{p}"
    );
    assert!(!p.to_string().contains("100.64.7.7"), "{p}");
}
