//! The catalog's data files as Rust types. Field names are the YAML keys; unknown keys are
//! rejected. Values that errors must point at are [`Sp`] (they remember their line).

use std::fmt;
use std::ops::Deref;

use marked_yaml::Spanned;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that remembers where it stood in its YAML file. Serializes as the bare value.
#[derive(Clone, Debug)]
pub struct Sp<T>(Spanned<T>);

impl<T> Sp<T> {
    /// A value with no position (built in code rather than read from a file).
    pub fn new(value: T) -> Self {
        Sp(Spanned::new(marked_yaml::Span::new_blank(), value))
    }
    /// 1-based line in its file, or 0 when unknown.
    pub fn line(&self) -> usize {
        self.0.span().start().map(|m| m.line()).unwrap_or(0)
    }
}

impl<T> Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: PartialEq> PartialEq for Sp<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: fmt::Display> fmt::Display for Sp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Spanned::<T>::deserialize(d).map(Sp)
    }
}

impl<T: Serialize> Serialize for Sp<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(g)
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
}

pub type Str = Sp<String>;

/// `Display` as the value's serde name (`lab-tested`, `design` ...), so the two never differ.
macro_rules! display_as_serde_name {
    ($($t:ty),* $(,)?) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match serde_json::to_value(self) {
                    Ok(serde_json::Value::String(s)) => f.write_str(&s),
                    _ => Err(fmt::Error),
                }
            }
        }
    )*};
}

display_as_serde_name!(
    Confidence,
    Completeness,
    Strength,
    Assurance,
    FactKind,
    Phase,
    RelationKind,
    SchemeStatus,
    Status
);

/// Confidence in a fact: H read in a primary text, M secondary source, L memory or inference.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Confidence {
    L,
    M,
    H,
}

/// Where a fact or mapping comes from.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub confidence: Confidence,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Named {
    pub id: Str,
    pub title: String,
}

// ----------------------------------------------------------------------------- catalog.yaml

/// A jurisdiction a product may be placed in. `within` names the larger jurisdiction whose
/// laws also apply there (DE and FI are within EU, US-CA within US), so a product sold in
/// Germany meets EU law, and a product sold in the US (federal) does not meet California's.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionDef {
    pub id: Str,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Str>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    pub version: Str,
    pub date: Str,
    pub title: String,
    pub jurisdictions: Vec<JurisdictionDef>,
    pub phases: Vec<Named>,
    pub assurance: Vec<AssuranceDef>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssuranceDef {
    pub id: Sp<Assurance>,
    pub title: String,
    pub strength: Strength,
}

/// How strongly a fact is established, weakest first.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Strength {
    #[default]
    Declared,
    Documented,
    Tested,
    LabTested,
}

/// The assurance a level demands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Assurance {
    SelfDeclared,
    LabReviewed,
    LabTested,
    PenetrationTested,
}

// ----------------------------------------------------------------------------- categories / facts

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoriesFile {
    pub categories: Vec<CategoryDef>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryDef {
    pub id: Str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Str>,
    pub title: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactsFile {
    pub facts: Vec<FactDef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FactKind {
    Bool,
    Int,
    String,
    Date,
    Enum,
    List,
    IntList,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactDef {
    pub id: Str,
    #[serde(rename = "type")]
    pub kind: FactKind,
    /// Allowed values of an enum fact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Take the allowed values from a vocabulary: `categories` or `jurisdictions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_from: Option<Str>,
    pub title: String,
    /// The question a maker answers for this fact, in plain words (`iotrust profile new`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// Where the fact comes from when a profile does not state it directly: `interfaces`
    /// means it is derived from the profile's `[[interface]]` table, `communications` from its
    /// `[[communication]]` table (version 2 profiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived: Option<Derived>,
}

/// The source a derived fact is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Derived {
    Interfaces,
    Communications,
}

// ----------------------------------------------------------------------------- outcomes / tiers

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Design,
    Development,
    Sale,
    Setup,
    Maintenance,
    Sunsetting,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Design,
        Phase::Development,
        Phase::Sale,
        Phase::Setup,
        Phase::Maintenance,
        Phase::Sunsetting,
    ];
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomesFile {
    pub outcomes: Vec<OutcomeDef>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeDef {
    pub id: Str,
    pub title: String,
    pub phases: Vec<Phase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Expression; when false the outcome is not applicable. Omitted: always applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_when: Option<Str>,
    /// Expression; true: met, false: not met, unknown: unknown.
    pub check: Str,
    /// Expression; true: tested evidence contradicts a declaration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contradiction: Option<Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contradiction_message: Option<String>,
    /// Why iotrust keeps this outcome although no scheme states it (then no provision maps to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TiersFile {
    pub tiers: Vec<TierDef>,
    pub profiles: Vec<TierDef>,
}

/// One of iotrust's global tiers, or a profile such as public procurement.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierDef {
    pub id: Str,
    pub title: String,
    pub summary: String,
    /// Lower tiers this one includes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<Str>,
    /// Outcomes that must be met (or not applicable).
    #[serde(default)]
    pub outcomes: Vec<Str>,
    /// The weakest evidence accepted for the facts behind these outcomes.
    pub min_strength: Strength,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub basis: Vec<Source>,
    /// Labels a product must hold for the tier or profile, each from a date (a buyer's rule).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<TierLabel>,
}

/// A label a tier or profile requires: the product holds `level` (declared in the profile),
/// from `from` on.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierLabel {
    /// `scheme@version#level`
    pub level: Str,
    /// From when the rule applies (YYYY-MM-DD); omitted: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Str>,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

// ----------------------------------------------------------------------------- recognition / crosswalks

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecognitionFile {
    pub recognitions: Vec<RecognitionDef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RecognitionKind {
    Equivalence,
    SimplifiedProcedure,
    DeemedCompliance,
}

impl fmt::Display for RecognitionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecognitionKind::Equivalence => "equivalence",
            RecognitionKind::SimplifiedProcedure => "simplified procedure",
            RecognitionKind::DeemedCompliance => "deemed compliance",
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecognitionDef {
    pub id: Str,
    /// `scheme@version#level` held.
    pub from: Str,
    /// `scheme@version#level` obtained.
    pub to: Str,
    pub kind: RecognitionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends: Option<Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<RecognitionScope>,
    /// When the arrangement covers only some provisions of the `to` level: their ids (in the
    /// `to` scheme). Holding `from` then satisfies these provisions and does not confer the level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provisions: Vec<Str>,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecognitionScope {
    pub categories: Vec<Str>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrosswalkFile {
    pub name: String,
    pub source: Source,
    pub relations: Vec<RelationDef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RelationKind {
    Equivalent,
    Successor,
    PartOf,
    Covers,
    Related,
    DeemedCompliance,
}

/// How a mapping or relation is established, strongest first in the order official > crosswalk > inferred.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    Inferred,
    Crosswalk,
    Official,
}

impl fmt::Display for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Basis::Inferred => "inferred",
            Basis::Crosswalk => "published crosswalk",
            Basis::Official => "official",
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationDef {
    pub from: Str,
    pub to: Str,
    pub relation: RelationKind,
    pub basis: Sp<Basis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crosswalk: Option<String>,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

// ----------------------------------------------------------------------------- schemes

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SchemeKind {
    MandatoryLaw,
    VoluntaryLabel,
    Standard,
    IndustryBaseline,
    CodeOfPractice,
    ProcurementProfile,
}

impl fmt::Display for SchemeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SchemeKind::MandatoryLaw => "mandatory law",
            SchemeKind::VoluntaryLabel => "voluntary label",
            SchemeKind::Standard => "standard",
            SchemeKind::IndustryBaseline => "industry baseline",
            SchemeKind::CodeOfPractice => "code of practice",
            SchemeKind::ProcurementProfile => "procurement profile",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SchemeStatus {
    Active,
    Closed,
    Superseded,
    Draft,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_force: Option<Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_from: Option<Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends: Option<Str>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default)]
    pub includes: Vec<Str>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<Exclusion>,
    /// Expression that must hold for the scheme to apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    pub categories: Vec<Str>,
    /// A derogation from some provisions only: the scheme still applies to these categories,
    /// the provisions listed here do not. Omitted: the whole scheme is excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provisions: Vec<Str>,
    /// Expression: the exclusion is lifted when it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unless: Option<Str>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionDef {
    pub id: Str,
    pub meaning: String,
    /// Expression: the condition holds when true.
    pub when: Str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Completeness {
    Complete,
    Partial,
    Unknown,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelDef {
    pub id: Str,
    pub title: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provisions: Vec<Str>,
    #[serde(default)]
    pub all_mandatory: bool,
    #[serde(default)]
    pub all_provisions: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<Str>,
    pub assurance: Assurance,
    pub completeness: Completeness,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Mandatory,
    Recommended,
    Informative,
    Void,
    Unknown,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingDef {
    pub outcome: Str,
    pub basis: Sp<Basis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crosswalk: Option<String>,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteDef {
    pub id: Str,
    pub title: String,
    /// Provisions (`scheme@version#id`) that together satisfy the provision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all_of: Vec<Str>,
    /// A level (`scheme@version#level`) whose holders satisfy the provision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Str>,
    /// From when the route counts (YYYY-MM-DD); omitted: as long as the provision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<Str>,
    pub source: Source,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionDef {
    pub id: Str,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clause: Option<String>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Str>,
    pub phase: Phase,
    #[serde(default)]
    pub outcomes: Vec<MappingDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmapped_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<Str>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced_by: Vec<Str>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteDef>,
    /// When this provision starts to apply, if earlier or later than the scheme's `applies_from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_from: Option<Str>,
    #[serde(default = "yes")]
    pub known: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unknown {
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// What an authority does for a scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorityRole {
    /// Enforces a law (notices, penalties, recalls).
    Enforcer,
    /// Market surveillance of a law or label.
    MarketSurveillance,
    /// Issues or runs the label.
    Administrator,
    /// Coordinates the label's administrators.
    LeadAdministrator,
    /// Tests or certifies products for the scheme.
    TestLab,
}

/// A body with a role in a scheme.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    pub role: AuthorityRole,
    pub name: String,
    /// How many bodies hold the role, when `name` stands for a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Which provisions of the law give the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemeDef {
    pub id: Str,
    pub version: Str,
    pub title: String,
    pub kind: SchemeKind,
    pub jurisdiction: Str,
    pub publisher: String,
    pub status: SchemeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_note: Option<String>,
    #[serde(default)]
    pub dates: Dates,
    pub source: Source,
    /// Who enforces the law or administers the label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<Authority>,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<LevelDef>,
    pub provisions: Vec<ProvisionDef>,
    /// Product classes the law sorts products into, each with the conformity-assessment
    /// routes it allows (the CRA's default, important class I/II and critical products).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_classes: Option<ProductClasses>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknowns: Vec<Unknown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

// ----------------------------------------------------------------------------- product classes

/// How a law sorts products into classes (the CRA's Annex III and IV) and which conformity
/// routes each class allows. A product's class is the strictest class one of whose categories
/// it meets; where a stricter class cannot be ruled out for want of facts, the class is unknown.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductClasses {
    /// The class of a product that no category catches (it has no categories itself).
    pub default: Str,
    /// Least strict first: a later class wins over an earlier one.
    pub classes: Vec<ProductClassDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductClassDef {
    pub id: Str,
    pub title: String,
    /// The entries of the law that put a product in this class (empty for the default class).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<ClassCategoryDef>,
    /// The conformity-assessment routes the class allows.
    pub routes: Vec<ConformityRouteDef>,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One entry of a class (Annex III class I item 17 ...), decided by an expression over facts.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassCategoryDef {
    pub id: Str,
    /// Our paraphrase of the entry.
    pub title: String,
    /// Expression: the product has the core functionality of this entry.
    pub when: Str,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether a conformity route can be used today.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RouteAvailability {
    /// The law's procedure exists and can be followed.
    Available,
    /// It needs something that does not exist yet (a delegated act, a cited standard).
    Pending,
    /// Whether what it needs exists was not established.
    Unknown,
}

display_as_serde_name!(RouteAvailability);

/// A conformity-assessment route (module A, B+C, H, a European certificate ...).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConformityRouteDef {
    pub id: Str,
    pub title: String,
    /// When the law allows the route, in words (our paraphrase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub availability: RouteAvailability,
    /// Why the route is pending or its availability unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_note: Option<String>,
    /// Expression: the profile's facts show the route done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub satisfied_when: Option<Str>,
    /// Holding this level (`scheme@version#level`, e.g. a certificate) shows the route done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Str>,
    pub source: Source,
}

// ----------------------------------------------------------------------------- documents/*.yaml

/// The documents iotrust writes (`iotrust document KIND`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    /// UK PSTI statement of compliance.
    PstiStatement,
    /// Australian statement of compliance (Smart Devices Rules).
    AuStatement,
    /// EU declaration of conformity (RED Annex VI, CRA Annex V from its date).
    EuDeclaration,
    /// The CRA's simplified EU declaration of conformity (Annex VI), from the CRA's date.
    EuDeclarationSimplified,
    /// EU CRA technical documentation (Annex VII).
    CraTechnicalFile,
    /// EU CRA information and instructions to the user (Annex II).
    UserInformation,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::PstiStatement,
        DocumentKind::AuStatement,
        DocumentKind::EuDeclaration,
        DocumentKind::EuDeclarationSimplified,
        DocumentKind::CraTechnicalFile,
        DocumentKind::UserInformation,
    ];
}

/// What signing a document asserts, which decides when it may be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Declares {
    /// The document declares that the product meets the law: it is written only when the
    /// assessment finds the law's conformance met.
    Conformance,
    /// The document informs (user information, technical file): written with its gaps named.
    Information,
}

/// Where an item's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ValueSource {
    /// The product profile (`field`: identity, manufacturer, type, category, markets, url).
    Profile,
    /// The assessment (`field`: conformance, route, support-period, standards, conformity,
    /// evidence, tests).
    Assessment,
    /// The verdicts of the outcomes in `outcomes`, from the assessment.
    Outcomes,
    /// The info file (`field`: one of the info file's keys, `docs/documents.md`).
    Info,
    /// The catalog (`field`: law).
    Catalog,
    /// Fixed wording that iotrust writes (`text`).
    Text,
    /// Another document or file of the technical file (`field`: eu-declaration,
    /// user-information, label).
    Document,
}

display_as_serde_name!(DocumentKind, Declares, ValueSource);

/// Whether the law asks for an item always or only where it applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    #[default]
    Always,
    /// Only where it applies (a notified body, an authorised representative): a missing value
    /// is reported as "not applicable" rather than as a gap.
    WhereApplicable,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueDef {
    pub from: Sp<ValueSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Str>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One item a law asks a document to hold.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentItemDef {
    pub id: Str,
    pub title: String,
    /// The provision that asks for it (`Schedule 4 para 1`, `Annex V point 2`).
    pub provision: String,
    /// What the provision asks, paraphrased.
    pub asks: String,
    #[serde(default)]
    pub need: Need,
    pub value: ValueDef,
    pub source: Source,
}

/// A document a law requires, and the items it must hold (`catalog/documents/<id>.yaml`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentDef {
    pub id: Str,
    pub kind: Sp<DocumentKind>,
    pub title: String,
    /// The law the document is made under (`scheme@version`).
    pub scheme: Str,
    pub declares: Declares,
    /// First day this form is used (for a kind with forms by date, as the EU declaration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_from: Option<Str>,
    /// Last day this form is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_until: Option<Str>,
    /// How long the document must be kept, paraphrased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
    pub source: Source,
    /// Outcomes this document itself provides (the statement of compliance): a provision of
    /// the law mapped only to these does not stop the document being written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub satisfies: Vec<Str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub items: Vec<DocumentItemDef>,
}

/// The `field`s an item may read, per value source (`docs/documents.md` explains each).
pub fn value_fields(from: ValueSource) -> &'static [&'static str] {
    match from {
        ValueSource::Profile => &[
            "identity",
            "manufacturer",
            "type",
            "category",
            "markets",
            "url",
        ],
        ValueSource::Assessment => &[
            "conformance",
            "route",
            "support_period",
            "standards",
            "conformity",
            "evidence",
            "tests",
        ],
        ValueSource::Info => INFO_FIELDS,
        ValueSource::Catalog => &["law"],
        ValueSource::Document => &[
            "eu_declaration",
            "user_information",
            "label",
            "signature",
            "date",
        ],
        ValueSource::Outcomes | ValueSource::Text => &[],
    }
}

/// The keys of the info file's `[document]` table that catalog items may name.
pub const INFO_FIELDS: &[&str] = &[
    "manufacturer_address",
    "other_manufacturers",
    "authorised_representative",
    "batch",
    "signatory_name",
    "signatory_function",
    "place",
    "email",
    "website",
    "vulnerability_contact",
    "intended_purpose",
    "foreseeable_risks",
    "sbom_location",
    "declaration_url",
    "support_type",
    "secure_use",
    "changes_affect_security",
    "update_instructions",
    "decommissioning",
    "auto_update_opt_out",
    "integration",
    "design",
    "production",
    "photographs",
    "notified_body",
    "accessories",
    "risk_assessment",
    "support_period_reasoning",
];
