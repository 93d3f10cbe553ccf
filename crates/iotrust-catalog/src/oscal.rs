//! Export as an OSCAL 1.1 catalog (JSON): one group per scheme, one control per provision,
//! and a group of iotrust outcomes that provisions link to; and the crosswalks as an OSCAL 1.2
//! mapping collection ([`mappings`]) whose items name the controls of that catalog.

use serde_json::{json, Value};

use crate::catalog::Catalog;
use crate::model::{Basis, RelationKind, Source};

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

/// The namespace of iotrust's name-based UUIDs: UUID v5 of its OSCAL namespace URL.
fn namespace() -> uuid::Uuid {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, NS.as_bytes())
}

/// A name-based UUID (version 5, SHA-1) of `name` in iotrust's namespace: the same name gives
/// the same UUID in every export, and only a changed name changes it.
pub fn stable_uuid(name: &str) -> String {
    uuid::Uuid::new_v5(&namespace(), name.as_bytes()).to_string()
}

fn prop(name: &str, value: &str) -> Value {
    json!({"name": name, "ns": NS, "value": value.trim()})
}

/// The control id of an outcome in the catalog export.
pub fn outcome_control_id(outcome: &str) -> String {
    token(&format!("outcome-{outcome}"))
}

/// The control id of a provision (`scheme@version`, provision id) in the catalog export.
pub fn provision_control_id(scheme_key: &str, provision: &str) -> String {
    token(&format!("{scheme_key}-{provision}"))
}

/// The UUID of the catalog export of catalog version `version`.
pub fn catalog_uuid(version: &str) -> String {
    stable_uuid(&format!("iotrust-catalog-{version}"))
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
            let id = outcome_control_id(&o.def.id);
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
                let id = provision_control_id(&s.key, &p.id);
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
                        json!({"href": format!("#{}", outcome_control_id(&m.outcome)), "rel": "related",
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
            "uuid": catalog_uuid(cat.version()),
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

/// The OSCAL version of the mapping collection (the Control Mapping model is new in 1.2).
pub const MAPPING_OSCAL_VERSION: &str = "1.2.3";

/// OSCAL's relationship for one of our provision-to-provision relations. OSCAL's tokens are
/// set relations between requirements (NIST IR 8477); ours say less where they are `related`
/// (same subject) or `successor` (renumbered or replaced in a new version): those become
/// `intersects-with`, the weakest overlap OSCAL names, and the exact relation stays in a prop.
pub fn oscal_relationship(r: RelationKind) -> &'static str {
    match r {
        RelationKind::Equivalent => "equivalent-to",
        // `from` covers `to`: from's requirements contain to's
        RelationKind::Covers => "superset-of",
        RelationKind::PartOf => "subset-of",
        RelationKind::Related | RelationKind::Successor | RelationKind::DeemedCompliance => {
            "intersects-with"
        }
    }
}

fn relation_name(r: RelationKind) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn basis_token(b: Basis) -> &'static str {
    match b {
        Basis::Official => "official",
        Basis::Crosswalk => "crosswalk",
        Basis::Inferred => "inferred",
    }
}

fn source_props(basis: Basis, crosswalk: Option<&str>, src: &Source) -> Vec<Value> {
    let mut v = vec![
        prop("basis", basis_token(basis)),
        prop("confidence", &format!("{:?}", src.confidence)),
        prop("source", &src.reference),
    ];
    if let Some(c) = crosswalk {
        v.push(prop("crosswalk", c));
    }
    v
}

fn resource_ref(catalog_uuid: &str) -> Value {
    json!({"type": "catalog", "href": format!("#{catalog_uuid}")})
}

/// Every crosswalk of the catalog as one OSCAL 1.2 mapping collection: per scheme, a mapping
/// of its provisions onto iotrust's outcomes (each provision `subset-of` the outcomes that
/// together satisfy it); per crosswalk file, a mapping of provision onto provision with the
/// relationship, basis and source of each relation. Sources and targets are controls of the
/// catalog export ([`export`]), referenced through the back-matter. Every UUID is name-based
/// ([`stable_uuid`]) from ids, so two exports of one catalog are byte-identical.
pub fn mappings(cat: &Catalog) -> Value {
    let date = cat
        .date
        .map(|d| d.to_string())
        .unwrap_or_else(|| "1970-01-01".into());
    let cat_uuid = catalog_uuid(cat.version());
    let mut list: Vec<Value> = Vec::new();
    for s in &cat.schemes {
        let maps: Vec<Value> = s
            .def
            .provisions
            .iter()
            .filter(|p| !p.outcomes.is_empty())
            .map(|p| {
                let targets: Vec<Value> = p
                    .outcomes
                    .iter()
                    .map(|m| {
                        json!({
                            "type": "control",
                            "id-ref": outcome_control_id(&m.outcome),
                            "props": source_props(*m.basis, m.crosswalk.as_deref(), &m.source),
                        })
                    })
                    .collect();
                let mut props = vec![prop("relation", "satisfied-by-outcomes")];
                if let Some(b) = crate::obligation::mapping_basis(p) {
                    props.push(prop("basis", basis_token(b)));
                }
                json!({
                    "uuid": stable_uuid(&format!("map/outcomes/{}#{}", s.key, &*p.id)),
                    "matching-rationale": "semantic",
                    "relationship": "subset-of",
                    "sources": [{"type": "control", "id-ref": provision_control_id(&s.key, &p.id)}],
                    "targets": targets,
                    "props": props,
                })
            })
            .collect();
        if maps.is_empty() {
            continue;
        }
        list.push(json!({
            "uuid": stable_uuid(&format!("mapping/outcomes/{}", s.key)),
            "method": "human",
            "matching-rationale": "semantic",
            "status": "not-complete",
            "source-resource": resource_ref(&cat_uuid),
            "target-resource": resource_ref(&cat_uuid),
            "props": [prop("kind", "provision-to-outcome"), prop("scheme", &s.key)],
            "mapping-description": format!("Provisions of {} onto iotrust's harmonized outcomes. Each provision is a subset of the outcomes that together satisfy it; each target names the basis of its mapping (official, published crosswalk or inferred by iotrust) and its source.", s.key),
            "maps": maps,
        }));
    }
    for (file, cw) in &cat.crosswalks {
        let maps: Vec<Value> = cw
            .relations
            .iter()
            .filter_map(|r| {
                let (fs, fp) = crate::load::split_ref(&r.from)?;
                let (ts, tp) = crate::load::split_ref(&r.to)?;
                let mut props = source_props(*r.basis, r.crosswalk.as_deref(), &r.source);
                props.insert(0, prop("relation", &relation_name(r.relation)));
                let mut m = json!({
                    "uuid": stable_uuid(&format!("map/crosswalk/{file}/{}/{}", &*r.from, &*r.to)),
                    "matching-rationale": "semantic",
                    "relationship": oscal_relationship(r.relation),
                    "sources": [{"type": "control", "id-ref": provision_control_id(fs, fp)}],
                    "targets": [{"type": "control", "id-ref": provision_control_id(ts, tp)}],
                    "props": props,
                });
                if let Some(n) = &r.note {
                    m["remarks"] = json!(n.trim());
                }
                Some(m)
            })
            .collect();
        if maps.is_empty() {
            continue;
        }
        list.push(json!({
            "uuid": stable_uuid(&format!("mapping/crosswalk/{file}")),
            "method": "human",
            "matching-rationale": "semantic",
            "status": "not-complete",
            "source-resource": resource_ref(&cat_uuid),
            "target-resource": resource_ref(&cat_uuid),
            "props": [
                prop("kind", "provision-to-provision"),
                prop("crosswalk", &cw.name),
                prop("confidence", &format!("{:?}", cw.source.confidence)),
                prop("source", &cw.source.reference),
            ],
            "mapping-description": format!("{} ({file}). Relationships are OSCAL's set relations; the relation as the crosswalk states it is in the `relation` prop of each entry.", cw.name),
            "maps": maps,
        }));
    }
    json!({
        "mapping-collection": {
            "uuid": stable_uuid(&format!("mapping-collection/{}", cat.version())),
            "metadata": {
                "title": format!("{}: crosswalks", cat.meta.title),
                "last-modified": format!("{date}T00:00:00Z"),
                "version": cat.version(),
                "oscal-version": MAPPING_OSCAL_VERSION,
            },
            "provenance": {
                "method": "human",
                "matching-rationale": "semantic",
                "status": "not-complete",
                "mapping-description": "iotrust's crosswalks: provisions of consumer-IoT security schemes onto iotrust's outcomes, and published or inferred provision-to-provision relations. A mapping iotrust inferred is marked basis inferred; it is not an authority's.",
            },
            "mappings": list,
            "back-matter": {
                "resources": [{
                    "uuid": cat_uuid,
                    "title": format!("iotrust catalog {} (OSCAL catalog: `iotrust catalog export --format oscal`)", cat.version()),
                }],
            },
        }
    })
}
