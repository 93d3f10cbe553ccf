//! Encoders of every format this crate decodes, for tests (here and in crates that consume
//! this one, with the `testing` feature). They write what the specifications say, with
//! knobs to write what they forbid. Not for production use: they panic on misuse.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::record::{Addr, FlowRecord, SourceKind, TcpFlags};

/// Packet builders: Ethernet, IPv4, IPv6, TCP, UDP, ICMP. Checksums are left at zero.
pub mod packets {
    use super::*;

    /// An Ethernet frame: `tags` are the TPIDs of VLAN tags (each followed by a TCI), then
    /// `ethertype` and the payload.
    pub fn ethernet(ethertype: u16, tags: &[u16], payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        for (i, tpid) in tags.iter().enumerate() {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&(100 + i as u16).to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// An IPv4 header (no options) in front of `l4`.
    pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, ttl: u8, l4: &[u8]) -> Vec<u8> {
        let total = (20 + l4.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0x12, 0x34, 0, 0, ttl, proto, 0, 0]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(l4);
        p
    }

    /// An IPv6 header in front of `payload` (whose first header is `next`).
    pub fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, hop: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        p.push(next);
        p.push(hop);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(payload);
        p
    }

    /// A 20-byte TCP header.
    pub fn tcp(sport: u16, dport: u16, seq: u32, flags: u8) -> Vec<u8> {
        let mut t = Vec::with_capacity(20);
        t.extend_from_slice(&sport.to_be_bytes());
        t.extend_from_slice(&dport.to_be_bytes());
        t.extend_from_slice(&seq.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0x72, 0x10, 0, 0, 0, 0]);
        t
    }

    /// A UDP header and `payload_len` zero bytes.
    pub fn udp(sport: u16, dport: u16, payload_len: usize) -> Vec<u8> {
        let mut u = Vec::with_capacity(8 + payload_len);
        u.extend_from_slice(&sport.to_be_bytes());
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + payload_len) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.resize(8 + payload_len, 0);
        u
    }

    /// A UDP header in front of `payload`.
    pub fn udp_with(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = udp(sport, dport, 0);
        u[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(payload);
        u
    }

    /// A 40-byte IPv4 TCP packet (a Mirai scan probe when `seq` equals `dst`).
    pub fn ipv4_tcp(
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        seq: u32,
        flags: u8,
        ttl: u8,
    ) -> Vec<u8> {
        ipv4(src, dst, 6, ttl, &tcp(sport, dport, seq, flags))
    }

    /// An IPv4 UDP packet.
    pub fn ipv4_udp(
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        payload_len: usize,
    ) -> Vec<u8> {
        ipv4(src, dst, 17, 64, &udp(sport, dport, payload_len))
    }

    /// An IPv6 ICMPv6 packet between `<prefix>::1` and `<prefix>::2`.
    pub fn ipv6_icmp(src_prefix: [u8; 4], dst_prefix: [u8; 4], icmp_type: u8, code: u8) -> Vec<u8> {
        let mut s = [0u8; 16];
        s[..4].copy_from_slice(&src_prefix);
        s[15] = 1;
        let mut d = [0u8; 16];
        d[..4].copy_from_slice(&dst_prefix);
        d[15] = 2;
        ipv6(s, d, 58, 255, &[icmp_type, code, 0, 0, 0, 0, 0, 0])
    }

    /// An IPv6 UDP packet behind a hop-by-hop options header.
    pub fn ipv6_with_hop_by_hop_udp(sport: u16, dport: u16) -> Vec<u8> {
        let mut payload = vec![17, 0, 1, 4, 0, 0, 0, 0]; // next = UDP, 8 bytes, PadN
        payload.extend_from_slice(&udp(sport, dport, 4));
        let mut s = [0u8; 16];
        s[0] = 0xfe;
        s[1] = 0x80;
        s[15] = 1;
        ipv6(s, [0xff; 16], 0, 1, &payload)
    }

    /// A raw IP packet whose decoding gives back `r`'s addresses, protocol, ports, flags,
    /// sequence number and TTL, padded to `r.bytes` (at least its headers).
    pub fn from_record(r: &FlowRecord) -> Vec<u8> {
        let l4 = match r.proto {
            6 => tcp(
                r.src_port,
                r.dst_port,
                r.tcp_seq().unwrap_or(0),
                r.tcp_flags.0,
            ),
            17 => udp(r.src_port, r.dst_port, 0),
            1 | 58 => {
                let (t, c) = r.icmp().unwrap_or((8, 0));
                vec![t, c, 0, 0, 0, 0, 0, 0]
            }
            _ => Vec::new(),
        };
        let ttl = r.ttl().unwrap_or(64);
        match (r.src.ipv4(), r.dst.ipv4()) {
            (Some(s), Some(d)) => {
                let mut l4 = l4;
                let want = (r.bytes as usize).saturating_sub(20);
                if l4.len() < want {
                    l4.resize(want, 0);
                }
                let mut p = ipv4(s.octets(), d.octets(), r.proto, ttl, &l4);
                if r.proto == 17 {
                    let len = ((p.len() - 20) as u16).to_be_bytes();
                    p[24..26].copy_from_slice(&len);
                }
                p
            }
            _ => {
                let mut l4 = l4;
                let want = (r.bytes as usize).saturating_sub(40);
                if l4.len() < want {
                    l4.resize(want, 0);
                }
                ipv6(r.src.octets(), r.dst.octets(), r.proto, ttl, &l4)
            }
        }
    }
}

/// Messages that announce a MUD URL (RFC 8520 §10, §11), as devices send them.
pub mod mud {
    use super::packets;

    /// An Ethernet frame from `src_mac` to the broadcast address.
    pub fn ethernet_from(src_mac: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&src_mac);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// A DHCPv4 client message (`msg_type` 1 DISCOVER, 3 REQUEST ...) from `mac` with option
    /// 161 = `url`, option 50 = `requested` if given, `ciaddr` as given.
    pub fn dhcpv4(
        msg_type: u8,
        mac: [u8; 6],
        ciaddr: [u8; 4],
        requested: Option<[u8; 4]>,
        url: &str,
    ) -> Vec<u8> {
        let mut b = vec![0u8; 240];
        b[0] = 1;
        b[1] = 1;
        b[2] = 6;
        b[4..8].copy_from_slice(&[0x39, 0x03, 0xf3, 0x26]);
        b[12..16].copy_from_slice(&ciaddr);
        b[28..34].copy_from_slice(&mac);
        b[236..240].copy_from_slice(&[99, 130, 83, 99]);
        b.extend_from_slice(&[53, 1, msg_type]);
        if let Some(r) = requested {
            b.extend_from_slice(&[50, 4]);
            b.extend_from_slice(&r);
        }
        // long URLs split over several instances (RFC 3396)
        for part in url.as_bytes().chunks(255) {
            b.push(161);
            b.push(part.len() as u8);
            b.extend_from_slice(part);
        }
        b.push(255);
        b
    }

    /// [`dhcpv4`] as the Ethernet frame a device broadcasts (0.0.0.0:68 → 255.255.255.255:67
    /// unless `ciaddr` is set).
    pub fn dhcpv4_frame(
        msg_type: u8,
        mac: [u8; 6],
        ciaddr: [u8; 4],
        requested: Option<[u8; 4]>,
        url: &str,
    ) -> Vec<u8> {
        let msg = dhcpv4(msg_type, mac, ciaddr, requested, url);
        let dst = if ciaddr == [0; 4] {
            [255; 4]
        } else {
            [192, 0, 2, 67]
        };
        let ip = packets::ipv4(ciaddr, dst, 17, 64, &packets::udp_with(68, 67, &msg));
        ethernet_from(mac, 0x0800, &ip)
    }

    fn v6opt(code: u16, v: &[u8]) -> Vec<u8> {
        let mut o = code.to_be_bytes().to_vec();
        o.extend((v.len() as u16).to_be_bytes());
        o.extend_from_slice(v);
        o
    }

    /// A DHCPv6 REQUEST with option 112 = `url` and an IA_NA holding `addr`, from the
    /// link-local address of `mac` to All_DHCP_Relay_Agents_and_Servers, as a frame.
    pub fn dhcpv6_frame(mac: [u8; 6], addr: [u8; 16], url: &str) -> Vec<u8> {
        let mut iaaddr = addr.to_vec();
        iaaddr.extend([0, 0, 0x0e, 0x10, 0, 0, 0x1c, 0x20]);
        let mut ia = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        ia.extend(v6opt(5, &iaaddr));
        let mut m = vec![3, 0x12, 0x34, 0x56];
        m.extend(v6opt(
            1,
            &[0, 3, 0, 1, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]],
        ));
        m.extend(v6opt(3, &ia));
        m.extend(v6opt(112, url.as_bytes()));
        let mut src = [0u8; 16];
        src[0] = 0xfe;
        src[1] = 0x80;
        src[8..11].copy_from_slice(&[mac[0] ^ 2, mac[1], mac[2]]);
        src[11] = 0xff;
        src[12] = 0xfe;
        src[13..16].copy_from_slice(&[mac[3], mac[4], mac[5]]);
        let mut dst = [0u8; 16];
        dst[0] = 0xff;
        dst[1] = 0x02;
        dst[13] = 1;
        dst[15] = 2;
        let ip = packets::ipv6(src, dst, 17, 1, &packets::udp_with(546, 547, &m));
        ethernet_from(mac, 0x86dd, &ip)
    }

    fn tlv(t: u16, v: &[u8]) -> Vec<u8> {
        let mut o = ((t << 9) | v.len() as u16).to_be_bytes().to_vec();
        o.extend_from_slice(v);
        o
    }

    /// An LLDP frame from `mac` (chassis and port by MAC, TTL 120, a management address if
    /// given) with the MUD URL TLV, to the nearest-bridge group address.
    pub fn lldp_frame(mac: [u8; 6], mgmt: Option<[u8; 4]>, url: &str) -> Vec<u8> {
        let mut chassis = vec![4];
        chassis.extend_from_slice(&mac);
        let mut b = tlv(1, &chassis);
        let mut port = vec![3];
        port.extend_from_slice(&mac);
        b.extend(tlv(2, &port));
        b.extend(tlv(3, &[0, 120]));
        if let Some(a) = mgmt {
            let mut v = vec![5, 1];
            v.extend_from_slice(&a);
            v.extend_from_slice(&[2, 0, 0, 0, 1, 0]);
            b.extend(tlv(8, &v));
        }
        let mut v = vec![0, 0, 0x5e, 1];
        v.extend_from_slice(url.as_bytes());
        b.extend(tlv(127, &v));
        b.extend(tlv(0, &[]));
        let mut f = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e];
        f.extend_from_slice(&mac);
        f.extend_from_slice(&0x88ccu16.to_be_bytes());
        f.extend_from_slice(&b);
        f
    }
}

/// DNS messages (RFC 1035 wire format), for the DNS reader and what uses it.
pub mod dns {
    /// A name in wire form, uncompressed.
    pub fn name(n: &str) -> Vec<u8> {
        let mut v = Vec::new();
        for l in n.split('.') {
            v.push(l.len() as u8);
            v.extend_from_slice(l.as_bytes());
        }
        v.push(0);
        v
    }

    /// A header: id, flags, then question and answer counts (no authority or additional).
    pub fn header(id: u16, flags: u16, qd: u16, an: u16) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [id, flags, qd, an, 0, 0] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v
    }

    /// A resource record of class IN with owner `owner` (wire form, possibly a pointer).
    pub fn rr(owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
        let mut v = owner.to_vec();
        v.extend_from_slice(&rtype.to_be_bytes());
        v.extend_from_slice(&1u16.to_be_bytes());
        v.extend_from_slice(&ttl.to_be_bytes());
        v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        v.extend_from_slice(rdata);
        v
    }

    /// A recursive query for `qname`, type `qtype` (1 = A, 28 = AAAA).
    pub fn query(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
        let mut m = header(id, 0x0100, 1, 0);
        m.extend(name(qname));
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m
    }

    /// The answer to [`query`]: each address (4 bytes: A, 16: AAAA) as a record whose owner
    /// points at the question's name, as resolvers compress it.
    pub fn response(id: u16, qname: &str, qtype: u16, addrs: &[(&[u8], u32)]) -> Vec<u8> {
        let mut m = header(id, 0x8180, 1, addrs.len() as u16);
        m.extend(name(qname));
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        for (a, ttl) in addrs {
            let rtype = if a.len() == 16 { 28 } else { 1 };
            m.extend(rr(&[0xc0, 12], rtype, *ttl, a));
        }
        m
    }
}

/// A classic pcap file writer.
pub struct PcapWriter {
    buf: Vec<u8>,
    big_endian: bool,
    nanos: bool,
}

impl PcapWriter {
    pub fn new(link_type: u32, big_endian: bool, nanos: bool) -> Self {
        let mut w = PcapWriter {
            buf: Vec::new(),
            big_endian,
            nanos,
        };
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        w.u32(magic);
        w.u16(2);
        w.u16(4);
        w.u32(0);
        w.u32(0);
        w.u32(262_144);
        w.u32(link_type);
        w
    }

    fn u16(&mut self, v: u16) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }

    fn u32(&mut self, v: u32) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }

    /// Adds a packet captured at `ts_us`, `orig_len` bytes long on the wire.
    pub fn packet(&mut self, ts_us: i64, data: &[u8], orig_len: u32) -> &mut Self {
        self.u32((ts_us / 1_000_000) as u32);
        let frac = (ts_us % 1_000_000) as u32;
        self.u32(if self.nanos { frac * 1000 } else { frac });
        self.u32(data.len() as u32);
        self.u32(orig_len);
        self.buf.extend_from_slice(data);
        self
    }

    /// Adds a record header with an arbitrary captured length and no data (for hostile tests).
    pub fn raw_record_header(&mut self, caplen: u32) -> &mut Self {
        self.u32(0);
        self.u32(0);
        self.u32(caplen);
        self.u32(caplen);
        self
    }

    pub fn finish(&self) -> Vec<u8> {
        self.buf.clone()
    }
}

/// A pcapng file writer.
pub struct PcapngWriter {
    buf: Vec<u8>,
    big_endian: bool,
}

impl PcapngWriter {
    /// Starts a file with a section header block.
    pub fn new(big_endian: bool) -> Self {
        let mut w = PcapngWriter {
            buf: Vec::new(),
            big_endian,
        };
        w.section(big_endian);
        w
    }

    fn u16b(&self, v: u16) -> [u8; 2] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32b(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Adds a block of `btype` with `body` (padded to 4 bytes).
    pub fn block(&mut self, btype: u32, body: &[u8]) -> &mut Self {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        let t = self.u32b(btype);
        let l = self.u32b(total);
        self.buf.extend_from_slice(&t);
        self.buf.extend_from_slice(&l);
        self.buf.extend_from_slice(body);
        self.buf.resize(self.buf.len() + padded - body.len(), 0);
        self.buf.extend_from_slice(&l);
        self
    }

    /// Starts a new section (its interfaces start afresh), in the given byte order.
    pub fn section(&mut self, big_endian: bool) -> &mut Self {
        self.big_endian = big_endian;
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(0x1a2b_3c4d));
        body.extend_from_slice(&self.u16b(1));
        body.extend_from_slice(&self.u16b(0));
        body.extend_from_slice(&[0xff; 8]);
        // an shb_userappl option, to be skipped
        body.extend_from_slice(&self.u16b(4));
        body.extend_from_slice(&self.u16b(7));
        body.extend_from_slice(b"iotrust\0");
        body.extend_from_slice(&self.u16b(0));
        body.extend_from_slice(&self.u16b(0));
        let bom = [0x0a, 0x0d, 0x0d, 0x0a];
        let padded = body.len().div_ceil(4) * 4;
        body.resize(padded, 0);
        let l = self.u32b((12 + padded) as u32);
        self.buf.extend_from_slice(&bom);
        self.buf.extend_from_slice(&l);
        self.buf.extend_from_slice(&body);
        self.buf.extend_from_slice(&l);
        self
    }

    /// Adds an interface; `tsresol` is the `if_tsresol` option value (none = microseconds).
    pub fn interface(&mut self, link_type: u16, snaplen: u32, tsresol: Option<u8>) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16b(link_type));
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&self.u32b(snaplen));
        if let Some(r) = tsresol {
            body.extend_from_slice(&self.u16b(9));
            body.extend_from_slice(&self.u16b(1));
            body.extend_from_slice(&[r, 0, 0, 0]);
        }
        body.extend_from_slice(&self.u16b(2)); // if_name
        body.extend_from_slice(&self.u16b(4));
        body.extend_from_slice(b"eth0");
        body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        self.block(1, &body)
    }

    /// Adds an enhanced packet block; `ts` is in the interface's units.
    pub fn enhanced(&mut self, iface: u32, ts: u64, data: &[u8], orig_len: u32) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(iface));
        body.extend_from_slice(&self.u32b((ts >> 32) as u32));
        body.extend_from_slice(&self.u32b(ts as u32));
        body.extend_from_slice(&self.u32b(data.len() as u32));
        body.extend_from_slice(&self.u32b(orig_len));
        body.extend_from_slice(data);
        body.resize(body.len().div_ceil(4) * 4, 0);
        // an opt_comment, to be skipped
        body.extend_from_slice(&self.u16b(1));
        body.extend_from_slice(&self.u16b(2));
        body.extend_from_slice(b"hi\0\0");
        body.extend_from_slice(&[0, 0, 0, 0]);
        self.block(6, &body)
    }

    /// Adds a simple packet block (interface 0).
    pub fn simple(&mut self, data: &[u8], orig_len: u32) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(orig_len));
        body.extend_from_slice(data);
        self.block(3, &body)
    }

    pub fn finish(&self) -> Vec<u8> {
        self.buf.clone()
    }
}

/// Seconds between 1900 (NTP) and 1970.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The value of information element `ie` for record `r`, in `len` bytes. Times relative to
/// the exporter's uptime take `uptime_ms` at `export_ms`.
pub fn field_value(r: &FlowRecord, ie: u16, len: u16, export_ms: i64, uptime_ms: u32) -> Vec<u8> {
    let sysup = |us: i64| -> u64 {
        let age = export_ms - us.div_euclid(1000);
        u64::from(uptime_ms.wrapping_sub(age as u32))
    };
    let ntp = |us: i64| -> u64 {
        let secs = us.div_euclid(1_000_000) as u64 + NTP_UNIX_OFFSET;
        let frac = ((us.rem_euclid(1_000_000) as u64) << 32) / 1_000_000;
        // round up so the decoder's truncation gives the same microsecond back
        (secs << 32) | (frac + 1).min(0xffff_ffff)
    };
    let int = |v: u64| -> Vec<u8> {
        let b = v.to_be_bytes();
        b[8 - len as usize..].to_vec()
    };
    match ie {
        1 => int(r.bytes),
        2 => int(r.packets),
        4 => int(u64::from(r.proto)),
        6 => int(u64::from(r.tcp_flags.0)),
        7 => int(u64::from(r.src_port)),
        8 => r
            .src
            .ipv4()
            .map(|a| a.octets().to_vec())
            .unwrap_or(vec![0; 4]),
        11 => int(u64::from(r.dst_port)),
        12 => r
            .dst
            .ipv4()
            .map(|a| a.octets().to_vec())
            .unwrap_or(vec![0; 4]),
        21 => int(sysup(r.last_us)),
        22 => int(sysup(r.first_us)),
        27 => r.src.octets().to_vec(),
        28 => r.dst.octets().to_vec(),
        32 | 139 => int(u64::from(
            r.icmp()
                .map(|(t, c)| u16::from_be_bytes([t, c]))
                .unwrap_or(0),
        )),
        34 => int(u64::from(r.sampling)),
        150 => int((r.first_us / 1_000_000) as u64),
        151 => int((r.last_us / 1_000_000) as u64),
        152 => int((r.first_us / 1000) as u64),
        153 => int((r.last_us / 1000) as u64),
        154 | 156 => ntp(r.first_us).to_be_bytes().to_vec(),
        155 | 157 => ntp(r.last_us).to_be_bytes().to_vec(),
        192 => int(u64::from(r.ttl().unwrap_or(0))),
        _ => vec![0; len as usize],
    }
}

/// NetFlow v5 header fields.
#[derive(Clone, Copy, Debug)]
pub struct V5Header {
    pub uptime_ms: u32,
    pub secs: u32,
    pub nsecs: u32,
    pub engine_type: u8,
    pub engine_id: u8,
    /// The 16-bit sampling field (mode in the top 2 bits, interval in the low 14).
    pub sampling: u16,
}

/// A NetFlow v5 datagram of `records` (IPv4 only; times in ms relative to the header).
pub fn netflow_v5(h: V5Header, records: &[FlowRecord]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&5u16.to_be_bytes());
    b.extend_from_slice(&(records.len() as u16).to_be_bytes());
    b.extend_from_slice(&h.uptime_ms.to_be_bytes());
    b.extend_from_slice(&h.secs.to_be_bytes());
    b.extend_from_slice(&h.nsecs.to_be_bytes());
    b.extend_from_slice(&7u32.to_be_bytes());
    b.push(h.engine_type);
    b.push(h.engine_id);
    b.extend_from_slice(&h.sampling.to_be_bytes());
    let export_ms = i64::from(h.secs) * 1000 + i64::from(h.nsecs / 1_000_000);
    for r in records {
        b.extend_from_slice(&field_value(r, 8, 4, 0, 0));
        b.extend_from_slice(&field_value(r, 12, 4, 0, 0));
        b.extend_from_slice(&[0; 4]); // next hop
        b.extend_from_slice(&[0, 1, 0, 2]); // input, output
        b.extend_from_slice(&(r.packets as u32).to_be_bytes());
        b.extend_from_slice(&(r.bytes as u32).to_be_bytes());
        b.extend_from_slice(&field_value(r, 22, 4, export_ms, h.uptime_ms));
        b.extend_from_slice(&field_value(r, 21, 4, export_ms, h.uptime_ms));
        b.extend_from_slice(&r.src_port.to_be_bytes());
        b.extend_from_slice(&r.dst_port.to_be_bytes());
        b.push(0);
        b.push(r.tcp_flags.0);
        b.push(r.proto);
        b.extend_from_slice(&[0, 0, 0, 0, 0, 24, 24, 0, 0]);
    }
    b
}

/// A field specifier of a template: information element, length, enterprise number.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub ie: u16,
    pub len: u16,
    pub enterprise: Option<u32>,
}

impl Field {
    pub const fn new(ie: u16, len: u16) -> Field {
        Field {
            ie,
            len,
            enterprise: None,
        }
    }
}

/// The fields of an IPv4 flow in a typical exporter's template (times as sysUpTime).
pub const V4_FIELDS: [Field; 11] = [
    Field::new(8, 4),
    Field::new(12, 4),
    Field::new(7, 2),
    Field::new(11, 2),
    Field::new(4, 1),
    Field::new(6, 1),
    Field::new(2, 4),
    Field::new(1, 4),
    Field::new(22, 4),
    Field::new(21, 4),
    Field::new(10, 2),
];

/// The IPv4 fields of `V4_FIELDS` with absolute millisecond times (IPFIX 152/153) instead of
/// sysUpTime: what the collector benchmark's IPFIX stream uses.
pub const V4_IPFIX_FIELDS: [Field; 11] = {
    let mut f = V4_FIELDS;
    // flowStartMilliseconds / flowEndMilliseconds in place of the sysUpTime times (22, 21)
    f[8] = Field::new(152, 8);
    f[9] = Field::new(153, 8);
    f
};

/// One record of the collector benchmark's stream (`examples/flow_sender.rs`, and its
/// offline replay in iotrust-watch): a subscriber in 10.1.0.0/16 (one of `hosts`) to a
/// random public destination, 70 % TCP to web/SSH ports, 30 % UDP; ending within the last
/// second before `now_us`, lasting up to 5 s.
pub fn bench_record(rng: &mut Rng, hosts: u32, now_us: i64) -> FlowRecord {
    let mut r = FlowRecord::new(SourceKind::NetflowV9);
    let h = rng.below(u64::from(hosts)) as u32;
    r.src = Addr::v4([10, 1, (h >> 8) as u8, h as u8]);
    let d = (rng.next_u64() as u32).to_be_bytes();
    r.dst = Addr::v4([d[0] % 200 + 11, d[1], d[2], d[3]]);
    if rng.below(10) < 7 {
        r.proto = 6;
        r.tcp_flags = TcpFlags(TcpFlags::SYN | TcpFlags::ACK | 0x10);
        r.dst_port = [443u16, 80, 22, 8080][rng.below(4) as usize];
    } else {
        r.proto = 17;
        r.dst_port = [53u16, 123, 443, 3478][rng.below(4) as usize];
    }
    r.src_port = 1024 + rng.below(60_000) as u16;
    r.packets = 1 + rng.below(20);
    r.bytes = r.packets * (60 + rng.below(1400));
    r.last_us = now_us - rng.below(1_000_000) as i64;
    r.first_us = r.last_us - rng.below(5_000_000) as i64;
    r
}

/// The exporter uptime (ms) in the benchmark datagrams' v9 headers when they are built.
pub const BENCH_UPTIME_MS: u32 = 3_600_000;

/// The collector benchmark's datagrams: `pool` pairs of the same records (`per_datagram`
/// [`bench_record`]s from `hosts` subscribers, ending before `now_us`) as a NetFlow v9 or
/// IPFIX message with the template (id 256) and without it; export time `secs`.
pub fn bench_datagrams(
    rng: &mut Rng,
    ipfix: bool,
    pool: usize,
    per_datagram: usize,
    hosts: u32,
    now_us: i64,
    secs: u32,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let fields: &[Field] = if ipfix { &V4_IPFIX_FIELDS } else { &V4_FIELDS };
    let mut out = Vec::with_capacity(pool);
    for _ in 0..pool {
        let recs: Vec<FlowRecord> = (0..per_datagram)
            .map(|_| bench_record(rng, hosts, now_us))
            .collect();
        let mk = |with_template: bool| {
            let mut m = if ipfix {
                MessageWriter::ipfix(1, secs, 0)
            } else {
                MessageWriter::v9(1, secs, BENCH_UPTIME_MS, 0)
            };
            if with_template {
                m.template(256, fields);
            }
            m.data(256, fields, &recs);
            m.finish()
        };
        out.push((mk(true), mk(false)));
    }
    out
}

/// Rewrites the header of a datagram of [`bench_datagrams`] for sending it again: export
/// time `secs`, sequence number `seq` and (v9) uptime `uptime_ms`.
/// v9 header: version, count, uptime, secs, sequence, source id; IPFIX: version, length,
/// secs, sequence, domain.
pub fn bench_restamp(buf: &mut [u8], ipfix: bool, secs: u32, seq: u32, uptime_ms: u32) {
    let (t_at, seq_at) = if ipfix { (4, 8) } else { (8, 12) };
    if let Some(b) = buf.get_mut(t_at..t_at + 4) {
        b.copy_from_slice(&secs.to_be_bytes());
    }
    if let Some(b) = buf.get_mut(seq_at..seq_at + 4) {
        b.copy_from_slice(&seq.to_be_bytes());
    }
    if !ipfix {
        if let Some(b) = buf.get_mut(4..8) {
            b.copy_from_slice(&uptime_ms.to_be_bytes());
        }
    }
}

/// Datagrams `k..k + n` of the stream the benchmark sends from a [`bench_datagrams`] pool
/// (datagram `k` is pool entry `k % len`, the copy with the template every 256th), fewer
/// where the pool ends, restamped for sending: sequence number `k` (v9) or the records sent
/// before it (IPFIX, `per_datagram` a datagram), export time and uptime
/// `stamp(k) = (secs, uptime_ms)`.
pub fn bench_next(
    pool: &mut [(Vec<u8>, Vec<u8>)],
    k: u64,
    n: usize,
    ipfix: bool,
    per_datagram: usize,
    stamp: impl Fn(u64) -> (u32, u32),
) -> Vec<&[u8]> {
    let len = pool.len().max(1);
    let first = (k % len as u64) as usize;
    let mut out = Vec::with_capacity(n);
    for (i, (with, without)) in pool.iter_mut().skip(first).take(n).enumerate() {
        let k = k + i as u64;
        let buf = if k % 256 == 0 { with } else { without };
        let seq = if ipfix { k * per_datagram as u64 } else { k };
        let (secs, up) = stamp(k);
        bench_restamp(buf, ipfix, secs, seq as u32, up);
        out.push(buf.as_slice());
    }
    out
}

/// A NetFlow v9 or IPFIX message under construction.
pub struct MessageWriter {
    ipfix: bool,
    header: Vec<u8>,
    sets: Vec<u8>,
    count: u16,
    /// Export time in ms, and the exporter's uptime then (v9).
    pub export_ms: i64,
    pub uptime_ms: u32,
}

impl MessageWriter {
    /// A NetFlow v9 packet from `source_id`, exported at `secs` with `uptime_ms`.
    pub fn v9(source_id: u32, secs: u32, uptime_ms: u32, sequence: u32) -> Self {
        let mut h = Vec::new();
        h.extend_from_slice(&9u16.to_be_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&uptime_ms.to_be_bytes());
        h.extend_from_slice(&secs.to_be_bytes());
        h.extend_from_slice(&sequence.to_be_bytes());
        h.extend_from_slice(&source_id.to_be_bytes());
        MessageWriter {
            ipfix: false,
            header: h,
            sets: Vec::new(),
            count: 0,
            export_ms: i64::from(secs) * 1000,
            uptime_ms,
        }
    }

    /// An IPFIX message for observation `domain`, exported at `secs`.
    pub fn ipfix(domain: u32, secs: u32, sequence: u32) -> Self {
        let mut h = Vec::new();
        h.extend_from_slice(&10u16.to_be_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&secs.to_be_bytes());
        h.extend_from_slice(&sequence.to_be_bytes());
        h.extend_from_slice(&domain.to_be_bytes());
        MessageWriter {
            ipfix: true,
            header: h,
            sets: Vec::new(),
            count: 0,
            export_ms: i64::from(secs) * 1000,
            uptime_ms: 0,
        }
    }

    fn spec(&self, out: &mut Vec<u8>, f: &Field) {
        match f.enterprise {
            Some(pen) if self.ipfix => {
                out.extend_from_slice(&(f.ie | 0x8000).to_be_bytes());
                out.extend_from_slice(&f.len.to_be_bytes());
                out.extend_from_slice(&pen.to_be_bytes());
            }
            _ => {
                out.extend_from_slice(&f.ie.to_be_bytes());
                out.extend_from_slice(&f.len.to_be_bytes());
            }
        }
    }

    /// Adds a set with this id and body (padded to 4 bytes).
    pub fn raw_set(&mut self, id: u16, body: &[u8]) -> &mut Self {
        let padded = body.len().div_ceil(4) * 4;
        self.sets.extend_from_slice(&id.to_be_bytes());
        self.sets
            .extend_from_slice(&((4 + padded) as u16).to_be_bytes());
        self.sets.extend_from_slice(body);
        self.sets.resize(self.sets.len() + padded - body.len(), 0);
        self
    }

    /// Adds a template set with one template.
    pub fn template(&mut self, id: u16, fields: &[Field]) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&id.to_be_bytes());
        body.extend_from_slice(&(fields.len() as u16).to_be_bytes());
        for f in fields {
            self.spec(&mut body, f);
        }
        self.count += 1;
        let set_id = if self.ipfix { 2 } else { 0 };
        self.raw_set(set_id, &body)
    }

    /// Adds an options template set with one options template.
    pub fn options_template(&mut self, id: u16, scope: &[Field], options: &[Field]) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&id.to_be_bytes());
        if self.ipfix {
            body.extend_from_slice(&((scope.len() + options.len()) as u16).to_be_bytes());
            body.extend_from_slice(&(scope.len() as u16).to_be_bytes());
        } else {
            body.extend_from_slice(&((scope.len() * 4) as u16).to_be_bytes());
            body.extend_from_slice(&((options.len() * 4) as u16).to_be_bytes());
        }
        for f in scope.iter().chain(options) {
            self.spec(&mut body, f);
        }
        self.count += 1;
        let set_id = if self.ipfix { 3 } else { 1 };
        self.raw_set(set_id, &body)
    }

    /// Adds a data set of `records` encoded with `fields` (variable-length fields, IPFIX
    /// only, get a 3-byte value "abc"; enterprise fields zeros).
    pub fn data(&mut self, id: u16, fields: &[Field], records: &[FlowRecord]) -> &mut Self {
        let mut body = Vec::new();
        for r in records {
            for f in fields {
                if f.len == u16::MAX {
                    body.extend_from_slice(&[3, b'a', b'b', b'c']);
                } else if f.enterprise.is_some() {
                    body.resize(body.len() + f.len as usize, 0);
                } else {
                    body.extend_from_slice(&field_value(
                        r,
                        f.ie,
                        f.len,
                        self.export_ms,
                        self.uptime_ms,
                    ));
                }
            }
            self.count += 1;
        }
        self.raw_set(id, &body)
    }

    /// Adds a data set of raw record bytes.
    pub fn data_raw(&mut self, id: u16, body: &[u8]) -> &mut Self {
        self.count += 1;
        self.raw_set(id, body)
    }

    pub fn finish(&self) -> Vec<u8> {
        let mut m = self.header.clone();
        if self.ipfix {
            let len = (m.len() + self.sets.len()) as u16;
            m[2..4].copy_from_slice(&len.to_be_bytes());
        } else {
            m[2..4].copy_from_slice(&self.count.to_be_bytes());
        }
        m.extend_from_slice(&self.sets);
        m
    }
}

/// An sFlow v5 sample.
#[derive(Clone, Debug)]
pub enum SflowSample {
    /// A flow sample with a raw packet header record (`protocol` 1 = Ethernet, 11 = IPv4).
    Header {
        expanded: bool,
        rate: u32,
        protocol: u32,
        frame_len: u32,
        header: Vec<u8>,
    },
    /// A flow sample with a sampled IPv4 record only.
    Ipv4 { rate: u32, record: FlowRecord },
    /// A counter sample (skipped by the decoder).
    Counter,
}

/// An sFlow v5 datagram from an IPv4 agent.
pub fn sflow(agent: [u8; 4], sub_agent: u32, samples: &[SflowSample]) -> Vec<u8> {
    let w = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_be_bytes());
    let mut b = Vec::new();
    w(&mut b, 5);
    w(&mut b, 1);
    b.extend_from_slice(&agent);
    w(&mut b, sub_agent);
    w(&mut b, 1); // sequence
    w(&mut b, 123_456); // uptime
    w(&mut b, samples.len() as u32);
    for (i, s) in samples.iter().enumerate() {
        let mut body = Vec::new();
        let (format, records): (u32, Vec<(u32, Vec<u8>)>) = match s {
            SflowSample::Counter => {
                w(&mut body, i as u32);
                w(&mut body, 3); // source id
                w(&mut body, 0); // no records
                (2, Vec::new())
            }
            SflowSample::Header {
                expanded,
                rate,
                protocol,
                frame_len,
                header,
            } => {
                let mut rec = Vec::new();
                w(&mut rec, *protocol);
                w(&mut rec, *frame_len);
                w(&mut rec, 4); // stripped (FCS)
                w(&mut rec, header.len() as u32);
                rec.extend_from_slice(header);
                rec.resize(rec.len().div_ceil(4) * 4, 0);
                flow_sample_fixed(&mut body, *expanded, *rate, i as u32);
                (
                    if *expanded { 3 } else { 1 },
                    vec![(1002, vec![0; 16]), (1, rec)],
                )
            }
            SflowSample::Ipv4 { rate, record } => {
                let mut rec = Vec::new();
                w(&mut rec, record.bytes as u32);
                w(&mut rec, u32::from(record.proto));
                rec.extend_from_slice(&field_value(record, 8, 4, 0, 0));
                rec.extend_from_slice(&field_value(record, 12, 4, 0, 0));
                w(&mut rec, u32::from(record.src_port));
                w(&mut rec, u32::from(record.dst_port));
                w(&mut rec, u32::from(record.tcp_flags.0));
                w(&mut rec, 0);
                flow_sample_fixed(&mut body, false, *rate, i as u32);
                (1, vec![(3, rec)])
            }
        };
        if format != 2 {
            w(&mut body, records.len() as u32);
            for (f, r) in records {
                w(&mut body, f);
                w(&mut body, r.len() as u32);
                body.extend_from_slice(&r);
            }
        }
        w(&mut b, format);
        w(&mut b, body.len() as u32);
        b.extend_from_slice(&body);
    }
    b
}

fn flow_sample_fixed(body: &mut Vec<u8>, expanded: bool, rate: u32, seq: u32) {
    let mut w = |v: u32| body.extend_from_slice(&v.to_be_bytes());
    w(seq);
    if expanded {
        w(0);
        w(7); // source id type, index
    } else {
        w(7);
    }
    w(rate);
    w(rate.saturating_mul(10)); // pool
    w(0); // drops
    if expanded {
        w(0);
        w(1);
        w(0);
        w(2);
    } else {
        w(1);
        w(2);
    }
}

/// A deterministic pseudo-random generator (SplitMix64) for property-style tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A random IPv4 flow record, times within `window_ms` before `export_ms`, in whole
    /// milliseconds.
    pub fn v4_record(&mut self, export_ms: i64, window_ms: u64) -> FlowRecord {
        let mut r = FlowRecord::new(crate::SourceKind::Pcap);
        r.src = Addr::v4((self.next_u64() as u32).to_be_bytes());
        r.dst = Addr::v4((self.next_u64() as u32).to_be_bytes());
        r.proto = [6u8, 17, 1, 47][self.below(4) as usize];
        if r.proto == 1 {
            r.set_icmp(self.below(20) as u8, self.below(16) as u8);
        } else if r.proto != 47 {
            r.src_port = self.next_u64() as u16;
            r.dst_port = self.next_u64() as u16;
        }
        if r.proto == 6 {
            r.tcp_flags = crate::TcpFlags(self.next_u64() as u8);
        }
        r.packets = 1 + self.below(100_000);
        r.bytes = r.packets * (40 + self.below(1460));
        let last = export_ms - self.below(window_ms) as i64;
        let first = last - self.below(window_ms) as i64;
        r.first_us = first * 1000;
        r.last_us = last * 1000;
        r
    }
}
