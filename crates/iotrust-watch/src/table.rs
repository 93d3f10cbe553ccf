//! The bounded table of per-host state: at most `max_hosts` entries, the least recently
//! seen host evicted first (an intrusive doubly linked list over a slab: O(1) per touch).

use std::hash::BuildHasher;

use iotrust_flow::{Addr, FlowRecord};

use crate::detectors::HostState;
use crate::fasthash::FoldState;
use crate::index::{self, AddrIndex};

const NIL: u32 = u32::MAX;

/// Asks the CPU to start loading every cache line of `range`, in bytes from the start of
/// `base` (which may lie past its end, inside the structure holding `base`: prefetching
/// reads nothing and cannot fault). No effect on behaviour, only on when memory is waited
/// for.
#[inline(always)]
fn prefetch_lines(base: &[u8], range: std::ops::Range<usize>) {
    const LINE: usize = 64;
    let mut at = range.start;
    while at < range.end {
        prefetch_index::prefetch_index(base, at);
        at += LINE;
    }
    // the last byte's line, when the range does not start on a line boundary
    prefetch_index::prefetch_index(base, range.end.saturating_sub(1));
}

#[repr(C)]
struct Slot {
    addr: Addr,
    state: HostState,
}

/// List links, apart from the state: moving a host to the front touches its neighbours'
/// links, which stay in cache (8 bytes a host) instead of pulling in their state.
#[derive(Clone, Copy)]
struct Link {
    prev: u32,
    next: u32,
}

/// Per-host state for at most `max_hosts` addresses.
pub struct HostTable {
    slots: Vec<Slot>,
    links: Vec<Link>,
    index: AddrIndex,
    hasher: FoldState,
    /// Most recently seen.
    head: u32,
    /// Least recently seen (evicted first).
    tail: u32,
    max_hosts: usize,
    evicted: u64,
}

impl HostTable {
    /// A table for at most `max_hosts` hosts (at least 1; at most `u32::MAX - 1`).
    pub fn new(max_hosts: usize) -> HostTable {
        HostTable {
            slots: Vec::new(),
            links: Vec::new(),
            index: AddrIndex::default(),
            hasher: FoldState::default(),
            head: NIL,
            tail: NIL,
            max_hosts: max_hosts.clamp(1, (NIL - 1) as usize),
            evicted: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    pub fn max_hosts(&self) -> usize {
        self.max_hosts
    }

    /// Hosts forgotten to make room.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Bytes of one entry: the state, its list links and address, and its index entries
    /// (the index is at most half full: two 8-byte entries a host).
    pub fn bytes_per_host() -> usize {
        std::mem::size_of::<Slot>() + std::mem::size_of::<Link>() + 2 * std::mem::size_of::<u64>()
    }

    /// Bytes held now (slab and index capacity).
    pub fn state_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.links.capacity() * std::mem::size_of::<Link>()
            + self.index.bytes()
    }

    /// The state of `addr` if tracked (does not count as seen).
    pub fn get(&self, addr: Addr) -> Option<&HostState> {
        let i = self.find(addr)?;
        self.slots.get(i as usize).map(|s| &s.state)
    }

    /// Looks `addr` up ahead of [`HostTable::touch_hinted`] and starts loading its address
    /// and the state of one side of `r` (`outbound`: the source's detectors, else the
    /// destination's; only the detectors `r` concerns), so that a group of look-ups
    /// (independent of each other) wait for memory together rather than one after the
    /// other. The hint is only a guess: `touch_hinted` checks it.
    pub fn hint(&self, addr: Addr, r: &FlowRecord, outbound: bool) -> u32 {
        self.hint_tagged(self.prepare(addr), r, outbound)
    }

    /// The first step of [`HostTable::hint`], for a group of look-ups: the address's tag,
    /// with its index entry starting to load.
    #[inline]
    pub fn prepare(&self, addr: Addr) -> u32 {
        let tag = self.tag(addr);
        self.index.prefetch(tag);
        tag
    }

    /// The second step of [`HostTable::hint`], with the tag from [`HostTable::prepare`].
    #[inline]
    pub fn hint_tagged(&self, tag: u32, r: &FlowRecord, outbound: bool) -> u32 {
        // the first slot under the address's tag, unchecked: comparing its address here
        // would wait for the slot's line, which is what the hint avoids
        match self.index.find(tag, |_| true) {
            Some(i) => {
                if let Some(s) = self.slots.get(i as usize) {
                    // the address, which `touch_hinted` compares, and the state to be used
                    let base = s.addr.as_bytes();
                    prefetch_lines(base, 0..16);
                    let at = std::mem::offset_of!(Slot, state);
                    HostState::touched_by(r, outbound, |range| {
                        prefetch_lines(base, at + range.start..at + range.end);
                    });
                }
                i
            }
            None => NIL,
        }
    }

    /// [`HostTable::touch`], skipping the index when `hint` (from [`HostTable::hint`],
    /// possibly stale) still names `addr`'s slot.
    pub fn touch_hinted(&mut self, addr: Addr, hint: u32) -> Option<&mut HostState> {
        // a slot's address is always that of the host it holds (eviction rewrites it)
        if self.slots.get(hint as usize).is_none_or(|s| s.addr != addr) {
            return self.touch(addr);
        }
        if hint != self.head {
            self.unlink(hint);
            self.push_front(hint);
        }
        self.slots.get_mut(hint as usize).map(|s| &mut s.state)
    }

    /// The state of `addr`, created (evicting the least recently seen host when full) if
    /// new; marks it most recently seen.
    pub fn touch(&mut self, addr: Addr) -> Option<&mut HostState> {
        let tag = self.tag(addr);
        let i = match self.find_tagged(tag, addr) {
            Some(i) if i == self.head => i,
            Some(i) => {
                self.unlink(i);
                self.push_front(i);
                i
            }
            None => {
                let i = if self.index.len() >= self.max_hosts && self.tail != NIL {
                    let t = self.tail;
                    self.unlink(t);
                    if let Some(old) = self.slots.get(t as usize).map(|s| s.addr) {
                        self.index.remove(self.tag(old), t);
                    }
                    self.evicted += 1;
                    if let Some(s) = self.slots.get_mut(t as usize) {
                        s.addr = addr;
                        s.state = HostState::default();
                    }
                    t
                } else {
                    let i = u32::try_from(self.slots.len()).ok()?;
                    self.slots.push(Slot {
                        addr,
                        state: HostState::default(),
                    });
                    self.links.push(Link {
                        prev: NIL,
                        next: NIL,
                    });
                    i
                };
                self.index.insert(tag, i);
                self.push_front(i);
                i
            }
        };
        self.slots.get_mut(i as usize).map(|s| &mut s.state)
    }

    fn tag(&self, addr: Addr) -> u32 {
        index::tag(self.hasher.hash_one(addr))
    }

    /// The slot holding `addr`.
    #[inline]
    fn find(&self, addr: Addr) -> Option<u32> {
        self.find_tagged(self.tag(addr), addr)
    }

    #[inline]
    fn find_tagged(&self, tag: u32, addr: Addr) -> Option<u32> {
        let slots = &self.slots;
        self.index.find(tag, |i| {
            slots.get(i as usize).is_some_and(|s| s.addr == addr)
        })
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = match self.links.get(i as usize) {
            Some(s) => (s.prev, s.next),
            None => return,
        };
        match self.links.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.links.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        if let Some(s) = self.links.get_mut(i as usize) {
            s.prev = NIL;
            s.next = NIL;
        }
    }

    fn push_front(&mut self, i: u32) {
        let old = self.head;
        if let Some(s) = self.links.get_mut(i as usize) {
            s.prev = NIL;
            s.next = old;
        }
        match self.links.get_mut(old as usize) {
            Some(h) => h.prev = i,
            None => self.tail = i,
        }
        self.head = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_seen() {
        let mut t = HostTable::new(3);
        let a = |n: u8| Addr::v4([10, 0, 0, n]);
        for n in 1..=3 {
            t.touch(a(n));
        }
        let h = t.hint(a(1), &FlowRecord::default(), true);
        assert_ne!(h, NIL);
        assert!(t.touch_hinted(a(1), h).is_some()); // 2 is now the least recently seen
        t.touch(a(4));
        assert_eq!(t.len(), 3);
        assert!(t.get(a(2)).is_none());
        assert!(t.get(a(1)).is_some() && t.get(a(3)).is_some() && t.get(a(4)).is_some());
        assert_eq!(t.evicted(), 1);
        for n in 5..=200 {
            t.touch(a(n));
        }
        assert_eq!(t.len(), 3);
        assert!(t.get(a(200)).is_some() && t.get(a(198)).is_some());
        assert_eq!(t.evicted(), 197);
    }

    /// Against a naive model: a vector, most recently seen last.
    #[test]
    fn matches_a_naive_lru_model() {
        let mut seed: u64 = 7;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as u8
        };
        for cap in [1usize, 2, 5, 16] {
            let mut t = HostTable::new(cap);
            let mut model: Vec<Addr> = Vec::new();
            for _ in 0..5_000 {
                let a = Addr::v4([10, 0, 0, next() % 24]);
                t.touch(a);
                model.retain(|m| *m != a);
                if model.len() >= cap {
                    model.remove(0);
                }
                model.push(a);
                assert_eq!(t.len(), model.len());
                for n in 0..24 {
                    let x = Addr::v4([10, 0, 0, n]);
                    assert_eq!(t.get(x).is_some(), model.contains(&x), "cap {cap}");
                }
            }
        }
    }
}
