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

// 7b. The interface table decides unused interfaces and network functions without
// authentication (ETSI 5.6-1, 5.5-4); stating either beside the table is an error.
#[test]
fn interface_rows_decide_unused_interfaces_and_unauthenticated_functions() {
    let lock = example("smart-lock.toml");
    let a = run(&lock);
    assert_eq!(outcome(&a, "unused-interfaces-disabled"), Verdict::Met);
    assert_eq!(outcome(&a, "authenticated-network-functions"), Verdict::Met);
    // the unused Zigbee mode left on in the shipped state
    let zigbee_on = lock.replace(
        "default_state = \"disabled\"              # not used by the lock",
        "default_state = \"enabled\"              # not used by the lock",
    );
    assert_ne!(zigbee_on, lock);
    let a = run(&zigbee_on);
    assert_eq!(outcome(&a, "unused-interfaces-disabled"), Verdict::NotMet);
    assert_eq!(
        provision(&a, "etsi-en-303-645@3.1.3", "5.6-1").verdict,
        Verdict::NotMet
    );
    // an unauthenticated radio function on by default fails 5.5-4
    let open = lock.replace(
        "authentication = \"pairing-code\"",
        "authentication = \"none\"",
    );
    assert_eq!(
        outcome(&run(&open), "authenticated-network-functions"),
        Verdict::NotMet
    );
    // a debug network service on by default is not a needed service
    let telnetish = format!(
        "{lock}\n[[interface]]\nname = \"factory shell\"\nkind = \"network-service\"\nport = 9999\ntransport = \"plain\"\nauthentication = \"password\"\ndefault_state = \"enabled\"\npurpose = \"debug\"\n"
    );
    assert_eq!(
        outcome(&run(&telnetish), "minimal-services"),
        Verdict::NotMet
    );
    // the table is the one place: a stated value beside it is an error naming the table
    let stated = lock.replace("[comms]\n", "[comms]\nnetwork_functions_need_auth = true\n");
    let cat = Catalog::embedded().unwrap();
    let e = profile::parse(&cat, &stated, InputFormat::Toml, "lock.toml").unwrap_err();
    assert!(e.to_string().contains("[[interface]] table"), "{e}");
    // without a table the plain fact is still read
    let plain = format!("{MINIMAL}[comms]\nnetwork_functions_need_auth = false\n");
    assert_eq!(
        outcome(&run(&plain), "authenticated-network-functions"),
        Verdict::NotMet
    );
}

// 7c. Conclusions replaced by what a maker observes (input handling, denial of service,
// secure defaults, the development process, the data inventory, key lifecycle): each passes
// with the mechanism, fails without it, and unknown stays unknown.
#[test]
fn observable_mechanisms_replace_the_remaining_conclusions() {
    let lock = example("smart-lock.toml");
    let base = run(&lock);
    for o in [
        "input-validation",
        "dos-resilience",
        "secure-by-default",
        "secure-development-process",
        "data-minimisation",
        "key-lifecycle-management",
    ] {
        assert_eq!(outcome(&base, o), Verdict::Met, "{o}");
    }
    // one crafted input that reboots the product fails input validation and DoS resilience
    let crash = set(&lock, "input", "malformed_input_failure", "true");
    let a = run(&crash);
    assert_eq!(outcome(&a, "input-validation"), Verdict::NotMet);
    assert_eq!(outcome(&a, "dos-resilience"), Verdict::NotMet);
    assert_eq!(
        provision(&a, "etsi-en-303-645@3.1.3", "5.13-1B").verdict,
        Verdict::NotMet
    );
    let untested = set(&lock, "input", "robustness_testing", "\"none\"");
    assert_eq!(
        outcome(&run(&untested), "input-validation"),
        Verdict::NotMet
    );
    let unknown = unset(&lock, "input", "robustness_testing");
    assert_eq!(
        outcome(&run(&unknown), "input-validation"),
        Verdict::Unknown
    );
    // a flood test that took an essential function down; no mitigation and no test
    let flooded = set(&lock, "resilience", "flood_test", "\"lost-function\"");
    assert_eq!(outcome(&run(&flooded), "dos-resilience"), Verdict::NotMet);
    let bare = set(
        &set(&lock, "resilience", "flood_test", "\"not-tested\""),
        "resilience",
        "rate_limiting",
        "false",
    );
    assert_eq!(outcome(&run(&bare), "dos-resilience"), Verdict::NotMet);
    let limited = set(&lock, "resilience", "flood_test", "\"not-tested\"");
    assert_eq!(outcome(&run(&limited), "dos-resilience"), Verdict::Met);
    // a security feature shipped off
    let off = set(
        &lock,
        "setup",
        "security_features_off_by_default",
        "[\"storage encryption\"]",
    );
    assert_eq!(outcome(&run(&off), "secure-by-default"), Verdict::NotMet);
    // no written process; a process without review or analysis
    let none = set(&lock, "dev", "process", "\"none\"");
    assert_eq!(
        outcome(&run(&none), "secure-development-process"),
        Verdict::NotMet
    );
    let unreviewed = set(
        &set(&lock, "dev", "code_review", "false"),
        "dev",
        "static_analysis",
        "false",
    );
    assert_eq!(
        outcome(&run(&unreviewed), "secure-development-process"),
        Verdict::NotMet
    );
    let analysed = set(&lock, "dev", "code_review", "false");
    assert_eq!(
        outcome(&run(&analysed), "secure-development-process"),
        Verdict::Met
    );
    // an item collected for no purpose of the product
    let adid = set(
        &lock,
        "data",
        "items_without_purpose",
        "[\"advertising id\"]",
    );
    let a = run(&adid);
    assert_eq!(outcome(&a, "data-minimisation"), Verdict::NotMet);
    assert_eq!(
        provision(&a, "eu-cra@2024", "AnnexI-I-2g").verdict,
        Verdict::NotMet
    );
    // a key shared across all units fails key management; rotation unknown stays unknown
    let shared = set(&lock, "storage", "per_device_parameters", "false");
    let a = run(&shared);
    assert_eq!(outcome(&a, "key-lifecycle-management"), Verdict::NotMet);
    assert_eq!(
        provision(&a, "etsi-en-303-645@3.1.3", "5.5-8").verdict,
        Verdict::NotMet
    );
    let rotation = unset(&lock, "crypto", "key_rotation");
    let a = run(&rotation);
    assert_eq!(outcome(&a, "key-lifecycle-management"), Verdict::Unknown);
    assert_eq!(
        provision(&a, "etsi-en-303-645@3.1.3", "5.5-8").verdict,
        Verdict::Unknown
    );
    // plaintext key storage fails secure storage (5.4-1), not key management too
    let plain = set(&lock, "storage", "secrets_at_rest", "\"plaintext\"");
    let a = run(&plain);
    assert_eq!(outcome(&a, "secure-parameter-storage"), Verdict::NotMet);
    assert_eq!(outcome(&a, "key-lifecycle-management"), Verdict::Met);
}

// 2b. "Can it be updated" and "does it install updates by itself" are two facts (ETSI C3/F(g)
// against F(h)): a document that shows over-the-air updates answers the first alone.
#[test]
fn updatable_is_separate_from_automatic() {
    let text = format!("{MINIMAL}[updates]\nupdatable = true\n");
    let a = run(&text);
    for p in ["5.3-14", "5.3-15A", "5.3-15B"] {
        assert_eq!(
            provision(&a, "etsi-en-303-645@3.1.3", p).verdict,
            Verdict::NotApplicable,
            "{p}"
        );
    }
    assert_eq!(outcome(&a, "automatic-updates"), Verdict::Unknown);
    assert_eq!(outcome(&a, "update-user-control"), Verdict::Unknown);
    // not updatable: nothing about automatic updates applies, isolation does
    let a = run(&format!("{MINIMAL}[updates]\nupdatable = false\n"));
    assert_eq!(outcome(&a, "update-user-control"), Verdict::NotApplicable);
    assert_eq!(outcome(&a, "automatic-updates"), Verdict::NotApplicable);
    assert_eq!(outcome(&a, "non-updatable-isolable"), Verdict::Unknown);
    // manual updates: automatic updates not met, user control not applicable
    let a = run(&format!(
        "{MINIMAL}[updates]\nupdatable = true\nautomatic = false\n"
    ));
    assert_eq!(outcome(&a, "automatic-updates"), Verdict::NotMet);
    assert_eq!(outcome(&a, "update-user-control"), Verdict::NotApplicable);
    // version 1 `mechanism` maps exactly; in version 2 it is an error naming its successors
    let cat = Catalog::embedded().unwrap();
    let v1 = format!(
        "{}[updates]\nmechanism = \"manual\"\n",
        MINIMAL.replace("iotrust-profile/2", "iotrust-profile/1")
    );
    let p = profile::parse(&cat, &v1, InputFormat::Toml, "v1.toml").unwrap();
    let get = |id: &str| {
        let (fid, _) = cat.fact(id).unwrap();
        p.facts.get(fid).map(|(v, _)| v.to_string())
    };
    assert_eq!(get("updates.updatable").as_deref(), Some("true"));
    assert_eq!(get("updates.automatic").as_deref(), Some("false"));
    let up = iotrust_assess::migrate::upgrade(&cat, "v1.toml", &v1).unwrap();
    assert!(up.text.contains("updatable = true"), "{}", up.text);
    assert!(up.text.contains("automatic = false"), "{}", up.text);
    assert!(up.to_state.is_empty(), "{:?}", up.to_state);
    let v2 = format!("{MINIMAL}[updates]\nmechanism = \"manual\"\n");
    let e = profile::parse(&cat, &v2, InputFormat::Toml, "v2.toml").unwrap_err();
    assert!(e.to_string().contains("updates.updatable"), "{e}");
    // a version 1 conclusion fact is an error naming what replaced it
    let v1 = format!(
        "{}[input]\nvalidated = true\n",
        MINIMAL.replace("iotrust-profile/2", "iotrust-profile/1")
    );
    let e = profile::parse(&cat, &v1, InputFormat::Toml, "v1.toml").unwrap_err();
    assert!(e.to_string().contains("input.robustness_testing"), "{e}");
}

// 8b. States: UK PSTI Sch 1 para 1 and ETSI 5.1-1 judge every state other than the factory
// default, so a shared factory password that setup forces the user to replace passes them;
// one that stays valid after setup does not. The factory default state is what secure by
// default (CRA Annex I Part I (2)(b)) and ETSI 5.5-4 read.
#[test]
fn password_states_are_read_where_each_scheme_judges_them() {
    let lock = example("smart-lock.toml");
    let forced = set(
        &set(&lock, "auth", "password_model", "\"user-defined\""),
        "auth",
        "factory_default_password",
        "\"universal-default\"\nsetup_replaces_default_password = true",
    );
    let a = run(&forced);
    assert_eq!(
        provision(&a, "uk-psti@2023", "Sch1-para1").verdict,
        Verdict::Met
    );
    assert_eq!(
        provision(&a, "etsi-en-303-645@3.1.3", "5.1-1").verdict,
        Verdict::Met
    );
    assert_eq!(outcome(&a, "secure-by-default"), Verdict::Met);
    // the shared factory password stays valid after setup: "user-defined" is contradicted
    let kept = forced.replace(
        "setup_replaces_default_password = true",
        "setup_replaces_default_password = false",
    );
    let a = run(&kept);
    let o = a
        .outcomes
        .iter()
        .find(|o| o.id == "no-universal-default-password")
        .unwrap();
    assert_eq!(o.verdict, Verdict::NotMet, "{}", o.reason);
    assert!(o.contradiction, "{}", o.reason);
    assert_eq!(
        provision(&a, "uk-psti@2023", "Sch1-para1").verdict,
        Verdict::NotMet
    );
    assert_eq!(outcome(&a, "secure-by-default"), Verdict::NotMet);
    // an empty factory password nothing forces the user to set admits anyone (5.5-4)
    let empty = kept.replace(
        "factory_default_password = \"universal-default\"",
        "factory_default_password = \"empty\"",
    );
    assert_eq!(
        outcome(&run(&empty), "authenticated-network-functions"),
        Verdict::NotMet
    );
    // the state after setup unknown: the provisions stay unknown, whatever the factory default
    let after_unknown = unset(&forced, "auth", "password_model");
    assert_eq!(
        provision(&run(&after_unknown), "uk-psti@2023", "Sch1-para1").verdict,
        Verdict::Unknown
    );
}

// 8. States, continued. An option a user may switch on is judged on its own: ETSI EN 303 645
// 5.5-4 (initialized state) and 5.5-5 (no state named) read it; CRA's secure by default
// (the configuration as shipped) does not.
#[test]
fn options_a_user_can_enable_are_judged_apart_from_the_shipped_state() {
    let lock = example("smart-lock.toml");
    let telnet = |auth: &str, can: bool| {
        format!(
            "{lock}\n[[interface]]\nname = \"service telnet\"\nkind = \"network-service\"\nprotocol = \"telnet\"\nport = 23\ntransport = \"plain\"\nauthentication = \"{auth}\"\ndefault_state = \"disabled\"\nuser_can_enable = {can}\nreach = \"LAN\"\npurpose = \"management\"\n"
        )
    };
    let base = run(&lock);
    let open = run(&telnet("none", true));
    assert_eq!(
        outcome(&open, "optional-functions-authenticated"),
        Verdict::NotMet
    );
    assert_eq!(
        outcome(&open, "optional-configuration-authenticated"),
        Verdict::NotMet
    );
    for p in ["5.5-4", "5.5-5"] {
        assert_eq!(
            provision(&open, "etsi-en-303-645@3.1.3", p).verdict,
            Verdict::NotMet,
            "{p}"
        );
    }
    // the shipped state is unchanged: the option is off
    for o in ["authenticated-network-functions", "secure-by-default"] {
        assert_eq!(outcome(&open, o), outcome(&base, o), "{o}");
    }
    let guarded = run(&telnet("password", true));
    assert_eq!(
        outcome(&guarded, "optional-functions-authenticated"),
        Verdict::Met
    );
    assert_eq!(
        provision(&guarded, "etsi-en-303-645@3.1.3", "5.5-5").verdict,
        Verdict::Met
    );
    // off and no way to switch it on: not an option
    let fixed = run(&telnet("none", false));
    assert_eq!(
        outcome(&fixed, "optional-functions-authenticated"),
        Verdict::NotApplicable
    );
}

fn with_evidence(text: &str, evidence: &str) -> Assessment {
    let cat = Catalog::embedded().unwrap();
    let p = profile::parse(&cat, text, InputFormat::Toml, "case.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    let ev = iotrust_assess::evidence::parse(&cat, evidence, "probe.json", None)
        .unwrap_or_else(|e| panic!("{e}"));
    assess(&cat, &p, &[ev], date(2026, 12, 7))
}

fn probe_json(state: &str, services: &str, facts: &str, findings: &str) -> String {
    format!(
        r#"{{"format": "iotrust-evidence/1", "kind": "probe", {state}
  "devices": [{{"address": "10.0.0.2", "services": [{services}], "facts": {{{facts}}}, "findings": [{findings}]}}]}}"#
    )
}

// 8. States of evidence: a default password that logs in says something different as shipped
// (allowed by UK PSTI Sch 1 para 1 when setup replaces it) and after setup (a failure).
#[test]
fn a_default_password_found_is_read_in_the_state_the_device_was_probed_in() {
    let lock = set(
        &set(
            &example("smart-lock.toml"),
            "auth",
            "password_model",
            "\"user-defined\"",
        ),
        "auth",
        "factory_default_password",
        "\"universal-default\"",
    );
    let lock = lock.replace(
        "[auth]\n",
        "[auth]\nsetup_replaces_default_password = true\n",
    );
    let found = r#""auth.default_credentials_accepted": true"#;
    let psti = |a: &Assessment| provision(a, "uk-psti@2023", "Sch1-para1").verdict;
    assert_eq!(psti(&run(&lock)), Verdict::Met);
    let shipped = with_evidence(
        &lock,
        &probe_json(r#""state": "factory-default","#, "", found, ""),
    );
    assert_eq!(
        outcome(&shipped, "no-universal-default-password"),
        Verdict::Met
    );
    assert_eq!(psti(&shipped), Verdict::Met);
    let after = with_evidence(&lock, &probe_json(r#""state": "set-up","#, "", found, ""));
    assert_eq!(psti(&after), Verdict::NotMet);
    assert!(
        after
            .contradictions
            .iter()
            .any(|c| c.message.contains("auth.setup_replaces_default_password")),
        "{:?}",
        after.contradictions
    );
    // no state recorded: the device accepts the credential now, which fails (the lab
    // report's own "no default credential" is stronger evidence, so it goes for this case)
    let unlabbed = lock.replace(
        "facts = { \"auth.default_credentials_accepted\" = false }",
        "",
    );
    let unsaid = with_evidence(&unlabbed, &probe_json("", "", found, ""));
    assert_eq!(psti(&unsaid), Verdict::NotMet);
    // a factory default the probe shows to be shared, with setup replacement unknown: unknown
    let unknown = lock.replace("setup_replaces_default_password = true\n", "");
    let shipped = with_evidence(
        &unknown,
        &probe_json(r#""state": "factory-default","#, "", found, ""),
    );
    assert_eq!(psti(&shipped), Verdict::Unknown);
    // a state that is not one is an error naming the field
    let cat = Catalog::embedded().unwrap();
    let e = iotrust_assess::evidence::parse(
        &cat,
        &probe_json(r#""state": "installed","#, "", "", ""),
        "probe.json",
        None,
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("state"));
    assert!(e.message.contains("factory-default, set-up"), "{e}");
}

// 8. Probe evidence fills the [[interface]] table: a service found open that the table (read
// as complete) leaves out is added and named; a declared column the probe sees otherwise is
// a contradiction and the tested value wins; a row declared off but found open as shipped is on.
#[test]
fn services_a_probe_found_fill_the_interface_table() {
    let lock = format!(
        "{}\n[[interface]]\nname = \"local web admin\"\nkind = \"network-service\"\nprotocol = \"https\"\nport = 443\ntransport = \"tls1.2\"\nauthentication = \"password-digest-sha256\"\ndefault_state = \"enabled\"\nreach = \"LAN\"\npurpose = \"management\"\n\n[[interface]]\nname = \"diagnostics page\"\nkind = \"network-service\"\nprotocol = \"http\"\nport = 8080\ntransport = \"plain\"\nauthentication = \"password\"\ndefault_state = \"disabled\"\nuser_can_enable = true\nreach = \"LAN\"\npurpose = \"management\"\n",
        example("smart-lock.toml")
    );
    let base = run(&lock);
    assert_eq!(outcome(&base, "secure-communication"), Verdict::Met);
    let services = r#"{"port": 443, "transport": "tcp", "protocol": "https", "tls_versions": ["TLSv1.0", "TLSv1.2"]},
        {"port": 23, "transport": "tcp", "protocol": "telnet", "banner": "login:"},
        {"port": 8080, "transport": "tcp", "protocol": "http"}"#;
    let findings = r#"{"id": "default-credentials", "severity": "critical", "title": "A default credential logs in", "service": "telnet/23"}"#;
    let a = with_evidence(
        &lock,
        &probe_json(
            r#""state": "factory-default","#,
            services,
            r#""surface.open_tcp_ports": [23, 443, 8080]"#,
            findings,
        ),
    );
    let said = |needle: &str| {
        assert!(
            a.contradictions.iter().any(|c| c.message.contains(needle)),
            "no contradiction with {needle:?}: {:#?}",
            a.contradictions
        )
    };
    said("has no network service on tcp/23, but probe.json");
    said("`local web admin` is declared with transport tls1.2, but probe.json");
    said("`diagnostics page` is declared disabled as shipped");
    // the merged table decides the derived facts: the telnet row and the open diagnostics
    // page are plain; TLS 1.0 on the admin fails secure communication
    let cat = Catalog::embedded().unwrap();
    let p = profile::parse(&cat, &lock, InputFormat::Toml, "case.toml").unwrap();
    let ev = iotrust_assess::evidence::parse(
        &cat,
        &probe_json(
            r#""state": "factory-default","#,
            services,
            r#""surface.open_tcp_ports": [23, 443, 8080]"#,
            findings,
        ),
        "probe.json",
        None,
    )
    .unwrap();
    let (facts, _) = iotrust_assess::eval::merge_evidence(&cat, &p, &[ev]);
    let fact = |id: &str| {
        let (fid, _) = cat.fact(id).unwrap();
        facts.get(fid).map(|(v, _)| v.to_string())
    };
    let plain = fact("comms.plain_interfaces").unwrap();
    assert!(plain.contains("telnet on tcp/23"), "{plain}");
    assert!(plain.contains("diagnostics page"), "{plain}");
    assert_eq!(fact("comms.cleartext_management").as_deref(), Some("true"));
    assert_eq!(outcome(&a, "secure-communication"), Verdict::NotMet);
    // the added row has no purpose: what needs one is unknown, never guessed
    assert_eq!(fact("surface.only_needed_services"), None);
    // the same services after setup: the diagnostics page is an option the user turned on
    let after = with_evidence(
        &lock,
        &probe_json(r#""state": "set-up","#, services, "", ""),
    );
    assert!(!after
        .contradictions
        .iter()
        .any(|c| c.message.contains("diagnostics page")));
}
