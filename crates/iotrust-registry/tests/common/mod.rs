//! Shared test helpers: labelled products made from the example smart-lock profile, a
//! registry served on loopback, and a small HTTP client.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use iotrust_assess::profile::{self, InputFormat};
use iotrust_catalog::Catalog;
use iotrust_label::document::{LabelInfo, Party};
use iotrust_label::dsse::{envelope, sign};
use iotrust_label::{Key, LabelDocument, Role};
use iotrust_registry::{Access, RateLimit, Registry, Submission};

pub const VERIDOR: &str = "Veridor Security Ltd";
pub const TOK_VERIDOR: &str = "tok-veridor-0123456789";
pub const TOK_OTHER: &str = "tok-other-0123456789";
pub const TOK_AUTHORITY: &str = "tok-authority-0123456789";

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("iotrust-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// A SQLite database path inside it.
    pub fn db(&self) -> String {
        self.0.join("registry.sqlite").to_str().unwrap().to_string()
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn issuer() -> Key {
    Key::from_seed(Role::IssuingBody, "issuer", [7; 32])
}

pub fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog::embedded().unwrap())
}

pub fn access() -> Access {
    Access {
        trusted: vec![issuer().public.clone()],
        manufacturers: vec![
            (VERIDOR.to_string(), TOK_VERIDOR.to_string()),
            ("Other Ltd".to_string(), TOK_OTHER.to_string()),
        ],
        authorities: vec![("Example Authority".to_string(), TOK_AUTHORITY.to_string())],
        ..Access::default()
    }
}

pub fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

/// The smart-lock example profile with another model name, manufacturer and support end.
pub fn profile_text(manufacturer: &str, model: &str, end: jiff::civil::Date) -> String {
    let text = std::fs::read_to_string(root().join("examples/profiles/smart-lock.toml")).unwrap();
    assert!(text.contains("model = \"VD-SL4\"") && text.contains("end_date = 2033-01-31"));
    // without the example's MUD URL: every product here is another model (a test that wants
    // one adds it)
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("mud_url = "))
        .map(|l| format!("{l}\n"))
        .collect();
    text.replace(
        "manufacturer = \"Veridor Security Ltd\"",
        &format!("manufacturer = \"{manufacturer}\""),
    )
    .replace("model = \"VD-SL4\"", &format!("model = \"{model}\""))
    .replace("end_date = 2033-01-31", &format!("end_date = {end}"))
}

/// A submission for a product: its profile assessed with the embedded catalog, the label
/// signed by `signer`. `tweak` may change the label document before signing.
pub fn submission_with(
    manufacturer: &str,
    model: &str,
    end: jiff::civil::Date,
    signer: &Key,
    tweak: impl FnOnce(&mut LabelDocument),
) -> Submission {
    let cat = Catalog::embedded().unwrap();
    let text = profile_text(manufacturer, model, end);
    submission_of(&cat, text, signer, tweak)
}

/// A submission for the TOML profile `text`: assessed with `cat` (the label states the tier
/// that catalog gives it), the label signed by `signer`. `tweak` may change the label
/// document before signing.
pub fn submission_of(
    cat: &Catalog,
    text: String,
    signer: &Key,
    tweak: impl FnOnce(&mut LabelDocument),
) -> Submission {
    let p = profile::parse(cat, &text, InputFormat::Toml, "p.toml").unwrap();
    let a = iotrust_assess::assess(cat, &p, &[], today());
    let info = LabelInfo {
        issuer: Party {
            name: "Example Issuing Body".into(),
            contact: None,
        },
        default_password: "unique per device, printed on the setup card".into(),
        secure_configuration: "https://veridor.example/secure".into(),
        registry: Some("http://registry.test/p/{id}".into()),
        document: None,
        ..LabelInfo::default()
    };
    let until = today().checked_add(jiff::Span::new().days(365)).unwrap();
    let mut doc = label_document(&a, &info, until);
    tweak(&mut doc);
    let mut env = envelope(&doc, "p.toml", text.as_bytes()).unwrap();
    sign(&mut env, signer).unwrap();
    Submission {
        label: env,
        profile: text,
        profile_format: None,
        evidence: Vec::new(),
        assessment: Some(serde_json::to_value(&a).unwrap()),
    }
}

/// The label document of `a`. The registry's sunsetting views need products whose support
/// has ended while their label is still valid; the issuer refuses such a label (a label is
/// never valid beyond the end of support), so for those this fixture writes the document by
/// hand: issued as for a supported product, then given the ended support period.
pub fn label_document(
    a: &iotrust_assess::Assessment,
    info: &LabelInfo,
    until: jiff::civil::Date,
) -> LabelDocument {
    match LabelDocument::from_assessment(a, info, until) {
        Ok(doc) => doc,
        Err(iotrust_label::IssueError::SupportEnded { end, .. }) => {
            let mut supported = a.clone();
            supported.support.end_date = None;
            let mut doc = LabelDocument::from_assessment(&supported, info, until).unwrap();
            doc.support.end_date = Some(end);
            doc
        }
        Err(e) => panic!("{e}"),
    }
}

pub fn submission(model: &str, end: jiff::civil::Date) -> Submission {
    submission_with(VERIDOR, model, end, &issuer(), |_| {})
}

pub fn days(n: i64) -> jiff::civil::Date {
    today().checked_add(jiff::Span::new().days(n)).unwrap()
}

pub struct Server {
    pub base: String,
    _rt: tokio::runtime::Runtime,
}

pub fn start(reg: Registry, rate: Option<RateLimit>) -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(iotrust_registry::bind("127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(iotrust_registry::serve(Arc::new(reg), rate, listener));
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

pub fn post(url: &str, token: Option<&str>, body: &str) -> (u16, String) {
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

pub fn get(url: &str) -> (u16, String) {
    let mut res = agent().get(url).call().unwrap();
    (
        res.status().as_u16(),
        res.body_mut().read_to_string().unwrap_or_default(),
    )
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}
