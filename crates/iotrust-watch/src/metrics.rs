//! Prometheus metrics: counters the collector and the engine update, served as text
//! exposition format (version 0.0.4) over HTTP by [`serve`].
//!
//! | metric | type | what |
//! |---|---|---|
//! | `iotrust_watch_records_total` | counter | flow records run through the detectors |
//! | `iotrust_watch_records_per_second` | gauge | records in the last full second (wall clock) |
//! | `iotrust_watch_datagrams_total` | counter | UDP datagrams received (collector) |
//! | `iotrust_watch_decode_errors_total` | counter | problems decoding input (bad datagrams, packets, lines) |
//! | `iotrust_watch_socket_drops_total` | counter | datagrams the kernel dropped on the collector's socket (receive buffer full; `/proc/net/udp`) |
//! | `iotrust_watch_incidents_total{detector}` | counter | incidents opened, per detector |
//! | `iotrust_watch_incidents_closed_total{detector}` | counter | incidents closed (no finding for their time to live), per detector; open = opened − closed (less those evicted) |
//! | `iotrust_watch_events_total` | counter | incident events written (opened, escalated, closed) |
//! | `iotrust_watch_tracked_hosts` | gauge | hosts with state |
//! | `iotrust_watch_state_bytes` | gauge | bytes of host state held |
//! | `iotrust_watch_bytes_per_host` | gauge | bytes of state per tracked host |
//! | `iotrust_watch_hosts_evicted_total` | counter | hosts forgotten to stay within `max_hosts` |
//! | `iotrust_watch_webhook_sent_total`, `_failed_total`, `_dropped_total` | counter | webhook deliveries: done, given up after retries, dropped because the queue was full |

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::detectors::Detector;
use crate::watch::WatchStats;

/// Shared counters. Cheap to update from any thread (relaxed atomics).
#[derive(Debug, Default)]
pub struct Metrics {
    pub records: AtomicU64,
    pub records_per_second: AtomicU64,
    pub datagrams: AtomicU64,
    pub decode_errors: AtomicU64,
    pub events: AtomicU64,
    pub tracked_hosts: AtomicU64,
    pub state_bytes: AtomicU64,
    pub bytes_per_host: AtomicU64,
    pub hosts_evicted: AtomicU64,
    pub webhook_sent: AtomicU64,
    pub webhook_failed: AtomicU64,
    pub webhook_dropped: AtomicU64,
    /// The collector's UDP port (0: none), for the kernel's drop counter.
    pub udp_port: AtomicU64,
    /// Bus (inlet, worker, sink): messages and bytes published.
    pub bus_messages_out: AtomicU64,
    pub bus_bytes_out: AtomicU64,
    /// Bus: messages consumed.
    pub bus_messages_in: AtomicU64,
    /// Bus: events seen again (republished after a takeover, or redelivered) and dropped
    /// as duplicates by id.
    pub bus_duplicates: AtomicU64,
    /// Bus inlet: records messages published again after the bus did not store them.
    pub bus_retries: AtomicU64,
    /// Bus worker: partitions whose lease it holds now.
    pub bus_leases_held: AtomicU64,
    /// Bus worker: per partition held, (messages not yet consumed, checkpoint time in
    /// microseconds since the epoch).
    pub bus_partitions: std::sync::Mutex<std::collections::BTreeMap<u32, (u64, i64)>>,
    incidents: [AtomicU64; Detector::ALL.len()],
    closed: [AtomicU64; Detector::ALL.len()],
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    /// Counts an opened incident of detector `d`.
    pub fn incident_opened(&self, d: Detector) {
        count(&self.incidents, d);
    }

    /// Counts a closed incident of detector `d`.
    pub fn incident_closed(&self, d: Detector) {
        count(&self.closed, d);
    }

    /// Takes the engine's counters (hosts, state, evictions).
    pub fn set_stats(&self, s: &WatchStats) {
        self.tracked_hosts.store(s.hosts as u64, Relaxed);
        self.state_bytes.store(s.state_bytes as u64, Relaxed);
        self.bytes_per_host.store(s.bytes_per_host as u64, Relaxed);
        self.hosts_evicted.store(s.hosts_evicted, Relaxed);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let mut one = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        one(
            "iotrust_watch_records_total",
            "counter",
            "Flow records run through the detectors.",
            self.records.load(Relaxed),
        );
        one(
            "iotrust_watch_records_per_second",
            "gauge",
            "Records in the last full second.",
            self.records_per_second.load(Relaxed),
        );
        one(
            "iotrust_watch_datagrams_total",
            "counter",
            "UDP datagrams received by the collector.",
            self.datagrams.load(Relaxed),
        );
        one(
            "iotrust_watch_decode_errors_total",
            "counter",
            "Input problems counted and skipped.",
            self.decode_errors.load(Relaxed),
        );
        let port = u16::try_from(self.udp_port.load(Relaxed)).unwrap_or(0);
        one(
            "iotrust_watch_socket_drops_total",
            "counter",
            "Datagrams the kernel dropped on the collector socket.",
            if port == 0 {
                0
            } else {
                udp_drops(port).unwrap_or(0)
            },
        );
        one(
            "iotrust_watch_events_total",
            "counter",
            "Incident events written.",
            self.events.load(Relaxed),
        );
        one(
            "iotrust_watch_tracked_hosts",
            "gauge",
            "Hosts with state.",
            self.tracked_hosts.load(Relaxed),
        );
        one(
            "iotrust_watch_state_bytes",
            "gauge",
            "Bytes of host state held.",
            self.state_bytes.load(Relaxed),
        );
        one(
            "iotrust_watch_bytes_per_host",
            "gauge",
            "Bytes of state per tracked host.",
            self.bytes_per_host.load(Relaxed),
        );
        one(
            "iotrust_watch_hosts_evicted_total",
            "counter",
            "Hosts forgotten to stay within max_hosts.",
            self.hosts_evicted.load(Relaxed),
        );
        one(
            "iotrust_watch_webhook_sent_total",
            "counter",
            "Incident events delivered to the webhook.",
            self.webhook_sent.load(Relaxed),
        );
        one(
            "iotrust_watch_webhook_failed_total",
            "counter",
            "Webhook deliveries given up after retries.",
            self.webhook_failed.load(Relaxed),
        );
        one(
            "iotrust_watch_webhook_dropped_total",
            "counter",
            "Events not queued for the webhook because its queue was full.",
            self.webhook_dropped.load(Relaxed),
        );
        one(
            "iotrust_watch_bus_messages_out_total",
            "counter",
            "Messages published on the bus.",
            self.bus_messages_out.load(Relaxed),
        );
        one(
            "iotrust_watch_bus_bytes_out_total",
            "counter",
            "Bytes of messages published on the bus.",
            self.bus_bytes_out.load(Relaxed),
        );
        one(
            "iotrust_watch_bus_messages_in_total",
            "counter",
            "Messages consumed from the bus.",
            self.bus_messages_in.load(Relaxed),
        );
        one(
            "iotrust_watch_bus_duplicates_total",
            "counter",
            "Events seen again on the bus (after a takeover or a redelivery) and dropped by id.",
            self.bus_duplicates.load(Relaxed),
        );
        one(
            "iotrust_watch_bus_retries_total",
            "counter",
            "Records messages published again after the bus did not store them.",
            self.bus_retries.load(Relaxed),
        );
        one(
            "iotrust_watch_bus_leases_held",
            "gauge",
            "Partitions whose lease this worker holds.",
            self.bus_leases_held.load(Relaxed),
        );
        if let Ok(parts) = self.bus_partitions.lock() {
            let now = jiff::Timestamp::now().as_microsecond();
            let _ = writeln!(
                o,
                "# HELP iotrust_watch_bus_lag_messages Records messages of a held partition not yet consumed.\n# TYPE iotrust_watch_bus_lag_messages gauge"
            );
            for (p, (lag, _)) in parts.iter() {
                let _ = writeln!(
                    o,
                    "iotrust_watch_bus_lag_messages{{partition=\"{p}\"}} {lag}"
                );
            }
            let _ = writeln!(
                o,
                "# HELP iotrust_watch_bus_checkpoint_age_seconds Seconds since a held partition's last checkpoint.\n# TYPE iotrust_watch_bus_checkpoint_age_seconds gauge"
            );
            for (p, (_, at)) in parts.iter() {
                let age = (now - at).max(0) as f64 / 1e6;
                let _ = writeln!(
                    o,
                    "iotrust_watch_bus_checkpoint_age_seconds{{partition=\"{p}\"}} {age:.3}"
                );
            }
        }
        for (name, help, counts) in [
            (
                "iotrust_watch_incidents_total",
                "Incidents opened, per detector.",
                &self.incidents,
            ),
            (
                "iotrust_watch_incidents_closed_total",
                "Incidents closed (no finding for their time to live), per detector.",
                &self.closed,
            ),
        ] {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
            for (d, c) in Detector::ALL.iter().zip(counts) {
                let _ = writeln!(o, "{name}{{detector=\"{}\"}} {}", d.name(), c.load(Relaxed));
            }
        }
        o
    }
}

/// Adds one to detector `d`'s counter.
fn count(counters: &[AtomicU64; Detector::ALL.len()], d: Detector) {
    if let Some(c) = Detector::ALL
        .iter()
        .position(|x| *x == d)
        .and_then(|i| counters.get(i))
    {
        c.fetch_add(1, Relaxed);
    }
}

/// Datagrams the kernel dropped on UDP sockets bound to local `port` (IPv4 and IPv6), from
/// `/proc/net/udp{,6}`; `None` where that file is not readable (not Linux).
pub fn udp_drops(port: u16) -> Option<u64> {
    let want = format!(":{port:04X}");
    let mut total = None;
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let mut cols = line.split_whitespace();
            let local = cols.nth(1).unwrap_or("");
            if !local.ends_with(&want) {
                continue;
            }
            if let Some(d) = line
                .split_whitespace()
                .last()
                .and_then(|d| d.parse::<u64>().ok())
            {
                total = Some(total.unwrap_or(0) + d);
            }
        }
    }
    total
}

/// Serves `GET /metrics` (any path, in fact) on `listener` from a thread, one connection at
/// a time, until the process ends. Requests are read up to 8 KiB with a 2 s timeout.
pub fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("watch-metrics".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let _ = answer(conn, &metrics);
            }
        })
}

fn answer(mut conn: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    conn.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 8192 {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        req.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let (status, body) = if req.starts_with(b"GET ") {
        ("200 OK", metrics.render())
    } else {
        ("405 Method Not Allowed", String::from("GET only\n"))
    };
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_every_detector_and_counts() {
        let m = Metrics::new();
        m.records.store(42, Relaxed);
        m.incident_opened(Detector::MiraiScan);
        m.incident_opened(Detector::MiraiScan);
        m.incident_closed(Detector::MiraiScan);
        let text = m.render();
        assert!(
            text.contains("\niotrust_watch_records_total 42\n"),
            "{text}"
        );
        assert!(text.contains("iotrust_watch_incidents_total{detector=\"mirai-scan\"} 2\n"));
        assert!(text.contains("iotrust_watch_incidents_closed_total{detector=\"mirai-scan\"} 1\n"));
        assert!(text.contains("# TYPE iotrust_watch_incidents_closed_total counter\n"));
        for d in Detector::ALL {
            assert!(text.contains(&format!("{{detector=\"{}\"}}", d.name())));
        }
        // every sample line is `name[{labels}] value`
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = line.rsplit_once(' ').unwrap();
            assert!(v.parse::<u64>().is_ok(), "{line}");
        }
    }
}
