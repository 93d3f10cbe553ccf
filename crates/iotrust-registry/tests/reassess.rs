//! Re-assessment when the catalog changes: a registry reopened with a new catalog version
//! re-assesses every stored profile and records each changed tier and level.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use iotrust_catalog::Catalog;
use iotrust_registry::testing::TempPostgres;
use iotrust_registry::{CheckItem, CheckRequest, Registry};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{}: {from}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

/// The catalog of the next release: CLS Level 4 withdrawn, and the assured tier now asking
/// for lab-tested setup guidance.
fn next_catalog(dir: &Path) -> Arc<Catalog> {
    let cat = dir.join("catalog");
    copy_dir(&root().join("catalog"), &cat);
    let embedded = Catalog::embedded().unwrap();
    edit(
        &cat.join("catalog.yaml"),
        &format!("version: \"{}\"", embedded.version()),
        "version: \"2099.1.0\"",
    );
    let cls = cat.join("schemes/sg-cls/1.4.yaml");
    let text = std::fs::read_to_string(&cls).unwrap();
    let start = text.find("  - id: L4\n").unwrap();
    let end = start + text[start..].find("\nprovisions:\n").unwrap() + 1;
    std::fs::write(&cls, format!("{}{}", &text[..start], &text[end..])).unwrap();
    // setup guidance moves from the advanced tier to assured, which now asks for lab tests
    edit(&cat.join("tiers.yaml"), "      - setup-guidance\n", "");
    edit(
        &cat.join("tiers.yaml"),
        "    min_strength: tested\n    outcomes:\n",
        "    min_strength: lab-tested\n    outcomes:\n      - setup-guidance\n",
    );
    Arc::new(Catalog::from_dir(&cat).unwrap_or_else(|e| panic!("{e}")))
}

fn scenario(db: &str, dir: &Path) {
    let reg = Registry::open(db, catalog(), access()).unwrap();
    let mut ids = Vec::new();
    for model in ["VD-SL4", "VD-SL5"] {
        ids.push(
            reg.submit(&submission(model, days(2000)), Some(TOK_VERIDOR), today())
                .unwrap()
                .id,
        );
    }
    let before = reg.product(&ids[0], today()).unwrap();
    assert_eq!(before.tier.as_deref(), Some("assured"));
    drop(reg);

    let next = next_catalog(dir);
    let reg = Registry::open(db, next, access()).unwrap();
    let r = reg.reassess(today()).unwrap();
    assert_eq!(r.catalog_version, "2099.1.0");
    assert_eq!((r.checked, r.changed, r.failed.len()), (2, 2, 0), "{r:?}");
    let p = reg.product(&ids[0], today()).unwrap();
    assert_eq!(p.catalog_version, "2099.1.0");
    let changes: Vec<(&str, &str)> = p
        .history
        .iter()
        .skip(1)
        .map(|e| (e.event.as_str(), e.detail.as_str()))
        .collect();
    assert_eq!(changes[0].0, "tier-changed", "{changes:?}");
    assert!(
        changes[0].1.starts_with("assessed tier assured → "),
        "{changes:?}"
    );
    assert!(
        changes.contains(&(
            "level-changed",
            "sg-cls@1.4: level L4 (met) → level L3 (met)"
        )),
        "{changes:?}"
    );
    assert_eq!(changes.last().unwrap().0, "reassessed");
    // buyers now see the lower of the label's tier and the new assessment
    assert_ne!(p.tier.as_deref(), Some("assured"));
    assert_eq!(p.label_tier.as_deref(), Some("assured"));
    let check = reg
        .check(
            &CheckRequest {
                tier: Some("assured".into()),
                market: None,
                exclude_field_compromised: false,
                items: vec![CheckItem {
                    manufacturer: VERIDOR.into(),
                    model: "VD-SL4".into(),
                }],
            },
            today(),
        )
        .unwrap();
    assert!(!check.results[0].meets, "{:?}", check.results[0]);
    // nothing is stale any more
    assert_eq!(reg.reassess(today()).unwrap().checked, 0);
}

#[test]
fn sqlite_reassessment() {
    let dir = TempDir::new("reassess");
    scenario(&dir.db(), &dir);
}

#[test]
fn postgres_reassessment() {
    let dir = TempDir::new("reassess-pg");
    let pg = TempPostgres::start().unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
    scenario(&pg.create_db("reassess").unwrap(), &dir);
    drop(pg);
}
