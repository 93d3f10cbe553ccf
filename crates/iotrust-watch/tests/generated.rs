//! Traffic the tests make themselves: a Mirai scanner at its real rate and fingerprint, a
//! flooding bot, and benign subscribers; and the same traffic seen as pcap, NetFlow v9 and
//! IPFIX.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use iotrust_flow::SourceKind;
use iotrust_watch::{
    nftables_ruleset, propose, Config, Detector, EventKind, FlowSpecAction, Indicators, Role,
    Severity, Subscribers, Watch,
};

fn scanner() -> iotrust_flow::Addr {
    v4([192, 0, 2, 10])
}

/// Seconds of stream time from the first record to the record that opened the incident.
fn latency_secs(recs: &[iotrust_flow::FlowRecord], ev: &[iotrust_watch::Event]) -> f64 {
    let first = recs.iter().map(|r| r.first_us).min().unwrap().min(T0);
    let opened = ev
        .iter()
        .find(|e| e.event == EventKind::Opened)
        .expect("an incident");
    let secs = (opened.incident.last_us() - first) as f64 / 1e6;
    eprintln!(
        "{}: opened after {secs:.3} s of stream time",
        opened.incident.summary
    );
    secs
}

#[test]
fn mirai_scanner_unsampled_is_flagged_within_10_s() {
    let recs = mirai_scanner(scanner(), T0, 10, 160, 1, true, 1);
    assert_eq!(recs.len(), 1_600);
    assert!(recs.iter().all(|r| r.seq_equals_dst() == Some(true)));
    let (ev, w) = run(Config::default(), &recs);
    assert_eq!(
        opened(&ev),
        vec![("192.0.2.10".into(), "mirai-scan".into(), String::new())]
    );
    let lat = latency_secs(&recs, &ev);
    assert!(lat < 10.0, "{lat}");
    // the fingerprint fires on the third probe, inside the first burst
    assert!(lat < 0.01, "{lat}");
    let inc = w.incidents().next().unwrap();
    assert_eq!(inc.confidence, 0.99);
    assert_eq!(inc.severity, Severity::High);
    assert_eq!(inc.role, Role::InfectedDevice);
    assert_eq!(inc.mirai_ports(), vec![23, 2323]);
    // 10 s of 1,600 probes in one 60 s window: 1,440 to 23, 160 to 2323
    assert_eq!(inc.counters["port_23"], 1_440);
    assert_eq!(inc.counters["port_2323"], 160);
    assert_eq!(inc.counters["seq_equals_dst"], 1_600);
    let d = inc.counters["destinations"];
    assert!((1_100..=2_100).contains(&d), "{d}");
    assert_eq!(inc.samples.len(), 5);
    // escalations are few (the destination count doubling), never one per probe
    assert!(ev.len() <= 12, "{}", ev.len());
    // no horizontal-scan duplicate: the Mirai incident explains the probes
    assert!(w.incidents().all(|i| i.detector == Detector::MiraiScan));
}

#[test]
fn mirai_scanner_without_seq_is_flagged_by_fan_out_and_port_ratio() {
    // NetFlow/IPFIX carry no sequence number: fan-out and the 9:1 split decide
    let recs: Vec<_> = mirai_scanner(scanner(), T0, 10, 160, 1, false, 2)
        .into_iter()
        .map(|mut r| {
            r.kind = SourceKind::NetflowV9;
            r
        })
        .collect();
    let (ev, w) = run(Config::default(), &recs);
    assert_eq!(opened(&ev).len(), 1);
    let lat = latency_secs(&recs, &ev);
    assert!(lat < 1.0, "{lat}"); // 64 destinations: the first burst
    let inc = w.incidents().next().unwrap();
    assert_eq!(inc.detector, Detector::MiraiScan);
    assert_eq!(inc.confidence, 0.9, "9:1 split seen");
    assert_eq!(inc.counters["seq_equals_dst"], 0);
}

#[test]
fn mirai_scanner_at_1_in_1000_is_flagged_within_an_hour() {
    let mut worst: f64 = 0.0;
    for (seed, with_seq) in (3..13).zip([true, false].into_iter().cycle()) {
        // one hour of a 160 SYN/s scanner, 1:1000 sampled: about 576 samples
        let recs = mirai_scanner(scanner(), T0, 3_600, 160, 1_000, with_seq, seed);
        assert!((450..=700).contains(&recs.len()), "{}", recs.len());
        assert!(recs.iter().all(|r| r.sampling == 1_000));
        let (ev, w) = run(Config::default(), &recs);
        assert_eq!(opened(&ev).len(), 1, "with_seq {with_seq}");
        let lat = latency_secs(&recs, &ev);
        assert!(lat < 3_600.0, "{lat}");
        worst = worst.max(lat);
        let inc = w.incidents().next().unwrap();
        assert_eq!(inc.detector, Detector::MiraiScan);
        assert_eq!(inc.counters["sampling"], 1_000);
    }
    // three fingerprinted or five plain samples at 0.16/s: tens of seconds, not an hour
    assert!(worst < 300.0, "{worst}");
}

#[test]
fn a_few_sampled_probes_are_not_an_incident() {
    // four sampled SYNs to telnet in an hour: below the observed minimum of five
    let recs: Vec<_> = mirai_scanner(scanner(), T0, 3_600, 160, 1_000, false, 4)
        .into_iter()
        .step_by(150)
        .collect();
    assert!(recs.len() <= 4);
    let (ev, _) = run(Config::default(), &recs);
    assert!(ev.is_empty());
}

#[test]
fn benign_traffic_raises_nothing() {
    let recs = benign(T0, 600, 5);
    assert!(recs.len() > 70_000, "{}", recs.len());
    for (name, view) in [
        ("records", recs.clone()),
        ("pcap", via_pcap(&recs)),
        ("netflow-v9", via_export(&recs, false)),
        ("ipfix", via_export(&recs, true)),
    ] {
        let (ev, w) = run(Config::default(), &view);
        assert!(
            ev.is_empty(),
            "{name}: {:?}",
            ev.first().map(|e| &e.incident.summary)
        );
        assert_eq!(w.stats().incidents_opened, 0);
    }
}

/// A bot that scans, a bot that floods, a bot that calls its C2, among benign subscribers.
fn mixed() -> Vec<iotrust_flow::FlowRecord> {
    let mut recs = benign(T0, 120, 6);
    recs.extend(mirai_scanner(
        scanner(),
        T0 + 3_000_000,
        30,
        160,
        1,
        true,
        7,
    ));
    recs.extend(udp_flood(
        v4([192, 0, 2, 11]),
        v4([198, 51, 100, 99]),
        T0 + 20_000_000,
        15,
        3_000,
        8,
    ));
    for k in 0..3 {
        recs.push(tcp(
            T0 + 40_000_000 + k * 60_000_000,
            v4([192, 0, 2, 12]),
            v4([203, 0, 113, 8]),
            40_000 + k as u16,
            48101,
            iotrust_flow::TcpFlags::SYN,
            60,
        ));
    }
    recs.sort_by_key(|r| r.last_us);
    recs
}

const INDICATORS: &str = "# test list\n203.0.113.8:48101 mirai-report\n";

fn watch_mixed(view: &[iotrust_flow::FlowRecord]) -> (Vec<iotrust_watch::Event>, Watch) {
    let mut w = Watch::new(Config::default())
        .with_indicators(Indicators::parse(INDICATORS, "c2.txt").unwrap())
        .with_subscribers(
            Subscribers::parse("address,subscriber\n192.0.2.0/24,cust-42\n", "subs.csv").unwrap(),
        );
    let mut ev = Vec::new();
    for r in view {
        w.observe(r);
        ev.extend(w.drain_events());
    }
    (ev, w)
}

#[test]
fn same_incidents_from_pcap_netflow_v9_and_ipfix() {
    let recs = mixed();
    let expected: Vec<(String, String, String)> = vec![
        ("192.0.2.10".into(), "mirai-scan".into(), String::new()),
        (
            "192.0.2.11".into(),
            "outbound-flood".into(),
            "udp-flood".into(),
        ),
        ("192.0.2.12".into(), "c2-contact".into(), String::new()),
    ];
    let pcap = via_pcap(&recs);
    assert_eq!(pcap.len(), recs.len());
    let v9 = via_export(&recs, false);
    let ipfix = via_export(&recs, true);
    assert!(v9.len() < pcap.len(), "flows merge packets");
    assert!(v9.iter().all(|r| r.kind == SourceKind::NetflowV9));
    assert!(ipfix.iter().all(|r| r.kind == SourceKind::Ipfix));
    for (name, view) in [("pcap", &pcap), ("netflow-v9", &v9), ("ipfix", &ipfix)] {
        let (ev, w) = watch_mixed(view);
        assert_eq!(opened(&ev), expected, "{name}");
        for inc in w.incidents() {
            assert_eq!(inc.subscriber.as_deref(), Some("cust-42"));
        }
        let flood = w
            .incidents()
            .find(|i| i.detector == Detector::OutboundFlood)
            .unwrap();
        // 3,000 packets/s in a 10 s window
        let pps = flood.counters["pps"];
        assert!((1_500..=3_000).contains(&pps), "{name}: {pps}");
        let mirai = w
            .incidents()
            .find(|i| i.detector == Detector::MiraiScan)
            .unwrap();
        let fp = if name == "pcap" { 0.99 } else { 0.9 };
        assert_eq!(
            mirai.confidence, fp,
            "{name}: fingerprint only with headers"
        );
        // the list's label for the indicator names what was contacted
        let c2 = w
            .incidents()
            .find(|i| i.detector == Detector::C2Contact)
            .unwrap();
        assert_eq!(c2.labels, ["mirai-report"], "{name}");
        assert_eq!(
            c2.summary, "192.0.2.12 contacts listed C2 203.0.113.8:48101 (mirai-report)",
            "{name}"
        );
    }
}

#[test]
fn filters_target_the_infected_devices_outbound_traffic() {
    let (_, w) = watch_mixed(&via_pcap(&mixed()));
    let mut incs: Vec<_> = w.incidents().collect();
    incs.sort_by_key(|i| i.id);
    let filters: Vec<_> = incs.iter().filter_map(|i| propose(i)).collect();
    assert_eq!(filters.len(), 3);
    for f in &filters {
        for r in &f.flowspec {
            assert_eq!(
                r.source,
                format!("{}/32", f.device),
                "always the device as source"
            );
        }
        for r in &f.nftables_rules {
            assert!(r.starts_with(&format!("ip saddr {} ", f.device)), "{r}");
        }
    }
    let by = |d: Detector| filters.iter().find(|f| f.detector == d).unwrap();
    let m = by(Detector::MiraiScan);
    assert_eq!(
        m.nftables_rules[0],
        format!(
            "ip saddr 192.0.2.10 tcp dport {{ 23, 2323 }} tcp flags & (fin|syn|rst|ack) == syn counter drop comment \"iotrust incident {} mirai-scan\"",
            m.incident
        )
    );
    assert_eq!(m.flowspec[0].destination_ports, vec![23, 2323]);
    assert_eq!(m.flowspec[0].action, FlowSpecAction::Discard);
    assert_eq!(
        m.flowspec[0].describe(),
        "match source 192.0.2.10/32, protocol =6, destination-port =23 =2323, tcp-flags syn&!ack; then discard"
    );
    let f = by(Detector::OutboundFlood);
    assert!(f.nftables_rules[0]
        .starts_with("ip saddr 192.0.2.11 ip daddr 198.51.100.99 meta l4proto udp counter drop"));
    assert_eq!(
        f.flowspec[0].destination.as_deref(),
        Some("198.51.100.99/32")
    );
    let c = by(Detector::C2Contact);
    assert!(c.nftables_rules[0].contains("ip daddr 203.0.113.8 meta l4proto tcp th dport 48101"));
    let set = nftables_ruleset(&filters);
    assert!(set.starts_with("table inet iotrust_watch {\n\tchain forward {\n"));
    assert_eq!(set.matches("counter drop").count(), 3);
    let json = serde_json::to_value(&filters).unwrap();
    assert_eq!(json[0]["flowspec"][0]["action"], "discard");
}

#[test]
fn outbound_syn_flood_and_dns_water_torture() {
    let bot = v4([192, 0, 2, 13]);
    let victim = v4([198, 51, 100, 7]);
    let resolver = v4([198, 51, 100, 53]);
    let mut recs = Vec::new();
    let mut rng = iotrust_flow::testing::Rng(9);
    for i in 0..20_000i64 {
        let t = T0 + i * 500; // 2,000/s
        recs.push(tcp(
            t,
            bot,
            victim,
            rng.next_u64() as u16,
            80,
            iotrust_flow::TcpFlags::SYN,
            60,
        ));
        recs.push(udp(
            t + 1,
            bot,
            resolver,
            rng.next_u64() as u16 | 1024,
            53,
            80,
        ));
        recs.push(udp(
            t + 2,
            bot,
            resolver,
            rng.next_u64() as u16 | 1024,
            53,
            80,
        ));
    }
    let (ev, w) = run(Config::default(), &recs);
    let o = opened(&ev);
    assert_eq!(o.len(), 2, "{o:?}");
    assert!(o.contains(&(
        "192.0.2.13".into(),
        "outbound-flood".into(),
        "syn-flood".into()
    )));
    // the victim, an address like any other when no local networks are set, is attacked
    assert!(o.contains(&(
        "198.51.100.7".into(),
        "inbound-attack".into(),
        "syn-flood".into()
    )));
    let inc = w
        .incidents()
        .find(|i| i.detector == Detector::OutboundFlood)
        .unwrap();
    assert_eq!(
        inc.targets.len(),
        2,
        "two victims in one incident: {:?} {o:?}",
        inc.targets
    );
    let dns = inc
        .targets
        .iter()
        .find(|t| t.peer == Some(resolver))
        .unwrap();
    assert_eq!(dns.dst_port, Some(53));
    let f = propose(inc).unwrap();
    assert_eq!(f.flowspec.len(), 2);
}

#[test]
fn slow_horizontal_scan_on_other_ports() {
    // 10 SYN/s to random addresses on port 5900 for 60 s: 600 targets a minute
    let mut rng = iotrust_flow::testing::Rng(11);
    let src = v4([192, 0, 2, 14]);
    let recs: Vec<_> = (0..600i64)
        .map(|i| {
            let d = (rng.next_u64() as u32 | 0x0100_0000).to_be_bytes();
            tcp(
                T0 + i * 100_000,
                src,
                v4(d),
                50_000,
                5900,
                iotrust_flow::TcpFlags::SYN,
                60,
            )
        })
        .collect();
    let (ev, _) = run(Config::default(), &recs);
    assert_eq!(
        opened(&ev),
        vec![("192.0.2.14".into(), "horizontal-scan".into(), String::new())]
    );
    // 256 distinct targets at 10/s: about 26 s in
    let lat = latency_secs(&recs, &ev);
    assert!((20.0..40.0).contains(&lat), "{lat}");
}

#[test]
fn incident_reopens_after_its_ttl() {
    let mut recs = mirai_scanner(scanner(), T0, 2, 160, 1, true, 12);
    recs.extend(mirai_scanner(
        scanner(),
        T0 + 7_200_000_000,
        2,
        160,
        1,
        true,
        13,
    ));
    let (ev, _) = run(Config::default(), &recs);
    let ids: Vec<u64> = ev
        .iter()
        .filter(|e| e.event == EventKind::Opened)
        .map(|e| e.incident.id)
        .collect();
    assert_eq!(ids, vec![1, 2]);
}

#[test]
fn benign_traffic_sampled_raises_nothing() {
    let recs = benign(T0, 600, 14);
    for rate in [10u32, 100, 1_000] {
        let sampled: Vec<_> = recs
            .iter()
            .step_by(rate as usize)
            .map(|r| {
                let mut r = *r;
                r.sampling = rate;
                r
            })
            .collect();
        let (ev, _) = run(Config::default(), &sampled);
        assert!(
            ev.is_empty(),
            "1:{rate}: {:?}",
            ev.first().map(|e| &e.incident.summary)
        );
    }
}

#[test]
fn ipv6_scanner_gets_ipv6_filters() {
    let src: iotrust_flow::Addr = "2001:db8:1::10".parse::<std::net::IpAddr>().unwrap().into();
    let mut rng = iotrust_flow::testing::Rng(15);
    let recs: Vec<_> = (0..400i64)
        .map(|i| {
            let mut o = [0u8; 16];
            o[0] = 0x20;
            o[1] = 0x01;
            for b in &mut o[8..] {
                *b = rng.next_u64() as u8;
            }
            tcp(
                T0 + i * 10_000,
                src,
                iotrust_flow::Addr::v6(o),
                50_000,
                22,
                iotrust_flow::TcpFlags::SYN,
                60,
            )
        })
        .collect();
    let (ev, w) = run(Config::default(), &recs);
    assert_eq!(
        opened(&ev),
        vec![(
            "2001:db8:1::10".into(),
            "horizontal-scan".into(),
            String::new()
        )]
    );
    let f = propose(w.incidents().next().unwrap()).unwrap();
    assert!(f.nftables_rules[0].starts_with("ip6 saddr 2001:db8:1::10 tcp flags"));
    assert!(f.nftables_rules[1].contains("icmpv6 type echo-request"));
    assert_eq!(f.flowspec[0].source, "2001:db8:1::10/128");
    assert_eq!(
        f.flowspec[0].action,
        FlowSpecAction::RateLimit {
            bytes_per_second: 1_000
        }
    );
}

/// What `watch sink` does with an event from the bus: read back from its JSON line and
/// the scanned-port masks, it proposes the same filters and renders the same notice as the
/// event the detector emitted; a line that is no event is an error.
#[test]
fn an_event_read_back_from_its_json_gives_the_same_filters_and_notice() {
    let recs = mirai_scanner(scanner(), T0, 10, 160, 1, true, 1);
    let (ev, _) = run(Config::default(), &recs);
    let t = iotrust_watch::NoticeTemplate::parse(
        "{device} {detector} {ports} {peers} {severity} {first_seen}",
        "t",
    )
    .unwrap();
    assert!(!ev.is_empty());
    for e in &ev {
        let json = serde_json::to_vec(e).unwrap();
        let back = iotrust_watch::Event::from_json(&json, &e.scan_ports()).unwrap();
        assert_eq!(back.event, e.event);
        assert_eq!(back.incident.mirai_ports(), vec![23, 2323]);
        assert_eq!(
            format!("{:?}", propose(&back.incident)),
            format!("{:?}", propose(&e.incident))
        );
        assert_eq!(t.render(&back.incident), t.render(&e.incident));
        assert!(t.render(&back.incident).contains("mirai-scan 23, 2323"));
        assert_eq!(back.incident.last_us(), e.incident.last_us());
        // without the masks the ports fall back to what the line shows
        let bare = iotrust_watch::Event::from_json(&json, &[]).unwrap();
        assert!(bare.incident.mirai_ports().is_empty());
    }
    assert!(iotrust_watch::Event::from_json(b"{\"event\":\"opened\"}", &[]).is_err());
}
