//! Incidents: findings grouped per device and detector, deduplicated, emitted when opened
//! and when they escalate; and the JSON-lines sink.
//!
//! An incident is keyed by (device address, detector, [`Finding::kind`]: a MUD violation's
//! departure, 0 for every other detector). A finding for a key with no live
//! incident opens one (event `opened`); later findings update its evidence silently and emit
//! `escalated` only when the severity rises, the confidence rises by 0.05 or more, or the
//! magnitude (the detector's headline rate or count) reaches twice the value last emitted.
//! An incident with no finding for `incident_ttl_secs` of record time is over: event
//! `closed`, once, when the engine's stream time passes that (checked every
//! `incident_ttl_secs / 60` of record time, at least every second), or when a finding for
//! its key comes first; that finding opens a new incident with a new id. A closed incident
//! stays listed (for filter proposals) until it is replaced or evicted.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;

use iotrust_flow::{Addr, FlowRecord};
use serde::{Deserialize, Serialize};

use crate::detectors::c2::Listing;
use crate::detectors::mud::MudEvidence;
use crate::detectors::{Attack, Detector, Finding, Role, Severity, Target, MAX_COUNTERS};
use crate::error::Error;
use crate::fasthash::FoldState;

/// Sample records kept per incident.
pub const MAX_SAMPLES: usize = 5;
/// Distinct targets (victims, C2 peers) kept per incident.
pub const MAX_TARGETS: usize = 8;

/// One incident, as written in events. Read back from an event's JSON
/// ([`Event::from_json`]) it has what the outputs read (notices, filters, field reports);
/// counters, samples and MUD evidence stay in the JSON line only.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Incident {
    /// Sequential from 1 in one [`crate::Watch`].
    pub id: u64,
    /// The infected device, or the attacked subscriber.
    pub device: Addr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<String>,
    pub detector: Detector,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack: Option<Attack>,
    pub severity: Severity,
    pub confidence: f32,
    /// One line for a human.
    pub summary: String,
    pub first_seen: jiff::Timestamp,
    pub last_seen: jiff::Timestamp,
    /// Records that matched the detector while the incident was open.
    pub records: u64,
    /// The detector's counters in the window of the largest magnitude seen.
    #[serde(skip_deserializing)]
    pub counters: BTreeMap<&'static str, u64>,
    /// What the bad traffic looks like (victims, C2 peers, protocol, ports).
    pub targets: Vec<Target>,
    /// Up to [`MAX_SAMPLES`] records that matched (the first ones).
    #[serde(skip_deserializing)]
    pub samples: Vec<FlowRecord>,
    /// Listed C2 domains the device looked up or contacted an address of (C2 contact only;
    /// up to [`MAX_TARGETS`]).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub domains: Vec<String>,
    /// The labels the indicator list gives what the device contacted or looked up (C2
    /// contact only; up to [`MAX_TARGETS`]).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub labels: Vec<String>,
    #[serde(skip)]
    first_us: i64,
    #[serde(skip)]
    last_us: i64,
    #[serde(skip)]
    peak: u64,
    #[serde(skip)]
    emitted: (Severity, f32, u64),
    /// See `set_counters`.
    #[serde(skip)]
    order: [u8; MAX_COUNTERS],
    /// Over (a `closed` event was emitted); never updated again.
    #[serde(skip)]
    closed: bool,
    /// Held open this long after the last finding when longer than the book's time to live
    /// (see [`Finding::hold_us`]).
    #[serde(skip)]
    hold_us: i64,
    /// The declaration the device broke and the traffic that broke it (`mud-violation` only).
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub mud: Option<Box<MudEvidence>>,
    /// The `c2-behaviour` incident (an executable moved, IRC spoken) still open for the
    /// device when this one opened: what it did next. Raises the severity one step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follows: Option<u64>,
}

impl Incident {
    /// A counter of the window with the largest magnitude (0 if the detector has none of
    /// that name; names are the detector module's `counter` constants).
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// The first target's peer and destination port.
    pub fn first_peer(&self) -> Option<(Addr, u16)> {
        self.targets
            .first()
            .and_then(|t| t.peer.map(|p| (p, t.dst_port.unwrap_or(0))))
    }

    /// The first target's peer as text (empty without one).
    pub fn peer(&self) -> String {
        self.first_peer()
            .map(|(a, _)| a.to_string())
            .unwrap_or_default()
    }

    /// The first target's `peer:port` (empty without one).
    pub fn peer_and_port(&self) -> String {
        self.first_peer()
            .map(|(a, port)| format!("{a}:{port}"))
            .unwrap_or_default()
    }

    /// The attack's name (`syn-flood` ...), or empty.
    pub fn attack_name(&self) -> String {
        self.attack
            .and_then(|a| serde_json::to_value(a).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// How long it stays open without findings, given the book's time to live.
    #[inline]
    fn ttl_us(&self, book_ttl_us: i64) -> i64 {
        self.hold_us
            .max(book_ttl_us.saturating_mul(i64::from(self.detector.hold_ttls().max(1))))
    }

    /// True once the incident is over (its `closed` event was emitted).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// First seen, microseconds since the epoch (record time).
    pub fn first_us(&self) -> i64 {
        self.first_us
    }

    /// Last seen, microseconds since the epoch (record time).
    pub fn last_us(&self) -> i64 {
        self.last_us
    }

    /// Scanned Mirai ports (bitmask over [`crate::detectors::mirai::PORTS`]), from all targets.
    pub fn mirai_ports(&self) -> Vec<u16> {
        let mask = self.targets.iter().fold(0u8, |m, t| m | t.mirai_ports);
        crate::detectors::mirai::PORTS
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, p)| *p)
            .collect()
    }
}

/// Why an event was emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Opened,
    Escalated,
    /// No finding for the incident's time to live: the device stopped (or was cleaned).
    Closed,
}

/// One line of output: the incident as it stands, and why it is written now.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub event: EventKind,
    #[serde(flatten)]
    pub incident: Incident,
}

impl Event {
    /// An event read back from its JSON line, with the bitmasks of Mirai ports scanned per
    /// target that the line leaves out ([`Event::scan_ports`]).
    pub fn from_json(json: &[u8], scan_ports: &[u8]) -> Result<Event, serde_json::Error> {
        let mut e: Event = serde_json::from_slice(json)?;
        let inc = &mut e.incident;
        inc.first_us = inc.first_seen.as_microsecond();
        inc.last_us = inc.last_seen.as_microsecond();
        inc.closed = e.event == EventKind::Closed;
        for (t, m) in inc.targets.iter_mut().zip(scan_ports) {
            t.mirai_ports = *m;
        }
        Ok(e)
    }

    /// Per target, the bitmask of Mirai ports scanned (empty when none was): what
    /// [`Event::from_json`] needs beside the line for filters and notices to come out as
    /// they do in the process that detected it.
    pub fn scan_ports(&self) -> Vec<u8> {
        let t = &self.incident.targets;
        if t.iter().all(|t| t.mirai_ports == 0) {
            return Vec::new();
        }
        t.iter().map(|t| t.mirai_ports).collect()
    }
}

/// Which incident a key names: device, detector and [`Finding::kind`].
type Key = (Addr, Detector, u8);

/// Live incidents, bounded: at most `max` (the oldest opened forgotten first).
///
/// Incidents lie in `slots`, found through `index`; the key of the last finding and its
/// slot are remembered (`hot`), so that the findings of one attack, one after another, skip
/// the hash look-up; and live incidents are counted per detector, so that asking about a
/// detector with none (the engine asks whether each source has a Mirai incident) costs no
/// look-up either.
pub(crate) struct Book {
    index: HashMap<Key, usize, FoldState>,
    slots: Vec<Option<Incident>>,
    free: Vec<usize>,
    hot: Option<(Key, usize)>,
    live_per_detector: [u32; 16],
    order: VecDeque<(Key, u64)>,
    next_id: u64,
    max: usize,
    ttl_us: i64,
    pub(crate) opened: u64,
    pub(crate) evicted: u64,
}

impl Book {
    pub(crate) fn new(max: usize, ttl_secs: u64) -> Book {
        Book {
            index: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            hot: None,
            live_per_detector: [0; 16],
            order: VecDeque::new(),
            next_id: 1,
            max: max.max(1),
            ttl_us: crate::detectors::secs_us(ttl_secs),
            opened: 0,
            evicted: 0,
        }
    }

    /// The slot of a key's live incident.
    fn slot_of(&self, key: &Key) -> Option<usize> {
        match self.hot {
            Some((k, i)) if k == *key => Some(i),
            _ => self.index.get(key).copied(),
        }
    }

    fn get(&self, key: &Key) -> Option<&Incident> {
        self.slots.get(self.slot_of(key)?)?.as_ref()
    }

    fn live_count(&mut self, d: Detector) -> Option<&mut u32> {
        self.live_per_detector.get_mut(d as usize)
    }

    /// True if a live incident exists for the key at time `now_us`.
    pub(crate) fn is_open(&self, device: Addr, d: Detector, now_us: i64) -> bool {
        self.is_open_kind(device, d, 0, now_us)
    }

    /// [`Book::is_open`] for incidents of one [`Finding::kind`].
    pub(crate) fn is_open_kind(&self, device: Addr, d: Detector, kind: u8, now_us: i64) -> bool {
        self.live_per_detector
            .get(d as usize)
            .is_some_and(|n| *n > 0)
            && self.get(&(device, d, kind)).is_some_and(|i| {
                !i.closed && now_us.saturating_sub(i.last_us) <= i.ttl_us(self.ttl_us)
            })
    }

    /// Closes every incident with no finding for the time to live as of record time
    /// `now_us`: their `closed` events, by id.
    pub(crate) fn sweep(&mut self, now_us: i64) -> Vec<Event> {
        let ttl_us = self.ttl_us;
        let mut closed: Vec<Event> = self
            .slots
            .iter_mut()
            .flatten()
            .filter(|inc| !inc.closed && now_us.saturating_sub(inc.last_us) > inc.ttl_us(ttl_us))
            .map(close)
            .collect();
        closed.sort_by_key(|e| e.incident.id);
        closed
    }

    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn incidents(&self) -> impl Iterator<Item = &Incident> {
        self.slots.iter().flatten()
    }

    fn remove(&mut self, key: &Key) {
        let Some(i) = self.index.remove(key) else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = None;
        }
        self.free.push(i);
        if let Some(n) = self.live_count(key.1) {
            *n = n.saturating_sub(1);
        }
        if self.hot.is_some_and(|(k, _)| k == *key) {
            self.hot = None;
        }
    }

    fn insert(&mut self, key: Key, inc: Incident) {
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.slots.get_mut(i) {
                    *slot = Some(inc);
                }
                i
            }
            None => {
                self.slots.push(Some(inc));
                self.slots.len() - 1
            }
        };
        self.index.insert(key, i);
        if let Some(n) = self.live_count(key.1) {
            *n += 1;
        }
        self.hot = Some((key, i));
    }

    /// Applies a finding about record `r`; `out` gets the `closed` event of the key's
    /// incident if the finding comes after its time to live (and no sweep closed it yet),
    /// then the incident's event if it opened or escalated (most findings give none, and
    /// nothing is moved for them).
    /// `listing`: what the indicator list says of the finding (its domain and label are
    /// kept in the incident's `domains` and `labels`; a new one there is an escalation).
    /// `mud`: a MUD violation's evidence as it stands (a new flow in it is an escalation).
    pub(crate) fn record(
        &mut self,
        f: &Finding,
        r: &FlowRecord,
        subscriber: Option<&str>,
        listing: Listing<'_>,
        mud: Option<&MudEvidence>,
        mut out: impl FnMut(Event),
    ) {
        let key = (f.device, f.detector, f.kind);
        let t = r.last_us;
        if let Some(i) = self.slot_of(&key) {
            self.hot = Some((key, i));
            let ttl_us = self.ttl_us;
            if let Some(inc) = self.slots.get_mut(i).and_then(Option::as_mut) {
                if !inc.closed && t.saturating_sub(inc.last_us) <= inc.ttl_us(ttl_us) {
                    update(inc, f, r);
                    let listed = add_listing(inc, listing) | set_mud(inc, mud);
                    let (sev, conf, mag) = inc.emitted;
                    let escalated = listed
                        || inc.severity > sev
                        || inc.confidence >= conf + 0.05
                        || (mag > 0 && inc.peak >= mag.saturating_mul(2));
                    if !escalated {
                        return;
                    }
                    inc.emitted = (inc.severity, inc.confidence, inc.peak);
                    inc.summary = summarize(inc);
                    out(Event {
                        event: EventKind::Escalated,
                        incident: inc.clone(),
                    });
                    return;
                }
                if !inc.closed {
                    out(close(inc));
                }
            }
            self.remove(&key);
        }
        while self.index.len() >= self.max {
            let Some((k, id)) = self.order.pop_front() else {
                break;
            };
            if self.get(&k).is_some_and(|i| i.id == id) {
                self.remove(&k);
                self.evicted += 1;
            }
        }
        // a device that moved an executable and then misbehaves: the new incident follows
        // that one, a severity higher (one look-up, only when an incident opens)
        let follows = (f.detector.role() == Role::InfectedDevice
            && f.detector != Detector::C2Behaviour
            && self.is_open(f.device, Detector::C2Behaviour, t))
        .then(|| {
            self.get(&(f.device, Detector::C2Behaviour, 0))
                .map(|i| i.id)
        })
        .flatten();
        let id = self.next_id;
        self.next_id += 1;
        self.opened += 1;
        let mut inc = Incident {
            id,
            device: f.device,
            subscriber: subscriber.map(str::to_string),
            detector: f.detector,
            role: f.detector.role(),
            attack: f.attack,
            severity: f.severity,
            confidence: f.confidence,
            summary: String::new(),
            first_seen: since(f, r).1,
            last_seen: r.last(),
            records: 0,
            counters: BTreeMap::new(),
            targets: Vec::new(),
            samples: Vec::new(),
            domains: Vec::new(),
            labels: Vec::new(),
            first_us: since(f, r).0,
            last_us: r.last_us,
            peak: 0,
            emitted: (f.severity, f.confidence, 0),
            order: [0; MAX_COUNTERS],
            closed: false,
            hold_us: 0,
            mud: None,
            follows,
        };
        update(&mut inc, f, r);
        if follows.is_some() {
            inc.severity = match inc.severity {
                Severity::Low => Severity::Medium,
                Severity::Medium => Severity::High,
                _ => Severity::Critical,
            };
        }
        add_listing(&mut inc, listing);
        set_mud(&mut inc, mud);
        inc.emitted = (inc.severity, inc.confidence, inc.peak);
        inc.summary = summarize(&inc);
        self.order.push_back((key, id));
        // keep the order queue from growing with stale keys
        if self.order.len() > self.max.saturating_mul(2) {
            let mut order = std::mem::take(&mut self.order);
            order.retain(|(k, id)| self.get(k).is_some_and(|i| i.id == *id));
            self.order = order;
        }
        self.insert(key, inc.clone());
        out(Event {
            event: EventKind::Opened,
            incident: inc,
        });
    }
}

/// Marks an incident over; its `closed` event.
fn close(inc: &mut Incident) -> Event {
    inc.closed = true;
    Event {
        event: EventKind::Closed,
        incident: inc.clone(),
    }
}

/// Adds the listed domain and label of a finding to the incident; true if either was not
/// there yet.
fn add_listing(inc: &mut Incident, listing: Listing<'_>) -> bool {
    // every finding of the other detectors: nothing to add
    if listing.domain.is_none() && listing.label.is_none() {
        return false;
    }
    let domain = add_once(&mut inc.domains, listing.domain);
    add_once(&mut inc.labels, listing.label) || domain
}

/// Keeps a MUD violation's evidence as it stands; true if it names a flow more than before.
fn set_mud(inc: &mut Incident, mud: Option<&MudEvidence>) -> bool {
    let Some(m) = mud else {
        return false;
    };
    let before = inc.mud.as_ref().map_or(0, |e| e.flows.len());
    let more = m.flows.len() > before;
    match &mut inc.mud {
        Some(e) => (**e).clone_from(m),
        None => inc.mud = Some(Box::new(m.clone())),
    }
    more
}

/// Adds `item` to `list` unless it is there or the list holds [`MAX_TARGETS`]; true if
/// added.
fn add_once(list: &mut Vec<String>, item: Option<&str>) -> bool {
    match item {
        Some(d) if list.len() < MAX_TARGETS && !list.iter().any(|x| x == d) => {
            list.push(d.to_string());
            true
        }
        _ => false,
    }
}

/// When an opening incident began: its window's start, or the record's first time if earlier.
fn since(f: &Finding, r: &FlowRecord) -> (i64, jiff::Timestamp) {
    if f.since_us != 0 && f.since_us < r.first_us {
        let ts = jiff::Timestamp::from_microsecond(f.since_us).unwrap_or_else(|_| r.first());
        (f.since_us, ts)
    } else {
        (r.first_us, r.first())
    }
}

/// Sets the incident's counters to a finding's. `order` remembers, for each counter in the
/// map's (sorted) order, its position among the finding's counters: a detector pushes the
/// same names in the same order on every record of an attack, so the usual update is one
/// pass that checks each name (`'static` literals: by address first) and stores its value,
/// with no allocation.
fn set_counters(
    map: &mut BTreeMap<&'static str, u64>,
    order: &mut [u8; MAX_COUNTERS],
    c: &crate::detectors::Counters,
) {
    let same = |a: &str, b: &str| (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b;
    if map.len() == c.len() {
        let mut all = true;
        for ((k, slot), &j) in map.iter_mut().zip(order.iter()) {
            match c.at(usize::from(j)) {
                Some((n, v)) if same(n, k) => *slot = v,
                _ => {
                    all = false;
                    break;
                }
            }
        }
        if all {
            return;
        }
    }
    *map = c.iter().collect();
    for (o, k) in order.iter_mut().zip(map.keys()) {
        // at most MAX_COUNTERS counters: the position fits in a u8
        *o = c.iter().position(|(n, _)| n == *k).unwrap_or(0) as u8;
    }
}

fn update(inc: &mut Incident, f: &Finding, r: &FlowRecord) {
    inc.records = inc.records.saturating_add(1);
    inc.hold_us = inc.hold_us.max(f.hold_us);
    if r.first_us < inc.first_us {
        inc.first_us = r.first_us;
        inc.first_seen = r.first();
    }
    if r.last_us > inc.last_us {
        inc.last_us = r.last_us;
        inc.last_seen = r.last();
    }
    inc.severity = inc.severity.max(f.severity);
    if f.confidence > inc.confidence {
        inc.confidence = f.confidence;
    }
    if f.attack.is_some() && inc.attack != f.attack && f.magnitude >= inc.peak {
        inc.attack = f.attack;
    }
    if f.magnitude >= inc.peak {
        inc.peak = f.magnitude;
        set_counters(&mut inc.counters, &mut inc.order, &f.counters);
    } else if inc.counters.is_empty() {
        set_counters(&mut inc.counters, &mut inc.order, &f.counters);
    }
    let same = |t: &Target| {
        t.peer == f.target.peer
            && t.proto == f.target.proto
            && t.dst_port == f.target.dst_port
            && t.src_port == f.target.src_port
    };
    let n = inc.targets.len();
    match inc.targets.iter_mut().find(|t| same(t)) {
        Some(t) => t.mirai_ports |= f.target.mirai_ports,
        None if n < MAX_TARGETS => inc.targets.push(f.target),
        None => {}
    }
    if inc.samples.len() < MAX_SAMPLES {
        inc.samples.push(*r);
    }
}

fn summarize(inc: &Incident) -> String {
    match inc.follows {
        // no id in the text: the sharded engine renumbers incidents
        Some(_) => format!(
            "{} (after its c2-behaviour incident)",
            inc.detector.summary(inc)
        ),
        None => inc.detector.summary(inc),
    }
}

/// Writes events as JSON lines (one object per line) to any writer.
pub struct JsonLines<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        JsonLines { out, written: 0 }
    }

    /// Writes one event and a newline.
    pub fn write(&mut self, e: &Event) -> Result<(), Error> {
        serde_json::to_writer(&mut self.out, e)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// Writes one event given as its JSON object (one line, as [`JsonLines::write`] wrote
    /// it elsewhere) and a newline.
    pub fn write_raw(&mut self, json: &[u8]) -> Result<(), Error> {
        self.out.write_all(json)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// Events written.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        self.out.flush()?;
        Ok(())
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::Counters;

    impl Book {
        /// [`Book::record`] where no incident closes: its event.
        fn record_open(
            &mut self,
            f: &Finding,
            r: &FlowRecord,
            subscriber: Option<&str>,
            listing: Listing<'_>,
        ) -> Option<Event> {
            let (closed, event) = self.record_both(f, r, subscriber, listing);
            assert!(closed.is_none(), "{closed:?}");
            event
        }

        /// [`Book::record`]'s events: the closing, and the opening or escalation.
        fn record_both(
            &mut self,
            f: &Finding,
            r: &FlowRecord,
            subscriber: Option<&str>,
            listing: Listing<'_>,
        ) -> (Option<Event>, Option<Event>) {
            let (mut closed, mut event) = (None, None);
            self.record(f, r, subscriber, listing, None, |e| {
                if e.event == EventKind::Closed {
                    assert!(closed.replace(e).is_none());
                } else {
                    assert!(event.replace(e).is_none());
                }
            });
            (closed, event)
        }
    }

    fn finding(sev: Severity, conf: f32, magnitude: u64) -> Finding {
        Finding {
            detector: Detector::MiraiScan,
            device: Addr::v4([192, 0, 2, 1]),
            severity: sev,
            confidence: conf,
            attack: None,
            target: Target::default(),
            counters: Counters::default(),
            magnitude,
            since_us: 0,
            hold_us: 0,
            kind: 0,
        }
    }

    fn rec(t: i64) -> FlowRecord {
        let mut r = FlowRecord::new(iotrust_flow::SourceKind::Pcap);
        r.first_us = t;
        r.last_us = t;
        r
    }

    #[test]
    fn opens_once_escalates_on_change_only() {
        let mut b = Book::new(10, 60);
        let t = 1_000_000_000;
        let e = b.record_open(
            &finding(Severity::Medium, 0.6, 64),
            &rec(t),
            Some("c1"),
            Listing::default(),
        );
        assert_eq!(e.as_ref().map(|e| e.event), Some(EventKind::Opened));
        assert_eq!(e.unwrap().incident.subscriber.as_deref(), Some("c1"));
        // same finding again, and a slightly bigger one: nothing
        assert!(b
            .record_open(
                &finding(Severity::Medium, 0.6, 64),
                &rec(t + 1),
                None,
                Listing::default()
            )
            .is_none());
        assert!(b
            .record_open(
                &finding(Severity::Medium, 0.62, 100),
                &rec(t + 2),
                None,
                Listing::default()
            )
            .is_none());
        // magnitude doubled
        let e = b
            .record_open(
                &finding(Severity::Medium, 0.6, 128),
                &rec(t + 3),
                None,
                Listing::default(),
            )
            .unwrap();
        assert_eq!(e.event, EventKind::Escalated);
        assert_eq!(e.incident.id, 1);
        // severity up
        let e = b
            .record_open(
                &finding(Severity::High, 0.6, 10),
                &rec(t + 4),
                None,
                Listing::default(),
            )
            .unwrap();
        assert_eq!(e.incident.severity, Severity::High);
        // confidence up by 0.05
        let e = b
            .record_open(
                &finding(Severity::High, 0.99, 10),
                &rec(t + 5),
                None,
                Listing::default(),
            )
            .unwrap();
        assert_eq!(e.incident.confidence, 0.99);
        assert_eq!(e.incident.records, 6);
        assert_eq!(e.incident.samples.len(), MAX_SAMPLES);
        // lower values never lower the incident
        assert!(b
            .record_open(
                &finding(Severity::Low, 0.1, 1),
                &rec(t + 6),
                None,
                Listing::default()
            )
            .is_none());
        let inc = b.incidents().next().unwrap();
        assert_eq!(
            (inc.severity, inc.confidence, inc.peak),
            (Severity::High, 0.99, 128)
        );
        // after the TTL the incident closes (no sweep came first) and a new one opens
        let (closed, e) = b.record_both(
            &finding(Severity::Medium, 0.6, 64),
            &rec(t + 61_000_001),
            None,
            Listing::default(),
        );
        let closed = closed.unwrap();
        assert_eq!((closed.event, closed.incident.id), (EventKind::Closed, 1));
        assert_eq!(closed.incident.severity, Severity::High);
        let e = e.unwrap();
        assert_eq!((e.event, e.incident.id), (EventKind::Opened, 2));
        assert_eq!(b.opened, 2);
        // a sweep closes it once its time is over, once
        assert!(b.sweep(t + 61_000_001 + 60_000_000).is_empty());
        let swept = b.sweep(t + 61_000_001 + 60_000_001);
        assert_eq!(swept.len(), 1);
        assert_eq!(
            (swept[0].event, swept[0].incident.id),
            (EventKind::Closed, 2)
        );
        assert!(b.sweep(t + 200_000_000).is_empty());
        assert!(!b.is_open(
            Addr::v4([192, 0, 2, 1]),
            Detector::MiraiScan,
            t + 61_000_001
        ));
        // still listed, over
        assert!(b.incidents().all(Incident::is_closed));
        // a finding after a sweep closed it: no second closing, a new incident
        let (closed, e) = b.record_both(
            &finding(Severity::Medium, 0.6, 64),
            &rec(t + 61_000_002),
            None,
            Listing::default(),
        );
        assert!(closed.is_none());
        assert_eq!(
            e.map(|e| (e.event, e.incident.id)),
            Some((EventKind::Opened, 3))
        );
    }

    /// Counters follow the finding of the largest magnitude, whatever names and order it
    /// pushes them in.
    #[test]
    fn counters_follow_the_peak_finding() {
        let mut b = Book::new(10, 3600);
        let t = 1_000_000_000;
        let with = |m: u64, names: &[&'static str]| {
            let mut f = finding(Severity::Medium, 0.6, m);
            for (i, n) in names.iter().enumerate() {
                f.counters.push(n, m * 10 + i as u64);
            }
            f
        };
        let steps: [(u64, &[&'static str]); 5] = [
            (1, &["pps", "bps", "sources"]),
            (2, &["pps", "bps", "sources"]),
            // same names, another order
            (3, &["sources", "pps", "bps"]),
            // one name more, one fewer
            (4, &["pps", "sources", "records", "bps"]),
            (5, &["bps", "records"]),
        ];
        for (i, (m, names)) in steps.iter().enumerate() {
            b.record_open(
                &with(*m, names),
                &rec(t + i as i64),
                None,
                Listing::default(),
            );
            let inc = b
                .incidents()
                .next()
                .map(|i| i.counters.clone())
                .unwrap_or_default();
            let want: BTreeMap<&str, u64> = names
                .iter()
                .enumerate()
                .map(|(j, n)| (*n, m * 10 + j as u64))
                .collect();
            assert_eq!(inc, want, "step {i}");
        }
        // a smaller magnitude leaves them as they are
        b.record_open(&with(1, &["other"]), &rec(t + 9), None, Listing::default());
        let inc = b
            .incidents()
            .next()
            .map(|i| i.counters.clone())
            .unwrap_or_default();
        assert_eq!(inc.keys().copied().collect::<Vec<_>>(), ["bps", "records"]);
    }

    #[test]
    fn bounded_oldest_forgotten_first() {
        let mut b = Book::new(3, 3600);
        for i in 0..10u8 {
            let mut f = finding(Severity::High, 0.9, 1);
            f.device = Addr::v4([192, 0, 2, i]);
            assert!(b
                .record_open(&f, &rec(1_000_000 + i64::from(i)), None, Listing::default())
                .is_some());
            assert!(b.len() <= 3);
        }
        assert_eq!(b.evicted, 7);
        let mut kept: Vec<u64> = b.incidents().map(|i| i.id).collect();
        kept.sort_unstable();
        assert_eq!(kept, vec![8, 9, 10]);
        assert!(b.order.len() <= 6);
    }

    /// The book (slots, the remembered last key, live counts per detector) against a
    /// plain map of the same rules, on random findings about a few keys with reopening after
    /// the TTL and eviction at the bound.
    #[test]
    fn book_matches_a_plain_map() {
        use std::collections::HashMap as Map;
        const DETECTORS: [Detector; 3] = [
            Detector::MiraiScan,
            Detector::InboundAttack,
            Detector::Beaconing,
        ];
        let (max, ttl_secs) = (4usize, 10u64);
        let ttl_us = ttl_secs as i64 * 1_000_000;
        let mut b = Book::new(max, ttl_secs);
        // key -> (id, last_us, closed); the opening order
        let mut live: Map<Key, (u64, i64, bool)> = Map::new();
        let mut order: VecDeque<(Key, u64)> = VecDeque::new();
        let (mut next_id, mut evicted) = (1u64, 0u64);
        let mut rng = iotrust_flow::testing::Rng(0x9e37_79b9_7f4a_7c15u64);
        let mut next = move || rng.next_u64();
        let mut t = 1_000_000_000i64;
        for step in 0..5000 {
            t += (next() % 4_000_000) as i64 - 500_000;
            let device = Addr::v4([192, 0, 2, (next() % 3) as u8]);
            let detector = DETECTORS[next() as usize % DETECTORS.len()];
            let key = (device, detector, 0u8);
            let mut f = finding(Severity::Medium, 0.6, 0);
            (f.device, f.detector) = (device, detector);
            // now and then a sweep, as of a time about now
            if step % 37 == 0 {
                let now = t + (next() % 2_000_000) as i64;
                let got: Vec<u64> = b.sweep(now).iter().map(|e| e.incident.id).collect();
                let mut want: Vec<u64> = live
                    .values_mut()
                    .filter(|(_, last, closed)| !*closed && now.saturating_sub(*last) > ttl_us)
                    .map(|(id, _, closed)| {
                        *closed = true;
                        *id
                    })
                    .collect();
                want.sort_unstable();
                assert_eq!(got, want, "step {step}: sweep");
            }
            let (closed, event) = b.record_both(&f, &rec(t), None, Listing::default());
            let got = (
                closed.map(|e| (e.event, e.incident.id)),
                event.map(|e| (e.event, e.incident.id)),
            );
            // the model
            let want = match live.get_mut(&key) {
                Some((_, last, false)) if t.saturating_sub(*last) <= ttl_us => {
                    *last = (*last).max(t);
                    (None, None)
                }
                old => {
                    let ended = match old {
                        Some((id, _, false)) => Some((EventKind::Closed, *id)),
                        _ => None,
                    };
                    live.remove(&key);
                    while live.len() >= max {
                        let Some((k, id)) = order.pop_front() else {
                            break;
                        };
                        if live.get(&k).is_some_and(|(i, _, _)| *i == id) {
                            live.remove(&k);
                            evicted += 1;
                        }
                    }
                    let id = next_id;
                    next_id += 1;
                    order.push_back((key, id));
                    if order.len() > max * 2 {
                        order.retain(|(k, id)| live.get(k).is_some_and(|(i, _, _)| i == id));
                    }
                    live.insert(key, (id, t, false));
                    (ended, Some((EventKind::Opened, id)))
                }
            };
            assert_eq!(got, want, "step {step}");
            assert_eq!((b.len(), b.evicted), (live.len(), evicted), "step {step}");
            let probe = (
                Addr::v4([192, 0, 2, (next() % 3) as u8]),
                DETECTORS[next() as usize % DETECTORS.len()],
                0u8,
            );
            let now = t + (next() % 3_000_000) as i64;
            assert_eq!(
                b.is_open(probe.0, probe.1, now),
                live.get(&probe).is_some_and(
                    |(_, last, closed)| !closed && now.saturating_sub(*last) <= ttl_us
                ),
                "step {step}"
            );
            let mut ids: Vec<u64> = b.incidents().map(|i| i.id).collect();
            ids.sort_unstable();
            let mut want_ids: Vec<u64> = live.values().map(|(id, _, _)| *id).collect();
            want_ids.sort_unstable();
            assert_eq!(ids, want_ids, "step {step}");
        }
        assert!(evicted > 100 && next_id > 500, "{evicted} {next_id}");
    }

    fn named(domain: &str) -> Listing<'_> {
        Listing {
            domain: Some(domain),
            label: None,
        }
    }

    /// A C2 incident lists each listed domain once; a new one is an escalation.
    #[test]
    fn a_new_domain_escalates_a_known_one_does_not() {
        let mut b = Book::new(10, 3600);
        let t = 1_000_000_000;
        let f = || {
            let mut f = finding(Severity::High, 0.9, 1);
            f.detector = Detector::C2Contact;
            f
        };
        let kind = |e: Option<Event>| e.map(|e| (e.event, e.incident.domains));
        let a = || vec!["a.example".to_string()];
        assert_eq!(
            kind(b.record_open(&f(), &rec(t), None, named("a.example"))),
            Some((EventKind::Opened, a()))
        );
        assert_eq!(
            kind(b.record_open(&f(), &rec(t + 1), None, named("a.example"))),
            None
        );
        assert_eq!(
            kind(b.record_open(&f(), &rec(t + 2), None, Listing::default())),
            None
        );
        assert_eq!(
            kind(b.record_open(&f(), &rec(t + 3), None, named("*.b.example"))),
            Some((
                EventKind::Escalated,
                vec!["a.example".to_string(), "*.b.example".to_string()]
            ))
        );
    }

    /// The labels of the indicators matched are kept once each and end the summary; a new
    /// one (another family's C2) is an escalation.
    #[test]
    fn indicator_labels_are_kept_and_shown() {
        let mut b = Book::new(10, 3600);
        let t = 1_000_000_000;
        let f = || {
            let mut f = finding(Severity::High, 0.95, 1);
            f.detector = Detector::C2Contact;
            f.target.dst_port = Some(23);
            f
        };
        let labelled = |label| Listing {
            domain: None,
            label: Some(label),
        };
        let opened = b
            .record_open(&f(), &rec(t), None, labelled("mirai-cnc"))
            .unwrap();
        assert_eq!(opened.incident.labels, ["mirai-cnc"]);
        assert!(
            opened.incident.summary.ends_with(" (mirai-cnc)"),
            "{}",
            opened.incident.summary
        );
        assert!(b
            .record_open(&f(), &rec(t + 1), None, labelled("mirai-cnc"))
            .is_none());
        let e = b
            .record_open(&f(), &rec(t + 2), None, labelled("gafgyt"))
            .unwrap();
        assert_eq!(e.event, EventKind::Escalated);
        assert_eq!(e.incident.labels, ["mirai-cnc", "gafgyt"]);
        assert!(
            e.incident.summary.ends_with(" (mirai-cnc, gafgyt)"),
            "{}",
            e.incident.summary
        );
        let json = serde_json::to_value(&e.incident).unwrap();
        assert_eq!(json["labels"][1], "gafgyt");
    }
}
