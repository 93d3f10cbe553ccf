//! Known failure shapes, each its own scenario.

use std::io;
use std::path::Path;

use crate::wire::{ip, Capture, Rng, Tcp, ZConn, ZeekLogs, SEC};
use crate::{Labels, BASE_US};

/// A short check-in: handshake, a small request and answer, close.
fn checkin(
    cap: &mut Capture,
    rng: &mut Rng,
    t: i64,
    dev: [u8; 4],
    c2: [u8; 4],
    port: u16,
    sport: u16,
) {
    let mut s = Tcp::open(cap, rng, t, dev, c2, sport, port, 80_000);
    let req: Vec<u8> = (0..96).map(|_| (rng.u16() & 0xff) as u8).collect();
    let resp: Vec<u8> = (0..48).map(|_| (rng.u16() & 0xff) as u8).collect();
    let e = s.exchange(cap, t + 200_000, 80_000, &req, &resp);
    s.close(cap, e + 100_000, 80_000);
}

/// The conn.log line of [`checkin`].
fn checkin_conn(t: i64, dev: [u8; 4], c2: [u8; 4], port: u16, sport: u16) -> ZConn {
    ZConn {
        ts: t,
        orig_h: ip(dev),
        orig_p: sport,
        resp_h: ip(c2),
        resp_p: port,
        proto: "tcp",
        service: None,
        duration: Some(660_000),
        orig_bytes: Some(96),
        resp_bytes: Some(48),
        conn_state: "SF",
        history: Some("ShADadFf".into()),
        orig_pkts: 5,
        orig_ip_bytes: 96 + 5 * 40,
        resp_pkts: 4,
        resp_ip_bytes: 48 + 4 * 40,
    }
}

/// Two C2 addresses polled in turn, 35 s apart (each one every 70 s), for 2 hours.
pub(crate) fn two_c2(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 60];
    let a = [203, 0, 113, 100];
    let b = [203, 0, 113, 101];
    let start = BASE_US + 60 * SEC;
    let mut cap = Capture::new();
    let mut t = start;
    let mut k = 0u32;
    while t < start + 2 * 3600 * SEC {
        let c2 = if k % 2 == 0 { a } else { b };
        let jitter = if k == 0 {
            0
        } else {
            rng.range(-300_000, 300_000)
        };
        let (at, sp) = (t + jitter, rng.ephemeral());
        checkin(&mut cap, rng, at, dev, c2, 8443, sp);
        t += 35 * SEC;
        k += 1;
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("failure-two-c2-alternating", "failure-class", "A bot polling two C2 addresses in turn, 35 s apart (each address every 70 s ± 0.3 s), on TCP 8443, for 2 hours: per address a regular 70 s beacon; per device a 35 s one.")
        .family("generic-c2")
        .pcap("traffic.pcap")
        .host(dev, "infected", "device polling two C2s alternately", Some(start))
        .c2(&format!("{}:8443", ip(a)))
        .c2(&format!("{}:8443", ip(b)))
        .fact("the shape (two C2 addresses polled in turn 35 s apart)", "the project's issue (failure shapes)", "M"))
}

/// One beacon an hour for 20 hours: should be one incident, not open/close flapping.
pub(crate) fn hourly_20h(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 61];
    let c2 = [203, 0, 113, 110];
    let start = BASE_US + 120 * SEC;
    let mut cap = Capture::new();
    for h in 0..=20i64 {
        let (at, sp) = (
            start
                + h * 3600 * SEC
                + if h == 0 {
                    0
                } else {
                    rng.range(-2 * SEC, 2 * SEC)
                },
            rng.ephemeral(),
        );
        checkin(&mut cap, rng, at, dev, c2, 443, sp);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("failure-hourly-beacon-20h", "failure-class", "A bot checking in once an hour (±2 s) on TCP 443 for 20 hours (21 connections). Expected: one incident for the whole time, not a series of opened/closed incidents.")
        .family("generic-c2")
        .pcap("traffic.pcap")
        .host(dev, "infected", "device with an hourly beacon", Some(start))
        .c2(&format!("{}:443", ip(c2)))
        .fact("the shape (an hourly beacon over 20 h should give one incident)", "the project's issue (failure shapes)", "M"))
}

/// The same 3,600 s beacon as pcap and as Zeek: the two should agree.
pub(crate) fn beacon_both(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 62];
    let c2 = [203, 0, 113, 111];
    let start = BASE_US + 300 * SEC;
    let mut cap = Capture::new();
    let mut z = ZeekLogs::new();
    for h in 0..=16i64 {
        let t = start + h * 3600 * SEC + if h == 0 { 0 } else { rng.range(-SEC, SEC) };
        let sp = rng.ephemeral();
        checkin(&mut cap, rng, t, dev, c2, 443, sp);
        z.conn.push(checkin_conn(t, dev, c2, 443, sp));
    }
    cap.write(&dir.join("traffic.pcap"))?;
    z.write(rng, dir)?;
    Ok(Labels::new("failure-beacon-3600-pcap-vs-zeek", "failure-class", "One hourly (3,600 s ± 1 s) beacon on TCP 443 over 16 hours, written both as a pcap and as a Zeek conn.log of the same connections. Expected: the same finding from both.")
        .family("generic-c2")
        .pcap("traffic.pcap")
        .zeek()
        .host(dev, "infected", "device with an hourly beacon", Some(start))
        .c2(&format!("{}:443", ip(c2)))
        .fact("the shape (the same 3,600 s beacon as pcap and Zeek should agree)", "the project's issue (failure shapes)", "M"))
}
