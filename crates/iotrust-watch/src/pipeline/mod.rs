//! The runtime of one watch process, as components: the **sources** a run reads
//! ([`Sources`]: capture files, live capture, Zeek logs, the UDP flow collector) fed in
//! turn into any [`Engine`] (the detectors of this process, or the bus's inlet), and the
//! **outputs** its events go to ([`Outputs`]). The command line only maps its flags onto
//! these.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use iotrust_flow::FlowRecord;

use crate::engine::Engine;
use crate::error::Error;
use crate::reload::{IndicatorSources, Reloader};
use crate::sources::{Capture, ZeekLogs};

mod collect;
mod live;
mod outputs;

pub use outputs::{text_line, write_filters, EventOut, Notices, Outputs};

/// What a run reads, in this order: capture files, the live interface, Zeek logs, the
/// flow collector.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// pcap or pcapng files (`-` for stdin).
    pub pcap: Vec<PathBuf>,
    /// Capture live on this interface through tcpdump.
    pub interface: Option<String>,
    /// A capture filter for the live interface (BPF, as tcpdump takes it).
    pub capture_filter: Option<String>,
    /// Zeek conn.log and dns.log files, merged by record time.
    pub zeek: Vec<PathBuf>,
    /// Collect NetFlow, IPFIX and sFlow on this UDP address.
    pub netflow: Option<SocketAddr>,
    /// The collector's socket receive buffer to ask for.
    pub recv_buffer: usize,
    /// The live sources (interface, collector) stop after this long.
    pub duration: Option<Duration>,
    /// Read DNS messages from packets.
    pub dns: bool,
    /// Read MUD URL announcements (DHCP, LLDP) from packets.
    pub mud: bool,
    /// The live sources look this often for changed indicators and load them again.
    pub reload: Option<(IndicatorSources, Duration)>,
}

/// Records handed to the engine at once from capture files.
const CHUNK: usize = 256;

/// Events leave the engine and the record metric moves every this many records of a file.
const DRAIN_EVERY: u64 = 4096;

/// What the library has to say goes to stderr.
pub(crate) fn say(line: &str) {
    eprintln!("watch: {line}");
}

impl Sources {
    /// The reloader of the live sources, if asked for.
    fn reloader(&self) -> Option<Reloader> {
        let (sources, every) = self.reload.clone()?;
        Reloader::new(sources, every)
    }
}

/// Counts records and hands out events every [`DRAIN_EVERY`] records.
struct Pacer {
    fed: u64,
}

impl Pacer {
    fn fed(&mut self, n: u64, engine: &mut impl Engine, out: &mut Outputs) -> Result<(), Error> {
        let before = self.fed / DRAIN_EVERY;
        self.fed += n;
        let steps = self.fed / DRAIN_EVERY - before;
        if steps > 0 {
            out.metrics.records.fetch_add(steps * DRAIN_EVERY, Relaxed);
            out.drain(engine)?;
        }
        Ok(())
    }
}

/// Runs every source `sources` names, in turn, into `engine`, its events to `out`.
/// Returns the input problems counted (each said on stderr with its input and place).
pub fn feed<E: Engine>(sources: &Sources, engine: &mut E, out: &mut Outputs) -> Result<u64, Error> {
    let mut problems = 0u64;
    let mut pacer = Pacer { fed: 0 };
    for p in &sources.pcap {
        problems += capture_file(p, sources, engine, out, &mut pacer)?;
    }
    if let Some(iface) = &sources.interface {
        problems += live::run(iface, sources, engine, out)?;
    }
    // the logs count on their own, as they always did
    let mut pacer = Pacer { fed: 0 };
    let mut zeek = ZeekLogs::open(&sources.zeek)?;
    let metrics = out.metrics.clone();
    let on_error = |name: &str, e: &iotrust_flow::Error| {
        metrics.decode_errors.fetch_add(1, Relaxed);
        eprintln!("{name}: {e}");
    };
    while let Some((r, dns)) = zeek.next(on_error) {
        match dns {
            // a dns.log line: a lookup, not traffic (conn.log has the flow)
            Some(msg) => engine.observe_dns(&r, &msg)?,
            None => {
                engine.observe(&r)?;
                pacer.fed(1, engine, out)?;
            }
        }
    }
    problems += zeek.problems;
    if let Some(addr) = sources.netflow {
        problems += collect::run(addr, sources, engine, out)?;
    }
    Ok(problems)
}

/// One capture file (or stdin) into the engine, records in chunks; a DNS message the
/// engine wants and an announcement go in their place in the stream.
fn capture_file<E: Engine>(
    path: &std::path::Path,
    sources: &Sources,
    engine: &mut E,
    out: &mut Outputs,
    pacer: &mut Pacer,
) -> Result<u64, Error> {
    let name = path.display().to_string();
    let input: Box<dyn std::io::Read> = if name == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| Error::input(&name, format!("cannot open: {e}")))?,
        )
    };
    // the reader buffers its input itself: no second buffer (and copy) here
    let mut reader =
        Capture::new(input, sources.dns, sources.mud).map_err(|e| Error::input(&name, e))?;
    let mut problems = 0u64;
    // records go to the engine in chunks (host look-ups of a chunk overlap)
    let mut chunk: Vec<FlowRecord> = Vec::with_capacity(CHUNK);
    let mut flush = |chunk: &mut Vec<FlowRecord>, engine: &mut E, out: &mut Outputs| {
        engine.observe_many(chunk)?;
        let n = chunk.len() as u64;
        chunk.clear();
        pacer.fed(n, engine, out)
    };
    while let Some(rec) = reader.next() {
        match rec {
            Ok((r, carried)) => {
                if !carried.mud.is_empty()
                    || carried.dns.as_ref().is_some_and(|m| engine.wants_dns(m))
                {
                    flush(&mut chunk, engine, out)?;
                    for a in &carried.mud {
                        out.announce_mud(a.device.ip(), &a.url);
                    }
                    engine.observe_carried(&r, &carried)?;
                    continue;
                }
                chunk.push(r);
                if chunk.len() >= CHUNK {
                    flush(&mut chunk, engine, out)?;
                }
            }
            Err(e) => {
                problems += 1;
                out.metrics.decode_errors.fetch_add(1, Relaxed);
                eprintln!("{name}: {e}");
                if !e.can_continue() {
                    break;
                }
            }
        }
    }
    flush(&mut chunk, engine, out)?;
    Ok(problems)
}
