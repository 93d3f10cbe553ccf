//! Small fixed-size counters kept per host: distinct values (exact, then HyperLogLog) and a
//! 64-bit bitmap of port pairs.

use iotrust_flow::Addr;

/// A deterministic 64-bit hash of bytes (FNV-1a, then the SplitMix64 finalizer).
///
/// Keyless on purpose: tests and replays give the same counts every run. An attacker who
/// chooses addresses to keep a sketch low can only make a scan look smaller than it is, and
/// the exact phase (the first [`Distinct::EXACT`] values) cannot be fooled. The engine
/// uses [`hash_addr`] (the same function over an address, faster for IPv4).
#[cfg(test)]
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a state after the twelve bytes every IPv4-mapped address starts with.
const V4_PREFIX_STATE: u64 = {
    let prefix = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < prefix.len() {
        h ^= prefix[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
};

/// [`hash_bytes`] of the address's 16 bytes.
pub(crate) fn hash_addr(a: Addr) -> u64 {
    mix(fnv1a(a))
}

/// FNV-1a over the address's 16 bytes; for an IPv4-mapped address the state after its
/// fixed prefix is a constant, so only the last four bytes are hashed (same value).
#[inline]
pub(crate) fn fnv1a(a: Addr) -> u64 {
    // the prefix test as one 128-bit compare (a 16-byte pattern was compared bytewise)
    let o = a.octets();
    let x = u128::from_be_bytes(o);
    if x >> 32 == 0xffff {
        fnv_from(V4_PREFIX_STATE, (x as u32).to_be_bytes())
    } else {
        fnv_from(0xcbf2_9ce4_8422_2325, o)
    }
}

#[inline]
fn fnv_from<const N: usize>(mut h: u64, bytes: [u8; N]) -> u64 {
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const REGISTERS: usize = 64;

/// Number of distinct values seen: exact for the first [`Distinct::EXACT`] (their 32-bit
/// hashes are kept), then a HyperLogLog sketch of 64 one-byte registers (standard error
/// about 13 %, linear counting below 160). 67 bytes, no heap.
#[derive(Clone, Copy, Debug)]
pub struct Distinct {
    /// Exact mode: 16 little-endian `u32` hashes. Sketch mode: 64 registers.
    slots: [u8; REGISTERS],
    /// 24 bits, little-endian (alignment 1, 67 bytes in all): bit 23 set = sketch mode,
    /// the other bits then the estimate, recomputed only when a register rises (rarely;
    /// [`NO_CACHE`] = compute on demand); else the number of exact values.
    meta: [u8; 3],
}

const SKETCH: u32 = 1 << 23;
const NO_CACHE: u32 = SKETCH - 1;

impl Default for Distinct {
    fn default() -> Self {
        Distinct {
            slots: [0; REGISTERS],
            meta: [0; 3],
        }
    }
}

impl Distinct {
    /// Values counted exactly before the sketch takes over.
    pub const EXACT: usize = REGISTERS / 4;

    /// Adds a value by its 64-bit hash.
    pub fn insert(&mut self, hash: u64) {
        let h = (hash >> 32) as u32;
        if self.is_estimate() {
            if self.register(h) {
                self.refresh();
            }
            return;
        }
        let n = self.meta_bits() as usize;
        for i in 0..n {
            if self.stored(i) == Some(h) {
                return;
            }
        }
        if n < Self::EXACT {
            if let Some(slot) = self.slots.get_mut(n * 4..n * 4 + 4) {
                slot.copy_from_slice(&h.to_le_bytes());
            }
            self.set_meta(n as u32 + 1);
            return;
        }
        // switch to the sketch, replaying the exact values
        let mut kept = [0u32; Self::EXACT];
        for (i, k) in kept.iter_mut().enumerate().take(n) {
            *k = self.stored(i).unwrap_or(0);
        }
        self.slots = [0; REGISTERS];
        self.set_meta(SKETCH | NO_CACHE);
        for k in kept.into_iter().take(n) {
            self.register(k);
        }
        self.register(h);
        self.refresh();
    }

    fn stored(&self, i: usize) -> Option<u32> {
        let b = self.slots.get(i * 4..i * 4 + 4)?;
        let arr: [u8; 4] = b.try_into().ok()?;
        Some(u32::from_le_bytes(arr))
    }

    /// Raises a register; true if it rose.
    fn register(&mut self, h: u32) -> bool {
        let idx = (h >> 26) as usize;
        let rest = h << 6;
        let rank = (rest.leading_zeros() + 1).min(27) as u8;
        if let Some(r) = self.slots.get_mut(idx) {
            if rank > *r {
                *r = rank;
                return true;
            }
        }
        false
    }

    fn refresh(&mut self) {
        let e = self.compute();
        let e = u32::try_from(e).map_or(NO_CACHE, |e| e.min(NO_CACHE));
        self.set_meta(SKETCH | e);
    }

    fn meta_bits(&self) -> u32 {
        let [a, b, c] = self.meta;
        u32::from_le_bytes([a, b, c, 0]) & !SKETCH
    }

    fn set_meta(&mut self, v: u32) {
        let [a, b, c, _] = v.to_le_bytes();
        self.meta = [a, b, c];
    }

    /// The count: exact while small, else the HyperLogLog estimate.
    pub fn estimate(&self) -> u64 {
        if !self.is_estimate() {
            return u64::from(self.meta_bits());
        }
        match self.meta_bits() {
            NO_CACHE => self.compute(),
            e => u64::from(e),
        }
    }

    /// The HyperLogLog estimate from the registers.
    fn compute(&self) -> u64 {
        let m = REGISTERS as f64;
        let mut sum = 0.0;
        let mut zeros = 0u32;
        for r in self.slots {
            // 2^-r exactly, from the exponent bits (r ≤ 27): no powi loop per register
            sum += f64::from_bits((1023 - u64::from(r.min(27))) << 52);
            if r == 0 {
                zeros += 1;
            }
        }
        let alpha = 0.709;
        let raw = alpha * m * m / sum;
        let est = if raw <= 2.5 * m && zeros > 0 {
            m * (m / f64::from(zeros)).ln()
        } else {
            raw
        };
        // never below what the exact phase proved
        (est.round() as u64).max(Self::EXACT as u64 + 1)
    }

    /// True once the sketch has taken over (the count is an estimate).
    pub fn is_estimate(&self) -> bool {
        self.meta[2] & 0x80 != 0
    }
}

/// A 64-bit bitmap of hashed (source port, destination port) pairs: how many different port
/// pairs a host used towards one destination (1 for one TCP connection, many for a flood
/// with random ports). 8 bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortPairs(u64);

impl PortPairs {
    pub fn insert(&mut self, src_port: u16, dst_port: u16) {
        let h = mix(u64::from(src_port) << 16 | u64::from(dst_port));
        self.0 |= 1 << (h & 63);
    }

    /// Bits set (at most 64).
    pub fn count(&self) -> u32 {
        self.0.count_ones()
    }

    /// True when most observed records used a port pair of their own: `observed` records
    /// set at least half as many bits (capped at 64), and at least 8.
    pub fn looks_random(&self, observed: u32) -> bool {
        let bits = self.count();
        bits >= 8 && bits * 2 >= observed.min(64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_estimate() {
        let mut d = Distinct::default();
        for i in 0..16u64 {
            d.insert(mix(i));
            d.insert(mix(i));
        }
        assert_eq!(d.estimate(), 16);
        assert!(!d.is_estimate());
        assert_eq!(std::mem::size_of::<Distinct>(), 67);
        for i in 0..2000u64 {
            d.insert(mix(i * 3 + 100));
            if d.is_estimate() {
                assert_eq!(d.estimate(), d.compute(), "{i}");
            }
        }
        for n in [100u64, 1000, 10_000] {
            let mut d = Distinct::default();
            for i in 0..n {
                d.insert(mix(i + 7));
            }
            let e = d.estimate() as f64;
            let err = (e - n as f64).abs() / n as f64;
            assert!(err < 0.35, "{n}: {e}");
        }
    }

    #[test]
    fn v4_fast_path_hashes_like_the_bytes() {
        for a in [
            Addr::v4([0, 0, 0, 0]),
            Addr::v4([10, 10, 10, 10]),
            Addr::v4([255, 255, 255, 255]),
            Addr::v6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ] {
            assert_eq!(hash_addr(a), hash_bytes(&a.octets()));
        }
    }

    #[test]
    fn port_pairs() {
        let mut p = PortPairs::default();
        for _ in 0..100 {
            p.insert(50_000, 445);
        }
        assert_eq!(p.count(), 1);
        assert!(!p.looks_random(100));
        let mut p = PortPairs::default();
        for i in 0..100u16 {
            p.insert(1024 + i * 7, 30_000 + i * 13);
        }
        assert!(p.looks_random(100));
    }
}
