use super::*;
use crate::announce::{Announcement, Via};
use crate::error::ErrorKind;
use crate::packet::link_type;
use crate::record::{Addr, TcpFlags};
use crate::testing::{packets as p, PcapWriter, PcapngWriter, Rng};

const T0: i64 = 1_619_605_821_099_510;

fn syn(i: u8) -> Vec<u8> {
    let dst = [93, 184, 216, i];
    p::ipv4_tcp(
        [192, 168, 1, 50],
        dst,
        40_000 + u16::from(i),
        23,
        u32::from_be_bytes(dst),
        TcpFlags::SYN,
        64,
    )
}

fn read_all(bytes: &[u8]) -> (Vec<FlowRecord>, Vec<Error>, Stats) {
    let mut r = CaptureReader::new(bytes).unwrap();
    let mut recs = Vec::new();
    let mut errs = Vec::new();
    for item in r.by_ref() {
        match item {
            Ok(x) => recs.push(x),
            Err(e) => errs.push(e),
        }
    }
    (recs, errs, r.stats().clone())
}

#[test]
fn pcap_both_byte_orders_and_resolutions() {
    for big in [false, true] {
        for nanos in [false, true] {
            let mut w = PcapWriter::new(link_type::ETHERNET, big, nanos);
            for i in 0..5u8 {
                w.packet(T0 + i64::from(i), &p::ethernet(0x0800, &[], &syn(i)), 60);
            }
            w.packet(T0 + 9, &p::ethernet(0x0806, &[], &[0; 28]), 60);
            let bytes = w.finish();
            let (recs, errs, stats) = read_all(&bytes);
            assert!(errs.is_empty(), "{errs:?}");
            assert_eq!(recs.len(), 5, "big {big} nanos {nanos}");
            for (i, r) in recs.iter().enumerate() {
                assert_eq!(r.first_us, T0 + i as i64);
                assert_eq!(r.kind, SourceKind::Pcap);
                assert_eq!(r.seq_equals_dst(), Some(true));
                assert_eq!((r.bytes, r.packets, r.sampling), (40, 1, 1));
            }
            assert_eq!((stats.units, stats.records, stats.skipped), (6, 5, 1));
        }
    }
}

#[test]
fn all_link_types() {
    let ip = syn(1);
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&0x0800u16.to_be_bytes());
    sll.extend_from_slice(&ip);
    let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
    sll2.extend_from_slice(&[0u8; 18]);
    sll2.extend_from_slice(&ip);
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(&ip);
    let mut lo = 2u32.to_be_bytes().to_vec();
    lo.extend_from_slice(&ip);
    let v6 = p::ipv6_icmp([0x20, 1, 0xd, 0xb8], [0x20, 1, 0xd, 0xb8], 135, 0);
    let cases: Vec<(u32, Vec<u8>)> = vec![
        (
            link_type::ETHERNET,
            p::ethernet(0x8100, &[], &{
                // one 802.1Q tag written by hand
                let mut t = vec![0, 5];
                t.extend_from_slice(&0x0800u16.to_be_bytes());
                t.extend_from_slice(&ip);
                t
            }),
        ),
        (link_type::RAW, ip.clone()),
        (link_type::RAW, v6.clone()),
        (link_type::IPV4, ip.clone()),
        (link_type::IPV6, v6),
        (link_type::LINUX_SLL, sll),
        (link_type::LINUX_SLL2, sll2),
        (link_type::NULL, null),
        (link_type::LOOP, lo),
    ];
    for (lt, frame) in cases {
        let mut w = PcapWriter::new(lt, false, false);
        w.packet(T0, &frame, frame.len() as u32);
        let (recs, errs, _) = read_all(&w.finish());
        assert!(errs.is_empty(), "link type {lt}: {errs:?}");
        assert_eq!(recs.len(), 1, "link type {lt}");
    }
}

#[test]
fn unknown_link_type_is_counted_and_reported_once() {
    let mut w = PcapWriter::new(147, false, false);
    for _ in 0..4 {
        w.packet(T0, &syn(1), 40);
    }
    let (recs, errs, stats) = read_all(&w.finish());
    assert!(recs.is_empty());
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].kind(), ErrorKind::UnsupportedLinkType);
    assert!(errs[0].can_continue());
    assert_eq!(
        errs[0].to_string(),
        "packet 1 (file offset 24): link type `147` is not supported; its packets are skipped"
    );
    assert_eq!(stats.unsupported_link_types.get(&147), Some(&4));
    assert_eq!(stats.units, 4);
}

#[test]
fn truncated_pcap_gives_records_so_far_and_says_where() {
    let mut w = PcapWriter::new(link_type::RAW, false, false);
    for i in 0..3u8 {
        w.packet(T0, &syn(i), 40);
    }
    let bytes = w.finish();
    // cut inside the third packet's data: 24 + 2 * 56 + 16 + 10
    let cut = 24 + 2 * 56 + 16 + 10;
    let (recs, errs, stats) = read_all(&bytes[..cut]);
    assert_eq!(recs.len(), 2);
    assert_eq!(errs.len(), 1);
    assert!(!errs[0].can_continue());
    assert_eq!(
        errs[0].to_string(),
        "packet 3 (file offset 136): input ends inside packet data: 40 bytes needed, 10 available"
    );
    assert_eq!(stats.errors.get(ErrorKind::Truncated), 1);
    // cut inside a record header
    let (recs, errs, _) = read_all(&bytes[..24 + 56 + 5]);
    assert_eq!(recs.len(), 1);
    assert!(errs[0].to_string().contains("packet record header"));
    // cut inside the file header
    let e = CaptureReader::new(&bytes[..10]).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Truncated);
    assert!(!e.can_continue());
}

#[test]
fn hostile_captured_length_stops_without_allocating() {
    let mut w = PcapWriter::new(link_type::RAW, false, false);
    w.packet(T0, &syn(1), 40);
    w.raw_record_header(u32::MAX);
    let (recs, errs, _) = read_all(&w.finish());
    assert_eq!(recs.len(), 1);
    assert_eq!(errs[0].kind(), ErrorKind::BadLength);
    assert!(!errs[0].can_continue());
}

#[test]
fn bad_magic_and_versions() {
    assert_eq!(
        CaptureReader::new(&b"GET / HTTP/1.1\r\n"[..])
            .err()
            .unwrap()
            .kind(),
        ErrorKind::BadMagic
    );
    let mut bytes = PcapWriter::new(1, false, false).finish();
    bytes[4] = 3;
    assert_eq!(
        CaptureReader::new(&bytes[..]).err().unwrap().kind(),
        ErrorKind::UnsupportedVersion
    );
    assert_eq!(
        CaptureReader::new(&b""[..]).err().unwrap().kind(),
        ErrorKind::Truncated
    );
}

#[test]
fn keep_limits_packet_bytes() {
    let mut w = PcapWriter::new(link_type::RAW, false, false);
    let big = p::ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 5, 6, 1400);
    w.packet(T0, &big, 1428);
    w.packet(T0, &syn(2), 40);
    let bytes = w.finish();
    let mut r = CaptureReader::with_keep(&bytes[..], 64).unwrap();
    let pk = r.next_packet().unwrap().unwrap();
    assert_eq!(
        (pk.data.len(), pk.captured_len, pk.orig_len, pk.number),
        (64, 1428, 1428, 1)
    );
    let rec = r.next().unwrap().unwrap();
    assert_eq!(rec.dst, Addr::v4([93, 184, 216, 2]));
    let mut r = CaptureReader::with_keep(&bytes[..], 64).unwrap();
    let rec = r.next().unwrap().unwrap();
    assert_eq!((rec.bytes, rec.dst_port), (1428, 6));
}

#[test]
fn pcapng_sections_interfaces_resolutions_and_byte_orders() {
    let mut w = PcapngWriter::new(false);
    w.interface(link_type::ETHERNET as u16, 65535, None); // microseconds
    w.interface(link_type::RAW as u16, 65535, Some(9)); // nanoseconds
    w.interface(link_type::LINUX_SLL2 as u16, 0, Some(0x80 | 20)); // 2^-20 s
    w.block(0x0000_0bad, b"custom block, skipped");
    w.enhanced(0, T0 as u64, &p::ethernet(0x0800, &[], &syn(1)), 54);
    w.enhanced(1, T0 as u64 * 1000 + 999, &syn(2), 40);
    let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
    sll2.extend_from_slice(&[0u8; 18]);
    sll2.extend_from_slice(&syn(3));
    w.enhanced(2, 3 << 20 | 1 << 19, &sll2, 60); // 3.5 s
    w.simple(&p::ethernet(0x0800, &[], &syn(4)), 54);
    // a second section, big-endian, whose interface 0 is raw IP
    w.section(true);
    w.interface(link_type::RAW as u16, 0, None);
    w.enhanced(0, 42, &syn(5), 40);
    w.enhanced(1, 42, &syn(6), 40); // no interface 1 in this section
    let bytes = w.finish();
    let (recs, errs, stats) = read_all(&bytes);
    assert_eq!(recs.len(), 5, "{errs:?}");
    assert_eq!(recs[0].first_us, T0);
    assert_eq!(recs[1].first_us, T0);
    assert_eq!(recs[2].first_us, 3_500_000);
    assert_eq!(
        recs[3].first_us, 3_500_000,
        "simple packet blocks take the last time"
    );
    assert_eq!(recs[4].first_us, 42);
    let ifaces: Vec<u32> = recs.iter().map(|r| r.domain).collect();
    assert_eq!(ifaces, [0, 1, 2, 0, 0]);
    assert!(recs
        .iter()
        .all(|r| r.kind == SourceKind::Pcapng && r.seq_equals_dst() == Some(true)));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].kind(), ErrorKind::Malformed);
    assert!(errs[0].can_continue());
    assert!(errs[0].to_string().starts_with("packet 6 "), "{}", errs[0]);
    assert_eq!(stats.units, 6);
}

#[test]
fn pcapng_corrupt_lengths() {
    let mut w = PcapngWriter::new(false);
    w.interface(link_type::RAW as u16, 0, None);
    w.enhanced(0, 1, &syn(1), 40);
    w.enhanced(0, 2, &syn(2), 40);
    let good = w.finish();
    let (recs, _, _) = read_all(&good);
    assert_eq!(recs.len(), 2);
    // find the second EPB: SHB (40) + IDB (32) + EPB
    let shb = u32::from_le_bytes(good[4..8].try_into().unwrap()) as usize;
    let idb = u32::from_le_bytes(good[shb + 4..shb + 8].try_into().unwrap()) as usize;
    let epb1 = shb + idb;
    let epb_len = u32::from_le_bytes(good[epb1 + 4..epb1 + 8].try_into().unwrap()) as usize;
    let epb2 = epb1 + epb_len;
    // a block length that is not a multiple of 4: framing lost
    let mut bad = good.clone();
    bad[epb2 + 4] += 1;
    let (recs, errs, _) = read_all(&bad);
    assert_eq!(recs.len(), 1);
    assert_eq!(errs[0].kind(), ErrorKind::BadLength);
    assert!(!errs[0].can_continue());
    // a captured length larger than the block: the packet is skipped, reading goes on
    let mut bad = good.clone();
    bad[epb1 + 20..epb1 + 24].copy_from_slice(&5000u32.to_le_bytes());
    let (recs, errs, _) = read_all(&bad);
    assert_eq!(recs.len(), 1);
    assert_eq!(errs[0].kind(), ErrorKind::Malformed);
    assert!(errs[0].can_continue());
    // a trailer that disagrees
    let mut bad = good.clone();
    let t = epb1 + epb_len - 4;
    bad[t] ^= 0x40;
    let (_, errs, _) = read_all(&bad);
    assert_eq!(errs[0].kind(), ErrorKind::BadLength);
    // cut in the middle
    let (recs, errs, _) = read_all(&good[..epb2 + 30]);
    assert_eq!(recs.len(), 1);
    assert_eq!(errs[0].kind(), ErrorKind::Truncated);
    assert!(
        errs[0]
            .to_string()
            .starts_with(&format!("packet 2 (file offset {epb2})")),
        "{}",
        errs[0]
    );
}

#[test]
fn hostile_capture_files_never_panic() {
    let mut w = PcapWriter::new(link_type::ETHERNET, false, true);
    for i in 0..4u8 {
        w.packet(T0, &p::ethernet(0x0800, &[0x8100], &syn(i)), 64);
    }
    let mut ng = PcapngWriter::new(true);
    ng.interface(1, 0, Some(9)).interface(101, 0, None);
    for i in 0..4u8 {
        ng.enhanced(u32::from(i % 2), 1, &p::ethernet(0x0800, &[], &syn(i)), 64);
    }
    ng.simple(&syn(9), 40);
    let mut rng = Rng(99);
    for valid in [w.finish(), ng.finish()] {
        for cut in 0..valid.len() {
            if let Ok(r) = CaptureReader::new(&valid[..cut]) {
                let n = r.take(100).count();
                assert!(n <= 10);
            }
        }
        for _ in 0..3000 {
            let mut bad = valid.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(bad.len() as u64) as usize;
                bad[i] ^= 1 << rng.below(8);
            }
            if let Ok(r) = CaptureReader::new(&bad[..]) {
                // every item consumes input: the iteration ends
                assert!(r.take(1000).count() < 1000);
            }
        }
    }
}

/// With `with_dns`, each UDP packet to or from port 53 comes with its DNS message (or why its
/// payload is not one), and so does each TCP segment with data to or from port 53 (a whole
/// message after its length, or why not); other packets and bare TCP segments with none.
#[test]
fn dns_messages_come_with_their_packets() {
    use crate::testing::dns;
    let device = [192, 168, 1, 50];
    let resolver = [192, 168, 1, 1];
    let q = dns::query(7, "cnc.example.com", 1);
    let a = dns::response(7, "cnc.example.com", 1, &[(&[203, 0, 113, 7], 300)]);
    let v6 = p::ipv6(
        [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50],
        [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        17,
        64,
        &p::udp_with(40001, 53, &dns::query(8, "Other.Example", 28)),
    );
    let packets = [
        p::ipv4(device, resolver, 17, 64, &p::udp_with(40000, 53, &q)),
        syn(1),
        p::ipv4(resolver, device, 17, 64, &p::udp_with(53, 40000, &a)),
        p::ipv4(
            device,
            resolver,
            17,
            64,
            &p::udp_with(40002, 53, b"not dns"),
        ),
        p::ipv4(
            device,
            resolver,
            6,
            64,
            &p::tcp(40003, 53, 1, TcpFlags::SYN),
        ),
        v6,
    ];
    // DNS over TCP: a query and its answer each whole in one segment, then a message whose
    // length runs past its segment
    let seg = |sport: u16, dport: u16, msg: &[u8], claimed: usize| {
        let mut l4 = p::tcp(sport, dport, 2, TcpFlags::PSH | TcpFlags::ACK);
        l4.extend_from_slice(&(claimed as u16).to_be_bytes());
        l4.extend_from_slice(msg);
        l4
    };
    let q2 = dns::query(9, "tcp.example.com", 1);
    let a2 = dns::response(9, "tcp.example.com", 1, &[(&[203, 0, 113, 9], 60)]);
    let tcp_packets = [
        p::ipv4(device, resolver, 6, 64, &seg(40004, 53, &q2, q2.len())),
        p::ipv4(resolver, device, 6, 64, &seg(53, 40004, &a2, a2.len())),
        p::ipv4(
            resolver,
            device,
            6,
            64,
            &seg(53, 40004, &a2, a2.len() + 100),
        ),
    ];
    let packets: Vec<Vec<u8>> = packets.into_iter().chain(tcp_packets).collect();
    let mut w = PcapWriter::new(link_type::RAW, false, false);
    for (i, pkt) in packets.iter().enumerate() {
        w.packet(T0 + i as i64, pkt, pkt.len() as u32);
    }
    let file = w.finish();
    let mut r = CaptureReader::new(&file[..]).unwrap().with_dns();
    let mut seen = Vec::new();
    while let Some(rec) = r.next() {
        rec.unwrap();
        seen.push(r.take_dns());
    }
    assert_eq!(seen.len(), 9);
    let q = seen[0].clone().unwrap().unwrap();
    assert_eq!(
        (q.response, q.question.unwrap().name.as_str()),
        (false, "cnc.example.com")
    );
    assert!(seen[1].is_none());
    let a = seen[2].clone().unwrap().unwrap();
    assert!(a.response);
    assert_eq!(a.answers[0].addr, Addr::v4([203, 0, 113, 7]));
    assert!(matches!(seen[3], Some(Err(_))));
    assert!(seen[4].is_none(), "a bare SYN has no message");
    assert_eq!(
        seen[5].clone().unwrap().unwrap().question.unwrap().name,
        "other.example"
    );
    let q2 = seen[6].clone().unwrap().unwrap();
    assert_eq!(q2.question.unwrap().name, "tcp.example.com");
    let a2 = seen[7].clone().unwrap().unwrap();
    assert_eq!(a2.answers[0].addr, Addr::v4([203, 0, 113, 9]));
    let e = seen[8].clone().unwrap().unwrap_err();
    assert!(e.to_string().contains("later segment"), "{e}");
    // without `with_dns`, nothing is read
    let mut r = CaptureReader::new(&file[..]).unwrap();
    assert!(r.next().is_some());
    assert!(r.take_dns().is_none());
}

/// Records, with the announcements taken after each, and the errors.
fn read_mud(bytes: &[u8]) -> (Vec<(FlowRecord, Vec<Announcement>)>, Vec<Error>) {
    let mut reader = CaptureReader::new(bytes).unwrap().with_mud();
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    while let Some(item) = reader.next() {
        match item {
            Ok(r) => out.push((r, reader.take_announcements())),
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

#[test]
fn mud_urls_come_with_the_devices_records() {
    use crate::testing::mud;
    let (bulb, plug, cam) = (
        [0x02, 0, 0, 0, 0, 0x11],
        [0x02, 0, 0, 0, 0, 0x22],
        [0x02, 0, 0, 0, 0, 0x33],
    );
    let url = "https://mud.example.com/bulb.json";
    let mut w = PcapWriter::new(link_type::ETHERNET, false, false);
    let mut t = 1_700_000_000_000_000i64;
    let mut add = |w: &mut PcapWriter, f: Vec<u8>| {
        t += 1000;
        w.packet(t, &f, f.len() as u32);
    };
    // 1: DISCOVER from 0.0.0.0 without a requested address: waits for the device's address
    add(&mut w, mud::dhcpv4_frame(1, bulb, [0; 4], None, url));
    // 2: REQUEST naming the address: ready at once
    add(
        &mut w,
        mud::dhcpv4_frame(
            3,
            plug,
            [0; 4],
            Some([192, 168, 1, 21]),
            "https://p.example/plug.json",
        ),
    );
    // 3: LLDP without a management address: waits
    add(
        &mut w,
        mud::lldp_frame(cam, None, "https://c.example/cam.json"),
    );
    // 4: the bulb's first packet from its address binds it
    let ip = p::ipv4_udp([192, 168, 1, 20], [192, 0, 2, 1], 5000, 123, 48);
    add(&mut w, mud::ethernet_from(bulb, 0x0800, &ip));
    // 5: the camera's
    let ip = p::ipv4_tcp([192, 168, 1, 30], [192, 0, 2, 1], 40000, 443, 1, 2, 64);
    add(&mut w, mud::ethernet_from(cam, 0x0800, &ip));
    // 6: DHCPv6 with an IA address
    let v6 = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40];
    add(
        &mut w,
        mud::dhcpv6_frame(plug, v6, "https://p.example/plug.json"),
    );
    let (recs, errors) = read_mud(&w.finish());
    assert!(errors.is_empty(), "{errors:?}");
    // the LLDP frame gives no record
    assert_eq!(recs.len(), 5);
    assert!(recs[0].1.is_empty());
    assert_eq!(recs[1].1.len(), 1);
    let a = &recs[1].1[0];
    assert_eq!(a.device, Addr::v4([192, 168, 1, 21]));
    assert_eq!((a.via, a.packet, a.mac), (Via::Dhcpv4, 2, Some(plug)));
    assert_eq!(recs[2].1.len(), 1);
    assert_eq!(recs[2].1[0].url, url);
    assert_eq!(recs[2].1[0].device, Addr::v4([192, 168, 1, 20]));
    assert_eq!(recs[2].1[0].packet, 1);
    assert_eq!(recs[3].1.len(), 1);
    assert_eq!(recs[3].1[0].via, Via::Lldp);
    assert_eq!(recs[3].1[0].device, Addr::v4([192, 168, 1, 30]));
    assert_eq!(recs[4].1[0].via, Via::Dhcpv6);
    assert_eq!(recs[4].1[0].device, Addr::v6(v6));
    // without with_mud, nothing is read
    let file = w.finish();
    let mut plain = CaptureReader::new(&file[..]).unwrap();
    while plain.next().is_some() {
        assert!(plain.take_announcements().is_empty());
    }
}

#[test]
fn malformed_announcements_name_their_packet() {
    use crate::testing::mud;
    let mac = [0x02, 0, 0, 0, 0, 0x44];
    let mut w = PcapWriter::new(link_type::ETHERNET, false, false);
    // an http:// URL over DHCP, then a cut LLDP TLV, then a good packet
    let f = mud::dhcpv4_frame(
        3,
        mac,
        [0; 4],
        Some([10, 0, 0, 9]),
        "http://insecure.example/x",
    );
    w.packet(1, &f, f.len() as u32);
    let mut l = mud::lldp_frame(mac, Some([10, 0, 0, 9]), "https://m.example/x.json");
    l.truncate(l.len() - 8);
    w.packet(2, &l, l.len() as u32);
    let ip = p::ipv4_udp([10, 0, 0, 9], [192, 0, 2, 1], 5000, 53, 20);
    let f = mud::ethernet_from(mac, 0x0800, &ip);
    w.packet(3, &f, f.len() as u32);
    let (recs, errors) = read_mud(&w.finish());
    assert_eq!(recs.len(), 2, "the DHCP packet still gives its record");
    assert!(recs.iter().all(|(_, a)| a.is_empty()));
    let texts: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].starts_with("packet 1 ") && texts[0].contains("DHCPv4 option 161"),
        "{}",
        texts[0]
    );
    assert!(texts[0].contains("https"), "{}", texts[0]);
    assert!(
        texts[1].starts_with("packet 2 ") && texts[1].contains("LLDP TLV"),
        "{}",
        texts[1]
    );
    assert!(errors.iter().all(Error::can_continue));
}

#[test]
fn hostile_announcements_never_panic() {
    use crate::testing::mud;
    let mut rng = Rng(7);
    let mac = [0x02, 0, 0, 0, 0, 0x55];
    let good = [
        mud::dhcpv4_frame(
            3,
            mac,
            [0; 4],
            Some([10, 0, 0, 9]),
            "https://m.example/x.json",
        ),
        mud::dhcpv6_frame(
            mac,
            [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            "https://m.example/x.json",
        ),
        mud::lldp_frame(mac, Some([10, 0, 0, 9]), "https://m.example/x.json"),
    ];
    for base in &good {
        for cut in 0..base.len() {
            let mut w = PcapWriter::new(link_type::ETHERNET, false, false);
            w.packet(1, &base[..cut], cut as u32);
            let _ = read_mud(&w.finish());
        }
        for _ in 0..2000 {
            let mut f = base.clone();
            for _ in 0..3 {
                let i = rng.below(f.len() as u64) as usize;
                f[i] = rng.next_u64() as u8;
            }
            let mut w = PcapWriter::new(link_type::ETHERNET, false, false);
            w.packet(1, &f, f.len() as u32);
            let _ = read_mud(&w.finish());
        }
    }
}

#[test]
fn a_relayed_announcement_is_bound_to_the_client_not_the_relay() {
    use crate::testing::mud;
    let (client, relay) = ([0x02, 0, 0, 0, 0, 0x66], [0x02, 0, 0, 0, 0, 0x01]);
    let mut msg = mud::dhcpv4(3, client, [0; 4], None, "https://m.example/x.json");
    msg[24..28].copy_from_slice(&[10, 0, 0, 1]); // giaddr: the relay
    let ip = p::ipv4(
        [10, 0, 0, 1],
        [192, 0, 2, 67],
        17,
        64,
        &p::udp_with(67, 67, &msg),
    );
    let mut w = PcapWriter::new(link_type::ETHERNET, false, false);
    let f = mud::ethernet_from(relay, 0x0800, &ip);
    w.packet(1, &f, f.len() as u32);
    // the relay's own traffic binds nothing; the client's first packet does
    let f = mud::ethernet_from(
        relay,
        0x0800,
        &p::ipv4_udp([10, 0, 0, 1], [192, 0, 2, 1], 1, 2, 4),
    );
    w.packet(2, &f, f.len() as u32);
    let f = mud::ethernet_from(
        client,
        0x0800,
        &p::ipv4_udp([10, 0, 0, 66], [192, 0, 2, 1], 1, 2, 4),
    );
    w.packet(3, &f, f.len() as u32);
    let (recs, errors) = read_mud(&w.finish());
    assert!(errors.is_empty(), "{errors:?}");
    assert!(recs[0].1.is_empty() && recs[1].1.is_empty());
    assert_eq!(recs[2].1.len(), 1);
    assert_eq!(recs[2].1[0].device, Addr::v4([10, 0, 0, 66]));
    assert_eq!(recs[2].1[0].mac, Some(client));
}
