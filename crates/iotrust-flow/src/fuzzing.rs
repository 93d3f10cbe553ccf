//! Entry points for the fuzz targets in `fuzz/` (one line each there). Each drives one decoder
//! over arbitrary bytes; the property fuzzed is: no panic, no hang, bounded memory.

use std::net::{IpAddr, Ipv4Addr};

use crate::netflow::{Datagram, DecodeConfig, FlowDecoder, Protocol};
use crate::{CaptureReader, FlowRecord, ZeekReader};

fn capture(data: &[u8]) {
    // with the DNS messages of port-53 packets (UDP, and TCP segments with data)
    // and the MUD URLs devices announce (DHCP, LLDP)
    if let Ok(reader) = CaptureReader::new(data) {
        let mut reader = reader.with_dns().with_mud();
        while let Some(item) = reader.next() {
            let dns = reader.take_dns();
            assert!(item.is_ok() || dns.is_none());
            for a in reader.take_announcements() {
                assert!(a.url.len() <= crate::announce::MAX_URL && a.url.starts_with("https://"));
                assert!(crate::announce::usable(a.device));
            }
        }
    }
    // Also through the raw packet interface.
    if let Ok(mut reader) = CaptureReader::with_keep(data, 64) {
        while let Some(item) = reader.next_packet() {
            let _ = item.map(|p| p.data.len());
        }
    }
}

/// Classic pcap: the input is taken as a file (a pcap header is prepended when the input does
/// not start with one, so the fuzzer reaches the packet records quickly).
pub fn pcap(data: &[u8]) {
    capture(data);
    let mut file = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0,
    ];
    let link = data.first().copied().unwrap_or(1);
    file.extend_from_slice(&u32::from(link).to_le_bytes());
    file.extend_from_slice(data.get(1..).unwrap_or_default());
    capture(&file);
}

/// pcapng: the input is taken as a file, and once more after a minimal section header.
pub fn pcapng(data: &[u8]) {
    capture(data);
    let mut file = vec![
        0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
    ];
    file.extend_from_slice(&[0xff; 8]);
    file.extend_from_slice(&[28, 0, 0, 0]);
    file.extend_from_slice(data);
    capture(&file);
}

/// DNS messages (the domain-indicator reader of UDP payloads): every name read stays within
/// 255 bytes and every answer kept is an address record.
pub fn dns(data: &[u8]) {
    if let Ok(m) = crate::dns::parse(data) {
        for name in m
            .question
            .iter()
            .map(|q| &q.name)
            .chain(m.answers.iter().map(|a| &a.name))
        {
            // an escaped byte takes 4 characters, a dot 1: at most 4 x 255
            assert!(name.len() <= 4 * 255);
        }
        assert!(m.answers.len() <= crate::dns::MAX_ANSWERS);
    }
}

/// Every URL a MUD decoder accepts passes [`crate::announce::check_url`] again, and an
/// address it gives is usable.
fn announced(r: Result<Option<crate::announce::Found>, crate::announce::AnnounceError>) {
    if let Ok(Some(f)) = r {
        assert!(crate::announce::check_url("fuzz", f.url.as_bytes()).is_ok());
        assert!(f.addr.is_none_or(crate::announce::usable));
    }
}

/// A DHCPv4 message (UDP payload), for its MUD URL option 161.
pub fn mud_dhcpv4(data: &[u8]) {
    announced(crate::announce::dhcpv4(data));
}

/// A DHCPv6 message (UDP payload), for its MUD URL option 112, relays included.
pub fn mud_dhcpv6(data: &[u8]) {
    announced(crate::announce::dhcpv6(data));
}

/// An LLDP data unit (the TLVs after the ethertype), for its MUD URL TLV.
pub fn mud_lldp(data: &[u8]) {
    announced(crate::announce::lldp(data));
}

fn datagrams(protocol: Protocol, data: &[u8]) {
    let mut decoder = FlowDecoder::new(DecodeConfig {
        max_domains: 4,
        max_templates: 64,
        pending_bytes: 4096,
        max_samplers: 8,
        ..DecodeConfig::default()
    });
    let mut out: Vec<FlowRecord> = Vec::new();
    let exporter = IpAddr::V4(Ipv4Addr::LOCALHOST);
    // The input is a sequence of datagrams, each prefixed by its 2-byte length, so templates
    // of one can serve data of the next; then the whole input once as one datagram.
    let mut rest = data;
    while let [a, b, tail @ ..] = rest {
        let n = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (d, next) = tail.split_at(n);
        let dg = Datagram {
            exporter,
            received_us: 0,
            bytes: d,
        };
        let _ = decoder.decode_as(protocol, dg, &mut out);
        let _ = decoder.decode(dg, &mut out);
        rest = next;
        out.clear();
    }
    let dg = Datagram {
        exporter,
        received_us: 0,
        bytes: data,
    };
    let _ = decoder.decode_as(protocol, dg, &mut out);
}

/// NetFlow v5 datagrams.
pub fn netflow_v5(data: &[u8]) {
    datagrams(Protocol::NetflowV5, data);
}

/// NetFlow v9 datagrams (template state carried across the length-prefixed datagrams).
pub fn netflow_v9(data: &[u8]) {
    datagrams(Protocol::NetflowV9, data);
}

/// IPFIX messages (template state carried across the length-prefixed messages).
pub fn ipfix(data: &[u8]) {
    datagrams(Protocol::Ipfix, data);
}

/// sFlow v5 datagrams.
pub fn sflow(data: &[u8]) {
    datagrams(Protocol::Sflow, data);
}

/// Zeek conn.log and dns.log text (TSV or JSON lines).
pub fn zeek(data: &[u8]) {
    let mut reader = ZeekReader::new(data);
    while let Some(item) = reader.next() {
        // a dns.log line's message is bounded like one read off the wire
        if let (Ok(_), Some(msg)) = (item, reader.take_dns()) {
            assert!(msg.answers.len() <= crate::dns::MAX_ANSWERS);
            if let Some(q) = msg.question {
                assert!(!q.name.is_empty() && !q.name.contains(".."));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_points_accept_garbage() {
        let inputs: [&[u8]; 4] = [b"", b"\x00", &[0xff; 300], b"\x00\x10\x00\x0a\x00\x10"];
        for d in inputs {
            super::pcap(d);
            super::pcapng(d);
            super::netflow_v5(d);
            super::netflow_v9(d);
            super::ipfix(d);
            super::sflow(d);
            super::zeek(d);
            super::mud_dhcpv4(d);
            super::mud_dhcpv6(d);
            super::mud_lldp(d);
        }
    }
}
