//! The registry's pages in a real browser: Debian's Chromium, driven over WebDriver by Debian's
//! chromedriver, both on loopback. A buyer searches, opens a product, sees its label; the
//! sunsetting and programme pages render. Screenshots are kept as test artefacts in
//! `$CARGO_TARGET_TMPDIR/registry-screenshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use iotrust_registry::browser::{call, Driver};
use iotrust_registry::Registry;
use serde_json::json;

/// Screenshots are kept as test artefacts here.
fn shot(d: &Driver, name: &str) {
    d.screenshot_to(
        &std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("registry-screenshots"),
        name,
    );
}

#[test]
fn a_buyer_searches_opens_a_product_and_sees_its_label() {
    let dir = TempDir::new("registry-browser");
    let reg = Registry::open(&dir.db(), catalog(), access()).unwrap();
    for (model, end) in [
        ("VD-SL4", days(2500)),
        ("VD-SL3", days(40)),
        ("VD-SL2", days(-30)),
    ] {
        reg.submit(&submission(model, end), Some(TOK_VERIDOR), today())
            .unwrap();
    }
    let s = start(reg, None);
    let d = Driver::start();

    // search from the start page, as a person would: type, press the button
    d.go(&format!("{}/", s.base));
    let q = d.find("#q");
    call(
        "POST",
        &d.url(&format!("/element/{q}/value")),
        Some(json!({"text": "vd-sl4"})),
    );
    let button = d.find("form[role=search] button");
    call(
        "POST",
        &d.url(&format!("/element/{button}/click")),
        Some(json!({})),
    );
    assert!(
        d.text("#count").starts_with("1 result(s)"),
        "{}",
        d.text("#count")
    );
    shot(&d, "search");

    // open the product from the results
    let link = d.find("a.product");
    call(
        "POST",
        &d.url(&format!("/element/{link}/click")),
        Some(json!({})),
    );
    let heading = d.text("h1");
    assert_eq!(heading, "Veridor Security Ltd VD-SL4");
    assert!(d.current().contains("/p/"), "{}", d.current());
    assert!(d
        .text("#support")
        .starts_with("Supported: security updates until"));
    // the label card is there, with its tier and QR code, as the browser laid it out
    let label = d.find("#label svg");
    let rect = call("GET", &d.url(&format!("/element/{label}/rect")), None);
    assert!(rect["width"].as_f64().unwrap() > 200.0, "{rect}");
    let levels = d.text("#levels");
    assert!(levels.contains("L4"), "{levels}");
    shot(&d, "product");

    // products at the end of their support
    d.go(&format!("{}/sunsetting?days=60", s.base));
    assert!(d.text("#count").starts_with("2 product(s)"));
    shot(&d, "sunsetting");
    d.go(&format!("{}/programmes", s.base));
    d.find("#tiers svg");
    shot(&d, "programmes");
    drop(d);
    drop(s);
}

/// A product two providers saw compromised: the page shows it in the field, under review,
/// with the CRA Art. 14 clock.
#[test]
fn a_buyer_sees_a_product_seen_compromised_in_the_field() {
    use iotrust_registry::client::{FieldReport, ProductRef, ReportState};
    use jiff::{SignedDuration, Timestamp};
    let dir = TempDir::new("registry-browser-field");
    let isp = |n: &str, seed: u8| {
        iotrust_label::Key::from_seed(iotrust_label::Role::Provider, n, [seed; 32])
    };
    let access = iotrust_registry::Access {
        providers: vec![
            ("isp-a".into(), "tok-isp-a-0123456789".into()),
            ("isp-b".into(), "tok-isp-b-0123456789".into()),
        ],
        provider_keys: vec![isp("isp-a", 21).public, isp("isp-b", 22).public],
        ..access()
    };
    let reg = Registry::open(&dir.db(), catalog(), access).unwrap();
    let mud = "https://veridor.example/mud/vd-sl4.json";
    let text = profile_text(VERIDOR, "VD-SL4", days(2500)).replace(
        "model = \"VD-SL4\"",
        &format!("model = \"VD-SL4\"\nmud_url = \"{mud}\""),
    );
    let id = reg
        .submit(
            &submission_of(&catalog(), text, &issuer(), |_| {}),
            Some(TOK_VERIDOR),
            today(),
        )
        .unwrap()
        .id;
    let now = Timestamp::now();
    for (who, seed, devices) in [("isp-a", 21, 7), ("isp-b", 22, 5)] {
        let r = FieldReport {
            report_id: format!("{who}-0001"),
            provider: who.into(),
            product: ProductRef::mud(mud),
            detectors: vec!["mirai-scan".into(), "mud-violation".into()],
            devices,
            first_seen: now - SignedDuration::from_hours(5),
            last_seen: now - SignedDuration::from_mins(3),
            state: ReportState::Open,
        };
        reg.field_report(
            &r.sign(&isp(who, seed)).unwrap(),
            Some(&format!("tok-{who}-0123456789")),
            now,
        )
        .unwrap();
    }
    let s = start(reg, None);
    let d = Driver::start();
    d.go(&format!("{}/p/{id}", s.base));
    assert!(
        d.text("#status").starts_with("This label is under review"),
        "{}",
        d.text("#status")
    );
    let field = d.text("#field");
    assert!(
        field.contains("Seen compromised in the field")
            && field.contains("12 device(s) reported by 2 network provider(s)")
            && field.contains("mirai-scan, mud-violation"),
        "{field}"
    );
    let cra = d.text("#cra");
    assert!(
        cra.contains("Art. 14(2)(a)") && cra.contains("not started"),
        "{cra}"
    );
    // the section is laid out, not hidden
    let e = d.find("#field");
    let rect = call("GET", &d.url(&format!("/element/{e}/rect")), None);
    assert!(rect["height"].as_f64().unwrap() > 100.0, "{rect}");
    shot(&d, "product-field");
    drop(d);
    drop(s);
}
