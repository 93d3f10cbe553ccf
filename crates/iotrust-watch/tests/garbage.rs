//! Property: random and extreme records never make `watch` panic, and state stays bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotrust_flow::testing::Rng;
use iotrust_flow::{Addr, FlowRecord, SourceKind, TcpFlags};
use iotrust_watch::{nftables_ruleset, propose, Config, Indicators, JsonLines, Subscribers, Watch};

const KINDS: [SourceKind; 7] = [
    SourceKind::Pcap,
    SourceKind::Pcapng,
    SourceKind::NetflowV5,
    SourceKind::NetflowV9,
    SourceKind::Ipfix,
    SourceKind::Sflow,
    SourceKind::Zeek,
];

fn pick<T: Copy>(rng: &mut Rng, v: &[T]) -> T {
    v[rng.below(v.len() as u64) as usize]
}

/// A record with random fields, biased towards extremes and towards a few hosts and
/// ports so that detectors get past their thresholds too.
fn garbage(rng: &mut Rng) -> FlowRecord {
    let mut r = FlowRecord::new(pick(rng, &KINDS));
    let small = |rng: &mut Rng| Addr::v4([192, 0, 2, rng.below(8) as u8]);
    let any = |rng: &mut Rng| {
        if rng.below(4) == 0 {
            let mut o = [0u8; 16];
            for b in &mut o {
                *b = rng.next_u64() as u8;
            }
            Addr::v6(o)
        } else {
            Addr::v4((rng.next_u64() as u32).to_be_bytes())
        }
    };
    r.src = if rng.below(2) == 0 {
        small(rng)
    } else {
        any(rng)
    };
    r.dst = if rng.below(2) == 0 {
        small(rng)
    } else {
        any(rng)
    };
    let times = [0, -1, i64::MIN, i64::MAX, 1_763_780_000_000_000];
    r.first_us = if rng.below(3) == 0 {
        pick(rng, &times)
    } else {
        1_763_780_000_000_000 + rng.below(600_000_000) as i64
    };
    r.last_us = if rng.below(5) == 0 {
        pick(rng, &times)
    } else {
        r.first_us.saturating_add(rng.below(120_000_000) as i64)
    };
    let x = rng.next_u64();
    r.packets = pick(rng, &[0, 1, 2, u64::MAX, x]);
    r.bytes = pick(rng, &[0, 40, u64::MAX, x]);
    r.sampling = pick(rng, &[0, 1, 1_000, u32::MAX, x as u32]);
    r.proto = pick(rng, &[6, 6, 17, 1, 58, 47, x as u8]);
    r.src_port = pick(rng, &[53, 47808, 23, x as u16]);
    r.dst_port = pick(rng, &[23, 2323, 53, 48101, x as u16]);
    r.tcp_flags = TcpFlags(pick(rng, &[TcpFlags::SYN, TcpFlags::ACK, x as u8]));
    r.domain = rng.next_u64() as u32;
    if rng.below(2) == 0 {
        let seq = if rng.below(2) == 0 {
            r.dst.ipv4_u32().unwrap_or(0)
        } else {
            rng.next_u64() as u32
        };
        r.set_tcp_seq(seq);
    }
    if rng.below(2) == 0 {
        r.set_ttl(rng.next_u64() as u8);
    }
    r
}

#[test]
fn random_records_never_panic() {
    for seed in 0..4u64 {
        let mut rng = Rng(seed);
        let cfg = Config {
            max_hosts: 64,
            max_incidents: 16,
            local_networks: if seed % 2 == 0 {
                Vec::new()
            } else {
                vec!["192.0.2.0/24".parse().unwrap(), "::/1".parse().unwrap()]
            },
            ..Config::default()
        };
        let ind = Indicators::parse("*:48101\n192.0.2.3\n[::1]:23\n", "c2").unwrap();
        let subs = Subscribers::parse("192.0.2.0/29,a\n::/0,b\n", "s").unwrap();
        let mut w = Watch::new(cfg).with_indicators(ind).with_subscribers(subs);
        let mut sink = JsonLines::new(std::io::sink());
        for _ in 0..50_000 {
            let r = garbage(&mut rng);
            w.observe(&r);
            for e in w.drain_events() {
                sink.write(&e).unwrap();
                let _ = propose(&e.incident);
            }
            assert!(w.stats().hosts <= 64);
            assert!(w.stats().incidents_kept <= 16);
        }
        let filters: Vec<_> = w.incidents().filter_map(propose).collect();
        let _ = nftables_ruleset(&filters);
        assert_eq!(w.stats().records, 50_000);
        assert!(
            sink.written() > 0,
            "seed {seed}: detectors fired on something"
        );
    }
}

#[test]
fn degenerate_configs_do_not_panic() {
    let mut rng = Rng(99);
    let cfg = Config {
        max_hosts: 0,
        max_incidents: 0,
        incident_ttl_secs: 0,
        mirai: iotrust_watch::detectors::mirai::Config {
            window_secs: 0,
            max_window_secs: 0,
            min_destinations: 0,
            min_observed: 0,
            fingerprint_min: 0,
        },
        flood: iotrust_watch::detectors::flood::Config {
            window_secs: 0,
            syn_pps: 0,
            ack_pps: 0,
            udp_pps: 0,
            udp_pps_any: 0,
            gre_pps: 0,
            conn_per_sec: 0,
            min_observed: 0,
        },
        beacon: iotrust_watch::detectors::beacon::Config {
            min_period_secs: 0,
            max_period_secs: 0,
            min_beacons: 0,
            max_jitter: 0.0,
            ignore_ports: Vec::new(),
            retransmit_secs: 0,
            min_evidence: 0,
            common_ports: Vec::new(),
            loop_failures: 0,
            hold_periods: 0,
        },
        ..Config::default()
    };
    let mut w = Watch::new(cfg);
    for _ in 0..5_000 {
        w.observe(&garbage(&mut rng));
        w.drain_events().for_each(drop);
    }
    assert!(w.stats().hosts <= 1);
}
