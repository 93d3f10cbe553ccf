//! The one normalized record every decoder produces.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// An IPv4 or IPv6 address in 16 bytes, cheap to copy, hash and compare.
///
/// IPv4 addresses are kept in their IPv4-mapped IPv6 form (`::ffff:a.b.c.d`). A real IPv6
/// packet never carries such an address on the wire (RFC 4291 §2.5.5.2), so the encoding is
/// unambiguous in practice; [`Addr::ip`] gives the address back as IPv4.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr([u8; 16]);

impl Addr {
    /// The unspecified IPv6 address `::` (what a record holds before an address is known).
    pub const UNSPECIFIED: Addr = Addr([0; 16]);

    /// An IPv4 address from its four octets in network order.
    pub const fn v4(octets: [u8; 4]) -> Addr {
        let [a, b, c, d] = octets;
        Addr([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d])
    }

    /// An IPv6 address from its sixteen octets in network order.
    pub const fn v6(octets: [u8; 16]) -> Addr {
        Addr(octets)
    }

    /// The address as [`IpAddr`]: IPv4 for IPv4-mapped addresses, IPv6 otherwise.
    pub fn ip(self) -> IpAddr {
        let v6 = Ipv6Addr::from(self.0);
        match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        }
    }

    /// The IPv4 address, if this is one.
    pub fn ipv4(self) -> Option<Ipv4Addr> {
        Ipv6Addr::from(self.0).to_ipv4_mapped()
    }

    /// The IPv4 address as a big-endian `u32` (what a TCP sequence number is compared with
    /// for the Mirai fingerprint), if this is an IPv4 address.
    pub fn ipv4_u32(self) -> Option<u32> {
        self.ipv4().map(u32::from)
    }

    /// True for IPv4 addresses.
    pub fn is_ipv4(self) -> bool {
        self.ipv4().is_some()
    }

    /// The sixteen octets as stored.
    pub const fn octets(self) -> [u8; 16] {
        self.0
    }

    /// The sixteen octets where they are stored (for code that wants the address's place in
    /// memory, e.g. to prefetch the structure that holds it).
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl From<IpAddr> for Addr {
    fn from(ip: IpAddr) -> Addr {
        match ip {
            IpAddr::V4(v4) => Addr::v4(v4.octets()),
            IpAddr::V6(v6) => Addr(v6.octets()),
        }
    }
}

impl From<Ipv4Addr> for Addr {
    fn from(ip: Ipv4Addr) -> Addr {
        Addr::v4(ip.octets())
    }
}

impl From<Ipv6Addr> for Addr {
    fn from(ip: Ipv6Addr) -> Addr {
        Addr(ip.octets())
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ip().fmt(f)
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ip().fmt(f)
    }
}

impl Serialize for Addr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An address as [`Addr`]'s `Serialize` writes it (text: `192.0.2.1`, `2001:db8::1`).
impl<'de> serde::Deserialize<'de> for Addr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Addr, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse::<IpAddr>()
            .map(Addr::from)
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not an IP address")))
    }
}

/// The TCP flags seen in a flow, ORed together (the low eight bits of the TCP header's
/// flags field, the same bits NetFlow's `tcp_flags` and IPFIX `tcpControlBits` carry).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    /// True if every bit of `mask` is set.
    pub const fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }

    /// SYN without ACK, RST or FIN: a connection attempt that got no further (a scan probe
    /// when the record is one packet).
    pub const fn is_syn_only(self) -> bool {
        self.0 & (Self::SYN | Self::ACK | Self::RST | Self::FIN) == Self::SYN
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Letters in the order of the bits, FIN first: `FSRPAUEC`, a dot for a clear bit.
impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = [b'.'; 8];
        for (i, letter) in b"FSRPAUEC".iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if let Some(slot) = s.get_mut(i) {
                    *slot = *letter;
                }
            }
        }
        f.write_str(std::str::from_utf8(&s).unwrap_or("........"))
    }
}

/// Which kind of telemetry a record was decoded from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum SourceKind {
    /// A classic libpcap capture file.
    #[default]
    Pcap,
    /// A pcapng capture file.
    Pcapng,
    /// A NetFlow v5 datagram.
    NetflowV5,
    /// A NetFlow v9 datagram (RFC 3954).
    NetflowV9,
    /// An IPFIX message (RFC 7011).
    Ipfix,
    /// An sFlow v5 datagram (a sampled packet header or sampled IP record).
    Sflow,
    /// A Zeek `conn.log` line.
    Zeek,
}

impl SourceKind {
    /// Short lowercase name, as used in metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            SourceKind::Pcap => "pcap",
            SourceKind::Pcapng => "pcapng",
            SourceKind::NetflowV5 => "netflow-v5",
            SourceKind::NetflowV9 => "netflow-v9",
            SourceKind::Ipfix => "ipfix",
            SourceKind::Sflow => "sflow",
            SourceKind::Zeek => "zeek",
        }
    }

    /// True for sources that see single packets (capture files and sFlow headers), where
    /// TCP sequence numbers and TTLs can be present.
    pub const fn sees_packets(self) -> bool {
        matches!(
            self,
            SourceKind::Pcap | SourceKind::Pcapng | SourceKind::Sflow
        )
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a batch of records came from: the kind of telemetry, the exporter, and the
/// observation domain inside it.
///
/// The exporter address is not stored in every [`FlowRecord`] (it would add 16 bytes to each):
/// every decode call handles one datagram or one file, so the caller knows it for the whole
/// batch. [`FlowRecord::origin`] puts the three together when a report needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Origin {
    pub kind: SourceKind,
    /// The exporter's address (UDP source of a datagram); `None` for files.
    pub exporter: Option<IpAddr>,
    /// NetFlow v9 source id, IPFIX observation domain, NetFlow v5 `engine_type << 8 |
    /// engine_id`, sFlow sub-agent id, pcapng interface id; 0 otherwise.
    pub domain: u32,
}

const HAS_TCP_SEQ: u8 = 0x01;
const HAS_TTL: u8 = 0x02;

/// What the first bytes of a record's payload (packet sources) or the log's service field
/// (Zeek's `service`) say the application is — only the few kinds detection uses. Read from
/// the start of a TCP segment's payload, never from a reassembled stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum App {
    /// Nothing known.
    #[default]
    Unknown,
    /// IRC: a line starting with a client command (`NICK`, `USER`, `JOIN`, `PRIVMSG`,
    /// `PASS`, `MODE`, `PONG :`); Zeek's `irc`.
    Irc,
    /// An executable or a shell script in flight: the ELF magic, or `#!/bin/sh` or
    /// `#!/bin/bash` at the start of the payload or of an HTTP body in the segment.
    Executable,
    /// Payload to or from TCP port 443 or 8443 that is not a TLS record (a bot's own
    /// protocol on an HTTPS port); from Zeek, data exchanged on those ports that its SSL
    /// analyser did not take for TLS.
    NotTls,
}

impl App {
    /// Classifies the payload of one TCP segment (`payload`: what follows the TCP header)
    /// between `src_port` and `dst_port`. Hand-written: it runs on the capture decoder's
    /// hot path for every segment that carries data, so it looks at a few bytes only.
    pub fn of_tcp_payload(src_port: u16, dst_port: u16, payload: &[u8]) -> App {
        let Some(&first) = payload.first() else {
            return App::Unknown;
        };
        if matches!(dst_port, 443 | 8443) || matches!(src_port, 443 | 8443) {
            // a TLS record: content type 20-23, then version 3.x
            let tls = (0x14..=0x17).contains(&first) && payload.get(1) == Some(&0x03);
            return if tls { App::Unknown } else { App::NotTls };
        }
        if is_executable(payload) {
            return App::Executable;
        }
        if payload.starts_with(b"HTTP/1.") {
            // the body may start in the same segment, after the headers
            let head = payload.get(..payload.len().min(2048)).unwrap_or_default();
            if let Some(at) = find(head, b"\r\n\r\n") {
                if is_executable(payload.get(at + 4..).unwrap_or_default()) {
                    return App::Executable;
                }
            }
            return App::Unknown;
        }
        // what a client sends (a server's `PING :` is left out: the server is not the bot)
        const IRC: [&[u8]; 7] = [
            b"NICK ",
            b"USER ",
            b"JOIN ",
            b"PRIVMSG ",
            b"PASS ",
            b"MODE ",
            b"PONG :",
        ];
        if first.is_ascii_uppercase() && IRC.iter().any(|c| payload.starts_with(c)) {
            return App::Irc;
        }
        App::Unknown
    }

    /// From Zeek's `service` field (a comma-separated list of analysers).
    pub fn of_zeek_service(service: &str) -> App {
        if service
            .split(',')
            .any(|s| s.trim().eq_ignore_ascii_case("irc"))
        {
            App::Irc
        } else {
            App::Unknown
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            App::Unknown => "unknown",
            App::Irc => "irc",
            App::Executable => "executable",
            App::NotTls => "not-tls",
        }
    }
}

fn is_executable(b: &[u8]) -> bool {
    b.starts_with(b"\x7fELF") || b.starts_with(b"#!/bin/sh") || b.starts_with(b"#!/bin/bash")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One flow (or one packet: a flow of `packets == 1`), normalized from any source.
///
/// 88 bytes, `Copy`, no heap. Times are microseconds since the Unix epoch (UTC). `bytes`
/// counts IP-layer bytes (IP header included, link layer excluded), as NetFlow and IPFIX do;
/// decoders of packets use the IP header's length field.
///
/// For ICMP and ICMPv6 records, `src_port` is 0 and `dst_port` is `type << 8 | code`, the
/// convention of NetFlow v5 and of IPFIX `icmpTypeCodeIPv4`; [`FlowRecord::icmp`] reads it.
///
/// Counters are as observed: a sampled source reports sampled counts and sets `sampling` to
/// N for 1-in-N sampling; [`FlowRecord::scaled_packets`] and [`FlowRecord::scaled_bytes`]
/// estimate the real traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowRecord {
    /// First packet seen, microseconds since the Unix epoch.
    pub first_us: i64,
    /// Last packet seen, microseconds since the Unix epoch (equal to `first_us` for a packet).
    pub last_us: i64,
    pub src: Addr,
    pub dst: Addr,
    /// Packets observed (after sampling).
    pub packets: u64,
    /// IP-layer bytes observed (after sampling).
    pub bytes: u64,
    /// 1 = every packet seen; N = one packet in N was sampled. Never 0.
    pub sampling: u32,
    tcp_seq: u32,
    /// Observation domain (see [`Origin::domain`]).
    pub domain: u32,
    pub src_port: u16,
    pub dst_port: u16,
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 47 GRE ...).
    pub proto: u8,
    pub tcp_flags: TcpFlags,
    ttl: u8,
    pub kind: SourceKind,
    present: u8,
    /// What the payload or the log says the application is (mostly unknown).
    pub app: App,
}

impl FlowRecord {
    pub const PROTO_ICMP: u8 = 1;
    pub const PROTO_TCP: u8 = 6;
    pub const PROTO_UDP: u8 = 17;
    pub const PROTO_GRE: u8 = 47;
    pub const PROTO_ICMPV6: u8 = 58;

    /// An empty record of the given kind: unsampled, no packets yet.
    pub fn new(kind: SourceKind) -> FlowRecord {
        FlowRecord {
            kind,
            sampling: 1,
            ..FlowRecord::default()
        }
    }

    /// The TCP sequence number of the (single) packet, where the source carried packet
    /// headers (pcap, pcapng, sFlow raw headers). Mirai's scanner sets it to the destination
    /// IPv4 address: see [`FlowRecord::seq_equals_dst`].
    pub fn tcp_seq(&self) -> Option<u32> {
        (self.present & HAS_TCP_SEQ != 0).then_some(self.tcp_seq)
    }

    /// Sets the TCP sequence number.
    pub fn set_tcp_seq(&mut self, seq: u32) {
        self.tcp_seq = seq;
        self.present |= HAS_TCP_SEQ;
    }

    /// The IPv4 TTL or IPv6 hop limit, where the source carried it (packet headers, IPFIX
    /// `ipTTL`/`minimumTTL`).
    pub fn ttl(&self) -> Option<u8> {
        (self.present & HAS_TTL != 0).then_some(self.ttl)
    }

    /// Sets the TTL.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.ttl = ttl;
        self.present |= HAS_TTL;
    }

    /// ICMP (or ICMPv6) type and code, for ICMP records.
    pub fn icmp(&self) -> Option<(u8, u8)> {
        if self.proto == Self::PROTO_ICMP || self.proto == Self::PROTO_ICMPV6 {
            let [t, c] = self.dst_port.to_be_bytes();
            Some((t, c))
        } else {
            None
        }
    }

    /// Sets ICMP type and code (in `dst_port`, see the type's documentation).
    pub fn set_icmp(&mut self, icmp_type: u8, code: u8) {
        self.src_port = 0;
        self.dst_port = u16::from_be_bytes([icmp_type, code]);
    }

    /// The Mirai scanner fingerprint: a TCP packet whose sequence number equals its IPv4
    /// destination address. `None` when the source carried no sequence number.
    pub fn seq_equals_dst(&self) -> Option<bool> {
        let seq = self.tcp_seq()?;
        Some(self.dst.ipv4_u32() == Some(seq))
    }

    /// The sequence number field as stored, present or not (for [`crate::wire`]).
    pub(crate) fn raw_tcp_seq(&self) -> u32 {
        self.tcp_seq
    }

    /// The TTL field as stored, present or not (for [`crate::wire`]).
    pub(crate) fn raw_ttl(&self) -> u8 {
        self.ttl
    }

    /// Which optional fields are present (for [`crate::wire`]).
    pub(crate) fn raw_present(&self) -> u8 {
        self.present
    }

    /// Sets the optional fields as [`crate::wire`] read them (unknown presence bits dropped).
    pub(crate) fn set_raw(&mut self, tcp_seq: u32, ttl: u8, present: u8) {
        self.tcp_seq = tcp_seq;
        self.ttl = ttl;
        self.present = present & (HAS_TCP_SEQ | HAS_TTL);
    }

    /// Estimated real packets: `packets * sampling`, saturating.
    pub fn scaled_packets(&self) -> u64 {
        self.packets.saturating_mul(u64::from(self.sampling))
    }

    /// Estimated real bytes: `bytes * sampling`, saturating.
    pub fn scaled_bytes(&self) -> u64 {
        self.bytes.saturating_mul(u64::from(self.sampling))
    }

    /// `last_us - first_us`, never negative.
    pub fn duration_us(&self) -> u64 {
        u64::try_from(self.last_us.saturating_sub(self.first_us)).unwrap_or(0)
    }

    /// The record's origin, given the exporter address the caller knows for its batch.
    pub fn origin(&self, exporter: Option<IpAddr>) -> Origin {
        Origin {
            kind: self.kind,
            exporter,
            domain: self.domain,
        }
    }

    /// First-seen time as a [`jiff::Timestamp`] (saturating at jiff's range).
    pub fn first(&self) -> jiff::Timestamp {
        timestamp(self.first_us)
    }

    /// Last-seen time as a [`jiff::Timestamp`] (saturating at jiff's range).
    pub fn last(&self) -> jiff::Timestamp {
        timestamp(self.last_us)
    }
}

fn timestamp(us: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(us).unwrap_or(if us < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

/// JSON form used in incident evidence: addresses as text, times as RFC 3339, optional
/// packet fields only when present.
impl Serialize for FlowRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("FlowRecord", 16)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("first", &self.first())?;
        st.serialize_field("last", &self.last())?;
        st.serialize_field("src", &self.src)?;
        st.serialize_field("dst", &self.dst)?;
        st.serialize_field("proto", &self.proto)?;
        st.serialize_field("src_port", &self.src_port)?;
        st.serialize_field("dst_port", &self.dst_port)?;
        st.serialize_field("tcp_flags", &self.tcp_flags.to_string())?;
        st.serialize_field("packets", &self.packets)?;
        st.serialize_field("bytes", &self.bytes)?;
        st.serialize_field("sampling", &self.sampling)?;
        st.serialize_field("domain", &self.domain)?;
        if let Some(seq) = self.tcp_seq() {
            st.serialize_field("tcp_seq", &seq)?;
        } else {
            st.skip_field("tcp_seq")?;
        }
        if let Some(ttl) = self.ttl() {
            st.serialize_field("ttl", &ttl)?;
        } else {
            st.skip_field("ttl")?;
        }
        if let Some((t, c)) = self.icmp() {
            st.serialize_field("icmp", &[t, c])?;
        } else {
            st.skip_field("icmp")?;
        }
        if self.app != App::Unknown {
            st.serialize_field("app", &self.app)?;
        } else {
            st.skip_field("app")?;
        }
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_small() {
        assert_eq!(std::mem::size_of::<FlowRecord>(), 88);
        assert_eq!(std::mem::size_of::<Addr>(), 16);
    }

    #[test]
    fn addr_round_trips() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(Addr::from(v4).ip(), v4);
        assert_eq!(Addr::from(v6).ip(), v6);
        assert_eq!(Addr::from(v4).ipv4_u32(), Some(0xc000_0207));
        assert!(!Addr::from(v6).is_ipv4());
        assert_eq!(Addr::from(v4).to_string(), "192.0.2.7");
    }

    #[test]
    fn mirai_fingerprint() {
        let mut r = FlowRecord::new(SourceKind::Pcap);
        r.dst = Addr::v4([93, 184, 216, 34]);
        assert_eq!(r.seq_equals_dst(), None);
        r.set_tcp_seq(u32::from_be_bytes([93, 184, 216, 34]));
        assert_eq!(r.seq_equals_dst(), Some(true));
        r.set_tcp_seq(1);
        assert_eq!(r.seq_equals_dst(), Some(false));
    }

    #[test]
    fn flags_display_and_icmp() {
        assert_eq!(
            TcpFlags(TcpFlags::SYN | TcpFlags::ACK).to_string(),
            ".S..A..."
        );
        assert!(TcpFlags(TcpFlags::SYN).is_syn_only());
        assert!(!TcpFlags(TcpFlags::SYN | TcpFlags::ACK).is_syn_only());
        let mut r = FlowRecord::new(SourceKind::Pcap);
        r.proto = FlowRecord::PROTO_ICMP;
        r.set_icmp(3, 3);
        assert_eq!(r.icmp(), Some((3, 3)));
        assert_eq!(r.dst_port, 0x0303);
    }

    #[test]
    fn payload_hints() {
        let of = App::of_tcp_payload;
        assert_eq!(of(40000, 6667, b"NICK [x86]abc\r\nUSER x"), App::Irc);
        assert_eq!(of(40000, 8080, b"JOIN #bots\r\n"), App::Irc);
        assert_eq!(of(40000, 80, b"GET / HTTP/1.1\r\n"), App::Unknown);
        assert_eq!(of(80, 40000, b"\x7fELF\x01\x01\x01"), App::Executable);
        let http = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n\x7fELF\x01";
        assert_eq!(of(80, 40000, http), App::Executable);
        assert_eq!(
            of(80, 40000, b"HTTP/1.1 200 OK\r\n\r\n<html>"),
            App::Unknown
        );
        assert_eq!(of(80, 40000, b"#!/bin/sh\ncd /tmp"), App::Executable);
        assert_eq!(
            of(40000, 443, &[0x16, 0x03, 0x01, 0x02, 0x00]),
            App::Unknown
        );
        assert_eq!(of(40000, 443, b"\x00\x00\x00\x01bot"), App::NotTls);
        assert_eq!(of(40000, 443, b""), App::Unknown);
        assert_eq!(App::of_zeek_service("ssl,irc"), App::Irc);
        assert_eq!(App::of_zeek_service("http"), App::Unknown);
    }

    #[test]
    fn serializes_to_json() {
        let mut r = FlowRecord::new(SourceKind::Sflow);
        r.src = Addr::v4([10, 0, 0, 1]);
        r.dst = Addr::v4([10, 0, 0, 2]);
        r.proto = 6;
        r.set_ttl(64);
        let v = serde_json::to_value(r).unwrap();
        assert_eq!(v["src"], "10.0.0.1");
        assert_eq!(v["kind"], "sflow");
        assert_eq!(v["ttl"], 64);
        assert!(v.get("tcp_seq").is_none());
        assert_eq!(v["first"], "1970-01-01T00:00:00Z");
    }
}
