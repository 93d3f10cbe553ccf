//! Entry points for fuzz targets (`fuzz/fuzz_targets/probe_*.rs`): each feeds arbitrary bytes
//! to one decoder. They must never panic, whatever the input.

use crate::protocols::{ber, ftp, http, mqtt, snmp, ssh, telnet, tls, udp, x509};

/// Telnet negotiation and the login state machine, with the input split in two.
pub fn telnet(data: &[u8]) {
    let mut n = telnet::Negotiator::default();
    let mut l = telnet::Login::new("root", "xc3511", 42);
    let mid = data
        .first()
        .map(|b| usize::from(*b))
        .unwrap_or(0)
        .min(data.len());
    for part in [&data[..mid], &data[mid..]] {
        let p = n.feed(part);
        let _ = l.on_text(&p.data);
        let _ = l.on_quiet();
    }
    l.on_end(true);
    let _ = telnet::looks_like_telnet(data);
}

/// MQTT packet decoder.
pub fn mqtt(data: &[u8]) {
    let mut d = mqtt::Decoder::default();
    d.feed(data);
    for _ in 0..10_000 {
        match d.next_packet() {
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let _ = mqtt::looks_like_connack(data);
}

/// SNMP response decoder and the BER primitives.
pub fn snmp(data: &[u8]) {
    let _ = snmp::parse_response(data);
    if let Ok((t, _)) = ber::read(data) {
        let _ = ber::int(t.value);
        let _ = ber::oid_to_string(t.value);
    }
}

/// HTTP/RTSP/SSDP response parser, auth challenges and form discovery.
pub fn http(data: &[u8]) {
    for eof in [false, true] {
        if let Ok(Some(r)) = http::parse_response(data, eof, false) {
            for v in r.headers_named("www-authenticate") {
                let c = http::parse_challenge(v);
                let _ = http::digest_authorization(&c, "GET", "/", "u", "p", "c");
            }
            let t = r.text();
            let _ = http::find_login_form(&t);
            let _ = http::title(&t);
        }
    }
    let s = String::from_utf8_lossy(data);
    let _ = http::find_login_form(&s);
    let _ = udp::parse_ssdp(data);
    let _ = udp::is_igd_description(&s);
    let _ = udp::igd_control(&s);
}

/// FTP reply decoder.
pub fn ftp(data: &[u8]) {
    let mut r = ftp::Replies::default();
    r.feed(data);
    for _ in 0..10_000 {
        match r.next_reply() {
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let _ = ftp::looks_like_ftp(data);
    let _ = ssh::parse_ident(data);
    if let Ok(Some(k)) = ssh::parse_kexinit(data) {
        let _ = crate::policy::ssh::judge(&crate::policy::ssh::Offer::from(&k));
    }
}

/// The importers of other tools' output and SBOMs, and the check-file loader: any text gives a
/// document or an error, never a panic.
pub fn import(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for f in crate::import::Format::ALL {
        let _ = crate::import::import(f, "fuzz", &text);
    }
    let _ = crate::checkfile::parse("fuzz", &text);
}

/// TLS first-flight parser and the certificate parser.
pub fn tls(data: &[u8]) {
    let mut p = tls::FlightParser::default();
    let mid = data.len() / 2;
    if p.feed(&data[..mid]).is_ok() {
        let _ = p.feed(&data[mid..]);
    }
    for c in &p.flight.certificates {
        let _ = x509::parse(c);
    }
    let _ = x509::parse(data);
}

/// RTSP responses (HTTP syntax) and the UDP discovery decoders.
pub fn rtsp(data: &[u8]) {
    if let Ok(Some(r)) = http::parse_response(data, true, false) {
        let _ = crate::protocols::rtsp::is_sdp(&r.body);
        let _ = crate::protocols::rtsp::media_count(&r.body);
    }
    let _ = udp::parse_natpmp(data);
    let _ = udp::parse_mdns(data);
    let _ = udp::parse_coap(data);
}

/// RTSP 401 answers: authentication challenges and the Digest answer built from them.
pub fn rtsp_auth(data: &[u8]) {
    for c in crate::protocols::rtsp::challenges(data) {
        let _ = crate::protocols::rtsp::digest_authorization(
            &c,
            "rtsp://10.0.0.1:554/live",
            "admin",
            "12345",
            7,
        );
    }
    let s = String::from_utf8_lossy(data);
    for line in s.lines().take(64) {
        let c = http::parse_challenge(line);
        let _ = crate::protocols::rtsp::digest_authorization(&c, "rtsp://h/", "u", "p", 1);
    }
}

/// SSH keyboard-interactive prompts as a server sends them: one prompt per line, the first
/// byte of each line saying whether the answer is echoed.
pub fn ssh_kbdint(data: &[u8]) {
    let prompts: Vec<(String, bool)> = data
        .split(|b| *b == b'\n')
        .take(64)
        .map(|l| {
            let echo = l.first().is_some_and(|b| b & 1 == 1);
            (
                String::from_utf8_lossy(l.get(1..).unwrap_or_default()).into_owned(),
                echo,
            )
        })
        .collect();
    let _ = crate::checks::auth::kbdint_answers(&prompts, "admin", "admin");
}

#[cfg(test)]
mod tests {
    /// A cheap in-tree stand-in for the fuzzers: pseudo-random and mutated inputs.
    #[test]
    fn decoders_survive_random_bytes() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let seeds: &[&[u8]] = &[
            b"HTTP/1.1 401 X\r\nWWW-Authenticate: Digest realm=\"a\", nonce=\"b\", qop=\"auth\"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            &[0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa2, 0x10],
            &[0xff, 0xfb, 0x01, 0xff, 0xfd, 0x1f, 0xff, 0xfa, 0x18, 0x01, 0xff, 0xf0, b'l', b'o', b'g', b'i', b'n', b':'],
            &[0x20, 0x02, 0x00, 0x00, 0x30, 0x05, 0x00, 0x01, b'a', b'x', b'y'],
            &[22, 3, 3, 0, 10, 2, 0, 0, 6, 3, 3, 0, 0, 0, 0],
            b"220-a\r\n220 b\r\n",
            br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"a","components":[]}]}"#,
            br#"<nmaprun><host><address addr="10.0.0.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="22"><state state="open"/><script id="ssh2-enum-algos"><table key="kex_algorithms"><elem>x</elem></table></script></port></ports></host></nmaprun>"#,
            br#"[{"id":"cipher-tls1_2_x2f","ip":"h/10.0.0.1","port":"443","finding":"TLS 1.2 x2f AES128-SHA TLS_RSA_WITH_AES_128_CBC_SHA"}]"#,
            b"[[check]]\nid = \"a\"\nprotocol = \"tcp\"\nrequest = { send_hex = \"00\" }\n",
        ];
        for round in 0..3000 {
            let seed = seeds[round % seeds.len()];
            let mut v = seed.to_vec();
            for _ in 0..(round % 7) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let pos = (x as usize) % (v.len() + 1);
                match x % 3 {
                    0 if pos < v.len() => v[pos] = (x >> 8) as u8,
                    1 => v.insert(pos, (x >> 16) as u8),
                    _ => v.truncate(pos),
                }
            }
            super::telnet(&v);
            super::mqtt(&v);
            super::snmp(&v);
            super::http(&v);
            super::ftp(&v);
            super::tls(&v);
            super::rtsp(&v);
            super::rtsp_auth(&v);
            super::ssh_kbdint(&v);
            super::import(&v);
        }
    }
}
