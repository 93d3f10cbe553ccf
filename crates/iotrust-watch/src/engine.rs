//! What a source feeds: the detection engine of one process ([`crate::Sharded`]) or the
//! bus's inlet ([`crate::bus::Inlet`]), which publishes the same items to partitions for
//! workers elsewhere. Sources (capture files, live capture, Zeek logs, the UDP collector)
//! are written against this trait, so one reading loop serves both.

use iotrust_flow::announce::Announcement;
use iotrust_flow::dns::DnsMessage;
use iotrust_flow::FlowRecord;

use crate::detectors::c2::Indicators;
use crate::error::Error;
use crate::incident::Event;
use crate::shard::Sharded;
use crate::sources::Carried;
use crate::watch::WatchStats;

/// Takes records in stream order; see [`Sharded`] for what each call means.
pub trait Engine {
    /// One record.
    fn observe(&mut self, r: &FlowRecord) -> Result<(), Error>;
    /// Records in order.
    fn observe_many(&mut self, rs: &[FlowRecord]) -> Result<(), Error> {
        for r in rs {
            self.observe(r)?;
        }
        Ok(())
    }
    /// A record whose packet carried a DNS message.
    fn observe_with_dns(&mut self, r: &FlowRecord, msg: &DnsMessage) -> Result<(), Error>;
    /// A DNS message from a log (`r` places it and is no traffic).
    fn observe_dns(&mut self, r: &FlowRecord, msg: &DnsMessage) -> Result<(), Error>;
    /// True if the engine wants the DNS message `msg` with its record.
    fn wants_dns(&self, msg: &DnsMessage) -> bool;
    /// A MUD URL a device announced, in its place in the stream (`r`, the record it came
    /// with, places it).
    fn announce(&mut self, r: &FlowRecord, a: &Announcement) -> Result<(), Error>;
    /// A record with what it carried, as sources hand them: its announcements first (they
    /// apply from this record on), then the record — with its DNS message if the engine
    /// wants that.
    fn observe_carried(&mut self, r: &FlowRecord, c: &Carried) -> Result<(), Error> {
        for a in &c.mud {
            self.announce(r, a)?;
        }
        match &c.dns {
            Some(m) if self.wants_dns(m) => self.observe_with_dns(r, m),
            _ => self.observe(r),
        }
    }
    /// A reloaded indicator list, from the next record on.
    fn set_indicators(&mut self, ind: Indicators) -> Result<(), Error>;
    /// Hands on what was taken so far, without waiting for all of it to be done.
    fn flush(&mut self) -> Result<(), Error>;
    /// Hands on everything taken so far and waits for it.
    fn sync(&mut self) -> Result<(), Error>;
    /// Events ready now, in stream order (an inlet has none: its workers make them).
    fn take_events(&mut self) -> Vec<Event>;
    /// Counters so far.
    fn stats(&self) -> WatchStats;
    /// Detector threads or partitions the records are spread over.
    fn shards(&self) -> usize;
}

impl Engine for Sharded {
    fn observe(&mut self, r: &FlowRecord) -> Result<(), Error> {
        Ok(Sharded::observe(self, r)?)
    }
    fn observe_many(&mut self, rs: &[FlowRecord]) -> Result<(), Error> {
        Ok(Sharded::observe_many(self, rs)?)
    }
    fn observe_with_dns(&mut self, r: &FlowRecord, msg: &DnsMessage) -> Result<(), Error> {
        Ok(Sharded::observe_with_dns(self, r, msg)?)
    }
    fn observe_dns(&mut self, r: &FlowRecord, msg: &DnsMessage) -> Result<(), Error> {
        Ok(Sharded::observe_dns(self, r, msg)?)
    }
    fn wants_dns(&self, msg: &DnsMessage) -> bool {
        Sharded::wants_dns(self, msg)
    }
    fn announce(&mut self, r: &FlowRecord, a: &Announcement) -> Result<(), Error> {
        Ok(Sharded::announce(self, r, a)?)
    }
    fn set_indicators(&mut self, ind: Indicators) -> Result<(), Error> {
        Ok(Sharded::set_indicators(self, ind)?)
    }
    fn flush(&mut self) -> Result<(), Error> {
        Ok(Sharded::flush(self)?)
    }
    fn sync(&mut self) -> Result<(), Error> {
        Ok(Sharded::sync(self)?)
    }
    fn take_events(&mut self) -> Vec<Event> {
        self.drain_events().collect()
    }
    fn stats(&self) -> WatchStats {
        Sharded::stats(self)
    }
    fn shards(&self) -> usize {
        Sharded::shards(self)
    }
}
