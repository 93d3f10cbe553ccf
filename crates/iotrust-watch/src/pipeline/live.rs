//! Live capture: tcpdump writes a pcap stream of the interface to a pipe (unbuffered,
//! `-U`), read like a file by a thread of its own; the run's duration ends it by stopping
//! tcpdump. The engine is synced (events written) every 100 ms of wall time, also while
//! the link is quiet, so an incident is reported without waiting for the next packet.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{say, Outputs, Sources};
use crate::engine::Engine;
use crate::error::Error;
use crate::sources::Capture;

/// Captures on `iface` until tcpdump ends or the duration passes; returns the problems.
pub(super) fn run<E: Engine>(
    iface: &str,
    sources: &Sources,
    engine: &mut E,
    out: &mut Outputs,
) -> Result<u64, Error> {
    let mut cmd = std::process::Command::new("tcpdump");
    cmd.args(["-i", iface, "-U", "-n", "-s", "262144", "-w", "-"]);
    if let Some(f) = &sources.capture_filter {
        cmd.arg(f);
    }
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            Error::input(
                iface,
                format!("cannot run tcpdump for --interface (is it installed?): {e}"),
            )
        })?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::input(iface, "tcpdump gave no output pipe"))?;
    let child = Arc::new(std::sync::Mutex::new(child));
    if let Some(d) = sources.duration {
        let c = child.clone();
        std::thread::spawn(move || {
            std::thread::sleep(d);
            if let Ok(mut c) = c.lock() {
                let _ = c.kill();
            }
        });
    }
    eprintln!(
        "watch: capturing on {iface} ({} detector thread(s))",
        engine.shards()
    );
    let mut problems = 0u64;
    let mut reloader = sources.reloader();
    // a reloaded list may bring domains: read DNS whenever the list may change
    let mut reader = Capture::new(
        std::io::BufReader::new(stdout),
        sources.dns || reloader.is_some(),
        sources.mud,
    )
    .map_err(|e| Error::input(iface, format!("tcpdump output: {e}")))?;
    // the pipe is read on a thread of its own, so a quiet link does not hold events back;
    // a record comes with its packet's DNS message when there was a readable one
    let (tx, rx) = std::sync::mpsc::sync_channel(8192);
    std::thread::spawn(move || {
        while let Some(rec) = reader.next() {
            let fatal = rec.as_ref().is_err_and(|e| !e.can_continue());
            if tx.send(rec).is_err() || fatal {
                break;
            }
        }
    });
    let mut n = 0u64;
    let mut last_sync = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok((r, carried))) => {
                for a in &carried.mud {
                    out.announce_mud(a.device.ip(), &a.url);
                }
                engine.observe_carried(&r, &carried)?;
                n += 1;
                out.metrics.records.fetch_add(1, Relaxed);
            }
            Ok(Err(e)) => {
                // the pipe ends mid-record when tcpdump is stopped
                if !e.can_continue() {
                    break;
                }
                problems += 1;
                out.metrics.decode_errors.fetch_add(1, Relaxed);
                eprintln!("{iface}: {e}");
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if last_sync.elapsed() >= Duration::from_millis(100) {
            if let Some(r) = &mut reloader {
                r.poll(engine, say)?;
            }
            // what the workers have finished comes out; the pipeline keeps running
            engine.flush()?;
            out.drain(engine)?;
            out.flush()?;
            last_sync = Instant::now();
        }
    }
    if let Ok(mut c) = child.lock() {
        let _ = c.kill();
        let _ = c.wait();
    }
    eprintln!("watch: captured {n} packets on {iface}");
    Ok(problems)
}
