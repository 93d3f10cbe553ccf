//! `iotrust watch`: find infected devices and attacks in captures and flow telemetry.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Args;
use iotrust_watch::bus::sink::SinkOptions;
use iotrust_watch::bus::worker::WorkerOptions;
use iotrust_watch::bus::{BusConfig, Inlet};
use iotrust_watch::collector::DEFAULT_RECV_BUFFER;
use iotrust_watch::detectors::mud::MudSetup;
use iotrust_watch::field::{FieldConfig, FieldReporter, Inventory};
use iotrust_watch::mudfiles::{FetchConfig, Library, MudMap};
use iotrust_watch::pipeline::{self, EventOut, Notices, Outputs, Sources};
use iotrust_watch::reload::IndicatorSources;
use iotrust_watch::{
    Config, Engine, Metrics, NoticeTemplate, Prefix, Sharded, Subscribers, Webhook, WebhookConfig,
};

use crate::exit;
use crate::output::Format;

/// The roles of watch over a bus.
#[derive(clap::Subcommand, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Read any source of `iotrust watch` and publish its records to the bus in partitions.
    Inlet,
    /// Claim partitions, detect, publish incident events (`--name`, `--indicators`,
    /// `--subscribers`).
    Worker,
    /// Write the bus's incident events to the sinks of `iotrust watch`, each once.
    Sink,
    /// Show partitions, their owners and how far each one is.
    Status,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct WatchArgs {
    /// Run one role of watch over a message bus (NATS JetStream) instead of detecting in
    /// this process.
    #[command(subcommand)]
    pub role: Option<Role>,
    /// With a role: NATS server URLs, comma-separated (any one reachable is enough).
    #[arg(global = true, long, value_name = "URL", value_delimiter = ',')]
    pub bus: Vec<String>,
    /// With `inlet`: partitions of the records (each owned by one worker at a time; fixed
    /// for the life of the stream).
    #[arg(global = true, long, value_name = "N", default_value_t = 8)]
    pub partitions: u32,
    /// With a role: copies of each stream and bucket when the role creates them (1, or 3
    /// on a cluster of three servers).
    #[arg(global = true, long, value_name = "N", default_value_t = 1)]
    pub replicas: usize,
    /// With a role: how long a worker holds a partition without renewing its lease (the
    /// longest a lost worker's partitions wait for another).
    #[arg(global = true, long, value_name = "SECS", default_value_t = 10.0)]
    pub lease: f64,
    /// With a role: keep trying to reach the bus at start this long before giving up.
    #[arg(global = true, long, value_name = "SECS", default_value_t = 30)]
    pub connect_wait: u64,
    /// With `worker` or `sink`: the name (a worker's in leases; a sink's durable consumer:
    /// sinks of one name share the events).
    #[arg(global = true, long, value_name = "NAME")]
    pub name: Option<String>,
    /// With `sink`: events delivered and not yet written at most (the bus holds back the
    /// rest).
    #[arg(global = true, long, value_name = "N", default_value_t = 10_000)]
    pub max_pending: i64,
    /// With `sink`: stop after writing this many events.
    #[arg(global = true, long, value_name = "N")]
    pub max_events: Option<u64>,
    /// pcap or pcapng files (`-` for stdin), read in order.
    #[arg(global = true, long = "pcap", value_name = "FILE")]
    pub pcap: Vec<PathBuf>,
    /// Zeek conn.log and dns.log files (TSV or JSON lines), read merged by record time;
    /// dns.log lines are matched against the domains of --indicators.
    #[arg(global = true, long = "zeek", value_name = "FILE")]
    pub zeek: Vec<PathBuf>,
    /// Capture live on this network interface, through `tcpdump -i IFACE -U -w -` (libpcap
    /// in its own process; tcpdump must be installed and allowed to capture).
    #[arg(global = true, long, value_name = "IFACE")]
    pub interface: Option<String>,
    /// With --interface: a capture filter (BPF syntax, as tcpdump takes it).
    #[arg(global = true, long, value_name = "FILTER", requires = "interface")]
    pub capture_filter: Option<String>,
    /// Collect NetFlow v5/v9, IPFIX and sFlow datagrams on this UDP address.
    #[arg(global = true, long, value_name = "ADDR")]
    pub netflow: Option<SocketAddr>,
    /// With --netflow or --interface: stop after this many seconds (default: run until
    /// killed).
    #[arg(global = true, long, value_name = "SECS")]
    pub duration: Option<u32>,
    /// With --netflow: socket receive buffer to ask for (the kernel caps it at
    /// net.core.rmem_max).
    #[arg(global = true, long, value_name = "BYTES", default_value_t = DEFAULT_RECV_BUFFER as u32)]
    pub recv_buffer: u32,
    /// Detector threads, each owning the hosts whose address hashes to it (default: the
    /// number of CPUs; 1 = detect on the reading thread).
    #[arg(global = true, long, value_name = "N")]
    pub threads: Option<u16>,
    /// Detector settings (TOML; see crates/iotrust-watch/README.md).
    #[arg(global = true, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Most hosts to keep state for (oldest evicted first).
    #[arg(global = true, long, value_name = "N")]
    pub max_hosts: Option<usize>,
    /// Subscriber address ranges (comma-separated CIDRs); default: every address.
    #[arg(global = true, long, value_name = "CIDR", value_delimiter = ',')]
    pub local: Vec<String>,
    /// Address-to-subscriber mapping (CSV: prefix,subscriber).
    #[arg(global = true, long, value_name = "FILE")]
    pub subscribers: Option<PathBuf>,
    /// Command-and-control indicators (addresses, prefixes, ports, domains; one per line),
    /// and `allow` lines for expected contact such as vendor clouds (never C2, never
    /// beaconing).
    #[arg(global = true, long, value_name = "FILE")]
    pub indicators: Option<PathBuf>,
    /// A threat-intel feed as C2 indicators, beside --indicators (repeatable): STIX 2.1
    /// bundle, MISP event or feed directory, abuse.ch Feodo Tracker, ThreatFox or URLhaus
    /// export, Spamhaus DROP/EDROP; the format is told from the content. Each entry holds
    /// for its validity (record time); a bad entry is reported with its line and skipped.
    /// Reloaded like --indicators.
    #[arg(global = true, long = "feed", value_name = "FILE")]
    pub feeds: Vec<PathBuf>,
    /// The format of every --feed (stix, misp, feodo, threatfox, urlhaus, drop) instead of
    /// telling it from the content.
    #[arg(global = true, long, value_name = "FORMAT", requires = "feeds")]
    pub feed_format: Option<String>,
    /// With --netflow or --interface: look this often for a change to the --indicators file
    /// or a --feed,
    /// and load it again when it changed (0 = never). A list that does not load is reported
    /// and the one in force kept.
    #[arg(global = true, long, value_name = "SECS", default_value_t = 10)]
    pub indicators_reload: u32,
    /// Write the proposed filters (nftables rule set and FlowSpec rules) to this file.
    #[arg(global = true, long, value_name = "FILE")]
    pub filters: Option<PathBuf>,
    /// Write incident events here instead of stdout.
    #[arg(global = true, short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Events on stdout (or --output): json, a JSON line each (the default); text, a line
    /// each for a person (time, event, device, detector, severity, summary).
    #[arg(global = true, long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Report products seen compromised to this registry (`iotrust serve`): one signed field
    /// report per product, updated as its devices' incidents open and close (queued,
    /// retried; never slows detection; no subscriber address is sent).
    #[arg(global = true, long, value_name = "URL", requires_all = ["provider_token_file", "provider_key"])]
    pub registry: Option<String>,
    /// With --registry: the provider's API token (a file holding it).
    #[arg(global = true, long, value_name = "FILE", requires = "registry")]
    pub provider_token_file: Option<PathBuf>,
    /// With --registry: the provider's signing key (`iotrust keys new --role provider`).
    #[arg(global = true, long, value_name = "KEY.json", requires = "registry")]
    pub provider_key: Option<PathBuf>,
    /// With --registry: the CPE inventory, `address,manufacturer,model` lines, naming the
    /// product of devices that announce no MUD URL.
    #[arg(global = true, long, value_name = "FILE", requires = "registry")]
    pub inventory: Option<PathBuf>,
    /// POST every incident event as JSON to this http:// or https:// URL (queued, retried
    /// with backoff; never slows detection).
    #[arg(global = true, long, value_name = "URL")]
    pub webhook: Option<String>,
    /// With --webhook: events waiting at most; more are dropped and counted.
    #[arg(global = true, long, value_name = "N", default_value_t = 10_000)]
    pub webhook_queue: u32,
    /// With an https:// --webhook: trust the CA certificates of this PEM file (instead of
    /// the built-in Mozilla roots), e.g. a provider's internal CA.
    #[arg(global = true, long, value_name = "FILE", requires = "webhook")]
    pub webhook_ca: Option<PathBuf>,
    /// With --webhook: send this header with every POST, `Name: value` (e.g.
    /// `Authorization: Bearer TOKEN`, `Authorization: Splunk TOKEN`); repeatable.
    /// Visible to other local users in the process list: put secrets in
    /// --webhook-header-file instead.
    #[arg(
        global = true,
        long,
        value_name = "'NAME: VALUE'",
        requires = "webhook"
    )]
    pub webhook_header: Vec<String>,
    /// With --webhook: headers to send with every POST from this file, one `Name: value` a
    /// line (blank lines and `#` comments skipped), so a token stays off the command line.
    #[arg(global = true, long, value_name = "FILE", requires = "webhook")]
    pub webhook_header_file: Option<PathBuf>,
    /// Render a notice from this template for every opened incident (placeholders in
    /// crates/iotrust-watch/README.md); written to --notices DIR.
    #[arg(global = true, long, value_name = "FILE", requires = "notices")]
    pub notice_template: Option<PathBuf>,
    /// Render a notice from this template for every closed incident (the device went quiet
    /// for the incident's time to live); written to --notices DIR.
    #[arg(global = true, long, value_name = "FILE", requires = "notices")]
    pub closed_notice_template: Option<PathBuf>,
    /// Directory for rendered notices (`notice-<id>-<device>.txt` when an incident opens,
    /// `notice-<id>-<device>-closed.txt` when it closes).
    #[arg(global = true, long, value_name = "DIR")]
    pub notices: Option<PathBuf>,
    /// Serve Prometheus metrics over HTTP on this address (e.g. 127.0.0.1:9464).
    #[arg(global = true, long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Check devices against their declared network behaviour (RFC 8520 MUD): a CSV of
    /// `address,mud-file-or-url` lines (a path relative to the map's directory, or an
    /// https:// URL); devices that announce a MUD URL over DHCP or LLDP in the capture are
    /// checked against it too. Opens `mud-violation` incidents.
    #[arg(global = true, long, value_name = "MAP")]
    pub mud: Option<PathBuf>,
    /// MUD files named by URL (`DIR/host/path`), looked at before fetching; alone it turns
    /// MUD checking on for announced URLs.
    #[arg(global = true, long, value_name = "DIR")]
    pub mud_dir: Option<PathBuf>,
    /// Never fetch MUD URLs over the network (only --mud-dir and the map's files).
    #[arg(global = true, long)]
    pub mud_no_fetch: bool,
    /// Timeout of a MUD file fetch.
    #[arg(global = true, long, value_name = "SECS", default_value_t = 5)]
    pub mud_timeout: u64,
    /// Trust only the CA certificates of this PEM file for MUD fetches.
    #[arg(global = true, long, value_name = "FILE")]
    pub mud_ca: Option<PathBuf>,
    /// A controller for MUD `controller` entries: `CLASS=ADDR` (class URI such as
    /// urn:ietf:params:mud:dns, or `my-controller`); repeatable.
    #[arg(global = true, long, value_name = "CLASS=ADDR")]
    pub mud_controller: Vec<String>,
    /// More prefixes MUD's `local-networks` covers (besides --local and RFC 1918 /
    /// unique-local IPv6), comma-separated.
    #[arg(global = true, long, value_name = "CIDR", value_delimiter = ',')]
    pub mud_local: Vec<String>,
}

/// The MUD setup of --mud, --mud-dir and the other --mud-* flags (none without --mud or
/// --mud-dir).
fn mud_setup(args: &WatchArgs) -> anyhow::Result<Option<MudSetup>> {
    if args.mud.is_none() && args.mud_dir.is_none() {
        return Ok(None);
    }
    let library = Library::new(
        FetchConfig {
            dir: args.mud_dir.clone(),
            fetch: !args.mud_no_fetch,
            timeout: Duration::from_secs(args.mud_timeout.max(1)),
            ca_file: args.mud_ca.clone(),
        },
        say,
    )?;
    let map = match &args.mud {
        Some(p) => {
            let base = p.parent().unwrap_or(Path::new("."));
            MudMap::parse(&read(p)?, &p.display().to_string(), base, &library)?
        }
        None => MudMap::default(),
    };
    let mut controllers = Vec::new();
    for c in &args.mud_controller {
        let (class, addr) = c
            .split_once('=')
            .ok_or_else(|| anyhow!("--mud-controller: `{c}` is not CLASS=ADDR"))?;
        let addr: std::net::IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| anyhow!("--mud-controller: `{addr}` is not an IP address"))?;
        controllers.push((class.trim().to_string(), addr));
    }
    let mut local = Vec::new();
    for c in &args.mud_local {
        local.push(
            c.parse::<Prefix>()
                .map_err(|e| anyhow!("--mud-local: not a CIDR prefix: {}", e.0))?,
        );
    }
    Ok(Some(MudSetup {
        library: Arc::new(library),
        map: Arc::new(map),
        local,
        controllers,
    }))
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Where C2 indicators come from: the --indicators file and the --feed files.
fn indicator_sources(args: &WatchArgs) -> anyhow::Result<IndicatorSources> {
    let format = args
        .feed_format
        .as_deref()
        .map(str::parse::<iotrust_intel::Format>)
        .transpose()
        .map_err(|e| anyhow!("--feed-format: {e}"))?;
    Ok(IndicatorSources {
        file: args.indicators.clone(),
        feeds: args.feeds.clone(),
        format,
    })
}

/// What the watch library has to say goes to stderr.
fn say(line: &str) {
    eprintln!("watch: {line}");
}

/// The headers of a --webhook-header-file: `Name: value` a line; an error names the line
/// (never its value, which may be a secret).
fn header_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--webhook-header-file: cannot read {}", path.display()))?;
    let mut headers = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let h = iotrust_watch::sinks::parse_header(line).map_err(|e| {
            let why = e.to_string();
            let why = why.strip_prefix("--webhook-header: ").unwrap_or(&why);
            anyhow!("--webhook-header-file: {}:{}: {why}", path.display(), n + 1)
        })?;
        headers.push(h);
    }
    Ok(headers)
}

/// The --notices output of --notices, --notice-template and --closed-notice-template.
fn notices(args: &WatchArgs) -> anyhow::Result<Option<Notices>> {
    let Some(dir) = &args.notices else {
        return Ok(None);
    };
    let template = |p: &Option<PathBuf>| -> anyhow::Result<Option<NoticeTemplate>> {
        p.as_ref()
            .map(|t| Ok(NoticeTemplate::parse(&read(t)?, &t.display().to_string())?))
            .transpose()
    };
    Ok(Some(Notices::new(
        dir.clone(),
        template(&args.notice_template)?,
        template(&args.closed_notice_template)?,
    )?))
}

/// Events on stdout or --output, as --format says.
fn event_out(args: &WatchArgs) -> anyhow::Result<EventOut> {
    let w: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    Ok(match args.format {
        Format::Json => EventOut::json(w),
        Format::Text => EventOut::Text(w),
    })
}

/// The sources the flags name, for one process or the inlet.
fn sources(args: &WatchArgs, dns: bool, mud: bool) -> Sources {
    Sources {
        pcap: args.pcap.clone(),
        interface: args.interface.clone(),
        capture_filter: args.capture_filter.clone(),
        zeek: args.zeek.clone(),
        netflow: args.netflow,
        recv_buffer: args.recv_buffer as usize,
        duration: args.duration.map(|s| Duration::from_secs(u64::from(s))),
        dns,
        mud,
        reload: indicator_sources(args)
            .ok()
            .map(|s| (s, Duration::from_secs(u64::from(args.indicators_reload)))),
    }
}

pub fn run(args: WatchArgs) -> anyhow::Result<u8> {
    match args.role {
        None => {}
        Some(Role::Worker) => return worker(&args),
        Some(Role::Sink) => return sink(&args),
        Some(Role::Status) => return status(&args),
        Some(Role::Inlet) => {}
    }
    if args.role.is_some() && args.bus.is_empty() {
        anyhow::bail!("give --bus URL (a NATS server with JetStream)");
    }
    if args.pcap.is_empty()
        && args.zeek.is_empty()
        && args.netflow.is_none()
        && args.interface.is_none()
    {
        anyhow::bail!("give --pcap FILE, --zeek FILE, --netflow ADDR or --interface IFACE");
    }
    let cfg = config(&args)?;
    if args.role == Some(Role::Inlet) {
        return inlet(&args, cfg);
    }
    let indicators = indicator_sources(&args)?.load(say)?;
    let subscribers = match &args.subscribers {
        Some(p) => Subscribers::parse(&read(p)?, &p.display().to_string())?,
        None => Subscribers::default(),
    };
    let notices = notices(&args)?;
    let metrics = Metrics::new();
    serve_metrics(&args, &metrics)?;
    let webhook = start_webhook(&args, &metrics)?;
    let threads = args.threads.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    // DNS messages are read from packets always: listed domains are matched in them, and
    // what they resolve is evidence for beaconing (a C2 address is often looked up by no one)
    let dns = true;
    let mud = mud_setup(&args)?;
    // MUD announcements are read only when devices are checked against them, or when they
    // name the products of field reports
    let read_mud = mud.is_some() || args.registry.is_some();
    let mapped: Vec<(std::net::IpAddr, String)> = mud
        .as_ref()
        .map(|m| {
            m.map
                .devices
                .iter()
                .map(|(a, d)| (a.ip(), d.url.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut engine = Sharded::with_mud(cfg, threads, indicators, subscribers, mud);
    let mut outputs = Outputs {
        out: event_out(&args)?,
        webhook,
        field: start_field_reports(&args)?,
        notices,
        metrics: metrics.clone(),
    };
    for (addr, url) in &mapped {
        outputs.announce_mud(*addr, url);
    }
    let problems = pipeline::feed(&sources(&args, dns, read_mud), &mut engine, &mut outputs)?;
    engine.finish()?;
    metrics.records.store(engine.stats().records, Relaxed);
    outputs.drain(&mut engine)?;
    outputs.flush()?;
    if let Some(w) = outputs.webhook.take() {
        finish_webhook(w, &metrics);
    }
    if let Some(f) = outputs.field.take() {
        finish_field_reports(f);
    }
    if let Some(path) = &args.filters {
        let n = pipeline::write_filters(path, &engine.incidents())?;
        eprintln!(
            "watch: {n} filter proposal(s) written to {}",
            path.display()
        );
    }
    let stats = engine.stats();
    eprintln!(
        "watch: {}",
        serde_json::to_string(&stats).unwrap_or_default()
    );
    if problems > 0 {
        eprintln!("watch: {problems} input problem(s) counted and skipped");
    }
    Ok(exit::OK)
}

/// The detection settings of --config, --max-hosts and --local.
fn config(args: &WatchArgs) -> anyhow::Result<Config> {
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
                .map_err(|e| anyhow!("--local: not a CIDR prefix: {}", e.0))?,
        );
    }
    Ok(cfg)
}

/// The bus flags.
fn bus_config(args: &WatchArgs) -> anyhow::Result<BusConfig> {
    if args.bus.is_empty() {
        anyhow::bail!("give --bus URL (a NATS server with JetStream)");
    }
    if !(args.lease.is_finite() && args.lease >= 0.5) {
        anyhow::bail!("--lease: at least 0.5 seconds");
    }
    Ok(BusConfig {
        replicas: args.replicas.clamp(1, 5),
        lease: Duration::from_secs_f64(args.lease),
        connect_wait: Duration::from_secs(args.connect_wait),
        ..BusConfig::new(args.bus.clone())
    })
}

/// Serves --metrics, if given.
/// The --webhook sink of --webhook, --webhook-header[-file], --webhook-ca, --webhook-queue.
fn start_webhook(args: &WatchArgs, metrics: &Arc<Metrics>) -> anyhow::Result<Option<Webhook>> {
    let Some(url) = &args.webhook else {
        return Ok(None);
    };
    let mut headers = args
        .webhook_header
        .iter()
        .map(|h| iotrust_watch::sinks::parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(p) = &args.webhook_header_file {
        headers.extend(header_file(p)?);
    }
    Ok(Some(Webhook::start(
        WebhookConfig {
            queue: (args.webhook_queue as usize).max(1),
            ca_file: args.webhook_ca.clone(),
            headers,
            ..WebhookConfig::new(url)
        },
        metrics.clone(),
    )?))
}

/// The field reporter of --registry, if asked for.
fn start_field_reports(args: &WatchArgs) -> anyhow::Result<Option<FieldReporter>> {
    let (Some(url), Some(token_file), Some(key_file)) = (
        &args.registry,
        &args.provider_token_file,
        &args.provider_key,
    ) else {
        return Ok(None);
    };
    let token = read(token_file)?.trim().to_string();
    if token.is_empty() {
        anyhow::bail!("--provider-token-file: {} is empty", token_file.display());
    }
    let key: iotrust_label::Key = serde_json::from_str(&read(key_file)?).map_err(|e| {
        anyhow!(
            "--provider-key: {}:{}: not a key file: {e}",
            key_file.display(),
            e.line()
        )
    })?;
    if key.public.role != iotrust_label::Role::Provider {
        anyhow::bail!(
            "--provider-key: {} is a key of role {}, not provider",
            key_file.display(),
            key.public.role
        );
    }
    let inventory = match &args.inventory {
        Some(p) => Inventory::parse(&read(p)?, &p.display().to_string())?,
        None => Inventory::default(),
    };
    let reporter = FieldReporter::start(FieldConfig {
        client: iotrust_registry_client::RegistryClient::new(url, &token),
        key,
        inventory,
        max_backoff: Duration::from_secs(30),
        drain: Duration::from_secs(15),
    })?;
    Ok(Some(reporter))
}

/// Waits (a while) for the field reports to go out and says what happened.
fn finish_field_reports(f: FieldReporter) {
    let st = f.finish();
    eprintln!(
        "watch: field reports: {} sent, {} retried, {} refused, {} undelivered; {} incident(s) on devices of no known product",
        st.sent, st.retried, st.refused, st.undelivered, st.unmatched
    );
    if let Some(e) = st.last_error {
        eprintln!("watch: field reports: last error: {e}");
    }
}

/// Waits for the webhook queue to empty and says what it sent, failed and dropped.
fn finish_webhook(w: Webhook, metrics: &Metrics) {
    let why = w
        .finish()
        .map(|w| format!(" (last failure: {w})"))
        .unwrap_or_default();
    eprintln!(
        "watch: webhook: {} sent, {} failed, {} dropped{why}",
        metrics.webhook_sent.load(Relaxed),
        metrics.webhook_failed.load(Relaxed),
        metrics.webhook_dropped.load(Relaxed)
    );
}

fn serve_metrics(args: &WatchArgs, metrics: &Arc<Metrics>) -> anyhow::Result<()> {
    if let Some(addr) = args.metrics {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot listen on tcp {addr} for metrics"))?;
        eprintln!(
            "watch: metrics on http://{}/metrics",
            listener.local_addr()?
        );
        iotrust_watch::metrics::serve(listener, metrics.clone())?;
    }
    Ok(())
}

/// `iotrust watch inlet`: today's sources into the bus.
fn inlet(args: &WatchArgs, cfg: Config) -> anyhow::Result<u8> {
    let bus = bus_config(args)?;
    let metrics = Metrics::new();
    serve_metrics(args, &metrics)?;
    let mut inlet = Inlet::connect(&bus, args.partitions, cfg, metrics.clone())?;
    eprintln!(
        "watch: inlet: {} partition(s) on {}",
        inlet.partitions(),
        bus.urls.join(",")
    );
    // the inlet writes no events: its outputs only count
    let mut outputs = Outputs::metrics_only(metrics.clone());
    // announcements always: the workers decide whether they check MUD
    let mut from = sources(args, true, true);
    // indicators are the workers': the inlet never loads or reloads them
    from.reload = None;
    let problems = pipeline::feed(&from, &mut inlet, &mut outputs)?;
    inlet.finish()?;
    eprintln!(
        "watch: inlet: {} records published in {} messages ({} bytes)",
        inlet.stats().records,
        metrics.bus_messages_out.load(Relaxed),
        metrics.bus_bytes_out.load(Relaxed)
    );
    if problems > 0 {
        eprintln!("watch: {problems} input problem(s) counted and skipped");
    }
    Ok(exit::OK)
}

/// `iotrust watch worker`.
fn worker(args: &WatchArgs) -> anyhow::Result<u8> {
    let bus = bus_config(args)?;
    let metrics = Metrics::new();
    serve_metrics(args, &metrics)?;
    let opts = WorkerOptions {
        name: args
            .name
            .clone()
            .unwrap_or_else(iotrust_watch::bus::worker::default_name),
        indicators: indicator_sources(args)?.load(say)?,
        subscribers: match &args.subscribers {
            Some(p) => Subscribers::parse(&read(p)?, &p.display().to_string())?,
            None => Subscribers::default(),
        },
        mud: mud_setup(args)?,
        duration: args.duration.map(|s| Duration::from_secs(u64::from(s))),
    };
    iotrust_watch::bus::worker::run(&bus, opts, metrics)?;
    Ok(exit::OK)
}

/// Incidents the sink keeps for --filters at most (the oldest ids forgotten first).
const SINK_INCIDENTS: usize = 100_000;

/// `iotrust watch sink`: the bus's events, each id once, to the outputs of one process:
/// stdout or --output (json or text), --webhook, --notices, --registry and --filters (the
/// proposals of the incidents as their latest events show them, rewritten at most once a
/// second while events come, and at the end).
fn sink(args: &WatchArgs) -> anyhow::Result<u8> {
    let bus = bus_config(args)?;
    let metrics = Metrics::new();
    serve_metrics(args, &metrics)?;
    let mut outputs = Outputs {
        out: event_out(args)?,
        webhook: start_webhook(args, &metrics)?,
        field: start_field_reports(args)?,
        notices: notices(args)?,
        metrics: metrics.clone(),
    };
    // devices whose MUD file the map names: their product is known to field reports
    if let Some(m) = mud_setup(args)? {
        for (a, d) in &m.map.devices {
            outputs.announce_mud(a.ip(), &d.url);
        }
    }
    let opts = SinkOptions {
        name: args.name.clone().unwrap_or_else(|| "sink".into()),
        max_pending: args.max_pending,
        duration: args.duration.map(|s| Duration::from_secs(u64::from(s))),
        max_events: args.max_events,
        ..SinkOptions::default()
    };
    let mut incidents: std::collections::BTreeMap<u64, iotrust_watch::Incident> =
        Default::default();
    let mut filters_written = std::time::Instant::now();
    let filters = args.filters.clone();
    let write_filters = |incidents: &std::collections::BTreeMap<u64, iotrust_watch::Incident>| {
        let Some(path) = &filters else {
            return Ok(0);
        };
        pipeline::write_filters(path, incidents.values())
    };
    let written = iotrust_watch::bus::sink::run(&bus, opts, metrics.clone(), |e| {
        outputs.emit_line(&e.event, e.json)?;
        // written through before the bus is told: an event acknowledged is on disk
        outputs.flush()?;
        if filters.is_some() {
            incidents.insert(e.event.incident.id, e.event.incident.clone());
            while incidents.len() > SINK_INCIDENTS {
                incidents.pop_first();
            }
            if filters_written.elapsed() >= Duration::from_secs(1) {
                write_filters(&incidents)?;
                filters_written = std::time::Instant::now();
            }
        }
        Ok(())
    })?;
    if let Some(path) = &filters {
        let n = write_filters(&incidents)?;
        eprintln!(
            "watch: sink: {n} filter proposal(s) written to {}",
            path.display()
        );
    }
    if let Some(w) = outputs.webhook.take() {
        finish_webhook(w, &metrics);
    }
    if let Some(f) = outputs.field.take() {
        finish_field_reports(f);
    }
    eprintln!(
        "watch: sink: {written} event(s) written, {} duplicate(s) dropped",
        metrics.bus_duplicates.load(Relaxed)
    );
    Ok(exit::OK)
}

/// `iotrust watch status`: partitions, owners, sequences (JSON with --format json).
fn status(args: &WatchArgs) -> anyhow::Result<u8> {
    let bus = bus_config(args)?;
    let st = iotrust_watch::bus::status::status(&bus)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&st)?)?,
        Format::Text => {
            writeln!(
                out,
                "{} partition(s), {} worker(s) alive: {}; records stream: {} message(s), {} byte(s), {} replica(s)",
                st.partitions,
                st.workers.len(),
                st.workers.join(", "),
                st.records_messages,
                st.records_bytes,
                st.replicas
            )?;
            writeln!(
                out,
                "partition  owner                 last seq  checkpoint  age (s)"
            )?;
            for p in &st.detail {
                writeln!(
                    out,
                    "{:<10} {:<21} {:>8}  {:>10}  {}",
                    p.partition,
                    p.owner.as_deref().unwrap_or("-"),
                    p.last_seq,
                    p.checkpoint_seq,
                    p.checkpoint_age_secs
                        .map(|a| format!("{a:.1}"))
                        .unwrap_or_else(|| "-".into())
                )?;
            }
        }
    }
    Ok(exit::OK)
}
