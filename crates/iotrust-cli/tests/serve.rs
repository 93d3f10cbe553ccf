//! `iotrust serve` as a process: `kill -9` in the middle of a bulk submission loses no
//! acknowledged record, on SQLite and on a real PostgreSQL server; keys, labels and
//! `label submit` against it; its provider, lab and threshold flags.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use iotrust_assess::profile::{self, InputFormat};
use iotrust_catalog::Catalog;
use iotrust_label::document::{LabelInfo, Party};
use iotrust_label::dsse::{envelope, sign};
use iotrust_label::{Key, LabelDocument, Role};
use iotrust_registry::testing::TempPostgres;
use iotrust_registry::Submission;

#[path = "support/registry.rs"]
mod registry;
use registry::wait_up;

const TOKEN: &str = "tok-veridor-0123456789";

fn submissions(n: usize, key: &Key) -> Vec<String> {
    let cat = Catalog::embedded().unwrap();
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/profiles/smart-lock.toml"),
    )
    .unwrap();
    let today = jiff::Zoned::now().date();
    let until = today.checked_add(jiff::Span::new().days(365)).unwrap();
    (0..n)
        .map(|i| {
            let text = base.replace("model = \"VD-SL4\"", &format!("model = \"BULK-{i:05}\""));
            let p = profile::parse(&cat, &text, InputFormat::Toml, "p.toml").unwrap();
            let a = iotrust_assess::assess(&cat, &p, &[], today);
            let info = LabelInfo {
                issuer: Party {
                    name: "Example Issuing Body".into(),
                    contact: None,
                },
                default_password: "unique per device".into(),
                secure_configuration: "https://veridor.example/secure".into(),
                ..LabelInfo::default()
            };
            let doc = LabelDocument::from_assessment(&a, &info, until).unwrap();
            let mut env = envelope(&doc, "p.toml", text.as_bytes()).unwrap();
            sign(&mut env, key).unwrap();
            serde_json::to_string(&Submission {
                label: env,
                profile: text,
                profile_format: None,
                evidence: Vec::new(),
                assessment: None,
            })
            .unwrap()
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

fn serve(dir: &Path, db: &str, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(["serve", "--db", db, "--addr", &format!("127.0.0.1:{port}")])
        .arg("--trust")
        .arg(dir.join("issuer.pub.json"))
        .arg("--tokens")
        .arg(dir.join("tokens.txt"))
        .args(["--rate-limit", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_up(&format!("http://127.0.0.1:{port}"));
    child
}

fn kill_during_bulk_submission(dir: &Path, db: &str) {
    let key = Key::from_seed(Role::IssuingBody, "issuer", [7; 32]);
    std::fs::write(
        dir.join("issuer.pub.json"),
        serde_json::to_string(&key.public).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("tokens.txt"),
        format!("Veridor Security Ltd,{TOKEN}\n"),
    )
    .unwrap();
    let bodies = submissions(400, &key);
    let port = free_port();
    let mut server = serve(dir, db, port);
    let url = format!("http://127.0.0.1:{port}/api/v1/labels");
    let acked: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let dead = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= bodies.len() || dead.load(Ordering::SeqCst) {
                    return;
                }
                let res = agent()
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("authorization", &format!("Bearer {TOKEN}"))
                    .send(&bodies[i]);
                match res {
                    Ok(mut r) if r.status().as_u16() == 201 => {
                        let v: serde_json::Value =
                            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
                        acked
                            .lock()
                            .unwrap()
                            .push(v["id"].as_str().unwrap().to_string());
                    }
                    Ok(mut r) => panic!(
                        "{}: {}",
                        r.status(),
                        r.body_mut().read_to_string().unwrap_or_default()
                    ),
                    Err(_) => return, // the server is gone
                }
            });
        }
        // kill -9 once a good part of the batch is in, while the clients keep submitting
        let t0 = Instant::now();
        while acked.lock().unwrap().len() < 60 {
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "submissions too slow"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill().unwrap(); // SIGKILL
        dead.store(true, Ordering::SeqCst);
        server.wait().unwrap();
    });
    let acked = acked.into_inner().unwrap();
    let sent = next.load(Ordering::SeqCst).min(bodies.len());
    assert!(
        acked.len() < sent,
        "the kill came after the batch ({} acked of {sent})",
        acked.len()
    );

    let port = free_port();
    let mut server = serve(dir, db, port);
    for id in &acked {
        let mut r = agent()
            .get(&format!("http://127.0.0.1:{port}/api/v1/products/{id}"))
            .call()
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            200,
            "acknowledged {id} lost: {}",
            r.body_mut().read_to_string().unwrap_or_default()
        );
    }
    // the store is consistent: every product it has is readable with its history
    let mut r = agent()
        .get(&format!(
            "http://127.0.0.1:{port}/api/v1/search?q=bulk-&limit=500"
        ))
        .call()
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let total = v["total"].as_u64().unwrap() as usize;
    assert!(
        total >= acked.len() && total <= sent,
        "{total} stored, {} acked, {sent} sent",
        acked.len()
    );
    for p in v["results"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let mut r = agent()
            .get(&format!("http://127.0.0.1:{port}/api/v1/products/{id}"))
            .call()
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(v["history"].as_array().unwrap().len(), 1, "{id}");
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn kill_9_loses_no_acknowledged_submission_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("registry.sqlite");
    kill_during_bulk_submission(dir.path(), db.to_str().unwrap());
}

#[test]
fn kill_9_loses_no_acknowledged_submission_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let pg = TempPostgres::start().unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
    let url = pg.create_db("kill9").unwrap();
    kill_during_bulk_submission(dir.path(), &url);
}

fn iotrust(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn keys_issue_serve_submit_look_up() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = iotrust(&[
        "keys",
        "new",
        "--role",
        "issuing-body",
        "--name",
        "body",
        "--dir",
        d,
    ]);
    assert_eq!(code, 0, "{err}");
    let label = format!("{d}/label.json");
    let (code, _, err) = iotrust(&[
        "label",
        "issue",
        "examples/profiles/smart-lock.toml",
        "--key",
        &format!("{d}/body.key.json"),
        "--info",
        "examples/labels/label-info.toml",
        "-o",
        &label,
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::copy(
        dir.path().join("body.pub.json"),
        dir.path().join("issuer.pub.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tokens.txt"),
        format!("Veridor Security Ltd,{TOKEN}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(dir.path().join("bad-token"), "tok-somebody-else-000000\n").unwrap();
    let port = free_port();
    let db = format!("{d}/r.sqlite");
    let mut server = serve(dir.path(), &db, port);
    let registry = format!("http://127.0.0.1:{port}");
    let submit = |token: &str| {
        iotrust(&[
            "label",
            "submit",
            &label,
            "--profile",
            "examples/profiles/smart-lock.toml",
            "--registry",
            &registry,
            "--token-file",
            &format!("{d}/{token}"),
        ])
    };
    let (code, out, err) = submit("token");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("registered ") && out.contains("assessed tier assured"),
        "{out}"
    );
    let (code, out, err) = submit("token");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("updated "), "{out}");
    let (code, _, err) = submit("bad-token");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("401: unknown token"), "{err}");
    // the submitted profile must be the one the label was issued for
    let (code, _, err) = iotrust(&[
        "label",
        "submit",
        &label,
        "--profile",
        "examples/profiles/ip-camera.toml",
        "--registry",
        &registry,
        "--token-file",
        &format!("{d}/token"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not the label's subject"), "{err}");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// `iotrust serve` with a provider (its tokens and key), a lab and the review thresholds: a
/// report signed with a key `iotrust keys new --role provider` made is recorded against the
/// product by manufacturer and model, the threshold of one device from one provider puts it
/// under review, and the lab's evidence re-assesses it. A key of another role is refused at
/// start with the file named.
#[test]
fn serve_takes_providers_labs_and_thresholds() {
    use iotrust_registry::client::{FieldReport, ProductRef, RegistryClient, ReportState};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (role, name) in [("issuing-body", "issuer"), ("provider", "isp-a")] {
        let (code, _, err) = iotrust(&["keys", "new", "--role", role, "--name", name, "--dir", d]);
        assert_eq!(code, 0, "{err}");
    }
    let label = format!("{d}/label.json");
    let (code, _, err) = iotrust(&[
        "label",
        "issue",
        "examples/profiles/smart-lock.toml",
        "--key",
        &format!("{d}/issuer.key.json"),
        "--info",
        "examples/labels/label-info.toml",
        "-o",
        &label,
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        dir.path().join("tokens.txt"),
        format!("Veridor Security Ltd,{TOKEN}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(
        dir.path().join("providers.txt"),
        "isp-a,tok-isp-a-0123456789\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("labs.txt"),
        "Example Lab,tok-lab-0123456789\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("hooks.txt"),
        "Veridor Security Ltd,ftp://nowhere\n",
    )
    .unwrap();
    let db = format!("{d}/r.sqlite");
    let args = |key: &str, hooks: bool| {
        let mut a: Vec<String> = [
            "serve",
            "--db",
            &db,
            "--trust",
            &format!("{d}/issuer.pub.json"),
            "--tokens",
            &format!("{d}/tokens.txt"),
            "--provider-tokens",
            &format!("{d}/providers.txt"),
            "--provider-key",
            &format!("{d}/{key}"),
            "--lab-tokens",
            &format!("{d}/labs.txt"),
            "--review-threshold-devices",
            "1",
            "--review-threshold-providers",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if hooks {
            a.extend([
                "--manufacturer-webhooks".to_string(),
                format!("{d}/hooks.txt"),
            ]);
        }
        a
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        iotrust(&a)
    };
    let (code, _, err) = run(args("issuer.pub.json", false));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("issuer.pub.json") && err.contains("not provider"),
        "{err}"
    );
    let (code, _, err) = run(args("isp-a.pub.json", true));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("hooks.txt:1") && err.contains("not an http(s) URL"),
        "{err}"
    );

    let port = free_port();
    let mut a = args("isp-a.pub.json", false);
    a.extend([
        "--addr".into(),
        format!("127.0.0.1:{port}"),
        "--rate-limit".into(),
        "0".into(),
    ]);
    let mut server = Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(&a)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_up(&base);
    let (code, out, err) = iotrust(&[
        "label",
        "submit",
        &label,
        "--profile",
        "examples/profiles/smart-lock.toml",
        "--registry",
        &base,
        "--token-file",
        &format!("{d}/token"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let key: Key =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("isp-a.key.json")).unwrap())
            .unwrap();
    let now = jiff::Timestamp::now();
    let report = FieldReport {
        report_id: "isp-a-1".into(),
        provider: "isp-a".into(),
        product: ProductRef::model("Veridor Security Ltd", "VD-SL4"),
        detectors: vec!["mirai-scan".into()],
        devices: 1,
        first_seen: now,
        last_seen: now,
        state: ReportState::Open,
    };
    let got = RegistryClient::new(&base, "tok-isp-a-0123456789")
        .field_report(&report.sign(&key).unwrap())
        .unwrap();
    assert!(got.under_review, "{got:?}");
    let lab = RegistryClient::new(&base, "tok-lab-0123456789")
        .lab_evidence(
            &got.product,
            &iotrust_registry::EvidenceFile {
                name: "probe.json".into(),
                document: serde_json::json!({"format": "iotrust-evidence/1", "kind": "lab-report",
                    "facts": {"auth.default_credentials_accepted": true}}),
            },
        )
        .unwrap();
    assert_eq!(lab["tier_before"], "assured", "{lab}");
    let mut res = agent()
        .get(&format!("{base}/api/v1/products/{}", got.product))
        .call()
        .unwrap();
    let p: serde_json::Value = res.body_mut().read_json().unwrap();
    assert_eq!(p["status"], "under-review");
    assert_eq!(p["field"]["devices"], 1);
    assert_eq!(p["assessed_tier"], lab["tier_after"]);
    server.kill().unwrap();
    server.wait().unwrap();
}
