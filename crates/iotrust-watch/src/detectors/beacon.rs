//! # Beaconing (repeated contact with one destination)
//!
//! **What.** A device that keeps contacting the same destination address and port: the
//! check-in of a bot to its command server at a steady period, or a bot whose C2 is down
//! retrying it over and over. Mirai sends a keep-alive on one long connection, but many
//! families (and Mirai variants that reconnect) poll every N seconds with a new connection,
//! and their C2 addresses change faster than any indicator list.
//!
//! **Periodic alone is not infected.** An IoT device checking in with its vendor's cloud is,
//! on the wire, exactly a beacon. So periodicity is one piece of evidence, and an incident
//! needs [`Config::min_evidence`] (2) more points from what separates C2 from vendor clouds:
//!
//! | evidence | points | why |
//! |---|---|---|
//! | `failing`: at least half of ≥ 4 attempts never completed (no ACK from the device after its SYN: unanswered or refused) | 2 | a cloud answers; a dead or sinkholed C2 does not, and bots retry it for hours |
//! | `irc`: the device spoke IRC to it (payload, Zeek's `service`) | 3 | IRC is the C2 of Tsunami/Kaiten, Muhstik and many Gafgyt builds; no IoT product needs it |
//! | `not-tls`: payload on port 443 that is not TLS | 2 | Torii and others use the HTTPS port with their own protocol |
//! | `rare-port`: the port is not one of [`Config::common_ports`] (web, MQTT, push, XMPP, STUN ...) | 1 | clouds listen on a few well-known ports; C2 servers on anything |
//! | `no-dns`: DNS answers are visible in the stream and none named the address | 1 | a cloud is looked up; a C2 address is often hard-coded (no weight without DNS in the input) |
//!
//! Severity follows the evidence: 2 points low (confidence 0.6), 3 medium (0.7), 4 or more
//! high (0.8). A **reconnect loop** — at least [`Config::loop_failures`] (100) failed
//! attempts, ≥ 90 % of all, to one rare port — is an incident whatever the timing (medium,
//! 0.75).
//!
//! **Counting.** Each host has six slots, fully associative (24 + 16 bytes each): a
//! destination keeps its slot while it has three consistent intervals or three failures,
//! unless silent for three periods; otherwise the weakest slot gives way. So two C2
//! addresses polled in turn keep a slot each instead of evicting each other. An *attempt*
//! is the start of a TCP connection (a record with SYN) or a UDP record after at least
//! [`Config::min_period_secs`] of silence (unsampled records only). A SYN repeating the
//! attempt's source port within [`Config::retransmit_secs`] (75 s) of its start is the same
//! attempt (SYN retransmissions at +1, +3, +7 s in captures; Zeek's split S0 records at +7,
//! +16, +32 s). Intervals are measured from start to start (never from the previous
//! record's end, which made a capture and a Zeek log of the same traffic disagree). The
//! first interval sets the period; an interval within [`Config::max_jitter`] × period of a
//! whole multiple k of it (k = 1 unsampled, up to 4 for sampled records: a missed beacon)
//! counts, and the period follows the intervals slowly; any other interval restarts the
//! count.
//!
//! **Thresholds.** At least [`Config::min_beacons`] (8) intervals in a row, period between
//! `min_period_secs` (5 s) and [`Config::max_period_secs`] (3,600 s, with the jitter's
//! tolerance), mean deviation ≤ `max_jitter` (0.1) of the period. Ports in
//! [`Config::ignore_ports`] (DNS, NTP, mDNS, SSDP, DHCP, NetBIOS by default), multicast and
//! broadcast destinations (LAN discovery) are skipped. The incident is held open for
//! [`Config::hold_periods`] (3) periods past the last finding, so an hourly check-in does
//! not open and close an incident every hour. The proposed filter blocks the device's
//! traffic to that destination and port, as for a listed C2.
//!
//! **False positives.** A device whose own vendor cloud is down retries it like a bot
//! (`failing` + `rare-port` on a hard-coded address: medium); list vendor clouds as `allow`
//! lines of the indicator file ([`super::c2`]), whose traffic this detector never sees.
//! Not yet used: many subscribers' devices of one kind reaching the same destination on
//! the same period (a vendor cloud) — it needs state shared across shards.
//!
//! **Sources.** All; needs connection starts (captures, Zeek, unsampled or lightly sampled
//! flows). Under heavy packet sampling (1:1000) a beacon of a few packets is almost never
//! seen twice in a row, so the detector sees nothing — by design, not by a scaled guess.

use iotrust_flow::{Addr, App, FlowRecord, TcpFlags};
use serde::{Deserialize, Serialize};

use super::{Counters, Detector, Finding, Severity, Target};
use crate::resolved::Lookup;

/// Thresholds of the beaconing detector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub min_period_secs: u64,
    pub max_period_secs: u64,
    pub min_beacons: u16,
    pub max_jitter: f32,
    pub ignore_ports: Vec<u16>,
    /// A SYN from the same source port within this of its attempt's start is a
    /// retransmission of it.
    pub retransmit_secs: u64,
    /// Points of evidence besides periodicity an incident needs.
    pub min_evidence: u8,
    /// Ports of ordinary cloud services: contact on any other is `rare-port`.
    pub common_ports: Vec<u16>,
    /// Failed attempts to one rare port that make a reconnect loop.
    pub loop_failures: u16,
    /// An incident stays open this many periods after its last finding.
    pub hold_periods: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_period_secs: 5,
            max_period_secs: 3600,
            min_beacons: 8,
            max_jitter: 0.1,
            ignore_ports: vec![53, 67, 68, 123, 137, 138, 1900, 5353],
            retransmit_secs: 75,
            min_evidence: 2,
            // web, TLS services, mail, MQTT, push channels, XMPP, STUN/TURN, SIP over TLS
            common_ports: vec![
                80, 443, 465, 587, 853, 993, 995, 1883, 3478, 5061, 5222, 5223, 5228, 5349, 8080,
                8443, 8883, 19302,
            ],
            loop_failures: 100,
            hold_periods: 3,
        }
    }
}

/// Evidence bits (the `evidence` counter).
pub mod evidence {
    pub const PERIODIC: u8 = 0x01;
    pub const FAILING: u8 = 0x02;
    pub const IRC: u8 = 0x04;
    pub const NOT_TLS: u8 = 0x08;
    pub const RARE_PORT: u8 = 0x10;
    pub const NO_DNS: u8 = 0x20;
    pub const RECONNECT_LOOP: u8 = 0x40;
    /// Names in the order of the bits.
    pub const NAMES: [(u8, &str); 7] = [
        (PERIODIC, "periodic"),
        (FAILING, "failing"),
        (IRC, "irc"),
        (NOT_TLS, "not-tls"),
        (RARE_PORT, "rare-port"),
        (NO_DNS, "no-dns"),
        (RECONNECT_LOOP, "reconnect-loop"),
    ];

    /// The names of the bits set in `mask`.
    pub fn names(mask: u64) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(b, _)| mask & u64::from(*b) != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

/// Counter names of a beaconing finding.
pub mod counter {
    pub const BEACONS: &str = "beacons";
    pub const PERIOD_MS: &str = "period_ms";
    pub const JITTER_MS: &str = "jitter_ms";
    pub const PORT: &str = "port";
    pub const ATTEMPTS: &str = "attempts";
    pub const FAILED: &str = "failed";
    pub const EVIDENCE: &str = "evidence";
    pub const SAMPLING: &str = "sampling";
}

/// Slot flags.
const OK: u8 = 0x01;
const SAW_IRC: u8 = 0x02;
const SAW_NOT_TLS: u8 = 0x04;
const LOOP_REPORTED: u8 = 0x08;

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// Hash of destination and port; 0 = free.
    key: u32,
    /// Period, ms.
    period_ms: u32,
    /// Mean absolute deviation from the period (EWMA), ms.
    dev_ms: u32,
    /// Last record seen, ms after `start_us`.
    seen_ms: u32,
    /// Consistent intervals so far.
    beacons: u16,
    attempts: u16,
    /// Attempts that never completed.
    fails: u16,
    /// Source port of the current attempt.
    sport: u16,
    flags: u8,
    /// Start of the current attempt.
    start_us: i64,
}

impl Slot {
    fn seen_us(&self) -> i64 {
        self.start_us
            .saturating_add(i64::from(self.seen_ms).saturating_mul(1000))
    }

    fn see(&mut self, t_us: i64) {
        let ms = t_us.saturating_sub(self.start_us).max(0) / 1000;
        self.seen_ms = self.seen_ms.max(u32::try_from(ms).unwrap_or(u32::MAX));
    }

    /// Kept against a new destination: three consistent intervals or three failures, and
    /// not silent for three periods (or a day without a period).
    fn holds(&self, t_us: i64) -> bool {
        let silent_ms = t_us.saturating_sub(self.seen_us()) / 1000;
        let limit = if self.period_ms > 0 {
            i64::from(self.period_ms) * 3
        } else {
            86_400_000
        };
        (self.beacons >= 3 || self.fails >= 3) && silent_ms <= limit
    }

    fn worth(&self) -> u32 {
        u32::from(self.beacons) + u32::from(self.fails) + u32::from(self.attempts)
    }
}

const SLOTS: usize = 6;

/// Per-source slots (240 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct State {
    slots: [Slot; SLOTS],
}

/// The slot key of a record's destination and port (never 0, which marks a free slot).
fn key_of(r: &FlowRecord, dst_hash: u64) -> u32 {
    ((dst_hash ^ u64::from(r.dst_port).wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 32) as u32 | 1
}

/// True if `r` may start an attempt.
fn starts(r: &FlowRecord) -> bool {
    match r.proto {
        FlowRecord::PROTO_TCP => r.tcp_flags.has(TcpFlags::SYN),
        // under sampling a UDP record after a gap is no evidence of silence before it
        FlowRecord::PROTO_UDP => r.sampling <= 1,
        _ => false,
    }
}

/// True for records beaconing looks at: attempts, and TCP records that may complete one.
fn relevant(r: &FlowRecord) -> bool {
    starts(r) || (r.proto == FlowRecord::PROTO_TCP && r.tcp_flags.has(TcpFlags::ACK))
}

/// Multicast, the limited broadcast and (IPv4) addresses ending in .255, a subnet's
/// broadcast: LAN discovery, never a C2 server.
#[inline]
pub fn is_group(a: Addr) -> bool {
    let o = a.as_bytes();
    if a.is_ipv4() {
        (o[12] & 0xf0) == 0xe0 || o[15] == 255
    } else {
        o[0] == 0xff
    }
}

/// Bytes of [`State`] that `r` may touch, for prefetching; empty if beaconing ignores `r`.
pub(crate) fn touched(r: &FlowRecord) -> std::ops::Range<usize> {
    if relevant(r) {
        0..std::mem::size_of::<State>()
    } else {
        0..0
    }
}

/// `dst_hash` is the destination's sketch hash (`sketch::hash_addr`), which the engine
/// computes once per record for every detector that needs it; `lookup` what DNS says of
/// the destination.
pub fn observe(
    cfg: &Config,
    st: &mut State,
    r: &FlowRecord,
    dst_hash: u64,
    lookup: impl FnOnce() -> Lookup,
) -> Option<Finding> {
    if !relevant(r) {
        return None;
    }
    // a loop rather than `contains`: inlined, a third of the instructions for a short list
    for p in &cfg.ignore_ports {
        if *p == r.dst_port {
            return None;
        }
    }
    let key = key_of(r, dst_hash);
    let t = r.first_us;
    let tcp = r.proto == FlowRecord::PROTO_TCP;
    let i = match st.slots.iter().position(|s| s.key == key) {
        Some(i) => i,
        None => {
            // LAN discovery never gets a slot (so it never needs this test again)
            if !starts(r) || is_group(r.dst) {
                return None;
            }
            // a free slot, else the weakest that does not hold
            let i = st
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.key == 0 || !s.holds(t))
                .min_by_key(|(_, s)| (s.key != 0, s.worth(), s.seen_us()))
                .map(|(i, _)| i)?;
            let s = st.slots.get_mut(i)?;
            *s = Slot {
                key,
                start_us: t,
                sport: r.src_port,
                attempts: 1,
                flags: if !tcp || r.tcp_flags.has(TcpFlags::ACK) {
                    OK
                } else {
                    0
                },
                ..Slot::default()
            };
            hints(s, r);
            return None;
        }
    };
    let slot = st.slots.get_mut(i)?;
    hints(slot, r);
    // (seconds bounded before the multiplication: no overflow, no conversion checks)
    let us = |secs: u64| (secs.clamp(1, 1 << 32) as i64) * 1_000_000;
    let min_us = us(cfg.min_period_secs);
    let retrans_us = us(cfg.retransmit_secs);
    let since_start = t.saturating_sub(slot.start_us);
    // a record of the current attempt: its retransmissions, its packets, its completion
    let same_attempt = if tcp {
        !r.tcp_flags.has(TcpFlags::SYN)
            || (r.src_port == slot.sport && since_start < retrans_us)
            || since_start < min_us
    } else {
        t.saturating_sub(slot.seen_us()) < min_us
    };
    let long = i64::try_from(r.duration_us()).unwrap_or(i64::MAX) >= min_us;
    if same_attempt || long {
        if tcp && r.tcp_flags.has(TcpFlags::ACK) && r.src_port == slot.sport {
            slot.flags |= OK;
        }
        slot.see(r.last_us);
        return report_loop(cfg, slot, r, lookup);
    }
    // a new attempt: the last one is judged, the interval measured start to start
    if slot.flags & OK == 0 {
        slot.fails = slot.fails.saturating_add(1);
    }
    slot.attempts = slot.attempts.saturating_add(1);
    slot.flags = (slot.flags & !OK)
        | if !tcp || r.tcp_flags.has(TcpFlags::ACK) {
            OK
        } else {
            0
        };
    let gap = since_start;
    slot.start_us = t;
    slot.seen_ms = 0;
    slot.sport = r.src_port;
    slot.see(r.last_us);
    let max_ms = cfg
        .max_period_secs
        .max(cfg.min_period_secs)
        .saturating_mul(1000);
    let d_ms = u64::try_from(gap / 1000).unwrap_or(0);
    if d_ms > max_ms.saturating_mul(4) {
        slot.period_ms = 0;
        slot.dev_ms = 0;
        slot.beacons = 0;
        return report_loop(cfg, slot, r, lookup);
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
    let tolerance = 1.0 + f64::from(cfg.max_jitter.max(0.0));
    let periodic = slot.beacons >= cfg.min_beacons.max(2)
        && period >= cfg.min_period_secs.saturating_mul(1000)
        && (period as f64) <= max_ms as f64 * tolerance
        && f64::from(slot.dev_ms) <= f64::from(cfg.max_jitter) * period as f64;
    if !periodic {
        return report_loop(cfg, slot, r, lookup);
    }
    let mut mask = evidence::PERIODIC | slot_evidence(cfg, slot, r);
    if lookup() == Lookup::Unresolved {
        mask |= evidence::NO_DNS;
    }
    let points = points(mask);
    if points < cfg.min_evidence {
        return None;
    }
    let (severity, confidence) = match points {
        0..=2 => (Severity::Low, 0.6),
        3 => (Severity::Medium, 0.7),
        _ => (Severity::High, 0.8),
    };
    let hold_ms = period.saturating_mul(u64::from(cfg.hold_periods.max(1)));
    Some(finding(
        slot,
        r,
        mask,
        severity,
        confidence,
        hold_ms,
        u64::from(slot.beacons),
        t.saturating_sub(i64::try_from(period * 1000).unwrap_or(0) * i64::from(slot.beacons)),
    ))
}

/// Notes what the record's payload said in the slot.
fn hints(slot: &mut Slot, r: &FlowRecord) {
    match r.app {
        App::Irc => slot.flags |= SAW_IRC,
        App::NotTls => slot.flags |= SAW_NOT_TLS,
        _ => {}
    }
}

/// Evidence the slot holds besides periodicity and DNS.
fn slot_evidence(cfg: &Config, slot: &Slot, r: &FlowRecord) -> u8 {
    let mut mask = 0;
    if slot.attempts >= 4 && u32::from(slot.fails) * 2 >= u32::from(slot.attempts) {
        mask |= evidence::FAILING;
    }
    if slot.flags & SAW_IRC != 0 {
        mask |= evidence::IRC;
    }
    if slot.flags & SAW_NOT_TLS != 0 {
        mask |= evidence::NOT_TLS;
    }
    if !cfg.common_ports.contains(&r.dst_port) {
        mask |= evidence::RARE_PORT;
    }
    mask
}

/// Points of the evidence in `mask` (periodicity itself counts none).
pub fn points(mask: u8) -> u8 {
    let mut p = 0;
    for (bit, w) in [
        (evidence::FAILING, 2),
        (evidence::IRC, 3),
        (evidence::NOT_TLS, 2),
        (evidence::RARE_PORT, 1),
        (evidence::NO_DNS, 1),
    ] {
        if mask & bit != 0 {
            p += w;
        }
    }
    p
}

/// The reconnect-loop finding, once the slot's failures reach the threshold (reported on
/// that attempt and every `loop_failures` after, so the incident stays open while the loop
/// goes on).
fn report_loop(
    cfg: &Config,
    slot: &mut Slot,
    r: &FlowRecord,
    lookup: impl FnOnce() -> Lookup,
) -> Option<Finding> {
    let n = cfg.loop_failures.max(2);
    if slot.fails < n
        || u32::from(slot.fails) * 10 < u32::from(slot.attempts) * 9
        || cfg.common_ports.contains(&r.dst_port)
    {
        return None;
    }
    // once per `n` failures
    let due = slot.fails % n == 0;
    if !due {
        slot.flags &= !LOOP_REPORTED;
        return None;
    }
    if slot.flags & LOOP_REPORTED != 0 {
        return None;
    }
    slot.flags |= LOOP_REPORTED;
    let mut mask = evidence::RECONNECT_LOOP | slot_evidence(cfg, slot, r);
    if lookup() == Lookup::Unresolved {
        mask |= evidence::NO_DNS;
    }
    let span_us = i64::from(slot.attempts).saturating_mul(i64::from(slot.period_ms.max(1000)));
    Some(finding(
        slot,
        r,
        mask,
        Severity::Medium,
        0.75,
        // the loop's own pace: as long as its last `n` attempts took, at least an hour
        3_600_000,
        u64::from(slot.fails),
        r.first_us.saturating_sub(span_us.saturating_mul(1000)),
    ))
}

#[allow(clippy::too_many_arguments)]
fn finding(
    slot: &Slot,
    r: &FlowRecord,
    mask: u8,
    severity: Severity,
    confidence: f32,
    hold_ms: u64,
    magnitude: u64,
    since_us: i64,
) -> Finding {
    let mut counters = Counters::default();
    counters
        .push(counter::BEACONS, u64::from(slot.beacons))
        .push(counter::PERIOD_MS, u64::from(slot.period_ms))
        .push(counter::JITTER_MS, u64::from(slot.dev_ms))
        .push(counter::PORT, u64::from(r.dst_port))
        .push(counter::ATTEMPTS, u64::from(slot.attempts))
        .push(counter::FAILED, u64::from(slot.fails))
        .push(counter::EVIDENCE, u64::from(mask))
        .push(counter::SAMPLING, u64::from(r.sampling.max(1)));
    Finding {
        detector: Detector::Beaconing,
        device: r.src,
        severity,
        confidence,
        attack: None,
        target: Target {
            peer: Some(r.dst),
            proto: Some(r.proto),
            dst_port: Some(r.dst_port),
            ..Target::default()
        },
        counters,
        magnitude,
        since_us,
        hold_us: i64::try_from(hold_ms)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000),
        kind: 0,
    }
}

/// This detector's entry in the table ([`super::detectors!`]).
pub struct Rule;

impl super::Rule for Rule {
    const NAME: &'static str = "beaconing";
    const ROLE: super::Role = super::Role::InfectedDevice;
    const FILTER: super::FilterShape = super::FilterShape::BlockPeers;

    fn summary(inc: &crate::incident::Incident) -> String {
        let peer = inc.peer_and_port();
        let c = |k| inc.counter(k);
        let mask = c(counter::EVIDENCE);
        let why = evidence::names(mask).join(", ");
        if mask & u64::from(evidence::PERIODIC) != 0 {
            format!(
                "{} contacts {peer} every {:.1} s (jitter {:.1} s, {} times in a row; {} of {} attempts failed; evidence: {why})",
                inc.device,
                c(counter::PERIOD_MS) as f64 / 1000.0,
                c(counter::JITTER_MS) as f64 / 1000.0,
                c(counter::BEACONS),
                c(counter::FAILED),
                c(counter::ATTEMPTS),
            )
        } else {
            format!(
                "{} retries {peer} over and over: {} of {} attempts failed (evidence: {why})",
                inc.device,
                c(counter::FAILED),
                c(counter::ATTEMPTS),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotrust_flow::SourceKind;

    const US: i64 = 1_000_000;

    fn see(cfg: &Config, st: &mut State, r: &FlowRecord) -> Option<Finding> {
        observe(cfg, st, r, crate::sketch::hash_addr(r.dst), || {
            Lookup::Unseen
        })
    }

    fn conn(t: i64, port: u16) -> FlowRecord {
        let mut r = FlowRecord::new(SourceKind::Pcap);
        r.first_us = t;
        r.last_us = t;
        r.src = Addr::v4([192, 0, 2, 7]);
        r.dst = Addr::v4([198, 51, 100, 66]);
        r.proto = FlowRecord::PROTO_TCP;
        r.dst_port = port;
        r.src_port = 40_000 + (t / US % 20_000) as u16;
        r.tcp_flags = TcpFlags(TcpFlags::SYN);
        r.packets = 1;
        r
    }

    /// An attempt at `t` that completes: the SYN, then the device's ACK.
    fn completed(cfg: &Config, st: &mut State, t: i64, port: u16) -> Option<Finding> {
        let syn = conn(t, port);
        let f = see(cfg, st, &syn);
        let mut ack = syn;
        ack.first_us += 30_000;
        ack.last_us = ack.first_us;
        ack.tcp_flags = TcpFlags(TcpFlags::ACK);
        f.or(see(cfg, st, &ack))
    }

    #[test]
    fn periodic_alone_is_no_incident() {
        // a hub's check-in with its cloud: every 60 s, answered, on 443 and on a rare port
        for port in [443, 8899] {
            let cfg = Config::default();
            let mut st = State::default();
            for i in 0..100i64 {
                let t = i * 60 * US + (i % 3 - 1) * 500_000;
                assert!(completed(&cfg, &mut st, t, port).is_none(), "{port}");
            }
        }
    }

    #[test]
    fn failing_beacon_on_a_rare_port_fires_after_min_beacons() {
        let cfg = Config::default();
        let mut st = State::default();
        let mut first = None;
        for i in 0..20i64 {
            let t = i * 30 * US + (i % 3 - 1) * 500_000;
            if let Some(f) = see(&cfg, &mut st, &conn(t, 6969)) {
                first.get_or_insert((i, f));
            }
        }
        let (i, f) = first.unwrap();
        assert_eq!(i, 8, "the 8th interval in a row (the first set the period)");
        let p = f.counters.get(counter::PERIOD_MS).unwrap();
        assert!((29_000..=31_000).contains(&p), "{p}");
        let ev = f.counters.get(counter::EVIDENCE).unwrap();
        assert_eq!(
            evidence::names(ev),
            ["periodic", "failing", "rare-port"],
            "{ev:#x}"
        );
        assert_eq!(f.severity, Severity::Medium, "failing 2 + rare port 1");
        // held for three periods
        assert!(f.hold_us >= 3 * 29 * US, "{}", f.hold_us);
    }

    /// One unanswered attempt: the SYN and its retransmissions (same source port).
    fn attempt(
        cfg: &Config,
        st: &mut State,
        t: i64,
        port: u16,
        retries: &[i64],
    ) -> Option<Finding> {
        let syn = conn(t, port);
        let mut f = see(cfg, st, &syn);
        for d in retries {
            let mut r = syn;
            r.first_us = t + d * US;
            r.last_us = r.first_us;
            f = f.or(see(cfg, st, &r));
        }
        f
    }

    #[test]
    fn retransmissions_fold_into_one_attempt() {
        // a bot polling a dead C2 every 80.1 s; SYN retransmissions at +1, +3, +7 s (a
        // capture) or Zeek's split S0 records at +7, +16, +32 s
        for retries in [&[1i64, 3, 7][..], &[7, 16, 32][..]] {
            let cfg = Config::default();
            let mut st = State::default();
            let mut found = None;
            for i in 0..30i64 {
                let t = i * 80_100_000;
                if let Some(f) = attempt(&cfg, &mut st, t, 23, retries) {
                    found.get_or_insert((i, f));
                }
            }
            let (i, f) = found.expect("periodic");
            assert!(i <= 9, "{i}");
            let p = f.counters.get(counter::PERIOD_MS).unwrap();
            assert!((79_500..=80_700).contains(&p), "{p}");
            assert!(f.counters.get(counter::FAILED).unwrap() >= 8);
        }
        // an IRC bot's 10 s reconnect loop, each attempt retransmitted at +1, +3, +7 s
        let cfg = Config::default();
        let mut st = State::default();
        let hit = (0..40i64).find_map(|i| attempt(&cfg, &mut st, i * 10 * US, 6667, &[1, 3, 7]));
        let f = hit.expect("the 10 s loop is periodic");
        let p = f.counters.get(counter::PERIOD_MS).unwrap();
        assert!((9_500..=10_500).contains(&p), "{p}");
    }

    #[test]
    fn alternating_addresses_keep_their_slots() {
        let cfg = Config::default();
        let mut st = State::default();
        let mut peers = std::collections::BTreeSet::new();
        for i in 0..60i64 {
            let mut r = conn(i * 35 * US, 2222);
            r.dst = Addr::v4([203, 0, 113, if i % 2 == 0 { 10 } else { 11 }]);
            if let Some(f) = see(&cfg, &mut st, &r) {
                peers.insert(f.target.peer.unwrap().to_string());
            }
        }
        assert_eq!(peers.len(), 2, "{peers:?}");
    }

    #[test]
    fn intervals_run_start_to_start() {
        // an hourly check-in whose flows last 60 ms: the period is 3,600 s, not 3,600.06
        let cfg = Config::default();
        let mut st = State::default();
        let mut found = None;
        for i in 0..12i64 {
            let mut r = conn(i * 3600 * US, 4444);
            r.last_us = r.first_us + 60_000;
            found = found.or(see(&cfg, &mut st, &r));
        }
        let f = found.expect("hourly beacon");
        assert_eq!(f.counters.get(counter::PERIOD_MS), Some(3_600_000));
    }

    #[test]
    fn broadcast_and_multicast_are_no_beacons() {
        let cfg = Config::default();
        for dst in [
            [192, 168, 1, 255],
            [255, 255, 255, 255],
            [239, 255, 255, 250],
        ] {
            let mut st = State::default();
            for i in 0..50i64 {
                let mut r = conn(i * 30 * US, 9999);
                r.proto = FlowRecord::PROTO_UDP;
                r.tcp_flags = TcpFlags(0);
                r.dst = Addr::v4(dst);
                assert!(see(&cfg, &mut st, &r).is_none(), "{dst:?}");
            }
        }
    }

    #[test]
    fn a_jittery_reconnect_loop_to_a_rare_port_is_found() {
        let cfg = Config::default();
        let mut st = State::default();
        let mut rng = iotrust_flow::testing::Rng(9);
        let mut t = 0;
        let mut found = None;
        for _ in 0..300 {
            t += (5 + rng.below(40) as i64) * US;
            found = found.or(attempt(&cfg, &mut st, t, 5555, &[1, 3]));
        }
        let f = found.expect("reconnect loop");
        let ev = f.counters.get(counter::EVIDENCE).unwrap();
        assert!(evidence::names(ev).contains(&"reconnect-loop"), "{ev:#x}");
        assert!(f.counters.get(counter::FAILED).unwrap() >= 100);
    }

    #[test]
    fn jittery_or_ignored_traffic_does_not() {
        let cfg = Config::default();
        let mut st = State::default();
        let mut rng = iotrust_flow::testing::Rng(3);
        let mut t = 0;
        for _ in 0..200 {
            t += (10 + rng.below(50) as i64) * US;
            assert!(completed(&cfg, &mut st, t, 8443).is_none());
        }
        let mut st = State::default();
        for i in 0..50i64 {
            let mut r = conn(i * 64 * US, 123);
            r.proto = FlowRecord::PROTO_UDP;
            assert!(see(&cfg, &mut st, &r).is_none(), "NTP is ignored");
        }
        // a stream: packets every 20 ms never leave a gap of 5 s
        let mut st = State::default();
        for i in 0..20_000i64 {
            let mut r = conn(i * 20_000, 3478);
            r.proto = FlowRecord::PROTO_UDP;
            assert!(see(&cfg, &mut st, &r).is_none());
        }
    }
}
