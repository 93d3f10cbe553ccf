//! The registry's pages in a real browser: Debian's Chromium, driven over WebDriver by Debian's
//! chromedriver, both on loopback. A buyer searches, opens a product, sees its label; the
//! sunsetting and programme pages render. Screenshots are kept as test artefacts in
//! `$CARGO_TARGET_TMPDIR/registry-screenshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use iotrust_registry::Registry;
use serde_json::{json, Value};

struct Driver {
    child: Child,
    base: String,
    session: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    let a = agent();
    let mut res = match (method, body) {
        ("GET", _) => a.get(url).call().unwrap(),
        ("DELETE", _) => a.delete(url).call().unwrap(),
        (_, b) => a
            .post(url)
            .header("content-type", "application/json")
            .send(b.unwrap_or(json!({})).to_string())
            .unwrap(),
    };
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(status, 200, "{method} {url}: {v}");
    v["value"].clone()
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromedriver: {e} (install chromium and chromium-driver; scripts/test.sh does)")
            });
        let base = format!("http://127.0.0.1:{port}");
        let t0 = Instant::now();
        while agent().get(&format!("{base}/status")).call().is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // one profile per browser: two tests may drive one each at once
        let profile =
            std::env::temp_dir().join(format!("iotrust-chromium-{}-{port}", std::process::id()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1100,1400", format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let v = call("POST", &format!("{base}/session"), Some(caps));
        Driver {
            child,
            session: v["sessionId"].as_str().unwrap().to_string(),
            base,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    fn go(&self, to: &str) {
        call("POST", &self.url("/url"), Some(json!({ "url": to })));
    }

    fn find(&self, css: &str) -> String {
        let t0 = Instant::now();
        loop {
            let mut res = agent()
                .post(&self.url("/element"))
                .header("content-type", "application/json")
                .send(json!({"using": "css selector", "value": css}).to_string())
                .unwrap();
            let ok = res.status().as_u16() == 200;
            let v: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
            if let (true, Some(e)) = (ok, v["value"][ELEMENT].as_str()) {
                return e.to_string();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "no element `{css}`: {v}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        call("GET", &self.url(&format!("/element/{e}/text")), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn current(&self) -> String {
        call("GET", &self.url("/url"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn screenshot(&self, name: &str) {
        let b64 = call("GET", &self.url("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{name}: {} bytes",
            png.len()
        );
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("registry-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = agent()
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    d.screenshot("search");

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
    d.screenshot("product");

    // products at the end of their support
    d.go(&format!("{}/sunsetting?days=60", s.base));
    assert!(d.text("#count").starts_with("2 product(s)"));
    d.screenshot("sunsetting");
    d.go(&format!("{}/programmes", s.base));
    d.find("#tiers svg");
    d.screenshot("programmes");
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
    d.screenshot("product-field");
    drop(d);
    drop(s);
}
