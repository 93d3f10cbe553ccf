//! Labels issued from a real assessment: signing, multi-signature, and every reason a label
//! fails verification.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::path::Path;

use base64::Engine as _;
use iotrust_assess::profile::{self, InputFormat};
use iotrust_catalog::Catalog;
use iotrust_label::document::{LabelInfo, Party};
use iotrust_label::dsse::{envelope, pae, sign, statement, verify, VerifyError};
use iotrust_label::{IssueError, Key, LabelDocument, Role};

fn info() -> LabelInfo {
    LabelInfo {
        issuer: Party {
            name: "Example Issuing Body".into(),
            contact: Some("labels@issuer.example".into()),
        },
        lab: Some(Party {
            name: "Example Test Lab".into(),
            contact: None,
        }),
        default_password: "Set during app onboarding; change it under Settings > Security".into(),
        secure_configuration: "https://veridor.example/secure-setup".into(),
        update_instructions: None,
        advisories: Some("https://veridor.example/advisories".into()),
        hbom: Some(true),
        registry: Some("https://registry.example/p/{id}".into()),
        document: None,
    }
}

fn issued() -> (LabelDocument, iotrust_label::Envelope, Vec<u8>) {
    let cat = Catalog::embedded().unwrap();
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/profiles/smart-lock.toml");
    let bytes = std::fs::read(&path).unwrap();
    let p = profile::parse(
        &cat,
        std::str::from_utf8(&bytes).unwrap(),
        InputFormat::Toml,
        "smart-lock.toml",
    )
    .unwrap();
    let a = iotrust_assess::assess(&cat, &p, &[], "2026-11-22".parse().unwrap());
    let doc = LabelDocument::from_assessment(&a, &info(), "2028-11-22".parse().unwrap()).unwrap();
    let env = envelope(&doc, "smart-lock.toml", &bytes).unwrap();
    (doc, env, bytes)
}

/// The smart-lock example with its support period ending on `end`, assessed on 2026-11-22.
fn lock_supported_until(end: &str) -> iotrust_assess::Assessment {
    let cat = Catalog::embedded().unwrap();
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/profiles/smart-lock.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("end_date = 2033-01-31"));
    let text = text.replace("end_date = 2033-01-31", &format!("end_date = {end}"));
    let p = profile::parse(&cat, &text, InputFormat::Toml, "smart-lock.toml").unwrap();
    iotrust_assess::assess(&cat, &p, &[], "2026-11-22".parse().unwrap())
}

#[test]
fn regression_a_product_whose_support_ended_a_year_before_issue_gets_no_label() {
    // issue 15: such a label was made valid for two more years
    let a = lock_supported_until("2025-11-22");
    let err =
        LabelDocument::from_assessment(&a, &info(), "2028-11-22".parse().unwrap()).unwrap_err();
    assert_eq!(
        err,
        IssueError::SupportEnded {
            end: "2025-11-22".parse().unwrap(),
            issued: "2026-11-22".parse().unwrap()
        }
    );
    assert!(err.to_string().contains("ended on 2025-11-22"), "{err}");
}

#[test]
fn a_label_is_never_valid_beyond_the_end_of_support() {
    let until = "2028-11-22".parse().unwrap();
    let a = lock_supported_until("2027-05-01");
    let doc = LabelDocument::from_assessment(&a, &info(), until).unwrap();
    assert_eq!(doc.valid_until.to_string(), "2027-05-01");
    // support ending on the issue date: valid that day only
    let a = lock_supported_until("2026-11-22");
    let doc = LabelDocument::from_assessment(&a, &info(), until).unwrap();
    assert_eq!(doc.valid_until.to_string(), "2026-11-22");
    // a shorter validity than the support period is kept
    let a = lock_supported_until("2033-01-31");
    let doc = LabelDocument::from_assessment(&a, &info(), until).unwrap();
    assert_eq!(doc.valid_until, until);
    // and a validity ending before the issue date is refused
    let err = LabelDocument::from_assessment(&a, &info(), "2026-01-01".parse().unwrap());
    assert!(matches!(err, Err(IssueError::ValidityBeforeIssue { .. })));
}

fn keys() -> (Key, Key, Key) {
    (
        Key::from_seed(Role::Manufacturer, "veridor", [1; 32]),
        Key::from_seed(Role::IssuingBody, "issuer", [2; 32]),
        Key::from_seed(Role::Lab, "lab", [3; 32]),
    )
}

#[test]
fn pae_matches_the_dsse_specification_example() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
}

#[test]
fn document_carries_the_registry_fields() {
    let (doc, _, _) = issued();
    assert_eq!(doc.product.manufacturer, "Veridor Security Ltd");
    assert_eq!(doc.tier.as_deref(), Some("assured"));
    assert!(doc.levels.iter().any(|l| l.level == "sg-cls@1.4#L4"));
    assert!(doc.conforms_to.contains(&"uk-psti@2023".to_string()));
    assert_eq!(doc.markets.get("UK").map(String::as_str), Some("yes"));
    assert_eq!(doc.updates.automatic, Some(true));
    assert_eq!(doc.boms.sbom, Some(true));
    assert_eq!(doc.support.status, "supported");
    assert!(doc.support.end_date.is_some());
    assert!(doc.registry_url.as_deref().unwrap().ends_with(&doc.id));
    assert!(doc.valid_until <= doc.support.end_date.unwrap());
}

#[test]
fn signed_by_several_parties_and_verified() {
    let (doc, mut env, _) = issued();
    let (m, i, l) = keys();
    for k in [&m, &i, &l] {
        sign(&mut env, k).unwrap();
    }
    assert_eq!(env.signatures.len(), 3);
    sign(&mut env, &i).unwrap();
    assert_eq!(
        env.signatures.len(),
        3,
        "re-signing replaces the key's signature"
    );
    let trusted = [m.public.clone(), i.public.clone(), l.public.clone()];
    let v = verify(&env, &trusted, "2027-01-01".parse().unwrap()).unwrap();
    assert_eq!(v.document, doc);
    assert_eq!(v.signers.len(), 3);
    // trusting only the issuing body: valid, the others reported as untrusted
    let v = verify(
        &env,
        std::slice::from_ref(&i.public),
        "2027-01-01".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(v.signers.len(), 1);
    assert_eq!(v.untrusted.len(), 2);
    let st = statement(&env).unwrap();
    assert_eq!(
        st.subject[0].digest.get("sha256").map(String::len),
        Some(64)
    );
}

#[test]
fn tampered_label_fails() {
    let (_, mut env, _) = issued();
    let (m, _, _) = keys();
    sign(&mut env, &m).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = String::from_utf8(b64.decode(&env.payload).unwrap()).unwrap();
    let forged = body.replace("\"tier\":\"assured\"", "\"tier\":\"advanced\"");
    assert_ne!(forged, body);
    env.payload = b64.encode(forged);
    let err = verify(
        &env,
        std::slice::from_ref(&m.public),
        "2027-01-01".parse().unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        VerifyError::Tampered {
            keyid: m.public.keyid.clone()
        }
    );
    assert!(err.to_string().contains("altered after signing"));
    // a garbage signature is the same failure
    let (_, mut env, _) = issued();
    sign(&mut env, &m).unwrap();
    env.signatures[0].sig = "AAAA".into();
    assert!(matches!(
        verify(&env, &[m.public], "2027-01-01".parse().unwrap()),
        Err(VerifyError::Tampered { .. })
    ));
}

#[test]
fn unknown_key_expired_unsigned_and_malformed_fail_with_their_reason() {
    let (_, mut env, _) = issued();
    let (m, i, _) = keys();
    assert_eq!(
        verify(
            &env,
            std::slice::from_ref(&m.public),
            "2027-01-01".parse().unwrap()
        )
        .unwrap_err(),
        VerifyError::NoSignature
    );
    sign(&mut env, &m).unwrap();
    let err = verify(
        &env,
        std::slice::from_ref(&i.public),
        "2027-01-01".parse().unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        VerifyError::UnknownKey {
            keyids: vec![m.public.keyid.clone()]
        }
    );
    let err = verify(
        &env,
        std::slice::from_ref(&m.public),
        "2029-01-01".parse().unwrap(),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::Expired { .. }), "{err}");
    assert!(err.to_string().contains("expired on 2028-11-22"));
    let err = verify(
        &env,
        std::slice::from_ref(&m.public),
        "2026-01-01".parse().unwrap(),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::NotYetValid { .. }));
    let mut bad = env.clone();
    bad.payload_type = "text/plain".into();
    assert!(matches!(
        verify(
            &bad,
            std::slice::from_ref(&m.public),
            "2027-01-01".parse().unwrap()
        ),
        Err(VerifyError::Malformed(_))
    ));
    let mut bad = env;
    bad.payload = "%%%".into();
    assert!(matches!(
        verify(&bad, &[m.public], "2027-01-01".parse().unwrap()),
        Err(VerifyError::Malformed(_))
    ));
}

#[test]
fn a_public_key_with_a_wrong_id_is_refused() {
    let (_, mut env, _) = issued();
    let (m, i, _) = keys();
    sign(&mut env, &m).unwrap();
    let mut forged = i.public.clone();
    forged.keyid = m.public.keyid.clone(); // claims m's id with i's key
    let err = verify(&env, &[forged], "2027-01-01".parse().unwrap()).unwrap_err();
    assert!(matches!(err, VerifyError::BadKey(..)), "{err}");
}

#[test]
fn label_schema_is_current_and_accepts_issued_labels() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/label.schema.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let generated = iotrust_label::document::json_schema();
    assert!(
        committed == generated,
        "schemas/label.schema.json is stale: run `iotrust catalog schema schemas`"
    );
    let (doc, _, _) = issued();
    let validator = jsonschema::validator_for(&generated).unwrap();
    assert!(validator.is_valid(&serde_json::to_value(&doc).unwrap()));
}

/// The rendered PNG carries a QR code that a real decoder (zbarimg, installed by the test
/// script) reads back as the registry URL.
#[test]
fn rendered_label_has_a_scannable_qr_code() {
    let (doc, _, _) = issued();
    let svg = iotrust_label::render::svg(&doc);
    assert!(svg.contains("ASSURED") && svg.contains("Security updates until"));
    assert!(
        svg.contains("sg-cls L4") && !svg.contains("sg-cls L1 "),
        "highest level per scheme only"
    );
    let png = iotrust_label::render::png(&svg, 2.0).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let dir = tempfile_dir();
    let path = dir.join("label.png");
    std::fs::write(&path, &png).unwrap();
    let out = std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&path)
        .output()
        .expect("zbarimg (zbar-tools) must be installed: scripts/test.sh installs it");
    assert!(
        out.status.success(),
        "zbarimg found no QR code: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        doc.registry_url.as_deref().unwrap()
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("iotrust-label-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
