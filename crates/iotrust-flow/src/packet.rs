//! Link-layer, IP and transport headers of one packet → a one-packet [`FlowRecord`].
//!
//! Shared by the capture readers and by sFlow's sampled headers. Only headers are read: a
//! packet cut short by the capture's snap length still gives addresses and protocol, and
//! ports when they were captured.

use crate::bytes::{array_at, be_u16, be_u32, u8_at};
use crate::record::{Addr, FlowRecord, TcpFlags};

/// Link types (the `LINKTYPE_*` values of the pcap and pcapng formats) this crate decodes.
pub mod link_type {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II, with 802.1Q / 802.1ad (QinQ) tags, PPPoE sessions and MPLS.
    pub const ETHERNET: u32 = 1;
    /// Raw IP, version from the first nibble.
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: the address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux "cooked" capture, version 1.
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux "cooked" capture, version 2.
    pub const LINUX_SLL2: u32 = 276;

    /// True for the link types above.
    pub const fn is_supported(link_type: u32) -> bool {
        matches!(
            link_type,
            NULL | ETHERNET | RAW | LOOP | LINUX_SLL | IPV4 | IPV6 | LINUX_SLL2
        )
    }
}

/// What a frame turned out to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// An IP packet: the record is filled. `l4` is the transport header and what follows it
    /// (empty for a fragment other than the first).
    Ip { l4: &'a [u8] },
    /// An LLDP data unit (its TLVs): no record, but it may announce a MUD URL
    /// ([`crate::announce::lldp`]).
    Lldp { tlvs: &'a [u8] },
    /// Something else (ARP, STP ...): nothing to record.
    NotIp,
}

/// Why a frame could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    UnsupportedLinkType,
    Malformed {
        what: &'static str,
        reason: &'static str,
    },
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_PPPOE_SESSION: u16 = 0x8864;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MULTICAST: u16 = 0x8848;
/// Nested VLAN tags, MPLS labels, IPv6 extension headers: more than this is refused.
const MAX_NESTING: usize = 8;

fn malformed(what: &'static str, reason: &'static str) -> FrameError {
    FrameError::Malformed { what, reason }
}

/// Decodes a captured frame of `link_type`. `orig_len` is the frame's length on the wire
/// (used when the IP header gives no length). Fills `rec`'s addresses, protocol, ports,
/// flags, sequence number, TTL, bytes and `packets = 1`; leaves times, kind and sampling to
/// the caller.
pub(crate) fn decode_frame<'a>(
    link_type: u32,
    data: &'a [u8],
    orig_len: u32,
    rec: &mut FlowRecord,
) -> Result<Frame<'a>, FrameError> {
    let orig_len = u64::from(orig_len);
    match link_type {
        link_type::ETHERNET => ethernet(data, orig_len, rec),
        link_type::RAW => raw_ip(data, orig_len, rec),
        link_type::IPV4 => ipv4(data, orig_len, rec),
        link_type::IPV6 => ipv6(data, orig_len, rec),
        link_type::NULL | link_type::LOOP => {
            let fam = array_at::<4>(data, 0)
                .ok_or(malformed("loopback header", "shorter than 4 bytes"))?;
            let rest = data.get(4..).unwrap_or_default();
            let l3 = orig_len.saturating_sub(4);
            let families = if link_type == link_type::LOOP {
                [u32::from_be_bytes(fam), u32::from_be_bytes(fam)]
            } else {
                [u32::from_le_bytes(fam), u32::from_be_bytes(fam)]
            };
            if families.contains(&2) {
                ipv4(rest, l3, rec)
            } else if families.iter().any(|f| matches!(f, 10 | 24 | 28 | 30)) {
                ipv6(rest, l3, rec)
            } else {
                Ok(Frame::NotIp)
            }
        }
        link_type::LINUX_SLL => {
            let proto = be_u16(data, 14)
                .ok_or(malformed("Linux cooked header", "shorter than 16 bytes"))?;
            by_ethertype(
                proto,
                data.get(16..).unwrap_or_default(),
                orig_len.saturating_sub(16),
                rec,
            )
        }
        link_type::LINUX_SLL2 => {
            let proto = be_u16(data, 0)
                .ok_or(malformed("Linux cooked v2 header", "shorter than 20 bytes"))?;
            if data.len() < 20 {
                return Err(malformed("Linux cooked v2 header", "shorter than 20 bytes"));
            }
            by_ethertype(
                proto,
                data.get(20..).unwrap_or_default(),
                orig_len.saturating_sub(20),
                rec,
            )
        }
        _ => Err(FrameError::UnsupportedLinkType),
    }
}

/// The sender's link-layer address of a frame: Ethernet's source, or a Linux cooked
/// header's 6-byte address.
pub(crate) fn source_mac(link_type: u32, data: &[u8]) -> Option<[u8; 6]> {
    match link_type {
        link_type::ETHERNET => array_at::<6>(data, 6),
        link_type::LINUX_SLL if be_u16(data, 4) == Some(6) => array_at::<6>(data, 6),
        link_type::LINUX_SLL2 if u8_at(data, 11) == Some(6) => array_at::<6>(data, 12),
        _ => None,
    }
}

fn ethernet<'a>(
    data: &'a [u8],
    orig_len: u64,
    rec: &mut FlowRecord,
) -> Result<Frame<'a>, FrameError> {
    let mut ethertype =
        be_u16(data, 12).ok_or(malformed("Ethernet header", "shorter than 14 bytes"))?;
    let mut off = 14usize;
    // 802.3 length field followed by LLC/SNAP: the real type is in the SNAP header.
    if ethertype <= 1500 {
        match array_at::<3>(data, off) {
            Some([0xaa, 0xaa, 0x03]) => {
                ethertype = be_u16(data, off + 6).ok_or(malformed("SNAP header", "cut short"))?;
                off += 8;
            }
            _ => return Ok(Frame::NotIp),
        }
    }
    by_ethertype(
        ethertype,
        data.get(off..).unwrap_or_default(),
        orig_len.saturating_sub(off as u64),
        rec,
    )
}

/// Follows VLAN tags, PPPoE and MPLS to the IP header.
fn by_ethertype<'a>(
    mut ethertype: u16,
    mut data: &'a [u8],
    mut orig_len: u64,
    rec: &mut FlowRecord,
) -> Result<Frame<'a>, FrameError> {
    for _ in 0..MAX_NESTING {
        match ethertype {
            ETH_IPV4 => return ipv4(data, orig_len, rec),
            ETH_IPV6 => return ipv6(data, orig_len, rec),
            crate::announce::ETH_LLDP => return Ok(Frame::Lldp { tlvs: data }),
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                ethertype = be_u16(data, 2).ok_or(malformed("VLAN tag", "cut short"))?;
                data = data.get(4..).unwrap_or_default();
                orig_len = orig_len.saturating_sub(4);
            }
            ETH_PPPOE_SESSION => {
                // version/type, code, session id, length, then the PPP protocol.
                let ppp = be_u16(data, 6).ok_or(malformed("PPPoE header", "cut short"))?;
                let rest = data.get(8..).unwrap_or_default();
                let l3 = orig_len.saturating_sub(8);
                return match ppp {
                    0x0021 => ipv4(rest, l3, rec),
                    0x0057 => ipv6(rest, l3, rec),
                    _ => Ok(Frame::NotIp),
                };
            }
            ETH_MPLS | ETH_MPLS_MULTICAST => {
                let mut off = 0usize;
                let mut bottom = false;
                for _ in 0..MAX_NESTING {
                    let label =
                        be_u32(data, off).ok_or(malformed("MPLS label stack", "cut short"))?;
                    off += 4;
                    if label & 0x100 != 0 {
                        bottom = true;
                        break;
                    }
                }
                if !bottom {
                    return Err(malformed("MPLS label stack", "more than 8 labels"));
                }
                return raw_ip(
                    data.get(off..).unwrap_or_default(),
                    orig_len.saturating_sub(off as u64),
                    rec,
                );
            }
            _ => return Ok(Frame::NotIp),
        }
    }
    Err(malformed("VLAN tags", "more than 8 nested tags"))
}

fn raw_ip<'a>(
    data: &'a [u8],
    orig_len: u64,
    rec: &mut FlowRecord,
) -> Result<Frame<'a>, FrameError> {
    match u8_at(data, 0).map(|b| b >> 4) {
        Some(4) => ipv4(data, orig_len, rec),
        Some(6) => ipv6(data, orig_len, rec),
        Some(_) => Err(malformed("raw IP packet", "version is neither 4 nor 6")),
        None => Err(malformed("raw IP packet", "empty")),
    }
}

fn ipv4<'a>(b: &'a [u8], orig_len: u64, rec: &mut FlowRecord) -> Result<Frame<'a>, FrameError> {
    const WHAT: &str = "IPv4 header";
    let [vihl, _tos, tl0, tl1, _, _, fo0, fo1, ttl, proto] =
        array_at::<10>(b, 0).ok_or(malformed(WHAT, "shorter than 20 bytes"))?;
    let src = array_at::<4>(b, 12).ok_or(malformed(WHAT, "shorter than 20 bytes"))?;
    let dst = array_at::<4>(b, 16).ok_or(malformed(WHAT, "shorter than 20 bytes"))?;
    if vihl >> 4 != 4 {
        return Err(malformed(WHAT, "version is not 4"));
    }
    let hlen = usize::from(vihl & 0x0f) * 4;
    if hlen < 20 {
        return Err(malformed(WHAT, "header length below 20 bytes"));
    }
    let total = u16::from_be_bytes([tl0, tl1]);
    let total = if total == 0 {
        // TCP segmentation offload leaves 0 here: take the length on the wire.
        orig_len
    } else if usize::from(total) < hlen {
        return Err(malformed(WHAT, "total length below header length"));
    } else {
        u64::from(total)
    };
    rec.src = Addr::v4(src);
    rec.dst = Addr::v4(dst);
    rec.proto = proto;
    rec.set_ttl(ttl);
    rec.bytes = total;
    rec.packets = 1;
    let frag_offset = u16::from_be_bytes([fo0, fo1]) & 0x1fff;
    let mut l4: &[u8] = &[];
    if frag_offset == 0 {
        let end = usize::try_from(total).unwrap_or(usize::MAX).min(b.len());
        if let Some(t) = b.get(hlen..end) {
            transport(proto, t, rec);
            l4 = t;
        }
    }
    Ok(Frame::Ip { l4 })
}

fn ipv6<'a>(b: &'a [u8], orig_len: u64, rec: &mut FlowRecord) -> Result<Frame<'a>, FrameError> {
    const WHAT: &str = "IPv6 header";
    let [v, _, _, _, pl0, pl1, next, hop] =
        array_at::<8>(b, 0).ok_or(malformed(WHAT, "shorter than 40 bytes"))?;
    let src = array_at::<16>(b, 8).ok_or(malformed(WHAT, "shorter than 40 bytes"))?;
    let dst = array_at::<16>(b, 24).ok_or(malformed(WHAT, "shorter than 40 bytes"))?;
    if v >> 4 != 6 {
        return Err(malformed(WHAT, "version is not 6"));
    }
    let payload = u16::from_be_bytes([pl0, pl1]);
    let total = if payload == 0 {
        // Jumbogram or offloaded segment: take the length on the wire.
        orig_len.max(40)
    } else {
        40 + u64::from(payload)
    };
    rec.src = Addr::v6(src);
    rec.dst = Addr::v6(dst);
    rec.set_ttl(hop);
    rec.bytes = total;
    rec.packets = 1;
    let end = usize::try_from(total).unwrap_or(usize::MAX).min(b.len());
    let mut l4 = b.get(40..end).unwrap_or_default();
    let mut proto = next;
    for _ in 0..MAX_NESTING {
        let skip = match proto {
            // hop-by-hop, routing, destination options, mobility
            0 | 43 | 60 | 135 => match u8_at(l4, 1) {
                Some(n) => (usize::from(n) + 1) * 8,
                None => break,
            },
            // fragment: only the first fragment carries the transport header
            44 => {
                match be_u16(l4, 2) {
                    Some(off) if off & 0xfff8 == 0 => {}
                    _ => {
                        proto = u8_at(l4, 0).unwrap_or(proto);
                        rec.proto = proto;
                        return Ok(Frame::Ip { l4: &[] });
                    }
                }
                8
            }
            // authentication header
            51 => match u8_at(l4, 1) {
                Some(n) => (usize::from(n) + 2) * 4,
                None => break,
            },
            _ => break,
        };
        let Some(n) = u8_at(l4, 0) else { break };
        proto = n;
        l4 = l4.get(skip..).unwrap_or_default();
    }
    rec.proto = proto;
    transport(proto, l4, rec);
    Ok(Frame::Ip { l4 })
}

fn transport(proto: u8, l4: &[u8], rec: &mut FlowRecord) {
    match proto {
        6 => {
            if let Some([s0, s1, d0, d1]) = array_at::<4>(l4, 0) {
                rec.src_port = u16::from_be_bytes([s0, s1]);
                rec.dst_port = u16::from_be_bytes([d0, d1]);
            }
            if let (Some(seq), Some(flags)) = (be_u32(l4, 4), u8_at(l4, 13)) {
                rec.set_tcp_seq(seq);
                rec.tcp_flags = TcpFlags(flags);
            }
            // the payload's first bytes, for the few application hints detection uses
            if let Some(off) = u8_at(l4, 12) {
                let at = usize::from(off >> 4) * 4;
                if at >= 20 {
                    if let Some(payload) = l4.get(at..).filter(|p| !p.is_empty()) {
                        rec.app =
                            crate::record::App::of_tcp_payload(rec.src_port, rec.dst_port, payload);
                    }
                }
            }
        }
        // UDP, SCTP, DCCP, UDP-Lite: ports first
        17 | 132 | 33 | 136 => {
            if let Some([s0, s1, d0, d1]) = array_at::<4>(l4, 0) {
                rec.src_port = u16::from_be_bytes([s0, s1]);
                rec.dst_port = u16::from_be_bytes([d0, d1]);
            }
        }
        1 | 58 => {
            if let Some([t, c]) = array_at::<2>(l4, 0) {
                rec.set_icmp(t, c);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SourceKind;
    use crate::testing::packets as p;

    /// The frame's kind (without its transport bytes) and record.
    fn decode(link: u32, data: &[u8]) -> Result<(Frame<'static>, FlowRecord), FrameError> {
        let mut r = FlowRecord::new(SourceKind::Pcap);
        let f = match decode_frame(link, data, data.len() as u32, &mut r)? {
            Frame::Ip { .. } => Frame::Ip { l4: &[] },
            Frame::Lldp { .. } => Frame::Lldp { tlvs: &[] },
            Frame::NotIp => Frame::NotIp,
        };
        Ok((f, r))
    }

    #[test]
    fn transport_bytes_come_with_the_frame() {
        let udp = p::udp_with(5353, 53, b"payload");
        let ip = p::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, 64, &udp);
        let eth = p::ethernet(ETH_IPV4, &[0x8100], &ip);
        let mut r = FlowRecord::new(SourceKind::Pcap);
        let f = decode_frame(link_type::ETHERNET, &eth, eth.len() as u32, &mut r).unwrap();
        assert_eq!(f, Frame::Ip { l4: &udp });
        // an IPv4 fragment after the first carries no transport header
        let mut frag = ip.clone();
        frag[6] = 0x00;
        frag[7] = 0x10;
        let f = decode_frame(link_type::RAW, &frag, frag.len() as u32, &mut r).unwrap();
        assert_eq!(f, Frame::Ip { l4: &[] });
    }

    #[test]
    fn ethernet_ipv4_tcp_with_fingerprint() {
        let ip = p::ipv4_tcp(
            [192, 168, 1, 50],
            [93, 184, 216, 34],
            40000,
            23,
            0x5db8_d822,
            TcpFlags::SYN,
            64,
        );
        let (f, r) = decode(link_type::ETHERNET, &p::ethernet(ETH_IPV4, &[], &ip)).unwrap();
        assert!(matches!(f, Frame::Ip { .. }));
        assert_eq!(r.src, Addr::v4([192, 168, 1, 50]));
        assert_eq!(r.dst_port, 23);
        assert_eq!(r.proto, 6);
        assert_eq!(r.bytes, 40);
        assert_eq!(r.ttl(), Some(64));
        assert!(r.tcp_flags.is_syn_only());
        assert_eq!(r.seq_equals_dst(), Some(true));
    }

    #[test]
    fn vlan_qinq_pppoe_mpls() {
        let ip = p::ipv4_udp([10, 0, 0, 1], [10, 0, 0, 2], 53, 5353, 12);
        let qinq = p::ethernet(ETH_IPV4, &[ETH_QINQ, ETH_VLAN], &ip);
        let (_, r) = decode(link_type::ETHERNET, &qinq).unwrap();
        assert_eq!((r.src_port, r.dst_port, r.proto), (53, 5353, 17));
        let mut pppoe = vec![0x11, 0, 0, 1, 0, 0, 0, 0x21];
        pppoe.extend_from_slice(&ip);
        let (_, r) = decode(
            link_type::ETHERNET,
            &p::ethernet(ETH_PPPOE_SESSION, &[], &pppoe),
        )
        .unwrap();
        assert_eq!(r.dst_port, 5353);
        let mut mpls = vec![0, 0x01, 0x00, 0x40, 0, 0x02, 0x01, 0x40];
        mpls.extend_from_slice(&ip);
        let (_, r) = decode(link_type::ETHERNET, &p::ethernet(ETH_MPLS, &[], &mpls)).unwrap();
        assert_eq!(r.dst_port, 5353);
    }

    #[test]
    fn ipv6_with_extension_headers_and_icmpv6() {
        let ip = p::ipv6_icmp([0x20, 1, 0xd, 0xb8], [0x20, 1, 0xd, 0xb8], 128, 0);
        let (_, r) = decode(link_type::RAW, &ip).unwrap();
        assert_eq!(r.proto, 58);
        assert_eq!(r.icmp(), Some((128, 0)));
        assert!(!r.src.is_ipv4());
        let hbh = p::ipv6_with_hop_by_hop_udp(1000, 2000);
        let (_, r) = decode(link_type::IPV6, &hbh).unwrap();
        assert_eq!((r.proto, r.src_port, r.dst_port), (17, 1000, 2000));
    }

    #[test]
    fn cooked_and_loopback() {
        let ip = p::ipv4_udp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, 0);
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&ETH_IPV4.to_be_bytes());
        sll.extend_from_slice(&ip);
        assert_eq!(decode(link_type::LINUX_SLL, &sll).unwrap().1.dst_port, 2);
        let mut sll2 = ETH_IPV4.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        assert_eq!(decode(link_type::LINUX_SLL2, &sll2).unwrap().1.dst_port, 2);
        for fam in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
            let mut null = fam.to_vec();
            null.extend_from_slice(&ip);
            assert_eq!(decode(link_type::NULL, &null).unwrap().1.dst_port, 2);
        }
        assert_eq!(decode(link_type::IPV4, &ip).unwrap().1.dst_port, 2);
    }

    #[test]
    fn not_ip_and_errors() {
        let arp = p::ethernet(0x0806, &[], &[0u8; 28]);
        assert_eq!(decode(link_type::ETHERNET, &arp).unwrap().0, Frame::NotIp);
        assert_eq!(
            decode(147, &arp).unwrap_err(),
            FrameError::UnsupportedLinkType
        );
        assert!(matches!(
            decode(link_type::RAW, &[0x45, 0, 0]),
            Err(FrameError::Malformed { .. })
        ));
        let mut bad = p::ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, 0);
        bad[0] = 0x44; // IHL 4
        assert!(matches!(
            decode(link_type::RAW, &bad),
            Err(FrameError::Malformed { .. })
        ));
        let tags: Vec<u16> = vec![ETH_VLAN; 9];
        let deep = p::ethernet(ETH_IPV4, &tags, &[0u8; 20]);
        assert!(matches!(
            decode(link_type::ETHERNET, &deep),
            Err(FrameError::Malformed { .. })
        ));
    }

    #[test]
    fn snapped_packet_keeps_addresses() {
        let ip = p::ipv4_tcp([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, 3, TcpFlags::ACK, 9);
        let (_, r) = decode(link_type::RAW, &ip[..22]).unwrap();
        assert_eq!(r.dst, Addr::v4([5, 6, 7, 8]));
        assert_eq!(r.bytes, 40);
        assert_eq!(r.tcp_seq(), None);
        assert_eq!(r.dst_port, 0);
    }
}
