//! # Brute force against a subscriber device (telnet, SSH)
//!
//! **What.** One outside source opening many connections to a subscriber device's login
//! ports ([`PORTS`]: SSH 22 and 2222, telnet 23 and 2323) in a window: the credential
//! guessing Mirai and its kin run against every device they find (scanner.c tries up to 10
//! logins per device, each a new connection; hydra and medusa run 16 and more in parallel).
//!
//! **Why.** A device under login attack is one successful guess from joining a botnet: the
//! subscriber should change the password or close the port, and the provider learns which
//! devices expose telnet or SSH. FastNetMon sees nothing here — a few connections a second.
//!
//! **Counting.** Connection attempts are TCP records to a login port with the SYN flag
//! (the SYN packet itself in captures; a whole connection in flow records, whose flags are
//! ORed). The sources of a device's attempts are counted with a two-entry Misra–Gries
//! summary: a source keeps its entry while it sends more than a third of the attempts, and
//! background scanning (thousands of sources, one SYN each) never adds up, because an
//! unknown source decrements the entries instead of inheriting them.
//!
//! **Thresholds** (per destination, window [`Config::window_secs`] 60 s stretched by
//! `sampling / 100` for sampled data, at most an hour): the top source has made at least
//! [`Config::min_attempts`] (20) attempts, counted × sampling, from at least
//! [`Config::min_observed`] (3) observed records (what keeps one sampled SYN × 1,000 from
//! counting as 1,000 attempts) → severity medium, confidence 0.7; at 5×
//! the threshold high and 0.8. The incident's device is the **victim**; the attacker is its
//! `peer` target. No filter is proposed (the attacker is outside).
//!
//! **False positives.** Monitoring or automation that logs in to the device over SSH often
//! (more than one connection every 3 s); a provider's own management system polling CPEs
//! (leave its address out, or the CPE prefix out of `local_networks`). A distributed brute
//! force from many sources, each under the threshold, is not detected.
//!
//! **Sources.** All (ports and TCP flags). With Zeek, flags come from `history`.

use iotrust_flow::{Addr, FlowRecord, TcpFlags};
use serde::{Deserialize, Serialize};

use super::{
    add32, roll, sampled_window_us, sampling, Counters, Detector, Finding, Severity, Target,
};

/// Login ports watched.
pub const PORTS: [u16; 4] = [22, 23, 2222, 2323];

/// Thresholds of the brute-force detector.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub window_secs: u64,
    pub max_window_secs: u64,
    pub min_attempts: u64,
    pub min_observed: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_secs: 60,
            max_window_secs: 3600,
            min_attempts: 20,
            min_observed: 3,
        }
    }
}

/// Per-destination counters of the current window (56 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct State {
    start: i64,
    top: [(Addr, u32); 2],
    sampling: u32,
    port: u16,
}

/// True for a connection attempt to a login port. Inlined with the ports compared one by
/// one: asked of every inbound record (and again by the look-up ahead), where a call to
/// the slice search cost 74 instructions a packet once the engine's loop outgrew the
/// compiler's inlining budget.
#[inline(always)]
pub fn is_attempt(r: &FlowRecord) -> bool {
    let p = r.dst_port;
    r.proto == FlowRecord::PROTO_TCP
        && r.tcp_flags.has(TcpFlags::SYN)
        && (p == PORTS[0] || p == PORTS[1] || p == PORTS[2] || p == PORTS[3])
}

pub fn observe(cfg: &Config, st: &mut State, r: &FlowRecord) -> Option<Finding> {
    if !is_attempt(r) {
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
    st.sampling = st.sampling.max(r.sampling.max(1));
    // Misra–Gries with two counters
    let count = if let Some(e) = st.top.iter_mut().find(|e| e.1 > 0 && e.0 == r.src) {
        add32(&mut e.1, 1);
        e.1
    } else if let Some(e) = st.top.iter_mut().find(|e| e.1 == 0) {
        *e = (r.src, 1);
        1
    } else {
        for e in st.top.iter_mut() {
            e.1 -= 1;
        }
        0
    };
    if count == 0 {
        return None;
    }
    st.port = r.dst_port;
    let attempts = u64::from(count).saturating_mul(u64::from(st.sampling));
    if count < cfg.min_observed.max(1) || attempts < cfg.min_attempts.max(1) {
        return None;
    }
    let strong = attempts >= cfg.min_attempts.saturating_mul(5);
    let mut counters = Counters::default();
    counters
        .push(counter::ATTEMPTS, attempts)
        .push(counter::OBSERVED, u64::from(count))
        .push(counter::PORT, u64::from(r.dst_port))
        .push(counter::SAMPLING, u64::from(st.sampling));
    Some(Finding {
        detector: Detector::BruteForce,
        device: r.dst,
        severity: if strong {
            Severity::High
        } else {
            Severity::Medium
        },
        confidence: if strong { 0.8 } else { 0.7 },
        attack: None,
        target: Target {
            peer: Some(r.src),
            proto: Some(r.proto),
            dst_port: Some(r.dst_port),
            ..Target::default()
        },
        counters,
        magnitude: attempts,
        since_us: st.start,
        hold_us: 0,
        kind: 0,
    })
}

/// Counter names of this detector's findings.
pub mod counter {
    pub const ATTEMPTS: &str = "attempts";
    pub const OBSERVED: &str = "observed";
    pub const PORT: &str = "port";
    pub const SAMPLING: &str = "sampling";
}

/// This detector's entry in the table ([`super::detectors!`]).
pub struct Rule;

impl super::Rule for Rule {
    const NAME: &'static str = "brute-force";
    const ROLE: super::Role = super::Role::Victim;
    const FILTER: super::FilterShape = super::FilterShape::None;

    fn summary(inc: &crate::incident::Incident) -> String {
        let peer = inc.peer();
        format!(
            "{} receives {} login attempts to port {} per window from {peer} (victim: do not blackhole)",
            inc.device,
            inc.counter(counter::ATTEMPTS),
            inc.counter(counter::PORT)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotrust_flow::SourceKind;

    fn syn(t: i64, src: [u8; 4], port: u16) -> FlowRecord {
        let mut r = FlowRecord::new(SourceKind::Pcap);
        r.first_us = t;
        r.last_us = t;
        r.src = Addr::v4(src);
        r.dst = Addr::v4([192, 0, 2, 5]);
        r.proto = FlowRecord::PROTO_TCP;
        r.dst_port = port;
        r.tcp_flags = TcpFlags(TcpFlags::SYN);
        r.packets = 1;
        r
    }

    #[test]
    fn one_source_many_attempts_fires_many_sources_do_not() {
        let cfg = Config::default();
        let mut st = State::default();
        let mut first = None;
        for i in 0..30i64 {
            if observe(
                &cfg,
                &mut st,
                &syn(1_000_000 + i * 1_000_000, [203, 0, 113, 1], 23),
            )
            .is_some()
                && first.is_none()
            {
                first = Some(i);
            }
        }
        assert_eq!(first, Some(19), "the 20th attempt");
        // 5,000 background scanners, one SYN each, interleaved with a slow login every 5 s
        let mut st = State::default();
        for i in 0..5_000i64 {
            let k = i as u32;
            let src = [100, (k >> 16) as u8, (k >> 8) as u8, k as u8];
            assert!(observe(&cfg, &mut st, &syn(i * 10_000, src, 23)).is_none());
        }
        // SYN-ACKs and other ports are no attempts
        let mut r = syn(0, [203, 0, 113, 1], 443);
        assert!(!is_attempt(&r));
        r.dst_port = 22;
        r.proto = FlowRecord::PROTO_UDP;
        assert!(!is_attempt(&r));
    }

    #[test]
    fn sampled_attempts_scale() {
        let cfg = Config::default();
        let mut st = State::default();
        let mut hit = None;
        for i in 0..10i64 {
            let mut r = syn(i * 5_000_000, [203, 0, 113, 1], 22);
            r.sampling = 100;
            if let Some(f) = observe(&cfg, &mut st, &r) {
                hit.get_or_insert(f);
            }
        }
        let f = hit.unwrap();
        assert_eq!(f.counters.get("observed"), Some(3), "min_observed guards");
        assert_eq!(f.counters.get("attempts"), Some(300));
    }
}
