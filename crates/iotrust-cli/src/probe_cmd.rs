//! `iotrust probe`: test devices on a network and write evidence for `iotrust assess`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::Args;
use iotrust_probe::render::{render, Format};
use iotrust_probe::{probe_with_progress, ProbeConfig, Progress};

use crate::exit;

#[derive(Args)]
pub struct ProbeArgs {
    /// Hosts, CIDRs, `host:port` or `host:port/udp` to probe.
    pub targets: Vec<String>,
    /// Read more targets from this file (one per line, `#` comments).
    #[arg(long = "targets-file", value_name = "FILE")]
    pub target_files: Vec<PathBuf>,
    /// Allow-list: nothing is sent outside these CIDRs (default: exactly the targets).
    #[arg(long, value_name = "CIDR", value_delimiter = ',')]
    pub scope: Vec<String>,
    /// Permit public (internet-routable) addresses; refused without it.
    #[arg(long)]
    pub allow_public: bool,
    /// Extra TCP ports besides the IoT defaults (comma-separated).
    #[arg(long, value_name = "PORTS", value_delimiter = ',')]
    pub ports: Vec<u16>,
    /// Probe only the ports given with --ports.
    #[arg(long)]
    pub ports_only: bool,
    /// Credential file (`user,password` per line) added to the built-in Mirai and vendor lists.
    #[arg(long = "credentials", value_name = "FILE")]
    pub credential_files: Vec<PathBuf>,
    /// Use only --credentials files, not the built-in lists.
    #[arg(long)]
    pub no_builtin_credentials: bool,
    /// Skip UDP discovery (SSDP, SNMP, NAT-PMP, mDNS, CoAP).
    #[arg(long)]
    pub no_udp: bool,
    /// Do not try credentials (discovery, anonymous access and TLS only).
    #[arg(long)]
    pub no_credentials: bool,
    /// Do not test whether an SNMP community is writable.
    #[arg(long)]
    pub no_snmp_write_test: bool,
    /// Show working credentials in clear (masked by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Also load the check files (`*.toml`, format in the probe's CHECKS.md) in this directory.
    #[arg(long = "checks", value_name = "DIR")]
    pub check_dirs: Vec<PathBuf>,
    /// Where the probe stands: `lan` (on the devices' network) or `wan` (outside, on a gateway's
    /// WAN link; runs the checks for services reachable from outside). Recorded in the evidence.
    #[arg(long, value_name = "lan|wan", default_value = "lan")]
    pub vantage: String,
    /// Hosts probed at once.
    #[arg(long, value_name = "N")]
    pub max_hosts: Option<usize>,
    /// Open connections at once.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// New connections per second (0: unlimited).
    #[arg(long, value_name = "N")]
    pub rate: Option<u32>,
    /// The state the devices are in: factory-default (as shipped or reset) or set-up (after
    /// the user's setup). Recorded in the evidence; `assess` reads a default password that
    /// logs in by it (allowed as shipped when setup replaces it, a failure after setup).
    #[arg(long, value_name = "STATE")]
    pub state: Option<iotrust_probe::evidence::DeviceState>,
    /// Output on stdout: table (readable), json, jsonl or sarif.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Also write the evidence JSON (what `iotrust assess --evidence` reads) to this file.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: ProbeArgs) -> anyhow::Result<u8> {
    let format: Format = args.format.parse().map_err(|e| anyhow!("--format: {e}"))?;
    let mut cfg = ProbeConfig::new(args.targets);
    cfg.target_files = args.target_files;
    cfg.scope = args.scope;
    cfg.allow_public = args.allow_public;
    cfg.extra_ports = args.ports;
    cfg.ports_only = args.ports_only;
    cfg.credential_files = args.credential_files;
    cfg.no_builtin_credentials = args.no_builtin_credentials;
    cfg.show_secrets = args.show_secrets;
    cfg.check_dirs = args.check_dirs;
    cfg.vantage = args
        .vantage
        .parse()
        .map_err(|e: String| anyhow!("--vantage: {e}"))?;
    cfg.checks.udp = !args.no_udp;
    cfg.checks.credentials = !args.no_credentials;
    cfg.checks.snmp_write_test = !args.no_snmp_write_test;
    if let Some(n) = args.max_hosts {
        cfg.limits.max_hosts = n.max(1);
    }
    if let Some(n) = args.max_connections {
        cfg.limits.max_connections = n.max(1);
    }
    if let Some(r) = args.rate {
        cfg.limits.rate_per_second = (r > 0).then_some(r);
    }
    let pb = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {pos}/{len} hosts {wide_bar} {elapsed} {msg}",
    ) {
        pb.set_style(style);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let mut evidence = rt
        .block_on(probe_with_progress(&cfg, |p| match p {
            Progress::Started { hosts } => pb.set_length(hosts as u64),
            Progress::HostDone { address, findings } => {
                pb.inc(1);
                pb.set_message(format!("{address}: {findings} finding(s)"));
            }
        }))
        .map_err(|e| anyhow!("{e}"))?;
    pb.finish_and_clear();
    evidence.state = args.state;
    if let Some(path) = &args.output {
        std::fs::write(path, render(&evidence, Format::Json))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "evidence written to {} (use: iotrust assess PROFILE --evidence {})",
            path.display(),
            path.display()
        );
    }
    crate::output::emit(&render(&evidence, format))?;
    Ok(exit::OK)
}
