//! # Outbound flood participation
//!
//! **What.** A device that sends one destination more packets per second than any home
//! device has reason to: SYN floods, ACK floods and UDP floods with random ports (Mirai's
//! `syn`, `ack`, `udp`, `vse`, `stomp` vectors), UDP with random ports to port 53 (DNS water
//! torture through a resolver), GRE floods (`greip`, `greeth`).
//!
//! **Why.** A bot's attack traffic leaves through its subscriber's line. Stopping it there —
//! rate-limiting the device's outbound traffic to the victim — helps the victim without
//! touching anybody's service, where FastNetMon's action blackholes the *victim* instead.
//!
//! **Counting.** Per source, the two destinations with most packets in the window
//! (space-saving with two slots; a new destination replaces the smaller slot and starts from
//! zero, so counts are never overestimated); per slot packets by kind, scaled by sampling and
//! spread over each flow's duration, and a 64-bit bitmap of the port pairs used.
//!
//! **Thresholds** (per source and destination, window [`Config::window_secs`] 10 s, rates
//! averaged over the window, at least [`Config::min_observed`] (5) observed records):
//! - SYN-only packets ≥ [`Config::syn_pps`] (500/s) → `syn-flood`;
//! - ACK-without-SYN packets ≥ [`Config::ack_pps`] (2,000/s) *with random port pairs* →
//!   `ack-flood` (one bulk TCP upload uses one port pair and is never flagged);
//! - UDP packets ≥ [`Config::udp_pps`] (2,000/s) with random port pairs, or ≥
//!   [`Config::udp_pps_any`] (20,000/s) whatever the ports → `udp-flood` (`dns-flood` to
//!   port 53);
//! - GRE packets ≥ [`Config::gre_pps`] (2,000/s) → `gre-flood`;
//! - TCP connections ≥ [`Config::conn_per_sec`] (100/s) to one destination, whatever their
//!   packets → `connection-flood`: a connection rate is evidence in its own right, and it
//!   also counts the flow records whose packets the exporter did not see (Zeek's history
//!   `C`, 0 packets — 14,000 connections in 30 s to one address:port looked like nothing
//!   when only packets counted). A connection is any TCP flow record of flow telemetry and
//!   Zeek (scaled by sampling); in captures every SYN is seen and the SYN rule judges them.
//!
//! "Random port pairs": at least 8 bits of the bitmap set and at least half as many bits
//! as observed records (capped at 64).
//!
//! Severity high, critical at 10× the threshold; confidence 0.9 for SYN and GRE floods and
//! for random-port floods, 0.7 for UDP over the any-port threshold.
//!
//! **False positives.** Load tests and speed tests towards one server (UDP speed tests with
//! fixed ports reach only the any-port threshold); a QUIC upload above 20,000 packets/s
//! (about 240 Mbit/s). Legitimate bulk TCP never matches: one connection, one port pair.
//!
//! **Sources.** All (flags: captures, NetFlow, IPFIX, sFlow; Zeek from `history`).

use iotrust_flow::{Addr, FlowRecord, TcpFlags};
use serde::{Deserialize, Serialize};

use super::{
    add32, rate_share, roll, scaled, secs_us, Attack, Counters, Detector, Finding, Severity, Target,
};
use crate::sketch::PortPairs;

/// Thresholds of the outbound-flood detector (packets per second, scaled).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub window_secs: u64,
    pub syn_pps: u64,
    pub ack_pps: u64,
    pub udp_pps: u64,
    pub udp_pps_any: u64,
    pub gre_pps: u64,
    pub conn_per_sec: u64,
    pub min_observed: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_secs: 10,
            syn_pps: 500,
            ack_pps: 2_000,
            udp_pps: 2_000,
            udp_pps_any: 20_000,
            gre_pps: 2_000,
            conn_per_sec: 100,
            min_observed: 5,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    dst: Addr,
    syn: u32,
    ack: u32,
    udp: u32,
    gre: u32,
    conns: u32,
    observed: u32,
    dst_port: u16,
    one_port: bool,
    ports: PortPairs,
}

impl Slot {
    fn total(&self) -> u64 {
        u64::from(self.syn) + u64::from(self.ack) + u64::from(self.udp) + u64::from(self.gre)
    }
}

/// Per-source counters of the current window (two slots, 104 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct State {
    start: i64,
    slots: [Slot; 2],
}

/// The kind of flood traffic `r` counts as (0 SYN, 1 ACK, 2 UDP, 3 GRE, 4 a TCP flow record
/// that is only a connection), if any.
pub fn kind(r: &FlowRecord) -> Option<usize> {
    match r.proto {
        FlowRecord::PROTO_TCP if r.tcp_flags.is_syn_only() => Some(0),
        FlowRecord::PROTO_TCP
            if r.tcp_flags.has(TcpFlags::ACK) && !r.tcp_flags.has(TcpFlags::SYN) =>
        {
            Some(1)
        }
        FlowRecord::PROTO_TCP if !r.kind.sees_packets() => Some(4),
        FlowRecord::PROTO_UDP => Some(2),
        FlowRecord::PROTO_GRE => Some(3),
        _ => None,
    }
}

pub fn observe(cfg: &Config, st: &mut State, r: &FlowRecord) -> Option<Finding> {
    let kind = kind(r)?;
    let len = secs_us(cfg.window_secs);
    if roll(&mut st.start, r.last_us, len) {
        st.slots = [Slot::default(); 2];
    }
    let i = match st
        .slots
        .iter()
        .position(|s| s.dst == r.dst && s.observed > 0)
    {
        Some(i) => i,
        None => {
            let [a, b] = &st.slots;
            let i = usize::from(b.total() < a.total() || (b.observed == 0 && a.observed > 0));
            if let Some(s) = st.slots.get_mut(i) {
                *s = Slot {
                    dst: r.dst,
                    dst_port: r.dst_port,
                    one_port: true,
                    ..Slot::default()
                };
            }
            i
        }
    };
    let slot = st.slots.get_mut(i)?;
    let w = cfg.window_secs.max(1);
    let over = |count: u32, pps: u64| u64::from(count) >= pps.max(1).saturating_mul(w);
    if kind == 4 {
        // a flow record that is only a connection: its count, and nothing else to judge
        // until the connection rate is met (the common case of every completed TCP flow)
        add32(&mut slot.conns, super::sampling(r));
        add32(&mut slot.observed, 1);
        if slot.dst_port != r.dst_port {
            slot.one_port = false;
        }
        if slot.observed < cfg.min_observed.max(1) || !over(slot.conns, cfg.conn_per_sec) {
            return None;
        }
    }
    let n = rate_share(r, scaled(r), len);
    match kind {
        0 => add32(&mut slot.syn, n),
        1 => add32(&mut slot.ack, n),
        2 => add32(&mut slot.udp, n),
        3 => add32(&mut slot.gre, n),
        _ => {}
    }
    // a connection: a SYN-only packet, or any TCP flow record
    // (in captures every SYN is seen, and the SYN rule judges them)
    let conn = !r.kind.sees_packets()
        && match kind {
            0 => true,
            // a Zeek line is one connection even when its start was not seen
            1 => r.kind == iotrust_flow::SourceKind::Zeek,
            _ => false,
        };
    if conn {
        add32(&mut slot.conns, super::sampling(r));
    }
    if kind != 4 {
        add32(&mut slot.observed, 1);
        slot.ports.insert(r.src_port, r.dst_port);
        if slot.dst_port != r.dst_port {
            slot.one_port = false;
        }
    }
    if slot.observed < cfg.min_observed.max(1) {
        return None;
    }
    let random = slot.ports.looks_random(slot.observed);
    let (attack, count, pps, confidence) = if over(slot.syn, cfg.syn_pps) {
        (Attack::SynFlood, slot.syn, cfg.syn_pps, 0.9)
    } else if over(slot.gre, cfg.gre_pps) {
        (Attack::GreFlood, slot.gre, cfg.gre_pps, 0.9)
    } else if random && over(slot.ack, cfg.ack_pps) {
        (Attack::AckFlood, slot.ack, cfg.ack_pps, 0.9)
    } else if random && over(slot.udp, cfg.udp_pps) {
        let a = if slot.one_port && slot.dst_port == 53 {
            Attack::DnsFlood
        } else {
            Attack::UdpFlood
        };
        (a, slot.udp, cfg.udp_pps, 0.9)
    } else if over(slot.udp, cfg.udp_pps_any) {
        (Attack::UdpFlood, slot.udp, cfg.udp_pps_any, 0.7)
    } else if over(slot.conns, cfg.conn_per_sec) {
        (Attack::ConnectionFlood, slot.conns, cfg.conn_per_sec, 0.8)
    } else {
        return None;
    };
    let rate = u64::from(count) / w;
    let severity = if rate >= pps.saturating_mul(10) {
        Severity::Critical
    } else {
        Severity::High
    };
    let proto = match attack {
        Attack::SynFlood | Attack::AckFlood | Attack::ConnectionFlood => FlowRecord::PROTO_TCP,
        Attack::GreFlood => FlowRecord::PROTO_GRE,
        _ => FlowRecord::PROTO_UDP,
    };
    let mut counters = Counters::default();
    counters
        .push(counter::PPS, rate)
        .push(counter::SYN_PACKETS, u64::from(slot.syn))
        .push(counter::ACK_PACKETS, u64::from(slot.ack))
        .push(counter::UDP_PACKETS, u64::from(slot.udp))
        .push(counter::GRE_PACKETS, u64::from(slot.gre))
        .push(counter::CONNECTIONS, u64::from(slot.conns))
        .push(counter::RECORDS, u64::from(slot.observed))
        .push(counter::PORT_PAIRS, u64::from(slot.ports.count()));
    Some(Finding {
        detector: Detector::OutboundFlood,
        device: r.src,
        severity,
        confidence,
        attack: Some(attack),
        target: Target {
            peer: Some(slot.dst),
            proto: Some(proto),
            dst_port: slot.one_port.then_some(slot.dst_port),
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
    pub const SYN_PACKETS: &str = "syn_packets";
    pub const ACK_PACKETS: &str = "ack_packets";
    pub const UDP_PACKETS: &str = "udp_packets";
    pub const GRE_PACKETS: &str = "gre_packets";
    pub const CONNECTIONS: &str = "connections";
    pub const RECORDS: &str = "records";
    pub const PORT_PAIRS: &str = "port_pairs";
}

/// This detector's entry in the table ([`super::detectors!`]).
pub struct Rule;

impl super::Rule for Rule {
    const NAME: &'static str = "outbound-flood";
    const ROLE: super::Role = super::Role::InfectedDevice;
    const FILTER: super::FilterShape = super::FilterShape::BlockPeers;

    fn summary(inc: &crate::incident::Incident) -> String {
        let victim = inc.peer();
        format!(
            "{} sends a {} to {victim} at {} packets/s",
            inc.device,
            inc.attack_name(),
            inc.counter(counter::PPS)
        )
    }
}
