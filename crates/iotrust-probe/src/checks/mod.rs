//! Checks: each decides findings and facts for one service from what its protocol module
//! decodes. The credential runner here is shared by every login check: ordered list,
//! bounded attempts, bounded parallelism per service, stop at the first success, and stop
//! (reporting the check as incomplete) when the device stops answering.

pub mod auth;
pub mod services;
pub mod tls;
pub mod udp;

use std::future::Future;

use futures::stream::StreamExt;

use crate::creds::Credential;
use crate::driver::Ctx;
use crate::net::NetError;

/// One attempt's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The credential (index into the batch) worked; with a detail for the report.
    Success(usize, String),
    Rejected,
    /// Nothing conclusive (no shell marker, odd reply): counts as tried, not as success.
    Inconclusive,
    /// The connection failed.
    Failed(NetError),
}

/// How a credential run ended.
#[derive(Clone, Debug)]
pub(crate) struct CredRun {
    pub success: Option<(Credential, String)>,
    /// Every planned attempt ran (or a success ended the run).
    pub complete: bool,
    pub attempts: usize,
    pub note: Option<String>,
}

/// Run `attempt` over the credential list in batches of `batch` pairs (one connection per
/// batch), with at most `parallel` connections at once. Batches whose connection failed are
/// retried once at the end; if they fail again the run is incomplete.
pub(crate) async fn run_credentials<F, Fut>(
    ctx: &Ctx,
    batch: usize,
    parallel: usize,
    attempt: F,
) -> CredRun
where
    F: Fn(Vec<Credential>) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let max = ctx.cfg.limits.max_attempts_per_service;
    let list: Vec<Credential> = ctx.creds.entries().iter().take(max).cloned().collect();
    let planned = list.len();
    let mut batches: Vec<Vec<Credential>> = list
        .chunks(batch.max(1))
        .map(<[Credential]>::to_vec)
        .collect();
    let mut attempts = 0usize;
    for round in 0..2 {
        let (success, failed, n, gave_up) = run_round(batches, parallel, &attempt).await;
        attempts += n;
        if let Some(s) = success {
            return CredRun {
                success: Some(s),
                complete: true,
                attempts,
                note: None,
            };
        }
        if failed.is_empty() {
            return CredRun {
                success: None,
                complete: true,
                attempts,
                note: None,
            };
        }
        if gave_up.is_some() || round == 1 {
            let untested: usize = failed.iter().map(Vec::len).sum();
            return CredRun {
                success: None,
                complete: false,
                attempts,
                note: Some(format!(
                    "{untested} of {planned} credentials could not be tried: the service stopped answering ({})",
                    gave_up.map(|e| e.to_string()).unwrap_or_else(|| "connection failures".into())
                )),
            };
        }
        batches = failed;
    }
    CredRun {
        success: None,
        complete: false,
        attempts,
        note: None,
    }
}

type RoundResult = (
    Option<(Credential, String)>,
    Vec<Vec<Credential>>,
    usize,
    Option<NetError>,
);

async fn run_round<F, Fut>(
    batches: Vec<Vec<Credential>>,
    parallel: usize,
    attempt: &F,
) -> RoundResult
where
    F: Fn(Vec<Credential>) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let mut pending: std::collections::VecDeque<Vec<Credential>> = batches.into();
    let mut failed = Vec::new();
    let mut attempts = 0usize;
    let mut consecutive = 0usize;
    let mut in_flight = futures::stream::FuturesUnordered::new();
    loop {
        while in_flight.len() < parallel.max(1) {
            let Some(b) = pending.pop_front() else { break };
            in_flight.push(async move {
                let r = attempt(b.clone()).await;
                (b, r)
            });
        }
        let Some((b, r)) = in_flight.next().await else {
            break;
        };
        match r {
            Attempt::Success(i, detail) => {
                attempts += i + 1;
                if let Some(c) = b.get(i).cloned() {
                    return (Some((c, detail)), failed, attempts, None);
                }
            }
            Attempt::Rejected | Attempt::Inconclusive => {
                attempts += b.len();
                consecutive = 0;
            }
            Attempt::Failed(e) => {
                consecutive += 1;
                failed.push(b);
                if consecutive >= parallel.max(1) + 3 {
                    failed.extend(pending.drain(..));
                    drop(in_flight);
                    return (None, failed, attempts, Some(e));
                }
            }
        }
    }
    (None, failed, attempts, None)
}
