//! Runs the checks kept as data ([`crate::checkfile`]): HTTP checks on every port identified
//! as HTTP or HTTPS, TCP checks on every open port no known protocol answered — so an endpoint
//! is found by what it answers, on whatever port it listens.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::time::Instant;

use crate::checkfile::Proto;
use crate::context::{Ctx, Endpoint};
use crate::observe::Observer;

/// Every HTTP check on one HTTP(S) endpoint.
pub(crate) async fn http(ctx: &Arc<Ctx>, ep: Endpoint, svc: &str, state: &Observer) {
    let host = ep.addr.to_string();
    let runs = ctx
        .data_checks
        .iter()
        .filter(|c| c.protocol == Proto::Http)
        .map(|c| {
            let host = host.clone();
            async move {
                let head = c.request.method.as_deref() == Some("HEAD");
                let r = ctx
                    .http_exchange(ep, &c.http_request(&host), head)
                    .await
                    .ok()?;
                c.matches_http(&r).then(|| {
                    let path = c.request.path.as_deref().unwrap_or("/");
                    c.finding(
                        svc.to_string(),
                        format!(
                            "{} {path} answered {}",
                            c.request.method.as_deref().unwrap_or("GET"),
                            r.status
                        ),
                    )
                })
            }
        });
    let found = futures::future::join_all(runs).await;
    for f in found.into_iter().flatten() {
        state.push_finding(f);
    }
}

/// Every TCP check on an open port that spoke no known protocol.
pub(crate) async fn tcp(ctx: &Arc<Ctx>, addr: SocketAddr, svc: &str, state: &Observer) {
    let runs = ctx
        .data_checks
        .iter()
        .filter(|c| c.protocol == Proto::Tcp)
        .map(|c| async move {
            let mut conn = ctx.gate.tcp(addr).await.ok()?;
            conn.send(&c.tcp_bytes()).await.ok()?;
            let deadline = Instant::now() + ctx.cfg.timeouts.read;
            let (answer, _) = conn.recv_while(deadline, 4096, |b| b.len() >= 24).await;
            Some((c, answer))
        });
    let answers = futures::future::join_all(runs).await;
    let mut name = svc.to_string();
    for (c, answer) in answers.into_iter().flatten() {
        if let Some(p) = c.identified(&answer) {
            let port = addr.port();
            name = format!("{p}/{port}");
            state.service_protocol(port, p.to_string());
        }
        if c.matches_tcp(&answer) {
            let f = c.finding(
                name.clone(),
                format!(
                    "answered {} bytes starting {}",
                    answer.len(),
                    String::from_utf8_lossy(&answer[..answer.len().min(4)])
                ),
            );
            state.push_finding(f);
        }
    }
}
