//! The registry's rules, independent of HTTP and of the storage backend: one module per job
//! (submission, bulk check, listings, re-assessment, field reports, lab evidence).

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

use crate::error::{
    conflict, forbidden, internal, invalid, not_found, rejected, unauthorized, ApiError,
};
use crate::store::{Event, EventKind, SchemeLevel, Status, Store, StoreError};

mod check;
mod field;
mod lab;
mod listings;
mod reassess;
mod submit;

pub use check::{CheckItem, CheckRequest, CheckResponse, CheckResult};
pub use field::{
    aggregate, Aggregate, FieldConfig, FieldView, NoticeView, Retry, Review, Webhook,
    DEFAULT_REVIEW_DEVICES, DEFAULT_REVIEW_PROVIDERS,
};
pub use lab::LabAttached;
pub use listings::{Count, Listed, ProgrammeView, Programmes, SearchPage};
pub use reassess::Reassessed;
pub use submit::{EvidenceFile, Submission, Submitted};

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
    /// `(provider, token)`: a network operator; may send field reports.
    pub providers: Vec<(String, String)>,
    /// Keys whose signatures make a field report a provider's (the key's `name` is the
    /// provider's name).
    pub provider_keys: Vec<PublicKey>,
    /// `(lab, token)`: a test lab; may attach evidence to registered products.
    pub labs: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    Manufacturer(String),
    Authority(String),
    /// A network operator reporting devices seen compromised.
    Provider(String),
    /// A test lab attaching evidence to registered products.
    Lab(String),
}

impl Role {
    fn name(&self) -> &str {
        match self {
            Role::Manufacturer(n) | Role::Authority(n) | Role::Provider(n) | Role::Lab(n) => n,
        }
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The registry: a store, the catalog it assesses with, keys and tokens.
pub struct Registry {
    store: Arc<dyn Store>,
    /// Provider keys: a field report is a provider's if signed by its key.
    provider_keys: Vec<PublicKey>,
    field: FieldConfig,
    /// Delivers manufacturer webhooks off the request path (None: no webhooks configured).
    notifier: Option<field::Notifier>,
    cat: Arc<Catalog>,
    trusted: Vec<PublicKey>,
    tokens: Vec<([u8; 32], Role)>,
    /// Tier ids, lowest first.
    tiers: Vec<String>,
}

/// Support status on a given day.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SupportView {
    pub end_date: Option<Date>,
    pub status: SupportStatus,
    pub days_left: Option<i64>,
}

/// Whether security updates are still promised on a given day.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SupportStatus {
    Supported,
    /// Ending within [`ENDING_SOON_DAYS`].
    EndingSoon,
    Unsupported,
    /// No support period declared.
    Unknown,
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
#[derive(Clone, Debug, Serialize)]
pub struct ProductView {
    pub id: String,
    /// `active`, `under-review`, `expired` (past its validity), `suspended` or `revoked`.
    pub status: Status,
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
    /// What providers saw in the field: "seen compromised in the field", the review, the
    /// manufacturer's notice and the CRA Art. 14 clock.
    pub field: FieldView,
    pub label: LabelDocument,
    pub history: Vec<Event>,
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
    pub registry_status: Option<Status>,
}

/// A status change: suspend (owner or authority), reinstate and revoke (authority).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Suspend,
    Reinstate,
    Revoke,
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

/// Support status of an end date on `today`.
pub fn support_view(end: Option<Date>, today: Date) -> SupportView {
    let days = end
        .and_then(|e| today.until((jiff::Unit::Day, e)).ok())
        .map(|s| i64::from(s.get_days()));
    let status = match days {
        None => SupportStatus::Unknown,
        Some(d) if d < 0 => SupportStatus::Unsupported,
        Some(d) if d <= ENDING_SOON_DAYS => SupportStatus::EndingSoon,
        Some(_) => SupportStatus::Supported,
    };
    SupportView {
        end_date: end,
        status,
        days_left: days,
    }
}

/// The stored status, or `expired` for a label in force past its validity.
fn shown_status(status: Status, valid_until: Date, today: Date) -> Status {
    if status.in_force() && valid_until < today {
        Status::Expired
    } else {
        status
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
        tokens.extend(
            access
                .providers
                .iter()
                .map(|(a, t)| (hash(t), Role::Provider(a.clone()))),
        );
        tokens.extend(
            access
                .labs
                .iter()
                .map(|(a, t)| (hash(t), Role::Lab(a.clone()))),
        );
        let tiers = cat.tiers.iter().map(|t| t.def.id.to_string()).collect();
        Registry {
            store: Arc::from(store),
            provider_keys: access.provider_keys,
            field: FieldConfig::default(),
            notifier: None,
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
        let token = token.ok_or_else(|| unauthorized("missing bearer token"))?;
        let h = hash(token);
        self.tokens
            .iter()
            .find(|(t, _)| *t == h)
            .map(|(_, r)| r)
            .ok_or_else(|| unauthorized("unknown token"))
    }

    /// Refuse unless `token` belongs to an issuing body or market authority.
    pub fn require_authority(&self, token: Option<&str>) -> Result<(), ApiError> {
        match self.role(token)? {
            Role::Authority(_) => Ok(()),
            _ => Err(forbidden(
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
        .map_err(|e| rejected(format!("profile: {e}")))?;
        let mut ev: Vec<Evidence> = Vec::new();
        let mut used = vec![false; evidence.len()];
        for r in &prof.evidence {
            let Some(i) = evidence.iter().position(|f| f.name == r.file) else {
                return Err(rejected(format!(
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
                markets: serde_json::to_string(&markets).map_err(|e| internal(e.to_string()))?,
                profiles: serde_json::to_string(&profiles).map_err(|e| internal(e.to_string()))?,
            },
        ))
    }

    fn manufacturer(&self, token: Option<&str>) -> Result<&str, ApiError> {
        match self.role(token)? {
            Role::Manufacturer(who) => Ok(who),
            _ => Err(forbidden("only a manufacturer's token may submit labels")),
        }
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
        self.product_at(id, today, jiff::Timestamp::now())
    }

    /// [`Registry::product`] with the field clock read at `now`.
    pub fn product_at(
        &self,
        id: &str,
        today: Date,
        now: jiff::Timestamp,
    ) -> Result<ProductView, ApiError> {
        let (p, levels, history) = self
            .store
            .product_full(id)?
            .ok_or_else(|| not_found(format!("no product `{id}`")))?;
        let label: LabelDocument =
            serde_json::from_str(&p.document).map_err(|e| internal(e.to_string()))?;
        Ok(ProductView {
            tier: self.lower(p.tier.as_deref(), p.label_tier.as_deref()),
            support: support_view(p.support_end, today),
            status: shown_status(p.status, p.valid_until, today),
            id: p.id,
            label_tier: p.label_tier,
            assessed_tier: p.tier,
            catalog_version: p.catalog_version,
            markets: serde_json::from_str(&p.markets).unwrap_or_default(),
            profiles: serde_json::from_str(&p.profiles).unwrap_or_default(),
            levels: self.level_views(levels),
            field: self.field_view(id, &label.product.manufacturer, now)?,
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
                let (valid, reason) = match status {
                    Some(Status::Active) => (true, None),
                    Some(Status::UnderReview) => (
                        true,
                        Some("under review: seen compromised in the field; the issuing authority decides".into()),
                    ),
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
    ) -> Result<Status, ApiError> {
        let role = self.role(token)?;
        if reason.trim().is_empty() {
            return Err(invalid("reason", "a status change needs a reason"));
        }
        if reason.len() > 2000 {
            return Err(invalid("reason", "at most 2000 bytes"));
        }
        let p = self
            .store
            .product(id)?
            .ok_or_else(|| not_found(format!("no product `{id}`")))?;
        match (role, action) {
            (Role::Authority(_), _) => {}
            (Role::Provider(_) | Role::Lab(_), _) => {
                return Err(forbidden(
                    "only the product's manufacturer or an authority may change its status",
                ))
            }
            (Role::Manufacturer(m), Action::Suspend) if *m == p.manufacturer => {}
            (Role::Manufacturer(m), Action::Suspend) if *m != p.manufacturer => {
                return Err(forbidden("a manufacturer may only change its own products"))
            }
            (Role::Manufacturer(_), _) => {
                return Err(forbidden(
                    "only an issuing body or market authority may reinstate or revoke",
                ))
            }
        }
        // under review: the authority decides — suspend, or reinstate to active
        let (from_ok, to, event) = match action {
            Action::Suspend => (p.status.in_force(), Status::Suspended, EventKind::Suspended),
            Action::Reinstate => (
                matches!(p.status, Status::Suspended | Status::UnderReview),
                Status::Active,
                EventKind::Reinstated,
            ),
            Action::Revoke => (
                p.status != Status::Revoked,
                Status::Revoked,
                EventKind::Revoked,
            ),
        };
        if !from_ok {
            return Err(conflict(format!(
                "the label is {}; cannot {} it",
                p.status,
                match action {
                    Action::Suspend => "suspend",
                    Action::Reinstate => "reinstate",
                    Action::Revoke => "revoke",
                }
            )));
        }
        self.store.set_status(
            id,
            to,
            &Event {
                at: today,
                event,
                detail: format!("{} by {}", reason.trim(), role.name()),
            },
        )?;
        Ok(to)
    }
}

fn parse_evidence(
    cat: &Catalog,
    f: &EvidenceFile,
    device: Option<&str>,
) -> Result<Evidence, ApiError> {
    let text = serde_json::to_string_pretty(&f.document).map_err(|e| internal(e.to_string()))?;
    evidence::parse(cat, &text, &f.name, device).map_err(|e| rejected(format!("evidence {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_views() {
        let today = jiff::civil::date(2026, 11, 22);
        let d = |s: &str| s.parse::<Date>().ok();
        assert_eq!(support_view(None, today).status, SupportStatus::Unknown);
        assert_eq!(
            support_view(d("2026-11-21"), today).status,
            SupportStatus::Unsupported
        );
        assert_eq!(
            support_view(d("2027-01-01"), today).status,
            SupportStatus::EndingSoon
        );
        assert_eq!(
            support_view(d("2030-01-01"), today).status,
            SupportStatus::Supported
        );
        assert_eq!(support_view(d("2026-11-22"), today).days_left, Some(0));
    }
}
