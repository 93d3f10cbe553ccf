//! Checks: each decides findings and facts for one service from what its protocol module
//! decodes. The credential runner here is shared by every login check: ordered list,
//! bounded attempts, bounded parallelism per service, stop at the first success, and stop
//! (reporting the check as incomplete) when the device stops answering.

pub mod auth;
pub(crate) mod cwmp;
pub mod data;
pub mod services;
pub mod ssh;
pub mod tls;
pub mod udp;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures::stream::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::context::Ctx;
use crate::creds::Credential;
use crate::net::NetError;

/// One attempt's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The credential (index into the batch) worked; with a detail for the report.
    Success(usize, String),
    /// The device clearly refused the credential.
    Rejected,
    /// No verdict (no login prompt, no shell marker before the time limit, an odd reply). Never
    /// counted as tried: retried once, and a run that still has such attempts is incomplete.
    Inconclusive(&'static str),
    /// The connection failed (retried like an inconclusive attempt).
    Failed(NetError),
}

/// How a credential run ended.
#[derive(Clone, Debug)]
pub(crate) struct CredRun {
    pub success: Option<(Credential, String)>,
    /// Every planned attempt got a verdict (or a success ended the run).
    pub complete: bool,
    pub attempts: usize,
    pub note: Option<String>,
}

/// Handed to each attempt. The attempt calls [`Pace::sent`] once the credential is on the
/// wire: the runner then knows it is waiting for the device's verdict, and a long wait from that
/// point on is a fail delay (the device is slow per guess on purpose), while a long wait before
/// it (no greeting, no prompt) is a busy or overloaded device, which must not get more
/// connections. Attempts on protocols where the device speaks first (telnet, FTP, SSH) also take
/// an opening turn ([`Pace::opening`]) from connect until the greeting.
#[derive(Clone, Debug)]
pub(crate) struct Pace {
    sent_at: Arc<OnceLock<Instant>>,
    opening: Arc<Semaphore>,
}

/// Connections of one run that may wait for their greeting at once. BusyBox telnetd listens
/// with a backlog of 1: a third connection arriving before it accepts overflows its queue, and
/// under load the connection then waits unaccepted (or its SYN is dropped). Two at a time never
/// overruns such a listener, and opening takes milliseconds, so wide runs still fill up fast.
const OPENING: usize = 2;

impl Default for Pace {
    fn default() -> Pace {
        Pace::with_opening(Arc::new(Semaphore::new(OPENING)))
    }
}

impl Pace {
    fn with_opening(opening: Arc<Semaphore>) -> Pace {
        Pace {
            sent_at: Arc::new(OnceLock::new()),
            opening,
        }
    }

    /// The credential has been sent (only the first call counts).
    pub fn sent(&self) {
        let _ = self.sent_at.set(Instant::now());
    }

    /// How long the verdict has been awaited, if the credential was sent.
    fn waited(&self) -> Option<Duration> {
        self.sent_at.get().map(Instant::elapsed)
    }

    /// Wait for a turn to open a connection the device greets; hold the permit until the
    /// greeting has arrived (or the attempt ends).
    pub async fn opening(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.opening).acquire_owned().await.ok()
    }
}

/// A verdict awaited at least this long is a fail delay (BusyBox login, pam_faildelay,
/// vsftpd): more connections at once — one guess each — finish the list sooner without more
/// guesses per connection.
const SLOW_REJECTION: Duration = Duration::from_secs(1);
/// How far past the configured parallelism a run widens on fail delays.
const MAX_WIDEN: usize = 6;
/// How often the runner looks at attempts in flight; each look that finds a fail delay under
/// way adds the configured parallelism again (up to the cap), so new connections arrive in
/// small steps rather than as one burst (BusyBox telnetd listens with a backlog of 1).
const TICK: Duration = Duration::from_millis(100);

/// Run `attempt` over the credential list in batches of `batch` pairs (one connection per
/// batch), with at most `parallel` connections at once — widened step by step up to
/// `MAX_WIDEN` times that while the device delays its rejections on purpose and no attempt has
/// failed. Attempts without a verdict (failed connections, timeouts, odd replies) are never
/// counted as tried: they drop the run back to `parallel`, stop further widening, and are
/// retried once at the end at half that parallelism. If some still have no verdict, or the
/// service stops answering, the run is incomplete and says why.
pub(crate) async fn run_credentials<F, Fut>(
    ctx: &Ctx,
    batch: usize,
    parallel: usize,
    attempt: F,
) -> CredRun
where
    F: Fn(Vec<Credential>, Pace) -> Fut,
    Fut: Future<Output = Attempt>,
{
    run_credentials_capped(ctx, batch, parallel, parallel.max(1) * MAX_WIDEN, attempt).await
}

/// [`run_credentials`] for a service that refuses more than `cap` unauthenticated connections
/// at once by design (OpenSSH drops new ones beyond `MaxStartups`, 10 by default): the run
/// never widens past `cap`.
pub(crate) async fn run_credentials_capped<F, Fut>(
    ctx: &Ctx,
    batch: usize,
    parallel: usize,
    cap: usize,
    attempt: F,
) -> CredRun
where
    F: Fn(Vec<Credential>, Pace) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let max = ctx.cfg.limits.max_attempts_per_service;
    let list: Vec<Credential> = ctx.creds.entries().iter().take(max).cloned().collect();
    run_list(list, batch, parallel, cap, &attempt).await
}

async fn run_list<F, Fut>(
    list: Vec<Credential>,
    batch: usize,
    parallel: usize,
    cap: usize,
    attempt: &F,
) -> CredRun
where
    F: Fn(Vec<Credential>, Pace) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let planned = list.len();
    let base = parallel.max(1);
    let batches: Vec<Vec<Credential>> = list
        .chunks(batch.max(1))
        .map(<[Credential]>::to_vec)
        .collect();
    let opening = Arc::new(Semaphore::new(OPENING));
    let cap = cap.max(base);
    let first = run_round(batches, base, cap, Some(SLOW_REJECTION), &opening, attempt).await;
    let mut attempts = first.attempts;
    let done = |success: Option<(Credential, String)>, attempts| CredRun {
        success,
        complete: true,
        attempts,
        note: None,
    };
    if first.success.is_some() {
        return done(first.success, attempts);
    }
    if first.retry.is_empty() {
        return done(None, attempts);
    }
    let (retry, gave_up, why) = if first.gave_up.is_some() {
        (first.retry, first.gave_up, first.why)
    } else {
        let half = (base / 2).max(1);
        let second = run_round(first.retry, half, half, None, &opening, attempt).await;
        attempts += second.attempts;
        if second.success.is_some() {
            return done(second.success, attempts);
        }
        if second.retry.is_empty() {
            return done(None, attempts);
        }
        let mut why = first.why;
        for (r, n) in second.why {
            *why.entry(r).or_default() += n;
        }
        (second.retry, second.gave_up, why)
    };
    let untested: usize = retry.iter().map(Vec::len).sum();
    let reasons = why
        .iter()
        .map(|(r, n)| format!("{r}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    CredRun {
        success: None,
        complete: false,
        attempts,
        note: Some(match gave_up {
            Some(g) => format!("{untested} of {planned} credentials got no verdict: {g} ({reasons})"),
            None => format!(
                "{untested} of {planned} credentials got no verdict, also when tried again ({reasons})"
            ),
        }),
    }
}

/// What one pass over a list of batches produced.
struct Round {
    success: Option<(Credential, String)>,
    /// Batches without a verdict (and, when the round gave up, those never tried).
    retry: Vec<Vec<Credential>>,
    /// Credentials that got a verdict.
    attempts: usize,
    /// Why the round stopped early, if it did.
    gave_up: Option<String>,
    /// Attempts without a verdict, by reason.
    why: BTreeMap<String, usize>,
}

/// One pass over `batches` with `base` connections at once, widened up to `cap`. `slow`:
/// verdicts awaited at least this long widen the run (None: never).
async fn run_round<F, Fut>(
    batches: Vec<Vec<Credential>>,
    base: usize,
    cap: usize,
    slow: Option<Duration>,
    opening: &Arc<Semaphore>,
    attempt: &F,
) -> Round
where
    F: Fn(Vec<Credential>, Pace) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let base = base.max(1);
    let cap = cap.max(base);
    let mut limit = base;
    let mut widest = base;
    let mut slow = slow;
    let mut pending: VecDeque<Vec<Credential>> = batches.into();
    let mut round = Round {
        success: None,
        retry: Vec::new(),
        attempts: 0,
        gave_up: None,
        why: BTreeMap::new(),
    };
    // Attempts in flight: their batch and their `Pace`, by id.
    let mut flying: HashMap<u64, (Vec<Credential>, Pace)> = HashMap::new();
    let mut next_id = 0u64;
    let mut failed_in_row = 0usize;
    let mut verdicts = 0usize;
    let mut no_verdict = 0usize;
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        while in_flight.len() < limit {
            let Some(b) = pending.pop_front() else { break };
            let sent = Pace::with_opening(Arc::clone(opening));
            let id = next_id;
            next_id += 1;
            flying.insert(id, (b.clone(), sent.clone()));
            let fut = attempt(b.clone(), sent.clone());
            in_flight.push(async move {
                let r = fut.await;
                (id, b, r, sent)
            });
        }
        if in_flight.is_empty() {
            break;
        }
        let next = tokio::select! {
            n = in_flight.next() => n,
            _ = tick.tick(), if slow.is_some() && limit < cap => {
                let threshold = slow.unwrap_or(SLOW_REJECTION);
                if flying.values().any(|(_, s)| s.waited().is_some_and(|w| w >= threshold)) {
                    limit = (limit + base).min(cap);
                    widest = widest.max(limit);
                }
                continue;
            }
        };
        let Some((id, b, r, sent)) = next else {
            break;
        };
        flying.remove(&id);
        match r {
            Attempt::Success(i, detail) => {
                round.attempts += i + 1;
                if let Some(c) = b.get(i).cloned() {
                    round.success = Some((c, detail));
                    return round;
                }
                // An index outside the batch: the attempt is broken, not the credential.
                *round.why.entry("no verdict".into()).or_default() += 1;
                round.retry.push(b);
            }
            Attempt::Rejected => {
                round.attempts += b.len();
                verdicts += 1;
                failed_in_row = 0;
                if let Some(s) = slow {
                    // A verdict awaited long after the credential was sent is a fail delay.
                    if sent.waited().is_some_and(|w| w >= s) {
                        limit = (limit + base).min(cap);
                        widest = widest.max(limit);
                    }
                }
            }
            Attempt::Inconclusive(why) => {
                // Busy, overloaded or odd: back to the configured parallelism for good.
                limit = base;
                slow = None;
                no_verdict += 1;
                *round.why.entry(why.to_string()).or_default() += 1;
                round.retry.push(b);
                if verdicts == 0 && no_verdict >= widest + 3 {
                    round.gave_up = Some(format!(
                        "the service gave no verdict on any of its first {no_verdict} attempts"
                    ));
                    break;
                }
            }
            Attempt::Failed(e) => {
                // A refused or dropped connection: maybe a connection limit.
                limit = base;
                slow = None;
                failed_in_row += 1;
                *round.why.entry(e.to_string()).or_default() += 1;
                round.retry.push(b);
                if failed_in_row >= widest + 3 {
                    round.gave_up = Some(format!("the service stopped answering ({e})"));
                    break;
                }
            }
        }
    }
    if round.gave_up.is_some() {
        drop(in_flight);
        round.retry.extend(flying.into_values().map(|(b, _)| b));
        round.retry.extend(pending.drain(..));
    }
    round
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    fn creds(n: usize) -> Vec<Credential> {
        (0..n)
            .map(|i| Credential {
                provenance: Vec::new(),
                user: format!("u{i}"),
                password: "p".into(),
                weight: 1,
                source: "test".into(),
            })
            .collect()
    }

    fn list(n: usize) -> Vec<Vec<Credential>> {
        creds(n).into_iter().map(|c| vec![c]).collect()
    }

    /// Counts attempts in flight and remembers the most seen at once.
    #[derive(Default)]
    struct Gauge {
        now: AtomicUsize,
        peak: AtomicUsize,
        calls: AtomicUsize,
    }

    impl Gauge {
        fn enter(&self) -> usize {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(n, Ordering::SeqCst);
            n
        }
        fn leave(&self) {
            self.now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn slow_verdicts_widen_the_run_up_to_the_cap() {
        let gauge = Gauge::default();
        let g = &gauge;
        let r = run_round(
            list(60),
            2,
            2 * MAX_WIDEN,
            Some(Duration::from_millis(5)),
            &Arc::new(Semaphore::new(OPENING)),
            &move |_b, sent: Pace| async move {
                g.enter();
                sent.sent();
                tokio::time::sleep(Duration::from_millis(20)).await;
                g.leave();
                Attempt::Rejected
            },
        )
        .await;
        assert!(r.success.is_none() && r.retry.is_empty() && r.gave_up.is_none());
        assert_eq!(r.attempts, 60);
        assert_eq!(g.peak.load(Ordering::SeqCst), 2 * MAX_WIDEN);
    }

    #[tokio::test]
    async fn fast_verdicts_keep_the_configured_parallelism() {
        let gauge = Gauge::default();
        let g = &gauge;
        let r = run_round(
            list(20),
            2,
            2 * MAX_WIDEN,
            Some(Duration::from_secs(10)),
            &Arc::new(Semaphore::new(OPENING)),
            &move |_b, sent: Pace| async move {
                g.enter();
                sent.sent();
                tokio::time::sleep(Duration::from_millis(2)).await;
                g.leave();
                Attempt::Rejected
            },
        )
        .await;
        assert!(r.retry.is_empty());
        assert_eq!(r.attempts, 20);
        assert_eq!(g.peak.load(Ordering::SeqCst), 2);
    }

    /// A device slow to greet (overloaded, or a full accept queue) is not a fail delay: slow
    /// attempts that never sent their credential do not widen the run.
    #[tokio::test]
    async fn slowness_before_the_credential_is_sent_does_not_widen() {
        let gauge = Gauge::default();
        let g = &gauge;
        let r = run_round(
            list(20),
            2,
            2 * MAX_WIDEN,
            Some(Duration::from_millis(1)),
            &Arc::new(Semaphore::new(OPENING)),
            &move |_b, _sent: Pace| async move {
                g.enter();
                tokio::time::sleep(Duration::from_millis(15)).await;
                g.leave();
                Attempt::Rejected
            },
        )
        .await;
        assert_eq!(r.attempts, 20);
        assert_eq!(g.peak.load(Ordering::SeqCst), 2);
    }

    /// A device that refuses connections beyond three at once: the run widens, hits the
    /// limit, drops back to the configured parallelism and does not give up.
    #[tokio::test]
    async fn a_refused_connection_drops_back_without_giving_up() {
        let gauge = Gauge::default();
        let g = &gauge;
        let r = run_round(
            list(40),
            2,
            2 * MAX_WIDEN,
            Some(Duration::from_millis(5)),
            &Arc::new(Semaphore::new(OPENING)),
            &move |_b, sent: Pace| async move {
                let n = g.enter();
                let r = if n > 3 {
                    Attempt::Failed(NetError::Closed)
                } else {
                    sent.sent();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    Attempt::Rejected
                };
                g.leave();
                r
            },
        )
        .await;
        assert!(r.gave_up.is_none(), "gave up: {:?}", r.gave_up);
        assert!(!r.retry.is_empty(), "the limit was never reached");
        assert_eq!(r.attempts + r.retry.len(), 40);
        // after the first refusal nothing beyond the configured two is started
        assert!(g.peak.load(Ordering::SeqCst) <= 4);
    }

    /// The scale defect: the working credential's first attempt ends without a verdict (the
    /// device was too busy to answer in time). It must be tried again and found, not counted
    /// as "no default credential".
    #[tokio::test]
    async fn an_attempt_without_verdict_is_retried_and_finds_the_credential() {
        let tries = Mutex::new(BTreeMap::<String, usize>::new());
        let t = &tries;
        let run = run_list(
            creds(12),
            1,
            4,
            4 * MAX_WIDEN,
            &move |b: Vec<Credential>, sent: Pace| async move {
                let user = b[0].user.clone();
                let n = {
                    let mut m = t.lock().unwrap();
                    let e = m.entry(user.clone()).or_default();
                    *e += 1;
                    *e
                };
                sent.sent();
                if user == "u3" {
                    if n == 1 {
                        Attempt::Inconclusive("no shell marker before the time limit")
                    } else {
                        Attempt::Success(0, "shell".into())
                    }
                } else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Attempt::Rejected
                }
            },
        )
        .await;
        assert_eq!(run.success.map(|(c, _)| c.user).as_deref(), Some("u3"));
        assert!(run.complete);
        assert_eq!(tries.lock().unwrap().get("u3"), Some(&2));
    }

    #[tokio::test]
    async fn attempts_that_never_get_a_verdict_make_the_run_incomplete() {
        let run = run_list(
            creds(10),
            1,
            4,
            4 * MAX_WIDEN,
            &|b: Vec<Credential>, _sent: Pace| async move {
                if b[0].user == "u7" {
                    Attempt::Failed(NetError::Timeout)
                } else {
                    Attempt::Rejected
                }
            },
        )
        .await;
        assert!(run.success.is_none());
        assert!(!run.complete);
        assert_eq!(run.attempts, 9);
        let note = run.note.unwrap_or_default();
        assert!(
            note.starts_with("1 of 10 credentials got no verdict"),
            "{note}"
        );
        assert!(note.contains("timed out: 2"), "{note}");
    }

    /// A honeypot that shows a prompt for anything and never runs the marker: no verdict at
    /// all, so the run stops early and reports why instead of waiting out the whole list.
    #[tokio::test]
    async fn a_service_that_never_gives_a_verdict_is_given_up_early() {
        let gauge = Gauge::default();
        let g = &gauge;
        let run = run_list(
            creds(100),
            1,
            2,
            2 * MAX_WIDEN,
            &move |_b, sent: Pace| async move {
                g.enter();
                sent.sent();
                g.leave();
                Attempt::Inconclusive("no shell marker before the time limit")
            },
        )
        .await;
        assert!(!run.complete && run.success.is_none());
        assert!(g.calls.load(Ordering::SeqCst) < 20);
        let note = run.note.unwrap_or_default();
        assert!(
            note.starts_with("100 of 100 credentials got no verdict"),
            "{note}"
        );
        assert!(note.contains("no shell marker"), "{note}");
    }
}
