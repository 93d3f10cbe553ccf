//! # Beaconing (periodic contact with one destination)
//!
//! **What.** A device that opens connections (or sends UDP after silence) to the same
//! destination address and port at a steady period: the check-in of a bot to its command
//! server. Mirai sends a keep-alive on one long connection, but many families (and Mirai
//! variants that reconnect) poll every N seconds with a new connection, and what their C2
//! address is changes faster than any indicator list.
//!
//! **Counting.** Each host has four slots (direct-mapped by a hash of destination and
//! port, 24 bytes each). A *beacon* is the start of a TCP connection (a record with SYN) or
//! a UDP record after at least [`Config::min_period_secs`] of silence towards that slot's
//! destination (unsampled records only: under sampling a gap between sampled packets says
//! nothing about silence); records within `min_period_secs` of the previous one (the rest of a burst,
//! a stream) only move its last-seen time, and records lasting longer than the minimum
//! period (long flows, streams cut by an exporter's active timeout) are not beacons. The
//! first interval sets the period; an interval within [`Config::max_jitter`] × period of a
//! whole multiple k of it (k = 1 unsampled, up to 4 for sampled records: a missed beacon)
//! counts, and the period follows the intervals slowly; any other interval restarts the
//! slot. A slot with fewer than three beacons, or silent for three periods, gives way to a
//! new destination.
//!
//! **Thresholds.** At least [`Config::min_beacons`] (8) intervals in a row (the first sets
//! the period, the others agree with it), period
//! between `min_period_secs` (5 s) and [`Config::max_period_secs`] (3,600 s), mean
//! deviation ≤ `max_jitter` (0.1) of the period → severity low, confidence 0.6; medium and
//! 0.7 at 4× `min_beacons`. Ports in [`Config::ignore_ports`] (DNS, NTP, mDNS, SSDP, DHCP,
//! NetBIOS by default) are skipped. The proposed filter blocks the device's traffic to that
//! destination and port, as for a listed C2.
//!
//! **False positives.** Legitimate polling: IoT devices that check in with their vendor's
//! cloud with a new HTTPS connection every minute are, on the wire, exactly this; hence
//! severity low — a lead to correlate with other incidents; list the vendor's clouds as
//! `allow` lines of the indicator file (addresses, prefixes, ports or domains, see
//! [`super::c2`]), whose traffic this detector then never sees, or add the port to
//! `ignore_ports`. Backups and monitoring on fixed schedules.
//!
//! **Sources.** All; needs connection starts (captures, Zeek, unsampled or lightly
//! sampled flows). Under heavy packet sampling (1:1000) a beacon of a few packets is
//! almost never seen twice in a row, so the detector sees nothing — by design, not by a
//! scaled guess.

use iotrust_flow::{FlowRecord, TcpFlags};
use serde::{Deserialize, Serialize};

use super::{Counters, Detector, Finding, Severity, Target, US};

/// Thresholds of the beaconing detector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub min_period_secs: u64,
    pub max_period_secs: u64,
    pub min_beacons: u16,
    pub max_jitter: f32,
    pub ignore_ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_period_secs: 5,
            max_period_secs: 3600,
            min_beacons: 8,
            max_jitter: 0.1,
            ignore_ports: vec![53, 67, 68, 123, 137, 138, 1900, 5353],
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// Hash of destination and port; 0 = free.
    key: u32,
    /// Period, ms.
    period_ms: u32,
    /// Mean absolute deviation from the period (EWMA), ms.
    dev_ms: u32,
    /// Consistent intervals so far.
    beacons: u16,
    last_us: i64,
}

/// Per-source slots (96 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct State {
    slots: [Slot; 4],
}

/// The slot key of a record's destination and port (never 0, which marks a free slot).
fn key_of(r: &FlowRecord, dst_hash: u64) -> u32 {
    ((dst_hash ^ u64::from(r.dst_port).wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 32) as u32 | 1
}

/// True if `r` starts a connection, the only records beaconing looks at.
fn starts(r: &FlowRecord) -> bool {
    match r.proto {
        FlowRecord::PROTO_TCP => r.tcp_flags.has(TcpFlags::SYN),
        // under sampling a UDP record after a gap is no evidence of silence before it
        FlowRecord::PROTO_UDP => r.sampling <= 1,
        _ => false,
    }
}

/// Bytes of [`State`] that `r` may touch (its slot), for prefetching; empty if beaconing
/// ignores `r` at once (not the start of a connection).
pub(crate) fn touched(r: &FlowRecord) -> std::ops::Range<usize> {
    if !starts(r) {
        return 0..0;
    }
    let key = key_of(r, crate::sketch::hash_addr(r.dst));
    let at = (key % 4) as usize * std::mem::size_of::<Slot>();
    at..at + std::mem::size_of::<Slot>()
}

/// `dst_hash` is the destination's sketch hash (`sketch::hash_addr`), which the engine
/// computes once per record for every detector that needs it.
pub fn observe(cfg: &Config, st: &mut State, r: &FlowRecord, dst_hash: u64) -> Option<Finding> {
    if !starts(r) {
        return None;
    }
    // a loop rather than `contains`: inlined, a third of the instructions for a short list
    for p in &cfg.ignore_ports {
        if *p == r.dst_port {
            return None;
        }
    }
    let min_us = i64::try_from(cfg.min_period_secs.max(1))
        .unwrap_or(i64::MAX / US)
        .saturating_mul(US);
    let max_ms = cfg
        .max_period_secs
        .max(cfg.min_period_secs)
        .saturating_mul(1000);
    let long = i64::try_from(r.duration_us()).unwrap_or(i64::MAX) >= min_us;
    let key = key_of(r, dst_hash);
    let t = r.first_us;
    let slot = st.slots.get_mut((key % 4) as usize)?;
    if slot.key != key {
        let stale = slot.period_ms > 0
            && t.saturating_sub(slot.last_us) / 1000 > i64::from(slot.period_ms) * 3;
        if slot.key != 0 && slot.beacons >= 3 && !stale {
            return None;
        }
        *slot = Slot {
            key,
            last_us: r.last_us,
            ..Slot::default()
        };
        return None;
    }
    let gap = t.saturating_sub(slot.last_us);
    slot.last_us = slot.last_us.max(r.last_us);
    if gap < min_us || long {
        return None;
    }
    let d_ms = u64::try_from(gap / 1000).unwrap_or(0);
    if d_ms > max_ms.saturating_mul(4) {
        *slot = Slot {
            key,
            last_us: slot.last_us,
            ..Slot::default()
        };
        return None;
    }
    let period = u64::from(slot.period_ms);
    let max_k = if r.sampling > 1 { 4 } else { 1 };
    let consistent = period > 0 && {
        let k = (d_ms + period / 2) / period;
        let residual = d_ms.abs_diff(k.saturating_mul(period));
        (1..=max_k).contains(&k)
            && (residual as f64) <= f64::from(cfg.max_jitter) * period as f64
            && {
                slot.dev_ms = ((u64::from(slot.dev_ms) * 7 + residual) / 8) as u32;
                // follow a drifting period slowly
                let one = d_ms / k.max(1);
                slot.period_ms = ((period * 7 + one) / 8) as u32;
                true
            }
    };
    if consistent {
        slot.beacons = slot.beacons.saturating_add(1);
    } else {
        slot.period_ms = u32::try_from(d_ms).unwrap_or(u32::MAX);
        slot.dev_ms = 0;
        slot.beacons = 1;
    }
    let period = u64::from(slot.period_ms);
    if slot.beacons < cfg.min_beacons.max(2)
        || period < cfg.min_period_secs.saturating_mul(1000)
        || period > max_ms
        || f64::from(slot.dev_ms) > f64::from(cfg.max_jitter) * period as f64
    {
        return None;
    }
    let strong = slot.beacons >= cfg.min_beacons.saturating_mul(4);
    let mut counters = Counters::default();
    counters
        .push("beacons", u64::from(slot.beacons))
        .push("period_ms", period)
        .push("jitter_ms", u64::from(slot.dev_ms))
        .push("port", u64::from(r.dst_port))
        .push("sampling", u64::from(r.sampling.max(1)));
    Some(Finding {
        detector: Detector::Beaconing,
        device: r.src,
        severity: if strong {
            Severity::Medium
        } else {
            Severity::Low
        },
        confidence: if strong { 0.7 } else { 0.6 },
        attack: None,
        target: Target {
            peer: Some(r.dst),
            proto: Some(r.proto),
            dst_port: Some(r.dst_port),
            ..Target::default()
        },
        counters,
        magnitude: u64::from(slot.beacons),
        since_us: t
            .saturating_sub(i64::try_from(period * 1000).unwrap_or(0) * i64::from(slot.beacons)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotrust_flow::{Addr, SourceKind};

    fn observe_conn(cfg: &Config, st: &mut State, r: &FlowRecord) -> Option<Finding> {
        observe(cfg, st, r, crate::sketch::hash_addr(r.dst))
    }

    fn conn(t: i64, port: u16) -> FlowRecord {
        let mut r = FlowRecord::new(SourceKind::Pcap);
        r.first_us = t;
        r.last_us = t;
        r.src = Addr::v4([192, 0, 2, 7]);
        r.dst = Addr::v4([198, 51, 100, 66]);
        r.proto = FlowRecord::PROTO_TCP;
        r.dst_port = port;
        r.tcp_flags = TcpFlags(TcpFlags::SYN);
        r.packets = 1;
        r
    }

    #[test]
    fn steady_period_fires_after_min_beacons() {
        let cfg = Config::default();
        let mut st = State::default();
        let mut first = None;
        for i in 0..20i64 {
            // 30 s ± 0.5 s
            let t = i * 30 * US + (i % 3 - 1) * 500_000;
            if let Some(f) = observe_conn(&cfg, &mut st, &conn(t, 8443)) {
                first.get_or_insert((i, f));
            }
        }
        let (i, f) = first.unwrap();
        assert_eq!(i, 8, "the 8th interval in a row (the first set the period)");
        let p = f.counters.get("period_ms").unwrap();
        assert!((29_000..=31_000).contains(&p), "{p}");
    }

    #[test]
    fn jittery_or_ignored_traffic_does_not() {
        let cfg = Config::default();
        let mut st = State::default();
        let mut rng = iotrust_flow::testing::Rng(3);
        let mut t = 0;
        for _ in 0..200 {
            t += (10 + rng.below(50) as i64) * US;
            assert!(observe_conn(&cfg, &mut st, &conn(t, 8443)).is_none());
        }
        let mut st = State::default();
        for i in 0..50i64 {
            let mut r = conn(i * 64 * US, 123);
            r.proto = FlowRecord::PROTO_UDP;
            assert!(observe_conn(&cfg, &mut st, &r).is_none(), "NTP is ignored");
        }
        // a stream: packets every 20 ms never leave a gap of 5 s
        let mut st = State::default();
        for i in 0..20_000i64 {
            let mut r = conn(i * 20_000, 3478);
            r.proto = FlowRecord::PROTO_UDP;
            assert!(observe_conn(&cfg, &mut st, &r).is_none());
        }
    }
}
