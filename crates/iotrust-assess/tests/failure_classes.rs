//! The failure classes of issue 15, found when real products' own documents were assessed as a
//! careful assessor would, each rebuilt here from a profile of the same shape: a fact that
//! bundled mechanisms, a mapping too coarse, undecided conditions, contradiction wording,
//! unknown taken for false, a state law read as the nation, conclusions instead of
//! mechanisms, interfaces and states, partial publications, absence and independence.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::path::{Path, PathBuf};

use iotrust_assess::profile::{self, InputFormat};
use iotrust_assess::result::{Access, Verdict};
use iotrust_assess::{assess, Assessment};
use iotrust_catalog::Catalog;
use jiff::civil::date;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(name: &str) -> String {
    std::fs::read_to_string(root().join("examples/profiles").join(name)).unwrap()
}

/// Replace one line that starts with `key =` inside `[section]` (the line must exist).
fn set(text: &str, section: &str, key: &str, value: &str) -> String {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut done = false;
    for line in text.lines() {
        if line.starts_with('[') {
            cur = line.trim_matches(|c| c == '[' || c == ']').to_string();
        }
        if !done && cur == section && line.split('=').next().map(str::trim) == Some(key) {
            out.push(format!("{key} = {value}"));
            done = true;
        } else {
            out.push(line.to_string());
        }
    }
    assert!(done, "[{section}] {key} not found");
    out.join("\n") + "\n"
}

/// Remove the line `key = …` of `[section]`.
fn unset(text: &str, section: &str, key: &str) -> String {
    let mut cur = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('[') {
            cur = line.trim_matches(|c| c == '[' || c == ']').to_string();
        }
        if cur == section && line.split('=').next().map(str::trim) == Some(key) {
            continue;
        }
        out.push(line.to_string());
    }
    out.join("\n") + "\n"
}

fn run(text: &str) -> Assessment {
    let cat = Catalog::embedded().unwrap();
    let p = profile::parse(&cat, text, InputFormat::Toml, "case.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    assess(&cat, &p, &[], date(2026, 12, 7))
}

fn outcome(a: &Assessment, id: &str) -> Verdict {
    a.outcomes.iter().find(|o| o.id == id).unwrap().verdict
}

fn provision<'a>(
    a: &'a Assessment,
    scheme: &str,
    id: &str,
) -> &'a iotrust_assess::result::ProvisionResult {
    a.schemes
        .iter()
        .find(|s| s.scheme == scheme)
        .and_then(|s| s.provisions.iter().find(|p| p.id == id))
        .unwrap_or_else(|| panic!("{scheme}#{id}"))
}

fn market(a: &Assessment, m: &str) -> Access {
    a.market(m).unwrap().access
}

const MINIMAL: &str = r#"schema = "iotrust-profile/2"
[product]
manufacturer = "Acme"
model = "X1"
category = "ip-camera"
markets = ["UK", "EU"]
consumer = true
connectable = true
"#;

// 1. Bundled facts: a signed update verified on the device, without anti-rollback, fails only
// rollback protection — not ETSI 5.3-2 / 5.3-7, not the tier, not the EU or DE market.
#[test]
fn signed_updates_without_anti_rollback_fail_only_rollback_protection() {
    let base = run(&example("smart-lock.toml"));
    let text = set(
        &example("smart-lock.toml"),
        "updates",
        "anti_rollback",
        "false",
    );
    let a = run(&text);
    assert_eq!(outcome(&a, "update-rollback-protection"), Verdict::NotMet);
    assert_eq!(outcome(&a, "secure-update-mechanism"), Verdict::Met);
    assert_eq!(outcome(&a, "update-cryptography"), Verdict::Met);
    for p in ["5.3-2", "5.3-7"] {
        assert_eq!(
            provision(&a, "etsi-en-303-645@3.1.3", p).verdict,
            Verdict::Met,
            "{p}"
        );
    }
    assert_eq!(a.summary.tier, base.summary.tier, "the tier does not move");
    for m in ["EU", "DE", "UK"] {
        assert_eq!(market(&a, m), market(&base, m), "market {m}");
        assert_eq!(market(&a, m), Access::Yes, "market {m}");
    }
}

// 1b. Five items of user information, one fact each: a missing support period in the user
// information fails CRA Annex II point 7, not point 1 (manufacturer and contact).
#[test]
fn user_information_items_fail_one_at_a_time() {
    let text = set(
        &example("smart-lock.toml"),
        "docs",
        "support_period_stated",
        "false",
    );
    let a = run(&text);
    assert_eq!(outcome(&a, "support-period-information"), Verdict::NotMet);
    assert_eq!(
        outcome(&a, "manufacturer-contact-information"),
        Verdict::Met
    );
    assert_eq!(
        provision(&a, "eu-cra@2024", "AnnexII-1").verdict,
        Verdict::Met
    );
    assert_eq!(
        provision(&a, "eu-cra@2024", "AnnexII-7").verdict,
        Verdict::NotMet
    );
}

// 2. ETSI 5.3-7 asks for good-practice cryptography in updates, and only that.
#[test]
fn etsi_5_3_7_reads_the_signature_algorithm() {
    let text = set(
        &example("smart-lock.toml"),
        "updates",
        "signature_algorithm",
        "\"rsa-1024\"",
    );
    let a = run(&text);
    assert_eq!(
        provision(&a, "etsi-en-303-645@3.1.3", "5.3-7").verdict,
        Verdict::NotMet
    );
    assert_eq!(
        provision(&a, "etsi-en-303-645@3.1.3", "5.3-2").verdict,
        Verdict::Met
    );
}

// 3. An undecided condition makes a failing provision unknown; false makes it n/a.
#[test]
fn undecided_condition_gives_unknown_not_not_met() {
    let text = format!("{MINIMAL}[data]\npersonal_data = true\nprotected_in_transit = false\n");
    let a = run(&text);
    let p = provision(&a, "etsi-en-303-645@3.1.3", "5.8-2");
    assert_eq!(p.verdict, Verdict::Unknown, "{}", p.reason);
    assert!(p.reason.contains("if it applies, not met"), "{}", p.reason);
    let a = run(&format!("{text}sensitive_personal_data = false\n"));
    assert_eq!(
        provision(&a, "etsi-en-303-645@3.1.3", "5.8-2").verdict,
        Verdict::NotApplicable
    );
    let a = run(&format!("{text}sensitive_personal_data = true\n"));
    assert_eq!(
        provision(&a, "etsi-en-303-645@3.1.3", "5.8-2").verdict,
        Verdict::NotMet
    );
    // outcomes that hold: met whatever the condition
    let ok = format!("{MINIMAL}[data]\npersonal_data = true\nprotected_in_transit = true\n");
    assert_eq!(
        provision(&run(&ok), "etsi-en-303-645@3.1.3", "5.8-2").verdict,
        Verdict::Met
    );
}

// 4. Contradiction wording comes from the strengths involved: two declarations disagree with
// each other; no test is claimed.
#[test]
fn contradiction_between_declarations_claims_no_test() {
    let text = format!(
        "{MINIMAL}[comms]\nplain_interfaces = []\ncleartext_management = true\ntls_min_version = \"tls1.2\"\n"
    );
    let a = run(&text);
    let o = a
        .outcomes
        .iter()
        .find(|o| o.id == "secure-communication")
        .unwrap();
    assert!(o.contradiction, "{}", o.reason);
    assert!(
        o.reason.contains("declared facts disagree with each other"),
        "{}",
        o.reason
    );
    assert!(!o.reason.contains("tests found"), "{}", o.reason);
}

// 5. Unknown is not false: payments unknown leaves RED 3(3)(f) undecided when its outcome
// fails, never not met; and where a default is assumed, the reason says so.
#[test]
fn unknown_payments_are_not_assumed_absent_and_assumptions_are_named() {
    let text = format!("{MINIMAL}radio = true\n");
    let a = run(&text);
    let p = provision(&a, "eu-red-da@2022", "Art3-3-f");
    assert_eq!(p.verdict, Verdict::Unknown, "{}", p.reason);
    assert!(p.reason.contains("payments"), "{}", p.reason);
    let a = run(&format!("{text}handles_payments = false\n"));
    assert_eq!(
        provision(&a, "eu-red-da@2022", "Art3-3-f").verdict,
        Verdict::NotApplicable
    );
    let no_consumer = MINIMAL.replace("consumer = true\n", "");
    let a = run(&no_consumer);
    let etsi = a
        .schemes
        .iter()
        .find(|s| s.scheme == "etsi-en-303-645@3.1.3")
        .unwrap();
    assert!(
        etsi.scope_reason
            .contains("assumed product.consumer = true"),
        "{}",
        etsi.scope_reason
    );
}

// 6. California is its own market: a camera that fails SB-327 may still be sold in the US
// at the federal level, and not in California.
#[test]
fn a_state_law_is_not_the_nation() {
    let a = run(&example("ip-camera.toml"));
    assert_eq!(market(&a, "US"), Access::Yes);
    assert_eq!(market(&a, "US-CA"), Access::No);
    let only_us = example("ip-camera.toml").replace(
        r#"markets = ["UK", "EU", "US", "US-CA"]"#,
        r#"markets = ["US"]"#,
    );
    let a = run(&only_us);
    let sb = a
        .schemes
        .iter()
        .find(|s| s.scheme == "us-ca-sb-327@2018")
        .unwrap();
    assert!(!sb.in_scope, "{}", sb.scope_reason);
}

// 7. Mechanisms, judged by the catalog: a fixed delay without a limit, a password derived
// from the chip id, an MD5 digest over plain HTTP.
#[test]
fn mechanisms_are_judged_by_the_catalog() {
    let lock = example("smart-lock.toml");
    let fixed = set(&lock, "auth", "brute_force", "\"fixed-delay\"");
    assert_eq!(
        outcome(&run(&fixed), "brute-force-resistance"),
        Verdict::Unknown
    );
    let fast = set(
        &lock,
        "auth",
        "brute_force",
        "\"fixed-delay\"\nattempts_per_hour = 3600",
    );
    assert_eq!(
        outcome(&run(&fast), "brute-force-resistance"),
        Verdict::NotMet
    );
    let slow = fast.replace("attempts_per_hour = 3600", "attempts_per_hour = 30");
    assert_eq!(outcome(&run(&slow), "brute-force-resistance"), Verdict::Met);

    let derived = set(
        &lock,
        "auth",
        "default_password_origin",
        "\"derived-from-identifier\"",
    );
    let a = run(&derived);
    assert_eq!(
        outcome(&a, "unpredictable-unique-passwords"),
        Verdict::NotMet
    );
    assert_eq!(
        provision(&a, "uk-psti@2023", "Sch1-para1").verdict,
        Verdict::NotMet
    );
    let keyed = set(
        &lock,
        "auth",
        "default_password_origin",
        "\"keyed-derivation\"",
    );
    assert_eq!(
        outcome(&run(&keyed), "unpredictable-unique-passwords"),
        Verdict::Met
    );

    let md5 = format!(
        "{}[auth]\nuses_passwords = true\nuser_authentication = true\npassword_storage = \"salted-hash\"\n[[interface]]\nname = \"web admin\"\nkind = \"network-service\"\nport = 80\ntransport = \"plain\"\nauthentication = \"password-digest-md5\"\ndefault_state = \"enabled\"\npurpose = \"management\"\n",
        MINIMAL
    );
    let a = run(&md5);
    let o = a
        .outcomes
        .iter()
        .find(|o| o.id == "strong-authentication-mechanisms")
        .unwrap();
    assert_eq!(o.verdict, Verdict::NotMet, "{}", o.reason);
}

/// Secure boot and the implementations of cryptography are mechanisms too: a signature
/// checked with a key kept in rewritable flash, or a checksum, is no secure boot; in-house
/// cryptography is not a reviewed implementation; unknown stays unknown.
#[test]
fn boot_verification_and_its_root_of_trust_are_judged_by_the_catalog() {
    let lock = example("smart-lock.toml");
    assert_eq!(outcome(&run(&lock), "secure-boot"), Verdict::Met);
    let flash = set(&lock, "integrity", "root_of_trust", "\"rewritable-flash\"");
    assert_eq!(outcome(&run(&flash), "secure-boot"), Verdict::NotMet);
    let crc = set(&lock, "integrity", "boot_verification", "\"checksum\"");
    let a = run(&crc);
    assert_eq!(outcome(&a, "secure-boot"), Verdict::NotMet);
    // no signature at boot: tamper response to a failed image check does not apply
    assert_eq!(outcome(&a, "tamper-response"), Verdict::NotApplicable);
    let anchor_unknown = unset(&lock, "integrity", "root_of_trust");
    assert_eq!(
        outcome(&run(&anchor_unknown), "secure-boot"),
        Verdict::Unknown
    );

    let own = set(&lock, "crypto", "implementations", "\"in-house\"");
    assert_eq!(
        outcome(&run(&own), "vetted-security-implementations"),
        Verdict::NotMet
    );
    let lib = set(&lock, "crypto", "implementations", "\"maintained-library\"");
    assert_eq!(
        outcome(&run(&lib), "vetted-security-implementations"),
        Verdict::Met
    );
}

// 8. Interfaces and states: a TLS cloud client beside a plain-HTTP admin server; the same
// admin off by default (an option a user may enable); an open setup hotspot.
#[test]
fn interfaces_and_their_default_state_decide_the_derived_facts() {
    let rows = |admin_state: &str| {
        format!(
            "{MINIMAL}[[interface]]\nname = \"cloud link\"\nkind = \"network-client\"\nprotocol = \"mqtt\"\ntransport = \"tls1.2\"\nauthentication = \"certificate\"\nreach = \"cloud\"\npurpose = \"data\"\n\n[[interface]]\nname = \"web admin\"\nkind = \"network-service\"\nprotocol = \"http\"\nport = 80\ntransport = \"plain\"\nauthentication = \"password\"\ndefault_state = \"{admin_state}\"\nuser_can_enable = true\nreach = \"LAN\"\npurpose = \"management\"\n\n[[interface]]\nname = \"setup hotspot\"\nkind = \"network-service\"\nprotocol = \"http\"\nport = 8080\ntransport = \"plain\"\nauthentication = \"none\"\ndefault_state = \"setup-only\"\nreach = \"local\"\npurpose = \"setup\"\n"
        )
    };
    let cat = Catalog::embedded().unwrap();
    let on = profile::parse(&cat, &rows("enabled"), InputFormat::Toml, "on.toml").unwrap();
    let get = |p: &profile::Profile, id: &str| {
        let (fid, _) = cat.fact(id).unwrap();
        p.facts.get(fid).map(|(v, _)| v.to_string())
    };
    assert_eq!(
        get(&on, "comms.cleartext_management").as_deref(),
        Some("true")
    );
    assert_eq!(
        get(&on, "surface.open_tcp_ports").as_deref(),
        Some("[80, 8080]")
    );
    assert_eq!(
        get(&on, "surface.anonymous_services").as_deref(),
        Some("[setup hotspot]")
    );
    assert_eq!(
        get(&on, "auth.cleartext_password_interfaces").as_deref(),
        Some("[web admin]")
    );
    let off = profile::parse(&cat, &rows("disabled"), InputFormat::Toml, "off.toml").unwrap();
    assert_eq!(
        get(&off, "comms.cleartext_management").as_deref(),
        Some("false")
    );
    assert_eq!(
        get(&off, "surface.open_tcp_ports").as_deref(),
        Some("[8080]")
    );
    assert_eq!(
        get(&off, "auth.cleartext_password_interfaces").as_deref(),
        Some("[]")
    );
    let a = run(&rows("enabled"));
    assert_eq!(outcome(&a, "secure-communication"), Verdict::NotMet);
    // rows carry their own strength and source; a derived fact is as strong as its rows
    let documented = rows("enabled").replace(
        "[[interface]]\n",
        "[[interface]]\nstrength = \"documented\"\nsource = \"security white paper, section 4\"\n",
    );
    let p = profile::parse(&cat, &documented, InputFormat::Toml, "doc.toml").unwrap();
    let (fid, _) = cat.fact("comms.cleartext_management").unwrap();
    let (_, prov) = p.facts.get(fid).unwrap();
    assert_eq!(prov.strength, iotrust_catalog::model::Strength::Documented);
    assert!(
        prov.source.contains("security white paper, section 4"),
        "{}",
        prov.source
    );
}

// 9. "Published, but without X": support until notice has no end date (not met, not
// unknown); a policy without a status-update interval, found absent, fails the timelines.
#[test]
fn partial_publications_are_decided() {
    let lock = example("smart-lock.toml");
    let until = unset(&lock, "support", "end_date").replace(
        "[support]\n",
        "[support]\nperiod_kind = \"until-notice\"\nnotice_months = 6\n",
    );
    let a = run(&until);
    assert_eq!(outcome(&a, "support-period-published"), Verdict::NotMet);
    let silent = set(
        &lock,
        "vdp",
        "status_update_days",
        "{ absent = { by = \"reviewer\", where = \"the maker's security page\", on = 2026-12-01 } }",
    );
    let a = run(&silent);
    let o = a
        .outcomes
        .iter()
        .find(|o| o.id == "disclosure-timelines-published")
        .unwrap();
    assert_eq!(o.verdict, Verdict::NotMet, "{}", o.reason);
    assert!(
        o.reason.contains("status_update_days = absent"),
        "{}",
        o.reason
    );
    let used = o
        .facts
        .iter()
        .find(|f| f.fact == "vdp.status_update_days")
        .unwrap();
    assert!(
        used.source.as_deref().is_some_and(
            |s| s.contains("looked in the maker's security page on 2026-12-01 and found none")
        ),
        "{:?}",
        used.source
    );
}

// 10. A maker's own self-assessment is the maker's word: it raises nothing.
#[test]
fn a_makers_own_report_is_not_independent() {
    let text = format!(
        "{MINIMAL}[vdp]\npublished = true\ncontact = \"https://acme.example/security\"\n\n[[evidence]]\nkind = \"document\"\ntitle = \"Acme EN 303 645 self-assessment\"\nindependent = false\ncovers = [\"vdp.published\", \"vdp.contact\"]\n"
    );
    let a = run(&text);
    let o = a
        .outcomes
        .iter()
        .find(|o| o.id == "vulnerability-disclosure-policy")
        .unwrap();
    assert_eq!(o.strength, Some(iotrust_catalog::model::Strength::Declared));
    let indep = text.replace("independent = false\n", "");
    let a = run(&indep);
    let o = a
        .outcomes
        .iter()
        .find(|o| o.id == "vulnerability-disclosure-policy")
        .unwrap();
    assert_eq!(
        o.strength,
        Some(iotrust_catalog::model::Strength::Documented)
    );
}

// Migration: a version 1 file still reads; bundled facts that map exactly are mapped.
#[test]
fn version_1_profiles_still_read() {
    let cat = Catalog::embedded().unwrap();
    let v1 = format!(
        "{}[updates]\nmechanism = \"automatic\"\nsecure = true\n[docs]\nuser_information = true\n",
        MINIMAL.replace("iotrust-profile/2", "iotrust-profile/1")
    );
    let p = profile::parse(&cat, &v1, InputFormat::Toml, "v1.toml").unwrap();
    for id in [
        "updates.signed",
        "updates.anti_rollback",
        "docs.support_period_stated",
    ] {
        let (fid, _) = cat.fact(id).unwrap();
        assert!(p.facts.get(fid).is_some(), "{id} mapped");
    }
    let up = iotrust_assess::migrate::upgrade(&cat, "v1.toml", &v1).unwrap();
    assert!(up.text.contains("schema = \"iotrust-profile/2\""));
    assert!(up.text.contains("anti_rollback = true"));
    assert!(up.to_state.is_empty());
    let conclusion = v1.replace("secure = true", "secure = false");
    assert!(profile::parse(&cat, &conclusion, InputFormat::Toml, "v1.toml").is_err());
    let up = iotrust_assess::migrate::upgrade(&cat, "v1.toml", &conclusion).unwrap();
    assert_eq!(up.to_state.len(), 1, "{:?}", up.to_state);
    assert!(
        !up.text.lines().any(|l| l.starts_with("secure =")),
        "{}",
        up.text
    );
    assert!(
        up.text
            .contains("#   - updates.secure = false: state updates.signed"),
        "{}",
        up.text
    );
}

// docs/profile.md's table of replaced facts names every fact version 2 replaced.
#[test]
fn docs_list_every_replaced_fact() {
    let doc = std::fs::read_to_string(root().join("docs/profile.md")).unwrap();
    for r in iotrust_assess::migrate::REPLACED {
        assert!(
            doc.lines()
                .any(|l| l.starts_with(&format!("| `{}` |", r.old))),
            "docs/profile.md does not list `{}` among the replaced facts",
            r.old
        );
    }
}

/// Issue 18: the outcome about needed services reads the product's own declaration of how it
/// talks. A TCP port open that no declared conversation uses is a service the product does
/// not need, whatever `surface.only_needed_services` says; a port the declaration names is
/// fine.
#[test]
fn declared_communications_decide_which_open_ports_are_needed() {
    let cam = example("ip-camera.toml");
    let claims = set(&cam, "surface", "only_needed_services", "true");
    // the camera declares one conversation peers open: RTSP on 554
    let declared = claims.replace(
        "only_needed_services = true",
        "only_needed_services = true\nopen_tcp_ports = [554]",
    );
    assert_eq!(outcome(&run(&declared), "minimal-services"), Verdict::Met);
    let extra = claims.replace(
        "only_needed_services = true",
        "only_needed_services = true\nopen_tcp_ports = [554, 8080]",
    );
    let a = run(&extra);
    let o = a
        .outcomes
        .iter()
        .find(|o| o.id == "minimal-services")
        .unwrap();
    assert_ne!(o.verdict, Verdict::Met, "{}", o.reason);
    assert!(
        o.reason.contains("no declared conversation uses"),
        "{}",
        o.reason
    );
}
