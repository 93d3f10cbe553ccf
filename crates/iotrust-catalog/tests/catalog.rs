//! The embedded catalog: counts, legal routes, version diffs, mappings, checks, recognition,
//! and the loader's errors for every class of bad data.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::path::{Path, PathBuf};

use iotrust_catalog::diff::{diff, ChangeKind};
use iotrust_catalog::model::{Basis, SchemeKind, Status};
use iotrust_catalog::{crosswalk, load, Catalog, CatalogError};

fn cat() -> Catalog {
    match Catalog::embedded() {
        Ok(c) => c,
        Err(CatalogError::Invalid(d)) => panic!(
            "embedded catalog invalid:\n{}",
            d.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
        Err(e) => panic!("{e}"),
    }
}

fn count(c: &Catalog, key: &str, status: Status) -> usize {
    c.scheme_by_key(key)
        .unwrap()
        .live_provisions()
        .filter(|p| p.status == status)
        .count()
}

#[test]
fn etsi_counts_match_annex_b() {
    let c = cat();
    let v2 = c.scheme_by_key("etsi-en-303-645@2.1.1").unwrap();
    assert_eq!(v2.live_provisions().count(), 68);
    assert_eq!(count(&c, "etsi-en-303-645@2.1.1", Status::Mandatory), 33);
    assert_eq!(count(&c, "etsi-en-303-645@2.1.1", Status::Recommended), 35);
    let v3 = c.scheme_by_key("etsi-en-303-645@3.1.3").unwrap();
    assert_eq!(v3.live_provisions().count(), 78);
    assert_eq!(count(&c, "etsi-en-303-645@3.1.3", Status::Mandatory), 36);
    assert_eq!(count(&c, "etsi-en-303-645@3.1.3", Status::Recommended), 42);
}

#[test]
fn other_scheme_counts() {
    let c = cat();
    let n = |k: &str| {
        c.scheme_by_key(k)
            .unwrap_or_else(|| panic!("{k} missing"))
            .live_provisions()
            .count()
    };
    // CRA: Annex I Part I (1) + (2)(a)-(m) = 14, Part II (1)-(8) = 8
    let cra = c.scheme_by_key("eu-cra@2024").unwrap();
    let part1 = cra
        .live_provisions()
        .filter(|p| p.id.starts_with("AnnexI-I-"))
        .count();
    let part2 = cra
        .live_provisions()
        .filter(|p| p.id.starts_with("AnnexI-II-"))
        .count();
    assert_eq!((part1, part2), (14, 8));
    assert!(cra.provision("Art13-support-period").is_some());
    assert!(cra.provision("Art14-1-vulnerabilities").is_some());
    // NIST: 8259A has 6 capabilities, 8259B 4, IR 8425 6 product + 4 developer
    let caps = |k: &str| {
        let s = c.scheme_by_key(k).unwrap();
        let mut p: Vec<String> = s
            .live_provisions()
            .map(|p| p.id.split('-').next().unwrap().to_string())
            .collect();
        p.sort();
        p.dedup();
        p.len()
    };
    assert_eq!(caps("nist-ir-8259a@2020"), 6);
    assert_eq!(caps("nist-ir-8259b@2021"), 4);
    assert_eq!(caps("nist-ir-8425@2022"), 10);
    assert_eq!(n("uk-cop@2018"), 13);
    assert_eq!(n("au-cop@2020"), 13);
    // JC-STAR STAR-1: 16 requirements; the first five and S1.1-16 (IPA's PSTI page) known
    let js = c.scheme_by_key("jp-jc-star@2025").unwrap();
    assert_eq!(js.live_provisions().count(), 16);
    assert_eq!(js.live_provisions().filter(|p| !p.known).count(), 10);
    // CLS has four levels, each with an assurance demand
    let cls = c.scheme_by_key("sg-cls@1.4").unwrap();
    let levels: Vec<&str> = cls.def.levels.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(levels, ["L1", "L2", "L3", "L4"]);
    let finland = c.scheme_by_key("fi-traficom-label@2019").unwrap();
    assert_eq!(
        finland.def.status,
        iotrust_catalog::model::SchemeStatus::Closed
    );
    for id in [
        "en-18031-1@2024",
        "en-18031-2@2024",
        "en-18031-3@2024",
        "us-ca-sb-327@2018",
        "au-smart-devices-rules@2025",
        "de-bsi-label@2022",
        "kr-cic@2024",
        "csde-c2@2019",
        "csde-anti-botnet-guide@2020",
        "nist-sp-800-213a@2021",
    ] {
        assert!(c.scheme_by_key(id).is_some(), "{id} missing");
    }
}

#[test]
fn psti_deemed_compliance_routes() {
    let c = cat();
    let psti = c.scheme_by_key("uk-psti@2023").unwrap();
    let routes = |id: &str| -> Vec<Vec<String>> {
        psti.provision(id)
            .unwrap()
            .routes
            .iter()
            .filter(|r| !r.all_of.is_empty())
            .map(|r| r.all_of.iter().map(|x| x.to_string()).collect())
            .collect()
    };
    assert_eq!(
        routes("Sch1-para1"),
        vec![vec![
            "etsi-en-303-645@2.1.1#5.1-1".to_string(),
            "etsi-en-303-645@2.1.1#5.1-2".to_string()
        ]]
    );
    assert_eq!(
        routes("Sch1-para2"),
        vec![
            vec!["etsi-en-303-645@2.1.1#5.2-1".to_string()],
            vec![
                "iso-iec-29147@2018#6.2.2".to_string(),
                "iso-iec-29147@2018#6.2.5".to_string(),
                "iso-iec-29147@2018#6.5".to_string()
            ],
        ]
    );
    assert_eq!(
        routes("Sch1-para3"),
        vec![vec!["etsi-en-303-645@2.1.1#5.3-13".to_string()]]
    );
    // the 2025 label routes: JC-STAR STAR-1 and any CLS level
    for id in ["Sch1-para1", "Sch1-para2", "Sch1-para3"] {
        let levels: Vec<String> = psti
            .provision(id)
            .unwrap()
            .routes
            .iter()
            .filter_map(|r| r.level.as_ref().map(|l| l.to_string()))
            .collect();
        assert_eq!(levels, ["jp-jc-star@2025#STAR-1", "sg-cls@1.4#L1"], "{id}");
    }
    // the crosswalk shows the routes as official deemed-compliance relations
    let cw = crosswalk::crosswalk(&c, psti, c.scheme_by_key("etsi-en-303-645@2.1.1").unwrap());
    let deemed: Vec<(&str, &str)> = cw
        .relations
        .iter()
        .filter(|r| r.relation == "deemed-compliance route")
        .map(|r| (r.from.as_str(), r.to.as_str()))
        .collect();
    assert_eq!(
        deemed,
        [
            ("Sch1-para1", "5.1-1"),
            ("Sch1-para1", "5.1-2"),
            ("Sch1-para2", "5.2-1"),
            ("Sch1-para3", "5.3-13")
        ]
    );
    assert!(cw
        .relations
        .iter()
        .filter(|r| r.relation == "deemed-compliance route")
        .all(|r| r.strength == Basis::Official));
}

#[test]
fn etsi_v2_to_v3_diff() {
    let c = cat();
    let d = diff(
        c.scheme_by_key("etsi-en-303-645@2.1.1").unwrap(),
        c.scheme_by_key("etsi-en-303-645@3.1.3").unwrap(),
    );
    let ids = |k: ChangeKind| -> Vec<String> {
        d.changes
            .iter()
            .filter(|x| x.kind == k)
            .map(|x| x.provision.clone())
            .collect()
    };
    assert_eq!(
        ids(ChangeKind::Removed),
        ["4-1", "5.3-4", "5.3-6", "5.3-15", "5.6-4", "5.13-1", "6-3"]
    );
    assert_eq!(
        ids(ChangeKind::Added),
        [
            "5.0-1", "5.1-2A", "5.3-4A", "5.3-4B", "5.3-6A", "5.3-6B", "5.3-15A", "5.3-15B",
            "5.6-4A", "5.6-4B", "5.13-1A", "5.13-1B", "6-3A", "6-3B", "6-6", "6-7", "6-8"
        ]
    );
    let change = |id: &str| {
        d.changes
            .iter()
            .find(|x| x.provision == id)
            .unwrap()
            .details
            .join("; ")
    };
    assert!(
        change("5.3-4").contains("replaced by 5.3-4A, 5.3-4B"),
        "{}",
        change("5.3-4")
    );
    assert!(change("5.3-4A").contains("replaces 5.3-4"));
    assert!(
        change("5.1-1").contains("status M C1 -> M Fa"),
        "{}",
        change("5.1-1")
    );
    assert_eq!((d.from_count, d.to_count), (68, 78));
}

#[test]
fn every_mandatory_law_provision_is_mapped_or_explained() {
    let c = cat();
    for s in c
        .schemes
        .iter()
        .filter(|s| s.def.kind == SchemeKind::MandatoryLaw)
    {
        for p in s.live_provisions() {
            assert!(
                !p.outcomes.is_empty()
                    || p.unmapped_reason
                        .as_deref()
                        .is_some_and(|r| !r.trim().is_empty()),
                "{} {} maps to no outcome and gives no reason",
                s.key,
                &*p.id
            );
        }
    }
}

#[test]
fn every_outcome_is_used_and_has_phases() {
    let c = cat();
    for o in &c.outcomes {
        assert!(!o.def.phases.is_empty());
        let mapped = !c.provisions_for_outcome(&o.def.id).is_empty();
        assert!(
            mapped != o.def.own.is_some(),
            "outcome {}: mapped by a provision xor `own` (iotrust-only, with its reason)",
            &*o.def.id
        );
    }
    let n = c.outcomes.len();
    assert!((40..=100).contains(&n), "{n} outcomes");
}

#[test]
fn every_tier_outcome_exists_and_tiers_cover_all_outcomes() {
    let c = cat();
    let top = c.tiers.last().unwrap();
    assert_eq!(
        top.outcomes.len(),
        c.outcomes.len(),
        "the top tier covers every outcome"
    );
    let ids: Vec<&str> = c.tiers.iter().map(|t| t.def.id.as_str()).collect();
    assert_eq!(ids, ["baseline", "essential", "assured", "advanced"]);
    assert!(c.tier("public-procurement").is_some());
}

#[test]
fn recognition_arrangements_are_dated_and_directed() {
    let c = cat();
    let has = |from: &str, to: &str| {
        c.recognitions
            .iter()
            .any(|r| r.def.from.starts_with(from) && r.def.to.starts_with(to))
    };
    assert!(has("fi-traficom-label@2019#label", "sg-cls@1.4#L3"));
    assert!(has("sg-cls@1.4#L3", "fi-traficom-label@2019#label"));
    assert!(has("de-bsi-label@2022#label", "sg-cls@1.4#L2"));
    assert!(has("sg-cls@1.4#L2", "de-bsi-label@2022#label"));
    assert!(has("kr-cic@2024#Basic", "sg-cls@1.4#L3"));
    assert!(has("sg-cls@1.4#L1", "uk-psti@2023#compliant"));
    assert!(has("jp-jc-star@2025#STAR-1", "sg-cls@1.4#L1"));
    assert!(has("jp-jc-star@2025#STAR-1", "uk-psti@2023#compliant"));
    let routers = c
        .recognitions
        .iter()
        .filter(|r| {
            r.def
                .scope
                .as_ref()
                .is_some_and(|s| s.categories.iter().any(|x| x.as_str() == "router"))
        })
        .count();
    assert!(
        routers >= 1,
        "the 2024 router extension is scoped to routers"
    );
    for r in &c.recognitions {
        assert!(
            r.effective.or(r.signed).is_some(),
            "{} has no date",
            &*r.def.id
        );
    }
}

#[test]
fn unknowns_are_recorded_not_invented() {
    let c = cat();
    let cls = c.scheme_by_key("sg-cls@1.4").unwrap();
    assert!(!cls.def.unknowns.is_empty());
    assert!(cls
        .def
        .levels
        .iter()
        .all(|l| l.completeness != iotrust_catalog::model::Completeness::Complete));
    let js = c.scheme_by_key("jp-jc-star@2025").unwrap();
    for i in 6..=15 {
        let p = js.provision(&format!("S1.1-{i:02}")).unwrap();
        assert!(
            !p.known && p.outcomes.is_empty(),
            "STAR-1 item {i} must stay unknown"
        );
    }
}

#[test]
fn every_check_compiles_and_reads_known_facts() {
    // compiled at load; this proves every outcome has a compiled check
    let c = cat();
    for o in &c.outcomes {
        assert!(
            !o.check.facts().is_empty() || o.check.source().contains("true"),
            "{}",
            &*o.def.id
        );
    }
    for s in &c.schemes {
        assert_eq!(
            s.conditions.len(),
            s.def.conditions.len(),
            "{}: every condition compiled",
            s.key
        );
    }
}

// ------------------------------------------------------------------------- bad data

fn catalog_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog")
}

/// The real catalog's files with one file replaced.
fn with_file(path: &str, text: &str) -> Vec<(String, String)> {
    let mut files = load::dir_files(&catalog_dir()).unwrap();
    match files.iter_mut().find(|(p, _)| p == path) {
        Some(f) => f.1 = text.to_string(),
        None => files.push((path.to_string(), text.to_string())),
    }
    files
}

fn errors(files: &[(String, String)]) -> Vec<String> {
    match load::load(files) {
        Ok(_) => Vec::new(),
        Err(CatalogError::Invalid(d)) => d.iter().map(|x| x.to_string()).collect(),
        Err(e) => vec![e.to_string()],
    }
}

fn psti() -> String {
    std::fs::read_to_string(catalog_dir().join("schemes/uk-psti/2023.yaml")).unwrap()
}

fn expect_error(files: &[(String, String)], file: &str, line: usize, id: Option<&str>, msg: &str) {
    let errs = errors(files);
    let want_prefix = format!("{file}:{line}: ");
    let ok = errs.iter().any(|e| {
        e.starts_with(&want_prefix)
            && e.contains(msg)
            && id.is_none_or(|i| e.contains(&format!("`{i}`")))
    });
    assert!(
        ok,
        "expected `{want_prefix}` … `{msg}` (id {id:?}); got:\n{}",
        errs.join("\n")
    );
}

#[test]
fn yaml_syntax_error_names_file_and_line() {
    let bad = psti().replacen("kind: mandatory-law", "kind: [mandatory-law", 1);
    expect_error(
        &with_file("schemes/uk-psti/2023.yaml", &bad),
        "catalog/schemes/uk-psti/2023.yaml",
        5,
        None,
        "YAML syntax error",
    );
    let errs = errors(&with_file("schemes/uk-psti/2023.yaml", &bad));
    assert_eq!(
        errs.len(),
        1,
        "no cascade of errors from references into the broken file: {errs:?}"
    );
}

#[test]
fn unknown_field_names_field_and_line() {
    let bad = psti().replacen(
        "    status: mandatory\n    phase: design",
        "    status: mandatory\n    colour: blue\n    phase: design",
        1,
    );
    let line = bad
        .lines()
        .position(|l| l.contains("colour: blue"))
        .unwrap()
        + 1;
    expect_error(
        &with_file("schemes/uk-psti/2023.yaml", &bad),
        "catalog/schemes/uk-psti/2023.yaml",
        line,
        None,
        "unknown field `colour`",
    );
}

#[test]
fn duplicate_id_is_reported() {
    let bad = psti().replacen("  - id: Sch1-para2", "  - id: Sch1-para1", 1);
    let line = bad
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "- id: Sch1-para1")
        .nth(1)
        .unwrap()
        .0
        + 1;
    expect_error(
        &with_file("schemes/uk-psti/2023.yaml", &bad),
        "catalog/schemes/uk-psti/2023.yaml",
        line,
        Some("Sch1-para1"),
        "duplicate provision id",
    );
}

#[test]
fn reference_to_missing_provision_and_outcome() {
    let bad = psti()
        .replacen(
            "etsi-en-303-645@2.1.1#5.1-2\"",
            "etsi-en-303-645@2.1.1#5.1-99\"",
            1,
        )
        .replacen(
            "outcome: statement-of-compliance",
            "outcome: no-such-outcome",
            1,
        );
    let files = with_file("schemes/uk-psti/2023.yaml", &bad);
    let l1 = bad.lines().position(|l| l.contains("5.1-99")).unwrap() + 1;
    let l2 = bad
        .lines()
        .position(|l| l.contains("no-such-outcome"))
        .unwrap()
        + 1;
    expect_error(
        &files,
        "catalog/schemes/uk-psti/2023.yaml",
        l1,
        Some("Sch1-para1"),
        "has no provision `5.1-99`",
    );
    expect_error(
        &files,
        "catalog/schemes/uk-psti/2023.yaml",
        l2,
        Some("Reg7-SoC"),
        "outcome `no-such-outcome` does not exist",
    );
    assert!(
        errors(&files).len() >= 2,
        "validate reports every error, not only the first"
    );
}

#[test]
fn check_that_does_not_compile() {
    let outcomes = std::fs::read_to_string(catalog_dir().join("outcomes.yaml")).unwrap();
    let bad = outcomes.replacen(
        "check: \"auth.change_supported\"",
        "check: \"auth.change_suported && \"",
        1,
    );
    let line = bad
        .lines()
        .position(|l| l.contains("auth.change_suported"))
        .unwrap()
        + 1;
    expect_error(
        &with_file("outcomes.yaml", &bad),
        "catalog/outcomes.yaml",
        line,
        Some("changeable-credentials"),
        "unknown fact `auth.change_suported`",
    );
    let bad2 = outcomes
        .replacen("'universal-default'", "'universal-defaults'", 0)
        .replacen(
            "auth.password_model in ['unique-per-device', 'user-defined'] && !default",
            "auth.password_model in ['unique', 'user-defined'] && !default",
            1,
        );
    expect_error(
        &with_file("outcomes.yaml", &bad2),
        "catalog/outcomes.yaml",
        12,
        Some("no-universal-default-password"),
        "`unique` is not an allowed value",
    );
    assert_eq!(
        errors(&with_file("outcomes.yaml", &bad2)).len(),
        1,
        "no cascade from tiers naming the broken outcome"
    );
}

#[test]
fn mandatory_provision_without_mapping_is_an_error() {
    let bad = psti().replacen(
        "    outcomes:\n      - outcome: statement-of-compliance\n        basis: official\n        source: {ref: \"SI 2023/1007 reg 7, Sch 4\", confidence: H}\n",
        "",
        1,
    );
    assert_ne!(bad, psti());
    let line = bad
        .lines()
        .position(|l| l.contains("id: Reg7-SoC"))
        .unwrap()
        + 1;
    expect_error(
        &with_file("schemes/uk-psti/2023.yaml", &bad),
        "catalog/schemes/uk-psti/2023.yaml",
        line,
        Some("Reg7-SoC"),
        "must map to at least one outcome",
    );
}

#[test]
fn bad_date_and_misplaced_file() {
    let bad = psti().replacen("in_force: 2024-04-29", "in_force: 2024-02-30", 1);
    let line = bad.lines().position(|l| l.contains("2024-02-30")).unwrap() + 1;
    expect_error(
        &with_file("schemes/uk-psti/2023.yaml", &bad),
        "catalog/schemes/uk-psti/2023.yaml",
        line,
        None,
        "not a valid date",
    );
    let files = with_file("schemes/uk-psti/2024.yaml", &psti());
    expect_error(
        &files,
        "catalog/schemes/uk-psti/2024.yaml",
        1,
        None,
        "a scheme file must be at `schemes/uk-psti/2023.yaml`",
    );
}

#[test]
fn the_repository_catalog_dir_equals_the_embedded_one() {
    let from_dir = Catalog::from_dir(&catalog_dir()).unwrap();
    let emb = cat();
    assert_eq!(from_dir.schemes.len(), emb.schemes.len());
    assert_eq!(from_dir.version(), emb.version());
}

/// docs/tiers.md states how many outcomes each tier adds; keep it true.
#[test]
fn docs_tiers_table_matches_the_catalog() {
    let c = cat();
    let doc = std::fs::read_to_string(catalog_dir().join("../docs/tiers.md")).unwrap();
    for (i, t) in c.tiers.iter().enumerate() {
        let row = doc
            .lines()
            .find(|l| {
                l.to_lowercase()
                    .starts_with(&format!("| **{}** |", &*t.def.id))
            })
            .unwrap_or_else(|| panic!("docs/tiers.md has no row for tier {}", &*t.def.id));
        let cell = row.split('|').nth(2).unwrap().trim();
        let added = t.def.outcomes.len();
        let want = if i == 0 {
            added.to_string()
        } else if i + 1 == c.tiers.len() && t.outcomes.len() == c.outcomes.len() {
            format!("every outcome ({})", c.outcomes.len())
        } else {
            format!(
                "{} + {added}",
                c.tiers[i - 1].def.title.trim_start_matches("iotrust ")
            )
        };
        assert_eq!(cell, want, "docs/tiers.md row for {}", &*t.def.id);
    }
}

// ----------------------------------------------------------------------------- catalog 2026.12.0

#[test]
fn catalog_version_is_2026_12_0() {
    let c = cat();
    assert_eq!(c.version(), "2026.12.0");
    assert_eq!(c.date.unwrap().to_string(), "2026-12-07");
}

#[test]
fn psti_label_routes_run_from_si_2025_1267() {
    let c = cat();
    let psti = c.scheme_by_key("uk-psti@2023").unwrap();
    for pid in ["Sch1-para1", "Sch1-para2", "Sch1-para3", "Reg7-SoC"] {
        let pi = psti
            .def
            .provisions
            .iter()
            .position(|p| *p.id == pid)
            .unwrap();
        let p = &psti.def.provisions[pi];
        for (rid, level) in [
            ("jc-star", "jp-jc-star@2025#STAR-1"),
            ("cls", "sg-cls@1.4#L1"),
        ] {
            let ri = p
                .routes
                .iter()
                .position(|r| *r.id == rid)
                .unwrap_or_else(|| panic!("{pid} has no {rid} route"));
            let r = &p.routes[ri];
            assert_eq!(
                r.level.as_deref().map(|s| s.as_str()),
                Some(level),
                "{pid} {rid}"
            );
            assert_eq!(
                psti.route_effective[pi][ri].unwrap().to_string(),
                "2025-12-04",
                "{pid} {rid}: the legal route runs from SI 2025/1267's entry into force"
            );
            assert!(r.source.reference.contains("SI 2025/1267"), "{pid} {rid}");
        }
    }
    // the statement-of-compliance duty is met by the labels too (reg 4A, Sch 2A)
    let soc = psti.provision("Reg7-SoC").unwrap();
    assert!(soc
        .routes
        .iter()
        .all(|r| r.source.reference.contains("reg 4A")));
    let r = c
        .recognitions
        .iter()
        .find(|r| *r.def.id == "sg-cls-to-uk-psti")
        .unwrap();
    assert_eq!(r.effective.unwrap().to_string(), "2025-12-04");
    assert!(r.def.source.reference.contains("SI 2025/1267"));
}

#[test]
fn psti_to_star1_covers_exactly_three_checklist_items() {
    let c = cat();
    let r = c
        .recognitions
        .iter()
        .find(|r| *r.def.id == "uk-psti-to-jp-star1")
        .unwrap();
    let items: Vec<&str> = r.def.provisions.iter().map(|p| p.as_str()).collect();
    assert_eq!(items, ["S1.1-02", "S1.1-05", "S1.1-16"]);
    assert!(r.partial());
    assert_eq!(r.effective.unwrap().to_string(), "2026-01-01");
    assert!(!r.in_effect("2025-12-31".parse().unwrap()));
    let star = c.scheme_by_key("jp-jc-star@2025").unwrap();
    let p16 = star.provision("S1.1-16").unwrap();
    assert_eq!(p16.title, "Provide product information");
    assert!(p16.known && p16.status == Status::Mandatory);
}

#[test]
fn partial_recognition_must_name_provisions_of_its_target() {
    let text = std::fs::read_to_string(catalog_dir().join("recognition.yaml"))
        .unwrap()
        .replacen("[S1.1-02, S1.1-05, S1.1-16]", "[S1.1-02, S1.1-99]", 1);
    let files = with_file("recognition.yaml", &text);
    let line = text.lines().position(|l| l.contains("S1.1-99")).unwrap() + 1;
    expect_error(
        &files,
        "catalog/recognition.yaml",
        line,
        Some("uk-psti-to-jp-star1"),
        "`S1.1-99` is not a provision of `jp-jc-star@2025`",
    );
}

#[test]
fn red_derogates_vehicles_from_e_and_f_only() {
    let c = cat();
    let red = c.scheme_by_key("eu-red-da@2022").unwrap();
    let ex: Vec<_> = red.def.scope.excludes.iter().collect();
    let vehicle = ex
        .iter()
        .position(|e| e.categories.iter().any(|x| x.as_str() == "vehicle"))
        .unwrap();
    let provs: Vec<&str> = ex[vehicle].provisions.iter().map(|p| p.as_str()).collect();
    assert_eq!(provs, ["Art3-3-e", "Art3-3-f"]);
    let idx = |id: &str| red.def.provisions.iter().position(|p| *p.id == id).unwrap();
    assert!(
        red.provision_derogations[idx("Art3-3-d")].is_empty(),
        "(d) still applies to vehicles"
    );
    assert_eq!(red.provision_derogations[idx("Art3-3-e")], vec![vehicle]);
    assert_eq!(red.provision_derogations[idx("Art3-3-f")], vec![vehicle]);
    // medical devices are derogated from all three points: a whole-scheme exclusion
    let medical = ex
        .iter()
        .find(|e| e.categories.iter().any(|x| x.as_str() == "medical-device"))
        .unwrap();
    assert!(medical.provisions.is_empty());
    assert_eq!(
        medical.source.as_ref().unwrap().confidence,
        iotrust_catalog::model::Confidence::H
    );
}

#[test]
fn derogation_must_name_a_provision_of_the_scheme() {
    let text = std::fs::read_to_string(catalog_dir().join("schemes/eu-red-da/2022.yaml"))
        .unwrap()
        .replacen(
            "provisions: [Art3-3-e, Art3-3-f]",
            "provisions: [Art3-3-e, Art3-3-x]",
            1,
        );
    let files = with_file("schemes/eu-red-da/2022.yaml", &text);
    let line = text.lines().position(|l| l.contains("Art3-3-x")).unwrap() + 1;
    expect_error(
        &files,
        "catalog/schemes/eu-red-da/2022.yaml",
        line,
        Some("eu-red-da@2022"),
        "`Art3-3-x`, which is not a provision of this scheme",
    );
}

#[test]
fn en_18031_dates_and_restrictions() {
    let c = cat();
    for part in ["1", "2", "3"] {
        let s = c.scheme_by_key(&format!("en-18031-{part}@2024")).unwrap();
        assert_eq!(
            s.published.unwrap().to_string(),
            "2024-08-14",
            "part {part}"
        );
        let note = s.def.status_note.as_deref().unwrap();
        assert!(
            note.contains("30 Jan 2025") && note.contains("6.2.5.1"),
            "part {part}"
        );
        assert_eq!(
            note.contains("parental/guardian"),
            part == "2",
            "part {part}"
        );
    }
}

#[test]
fn cra_implementing_regulation_2025_2392_dates() {
    let c = cat();
    let cra = c.scheme_by_key("eu-cra@2024").unwrap();
    let u = cra
        .def
        .unknowns
        .iter()
        .find(|u| u.known.as_deref().is_some_and(|k| k.contains("2025/2392")))
        .unwrap();
    let k = u.known.as_deref().unwrap();
    assert!(k.contains("28 Nov 2025") && k.contains("1 Dec 2025") && k.contains("21 Dec 2025"));
    assert!(cra
        .def
        .unknowns
        .iter()
        .any(|u| u.known.as_deref().is_some_and(|k| k.contains("M/606"))));
}

#[test]
fn authorities_of_the_cyber_trust_mark_and_australia() {
    use iotrust_catalog::model::AuthorityRole;
    let c = cat();
    let ctm = c.scheme_by_key("us-cyber-trust-mark@2024").unwrap();
    let cla = ctm
        .def
        .authorities
        .iter()
        .find(|a| a.role == AuthorityRole::Administrator)
        .unwrap();
    assert_eq!(
        cla.count,
        Some(10),
        "CTIA withdrew in Aug 2025: 10 CLAs, not 11"
    );
    let au = c.scheme_by_key("au-smart-devices-rules@2025").unwrap();
    let enf = au
        .def
        .authorities
        .iter()
        .find(|a| a.role == AuthorityRole::Enforcer)
        .unwrap();
    assert_eq!(enf.name, "Secretary of the Department of Home Affairs");
    assert!(enf.basis.as_deref().unwrap().contains("ss 17 "));
    assert!(!au.def.publisher.contains("ACMA"));
}

#[test]
fn public_procurement_requires_the_cyber_trust_mark_from_2027_01_04() {
    let c = cat();
    let p = c.tier("public-procurement").unwrap();
    assert_eq!(p.def.labels.len(), 1);
    assert_eq!(*p.def.labels[0].level, "us-cyber-trust-mark@2024#mark");
    assert_eq!(p.label_from[0].unwrap().to_string(), "2027-01-04");
    assert!(p.def.labels[0].source.reference.contains("14306"));
}

#[test]
fn catalog_diff_from_2026_11_0_shows_every_change() {
    use iotrust_catalog::diff::catalog_diff;
    let old = Catalog::from_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalog-2026.11.0"),
    )
    .unwrap();
    assert_eq!(old.version(), "2026.11.0");
    let new = cat();
    let d = catalog_diff(&old, &new);
    assert_eq!(
        (d.from_version.as_str(), d.to_version.as_str()),
        ("2026.11.0", "2026.12.0")
    );
    let has = |item: &str, needle: &str| {
        let c = d
            .item(item)
            .unwrap_or_else(|| panic!("no change for {item}"));
        assert!(
            c.details.iter().any(|l| l.contains(needle)),
            "{item}: no line with `{needle}` in\n{}",
            c.details.join("\n")
        );
    };
    has("catalog", "version: 2026.11.0 -> 2026.12.0");
    has(
        "scheme uk-psti@2023",
        "provisions[Sch1-para1].routes[cls].effective: 2026-01-01 -> 2025-12-04",
    );
    has("scheme uk-psti@2023", "provisions[Reg7-SoC].routes added");
    has("scheme uk-psti@2023", "authorities added");
    has(
        "recognition uk-psti-to-jp-star1",
        "provisions added: [\"S1.1-02\",\"S1.1-05\",\"S1.1-16\"]",
    );
    has(
        "recognition uk-psti-to-jp-star1",
        "effective added: 2026-01-01",
    );
    has(
        "recognition sg-cls-to-uk-psti",
        "effective: 2026-01-01 -> 2025-12-04",
    );
    has("scheme jp-jc-star@2025", "provisions[S1.1-16].title: STAR-1 requirement 16 (content not established) -> Provide product information");
    has("scheme jp-jc-star@2025", "only STAR-1 is in operation");
    has(
        "scheme eu-red-da@2022",
        "\"provisions\":[\"Art3-3-e\",\"Art3-3-f\"]",
    );
    for part in ["1", "2", "3"] {
        has(
            &format!("scheme en-18031-{part}@2024"),
            "dates.published added: 2024-08-14",
        );
    }
    has("scheme eu-cra@2024", "2025/2392");
    has("scheme us-cyber-trust-mark@2024", "\"count\":10");
    has("profile public-procurement", "labels added");
    has(
        "scheme au-smart-devices-rules@2025",
        "enforced by ACMA -> Australian Government (Department of Home Affairs)",
    );
    has("scheme de-bsi-label@2022", "NIS2 implementation act");
    has("scheme kr-cic@2024", "KISA");
    has("scheme sg-cls@1.4", "MDDI press release of 2 Mar 2026");
    assert!(new
        .scheme_by_key("sg-cls@1.4")
        .unwrap()
        .def
        .scope
        .note
        .as_deref()
        .unwrap()
        .contains("catalogued as sg-cls-md@2024"));
    has("scheme nist-ir-8425@2022", "IR 8425A");
    // issue 16: twelve schemes, two crosswalks and one fact (product.carrier_connected, the
    // direct-connection condition of Japan's terminal rules) added, jurisdictions IN, BR, US-OR,
    // TW, IL and VN; nothing removed, and no outcome or other item was added
    // (fact vocabulary 2, issue 15, adds facts and outcomes of its own: only schemes,
    // crosswalks and the issue-16 fact are listed here)
    // and eucc with the four facts of the CRA product classes (product.functions, conformity.*)
    let mut added: Vec<&str> = d
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Added)
        .map(|c| c.item.as_str())
        .filter(|i| {
            i.starts_with("scheme ")
                || i.starts_with("crosswalk ")
                || i.starts_with("fact conformity.")
                || matches!(
                    *i,
                    "fact product.carrier_connected" | "fact product.functions"
                )
        })
        .collect();
    added.sort_unstable();
    assert_eq!(
        added,
        [
            "crosswalk catalog/crosswalks/dcms-cop-ioxt.yaml",
            "crosswalk catalog/crosswalks/nist-8425a-8425.yaml",
            "fact conformity.internal_control",
            "fact conformity.notified_body",
            "fact conformity.standards_applied_in_full",
            "fact product.carrier_connected",
            "fact product.functions",
            "scheme br-anatel-ato-77@2021",
            "scheme csa-product-security@1.0",
            "scheme ctia-iot-cybersecurity@1.0",
            "scheme eucc@2024",
            "scheme il-cpa-iot-disclosure@2022",
            "scheme in-cctv-er@2024",
            "scheme ioxt-pledge@2020",
            "scheme jp-terminal-equipment-rules@2020",
            "scheme nist-ir-8425a@2024",
            "scheme sg-cls-md@2024",
            "scheme tw-taics-iot-mark@2018",
            "scheme us-or-hb-2395@2019",
            "scheme vn-qcvn-11@2026",
        ]
    );
    // issue 15: fact vocabulary 2 adds these facts and outcomes and removes the facts it replaced
    for item in [
        "fact auth.attempts_per_hour",
        "fact auth.brute_force",
        "fact auth.cleartext_password_interfaces",
        "fact auth.default_password_origin",
        "fact auth.password_storage",
        "fact auth.weak_verifier_interfaces",
        "fact comms.legacy_crypto_offered",
        "fact comms.plain_interfaces",
        "fact docs.intended_use",
        "fact docs.manufacturer_contact",
        "fact docs.secure_use_instructions",
        "fact docs.support_period_stated",
        "fact docs.vulnerability_contact",
        "fact support.notice_months",
        "fact support.period_kind",
        "fact storage.secrets_at_rest",
        "fact surface.privilege_separation",
        "fact updates.anti_rollback",
        "fact updates.signature_algorithm",
        "fact updates.signed",
        "fact vdp.day_kind",
        "fact auth.factory_default_password",
        "fact auth.setup_replaces_default_password",
        "fact updates.updatable",
        "fact updates.automatic",
        "fact input.robustness_testing",
        "fact input.malformed_input_failure",
        "fact resilience.rate_limiting",
        "fact resilience.flood_test",
        "fact setup.security_features_off_by_default",
        "fact setup.factory_reset",
        "fact dev.process",
        "fact dev.code_review",
        "fact dev.static_analysis",
        "fact data.inventory",
        "fact data.items_without_purpose",
        "fact data.retention_enforced",
        "fact crypto.key_rotation",
        "outcome intended-use-information",
        "outcome manufacturer-contact-information",
        "outcome secure-use-instructions",
        "outcome support-period-information",
        "outcome update-cryptography",
        "outcome update-rollback-protection",
        "outcome vulnerability-contact-information",
    ] {
        assert!(
            d.changes
                .iter()
                .any(|c| c.kind == ChangeKind::Added && c.item == item),
            "{item} not added"
        );
    }
    let mut removed: Vec<&str> = d
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Removed)
        .map(|c| c.item.as_str())
        .collect();
    removed.sort_unstable();
    assert_eq!(
        removed,
        [
            "fact auth.best_practice_crypto",
            "fact auth.brute_force_protection",
            "fact auth.passwords_unpredictable",
            "fact crypto.best_practice",
            "fact crypto.key_management",
            "fact crypto.reviewed_implementations",
            "fact data.minimised",
            "fact dev.secure_development",
            "fact docs.user_information",
            "fact input.validated",
            "fact integrity.secure_boot",
            "fact resilience.dos",
            "fact setup.secure_by_default",
            "fact storage.secure_parameters",
            "fact surface.least_privilege",
            "fact updates.best_practice_crypto",
            "fact updates.mechanism",
            "fact updates.secure",
        ]
    );
    for j in ["IN", "BR", "US-OR", "TW", "IL", "VN"] {
        has("catalog", j);
    }
    has("scheme eu-cra@2024", "product_classes added");
}

// ------------------------------------------------------------ issue 16: schemes the catalog lacked

#[test]
fn issue_16_schemes_counts_scopes_jurisdictions_sources() {
    let c = cat();
    for j in ["IN", "BR"] {
        assert!(
            c.meta.jurisdictions.iter().any(|x| x.id.as_str() == j),
            "jurisdiction {j} missing"
        );
    }
    // (scheme, jurisdiction, kind, live provisions, mandatory, scope categories)
    type Want<'a> = (&'a str, &'a str, SchemeKind, usize, usize, &'a [&'a str]);
    let want: [Want; 3] = [
        (
            "in-cctv-er@2024",
            "IN",
            SchemeKind::MandatoryLaw,
            7,
            7,
            &["ip-camera"],
        ),
        (
            "nist-ir-8425a@2024",
            "US",
            SchemeKind::Standard,
            12,
            0,
            &["router"],
        ),
        (
            "br-anatel-ato-77@2021",
            "BR",
            SchemeKind::MandatoryLaw,
            9,
            9,
            &["router"],
        ),
    ];
    for (key, jur, kind, n, mandatory, scope) in want {
        let s = c
            .scheme_by_key(key)
            .unwrap_or_else(|| panic!("{key} missing"));
        assert_eq!(&*s.def.jurisdiction, jur, "{key}");
        assert_eq!(s.def.kind, kind, "{key}");
        assert_eq!(s.live_provisions().count(), n, "{key}");
        assert_eq!(count(&c, key, Status::Mandatory), mandatory, "{key}");
        let inc: Vec<&str> = s.def.scope.includes.iter().map(|x| x.as_str()).collect();
        assert_eq!(inc, scope, "{key}");
        assert!(!s.def.unknowns.is_empty(), "{key}: unknowns recorded");
        for p in s.live_provisions() {
            assert!(p.source.is_some(), "{key}#{}: no source", &*p.id);
            for m in &p.outcomes {
                // every mapping carries a source (the type demands it); no authority published a
                // mapping for any of the three, so all are ours
                assert!(!m.source.reference.is_empty());
                assert_eq!(*m.basis, Basis::Inferred, "{key}#{}", &*p.id);
            }
        }
        // every level admits that its provision list is not complete
        assert!(s
            .def
            .levels
            .iter()
            .all(|l| l.completeness == iotrust_catalog::model::Completeness::Partial));
    }
    // India: the five headline requirements of the Annexure plus two testing-parameter groups;
    // the route is lab testing and BIS registration
    let india = c.scheme_by_key("in-cctv-er@2024").unwrap();
    for i in 1..=5 {
        assert!(india.provision(&format!("ER-{i}")).is_some());
    }
    assert!(india.provision("TP-hardware").unwrap().outcomes.is_empty());
    let reg = &india.def.levels[0];
    assert_eq!(reg.id.as_str(), "registered");
    assert_eq!(reg.assurance, iotrust_catalog::model::Assurance::LabTested);
    assert_eq!(india.applies_from.unwrap().to_string(), "2025-04-09");
    assert!(india
        .def
        .unknowns
        .iter()
        .any(|u| u.known.as_deref().is_some_and(|k| k.contains("9 Oct 2024"))));
    // IR 8425A: the ten IR 8425 capabilities, each covering the baseline's criteria, plus two
    // router-specific items
    let r = c.scheme_by_key("nist-ir-8425a@2024").unwrap();
    assert_eq!(r.published.unwrap().to_string(), "2024-09-10");
    let base = c.scheme_by_key("nist-ir-8425@2022").unwrap();
    let cw = crosswalk::crosswalk(&c, r, base);
    let caps: Vec<&str> = r
        .live_provisions()
        .map(|p| p.id.as_str())
        .filter(|id| !id.starts_with("R-"))
        .collect();
    assert_eq!(
        caps,
        ["AI", "PC", "DP", "IAC", "SU", "CSA", "DOC", "IQR", "ID", "PEA"]
    );
    for cap in caps {
        assert!(
            cw.relations.iter().any(|x| x.from == cap
                && x.relation == "covers"
                && x.to.starts_with(&format!("{cap}-"))),
            "{cap} covers no IR 8425 criterion"
        );
    }
    // Brazil: Ato 2436/2023 (CPE) is recorded, not modelled
    let br = c.scheme_by_key("br-anatel-ato-77@2021").unwrap();
    assert!(br.def.unknowns.iter().any(|u| u.what.contains("Ato 2436")));
}

// ------------------------------------------------ issue 16: the remaining laws, labels and industry schemes

/// The provision ids a level resolves to (its own, `all_*` and `includes` expanded).
fn level_ids<'a>(s: &'a iotrust_catalog::Scheme, level: &str) -> Vec<&'a str> {
    let (i, _) = s
        .level(level)
        .unwrap_or_else(|| panic!("{}: no level {level}", s.key));
    let mut ids: Vec<&str> = s.level_provisions[i]
        .iter()
        .map(|&p| s.def.provisions[p].id.as_str())
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn issue_16_more_schemes_counts_levels_scopes() {
    use iotrust_catalog::model::{Assurance, Completeness};
    let c = cat();
    for j in ["US-OR", "TW", "IL", "VN"] {
        assert!(
            c.meta.jurisdictions.iter().any(|x| x.id.as_str() == j),
            "jurisdiction {j} missing"
        );
    }
    // (scheme, jurisdiction, kind, live provisions, mandatory, levels, scope categories)
    type Want<'a> = (
        &'a str,
        &'a str,
        SchemeKind,
        usize,
        usize,
        &'a [&'a str],
        &'a [&'a str],
    );
    let want: [Want; 9] = [
        (
            "us-or-hb-2395@2019",
            "US-OR",
            SchemeKind::MandatoryLaw,
            4,
            1,
            &[],
            &["consumer-iot"],
        ),
        (
            "jp-terminal-equipment-rules@2020",
            "JP",
            SchemeKind::MandatoryLaw,
            4,
            4,
            &["conformity"],
            &["consumer-iot"],
        ),
        (
            "vn-qcvn-11@2026",
            "VN",
            SchemeKind::MandatoryLaw,
            6,
            6,
            &["certified"],
            &["ip-camera"],
        ),
        (
            "il-cpa-iot-disclosure@2022",
            "IL",
            SchemeKind::MandatoryLaw,
            4,
            4,
            &[],
            &["consumer-iot"],
        ),
        (
            "tw-taics-iot-mark@2018",
            "TW",
            SchemeKind::VoluntaryLabel,
            5,
            0,
            &["L1", "L2", "L3"],
            &["ip-camera"],
        ),
        (
            "sg-cls-md@2024",
            "SG",
            SchemeKind::VoluntaryLabel,
            5,
            5,
            &["L1", "L2", "L3", "L4"],
            &["medical-device"],
        ),
        (
            "csa-product-security@1.0",
            "INT",
            SchemeKind::VoluntaryLabel,
            7,
            7,
            &["verified"],
            &["consumer-iot"],
        ),
        (
            "ctia-iot-cybersecurity@1.0",
            "US",
            SchemeKind::VoluntaryLabel,
            17,
            17,
            &["category-1", "category-2", "category-3"],
            &["consumer-iot"],
        ),
        (
            "ioxt-pledge@2020",
            "INT",
            SchemeKind::IndustryBaseline,
            8,
            8,
            &["pledge", "certified"],
            &["consumer-iot"],
        ),
    ];
    for (key, jur, kind, n, mandatory, levels, scope) in want {
        let s = c
            .scheme_by_key(key)
            .unwrap_or_else(|| panic!("{key} missing"));
        assert_eq!(&*s.def.jurisdiction, jur, "{key}");
        assert_eq!(s.def.kind, kind, "{key}");
        assert_eq!(s.live_provisions().count(), n, "{key}");
        assert_eq!(count(&c, key, Status::Mandatory), mandatory, "{key}");
        let lv: Vec<&str> = s.def.levels.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(lv, levels, "{key}");
        let inc: Vec<&str> = s.def.scope.includes.iter().map(|x| x.as_str()).collect();
        assert_eq!(inc, scope, "{key}");
        assert!(!s.def.unknowns.is_empty(), "{key}: unknowns recorded");
        assert!(
            s.def.source.reference.contains("2026-12"),
            "{key}: read this month"
        );
        for p in s.live_provisions() {
            assert!(p.source.is_some(), "{key}#{}: no source", &*p.id);
            // no authority published a provision-to-outcome mapping for any of them
            for m in &p.outcomes {
                assert_eq!(*m.basis, Basis::Inferred, "{key}#{}", &*p.id);
            }
        }
    }
    // Oregon: modelled like California - one duty, two password safe harbours and the federal
    // route; household devices only, FDA devices exempt
    let or = c.scheme_by_key("us-or-hb-2395@2019").unwrap();
    let duty = or.provision("646A.813-2").unwrap();
    let routes: Vec<&str> = duty.routes.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(routes, ["unique-password", "new-credential", "federal-law"]);
    assert_eq!(or.applies_from.unwrap().to_string(), "2020-01-01");
    assert!(or.def.scope.excludes[0]
        .categories
        .iter()
        .any(|x| x.as_str() == "medical-device"));
    // Japan: exactly the four items of Art. 34-10, the fourth unmapped; PCs and phones excepted
    let jp = c.scheme_by_key("jp-terminal-equipment-rules@2020").unwrap();
    assert_eq!(jp.in_force.unwrap().to_string(), "2020-04-01");
    assert!(jp.provision("34-10-4").unwrap().outcomes.is_empty());
    assert_eq!(jp.def.levels[0].completeness, Completeness::Complete);
    let ex: Vec<&str> = jp.def.scope.excludes[0]
        .categories
        .iter()
        .map(|x| x.as_str())
        .collect();
    assert!(ex.contains(&"smartphone") && ex.contains(&"laptop"));
    // Viet Nam: in force 1 Jul 2026, replacing QCVN 135:2024
    let vn = c.scheme_by_key("vn-qcvn-11@2026").unwrap();
    assert_eq!(vn.applies_from.unwrap().to_string(), "2026-07-01");
    assert!(vn
        .def
        .status_note
        .as_deref()
        .unwrap()
        .contains("QCVN 135:2024"));
    // Israel: a disclosure duty at sale, every item mapped to an information outcome
    let il = c.scheme_by_key("il-cpa-iot-disclosure@2022").unwrap();
    assert!(il
        .live_provisions()
        .all(|p| p.phase == iotrust_catalog::model::Phase::Sale && !p.outcomes.is_empty()));
    // CLS(MD): levels 3 and 4 add different third-party assessments; the baseline and enhanced
    // requirement lists are known to exist but not read
    let md = c.scheme_by_key("sg-cls-md@2024").unwrap();
    assert_eq!(
        level_ids(md, "L3"),
        [
            "MD-baseline",
            "MD-binary-analysis",
            "MD-enhanced",
            "MD-penetration-test"
        ]
    );
    assert_eq!(
        level_ids(md, "L4"),
        [
            "MD-baseline",
            "MD-binary-analysis",
            "MD-enhanced",
            "MD-security-evaluation"
        ]
    );
    assert_eq!(
        md.level("L3").unwrap().1.assurance,
        Assurance::PenetrationTested
    );
    for id in ["MD-baseline", "MD-enhanced"] {
        let p = md.provision(id).unwrap();
        assert!(!p.known && p.outcomes.is_empty(), "{id}");
    }
    assert_eq!(md.published.unwrap().to_string(), "2024-10-16");
    // TAICS: three levels whose contents are not told apart; the five CNS 16120 areas
    let tw = c.scheme_by_key("tw-taics-iot-mark@2018").unwrap();
    for l in ["L1", "L2", "L3"] {
        assert_eq!(level_ids(tw, l).len(), 5, "{l}");
        assert_eq!(tw.level(l).unwrap().1.completeness, Completeness::Unknown);
    }
    // CTIA: the categories nest, 6 + 6 + 5 tests
    let ctia = c.scheme_by_key("ctia-iot-cybersecurity@1.0").unwrap();
    for (l, n) in [("category-1", 6), ("category-2", 12), ("category-3", 17)] {
        assert_eq!(level_ids(ctia, l).len(), n, "{l}");
    }
    // ioXt: the DCMS mapping relates seven of the eight pledge principles to CoP guidelines, a
    // published crosswalk; principle 4 has none
    let ioxt = c.scheme_by_key("ioxt-pledge@2020").unwrap();
    let cop = c.scheme_by_key("uk-cop@2018").unwrap();
    let cw = crosswalk::crosswalk(&c, cop, ioxt);
    let published: std::collections::BTreeSet<&str> = cw
        .relations
        .iter()
        .filter(|r| r.strength == Basis::Crosswalk)
        .map(|r| r.to.as_str())
        .collect();
    assert_eq!(
        published.into_iter().collect::<Vec<_>>(),
        ["P1", "P2", "P3", "P5", "P6", "P7", "P8"]
    );
}

fn cra_text() -> String {
    std::fs::read_to_string(catalog_dir().join("schemes/eu-cra/2024.yaml")).unwrap()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("`{needle}` not in the file"))
}

#[test]
fn cra_product_classes_cover_annex_iii_and_iv() {
    let c = cat();
    let cra = c.scheme_by_key("eu-cra@2024").unwrap();
    let pc = cra.def.product_classes.as_ref().unwrap();
    let ids: Vec<&str> = pc.classes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "default",
            "important-class-i",
            "important-class-ii",
            "critical"
        ]
    );
    let n: Vec<usize> = pc.classes.iter().map(|c| c.categories.len()).collect();
    // class I: items 1-19 plus our reading of item 17 for security sensors
    assert_eq!(n, [0, 20, 4, 3]);
    for class in &pc.classes {
        for cat in &class.categories {
            assert!(!cat.source.reference.is_empty(), "{}", &*cat.id);
        }
        for r in &class.routes {
            assert!(
                r.satisfied_when.is_some() || r.level.is_some(),
                "route {} shows nothing done",
                &*r.id
            );
        }
    }
    // compiled at load, aligned with the data
    assert_eq!(cra.class_when.len(), 4);
    assert_eq!(cra.class_when[1].len(), 20);
    // the EUCC scheme is the certificate the routes name
    let eucc = c.scheme_by_key("eucc@2024").unwrap();
    let levels: Vec<&str> = eucc.def.levels.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(levels, ["substantial", "high"]);
}

#[test]
fn bad_product_classes_are_reported_with_file_and_line() {
    let f = "catalog/schemes/eu-cra/2024.yaml";
    // the default names no class
    let t = cra_text().replace("  default: default\n", "  default: none-such\n");
    let line = line_of(&t, "  default: none-such");
    expect_error(
        &with_file("schemes/eu-cra/2024.yaml", &t),
        f,
        line,
        Some("eu-cra@2024"),
        "product_classes.default `none-such` is not one of the classes",
    );
    // a category expression that names an unknown function
    let t = cra_text().replace(
        "when: \"'password-manager' in product.functions\"",
        "when: \"'pasword-manager' in product.functions\"",
    );
    let line = line_of(&t, "'pasword-manager'");
    expect_error(
        &with_file("schemes/eu-cra/2024.yaml", &t),
        f,
        line,
        Some("AnnexIII-I-3"),
        "when does not compile",
    );
    // a route that names a level that does not exist
    let t = cra_text().replacen(
        "level: \"eucc@2024#substantial\"",
        "level: \"eucc@2024#moderate\"",
        1,
    );
    let line = line_of(&t, "eucc@2024#moderate");
    expect_error(
        &with_file("schemes/eu-cra/2024.yaml", &t),
        f,
        line,
        Some("eu-certificate"),
        "scheme `eucc@2024` has no level `moderate`",
    );
    // an unknown key in a route
    let t = cra_text().replacen("availability: available", "availablity: available", 1);
    let errs = errors(&with_file("schemes/eu-cra/2024.yaml", &t));
    assert!(
        errs.iter()
            .any(|e| e.starts_with(f) && e.contains("availablity")),
        "{errs:?}"
    );
}

// ------------------------------------------------------------------------- documents

fn psti_statement() -> String {
    std::fs::read_to_string(catalog_dir().join("documents/psti-statement.yaml")).unwrap()
}

#[test]
fn every_document_kind_has_a_form_and_eu_declaration_follows_the_date() {
    use iotrust_catalog::model::DocumentKind;
    let cat = Catalog::embedded().unwrap();
    let day = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
    for k in DocumentKind::ALL {
        // the simplified declaration is the CRA's alone: from its date
        let on = match k {
            DocumentKind::EuDeclarationSimplified => {
                assert!(cat.document(k, day("2027-12-10")).is_none());
                "2027-12-11"
            }
            _ => "2026-12-07",
        };
        assert!(cat.document(k, day(on)).is_some(), "{k}");
    }
    let eu = |d| {
        cat.document(DocumentKind::EuDeclaration, day(d))
            .unwrap()
            .id
            .to_string()
    };
    assert_eq!(eu("2027-12-10"), "eu-declaration-red");
    assert_eq!(eu("2027-12-11"), "eu-declaration-cra");
    // every item keeps its source and provision
    for d in &cat.documents {
        for i in &d.items {
            assert!(
                !i.provision.is_empty() && !i.source.reference.is_empty(),
                "{}#{}",
                &*d.id,
                &*i.id
            );
        }
    }
}

/// `catalog diff` reports the document forms: an item added or removed, an item's provision,
/// source and confidence changed, and a whole form added or removed.
#[test]
fn catalog_diff_reports_document_forms_item_by_item() {
    use iotrust_catalog::diff::catalog_diff;
    let red =
        std::fs::read_to_string(catalog_dir().join("documents/eu-declaration-red.yaml")).unwrap();
    // older: the RED form without its accessories item, with another point number for the
    // batch, the image at a lower confidence, an item since dropped, and no simplified form
    let accessories = red.find("  - id: accessories").unwrap();
    let after = accessories + red[accessories..].find("  - id: signatory-name").unwrap();
    let mut old_red = format!("{}{}", &red[..accessories], &red[after..]);
    old_red = old_red.replacen(
        "    provision: Annex VI point 1\n    asks: The batch or serial numbers",
        "    provision: Annex VI point 9\n    asks: The batch or serial numbers",
        1,
    );
    let image = old_red.find("  - id: image").unwrap();
    let conf = image + old_red[image..].find("confidence: L}").unwrap();
    old_red.replace_range(conf..conf + "confidence: L}".len(), "confidence: H}");
    old_red.push_str("  - id: ce-marking\n    title: CE marking\n    provision: Art. 19\n    asks: The CE marking.\n    value: {from: text, text: \"CE\"}\n    source: {ref: \"Directive 2014/53/EU Art. 19\", confidence: L}\n");
    let mut files = with_file("documents/eu-declaration-red.yaml", &old_red);
    files.retain(|(p, _)| p != "documents/eu-declaration-cra-simplified.yaml");
    let old = load::load(&files).unwrap();
    let d = catalog_diff(&old, &cat());
    let c = d
        .item("document eu-declaration-red")
        .expect("the RED form changed");
    assert_eq!(c.kind, ChangeKind::Changed);
    for want in [
        "items[accessories] added: ",
        "items[ce-marking] removed",
        "items[batch].provision: Annex VI point 9 -> Annex VI point 1",
        "items[image].source.confidence: H -> L",
    ] {
        assert!(
            c.details.iter().any(|l| l.starts_with(want)),
            "no `{want}` in\n{}",
            c.details.join("\n")
        );
    }
    assert_eq!(c.details.len(), 4, "{}", c.details.join("\n"));
    let simplified = d
        .item("document eu-declaration-cra-simplified")
        .expect("the simplified form is new");
    assert_eq!(simplified.kind, ChangeKind::Added);
    assert!(d.item("document psti-statement").is_none());
    // and the other way round the form is removed
    let back = catalog_diff(&cat(), &old);
    assert_eq!(
        back.item("document eu-declaration-cra-simplified")
            .unwrap()
            .kind,
        ChangeKind::Removed
    );
}

#[test]
fn document_with_unknown_outcome_is_reported_at_its_line() {
    let t = psti_statement().replace(
        "satisfies: [statement-of-compliance]",
        "satisfies: [statement-of-complaince]",
    );
    expect_error(
        &with_file("documents/psti-statement.yaml", &t),
        "catalog/documents/psti-statement.yaml",
        8,
        Some("psti-statement"),
        "satisfies: unknown outcome `statement-of-complaince`",
    );
}

#[test]
fn document_item_with_unknown_info_field_is_reported() {
    let t = psti_statement().replace("field: batch}", "field: batch_number}");
    let errs = errors(&with_file("documents/psti-statement.yaml", &t));
    assert!(
        errs.iter()
            .any(|e| e.starts_with("catalog/documents/psti-statement.yaml:")
                && e.contains("`psti-statement#batch`")
                && e.contains("unknown info field `batch_number`")),
        "{errs:?}"
    );
}

#[test]
fn document_with_unknown_key_or_scheme_is_reported() {
    let t = psti_statement().replace(
        "declares: conformance",
        "declares: conformance\nsigned: yes",
    );
    let errs = errors(&with_file("documents/psti-statement.yaml", &t));
    assert!(
        errs.iter().any(
            |e| e.starts_with("catalog/documents/psti-statement.yaml:") && e.contains("signed")
        ),
        "{errs:?}"
    );
    let t = psti_statement().replace("scheme: uk-psti@2023", "scheme: uk-psti@2099");
    let errs = errors(&with_file("documents/psti-statement.yaml", &t));
    assert!(
        errs.iter()
            .any(|e| e.contains("scheme `uk-psti@2099` is not in the catalog")),
        "{errs:?}"
    );
}

#[test]
fn overlapping_forms_of_one_kind_are_reported() {
    let red =
        std::fs::read_to_string(catalog_dir().join("documents/eu-declaration-red.yaml")).unwrap();
    let t = red.replace("applies_until: 2027-12-10", "applies_until: 2028-01-10");
    let errs = errors(&with_file("documents/eu-declaration-red.yaml", &t));
    assert!(
        errs.iter().any(|e| e.contains("overlaps in time")),
        "{errs:?}"
    );
}
