//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromedriver`, both on
//! loopback), for tests that look at the registry's pages as a person would: open a page, read
//! an element's text and box, keep a screenshot. Test support (`testing` feature): a failed step
//! panics with what failed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// A browser session; dropping it ends the session and stops chromedriver.
pub struct Driver {
    child: Child,
    base: String,
    session: String,
}

/// The WebDriver element reference key.
pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// An HTTP agent that hands back error statuses instead of failing on them.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// One WebDriver command; its `value`.
pub fn call(method: &str, url: &str, body: Option<Value>) -> Value {
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
    pub fn start() -> Driver {
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

    pub fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    pub fn go(&self, to: &str) {
        call("POST", &self.url("/url"), Some(json!({ "url": to })));
    }

    pub fn find(&self, css: &str) -> String {
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

    pub fn text(&self, css: &str) -> String {
        let e = self.find(css);
        call("GET", &self.url(&format!("/element/{e}/text")), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn current(&self) -> String {
        call("GET", &self.url("/url"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A PNG of the window, checked to be one, written to `dir/NAME.png`.
    pub fn screenshot_to(&self, dir: &std::path::Path, name: &str) {
        let b64 = call("GET", &self.url("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{name}: {} bytes",
            png.len()
        );
        std::fs::create_dir_all(dir).unwrap();
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
