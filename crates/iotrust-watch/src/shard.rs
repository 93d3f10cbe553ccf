//! The sharded engine: the host table split over worker threads by address.
//!
//! [`Sharded`] owns `n` worker threads, each running a [`Watch`] with its own host table
//! (of `max_hosts / n` entries), incident book and counters. Every host belongs to one
//! shard, chosen by a hash of its address ([`shard_of`]). A record goes to the shard that
//! owns its source (outbound detectors: Mirai, scan, flood, and whatever else keys on the
//! source) and to the shard that owns its destination (inbound detectors); once if both are
//! the same shard, and only for a side whose address is local (`Config::local_networks`:
//! other addresses get no state, and a C2 contact's device is local). A C2 contact is kept
//! by the shard owning the incident's device. So every host's state and every incident live
//! in exactly one shard, and each shard sees that host's records in stream order: the
//! findings are those of a single [`Watch`].
//!
//! Records are handed over in batches; while the workers run earlier batches (up to
//! [`DEPTH`] in flight), the caller decodes the next, so a batch that takes one shard
//! longer does not stall the others or the caller. The events of a batch are merged in
//! stream order (record, then detector) and given ids in the order incidents open, so the output is **identical to one `Watch`**
//! over the same records as long as no bound is hit (host table or incident book full:
//! each shard evicts within its own share, so which host is forgotten first may differ).
//! A test checks the identity on the generated mixed traffic and the real captures.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use iotrust_flow::announce::Announcement;
use iotrust_flow::dns::DnsMessage;
use iotrust_flow::{Addr, FlowRecord};

use crate::detectors::c2::{Domains, Indicators};
use crate::detectors::mud::MudSetup;
use crate::incident::{Event, EventKind, Incident};
use crate::net::LocalNets;
use crate::subscribers::Subscribers;
use crate::watch::{
    next_sweep_us, sweep_every_us, Config, ItemRef, Sides, Watch, WatchStats, SWEEP_SLOT,
};

/// Records per batch (summed over the shards) before it is handed to the workers.
pub const BATCH: usize = 8192;
/// Batches in flight at most: the caller runs ahead of the slowest shard by this many.
pub const DEPTH: usize = 3;

/// The shard (of `n`) that owns `addr`: the high half of its sketch hash (`sketch::hash_addr`)
/// scaled onto `0..n` by a multiply (no division: this runs twice per record on the
/// reader's thread).
pub fn shard_of(addr: Addr, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let high = u128::from(crate::sketch::hash_addr(addr) >> 32);
    // high < 2³², so the product over 2³² is below n: the conversion is lossless
    ((high * n as u128) >> 32) as usize
}

/// The shards (of `n`) owning the record's source and destination, for the sides whose
/// address is local.
#[inline(always)]
fn owners(local: &LocalNets, r: &FlowRecord, n: usize) -> (Option<usize>, Option<usize>) {
    (
        local.contains(r.src).then(|| shard_of(r.src, n)),
        local.contains(r.dst).then(|| shard_of(r.dst, n)),
    )
}

/// Records handed to every worker at once (shared, read-only while in flight): each record
/// is stored once, and each shard gets the positions of its records.
#[derive(Default)]
struct Batch {
    /// Sequence number of `records[0]`.
    first_seq: u64,
    records: Vec<FlowRecord>,
    /// Per shard: the records (position in `records`) and sides it evaluates.
    routes: Vec<Vec<Route>>,
    /// DNS messages about listed domains, and responses with addresses (what DNS resolved:
    /// beaconing's `no-dns` evidence), each with a route in every shard.
    dns: Vec<DnsMessage>,
    /// MUD URLs announced, each with a route in every shard.
    mud: Vec<Announcement>,
    /// Indicator lists every shard takes, in turn, before this batch's records
    /// ([`Sharded::set_indicators`]; each reload keeps what the one before it learned).
    indicators: Vec<Arc<Indicators>>,
}

#[derive(Clone, Copy)]
struct Route {
    /// Position in [`Batch::records`].
    at: u32,
    /// Sequence number less [`Batch::first_seq`].
    offset: u32,
    sides: Sides,
    /// Position in [`Batch::dns`], or [`NO_DNS`].
    dns: u32,
    /// Position in [`Batch::mud`], or [`NO_DNS`].
    mud: u32,
    /// Close the incidents that are over as of the record's time ([`Watch::sweep`]).
    sweep: bool,
}

const NO_DNS: u32 = u32::MAX;

impl Batch {
    fn clear(&mut self, n: usize, first_seq: u64) {
        self.first_seq = first_seq;
        self.records.clear();
        self.dns.clear();
        self.mud.clear();
        self.indicators.clear();
        self.routes.resize_with(n, Vec::new);
        for r in &mut self.routes {
            r.clear();
        }
    }
}

struct Reply {
    events: Vec<(u64, u8, Event)>,
    stats: WatchStats,
}

struct Worker {
    tx: Sender<Arc<Batch>>,
    rx: Receiver<Reply>,
    /// The reply to the oldest batch in flight, when [`Sharded::flush`] took it early.
    ready: Option<Reply>,
    handle: Option<JoinHandle<Watch>>,
    stats: WatchStats,
}

/// A worker thread stopped (it panicked): the engine cannot go on.
#[derive(Debug, thiserror::Error)]
#[error("watch shard {0} stopped")]
pub struct ShardStopped(pub usize);

/// Global incident ids of one shard's local ids, the newest `cap` kept.
#[derive(Default)]
struct IdMap {
    ids: HashMap<u64, u64>,
    order: VecDeque<u64>,
}

// one per `Sharded`, never moved about: the size of the variants does not matter
#[allow(clippy::large_enum_variant)]
enum Engine {
    /// One shard: the caller's thread runs the [`Watch`] itself.
    Inline(Box<Watch>),
    Threads {
        workers: Vec<Worker>,
        /// Records waiting for the next batch.
        pending: Batch,
        /// Batches handed out and not yet collected, oldest first.
        in_flight: VecDeque<Arc<Batch>>,
        /// Collected batches, for reuse.
        spare: Vec<Batch>,
        ids: Vec<IdMap>,
        next_id: u64,
        finished: Vec<Watch>,
    },
}

/// [`Watch`] over `n` worker threads, with the same results (see the module docs).
pub struct Sharded {
    engine: Engine,
    /// The subscriber prefixes (`Config::local_networks`; empty = every address).
    local: LocalNets,
    n: usize,
    /// Items taken, in order: records, DNS messages from logs, sweeps.
    seq: u64,
    /// Items that are no records: DNS messages from logs ([`Sharded::observe_dns`]) and
    /// sweeps.
    not_records: u64,
    /// When the shards next close their incidents that are over (record time), and how
    /// often ([`Sharded::tick`]).
    next_sweep_us: i64,
    sweep_every_us: i64,
    queued: usize,
    out: VecDeque<Event>,
    max_incidents: usize,
    /// The listed domains (which DNS messages concern the indicators).
    domains: Domains,
}

impl Sharded {
    /// `n` shards (1 = no threads); each gets the indicators, the subscriber mapping and
    /// `cfg` with `max_hosts` and `max_incidents` divided by `n` (rounded up).
    pub fn new(cfg: Config, n: usize, indicators: Indicators, subscribers: Subscribers) -> Self {
        Sharded::with_mud(cfg, n, indicators, subscribers, None)
    }

    /// [`Sharded::new`], and with `mud` every shard checks devices against their declared
    /// network behaviour ([`Watch::with_mud`]; announcements reach every shard in their
    /// place in the stream, the device's shard keeps them).
    pub fn with_mud(
        cfg: Config,
        n: usize,
        indicators: Indicators,
        subscribers: Subscribers,
        mud: Option<MudSetup>,
    ) -> Self {
        let n = n.clamp(1, 256);
        let local = LocalNets::new(&cfg.local_networks);
        let max_incidents = cfg.max_incidents.max(1);
        if n == 1 {
            let domains = indicators.domains().clone();
            let mut w = Watch::new(cfg.clone())
                .with_indicators(indicators)
                .with_subscribers(subscribers);
            if let Some(m) = &mud {
                w = w.with_mud(m.watch(&cfg));
            }
            return Sharded {
                engine: Engine::Inline(Box::new(w)),
                local,
                n,
                seq: 0,
                not_records: 0,
                next_sweep_us: i64::MIN,
                sweep_every_us: sweep_every_us(&cfg),
                queued: 0,
                out: VecDeque::new(),
                max_incidents,
                domains,
            };
        }
        let mut part = cfg.clone();
        part.max_hosts = cfg.max_hosts.div_ceil(n).max(1);
        part.max_incidents = max_incidents.div_ceil(n);
        let mut workers = Vec::with_capacity(n);
        for me in 0..n {
            let (tx, wrx) = channel::<Arc<Batch>>();
            let (wtx, rx) = channel::<Reply>();
            let mut watch = Watch::new(part.clone())
                .with_indicators(indicators.clone())
                .with_subscribers(subscribers.clone())
                .without_auto_sweep();
            if let Some(m) = &mud {
                watch = watch.with_mud(m.watch(&cfg));
            }
            let handle = std::thread::Builder::new()
                .name(format!("watch-shard-{me}"))
                .spawn(move || work(watch, me, n, wrx, wtx))
                .ok();
            workers.push(Worker {
                tx,
                rx,
                ready: None,
                handle,
                stats: WatchStats::default(),
            });
        }
        Sharded {
            engine: Engine::Threads {
                workers,
                pending: Batch {
                    first_seq: 1,
                    records: Vec::with_capacity(BATCH),
                    routes: (0..n).map(|_| Vec::with_capacity(BATCH)).collect(),
                    dns: Vec::new(),
                    mud: Vec::new(),
                    indicators: Vec::new(),
                },
                in_flight: VecDeque::new(),
                spare: Vec::new(),
                ids: (0..n).map(|_| IdMap::default()).collect(),
                next_id: 1,
                finished: Vec::new(),
            },
            local,
            n,
            seq: 0,
            not_records: 0,
            next_sweep_us: i64::MIN,
            sweep_every_us: sweep_every_us(&cfg),
            queued: 0,
            out: VecDeque::new(),
            max_incidents,
            domains: indicators.domains().clone(),
        }
    }

    /// Shards (worker threads; 1 = the caller's thread).
    pub fn shards(&self) -> usize {
        self.n
    }

    /// Takes one record. Events come out of [`Sharded::drain_events`] after the batch
    /// holding it has run (at once with one shard; call [`Sharded::sync`] to force it).
    pub fn observe(&mut self, r: &FlowRecord) -> Result<(), ShardStopped> {
        self.tick(r.last_us)?;
        self.seq += 1;
        let n = self.n;
        match &mut self.engine {
            Engine::Inline(w) => {
                w.observe(r);
                if w.has_events() {
                    self.out.extend(w.drain_events());
                }
                Ok(())
            }
            Engine::Threads { pending, .. } => {
                // Only local addresses have state, and a C2 contact's device is local: a
                // side whose address is not local finds nothing, and is not sent at all.
                let (s, d) = owners(&self.local, r, n);
                // (shard, sides) for each shard the record goes to
                let to = match (s, d) {
                    (Some(s), Some(d)) if s == d => [Some((s, Sides::BOTH)), None],
                    _ => [s.map(|s| (s, Sides::SRC)), d.map(|d| (d, Sides::DST))],
                };
                if s.is_some() || d.is_some() {
                    // both below BATCH (a batch is handed out at BATCH records taken); the
                    // records taken since the batch began are `queued`
                    let at = u32::try_from(pending.records.len()).unwrap_or(u32::MAX);
                    let offset = u32::try_from(self.queued).unwrap_or(u32::MAX);
                    pending.records.push(*r);
                    for (shard, sides) in to.into_iter().flatten() {
                        if let Some(route) = pending.routes.get_mut(shard) {
                            route.push(Route {
                                at,
                                offset,
                                sides,
                                dns: NO_DNS,
                                mud: NO_DNS,
                                sweep: false,
                            });
                        }
                    }
                }
                self.queued += 1;
                if self.queued >= BATCH {
                    self.dispatch()?;
                }
                Ok(())
            }
        }
    }

    /// Takes records in order, as [`Sharded::observe`] on each; with one shard they run as
    /// one [`Watch::observe_batch`] (host look-ups overlapped).
    pub fn observe_many(&mut self, records: &[FlowRecord]) -> Result<(), ShardStopped> {
        if let Engine::Inline(w) = &mut self.engine {
            self.seq += records.len() as u64;
            w.observe_batch(records);
            if w.has_events() {
                self.out.extend(w.drain_events());
            }
            return Ok(());
        }
        for r in records {
            self.observe(r)?;
        }
        Ok(())
    }

    /// Takes an indicator list loaded anew ([`Watch::set_indicators`]) from the next record
    /// on; with shards, every shard takes it at that place in the stream.
    pub fn set_indicators(&mut self, ind: Indicators) -> Result<(), ShardStopped> {
        self.domains = ind.domains().clone();
        if let Engine::Inline(w) = &mut self.engine {
            w.set_indicators(ind);
            return Ok(());
        }
        // what was taken so far goes out with the old list
        if self.queued > 0 {
            self.dispatch()?;
        }
        if let Engine::Threads { pending, .. } = &mut self.engine {
            pending.indicators.push(Arc::new(ind));
        }
        Ok(())
    }

    /// True if `msg` (a DNS message read from a packet) is about a listed domain: what
    /// [`Sharded::observe_with_dns`] is for.
    pub fn wants_dns(&self, msg: &DnsMessage) -> bool {
        wants(&self.domains, msg)
    }

    /// Takes one record whose packet carried the DNS message `msg` ([`Watch::observe_with_dns`]).
    /// With shards, a message about a listed domain reaches every shard at the record's place
    /// in the stream: each learns the addresses answered, and the device's shard makes the
    /// finding.
    pub fn observe_with_dns(
        &mut self,
        r: &FlowRecord,
        msg: &DnsMessage,
    ) -> Result<(), ShardStopped> {
        if !wants(&self.domains, msg) {
            return self.observe(r);
        }
        self.dns_in_band(r, msg, true)
    }

    /// A DNS message known from a log rather than a packet ([`Watch::observe_dns`]): `r`
    /// is not traffic. A query about no listed domain is dropped.
    pub fn observe_dns(&mut self, r: &FlowRecord, msg: &DnsMessage) -> Result<(), ShardStopped> {
        if !wants(&self.domains, msg) {
            // its time still moves the stream on, as for a lone Watch
            if let Engine::Inline(w) = &mut self.engine {
                w.observe_dns(r, msg);
                self.out.extend(w.drain_events());
            }
            return self.tick(r.last_us);
        }
        self.not_records += 1;
        self.dns_in_band(r, msg, false)
    }

    /// A MUD URL a device announced ([`Watch::announce`]), in its place in the stream:
    /// with shards, it reaches every shard there (the device's keeps it).
    pub fn announce(&mut self, r: &FlowRecord, a: &Announcement) -> Result<(), ShardStopped> {
        self.tick(r.last_us)?;
        self.seq += 1;
        self.not_records += 1;
        match &mut self.engine {
            Engine::Inline(w) => {
                w.announce(r, a);
                if w.has_events() {
                    self.out.extend(w.drain_events());
                }
                Ok(())
            }
            Engine::Threads { pending, .. } => {
                let at = u32::try_from(pending.records.len()).unwrap_or(u32::MAX);
                let offset = u32::try_from(self.queued).unwrap_or(u32::MAX);
                let mud = u32::try_from(pending.mud.len()).unwrap_or(NO_DNS);
                let mut when = FlowRecord::default();
                when.last_us = r.last_us;
                pending.records.push(when);
                pending.mud.push(a.clone());
                for routes in &mut pending.routes {
                    routes.push(Route {
                        at,
                        offset,
                        sides: Sides::NONE,
                        dns: NO_DNS,
                        mud,
                        sweep: false,
                    });
                }
                self.queued += 1;
                if self.queued >= BATCH {
                    self.dispatch()?;
                }
                Ok(())
            }
        }
    }

    /// A message about a listed domain, in its place in the stream; `traffic`: `r` is a
    /// record for the detectors too.
    fn dns_in_band(
        &mut self,
        r: &FlowRecord,
        msg: &DnsMessage,
        traffic: bool,
    ) -> Result<(), ShardStopped> {
        self.tick(r.last_us)?;
        self.seq += 1;
        let n = self.n;
        match &mut self.engine {
            Engine::Inline(w) => {
                if traffic {
                    w.observe_with_dns(r, msg);
                } else {
                    w.observe_dns(r, msg);
                }
                if w.has_events() {
                    self.out.extend(w.drain_events());
                }
                Ok(())
            }
            Engine::Threads { pending, .. } => {
                let (s, d) = match traffic {
                    true => owners(&self.local, r, n),
                    false => (None, None),
                };
                let at = u32::try_from(pending.records.len()).unwrap_or(u32::MAX);
                let offset = u32::try_from(self.queued).unwrap_or(u32::MAX);
                let dns = u32::try_from(pending.dns.len()).unwrap_or(NO_DNS);
                pending.records.push(*r);
                pending.dns.push(msg.clone());
                for (shard, routes) in pending.routes.iter_mut().enumerate() {
                    let sides = Sides {
                        src: s == Some(shard),
                        dst: d == Some(shard),
                    };
                    routes.push(Route {
                        at,
                        offset,
                        sides,
                        dns,
                        mud: NO_DNS,
                        sweep: false,
                    });
                }
                self.queued += 1;
                if self.queued >= BATCH {
                    self.dispatch()?;
                }
                Ok(())
            }
        }
    }

    /// Before an item of record time `t_us`: once a sweep time has passed, every shard
    /// closes its incidents that are over, here in the stream (as a lone [`Watch`] does
    /// itself: the same times, so the same `closed` events). One shard sweeps itself.
    #[inline]
    fn tick(&mut self, t_us: i64) -> Result<(), ShardStopped> {
        if t_us < self.next_sweep_us {
            return Ok(());
        }
        self.sweep_all(t_us)
    }

    /// The sweep of [`Sharded::tick`] (out of line: one in many records).
    #[inline(never)]
    fn sweep_all(&mut self, t_us: i64) -> Result<(), ShardStopped> {
        self.next_sweep_us = next_sweep_us(t_us, self.sweep_every_us);
        let Engine::Threads { pending, .. } = &mut self.engine else {
            return Ok(());
        };
        self.seq += 1;
        self.not_records += 1;
        let at = u32::try_from(pending.records.len()).unwrap_or(u32::MAX);
        let offset = u32::try_from(self.queued).unwrap_or(u32::MAX);
        let mut when = FlowRecord::default();
        when.last_us = t_us;
        pending.records.push(when);
        for routes in &mut pending.routes {
            routes.push(Route {
                at,
                offset,
                sides: Sides::NONE,
                dns: NO_DNS,
                mud: NO_DNS,
                sweep: true,
            });
        }
        self.queued += 1;
        if self.queued >= BATCH {
            self.dispatch()?;
        }
        Ok(())
    }

    /// Waits for the oldest batch in flight, if any, and merges its events.
    fn collect(&mut self) -> Result<(), ShardStopped> {
        let Engine::Threads {
            workers,
            in_flight,
            spare,
            ids,
            next_id,
            ..
        } = &mut self.engine
        else {
            return Ok(());
        };
        let Some(batch) = in_flight.pop_front() else {
            return Ok(());
        };
        let mut merged: Vec<(u64, u8, usize, Event)> = Vec::new();
        for (i, w) in workers.iter_mut().enumerate() {
            let reply = match w.ready.take() {
                Some(r) => r,
                None => w.rx.recv().map_err(|_| ShardStopped(i))?,
            };
            w.stats = reply.stats;
            merged.extend(
                reply
                    .events
                    .into_iter()
                    .map(|(seq, slot, e)| (seq, slot, i, e)),
            );
        }
        // every worker let go of the batch before replying
        if let Ok(b) = Arc::try_unwrap(batch) {
            spare.push(b);
        }
        merged.sort_by_key(|(seq, slot, _, _)| (*seq, *slot));
        let cap = self.max_incidents.div_ceil(self.n).max(1);
        let mut ordered: Vec<(u64, u8, Event)> = Vec::with_capacity(merged.len());
        for (seq, slot, shard, mut e) in merged {
            let Some(map) = ids.get_mut(shard) else {
                continue;
            };
            e.incident.id = match e.event {
                // the id it opened with (kept: the incident stays listed while over)
                EventKind::Closed => map.ids.get(&e.incident.id).copied().unwrap_or(0),
                _ => global_id(map, e.event, e.incident.id, next_id, cap),
            };
            // what it follows was opened by the same shard (the device's), and earlier
            e.incident.follows = e.incident.follows.and_then(|f| map.ids.get(&f).copied());
            ordered.push((seq, slot, e));
        }
        // the closings of one sweep (from every shard) come out by id, as one engine's do
        ordered.sort_by_key(|(seq, slot, e)| {
            let by_id = if *slot == SWEEP_SLOT {
                e.incident.id
            } else {
                0
            };
            (*seq, *slot, by_id)
        });
        self.out.extend(ordered.into_iter().map(|(_, _, e)| e));
        Ok(())
    }

    /// Hands the pending records to the workers (after collecting the oldest batch when
    /// [`DEPTH`] are in flight).
    fn dispatch(&mut self) -> Result<(), ShardStopped> {
        if matches!(&self.engine, Engine::Threads { in_flight, .. } if in_flight.len() >= DEPTH) {
            self.collect()?;
        }
        let Engine::Threads {
            workers,
            pending,
            in_flight,
            spare,
            ..
        } = &mut self.engine
        else {
            return Ok(());
        };
        let mut next = spare.pop().unwrap_or_default();
        next.clear(workers.len(), self.seq + 1);
        let batch = Arc::new(std::mem::replace(pending, next));
        for (i, w) in workers.iter().enumerate() {
            w.tx.send(Arc::clone(&batch)).map_err(|_| ShardStopped(i))?;
        }
        in_flight.push_back(batch);
        self.queued = 0;
        Ok(())
    }

    /// Hands the records taken so far to the workers and merges the events of every batch
    /// they have finished, without waiting for the others (unless [`DEPTH`] batches are
    /// already in flight: then for the oldest). What a live collector calls every so often,
    /// so that events come out soon while the pipeline keeps running; [`Sharded::sync`]
    /// waits for everything.
    pub fn flush(&mut self) -> Result<(), ShardStopped> {
        if self.has_pending() {
            self.dispatch()?;
        }
        while self.oldest_ready()? {
            self.collect()?;
        }
        Ok(())
    }

    /// True if every worker has replied to the oldest batch in flight (their replies kept
    /// for [`Sharded::collect`]); false if a reply is still awaited or nothing is in flight.
    fn oldest_ready(&mut self) -> Result<bool, ShardStopped> {
        let Engine::Threads {
            workers, in_flight, ..
        } = &mut self.engine
        else {
            return Ok(false);
        };
        if in_flight.is_empty() {
            return Ok(false);
        }
        for (i, w) in workers.iter_mut().enumerate() {
            if w.ready.is_none() {
                match w.rx.try_recv() {
                    Ok(r) => w.ready = Some(r),
                    Err(std::sync::mpsc::TryRecvError::Empty) => return Ok(false),
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        return Err(ShardStopped(i))
                    }
                }
            }
        }
        Ok(true)
    }

    /// True if the batch being filled has something for the workers: records, or an
    /// indicator list.
    fn has_pending(&self) -> bool {
        self.queued > 0
            || matches!(&self.engine, Engine::Threads { pending, .. } if !pending.indicators.is_empty())
    }

    /// Runs every record taken so far and merges their events.
    pub fn sync(&mut self) -> Result<(), ShardStopped> {
        if self.has_pending() {
            self.dispatch()?;
        }
        while matches!(&self.engine, Engine::Threads { in_flight, .. } if !in_flight.is_empty()) {
            self.collect()?;
        }
        Ok(())
    }

    /// The events merged so far, in stream order.
    pub fn drain_events(&mut self) -> std::collections::vec_deque::Drain<'_, Event> {
        self.out.drain(..)
    }

    /// Counters summed over the shards as of the last merged batch (`records` counts each
    /// record once, including those still queued).
    pub fn stats(&self) -> WatchStats {
        match &self.engine {
            Engine::Inline(w) => w.stats(),
            Engine::Threads {
                workers, finished, ..
            } => {
                let parts: Vec<WatchStats> = if finished.is_empty() {
                    workers.iter().map(|w| w.stats).collect()
                } else {
                    finished.iter().map(Watch::stats).collect()
                };
                let mut t = WatchStats {
                    records: self.seq - self.not_records,
                    bytes_per_host: Watch::bytes_per_host(),
                    ..WatchStats::default()
                };
                for p in parts {
                    t.hosts += p.hosts;
                    t.max_hosts += p.max_hosts;
                    t.hosts_evicted += p.hosts_evicted;
                    t.state_bytes += p.state_bytes;
                    t.incidents_opened += p.incidents_opened;
                    t.incidents_kept += p.incidents_kept;
                    t.incidents_evicted += p.incidents_evicted;
                    t.events += p.events;
                }
                t
            }
        }
    }

    /// Runs everything still queued, stops the workers and keeps their final state for
    /// [`Sharded::incidents`] and [`Sharded::stats`].
    pub fn finish(&mut self) -> Result<(), ShardStopped> {
        self.sync()?;
        let Engine::Threads {
            workers, finished, ..
        } = &mut self.engine
        else {
            return Ok(());
        };
        for (i, w) in workers.iter_mut().enumerate() {
            // closing the batch channel ends the worker's loop
            let (dead, _) = channel();
            drop(std::mem::replace(&mut w.tx, dead));
            let watch = w
                .handle
                .take()
                .and_then(|h| h.join().ok())
                .ok_or(ShardStopped(i))?;
            finished.push(watch);
        }
        Ok(())
    }

    /// Incidents kept now with their global ids, by id; with threads, only after
    /// [`Sharded::finish`] (empty before).
    pub fn incidents(&self) -> Vec<Incident> {
        match &self.engine {
            Engine::Inline(w) => {
                let mut all: Vec<Incident> = w.incidents().cloned().collect();
                all.sort_by_key(|i| i.id);
                all
            }
            Engine::Threads { finished, ids, .. } => {
                let mut all = Vec::new();
                for (shard, w) in finished.iter().enumerate() {
                    for inc in w.incidents() {
                        let mut inc = inc.clone();
                        if let Some(g) = ids.get(shard).and_then(|m| m.ids.get(&inc.id)) {
                            inc.id = *g;
                        }
                        all.push(inc);
                    }
                }
                all.sort_by_key(|i| i.id);
                all
            }
        }
    }
}

impl Drop for Sharded {
    fn drop(&mut self) {
        if let Engine::Threads { workers, .. } = &mut self.engine {
            for w in workers.iter_mut() {
                let (dead, _) = channel();
                drop(std::mem::replace(&mut w.tx, dead));
                if let Some(h) = w.handle.take() {
                    let _ = h.join();
                }
            }
        }
    }
}

fn global_id(map: &mut IdMap, kind: EventKind, local: u64, next_id: &mut u64, cap: usize) -> u64 {
    if kind == EventKind::Escalated {
        if let Some(g) = map.ids.get(&local) {
            return *g;
        }
    }
    // opened (or escalated after its mapping was forgotten: a fresh id)
    let g = *next_id;
    *next_id += 1;
    map.ids.insert(local, g);
    map.order.push_back(local);
    while map.order.len() > cap {
        if let Some(old) = map.order.pop_front() {
            map.ids.remove(&old);
        }
    }
    g
}

/// What a route outside its batch would read (none is: routes are made with their record).
static EMPTY: std::sync::LazyLock<FlowRecord> = std::sync::LazyLock::new(FlowRecord::default);

fn work(
    mut watch: Watch,
    me: usize,
    n: usize,
    rx: Receiver<Arc<Batch>>,
    tx: Sender<Reply>,
) -> Watch {
    while let Ok(batch) = rx.recv() {
        for ind in &batch.indicators {
            watch.set_indicators(Indicators::clone(ind));
        }
        let mut events = Vec::new();
        if let Some(routes) = batch.routes.get(me) {
            watch.observe_batch_sides(
                routes,
                |rt| {
                    let r = batch.records.get(rt.at as usize);
                    // every route names a record of its batch; an empty record otherwise
                    ItemRef {
                        record: r.unwrap_or_else(|| &EMPTY),
                        sides: rt.sides,
                        dns: batch.dns.get(rt.dns as usize),
                        mud: batch.mud.get(rt.mud as usize),
                        sweep: rt.sweep,
                    }
                },
                |a| shard_of(a, n) == me,
                |rt, slot, e| events.push((batch.first_seq + u64::from(rt.offset), slot, e)),
            );
        }
        // the caller reuses the batch once every worker has let go of it
        drop(batch);
        let reply = Reply {
            events,
            stats: watch.stats(),
        };
        if tx.send(reply).is_err() {
            break;
        }
    }
    watch
}

/// True if a DNS message matters to the engine: it concerns a listed domain, or it is a
/// response with addresses (every engine learns what DNS resolves, beaconing's `no-dns`
/// evidence).
fn wants(domains: &crate::detectors::c2::Domains, msg: &DnsMessage) -> bool {
    (msg.response && !msg.answers.is_empty()) || domains.wants(msg)
}
