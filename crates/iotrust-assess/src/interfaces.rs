//! The `[[interface]]` table of a version 2 profile: one row per way into or out of the
//! product (network services and clients, radios, physical and debug ports), in the shape of
//! the ETSI TS 103 701 IXIT that test labs already fill. The facts the catalog's checks read
//! about interfaces (`derived: interfaces` in facts.yaml) are computed here from the rows, so a
//! maker describes what the product has, and the catalog judges it.
//!
//! States: a row's `default_state` says whether it is reachable in the factory default state
//! (`enabled`, `setup-only` until setup completes) or not (`disabled`); `user_can_enable` marks
//! an option a user may switch on later. The derived facts describe the factory default state,
//! which is what ETSI EN 303 645 5.5/5.6 and CRA Annex I Part I (2)(b), (j) judge; options a
//! user may enable are not counted (switching one on is the user's choice, not the default).
//!
//! Schemes that judge the state *after* setup (UK PSTI Sch 1 para 1 and ETSI EN 303 645 5.1-1,
//! "in any state other than the factory default") read the password facts of that state
//! (`auth.password_model`), not these rows: see docs/profile.md, "States".

use iotrust_catalog::expr::{FactId, FactValue};
use iotrust_catalog::model::Strength;
use iotrust_catalog::Catalog;

use crate::profile::{Ctx, Facts, InputError};
use crate::tree::{Located, Node};

/// The columns of a row and their allowed values (`None`: free text or a number).
pub const COLUMNS: &[(&str, Option<&[&str]>, &str)] = &[
    ("name", None, "what the maker calls it (\"local web admin\", \"BLE pairing\")"),
    (
        "kind",
        Some(&["network-service", "network-client", "radio", "physical", "debug"]),
        "network service (listens), network client (connects out), radio, physical port, debug port",
    ),
    ("protocol", None, "http, https, mqtt, telnet, ssh, rtsp, upnp, ble, zigbee, uart, jtag, usb …"),
    ("port", None, "TCP or UDP port, for network services"),
    (
        "transport",
        Some(&["plain", "tls1.0", "tls1.1", "tls1.2", "tls1.3", "dtls", "ssh", "ble-secure", "link-encrypted", "physical"]),
        "what protects the traffic",
    ),
    (
        "authentication",
        Some(&[
            "none",
            "password",
            "password-basic",
            "password-digest-md5",
            "password-digest-sha256",
            "certificate",
            "token",
            "pairing-code",
            "just-works-pairing",
            "pre-shared-key",
            "physical-presence",
        ]),
        "how a peer proves who it is",
    ),
    (
        "default_state",
        Some(&["enabled", "disabled", "setup-only"]),
        "in the factory default state: on, off, or on only until setup completes",
    ),
    ("user_can_enable", None, "true when a user may switch it on later (an option)"),
    (
        "reach",
        Some(&["LAN", "WAN", "cloud", "local"]),
        "who can reach it: the local network, the internet, through the maker's cloud, physical access",
    ),
    (
        "purpose",
        Some(&["management", "data", "update", "setup", "discovery", "debug", "unused"]),
        "what it is for (`unused`: present in the hardware or software but not used by the product's function, such as a radio mode the product never uses)",
    ),
    ("source", None, "where the row comes from (a document and section, a test report)"),
    (
        "strength",
        Some(&["declared", "documented", "tested", "lab-tested"]),
        "how strongly the row is established (default: declared)",
    ),
];

/// One row of the table.
#[derive(Clone, Debug, Default)]
pub struct Interface {
    pub name: String,
    pub kind: String,
    pub protocol: Option<String>,
    pub port: Option<i64>,
    pub transport: Option<String>,
    pub authentication: Option<String>,
    pub default_state: Option<String>,
    pub user_can_enable: Option<bool>,
    pub reach: Vec<String>,
    pub purpose: Option<String>,
    pub source: Option<String>,
    pub strength: Strength,
    pub line: usize,
}

impl Interface {
    /// Reachable in the factory default state.
    fn on_by_default(&self) -> Option<bool> {
        self.default_state
            .as_deref()
            .map(|s| matches!(s, "enabled" | "setup-only"))
    }
    /// Off as shipped, and a user may switch it on later.
    fn is_option(&self) -> bool {
        self.default_state.as_deref() == Some("disabled") && self.user_can_enable == Some(true)
    }
    fn networked(&self) -> bool {
        self.kind == "network-service" || self.kind == "network-client"
    }
    fn plain(&self) -> Option<bool> {
        self.transport.as_deref().map(|t| t == "plain")
    }
    fn password_based(&self) -> bool {
        self.authentication
            .as_deref()
            .is_some_and(|a| a.starts_with("password"))
    }
}

/// Read the `[[interface]]` array of tables.
pub(crate) fn parse(ctx: &Ctx<'_>, v: &Located) -> Result<Vec<Interface>, InputError> {
    let Node::Array(items) = &v.node else {
        return Err(ctx.err(
            v.line,
            Some("interface"),
            "expected an array of tables ([[interface]])",
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let base = format!("interface[{i}]");
        let Node::Table(t) = &it.node else {
            return Err(ctx.err(it.line, Some(&base), "expected a table"));
        };
        let mut row = Interface {
            line: it.line,
            ..Interface::default()
        };
        for (k, x) in t {
            let field = format!("{base}.{k}");
            let Some((_, allowed, _)) = COLUMNS.iter().find(|(c, _, _)| c == k) else {
                let names: Vec<&str> = COLUMNS.iter().map(|(c, _, _)| *c).collect();
                return Err(ctx.err(
                    x.line,
                    Some(&field),
                    format!("unknown column (an interface has {})", names.join(", ")),
                ));
            };
            let text = |x: &Located| -> Result<String, InputError> {
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
                        Ok(s.clone())
                    }
                    n => Err(ctx.err(
                        x.line,
                        Some(&field),
                        format!("expected a string, found {}", n.type_name()),
                    )),
                }
            };
            match k.as_str() {
                "name" => row.name = text(x)?,
                "kind" => row.kind = text(x)?,
                "protocol" => row.protocol = Some(text(x)?),
                "transport" => row.transport = Some(text(x)?),
                "authentication" => row.authentication = Some(text(x)?),
                "default_state" => row.default_state = Some(text(x)?),
                "purpose" => row.purpose = Some(text(x)?),
                "source" => row.source = Some(text(x)?),
                "strength" => {
                    row.strength = match text(x)?.as_str() {
                        "documented" => Strength::Documented,
                        "tested" => Strength::Tested,
                        "lab-tested" => Strength::LabTested,
                        _ => Strength::Declared,
                    }
                }
                "port" => match &x.node {
                    Node::Int(p) if (1..=65535).contains(p) => row.port = Some(*p),
                    _ => {
                        return Err(ctx.err(x.line, Some(&field), "expected a port number 1-65535"))
                    }
                },
                "user_can_enable" => match &x.node {
                    Node::Bool(b) => row.user_can_enable = Some(*b),
                    n => {
                        return Err(ctx.err(
                            x.line,
                            Some(&field),
                            format!("expected true or false, found {}", n.type_name()),
                        ))
                    }
                },
                _ => {
                    // reach: a string or a list of strings
                    let items: Vec<&Located> = match &x.node {
                        Node::Array(a) => a.iter().collect(),
                        _ => vec![x],
                    };
                    for r in items {
                        row.reach.push(text(r)?);
                    }
                }
            }
        }
        for (col, val) in [("name", row.name.is_empty()), ("kind", row.kind.is_empty())] {
            if val {
                return Err(ctx.err(
                    it.line,
                    Some(&format!("{base}.{col}")),
                    format!("an interface needs `{col}`"),
                ));
            }
        }
        if row.kind == "network-service" && row.port.is_none() {
            return Err(ctx.err(
                it.line,
                Some(&format!("{base}.port")),
                "a network service needs `port`",
            ));
        }
        out.push(row);
    }
    Ok(out)
}

/// Three-valued "some row": true as soon as one row decides true, false only when every row
/// decides false, undecided otherwise (a row missing a column does not hide another's answer).
fn any<'a>(
    rows: impl Iterator<Item = &'a Interface>,
    f: impl Fn(&Interface) -> Option<bool>,
) -> Option<FactValue> {
    let mut undecided = false;
    for r in rows {
        match f(r) {
            Some(true) => return Some(FactValue::Bool(true)),
            Some(false) => {}
            None => undecided = true,
        }
    }
    (!undecided).then_some(FactValue::Bool(false))
}

/// A function a peer reaches without authenticating (discovery is not a function a peer
/// uses); undecided without the columns.
fn open_function(r: &Interface) -> Option<bool> {
    match (r.authentication.as_deref(), r.purpose.as_deref()) {
        (Some("none"), Some("discovery")) => Some(false),
        (Some("none"), Some(_)) => Some(true),
        (Some("none"), None) | (None, _) => None,
        (Some(_), _) => Some(false),
    }
}

/// A management interface that asks for no authentication; undecided without the columns.
fn open_management(r: &Interface) -> Option<bool> {
    match r.purpose.as_deref() {
        Some("management") => r.authentication.as_deref().map(|a| a == "none"),
        Some(_) => Some(false),
        None => None,
    }
}

/// Three-valued "no row": the negation of [`any`].
fn none_of<'a>(
    rows: impl Iterator<Item = &'a Interface>,
    f: impl Fn(&Interface) -> Option<bool>,
) -> Option<FactValue> {
    match any(rows, f) {
        Some(FactValue::Bool(b)) => Some(FactValue::Bool(!b)),
        _ => None,
    }
}

/// A derived fact's value from the rows; `None` when the rows leave it undecided (a column
/// it needs is missing in some row).
fn derive(fact: &str, rows: &[Interface]) -> Option<FactValue> {
    // Each rule decides from the rows reachable in the factory default state; a row whose
    // state is not given counts as reachable (it exists), but a rule that needs a missing
    // column is undecided rather than guessed.
    let live = |r: &&Interface| r.on_by_default() != Some(false);
    let names = |f: &dyn Fn(&Interface) -> Option<bool>| -> Option<FactValue> {
        let mut out = Vec::new();
        for r in rows.iter().filter(live) {
            if f(r)? {
                out.push(r.name.clone());
            }
        }
        Some(FactValue::List(out))
    };
    match fact {
        "comms.cleartext_management" => any(
            rows.iter().filter(live).filter(|r| r.networked()),
            |r| match r.purpose.as_deref() {
                Some("management") => r.plain(),
                Some(_) => Some(false),
                None => None,
            },
        ),
        "comms.plain_interfaces" => names(&|r| {
            if !r.networked() || r.purpose.as_deref() == Some("discovery") {
                return Some(false);
            }
            r.plain()
        }),
        "surface.debug_interfaces" => Some(FactValue::Bool(rows.iter().any(|r| r.kind == "debug"))),
        "surface.debug_protected" => {
            let debug: Vec<&Interface> = rows.iter().filter(|r| r.kind == "debug").collect();
            if debug.is_empty() {
                return None;
            }
            // protected unless some debug port is reachable without authentication
            none_of(debug.into_iter(), |r| {
                let authed = r.authentication.as_deref().map(|a| a != "none");
                match (r.on_by_default(), authed) {
                    (Some(false), _) | (_, Some(true)) => Some(false),
                    (Some(true), Some(false)) => Some(true),
                    _ => None,
                }
            })
        }
        "surface.open_tcp_ports" => {
            let mut ports: Vec<i64> = rows
                .iter()
                .filter(live)
                .filter(|r| r.kind == "network-service")
                .filter_map(|r| r.port)
                .collect();
            ports.sort_unstable();
            ports.dedup();
            Some(FactValue::IntList(ports))
        }
        "surface.anonymous_services" => names(&|r| {
            if r.kind != "network-service" || r.purpose.as_deref() == Some("discovery") {
                return Some(false);
            }
            Some(r.authentication.as_deref()? == "none")
        }),
        // Security-relevant configuration over a network or radio interface: a management row
        // reachable in the factory default state.
        "comms.remote_configuration" => any(
            rows.iter()
                .filter(live)
                .filter(|r| r.networked() || r.kind == "radio"),
            |r| r.purpose.as_deref().map(|p| p == "management"),
        ),
        // ... and each such row asks the peer to authenticate.
        "comms.authenticated_remote_config" => none_of(
            rows.iter()
                .filter(live)
                .filter(|r| r.networked() || r.kind == "radio"),
            open_management,
        ),
        "auth.network_authentication" => any(
            rows.iter().filter(|r| r.networked() || r.kind == "radio"),
            |r| r.authentication.as_deref().map(|a| a != "none"),
        ),
        "auth.cleartext_password_interfaces" => names(&|r| {
            if !r.password_based() {
                return Some(false);
            }
            r.plain()
        }),
        "auth.weak_verifier_interfaces" => names(&|r| {
            Some(match r.authentication.as_deref() {
                Some("password-digest-md5" | "just-works-pairing") => true,
                Some("password-basic") => r.plain()?,
                _ => false,
            })
        }),
        // ETSI EN 303 645 5.6-1: an interface the product has but does not use (purpose
        // `unused`), in any state.
        "surface.has_unused_interfaces" => {
            any(rows.iter(), |r| r.purpose.as_deref().map(|p| p == "unused"))
        }
        // ... and each such row is disabled in the factory default state (vacuously true when
        // there are none: the outcome is then not applicable).
        "surface.unused_interfaces_disabled" => none_of(
            rows.iter()
                .filter(|r| r.purpose.as_deref() == Some("unused")),
            |r| r.on_by_default(),
        ),
        // ETSI EN 303 645 5.5-4: every function reachable over the network or a radio in the
        // factory default state asks the peer to authenticate; discovery (mDNS, SSDP answers)
        // is not a function a peer uses. Clients that only connect out offer nothing.
        "comms.network_functions_need_auth" => none_of(
            rows.iter()
                .filter(live)
                .filter(|r| r.kind == "network-service" || r.kind == "radio"),
            open_function,
        ),
        // Options: rows off as shipped that a user may switch on (`user_can_enable = true`; a
        // row without the column is not an option). They are judged apart from the factory
        // default state, because schemes differ: ETSI EN 303 645 5.5-4 speaks of the
        // initialized state (an option the user switched on is part of it) and 5.5-5 of any
        // security-relevant change over a network interface, while CRA Annex I Part I (2)(b)
        // judges the configuration as shipped.
        "surface.user_options" => Some(FactValue::List(
            rows.iter()
                .filter(|r| r.is_option())
                .map(|r| r.name.clone())
                .collect(),
        )),
        // ... every option reachable over the network or a radio authenticates its peer,
        // discovery aside (vacuously true when there is none) ...
        "comms.optional_functions_need_auth" => none_of(
            rows.iter()
                .filter(|r| r.is_option())
                .filter(|r| r.kind == "network-service" || r.kind == "radio"),
            open_function,
        ),
        // ... and every management option does, whatever its kind.
        "comms.optional_config_authenticated" => none_of(
            rows.iter()
                .filter(|r| r.is_option())
                .filter(|r| r.networked() || r.kind == "radio"),
            open_management,
        ),
        // ETSI EN 303 645 5.6-5: a network service reachable in the factory default state
        // that the product does not use, or a debug service left on in production, is not
        // needed for the intended use. Whether every open port is one a declared conversation
        // needs is the catalog's check (minimal-services reads [[communication]] too).
        "surface.only_needed_services" => none_of(
            rows.iter()
                .filter(live)
                .filter(|r| r.kind == "network-service"),
            |r| r.purpose.as_deref().map(|p| p == "unused" || p == "debug"),
        ),
        _ => None,
    }
}

/// The table as the derivation sees it.
fn table<'a>(rows: &[Interface], sources: Vec<&'a str>, line: usize) -> crate::derived::Table<'a> {
    crate::derived::Table {
        kind: iotrust_catalog::model::Derived::Interfaces,
        name: "interface",
        describes: "interfaces",
        line,
        rows: rows.len(),
        strength: rows
            .iter()
            .map(|r| r.strength)
            .min()
            .unwrap_or(Strength::Declared),
        sources,
        also: None,
    }
}

/// Set every `derived: interfaces` fact from the rows (see [`crate::derived`]).
pub(crate) fn apply(
    cat: &Catalog,
    ctx: &Ctx<'_>,
    rows: &[Interface],
    line: usize,
    facts: &mut Facts,
    stated: &[(FactId, usize)],
) -> Result<(), InputError> {
    let sources = rows.iter().filter_map(|r| r.source.as_deref()).collect();
    let t = table(rows, sources, line);
    crate::derived::apply(cat, ctx, &t, facts, stated, |f| derive(f, rows))
}

/// Derive every `derived: interfaces` fact again from `rows`, the profile's table with the
/// services found in `files` merged in ([`crate::observed`]): the values replace the
/// profile's, and a fact the merged rows leave undecided becomes unknown.
pub(crate) fn rederive(
    cat: &Catalog,
    profile: &crate::profile::Profile,
    rows: &[Interface],
    files: &[&str],
    facts: &mut Facts,
) {
    let ctx = Ctx {
        file: &profile.source,
        line_offset: 0,
    };
    let sources = profile
        .interfaces
        .iter()
        .filter_map(|r| r.source.as_deref())
        .collect();
    let mut t = table(rows, sources, profile.interface_line);
    t.also = Some(format!("with the services found in {}", files.join(", ")));
    crate::derived::set_all(cat, &ctx, &t, facts, |f| derive(f, rows));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, auth: &str, state: &str, purpose: &str) -> Interface {
        Interface {
            name: format!("{kind} {purpose}"),
            kind: kind.into(),
            port: (kind == "network-service").then_some(80),
            transport: Some("plain".into()),
            authentication: Some(auth.into()),
            default_state: Some(state.into()),
            purpose: Some(purpose.into()),
            ..Interface::default()
        }
    }

    /// Remote configuration: a management row reachable by default, over the network or a
    /// radio; authenticated only when every such row authenticates; a row without purpose
    /// leaves both undecided.
    #[test]
    fn remote_configuration_follows_the_management_rows() {
        let d = |rows: &[Interface], f: &str| derive(f, rows);
        let mut ble = row("radio", "none", "enabled", "management");
        ble.port = None;
        let web = row(
            "network-service",
            "password-digest-sha256",
            "enabled",
            "management",
        );
        let data = row("network-client", "certificate", "enabled", "data");
        let rows = vec![web.clone(), data.clone()];
        assert_eq!(
            d(&rows, "comms.remote_configuration"),
            Some(FactValue::Bool(true))
        );
        assert_eq!(
            d(&rows, "comms.authenticated_remote_config"),
            Some(FactValue::Bool(true))
        );
        let rows = vec![web.clone(), ble.clone()];
        assert_eq!(
            d(&rows, "comms.authenticated_remote_config"),
            Some(FactValue::Bool(false))
        );
        let mut off = ble.clone();
        off.default_state = Some("disabled".into());
        let rows = vec![data.clone(), off];
        assert_eq!(
            d(&rows, "comms.remote_configuration"),
            Some(FactValue::Bool(false))
        );
        let mut vague = data;
        vague.purpose = None;
        let rows = vec![web, vague];
        assert_eq!(
            d(&rows, "comms.remote_configuration"),
            Some(FactValue::Bool(true))
        );
        assert_eq!(d(&rows, "comms.authenticated_remote_config"), None);
    }

    /// Unused interfaces (ETSI 5.6-1), unauthenticated network functions (5.5-4) and needed
    /// services (5.6-5) follow the rows in the factory default state; a row that leaves out a
    /// column a rule needs leaves it undecided unless another row settles it.
    #[test]
    fn unused_open_and_needless_rows_decide_their_facts() {
        let d = |rows: &[Interface], f: &str| derive(f, rows);
        let b = |v: bool| Some(FactValue::Bool(v));
        let mut zigbee = row("radio", "none", "disabled", "unused");
        zigbee.port = None;
        let admin = row("network-service", "password", "enabled", "management");
        let mdns = row("network-service", "none", "enabled", "discovery");
        let rows = vec![admin.clone(), mdns.clone(), zigbee.clone()];
        assert_eq!(d(&rows, "surface.has_unused_interfaces"), b(true));
        assert_eq!(d(&rows, "surface.unused_interfaces_disabled"), b(true));
        assert_eq!(d(&rows, "comms.network_functions_need_auth"), b(true));
        assert_eq!(d(&rows, "surface.only_needed_services"), b(true));
        let mut on = zigbee.clone();
        on.default_state = Some("enabled".into());
        let rows = vec![admin.clone(), on];
        assert_eq!(d(&rows, "surface.unused_interfaces_disabled"), b(false));
        // an open radio function on by default
        assert_eq!(d(&rows, "comms.network_functions_need_auth"), b(false));
        // a debug service on by default is not needed; off by default it does not count
        let shell = row("network-service", "none", "enabled", "debug");
        assert_eq!(
            d(
                &[admin.clone(), shell.clone()],
                "surface.only_needed_services"
            ),
            b(false)
        );
        let mut shell_off = shell;
        shell_off.default_state = Some("disabled".into());
        assert_eq!(
            d(&[admin.clone(), shell_off], "surface.only_needed_services"),
            b(true)
        );
        // no purpose on an unauthenticated service: undecided, not guessed
        let mut vague = mdns;
        vague.purpose = None;
        assert_eq!(
            d(
                &[admin.clone(), vague.clone()],
                "comms.network_functions_need_auth"
            ),
            None
        );
        assert_eq!(d(&[admin, vague], "surface.has_unused_interfaces"), None);
    }

    /// A fact marked `derived: interfaces` in facts.yaml without a rule here would silently
    /// stay unknown for every profile.
    #[test]
    fn every_derived_fact_has_a_rule() {
        let Ok(cat) = Catalog::embedded() else {
            panic!("embedded catalog")
        };
        let rows = [
            row("network-service", "password-basic", "enabled", "management"),
            row("network-client", "certificate", "enabled", "data"),
            row("debug", "none", "disabled", "debug"),
        ];
        let derived: Vec<&str> = cat
            .facts
            .iter()
            .filter(|f| f.derived == Some(iotrust_catalog::model::Derived::Interfaces))
            .map(|f| f.id.as_str())
            .collect();
        assert!(derived.len() >= 9, "{derived:?}");
        for id in derived {
            assert!(derive(id, &rows).is_some(), "no rule derives `{id}`");
        }
    }

    #[test]
    fn one_undecided_row_does_not_hide_another_rows_answer() {
        let mut unknown = row("network-service", "none", "enabled", "management");
        unknown.purpose = None;
        let plain_admin = row("network-service", "password", "enabled", "management");
        assert_eq!(
            derive(
                "comms.cleartext_management",
                &[unknown.clone(), plain_admin]
            ),
            Some(FactValue::Bool(true))
        );
        let mut tls = row("network-service", "password", "enabled", "data");
        tls.transport = Some("tls1.3".into());
        assert_eq!(derive("comms.cleartext_management", &[unknown, tls]), None);
    }
}
