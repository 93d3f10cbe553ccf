//! Judging one conversation of a device against its MUD file, with the RFC 8520
//! abstractions resolved by what the network knows around the device ([`Context`]).
//!
//! Entries are tried in the order of the policy's ACLs and their ACEs; the first entry whose
//! every condition holds decides (RFC 8519 section 4). What no entry accepts is denied, as a
//! MUD manager does. A denial names which part of the declaration the conversation breaks,
//! judged by the closest accepting entry: a known peer on an undeclared protocol is a
//! `NewProtocol`, a known peer and protocol on an undeclared port a `NewPort`, and so on.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::check::url_authority;
use crate::model::*;

/// What the network knows around the device, for the RFC 8520 abstractions.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Prefixes the network considers local (`local-networks`).
    pub local_networks: Vec<IpNet>,
    /// Controllers by class URI (`controller`, e.g. `urn:ietf:params:mud:dns`).
    pub controllers: BTreeMap<String, Vec<IpAddr>>,
    /// The controllers configured for this device's MUD URL (`my-controller`).
    pub my_controller: Vec<IpAddr>,
    /// Devices whose MUD URL has the same authority as this one's (`same-manufacturer`).
    pub same_manufacturer: Vec<IpAddr>,
    /// Devices by the authority of their MUD URL (`manufacturer`).
    pub manufacturer: BTreeMap<String, Vec<IpAddr>>,
    /// Devices by their MUD URL (`model`).
    pub model: BTreeMap<String, Vec<IpAddr>>,
}

/// One packet or flow between the device and a peer.
#[derive(Debug, Clone)]
pub struct Conversation<'a> {
    pub device: IpAddr,
    pub peer: IpAddr,
    /// Names seen for the peer's address (e.g. from DNS answers the watcher saw), matched
    /// against `ietf-acldns` names without case or a trailing dot.
    pub peer_names: &'a [String],
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    pub protocol: u8,
    pub device_port: Option<u16>,
    pub peer_port: Option<u16>,
    /// Direction of this packet or flow: true when the device sends it.
    pub from_device: bool,
    /// Who opened the TCP connection, when known. `None` leaves
    /// `direction-initiated` unchecked.
    pub initiated_by_device: Option<bool>,
}

/// The judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An entry accepts it; `ace` is `ACL-name/ACE-name`.
    Allowed { ace: String },
    /// Nothing accepts it (or a drop/reject entry matched first).
    Denied {
        why: Departure,
        /// The closest accepting entry (`ACL-name/ACE-name`), if any shares the peer.
        closest: Option<String>,
    },
}

impl Verdict {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed { .. })
    }
}

/// Which part of the declaration a denied conversation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Departure {
    /// No entry names this peer.
    NewPeer,
    /// An entry names the peer, but with another protocol.
    NewProtocol,
    /// An entry names the peer and protocol, but not this port.
    NewPort,
    /// An entry allows peer, protocol and port, but only for connections the other side opens
    /// (`direction-initiated`).
    WrongDirection,
}

impl Departure {
    pub fn as_str(self) -> &'static str {
        match self {
            Departure::NewPeer => "new-peer",
            Departure::NewProtocol => "new-protocol",
            Departure::NewPort => "new-port",
            Departure::WrongDirection => "wrong-direction",
        }
    }
}

/// A MUD file's policies, ready to judge conversations.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The authority of the file's own MUD URL (for `same-manufacturer`).
    authority: Option<String>,
    from_device: Vec<(String, Acl)>,
    to_device: Vec<(String, Acl)>,
}

impl MudFile {
    /// The file's policies for judging conversations.
    pub fn policy(&self) -> Policy {
        let pick = |names: &[String]| -> Vec<(String, Acl)> {
            names
                .iter()
                .filter_map(|n| self.acl(n).map(|a| (n.clone(), a.clone())))
                .collect()
        };
        Policy {
            authority: url_authority(self.url()),
            from_device: pick(&self.from_device_policy),
            to_device: pick(&self.to_device_policy),
        }
    }
}

/// How far one entry matches.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    None,
    Peer,
    Protocol,
    Port,
    All,
}

impl Policy {
    /// The authority (host) of the file's own MUD URL.
    pub fn authority(&self) -> Option<&str> {
        self.authority.as_deref()
    }

    /// Judge `c` against the policy for its direction.
    pub fn judge(&self, c: &Conversation, ctx: &Context) -> Verdict {
        let acls = if c.from_device {
            &self.from_device
        } else {
            &self.to_device
        };
        let mut best: Option<(Reach, String)> = None;
        for (name, acl) in acls {
            for ace in &acl.aces {
                let reach = self.reach(acl, ace, c, ctx);
                let id = format!("{name}/{}", ace.name);
                if reach == Reach::All {
                    return match ace.action {
                        Forwarding::Accept => Verdict::Allowed { ace: id },
                        Forwarding::Drop | Forwarding::Reject => Verdict::Denied {
                            why: best_departure(best.as_ref().map(|b| b.0)),
                            closest: Some(id),
                        },
                    };
                }
                if ace.action == Forwarding::Accept
                    && reach > Reach::None
                    && best.as_ref().is_none_or(|b| reach > b.0)
                {
                    best = Some((reach, id));
                }
            }
        }
        let why = best_departure(best.as_ref().map(|b| b.0));
        Verdict::Denied {
            why,
            closest: best.map(|b| b.1),
        }
    }

    fn reach(&self, acl: &Acl, ace: &Ace, c: &Conversation, ctx: &Context) -> Reach {
        let m = &ace.matches;
        // Ethernet-only ACLs say nothing about an IP conversation.
        if acl.kind == Some(AclType::Eth) || (m.l3.is_none() && m.l4.is_none() && m.eth.is_some()) {
            return Reach::None;
        }
        let v4 = c.peer.is_ipv4();
        let family_ok = match acl.kind {
            Some(AclType::Ipv4 | AclType::MixedEthIpv4) => v4,
            Some(AclType::Ipv6 | AclType::MixedEthIpv6) => !v4,
            _ => true,
        } && m
            .l3
            .as_ref()
            .is_none_or(|l3| (l3.family == Family::V4) == v4);
        if !family_ok || !self.peer_matches(m, c, ctx) {
            return Reach::None;
        }
        // Protocol.
        let mut protocol_ok = true;
        if let Some(p) = m.l3.as_ref().and_then(|l3| l3.protocol) {
            protocol_ok &= p == c.protocol;
        }
        if let Some(l4) = &m.l4 {
            let implied = match l4 {
                L4Match::Icmp { .. } if !v4 => 58,
                l4 => l4.protocol(),
            };
            protocol_ok &= implied == c.protocol;
        }
        if !protocol_ok {
            return Reach::Peer;
        }
        // Ports: the source of this packet is the device when it comes from the device.
        let (src, dst) = if c.from_device {
            (c.device_port, c.peer_port)
        } else {
            (c.peer_port, c.device_port)
        };
        let ports_ok = |want: &Option<PortMatch>, have: Option<u16>| match (want, have) {
            (None, _) => true,
            (Some(w), Some(p)) => w.matches(p),
            (Some(_), None) => false,
        };
        let (port_ok, direction) = match &m.l4 {
            Some(L4Match::Tcp {
                src_port,
                dst_port,
                direction_initiated,
            }) => (
                ports_ok(src_port, src) && ports_ok(dst_port, dst),
                *direction_initiated,
            ),
            Some(L4Match::Udp { src_port, dst_port }) => {
                (ports_ok(src_port, src) && ports_ok(dst_port, dst), None)
            }
            _ => (true, None),
        };
        if !port_ok {
            return Reach::Protocol;
        }
        if let (Some(d), Some(by_device)) = (direction, c.initiated_by_device) {
            if (d == Direction::FromDevice) != by_device {
                return Reach::Port;
            }
        }
        Reach::All
    }

    fn peer_matches(&self, m: &Matches, c: &Conversation, ctx: &Context) -> bool {
        let peer = c.peer;
        let has = |list: &[IpAddr]| list.contains(&peer);
        let mud = &m.mud;
        if let Some(h) = &mud.manufacturer {
            let h = h.to_ascii_lowercase();
            if !ctx
                .manufacturer
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(&h) && has(v))
            {
                return false;
            }
        }
        if mud.same_manufacturer {
            let by_authority = self.authority.as_ref().is_some_and(|a| {
                ctx.manufacturer
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(a) && has(v))
            });
            if !has(&ctx.same_manufacturer) && !by_authority {
                return false;
            }
        }
        if let Some(u) = &mud.model {
            if !ctx.model.get(u).is_some_and(|v| has(v)) {
                return false;
            }
        }
        if mud.local_networks && !ctx.local_networks.iter().any(|n| n.contains(&peer)) {
            return false;
        }
        if let Some(class) = &mud.controller {
            if !ctx.controllers.get(class).is_some_and(|v| has(v)) {
                return false;
            }
        }
        if mud.my_controller && !has(&ctx.my_controller) {
            return false;
        }
        if let Some(l3) = &m.l3 {
            let (name, net) = if c.from_device {
                (&l3.dst_dnsname, &l3.dst_network)
            } else {
                (&l3.src_dnsname, &l3.src_network)
            };
            if let Some(name) = name {
                let seen = c
                    .peer_names
                    .iter()
                    .any(|n| n.trim_end_matches('.').eq_ignore_ascii_case(name));
                if !seen {
                    return false;
                }
            }
            if let Some(net) = net {
                if !net.contains(&peer) {
                    return false;
                }
            }
            // The device's own side, when the entry names it.
            let (own_name, own_net) = if c.from_device {
                (&l3.src_dnsname, &l3.src_network)
            } else {
                (&l3.dst_dnsname, &l3.dst_network)
            };
            let _ = own_name; // the device's own name is not known here; not a peer condition
            if let Some(net) = own_net {
                if !net.contains(&c.device) {
                    return false;
                }
            }
        }
        true
    }
}

fn best_departure(reach: Option<Reach>) -> Departure {
    match reach {
        None | Some(Reach::None) => Departure::NewPeer,
        Some(Reach::Peer) => Departure::NewProtocol,
        Some(Reach::Protocol) => Departure::NewPort,
        Some(Reach::Port) | Some(Reach::All) => Departure::WrongDirection,
    }
}
