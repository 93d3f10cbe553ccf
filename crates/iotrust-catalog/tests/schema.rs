//! The JSON Schemas in `schemas/` are current, and every catalog file validates against its
//! schema (so editors using the schemas see what the loader accepts).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::path::Path;

use iotrust_catalog::{load, schema};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn committed_schemas_are_current() {
    for (name, value) in schema::all() {
        let path = root().join("schemas").join(name);
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (run `iotrust catalog schema schemas`)",
                    path.display()
                )
            }))
            .unwrap();
        assert_eq!(
            committed, value,
            "{name} is stale: run `cargo run -p iotrust-cli -- catalog schema schemas`"
        );
    }
}

#[test]
fn every_catalog_file_validates_against_its_schema() {
    let schemas: std::collections::HashMap<&str, jsonschema::Validator> = schema::all()
        .into_iter()
        .map(|(n, v)| {
            (
                n,
                jsonschema::validator_for(&v).unwrap_or_else(|e| panic!("{n}: {e}")),
            )
        })
        .collect();
    let files = load::dir_files(&root().join("catalog")).unwrap();
    let mut checked = 0;
    let mut problems = Vec::new();
    for (path, text) in &files {
        let Some(name) = schema::for_file(path) else {
            continue;
        };
        let doc: serde_json::Value =
            serde_norway::from_str(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        for err in schemas[name].iter_errors(&doc) {
            problems.push(format!("catalog/{path}: {} at {}", err, err.instance_path));
        }
        checked += 1;
    }
    assert!(checked > 30, "only {checked} files checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn schema_rejects_what_the_loader_rejects() {
    let v = schema::all()
        .into_iter()
        .find(|(n, _)| *n == "catalog-scheme.schema.json")
        .unwrap()
        .1;
    let validator = jsonschema::validator_for(&v).unwrap();
    let text = std::fs::read_to_string(root().join("catalog/schemes/uk-psti/2023.yaml")).unwrap();
    let mut doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert!(validator.is_valid(&doc));
    doc["provisions"][0]["colour"] = serde_json::json!("blue");
    assert!(!validator.is_valid(&doc), "unknown field must be rejected");
    doc["provisions"][0]
        .as_object_mut()
        .unwrap()
        .remove("colour");
    doc["kind"] = serde_json::json!("law");
    assert!(!validator.is_valid(&doc), "unknown kind must be rejected");
}
