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
//! A port applies to the indicator side's port (TCP or UDP). The incident keeps the labels
//! of the indicators matched (`labels`, shown at the end of its summary). Confidence: address and port
//! 0.95, address or prefix 0.85, port only 0.5 (ports are weak: anything may use them).
//! Severity high, medium for a port-only match.
//!
//! **Domains** — a line may also name a domain, `cnc.changeme.com` (that name only) or
//! `*.example.net` (that name and every name under it), with an optional label. Domains are
//! matched in DNS messages, which packet sources (pcap, pcapng, live capture; port 53 over
//! UDP, and over TCP where a segment holds a whole message) and Zeek's dns.log carry and flow
//! telemetry does not:
//! - a local device's **query** for a listed name, or an **answer** for one sent to a local
//!   device, is C2 contact of that device (confidence 0.9, severity high; the incident lists
//!   the domain, and has no peer: the resolver is not the C2);
//! - the **addresses answered** for a listed name become indicators themselves, for the
//!   answer's TTL held between 5 minutes and a day of record time (bots keep connecting
//!   after the TTL), at most 65,536 at once (expired ones are dropped first; past that, new
//!   ones are not learned). Contact with such an address is C2 contact (confidence 0.9) whose
//!   incident lists the domain. An address listed with its port keeps that match (0.95).
//!
//! **Allow lines** — `allow SPEC [label]`, with any of the forms above, lists expected
//! contact (a vendor's cloud, an update server) rather than an indicator: such traffic never
//! makes a C2 finding and is not fed to the beaconing detector, whose false positives are
//! exactly IoT devices checking in with their clouds; an allowed domain's lookups make no
//! finding and the addresses answered are expected too, for their TTL as above.
//!
//! **False positives.** Stale lists (C2 addresses are reassigned: Gafgyt C2s "usually remain
//! active for only a few days"), shared hosting, port-only indicators; a listed domain on a
//! shared CDN (its answered addresses serve other names too: list the C2's own names).
//!
//! **Sources.** Addresses and ports: all. Domains: packet sources (DNS over UDP and TCP) and Zeek's
//! dns.log (`Watch::observe_dns`); the addresses they answered are then matched in every
//! record read after them.

use std::collections::HashMap;
use std::net::IpAddr;

use iotrust_flow::dns::DnsMessage;
use iotrust_flow::{Addr, FlowRecord};

use super::{Counters, Detector, Finding, Severity, Target};
use crate::error::Error;
use crate::expiring::{Expires, ExpiringMap};
use crate::net::{Prefix, PrefixMap};

/// What the indicator list says of a C2 finding: the listed domain it is about and the
/// label the list gives the indicator matched (`None` where the line has no label).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Listing<'a> {
    pub domain: Option<&'a str>,
    pub label: Option<&'a str>,
}

/// One indicator's label and port (`None` = any port).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    label: String,
    ports: Vec<Option<u16>>,
    /// Record times (µs) between which it is an indicator (a feed's `valid_from` and
    /// `valid_until`; always for a line of the indicator file).
    valid: Window,
}

/// Record times (µs), both ends included, during which an indicator holds.
pub type Window = (i64, i64);

/// Always.
pub const ALWAYS: Window = (i64::MIN, i64::MAX);

fn active(w: Window, t_us: i64) -> bool {
    w.0 <= t_us && t_us <= w.1
}

/// A listed domain.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Domain {
    /// As written (`*.example.net` for a wildcard), lower case.
    name: String,
    label: String,
    wildcard: bool,
    /// An `allow` line: expected contact, not C2.
    allow: bool,
    valid: Window,
}

/// The listed domains, in file order (findings name one by its index), found by name.
#[derive(Clone, Debug, Default)]
pub struct Domains {
    list: Vec<Domain>,
    /// A name (without `*.`) to its index in `list`.
    by_name: HashMap<String, u32>,
}

impl Domains {
    /// Adds `spec` (`name` or `*.name`); a name listed twice keeps its index and takes the
    /// later line.
    fn add(&mut self, spec: &str, label: String, allow: bool, valid: Window) -> Result<(), String> {
        let next = u32::try_from(self.list.len()).map_err(|_| "too many domains".to_string())?;
        let name = spec.trim_start_matches("*.").to_ascii_lowercase();
        let i = *self.by_name.entry(name).or_insert(next);
        let d = Domain {
            name: spec.to_ascii_lowercase(),
            label,
            wildcard: spec.starts_with("*."),
            allow,
            valid,
        };
        match self.list.get_mut(i as usize) {
            Some(old) => *old = d,
            None => self.list.push(d),
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The listed domain `qname` (lower case, as [`iotrust_flow::dns`] gives it) falls
    /// under: itself, or the nearest wildcard above it.
    pub fn find(&self, qname: &str) -> Option<u32> {
        if let Some(&i) = self.by_name.get(qname) {
            return Some(i);
        }
        let mut rest = qname;
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some(&i) = self.by_name.get(parent) {
                if self.list.get(i as usize).is_some_and(|d| d.wildcard) {
                    return Some(i);
                }
            }
            rest = parent;
        }
        None
    }

    /// A listed domain as written in the file (`*.example.net` for a wildcard).
    pub fn name(&self, i: u32) -> Option<&str> {
        self.list.get(i as usize).map(|d| d.name.as_str())
    }

    /// The listed domain a finding is about, if any.
    pub fn of(&self, f: &Finding) -> Option<&str> {
        self.name(f.target.domain?)
    }

    fn label(&self, i: u32) -> &str {
        self.list.get(i as usize).map_or("", |d| d.label.as_str())
    }

    /// True if the listed domain holds at record time `t_us`.
    fn active(&self, i: u32, t_us: i64) -> bool {
        self.list
            .get(i as usize)
            .is_some_and(|d| active(d.valid, t_us))
    }

    /// True for a domain of an `allow` line.
    fn allows(&self, i: u32) -> bool {
        self.list.get(i as usize).is_some_and(|d| d.allow)
    }

    /// True if the message is about a listed domain (what [`Indicators::observe_dns`]
    /// acts on).
    pub fn wants(&self, msg: &DnsMessage) -> bool {
        !self.is_empty()
            && msg
                .question
                .as_ref()
                .is_some_and(|q| self.find(&q.name).is_some())
    }
}

/// An address answered for a listed domain (index into [`Domains`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Learned {
    domain: u32,
    /// Record time (µs) after which it is no longer an indicator.
    until_us: i64,
}

/// Addresses answered for listed domains, at most [`MAX_LEARNED`], looked up for both
/// sides of every record once one is held.
type LearnedSet = ExpiringMap<Learned, MAX_LEARNED>;

impl Expires for Learned {
    fn until_us(&self) -> i64 {
        self.until_us
    }
}

/// Addresses learned from DNS answers, at most.
pub const MAX_LEARNED: usize = 65_536;
/// An answered address stays an indicator for its TTL, within these bounds (seconds).
const LEARNED_SECS: (u32, u32) = (300, 86_400);

/// A loaded indicator list, and the addresses learned from DNS answers for its domains.
#[derive(Clone, Debug, Default)]
pub struct Indicators {
    prefixes: PrefixMap<Entry>,
    ports: HashMap<u16, String>,
    /// Listed domains, C2 and allowed.
    domains: Domains,
    learned: LearnedSet,
    count: usize,
    allowed: Allowed,
}

/// What `allow` lines list: destinations whose periodic contact is expected (vendor
/// clouds, update servers), and the addresses answered for allowed domains.
#[derive(Clone, Debug, Default)]
struct Allowed {
    prefixes: PrefixMap<Entry>,
    ports: HashMap<u16, String>,
    learned: LearnedSet,
    count: usize,
}

impl Allowed {
    /// True if an `allow` line or an address learned for an allowed domain covers
    /// `addr:port` (out of line: asked for every outbound record once a list has `allow`
    /// lines, never before).
    #[inline(never)]
    fn contains(&self, addr: Addr, port: u16, t_us: i64) -> bool {
        self.prefixes
            .lookup(addr)
            .is_some_and(|e| e.ports.contains(&Some(port)) || e.ports.contains(&None))
            || self.learned.get(addr, t_us).is_some()
            || self.ports.contains_key(&port)
    }
}

/// Adds an address, prefix or port line to a list (the port applies to the listed side).
fn add_address(
    prefixes: &mut PrefixMap<Entry>,
    ports: &mut HashMap<u16, String>,
    spec: &str,
    label: String,
    valid: Window,
) -> Result<(), String> {
    if let Some((name, _)) = spec.rsplit_once(':').filter(|(n, _)| looks_like_domain(n)) {
        return Err(format!("`{spec}`: a domain takes no port (write `{name}`)"));
    }
    let (addr, port) = split_port(spec)?;
    match addr {
        None => {
            let p = port.ok_or_else(|| format!("`{spec}`: `*` needs a port"))?;
            ports.insert(p, label);
        }
        Some(a) => {
            let prefix: Prefix = a.parse().map_err(|e: crate::net::PrefixError| e.0)?;
            let merged = match prefixes.get(prefix) {
                Some(old) if old.label == label && old.valid == valid => {
                    let mut e = old.clone();
                    e.ports.push(port);
                    e
                }
                _ => Entry {
                    label,
                    ports: vec![port],
                    valid,
                },
            };
            prefixes.insert(prefix, merged);
        }
    }
    Ok(())
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
            let mut words = line.split_whitespace().peekable();
            let allow = words.next_if_eq(&"allow").is_some();
            let spec = words.next().unwrap_or("");
            let label = words.collect::<Vec<_>>().join(" ");
            let err = |message: String| Error::Parse {
                origin: origin.to_string(),
                line: n + 1,
                message,
            };
            if spec.is_empty() {
                return Err(err(
                    "`allow` needs an address, prefix, port or domain".into()
                ));
            }
            ind.add_spec(spec, label, allow, ALWAYS).map_err(err)?;
        }
        Ok(ind)
    }

    /// Adds one indicator (`spec` in the file's syntax: address, `address:port`, prefix,
    /// `prefix:port`, `[v6]:port`, `*:port`, domain or `*.domain`) with its label, holding
    /// during `valid` (record time): what a threat-intel feed's entry becomes. An `allow`
    /// entry lists expected contact instead.
    pub fn add(&mut self, spec: &str, label: String, valid: Window) -> Result<(), String> {
        self.add_spec(spec, label, false, valid)
    }

    /// Adds a threat-intel feed's entries ([`iotrust_intel`]): each labelled `feed/entry`
    /// and the feed's family labels (`bundle/Mirai CNC botnet,Mirai`), holding between its
    /// `valid_from` and `valid_until` (record time). Returns how many were added, and the
    /// line and reason of each entry that could not be (skipped).
    pub fn add_feed(&mut self, feed: &iotrust_intel::Feed) -> (usize, Vec<(usize, String)>) {
        let mut added = 0;
        let mut skipped = Vec::new();
        for e in &feed.entries {
            let mut label = format!("{}/{}", e.feed, e.entry);
            if !e.labels.is_empty() {
                label = format!("{label} {}", e.labels.join(","));
            }
            let valid = (
                e.valid_from.map_or(i64::MIN, |t| t.as_microsecond()),
                e.valid_until.map_or(i64::MAX, |t| t.as_microsecond()),
            );
            match self.add(&e.subject.to_string(), label, valid) {
                Ok(()) => added += 1,
                Err(m) => skipped.push((e.line, m)),
            }
        }
        (added, skipped)
    }

    fn add_spec(
        &mut self,
        spec: &str,
        label: String,
        allow: bool,
        valid: Window,
    ) -> Result<(), String> {
        if looks_like_domain(spec) {
            self.domains.add(spec, label, allow, valid)?;
        } else if allow {
            let a = &mut self.allowed;
            add_address(&mut a.prefixes, &mut a.ports, spec, label, valid)?;
        } else {
            add_address(&mut self.prefixes, &mut self.ports, spec, label, valid)?;
        }
        if allow {
            self.allowed.count += 1;
        } else {
            self.count += 1;
        }
        Ok(())
    }

    /// True if contact with `addr:port` is expected (an `allow` line, or an address answered
    /// for an allowed domain, as of record time `t_us`): no beaconing incident is made of it.
    #[inline]
    pub fn expected(&self, addr: Addr, port: u16, t_us: i64) -> bool {
        self.allowed.count > 0 && self.allowed.contains(addr, port, t_us)
    }

    /// `allow` lines loaded.
    pub fn allowed(&self) -> usize {
        self.allowed.count
    }

    /// Takes the entries of a list loaded anew (the file changed), keeping the addresses
    /// learned for domains still listed (under their place in the new list); those learned
    /// for domains no longer listed are dropped.
    pub fn reload(&mut self, mut new: Indicators) {
        let old = std::mem::take(&mut self.learned);
        let old_allowed = std::mem::take(&mut self.allowed.learned);
        for (old, allow) in [(old, false), (old_allowed, true)] {
            for (addr, l) in old.map {
                // the same name, listed the same way (C2 or allowed)
                let still = self.domains.name(l.domain).and_then(|name| {
                    new.domains
                        .by_name
                        .get(name.trim_start_matches("*."))
                        .copied()
                        .filter(|i| new.domains.allows(*i) == allow)
                });
                let Some(domain) = still else { continue };
                let into = match allow {
                    true => &mut new.allowed.learned,
                    false => &mut new.learned,
                };
                into.earliest_us = into.earliest_us.min(l.until_us);
                into.map.insert(addr, Learned { domain, ..l });
            }
        }
        *self = new;
    }

    /// Indicator lines loaded (C2 addresses, prefixes, ports and domains; `allow` lines are
    /// counted by [`Indicators::allowed`]).
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The label and confidence of the indicator `addr:port` matches, if any, and the listed
    /// domain when the match is an address learned for one; `t_us` is the record's time.
    fn matches(&self, addr: Addr, port: u16, t_us: i64) -> Option<(&str, f32, Option<u32>)> {
        let listed = self.prefixes.lookup(addr).filter(|e| active(e.valid, t_us));
        if let Some(e) = listed {
            if e.ports.contains(&Some(port)) {
                return Some((&e.label, 0.95, None));
            }
        }
        if let Some(l) = self.learned.get(addr, t_us) {
            return Some((self.domains.label(l.domain), 0.9, Some(l.domain)));
        }
        if let Some(e) = listed {
            if e.ports.contains(&None) {
                return Some((&e.label, 0.85, None));
            }
        }
        self.ports.get(&port).map(|l| (l.as_str(), 0.5, None))
    }

    /// The listed domains.
    pub fn domains(&self) -> &Domains {
        &self.domains
    }

    /// Addresses learned from DNS answers now held (some may have expired).
    pub fn learned(&self) -> usize {
        self.learned.map.len()
    }

    /// A DNS message seen in the packet of record `r`: for a listed domain, the addresses
    /// answered are learned, and a finding is made for the local device that asked (the
    /// query's source) or is told (the answer's destination).
    pub fn observe_dns(
        &mut self,
        r: &FlowRecord,
        msg: &DnsMessage,
        is_device: impl Fn(Addr) -> bool,
    ) -> Option<Finding> {
        let q = msg.question.as_ref()?;
        let domain = self
            .domains
            .find(&q.name)
            .filter(|d| self.domains.active(*d, r.last_us))?;
        let allow = self.domains.allows(domain);
        if msg.response {
            let learned = match allow {
                true => &mut self.allowed.learned,
                false => &mut self.learned,
            };
            for a in &msg.answers {
                let secs = a.ttl.clamp(LEARNED_SECS.0, LEARNED_SECS.1);
                let l = Learned {
                    domain,
                    until_us: r.last_us.saturating_add(i64::from(secs) * 1_000_000),
                };
                learned.learn(a.addr, l, r.last_us);
            }
        }
        // an allowed domain is expected contact: its addresses are learned, nothing found
        if allow {
            return None;
        }
        let device = if msg.response { r.dst } else { r.src };
        if !is_device(device) {
            return None;
        }
        let mut counters = Counters::default();
        counters
            .push(counter::DNS_ANSWERS, msg.answers.len() as u64)
            .push(counter::PACKETS, r.packets);
        Some(Finding {
            detector: Detector::C2Contact,
            device,
            severity: Severity::High,
            confidence: 0.9,
            attack: None,
            target: Target {
                proto: Some(FlowRecord::PROTO_UDP),
                dst_port: Some(53),
                domain: Some(domain),
                ..Target::default()
            },
            counters,
            magnitude: 1,
            since_us: r.first_us,
            hold_us: 0,
            kind: 0,
        })
    }

    /// A finding if `r` is contact between a device and an indicator; `is_device` says
    /// whether an address may be a device (local).
    pub fn observe(&self, r: &FlowRecord, is_device: impl Fn(Addr) -> bool) -> Option<Finding> {
        if self.is_empty() || !matches!(r.proto, FlowRecord::PROTO_TCP | FlowRecord::PROTO_UDP) {
            return None;
        }
        let t = r.last_us;
        let (device, peer, port, confidence, domain) = if let Some((_, c, d)) = self
            .matches(r.dst, r.dst_port, t)
            .filter(|_| is_device(r.src))
        {
            (r.src, r.dst, r.dst_port, c, d)
        } else if let Some((_, c, d)) = self
            .matches(r.src, r.src_port, t)
            .filter(|_| is_device(r.dst))
        {
            (r.dst, r.src, r.src_port, c, d)
        } else {
            return None;
        };
        let mut counters = Counters::default();
        counters
            .push(counter::PORT, u64::from(port))
            .push(counter::PACKETS, r.packets);
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
                domain,
                ..Target::default()
            },
            counters,
            magnitude: 1,
            since_us: r.first_us,
            hold_us: 0,
            kind: 0,
        })
    }

    /// The label of the indicator matching `addr:port` (learned addresses as of `t_us`).
    pub fn label(&self, addr: Addr, port: u16, t_us: i64) -> Option<&str> {
        self.matches(addr, port, t_us).map(|(l, _, _)| l)
    }

    /// What the list says of finding `f`, made at record time `t_us` (nothing for other
    /// detectors than C2 contact): the indicator its peer matched then, or the domain looked
    /// up.
    #[inline]
    pub fn listing(&self, f: &Finding, t_us: i64) -> Listing<'_> {
        if f.detector != Detector::C2Contact {
            return Listing::default();
        }
        let label = match (f.target.peer, f.target.domain) {
            (Some(peer), _) => self.label(peer, f.target.dst_port.unwrap_or(0), t_us),
            (None, Some(d)) => Some(self.domains.label(d)),
            (None, None) => None,
        };
        Listing {
            domain: self.domains.of(f),
            label: label.filter(|l| !l.is_empty()),
        }
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
        return Err(format!(
            "`{spec}` is not an address, prefix, `*:port` or domain name"
        ));
    }
    Ok((Some(spec.to_string()), None))
}

/// Counter names of this detector's findings.
pub mod counter {
    pub const DNS_ANSWERS: &str = "dns_answers";
    pub const PACKETS: &str = "packets";
    pub const PORT: &str = "port";
}

/// This detector's entry in the table ([`super::detectors!`]).
pub struct Rule;

impl super::Rule for Rule {
    const NAME: &'static str = "c2-contact";
    const ROLE: super::Role = super::Role::InfectedDevice;
    const FILTER: super::FilterShape = super::FilterShape::BlockPeers;
    const HOLD_TTLS: u8 = 3;

    fn summary(inc: &crate::incident::Incident) -> String {
        let peer = inc
            .targets
            .iter()
            .find_map(|t| t.peer.map(|p| (p, t.dst_port.unwrap_or(0))))
            .map(|(p, port)| format!("{p}:{port}"));
        let what = match (peer, inc.domains.is_empty()) {
            (Some(peer), true) => format!("{} contacts listed C2 {peer}", inc.device),
            (Some(peer), false) => format!(
                "{} contacts C2 {peer}, an address of listed domain {}",
                inc.device,
                inc.domains.join(", ")
            ),
            (None, _) => format!(
                "{} looks up listed C2 domain {}",
                inc.device,
                inc.domains.join(", ")
            ),
        };
        if inc.labels.is_empty() {
            what
        } else {
            format!("{what} ({})", inc.labels.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_entries_hold_for_their_validity_under_their_names() {
        let bundle = r#"{"type":"bundle","id":"bundle--1","objects":[
          {"type":"indicator","spec_version":"2.1","id":"indicator--1","name":"CNC",
           "labels":["mirai"],"pattern":"[ipv4-addr:value = '203.0.113.7']","pattern_type":"stix",
           "valid_from":"2025-01-01T00:00:00Z","valid_until":"2026-01-01T00:00:00Z"}]}"#;
        let feed = iotrust_intel::parse(bundle.as_bytes(), "intel", None).unwrap();
        let mut ind = Indicators::default();
        assert_eq!(ind.add_feed(&feed), (1, Vec::new()));
        let mut r = FlowRecord::new(iotrust_flow::SourceKind::Pcap);
        r.src = Addr::v4([192, 0, 2, 9]);
        r.dst = Addr::v4([203, 0, 113, 7]);
        r.proto = FlowRecord::PROTO_TCP;
        r.dst_port = 443;
        let at = |ts: &str| ts.parse::<jiff::Timestamp>().unwrap().as_microsecond();
        for (t, found) in [
            ("2024-12-31T23:59:59Z", false),
            ("2025-06-01T00:00:00Z", true),
            ("2026-01-01T00:00:01Z", false),
        ] {
            (r.first_us, r.last_us) = (at(t), at(t));
            let f = ind.observe(&r, |_| true);
            assert_eq!(f.is_some(), found, "{t}");
            if let Some(f) = f {
                assert_eq!(ind.listing(&f, r.last_us).label, Some("intel/CNC mirai"));
            }
        }
    }

    #[test]
    fn parses_and_matches() {
        let text = "# c2\n203.0.113.7 mirai-cnc\n203.0.113.8:48101 report\n198.51.100.0/24\n[2001:db8::66]:6667 irc\n*:48101 port-only\n\n";
        let ind = Indicators::parse(text, "c2.txt").unwrap();
        let m = |ind: &Indicators, a, p| ind.matches(a, p, 0).map(|(l, c, _)| (l.to_string(), c));
        assert_eq!(ind.len(), 5);
        assert_eq!(
            m(&ind, Addr::v4([203, 0, 113, 7]), 80),
            Some(("mirai-cnc".to_string(), 0.85))
        );
        assert_eq!(
            m(&ind, Addr::v4([203, 0, 113, 8]), 48101),
            Some(("report".to_string(), 0.95))
        );
        assert_eq!(m(&ind, Addr::v4([203, 0, 113, 8]), 80), None);
        assert_eq!(
            m(&ind, Addr::v4([198, 51, 100, 9]), 1),
            Some(("".to_string(), 0.85))
        );
        assert_eq!(
            m(&ind, Addr::v4([192, 0, 2, 1]), 48101),
            Some(("port-only".to_string(), 0.5))
        );
        let v6: IpAddr = "2001:db8::66".parse().unwrap();
        assert_eq!(
            m(&ind, Addr::from(v6), 6667),
            Some(("irc".to_string(), 0.95))
        );
        let err = Indicators::parse("not_an_address!\n", "c2.txt").unwrap_err();
        assert!(err.to_string().contains("c2.txt:1"), "{err}");
        assert!(Indicators::parse("*:99999\n", "f").is_err());
        assert!(Indicators::parse("*:\n", "f").is_err());
        // a domain takes no port; errors name the file and line
        let e = Indicators::parse("# c2\ncnc.changeme.com:23 mirai\n", "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f:2") && e.contains("no port"), "{e}");
        assert!(Indicators::parse("10.0.0.300\n", "f").is_err());
        assert!(Indicators::parse("bad..example\n", "f").is_err());
    }

    #[test]
    fn domains_exact_and_wildcard() {
        let ind = Indicators::parse(
            "CNC.Example.com mirai-cnc\n*.bad.example dga\n203.0.113.7\n",
            "c2.txt",
        )
        .unwrap();
        assert_eq!(ind.len(), 3);
        let d = ind.domains();
        assert!(!d.is_empty());
        let name = |q: &str| d.find(q).and_then(|i| d.name(i));
        assert_eq!(name("cnc.example.com"), Some("cnc.example.com"));
        // a plain name does not cover the names under it
        assert_eq!(name("www.cnc.example.com"), None);
        assert_eq!(name("example.com"), None);
        // a wildcard covers its own name and every name under it
        assert_eq!(name("bad.example"), Some("*.bad.example"));
        assert_eq!(name("a.b.bad.example"), Some("*.bad.example"));
        assert_eq!(name("notbad.example"), None);
        // no domains: nothing is wanted
        let plain = Indicators::parse("203.0.113.7\n", "f").unwrap();
        assert!(plain.domains().is_empty());
    }

    #[test]
    fn learned_addresses_are_bounded_and_expire() {
        let mut ind = Indicators::parse("cnc.example.com\n", "f").unwrap();
        let l = |until_us| Learned {
            domain: 0,
            until_us,
        };
        for i in 0..MAX_LEARNED as u32 {
            ind.learned.learn(Addr::v4(i.to_be_bytes()), l(100), 0);
        }
        // full of live ones: a new address is not learned, a known one is extended
        let new = Addr::v4([250, 0, 0, 1]);
        ind.learned.learn(new, l(200), 50);
        assert_eq!(ind.learned(), MAX_LEARNED);
        assert!(ind.matches(new, 443, 60).is_none());
        ind.learned.learn(Addr::v4([0, 0, 0, 5]), l(300), 50);
        assert!(ind.matches(Addr::v4([0, 0, 0, 5]), 443, 250).is_some());
        // past their time, the expired ones make room
        ind.learned.learn(new, l(1_000), 150);
        assert_eq!(ind.learned(), 2);
        let (_, confidence, domain) = ind.matches(new, 443, 900).unwrap();
        assert_eq!((confidence, domain), (0.9, Some(0)));
        assert!(ind.matches(new, 443, 1_001).is_none());
    }

    /// `allow` lines are expected contact, not indicators: they never make a C2 finding, an
    /// allowed domain's lookup is no finding but its answered addresses are expected too, and
    /// a reload keeps those while the domain stays allowed.
    #[test]
    fn allow_lines() {
        let mut ind = Indicators::parse(
            "203.0.113.7 cnc\nallow 198.51.100.0/24 vendor\nallow *:8883\nallow 192.0.2.9:443\n\
             allow *.cloud.example vendor-dns\n",
            "f",
        )
        .unwrap();
        assert_eq!((ind.len(), ind.allowed()), (1, 4));
        let a = |x: [u8; 4]| Addr::v4(x);
        assert!(ind.expected(a([198, 51, 100, 3]), 1, 0));
        assert!(ind.expected(a([10, 0, 0, 1]), 8883, 0));
        assert!(ind.expected(a([192, 0, 2, 9]), 443, 0));
        assert!(!ind.expected(a([192, 0, 2, 9]), 80, 0));
        assert!(!ind.expected(a([203, 0, 113, 7]), 443, 0));
        // allowed is not listed: no C2 match
        assert!(ind.matches(a([198, 51, 100, 3]), 443, 0).is_none());
        // an allowed domain's answer: learned as expected, no finding
        let mut r = FlowRecord::default();
        (r.src, r.dst, r.last_us) = (a([192, 0, 2, 1]), a([10, 0, 0, 2]), 1_000_000);
        let msg = DnsMessage {
            id: 1,
            response: true,
            rcode: 0,
            question: Some(iotrust_flow::dns::Question {
                name: "x.cloud.example".into(),
                qtype: 1,
            }),
            answers: vec![iotrust_flow::dns::Answer {
                name: "x.cloud.example".into(),
                addr: a([203, 0, 113, 50]),
                ttl: 60,
            }],
        };
        assert!(ind.domains().wants(&msg));
        assert!(ind.observe_dns(&r, &msg, |_| true).is_none());
        assert!(ind.expected(a([203, 0, 113, 50]), 443, 2_000_000));
        assert!(ind.matches(a([203, 0, 113, 50]), 443, 2_000_000).is_none());
        // reloaded: still allowed, kept; listed as C2 instead, dropped
        let mut kept = ind.clone();
        kept.reload(Indicators::parse("allow *.cloud.example\n", "f").unwrap());
        assert!(kept.expected(a([203, 0, 113, 50]), 443, 2_000_000));
        ind.reload(Indicators::parse("*.cloud.example c2-now\n", "f").unwrap());
        assert!(!ind.expected(a([203, 0, 113, 50]), 443, 2_000_000));
        assert!(ind.matches(a([203, 0, 113, 50]), 443, 2_000_000).is_none());
        // `allow` alone is refused, with its line
        let e = Indicators::parse("allow\n", "f").unwrap_err().to_string();
        assert!(e.starts_with("f:1:"), "{e}");
    }

    /// A reloaded list takes the new entries; an address learned for a domain still listed
    /// stays (under the domain's new place), one learned for a dropped domain goes.
    #[test]
    fn reload_keeps_what_was_learned_for_domains_still_listed() {
        let mut ind = Indicators::parse(
            "a.example one
*.b.example two
203.0.113.7
",
            "f",
        )
        .unwrap();
        let (ka, kb) = (Addr::v4([198, 18, 0, 1]), Addr::v4([198, 18, 0, 2]));
        ind.learned.learn(
            ka,
            Learned {
                domain: 0,
                until_us: 500,
            },
            0,
        );
        ind.learned.learn(
            kb,
            Learned {
                domain: 1,
                until_us: 900,
            },
            0,
        );
        // b.example moves to the front (now exact), a.example is gone, a new address comes
        let new = Indicators::parse(
            "b.example renamed
203.0.113.8 new
",
            "f",
        )
        .unwrap();
        ind.reload(new);
        assert_eq!(ind.len(), 2);
        assert!(ind.matches(ka, 443, 100).is_none());
        let (label, confidence, domain) = ind.matches(kb, 443, 100).unwrap();
        assert_eq!((label, confidence, domain), ("renamed", 0.9, Some(0)));
        assert_eq!(ind.learned.earliest_us, 900);
        assert!(ind.matches(Addr::v4([203, 0, 113, 7]), 23, 100).is_none());
        assert_eq!(
            ind.matches(Addr::v4([203, 0, 113, 8]), 23, 100)
                .map(|m| m.0),
            Some("new")
        );
    }
}
