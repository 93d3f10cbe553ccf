//! One host: the port scan, the dispatch of each open port to the checks for the protocol
//! found there, and what the probe has learned about the host (`HostState`), folded from the
//! observations the checks send (`crate::observe`).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use crate::checks;
use crate::config::DEFAULT_UDP_PORTS;
use crate::context::{now_string, Ctx, Endpoint};
use crate::evidence::{self, Device, Facts, Finding, Service};
use crate::identify::{identify, Proto};
use crate::observe::{self, Observation, Observer};
use crate::protocols::tls;
use crate::target::{HostPlan, Transport};

/// What the probe has learned about one host: the observations of its checks, folded in the
/// order they arrived.
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

impl HostState {
    /// Fold one observation in.
    pub fn apply(&mut self, o: Observation) {
        match o {
            Observation::Service(s) => self.services.push(s),
            Observation::Finding(f) => {
                if !self
                    .findings
                    .iter()
                    .any(|x| x.id == f.id && x.service == f.service)
                {
                    self.findings.push(f);
                }
            }
            Observation::ServiceNote { port, note } => {
                if let Some(s) = self.tcp_service(port) {
                    s.banner = Some(match s.banner.take() {
                        Some(b) => format!("{b}; {note}"),
                        None => note,
                    });
                }
            }
            Observation::ServiceProtocol { port, protocol } => {
                if let Some(s) = self.tcp_service(port) {
                    s.protocol = protocol;
                }
            }
            Observation::ServiceTls { port, versions } => {
                if let Some(s) = self.tcp_service(port) {
                    s.tls_versions = versions;
                }
            }
            Observation::OpenTcp(ports) => {
                self.open_tcp = Some(ports);
                self.identified_all = true;
            }
            Observation::Anonymous(found) => self.anonymous_tested(found),
            Observation::Credentials { found, complete } => self.creds_result(found, complete),
            Observation::CredentialsIncomplete => self.creds_incomplete = true,
            Observation::Incomplete(why) => self.incomplete.push(why),
            Observation::Cleartext => self.cleartext = true,
            Observation::Needless(n) => {
                self.needless.insert(n);
            }
            Observation::TlsVersion(v) => self.tls_version(v),
            Observation::WeakCrypto => self.weak_crypto = true,
        }
    }

    fn tcp_service(&mut self, port: u16) -> Option<&mut Service> {
        self.services
            .iter_mut()
            .find(|s| s.port == port && s.transport == "tcp")
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
    let (obs, mut rx) = observe::channel();
    let work = host_work(&ctx, &plan, &obs);
    let timed_out = tokio::time::timeout(ctx.cfg.timeouts.host, work)
        .await
        .is_err();
    // The checks' futures are gone (finished or dropped at the limit); whatever they sent
    // is in the channel.
    drop(obs);
    let mut st = HostState::default();
    for o in observe::drain(&mut rx) {
        st.apply(o);
    }
    if timed_out {
        st.incomplete.push(format!(
            "host time limit of {} s reached; later checks did not run",
            ctx.cfg.timeouts.host.as_secs()
        ));
        st.identified_all = false;
    }
    st.into_device(plan.addr, started, now_string())
}

async fn host_work(ctx: &Arc<Ctx>, plan: &HostPlan, state: &Observer) {
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
            state.open_tcp(open.iter().copied().collect());
            for p in &open {
                if let Some(name) = needless_port(*p) {
                    state.needless(format!("{name}/{p}"));
                    state.finding(
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
                    state.incomplete(format!("tcp/{port}: service time limit reached"));
                    state.creds_incomplete();
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
        "tr064" => "TR-064 CPE management service answers on the local network".into(),
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

async fn tcp_service(ctx: &Arc<Ctx>, ip: IpAddr, port: u16, state: &Observer) {
    let addr = SocketAddr::new(ip, port);
    let (proto, banner) = identify(ctx, addr).await;
    let name = proto.name();
    let svc = format!("{name}/{port}");
    {
        state.service(Service {
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
                state.cleartext();
                state.needless(svc.clone());
                state.finding(&evidence::NEEDLESS_SERVICE, Some(svc.clone()), Some(needless_title("telnet")), Some("telnet gives a remote shell and is the service Mirai-family botnets scan for".into()));
                state.finding(
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
            let v1_only = banner
                .as_ref()
                .filter(|b| b.starts_with("SSH-1.") && !b.starts_with("SSH-1.99"));
            if let Some(b) = v1_only {
                state.finding(&evidence::SSH_V1, Some(svc.clone()), None, Some(b.clone()));
                // Protocol 1 has no KEXINIT to judge (the finding says what is wrong with
                // it), and the probe's SSH 2 client cannot log in: say so once, instead of
                // two failed handshakes.
                if ctx.cfg.checks.credentials {
                    state.creds_incomplete();
                    state.incomplete(format!(
                        "{svc}: speaks SSH protocol 1 only; credentials not tried (the probe's client speaks SSH 2)"
                    ));
                }
                return;
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
                state.cleartext();
                state.needless(svc.clone());
                state.finding(
                    &evidence::NEEDLESS_SERVICE,
                    Some(svc.clone()),
                    Some(needless_title("ftp")),
                    None,
                );
                state.finding(
                    &evidence::CLEARTEXT_MANAGEMENT,
                    Some(svc.clone()),
                    Some("FTP sends logins and files in cleartext".into()),
                    None,
                );
            }
            checks::auth::ftp(ctx, plain, &svc, state).await;
        }
        Proto::Http => {
            if let Some(how) = checks::cwmp::recognise(ctx, plain).await {
                state.needless(format!("cwmp/{port}"));
                state.finding(
                    &evidence::NEEDLESS_SERVICE,
                    Some(svc.clone()),
                    Some(needless_title(match how {
                        checks::cwmp::Cwmp::Tr064Description => "tr064",
                        checks::cwmp::Cwmp::ConnectionRequestPort => "cwmp",
                    })),
                    Some(match how {
                        checks::cwmp::Cwmp::Tr064Description => {
                            "a TR-064 device description (urn:dslforum-org) answers".into()
                        }
                        checks::cwmp::Cwmp::ConnectionRequestPort => {
                            "HTTP answers on 7547, the TR-069 connection-request port; without \
                             the ACS's credentials nothing more can be seen"
                                .into()
                        }
                    }),
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
