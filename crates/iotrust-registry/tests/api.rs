//! The registry over real HTTP on loopback, the same suite against SQLite and against a real
//! PostgreSQL server the test starts: submission rules, product, search, sunsetting,
//! programmes, bulk check, verification, status changes, pages, OpenAPI coverage, rate
//! limiting and durability across a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

mod common;

use base64::Engine as _;
use common::*;
use iotrust_label::{Key, Role};
use iotrust_registry::testing::TempPostgres;
use iotrust_registry::{RateLimit, Registry};

fn suite(db: &str) {
    let s = start(Registry::open(db, catalog(), access()).unwrap(), None);
    let labels = format!("{}/api/v1/labels", s.base);
    let sub = submission("VD-SL4", days(2500));
    let body = serde_json::to_string(&sub).unwrap();

    // --- submission rules
    let (code, text) = post(&labels, None, &body);
    assert_eq!(code, 401, "{text}");
    let (code, text) = post(&labels, Some("not-a-token-at-all"), &body);
    assert_eq!(code, 401, "{text}");
    let (code, text) = post(&labels, Some(TOK_OTHER), &body);
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("belongs to `Other Ltd`"), "{text}");
    let (code, text) = post(&labels, Some(TOK_AUTHORITY), &body);
    assert_eq!(code, 403, "{text}");
    let (code, text) = post(&labels, Some(TOK_VERIDOR), "{not json");
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("line 1 column 2"), "{text}");
    let (code, text) = post(
        &labels,
        Some(TOK_VERIDOR),
        r#"{"label": 1, "profile": "x"}"#,
    );
    assert_eq!(code, 400, "{text}");
    // a label altered after signing
    let mut forged = sub.clone();
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = String::from_utf8(b64.decode(&forged.label.payload).unwrap())
        .unwrap()
        .replace("assured", "advanced");
    forged.label.payload = b64.encode(payload);
    let (code, text) = post(
        &labels,
        Some(TOK_VERIDOR),
        &serde_json::to_string(&forged).unwrap(),
    );
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("altered after signing"), "{text}");
    // signed by a key the registry does not trust
    let stranger = Key::from_seed(Role::IssuingBody, "stranger", [8; 32]);
    let unknown = submission_with(VERIDOR, "VD-SL4", days(2500), &stranger, |_| {});
    let (code, text) = post(
        &labels,
        Some(TOK_VERIDOR),
        &serde_json::to_string(&unknown).unwrap(),
    );
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("no signature by a trusted key"), "{text}");
    // a profile that is not the one the label was issued for
    let mut swapped = sub.clone();
    swapped.profile.push_str("\n# edited\n");
    let (code, text) = post(
        &labels,
        Some(TOK_VERIDOR),
        &serde_json::to_string(&swapped).unwrap(),
    );
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("not the label's subject"), "{text}");
    // a label stating more than its profile supports (signed by a trusted but careless body)
    let inflated = submission_with(VERIDOR, "VD-SL4X", days(2500), &issuer(), |d| {
        d.tier = Some("advanced".into())
    });
    let (code, text) = post(
        &labels,
        Some(TOK_VERIDOR),
        &serde_json::to_string(&inflated).unwrap(),
    );
    assert_eq!(code, 422, "{text}");
    assert!(
        text.contains("states tier `advanced`") && text.contains("reaches `assured`"),
        "{text}"
    );
    // accepted, then replaced
    let (code, text) = post(&labels, Some(TOK_VERIDOR), &body);
    assert_eq!(code, 201, "{text}");
    let r = json(&text);
    assert_eq!(r["event"], "registered");
    assert_eq!(r["assessed_tier"], "assured");
    let id = r["id"].as_str().unwrap().to_string();
    let (code, text) = post(&labels, Some(TOK_VERIDOR), &body);
    assert_eq!(code, 200, "{text}");
    assert_eq!(json(&text)["event"], "updated");

    // more products: one ending soon, one already unsupported, one of another maker
    let mut ids = vec![id.clone()];
    for (model, end) in [("VD-SL3", days(40)), ("VD-SL2", days(-30))] {
        let (code, text) = post(
            &labels,
            Some(TOK_VERIDOR),
            &serde_json::to_string(&submission(model, end)).unwrap(),
        );
        assert_eq!(code, 201, "{model}: {text}");
        ids.push(json(&text)["id"].as_str().unwrap().to_string());
    }
    let other = submission_with("Other Ltd", "OT-1", days(900), &issuer(), |_| {});
    let (code, text) = post(
        &labels,
        Some(TOK_OTHER),
        &serde_json::to_string(&other).unwrap(),
    );
    assert_eq!(code, 201, "{text}");
    let other_id = json(&text)["id"].as_str().unwrap().to_string();

    // --- bulk submission: each checked on its own, the good ones stored together
    let bulk = serde_json::json!({"submissions": [
        submission("VD-B1", days(3000)),
        swapped.clone(),
        submission("VD-B2", days(3000)),
    ]});
    let (code, text) = post(
        &format!("{labels}/bulk"),
        Some(TOK_VERIDOR),
        &bulk.to_string(),
    );
    assert_eq!(code, 200, "{text}");
    let r = json(&text);
    assert_eq!(
        (r["accepted"].as_u64(), r["rejected"].as_u64()),
        (Some(2), Some(1)),
        "{r}"
    );
    assert_eq!(r["results"][0]["ok"]["event"], "registered");
    assert_eq!(r["results"][1]["error"]["status"], 422);
    let b2 = r["results"][2]["ok"]["id"].as_str().unwrap().to_string();
    assert_eq!(get(&format!("{}/api/v1/products/{b2}", s.base)).0, 200);
    let (code, _) = post(
        &format!("{labels}/bulk"),
        Some(TOK_AUTHORITY),
        &bulk.to_string(),
    );
    assert_eq!(code, 403);
    for model in ["VD-B1", "VD-B2"] {
        let id = json(
            &get(&format!(
                "{}/api/v1/search?q={}",
                s.base,
                model.to_lowercase()
            ))
            .1,
        )["results"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (code, _) = post(
            &format!("{}/api/v1/products/{id}/revoke", s.base),
            Some(TOK_AUTHORITY),
            r#"{"reason": "test batch withdrawn"}"#,
        );
        assert_eq!(code, 200);
    }

    // --- the product
    let (code, text) = get(&format!("{}/api/v1/products/{id}", s.base));
    assert_eq!(code, 200, "{text}");
    let p = json(&text);
    assert_eq!(p["status"], "active");
    assert_eq!(p["tier"], "assured");
    assert_eq!(p["support"]["status"], "supported");
    assert_eq!(p["markets"]["UK"], "yes");
    assert_eq!(p["profiles"][0], "public-procurement");
    let levels = p["levels"].as_array().unwrap();
    assert!(
        levels.iter().any(|l| l["scheme"] == "sg-cls@1.4"
            && l["level"] == "L4"
            && l["conformance"] == "met"),
        "{levels:?}"
    );
    assert_eq!(p["history"].as_array().unwrap().len(), 2);
    assert_eq!(get(&format!("{}/api/v1/products/nope", s.base)).0, 404);

    // --- search: case-insensitive, wildcards literal, paging
    let (code, text) = get(&format!("{}/api/v1/search?q=vd-sl", s.base));
    assert_eq!(code, 200, "{text}");
    let r = json(&text);
    assert_eq!(r["total"], 3);
    let (_, text) = get(&format!("{}/api/v1/search?q=SMART-LOCK&limit=2", s.base));
    let r = json(&text);
    assert_eq!(r["total"], 6, "revoked products are found too");
    assert_eq!(r["results"].as_array().unwrap().len(), 2);
    let (_, text) = get(&format!("{}/api/v1/search?q=%25", s.base));
    assert_eq!(json(&text)["total"], 0, "`%` is not a wildcard");
    let (code, text) = get(&format!("{}/api/v1/search?q=x&limit=-1", s.base));
    assert_eq!(code, 400, "{text}");
    let (code, text) = get(&format!("{}/api/v1/search?q=x&bogus=1", s.base));
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("bogus"), "{text}");

    // --- sunsetting
    let (code, text) = get(&format!("{}/api/v1/sunsetting?days=60", s.base));
    assert_eq!(code, 200, "{text}");
    let r = json(&text);
    let listed: Vec<(&str, &str)> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["model"].as_str().unwrap(),
                x["support"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [("VD-SL2", "unsupported"), ("VD-SL3", "ending-soon")]
    );
    assert_eq!(
        get(&format!("{}/api/v1/sunsetting?days=99999", s.base)).0,
        400
    );

    // --- bulk check for a buyer
    let check = format!("{}/api/v1/check", s.base);
    let req = r#"{"tier": "assured", "items": [
        {"manufacturer": "Veridor Security Ltd", "model": "VD-SL4"},
        {"manufacturer": "Acme", "model": "X"},
        {"manufacturer": "Veridor Security Ltd", "model": "VD-SL2"}]}"#;
    let (code, text) = post(&check, None, req);
    assert_eq!(code, 200, "{text}");
    let r = json(&text);
    assert_eq!(r["checked"], 3);
    assert_eq!(r["results"][0]["meets"], true);
    assert_eq!(r["results"][1]["registered"], false);
    assert_eq!(r["results"][1]["meets"], false);
    let (code, text) = post(&check, None, r#"{"tier": "gold", "items": []}"#);
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("unknown tier or profile `gold`"), "{text}");
    let (code, text) = post(&check, None, &req.replace("assured", "advanced"));
    assert_eq!(code, 200);
    assert_eq!(
        json(&text)["results"][0]["reason"],
        "tier assured is below advanced"
    );
    // the UK baseline and the public-procurement profile, as a buyer asks them
    let (code, text) = post(
        &check,
        None,
        &req.replace(r#""tier": "assured""#, r#""market": "UK""#),
    );
    assert_eq!(code, 200, "{text}");
    let r = json(&text);
    assert_eq!(r["market"], "UK");
    assert_eq!(r["tier"], serde_json::Value::Null);
    assert_eq!(r["results"][0]["meets"], true, "{r}");
    assert_eq!(
        r["results"][0]["reason"],
        "tier assured; meets the laws of UK"
    );
    let (_, text) = post(
        &check,
        None,
        &req.replace(r#""tier": "assured""#, r#""market": "US""#),
    );
    assert_eq!(
        json(&text)["results"][0]["reason"],
        "US is not among the markets its profile declares"
    );
    let (code, text) = post(&check, None, &req.replace("assured", "public-procurement"));
    assert_eq!(code, 200, "{text}");
    let r = json(&text);
    assert_eq!(r["results"][0]["meets"], true, "{r}");
    assert_eq!(
        r["results"][0]["reason"],
        "tier assured; profile public-procurement"
    );
    let (code, text) = post(&check, None, r#"{"market": "Atlantis", "items": []}"#);
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("unknown market `Atlantis`"), "{text}");
    let many: Vec<serde_json::Value> = (0..20_001)
        .map(|i| serde_json::json!({"manufacturer": "m", "model": i.to_string()}))
        .collect();
    let (code, _) = post(
        &check,
        None,
        &serde_json::json!({ "items": many }).to_string(),
    );
    assert_eq!(code, 413);

    // --- verification
    let verify = format!("{}/api/v1/verify", s.base);
    let (code, text) = post(&verify, None, &serde_json::to_string(&sub.label).unwrap());
    assert_eq!(code, 200, "{text}");
    let v = json(&text);
    assert_eq!(v["valid"], true);
    assert_eq!(v["registry_status"], "active");
    assert_eq!(v["signers"][0], "issuer");
    let (_, text) = post(
        &verify,
        None,
        &serde_json::to_string(&forged.label).unwrap(),
    );
    let v = json(&text);
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("altered"), "{v}");
    assert_eq!(post(&verify, None, "[]").0, 400);

    // --- status changes
    let act = |what: &str, pid: &str, tok: Option<&str>, reason: &str| {
        post(
            &format!("{}/api/v1/products/{pid}/{what}", s.base),
            tok,
            &serde_json::json!({ "reason": reason }).to_string(),
        )
    };
    assert_eq!(act("suspend", &id, Some(TOK_OTHER), "x").0, 403);
    assert_eq!(act("suspend", &id, Some(TOK_VERIDOR), " ").0, 400);
    assert_eq!(act("suspend", "nope", Some(TOK_VERIDOR), "x").0, 404);
    let (code, text) = act(
        "suspend",
        &id,
        Some(TOK_VERIDOR),
        "critical vulnerability under investigation",
    );
    assert_eq!(code, 200, "{text}");
    assert_eq!(json(&text)["status"], "suspended");
    let r = json(&post(&check, None, req).1);
    assert_eq!(r["results"][0]["meets"], false);
    assert_eq!(r["results"][0]["reason"], "label suspended");
    let v = json(&post(&verify, None, &serde_json::to_string(&sub.label).unwrap()).1);
    assert_eq!(v["valid"], false);
    assert_eq!(act("reinstate", &id, Some(TOK_VERIDOR), "fixed").0, 403);
    assert_eq!(act("suspend", &id, Some(TOK_VERIDOR), "again").0, 409);
    let (code, text) = act(
        "reinstate",
        &id,
        Some(TOK_AUTHORITY),
        "fix 4.2.1 verified by the lab",
    );
    assert_eq!(code, 200, "{text}");
    assert_eq!(
        json(&post(&check, None, req).1)["results"][0]["meets"],
        true
    );
    assert_eq!(act("revoke", &other_id, Some(TOK_OTHER), "x").0, 403);
    let (code, text) = act(
        "revoke",
        &other_id,
        Some(TOK_AUTHORITY),
        "sold with a universal password",
    );
    assert_eq!(code, 200, "{text}");
    let (code, text) = post(
        &labels,
        Some(TOK_OTHER),
        &serde_json::to_string(&other).unwrap(),
    );
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("revoked"), "{text}");
    let p = json(&get(&format!("{}/api/v1/products/{id}", s.base)).1);
    let events: Vec<&str> = p["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["registered", "updated", "suspended", "reinstated"]);

    // --- national programmes
    let (code, text) = get(&format!("{}/api/v1/programmes", s.base));
    assert_eq!(code, 200, "{text}");
    let r = json(&text);
    assert_eq!(r["products"], 3, "the revoked product is not counted");
    let cls = r["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["scheme"] == "sg-cls@1.4")
        .unwrap();
    assert_eq!(cls["in_scope"], 3);
    assert!(
        cls["levels"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"id": "L4", "products": 3})),
        "{cls}"
    );

    // --- pages
    let (code, html) = get(&format!("{}/?q=vd-sl", s.base));
    assert_eq!(code, 200);
    assert!(
        html.contains("3 result(s)") && html.contains(&format!("href=\"/p/{id}\"")),
        "{html}"
    );
    let (code, html) = get(&format!("{}/p/{id}", s.base));
    assert_eq!(code, 200);
    assert!(
        html.contains("VD-SL4")
            && html.contains("Supported: security updates until")
            && html.contains("<svg")
            && html.contains("Singapore")
            && html.contains("reinstated"),
        "{html}"
    );
    let (_, html) = get(&format!("{}/p/{}", s.base, ids[2]));
    assert!(
        html.contains("Unsupported: security updates ended"),
        "{html}"
    );
    let (_, html) = get(&format!("{}/p/{}", s.base, ids[1]));
    assert!(html.contains("Support ends soon"), "{html}");
    let (_, html) = get(&format!("{}/p/{other_id}", s.base));
    assert!(
        html.contains("This label is revoked: sold with a universal password"),
        "{html}"
    );
    let (code, html) = get(&format!("{}/sunsetting?days=60", s.base));
    assert_eq!(code, 200);
    assert!(html.contains("2 product(s)"), "{html}");
    let (code, html) = get(&format!("{}/programmes", s.base));
    assert_eq!(code, 200);
    assert!(
        html.contains("<svg") && html.contains("sg-cls@1.4"),
        "{html}"
    );
    let (code, html) = get(&format!("{}/p/%3Cscript%3E", s.base));
    assert_eq!(code, 404);
    assert!(
        !html.contains("<script>") && html.contains("&lt;script&gt;"),
        "{html}"
    );

    // --- every documented operation exists (and nothing undocumented answers under /api)
    let (code, text) = get(&format!("{}/api/v1/openapi.json", s.base));
    assert_eq!(code, 200);
    let doc = json(&text);
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let url = format!("{}{}", s.base, path.replace("{id}", &id));
        for method in ops.as_object().unwrap().keys() {
            let code = match method.as_str() {
                "get" => get(&url).0,
                "post" => post(&url, None, "{}").0,
                m => panic!("{m}"),
            };
            assert!(code != 404 && code != 405, "{method} {path}: {code}");
        }
    }
    assert_eq!(get(&format!("{}/api/v1/nothing", s.base)).0, 404);

    // --- re-assessment needs an authority; with an unchanged catalog nothing is stale
    assert_eq!(
        post(
            &format!("{}/api/v1/reassess", s.base),
            Some(TOK_VERIDOR),
            ""
        )
        .0,
        403
    );
    let (code, text) = post(
        &format!("{}/api/v1/reassess", s.base),
        Some(TOK_AUTHORITY),
        "",
    );
    assert_eq!(code, 200, "{text}");
    assert_eq!(json(&text)["checked"], 0);
    drop(s);

    // --- everything acknowledged is still there after a restart
    let reg = Registry::open(db, catalog(), access()).unwrap();
    let p = reg.product(&id, today()).unwrap();
    assert_eq!(p.status, iotrust_registry::Status::Active);
    assert_eq!(p.history.len(), 4);
    // a label past its validity shows as expired
    assert_eq!(
        reg.product(&id, days(800)).unwrap().status,
        iotrust_registry::Status::Expired
    );
    assert_eq!(reg.count().unwrap(), 6);
}

#[test]
fn sqlite_registry() {
    let dir = TempDir::new("registry-api");
    suite(&dir.db());
}

#[test]
fn postgres_registry() {
    let pg = TempPostgres::start().unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
    let url = pg.create_db("registry_api").unwrap();
    suite(&url);
}

#[test]
fn the_api_is_rate_limited_per_client() {
    let dir = TempDir::new("registry-rate");
    let reg = Registry::open(&dir.db(), catalog(), access()).unwrap();
    let s = start(
        reg,
        Some(RateLimit {
            per_second: 0.5,
            burst: 5.0,
        }),
    );
    let url = format!("{}/api/v1/search?q=x", s.base);
    let codes: Vec<u16> = (0..8).map(|_| get(&url).0).collect();
    assert_eq!(codes[..5], [200; 5]);
    assert!(codes[5..].iter().all(|c| *c == 429), "{codes:?}");
    let res = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .get(&url)
        .call()
        .unwrap();
    let retry: u32 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // pages are not limited
    assert_eq!(get(&format!("{}/", s.base)).0, 200);
    drop(s);
}
