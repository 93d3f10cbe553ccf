//! # Horizontal scanning
//!
//! **What.** A source that probes many different addresses on any port: TCP SYN-only
//! records and ICMP echo requests, counted as distinct destination addresses per window.
//!
//! **Why.** Real Mirai variants and other families (Gafgyt, Mozi's exploit scanning) move to
//! ports outside any list; fan-out itself is the behaviour of a worm. FastNetMon's per-host
//! flow threshold needs thousands of flows a second; a scanner needs only a few hundred
//! distinct targets a minute.
//!
//! **Counting.** Distinct destinations are counted exactly up to 16 and then with a
//! 64-register HyperLogLog sketch (13 % standard error, 66 bytes): constant memory per host
//! however wide the scan. We chose the sketch over threshold random walk (Jung et al. 2004)
//! because TRW needs the *outcome* of each connection attempt, which sampled flow records
//! and one-way captures do not carry. Under sampling the observed count is multiplied by
//! the sampling rate, as for [`super::mirai`].
//!
//! **Thresholds** (per source, window [`Config::window_secs`] 60 s, stretched by
//! `sampling / 100` for sampled data): at least [`Config::min_destinations`] (256) scaled
//! distinct destinations from at least [`Config::min_observed`] (8) observed probes →
//! severity medium, confidence 0.7 (high and 0.85 at 4× the threshold). Not raised while the
//! Mirai detector already explains the same host's probes (see [`crate::Watch`]).
//!
//! **False positives.** BitTorrent and other peer-to-peer clients connect to many peers
//! (usually a few dozen a minute); network inventory tools; CGNAT addresses that aggregate
//! thousands of users (put them outside `local_networks` or raise the threshold). UDP
//! fan-out is not counted (DNS, QUIC and peer-to-peer make it common).
//!
//! **Sources.** All: it needs only addresses, protocol and TCP flags (Zeek's flags come
//! from its `history`).

use iotrust_flow::FlowRecord;
use serde::{Deserialize, Serialize};

use super::{
    add32, roll, sampled_window_us, sampling, Counters, Detector, Finding, Severity, Target,
};
use crate::sketch::Distinct;

/// Thresholds of the horizontal-scan detector.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub window_secs: u64,
    pub max_window_secs: u64,
    pub min_destinations: u64,
    pub min_observed: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_secs: 60,
            max_window_secs: 3600,
            min_destinations: 256,
            min_observed: 8,
        }
    }
}

/// Per-source counters of the current window (88 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct State {
    start: i64,
    probes: u32,
    sampling: u32,
    dests: Distinct,
}

/// True for a probe: a SYN-only TCP record, or an ICMP/ICMPv6 echo request.
pub fn is_probe(r: &FlowRecord) -> bool {
    match r.proto {
        FlowRecord::PROTO_TCP => r.tcp_flags.is_syn_only(),
        FlowRecord::PROTO_ICMP => r.icmp().map(|(t, _)| t) == Some(8),
        FlowRecord::PROTO_ICMPV6 => r.icmp().map(|(t, _)| t) == Some(128),
        _ => false,
    }
}

/// `dst_hash` is the destination's sketch hash (`sketch::hash_addr`), which the engine
/// computes once per record for every detector that needs it.
pub fn observe(cfg: &Config, st: &mut State, r: &FlowRecord, dst_hash: u64) -> Option<Finding> {
    if !is_probe(r) {
        return None;
    }
    let rate = sampling(r);
    if roll(
        &mut st.start,
        r.last_us,
        sampled_window_us(cfg.window_secs, rate, cfg.max_window_secs),
    ) {
        *st = State {
            start: st.start,
            ..State::default()
        };
    }
    add32(&mut st.probes, 1);
    st.sampling = st.sampling.max(r.sampling.max(1));
    st.dests.insert(dst_hash);
    let dests = st.dests.estimate().saturating_mul(u64::from(st.sampling));
    if st.probes < cfg.min_observed.max(1) || dests < cfg.min_destinations.max(1) {
        return None;
    }
    let strong = dests >= cfg.min_destinations.saturating_mul(4);
    let mut counters = Counters::default();
    counters
        .push(counter::PROBES, u64::from(st.probes))
        .push(counter::DESTINATIONS, dests)
        .push(counter::ESTIMATED, u64::from(st.dests.is_estimate()))
        .push(counter::SAMPLING, u64::from(st.sampling));
    Some(Finding {
        detector: Detector::HorizontalScan,
        device: r.src,
        severity: if strong {
            Severity::High
        } else {
            Severity::Medium
        },
        confidence: if strong { 0.85 } else { 0.7 },
        attack: None,
        target: Target {
            proto: Some(r.proto),
            ..Target::default()
        },
        counters,
        magnitude: dests,
        since_us: st.start,
        hold_us: 0,
        kind: 0,
    })
}

/// Counter names of this detector's findings.
pub mod counter {
    pub const PROBES: &str = "probes";
    pub const DESTINATIONS: &str = "destinations";
    pub const ESTIMATED: &str = "estimated";
    pub const SAMPLING: &str = "sampling";
}

/// This detector's entry in the table ([`super::detectors!`]).
pub struct Rule;

impl super::Rule for Rule {
    const NAME: &'static str = "horizontal-scan";
    const ROLE: super::Role = super::Role::InfectedDevice;
    const FILTER: super::FilterShape = super::FilterShape::RateLimitProbes;

    fn summary(inc: &crate::incident::Incident) -> String {
        format!(
            "{} probes {} distinct destinations per window",
            inc.device,
            inc.counter(counter::DESTINATIONS)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sketch::hash_addr;
    use iotrust_flow::{Addr, SourceKind, TcpFlags};

    /// Against the exact model: `n` distinct targets (each probed twice) in one window.
    fn fires(n: u32, seed: u32) -> bool {
        let cfg = Config::default();
        let mut st = State::default();
        let mut hit = false;
        for k in 0..2 {
            for i in 0..n {
                let mut r = FlowRecord::new(SourceKind::Pcap);
                r.src = Addr::v4([192, 0, 2, 1]);
                let d = (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)).to_be_bytes();
                r.dst = Addr::v4(d);
                r.proto = FlowRecord::PROTO_TCP;
                r.tcp_flags = TcpFlags(TcpFlags::SYN);
                r.packets = 1;
                r.last_us = 1_000_000_000 + i64::from(k * n + i);
                hit |= observe(&cfg, &mut st, &r, hash_addr(r.dst)).is_some();
            }
        }
        hit
    }

    #[test]
    fn threshold_holds_within_sketch_error() {
        for seed in 0..20 {
            for n in [10, 100, 180] {
                assert!(!fires(n, seed), "{n} targets, seed {seed}");
            }
            for n in [400, 1_000, 5_000] {
                assert!(fires(n, seed), "{n} targets, seed {seed}");
            }
        }
    }
}
