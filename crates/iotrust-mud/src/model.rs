//! The parsed form of an RFC 8520 MUD file: the `ietf-mud:mud` container and the RFC 8519
//! access lists it names, with the `ietf-acldns` and `ietf-mud` match augments.
//!
//! Only what a MUD manager acts on is kept; every value here has passed [`crate::check`].

use ipnet::IpNet;

/// A parsed and checked MUD file.
#[derive(Debug, Clone, PartialEq)]
pub struct MudFile {
    pub(crate) url: String,
    pub mud_version: u8,
    /// `last-update` as written (RFC 3339 / `yang:date-and-time`).
    pub last_update: String,
    /// Hours a manager may cache the file (1..=168; RFC 8520 default 48).
    pub cache_validity: u8,
    pub is_supported: bool,
    pub(crate) systeminfo: Option<String>,
    pub mfg_name: Option<String>,
    pub model_name: Option<String>,
    pub firmware_rev: Option<String>,
    pub software_rev: Option<String>,
    pub documentation: Option<String>,
    /// `extensions`: names of MUD extensions the file uses.
    pub extensions: Vec<String>,
    /// Names of the ACLs applied to traffic from the device, in order.
    pub from_device_policy: Vec<String>,
    /// Names of the ACLs applied to traffic to the device, in order.
    pub to_device_policy: Vec<String>,
    pub acls: Vec<Acl>,
    /// The ACL container was spelled `ietf-access-control-list:access-lists` (MUDgee).
    pub access_lists_alias: bool,
}

impl MudFile {
    /// The `mud-url` of the file (where a device's MUD file is published).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `systeminfo` text, if any.
    pub fn systeminfo(&self) -> Option<&str> {
        self.systeminfo.as_deref()
    }

    /// The ACL named `name`.
    pub fn acl(&self, name: &str) -> Option<&Acl> {
        self.acls.iter().find(|a| a.name == name)
    }
}

/// The ACL's `type` (RFC 8519 identities).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclType {
    Ipv4,
    Ipv6,
    Eth,
    MixedEthIpv4,
    MixedEthIpv6,
    MixedEthIpv4Ipv6,
}

impl AclType {
    /// The identity name as written in a file.
    pub fn name(self) -> &'static str {
        match self {
            AclType::Ipv4 => "ipv4-acl-type",
            AclType::Ipv6 => "ipv6-acl-type",
            AclType::Eth => "eth-acl-type",
            AclType::MixedEthIpv4 => "mixed-eth-ipv4-acl-type",
            AclType::MixedEthIpv6 => "mixed-eth-ipv6-acl-type",
            AclType::MixedEthIpv4Ipv6 => "mixed-eth-ipv4-ipv6-acl-type",
        }
    }
}

/// One access list.
#[derive(Debug, Clone, PartialEq)]
pub struct Acl {
    pub name: String,
    /// `None` when the file gave no `type` (allowed by RFC 8519, where it is optional).
    pub kind: Option<AclType>,
    pub aces: Vec<Ace>,
}

/// One access-control entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Ace {
    pub name: String,
    pub matches: Matches,
    pub action: Forwarding,
    /// JSON path of the entry in its file (`/ietf-access-control-list:acls/acl/0/aces/ace/3`).
    pub path: String,
}

/// `actions/forwarding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarding {
    Accept,
    Drop,
    Reject,
}

/// Everything an ACE matches on; every present condition must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matches {
    pub mud: MudMatch,
    pub l3: Option<L3Match>,
    pub l4: Option<L4Match>,
    pub eth: Option<EthMatch>,
}

/// The `ietf-mud:mud` match augment: the RFC 8520 abstractions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MudMatch {
    /// Devices whose MUD URL has this authority (`inet:host`).
    pub manufacturer: Option<String>,
    /// Devices whose MUD URL has the same authority as this file's.
    pub same_manufacturer: bool,
    /// Devices with this MUD URL.
    pub model: Option<String>,
    /// Addresses the network considers local.
    pub local_networks: bool,
    /// A class of controller, by URI (e.g. `urn:ietf:params:mud:dns`).
    pub controller: Option<String>,
    /// The controller(s) the local administrator configured for this MUD URL.
    pub my_controller: bool,
}

impl MudMatch {
    /// True when no abstraction is named.
    pub fn is_empty(&self) -> bool {
        self == &MudMatch::default()
    }
}

/// Address family of an L3 match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// `ipv4` / `ipv6` matches with the `ietf-acldns` names.
#[derive(Debug, Clone, PartialEq)]
pub struct L3Match {
    pub family: Family,
    /// IP protocol number.
    pub protocol: Option<u8>,
    pub src_dnsname: Option<String>,
    pub dst_dnsname: Option<String>,
    pub src_network: Option<IpNet>,
    pub dst_network: Option<IpNet>,
}

/// `tcp`, `udp` or `icmp` matches.
#[derive(Debug, Clone, PartialEq)]
pub enum L4Match {
    Tcp {
        src_port: Option<PortMatch>,
        dst_port: Option<PortMatch>,
        /// `ietf-mud:direction-initiated`.
        direction_initiated: Option<Direction>,
    },
    Udp {
        src_port: Option<PortMatch>,
        dst_port: Option<PortMatch>,
    },
    Icmp {
        icmp_type: Option<u8>,
        code: Option<u8>,
    },
}

impl L4Match {
    /// The IP protocol number this match implies.
    pub fn protocol(&self) -> u8 {
        match self {
            L4Match::Tcp { .. } => 6,
            L4Match::Udp { .. } => 17,
            // ICMP for v4; the v6 caller maps to 58.
            L4Match::Icmp { .. } => 1,
        }
    }
}

/// Who opens a TCP connection (`ietf-mud:direction-initiated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    FromDevice,
    ToDevice,
}

/// A port condition: an operator and a port, or an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortMatch {
    Op { op: Operator, port: u16 },
    Range { lower: u16, upper: u16 },
}

impl PortMatch {
    /// Does `port` satisfy the condition?
    pub fn matches(&self, port: u16) -> bool {
        match *self {
            PortMatch::Op { op, port: p } => match op {
                Operator::Eq => port == p,
                Operator::Neq => port != p,
                Operator::Lte => port <= p,
                Operator::Gte => port >= p,
            },
            PortMatch::Range { lower, upper } => lower <= port && port <= upper,
        }
    }
}

/// RFC 8519 port operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Neq,
    Lte,
    Gte,
}

/// `eth` matches (kept for completeness; IP conversations are not judged by them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EthMatch {
    pub ethertype: Option<u16>,
    pub src_mac: Option<String>,
    pub dst_mac: Option<String>,
}
