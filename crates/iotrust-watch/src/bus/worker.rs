//! The worker: claims partitions through leases, rebuilds each one's detector state by
//! replay, and publishes its incident events.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::context::PublishAckFuture;
use futures_util::StreamExt;

use super::{
    decode_items, events_subject, now_us, partition_key, records_subject, Bus, BusConfig,
    Checkpoint, Cluster, Item, CHECKPOINTS, META, RECORDS, WORKERS,
};
use crate::detectors::c2::Indicators;
use crate::error::Error;
use crate::incident::Event;
use crate::metrics::Metrics;
use crate::shard::shard_of;
use crate::subscribers::Subscribers;
use crate::watch::Watch;

/// What a worker runs with besides the bus.
#[derive(Clone)]
pub struct WorkerOptions {
    /// Its name in leases (default: host name and process id).
    pub name: String,
    pub indicators: Indicators,
    pub subscribers: Subscribers,
    /// Stop after this long (default: run until killed).
    pub duration: Option<Duration>,
}

/// A partition this worker holds.
struct Held {
    revision: u64,
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
    let bus = Arc::new(Bus::open(cfg).await?);
    let cluster = loop {
        match bus.meta.get("cluster").await {
            Ok(Some(v)) => break serde_json::from_slice::<Cluster>(&v)?,
            Ok(None) => {
                eprintln!(
                    "watch: worker {}: no inlet has described the partitions yet; waiting",
                    opts.name
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(Error::bus(META, e)),
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
    let mut held: BTreeMap<u32, Held> = BTreeMap::new();
    let me = opts.name.clone();
    loop {
        if opts.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        bus.workers
            .put(&me, bytes::Bytes::from(me.clone()))
            .await
            .map_err(|e| Error::bus(WORKERS, e))?;
        // renew; a lease lost (expired and taken) or a task ended stops that partition
        let mut lost = Vec::new();
        for (p, h) in held.iter_mut() {
            if h.task.is_finished() {
                lost.push(*p);
                continue;
            }
            match bus
                .leases
                .update(partition_key(*p), me.clone().into(), h.revision)
                .await
            {
                Ok(r) => h.revision = r,
                Err(e) => {
                    eprintln!("watch: worker {me}: lease of partition {p} lost ({e})");
                    lost.push(*p);
                }
            }
        }
        for p in lost {
            if let Some(h) = held.remove(&p) {
                h.stop.store(true, Relaxed);
                if let Ok(Err(e)) = h.task.await {
                    eprintln!("watch: worker {me}: partition {p}: {e}");
                }
                let _ = bus.leases.delete(partition_key(p)).await;
            }
        }
        // a fair share: the partitions over the workers alive now
        let alive = count_keys(&bus.workers).await?.max(1);
        let share = (n as usize).div_ceil(alive);
        while held.len() > share {
            let Some((p, h)) = held.pop_last() else { break };
            h.stop.store(true, Relaxed);
            if let Ok(Err(e)) = h.task.await {
                eprintln!("watch: worker {me}: partition {p}: {e}");
            }
            let _ = bus.leases.delete(partition_key(p)).await;
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
                let Ok(revision) = bus.leases.create(partition_key(p), me.clone().into()).await
                else {
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
        h.stop.store(true, Relaxed);
        if let Ok(Err(e)) = h.task.await {
            eprintln!("watch: worker {me}: partition {p}: {e}");
        }
        let _ = bus.leases.delete(partition_key(p)).await;
    }
    let _ = bus.workers.delete(&me).await;
    Ok(())
}

async fn count_keys(store: &async_nats::jetstream::kv::Store) -> Result<usize, Error> {
    let mut keys = store.keys().await.map_err(|e| Error::bus(WORKERS, e))?;
    let mut n = 0;
    while let Some(k) = keys.next().await {
        if k.is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

/// Checkpoints at least this often while messages come.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Runs partition `p` until `stop`: replays it from its first message (events of messages
/// up to its checkpoint not published again), then follows it.
async fn partition(
    bus: Arc<Bus>,
    cluster: Cluster,
    p: u32,
    opts: WorkerOptions,
    stop: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
) -> Result<(), Error> {
    let n = cluster.partitions;
    let key = partition_key(p);
    let mut done = match bus.checkpoints.get(&key).await {
        Ok(Some(v)) => serde_json::from_slice::<Checkpoint>(&v)?,
        Ok(None) => Checkpoint::default(),
        Err(e) => return Err(Error::bus(CHECKPOINTS, e)),
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
    let stream = bus
        .js
        .get_stream(RECORDS)
        .await
        .map_err(|e| Error::bus(RECORDS, e))?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: records_subject(p),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| Error::bus(format!("consumer of {}", records_subject(p)), e))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| Error::bus(format!("consumer of {}", records_subject(p)), e))?;
    let mut acks: Vec<PublishAckFuture> = Vec::new();
    let mut last_seq = done.seq;
    let mut last_cp = Instant::now();
    let mut items: Vec<Item> = Vec::new();
    let subject = events_subject(p);
    while !stop.load(Relaxed) {
        let next = tokio::time::timeout(Duration::from_millis(200), messages.next()).await;
        let msg = match next {
            Err(_) => None,
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(Error::bus(format!("reading {}", records_subject(p)), e))
            }
            Ok(Some(Ok(m))) => Some(m),
        };
        if let Some(msg) = &msg {
            let info = msg
                .info()
                .map_err(|e| Error::bus(format!("reading {}", records_subject(p)), e))?;
            let (seq, pending) = (info.stream_sequence, info.pending);
            metrics.bus_messages_in.fetch_add(1, Relaxed);
            items.clear();
            if let Err(why) = decode_items(&msg.payload, &mut items) {
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
                |it| (&it.record, it.sides, it.dns.as_ref(), it.sweep),
                |a| shard_of(a, n as usize) == p as usize,
                |_, _, e| events.push(e),
            );
            metrics
                .records
                .fetch_add(items.iter().filter(|i| !i.sweep).count() as u64, Relaxed);
            if seq > published_to {
                for (k, mut e) in events.into_iter().enumerate() {
                    e.incident.id = global_id(e.incident.id, p, n);
                    e.incident.follows = e.incident.follows.map(|f| global_id(f, p, n));
                    let body = serde_json::to_vec(&e)?;
                    let mut headers = async_nats::HeaderMap::new();
                    let id = format!("{p}.{seq}.{k}");
                    // the bus drops a copy within its duplicate window; the sink by its own
                    // header after that
                    headers.insert("Nats-Msg-Id", id.as_str());
                    headers.insert(super::EVENT_ID, id.as_str());
                    metrics.bus_messages_out.fetch_add(1, Relaxed);
                    metrics.bus_bytes_out.fetch_add(body.len() as u64, Relaxed);
                    metrics.events.fetch_add(1, Relaxed);
                    let ack = bus
                        .js
                        .publish_with_headers(subject.clone(), headers, body.into())
                        .await
                        .map_err(|e| Error::bus("publish event", e))?;
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
        // on a timer, when many events wait, or when the partition is quiet
        let idle = msg.is_none();
        if last_seq > done.seq
            && (idle || last_cp.elapsed() >= CHECKPOINT_EVERY || acks.len() >= 1024)
        {
            done = checkpoint(&bus, &key, &mut acks, last_seq, &metrics).await?;
            if let Ok(mut m) = metrics.bus_partitions.lock() {
                if let Some(v) = m.get_mut(&p) {
                    v.1 = done.at_us;
                }
            }
            last_cp = Instant::now();
        }
    }
    if last_seq > done.seq {
        checkpoint(&bus, &key, &mut acks, last_seq, &metrics).await?;
    }
    if let Ok(mut m) = metrics.bus_partitions.lock() {
        m.remove(&p);
    }
    Ok(())
}

/// Waits for the bus to store every event published, then records `seq` as done.
async fn checkpoint(
    bus: &Bus,
    key: &str,
    acks: &mut Vec<PublishAckFuture>,
    seq: u64,
    metrics: &Metrics,
) -> Result<Checkpoint, Error> {
    for a in acks.drain(..) {
        let ack = a.await.map_err(|e| Error::bus("event not stored", e))?;
        if ack.duplicate {
            metrics.bus_duplicates.fetch_add(1, Relaxed);
        }
    }
    let cp = Checkpoint {
        seq,
        at_us: now_us(),
    };
    bus.checkpoints
        .put(key, serde_json::to_vec(&cp)?.into())
        .await
        .map_err(|e| Error::bus(CHECKPOINTS, e))?;
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
