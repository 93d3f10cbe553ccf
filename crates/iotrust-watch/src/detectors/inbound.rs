//! # Attack on a subscriber (inbound volumetric and reflection)
//!
//! **What.** A destination that receives, per window, more packets or bits per second than
//! its thresholds — in total, or of SYN-only TCP, UDP or ICMP — as FastNetMon does per /32;
//! and a *reflection* attack: many different reflectors answering from a known amplification
//! service port ([`AMPLIFICATION_PORTS`]: DNS, NTP, SNMP, SSDP, CLDAP, memcached,
//! WS-Discovery, BACnet ...).
//!
//! **Why.** Subscribers' devices are targets too (a game server at home, a camera that
//! angered someone), and the provider needs to know that a subscriber's line is under
//! attack. Unlike FastNetMon the incident carries the attack's signature, and its proposed
//! action is **never a blackhole of the victim**: filters are proposed only for infected
//! devices' outbound traffic ([`crate::filters`]); for a victim the operator is told what to
//! match upstream.
//!
//! **Thresholds** (per destination, window [`Config::window_secs`] 10 s, scaled packets
//! spread over each flow's duration, at least [`Config::min_observed`] (20) observed
//! records), averaged over the window:
//! - amplification-port packets ≥ [`Config::reflection_pps`] (300/s) from ≥
//!   [`Config::reflection_sources`] (100) distinct sources → `reflection`;
//! - SYN-only ≥ [`Config::syn_pps`] (1,000/s) → `syn-flood`;
//! - UDP ≥ [`Config::udp_pps`] (10,000/s) → `udp-flood`; ICMP ≥ [`Config::icmp_pps`]
//!   (5,000/s) → `icmp-flood`;
//! - all packets ≥ [`Config::pps`] (20,000/s, FastNetMon's default) or bits ≥
//!   [`Config::mbps`] (1,000 Mbit/s) → `volumetric`.
//!
//! Short, intense attacks vanish in a 10 s average (a spoofed SYN flood whose peak second
//! held 7,300 SYNs among 9,600 in 34 s; a SYN-ACK reflection of 54 kpps lasting 0.15 s), so
//! each window also counts its current **one-second** sub-window (and keeps the busiest,
//! the `peak_pps` counter), judged while it lasts with source diversity and completion as
//! well as rate (a finding when the second's count reaches the threshold and each time it
//! doubles):
//! - SYN-only ≥ [`Config::syn_peak_pps`] (2,000) in one second, from ≥
//!   [`Config::peak_sources`] (100) distinct sources in the window, while fewer than half
//!   as many ACKs arrive (nothing completes) → `syn-flood`;
//! - SYN-ACKs (the victim sent no SYN: they answer SYNs spoofed in its name) ≥
//!   [`Config::synack_peak_pps`] (2,000) in one second or ≥ [`Config::synack_pps`]
//!   (1,000/s) over the window, from ≥ [`Config::synack_sources`] (50) sources →
//!   `syn-ack-reflection`.
//!
//! Severity medium, high at 10× the threshold. Confidence 0.9 with at least 100 distinct
//! sources (a distributed attack), else 0.75. Under sampling the distinct sources observed
//! are multiplied by the sampling rate (reflectors and spoofed sources send few packets
//! each), capped at the scaled packet count.
//!
//! **False positives.** A subscriber who really serves the public (a busy game or web
//! server at home) or runs a speed test: raise thresholds per prefix, or leave such
//! addresses out of `local_networks`. DNS and NTP answers from one or two servers are never a
//! reflection: the rule needs 100 different reflectors.
//!
//! **Sources.** All. A capture file whose packets all carry one timestamp (the project's
//! BACnet capture) is one instant: all its packets fall in one window.

use iotrust_flow::{FlowRecord, TcpFlags};
use serde::{Deserialize, Serialize};

use super::{
    add32, rate_share, roll, scaled, secs_us, Attack, Counters, Detector, Finding, Severity, Target,
};
use crate::sketch::{hash_addr, Distinct};

/// UDP source ports of services abused for reflection and amplification.
pub const AMPLIFICATION_PORTS: [u16; 17] = [
    17,    // QOTD
    19,    // chargen
    53,    // DNS
    111,   // portmapper
    123,   // NTP
    137,   // NetBIOS
    161,   // SNMP
    389,   // CLDAP
    1900,  // SSDP
    3283,  // Apple Remote Desktop
    3702,  // WS-Discovery
    5353,  // mDNS
    10001, // Ubiquiti discovery
    11211, // memcached
    27015, // Steam / Source engine
    37810, // DVR discovery (seen with BACnet reflection)
    47808, // BACnet
];

/// Thresholds of the inbound-attack detector.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub window_secs: u64,
    pub pps: u64,
    pub mbps: u64,
    pub syn_pps: u64,
    pub udp_pps: u64,
    pub icmp_pps: u64,
    pub reflection_pps: u64,
    pub reflection_sources: u64,
    pub syn_peak_pps: u64,
    pub peak_sources: u64,
    pub synack_pps: u64,
    pub synack_peak_pps: u64,
    pub synack_sources: u64,
    pub min_observed: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_secs: 10,
            pps: 20_000,
            mbps: 1_000,
            syn_pps: 1_000,
            udp_pps: 10_000,
            icmp_pps: 5_000,
            reflection_pps: 300,
            reflection_sources: 100,
            syn_peak_pps: 2_000,
            peak_sources: 100,
            synack_pps: 1_000,
            synack_peak_pps: 2_000,
            synack_sources: 50,
            min_observed: 20,
        }
    }
}

/// Per-destination counters of the current window (152 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct State {
    start: i64,
    /// Start of the current one-second sub-window.
    sub_start: i64,
    bytes: u64,
    /// SYN-ACKs, ACKs without SYN (completions) in the window.
    synack: u32,
    acks: u32,
    /// SYN-only and SYN-ACK packets in the current sub-window, and the most of any
    /// sub-window so far.
    sub_syn: u32,
    sub_synack: u32,
    peak_syn: u32,
    peak_synack: u32,
    packets: u32,
    syn: u32,
    udp: u32,
    icmp: u32,
    amp: u32,
    observed: u32,
    sampling: u32,
    /// Majority vote (Boyer–Moore) over the amplification source ports.
    amp_port: u16,
    amp_votes: u16,
    sources: Distinct,
}

/// True if a count that grew by `added` to `after` reached `thr`, or a doubling of it, with
/// this record: the busiest-second rule reports those moments (opening, then escalating)
/// instead of every packet of an intense second, which the incident's time to live covers.
fn crossed(after: u64, added: u64, thr: u64) -> bool {
    let before = after.saturating_sub(added);
    after >= thr && (before < thr || (after / thr).ilog2() != (before / thr).ilog2())
}

pub fn observe(cfg: &Config, st: &mut State, r: &FlowRecord) -> Option<Finding> {
    let len = secs_us(cfg.window_secs);
    if roll(&mut st.start, r.last_us, len) {
        *st = State {
            start: st.start,
            ..State::default()
        };
    }
    if roll(&mut st.sub_start, r.last_us, super::US) {
        st.sub_syn = 0;
        st.sub_synack = 0;
    }
    let packets = scaled(r);
    let (n, b, n1) = if r.last_us <= r.first_us {
        // a packet (or an instant flow): all of it in the window and in the second
        (packets, r.scaled_bytes(), packets)
    } else {
        // a one-second share too: a long flow's packets are spread over its duration
        (
            rate_share(r, packets, len),
            rate_share(r, r.scaled_bytes(), len),
            rate_share(r, packets, super::US),
        )
    };
    add32(&mut st.packets, n);
    st.bytes = st.bytes.saturating_add(b);
    add32(&mut st.observed, 1);
    st.sampling = st.sampling.max(r.sampling.max(1));
    st.sources.insert(hash_addr(r.src));
    match r.proto {
        FlowRecord::PROTO_TCP if r.tcp_flags.is_syn_only() => {
            add32(&mut st.syn, n);
            add32(&mut st.sub_syn, n1);
            st.peak_syn = st.peak_syn.max(st.sub_syn);
        }
        FlowRecord::PROTO_TCP
            if r.tcp_flags.0 & (TcpFlags::SYN | TcpFlags::ACK | TcpFlags::RST)
                == TcpFlags::SYN | TcpFlags::ACK =>
        {
            add32(&mut st.synack, n);
            add32(&mut st.sub_synack, n1);
            st.peak_synack = st.peak_synack.max(st.sub_synack);
        }
        FlowRecord::PROTO_TCP if r.tcp_flags.has(TcpFlags::ACK) => add32(&mut st.acks, n),
        FlowRecord::PROTO_UDP => {
            add32(&mut st.udp, n);
            if AMPLIFICATION_PORTS.contains(&r.src_port) {
                add32(&mut st.amp, n);
                if st.amp_votes == 0 {
                    st.amp_port = r.src_port;
                    st.amp_votes = 1;
                } else if st.amp_port == r.src_port {
                    st.amp_votes = st.amp_votes.saturating_add(1);
                } else {
                    st.amp_votes -= 1;
                }
            }
        }
        FlowRecord::PROTO_ICMP | FlowRecord::PROTO_ICMPV6 => add32(&mut st.icmp, n),
        _ => {}
    }
    if st.observed < cfg.min_observed.max(1) {
        return None;
    }
    let w = cfg.window_secs.max(1);
    let over = |count: u64, per_sec: u64| count >= per_sec.max(1).saturating_mul(w);
    // under sampling each observed source stands for up to `sampling` (reflectors send a
    // few packets each), never for more sources than packets
    let sources = if st.sampling > 1 {
        st.sources
            .estimate()
            .saturating_mul(u64::from(st.sampling))
            .min(u64::from(st.packets))
    } else {
        st.sources.estimate()
    };
    let bits = st.bytes.saturating_mul(8);
    let (attack, count, per_sec) =
        if over(u64::from(st.amp), cfg.reflection_pps) && sources >= cfg.reflection_sources {
            (Attack::Reflection, u64::from(st.amp), cfg.reflection_pps)
        } else if over(u64::from(st.syn), cfg.syn_pps) {
            (Attack::SynFlood, u64::from(st.syn), cfg.syn_pps)
        } else if sources >= cfg.synack_sources
            && (over(u64::from(st.synack), cfg.synack_pps)
                || u64::from(st.sub_synack) >= cfg.synack_peak_pps.max(1))
        {
            // the peak second's rate, reported as a 10 s count
            let count = u64::from(st.synack).max(u64::from(st.sub_synack) * w);
            (Attack::SynAckReflection, count, cfg.synack_pps)
        } else if crossed(u64::from(st.sub_syn), n1, cfg.syn_peak_pps.max(1))
            && sources >= cfg.peak_sources
            && u64::from(st.acks) * 2 < u64::from(st.syn)
        {
            (Attack::SynFlood, u64::from(st.sub_syn) * w, cfg.syn_pps)
        } else if over(u64::from(st.udp), cfg.udp_pps) {
            (Attack::UdpFlood, u64::from(st.udp), cfg.udp_pps)
        } else if over(u64::from(st.icmp), cfg.icmp_pps) {
            (Attack::IcmpFlood, u64::from(st.icmp), cfg.icmp_pps)
        } else if over(u64::from(st.packets), cfg.pps) {
            (Attack::Volumetric, u64::from(st.packets), cfg.pps)
        } else if over(bits, cfg.mbps.saturating_mul(1_000_000)) {
            (Attack::Volumetric, bits, cfg.mbps.saturating_mul(1_000_000))
        } else {
            return None;
        };
    let rate = count / w;
    let severity = if rate >= per_sec.saturating_mul(10) {
        Severity::High
    } else {
        Severity::Medium
    };
    let (proto, src_port, dst_port) = match attack {
        Attack::Reflection => (Some(FlowRecord::PROTO_UDP), Some(st.amp_port), None::<u16>),
        Attack::SynFlood | Attack::SynAckReflection => (Some(FlowRecord::PROTO_TCP), None, None),
        Attack::UdpFlood => (Some(FlowRecord::PROTO_UDP), None, None),
        Attack::IcmpFlood => (Some(r.proto), None, None),
        _ => (None, None, None),
    };
    let mut counters = Counters::default();
    counters
        .push(counter::PPS, u64::from(st.packets) / w)
        .push(counter::BPS, bits / w)
        .push(counter::SYN_PPS, u64::from(st.syn) / w)
        .push(counter::UDP_PPS, u64::from(st.udp) / w)
        .push(counter::ICMP_PPS, u64::from(st.icmp) / w)
        .push(
            counter::PEAK_PPS,
            u64::from(st.peak_syn.max(st.peak_synack)),
        )
        .push(counter::AMPLIFICATION_PPS, u64::from(st.amp) / w)
        .push(counter::SOURCES, sources)
        .push(counter::RECORDS, u64::from(st.observed));
    Some(Finding {
        detector: Detector::InboundAttack,
        device: r.dst,
        severity,
        confidence: if sources >= 100 { 0.9 } else { 0.75 },
        attack: Some(attack),
        target: Target {
            peer: None,
            proto,
            dst_port,
            src_port,
            ..Target::default()
        },
        counters,
        magnitude: rate,
        since_us: st.start,
        hold_us: 0,
        kind: 0,
    })
}

/// Counter names of this detector's findings.
pub mod counter {
    pub const PPS: &str = "pps";
    pub const BPS: &str = "bps";
    pub const SYN_PPS: &str = "syn_pps";
    pub const UDP_PPS: &str = "udp_pps";
    pub const ICMP_PPS: &str = "icmp_pps";
    pub const PEAK_PPS: &str = "peak_pps";
    pub const AMPLIFICATION_PPS: &str = "amplification_pps";
    pub const SOURCES: &str = "sources";
    pub const RECORDS: &str = "records";
}

/// This detector's entry in the table ([`super::detectors!`]).
pub struct Rule;

impl super::Rule for Rule {
    const NAME: &'static str = "inbound-attack";
    const ROLE: super::Role = super::Role::Victim;
    const FILTER: super::FilterShape = super::FilterShape::None;

    fn summary(inc: &crate::incident::Incident) -> String {
        format!(
            "{} receives a {} at {} packets/s from {} sources (victim: do not blackhole)",
            inc.device,
            inc.attack_name(),
            inc.counter(counter::PPS)
                .max(inc.counter(counter::PEAK_PPS)),
            inc.counter(counter::SOURCES)
        )
    }
}
