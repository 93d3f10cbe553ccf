//! # Command-and-control contact
//!
//! **What.** Traffic between a device and an address, prefix or port on an indicator list:
//! C2 servers, loaders and report servers of known botnets (Mirai's report server listens on
//! tcp/48101, its CNC on tcp/23 of `cnc.changeme.com`; variants move both).
//!
//! **Why.** A device that talks to a botnet's C2 is infected even when it is quiet: bots
//! wait for commands most of the time, and a keep-alive every minute is all a volume or scan
//! detector would see.
//!
//! **Matching.** Either direction: device → indicator (the usual case) and indicator →
//! device (an answer, or a C2 that connects in); the device is the other side. With
//! `local_networks` set, only a local device counts.
//!
//! **Indicator file** — one indicator per line, `#` starts a comment, blank lines ignored:
//!
//! ```text
//! # address, address:port, prefix, prefix:port, *:port; then an optional label
//! 203.0.113.7                 mirai-cnc
//! 203.0.113.8:48101           mirai-report
//! 198.51.100.0/24             bulletproof-hosting
//! [2001:db8::66]:6667         irc-c2
//! 2001:db8:bad::/48
//! *:48101                     mirai-report-port
//! ```
//!
//! A port applies to the indicator side's port (TCP or UDP). Confidence: address and port
//! 0.95, address or prefix 0.85, port only 0.5 (ports are weak: anything may use them).
//! Severity high, medium for a port-only match.
//!
//! **False positives.** Stale lists (C2 addresses are reassigned: Gafgyt C2s "usually remain
//! active for only a few days"), shared hosting, port-only indicators. Domains are not yet
//! matched (that needs DNS messages, which flow telemetry does not carry; packet sources do,
//! and `iotrust_flow::dns` reads them): a domain line in the file is refused with that reason.
//!
//! **Sources.** All.

use std::collections::HashMap;
use std::net::IpAddr;

use iotrust_flow::{Addr, FlowRecord};

use super::{Counters, Detector, Finding, Severity, Target};
use crate::error::Error;
use crate::net::{Prefix, PrefixMap};

/// One indicator's label and port (`None` = any port).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    label: String,
    ports: Vec<Option<u16>>,
}

/// A loaded indicator list.
#[derive(Clone, Debug, Default)]
pub struct Indicators {
    prefixes: PrefixMap<Entry>,
    ports: HashMap<u16, String>,
    count: usize,
}

impl Indicators {
    /// Parses the text format above; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Indicators, Error> {
        let mut ind = Indicators::default();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let spec = words.next().unwrap_or("");
            let label = words.collect::<Vec<_>>().join(" ");
            let err = |message: String| Error::Parse {
                origin: origin.to_string(),
                line: n + 1,
                message,
            };
            let (addr, port) = split_port(spec).map_err(err)?;
            match addr {
                None => {
                    let p = port.ok_or_else(|| err(format!("`{spec}`: `*` needs a port")))?;
                    ind.ports.insert(p, label);
                }
                Some(a) => {
                    let prefix: Prefix =
                        a.parse().map_err(|e: crate::net::PrefixError| err(e.0))?;
                    let entry = Entry {
                        label: label.clone(),
                        ports: vec![port],
                    };
                    let merged = match ind.prefixes.get(prefix) {
                        Some(old) if old.label == label => {
                            let mut e = old.clone();
                            e.ports.push(port);
                            e
                        }
                        _ => entry,
                    };
                    ind.prefixes.insert(prefix, merged);
                }
            }
            ind.count += 1;
        }
        Ok(ind)
    }

    /// Indicators loaded.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The label and confidence of the indicator `addr:port` matches, if any.
    fn matches(&self, addr: Addr, port: u16) -> Option<(&str, f32)> {
        if let Some(e) = self.prefixes.lookup(addr) {
            if e.ports.contains(&Some(port)) {
                return Some((&e.label, 0.95));
            }
            if e.ports.contains(&None) {
                return Some((&e.label, 0.85));
            }
        }
        self.ports.get(&port).map(|l| (l.as_str(), 0.5))
    }

    /// A finding if `r` is contact between a device and an indicator; `is_device` says
    /// whether an address may be a device (local).
    pub fn observe(&self, r: &FlowRecord, is_device: impl Fn(Addr) -> bool) -> Option<Finding> {
        if self.is_empty() || !matches!(r.proto, FlowRecord::PROTO_TCP | FlowRecord::PROTO_UDP) {
            return None;
        }
        let (device, peer, port, confidence) = if let Some((_, c)) =
            self.matches(r.dst, r.dst_port).filter(|_| is_device(r.src))
        {
            (r.src, r.dst, r.dst_port, c)
        } else if let Some((_, c)) = self.matches(r.src, r.src_port).filter(|_| is_device(r.dst)) {
            (r.dst, r.src, r.src_port, c)
        } else {
            return None;
        };
        let mut counters = Counters::default();
        counters
            .push("port", u64::from(port))
            .push("packets", r.packets);
        Some(Finding {
            detector: Detector::C2Contact,
            device,
            severity: if confidence >= 0.8 {
                Severity::High
            } else {
                Severity::Medium
            },
            confidence,
            attack: None,
            target: Target {
                peer: Some(peer),
                proto: Some(r.proto),
                dst_port: Some(port),
                ..Target::default()
            },
            counters,
            magnitude: 1,
            since_us: r.first_us,
        })
    }

    /// The label of the indicator matching `addr:port`.
    pub fn label(&self, addr: Addr, port: u16) -> Option<&str> {
        self.matches(addr, port).map(|(l, _)| l)
    }
}

/// Labels of letters, digits, `-` and `_` joined by dots, with a letter somewhere (so not an
/// address), optionally after `*.`.
fn looks_like_domain(spec: &str) -> bool {
    let name = spec.strip_prefix("*.").unwrap_or(spec);
    name.contains('.')
        && name.bytes().any(|c| c.is_ascii_alphabetic())
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
}

/// `addr`, `addr:port`, `[v6]:port`, `prefix:port`, `*:port`, `v6` or `v6/len`.
fn split_port(spec: &str) -> Result<(Option<String>, Option<u16>), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("`{spec}`: `{p}` is not a port (0-65535)"))
    };
    if let Some(rest) = spec.strip_prefix('[') {
        let (a, tail) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{spec}`: missing `]`"))?;
        let p = match tail.strip_prefix(':') {
            Some(p) => Some(port(p)?),
            None if tail.is_empty() => None,
            None => return Err(format!("`{spec}`: expected `:port` after `]`")),
        };
        return Ok((Some(a.to_string()), p));
    }
    if let Some(p) = spec.strip_prefix("*:") {
        return Ok((None, Some(port(p)?)));
    }
    // IPv6 without brackets has several colons: no port
    if spec.matches(':').count() == 1 {
        let (a, p) = spec.split_once(':').unwrap_or((spec, ""));
        return Ok((Some(a.to_string()), Some(port(p)?)));
    }
    if spec.parse::<IpAddr>().is_err() && spec.parse::<Prefix>().is_err() {
        if looks_like_domain(spec) {
            return Err(format!(
                "`{spec}` looks like a domain name: domain indicators are not matched yet \
                 (give the addresses it resolves to, a prefix or `*:port`)"
            ));
        }
        return Err(format!("`{spec}` is not an address, prefix or `*:port`"));
    }
    Ok((Some(spec.to_string()), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let text = "# c2\n203.0.113.7 mirai-cnc\n203.0.113.8:48101 report\n198.51.100.0/24\n[2001:db8::66]:6667 irc\n*:48101 port-only\n\n";
        let ind = Indicators::parse(text, "c2.txt").unwrap();
        assert_eq!(ind.len(), 5);
        assert_eq!(
            ind.matches(Addr::v4([203, 0, 113, 7]), 80),
            Some(("mirai-cnc", 0.85))
        );
        assert_eq!(
            ind.matches(Addr::v4([203, 0, 113, 8]), 48101),
            Some(("report", 0.95))
        );
        assert_eq!(ind.matches(Addr::v4([203, 0, 113, 8]), 80), None);
        assert_eq!(
            ind.matches(Addr::v4([198, 51, 100, 9]), 1),
            Some(("", 0.85))
        );
        assert_eq!(
            ind.matches(Addr::v4([192, 0, 2, 1]), 48101),
            Some(("port-only", 0.5))
        );
        let v6: IpAddr = "2001:db8::66".parse().unwrap();
        assert_eq!(ind.matches(Addr::from(v6), 6667), Some(("irc", 0.95)));
        let err = Indicators::parse("ok.example\n", "c2.txt").unwrap_err();
        assert!(err.to_string().contains("c2.txt:1"), "{err}");
        assert!(Indicators::parse("*:99999\n", "f").is_err());
        assert!(Indicators::parse("*:\n", "f").is_err());
        // a domain name is refused with a reason of its own, with the file and line
        for d in ["cnc.changeme.com", "*.bad.example"] {
            let e = Indicators::parse(&format!("# c2\n{d} mirai\n"), "f")
                .unwrap_err()
                .to_string();
            assert!(e.contains("f:2") && e.contains("domain"), "{e}");
        }
        let e = Indicators::parse("10.0.0.300\n", "f")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("domain"), "{e}");
    }
}
