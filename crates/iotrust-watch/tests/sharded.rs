//! The sharded engine gives exactly the events of one `Watch`: same lines, same order, same
//! ids, on generated traffic (every detector, C2 in both directions) and on the real captures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{benign, mirai_scanner, shared_pcap, tcp, udp, udp_flood, v4, T0};
use iotrust_flow::{CaptureReader, FlowRecord, TcpFlags};
use iotrust_watch::{shard_of, Config, Indicators, Sharded, Subscribers, Watch};

const INDICATORS: &str = "203.0.113.8:48101 mirai-report\n203.0.113.9 cnc\n";
const SUBSCRIBERS: &str = "192.0.2.0/24,cust-42\n10.10.10.0/24,cust-10\n";

fn indicators() -> Indicators {
    Indicators::parse(INDICATORS, "c2.txt").unwrap()
}

fn subscribers() -> Subscribers {
    Subscribers::parse(SUBSCRIBERS, "subs.csv").unwrap()
}

/// Benign traffic, a Mirai scanner, an outbound UDP flood, an inbound SYN flood on a
/// subscriber from 2,000 sources, C2 contact outbound and C2 traffic arriving from a listed
/// address.
fn mixed() -> Vec<FlowRecord> {
    let mut recs = benign(T0, 120, 6);
    recs.extend(mirai_scanner(
        v4([192, 0, 2, 10]),
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
    for k in 0..20_000i64 {
        let src = v4([100, 64, (k / 250) as u8, (k % 250) as u8]);
        recs.push(tcp(
            T0 + 50_000_000 + k * 500,
            src,
            v4([192, 0, 2, 77]),
            1024 + k as u16,
            443,
            TcpFlags::SYN,
            40,
        ));
    }
    for k in 0..3i64 {
        recs.push(tcp(
            T0 + 40_000_000 + k * 60_000_000,
            v4([192, 0, 2, 12]),
            v4([203, 0, 113, 8]),
            40_000 + k as u16,
            48101,
            TcpFlags::SYN,
            60,
        ));
        recs.push(tcp(
            T0 + 41_000_000 + k * 30_000_000,
            v4([203, 0, 113, 9]),
            v4([192, 0, 2, 13]),
            6667,
            50_000,
            TcpFlags::ACK,
            80,
        ));
    }
    recs.sort_by_key(|r| r.last_us);
    recs
}

fn single(cfg: &Config, recs: &[FlowRecord]) -> (Vec<String>, Vec<String>) {
    let mut w = Watch::new(cfg.clone())
        .with_indicators(indicators())
        .with_subscribers(subscribers());
    let mut lines = Vec::new();
    for r in recs {
        w.observe(r);
        lines.extend(w.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
    }
    let mut kept: Vec<_> = w.incidents().cloned().collect();
    kept.sort_by_key(|i| i.id);
    let kept = kept
        .iter()
        .map(|i| serde_json::to_string(i).unwrap())
        .collect();
    (lines, kept)
}

fn sharded(cfg: &Config, recs: &[FlowRecord], n: usize) -> (Vec<String>, Vec<String>, u64) {
    let mut s = Sharded::new(cfg.clone(), n, indicators(), subscribers());
    assert_eq!(s.shards(), n);
    let mut lines = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        s.observe(r).unwrap();
        // a sync now and then, as the collector does on a quiet socket, and more often a
        // flush, as it does every 100 ms while busy (events of finished batches only)
        if i % 10_007 == 0 {
            s.sync().unwrap();
        } else if i % 997 == 0 {
            s.flush().unwrap();
        }
        lines.extend(s.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
    }
    s.finish().unwrap();
    lines.extend(s.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
    let kept = s
        .incidents()
        .iter()
        .map(|i| serde_json::to_string(i).unwrap())
        .collect();
    (lines, kept, s.stats().records)
}

/// Every needle is in some line (so that comparing the lines means something).
fn assert_mentions(lines: &[String], needles: &[&str]) {
    for needle in needles {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "{needle} missing from {lines:#?}"
        );
    }
}

#[test]
fn sharded_equals_single_on_generated_traffic() {
    let recs = mixed();
    let cfg = Config::default();
    let (lines, kept) = single(&cfg, &recs);
    // every kind of incident is there, so the comparison means something
    assert_mentions(
        &lines,
        &[
            "\"detector\":\"mirai-scan\"",
            "\"detector\":\"outbound-flood\"",
            "\"detector\":\"inbound-attack\"",
            "\"device\":\"192.0.2.12\",\"subscriber\":\"cust-42\",\"detector\":\"c2-contact\"",
            "\"device\":\"192.0.2.13\",\"subscriber\":\"cust-42\",\"detector\":\"c2-contact\"",
        ],
    );
    for n in [2, 3, 4] {
        let (l, k, records) = sharded(&cfg, &recs, n);
        assert_eq!(l, lines, "{n} shards");
        assert_eq!(k, kept, "{n} shards");
        assert_eq!(records, recs.len() as u64);
    }
    let (l, k, _) = sharded(&cfg, &recs, 1);
    assert_eq!(l.len(), lines.len());
    assert!(l == lines, "one shard: events differ");
    assert!(
        k == kept,
        "one shard: kept incidents differ: {} vs {}",
        k.len(),
        kept.len()
    );
}

/// With a short time to live, incidents close while traffic goes on (the scanner stops,
/// the floods end, the C2 contacts are a minute apart): the same `opened`, `escalated` and
/// `closed` events, in the same order with the same ids, with 1 to 4 shards; the incidents
/// kept (over ones too) are the same.
#[test]
fn sharded_equals_single_with_incidents_closing() {
    let mut recs = mixed();
    // then 40 devices contact a C2 within 0.4 s and go quiet: one sweep closes all of them,
    // in every shard
    let end = recs.iter().map(|r| r.last_us).max().unwrap();
    for k in 0..40u8 {
        let t = end + 1_000_000 + i64::from(k) * 10_000;
        let dev = v4([192, 0, 2, 100 + k]);
        recs.push(tcp(
            t,
            dev,
            v4([203, 0, 113, 9]),
            40_000,
            443,
            TcpFlags::SYN,
            60,
        ));
    }
    recs.push(tcp(
        end + 30_000_000,
        v4([192, 0, 2, 99]),
        v4([198, 51, 100, 1]),
        40_000,
        443,
        TcpFlags::SYN,
        60,
    ));
    let cfg = Config {
        incident_ttl_secs: 5,
        ..Config::default()
    };
    let (lines, kept) = single(&cfg, &recs);
    let closed = lines
        .iter()
        .filter(|l| l.contains("\"event\":\"closed\""))
        .count();
    let opened = lines
        .iter()
        .filter(|l| l.contains("\"event\":\"opened\""))
        .count();
    assert!(
        closed >= 45 && opened >= closed,
        "{closed} closed, {opened} opened"
    );
    assert_mentions(
        &lines,
        &[
            "\"event\":\"closed\",\"id\":1,",
            "\"event\":\"closed\",\"id\":2,",
            "\"detector\":\"c2-contact\"",
        ],
    );
    for n in [1, 2, 3, 4] {
        let (l, k, records) = sharded(&cfg, &recs, n);
        assert!(l == lines, "{n} shards: events differ");
        assert!(k == kept, "{n} shards: kept incidents differ");
        assert_eq!(records, recs.len() as u64);
    }
}

#[test]
fn sharded_equals_single_on_the_real_captures() {
    for name in [
        "stopddos-synflood-spoofed.pcap",
        "stopddos-udp-bacnet-iot-reflection.pcap",
    ] {
        let Some(path) = shared_pcap(name) else {
            return;
        };
        let reader = CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
        let recs: Vec<FlowRecord> = reader.map(|r| r.unwrap()).collect();
        let cfg = Config::default();
        let (lines, kept) = single(&cfg, &recs);
        assert!(!lines.is_empty(), "{name}");
        let (l, k, _) = sharded(&cfg, &recs, 2);
        assert_eq!(l, lines, "{name}");
        assert_eq!(k, kept, "{name}");
    }
}

#[test]
fn hosts_spread_over_shards_and_tables_stay_bounded() {
    let recs = mixed();
    let cfg = Config {
        max_hosts: 1000,
        ..Config::default()
    };
    let mut s = Sharded::new(cfg, 2, indicators(), subscribers());
    for r in &recs {
        s.observe(r).unwrap();
    }
    s.finish().unwrap();
    let st = s.stats();
    assert_eq!(st.max_hosts, 1000);
    assert!(st.hosts <= 1000, "{st:?}");
    assert!(st.hosts_evicted > 0, "{st:?}");
    let mut counts = [0usize; 2];
    for i in 0..=255u8 {
        counts[shard_of(v4([192, 0, 2, i]), 2)] += 1;
    }
    assert!(counts[0] > 64 && counts[1] > 64, "{counts:?}");
}

/// [`Sharded::observe_many`] in chunks of changing size (1 to 300 records).
fn sharded_many(cfg: &Config, recs: &[FlowRecord], n: usize) -> (Vec<String>, Vec<String>) {
    let mut s = Sharded::new(cfg.clone(), n, indicators(), subscribers());
    let mut lines = Vec::new();
    let mut rest = recs;
    let mut size = 1usize;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        s.observe_many(chunk).unwrap();
        lines.extend(s.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
        rest = tail;
        size = size * 7 % 301 + 1;
    }
    s.finish().unwrap();
    lines.extend(s.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
    let kept = s
        .incidents()
        .iter()
        .map(|i| serde_json::to_string(i).unwrap())
        .collect();
    (lines, kept)
}

#[test]
fn observe_many_equals_observe() {
    let recs = mixed();
    let cfg = Config::default();
    let (lines, kept) = single(&cfg, &recs);
    for n in [1, 2, 3] {
        let (l, k) = sharded_many(&cfg, &recs, n);
        assert!(l == lines, "{n} shards: events differ");
        assert!(k == kept, "{n} shards: kept incidents differ");
    }
}

/// The look-ahead of `observe_batch` with the host table full (hints go stale as hosts
/// are evicted): exactly `observe`, record by record, events and counters.
#[test]
fn observe_batch_equals_observe_with_evictions() {
    let Some(path) = shared_pcap("stopddos-synflood-spoofed.pcap") else {
        return;
    };
    let reader = CaptureReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut recs: Vec<FlowRecord> = reader.map(|r| r.unwrap()).collect();
    recs.extend(mixed());
    for max_hosts in [1, 2, 7, 1_000, 1_000_000] {
        let cfg = Config {
            max_hosts,
            ..Config::default()
        };
        let mut a = Watch::new(cfg.clone()).with_indicators(indicators());
        let mut b = Watch::new(cfg).with_indicators(indicators());
        let mut la = Vec::new();
        for r in &recs {
            a.observe(r);
            la.extend(a.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
        }
        let mut lb = Vec::new();
        for chunk in recs.chunks(100) {
            b.observe_batch(chunk);
            lb.extend(b.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
        }
        assert!(la == lb, "max_hosts {max_hosts}: events differ");
        // state_bytes is the index's capacity: it depends on the per-table hash keys
        let (mut sa, mut sb) = (a.stats(), b.stats());
        (sa.state_bytes, sb.state_bytes) = (0, 0);
        assert_eq!(sa, sb, "max_hosts {max_hosts}");
    }
}

/// With subscriber prefixes set, the sharded engine sends a record only to the shards of
/// its local sides: still the events of one `Watch` (outbound, inbound, C2 both ways).
#[test]
fn sharded_equals_single_with_local_networks() {
    let recs = mixed();
    let cfg = Config {
        local_networks: vec!["192.0.2.0/24".parse().unwrap()],
        ..Config::default()
    };
    let (lines, kept) = single(&cfg, &recs);
    assert_mentions(
        &lines,
        &[
            "\"detector\":\"mirai-scan\"",
            "\"detector\":\"outbound-flood\"",
            "\"device\":\"192.0.2.77\",\"subscriber\":\"cust-42\",\"detector\":\"inbound-attack\"",
            "\"device\":\"192.0.2.12\",\"subscriber\":\"cust-42\",\"detector\":\"c2-contact\"",
            "\"device\":\"192.0.2.13\",\"subscriber\":\"cust-42\",\"detector\":\"c2-contact\"",
        ],
    );
    for n in [1, 2, 3, 4] {
        let (l, k, records) = sharded(&cfg, &recs, n);
        assert!(l == lines, "{n} shards: events differ");
        assert!(k == kept, "{n} shards: kept incidents differ");
        assert_eq!(records, recs.len() as u64);
        let (l, k) = sharded_many(&cfg, &recs, n);
        assert!(l == lines, "{n} shards, observe_many: events differ");
        assert!(k == kept, "{n} shards, observe_many: kept incidents differ");
    }
    let mut w = Watch::new(cfg)
        .with_indicators(indicators())
        .with_subscribers(subscribers());
    let mut l = Vec::new();
    for chunk in recs.chunks(100) {
        w.observe_batch(chunk);
        l.extend(w.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
    }
    assert!(l == lines, "observe_batch: events differ");
}

/// `flush` hands queued records to the workers and brings out the events of finished
/// batches without waiting for the rest: a scanner's incident comes out of flushes alone.
#[test]
fn flush_brings_out_finished_batches_without_a_sync() {
    let recs = mirai_scanner(v4([192, 0, 2, 10]), T0, 5, 160, 1, true, 7);
    let mut s = Sharded::new(Config::default(), 2, indicators(), subscribers());
    for r in &recs {
        s.observe(r).unwrap();
    }
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while lines.is_empty() && std::time::Instant::now() < deadline {
        s.flush().unwrap();
        lines.extend(s.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_mentions(&lines, &["\"mirai-scan\"", "192.0.2.10"]);
    // and the rest, in order, after a sync: the same lines as one engine's
    s.sync().unwrap();
    lines.extend(s.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
    let (want, _) = single(&Config::default(), &recs);
    assert_eq!(lines, want);
}

/// Domain indicators: queries and answers for listed domains (one exact, one wildcard), and
/// contact with an answered address by a device that never asked, before and after the
/// learned address expires — the same events with 1, 2 and 3 shards, among mixed traffic.
/// One lookup comes from a log (Zeek's dns.log: `observe_dns`, no traffic record).
#[test]
fn sharded_equals_single_with_dns() {
    use iotrust_flow::dns::{parse, DnsMessage};
    use iotrust_flow::testing::dns as wire;
    let ind = format!("{INDICATORS}cnc.example.com mirai-cnc\n*.bad.example dga\n");
    let indicators = || Indicators::parse(&ind, "c2.txt").unwrap();
    let resolver = v4([192, 0, 2, 1]);
    let c2v4: &[u8] = &[198, 18, 7, 50];
    let c2v6: &[u8] = &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50];
    let mut items: Vec<(FlowRecord, Option<DnsMessage>)> =
        benign(T0, 120, 9).into_iter().map(|r| (r, None)).collect();
    let dns = |t: i64, client: [u8; 4], query: bool, bytes: Vec<u8>| {
        let (src, dst, sport, dport) = if query {
            (v4(client), resolver, 40_000, 53)
        } else {
            (resolver, v4(client), 53, 40_000)
        };
        (
            udp(t, src, dst, sport, dport, 80),
            Some(parse(&bytes).unwrap()),
        )
    };
    items.push(dns(
        T0 + 5_000_000,
        [192, 0, 2, 20],
        true,
        wire::query(1, "CNC.example.com", 1),
    ));
    items.push(dns(
        T0 + 5_000_500,
        [192, 0, 2, 20],
        false,
        wire::response(1, "cnc.example.com", 1, &[(c2v4, 60), (c2v6, 60)]),
    ));
    items.push(dns(
        T0 + 6_000_000,
        [192, 0, 2, 22],
        true,
        wire::query(2, "x1.bad.example", 1),
    ));
    // not listed: no finding, nothing learned
    items.push(dns(
        T0 + 6_500_000,
        [192, 0, 2, 24],
        false,
        wire::response(3, "fine.example.org", 1, &[(&[198, 51, 100, 7], 60)]),
    ));
    // contact with the answered address by devices that never asked: within the 5-minute
    // floor of the learned TTL, then after it
    for (t, dev) in [(T0 + 30_000_000, 21u8), (T0 + 400_000_000, 23)] {
        let r = tcp(
            t,
            v4([192, 0, 2, dev]),
            v4([198, 18, 7, 50]),
            50_000,
            443,
            TcpFlags::SYN,
            60,
        );
        items.push((r, None));
    }
    let r = tcp(
        T0 + 31_000_000,
        v4([192, 0, 2, 25]),
        v4([198, 51, 100, 7]),
        50_001,
        443,
        TcpFlags::SYN,
        60,
    );
    items.push((r, None));
    items.sort_by_key(|(r, _)| r.last_us);

    // the lookup of *.bad.example is known from a log
    let from_log = |r: &FlowRecord| r.src == v4([192, 0, 2, 22]);
    let (want, records) = same_with_dns(&items, from_log, |k| {
        if k == 0 {
            vec![indicators()]
        } else {
            Vec::new()
        }
    });
    assert_mentions(
        &want,
        &[
            "192.0.2.20 looks up listed C2 domain cnc.example.com",
            "192.0.2.22 looks up listed C2 domain *.bad.example",
            "192.0.2.21 contacts C2 198.18.7.50:443, an address of listed domain cnc.example.com",
            "\"domains\":[\"cnc.example.com\"]",
        ],
    );
    for quiet in ["192.0.2.23", "192.0.2.24", "192.0.2.25"] {
        assert!(
            !want.iter().any(|l| l.contains(&format!("\"device\":\"{quiet}\"")) && l.contains("c2-contact")),
            "{quiet} has no C2 incident: {want:#?}"
        );
    }
    // the logged lookup is no record
    assert_eq!(records, items.len() as u64 - 1);
}

/// Runs `items` through one `Watch` and through `Sharded` engines of 1 to 3 shards (a flush
/// now and then), loading the lists `lists(k)` in turn before item k (item 0's first list
/// is the one the engines start with); an item's DNS message comes from a log when
/// `logged(record)` (`observe_dns`), else from its packet (`observe_with_dns`). Asserts the
/// same event lines and record counts; returns the lines and the records counted.
fn same_with_dns(
    items: &[(FlowRecord, Option<iotrust_flow::dns::DnsMessage>)],
    logged: impl Fn(&FlowRecord) -> bool,
    lists: impl Fn(usize) -> Vec<Indicators>,
) -> (Vec<String>, u64) {
    let cfg = Config::default();
    let start = || lists(0).into_iter().next().unwrap_or_default();
    let mut w = Watch::new(cfg.clone())
        .with_indicators(start())
        .with_subscribers(subscribers());
    let mut want = Vec::new();
    for (k, (r, m)) in items.iter().enumerate() {
        for ind in lists(k).into_iter().skip(usize::from(k == 0)) {
            w.set_indicators(ind);
        }
        match m {
            Some(m) if logged(r) => w.observe_dns(r, m),
            Some(m) => w.observe_with_dns(r, m),
            None => w.observe(r),
        }
        want.extend(w.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
    }
    for n in [1, 2, 3] {
        let mut s = Sharded::new(cfg.clone(), n, start(), subscribers());
        let mut got = Vec::new();
        for (k, (r, m)) in items.iter().enumerate() {
            for ind in lists(k).into_iter().skip(usize::from(k == 0)) {
                s.set_indicators(ind).unwrap();
            }
            match m {
                Some(m) if logged(r) => s.observe_dns(r, m).unwrap(),
                Some(m) => s.observe_with_dns(r, m).unwrap(),
                None => s.observe(r).unwrap(),
            }
            if k % 53 == 0 {
                s.flush().unwrap();
            }
            got.extend(s.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
        }
        s.finish().unwrap();
        got.extend(s.drain_events().map(|e| serde_json::to_string(&e).unwrap()));
        assert_eq!(got, want, "{n} shards");
        assert_eq!(s.stats().records, w.stats().records, "{n} shards");
    }
    (want, w.stats().records)
}

/// Indicator lists reloaded mid-stream (`set_indicators`): an address dropped from the list
/// is no longer C2, a new one is; an address learned for a domain still listed stays, one
/// learned for a domain dropped goes (also when the next list, loaded before any record,
/// lists the domain again) — the same events with 1, 2 and 3 shards.
#[test]
fn sharded_equals_single_with_indicator_reloads() {
    use iotrust_flow::dns::{parse, DnsMessage};
    use iotrust_flow::testing::dns as wire;
    let lists = [
        "203.0.113.9 cnc\ncnc.example.com mirai-cnc\n",
        "198.51.100.44 new-cnc\ncnc.example.com mirai-cnc-2\n",
        "198.51.100.44 new-cnc\n",
        "198.51.100.44 new-cnc\ncnc.example.com back-again\n",
    ];
    let list = |i: usize| Indicators::parse(lists[i], "c2.txt").unwrap();
    let mut items: Vec<(FlowRecord, Option<DnsMessage>)> =
        benign(T0, 60, 5).into_iter().map(|r| (r, None)).collect();
    let answer = wire::response(1, "cnc.example.com", 1, &[(&[198, 18, 7, 50], 600)]);
    items.push((
        udp(
            T0 + 1_000_000,
            v4([192, 0, 2, 1]),
            v4([192, 0, 2, 29]),
            53,
            40_000,
            90,
        ),
        Some(parse(&answer).unwrap()),
    ));
    for (secs, dev, peer) in [
        (10, 30, [203, 0, 113, 9]),
        (25, 31, [203, 0, 113, 9]),
        (26, 32, [198, 51, 100, 44]),
        (27, 33, [198, 18, 7, 50]),
        (45, 34, [198, 18, 7, 50]),
    ] {
        let r = tcp(
            T0 + secs * 1_000_000,
            v4([192, 0, 2, dev]),
            v4(peer),
            50_000,
            443,
            TcpFlags::SYN,
            60,
        );
        items.push((r, None));
    }
    items.sort_by_key(|(r, _)| r.last_us);
    // the lists loaded from these record times on (two at once at 40 s): before each item,
    // the reloads that fell due
    let schedule: [(i64, &[usize]); 2] = [(T0 + 20_000_000, &[1]), (T0 + 40_000_000, &[2, 3])];
    let mut pos = 0;
    let due: Vec<Vec<usize>> = items
        .iter()
        .map(|(r, _)| {
            let mut now = Vec::new();
            while let Some((_, lists)) = schedule.get(pos).filter(|(t, _)| r.last_us >= *t) {
                now.extend_from_slice(lists);
                pos += 1;
            }
            now
        })
        .collect();
    // the engines start with list 0
    let (want, _) = same_with_dns(
        &items,
        |_| false,
        |k| {
            let first = (k == 0).then(|| list(0));
            first
                .into_iter()
                .chain(due[k].iter().map(|&i| list(i)))
                .collect()
        },
    );
    assert_mentions(
        &want,
        &[
            "192.0.2.30 contacts listed C2 203.0.113.9:443 (cnc)",
            "192.0.2.32 contacts listed C2 198.51.100.44:443 (new-cnc)",
            "192.0.2.33 contacts C2 198.18.7.50:443, an address of listed domain cnc.example.com (mirai-cnc-2)",
        ],
    );
    for quiet in ["192.0.2.31", "192.0.2.34"] {
        assert!(
            !want.iter().any(|l| l.contains(&format!("\"device\":\"{quiet}\""))
                && l.contains("c2-contact")),
            "{quiet} has no C2 incident: {want:#?}"
        );
    }
}
