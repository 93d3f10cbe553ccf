//! The assessment result: what `--format json` prints (format `iotrust-assessment/1`, documented
//! in docs/assessment-json.md). Fields are only added in a minor version, never renamed.

use iotrust_catalog::expr::FactValue;
use iotrust_catalog::model::{Assurance, Basis, Phase, SchemeKind, Status, Strength};
use iotrust_catalog::Obligation;
use jiff::civil::Date;
use serde::Serialize;

use crate::evidence::Finding;
use crate::profile::Identity;

pub const FORMAT: &str = "iotrust-assessment/1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Met,
    NotMet,
    NotApplicable,
    Unknown,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "not met",
            Verdict::NotApplicable => "n/a",
            Verdict::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub met: usize,
    pub not_met: usize,
    pub not_applicable: usize,
    pub unknown: usize,
}

impl Counts {
    pub fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Met => self.met += 1,
            Verdict::NotMet => self.not_met += 1,
            Verdict::NotApplicable => self.not_applicable += 1,
            Verdict::Unknown => self.unknown += 1,
        }
    }
}

/// A fact a verdict read: its value, strength and where it came from.
#[derive(Clone, Debug, Serialize)]
pub struct FactUse {
    pub fact: String,
    pub value: Option<FactValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strength: Option<Strength>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutcomeResult {
    pub id: String,
    pub title: String,
    pub phases: Vec<Phase>,
    pub verdict: Verdict,
    pub reason: String,
    /// For a met outcome: the weakest evidence among the facts its check read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strength: Option<Strength>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub contradiction: bool,
    pub facts: Vec<FactUse>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProvisionResult {
    pub id: String,
    pub title: String,
    pub status: Status,
    /// ETSI-style status: `M`, `R Fh`, `M C12` ...
    pub notation: String,
    /// Legal requirement, mandatory provision (not law), recommendation, good practice ...
    /// derived from the scheme's kind and the status (iotrust_catalog::obligation).
    pub obligation: Obligation,
    /// The weakest basis of its outcome mappings: official, crosswalk or inferred; null when
    /// it maps to no outcome.
    pub mapping_basis: Option<Basis>,
    pub phase: Phase,
    pub verdict: Verdict,
    pub reason: String,
    /// Why, as a machine code (`condition-unknown`, `route`, `derogated` …; eval::ProvWhy).
    pub reason_code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strength: Option<Strength>,
    /// The alternative route that satisfied it (deemed compliance, a label).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub outcomes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LevelResult {
    pub id: String,
    pub title: String,
    pub assurance: Assurance,
    pub verdict: Verdict,
    pub reason: String,
    /// Why, as a machine code (eval::LevelWhy).
    pub reason_code: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct SchemeResult {
    pub scheme: String,
    pub title: String,
    pub kind: SchemeKind,
    pub jurisdiction: String,
    pub in_scope: bool,
    pub scope_reason: String,
    /// `in-scope`, `market`, `category`, `excluded`, `requires` (eval::ScopeWhy).
    pub scope_code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applies_from: Option<Date>,
    /// `met` = conformant (every applicable mandatory provision met).
    pub conformance: Verdict,
    pub conformance_reason: String,
    /// `conformant`, `failing`, `undecided`, `no-mandatory`, `out-of-scope`.
    pub conformance_code: &'static str,
    pub counts: Counts,
    pub levels: Vec<LevelResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highest_level: Option<String>,
    pub provisions: Vec<ProvisionResult>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    Yes,
    No,
    Undetermined,
}

impl Access {
    /// In plain words: `yes`, `no`, `undetermined`.
    pub fn label(self) -> &'static str {
        match self {
            Access::Yes => "yes",
            Access::No => "no",
            Access::Undetermined => "undetermined",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct FailingProvision {
    pub provision: String,
    pub title: String,
    pub reason: String,
    /// As on the provision's verdict in `schemes[]`.
    pub obligation: Obligation,
    pub mapping_basis: Option<Basis>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MarketLaw {
    pub scheme: String,
    pub in_scope: bool,
    pub scope_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applies_from: Option<Date>,
    pub in_force: bool,
    pub conformance: Verdict,
    pub failing: Vec<FailingProvision>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MarketResult {
    pub market: String,
    pub title: String,
    pub access: Access,
    pub statement: String,
    pub laws: Vec<MarketLaw>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LabelResult {
    /// `scheme@version#level`
    pub label: String,
    /// `assessment`, `held` or `recognition`
    pub route: String,
    pub note: String,
    /// False when the scheme no longer issues labels.
    pub obtainable: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct TierMiss {
    pub outcome: String,
    pub verdict: Verdict,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct TierResult {
    pub id: String,
    pub title: String,
    pub min_strength: Strength,
    pub reached: bool,
    pub missing: Vec<TierMiss>,
    /// The labels the tier or profile requires, and whether the product holds them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<TierLabelResult>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TierLabelResult {
    /// `scheme@version#level`
    pub label: String,
    /// From when the rule applies.
    pub from: Option<Date>,
    /// Does the rule apply on the evaluation date?
    pub in_force: bool,
    /// Does the profile declare the label as held (and valid)?
    pub held: bool,
    /// Where the rule comes from.
    pub source: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct GapItem {
    pub outcome: String,
    pub title: String,
    pub verdict: Verdict,
    pub why: String,
    /// Facts that would have to be supplied (for unknown outcomes).
    pub needs: Vec<String>,
    /// Applicable mandatory provisions that rest on this outcome.
    pub provisions: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Gap {
    /// `tier essential`, `market UK`
    pub target: String,
    pub summary: String,
    pub outcomes: Vec<GapItem>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PhaseItem {
    pub outcome: String,
    pub verdict: Verdict,
}

#[derive(Clone, Debug, Serialize)]
pub struct PhaseView {
    pub phase: Phase,
    pub counts: Counts,
    pub outcomes: Vec<PhaseItem>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SupportStatus {
    Supported,
    EndingSoon,
    Unsupported,
    Unknown,
}

impl SupportStatus {
    /// In plain words: `supported`, `ending soon`, `unsupported`, `unknown`.
    pub fn label(self) -> &'static str {
        match self {
            SupportStatus::Supported => "supported",
            SupportStatus::EndingSoon => "ending soon",
            SupportStatus::Unsupported => "unsupported",
            SupportStatus::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct EndRequirement {
    pub scheme: String,
    pub provision: String,
    pub title: String,
    pub verdict: Verdict,
    /// As on the provision's verdict in `schemes[]`.
    pub obligation: Obligation,
    pub mapping_basis: Option<Basis>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SupportView {
    pub end_date: Option<Date>,
    pub placed_on_market: Option<Date>,
    pub days_left: Option<i64>,
    pub status: SupportStatus,
    pub statement: String,
    pub years_of_support: Option<i64>,
    /// EU CRA Art. 13: at least five years (unless the product is expected in use for less).
    pub cra_minimum_met: Option<bool>,
    /// What the applicable schemes ask at end of support (sunsetting provisions).
    pub at_end_of_support: Vec<EndRequirement>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Contradiction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fact: Option<String>,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct EvidenceSummary {
    pub file: String,
    pub kind: String,
    pub tool: String,
    pub strength: Strength,
    pub facts: usize,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProfileSummary {
    pub source: String,
    pub identity: Identity,
    pub category: String,
    pub markets: Vec<String>,
    pub labels_held: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Highest iotrust tier reached (none when even the baseline is missed).
    pub tier: Option<String>,
    pub outcomes: Counts,
}

#[derive(Clone, Debug, Serialize)]
pub struct Assessment {
    pub format: String,
    pub tool: String,
    pub catalog_version: String,
    pub evaluated_on: Date,
    pub profile: ProfileSummary,
    pub summary: Summary,
    pub markets: Vec<MarketResult>,
    pub tiers: Vec<TierResult>,
    pub profiles: Vec<TierResult>,
    pub labels: Vec<LabelResult>,
    pub gaps: Vec<Gap>,
    pub support: SupportView,
    pub contradictions: Vec<Contradiction>,
    pub lifecycle: Vec<PhaseView>,
    pub outcomes: Vec<OutcomeResult>,
    pub schemes: Vec<SchemeResult>,
    /// The product's class and conformity routes under each scheme that has product classes
    /// (the EU CRA): `crate::cra_route`.
    pub conformity: Vec<crate::cra_route::ClassResult>,
    pub evidence: Vec<EvidenceSummary>,
}

impl Assessment {
    /// Has the product reached tier `id` (or a higher one)?
    pub fn reaches(&self, id: &str) -> Option<bool> {
        let pos = self.tiers.iter().position(|t| t.id == id)?;
        Some(self.tiers[..=pos].iter().all(|t| t.reached))
    }

    pub fn market(&self, m: &str) -> Option<&MarketResult> {
        self.markets.iter().find(|x| x.market == m)
    }
}
