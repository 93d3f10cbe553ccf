//! Counters every reader and decoder keeps, for `watch` to report.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::error::{Error, ErrorKind};

/// Errors counted by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts([u64; ErrorKind::ALL.len()]);

impl ErrorCounts {
    /// How many errors of this kind.
    pub fn get(&self, kind: ErrorKind) -> u64 {
        self.0.get(kind as usize).copied().unwrap_or(0)
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// Kinds with a non-zero count.
    pub fn iter(&self) -> impl Iterator<Item = (ErrorKind, u64)> + '_ {
        ErrorKind::ALL
            .iter()
            .map(|k| (*k, self.get(*k)))
            .filter(|(_, n)| *n > 0)
    }

    pub(crate) fn add(&mut self, kind: ErrorKind) {
        if let Some(slot) = self.0.get_mut(kind as usize) {
            *slot = slot.saturating_add(1);
        }
    }

    fn merge(&mut self, other: &ErrorCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.saturating_add(*b);
        }
    }
}

impl Serialize for ErrorCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, n) in self.iter() {
            m.serialize_entry(k.name(), &n)?;
        }
        m.end()
    }
}

/// Counters of one source (one file, or one datagram decoder).
///
/// A *unit* is what the source is made of: a packet of a capture file, a datagram, a line of
/// a log. Every unit ends up as records, as skipped, or as an error (a datagram can give
/// records and errors both).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Packets, datagrams or lines read.
    pub units: u64,
    /// Records produced.
    pub records: u64,
    /// Units or samples that were understood but yield no record: non-IP packets, sFlow
    /// counter samples, comment lines, NetFlow option records.
    pub skipped: u64,
    /// Packets skipped because their interface's link type is not supported, by link type.
    pub unsupported_link_types: BTreeMap<u32, u64>,
    /// NetFlow v9 / IPFIX templates learned (including refreshes).
    pub templates: u64,
    /// Data sets kept because their template was missing, and later decoded.
    pub replayed: u64,
    /// Data sets kept for a missing template and dropped unread (buffer full or domain
    /// forgotten).
    pub pending_dropped: u64,
    /// Errors by kind.
    pub errors: ErrorCounts,
}

impl Stats {
    /// Counts an error.
    pub fn count_error(&mut self, e: &Error) {
        self.errors.add(e.kind());
    }

    /// Adds another source's counters to these.
    pub fn merge(&mut self, other: &Stats) {
        self.units = self.units.saturating_add(other.units);
        self.records = self.records.saturating_add(other.records);
        self.skipped = self.skipped.saturating_add(other.skipped);
        self.templates = self.templates.saturating_add(other.templates);
        self.replayed = self.replayed.saturating_add(other.replayed);
        self.pending_dropped = self.pending_dropped.saturating_add(other.pending_dropped);
        for (k, v) in &other.unsupported_link_types {
            let e = self.unsupported_link_types.entry(*k).or_insert(0);
            *e = e.saturating_add(*v);
        }
        self.errors.merge(&other.errors);
    }

    pub(crate) fn unit(&mut self) {
        self.units = self.units.saturating_add(1);
    }

    pub(crate) fn record(&mut self) {
        self.records = self.records.saturating_add(1);
    }

    pub(crate) fn records_n(&mut self, n: usize) {
        self.records = self.records.saturating_add(n as u64);
    }

    pub(crate) fn skip(&mut self) {
        self.skipped = self.skipped.saturating_add(1);
    }

    pub(crate) fn skip_link_type(&mut self, link_type: u32) {
        let e = self.unsupported_link_types.entry(link_type).or_insert(0);
        *e = e.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    #[test]
    fn counts_and_merges() {
        let mut a = Stats::default();
        a.count_error(&Error::Malformed {
            at: Location::Line { number: 1 },
            what: "x",
            reason: "y",
        });
        a.unit();
        a.skip_link_type(9);
        let mut b = Stats::default();
        b.merge(&a);
        b.merge(&a);
        assert_eq!(b.errors.get(ErrorKind::Malformed), 2);
        assert_eq!(b.errors.total(), 2);
        assert_eq!(b.units, 2);
        assert_eq!(b.unsupported_link_types.get(&9), Some(&2));
        let j = serde_json::to_value(&b).unwrap();
        assert_eq!(j["errors"]["malformed"], 2);
    }
}
