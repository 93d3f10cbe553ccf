//! `iotrust watch` over a message bus: NATS JetStream (a clustered, replicated log with
//! consumers and a key-value store) between the processes that collect and those that
//! detect.
//!
//! The roles run on a [`transport::Transport`] (two logs and a key-value store);
//! [`transport::Nats`] is the one there is.
//!
//! - The **inlet** ([`Inlet`], an [`crate::Engine`] any source can feed) routes every
//!   record to the partition owning its local side(s), exactly as the sharded engine routes
//!   to its threads ([`crate::shard_of`] over the partitions), puts a time mark (a sweep)
//!   into every partition when stream time passes a sweep time, and a DNS message into every
//!   partition; each partition's items go out in batches on subject
//!   `iotrust.records.<partition>` of stream `IOTRUST_RECORDS`.
//! - A **worker** ([`worker::run`]) claims partitions through leases in the key-value
//!   bucket `iotrust-leases`, runs one [`crate::Watch`] per partition over the partition's
//!   items in order, and publishes the incident events on `iotrust.events.<partition>`
//!   (stream `IOTRUST_EVENTS`) with an id made from the stream (partition, message
//!   sequence, place of the event in it), never from the worker.
//! - The **sink** ([`sink::run`]) consumes the events through a durable consumer and
//!   writes each id once.
//!
//! A partition's detector state is rebuilt by replay: a worker that takes a partition
//! over reads it from its first retained message and publishes only the events of messages
//! after the partition's checkpoint (bucket `iotrust-checkpoints`: the last message whose
//! events the bus acknowledged). docs/scale.md says why replay rather than a snapshot.

use std::time::Duration;

use iotrust_flow::announce::Announcement;
use iotrust_flow::dns::DnsMessage;
use iotrust_flow::wire::{
    decode_announcement, decode_dns, encode_announcement, encode_dns, RECORD_LEN,
};
use iotrust_flow::FlowRecord;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::watch::{Config, Sides};

mod inlet;
pub mod sink;
pub mod status;
pub mod transport;
pub mod worker;

pub use inlet::Inlet;

/// The stream of records, one subject per partition.
pub const RECORDS: &str = "IOTRUST_RECORDS";
/// The stream of incident events.
pub const EVENTS: &str = "IOTRUST_EVENTS";
/// Leases on partitions: key `p<N>`, value the worker's name; entries live one lease time.
pub const LEASES: &str = "iotrust-leases";
/// Workers alive: key the worker's name; entries live one lease time.
pub const WORKERS: &str = "iotrust-workers";
/// Per partition the last records message whose events are on the bus.
pub const CHECKPOINTS: &str = "iotrust-checkpoints";
/// What the inlet tells the workers: partitions and detection settings (key `cluster`).
pub const META: &str = "iotrust-meta";

/// The header naming an event's id (`<partition>.<records message>.<place in it>`).
pub const EVENT_ID: &str = "Iotrust-Event-Id";

/// The header of an event carrying, per target, the bitmask of Mirai ports scanned
/// (comma-separated; absent when none was): the event's JSON line leaves it out, the
/// sink's filters and notices need it ([`crate::Event::scan_ports`]).
pub const SCAN_PORTS: &str = "Iotrust-Scan-Ports";

/// The header naming the inlet run that published a records message.
pub const RUN: &str = "Iotrust-Run";
/// The header numbering a run's records messages in a partition, from 1.
pub const BATCH: &str = "Iotrust-Batch";

/// The subject of partition `p`'s records.
pub fn records_subject(p: u32) -> String {
    format!("iotrust.records.{p}")
}

/// The subject of partition `p`'s events.
pub fn events_subject(p: u32) -> String {
    format!("iotrust.events.{p}")
}

/// The key of partition `p` in the lease and checkpoint buckets.
pub fn partition_key(p: u32) -> String {
    format!("p{p}")
}

/// How to reach the bus and what to create on it.
#[derive(Clone, Debug)]
pub struct BusConfig {
    /// NATS server URLs (`nats://127.0.0.1:4222`); any one reachable is enough.
    pub urls: Vec<String>,
    /// Copies of every stream and bucket the first role to start creates (1 or 3 on a
    /// 3-node cluster; a stream that exists is used as it is).
    pub replicas: usize,
    /// How long a worker holds a partition without renewing its lease.
    pub lease: Duration,
    /// How long to keep trying to reach the bus at start before giving up.
    pub connect_wait: Duration,
    /// Records kept on the bus this long (what a worker can replay).
    pub retention: Duration,
}

impl BusConfig {
    pub fn new(urls: Vec<String>) -> BusConfig {
        BusConfig {
            urls,
            replicas: 1,
            lease: Duration::from_secs(10),
            connect_wait: Duration::from_secs(30),
            retention: Duration::from_secs(24 * 3600),
        }
    }
}

/// What the inlet publishes for the workers (bucket [`META`], key `cluster`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cluster {
    pub partitions: u32,
    /// The detection settings every worker runs with (the inlet's --config and --local).
    pub config: Config,
}

/// A partition's checkpoint: every event of its records messages up to `seq` (stream
/// sequence) is on the bus.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: u64,
    /// When it was written (wall clock, microseconds since the epoch).
    pub at_us: i64,
}

/// First bytes of a records message whose items follow as they are (format 1).
const MAGIC: &[u8; 4] = b"IOR1";
/// First bytes of a records message whose items are LZ4-compressed (format 2: the length
/// of the items, u32 little-endian, then one LZ4 block of them). Records of one partition
/// repeat most of their bytes (IPv4 addresses in 16-byte fields, the same subscribers and
/// times), so the bus stores and moves a fraction of them: the bus's cost is per byte.
const MAGIC_LZ4: &[u8; 4] = b"IOR2";
/// The items of one records message, uncompressed, at most (an inlet's message holds
/// [`inlet::ITEMS_PER_MESSAGE`] items of at most a few hundred bytes): a message claiming
/// more is refused before anything is allocated.
const MAX_ITEMS_BYTES: usize = 16 << 20;
const TAG_RECORD: u8 = 0;
const TAG_RECORD_DNS: u8 = 1;
const TAG_LOG_DNS: u8 = 2;
const TAG_SWEEP: u8 = 3;
const TAG_MUD: u8 = 4;

/// One item of a partition, as its worker runs it (see the sharded engine's routes).
pub(crate) struct Item {
    pub(crate) record: FlowRecord,
    pub(crate) sides: Sides,
    pub(crate) dns: Option<DnsMessage>,
    pub(crate) mud: Option<Announcement>,
    pub(crate) sweep: bool,
}

fn sides_byte(s: Sides) -> u8 {
    u8::from(s.src) | u8::from(s.dst) << 1
}

/// A records message being filled.
pub(crate) struct Batch {
    pub(crate) bytes: Vec<u8>,
    pub(crate) items: usize,
}

impl Batch {
    pub(crate) fn new() -> Batch {
        let mut bytes = Vec::with_capacity(64 * 1024);
        bytes.extend_from_slice(MAGIC);
        Batch { bytes, items: 0 }
    }

    pub(crate) fn record(&mut self, r: &FlowRecord, sides: Sides) {
        self.bytes.push(TAG_RECORD);
        self.bytes.push(sides_byte(sides));
        r.encode(&mut self.bytes);
        self.items += 1;
    }

    pub(crate) fn record_dns(&mut self, r: &FlowRecord, sides: Sides, m: &DnsMessage) {
        self.bytes.push(TAG_RECORD_DNS);
        self.bytes.push(sides_byte(sides));
        r.encode(&mut self.bytes);
        encode_dns(m, &mut self.bytes);
        self.items += 1;
    }

    pub(crate) fn log_dns(&mut self, r: &FlowRecord, m: &DnsMessage) {
        self.bytes.push(TAG_LOG_DNS);
        r.encode(&mut self.bytes);
        encode_dns(m, &mut self.bytes);
        self.items += 1;
    }

    /// A MUD URL announcement at record time `t_us` (every partition gets it).
    pub(crate) fn announce(&mut self, t_us: i64, a: &Announcement) {
        self.bytes.push(TAG_MUD);
        self.bytes.extend_from_slice(&t_us.to_le_bytes());
        encode_announcement(a, &mut self.bytes);
        self.items += 1;
    }

    pub(crate) fn sweep(&mut self, t_us: i64) {
        self.bytes.push(TAG_SWEEP);
        self.bytes.extend_from_slice(&t_us.to_le_bytes());
        self.items += 1;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// The message to publish: format 2 (LZ4) of the items.
    pub(crate) fn compressed(&self) -> Vec<u8> {
        let items = self.bytes.get(MAGIC.len()..).unwrap_or_default();
        let mut out = Vec::with_capacity(8 + items.len() / 2);
        out.extend_from_slice(MAGIC_LZ4);
        out.extend_from_slice(&lz4_flex::block::compress_prepend_size(items));
        out
    }
}

/// The items of a records message as format 1 (the bytes themselves, or decompressed).
fn items_bytes(b: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    match b.get(..4) {
        Some(m) if m == MAGIC.as_slice() => Ok(std::borrow::Cow::Borrowed(b)),
        Some(m) if m == MAGIC_LZ4.as_slice() => {
            let body = b.get(4..).unwrap_or_default();
            let len: [u8; 4] = body
                .get(..4)
                .and_then(|s| s.try_into().ok())
                .ok_or("byte 4: a truncated length")?;
            let len = u32::from_le_bytes(len) as usize;
            if len > MAX_ITEMS_BYTES {
                return Err(format!(
                    "byte 4: items of {len} bytes claimed, more than {MAX_ITEMS_BYTES}"
                ));
            }
            let mut out = Vec::with_capacity(MAGIC.len() + len);
            out.extend_from_slice(MAGIC);
            out.resize(MAGIC.len() + len, 0);
            let n = lz4_flex::block::decompress_into(
                body.get(4..).unwrap_or_default(),
                out.get_mut(MAGIC.len()..).unwrap_or_default(),
            )
            .map_err(|e| format!("byte 8: not an LZ4 block of {len} bytes ({e})"))?;
            if n != len {
                return Err(format!("byte 8: an LZ4 block of {n} bytes, {len} claimed"));
            }
            Ok(std::borrow::Cow::Owned(out))
        }
        _ => Err("not an iotrust records message (no IOR1 or IOR2 header)".into()),
    }
}

/// The items of a records message, or what is wrong with it (at which byte).
/// Byte offsets in errors are those of the items (after decompression for format 2).
pub(crate) fn decode_items(b: &[u8], out: &mut Vec<Item>) -> Result<(), String> {
    let b = items_bytes(b)?;
    let b: &[u8] = &b;
    let mut at = 4usize;
    let sides_of = |x: u8| Sides {
        src: x & 1 != 0,
        dst: x & 2 != 0,
    };
    let record_at = |at: usize| {
        b.get(at..)
            .and_then(FlowRecord::decode)
            .ok_or_else(|| format!("byte {at}: a malformed record"))
    };
    let dns_at = |at: usize| {
        b.get(at..)
            .and_then(decode_dns)
            .ok_or_else(|| format!("byte {at}: a malformed DNS message"))
    };
    while let Some(&tag) = b.get(at) {
        let item = match tag {
            TAG_RECORD => {
                let sides = sides_of(*b.get(at + 1).ok_or("truncated")?);
                let record = record_at(at + 2)?;
                at += 2 + RECORD_LEN;
                Item {
                    record,
                    sides,
                    dns: None,
                    mud: None,
                    sweep: false,
                }
            }
            TAG_RECORD_DNS => {
                let sides = sides_of(*b.get(at + 1).ok_or("truncated")?);
                let record = record_at(at + 2)?;
                let (m, n) = dns_at(at + 2 + RECORD_LEN)?;
                at += 2 + RECORD_LEN + n;
                Item {
                    record,
                    sides,
                    dns: Some(m),
                    mud: None,
                    sweep: false,
                }
            }
            TAG_LOG_DNS => {
                let record = record_at(at + 1)?;
                let (m, n) = dns_at(at + 1 + RECORD_LEN)?;
                at += 1 + RECORD_LEN + n;
                Item {
                    record,
                    sides: Sides::NONE,
                    dns: Some(m),
                    mud: None,
                    sweep: false,
                }
            }
            TAG_SWEEP => {
                let t: [u8; 8] = b
                    .get(at + 1..at + 9)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| format!("byte {at}: a truncated time mark"))?;
                at += 9;
                let mut record = FlowRecord::default();
                record.last_us = i64::from_le_bytes(t);
                Item {
                    record,
                    sides: Sides::NONE,
                    dns: None,
                    mud: None,
                    sweep: true,
                }
            }
            TAG_MUD => {
                let t: [u8; 8] = b
                    .get(at + 1..at + 9)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| format!("byte {at}: a truncated announcement"))?;
                let (a, n) = b
                    .get(at + 9..)
                    .and_then(decode_announcement)
                    .ok_or_else(|| format!("byte {at}: a malformed announcement"))?;
                at += 9 + n;
                let mut record = FlowRecord::default();
                record.last_us = i64::from_le_bytes(t);
                Item {
                    record,
                    sides: Sides::NONE,
                    dns: None,
                    mud: Some(a),
                    sweep: false,
                }
            }
            other => return Err(format!("byte {at}: unknown item tag {other}")),
        };
        out.push(item);
    }
    Ok(())
}

/// A current-thread runtime for the sync API of the roles.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Io)
}

/// Microseconds since the epoch, wall clock.
pub(crate) fn now_us() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_and_garbage_is_an_error() {
        let mut r = FlowRecord::new(iotrust_flow::SourceKind::Pcap);
        r.last_us = 42;
        let m = DnsMessage {
            id: 1,
            response: true,
            rcode: 0,
            question: None,
            answers: Vec::new(),
        };
        let mut b = Batch::new();
        b.record(&r, Sides::SRC);
        b.record_dns(&r, Sides::BOTH, &m);
        b.log_dns(&r, &m);
        b.sweep(99);
        let a = Announcement {
            url: "https://mud.example.com/bulb.json".into(),
            via: iotrust_flow::announce::Via::Dhcpv4,
            device: iotrust_flow::Addr::v4([192, 168, 1, 20]),
            mac: None,
            packet: 3,
            at_us: 7,
        };
        b.announce(7, &a);
        let mut items = Vec::new();
        decode_items(&b.bytes, &mut items).unwrap();
        assert_eq!(items.len(), 5);
        assert_eq!(items[4].mud.as_ref(), Some(&a));
        assert_eq!(items[4].record.last_us, 7);
        assert_eq!(items[0].sides, Sides::SRC);
        assert_eq!(items[1].sides, Sides::BOTH);
        assert_eq!(items[1].dns.as_ref(), Some(&m));
        assert_eq!(items[2].sides, Sides::NONE);
        assert!(items[3].sweep && items[3].record.last_us == 99);
        for cut in 5..b.bytes.len() {
            let mut v = Vec::new();
            // a cut message is an error or fewer items, never a panic
            let _ = decode_items(&b.bytes[..cut], &mut v);
            assert!(v.len() < 5);
        }
        assert!(decode_items(b"nope", &mut Vec::new()).is_err());
        // format 2 gives the same items; a cut or altered block is an error, never a panic
        let z = b.compressed();
        assert!(z.len() < b.bytes.len());
        let mut again = Vec::new();
        decode_items(&z, &mut again).unwrap();
        assert_eq!(again.len(), 5);
        assert_eq!(again[1].dns.as_ref(), Some(&m));
        assert_eq!(again[4].mud.as_ref(), Some(&a));
        for cut in 0..z.len() {
            let _ = decode_items(&z[..cut], &mut Vec::new());
        }
        let mut huge = z.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = decode_items(&huge, &mut Vec::new()).unwrap_err();
        assert!(e.contains("claimed"), "{e}");
    }
}
