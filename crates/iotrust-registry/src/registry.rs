//! The registry's rules, independent of HTTP and of the storage backend.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use iotrust_assess::evidence::{self, Evidence};
use iotrust_assess::profile::{self, InputFormat, Profile};
use iotrust_catalog::Catalog;
use iotrust_label::dsse::verify;
use iotrust_label::{Envelope, LabelDocument, PublicKey};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{Event, Reassessment, Record, SchemeLevel, Store, StoreError, Summary};

/// A refused request: HTTP status and the reason given to the client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

pub(crate) fn err(status: u16, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        message: message.into(),
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        err(500, e.to_string())
    }
}

/// Support ending within this many days is shown as "ending soon".
pub const ENDING_SOON_DAYS: i64 = 180;
/// Most items one bulk check takes.
pub const MAX_CHECK_ITEMS: usize = 20_000;
/// Connections each store opens at most (readers for SQLite, clients for PostgreSQL).
pub const CONNECTIONS: usize = 8;
/// Most submissions one bulk request takes.
pub const MAX_BULK_SUBMISSIONS: usize = 1000;
/// Most results one search or listing returns.
pub const MAX_PAGE: u32 = 500;

/// Who may do what: trusted signing keys and API tokens (kept only as SHA-256 hashes).
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// Keys whose signatures make a label valid.
    pub trusted: Vec<PublicKey>,
    /// `(manufacturer, token)`: may submit and suspend its own products.
    pub manufacturers: Vec<(String, String)>,
    /// `(name, token)`: an issuing body or market authority; may suspend, reinstate and revoke
    /// any product and trigger re-assessment.
    pub authorities: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    Manufacturer(String),
    Authority(String),
}

impl Role {
    fn name(&self) -> &str {
        match self {
            Role::Manufacturer(n) | Role::Authority(n) => n,
        }
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The registry: a store, the catalog it assesses with, keys and tokens.
pub struct Registry {
    store: Box<dyn Store>,
    cat: Arc<Catalog>,
    trusted: Vec<PublicKey>,
    tokens: Vec<([u8; 32], Role)>,
    /// Tier ids, lowest first.
    tiers: Vec<String>,
}

/// An evidence document sent with a submission, under the name the profile refers to it by.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceFile {
    pub name: String,
    pub document: serde_json::Value,
}

/// `POST /api/v1/labels`: the signed label, the profile it was issued for (its SHA-256 must
/// be the label's subject digest), the evidence behind it and, optionally, the submitter's
/// own assessment (kept for the record; the registry assesses the profile itself).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    pub label: Envelope,
    pub profile: String,
    /// `toml` (default) or `json`.
    #[serde(default)]
    pub profile_format: Option<String>,
    #[serde(default)]
    pub evidence: Vec<EvidenceFile>,
    #[serde(default)]
    pub assessment: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Submitted {
    pub id: String,
    pub page: String,
    /// `registered` or `updated`.
    pub event: String,
    /// The tier the registry's own assessment reached.
    pub assessed_tier: Option<String>,
}

/// Support status on a given day.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SupportView {
    pub end_date: Option<String>,
    /// `supported`, `ending-soon`, `unsupported` or `unknown`.
    pub status: String,
    pub days_left: Option<i64>,
}

/// A scheme result with its title, for pages and the API.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LevelView {
    pub scheme: String,
    pub title: String,
    pub jurisdiction: String,
    pub level: Option<String>,
    pub conformance: String,
}

/// `GET /api/v1/products/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProductView {
    pub id: String,
    /// `active`, `expired` (past its validity), `suspended` or `revoked`.
    pub status: String,
    /// The tier a buyer may rely on: the lower of the label's and the registry's assessment.
    pub tier: Option<String>,
    pub label_tier: Option<String>,
    pub assessed_tier: Option<String>,
    pub catalog_version: String,
    pub support: SupportView,
    /// Market access per declared market, by the registry's assessment.
    pub markets: BTreeMap<String, String>,
    /// Procurement profiles reached (e.g. `public-procurement`).
    pub profiles: Vec<String>,
    pub levels: Vec<LevelView>,
    pub label: LabelDocument,
    pub history: Vec<Event>,
}

/// A listing line with the support view of the day.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Listed {
    #[serde(flatten)]
    pub product: Summary,
    pub support: SupportView,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SearchPage {
    pub query: String,
    pub total: u64,
    pub offset: u32,
    pub results: Vec<Listed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckItem {
    pub manufacturer: String,
    pub model: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The tier (`baseline` … `advanced`) or procurement profile (`public-procurement`) each
    /// product must reach. Default: the lowest tier, unless a market is asked.
    #[serde(default)]
    pub tier: Option<String>,
    /// A market (`UK`, `EU`, `US`, …) whose laws in force each product must meet, by the
    /// registry's assessment of the markets the product declares.
    #[serde(default)]
    pub market: Option<String>,
    pub items: Vec<CheckItem>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckResult {
    pub manufacturer: String,
    pub model: String,
    pub registered: bool,
    pub meets: bool,
    pub tier: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckResponse {
    pub tier: Option<String>,
    pub market: Option<String>,
    pub checked: usize,
    pub meeting: usize,
    pub results: Vec<CheckResult>,
}

/// `POST /api/v1/verify`: a label checked against the registry's keys and records.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifyView {
    pub valid: bool,
    /// Why not, when not valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub signers: Vec<String>,
    /// The product's status in the registry (`None`: not registered).
    pub registry_status: Option<String>,
}

/// A status change: suspend (owner or authority), reinstate and revoke (authority).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Suspend,
    Reinstate,
    Revoke,
}

/// How many products reach a tier or level.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Count {
    /// The tier or level id.
    pub id: String,
    pub products: u64,
}

/// One scheme of the national-programme comparison.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgrammeView {
    pub scheme: String,
    pub title: String,
    pub jurisdiction: String,
    pub kind: String,
    /// Active products in scope of the scheme.
    pub in_scope: u64,
    /// Active products conformant (every applicable mandatory provision met).
    pub conformant: u64,
    /// Per level of the scheme, lowest first: how many products reach it (their highest).
    pub levels: Vec<Count>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Programmes {
    pub products: u64,
    pub tiers: Vec<Count>,
    pub schemes: Vec<ProgrammeView>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reassessed {
    pub catalog_version: String,
    pub checked: usize,
    pub changed: usize,
    /// Products whose stored profile no longer parses under the new catalog (kept, reported).
    pub failed: Vec<String>,
}

/// What the registry's own assessment says.
struct Judgement {
    tier: Option<String>,
    levels: Vec<SchemeLevel>,
    /// JSON object: declared market → `yes`/`no`/`undetermined`.
    markets: String,
    /// JSON array of the procurement profiles reached.
    profiles: String,
}

fn day(d: Date) -> String {
    d.to_string()
}

/// Support status of an end date on `today`.
pub fn support_view(end: Option<&str>, today: Date) -> SupportView {
    let Some(end_s) = end else {
        return SupportView {
            end_date: None,
            status: "unknown".into(),
            days_left: None,
        };
    };
    let days = end_s
        .parse::<Date>()
        .ok()
        .and_then(|e| today.until((jiff::Unit::Day, e)).ok())
        .map(|s| i64::from(s.get_days()));
    let status = match days {
        None => "unknown",
        Some(d) if d < 0 => "unsupported",
        Some(d) if d <= ENDING_SOON_DAYS => "ending-soon",
        Some(_) => "supported",
    };
    SupportView {
        end_date: Some(end_s.to_string()),
        status: status.into(),
        days_left: days,
    }
}

/// The stored status, or `expired` for an active label past its validity.
fn shown_status(status: &str, valid_until: &str, today: Date) -> String {
    if status == "active" && valid_until < day(today).as_str() {
        "expired".into()
    } else {
        status.into()
    }
}

fn verdict_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Registry {
    /// Open the database `db` — a PostgreSQL URL (`postgres://…`, `postgresql://…`) or a
    /// SQLite file path (created if missing) — with `cat` as the catalog for assessments.
    pub fn open(db: &str, cat: Arc<Catalog>, access: Access) -> Result<Registry, StoreError> {
        let store: Box<dyn Store> =
            if db.starts_with("postgres://") || db.starts_with("postgresql://") {
                Box::new(crate::pg::Postgres::open(db, CONNECTIONS)?)
            } else {
                Box::new(crate::sqlite::Sqlite::open(Path::new(db), CONNECTIONS)?)
            };
        Ok(Registry::with_store(store, cat, access))
    }

    pub fn with_store(store: Box<dyn Store>, cat: Arc<Catalog>, access: Access) -> Registry {
        let mut tokens: Vec<([u8; 32], Role)> = access
            .manufacturers
            .iter()
            .map(|(m, t)| (hash(t), Role::Manufacturer(m.clone())))
            .collect();
        tokens.extend(
            access
                .authorities
                .iter()
                .map(|(a, t)| (hash(t), Role::Authority(a.clone()))),
        );
        let tiers = cat.tiers.iter().map(|t| t.def.id.to_string()).collect();
        Registry {
            store,
            cat,
            trusted: access.trusted,
            tokens,
            tiers,
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.cat
    }

    /// `sqlite` or `postgresql`.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    pub fn count(&self) -> Result<u64, ApiError> {
        Ok(self.store.count()?)
    }

    fn rank(&self, tier: Option<&str>) -> Option<usize> {
        tier.and_then(|t| self.tiers.iter().position(|x| x == t))
    }

    /// The lower of two tiers (`None` is below every tier).
    fn lower(&self, a: Option<&str>, b: Option<&str>) -> Option<String> {
        match (self.rank(a), self.rank(b)) {
            (Some(x), Some(y)) => Some(self.tiers[x.min(y)].clone()),
            _ => None,
        }
    }

    fn role(&self, token: Option<&str>) -> Result<&Role, ApiError> {
        let token = token.ok_or_else(|| err(401, "missing bearer token"))?;
        let h = hash(token);
        self.tokens
            .iter()
            .find(|(t, _)| *t == h)
            .map(|(_, r)| r)
            .ok_or_else(|| err(401, "unknown token"))
    }

    /// Refuse unless `token` belongs to an issuing body or market authority.
    pub fn require_authority(&self, token: Option<&str>) -> Result<(), ApiError> {
        match self.role(token)? {
            Role::Authority(_) => Ok(()),
            Role::Manufacturer(_) => Err(err(
                403,
                "only an issuing body or market authority may do this",
            )),
        }
    }

    /// Parse a submitted profile (`stored` false: every problem is an error) or one stored
    /// earlier (`stored` true: version 1 facts that version 2 replaced and that cannot be
    /// mapped stay unknown, listed in `Profile::unmapped`), and assess it on `today`.
    fn judge(
        &self,
        text: &str,
        format: InputFormat,
        evidence: &[EvidenceFile],
        today: Date,
        stored: bool,
    ) -> Result<(Profile, Judgement), ApiError> {
        let cat = &*self.cat;
        let prof = if stored {
            profile::parse_stored(cat, text, format, "profile")
        } else {
            profile::parse(cat, text, format, "profile")
        }
        .map_err(|e| err(422, format!("profile: {e}")))?;
        let mut ev: Vec<Evidence> = Vec::new();
        let mut used = vec![false; evidence.len()];
        for r in &prof.evidence {
            let Some(i) = evidence.iter().position(|f| f.name == r.file) else {
                return Err(err(
                    422,
                    format!(
                        "profile:{}: evidence: the profile refers to `{}`, which was not sent (send it in `evidence` under that name)",
                        r.line, r.file
                    ),
                ));
            };
            used[i] = true;
            ev.push(parse_evidence(cat, &evidence[i], r.device.as_deref())?);
        }
        for (f, _) in evidence.iter().zip(&used).filter(|(_, u)| !**u) {
            ev.push(parse_evidence(cat, f, None)?);
        }
        let e = iotrust_assess::eval::evaluate(cat, &prof, &ev, today);
        let s = e.summary(&prof, Vec::new());
        let levels = s
            .schemes
            .iter()
            .map(|(k, v)| SchemeLevel {
                scheme: k.clone(),
                level: v.level.clone(),
                conformance: verdict_name(&v.conformance),
            })
            .collect();
        let markets: BTreeMap<&String, String> = s
            .markets
            .iter()
            .map(|(m, a)| (m, verdict_name(a)))
            .collect();
        let profiles: Vec<&str> = cat
            .profiles
            .iter()
            .filter(|t| e.tier_reached(t))
            .map(|t| t.def.id.as_str())
            .collect();
        Ok((
            prof,
            Judgement {
                tier: s.tier,
                levels,
                markets: serde_json::to_string(&markets).map_err(|e| err(500, e.to_string()))?,
                profiles: serde_json::to_string(&profiles).map_err(|e| err(500, e.to_string()))?,
            },
        ))
    }

    fn manufacturer(&self, token: Option<&str>) -> Result<&str, ApiError> {
        match self.role(token)? {
            Role::Manufacturer(who) => Ok(who),
            Role::Authority(_) => Err(err(403, "only a manufacturer's token may submit labels")),
        }
    }

    /// Verify a submission, assess its profile, and store it. The bearer token must belong to
    /// the label's manufacturer.
    pub fn submit(
        &self,
        sub: &Submission,
        token: Option<&str>,
        today: Date,
    ) -> Result<Submitted, ApiError> {
        let who = self.manufacturer(token)?;
        let (rec, event, mut out) = self.prepare(sub, who, today)?;
        let existed = self.store.put(&[(rec, event)])?;
        if existed.first() == Some(&true) {
            out.event = "updated".into();
        }
        Ok(out)
    }

    /// Submit many labels at once: each is verified and assessed on its own (one result per
    /// submission, in order); the accepted ones are stored in one transaction, so either all
    /// of them are acknowledged or none is.
    pub fn submit_many(
        &self,
        subs: &[Submission],
        token: Option<&str>,
        today: Date,
    ) -> Result<Vec<Result<Submitted, ApiError>>, ApiError> {
        if subs.len() > MAX_BULK_SUBMISSIONS {
            return Err(err(
                413,
                format!("at most {MAX_BULK_SUBMISSIONS} submissions per request"),
            ));
        }
        let who = self.manufacturer(token)?;
        let mut results = Vec::with_capacity(subs.len());
        let mut items = Vec::new();
        let mut slots = Vec::new();
        for (i, sub) in subs.iter().enumerate() {
            match self.prepare(sub, who, today) {
                Ok((rec, event, out)) => {
                    items.push((rec, event));
                    slots.push(i);
                    results.push(Ok(out));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        let existed = self.store.put(&items)?;
        for (i, ex) in slots.into_iter().zip(existed) {
            if let (true, Some(Ok(out))) = (ex, results.get_mut(i)) {
                out.event = "updated".into();
            }
        }
        Ok(results)
    }

    /// Everything about a submission short of storing it.
    fn prepare(
        &self,
        sub: &Submission,
        who: &str,
        today: Date,
    ) -> Result<(Record, Event, Submitted), ApiError> {
        let v = verify(&sub.label, &self.trusted, today)
            .map_err(|e| err(422, format!("label does not verify: {e}")))?;
        let doc = v.document;
        if doc.product.manufacturer != who {
            return Err(err(
                403,
                format!(
                    "this token belongs to `{who}`, the label to `{}`",
                    doc.product.manufacturer
                ),
            ));
        }
        let digest = crate::hex(&Sha256::digest(sub.profile.as_bytes()));
        if !v
            .subject_sha256
            .iter()
            .any(|d| d.as_deref() == Some(&digest))
        {
            return Err(err(
                422,
                format!(
                    "profile: its SHA-256 ({digest}) is not the label's subject ({}): send the exact profile the label was issued for",
                    v.subject_sha256
                        .iter()
                        .flatten()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let format = match sub.profile_format.as_deref() {
            None | Some("toml") => InputFormat::Toml,
            Some("json") => InputFormat::Json,
            Some(other) => {
                return Err(err(
                    400,
                    format!("profile_format: `{other}` is not `toml` or `json`"),
                ))
            }
        };
        let (prof, j) = self.judge(&sub.profile, format, &sub.evidence, today, false)?;
        if prof.identity.manufacturer != doc.product.manufacturer
            || prof.identity.model != doc.product.model
        {
            return Err(err(
                422,
                format!(
                    "the profile is for {} {}, the label for {} {}",
                    prof.identity.manufacturer,
                    prof.identity.model,
                    doc.product.manufacturer,
                    doc.product.model
                ),
            ));
        }
        if let Some(claimed) = doc.tier.as_deref() {
            let claim = self.rank(Some(claimed));
            if claim.is_none() {
                return Err(err(
                    422,
                    format!("the label states tier `{claimed}`, which this catalog does not have"),
                ));
            }
            if claim > self.rank(j.tier.as_deref()) {
                return Err(err(
                    422,
                    format!(
                        "the label states tier `{claimed}`, but the registry's assessment of the profile reaches {} (catalog {})",
                        j.tier.as_deref().map_or("no tier".to_string(), |t| format!("`{t}`")),
                        self.cat.version()
                    ),
                ));
            }
        }
        if let Some(a) = &sub.assessment {
            check_assessment(a, &doc)?;
        }
        let old = self.store.product(&doc.id)?;
        if let Some(old) = &old {
            if old.status == "revoked" {
                return Err(err(
                    409,
                    format!(
                        "label `{}` was revoked; a revoked label is never replaced (issue a new one)",
                        doc.id
                    ),
                ));
            }
            if old.manufacturer != who {
                return Err(err(403, "a manufacturer may only change its own products"));
            }
        }
        let evidence = serde_json::to_string(&sub.evidence).map_err(|e| err(500, e.to_string()))?;
        let rec = Record {
            id: doc.id.clone(),
            manufacturer: doc.product.manufacturer.clone(),
            model: doc.product.model.clone(),
            name: doc.product.name.clone(),
            category: doc.product.category.clone(),
            tier: j.tier.clone(),
            label_tier: doc.tier.clone(),
            valid_until: day(doc.valid_until),
            support_end: doc.support.end_date.map(day),
            catalog_version: self.cat.version().to_string(),
            document: serde_json::to_string(&doc).map_err(|e| err(500, e.to_string()))?,
            envelope: serde_json::to_string(&sub.label).map_err(|e| err(500, e.to_string()))?,
            profile: sub.profile.clone(),
            profile_format: match format {
                InputFormat::Json => "json".into(),
                InputFormat::Toml => "toml".into(),
            },
            evidence,
            levels: j.levels,
            markets: j.markets,
            profiles: j.profiles,
            updated_us: jiff::Timestamp::now().as_microsecond(),
        };
        let signers: Vec<&str> = v.signers.iter().map(|s| s.name.as_str()).collect();
        let mut detail = format!(
            "label tier {}; assessed tier {} (catalog {}); signed by {}",
            doc.tier.as_deref().unwrap_or("none"),
            j.tier.as_deref().unwrap_or("none"),
            self.cat.version(),
            signers.join(", ")
        );
        if let Some(t) = sub
            .assessment
            .as_ref()
            .and_then(|a| a.pointer("/summary/tier"))
        {
            detail.push_str(&format!("; submitted assessment says tier {t}"));
        }
        let event = if old.is_some() {
            "updated"
        } else {
            "registered"
        };
        let out = Submitted {
            page: format!("/p/{}", doc.id),
            id: doc.id,
            event: event.into(),
            assessed_tier: j.tier,
        };
        let event = Event {
            at: day(today),
            event: event.into(),
            detail,
        };
        Ok((rec, event, out))
    }

    fn level_views(&self, levels: Vec<SchemeLevel>) -> Vec<LevelView> {
        levels
            .into_iter()
            .map(|l| {
                let s = self.cat.schemes.iter().find(|s| s.key == l.scheme);
                LevelView {
                    title: s.map(|s| s.def.title.to_string()).unwrap_or_default(),
                    jurisdiction: s
                        .map(|s| s.def.jurisdiction.to_string())
                        .unwrap_or_default(),
                    scheme: l.scheme,
                    level: l.level,
                    conformance: l.conformance,
                }
            })
            .collect()
    }

    /// A product with its label, levels, support status and history.
    pub fn product(&self, id: &str, today: Date) -> Result<ProductView, ApiError> {
        let (p, levels, history) = self
            .store
            .product_full(id)?
            .ok_or_else(|| err(404, format!("no product `{id}`")))?;
        let label: LabelDocument =
            serde_json::from_str(&p.document).map_err(|e| err(500, e.to_string()))?;
        Ok(ProductView {
            tier: self.lower(p.tier.as_deref(), p.label_tier.as_deref()),
            support: support_view(p.support_end.as_deref(), today),
            status: shown_status(&p.status, &p.valid_until, today),
            id: p.id,
            label_tier: p.label_tier,
            assessed_tier: p.tier,
            catalog_version: p.catalog_version,
            markets: serde_json::from_str(&p.markets).unwrap_or_default(),
            profiles: serde_json::from_str(&p.profiles).unwrap_or_default(),
            levels: self.level_views(levels),
            label,
            history,
        })
    }

    /// Check a label: signatures, validity on `today`, and its status in the registry.
    pub fn verify(&self, env: &Envelope, today: Date) -> Result<VerifyView, ApiError> {
        match verify(env, &self.trusted, today) {
            Err(e) => Ok(VerifyView {
                valid: false,
                reason: Some(e.to_string()),
                id: None,
                signers: Vec::new(),
                registry_status: None,
            }),
            Ok(v) => {
                let status = self.store.product(&v.document.id)?.map(|p| p.status);
                let (valid, reason) = match status.as_deref() {
                    Some("active") => (true, None),
                    Some(s) => (false, Some(format!("the registry lists this label as {s}"))),
                    None => (true, Some("signatures valid; not registered here".into())),
                };
                Ok(VerifyView {
                    valid,
                    reason,
                    id: Some(v.document.id),
                    signers: v.signers.into_iter().map(|s| s.name).collect(),
                    registry_status: status,
                })
            }
        }
    }

    /// Suspend, reinstate or revoke a product's label, with a reason.
    pub fn act(
        &self,
        id: &str,
        action: Action,
        reason: &str,
        token: Option<&str>,
        today: Date,
    ) -> Result<String, ApiError> {
        let role = self.role(token)?;
        if reason.trim().is_empty() {
            return Err(err(400, "reason: a status change needs a reason"));
        }
        if reason.len() > 2000 {
            return Err(err(400, "reason: at most 2000 bytes"));
        }
        let p = self
            .store
            .product(id)?
            .ok_or_else(|| err(404, format!("no product `{id}`")))?;
        match (role, action) {
            (Role::Authority(_), _) => {}
            (Role::Manufacturer(m), Action::Suspend) if *m == p.manufacturer => {}
            (Role::Manufacturer(m), Action::Suspend) if *m != p.manufacturer => {
                return Err(err(403, "a manufacturer may only change its own products"))
            }
            (Role::Manufacturer(_), _) => {
                return Err(err(
                    403,
                    "only an issuing body or market authority may reinstate or revoke",
                ))
            }
        }
        let (from_ok, to, event) = match action {
            Action::Suspend => (p.status == "active", "suspended", "suspended"),
            Action::Reinstate => (p.status == "suspended", "active", "reinstated"),
            Action::Revoke => (p.status != "revoked", "revoked", "revoked"),
        };
        if !from_ok {
            return Err(err(
                409,
                format!("the label is {}; cannot {event:?} it", p.status).replace('"', ""),
            ));
        }
        self.store.set_status(
            id,
            to,
            &Event {
                at: day(today),
                event: event.into(),
                detail: format!("{} by {}", reason.trim(), role.name()),
            },
        )?;
        Ok(to.to_string())
    }

    /// Which of these models have an active, valid label at `tier` or above?
    pub fn check(&self, req: &CheckRequest, today: Date) -> Result<CheckResponse, ApiError> {
        if req.items.len() > MAX_CHECK_ITEMS {
            return Err(err(
                413,
                format!("items: at most {MAX_CHECK_ITEMS} per request"),
            ));
        }
        // what is asked: a tier, a procurement profile, a market — or, by default, the lowest tier
        let want = match (&req.tier, &req.market) {
            (Some(t), _) => Some(t.as_str()),
            (None, None) => self.tiers.first().map(String::as_str),
            (None, Some(_)) => None,
        };
        enum Want<'a> {
            Tier(usize, &'a str),
            Profile(&'a str),
        }
        let want = match want {
            None => None,
            Some(w) => Some(match self.rank(Some(w)) {
                Some(r) => Want::Tier(r, w),
                None if self.cat.profiles.iter().any(|p| p.def.id.as_str() == w) => {
                    Want::Profile(w)
                }
                None => {
                    return Err(err(
                        400,
                        format!(
                            "tier: unknown tier or profile `{w}` (tiers: {}; profiles: {})",
                            self.tiers.join(", "),
                            self.cat
                                .profiles
                                .iter()
                                .map(|p| p.def.id.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ))
                }
            }),
        };
        if let Some(m) = &req.market {
            let known: Vec<&str> = self
                .cat
                .meta
                .jurisdictions
                .iter()
                .map(|j| j.id.as_str())
                .collect();
            if !known.contains(&m.as_str()) {
                return Err(err(
                    400,
                    format!(
                        "market: unknown market `{m}` (markets: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        let keys: Vec<(String, String)> = req
            .items
            .iter()
            .map(|i| (i.manufacturer.clone(), i.model.clone()))
            .collect();
        let rows = self.store.latest(&keys)?;
        let today_s = day(today);
        let results: Vec<CheckResult> =
            req.items
                .iter()
                .zip(rows)
                .map(|(it, row)| {
                    let mut res = CheckResult {
                        manufacturer: it.manufacturer.clone(),
                        model: it.model.clone(),
                        registered: row.is_some(),
                        meets: false,
                        tier: None,
                        reason: "no label registered".into(),
                        id: None,
                    };
                    let Some(r) = row else { return res };
                    let tier = self.lower(r.tier.as_deref(), r.label_tier.as_deref());
                    let mut fails: Vec<String> = Vec::new();
                    if r.status != "active" {
                        fails.push(format!("label {}", r.status));
                    } else if r.valid_until < today_s {
                        fails.push(format!("label expired on {}", r.valid_until));
                    }
                    match &want {
                        Some(Want::Tier(need, name))
                            if self.rank(tier.as_deref()).is_none_or(|x| x < *need) =>
                        {
                            fails.push(format!(
                                "tier {} is below {name}",
                                tier.as_deref().unwrap_or("none")
                            ))
                        }
                        Some(Want::Profile(name)) => {
                            let reached: Vec<String> =
                                serde_json::from_str(&r.profiles).unwrap_or_default();
                            if !reached.iter().any(|p| p == name) {
                                fails.push(format!("profile {name} not reached"));
                            }
                        }
                        _ => {}
                    }
                    if let Some(m) = &req.market {
                        let markets: BTreeMap<String, String> =
                            serde_json::from_str(&r.markets).unwrap_or_default();
                        match markets.get(m).map(String::as_str) {
                            Some("yes") => {}
                            Some("no") => fails.push(format!("does not meet the laws of {m}")),
                            Some(_) => fails
                                .push(format!("whether it meets the laws of {m} is undetermined")),
                            None => fails
                                .push(format!("{m} is not among the markets its profile declares")),
                        }
                    }
                    res.meets = fails.is_empty();
                    res.reason = if fails.is_empty() {
                        let mut ok = vec![format!("tier {}", tier.as_deref().unwrap_or("none"))];
                        if let Some(Want::Profile(p)) = &want {
                            ok.push(format!("profile {p}"));
                        }
                        if let Some(m) = &req.market {
                            ok.push(format!("meets the laws of {m}"));
                        }
                        ok.join("; ")
                    } else {
                        fails.join("; ")
                    };
                    res.tier = tier;
                    res.id = Some(r.id);
                    res
                })
                .collect();
        Ok(CheckResponse {
            tier: match &want {
                Some(Want::Tier(_, n)) | Some(Want::Profile(n)) => Some(n.to_string()),
                None => None,
            },
            market: req.market.clone(),
            checked: results.len(),
            meeting: results.iter().filter(|r| r.meets).count(),
            results,
        })
    }

    fn listed(&self, s: Summary, today: Date) -> Listed {
        Listed {
            support: support_view(s.support_end.as_deref(), today),
            product: Summary {
                tier: self.lower(s.tier.as_deref(), s.label_tier.as_deref()),
                status: shown_status(&s.status, &s.valid_until, today),
                ..s
            },
        }
    }

    /// Products matching `q` (manufacturer, model, name or category).
    pub fn search(
        &self,
        q: &str,
        limit: u32,
        offset: u32,
        today: Date,
    ) -> Result<SearchPage, ApiError> {
        if q.len() > 200 {
            return Err(err(400, "q: at most 200 bytes"));
        }
        let (total, rows) = self.store.search(q.trim(), limit.min(MAX_PAGE), offset)?;
        Ok(SearchPage {
            query: q.to_string(),
            total,
            offset,
            results: rows.into_iter().map(|s| self.listed(s, today)).collect(),
        })
    }

    /// Active products whose support period ends within `days` of `today` (and those that
    /// ended within the last `days`, as unsupported).
    pub fn sunsetting(&self, days: u32, today: Date) -> Result<Vec<Listed>, ApiError> {
        if days > 3650 {
            return Err(err(400, "days: at most 3650"));
        }
        let span = jiff::Span::new().days(i64::from(days));
        let to = today
            .checked_add(span)
            .map_err(|e| err(400, e.to_string()))?;
        let from = today
            .checked_sub(span)
            .map_err(|e| err(400, e.to_string()))?;
        let rows = self.store.ending(&day(from), &day(to), MAX_PAGE)?;
        Ok(rows.into_iter().map(|s| self.listed(s, today)).collect())
    }

    /// How many registered products reach each level of each scheme and each tier.
    pub fn programmes(&self) -> Result<Programmes, ApiError> {
        let counts = self.store.level_counts()?;
        let mut by_scheme: BTreeMap<&str, Vec<&crate::store::LevelCount>> = BTreeMap::new();
        for c in &counts {
            by_scheme.entry(c.scheme.as_str()).or_default().push(c);
        }
        let mut schemes = Vec::new();
        for s in &self.cat.schemes {
            let cs = by_scheme.remove(s.key.as_str()).unwrap_or_default();
            let in_scope = cs.iter().map(|c| c.products).sum();
            let conformant = cs
                .iter()
                .filter(|c| c.conformance == "met")
                .map(|c| c.products)
                .sum();
            let levels = s
                .def
                .levels
                .iter()
                .map(|l| {
                    let n = cs
                        .iter()
                        .filter(|c| c.level.as_deref() == Some(&*l.id))
                        .map(|c| c.products)
                        .sum();
                    Count {
                        id: l.id.to_string(),
                        products: n,
                    }
                })
                .collect();
            schemes.push(ProgrammeView {
                scheme: s.key.clone(),
                title: s.def.title.to_string(),
                jurisdiction: s.def.jurisdiction.to_string(),
                kind: verdict_name(&s.def.kind),
                in_scope,
                conformant,
                levels,
            });
        }
        let tc = self.store.tier_counts()?;
        let tiers = self
            .tiers
            .iter()
            .map(|t| {
                let n = tc
                    .iter()
                    .filter(|(x, _)| x.as_deref() == Some(t))
                    .map(|(_, n)| n)
                    .sum();
                Count {
                    id: t.clone(),
                    products: n,
                }
            })
            .collect();
        Ok(Programmes {
            products: tc.iter().map(|(_, n)| n).sum(),
            tiers,
            schemes,
        })
    }

    /// Re-assess every stored profile last assessed under another catalog version, and
    /// record each changed tier and level in the product's history.
    pub fn reassess(&self, today: Date) -> Result<Reassessed, ApiError> {
        let version = self.cat.version().to_string();
        let ids = self.store.stale(&version)?;
        let mut out = Reassessed {
            catalog_version: version.clone(),
            ..Reassessed::default()
        };
        for id in ids {
            let Some(p) = self.store.product(&id)? else {
                continue;
            };
            out.checked += 1;
            let format = if p.profile_format == "json" {
                InputFormat::Json
            } else {
                InputFormat::Toml
            };
            let evidence: Vec<EvidenceFile> =
                serde_json::from_str(&p.evidence).map_err(|e| err(500, e.to_string()))?;
            let (prof, j) = match self.judge(&p.profile, format, &evidence, today, true) {
                Ok(x) => x,
                Err(e) => {
                    // keep the old result, record why it could not be renewed
                    self.store.reassessed(
                        &id,
                        &Reassessment {
                            version: &version,
                            tier: p.tier.as_deref(),
                            levels: &self.store.levels(&id)?,
                            markets: &p.markets,
                            profiles: &p.profiles,
                            events: &[Event {
                                at: day(today),
                                event: "reassessment-failed".into(),
                                detail: format!("catalog {version}: {}", e.message),
                            }],
                        },
                    )?;
                    out.failed.push(id);
                    continue;
                }
            };
            let old = self.store.levels(&id)?;
            let mut events = changes(&old, &j.levels, &day(today));
            if p.tier != j.tier {
                events.insert(
                    0,
                    Event {
                        at: day(today),
                        event: "tier-changed".into(),
                        detail: format!(
                            "assessed tier {} → {}",
                            p.tier.as_deref().unwrap_or("none"),
                            j.tier.as_deref().unwrap_or("none")
                        ),
                    },
                );
            }
            if !events.is_empty() {
                out.changed += 1;
            }
            let changes = events.len();
            // facts the stored profile stated as conclusions: unknown until restated
            for m in &prof.unmapped {
                events.push(Event {
                    at: day(today),
                    event: "restate-fact".into(),
                    detail: m.clone(),
                });
            }
            events.push(Event {
                at: day(today),
                event: "reassessed".into(),
                detail: format!(
                    "catalog {} → {version}: {}",
                    p.catalog_version,
                    if changes == 0 {
                        "no change".to_string()
                    } else {
                        format!("{changes} change(s)")
                    }
                ),
            });
            self.store.reassessed(
                &id,
                &Reassessment {
                    version: &version,
                    tier: j.tier.as_deref(),
                    levels: &j.levels,
                    markets: &j.markets,
                    profiles: &j.profiles,
                    events: &events,
                },
            )?;
        }
        Ok(out)
    }
}

fn parse_evidence(
    cat: &Catalog,
    f: &EvidenceFile,
    device: Option<&str>,
) -> Result<Evidence, ApiError> {
    let text = serde_json::to_string_pretty(&f.document).map_err(|e| err(500, e.to_string()))?;
    evidence::parse(cat, &text, &f.name, device).map_err(|e| err(422, format!("evidence {e}")))
}

/// A submitted assessment must be an `iotrust-assessment/1` of the labelled product.
fn check_assessment(a: &serde_json::Value, doc: &LabelDocument) -> Result<(), ApiError> {
    let format = a.get("format").and_then(|f| f.as_str());
    if format != Some(iotrust_assess::result::FORMAT) {
        return Err(err(
            422,
            format!(
                "assessment.format: expected `{}`",
                iotrust_assess::result::FORMAT
            ),
        ));
    }
    let m = a
        .pointer("/profile/identity/manufacturer")
        .and_then(|v| v.as_str());
    let model = a
        .pointer("/profile/identity/model")
        .and_then(|v| v.as_str());
    if m != Some(&doc.product.manufacturer) || model != Some(&doc.product.model) {
        return Err(err(
            422,
            "assessment.profile.identity: not the labelled product",
        ));
    }
    Ok(())
}

/// The level changes between two assessments, as history events.
fn changes(old: &[SchemeLevel], new: &[SchemeLevel], at: &str) -> Vec<Event> {
    let o: BTreeMap<&str, &SchemeLevel> = old.iter().map(|l| (l.scheme.as_str(), l)).collect();
    let n: BTreeMap<&str, &SchemeLevel> = new.iter().map(|l| (l.scheme.as_str(), l)).collect();
    let show = |l: Option<&&SchemeLevel>| match l {
        None => "out of scope".to_string(),
        Some(l) => match &l.level {
            Some(level) => format!("level {level} ({})", l.conformance),
            None => format!("no level ({})", l.conformance),
        },
    };
    let mut keys: Vec<&str> = o.keys().chain(n.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter(|k| o.get(k) != n.get(k))
        .map(|k| Event {
            at: at.to_string(),
            event: "level-changed".into(),
            detail: format!("{k}: {} → {}", show(o.get(k)), show(n.get(k))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_views() {
        let today: Date = "2026-11-22".parse().unwrap_or_default();
        assert_eq!(support_view(None, today).status, "unknown");
        assert_eq!(
            support_view(Some("2026-11-21"), today).status,
            "unsupported"
        );
        assert_eq!(
            support_view(Some("2027-01-01"), today).status,
            "ending-soon"
        );
        assert_eq!(support_view(Some("2030-01-01"), today).status, "supported");
        assert_eq!(support_view(Some("2026-11-22"), today).days_left, Some(0));
    }

    #[test]
    fn level_changes_are_named() {
        let l = |s: &str, lv: Option<&str>, c: &str| SchemeLevel {
            scheme: s.into(),
            level: lv.map(Into::into),
            conformance: c.into(),
        };
        let old = vec![l("a@1", Some("L2"), "met"), l("b@1", None, "met")];
        let new = vec![l("a@1", Some("L1"), "met"), l("c@1", None, "unknown")];
        let ev = changes(&old, &new, "2026-11-22");
        let d: Vec<&str> = ev.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            d,
            [
                "a@1: level L2 (met) → level L1 (met)",
                "b@1: no level (met) → out of scope",
                "c@1: out of scope → no level (unknown)"
            ]
        );
    }
}
