//! The host table's address index: open addressing with linear probing over 8-byte
//! entries (a 32-bit tag from the address's hash and the slot number), at most half full.
//!
//! A general map keeps the 16-byte address and the slot in its buckets: 24 bytes a host
//! and, at 37,624 hosts, 1.5 MB that the state slab pushed out of the cache, so every look-up
//! of a cold host waited for memory twice (bucket, then state). These entries take 8 to 16
//! bytes a host and stay in the cache; the address is compared in the slot, whose line is
//! loaded anyway.

/// An empty entry (no slot has this number: the table holds fewer than `u32::MAX` hosts).
const EMPTY: u64 = u64::MAX;

#[inline]
fn slot_of(e: u64) -> u32 {
    (e >> 32) as u32
}

#[inline]
fn tag_of(e: u64) -> u32 {
    e as u32
}

/// The tag of a 64-bit hash: its high half (the home position is the tag's low bits, so a
/// bigger table finds it again without the address).
#[inline]
pub(crate) fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

#[derive(Default)]
pub(crate) struct AddrIndex {
    entries: Vec<u64>,
    len: usize,
}

impl AddrIndex {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<u64>()
    }

    fn mask(&self) -> usize {
        self.entries.len().wrapping_sub(1)
    }

    /// The slot whose entry has `tag` and for which `is` holds (the caller compares the
    /// address), if any.
    #[inline]
    pub(crate) fn find(&self, tag: u32, is: impl Fn(u32) -> bool) -> Option<u32> {
        let mask = self.mask();
        let mut at = tag as usize & mask;
        // at most half full: an empty entry ends every probe
        for _ in 0..self.entries.len() {
            let e = *self.entries.get(at)?;
            if e == EMPTY {
                return None;
            }
            if tag_of(e) == tag && is(slot_of(e)) {
                return Some(slot_of(e));
            }
            at = (at + 1) & mask;
        }
        None
    }

    /// Starts loading the entry where a look-up of `tag` begins.
    #[inline]
    pub(crate) fn prefetch(&self, tag: u32) {
        if !self.entries.is_empty() {
            prefetch_index::prefetch_index(&self.entries, tag as usize & self.mask());
        }
    }

    /// Adds `slot` under `tag` (the caller knows its address is not indexed yet).
    pub(crate) fn insert(&mut self, tag: u32, slot: u32) {
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow();
        }
        self.place(tag, slot);
        self.len += 1;
    }

    fn place(&mut self, tag: u32, slot: u32) {
        let mask = self.mask();
        let mut at = tag as usize & mask;
        while let Some(e) = self.entries.get_mut(at) {
            if *e == EMPTY {
                *e = (u64::from(slot) << 32) | u64::from(tag);
                return;
            }
            at = (at + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let cap = (self.entries.len() * 2).max(16);
        let old = std::mem::replace(&mut self.entries, vec![EMPTY; cap]);
        for e in old.into_iter().filter(|e| *e != EMPTY) {
            self.place(tag_of(e), slot_of(e));
        }
    }

    /// Removes the entry of `slot` (filed under `tag`), closing the gap by moving later
    /// entries of the probe run back (no tombstones).
    pub(crate) fn remove(&mut self, tag: u32, slot: u32) {
        let mask = self.mask();
        let mut at = tag as usize & mask;
        let mut hole = loop {
            match self.entries.get(at) {
                Some(&e) if e != EMPTY && slot_of(e) == slot => break at,
                Some(&e) if e != EMPTY => at = (at + 1) & mask,
                _ => return,
            }
        };
        self.len -= 1;
        let mut at = hole;
        loop {
            at = (at + 1) & mask;
            let e = match self.entries.get(at) {
                Some(&e) if e != EMPTY => e,
                _ => break,
            };
            let home = tag_of(e) as usize & mask;
            // the entry may fill the hole unless its home lies cyclically in (hole, at]
            let stays = if hole <= at {
                hole < home && home <= at
            } else {
                hole < home || home <= at
            };
            if !stays {
                if let Some(h) = self.entries.get_mut(hole) {
                    *h = e;
                }
                hole = at;
            }
        }
        if let Some(h) = self.entries.get_mut(hole) {
            *h = EMPTY;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// Against a list of entries, with tags crowded into few home positions so that runs wrap
    /// around and removals shift entries back.
    #[test]
    fn matches_a_map_under_inserts_and_removals() {
        let mut seed: u64 = 11;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            seed >> 33
        };
        let mut ix = AddrIndex::default();
        let mut model: Vec<(u32, u32)> = Vec::new(); // (slot, tag)
        for step in 0..20_000u32 {
            if next() % 3 == 0 && !model.is_empty() {
                let (slot, t) = model.swap_remove((next() as usize) % model.len());
                ix.remove(t, slot);
                assert_eq!(ix.find(t, |x| x == slot), None);
            } else {
                // few distinct low bits: long runs; equal tags for different slots too
                let t = ((next() as u32) & 0xf00f) | 0x10;
                ix.insert(t, step);
                model.push((step, t));
            }
            assert_eq!(ix.len(), model.len());
            if step % 997 == 0 {
                for &(s, t) in &model {
                    assert_eq!(ix.find(t, |x| x == s), Some(s), "step {step}");
                }
                assert_eq!(ix.find(0x10, |x| x == u32::MAX - 1), None);
            }
        }
    }
}
