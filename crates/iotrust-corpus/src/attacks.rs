//! Attacks on (and from) subscribers, and the shared real captures.

use std::io;
use std::path::Path;

use iotrust_flow::CaptureReader;

use crate::wire::{flags, ip, tcp_header, Capture, Rng, ZConn, ZeekLogs, SEC};
use crate::{Labels, BASE_US, SHARED_PCAP_DIR};

/// A short spoofed SYN flood on a subscriber: ~9,640 SYNs in 34 s, 7,300 in the peak second,
/// each from its own random source, all to one port; nothing completes.
pub(crate) fn syn_flood(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let victim = [192, 168, 1, 50];
    let start = BASE_US + 30 * SEC;
    let mut cap = Capture::new();
    // the victim's own quiet traffic before
    crate::botnets::ntp(&mut cap, BASE_US + SEC, victim, crate::botnets::NTP, 123);
    let peak = 12i64;
    let mut total = 0u32;
    for sec in 0..34i64 {
        let n = if sec == peak {
            7300
        } else {
            60 + rng.below(22) as i64
        };
        for i in 0..n {
            let t = start + sec * SEC + i * SEC / n + rng.range(0, 50);
            let src = rng.public_addr();
            let h = tcp_header(
                rng.u16().max(1024),
                80,
                rng.u32(),
                0,
                flags::SYN,
                rng.u16(),
                false,
            );
            cap.tcp(t, src, victim, h, 40 + (rng.below(200) as u8), &[], 0);
            total += 1;
        }
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("attack-syn-flood-spoofed", "attack", &format!("A spoofed SYN flood on a subscriber's port 80: {total} SYNs in 34 s (7,300 in the peak second, ~70/s around it), each from a random source, none answered (an upstream capture of inbound traffic)."))
        .pcap("traffic.pcap")
        .host(victim, "victim", "subscriber under a SYN flood", Some(start))
        .fact("the shape (peak ~7,300 SYN/s, ~9,600 SYNs in 34 s from ~9,700 sources to one port, nothing completing)", "the project's issue (failure shapes)", "M")
        .fact("spoofed SYN floods: random sources, one destination port, 40-byte SYNs, random TTLs", "/work/shared/data/pcap/SOURCES.md (stopddos synflood capture: 37,623 sources to one port)", "H")
        .note("Replies from the victim are not in the capture (an upstream tap of inbound traffic)."))
}

/// A SYN-ACK reflection on a subscriber: ~54 kpps for 0.15 s from ~1,200 reflectors.
pub(crate) fn synack_reflection(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let victim = [192, 168, 1, 51];
    let start = BASE_US + 20 * SEC;
    let mut cap = Capture::new();
    crate::botnets::ntp(&mut cap, BASE_US + SEC, victim, crate::botnets::NTP, 123);
    let reflectors: Vec<([u8; 4], u16)> = (0..1200)
        .map(|i| (rng.public_addr(), if i % 3 == 0 { 443 } else { 80 }))
        .collect();
    let n = 8100i64;
    for i in 0..n {
        let t = start + i * 150_000 / n;
        let (src, sport) = reflectors
            .get(rng.below(1200) as usize)
            .copied()
            .unwrap_or(([203, 0, 113, 1], 80));
        let h = tcp_header(
            sport,
            rng.u16().max(1024),
            rng.u32(),
            rng.u32(),
            flags::SYN | flags::ACK,
            29200,
            true,
        );
        cap.tcp(t, src, victim, h, 45 + (rng.below(20) as u8), &[], 0);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("attack-synack-reflection", "attack", "A SYN-ACK reflection on a subscriber: 8,100 SYN-ACKs in 0.15 s (~54 kpps) from 1,200 web servers (ports 80/443) answering SYNs spoofed with the victim's address, to random ports.")
        .pcap("traffic.pcap")
        .host(victim, "victim", "subscriber hit by SYN-ACK reflection", Some(start))
        .fact("the shape (~54 kpps lasting 0.15 s)", "the project's issue (failure shapes)", "M")
        .fact("TCP reflection: servers answer spoofed SYNs with SYN-ACKs (and retransmit them) to the spoofed victim", "recalled (TCP amplification/reflection literature)", "L")
        .note("1,200 reflectors is a modelling choice (L)."))
}

/// A Zeek burst: 14,000 connections in 30 s from one device to one address:port, history
/// `C`, no packets counted.
pub(crate) fn zeek_c_burst(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 52];
    let target = [203, 0, 113, 90];
    let start = BASE_US + 60 * SEC;
    let mut z = ZeekLogs::new();
    z.lookup(
        rng,
        BASE_US + 5 * SEC,
        dev,
        crate::botnets::ROUTER,
        "pool.ntp.example",
        &[crate::botnets::NTP],
        3600,
        20_000,
    );
    for i in 0..14_000i64 {
        z.conn.push(ZConn {
            ts: start + i * 30 * SEC / 14_000 + rng.range(0, 1_000),
            orig_h: ip(dev),
            orig_p: rng.ephemeral(),
            resp_h: ip(target),
            resp_p: 80,
            proto: "tcp",
            conn_state: "OTH",
            history: Some("C".into()),
            orig_bytes: Some(0),
            resp_bytes: Some(0),
            ..ZConn::default()
        });
    }
    z.write(rng, dir)?;
    Ok(Labels::new("attack-zeek-history-c-burst", "attack", "A subscriber device attacking one address: 14,000 Zeek connections to 203.0.113.90:80 in 30 s, each with history C (content gap), conn_state OTH and 0 packets, as Zeek logs a flood it saw only partly.")
        .zeek()
        .host(dev, "infected", "device flooding one address:port", Some(start))
        .fact("the shape (~14,000 connections in 30 s, one address:port, history C, 0 packets)", "the project's issue (failure shapes)", "M")
        .fact("Zeek history letter C: a content gap; OTH: no SYN seen", "Zeek conn.log documentation (recalled)", "M"))
}

fn first_packet_us(path: &Path) -> Option<i64> {
    let f = std::fs::File::open(path).ok()?;
    let mut r = CaptureReader::new(f).ok()?;
    r.find_map(|x| x.ok()).map(|rec| rec.first_us)
}

fn real(name: &str, file: &str, victim: [u8; 4], what: &str, desc: &str) -> Labels {
    let path = Path::new(SHARED_PCAP_DIR).join(file);
    let start = first_packet_us(&path);
    let mut l = Labels::new(name, "attack", desc)
        .pcap(&path.display().to_string())
        .host(victim, "victim", what, start)
        .fact(
            "real capture: origin, licence and content",
            "/work/shared/data/pcap/SOURCES.md (github.com/StopDDoS/packet-captures @ 230dd43)",
            "H",
        );
    if start.is_none() {
        l = l.note("The capture was not readable when the corpus was generated: no start time.");
    }
    l
}

pub(crate) fn real_synflood(_dir: &Path, _rng: &mut Rng) -> io::Result<Labels> {
    Ok(real(
        "attack-real-stopddos-synflood",
        "stopddos-synflood-spoofed.pcap",
        [10, 10, 10, 10],
        "server under a real spoofed SYN flood",
        "The shared real capture of a spoofed SYN flood (37,841 packets, 23.7 s, 37,623 sources, to 10.10.10.10 tcp/25565), referenced in place.",
    ))
}

pub(crate) fn real_bacnet(_dir: &Path, _rng: &mut Rng) -> io::Result<Labels> {
    Ok(real(
        "attack-real-stopddos-bacnet-reflection",
        "stopddos-udp-bacnet-iot-reflection.pcap",
        [10, 10, 10, 1],
        "host under a real BACnet/IoT UDP reflection",
        "The shared real capture of a UDP reflection from IoT devices (BACnet 47808, 9,617 packets, 6,276 reflectors, to 10.10.10.1), referenced in place.",
    ))
}
