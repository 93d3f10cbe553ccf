//! Sinks besides JSON lines: a webhook (HTTP POST of each event, from a thread with a
//! bounded queue, retries and backoff) and subscriber notices rendered from a template.
//!
//! **Webhook.** [`Webhook::send`] never blocks: the event is serialized and put on a queue
//! of `queue` entries; when the queue is full the event is dropped and counted
//! (`iotrust_watch_webhook_dropped_total`), so a slow or dead webhook never stalls
//! detection. A thread POSTs each event (`Content-Type: application/json`, the same object
//! as a JSON line, and the [`WebhookConfig::headers`]) to the URL through `ureq`; a
//! connection error, a timeout, or a status 408, 429 or 5xx is retried after `backoff`,
//! doubling each time, up to `attempts` tries; other statuses are final, and so is a TLS
//! failure (an untrusted or mismatched certificate does not heal by waiting). `http://` and
//! `https://` URLs; TLS by rustls, the server's certificate checked against Mozilla's root
//! certificates or, with [`WebhookConfig::ca_file`], against the CAs of that PEM file only.
//! No proxy from the environment and no redirects are followed (a 3xx is a final status):
//! events go where the URL says. One connection per event (`Connection: close`).
//!
//! **Notices.** A [`NoticeTemplate`] is plain text with placeholders in braces, `{{` and
//! `}}` for literal braces; unknown placeholders are errors at load time (file and line).
//! The placeholders are [`PLACEHOLDERS`].

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ureq::http::{HeaderName, HeaderValue, Uri};
use ureq::tls::{PemItem, RootCerts, TlsConfig};

use crate::error::Error;
use crate::incident::{Event, Incident};
use crate::metrics::Metrics;

/// Where and how to deliver events over HTTP or HTTPS.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// `http://` or `https://host[:port][/path]`.
    pub url: String,
    /// Events waiting at most (further ones are dropped and counted).
    pub queue: usize,
    /// Tries per event (at least 1).
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// Connect, read and write timeout of one try.
    pub timeout: Duration,
    /// A PEM file of CA certificates (`--webhook-ca`): an `https://` server's certificate
    /// must chain to one of them instead of to Mozilla's roots (a provider's internal CA).
    pub ca_file: Option<PathBuf>,
    /// Sent with every POST (`--webhook-header`), e.g. `("Authorization", "Bearer …")`;
    /// [`parse_header`] reads one from `Name: value`.
    pub headers: Vec<(String, String)>,
}

impl WebhookConfig {
    pub fn new(url: &str) -> WebhookConfig {
        WebhookConfig {
            url: url.to_string(),
            queue: 10_000,
            attempts: 5,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
            ca_file: None,
            headers: Vec::new(),
        }
    }
}

fn setting(flag: &str, message: String) -> Error {
    Error::Setting {
        setting: flag.to_string(),
        message,
    }
}

/// Checks an `http://` or `https://` URL (a host without user info, a port that is one, a
/// path without spaces); true for `https://`.
fn check_url(url: &str) -> Result<bool, Error> {
    let bad = |m: &str| setting("--webhook", format!("`{url}`: {m}"));
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad("only http:// and https:// URLs are supported"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad(
            "no host (or user info, which is not supported: give credentials with --webhook-header)",
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
        (h, p.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if let Some(p) = port {
        p.parse::<u16>().map_err(|_| bad("bad port"))?;
    }
    if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(bad("path with spaces or control characters"));
    }
    // what the client will be handed must parse there too
    Uri::try_from(url).map_err(|e| bad(&e.to_string()))?;
    Ok(tls)
}

/// Headers the sink writes itself, which `--webhook-header` may not replace.
const OWN_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
];

/// Reads a `--webhook-header` argument, `Name: value` (e.g. `Authorization: Bearer …`).
pub fn parse_header(text: &str) -> Result<(String, String), Error> {
    // the value may be a secret: errors name the header, never the value
    let (name, value) = text.split_once(':').ok_or_else(|| {
        setting(
            "--webhook-header",
            "expected `Name: value` (no `:` found)".into(),
        )
    })?;
    let (name, value) = (name.trim(), value.trim());
    check_header(name, value)?;
    Ok((name.to_string(), value.to_string()))
}

fn check_header(name: &str, value: &str) -> Result<(), Error> {
    let bad = |m: &str| setting("--webhook-header", format!("`{name}`: {m}"));
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| bad("not a valid header name (letters, digits and !#$%&'*+-.^_`|~)"))?;
    HeaderValue::from_str(value).map_err(|_| bad("the value has control characters"))?;
    if OWN_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        return Err(bad("set by the webhook itself"));
    }
    Ok(())
}

/// The CA certificates of a PEM file given with `flag` (`--webhook-ca`, `--mud-ca`).
pub(crate) fn load_ca(flag: &str, path: &std::path::Path) -> Result<RootCerts, Error> {
    let shown = path.display();
    let pem =
        std::fs::read(path).map_err(|e| setting(flag, format!("cannot read {shown}: {e}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(setting(flag, format!("{shown}: not a PEM file: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(setting(
            flag,
            format!("{shown}: no PEM certificate (`-----BEGIN CERTIFICATE-----`) in it"),
        ));
    }
    Ok(RootCerts::new_with_certs(&certs))
}

/// The HTTP client of the delivery thread, set up as the module documentation says.
fn agent(cfg: &WebhookConfig, roots: Option<RootCerts>) -> ureq::Agent {
    let mut tls = TlsConfig::builder();
    if let Some(r) = roots {
        tls = tls.root_certs(r);
    }
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .user_agent("iotrust-watch")
        .timeout_connect(Some(cfg.timeout))
        .timeout_per_read(Some(cfg.timeout))
        .timeout_per_write(Some(cfg.timeout))
        .tls_config(tls.build())
        .build()
        .into()
}

/// The webhook sink: a bounded queue and a delivery thread.
pub struct Webhook {
    tx: Option<SyncSender<String>>,
    handle: Option<JoinHandle<()>>,
    metrics: Arc<Metrics>,
    last_failure: Arc<Mutex<Option<String>>>,
}

impl Webhook {
    /// Checks the URL, the CA file and the headers, and starts the delivery thread.
    pub fn start(cfg: WebhookConfig, metrics: Arc<Metrics>) -> Result<Webhook, Error> {
        let tls = check_url(&cfg.url)?;
        let roots = match &cfg.ca_file {
            Some(_) if !tls => {
                return Err(setting(
                    "--webhook-ca",
                    format!("applies to https:// URLs only, not `{}`", cfg.url),
                ))
            }
            Some(p) => Some(load_ca("--webhook-ca", p)?),
            None => None,
        };
        for (name, value) in &cfg.headers {
            check_header(name, value)?;
        }
        let agent = agent(&cfg, roots);
        let (tx, rx) = sync_channel(cfg.queue.max(1));
        let m = metrics.clone();
        let last_failure = Arc::new(Mutex::new(None));
        let failure = last_failure.clone();
        let handle = std::thread::Builder::new()
            .name("watch-webhook".into())
            .spawn(move || deliver(rx, &agent, &cfg, &m, &failure))?;
        Ok(Webhook {
            tx: Some(tx),
            handle: Some(handle),
            metrics,
            last_failure,
        })
    }

    /// Queues one event; false (and counted as dropped) if the queue is full.
    pub fn send(&self, e: &Event) -> bool {
        let Ok(body) = serde_json::to_string(e) else {
            return false;
        };
        self.send_json(body)
    }

    /// Queues one event already in JSON (as the bus carries it); false (and counted as
    /// dropped) if the queue is full.
    pub fn send_json(&self, body: String) -> bool {
        let Some(tx) = &self.tx else { return false };
        match tx.try_send(body) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.metrics.webhook_dropped.fetch_add(1, Relaxed);
                false
            }
        }
    }

    /// Why the last event that failed did (its last try's error or status), if one did.
    pub fn last_failure(&self) -> Option<String> {
        self.last_failure.lock().ok().and_then(|f| f.clone())
    }

    /// Delivers what is queued (with its retries), then stops the thread; returns
    /// [`Webhook::last_failure`].
    pub fn finish(mut self) -> Option<String> {
        self.stop();
        self.last_failure()
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

/// What one try came to.
enum Try {
    Delivered,
    /// Worth trying again after the backoff.
    Retry(String),
    /// Not: another status, a TLS failure.
    Final(String),
}

fn deliver(
    rx: Receiver<String>,
    agent: &ureq::Agent,
    cfg: &WebhookConfig,
    m: &Metrics,
    last_failure: &Mutex<Option<String>>,
) {
    while let Ok(body) = rx.recv() {
        let mut wait = cfg.backoff;
        let mut failure = None;
        for attempt in 1..=cfg.attempts.max(1) {
            match post(agent, cfg, &body) {
                Try::Delivered => {
                    failure = None;
                    break;
                }
                Try::Final(why) => {
                    failure = Some(why);
                    break;
                }
                Try::Retry(why) => failure = Some(why),
            }
            if attempt < cfg.attempts {
                std::thread::sleep(wait);
                wait = wait.saturating_mul(2);
            }
        }
        match failure {
            None => {
                m.webhook_sent.fetch_add(1, Relaxed);
            }
            Some(why) => {
                if let Ok(mut f) = last_failure.lock() {
                    *f = Some(why);
                }
                m.webhook_failed.fetch_add(1, Relaxed);
            }
        }
    }
}

/// A failure of TLS itself (the certificate, the handshake), not of the connection under
/// it: rustls's errors reach us inside an I/O error.
fn is_tls_failure(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => true,
        ureq::Error::Io(io) => io
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()),
        _ => false,
    }
}

/// One POST of one event.
fn post(agent: &ureq::Agent, cfg: &WebhookConfig, body: &str) -> Try {
    let mut req = agent
        .post(&cfg.url)
        .header_raw("Content-Type", b"application/json")
        .header_raw("Connection", b"close");
    for (name, value) in &cfg.headers {
        req = req.header_raw(name, value.as_bytes());
    }
    match req.send(body) {
        Ok(res) => {
            let status = res.status().as_u16();
            if (200..300).contains(&status) {
                Try::Delivered
            } else if status == 408 || status == 429 || status >= 500 {
                Try::Retry(format!("status {status}"))
            } else {
                Try::Final(format!("status {status}"))
            }
        }
        Err(e) if is_tls_failure(&e) => Try::Final(format!("TLS: {e}")),
        Err(e) => Try::Retry(e.to_string()),
    }
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
        assert!(!check_url("http://127.0.0.1:8080/hook?x=1").unwrap());
        assert!(!check_url("http://[::1]/").unwrap());
        assert!(!check_url("http://[::1]:9/a").unwrap());
        assert!(check_url("https://example.com/").unwrap());
        assert!(check_url("https://hec.example:8088/services/collector/raw").unwrap());
        let e = check_url("ftp://example.com/").unwrap_err().to_string();
        assert!(
            e.starts_with("--webhook: `ftp://example.com/`: only http:// and https://"),
            "{e}"
        );
        for bad in [
            "http://",
            "https://",
            "http://:80/",
            "http://h:99999/",
            "http://h:x/",
            "http://u@h/",
            "https://user:pw@h/",
            "http://h/a b",
            "http://[::1/",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("Authorization: Bearer abc:def").unwrap(),
            ("Authorization".into(), "Bearer abc:def".into())
        );
        assert_eq!(
            parse_header("X-Splunk-Request-Channel:42").unwrap(),
            ("X-Splunk-Request-Channel".into(), "42".into())
        );
        for bad in [
            "no colon",
            ": value",
            "Bad Name: v",
            "X-Ok: a\nb",
            "Content-Length: 3",
            "host: x",
        ] {
            let e = parse_header(bad).unwrap_err().to_string();
            assert!(e.starts_with("--webhook-header"), "{bad}: {e}");
        }
        // a secret value is not repeated in the error
        let e = parse_header("Bad Name: s3cret").unwrap_err().to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn ca_file_errors_name_the_flag() {
        let dir = std::env::temp_dir().join(format!("iotrust-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let e = load_ca("--webhook-ca", &missing).unwrap_err().to_string();
        assert!(e.starts_with("--webhook-ca: cannot read "), "{e}");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = load_ca("--webhook-ca", &empty).unwrap_err().to_string();
        assert!(
            e.starts_with("--webhook-ca: ") && e.contains("no PEM certificate"),
            "{e}"
        );
        let cfg = WebhookConfig {
            ca_file: Some(empty.clone()),
            ..WebhookConfig::new("http://127.0.0.1:9/")
        };
        let e = Webhook::start(cfg, Metrics::new())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("https:// URLs only"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
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
