//! The label document (`iotrust-label/1`) and how it is made from an assessment.

use std::collections::BTreeMap;

use iotrust_assess::result::{Access, SupportStatus, Verdict};
use iotrust_assess::Assessment;
use iotrust_catalog::model::SchemeKind;
use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "iotrust-label/1";

/// What the issuer supplies that an assessment does not hold: the registry texts.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelInfo {
    pub issuer: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<Party>,
    /// How to change the default password, or a statement that it cannot be changed.
    pub default_password: String,
    /// Where secure-configuration guidance is (URL or text).
    pub secure_configuration: String,
    /// How to get security updates when they are not automatic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisories: Option<String>,
    /// Whether the manufacturer keeps a hardware bill of materials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hbom: Option<bool>,
    /// Registry page pattern; `{id}` becomes the label id (the QR target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// What `iotrust document` needs beyond the label (signatory, addresses, batch ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentInfo>,
}

/// The info file as `iotrust document` reads it: the same file as [`LabelInfo`], every label
/// key optional (a maker who writes documents and no label leaves them out).
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Party>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<Party>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_configuration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisories: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hbom: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    #[serde(default)]
    pub document: DocumentInfo,
}

/// The `[document]` table of the info file: what laws ask documents to hold that neither the
/// profile nor the assessment knows. Keys are the info fields catalog items name
/// (`iotrust_catalog::model::INFO_FIELDS`); a value is text, or a path (relative to the info
/// file) of a file that the technical file then carries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_manufacturers: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_representative: Option<String>,
    /// Product batch, or the serial numbers covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory_function: Option<String>,
    /// Place of issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerability_contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreseeable_risks: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declaration_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_use: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_affect_security: Option<String>,
    /// How security updates are installed (defaults to the label's `update_instructions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decommissioning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_update_opt_out: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photographs: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessories: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_assessment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_period_reasoning: Option<String>,
}

impl DocumentInfo {
    /// The value of an info field by its key (`signatory_name`); none when absent or blank.
    pub fn get(&self, key: &str) -> Option<String> {
        let v = serde_json::to_value(self).ok()?;
        v.get(key)?
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub manufacturer: String,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    pub category: String,
}

/// A scheme level the product reaches, holds, or obtains through recognition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelClaim {
    /// `scheme@version#level`
    pub level: String,
    /// `assessment`, `held` or `recognition`
    pub route: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Support {
    /// End of the support period; none when not declared.
    pub end_date: Option<Date>,
    /// `supported`, `ending-soon`, `unsupported` or `unknown` on the issue date.
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Updates {
    /// Security updates install automatically (none: not established).
    pub automatic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Boms {
    /// A software bill of materials is kept (none: not established).
    pub sbom: Option<bool>,
    pub hbom: Option<bool>,
}

/// The signed content of a label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelDocument {
    pub format: String,
    /// Stable id: the registry page and QR code use it.
    pub id: String,
    pub product: Product,
    pub catalog_version: String,
    /// Highest iotrust tier reached (none: not even the baseline).
    pub tier: Option<String>,
    pub levels: Vec<LevelClaim>,
    /// Mandatory laws the product conforms to (`scheme@version`).
    pub conforms_to: Vec<String>,
    /// Market access on the issue date (`UK` -> `yes`).
    pub markets: BTreeMap<String, String>,
    pub issuer: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<Party>,
    pub issued: Date,
    pub valid_until: Date,
    pub support: Support,
    pub updates: Updates,
    pub default_password: String,
    pub secure_configuration: String,
    pub boms: Boms,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisories: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_url: Option<String>,
}

fn outcome(a: &Assessment, id: &str) -> Option<bool> {
    match a.outcomes.iter().find(|o| o.id == id).map(|o| o.verdict) {
        Some(Verdict::Met) => Some(true),
        Some(Verdict::NotMet) => Some(false),
        _ => None,
    }
}

/// A stable id from the product identity and issue date.
pub fn label_id(p: &Product, issued: Date) -> String {
    use sha2::Digest as _;
    let key = format!(
        "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{issued}",
        p.manufacturer,
        p.model,
        p.hardware_version.as_deref().unwrap_or(""),
        p.firmware_version.as_deref().unwrap_or("")
    );
    crate::keys::hex(&sha2::Sha256::digest(key.as_bytes())[..10])
}

/// Why no label can be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// The product's support period ended before the issue date: a label would promise
    /// security updates that no longer come.
    #[error(
        "support for this product ended on {end}, before the issue date {issued}: \
         a label is never valid beyond the end of support, so none is issued"
    )]
    SupportEnded { end: Date, issued: Date },
    /// The requested validity ends before the label is issued.
    #[error("the label would be valid until {until}, before its issue date {issued}")]
    ValidityBeforeIssue { until: Date, issued: Date },
}

impl LabelDocument {
    /// The label of an assessment, issued on the assessment's date, valid until `valid_until`
    /// or the end of support, whichever comes first. A product whose support ended before the
    /// issue date gets no label ([`IssueError::SupportEnded`]); one whose support ends on the
    /// issue date gets a label valid that day only.
    pub fn from_assessment(
        a: &Assessment,
        info: &LabelInfo,
        valid_until: Date,
    ) -> Result<LabelDocument, IssueError> {
        let id = &a.profile.identity;
        let product = Product {
            manufacturer: id.manufacturer.clone(),
            model: id.model.clone(),
            name: id.name.clone(),
            hardware_version: id.hardware_version.clone(),
            firmware_version: id.firmware_version.clone(),
            category: a.profile.category.clone(),
        };
        let issued = a.evaluated_on;
        let label_id = label_id(&product, issued);
        if valid_until < issued {
            return Err(IssueError::ValidityBeforeIssue {
                until: valid_until,
                issued,
            });
        }
        let valid_until = match a.support.end_date {
            Some(end) if end < issued => return Err(IssueError::SupportEnded { end, issued }),
            Some(end) => end.min(valid_until),
            None => valid_until,
        };
        let status = match a.support.status {
            SupportStatus::Supported => "supported",
            SupportStatus::EndingSoon => "ending-soon",
            SupportStatus::Unsupported => "unsupported",
            SupportStatus::Unknown => "unknown",
        };
        Ok(LabelDocument {
            format: FORMAT.into(),
            id: label_id.clone(),
            product,
            catalog_version: a.catalog_version.clone(),
            tier: a.summary.tier.clone(),
            levels: a
                .labels
                .iter()
                .filter(|l| l.obtainable)
                .map(|l| LevelClaim {
                    level: l.label.clone(),
                    route: l.route.clone(),
                })
                .collect(),
            conforms_to: a
                .schemes
                .iter()
                .filter(|s| {
                    s.kind == SchemeKind::MandatoryLaw
                        && s.in_scope
                        && s.conformance == Verdict::Met
                })
                .map(|s| s.scheme.clone())
                .collect(),
            markets: a
                .markets
                .iter()
                .map(|m| {
                    let v = match m.access {
                        Access::Yes => "yes",
                        Access::No => "no",
                        Access::Undetermined => "undetermined",
                    };
                    (m.market.clone(), v.to_string())
                })
                .collect(),
            issuer: info.issuer.clone(),
            lab: info.lab.clone(),
            issued,
            valid_until,
            support: Support {
                end_date: a.support.end_date,
                status: status.into(),
            },
            updates: Updates {
                automatic: outcome(a, "automatic-updates"),
                instructions: info.update_instructions.clone(),
            },
            default_password: info.default_password.clone(),
            secure_configuration: info.secure_configuration.clone(),
            boms: Boms {
                sbom: outcome(a, "software-bill-of-materials"),
                hbom: info.hbom,
            },
            advisories: info.advisories.clone(),
            registry_url: info.registry.as_ref().map(|r| r.replace("{id}", &label_id)),
        })
    }
}

/// The JSON Schema of label documents (`schemas/label.schema.json`).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(LabelDocument)).unwrap_or(serde_json::Value::Null)
}
