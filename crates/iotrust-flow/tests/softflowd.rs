//! Real exporter output: NetFlow v5, v9 and IPFIX datagrams that softflowd 1.1.0 (Debian 12)
//! made from the first packets of the project's real captures, stored as pcap files of
//! UDP datagrams in `tests/fixtures/` (see the README there). Expected numbers come from
//! tshark's decoding of the same fixture files and from the source captures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{datagrams, fixture, shared_pcap, Pcap};
use iotrust_flow::{Addr, Datagram, DecodeConfig, FlowDecoder, FlowRecord, Protocol, SourceKind};

/// Decodes every datagram of a fixture; asserts no errors.
fn decode_fixture(name: &str) -> (Vec<FlowRecord>, FlowDecoder) {
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    let mut out = Vec::new();
    for (exporter, ts, bytes) in datagrams(&fixture(name)) {
        let d = dec.decode(
            Datagram {
                exporter,
                received_us: ts,
                bytes: &bytes,
            },
            &mut out,
        );
        assert!(d.errors.is_empty(), "{name}: {:?}", d.errors);
    }
    (out, dec)
}

fn totals(recs: &[FlowRecord]) -> (usize, u64, u64) {
    (
        recs.len(),
        recs.iter().map(|r| r.packets).sum(),
        recs.iter().map(|r| r.bytes).sum(),
    )
}

type Tuple = (Addr, Addr, u16, u16, u8);
/// Packets, bytes, first and last time.
type Totals = (u64, u64, i64, i64);

/// Flows keyed by 5-tuple, with packets and bytes, from a decoder's records.
fn by_tuple(recs: &[FlowRecord]) -> BTreeMap<Tuple, Totals> {
    let mut m = BTreeMap::new();
    for r in recs {
        let e = m
            .entry((r.src, r.dst, r.src_port, r.dst_port, r.proto))
            .or_insert((0, 0, i64::MAX, i64::MIN));
        e.0 += r.packets;
        e.1 += r.bytes;
        e.2 = e.2.min(r.first_us);
        e.3 = e.3.max(r.last_us);
    }
    m
}

#[test]
fn softflowd_v9_synflood() {
    let (recs, dec) = decode_fixture("softflowd-v9-synflood300.pcap");
    // tshark -d udp.port==2055,cflow -e cflow.octets -e cflow.packets: 298 flows, 300 packets,
    // 13,800 octets (softflowd counts 46 bytes per 60-byte frame: the frame after its
    // Ethernet header, padding included; the IP length is 40).
    assert_eq!(totals(&recs), (298, 300, 13_800));
    assert!(recs
        .iter()
        .all(|r| r.kind == SourceKind::NetflowV9 && r.proto == 6 && r.dst_port == 25565));
    assert!(recs
        .iter()
        .all(|r| r.tcp_flags.is_syn_only() && r.sampling == 1));
    let s = dec.stats(Protocol::NetflowV9);
    assert_eq!(s.records, 298);
    assert!(
        s.templates >= 5,
        "4 data templates and 1 options template per refresh"
    );
    assert_eq!(s.skipped, 1, "one options record (sampling interval 1)");
}

#[test]
fn softflowd_ipfix_synflood() {
    let (recs, dec) = decode_fixture("softflowd-ipfix-synflood300.pcap");
    assert_eq!(totals(&recs), (298, 300, 13_800));
    assert!(recs
        .iter()
        .all(|r| r.kind == SourceKind::Ipfix && r.tcp_flags.is_syn_only()));
    assert_eq!(dec.stats(Protocol::Ipfix).errors.total(), 0);
    // Times are sysUpTime offsets from the options record's systemInitTimeMilliseconds
    // (2021-04-28T10:30:21.099Z): the first flow starts then.
    let first = recs.iter().map(|r| r.first_us).min().unwrap();
    assert_eq!(first, 1_619_605_821_099_000);
}

#[test]
fn softflowd_v5_bacnet() {
    let (recs, _) = decode_fixture("softflowd-v5-bacnet300.pcap");
    // tshark: 278 flows, 300 packets, 77,817 octets; 275 UDP and 3 ICMP flows
    assert_eq!(totals(&recs), (278, 300, 77_817));
    assert_eq!(recs.iter().filter(|r| r.proto == 17).count(), 275);
    assert!(recs.iter().all(|r| r.kind == SourceKind::NetflowV5));
    let mut icmp: Vec<(u8, u8)> = recs.iter().filter_map(|r| r.icmp()).collect();
    icmp.sort();
    assert_eq!(icmp, [(3, 1), (3, 3), (3, 3)]);
}

#[test]
fn softflowd_ipfix_bacnet_has_icmp() {
    let (recs, _) = decode_fixture("softflowd-ipfix-bacnet300.pcap");
    assert_eq!(totals(&recs), (278, 300, 77_817));
    // tshark: icmpTypeCodeIPv4 0x0301, 0x0303, 0x0303
    let mut icmp: Vec<(u8, u8)> = recs.iter().filter_map(|r| r.icmp()).collect();
    icmp.sort();
    assert_eq!(icmp, [(3, 1), (3, 3), (3, 3)]);
}

#[test]
fn softflowd_v9_sampled_reports_its_rate() {
    // softflowd -s 10: one packet in 10 is accounted; options data (scope interface) carry
    // SAMPLING_INTERVAL 10. tshark: 30 flows, 30 packets, 1,380 octets.
    let (recs, _) = decode_fixture("softflowd-v9-sampled10-synflood300.pcap");
    assert_eq!(totals(&recs), (30, 30, 1_380));
    assert!(recs.iter().all(|r| r.sampling == 10));
    assert_eq!(recs.iter().map(|r| r.scaled_packets()).sum::<u64>(), 300);
}

/// The same traffic as pcap and as NetFlow v5 / v9 / IPFIX gives the same flows: same
/// 5-tuples and packets, softflowd's byte count (frame length less 14), and times within the
/// precision of each protocol (IPFIX and v5: two millisecond roundings; v9: a header with
/// whole seconds only).
#[test]
fn pcap_and_flow_views_agree() {
    let cases = [
        (
            "stopddos-synflood-spoofed.pcap",
            "softflowd-v9-synflood300.pcap",
            1_000_000,
        ),
        (
            "stopddos-synflood-spoofed.pcap",
            "softflowd-ipfix-synflood300.pcap",
            2_000,
        ),
        (
            "stopddos-udp-bacnet-iot-reflection.pcap",
            "softflowd-v5-bacnet300.pcap",
            2_000,
        ),
        (
            "stopddos-udp-bacnet-iot-reflection.pcap",
            "softflowd-ipfix-bacnet300.pcap",
            2_000,
        ),
    ];
    for (source, name, tolerance_us) in cases {
        let Some(path) = shared_pcap(source) else {
            return;
        };
        let mut reader =
            iotrust_flow::CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut packets = Vec::new();
        let mut frame_bytes = BTreeMap::new();
        while packets.len() < 300 {
            let Some(item) = reader.next() else { break };
            let r = item.unwrap();
            packets.push(r);
            *frame_bytes
                .entry((r.src, r.dst, r.src_port, r.dst_port, r.proto))
                .or_insert(0u64) += 0;
        }
        // softflowd's byte count: orig_len - 14 per frame
        let mut reader = iotrust_flow::CaptureReader::new(
            std::fs::File::open(shared_pcap(source).unwrap()).unwrap(),
        )
        .unwrap();
        for r in &packets {
            let p = reader.next_packet().unwrap().unwrap();
            *frame_bytes
                .get_mut(&(r.src, r.dst, r.src_port, r.dst_port, r.proto))
                .unwrap() += u64::from(p.orig_len - 14);
        }
        let from_pcap = by_tuple(&packets);
        let (recs, _) = decode_fixture(name);
        let from_flows = by_tuple(&recs);
        assert_eq!(
            from_flows.keys().collect::<Vec<_>>(),
            from_pcap.keys().collect::<Vec<_>>(),
            "{name}"
        );
        let mut worst = 0;
        for (k, (p, _, first, last)) in &from_pcap {
            let (fp, fb, ffirst, flast) = from_flows[k];
            assert_eq!(fp, *p, "{name} {k:?}");
            assert_eq!(fb, frame_bytes[k], "{name} {k:?}");
            worst = worst.max((ffirst - first).abs()).max((flast - last).abs());
        }
        assert!(
            worst < tolerance_us,
            "{name}: times differ by up to {worst} us"
        );
    }
}

/// Regenerates the fixtures: needs `softflowd` (Debian package) and the shared captures.
/// `cargo test -p iotrust-flow --test softflowd -- --ignored regenerate`
#[test]
#[ignore = "needs softflowd; rewrites tests/fixtures"]
fn regenerate_fixtures() {
    let jobs: [(&str, &str, &[&str], u16); 5] = [
        (
            "stopddos-synflood-spoofed.pcap",
            "softflowd-v9-synflood300.pcap",
            &["-v", "9"],
            2055,
        ),
        (
            "stopddos-synflood-spoofed.pcap",
            "softflowd-ipfix-synflood300.pcap",
            &["-v", "10"],
            4739,
        ),
        (
            "stopddos-udp-bacnet-iot-reflection.pcap",
            "softflowd-v5-bacnet300.pcap",
            &["-v", "5"],
            2055,
        ),
        (
            "stopddos-udp-bacnet-iot-reflection.pcap",
            "softflowd-ipfix-bacnet300.pcap",
            &["-v", "10"],
            4739,
        ),
        (
            "stopddos-synflood-spoofed.pcap",
            "softflowd-v9-sampled10-synflood300.pcap",
            &["-v", "9", "-s", "10"],
            2055,
        ),
    ];
    for (source, name, args, port) in jobs {
        let src = shared_pcap(source).expect("shared capture");
        // The first 300 packets, as a classic pcap softflowd reads.
        let mut cut = Pcap::new(1);
        let mut reader =
            iotrust_flow::CaptureReader::new(std::fs::File::open(src).unwrap()).unwrap();
        for _ in 0..300 {
            let p = reader.next_packet().unwrap().unwrap();
            cut.packet(p.ts_us, p.data, p.orig_len);
        }
        let tmp = std::env::temp_dir().join(format!("iotrust-flow-{}-{name}", std::process::id()));
        std::fs::write(&tmp, &cut.0).unwrap();
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let collector = sock.local_addr().unwrap();
        let mut child = std::process::Command::new("softflowd")
            .arg("-r")
            .arg(&tmp)
            .args(["-n", &collector.to_string(), "-m", "1000000", "-d", "-a"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("softflowd installed");
        let mut out = Pcap::new(101);
        let mut buf = vec![0u8; 65_535];
        for i in 0..10_000i64 {
            match sock.recv_from(&mut buf) {
                Ok((n, _)) => out.udp(1_600_000_000_000_000 + i, 9999, port, &buf[..n]),
                Err(_) => break,
            }
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
        }
        child.wait().unwrap();
        std::fs::remove_file(&tmp).unwrap();
        std::fs::write(fixture(name), &out.0).unwrap();
    }
}
