//! Every kind for the example profiles that meet the law (items checked one by one against the
//! catalog's form), refusals with reasons, missing info items named, the technical file's
//! signature and hashes, and PNGs of every rendered kind (poppler's `pdftoppm`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::path::{Path, PathBuf};

use iotrust_assess::Assessment;
use iotrust_catalog::model::{DocumentKind, INFO_FIELDS};
use iotrust_catalog::Catalog;
use iotrust_document::build::{self, Inputs};
use iotrust_document::bundle;
use iotrust_document::info::Info;
use iotrust_document::{pdf, render, Document, DocumentError, Value};
use iotrust_label::{Key, Role};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn catalog() -> Catalog {
    Catalog::embedded().unwrap()
}

fn assess(cat: &Catalog, profile: &str, date: &str) -> Assessment {
    let path = root().join("examples/profiles").join(profile);
    let s = iotrust_assess::input::load(cat, &path, &[]).unwrap();
    iotrust_assess::assess(cat, &s.profile, &s.evidence, date.parse().unwrap())
}

/// An info file with every `[document]` key set.
fn full_info() -> Info {
    let mut text = String::from("[document]\n");
    for f in INFO_FIELDS {
        text.push_str(&format!("{f} = \"{f} of the example maker\"\n"));
    }
    Info::parse(&text, "info.toml", Path::new(".")).unwrap()
}

fn write(
    cat: &Catalog,
    a: &Assessment,
    info: &Info,
    kind: DocumentKind,
) -> Result<Document, DocumentError> {
    build::write(
        kind,
        &Inputs {
            catalog: cat,
            assessment: a,
            info,
            related: Default::default(),
            tool: "iotrust test".into(),
        },
    )
}

/// The document holds the catalog form's items, in order, each with its provision, and with
/// full info no item is missing (the technical file's pointers aside).
fn check_against_form(cat: &Catalog, d: &Document, date: &str) {
    let form = cat.document(d.kind, date.parse().unwrap()).unwrap();
    assert_eq!(d.form, *form.id);
    let want: Vec<(&str, &str)> = form
        .items
        .iter()
        .map(|i| (i.id.as_str(), i.provision.as_str()))
        .collect();
    let got: Vec<(&str, &str)> = d
        .items
        .iter()
        .map(|i| (i.id.as_str(), i.provision.as_str()))
        .collect();
    assert_eq!(got, want, "{}", d.form);
    for it in &d.items {
        if let Value::Missing { what } = &it.value {
            panic!("{}#{} missing with full info: {what}", d.form, it.id);
        }
    }
    for text in [render::markdown(d), render::html(d)] {
        assert!(
            text.contains(&d.catalog_version),
            "{}: no catalog version",
            d.form
        );
        assert!(text.contains(&d.made_on.to_string()), "{}: no date", d.form);
        for it in &d.items {
            assert!(
                text.contains(&it.provision.replace('&', "&amp;")),
                "{}: {}",
                d.form,
                it.provision
            );
        }
    }
    let p = pdf::pdf(d);
    assert!(p.starts_with(b"%PDF-"));
}

const DAY: &str = "2026-12-07";

#[test]
fn psti_statement_for_every_example_that_meets_psti() {
    let cat = catalog();
    let info = full_info();
    for p in [
        "smart-plug.toml",
        "home-router.toml",
        "baby-monitor.toml",
        "smart-lock.toml",
        "childrens-toy.toml",
        "legacy-camera.toml",
    ] {
        let a = assess(&cat, p, DAY);
        let d = write(&cat, &a, &info, DocumentKind::PstiStatement)
            .unwrap_or_else(|e| panic!("{p}: {e}"));
        check_against_form(&cat, &d, DAY);
        assert!(d.gaps().is_empty(), "{p}: {:?}", d.gaps());
        let support = d.items.iter().find(|i| i.id == "support-period").unwrap();
        let end = a.support.end_date.unwrap().to_string();
        assert!(
            matches!(&support.value, Value::Text { text } if text.contains(&end)),
            "{p}"
        );
        let sig = d.items.iter().find(|i| i.id == "signature").unwrap();
        assert!(matches!(&sig.value, Value::Signature { name: Some(_) }));
    }
}

#[test]
fn au_statement_for_the_examples_that_meet_the_rules() {
    let cat = catalog();
    let info = full_info();
    for p in ["home-router.toml", "smart-plug.toml"] {
        let a = assess(&cat, p, DAY);
        let d = write(&cat, &a, &info, DocumentKind::AuStatement)
            .unwrap_or_else(|e| panic!("{p}: {e}"));
        check_against_form(&cat, &d, DAY);
    }
}

#[test]
fn eu_declaration_is_red_now_and_cra_from_its_date() {
    let cat = catalog();
    let info = full_info();
    for p in ["smart-lock.toml", "vehicle-telematics-unit.toml"] {
        let a = assess(&cat, p, DAY);
        let d = write(&cat, &a, &info, DocumentKind::EuDeclaration)
            .unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(d.form, "eu-declaration-red");
        assert_eq!(d.scheme, "eu-red-da@2022");
        check_against_form(&cat, &d, DAY);
    }
    let later = "2027-12-20";
    let a = assess(&cat, "smart-lock.toml", later);
    let d = write(&cat, &a, &info, DocumentKind::EuDeclaration).unwrap();
    assert_eq!(d.form, "eu-declaration-cra");
    assert_eq!(d.scheme, "eu-cra@2024");
    check_against_form_loose(&cat, &d);
    // the example does not state its functions, so the CRA class and procedure stay open
    let gaps = d.gaps();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].item, "conformity-route");
    assert!(gaps[0].what.contains("product.functions"), "{gaps:?}");
}

/// The CRA's simplified declaration (Annex VI): from the CRA's date only, under the same gate
/// as the full one, its four items from the profile, the fixed wording and the info file.
#[test]
fn simplified_eu_declaration_is_the_cras_from_its_date_under_the_same_gate() {
    let cat = catalog();
    let info = full_info();
    let later = "2027-12-20";
    let a = assess(&cat, "smart-lock.toml", later);
    let d = write(&cat, &a, &info, DocumentKind::EuDeclarationSimplified).unwrap();
    assert_eq!(d.form, "eu-declaration-cra-simplified");
    assert_eq!(d.scheme, "eu-cra@2024");
    check_against_form(&cat, &d, later);
    let text = render::markdown(&d);
    assert!(text.contains(&a.profile.identity.manufacturer), "{text}");
    assert!(text.contains(&a.profile.identity.model), "{text}");
    assert!(text.contains("Regulation (EU) 2024/2847"), "{text}");
    let url = d.items.iter().find(|i| i.id == "full-declaration").unwrap();
    assert!(
        matches!(&url.value, Value::Text { text } if text == "declaration_url of the example maker"),
        "{:?}",
        url.value
    );
    assert!(d.gaps().is_empty(), "{:?}", d.gaps());
    // without the address of the full declaration, that is the gap
    let d = write(
        &cat,
        &a,
        &Info::default(),
        DocumentKind::EuDeclarationSimplified,
    )
    .unwrap();
    let gaps = d.gaps();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].item, "full-declaration");
    assert!(gaps[0].what.contains("declaration_url"), "{gaps:?}");

    // before the CRA applies there is no simplified form
    let now = assess(&cat, "smart-lock.toml", DAY);
    assert!(matches!(
        write(&cat, &now, &info, DocumentKind::EuDeclarationSimplified),
        Err(DocumentError::NoForm { .. })
    ));
    // a product that does not meet the CRA gets no simplified declaration either
    let plug = assess(&cat, "smart-plug.toml", later);
    let Err(DocumentError::Refused(r)) =
        write(&cat, &plug, &info, DocumentKind::EuDeclarationSimplified)
    else {
        panic!("the smart plug does not meet the CRA");
    };
    assert_eq!(r.scheme, "eu-cra@2024");
    assert!(!r.failing.is_empty());
    let Err(DocumentError::Refused(full)) = write(&cat, &plug, &info, DocumentKind::EuDeclaration)
    else {
        panic!("nor a full one");
    };
    assert_eq!(full.failing, r.failing);
}

#[test]
fn user_information_is_written_with_its_gaps_named() {
    let cat = catalog();
    let a = assess(&cat, "smart-lock.toml", DAY);
    let d = write(&cat, &a, &full_info(), DocumentKind::UserInformation).unwrap();
    check_against_form(&cat, &d, DAY);
    // with no info file every info item is named as missing, with the key to add
    let d = write(&cat, &a, &Info::default(), DocumentKind::UserInformation).unwrap();
    let gaps = d.gaps();
    assert!(
        gaps.iter()
            .any(|g| g.item == "postal-address" && g.what.contains("`manufacturer_address`")),
        "{gaps:?}"
    );
    assert!(gaps
        .iter()
        .any(|g| g.item == "decommissioning" && g.what.contains("`decommissioning`")));
    // a where-applicable item is not a gap
    assert!(!gaps.iter().any(|g| g.item == "integration"));
}

#[test]
fn statements_are_refused_with_the_failing_provisions() {
    let cat = catalog();
    let info = full_info();
    let a = assess(&cat, "ip-camera.toml", DAY);
    let Err(DocumentError::Refused(r)) = write(&cat, &a, &info, DocumentKind::PstiStatement) else {
        panic!("ip-camera: a PSTI statement was written");
    };
    assert!(
        r.failing
            .iter()
            .any(|f| f.provision == "uk-psti@2023#Sch1-para1"
                && f.verdict == "not-met"
                && f.reason.contains("universal-default")),
        "{r}"
    );
    let Err(DocumentError::Refused(r)) = write(&cat, &a, &info, DocumentKind::EuDeclaration) else {
        panic!("ip-camera: an EU declaration was written");
    };
    assert!(
        r.failing
            .iter()
            .any(|f| f.provision.starts_with("eu-red-da@2022#Art3-3-d")),
        "{r}"
    );
    // not in scope: nothing can be declared
    let a = assess(&cat, "laptop.toml", DAY);
    let Err(DocumentError::Refused(r)) = write(&cat, &a, &info, DocumentKind::PstiStatement) else {
        panic!("laptop: a PSTI statement was written");
    };
    assert!(r.why.contains("does not apply"), "{r}");
    // meets PSTI but not the AU rules' scope, nor the RED
    let a = assess(&cat, "smart-plug.toml", DAY);
    assert!(matches!(
        write(&cat, &a, &info, DocumentKind::EuDeclaration),
        Err(DocumentError::Refused(_))
    ));
    let a = assess(&cat, "smart-lock.toml", DAY);
    assert!(matches!(
        write(&cat, &a, &info, DocumentKind::AuStatement),
        Err(DocumentError::Refused(_))
    ));
}

#[test]
fn a_missing_info_item_is_named_never_blank() {
    let cat = catalog();
    let a = assess(&cat, "smart-plug.toml", DAY);
    let info = Info::parse(
        "[document]\nmanufacturer_address = \"1 Example St\"\nbatch = \"B1\"\nplace = \"Town\"\nsignatory_function = \"CEO\"\n",
        "maker.toml",
        Path::new("."),
    )
    .unwrap();
    let d = write(&cat, &a, &info, DocumentKind::PstiStatement).unwrap();
    let gaps = d.gaps();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].item, "signatory-name");
    assert!(gaps[0].what.contains("`signatory_name`") && gaps[0].what.contains("maker.toml"));
    let md = render::markdown(&d);
    assert!(md.contains("MISSING"), "{md}");
}

#[test]
fn info_file_errors_name_file_line_and_key() {
    let e = Info::parse(
        "[document]\nbatch = \"B1\"\nsignatory = \"x\"\n",
        "maker.toml",
        Path::new("."),
    )
    .unwrap_err();
    let m = e.to_string();
    assert!(
        m.starts_with("maker.toml:3:") && m.contains("signatory"),
        "{m}"
    );
    let e = Info::parse("[document]\nbatch = 3\n", "maker.toml", Path::new(".")).unwrap_err();
    assert!(e.to_string().starts_with("maker.toml:2:"), "{e}");
}

fn key(role: Role, name: &str) -> Key {
    Key::generate(role, name).unwrap()
}

fn technical_file(cat: &Catalog, key: &Key) -> bundle::TechnicalFile {
    let path = root().join("examples/profiles/smart-lock.toml");
    let s = iotrust_assess::input::load(cat, &path, &[]).unwrap();
    let a = iotrust_assess::assess(cat, &s.profile, &s.evidence, DAY.parse().unwrap());
    let reports = build::reports_of(&s.profile);
    assert!(!reports.is_empty());
    bundle::assemble(cat, &a, &full_info(), reports, None, key, "iotrust test").unwrap()
}

#[test]
fn technical_file_holds_documents_assessment_evidence_and_verifies() {
    let cat = catalog();
    let k = key(Role::Manufacturer, "maker");
    let tf = technical_file(&cat, &k);
    let paths: Vec<&str> = tf.parts.iter().map(|p| p.path.as_str()).collect();
    for want in [
        "technical-file.pdf",
        "technical-file.html",
        "technical-file.md",
        "eu-declaration.pdf",
        "user-information.pdf",
        "assessment/assessment.json",
        "assessment/assessment.html",
        "manifest.json",
        "manifest.dsse.json",
    ] {
        assert!(paths.contains(&want), "{want} not in {paths:?}");
    }
    assert!(tf.no_declaration.is_none());
    let doc = &tf.documents[0];
    assert_eq!(doc.kind, DocumentKind::CraTechnicalFile);
    check_against_form_loose(&cat, doc);
    let decl = doc.items.iter().find(|i| i.id == "declaration").unwrap();
    assert!(matches!(&decl.value, Value::File { path, .. } if path == "eu-declaration.pdf"));
    // the profile's inline lab report is the test report
    let tests = doc.items.iter().find(|i| i.id == "test-reports").unwrap();
    assert!(
        matches!(&tests.value, Value::Lines { lines } if lines.iter().any(|l| l.contains("lab-report"))),
        "{:?}",
        tests.value
    );
    assert!(doc.gaps().is_empty(), "{:?}", doc.gaps());

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tf");
    tf.write_dir(&out).unwrap();
    let v = bundle::verify(&out, std::slice::from_ref(&k.public)).unwrap();
    assert_eq!(v.manifest.files.len(), tf.parts.len() - 2);
    assert_eq!(v.signers[0].keyid, k.public.keyid);

    // the manifest is an in-toto Statement v1 whose subjects are the parts with their SHA-256
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(m["predicateType"], bundle::PREDICATE_TYPE);
    let subjects = m["subject"].as_array().unwrap();
    assert_eq!(subjects.len(), v.manifest.files.len());
    for (s, e) in subjects.iter().zip(&v.manifest.files) {
        assert_eq!(s["name"], e.path.as_str());
        assert_eq!(s["digest"]["sha256"], e.sha256.as_str());
    }
    // a statement re-signed by the same key in place of the manifest: the error it gives
    let resealed = |stmt: &serde_json::Value| {
        let mut parts = bundle::read_parts(&out).unwrap();
        let body = serde_json::to_vec(stmt).unwrap();
        let mut env = iotrust_label::dsse::envelope_of(bundle::MANIFEST_TYPE, &body);
        iotrust_label::dsse::sign(&mut env, &k).unwrap();
        parts.insert(bundle::ENVELOPE.into(), serde_json::to_vec(&env).unwrap());
        parts.insert(bundle::MANIFEST.into(), body);
        bundle::verify_parts(&parts, std::slice::from_ref(&k.public))
            .unwrap_err()
            .to_string()
    };
    // a Statement of another predicate (a label's) is no manifest
    let mut other_stmt = m.clone();
    other_stmt["predicateType"] = "https://iotrust.dev/label/v1".into();
    let e = resealed(&other_stmt);
    assert!(e.contains("not a technical file's manifest"), "{e}");
    // nor one whose subjects and files disagree
    let mut forged = m.clone();
    forged["subject"].as_array_mut().unwrap().pop();
    let e = resealed(&forged);
    assert!(
        e.contains("subjects and its manifest's files differ"),
        "{e}"
    );

    // another key's signature is not trusted
    let other = key(Role::Manufacturer, "other");
    let e = bundle::verify(&out, std::slice::from_ref(&other.public))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no signature by a trusted key"), "{e}");
}

#[test]
fn a_changed_evidence_file_breaks_verify() {
    let cat = catalog();
    let k = key(Role::Manufacturer, "maker");
    let a = assess(&cat, "home-router.toml", DAY);
    let tf =
        bundle::assemble(&cat, &a, &full_info(), Vec::new(), None, &k, "iotrust test").unwrap();
    let paths: Vec<&str> = tf.parts.iter().map(|p| p.path.as_str()).collect();
    assert!(
        paths.contains(&"evidence/home-router.probe.json"),
        "{paths:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tf");
    tf.write_dir(&out).unwrap();
    bundle::verify(&out, std::slice::from_ref(&k.public)).unwrap();
    let ev = paths
        .iter()
        .find(|p| p.starts_with("evidence/"))
        .unwrap()
        .to_string();
    let evp = out.join(&ev);
    let mut bytes = std::fs::read(&evp).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&evp, &bytes).unwrap();
    let e = bundle::verify(&out, std::slice::from_ref(&k.public))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("`{ev}` was changed after signing")),
        "{e}"
    );
}

/// The technical file's items are the form's (its pointers are filled by the bundle).
fn check_against_form_loose(cat: &Catalog, d: &Document) {
    let form = cat.document(d.kind, d.made_on).unwrap();
    let want: Vec<&str> = form.items.iter().map(|i| i.id.as_str()).collect();
    let got: Vec<&str> = d.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(got, want);
}

#[test]
fn technical_file_as_tar_verifies_and_detects_added_removed_and_changed_parts() {
    let cat = catalog();
    let k = key(Role::Manufacturer, "maker");
    let tf = technical_file(&cat, &k);
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("tf.tar");
    tf.write_tar(&tar).unwrap();
    bundle::verify(&tar, std::slice::from_ref(&k.public)).unwrap();

    let parts = bundle::read_parts(&tar).unwrap();
    let trusted = std::slice::from_ref(&k.public);
    let mut added = parts.clone();
    added.insert("evidence/extra.json".into(), b"{}".to_vec());
    let e = bundle::verify_parts(&added, trusted)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`evidence/extra.json` is not in the signed manifest"),
        "{e}"
    );
    let mut removed = parts.clone();
    removed.remove("assessment/assessment.json");
    let e = bundle::verify_parts(&removed, trusted)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`assessment/assessment.json` is missing"), "{e}");
    let mut changed = parts.clone();
    changed.insert("manifest.json".into(), b"{}".to_vec());
    let e = bundle::verify_parts(&changed, trusted)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`manifest.json` differs"), "{e}");
    let mut unsigned = parts;
    unsigned.remove("manifest.dsse.json");
    let e = bundle::verify_parts(&unsigned, trusted)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not signed"), "{e}");
}

/// The `.zip` technical file (the `zip` crate) verifies; a changed member breaks it, naming
/// the member; an archive with a path outside the file, or bytes that are not a zip, fail with
/// the archive named.
#[test]
fn technical_file_as_zip_verifies_and_a_changed_member_breaks_it() {
    let cat = catalog();
    let k = key(Role::Manufacturer, "maker");
    let tf = technical_file(&cat, &k);
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("tf.zip");
    tf.write_zip(&zip_path).unwrap();
    let trusted = std::slice::from_ref(&k.public);
    let v = bundle::verify(&zip_path, trusted).unwrap();
    assert_eq!(v.manifest.files.len(), tf.parts.len() - 2);
    // the same parts give the same bytes
    let again = dir.path().join("again.zip");
    tf.write_to(&again).unwrap();
    assert_eq!(
        std::fs::read(&zip_path).unwrap(),
        std::fs::read(&again).unwrap()
    );

    // rewrite the archive with one member changed
    let parts = bundle::read_parts(&zip_path).unwrap();
    let changed = dir.path().join("changed.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&changed).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for (path, bytes) in &parts {
        z.start_file(path.as_str(), opts).unwrap();
        let mut bytes = bytes.clone();
        if path == "user-information.md" {
            bytes.extend_from_slice(b"\nA line added after signing.\n");
        }
        std::io::Write::write_all(&mut z, &bytes).unwrap();
    }
    z.finish().unwrap();
    let e = bundle::verify(&changed, trusted).unwrap_err().to_string();
    assert!(
        e.contains("`user-information.md` was changed after signing"),
        "{e}"
    );

    let evil = dir.path().join("evil.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&evil).unwrap());
    z.start_file("../outside.txt", opts).unwrap();
    std::io::Write::write_all(&mut z, b"x").unwrap();
    z.finish().unwrap();
    let e = bundle::verify(&evil, trusted).unwrap_err().to_string();
    assert!(e.contains("evil.zip") && e.contains("unsafe path"), "{e}");

    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip at all").unwrap();
    let e = bundle::verify(&junk, trusted).unwrap_err().to_string();
    assert!(
        e.contains("junk.zip") && e.contains("not a zip archive"),
        "{e}"
    );
}

#[test]
fn technical_file_without_a_declaration_names_why() {
    let cat = catalog();
    let k = key(Role::Manufacturer, "maker");
    let a = assess(&cat, "smart-plug.toml", DAY);
    let tf =
        bundle::assemble(&cat, &a, &full_info(), Vec::new(), None, &k, "iotrust test").unwrap();
    assert!(!tf
        .parts
        .iter()
        .any(|p| p.path.starts_with("eu-declaration")));
    let why = tf.no_declaration.unwrap();
    assert!(why.contains("eu-red-da@2022"), "{why}");
    let decl = tf.documents[0]
        .items
        .iter()
        .find(|i| i.id == "declaration")
        .unwrap();
    assert!(matches!(&decl.value, Value::Missing { what } if what.contains("no EU declaration")));
}

/// One document of every kind, written for examples that meet the law, with full info.
fn every_kind(cat: &Catalog) -> Vec<(String, Document)> {
    let info = full_info();
    let k = key(Role::Manufacturer, "maker");
    let tf = technical_file(cat, &k);
    let mut docs: Vec<(String, Document)> = Vec::new();
    let plug = assess(cat, "smart-plug.toml", DAY);
    docs.push((
        "psti-statement".into(),
        write(cat, &plug, &info, DocumentKind::PstiStatement).unwrap(),
    ));
    docs.push((
        "au-statement".into(),
        write(cat, &plug, &info, DocumentKind::AuStatement).unwrap(),
    ));
    for d in tf.documents {
        docs.push((d.kind.to_string(), d));
    }
    let later = assess(cat, "smart-lock.toml", "2027-12-20");
    docs.push((
        "eu-declaration-simplified".into(),
        write(cat, &later, &info, DocumentKind::EuDeclarationSimplified).unwrap(),
    ));
    let kinds: Vec<&str> = docs.iter().map(|(n, _)| n.as_str()).collect();
    for k in DocumentKind::ALL {
        assert!(kinds.contains(&k.to_string().as_str()), "{k} not written");
    }
    docs
}

/// A PNG of the first page of every kind's PDF, for a person to look at
/// (`target/document-artefacts/*.png`).
#[test]
fn rendered_pages_of_every_kind_are_saved_as_png() {
    let cat = catalog();
    let out = root().join("target/document-artefacts");
    std::fs::create_dir_all(&out).unwrap();
    let docs = every_kind(&cat);
    for (name, d) in &docs {
        let pdf_path = out.join(format!("{name}.pdf"));
        std::fs::write(&pdf_path, pdf::pdf(d)).unwrap();
        std::fs::write(out.join(format!("{name}.html")), render::html(d)).unwrap();
        let status = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&pdf_path)
            .arg(out.join(name))
            .status()
            .expect("pdftoppm (Debian poppler-utils, scripts/test-packages.txt)");
        assert!(status.success(), "{name}: pdftoppm failed");
        let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 5000,
            "{name}: empty page"
        );
    }
}

/// Debian's Chromium, headless, on a local file: `args` then the page. A missing browser fails
/// the test (as the registry's browser tests do), never skips it.
fn chromium(profile: &Path, args: &[String], page: &Path) {
    let o = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (Debian chromium, scripts/test-packages.txt)");
    assert!(
        o.status.success(),
        "chromium {args:?} {}: {}",
        page.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Every kind's HTML as a browser shows it: Debian's Chromium (headless) takes a screenshot of
/// the first screen and prints the whole page to PDF, whose pages `pdftoppm` turns into PNGs
/// (`target/document-artefacts/chromium/`). The HTML is self-contained: nothing to fetch.
#[test]
fn html_of_every_kind_renders_in_chromium() {
    let cat = catalog();
    let out = root().join("target/document-artefacts/chromium");
    std::fs::create_dir_all(&out).unwrap();
    let out = out.canonicalize().unwrap();
    let profile = tempfile::tempdir().unwrap();
    for (name, d) in every_kind(&cat) {
        let html = render::html(&d);
        for attr in ["src=", "url(", "@import", "<link", "<script"] {
            assert!(
                !html.contains(attr),
                "{name}: the page loads something ({attr})"
            );
        }
        let page = out.join(format!("{name}.html"));
        std::fs::write(&page, &html).unwrap();
        let png = out.join(format!("{name}.png"));
        chromium(
            profile.path(),
            &[
                "--window-size=1000,1400".into(),
                format!("--screenshot={}", png.display()),
            ],
            &page,
        );
        let bytes = std::fs::read(&png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
            "{name}: {} bytes of screenshot",
            bytes.len()
        );
        let printed = out.join(format!("{name}-print.pdf"));
        chromium(
            profile.path(),
            &[
                "--no-pdf-header-footer".into(),
                format!("--print-to-pdf={}", printed.display()),
            ],
            &page,
        );
        assert!(std::fs::read(&printed).unwrap().starts_with(b"%PDF-"));
        let status = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "60"])
            .arg(&printed)
            .arg(out.join(format!("{name}-print")))
            .status()
            .expect("pdftoppm (Debian poppler-utils, scripts/test-packages.txt)");
        assert!(status.success(), "{name}: pdftoppm failed");
        let pages = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with(&format!("{name}-print-")) && n.ends_with(".png")
            })
            .count();
        assert!(pages >= 1, "{name}: no printed page");
    }
}

/// `InfoFile` mirrors `LabelInfo` with every label key optional: a label info file with every
/// key set reads as a document info file (a label key the document's file does not know fails
/// here; a new optional label key must be set below to be covered).
#[test]
fn every_label_info_key_is_read_by_the_document_info_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("examples/labels/label-info.toml")).unwrap();
    let mut label: iotrust_label::LabelInfo = toml::from_str(&text).unwrap();
    label.lab = Some(label.issuer.clone());
    label.update_instructions = Some("menu, then update".into());
    label.advisories = Some("https://example.com/advisories".into());
    label.hbom = Some(true);
    label.registry = Some("https://registry.example.com/p/{id}".into());
    let full = toml::to_string(&label).unwrap();
    let info = Info::parse(&full, "label-info.toml", &root.join("examples/labels"));
    assert!(info.is_ok(), "{:?}\n{full}", info.err());
}
