//! Storage: one trait, two backends (SQLite embedded, PostgreSQL by URL).
//!
//! Every statement is prepared with parameters; no SQL is built from request data. Every
//! write that touches more than one row runs in one transaction, and a write is acknowledged
//! only after it is durable (SQLite: WAL with `synchronous=FULL`; PostgreSQL: a committed
//! transaction with the server's default `synchronous_commit`).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A storage failure (the client sees a 500 with this message).
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        StoreError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A closed set of names, stored and sent as its kebab-case text: `as_str`, `Display` and
/// `FromStr` agree with serde.
macro_rules! names {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $v,)* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<$name> {
                match s {
                    $($s => Ok($name::$v),)*
                    other => Err(StoreError(format!(
                        "`{other}` is not a {}", stringify!($name)
                    ))),
                }
            }
        }
    };
}

names! {
    /// A product's status. `Expired` is never stored: it is shown for an active label past
    /// its validity.
    Status {
        Active = "active",
        /// Seen compromised in the field past the review threshold: the issuing authority
        /// decides (suspend, or reinstate to active). The label stays valid meanwhile.
        UnderReview = "under-review",
        Suspended = "suspended",
        Revoked = "revoked",
        Expired = "expired",
    }
}

impl Status {
    /// Whether the label may be relied on (active, or under review and not yet decided).
    pub fn in_force(self) -> bool {
        matches!(self, Status::Active | Status::UnderReview)
    }
}

names! {
    /// What happened to a product (one history entry).
    EventKind {
        Registered = "registered",
        Updated = "updated",
        Suspended = "suspended",
        Reinstated = "reinstated",
        Revoked = "revoked",
        Reassessed = "reassessed",
        ReassessmentFailed = "reassessment-failed",
        TierChanged = "tier-changed",
        LevelChanged = "level-changed",
        RestateFact = "restate-fact",
        /// A provider's first report of the product seen compromised.
        FieldReport = "field-report",
        /// The review threshold was passed.
        UnderReview = "under-review",
        /// The manufacturer's webhook took the field notice (starts the CRA Art. 14 clock).
        ManufacturerNotified = "manufacturer-notified",
        /// The manufacturer acknowledged the field notice.
        Acknowledged = "acknowledged",
        /// The manufacturer recorded a CRA Art. 14 report or a corrective measure.
        CraReport = "cra-report",
        /// A lab attached evidence.
        LabEvidence = "lab-evidence",
    }
}

/// One entry of a product's history.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Event {
    /// Day of the event.
    pub at: Date,
    pub event: EventKind,
    pub detail: String,
}

/// A stored day (`YYYY-MM-DD`) read back.
pub(crate) fn parse_day(s: &str) -> Result<Date> {
    s.parse()
        .map_err(|e| StoreError(format!("stored day `{s}`: {e}")))
}

/// A scheme's result for a product, from the registry's own assessment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SchemeLevel {
    /// `id@version`
    pub scheme: String,
    /// Highest level reached, if the scheme has levels and one is reached.
    pub level: Option<String>,
    /// `met`, `not-met`, `unknown`, `not-applicable`.
    pub conformance: String,
}

/// Everything a submission writes about a product.
#[derive(Clone, Debug)]
pub struct Record {
    pub id: String,
    pub manufacturer: String,
    pub model: String,
    pub name: Option<String>,
    pub category: String,
    /// The tier the registry's assessment reaches.
    pub tier: Option<String>,
    /// The tier the signed label states.
    pub label_tier: Option<String>,
    pub valid_until: Date,
    pub support_end: Option<Date>,
    pub catalog_version: String,
    /// The label document (JSON).
    pub document: String,
    /// The signed DSSE envelope (JSON).
    pub envelope: String,
    pub profile: String,
    pub profile_format: String,
    /// The evidence documents (a JSON array of strings).
    pub evidence: String,
    pub levels: Vec<SchemeLevel>,
    /// Market access per declared market (JSON object: market → `yes`/`no`/`undetermined`).
    pub markets: String,
    /// Procurement profiles reached (JSON array of ids).
    pub profiles: String,
    /// Microseconds since the epoch: orders the labels of one model, newest last.
    pub updated_us: i64,
}

/// A stored product, as read back.
#[derive(Clone, Debug)]
pub struct Stored {
    pub id: String,
    pub manufacturer: String,
    pub model: String,
    pub status: Status,
    pub tier: Option<String>,
    pub label_tier: Option<String>,
    pub valid_until: Date,
    pub support_end: Option<Date>,
    pub catalog_version: String,
    pub document: String,
    pub envelope: String,
    pub profile: String,
    pub profile_format: String,
    pub evidence: String,
    pub markets: String,
    pub profiles: String,
}

/// One line of a listing (search, sunsetting).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub id: String,
    pub manufacturer: String,
    pub model: String,
    pub name: Option<String>,
    pub category: String,
    pub status: Status,
    pub tier: Option<String>,
    pub label_tier: Option<String>,
    pub valid_until: Date,
    pub support_end: Option<Date>,
}

/// What a bulk check needs of the newest label of one model.
#[derive(Clone, Debug)]
pub struct CheckRow {
    pub id: String,
    pub tier: Option<String>,
    pub label_tier: Option<String>,
    pub valid_until: Date,
    pub status: Status,
    pub markets: String,
    pub profiles: String,
}

/// A re-assessment's result for one product.
#[derive(Clone, Debug)]
pub struct Reassessment<'a> {
    pub version: &'a str,
    pub tier: Option<&'a str>,
    pub levels: &'a [SchemeLevel],
    pub markets: &'a str,
    pub profiles: &'a str,
    pub events: &'a [Event],
}

/// How many active products reach a level of a scheme (`level: None`: in scope, no level).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LevelCount {
    pub scheme: String,
    pub level: Option<String>,
    pub conformance: String,
    pub products: u64,
}

/// A product with its levels and its history.
pub type ProductFull = (Stored, Vec<SchemeLevel>, Vec<Event>);

/// A storage backend.
pub trait Store: Send + Sync {
    /// `sqlite` or `postgresql`.
    fn backend(&self) -> &'static str;
    /// Insert or replace products with their levels, and append each one's event to its
    /// history — all in one transaction. Returns, per product, whether it existed before.
    fn put(&self, items: &[(Record, Event)]) -> Result<Vec<bool>>;
    fn product(&self, id: &str) -> Result<Option<Stored>>;
    /// A product with its levels and history (one round trip where the backend allows).
    fn product_full(&self, id: &str) -> Result<Option<ProductFull>> {
        let Some(p) = self.product(id)? else {
            return Ok(None);
        };
        Ok(Some((p, self.levels(id)?, self.history(id)?)))
    }
    fn levels(&self, id: &str) -> Result<Vec<SchemeLevel>>;
    fn history(&self, id: &str) -> Result<Vec<Event>>;
    /// Set a product's status and append `event` — one transaction. False if there is no
    /// such product.
    fn set_status(&self, id: &str, status: Status, event: &Event) -> Result<bool>;
    /// The newest label of each `(manufacturer, model)`, in the order asked.
    fn latest(&self, items: &[(String, String)]) -> Result<Vec<Option<CheckRow>>>;
    /// Products whose manufacturer, model, name or category contains `q` (case-insensitive),
    /// and how many match in all.
    fn search(&self, q: &str, limit: u32, offset: u32) -> Result<(u64, Vec<Summary>)>;
    /// Products in force whose support ends in `[from, to]`, soonest first.
    fn ending(&self, from: Date, to: Date, limit: u32) -> Result<Vec<Summary>>;
    /// Per scheme and level, how many active products reach it.
    fn level_counts(&self) -> Result<Vec<LevelCount>>;
    /// Per tier (`None`: below every tier), how many active products reach it.
    fn tier_counts(&self) -> Result<Vec<(Option<String>, u64)>>;
    /// Ids of products last assessed with another catalog version than `version`.
    fn stale(&self, version: &str) -> Result<Vec<String>>;
    /// Record a re-assessment: new tier, levels and catalog version, and its events — one
    /// transaction.
    fn reassessed(&self, id: &str, r: &Reassessment<'_>) -> Result<()>;
    /// Number of stored products.
    fn count(&self) -> Result<u64>;
}

/// The tables, for either backend: `big` is the 64-bit integer type, `serial` an
/// auto-incrementing key.
pub(crate) fn schema(big: &str, serial: &str) -> String {
    SCHEMA.replace("{BIGINT}", big).replace("{SERIAL}", serial)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    manufacturer TEXT NOT NULL,
    model TEXT NOT NULL,
    name TEXT,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    tier TEXT,
    label_tier TEXT,
    valid_until TEXT NOT NULL,
    support_end TEXT,
    catalog_version TEXT NOT NULL,
    document TEXT NOT NULL,
    envelope TEXT NOT NULL,
    profile TEXT NOT NULL,
    profile_format TEXT NOT NULL,
    evidence TEXT NOT NULL,
    markets TEXT NOT NULL,
    profiles TEXT NOT NULL,
    search TEXT NOT NULL,
    updated_us {BIGINT} NOT NULL);
CREATE INDEX IF NOT EXISTS products_model ON products(manufacturer, model, updated_us);
CREATE INDEX IF NOT EXISTS products_support ON products(support_end);
CREATE INDEX IF NOT EXISTS products_catalog ON products(catalog_version);
CREATE TABLE IF NOT EXISTS levels (
    product TEXT NOT NULL REFERENCES products(id),
    scheme TEXT NOT NULL,
    level TEXT,
    conformance TEXT NOT NULL,
    PRIMARY KEY (product, scheme));
CREATE TABLE IF NOT EXISTS history (
    seq {SERIAL} PRIMARY KEY,
    product TEXT NOT NULL REFERENCES products(id),
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_product ON history(product, seq);
";

/// Escape `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_pattern(q: &str) -> String {
    let mut s = String::with_capacity(q.len() + 2);
    s.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// The lower-cased text a search matches against.
pub(crate) fn search_text(rec: &Record) -> String {
    format!(
        "{} {} {} {}",
        rec.manufacturer,
        rec.model,
        rec.name.as_deref().unwrap_or(""),
        rec.category
    )
    .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("Cam"), "%cam%");
        assert_eq!(like_pattern("100%_\\"), "%100\\%\\_\\\\%");
    }
}
