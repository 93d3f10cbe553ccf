//! The project's real captures (`shared/data/pcap`) and small files Wireshark's `editcap`
//! wrote from them (`tests/fixtures/editcap-*`). Every expected number was computed
//! independently with tshark 4.0.17 (`tshark -r FILE -T fields -e frame.time_epoch -e ip.src
//! -e ip.dst -e ip.proto -e ip.len -e ip.ttl -e tcp.flags -e tcp.seq_raw ...`, summed with a
//! short script; for ICMP errors, which quote an inner IP header, the outer header's fields)
//! and `tcpdump -r FILE | wc -l`; see the fixtures README.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{fixture, read_capture, shared_pcap};
use iotrust_flow::{Addr, CaptureFormat, CaptureReader, FlowRecord, SourceKind};

/// What we compare with tshark's view of a capture.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    records: usize,
    first_us: i64,
    last_us: i64,
    ip_bytes: u64,
    ttl_sum: u64,
    syn_only: usize,
    seq_sum: u64,
    seq_equals_dst: usize,
    sources: usize,
    destinations: Vec<Addr>,
    protos: BTreeMap<u8, usize>,
}

fn summarize(recs: &[FlowRecord]) -> Summary {
    let mut dsts: Vec<Addr> = recs
        .iter()
        .map(|r| r.dst)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    dsts.sort();
    let mut protos = BTreeMap::new();
    for r in recs {
        *protos.entry(r.proto).or_insert(0) += 1;
    }
    Summary {
        records: recs.len(),
        first_us: recs.iter().map(|r| r.first_us).min().unwrap_or(0),
        last_us: recs.iter().map(|r| r.last_us).max().unwrap_or(0),
        ip_bytes: recs.iter().map(|r| r.bytes).sum(),
        ttl_sum: recs.iter().map(|r| u64::from(r.ttl().unwrap())).sum(),
        syn_only: recs
            .iter()
            .filter(|r| r.proto == 6 && r.tcp_flags.is_syn_only())
            .count(),
        seq_sum: recs
            .iter()
            .filter_map(|r| r.tcp_seq())
            .fold(0u64, |a, s| a.wrapping_add(u64::from(s))),
        seq_equals_dst: recs
            .iter()
            .filter(|r| r.seq_equals_dst() == Some(true))
            .count(),
        sources: recs.iter().map(|r| r.src).collect::<HashSet<_>>().len(),
        destinations: dsts,
        protos,
    }
}

#[test]
fn synflood_capture() {
    let Some(path) = shared_pcap("stopddos-synflood-spoofed.pcap") else {
        return;
    };
    let mut reader = CaptureReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(reader.format(), CaptureFormat::Pcap);
    assert_eq!(reader.pcap_link_type(), Some(1));
    assert_eq!(reader.pcap_snaplen(), Some(65_535));
    let recs: Vec<FlowRecord> = reader.by_ref().map(|r| r.unwrap()).collect();
    let s = summarize(&recs);
    assert_eq!(
        s,
        Summary {
            records: 37_841, // tcpdump -r | wc -l
            first_us: 1_619_605_821_099_510,
            last_us: 1_619_605_844_783_363,
            ip_bytes: 1_513_640,
            ttl_sum: 9_195_620,
            syn_only: 37_841,
            seq_sum: 81_008_535_404_544,
            seq_equals_dst: 0, // a SYN flood, not Mirai scanning
            sources: 37_623,
            destinations: vec![Addr::v4([10, 10, 10, 10])],
            protos: BTreeMap::from([(6, 37_841)]),
        }
    );
    assert!(recs
        .iter()
        .all(|r| r.dst_port == 25565 && r.packets == 1 && r.sampling == 1));
    assert_eq!(
        recs.iter().map(|r| u64::from(r.src_port)).sum::<u64>(),
        1_236_892_823
    );
    assert!(recs.iter().all(|r| r.kind == SourceKind::Pcap));
    let st = reader.stats();
    assert_eq!(
        (st.units, st.records, st.skipped, st.errors.total()),
        (37_841, 37_841, 0, 0)
    );
}

#[test]
fn bacnet_reflection_capture() {
    let Some(path) = shared_pcap("stopddos-udp-bacnet-iot-reflection.pcap") else {
        return;
    };
    let recs = read_capture(&path);
    let s = summarize(&recs);
    assert_eq!(
        s,
        Summary {
            records: 9_617,
            // not in time order: the earliest and latest anywhere in the file
            first_us: 1_626_105_669_291_787,
            last_us: 1_626_105_669_316_586,
            ip_bytes: 2_699_789,
            ttl_sum: 613_609,
            syn_only: 0,
            seq_sum: 0,
            seq_equals_dst: 0,
            sources: 6_276,
            destinations: vec![Addr::v4([10, 10, 10, 1])],
            protos: BTreeMap::from([(1, 155), (17, 9_462)]),
        }
    );
    let udp: Vec<&FlowRecord> = recs.iter().filter(|r| r.proto == 17).collect();
    assert_eq!(
        udp.iter().map(|r| u64::from(r.src_port)).sum::<u64>(),
        422_554_383
    );
    assert_eq!(
        udp.iter().map(|r| u64::from(r.dst_port)).sum::<u64>(),
        285_030_816
    );
    assert_eq!(udp.iter().map(|r| r.bytes).sum::<u64>(), 2_689_598);
    assert_eq!(udp.iter().filter(|r| r.src_port == 47808).count(), 6_737);
    // tshark -Y icmp -T fields -e icmp.type -e icmp.code | sort | uniq -c
    let mut icmp = BTreeMap::new();
    for r in &recs {
        if let Some(tc) = r.icmp() {
            *icmp.entry(tc).or_insert(0) += 1;
        }
    }
    assert_eq!(
        icmp,
        BTreeMap::from([
            ((3, 0), 1),
            ((3, 1), 21),
            ((3, 3), 119),
            ((3, 10), 2),
            ((11, 0), 12)
        ])
    );
}

#[test]
fn editcap_pcapng_fixture() {
    // editcap -F pcapng -r stopddos-synflood-spoofed.pcap editcap-synflood200.pcapng 1-200
    let path = fixture("editcap-synflood200.pcapng");
    let reader = CaptureReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(reader.format(), CaptureFormat::Pcapng);
    let recs = read_capture(&path);
    let s = summarize(&recs);
    assert_eq!(
        s,
        Summary {
            records: 200,
            first_us: 1_619_605_821_099_510,
            last_us: 1_619_605_821_157_854,
            ip_bytes: 8_000,
            ttl_sum: 48_602,
            syn_only: 200,
            seq_sum: 413_188_751_360,
            seq_equals_dst: 0,
            sources: 198,
            destinations: vec![Addr::v4([10, 10, 10, 10])],
            protos: BTreeMap::from([(6, 200)]),
        }
    );
    assert!(recs
        .iter()
        .all(|r| r.kind == SourceKind::Pcapng && r.domain == 0));
    // the same packets as the classic file
    if let Some(orig) = shared_pcap("stopddos-synflood-spoofed.pcap") {
        let reader = CaptureReader::new(std::fs::File::open(orig).unwrap()).unwrap();
        for (a, b) in reader.take(200).map(|r| r.unwrap()).zip(&recs) {
            assert_eq!(
                (a.src, a.dst, a.first_us, a.tcp_seq(), a.bytes),
                (b.src, b.dst, b.first_us, b.tcp_seq(), b.bytes)
            );
        }
    }
}

#[test]
fn editcap_nanosecond_fixture() {
    // editcap -F nsecpcap -r stopddos-udp-bacnet-iot-reflection.pcap editcap-bacnet200-nsec.pcap 1-200
    let recs = read_capture(&fixture("editcap-bacnet200-nsec.pcap"));
    let s = summarize(&recs);
    assert_eq!(
        s,
        Summary {
            records: 200,
            first_us: 1_626_105_669_291_787,
            last_us: 1_626_105_669_292_253,
            ip_bytes: 49_893,
            ttl_sum: 12_843,
            syn_only: 0,
            seq_sum: 0,
            seq_equals_dst: 0,
            sources: 184,
            destinations: vec![Addr::v4([10, 10, 10, 1])],
            protos: BTreeMap::from([(1, 2), (17, 198)]),
        }
    );
}

#[test]
fn truncated_real_capture_reports_where() {
    let Some(path) = shared_pcap("stopddos-synflood-spoofed.pcap") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    // Each record is 16 + 60 bytes after the 24-byte header: cut inside packet 1001.
    let cut = 24 + 1000 * 76 + 30;
    let mut reader = CaptureReader::new(&bytes[..cut]).unwrap();
    let mut ok = 0;
    let mut last_err = None;
    for item in reader.by_ref() {
        match item {
            Ok(_) => ok += 1,
            Err(e) => last_err = Some(e),
        }
    }
    assert_eq!(ok, 1000);
    let e = last_err.unwrap();
    assert!(!e.can_continue());
    assert_eq!(
        e.to_string(),
        "packet 1001 (file offset 76024): input ends inside packet data: 60 bytes needed, 14 available"
    );
    assert_eq!(reader.stats().records, 1000);
}
