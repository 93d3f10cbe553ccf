//! Address prefixes and longest-prefix lookup.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use iotrust_flow::Addr;

use crate::fasthash::FoldState;

/// An IPv4 or IPv6 prefix (`192.0.2.0/24`, `2001:db8::/32`, or a bare address = host route).
/// Kept as 16 bytes and a length over the IPv4-mapped form, like [`Addr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    net: Addr,
    /// Length over the 128-bit (IPv4-mapped) form.
    len: u8,
}

impl Prefix {
    /// The prefix of `len` bits (IPv4 lengths for IPv4 addresses), or `None` if too long.
    pub fn new(ip: IpAddr, len: u8) -> Option<Prefix> {
        let len128 = match ip {
            IpAddr::V4(_) if len <= 32 => len + 96,
            IpAddr::V6(_) if len <= 128 => len,
            _ => return None,
        };
        Some(Prefix {
            net: mask(Addr::from(ip), len128),
            len: len128,
        })
    }

    /// A host route for one address.
    pub fn host(a: Addr) -> Prefix {
        Prefix { net: a, len: 128 }
    }

    pub fn contains(&self, a: Addr) -> bool {
        mask(a, self.len) == self.net
    }

    /// Length as written (IPv4 lengths for IPv4 prefixes).
    pub fn len(&self) -> u8 {
        if self.net.is_ipv4() && self.len >= 96 {
            self.len - 96
        } else {
            self.len
        }
    }

    /// True for a zero-length prefix (`::/0`).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn network(&self) -> Addr {
        self.net
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.len())
    }
}

/// Why a prefix did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixError(pub String);

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Prefix, PrefixError> {
        let s = s.trim();
        let (ip, len) = match s.split_once('/') {
            Some((ip, len)) => (ip, Some(len)),
            None => (s, None),
        };
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| PrefixError(format!("`{s}` is not an IP address or prefix")))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len =
            match len {
                Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max).ok_or_else(|| {
                    PrefixError(format!("`{s}`: prefix length must be 0..={max}"))
                })?,
                None => max,
            };
        Prefix::new(ip, len).ok_or_else(|| PrefixError(format!("`{s}`: bad prefix")))
    }
}

/// The 128-bit mask keeping the first `len` bits (`len` over 128 keeps all).
fn prefix_bits(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

/// The first `len` bits of `a` (the rest zero), as one 128-bit AND.
fn mask(a: Addr, len: u8) -> Addr {
    Addr::v6((u128::from_be_bytes(a.octets()) & prefix_bits(len)).to_be_bytes())
}

/// Prefixes tested one by one by a [`LocalNets`] (more go through a [`PrefixMap`]).
const LINEAR: usize = 16;

/// The subscriber prefixes, for the question asked of both addresses of every record: is
/// this address local? A few prefixes are tested as 128-bit masks, one after the other; a
/// longer list goes through a [`PrefixMap`]. Empty = every address is local.
#[derive(Clone, Debug, Default)]
pub struct LocalNets {
    /// (network, mask) of each prefix, when there are at most [`LINEAR`].
    few: Vec<(u128, u128)>,
    many: Option<PrefixMap<()>>,
}

impl LocalNets {
    pub fn new(prefixes: &[Prefix]) -> LocalNets {
        if prefixes.len() > LINEAR {
            let mut m = PrefixMap::default();
            for p in prefixes {
                m.insert(*p, ());
            }
            return LocalNets {
                few: Vec::new(),
                many: Some(m),
            };
        }
        let few = prefixes
            .iter()
            .map(|p| (u128::from_be_bytes(p.net.octets()), prefix_bits(p.len)))
            .collect();
        LocalNets { few, many: None }
    }

    /// True if `a` is local: in one of the prefixes, or there are none.
    #[inline]
    pub fn contains(&self, a: Addr) -> bool {
        if let Some(m) = &self.many {
            return m.lookup(a).is_some();
        }
        if self.few.is_empty() {
            return true;
        }
        let x = u128::from_be_bytes(a.octets());
        self.few.iter().any(|(net, keep)| x & keep == *net)
    }
}

/// Longest-prefix match from prefixes to values: one hash map per prefix length present,
/// tried longest first (at most 129 lookups, in practice a handful). Looked up for every
/// record (is an address local?): the maps use the engine's keyed multiply-fold hasher.
#[derive(Clone, Debug)]
pub struct PrefixMap<T> {
    by_len: Vec<(u8, HashMap<Addr, T, FoldState>)>,
}

impl<T> Default for PrefixMap<T> {
    fn default() -> Self {
        PrefixMap { by_len: Vec::new() }
    }
}

impl<T> PrefixMap<T> {
    /// Inserts (a later value for the same prefix replaces the earlier).
    pub fn insert(&mut self, p: Prefix, v: T) {
        let pos = self.by_len.iter().position(|(l, _)| *l == p.len);
        let map = match pos {
            Some(i) => self.by_len.get_mut(i),
            None => {
                self.by_len.push((p.len, HashMap::default()));
                self.by_len.sort_by_key(|e| std::cmp::Reverse(e.0));
                let i = self.by_len.iter().position(|(l, _)| *l == p.len);
                i.and_then(|i| self.by_len.get_mut(i))
            }
        };
        if let Some((_, m)) = map {
            m.insert(p.net, v);
        }
    }

    /// The value stored for exactly this prefix.
    pub fn get(&self, p: Prefix) -> Option<&T> {
        self.by_len
            .iter()
            .find(|(len, _)| *len == p.len)
            .and_then(|(_, m)| m.get(&p.net))
    }

    /// The value of the longest prefix containing `a`.
    pub fn lookup(&self, a: Addr) -> Option<&T> {
        self.by_len
            .iter()
            .find_map(|(len, m)| m.get(&mask(a, *len)))
    }

    pub fn len(&self) -> usize {
        self.by_len.iter().map(|(_, m)| m.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_nets_agree_with_a_prefix_map() {
        let all = LocalNets::new(&[]);
        assert!(all.contains(Addr::v4([1, 2, 3, 4])));
        for n in [1usize, 3, 16, 17, 40] {
            let prefixes: Vec<Prefix> = (0..n)
                .map(|i| {
                    format!("10.{}.{}.0/{}", i % 7, i * 5 % 256, 16 + i % 9)
                        .parse()
                        .unwrap()
                })
                .chain(std::iter::once("2001:db8::/32".parse().unwrap()))
                .collect();
            let set = LocalNets::new(&prefixes);
            let mut map = PrefixMap::default();
            for p in &prefixes {
                map.insert(*p, ());
            }
            for k in 0..5_000u32 {
                let a = Addr::v4([10, (k % 9) as u8, (k * 7 % 256) as u8, (k % 251) as u8]);
                assert_eq!(set.contains(a), map.lookup(a).is_some(), "{n} {a}");
            }
            let v6 = Addr::from("2001:db8::9".parse::<IpAddr>().unwrap());
            assert!(set.contains(v6));
            assert!(!set.contains(Addr::v4([192, 0, 2, 1])));
        }
    }

    #[test]
    fn mask_keeps_the_first_bits() {
        let a = Addr::v6([0xff; 16]);
        for len in 0..=128u8 {
            let o = mask(a, len).octets();
            let ones: u32 = o.iter().map(|b| b.count_ones()).sum();
            assert_eq!(ones, u32::from(len));
            let bits = u128::from_be_bytes(o);
            assert_eq!(bits.leading_ones(), u32::from(len));
        }
        assert_eq!(mask(a, 200), a);
    }

    #[test]
    fn prefixes() {
        let p: Prefix = "192.0.2.0/24".parse().unwrap();
        assert!(p.contains(Addr::v4([192, 0, 2, 77])));
        assert!(!p.contains(Addr::v4([192, 0, 3, 1])));
        assert_eq!(p.to_string(), "192.0.2.0/24");
        assert!("192.0.2.0/33".parse::<Prefix>().is_err());
        assert!("nonsense".parse::<Prefix>().is_err());
        let v6: Prefix = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(Addr::from("2001:db8::9".parse::<IpAddr>().unwrap())));
        let mut m = PrefixMap::default();
        m.insert(p, "net");
        m.insert("192.0.2.7".parse().unwrap(), "host");
        assert_eq!(m.lookup(Addr::v4([192, 0, 2, 7])), Some(&"host"));
        assert_eq!(m.lookup(Addr::v4([192, 0, 2, 8])), Some(&"net"));
        assert_eq!(m.lookup(Addr::v4([10, 0, 0, 1])), None);
    }
}
