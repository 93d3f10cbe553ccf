//! Sinks besides JSON lines: a webhook (HTTP POST of each event, from a thread with a
//! bounded queue, retries and backoff) and subscriber notices rendered from a template.
//!
//! **Webhook.** [`Webhook::send`] never blocks: the event is serialized and put on a queue
//! of `queue` entries; when the queue is full the event is dropped and counted
//! (`iotrust_watch_webhook_dropped_total`), so a slow or dead webhook never stalls
//! detection. A thread POSTs each event (`Content-Type: application/json`, the same object
//! as a JSON line) to the URL; a connection error, a timeout, or a status 408, 429 or 5xx is
//! retried after `backoff`, doubling each time, up to `attempts` tries; other statuses are
//! final. Only `http://` URLs (no TLS: put a local relay in front of an HTTPS endpoint).
//!
//! **Notices.** A [`NoticeTemplate`] is plain text with placeholders in braces, `{{` and
//! `}}` for literal braces; unknown placeholders are errors at load time (file and line).
//! The placeholders are [`PLACEHOLDERS`].

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::Error;
use crate::incident::{Event, Incident};
use crate::metrics::Metrics;

/// Where and how to deliver events over HTTP.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// `http://host[:port][/path]`.
    pub url: String,
    /// Events waiting at most (further ones are dropped and counted).
    pub queue: usize,
    /// Tries per event (at least 1).
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// Connect, read and write timeout of one try.
    pub timeout: Duration,
}

impl WebhookConfig {
    pub fn new(url: &str) -> WebhookConfig {
        WebhookConfig {
            url: url.to_string(),
            queue: 10_000,
            attempts: 5,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
        }
    }
}

/// A parsed `http://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Url {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Url, Error> {
    let bad = |m: &str| Error::Parse {
        origin: "--webhook".into(),
        line: 1,
        message: format!("`{url}`: {m}"),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("no host (or user info, which is not supported)"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
        (h.to_string(), p.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad("bad port"))?,
        None => 80,
    };
    if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(bad("path with spaces or control characters"));
    }
    Ok(Url {
        host,
        port,
        path: path.to_string(),
    })
}

/// The webhook sink: a bounded queue and a delivery thread.
pub struct Webhook {
    tx: Option<SyncSender<String>>,
    handle: Option<JoinHandle<()>>,
    metrics: Arc<Metrics>,
}

impl Webhook {
    /// Checks the URL and starts the delivery thread.
    pub fn start(cfg: WebhookConfig, metrics: Arc<Metrics>) -> Result<Webhook, Error> {
        let url = parse_url(&cfg.url)?;
        let (tx, rx) = sync_channel(cfg.queue.max(1));
        let m = metrics.clone();
        let handle = std::thread::Builder::new()
            .name("watch-webhook".into())
            .spawn(move || deliver(rx, &url, &cfg, &m))?;
        Ok(Webhook {
            tx: Some(tx),
            handle: Some(handle),
            metrics,
        })
    }

    /// Queues one event; false (and counted as dropped) if the queue is full.
    pub fn send(&self, e: &Event) -> bool {
        let Some(tx) = &self.tx else { return false };
        let Ok(body) = serde_json::to_string(e) else {
            return false;
        };
        match tx.try_send(body) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.metrics.webhook_dropped.fetch_add(1, Relaxed);
                false
            }
        }
    }

    /// Delivers what is queued (with its retries), then stops the thread.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop();
    }
}

fn deliver(rx: Receiver<String>, url: &Url, cfg: &WebhookConfig, m: &Metrics) {
    while let Ok(body) = rx.recv() {
        let mut wait = cfg.backoff;
        let mut done = false;
        for attempt in 1..=cfg.attempts.max(1) {
            match post(url, &body, cfg.timeout) {
                Ok(status) if (200..300).contains(&status) => {
                    done = true;
                    break;
                }
                Ok(status) if !(status == 408 || status == 429 || status >= 500) => break,
                _ => {}
            }
            if attempt < cfg.attempts {
                std::thread::sleep(wait);
                wait = wait.saturating_mul(2);
            }
        }
        if done {
            m.webhook_sent.fetch_add(1, Relaxed);
        } else {
            m.webhook_failed.fetch_add(1, Relaxed);
        }
    }
}

/// One HTTP/1.1 POST; the response's status code.
fn post(url: &Url, body: &str, timeout: Duration) -> std::io::Result<u16> {
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port).to_socket_addrs()?.collect();
    let mut last = std::io::Error::other("no address");
    let mut conn = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(c) => {
                conn = Some(c);
                break;
            }
            Err(e) => last = e,
        }
    }
    let mut conn = conn.ok_or(last)?;
    conn.set_read_timeout(Some(timeout))?;
    conn.set_write_timeout(Some(timeout))?;
    let host = if url.host.contains(':') {
        format!("[{}]:{}", url.host, url.port)
    } else {
        format!("{}:{}", url.host, url.port)
    };
    write!(
        conn,
        "POST {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: iotrust-watch\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        url.path,
        body.len()
    )?;
    conn.flush()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|_| line.starts_with("HTTP/1."))
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))
}

/// Placeholders of notice templates.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("id", "incident id"),
    ("device", "the device's address"),
    (
        "subscriber",
        "the subscriber id from the mapping file (empty when unmapped)",
    ),
    ("detector", "detector name, e.g. mirai-scan"),
    ("role", "infected-device or victim"),
    (
        "attack",
        "kind of attack (floods, inbound attacks), else empty",
    ),
    ("severity", "low, medium, high or critical"),
    ("confidence", "0 to 1, two decimals"),
    ("summary", "the one-line summary"),
    ("first_seen", "RFC 3339 time"),
    ("last_seen", "RFC 3339 time"),
    ("records", "matching records so far"),
    (
        "peers",
        "victims or C2 addresses, comma-separated (empty if none)",
    ),
    (
        "ports",
        "destination ports of the bad traffic, comma-separated",
    ),
    (
        "domains",
        "listed C2 domains looked up or contacted, comma-separated (C2 contact; else empty)",
    ),
    (
        "labels",
        "the indicator list's labels of what was contacted, comma-separated (C2 contact; else empty)",
    ),
];

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    Field(usize),
}

/// A parsed notice template.
#[derive(Clone, Debug, PartialEq)]
pub struct NoticeTemplate {
    parts: Vec<Part>,
}

impl NoticeTemplate {
    /// Parses a template; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<NoticeTemplate, Error> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut line = 1;
        let mut chars = text.chars().peekable();
        let err = |line: usize, message: String| Error::Parse {
            origin: origin.to_string(),
            line,
            message,
        };
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(ch) if ch.is_ascii_alphanumeric() || ch == '_' => name.push(ch),
                            _ => return Err(err(line, "unclosed or malformed `{`".into())),
                        }
                    }
                    let i = PLACEHOLDERS
                        .iter()
                        .position(|(p, _)| *p == name)
                        .ok_or_else(|| {
                            err(
                                line,
                                format!(
                                    "unknown placeholder `{{{name}}}` (known: {})",
                                    PLACEHOLDERS
                                        .iter()
                                        .map(|(p, _)| *p)
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                        })?;
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Field(i));
                }
                '}' => return Err(err(line, "lone `}` (write `}}`)".into())),
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    lit.push(c);
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(NoticeTemplate { parts })
    }

    /// The notice for one incident.
    pub fn render(&self, inc: &Incident) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(i) => {
                    let name = PLACEHOLDERS.get(*i).map(|(n, _)| *n).unwrap_or("");
                    out.push_str(&field(inc, name));
                }
            }
        }
        out
    }
}

fn json_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn field(inc: &Incident, name: &str) -> String {
    match name {
        "id" => inc.id.to_string(),
        "device" => inc.device.to_string(),
        "subscriber" => inc.subscriber.clone().unwrap_or_default(),
        "detector" => inc.detector.name().to_string(),
        "role" => json_str(&inc.role),
        "attack" => inc.attack.map(|a| json_str(&a)).unwrap_or_default(),
        "severity" => json_str(&inc.severity),
        "confidence" => format!("{:.2}", inc.confidence),
        "summary" => inc.summary.clone(),
        "first_seen" => inc.first_seen.to_string(),
        "last_seen" => inc.last_seen.to_string(),
        "records" => inc.records.to_string(),
        "peers" => {
            let mut v: Vec<String> = inc
                .targets
                .iter()
                .filter_map(|t| t.peer.map(|p| p.to_string()))
                .collect();
            v.dedup();
            v.join(", ")
        }
        "ports" => {
            let mut v: Vec<u16> = inc.targets.iter().filter_map(|t| t.dst_port).collect();
            v.extend(inc.mirai_ports());
            v.sort_unstable();
            v.dedup();
            v.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
        }
        "domains" => inc.domains.join(", "),
        "labels" => inc.labels.join(", "),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("http://127.0.0.1:8080/hook?x=1").unwrap();
        assert_eq!(
            u,
            Url {
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/hook?x=1".into()
            }
        );
        assert_eq!(parse_url("http://[::1]/").unwrap().port, 80);
        assert_eq!(parse_url("http://[::1]:9/a").unwrap().host, "::1");
        assert!(parse_url("https://example.com/").is_err());
        assert!(parse_url("http://").is_err());
        assert!(parse_url("http://h:99999/").is_err());
        assert!(parse_url("http://u@h/").is_err());
        assert!(parse_url("http://h/a b").is_err());
    }

    #[test]
    fn template_errors_name_the_line() {
        let e = NoticeTemplate::parse("Hello\n{device} {nope}\n", "n.txt").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("n.txt:2: unknown placeholder `{nope}`"),
            "{e}"
        );
        assert!(NoticeTemplate::parse("a } b", "n").is_err());
        assert!(NoticeTemplate::parse("a {device", "n").is_err());
        let t = NoticeTemplate::parse("{{literal}} {device}", "n").unwrap();
        assert_eq!(t.parts.len(), 2);
    }
}
