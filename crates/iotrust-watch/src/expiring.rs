//! Addresses held until a record time, at most `CAP` of them: what DNS answers teach the
//! engine (the addresses of listed C2 domains, [`crate::detectors::c2`]; every address any
//! answer named, [`crate::resolved`]). Looked up for records often, so when full it is purged
//! of expired entries only if some may have expired (the earliest expiry is kept): a flood of
//! new answers costs no scan each.

use std::collections::HashMap;

use iotrust_flow::Addr;

use crate::fasthash::FoldState;

/// What an entry knows of its own expiry.
pub(crate) trait Expires: Copy {
    /// Record time (µs) after which the entry no longer holds.
    fn until_us(&self) -> i64;
}

/// An entry that is only its expiry.
impl Expires for i64 {
    fn until_us(&self) -> i64 {
        *self
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ExpiringMap<V, const CAP: usize> {
    pub(crate) map: HashMap<Addr, V, FoldState>,
    /// No entry expires before this (a lower bound: an extended entry leaves it early).
    pub(crate) earliest_us: i64,
}

impl<V, const CAP: usize> Default for ExpiringMap<V, CAP> {
    fn default() -> Self {
        ExpiringMap {
            map: HashMap::default(),
            earliest_us: i64::MAX,
        }
    }
}

impl<V: Expires, const CAP: usize> ExpiringMap<V, CAP> {
    /// The entry for `addr` if still valid at record time `t_us`.
    #[inline]
    pub(crate) fn get(&self, addr: Addr, t_us: i64) -> Option<V> {
        if self.map.is_empty() {
            return None;
        }
        self.map
            .get(&addr)
            .filter(|v| t_us <= v.until_us())
            .copied()
    }

    /// Keeps `addr`; when full, drops the expired entries first (as of `now_us`), and keeps
    /// nothing new if none had expired. A later entry extends, never shortens.
    pub(crate) fn learn(&mut self, addr: Addr, v: V, now_us: i64) {
        if self.map.len() >= CAP && !self.map.contains_key(&addr) {
            if now_us <= self.earliest_us {
                return;
            }
            let mut earliest = i64::MAX;
            self.map.retain(|_, e| {
                let keep = e.until_us() >= now_us;
                if keep {
                    earliest = earliest.min(e.until_us());
                }
                keep
            });
            self.earliest_us = earliest;
            if self.map.len() >= CAP {
                return;
            }
        }
        self.earliest_us = self.earliest_us.min(v.until_us());
        let e = self.map.entry(addr).or_insert(v);
        if v.until_us() >= e.until_us() {
            *e = v;
        }
    }
}
