//! Storage: one trait, two backends (SQLite embedded, PostgreSQL by URL).
//!
//! Every statement is prepared with parameters; no SQL is built from request data. Every
//! write that touches more than one row runs in one transaction, and a write is acknowledged
//! only after it is durable (SQLite: WAL with `synchronous=FULL`; PostgreSQL: a committed
//! transaction with the server's default `synchronous_commit`).

use jiff::civil::Date;
use jiff::Timestamp;

use crate::report::ReportState;
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

/// A stored instant (RFC 3339) read back.
pub(crate) fn parse_time(s: &str) -> Result<Timestamp> {
    s.parse()
        .map_err(|e| StoreError(format!("stored time `{s}`: {e}")))
}

pub(crate) fn parse_opt_time(s: Option<String>) -> Result<Option<Timestamp>> {
    s.as_deref().map(parse_time).transpose()
}

/// A field report as stored (the payload's fields, the product it was matched to, the
/// envelope as received).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRow {
    pub report_id: String,
    pub provider: String,
    pub product: String,
    pub detectors: Vec<String>,
    pub devices: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub state: ReportState,
    /// Microseconds since the epoch of the last time it was received.
    pub received_us: i64,
    pub envelope: String,
}

/// What storing a field report did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldPut {
    /// The report id is another provider's: nothing stored.
    NotYours,
    Stored {
        /// The report id was known (an update).
        existed: bool,
        /// This was the product's first report: its notice (and clock) opened now.
        notice_opened: bool,
    },
}

/// A product's field notice: the manufacturer's webhook delivery and the CRA Art. 14 clock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notice {
    pub opened: Timestamp,
    /// When the manufacturer's webhook took the notice.
    pub notified: Option<Timestamp>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub acknowledged: Option<Timestamp>,
    pub early_warning: Option<Timestamp>,
    pub notification: Option<Timestamp>,
    pub corrective: Option<Timestamp>,
    pub final_report: Option<Timestamp>,
}

/// Evidence a lab attached to a product.
#[derive(Clone, Debug, PartialEq)]
pub struct LabEvidence {
    pub lab: String,
    pub name: String,
    /// The evidence document (JSON).
    pub document: String,
    pub at: Date,
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
    /// The MUD URL the profile declares (`product.mud_url`).
    pub mud_url: Option<String>,
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

    // ---- field reports (`registry/field.rs`)

    /// The newest product declaring this MUD URL.
    fn product_by_mud(&self, url: &str) -> Result<Option<String>>;
    /// Insert or update a field report (by report id, only the same provider's); on insert
    /// append `event` to the product's history and open the product's notice if it has none
    /// — one transaction.
    fn put_field_report(&self, r: &FieldRow, event: &Event, opened: Timestamp) -> Result<FieldPut>;
    /// The product's field reports, oldest first.
    fn field_reports(&self, product: &str) -> Result<Vec<FieldRow>>;
    /// Per product, in the order asked: open reports and distinct providers with one.
    fn field_open(&self, products: &[String]) -> Result<Vec<(u64, u64)>>;
    /// Change the status only if it is `from` now, and append `event` — one transaction.
    fn set_status_from(&self, id: &str, from: Status, to: Status, event: &Event) -> Result<bool>;
    fn notice(&self, product: &str) -> Result<Option<Notice>>;
    /// Products whose notice has not reached the manufacturer yet.
    fn pending_notices(&self) -> Result<Vec<String>>;
    /// Record one webhook attempt: delivered at `delivered` (the first delivery sets
    /// `notified`), or failed with `error`; append `event` if given — one transaction.
    fn notice_attempt(
        &self,
        product: &str,
        delivered: Option<Timestamp>,
        error: Option<&str>,
        event: Option<&Event>,
    ) -> Result<()>;
    /// Store the manufacturer's acknowledgement and report times, and their events.
    fn acknowledge(&self, product: &str, n: &Notice, events: &[Event]) -> Result<()>;

    // ---- lab evidence (`registry/lab.rs`)

    fn lab_evidence(&self, product: &str) -> Result<Vec<LabEvidence>>;
    /// Attach evidence and record the re-assessment it caused — one transaction.
    fn add_lab_evidence(&self, product: &str, e: &LabEvidence, r: &Reassessment<'_>) -> Result<()>;
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
CREATE TABLE IF NOT EXISTS field_reports (
    report_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    product TEXT NOT NULL REFERENCES products(id),
    detectors TEXT NOT NULL,
    devices {BIGINT} NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    state TEXT NOT NULL,
    received_us {BIGINT} NOT NULL,
    envelope TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS field_reports_product ON field_reports(product, state);
CREATE TABLE IF NOT EXISTS notices (
    product TEXT PRIMARY KEY REFERENCES products(id),
    opened TEXT NOT NULL,
    notified TEXT,
    attempts {BIGINT} NOT NULL DEFAULT 0,
    last_error TEXT,
    acknowledged TEXT,
    early_warning TEXT,
    notification TEXT,
    corrective TEXT,
    final_report TEXT);
CREATE TABLE IF NOT EXISTS lab_evidence (
    seq {SERIAL} PRIMARY KEY,
    product TEXT NOT NULL REFERENCES products(id),
    lab TEXT NOT NULL,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS lab_evidence_product ON lab_evidence(product, seq);
";

/// Columns added after the first release, for databases created before them: `(table,
/// column, type)`, then indexes over them. Each backend adds a missing column on open.
pub(crate) const ADDED_COLUMNS: [(&str, &str, &str); 1] = [("products", "mud_url", "TEXT")];
pub(crate) const ADDED_INDEXES: &str =
    "CREATE INDEX IF NOT EXISTS products_mud ON products(mud_url, updated_us);";

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
