//! The inlet: an [`Engine`] that publishes to the bus what the sharded engine would hand
//! its threads.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use iotrust_flow::announce::Announcement;
use iotrust_flow::dns::DnsMessage;
use iotrust_flow::FlowRecord;

use super::transport::{self, Bucket, Stored, Transport};
use super::{records_subject, Batch, BusConfig, Cluster};
use crate::detectors::c2::Indicators;
use crate::engine::Engine;
use crate::error::Error;
use crate::incident::Event;
use crate::metrics::Metrics;
use crate::net::LocalNets;
use crate::shard::shard_of;
use crate::watch::{next_sweep_us, sweep_every_us, Config, Sides, WatchStats};

/// Items in one records message at most (a record takes 90 bytes: 180 KiB a message).
pub const ITEMS_PER_MESSAGE: usize = 2048;
/// Messages published and not yet acknowledged at most (back-pressure on the source).
const IN_FLIGHT: usize = 256;

/// The meta bucket's key of the next sweep time (record time) the inlets reached.
const SWEEP_KEY: &str = "next-sweep";

/// How long the inlet keeps publishing a message the bus did not store.
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// A records message published, kept until the bus stored it.
struct Sent {
    partition: u32,
    subject: String,
    /// Its batch number in the partition (from 1 in each run).
    number: u64,
    bytes: bytes::Bytes,
}

/// Publishes records to partitions (see the module docs of [`crate::bus`]).
pub struct Inlet {
    rt: tokio::runtime::Runtime,
    bus: Arc<dyn Transport>,
    n: u32,
    local: LocalNets,
    batches: Vec<Batch>,
    /// Messages published and not yet acknowledged: the ack, and what to publish again
    /// if it fails (subject, id, bytes).
    acks: VecDeque<(Stored, Sent)>,
    /// This run's id, in every message id (a message published again is dropped by the
    /// bus as a duplicate).
    run: String,
    /// Messages published per partition in this run (the batch number of the last).
    sent: Vec<u64>,
    next_sweep_us: i64,
    /// The sweep time last saved on the bus (key [`SWEEP_KEY`] of the meta bucket).
    saved_sweep_us: i64,
    sweep_every_us: i64,
    records: u64,
    metrics: Arc<Metrics>,
}

impl Inlet {
    /// Connects, creates the streams and buckets where missing, and tells the workers the
    /// partitions and the detection settings (an inlet started again must keep them).
    pub fn connect(
        bus: &BusConfig,
        partitions: u32,
        cfg: Config,
        metrics: Arc<Metrics>,
    ) -> Result<Inlet, Error> {
        let n = partitions.clamp(1, 4096);
        let rt = super::runtime()?;
        let b = rt.block_on(transport::open(bus))?;
        let cluster = Cluster {
            partitions: n,
            config: cfg.clone(),
        };
        rt.block_on(async {
            if let Some(old) = b.get(Bucket::Meta, "cluster").await? {
                let old: Cluster = serde_json::from_slice(&old)?;
                if old.partitions != n || old.config != cfg {
                    return Err(Error::bus(
                        "inlet",
                        format!(
                            "the bus already carries {} partitions with other settings; \
                             every inlet must use the same --partitions and --config",
                            old.partitions
                        ),
                    ));
                }
                return Ok(());
            }
            b.put(
                Bucket::Meta,
                "cluster",
                serde_json::to_vec(&cluster)?.into(),
            )
            .await?;
            Ok(())
        })?;
        // the stream time an inlet before this one reached: sweeps go on from there, as
        // they would in one process reading both inputs
        let next_sweep_us = rt
            .block_on(b.get(Bucket::Meta, SWEEP_KEY))
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_slice::<i64>(&v).ok())
            .unwrap_or(i64::MIN);
        Ok(Inlet {
            saved_sweep_us: next_sweep_us,
            rt,
            bus: b,
            n,
            local: LocalNets::new(&cfg.local_networks),
            batches: (0..n).map(|_| Batch::new()).collect(),
            acks: VecDeque::new(),
            next_sweep_us,
            sweep_every_us: sweep_every_us(&cfg),
            records: 0,
            metrics,
            run: format!("{:x}-{}", super::now_us(), std::process::id()),
            sent: vec![0; n as usize],
        })
    }

    /// The partitions.
    pub fn partitions(&self) -> u32 {
        self.n
    }

    fn owners(&self, r: &FlowRecord) -> (Option<usize>, Option<usize>) {
        let n = self.n as usize;
        (
            self.local.contains(r.src).then(|| shard_of(r.src, n)),
            self.local.contains(r.dst).then(|| shard_of(r.dst, n)),
        )
    }

    fn tick(&mut self, t_us: i64) -> Result<(), Error> {
        if t_us < self.next_sweep_us {
            return Ok(());
        }
        self.next_sweep_us = next_sweep_us(t_us, self.sweep_every_us);
        for p in 0..self.batches.len() {
            if let Some(b) = self.batches.get_mut(p) {
                b.sweep(t_us);
            }
            self.full(p)?;
        }
        Ok(())
    }

    /// Publishes partition `p`'s batch if it is full.
    fn full(&mut self, p: usize) -> Result<(), Error> {
        if self
            .batches
            .get(p)
            .is_some_and(|b| b.items >= ITEMS_PER_MESSAGE)
        {
            self.publish(p)?;
        }
        Ok(())
    }

    fn publish(&mut self, p: usize) -> Result<(), Error> {
        let Some(b) = self.batches.get_mut(p) else {
            return Ok(());
        };
        if b.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(b, Batch::new());
        let bytes = batch.compressed();
        self.metrics
            .bus_bytes_out
            .fetch_add(bytes.len() as u64, Relaxed);
        self.metrics.bus_messages_out.fetch_add(1, Relaxed);
        let Some(number) = self.sent.get_mut(p) else {
            return Ok(());
        };
        *number += 1;
        let sent = Sent {
            partition: p as u32,
            subject: records_subject(p as u32),
            number: *number,
            bytes: bytes.into(),
        };
        let ack = self.send(&sent)?;
        self.acks.push_back((ack, sent));
        while self.acks.len() > IN_FLIGHT {
            self.wait_oldest()?;
        }
        Ok(())
    }

    fn send(&self, m: &Sent) -> Result<Stored, Error> {
        let id = format!("{}.{}.{}", self.run, m.subject, m.number);
        // a message published again lands after later ones: the worker puts them back in
        // order by run and number
        self.rt.block_on(self.bus.publish_records(
            m.partition,
            &id,
            &self.run,
            m.number,
            m.bytes.clone(),
        ))
    }

    /// Waits for the oldest message's acknowledgement; a message the bus did not store
    /// (a server lost, a time-out) is published again, for up to [`RETRY_FOR`].
    fn wait_oldest(&mut self) -> Result<(), Error> {
        let Some((ack, sent)) = self.acks.pop_front() else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        let mut ack = Some(ack);
        loop {
            let why = match ack.take() {
                Some(a) => match self.rt.block_on(a) {
                    Ok(_) => return Ok(()),
                    Err(e) => e.to_string(),
                },
                None => "not sent".to_string(),
            };
            if started.elapsed() >= RETRY_FOR {
                return Err(Error::bus(
                    format!("{} not stored", sent.subject),
                    format!("{why} (tried for {} s)", RETRY_FOR.as_secs()),
                ));
            }
            eprintln!(
                "watch: inlet: {} not stored ({why}); publishing it again",
                sent.subject
            );
            self.metrics.bus_retries.fetch_add(1, Relaxed);
            std::thread::sleep(std::time::Duration::from_millis(500));
            match self.send(&sent) {
                Ok(a) => ack = Some(a),
                Err(e) => eprintln!("watch: inlet: {e}"),
            }
        }
    }

    fn route(&mut self, r: &FlowRecord, dns: Option<&DnsMessage>) -> Result<(), Error> {
        self.tick(r.last_us)?;
        self.records += 1;
        let (s, d) = self.owners(r);
        match dns {
            None => {
                let to = match (s, d) {
                    (Some(s), Some(d)) if s == d => [Some((s, Sides::BOTH)), None],
                    _ => [s.map(|s| (s, Sides::SRC)), d.map(|d| (d, Sides::DST))],
                };
                for (p, sides) in to.into_iter().flatten() {
                    if let Some(b) = self.batches.get_mut(p) {
                        b.record(r, sides);
                    }
                    self.full(p)?;
                }
            }
            Some(m) => {
                // the message reaches every partition (each learns what DNS answered); the
                // record's sides only those owning them
                for p in 0..self.batches.len() {
                    let sides = Sides {
                        src: s == Some(p),
                        dst: d == Some(p),
                    };
                    if let Some(b) = self.batches.get_mut(p) {
                        b.record_dns(r, sides, m);
                    }
                    self.full(p)?;
                }
            }
        }
        self.metrics.records.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Publishes everything and waits until the bus has stored it.
    pub fn finish(&mut self) -> Result<(), Error> {
        Engine::sync(self)
    }
}

impl Engine for Inlet {
    fn observe(&mut self, r: &FlowRecord) -> Result<(), Error> {
        self.route(r, None)
    }

    fn observe_with_dns(&mut self, r: &FlowRecord, msg: &DnsMessage) -> Result<(), Error> {
        if !self.wants_dns(msg) {
            return self.route(r, None);
        }
        self.route(r, Some(msg))
    }

    fn observe_dns(&mut self, r: &FlowRecord, msg: &DnsMessage) -> Result<(), Error> {
        self.tick(r.last_us)?;
        if !self.wants_dns(msg) {
            // its time still moved the stream on
            return Ok(());
        }
        for p in 0..self.batches.len() {
            if let Some(b) = self.batches.get_mut(p) {
                b.log_dns(r, msg);
            }
            self.full(p)?;
        }
        Ok(())
    }

    /// Every message a worker could use: one with a question (it may name a listed domain:
    /// the inlet does not know the workers' lists) or a response with addresses (what DNS
    /// resolved). A payload on port 53 that parses as neither is not sent to every
    /// partition.
    fn wants_dns(&self, msg: &DnsMessage) -> bool {
        msg.question.is_some() || (msg.response && !msg.answers.is_empty())
    }

    /// Every partition gets the announcement (the device's worker keeps it).
    fn announce(&mut self, r: &FlowRecord, a: &Announcement) -> Result<(), Error> {
        self.tick(r.last_us)?;
        for p in 0..self.batches.len() {
            if let Some(b) = self.batches.get_mut(p) {
                b.announce(r.last_us, a);
            }
            self.full(p)?;
        }
        Ok(())
    }

    /// Indicators are the workers' (each loads its own --indicators).
    fn set_indicators(&mut self, _ind: Indicators) -> Result<(), Error> {
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        for p in 0..self.batches.len() {
            self.publish(p)?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), Error> {
        self.flush()?;
        while !self.acks.is_empty() {
            self.wait_oldest()?;
        }
        // every time mark before it is stored: the next inlet goes on from here
        if self.next_sweep_us != self.saved_sweep_us {
            let v = serde_json::to_vec(&self.next_sweep_us)?;
            self.rt
                .block_on(self.bus.put(Bucket::Meta, SWEEP_KEY, v.into()))?;
            self.saved_sweep_us = self.next_sweep_us;
        }
        Ok(())
    }

    fn take_events(&mut self) -> Vec<Event> {
        Vec::new()
    }

    fn stats(&self) -> WatchStats {
        WatchStats {
            records: self.records,
            ..WatchStats::default()
        }
    }

    fn shards(&self) -> usize {
        self.n as usize
    }
}
