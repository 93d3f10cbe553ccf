//! `mud-violation` on generated captures: devices announce their MUD URLs over DHCP and
//! LLDP (or the operator maps them), talk as declared (nothing), then outside it (an
//! incident per device and departure, with the declaration and the flows as evidence); a
//! Mirai-style scanner with a MUD file gets both detectors; a device without one gets
//! none. The MUD files come from a `--mud-dir` or over HTTPS from a server on 127.0.0.1
//! this test starts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iotrust_flow::link_type;
use iotrust_flow::testing::{dns, mud as m, packets as p, PcapWriter};
use iotrust_watch::detectors::mud::MudSetup;
use iotrust_watch::mudfiles::{FetchConfig, Library, MudMap};
use iotrust_watch::sources::Capture;
use iotrust_watch::{Config, Detector, Engine, Event, EventKind, Indicators, Sharded, Subscribers};

const BULB_URL: &str = "https://mud.bulb.example/bulb2000.json";
const BULB: [u8; 4] = [192, 168, 1, 20];
const PLUG: [u8; 4] = [192, 168, 1, 21];
const LAMP: [u8; 4] = [192, 168, 1, 30];
const CAM: [u8; 4] = [192, 168, 1, 40];
const NOMUD: [u8; 4] = [192, 168, 1, 50];
const RESOLVER: [u8; 4] = [192, 168, 1, 1];
const CLOUD: [u8; 4] = [203, 0, 113, 10];
const ELSEWHERE: [u8; 4] = [198, 51, 100, 7];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mud")
}

fn mac(ip: [u8; 4]) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, ip[3]]
}

/// A capture being written, a millisecond a packet.
struct Cap {
    w: PcapWriter,
    t: i64,
}

impl Cap {
    fn new() -> Cap {
        Cap {
            w: PcapWriter::new(link_type::ETHERNET, false, false),
            t: 1_765_000_000_000_000,
        }
    }

    fn frame(&mut self, f: &[u8]) {
        self.t += 1000;
        self.w.packet(self.t, f, f.len() as u32);
    }

    /// An IPv4 packet from `src` (its MAC) to `dst`.
    fn ip(&mut self, src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) {
        let f = m::ethernet_from(mac(src), 0x0800, &p::ipv4(src, dst, proto, 64, l4));
        self.frame(&f);
    }

    fn tcp(&mut self, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8) {
        self.ip(src, dst, 6, &p::tcp(sport, dport, 7, flags));
    }

    fn udp(&mut self, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) {
        self.ip(src, dst, 17, &p::udp_with(sport, dport, b"coap"));
    }

    /// `dev` asks the resolver for `name`, which answers `addr`.
    fn lookup(&mut self, dev: [u8; 4], name: &str, addr: [u8; 4]) {
        self.ip(
            dev,
            RESOLVER,
            17,
            &p::udp_with(5353, 53, &dns::query(9, name, 1)),
        );
        let answer = dns::response(9, name, 1, &[(&addr, 300)]);
        self.ip(RESOLVER, dev, 17, &p::udp_with(53, 5353, &answer));
    }

    /// A TCP connection `dev` opens to `peer:port`, answered.
    fn connect(&mut self, dev: [u8; 4], peer: [u8; 4], sport: u16, port: u16) {
        self.tcp(dev, peer, sport, port, 0x02);
        self.tcp(peer, dev, port, sport, 0x12);
        self.tcp(dev, peer, sport, port, 0x10);
    }

    fn finish(&self) -> Vec<u8> {
        self.w.finish()
    }
}

/// The bulb announces over DHCP and the plug over LLDP (no management address: bound by
/// its first packet), both `url`; the camera is mapped. All talk as declared.
fn declared_part(c: &mut Cap, url: &str) {
    c.frame(&m::dhcpv4_frame(3, mac(BULB), [0; 4], Some(BULB), url));
    c.frame(&m::lldp_frame(mac(PLUG), None, url));
    for _ in 0..3 {
        c.lookup(BULB, "cloud.bulb.example", CLOUD);
        c.connect(BULB, CLOUD, 40000, 443);
        c.udp(BULB, LAMP, 40001, 5683);
        c.udp(LAMP, BULB, 5683, 40001);
        c.udp(PLUG, LAMP, 40002, 5683);
        // the camera: its cloud, and RTSP opened by a local viewer
        c.lookup(CAM, "cloud.cam.example", [203, 0, 113, 20]);
        c.connect(CAM, [203, 0, 113, 20], 41000, 443);
        c.tcp(LAMP, CAM, 42000, 554, 0x02);
        c.tcp(CAM, LAMP, 554, 42000, 0x12);
        // a device without a MUD file, anywhere
        c.connect(NOMUD, ELSEWHERE, 43000, 8080);
    }
}

/// Then outside the declarations: the bulb to an undeclared peer and to its cloud on
/// another port; the plug on another local port; the camera scans like Mirai.
fn departing_part(c: &mut Cap) {
    for i in 0..3u16 {
        c.tcp(BULB, ELSEWHERE, 44000 + i, 8080, 0x02);
        c.tcp(BULB, CLOUD, 45000 + i, 22, 0x02);
        c.udp(PLUG, LAMP, 40002, 9999);
    }
    for i in 0..40u8 {
        let dst = [198, 18, i, 1 + i];
        let seq = u32::from_be_bytes(dst);
        c.ip(CAM, dst, 6, &p::tcp(50000, 23, seq, 0x02));
    }
    c.connect(NOMUD, ELSEWHERE, 46000, 2323);
}

/// The library of URLs (a `--mud-dir` holding the bulb's file) and the camera mapped.
fn setup(said: Arc<Mutex<Vec<String>>>, fetch: FetchConfig) -> MudSetup {
    let lib = Library::new(fetch, move |s| said.lock().unwrap().push(s.to_string())).unwrap();
    let cam = CAM.map(|b| b.to_string()).join(".");
    let map = MudMap::parse(
        &format!("address,mud-file-or-url\n{cam},cam.json\n"),
        "map.csv",
        &fixtures(),
        &lib,
    )
    .unwrap();
    MudSetup {
        library: Arc::new(lib),
        map: Arc::new(map),
        local: Vec::new(),
        controllers: Vec::new(),
    }
}

fn mud_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iotrust-mud-{}-{tag}", std::process::id()));
    let host = dir.join("mud.bulb.example");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::copy(fixtures().join("bulb.json"), host.join("bulb2000.json")).unwrap();
    dir
}

fn run(pcap: &[u8], mud: Option<MudSetup>, shards: usize) -> Vec<Event> {
    let cfg = Config {
        local_networks: vec!["192.168.1.0/24".parse().unwrap()],
        ..Config::default()
    };
    let mut engine = Sharded::with_mud(
        cfg,
        shards,
        Indicators::default(),
        Subscribers::default(),
        mud.clone(),
    );
    let mut reader = Capture::new(pcap, true, mud.is_some()).unwrap();
    while let Some(item) = reader.next() {
        let (r, carried) = item.unwrap();
        engine.observe_carried(&r, &carried).unwrap();
    }
    engine.finish().unwrap();
    engine.drain_events().collect()
}

fn opened(events: &[Event]) -> Vec<(String, &'static str, String)> {
    let mut v: Vec<_> = events
        .iter()
        .filter(|e| e.event == EventKind::Opened)
        .map(|e| {
            let kind = e
                .incident
                .mud
                .as_ref()
                .map(|m| m.departure.name().to_string())
                .unwrap_or_default();
            (
                e.incident.device.to_string(),
                e.incident.detector.name(),
                kind,
            )
        })
        .collect();
    v.sort();
    v
}

fn json(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect()
}

#[test]
fn devices_that_talk_as_declared_raise_nothing() {
    let dir = mud_dir("declared");
    let said = Arc::new(Mutex::new(Vec::new()));
    let fetch = FetchConfig {
        dir: Some(dir.clone()),
        ..FetchConfig::default()
    };
    let mut c = Cap::new();
    declared_part(&mut c, BULB_URL);
    let events = run(&c.finish(), Some(setup(said.clone(), fetch)), 1);
    assert!(events.is_empty(), "{:#?}", json(&events));
    assert!(
        said.lock().unwrap().is_empty(),
        "{:?}",
        said.lock().unwrap()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn departures_open_one_incident_per_device_and_kind_with_evidence() {
    let dir = mud_dir("departures");
    let said = Arc::new(Mutex::new(Vec::new()));
    let fetch = FetchConfig {
        dir: Some(dir.clone()),
        ..FetchConfig::default()
    };
    let mut c = Cap::new();
    declared_part(&mut c, BULB_URL);
    departing_part(&mut c);
    let pcap = c.finish();
    let mud = setup(said.clone(), fetch);
    let events = run(&pcap, Some(mud.clone()), 1);
    let s = |a: [u8; 4]| a.map(|b| b.to_string()).join(".");
    assert_eq!(
        opened(&events),
        vec![
            (s(BULB), "mud-violation", "new-peer".into()),
            (s(BULB), "mud-violation", "new-port".into()),
            (s(PLUG), "mud-violation", "new-port".into()),
            (s(CAM), "mirai-scan", String::new()),
            (s(CAM), "mud-violation", "new-peer".into()),
        ],
        "{:#?}",
        json(&events)
    );
    // the bulb's undeclared peer: the URL, how it came, what is declared, the flow
    let e = events
        .iter()
        .find(|e| {
            e.incident.device.to_string() == s(BULB)
                && e.incident
                    .mud
                    .as_ref()
                    .is_some_and(|m| m.departure.name() == "new-peer")
        })
        .unwrap();
    let v = serde_json::to_value(e).unwrap();
    let ev = &v["mud"];
    assert_eq!(ev["mud_url"], BULB_URL);
    assert_eq!(ev["source"], "dhcpv4");
    assert!(ev["file"].as_str().unwrap().starts_with("mud-dir:"));
    assert_eq!(ev["flows"][0]["peer"], s(ELSEWHERE));
    assert_eq!(ev["flows"][0]["peer_port"], 8080);
    assert_eq!(ev["flows"][0]["protocol"], 6);
    assert_eq!(ev["flows"][0]["direction"], "from-device");
    assert!(ev["flows"][0]["first_seen"].is_string());
    assert!(ev["declared"][0]
        .as_str()
        .unwrap()
        .starts_with("from-dev/cloud"));
    assert!(
        e.incident.summary.contains("new-peer") && e.incident.summary.contains(BULB_URL),
        "{}",
        e.incident.summary
    );
    // the new port on the declared cloud: its closest entry first, the peer's DNS name
    let port = events
        .iter()
        .filter(|e| e.incident.device.to_string() == s(BULB))
        .filter_map(|e| e.incident.mud.as_ref())
        .find(|m| m.departure.name() == "new-port")
        .unwrap();
    assert!(
        port.declared[0].starts_with("from-dev/cloud (closest)"),
        "{:?}",
        port.declared
    );
    assert_eq!(
        port.flows[0].peer_names,
        vec!["cloud.bulb.example".to_string()]
    );
    assert_eq!(port.flows[0].peer_port, Some(22));
    // repeated packets of one flow update it, they open nothing: three records counted
    let last_bulb = events
        .iter()
        .rev()
        .find(|e| {
            e.incident.device.to_string() == s(BULB)
                && e.incident.detector == Detector::MudViolation
        })
        .unwrap();
    assert!(last_bulb.incident.mud.as_ref().unwrap().flows.len() <= 3);
    // the plug's came over LLDP
    let plug = events
        .iter()
        .find(|e| e.incident.device.to_string() == s(PLUG))
        .unwrap();
    assert_eq!(plug.incident.mud.as_ref().unwrap().source, "lldp");
    // the scanner: many flows, the first 8 listed, all counted, severity up at 32 peers
    let cam_last = events
        .iter()
        .rev()
        .find(|e| {
            e.incident.device.to_string() == s(CAM) && e.incident.detector == Detector::MudViolation
        })
        .unwrap();
    let cm = cam_last.incident.mud.as_ref().unwrap();
    assert_eq!(cm.source, "map");
    assert_eq!(cm.flows.len(), 8);
    // past the 8 listed, a new flow escalates when the count doubles: the last event is at 32
    assert_eq!(cm.flows_total, 32);
    assert_eq!(format!("{:?}", cam_last.incident.severity), "High");
    // the device without a MUD file: nothing
    assert!(events
        .iter()
        .all(|e| e.incident.device.to_string() != s(NOMUD)));

    // three shards give the same lines
    let sharded = run(&pcap, Some(mud), 3);
    assert_eq!(json(&sharded), json(&events));
    // without --mud: no mud-violation, the other detectors as before
    let plain = run(&pcap, None, 1);
    assert_eq!(opened(&plain), vec![(s(CAM), "mirai-scan", String::new())]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A CA made for the test and a certificate it issued for 127.0.0.1.
fn pki() -> (
    String,
    Vec<rustls::pki_types::CertificateDer<'static>>,
    Vec<u8>,
) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "mud test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap()).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".into()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    (ca.pem(), vec![leaf.der().clone()], key.serialize_der())
}

/// An HTTPS server on 127.0.0.1 answering `/bulb2000.json` with `body` and anything else
/// with 404; it counts the requests.
fn mud_server(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: Vec<u8>,
    body: impl Fn(u16) -> String + Send + 'static,
) -> (u16, Arc<Mutex<Vec<String>>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            chain,
            rustls::pki_types::PrivatePkcs8KeyDer::from(key).into(),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(tcp) = conn else { continue };
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let tls = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut stream = rustls::StreamOwned::new(tls, tcp);
            let mut line = String::new();
            let mut r = BufReader::new(&mut stream);
            if r.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                    break;
                }
            }
            log.lock().unwrap().push(line.clone());
            let (status, text) = if line.starts_with("GET /bulb2000.json ") {
                ("200 OK", body(port))
            } else {
                ("404 Not Found", String::new())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/mud+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            stream.conn.send_close_notify();
            let _ = stream.flush();
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
        }
    });
    (port, seen)
}

#[test]
fn announced_urls_are_fetched_over_https_once_and_checked() {
    let (ca_pem, chain, key) = pki();
    let (port, seen) = mud_server(chain, key, |port| {
        std::fs::read_to_string(fixtures().join("bulb.json"))
            .unwrap()
            .replace(BULB_URL, &format!("https://127.0.0.1:{port}/bulb2000.json"))
    });
    let url = format!("https://127.0.0.1:{port}/bulb2000.json");
    let ca = std::env::temp_dir().join(format!("iotrust-mud-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, ca_pem).unwrap();
    let said = Arc::new(Mutex::new(Vec::new()));
    let fetch = FetchConfig {
        dir: None,
        fetch: true,
        timeout: Duration::from_secs(5),
        ca_file: Some(ca.clone()),
    };
    let mut c = Cap::new();
    // both announce the same URL; a third announces one the server does not have
    declared_part(&mut c, &url);
    let missing = format!("https://127.0.0.1:{port}/missing.json");
    c.frame(&m::dhcpv4_frame(
        3,
        mac(NOMUD),
        [0; 4],
        Some(NOMUD),
        &missing,
    ));
    departing_part(&mut c);
    let events = run(&c.finish(), Some(setup(said.clone(), fetch)), 2);
    let bulb = events
        .iter()
        .filter_map(|e| e.incident.mud.as_ref())
        .find(|m| m.source == "dhcpv4")
        .unwrap();
    assert_eq!(bulb.mud_url, url);
    assert_eq!(bulb.file, url);
    let requests = seen.lock().unwrap().clone();
    assert_eq!(
        requests
            .iter()
            .filter(|l| l.starts_with("GET /bulb2000.json "))
            .count(),
        1,
        "fetched once for both devices and every shard: {requests:?}"
    );
    let said = said.lock().unwrap().clone();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("missing.json") && said[0].contains("404"),
        "{said:?}"
    );
    // the device whose URL could not be fetched has no declaration: nothing
    assert!(events
        .iter()
        .all(|e| e.incident.device.to_string() != "192.168.1.50"));
    std::fs::remove_file(ca).unwrap();
}
