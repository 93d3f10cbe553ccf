//! The EU CRA product class and conformity routes of real example-like profiles
//! (`tests/fixtures/cra/`, copies of `examples/profiles/` with `product.functions` added).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::path::{Path, PathBuf};

use iotrust_assess::cra_route::ClassResult;
use iotrust_assess::evidence;
use iotrust_assess::profile::{self, InputFormat};
use iotrust_assess::result::Verdict;
use iotrust_assess::{report, Assessment};
use iotrust_catalog::model::RouteAvailability;
use iotrust_catalog::Catalog;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cra")
        .join(name)
}

fn assess(name: &str) -> Assessment {
    let cat = Catalog::embedded().unwrap();
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let shown = path.display().to_string();
    let prof = profile::parse(&cat, &text, InputFormat::Toml, &shown).unwrap();
    let dir = path.parent().unwrap();
    let ev: Vec<_> = prof
        .evidence
        .iter()
        .map(|r| {
            let p = dir.join(&r.file);
            let t = std::fs::read_to_string(&p).unwrap();
            evidence::parse(&cat, &t, &p.display().to_string(), r.device.as_deref()).unwrap()
        })
        .collect();
    iotrust_assess::assess(&cat, &prof, &ev, "2028-01-10".parse().unwrap())
}

fn cra(a: &Assessment) -> &ClassResult {
    a.conformity
        .iter()
        .find(|c| c.scheme == "eu-cra@2024")
        .expect("the CRA has product classes")
}

fn route<'a>(c: &'a ClassResult, id: &str) -> &'a iotrust_assess::cra_route::RouteResult {
    c.routes
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no route {id} in {:?}", c.routes))
}

fn ids(c: &ClassResult) -> Vec<&str> {
    c.routes.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn smart_lock_is_important_class_i_smart_home_security() {
    let a = assess("smart-lock.toml");
    let c = cra(&a);
    assert!(c.in_scope);
    assert_eq!(
        c.class.as_deref(),
        Some("important-class-i"),
        "{}",
        c.reason
    );
    assert_eq!(c.categories[0].id, "AnnexIII-I-17");
    assert!(c.categories[0].title.contains("smart door locks"));
    assert!(c.categories[0].source.reference.contains("2025/2392"));
    assert_eq!(
        ids(c),
        [
            "module-a-standards",
            "module-b-c",
            "module-h",
            "eu-certificate"
        ]
    );
    // module A only with standards applied in full, and none are cited yet
    let a_route = route(c, "module-a-standards");
    assert_eq!(a_route.availability, RouteAvailability::Pending);
    assert_eq!(a_route.satisfied, Verdict::NotMet);
    // the profile declares an EU-type examination certificate
    assert_eq!(route(c, "module-b-c").satisfied, Verdict::Met);
    assert_eq!(c.satisfied_by.as_deref(), Some("module-b-c"));
    assert_eq!(
        route(c, "eu-certificate").availability,
        RouteAvailability::Unknown
    );
}

#[test]
fn general_purpose_voice_assistant_speaker_is_class_i() {
    let a = assess("smart-speaker.toml");
    let c = cra(&a);
    assert_eq!(
        c.class.as_deref(),
        Some("important-class-i"),
        "{}",
        c.reason
    );
    assert_eq!(c.categories[0].id, "AnnexIII-I-16");
    // nothing in the profile shows a route done: no route is claimed
    assert!(c.routes.iter().all(|r| r.satisfied == Verdict::Unknown));
    assert_eq!(c.satisfied_by, None);
}

#[test]
fn home_router_is_class_i_not_class_ii_for_its_firewall() {
    let a = assess("home-router.toml");
    let c = cra(&a);
    assert_eq!(
        c.class.as_deref(),
        Some("important-class-i"),
        "{}",
        c.reason
    );
    assert_eq!(c.categories[0].id, "AnnexIII-I-12");
}

#[test]
fn firewall_is_class_ii_and_its_eucc_certificate_is_a_route() {
    let a = assess("firewall-appliance.toml");
    let c = cra(&a);
    // the router category meets class I too: the strictest class decides
    assert_eq!(
        c.class.as_deref(),
        Some("important-class-ii"),
        "{}",
        c.reason
    );
    assert_eq!(ids(c), ["module-b-c", "module-h", "eu-certificate"]);
    let cert = route(c, "eu-certificate");
    assert_eq!(cert.satisfied, Verdict::Met, "{}", cert.reason);
    assert_eq!(c.satisfied_by.as_deref(), Some("eu-certificate"));
}

#[test]
fn smart_meter_gateway_is_critical_and_the_delegated_act_is_pending() {
    let a = assess("smart-meter-gateway.toml");
    let c = cra(&a);
    assert_eq!(c.class.as_deref(), Some("critical"), "{}", c.reason);
    let required = route(c, "eu-certificate-required");
    assert_eq!(required.availability, RouteAvailability::Pending);
    assert!(required
        .availability_note
        .as_deref()
        .unwrap_or("")
        .contains("Art. 8(1)"));
    assert_eq!(route(c, "module-h").satisfied, Verdict::Met);
    assert_eq!(c.satisfied_by.as_deref(), Some("module-h"));
}

#[test]
fn plain_smart_plug_is_default_and_module_a_is_done() {
    let a = assess("smart-plug.toml");
    let c = cra(&a);
    assert_eq!(c.class.as_deref(), Some("default"), "{}", c.reason);
    assert!(c.categories.is_empty());
    assert_eq!(
        ids(c),
        ["module-a", "module-b-c", "module-h", "eu-certificate"]
    );
    assert_eq!(c.satisfied_by.as_deref(), Some("module-a"));
}

#[test]
fn undeclared_functions_leave_the_class_unknown_not_default() {
    let a = assess("smart-plug-functions-unknown.toml");
    let c = cra(&a);
    assert_eq!(c.class, None, "{}", c.reason);
    assert_eq!(
        c.possible,
        [
            "default",
            "important-class-i",
            "important-class-ii",
            "critical"
        ]
    );
    assert!(c.reason.contains("product.functions"), "{}", c.reason);
    assert!(c.routes.is_empty());
}

#[test]
fn every_output_reports_class_routes_and_sources() {
    let a = assess("smart-lock.toml");
    let text = report::text(&a, report::Style { color: false });
    assert!(text.contains("CONFORMITY ROUTE eu-cra@2024"), "{text}");
    assert!(text.contains("class: important-class-i"));
    assert!(text.contains("satisfied by: module-b-c"));
    assert!(text.contains("2025/2392"));
    let md = report::markdown(&a);
    assert!(md.contains("## Conformity route: eu-cra@2024"));
    assert!(md.contains("**Satisfied by:** `module-b-c`"));
    let html = report::html(&a);
    assert!(html.contains("Conformity route: <code>eu-cra@2024</code>"));
    assert!(html.contains("Smart-home products with security functions"));
    let json = serde_json::to_value(&a).unwrap();
    let c = &json["conformity"][0];
    assert_eq!(c["scheme"], "eu-cra@2024");
    assert_eq!(c["class"], "important-class-i");
    assert_eq!(c["satisfied_by"], "module-b-c");
    assert_eq!(c["routes"][0]["availability"], "pending");
    assert!(c["sources"][0]["ref"]
        .as_str()
        .unwrap()
        .contains("2024/2847"));
}
