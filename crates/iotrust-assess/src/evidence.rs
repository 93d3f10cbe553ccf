//! Evidence files (`iotrust-evidence/1`, JSON): what `iotrust probe` writes and what labs or
//! people can write by hand. Each device carries the facts the tests established; findings
//! explain them. See `docs/evidence.md`.

use iotrust_catalog::expr::{FactId, FactValue};
use iotrust_catalog::model::Strength;
use iotrust_catalog::Catalog;
use serde::{Deserialize, Serialize};

use crate::profile::{fact_value, Ctx, InputError};
use crate::tree::{parse_json, Located, Node};

pub const FORMAT: &str = "iotrust-evidence/1";

/// One finding as a probe reports it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    pub id: String,
    pub severity: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provisions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<String>,
}

/// The state the device was in when it was tested (`state` in the file). Schemes judge
/// states apart: UK PSTI Sch 1 para 1 and ETSI EN 303 645 5.1-1 every state but the factory
/// default, CRA Annex I Part I (2)(b) the configuration as shipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceState {
    /// As shipped or after a factory reset, before setup.
    FactoryDefault,
    /// After the user completed setup.
    SetUp,
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::FactoryDefault => "factory-default",
            DeviceState::SetUp => "set-up",
        }
    }
}

/// One network service a probe found open (`devices[].services[]`), with what its findings
/// say about authentication. It becomes a tested row of the `[[interface]]` table
/// (see [`crate::observed`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub address: String,
    pub port: u16,
    /// `tcp` or `udp`.
    pub transport: String,
    /// Identified by behaviour: telnet, ssh, http, https, rtsp, mqtt …
    pub protocol: String,
    /// TLS versions accepted, when tested (`TLSv1.2` …).
    pub tls_versions: Vec<String>,
    /// `none` when access was granted without credentials, `password` when a credential
    /// was asked for (a default one logged in), unknown otherwise.
    pub authentication: Option<String>,
    /// Where it is in the file (`FILE:LINE`).
    pub source: String,
}

impl Observed {
    /// `proto/port` as findings name a service.
    pub fn name(&self) -> String {
        format!("{}/{}", self.protocol, self.port)
    }
}

/// The facts an evidence file establishes, with where they came from.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub file: String,
    pub kind: String,
    pub tool: String,
    pub strength: Strength,
    pub facts: Vec<(FactId, FactValue, String)>,
    pub findings: Vec<Finding>,
    /// The device's state when tested; `None` when the file does not say.
    pub state: Option<DeviceState>,
    /// The services found open, for the `[[interface]]` table.
    pub services: Vec<Observed>,
}

fn field<'a>(t: &'a [(String, Located)], k: &str) -> Option<&'a Located> {
    t.iter().find(|(n, _)| n == k).map(|(_, v)| v)
}

fn str_of(ctx: &Ctx<'_>, v: &Located, f: &str) -> Result<String, InputError> {
    match &v.node {
        Node::Str(s) => Ok(s.clone()),
        n => Err(ctx.err(
            v.line,
            Some(f),
            format!("expected a string, found {}", n.type_name()),
        )),
    }
}

/// Merge two values of one fact seen on several devices: worst case wins
/// (any device that accepts a default password makes the product accept one).
fn merge(a: FactValue, b: FactValue) -> FactValue {
    match (a, b) {
        (FactValue::Bool(x), FactValue::Bool(y)) => FactValue::Bool(x || y),
        (FactValue::List(mut x), FactValue::List(y)) => {
            for s in y {
                if !x.contains(&s) {
                    x.push(s);
                }
            }
            FactValue::List(x)
        }
        (FactValue::IntList(mut x), FactValue::IntList(y)) => {
            for s in y {
                if !x.contains(&s) {
                    x.push(s);
                }
            }
            x.sort_unstable();
            FactValue::IntList(x)
        }
        (_, b) => b,
    }
}

/// Parse an evidence file. `device` picks one device's facts; otherwise all devices merge.
pub fn parse(
    cat: &Catalog,
    text: &str,
    file: &str,
    device: Option<&str>,
) -> Result<Evidence, InputError> {
    let ctx = Ctx {
        file,
        line_offset: 0,
    };
    let root = parse_json(text)
        .map_err(|e| ctx.err(e.line, None, format!("syntax error: {}", e.message)))?;
    let Node::Table(top) = &root.node else {
        return Err(ctx.err(root.line, None, "an evidence file is a JSON object"));
    };
    let format = field(top, "format").ok_or_else(|| {
        ctx.err(
            1,
            Some("format"),
            format!("missing `format` (expected `{FORMAT}`)"),
        )
    })?;
    let fmt = str_of(&ctx, format, "format")?;
    if fmt != FORMAT {
        return Err(ctx.err(
            format.line,
            Some("format"),
            format!("unsupported format `{fmt}` (expected `{FORMAT}`)"),
        ));
    }
    let kind = match field(top, "kind") {
        Some(k) => str_of(&ctx, k, "kind")?,
        None => "probe".to_string(),
    };
    let strength = match kind.as_str() {
        "probe" | "test-report" => Strength::Tested,
        "lab-report" => Strength::LabTested,
        "document" => Strength::Documented,
        other => {
            return Err(ctx.err(
                1,
                Some("kind"),
                format!(
                    "`{other}` is not an evidence kind (probe, test-report, lab-report, document)"
                ),
            ))
        }
    };
    let tool = match field(top, "tool") {
        Some(Located {
            node: Node::Table(t),
            ..
        }) => {
            let name = field(t, "name").and_then(|v| {
                if let Node::Str(s) = &v.node {
                    Some(s.clone())
                } else {
                    None
                }
            });
            let ver = field(t, "version").and_then(|v| {
                if let Node::Str(s) = &v.node {
                    Some(s.clone())
                } else {
                    None
                }
            });
            format!("{} {}", name.unwrap_or_default(), ver.unwrap_or_default())
                .trim()
                .to_string()
        }
        Some(v) => str_of(&ctx, v, "tool")?,
        None => String::new(),
    };
    let state = match field(top, "state") {
        None => None,
        Some(v) => match str_of(&ctx, v, "state")?.as_str() {
            "factory-default" => Some(DeviceState::FactoryDefault),
            "set-up" => Some(DeviceState::SetUp),
            other => {
                return Err(ctx.err(
                    v.line,
                    Some("state"),
                    format!("`{other}` is not a device state (factory-default, set-up)"),
                ))
            }
        },
    };
    let mut merged: Vec<(FactId, FactValue, String)> = Vec::new();
    let mut add = |id: FactId, v: FactValue, src: String| match merged
        .iter_mut()
        .find(|(i, _, _)| *i == id)
    {
        Some(slot) => {
            let old = std::mem::replace(&mut slot.1, FactValue::Bool(false));
            slot.1 = merge(old, v);
        }
        None => merged.push((id, v, src)),
    };
    let read_facts = |v: &Located,
                      base: &str,
                      add: &mut dyn FnMut(FactId, FactValue, String)|
     -> Result<(), InputError> {
        let Node::Table(t) = &v.node else {
            return Err(ctx.err(v.line, Some(base), "expected an object of fact values"));
        };
        for (k, x) in t {
            let (id, fv) = fact_value(cat, &ctx, k, x)?;
            add(id, fv, format!("{file}:{}", x.line));
        }
        Ok(())
    };
    if let Some(f) = field(top, "facts") {
        read_facts(f, "facts", &mut add)?;
    }
    let mut findings = Vec::new();
    let mut services = Vec::new();
    let mut matched_device = device.is_none();
    if let Some(devs) = field(top, "devices") {
        let Node::Array(list) = &devs.node else {
            return Err(ctx.err(devs.line, Some("devices"), "expected an array"));
        };
        for (i, d) in list.iter().enumerate() {
            let base = format!("devices[{i}]");
            let Node::Table(dt) = &d.node else {
                return Err(ctx.err(d.line, Some(&base), "expected an object"));
            };
            let addr = match field(dt, "address") {
                Some(a) => str_of(&ctx, a, &format!("{base}.address"))?,
                None => String::new(),
            };
            if device.is_some_and(|want| want != addr) {
                continue;
            }
            matched_device = true;
            if let Some(f) = field(dt, "facts") {
                read_facts(f, &format!("{base}.facts"), &mut add)?;
            }
            let first = findings.len();
            if let Some(fs) = field(dt, "findings") {
                let Node::Array(items) = &fs.node else {
                    return Err(ctx.err(
                        fs.line,
                        Some(&format!("{base}.findings")),
                        "expected an array",
                    ));
                };
                for (j, it) in items.iter().enumerate() {
                    findings.push(finding(&ctx, it, &format!("{base}.findings[{j}]"))?);
                }
            }
            if let Some(ss) = field(dt, "services") {
                let anonymous = anonymous_of(&ctx, dt, &base)?;
                let Node::Array(items) = &ss.node else {
                    return Err(ctx.err(
                        ss.line,
                        Some(&format!("{base}.services")),
                        "expected an array",
                    ));
                };
                for (j, it) in items.iter().enumerate() {
                    let mut o = service(&ctx, it, &format!("{base}.services[{j}]"), &addr)?;
                    o.authentication = authentication_of(&o, &anonymous, &findings[first..]);
                    services.push(o);
                }
            }
        }
    }
    if !matched_device {
        return Err(ctx.err(
            1,
            Some("devices"),
            format!(
                "no device with address `{}` in this file",
                device.unwrap_or("")
            ),
        ));
    }
    if let Some(st) = state {
        in_state(cat, st, &mut merged);
    }
    Ok(Evidence {
        file: file.to_string(),
        kind,
        tool,
        strength,
        facts: merged,
        findings,
        state,
        services,
    })
}

/// Read a tested "a known default credential logs in" in the state the device was tested
/// in. In the factory default state it says the factory default password is a shared one
/// (`auth.factory_default_password = universal-default`), which UK PSTI Sch 1 para 1 allows
/// when setup makes the user replace it; after setup it says setup did not replace it.
/// Without a state the fact stays as tested: the device accepts the credential now.
fn in_state(cat: &Catalog, state: DeviceState, facts: &mut Vec<(FactId, FactValue, String)>) {
    let Some((accepted, _)) = cat.fact("auth.default_credentials_accepted") else {
        return;
    };
    let Some(pos) = facts
        .iter()
        .position(|(id, v, _)| *id == accepted && *v == FactValue::Bool(true))
    else {
        return;
    };
    let (into, value) = match state {
        DeviceState::FactoryDefault => (
            "auth.factory_default_password",
            FactValue::Str("universal-default".into()),
        ),
        DeviceState::SetUp => (
            "auth.setup_replaces_default_password",
            FactValue::Bool(false),
        ),
    };
    let Some((id, _)) = cat.fact(into) else {
        return;
    };
    let src = format!(
        "{} (a default credential logged in, {} state)",
        facts[pos].2,
        state.as_str()
    );
    if state == DeviceState::FactoryDefault {
        facts.remove(pos);
    }
    facts.push((id, value, src));
}

/// The `surface.anonymous_services` a device's facts list (`proto/port` names).
fn anonymous_of(
    ctx: &Ctx<'_>,
    dt: &[(String, Located)],
    base: &str,
) -> Result<Vec<String>, InputError> {
    let Some(Located {
        node: Node::Table(f),
        ..
    }) = field(dt, "facts")
    else {
        return Ok(Vec::new());
    };
    match field(f, "surface.anonymous_services") {
        Some(Located {
            node: Node::Array(items),
            ..
        }) => items
            .iter()
            .map(|x| str_of(ctx, x, &format!("{base}.facts.surface.anonymous_services")))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

/// What the device's findings say about a service's authentication: access without
/// credentials (an anonymous service, or a finding bearing on authenticated network
/// functions) is `none`; a default credential that logged in means one was asked for.
fn authentication_of(o: &Observed, anonymous: &[String], findings: &[Finding]) -> Option<String> {
    let name = o.name();
    let on = |f: &&Finding| f.service.as_deref() == Some(name.as_str());
    if anonymous.contains(&name)
        || findings.iter().filter(on).any(|f| {
            !f.id.starts_with("default-credentials")
                && f.outcomes
                    .iter()
                    .any(|x| x == "authenticated-network-functions")
        })
    {
        return Some("none".into());
    }
    findings
        .iter()
        .filter(on)
        .any(|f| f.id.starts_with("default-credentials"))
        .then(|| "password".into())
}

fn service(ctx: &Ctx<'_>, v: &Located, base: &str, address: &str) -> Result<Observed, InputError> {
    let Node::Table(t) = &v.node else {
        return Err(ctx.err(v.line, Some(base), "expected an object"));
    };
    let text = |k: &str| -> Result<String, InputError> {
        let x = field(t, k).ok_or_else(|| {
            ctx.err(
                v.line,
                Some(&format!("{base}.{k}")),
                format!("a service needs `{k}`"),
            )
        })?;
        str_of(ctx, x, &format!("{base}.{k}"))
    };
    let port = match field(t, "port") {
        Some(Located {
            node: Node::Int(n), ..
        }) if (0..=65535).contains(n) => *n as u16,
        Some(x) => {
            return Err(ctx.err(
                x.line,
                Some(&format!("{base}.port")),
                "expected a port number (0 to 65535)",
            ))
        }
        None => {
            return Err(ctx.err(
                v.line,
                Some(&format!("{base}.port")),
                "a service needs `port`",
            ))
        }
    };
    let tls_versions = match field(t, "tls_versions") {
        None => Vec::new(),
        Some(Located {
            node: Node::Array(items),
            ..
        }) => items
            .iter()
            .map(|x| str_of(ctx, x, &format!("{base}.tls_versions")))
            .collect::<Result<_, _>>()?,
        Some(x) => {
            return Err(ctx.err(
                x.line,
                Some(&format!("{base}.tls_versions")),
                "expected a list of strings",
            ))
        }
    };
    Ok(Observed {
        address: address.to_string(),
        port,
        transport: text("transport")?,
        protocol: text("protocol")?,
        tls_versions,
        authentication: None,
        source: format!("{}:{}", ctx.file, v.line),
    })
}

fn finding(ctx: &Ctx<'_>, v: &Located, base: &str) -> Result<Finding, InputError> {
    let Node::Table(t) = &v.node else {
        return Err(ctx.err(v.line, Some(base), "expected an object"));
    };
    let get = |k: &str| -> Result<Option<String>, InputError> {
        field(t, k)
            .map(|x| str_of(ctx, x, &format!("{base}.{k}")))
            .transpose()
    };
    let list = |k: &str| -> Result<Vec<String>, InputError> {
        match field(t, k) {
            None => Ok(Vec::new()),
            Some(Located {
                node: Node::Array(items),
                ..
            }) => items
                .iter()
                .map(|x| str_of(ctx, x, &format!("{base}.{k}")))
                .collect(),
            Some(x) => Err(ctx.err(
                x.line,
                Some(&format!("{base}.{k}")),
                "expected a list of strings",
            )),
        }
    };
    Ok(Finding {
        id: get("id")?
            .ok_or_else(|| ctx.err(v.line, Some(&format!("{base}.id")), "a finding needs `id`"))?,
        severity: get("severity")?.unwrap_or_else(|| "info".into()),
        title: get("title")?.unwrap_or_default(),
        service: get("service")?,
        detail: get("detail")?,
        provisions: list("provisions")?,
        outcomes: list("outcomes")?,
    })
}
