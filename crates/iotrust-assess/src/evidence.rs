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

/// The facts an evidence file establishes, with where they came from.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub file: String,
    pub kind: String,
    pub tool: String,
    pub strength: Strength,
    pub facts: Vec<(FactId, FactValue, String)>,
    pub findings: Vec<Finding>,
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
    Ok(Evidence {
        file: file.to_string(),
        kind,
        tool,
        strength,
        facts: merged,
        findings,
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
