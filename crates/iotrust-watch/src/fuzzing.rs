//! Entry point of the `watch_records` fuzz target (`fuzz/`): arbitrary bytes become flow
//! records (40 bytes each: addresses from small pools so hosts repeat, ports, protocol,
//! flags, packets, sampling, times that mostly move forward but may jump anywhere), run
//! through every detector with low thresholds — once by one [`Watch`] and once by a
//! [`Sharded`] engine of 2 shards, whose events must be identical (no bound is reached:
//! the input is at most a few thousand records). Properties: no panic, bounded state, the
//! sharded merge equals the single engine, every event serializes, every proposal renders.
//! Some records come with a DNS message about a listed domain or not (queries and answers
//! whose addresses other records then contact), through `observe_with_dns`, or as from a
//! log (`observe_dns`: the record is no traffic). Some chunks reload the indicator list
//! first (`set_indicators`), to one of two lists that keep or drop a listed domain.

use iotrust_flow::dns::{Answer, DnsMessage, Question};
use iotrust_flow::{Addr, FlowRecord, SourceKind, TcpFlags};

use crate::{
    nftables_ruleset, propose, Config, Indicators, JsonLines, Sharded, Subscribers, Watch,
};

fn le(b: &[u8], i: usize) -> u64 {
    b.get(i).copied().map_or(0, u64::from)
}

fn record(b: &[u8], t: &mut i64) -> FlowRecord {
    let kinds = [
        SourceKind::Pcap,
        SourceKind::NetflowV9,
        SourceKind::Ipfix,
        SourceKind::Sflow,
        SourceKind::Zeek,
    ];
    let mut r = FlowRecord::new(kinds[(le(b, 0) % 5) as usize]);
    let addr = |x: u64| {
        if x & 0x80 != 0 {
            Addr::v6([
                0x20,
                1,
                0x0d,
                0xb8,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                (x & 7) as u8,
            ])
        } else {
            Addr::v4([192, 0, 2, (x & 15) as u8])
        }
    };
    r.src = addr(le(b, 1));
    r.dst = if le(b, 2) & 0x40 != 0 {
        Addr::v4([198, 51, le(b, 3) as u8, le(b, 4) as u8])
    } else {
        addr(le(b, 2))
    };
    let ports = [23u16, 2323, 22, 53, 80, 443, 123, 48101, 8443, 0, 65535];
    r.src_port = ports[(le(b, 5) % ports.len() as u64) as usize] ^ (le(b, 6) as u16 & 0x3);
    r.dst_port = ports[(le(b, 7) % ports.len() as u64) as usize];
    r.proto = [6u8, 17, 1, 47, 58, 0][(le(b, 8) % 6) as usize];
    r.tcp_flags = TcpFlags(le(b, 9) as u8);
    // payload hints, so IRC, executables and not-TLS reach the detectors (high bits of a
    // byte the record reads otherwise only in its low bits)
    r.app = [
        iotrust_flow::App::Unknown,
        iotrust_flow::App::Unknown,
        iotrust_flow::App::Irc,
        iotrust_flow::App::Executable,
        iotrust_flow::App::NotTls,
    ][((le(b, 0) >> 4) % 5) as usize];
    r.packets = match le(b, 10) {
        0 => 0,
        255 => u64::MAX,
        v => v,
    };
    r.bytes = r.packets.saturating_mul(le(b, 11) + 40);
    r.sampling = match le(b, 12) {
        0 => 0,
        255 => u32::MAX,
        v if v > 200 => 1000,
        v if v > 100 => 10,
        _ => 1,
    };
    let step = (le(b, 13) | le(b, 14) << 8) as i64;
    *t = match le(b, 15) {
        255 => i64::MAX,
        254 => i64::MIN,
        253 => *t - step * 1000,
        _ => t.saturating_add(step * 1000),
    };
    r.last_us = *t;
    r.first_us = t.saturating_sub((le(b, 16) as i64) * 100_000);
    if le(b, 17) & 1 == 1 {
        r.set_tcp_seq((le(b, 18) | le(b, 19) << 8) as u32);
    }
    r
}

/// A DNS message for record `r` when the chunk asks for one: a query or an answer for one
/// of three names (two listed), answering with addresses the records use.
fn dns(b: &[u8], r: &FlowRecord) -> Option<DnsMessage> {
    if le(b, 17) & 2 == 0 {
        return None;
    }
    let names = ["cnc.example.com", "x.dga.example", "fine.example.org"];
    let response = le(b, 18) & 1 == 1;
    let answers = if response {
        [r.src, r.dst, Addr::v4([198, 51, le(b, 19) as u8, 7])]
            .into_iter()
            .take((le(b, 19) % 4) as usize)
            .map(|addr| Answer {
                name: names[0].to_string(),
                addr,
                ttl: (le(b, 16) as u32) << 4,
            })
            .collect()
    } else {
        Vec::new()
    };
    Some(DnsMessage {
        id: 1,
        response,
        rcode: 0,
        question: Some(Question {
            name: names[(le(b, 18) >> 1) as usize % names.len()].to_string(),
            qtype: 1,
        }),
        answers,
    })
}

/// The fuzz target's body.
pub fn records(data: &[u8]) {
    let mut cfg = Config {
        max_hosts: 1 << 16,
        max_incidents: 1 << 16,
        incident_ttl_secs: 1 + le(data, 0) % 100,
        ..Config::default()
    };
    cfg.mirai.min_destinations = 4;
    cfg.mirai.min_observed = 2;
    cfg.scan.min_destinations = 4;
    cfg.scan.min_observed = 2;
    cfg.flood.syn_pps = 1;
    cfg.flood.udp_pps = 1;
    cfg.flood.min_observed = 2;
    cfg.inbound.syn_pps = 1;
    cfg.inbound.min_observed = 2;
    cfg.bruteforce.min_attempts = 2;
    cfg.bruteforce.min_observed = 2;
    cfg.beacon.min_beacons = 2;
    cfg.beacon.min_period_secs = 1;
    cfg.baseline.warmup_bins = 1;
    cfg.baseline.min_pps = 1;
    cfg.baseline.min_observed = 1;
    cfg.baseline.bin_secs = 1;
    let ind = || {
        Indicators::parse(
            "*:48101\n192.0.2.3\n[2001:db8::1]:23\ncnc.example.com\n*.dga.example\n\
             allow 198.51.0.0/16\nallow fine.example.org\nallow *:443\n",
            "c2",
        )
        .ok()
    };
    let subs = || Subscribers::parse("192.0.2.0/29,a\n::/0,b\n", "s").ok();
    let (Some(i1), Some(i2), Some(s1), Some(s2)) = (ind(), ind(), subs(), subs()) else {
        return;
    };
    let mut single = Watch::new(cfg.clone())
        .with_indicators(i1)
        .with_subscribers(s1);
    let mut sharded = Sharded::new(cfg, 2, i2, s2);
    let mut t = 1_763_780_000_000_000i64;
    let mut a = JsonLines::new(Vec::new());
    let mut b = JsonLines::new(Vec::new());
    let reload = |k: u64| {
        let text = if k % 2 == 0 {
            "192.0.2.3\n*.dga.example\n*:23\n"
        } else {
            "*:48101\ncnc.example.com\n203.0.113.0/24\n"
        };
        Indicators::parse(text, "c2").ok()
    };
    for chunk in data.chunks(20).take(4096) {
        if le(chunk, 17) & 8 != 0 {
            let (Some(a), Some(b)) = (reload(le(chunk, 18)), reload(le(chunk, 18))) else {
                return;
            };
            single.set_indicators(a);
            if sharded.set_indicators(b).is_err() {
                return;
            }
        }
        let r = record(chunk, &mut t);
        let msg = dns(chunk, &r);
        let logged = le(chunk, 17) & 4 != 0;
        match &msg {
            Some(m) if logged => single.observe_dns(&r, m),
            Some(m) => single.observe_with_dns(&r, m),
            None => single.observe(&r),
        }
        for e in single.drain_events() {
            let _ = a.write(&e);
            let _ = propose(&e.incident);
        }
        let fed = match &msg {
            Some(m) if logged => sharded.observe_dns(&r, m),
            Some(m) => sharded.observe_with_dns(&r, m),
            None => sharded.observe(&r),
        };
        if fed.is_err() {
            return;
        }
        for e in sharded.drain_events() {
            let _ = b.write(&e);
        }
    }
    if sharded.finish().is_err() {
        panic!("a shard stopped");
    }
    for e in sharded.drain_events() {
        let _ = b.write(&e);
    }
    let (a, b) = (a.into_inner(), b.into_inner());
    assert!(a == b, "sharded events differ from one engine's");
    let filters: Vec<_> = single.incidents().filter_map(propose).collect();
    let _ = nftables_ruleset(&filters);
}

/// Entry point of the `watch_bus_message` fuzz target: arbitrary bytes as a records
/// message from the bus (format 1 or, after the `IOR2` header, LZ4): decoded items or an
/// error, never a panic or an allocation beyond the format's bound.
pub fn bus_message(data: &[u8]) {
    let mut items = Vec::new();
    let _ = crate::bus::decode_items(data, &mut items);
    // the same bytes compressed as an inlet would send them decode the same way
    let mut framed = b"IOR2".to_vec();
    framed.extend_from_slice(&lz4_flex::block::compress_prepend_size(
        data.get(4..).unwrap_or_default(),
    ));
    if data.starts_with(b"IOR1") {
        let mut again = Vec::new();
        let a = crate::bus::decode_items(&framed, &mut again);
        assert_eq!(
            a.is_ok(),
            crate::bus::decode_items(data, &mut Vec::new()).is_ok()
        );
        assert_eq!(again.len(), items.len());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_inputs_keep_the_properties() {
        let mut rng = iotrust_flow::testing::Rng(5);
        for len in [0usize, 1, 19, 20, 400, 4000, 40_000] {
            let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            super::records(&data);
        }
        // a long run of one host probing telnet: findings happen, and still agree
        let mut data = Vec::new();
        for i in 0..2000u32 {
            data.extend_from_slice(&[0, 1, 0x40, i as u8, (i >> 8) as u8, 0, 0, 0, 0, 2]);
            data.extend_from_slice(&[1, 0, 1, 10, 0, 0, 0, 1, 0, 0]);
        }
        super::records(&data);
    }
}
