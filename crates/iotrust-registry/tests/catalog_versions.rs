//! Re-assessment across two real catalog versions: products registered under catalog
//! 2026.11.0 (the fixture kept in iotrust-catalog) are re-assessed when the registry is
//! reopened with the embedded 2026.12.0 — what `iotrust serve` does when it starts with a
//! changed catalog.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use iotrust_catalog::Catalog;
use iotrust_registry::{ProductView, Registry};

const OLD: &str = "2026.11.0";
const NEW: &str = "2026.12.0";

fn old_catalog() -> Arc<Catalog> {
    let dir = root().join("crates/iotrust-catalog/tests/fixtures/catalog-2026.11.0");
    Arc::new(Catalog::from_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
}

/// The example profiles registered, with their manufacturers' tokens.
const PRODUCTS: [(&str, &str); 3] = [
    ("smart-lock.toml", TOK_VERIDOR),
    ("ip-camera.toml", "tok-northwind-0123456789"),
    ("vehicle-telematics-unit.toml", "tok-nordwerk-0123456789"),
];

fn registry_access() -> iotrust_registry::Access {
    let mut a = access();
    a.manufacturers.extend([
        ("Northwind Optics".to_string(), PRODUCTS[1].1.to_string()),
        (
            "Nordwerk Automotive GmbH".to_string(),
            PRODUCTS[2].1.to_string(),
        ),
    ]);
    a
}

/// A product's verdicts: scheme → (level, conformance), and declared market → access.
fn verdicts(p: &ProductView) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let levels = p
        .levels
        .iter()
        .map(|l| {
            (
                l.scheme.clone(),
                format!(
                    "{} ({})",
                    l.level.as_deref().unwrap_or("no level"),
                    l.conformance
                ),
            )
        })
        .collect();
    (levels, p.markets.clone())
}

#[test]
fn products_registered_under_2026_11_are_reassessed_under_2026_12() {
    let dir = TempDir::new("catalog-versions");
    let db = dir.db();
    let old = old_catalog();
    assert_eq!(old.version(), OLD);

    // 1. registered under the 2026.11.0 catalog
    let reg = Registry::open(&db, old.clone(), registry_access()).unwrap();
    let mut ids = Vec::new();
    for (file, token) in PRODUCTS {
        let text = std::fs::read_to_string(root().join("examples/profiles").join(file)).unwrap();
        let sub = submission_of(&old, text, &issuer(), |_| {});
        let out = reg
            .submit(&sub, Some(token), today())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(out.event, "registered", "{file}");
        ids.push((file, out.id));
    }
    let before: Vec<ProductView> = ids
        .iter()
        .map(|(_, id)| reg.product(id, today()).unwrap())
        .collect();
    for p in &before {
        assert_eq!(p.catalog_version, OLD, "{}", p.id);
    }
    drop(reg);

    // 2. the registry restarted with the embedded 2026.12.0 catalog re-assesses
    let reg = Registry::open(&db, catalog(), registry_access()).unwrap();
    let r = reg.reassess(today()).unwrap();
    assert_eq!(r.catalog_version, NEW);
    assert_eq!((r.checked, r.failed.len()), (PRODUCTS.len(), 0), "{r:?}");
    let after: Vec<ProductView> = ids
        .iter()
        .map(|(_, id)| reg.product(id, today()).unwrap())
        .collect();

    // every verdict that differs between the two assessments, per product
    let diff: Vec<String> = ids
        .iter()
        .zip(&before)
        .zip(&after)
        .flat_map(|(((file, _), b), a)| {
            let ((bl, bm), (al, am)) = (verdicts(b), verdicts(a));
            let mut keys: Vec<&String> = bl.keys().chain(al.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            let mut d: Vec<String> = keys
                .into_iter()
                .filter(|k| bl.get(*k) != al.get(*k))
                .map(|k| format!("{file}: {k}: {:?} → {:?}", bl.get(k), al.get(k)))
                .collect();
            if bm != am {
                d.push(format!("{file}: markets {bm:?} → {am:?}"));
            }
            if (&b.assessed_tier, &b.profiles) != (&a.assessed_tier, &a.profiles) {
                d.push(format!(
                    "{file}: tier {:?} {:?} → {:?} {:?}",
                    b.assessed_tier, b.profiles, a.assessed_tier, a.profiles
                ));
            }
            d
        })
        .collect();
    let shown = diff.join("\n");

    // 3. each assessment is now under 2026.12.0, and each history says so
    for ((file, _), p) in ids.iter().zip(&after) {
        assert_eq!(p.catalog_version, NEW, "{file}");
        let last = p.history.last().unwrap();
        assert_eq!(last.event, "reassessed", "{file}: {:?}", p.history);
        assert!(
            last.detail.starts_with("catalog 2026.11.0 → 2026.12.0: "),
            "{file}: {}",
            last.detail
        );
        assert_eq!(
            p.history.iter().filter(|e| e.event == "reassessed").count(),
            1,
            "{file}: {:?}",
            p.history
        );
    }
    // The verdicts the 2026.12.0 changes alter for these products: the RED delegated act
    // no longer excludes vehicles as a whole but derogates them from points (e) and (f)
    // only, so the telematics unit comes into its scope under point (d) — which it meets;
    // and the new EUCC scheme (voluntary, EU) gives every EU product a level verdict, none
    // reached since none declares a certificate.
    assert_eq!(
        diff,
        [
            "smart-lock.toml: eucc@2024: None → Some(\"no level (unknown)\")",
            "ip-camera.toml: eucc@2024: None → Some(\"no level (unknown)\")",
            "vehicle-telematics-unit.toml: eu-red-da@2022: None → Some(\"compliant (met)\")",
            "vehicle-telematics-unit.toml: eucc@2024: None → Some(\"no level (unknown)\")",
        ],
        "verdicts changed by the catalog:\n{shown}"
    );
    assert_eq!(r.changed, 3, "{r:?}\n{shown}");
    let tcu = ids
        .iter()
        .zip(&after)
        .find_map(|((file, _), p)| (*file == "vehicle-telematics-unit.toml").then_some(p))
        .unwrap();
    assert!(
        tcu.history.iter().any(|e| e.event == "level-changed"
            && e.detail == "eu-red-da@2022: out of scope → level compliant (met)"),
        "{:?}",
        tcu.history
    );
    assert!(
        tcu.history
            .last()
            .is_some_and(|e| e.detail.ends_with(": 2 change(s)")),
        "{:?}",
        tcu.history
    );
    // point (d) is met: EU market access stays open
    assert_eq!(
        tcu.markets.get("EU").map(String::as_str),
        Some("yes"),
        "{shown}"
    );

    // 4. a second re-assessment under the same catalog changes nothing
    let again = reg.reassess(today()).unwrap();
    assert_eq!((again.checked, again.changed), (0, 0), "{again:?}");
    for ((file, id), a) in ids.iter().zip(&after) {
        let p = reg.product(id, today()).unwrap();
        assert_eq!(p.catalog_version, NEW, "{file}");
        assert_eq!(verdicts(&p), verdicts(a), "{file}");
        assert_eq!(p.history.len(), a.history.len(), "{file}: {:?}", p.history);
    }
}
