//! A fixed binary form of [`FlowRecord`], [`DnsMessage`] and [`Announcement`] for carrying them between
//! processes (the message bus of `iotrust watch inlet` and `worker`).
//!
//! Hand-written rather than serde: a record has private fields (the TCP sequence number,
//! the TTL and which of them are present) that its JSON form leaves out when absent, and a
//! record is written and read millions of times a second, so it is a fixed 88-byte layout
//! (little-endian) with no per-field tags. Reading never panics: a short or malformed
//! buffer is `None`.

use crate::announce::{Announcement, Via};
use crate::dns::{Answer, DnsMessage, Question};
use crate::record::{Addr, App, FlowRecord, SourceKind, TcpFlags};

/// Bytes of one encoded record.
pub const RECORD_LEN: usize = 88;

impl FlowRecord {
    /// Appends the record's [`RECORD_LEN`] bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.first_us.to_le_bytes());
        out.extend_from_slice(&self.last_us.to_le_bytes());
        out.extend_from_slice(self.src.as_bytes());
        out.extend_from_slice(self.dst.as_bytes());
        out.extend_from_slice(&self.packets.to_le_bytes());
        out.extend_from_slice(&self.bytes.to_le_bytes());
        out.extend_from_slice(&self.sampling.to_le_bytes());
        out.extend_from_slice(&self.raw_tcp_seq().to_le_bytes());
        out.extend_from_slice(&self.domain.to_le_bytes());
        out.extend_from_slice(&self.src_port.to_le_bytes());
        out.extend_from_slice(&self.dst_port.to_le_bytes());
        out.extend_from_slice(&[
            self.proto,
            self.tcp_flags.0,
            self.raw_ttl(),
            self.kind as u8,
            self.raw_present(),
            self.app as u8,
            0,
            0,
        ]);
    }

    /// The record encoded at the start of `b`, or `None` if `b` is shorter than
    /// [`RECORD_LEN`] or names an unknown source kind or application.
    pub fn decode(b: &[u8]) -> Option<FlowRecord> {
        let b: &[u8; RECORD_LEN] = b.get(..RECORD_LEN)?.try_into().ok()?;
        let i64_at = |at: usize| b.get(at..at + 8)?.try_into().ok().map(i64::from_le_bytes);
        let u64_at = |at: usize| b.get(at..at + 8)?.try_into().ok().map(u64::from_le_bytes);
        let u32_at = |at: usize| b.get(at..at + 4)?.try_into().ok().map(u32::from_le_bytes);
        let u16_at = |at: usize| b.get(at..at + 2)?.try_into().ok().map(u16::from_le_bytes);
        let addr_at = |at: usize| b.get(at..at + 16)?.try_into().ok().map(Addr::v6);
        let kind = match b[83] {
            0 => SourceKind::Pcap,
            1 => SourceKind::Pcapng,
            2 => SourceKind::NetflowV5,
            3 => SourceKind::NetflowV9,
            4 => SourceKind::Ipfix,
            5 => SourceKind::Sflow,
            6 => SourceKind::Zeek,
            _ => return None,
        };
        let app = match b[85] {
            0 => App::Unknown,
            1 => App::Irc,
            2 => App::Executable,
            3 => App::NotTls,
            _ => return None,
        };
        let mut r = FlowRecord::new(kind);
        r.first_us = i64_at(0)?;
        r.last_us = i64_at(8)?;
        r.src = addr_at(16)?;
        r.dst = addr_at(32)?;
        r.packets = u64_at(48)?;
        r.bytes = u64_at(56)?;
        r.sampling = u32_at(64)?;
        let seq = u32_at(68)?;
        r.domain = u32_at(72)?;
        r.src_port = u16_at(76)?;
        r.dst_port = u16_at(78)?;
        r.proto = b[80];
        r.tcp_flags = TcpFlags(b[81]);
        let (ttl, present) = (b[82], b[84]);
        r.app = app;
        r.set_raw(seq, ttl, present);
        Some(r)
    }
}

/// Appends a DNS message: id, flags, the question, the answers (names as length-prefixed
/// UTF-8).
pub fn encode_dns(m: &DnsMessage, out: &mut Vec<u8>) {
    out.extend_from_slice(&m.id.to_le_bytes());
    out.push(u8::from(m.response));
    out.push(m.rcode);
    match &m.question {
        Some(q) => {
            out.push(1);
            put_name(&q.name, out);
            out.extend_from_slice(&q.qtype.to_le_bytes());
        }
        None => out.push(0),
    }
    let n = m.answers.len().min(crate::dns::MAX_ANSWERS);
    out.push(n as u8);
    for a in m.answers.iter().take(n) {
        put_name(&a.name, out);
        out.extend_from_slice(a.addr.as_bytes());
        out.extend_from_slice(&a.ttl.to_le_bytes());
    }
}

fn put_name(name: &str, out: &mut Vec<u8>) {
    // a decoded name is at most a few hundred bytes (dns.rs bounds it); cut at u16 anyway
    let b = name.as_bytes();
    let b = b
        .get(..b.len().min(usize::from(u16::MAX)))
        .unwrap_or_default();
    out.extend_from_slice(&(b.len() as u16).to_le_bytes());
    out.extend_from_slice(b);
}

/// Reads a DNS message written by [`encode_dns`] from the start of `b`: the message and the
/// bytes it took, or `None` if `b` is short or malformed.
pub fn decode_dns(b: &[u8]) -> Option<(DnsMessage, usize)> {
    let mut c = Cursor { b, at: 0 };
    let id = u16::from_le_bytes(c.take(2)?.try_into().ok()?);
    let response = c.take(1)?[0] != 0;
    let rcode = c.take(1)?[0];
    let question = match c.take(1)?[0] {
        0 => None,
        _ => {
            let name = c.name()?;
            let qtype = u16::from_le_bytes(c.take(2)?.try_into().ok()?);
            Some(Question { name, qtype })
        }
    };
    let count = c.take(1)?[0];
    let mut answers = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let name = c.name()?;
        let addr = Addr::v6(c.take(16)?.try_into().ok()?);
        let ttl = u32::from_le_bytes(c.take(4)?.try_into().ok()?);
        answers.push(Answer { name, addr, ttl });
    }
    Some((
        DnsMessage {
            id,
            response,
            rcode,
            question,
            answers,
        },
        c.at,
    ))
}

/// Appends a MUD URL announcement: the URL (length-prefixed), how it came, the device's
/// address, its MAC (a presence byte, then 6 bytes), the packet number and time.
pub fn encode_announcement(a: &Announcement, out: &mut Vec<u8>) {
    put_name(&a.url, out);
    out.push(match a.via {
        Via::Dhcpv4 => 0,
        Via::Dhcpv6 => 1,
        Via::Lldp => 2,
    });
    out.extend_from_slice(a.device.as_bytes());
    match a.mac {
        Some(m) => {
            out.push(1);
            out.extend_from_slice(&m);
        }
        None => out.push(0),
    }
    out.extend_from_slice(&a.packet.to_le_bytes());
    out.extend_from_slice(&a.at_us.to_le_bytes());
}

/// Reads an announcement written by [`encode_announcement`] from the start of `b`: it and
/// the bytes it took, or `None` if `b` is short or malformed.
pub fn decode_announcement(b: &[u8]) -> Option<(Announcement, usize)> {
    let mut c = Cursor { b, at: 0 };
    let url = c.name()?;
    let via = match c.take(1)?.first()? {
        0 => Via::Dhcpv4,
        1 => Via::Dhcpv6,
        2 => Via::Lldp,
        _ => return None,
    };
    let device = Addr::v6(c.take(16)?.try_into().ok()?);
    let mac = match c.take(1)?.first()? {
        0 => None,
        1 => Some(c.take(6)?.try_into().ok()?),
        _ => return None,
    };
    let packet = u64::from_le_bytes(c.take(8)?.try_into().ok()?);
    let at_us = i64::from_le_bytes(c.take(8)?.try_into().ok()?);
    Some((
        Announcement {
            url,
            via,
            device,
            mac,
            packet,
            at_us,
        },
        c.at,
    ))
}

/// Reads [`decode_dns`]'s input front to back.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn name(&mut self) -> Option<String> {
        let len = u16::from_le_bytes(self.take(2)?.try_into().ok()?);
        String::from_utf8(self.take(usize::from(len))?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_round_trip() {
        let a = Announcement {
            url: "https://mud.example.com/bulb.json".into(),
            via: Via::Lldp,
            device: Addr::v4([192, 168, 1, 20]),
            mac: Some([2, 0, 0, 0, 0, 1]),
            packet: 17,
            at_us: -5,
        };
        let mut b = vec![9];
        encode_announcement(&a, &mut b);
        b.push(7);
        let (back, n) = decode_announcement(&b[1..]).unwrap();
        assert_eq!(back, a);
        assert_eq!(n, b.len() - 2);
        for cut in 0..b.len() - 2 {
            assert!(decode_announcement(&b[1..1 + cut]).is_none());
        }
    }

    #[test]
    fn records_round_trip_with_their_private_fields() {
        let mut r = FlowRecord::new(SourceKind::Sflow);
        r.first_us = -5;
        r.last_us = 1_700_000_000_123_456;
        r.src = Addr::v4([192, 0, 2, 1]);
        r.dst = "2001:db8::1".parse::<std::net::IpAddr>().unwrap().into();
        r.packets = 3;
        r.bytes = 180;
        r.sampling = 512;
        r.domain = 7;
        r.src_port = 40000;
        r.dst_port = 23;
        r.proto = 6;
        r.tcp_flags = TcpFlags(TcpFlags::SYN);
        r.set_tcp_seq(0xC000_0201);
        r.set_ttl(64);
        r.app = App::Executable;
        let mut b = Vec::new();
        r.encode(&mut b);
        assert_eq!(b.len(), RECORD_LEN);
        assert_eq!(FlowRecord::decode(&b), Some(r));
        let plain = FlowRecord::new(SourceKind::NetflowV9);
        b.clear();
        plain.encode(&mut b);
        let back = FlowRecord::decode(&b).unwrap();
        assert_eq!(back, plain);
        assert_eq!(back.tcp_seq(), None);
        // short or unknown kinds are refused, never a panic
        assert_eq!(FlowRecord::decode(&b[..87]), None);
        b[83] = 99;
        assert_eq!(FlowRecord::decode(&b), None);
    }

    #[test]
    fn dns_messages_round_trip() {
        let m = DnsMessage {
            id: 9,
            response: true,
            rcode: 0,
            question: Some(Question {
                name: "cnc.example".into(),
                qtype: 1,
            }),
            answers: vec![Answer {
                name: "cnc.example".into(),
                addr: Addr::v4([198, 51, 100, 7]),
                ttl: 60,
            }],
        };
        let mut b = Vec::new();
        encode_dns(&m, &mut b);
        b.push(0xAA);
        let (back, n) = decode_dns(&b).unwrap();
        assert_eq!(back, m);
        assert_eq!(n, b.len() - 1);
        for cut in 0..n {
            assert!(decode_dns(&b[..cut]).is_none());
        }
    }
}
