//! `iotrust watch`: find infected devices and attacks in captures and flow telemetry.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use clap::Args;
use iotrust_flow::{CaptureReader, Datagram, DecodeConfig, FlowDecoder, FlowRecord, ZeekReader};
use iotrust_watch::{
    nftables_ruleset, propose, Config, Indicators, JsonLines, Prefix, Subscribers, Watch,
};

use crate::exit;

#[derive(Args)]
pub struct WatchArgs {
    /// pcap or pcapng files (`-` for stdin), read in order.
    #[arg(long = "pcap", value_name = "FILE")]
    pub pcap: Vec<PathBuf>,
    /// Zeek conn.log files (TSV or JSON lines).
    #[arg(long = "zeek", value_name = "FILE")]
    pub zeek: Vec<PathBuf>,
    /// Collect NetFlow v5/v9, IPFIX and sFlow datagrams on this UDP address.
    #[arg(long, value_name = "ADDR")]
    pub netflow: Option<SocketAddr>,
    /// With --netflow: stop after this many seconds (default: run until killed).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// Detector settings (TOML; see crates/iotrust-watch/README.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Most hosts to keep state for (oldest evicted first).
    #[arg(long, value_name = "N")]
    pub max_hosts: Option<usize>,
    /// Subscriber address ranges (comma-separated CIDRs); default: every address.
    #[arg(long, value_name = "CIDR", value_delimiter = ',')]
    pub local: Vec<String>,
    /// Address-to-subscriber mapping (CSV: prefix,subscriber).
    #[arg(long, value_name = "FILE")]
    pub subscribers: Option<PathBuf>,
    /// Command-and-control indicators (addresses, prefixes, ports; one per line).
    #[arg(long, value_name = "FILE")]
    pub indicators: Option<PathBuf>,
    /// Write the proposed filters (nftables rule set and FlowSpec rules) to this file.
    #[arg(long, value_name = "FILE")]
    pub filters: Option<PathBuf>,
    /// Write incident events (JSON lines) here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(args: WatchArgs) -> anyhow::Result<u8> {
    if args.pcap.is_empty() && args.zeek.is_empty() && args.netflow.is_none() {
        anyhow::bail!("give --pcap FILE, --zeek FILE or --netflow ADDR");
    }
    let mut cfg: Config = match &args.config {
        Some(p) => toml::from_str(&read(p)?).map_err(|e| anyhow!("{}: {e}", p.display()))?,
        None => Config::default(),
    };
    if let Some(n) = args.max_hosts {
        cfg.max_hosts = n.max(1);
    }
    for c in &args.local {
        cfg.local_networks.push(
            c.parse::<Prefix>()
                .map_err(|e| anyhow!("--local `{c}`: not a CIDR prefix ({e:?})"))?,
        );
    }
    let mut watch = Watch::new(cfg);
    if let Some(p) = &args.indicators {
        watch = watch.with_indicators(Indicators::parse(&read(p)?, &p.display().to_string())?);
    }
    if let Some(p) = &args.subscribers {
        watch = watch.with_subscribers(Subscribers::parse(&read(p)?, &p.display().to_string())?);
    }
    let sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = JsonLines::new(sink);
    let mut problems = 0u64;
    let feed = |watch: &mut Watch,
                r: &FlowRecord,
                out: &mut JsonLines<Box<dyn Write>>|
     -> anyhow::Result<()> {
        watch.observe(r);
        for e in watch.drain_events() {
            out.write(&e)?;
        }
        Ok(())
    };
    for p in &args.pcap {
        let name = p.display().to_string();
        let input: Box<dyn std::io::Read> = if name == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::fs::File::open(p).with_context(|| format!("cannot open {name}"))?)
        };
        let reader = CaptureReader::new(std::io::BufReader::new(input))
            .map_err(|e| anyhow!("{name}: {e}"))?;
        for rec in reader {
            match rec {
                Ok(r) => feed(&mut watch, &r, &mut out)?,
                Err(e) => {
                    problems += 1;
                    eprintln!("{name}: {e}");
                    if !e.can_continue() {
                        break;
                    }
                }
            }
        }
    }
    for p in &args.zeek {
        let name = p.display().to_string();
        let file = std::fs::File::open(p).with_context(|| format!("cannot open {name}"))?;
        for rec in ZeekReader::new(std::io::BufReader::new(file)) {
            match rec {
                Ok(r) => feed(&mut watch, &r, &mut out)?,
                Err(e) => {
                    problems += 1;
                    eprintln!("{name}: {e}");
                    if !e.can_continue() {
                        break;
                    }
                }
            }
        }
    }
    if let Some(addr) = args.netflow {
        let sock = std::net::UdpSocket::bind(addr)
            .with_context(|| format!("cannot listen on udp {addr}"))?;
        sock.set_read_timeout(Some(Duration::from_millis(200)))?;
        eprintln!("watch: collecting flows on udp {addr}");
        let mut decoder = FlowDecoder::new(DecodeConfig::default());
        let mut buf = vec![0u8; 65_535];
        let mut records = Vec::new();
        let deadline = args
            .duration
            .map(|s| Instant::now() + Duration::from_secs(s));
        while deadline.is_none_or(|d| Instant::now() < d) {
            let (n, from) = match sock.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e.into()),
            };
            let now_us = jiff::Timestamp::now().as_microsecond();
            records.clear();
            let d = decoder.decode(
                Datagram {
                    exporter: from.ip(),
                    received_us: now_us,
                    bytes: &buf[..n],
                },
                &mut records,
            );
            problems += d.errors.len() as u64;
            for r in &records {
                feed(&mut watch, r, &mut out)?;
            }
        }
        let st = decoder.total_stats();
        eprintln!(
            "watch: flow decoder: {}",
            serde_json::to_string(&st).unwrap_or_default()
        );
    }
    out.flush()?;
    if let Some(path) = &args.filters {
        let proposals: Vec<_> = watch.incidents().filter_map(propose).collect();
        let mut text = nftables_ruleset(&proposals);
        text.push_str("\n# BGP FlowSpec rules (proposed; apply to the infected device's outbound traffic only)\n");
        for p in &proposals {
            for r in &p.flowspec {
                text.push_str(&format!("# {}\n", r.describe()));
            }
        }
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "watch: {} filter proposal(s) written to {}",
            proposals.len(),
            path.display()
        );
    }
    let stats = watch.stats();
    eprintln!(
        "watch: {}",
        serde_json::to_string(&stats).unwrap_or_default()
    );
    if problems > 0 {
        eprintln!("watch: {problems} input problem(s) counted and skipped");
    }
    Ok(exit::OK)
}
