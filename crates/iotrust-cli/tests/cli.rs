//! The `iotrust` binary as users run it: catalog commands (with snapshots of their output),
//! OSCAL export loaded by compliance-trestle, assess in every format, gates, bulk mode, errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn iotrust(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(args: &[&str]) -> String {
    let o = iotrust(args);
    assert!(
        o.status.success(),
        "iotrust {args:?} failed: {}",
        stderr(&o)
    );
    stdout(&o)
}

// ------------------------------------------------------------------------- catalog

#[test]
fn snapshot_catalog_list() {
    insta::assert_snapshot!(ok(&["catalog", "list"]));
}

#[test]
fn snapshot_catalog_show_psti() {
    insta::assert_snapshot!(ok(&["catalog", "show", "uk-psti"]));
}

#[test]
fn snapshot_catalog_show_provision() {
    insta::assert_snapshot!(ok(&["catalog", "show", "uk-psti@2023", "Sch1-para1"]));
    insta::assert_snapshot!(
        "etsi_5_3_4a",
        ok(&["catalog", "show", "etsi-en-303-645@3.1.3", "5.3-4A"])
    );
}

#[test]
fn snapshot_catalog_diff_etsi() {
    insta::assert_snapshot!(ok(&[
        "catalog",
        "diff",
        "etsi-en-303-645@2.1.1",
        "etsi-en-303-645@3.1.3"
    ]));
}

#[test]
fn catalog_show_prints_authorities_derogations_and_recognition() {
    // a derogation names the provisions that do not apply, an exclusion does not
    let red = ok(&["catalog", "show", "eu-red-da"]);
    assert!(
        red.contains("derogation for vehicle: not Art3-3-e, Art3-3-f:"),
        "{red}"
    );
    assert!(red.contains("excludes medical-device:"), "{red}");
    // an arrangement that covers only some provisions lists them
    let star = ok(&["catalog", "show", "jp-jc-star"]);
    assert!(
        star.contains("recognition uk-psti-to-jp-star1 (simplified procedure): uk-psti@2023#compliant -> jp-jc-star@2025#STAR-1 from 2026-01-01; covers provisions S1.1-02, S1.1-05, S1.1-16 only"),
        "{star}"
    );
    // authorities with their basis and source
    let au = ok(&["catalog", "show", "au-smart-devices-rules"]);
    assert!(au.contains("enforcer: "), "{au}");
    let us = ok(&["catalog", "show", "us-cyber-trust-mark"]);
    assert!(
        us.contains("administrator") || us.contains("lead administrator"),
        "{us}"
    );
    // the CRA's product classes with their categories and routes
    let cra = ok(&["catalog", "show", "eu-cra"]);
    assert!(
        cra.contains(
            "class important-class-i: Important product, class I (Annex III) — AnnexIII-I-1,"
        ),
        "{cra}"
    );
    assert!(cra.contains("eu-certificate-required (pending)"), "{cra}");
    // JSON: the recognitions beside the definition (which has authorities and excludes)
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["catalog", "show", "jp-jc-star", "--format", "json"])).unwrap();
    let recs = json["recognitions"].as_array().unwrap();
    let partial = recs
        .iter()
        .find(|r| r["id"] == "uk-psti-to-jp-star1")
        .unwrap();
    assert_eq!(partial["provisions"].as_array().unwrap().len(), 3);
}

#[test]
fn oscal_mapping_export_is_reproducible_and_names_catalog_controls() {
    let a = ok(&["catalog", "export", "--format", "oscal-mapping"]);
    let b = ok(&["catalog", "export", "--format", "oscal-mapping"]);
    assert_eq!(a, b, "two exports differ");
    let map: serde_json::Value = serde_json::from_str(&a).unwrap();
    let cat: serde_json::Value =
        serde_json::from_str(&ok(&["catalog", "export", "--format", "oscal"])).unwrap();
    let mc = &map["mapping-collection"];
    assert_eq!(mc["metadata"]["oscal-version"], "1.2.3");
    // the mappings point at the catalog export through the back-matter
    let cat_uuid = cat["catalog"]["uuid"].as_str().unwrap();
    assert_eq!(mc["back-matter"]["resources"][0]["uuid"], cat_uuid);
    // every id-ref is a control of the catalog export
    let mut controls = std::collections::HashSet::new();
    for g in cat["catalog"]["groups"].as_array().unwrap() {
        for c in g["controls"].as_array().into_iter().flatten() {
            controls.insert(c["id"].as_str().unwrap().to_string());
        }
    }
    let mut n = 0;
    for m in mc["mappings"].as_array().unwrap() {
        assert_eq!(m["source-resource"]["href"], format!("#{cat_uuid}"));
        for e in m["maps"].as_array().unwrap() {
            for side in ["sources", "targets"] {
                for it in e[side].as_array().unwrap() {
                    let id = it["id-ref"].as_str().unwrap();
                    assert!(
                        controls.contains(id),
                        "{id} is not a control of the catalog export"
                    );
                    n += 1;
                }
            }
        }
    }
    assert!(n > 1000, "only {n} mapping items");
}

#[test]
fn catalog_diff_between_directories() {
    let fixture = root().join("crates/iotrust-catalog/tests/fixtures/catalog-2026.11.0");
    let f = fixture.to_str().unwrap();
    let text = ok(&["catalog", "diff", "--from", f]);
    assert!(
        // issue 16: new schemes and crosswalks; issue 15: fact vocabulary 2 (facts added and
        // replaced, outcomes split)
        text.starts_with("catalog 2026.11.0 -> 2026.12.0: "),
        "{text}"
    );
    for needle in [
        "~ scheme uk-psti@2023",
        "provisions[Sch1-para1].routes[cls].effective: 2026-01-01 -> 2025-12-04",
        "~ recognition uk-psti-to-jp-star1",
        "~ scheme eu-red-da@2022",
        "~ profile public-procurement",
        "jurisdictions[IN] added",
        "jurisdictions[US-CA].within added: US",
        "jurisdictions[VN] added",
        "+ scheme in-cctv-er@2024",
        "+ scheme nist-ir-8425a@2024",
        "+ scheme br-anatel-ato-77@2021",
        "+ scheme us-or-hb-2395@2019",
        "+ scheme tw-taics-iot-mark@2018",
        "+ scheme il-cpa-iot-disclosure@2022",
        "+ fact product.carrier_connected",
        "- fact updates.secure",
        "+ fact updates.anti_rollback",
        "+ outcome update-cryptography",
        "+ scheme eucc@2024",
        "+ fact product.functions",
        "+ fact conformity.notified_body",
        "~ scheme eu-cra@2024",
        "product_classes added",
        // issue 19: the document forms came after 2026.11.0
        "+ document psti-statement",
        "+ document eu-declaration-cra-simplified",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in\n{text}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["catalog", "diff", "--from", f, "--format", "json"])).unwrap();
    assert_eq!(json["from_version"], "2026.11.0");
    assert_eq!(json["to_version"], "2026.12.0");
    // --to names the newer catalog explicitly; a catalog against itself has no changes
    let same = ok(&["catalog", "diff", "--from", f, "--to", f]);
    assert!(
        same.starts_with("catalog 2026.11.0 -> 2026.11.0: 0 added, 0 removed, 0 changed"),
        "{same}"
    );
    // neither two schemes nor --from: a usage error
    let o = iotrust(&["catalog", "diff", "uk-psti"]);
    assert!(!o.status.success());
}

#[test]
fn catalog_show_issue_16_schemes() {
    // (scheme, a line `show` must print: its scope, and a level or the provision count)
    for (key, scope, line) in [
        (
            "us-or-hb-2395@2019",
            "consumer-iot",
            "provisions: 4 (1 mandatory, 3 recommended)",
        ),
        (
            "jp-terminal-equipment-rules@2020",
            "consumer-iot",
            "level conformity:",
        ),
        (
            "vn-qcvn-11@2026",
            "ip-camera",
            "provisions: 6 (6 mandatory, 0 recommended)",
        ),
        (
            "il-cpa-iot-disclosure@2022",
            "consumer-iot",
            "provisions: 4 (4 mandatory, 0 recommended)",
        ),
        ("tw-taics-iot-mark@2018", "ip-camera", "level L3: Level 3"),
        ("sg-cls-md@2024", "medical-device", "level L4:"),
        (
            "csa-product-security@1.0",
            "consumer-iot",
            "level verified:",
        ),
        (
            "ctia-iot-cybersecurity@1.0",
            "consumer-iot",
            "level category-3:",
        ),
        ("ioxt-pledge@2020", "consumer-iot", "level pledge:"),
    ] {
        let text = ok(&["catalog", "show", key]);
        assert!(text.starts_with(key), "{key}:\n{text}");
        assert!(text.contains(&format!("scope: {scope}")), "{key}:\n{text}");
        assert!(text.contains(line), "{key}: no `{line}` in\n{text}");
        assert!(text.contains("unknown: "), "{key}: unknowns not shown");
        let json: serde_json::Value =
            serde_json::from_str(&ok(&["catalog", "show", key, "--format", "json"])).unwrap();
        assert!(json.is_object(), "{key}");
    }
    // a provision of one of them, with its unmapped reason
    let p = ok(&[
        "catalog",
        "show",
        "jp-terminal-equipment-rules@2020",
        "34-10-4",
    ]);
    assert!(p.contains("power"), "{p}");
}

#[test]
fn snapshot_catalog_recognition_cls() {
    insta::assert_snapshot!(ok(&["catalog", "recognition", "sg-cls"]));
}

#[test]
fn catalog_json_outputs_parse() {
    for args in [
        vec!["catalog", "list", "--format", "json"],
        vec!["catalog", "show", "eu-cra", "--format", "json"],
        vec!["catalog", "outcomes", "--format", "json"],
        vec![
            "catalog",
            "outcomes",
            "no-universal-default-password",
            "--format",
            "json",
        ],
        vec![
            "catalog",
            "crosswalk",
            "uk-psti",
            "etsi-en-303-645@2.1.1",
            "--format",
            "json",
        ],
        vec!["catalog", "recognition", "--format", "json"],
        vec![
            "catalog",
            "diff",
            "etsi-en-303-645@2.1.1",
            "etsi-en-303-645@3.1.3",
            "--format",
            "json",
        ],
        vec!["catalog", "facts", "--format", "json"],
        vec!["catalog", "validate", "--format", "json"],
    ] {
        let out = ok(&args);
        serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
}

#[test]
fn crosswalk_psti_etsi_has_official_routes_and_derived_relations() {
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "catalog",
        "crosswalk",
        "uk-psti",
        "etsi-en-303-645@2.1.1",
        "--format",
        "json",
    ]))
    .unwrap();
    let rels = v["relations"].as_array().unwrap();
    assert!(rels
        .iter()
        .any(|r| r["from"] == "Sch1-para1" && r["to"] == "5.1-1" && r["strength"] == "official"));
    assert!(rels.iter().any(|r| r["relation"] == "shared outcome"));
}

#[test]
fn docs_facts_md_is_current() {
    let generated = ok(&["catalog", "facts", "--format", "markdown"]);
    let committed = std::fs::read_to_string(root().join("docs/facts.md")).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/facts.md is stale: run `iotrust catalog facts --format markdown > docs/facts.md`"
    );
}

#[test]
fn validate_reports_every_error_with_file_and_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("catalog"), dir.path());
    let psti = dir.path().join("schemes/uk-psti/2023.yaml");
    let text = std::fs::read_to_string(&psti).unwrap();
    let text = text
        .replacen(
            "outcome: statement-of-compliance",
            "outcome: no-such-outcome",
            1,
        )
        .replacen(
            "    phase: design\n",
            "    phase: design\n    colour: blue\n",
            1,
        );
    std::fs::write(&psti, text).unwrap();
    let o = iotrust(&["catalog", "validate", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("catalog/schemes/uk-psti/2023.yaml:"), "{out}");
    assert!(out.contains("unknown field `colour`"), "{out}");
    // the unknown-field error stops that file; fix it and the reference error shows
    let text = std::fs::read_to_string(&psti)
        .unwrap()
        .replacen("    colour: blue\n", "", 1);
    std::fs::write(&psti, text).unwrap();
    let o = iotrust(&["catalog", "validate", dir.path().to_str().unwrap()]);
    assert!(
        stdout(&o).contains("outcome `no-such-outcome` does not exist"),
        "{}",
        stdout(&o)
    );
    // and any other command refuses the broken catalog with exit 2
    let o = iotrust(&["--catalog", dir.path().to_str().unwrap(), "catalog", "list"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-outcome"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn oscal_export_is_importable_by_compliance_trestle() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.json");
    ok(&[
        "catalog",
        "export",
        "--format",
        "oscal",
        "-o",
        file.to_str().unwrap(),
    ]);
    let script = "import sys, pathlib\nfrom trestle.oscal.catalog import Catalog\n\
c = Catalog.oscal_read(pathlib.Path(sys.argv[1]))\n\
print(len(c.groups), sum(len(g.controls or []) for g in c.groups))\n";
    let o = Command::new("python3")
        .args(["-c", script, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "compliance-trestle could not load the export (scripts/test.sh installs it): {}",
        stderr(&o)
    );
    let out = stdout(&o);
    let mut it = out.split_whitespace().map(|x| x.parse::<usize>().unwrap());
    let (groups, controls) = (it.next().unwrap(), it.next().unwrap());
    assert!(
        groups >= 20 && controls >= 500,
        "{groups} groups, {controls} controls"
    );
}

// ------------------------------------------------------------------------- assess

const CAMERA: &str = "examples/profiles/ip-camera.toml";

#[test]
fn assess_text_report_and_gates() {
    let o = iotrust(&["assess", CAMERA, "--date", "2026-11-22"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains(
            "may be placed on the United Kingdom market: no, because uk-psti@2023 Sch1-para1"
        ),
        "{out}"
    );
    assert!(
        !out.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    let o = iotrust(&[
        "assess",
        CAMERA,
        "--date",
        "2026-11-22",
        "--fail-below",
        "baseline",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("tier `baseline` not reached"));
    let o = iotrust(&[
        "assess",
        CAMERA,
        "--date",
        "2026-11-22",
        "--require-market",
        "uk,eu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("United Kingdom"));
    let o = iotrust(&[
        "assess",
        "examples/profiles/smart-lock.toml",
        "--date",
        "2026-11-22",
        "--require-market",
        "uk,eu",
        "--fail-below",
        "essential",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = iotrust(&["assess", CAMERA, "--fail-below", "gold"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown tier `gold`"));
}

#[test]
fn assess_every_format() {
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "assess",
        CAMERA,
        "--date",
        "2026-11-22",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["format"], "iotrust-assessment/1");
    assert_eq!(
        json["catalog_version"],
        ok(&["catalog", "list", "--format", "json"])
            .split('"')
            .nth(3)
            .unwrap()
    );
    assert_eq!(json["evaluated_on"], "2026-11-22");
    let sarif: serde_json::Value = serde_json::from_str(&ok(&[
        "assess",
        CAMERA,
        "--date",
        "2026-11-22",
        "--format",
        "sarif",
    ]))
    .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "no-universal-default-password")
        .unwrap();
    assert_eq!(r["level"], "error");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        CAMERA
    );
    let junit = ok(&[
        "assess",
        CAMERA,
        "--date",
        "2026-11-22",
        "--format",
        "junit",
    ]);
    assert!(junit.starts_with("<?xml") && junit.contains("<failure"));
    let md = ok(&[
        "assess",
        CAMERA,
        "--date",
        "2026-11-22",
        "--format",
        "markdown",
    ]);
    assert!(md.contains("## Market access"));
    let html = ok(&["assess", CAMERA, "--date", "2026-11-22", "--format", "html"]);
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "the HTML report is self-contained"
    );
}

/// Issue 16 item 5: every output says whether a provision is the law and how its mapping is
/// established, so that nobody takes iotrust's inference for the law.
#[test]
fn provisions_carry_obligation_and_mapping_basis() {
    let show: serde_json::Value =
        serde_json::from_str(&ok(&["catalog", "show", "uk-psti", "--format", "json"])).unwrap();
    let provs = show["definition"]["provisions"].as_array().unwrap();
    assert!(!provs.is_empty());
    for p in provs {
        assert_eq!(p["obligation"], "legal-requirement", "{p}");
        assert!(p.get("mapping_basis").is_some(), "{p}");
    }
    let para1 = provs.iter().find(|p| p["id"] == "Sch1-para1").unwrap();
    assert_eq!(para1["mapping_basis"], "official");
    let text = ok(&["catalog", "show", "uk-psti@2023", "Sch1-para1"]);
    assert!(text.contains("obligation: legal requirement") && text.contains("mapping: official"));
    // a standard's provisions are not the law
    let etsi = ok(&["catalog", "show", "etsi-en-303-645@3.1.3"]);
    assert!(!etsi.contains("legal requirement"));
    assert!(etsi.contains("mandatory provision, not law") && etsi.contains("recommendation"));

    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "assess",
        CAMERA,
        "--date",
        "2026-11-22",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["format"], "iotrust-assessment/1");
    let mut seen = std::collections::HashSet::new();
    for s in json["schemes"].as_array().unwrap() {
        for p in s["provisions"].as_array().unwrap() {
            let o = p["obligation"].as_str().unwrap_or_else(|| panic!("{p}"));
            assert!(p.get("mapping_basis").is_some(), "{p}");
            if o == "legal-requirement" {
                assert_eq!(s["kind"], "mandatory-law", "{p}");
            }
            seen.insert(o.to_string());
        }
    }
    assert!(seen.contains("legal-requirement") && seen.contains("recommendation"));
    let failing: Vec<&serde_json::Value> = json["markets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["laws"].as_array().unwrap())
        .flat_map(|l| l["failing"].as_array().unwrap())
        .collect();
    assert!(!failing.is_empty());
    for f in failing {
        assert_eq!(f["obligation"], "legal-requirement", "{f}");
        assert!(f.get("mapping_basis").is_some(), "{f}");
    }
    for r in json["support"]["at_end_of_support"].as_array().unwrap() {
        assert!(
            r["obligation"].is_string() && r.get("mapping_basis").is_some(),
            "{r}"
        );
    }
    let html = ok(&["assess", CAMERA, "--date", "2026-11-22", "--format", "html"]);
    assert!(html.contains("<th>Obligation</th><th>Mapping</th>"));
}

#[test]
fn assess_bad_profile_names_file_line_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[product]\nmanufacturer = \"A\"\nmodel = \"B\"\ncategory = \"ip-camera\"\n\n[auth]\nuses_passwords = \"yes\"\n").unwrap();
    let o = iotrust(&["assess", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(
            "bad.toml:7: field `auth.uses_passwords`: expected true or false, found string"
        ),
        "{err}"
    );
}

#[test]
fn bulk_directory_and_ndjson_stream() {
    let out = ok(&[
        "assess",
        "examples/profiles",
        "--date",
        "2026-11-22",
        "--jobs",
        "2",
    ]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let n = std::fs::read_dir(root().join("examples/profiles"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert_eq!(lines.len(), n);
    assert!(lines
        .iter()
        .all(|l| l["model"].is_string() && l["markets"].is_object()));

    // NDJSON on stdin: a broken line in the middle is reported with its position and skipped
    let good = r#"{"product": {"manufacturer": "A", "model": "M1", "category": "smart-plug", "markets": ["UK"]}, "auth": {"uses_passwords": false}}"#;
    let bad = r#"{"product": {"manufacturer": "A", "model": "M2", "category": "toaster"}}"#;
    let input = format!("{good}\n{bad}\n\n{good}\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(["assess", "-", "--date", "2026-11-22"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "a broken profile in the batch makes the exit code 2"
    );
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["model"], "M1");
    assert_eq!(lines[1]["error"]["line"], 2);
    assert_eq!(lines[1]["error"]["field"], "product.category");
    assert_eq!(lines[2]["model"], "M1");
    assert!(
        stderr(&o).contains("3 profile(s): 2 assessed, 1 broken"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn snapshot_assess_reports() {
    for name in ["ip-camera", "smart-lock", "ip-camera-probed"] {
        let path = format!("examples/profiles/{name}.toml");
        let text = stdout(&iotrust(&["assess", &path, "--date", "2026-11-22"]));
        insta::assert_snapshot!(format!("assess_text_{name}"), text);
    }
    let md = ok(&[
        "assess",
        "examples/profiles/smart-plug.toml",
        "--date",
        "2026-11-22",
        "--format",
        "markdown",
    ]);
    insta::assert_snapshot!("assess_markdown_smart_plug", md);
}

#[test]
fn label_issue_sign_verify_and_every_failure() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    ok(&[
        "keys",
        "new",
        "--role",
        "manufacturer",
        "--name",
        "veridor",
        "--dir",
        d,
    ]);
    ok(&[
        "keys",
        "new",
        "--role",
        "issuing-body",
        "--name",
        "issuer",
        "--dir",
        d,
    ]);
    ok(&[
        "keys", "new", "--role", "lab", "--name", "other", "--dir", d,
    ]);
    let key = |n: &str| format!("{d}/{n}.key.json");
    let pubk = |n: &str| format!("{d}/{n}.pub.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key("veridor"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "secret key files are private");
    }
    let label = format!("{d}/lock.label.json");
    let out = ok(&[
        "label",
        "issue",
        "examples/profiles/smart-lock.toml",
        "--key",
        &key("veridor"),
        "--info",
        "examples/labels/label-info.toml",
        "--date",
        "2026-11-22",
        "-o",
        &label,
    ]);
    assert!(out.contains("tier assured"), "{out}");
    ok(&["label", "sign", &label, "--key", &key("issuer")]);
    let v = ok(&[
        "label",
        "verify",
        &label,
        "--trust",
        &pubk("veridor"),
        "--trust",
        &pubk("issuer"),
        "--date",
        "2027-01-01",
    ]);
    assert!(
        v.contains("valid") && v.contains("veridor") && v.contains("issuer"),
        "{v}"
    );
    let show = ok(&["label", "show", &label, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(doc["format"], "iotrust-label/1");
    // an unknown key
    let o = iotrust(&[
        "label",
        "verify",
        &label,
        "--trust",
        &pubk("other"),
        "--date",
        "2027-01-01",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("no signature by a trusted key"),
        "{}",
        stdout(&o)
    );
    // expired
    let o = iotrust(&[
        "label",
        "verify",
        &label,
        "--trust",
        &pubk("issuer"),
        "--date",
        "2030-01-01",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("expired on"), "{}", stdout(&o));
    // tampered: change the tier inside the signed payload
    let mut env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&label).unwrap()).unwrap();
    use base64::Engine as _;
    let b64e = base64::engine::general_purpose::STANDARD;
    let b64 = b64e.decode(env["payload"].as_str().unwrap()).unwrap();
    let forged = String::from_utf8(b64)
        .unwrap()
        .replace("\"tier\":\"assured\"", "\"tier\":\"advanced\"");
    env["payload"] = serde_json::Value::String(b64e.encode(forged.as_bytes()));
    std::fs::write(&label, env.to_string()).unwrap();
    let o = iotrust(&[
        "label",
        "verify",
        &label,
        "--trust",
        &pubk("issuer"),
        "--date",
        "2027-01-01",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("altered after signing"),
        "{}",
        stdout(&o)
    );
}

/// The real spoofed SYN flood: one victim, no filter against it, bounded state.
#[test]
fn watch_finds_the_attack_in_a_real_capture_without_blackholing_the_victim() {
    let pcap = root().join("../shared/data/pcap/stopddos-synflood-spoofed.pcap");
    let pcap = if pcap.is_file() {
        pcap
    } else {
        PathBuf::from("/work/shared/data/pcap/stopddos-synflood-spoofed.pcap")
    };
    assert!(
        pcap.is_file(),
        "the shared capture is needed: {}",
        pcap.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let filters = dir.path().join("filters.nft");
    let o = iotrust(&[
        "watch",
        "--pcap",
        pcap.to_str().unwrap(),
        "--max-hosts",
        "500",
        "--filters",
        filters.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let events: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let opened: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "opened").collect();
    assert_eq!(opened.len(), 1, "{events:?}");
    assert_eq!(opened[0]["device"], "10.10.10.10");
    assert_eq!(opened[0]["role"], "victim");
    let err = stderr(&o);
    assert!(
        err.contains("\"max_hosts\":500") && err.contains("\"hosts\":500"),
        "{err}"
    );
    assert!(
        err.contains("0 filter proposal(s)"),
        "a victim is never filtered: {err}"
    );
    let nft = std::fs::read_to_string(&filters).unwrap();
    assert!(!nft.contains("10.10.10.10"), "{nft}");
}

/// The UDP collector: softflowd's real NetFlow v9 datagrams (a committed fixture) replayed to
/// `iotrust watch --netflow` on loopback are decoded and fed to the detectors.
#[test]
fn watch_collects_real_netflow_v9_over_udp_on_loopback() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(["watch", "--netflow", &addr, "--duration", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let fixture = root().join("crates/iotrust-flow/tests/fixtures/softflowd-v9-synflood300.pcap");
    let mut reader =
        iotrust_flow::CaptureReader::new(std::fs::File::open(fixture).unwrap()).unwrap();
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut sent = 0;
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        let ihl = usize::from(p.data[0] & 0x0f) * 4;
        sender.send_to(&p.data[ihl + 8..], &addr).unwrap();
        sent += 1;
    }
    assert!(sent > 0);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let stats = err
        .lines()
        .rfind(|l| l.starts_with("watch: {\"records\""))
        .unwrap_or_else(|| panic!("{err}"));
    let v: serde_json::Value = serde_json::from_str(stats.trim_start_matches("watch: ")).unwrap();
    assert_eq!(
        v["records"], 298,
        "softflowd exported 298 flows for these 300 packets: {err}"
    );
}

// ------------------------------------------------------------------------- document

const DOC_INFO: &str = "default_password = \"unique per device\"\nsecure_configuration = \"https://maker.example/secure\"\n\n[issuer]\nname = \"Maker\"\n\n[document]\nmanufacturer_address = \"1 Example Street, Exampletown\"\nbatch = \"B-2026-11\"\nsignatory_name = \"A. Person\"\nsignatory_function = \"Head of Product Security\"\nplace = \"Exampletown\"\n";

#[test]
fn document_psti_statement_is_written_when_psti_is_met() {
    let dir = tempfile::tempdir().unwrap();
    let info = dir.path().join("info.toml");
    std::fs::write(&info, DOC_INFO).unwrap();
    let info = info.to_str().unwrap();
    let md = ok(&[
        "document",
        "psti-statement",
        "examples/profiles/smart-plug.toml",
        "--info",
        info,
        "--as-of",
        "2026-12-07",
    ]);
    for want in [
        "# Statement of compliance (UK PSTI)",
        "Schedule 4 paragraph 7",
        "A. Person",
        "B-2026-11",
        "2028-03-31",
        "**Catalog version:** 2026.12.0",
        "**Date made:** 2026-12-07",
    ] {
        assert!(md.contains(want), "{want} not in\n{md}");
    }
    let pdf = dir.path().join("s.pdf");
    let o = iotrust(&[
        "document",
        "psti-statement",
        "examples/profiles/smart-plug.toml",
        "--info",
        info,
        "--as-of",
        "2026-12-07",
        "--format",
        "pdf",
        "-o",
        pdf.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    let html = ok(&[
        "document",
        "au-statement",
        "examples/profiles/home-router.toml",
        "--info",
        info,
        "--as-of",
        "2026-12-07",
        "--format",
        "html",
    ]);
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("Rules s 9"),
        "{html}"
    );
}

/// `eu-declaration --simplified`: the CRA's Annex VI form from its date; before it, exit 2 with
/// the reason; a product that does not meet the CRA is refused with exit 1.
#[test]
fn document_simplified_eu_declaration_from_the_cra_date() {
    let dir = tempfile::tempdir().unwrap();
    let info = dir.path().join("info.toml");
    std::fs::write(
        &info,
        format!("{DOC_INFO}declaration_url = \"https://maker.example/doc\"\n"),
    )
    .unwrap();
    let info = info.to_str().unwrap();
    let md = ok(&[
        "document",
        "eu-declaration",
        "--simplified",
        "examples/profiles/smart-lock.toml",
        "--info",
        info,
        "--as-of",
        "2027-12-20",
    ]);
    for want in [
        "# Simplified EU declaration of conformity (Cyber Resilience Act)",
        "Annex VI",
        "https://maker.example/doc",
        "Regulation (EU) 2024/2847",
    ] {
        assert!(md.contains(want), "{want} not in\n{md}");
    }
    let o = iotrust(&[
        "document",
        "eu-declaration",
        "--simplified",
        "examples/profiles/smart-lock.toml",
        "--info",
        info,
        "--as-of",
        "2026-12-07",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("the CRA's (Annex VI)"),
        "{}",
        stderr(&o)
    );
    let o = iotrust(&[
        "document",
        "eu-declaration",
        "--simplified",
        "examples/profiles/smart-plug.toml",
        "--as-of",
        "2027-12-20",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("no Simplified EU declaration of conformity (Cyber Resilience Act) written: the assessment does not find eu-cra@2024 met"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn document_refused_with_reasons() {
    let o = iotrust(&[
        "document",
        "psti-statement",
        "examples/profiles/ip-camera.toml",
        "--as-of",
        "2026-12-07",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).is_empty(),
        "a refused statement printed something"
    );
    // not a snapshot: the reason quotes facts, which change with the vocabulary
    let e = stderr(&o);
    assert!(e.starts_with("examples/profiles/ip-camera.toml: no Statement of compliance (UK PSTI) written: the assessment does not find uk-psti@2023 met"), "{e}");
    assert!(e.contains("\n  uk-psti@2023#Sch1-para1 No universal default passwords; unique ones not guessable (not-met): "), "{e}");
}

#[test]
fn document_with_a_missing_info_item_exits_1_naming_it() {
    let o = iotrust(&[
        "document",
        "psti-statement",
        "examples/profiles/smart-plug.toml",
        "--as-of",
        "2026-12-07",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("signatory-name (Schedule 4 paragraph 6): add `signatory_name`"),
        "{e}"
    );
    assert!(stdout(&o).contains("MISSING"));
    // a bad info file: exit 2, file and line
    let dir = tempfile::tempdir().unwrap();
    let info = dir.path().join("bad.toml");
    std::fs::write(&info, "[document]\nbatch = \"B\"\nsignatori_name = \"x\"\n").unwrap();
    let o = iotrust(&[
        "document",
        "psti-statement",
        "examples/profiles/smart-plug.toml",
        "--info",
        info.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.toml:3:"), "{}", stderr(&o));
}

#[test]
fn document_technical_file_is_signed_and_a_changed_evidence_file_breaks_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    ok(&[
        "keys",
        "new",
        "--role",
        "manufacturer",
        "--name",
        "maker",
        "--dir",
        d,
    ]);
    let key = format!("{d}/maker.key.json");
    let public = format!("{d}/maker.pub.json");
    let info = dir.path().join("info.toml");
    std::fs::write(&info, DOC_INFO).unwrap();
    for out in [
        format!("{d}/tf"),
        format!("{d}/tf.tar"),
        format!("{d}/tf.zip"),
    ] {
        let o = iotrust(&[
            "document",
            "cra-technical-file",
            "examples/profiles/home-router.toml",
            "--info",
            info.to_str().unwrap(),
            "--key",
            &key,
            "-o",
            &out,
            "--as-of",
            "2026-12-07",
        ]);
        // home-router does not meet the EU law: the file is written, the declaration named missing
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("no EU declaration of conformity in the file"),
            "{}",
            stderr(&o)
        );
        let v = ok(&["document", "verify", &out, "--trust", &public]);
        assert!(v.contains("verified"), "{v}");
    }
    let ev = format!("{d}/tf/evidence/home-router.probe.json");
    let mut bytes = std::fs::read(&ev).unwrap();
    bytes.push(b' ');
    std::fs::write(&ev, bytes).unwrap();
    let o = iotrust(&["document", "verify", &format!("{d}/tf"), "--trust", &public]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("`evidence/home-router.probe.json` was changed after signing"),
        "{}",
        stderr(&o)
    );
}
