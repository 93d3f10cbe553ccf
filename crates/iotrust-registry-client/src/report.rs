//! What a provider sends: a [`FieldReport`] — devices of one product seen compromised on its
//! network — signed into a DSSE envelope by the provider's key. No subscriber identity travels:
//! unknown fields are refused, and no identifier may be an address.

use iotrust_label::dsse::{envelope_of, sign};
use iotrust_label::{Envelope, Key, VerifyError};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// DSSE payload type of a signed field report.
pub const FIELD_REPORT_TYPE: &str = "application/vnd.iotrust.field-report+json";

/// Most devices one report may count.
pub const MAX_DEVICES: u64 = 100_000_000;
/// Most detectors one report may name.
pub const MAX_DETECTORS: usize = 32;
/// How far in the future a `last_seen` may lie (clock skew between provider and registry).
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Which product the devices are: by the MUD URL they announce, or by manufacturer and model
/// (from the provider's CPE inventory). Exactly one of the two forms.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProductRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mud_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl ProductRef {
    pub fn mud(url: &str) -> ProductRef {
        ProductRef {
            mud_url: Some(url.to_string()),
            ..ProductRef::default()
        }
    }

    pub fn model(manufacturer: &str, model: &str) -> ProductRef {
        ProductRef {
            manufacturer: Some(manufacturer.to_string()),
            model: Some(model.to_string()),
            ..ProductRef::default()
        }
    }
}

/// Whether the provider still sees the devices compromised.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReportState {
    Open,
    Closed,
}

impl ReportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::Open => "open",
            ReportState::Closed => "closed",
        }
    }
}

/// One provider's report of devices of one product seen compromised. The same `report_id`
/// sent again updates the report (devices, last seen, state, detectors).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FieldReport {
    /// Stable per incident at the provider: the same id is the same report.
    pub report_id: String,
    /// The provider's name, as in the registry's provider tokens and on its key.
    pub provider: String,
    pub product: ProductRef,
    /// What saw it (`mirai-scan`, `mud-violation`, …).
    pub detectors: Vec<String>,
    /// How many devices of this product are affected.
    pub devices: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub state: ReportState,
}

/// Why a report is refused: the field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ReportProblem {
    pub field: String,
    pub message: String,
}

fn problem(field: &str, message: impl Into<String>) -> ReportProblem {
    ReportProblem {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Whether `s` is (only) an IP address or a MAC address — a subscriber identity.
fn is_address(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let parts: Vec<&str> = s.split(['-', ':', '.']).collect();
    let hex = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_hexdigit());
    (parts.len() == 6 && parts.iter().all(|p| p.len() == 2 && hex(p)))
        || (parts.len() == 3 && parts.iter().all(|p| p.len() == 4 && hex(p)))
}

/// An identifier: 1–128 of `A-Z a-z 0-9 . _ -`, and not an address.
fn identifier(field: &str, s: &str) -> Result<(), ReportProblem> {
    if s.is_empty() || s.len() > 128 {
        return Err(problem(field, "1 to 128 characters"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(problem(
            field,
            format!("`{c}` is not allowed (letters, digits, `.`, `_`, `-`)"),
        ));
    }
    if is_address(s) {
        return Err(problem(
            field,
            "looks like an IP or MAC address; a field report carries no subscriber identity",
        ));
    }
    Ok(())
}

fn text(field: &str, s: &str) -> Result<(), ReportProblem> {
    if s.trim().is_empty() || s.len() > 500 {
        return Err(problem(field, "1 to 500 characters"));
    }
    if s.chars().any(char::is_control) {
        return Err(problem(field, "control characters are not allowed"));
    }
    Ok(())
}

impl FieldReport {
    /// Check every field: identifiers, exactly one product form, counts, times (`now` bounds
    /// `last_seen`).
    pub fn validate(&self, now: Timestamp) -> Result<(), ReportProblem> {
        identifier("report_id", &self.report_id)?;
        identifier("provider", &self.provider)?;
        match (
            &self.product.mud_url,
            &self.product.manufacturer,
            &self.product.model,
        ) {
            (Some(u), None, None) => {
                text("product.mud_url", u)?;
                if !u.starts_with("https://") {
                    return Err(problem(
                        "product.mud_url",
                        "a MUD URL is an https:// URL (RFC 8520 §1.6)",
                    ));
                }
            }
            (None, Some(m), Some(model)) => {
                text("product.manufacturer", m)?;
                text("product.model", model)?;
            }
            _ => {
                return Err(problem(
                    "product",
                    "give either {\"mud_url\"} or {\"manufacturer\", \"model\"}",
                ))
            }
        }
        if self.detectors.is_empty() || self.detectors.len() > MAX_DETECTORS {
            return Err(problem(
                "detectors",
                format!("1 to {MAX_DETECTORS} detector names"),
            ));
        }
        for (i, d) in self.detectors.iter().enumerate() {
            identifier(&format!("detectors[{i}]"), d)?;
        }
        if self.devices == 0 || self.devices > MAX_DEVICES {
            return Err(problem("devices", format!("1 to {MAX_DEVICES}")));
        }
        if self.first_seen > self.last_seen {
            return Err(problem("first_seen", "after last_seen"));
        }
        let latest = now
            .checked_add(jiff::SignedDuration::from_secs(MAX_SKEW_SECONDS))
            .unwrap_or(now);
        if self.last_seen > latest {
            return Err(problem("last_seen", "in the future"));
        }
        Ok(())
    }

    /// The report as a DSSE envelope signed by `key` (the provider's).
    pub fn sign(&self, key: &Key) -> Result<Envelope, VerifyError> {
        let body =
            serde_json::to_vec(self).map_err(|e| VerifyError::Malformed(format!("report: {e}")))?;
        let mut env = envelope_of(FIELD_REPORT_TYPE, &body);
        sign(&mut env, key)?;
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> FieldReport {
        FieldReport {
            report_id: "isp-a-2026-0001".into(),
            provider: "isp-a".into(),
            product: ProductRef::mud("https://veridor.example/mud/vd-sl4.json"),
            detectors: vec!["mirai-scan".into()],
            devices: 3,
            first_seen: Timestamp::UNIX_EPOCH,
            last_seen: Timestamp::UNIX_EPOCH,
            state: ReportState::Open,
        }
    }

    #[test]
    fn addresses_are_no_identifiers() {
        let now = Timestamp::UNIX_EPOCH;
        assert!(report().validate(now).is_ok());
        for bad in [
            "192.0.2.7",
            "2001:db8::1",
            "aa-bb-cc-dd-ee-ff",
            "aabb.ccdd.eeff",
        ] {
            let mut r = report();
            r.report_id = bad.into();
            assert!(r.validate(now).is_err(), "{bad}");
        }
        let mut r = report();
        r.product.manufacturer = Some("Veridor".into());
        assert_eq!(r.validate(now).map_err(|p| p.field), Err("product".into()));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut v = serde_json::to_value(report()).unwrap_or_default();
        v["subscriber"] = "alice".into();
        let e = serde_json::from_value::<FieldReport>(v)
            .err()
            .map(|e| e.to_string());
        assert!(e.unwrap_or_default().contains("unknown field `subscriber`"));
    }
}
