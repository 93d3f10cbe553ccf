//! Real exporter output: softflowd 1.1.0 turned the first 300 packets of the project's
//! spoofed SYN-flood capture into NetFlow v9, IPFIX and 1:10-sampled NetFlow v9
//! (iotrust-flow's `tests/fixtures`, see the README there); Wireshark's editcap cut the first
//! 200 into pcapng. The same attack must give the same incident from every view.
//!
//! 300 packets in 58 ms are far below the default thresholds, so the inbound SYN threshold
//! is lowered to 15/s (150 SYN in the 10 s window): the point here is agreement between
//! views, including sampling (30 sampled flows × 10 = 300 SYN).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{opened, run, shared_pcap};
use iotrust_flow::{CaptureReader, Datagram, DecodeConfig, FlowDecoder, FlowRecord, SourceKind};
use iotrust_watch::Config;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../iotrust-flow/tests/fixtures")
        .join(name)
}

/// Decodes the UDP datagrams stored (as raw IPv4/UDP packets) in a fixture capture.
fn decode_export(name: &str) -> Vec<FlowRecord> {
    let file = std::fs::File::open(fixture(name)).unwrap();
    let mut reader = CaptureReader::new(file).unwrap();
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    let mut out = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        let ihl = usize::from(p.data[0] & 0x0f) * 4;
        let src: [u8; 4] = p.data[12..16].try_into().unwrap();
        let d = dec.decode(
            Datagram {
                exporter: std::net::IpAddr::from(src),
                received_us: p.ts_us,
                bytes: &p.data[ihl + 8..],
            },
            &mut out,
        );
        assert!(d.errors.is_empty(), "{name}: {:?}", d.errors);
    }
    out
}

fn cfg() -> Config {
    let mut c = Config::default();
    c.inbound.syn_pps = 15;
    c
}

#[test]
fn softflowd_views_give_the_same_incident() {
    let expected = vec![(
        "10.10.10.10".to_string(),
        "inbound-attack".to_string(),
        "syn-flood".to_string(),
    )];
    let mut views: Vec<(&str, Vec<FlowRecord>)> = vec![
        (
            "softflowd v9",
            decode_export("softflowd-v9-synflood300.pcap"),
        ),
        (
            "softflowd ipfix",
            decode_export("softflowd-ipfix-synflood300.pcap"),
        ),
        (
            "softflowd v9 1:10",
            decode_export("softflowd-v9-sampled10-synflood300.pcap"),
        ),
    ];
    let pcapng =
        CaptureReader::new(std::fs::File::open(fixture("editcap-synflood200.pcapng")).unwrap())
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
    views.push(("editcap pcapng", pcapng));
    if let Some(p) = shared_pcap("stopddos-synflood-spoofed.pcap") {
        let first300 = CaptureReader::new(std::fs::File::open(p).unwrap())
            .unwrap()
            .take(300)
            .map(|r| r.unwrap())
            .collect();
        views.push(("pcap, first 300", first300));
    }
    assert_eq!(views[0].1.len(), 298);
    assert_eq!(views[2].1.len(), 30);
    assert!(views[2].1.iter().all(|r| r.sampling == 10));
    assert!(views[1].1.iter().all(|r| r.kind == SourceKind::Ipfix));
    for (name, recs) in &views {
        let (ev, w) = run(cfg(), recs);
        assert_eq!(opened(&ev), expected, "{name}");
        let inc = w.incidents().next().unwrap();
        eprintln!("{name}: {}", inc.summary);
        assert!(inc.counters["syn_pps"] >= 15, "{name}");
    }
    // and nothing at the default thresholds: 300 SYN are not an attack
    let (ev, _) = run(Config::default(), &views[0].1);
    assert!(ev.is_empty());
}
