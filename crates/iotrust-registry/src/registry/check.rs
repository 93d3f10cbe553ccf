//! The bulk check a retailer or public buyer runs over an assortment.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{Registry, MAX_CHECK_ITEMS};
use crate::error::{invalid, too_large, ApiError};
use crate::store::Status;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckItem {
    pub manufacturer: String,
    pub model: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The tier (`baseline` … `advanced`) or procurement profile (`public-procurement`) each
    /// product must reach. Default: the lowest tier, unless a market is asked.
    #[serde(default)]
    pub tier: Option<String>,
    /// A market (`UK`, `EU`, `US`, …) whose laws in force each product must meet, by the
    /// registry's assessment of the markets the product declares.
    #[serde(default)]
    pub market: Option<String>,
    /// Fail products a provider currently sees compromised in the field (an open field
    /// report), with the reason.
    #[serde(default)]
    pub exclude_field_compromised: bool,
    pub items: Vec<CheckItem>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckResult {
    pub manufacturer: String,
    pub model: String,
    pub registered: bool,
    pub meets: bool,
    pub tier: Option<String>,
    pub reason: String,
    /// A provider currently sees this product compromised in the field.
    pub field_compromised: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckResponse {
    pub tier: Option<String>,
    pub market: Option<String>,
    pub checked: usize,
    pub meeting: usize,
    pub results: Vec<CheckResult>,
}

impl Registry {
    /// Which of these models have an active, valid label at `tier` or above?
    pub fn check(&self, req: &CheckRequest, today: Date) -> Result<CheckResponse, ApiError> {
        if req.items.len() > MAX_CHECK_ITEMS {
            return Err(too_large(format!(
                "items: at most {MAX_CHECK_ITEMS} per request"
            )));
        }
        // what is asked: a tier, a procurement profile, a market — or, by default, the lowest tier
        let want = match (&req.tier, &req.market) {
            (Some(t), _) => Some(t.as_str()),
            (None, None) => self.tiers.first().map(String::as_str),
            (None, Some(_)) => None,
        };
        enum Want<'a> {
            Tier(usize, &'a str),
            Profile(&'a str),
        }
        let want = match want {
            None => None,
            Some(w) => Some(match self.rank(Some(w)) {
                Some(r) => Want::Tier(r, w),
                None if self.cat.profiles.iter().any(|p| p.def.id.as_str() == w) => {
                    Want::Profile(w)
                }
                None => {
                    return Err(invalid(
                        "tier",
                        format!(
                            "unknown tier or profile `{w}` (tiers: {}; profiles: {})",
                            self.tiers.join(", "),
                            self.cat
                                .profiles
                                .iter()
                                .map(|p| p.def.id.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ))
                }
            }),
        };
        if let Some(m) = &req.market {
            let known: Vec<&str> = self
                .cat
                .meta
                .jurisdictions
                .iter()
                .map(|j| j.id.as_str())
                .collect();
            if !known.contains(&m.as_str()) {
                return Err(invalid(
                    "market",
                    format!("unknown market `{m}` (markets: {})", known.join(", ")),
                ));
            }
        }
        let keys: Vec<(String, String)> = req
            .items
            .iter()
            .map(|i| (i.manufacturer.clone(), i.model.clone()))
            .collect();
        let rows = self.store.latest(&keys)?;
        let ids: Vec<String> = rows.iter().flatten().map(|r| r.id.clone()).collect();
        let mut open = self.field_open(&ids)?.into_iter();
        let results: Vec<CheckResult> =
            req.items
                .iter()
                .zip(rows)
                .map(|(it, row)| {
                    // one entry per registered row, in the same order
                    let field = row.as_ref().and_then(|_| open.next());
                    let mut res = CheckResult {
                        manufacturer: it.manufacturer.clone(),
                        model: it.model.clone(),
                        registered: row.is_some(),
                        meets: false,
                        tier: None,
                        reason: "no label registered".into(),
                        field_compromised: false,
                        id: None,
                    };
                    let Some(r) = row else { return res };
                    let tier = self.lower(r.tier.as_deref(), r.label_tier.as_deref());
                    let mut fails: Vec<String> = Vec::new();
                    let (open_reports, providers) = field.unwrap_or((0, 0));
                    res.field_compromised = open_reports > 0;
                    let seen = format!(
                        "seen compromised in the field ({open_reports} open report(s) from {providers} provider(s))"
                    );
                    if res.field_compromised && req.exclude_field_compromised {
                        fails.push(seen.clone());
                    }
                    if !r.status.in_force() {
                        fails.push(format!("label {}", r.status));
                    } else if r.valid_until < today {
                        fails.push(format!("label expired on {}", r.valid_until));
                    }
                    match &want {
                        Some(Want::Tier(need, name))
                            if self.rank(tier.as_deref()).is_none_or(|x| x < *need) =>
                        {
                            fails.push(format!(
                                "tier {} is below {name}",
                                tier.as_deref().unwrap_or("none")
                            ))
                        }
                        Some(Want::Profile(name)) => {
                            let reached: Vec<String> =
                                serde_json::from_str(&r.profiles).unwrap_or_default();
                            if !reached.iter().any(|p| p == name) {
                                fails.push(format!("profile {name} not reached"));
                            }
                        }
                        _ => {}
                    }
                    if let Some(m) = &req.market {
                        let markets: BTreeMap<String, String> =
                            serde_json::from_str(&r.markets).unwrap_or_default();
                        match markets.get(m).map(String::as_str) {
                            Some("yes") => {}
                            Some("no") => fails.push(format!("does not meet the laws of {m}")),
                            Some(_) => fails
                                .push(format!("whether it meets the laws of {m} is undetermined")),
                            None => fails
                                .push(format!("{m} is not among the markets its profile declares")),
                        }
                    }
                    res.meets = fails.is_empty();
                    res.reason = if fails.is_empty() {
                        let mut ok = vec![format!("tier {}", tier.as_deref().unwrap_or("none"))];
                        if let Some(Want::Profile(p)) = &want {
                            ok.push(format!("profile {p}"));
                        }
                        if let Some(m) = &req.market {
                            ok.push(format!("meets the laws of {m}"));
                        }
                        if r.status == Status::UnderReview {
                            ok.push("under review".into());
                        }
                        if res.field_compromised {
                            ok.push(seen);
                        }
                        ok.join("; ")
                    } else {
                        fails.join("; ")
                    };
                    res.tier = tier;
                    res.id = Some(r.id);
                    res
                })
                .collect();
        Ok(CheckResponse {
            tier: match &want {
                Some(Want::Tier(_, n)) | Some(Want::Profile(n)) => Some(n.to_string()),
                None => None,
            },
            market: req.market.clone(),
            checked: results.len(),
            meeting: results.iter().filter(|r| r.meets).count(),
            results,
        })
    }
}
