//! Listings: search, products at the end of their support, national-programme counts.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{shown_status, support_view, verdict_name, Registry, SupportView, MAX_PAGE};
use crate::error::{invalid, ApiError};
use crate::store::Summary;

/// A listing line with the support view of the day.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Listed {
    #[serde(flatten)]
    pub product: Summary,
    pub support: SupportView,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SearchPage {
    pub query: String,
    pub total: u64,
    pub offset: u32,
    pub results: Vec<Listed>,
}

/// How many products reach a tier or level.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Count {
    /// The tier or level id.
    pub id: String,
    pub products: u64,
}

/// One scheme of the national-programme comparison.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgrammeView {
    pub scheme: String,
    pub title: String,
    pub jurisdiction: String,
    pub kind: String,
    /// Active products in scope of the scheme.
    pub in_scope: u64,
    /// Active products conformant (every applicable mandatory provision met).
    pub conformant: u64,
    /// Per level of the scheme, lowest first: how many products reach it (their highest).
    pub levels: Vec<Count>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Programmes {
    pub products: u64,
    pub tiers: Vec<Count>,
    pub schemes: Vec<ProgrammeView>,
}

impl Registry {
    fn listed(&self, s: Summary, today: Date) -> Listed {
        Listed {
            support: support_view(s.support_end, today),
            product: Summary {
                tier: self.lower(s.tier.as_deref(), s.label_tier.as_deref()),
                status: shown_status(s.status, s.valid_until, today),
                ..s
            },
        }
    }

    /// Products matching `q` (manufacturer, model, name or category).
    pub fn search(
        &self,
        q: &str,
        limit: u32,
        offset: u32,
        today: Date,
    ) -> Result<SearchPage, ApiError> {
        if q.len() > 200 {
            return Err(invalid("q", "at most 200 bytes"));
        }
        let (total, rows) = self.store.search(q.trim(), limit.min(MAX_PAGE), offset)?;
        Ok(SearchPage {
            query: q.to_string(),
            total,
            offset,
            results: rows.into_iter().map(|s| self.listed(s, today)).collect(),
        })
    }

    /// Active products whose support period ends within `days` of `today` (and those that
    /// ended within the last `days`, as unsupported).
    pub fn sunsetting(&self, days: u32, today: Date) -> Result<Vec<Listed>, ApiError> {
        if days > 3650 {
            return Err(invalid("days", "at most 3650"));
        }
        let span = jiff::Span::new().days(i64::from(days));
        let to = today
            .checked_add(span)
            .map_err(|e| invalid("days", e.to_string()))?;
        let from = today
            .checked_sub(span)
            .map_err(|e| invalid("days", e.to_string()))?;
        let rows = self.store.ending(from, to, MAX_PAGE)?;
        Ok(rows.into_iter().map(|s| self.listed(s, today)).collect())
    }

    /// How many registered products reach each level of each scheme and each tier.
    pub fn programmes(&self) -> Result<Programmes, ApiError> {
        let counts = self.store.level_counts()?;
        let mut by_scheme: BTreeMap<&str, Vec<&crate::store::LevelCount>> = BTreeMap::new();
        for c in &counts {
            by_scheme.entry(c.scheme.as_str()).or_default().push(c);
        }
        let mut schemes = Vec::new();
        for s in &self.cat.schemes {
            let cs = by_scheme.remove(s.key.as_str()).unwrap_or_default();
            let in_scope = cs.iter().map(|c| c.products).sum();
            let conformant = cs
                .iter()
                .filter(|c| c.conformance == "met")
                .map(|c| c.products)
                .sum();
            let levels = s
                .def
                .levels
                .iter()
                .map(|l| {
                    let n = cs
                        .iter()
                        .filter(|c| c.level.as_deref() == Some(&*l.id))
                        .map(|c| c.products)
                        .sum();
                    Count {
                        id: l.id.to_string(),
                        products: n,
                    }
                })
                .collect();
            schemes.push(ProgrammeView {
                scheme: s.key.clone(),
                title: s.def.title.to_string(),
                jurisdiction: s.def.jurisdiction.to_string(),
                kind: verdict_name(&s.def.kind),
                in_scope,
                conformant,
                levels,
            });
        }
        let tc = self.store.tier_counts()?;
        let tiers = self
            .tiers
            .iter()
            .map(|t| {
                let n = tc
                    .iter()
                    .filter(|(x, _)| x.as_deref() == Some(t))
                    .map(|(_, n)| n)
                    .sum();
                Count {
                    id: t.clone(),
                    products: n,
                }
            })
            .collect();
        Ok(Programmes {
            products: tc.iter().map(|(_, n)| n).sum(),
            tiers,
            schemes,
        })
    }
}
