//! Field reports: what a provider's watch tells a registry about products seen compromised.
//!
//! Incidents name devices; a registry knows products. A device is matched to its product by
//! the MUD URL it announces (DHCP option 161, LLDP, or the `--mud` map) or, failing that, by the
//! provider's CPE inventory (`address,manufacturer,model`). For each product the reporter keeps
//! one report — how many devices, which detectors, first and last seen, open while any of its
//! devices has an open incident — and hands every change to a sender thread. No address
//! leaves: the report counts devices, it does not list them.
//!
//! Detection never waits on the registry: [`FieldReporter::observe`] updates a map and puts the
//! product's latest report in the queue, where it replaces the one not yet sent (a report id
//! is stable per product, and the registry treats the same id as an update). The sender signs
//! and posts; a transport error, 429 or 5xx is retried with a doubling pause, a refusal is
//! final and counted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use iotrust_label::Key;
use iotrust_registry_client::{FieldReport, ProductRef, RegistryClient, ReportState};
use sha2::{Digest, Sha256};

use crate::detectors::Role;
use crate::error::Error;
use crate::incident::{Event, EventKind};

/// The provider's CPE inventory: which product each subscriber device is.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    by_address: HashMap<IpAddr, (String, String)>,
}

impl Inventory {
    /// `address,manufacturer,model` lines (`#` comments, blank lines, and a header line
    /// starting with `address` are skipped); an error names the line and the field.
    pub fn parse(text: &str, origin: &str) -> Result<Inventory, Error> {
        let mut by_address = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |field: &str, why: &str| Error::Parse {
                origin: origin.to_string(),
                line: i + 1,
                message: format!("{field}: {why}"),
            };
            let fields: Vec<&str> = line.splitn(3, ',').map(str::trim).collect();
            if i == 0 && fields[0].eq_ignore_ascii_case("address") {
                continue;
            }
            let [addr, manufacturer, model] = fields[..] else {
                return Err(bad("line", "expected `address,manufacturer,model`"));
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| bad("address", &format!("`{addr}` is not an IP address")))?;
            if manufacturer.is_empty() {
                return Err(bad("manufacturer", "empty"));
            }
            if model.is_empty() {
                return Err(bad("model", "empty"));
            }
            by_address.insert(addr, (manufacturer.to_string(), model.to_string()));
        }
        Ok(Inventory { by_address })
    }

    pub fn len(&self) -> usize {
        self.by_address.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_address.is_empty()
    }
}

/// Where and as whom to report.
pub struct FieldConfig {
    pub client: RegistryClient,
    /// The provider's signing key; its name is the provider's name in the registry.
    pub key: Key,
    pub inventory: Inventory,
    /// The longest pause between two attempts after failures.
    pub max_backoff: Duration,
    /// At the end of a run, how long the queue may still take to drain.
    pub drain: Duration,
}

/// What the reporter did, for the run's summary and the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldStats {
    /// Reports the registry accepted (each update counts).
    pub sent: u64,
    /// Attempts that failed and were retried.
    pub retried: u64,
    /// Reports the registry refused (final).
    pub refused: u64,
    /// Reports still queued when the run ended.
    pub undelivered: u64,
    /// Incidents on devices matched to no product (no MUD URL, not in the inventory).
    pub unmatched: u64,
    /// The last error seen, if any.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Queue {
    pending: BTreeMap<String, FieldReport>,
    stop: bool,
    deadline: Option<Instant>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    sent: AtomicU64,
    retried: AtomicU64,
    refused: AtomicU64,
    last_error: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// One product's devices as this provider sees them.
struct Product {
    product: ProductRef,
    report_id: String,
    /// Each device seen compromised, with its detectors that have an open incident.
    devices: HashMap<IpAddr, BTreeSet<&'static str>>,
    detectors: BTreeSet<&'static str>,
    first_seen: jiff::Timestamp,
    last_seen: jiff::Timestamp,
}

impl Product {
    fn report(&self, provider: &str) -> FieldReport {
        FieldReport {
            report_id: self.report_id.clone(),
            provider: provider.to_string(),
            product: self.product.clone(),
            detectors: self.detectors.iter().map(|d| d.to_string()).collect(),
            devices: self.devices.len() as u64,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            state: if self.devices.values().any(|open| !open.is_empty()) {
                ReportState::Open
            } else {
                ReportState::Closed
            },
        }
    }
}

/// Turns incident events into field reports and sends them.
pub struct FieldReporter {
    provider: String,
    inventory: Inventory,
    mud_urls: HashMap<IpAddr, String>,
    products: HashMap<String, Product>,
    unmatched: u64,
    shared: Arc<Shared>,
    drain: Duration,
    sender: Option<JoinHandle<()>>,
}

impl FieldReporter {
    /// Start the sender thread.
    pub fn start(cfg: FieldConfig) -> Result<FieldReporter, Error> {
        let provider = cfg.key.public.name.clone();
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            sent: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            last_error: Mutex::new(None),
        });
        let s = Arc::clone(&shared);
        let (client, key, max_backoff) = (cfg.client, cfg.key, cfg.max_backoff);
        let sender = std::thread::Builder::new()
            .name("field-reports".into())
            .spawn(move || send_loop(&s, &client, &key, max_backoff))
            .map_err(Error::Io)?;
        Ok(FieldReporter {
            provider,
            inventory: cfg.inventory,
            mud_urls: HashMap::new(),
            products: HashMap::new(),
            unmatched: 0,
            shared,
            drain: cfg.drain,
            sender: Some(sender),
        })
    }

    /// A device's MUD URL (from the provider's map, or announced): it names its product.
    /// The first one given for a device stays (give the map's first: it wins over what a
    /// device says about itself).
    pub fn announce_mud(&mut self, device: IpAddr, url: &str) {
        self.mud_urls
            .entry(device)
            .or_insert_with(|| url.to_string());
    }

    fn product_of(&self, device: IpAddr) -> Option<(String, ProductRef)> {
        if let Some(url) = self.mud_urls.get(&device) {
            return Some((format!("mud\n{url}"), ProductRef::mud(url)));
        }
        let (m, model) = self.inventory.by_address.get(&device)?;
        Some((format!("model\n{m}\n{model}"), ProductRef::model(m, model)))
    }

    /// One incident event. Only infected devices count (a victim of an attack is not a
    /// compromised product).
    pub fn observe(&mut self, e: &Event) {
        let inc = &e.incident;
        if inc.role != Role::InfectedDevice {
            return;
        }
        let device = inc.device.ip();
        let Some((key, product)) = self.product_of(device) else {
            if e.event == EventKind::Opened {
                self.unmatched += 1;
            }
            return;
        };
        let provider = self.provider.clone();
        let p = self.products.entry(key.clone()).or_insert_with(|| Product {
            product,
            report_id: report_id(&provider, &key),
            devices: HashMap::new(),
            detectors: BTreeSet::new(),
            first_seen: inc.first_seen,
            last_seen: inc.last_seen,
        });
        let detector = inc.detector.name();
        let open = p.devices.entry(device).or_default();
        match e.event {
            EventKind::Opened | EventKind::Escalated => {
                open.insert(detector);
            }
            EventKind::Closed => {
                open.remove(detector);
            }
        }
        p.detectors.insert(detector);
        p.first_seen = p.first_seen.min(inc.first_seen);
        p.last_seen = p.last_seen.max(inc.last_seen);
        let report = p.report(&provider);
        let mut q = lock(&self.shared.queue);
        q.pending.insert(report.report_id.clone(), report);
        drop(q);
        self.shared.wake.notify_one();
    }

    /// The counters so far.
    pub fn stats(&self) -> FieldStats {
        FieldStats {
            sent: self.shared.sent.load(Relaxed),
            retried: self.shared.retried.load(Relaxed),
            refused: self.shared.refused.load(Relaxed),
            undelivered: lock(&self.shared.queue).pending.len() as u64,
            unmatched: self.unmatched,
            last_error: lock(&self.shared.last_error).clone(),
        }
    }

    /// Let the queue drain (at most the configured time), stop the sender, and say what
    /// happened.
    pub fn finish(mut self) -> FieldStats {
        self.stop();
        self.stats()
    }

    fn stop(&mut self) {
        {
            let mut q = lock(&self.shared.queue);
            q.stop = true;
            q.deadline = Some(Instant::now() + self.drain);
        }
        self.shared.wake.notify_all();
        if let Some(h) = self.sender.take() {
            let _ = h.join();
        }
    }
}

impl Drop for FieldReporter {
    fn drop(&mut self) {
        if self.sender.is_some() {
            self.stop();
        }
    }
}

/// A report id that depends only on the provider and the product, so a restarted watcher
/// updates its earlier report instead of adding another.
fn report_id(provider: &str, product_key: &str) -> String {
    let mut h = Sha256::new();
    h.update(provider.as_bytes());
    h.update([0]);
    h.update(product_key.as_bytes());
    let d = h.finalize();
    let hex: String = d[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("fr-{hex}")
}

fn send_loop(s: &Shared, client: &RegistryClient, key: &Key, max_backoff: Duration) {
    let first_pause = Duration::from_millis(250);
    let mut pause = first_pause;
    loop {
        let next = {
            let mut q = lock(&s.queue);
            loop {
                let past = q.deadline.is_some_and(|d| Instant::now() >= d);
                if past || (q.stop && q.pending.is_empty()) {
                    return;
                }
                if let Some(id) = q.pending.keys().next().cloned() {
                    break q.pending.remove(&id);
                }
                q = match s.wake.wait(q) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
            }
        };
        let Some(report) = next else { continue };
        let outcome = report
            .sign(key)
            .map_err(|e| (false, format!("cannot sign the field report: {e}")))
            .and_then(|env| {
                client
                    .field_report(&env)
                    .map_err(|e| (e.retryable(), e.to_string()))
            });
        match outcome {
            Ok(_) => {
                s.sent.fetch_add(1, Relaxed);
                pause = first_pause;
            }
            Err((retry, why)) => {
                *lock(&s.last_error) = Some(why);
                if !retry {
                    s.refused.fetch_add(1, Relaxed);
                    continue;
                }
                s.retried.fetch_add(1, Relaxed);
                let mut q = lock(&s.queue);
                // A newer report for the product may have arrived meanwhile: it wins.
                q.pending.entry(report.report_id.clone()).or_insert(report);
                // Wait before the next attempt, but wake for the end of the run.
                let until = Instant::now() + pause;
                while Instant::now() < until {
                    if q.deadline.is_some_and(|d| Instant::now() >= d) {
                        return;
                    }
                    let left = until.saturating_duration_since(Instant::now());
                    q = match s.wake.wait_timeout(q, left) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                }
                pause = (pause * 2).min(max_backoff);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_lines_and_their_errors() {
        let inv = Inventory::parse(
            "address,manufacturer,model\n# cpe\n10.0.0.5, Veridor Security Ltd ,VD-SL4\n\n2001:db8::7,Acme,Plug, v2\n",
            "inv.csv",
        )
        .unwrap();
        assert_eq!(inv.len(), 2);
        assert_eq!(
            inv.by_address.get(&"10.0.0.5".parse().unwrap()),
            Some(&("Veridor Security Ltd".to_string(), "VD-SL4".to_string()))
        );
        assert_eq!(
            inv.by_address.get(&"2001:db8::7".parse().unwrap()),
            Some(&("Acme".to_string(), "Plug, v2".to_string()))
        );
        for (text, line, field) in [
            ("10.0.0.5,Acme\n", 1, "line"),
            ("10.0.0.5,Acme,X\nnot-an-ip,Acme,X\n", 2, "address"),
            ("10.0.0.5,,X\n", 1, "manufacturer"),
            ("10.0.0.5,Acme,\n", 1, "model"),
        ] {
            match Inventory::parse(text, "inv.csv") {
                Err(Error::Parse {
                    origin,
                    line: l,
                    message,
                }) => {
                    assert_eq!((origin.as_str(), l), ("inv.csv", line), "{text}");
                    assert!(message.starts_with(field), "{message}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn report_ids_are_stable_per_provider_and_product() {
        let a = report_id("isp-a", "mud\nhttps://x.example/m");
        assert_eq!(a, report_id("isp-a", "mud\nhttps://x.example/m"));
        assert_ne!(a, report_id("isp-b", "mud\nhttps://x.example/m"));
        assert_ne!(a, report_id("isp-a", "mud\nhttps://y.example/m"));
        assert!(a.starts_with("fr-") && a.len() == 27, "{a}");
    }
}
