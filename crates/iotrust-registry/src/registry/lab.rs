//! Evidence from labs on registered products: a lab's probe or test evidence is attached to a
//! product, shown in its history, and the product is assessed again with it (tier, levels and
//! markets recomputed; every change recorded).

use iotrust_assess::profile::InputFormat;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::reassess::changes;
use super::{parse_evidence, EvidenceFile, Registry, Role};
use crate::error::{conflict, forbidden, internal, invalid, not_found, ApiError};
use crate::store::{Event, EventKind, LabEvidence, Reassessment, Status, Stored};

/// What attaching lab evidence did.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LabAttached {
    pub product: String,
    /// The name the evidence is kept under (`lab:LAB/NAME`).
    pub evidence: String,
    pub tier_before: Option<String>,
    pub tier_after: Option<String>,
    /// The changes the re-assessment recorded (tier and levels), as in the history.
    pub changes: Vec<String>,
}

impl Registry {
    /// Every evidence document behind a stored product: the submission's, then each lab's
    /// (named `lab:LAB/NAME`, so no lab's file takes the place of one the profile refers to).
    pub(crate) fn evidence_of(&self, p: &Stored) -> Result<Vec<EvidenceFile>, ApiError> {
        let mut ev: Vec<EvidenceFile> =
            serde_json::from_str(&p.evidence).map_err(|e| internal(e.to_string()))?;
        for l in self.store.lab_evidence(&p.id)? {
            ev.push(EvidenceFile {
                name: format!("lab:{}/{}", l.lab, l.name),
                document: serde_json::from_str(&l.document).map_err(|e| internal(e.to_string()))?,
            });
        }
        Ok(ev)
    }

    /// `POST /api/v1/products/{id}/evidence` by a lab: attach an `iotrust-evidence/1` document
    /// and re-assess the product's stored profile with it.
    pub fn lab_evidence(
        &self,
        id: &str,
        file: &EvidenceFile,
        token: Option<&str>,
        today: Date,
    ) -> Result<LabAttached, ApiError> {
        let lab = match self.role(token)? {
            Role::Lab(l) => l.clone(),
            _ => return Err(forbidden("only a lab's token may attach evidence")),
        };
        if file.name.trim().is_empty()
            || file.name.len() > 200
            || file.name.chars().any(|c| c.is_control() || c == '/')
        {
            return Err(invalid(
                "name",
                "1 to 200 characters, no `/` and no control characters",
            ));
        }
        let p = self
            .store
            .product(id)?
            .ok_or_else(|| not_found(format!("no product `{id}`")))?;
        if p.status == Status::Revoked {
            return Err(conflict(format!(
                "label `{id}` was revoked; evidence is no longer attached to it"
            )));
        }
        let named = EvidenceFile {
            name: format!("lab:{lab}/{}", file.name),
            document: file.document.clone(),
        };
        // the document itself must be evidence this catalog reads
        let parsed = parse_evidence(&self.cat, &named, None)?;
        let mut all = self.evidence_of(&p)?;
        all.push(named.clone());
        let format = if p.profile_format == "json" {
            InputFormat::Json
        } else {
            InputFormat::Toml
        };
        let (_, j) = self.judge(&p.profile, format, &all, today, true)?;
        let old = self.store.levels(id)?;
        let mut events = vec![Event {
            at: today,
            event: EventKind::LabEvidence,
            detail: format!(
                "lab {lab} attached {} ({} evidence{}, {} fact(s), {} finding(s))",
                file.name,
                parsed.kind,
                if parsed.tool.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", parsed.tool)
                },
                parsed.facts.len(),
                parsed.findings.len()
            ),
        }];
        let mut changed = Vec::new();
        if p.tier != j.tier {
            changed.push(Event {
                at: today,
                event: EventKind::TierChanged,
                detail: format!(
                    "assessed tier {} → {} (with the evidence of lab {lab})",
                    p.tier.as_deref().unwrap_or("none"),
                    j.tier.as_deref().unwrap_or("none")
                ),
            });
        }
        changed.extend(changes(&old, &j.levels, today));
        let shown: Vec<String> = changed.iter().map(|e| e.detail.clone()).collect();
        events.extend(changed);
        let version = self.cat.version().to_string();
        let document =
            serde_json::to_string(&file.document).map_err(|e| internal(e.to_string()))?;
        self.store.add_lab_evidence(
            id,
            &LabEvidence {
                lab,
                name: file.name.clone(),
                document,
                at: today,
            },
            &Reassessment {
                version: &version,
                tier: j.tier.as_deref(),
                levels: &j.levels,
                markets: &j.markets,
                profiles: &j.profiles,
                events: &events,
            },
        )?;
        Ok(LabAttached {
            product: id.to_string(),
            evidence: named.name,
            tier_before: p.tier,
            tier_after: j.tier,
            changes: shown,
        })
    }
}
