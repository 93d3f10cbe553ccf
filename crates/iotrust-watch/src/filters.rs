//! Proposed filters for an infected device's **outbound** attack traffic: an nftables rule
//! set for the subscriber's access router or BNG, and BGP FlowSpec rules (RFC 8955) for the
//! provider's edge.
//!
//! Every rule matches the *device* as source (its /32 or /128) plus what its attack traffic
//! looks like — scanned ports, the victim, the C2 peer. None matches only a destination, and
//! incidents whose device is a victim ([`Role::Victim`]) get no filter at all: this crate
//! never proposes blackholing a victim. Filters are proposals for an operator to review;
//! nothing here touches a network.
//!
//! | detector | nftables | FlowSpec |
//! |---|---|---|
//! | `mirai-scan` | drop SYN-only from the device to the scanned ports | discard, same match |
//! | `horizontal-scan` | rate-limit SYN-only and echo requests from the device to 10/s | rate-limit 1,000 bytes/s |
//! | `outbound-flood` | drop the flood's protocol (SYN-only for a SYN flood, port 53 for DNS) from the device to each victim | discard, same match |
//! | `c2-contact` | drop from the device to the C2 address and port | discard, same match |

use std::fmt::Write as _;

use iotrust_flow::{Addr, FlowRecord};
use serde::Serialize;

use crate::detectors::{Attack, Detector, FilterShape, Role};
use crate::incident::Incident;
use crate::net::Prefix;

/// What a FlowSpec rule does with matching traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowSpecAction {
    /// Traffic-rate 0 (RFC 8955 §7.3).
    Discard,
    /// Traffic-rate in bytes per second.
    RateLimit { bytes_per_second: u64 },
}

/// One BGP FlowSpec rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowSpecRule {
    /// Always the device's host prefix.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destination_ports: Vec<u16>,
    /// `syn&!ack` for SYN-only traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    pub action: FlowSpecAction,
}

impl FlowSpecRule {
    /// One line in RFC 8955 terms: `match source 192.0.2.10/32, protocol =6, ...; then discard`.
    pub fn describe(&self) -> String {
        let mut m = vec![format!("source {}", self.source)];
        if let Some(d) = &self.destination {
            m.push(format!("destination {d}"));
        }
        if let Some(p) = self.protocol {
            m.push(format!("protocol ={p}"));
        }
        if !self.destination_ports.is_empty() {
            let ports: Vec<String> = self
                .destination_ports
                .iter()
                .map(|p| format!("={p}"))
                .collect();
            m.push(format!("destination-port {}", ports.join(" ")));
        }
        if let Some(f) = self.tcp_flags {
            m.push(format!("tcp-flags {f}"));
        }
        if let Some(t) = self.icmp_type {
            m.push(format!("icmp-type ={t}"));
        }
        let then = match self.action {
            FlowSpecAction::Discard => "discard".to_string(),
            FlowSpecAction::RateLimit { bytes_per_second } => {
                format!("rate-limit {bytes_per_second} bytes/s")
            }
        };
        format!("match {}; then {then}", m.join(", "))
    }
}

/// The filters proposed for one incident.
#[derive(Clone, Debug, Serialize)]
pub struct ProposedFilters {
    pub incident: u64,
    pub device: Addr,
    pub detector: Detector,
    /// nftables rules (one per line) for a `forward` chain; see [`nftables_ruleset`].
    pub nftables_rules: Vec<String>,
    pub flowspec: Vec<FlowSpecRule>,
}

fn host(a: Addr) -> String {
    Prefix::host(a).to_string()
}

const SYN_ONLY_NFT: &str = "tcp flags & (fin|syn|rst|ack) == syn";

/// Filters for an infected device's outbound traffic; `None` for victims and for incidents
/// with nothing specific enough to match.
pub fn propose(inc: &Incident) -> Option<ProposedFilters> {
    if inc.role != Role::InfectedDevice {
        return None;
    }
    let d = inc.device;
    let (saddr, daddr, icmp) = if d.is_ipv4() {
        ("ip saddr", "ip daddr", ("icmp", FlowRecord::PROTO_ICMP, 8))
    } else {
        (
            "ip6 saddr",
            "ip6 daddr",
            ("icmpv6", FlowRecord::PROTO_ICMPV6, 128),
        )
    };
    let comment = format!(
        "comment \"iotrust incident {} {}\"",
        inc.id,
        inc.detector.name()
    );
    let mut nft = Vec::new();
    let mut fs = Vec::new();
    match inc.detector.filter() {
        FilterShape::ScanPorts => {
            let mut ports = inc.mirai_ports();
            if ports.is_empty() {
                ports = vec![23, 2323];
            }
            let list: Vec<String> = ports.iter().map(u16::to_string).collect();
            nft.push(format!(
                "{saddr} {d} tcp dport {{ {} }} {SYN_ONLY_NFT} counter drop {comment}",
                list.join(", ")
            ));
            fs.push(FlowSpecRule {
                source: host(d),
                destination: None,
                protocol: Some(FlowRecord::PROTO_TCP),
                destination_ports: ports,
                tcp_flags: Some("syn&!ack"),
                icmp_type: None,
                action: FlowSpecAction::Discard,
            });
        }
        FilterShape::RateLimitProbes => {
            nft.push(format!(
                "{saddr} {d} {SYN_ONLY_NFT} limit rate over 10/second counter drop {comment}"
            ));
            nft.push(format!(
                "{saddr} {d} {} type echo-request limit rate over 10/second counter drop {comment}",
                icmp.0
            ));
            fs.push(FlowSpecRule {
                source: host(d),
                destination: None,
                protocol: Some(FlowRecord::PROTO_TCP),
                destination_ports: Vec::new(),
                tcp_flags: Some("syn&!ack"),
                icmp_type: None,
                action: FlowSpecAction::RateLimit {
                    bytes_per_second: 1_000,
                },
            });
            fs.push(FlowSpecRule {
                source: host(d),
                destination: None,
                protocol: Some(icmp.1),
                destination_ports: Vec::new(),
                tcp_flags: None,
                icmp_type: Some(icmp.2),
                action: FlowSpecAction::RateLimit {
                    bytes_per_second: 1_000,
                },
            });
        }
        FilterShape::BlockPeers => {
            for t in &inc.targets {
                let Some(peer) = t.peer.filter(|p| p.is_ipv4() == d.is_ipv4()) else {
                    continue;
                };
                let proto = t.proto.unwrap_or(FlowRecord::PROTO_UDP);
                let pname = match proto {
                    FlowRecord::PROTO_TCP => "tcp",
                    FlowRecord::PROTO_UDP => "udp",
                    FlowRecord::PROTO_GRE => "gre",
                    _ => "",
                };
                let syn_only =
                    inc.detector == Detector::OutboundFlood && inc.attack == Some(Attack::SynFlood);
                let mut rule = format!("{saddr} {d} {daddr} {peer}");
                if !pname.is_empty() {
                    let _ = write!(rule, " meta l4proto {pname}");
                }
                let port = match (proto, t.dst_port) {
                    (FlowRecord::PROTO_TCP | FlowRecord::PROTO_UDP, Some(p)) => Some(p),
                    _ => None,
                };
                if let Some(p) = port {
                    let _ = write!(rule, " th dport {p}");
                }
                if syn_only {
                    let _ = write!(rule, " {SYN_ONLY_NFT}");
                }
                let _ = write!(rule, " counter drop {comment}");
                nft.push(rule);
                fs.push(FlowSpecRule {
                    source: host(d),
                    destination: Some(host(peer)),
                    protocol: Some(proto),
                    destination_ports: port.into_iter().collect(),
                    tcp_flags: syn_only.then_some("syn&!ack"),
                    icmp_type: None,
                    action: FlowSpecAction::Discard,
                });
            }
        }
        // victims get no filter; a rate anomaly has no signature to match
        FilterShape::None => return None,
    }
    if nft.is_empty() && fs.is_empty() {
        return None;
    }
    Some(ProposedFilters {
        incident: inc.id,
        device: d,
        detector: inc.detector,
        nftables_rules: nft,
        flowspec: fs,
    })
}

/// A complete nftables rule set (`nft -f` input) holding the rules of `filters`, in a table
/// of its own (`inet iotrust_watch`) hooked on `forward`: the router between subscribers
/// and the network.
pub fn nftables_ruleset(filters: &[ProposedFilters]) -> String {
    let mut s = String::from(
        "table inet iotrust_watch {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n",
    );
    for f in filters {
        let _ = writeln!(
            s,
            "\t\t# incident {}: {} from {}",
            f.incident,
            f.detector.name(),
            f.device
        );
        for r in &f.nftables_rules {
            let _ = writeln!(s, "\t\t{r}");
        }
    }
    s.push_str("\t}\n}\n");
    s
}
