//! What the roles need of the engine between them, as a trait: two logs (records in
//! partitions, replayed from the start; incident events, consumed by named groups with
//! acknowledgement) and a key-value store with revisions (leases, workers alive,
//! checkpoints, the cluster's settings). [`Nats`] is NATS JetStream; another engine (Kafka
//! with a compacted topic for the store) implements the same trait and the inlet, worker,
//! sink and status run on it unchanged.
//!
//! Methods return boxed futures and streams so the roles can hold an
//! `Arc<dyn Transport>` and spawn tasks on it; a box per message of 2,048 records (or per
//! event) costs nothing next to the message.

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::{self, kv, stream};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};

use super::{
    events_subject, records_subject, BusConfig, BATCH, CHECKPOINTS, EVENTS, EVENT_ID, LEASES, META,
    RECORDS, RUN, SCAN_PORTS, WORKERS,
};
use crate::error::Error;

/// The key-value buckets the roles use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    /// Partition leases (`p<N>` → worker); entries live one lease time.
    Leases,
    /// Workers alive (name → name); entries live one lease time.
    Workers,
    /// Per partition the last records message whose events are stored.
    Checkpoints,
    /// The cluster's partitions and settings, and the inlets' sweep time.
    Meta,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Leases => LEASES,
            Bucket::Workers => WORKERS,
            Bucket::Checkpoints => CHECKPOINTS,
            Bucket::Meta => META,
        }
    }
}

/// A records message as a worker reads it.
pub struct RecordsMessage {
    /// Its place in the log (increasing; the checkpoint is one).
    pub seq: u64,
    /// Messages of the partition after it, as far as the log knows.
    pub pending: u64,
    /// The inlet run that published it and its number in that run's partition (0: none).
    pub run: String,
    pub number: u64,
    pub payload: Bytes,
}

/// An incident event as a sink reads it; `ack` tells the log it was written.
pub struct EventMessage {
    pub id: String,
    /// The [`SCAN_PORTS`] masks, comma-separated (empty: none).
    pub scan_ports: String,
    pub payload: Bytes,
    /// Where it is in the log, for errors.
    pub place: String,
    pub ack: BoxFuture<'static, Result<(), Error>>,
}

/// A message published and not yet known stored; it resolves once the log stored it
/// (`true`: as a copy of one stored before, dropped).
pub type Stored = BoxFuture<'static, Result<bool, Error>>;

/// The records log's size, for status.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogInfo {
    pub messages: u64,
    pub bytes: u64,
    pub replicas: usize,
}

/// The engine under the roles (see the module docs).
pub trait Transport: Send + Sync {
    /// Publishes a records message to `partition`; `id` is unique per message (a copy
    /// published again within the log's window is dropped).
    fn publish_records(
        &self,
        partition: u32,
        id: &str,
        run: &str,
        number: u64,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<Stored, Error>>;
    /// Every records message of `partition` from the first retained, then those to come.
    fn replay_records(
        &self,
        partition: u32,
    ) -> BoxFuture<'_, Result<BoxStream<'static, Result<RecordsMessage, Error>>, Error>>;
    /// The sequence of `partition`'s newest records message (0: none).
    fn last_records_seq(&self, partition: u32) -> BoxFuture<'_, Result<u64, Error>>;
    fn records_info(&self) -> BoxFuture<'_, Result<LogInfo, Error>>;
    /// Publishes an event of `partition` with its id (copies within the window dropped).
    fn publish_event(
        &self,
        partition: u32,
        id: &str,
        scan_ports: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<Stored, Error>>;
    /// Events for the consumer group `group` (members share them, groups each get all),
    /// at most `max_pending` delivered and not acknowledged.
    fn consume_events(
        &self,
        group: &str,
        max_pending: i64,
    ) -> BoxFuture<'_, Result<BoxStream<'static, Result<EventMessage, Error>>, Error>>;
    fn get(&self, b: Bucket, key: &str) -> BoxFuture<'_, Result<Option<Bytes>, Error>>;
    /// The value and its revision.
    fn entry(&self, b: Bucket, key: &str) -> BoxFuture<'_, Result<Option<(Bytes, u64)>, Error>>;
    /// Sets a value; its new revision.
    fn put(&self, b: Bucket, key: &str, v: Bytes) -> BoxFuture<'_, Result<u64, Error>>;
    /// Sets a value that must not exist (a lease no one holds).
    fn create(&self, b: Bucket, key: &str, v: Bytes) -> BoxFuture<'_, Result<u64, Error>>;
    /// Sets a value whose revision is still `revision` (a lease renewed by its holder).
    fn update(
        &self,
        b: Bucket,
        key: &str,
        v: Bytes,
        revision: u64,
    ) -> BoxFuture<'_, Result<u64, Error>>;
    fn delete(&self, b: Bucket, key: &str) -> BoxFuture<'_, Result<(), Error>>;
    fn keys(&self, b: Bucket) -> BoxFuture<'_, Result<Vec<String>, Error>>;
}

/// NATS JetStream: streams [`RECORDS`] and [`EVENTS`] (file storage, the configured
/// replicas) and one key-value bucket per [`Bucket`].
pub struct Nats {
    js: jetstream::Context,
    leases: kv::Store,
    workers: kv::Store,
    checkpoints: kv::Store,
    meta: kv::Store,
}

/// Connects to the bus, trying again every second for [`BusConfig::connect_wait`]; each
/// failed try is said on stderr.
async fn connect(cfg: &BusConfig) -> Result<jetstream::Context, Error> {
    let started = std::time::Instant::now();
    let names = cfg.urls.join(",");
    loop {
        let tried = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(2))
            .max_reconnects(None)
            .connect(cfg.urls.as_slice())
            .await;
        match tried {
            Ok(c) => {
                let mut js = jetstream::new(c);
                // a request unanswered for half a lease is given up and tried again
                js.set_timeout(
                    (cfg.lease / 2).clamp(Duration::from_secs(1), Duration::from_secs(5)),
                );
                return Ok(js);
            }
            Err(e) if started.elapsed() >= cfg.connect_wait => {
                return Err(Error::bus(
                    format!("cannot connect to {names}"),
                    format!("{e} (tried for {} s)", cfg.connect_wait.as_secs()),
                ))
            }
            Err(e) => {
                eprintln!("watch: bus {names}: {e}; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

impl Nats {
    /// Connects and creates the streams and buckets with [`BusConfig::replicas`] copies
    /// where missing.
    pub async fn open(cfg: &BusConfig) -> Result<Nats, Error> {
        let js = connect(cfg).await?;
        for (name, subjects) in [(RECORDS, "iotrust.records.>"), (EVENTS, "iotrust.events.>")] {
            if js.get_stream(name).await.is_err() {
                js.get_or_create_stream(stream::Config {
                    name: name.into(),
                    subjects: vec![subjects.into()],
                    max_age: cfg.retention,
                    storage: stream::StorageType::File,
                    num_replicas: cfg.replicas,
                    duplicate_window: Duration::from_secs(120),
                    ..Default::default()
                })
                .await
                .map_err(|e| Error::bus(format!("stream {name}"), e))?;
            }
        }
        let mut stores = Vec::new();
        for (name, age) in [
            (LEASES, cfg.lease),
            (WORKERS, cfg.lease),
            (CHECKPOINTS, Duration::ZERO),
            (META, Duration::ZERO),
        ] {
            if js.get_key_value(name).await.is_err() {
                // the bucket's stream made here, as the client would make it, but with a
                // duplicate window no longer than the entries live: nats-server 2.9
                // refuses a bucket whose window (2 minutes by default) exceeds its max age
                js.get_or_create_stream(stream::Config {
                    name: format!("KV_{name}"),
                    subjects: vec![format!("$KV.{name}.>")],
                    max_messages_per_subject: 1,
                    max_age: age,
                    duplicate_window: if age.is_zero() {
                        Duration::from_secs(120)
                    } else {
                        age.min(Duration::from_secs(120))
                    },
                    storage: stream::StorageType::File,
                    num_replicas: cfg.replicas,
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    discard: stream::DiscardPolicy::New,
                    ..Default::default()
                })
                .await
                .map_err(|e| Error::bus(format!("key-value bucket {name}"), e))?;
            }
            let store = js
                .get_key_value(name)
                .await
                .map_err(|e| Error::bus(format!("key-value bucket {name}"), e))?;
            stores.push(store);
        }
        let mut it = stores.into_iter();
        let missing = || Error::bus("buckets", "not all opened");
        Ok(Nats {
            js,
            leases: it.next().ok_or_else(missing)?,
            workers: it.next().ok_or_else(missing)?,
            checkpoints: it.next().ok_or_else(missing)?,
            meta: it.next().ok_or_else(missing)?,
        })
    }

    /// Stream `name`, its error named by it.
    async fn stream(&self, name: &'static str) -> Result<stream::Stream, Error> {
        self.js
            .get_stream(name)
            .await
            .map_err(|e| Error::bus(name, e))
    }

    fn store(&self, b: Bucket) -> &kv::Store {
        match b {
            Bucket::Leases => &self.leases,
            Bucket::Workers => &self.workers,
            Bucket::Checkpoints => &self.checkpoints,
            Bucket::Meta => &self.meta,
        }
    }

    fn publish(
        &self,
        subject: String,
        headers: async_nats::HeaderMap,
        payload: Bytes,
        what: &'static str,
    ) -> BoxFuture<'_, Result<Stored, Error>> {
        async move {
            let ack = self
                .js
                .publish_with_headers(subject, headers, payload)
                .await
                .map_err(|e| Error::bus(format!("publish {what}"), e))?;
            let stored: Stored = async move {
                ack.await
                    .map(|a| a.duplicate)
                    .map_err(|e| Error::bus(format!("{what} not stored"), e))
            }
            .boxed();
            Ok(stored)
        }
        .boxed()
    }
}

// keys are owned before the request: the returned future outlives the borrowed `key`
#[allow(clippy::unnecessary_to_owned)]
impl Transport for Nats {
    fn publish_records(
        &self,
        partition: u32,
        id: &str,
        run: &str,
        number: u64,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<Stored, Error>> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id);
        headers.insert(RUN, run);
        headers.insert(BATCH, number.to_string().as_str());
        self.publish(records_subject(partition), headers, payload, "records")
    }

    fn replay_records(
        &self,
        partition: u32,
    ) -> BoxFuture<'_, Result<BoxStream<'static, Result<RecordsMessage, Error>>, Error>> {
        async move {
            let subject = records_subject(partition);
            let stream = self.stream(RECORDS).await?;
            let consumer = stream
                .create_consumer(pull::OrderedConfig {
                    filter_subject: subject.clone(),
                    deliver_policy: DeliverPolicy::All,
                    ..Default::default()
                })
                .await
                .map_err(|e| Error::bus(format!("consumer of {subject}"), e))?;
            let messages = consumer
                .messages()
                .await
                .map_err(|e| Error::bus(format!("consumer of {subject}"), e))?;
            let s = messages.map(move |m| {
                let m = m.map_err(|e| Error::bus(format!("reading {subject}"), e))?;
                let info = m
                    .info()
                    .map_err(|e| Error::bus(format!("reading {subject}"), e))?;
                let (seq, pending) = (info.stream_sequence, info.pending);
                Ok(RecordsMessage {
                    seq,
                    pending,
                    run: header(&m, RUN),
                    number: header(&m, BATCH).parse::<u64>().unwrap_or(0),
                    payload: m.payload.clone(),
                })
            });
            Ok(s.boxed())
        }
        .boxed()
    }

    fn last_records_seq(&self, partition: u32) -> BoxFuture<'_, Result<u64, Error>> {
        async move {
            let stream = self.stream(RECORDS).await?;
            Ok(stream
                .get_last_raw_message_by_subject(&records_subject(partition))
                .await
                .map(|m| m.sequence)
                .unwrap_or(0))
        }
        .boxed()
    }

    fn records_info(&self) -> BoxFuture<'_, Result<LogInfo, Error>> {
        async move {
            let mut stream = self.stream(RECORDS).await?;
            let info = stream.info().await.map_err(|e| Error::bus(RECORDS, e))?;
            Ok(LogInfo {
                messages: info.state.messages,
                bytes: info.state.bytes,
                replicas: info.config.num_replicas,
            })
        }
        .boxed()
    }

    fn publish_event(
        &self,
        partition: u32,
        id: &str,
        scan_ports: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<Stored, Error>> {
        let mut headers = async_nats::HeaderMap::new();
        // the bus drops a copy within its duplicate window; the sink by its own header
        // after that
        headers.insert("Nats-Msg-Id", id);
        headers.insert(EVENT_ID, id);
        if !scan_ports.is_empty() {
            headers.insert(SCAN_PORTS, scan_ports);
        }
        self.publish(events_subject(partition), headers, payload, "event")
    }

    fn consume_events(
        &self,
        group: &str,
        max_pending: i64,
    ) -> BoxFuture<'_, Result<BoxStream<'static, Result<EventMessage, Error>>, Error>> {
        let group = group.to_string();
        async move {
            let stream = self.stream(EVENTS).await?;
            let consumer = stream
                .get_or_create_consumer(
                    &group,
                    pull::Config {
                        durable_name: Some(group.clone()),
                        ack_policy: AckPolicy::Explicit,
                        deliver_policy: DeliverPolicy::All,
                        max_ack_pending: max_pending.max(1),
                        ack_wait: Duration::from_secs(30),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| Error::bus(format!("consumer {group} of {EVENTS}"), e))?;
            let messages = consumer
                .messages()
                .await
                .map_err(|e| Error::bus(format!("consumer {group}"), e))?;
            let s = messages.map(|m| {
                let m = m.map_err(|e| Error::bus(format!("reading {EVENTS}"), e))?;
                let seq = m.info().map(|i| i.stream_sequence).unwrap_or(0);
                let (id, scan_ports) = (header(&m, EVENT_ID), header(&m, SCAN_PORTS));
                let place = format!("{} message {seq}", m.subject);
                let payload = m.payload.clone();
                let ack = async move {
                    m.ack()
                        .await
                        .map_err(|e| Error::bus(format!("acknowledging on {EVENTS}"), e))
                }
                .boxed();
                Ok(EventMessage {
                    id,
                    scan_ports,
                    payload,
                    place,
                    ack,
                })
            });
            Ok(s.boxed())
        }
        .boxed()
    }

    fn get(&self, b: Bucket, key: &str) -> BoxFuture<'_, Result<Option<Bytes>, Error>> {
        kv(b, self.store(b).get(key.to_string()))
    }

    fn entry(&self, b: Bucket, key: &str) -> BoxFuture<'_, Result<Option<(Bytes, u64)>, Error>> {
        let entry = self.store(b).entry(key.to_string());
        kv(b, async move {
            Ok::<_, kv::EntryError>(entry.await?.map(|e| (e.value, e.revision)))
        })
    }

    fn put(&self, b: Bucket, key: &str, v: Bytes) -> BoxFuture<'_, Result<u64, Error>> {
        kv(b, self.store(b).put(key.to_string(), v))
    }

    fn create(&self, b: Bucket, key: &str, v: Bytes) -> BoxFuture<'_, Result<u64, Error>> {
        kv(b, self.store(b).create(key.to_string(), v))
    }

    fn update(
        &self,
        b: Bucket,
        key: &str,
        v: Bytes,
        revision: u64,
    ) -> BoxFuture<'_, Result<u64, Error>> {
        kv(b, self.store(b).update(key.to_string(), v, revision))
    }

    fn delete(&self, b: Bucket, key: &str) -> BoxFuture<'_, Result<(), Error>> {
        kv(b, self.store(b).delete(key.to_string()))
    }

    fn keys(&self, b: Bucket) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        async move {
            let mut keys = self
                .store(b)
                .keys()
                .await
                .map_err(|e| Error::bus(b.name(), e))?;
            let mut out = Vec::new();
            while let Some(k) = keys.next().await {
                if let Ok(k) = k {
                    out.push(k);
                }
            }
            Ok(out)
        }
        .boxed()
    }
}

/// A header of a message as text (empty when absent).
fn header(m: &async_nats::Message, name: &str) -> String {
    m.headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().to_string())
        .unwrap_or_default()
}

/// A key-value request of bucket `b`, its error named by the bucket.
fn kv<'a, T, E: std::fmt::Display>(
    b: Bucket,
    f: impl std::future::Future<Output = Result<T, E>> + Send + 'a,
) -> BoxFuture<'a, Result<T, Error>> {
    f.map(move |r| r.map_err(|e| Error::bus(b.name(), e)))
        .boxed()
}

/// Opens the transport the configuration names (NATS JetStream today).
pub async fn open(cfg: &BusConfig) -> Result<std::sync::Arc<dyn Transport>, Error> {
    Ok(std::sync::Arc::new(Nats::open(cfg).await?))
}
