//! The registry over real HTTP on loopback: submission rules, pages, bulk check, suspension,
//! and durability across a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use iotrust_assess::profile::{self, InputFormat};
use iotrust_catalog::Catalog;
use iotrust_label::document::{LabelInfo, Party};
use iotrust_label::dsse::{envelope, sign};
use iotrust_label::{Envelope, Key, LabelDocument, Role};
use iotrust_registry::Registry;

fn label(issuer: &Key) -> Envelope {
    let cat = Catalog::embedded().unwrap();
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/profiles/smart-lock.toml");
    let bytes = std::fs::read(&path).unwrap();
    let p = profile::parse(
        &cat,
        std::str::from_utf8(&bytes).unwrap(),
        InputFormat::Toml,
        "smart-lock.toml",
    )
    .unwrap();
    let today = jiff::Zoned::now().date();
    let a = iotrust_assess::assess(&cat, &p, &[], today);
    let info = LabelInfo {
        issuer: Party {
            name: "Example Issuing Body".into(),
            contact: None,
        },
        default_password: "set at first use".into(),
        secure_configuration: "https://veridor.example/secure".into(),
        registry: Some("http://registry.test/p/{id}".into()),
        ..LabelInfo::default()
    };
    let until = today.checked_add(jiff::Span::new().days(365)).unwrap();
    let doc = LabelDocument::from_assessment(&a, &info, until);
    let mut env = envelope(&doc, "smart-lock.toml", &bytes).unwrap();
    sign(&mut env, issuer).unwrap();
    env
}

fn tiers() -> Vec<String> {
    Catalog::embedded()
        .unwrap()
        .tiers
        .iter()
        .map(|t| t.def.id.to_string())
        .collect()
}

struct Server {
    base: String,
    _rt: tokio::runtime::Runtime,
}

fn start(reg: Registry) -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(iotrust_registry::bind("127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(iotrust_registry::serve(Arc::new(reg), listener));
    Server {
        base: format!("http://{addr}"),
        _rt: rt,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(url: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut req = agent().post(url).header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    let mut res = req.send(body).unwrap();
    (
        res.status().as_u16(),
        res.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn get(url: &str) -> (u16, String) {
    let mut res = agent().get(url).call().unwrap();
    (
        res.status().as_u16(),
        res.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn submit_browse_check_suspend_and_survive_a_restart() {
    let issuer = Key::from_seed(Role::IssuingBody, "issuer", [7; 32]);
    let stranger = Key::from_seed(Role::IssuingBody, "stranger", [8; 32]);
    let dir = std::env::temp_dir().join(format!("iotrust-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("registry.sqlite");
    let _ = std::fs::remove_file(&db);
    let tokens = vec![
        (
            "Veridor Security Ltd".to_string(),
            "tok-veridor".to_string(),
        ),
        ("Other Ltd".to_string(), "tok-other".to_string()),
    ];
    let s =
        start(Registry::open(Some(&db), vec![issuer.public.clone()], &tokens, tiers()).unwrap());
    let env = label(&issuer);
    let body = serde_json::to_string(&env).unwrap();
    let labels = format!("{}/api/v1/labels", s.base);

    // submission rules
    let (code, text) = post(&labels, None, &body);
    assert_eq!(code, 401, "{text}");
    let (code, text) = post(&labels, Some("tok-other"), &body);
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("belongs to `Other Ltd`"));
    let (code, _) = post(&labels, Some("tok-veridor"), "{not json");
    assert_eq!(code, 400);
    let mut forged = env.clone();
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = String::from_utf8(b64.decode(&forged.payload).unwrap())
        .unwrap()
        .replace("assured", "advanced");
    forged.payload = b64.encode(payload);
    let (code, text) = post(
        &labels,
        Some("tok-veridor"),
        &serde_json::to_string(&forged).unwrap(),
    );
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("altered after signing"), "{text}");
    let mut unknown = label(&stranger);
    unknown
        .signatures
        .retain(|x| x.keyid == stranger.public.keyid);
    let (code, text) = post(
        &labels,
        Some("tok-veridor"),
        &serde_json::to_string(&unknown).unwrap(),
    );
    assert_eq!(code, 422);
    assert!(text.contains("no signature by a trusted key"), "{text}");
    let (code, text) = post(&labels, Some("tok-veridor"), &body);
    assert_eq!(code, 201, "{text}");
    let id = serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // the product and its page
    let (code, text) = get(&format!("{}/api/v1/products/{id}", s.base));
    assert_eq!(code, 200);
    let p: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(p["status"], "active");
    assert_eq!(p["label"]["tier"], "assured");
    assert_eq!(p["history"].as_array().unwrap().len(), 1);
    let (code, html) = get(&format!("{}/p/{id}", s.base));
    assert_eq!(code, 200);
    assert!(
        html.contains("VD-SL4")
            && html.contains("Supported: security updates until")
            && html.contains("<svg")
    );
    assert_eq!(get(&format!("{}/api/v1/products/nope", s.base)).0, 404);

    // bulk check for a buyer
    let check = format!("{}/api/v1/check", s.base);
    let req = r#"{"tier": "assured", "items": [{"manufacturer": "Veridor Security Ltd", "model": "VD-SL4"}, {"manufacturer": "Acme", "model": "X"}]}"#;
    let (code, text) = post(&check, None, req);
    assert_eq!(code, 200, "{text}");
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r[0]["meets"], true);
    assert_eq!(r[1]["registered"], false);
    let (code, _) = post(&check, None, r#"{"tier": "gold", "items": []}"#);
    assert_eq!(code, 400);
    let (code, _) = post(&check, None, &req.replace("assured", "advanced"));
    assert_eq!(code, 200);

    // suspension: only the owner, with a reason
    let suspend = format!("{}/api/v1/products/{id}/suspend", s.base);
    assert_eq!(
        post(&suspend, Some("tok-other"), r#"{"reason": "x"}"#).0,
        403
    );
    assert_eq!(
        post(&suspend, Some("tok-veridor"), r#"{"reason": " "}"#).0,
        400
    );
    assert_eq!(
        post(
            &suspend,
            Some("tok-veridor"),
            r#"{"reason": "critical vulnerability under investigation"}"#
        )
        .0,
        204
    );
    let r: serde_json::Value = serde_json::from_str(&post(&check, None, req).1).unwrap();
    assert_eq!(r[0]["meets"], false);
    assert_eq!(r[0]["reason"], "label suspended");
    drop(s);

    // everything acknowledged is still there after a restart
    let reg = Registry::open(Some(&db), vec![issuer.public.clone()], &tokens, tiers()).unwrap();
    let p = reg.get(&id).unwrap();
    assert_eq!(p.status, "suspended");
    assert_eq!(p.history.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
