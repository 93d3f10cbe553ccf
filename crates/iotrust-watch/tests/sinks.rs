//! The sinks against real servers on loopback: a webhook receiver that the test runs (one
//! that answers 503 first, to exercise the retry; one that never answers, to show that a
//! stuck webhook drops events instead of stalling), the same over HTTPS (rustls serving a
//! certificate of a CA made here with rcgen: trusted through `ca_file`, and not trusted
//! without it or with another CA), and a scrape of the metrics endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::time::Duration;

use common::{mirai_scanner, v4, T0};
use iotrust_watch::{
    Config, Event, Metrics, NoticeTemplate, Subscribers, Watch, Webhook, WebhookConfig,
};

/// Reads one HTTP request (head and `Content-Length` body; header names in any case).
fn read_request(conn: &mut impl Read) -> std::io::Result<(String, String)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf)?;
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
                return Ok((text[..i].to_string(), text[i + 4..i + 4 + len].to_string()));
            }
        }
    }
    Ok((String::from_utf8_lossy(&data).to_string(), String::new()))
}

fn scanner_events() -> Vec<Event> {
    let recs = mirai_scanner(v4([192, 0, 2, 10]), T0, 3, 160, 1, true, 1);
    let mut w = Watch::new(Config::default())
        .with_subscribers(Subscribers::parse("192.0.2.0/24,cust-42\n", "subs.csv").unwrap());
    let mut ev = Vec::new();
    for r in &recs {
        w.observe(r);
        ev.extend(w.drain_events());
    }
    assert!(ev.len() >= 3, "{}", ev.len());
    ev
}

#[test]
fn webhook_posts_every_event_and_retries_a_503() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let server = std::thread::spawn(move || {
        let mut served = 0;
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let (head, body) = read_request(&mut conn).unwrap();
            served += 1;
            // the first request fails: the sink must try it again
            let status = if served == 1 {
                "503 Busy"
            } else {
                "204 No Content"
            };
            // recorded before the answer: once the sink has its answer, the test may read
            // the channel, and the request must be there already
            tx.send((head, body, status)).unwrap();
            write!(conn, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").unwrap();
        }
    });
    let events = scanner_events();
    let metrics = Metrics::new();
    let hook = Webhook::start(
        WebhookConfig {
            backoff: Duration::from_millis(20),
            ..WebhookConfig::new(&format!("http://{addr}/hooks/watch"))
        },
        metrics.clone(),
    )
    .unwrap();
    for e in &events {
        assert!(hook.send(e));
    }
    hook.finish();
    let got: Vec<(String, String, &str)> = rx.try_iter().collect();
    assert_eq!(got.len(), events.len() + 1, "one retry");
    assert_eq!(got[0].1, got[1].1, "the 503'd event is sent again");
    for (head, _, _) in &got {
        assert!(head.starts_with("POST /hooks/watch HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("Content-Type: application/json"), "{head}");
    }
    let delivered: Vec<&String> = got
        .iter()
        .filter(|g| g.2.starts_with("204"))
        .map(|g| &g.1)
        .collect();
    assert_eq!(delivered.len(), events.len());
    for (body, e) in delivered.iter().zip(&events) {
        // the same object as the JSON line
        assert_eq!(**body, serde_json::to_string(e).unwrap());
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["subscriber"], "cust-42");
    }
    assert_eq!(metrics.webhook_sent.load(Relaxed), events.len() as u64);
    assert_eq!(metrics.webhook_failed.load(Relaxed), 0);
    drop(server);
}

#[test]
fn a_stuck_webhook_drops_events_instead_of_blocking() {
    // accepts connections and never answers
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _server = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let events = scanner_events();
    let metrics = Metrics::new();
    let hook = Webhook::start(
        WebhookConfig {
            queue: 2,
            attempts: 1,
            timeout: Duration::from_millis(300),
            ..WebhookConfig::new(&format!("http://{addr}/"))
        },
        metrics.clone(),
    )
    .unwrap();
    let mut accepted = 0;
    let t = std::time::Instant::now();
    for _ in 0..100 {
        for e in &events {
            accepted += usize::from(hook.send(e));
        }
    }
    // 100 × events offered, at most the queue plus the one in flight taken (and one more
    // for each 300 ms timeout that passed meanwhile, on a busy machine): a send that waited
    // for the queue would have taken them all
    let took = t.elapsed();
    let bound = 3 + (took.as_millis() / 300) as usize;
    assert!(accepted <= bound, "{accepted} taken in {took:?}");
    assert_eq!(
        metrics.webhook_dropped.load(Relaxed),
        (100 * events.len() - accepted) as u64
    );
    hook.finish();
    assert_eq!(metrics.webhook_failed.load(Relaxed), accepted as u64);
}

/// A CA made for the test and a certificate it issued for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key_der: Vec<u8>,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        let ca =
            rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().unwrap()).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        Pki {
            ca_pem: ca.pem(),
            chain: vec![leaf.der().clone()],
            key_der: key.serialize_der(),
        }
    }

    /// Writes the CA certificate to a PEM file of its own.
    fn ca_file(&self, tag: &str) -> std::path::PathBuf {
        let p =
            std::env::temp_dir().join(format!("iotrust-sinks-{}-{tag}.pem", std::process::id()));
        std::fs::write(&p, &self.ca_pem).unwrap();
        p
    }
}

/// What the HTTPS receiver saw of one connection: a request (head, body, the status it
/// answered), or a handshake that failed.
type Seen = Result<(String, String, &'static str), String>;

/// An HTTPS receiver on loopback serving `pki`'s certificate; `status(n)` answers the n-th
/// request (from 1). Each connection is logged before it is answered.
fn https_receiver(
    pki: &Pki,
    status: fn(usize) -> &'static str,
) -> (std::net::SocketAddr, mpsc::Receiver<Seen>) {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            pki.chain.clone(),
            rustls::pki_types::PrivatePkcs8KeyDer::from(pki.key_der.clone()).into(),
        )
        .unwrap();
    let config = std::sync::Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut served = 0;
        for conn in listener.incoming() {
            let tcp = conn.unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let tls = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut stream = rustls::StreamOwned::new(tls, tcp);
            match read_request(&mut stream) {
                Ok((head, body)) => {
                    served += 1;
                    let answer = status(served);
                    tx.send(Ok((head, body, answer))).unwrap();
                    let _ = write!(stream, "HTTP/1.1 {answer}\r\nContent-Length: 0\r\n\r\n");
                    stream.conn.send_close_notify();
                    let _ = stream.flush();
                }
                Err(e) => tx.send(Err(e.to_string())).unwrap(),
            }
        }
    });
    (addr, rx)
}

#[test]
fn webhook_over_https_with_a_ca_file_retries_a_503_and_sends_the_headers() {
    let pki = Pki::new("internal");
    let (addr, rx) = https_receiver(&pki, |n| if n == 1 { "503 Busy" } else { "200 OK" });
    let ca = pki.ca_file("trusted");
    let events = scanner_events();
    let metrics = Metrics::new();
    let hook = Webhook::start(
        WebhookConfig {
            backoff: Duration::from_millis(20),
            ca_file: Some(ca.clone()),
            headers: vec![
                iotrust_watch::sinks::parse_header("Authorization: Bearer t0k3n").unwrap(),
                iotrust_watch::sinks::parse_header("X-Splunk-Request-Channel: 7f3c").unwrap(),
            ],
            ..WebhookConfig::new(&format!("https://{addr}/services/collector/raw"))
        },
        metrics.clone(),
    )
    .unwrap();
    for e in &events {
        assert!(hook.send(e));
    }
    assert_eq!(hook.finish(), None);
    std::fs::remove_file(ca).unwrap();
    let got: Vec<(String, String, &str)> = rx.try_iter().map(Result::unwrap).collect();
    assert_eq!(got.len(), events.len() + 1, "one retry");
    assert_eq!(got[0].2, "503 Busy");
    assert_eq!(got[0].1, got[1].1, "the 503'd event is sent again");
    for (head, _, _) in &got {
        assert!(
            head.starts_with("POST /services/collector/raw HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(
            head.contains("\r\nContent-Type: application/json"),
            "{head}"
        );
        assert!(
            head.contains("\r\nAuthorization: Bearer t0k3n\r\n"),
            "{head}"
        );
        assert!(
            head.contains("\r\nX-Splunk-Request-Channel: 7f3c"),
            "{head}"
        );
        assert!(head.contains("\r\nuser-agent: iotrust-watch"), "{head}");
    }
    let delivered: Vec<&String> = got[1..].iter().map(|g| &g.1).collect();
    assert_eq!(delivered.len(), events.len());
    for (body, e) in delivered.iter().zip(&events) {
        // the same object as the JSON line
        assert_eq!(**body, serde_json::to_string(e).unwrap());
    }
    assert_eq!(metrics.webhook_sent.load(Relaxed), events.len() as u64);
    assert_eq!(metrics.webhook_failed.load(Relaxed), 0);
    assert_eq!(metrics.webhook_dropped.load(Relaxed), 0);
}

#[test]
fn an_untrusted_certificate_fails_each_event_once_and_is_counted() {
    let pki = Pki::new("internal");
    let other = Pki::new("other");
    let (addr, rx) = https_receiver(&pki, |_| "200 OK");
    let wrong_ca = other.ca_file("wrong");
    let events = scanner_events();
    // Mozilla's roots (no CA file), then the CA file of another CA
    for ca_file in [None, Some(wrong_ca.clone())] {
        let metrics = Metrics::new();
        let hook = Webhook::start(
            WebhookConfig {
                attempts: 3,
                backoff: Duration::from_millis(20),
                ca_file,
                ..WebhookConfig::new(&format!("https://{addr}/"))
            },
            metrics.clone(),
        )
        .unwrap();
        for e in &events {
            assert!(hook.send(e));
        }
        let why = hook.finish().expect("a failure");
        assert!(why.contains("TLS") && why.contains("certificate"), "{why}");
        assert_eq!(metrics.webhook_failed.load(Relaxed), events.len() as u64);
        assert_eq!(metrics.webhook_sent.load(Relaxed), 0);
        // the receiver saw handshakes only, one per event: a certificate is not retried.
        // (The client gives up before the receiver notices, so its log is waited for.)
        for _ in &events {
            let seen = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert!(seen.is_err(), "{seen:?}");
        }
        let more = rx.recv_timeout(Duration::from_millis(300));
        assert!(more.is_err(), "a retried handshake: {more:?}");
    }
    std::fs::remove_file(wrong_ca).unwrap();
}

#[test]
fn notice_renders_every_placeholder() {
    let events = scanner_events();
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/notice.txt"))
            .unwrap();
    let t = NoticeTemplate::parse(&text, "notice.txt").unwrap();
    let out = t.render(&events[0].incident);
    assert!(out.contains("192.0.2.10"), "{out}");
    assert!(out.contains("cust-42"), "{out}");
    assert!(out.contains("mirai-scan"), "{out}");
    assert!(out.contains("23, 2323"), "{out}");
    assert!(!out.contains('{'), "{out}");
    let every: String = iotrust_watch::sinks::PLACEHOLDERS
        .iter()
        .map(|(p, _)| format!("{p}=[{{{p}}}]\n"))
        .collect();
    let all = NoticeTemplate::parse(&every, "all")
        .unwrap()
        .render(&events[0].incident);
    assert!(all.contains("device=[192.0.2.10]\n"), "{all}");
    assert!(all.contains("severity=[high]\n"), "{all}");
    assert!(all.contains("role=[infected-device]\n"), "{all}");
    assert!(all.contains("attack=[]\n"), "{all}");
    assert!(all.contains("domains=[]\nlabels=[]\n"), "{all}");
}

/// A C2 incident's notice names the listed domain and the list's label.
#[test]
fn notice_names_the_c2_domain_and_label() {
    use iotrust_flow::dns::{Answer, DnsMessage, Question};
    let mut w = Watch::new(Config::default()).with_indicators(
        iotrust_watch::Indicators::parse("*.bad.example dga-family\n", "c2.txt").unwrap(),
    );
    let mut r = iotrust_flow::FlowRecord::new(iotrust_flow::SourceKind::Pcap);
    (r.src, r.dst, r.proto, r.src_port, r.dst_port) =
        (v4([192, 0, 2, 1]), v4([192, 0, 2, 20]), 17, 53, 40000);
    (r.first_us, r.last_us, r.packets) = (T0, T0, 1);
    let msg = DnsMessage {
        id: 1,
        response: true,
        rcode: 0,
        question: Some(Question {
            name: "x1.bad.example".into(),
            qtype: 1,
        }),
        answers: vec![Answer {
            name: "x1.bad.example".into(),
            addr: v4([198, 18, 7, 50]),
            ttl: 60,
        }],
    };
    w.observe_with_dns(&r, &msg);
    let events: Vec<Event> = w.drain_events().collect();
    assert_eq!(events.len(), 1);
    let out = NoticeTemplate::parse("{domains} / {labels}", "n")
        .unwrap()
        .render(&events[0].incident);
    assert_eq!(out, "*.bad.example / dga-family");
}

#[test]
fn metrics_endpoint_is_scraped_over_loopback() {
    let metrics = Metrics::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    iotrust_watch::metrics::serve(listener, metrics.clone()).unwrap();
    let events = scanner_events();
    for e in &events {
        if e.event == iotrust_watch::EventKind::Opened {
            metrics.incident_opened(e.incident.detector);
        }
    }
    metrics.records.store(480, Relaxed);
    let mut conn = TcpStream::connect(addr).unwrap();
    write!(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(
        resp.contains("Content-Type: text/plain; version=0.0.4"),
        "{resp}"
    );
    assert!(
        resp.contains("\niotrust_watch_records_total 480\n"),
        "{resp}"
    );
    assert!(
        resp.contains("\niotrust_watch_incidents_total{detector=\"mirai-scan\"} 1\n"),
        "{resp}"
    );
    assert!(resp.contains("\niotrust_watch_state_bytes "), "{resp}");
}
