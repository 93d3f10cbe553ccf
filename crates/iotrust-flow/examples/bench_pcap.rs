//! Writes the collector benchmark's records (`testing::bench_record`: subscribers in
//! 10.1.0.0/16 to random destinations) as a pcap of one packet a record, in time order, for
//! benchmarks that want the same traffic from a file (`scripts/bench-bus.sh`).
//!
//! ```sh
//! cargo run --release -p iotrust-flow --features testing --example bench_pcap -- OUT.pcap RECORDS [HOSTS] [RATE]
//! ```
//!
//! Packets are cut to their first 64 bytes (the headers the decoder reads; the original
//! length is kept), RATE records a second of capture time (default 1,000,000), HOSTS
//! subscribers (default 65,000).

use std::io::Write;

use iotrust_flow::testing::{bench_record, packets, PcapWriter, Rng};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_pcap OUT.pcap RECORDS [HOSTS] [RATE]";
    let out = args.first().ok_or(usage)?;
    let n: u64 = args
        .get(1)
        .ok_or(usage)?
        .parse()
        .map_err(|e| format!("RECORDS: {e}"))?;
    let hosts: u32 = match args.get(2) {
        Some(h) => h.parse().map_err(|e| format!("HOSTS: {e}"))?,
        None => 65_000,
    };
    let rate: u64 = match args.get(3) {
        Some(r) => r.parse().map_err(|e| format!("RATE: {e}"))?,
        None => 1_000_000,
    };
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(out).map_err(|e| format!("{out}: {e}"))?);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let t0 = 1_700_000_000_000_000i64;
    // the global header, then packets in chunks (the writer keeps what it wrote in memory)
    let mut header = PcapWriter::new(iotrust_flow::link_type::RAW, false, false).finish();
    header.truncate(24);
    file.write_all(&header).map_err(|e| e.to_string())?;
    let mut done = 0u64;
    while done < n {
        let mut w = PcapWriter::new(iotrust_flow::link_type::RAW, false, false);
        for _ in 0..(n - done).min(100_000) {
            let now = t0 + (done as i64 * 1_000_000) / rate.max(1) as i64;
            let mut r = bench_record(&mut rng, hosts, now);
            // one packet: the record's time is the packet's
            r.first_us = now;
            r.last_us = now;
            r.packets = 1;
            r.bytes = r.bytes.min(1500);
            let p = packets::from_record(&r);
            let cut = &p[..p.len().min(64)];
            w.packet(now, cut, p.len() as u32);
            done += 1;
        }
        let chunk = w.finish();
        file.write_all(chunk.get(24..).unwrap_or_default())
            .map_err(|e| e.to_string())?;
    }
    file.flush().map_err(|e| e.to_string())?;
    eprintln!("bench_pcap: {n} packets from {hosts} subscribers to {out}");
    Ok(())
}
