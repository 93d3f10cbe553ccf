//! The detectors. Each keeps a few counters per host (in [`HostState`]) over a tumbling
//! window of record time, and returns a [`Finding`] for every record that arrives while its
//! thresholds are met; the incident book ([`crate::incident`]) turns findings into
//! deduplicated incidents.
//!
//! Common rules:
//! - **Time** is the record's `last_us` (when a flow ended; the packet time for captures),
//!   never the wall clock. Windows only move forward: a late record counts in the current
//!   window.
//! - **Sampling**: counts of packets use [`FlowRecord::scaled_packets`]; counts of distinct
//!   destinations are multiplied by the record's sampling rate (each scan probe is one
//!   packet to a new target, so one sampled probe stands for `sampling` targets), and every
//!   detector also demands a minimum of *observed* records, so a few sampled packets never
//!   add up to an incident on their own.
//! - **Rates** of flow records are spread over the flow's duration: a record contributes
//!   `packets × window / max(window, duration)` to a window, so a 60 s flow exported at once
//!   does not look like a 10 s burst.

pub mod baseline;
pub mod beacon;
pub mod behaviour;
pub mod bruteforce;
pub mod c2;
pub mod flood;
pub mod inbound;
pub mod mirai;
pub mod mud;
pub mod scan;

use std::ops::Range;

use iotrust_flow::{Addr, FlowRecord};
use serde::{Deserialize, Serialize};

/// What every detector declares about itself: its name, what its device is, how its
/// incidents read and which filter answers them. Each detector module has one `Rule`
/// implementing it; the table below ([`detectors!`]) lists them once, and every
/// per-detector `match` of the crate is generated from it — dispatch stays static (plain
/// `match`es the compiler inlines; no trait objects on the hot path).
pub trait Rule {
    /// The name in events, metrics and filters' comments (kebab-case).
    const NAME: &'static str;
    /// What the incident's device is.
    const ROLE: Role;
    /// How [`crate::filters::propose`] answers an incident.
    const FILTER: FilterShape;
    /// An incident stays open at least this many of the book's times to live after its
    /// last finding (contact with a listed C2 recurs at a bot's check-in period, which may
    /// be the longest the time to live is meant for: held for three, an hourly check-in
    /// keeps one incident instead of opening and closing one every hour).
    const HOLD_TTLS: u8 = 1;
    /// One line for a human, from the incident's counters (named by the module's
    /// `counter` constants) and targets.
    fn summary(inc: &crate::incident::Incident) -> String;
}

/// The kinds of filter an incident can get ([`crate::filters`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterShape {
    /// SYN-only probes from the device to the scanned IoT ports are dropped.
    ScanPorts,
    /// The device's probes (SYN-only, echo requests) are rate-limited.
    RateLimitProbes,
    /// The device's traffic to each target peer (and port) is dropped.
    BlockPeers,
    /// None: the device is a victim, or there is no signature to match.
    None,
}

/// The table of detectors: variant, the module's [`Rule`], and its documentation.
macro_rules! detectors {
    ($( $(#[$doc:meta])* $variant:ident => $module:ident ),* $(,)?) => {
        /// The detector that raised an incident.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Detector {
            $( $(#[$doc])* $variant, )*
        }

        impl Detector {
            pub const ALL: [Detector; [$(Detector::$variant),*].len()] = [$(Detector::$variant),*];

            pub const fn name(self) -> &'static str {
                match self { $( Detector::$variant => <$module::Rule as Rule>::NAME, )* }
            }

            /// What the incident's device is: the source of bad traffic, or its victim.
            pub const fn role(self) -> Role {
                match self { $( Detector::$variant => <$module::Rule as Rule>::ROLE, )* }
            }

            /// How the proposed filters answer its incidents.
            pub const fn filter(self) -> FilterShape {
                match self { $( Detector::$variant => <$module::Rule as Rule>::FILTER, )* }
            }

            /// See [`Rule::HOLD_TTLS`].
            pub const fn hold_ttls(self) -> u8 {
                match self { $( Detector::$variant => <$module::Rule as Rule>::HOLD_TTLS, )* }
            }

            /// The incident's one-line summary.
            pub fn summary(self, inc: &crate::incident::Incident) -> String {
                match self { $( Detector::$variant => <$module::Rule as Rule>::summary(inc), )* }
            }
        }
    };
}

detectors! {
    /// Mirai-family telnet / IoT-exploit scanning ([`mirai`]).
    MiraiScan => mirai,
    /// Horizontal scanning on any port ([`scan`]).
    HorizontalScan => scan,
    /// The device floods one victim ([`flood`]).
    OutboundFlood => flood,
    /// The subscriber is under a volumetric or reflection attack ([`inbound`]).
    InboundAttack => inbound,
    /// The device talks to a listed command-and-control address or port ([`c2`]).
    C2Contact => c2,
    /// The subscriber's device receives many login attempts from one source ([`bruteforce`]).
    BruteForce => bruteforce,
    /// The device keeps contacting one destination, with evidence of C2 ([`beacon`]).
    Beaconing => beacon,
    /// The device sends many times its usual packet rate ([`baseline`]).
    RateAnomaly => baseline,
    /// The device speaks IRC or moves an executable ([`behaviour`]).
    C2Behaviour => behaviour,
    /// The device talks outside its declared network behaviour, its MUD file ([`mud`]).
    MudViolation => mud,
}

/// What the device in an incident is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// It sends attack, scan or C2 traffic: notify, quarantine, filter its outbound traffic.
    InfectedDevice,
    /// It receives an attack: protect it; never blackhole it.
    Victim,
}

/// How bad an incident is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

/// The kind of attack traffic, for flood and inbound incidents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attack {
    SynFlood,
    AckFlood,
    UdpFlood,
    /// UDP to port 53 with random ports: DNS water torture through a resolver.
    DnsFlood,
    GreFlood,
    IcmpFlood,
    /// Many connections to one destination, whatever their packets (Zeek records whose
    /// packets were not seen count too).
    ConnectionFlood,
    /// SYN-ACKs from many servers to a subscriber that sent no SYNs: the answers to SYNs
    /// spoofed in its name.
    SynAckReflection,
    /// Responses of a reflection/amplification service (source port in
    /// [`inbound::AMPLIFICATION_PORTS`]) from many reflectors.
    Reflection,
    /// Packet or bit rate over the total threshold, no dominant kind.
    Volumetric,
}

/// What filters need to know about the traffic of an incident.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The victim of a flood, or the C2 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<Addr>,
    /// IP protocol of the bad traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<u8>,
    /// Destination port, when one port carries the traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    /// Source port, when one port carries the traffic (reflection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Bitmask over [`mirai::PORTS`] of the ports scanned.
    #[serde(skip)]
    pub mirai_ports: u8,
    /// The listed domain (index into the indicators' domains) a C2 contact is about.
    #[serde(skip)]
    pub domain: Option<u32>,
}

/// Counters a finding carries at most.
pub const MAX_COUNTERS: usize = 10;

/// Up to [`MAX_COUNTERS`] named counters, without allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    items: [(&'static str, u64); MAX_COUNTERS],
    len: u8,
}

impl Counters {
    pub fn push(&mut self, name: &'static str, v: u64) -> &mut Self {
        if let Some(slot) = self.items.get_mut(usize::from(self.len)) {
            *slot = (name, v);
            self.len += 1;
        }
        self
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.items.iter().take(usize::from(self.len)).copied()
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `i`-th counter pushed.
    pub fn at(&self, i: usize) -> Option<(&'static str, u64)> {
        self.items.get(..self.len())?.get(i).copied()
    }

    pub fn get(&self, name: &str) -> Option<u64> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// One detector's verdict on one record: its thresholds are met.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Finding {
    pub detector: Detector,
    /// The device (source for outbound detectors, destination for inbound attacks).
    pub device: Addr,
    pub severity: Severity,
    /// 0 to 1.
    pub confidence: f32,
    pub attack: Option<Attack>,
    pub target: Target,
    /// The window's counters, as evidence.
    pub counters: Counters,
    /// The counter whose doubling counts as an escalation (a rate or a count).
    pub magnitude: u64,
    /// Start of the window whose counters met the thresholds (record time, µs): the
    /// incident's first-seen time when it opens.
    pub since_us: i64,
    /// How long (µs of record time) the incident stays open after this finding, when that
    /// is longer than the book's time to live (a behaviour of long periods: an hourly
    /// beacon is held for several hours); 0 = the book's.
    pub hold_us: i64,
    /// What tells apart incidents of one detector on one device (the MUD departure:
    /// [`mud::Departure`]); 0 for every other detector.
    pub kind: u8,
}

/// Per-host state of every windowed detector (the C2 detector needs none). In this order
/// (`repr(C)`): the outbound detectors' state together, then the inbound ones'; the look-up
/// ahead prefetches the parts a record will touch (`HostState::touched_by`).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct HostState {
    pub(crate) mirai: mirai::State,
    pub(crate) scan: scan::State,
    pub(crate) flood: flood::State,
    pub(crate) beacon: beacon::State,
    pub(crate) baseline: baseline::State,
    pub(crate) inbound: inbound::State,
    pub(crate) bruteforce: bruteforce::State,
}

/// Byte range of one field of [`HostState`].
macro_rules! field_range {
    ($f:ident, $t:ty) => {{
        let at = std::mem::offset_of!(HostState, $f);
        at..at + std::mem::size_of::<$t>()
    }};
}

impl HostState {
    const MIRAI: Range<usize> = field_range!(mirai, mirai::State);
    const SCAN: Range<usize> = field_range!(scan, scan::State);
    const FLOOD: Range<usize> = field_range!(flood, flood::State);
    const BEACON: Range<usize> = field_range!(beacon, beacon::State);
    const BASELINE: Range<usize> = field_range!(baseline, baseline::State);
    const INBOUND: Range<usize> = field_range!(inbound, inbound::State);
    const BRUTEFORCE: Range<usize> = field_range!(bruteforce, bruteforce::State);

    /// Calls `each` with the byte range of every detector's state that `r` will touch on
    /// one side (`outbound`: the source's detectors, else the destination's), for
    /// prefetching: each detector's own first test (a wrong answer would only cost time,
    /// never a result).
    #[inline]
    pub(crate) fn touched_by(r: &FlowRecord, outbound: bool, mut each: impl FnMut(Range<usize>)) {
        if !outbound {
            each(Self::INBOUND);
            if bruteforce::is_attempt(r) {
                each(Self::BRUTEFORCE);
            }
            return;
        }
        if mirai::probe(r).is_some() {
            each(Self::MIRAI);
        }
        if scan::is_probe(r) {
            each(Self::SCAN);
        }
        if flood::kind(r).is_some() {
            each(Self::FLOOD);
        }
        let slot = beacon::touched(r);
        if !slot.is_empty() {
            each(Self::BEACON.start + slot.start..Self::BEACON.start + slot.end);
        }
        if baseline::is_attack_class(r) {
            each(Self::BASELINE);
        }
    }
}

pub(crate) const US: i64 = 1_000_000;

/// Moves a window forward if `t` is past its end (or it never started); true if reset.
pub(crate) fn roll(start: &mut i64, t: i64, len_us: i64) -> bool {
    if *start == 0 || t >= start.saturating_add(len_us) {
        // 0 = never started; a record at time 0 restarts it each time, harmlessly
        *start = t;
        true
    } else {
        false
    }
}

/// The record's sampling rate (never 0, even on a hand-made record).
pub(crate) fn sampling(r: &FlowRecord) -> u64 {
    u64::from(r.sampling.max(1))
}

/// Estimated real packets of a record (at least one observed packet).
pub(crate) fn scaled(r: &FlowRecord) -> u64 {
    if r.sampling == 0 {
        r.packets.max(1)
    } else {
        r.scaled_packets().max(r.packets.max(1))
    }
}

/// Scaled packets spread over the record's duration, the share inside a window of `len_us`.
pub(crate) fn rate_share(r: &FlowRecord, value: u64, len_us: i64) -> u64 {
    let len = u64::try_from(len_us).unwrap_or(1).max(1);
    let d = r.duration_us();
    if d <= len {
        // all inside the window (a packet, a short flow): value × len / len
        return value;
    }
    let v = u128::from(value) * u128::from(len) / u128::from(d);
    u64::try_from(v).unwrap_or(u64::MAX)
}

pub(crate) fn add32(c: &mut u32, v: u64) {
    *c = c.saturating_add(u32::try_from(v).unwrap_or(u32::MAX));
}

/// A window length in microseconds from seconds (at least one second).
pub(crate) fn secs_us(secs: u64) -> i64 {
    i64::try_from(secs.max(1))
        .unwrap_or(i64::MAX / US)
        .saturating_mul(US)
}

/// The window of a count-of-distinct detector: `secs`, stretched by `sampling / 100` for
/// sampled telemetry (so that 1:1000 data gathers about as many samples per window as
/// unsampled data at a hundredth of the rate), at most `max_secs`.
pub(crate) fn sampled_window_us(secs: u64, sampling: u64, max_secs: u64) -> i64 {
    let stretched = secs.saturating_mul((sampling / 100).max(1));
    secs_us(stretched.min(max_secs.max(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_small() {
        let sizes = [
            std::mem::size_of::<mirai::State>(),
            std::mem::size_of::<scan::State>(),
            std::mem::size_of::<flood::State>(),
            std::mem::size_of::<inbound::State>(),
            std::mem::size_of::<bruteforce::State>(),
            std::mem::size_of::<beacon::State>(),
            std::mem::size_of::<baseline::State>(),
            std::mem::size_of::<HostState>(),
        ];
        eprintln!("mirai, scan, flood, inbound, bruteforce, beacon, baseline, host: {sizes:?}");
        assert!(sizes[7] <= 800, "{sizes:?}");
    }

    #[test]
    fn rate_share_spreads_long_flows() {
        let mut r = FlowRecord::new(iotrust_flow::SourceKind::NetflowV9);
        r.packets = 600;
        r.first_us = 0;
        r.last_us = 60 * US;
        // 600 packets over 60 s: 100 of them in a 10 s window
        assert_eq!(rate_share(&r, 600, 10 * US), 100);
        r.last_us = 5 * US;
        assert_eq!(rate_share(&r, 600, 10 * US), 600);
        r.sampling = 0;
        assert_eq!(scaled(&r), 600);
        r.sampling = 1000;
        assert_eq!(scaled(&r), 600_000);
        assert_eq!(sampled_window_us(60, 1000, 3600), 600 * US);
        assert_eq!(sampled_window_us(60, 1, 3600), 60 * US);
        assert_eq!(sampled_window_us(60, u64::MAX, 3600), 3600 * US);
    }
}
