//! Submission: a signed label with the profile it was issued for, verified, assessed, stored.

use iotrust_assess::profile::InputFormat;
use iotrust_label::dsse::verify;
use iotrust_label::LabelDocument;
use jiff::civil::Date;
use sha2::{Digest, Sha256};

use super::{Registry, MAX_BULK_SUBMISSIONS};
use crate::error::{conflict, forbidden, internal, invalid, rejected, too_large, ApiError};
use crate::store::{Event, EventKind, Record, Status};

pub use iotrust_registry_client::api::{EvidenceFile, Registration, Submission, Submitted};

impl Registry {
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
            out.event = Registration::Updated;
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
            return Err(too_large(format!(
                "at most {MAX_BULK_SUBMISSIONS} submissions per request"
            )));
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
                out.event = Registration::Updated;
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
            .map_err(|e| rejected(format!("label does not verify: {e}")))?;
        let doc = v.document;
        if doc.product.manufacturer != who {
            return Err(forbidden(format!(
                "this token belongs to `{who}`, the label to `{}`",
                doc.product.manufacturer
            )));
        }
        let digest = crate::hex(&Sha256::digest(sub.profile.as_bytes()));
        if !v
            .subject_sha256
            .iter()
            .any(|d| d.as_deref() == Some(&digest))
        {
            return Err(rejected(format!(
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
                return Err(invalid(
                    "profile_format",
                    format!("`{other}` is not `toml` or `json`"),
                ))
            }
        };
        let (prof, j) = self.judge(&sub.profile, format, &sub.evidence, today, false)?;
        if prof.identity.manufacturer != doc.product.manufacturer
            || prof.identity.model != doc.product.model
        {
            return Err(rejected(format!(
                "the profile is for {} {}, the label for {} {}",
                prof.identity.manufacturer,
                prof.identity.model,
                doc.product.manufacturer,
                doc.product.model
            )));
        }
        if let Some(claimed) = doc.tier.as_deref() {
            let claim = self.rank(Some(claimed));
            if claim.is_none() {
                return Err(rejected(format!(
                    "the label states tier `{claimed}`, which this catalog does not have"
                )));
            }
            if claim > self.rank(j.tier.as_deref()) {
                return Err(rejected(format!(
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
            if old.status == Status::Revoked {
                return Err(conflict(format!(
                    "label `{}` was revoked; a revoked label is never replaced (issue a new one)",
                    doc.id
                )));
            }
            if old.manufacturer != who {
                return Err(forbidden("a manufacturer may only change its own products"));
            }
        }
        let evidence = serde_json::to_string(&sub.evidence).map_err(|e| internal(e.to_string()))?;
        if let Some(u) = &prof.identity.mud_url {
            if !u.starts_with("https://") || u.len() > 500 {
                return Err(rejected(format!(
                    "profile: product.mud_url: `{u}` is not an https:// URL (RFC 8520 §1.6) of at most 500 bytes"
                )));
            }
        }
        let rec = Record {
            mud_url: prof.identity.mud_url.clone(),
            id: doc.id.clone(),
            manufacturer: doc.product.manufacturer.clone(),
            model: doc.product.model.clone(),
            name: doc.product.name.clone(),
            category: doc.product.category.clone(),
            tier: j.tier.clone(),
            label_tier: doc.tier.clone(),
            valid_until: doc.valid_until,
            support_end: doc.support.end_date,
            catalog_version: self.cat.version().to_string(),
            document: serde_json::to_string(&doc).map_err(|e| internal(e.to_string()))?,
            envelope: serde_json::to_string(&sub.label).map_err(|e| internal(e.to_string()))?,
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
        let (event, registration) = if old.is_some() {
            (EventKind::Updated, Registration::Updated)
        } else {
            (EventKind::Registered, Registration::Registered)
        };
        let out = Submitted {
            page: format!("/p/{}", doc.id),
            id: doc.id,
            event: registration,
            assessed_tier: j.tier,
        };
        let event = Event {
            at: today,
            event,
            detail,
        };
        Ok((rec, event, out))
    }
}

/// A submitted assessment must be an `iotrust-assessment/1` of the labelled product.
fn check_assessment(a: &serde_json::Value, doc: &LabelDocument) -> Result<(), ApiError> {
    let format = a.get("format").and_then(|f| f.as_str());
    if format != Some(iotrust_assess::result::FORMAT) {
        return Err(rejected(format!(
            "assessment.format: expected `{}`",
            iotrust_assess::result::FORMAT
        )));
    }
    let m = a
        .pointer("/profile/identity/manufacturer")
        .and_then(|v| v.as_str());
    let model = a
        .pointer("/profile/identity/model")
        .and_then(|v| v.as_str());
    if m != Some(&doc.product.manufacturer) || model != Some(&doc.product.model) {
        return Err(rejected(
            "assessment.profile.identity: not the labelled product",
        ));
    }
    Ok(())
}
