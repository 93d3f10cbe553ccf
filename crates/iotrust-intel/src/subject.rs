//! What an indicator points at, parsed from feed text and checked for sanity.

use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

/// What an indicator names. Addresses are canonical (IPv4-mapped IPv6 becomes IPv4), prefixes
/// have their host bits cleared and are never full-length (a `/32` or `/128` is an address),
/// domains are lower-case ASCII without a trailing dot.
///
/// [`Display`](fmt::Display) writes the syntax of `iotrust watch`'s indicator file:
/// `203.0.113.7`, `203.0.113.8:48101`, `[2001:db8::66]:6667`, `198.51.100.0/24`,
/// `198.51.100.0/24:443`, `cnc.example`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Addr(IpAddr),
    AddrPort(IpAddr, u16),
    /// Network address and prefix length (IPv4 lengths for IPv4).
    Prefix(IpAddr, u8),
    PrefixPort(IpAddr, u8, u16),
    /// That name only (not the names under it).
    Domain(String),
}

impl Subject {
    /// The same subject on `port` (`None` for a domain, which has no port form).
    pub(crate) fn with_port(self, port: u16) -> Option<Subject> {
        match self {
            Subject::Addr(a) => Some(Subject::AddrPort(a, port)),
            Subject::Prefix(a, l) => Some(Subject::PrefixPort(a, l, port)),
            Subject::AddrPort(..) | Subject::PrefixPort(..) | Subject::Domain(_) => None,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Addr(a) => write!(f, "{a}"),
            Subject::AddrPort(IpAddr::V4(a), p) => write!(f, "{a}:{p}"),
            Subject::AddrPort(IpAddr::V6(a), p) => write!(f, "[{a}]:{p}"),
            Subject::Prefix(a, l) => write!(f, "{a}/{l}"),
            Subject::PrefixPort(a, l, p) => write!(f, "{a}/{l}:{p}"),
            Subject::Domain(d) => f.write_str(d),
        }
    }
}

impl Serialize for Subject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An address or CIDR prefix (`198.51.100.7`, `198.51.100.0/24`, `2001:db8::/32`).
pub(crate) fn addr_or_prefix(text: &str) -> Result<Subject, String> {
    let text = text.trim();
    let (ip, len) = match text.split_once('/') {
        Some((ip, len)) => (ip, Some(len)),
        None => (text, None),
    };
    let ip: IpAddr = ip
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not an IP address or prefix"))?;
    let ip = ip.to_canonical();
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => match l.trim().parse::<u8>() {
            Ok(l) if l <= max => l,
            _ => return Err(format!("`{text}`: prefix length must be 0..={max}")),
        },
    };
    prefix(ip, len)
}

/// The subject for `ip/len`, after the sanity checks.
pub(crate) fn prefix(ip: IpAddr, len: u8) -> Result<Subject, String> {
    let ip = ip.to_canonical();
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.min(max);
    let net = mask(ip, len);
    never_c2(net, len)?;
    Ok(if len == max {
        Subject::Addr(net)
    } else {
        Subject::Prefix(net, len)
    })
}

/// An address and port; port 0 is refused.
pub(crate) fn addr_port(ip: &str, port: &str) -> Result<Subject, String> {
    let subject = addr_or_prefix(ip)?;
    let port = port_number(port)?;
    subject
        .with_port(port)
        .ok_or_else(|| format!("`{ip}`: no port form"))
}

pub(crate) fn port_number(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("`{}` is not a port (1..=65535)", text.trim())),
        Ok(p) => Ok(p),
    }
}

/// `host:port`, `[v6]:port` (ThreatFox's `ip:port`).
pub(crate) fn host_port(text: &str) -> Result<Subject, String> {
    let text = text.trim();
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        match rest.split_once("]:") {
            Some((h, p)) => (h, p),
            None => return Err(format!("`{text}` is not address:port")),
        }
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, p),
            // A bare IPv6 address with the port after the last colon (`2001:db8::1:443`) is
            // ambiguous; only the bracketed form is read.
            _ => return Err(format!("`{text}` is not address:port")),
        }
    };
    addr_port(host, port)
}

/// A domain name, or an address if the text is an IP literal.
pub(crate) fn domain(text: &str) -> Result<Subject, String> {
    let raw = text.trim();
    let name = raw.strip_suffix('.').unwrap_or(raw);
    if let Ok(ip) = name.parse::<IpAddr>() {
        return prefix(ip, 128);
    }
    if name.is_empty() {
        return Err("empty domain name".into());
    }
    if !name.is_ascii() {
        return Err(format!(
            "`{raw}`: not ASCII (write an internationalised name in its xn-- form)"
        ));
    }
    let name = name.to_ascii_lowercase();
    if name.len() > 253 {
        return Err(format!("`{raw}`: longer than 253 characters"));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(format!(
            "`{raw}`: a single label would match names of every local network"
        ));
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("`{raw}`: a label must be 1..=63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!("`{raw}` is not a domain name"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("`{raw}` is neither an address nor a domain name"));
    }
    if matches!(labels.last(), Some(&"localhost") | Some(&"local")) {
        return Err(format!("`{raw}` is a local name and never C2"));
    }
    Ok(Subject::Domain(name))
}

/// The host of a URL (`scheme://[user@]host[:port]/...`; an address for an IP literal), and
/// the URL's port when it gives one.
pub(crate) fn url_host(url: &str) -> Result<Subject, String> {
    let url = url.trim();
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, _)) => h,
            None => return Err(format!("`{url}`: unterminated IPv6 literal")),
        }
    } else {
        hostport.split(':').next().unwrap_or(hostport)
    };
    if host.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    if host.contains('%') {
        return Err(format!("`{url}`: percent-encoded host"));
    }
    domain(host).map_err(|e| format!("URL `{url}`: {e}"))
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

/// Ranges that are never a C2 seen from a provider's network: listing one would flag every
/// subscriber (or every home network's own router).
const V4_NEVER: &[(u32, u8, &str)] = &[
    (0x0000_0000, 8, "\"this network\" (0.0.0.0/8)"),
    (0x0a00_0000, 8, "private (10.0.0.0/8)"),
    (0x6440_0000, 10, "shared address space (100.64.0.0/10)"),
    (0x7f00_0000, 8, "loopback (127.0.0.0/8)"),
    (0xa9fe_0000, 16, "link-local (169.254.0.0/16)"),
    (0xac10_0000, 12, "private (172.16.0.0/12)"),
    (0xc0a8_0000, 16, "private (192.168.0.0/16)"),
    (0xe000_0000, 4, "multicast (224.0.0.0/4)"),
    (0xf000_0000, 4, "reserved or broadcast (240.0.0.0/4)"),
];

const V6_NEVER: &[(u128, u8, &str)] = &[
    (0, 128, "unspecified (::)"),
    (1, 128, "loopback (::1)"),
    (0xfc00 << 112, 7, "unique local (fc00::/7)"),
    (0xfe80 << 112, 10, "link-local (fe80::/10)"),
    (0xff00 << 112, 8, "multicast (ff00::/8)"),
];

/// Refuse what can never be a C2: the ranges above, and prefixes shorter than /8 (IPv4) or
/// /16 (IPv6).
fn never_c2(net: IpAddr, len: u8) -> Result<(), String> {
    match net {
        IpAddr::V4(a) => {
            if len < 8 {
                return Err(format!(
                    "{a}/{len} is shorter than /8: it would flag every subscriber"
                ));
            }
            let bits = u32::from(a);
            for &(base, blen, what) in V4_NEVER {
                let common = len.min(blen);
                let m = u32::MAX.checked_shl(32 - u32::from(common)).unwrap_or(0);
                if bits & m == base & m {
                    return Err(format!("{} is {what}: never a C2", show(net, len)));
                }
            }
        }
        IpAddr::V6(a) => {
            if len < 16 {
                return Err(format!(
                    "{a}/{len} is shorter than /16: it would flag every subscriber"
                ));
            }
            let bits = u128::from(a);
            for &(base, blen, what) in V6_NEVER {
                let common = len.min(blen);
                let m = u128::MAX.checked_shl(128 - u32::from(common)).unwrap_or(0);
                if bits & m == base & m {
                    return Err(format!("{} is {what}: never a C2", show(net, len)));
                }
            }
        }
    }
    Ok(())
}

fn show(net: IpAddr, len: u8) -> String {
    let max = if net.is_ipv4() { 32 } else { 128 };
    if len == max {
        net.to_string()
    } else {
        format!("{net}/{len}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_prefixes() {
        assert_eq!(
            addr_or_prefix("198.51.100.7").unwrap().to_string(),
            "198.51.100.7"
        );
        assert_eq!(
            addr_or_prefix("198.51.100.7/24").unwrap().to_string(),
            "198.51.100.0/24"
        );
        assert_eq!(
            addr_or_prefix("198.51.100.7/32").unwrap(),
            Subject::Addr("198.51.100.7".parse().unwrap())
        );
        assert_eq!(
            addr_or_prefix("::ffff:203.0.113.5").unwrap().to_string(),
            "203.0.113.5"
        );
        assert_eq!(
            addr_or_prefix("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!(addr_or_prefix("198.51.100.0/33").is_err());
        assert!(addr_or_prefix("2001:db8::/129").is_err());
        assert!(addr_or_prefix("999.1.1.1").is_err());
    }

    #[test]
    fn never_c2_ranges() {
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "224.0.0.251",
            "255.255.255.255",
            "10.1.2.3",
            "192.168.1.1",
            "172.20.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0/0",
            "8.0.0.0/7",
            "::",
            "::1",
            "ff02::1",
            "fe80::1",
            "fd00::1",
            "2000::/3",
            "2001::/15",
            "172.0.0.0/8",
        ] {
            assert!(addr_or_prefix(bad).is_err(), "{bad} accepted");
        }
        for good in [
            "198.51.100.0/24",
            "203.0.113.9",
            "2001:db8::1",
            "11.0.0.0/8",
        ] {
            assert!(addr_or_prefix(good).is_ok(), "{good} refused");
        }
    }

    #[test]
    fn domains() {
        assert_eq!(
            domain("CNC.Bad.Example.").unwrap().to_string(),
            "cnc.bad.example"
        );
        assert_eq!(
            domain("203.0.113.9").unwrap(),
            Subject::Addr("203.0.113.9".parse().unwrap())
        );
        for bad in [
            "",
            "localhost",
            "single",
            "a..example",
            "bad domain.example",
            "1.2.3.999",
            "café.example",
            "printer.local",
        ] {
            assert!(domain(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn urls_and_host_ports() {
        assert_eq!(
            url_host("http://user@Mal.Example:8080/x?y")
                .unwrap()
                .to_string(),
            "mal.example"
        );
        assert_eq!(
            url_host("https://[2001:db8::5]:8443/a")
                .unwrap()
                .to_string(),
            "2001:db8::5"
        );
        assert_eq!(
            url_host("http://198.51.100.4/bins/x.arm7")
                .unwrap()
                .to_string(),
            "198.51.100.4"
        );
        assert!(url_host("http:///nohost").is_err());
        assert_eq!(
            host_port("198.51.100.7:443").unwrap().to_string(),
            "198.51.100.7:443"
        );
        assert_eq!(
            host_port("[2001:db8::7]:8080").unwrap().to_string(),
            "[2001:db8::7]:8080"
        );
        assert!(host_port("198.51.100.7:0").is_err());
        assert!(host_port("198.51.100.7:70000").is_err());
        assert!(host_port("2001:db8::1:443").is_err());
    }
}
