//! The sink: incident events from the bus, each id once, to the sinks of one process.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::transport;
use super::{BusConfig, EVENTS};
use crate::error::Error;
use crate::incident::Event;
use crate::metrics::Metrics;

/// What a sink runs with besides the bus.
#[derive(Clone, Debug)]
pub struct SinkOptions {
    /// The durable consumer's name: sinks of one name share the events (each event to one
    /// of them), sinks of different names each get every event.
    pub name: String,
    /// Events delivered and not yet written at most: past that the bus holds the rest back
    /// (back-pressure, bounded memory).
    pub max_pending: i64,
    /// Ids remembered for deduplication (the newest).
    pub remember: usize,
    /// Stop after this long (default: run until killed).
    pub duration: Option<Duration>,
    /// Stop once this many events were written (tests and replays).
    pub max_events: Option<u64>,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            name: "sink".into(),
            max_pending: 10_000,
            remember: 1_000_000,
            duration: None,
            max_events: None,
        }
    }
}

/// One event as the sink hands it on: its id on the bus, its JSON (the line one process
/// writes) and the event read back from it (what notices, filters and field reports read).
pub struct BusEvent<'a> {
    pub id: &'a str,
    pub json: &'a [u8],
    pub event: Event,
}

/// Consumes events until the options say stop, handing each id once to `emit`; an event
/// is acknowledged on the bus after `emit` returned.
pub fn run(
    bus: &BusConfig,
    opts: SinkOptions,
    metrics: Arc<Metrics>,
    emit: impl FnMut(&BusEvent<'_>) -> Result<(), Error>,
) -> Result<u64, Error> {
    let rt = super::runtime()?;
    rt.block_on(run_async(bus, opts, metrics, emit))
}

async fn run_async(
    cfg: &BusConfig,
    opts: SinkOptions,
    metrics: Arc<Metrics>,
    mut emit: impl FnMut(&BusEvent<'_>) -> Result<(), Error>,
) -> Result<u64, Error> {
    let bus = transport::open(cfg).await?;
    let mut messages = bus.consume_events(&opts.name, opts.max_pending).await?;
    let started = Instant::now();
    let mut seen: HashSet<String> = HashSet::new();
    let mut order: VecDeque<String> = VecDeque::new();
    let mut written = 0u64;
    loop {
        if opts.duration.is_some_and(|d| started.elapsed() >= d)
            || opts.max_events.is_some_and(|m| written >= m)
        {
            break;
        }
        let next = tokio::time::timeout(Duration::from_millis(200), messages.next()).await;
        let msg = match next {
            Err(_) => continue,
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                // a server lost or a heartbeat missed: the client reconnects and the
                // consumer goes on (what was not acknowledged comes again)
                eprintln!("watch: sink: {e}; going on");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            Ok(Some(Ok(m))) => m,
        };
        metrics.bus_messages_in.fetch_add(1, Relaxed);
        let id = msg.id;
        let scan_ports: Vec<u8> = msg
            .scan_ports
            .split(',')
            .filter_map(|m| m.trim().parse().ok())
            .collect();
        if seen.contains(&id) {
            metrics.bus_duplicates.fetch_add(1, Relaxed);
        } else {
            match Event::from_json(&msg.payload, &scan_ports) {
                Ok(event) => {
                    emit(&BusEvent {
                        id: &id,
                        json: &msg.payload,
                        event,
                    })?;
                    written += 1;
                }
                Err(e) => {
                    metrics.decode_errors.fetch_add(1, Relaxed);
                    eprintln!(
                        "watch: sink: {EVENTS}: {}: not an incident event: {e}",
                        msg.place
                    );
                }
            }
            seen.insert(id.clone());
            order.push_back(id);
            while order.len() > opts.remember.max(1) {
                if let Some(old) = order.pop_front() {
                    seen.remove(&old);
                }
            }
        }
        // an acknowledgement lost (a server lost) only brings the event again: its id is
        // remembered and it is not written twice
        if let Err(e) = msg.ack.await {
            eprintln!("watch: sink: {e}; it may come again");
        }
    }
    Ok(written)
}
