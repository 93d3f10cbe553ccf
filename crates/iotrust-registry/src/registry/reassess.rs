//! Re-assessment: stored profiles assessed again under a new catalog, every change recorded.

use std::collections::BTreeMap;

use iotrust_assess::profile::InputFormat;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{EvidenceFile, Registry};
use crate::error::ApiError;
use crate::store::{Event, EventKind, Reassessment, SchemeLevel};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reassessed {
    pub catalog_version: String,
    pub checked: usize,
    pub changed: usize,
    /// Products whose stored profile no longer parses under the new catalog (kept, reported).
    pub failed: Vec<String>,
}

impl Registry {
    /// Re-assess every stored profile last assessed under another catalog version, and
    /// record each changed tier and level in the product's history.
    pub fn reassess(&self, today: Date) -> Result<Reassessed, ApiError> {
        let version = self.cat.version().to_string();
        let ids = self.store.stale(&version)?;
        let mut out = Reassessed {
            catalog_version: version.clone(),
            ..Reassessed::default()
        };
        for id in ids {
            let Some(p) = self.store.product(&id)? else {
                continue;
            };
            out.checked += 1;
            let format = if p.profile_format == "json" {
                InputFormat::Json
            } else {
                InputFormat::Toml
            };
            // the submission's evidence and every lab's since
            let evidence: Vec<EvidenceFile> = self.evidence_of(&p)?;
            let (prof, j) = match self.judge(&p.profile, format, &evidence, today, true) {
                Ok(x) => x,
                Err(e) => {
                    // keep the old result, record why it could not be renewed
                    self.store.reassessed(
                        &id,
                        &Reassessment {
                            version: &version,
                            tier: p.tier.as_deref(),
                            levels: &self.store.levels(&id)?,
                            markets: &p.markets,
                            profiles: &p.profiles,
                            events: &[Event {
                                at: today,
                                event: EventKind::ReassessmentFailed,
                                detail: format!("catalog {version}: {}", e),
                            }],
                        },
                    )?;
                    out.failed.push(id);
                    continue;
                }
            };
            let old = self.store.levels(&id)?;
            let mut events = changes(&old, &j.levels, today);
            if p.tier != j.tier {
                events.insert(
                    0,
                    Event {
                        at: today,
                        event: EventKind::TierChanged,
                        detail: format!(
                            "assessed tier {} → {}",
                            p.tier.as_deref().unwrap_or("none"),
                            j.tier.as_deref().unwrap_or("none")
                        ),
                    },
                );
            }
            if !events.is_empty() {
                out.changed += 1;
            }
            let changes = events.len();
            // facts the stored profile stated as conclusions: unknown until restated
            for m in &prof.unmapped {
                events.push(Event {
                    at: today,
                    event: EventKind::RestateFact,
                    detail: m.clone(),
                });
            }
            events.push(Event {
                at: today,
                event: EventKind::Reassessed,
                detail: format!(
                    "catalog {} → {version}: {}",
                    p.catalog_version,
                    if changes == 0 {
                        "no change".to_string()
                    } else {
                        format!("{changes} change(s)")
                    }
                ),
            });
            self.store.reassessed(
                &id,
                &Reassessment {
                    version: &version,
                    tier: j.tier.as_deref(),
                    levels: &j.levels,
                    markets: &j.markets,
                    profiles: &j.profiles,
                    events: &events,
                },
            )?;
        }
        Ok(out)
    }
}

/// The level changes between two assessments, as history events.
pub(super) fn changes(old: &[SchemeLevel], new: &[SchemeLevel], at: Date) -> Vec<Event> {
    let o: BTreeMap<&str, &SchemeLevel> = old.iter().map(|l| (l.scheme.as_str(), l)).collect();
    let n: BTreeMap<&str, &SchemeLevel> = new.iter().map(|l| (l.scheme.as_str(), l)).collect();
    let show = |l: Option<&&SchemeLevel>| match l {
        None => "out of scope".to_string(),
        Some(l) => match &l.level {
            Some(level) => format!("level {level} ({})", l.conformance),
            None => format!("no level ({})", l.conformance),
        },
    };
    let mut keys: Vec<&str> = o.keys().chain(n.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter(|k| o.get(k) != n.get(k))
        .map(|k| Event {
            at,
            event: EventKind::LevelChanged,
            detail: format!("{k}: {} → {}", show(o.get(k)), show(n.get(k))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_changes_are_named() {
        let l = |s: &str, lv: Option<&str>, c: &str| SchemeLevel {
            scheme: s.into(),
            level: lv.map(Into::into),
            conformance: c.into(),
        };
        let old = vec![l("a@1", Some("L2"), "met"), l("b@1", None, "met")];
        let new = vec![l("a@1", Some("L1"), "met"), l("c@1", None, "unknown")];
        let ev = changes(&old, &new, jiff::civil::date(2026, 11, 22));
        let d: Vec<&str> = ev.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            d,
            [
                "a@1: level L2 (met) → level L1 (met)",
                "b@1: no level (met) → out of scope",
                "c@1: out of scope → no level (unknown)"
            ]
        );
    }
}
