//! A profile's `[[communication]]` rows written as an RFC 8520 MUD file: one from-device and
//! one to-device ACL per address family, an entry per row and port condition in each.

use iotrust_assess::communications::{Communication, Initiator, Peer, Ports};
use serde_json::{json, Map, Value};

/// What the file is generated from.
pub struct Declaration<'a> {
    /// The `mud-url` (https).
    pub url: &'a str,
    pub manufacturer: &'a str,
    pub model: &'a str,
    /// Shown as `systeminfo` (cut to 60 characters).
    pub name: Option<&'a str>,
    pub documentation: Option<&'a str>,
    pub communications: &'a [Communication],
    /// `last-update`.
    pub now: jiff::Timestamp,
}

/// Why no file could be written.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("the profile has no [[communication]] table: declare what the product talks to first")]
    NoCommunications,
    #[error("mud-url `{0}` must be an https:// URL with a host (RFC 8520 section 3.3)")]
    BadUrl(String),
}

fn port_json(p: &Ports) -> Value {
    match *p {
        Ports::One(p) => json!({"operator": "eq", "port": p}),
        Ports::Range(a, b) => json!({"lower-port": a, "upper-port": b}),
    }
}

/// The families a row's peer may use.
fn families(peer: &Peer) -> &'static [bool] {
    // true = IPv4
    match peer {
        Peer::Address(a) if a.contains(':') => &[false],
        Peer::Address(_) => &[true],
        _ => &[true, false],
    }
}

/// One ACE for `row` in direction `from_device`, family `v4`, peer port condition `port`.
fn ace(
    row: &Communication,
    name: String,
    from_device: bool,
    v4: bool,
    port: Option<&Ports>,
) -> Value {
    let mut l3 = Map::new();
    let mut mud = Map::new();
    let proto: u8 = match (row.protocol.as_str(), v4) {
        ("tcp", _) => 6,
        ("udp", _) => 17,
        (_, true) => 1,
        (_, false) => 58,
    };
    l3.insert("protocol".into(), proto.into());
    let (dns_key, net_key) = match (from_device, v4) {
        (true, true) => ("ietf-acldns:dst-dnsname", "destination-ipv4-network"),
        (true, false) => ("ietf-acldns:dst-dnsname", "destination-ipv6-network"),
        (false, true) => ("ietf-acldns:src-dnsname", "source-ipv4-network"),
        (false, false) => ("ietf-acldns:src-dnsname", "source-ipv6-network"),
    };
    match &row.peer {
        Peer::Domain(d) | Peer::MakerCloud(d) => {
            l3.insert(dns_key.into(), d.clone().into());
        }
        Peer::Address(a) => {
            let prefix = if a.contains('/') {
                a.clone()
            } else if v4 {
                format!("{a}/32")
            } else {
                format!("{a}/128")
            };
            l3.insert(net_key.into(), prefix.into());
        }
        Peer::LocalNetwork => {
            mud.insert("local-networks".into(), json!([null]));
        }
        Peer::SameManufacturer => {
            mud.insert("same-manufacturer".into(), json!([null]));
        }
        Peer::MyController => {
            mud.insert("my-controller".into(), json!([null]));
        }
        Peer::Manufacturer(d) => {
            mud.insert("manufacturer".into(), d.clone().into());
        }
        Peer::Controller(u) => {
            mud.insert("controller".into(), u.clone().into());
        }
    }
    let mut matches = Map::new();
    if !mud.is_empty() {
        matches.insert("ietf-mud:mud".into(), Value::Object(mud));
    }
    matches.insert(if v4 { "ipv4" } else { "ipv6" }.into(), Value::Object(l3));
    if proto == 6 || proto == 17 {
        let mut l4 = Map::new();
        // The peer's port is the destination from the device, the source towards it.
        let (peer_key, dev_key) = if from_device {
            ("destination-port", "source-port")
        } else {
            ("source-port", "destination-port")
        };
        if let Some(p) = port {
            l4.insert(peer_key.into(), port_json(p));
        }
        if let Some(p) = row.device_port {
            l4.insert(dev_key.into(), json!({"operator": "eq", "port": p}));
        }
        if proto == 6 {
            match row.direction {
                Initiator::FromDevice => {
                    l4.insert("ietf-mud:direction-initiated".into(), "from-device".into());
                }
                Initiator::ToDevice => {
                    l4.insert("ietf-mud:direction-initiated".into(), "to-device".into());
                }
                Initiator::Both => {}
            }
        }
        matches.insert(
            if proto == 6 { "tcp" } else { "udp" }.into(),
            Value::Object(l4),
        );
    }
    json!({"name": name, "matches": matches, "actions": {"forwarding": "accept"}})
}

/// Write the MUD file (pretty JSON).
pub fn generate(d: &Declaration) -> Result<String, GenerateError> {
    if d.communications.is_empty() {
        return Err(GenerateError::NoCommunications);
    }
    if !d.url.starts_with("https://") || crate::check::url_authority(d.url).is_none() {
        return Err(GenerateError::BadUrl(d.url.to_string()));
    }
    let stem: String = d
        .model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let stem = format!("mud-{}", stem.trim_matches('-'));
    let mut acls = Vec::new();
    let mut from_names = Vec::new();
    let mut to_names = Vec::new();
    for v4 in [true, false] {
        let fam = if v4 { "v4" } else { "v6" };
        for from_device in [true, false] {
            let dir = if from_device { "fr" } else { "to" };
            let mut aces = Vec::new();
            for (i, row) in d.communications.iter().enumerate() {
                if !families(&row.peer).contains(&v4) {
                    continue;
                }
                let ports: Vec<Option<&Ports>> = if row.ports.is_empty() {
                    vec![None]
                } else {
                    row.ports.iter().map(Some).collect()
                };
                for (j, p) in ports.into_iter().enumerate() {
                    let name = format!("c{i}-{j}-{}dev", dir);
                    aces.push(ace(row, name, from_device, v4, p));
                }
            }
            if aces.is_empty() {
                continue;
            }
            let name = format!("{stem}-{fam}{dir}");
            if from_device {
                from_names.push(json!({"name": name}));
            } else {
                to_names.push(json!({"name": name}));
            }
            acls.push(json!({
                "name": name,
                "type": if v4 { "ipv4-acl-type" } else { "ipv6-acl-type" },
                "aces": {"ace": aces},
            }));
        }
    }
    let mut mud = Map::new();
    mud.insert("mud-version".into(), 1.into());
    mud.insert("mud-url".into(), d.url.into());
    mud.insert(
        "last-update".into(),
        d.now.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string().into(),
    );
    mud.insert("cache-validity".into(), 48.into());
    mud.insert("is-supported".into(), true.into());
    let info: String = d.name.unwrap_or(d.model).chars().take(60).collect();
    mud.insert("systeminfo".into(), info.into());
    mud.insert("mfg-name".into(), d.manufacturer.into());
    mud.insert("model-name".into(), d.model.into());
    if let Some(doc) = d.documentation {
        mud.insert("documentation".into(), doc.into());
    }
    mud.insert(
        "from-device-policy".into(),
        json!({"access-lists": {"access-list": from_names}}),
    );
    mud.insert(
        "to-device-policy".into(),
        json!({"access-lists": {"access-list": to_names}}),
    );
    let doc = json!({
        "ietf-mud:mud": mud,
        "ietf-access-control-list:acls": {"acl": acls},
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    Ok(s)
}
