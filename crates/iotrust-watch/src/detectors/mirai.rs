//! # Mirai-family scanning
//!
//! **What.** A device that sends SYN-only TCP probes to many different addresses on the
//! ports Mirai and its descendants scan — telnet 23 and 2323, and the IoT exploit ports
//! 5555 (ADB), 7547 (TR-069), 37215 (Huawei HG532), 52869 (Realtek UPnP), 8080 and 81 (web
//! interfaces of cameras and DVRs) — or that sends probes whose TCP sequence number equals
//! the destination IPv4 address, on any port.
//!
//! **Why.** This is how an infected device spreads: Mirai's scanner (`scanner.c`) sends
//! about 160 hand-built 40-byte SYNs per second to random IPv4 addresses, 9 in 10 to port 23
//! and 1 in 10 to 2323, each with `seq = daddr`. At 160 packets per second the scan is 125
//! times under FastNetMon's default threshold; a volume detector never sees it.
//!
//! **Thresholds** (per source, per window of [`Config::window_secs`], 60 s, stretched by
//! `sampling / 100` up to [`Config::max_window_secs`] for sampled telemetry):
//! - *fingerprint*: at least [`Config::fingerprint_min`] (3) SYN-only probes with
//!   `seq == dst` (the chance of one by accident is 2⁻³²) → confidence 0.99, severity high;
//! - *fan-out*: at least [`Config::min_destinations`] (64) distinct destinations on the
//!   ports above (observed distinct × sampling rate) from at least [`Config::min_observed`]
//!   (5) observed probes → confidence 0.8 with telnet ports among them, 0.6 on exploit
//!   ports only; 0.9 when the 23:2323 split is Mirai's (between 4:1 and 20:1 over at least
//!   20 observed telnet probes).
//!
//! A scanner at 160 SYN/s reaches 64 destinations in 0.4 s unsampled (3 fingerprinted
//! probes in 20 ms); at 1:1000 it gives 0.16 samples a second and is flagged after its
//! fifth sample, about 30 s in.
//!
//! **False positives.** Administrators' own scans (nmap on telnet, TR-069 auto-configuration
//! servers that *connect out* are not scans: they are servers, not sources). 8080 and 81 are
//! ordinary web ports: a browser opens a few connections to them, never 64 different hosts
//! a minute. A NAT gateway aggregating many users could reach the fan-out threshold if
//! several of them scan — which is still an infection behind it. The fingerprint has no
//! known false positive.
//!
//! **Sources.** Fan-out: every source (pcap, pcapng, NetFlow v5/v9, IPFIX, sFlow, Zeek).
//! Fingerprint: only sources that carry the TCP sequence number — capture files and sFlow
//! raw headers; NetFlow, IPFIX and Zeek do not.

use iotrust_flow::FlowRecord;
use serde::{Deserialize, Serialize};

use super::{
    add32, roll, sampled_window_us, sampling, scaled, Attack, Counters, Detector, Finding,
    Severity, Target,
};
use crate::sketch::Distinct;

/// The ports scanned: telnet first, then the exploit ports.
pub const PORTS: [u16; 8] = [23, 2323, 5555, 7547, 37215, 52869, 8080, 81];

/// Thresholds of the Mirai-scan detector.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub window_secs: u64,
    /// Longest window for sampled telemetry.
    pub max_window_secs: u64,
    /// Distinct destinations (scaled by sampling) on the scanned ports.
    pub min_destinations: u64,
    /// Observed (not scaled) probes needed before the fan-out rule may fire.
    pub min_observed: u32,
    /// Observed probes with `seq == dst`.
    pub fingerprint_min: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_secs: 60,
            max_window_secs: 3600,
            min_destinations: 64,
            min_observed: 5,
            fingerprint_min: 3,
        }
    }
}

/// Per-source counters of the current window (104 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct State {
    start: i64,
    probes: u32,
    scaled: u32,
    telnet23: u32,
    telnet2323: u32,
    exploit: u32,
    fingerprint: u32,
    sampling: u32,
    ports: u8,
    dests: Distinct,
}

/// If `r` is a probe this detector counts (a SYN-only TCP record to one of [`PORTS`], or
/// with `seq == dst`): the port's position in [`PORTS`], and whether `seq == dst`.
pub fn probe(r: &FlowRecord) -> Option<(Option<usize>, bool)> {
    if r.proto != FlowRecord::PROTO_TCP || !r.tcp_flags.is_syn_only() {
        return None;
    }
    let port = PORTS.iter().position(|p| *p == r.dst_port);
    let fp = r.seq_equals_dst() == Some(true);
    (port.is_some() || fp).then_some((port, fp))
}

/// Counts `r` if it is a probe and says whether the source is a Mirai-family scanner.
/// `dst_hash` is the destination's sketch hash (`sketch::hash_addr`), which the engine
/// computes once per record for every detector that needs it.
pub fn observe(cfg: &Config, st: &mut State, r: &FlowRecord, dst_hash: u64) -> Option<Finding> {
    let (port, fp) = probe(r)?;
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
    st.probes = st.probes.saturating_add(1);
    add32(&mut st.scaled, scaled(r));
    st.sampling = st.sampling.max(r.sampling.max(1));
    match port {
        Some(0) => st.telnet23 = st.telnet23.saturating_add(1),
        Some(1) => st.telnet2323 = st.telnet2323.saturating_add(1),
        Some(_) => st.exploit = st.exploit.saturating_add(1),
        None => {}
    }
    if let Some(i) = port {
        st.ports |= 1 << i;
    }
    if fp {
        st.fingerprint = st.fingerprint.saturating_add(1);
    }
    st.dests.insert(dst_hash);

    let dests = st.dests.estimate().saturating_mul(u64::from(st.sampling));
    let fingerprinted = st.fingerprint >= cfg.fingerprint_min.max(1);
    let fan_out = st.probes >= cfg.min_observed.max(1) && dests >= cfg.min_destinations;
    if !fingerprinted && !fan_out {
        return None;
    }
    let telnet = st.telnet23.saturating_add(st.telnet2323);
    let ratio_ok = telnet >= 20
        && st.telnet2323 > 0
        && st.telnet23 >= st.telnet2323.saturating_mul(4)
        && st.telnet23 <= st.telnet2323.saturating_mul(20);
    let confidence = if fingerprinted {
        0.99
    } else if ratio_ok {
        0.9
    } else if telnet > 0 {
        0.8
    } else {
        0.6
    };
    let severity = if confidence >= 0.8 {
        Severity::High
    } else {
        Severity::Medium
    };
    let mut counters = Counters::default();
    counters
        .push(counter::PROBES, u64::from(st.probes))
        .push(counter::SCALED_PROBES, u64::from(st.scaled))
        .push(counter::DESTINATIONS, dests)
        .push(counter::PORT_23, u64::from(st.telnet23))
        .push(counter::PORT_2323, u64::from(st.telnet2323))
        .push(counter::EXPLOIT_PORTS, u64::from(st.exploit))
        .push(counter::SEQ_EQUALS_DST, u64::from(st.fingerprint))
        .push(counter::SAMPLING, u64::from(st.sampling));
    Some(Finding {
        detector: Detector::MiraiScan,
        device: r.src,
        severity,
        confidence,
        attack: None::<Attack>,
        target: Target {
            proto: Some(FlowRecord::PROTO_TCP),
            mirai_ports: st.ports,
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
    pub const SCALED_PROBES: &str = "scaled_probes";
    pub const DESTINATIONS: &str = "destinations";
    pub const PORT_23: &str = "port_23";
    pub const PORT_2323: &str = "port_2323";
    pub const EXPLOIT_PORTS: &str = "exploit_ports";
    pub const SEQ_EQUALS_DST: &str = "seq_equals_dst";
    pub const SAMPLING: &str = "sampling";
}

/// This detector's entry in the table ([`super::detectors!`]).
pub struct Rule;

impl super::Rule for Rule {
    const NAME: &'static str = "mirai-scan";
    const ROLE: super::Role = super::Role::InfectedDevice;
    const FILTER: super::FilterShape = super::FilterShape::ScanPorts;

    fn summary(inc: &crate::incident::Incident) -> String {
        format!(
            "{} scans IoT ports {:?} like Mirai: {} destinations, {} probes with seq == dst, 23:2323 = {}:{}",
            inc.device,
            inc.mirai_ports(),
            inc.counter(counter::DESTINATIONS),
            inc.counter(counter::SEQ_EQUALS_DST),
            inc.counter(counter::PORT_23),
            inc.counter(counter::PORT_2323)
        )
    }
}
