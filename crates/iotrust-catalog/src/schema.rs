//! JSON Schemas of the catalog's files, generated from the Rust types so they never drift.
//! `iotrust catalog schema DIR` writes them; `schemas/` in the repository holds the committed
//! copies (a test checks they are current) for editors and other tools.

use schemars::schema_for;

use crate::model::*;

/// (file name, schema) for each kind of catalog file.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    let pairs = [
        (
            "catalog-meta.schema.json",
            serde_json::to_value(schema_for!(CatalogFile)),
        ),
        (
            "catalog-categories.schema.json",
            serde_json::to_value(schema_for!(CategoriesFile)),
        ),
        (
            "catalog-facts.schema.json",
            serde_json::to_value(schema_for!(FactsFile)),
        ),
        (
            "catalog-outcomes.schema.json",
            serde_json::to_value(schema_for!(OutcomesFile)),
        ),
        (
            "catalog-tiers.schema.json",
            serde_json::to_value(schema_for!(TiersFile)),
        ),
        (
            "catalog-recognition.schema.json",
            serde_json::to_value(schema_for!(RecognitionFile)),
        ),
        (
            "catalog-crosswalk.schema.json",
            serde_json::to_value(schema_for!(CrosswalkFile)),
        ),
        (
            "catalog-document.schema.json",
            serde_json::to_value(schema_for!(DocumentDef)),
        ),
        (
            "catalog-scheme.schema.json",
            serde_json::to_value(schema_for!(SchemeDef)),
        ),
    ];
    pairs
        .into_iter()
        .map(|(n, v)| (n, v.unwrap_or(serde_json::Value::Null)))
        .collect()
}

/// Which schema a catalog file (path relative to the catalog root) is checked against.
pub fn for_file(path: &str) -> Option<&'static str> {
    Some(match path {
        "catalog.yaml" => "catalog-meta.schema.json",
        "categories.yaml" => "catalog-categories.schema.json",
        "facts.yaml" => "catalog-facts.schema.json",
        "outcomes.yaml" => "catalog-outcomes.schema.json",
        "tiers.yaml" => "catalog-tiers.schema.json",
        "recognition.yaml" => "catalog-recognition.schema.json",
        p if p.starts_with("crosswalks/") && p.ends_with(".yaml") => {
            "catalog-crosswalk.schema.json"
        }
        p if p.starts_with("documents/") && p.ends_with(".yaml") => "catalog-document.schema.json",
        p if p.starts_with("schemes/") && p.ends_with(".yaml") => "catalog-scheme.schema.json",
        _ => return None,
    })
}
