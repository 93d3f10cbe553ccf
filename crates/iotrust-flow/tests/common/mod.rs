//! Helpers shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use iotrust_flow::{CaptureReader, FlowRecord};

/// The real captures of the project (`shared/data/pcap`, beside the repository).
pub fn shared_pcap(name: &str) -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("IOTRUST_PCAP_DIR").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/pcap")),
        Some(PathBuf::from("/work/shared/data/pcap")),
    ];
    for dir in candidates.into_iter().flatten() {
        let p = dir.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    // CI has shared/ beside the clone: a missing capture there is a failure, never a skip
    assert!(
        std::env::var_os("CI").is_none(),
        "{name} not found (looked in $IOTRUST_PCAP_DIR, ../shared/data/pcap, /work/shared/data/pcap)"
    );
    eprintln!("SKIPPED: {name} not found (looked in $IOTRUST_PCAP_DIR, ../shared/data/pcap, /work/shared/data/pcap)");
    None
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every record of a capture file; panics on any error.
pub fn read_capture(path: &Path) -> Vec<FlowRecord> {
    let file = std::fs::File::open(path).unwrap();
    let reader = CaptureReader::new(file).unwrap();
    reader.map(|r| r.unwrap()).collect()
}

/// The UDP payloads of a capture of raw IPv4/UDP packets (how the fixtures store datagrams),
/// with their source address.
pub fn datagrams(path: &Path) -> Vec<(std::net::IpAddr, i64, Vec<u8>)> {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = CaptureReader::new(file).unwrap();
    let mut out = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        let ihl = usize::from(p.data[0] & 0x0f) * 4;
        let src: [u8; 4] = p.data[12..16].try_into().unwrap();
        out.push((
            std::net::IpAddr::from(src),
            p.ts_us,
            p.data[ihl + 8..].to_vec(),
        ));
    }
    out
}

/// A minimal classic pcap writer (little-endian, microseconds).
pub struct Pcap(pub Vec<u8>);

impl Pcap {
    pub fn new(link_type: u32) -> Pcap {
        let mut b = Vec::new();
        b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        for v in [0u32, 0, 262_144, link_type] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        Pcap(b)
    }

    pub fn packet(&mut self, ts_us: i64, data: &[u8], orig_len: u32) {
        for v in [
            (ts_us / 1_000_000) as u32,
            (ts_us % 1_000_000) as u32,
            data.len() as u32,
            orig_len,
        ] {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        self.0.extend_from_slice(data);
    }

    /// A raw IPv4/UDP packet carrying `payload` from `src_port` to `dst_port` on loopback.
    pub fn udp(&mut self, ts_us: i64, src_port: u16, dst_port: u16, payload: &[u8]) {
        let total = (28 + payload.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
        p.extend_from_slice(&src_port.to_be_bytes());
        p.extend_from_slice(&dst_port.to_be_bytes());
        p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(payload);
        self.packet(ts_us, &p, p.len() as u32);
    }
}
