//! Profile + evidence + catalog + evaluation date -> [`Assessment`].

use iotrust_catalog::catalog::Scheme;
use iotrust_catalog::expr::{whole_years, FactId, FactValue};
use iotrust_catalog::model::{Assurance, Completeness, Phase, SchemeKind, Status, Strength};
use iotrust_catalog::Catalog;
use jiff::civil::Date;

use crate::evidence::Evidence;
use crate::profile::{Facts, Profile, Provenance};
use crate::result::*;

/// Strength a level's assurance demand requires of the facts behind it.
pub fn required_strength(a: Assurance) -> Strength {
    match a {
        Assurance::SelfDeclared => Strength::Declared,
        Assurance::LabReviewed => Strength::Documented,
        Assurance::LabTested | Assurance::PenetrationTested => Strength::LabTested,
    }
}

/// Days before the end of support at which a product counts as "ending soon".
pub const ENDING_SOON_DAYS: i64 = 180;

struct Ctx<'a> {
    cat: &'a Catalog,
    facts: &'a Facts,
    today: Date,
}

impl Ctx<'_> {
    fn fact_use(&self, id: FactId) -> FactUse {
        let name = self
            .cat
            .fact_def(id)
            .map(|f| f.id.to_string())
            .unwrap_or_default();
        match self.facts.get(id) {
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

/// Apply evidence to the declared facts: raise strength where evidence covers a declaration,
/// override with tested values, and record every disagreement as a contradiction.
pub fn merge_evidence(
    cat: &Catalog,
    profile: &Profile,
    evidence: &[Evidence],
) -> (Facts, Vec<Contradiction>) {
    let mut facts = profile.facts.clone();
    let mut contradictions = Vec::new();
    for item in &profile.inline_evidence {
        let label = format!("{}: {}", item.kind, item.title);
        for c in &item.covers {
            if let Some((id, _)) = cat.fact(c) {
                let i = usize::from(id);
                if let Some(Some(p)) = facts.provenance.get_mut(i) {
                    if p.strength < item.strength {
                        p.strength = item.strength;
                        p.source = format!("{} + {label}", p.source);
                    }
                }
            }
        }
        for (id, v) in &item.facts {
            record(
                cat,
                &mut facts,
                &mut contradictions,
                *id,
                v.clone(),
                Provenance {
                    strength: item.strength,
                    source: label.clone(),
                },
            );
        }
    }
    for ev in evidence {
        for (id, v, src) in &ev.facts {
            let source = if ev.tool.is_empty() {
                src.clone()
            } else {
                format!("{src} ({})", ev.tool)
            };
            record(
                cat,
                &mut facts,
                &mut contradictions,
                *id,
                v.clone(),
                Provenance {
                    strength: ev.strength,
                    source,
                },
            );
        }
    }
    (facts, contradictions)
}

fn record(
    cat: &Catalog,
    facts: &mut Facts,
    out: &mut Vec<Contradiction>,
    id: FactId,
    v: FactValue,
    p: Provenance,
) {
    if let Some((old, oldp)) = facts.get(id) {
        if *old != v && oldp.strength <= p.strength {
            let name = cat
                .fact_def(id)
                .map(|f| f.id.to_string())
                .unwrap_or_default();
            out.push(Contradiction {
                outcome: None,
                fact: Some(name.clone()),
                message: format!(
                    "`{name}` was {} as {old} ({}) but {} shows {v} ({})",
                    oldp.strength, oldp.source, p.strength, p.source
                ),
            });
        }
        if oldp.strength > p.strength {
            return;
        }
    }
    facts.set(id, v, p);
}

fn outcome_results(ctx: &Ctx<'_>) -> Vec<OutcomeResult> {
    let mut out = Vec::with_capacity(ctx.cat.outcomes.len());
    for o in &ctx.cat.outcomes {
        let applies = o
            .applies
            .as_ref()
            .map(|e| e.eval(&ctx.facts.values, ctx.today));
        let check = o.check.eval(&ctx.facts.values, ctx.today);
        let contradiction = o
            .contradiction
            .as_ref()
            .and_then(|e| e.eval(&ctx.facts.values, ctx.today))
            == Some(true);
        let mut ids: Vec<FactId> = o.check.facts().to_vec();
        if let Some(a) = &o.applies {
            ids.extend_from_slice(a.facts());
        }
        ids.sort_unstable();
        ids.dedup();
        let uses: Vec<FactUse> = ids.iter().map(|&i| ctx.fact_use(i)).collect();
        let (verdict, reason) = if contradiction {
            let msg = o
                .def
                .contradiction_message
                .clone()
                .unwrap_or_else(|| "tested evidence contradicts a declaration".into());
            (
                Verdict::NotMet,
                format!("contradiction: {msg} ({})", describe(&uses)),
            )
        } else {
            match (applies, check) {
                (Some(Some(false)), _) => (
                    Verdict::NotApplicable,
                    format!(
                        "does not apply: {} is false ({})",
                        o.def
                            .applies_when
                            .as_deref()
                            .map(|s| s.as_str())
                            .unwrap_or(""),
                        describe(&uses)
                    ),
                ),
                (_, Some(true)) => (Verdict::Met, format!("holds: {}", describe(&uses))),
                (Some(None), Some(false)) => (
                    Verdict::Unknown,
                    format!("applicability unknown (missing {})", missing(&uses)),
                ),
                (_, Some(false)) => (
                    Verdict::NotMet,
                    format!("fails `{}`: {}", o.check.source(), describe(&uses)),
                ),
                (_, None) => (
                    Verdict::Unknown,
                    format!("unknown: no value for {}", missing(&uses)),
                ),
            }
        };
        let strength = if verdict == Verdict::Met {
            // the weakest evidence among the facts the check read
            o.check
                .facts()
                .iter()
                .filter_map(|&i| ctx.facts.get(i).map(|(_, p)| p.strength))
                .min()
        } else {
            None
        };
        out.push(OutcomeResult {
            id: o.def.id.to_string(),
            title: o.def.title.clone(),
            phases: o.def.phases.clone(),
            verdict,
            reason,
            strength,
            contradiction,
            facts: uses,
        });
    }
    out
}

/// Base verdict of one provision from its conditions and outcomes (routes come later).
fn provision_verdict(
    ctx: &Ctx<'_>,
    s: &Scheme,
    p: &iotrust_catalog::model::ProvisionDef,
    outcomes: &[OutcomeResult],
) -> (Verdict, String, Option<Strength>) {
    if !p.known {
        return (
            Verdict::Unknown,
            "content of this provision is not established in the catalog".into(),
            None,
        );
    }
    let mut cond_unknown = Vec::new();
    for c in &p.conditions {
        match s
            .conditions
            .get(c.as_str())
            .map(|e| e.eval(&ctx.facts.values, ctx.today))
        {
            Some(Some(false)) => {
                let meaning = s
                    .def
                    .conditions
                    .iter()
                    .find(|d| d.id == *c)
                    .map(|d| d.meaning.as_str())
                    .unwrap_or("");
                return (
                    Verdict::NotApplicable,
                    format!("condition {} ({meaning}) does not hold", c.as_str()),
                    None,
                );
            }
            Some(None) => cond_unknown.push(c.as_str()),
            _ => {}
        }
    }
    if p.outcomes.is_empty() {
        let why = p.unmapped_reason.as_deref().unwrap_or("no outcome mapped");
        return (Verdict::Unknown, format!("not evaluated: {why}"), None);
    }
    let mut not_met = Vec::new();
    let mut unknown = Vec::new();
    let mut all_na = true;
    let mut strength: Option<Strength> = None;
    for m in &p.outcomes {
        let Some((i, _)) = ctx.cat.outcome(&m.outcome) else {
            continue;
        };
        let r = &outcomes[i];
        match r.verdict {
            Verdict::Met => {
                all_na = false;
                strength = Some(
                    strength.map_or(r.strength.unwrap_or(Strength::Declared), |s| {
                        s.min(r.strength.unwrap_or(Strength::Declared))
                    }),
                );
            }
            Verdict::NotMet => {
                all_na = false;
                not_met.push(i)
            }
            Verdict::Unknown => {
                all_na = false;
                unknown.push(i)
            }
            Verdict::NotApplicable => {}
        }
    }
    if !not_met.is_empty() {
        let parts: Vec<String> = not_met
            .iter()
            .map(|&i| format!("{}: {}", outcomes[i].id, outcomes[i].reason))
            .collect();
        return (
            Verdict::NotMet,
            format!("not met: {}", parts.join(" | ")),
            None,
        );
    }
    if !cond_unknown.is_empty() {
        return (
            Verdict::Unknown,
            format!(
                "applicability unknown: condition {} cannot be decided",
                cond_unknown.join(", ")
            ),
            None,
        );
    }
    if !unknown.is_empty() {
        let parts: Vec<String> = unknown
            .iter()
            .map(|&i| format!("{}: {}", outcomes[i].id, outcomes[i].reason))
            .collect();
        return (Verdict::Unknown, parts.join(" | "), None);
    }
    if all_na {
        return (
            Verdict::NotApplicable,
            "every outcome it maps to is not applicable to this product".into(),
            None,
        );
    }
    let ids: Vec<&str> = p.outcomes.iter().map(|m| m.outcome.as_str()).collect();
    (Verdict::Met, format!("met: {}", ids.join(", ")), strength)
}

/// Is the scheme's scope covering this product? (`None` = cannot tell.)
fn in_scope(
    ctx: &Ctx<'_>,
    s: &Scheme,
    category: Option<&str>,
    markets: &[String],
) -> (bool, String) {
    let jur = s.def.jurisdiction.as_str();
    let market_ok = jur == "INT"
        || markets.iter().any(|m| {
            m == jur
                || (jur == "EU" && matches!(m.as_str(), "DE" | "FI"))
                || (jur == "US" && m == "US-CA")
                || (jur == "US-CA" && m == "US")
        });
    if !market_ok {
        return (false, format!("the product is not sold in {jur}"));
    }
    let anc = category
        .map(|c| ctx.cat.category_ancestry(c))
        .unwrap_or_default();
    if !s.def.scope.includes.is_empty()
        && !s
            .def
            .scope
            .includes
            .iter()
            .any(|i| anc.contains(&i.as_str()))
    {
        return (
            false,
            format!(
                "category `{}` is outside the scheme's scope",
                category.unwrap_or("?")
            ),
        );
    }
    for (ex, unless) in s.def.scope.excludes.iter().zip(&s.unless) {
        if ex.categories.iter().any(|c| anc.contains(&c.as_str())) {
            let lifted = unless
                .as_ref()
                .and_then(|e| e.eval(&ctx.facts.values, ctx.today))
                == Some(true);
            if !lifted {
                return (false, format!("excluded: {}", ex.reason));
            }
        }
    }
    if let Some(req) = &s.requires {
        if req.eval(&ctx.facts.values, ctx.today) == Some(false) {
            return (
                false,
                format!("outside scope: `{}` does not hold", req.source()),
            );
        }
    }
    (true, "in scope".into())
}

fn level_results(s: &Scheme, provs: &[ProvisionResult], held: &[String]) -> Vec<LevelResult> {
    let mut out: Vec<LevelResult> = Vec::new();
    for (li, l) in s.def.levels.iter().enumerate() {
        let key = format!("{}#{}", s.key, &*l.id);
        let need = required_strength(l.assurance);
        let idx = s.level_provisions.get(li).cloned().unwrap_or_default();
        let mut failing = Vec::new();
        let mut unknown = Vec::new();
        let mut weak = Vec::new();
        for &i in &idx {
            let Some(pr) = provs.get(i) else { continue };
            match pr.verdict {
                Verdict::NotMet => failing.push(pr.id.clone()),
                Verdict::Unknown => unknown.push(pr.id.clone()),
                Verdict::Met if pr.via.is_none() && pr.strength.is_some_and(|st| st < need) => {
                    weak.push(pr.id.clone())
                }
                _ => {}
            }
        }
        let lower_ok = l.includes.iter().all(|inc| {
            out.iter()
                .any(|r| r.id == **inc && r.verdict == Verdict::Met)
        });
        let (verdict, reason) = if held.contains(&key) {
            (Verdict::Met, "held (declared in the profile)".to_string())
        } else if !failing.is_empty() {
            (
                Verdict::NotMet,
                format!("provisions not met: {}", failing.join(", ")),
            )
        } else if !lower_ok {
            (
                Verdict::NotMet,
                "a level it builds on is not reached".to_string(),
            )
        } else if l.completeness == Completeness::Unknown {
            (
                Verdict::Unknown,
                "the level's requirements are not established in the catalog".to_string(),
            )
        } else if !unknown.is_empty() {
            (
                Verdict::Unknown,
                format!("undecided provisions: {}", unknown.join(", ")),
            )
        } else if !weak.is_empty() {
            (
                Verdict::NotMet,
                format!(
                    "needs {} evidence ({}): {} rest on weaker evidence",
                    need,
                    l.assurance,
                    weak.join(", ")
                ),
            )
        } else if l.completeness == Completeness::Partial {
            (Verdict::Met, format!("every known requirement met with {need} evidence; the level's full requirement list is not established"))
        } else {
            (
                Verdict::Met,
                format!("every provision met with {need} evidence"),
            )
        };
        out.push(LevelResult {
            id: l.id.to_string(),
            title: l.title.clone(),
            assurance: l.assurance,
            verdict,
            reason,
        });
    }
    out
}

/// Evaluate `profile` (with its loaded `evidence`) against the catalog on `today`.
pub fn assess(cat: &Catalog, profile: &Profile, evidence: &[Evidence], today: Date) -> Assessment {
    let (facts, mut contradictions) = merge_evidence(cat, profile, evidence);
    let ctx = Ctx {
        cat,
        facts: &facts,
        today,
    };
    let outcomes = outcome_results(&ctx);
    for o in outcomes.iter().filter(|o| o.contradiction) {
        contradictions.push(Contradiction {
            outcome: Some(o.id.clone()),
            fact: None,
            message: o.reason.clone(),
        });
    }
    let category = profile.category(cat);
    let markets = profile.markets(cat);
    let held: Vec<String> = profile
        .labels
        .iter()
        .filter(|l| l.valid_until.is_none_or(|d| d >= today))
        .map(|l| l.level.clone())
        .collect();

    // pass 1: every scheme's provisions, without routes
    let mut schemes: Vec<SchemeResult> = cat
        .schemes
        .iter()
        .map(|s| {
            let (scope_ok, scope_reason) = in_scope(&ctx, s, category.as_deref(), &markets);
            let provisions = s
                .def
                .provisions
                .iter()
                .filter(|p| p.status != Status::Void)
                .map(|p| {
                    let (verdict, reason, strength) = provision_verdict(&ctx, s, p, &outcomes);
                    ProvisionResult {
                        id: p.id.to_string(),
                        title: p.title.clone(),
                        status: p.status,
                        notation: Scheme::status_notation(p),
                        phase: p.phase,
                        verdict,
                        reason,
                        strength,
                        via: None,
                        outcomes: p.outcomes.iter().map(|m| m.outcome.to_string()).collect(),
                    }
                })
                .collect();
            SchemeResult {
                scheme: s.key.clone(),
                title: s.def.title.clone(),
                kind: s.def.kind,
                jurisdiction: s.def.jurisdiction.to_string(),
                in_scope: scope_ok,
                scope_reason,
                applies_from: s.applies_from.or(s.in_force),
                conformance: Verdict::Unknown,
                conformance_reason: String::new(),
                counts: Counts::default(),
                levels: Vec::new(),
                highest_level: None,
                provisions,
            }
        })
        .collect();
    // levels (without routes) so that level routes can see them
    for (s, r) in cat.schemes.iter().zip(schemes.iter_mut()) {
        r.levels = level_results(s, &r.provisions, &held);
    }
    // pass 2: alternative routes (deemed compliance, label routes)
    let mut upgrades: Vec<(usize, usize, String)> = Vec::new();
    for (si, s) in cat.schemes.iter().enumerate() {
        for (pi, p) in s
            .def
            .provisions
            .iter()
            .filter(|p| p.status != Status::Void)
            .enumerate()
        {
            if p.routes.is_empty() || schemes[si].provisions[pi].verdict == Verdict::Met {
                continue;
            }
            for route in &p.routes {
                let ok = if let Some(level) = &route.level {
                    let (lk, lid) = level.split_once('#').unwrap_or((level.as_str(), ""));
                    held.iter().any(|h| h == level.as_str())
                        || cat.scheme_index(lk).is_some_and(|j| {
                            schemes[j]
                                .levels
                                .iter()
                                .any(|l| l.id == lid && l.verdict == Verdict::Met)
                        })
                } else {
                    route.all_of.iter().all(|r| {
                        let Some((sk, pid)) = r.split_once('#') else {
                            return false;
                        };
                        cat.scheme_index(sk).is_some_and(|j| {
                            schemes[j].provisions.iter().any(|x| {
                                x.id == pid
                                    && matches!(x.verdict, Verdict::Met | Verdict::NotApplicable)
                            })
                        })
                    })
                };
                if ok {
                    upgrades.push((si, pi, format!("{}: {}", &*route.id, route.title)));
                    break;
                }
            }
        }
    }
    for (si, pi, via) in upgrades {
        let pr = &mut schemes[si].provisions[pi];
        pr.reason = format!("met through route {via} (own outcomes: {})", pr.reason);
        pr.verdict = Verdict::Met;
        pr.via = Some(via);
    }
    // conformance and levels
    for (s, r) in cat.schemes.iter().zip(schemes.iter_mut()) {
        r.levels = level_results(s, &r.provisions, &held);
        r.highest_level = r
            .levels
            .iter()
            .rev()
            .find(|l| l.verdict == Verdict::Met)
            .map(|l| l.id.clone());
        let mut c = Counts::default();
        for p in &r.provisions {
            c.add(p.verdict);
        }
        r.counts = c;
        let mandatory: Vec<&ProvisionResult> = r
            .provisions
            .iter()
            .filter(|p| p.status == Status::Mandatory)
            .collect();
        let failing: Vec<&str> = mandatory
            .iter()
            .filter(|p| p.verdict == Verdict::NotMet)
            .map(|p| p.id.as_str())
            .collect();
        let undecided: Vec<&str> = mandatory
            .iter()
            .filter(|p| p.verdict == Verdict::Unknown)
            .map(|p| p.id.as_str())
            .collect();
        (r.conformance, r.conformance_reason) = if !r.in_scope {
            (Verdict::NotApplicable, r.scope_reason.clone())
        } else if !failing.is_empty() {
            (
                Verdict::NotMet,
                format!("mandatory provisions not met: {}", failing.join(", ")),
            )
        } else if !undecided.is_empty() {
            (
                Verdict::Unknown,
                format!("mandatory provisions undecided: {}", undecided.join(", ")),
            )
        } else if mandatory.is_empty() {
            (
                Verdict::Unknown,
                "the scheme has no mandatory provisions to decide conformance".into(),
            )
        } else {
            (
                Verdict::Met,
                "every applicable mandatory provision is met".into(),
            )
        };
    }

    let tiers = tier_results(cat, &outcomes, &cat.tiers);
    let profiles = tier_results(cat, &outcomes, &cat.profiles);
    let tier = tiers
        .iter()
        .take_while(|t| t.reached)
        .last()
        .map(|t| t.id.clone());
    let markets_r = market_results(cat, &schemes, &markets, today);
    let labels = label_results(cat, &schemes, &held, category.as_deref(), today);
    let mut gaps = Vec::new();
    if let Some(next) = tiers.iter().find(|t| !t.reached) {
        gaps.push(tier_gap(cat, next, &outcomes, &schemes));
    }
    for m in markets_r.iter().filter(|m| m.access != Access::Yes) {
        gaps.push(market_gap(cat, m, &schemes, &outcomes));
    }
    let lifecycle = lifecycle(&outcomes);
    let support = support(cat, &ctx, &schemes);
    let mut oc = Counts::default();
    for o in &outcomes {
        oc.add(o.verdict);
    }
    Assessment {
        format: FORMAT.into(),
        tool: format!("iotrust {}", env!("CARGO_PKG_VERSION")),
        catalog_version: cat.version().to_string(),
        evaluated_on: today,
        profile: ProfileSummary {
            source: profile.source.clone(),
            identity: profile.identity.clone(),
            category: category.unwrap_or_default(),
            markets,
            labels_held: held,
        },
        summary: Summary { tier, outcomes: oc },
        outcomes,
        schemes,
        markets: markets_r,
        labels,
        tiers,
        profiles,
        gaps,
        lifecycle,
        support,
        contradictions,
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

fn tier_results(
    cat: &Catalog,
    outcomes: &[OutcomeResult],
    tiers: &[iotrust_catalog::Tier],
) -> Vec<TierResult> {
    tiers
        .iter()
        .map(|t| {
            let mut missing = Vec::new();
            for &i in &t.outcomes {
                let o = &outcomes[i];
                let why = match o.verdict {
                    Verdict::NotApplicable => continue,
                    Verdict::Met => match o.strength {
                        Some(s) if s < t.def.min_strength => {
                            format!("backed only by {s} evidence, needs {}", t.def.min_strength)
                        }
                        _ => continue,
                    },
                    Verdict::NotMet => "not met".to_string(),
                    Verdict::Unknown => "unknown".to_string(),
                };
                missing.push(TierMiss {
                    outcome: o.id.clone(),
                    verdict: o.verdict,
                    why,
                });
            }
            let _ = cat;
            TierResult {
                id: t.def.id.to_string(),
                title: t.def.title.clone(),
                min_strength: t.def.min_strength,
                reached: missing.is_empty(),
                missing,
            }
        })
        .collect()
}

fn laws_for_market<'a>(schemes: &'a [SchemeResult], market: &str) -> Vec<&'a SchemeResult> {
    schemes
        .iter()
        .filter(|s| s.kind == SchemeKind::MandatoryLaw)
        .filter(|s| {
            s.jurisdiction == market
                || (s.jurisdiction == "EU" && matches!(market, "DE" | "FI"))
                || (s.jurisdiction == "US-CA" && matches!(market, "US" | "US-CA"))
        })
        .collect()
}

fn market_results(
    cat: &Catalog,
    schemes: &[SchemeResult],
    markets: &[String],
    today: Date,
) -> Vec<MarketResult> {
    markets
        .iter()
        .map(|m| {
            let title = cat.meta.jurisdictions.iter().find(|j| *j.id == *m).map(|j| j.title.clone()).unwrap_or_else(|| m.clone());
            let laws = laws_for_market(schemes, m);
            let mut law_results = Vec::new();
            let mut blocking = Vec::new();
            let mut undecided = Vec::new();
            let mut future = Vec::new();
            for l in &laws {
                let in_force = l.applies_from.is_none_or(|d| d <= today);
                let failing: Vec<FailingProvision> = l
                    .provisions
                    .iter()
                    .filter(|p| p.status == Status::Mandatory && p.verdict == Verdict::NotMet)
                    .map(|p| FailingProvision { provision: p.id.clone(), title: p.title.clone(), reason: p.reason.clone() })
                    .collect();
                if l.in_scope {
                    if !in_force {
                        future.push(format!("{} applies from {}", l.scheme, l.applies_from.map(|d| d.to_string()).unwrap_or_default()));
                    } else if l.conformance == Verdict::NotMet {
                        for f in &failing {
                            blocking.push(format!("{} {} ({}) is not met", l.scheme, f.provision, f.title));
                        }
                    } else if l.conformance == Verdict::Unknown {
                        undecided.push(format!("{}: {}", l.scheme, l.conformance_reason));
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
            let (access, mut statement) = if laws.is_empty() {
                (Access::Yes, format!("may be placed on the {title} market: yes; no mandatory consumer-IoT security law is catalogued for {m}"))
            } else if !blocking.is_empty() {
                (Access::No, format!("may be placed on the {title} market: no, because {}", blocking.join("; ")))
            } else if !undecided.is_empty() {
                (Access::Undetermined, format!("may be placed on the {title} market: undetermined, because {}", undecided.join("; ")))
            } else {
                (Access::Yes, format!("may be placed on the {title} market: yes"))
            };
            if !future.is_empty() {
                let fails_later: Vec<String> = law_results
                    .iter()
                    .filter(|l| !l.in_force && l.in_scope && l.conformance == Verdict::NotMet)
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

fn label_results(
    cat: &Catalog,
    schemes: &[SchemeResult],
    held: &[String],
    category: Option<&str>,
    today: Date,
) -> Vec<LabelResult> {
    let mut out: Vec<LabelResult> = Vec::new();
    let mut reached: Vec<String> = held.to_vec();
    for s in schemes
        .iter()
        .filter(|s| s.kind == SchemeKind::VoluntaryLabel)
    {
        let status = cat.scheme_by_key(&s.scheme).map(|x| x.def.status);
        for l in s.levels.iter().filter(|l| l.verdict == Verdict::Met) {
            let key = format!("{}#{}", s.scheme, l.id);
            let closed = status == Some(iotrust_catalog::model::SchemeStatus::Closed);
            if !held.contains(&key) {
                reached.push(key.clone());
            }
            out.push(LabelResult {
                label: key.clone(),
                route: if held.contains(&key) {
                    "held".into()
                } else {
                    "assessment".into()
                },
                note: if closed {
                    format!("{}; the scheme is closed to new labels", l.reason)
                } else {
                    format!("{} (assurance: {})", l.reason, l.assurance)
                },
                obtainable: !closed || held.contains(&key),
            });
        }
    }
    let anc = category
        .map(|c| cat.category_ancestry(c))
        .unwrap_or_default();
    for r in cat.recognitions.iter().filter(|r| r.in_effect(today)) {
        if !reached.iter().any(|x| *x == *r.def.from) {
            continue;
        }
        if let Some(sc) = &r.def.scope {
            if !sc.categories.iter().any(|c| anc.contains(&c.as_str())) {
                continue;
            }
        }
        if out
            .iter()
            .any(|l| l.label == *r.def.to && l.route != "recognition")
        {
            continue;
        }
        let to_scheme = r.def.to.split('#').next().unwrap_or("");
        let closed = cat
            .scheme_by_key(to_scheme)
            .is_some_and(|s| s.def.status == iotrust_catalog::model::SchemeStatus::Closed);
        out.push(LabelResult {
            label: r.def.to.to_string(),
            route: "recognition".into(),
            note: format!(
                "{} from {} ({}; {:?})",
                r.def.kind, &*r.def.from, r.def.source.reference, r.def.source.confidence
            ),
            obtainable: !closed,
        });
    }
    out
}

/// Outcomes to fix for a tier: each missing one is necessary, so the set is minimal.
fn tier_gap(
    cat: &Catalog,
    t: &TierResult,
    outcomes: &[OutcomeResult],
    schemes: &[SchemeResult],
) -> Gap {
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
                provisions: impact(cat, &m.outcome, schemes),
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
fn impact(cat: &Catalog, outcome: &str, schemes: &[SchemeResult]) -> usize {
    let _ = cat;
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
            provisions: impact(cat, &o.id, schemes),
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

fn support(cat: &Catalog, ctx: &Ctx<'_>, schemes: &[SchemeResult]) -> SupportView {
    let date_fact = |name: &str| match cat.fact(name).and_then(|(id, _)| ctx.facts.get(id)) {
        Some((FactValue::Date(d), _)) => Some(*d),
        _ => None,
    };
    let end = date_fact("support.end_date");
    let placed = date_fact("product.placed_on_market");
    let days_left = end
        .and_then(|e| ctx.today.until((jiff::Unit::Day, e)).ok())
        .map(|s| i64::from(s.get_days()));
    let status = match days_left {
        None => SupportStatus::Unknown,
        Some(d) if d < 0 => SupportStatus::Unsupported,
        Some(d) if d <= ENDING_SOON_DAYS => SupportStatus::EndingSoon,
        Some(_) => SupportStatus::Supported,
    };
    let years = match (placed, end) {
        (Some(p), Some(e)) => Some(whole_years(p, e)),
        _ => None,
    };
    let cra_minimum_met = years.map(|y| y >= 5);
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
            });
        }
    }
    let statement = match (status, end, days_left) {
        (SupportStatus::Unknown, _, _) => "no support-period end date is declared".to_string(),
        (SupportStatus::Unsupported, Some(e), Some(d)) => {
            format!("unsupported: support ended on {e} ({} days ago)", -d)
        }
        (_, Some(e), Some(d)) => format!("supported until {e} ({d} days left)"),
        _ => String::new(),
    };
    SupportView {
        end_date: end,
        placed_on_market: placed,
        days_left,
        status,
        statement,
        years_of_support: years,
        cra_minimum_met,
        at_end_of_support: at_end,
    }
}
