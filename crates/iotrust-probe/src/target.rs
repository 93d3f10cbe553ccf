//! Targets and scope: what the user asked to probe, and the allow-list that bounds every packet.
//!
//! A target is an address, a CIDR, a hostname, or any of those with `:port` (TCP) or
//! `:port/udp`; a target file holds one per line (`#` comments). The scope is a list of
//! CIDRs; when none is given the scope is exactly the target addresses. Public addresses are
//! refused unless explicitly allowed.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::path::Path;

use crate::error::ProbeError;

/// An IP network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parse `a.b.c.d/nn`, `v6::/nn` or a bare address (a /32 or /128).
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let a = a.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix) == self.addr
            }
            _ => false,
        }
    }

    /// Number of addresses in the network.
    pub fn size(&self) -> u128 {
        let bits = if self.addr.is_ipv4() { 32 } else { 128 };
        let host_bits = u32::from(bits - self.prefix);
        if host_bits >= 128 {
            u128::MAX
        } else {
            1u128 << host_bits
        }
    }

    /// Host addresses: all of them for /31, /32 and IPv6; without network and broadcast otherwise.
    pub fn hosts(&self) -> Vec<IpAddr> {
        let n = self.size();
        match self.addr {
            IpAddr::V4(a) => {
                let base = u32::from(a);
                let (first, last) = if self.prefix >= 31 {
                    (0u128, n)
                } else {
                    (1u128, n.saturating_sub(1))
                };
                (first..last)
                    .filter_map(|i| u32::try_from(i).ok())
                    .map(|i| IpAddr::V4(Ipv4Addr::from(base.wrapping_add(i))))
                    .collect()
            }
            IpAddr::V6(a) => {
                let base = u128::from(a);
                (0..n.min(1 << 20))
                    .map(|i| IpAddr::V6(Ipv6Addr::from(base.wrapping_add(i))))
                    .collect()
            }
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// Whether an address is public (globally routable). Loopback, RFC 1918 private, link-local,
/// carrier-grade NAT (100.64/10), benchmarking (198.18/15), IPv6 unique-local and link-local are
/// not; everything else is treated as public.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18))
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            !(a.is_loopback() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// Addresses that are never probe targets.
pub fn is_unprobeable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast(),
    }
}

/// The allow-list. Every connection and datagram the probe sends is checked against it in
/// [`crate::net::Gate`], the only code that opens sockets.
#[derive(Clone, Debug)]
pub struct Scope {
    ranges: Vec<Cidr>,
    allow_public: bool,
}

impl Scope {
    /// Build a scope from CIDRs. Public ranges are refused unless `allow_public`.
    pub fn new(ranges: Vec<Cidr>, allow_public: bool) -> Result<Scope, ProbeError> {
        for r in &ranges {
            if !allow_public && range_touches_public(r) {
                return Err(ProbeError::PublicRefused(r.to_string()));
            }
        }
        Ok(Scope {
            ranges,
            allow_public,
        })
    }

    /// Parse `--scope` strings.
    pub fn parse(items: &[String], allow_public: bool) -> Result<Scope, ProbeError> {
        let ranges = items
            .iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.trim().is_empty())
            .map(|s| Cidr::parse(s).ok_or_else(|| ProbeError::BadScope(s.trim().to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Scope::new(ranges, allow_public)
    }

    /// Check one address.
    pub fn check(&self, ip: IpAddr) -> Result<(), ProbeError> {
        if is_unprobeable(ip) {
            return Err(ProbeError::Unprobeable(ip));
        }
        if !self.allow_public && is_public(ip) {
            return Err(ProbeError::PublicRefused(ip.to_string()));
        }
        if self.ranges.iter().any(|r| r.contains(ip)) {
            Ok(())
        } else {
            Err(ProbeError::OutOfScope(ip))
        }
    }

    /// The ranges.
    pub fn ranges(&self) -> &[Cidr] {
        &self.ranges
    }
}

fn range_touches_public(r: &Cidr) -> bool {
    // A range is refused when its first or last address is public, or when it is wider than
    // every non-public block (a /7 or shorter for IPv4 always contains public space).
    let wide = match r.addr {
        IpAddr::V4(_) => r.prefix < 8,
        IpAddr::V6(_) => r.prefix < 7,
    };
    if wide {
        return true;
    }
    let last = match r.addr {
        IpAddr::V4(a) => {
            let host_bits = 32 - u32::from(r.prefix);
            let m = if host_bits == 32 {
                u32::MAX
            } else {
                (1u32 << host_bits).wrapping_sub(1)
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) | m))
        }
        IpAddr::V6(a) => {
            let host_bits = 128 - u32::from(r.prefix);
            let m = if host_bits == 128 {
                u128::MAX
            } else {
                (1u128 << host_bits).wrapping_sub(1)
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) | m))
        }
    };
    is_public(r.addr) || is_public(last)
}

/// A port on a host, TCP or UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        })
    }
}

/// One host to probe after expansion: its address and, when the user named ports, only those.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPlan {
    pub addr: IpAddr,
    /// Explicit ports from `host:port` targets; `None` means the default discovery.
    pub ports: Option<Vec<(u16, Transport)>>,
}

/// One parsed target string before expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    Range(Cidr),
    Host(String),
    HostPort(String, u16, Transport),
}

impl TargetSpec {
    /// Parse one target string.
    pub fn parse(s: &str) -> Result<TargetSpec, ProbeError> {
        let t = s.trim();
        let bad = || ProbeError::BadTarget(t.to_string());
        if t.is_empty() || t.len() > 255 || t.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        if t.contains('/') && !t.ends_with("/udp") && !t.ends_with("/tcp") {
            return Cidr::parse(t).map(TargetSpec::Range).ok_or_else(bad);
        }
        let (body, transport) = if let Some(b) = t.strip_suffix("/udp") {
            (b, Transport::Udp)
        } else if let Some(b) = t.strip_suffix("/tcp") {
            (b, Transport::Tcp)
        } else {
            (t, Transport::Tcp)
        };
        // [v6]:port
        if let Some(rest) = body.strip_prefix('[') {
            let (h, p) = rest.split_once(']').ok_or_else(bad)?;
            let _: Ipv6Addr = h.parse().map_err(|_| bad())?;
            return match p.strip_prefix(':') {
                Some(port) => Ok(TargetSpec::HostPort(
                    h.to_string(),
                    parse_port(port).ok_or_else(bad)?,
                    transport,
                )),
                None if p.is_empty() => Ok(TargetSpec::Host(h.to_string())),
                None => Err(bad()),
            };
        }
        if body.parse::<IpAddr>().is_ok() {
            if transport == Transport::Udp || t.ends_with("/tcp") {
                return Err(bad());
            }
            return Ok(TargetSpec::Host(body.to_string()));
        }
        match body.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => {
                let port = parse_port(p).ok_or_else(bad)?;
                if !valid_host(h) {
                    return Err(bad());
                }
                Ok(TargetSpec::HostPort(h.to_string(), port, transport))
            }
            Some(_) => Err(bad()),
            None if valid_host(body) && transport == Transport::Tcp && !t.ends_with("/tcp") => {
                Ok(TargetSpec::Host(body.to_string()))
            }
            None => Err(bad()),
        }
    }
}

fn parse_port(p: &str) -> Option<u16> {
    p.parse::<u16>().ok().filter(|p| *p != 0)
}

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
}

fn resolve(h: &str) -> Result<Vec<IpAddr>, ProbeError> {
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let addrs: Vec<IpAddr> = (h, 0u16)
        .to_socket_addrs()
        .map_err(|_| ProbeError::Unresolved(h.to_string()))?
        .map(|a| a.ip())
        .collect();
    let mut out = Vec::new();
    for a in addrs {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    if out.is_empty() {
        return Err(ProbeError::Unresolved(h.to_string()));
    }
    Ok(out)
}

/// Read a targets file: one target per line, `#` starts a comment, blank lines ignored.
pub fn read_target_file(path: &Path) -> Result<Vec<String>, ProbeError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProbeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .flat_map(|l| {
            l.split([',', ' ', '\t'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect())
}

/// Expand target strings into hosts, in the order first seen. Hosts named with ports merge
/// their ports; a host named both with and without ports gets the default discovery.
pub fn expand(specs: &[String], max_targets: usize) -> Result<Vec<HostPlan>, ProbeError> {
    let mut order: Vec<IpAddr> = Vec::new();
    let mut plans: BTreeMap<IpAddr, Option<Vec<(u16, Transport)>>> = BTreeMap::new();
    let mut add = |ip: IpAddr, port: Option<(u16, Transport)>, order: &mut Vec<IpAddr>| match plans
        .get_mut(&ip)
    {
        None => {
            order.push(ip);
            plans.insert(ip, port.map(|p| vec![p]));
        }
        Some(slot) => match (slot.as_mut(), port) {
            (Some(list), Some(p)) => {
                if !list.contains(&p) {
                    list.push(p);
                }
            }
            (Some(_), None) => *slot = None,
            (None, _) => {}
        },
    };
    for s in specs {
        match TargetSpec::parse(s)? {
            TargetSpec::Range(c) => {
                let n = c.size();
                if n > max_targets as u128 || n > (1 << 20) {
                    return Err(ProbeError::TooManyTargets {
                        range: c.to_string(),
                        count: n,
                        limit: max_targets,
                    });
                }
                for ip in c.hosts() {
                    add(ip, None, &mut order);
                }
            }
            TargetSpec::Host(h) => {
                for ip in resolve(&h)? {
                    add(ip, None, &mut order);
                }
            }
            TargetSpec::HostPort(h, p, t) => {
                for ip in resolve(&h)? {
                    add(ip, Some((p, t)), &mut order);
                }
            }
        }
        if order.len() > max_targets {
            return Err(ProbeError::TooManyTargets {
                range: s.clone(),
                count: order.len() as u128,
                limit: max_targets,
            });
        }
    }
    Ok(order
        .into_iter()
        .map(|addr| {
            let mut ports = plans.get(&addr).cloned().flatten();
            if let Some(p) = ports.as_mut() {
                p.sort_unstable();
            }
            HostPlan { addr, ports }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parse_and_contains() {
        let c = Cidr::parse("10.0.0.77/24").unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/24");
        assert!(c.contains("10.0.0.255".parse().unwrap()));
        assert!(!c.contains("10.0.1.0".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        assert_eq!(c.hosts().len(), 254);
        assert_eq!(Cidr::parse("10.0.0.4/31").unwrap().hosts().len(), 2);
        assert_eq!(
            Cidr::parse("127.0.0.1").unwrap().hosts(),
            vec!["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("fd00::/120")
            .unwrap()
            .contains("fd00::ff".parse().unwrap()));
        assert!(Cidr::parse("nonsense").is_none());
    }

    #[test]
    fn public_detection() {
        for p in [
            "8.8.8.8",
            "1.1.1.1",
            "2001:db8::1",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert!(is_public(p.parse().unwrap()), "{p}");
        }
        for p in [
            "10.1.2.3",
            "127.0.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd12::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(p.parse().unwrap()), "{p}");
        }
    }

    #[test]
    fn scope_refuses_public_unless_allowed() {
        assert!(matches!(
            Scope::parse(&["8.8.8.0/24".into()], false),
            Err(ProbeError::PublicRefused(_))
        ));
        assert!(matches!(
            Scope::parse(&["0.0.0.0/0".into()], false),
            Err(ProbeError::PublicRefused(_))
        ));
        assert!(matches!(
            Scope::parse(&["10.0.0.0/7".into()], false),
            Err(ProbeError::PublicRefused(_))
        ));
        assert!(Scope::parse(&["8.8.8.0/24".into()], true).is_ok());
        let s = Scope::parse(&["127.0.0.0/8,10.9.0.0/16".into()], false).unwrap();
        assert!(s.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(s.check("10.9.3.4".parse().unwrap()).is_ok());
        assert!(matches!(
            s.check("10.10.0.1".parse().unwrap()),
            Err(ProbeError::OutOfScope(_))
        ));
        assert!(matches!(
            s.check("8.8.8.8".parse().unwrap()),
            Err(ProbeError::PublicRefused(_))
        ));
        assert!(matches!(
            s.check("0.0.0.0".parse().unwrap()),
            Err(ProbeError::Unprobeable(_))
        ));
        // Even a scope that allows public space refuses a public address outside it.
        let s = Scope::parse(&["8.8.8.0/24".into()], true).unwrap();
        assert!(matches!(
            s.check("8.8.4.4".parse().unwrap()),
            Err(ProbeError::OutOfScope(_))
        ));
    }

    #[test]
    fn target_specs() {
        assert_eq!(
            TargetSpec::parse("10.0.0.1").unwrap(),
            TargetSpec::Host("10.0.0.1".into())
        );
        assert_eq!(
            TargetSpec::parse("10.0.0.1:2323").unwrap(),
            TargetSpec::HostPort("10.0.0.1".into(), 2323, Transport::Tcp)
        );
        assert_eq!(
            TargetSpec::parse("10.0.0.1:161/udp").unwrap(),
            TargetSpec::HostPort("10.0.0.1".into(), 161, Transport::Udp)
        );
        assert_eq!(
            TargetSpec::parse("[::1]:22").unwrap(),
            TargetSpec::HostPort("::1".into(), 22, Transport::Tcp)
        );
        assert_eq!(
            TargetSpec::parse("::1").unwrap(),
            TargetSpec::Host("::1".into())
        );
        assert!(matches!(
            TargetSpec::parse("10.0.0.0/30").unwrap(),
            TargetSpec::Range(_)
        ));
        assert_eq!(
            TargetSpec::parse("cam-1.lan").unwrap(),
            TargetSpec::Host("cam-1.lan".into())
        );
        for bad in [
            "",
            "10.0.0.1:0",
            "10.0.0.1:99999",
            "a b",
            "10.0.0.0/40",
            "x:y:z",
            "10.0.0.1/udp",
            "[::1",
            "h;rm",
        ] {
            assert!(TargetSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expand_merges_ports_and_limits() {
        let plans = expand(
            &[
                "127.0.0.1:23".into(),
                "127.0.0.1:80".into(),
                "127.0.0.2".into(),
                "127.0.0.2:81".into(),
            ],
            100,
        )
        .unwrap();
        assert_eq!(plans.len(), 2);
        assert_eq!(
            plans[0].ports,
            Some(vec![(23, Transport::Tcp), (80, Transport::Tcp)])
        );
        assert_eq!(plans[1].ports, None);
        assert!(matches!(
            expand(&["10.0.0.0/16".into()], 1000),
            Err(ProbeError::TooManyTargets { .. })
        ));
        assert_eq!(expand(&["127.0.0.0/30".into()], 10).unwrap().len(), 2);
    }
}
