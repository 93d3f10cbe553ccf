//! A MUD file compiled to an nftables rule set for one device (sans-IO: names already
//! resolved are passed in; `enforce` resolves and loads).
//!
//! The rule set is a table of its own (`inet iotrust_mud_<device>`): a named set of addresses
//! per `ietf-acldns` name and family, with timeouts so a stale resolution expires; chains
//! `from_device` and `to_device` with one counted accept rule per ACE (commented with
//! `ACL/ACE`), ending in a counted drop; and base chains on the forward, input and output
//! hooks that send the device's traffic there. TCP `direction-initiated` becomes a
//! connection-tracking condition on the side that must not open connections.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::*;
use crate::policy::Context;

/// A name of the file, with the sets that hold its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSet {
    pub name: String,
    pub set: String,
    pub v4: bool,
}

/// The compiled rule set.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub table: String,
    /// The `nft -f` script that (re)creates the table.
    pub script: String,
    pub sets: Vec<NameSet>,
    /// Entries not enforced, and why (unknown abstractions, Ethernet ACLs).
    pub notes: Vec<String>,
}

/// How the rule set is built.
#[derive(Debug, Clone)]
pub struct Options {
    pub device: IpAddr,
    /// Seconds a resolved address stays in a set unless refreshed.
    pub timeout: u32,
}

/// The table name for a device.
pub fn table_name(device: IpAddr) -> String {
    let s: String = device
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("iotrust_mud_{s}")
}

/// Every dnsname the file names, with its set names, for the device's family.
pub fn name_sets(mud: &MudFile, device: IpAddr) -> Vec<NameSet> {
    let v4 = device.is_ipv4();
    let mut names: Vec<String> = Vec::new();
    for acl in &mud.acls {
        for ace in &acl.aces {
            if let Some(l3) = &ace.matches.l3 {
                for n in [&l3.src_dnsname, &l3.dst_dnsname].into_iter().flatten() {
                    if !names.contains(n) {
                        names.push(n.clone());
                    }
                }
            }
        }
    }
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| NameSet {
            name,
            set: format!("dns{i}_{}", if v4 { "v4" } else { "v6" }),
            v4,
        })
        .collect()
}

fn quote(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '\n' | '\r'))
        .take(120)
        .collect();
    format!("\"{clean}\"")
}

fn port_expr(p: &PortMatch) -> String {
    match *p {
        PortMatch::Op { op, port } => match op {
            Operator::Eq => port.to_string(),
            Operator::Neq => format!("!= {port}"),
            Operator::Lte => format!("<= {port}"),
            Operator::Gte => format!(">= {port}"),
        },
        PortMatch::Range { lower, upper } => format!("{lower}-{upper}"),
    }
}

fn addr_list(addrs: &[IpAddr], v4: bool) -> Vec<String> {
    addrs
        .iter()
        .filter(|a| a.is_ipv4() == v4)
        .map(ToString::to_string)
        .collect()
}

/// The element list of a set for `addrs` (`{ 192.0.2.1 timeout 300s, ... }`).
pub fn elements(addrs: &[IpAddr], v4: bool, timeout: u32) -> Option<String> {
    let list: Vec<String> = addrs
        .iter()
        .filter(|a| a.is_ipv4() == v4)
        .map(|a| format!("{a} timeout {timeout}s"))
        .collect();
    (!list.is_empty()).then(|| format!("{{ {} }}", list.join(", ")))
}

/// One ACE as an nft rule body, or why it cannot be enforced.
fn rule(
    mud: &MudFile,
    acl: &str,
    ace: &Ace,
    from_device: bool,
    opts: &Options,
    sets: &[NameSet],
    ctx: &Context,
) -> Result<String, String> {
    let v4 = opts.device.is_ipv4();
    let fam = if v4 { "ip" } else { "ip6" };
    let m = &ace.matches;
    let peer_dir = if from_device { "daddr" } else { "saddr" };
    let own_dir = if from_device { "saddr" } else { "daddr" };
    let mut parts: Vec<String> = vec![format!("meta nfproto {}", if v4 { "ipv4" } else { "ipv6" })];
    if m.l3
        .as_ref()
        .is_some_and(|l3| (l3.family == Family::V4) != v4)
    {
        return Err("for the other address family".into());
    }
    let peer_in = |parts: &mut Vec<String>, addrs: Vec<String>, what: &str| -> Result<(), String> {
        if addrs.is_empty() {
            return Err(format!("no {what} known for this device's family"));
        }
        parts.push(format!("{fam} {peer_dir} {{ {} }}", addrs.join(", ")));
        Ok(())
    };
    let mud_m = &m.mud;
    if mud_m.local_networks {
        let nets: Vec<String> = ctx
            .local_networks
            .iter()
            .filter(|n| matches!(n, IpNet::V4(_)) == v4)
            .map(ToString::to_string)
            .collect();
        peer_in(&mut parts, nets, "local network")?;
    }
    if let Some(c) = &mud_m.controller {
        let a = ctx
            .controllers
            .get(c)
            .map(|v| addr_list(v, v4))
            .unwrap_or_default();
        peer_in(&mut parts, a, &format!("controller of class {c}"))?;
    }
    if mud_m.my_controller {
        peer_in(
            &mut parts,
            addr_list(&ctx.my_controller, v4),
            "my-controller",
        )?;
    }
    if mud_m.same_manufacturer {
        let mut a = ctx.same_manufacturer.clone();
        if let Some(auth) = crate::check::url_authority(mud.url()) {
            if let Some(v) = ctx.manufacturer.get(&auth) {
                a.extend(v);
            }
        }
        peer_in(&mut parts, addr_list(&a, v4), "same-manufacturer device")?;
    }
    if let Some(h) = &mud_m.manufacturer {
        let a = ctx
            .manufacturer
            .get(h)
            .map(|v| addr_list(v, v4))
            .unwrap_or_default();
        peer_in(&mut parts, a, &format!("device of manufacturer {h}"))?;
    }
    if let Some(u) = &mud_m.model {
        let a = ctx
            .model
            .get(u)
            .map(|v| addr_list(v, v4))
            .unwrap_or_default();
        peer_in(&mut parts, a, &format!("device of model {u}"))?;
    }
    let mut protocol = None;
    if let Some(l3) = &m.l3 {
        let (peer_name, peer_net, own_net) = if from_device {
            (&l3.dst_dnsname, &l3.dst_network, &l3.src_network)
        } else {
            (&l3.src_dnsname, &l3.src_network, &l3.dst_network)
        };
        if let Some(n) = peer_name {
            let set = sets
                .iter()
                .find(|s| &s.name == n)
                .ok_or("name without a set")?;
            parts.push(format!("{fam} {peer_dir} @{}", set.set));
        }
        if let Some(n) = peer_net {
            parts.push(format!("{fam} {peer_dir} {n}"));
        }
        if let Some(n) = own_net {
            parts.push(format!("{fam} {own_dir} {n}"));
        }
        protocol = l3.protocol;
    }
    let mut ct = None;
    match &m.l4 {
        Some(L4Match::Tcp {
            src_port,
            dst_port,
            direction_initiated,
        }) => {
            parts.push("meta l4proto tcp".into());
            if let Some(p) = src_port {
                parts.push(format!("tcp sport {}", port_expr(p)));
            }
            if let Some(p) = dst_port {
                parts.push(format!("tcp dport {}", port_expr(p)));
            }
            // The side that must not open connections may only continue them.
            if let Some(d) = direction_initiated {
                let opener_is_this_side = (*d == Direction::FromDevice) == from_device;
                if !opener_is_this_side {
                    ct = Some("ct state established,related");
                }
            }
        }
        Some(L4Match::Udp { src_port, dst_port }) => {
            parts.push("meta l4proto udp".into());
            if let Some(p) = src_port {
                parts.push(format!("udp sport {}", port_expr(p)));
            }
            if let Some(p) = dst_port {
                parts.push(format!("udp dport {}", port_expr(p)));
            }
        }
        Some(L4Match::Icmp { icmp_type, code }) => {
            let (proto, kw) = if v4 {
                ("icmp", "icmp")
            } else {
                ("ipv6-icmp", "icmpv6")
            };
            parts.push(format!("meta l4proto {proto}"));
            if let Some(t) = icmp_type {
                parts.push(format!("{kw} type {t}"));
            }
            if let Some(c) = code {
                parts.push(format!("{kw} code {c}"));
            }
        }
        None => {
            if let Some(p) = protocol {
                parts.push(format!("meta l4proto {p}"));
            }
        }
    }
    if let Some(c) = ct {
        parts.push(c.into());
    }
    let verdict = match ace.action {
        Forwarding::Accept => "accept",
        Forwarding::Drop => "drop",
        Forwarding::Reject => "reject",
    };
    Ok(format!(
        "{} counter {verdict} comment {}",
        parts.join(" "),
        quote(&format!("{acl}/{}", ace.name))
    ))
}

/// Compile `mud` for `opts.device`; `resolved` gives the addresses of each dnsname.
pub fn compile(
    mud: &MudFile,
    opts: &Options,
    resolved: &BTreeMap<String, Vec<IpAddr>>,
    ctx: &Context,
) -> RuleSet {
    let table = table_name(opts.device);
    let sets = name_sets(mud, opts.device);
    let v4 = opts.device.is_ipv4();
    let fam = if v4 { "ip" } else { "ip6" };
    let dev = opts.device;
    let mut notes = Vec::new();
    let mut s = String::new();
    // Create-then-delete makes the load replace an older table in one transaction.
    let _ = writeln!(s, "table inet {table}\ndelete table inet {table}");
    let _ = writeln!(s, "table inet {table} {{");
    let _ = writeln!(
        s,
        "  comment {}",
        quote(&format!("MUD {} for {dev}", mud.url()))
    );
    for ns in &sets {
        let _ = writeln!(s, "  set {} {{", ns.set);
        let _ = writeln!(
            s,
            "    type {}; flags timeout; timeout {}s;",
            if v4 { "ipv4_addr" } else { "ipv6_addr" },
            opts.timeout
        );
        let _ = writeln!(s, "    comment {};", quote(&ns.name));
        if let Some(e) = resolved
            .get(&ns.name)
            .and_then(|a| elements(a, v4, opts.timeout))
        {
            let _ = writeln!(s, "    elements = {e}");
        }
        let _ = writeln!(s, "  }}");
    }
    for (chain, from_device, names) in [
        ("from_device", true, &mud.from_device_policy),
        ("to_device", false, &mud.to_device_policy),
    ] {
        let _ = writeln!(s, "  chain {chain} {{");
        for name in names {
            let Some(acl) = mud.acl(name) else { continue };
            let other_family = match acl.kind {
                Some(AclType::Ipv4 | AclType::MixedEthIpv4) => !v4,
                Some(AclType::Ipv6 | AclType::MixedEthIpv6) => v4,
                _ => false,
            };
            if other_family {
                continue;
            }
            if acl.kind == Some(AclType::Eth) {
                notes.push(format!(
                    "{name}: Ethernet ACL not enforced by an IP rule set"
                ));
                continue;
            }
            for ace in &acl.aces {
                match rule(mud, name, ace, from_device, opts, &sets, ctx) {
                    Ok(r) => {
                        let _ = writeln!(s, "    {r}");
                    }
                    Err(why) => notes.push(format!("{name}/{}: not enforced ({why})", ace.name)),
                }
            }
        }
        let _ = writeln!(
            s,
            "    counter drop comment {}",
            quote(&format!(
                "not in the MUD file ({})",
                chain.replace('_', " ")
            ))
        );
        let _ = writeln!(s, "  }}");
    }
    for (hook, prio) in [
        ("forward", "filter - 1"),
        ("input", "filter - 1"),
        ("output", "filter - 1"),
    ] {
        let _ = writeln!(s, "  chain {hook} {{");
        let _ = writeln!(
            s,
            "    type filter hook {hook} priority {prio}; policy accept;"
        );
        if hook != "output" {
            let _ = writeln!(s, "    {fam} saddr {dev} jump from_device");
        }
        if hook != "input" {
            let _ = writeln!(s, "    {fam} daddr {dev} jump to_device");
        }
        let _ = writeln!(s, "  }}");
    }
    let _ = writeln!(s, "}}");
    RuleSet {
        table,
        script: s,
        sets,
        notes,
    }
}

/// The `nft -f` script that replaces the elements of every set (one transaction; the table
/// and its counters stay).
pub fn refresh_script(
    rs: &RuleSet,
    resolved: &BTreeMap<String, Vec<IpAddr>>,
    timeout: u32,
) -> String {
    let mut s = String::new();
    for ns in &rs.sets {
        let _ = writeln!(s, "flush set inet {} {}", rs.table, ns.set);
        if let Some(e) = resolved
            .get(&ns.name)
            .and_then(|a| elements(a, ns.v4, timeout))
        {
            let _ = writeln!(s, "add element inet {} {} {e}", rs.table, ns.set);
        }
    }
    s
}
