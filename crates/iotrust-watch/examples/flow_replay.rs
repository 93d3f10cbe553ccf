//! Offline replay of the collector benchmark's NetFlow v9 / IPFIX stream, for counting the
//! instructions `iotrust watch --netflow` spends per record without a socket or a clock.
//!
//! ```sh
//! cargo build --release -p iotrust-watch --example flow_replay
//! valgrind --tool=callgrind target/release/examples/flow_replay --proto v9 --datagrams 20000
//! ```
//!
//! The datagrams are those of `crates/iotrust-flow/examples/flow_sender.rs` (same record
//! generator and seed: 30 IPv4 records a datagram from 65,000 subscribers in 10.1.0.0/16 to
//! random destinations, a pool of 1,024 datagrams, the template every 256th), with export
//! times advancing as at `--rate` records/s. The datagrams go through what the collector
//! does with them, up to 32 at a time as `recvmmsg` hands them over
//! ([`iotrust_watch::collector::Collector::datagrams`]); finished work is flushed out every
//! 100 ms of stream time, as the busy collector does on its wall clock, and everything is
//! synced at the end. Prints records, events
//! and a digest of the JSON lines (to check that a change leaves the output alone).
//! Run it with two `--datagrams` counts and take the difference to leave the set-up out.

use std::net::IpAddr;

use iotrust_flow::testing::{bench_datagrams, bench_next, Rng, BENCH_UPTIME_MS};
use iotrust_flow::{DecodeConfig, FlowDecoder};
use iotrust_watch::collector::{Collector, BATCH};
use iotrust_watch::{Config, Indicators, JsonLines, Sharded, Subscribers};

fn main() -> Result<(), String> {
    let mut ipfix = false;
    let mut datagrams = 20_000u64;
    let mut threads = 2usize;
    let mut rate = 2_000_000u64;
    let mut local = Some("10.1.0.0/16".to_string());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--proto" => ipfix = val()? == "ipfix",
            "--datagrams" => datagrams = val()?.parse().map_err(|e| format!("{e}"))?,
            "--threads" => threads = val()?.parse().map_err(|e| format!("{e}"))?,
            "--rate" => rate = val()?.parse().map_err(|e| format!("{e}"))?,
            "--local" => {
                let v = val()?;
                local = (v != "all").then_some(v);
            }
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    let per_datagram = 30usize;
    let hosts = 65_000u32;
    let secs = 1_764_000_000u32;
    let now_us = i64::from(secs) * 1_000_000;
    let mut rng = Rng(1);
    let pool_len = 1024u64;
    let mut pool = bench_datagrams(
        &mut rng,
        ipfix,
        pool_len as usize,
        per_datagram,
        hosts,
        now_us,
        secs,
    );
    let mut cfg = Config::default();
    if let Some(l) = &local {
        cfg.local_networks.push(
            l.parse()
                .map_err(|e: iotrust_watch::net::PrefixError| e.0)?,
        );
    }
    let mut engine = Sharded::new(cfg, threads, Indicators::default(), Subscribers::default());
    let mut collector = Collector::new(FlowDecoder::new(DecodeConfig::default()));
    let exporter: IpAddr = "127.0.0.1".parse().map_err(|_| "address")?;
    let mut out = JsonLines::new(Vec::new());
    let mut events = 0u64;
    let per_sync = (rate / per_datagram as u64 / 10).max(1);
    let mut records = 0u64;
    // as the collector receives them: up to BATCH datagrams at a time (recvmmsg)
    let mut sent = 0u64;
    let mut next_sync = per_sync;
    while sent < datagrams {
        let want = (datagrams - sent).min(BATCH as u64) as usize;
        let stamp = |k: u64| {
            let elapsed_ms = k * per_datagram as u64 * 1000 / rate;
            (
                secs.wrapping_add((elapsed_ms / 1000) as u32),
                BENCH_UPTIME_MS.wrapping_add(elapsed_ms as u32),
            )
        };
        let chosen = bench_next(&mut pool, sent, want, ipfix, per_datagram, stamp);
        let n = chosen.len();
        let batch = chosen.into_iter().map(|buf| (exporter, buf));
        let got = collector
            .datagrams(&mut engine, now_us, batch)
            .map_err(|e| e.to_string())?;
        records += got.records;
        sent += n as u64;
        if sent >= next_sync {
            next_sync = sent + per_sync;
            engine.flush().map_err(|e| e.to_string())?;
            for e in engine.drain_events() {
                events += 1;
                out.write(&e).map_err(|e| e.to_string())?;
            }
        }
    }
    engine.finish().map_err(|e| e.to_string())?;
    for e in engine.drain_events() {
        events += 1;
        out.write(&e).map_err(|e| e.to_string())?;
    }
    let bytes = out.into_inner();
    let digest = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    println!(
        "{{\"records\":{records},\"events\":{events},\"json_bytes\":{},\"digest\":\"{digest:016x}\",\"hosts\":{}}}",
        bytes.len(),
        engine.stats().hosts
    );
    Ok(())
}
