//! The brute-force, beaconing and baseline detectors on generated traffic — as packets,
//! through a pcap file, and as NetFlow v9 / IPFIX flows — and their silence on benign
//! traffic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{benign, mirai_scanner, opened, run, tcp, udp, v4, via_export, via_pcap, T0};
use iotrust_flow::testing::Rng;
use iotrust_flow::{FlowRecord, TcpFlags};
use iotrust_watch::{propose, Config, Detector, Role};

const S: i64 = 1_000_000;

/// An outside host guessing telnet passwords on 192.0.2.50: a connection a second (SYN,
/// the device's SYN-ACK, the client's ACK and login bytes, FIN), for 5 minutes.
fn brute_force(start: i64) -> Vec<FlowRecord> {
    let attacker = v4([203, 0, 113, 66]);
    let device = v4([192, 0, 2, 50]);
    let mut out = Vec::new();
    for i in 0..300i64 {
        let t = start + i * S;
        let sport = 40_000 + i as u16;
        out.push(tcp(t, attacker, device, sport, 23, TcpFlags::SYN, 60));
        out.push(tcp(
            t + 300,
            device,
            attacker,
            23,
            sport,
            TcpFlags::SYN | TcpFlags::ACK,
            60,
        ));
        for k in 0..6 {
            out.push(tcp(
                t + 1_000 + k * 50_000,
                attacker,
                device,
                sport,
                23,
                TcpFlags::ACK | TcpFlags::PSH,
                70,
            ));
        }
        out.push(tcp(
            t + 400_000,
            attacker,
            device,
            sport,
            23,
            TcpFlags::FIN | TcpFlags::ACK,
            52,
        ));
    }
    out
}

/// 192.0.2.60 calls home to 198.51.100.77:8443 every 60 s (± 0.8 s), a short HTTPS-like
/// exchange each time, for 20 minutes.
/// 192.0.2.60 polls 198.51.100.77:7001 every 60 s ± 0.8 s for 20 minutes, and nobody
/// answers: each attempt is a SYN retransmitted after 1 s and 3 s (same source port) — a
/// bot whose C2 is down, or sinkholed.
fn beacon(start: i64) -> Vec<FlowRecord> {
    let dev = v4([192, 0, 2, 60]);
    let c2 = v4([198, 51, 100, 77]);
    let mut rng = Rng(9);
    let mut out = Vec::new();
    for i in 0..20i64 {
        let t = start + i * 60 * S + rng.below(1_600_000) as i64 - 800_000;
        let sport = 50_000 + i as u16;
        for d in [0, S, 3 * S] {
            out.push(tcp(t + d, dev, c2, sport, 7001, TcpFlags::SYN, 60));
        }
    }
    out
}

/// The same cadence as a vendor-cloud check-in: answered connections to MQTT over TLS
/// (8883; the synthetic packets' zero-filled payload is no TLS record, and on 443 or 8443
/// would rightly count as `not-tls`).
fn checkin(start: i64) -> Vec<FlowRecord> {
    let dev = v4([192, 0, 2, 60]);
    let c2 = v4([198, 51, 100, 77]);
    let mut rng = Rng(9);
    let mut out = Vec::new();
    for i in 0..20i64 {
        let t = start + i * 60 * S + rng.below(1_600_000) as i64 - 800_000;
        let sport = 50_000 + i as u16;
        out.push(tcp(t, dev, c2, sport, 8883, TcpFlags::SYN, 60));
        out.push(tcp(
            t + 20_000,
            c2,
            dev,
            8883,
            sport,
            TcpFlags::SYN | TcpFlags::ACK,
            60,
        ));
        out.push(tcp(
            t + 21_000,
            dev,
            c2,
            sport,
            8883,
            TcpFlags::ACK | TcpFlags::PSH,
            300,
        ));
        out.push(tcp(
            t + 60_000,
            c2,
            dev,
            8883,
            sport,
            TcpFlags::ACK | TcpFlags::PSH,
            900,
        ));
        out.push(tcp(
            t + 61_000,
            dev,
            c2,
            sport,
            8883,
            TcpFlags::FIN | TcpFlags::ACK,
            52,
        ));
    }
    out
}

/// 192.0.2.70, a sensor, sends 20 UDP packets/s to its collector for `quiet` seconds, then
/// 1,500 UDP packets/s to random destinations and ports (a spray no single-victim flood
/// rule sees) for a minute and a half.
fn surge(start: i64, quiet: i64) -> Vec<FlowRecord> {
    let dev = v4([192, 0, 2, 70]);
    let collector = v4([198, 51, 100, 5]);
    let mut rng = Rng(4);
    let mut out = Vec::new();
    for s in 0..quiet {
        for k in 0..20 {
            out.push(udp(
                start + s * S + k * 50_000,
                dev,
                collector,
                40_001,
                9000,
                120,
            ));
        }
    }
    for s in quiet..quiet + 90 {
        for k in 0..1500i64 {
            let d = (rng.next_u64() as u32).to_be_bytes();
            out.push(udp(
                start + s * S + k * 666,
                dev,
                v4([d[0] % 200 + 11, d[1], d[2], d[3]]),
                rng.next_u64() as u16 | 1024,
                rng.next_u64() as u16,
                80,
            ));
        }
    }
    out
}

fn with_benign(mut recs: Vec<FlowRecord>, secs: i64) -> Vec<FlowRecord> {
    recs.extend(benign(T0, secs, 21));
    recs.sort_by_key(|r| r.last_us);
    recs
}

fn only(ev: &[iotrust_watch::Event], d: Detector) -> Vec<(String, String, String)> {
    opened(ev).into_iter().filter(|o| o.1 == d.name()).collect()
}

#[test]
fn brute_force_on_a_subscriber_from_packets_pcap_and_flows() {
    let mut recs = brute_force(T0 + 5 * S);
    // background: a Mirai scanner outside probing the subscriber range on telnet
    recs.extend(mirai_scanner(v4([198, 18, 0, 9]), T0, 300, 2, 1, true, 5));
    let recs = with_benign(recs, 300);
    let views = [
        ("packets", recs.clone()),
        ("pcap", via_pcap(&recs)),
        ("netflow-v9", via_export(&recs, false)),
        ("ipfix", via_export(&recs, true)),
    ];
    for (name, view) in views {
        let (ev, _) = run(Config::default(), &view);
        let bf = only(&ev, Detector::BruteForce);
        assert_eq!(
            bf,
            vec![(
                "192.0.2.50".to_string(),
                "brute-force".to_string(),
                String::new()
            )],
            "{name}"
        );
        let inc = ev
            .iter()
            .find(|e| e.incident.detector == Detector::BruteForce)
            .unwrap();
        assert_eq!(inc.incident.role, Role::Victim);
        assert_eq!(
            inc.incident.targets[0].peer,
            Some(v4([203, 0, 113, 66])),
            "{name}"
        );
        assert_eq!(inc.incident.targets[0].dst_port, Some(23));
        assert!(propose(&inc.incident).is_none(), "no filter for a victim");
        // found on the 20th attempt, 19 s in
        let opened_after = inc.incident.last_us() - (T0 + 5 * S);
        assert!(opened_after <= 20 * S, "{name}: {opened_after}");
    }
    // sampled 1:10 (every 10th record of the packet stream)
    let sampled: Vec<FlowRecord> = recs
        .iter()
        .step_by(10)
        .map(|r| {
            let mut r = *r;
            r.sampling = 10;
            r
        })
        .collect();
    let (ev, _) = run(Config::default(), &sampled);
    assert_eq!(only(&ev, Detector::BruteForce).len(), 1, "1:10");
}

#[test]
fn beaconing_from_packets_pcap_and_flows() {
    let recs = with_benign(beacon(T0 + 3 * S), 1_260);
    for (name, view) in [
        ("packets", recs.clone()),
        ("pcap", via_pcap(&recs)),
        ("netflow-v9", via_export(&recs, false)),
        ("ipfix", via_export(&recs, true)),
    ] {
        let (ev, _) = run(Config::default(), &view);
        let all = opened(&ev);
        assert_eq!(
            all,
            vec![(
                "192.0.2.60".to_string(),
                "beaconing".to_string(),
                String::new()
            )],
            "{name}: only the beacon"
        );
        let inc = &ev[0].incident;
        let period = inc.counters["period_ms"];
        assert!((59_000..=61_000).contains(&period), "{name}: {period}");
        let evidence = iotrust_watch::detectors::beacon::evidence::names(inc.counters["evidence"]);
        assert_eq!(evidence, ["periodic", "failing", "rare-port"], "{name}");
        assert!(
            inc.summary
                .contains("evidence: periodic, failing, rare-port"),
            "{}",
            inc.summary
        );
        assert_eq!(inc.targets[0].peer, Some(v4([198, 51, 100, 77])));
        let f = propose(inc).unwrap();
        assert!(
            f.nftables_rules[0].starts_with(
                "ip saddr 192.0.2.60 ip daddr 198.51.100.77 meta l4proto tcp th dport 7001"
            ),
            "{:?}",
            f.nftables_rules
        );
    }
}

/// Periodic alone is not infected: the same cadence, answered, on the port of a cloud
/// service, is a check-in — in every form.
#[test]
fn an_answered_check_in_is_no_beacon() {
    let recs = with_benign(checkin(T0 + 3 * S), 1_260);
    for (name, view) in [
        ("packets", recs.clone()),
        ("pcap", via_pcap(&recs)),
        ("netflow-v9", via_export(&recs, false)),
        ("ipfix", via_export(&recs, true)),
    ] {
        let (ev, _) = run(Config::default(), &view);
        assert_eq!(opened(&ev), vec![], "{name}");
    }
}

/// The same beacon to a destination the list allows (`allow` lines: its prefix, its port
/// on any address, or the domain whose answer gave its address) is expected contact: no
/// incident; a list allowing something else changes nothing.
#[test]
fn allowed_destinations_are_no_beaconing() {
    use iotrust_flow::dns::{Answer, DnsMessage, Question};
    use iotrust_watch::{Indicators, Watch};
    let recs = with_benign(beacon(T0 + 3 * S), 1_260);
    // the device looks up the vendor's name first; the answer gives the beacon's address
    let lookup = udp(
        T0 + S,
        v4([192, 0, 2, 1]),
        v4([192, 0, 2, 60]),
        53,
        40_000,
        90,
    );
    let answer = DnsMessage {
        id: 7,
        response: true,
        rcode: 0,
        question: Some(Question {
            name: "eu.cloud.vendor.example".into(),
            qtype: 1,
        }),
        answers: vec![Answer {
            name: "eu.cloud.vendor.example".into(),
            addr: v4([198, 51, 100, 77]),
            // the answer holds for the whole 20-minute beacon
            ttl: 3600,
        }],
    };
    let beacons = |list: &str| {
        let mut w = Watch::new(Config::default())
            .with_indicators(Indicators::parse(list, "list.txt").unwrap());
        w.observe_with_dns(&lookup, &answer);
        let mut ev: Vec<_> = w.drain_events().collect();
        for r in &recs {
            w.observe(r);
            ev.extend(w.drain_events());
        }
        // beaconing incidents (opened once, maybe escalated)
        let mut ids: Vec<u64> = ev
            .iter()
            .filter(|e| e.incident.detector == Detector::Beaconing)
            .map(|e| e.incident.id)
            .collect();
        ids.dedup();
        ids.len()
    };
    assert_eq!(beacons(""), 1);
    assert_eq!(beacons("allow 198.51.100.0/24 vendor-cloud\n"), 0);
    assert_eq!(beacons("allow 198.51.100.77:7001\n"), 0);
    assert_eq!(beacons("allow *:7001 vendor-mqtt\n"), 0);
    assert_eq!(beacons("allow *.cloud.vendor.example vendor\n"), 0);
    // not this destination: still a beacon
    assert_eq!(beacons("allow 198.51.100.77:443\nallow other.example\n"), 1);
}

#[test]
fn a_host_at_fifty_times_its_usual_rate() {
    let recs = with_benign(surge(T0, 900), 990);
    for (name, view) in [
        ("packets", recs.clone()),
        ("netflow-v9", via_export(&recs, false)),
    ] {
        let (ev, _) = run(Config::default(), &view);
        let ra = only(&ev, Detector::RateAnomaly);
        assert_eq!(
            ra,
            vec![(
                "192.0.2.70".to_string(),
                "rate-anomaly".to_string(),
                String::new()
            )],
            "{name}: {:?}",
            opened(&ev)
        );
        let inc = ev
            .iter()
            .find(|e| e.incident.detector == Detector::RateAnomaly)
            .unwrap();
        let usual = inc.incident.counters["usual_pps"];
        assert!((18..=24).contains(&usual), "{name}: {usual}");
        assert!(inc.incident.first_us() >= T0 + 900 * S, "{name}");
    }
    // 1:100 sampled: the same finding from scaled counts
    let sampled: Vec<FlowRecord> = recs
        .iter()
        .step_by(100)
        .map(|r| {
            let mut r = *r;
            r.sampling = 100;
            r
        })
        .collect();
    let (ev, _) = run(Config::default(), &sampled);
    assert_eq!(only(&ev, Detector::RateAnomaly).len(), 1, "1:100");
}

#[test]
fn an_hour_of_benign_traffic_raises_nothing() {
    // browsing, NTP, a NAS backup at 2,000 packets/s, a video call; plus a steady host that
    // varies its rate tenfold and a device polling a service at random intervals
    let mut recs = benign(T0, 3_600, 33);
    let mut rng = Rng(8);
    let dev = v4([192, 0, 2, 80]);
    for s in 0..3_600i64 {
        let pps = if (s / 300) % 2 == 0 { 20 } else { 200 };
        for k in 0..pps {
            recs.push(udp(
                T0 + s * S + k * (S / pps),
                dev,
                v4([198, 51, 100, 9]),
                5000,
                5000,
                200,
            ));
        }
    }
    let mut t = T0;
    while t < T0 + 3_600 * S {
        t += (20 + rng.below(100) as i64) * S;
        recs.push(tcp(
            t,
            v4([192, 0, 2, 81]),
            v4([198, 51, 100, 10]),
            50_000,
            443,
            TcpFlags::SYN,
            60,
        ));
    }
    // an admin logging in by SSH a few times
    for i in 0..5i64 {
        recs.push(tcp(
            T0 + i * 600 * S,
            v4([203, 0, 113, 1]),
            v4([192, 0, 2, 90]),
            60_000,
            22,
            TcpFlags::SYN,
            60,
        ));
    }
    recs.sort_by_key(|r| r.last_us);
    for (name, view) in [
        ("packets", recs.clone()),
        ("netflow-v9", via_export(&recs, false)),
    ] {
        let (ev, _) = run(Config::default(), &view);
        assert!(
            ev.is_empty(),
            "{name}: {:?}",
            ev.first().map(|e| &e.incident.summary)
        );
    }
}
