//! Traffic generators and format converters shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iotrust_flow::testing::{packets, Field, MessageWriter, PcapWriter, Rng, V4_FIELDS};
use iotrust_flow::{
    Addr, CaptureReader, Datagram, DecodeConfig, FlowDecoder, FlowRecord, SourceKind, TcpFlags,
};
use iotrust_watch::{Config, Event, Watch};

/// The project's real captures (`shared/data/pcap`), or `None` (a skip) outside CI.
pub fn shared_pcap(name: &str) -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("IOTRUST_PCAP_DIR").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/pcap")),
        Some(PathBuf::from("/work/shared/data/pcap")),
    ];
    for dir in candidates.into_iter().flatten() {
        let p = dir.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    assert!(std::env::var_os("CI").is_none(), "{name} not found");
    eprintln!("SKIPPED: {name} not found");
    None
}

/// Runs a watch over records; all events.
pub fn run(cfg: Config, recs: &[FlowRecord]) -> (Vec<Event>, Watch) {
    let mut w = Watch::new(cfg);
    let mut ev = Vec::new();
    for r in recs {
        w.observe(r);
        ev.extend(w.drain_events());
    }
    (ev, w)
}

pub const T0: i64 = 1_763_780_000_000_000; // 2025-11-22, whole second

pub fn v4(a: [u8; 4]) -> Addr {
    Addr::v4(a)
}

fn packet(kind: SourceKind, t: i64, src: Addr, dst: Addr, sport: u16, dport: u16) -> FlowRecord {
    let mut r = FlowRecord::new(kind);
    r.first_us = t;
    r.last_us = t;
    r.src = src;
    r.dst = dst;
    r.src_port = sport;
    r.dst_port = dport;
    r.packets = 1;
    r
}

/// A TCP packet record.
pub fn tcp(
    t: i64,
    src: Addr,
    dst: Addr,
    sport: u16,
    dport: u16,
    flags: u8,
    len: u64,
) -> FlowRecord {
    let mut r = packet(SourceKind::Pcap, t, src, dst, sport, dport);
    r.proto = 6;
    r.tcp_flags = TcpFlags(flags);
    r.bytes = len.max(40);
    r.set_ttl(64);
    r.set_tcp_seq(0x1234_5678);
    r
}

/// A UDP packet record.
pub fn udp(t: i64, src: Addr, dst: Addr, sport: u16, dport: u16, len: u64) -> FlowRecord {
    let mut r = packet(SourceKind::Pcap, t, src, dst, sport, dport);
    r.proto = 17;
    r.bytes = len.max(28);
    r.set_ttl(64);
    r
}

/// Mirai's scanner (scanner.c): bursts of `per_sec` 40-byte SYNs when the second changes,
/// one fixed source port, random IPv4 targets, 1 in 10 to 2323 else 23, `seq = daddr`,
/// TTL 64. With `sampling` N > 1 only one packet in N (random) is kept, marked 1:N.
/// `with_seq` false drops the sequence number (what NetFlow/IPFIX carry).
pub fn mirai_scanner(
    src: Addr,
    start: i64,
    secs: i64,
    per_sec: u32,
    sampling: u32,
    with_seq: bool,
    seed: u64,
) -> Vec<FlowRecord> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for s in 0..secs {
        for i in 0..per_sec {
            let dst = loop {
                let d = (rng.next_u64() as u32).to_be_bytes();
                if !matches!(d[0], 0 | 10 | 127 | 192 | 224..=255) {
                    break d;
                }
            };
            if sampling > 1 && rng.below(u64::from(sampling)) != 0 {
                continue;
            }
            let t = start + s * 1_000_000 + i64::from(i) * 40;
            let dport = if i % 10 == 0 { 2323 } else { 23 };
            let mut r = tcp(t, src, v4(dst), 41_234, dport, TcpFlags::SYN, 40);
            if with_seq {
                r.set_tcp_seq(u32::from_be_bytes(dst));
            } else {
                r = strip_seq(r);
            }
            r.sampling = sampling.max(1);
            out.push(r);
        }
    }
    out
}

/// The record without its TCP sequence number (what flow exporters give).
pub fn strip_seq(r: FlowRecord) -> FlowRecord {
    let mut n = FlowRecord::new(r.kind);
    n.first_us = r.first_us;
    n.last_us = r.last_us;
    n.src = r.src;
    n.dst = r.dst;
    n.src_port = r.src_port;
    n.dst_port = r.dst_port;
    n.proto = r.proto;
    n.tcp_flags = r.tcp_flags;
    n.packets = r.packets;
    n.bytes = r.bytes;
    n.sampling = r.sampling;
    n
}

/// A UDP flood with random ports from `src` to `victim`, `pps` packets a second, 540 bytes.
pub fn udp_flood(
    src: Addr,
    victim: Addr,
    start: i64,
    secs: i64,
    pps: u32,
    seed: u64,
) -> Vec<FlowRecord> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    let gap = 1_000_000 / i64::from(pps.max(1));
    for s in 0..secs {
        for i in 0..i64::from(pps) {
            let t = start + s * 1_000_000 + i * gap;
            out.push(udp(
                t,
                src,
                victim,
                rng.next_u64() as u16 | 1024,
                rng.next_u64() as u16,
                540,
            ));
        }
    }
    out
}

/// Benign traffic of three subscribers over `secs` seconds:
/// - 192.0.2.20 browses the web: a page every 10 s, each one DNS query to the provider's
///   resolver and 6 TCP connections (handshake, 12 data packets down, ACKs, FIN) to one of
///   40 servers on 443 (one in ten on 80, one site on 8080); NTP every 64 s to 4 servers;
/// - 192.0.2.30, a NAS, backs up to 203.0.113.50:22 over one TCP connection at 2,000
///   packets/s of 1,500 bytes for 30 s, ACKed every other packet;
/// - 192.0.2.40 makes a video call: 50 UDP packets/s each way to one peer.
pub fn benign(start: i64, secs: i64, seed: u64) -> Vec<FlowRecord> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    let client = v4([192, 0, 2, 20]);
    let resolver = v4([198, 51, 100, 53]);
    let servers: Vec<Addr> = (0..40u8).map(|i| v4([93, 184, 216, i + 1])).collect();
    let mut sport: u16 = 49_152;
    for page in 0..(secs / 10) {
        let t = start + page * 10_000_000;
        let q = rng.next_u64() as u16 | 1024;
        out.push(udp(t, client, resolver, q, 53, 60));
        out.push(udp(t + 8_000, resolver, client, 53, q, 120));
        let server = servers[rng.below(40) as usize];
        let port = match page % 10 {
            3 => 80,
            7 if page % 20 == 7 => 8080,
            _ => 443,
        };
        for c in 0..6i64 {
            sport = sport.wrapping_add(1).max(49_152);
            let t = t + 20_000 + c * 3_000;
            out.push(tcp(t, client, server, sport, port, TcpFlags::SYN, 60));
            out.push(tcp(
                t + 15_000,
                server,
                client,
                port,
                sport,
                TcpFlags::SYN | TcpFlags::ACK,
                60,
            ));
            out.push(tcp(
                t + 15_100,
                client,
                server,
                sport,
                port,
                TcpFlags::ACK,
                52,
            ));
            for d in 0..12i64 {
                let td = t + 31_000 + d * 500;
                out.push(tcp(
                    td,
                    server,
                    client,
                    port,
                    sport,
                    TcpFlags::ACK | TcpFlags::PSH,
                    1500,
                ));
                if d % 2 == 1 {
                    out.push(tcp(
                        td + 100,
                        client,
                        server,
                        sport,
                        port,
                        TcpFlags::ACK,
                        52,
                    ));
                }
            }
            let tf = t + 60_000;
            out.push(tcp(
                tf,
                client,
                server,
                sport,
                port,
                TcpFlags::FIN | TcpFlags::ACK,
                52,
            ));
            out.push(tcp(
                tf + 15_000,
                server,
                client,
                port,
                sport,
                TcpFlags::FIN | TcpFlags::ACK,
                52,
            ));
        }
    }
    for k in 0..(secs / 64 + 1) {
        for s in 0..4u8 {
            let t = start + k * 64_000_000 + i64::from(s) * 1_000;
            let ntp = v4([162, 159, 200, s + 1]);
            out.push(udp(t, client, ntp, 123, 123, 76));
            out.push(udp(t + 20_000, ntp, client, 123, 123, 76));
        }
    }
    let nas = v4([192, 0, 2, 30]);
    let backup = v4([203, 0, 113, 50]);
    let b0 = start + 5_000_000;
    out.push(tcp(b0, nas, backup, 50_000, 22, TcpFlags::SYN, 60));
    out.push(tcp(
        b0 + 20_000,
        backup,
        nas,
        22,
        50_000,
        TcpFlags::SYN | TcpFlags::ACK,
        60,
    ));
    for i in 0..(2_000 * 30i64) {
        let t = b0 + 40_000 + i * 500;
        out.push(tcp(
            t,
            nas,
            backup,
            50_000,
            22,
            TcpFlags::ACK | TcpFlags::PSH,
            1500,
        ));
        if i % 2 == 1 {
            out.push(tcp(t + 200, backup, nas, 22, 50_000, TcpFlags::ACK, 52));
        }
    }
    let caller = v4([192, 0, 2, 40]);
    let peer = v4([198, 51, 100, 200]);
    for i in 0..(50 * secs) {
        let t = start + i * 20_000;
        out.push(udp(t, caller, peer, 50_500, 3478, 900));
        out.push(udp(t + 7_000, peer, caller, 3478, 50_500, 900));
    }
    out.sort_by_key(|r| r.last_us);
    out
}

/// The records as a classic pcap file (one raw-IP packet per record), read back through
/// `CaptureReader`.
pub fn via_pcap(recs: &[FlowRecord]) -> Vec<FlowRecord> {
    let mut w = PcapWriter::new(101, false, false);
    for r in recs {
        let p = packets::from_record(r);
        w.packet(r.first_us, &p, p.len() as u32);
    }
    let bytes = w.finish();
    let reader = CaptureReader::new(std::io::Cursor::new(bytes)).unwrap();
    reader.map(|r| r.unwrap()).collect()
}

/// Merges packets of one 5-tuple within one second into one flow record (what an exporter
/// with a 1 s active timeout does).
pub fn aggregate(recs: &[FlowRecord]) -> Vec<FlowRecord> {
    type Key = (Addr, Addr, u16, u16, u8, i64);
    let mut m: BTreeMap<Key, FlowRecord> = BTreeMap::new();
    for r in recs {
        let k = (
            r.src,
            r.dst,
            r.src_port,
            r.dst_port,
            r.proto,
            r.first_us.div_euclid(1_000_000),
        );
        let e = m.entry(k).or_insert_with(|| {
            let mut f = strip_seq(*r);
            f.packets = 0;
            f.bytes = 0;
            f.tcp_flags = TcpFlags(0);
            f
        });
        e.packets += r.packets;
        e.bytes += r.bytes;
        e.tcp_flags.0 |= r.tcp_flags.0;
        e.first_us = e.first_us.min(r.first_us);
        e.last_us = e.last_us.max(r.last_us);
    }
    let mut v: Vec<FlowRecord> = m.into_values().collect();
    v.sort_by_key(|r| r.last_us);
    v
}

const IPFIX_FIELDS: [Field; 10] = [
    Field::new(8, 4),
    Field::new(12, 4),
    Field::new(7, 2),
    Field::new(11, 2),
    Field::new(4, 1),
    Field::new(6, 1),
    Field::new(2, 8),
    Field::new(1, 8),
    Field::new(152, 8),
    Field::new(153, 8),
];

/// The flows of `recs` (aggregated per second) exported as NetFlow v9 (`ipfix` false) or
/// IPFIX datagrams of 20 records, each with its template, decoded by `FlowDecoder`.
pub fn via_export(recs: &[FlowRecord], ipfix: bool) -> Vec<FlowRecord> {
    let flows = aggregate(recs);
    let exporter: std::net::IpAddr = "192.0.2.254".parse().unwrap();
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    let mut out = Vec::new();
    for (seq, chunk) in flows.chunks(20).enumerate() {
        let last = chunk.iter().map(|r| r.last_us).max().unwrap();
        let secs = (last / 1_000_000 + 1) as u32;
        let bytes = if ipfix {
            let mut m = MessageWriter::ipfix(7, secs, seq as u32);
            m.template(256, &IPFIX_FIELDS)
                .data(256, &IPFIX_FIELDS, chunk);
            m.finish()
        } else {
            let mut m = MessageWriter::v9(7, secs, 2_000_000_000, seq as u32);
            m.template(256, &V4_FIELDS).data(256, &V4_FIELDS, chunk);
            m.finish()
        };
        let d = dec.decode(
            Datagram {
                exporter,
                received_us: i64::from(secs) * 1_000_000,
                bytes: &bytes,
            },
            &mut out,
        );
        assert!(d.errors.is_empty(), "{:?}", d.errors);
    }
    out
}

/// (device, detector, attack) of the opened incidents, sorted.
pub fn opened(ev: &[Event]) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = ev
        .iter()
        .filter(|e| e.event == iotrust_watch::EventKind::Opened)
        .map(|e| {
            (
                e.incident.device.to_string(),
                e.incident.detector.name().to_string(),
                e.incident
                    .attack
                    .map(|a| {
                        serde_json::to_value(a)
                            .unwrap()
                            .as_str()
                            .unwrap()
                            .to_string()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}
