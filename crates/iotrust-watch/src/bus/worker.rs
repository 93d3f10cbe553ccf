//! The worker: claims partitions through leases, rebuilds each one's detector state by
//! replay, and publishes its incident events.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::transport::{self, Bucket, Stored, Transport};
use super::{
    decode_items, now_us, partition_key, records_subject, BusConfig, Checkpoint, Cluster, Item,
    WORKERS,
};
use crate::detectors::c2::Indicators;
use crate::error::Error;
use crate::incident::Event;
use crate::metrics::Metrics;
use crate::shard::shard_of;
use crate::subscribers::Subscribers;
use crate::watch::{ItemRef, Watch};

/// What a worker runs with besides the bus.
#[derive(Clone)]
pub struct WorkerOptions {
    /// Its name in leases (default: host name and process id).
    pub name: String,
    pub indicators: Indicators,
    pub subscribers: Subscribers,
    /// Devices' declared network behaviour (`--mud`), checked in every partition.
    pub mud: Option<crate::detectors::mud::MudSetup>,
    /// Stop after this long (default: run until killed).
    pub duration: Option<Duration>,
}

/// A partition this worker holds.
struct Held {
    revision: u64,
    /// When the lease was last renewed.
    renewed: Instant,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Result<(), Error>>,
}

/// Runs a worker until `opts.duration` passes (or for ever); an error of the bus ends it.
pub fn run(bus: &BusConfig, opts: WorkerOptions, metrics: Arc<Metrics>) -> Result<(), Error> {
    let rt = super::runtime()?;
    rt.block_on(run_async(bus, opts, metrics))
}

async fn run_async(
    cfg: &BusConfig,
    opts: WorkerOptions,
    metrics: Arc<Metrics>,
) -> Result<(), Error> {
    let bus = transport::open(cfg).await?;
    let cluster = loop {
        match bus.get(Bucket::Meta, "cluster").await {
            Ok(Some(v)) => break serde_json::from_slice::<Cluster>(&v)?,
            Ok(None) => {
                eprintln!(
                    "watch: worker {}: no inlet has described the partitions yet; waiting",
                    opts.name
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let n = cluster.partitions;
    eprintln!(
        "watch: worker {}: {n} partition(s), lease {} s",
        opts.name,
        cfg.lease.as_secs_f64()
    );
    let started = Instant::now();
    let tick = (cfg.lease / 4).max(Duration::from_millis(100));
    // no step of a round waits longer than this for the bus, so that leases are renewed
    // in time while a server is lost or a leader elected
    let step = (cfg.lease / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
    let mut held: BTreeMap<u32, Held> = BTreeMap::new();
    let me = opts.name.clone();
    let mut alive = 1usize;
    loop {
        if opts.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        // a bus that does not answer now (a server lost, a leader being elected) is said
        // and tried again next round; a lease not renewed in time is lost below
        match within(
            step,
            bus.put(Bucket::Workers, &me, bytes::Bytes::from(me.clone())),
        )
        .await
        {
            Some(Ok(_)) => {}
            Some(Err(e)) => eprintln!("watch: worker {me}: {e}; trying again"),
            None => eprintln!("watch: worker {me}: {WORKERS}: no answer; trying again"),
        }
        // renew; a lease lost (expired and taken) or a task ended stops that partition
        let mut lost = Vec::new();
        for (p, h) in held.iter_mut() {
            if h.task.is_finished() {
                lost.push(*p);
                continue;
            }
            let renewed = within(
                step,
                bus.update(
                    Bucket::Leases,
                    &partition_key(*p),
                    me.clone().into(),
                    h.revision,
                ),
            )
            .await;
            match renewed {
                Some(Ok(r)) => {
                    h.revision = r;
                    h.renewed = Instant::now();
                }
                // no answer: tried again next round while the lease may still hold
                None if h.renewed.elapsed() < cfg.lease => {}
                None => {
                    eprintln!("watch: worker {me}: lease of partition {p} not renewed in time");
                    lost.push(*p);
                }
                Some(Err(e)) => {
                    eprintln!("watch: worker {me}: lease of partition {p} lost ({e})");
                    lost.push(*p);
                }
            }
        }
        for p in lost {
            if let Some(h) = held.remove(&p) {
                stop_partition(&me, p, h, cfg.lease).await;
                let _ = within(step, bus.delete(Bucket::Leases, &partition_key(p))).await;
            }
        }
        // a fair share: the partitions over the workers alive now
        match within(step, bus.keys(Bucket::Workers)).await {
            Some(Ok(k)) => alive = k.len().max(1),
            Some(Err(e)) => eprintln!("watch: worker {me}: {e}; trying again"),
            None => eprintln!("watch: worker {me}: {WORKERS}: no answer; trying again"),
        }
        let share = (n as usize).div_ceil(alive);
        while held.len() > share {
            let Some((p, h)) = held.pop_last() else { break };
            stop_partition(&me, p, h, cfg.lease).await;
            let _ = within(step, bus.delete(Bucket::Leases, &partition_key(p))).await;
            eprintln!("watch: worker {me}: partition {p} handed on ({alive} workers)");
        }
        if held.len() < share {
            for p in 0..n {
                if held.len() >= share {
                    break;
                }
                if held.contains_key(&p) {
                    continue;
                }
                let Some(Some(revision)) = within(step, claim(bus.as_ref(), p, &me)).await else {
                    continue;
                };
                eprintln!("watch: worker {me}: claimed partition {p}");
                let stop = Arc::new(AtomicBool::new(false));
                let task = tokio::spawn(partition(
                    bus.clone(),
                    cluster.clone(),
                    p,
                    opts.clone(),
                    stop.clone(),
                    metrics.clone(),
                ));
                held.insert(
                    p,
                    Held {
                        revision,
                        renewed: Instant::now(),
                        stop,
                        task,
                    },
                );
            }
        }
        metrics.bus_leases_held.store(held.len() as u64, Relaxed);
        tokio::time::sleep(tick).await;
    }
    for (p, h) in std::mem::take(&mut held) {
        stop_partition(&me, p, h, cfg.lease).await;
        let _ = within(step, bus.delete(Bucket::Leases, &partition_key(p))).await;
    }
    let _ = within(step, bus.delete(Bucket::Workers, &me)).await;
    Ok(())
}

/// `f`, or `None` if it took longer than `d`.
async fn within<T>(d: Duration, f: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::time::timeout(d, f).await.ok()
}

/// Stops a partition's task: it checkpoints and ends within `wait`, or is aborted (its
/// last events come again from the checkpoint before).
async fn stop_partition(me: &str, p: u32, mut h: Held, wait: Duration) {
    h.stop.store(true, Relaxed);
    match tokio::time::timeout(wait, &mut h.task).await {
        Ok(Ok(Err(e))) => eprintln!("watch: worker {me}: partition {p}: {e}"),
        Ok(_) => {}
        Err(_) => {
            h.task.abort();
            eprintln!("watch: worker {me}: partition {p}: stopped without a last checkpoint");
        }
    }
}

/// Takes partition `p`'s lease if no one holds it, or if it names this worker (a worker
/// restarted under its name takes its partitions back at once).
async fn claim(bus: &dyn Transport, p: u32, me: &str) -> Option<u64> {
    let key = partition_key(p);
    if let Ok(r) = bus
        .create(Bucket::Leases, &key, me.to_string().into())
        .await
    {
        return Some(r);
    }
    let (value, revision) = bus.entry(Bucket::Leases, &key).await.ok().flatten()?;
    if value.as_ref() != me.as_bytes() {
        return None;
    }
    bus.update(Bucket::Leases, &key, me.to_string().into(), revision)
        .await
        .ok()
}

/// Checkpoints at least this often while messages come.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// Checkpoints at most this often when the partition has no message waiting.
const CAUGHT_UP_EVERY: Duration = Duration::from_millis(50);

/// Runs partition `p` until `stop`: replays it from its first message (events of messages
/// up to its checkpoint not published again), then follows it.
async fn partition(
    bus: Arc<dyn Transport>,
    cluster: Cluster,
    p: u32,
    opts: WorkerOptions,
    stop: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
) -> Result<(), Error> {
    let n = cluster.partitions;
    let key = partition_key(p);
    let mut done = match bus.get(Bucket::Checkpoints, &key).await? {
        Some(v) => serde_json::from_slice::<Checkpoint>(&v)?,
        None => Checkpoint::default(),
    };
    let published_to = done.seq;
    if let Ok(mut m) = metrics.bus_partitions.lock() {
        m.insert(p, (0, done.at_us.max(now_us())));
    }
    let mut part = cluster.config.clone();
    part.max_hosts = part.max_hosts.div_ceil(n as usize).max(1);
    part.max_incidents = part.max_incidents.max(1).div_ceil(n as usize);
    let mut watch = Watch::new(part)
        .with_indicators(opts.indicators.clone())
        .with_subscribers(opts.subscribers.clone())
        .without_auto_sweep();
    if let Some(m) = &opts.mud {
        watch = watch.with_mud(m.watch(&cluster.config));
    }
    let mut messages = bus.replay_records(p).await?;
    let mut acks: Vec<Stored> = Vec::new();
    let mut last_seq = done.seq;
    let mut last_cp = Instant::now();
    let mut items: Vec<Item> = Vec::new();
    let mut order = Reorder::default();
    let mut ready: Vec<(u64, bytes::Bytes)> = Vec::new();
    while !stop.load(Relaxed) {
        let next = tokio::time::timeout(Duration::from_millis(200), messages.next()).await;
        let msg = match next {
            Err(_) => None,
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                // the ordered consumer starts again after the last message it gave
                eprintln!("watch: worker {}: {e}; going on", opts.name);
                tokio::time::sleep(Duration::from_millis(200)).await;
                None
            }
            Ok(Some(Ok(m))) => Some(m),
        };
        if let Some(msg) = &msg {
            let (seq, pending, run, number) = (msg.seq, msg.pending, &msg.run, msg.number);
            metrics.bus_messages_in.fetch_add(1, Relaxed);
            ready.clear();
            let gaps = order.accept(run, number, seq, msg.payload.clone(), &mut ready);
            if gaps > 0 {
                eprintln!(
                    "watch: worker {}: {}: a records message of inlet run {run} never came; going on without it",
                    opts.name,
                    records_subject(p)
                );
            }
            for (seq, payload) in ready.drain(..) {
                items.clear();
                if let Err(why) = decode_items(&payload, &mut items) {
                    // reported and skipped: the items decoded before the fault still run
                    metrics.decode_errors.fetch_add(1, Relaxed);
                    eprintln!(
                        "watch: worker {}: {}",
                        opts.name,
                        Error::BusMessage {
                            subject: records_subject(p),
                            seq,
                            message: why
                        }
                    );
                }
                let mut events: Vec<Event> = Vec::new();
                watch.observe_batch_sides(
                    &items,
                    |it| ItemRef {
                        record: &it.record,
                        sides: it.sides,
                        dns: it.dns.as_ref(),
                        mud: it.mud.as_ref(),
                        sweep: it.sweep,
                    },
                    |a| shard_of(a, n as usize) == p as usize,
                    |_, _, e| events.push(e),
                );
                metrics
                    .records
                    .fetch_add(items.iter().filter(|i| !i.sweep).count() as u64, Relaxed);
                if seq <= published_to {
                    // run before the checkpoint: its events are on the bus already
                    continue;
                }
                for (k, mut e) in events.into_iter().enumerate() {
                    e.incident.id = global_id(e.incident.id, p, n);
                    e.incident.follows = e.incident.follows.map(|f| global_id(f, p, n));
                    let body = serde_json::to_vec(&e)?;
                    let id = format!("{p}.{seq}.{k}");
                    let ports: Vec<String> = e.scan_ports().iter().map(u8::to_string).collect();
                    metrics.bus_messages_out.fetch_add(1, Relaxed);
                    metrics.bus_bytes_out.fetch_add(body.len() as u64, Relaxed);
                    metrics.events.fetch_add(1, Relaxed);
                    let ack = bus
                        .publish_event(p, &id, &ports.join(","), body.into())
                        .await?;
                    acks.push(ack);
                }
            }
            last_seq = seq;
            if let Ok(mut m) = metrics.bus_partitions.lock() {
                if let Some(v) = m.get_mut(&p) {
                    v.0 = pending;
                }
            }
        }
        // every message up to here was run, but those held back waiting for one before
        let mark = order.held_min_seq().map_or(last_seq, |s| s - 1);
        // on a timer, when many events wait, or when the partition is quiet: no message
        // came, or the last one had none after it (then at most every CAUGHT_UP_EVERY, so
        // a worker that just keeps up does not checkpoint every message)
        let caught_up =
            msg.as_ref().is_some_and(|m| m.pending == 0) && last_cp.elapsed() >= CAUGHT_UP_EVERY;
        let idle = msg.is_none() || caught_up;
        if mark > done.seq && (idle || last_cp.elapsed() >= CHECKPOINT_EVERY || acks.len() >= 1024)
        {
            done = checkpoint(bus.as_ref(), &key, &mut acks, mark, &metrics).await?;
            if let Ok(mut m) = metrics.bus_partitions.lock() {
                if let Some(v) = m.get_mut(&p) {
                    v.1 = done.at_us;
                }
            }
            last_cp = Instant::now();
        }
    }
    let mark = order.held_min_seq().map_or(last_seq, |s| s - 1);
    if mark > done.seq {
        checkpoint(bus.as_ref(), &key, &mut acks, mark, &metrics).await?;
    }
    if let Ok(mut m) = metrics.bus_partitions.lock() {
        m.remove(&p);
    }
    Ok(())
}

/// Messages of a run held at most while one before them is missing: past that it is taken
/// as lost (an inlet keeps at most 256 unacknowledged, so a message published again comes
/// well within this).
const MAX_HELD: u64 = 1024;

/// Puts a partition's records messages back in the order their inlet published them: a
/// message the bus did not acknowledge is published again, after later ones. Per inlet
/// run, the next batch number expected and the messages that came before it. What it
/// decides depends only on the stream, so a replay decides the same.
#[derive(Default)]
struct Reorder {
    runs: std::collections::HashMap<String, RunOrder>,
    /// Messages taken so far.
    seen: u64,
}

#[derive(Default)]
struct RunOrder {
    next: u64,
    /// By batch number: stream sequence and payload.
    held: BTreeMap<u64, (u64, bytes::Bytes)>,
    /// `seen` when the oldest held message came.
    held_since: u64,
}

impl Reorder {
    /// Takes message `number` of `run` (stream sequence `seq`); what can run now goes to
    /// `out` in order. Returns the gaps given up on.
    fn accept(
        &mut self,
        run: &str,
        number: u64,
        seq: u64,
        payload: bytes::Bytes,
        out: &mut Vec<(u64, bytes::Bytes)>,
    ) -> u64 {
        self.seen += 1;
        let mut gaps = 0;
        if number == 0 {
            // no batch number: as it comes
            out.push((seq, payload));
        } else {
            let seen = self.seen;
            let r = self
                .runs
                .entry(run.to_string())
                .or_insert_with(|| RunOrder {
                    next: 1,
                    ..RunOrder::default()
                });
            if number >= r.next {
                if r.held.is_empty() {
                    r.held_since = seen;
                }
                r.held.insert(number, (seq, payload));
                r.release(out);
            }
        }
        // a run whose gap outlived MAX_HELD messages: the missing one is lost
        let seen = self.seen;
        for r in self.runs.values_mut() {
            if !r.held.is_empty() && seen - r.held_since > MAX_HELD {
                if let Some((&first, _)) = r.held.iter().next() {
                    r.next = first;
                    gaps += 1;
                }
                r.release(out);
            }
        }
        gaps
    }

    /// The lowest stream sequence held back.
    fn held_min_seq(&self) -> Option<u64> {
        self.runs
            .values()
            .flat_map(|r| r.held.values().map(|m| m.0))
            .min()
    }
}

impl RunOrder {
    fn release(&mut self, out: &mut Vec<(u64, bytes::Bytes)>) {
        while let Some(m) = self.held.remove(&self.next) {
            out.push(m);
            self.next += 1;
        }
    }
}

/// Waits for the bus to store every event published, then records `seq` as done.
async fn checkpoint(
    bus: &dyn Transport,
    key: &str,
    acks: &mut Vec<Stored>,
    seq: u64,
    metrics: &Metrics,
) -> Result<Checkpoint, Error> {
    for a in acks.drain(..) {
        if a.await? {
            metrics.bus_duplicates.fetch_add(1, Relaxed);
        }
    }
    let cp = Checkpoint {
        seq,
        at_us: now_us(),
    };
    bus.put(Bucket::Checkpoints, key, serde_json::to_vec(&cp)?.into())
        .await?;
    Ok(cp)
}

/// The incident id events carry: partition `p`'s `local` id spread over the `n`
/// partitions, so ids are unique in the cluster and the same whichever worker ran it.
pub fn global_id(local: u64, p: u32, n: u32) -> u64 {
    local
        .saturating_sub(1)
        .saturating_mul(u64::from(n))
        .saturating_add(u64::from(p) + 1)
}

/// The default worker name: the host name and the process id.
pub fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into());
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(o: &mut Reorder, run: &str, n: u64, seq: u64) -> Vec<u64> {
        let mut out = Vec::new();
        o.accept(run, n, seq, bytes::Bytes::new(), &mut out);
        out.into_iter().map(|(s, _)| s).collect()
    }

    #[test]
    fn a_message_published_again_runs_in_its_place() {
        let mut o = Reorder::default();
        assert_eq!(take(&mut o, "a", 1, 10), vec![10]);
        // 2 was not acknowledged and comes again after 3 and 4
        assert!(take(&mut o, "a", 3, 12).is_empty());
        assert!(take(&mut o, "a", 4, 13).is_empty());
        assert_eq!(o.held_min_seq(), Some(12));
        assert_eq!(take(&mut o, "a", 2, 14), vec![14, 12, 13]);
        // a copy of what ran already is dropped; another run has its own numbers
        assert!(take(&mut o, "a", 3, 15).is_empty());
        assert_eq!(take(&mut o, "b", 1, 16), vec![16]);
        assert_eq!(o.held_min_seq(), None);
    }

    #[test]
    fn a_message_that_never_comes_is_given_up_on() {
        let mut o = Reorder::default();
        assert!(take(&mut o, "a", 2, 1).is_empty());
        let mut ran = Vec::new();
        for i in 0..=MAX_HELD {
            ran.extend(take(&mut o, "b", i + 1, 2 + i));
        }
        assert!(ran.contains(&1));
        assert_eq!(o.held_min_seq(), None);
    }

    #[test]
    fn ids_are_spread_over_partitions() {
        assert_eq!(global_id(1, 0, 4), 1);
        assert_eq!(global_id(1, 3, 4), 4);
        assert_eq!(global_id(2, 0, 4), 5);
    }
}
