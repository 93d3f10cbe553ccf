//! Benign IoT and household behaviour.

use std::io;
use std::path::Path;

use crate::botnets::{ntp, NTP, ROUTER};
use crate::wire::{ip, Capture, Rng, Tcp, ZConn, ZeekLogs, SEC};
use crate::{Labels, BASE_US};

/// A TLS-looking record: content type, version 3.3, length, then `len` bytes.
fn tls_record(kind: u8, len: usize, rng: &mut Rng) -> Vec<u8> {
    let mut r = vec![kind, 3, 3];
    r.extend_from_slice(&(len as u16).to_be_bytes());
    (0..len).for_each(|_| r.push((rng.u16() & 0xff) as u8));
    r
}

/// A TLS 1.3-style handshake on an open connection; returns the time after it.
fn tls_handshake(c: &mut Tcp, cap: &mut Capture, rng: &mut Rng, t: i64, rtt: i64) -> i64 {
    let hello = tls_record(22, 512, rng);
    let t = c.c_send(cap, t, &hello, 0, 100);
    let server = tls_record(22, 1400, rng);
    let t = c.s_send(cap, t + rtt, &server, 2600, 300);
    let fin = tls_record(23, 74, rng);
    c.c_send(cap, t + 2_000, &fin, 0, 100)
}

/// Smart-home hub: an hourly HTTP check-in to its vendor cloud with a DNS lookup before
/// each, NTP, over 24 hours (Zeek).
pub(crate) fn hub(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 30];
    let cloud = [198, 51, 100, 10];
    let mut z = ZeekLogs::new();
    for h in 0..24i64 {
        let t = BASE_US + h * 3600 * SEC + 40 * SEC + rng.range(-3 * SEC, 3 * SEC);
        z.lookup(
            rng,
            t,
            dev,
            ROUTER,
            "api.hub-vendor.example",
            &[cloud],
            300,
            18_000,
        );
        let dur = rng.range(250_000, 600_000);
        let ob = rng.range(380, 520) as u64;
        let rb = rng.range(900, 1600) as u64;
        z.conn.push(ZConn {
            ts: t + 20_000,
            orig_h: ip(dev),
            orig_p: rng.ephemeral(),
            resp_h: ip(cloud),
            resp_p: 80,
            proto: "tcp",
            service: Some("http"),
            duration: Some(dur),
            orig_bytes: Some(ob),
            resp_bytes: Some(rb),
            conn_state: "SF",
            history: Some("ShADadFf".into()),
            orig_pkts: 6,
            orig_ip_bytes: ob + 6 * 52,
            resp_pkts: 5,
            resp_ip_bytes: rb + 5 * 52,
        });
        // NTP about every 1024 s
        for k in 0..4i64 {
            let tn = BASE_US + h * 3600 * SEC + k * 1024 * SEC + 300 * SEC;
            if tn < BASE_US + (h + 1) * 3600 * SEC {
                z.conn.push(ZConn {
                    ts: tn,
                    orig_h: ip(dev),
                    orig_p: 123,
                    resp_h: ip(NTP),
                    resp_p: 123,
                    proto: "udp",
                    service: Some("ntp"),
                    duration: Some(24_000),
                    orig_bytes: Some(48),
                    resp_bytes: Some(48),
                    conn_state: "SF",
                    history: Some("Dd".into()),
                    orig_pkts: 1,
                    orig_ip_bytes: 76,
                    resp_pkts: 1,
                    resp_ip_bytes: 76,
                });
            }
        }
    }
    z.write(rng, dir)?;
    Ok(Labels::new("benign-smart-home-hub", "benign", "A smart-home hub over 24 h: every hour a DNS lookup of its vendor API (TTL 300) and an HTTP check-in to it (±3 s); NTP every 1,024 s. Zeek conn.log + dns.log.")
        .zeek()
        .host(dev, "benign", "smart-home hub", None)
        .fact("IoT devices check in with their vendor's cloud on a fixed period, which is beaconing on the wire", "crates/iotrust-watch/README.md (allow lines: 'an IoT device checking in with its vendor's cloud is beaconing on the wire')", "M")
        .fact("NTP clients poll between 64 and 1,024 s", "RFC 5905 (poll exponent 6-10)", "M")
        .note("The hourly period is what the brief asks for; real hubs vary (L)."))
}

/// Voice assistant: a long-lived TLS connection to its cloud, periodic new TLS sessions,
/// NTP and DNS, for 2 hours (pcap).
pub(crate) fn voice(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 31];
    let cloud = [198, 51, 100, 20];
    let metrics = [198, 51, 100, 21];
    let mut cap = Capture::new();
    let t0 = BASE_US + 10 * SEC;
    cap.dns(
        rng,
        t0,
        dev,
        ROUTER,
        "pool.ntp.example",
        &[NTP],
        3600,
        15_000,
    );
    ntp(&mut cap, t0 + 30_000, dev, NTP, 123);
    cap.dns(
        rng,
        t0 + SEC,
        dev,
        ROUTER,
        "avs.voice-vendor.example",
        &[cloud],
        60,
        15_000,
    );
    let mut c = Tcp::open(&mut cap, rng, t0 + SEC + 30_000, dev, cloud, 0, 443, 35_000);
    let mut t = tls_handshake(&mut c, &mut cap, rng, t0 + SEC + 100_000, 35_000);
    let end = t0 + 2 * 3600 * SEC;
    let mut next_session = t0 + 300 * SEC;
    let mut next_ntp = t0 + 1024 * SEC;
    while t < end {
        // HTTP/2 PING on the downchannel about every 5 minutes, and the odd utterance
        t += rng.range(20, 40) * SEC;
        if rng.below(8) == 0 {
            let up = tls_record(23, 1200, rng);
            c.c_send(&mut cap, t, &up, 30_000, 8_000);
            let down = tls_record(23, 1300, rng);
            c.s_send(&mut cap, t + 900_000, &down, 20_000, 2_000);
        } else {
            let p = tls_record(23, 30, rng);
            c.c_send(&mut cap, t, &p, 0, 100);
            let p = tls_record(23, 30, rng);
            c.s_send(&mut cap, t + 35_000, &p, 0, 100);
        }
        if t > next_session {
            cap.dns(
                rng,
                t + SEC,
                dev,
                ROUTER,
                "metrics.voice-vendor.example",
                &[metrics],
                60,
                15_000,
            );
            let mut m = Tcp::open(
                &mut cap,
                rng,
                t + SEC + 20_000,
                dev,
                metrics,
                0,
                443,
                40_000,
            );
            let e = tls_handshake(&mut m, &mut cap, rng, t + SEC + 100_000, 40_000);
            let body = tls_record(23, 900, rng);
            let e = m.c_send(&mut cap, e + 5_000, &body, 3000, 300);
            m.close(&mut cap, e + 200_000, 40_000);
            next_session = t + rng.range(240, 420) * SEC;
        }
        if t > next_ntp {
            ntp(&mut cap, t + 2 * SEC, dev, NTP, 123);
            next_ntp = t + 1024 * SEC;
        }
    }
    c.close(&mut cap, end, 35_000);
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("benign-voice-assistant", "benign", "A voice assistant for 2 hours: one long-lived TLS connection to its cloud (pings every 20-40 s, the odd utterance upload), a metrics TLS session every 4-7 minutes, NTP every 1,024 s, DNS.")
        .pcap("traffic.pcap")
        .host(dev, "benign", "voice assistant", None)
        .fact("voice assistants keep a persistent HTTP/2 downchannel to their cloud and open short sessions for events", "recalled from Amazon AVS documentation (downchannel, PING) — not retrieved here", "L")
        .fact("NTP poll interval up to 1,024 s", "RFC 5905", "M"))
}

/// Door-lock gateway: MQTT over TLS (8883) with a keep-alive ping every 60 s, 3 hours.
pub(crate) fn door_lock(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 32];
    let broker = [198, 51, 100, 30];
    let mut cap = Capture::new();
    let t0 = BASE_US + 5 * SEC;
    cap.dns(
        rng,
        t0,
        dev,
        ROUTER,
        "mqtt.lock-vendor.example",
        &[broker],
        300,
        15_000,
    );
    let mut c = Tcp::open(&mut cap, rng, t0 + 30_000, dev, broker, 0, 8883, 30_000);
    let mut t = tls_handshake(&mut c, &mut cap, rng, t0 + 100_000, 30_000);
    // CONNECT / CONNACK, SUBSCRIBE / SUBACK inside TLS
    let r = tls_record(23, 90, rng);
    t = c.c_send(&mut cap, t + 10_000, &r, 0, 100);
    let r = tls_record(23, 21, rng);
    t = c.s_send(&mut cap, t + 30_000, &r, 0, 100);
    let end = t0 + 3 * 3600 * SEC;
    while t < end {
        t += 60 * SEC + rng.range(-30_000, 30_000);
        // PINGREQ (2 bytes) / PINGRESP in a TLS record
        let r = tls_record(23, 19, rng);
        c.c_send(&mut cap, t, &r, 0, 100);
        let r = tls_record(23, 19, rng);
        c.s_send(&mut cap, t + 30_000, &r, 0, 100);
        if rng.below(40) == 0 {
            // a lock/unlock event published
            let r = tls_record(23, 160, rng);
            c.c_send(&mut cap, t + 7 * SEC, &r, 0, 100);
        }
    }
    c.close(&mut cap, end, 30_000);
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("benign-door-lock-gateway", "benign", "A door-lock gateway for 3 hours: one MQTT-over-TLS connection to its vendor's broker on 8883, PINGREQ/PINGRESP every 60 s, an occasional event.")
        .pcap("traffic.pcap")
        .host(dev, "benign", "door-lock gateway", None)
        .fact("MQTT clients send PINGREQ when idle for the keep-alive interval; 8883 is MQTT over TLS", "OASIS MQTT 3.1.1 §3.1.2.10 and §4.2 (recalled)", "M")
        .fact("a 60 s keep-alive is a common client default", "recalled (e.g. Paho clients)", "L"))
}

/// A phone on the same LAN: browsing (many names, HTTPS) and a push channel, 1 hour.
pub(crate) fn phone(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 33];
    let push = [198, 51, 100, 40];
    let mut cap = Capture::new();
    let t0 = BASE_US + 2 * SEC;
    cap.dns(
        rng,
        t0,
        dev,
        ROUTER,
        "push.phone-vendor.example",
        &[push],
        300,
        12_000,
    );
    let mut p = Tcp::open(&mut cap, rng, t0 + 20_000, dev, push, 0, 5228, 30_000);
    let mut tp = tls_handshake(&mut p, &mut cap, rng, t0 + 80_000, 30_000);
    let end = t0 + 3600 * SEC;
    // browsing sessions: bursts of page loads
    let mut t = t0 + 30 * SEC;
    while t < end {
        let pages = rng.range(3, 12);
        for _ in 0..pages {
            let names = rng.range(3, 9);
            for k in 0..names {
                let site = [203, 0, 113, 128 + rng.below(100) as u8];
                let name = format!("cdn{}.site{}.example", k, rng.below(40));
                let dns_rtt = rng.range(5_000, 40_000);
                cap.dns(rng, t, dev, ROUTER, &name, &[site], 60, dns_rtt);
                let rtt = rng.range(10_000, 60_000);
                let mut c = Tcp::open(&mut cap, rng, t + 50_000, dev, site, 0, 443, rtt);
                let e = tls_handshake(&mut c, &mut cap, rng, t + 120_000, 30_000);
                let req = tls_record(23, 400, rng);
                let e = c.c_send(&mut cap, e + 1_000, &req, 0, 100);
                let resp = tls_record(23, 1400, rng);
                let e = c.s_send(
                    &mut cap,
                    e + 40_000,
                    &resp,
                    rng.range(2_000, 60_000) as usize,
                    150,
                );
                c.close(&mut cap, e + rng.range(1, 15) * SEC, 30_000);
                t += rng.range(20_000, 300_000);
            }
            t += rng.range(5, 60) * SEC;
        }
        t += rng.range(120, 900) * SEC;
    }
    // push heartbeat every ~4.5 minutes (±20 s)
    while tp < end {
        tp += 270 * SEC + rng.range(-20 * SEC, 20 * SEC);
        let r = tls_record(23, 20, rng);
        p.c_send(&mut cap, tp, &r, 0, 100);
        let r = tls_record(23, 20, rng);
        p.s_send(&mut cap, tp + 30_000, &r, 0, 100);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("benign-phone", "benign", "A phone on the same LAN for 1 hour: browsing sessions (DNS for many names, short HTTPS connections), and a push channel on 5228 with a heartbeat every ~4.5 minutes.")
        .pcap("traffic.pcap")
        .host(dev, "benign", "smartphone", None)
        .fact("mobile push channels (e.g. FCM on 5228) are long-lived TLS connections with heartbeats of minutes", "recalled — not retrieved here", "L")
        .note("Web sites stand in 203.0.113.128-227."))
}

/// LAN discovery: a device broadcasting itself to the subnet every 30 s, 2 hours.
pub(crate) fn lan_broadcast(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 34];
    let bcast = [192, 168, 1, 255];
    let mut cap = Capture::new();
    let mut t = BASE_US + 3 * SEC;
    let end = BASE_US + 2 * 3600 * SEC;
    let payload: Vec<u8> = (0..172).map(|i| (i * 7 % 251) as u8).collect();
    while t < end {
        cap.udp(t, dev, bcast, 6667, 6667, &payload);
        t += 30 * SEC + rng.range(-5_000, 5_000);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("benign-lan-discovery-broadcast", "benign", "A smart plug announcing itself to the subnet broadcast (192.168.1.255) on UDP 6667 every 30 s for 2 hours, as Tuya-based devices do.")
        .pcap("traffic.pcap")
        .host(dev, "benign", "smart plug (LAN discovery)", None)
        .fact("Tuya-based devices broadcast discovery datagrams on UDP 6666/6667 to the LAN", "recalled from tinytuya / LocalTuya documentation (not retrieved here)", "L")
        .note("UDP 6667 is also IRC's TCP port: a port-only C2 rule would misfire."))
}

/// mDNS and SSDP chatter of several devices for an hour.
pub(crate) fn mdns_ssdp(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let devs = [[192, 168, 1, 35], [192, 168, 1, 36], [192, 168, 1, 37]];
    let mdns = [224, 0, 0, 251];
    let ssdp = [239, 255, 255, 250];
    let mut cap = Capture::new();
    let end = BASE_US + 3600 * SEC;
    for (i, d) in devs.iter().enumerate() {
        // mDNS: announcements at start (1 s, 2 s, 4 s), then queries and re-announcements
        let mut t = BASE_US + i as i64 * 7 * SEC;
        for k in [0, 1, 3] {
            cap.udp(t + k * SEC, *d, mdns, 5353, 5353, &mdns_msg(i, true));
        }
        t += 10 * SEC;
        while t < end {
            cap.udp(t, *d, mdns, 5353, 5353, &mdns_msg(i, rng.below(4) == 0));
            t += rng.range(20, 120) * SEC;
        }
        // SSDP: NOTIFY ssdp:alive for 3 types every ~ max-age/2 ±, M-SEARCH now and then
        let mut t = BASE_US + 2 * SEC + i as i64 * SEC;
        while t < end {
            for (k, nt) in [
                "upnp:rootdevice",
                "urn:schemas-upnp-org:device:MediaRenderer:1",
                "urn:schemas-upnp-org:service:AVTransport:1",
            ]
            .iter()
            .enumerate()
            {
                let m = format!("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://{}:49152/desc.xml\r\nNT: {nt}\r\nNTS: ssdp:alive\r\nSERVER: Linux/4.9 UPnP/1.0 Device/1.0\r\nUSN: uuid:0000-{i}::{nt}\r\n\r\n", ip(*d));
                cap.udp(t + k as i64 * 20_000, *d, ssdp, 1900, 1900, m.as_bytes());
            }
            t += rng.range(600, 900) * SEC;
        }
    }
    // a phone searching: M-SEARCH, unicast answers from each device
    let phone = [192, 168, 1, 38];
    let mut t = BASE_US + 60 * SEC;
    while t < end {
        let sp = rng.ephemeral();
        cap.udp(t, phone, ssdp, sp, 1900, b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n");
        for (i, d) in devs.iter().enumerate() {
            let r = format!("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://{}:49152/desc.xml\r\nST: upnp:rootdevice\r\nUSN: uuid:0000-{i}::upnp:rootdevice\r\n\r\n", ip(*d));
            cap.udp(
                t + rng.range(10_000, 900_000),
                *d,
                phone,
                1900,
                sp,
                r.as_bytes(),
            );
        }
        cap.udp(t + 5_000, phone, mdns, 5353, 5353, &mdns_msg(9, false));
        t += rng.range(120, 600) * SEC;
    }
    cap.write(&dir.join("traffic.pcap"))?;
    let mut l = Labels::new("benign-mdns-ssdp", "benign", "Three media devices and a phone for an hour: mDNS announcements and queries to 224.0.0.251:5353, SSDP NOTIFY ssdp:alive to 239.255.255.250:1900 every 10-15 minutes, M-SEARCH from the phone with unicast answers.")
        .pcap("traffic.pcap");
    for d in devs {
        l = l.host(d, "benign", "media device (mDNS/SSDP)", None);
    }
    Ok(l.host(phone, "benign", "phone searching (SSDP M-SEARCH)", None)
        .fact("mDNS: multicast 224.0.0.251 port 5353; announcements repeated at start, one second apart at least, then doubled", "RFC 6762 §8.3 (recalled)", "M")
        .fact("SSDP: NOTIFY ssdp:alive to 239.255.255.250:1900 with CACHE-CONTROL max-age ≥ 1800, re-sent before expiry; M-SEARCH answered by unicast", "UPnP Device Architecture 1.1 §1 (recalled)", "M"))
}

fn mdns_msg(i: usize, response: bool) -> Vec<u8> {
    let name = format!("device-{i}._googlecast._tcp.local");
    if response {
        iotrust_flow::testing::dns::response(
            0,
            &name,
            1,
            &[(&[192, 168, 1, 35 + i as u8][..], 120)],
        )
    } else {
        iotrust_flow::testing::dns::query(0, "_googlecast._tcp.local", 12)
    }
}

/// Camera: a continuous video upload over TLS at ~1.5 Mbit/s for 5 minutes (payload not
/// captured, as with a snap length), then a clip upload every few minutes.
pub(crate) fn camera(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 39];
    let ingest = [198, 51, 100, 60];
    let mut cap = Capture::new();
    let t0 = BASE_US + 2 * SEC;
    cap.dns(
        rng,
        t0,
        dev,
        ROUTER,
        "ingest.cam-vendor.example",
        &[ingest],
        300,
        14_000,
    );
    let mut c = Tcp::open(&mut cap, rng, t0 + 20_000, dev, ingest, 0, 443, 28_000);
    let mut t = tls_handshake(&mut c, &mut cap, rng, t0 + 80_000, 28_000);
    let stream_end = t + 300 * SEC;
    // 1.5 Mbit/s ≈ 187 kB/s: one 1,448-byte segment every ~7.7 ms, in frames of a GOP
    while t < stream_end {
        let frame = rng.range(4_000, 9_000) as usize;
        let rec = tls_record(23, 0, rng);
        t = c.c_send(&mut cap, t, &rec[..5], frame, 7_700);
        t += rng.range(1_000, 10_000);
    }
    c.close(&mut cap, t, 28_000);
    // motion clips: a new connection and ~600 kB each, every 3-8 minutes for 40 minutes
    let end = t + 2400 * SEC;
    while t < end {
        t += rng.range(180, 480) * SEC;
        let mut u = Tcp::open(&mut cap, rng, t, dev, ingest, 0, 443, 28_000);
        let e = tls_handshake(&mut u, &mut cap, rng, t + 60_000, 28_000);
        let rec = tls_record(23, 0, rng);
        let e = u.c_send(
            &mut cap,
            e + 2_000,
            &rec[..5],
            rng.range(400_000, 800_000) as usize,
            2_000,
        );
        u.close(&mut cap, e + 100_000, 28_000);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("benign-camera-upload", "benign", "A cloud camera: 5 minutes of live video uploaded over TLS at ~1.5 Mbit/s (payload not captured), then a motion clip (~0.6 MB, new TLS connection) every 3-8 minutes for 40 minutes.")
        .pcap("traffic.pcap")
        .host(dev, "benign", "cloud camera", None)
        .fact("cloud cameras upload video continuously or as event clips to the vendor's ingest servers over TLS", "general knowledge of consumer cloud cameras — rates are modelling choices", "L"))
}

/// Firmware update check: at boot and every 24 h a small HTTPS check, one 8 MB download,
/// over 48 hours (Zeek).
pub(crate) fn firmware(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 40];
    let upd = [198, 51, 100, 70];
    let cdn = [198, 51, 100, 71];
    let mut z = ZeekLogs::new();
    for (k, t) in [
        BASE_US + 60 * SEC,
        BASE_US + 86_400 * SEC + 3_100 * SEC,
        BASE_US + 2 * 86_400 * SEC - 600 * SEC,
    ]
    .into_iter()
    .enumerate()
    {
        z.lookup(
            rng,
            t,
            dev,
            ROUTER,
            "update.fw-vendor.example",
            &[upd],
            300,
            20_000,
        );
        let ob = rng.range(700, 900) as u64;
        let rb = rng.range(3_800, 4_600) as u64;
        z.conn.push(ZConn {
            ts: t + 30_000,
            orig_h: ip(dev),
            orig_p: rng.ephemeral(),
            resp_h: ip(upd),
            resp_p: 443,
            proto: "tcp",
            service: Some("ssl"),
            duration: Some(rng.range(300_000, 900_000)),
            orig_bytes: Some(ob),
            resp_bytes: Some(rb),
            conn_state: "SF",
            history: Some("ShADadFf".into()),
            orig_pkts: 9,
            orig_ip_bytes: ob + 9 * 52,
            resp_pkts: 8,
            resp_ip_bytes: rb + 8 * 52,
        });
        if k == 1 {
            // an update is available: the image from the CDN
            let ts = t + 5 * SEC;
            z.lookup(
                rng,
                ts,
                dev,
                ROUTER,
                "dl.fw-vendor.example",
                &[cdn],
                300,
                20_000,
            );
            let rb = 8_388_608u64;
            z.conn.push(ZConn {
                ts: ts + 30_000,
                orig_h: ip(dev),
                orig_p: rng.ephemeral(),
                resp_h: ip(cdn),
                resp_p: 443,
                proto: "tcp",
                service: Some("ssl"),
                duration: Some(42 * SEC),
                orig_bytes: Some(2_900),
                resp_bytes: Some(rb),
                conn_state: "SF",
                history: Some("ShADadFf".into()),
                orig_pkts: 2_950,
                orig_ip_bytes: 2_900 + 2_950 * 52,
                resp_pkts: 5_800,
                resp_ip_bytes: rb + 5_800 * 52,
            });
        }
    }
    z.write(rng, dir)?;
    Ok(Labels::new("benign-firmware-update-check", "benign", "A device over 48 hours: a firmware update check over HTTPS at boot and about daily, one 8 MiB firmware download from the vendor CDN. Zeek conn.log + dns.log.")
        .zeek()
        .host(dev, "benign", "device checking for firmware updates", None)
        .fact("devices check their vendor's update server periodically and download images over HTTPS", "ETSI EN 303 645 provision 5.3 (software updates; /work/shared/facts/standards.md)", "M")
        .note("The daily cadence is a modelling choice (L)."))
}
