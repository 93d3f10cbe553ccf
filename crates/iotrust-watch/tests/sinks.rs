//! The sinks against real servers on loopback: a webhook receiver that the test runs (one
//! that answers 503 first, to exercise the retry; one that never answers, to show that a
//! stuck webhook drops events instead of stalling), and a scrape of the metrics endpoint.

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

/// Reads one HTTP request (head and `Content-Length` body).
fn read_request(conn: &mut TcpStream) -> (String, String) {
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some(i) = text.find("\r\n\r\n") {
            let len: usize = text[..i]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if data.len() >= i + 4 + len {
                return (text[..i].to_string(), text[i + 4..i + 4 + len].to_string());
            }
        }
    }
    (String::from_utf8_lossy(&data).to_string(), String::new())
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
            let (head, body) = read_request(&mut conn);
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
    for _ in 0..100 {
        for e in &events {
            accepted += usize::from(hook.send(e));
        }
    }
    // 100 × events offered, at most the queue plus the one in flight taken: a send that
    // waited for the queue would have taken them all
    assert!(accepted <= 3, "{accepted}");
    assert_eq!(
        metrics.webhook_dropped.load(Relaxed),
        (100 * events.len() - accepted) as u64
    );
    hook.finish();
    assert_eq!(metrics.webhook_failed.load(Relaxed), accepted as u64);
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
