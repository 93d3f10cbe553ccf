use std::net::IpAddr;

use super::*;
use crate::error::ErrorKind;
use crate::record::{Addr, SourceKind, TcpFlags};
use crate::testing::{self, packets, Field, MessageWriter, Rng, SflowSample, V5Header, V4_FIELDS};

const EXPORTER: &str = "192.0.2.10";

fn exporter() -> IpAddr {
    EXPORTER.parse().unwrap()
}

fn decode(dec: &mut FlowDecoder, bytes: &[u8]) -> (Vec<FlowRecord>, Decoded) {
    decode_from(dec, exporter(), bytes)
}

fn decode_from(
    dec: &mut FlowDecoder,
    exporter: IpAddr,
    bytes: &[u8],
) -> (Vec<FlowRecord>, Decoded) {
    let mut out = Vec::new();
    let d = dec.decode(
        Datagram {
            exporter,
            received_us: 1_700_000_000_000_000,
            bytes,
        },
        &mut out,
    );
    (out, d)
}

/// The fields a round trip must preserve.
fn key(r: &FlowRecord) -> (Addr, Addr, u16, u16, u8, u8, u64, u64, i64, i64) {
    (
        r.src,
        r.dst,
        r.src_port,
        r.dst_port,
        r.proto,
        r.tcp_flags.0,
        r.packets,
        r.bytes,
        r.first_us,
        r.last_us,
    )
}

fn mirai_probe() -> FlowRecord {
    let mut r = FlowRecord::new(SourceKind::Pcap);
    r.src = Addr::v4([192, 168, 1, 50]);
    r.dst = Addr::v4([93, 184, 216, 34]);
    r.src_port = 40_000;
    r.dst_port = 23;
    r.proto = 6;
    r.tcp_flags = TcpFlags(TcpFlags::SYN);
    r.packets = 1;
    r.bytes = 40;
    r.first_us = 1_600_000_000_000_000;
    r.last_us = 1_600_000_000_000_000;
    r
}

// ---------------------------------------------------------------- NetFlow v5

#[test]
fn v5_decodes_header_times_sampling_and_engine() {
    let h = V5Header {
        uptime_ms: 3_600_000,
        secs: 1_600_000_010,
        nsecs: 250_000_000,
        engine_type: 1,
        engine_id: 2,
        sampling: 0x4000 | 100,
    };
    let mut r = mirai_probe();
    r.first_us = 1_600_000_005_125_000;
    r.last_us = 1_600_000_009_000_000;
    let bytes = testing::netflow_v5(h, &[r]);
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    let (out, d) = decode(&mut dec, &bytes);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(out.len(), 1);
    let got = out[0];
    assert_eq!(key(&got), key(&r));
    assert_eq!(got.kind, SourceKind::NetflowV5);
    assert_eq!(got.sampling, 100);
    assert_eq!(got.domain, 0x0102);
    assert_eq!(got.tcp_seq(), None);
    assert_eq!(dec.stats(Protocol::NetflowV5).records, 1);
}

#[test]
fn v5_uptime_wraps() {
    // The exporter's uptime counter wrapped 1 s ago; the flow began 5 s ago.
    let h = V5Header {
        uptime_ms: 1000,
        secs: 1_600_000_000,
        nsecs: 0,
        engine_type: 0,
        engine_id: 0,
        sampling: 0,
    };
    let mut r = mirai_probe();
    r.first_us = 1_599_999_995_000_000;
    r.last_us = 1_600_000_000_000_000;
    let bytes = testing::netflow_v5(h, &[r]);
    let first = be_u32_at(&bytes, 24 + 24);
    assert!(
        first > 4_000_000_000,
        "test set-up: First should have wrapped"
    );
    let (out, _) = decode(&mut FlowDecoder::new(DecodeConfig::default()), &bytes);
    assert_eq!(key(&out[0]), key(&r));
    assert_eq!(out[0].sampling, 1);
}

fn be_u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes(b[off..off + 4].try_into().unwrap())
}

#[test]
fn v5_round_trips_random_records() {
    let mut rng = Rng(5);
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    for _ in 0..300 {
        let secs = 1_500_000_000 + rng.below(200_000_000) as u32;
        let h = V5Header {
            uptime_ms: rng.next_u64() as u32,
            secs,
            nsecs: rng.below(1000) as u32 * 1_000_000,
            engine_type: rng.next_u64() as u8,
            engine_id: rng.next_u64() as u8,
            sampling: rng.next_u64() as u16,
        };
        let export_ms = i64::from(secs) * 1000 + i64::from(h.nsecs / 1_000_000);
        let n = 1 + rng.below(30) as usize;
        let recs: Vec<FlowRecord> = (0..n)
            .map(|_| {
                let mut r = rng.v4_record(export_ms, 1 << 30);
                r.packets &= 0xffff_ffff;
                r.bytes &= 0xffff_ffff;
                r
            })
            .collect();
        let (out, d) = decode(&mut dec, &testing::netflow_v5(h, &recs));
        assert!(d.errors.is_empty());
        let interval = u32::from(h.sampling & 0x3fff);
        for (a, b) in recs.iter().zip(&out) {
            assert_eq!(key(a), key(b));
            assert_eq!(b.sampling, interval.max(1));
        }
        assert_eq!(out.len(), n);
    }
}

#[test]
fn v5_short_and_bad_counts_are_reported() {
    let bytes = testing::netflow_v5(
        V5Header {
            uptime_ms: 0,
            secs: 0,
            nsecs: 0,
            engine_type: 0,
            engine_id: 0,
            sampling: 0,
        },
        &[mirai_probe(), mirai_probe()],
    );
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    // cut inside the second record: the first still decodes
    let (out, d) = decode(&mut dec, &bytes[..24 + 48 + 10]);
    assert_eq!(out.len(), 1);
    assert_eq!(d.errors[0].kind(), ErrorKind::Truncated);
    assert!(d.errors[0].can_continue());
    assert!(d.errors[0]
        .to_string()
        .starts_with("datagram 1 from 192.0.2.10, byte 0:"));
    let mut bad = bytes.clone();
    bad[2..4].copy_from_slice(&31u16.to_be_bytes());
    let (out, d) = decode(&mut dec, &bad);
    assert!(out.is_empty());
    assert_eq!(d.errors[0].kind(), ErrorKind::BadLength);
    assert!(d.errors[0].to_string().starts_with("datagram 2 "));
    let (_, d) = decode(&mut dec, &bytes[..10]);
    assert_eq!(d.errors[0].kind(), ErrorKind::Truncated);
    assert_eq!(dec.stats(Protocol::NetflowV5).errors.total(), 3);
    assert_eq!(dec.stats(Protocol::NetflowV5).units, 3);
}

// ---------------------------------------------------------------- NetFlow v9

#[test]
fn v9_round_trips_random_records() {
    let mut rng = Rng(9);
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    for i in 0..200u32 {
        let secs = 1_500_000_000 + rng.below(200_000_000) as u32;
        let mut m = MessageWriter::v9(rng.below(3) as u32, secs, rng.next_u64() as u32, i);
        let n = 1 + rng.below(40) as usize;
        let recs: Vec<FlowRecord> = (0..n)
            .map(|_| {
                let mut r = rng.v4_record(i64::from(secs) * 1000, 1 << 30);
                r.packets &= 0xffff_ffff;
                r.bytes &= 0xffff_ffff;
                r
            })
            .collect();
        m.template(256, &V4_FIELDS).data(256, &V4_FIELDS, &recs);
        let (out, d) = decode(&mut dec, &m.finish());
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert_eq!(out.len(), n);
        for (a, b) in recs.iter().zip(&out) {
            assert_eq!(key(a), key(b));
            assert_eq!(b.kind, SourceKind::NetflowV9);
            assert_eq!(b.sampling, 1);
        }
    }
    assert_eq!(dec.domain_count(), 3);
    assert_eq!(dec.template_count(), 3);
}

#[test]
fn v9_ipv6_icmp_ttl_and_per_record_sampling() {
    let fields = [
        Field::new(27, 16),
        Field::new(28, 16),
        Field::new(4, 1),
        Field::new(32, 2),
        Field::new(192, 1),
        Field::new(34, 4),
        Field::new(2, 8),
        Field::new(1, 8),
    ];
    let mut r = FlowRecord::new(SourceKind::Pcap);
    r.src = "2001:db8::1".parse::<IpAddr>().unwrap().into();
    r.dst = "2001:db8::2".parse::<IpAddr>().unwrap().into();
    r.proto = 58;
    r.set_icmp(128, 0);
    r.set_ttl(63);
    r.sampling = 512;
    r.packets = 1 << 40;
    r.bytes = 1 << 41;
    let mut m = MessageWriter::v9(1, 1_600_000_000, 10_000, 0);
    m.template(300, &fields).data(300, &fields, &[r]);
    let (out, d) = decode(&mut FlowDecoder::new(DecodeConfig::default()), &m.finish());
    assert!(d.errors.is_empty());
    let got = out[0];
    assert_eq!(got.src, r.src);
    assert_eq!(got.icmp(), Some((128, 0)));
    assert_eq!(got.ttl(), Some(63));
    assert_eq!(got.sampling, 512);
    assert_eq!((got.packets, got.bytes), (1 << 40, 1 << 41));
    // no time fields: export time
    assert_eq!(got.first_us, 1_600_000_000_000_000);
}

#[test]
fn v9_options_data_sets_sampling_for_the_domain() {
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    // Scope: System (v9 scope type 1, not an IE); options: SAMPLING_INTERVAL, SAMPLING_ALGORITHM.
    let mut m = MessageWriter::v9(7, 1_600_000_000, 50_000, 0);
    m.options_template(
        257,
        &[Field::new(1, 4)],
        &[Field::new(34, 4), Field::new(35, 1)],
    );
    m.data_raw(257, &[0, 0, 0, 0, 0, 0, 3, 0xe8, 2]);
    m.template(256, &V4_FIELDS)
        .data(256, &V4_FIELDS, &[mirai_probe()]);
    let (out, d) = decode(&mut dec, &m.finish());
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(out[0].sampling, 1000);
    assert_eq!(out[0].domain, 7);
    let s = dec.stats(Protocol::NetflowV9);
    assert_eq!((s.templates, s.skipped, s.records), (2, 1, 1));
    // Another source id of the same exporter has no sampling information.
    let mut m = MessageWriter::v9(8, 1_600_000_000, 50_000, 0);
    m.template(256, &V4_FIELDS)
        .data(256, &V4_FIELDS, &[mirai_probe()]);
    assert_eq!(decode(&mut dec, &m.finish()).0[0].sampling, 1);
}

#[test]
fn v9_sampler_ids_map_records_to_rates() {
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    let mut m = MessageWriter::v9(0, 1_600_000_000, 50_000, 0);
    // FLOW_SAMPLER_ID, FLOW_SAMPLER_MODE, FLOW_SAMPLER_RANDOM_INTERVAL (Cisco's layout)
    m.options_template(
        260,
        &[Field::new(1, 4)],
        &[Field::new(48, 1), Field::new(49, 1), Field::new(50, 4)],
    );
    m.data_raw(
        260,
        &[
            0, 0, 0, 0, 1, 2, 0, 0, 0, 100, 0, 0, 0, 0, 2, 2, 0, 0, 0x27, 0x10,
        ],
    );
    let mut fields = V4_FIELDS.to_vec();
    fields.push(Field::new(48, 1));
    m.template(256, &fields);
    let mut body = Vec::new();
    for sampler in [1u8, 2, 3] {
        for f in &V4_FIELDS {
            body.extend_from_slice(&testing::field_value(
                &mirai_probe(),
                f.ie,
                f.len,
                m.export_ms,
                m.uptime_ms,
            ));
        }
        body.push(sampler);
    }
    m.data_raw(256, &body);
    let (out, d) = decode(&mut dec, &m.finish());
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let rates: Vec<u32> = out.iter().map(|r| r.sampling).collect();
    assert_eq!(rates, [100, 10_000, 1]);
}

#[test]
fn config_default_sampling_applies_when_telemetry_is_silent() {
    let mut dec = FlowDecoder::new(DecodeConfig {
        default_sampling: 64,
        ..DecodeConfig::default()
    });
    let mut m = MessageWriter::v9(0, 1_600_000_000, 50_000, 0);
    m.template(256, &V4_FIELDS)
        .data(256, &V4_FIELDS, &[mirai_probe()]);
    assert_eq!(decode(&mut dec, &m.finish()).0[0].sampling, 64);
}

#[test]
fn data_before_template_is_kept_and_replayed() {
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    let recs = [mirai_probe(), mirai_probe()];
    let mut first = MessageWriter::v9(3, 1_600_000_000, 50_000, 0);
    first.data(256, &V4_FIELDS, &recs);
    let (out, d) = decode(&mut dec, &first.finish());
    assert!(out.is_empty());
    assert_eq!(d.errors.len(), 1);
    let e = &d.errors[0];
    assert!(matches!(
        e,
        Error::MissingTemplate {
            template_id: 256,
            domain: 3,
            buffered: true,
            ..
        }
    ));
    assert_eq!(e.to_string(), "datagram 1 from 192.0.2.10, byte 20: data for template `256` (domain `3`) arrived before its template; kept until the template arrives");
    assert!(dec.pending_bytes() > 0);
    let mut second = MessageWriter::v9(3, 1_600_000_001, 51_000, 1);
    second.template(256, &V4_FIELDS);
    let (out, d) = decode(&mut dec, &second.finish());
    assert!(d.errors.is_empty());
    assert_eq!(d.records, 2);
    // Replayed records keep their own message's clock.
    assert_eq!(key(&out[0]), key(&recs[0]));
    assert_eq!(dec.pending_bytes(), 0);
    let s = dec.stats(Protocol::NetflowV9);
    assert_eq!(
        (
            s.replayed,
            s.records,
            s.errors.get(ErrorKind::MissingTemplate)
        ),
        (1, 2, 1)
    );
}

#[test]
fn data_before_template_is_dropped_when_buffering_is_off() {
    let mut dec = FlowDecoder::new(DecodeConfig {
        pending_bytes: 0,
        ..DecodeConfig::default()
    });
    let mut first = MessageWriter::ipfix(3, 1_600_000_000, 0);
    first.data(256, &V4_FIELDS, &[mirai_probe()]);
    let (_, d) = decode(&mut dec, &first.finish());
    assert!(matches!(
        d.errors[0],
        Error::MissingTemplate {
            buffered: false,
            ..
        }
    ));
    let mut second = MessageWriter::ipfix(3, 1_600_000_000, 1);
    second.template(256, &V4_FIELDS);
    assert_eq!(decode(&mut dec, &second.finish()).1.records, 0);
}

#[test]
fn pending_buffer_is_bounded() {
    let mut dec = FlowDecoder::new(DecodeConfig {
        pending_bytes: 200,
        ..DecodeConfig::default()
    });
    for i in 0..10 {
        let mut m = MessageWriter::v9(0, 1_600_000_000, 1, i);
        m.data(256 + i as u16, &V4_FIELDS, &[mirai_probe(), mirai_probe()]);
        let _ = decode(&mut dec, &m.finish());
        assert!(dec.pending_bytes() <= 200);
    }
    assert!(dec.stats(Protocol::NetflowV9).pending_dropped >= 5);
}

#[test]
fn templates_are_kept_per_exporter_and_source_id() {
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    let mut t = MessageWriter::v9(1, 1_600_000_000, 1, 0);
    t.template(256, &V4_FIELDS);
    let _ = decode(&mut dec, &t.finish());
    let mut data = MessageWriter::v9(1, 1_600_000_000, 1, 1);
    data.data(256, &V4_FIELDS, &[mirai_probe()]);
    let data = data.finish();
    assert_eq!(decode(&mut dec, &data).0.len(), 1);
    let other: IpAddr = "198.51.100.1".parse().unwrap();
    let (out, d) = decode_from(&mut dec, other, &data);
    assert!(out.is_empty());
    assert_eq!(d.errors[0].kind(), ErrorKind::MissingTemplate);
    let mut other_id = MessageWriter::v9(2, 1_600_000_000, 1, 1);
    other_id.data(256, &V4_FIELDS, &[mirai_probe()]);
    assert!(decode(&mut dec, &other_id.finish()).0.is_empty());
}

#[test]
fn template_and_domain_limits_hold() {
    let mut dec = FlowDecoder::new(DecodeConfig {
        max_templates: 2,
        max_domains: 2,
        ..DecodeConfig::default()
    });
    let mut m = MessageWriter::ipfix(0, 1_600_000_000, 0);
    m.template(256, &V4_FIELDS)
        .template(257, &V4_FIELDS)
        .template(258, &V4_FIELDS);
    let (_, d) = decode(&mut dec, &m.finish());
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].kind(), ErrorKind::LimitReached);
    assert_eq!(dec.template_count(), 2);
    // A refresh of a known template is always accepted.
    let mut m = MessageWriter::ipfix(0, 1_600_000_000, 1);
    m.template(256, &V4_FIELDS);
    assert!(decode(&mut dec, &m.finish()).1.errors.is_empty());
    // Two more exporters: the least recently used domain is forgotten.
    for i in 1..=2u8 {
        let mut m = MessageWriter::ipfix(0, 1_600_000_000, 0);
        m.template(256, &V4_FIELDS);
        let _ = decode_from(&mut dec, IpAddr::from([198, 51, 100, i]), &m.finish());
    }
    assert_eq!(dec.domain_count(), 2);
    assert!(dec.template_count() <= 2);
}

#[test]
fn data_only_floods_create_no_state() {
    let mut dec = FlowDecoder::new(DecodeConfig {
        pending_bytes: 0,
        ..DecodeConfig::default()
    });
    for i in 0..1000u32 {
        let mut m = MessageWriter::v9(i, 1_600_000_000, 1, i);
        m.data(256, &V4_FIELDS, &[mirai_probe()]);
        let _ = decode_from(&mut dec, IpAddr::from(i.to_be_bytes()), &m.finish());
    }
    assert_eq!(dec.domain_count(), 0);
}

// ---------------------------------------------------------------- IPFIX

#[test]
fn ipfix_round_trips_with_variable_and_enterprise_fields() {
    let mut fields = vec![
        Field::new(8, 4),
        Field::new(12, 4),
        Field::new(7, 2),
        Field::new(11, 2),
        Field::new(82, u16::MAX), // interfaceName, variable length
        Field::new(4, 1),
        Field::new(6, 2),
        Field {
            ie: 1,
            len: 4,
            enterprise: Some(29_305), // a reverse octet count: must be skipped, not read
        },
        Field::new(2, 8),
        Field::new(1, 8),
        Field::new(152, 8),
        Field::new(153, 8),
    ];
    let mut rng = Rng(10);
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    for round in 0..200u32 {
        if round == 100 {
            // the same template, fixed-length this time
            fields.remove(4);
        }
        let secs = 1_500_000_000 + rng.below(200_000_000) as u32;
        let n = 1 + rng.below(20) as usize;
        let recs: Vec<FlowRecord> = (0..n)
            .map(|_| rng.v4_record(i64::from(secs) * 1000, 1 << 32))
            .collect();
        let mut m = MessageWriter::ipfix(round % 5, secs, round);
        m.template(400, &fields).data(400, &fields, &recs);
        let (out, d) = decode(&mut dec, &m.finish());
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert_eq!(out.len(), n);
        for (a, b) in recs.iter().zip(&out) {
            assert_eq!(key(a), key(b));
            assert_eq!(b.kind, SourceKind::Ipfix);
            assert_eq!(b.domain, round % 5);
        }
    }
}

#[test]
fn ipfix_time_encodings() {
    let mut r = mirai_probe();
    r.first_us = 1_600_000_000_123_456;
    r.last_us = 1_600_000_001_654_321;
    for (start, end, exact_us) in [(150u16, 151u16, false), (154, 155, true), (156, 157, true)] {
        let fields = [
            Field::new(8, 4),
            Field::new(12, 4),
            Field::new(start, if start == 150 { 4 } else { 8 }),
            Field::new(end, if end == 151 { 4 } else { 8 }),
        ];
        let mut m = MessageWriter::ipfix(0, 1_600_000_005, 0);
        m.template(256, &fields).data(256, &fields, &[r]);
        let (out, d) = decode(&mut FlowDecoder::new(DecodeConfig::default()), &m.finish());
        assert!(d.errors.is_empty());
        if exact_us {
            assert_eq!(
                (out[0].first_us, out[0].last_us),
                (r.first_us, r.last_us),
                "ie {start}"
            );
        } else {
            assert_eq!(
                (out[0].first_us, out[0].last_us),
                (1_600_000_000_000_000, 1_600_000_001_000_000)
            );
        }
    }
    // Delta microseconds before export, and a duration.
    let fields = [
        Field::new(8, 4),
        Field::new(12, 4),
        Field::new(158, 4),
        Field::new(161, 4),
    ];
    let mut m = MessageWriter::ipfix(0, 1_600_000_005, 0);
    m.template(256, &fields);
    let mut body = vec![1, 2, 3, 4, 5, 6, 7, 8];
    body.extend_from_slice(&2_000_000u32.to_be_bytes());
    body.extend_from_slice(&1500u32.to_be_bytes());
    m.data_raw(256, &body);
    let (out, _) = decode(&mut FlowDecoder::new(DecodeConfig::default()), &m.finish());
    assert_eq!(out[0].first_us, 1_600_000_003_000_000);
    assert_eq!(out[0].last_us, 1_600_000_004_500_000);
}

#[test]
fn ipfix_sysuptime_times_use_system_init_time_from_options() {
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    let mut m = MessageWriter::ipfix(1, 1_600_000_005, 0);
    // scope: observationDomainId; options: systemInitTimeMilliseconds, samplingPacketInterval/Space
    m.options_template(
        300,
        &[Field::new(149, 4)],
        &[Field::new(160, 8), Field::new(305, 4), Field::new(306, 4)],
    );
    let mut opt = vec![0, 0, 0, 1];
    opt.extend_from_slice(&1_599_999_990_000u64.to_be_bytes());
    opt.extend_from_slice(&1u32.to_be_bytes());
    opt.extend_from_slice(&99u32.to_be_bytes());
    m.data_raw(300, &opt);
    let fields = [
        Field::new(8, 4),
        Field::new(12, 4),
        Field::new(22, 4),
        Field::new(21, 4),
    ];
    m.template(256, &fields);
    let mut body = vec![1, 2, 3, 4, 5, 6, 7, 8];
    body.extend_from_slice(&10_000u32.to_be_bytes());
    body.extend_from_slice(&12_500u32.to_be_bytes());
    m.data_raw(256, &body);
    let (out, d) = decode(&mut dec, &m.finish());
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(out[0].first_us, 1_600_000_000_000_000);
    assert_eq!(out[0].last_us, 1_600_000_002_500_000);
    assert_eq!(out[0].sampling, 100);
}

#[test]
fn ipfix_template_withdrawal() {
    let mut dec = FlowDecoder::new(DecodeConfig {
        pending_bytes: 0,
        ..DecodeConfig::default()
    });
    let mut m = MessageWriter::ipfix(0, 1_600_000_000, 0);
    m.template(256, &V4_FIELDS).template(257, &V4_FIELDS);
    let _ = decode(&mut dec, &m.finish());
    assert_eq!(dec.template_count(), 2);
    let mut w = MessageWriter::ipfix(0, 1_600_000_000, 1);
    w.raw_set(2, &[1, 0, 0, 0]); // withdraw 256
    let _ = decode(&mut dec, &w.finish());
    assert_eq!(dec.template_count(), 1);
    let mut w = MessageWriter::ipfix(0, 1_600_000_000, 2);
    w.raw_set(2, &[0, 2, 0, 0]); // withdraw all data templates
    let _ = decode(&mut dec, &w.finish());
    assert_eq!(dec.template_count(), 0);
}

#[test]
fn hostile_templates_are_refused() {
    let cases: Vec<(&str, MessageWriter)> = vec![
        ("no fields", {
            let mut m = MessageWriter::v9(0, 0, 0, 0);
            m.raw_set(0, &[1, 0, 0, 0]);
            m
        }),
        ("reserved id", {
            let mut m = MessageWriter::v9(0, 0, 0, 0);
            m.raw_set(0, &[0, 9, 0, 1, 0, 8, 0, 4]);
            m
        }),
        ("v9 length 65535", {
            let mut m = MessageWriter::v9(0, 0, 0, 0);
            m.raw_set(0, &[1, 0, 0, 1, 0, 8, 0xff, 0xff]);
            m
        }),
        ("zero-length record", {
            let mut m = MessageWriter::ipfix(0, 0, 0);
            m.raw_set(2, &[1, 0, 0, 2, 0, 8, 0, 0, 0, 12, 0, 0]);
            m
        }),
        ("field count past the set", {
            let mut m = MessageWriter::ipfix(0, 0, 0);
            m.raw_set(2, &[1, 0, 0x40, 0, 0, 8, 0, 4]);
            m
        }),
        ("options scope 0", {
            let mut m = MessageWriter::ipfix(0, 0, 0);
            m.raw_set(3, &[1, 0, 0, 1, 0, 0, 0, 8, 0, 4]);
            m
        }),
        ("too many fields", {
            let mut m = MessageWriter::ipfix(0, 0, 0);
            let fields = vec![Field::new(999, 1); 600];
            m.template(256, &fields);
            m
        }),
    ];
    for (name, m) in cases {
        let mut dec = FlowDecoder::new(DecodeConfig::default());
        let (_, d) = decode(&mut dec, &m.finish());
        assert_eq!(d.errors.len(), 1, "{name}: {:?}", d.errors);
        assert!(
            matches!(
                d.errors[0].kind(),
                ErrorKind::BadTemplate | ErrorKind::Truncated
            ),
            "{name}: {}",
            d.errors[0]
        );
        assert_eq!(dec.template_count(), 0, "{name}");
    }
}

#[test]
fn hostile_set_lengths_are_refused() {
    let mut m = MessageWriter::ipfix(0, 0, 0);
    m.template(256, &V4_FIELDS);
    let good = m.finish();
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    for (len, kind) in [
        (0u16, ErrorKind::BadLength),
        (3, ErrorKind::BadLength),
        (5000, ErrorKind::Truncated),
    ] {
        let mut bad = good.clone();
        bad[18..20].copy_from_slice(&len.to_be_bytes());
        let (_, d) = decode(&mut dec, &bad);
        assert_eq!(d.errors[0].kind(), kind, "set length {len}");
    }
    // IPFIX message length beyond the datagram, and below the header
    let mut bad = good.clone();
    bad[2..4].copy_from_slice(&9000u16.to_be_bytes());
    assert_eq!(
        decode(&mut dec, &bad).1.errors[0].kind(),
        ErrorKind::Truncated
    );
    bad[2..4].copy_from_slice(&3u16.to_be_bytes());
    assert_eq!(
        decode(&mut dec, &bad).1.errors[0].kind(),
        ErrorKind::BadLength
    );
}

#[test]
fn variable_length_overrun_is_reported() {
    let fields = [Field::new(8, 4), Field::new(82, u16::MAX)];
    let mut m = MessageWriter::ipfix(0, 0, 0);
    m.template(256, &fields);
    m.data_raw(256, &[1, 2, 3, 4, 2, b'a', b'b', 5, 6, 7, 8, 250, 1, 2, 3]);
    let (out, d) = decode(&mut FlowDecoder::new(DecodeConfig::default()), &m.finish());
    // records without a destination still have an address: the source
    assert_eq!(out.len(), 1);
    assert_eq!(d.errors[0].kind(), ErrorKind::Malformed);
}

#[test]
fn unknown_versions_are_reported() {
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    let (_, d) = decode(&mut dec, &[0, 7, 0, 0]);
    assert_eq!(d.errors[0].kind(), ErrorKind::BadMagic);
    assert_eq!(dec.unrecognized_stats().units, 1);
    let mut out = Vec::new();
    let d = dec.decode_as(
        Protocol::Ipfix,
        Datagram {
            exporter: exporter(),
            received_us: 0,
            bytes: &[0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        },
        &mut out,
    );
    assert_eq!(d.errors[0].kind(), ErrorKind::UnsupportedVersion);
    assert_eq!(dec.total_stats().units, 2);
}

// ---------------------------------------------------------------- sFlow

fn mirai_frame() -> Vec<u8> {
    let dst = [93, 184, 216, 34];
    packets::ethernet(
        0x0800,
        &[0x8100],
        &packets::ipv4_tcp(
            [192, 168, 1, 50],
            dst,
            40_000,
            23,
            u32::from_be_bytes(dst),
            TcpFlags::SYN,
            64,
        ),
    )
}

#[test]
fn sflow_flow_samples_give_records_with_headers() {
    let frame = mirai_frame();
    let d = testing::sflow(
        [10, 0, 0, 1],
        4,
        &[
            SflowSample::Counter,
            SflowSample::Header {
                expanded: false,
                rate: 1000,
                protocol: 1,
                frame_len: frame.len() as u32 + 4,
                header: frame.clone(),
            },
            SflowSample::Header {
                expanded: true,
                rate: 2048,
                protocol: 11,
                frame_len: 40,
                header: frame[18..].to_vec(),
            },
            SflowSample::Ipv4 {
                rate: 0,
                record: mirai_probe(),
            },
        ],
    );
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    let (out, res) = decode(&mut dec, &d);
    assert!(res.errors.is_empty(), "{:?}", res.errors);
    assert_eq!(out.len(), 3);
    for r in &out[..2] {
        assert_eq!(r.kind, SourceKind::Sflow);
        assert_eq!(r.seq_equals_dst(), Some(true));
        assert_eq!(r.ttl(), Some(64));
        assert_eq!((r.bytes, r.packets, r.dst_port), (40, 1, 23));
        assert_eq!(r.first_us, 1_700_000_000_000_000);
        assert_eq!(r.domain, 4);
    }
    assert_eq!((out[0].sampling, out[1].sampling), (1000, 2048));
    let mut want = mirai_probe();
    want.first_us = 1_700_000_000_000_000;
    want.last_us = want.first_us;
    assert_eq!(key(&out[2]), key(&want));
    assert_eq!(out[2].sampling, 1);
    assert_eq!(out[2].tcp_seq(), None);
    let s = dec.stats(Protocol::Sflow);
    assert_eq!((s.units, s.records, s.skipped), (1, 3, 1));
}

#[test]
fn sflow_hostile_lengths() {
    let frame = mirai_frame();
    let d = testing::sflow(
        [10, 0, 0, 1],
        0,
        &[SflowSample::Header {
            expanded: false,
            rate: 10,
            protocol: 1,
            frame_len: 64,
            header: frame,
        }],
    );
    let mut dec = FlowDecoder::new(DecodeConfig::default());
    // sample length far past the end
    let mut bad = d.clone();
    bad[32..36].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        decode(&mut dec, &bad).1.errors[0].kind(),
        ErrorKind::Truncated
    );
    // a sample count of four billion over a short datagram
    let mut bad = d.clone();
    bad[24..28].copy_from_slice(&u32::MAX.to_be_bytes());
    let (out, res) = decode(&mut dec, &bad);
    assert_eq!(out.len(), 1);
    assert_eq!(res.errors[0].kind(), ErrorKind::Truncated);
    // bad agent address type
    let mut bad = d.clone();
    bad[7] = 9;
    assert_eq!(
        decode(&mut dec, &bad).1.errors[0].kind(),
        ErrorKind::Malformed
    );
}

// ---------------------------------------------------------------- every decoder, hostile input

/// Valid datagrams of every protocol, to be cut and corrupted.
fn valid_datagrams() -> Vec<Vec<u8>> {
    let mut rng = Rng(77);
    let recs: Vec<FlowRecord> = (0..5)
        .map(|_| rng.v4_record(1_600_000_000_000, 100_000))
        .collect();
    let mut v9 = MessageWriter::v9(1, 1_600_000_000, 99_000, 0);
    v9.options_template(257, &[Field::new(1, 4)], &[Field::new(34, 4)]);
    v9.data_raw(257, &[0, 0, 0, 0, 0, 0, 0, 10]);
    v9.template(256, &V4_FIELDS).data(256, &V4_FIELDS, &recs);
    let var = [
        Field::new(8, 4),
        Field::new(82, u16::MAX),
        Field::new(12, 4),
        Field::new(152, 8),
    ];
    let mut ipfix = MessageWriter::ipfix(1, 1_600_000_000, 0);
    ipfix.options_template(
        300,
        &[Field::new(149, 4)],
        &[Field::new(305, 4), Field::new(306, 4)],
    );
    ipfix.data_raw(300, &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9]);
    ipfix.template(256, &var).data(256, &var, &recs);
    let frame = mirai_frame();
    vec![
        testing::netflow_v5(
            V5Header {
                uptime_ms: 5,
                secs: 1_600_000_000,
                nsecs: 0,
                engine_type: 0,
                engine_id: 0,
                sampling: 0,
            },
            &recs,
        ),
        v9.finish(),
        ipfix.finish(),
        testing::sflow(
            [10, 0, 0, 1],
            0,
            &[
                SflowSample::Counter,
                SflowSample::Header {
                    expanded: true,
                    rate: 10,
                    protocol: 1,
                    frame_len: 64,
                    header: frame,
                },
                SflowSample::Ipv4 {
                    rate: 5,
                    record: recs[0],
                },
            ],
        ),
    ]
}

#[test]
fn hostile_input_never_panics() {
    let mut rng = Rng(1234);
    let mut out = Vec::new();
    for valid in valid_datagrams() {
        // a decoder that has seen the valid datagram (templates known) and a fresh one
        let mut warm = FlowDecoder::new(DecodeConfig::default());
        let (good, d) = decode(&mut warm, &valid);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert!(!good.is_empty());
        for cut in 0..valid.len() {
            for dec in [&mut warm, &mut FlowDecoder::new(DecodeConfig::default())] {
                out.clear();
                let d = dec.decode(
                    Datagram {
                        exporter: exporter(),
                        received_us: 0,
                        bytes: &valid[..cut],
                    },
                    &mut out,
                );
                assert!(d.errors.iter().all(Error::can_continue));
                assert!(out.len() <= good.len());
            }
        }
        for _ in 0..3000 {
            let mut bad = valid.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(bad.len() as u64) as usize;
                if rng.below(2) == 0 {
                    bad[i] ^= 1 << rng.below(8);
                } else {
                    bad[i] = [0, 0xff, 0x80, 1][rng.below(4) as usize];
                }
            }
            out.clear();
            let pending = warm.pending_bytes();
            let d = warm.decode(
                Datagram {
                    exporter: exporter(),
                    received_us: 0,
                    bytes: &bad,
                },
                &mut out,
            );
            assert!(d.errors.len() <= MAX_ERRORS_PER_DATAGRAM);
            // a record needs at least one byte of the datagram or of a kept data set
            assert!(out.len() <= bad.len() + pending);
        }
        assert!(warm.template_count() <= DecodeConfig::default().max_templates);
    }
}

#[test]
fn decoders_can_move_to_worker_threads() {
    fn send<T: Send>() {}
    send::<FlowDecoder>();
    send::<crate::CaptureReader<std::fs::File>>();
    send::<crate::ZeekReader<std::fs::File>>();
    send::<FlowRecord>();
}
