//! MUD URLs that devices announce (RFC 8520): DHCPv4 option 161 (§10), DHCPv6 option 112
//! (§10) and the LLDP organizationally specific TLV of IANA's OUI 00-00-5E, subtype 1 (§11).
//!
//! The bytes are a device's, so possibly an attacker's: every read is bounded, nothing
//! panics, nothing allocates by a length field but the URL itself (at most
//! [`MAX_URL`] bytes). Hand-written: no maintained crate parses DHCP options, DHCPv6 options
//! and LLDP TLVs sans-IO without pulling in a packet-capture stack, and each decoder here
//! reads only the few fields a MUD URL needs.
//!
//! [`crate::CaptureReader::with_mud`] runs these over every DHCP packet and LLDP frame of a
//! capture and hands out an [`Announcement`] once it knows the device's address.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::bytes::{array_at, be_u16, u8_at};
use crate::record::Addr;

/// The longest MUD URL accepted (long DHCPv4 options concatenated per RFC 3396 could carry
/// more; no MUD URL needs it).
pub const MAX_URL: usize = 2048;

/// The DHCPv4 option of the MUD URL (RFC 8520 §10).
pub const DHCPV4_MUD_URL: u8 = 161;
/// The DHCPv6 option of the MUD URL (RFC 8520 §10).
pub const DHCPV6_MUD_URL: u16 = 112;
/// IANA's OUI, whose LLDP subtype 1 is the MUD URL (RFC 8520 §11).
pub const LLDP_IANA_OUI: [u8; 3] = [0x00, 0x00, 0x5e];
/// The LLDP ethertype.
pub const ETH_LLDP: u16 = 0x88cc;

/// How a device announced its MUD URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    Dhcpv4,
    Dhcpv6,
    Lldp,
}

impl Via {
    pub const fn name(self) -> &'static str {
        match self {
            Via::Dhcpv4 => "dhcpv4",
            Via::Dhcpv6 => "dhcpv6",
            Via::Lldp => "lldp",
        }
    }
}

/// A device's MUD URL, as a capture showed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Announcement {
    /// The `https://` URL of the device's MUD file.
    pub url: String,
    pub via: Via,
    /// The device's address: the one its DHCP message gives (client address, requested
    /// address, IA address), an LLDP management address, or the source of its first packet
    /// from a usable address after the announcement.
    pub device: Addr,
    /// The device's link-layer (MAC) address, when the capture has one.
    pub mac: Option<[u8; 6]>,
    /// The packet (1-based) that carried the URL.
    pub packet: u64,
    /// That packet's time, microseconds since the epoch.
    pub at_us: i64,
}

/// What one message says: the URL, and the device's address if the message names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub url: String,
    pub addr: Option<Addr>,
    /// The device's MAC as the message names it (DHCPv4 `chaddr`).
    pub mac: Option<[u8; 6]>,
    /// The frame is the device's own: its source MAC and IP source are the device's (not
    /// for a message a DHCP relay forwarded).
    pub own_frame: bool,
}

/// Why a message's MUD URL could not be read. `what` names the structure, `reason` the
/// fault (lower case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnnounceError {
    pub what: &'static str,
    pub reason: &'static str,
}

fn err(what: &'static str, reason: &'static str) -> AnnounceError {
    AnnounceError { what, reason }
}

/// Checks a URL's bytes: printable ASCII, `https://` and a host, at most [`MAX_URL`].
pub fn check_url(what: &'static str, b: &[u8]) -> Result<String, AnnounceError> {
    if b.is_empty() {
        return Err(err(what, "the URL is empty"));
    }
    if b.len() > MAX_URL {
        return Err(err(what, "the URL is longer than 2048 bytes"));
    }
    if !b.iter().all(|c| (0x21..=0x7e).contains(c)) {
        return Err(err(
            what,
            "the URL holds a byte that is not printable ASCII",
        ));
    }
    let scheme = b.get(..8).unwrap_or_default();
    if !scheme.eq_ignore_ascii_case(b"https://") {
        return Err(err(what, "not an https:// URL (RFC 8520 requires https)"));
    }
    let host = b.get(8..).unwrap_or_default();
    if host.is_empty() || host.first() == Some(&b'/') {
        return Err(err(what, "the URL names no host"));
    }
    // printable ASCII: valid UTF-8
    Ok(String::from_utf8_lossy(b).into_owned())
}

/// DHCPv4 message types that announce nothing (the device gives its address back).
const DHCPDECLINE: u8 = 4;
const DHCPRELEASE: u8 = 7;

/// A DHCPv4 message (the UDP payload): the MUD URL of a client's message (BOOTREQUEST),
/// its instances concatenated (RFC 3396), options also read from `file` and `sname` when
/// option 52 says so; the device's address from `ciaddr` or option 50. `Ok(None)`: no
/// URL, a server's message, or not DHCP (no magic cookie).
pub fn dhcpv4(b: &[u8]) -> Result<Option<Found>, AnnounceError> {
    const WHAT: &str = "DHCPv4 message";
    let op = u8_at(b, 0).ok_or(err(WHAT, "empty"))?;
    if b.len() < 240 {
        return Err(err(WHAT, "shorter than its 240-byte fixed part"));
    }
    if array_at::<4>(b, 236) != Some([99, 130, 83, 99]) {
        // BOOTP without DHCP options
        return Ok(None);
    }
    if op != 1 {
        return Ok(None);
    }
    let ciaddr = array_at::<4>(b, 12).unwrap_or_default();
    let giaddr = array_at::<4>(b, 24).unwrap_or_default();
    // Ethernet hardware address of 6 bytes
    let chaddr = (b.get(1..3) == Some(&[1, 6][..]))
        .then(|| array_at::<6>(b, 28))
        .flatten();
    let mut url: Vec<u8> = Vec::new();
    let mut has_url = false;
    let mut requested: Option<[u8; 4]> = None;
    let mut msg_type = 0u8;
    // option overload (RFC 2132 9.3): 1 = file, 2 = sname, 3 = both hold options too
    let mut overload = 0u8;
    v4_options(b.get(240..).unwrap_or_default(), &mut |code, v| {
        if code == 52 && v.len() == 1 {
            overload = v.first().copied().unwrap_or(0);
        }
        Ok(())
    })?;
    let mut each = |code: u8, v: &[u8]| -> Result<(), AnnounceError> {
        match code {
            DHCPV4_MUD_URL => {
                has_url = true;
                if url.len() + v.len() > MAX_URL {
                    return Err(err(
                        "DHCPv4 option 161",
                        "the URL is longer than 2048 bytes",
                    ));
                }
                url.extend_from_slice(v);
            }
            50 if v.len() == 4 => requested = array_at::<4>(v, 0),
            53 if v.len() == 1 => msg_type = v.first().copied().unwrap_or(0),
            _ => {}
        }
        Ok(())
    };
    v4_options(b.get(240..).unwrap_or_default(), &mut each)?;
    if overload & 1 != 0 {
        v4_options(b.get(108..236).unwrap_or_default(), &mut each)?;
    }
    if overload & 2 != 0 {
        v4_options(b.get(44..108).unwrap_or_default(), &mut each)?;
    }
    if !has_url || matches!(msg_type, DHCPDECLINE | DHCPRELEASE) {
        return Ok(None);
    }
    let url = check_url("DHCPv4 option 161", &url)?;
    let addr = [ciaddr, requested.unwrap_or_default()]
        .into_iter()
        .find(|a| usable_v4(*a))
        .map(Addr::v4);
    Ok(Some(Found {
        url,
        addr,
        mac: chaddr,
        own_frame: giaddr == [0; 4],
    }))
}

/// Walks DHCPv4 options (code, length, value; 0 pads, 255 ends).
fn v4_options(
    b: &[u8],
    each: &mut impl FnMut(u8, &[u8]) -> Result<(), AnnounceError>,
) -> Result<(), AnnounceError> {
    let mut at = 0usize;
    while let Some(code) = u8_at(b, at) {
        match code {
            0 => at += 1,
            255 => return Ok(()),
            _ => {
                let len = usize::from(
                    u8_at(b, at + 1).ok_or(err("DHCPv4 option", "cut short before its length"))?,
                );
                let v = b
                    .get(at + 2..at + 2 + len)
                    .ok_or(err("DHCPv4 option", "its length runs past the message"))?;
                each(code, v)?;
                at += 2 + len;
            }
        }
    }
    // no end option: tolerated (many stacks pad instead)
    Ok(())
}

/// A unicast IPv4 address a device can have (not 0.0.0.0, broadcast, multicast, loopback).
fn usable_v4(a: [u8; 4]) -> bool {
    let ip = Ipv4Addr::from(a);
    !(ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback())
}

/// A global or unique-local IPv6 address (not link-local, multicast, unspecified, loopback).
fn usable_v6(a: [u8; 16]) -> bool {
    let ip = Ipv6Addr::from(a);
    // an IPv4-mapped address is no device's IPv6 address (and would read as IPv4)
    if ip.to_ipv4_mapped().is_some() {
        return false;
    }
    let link_local = a.first() == Some(&0xfe) && a.get(1).is_some_and(|b| b & 0xc0 == 0x80);
    !(ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() || link_local)
}

/// True for an address a device's own traffic can bind an announcement to.
pub fn usable(a: Addr) -> bool {
    match a.ip() {
        std::net::IpAddr::V4(v) => usable_v4(v.octets()),
        std::net::IpAddr::V6(v) => usable_v6(v.octets()),
    }
}

/// DHCPv6 message types a client sends with options of its own.
fn v6_client(t: u8) -> bool {
    // SOLICIT, REQUEST, CONFIRM, RENEW, REBIND, INFORMATION-REQUEST
    matches!(t, 1 | 3 | 4 | 5 | 6 | 11)
}
const RELAY_FORW: u8 = 12;
const OPTION_RELAY_MSG: u16 = 9;
const OPTION_IA_NA: u16 = 3;
const OPTION_IAADDR: u16 = 5;
/// Relays nested at most (RFC 8415 allows 8 hops by default).
const MAX_RELAYS: usize = 8;

/// A DHCPv6 message (the UDP payload): the MUD URL (option 112) of a client's message,
/// also inside relay-forward messages (option 9); the device's address from the first
/// IA address of an IA_NA. `Ok(None)`: no URL or a server's message.
pub fn dhcpv6(b: &[u8]) -> Result<Option<Found>, AnnounceError> {
    let mut msg = b;
    for depth in 0..MAX_RELAYS {
        let t = u8_at(msg, 0).ok_or(err("DHCPv6 message", "empty"))?;
        if t == RELAY_FORW {
            // hop count, link address, peer address: 34 bytes, then options
            let opts = msg
                .get(34..)
                .ok_or(err("DHCPv6 relay-forward message", "shorter than 34 bytes"))?;
            let mut inner: Option<&[u8]> = None;
            v6_options(opts, &mut |code, v| {
                if code == OPTION_RELAY_MSG && inner.is_none() {
                    inner = Some(v);
                }
                Ok(())
            })?;
            match inner {
                Some(m) => {
                    msg = m;
                    continue;
                }
                None => return Ok(None),
            }
        }
        if !v6_client(t) {
            return Ok(None);
        }
        let opts = msg
            .get(4..)
            .ok_or(err("DHCPv6 message", "shorter than 4 bytes"))?;
        let mut url: Option<&[u8]> = None;
        let mut addr: Option<Addr> = None;
        v6_options(opts, &mut |code, v| {
            match code {
                DHCPV6_MUD_URL if url.is_none() => url = Some(v),
                OPTION_IA_NA if addr.is_none() => {
                    // IAID, T1, T2, then IA options
                    let ia = v
                        .get(12..)
                        .ok_or(err("DHCPv6 IA_NA option", "shorter than 12 bytes"))?;
                    v6_options(ia, &mut |c, a| {
                        if c == OPTION_IAADDR && addr.is_none() {
                            let ip = array_at::<16>(a, 0).ok_or(err(
                                "DHCPv6 IAADDR option",
                                "shorter than its 16-byte address",
                            ))?;
                            addr = usable_v6(ip).then(|| Addr::v6(ip));
                        }
                        Ok(())
                    })?;
                }
                _ => {}
            }
            Ok(())
        })?;
        return match url {
            Some(u) => Ok(Some(Found {
                url: check_url("DHCPv6 option 112", u)?,
                addr,
                mac: None,
                own_frame: depth == 0,
            })),
            None => Ok(None),
        };
    }
    Err(err(
        "DHCPv6 relay-forward message",
        "more than 8 relays nested",
    ))
}

/// Walks DHCPv6 options (16-bit code, 16-bit length, value).
fn v6_options<'a>(
    b: &'a [u8],
    each: &mut impl FnMut(u16, &'a [u8]) -> Result<(), AnnounceError>,
) -> Result<(), AnnounceError> {
    let mut at = 0usize;
    while at < b.len() {
        let code = be_u16(b, at).ok_or(err("DHCPv6 option", "cut short inside its header"))?;
        let len = usize::from(
            be_u16(b, at + 2).ok_or(err("DHCPv6 option", "cut short inside its header"))?,
        );
        let v = b
            .get(at + 4..at + 4 + len)
            .ok_or(err("DHCPv6 option", "its length runs past the message"))?;
        each(code, v)?;
        at += 4 + len;
    }
    Ok(())
}

/// LLDP TLVs read at most (a frame holds far fewer).
const MAX_TLVS: usize = 512;

/// An LLDP data unit (the frame after the ethertype): the MUD URL of TLV 127 with OUI
/// 00-00-5E subtype 1, and the device's address from the first IPv4 or IPv6 management
/// address TLV (8). `Ok(None)`: no URL.
pub fn lldp(b: &[u8]) -> Result<Option<Found>, AnnounceError> {
    let mut at = 0usize;
    let mut url: Option<&[u8]> = None;
    let mut addr: Option<Addr> = None;
    for _ in 0..MAX_TLVS {
        let Some(h) = be_u16(b, at) else {
            // the frame ends without an End TLV: tolerated (padding cut by the capture)
            break;
        };
        let (t, len) = (h >> 9, usize::from(h & 0x1ff));
        if t == 0 {
            break;
        }
        let v = b
            .get(at + 2..at + 2 + len)
            .ok_or(err("LLDP TLV", "its length runs past the frame"))?;
        match t {
            127 if url.is_none()
                && v.get(..3) == Some(LLDP_IANA_OUI.as_slice())
                && v.get(3) == Some(&1) =>
            {
                url = Some(v.get(4..).unwrap_or_default());
            }
            8 if addr.is_none() => {
                // string length (subtype + address), address subtype, address
                let n =
                    usize::from(u8_at(v, 0).ok_or(err("LLDP management address TLV", "empty"))?);
                let a = v.get(2..1 + n).ok_or(err(
                    "LLDP management address TLV",
                    "its address length runs past the TLV",
                ))?;
                addr = match (u8_at(v, 1), a.len()) {
                    (Some(1), 4) => array_at::<4>(a, 0).filter(|x| usable_v4(*x)).map(Addr::v4),
                    (Some(2), 16) => array_at::<16>(a, 0).filter(|x| usable_v6(*x)).map(Addr::v6),
                    _ => None,
                };
            }
            _ => {}
        }
        at += 2 + len;
    }
    match url {
        Some(u) => Ok(Some(Found {
            url: check_url("LLDP MUD URL TLV", u)?,
            addr,
            mac: None,
            own_frame: true,
        })),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dhcp(op: u8, options: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 240];
        b[0] = op;
        b[1] = 1;
        b[2] = 6;
        b[28..34].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        b[236..240].copy_from_slice(&[99, 130, 83, 99]);
        b.extend_from_slice(options);
        b
    }

    fn opt(code: u8, v: &[u8]) -> Vec<u8> {
        let mut o = vec![code, v.len() as u8];
        o.extend_from_slice(v);
        o
    }

    const URL: &str = "https://mud.example.com/bulb.json";

    #[test]
    fn dhcpv4_url_and_requested_address() {
        let mut o = opt(53, &[3]);
        o.extend(opt(50, &[192, 168, 1, 20]));
        o.extend(opt(161, URL.as_bytes()));
        o.push(255);
        let f = dhcpv4(&dhcp(1, &o)).unwrap().unwrap();
        assert_eq!(f.url, URL);
        assert_eq!(f.addr, Some(Addr::v4([192, 168, 1, 20])));
        assert_eq!(f.mac, Some([2, 0, 0, 0, 0, 1]));
        assert!(f.own_frame);
        // relayed: the frame is the relay's
        let mut relayed = dhcp(1, &o);
        relayed[24..28].copy_from_slice(&[10, 0, 0, 1]);
        assert!(!dhcpv4(&relayed).unwrap().unwrap().own_frame);
        // a server's reply, a release, BOOTP: nothing
        assert_eq!(dhcpv4(&dhcp(2, &o)).unwrap(), None);
        let mut rel = opt(53, &[7]);
        rel.extend(opt(161, URL.as_bytes()));
        assert_eq!(dhcpv4(&dhcp(1, &rel)).unwrap(), None);
        let mut bootp = dhcp(1, &o);
        bootp[236] = 0;
        assert_eq!(dhcpv4(&bootp).unwrap(), None);
    }

    #[test]
    fn dhcpv4_long_option_is_concatenated() {
        let (a, b) = URL.as_bytes().split_at(10);
        let mut o = opt(161, a);
        o.extend(opt(161, b));
        let f = dhcpv4(&dhcp(1, &o)).unwrap().unwrap();
        assert_eq!(f.url, URL);
        assert_eq!(f.addr, None);
    }

    #[test]
    fn dhcpv4_faults_are_errors() {
        assert_eq!(
            dhcpv4(&dhcp(1, &[161, 50, b'h'])).unwrap_err().reason,
            "its length runs past the message"
        );
        assert!(dhcpv4(&dhcp(1, &opt(161, b"http://x/y")))
            .unwrap_err()
            .reason
            .contains("https"));
        assert!(dhcpv4(&dhcp(1, &opt(161, b"https://a\x01b"))).is_err());
        assert!(dhcpv4(&[1, 2, 3]).is_err());
        assert!(dhcpv4(&[]).is_err());
    }

    fn v6opt(code: u16, v: &[u8]) -> Vec<u8> {
        let mut o = code.to_be_bytes().to_vec();
        o.extend((v.len() as u16).to_be_bytes());
        o.extend_from_slice(v);
        o
    }

    #[test]
    fn dhcpv6_url_address_and_relay() {
        let ip = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
        let mut iaaddr = ip.to_vec();
        iaaddr.extend([0u8; 8]);
        let mut ia = vec![0u8; 12];
        ia.extend(v6opt(5, &iaaddr));
        let mut m = vec![3, 1, 2, 3];
        m.extend(v6opt(3, &ia));
        m.extend(v6opt(112, URL.as_bytes()));
        let f = dhcpv6(&m).unwrap().unwrap();
        assert_eq!(f.url, URL);
        assert_eq!(f.addr, Some(Addr::v6(ip)));
        let mut relay = vec![12, 0];
        relay.extend([0u8; 32]);
        relay.extend(v6opt(9, &m));
        let relayed = dhcpv6(&relay).unwrap().unwrap();
        assert_eq!(relayed.url, URL);
        assert!(!relayed.own_frame && dhcpv6(&m).unwrap().unwrap().own_frame);
        // a reply from the server
        let mut reply = m.clone();
        reply[0] = 7;
        assert_eq!(dhcpv6(&reply).unwrap(), None);
        // cut option
        assert!(dhcpv6(&m[..m.len() - 3]).is_err());
        // relays nested too deep
        let mut deep = m.clone();
        for _ in 0..9 {
            let mut r = vec![12, 0];
            r.extend([0u8; 32]);
            r.extend(v6opt(9, &deep));
            deep = r;
        }
        assert!(dhcpv6(&deep).is_err());
    }

    fn tlv(t: u16, v: &[u8]) -> Vec<u8> {
        let mut o = ((t << 9) | v.len() as u16).to_be_bytes().to_vec();
        o.extend_from_slice(v);
        o
    }

    #[test]
    fn lldp_url_and_management_address() {
        let mut b = tlv(1, &[4, 2, 0, 0, 0, 0, 1]);
        b.extend(tlv(2, &[3, 2, 0, 0, 0, 0, 1]));
        b.extend(tlv(3, &[0, 120]));
        b.extend(tlv(8, &[5, 1, 192, 168, 1, 30, 2, 0, 0, 0, 0, 0]));
        let mut v = vec![0, 0, 0x5e, 1];
        v.extend_from_slice(URL.as_bytes());
        b.extend(tlv(127, &v));
        b.extend(tlv(0, &[]));
        let f = lldp(&b).unwrap().unwrap();
        assert_eq!(f.url, URL);
        assert_eq!(f.addr, Some(Addr::v4([192, 168, 1, 30])));
        // another organisation's TLV is not a MUD URL
        let other = tlv(127, &[0, 0x12, 0x0f, 1, b'x']);
        assert_eq!(lldp(&other).unwrap(), None);
        assert!(lldp(&b[..b.len() - 10]).is_err());
        assert!(lldp(&tlv(8, &[20, 1, 1])).is_err());
        // regression (fuzzing): an IPv4-mapped IPv6 management address is no address
        let mut mapped = vec![17, 2];
        mapped.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]);
        let mut v = vec![0, 0, 0x5e, 1];
        v.extend_from_slice(URL.as_bytes());
        let mut b = tlv(8, &mapped);
        b.extend(tlv(127, &v));
        assert_eq!(lldp(&b).unwrap().unwrap().addr, None);
    }
}
