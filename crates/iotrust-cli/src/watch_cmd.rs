//! `iotrust watch`: find infected devices and attacks in captures and flow telemetry.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use clap::Args;
use iotrust_flow::{DecodeConfig, FlowDecoder, FlowRecord};
use iotrust_watch::bus::sink::SinkOptions;
use iotrust_watch::bus::worker::WorkerOptions;
use iotrust_watch::bus::{BusConfig, Inlet};
use iotrust_watch::collector::{bind_udp, receive_buffer, Batch, Collector, DEFAULT_RECV_BUFFER};
use iotrust_watch::detectors::mud::MudSetup;
use iotrust_watch::field::{FieldConfig, FieldReporter, Inventory};
use iotrust_watch::mudfiles::{FetchConfig, Library, MudMap};
use iotrust_watch::reload::{IndicatorSources, Reloader};
use iotrust_watch::sources::{Capture, ZeekLogs};
use iotrust_watch::{
    nftables_ruleset, propose, Config, Engine, Event, EventKind, JsonLines, Metrics,
    NoticeTemplate, Prefix, Sharded, Subscribers, Webhook, WebhookConfig,
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

/// The reloader of --indicators and --feed for the long-running modes (none with
/// --indicators-reload 0).
fn reloader(args: &WatchArgs) -> Option<Reloader> {
    let sources = indicator_sources(args).ok()?;
    Reloader::new(
        sources,
        Duration::from_secs(u64::from(args.indicators_reload)),
    )
}

/// Events on stdout or --output, as --format says.
enum EventOut {
    Json(JsonLines<Box<dyn Write>>),
    Text(Box<dyn Write>),
}

impl EventOut {
    fn write(&mut self, e: &Event) -> anyhow::Result<()> {
        match self {
            EventOut::Json(j) => j.write(e)?,
            EventOut::Text(out) => out.write_all(text_line(e).as_bytes())?,
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        match self {
            EventOut::Json(j) => j.flush()?,
            EventOut::Text(out) => out.flush()?,
        }
        Ok(())
    }
}

/// A name as the JSON has it (`opened`, `high`).
fn json_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// `--format text`: the incident's last record time, the event, the device, the detector,
/// the severity and the summary.
fn text_line(e: &Event) -> String {
    let i = &e.incident;
    format!(
        "{} {:<9} {} {} {} {}\n",
        i.last_seen,
        json_name(&e.event),
        i.device,
        i.detector.name(),
        json_name(&i.severity),
        i.summary
    )
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

/// Where events go: stdout or a file, webhook, notices, metrics.
struct Sinks {
    out: EventOut,
    webhook: Option<Webhook>,
    field: Option<FieldReporter>,
    notices: Option<Notices>,
    metrics: Arc<Metrics>,
}

/// Subscriber notices: a file in `dir` per incident opened and per incident closed, each
/// from its template if one was given.
struct Notices {
    dir: PathBuf,
    opened: Option<NoticeTemplate>,
    closed: Option<NoticeTemplate>,
}

impl Notices {
    fn load(args: &WatchArgs) -> anyhow::Result<Option<Notices>> {
        let Some(dir) = &args.notices else {
            return Ok(None);
        };
        let template = |p: &Option<PathBuf>| -> anyhow::Result<Option<NoticeTemplate>> {
            p.as_ref()
                .map(|t| Ok(NoticeTemplate::parse(&read(t)?, &t.display().to_string())?))
                .transpose()
        };
        let (opened, closed) = (
            template(&args.notice_template)?,
            template(&args.closed_notice_template)?,
        );
        if opened.is_none() && closed.is_none() {
            anyhow::bail!("--notices needs --notice-template or --closed-notice-template");
        }
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Some(Notices {
            dir: dir.clone(),
            opened,
            closed,
        }))
    }

    /// Writes the notice of an event, if its kind has a template.
    fn write(&self, e: &Event) -> anyhow::Result<()> {
        let (template, suffix) = match e.event {
            EventKind::Opened => (&self.opened, ""),
            EventKind::Closed => (&self.closed, "-closed"),
            EventKind::Escalated => return Ok(()),
        };
        let Some(t) = template else {
            return Ok(());
        };
        let device = e.incident.device.to_string().replace(':', "_");
        let path = self
            .dir
            .join(format!("notice-{}-{device}{suffix}.txt", e.incident.id));
        std::fs::write(&path, t.render(&e.incident))
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

impl Sinks {
    fn emit(&mut self, e: &Event) -> anyhow::Result<()> {
        self.out.write(e)?;
        self.metrics.events.fetch_add(1, Relaxed);
        match e.event {
            EventKind::Opened => self.metrics.incident_opened(e.incident.detector),
            EventKind::Closed => self.metrics.incident_closed(e.incident.detector),
            EventKind::Escalated => {}
        }
        if let Some(n) = &self.notices {
            n.write(e)?;
        }
        if let Some(w) = &self.webhook {
            w.send(e);
        }
        if let Some(f) = &mut self.field {
            f.observe(e);
        }
        Ok(())
    }

    /// Hands out the engine's events, updates the metrics.
    fn drain(&mut self, engine: &mut impl Engine) -> anyhow::Result<()> {
        let events: Vec<Event> = engine.take_events();
        for e in &events {
            self.emit(e)?;
        }
        self.metrics.set_stats(&engine.stats());
        Ok(())
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
    let notices = Notices::load(&args)?;
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
    let sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sinks = Sinks {
        out: match args.format {
            Format::Json => EventOut::Json(JsonLines::new(sink)),
            Format::Text => EventOut::Text(sink),
        },
        webhook,
        field: start_field_reports(&args)?,
        notices,
        metrics: metrics.clone(),
    };
    if let Some(f) = &mut sinks.field {
        for (addr, url) in &mapped {
            f.announce_mud(*addr, url);
        }
    }
    let problems = feed_sources(&args, dns, read_mud, &mut engine, &mut sinks)?;
    engine.finish()?;
    metrics.records.store(engine.stats().records, Relaxed);
    sinks.drain(&mut engine)?;
    sinks.out.flush()?;
    if let Some(w) = sinks.webhook.take() {
        finish_webhook(w, &metrics);
    }
    if let Some(f) = sinks.field.take() {
        finish_field_reports(f);
    }
    if let Some(path) = &args.filters {
        let incidents = engine.incidents();
        let proposals: Vec<_> = incidents.iter().filter_map(propose).collect();
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

/// Runs every source the flags name, in turn (capture files, live capture, Zeek logs, the
/// UDP collector), into `engine`: the detectors of this process or the bus's inlet.
/// Returns the input problems counted.
fn feed_sources<E: Engine>(
    args: &WatchArgs,
    dns: bool,
    mud: bool,
    engine: &mut E,
    sinks: &mut Sinks,
) -> anyhow::Result<u64> {
    let mut problems = 0u64;
    let mut fed = 0u64;
    let mut feed = |engine: &mut E, r: &FlowRecord, sinks: &mut Sinks| -> anyhow::Result<()> {
        engine.observe(r)?;
        fed += 1;
        // events leave the engine in batches anyway: hand them out every 4,096 records
        if fed % 4096 == 0 {
            sinks.metrics.records.fetch_add(4096, Relaxed);
            sinks.drain(engine)?;
        }
        Ok(())
    };
    let mut fed_many = 0u64;
    let mut feed_many =
        |engine: &mut E, rs: &[FlowRecord], sinks: &mut Sinks| -> anyhow::Result<()> {
            engine.observe_many(rs)?;
            let before = fed_many / 4096;
            fed_many += rs.len() as u64;
            // as `feed`: the metric moves and events leave every 4,096 records
            let steps = fed_many / 4096 - before;
            if steps > 0 {
                sinks.metrics.records.fetch_add(steps * 4096, Relaxed);
                sinks.drain(engine)?;
            }
            Ok(())
        };
    let metrics = sinks.metrics.clone();
    for p in &args.pcap {
        let name = p.display().to_string();
        let input: Box<dyn std::io::Read> = if name == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::fs::File::open(p).with_context(|| format!("cannot open {name}"))?)
        };
        // the reader buffers its input itself: no second buffer (and copy) here
        let mut reader = Capture::new(input, dns, mud).map_err(|e| anyhow!("{name}: {e}"))?;
        // records go to the engine in chunks (host look-ups of a chunk overlap)
        let mut chunk: Vec<FlowRecord> = Vec::with_capacity(CHUNK);
        while let Some(rec) = reader.next() {
            match rec {
                Ok((r, carried)) => {
                    if !carried.mud.is_empty()
                        || carried.dns.as_ref().is_some_and(|m| engine.wants_dns(m))
                    {
                        // a DNS message the engine wants, an announcement: in its place
                        // in the stream
                        feed_many(engine, &chunk, sinks)?;
                        chunk.clear();
                        if let Some(f) = &mut sinks.field {
                            for a in &carried.mud {
                                f.announce_mud(a.device.ip(), &a.url);
                            }
                        }
                        engine.observe_carried(&r, &carried)?;
                        continue;
                    }
                    chunk.push(r);
                    if chunk.len() >= CHUNK {
                        feed_many(engine, &chunk, sinks)?;
                        chunk.clear();
                    }
                }
                Err(e) => {
                    problems += 1;
                    metrics.decode_errors.fetch_add(1, Relaxed);
                    eprintln!("{name}: {e}");
                    if !e.can_continue() {
                        break;
                    }
                }
            }
        }
        feed_many(engine, &chunk, sinks)?;
    }
    if let Some(iface) = &args.interface {
        problems += live(iface, args, dns, mud, engine, sinks)?;
    }
    let mut zeek = ZeekLogs::open(&args.zeek)?;
    let on_error = |name: &str, e: &iotrust_flow::Error| {
        metrics.decode_errors.fetch_add(1, Relaxed);
        eprintln!("{name}: {e}");
    };
    while let Some((r, dns)) = zeek.next(on_error) {
        match dns {
            // a dns.log line: a lookup, not traffic (conn.log has the flow)
            Some(msg) => engine.observe_dns(&r, &msg)?,
            None => feed(engine, &r, sinks)?,
        }
    }
    problems += zeek.problems;
    if let Some(addr) = args.netflow {
        problems += collect(addr, args, engine, sinks)?;
    }
    Ok(problems)
}

/// Records handed to the engine at once from capture files.
const CHUNK: usize = 256;

/// Live capture: tcpdump writes a pcap stream of the interface to a pipe (unbuffered,
/// `-U`), read like a file by a thread of its own; `--duration` ends it by stopping tcpdump.
/// The engine is synced (events written) every 100 ms of wall time, also while the link is
/// quiet, so an incident is reported without waiting for the next packet.
fn live<E: Engine>(
    iface: &str,
    args: &WatchArgs,
    dns: bool,
    mud: bool,
    engine: &mut E,
    sinks: &mut Sinks,
) -> anyhow::Result<u64> {
    let mut cmd = std::process::Command::new("tcpdump");
    cmd.args(["-i", iface, "-U", "-n", "-s", "262144", "-w", "-"]);
    if let Some(f) = &args.capture_filter {
        cmd.arg(f);
    }
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot run tcpdump for --interface (is it installed?)")?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("tcpdump gave no output pipe"))?;
    let child = Arc::new(std::sync::Mutex::new(child));
    if let Some(secs) = args.duration {
        let c = child.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(u64::from(secs)));
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
    let reloader = reloader(args);
    // a reloaded list may bring domains: read DNS whenever the list may change
    let mut reader = Capture::new(
        std::io::BufReader::new(stdout),
        dns || reloader.is_some(),
        mud,
    )
    .map_err(|e| anyhow!("{iface}: tcpdump output: {e}"))?;
    let mut reloader = reloader;
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
                if let Some(f) = &mut sinks.field {
                    for a in &carried.mud {
                        f.announce_mud(a.device.ip(), &a.url);
                    }
                }
                engine.observe_carried(&r, &carried)?;
                n += 1;
                sinks.metrics.records.fetch_add(1, Relaxed);
            }
            Ok(Err(e)) => {
                // the pipe ends mid-record when tcpdump is stopped
                if !e.can_continue() {
                    break;
                }
                problems += 1;
                sinks.metrics.decode_errors.fetch_add(1, Relaxed);
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
            sinks.drain(engine)?;
            sinks.out.flush()?;
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

/// The UDP collector loop: datagrams taken up to [`iotrust_watch::collector::BATCH`] a
/// system call and decoded on this thread, records to the shards; finished work comes out
/// (events written) every 100 ms of wall time, and everything on a quiet socket.
fn collect<E: Engine>(
    addr: SocketAddr,
    args: &WatchArgs,
    engine: &mut E,
    sinks: &mut Sinks,
) -> anyhow::Result<u64> {
    let sock = bind_udp(addr, args.recv_buffer as usize)
        .with_context(|| format!("cannot listen on udp {addr}"))?;
    sock.set_read_timeout(Some(Duration::from_millis(50)))?;
    let local = sock.local_addr()?;
    sinks
        .metrics
        .udp_port
        .store(u64::from(local.port()), Relaxed);
    eprintln!(
        "watch: collecting flows on udp {local} ({} detector thread(s), receive buffer {} bytes)",
        engine.shards(),
        receive_buffer(&sock).unwrap_or(0)
    );
    let mut collector = Collector::new(FlowDecoder::new(DecodeConfig::default()));
    let mut batch = Batch::default();
    let mut problems = 0u64;
    let deadline = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs(u64::from(s)));
    let mut last_sync = Instant::now();
    let mut second = (Instant::now(), 0u64);
    let mut reloader = reloader(args);
    let mut total = 0u64;
    let mut datagrams = 0u64;
    while deadline.is_none_or(|d| Instant::now() < d) {
        let got = batch.recv(&sock)?;
        let now_us = jiff::Timestamp::now().as_microsecond();
        if got > 0 {
            let r = collector.datagrams(engine, now_us, batch.datagrams())?;
            datagrams += r.datagrams;
            problems += r.errors;
            sinks.metrics.decode_errors.fetch_add(r.errors, Relaxed);
            total += r.records;
            sinks.metrics.records.fetch_add(r.records, Relaxed);
        }
        sinks.metrics.datagrams.fetch_add(got as u64, Relaxed);
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
            sinks.drain(engine)?;
            sinks.out.flush()?;
            last_sync = now;
        }
        if now.duration_since(second.0) >= Duration::from_secs(1) {
            sinks
                .metrics
                .records_per_second
                .store(total - second.1, Relaxed);
            second = (now, total);
        }
    }
    let st = collector.decoder().total_stats();
    eprintln!(
        "watch: collector: {datagrams} datagrams, {total} records, {} dropped by the kernel",
        iotrust_watch::metrics::udp_drops(local.port()).unwrap_or(0)
    );
    eprintln!(
        "watch: flow decoder: {}",
        serde_json::to_string(&st).unwrap_or_default()
    );
    Ok(problems)
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
    // the inlet writes no events: its sinks are never used but for metrics
    let mut sinks = Sinks {
        out: EventOut::Text(Box::new(std::io::sink())),
        webhook: None,
        field: None,
        notices: None,
        metrics: metrics.clone(),
    };
    // announcements always: the workers decide whether they check MUD
    let problems = feed_sources(args, true, true, &mut inlet, &mut sinks)?;
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

/// `iotrust watch sink`: the bus's events to stdout or --output (json or text) and
/// --webhook, each id once.
fn sink(args: &WatchArgs) -> anyhow::Result<u8> {
    let bus = bus_config(args)?;
    if args.notices.is_some() || args.filters.is_some() || args.registry.is_some() {
        anyhow::bail!("--notices, --filters and --registry are not yet written by `watch sink`; run them in `iotrust watch`");
    }
    let metrics = Metrics::new();
    serve_metrics(args, &metrics)?;
    let webhook = start_webhook(args, &metrics)?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let opts = SinkOptions {
        name: args.name.clone().unwrap_or_else(|| "sink".into()),
        max_pending: args.max_pending,
        duration: args.duration.map(|s| Duration::from_secs(u64::from(s))),
        max_events: args.max_events,
        ..SinkOptions::default()
    };
    let format = args.format;
    let written = iotrust_watch::bus::sink::run(&bus, opts, metrics.clone(), |e| {
        match format {
            Format::Json => {
                out.write_all(e.json)?;
                out.write_all(b"\n")?;
            }
            Format::Text => {
                let line = format!(
                    "{} {:<9} {} {} {} {}\n",
                    e.field("last_seen"),
                    e.field("event"),
                    e.field("device"),
                    e.field("detector"),
                    e.field("severity"),
                    e.field("summary")
                );
                out.write_all(line.as_bytes())?;
            }
        }
        // written through before the bus is told: an event acknowledged is on disk
        out.flush()?;
        if let Some(w) = &webhook {
            w.send_json(String::from_utf8_lossy(e.json).into_owned());
        }
        Ok(())
    })?;
    if let Some(w) = webhook {
        finish_webhook(w, &metrics);
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
