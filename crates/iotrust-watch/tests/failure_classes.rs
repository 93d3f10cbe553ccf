//! One test per failure class found when watch was tried on real labelled botnet traffic
//! (issue 14): each builds the traffic shape — as packets in a capture, as Zeek conn.log
//! lines, or both — and checks what a provider needs to see. The shapes, not anyone's files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use iotrust_flow::dns::{Answer, DnsMessage, Question};
use iotrust_flow::testing::{packets, PcapWriter, Rng};
use iotrust_flow::{Addr, CaptureReader, FlowRecord, TcpFlags, ZeekReader};
use iotrust_watch::{Config, Detector, Event, EventKind, Watch};

const S: i64 = 1_000_000;

/// One packet of a capture: addresses, ports, flags, payload.
struct Pkt {
    t: i64,
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    payload: Vec<u8>,
}

fn pkt(t: i64, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8) -> Pkt {
    Pkt {
        t,
        src,
        dst,
        sport,
        dport,
        flags,
        payload: Vec::new(),
    }
}

/// The packets as a raw-IP pcap, read back through `CaptureReader` with DNS: records and
/// their DNS messages, in order.
fn capture(mut pkts: Vec<Pkt>) -> Vec<(FlowRecord, Option<DnsMessage>)> {
    pkts.sort_by_key(|p| p.t);
    let mut w = PcapWriter::new(101, false, false);
    for p in &pkts {
        let l4 = if p.flags == 0xff {
            packets::udp_with(p.sport, p.dport, &p.payload)
        } else {
            let mut t = packets::tcp(p.sport, p.dport, 1, p.flags);
            t.extend_from_slice(&p.payload);
            t
        };
        let proto = if p.flags == 0xff { 17 } else { 6 };
        let ip = packets::ipv4(p.src, p.dst, proto, 64, &l4);
        w.packet(p.t, &ip, ip.len() as u32);
    }
    let mut reader = CaptureReader::new(std::io::Cursor::new(w.finish()))
        .unwrap()
        .with_dns();
    let mut out = Vec::new();
    while let Some(r) = reader.next() {
        let r = r.unwrap();
        let dns = reader.take_dns().and_then(Result::ok);
        out.push((r, dns));
    }
    out
}

/// Zeek conn.log (TSV) lines `ts orig_h orig_p resp_h resp_p proto service duration
/// conn_state history orig_pkts resp_pkts`, read back through `ZeekReader`.
fn zeek(lines: &[String]) -> Vec<FlowRecord> {
    let mut text = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
         #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n\
         #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n",
    );
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    ZeekReader::new(std::io::Cursor::new(text.into_bytes()))
        .map(|r| r.unwrap())
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn conn_line(
    t: i64,
    orig: &str,
    sport: u16,
    resp: &str,
    dport: u16,
    service: &str,
    state: &str,
    history: &str,
    orig_pkts: u64,
    resp_pkts: u64,
) -> String {
    format!(
        "{}.{:06}\tC{t}\t{orig}\t{sport}\t{resp}\t{dport}\ttcp\t{service}\t0.5\t0\t0\t{state}\tT\tF\t0\t{history}\t{orig_pkts}\t{}\t{resp_pkts}\t{}\t-",
        t / S,
        t % S,
        orig_pkts * 40,
        resp_pkts * 40
    )
}

fn run_with_dns(items: &[(FlowRecord, Option<DnsMessage>)]) -> Vec<Event> {
    let mut w = Watch::new(Config::default());
    let mut ev = Vec::new();
    for (r, dns) in items {
        match dns {
            Some(m) => w.observe_with_dns(r, m),
            None => w.observe(r),
        }
        ev.extend(w.drain_events());
    }
    ev
}

fn of(ev: &[Event], d: Detector) -> Vec<&Event> {
    ev.iter().filter(|e| e.incident.detector == d).collect()
}

const BOT: [u8; 4] = [192, 168, 1, 20];
const C2: [u8; 4] = [203, 0, 113, 50];

/// Class 1: A bot polls its unreachable C2 every 80.1 s: in a capture each attempt's SYN is
/// retransmitted at +1, +3, +7 s; in Zeek one attempt is several S0 lines (t, +7, +16, +32 s).
/// Both are periodic from start to start, with the same period.
#[test]
fn retransmissions_do_not_break_beaconing() {
    let period = 80_100_000;
    let mut pkts = Vec::new();
    let mut lines = Vec::new();
    for i in 0..40i64 {
        let t = T0 + i * period;
        let sport = 41_000 + i as u16;
        for d in [0, 1, 3, 7] {
            pkts.push(pkt(t + d * S, BOT, C2, sport, 23, TcpFlags::SYN));
        }
        for d in [0, 7, 16, 32] {
            lines.push(conn_line(
                t + d * S,
                "192.168.1.20",
                sport,
                "203.0.113.50",
                23,
                "-",
                "S0",
                "S",
                1,
                0,
            ));
        }
    }
    let from_pcap = run_with_dns(&capture(pkts));
    let (from_zeek, _) = run(Config::default(), &zeek(&lines));
    let mut periods = Vec::new();
    for (name, ev) in [("pcap", &from_pcap), ("zeek", &from_zeek)] {
        let b = of(ev, Detector::Beaconing);
        let first = b.first().unwrap_or_else(|| panic!("{name}: no beaconing"));
        assert_eq!(first.event, EventKind::Opened);
        // found on the 9th attempt (8 intervals), about 11 minutes in, not hours later
        let after = first.incident.last_us() - T0;
        assert!(after <= 9 * period + 40 * S, "{name}: {after}");
        let p = first.incident.counters["period_ms"];
        assert!((79_600..=80_600).contains(&p), "{name}: {p}");
        periods.push((p, first.incident.counters["beacons"]));
        assert_eq!(
            b.iter().filter(|e| e.event == EventKind::Opened).count(),
            1,
            "{name}"
        );
    }
    assert_eq!(periods[0], periods[1], "capture and Zeek agree");
}

/// Class 1b: An IRC bot whose C2 is down reconnects every 10 s (each attempt retransmitted).
#[test]
fn a_ten_second_irc_reconnect_loop_is_periodic() {
    let mut pkts = Vec::new();
    for i in 0..60i64 {
        let t = T0 + i * 10 * S;
        for d in [0, 1, 3, 7] {
            pkts.push(pkt(
                t + d * S,
                BOT,
                C2,
                42_000 + i as u16,
                6667,
                TcpFlags::SYN,
            ));
        }
    }
    let ev = run_with_dns(&capture(pkts));
    let b = of(&ev, Detector::Beaconing);
    let first = b.first().expect("beaconing");
    assert!(first.incident.last_us() - T0 <= 100 * S);
    let p = first.incident.counters["period_ms"];
    assert!((9_500..=10_500).contains(&p), "{p}");
}

/// Class 2: Two C2 addresses polled in turn, 35 s apart: both found.
#[test]
fn alternating_c2_addresses_are_both_found() {
    let mut pkts = Vec::new();
    for i in 0..60i64 {
        let c2 = if i % 2 == 0 { C2 } else { [203, 0, 113, 51] };
        pkts.push(pkt(
            T0 + i * 35 * S,
            BOT,
            c2,
            43_000 + i as u16,
            3333,
            TcpFlags::SYN,
        ));
    }
    let ev = run_with_dns(&capture(pkts));
    let peers: std::collections::BTreeSet<String> = of(&ev, Detector::Beaconing)
        .iter()
        .flat_map(|e| e.incident.targets.iter().filter_map(|t| t.peer))
        .map(|a| a.to_string())
        .collect();
    assert_eq!(
        peers.into_iter().collect::<Vec<_>>(),
        ["203.0.113.50", "203.0.113.51"]
    );
}

/// Class 3: An hourly check-in to a dead C2 for 20 hours: one incident, kept open, not a series of
/// opened/closed pairs.
#[test]
fn an_hourly_beacon_does_not_flap() {
    let mut pkts = Vec::new();
    for i in 0..20i64 {
        let t = T0 + i * 3600 * S;
        for d in [0, 1, 3] {
            pkts.push(pkt(
                t + d * S,
                BOT,
                C2,
                44_000 + i as u16,
                8181,
                TcpFlags::SYN,
            ));
        }
    }
    let ev = run_with_dns(&capture(pkts));
    let b = of(&ev, Detector::Beaconing);
    let opened = b.iter().filter(|e| e.event == EventKind::Opened).count();
    let closed = b.iter().filter(|e| e.event == EventKind::Closed).count();
    assert_eq!((opened, closed), (1, 0), "{b:#?}");
}

/// Class 4: The same hourly beacon from a capture (each contact a short TCP exchange) and from
/// Zeek (one line per connection, with its duration): the same period and count.
#[test]
fn capture_and_zeek_measure_the_same_period() {
    let mut pkts = Vec::new();
    let mut lines = Vec::new();
    for i in 0..14i64 {
        let t = T0 + i * 3600 * S;
        let sport = 45_000 + i as u16;
        pkts.push(pkt(t, BOT, C2, sport, 8181, TcpFlags::SYN));
        pkts.push(pkt(t + 60_000, BOT, C2, sport, 8181, TcpFlags::SYN));
        lines.push(conn_line(
            t,
            "192.168.1.20",
            sport,
            "203.0.113.50",
            8181,
            "-",
            "S0",
            "S",
            2,
            0,
        ));
    }
    let a = run_with_dns(&capture(pkts));
    let (b, _) = run(Config::default(), &zeek(&lines));
    let key = |ev: &[Event]| {
        let e = of(ev, Detector::Beaconing)[0];
        (
            e.incident.counters["period_ms"],
            e.incident.counters["beacons"],
        )
    };
    assert_eq!(key(&a), key(&b));
    assert_eq!(key(&a).0, 3_600_000);
}

/// Class 5: LAN discovery to the subnet broadcast (and multicast) every 30 s is no beacon.
#[test]
fn lan_discovery_broadcasts_are_no_beacons() {
    let mut pkts = Vec::new();
    for i in 0..200i64 {
        for dst in [
            [192, 168, 1, 255],
            [239, 255, 255, 250],
            [255, 255, 255, 255],
        ] {
            let mut p = pkt(T0 + i * 30 * S, BOT, dst, 48_899, 48_899, 0xff);
            p.payload = b"discover".to_vec();
            pkts.push(p);
        }
    }
    let ev = run_with_dns(&capture(pkts));
    assert!(ev.is_empty(), "{ev:#?}");
}

/// Class 6: Periodic alone is not infected: a hub's hourly HTTP check-in with its vendor's
/// cloud (looked up in DNS, answered) and a door lock's MQTT-over-TLS keep-alive raise
/// nothing; the same cadence to a hard-coded address on a rare port that never answers is
/// reported, with its evidence.
#[test]
fn vendor_cloud_check_ins_are_not_infections() {
    let hub = [192, 168, 1, 30];
    let lock = [192, 168, 1, 31];
    let cloud = [198, 51, 100, 80];
    let broker = [198, 51, 100, 81];
    let resolver = [192, 168, 1, 1];
    let mut pkts = Vec::new();
    for i in 0..24i64 {
        let t = T0 + i * 3600 * S;
        // the lookup, then the check-in
        let mut q = pkt(t, hub, resolver, 50_000 + i as u16, 53, 0xff);
        q.payload = packets_dns_query("hub.cloud.vendor.example");
        pkts.push(q);
        let mut a = pkt(t + 10_000, resolver, hub, 53, 50_000 + i as u16, 0xff);
        a.payload = packets_dns_answer("hub.cloud.vendor.example", cloud);
        pkts.push(a);
        let sport = 46_000 + i as u16;
        pkts.push(pkt(t + 20_000, hub, cloud, sport, 80, TcpFlags::SYN));
        pkts.push(pkt(
            t + 40_000,
            cloud,
            hub,
            80,
            sport,
            TcpFlags::SYN | TcpFlags::ACK,
        ));
        pkts.push(pkt(t + 41_000, hub, cloud, sport, 80, TcpFlags::ACK));
        let mut get = pkt(
            t + 42_000,
            hub,
            cloud,
            sport,
            80,
            TcpFlags::ACK | TcpFlags::PSH,
        );
        get.payload =
            b"GET /v1/checkin HTTP/1.1\r\nHost: hub.cloud.vendor.example\r\n\r\n".to_vec();
        pkts.push(get);
    }
    for i in 0..24 * 60i64 {
        let t = T0 + i * 60 * S;
        let sport = 20_000 + (i % 30_000) as u16;
        pkts.push(pkt(t, lock, broker, sport, 8883, TcpFlags::SYN));
        pkts.push(pkt(
            t + 30_000,
            broker,
            lock,
            8883,
            sport,
            TcpFlags::SYN | TcpFlags::ACK,
        ));
        pkts.push(pkt(t + 31_000, lock, broker, sport, 8883, TcpFlags::ACK));
    }
    let ev = run_with_dns(&capture(pkts));
    assert!(ev.is_empty(), "{ev:#?}");
}

fn packets_dns_query(name: &str) -> Vec<u8> {
    iotrust_flow::testing::dns::query(7, name, 1)
}

fn packets_dns_answer(name: &str, addr: [u8; 4]) -> Vec<u8> {
    iotrust_flow::testing::dns::response(7, name, 1, &[(&addr[..], 300)])
}

/// Class 6b: `no-dns`: DNS is visible in the stream and nobody looked the C2 up; a periodic,
/// answered contact on a rare port with that is a low-severity beacon, and the same with a
/// lookup behind it is nothing.
#[test]
fn a_hard_coded_address_is_evidence_when_dns_is_visible() {
    let run_case = |looked_up: bool| {
        let mut w = Watch::new(Config::default());
        let answer = DnsMessage {
            id: 1,
            response: true,
            rcode: 0,
            question: Some(Question {
                name: "updates.vendor.example".into(),
                qtype: 1,
            }),
            answers: vec![Answer {
                name: "updates.vendor.example".into(),
                addr: if looked_up {
                    Addr::v4(C2)
                } else {
                    Addr::v4([198, 51, 100, 9])
                },
                ttl: 86_400,
            }],
        };
        let r = udp(T0, v4([192, 168, 1, 1]), v4(BOT), 53, 40_000, 80);
        w.observe_with_dns(&r, &answer);
        let mut ev = Vec::new();
        for i in 0..20i64 {
            let t = T0 + S + i * 120 * S;
            let sport = 47_000 + i as u16;
            w.observe(&tcp(t, v4(BOT), v4(C2), sport, 9443, TcpFlags::SYN, 60));
            w.observe(&tcp(t + 50_000, v4(C2), v4(BOT), 9443, sport, 0x12, 60));
            w.observe(&tcp(
                t + 51_000,
                v4(BOT),
                v4(C2),
                sport,
                9443,
                TcpFlags::ACK,
                52,
            ));
            ev.extend(w.drain_events());
        }
        ev
    };
    let ev = run_case(false);
    let b = of(&ev, Detector::Beaconing);
    let opened = b.iter().filter(|e| e.event == EventKind::Opened).count();
    assert_eq!(opened, 1, "{ev:#?}");
    assert!(b[0]
        .incident
        .summary
        .contains("evidence: periodic, rare-port, no-dns"));
    assert_eq!(b[0].incident.severity, iotrust_watch::Severity::Low);
    assert!(run_case(true).is_empty());
}

/// Class 7: Zeek saw 14,000 connections in 30 s from one device to one address:port, but none of
/// their packets (history `C`, 0 packets): a connection flood.
#[test]
fn zero_packet_zeek_records_count_as_connections() {
    let mut lines = Vec::new();
    for i in 0..14_000i64 {
        let t = T0 + i * 30 * S / 14_000;
        lines.push(conn_line(
            t,
            "192.168.1.20",
            (10_000 + i % 50_000) as u16,
            "203.0.113.99",
            80,
            "-",
            "OTH",
            "C",
            0,
            0,
        ));
    }
    let (ev, _) = run(Config::default(), &zeek(&lines));
    let o = opened(&ev);
    assert!(
        o.contains(&(
            "192.168.1.20".into(),
            "outbound-flood".into(),
            "connection-flood".into()
        )),
        "{o:?}"
    );
    let f = of(&ev, Detector::OutboundFlood)[0];
    assert!(f.incident.last_us() - T0 <= 11 * S);
}

/// Class 8a: A short spoofed SYN flood: 9,600 SYNs in 34 s from about 9,700 sources to one port,
/// 7,300 of them in the busiest second, nothing completing.
#[test]
fn a_short_intense_syn_flood_is_reported() {
    let victim = [192, 168, 1, 40];
    let mut rng = Rng(5);
    let mut pkts = Vec::new();
    let src = |rng: &mut Rng| {
        let v = rng.next_u64();
        [45, (v >> 8) as u8, (v >> 16) as u8, (v >> 24) as u8 | 1]
    };
    // 7,300 in one second at 10 s, the rest thinly over 34 s
    for k in 0..7_300i64 {
        let s = src(&mut rng);
        pkts.push(pkt(
            T0 + 10 * S + k * 137,
            s,
            victim,
            1024 + (k % 60_000) as u16,
            25_565,
            TcpFlags::SYN,
        ));
    }
    for k in 0..2_300i64 {
        let s = src(&mut rng);
        pkts.push(pkt(
            T0 + k * 34 * S / 2_300,
            s,
            victim,
            2000 + k as u16,
            25_565,
            TcpFlags::SYN,
        ));
    }
    let ev = run_with_dns(&capture(pkts));
    let o = opened(&ev);
    assert!(
        o.contains(&(
            "192.168.1.40".into(),
            "inbound-attack".into(),
            "syn-flood".into()
        )),
        "{o:?}"
    );
}

/// Class 8b: A SYN-ACK reflection: 54 kpps for 0.15 s from many servers answering SYNs spoofed
/// in the subscriber's name.
#[test]
fn a_syn_ack_reflection_is_reported() {
    let victim = [192, 168, 1, 41];
    let mut pkts = Vec::new();
    for k in 0..8_100i64 {
        let server = [198, 18, (k / 250) as u8, (k % 250) as u8 + 1];
        pkts.push(pkt(
            T0 + k * 150_000 / 8_100,
            server,
            victim,
            [80, 443, 22][(k % 3) as usize],
            3074,
            TcpFlags::SYN | TcpFlags::ACK,
        ));
    }
    let ev = run_with_dns(&capture(pkts));
    let o = opened(&ev);
    assert_eq!(
        o,
        vec![(
            "192.168.1.41".into(),
            "inbound-attack".into(),
            "syn-ack-reflection".into()
        )]
    );
}

/// Class 9a: An IoT device speaking IRC, on a port that is not IRC's, and a device fetching an
/// executable over HTTP: `c2-behaviour` at once.
#[test]
fn irc_and_an_executable_download_are_c2_behaviour() {
    let cam = [192, 168, 1, 50];
    let dropper = [203, 0, 113, 77];
    let mut pkts = Vec::new();
    pkts.push(pkt(T0, BOT, C2, 40_100, 8080, TcpFlags::SYN));
    pkts.push(pkt(T0 + 50_000, C2, BOT, 8080, 40_100, 0x12));
    pkts.push(pkt(T0 + 51_000, BOT, C2, 40_100, 8080, TcpFlags::ACK));
    let mut nick = pkt(T0 + 52_000, BOT, C2, 40_100, 8080, 0x18);
    nick.payload = b"NICK [MIPS]x83hd\r\nUSER x83hd localhost localhost :x83hd\r\n".to_vec();
    pkts.push(nick);
    let mut get = pkt(T0 + 2 * S, cam, dropper, 40_200, 80, 0x18);
    get.payload = b"GET /bins/x.arm7 HTTP/1.0\r\n\r\n".to_vec();
    pkts.push(get);
    let mut body = pkt(T0 + 2 * S + 40_000, dropper, cam, 80, 40_200, 0x18);
    body.payload =
        b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n\x7fELF\x01\x01\x01\x00"
            .to_vec();
    pkts.push(body);
    let ev = run_with_dns(&capture(pkts));
    let c = of(&ev, Detector::C2Behaviour);
    let got: Vec<(String, String)> = c
        .iter()
        .map(|e| (e.incident.device.to_string(), e.incident.summary.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "192.168.1.20".to_string(),
                "192.168.1.20 speaks IRC with 203.0.113.50:8080".to_string()
            ),
            (
                "192.168.1.50".to_string(),
                "192.168.1.50 receives an executable from 203.0.113.77:80".to_string()
            ),
        ]
    );
    // and from Zeek's service field
    let lines = [conn_line(
        T0,
        "192.168.1.20",
        40_100,
        "203.0.113.50",
        8080,
        "irc",
        "SF",
        "ShADadFf",
        6,
        5,
    )];
    let (ev, _) = run(Config::default(), &zeek(&lines));
    assert_eq!(of(&ev, Detector::C2Behaviour).len(), 1);
}

/// Class 9b: Thousands of failed attempts over hours to one rare port, at irregular intervals: a
/// reconnect loop.
#[test]
fn a_long_reconnect_loop_is_reported() {
    let mut rng = Rng(11);
    let mut lines = Vec::new();
    let mut t = T0;
    for i in 0..2_000i64 {
        t += (3 + rng.below(25) as i64) * S;
        lines.push(conn_line(
            t,
            "192.168.1.20",
            (30_000 + i) as u16,
            "203.0.113.50",
            1337,
            "-",
            "REJ",
            "Sr",
            1,
            1,
        ));
    }
    let (ev, _) = run(Config::default(), &zeek(&lines));
    let b = of(&ev, Detector::Beaconing);
    assert!(!b.is_empty());
    assert!(
        b[0].incident.summary.contains("reconnect-loop"),
        "{}",
        b[0].incident.summary
    );
    let opened = b.iter().filter(|e| e.event == EventKind::Opened).count();
    assert_eq!(opened, 1, "held open while the loop goes on");
}

/// Class 4b: an hourly, answered check-in on 443 that is not TLS (a bot's own protocol),
/// from a capture (payload) and from Zeek (data exchanged, no `ssl` service): the same
/// beacon with `not-tls`; the same Zeek lines with `service` = `ssl` are nothing.
#[test]
fn not_tls_on_the_https_port_agrees_between_capture_and_zeek() {
    let mut pkts = Vec::new();
    let mut lines = Vec::new();
    let mut tls_lines = Vec::new();
    for i in 0..12i64 {
        let t = T0 + i * 3600 * S;
        let sport = 45_500 + i as u16;
        pkts.push(pkt(t, BOT, C2, sport, 443, TcpFlags::SYN));
        pkts.push(pkt(t + 40_000, C2, BOT, 443, sport, 0x12));
        pkts.push(pkt(t + 41_000, BOT, C2, sport, 443, TcpFlags::ACK));
        let mut hello = pkt(t + 42_000, BOT, C2, sport, 443, 0x18);
        hello.payload = b"\x00\x00\x00\x01\x08bot-1234".to_vec();
        pkts.push(hello);
        let zl = |service: &str| {
            format!(
                "{}.{:06}\tC{i}\t192.168.1.20\t{sport}\t203.0.113.50\t443\ttcp\t{service}\t0.5\t13\t40\tSF\tT\tF\t0\tShADadFf\t5\t213\t4\t200\t-",
                t / S,
                t % S
            )
        };
        lines.push(zl("-"));
        tls_lines.push(zl("ssl"));
    }
    let a = run_with_dns(&capture(pkts));
    let (b, _) = run(Config::default(), &zeek(&lines));
    let key = |ev: &[Event]| {
        let e = of(ev, Detector::Beaconing)[0];
        (
            e.incident.counters["period_ms"],
            e.incident.counters["beacons"],
            e.incident.counters["evidence"],
        )
    };
    assert_eq!(key(&a), key(&b));
    let names = iotrust_watch::detectors::beacon::evidence::names(key(&a).2);
    assert_eq!(names, ["periodic", "not-tls"]);
    let (c, _) = run(Config::default(), &zeek(&tls_lines));
    assert!(c.is_empty(), "{c:#?}");
}

/// Class 9c: a device fetches an executable and then changes behaviour (scans like Mirai):
/// the scan's incident follows the download's, a severity higher — the same from one
/// engine and from three shards.
#[test]
fn what_a_device_does_after_fetching_an_executable_follows_it() {
    let cam = [192, 168, 1, 50];
    let dropper = [203, 0, 113, 77];
    let mut body = pkt(T0, dropper, cam, 80, 40_200, 0x18);
    body.payload = b"\x7fELF\x02\x01\x01".to_vec();
    let mut recs: Vec<FlowRecord> = capture(vec![body]).into_iter().map(|(r, _)| r).collect();
    recs.extend(mirai_scanner(v4(cam), T0 + 60 * S, 5, 160, 1, true, 3));
    let (ev, _) = run(Config::default(), &recs);
    let scan = ev
        .iter()
        .find(|e| e.incident.detector == Detector::MiraiScan)
        .expect("scan");
    let fetch = ev
        .iter()
        .find(|e| e.incident.detector == Detector::C2Behaviour)
        .expect("fetch");
    assert_eq!(scan.incident.follows, Some(fetch.incident.id));
    assert!(scan
        .incident
        .summary
        .ends_with("(after its c2-behaviour incident)"));
    assert_eq!(scan.incident.severity, iotrust_watch::Severity::Critical);
    let lines = |ev: &[Event]| -> Vec<String> {
        ev.iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect()
    };
    let mut sharded = iotrust_watch::Sharded::new(
        Config::default(),
        3,
        iotrust_watch::Indicators::default(),
        iotrust_watch::Subscribers::default(),
    );
    sharded.observe_many(&recs).unwrap();
    sharded.finish().unwrap();
    let out: Vec<Event> = sharded.drain_events().collect();
    assert_eq!(lines(&out), lines(&ev));
}
