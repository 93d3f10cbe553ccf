//! Checks: each decides findings and facts for one service from what its protocol module
//! decodes. The credential runner here is shared by every login check: ordered list,
//! bounded attempts, bounded parallelism per service, stop at the first success, and stop
//! (reporting the check as incomplete) when the device stops answering.

pub mod auth;
pub mod services;
pub mod tls;
pub mod udp;

use std::future::Future;
use std::time::{Duration, Instant};

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

/// A rejection that takes at least this long is a fail delay (BusyBox login, pam_faildelay,
/// vsftpd): the device is slow per guess on purpose, not overloaded, so more connections at
/// once — one guess each — finish the list sooner without more guesses per connection.
const SLOW_REJECTION: Duration = Duration::from_secs(1);
/// How far past the configured parallelism a run widens on slow rejections.
const MAX_WIDEN: usize = 4;

/// Run `attempt` over the credential list in batches of `batch` pairs (one connection per
/// batch), with at most `parallel` connections at once — widened up to `MAX_WIDEN` times that
/// while rejections are slow (a fail delay) and no connection has failed; the first failed
/// connection drops back to `parallel` for the rest of the run. Batches whose connection failed
/// are retried once at the end (at `parallel`); if they fail again the run is incomplete.
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
        let slow = (round == 0).then_some(SLOW_REJECTION);
        let (success, failed, n, gave_up) = run_round(batches, parallel, slow, &attempt).await;
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

/// One pass over `batches`. `slow`: rejections at least this slow widen the run (None: never).
async fn run_round<F, Fut>(
    batches: Vec<Vec<Credential>>,
    parallel: usize,
    slow: Option<Duration>,
    attempt: &F,
) -> RoundResult
where
    F: Fn(Vec<Credential>) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let base = parallel.max(1);
    let mut limit = base;
    let mut widest = base;
    let mut slow = slow;
    let mut pending: std::collections::VecDeque<Vec<Credential>> = batches.into();
    let mut failed = Vec::new();
    let mut attempts = 0usize;
    let mut consecutive = 0usize;
    let mut in_flight = futures::stream::FuturesUnordered::new();
    loop {
        while in_flight.len() < limit {
            let Some(b) = pending.pop_front() else { break };
            in_flight.push(async move {
                let started = Instant::now();
                let r = attempt(b.clone()).await;
                (b, r, started.elapsed())
            });
        }
        let Some((b, r, took)) = in_flight.next().await else {
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
                if slow.is_some_and(|s| took >= s) {
                    limit = (limit + 1).min(base * MAX_WIDEN);
                    widest = widest.max(limit);
                }
            }
            Attempt::Failed(e) => {
                // A refused or dropped connection: maybe a connection limit. Back to the
                // configured parallelism, and never widen again in this run.
                limit = base;
                slow = None;
                consecutive += 1;
                failed.push(b);
                if consecutive >= widest + 3 {
                    failed.extend(pending.drain(..));
                    drop(in_flight);
                    return (None, failed, attempts, Some(e));
                }
            }
        }
    }
    (None, failed, attempts, None)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn list(n: usize) -> Vec<Vec<Credential>> {
        (0..n)
            .map(|i| {
                vec![Credential {
                    user: format!("u{i}"),
                    password: "p".into(),
                    weight: 1,
                    source: "test".into(),
                }]
            })
            .collect()
    }

    /// Counts attempts in flight and remembers the most seen at once.
    #[derive(Default)]
    struct Gauge {
        now: AtomicUsize,
        peak: AtomicUsize,
    }

    impl Gauge {
        fn enter(&self) -> usize {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(n, Ordering::SeqCst);
            n
        }
        fn leave(&self) {
            self.now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn slow_rejections_widen_the_run_up_to_the_cap() {
        let gauge = Gauge::default();
        let g = &gauge;
        let (success, failed, attempts, gave_up) = run_round(
            list(40),
            2,
            Some(Duration::from_millis(5)),
            &move |_b| async move {
                g.enter();
                tokio::time::sleep(Duration::from_millis(10)).await;
                g.leave();
                Attempt::Rejected
            },
        )
        .await;
        assert!(success.is_none() && failed.is_empty() && gave_up.is_none());
        assert_eq!(attempts, 40);
        assert_eq!(g.peak.load(Ordering::SeqCst), 2 * MAX_WIDEN);
    }

    #[tokio::test]
    async fn fast_rejections_keep_the_configured_parallelism() {
        let gauge = Gauge::default();
        let g = &gauge;
        let (_, failed, attempts, _) = run_round(
            list(20),
            2,
            Some(Duration::from_secs(10)),
            &move |_b| async move {
                g.enter();
                tokio::time::sleep(Duration::from_millis(2)).await;
                g.leave();
                Attempt::Rejected
            },
        )
        .await;
        assert!(failed.is_empty());
        assert_eq!(attempts, 20);
        assert_eq!(g.peak.load(Ordering::SeqCst), 2);
    }

    /// A device that refuses connections beyond three at once: the run widens, hits the
    /// limit, drops back to the configured parallelism and does not give up.
    #[tokio::test]
    async fn a_refused_connection_drops_back_without_giving_up() {
        let gauge = Gauge::default();
        let g = &gauge;
        let (_, failed, attempts, gave_up) = run_round(
            list(40),
            2,
            Some(Duration::from_millis(5)),
            &move |_b| async move {
                let n = g.enter();
                let r = if n > 3 {
                    Attempt::Failed(NetError::Closed)
                } else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    Attempt::Rejected
                };
                g.leave();
                r
            },
        )
        .await;
        assert!(gave_up.is_none(), "gave up: {gave_up:?}");
        assert!(!failed.is_empty(), "the limit was never reached");
        assert_eq!(attempts + failed.len(), 40);
        // after the first refusal nothing beyond the configured two is started
        assert!(g.peak.load(Ordering::SeqCst) <= 4);
    }
}
