//! The streaming engine: one record at a time, time from the records.

use iotrust_flow::announce::Announcement;
use iotrust_flow::dns::DnsMessage;
use iotrust_flow::{Addr, FlowRecord};
use serde::{Deserialize, Serialize};

use crate::detectors::{self, c2::Indicators, Detector, Finding};
use crate::incident::{Book, Event, Incident};
use crate::net::{LocalNets, Prefix};
use crate::resolved::Resolved;
use crate::subscribers::Subscribers;
use crate::table::HostTable;

/// Everything `watch` can be told. `Default` gives the documented thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Hosts with state at most (each [`Watch::bytes_per_host`] bytes); the least recently
    /// seen host is forgotten first.
    pub max_hosts: usize,
    /// Live incidents kept at most (the oldest opened forgotten first).
    pub max_incidents: usize,
    /// An incident with no finding for this long (record time) is over.
    pub incident_ttl_secs: u64,
    /// Subscriber prefixes: only these addresses get state and incidents, as sources
    /// (outbound detectors) or destinations (inbound). Empty = every address.
    #[serde(with = "prefix_list")]
    pub local_networks: Vec<Prefix>,
    pub mirai: detectors::mirai::Config,
    pub scan: detectors::scan::Config,
    pub flood: detectors::flood::Config,
    pub inbound: detectors::inbound::Config,
    pub bruteforce: detectors::bruteforce::Config,
    pub beacon: detectors::beacon::Config,
    pub baseline: detectors::baseline::Config,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_hosts: 1_000_000,
            max_incidents: 100_000,
            incident_ttl_secs: 3600,
            local_networks: Vec::new(),
            mirai: Default::default(),
            scan: Default::default(),
            flood: Default::default(),
            inbound: Default::default(),
            bruteforce: Default::default(),
            beacon: Default::default(),
            baseline: Default::default(),
        }
    }
}

mod prefix_list {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::net::Prefix;

    pub fn serialize<S: Serializer>(v: &[Prefix], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|p| p.to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Prefix>, D::Error> {
        let v: Vec<String> = Vec::deserialize(d)?;
        v.iter()
            .map(|s| {
                s.parse()
                    .map_err(|e: crate::net::PrefixError| serde::de::Error::custom(e.0))
            })
            .collect()
    }
}

/// Records whose hosts are looked up together by [`Watch::observe_batch`].
const AHEAD: usize = 32;
/// No table hint: look the host up.
const NO_HINT: u32 = u32::MAX;
/// The event slots of MUD violations, the source's then the destination's: after every
/// other detector's (0 to 8) for the same record (two, so that the sharded merge keeps a
/// lone engine's order when both sides are devices with declarations in different shards).
const MUD_SRC_SLOT: u8 = 9;
const MUD_DST_SLOT: u8 = 10;
/// The event slot of DNS findings: after every detector's for the same record.
const DNS_SLOT: u8 = 11;
/// The event slot of `closed` events from a sweep (the sharded merge orders them by id).
pub(crate) const SWEEP_SLOT: u8 = 12;

/// How often (record time) incidents are looked at for closing: a sixtieth of their time
/// to live, at least every second.
pub(crate) fn sweep_every_us(cfg: &Config) -> i64 {
    (crate::detectors::secs_us(cfg.incident_ttl_secs) / 60).max(1_000_000)
}

/// The first sweep time after `t_us` (sweeps fall on multiples of `every_us`, so that the
/// sharded engine's router and a lone [`Watch`] sweep at the same records).
pub(crate) fn next_sweep_us(t_us: i64, every_us: i64) -> i64 {
    t_us.div_euclid(every_us)
        .saturating_add(1)
        .saturating_mul(every_us)
}

/// Counters of a [`Watch`], for reports and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WatchStats {
    pub records: u64,
    /// Hosts with state now.
    pub hosts: usize,
    pub max_hosts: usize,
    pub hosts_evicted: u64,
    /// Bytes of state per tracked host (table entry and index entry).
    pub bytes_per_host: usize,
    /// Bytes the host table holds now.
    pub state_bytes: usize,
    /// Incidents opened so far.
    pub incidents_opened: u64,
    /// Incidents kept now (live, or over but not yet forgotten).
    pub incidents_kept: usize,
    pub incidents_evicted: u64,
    /// Events (opened, escalated and closed) produced.
    pub events: u64,
}

/// The detection engine. Feed it records with [`Watch::observe`], take the incident events
/// with [`Watch::drain_events`].
pub struct Watch {
    cfg: Config,
    local: LocalNets,
    table: HostTable,
    book: Book,
    indicators: Indicators,
    /// Addresses DNS answers named (beaconing's `no-dns` evidence).
    resolved: Resolved,
    subscribers: Subscribers,
    /// Devices' declared network behaviour (MUD) and what broke it; `None` without `--mud`
    /// (nothing is looked at).
    mud: Option<Box<detectors::mud::MudWatch>>,
    out: Outbox,
    records: u64,
    /// Sweep for incidents to close as records come ([`Watch::tick`]); off in a shard of
    /// the sharded engine, whose router tells it when.
    auto_sweep: bool,
    sweep_every_us: i64,
    next_sweep_us: i64,
}

/// Events made and not yet taken.
#[derive(Default)]
struct Outbox {
    events: Vec<Event>,
    /// The slot (detector position in [`Watch::observe`]'s order) of each event, for the
    /// sharded engine's merge.
    slots: Vec<u8>,
    /// Events made so far.
    made: u64,
}

impl Outbox {
    fn push(&mut self, slot: u8, e: Event) {
        self.made += 1;
        self.events.push(e);
        self.slots.push(slot);
    }
}

/// Hands a finding about record `r` to the book and keeps its events under `slot`.
#[inline(always)]
fn keep(
    book: &mut Book,
    subscribers: &Subscribers,
    indicators: &Indicators,
    out: &mut Outbox,
    slot: u8,
    f: &Finding,
    r: &FlowRecord,
) {
    let listing = indicators.listing(f, r.last_us);
    book.record(f, r, subscribers.lookup(f.device), listing, None, |e| {
        out.push(slot, e);
    });
}

/// One item of the sharded engine or of a bus partition, as [`Watch::observe_batch_sides`]
/// runs it: a record for the detectors of its `sides`, its DNS message, a MUD announcement
/// (applied first), or a sweep time.
pub(crate) struct ItemRef<'r> {
    pub(crate) record: &'r FlowRecord,
    pub(crate) sides: Sides,
    pub(crate) dns: Option<&'r DnsMessage>,
    pub(crate) mud: Option<&'r Announcement>,
    pub(crate) sweep: bool,
}

/// Which sides of a record a [`Watch`] evaluates: only local addresses have detectors and
/// state, so a side is set only when its address is local (the sharded engine also gives
/// each side to the shard owning that address).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sides {
    /// The source's outbound detectors.
    pub(crate) src: bool,
    /// The destination's inbound detectors.
    pub(crate) dst: bool,
}

impl Sides {
    pub(crate) const SRC: Sides = Sides {
        src: true,
        dst: false,
    };
    pub(crate) const DST: Sides = Sides {
        src: false,
        dst: true,
    };
    pub(crate) const BOTH: Sides = Sides {
        src: true,
        dst: true,
    };
    /// No detector side: the record is there for its DNS message only.
    pub(crate) const NONE: Sides = Sides {
        src: false,
        dst: false,
    };
}

impl Watch {
    pub fn new(cfg: Config) -> Watch {
        let local = LocalNets::new(&cfg.local_networks);
        Watch {
            table: HostTable::new(cfg.max_hosts),
            book: Book::new(cfg.max_incidents, cfg.incident_ttl_secs),
            local,
            indicators: Indicators::default(),
            resolved: Resolved::default(),
            subscribers: Subscribers::default(),
            mud: None,
            out: Outbox::default(),
            records: 0,
            auto_sweep: true,
            sweep_every_us: sweep_every_us(&cfg),
            next_sweep_us: i64::MIN,
            cfg,
        }
    }

    /// A shard's engine: it closes incidents only when told ([`Watch::sweep`]).
    pub(crate) fn without_auto_sweep(mut self) -> Watch {
        self.auto_sweep = false;
        self
    }

    /// Before an item of record time `t_us`: closes the incidents that are over if a sweep
    /// time has passed.
    #[inline]
    fn tick(&mut self, t_us: i64) {
        if self.auto_sweep && t_us >= self.next_sweep_us {
            self.sweep(t_us);
        }
    }

    /// Closes every incident with no finding for its time to live as of `now_us` (events
    /// `closed`, by id).
    pub(crate) fn sweep(&mut self, now_us: i64) {
        self.next_sweep_us = next_sweep_us(now_us, self.sweep_every_us);
        for e in self.book.sweep(now_us) {
            self.out.push(SWEEP_SLOT, e);
        }
    }

    /// Uses this C2 indicator list.
    pub fn with_indicators(mut self, ind: Indicators) -> Watch {
        self.indicators = ind;
        self
    }

    /// Takes an indicator list loaded anew from here on ([`Indicators::reload`]: addresses
    /// learned for domains still listed are kept). Open incidents stay as they are.
    pub fn set_indicators(&mut self, ind: Indicators) {
        self.indicators.reload(ind);
    }

    /// Checks devices against their declared network behaviour (MUD files: the map's, and
    /// those devices announce) — the `mud-violation` detector.
    pub fn with_mud(mut self, mud: detectors::mud::MudWatch) -> Watch {
        self.mud = Some(Box::new(mud));
        self
    }

    /// A MUD URL a device announced, at `r`'s place in the stream (`r` places it and is no
    /// traffic): the device's declaration from then on (nothing without
    /// [`Watch::with_mud`], or for a device outside the local networks).
    pub fn announce(&mut self, r: &FlowRecord, a: &Announcement) {
        self.tick(r.last_us);
        self.announce_owned(a, |_| true);
    }

    fn announce_owned(&mut self, a: &Announcement, owns: impl Fn(Addr) -> bool) {
        if let Some(m) = self.mud.as_deref_mut() {
            if self.local.contains(a.device) && owns(a.device) {
                m.bind_announced(a);
            }
        }
    }

    /// Names subscribers in incidents from this mapping.
    pub fn with_subscribers(mut self, subs: Subscribers) -> Watch {
        self.subscribers = subs;
        self
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Bytes of state per tracked host.
    pub fn bytes_per_host() -> usize {
        HostTable::bytes_per_host()
    }

    /// The sides of `r` whose address is local.
    fn local_sides(&self, r: &FlowRecord) -> Sides {
        Sides {
            src: self.local.contains(r.src),
            dst: self.local.contains(r.dst),
        }
    }

    /// Runs every detector over one record.
    pub fn observe(&mut self, r: &FlowRecord) {
        self.observe_hinted(r, self.local_sides(r), |_| true, (NO_HINT, NO_HINT));
    }

    /// [`Watch::observe`] for a packet that carried a DNS message: then, for a listed
    /// domain, the addresses answered are learned and the device that asked or is told is
    /// found in C2 contact (see [`detectors::c2`]).
    pub fn observe_with_dns(&mut self, r: &FlowRecord, msg: &DnsMessage) {
        self.observe(r);
        self.dns(r, msg, |_| true);
    }

    /// A DNS message known from a log rather than a packet (Zeek's dns.log): `r` places it
    /// (addresses, ports, time) and is not traffic, so no detector but the C2 domains sees
    /// it; otherwise as [`Watch::observe_with_dns`].
    pub fn observe_dns(&mut self, r: &FlowRecord, msg: &DnsMessage) {
        self.tick(r.last_us);
        self.dns(r, msg, |_| true);
    }

    /// The DNS part of [`Watch::observe_with_dns`]; a finding is kept only when
    /// `owns(device)`. Its events take the slot after every detector's.
    fn dns(&mut self, r: &FlowRecord, msg: &DnsMessage, owns: impl Fn(Addr) -> bool) {
        self.resolved.observe(msg, r.last_us);
        if let Some(m) = self.mud.as_deref_mut() {
            m.learn_names(msg, r.last_us);
        }
        let local = &self.local;
        let Some(f) = self
            .indicators
            .observe_dns(r, msg, |a| local.contains(a))
            .filter(|f| owns(f.device))
        else {
            return;
        };
        keep(
            &mut self.book,
            &self.subscribers,
            &self.indicators,
            &mut self.out,
            DNS_SLOT,
            &f,
            r,
        );
    }

    /// Runs every detector over each record in turn: the same as [`Watch::observe`] on
    /// each, but the hosts of a group of records are looked up ahead, so that their memory
    /// misses overlap instead of queueing.
    pub fn observe_batch(&mut self, records: &[FlowRecord]) {
        for group in records.chunks(AHEAD) {
            // which sides are local, and the table slots of those
            let mut sides = [Sides::default(); AHEAD];
            for (s, r) in sides.iter_mut().zip(group) {
                *s = self.local_sides(r);
            }
            let hints = self.hints(group.iter().zip(sides));
            for ((r, s), h) in group.iter().zip(sides).zip(hints) {
                self.observe_hinted(r, s, |_| true, h);
            }
        }
    }

    /// [`Watch::observe_batch`] for the sharded engine's items: each with its sides, its
    /// events tagged by `tag` and handed to `out` after each record.
    pub(crate) fn observe_batch_sides<'r, T>(
        &mut self,
        items: &'r [T],
        get: impl Fn(&'r T) -> ItemRef<'r>,
        owns: impl Fn(Addr) -> bool,
        mut out: impl FnMut(&T, u8, Event),
    ) {
        for group in items.chunks(AHEAD) {
            let hints = self.hints(group.iter().map(|it| {
                let i = get(it);
                (i.record, i.sides)
            }));
            for (it, h) in group.iter().zip(hints) {
                let ItemRef {
                    record: r,
                    sides,
                    dns,
                    mud,
                    sweep,
                } = get(it);
                if sweep {
                    self.sweep(r.last_us);
                }
                if let Some(a) = mud {
                    self.tick(r.last_us);
                    self.announce_owned(a, &owns);
                }
                if sides != Sides::NONE {
                    self.observe_hinted(r, sides, &owns, h);
                }
                if let Some(msg) = dns {
                    self.dns(r, msg, &owns);
                }
                for (slot, e) in self.drain_tagged() {
                    out(it, slot, e);
                }
            }
        }
    }

    /// The table hints of the chosen sides of each record of a group (their state starts
    /// loading now): every index entry first, then every slot, so that both kinds of
    /// misses overlap across the group.
    fn hints<'r>(
        &self,
        group: impl Iterator<Item = (&'r FlowRecord, Sides)>,
    ) -> [(u32, u32); AHEAD] {
        let mut tags: [(u32, u32, Option<&FlowRecord>); AHEAD] = [(NO_HINT, NO_HINT, None); AHEAD];
        for (t, (r, sides)) in tags.iter_mut().zip(group) {
            t.2 = Some(r);
            if sides.src {
                t.0 = self.table.prepare(r.src);
            }
            if sides.dst {
                t.1 = self.table.prepare(r.dst);
            }
        }
        let mut hints = [(NO_HINT, NO_HINT); AHEAD];
        for (h, (src, dst, r)) in hints.iter_mut().zip(tags) {
            let Some(r) = r else { break };
            // NO_HINT as a tag is only a missed hint: `touch_hinted` checks every hint
            if src != NO_HINT {
                h.0 = self.table.hint_tagged(src, r, true);
            }
            if dst != NO_HINT {
                h.1 = self.table.hint_tagged(dst, r, false);
            }
        }
        hints
    }

    /// Runs the detectors of the chosen (local) sides over one record, with table hints
    /// for the source and the destination; a C2 finding is kept only when `owns(device)`.
    fn observe_hinted(
        &mut self,
        r: &FlowRecord,
        sides: Sides,
        owns: impl Fn(Addr) -> bool,
        hints: (u32, u32),
    ) {
        self.tick(r.last_us);
        self.records += 1;
        let (src_local, dst_local) = (sides.src, sides.dst);
        let mirai_open = src_local && self.book.is_open(r.src, Detector::MiraiScan, r.last_us);
        // each finding goes to the book as soon as its detector returns, in slot order
        // (the order events of one record come out in; the sharded merge keeps it): no
        // detector reads the book, so this is the order of running them all first, without
        // copying findings around
        let (book, subscribers, indicators) = (&mut self.book, &self.subscribers, &self.indicators);
        let resolved = &self.resolved;
        let out = &mut self.out;
        // a macro, not a closure: the check for a finding stays in this loop whatever the
        // size of what follows it (a closure the compiler did not inline cost 8 calls a
        // record)
        macro_rules! emit {
            ($slot:expr, $f:expr $(,)?) => {
                if let Some(f) = $f {
                    keep(book, subscribers, indicators, out, $slot, f, r);
                }
            };
        }
        let cfg = &self.cfg;
        if src_local {
            if let Some(h) = self.table.touch_hinted(r.src, hints.0) {
                // the destination as the sketches and beaconing keys see it, hashed once
                let dst_hash = crate::sketch::hash_addr(r.dst);
                let m = detectors::mirai::observe(&cfg.mirai, &mut h.mirai, r, dst_hash);
                emit!(0, &m);
                let s = detectors::scan::observe(&cfg.scan, &mut h.scan, r, dst_hash);
                // the Mirai detector explains the same probes better
                if m.is_none() && !mirai_open {
                    emit!(1, &s);
                }
                emit!(2, &detectors::flood::observe(&cfg.flood, &mut h.flood, r));
                emit!(
                    3,
                    &detectors::baseline::observe(&cfg.baseline, &mut h.baseline, r),
                );
                // expected periodic contact (an `allow` line of the list) is no beacon
                if !indicators.expected(r.dst, r.dst_port, r.last_us) {
                    emit!(
                        4,
                        &detectors::beacon::observe(
                            &cfg.beacon,
                            &mut h.beacon,
                            r,
                            dst_hash,
                            || resolved.lookup(r.dst, r.last_us),
                        ),
                    );
                    if detectors::behaviour::interesting(r) {
                        emit!(5, &detectors::behaviour::observe_outbound(r));
                    }
                }
            }
        }
        if dst_local {
            if let Some(h) = self.table.touch_hinted(r.dst, hints.1) {
                emit!(
                    6,
                    &detectors::inbound::observe(&cfg.inbound, &mut h.inbound, r),
                );
                emit!(
                    7,
                    &detectors::bruteforce::observe(&cfg.bruteforce, &mut h.bruteforce, r),
                );
                if detectors::behaviour::interesting(r)
                    && !indicators.expected(r.src, r.src_port, r.last_us)
                {
                    emit!(7, &detectors::behaviour::observe_inbound(r));
                }
            }
        }
        let local = &self.local;
        let c2 = self
            .indicators
            .observe(r, |a| local.contains(a))
            .filter(|f| owns(f.device));
        emit!(8, &c2);
        if let Some(m) = self.mud.as_deref_mut() {
            let book = &mut self.book;
            for (on, device, from_device, slot) in [
                (src_local, r.src, true, MUD_SRC_SLOT),
                (dst_local, r.dst, false, MUD_DST_SLOT),
            ] {
                if !on {
                    continue;
                }
                let open =
                    |kind: u8| book.is_open_kind(device, Detector::MudViolation, kind, r.last_us);
                if let Some((f, ev)) = m.observe(r, device, from_device, open) {
                    // the violation's evidence goes with it; no indicator list speaks of it
                    let listing = detectors::c2::Listing::default();
                    let sub = subscribers.lookup(f.device);
                    book.record(&f, r, sub, listing, Some(ev), |e| out.push(slot, e));
                }
            }
        }
    }

    /// The events produced since the last call with their slots, oldest first.
    pub(crate) fn drain_tagged(&mut self) -> impl Iterator<Item = (u8, Event)> + '_ {
        self.out.slots.drain(..).zip(self.out.events.drain(..))
    }

    /// Runs every record of an iterator (convenience for files read whole).
    pub fn observe_all<'a>(&mut self, records: impl IntoIterator<Item = &'a FlowRecord>) {
        for r in records {
            self.observe(r);
        }
    }

    /// True if events wait for [`Watch::drain_events`].
    pub fn has_events(&self) -> bool {
        !self.out.events.is_empty()
    }

    /// The events produced since the last call, oldest first.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, Event> {
        self.out.slots.clear();
        self.out.events.drain(..)
    }

    /// Incidents kept now (live or recently over), in no particular order.
    pub fn incidents(&self) -> impl Iterator<Item = &Incident> {
        self.book.incidents()
    }

    /// True if `addr` has state.
    pub fn tracks(&self, addr: Addr) -> bool {
        self.table.get(addr).is_some()
    }

    pub fn stats(&self) -> WatchStats {
        WatchStats {
            records: self.records,
            hosts: self.table.len(),
            max_hosts: self.table.max_hosts(),
            hosts_evicted: self.table.evicted(),
            bytes_per_host: HostTable::bytes_per_host(),
            state_bytes: self.table.state_bytes(),
            incidents_opened: self.book.opened,
            incidents_kept: self.book.len(),
            incidents_evicted: self.book.evicted,
            events: self.out.made,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_rejects_unknown_keys() {
        let c = Config {
            local_networks: vec![
                "192.0.2.0/24".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
            mirai: detectors::mirai::Config {
                min_destinations: 32,
                ..Default::default()
            },
            ..Config::default()
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["local_networks"][0], "192.0.2.0/24");
        assert_eq!(v["inbound"]["syn_pps"], 1_000);
        let back: Config = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
        let partial: Config =
            serde_json::from_str(r#"{"max_hosts": 10, "flood": {"syn_pps": 100}}"#).unwrap();
        assert_eq!(partial.max_hosts, 10);
        assert_eq!(partial.flood.syn_pps, 100);
        assert_eq!(partial.flood.udp_pps, 2_000);
        assert!(serde_json::from_str::<Config>(r#"{"max_host": 10}"#).is_err());
        assert!(serde_json::from_str::<Config>(r#"{"local_networks": ["10.0.0.0/40"]}"#).is_err());
    }

    #[test]
    fn local_networks_decide_who_gets_state() {
        let mut w = Watch::new(Config {
            local_networks: vec!["192.0.2.0/24".parse().unwrap()],
            ..Config::default()
        });
        let mut r = FlowRecord::new(iotrust_flow::SourceKind::Pcap);
        r.src = Addr::v4([192, 0, 2, 1]);
        r.dst = Addr::v4([198, 51, 100, 1]);
        r.proto = 17;
        r.packets = 1;
        w.observe(&r);
        assert!(w.tracks(r.src));
        assert!(!w.tracks(r.dst));
        assert_eq!(w.stats().hosts, 1);
    }
}
