//! The thin async driver: runs hosts in parallel and assembles the evidence. The context of a
//! run is built in [`crate::context`], each host is scanned and dispatched in [`crate::host`],
//! protocols are identified in [`crate::identify`]; protocol logic lives in
//! [`crate::protocols`], checks in [`crate::checks`].

use std::net::IpAddr;
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use crate::config::ProbeConfig;
use crate::context::{now_string, prepare};
use crate::error::ProbeError;
use crate::evidence::{self, Device, Evidence, Facts, Tool};
use crate::host::probe_host;
use crate::target::HostPlan;

/// Progress of a run, for progress bars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The run starts with this many hosts.
    Started { hosts: usize },
    /// One host is done.
    HostDone { address: IpAddr, findings: usize },
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
        vantage: Some(cfg.vantage),
        devices,
        facts: Default::default(),
        source: None,
        sbom: None,
        state: None,
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
