//! The `[[communication]]` table of a version 2 profile: one row per conversation the product
//! needs on a network — with whom (a domain, an address prefix, or a class of peer such as the
//! maker's cloud or the local network), over which protocol and ports, who opens it, and why.
//! It is the declaration that `iotrust mud generate` turns into an RFC 8520 MUD file, and the
//! facts marked `derived: communications` in facts.yaml are computed from it here.

use iotrust_catalog::expr::{FactId, FactValue};
use iotrust_catalog::model::Strength;
use iotrust_catalog::Catalog;

use crate::profile::{Ctx, Facts, InputError};
use crate::tree::{Located, Node};

/// Peer classes and what they mean (RFC 8520 abstractions where there is one).
pub const CLASSES: &[&str] = &[
    "maker-cloud",
    "local-network",
    "same-manufacturer",
    "manufacturer",
    "controller",
    "my-controller",
];

/// The columns of a row and their allowed values (`None`: free text or a number).
pub const COLUMNS: &[(&str, Option<&[&str]>, &str)] = &[
    ("domain", None, "the peer's DNS name (\"fw.example.com\"); with class maker-cloud or manufacturer, the cloud's name or the manufacturer's domain"),
    ("address", None, "the peer's address or prefix (\"203.0.113.0/24\")"),
    (
        "class",
        Some(CLASSES),
        "a class of peer: the maker's cloud (with domain), the local network, devices of the same manufacturer, devices of another manufacturer (with domain), a controller of a class (with controller), the controller the local administrator configures",
    ),
    ("controller", None, "for class controller: the controller class URI (urn:ietf:params:mud:dns, urn:ietf:params:mud:ntp, or the maker's own)"),
    ("protocol", Some(&["tcp", "udp", "icmp"]), "the transport protocol"),
    ("application", None, "the application protocol (https, mqtt, coap, ntp, dns …)"),
    ("ports", None, "the peer's ports: a number, a list of numbers, or a range \"8000-8080\""),
    ("device_port", None, "the device's own port, when fixed (a service it offers)"),
    (
        "direction",
        Some(&["from-device", "to-device", "both"]),
        "who opens the conversation: the device, the peer, or either",
    ),
    ("purpose", None, "why the product needs it (required)"),
    ("source", None, "where the row comes from (a document and section, a test report)"),
    (
        "strength",
        Some(&["declared", "documented", "tested", "lab-tested"]),
        "how strongly the row is established (default: declared)",
    ),
];

/// Who the product talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A DNS name.
    Domain(String),
    /// An address or prefix, as written (`203.0.113.0/24`, `2001:db8::1`).
    Address(String),
    /// The maker's cloud, by its DNS name.
    MakerCloud(String),
    LocalNetwork,
    SameManufacturer,
    /// Devices whose MUD URL has this authority.
    Manufacturer(String),
    /// A controller of a class, by URI.
    Controller(String),
    MyController,
}

impl Peer {
    /// The peer in words, for reports and fact values.
    pub fn describe(&self) -> String {
        match self {
            Peer::Domain(d) => d.clone(),
            Peer::Address(a) => a.clone(),
            Peer::MakerCloud(d) => format!("maker cloud {d}"),
            Peer::LocalNetwork => "local network".into(),
            Peer::SameManufacturer => "same manufacturer".into(),
            Peer::Manufacturer(d) => format!("manufacturer {d}"),
            Peer::Controller(u) => format!("controller {u}"),
            Peer::MyController => "my controller".into(),
        }
    }
    /// A peer on the internet rather than on the local network.
    pub fn remote(&self) -> bool {
        matches!(
            self,
            Peer::Domain(_) | Peer::Address(_) | Peer::MakerCloud(_)
        )
    }
}

/// A port condition on the peer's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ports {
    One(u16),
    Range(u16, u16),
}

/// Who opens the conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    FromDevice,
    ToDevice,
    Both,
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Communication {
    pub peer: Peer,
    /// `tcp`, `udp` or `icmp`.
    pub protocol: String,
    pub application: Option<String>,
    /// Peer ports; empty: any.
    pub ports: Vec<Ports>,
    pub device_port: Option<u16>,
    pub direction: Initiator,
    pub purpose: String,
    pub source: Option<String>,
    pub strength: Strength,
    pub line: usize,
}

fn port(ctx: &Ctx<'_>, x: &Located, field: &str) -> Result<u16, InputError> {
    match &x.node {
        Node::Int(p) if (1..=65535).contains(p) => Ok(*p as u16),
        _ => Err(ctx.err(x.line, Some(field), "expected a port number 1-65535")),
    }
}

fn ports(ctx: &Ctx<'_>, x: &Located, field: &str) -> Result<Vec<Ports>, InputError> {
    let one = |x: &Located| -> Result<Ports, InputError> {
        match &x.node {
            Node::Str(s) => {
                let bad = || {
                    ctx.err(
                        x.line,
                        Some(field),
                        format!("`{s}` is not a port range (\"LOW-HIGH\", 1-65535)"),
                    )
                };
                let (a, b) = s.split_once('-').ok_or_else(bad)?;
                let a: u16 = a.trim().parse().map_err(|_| bad())?;
                let b: u16 = b.trim().parse().map_err(|_| bad())?;
                if a == 0 || a > b {
                    return Err(bad());
                }
                Ok(Ports::Range(a, b))
            }
            _ => Ok(Ports::One(port(ctx, x, field)?)),
        }
    };
    match &x.node {
        Node::Array(a) => a.iter().map(one).collect(),
        _ => Ok(vec![one(x)?]),
    }
}

/// Read the `[[communication]]` array of tables.
pub(crate) fn parse(ctx: &Ctx<'_>, v: &Located) -> Result<Vec<Communication>, InputError> {
    let Node::Array(items) = &v.node else {
        return Err(ctx.err(
            v.line,
            Some("communication"),
            "expected an array of tables ([[communication]])",
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let base = format!("communication[{i}]");
        let Node::Table(t) = &it.node else {
            return Err(ctx.err(it.line, Some(&base), "expected a table"));
        };
        let mut domain = None;
        let mut address = None;
        let mut class = None;
        let mut controller = None;
        let mut protocol = None;
        let mut application = None;
        let mut peer_ports = Vec::new();
        let mut device_port = None;
        let mut direction = None;
        let mut purpose = None;
        let mut source = None;
        let mut strength = Strength::Declared;
        for (k, x) in t {
            let field = format!("{base}.{k}");
            let Some((_, allowed, _)) = COLUMNS.iter().find(|(c, _, _)| c == k) else {
                let names: Vec<&str> = COLUMNS.iter().map(|(c, _, _)| *c).collect();
                return Err(ctx.err(
                    x.line,
                    Some(&field),
                    format!("unknown column (a communication has {})", names.join(", ")),
                ));
            };
            let text = |x: &Located| -> Result<(String, usize), InputError> {
                match &x.node {
                    Node::Str(s) => {
                        if let Some(a) = allowed {
                            if !a.contains(&s.as_str()) {
                                return Err(ctx.err(
                                    x.line,
                                    Some(&field),
                                    format!("`{s}` is not allowed (allowed: {})", a.join(", ")),
                                ));
                            }
                        }
                        Ok((s.clone(), x.line))
                    }
                    n => Err(ctx.err(
                        x.line,
                        Some(&field),
                        format!("expected a string, found {}", n.type_name()),
                    )),
                }
            };
            match k.as_str() {
                "domain" => {
                    let (d, l) = text(x)?;
                    if !is_dns_name(&d) {
                        return Err(ctx.err(l, Some(&field), format!("`{d}` is not a DNS name")));
                    }
                    domain = Some(d.trim_end_matches('.').to_ascii_lowercase());
                }
                "address" => {
                    let (a, l) = text(x)?;
                    if a.parse::<std::net::IpAddr>().is_err() && !is_prefix(&a) {
                        return Err(ctx.err(
                            l,
                            Some(&field),
                            format!("`{a}` is not an address or prefix (203.0.113.0/24)"),
                        ));
                    }
                    address = Some(a);
                }
                "class" => class = Some(text(x)?.0),
                "controller" => {
                    let (c, l) = text(x)?;
                    if !c.contains(':') || c.chars().any(char::is_whitespace) {
                        return Err(ctx.err(l, Some(&field), format!("`{c}` is not a URI")));
                    }
                    controller = Some(c);
                }
                "protocol" => protocol = Some(text(x)?.0),
                "application" => application = Some(text(x)?.0),
                "ports" => peer_ports = ports(ctx, x, &field)?,
                "device_port" => device_port = Some(port(ctx, x, &field)?),
                "direction" => {
                    direction = Some(match text(x)?.0.as_str() {
                        "from-device" => Initiator::FromDevice,
                        "to-device" => Initiator::ToDevice,
                        _ => Initiator::Both,
                    })
                }
                "purpose" => {
                    let (p, l) = text(x)?;
                    if p.trim().is_empty() {
                        return Err(ctx.err(
                            l,
                            Some(&field),
                            "`purpose` is empty: say why the product needs it",
                        ));
                    }
                    purpose = Some(p)
                }
                "source" => source = Some(text(x)?.0),
                _ => {
                    strength = match text(x)?.0.as_str() {
                        "documented" => Strength::Documented,
                        "tested" => Strength::Tested,
                        "lab-tested" => Strength::LabTested,
                        _ => Strength::Declared,
                    }
                }
            }
        }
        let need = |col: &str, why: &str| {
            ctx.err(it.line, Some(&format!("{base}.{col}")), why.to_string())
        };
        let peer = match (class.as_deref(), domain, address) {
            (None, Some(d), None) => Peer::Domain(d),
            (None, None, Some(a)) => Peer::Address(a),
            (None, None, None) => {
                return Err(need("domain", "a communication needs a peer: `domain`, `address` or `class`"))
            }
            (None, Some(_), Some(_)) => {
                return Err(need("address", "give one peer per row: `domain` or `address`, not both"))
            }
            (Some(_), _, Some(_)) => {
                return Err(need("address", "a peer `class` takes no `address`"))
            }
            (Some("maker-cloud"), Some(d), None) => Peer::MakerCloud(d),
            (Some("manufacturer"), Some(d), None) => Peer::Manufacturer(d),
            (Some(c @ ("maker-cloud" | "manufacturer")), None, None) => {
                return Err(need("domain", &format!("class `{c}` needs `domain` (the {} name)", if c == "maker-cloud" { "cloud's" } else { "manufacturer's" })))
            }
            (Some(c), Some(_), None) => {
                return Err(need("domain", &format!("class `{c}` takes no `domain`")))
            }
            (Some("local-network"), None, None) => Peer::LocalNetwork,
            (Some("same-manufacturer"), None, None) => Peer::SameManufacturer,
            (Some("my-controller"), None, None) => Peer::MyController,
            (Some(_), None, None) => match controller.take() {
                Some(u) => Peer::Controller(u),
                None => {
                    return Err(need(
                        "controller",
                        "class `controller` needs `controller` (a class URI such as urn:ietf:params:mud:dns)",
                    ))
                }
            },
        };
        if controller.is_some() {
            return Err(need(
                "controller",
                "`controller` goes with class = \"controller\"",
            ));
        }
        let Some(protocol) = protocol else {
            return Err(need(
                "protocol",
                "a communication needs `protocol` (tcp, udp or icmp)",
            ));
        };
        if protocol == "icmp" && (!peer_ports.is_empty() || device_port.is_some()) {
            return Err(need("ports", "icmp has no ports"));
        }
        let Some(direction) = direction else {
            return Err(need(
                "direction",
                "a communication needs `direction` (from-device, to-device or both)",
            ));
        };
        let Some(purpose) = purpose else {
            return Err(need(
                "purpose",
                "a communication needs `purpose`: why the product needs it",
            ));
        };
        out.push(Communication {
            peer,
            protocol,
            application,
            ports: peer_ports,
            device_port,
            direction,
            purpose,
            source,
            strength,
            line: it.line + ctx.line_offset,
        });
    }
    Ok(out)
}

fn is_dns_name(s: &str) -> bool {
    let s = s.trim_end_matches('.');
    !s.is_empty()
        && s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn is_prefix(s: &str) -> bool {
    let Some((a, len)) = s.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    match a.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => len <= 32,
        Ok(std::net::IpAddr::V6(_)) => len <= 128,
        Err(_) => false,
    }
}

impl Communication {
    /// The row in words: `maker cloud fw.example.com tcp/443 (firmware updates)`.
    pub fn describe(&self) -> String {
        let ports: Vec<String> = self
            .ports
            .iter()
            .map(|p| match p {
                Ports::One(p) => p.to_string(),
                Ports::Range(a, b) => format!("{a}-{b}"),
            })
            .collect();
        let mut s = format!("{} {}", self.peer.describe(), self.protocol);
        if !ports.is_empty() {
            s.push('/');
            s.push_str(&ports.join(","));
        }
        s.push_str(&format!(" ({})", self.purpose));
        s
    }
}

/// A derived fact's value from the rows.
fn derive(fact: &str, rows: &[Communication]) -> Option<FactValue> {
    match fact {
        "comms.communications_declared" => Some(FactValue::Bool(!rows.is_empty())),
        "comms.declared_peers" => Some(FactValue::List(
            rows.iter().map(Communication::describe).collect(),
        )),
        "comms.inbound_from_internet" => Some(FactValue::Bool(rows.iter().any(|r| {
            r.peer.remote() && matches!(r.direction, Initiator::ToDevice | Initiator::Both)
        }))),
        // The TCP ports the device must listen on: those of conversations a peer opens. A
        // row a peer opens without naming the device's port leaves it undecided.
        "comms.declared_tcp_services" => {
            let mut ports = Vec::new();
            for r in rows.iter().filter(|r| {
                r.protocol == "tcp" && matches!(r.direction, Initiator::ToDevice | Initiator::Both)
            }) {
                ports.push(i64::from(r.device_port?));
            }
            ports.sort_unstable();
            ports.dedup();
            Some(FactValue::IntList(ports))
        }
        _ => None,
    }
}

/// Set every `derived: communications` fact from the rows (see [`crate::derived`]).
pub(crate) fn apply(
    cat: &Catalog,
    ctx: &Ctx<'_>,
    rows: &[Communication],
    line: usize,
    facts: &mut Facts,
    stated: &[(FactId, usize)],
) -> Result<(), InputError> {
    let table = crate::derived::Table {
        kind: iotrust_catalog::model::Derived::Communications,
        name: "communication",
        describes: "communications",
        line,
        rows: rows.len(),
        strength: rows
            .iter()
            .map(|r| r.strength)
            .min()
            .unwrap_or(Strength::Declared),
        sources: rows.iter().filter_map(|r| r.source.as_deref()).collect(),
        also: None,
    };
    crate::derived::apply(cat, ctx, &table, facts, stated, |f| derive(f, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fact marked `derived: communications` without a rule here would stay unknown.
    #[test]
    fn every_derived_fact_has_a_rule() {
        let Ok(cat) = Catalog::embedded() else {
            panic!("embedded catalog")
        };
        let row = Communication {
            peer: Peer::MakerCloud("fw.example.com".into()),
            protocol: "tcp".into(),
            application: Some("https".into()),
            ports: vec![Ports::One(443)],
            device_port: None,
            direction: Initiator::FromDevice,
            purpose: "firmware updates".into(),
            source: None,
            strength: Strength::Declared,
            line: 1,
        };
        let derived: Vec<&str> = cat
            .facts
            .iter()
            .filter(|f| f.derived == Some(iotrust_catalog::model::Derived::Communications))
            .map(|f| f.id.as_str())
            .collect();
        assert!(derived.len() >= 3, "{derived:?}");
        for id in derived {
            assert!(
                derive(id, std::slice::from_ref(&row)).is_some(),
                "no rule derives `{id}`"
            );
        }
        assert_eq!(
            derive("comms.declared_peers", &[row]),
            Some(FactValue::List(vec![
                "maker cloud fw.example.com tcp/443 (firmware updates)".into()
            ]))
        );
    }

    fn parse_profile(rows: &str) -> Result<crate::Profile, InputError> {
        let Ok(cat) = Catalog::embedded() else {
            panic!("embedded catalog")
        };
        let text = format!(
            "schema = \"iotrust-profile/2\"\n[product]\nmanufacturer = \"M\"\nmodel = \"X\"\ncategory = \"smart-plug\"\n{rows}"
        );
        crate::profile::parse(&cat, &text, crate::InputFormat::Toml, "p.toml")
    }

    #[test]
    fn rows_read_and_facts_derived() {
        let p = match parse_profile(
            "[[communication]]\nclass = \"controller\"\ncontroller = \"urn:ietf:params:mud:dns\"\nprotocol = \"udp\"\nports = [53, \"5353-5354\"]\ndirection = \"from-device\"\npurpose = \"dns\"\n[[communication]]\ndomain = \"Relay.Example.com\"\nprotocol = \"tcp\"\nports = 443\ndirection = \"both\"\npurpose = \"relay\"\n",
        ) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(p.communications.len(), 2);
        assert_eq!(
            p.communications[0].ports,
            vec![Ports::One(53), Ports::Range(5353, 5354)]
        );
        assert_eq!(
            p.communications[1].peer,
            Peer::Domain("relay.example.com".into())
        );
        let Ok(cat) = Catalog::embedded() else {
            panic!("embedded catalog")
        };
        let get = |id: &str| {
            cat.fact(id)
                .and_then(|(i, _)| p.facts.get(i))
                .map(|(v, _)| v.clone())
        };
        assert_eq!(
            get("comms.communications_declared"),
            Some(FactValue::Bool(true))
        );
        assert_eq!(
            get("comms.inbound_from_internet"),
            Some(FactValue::Bool(true))
        );
        // Without the table the facts stay unknown.
        let Ok(p) = parse_profile("") else {
            panic!("profile")
        };
        assert!(p.communications.is_empty());
        let id = cat.fact("comms.communications_declared").map(|(i, _)| i);
        assert!(id.and_then(|i| p.facts.get(i)).is_none());
    }

    #[test]
    fn errors_name_row_column_and_line() {
        for (rows, field, line, needle) in [
            ("[[communication]]\nprotocol = \"tcp\"\ndirection = \"both\"\npurpose = \"x\"\n", "communication[0].domain", 6, "needs a peer"),
            ("[[communication]]\nclass = \"controller\"\nprotocol = \"udp\"\ndirection = \"both\"\npurpose = \"x\"\n", "communication[0].controller", 6, "class URI"),
            ("[[communication]]\ndomain = \"a.example\"\nprotocol = \"sctp\"\n", "communication[0].protocol", 8, "not allowed"),
            ("[[communication]]\ndomain = \"a.example\"\nprotocol = \"tcp\"\nports = \"9-1\"\n", "communication[0].ports", 9, "port range"),
            ("[[communication]]\ndomain = \"a.example\"\nprotocol = \"tcp\"\ndirection = \"both\"\n", "communication[0].purpose", 6, "purpose"),
            ("[[communication]]\naddress = \"300.1.1.1\"\n", "communication[0].address", 7, "not an address"),
            ("[[communication]]\nport = 1\n", "communication[0].port", 7, "unknown column"),
        ] {
            match parse_profile(rows) {
                Ok(_) => panic!("{rows} parsed"),
                Err(e) => {
                    assert_eq!(e.field.as_deref(), Some(field), "{e}");
                    assert_eq!(e.line, line, "{e}");
                    assert!(e.message.contains(needle), "{e}");
                }
            }
        }
    }
}
