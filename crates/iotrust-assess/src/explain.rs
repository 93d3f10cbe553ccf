//! The detailed assessment: every verdict comes from [`crate::eval`]; this layer adds the
//! reasons, the facts behind them, statements and gaps, for reports and `--format json`.

use iotrust_catalog::catalog::Scheme;
use iotrust_catalog::expr::{whole_years, Expr, FactId};
use iotrust_catalog::model::{Phase, Status};
use iotrust_catalog::Catalog;
use jiff::civil::Date;

pub use crate::eval::{evaluate, merge_evidence, required_strength, Evaluation, ENDING_SOON_DAYS};
use crate::eval::{ConformanceWhy, LabelRoute, LevelWhy, ProvWhy, ScopeWhy};
use crate::evidence::Evidence;
use crate::profile::Profile;
use crate::result::*;

/// A fact as a report shows it: its value, strength and source, or unknown.
pub(crate) fn fact_use(ev: &Evaluation<'_>, id: FactId) -> FactUse {
    let name = ev
        .cat
        .fact_def(id)
        .map(|f| f.id.to_string())
        .unwrap_or_default();
    match ev.facts.get(id) {
        Some((v, p)) => FactUse {
            fact: name,
            value: Some(v.clone()),
            strength: Some(p.strength),
            source: Some(p.source.clone()),
        },
        None => FactUse {
            fact: name,
            value: None,
            strength: None,
            source: None,
        },
    }
}

/// " (assumed product.consumer = true: not stated)" for the defaults these expressions took
/// in place of facts nobody supplied; empty when none was taken.
fn assumed(ev: &Evaluation<'_>, exprs: &[Option<&Expr>]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in exprs.iter().flatten() {
        for (id, v) in e.assumptions(&ev.facts.values) {
            let name = ev
                .cat
                .fact_def(id)
                .map(|f| f.id.to_string())
                .unwrap_or_default();
            let part = format!("{name} = {v}");
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" (assumed {}: not stated)", parts.join(", "))
    }
}

fn describe(uses: &[FactUse]) -> String {
    let parts: Vec<String> = uses
        .iter()
        .map(|u| match (&u.value, u.strength) {
            (Some(v), Some(s)) => format!("{} = {v} ({s})", u.fact),
            _ => format!("{} unknown", u.fact),
        })
        .collect();
    parts.join("; ")
}

fn missing(uses: &[FactUse]) -> String {
    let m: Vec<&str> = uses
        .iter()
        .filter(|u| u.value.is_none())
        .map(|u| u.fact.as_str())
        .collect();
    m.join(", ")
}

/// Evaluate and explain: the full assessment of `profile` with its `evidence` on `today`.
pub fn assess(cat: &Catalog, profile: &Profile, evidence: &[Evidence], today: Date) -> Assessment {
    let ev = evaluate(cat, profile, evidence, today);
    detail(&ev, profile, evidence)
}

fn outcome_results(ev: &Evaluation<'_>) -> Vec<OutcomeResult> {
    ev.cat
        .outcomes
        .iter()
        .zip(&ev.outcomes)
        .map(|(o, c)| {
            let mut ids: Vec<FactId> = o.check.facts().to_vec();
            if let Some(a) = &o.applies {
                ids.extend_from_slice(a.facts());
            }
            ids.sort_unstable();
            ids.dedup();
            let uses: Vec<FactUse> = ids.iter().map(|&i| fact_use(ev, i)).collect();
            let reason = if c.contradiction {
                let msg = o
                    .def
                    .contradiction_message
                    .clone()
                    .unwrap_or_else(|| "the facts disagree".into());
                // say who disagrees from the strengths actually involved
                let strengths: Vec<_> = o
                    .contradiction
                    .as_ref()
                    .map(|e| e.facts())
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|&i| ev.facts.get(i).map(|(_, p)| p.strength))
                    .collect();
                let who = match (strengths.iter().min(), strengths.iter().max()) {
                    (Some(lo), Some(hi)) if lo == hi => {
                        format!("the profile's {lo} facts disagree with each other")
                    }
                    (Some(lo), Some(hi)) => format!("{hi} evidence contradicts {lo} facts"),
                    _ => "the facts disagree".into(),
                };
                format!("contradiction ({who}): {msg} ({})", describe(&uses))
            } else {
                match c.verdict {
                    Verdict::NotApplicable => format!(
                        "does not apply: {} is false ({})",
                        o.def
                            .applies_when
                            .as_deref()
                            .map(|s| s.as_str())
                            .unwrap_or(""),
                        describe(&uses)
                    ),
                    Verdict::Met => format!("holds: {}", describe(&uses)),
                    Verdict::NotMet => format!("fails `{}`: {}", o.check.source(), describe(&uses)),
                    Verdict::Unknown if c.applies == Some(None) => {
                        format!("applicability unknown (missing {})", missing(&uses))
                    }
                    Verdict::Unknown => format!("unknown: no value for {}", missing(&uses)),
                }
            };
            // name the defaults that decided it: for a verdict of not applicable only those
            // of `applies_when`
            let decided_by = if c.verdict == Verdict::NotApplicable {
                [o.applies.as_ref(), None]
            } else {
                [o.applies.as_ref(), Some(&o.check)]
            };
            let reason = reason + &assumed(ev, &decided_by);
            OutcomeResult {
                id: o.def.id.to_string(),
                title: o.def.title.clone(),
                phases: o.def.phases.clone(),
                verdict: c.verdict,
                reason,
                strength: c.strength,
                contradiction: c.contradiction,
                facts: uses,
            }
        })
        .collect()
}

fn provision_reason(
    ev: &Evaluation<'_>,
    s: &Scheme,
    p: &iotrust_catalog::model::ProvisionDef,
    why: ProvWhy,
    outs: &[OutcomeResult],
) -> String {
    let with = |want: Verdict| -> String {
        let parts: Vec<String> = p
            .outcomes
            .iter()
            .filter_map(|m| ev.cat.outcome(&m.outcome).map(|(i, _)| &outs[i]))
            .filter(|o| o.verdict == want)
            .map(|o| format!("{}: {}", o.id, o.reason))
            .collect();
        parts.join(" | ")
    };
    match why {
        ProvWhy::Void => "void in this version".into(),
        ProvWhy::ContentUnknown => {
            "content of this provision is not established in the catalog".into()
        }
        ProvWhy::ConditionFalse(i) => {
            let c = p.conditions.get(i).map(|c| c.as_str()).unwrap_or("");
            let meaning = s
                .def
                .conditions
                .iter()
                .find(|d| *d.id == c)
                .map(|d| d.meaning.as_str())
                .unwrap_or("");
            let note = assumed(ev, &[s.conditions.get(c).map(|e| e as &Expr)]);
            format!("condition {c} ({meaning}) does not hold{note}")
        }
        ProvWhy::Unmapped => format!(
            "not evaluated: {}",
            p.unmapped_reason.as_deref().unwrap_or("no outcome mapped")
        ),
        ProvWhy::OutcomesNotMet => format!("not met: {}", with(Verdict::NotMet)),
        ProvWhy::ConditionUnknown => {
            let unknown: Vec<&str> = p
                .conditions
                .iter()
                .filter(|c| {
                    s.conditions
                        .get(c.as_str())
                        .is_some_and(|e| e.eval(&ev.facts.values, ev.today).is_none())
                })
                .map(|c| c.as_str())
                .collect();
            let failing = with(Verdict::NotMet);
            let open = with(Verdict::Unknown);
            let mut r = format!(
                "unknown: condition {} cannot be decided",
                unknown.join(", ")
            );
            if !failing.is_empty() {
                r.push_str(&format!("; if it applies, not met: {failing}"));
            } else if !open.is_empty() {
                r.push_str(&format!("; if it applies: {open}"));
            }
            r
        }
        ProvWhy::OutcomesUnknown => with(Verdict::Unknown),
        ProvWhy::AllNotApplicable => {
            "every outcome it maps to is not applicable to this product".into()
        }
        ProvWhy::Met => {
            let ids: Vec<&str> = p.outcomes.iter().map(|m| m.outcome.as_str()).collect();
            format!("met: {}", ids.join(", "))
        }
        ProvWhy::MetConditionUnknown => {
            let ids: Vec<&str> = p.outcomes.iter().map(|m| m.outcome.as_str()).collect();
            format!(
                "met: {} (whether or not its condition {} applies)",
                ids.join(", "),
                p.conditions
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        ProvWhy::Route(ri) => match p.routes.get(ri) {
            Some(r) => format!("met through route `{}`: {}", &*r.id, r.title),
            None => "met through an alternative route".into(),
        },
        ProvWhy::Derogated(i) => format!("derogated: {}", exclusion_reason(s, i)),
        ProvWhy::Recognition(ri) => match ev.cat.recognitions.get(ri) {
            Some(r) => format!(
                "met through recognition `{}`: {} from {} ({})",
                &*r.def.id, r.def.kind, &*r.def.from, r.def.source.reference
            ),
            None => "met through a recognition arrangement".into(),
        },
    }
}

/// The reason of the scheme's exclusion at index `i` (a derogation or a scope exclusion).
fn exclusion_reason(s: &Scheme, i: usize) -> &str {
    s.def
        .scope
        .excludes
        .get(i)
        .map(|e| e.reason.as_str())
        .unwrap_or("")
}

fn scope_reason(ev: &Evaluation<'_>, s: &Scheme, why: ScopeWhy) -> String {
    match why {
        ScopeWhy::InScope => format!("in scope{}", assumed(ev, &[s.requires.as_ref()])),
        ScopeWhy::Market => format!("the product is not sold in {}", &*s.def.jurisdiction),
        ScopeWhy::Category => format!(
            "category `{}` is outside the scheme's scope",
            ev.category.as_deref().unwrap_or("?")
        ),
        ScopeWhy::Excluded(i) => format!("excluded: {}", exclusion_reason(s, i)),
        ScopeWhy::Requires => format!(
            "outside scope: `{}` does not hold{}",
            s.requires.as_ref().map(|e| e.source()).unwrap_or(""),
            assumed(ev, &[s.requires.as_ref()])
        ),
    }
}

fn scheme_results(ev: &Evaluation<'_>, outs: &[OutcomeResult]) -> Vec<SchemeResult> {
    ev.cat
        .schemes
        .iter()
        .zip(&ev.schemes)
        .map(|(s, sc)| {
            let mut counts = Counts::default();
            let provisions: Vec<ProvisionResult> = s
                .def
                .provisions
                .iter()
                .zip(&sc.provisions)
                .filter(|(p, _)| p.status != Status::Void)
                .map(|(p, pc)| {
                    counts.add(pc.verdict);
                    ProvisionResult {
                        id: p.id.to_string(),
                        title: p.title.clone(),
                        status: p.status,
                        notation: Scheme::status_notation(p),
                        obligation: s.obligation(p),
                        mapping_basis: iotrust_catalog::mapping_basis(p),
                        phase: p.phase,
                        verdict: pc.verdict,
                        reason: provision_reason(ev, s, p, pc.why, outs),
                        reason_code: pc.why.code(),
                        strength: pc.strength,
                        via: match pc.why {
                            ProvWhy::Route(ri) => p.routes.get(ri).map(|r| format!("{}: {}", &*r.id, r.title)),
                            ProvWhy::Recognition(ri) => ev.cat.recognitions.get(ri).map(|r| format!("recognition {}: {} from {}", &*r.def.id, r.def.kind, &*r.def.from)),
                            _ => None,
                        },
                        outcomes: p.outcomes.iter().map(|m| m.outcome.to_string()).collect(),
                    }
                })
                .collect();
            let ids_where = |pred: &dyn Fn(&ProvisionResult) -> bool| -> String {
                let v: Vec<&str> = provisions.iter().filter(|p| pred(p)).map(|p| p.id.as_str()).collect();
                v.join(", ")
            };
            let conformance_reason = match sc.conformance_why {
                ConformanceWhy::OutOfScope => scope_reason(ev, s, sc.scope),
                ConformanceWhy::Failing => format!(
                    "mandatory provisions not met: {}",
                    ids_where(&|p| matches!(p.status, Status::Mandatory | Status::Unknown) && p.verdict == Verdict::NotMet)
                ),
                ConformanceWhy::Undecided => format!(
                    "mandatory provisions undecided: {}",
                    // a provision of unestablished status may be mandatory: it is named too
                    ids_where(&|p| matches!(p.status, Status::Mandatory | Status::Unknown) && p.verdict == Verdict::Unknown)
                ),
                ConformanceWhy::NoMandatory => "the scheme has no mandatory provisions to decide conformance".into(),
                ConformanceWhy::Conformant => "every applicable mandatory provision is met".into(),
            };
            let levels = s
                .def
                .levels
                .iter()
                .enumerate()
                .zip(&sc.levels)
                .map(|((li, l), lc)| {
                    let need = required_strength(l.assurance);
                    let in_level = |pred: &dyn Fn(&crate::eval::ProvCore) -> bool| -> String {
                        let v: Vec<&str> = s
                            .level_provisions
                            .get(li)
                            .map(Vec::as_slice)
                            .unwrap_or(&[])
                            .iter()
                            .filter(|&&i| sc.provisions.get(i).is_some_and(pred))
                            .map(|&i| s.def.provisions[i].id.as_str())
                            .collect();
                        v.join(", ")
                    };
                    let reason = match lc.why {
                        LevelWhy::Held => "held (declared in the profile)".to_string(),
                        LevelWhy::ProvisionsNotMet => format!("provisions not met: {}", in_level(&|pc| pc.verdict == Verdict::NotMet)),
                        LevelWhy::LowerLevelMissing => "a level it builds on is not reached".into(),
                        LevelWhy::LowerLevelUnknown => "a level it builds on is undecided".into(),
                        LevelWhy::OutOfScope => "the scheme does not cover this product".into(),
                        LevelWhy::NothingApplies => "none of its provisions applies to this product".into(),
                        LevelWhy::ContentUnknown => "the level's requirements are not established in the catalog".into(),
                        LevelWhy::Undecided => format!("undecided provisions: {}", in_level(&|pc| pc.verdict == Verdict::Unknown)),
                        LevelWhy::WeakEvidence => format!(
                            "needs {need} evidence ({}): {} rest on weaker evidence",
                            l.assurance,
                            in_level(&|pc| pc.verdict == Verdict::Met && pc.strength.is_some_and(|st| st < need))
                        ),
                        LevelWhy::MetPartial => format!(
                            "every known requirement met with {need} evidence; the level's full requirement list is not established"
                        ),
                        LevelWhy::Met => format!("every provision met with {need} evidence"),
                    };
                    LevelResult { id: l.id.to_string(), title: l.title.clone(), assurance: l.assurance, verdict: lc.verdict, reason, reason_code: lc.why.code() }
                })
                .collect();
            SchemeResult {
                scheme: s.key.clone(),
                title: s.def.title.clone(),
                kind: s.def.kind,
                jurisdiction: s.def.jurisdiction.to_string(),
                in_scope: sc.in_scope(),
                scope_reason: scope_reason(ev, s, sc.scope),
                scope_code: sc.scope.code(),
                applies_from: s.applies_from.or(s.in_force),
                conformance: sc.conformance,
                conformance_reason,
                conformance_code: sc.conformance_why.code(),
                counts,
                levels,
                highest_level: sc.highest_level().and_then(|i| s.def.levels.get(i)).map(|l| l.id.to_string()),
                provisions,
            }
        })
        .collect()
}

fn tier_results(
    ev: &Evaluation<'_>,
    outcomes: &[OutcomeResult],
    tiers: &[iotrust_catalog::Tier],
) -> Vec<TierResult> {
    tiers
        .iter()
        .map(|t| {
            let missing: Vec<TierMiss> = ev
                .tier_misses(t)
                .map(|i| {
                    let o = &outcomes[i];
                    let why = match (o.verdict, o.strength) {
                        (Verdict::Met, Some(s)) => {
                            format!("backed only by {s} evidence, needs {}", t.def.min_strength)
                        }
                        (v, _) => v.label().to_string(),
                    };
                    TierMiss {
                        outcome: o.id.clone(),
                        verdict: o.verdict,
                        why,
                    }
                })
                .collect();
            let label_misses: Vec<usize> = ev.tier_label_misses(t).collect();
            let labels: Vec<TierLabelResult> = t
                .def
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let from = t.label_from.get(i).copied().flatten();
                    TierLabelResult {
                        label: l.level.to_string(),
                        from,
                        in_force: from.is_none_or(|d| d <= ev.today),
                        held: ev.held.iter().any(|h| *h == *l.level),
                        source: l.source.reference.clone(),
                    }
                })
                .collect();
            TierResult {
                id: t.def.id.to_string(),
                title: t.def.title.clone(),
                min_strength: t.def.min_strength,
                reached: missing.is_empty() && label_misses.is_empty(),
                missing,
                labels,
            }
        })
        .collect()
}

fn market_results(ev: &Evaluation<'_>, schemes: &[SchemeResult]) -> Vec<MarketResult> {
    let cat = ev.cat;
    ev.markets
        .iter()
        .map(|m| {
            let title = cat.meta.jurisdictions.iter().find(|j| *j.id == *m).map(|j| j.title.clone()).unwrap_or_else(|| m.clone());
            let laws = ev.laws_for_market(m);
            let access = ev.market_access(m);
            let mut law_results = Vec::new();
            let (mut blocking, mut undecided, mut future) = (Vec::new(), Vec::new(), Vec::new());
            for &si in &laws {
                let l = &schemes[si];
                let sdef = &cat.schemes[si];
                let now = ev.schemes[si].now;
                let in_force = ev.law_in_force(si);
                let applies_now = |id: &str| {
                    sdef.def.provisions.iter().position(|p| *p.id == id).is_some_and(|i| sdef.provision_in_force(i, ev.today))
                };
                let failing: Vec<FailingProvision> = l
                    .provisions
                    .iter()
                    .filter(|p| p.status == Status::Mandatory && p.verdict == Verdict::NotMet)
                    .map(|p| FailingProvision { provision: p.id.clone(), title: p.title.clone(), reason: p.reason.clone(), obligation: p.obligation, mapping_basis: p.mapping_basis })
                    .collect();
                if l.in_scope {
                    if !ev.law_fully_in_force(si) {
                        future.push(format!("{} applies from {}", l.scheme, l.applies_from.map(|d| d.to_string()).unwrap_or_default()));
                    }
                    match now {
                        Verdict::NotMet => blocking.extend(
                            failing
                                .iter()
                                .filter(|f| applies_now(&f.provision))
                                .map(|f| format!("{} {} ({}) is not met", l.scheme, f.provision, f.title)),
                        ),
                        Verdict::Unknown => {
                            let open: Vec<&str> = l
                                .provisions
                                .iter()
                                .filter(|p| matches!(p.status, Status::Mandatory | Status::Unknown))
                                .filter(|p| p.verdict == Verdict::Unknown && applies_now(&p.id))
                                .map(|p| p.id.as_str())
                                .collect();
                            undecided.push(format!("{}: mandatory provisions undecided: {}", l.scheme, open.join(", ")));
                        }
                        _ => {}
                    }
                }
                law_results.push(MarketLaw {
                    scheme: l.scheme.clone(),
                    in_scope: l.in_scope,
                    scope_reason: l.scope_reason.clone(),
                    applies_from: l.applies_from,
                    in_force,
                    conformance: l.conformance,
                    failing,
                });
            }
            let mut statement = match access {
                _ if laws.is_empty() => {
                    format!("may be placed on the {title} market: yes; no mandatory consumer-IoT security law is catalogued for {m}")
                }
                Access::No => format!("may be placed on the {title} market: no, because {}", blocking.join("; ")),
                Access::Undetermined => format!("may be placed on the {title} market: undetermined, because {}", undecided.join("; ")),
                Access::Yes => format!("may be placed on the {title} market: yes"),
            };
            if !future.is_empty() {
                let fails_later: Vec<String> = law_results
                    .iter()
                    .filter(|l| l.in_scope && l.conformance == Verdict::NotMet && future.iter().any(|f| f.starts_with(&l.scheme)))
                    .map(|l| format!("{} would not be met ({} mandatory provisions failing)", l.scheme, l.failing.len()))
                    .collect();
                statement.push_str(&format!("; upcoming: {}", future.join(", ")));
                if !fails_later.is_empty() {
                    statement.push_str(&format!(" — as assessed today {}", fails_later.join(", ")));
                }
            }
            MarketResult { market: m.clone(), title, access, statement, laws: law_results }
        })
        .collect()
}

fn label_results(ev: &Evaluation<'_>, schemes: &[SchemeResult]) -> Vec<LabelResult> {
    ev.labels()
        .into_iter()
        .map(|l| {
            let note = match l.route {
                LabelRoute::Held => "held (declared in the profile)".to_string(),
                LabelRoute::Assessment => {
                    let (key, id) = l.label.split_once('#').unwrap_or((&l.label, ""));
                    let lr = schemes
                        .iter()
                        .find(|s| s.scheme == key)
                        .and_then(|s| s.levels.iter().find(|x| x.id == id));
                    match lr {
                        Some(x) if !l.obtainable => {
                            format!("{}; the scheme is closed to new labels", x.reason)
                        }
                        Some(x) => format!("{} (assurance: {})", x.reason, x.assurance),
                        None => String::new(),
                    }
                }
                LabelRoute::Recognition(ri) => match ev.cat.recognitions.get(ri) {
                    Some(r) => {
                        let closed = if l.obtainable {
                            ""
                        } else {
                            "; the scheme is closed to new labels"
                        };
                        format!(
                            "{} from {} ({}; {:?}){closed}",
                            r.def.kind,
                            &*r.def.from,
                            r.def.source.reference,
                            r.def.source.confidence
                        )
                    }
                    None => String::new(),
                },
            };
            let route = match l.route {
                LabelRoute::Held => "held",
                LabelRoute::Assessment => "assessment",
                LabelRoute::Recognition(_) => "recognition",
            };
            LabelResult {
                label: l.label,
                route: route.into(),
                note,
                obtainable: l.obtainable,
            }
        })
        .collect()
}

fn support(ev: &Evaluation<'_>, schemes: &[SchemeResult]) -> SupportView {
    let (status, end, days_left, placed) = ev.support();
    let years = match (placed, end) {
        (Some(p), Some(e)) => Some(whole_years(p, e)),
        _ => None,
    };
    let mut at_end = Vec::new();
    for s in schemes.iter().filter(|s| s.in_scope) {
        for p in s
            .provisions
            .iter()
            .filter(|p| p.phase == Phase::Sunsetting && p.verdict != Verdict::NotApplicable)
        {
            at_end.push(EndRequirement {
                scheme: s.scheme.clone(),
                provision: p.id.clone(),
                title: p.title.clone(),
                verdict: p.verdict,
                obligation: p.obligation,
                mapping_basis: p.mapping_basis,
            });
        }
    }
    let statement = match (status, end, days_left) {
        (SupportStatus::Unsupported, Some(e), Some(d)) => {
            format!("unsupported: support ended on {e} ({} days ago)", -d)
        }
        (SupportStatus::Supported | SupportStatus::EndingSoon, Some(e), Some(d)) => {
            format!("supported until {e} ({d} days left)")
        }
        _ => "no support-period end date is declared".to_string(),
    };
    SupportView {
        end_date: end,
        placed_on_market: placed,
        days_left,
        status,
        statement,
        years_of_support: years,
        cra_minimum_met: years.map(|y| y >= 5),
        at_end_of_support: at_end,
    }
}

/// The detailed assessment of an evaluation.
pub fn detail(ev: &Evaluation<'_>, profile: &Profile, evidence: &[Evidence]) -> Assessment {
    let cat = ev.cat;
    let outcomes = outcome_results(ev);
    let schemes = scheme_results(ev, &outcomes);
    let conformity = crate::cra_route::results(ev, &schemes);
    let tiers = tier_results(ev, &outcomes, &cat.tiers);
    let profiles = tier_results(ev, &outcomes, &cat.profiles);
    let markets = market_results(ev, &schemes);
    let labels = label_results(ev, &schemes);
    let mut gaps = Vec::new();
    if let Some(next) = tiers.iter().find(|t| !t.reached) {
        gaps.push(tier_gap(next, &outcomes, &schemes));
    }
    for m in markets.iter().filter(|m| m.access != Access::Yes) {
        gaps.push(market_gap(cat, m, &schemes, &outcomes));
    }
    let lifecycle = lifecycle(&outcomes);
    let support = support(ev, &schemes);
    let mut oc = Counts::default();
    for o in &outcomes {
        oc.add(o.verdict);
    }
    Assessment {
        format: FORMAT.into(),
        tool: format!("iotrust {}", env!("CARGO_PKG_VERSION")),
        catalog_version: cat.version().to_string(),
        evaluated_on: ev.today,
        profile: ProfileSummary {
            source: profile.source.clone(),
            identity: profile.identity.clone(),
            category: ev.category.clone().unwrap_or_default(),
            markets: ev.markets.clone(),
            labels_held: ev.held.clone(),
        },
        summary: Summary {
            tier: ev.tier().map(str::to_string),
            outcomes: oc,
        },
        outcomes,
        schemes,
        conformity,
        markets,
        labels,
        tiers,
        profiles,
        gaps,
        lifecycle,
        support,
        contradictions: ev.contradictions.clone(),
        evidence: evidence
            .iter()
            .map(|e| EvidenceSummary {
                file: e.file.clone(),
                kind: e.kind.clone(),
                tool: e.tool.clone(),
                strength: e.strength,
                facts: e.facts.len(),
                findings: e.findings.clone(),
            })
            .collect(),
    }
}

fn tier_gap(t: &TierResult, outcomes: &[OutcomeResult], schemes: &[SchemeResult]) -> Gap {
    let mut items: Vec<GapItem> = t
        .missing
        .iter()
        .map(|m| {
            let o = outcomes.iter().find(|o| o.id == m.outcome);
            GapItem {
                outcome: m.outcome.clone(),
                title: o.map(|o| o.title.clone()).unwrap_or_default(),
                verdict: m.verdict,
                why: m.why.clone(),
                needs: o.map(missing_facts).unwrap_or_default(),
                provisions: impact(&m.outcome, schemes),
            }
        })
        .collect();
    order(&mut items);
    Gap {
        target: format!("tier {}", t.id),
        summary: format!("{} outcome(s) to reach {}", items.len(), t.title),
        outcomes: items,
    }
}

/// How many applicable mandatory provisions (across in-scope schemes) rest on this outcome.
fn impact(outcome: &str, schemes: &[SchemeResult]) -> usize {
    schemes
        .iter()
        .filter(|s| s.in_scope)
        .flat_map(|s| s.provisions.iter())
        .filter(|p| {
            p.status == Status::Mandatory
                && p.verdict != Verdict::NotApplicable
                && p.outcomes.iter().any(|o| o == outcome)
        })
        .count()
}

fn order(items: &mut [GapItem]) {
    let rank = |v: Verdict| match v {
        Verdict::NotMet => 0,
        Verdict::Unknown => 1,
        _ => 2,
    };
    items.sort_by(|a, b| {
        rank(a.verdict)
            .cmp(&rank(b.verdict))
            .then(b.provisions.cmp(&a.provisions))
            .then(a.outcome.cmp(&b.outcome))
    });
}

/// Outcomes to fix for market access: per failing mandatory provision, the cheapest way
/// (its own outcomes, or a deemed-compliance route's provisions), united, smallest first.
fn market_gap(
    cat: &Catalog,
    m: &MarketResult,
    schemes: &[SchemeResult],
    outcomes: &[OutcomeResult],
) -> Gap {
    let bad = |id: &str| {
        outcomes
            .iter()
            .find(|o| o.id == id)
            .filter(|o| matches!(o.verdict, Verdict::NotMet | Verdict::Unknown))
    };
    let mut chosen: Vec<String> = Vec::new();
    for law in m.laws.iter().filter(|l| l.in_scope && l.in_force) {
        let Some(sr) = schemes.iter().find(|s| s.scheme == law.scheme) else {
            continue;
        };
        let Some(sdef) = cat.scheme_by_key(&law.scheme) else {
            continue;
        };
        for p in sr.provisions.iter().filter(|p| {
            p.status == Status::Mandatory && matches!(p.verdict, Verdict::NotMet | Verdict::Unknown)
        }) {
            let own: Vec<String> = p
                .outcomes
                .iter()
                .filter(|o| bad(o).is_some())
                .cloned()
                .collect();
            let mut options = vec![own];
            if let Some(def) = sdef.provision(&p.id) {
                for route in &def.routes {
                    let mut need = Vec::new();
                    for r in &route.all_of {
                        if let Some((_, rp)) = cat.provision_ref(r) {
                            need.extend(
                                rp.outcomes
                                    .iter()
                                    .filter(|o| bad(&o.outcome).is_some())
                                    .map(|o| o.outcome.to_string()),
                            );
                        }
                    }
                    if !route.all_of.is_empty() {
                        options.push(need);
                    }
                }
            }
            let best = options
                .into_iter()
                .filter(|o| !o.is_empty())
                .min_by_key(|o| o.iter().filter(|x| !chosen.contains(x)).count())
                .unwrap_or_default();
            for o in best {
                if !chosen.contains(&o) {
                    chosen.push(o);
                }
            }
        }
    }
    let mut items: Vec<GapItem> = chosen
        .iter()
        .filter_map(|id| bad(id))
        .map(|o| GapItem {
            outcome: o.id.clone(),
            title: o.title.clone(),
            verdict: o.verdict,
            why: o.reason.clone(),
            needs: missing_facts(o),
            provisions: impact(&o.id, schemes),
        })
        .collect();
    order(&mut items);
    Gap {
        target: format!("market {}", m.market),
        summary: format!(
            "{} outcome(s) to fix for the {} market",
            items.len(),
            m.title
        ),
        outcomes: items,
    }
}

/// For an unknown outcome, the facts a profile would have to supply to decide it.
fn missing_facts(o: &OutcomeResult) -> Vec<String> {
    if o.verdict != Verdict::Unknown {
        return Vec::new();
    }
    o.facts
        .iter()
        .filter(|f| f.value.is_none())
        .map(|f| f.fact.clone())
        .collect()
}

fn lifecycle(outcomes: &[OutcomeResult]) -> Vec<PhaseView> {
    Phase::ALL
        .iter()
        .map(|&phase| {
            let mut counts = Counts::default();
            let mut items = Vec::new();
            for o in outcomes.iter().filter(|o| o.phases.contains(&phase)) {
                counts.add(o.verdict);
                items.push(PhaseItem {
                    outcome: o.id.clone(),
                    verdict: o.verdict,
                });
            }
            PhaseView {
                phase,
                counts,
                outcomes: items,
            }
        })
        .collect()
}
