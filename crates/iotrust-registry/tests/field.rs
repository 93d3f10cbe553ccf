//! The registry hears from the field, over real HTTP on loopback, on SQLite and on a real
//! PostgreSQL server: providers' signed field reports (roles, signatures, no subscriber
//! identities, idempotent updates, aggregation over providers, the review threshold), the
//! manufacturer's webhook (a receiver on 127.0.0.1 that fails the first delivery), the CRA
//! Art. 14 clock and its acknowledgement, the bulk check's filter, and lab evidence that
//! re-assesses a product. Plus a database made before these tables existed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use iotrust_label::dsse::{envelope_of, sign};
use iotrust_label::{Key, Role};
use iotrust_registry::client::{
    Acknowledgement, ClientError, FieldReport, ProductRef, RegistryClient, ReportState,
    FIELD_REPORT_TYPE,
};
use iotrust_registry::registry::{FieldConfig, Retry, Webhook};
use iotrust_registry::testing::TempPostgres;
use iotrust_registry::{Access, Registry};
use jiff::{SignedDuration, Timestamp};

const TOK_ISP_A: &str = "tok-isp-a-0123456789";
const TOK_ISP_B: &str = "tok-isp-b-0123456789";
const TOK_LAB: &str = "tok-lab-0123456789";
const MUD: &str = "https://veridor.example/mud/vd-sl4.json";

fn provider(name: &str, seed: u8) -> Key {
    Key::from_seed(Role::Provider, name, [seed; 32])
}

fn field_access() -> Access {
    Access {
        providers: vec![
            ("isp-a".into(), TOK_ISP_A.into()),
            ("isp-b".into(), TOK_ISP_B.into()),
        ],
        provider_keys: vec![
            provider("isp-a", 21).public.clone(),
            provider("isp-b", 22).public.clone(),
        ],
        labs: vec![("Example Lab".into(), TOK_LAB.into())],
        ..access()
    }
}

/// The manufacturer's webhook receiver: a real HTTP server on 127.0.0.1 that refuses the first
/// delivery with 500 and takes the others, keeping what it took.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<String>>>,
    calls: Arc<Mutex<u32>>,
    _rt: tokio::runtime::Runtime,
}

fn receiver() -> Receiver {
    use axum::extract::State;
    use axum::http::StatusCode;
    type Shared = (Arc<Mutex<Vec<String>>>, Arc<Mutex<u32>>);
    async fn take(State((got, calls)): State<Shared>, body: String) -> StatusCode {
        let n = {
            let mut c = calls.lock().unwrap();
            *c += 1;
            *c
        };
        if n == 1 {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        got.lock().unwrap().push(body);
        StatusCode::NO_CONTENT
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(Mutex::new(0));
    let app = axum::Router::new()
        .route("/hooks/veridor", axum::routing::post(take))
        .with_state((got.clone(), calls.clone()));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://{addr}/hooks/veridor"),
        got,
        calls,
        _rt: rt,
    }
}

fn config(hook: &str) -> FieldConfig {
    FieldConfig {
        review_devices: 10,
        review_providers: 2,
        webhooks: vec![Webhook {
            manufacturer: VERIDOR.into(),
            url: hook.into(),
        }],
        retry: Retry {
            attempts: 3,
            first_delay: Duration::from_millis(200),
        },
    }
}

fn with_mud(model: &str, mud: Option<&str>) -> iotrust_registry::Submission {
    let mut text = profile_text(VERIDOR, model, days(2500));
    if let Some(u) = mud {
        text = text.replace(
            &format!("model = \"{model}\""),
            &format!("model = \"{model}\"\nmud_url = \"{u}\""),
        );
    }
    submission_of(&catalog(), text, &issuer(), |_| {})
}

fn report(id: &str, who: &str, product: ProductRef, devices: u64) -> FieldReport {
    let now = Timestamp::now();
    FieldReport {
        report_id: id.into(),
        provider: who.into(),
        product,
        detectors: vec!["mirai-scan".into()],
        devices,
        first_seen: now - SignedDuration::from_hours(2),
        last_seen: now - SignedDuration::from_mins(1),
        state: ReportState::Open,
    }
}

fn refused(r: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    match r {
        Err(e) => (e.status().unwrap_or(0), e.to_string()),
        Ok(v) => panic!("accepted: {v:?}"),
    }
}

fn product(base: &str, id: &str) -> serde_json::Value {
    let (code, text) = get(&format!("{base}/api/v1/products/{id}"));
    assert_eq!(code, 200, "{text}");
    json(&text)
}

fn events(p: &serde_json::Value) -> Vec<String> {
    p["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

fn ts(v: &serde_json::Value) -> Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap()
}

fn suite(db: &str) {
    let hook = receiver();
    let reg = Registry::open(db, catalog(), field_access())
        .unwrap()
        .with_field(config(&hook.url))
        .unwrap();
    let s = start(reg, None);
    let maker = RegistryClient::new(&s.base, TOK_VERIDOR);
    let lock = maker.submit_label(&with_mud("VD-SL4", Some(MUD))).unwrap();
    let older = maker.submit_label(&with_mud("VD-SL3", None)).unwrap();
    let quiet = maker.submit_label(&with_mud("VD-SL2", None)).unwrap();
    let (isp_a, isp_b) = (provider("isp-a", 21), provider("isp-b", 22));
    let a = RegistryClient::new(&s.base, TOK_ISP_A);
    let b = RegistryClient::new(&s.base, TOK_ISP_B);
    let first = report("isp-a-0001", "isp-a", ProductRef::mud(MUD), 4);
    let signed = first.sign(&isp_a).unwrap();

    // --- who may report
    let (code, text) = refused(maker.field_report(&signed));
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("only a provider's token"), "{text}");
    let (code, _) =
        refused(RegistryClient::new(&s.base, "no-such-token-000000").field_report(&signed));
    assert_eq!(code, 401);
    let (code, _) = post(
        &format!("{}/api/v1/field-reports", s.base),
        None,
        &serde_json::to_string(&signed).unwrap(),
    );
    assert_eq!(code, 401);
    let (code, _) = refused(RegistryClient::new(&s.base, TOK_LAB).field_report(&signed));
    assert_eq!(code, 403);

    // --- signatures: another provider's key, an altered payload, another payload type
    let (code, text) = refused(a.field_report(&first.sign(&isp_b).unwrap()));
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("signature"), "{text}");
    let mut altered = signed.clone();
    let mut other = first.clone();
    other.devices = 4000;
    altered.payload = other.sign(&isp_a).unwrap().payload;
    let (code, text) = refused(a.field_report(&altered));
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("altered after signing"), "{text}");
    let mut label_type = envelope_of("application/vnd.in-toto+json", b"{}");
    sign(&mut label_type, &isp_a).unwrap();
    let (code, text) = refused(a.field_report(&label_type));
    assert_eq!(code, 422, "{text}");
    assert!(text.contains(FIELD_REPORT_TYPE), "{text}");
    // signed properly, but naming another provider than the token's
    let (code, text) = refused(
        a.field_report(
            &report("isp-a-0002", "isp-b", ProductRef::mud(MUD), 1)
                .sign(&isp_a)
                .unwrap(),
        ),
    );
    assert_eq!(code, 403, "{text}");

    // --- no subscriber identities: unknown fields and addresses are refused
    let mut with_address = serde_json::to_value(&first).unwrap();
    with_address["addresses"] = serde_json::json!(["192.0.2.10"]);
    let mut env = envelope_of(FIELD_REPORT_TYPE, with_address.to_string().as_bytes());
    sign(&mut env, &isp_a).unwrap();
    let (code, text) = refused(a.field_report(&env));
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("unknown field `addresses`") && text.contains("no subscriber identities"),
        "{text}"
    );
    let (code, text) = refused(
        a.field_report(
            &report("192.0.2.10", "isp-a", ProductRef::mud(MUD), 1)
                .sign(&isp_a)
                .unwrap(),
        ),
    );
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("report_id"), "{text}");
    let mut mac = report("isp-a-0003", "isp-a", ProductRef::mud(MUD), 1);
    mac.detectors = vec!["00-1a-2b-3c-4d-5e".into()];
    let (code, text) = refused(a.field_report(&mac.sign(&isp_a).unwrap()));
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("detectors[0]"), "{text}");

    // --- an unknown product is refused, not kept
    let (code, text) = refused(
        a.field_report(
            &report(
                "isp-a-0004",
                "isp-a",
                ProductRef::mud("https://nobody.example/mud.json"),
                1,
            )
            .sign(&isp_a)
            .unwrap(),
        ),
    );
    assert_eq!(code, 404, "{text}");
    assert!(text.contains("not kept"), "{text}");

    // --- recorded, then the same report id updates it
    let got = a.field_report(&signed).unwrap();
    assert_eq!(
        (got.outcome.as_str(), got.product.as_str()),
        ("recorded", lock.id.as_str())
    );
    assert!(!got.under_review);
    let mut again = first.clone();
    again.devices = 6;
    again.last_seen = Timestamp::now();
    again.detectors.push("telnet-brute-force".into());
    let got = a.field_report(&again.sign(&isp_a).unwrap()).unwrap();
    assert_eq!(got.outcome, "updated");
    let p = product(&s.base, &lock.id);
    let f = &p["field"];
    assert_eq!(
        (f["reports"].as_u64(), f["devices"].as_u64()),
        (Some(1), Some(6)),
        "{f}"
    );
    assert_eq!(
        f["detectors"],
        serde_json::json!(["mirai-scan", "telnet-brute-force"])
    );
    assert_eq!(f["seen_compromised"], true);
    assert_eq!(p["status"], "active", "one provider is below the threshold");
    assert_eq!(
        events(&p).iter().filter(|e| *e == "field-report").count(),
        1
    );
    // another provider may not take over a report id
    let (code, text) = refused(
        b.field_report(
            &report("isp-a-0001", "isp-b", ProductRef::mud(MUD), 50)
                .sign(&isp_b)
                .unwrap(),
        ),
    );
    assert_eq!(code, 409, "{text}");

    // --- by manufacturer and model (a provider's CPE inventory)
    let got = b
        .field_report(
            &report(
                "isp-b-0100",
                "isp-b",
                ProductRef::model(VERIDOR, "VD-SL3"),
                2,
            )
            .sign(&isp_b)
            .unwrap(),
        )
        .unwrap();
    assert_eq!(got.product, older.id);

    // --- a second provider: aggregated, past the threshold, under review
    let got = b
        .field_report(
            &report("isp-b-0101", "isp-b", ProductRef::mud(MUD), 5)
                .sign(&isp_b)
                .unwrap(),
        )
        .unwrap();
    assert!(got.under_review, "{got:?}");
    let p = product(&s.base, &lock.id);
    let f = &p["field"];
    assert_eq!(
        (f["devices"].as_u64(), f["providers"].as_u64()),
        (Some(11), Some(2)),
        "{f}"
    );
    assert_eq!(f["review"]["reached"], true);
    assert_eq!(p["status"], "under-review");
    assert!(events(&p).contains(&"under-review".to_string()), "{p}");

    // --- the bulk check shows it, and filters it out when asked
    let check = format!("{}/api/v1/check", s.base);
    let items = serde_json::json!([
        {"manufacturer": VERIDOR, "model": "VD-SL4"},
        {"manufacturer": VERIDOR, "model": "VD-SL2"}]);
    let r = json(
        &post(
            &check,
            None,
            &serde_json::json!({"items": items}).to_string(),
        )
        .1,
    );
    assert_eq!(r["results"][0]["meets"], true, "{r}");
    assert_eq!(r["results"][0]["field_compromised"], true);
    assert!(
        r["results"][0]["reason"].as_str().unwrap().contains(
            "under review; seen compromised in the field (2 open report(s) from 2 provider(s))"
        ),
        "{r}"
    );
    let r = json(
        &post(
            &check,
            None,
            &serde_json::json!({"items": items, "exclude_field_compromised": true}).to_string(),
        )
        .1,
    );
    assert_eq!(r["results"][0]["meets"], false, "{r}");
    assert!(r["results"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("seen compromised in the field"));
    assert_eq!(r["results"][1]["meets"], true, "{r}");
    assert_eq!(r["meeting"], 1);

    // --- the manufacturer's webhook: the first delivery fails, the retry is taken
    let t0 = Instant::now();
    let notice = loop {
        let p = product(&s.base, &lock.id);
        if p["field"]["notice"]["webhook"] == "delivered" {
            break p["field"]["notice"].clone();
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "not delivered: {p}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(notice["attempts"], 2, "{notice}");
    let bodies = hook.got.lock().unwrap().clone();
    let mine: Vec<serde_json::Value> = bodies
        .iter()
        .map(|b| json(b))
        .filter(|b| b["product"] == lock.id.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{bodies:?}");
    assert_eq!(mine[0]["event"], "field-report");
    assert_eq!(mine[0]["cra_art14"]["rules"][0]["within_hours"], 24);
    assert!(*hook.calls.lock().unwrap() >= 2);
    let p = product(&s.base, &lock.id);
    assert!(
        events(&p).contains(&"manufacturer-notified".to_string()),
        "{p}"
    );

    // --- the CRA Art. 14 clock runs from the notice
    let told = ts(&notice["notified"]);
    let clock = notice["cra_art14"].as_array().unwrap();
    assert_eq!(clock[0]["report"], "early-warning");
    assert_eq!(clock[0]["provision"], "Art. 14(2)(a)");
    assert_eq!(ts(&clock[0]["due"]), told + SignedDuration::from_hours(24));
    assert_eq!(ts(&clock[1]["due"]), told + SignedDuration::from_hours(72));
    assert_eq!(
        clock[2]["due"],
        serde_json::Value::Null,
        "no corrective measure yet"
    );
    assert!(clock.iter().all(|d| d["overdue"] == false), "{notice}");
    assert!(notice["cra_source"]["url"]
        .as_str()
        .unwrap()
        .contains("2024/2847"));
    // overdue once the due time passes (the clock read a day later)
    let reg = Registry::open(db, catalog(), field_access()).unwrap();
    let later = reg
        .product_at(&lock.id, today(), told + SignedDuration::from_hours(25))
        .unwrap();
    let n = later.field.notice.unwrap();
    assert!(n.cra_art14[0].overdue && !n.cra_art14[1].overdue);
    drop(reg);

    // --- acknowledgement: only the product's manufacturer
    let at = Timestamp::now();
    let ack = Acknowledgement {
        note: Some("investigating firmware 4.2.0".into()),
        early_warning_at: Some(at),
        corrective_measure_at: Some(at),
        ..Acknowledgement::default()
    };
    let (code, _) = refused(RegistryClient::new(&s.base, TOK_OTHER).acknowledge(&lock.id, &ack));
    assert_eq!(code, 403);
    let (code, _) =
        refused(RegistryClient::new(&s.base, TOK_AUTHORITY).acknowledge(&lock.id, &ack));
    assert_eq!(code, 403);
    let (code, text) = refused(maker.acknowledge(&quiet.id, &ack));
    assert_eq!(code, 409, "{text}");
    let f = maker.acknowledge(&lock.id, &ack).unwrap();
    let clock = &f["notice"]["cra_art14"];
    assert!(f["notice"]["acknowledged"].is_string(), "{f}");
    assert_eq!(ts(&clock[0]["made"]), at);
    assert_eq!(clock[0]["late"], false);
    assert_eq!(
        ts(&clock[2]["due"]),
        at + SignedDuration::from_hours(14 * 24)
    );
    let mut changed = ack.clone();
    changed.early_warning_at = Some(at - SignedDuration::from_mins(1));
    let (code, _) = refused(maker.acknowledge(&lock.id, &changed));
    assert_eq!(code, 409);
    let p = product(&s.base, &lock.id);
    let ev = events(&p);
    assert_eq!(
        ev.iter().filter(|e| *e == "cra-report").count(),
        2,
        "{ev:?}"
    );
    assert!(ev.contains(&"acknowledged".to_string()));

    // --- the page shows it
    let (code, html) = get(&format!("{}/p/{}", s.base, lock.id));
    assert_eq!(code, 200);
    assert!(
        html.contains("Seen compromised in the field")
            && html.contains("11 device(s) reported by 2 network provider(s)")
            && html.contains("This label is under review")
            && html.contains("Art. 14(2)(a)")
            && html.contains("Manufacturer notified"),
        "{html}"
    );

    // --- a resubmitted label keeps the review
    let again_label = maker.submit_label(&with_mud("VD-SL4", Some(MUD))).unwrap();
    assert_eq!(again_label.id, lock.id);
    assert_eq!(product(&s.base, &lock.id)["status"], "under-review");

    // --- the authority decides: reinstated to active
    let (code, text) = post(
        &format!("{}/api/v1/products/{}/reinstate", s.base, lock.id),
        Some(TOK_AUTHORITY),
        r#"{"reason": "fixed in firmware 4.2.1, verified by the lab"}"#,
    );
    assert_eq!(
        (code, json(&text)["status"].as_str()),
        (200, Some("active")),
        "{text}"
    );
    // a provider closes its report
    let mut closed = again.clone();
    closed.state = ReportState::Closed;
    closed.last_seen = Timestamp::now();
    a.field_report(&closed.sign(&isp_a).unwrap()).unwrap();
    let f = &product(&s.base, &lock.id)["field"];
    assert_eq!(f["open_reports"], 1, "{f}");

    // --- a lab's evidence re-assesses the product
    let lab = RegistryClient::new(&s.base, TOK_LAB);
    let probe = iotrust_registry::EvidenceFile {
        name: "vd-sl3.probe.json".into(),
        document: serde_json::json!({
            // the lock's facts are lab-tested already: only evidence as strong replaces them
            "format": "iotrust-evidence/1", "kind": "lab-report",
            "tool": {"name": "iotrust-probe", "version": "0.1.0"},
            "devices": [{"address": "10.200.1.2",
                "findings": [{"id": "default-credentials", "severity": "critical",
                    "title": "Telnet accepts a Mirai default credential"}],
                "facts": {"auth.default_credentials_accepted": true}}]
        }),
    };
    let (code, _) = refused(maker.lab_evidence(&older.id, &probe));
    assert_eq!(code, 403);
    let (code, text) = refused(lab.lab_evidence(
        &older.id,
        &iotrust_registry::EvidenceFile {
            name: "broken.json".into(),
            document: serde_json::json!({"format": "nope"}),
        },
    ));
    assert_eq!(code, 422, "{text}");
    let (code, _) = refused(lab.lab_evidence("nope", &probe));
    assert_eq!(code, 404);
    let before = product(&s.base, &older.id)["assessed_tier"].clone();
    let out = lab.lab_evidence(&older.id, &probe).unwrap();
    assert_eq!(out["tier_before"], before);
    assert_ne!(out["tier_after"], before, "{out}");
    let p = product(&s.base, &older.id);
    assert_eq!(p["assessed_tier"], out["tier_after"]);
    let ev = events(&p);
    assert!(
        ev.contains(&"lab-evidence".to_string()) && ev.contains(&"tier-changed".to_string()),
        "{ev:?}"
    );
    drop(s);

    // --- all of it survives a restart
    let reg = Registry::open(db, catalog(), field_access()).unwrap();
    let p = reg.product(&lock.id, today()).unwrap();
    assert_eq!(
        (p.field.aggregate.devices, p.field.aggregate.providers),
        (11, 2)
    );
    assert!(p.field.notice.unwrap().acknowledged.is_some());
    assert_eq!(
        reg.product(&older.id, today()).unwrap().assessed_tier,
        out["tier_after"].as_str().map(str::to_string)
    );
}

#[test]
fn sqlite_field_reports() {
    let dir = TempDir::new("registry-field");
    suite(&dir.db());
}

#[test]
fn postgres_field_reports() {
    let pg = TempPostgres::start().unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
    let url = pg.create_db("registry_field").unwrap();
    suite(&url);
}

/// A database made by the release before field reports (no `mud_url`, no field tables)
/// opens, gains them, and resolves a report by MUD URL.
#[test]
fn a_database_from_before_field_reports_is_migrated() {
    let dir = TempDir::new("registry-migrate");
    {
        let c = rusqlite::Connection::open(dir.db()).unwrap();
        c.execute_batch(
            "CREATE TABLE products (id TEXT PRIMARY KEY, manufacturer TEXT NOT NULL,
                model TEXT NOT NULL, name TEXT, category TEXT NOT NULL, status TEXT NOT NULL,
                tier TEXT, label_tier TEXT, valid_until TEXT NOT NULL, support_end TEXT,
                catalog_version TEXT NOT NULL, document TEXT NOT NULL, envelope TEXT NOT NULL,
                profile TEXT NOT NULL, profile_format TEXT NOT NULL, evidence TEXT NOT NULL,
                markets TEXT NOT NULL, profiles TEXT NOT NULL, search TEXT NOT NULL,
                updated_us INTEGER NOT NULL);
             CREATE TABLE levels (product TEXT NOT NULL REFERENCES products(id),
                scheme TEXT NOT NULL, level TEXT, conformance TEXT NOT NULL,
                PRIMARY KEY (product, scheme));
             CREATE TABLE history (seq INTEGER PRIMARY KEY, product TEXT NOT NULL
                REFERENCES products(id), at TEXT NOT NULL, event TEXT NOT NULL,
                detail TEXT NOT NULL);",
        )
        .unwrap();
    }
    let reg = Registry::open(&dir.db(), catalog(), field_access()).unwrap();
    let sub = with_mud("VD-SL4", Some(MUD));
    let id = reg.submit(&sub, Some(TOK_VERIDOR), today()).unwrap().id;
    let r = report("isp-a-9", "isp-a", ProductRef::mud(MUD), 2)
        .sign(&provider("isp-a", 21))
        .unwrap();
    let got = reg
        .field_report(&r, Some(TOK_ISP_A), Timestamp::now())
        .unwrap();
    assert_eq!(got.product, id);
    drop(reg);
    // and opening it again changes nothing
    let reg = Registry::open(&dir.db(), catalog(), field_access()).unwrap();
    assert_eq!(
        reg.product(&id, today()).unwrap().field.aggregate.devices,
        2
    );
}

/// A notice the manufacturer's webhook could not take is retried, then kept pending, and
/// delivered when the registry starts again with the receiver up.
#[test]
fn an_undelivered_notice_is_sent_again_after_a_restart() {
    let dir = TempDir::new("registry-pending");
    // a port nothing listens on
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/hook", dead.local_addr().unwrap());
    drop(dead);
    let mut cfg = config(&dead_url);
    cfg.retry = Retry {
        attempts: 2,
        first_delay: Duration::from_millis(50),
    };
    let reg = Registry::open(&dir.db(), catalog(), field_access())
        .unwrap()
        .with_field(cfg)
        .unwrap();
    let id = reg
        .submit(&with_mud("VD-SL4", Some(MUD)), Some(TOK_VERIDOR), today())
        .unwrap()
        .id;
    let r = report("isp-a-1", "isp-a", ProductRef::mud(MUD), 1)
        .sign(&provider("isp-a", 21))
        .unwrap();
    reg.field_report(&r, Some(TOK_ISP_A), Timestamp::now())
        .unwrap();
    let t0 = Instant::now();
    let n = loop {
        let n = reg.product(&id, today()).unwrap().field.notice.unwrap();
        if n.attempts >= 2 {
            break n;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{n:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!((n.webhook.as_str(), n.notified), ("pending", None));
    assert!(n.last_error.is_some());
    assert!(
        n.cra_art14.iter().all(|d| d.due.is_none()),
        "the clock starts at delivery"
    );
    drop(reg);

    // the receiver is up now (it refuses its first call, then takes the notice)
    let hook = receiver();
    let reg = Registry::open(&dir.db(), catalog(), field_access())
        .unwrap()
        .with_field(config(&hook.url))
        .unwrap();
    let t0 = Instant::now();
    loop {
        let n = reg.product(&id, today()).unwrap().field.notice.unwrap();
        if n.webhook == "delivered" {
            assert_eq!(n.attempts, 4, "2 before the restart, 2 after: {n:?}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{n:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(hook.got.lock().unwrap().len(), 1);
}

/// The same migration on PostgreSQL: tables of the previous release, then `Registry::open`.
#[test]
fn a_postgres_database_from_before_field_reports_is_migrated() {
    let pg = TempPostgres::start().unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
    let url = pg.create_db("registry_migrate").unwrap();
    {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute(
            "CREATE TABLE products (id TEXT PRIMARY KEY, manufacturer TEXT NOT NULL,
                model TEXT NOT NULL, name TEXT, category TEXT NOT NULL, status TEXT NOT NULL,
                tier TEXT, label_tier TEXT, valid_until TEXT NOT NULL, support_end TEXT,
                catalog_version TEXT NOT NULL, document TEXT NOT NULL, envelope TEXT NOT NULL,
                profile TEXT NOT NULL, profile_format TEXT NOT NULL, evidence TEXT NOT NULL,
                markets TEXT NOT NULL, profiles TEXT NOT NULL, search TEXT NOT NULL,
                updated_us BIGINT NOT NULL);
             CREATE TABLE levels (product TEXT NOT NULL REFERENCES products(id),
                scheme TEXT NOT NULL, level TEXT, conformance TEXT NOT NULL,
                PRIMARY KEY (product, scheme));
             CREATE TABLE history (seq BIGSERIAL PRIMARY KEY, product TEXT NOT NULL
                REFERENCES products(id), at TEXT NOT NULL, event TEXT NOT NULL,
                detail TEXT NOT NULL);",
        )
        .unwrap();
    }
    let reg = Registry::open(&url, catalog(), field_access()).unwrap();
    let id = reg
        .submit(&with_mud("VD-SL4", Some(MUD)), Some(TOK_VERIDOR), today())
        .unwrap()
        .id;
    let r = report("isp-a-9", "isp-a", ProductRef::mud(MUD), 2)
        .sign(&provider("isp-a", 21))
        .unwrap();
    assert_eq!(
        reg.field_report(&r, Some(TOK_ISP_A), Timestamp::now())
            .unwrap()
            .product,
        id
    );
}
