//! `mud-violation`: a device talks outside its declared network behaviour (RFC 8520).
//!
//! **What it finds.** A device with a MUD file — mapped by the operator (`--mud MAP`) or
//! announced by the device itself over DHCPv4 option 161, DHCPv6 option 112 or LLDP — sends
//! or receives traffic that no access-control entry of the file allows: a peer it never
//! declared (`new-peer`), a declared peer on another port (`new-port`) or another protocol
//! (`new-protocol`). The verdict and which departure it is come from `iotrust-mud`'s policy
//! ([`iotrust_mud::Policy::judge`]): the closest entry decides the kind.
//!
//! **Why it matters.** A MUD file is what the manufacturer says the device needs; anything
//! else is either a mistake in the file or a device doing what it was not built to do —
//! Mirai's scanning, a C2 connection, a flood. Unlike the other detectors it needs no
//! threshold: one conversation outside the declaration is the finding.
//!
//! **How.** Each conversation (device, peer, protocol, ports, direction) is judged once and
//! its verdict cached; a departure updates the incident of its device and kind — one
//! incident per device and kind, not one per packet — whose `mud` evidence names the MUD
//! URL, how the device got it, the entries declared nearest the traffic, and up to
//! [`MAX_FLOWS`] flows that broke it (peer, the names DNS gave it, protocol, ports,
//! direction, first and last seen, records); a new flow escalates. Peer names come from
//! the DNS answers the engine sees (the question's name and the answers' owners, for their
//! TTL held 5 minutes to a day), so `ietf-acldns` entries match. Local networks are the
//! subscriber prefixes (`local_networks`), RFC 1918 and unique-local IPv6, and
//! `--mud-local` prefixes; controllers are given by `--mud-controller CLASS=ADDR`.
//!
//! **Not judged** (iotrust's choice, not RFC 8520's): DHCP and DHCPv6, DNS to port 53 and
//! IPv6 neighbour discovery — what the network provides every device, which MUD files
//! rarely list — and broadcast or multicast destinations.
//!
//! **False positives.** A MUD file that forgets what the device really needs (an NTP
//! server, a firmware host) — the evidence names the flow and the entries, for the
//! manufacturer's file to be fixed. A device that announces a permissive URL is held to
//! it: an operator's map entry wins over an announcement.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use iotrust_flow::announce::Announcement;
use iotrust_flow::dns::DnsMessage;
use iotrust_flow::{Addr, FlowRecord, TcpFlags};
use serde::Serialize;

use super::{Counters, FilterShape, Finding, Role, Severity, Target};
use crate::incident::Incident;
use crate::mudfiles::{Declared, Library, MudMap};
use crate::net::Prefix;

/// Flows kept in an incident's evidence (more are counted).
pub const MAX_FLOWS: usize = 8;
/// Names kept per peer address.
pub const MAX_NAMES: usize = 4;
/// Conversations whose verdict is cached at most (the cache is emptied when full).
pub const MAX_VERDICTS: usize = 65_536;
/// Addresses with names kept at most.
pub const MAX_NAMED: usize = 262_144;
/// Announced declarations kept at most.
pub const MAX_ANNOUNCED: usize = 65_536;
const HOLD_SECS: (u32, u32) = (300, 86_400);

/// Counter names of `mud-violation` incidents.
pub mod counter {
    /// Distinct flows outside the declaration so far.
    pub const FLOWS: &str = "flows";
    /// Distinct peers among them.
    pub const PEERS: &str = "peers";
}

/// Which part of the declaration a conversation breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Departure {
    /// No entry names the peer.
    NewPeer,
    /// An entry names the peer, not on this port.
    NewPort,
    /// An entry names the peer, not with this protocol.
    NewProtocol,
    /// An entry allows peer, protocol and port, only for connections the other side opens
    /// (`direction-initiated`).
    WrongDirection,
}

impl Departure {
    pub const fn name(self) -> &'static str {
        match self {
            Departure::NewPeer => "new-peer",
            Departure::NewPort => "new-port",
            Departure::NewProtocol => "new-protocol",
            Departure::WrongDirection => "wrong-direction",
        }
    }

    /// [`Finding::kind`] of its incidents.
    pub const fn kind(self) -> u8 {
        match self {
            Departure::NewPeer => 1,
            Departure::NewPort => 2,
            Departure::NewProtocol => 3,
            Departure::WrongDirection => 4,
        }
    }

    fn from_mud(d: iotrust_mud::Departure) -> Departure {
        match d {
            iotrust_mud::Departure::NewPeer => Departure::NewPeer,
            iotrust_mud::Departure::NewPort => Departure::NewPort,
            iotrust_mud::Departure::NewProtocol => Departure::NewProtocol,
            iotrust_mud::Departure::WrongDirection => Departure::WrongDirection,
        }
    }
}

/// A flow that broke the declaration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowEvidence {
    pub peer: Addr,
    /// Names DNS answers gave the peer when the flow was first seen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peer_names: Vec<String>,
    /// IP protocol number.
    pub protocol: u8,
    /// `from-device` or `to-device`: who sent the first record seen.
    pub direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_port: Option<u16>,
    pub first_seen: jiff::Timestamp,
    pub last_seen: jiff::Timestamp,
    /// Records of the flow seen.
    pub records: u64,
}

/// What a `mud-violation` incident shows: the declaration and the traffic that broke it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MudEvidence {
    /// The device's MUD URL.
    pub mud_url: String,
    /// How the device got it: `map`, `dhcpv4`, `dhcpv6` or `lldp`.
    pub source: &'static str,
    /// Where the file was read (a path, `mud-dir:PATH`, the URL fetched).
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub systeminfo: Option<String>,
    pub departure: Departure,
    /// The entries declared nearest the traffic (`acl/ace: what it allows`).
    pub declared: Vec<String>,
    /// The first [`MAX_FLOWS`] flows that broke it.
    pub flows: Vec<FlowEvidence>,
    /// Every distinct flow that broke it (also those not listed).
    pub flows_total: u64,
    #[serde(skip)]
    peers: Vec<Addr>,
}

/// The MUD settings every shard starts from: the map, the library of URLs, the context.
#[derive(Clone, Debug)]
pub struct MudSetup {
    pub library: Arc<Library>,
    pub map: Arc<MudMap>,
    /// Local networks besides the subscriber prefixes and RFC 1918 / unique-local IPv6.
    pub local: Vec<Prefix>,
    /// Controllers: class URI (or `my-controller`) and address.
    pub controllers: Vec<(String, IpAddr)>,
}

impl MudSetup {
    /// The detector's state for one engine whose subscriber prefixes are `cfg`'s.
    pub fn watch(&self, cfg: &crate::Config) -> MudWatch {
        let private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];
        let mut local: Vec<Prefix> = cfg.local_networks.clone();
        local.extend(private.iter().filter_map(|p| p.parse::<Prefix>().ok()));
        local.extend(self.local.iter().copied());
        MudWatch {
            ctx: context(&local, &self.controllers),
            setup: self.clone(),
            announced: HashMap::new(),
            names: HashMap::new(),
            names_earliest_us: i64::MAX,
            verdicts: HashMap::new(),
            evidence: HashMap::new(),
        }
    }
}

/// The `iotrust-mud` context of the network around the devices.
fn context(local: &[Prefix], controllers: &[(String, IpAddr)]) -> iotrust_mud::Context {
    let mut ctx = iotrust_mud::Context {
        local_networks: local
            .iter()
            .filter_map(|p| ipnet::IpNet::new(p.network().ip(), p.len()).ok())
            .collect(),
        ..iotrust_mud::Context::default()
    };
    for (class, addr) in controllers {
        if class == "my-controller" {
            ctx.my_controller.push(*addr);
        } else {
            ctx.controllers
                .entry(class.clone())
                .or_default()
                .push(*addr);
        }
    }
    ctx
}

/// A device's declaration, and how it got it.
#[derive(Clone, Debug)]
struct Bound {
    decl: Arc<Declared>,
    source: &'static str,
}

/// A cached verdict: `None` allowed, else the departure and the closest accepting entry.
type Judged = Option<(Departure, Option<Arc<str>>)>;

/// One conversation as its verdict is cached.
type ConvKey = (Addr, Addr, u8, u16, u16, bool);

/// Names of a peer address, until a record time.
#[derive(Clone, Debug)]
struct Names {
    names: Vec<String>,
    until_us: i64,
}

/// The detector's state in one engine.
#[derive(Debug)]
pub struct MudWatch {
    setup: MudSetup,
    ctx: iotrust_mud::Context,
    /// Declarations devices announced.
    announced: HashMap<Addr, Bound>,
    names: HashMap<Addr, Names>,
    names_earliest_us: i64,
    /// Verdicts of conversations: `None` allowed, else the departure and the closest
    /// accepting entry.
    verdicts: HashMap<ConvKey, Judged>,
    evidence: HashMap<(Addr, u8), MudEvidence>,
}

impl MudWatch {
    /// A device announced a MUD URL: its declaration from now on, unless the map has one
    /// (the operator's word wins). A URL that cannot be resolved leaves it without.
    pub fn bind_announced(&mut self, a: &Announcement) {
        if self.setup.map.devices.contains_key(&a.device) {
            return;
        }
        if self
            .announced
            .get(&a.device)
            .is_some_and(|b| b.decl.url == a.url || b.decl.origin == a.url)
        {
            return;
        }
        let Some(decl) = self.setup.library.get(&a.url) else {
            return;
        };
        if self.announced.len() >= MAX_ANNOUNCED && !self.announced.contains_key(&a.device) {
            return;
        }
        self.announced.insert(
            a.device,
            Bound {
                decl,
                source: a.via.name(),
            },
        );
        // what was judged under another declaration is judged again
        self.verdicts.retain(|k, _| k.0 != a.device);
    }

    /// Learns the names a DNS response gives addresses (its question's name and the
    /// answers' owners).
    pub fn learn_names(&mut self, msg: &DnsMessage, t_us: i64) {
        if !msg.response || msg.answers.is_empty() {
            return;
        }
        for a in &msg.answers {
            let secs = a.ttl.clamp(HOLD_SECS.0, HOLD_SECS.1);
            let until_us = t_us.saturating_add(i64::from(secs) * 1_000_000);
            if self.names.len() >= MAX_NAMED && !self.names.contains_key(&a.addr) {
                if t_us <= self.names_earliest_us {
                    continue;
                }
                let mut earliest = i64::MAX;
                self.names.retain(|_, n| {
                    let keep = n.until_us >= t_us;
                    if keep {
                        earliest = earliest.min(n.until_us);
                    }
                    keep
                });
                self.names_earliest_us = earliest;
                if self.names.len() >= MAX_NAMED {
                    continue;
                }
            }
            self.names_earliest_us = self.names_earliest_us.min(until_us);
            let e = self.names.entry(a.addr).or_insert(Names {
                names: Vec::new(),
                until_us,
            });
            e.until_us = e.until_us.max(until_us);
            let q = msg.question.as_ref().map(|q| q.name.as_str());
            for n in q.into_iter().chain([a.name.as_str()]) {
                if e.names.len() < MAX_NAMES && !e.names.iter().any(|x| x == n) {
                    e.names.push(n.to_string());
                }
            }
            // a name learned since a verdict may change it
            self.verdicts.retain(|k, _| k.1 != a.addr);
        }
    }

    fn names_of(&self, addr: Addr, t_us: i64) -> &[String] {
        match self.names.get(&addr) {
            Some(n) if t_us <= n.until_us => &n.names,
            _ => &[],
        }
    }

    fn bound(&self, device: Addr) -> Option<Bound> {
        if let Some(d) = self.setup.map.devices.get(&device) {
            return Some(Bound {
                decl: d.clone(),
                source: "map",
            });
        }
        self.announced.get(&device).cloned()
    }

    /// Judges record `r` for `device` (its source when `from_device`, else its
    /// destination): a finding and the incident's evidence when it breaks the device's
    /// declaration. `open(kind)` says whether the device's incident of that kind is open
    /// (else its evidence starts afresh).
    pub fn observe(
        &mut self,
        r: &FlowRecord,
        device: Addr,
        from_device: bool,
        open: impl Fn(u8) -> bool,
    ) -> Option<(Finding, &MudEvidence)> {
        if self.setup.map.devices.is_empty() && self.announced.is_empty() {
            return None;
        }
        let peer = if from_device { r.dst } else { r.src };
        if exempt(r, peer) {
            return None;
        }
        let bound = self.bound(device)?;
        let (device_port, peer_port) = if from_device {
            (r.src_port, r.dst_port)
        } else {
            (r.dst_port, r.src_port)
        };
        let key: ConvKey = (device, peer, r.proto, device_port, peer_port, from_device);
        let (departure, closest) = match self.verdicts.get(&key) {
            Some(v) => v.clone(),
            None => {
                let v = self.judge(&bound, r, device, peer, from_device);
                if self.verdicts.len() >= MAX_VERDICTS {
                    self.verdicts.clear();
                }
                self.verdicts.insert(key, v.clone());
                v
            }
        }?;
        let kind = departure.kind();
        let ports = has_ports(r.proto);
        let flow = FlowEvidence {
            peer,
            peer_names: self.names_of(peer, r.last_us).to_vec(),
            protocol: r.proto,
            direction: if from_device {
                "from-device"
            } else {
                "to-device"
            },
            device_port: ports.then_some(device_port),
            peer_port: ports.then_some(peer_port),
            first_seen: r.first(),
            last_seen: r.last(),
            records: 1,
        };
        let declared = declared_near(&bound.decl, from_device, closest.as_deref());
        let ev = self
            .evidence
            .entry((device, kind))
            .or_insert_with(|| MudEvidence {
                mud_url: String::new(),
                source: "",
                file: String::new(),
                systeminfo: None,
                departure,
                declared: Vec::new(),
                flows: Vec::new(),
                flows_total: 0,
                peers: Vec::new(),
            });
        if !open(kind) || ev.mud_url != bound.decl.url {
            *ev = MudEvidence {
                mud_url: bound.decl.url.clone(),
                source: bound.source,
                file: bound.decl.origin.clone(),
                systeminfo: bound.decl.systeminfo.clone(),
                departure,
                declared,
                flows: Vec::new(),
                flows_total: 0,
                peers: Vec::new(),
            };
        }
        // a flow is the peer, protocol and the service port: the peer's when the device
        // sent, the device's when it received
        let same = |f: &FlowEvidence| {
            f.peer == flow.peer
                && f.protocol == flow.protocol
                && f.direction == flow.direction
                && if from_device {
                    f.peer_port == flow.peer_port
                } else {
                    f.device_port == flow.device_port
                }
        };
        match ev.flows.iter_mut().find(|f| same(f)) {
            Some(f) => {
                f.records = f.records.saturating_add(1);
                if flow.last_seen > f.last_seen {
                    f.last_seen = flow.last_seen;
                }
            }
            None => {
                ev.flows_total += 1;
                if ev.flows.len() < MAX_FLOWS {
                    ev.flows.push(flow);
                }
            }
        }
        if ev.peers.len() < 1024 && !ev.peers.contains(&peer) {
            ev.peers.push(peer);
        }
        let mut counters = Counters::default();
        counters
            .push(counter::FLOWS, ev.flows_total)
            .push(counter::PEERS, ev.peers.len() as u64);
        let severity = if ev.peers.len() >= 32 {
            Severity::High
        } else {
            Severity::Medium
        };
        let f = Finding {
            detector: super::Detector::MudViolation,
            device,
            severity,
            confidence: 0.9,
            attack: None,
            target: Target {
                peer: Some(peer),
                proto: Some(r.proto),
                dst_port: ports.then_some(if from_device { peer_port } else { device_port }),
                ..Target::default()
            },
            counters,
            magnitude: ev.flows_total,
            since_us: 0,
            hold_us: 0,
            kind,
        };
        Some((f, ev))
    }

    fn judge(
        &self,
        bound: &Bound,
        r: &FlowRecord,
        device: Addr,
        peer: Addr,
        from_device: bool,
    ) -> Judged {
        let names = self.names_of(peer, r.last_us);
        let ports = has_ports(r.proto);
        let (device_port, peer_port) = if from_device {
            (r.src_port, r.dst_port)
        } else {
            (r.dst_port, r.src_port)
        };
        let syn = r.tcp_flags.0 & TcpFlags::SYN != 0;
        let ack = r.tcp_flags.0 & TcpFlags::ACK != 0;
        let initiated_by_device = (r.proto == FlowRecord::PROTO_TCP && syn).then_some(if ack {
            !from_device
        } else {
            from_device
        });
        let c = iotrust_mud::Conversation {
            device: device.ip(),
            peer: peer.ip(),
            peer_names: names,
            protocol: r.proto,
            device_port: ports.then_some(device_port),
            peer_port: ports.then_some(peer_port),
            from_device,
            initiated_by_device,
        };
        match bound.decl.policy.judge(&c, &self.ctx) {
            iotrust_mud::Verdict::Allowed { .. } => None,
            iotrust_mud::Verdict::Denied { why, closest } => {
                Some((Departure::from_mud(why), closest.map(Arc::from)))
            }
        }
    }
}

/// TCP, UDP, SCTP carry ports.
fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132)
}

/// What the network provides every device, and what no peer is: not judged.
fn exempt(r: &FlowRecord, peer: Addr) -> bool {
    let ip = peer.ip();
    let group = match ip {
        IpAddr::V4(v) => v.is_broadcast() || v.is_multicast() || v.octets()[3] == 255,
        IpAddr::V6(v) => v.is_multicast(),
    };
    if group || ip.is_unspecified() {
        return true;
    }
    match r.proto {
        17 => {
            matches!(
                (r.src_port, r.dst_port),
                (67 | 68, 67 | 68) | (546 | 547, 546 | 547)
            ) || r.dst_port == 53
                || r.src_port == 53
        }
        6 => r.dst_port == 53 || r.src_port == 53,
        // neighbour discovery: router and neighbour solicitations and advertisements
        58 => matches!(r.icmp().map(|(t, _)| t), Some(133..=137)),
        _ => false,
    }
}

/// What the file declares in the traffic's direction: the closest accepting entry first
/// (marked), then the others, each `acl/ace: what it accepts`, at most 8.
fn declared_near(d: &Declared, from_device: bool, closest: Option<&str>) -> Vec<String> {
    let names = if from_device {
        &d.file.from_device_policy
    } else {
        &d.file.to_device_policy
    };
    let mut all: Vec<(bool, String)> = Vec::new();
    for acl in names.iter().filter_map(|n| d.file.acl(n)) {
        for ace in &acl.aces {
            let id = format!("{}/{}", acl.name, ace.name);
            let near = closest == Some(id.as_str());
            let text = format!(
                "{id}{}: {}",
                if near { " (closest)" } else { "" },
                describe(ace)
            );
            all.push((near, text));
        }
    }
    all.sort_by_key(|(near, _)| !near);
    all.into_iter().map(|(_, t)| t).take(8).collect()
}

/// An entry in a few words: action, peer, protocol, ports (a description for people; the
/// matching itself is `iotrust-mud`'s).
fn describe(ace: &iotrust_mud::Ace) -> String {
    use iotrust_mud::{Forwarding, L4Match, PortMatch};
    let m = &ace.matches;
    let mut parts: Vec<String> = Vec::new();
    parts.push(
        match ace.action {
            Forwarding::Accept => "accept",
            Forwarding::Drop => "drop",
            Forwarding::Reject => "reject",
        }
        .to_string(),
    );
    let mm = &m.mud;
    let abstractions = [
        mm.local_networks.then(|| "local-networks".to_string()),
        mm.same_manufacturer
            .then(|| "same-manufacturer".to_string()),
        mm.my_controller.then(|| "my-controller".to_string()),
        mm.controller.as_ref().map(|c| format!("controller {c}")),
        mm.manufacturer
            .as_ref()
            .map(|c| format!("manufacturer {c}")),
        mm.model.as_ref().map(|c| format!("model {c}")),
    ];
    parts.extend(abstractions.into_iter().flatten());
    if let Some(l3) = &m.l3 {
        for n in [&l3.src_dnsname, &l3.dst_dnsname].into_iter().flatten() {
            parts.push(n.clone());
        }
        for n in [&l3.src_network, &l3.dst_network].into_iter().flatten() {
            parts.push(n.to_string());
        }
        if let (Some(p), None) = (l3.protocol, &m.l4) {
            parts.push(format!("protocol {p}"));
        }
    }
    let port = |p: &Option<PortMatch>, side: &str| {
        p.map(|p| match p {
            PortMatch::Op { op, port } => format!("{side} port {op:?} {port}").to_lowercase(),
            PortMatch::Range { lower, upper } => format!("{side} ports {lower}-{upper}"),
        })
    };
    match &m.l4 {
        Some(L4Match::Tcp {
            src_port,
            dst_port,
            direction_initiated,
        }) => {
            parts.push("tcp".into());
            parts.extend(port(src_port, "source"));
            parts.extend(port(dst_port, "destination"));
            if let Some(d) = direction_initiated {
                parts.push(format!("initiated {d:?}").to_lowercase());
            }
        }
        Some(L4Match::Udp { src_port, dst_port }) => {
            parts.push("udp".into());
            parts.extend(port(src_port, "source"));
            parts.extend(port(dst_port, "destination"));
        }
        Some(L4Match::Icmp { icmp_type, .. }) => {
            parts.push(match icmp_type {
                Some(t) => format!("icmp type {t}"),
                None => "icmp".into(),
            });
        }
        None => {}
    }
    parts.join(" ")
}

/// This detector's entry in the table ([`super::detectors!`]).
pub struct Rule;

impl super::Rule for Rule {
    const NAME: &'static str = "mud-violation";
    const ROLE: Role = Role::InfectedDevice;
    const FILTER: FilterShape = FilterShape::BlockPeers;

    fn summary(inc: &Incident) -> String {
        let Some(m) = &inc.mud else {
            return format!("{} talks outside its MUD declaration", inc.device);
        };
        let first = m
            .flows
            .first()
            .map(|f| {
                let port = f.peer_port.map(|p| format!(":{p}")).unwrap_or_default();
                let proto = match f.protocol {
                    6 => "tcp".to_string(),
                    17 => "udp".to_string(),
                    1 | 58 => "icmp".to_string(),
                    p => format!("protocol {p}"),
                };
                let name = f
                    .peer_names
                    .first()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                format!("{}{port}/{proto}{name}", f.peer)
            })
            .unwrap_or_default();
        let more = match m.flows_total {
            0 | 1 => String::new(),
            n => format!(" and {} more flow(s)", n - 1),
        };
        format!(
            "{} talks outside its MUD declaration ({}): {first}{more}, not declared in {}",
            inc.device,
            m.departure.name(),
            m.mud_url
        )
    }
}
