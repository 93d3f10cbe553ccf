//! One host: what the probe has learned about it so far (`HostState`, which checks add to as
//! they go), the port scan, and the dispatch of each open port to the checks for the protocol
//! found there.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use futures::stream::{self, StreamExt};

use crate::checks;
use crate::config::DEFAULT_UDP_PORTS;
use crate::context::{now_string, Ctx, Endpoint};
use crate::evidence::{self, Device, Facts, Finding, Rule, Service};
use crate::identify::{identify, Proto};
use crate::protocols::tls;
use crate::target::{HostPlan, Transport};

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

    pub(crate) fn into_device(self, addr: IpAddr, started: String, finished: String) -> Device {
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
            legacy_crypto_offered: self.weak_crypto.then_some(true),
        };
        let mut services = self.services;
        services
            .sort_by(|a, b| (a.transport.as_str(), a.port).cmp(&(b.transport.as_str(), b.port)));
        let mut findings = self.findings;
        Finding::sort(&mut findings);
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

pub(crate) async fn probe_host(ctx: Arc<Ctx>, plan: HostPlan) -> Device {
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
