//! Writers: a seeded random source, a packet list written as classic pcap, TCP connections
//! built segment by segment, and Zeek TSV conn.log / dns.log writers.

use std::io;
use std::path::Path;

use iotrust_flow::testing::{packets, PcapWriter};

/// Microseconds in a second.
pub const SEC: i64 = 1_000_000;

/// SplitMix64: small, seeded, the same on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A generator for one scenario: its name mixed into the corpus seed, so scenarios do
    /// not change when another is added.
    pub fn for_scenario(seed: u64, name: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(seed ^ h)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    pub fn u16(&mut self) -> u16 {
        (self.next_u64() >> 48) as u16
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An ephemeral source port (Linux's default range 32768–60999).
    pub fn ephemeral(&mut self) -> u16 {
        32768 + (self.below(28232) as u16)
    }

    /// An invented public IPv4 address: none of the private, shared, loopback, link-local,
    /// documentation, benchmarking or multicast ranges. They stand for Internet hosts and
    /// never leave the corpus.
    pub fn public_addr(&mut self) -> [u8; 4] {
        loop {
            let a = self.u32().to_be_bytes();
            let bad = matches!(a[0], 0 | 10 | 127)
                || a[0] >= 224
                || (a[0] == 100 && (64..128).contains(&a[1]))
                || (a[0] == 169 && a[1] == 254)
                || (a[0] == 172 && (16..32).contains(&a[1]))
                || (a[0] == 192 && a[1] == 168)
                || (a[0] == 192 && a[1] == 0 && a[2] == 2)
                || (a[0] == 198 && (18..20).contains(&a[1]))
                || (a[0] == 198 && a[1] == 51 && a[2] == 100)
                || (a[0] == 203 && a[1] == 0 && a[2] == 113);
            if !bad {
                return a;
            }
        }
    }
}

/// Formats an address.
pub fn ip(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

/// TCP flag bits.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// A TCP header. `options` true gives the 40-byte header a Linux `connect()` sends in a
/// SYN (MSS, SACK permitted, timestamps, window scale), false a bare 20-byte header.
pub fn tcp_header(
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    fl: u8,
    window: u16,
    options: bool,
) -> Vec<u8> {
    let mut t = Vec::with_capacity(40);
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(if options { 0xa0 } else { 0x50 });
    t.push(fl);
    t.extend_from_slice(&window.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    if options {
        // MSS 1460, SACK permitted, timestamps, NOP, window scale 7
        t.extend_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
        t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);
    }
    t
}

/// Packets of one capture, in any order; written sorted by time.
#[derive(Default)]
pub struct Capture {
    pkts: Vec<(i64, Vec<u8>, u32)>,
}

impl Capture {
    pub fn new() -> Self {
        Capture::default()
    }

    pub fn len(&self) -> usize {
        self.pkts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pkts.is_empty()
    }

    /// An IPv4 packet in an Ethernet frame; `extra` bytes were on the wire but not captured
    /// (a snap length), and the IP total length says so.
    #[allow(clippy::too_many_arguments)]
    pub fn ipv4(
        &mut self,
        ts: i64,
        src: [u8; 4],
        dst: [u8; 4],
        proto: u8,
        ttl: u8,
        l4: &[u8],
        extra: usize,
    ) {
        let mut p = packets::ipv4(src, dst, proto, ttl, l4);
        let total = (p.len() + extra).min(65_535) as u16;
        if let Some(b) = p.get_mut(2..4) {
            b.copy_from_slice(&total.to_be_bytes());
        }
        let frame = packets::ethernet(0x0800, &[], &p);
        let wire = (frame.len() + extra) as u32;
        self.pkts.push((ts, frame, wire));
    }

    /// A TCP segment carrying `payload` (captured) and `extra` more bytes (not captured).
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        ts: i64,
        src: [u8; 4],
        dst: [u8; 4],
        hdr: Vec<u8>,
        ttl: u8,
        payload: &[u8],
        extra: usize,
    ) {
        let mut l4 = hdr;
        l4.extend_from_slice(payload);
        self.ipv4(ts, src, dst, 6, ttl, &l4, extra);
    }

    /// A UDP datagram.
    pub fn udp(
        &mut self,
        ts: i64,
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        payload: &[u8],
    ) {
        let u = packets::udp_with(sport, dport, payload);
        self.ipv4(ts, src, dst, 17, 64, &u, 0);
    }

    /// A UDP datagram of `len` payload bytes, `captured` of them in the file.
    #[allow(clippy::too_many_arguments)]
    pub fn udp_len(
        &mut self,
        ts: i64,
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        payload: &[u8],
        len: usize,
    ) {
        let mut u = packets::udp_with(sport, dport, payload);
        let extra = len.saturating_sub(payload.len());
        let ulen = (8 + payload.len() + extra).min(65_535) as u16;
        if let Some(b) = u.get_mut(4..6) {
            b.copy_from_slice(&ulen.to_be_bytes());
        }
        self.ipv4(ts, src, dst, 17, 64, &u, extra);
    }

    /// A DNS query and, `rtt` later, its answer (A records, `ttl` seconds).
    #[allow(clippy::too_many_arguments)]
    pub fn dns(
        &mut self,
        rng: &mut Rng,
        ts: i64,
        client: [u8; 4],
        resolver: [u8; 4],
        name: &str,
        answers: &[[u8; 4]],
        ttl: u32,
        rtt: i64,
    ) {
        let id = rng.u16();
        let sport = rng.ephemeral();
        let q = iotrust_flow::testing::dns::query(id, name, 1);
        self.udp(ts, client, resolver, sport, 53, &q);
        let ans: Vec<(&[u8], u32)> = answers.iter().map(|a| (&a[..], ttl)).collect();
        let r = iotrust_flow::testing::dns::response(id, name, 1, &ans);
        self.udp(ts + rtt, resolver, client, 53, sport, &r);
    }

    /// Writes the capture (Ethernet, microseconds, little-endian), packets sorted by time.
    pub fn write(&mut self, path: &Path) -> io::Result<()> {
        self.pkts.sort_by_key(|p| p.0);
        let mut w = PcapWriter::new(1, false, false);
        for (ts, data, wire) in &self.pkts {
            w.packet(*ts, data, *wire);
        }
        std::fs::write(path, w.finish())
    }
}

/// One TCP connection, built segment by segment with consistent sequence numbers.
pub struct Tcp {
    pub client: [u8; 4],
    pub server: [u8; 4],
    pub cport: u16,
    pub sport: u16,
    cseq: u32,
    sseq: u32,
    /// The server side's TTL as seen at the subscriber's edge.
    pub server_ttl: u8,
}

/// Maximum segment payload.
pub const MSS: usize = 1448;

impl Tcp {
    /// The three-way handshake: SYN at `t`, SYN-ACK at `t + rtt`, ACK just after. A client
    /// port of 0 picks an ephemeral one.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        cap: &mut Capture,
        rng: &mut Rng,
        t: i64,
        client: [u8; 4],
        server: [u8; 4],
        cport: u16,
        sport: u16,
        rtt: i64,
    ) -> Tcp {
        let cport = if cport == 0 { rng.ephemeral() } else { cport };
        let mut c = Tcp {
            client,
            server,
            cport,
            sport,
            cseq: rng.u32(),
            sseq: rng.u32(),
            server_ttl: 52,
        };
        let h = tcp_header(cport, sport, c.cseq, 0, flags::SYN, 64240, true);
        cap.tcp(t, client, server, h, 64, &[], 0);
        let h = tcp_header(
            sport,
            cport,
            c.sseq,
            c.cseq.wrapping_add(1),
            flags::SYN | flags::ACK,
            65160,
            true,
        );
        cap.tcp(t + rtt, server, client, h, c.server_ttl, &[], 0);
        c.cseq = c.cseq.wrapping_add(1);
        c.sseq = c.sseq.wrapping_add(1);
        c.c_ack(cap, t + rtt + 80);
        c
    }

    /// A bare ACK from the client.
    pub fn c_ack(&mut self, cap: &mut Capture, t: i64) {
        let h = tcp_header(
            self.cport,
            self.sport,
            self.cseq,
            self.sseq,
            flags::ACK,
            502,
            false,
        );
        cap.tcp(t, self.client, self.server, h, 64, &[], 0);
    }

    /// A bare ACK from the server.
    pub fn s_ack(&mut self, cap: &mut Capture, t: i64) {
        let h = tcp_header(
            self.sport,
            self.cport,
            self.sseq,
            self.cseq,
            flags::ACK,
            509,
            false,
        );
        cap.tcp(t, self.server, self.client, h, self.server_ttl, &[], 0);
    }

    /// Client data: `data` captured, then `extra` bytes not captured, in segments of
    /// [`MSS`] spaced `gap` apart; returns the time after the last.
    pub fn c_send(
        &mut self,
        cap: &mut Capture,
        t: i64,
        data: &[u8],
        extra: usize,
        gap: i64,
    ) -> i64 {
        self.send(cap, t, data, extra, gap, true)
    }

    /// Server data, as [`Tcp::c_send`].
    pub fn s_send(
        &mut self,
        cap: &mut Capture,
        t: i64,
        data: &[u8],
        extra: usize,
        gap: i64,
    ) -> i64 {
        self.send(cap, t, data, extra, gap, false)
    }

    fn send(
        &mut self,
        cap: &mut Capture,
        t: i64,
        data: &[u8],
        extra: usize,
        gap: i64,
        client: bool,
    ) -> i64 {
        let total = data.len() + extra;
        let mut off = 0usize;
        let mut at = t;
        let mut segs = 0u32;
        while off < total || (total == 0 && segs == 0) {
            let n = (total - off).min(MSS);
            let cap_end = (off + n).min(data.len());
            let captured = data.get(off.min(data.len())..cap_end).unwrap_or_default();
            let not_captured = n - captured.len();
            let (src, dst, sp, dp, seq, ack, ttl) = if client {
                (
                    self.client,
                    self.server,
                    self.cport,
                    self.sport,
                    self.cseq,
                    self.sseq,
                    64,
                )
            } else {
                (
                    self.server,
                    self.client,
                    self.sport,
                    self.cport,
                    self.sseq,
                    self.cseq,
                    self.server_ttl,
                )
            };
            let h = tcp_header(sp, dp, seq, ack, flags::PSH | flags::ACK, 502, false);
            cap.tcp(at, src, dst, h, ttl, captured, not_captured);
            if client {
                self.cseq = self.cseq.wrapping_add(n as u32);
            } else {
                self.sseq = self.sseq.wrapping_add(n as u32);
            }
            off += n;
            segs += 1;
            // the receiver acknowledges every second segment
            if segs % 2 == 0 || off >= total {
                if client {
                    self.s_ack(cap, at + 200);
                } else {
                    self.c_ack(cap, at + 200);
                }
            }
            at += gap;
            if total == 0 {
                break;
            }
        }
        at
    }

    /// A request, and `rtt` later its response; returns the end time.
    pub fn exchange(
        &mut self,
        cap: &mut Capture,
        t: i64,
        rtt: i64,
        req: &[u8],
        resp: &[u8],
    ) -> i64 {
        let t = self.c_send(cap, t, req, 0, 100);
        self.s_send(cap, t + rtt, resp, 0, 100)
    }

    /// FIN from the client, FIN-ACK from the server, last ACK.
    pub fn close(&mut self, cap: &mut Capture, t: i64, rtt: i64) {
        let h = tcp_header(
            self.cport,
            self.sport,
            self.cseq,
            self.sseq,
            flags::FIN | flags::ACK,
            502,
            false,
        );
        cap.tcp(t, self.client, self.server, h, 64, &[], 0);
        self.cseq = self.cseq.wrapping_add(1);
        let h = tcp_header(
            self.sport,
            self.cport,
            self.sseq,
            self.cseq,
            flags::FIN | flags::ACK,
            509,
            false,
        );
        cap.tcp(
            t + rtt,
            self.server,
            self.client,
            h,
            self.server_ttl,
            &[],
            0,
        );
        self.sseq = self.sseq.wrapping_add(1);
        self.c_ack(cap, t + rtt + 80);
    }
}

/// Formats a time as Zeek does (`1772409600.123456`).
fn zeek_time(us: i64) -> String {
    format!("{}.{:06}", us.div_euclid(SEC), us.rem_euclid(SEC))
}

fn zeek_interval(us: i64) -> String {
    format!("{}.{:06}", us / SEC, us % SEC)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// One conn.log line.
#[derive(Clone, Debug, Default)]
pub struct ZConn {
    pub ts: i64,
    pub orig_h: String,
    pub orig_p: u16,
    pub resp_h: String,
    pub resp_p: u16,
    /// `tcp`, `udp` or `icmp`.
    pub proto: &'static str,
    pub service: Option<&'static str>,
    pub duration: Option<i64>,
    pub orig_bytes: Option<u64>,
    pub resp_bytes: Option<u64>,
    pub conn_state: &'static str,
    pub history: Option<String>,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
}

/// One dns.log line (a query of class IN, type A).
#[derive(Clone, Debug, Default)]
pub struct ZDns {
    pub ts: i64,
    pub orig_h: String,
    pub orig_p: u16,
    pub resp_h: String,
    pub trans_id: u16,
    pub rtt: Option<i64>,
    pub query: String,
    /// Answers (addresses) with their TTLs in seconds; empty with `rcode` 3 = NXDOMAIN.
    pub answers: Vec<(String, u32)>,
    pub rcode: u8,
}

/// Zeek TSV logs of one scenario.
#[derive(Default)]
pub struct ZeekLogs {
    pub conn: Vec<ZConn>,
    pub dns: Vec<ZDns>,
}

const CONN_FIELDS: &str = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents";
const CONN_TYPES: &str = "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]";
const DNS_FIELDS: &str = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected";
const DNS_TYPES: &str = "time\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool";

fn header(path: &str, fields: &str, types: &str, open_us: i64) -> String {
    let open = jiff::Timestamp::from_microsecond(open_us)
        .map(|t| t.strftime("%Y-%m-%d-%H-%M-%S").to_string())
        .unwrap_or_else(|_| "-".to_string());
    format!(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n#open\t{open}\n#fields\t{fields}\n#types\t{types}\n"
    )
}

fn uid(rng: &mut Rng) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut s = String::from("C");
    for _ in 0..17 {
        let i = rng.below(A.len() as u64) as usize;
        s.push(char::from(A.get(i).copied().unwrap_or(b'x')));
    }
    s
}

impl ZeekLogs {
    pub fn new() -> Self {
        ZeekLogs::default()
    }

    /// A DNS lookup as both logs record it: the dns.log line and the UDP conn.log line.
    #[allow(clippy::too_many_arguments)]
    pub fn lookup(
        &mut self,
        rng: &mut Rng,
        ts: i64,
        client: [u8; 4],
        resolver: [u8; 4],
        name: &str,
        answers: &[[u8; 4]],
        ttl: u32,
        rtt: i64,
    ) {
        let port = rng.ephemeral();
        let qlen = 12 + name.len() as u64 + 2 + 4;
        self.dns.push(ZDns {
            ts,
            orig_h: ip(client),
            orig_p: port,
            resp_h: ip(resolver),
            trans_id: rng.u16(),
            rtt: Some(rtt),
            query: name.to_string(),
            answers: answers.iter().map(|a| (ip(*a), ttl)).collect(),
            rcode: if answers.is_empty() { 3 } else { 0 },
        });
        let rlen = qlen + 16 * answers.len() as u64;
        self.conn.push(ZConn {
            ts,
            orig_h: ip(client),
            orig_p: port,
            resp_h: ip(resolver),
            resp_p: 53,
            proto: "udp",
            service: Some("dns"),
            duration: Some(rtt),
            orig_bytes: Some(qlen),
            resp_bytes: Some(rlen),
            conn_state: "SF",
            history: Some("Dd".into()),
            orig_pkts: 1,
            orig_ip_bytes: qlen + 28,
            resp_pkts: 1,
            resp_ip_bytes: rlen + 28,
        });
    }

    /// Writes `conn.log` and `dns.log` (TSV, the headers Zeek writes), lines sorted by `ts`.
    pub fn write(&mut self, rng: &mut Rng, dir: &Path) -> io::Result<()> {
        self.conn.sort_by_key(|c| c.ts);
        self.dns.sort_by_key(|d| d.ts);
        let first = self.conn.first().map_or(0, |c| c.ts);
        let mut s = header("conn", CONN_FIELDS, CONN_TYPES, first);
        for c in &self.conn {
            let line = [
                zeek_time(c.ts),
                uid(rng),
                c.orig_h.clone(),
                c.orig_p.to_string(),
                c.resp_h.clone(),
                c.resp_p.to_string(),
                c.proto.to_string(),
                opt(c.service),
                opt(c.duration.map(zeek_interval)),
                opt(c.orig_bytes),
                opt(c.resp_bytes),
                c.conn_state.to_string(),
                "-".into(),
                "-".into(),
                "0".into(),
                opt(c.history.clone()),
                c.orig_pkts.to_string(),
                c.orig_ip_bytes.to_string(),
                c.resp_pkts.to_string(),
                c.resp_ip_bytes.to_string(),
                "-".into(),
            ];
            s.push_str(&line.join("\t"));
            s.push('\n');
        }
        s.push_str("#close\t-\n");
        std::fs::write(dir.join("conn.log"), s)?;
        let mut s = header(
            "dns",
            DNS_FIELDS,
            DNS_TYPES,
            self.dns.first().map_or(first, |d| d.ts),
        );
        for d in &self.dns {
            let (answers, ttls) = if d.answers.is_empty() {
                ("-".to_string(), "-".to_string())
            } else {
                (
                    d.answers
                        .iter()
                        .map(|a| a.0.clone())
                        .collect::<Vec<_>>()
                        .join(","),
                    d.answers
                        .iter()
                        .map(|a| format!("{}.000000", a.1))
                        .collect::<Vec<_>>()
                        .join(","),
                )
            };
            let rcode_name = if d.rcode == 3 { "NXDOMAIN" } else { "NOERROR" };
            let line = [
                zeek_time(d.ts),
                uid(rng),
                d.orig_h.clone(),
                d.orig_p.to_string(),
                d.resp_h.clone(),
                "53".into(),
                "udp".into(),
                d.trans_id.to_string(),
                opt(d.rtt.map(zeek_interval)),
                d.query.clone(),
                "1".into(),
                "C_INTERNET".into(),
                "1".into(),
                "A".into(),
                d.rcode.to_string(),
                rcode_name.into(),
                "F".into(),
                "F".into(),
                "T".into(),
                "T".into(),
                "0".into(),
                answers,
                ttls,
                "F".into(),
            ];
            s.push_str(&line.join("\t"));
            s.push('\n');
        }
        s.push_str("#close\t-\n");
        std::fs::write(dir.join("dns.log"), s)
    }
}
