//! Export as an OSCAL 1.1 catalog (JSON): one group per scheme, one control per provision,
//! and a group of iotrust outcomes that provisions link to.

use serde_json::{json, Value};

use crate::catalog::Catalog;

const NS: &str = "https://iotrust.dev/ns/oscal";

/// OSCAL tokens: a letter or `_`, then letters, digits, `.`, `-`, `_`.
fn token(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// A stable version-5-shaped UUID derived from `name` (FNV-1a based; stable across runs).
pub fn stable_uuid(name: &str) -> String {
    let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x8422_2325_cbf2_9ce4;
    for b in name.bytes() {
        h1 = (h1 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        h2 = (h2 ^ u64::from(b))
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(7);
    }
    let hex = format!("{h1:016x}{h2:016x}");
    let b = hex.as_bytes();
    let s = |r: std::ops::Range<usize>| String::from_utf8_lossy(&b[r]).into_owned();
    let variant = ['8', '9', 'a', 'b'][(h2 & 3) as usize];
    format!(
        "{}-{}-5{}-{}{}-{}",
        s(0..8),
        s(8..12),
        s(13..16),
        variant,
        s(17..20),
        s(20..32)
    )
}

fn prop(name: &str, value: &str) -> Value {
    json!({"name": name, "ns": NS, "value": value.trim()})
}

/// The whole catalog as an OSCAL catalog document.
pub fn export(cat: &Catalog) -> Value {
    let date = cat
        .date
        .map(|d| d.to_string())
        .unwrap_or_else(|| "1970-01-01".into());
    let outcomes: Vec<Value> = cat
        .outcomes
        .iter()
        .map(|o| {
            let id = token(&format!("outcome-{}", &*o.def.id));
            let phases: Vec<Value> = o.def.phases.iter().map(|p| prop("phase", &p.to_string())).collect();
            json!({
                "id": id,
                "class": "iotrust-outcome",
                "title": o.def.title,
                "props": phases,
                "parts": [
                    {"id": format!("{id}_smt"), "name": "statement", "prose": o.def.title},
                    {"id": format!("{id}_chk"), "name": "assessment-method", "ns": NS, "title": "Check", "prose": o.check.source()},
                ],
            })
        })
        .collect();
    let mut groups = vec![json!({
        "id": "iotrust-outcomes",
        "class": "iotrust-outcomes",
        "title": "iotrust harmonized outcomes",
        "controls": outcomes,
    })];
    for s in &cat.schemes {
        let gid = token(&s.key);
        let controls: Vec<Value> = s
            .def
            .provisions
            .iter()
            .map(|p| {
                let id = token(&format!("{}-{}", s.key, &*p.id));
                let mut props = vec![
                    prop("label", &p.id),
                    prop("status", &p.status.to_string()),
                    prop("phase", &p.phase.to_string()),
                ];
                if !p.conditions.is_empty() {
                    let c: Vec<&str> = p.conditions.iter().map(|c| c.as_str()).collect();
                    props.push(prop("conditions", &c.join(" ")));
                }
                if !p.known {
                    props.push(prop("content-known", "false"));
                }
                let links: Vec<Value> = p
                    .outcomes
                    .iter()
                    .map(|m| {
                        json!({"href": format!("#{}", token(&format!("outcome-{}", &*m.outcome))), "rel": "related",
                               "text": format!("{} ({:?})", m.basis.to_string(), m.source.confidence)})
                    })
                    .collect();
                let mut c = json!({
                    "id": id,
                    "class": "provision",
                    "title": p.title,
                    "props": props,
                    "parts": [{"id": format!("{id}_smt"), "name": "statement", "prose": p.title}],
                });
                if !links.is_empty() {
                    c["links"] = Value::Array(links);
                }
                c
            })
            .collect();
        let mut g = json!({
            "id": gid,
            "class": "scheme",
            "title": format!("{} ({})", s.def.title, s.key),
            "props": [prop("kind", &s.def.kind.to_string()), prop("jurisdiction", &s.def.jurisdiction), prop("version", &s.def.version)],
        });
        if !controls.is_empty() {
            g["controls"] = Value::Array(controls);
        }
        groups.push(g);
    }
    json!({
        "catalog": {
            "uuid": stable_uuid(&format!("iotrust-catalog-{}", cat.version())),
            "metadata": {
                "title": cat.meta.title,
                "last-modified": format!("{date}T00:00:00Z"),
                "version": cat.version(),
                "oscal-version": "1.1.2",
            },
            "groups": groups,
        }
    })
}
