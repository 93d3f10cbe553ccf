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
        // the profiles as registered in November: iotrust-profile/1
        let text = std::fs::read_to_string(
            root()
                .join("crates/iotrust-registry/tests/fixtures/profiles-2026.11")
                .join(file),
        )
        .unwrap();
        let sub = submission_of(&old, text, &issuer(), |_| {});
        let out = reg
            .submit(&sub, Some(token), today())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(out.event.as_str(), "registered", "{file}");
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
        assert_eq!(last.event.as_str(), "reassessed", "{file}: {:?}", p.history);
        assert!(
            last.detail.starts_with("catalog 2026.11.0 → 2026.12.0: "),
            "{file}: {}",
            last.detail
        );
        assert_eq!(
            p.history
                .iter()
                .filter(|e| e.event.as_str() == "reassessed")
                .count(),
            1,
            "{file}: {:?}",
            p.history
        );
    }
    // What the 2026.12.0 changes alter for these products:
    // - the RED delegated act no longer excludes vehicles as a whole but derogates them from
    //   points (e) and (f) only, so the telematics unit comes into its scope under point (d);
    // - fact vocabulary 2 (issue 15): the November profiles stated conclusions
    //   (`auth.brute_force_protection = true`, `crypto.best_practice = true` …) where version 2
    //   asks for mechanisms. Those facts are now unknown, so the verdicts that rested on them
    //   are undecided until the makers restate them, and each history says which. That is why
    //   the telematics unit, now in the RED's scope, is undecided there rather than compliant:
    //   its November profile never said what protects its traffic.
    // - the schemes new in 2026.12.0 (issue 16) that reach them: the two international
    //   industry schemes (Connectivity Standards Alliance, ioXt) for all three, CTIA for the
    //   camera sold in the US, and EUCC (voluntary, EU) for every EU product — none reached,
    //   since none declares a certificate.
    let lock = |k: &str, from: &str| {
        format!("smart-lock.toml: {k}: Some(\"{from}\") → Some(\"no level (unknown)\")")
    };
    let mut want: Vec<String> = vec![
        r#"smart-lock.toml: csa-product-security@1.0: None → Some("no level (unknown)")"#
            .to_string(),
    ];
    want.extend(
        [
            ("en-18031-1@2024", "conformant (met)"),
            ("etsi-en-303-645@2.1.1", "conformant (met)"),
            ("etsi-en-303-645@3.1.3", "conformant (met)"),
            ("eu-cra@2024", "default (met)"),
            ("eu-red-da@2022", "compliant (met)"),
        ]
        .iter()
        .map(|(k, from)| lock(k, from)),
    );
    want.push(r#"smart-lock.toml: eucc@2024: None → Some("no level (unknown)")"#.to_string());
    // its 2026.11 profile said `integrity.secure_boot` and `crypto.reviewed_implementations`,
    // conclusions replaced since: unknown now, so the pledge's level is too
    want.push(
        r#"smart-lock.toml: ioxt-pledge@2020: None → Some("no level (unknown)")"#.to_string(),
    );
    want.extend(
        [
            ("sg-cls@1.4", "L4 (met)"),
            ("uk-psti@2023", "compliant (met)"),
        ]
        .iter()
        .map(|(k, from)| lock(k, from)),
    );
    want.extend([
        r#"smart-lock.toml: markets {"DE": "yes", "EU": "yes", "JP": "yes", "SG": "yes", "UK": "yes"} → {"DE": "undetermined", "EU": "undetermined", "JP": "yes", "SG": "yes", "UK": "undetermined"}"#.to_string(),
        r#"smart-lock.toml: tier Some("assured") ["public-procurement"] → None []"#.to_string(),
        r#"ip-camera.toml: csa-product-security@1.0: None → Some("no level (not-met)")"#.to_string(),
        r#"ip-camera.toml: ctia-iot-cybersecurity@1.0: None → Some("no level (not-met)")"#.to_string(),
        r#"ip-camera.toml: eucc@2024: None → Some("no level (unknown)")"#.to_string(),
        r#"ip-camera.toml: ioxt-pledge@2020: None → Some("no level (not-met)")"#.to_string(),
        r#"vehicle-telematics-unit.toml: csa-product-security@1.0: None → Some("no level (unknown)")"#.to_string(),
        r#"vehicle-telematics-unit.toml: eu-red-da@2022: None → Some("no level (unknown)")"#.to_string(),
        r#"vehicle-telematics-unit.toml: eucc@2024: None → Some("no level (unknown)")"#.to_string(),
        r#"vehicle-telematics-unit.toml: ioxt-pledge@2020: None → Some("no level (unknown)")"#.to_string(),
        r#"vehicle-telematics-unit.toml: markets {"EU": "yes"} → {"EU": "undetermined"}"#.to_string(),
    ]);
    assert_eq!(diff, want, "verdicts changed by the catalog:\n{shown}");
    assert_eq!(r.changed, 3, "{r:?}\n{shown}");
    let restated = |p: &ProductView| -> Vec<String> {
        p.history
            .iter()
            .filter(|e| e.event.as_str() == "restate-fact")
            .map(|e| e.detail.clone())
            .collect()
    };
    let restate = restated(&after[0]);
    assert_eq!(restate.len(), 15, "{restate:?}");
    assert!(
        restate.iter().any(|d| d.starts_with("`auth.brute_force_protection` was replaced in iotrust-profile/2 by auth.brute_force, auth.attempts_per_hour")),
        "{restate:?}"
    );
    let tcu = ids
        .iter()
        .zip(&after)
        .find_map(|((file, _), p)| (*file == "vehicle-telematics-unit.toml").then_some(p))
        .unwrap();
    assert!(
        restated(tcu)
            .iter()
            .any(|d| d.starts_with("`crypto.best_practice` was replaced")),
        "{:?}",
        tcu.history
    );
    assert!(
        tcu.history
            .iter()
            .any(|e| e.event.as_str() == "level-changed"
                && e.detail.starts_with("eu-red-da@2022: out of scope → ")),
        "{:?}",
        tcu.history
    );
    assert!(
        tcu.history
            .last()
            // RED (d), the two industry schemes and EUCC that now reach it
            .is_some_and(|e| e.detail.ends_with(": 4 change(s)")),
        "{:?}",
        tcu.history
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
