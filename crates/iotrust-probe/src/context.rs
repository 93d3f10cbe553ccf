//! The context of one run: configuration, the network gate, credentials, the TLS client and
//! the check files, built once (`prepare`) and shared by every host; and the two ways checks
//! talk to a service through it (`open`, `http_exchange`).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::time::Instant;

use crate::checks;
use crate::config::ProbeConfig;
use crate::creds::{self, CredentialList};
use crate::error::ProbeError;
use crate::net::{Conn, Gate, NetError};
use crate::protocols::http;
use crate::target::{self, Cidr, HostPlan, Scope};

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

pub(crate) fn now_string() -> String {
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
pub(crate) fn prepare(cfg: &ProbeConfig) -> Result<(Vec<HostPlan>, Ctx), ProbeError> {
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
    let loaded = crate::checkfile::load_all(&cfg.check_dirs)?;
    creds.extend(loaded.credential_list());
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
        data_checks: loaded
            .checks
            .into_iter()
            .filter(|c| c.runs_at(cfg.vantage))
            .collect(),
    };
    Ok((plans, ctx))
}

impl Ctx {
    pub(crate) fn gate_scope(&self) -> Vec<String> {
        self.gate.scope_ranges()
    }
}
