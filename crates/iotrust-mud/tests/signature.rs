//! The Cisco luminaire's real detached CMS signature (tests/fixtures/cisco-luminaire, origin
//! in SOURCES.md): a good signature whose chain expired on 2019-07-12.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use iotrust_mud::signature::{verify, SignatureStatus};
use std::path::PathBuf;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cisco-luminaire")
            .join(rel),
    )
    .unwrap()
}

fn at(date: &str) -> i64 {
    date.parse::<jiff::civil::Date>()
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_second()
}

#[test]
fn good_signature_expired_chain() {
    let (json, sig, ca) = (
        read("Luminaire_150.json"),
        read("Luminaire_150.p7s"),
        read("luminaire-cacert.pem"),
    );
    let now = jiff::Timestamp::now().as_second();
    match verify(&json, &sig, &ca, now).unwrap() {
        SignatureStatus::Expired { detail } => assert!(detail.contains("2019"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        verify(&json, &sig, &ca, at("2019-01-01")).unwrap(),
        SignatureStatus::Valid
    );
}

#[test]
fn flipped_byte_is_a_bad_signature() {
    let (mut json, sig, ca) = (
        read("Luminaire_150.json"),
        read("Luminaire_150.p7s"),
        read("luminaire-cacert.pem"),
    );
    json[100] ^= 0x01;
    assert!(matches!(
        verify(&json, &sig, &ca, at("2019-01-01")).unwrap(),
        SignatureStatus::Bad { .. }
    ));
    assert!(matches!(
        verify(&json, &sig, &ca, jiff::Timestamp::now().as_second()).unwrap(),
        SignatureStatus::Bad { .. }
    ));
}

#[test]
fn wrong_anchor_is_untrusted_and_garbage_is_an_error() {
    let (json, sig) = (read("Luminaire_150.json"), read("Luminaire_150.p7s"));
    // A self-signed anchor that did not sign the chain.
    let key = openssl::pkey::PKey::from_ec_key(
        openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "other").unwrap();
    let name = name.build();
    let mut b = openssl::x509::X509Builder::new().unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::from_unix(at("2018-01-01")).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::from_unix(at("2030-01-01")).unwrap())
        .unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    let pem = b.build().to_pem().unwrap();
    assert!(matches!(
        verify(&json, &sig, &pem, at("2019-01-01")).unwrap(),
        SignatureStatus::Untrusted { .. }
    ));
    assert!(verify(&json, b"not der", &pem, 0).is_err());
    assert!(verify(&json, &sig, b"not pem", 0).is_err());
}
