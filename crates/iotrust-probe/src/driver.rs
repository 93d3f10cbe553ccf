//! The thin async driver: expands targets, runs hosts in parallel, scans ports, identifies
//! protocols, dispatches checks and assembles the evidence. Protocol logic lives in
//! [`crate::protocols`]; checks in [`crate::checks`].

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use tokio::time::Instant;

use crate::checks;
use crate::config::{ProbeConfig, DEFAULT_UDP_PORTS};
use crate::creds::{self, CredentialList};
use crate::error::ProbeError;
use crate::evidence::{self, Device, Evidence, Facts, Finding, Rule, Service, Tool};
use crate::net::{Conn, Gate, NetError};
use crate::protocols::{ftp, http, mqtt, ssh, telnet, tls};
use crate::target::{self, Cidr, HostPlan, Scope, Transport};

/// Progress of a run, for progress bars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The run starts with this many hosts.
    Started { hosts: usize },
    /// One host is done.
    HostDone { address: IpAddr, findings: usize },
}

/// Shared state of a run.
pub(crate) struct Ctx {
    pub gate: Gate,
    pub cfg: ProbeConfig,
    pub creds: CredentialList,
    pub communities: Vec<String>,
    pub tls: Arc<tokio_rustls::rustls::ClientConfig>,
    /// Checks kept as data (`data/checks/`, `--checks DIR`).
    pub data_checks: Vec<crate::checkfile::Check>,
}

/// Where a service is: address, port, and whether to speak TLS first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub addr: SocketAddr,
    pub tls: bool,
}

impl Ctx {
    /// Open a connection to an endpoint (TLS handshake included, certificates not verified).
    pub async fn open(&self, ep: Endpoint) -> Result<Conn, NetError> {
        let c = self.gate.tcp(ep.addr).await?;
        if !ep.tls {
            return Ok(c);
        }
        let budget = c.budget();
        let (stream, permit) = c.into_parts();
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls));
        let name = tokio_rustls::rustls::pki_types::ServerName::IpAddress(ep.addr.ip().into());
        match tokio::time::timeout(self.cfg.timeouts.read, connector.connect(name, stream)).await {
            Err(_) => Err(NetError::Timeout),
            Ok(Err(e)) => Err(NetError::Io(format!("tls: {e}"))),
            Ok(Ok(s)) => Ok(Conn::from_parts(
                Box::new(s),
                permit,
                self.cfg.timeouts.read,
                budget,
            )),
        }
    }

    /// One HTTP (or RTSP) exchange: send `req`, read one response.
    pub async fn http_exchange(
        &self,
        ep: Endpoint,
        req: &[u8],
        head: bool,
    ) -> Result<http::Response, NetError> {
        let mut c = self.open(ep).await?;
        c.send(req).await?;
        let deadline = Instant::now() + self.cfg.timeouts.read;
        let mut buf = Vec::new();
        loop {
            match http::parse_response(&buf, false, head) {
                Ok(Some(r)) => return Ok(r),
                Ok(None) => {}
                Err(e) => return Err(NetError::Io(format!("http: {e}"))),
            }
            if buf.len() > http::MAX_HEAD + http::MAX_BODY * 2 {
                return Err(NetError::TooMuch(buf.len()));
            }
            match c.recv_until(deadline).await {
                Ok(b) => buf.extend_from_slice(&b),
                Err(NetError::Closed) | Err(NetError::TooMuch(_)) => {
                    return match http::parse_response(&buf, true, head) {
                        Ok(Some(r)) => Ok(r),
                        _ => Err(NetError::Closed),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A fresh nonce.
    pub fn nonce(&self) -> u64 {
        nonce()
    }
}

/// A random 64-bit value (falls back to the clock if the OS has no randomness).
pub(crate) fn nonce() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        return (t as u64) ^ 0x9e37_79b9_7f4a_7c15;
    }
    u64::from_le_bytes(b)
}

/// What the probe has learned about one host so far. Checks add to it as they go, so a host
/// that hits its time limit still reports everything found until then.
#[derive(Debug, Default)]
pub(crate) struct HostState {
    pub services: Vec<Service>,
    pub findings: Vec<Finding>,
    pub open_tcp: Option<BTreeSet<u16>>,
    /// Some(true) on a working credential; Some(false) once a credential check completed.
    pub creds_tested: Option<bool>,
    pub creds_incomplete: bool,
    pub anonymous: Option<BTreeSet<String>>,
    pub needless: BTreeSet<String>,
    pub cleartext: bool,
    pub tls_min: Option<tls::Version>,
    pub tls_tested: bool,
    pub identified_all: bool,
    pub incomplete: Vec<String>,
    /// An SSH or TLS service offers algorithms current guidance rules out.
    pub weak_crypto: bool,
}

pub(crate) type Shared = Arc<Mutex<HostState>>;

/// Lock the shared state; a poisoned lock (a panic elsewhere) still yields the data.
pub(crate) fn lock(s: &Shared) -> std::sync::MutexGuard<'_, HostState> {
    match s.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl HostState {
    pub fn finding(
        &mut self,
        rule: &Rule,
        service: Option<String>,
        title: Option<String>,
        detail: Option<String>,
    ) {
        let f = Finding::new(rule, service, title, detail);
        if !self
            .findings
            .iter()
            .any(|x| x.id == f.id && x.service == f.service)
        {
            self.findings.push(f);
        }
    }

    pub fn anonymous_tested(&mut self, found: Option<String>) {
        let a = self.anonymous.get_or_insert_with(BTreeSet::new);
        if let Some(s) = found {
            a.insert(s);
        }
    }

    pub fn creds_result(&mut self, found: bool, complete: bool) {
        if found {
            self.creds_tested = Some(true);
        } else if complete {
            if self.creds_tested.is_none() {
                self.creds_tested = Some(false);
            }
        } else {
            self.creds_incomplete = true;
        }
    }

    pub fn tls_version(&mut self, v: tls::Version) {
        self.tls_tested = true;
        self.tls_min = Some(self.tls_min.map_or(v, |m| m.min(v)));
    }

    fn into_device(self, addr: IpAddr, started: String, finished: String) -> Device {
        let discovered = self.open_tcp.is_some();
        let facts = Facts {
            default_credentials_accepted: match self.creds_tested {
                Some(true) => Some(true),
                Some(false) if !self.creds_incomplete => Some(false),
                _ => None,
            },
            open_tcp_ports: self.open_tcp.as_ref().map(|s| s.iter().copied().collect()),
            anonymous_services: self.anonymous.map(|s| s.into_iter().collect()),
            needless_services: discovered.then(|| self.needless.iter().cloned().collect()),
            cleartext_management: if self.cleartext {
                Some(true)
            } else if discovered && self.identified_all {
                Some(false)
            } else {
                None
            },
            tls_min_version: match self.tls_min {
                Some(v) => Some(v.name().to_string()),
                None if discovered && self.identified_all && !self.tls_tested => {
                    Some("none".to_string())
                }
                None => None,
            },
            crypto_best_practice: self.weak_crypto.then_some(false),
        };
        let mut services = self.services;
        services
            .sort_by(|a, b| (a.transport.as_str(), a.port).cmp(&(b.transport.as_str(), b.port)));
        let mut findings = self.findings;
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.service.cmp(&b.service))
                .then_with(|| a.id.cmp(&b.id))
        });
        Device {
            address: addr.to_string(),
            services,
            findings,
            facts,
            incomplete: self.incomplete,
            started,
            finished,
        }
    }
}

fn now_string() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| jiff::Timestamp::now().to_string())
}

fn tls_client_config() -> Result<Arc<tokio_rustls::rustls::ClientConfig>, ProbeError> {
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeError::Config(format!("tls: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(checks::tls::AcceptAnyCert(provider)))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// Build the context: targets, scope, credentials.
fn prepare(cfg: &ProbeConfig) -> Result<(Vec<HostPlan>, Ctx), ProbeError> {
    let mut specs = cfg.targets.clone();
    for f in &cfg.target_files {
        specs.extend(target::read_target_file(f)?);
    }
    if specs.is_empty() {
        return Err(ProbeError::NoTargets);
    }
    let plans = target::expand(&specs, cfg.limits.max_targets)?;
    let scope = if cfg.scope.is_empty() {
        let ranges = plans
            .iter()
            .map(|p| {
                Cidr::parse(&p.addr.to_string())
                    .ok_or_else(|| ProbeError::BadScope(p.addr.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Scope::new(ranges, cfg.allow_public)?
    } else {
        Scope::parse(&cfg.scope, cfg.allow_public)?
    };
    for p in &plans {
        scope.check(p.addr)?;
    }
    let mut creds = if cfg.no_builtin_credentials {
        CredentialList::default()
    } else {
        CredentialList::builtin()
    };
    for f in &cfg.credential_files {
        creds.extend(CredentialList::from_file(f)?);
    }
    let mut communities = creds::snmp_communities();
    for c in &cfg.snmp_communities {
        if !communities.contains(c) {
            communities.push(c.clone());
        }
    }
    let gate = Gate::new(
        scope,
        cfg.timeouts.connect,
        cfg.timeouts.read,
        cfg.limits.max_connections,
        cfg.limits.rate_per_second,
        cfg.limits.max_bytes_per_connection,
    );
    let ctx = Ctx {
        gate,
        cfg: cfg.clone(),
        creds,
        communities,
        tls: tls_client_config()?,
        data_checks: crate::checkfile::load(&cfg.check_dirs)?,
    };
    Ok((plans, ctx))
}

/// Validate a configuration without sending anything: targets expand, scope holds them,
/// credential files parse. Returns the hosts that would be probed.
pub fn plan(cfg: &ProbeConfig) -> Result<Vec<HostPlan>, ProbeError> {
    prepare(cfg).map(|(p, _)| p)
}

/// Run a probe.
pub async fn probe(cfg: &ProbeConfig) -> Result<Evidence, ProbeError> {
    probe_with_progress(cfg, |_| {}).await
}

/// Run a probe, reporting progress.
pub async fn probe_with_progress(
    cfg: &ProbeConfig,
    progress: impl Fn(Progress) + Send + Sync,
) -> Result<Evidence, ProbeError> {
    let (plans, ctx) = prepare(cfg)?;
    let ctx = Arc::new(ctx);
    let started = now_string();
    progress(Progress::Started { hosts: plans.len() });
    let scope: Vec<String> = ctx.gate_scope();
    let progress = &progress;
    // Hosts finish in any order (a slow host must not hold back the next ones); the evidence
    // lists them in target order.
    let mut devices: Vec<(usize, Device)> = stream::iter(plans.into_iter().enumerate())
        .map(|(i, p)| {
            let ctx = Arc::clone(&ctx);
            async move {
                let addr = p.addr;
                let d = tokio::spawn(probe_host(Arc::clone(&ctx), p)).await;
                let d = match d {
                    Ok(d) => d,
                    Err(e) => Device {
                        address: addr.to_string(),
                        services: Vec::new(),
                        findings: Vec::new(),
                        facts: Facts::default(),
                        incomplete: vec![format!("internal error while probing: {e}")],
                        started: now_string(),
                        finished: now_string(),
                    },
                };
                progress(Progress::HostDone {
                    address: addr,
                    findings: d.findings.len(),
                });
                (i, d)
            }
        })
        .buffer_unordered(cfg.limits.max_hosts.max(1))
        .collect()
        .await;
    devices.sort_by_key(|(i, _)| *i);
    let devices: Vec<Device> = devices.into_iter().map(|(_, d)| d).collect();
    Ok(Evidence {
        format: evidence::FORMAT.into(),
        kind: "probe".into(),
        tool: Tool {
            name: evidence::TOOL_NAME.into(),
            version: evidence::TOOL_VERSION.into(),
        },
        started,
        finished: now_string(),
        scope,
        devices,
        facts: Default::default(),
        source: None,
        sbom: None,
    })
}

/// Run a probe on a new multi-threaded runtime (for synchronous callers).
pub fn probe_blocking(cfg: &ProbeConfig) -> Result<Evidence, ProbeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ProbeError::Runtime)?;
    rt.block_on(probe(cfg))
}

impl Ctx {
    fn gate_scope(&self) -> Vec<String> {
        self.gate.scope_ranges()
    }
}

async fn probe_host(ctx: Arc<Ctx>, plan: HostPlan) -> Device {
    let started = now_string();
    let state: Shared = Arc::new(Mutex::new(HostState::default()));
    let work = host_work(&ctx, &plan, &state);
    if tokio::time::timeout(ctx.cfg.timeouts.host, work)
        .await
        .is_err()
    {
        lock(&state).incomplete.push(format!(
            "host time limit of {} s reached; later checks did not run",
            ctx.cfg.timeouts.host.as_secs()
        ));
        lock(&state).identified_all = false;
    }
    let st = std::mem::take(&mut *lock(&state));
    st.into_device(plan.addr, started, now_string())
}

async fn host_work(ctx: &Arc<Ctx>, plan: &HostPlan, state: &Shared) {
    let (tcp_ports, udp_ports): (Vec<u16>, Vec<u16>) = match &plan.ports {
        Some(list) => (
            list.iter()
                .filter(|(_, t)| *t == Transport::Tcp)
                .map(|(p, _)| *p)
                .collect(),
            list.iter()
                .filter(|(_, t)| *t == Transport::Udp)
                .map(|(p, _)| *p)
                .collect(),
        ),
        None => (
            ctx.cfg.tcp_ports(),
            if ctx.cfg.checks.udp {
                DEFAULT_UDP_PORTS.to_vec()
            } else {
                Vec::new()
            },
        ),
    };
    let addr = plan.addr;
    let udp = checks::udp::run_all(ctx, addr, &udp_ports, state);
    let tcp = async {
        let open: Vec<u16> = stream::iter(tcp_ports.iter().copied())
            .map(|port| async move {
                match ctx.gate.tcp(SocketAddr::new(addr, port)).await {
                    Ok(_) => Some(port),
                    Err(_) => None,
                }
            })
            .buffer_unordered(64)
            .filter_map(|x| async move { x })
            .collect()
            .await;
        {
            let mut st = lock(state);
            st.open_tcp = Some(open.iter().copied().collect());
            st.identified_all = true;
            for p in &open {
                if let Some(name) = needless_port(*p) {
                    st.needless.insert(format!("{name}/{p}"));
                    st.finding(
                        &evidence::NEEDLESS_SERVICE,
                        Some(format!("{name}/{p}")),
                        Some(needless_title(name)),
                        Some(format!("TCP port {p} is open")),
                    );
                }
            }
        }
        stream::iter(open)
            .for_each_concurrent(None, |port| async move {
                let svc = tcp_service(ctx, addr, port, state);
                if tokio::time::timeout(ctx.cfg.timeouts.service, svc)
                    .await
                    .is_err()
                {
                    let mut st = lock(state);
                    st.incomplete
                        .push(format!("tcp/{port}: service time limit reached"));
                    st.creds_incomplete = true;
                }
            })
            .await;
    };
    tokio::join!(udp, tcp);
}

/// Ports whose mere exposure is a finding, whatever answers there.
fn needless_port(port: u16) -> Option<&'static str> {
    match port {
        37215 => Some("huawei-upnp"),
        52869 => Some("realtek-upnp"),
        _ => None,
    }
}

fn needless_title(name: &str) -> String {
    match name {
        "telnet" => "Telnet is enabled".into(),
        "ftp" => "FTP is enabled".into(),
        "cwmp" => "TR-069 connection-request port answers on the local network".into(),
        "adb" => "Android Debug Bridge is reachable over the network".into(),
        "huawei-upnp" => {
            "Port 37215 (Huawei HG532 UPnP, exploited by Satori/Mirai variants) is open".into()
        }
        "realtek-upnp" => {
            "Port 52869 (Realtek SDK miniigd, exploited by Mirai variants) is open".into()
        }
        n => format!("{n} is enabled"),
    }
}

/// The protocol spoken on a port, found by behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Proto {
    Telnet,
    Ssh,
    Ftp,
    Http,
    Rtsp,
    Mqtt,
    /// TLS, with what it carries (Http, Mqtt or nothing known).
    Tls(Option<Box<Proto>>),
    Unknown,
}

impl Proto {
    pub fn name(&self) -> &'static str {
        match self {
            Proto::Telnet => "telnet",
            Proto::Ssh => "ssh",
            Proto::Ftp => "ftp",
            Proto::Http => "http",
            Proto::Rtsp => "rtsp",
            Proto::Mqtt => "mqtt",
            Proto::Tls(Some(p)) if **p == Proto::Http => "https",
            Proto::Tls(Some(p)) if **p == Proto::Mqtt => "mqtts",
            Proto::Tls(_) => "tls",
            Proto::Unknown => "unknown",
        }
    }
}

/// Identify the protocol on an open port: greeting first, then probes in an order hinted by
/// the port number (the hint only changes the order, never the answer).
pub(crate) async fn identify(ctx: &Ctx, addr: SocketAddr) -> (Proto, Option<String>) {
    let t = &ctx.cfg.timeouts;
    if let Ok(mut c) = ctx.gate.tcp(addr).await {
        let deadline = Instant::now() + t.banner;
        let (first, _) = c
            .recv_while(deadline, 4096, |b| {
                !b.is_empty() && (b.ends_with(b"\n") || b.ends_with(b": ") || b.ends_with(b":"))
            })
            .await;
        if !first.is_empty() {
            if let Some(line) = ssh::banner_line(&first) {
                return (Proto::Ssh, Some(line));
            }
            if ftp::looks_like_ftp(&first) {
                return (
                    Proto::Ftp,
                    Some(evidence::sanitize(&String::from_utf8_lossy(&first), 160)),
                );
            }
            // Telnet: negotiation, or a login prompt possibly after a banner.
            let mut neg = telnet::Negotiator::default();
            let mut p = neg.feed(&first);
            let mut text = p.data.clone();
            if !p.reply.is_empty() {
                let _ = c.send(&p.reply).await;
            }
            if !neg.saw_negotiation && !telnet::looks_like_telnet(&text) {
                // Give a slow banner a moment to reach its prompt.
                let more_deadline = Instant::now() + t.banner;
                let (more, _) = c
                    .recv_while(more_deadline, 4096, telnet::looks_like_telnet)
                    .await;
                p = neg.feed(&more);
                text.extend_from_slice(&p.data);
            }
            if neg.saw_negotiation || telnet::looks_like_telnet(&text) {
                let banner =
                    evidence::sanitize(&telnet::clean(&String::from_utf8_lossy(&text)), 160);
                return (Proto::Telnet, (!banner.is_empty()).then_some(banner));
            }
            return (
                Proto::Unknown,
                Some(evidence::sanitize(&String::from_utf8_lossy(&first), 160)),
            );
        }
    }
    let port = addr.port();
    let order: &[u8] = match port {
        443 | 8443 | 8883 | 4443 | 9443 => b"TRHM",
        554 | 8554 => b"RHTM",
        1883 => b"MHTR",
        _ => b"HTRM",
    };
    for probe in order {
        let found = match probe {
            b'H' => probe_http(ctx, Endpoint { addr, tls: false }).await,
            b'T' => probe_tls(ctx, addr).await,
            b'R' => probe_rtsp(ctx, addr).await,
            _ => probe_mqtt(ctx, Endpoint { addr, tls: false }).await,
        };
        if let Some(x) = found {
            return x;
        }
    }
    (Proto::Unknown, None)
}

async fn probe_http(ctx: &Ctx, ep: Endpoint) -> Option<(Proto, Option<String>)> {
    let req = http::request("GET", "/", &ep.addr.to_string(), &[], None);
    let r = ctx.http_exchange(ep, &req, false).await.ok()?;
    if r.protocol.starts_with("RTSP/") {
        return Some((
            Proto::Rtsp,
            r.header("server").map(|s| evidence::sanitize(s, 160)),
        ));
    }
    let mut banner = format!("{} {}", r.status, evidence::sanitize(&r.reason, 40));
    if let Some(s) = r.header("server") {
        banner.push_str(&format!("; server: {}", evidence::sanitize(s, 80)));
    }
    if let Some(t) = http::title(&r.text()) {
        banner.push_str(&format!("; title: {}", evidence::sanitize(&t, 60)));
    }
    Some((Proto::Http, Some(banner)))
}

async fn probe_rtsp(ctx: &Ctx, addr: SocketAddr) -> Option<(Proto, Option<String>)> {
    let req = crate::protocols::rtsp::options(&format!("rtsp://{addr}/"), 1);
    let r = ctx
        .http_exchange(Endpoint { addr, tls: false }, &req, false)
        .await
        .ok()?;
    r.protocol.starts_with("RTSP/").then(|| {
        (
            Proto::Rtsp,
            r.header("server").map(|s| evidence::sanitize(s, 160)),
        )
    })
}

async fn probe_mqtt(ctx: &Ctx, ep: Endpoint) -> Option<(Proto, Option<String>)> {
    let mut c = ctx.open(ep).await.ok()?;
    c.send(&mqtt::connect(
        &format!("iotrust-{:08x}", ctx.nonce() as u32),
        None,
    ))
    .await
    .ok()?;
    let deadline = Instant::now() + ctx.cfg.timeouts.banner.max(Duration::from_secs(2));
    let (b, _) = c.recv_while(deadline, 64, |b| b.len() >= 4).await;
    let _ = c.send(&mqtt::disconnect()).await;
    mqtt::looks_like_connack(&b).then_some((Proto::Mqtt, None))
}

async fn probe_tls(ctx: &Ctx, addr: SocketAddr) -> Option<(Proto, Option<String>)> {
    let mut c = ctx.gate.tcp(addr).await.ok()?;
    let mut random = [0u8; 32];
    let _ = getrandom::fill(&mut random);
    c.send(&tls::client_hello(tls::Version::Tls12, random, None))
        .await
        .ok()?;
    let b = c
        .recv(ctx.cfg.timeouts.banner.max(Duration::from_secs(2)))
        .await
        .ok()?;
    if !tls::looks_like_tls(&b) {
        return None;
    }
    drop(c);
    let ep = Endpoint { addr, tls: true };
    if let Some((Proto::Http, banner)) = probe_http(ctx, ep).await {
        return Some((Proto::Tls(Some(Box::new(Proto::Http))), banner));
    }
    if addr.port() == 8883 || addr.port() == 1883 {
        if let Some((Proto::Mqtt, _)) = probe_mqtt(ctx, ep).await {
            return Some((Proto::Tls(Some(Box::new(Proto::Mqtt))), None));
        }
    }
    Some((Proto::Tls(None), None))
}

async fn tcp_service(ctx: &Arc<Ctx>, ip: IpAddr, port: u16, state: &Shared) {
    let addr = SocketAddr::new(ip, port);
    let (proto, banner) = identify(ctx, addr).await;
    let name = proto.name();
    let svc = format!("{name}/{port}");
    {
        let mut st = lock(state);
        st.services.push(Service {
            port,
            transport: "tcp".into(),
            protocol: name.into(),
            banner: banner.clone(),
            tls_versions: Vec::new(),
        });
    }
    let plain = Endpoint { addr, tls: false };
    match &proto {
        Proto::Telnet => {
            {
                let mut st = lock(state);
                st.cleartext = true;
                st.needless.insert(svc.clone());
                st.finding(&evidence::NEEDLESS_SERVICE, Some(svc.clone()), Some(needless_title("telnet")), Some("telnet gives a remote shell and is the service Mirai-family botnets scan for".into()));
                st.finding(
                    &evidence::CLEARTEXT_MANAGEMENT,
                    Some(svc.clone()),
                    Some("Telnet sends logins and commands in cleartext".into()),
                    None,
                );
            }
            if ctx.cfg.checks.credentials {
                checks::auth::telnet(ctx, plain, &svc, state).await;
            }
        }
        Proto::Ssh => {
            if let Some(b) = &banner {
                if b.starts_with("SSH-1.") && !b.starts_with("SSH-1.99") {
                    lock(state).finding(
                        &evidence::SSH_V1,
                        Some(svc.clone()),
                        None,
                        Some(b.clone()),
                    );
                }
            }
            if ctx.cfg.checks.tls {
                checks::ssh::run(ctx, addr, &svc, state).await;
            }
            if ctx.cfg.checks.credentials {
                checks::auth::ssh(ctx, plain, &svc, state).await;
            }
        }
        Proto::Ftp => {
            {
                let mut st = lock(state);
                st.cleartext = true;
                st.needless.insert(svc.clone());
                st.finding(
                    &evidence::NEEDLESS_SERVICE,
                    Some(svc.clone()),
                    Some(needless_title("ftp")),
                    None,
                );
                st.finding(
                    &evidence::CLEARTEXT_MANAGEMENT,
                    Some(svc.clone()),
                    Some("FTP sends logins and files in cleartext".into()),
                    None,
                );
            }
            checks::auth::ftp(ctx, plain, &svc, state).await;
        }
        Proto::Http => {
            if port == 7547 {
                let mut st = lock(state);
                st.needless.insert(format!("cwmp/{port}"));
                st.finding(
                    &evidence::NEEDLESS_SERVICE,
                    Some(svc.clone()),
                    Some(needless_title("cwmp")),
                    None,
                );
            }
            tokio::join!(
                checks::auth::http(ctx, plain, &svc, state),
                checks::data::http(ctx, plain, &svc, state)
            );
        }
        Proto::Rtsp => {
            if ctx.cfg.checks.anonymous {
                checks::services::rtsp(ctx, plain, &svc, state).await;
            }
        }
        Proto::Mqtt => {
            if ctx.cfg.checks.anonymous {
                checks::services::mqtt(ctx, plain, &svc, state).await;
            }
        }
        Proto::Tls(inner) => {
            if ctx.cfg.checks.tls {
                checks::tls::run(ctx, addr, &svc, state).await;
            }
            let tls_ep = Endpoint { addr, tls: true };
            match inner.as_deref() {
                Some(Proto::Http) => {
                    tokio::join!(
                        checks::auth::http(ctx, tls_ep, &svc, state),
                        checks::data::http(ctx, tls_ep, &svc, state)
                    );
                }
                Some(Proto::Mqtt) if ctx.cfg.checks.anonymous => {
                    checks::services::mqtt(ctx, tls_ep, &svc, state).await
                }
                _ => {}
            }
        }
        Proto::Unknown => checks::data::tcp(ctx, addr, &svc, state).await,
    }
}
