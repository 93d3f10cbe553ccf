//! What the registry's API takes and answers, for both sides: the server
//! (`iotrust-registry`) and its clients.

use iotrust_label::Envelope;
use serde::{Deserialize, Serialize};

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
    pub event: Registration,
    /// The tier the registry's own assessment reached.
    pub assessed_tier: Option<String>,
}

/// Whether a submission registered a new label or replaced one.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    Registered,
    Updated,
}

impl Registration {
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Registered => "registered",
            Registration::Updated => "updated",
        }
    }
}

impl std::fmt::Display for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the registry did with a field report.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldReceipt {
    pub report_id: String,
    /// The product the report was matched to.
    pub product: String,
    /// `recorded` (new) or `updated` (the same report id sent before).
    pub outcome: String,
    /// The product page.
    pub page: String,
    /// Whether the product is now under review.
    pub under_review: bool,
}

/// What a manufacturer acknowledges about a field notice (all optional).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the CRA Art. 14(2)(a) early warning was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_warning_at: Option<jiff::Timestamp>,
    /// When the Art. 14(2)(b) vulnerability notification was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_at: Option<jiff::Timestamp>,
    /// When a corrective or mitigating measure became available (starts the final report's
    /// 14 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrective_measure_at: Option<jiff::Timestamp>,
    /// When the Art. 14(2)(c) final report was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_report_at: Option<jiff::Timestamp>,
}
