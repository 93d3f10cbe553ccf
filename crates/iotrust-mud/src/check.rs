//! Reading and checking a MUD file (RFC 8520 `ietf-mud`, RFC 8519 `ietf-access-control-list`,
//! `ietf-acldns`), JSON-encoded per RFC 7951.
//!
//! The file is walked as a `serde_json::Value` by hand rather than derived with serde: a
//! derive stops at the first problem and cannot say where in the tree it was, while a data
//! author needs every problem with its JSON path. No maintained Rust crate validates YANG
//! instance data, so the rules of the three modules that a MUD manager acts on are written
//! here, each with the path of the member that breaks it.

use std::collections::BTreeSet;
use std::fmt;

use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::model::*;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem, at a JSON path (`/ietf-access-control-list:acls/acl/0/aces/ace/3/matches/tcp`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// JSON Pointer (RFC 6901) of the member; empty for the whole document.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{sev} at {path}: {}", self.message)
    }
}

/// The file is not a valid MUD file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", summary(self))]
pub struct CheckFailed {
    /// Every problem found, errors and warnings, in document order.
    pub diagnostics: Vec<Diagnostic>,
    /// The file uses the leaf names of the drafts before RFC 8519/8520
    /// (`access-list-entries`, `rule-name`, `acl-type`, `ipv6-acl`, ...).
    pub pre_rfc_draft: bool,
}

impl CheckFailed {
    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

fn summary(e: &CheckFailed) -> String {
    let n = e.errors().count();
    let mut s = if e.pre_rfc_draft {
        format!("not an RFC 8520 MUD file: pre-RFC draft syntax ({n} errors)")
    } else {
        format!("invalid MUD file ({n} errors)")
    };
    if let Some(first) = e.errors().next() {
        s.push_str(&format!("; first: {first}"));
    }
    s
}

/// Draft-era leaf names and what RFC 8519/8520 call them.
const DRAFT_NAMES: &[(&str, &str)] = &[
    ("acl-type", "`type`"),
    ("access-list-entries", "`aces`"),
    ("rule-name", "`name`"),
    ("ipv4-acl", "`ipv4`"),
    ("ipv6-acl", "`ipv6`"),
    (
        "source-port-range-or-operator",
        "`source-port` inside `tcp` or `udp`",
    ),
    (
        "destination-port-range-or-operator",
        "`destination-port` inside `tcp` or `udp`",
    ),
    ("access-list-name", "`name`"),
];

const MUD: &str = "ietf-mud:mud";
const ACLS: &str = "ietf-access-control-list:acls";
const ACLS_ALIAS: &str = "ietf-access-control-list:access-lists";

struct Cx {
    diags: Vec<Diagnostic>,
    pre_rfc: bool,
}

impl Cx {
    fn err(&mut self, path: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Error,
            path: path.to_string(),
            message: msg.into(),
        });
    }
    fn warn(&mut self, path: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Warning,
            path: path.to_string(),
            message: msg.into(),
        });
    }

    /// Report members not in `known`: draft names, foreign-module members (warned and
    /// ignored) and unknown plain names (errors: ignoring a match condition would widen
    /// what an entry allows).
    fn unknown(&mut self, obj: &Map<String, Value>, path: &str, known: &[&str]) {
        for key in obj.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let p = join(path, key);
            if let Some((_, rfc)) = DRAFT_NAMES.iter().find(|(d, _)| d == key) {
                self.pre_rfc = true;
                self.err(
                    &p,
                    format!("pre-RFC draft syntax: `{key}` is {rfc} in RFC 8519/8520"),
                );
            } else if key.contains(':') {
                self.warn(
                    &p,
                    format!("member `{key}` of a module this checker does not know; ignored"),
                );
            } else {
                self.err(&p, format!("unknown member `{key}`"));
            }
        }
    }
}

/// JSON Pointer join (RFC 6901 escaping).
fn join(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn object<'v>(cx: &mut Cx, v: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        other => {
            cx.err(path, format!("expected an object, found {}", kind(other)));
            None
        }
    }
}

fn array<'v>(cx: &mut Cx, v: &'v Value, path: &str) -> Option<&'v Vec<Value>> {
    match v {
        Value::Array(a) => Some(a),
        other => {
            cx.err(
                path,
                format!("expected an array (a YANG list), found {}", kind(other)),
            );
            None
        }
    }
}

fn string(cx: &mut Cx, obj: &Map<String, Value>, path: &str, key: &str) -> Option<String> {
    let v = obj.get(key)?;
    match v {
        Value::String(s) => Some(s.clone()),
        other => {
            cx.err(
                &join(path, key),
                format!("expected a string, found {}", kind(other)),
            );
            None
        }
    }
}

fn required_string(cx: &mut Cx, obj: &Map<String, Value>, path: &str, key: &str) -> String {
    if !obj.contains_key(key) {
        cx.err(path, format!("missing required `{key}`"));
        return String::new();
    }
    string(cx, obj, path, key).unwrap_or_default()
}

/// An unsigned integer leaf (RFC 7951: uint8/16/32 are JSON numbers) within `lo..=hi`.
fn uint(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
    lo: u64,
    hi: u64,
) -> Option<u64> {
    let v = obj.get(key)?;
    let p = join(path, key);
    match v.as_u64() {
        Some(n) if (lo..=hi).contains(&n) => Some(n),
        Some(n) => {
            cx.err(&p, format!("{n} is out of range {lo}..{hi}"));
            None
        }
        None => {
            cx.err(
                &p,
                format!("expected an integer {lo}..{hi}, found {}", kind(v)),
            );
            None
        }
    }
}

/// A YANG `empty` leaf: `[null]` in RFC 7951.
fn empty_leaf(cx: &mut Cx, obj: &Map<String, Value>, path: &str, key: &str) -> bool {
    let Some(v) = obj.get(key) else {
        return false;
    };
    match v {
        Value::Array(a) if a.len() == 1 && a[0].is_null() => true,
        other => {
            cx.err(
                &join(path, key),
                format!(
                    "expected `[null]` (a YANG empty leaf, RFC 7951 section 6.9), found {}",
                    kind(other)
                ),
            );
            true
        }
    }
}

fn check_uri(cx: &mut Cx, path: &str, s: &str, what: &str) {
    let Some((scheme, rest)) = s.split_once(':') else {
        cx.err(path, format!("{what} `{s}` is not a URI (no scheme)"));
        return;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok || rest.is_empty() || s.chars().any(char::is_whitespace) {
        cx.err(path, format!("{what} `{s}` is not a URI"));
    }
}

/// The authority (host) of an `https://` URL, lowercased.
pub fn url_authority(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn check_host(cx: &mut Cx, path: &str, s: &str) {
    let ok = !s.is_empty()
        && s.len() <= 253
        && (s.parse::<std::net::IpAddr>().is_ok()
            || s.trim_end_matches('.').split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            }));
    if !ok {
        cx.err(path, format!("`{s}` is not a host name (inet:host)"));
    }
}

/// Parse and check a MUD file.
pub fn parse(bytes: &[u8]) -> Result<(MudFile, Vec<Diagnostic>), CheckFailed> {
    let mut cx = Cx {
        diags: Vec::new(),
        pre_rfc: false,
    };
    let root: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            cx.err(
                "",
                format!("not JSON: {e} (line {}, column {})", e.line(), e.column()),
            );
            return Err(CheckFailed {
                diagnostics: cx.diags,
                pre_rfc_draft: false,
            });
        }
    };
    let file = document(&mut cx, &root);
    if cx.diags.iter().any(|d| d.severity == Severity::Error) {
        return Err(CheckFailed {
            diagnostics: cx.diags,
            pre_rfc_draft: cx.pre_rfc,
        });
    }
    match file {
        Some(f) => Ok((f, cx.diags)),
        None => {
            cx.err("", "not a MUD file");
            Err(CheckFailed {
                diagnostics: cx.diags,
                pre_rfc_draft: cx.pre_rfc,
            })
        }
    }
}

fn document(cx: &mut Cx, root: &Value) -> Option<MudFile> {
    let top = object(cx, root, "")?;
    for key in top.keys() {
        if key != MUD && key != ACLS && key != ACLS_ALIAS {
            if key.contains(':') {
                cx.warn(
                    &join("", key),
                    format!(
                        "top-level member `{key}` of a module this checker does not know; ignored"
                    ),
                );
            } else {
                cx.err(
                    &join("", key),
                    format!(
                        "top-level member `{key}` is not module-qualified (RFC 7951 section 4)"
                    ),
                );
            }
        }
    }
    let Some(mud_v) = top.get(MUD) else {
        cx.err("", format!("missing `{MUD}` container"));
        return None;
    };
    let mud_path = join("", MUD);
    let mut file = mud_container(cx, mud_v, &mud_path)?;

    let (acls_key, acls_v) = match (top.get(ACLS), top.get(ACLS_ALIAS)) {
        (Some(v), None) => (ACLS, Some(v)),
        (None, Some(v)) => (ACLS_ALIAS, Some(v)),
        (Some(v), Some(_)) => {
            cx.err(
                &join("", ACLS_ALIAS),
                format!("both `{ACLS}` and `{ACLS_ALIAS}` are present"),
            );
            (ACLS, Some(v))
        }
        (None, None) => (ACLS, None),
    };
    let acls_path = join("", acls_key);
    if let Some(v) = acls_v {
        file.acls = acls_container(cx, v, &acls_path);
        if acls_key == ACLS_ALIAS {
            file.access_lists_alias = true;
            if !cx.pre_rfc {
                cx.warn(
                    &acls_path,
                    format!("`{ACLS_ALIAS}` is the draft name of `{ACLS}` (as MUDgee writes it); read as `{ACLS}`"),
                );
            }
        }
    } else if !file.from_device_policy.is_empty() || !file.to_device_policy.is_empty() {
        cx.err("", format!("missing `{ACLS}`, which the policies refer to"));
    }

    // References: every policy names a defined ACL; unused ACLs are reported.
    let defined: BTreeSet<&str> = file.acls.iter().map(|a| a.name.as_str()).collect();
    for (dir, names) in [
        ("from-device-policy", &file.from_device_policy),
        ("to-device-policy", &file.to_device_policy),
    ] {
        for (i, name) in names.iter().enumerate() {
            if !defined.contains(name.as_str()) && !cx.pre_rfc {
                cx.err(
                    &format!("{mud_path}/{dir}/access-lists/access-list/{i}/name"),
                    format!("names ACL `{name}`, which `{acls_key}` does not define"),
                );
            }
        }
    }
    for (i, acl) in file.acls.iter().enumerate() {
        let used = file.from_device_policy.contains(&acl.name)
            || file.to_device_policy.contains(&acl.name);
        if !used {
            cx.warn(
                &format!("{acls_path}/acl/{i}"),
                format!("ACL `{}` is not named by either policy", acl.name),
            );
        }
    }
    // A policy's ACLs should not give dnsnames for the wrong side.
    for (i, acl) in file.acls.iter().enumerate() {
        let from = file.from_device_policy.contains(&acl.name);
        let to = file.to_device_policy.contains(&acl.name);
        for (j, ace) in acl.aces.iter().enumerate() {
            if let Some(l3) = &ace.matches.l3 {
                let p = format!("{acls_path}/acl/{i}/aces/ace/{j}/matches");
                if from && !to && l3.src_dnsname.is_some() {
                    cx.warn(
                        &p,
                        "a from-device ACL matches on `src-dnsname`, the device's own name",
                    );
                }
                if to && !from && l3.dst_dnsname.is_some() {
                    cx.warn(
                        &p,
                        "a to-device ACL matches on `dst-dnsname`, the device's own name",
                    );
                }
            }
        }
    }
    Some(file)
}

fn mud_container(cx: &mut Cx, v: &Value, path: &str) -> Option<MudFile> {
    let m = object(cx, v, path)?;
    cx.unknown(
        m,
        path,
        &[
            "mud-version",
            "mud-url",
            "last-update",
            "mud-signature",
            "cache-validity",
            "is-supported",
            "systeminfo",
            "mfg-name",
            "model-name",
            "firmware-rev",
            "software-rev",
            "documentation",
            "extensions",
            "from-device-policy",
            "to-device-policy",
        ],
    );
    let mud_version = if m.contains_key("mud-version") {
        match uint(cx, m, path, "mud-version", 0, 255) {
            Some(1) => 1,
            Some(n) => {
                cx.err(
                    &join(path, "mud-version"),
                    format!("mud-version {n} is not 1 (RFC 8520)"),
                );
                n as u8
            }
            None => 0,
        }
    } else {
        cx.err(path, "missing required `mud-version`");
        0
    };
    let url = required_string(cx, m, path, "mud-url");
    if m.contains_key("mud-url") && !url.is_empty() {
        let p = join(path, "mud-url");
        check_uri(cx, &p, &url, "mud-url");
        if !url.starts_with("https://") {
            cx.err(
                &p,
                format!("mud-url `{url}` must use the https scheme (RFC 8520 section 3.3)"),
            );
        } else if url_authority(&url).is_none() {
            cx.err(&p, format!("mud-url `{url}` has no host"));
        }
    }
    let last_update = required_string(cx, m, path, "last-update");
    if m.contains_key("last-update") && !last_update.is_empty() {
        if let Err(e) = last_update.parse::<jiff::Timestamp>() {
            cx.err(
                &join(path, "last-update"),
                format!("`{last_update}` is not a yang:date-and-time (RFC 3339): {e}"),
            );
        }
    }
    if let Some(sig) = string(cx, m, path, "mud-signature") {
        check_uri(cx, &join(path, "mud-signature"), &sig, "mud-signature");
    }
    let cache_validity = if m.contains_key("cache-validity") {
        uint(cx, m, path, "cache-validity", 1, 168).unwrap_or(48) as u8
    } else {
        48
    };
    let is_supported = match m.get("is-supported") {
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            cx.err(
                &join(path, "is-supported"),
                format!("expected a boolean, found {}", kind(other)),
            );
            false
        }
        None => {
            cx.err(path, "missing required `is-supported`");
            false
        }
    };
    let systeminfo = string(cx, m, path, "systeminfo");
    if let Some(s) = &systeminfo {
        let n = s.chars().count();
        if n == 0 || n > 60 {
            cx.warn(
                &join(path, "systeminfo"),
                format!("systeminfo is {n} characters; the YANG allows 1..60"),
            );
        }
    }
    let documentation = string(cx, m, path, "documentation");
    if let Some(d) = &documentation {
        check_uri(cx, &join(path, "documentation"), d, "documentation");
    }
    let mut extensions = Vec::new();
    if let Some(v) = m.get("extensions") {
        let p = join(path, "extensions");
        if let Some(a) = array(cx, v, &p) {
            for (i, e) in a.iter().enumerate() {
                match e.as_str() {
                    Some(s) => extensions.push(s.to_string()),
                    None => cx.err(
                        &format!("{p}/{i}"),
                        format!("expected a string, found {}", kind(e)),
                    ),
                }
            }
        }
    }
    let from_device_policy = policy_names(cx, m, path, "from-device-policy");
    let to_device_policy = policy_names(cx, m, path, "to-device-policy");
    Some(MudFile {
        url,
        mud_version,
        last_update,
        cache_validity,
        is_supported,
        systeminfo,
        mfg_name: string(cx, m, path, "mfg-name"),
        model_name: string(cx, m, path, "model-name"),
        firmware_rev: string(cx, m, path, "firmware-rev"),
        software_rev: string(cx, m, path, "software-rev"),
        documentation,
        extensions,
        from_device_policy,
        to_device_policy,
        acls: Vec::new(),
        access_lists_alias: false,
    })
}

/// `from-device-policy/access-lists/access-list[*]/name`.
fn policy_names(cx: &mut Cx, m: &Map<String, Value>, path: &str, key: &str) -> Vec<String> {
    let mut names = Vec::new();
    let Some(v) = m.get(key) else {
        return names;
    };
    let p = join(path, key);
    let Some(pol) = object(cx, v, &p) else {
        return names;
    };
    cx.unknown(pol, &p, &["access-lists"]);
    let Some(al) = pol.get("access-lists") else {
        return names;
    };
    let p = join(&p, "access-lists");
    let Some(al) = object(cx, al, &p) else {
        return names;
    };
    cx.unknown(al, &p, &["access-list"]);
    let Some(list) = al.get("access-list") else {
        return names;
    };
    let p = join(&p, "access-list");
    let Some(list) = array(cx, list, &p) else {
        return names;
    };
    for (i, e) in list.iter().enumerate() {
        let ep = format!("{p}/{i}");
        if let Some(o) = object(cx, e, &ep) {
            cx.unknown(o, &ep, &["name"]);
            let name = required_string(cx, o, &ep, "name");
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    names
}

fn acls_container(cx: &mut Cx, v: &Value, path: &str) -> Vec<Acl> {
    let mut acls = Vec::new();
    let Some(m) = object(cx, v, path) else {
        return acls;
    };
    cx.unknown(m, path, &["acl", "attachment-points"]);
    let Some(list) = m.get("acl") else {
        cx.err(path, "missing `acl` list");
        return acls;
    };
    let lp = join(path, "acl");
    let Some(list) = array(cx, list, &lp) else {
        return acls;
    };
    let mut seen = BTreeSet::new();
    for (i, a) in list.iter().enumerate() {
        let ap = format!("{lp}/{i}");
        if let Some(acl) = acl(cx, a, &ap) {
            if !seen.insert(acl.name.clone()) {
                cx.err(
                    &join(&ap, "name"),
                    format!("ACL name `{}` is defined twice", acl.name),
                );
            }
            acls.push(acl);
        }
    }
    acls
}

fn acl_type(s: &str) -> Option<AclType> {
    let s = s.rsplit_once(':').map_or(s, |(_, n)| n);
    Some(match s {
        "ipv4-acl-type" => AclType::Ipv4,
        "ipv6-acl-type" => AclType::Ipv6,
        "eth-acl-type" | "ethernet-acl-type" => AclType::Eth,
        "mixed-eth-ipv4-acl-type" => AclType::MixedEthIpv4,
        "mixed-eth-ipv6-acl-type" => AclType::MixedEthIpv6,
        "mixed-eth-ipv4-ipv6-acl-type" => AclType::MixedEthIpv4Ipv6,
        _ => return None,
    })
}

fn acl(cx: &mut Cx, v: &Value, path: &str) -> Option<Acl> {
    let m = object(cx, v, path)?;
    cx.unknown(m, path, &["name", "type", "aces"]);
    let name = required_string(cx, m, path, "name");
    let kind = match string(cx, m, path, "type") {
        Some(t) => {
            let k = acl_type(&t);
            let p = join(path, "type");
            match k {
                None => cx.err(&p, format!("unknown ACL type `{t}`")),
                Some(AclType::Eth) if t.ends_with("ethernet-acl-type") => cx.warn(
                    &p,
                    format!("`{t}` is not an RFC 8519 identity (it is `eth-acl-type`); read as `eth-acl-type`"),
                ),
                Some(_) => {}
            }
            k
        }
        None => None,
    };
    let mut aces = Vec::new();
    // The draft's `access-list-entries` (already reported) is walked like `aces` so that every
    // draft name inside it is reported too.
    let entries = ["aces", "access-list-entries"]
        .into_iter()
        .find_map(|k| m.get(k).map(|v| (k, v)));
    if let Some((key, av)) = entries {
        let ap = join(path, key);
        if let Some(ao) = object(cx, av, &ap) {
            cx.unknown(ao, &ap, &["ace"]);
            if let Some(list) = ao.get("ace") {
                let lp = join(&ap, "ace");
                if let Some(list) = array(cx, list, &lp) {
                    let mut seen = BTreeSet::new();
                    for (i, e) in list.iter().enumerate() {
                        let ep = format!("{lp}/{i}");
                        if let Some(ace) = ace(cx, e, &ep, kind) {
                            if !seen.insert(ace.name.clone()) {
                                cx.err(
                                    &join(&ep, "name"),
                                    format!(
                                        "ACE name `{}` appears twice in ACL `{name}`",
                                        ace.name
                                    ),
                                );
                            }
                            aces.push(ace);
                        }
                    }
                }
            }
        }
    }
    Some(Acl { name, kind, aces })
}

fn ace(cx: &mut Cx, v: &Value, path: &str, acl_kind: Option<AclType>) -> Option<Ace> {
    let m = object(cx, v, path)?;
    cx.unknown(m, path, &["name", "matches", "actions", "statistics"]);
    let name = required_string(cx, m, path, "name");
    let matches = match m.get("matches") {
        Some(mv) => matches(cx, mv, &join(path, "matches"), acl_kind),
        None => Matches::default(),
    };
    let action = match m.get("actions") {
        None => {
            cx.err(path, "missing `actions`");
            Forwarding::Drop
        }
        Some(av) => {
            let ap = join(path, "actions");
            let mut action = Forwarding::Drop;
            if let Some(ao) = object(cx, av, &ap) {
                cx.unknown(ao, &ap, &["forwarding", "logging"]);
                match string(cx, ao, &ap, "forwarding") {
                    None if !ao.contains_key("forwarding") => {
                        cx.err(&ap, "missing required `forwarding`")
                    }
                    None => {}
                    Some(f) => {
                        let short = f.rsplit_once(':').map_or(f.as_str(), |(_, n)| n);
                        action = match short {
                            "accept" => Forwarding::Accept,
                            "drop" => Forwarding::Drop,
                            "reject" => Forwarding::Reject,
                            _ => {
                                cx.err(
                                    &join(&ap, "forwarding"),
                                    format!(
                                        "unknown forwarding action `{f}` (accept, drop or reject)"
                                    ),
                                );
                                Forwarding::Drop
                            }
                        };
                    }
                }
            }
            action
        }
    };
    Some(Ace {
        name,
        matches,
        action,
        path: path.to_string(),
    })
}

fn matches(cx: &mut Cx, v: &Value, path: &str, acl_kind: Option<AclType>) -> Matches {
    let mut out = Matches::default();
    let Some(m) = object(cx, v, path) else {
        return out;
    };
    cx.unknown(
        m,
        path,
        &[
            "eth",
            "ipv4",
            "ipv6",
            "tcp",
            "udp",
            "icmp",
            "egress-interface",
            "ingress-interface",
            MUD,
        ],
    );
    if let Some(mv) = m.get(MUD) {
        out.mud = mud_match(cx, mv, &join(path, MUD));
    }
    if m.contains_key("ipv4") && m.contains_key("ipv6") {
        cx.err(
            path,
            "both `ipv4` and `ipv6` matches: an entry matches one layer-3 header",
        );
    }
    for (key, fam) in [("ipv4", Family::V4), ("ipv6", Family::V6)] {
        if let Some(lv) = m.get(key) {
            let p = join(path, key);
            out.l3 = l3_match(cx, lv, &p, fam);
            let allowed = match fam {
                Family::V4 => matches!(
                    acl_kind,
                    None | Some(AclType::Ipv4 | AclType::MixedEthIpv4 | AclType::MixedEthIpv4Ipv6)
                ),
                Family::V6 => matches!(
                    acl_kind,
                    None | Some(AclType::Ipv6 | AclType::MixedEthIpv6 | AclType::MixedEthIpv4Ipv6)
                ),
            };
            if let (false, Some(k)) = (allowed, acl_kind) {
                cx.err(
                    &p,
                    format!("`{key}` match in an ACL of type `{}`", k.name()),
                );
            }
        }
    }
    let l4: Vec<&str> = ["tcp", "udp", "icmp"]
        .into_iter()
        .filter(|k| m.contains_key(*k))
        .collect();
    if l4.len() > 1 {
        cx.err(
            path,
            format!("more than one layer-4 match ({})", l4.join(", ")),
        );
    }
    if let Some(k) = l4.first() {
        let p = join(path, k);
        if let Some(lv) = m.get(*k) {
            out.l4 = l4_match(cx, lv, &p, k);
        }
        if matches!(acl_kind, Some(AclType::Eth)) {
            cx.err(&p, format!("`{k}` match in an ACL of type `eth-acl-type`"));
        }
    }
    if let (Some(l3), Some(l4)) = (&out.l3, &out.l4) {
        let implied = match (l4, l3.family) {
            (L4Match::Icmp { .. }, Family::V6) => 58,
            (l4, _) => l4.protocol(),
        };
        if let Some(p) = l3.protocol {
            if p != implied {
                cx.err(
                    &join(path, l4_key(l4)),
                    format!(
                        "`{}` match but the layer-3 `protocol` is {p}, not {implied}",
                        l4_key(l4)
                    ),
                );
            }
        }
    }
    if let Some(ev) = m.get("eth") {
        let p = join(path, "eth");
        out.eth = eth_match(cx, ev, &p);
        if let Some(k @ (AclType::Ipv4 | AclType::Ipv6)) = acl_kind {
            cx.warn(
                &p,
                format!(
                    "`eth` match in an ACL of type `{}` (RFC 8519 puts them in the mixed-eth types)",
                    k.name()
                ),
            );
        }
    }
    out
}

fn l4_key(l4: &L4Match) -> &'static str {
    match l4 {
        L4Match::Tcp { .. } => "tcp",
        L4Match::Udp { .. } => "udp",
        L4Match::Icmp { .. } => "icmp",
    }
}

fn mud_match(cx: &mut Cx, v: &Value, path: &str) -> MudMatch {
    let mut out = MudMatch::default();
    let Some(m) = object(cx, v, path) else {
        return out;
    };
    cx.unknown(
        m,
        path,
        &[
            "manufacturer",
            "same-manufacturer",
            "model",
            "local-networks",
            "controller",
            "my-controller",
        ],
    );
    if let Some(h) = string(cx, m, path, "manufacturer") {
        check_host(cx, &join(path, "manufacturer"), &h);
        out.manufacturer = Some(h);
    }
    out.same_manufacturer = empty_leaf(cx, m, path, "same-manufacturer");
    if let Some(u) = string(cx, m, path, "model") {
        check_uri(cx, &join(path, "model"), &u, "model");
        out.model = Some(u);
    }
    out.local_networks = empty_leaf(cx, m, path, "local-networks");
    if let Some(c) = string(cx, m, path, "controller") {
        let p = join(path, "controller");
        check_uri(cx, &p, &c, "controller");
        if let Some(rest) = c.strip_prefix("urn:ietf:params:mud:") {
            if rest != "dns" && rest != "ntp" {
                cx.warn(
                    &p,
                    format!("controller `{c}` is not registered (RFC 8520 registers urn:ietf:params:mud:dns and urn:ietf:params:mud:ntp)"),
                );
            }
        }
        out.controller = Some(c);
    }
    out.my_controller = empty_leaf(cx, m, path, "my-controller");
    let set = [
        out.manufacturer.is_some(),
        out.same_manufacturer,
        out.model.is_some(),
        out.local_networks,
        out.controller.is_some(),
        out.my_controller,
    ];
    if set.iter().filter(|b| **b).count() > 1 {
        cx.warn(
            path,
            "more than one MUD abstraction in one entry: a peer must satisfy all of them",
        );
    }
    out
}

fn dnsname(cx: &mut Cx, m: &Map<String, Value>, path: &str, key: &str) -> Option<String> {
    let s = string(cx, m, path, key)?;
    check_host(cx, &join(path, key), &s);
    Some(s.trim_end_matches('.').to_ascii_lowercase())
}

fn network(
    cx: &mut Cx,
    m: &Map<String, Value>,
    path: &str,
    key: &str,
    fam: Family,
) -> Option<IpNet> {
    let s = string(cx, m, path, key)?;
    let p = join(path, key);
    match s.parse::<IpNet>() {
        Ok(n) => {
            let right = matches!(
                (fam, n),
                (Family::V4, IpNet::V4(_)) | (Family::V6, IpNet::V6(_))
            );
            if !right {
                cx.err(
                    &p,
                    format!(
                        "`{s}` is not an {} prefix",
                        if fam == Family::V4 { "IPv4" } else { "IPv6" }
                    ),
                );
                return None;
            }
            Some(n)
        }
        Err(_) => {
            cx.err(
                &p,
                format!("`{s}` is not an address prefix (address/length)"),
            );
            None
        }
    }
}

fn l3_match(cx: &mut Cx, v: &Value, path: &str, fam: Family) -> Option<L3Match> {
    let m = object(cx, v, path)?;
    let (src, dst): (&str, &str) = match fam {
        Family::V4 => ("source-ipv4-network", "destination-ipv4-network"),
        Family::V6 => ("source-ipv6-network", "destination-ipv6-network"),
    };
    let mut known = vec![
        "dscp",
        "ecn",
        "length",
        "ttl",
        "protocol",
        src,
        dst,
        "ietf-acldns:src-dnsname",
        "ietf-acldns:dst-dnsname",
    ];
    match fam {
        Family::V4 => known.extend(["ihl", "flags", "offset", "identification"]),
        Family::V6 => known.push("flow-label"),
    }
    cx.unknown(m, path, &known);
    uint(cx, m, path, "dscp", 0, 63);
    uint(cx, m, path, "ecn", 0, 3);
    uint(cx, m, path, "length", 0, 65535);
    uint(cx, m, path, "ttl", 0, 255);
    let protocol = uint(cx, m, path, "protocol", 0, 255).map(|n| n as u8);
    let out = L3Match {
        family: fam,
        protocol,
        src_dnsname: dnsname(cx, m, path, "ietf-acldns:src-dnsname"),
        dst_dnsname: dnsname(cx, m, path, "ietf-acldns:dst-dnsname"),
        src_network: network(cx, m, path, src, fam),
        dst_network: network(cx, m, path, dst, fam),
    };
    if m.contains_key(src) && m.contains_key("ietf-acldns:src-dnsname") {
        cx.err(
            path,
            format!("both `{src}` and `ietf-acldns:src-dnsname`: they are cases of one choice"),
        );
    }
    if m.contains_key(dst) && m.contains_key("ietf-acldns:dst-dnsname") {
        cx.err(
            path,
            format!("both `{dst}` and `ietf-acldns:dst-dnsname`: they are cases of one choice"),
        );
    }
    Some(out)
}

fn port_match(cx: &mut Cx, m: &Map<String, Value>, path: &str, key: &str) -> Option<PortMatch> {
    let v = m.get(key)?;
    let p = join(path, key);
    let o = object(cx, v, &p)?;
    cx.unknown(o, &p, &["operator", "port", "lower-port", "upper-port"]);
    let is_range = o.contains_key("lower-port") || o.contains_key("upper-port");
    let is_op = o.contains_key("operator") || o.contains_key("port");
    if is_range && is_op {
        cx.err(
            &p,
            "both a range (`lower-port`/`upper-port`) and an operator (`operator`/`port`)",
        );
        return None;
    }
    if is_range {
        let lower = uint(cx, o, &p, "lower-port", 0, 65535);
        let upper = uint(cx, o, &p, "upper-port", 0, 65535);
        if !o.contains_key("lower-port") || !o.contains_key("upper-port") {
            cx.err(&p, "a port range needs both `lower-port` and `upper-port`");
            return None;
        }
        let (lower, upper) = (lower? as u16, upper? as u16);
        if lower > upper {
            cx.err(
                &p,
                format!("lower-port {lower} is above upper-port {upper}"),
            );
            return None;
        }
        return Some(PortMatch::Range { lower, upper });
    }
    let op = match string(cx, o, &p, "operator").as_deref() {
        None if o.contains_key("operator") => return None,
        None | Some("eq") => Operator::Eq,
        Some("neq") => Operator::Neq,
        Some("lte") => Operator::Lte,
        Some("gte") => Operator::Gte,
        Some(other) => {
            cx.err(
                &join(&p, "operator"),
                format!("unknown port operator `{other}` (eq, neq, lte or gte)"),
            );
            return None;
        }
    };
    if !o.contains_key("port") {
        cx.err(&p, "missing `port`");
        return None;
    }
    let port = uint(cx, o, &p, "port", 0, 65535)? as u16;
    Some(PortMatch::Op { op, port })
}

fn l4_match(cx: &mut Cx, v: &Value, path: &str, key: &str) -> Option<L4Match> {
    let m = object(cx, v, path)?;
    match key {
        "tcp" => {
            cx.unknown(
                m,
                path,
                &[
                    "sequence-number",
                    "acknowledgement-number",
                    "data-offset",
                    "reserved",
                    "flags",
                    "window-size",
                    "urgent-pointer",
                    "options",
                    "source-port",
                    "destination-port",
                    "ietf-mud:direction-initiated",
                ],
            );
            let direction_initiated =
                match string(cx, m, path, "ietf-mud:direction-initiated").as_deref() {
                    None => None,
                    Some("from-device") => Some(Direction::FromDevice),
                    Some("to-device") => Some(Direction::ToDevice),
                    Some(other) => {
                        cx.err(
                            &join(path, "ietf-mud:direction-initiated"),
                            format!("`{other}` is not `from-device` or `to-device`"),
                        );
                        None
                    }
                };
            Some(L4Match::Tcp {
                src_port: port_match(cx, m, path, "source-port"),
                dst_port: port_match(cx, m, path, "destination-port"),
                direction_initiated,
            })
        }
        "udp" => {
            cx.unknown(m, path, &["length", "source-port", "destination-port"]);
            Some(L4Match::Udp {
                src_port: port_match(cx, m, path, "source-port"),
                dst_port: port_match(cx, m, path, "destination-port"),
            })
        }
        _ => {
            cx.unknown(m, path, &["type", "code", "rest-of-header"]);
            Some(L4Match::Icmp {
                icmp_type: uint(cx, m, path, "type", 0, 255).map(|n| n as u8),
                code: uint(cx, m, path, "code", 0, 255).map(|n| n as u8),
            })
        }
    }
}

fn eth_match(cx: &mut Cx, v: &Value, path: &str) -> Option<EthMatch> {
    let m = object(cx, v, path)?;
    cx.unknown(
        m,
        path,
        &[
            "destination-mac-address",
            "destination-mac-address-mask",
            "source-mac-address",
            "source-mac-address-mask",
            "ethertype",
        ],
    );
    let ethertype = match m.get("ethertype") {
        None => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n) if n <= 0xffff => Some(n as u16),
            _ => {
                cx.err(&join(path, "ethertype"), "ethertype out of range 0..65535");
                None
            }
        },
        Some(Value::String(s)) => {
            let p = join(path, "ethertype");
            let named = match s.as_str() {
                "ipv4" => Some(0x0800),
                "arp" => Some(0x0806),
                "ipv6" => Some(0x86dd),
                "vlan" | "c-vlan" => Some(0x8100),
                _ => None,
            };
            if let Some(n) = named {
                Some(n)
            } else if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                match u16::from_str_radix(hex, 16) {
                    Ok(n) => {
                        cx.warn(&p, format!("ethertype `{s}` written as a hex string; RFC 7951 writes a uint16 as a number"));
                        Some(n)
                    }
                    Err(_) => {
                        cx.err(&p, format!("`{s}` is not an ethertype"));
                        None
                    }
                }
            } else {
                cx.err(&p, format!("`{s}` is not an ethertype"));
                None
            }
        }
        Some(other) => {
            cx.err(
                &join(path, "ethertype"),
                format!("expected an ethertype, found {}", kind(other)),
            );
            None
        }
    };
    Some(EthMatch {
        ethertype,
        src_mac: string(cx, m, path, "source-mac-address"),
        dst_mac: string(cx, m, path, "destination-mac-address"),
    })
}
