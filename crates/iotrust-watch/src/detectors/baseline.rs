//! # Per-host baseline (a host at many times its usual rate)
//!
//! **What.** A subscriber device whose outbound attack-class packet rate in a bin is
//! [`Config::factor`] (50) times its own usual rate — "not much, but 50 times the normal
//! level of that host", as an abuse desk put it to FastNetMon (issue 56). A camera that
//! sends 20 packets a second all day and then 2,000 is infected, even though 2,000 is far
//! below any fixed threshold.
//!
//! **Counting.** Attack-class packets: UDP, ICMP, GRE and other non-TCP; TCP records with
//! SYN and no ACK (probes, SYN floods) or without ACK at all; TCP flow records of at most
//! three packets. Established TCP (ACK streams of downloads and uploads, whose flow records
//! are long) is left out, because a big download makes a host send ACKs at hundreds of
//! times its idle rate. Packets are scaled by the sampling rate and spread over the flow's
//! duration. Per host: the current bin ([`Config::bin_secs`], 60 s) and an exponentially
//! weighted moving average of the bins before it ([`Config::alpha`] 0.1; empty bins decay
//! it; a bin that raised a finding is not learnt, so an attack does not become normal).
//! 24 bytes per host.
//!
//! **Thresholds.** After [`Config::warmup_bins`] (10) bins of history, a bin whose packets
//! reach `factor` × the average and at least [`Config::min_pps`] (1,000/s, the floor that
//! keeps quiet hosts from alerting on any burst) averaged over the bin, from at least
//! [`Config::min_observed`] (20) observed records → severity medium, confidence 0.6 (high
//! and 0.7 at 10× the floor). Each finding carries the baseline and the current rate.
//!
//! **False positives.** A host that really changes its job (a new game, an upload over
//! QUIC/UDP); its first hours, when the average is young (hence the warm-up); anything
//! right after the host's state was evicted from a full table. Treat it as a lead: it says
//! *this host changed*, other detectors say how.
//!
//! **Sources.** All; scaled counts make it work under sampling (at 1:1000 the floor is
//! 60 sampled packets a bin).

use iotrust_flow::{FlowRecord, TcpFlags};
use serde::{Deserialize, Serialize};

use super::{rate_share, scaled, secs_us, Counters, Detector, Finding, Severity, Target};

/// Thresholds of the baseline detector.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub bin_secs: u64,
    pub warmup_bins: u16,
    pub factor: f32,
    pub min_pps: u64,
    pub min_observed: u16,
    pub alpha: f32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bin_secs: 60,
            warmup_bins: 10,
            factor: 50.0,
            min_pps: 1_000,
            min_observed: 20,
            alpha: 0.1,
        }
    }
}

/// Per-source bin and average (24 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct State {
    bin_start: i64,
    packets: u32,
    /// Average packets per bin.
    average: f32,
    records: u16,
    /// Bins of history (saturating); the top bit marks the current bin as anomalous.
    bins: u16,
}

const ANOMALOUS: u16 = 0x8000;

/// True for packets the baseline counts (see the module docs).
pub fn is_attack_class(r: &FlowRecord) -> bool {
    if r.proto != FlowRecord::PROTO_TCP {
        return true;
    }
    !r.tcp_flags.has(TcpFlags::ACK) || (r.packets <= 3 && r.kind != iotrust_flow::SourceKind::Pcap)
}

pub fn observe(cfg: &Config, st: &mut State, r: &FlowRecord) -> Option<Finding> {
    if !is_attack_class(r) {
        return None;
    }
    let bin_us = secs_us(cfg.bin_secs);
    let t = r.last_us;
    let alpha = cfg.alpha.clamp(0.001, 1.0);
    if st.bin_start == 0 {
        st.bin_start = t;
    } else if t >= st.bin_start.saturating_add(bin_us) {
        let elapsed = (t.saturating_sub(st.bin_start) / bin_us).clamp(1, 10_000);
        let anomalous = st.bins & ANOMALOUS != 0;
        let history = st.bins & !ANOMALOUS;
        if !anomalous {
            let v = st.packets as f32;
            st.average = if history == 0 {
                v
            } else {
                alpha * v + (1.0 - alpha) * st.average
            };
        }
        // empty bins between
        let empty = elapsed - 1;
        if empty > 0 {
            // (1 - α)^empty; after 200 empty bins (≥ 0.9^200) the average is gone anyway
            st.average = if empty > 200 {
                0.0
            } else {
                st.average * (1.0 - alpha).powi(empty as i32)
            };
        }
        let grown = u16::try_from(i64::from(history) + elapsed).unwrap_or(u16::MAX);
        st.bins = grown.min(ANOMALOUS - 1);
        st.bin_start = st.bin_start.saturating_add(elapsed.saturating_mul(bin_us));
        if t >= st.bin_start.saturating_add(bin_us) {
            st.bin_start = t;
        }
        st.packets = 0;
        st.records = 0;
    }
    let share = rate_share(r, scaled(r), bin_us);
    st.packets = st
        .packets
        .saturating_add(u32::try_from(share).unwrap_or(u32::MAX));
    st.records = st.records.saturating_add(1);
    let history = st.bins & !ANOMALOUS;
    let floor = cfg.min_pps.saturating_mul(cfg.bin_secs.max(1));
    let packets = u64::from(st.packets);
    let need = (f64::from(cfg.factor.max(1.0)) * f64::from(st.average)).max(floor as f64);
    if history < cfg.warmup_bins.max(1)
        || st.records < cfg.min_observed.max(1)
        || (packets as f64) < need
    {
        return None;
    }
    st.bins |= ANOMALOUS;
    let pps = packets / cfg.bin_secs.max(1);
    let usual = (f64::from(st.average) / cfg.bin_secs.max(1) as f64).round() as u64;
    let strong = packets >= floor.saturating_mul(10);
    let mut counters = Counters::default();
    counters
        .push(counter::PPS, pps)
        .push(counter::USUAL_PPS, usual)
        .push(counter::BINS_LEARNT, u64::from(history))
        .push(counter::RECORDS, u64::from(st.records))
        .push(counter::SAMPLING, u64::from(r.sampling.max(1)));
    Some(Finding {
        detector: Detector::RateAnomaly,
        device: r.src,
        severity: if strong {
            Severity::High
        } else {
            Severity::Medium
        },
        confidence: if strong { 0.7 } else { 0.6 },
        attack: None,
        target: Target {
            proto: Some(r.proto),
            ..Target::default()
        },
        counters,
        magnitude: pps,
        since_us: st.bin_start,
        hold_us: 0,
        kind: 0,
    })
}

/// Counter names of this detector's findings.
pub mod counter {
    pub const PPS: &str = "pps";
    pub const USUAL_PPS: &str = "usual_pps";
    pub const BINS_LEARNT: &str = "bins_learnt";
    pub const RECORDS: &str = "records";
    pub const SAMPLING: &str = "sampling";
}

/// This detector's entry in the table ([`super::detectors!`]).
pub struct Rule;

impl super::Rule for Rule {
    const NAME: &'static str = "rate-anomaly";
    const ROLE: super::Role = super::Role::InfectedDevice;
    const FILTER: super::FilterShape = super::FilterShape::None;

    fn summary(inc: &crate::incident::Incident) -> String {
        format!(
            "{} sends {} packets/s, {}× its usual {} packets/s",
            inc.device,
            inc.counter(counter::PPS),
            inc.counter(counter::PPS) / inc.counter(counter::USUAL_PPS).max(1),
            inc.counter(counter::USUAL_PPS)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotrust_flow::{Addr, SourceKind};

    fn udp(t: i64, packets: u64) -> FlowRecord {
        let mut r = FlowRecord::new(SourceKind::NetflowV9);
        r.first_us = t;
        r.last_us = t;
        r.src = Addr::v4([192, 0, 2, 8]);
        r.dst = Addr::v4([198, 51, 100, 1]);
        r.proto = FlowRecord::PROTO_UDP;
        r.packets = packets;
        r
    }

    #[test]
    fn fifty_times_usual_fires_after_warmup_and_is_not_learnt() {
        let cfg = Config::default();
        let mut st = State::default();
        // 20 packets/s for 15 minutes, one record a second
        for s in 0..900i64 {
            assert!(observe(&cfg, &mut st, &udp(s * 1_000_000, 20)).is_none());
        }
        // then 2,000 packets/s: 100×
        let mut hits = Vec::new();
        for s in 900..1200i64 {
            if observe(&cfg, &mut st, &udp(s * 1_000_000, 2_000)).is_some() {
                hits.push(s);
            }
        }
        // within a minute, then in every bin once it holds 50 × the usual count: the attack
        // is not learnt
        assert!(hits.first().is_some_and(|s| *s < 960), "{hits:?}");
        assert!(hits.len() > 100, "{hits:?}");
        assert!(hits.last() == Some(&1199), "{hits:?}");
        assert!(st.average < 2_000.0, "{}", st.average);
    }

    #[test]
    fn no_finding_before_warmup_or_under_the_floor() {
        let cfg = Config::default();
        let mut st = State::default();
        for s in 0..300i64 {
            assert!(observe(&cfg, &mut st, &udp(s * 1_000_000, 5_000)).is_none());
        }
        // 1 packet/s baseline, then 900/s: 900× but under the 1,000/s floor
        let mut st = State::default();
        for s in 0..900i64 {
            observe(&cfg, &mut st, &udp(s * 1_000_000, 1));
        }
        for s in 900..1200i64 {
            assert!(observe(&cfg, &mut st, &udp(s * 1_000_000, 900)).is_none());
        }
    }
}
