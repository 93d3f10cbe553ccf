//! The UDP collector loop: datagrams taken up to [`crate::collector::BATCH`] a system call
//! and decoded on this thread, records to the engine; finished work comes out (events
//! written) every 100 ms of wall time, and everything on a quiet socket.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use iotrust_flow::{DecodeConfig, FlowDecoder};

use super::{say, Outputs, Sources};
use crate::collector::{bind_udp, receive_buffer, Batch, Collector};
use crate::engine::Engine;
use crate::error::Error;

/// Collects on `addr` until the duration passes (or for ever); returns the problems.
pub(super) fn run<E: Engine>(
    addr: SocketAddr,
    sources: &Sources,
    engine: &mut E,
    out: &mut Outputs,
) -> Result<u64, Error> {
    let what = format!("udp {addr}");
    let sock = bind_udp(addr, sources.recv_buffer)
        .map_err(|e| Error::input(&what, format!("cannot listen: {e}")))?;
    sock.set_read_timeout(Some(Duration::from_millis(50)))?;
    let local = sock.local_addr()?;
    out.metrics.udp_port.store(u64::from(local.port()), Relaxed);
    eprintln!(
        "watch: collecting flows on udp {local} ({} detector thread(s), receive buffer {} bytes)",
        engine.shards(),
        receive_buffer(&sock).unwrap_or(0)
    );
    let mut collector = Collector::new(FlowDecoder::new(DecodeConfig::default()));
    let mut batch = Batch::default();
    let mut problems = 0u64;
    let deadline = sources.duration.map(|d| Instant::now() + d);
    let mut last_sync = Instant::now();
    let mut second = (Instant::now(), 0u64);
    let mut reloader = sources.reloader();
    let mut total = 0u64;
    let mut datagrams = 0u64;
    while deadline.is_none_or(|d| Instant::now() < d) {
        let got = batch.recv(&sock)?;
        let now_us = jiff::Timestamp::now().as_microsecond();
        if got > 0 {
            let r = collector.datagrams(engine, now_us, batch.datagrams())?;
            datagrams += r.datagrams;
            problems += r.errors;
            out.metrics.decode_errors.fetch_add(r.errors, Relaxed);
            total += r.records;
            out.metrics.records.fetch_add(r.records, Relaxed);
        }
        out.metrics.datagrams.fetch_add(got as u64, Relaxed);
        let now = Instant::now();
        // idle: everything out; busy: what the workers have finished, without stopping the
        // pipeline (a sync would wait for every batch in flight while datagrams queue)
        let busy_tick = now.duration_since(last_sync) >= Duration::from_millis(100);
        if got == 0 {
            engine.sync()?;
        } else if busy_tick {
            engine.flush()?;
        }
        if got == 0 || busy_tick {
            if let Some(r) = &mut reloader {
                r.poll(engine, say)?;
            }
            out.drain(engine)?;
            out.flush()?;
            last_sync = now;
        }
        if now.duration_since(second.0) >= Duration::from_secs(1) {
            out.metrics
                .records_per_second
                .store(total - second.1, Relaxed);
            second = (now, total);
        }
    }
    let st = collector.decoder().total_stats();
    eprintln!(
        "watch: collector: {datagrams} datagrams, {total} records, {} dropped by the kernel",
        crate::metrics::udp_drops(local.port()).unwrap_or(0)
    );
    eprintln!(
        "watch: flow decoder: {}",
        serde_json::to_string(&st).unwrap_or_default()
    );
    Ok(problems)
}
