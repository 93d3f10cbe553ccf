//! The compact evaluation: every verdict the assessment reports, computed without building a
//! single string. Reports (`explain::assess`) and bulk summaries both read their verdicts from
//! here, so the fast path and the detailed path cannot disagree.

use iotrust_catalog::catalog::Scheme;
use iotrust_catalog::expr::{FactId, FactValue};
use iotrust_catalog::model::{
    Assurance, Completeness, ProvisionDef, SchemeKind, SchemeStatus, Status, Strength,
};
use iotrust_catalog::Catalog;
use jiff::civil::Date;

use crate::evidence::Evidence;
use crate::profile::{Facts, Profile, Provenance};
use crate::result::{Access, Contradiction, SupportStatus, Verdict};

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

#[derive(Clone, Copy, Debug)]
pub struct OutcomeCore {
    pub verdict: Verdict,
    /// For a met outcome, the weakest evidence among the facts its check read.
    pub strength: Option<Strength>,
    pub contradiction: bool,
    /// `applies_when`: None when absent, Some(None) when unknown.
    pub applies: Option<Option<bool>>,
}

/// Why a provision got its verdict (rendered into words by the report layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvWhy {
    Void,
    ContentUnknown,
    /// The condition at this index of `conditions` does not hold.
    ConditionFalse(usize),
    Unmapped,
    OutcomesNotMet,
    ConditionUnknown,
    OutcomesUnknown,
    AllNotApplicable,
    Met,
    /// Met, and so it does not matter that a condition cannot be decided.
    MetConditionUnknown,
    /// Met through the route at this index of `routes`.
    Route(usize),
    /// Not applicable: derogated by the exclusion at this index of `scope.excludes`.
    Derogated(usize),
    /// Met through the partial recognition arrangement at this index of `catalog.recognitions`.
    Recognition(usize),
}

impl ProvWhy {
    /// The machine code of this reason (`reason_code` in assessments), stable across wording
    /// changes: the registry and reports read it instead of the English reason.
    pub fn code(self) -> &'static str {
        match self {
            ProvWhy::Void => "void",
            ProvWhy::ContentUnknown => "content-unknown",
            ProvWhy::ConditionFalse(_) => "condition-false",
            ProvWhy::Unmapped => "unmapped",
            ProvWhy::OutcomesNotMet => "outcomes-not-met",
            ProvWhy::ConditionUnknown => "condition-unknown",
            ProvWhy::OutcomesUnknown => "outcomes-unknown",
            ProvWhy::AllNotApplicable => "all-not-applicable",
            ProvWhy::Met => "met",
            ProvWhy::MetConditionUnknown => "met-condition-unknown",
            ProvWhy::Route(_) => "route",
            ProvWhy::Derogated(_) => "derogated",
            ProvWhy::Recognition(_) => "recognition",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct ProvCore {
    pub verdict: Verdict,
    pub strength: Option<Strength>,
    pub why: ProvWhy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeWhy {
    InScope,
    Market,
    Category,
    /// Excluded by the exclusion at this index.
    Excluded(usize),
    Requires,
}

impl ScopeWhy {
    /// Machine code (`scope_code`).
    pub fn code(self) -> &'static str {
        match self {
            ScopeWhy::InScope => "in-scope",
            ScopeWhy::Market => "market",
            ScopeWhy::Category => "category",
            ScopeWhy::Excluded(_) => "excluded",
            ScopeWhy::Requires => "requires",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelWhy {
    Held,
    OutOfScope,
    LowerLevelUnknown,
    NothingApplies,
    ProvisionsNotMet,
    LowerLevelMissing,
    ContentUnknown,
    Undecided,
    WeakEvidence,
    MetPartial,
    Met,
}

impl LevelWhy {
    /// Machine code (`reason_code` of a level).
    pub fn code(self) -> &'static str {
        match self {
            LevelWhy::Held => "held",
            LevelWhy::OutOfScope => "out-of-scope",
            LevelWhy::LowerLevelUnknown => "lower-level-unknown",
            LevelWhy::NothingApplies => "nothing-applies",
            LevelWhy::ProvisionsNotMet => "provisions-not-met",
            LevelWhy::LowerLevelMissing => "lower-level-missing",
            LevelWhy::ContentUnknown => "content-unknown",
            LevelWhy::Undecided => "undecided",
            LevelWhy::WeakEvidence => "weak-evidence",
            LevelWhy::MetPartial => "met-partial",
            LevelWhy::Met => "met",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct LevelCore {
    pub verdict: Verdict,
    pub why: LevelWhy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConformanceWhy {
    OutOfScope,
    Failing,
    Undecided,
    NoMandatory,
    Conformant,
}

impl ConformanceWhy {
    /// Machine code (`conformance_code`).
    pub fn code(self) -> &'static str {
        match self {
            ConformanceWhy::OutOfScope => "out-of-scope",
            ConformanceWhy::Failing => "failing",
            ConformanceWhy::Undecided => "undecided",
            ConformanceWhy::NoMandatory => "no-mandatory",
            ConformanceWhy::Conformant => "conformant",
        }
    }
}

#[derive(Clone, Debug)]
pub struct SchemeCore {
    pub scope: ScopeWhy,
    /// Aligned with `def.provisions` (void provisions included, verdict not applicable).
    pub provisions: Vec<ProvCore>,
    pub levels: Vec<LevelCore>,
    pub conformance: Verdict,
    pub conformance_why: ConformanceWhy,
    /// Conformance counting only the mandatory provisions that apply on the evaluation date
    /// (not applicable when none applies yet, or out of scope).
    pub now: Verdict,
}

impl SchemeCore {
    pub fn in_scope(&self) -> bool {
        self.scope == ScopeWhy::InScope
    }
    /// Index of the highest level reached.
    pub fn highest_level(&self) -> Option<usize> {
        self.levels.iter().rposition(|l| l.verdict == Verdict::Met)
    }
}

/// How a label is within reach.
#[derive(Clone, Debug)]
pub enum LabelRoute {
    Held,
    Assessment,
    /// Through the recognition arrangement at this index of `catalog.recognitions`.
    Recognition(usize),
}

#[derive(Clone, Debug)]
pub struct LabelCore {
    /// `scheme@version#level`
    pub label: String,
    pub route: LabelRoute,
    pub obtainable: bool,
}

/// The whole evaluation of one product.
pub struct Evaluation<'c> {
    pub cat: &'c Catalog,
    pub today: Date,
    pub facts: Facts,
    pub contradictions: Vec<Contradiction>,
    pub outcomes: Vec<OutcomeCore>,
    pub schemes: Vec<SchemeCore>,
    /// Labels held and still valid on `today`.
    pub held: Vec<String>,
    pub category: Option<String>,
    pub markets: Vec<String>,
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
    let mut merged_table = false;
    // Services a probe found fill the [[interface]] table, and its facts are derived again
    // (a profile without the table takes the probe's facts as they are, below).
    if !profile.interfaces.is_empty() && evidence.iter().any(|e| !e.services.is_empty()) {
        let (rows, found) = crate::observed::merge(&profile.interfaces, evidence);
        let files: Vec<&str> = evidence
            .iter()
            .filter(|e| !e.services.is_empty())
            .map(|e| e.file.as_str())
            .collect();
        crate::interfaces::rederive(cat, profile, &rows, &files, &mut facts);
        contradictions.extend(found);
        merged_table = true;
    }
    for item in &profile.inline_evidence {
        let label = format!("{}: {}", item.kind, item.title);
        for c in &item.covers {
            if let Some((id, _)) = cat.fact(c) {
                if let Some(Some(p)) = facts.provenance.get_mut(usize::from(id)) {
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
                    note: None,
                },
            );
        }
    }
    for ev in evidence {
        for (id, v, src) in &ev.facts {
            // The merged table already holds what the probe saw of the interfaces; its
            // decided values stand (a value it leaves undecided is taken from the probe).
            if merged_table
                && cat.fact_def(*id).and_then(|d| d.derived)
                    == Some(iotrust_catalog::model::Derived::Interfaces)
                && facts.get(*id).is_some()
            {
                continue;
            }
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
                    note: None,
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

fn outcomes(cat: &Catalog, facts: &Facts, today: Date) -> Vec<OutcomeCore> {
    cat.outcomes
        .iter()
        .map(|o| {
            let applies = o.applies.as_ref().map(|e| e.eval(&facts.values, today));
            let check = o.check.eval(&facts.values, today);
            let contradiction = o
                .contradiction
                .as_ref()
                .and_then(|e| e.eval(&facts.values, today))
                == Some(true);
            let verdict = if contradiction {
                Verdict::NotMet
            } else {
                match (applies, check) {
                    (Some(Some(false)), _) => Verdict::NotApplicable,
                    (_, Some(true)) => Verdict::Met,
                    (Some(None), Some(false)) => Verdict::Unknown,
                    (_, Some(false)) => Verdict::NotMet,
                    (_, None) => Verdict::Unknown,
                }
            };
            let strength = if verdict == Verdict::Met {
                o.check
                    .facts()
                    .iter()
                    .filter_map(|&i| facts.get(i).map(|(_, p)| p.strength))
                    .min()
            } else {
                None
            };
            OutcomeCore {
                verdict,
                strength,
                contradiction,
                applies,
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn provision(
    s: &Scheme,
    pi: usize,
    p: &ProvisionDef,
    facts: &Facts,
    today: Date,
    oc: &[OutcomeCore],
    anc: &[&str],
) -> ProvCore {
    let core = |verdict, why| ProvCore {
        verdict,
        strength: None,
        why,
    };
    if p.status == Status::Void {
        return core(Verdict::NotApplicable, ProvWhy::Void);
    }
    if let Some(i) = derogation(s, pi, facts, today, anc) {
        return core(Verdict::NotApplicable, ProvWhy::Derogated(i));
    }
    if !p.known {
        return core(Verdict::Unknown, ProvWhy::ContentUnknown);
    }
    let mut cond_unknown = false;
    for (i, e) in s
        .provision_conditions
        .get(pi)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        match e.eval(&facts.values, today) {
            Some(false) => return core(Verdict::NotApplicable, ProvWhy::ConditionFalse(i)),
            None => cond_unknown = true,
            _ => {}
        }
    }
    let mapped = s
        .provision_outcomes
        .get(pi)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if mapped.is_empty() {
        return core(Verdict::Unknown, ProvWhy::Unmapped);
    }
    let (mut not_met, mut unknown, mut all_na) = (false, false, true);
    let mut strength: Option<Strength> = None;
    for &i in mapped {
        let r = &oc[i];
        match r.verdict {
            Verdict::Met => {
                all_na = false;
                let st = r.strength.unwrap_or(Strength::Declared);
                strength = Some(strength.map_or(st, |s| s.min(st)));
            }
            Verdict::NotMet => {
                all_na = false;
                not_met = true;
            }
            Verdict::Unknown => {
                all_na = false;
                unknown = true;
            }
            Verdict::NotApplicable => {}
        }
    }
    // An undecided condition makes a failing provision unknown, never not met: it may not
    // apply at all. A provision whose outcomes hold is met whether or not it applies.
    if cond_unknown && (not_met || unknown) {
        core(Verdict::Unknown, ProvWhy::ConditionUnknown)
    } else if not_met {
        core(Verdict::NotMet, ProvWhy::OutcomesNotMet)
    } else if unknown {
        core(Verdict::Unknown, ProvWhy::OutcomesUnknown)
    } else if all_na {
        core(Verdict::NotApplicable, ProvWhy::AllNotApplicable)
    } else {
        ProvCore {
            verdict: Verdict::Met,
            strength,
            why: if cond_unknown {
                ProvWhy::MetConditionUnknown
            } else {
                ProvWhy::Met
            },
        }
    }
}

/// Does an exclusion applying to the product's category derogate provision `pi`? The index
/// of the first one that does.
fn derogation(s: &Scheme, pi: usize, facts: &Facts, today: Date, anc: &[&str]) -> Option<usize> {
    s.provision_derogations.get(pi)?.iter().copied().find(|&i| {
        let ex = &s.def.scope.excludes[i];
        ex.categories.iter().any(|c| anc.contains(&c.as_str()))
            && s.unless
                .get(i)
                .and_then(Option::as_ref)
                .and_then(|e| e.eval(&facts.values, today))
                != Some(true)
    })
}

fn scope(
    cat: &Catalog,
    s: &Scheme,
    facts: &Facts,
    today: Date,
    category: Option<&str>,
    markets: &[String],
) -> ScopeWhy {
    let jur = s.def.jurisdiction.as_str();
    if jur != "INT" && !markets.iter().any(|m| cat.market_covers(m, jur)) {
        return ScopeWhy::Market;
    }
    let anc = category
        .map(|c| cat.category_ancestry(c))
        .unwrap_or_default();
    if !s.def.scope.includes.is_empty()
        && !s
            .def
            .scope
            .includes
            .iter()
            .any(|i| anc.contains(&i.as_str()))
    {
        return ScopeWhy::Category;
    }
    for (i, (ex, unless)) in s.def.scope.excludes.iter().zip(&s.unless).enumerate() {
        // a derogation from some provisions keeps the scheme in scope
        if !ex.provisions.is_empty() {
            continue;
        }
        if ex.categories.iter().any(|c| anc.contains(&c.as_str()))
            && unless.as_ref().and_then(|e| e.eval(&facts.values, today)) != Some(true)
        {
            return ScopeWhy::Excluded(i);
        }
    }
    if s.requires
        .as_ref()
        .and_then(|e| e.eval(&facts.values, today))
        == Some(false)
    {
        return ScopeWhy::Requires;
    }
    ScopeWhy::InScope
}

/// Levels held directly, or implied by a held level that includes them (a CLS L2 label
/// holder also holds L1).
fn held_levels(s: &Scheme, held: &[String]) -> Vec<bool> {
    let mut out = vec![false; s.def.levels.len()];
    let mut stack: Vec<usize> = s
        .def
        .levels
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            held.iter().any(|h| {
                h.split_once('#')
                    .is_some_and(|(k, id)| k == s.key && id == *l.id)
            })
        })
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = stack.pop() {
        if out[i] {
            continue;
        }
        out[i] = true;
        for inc in &s.def.levels[i].includes {
            if let Some(j) = s.def.levels.iter().position(|x| x.id == *inc) {
                stack.push(j);
            }
        }
    }
    out
}

fn levels(s: &Scheme, provs: &[ProvCore], held: &[String], in_scope: bool) -> Vec<LevelCore> {
    let held = held_levels(s, held);
    let mut out: Vec<LevelCore> = Vec::with_capacity(s.def.levels.len());
    for (li, l) in s.def.levels.iter().enumerate() {
        let need = required_strength(l.assurance);
        // provisions that lower levels bring keep their own assurance demand
        let inherited: Vec<usize> = l
            .includes
            .iter()
            .filter_map(|inc| s.def.levels.iter().position(|x| x.id == *inc))
            .flat_map(|j| s.level_provisions.get(j).cloned().unwrap_or_default())
            .collect();
        let (mut failing, mut unknown, mut weak, mut any_met) = (false, false, false, false);
        for &i in s.level_provisions.get(li).map(Vec::as_slice).unwrap_or(&[]) {
            let Some(pr) = provs.get(i) else { continue };
            match pr.verdict {
                Verdict::NotMet => failing = true,
                Verdict::Unknown => unknown = true,
                Verdict::Met => {
                    any_met = true;
                    let routed = matches!(pr.why, ProvWhy::Route(_) | ProvWhy::Recognition(_));
                    if !routed && !inherited.contains(&i) && pr.strength.is_some_and(|st| st < need)
                    {
                        weak = true;
                    }
                }
                Verdict::NotApplicable => {}
            }
        }
        let lower: Vec<Verdict> = l
            .includes
            .iter()
            .map(|inc| {
                s.def
                    .levels
                    .iter()
                    .position(|x| x.id == *inc)
                    .and_then(|j| out.get(j))
                    .map(|r| r.verdict)
                    .unwrap_or(Verdict::NotMet)
            })
            .collect();
        let (verdict, why) = if held[li] {
            (Verdict::Met, LevelWhy::Held)
        } else if !in_scope {
            (Verdict::NotApplicable, LevelWhy::OutOfScope)
        } else if failing {
            (Verdict::NotMet, LevelWhy::ProvisionsNotMet)
        } else if lower.contains(&Verdict::NotMet) || lower.contains(&Verdict::NotApplicable) {
            (Verdict::NotMet, LevelWhy::LowerLevelMissing)
        } else if lower.contains(&Verdict::Unknown) {
            (Verdict::Unknown, LevelWhy::LowerLevelUnknown)
        } else if l.completeness == Completeness::Unknown {
            (Verdict::Unknown, LevelWhy::ContentUnknown)
        } else if unknown {
            (Verdict::Unknown, LevelWhy::Undecided)
        } else if weak {
            (Verdict::NotMet, LevelWhy::WeakEvidence)
        } else if !any_met && lower.is_empty() {
            (Verdict::NotApplicable, LevelWhy::NothingApplies)
        } else if l.completeness == Completeness::Partial {
            (Verdict::Met, LevelWhy::MetPartial)
        } else {
            (Verdict::Met, LevelWhy::Met)
        };
        out.push(LevelCore { verdict, why });
    }
    out
}

/// Evaluate `profile` (with its loaded `evidence`) against the catalog on `today`.
pub fn evaluate<'c>(
    cat: &'c Catalog,
    profile: &Profile,
    evidence: &[Evidence],
    today: Date,
) -> Evaluation<'c> {
    let (facts, mut contradictions) = merge_evidence(cat, profile, evidence);
    let oc = outcomes(cat, &facts, today);
    for (o, c) in cat
        .outcomes
        .iter()
        .zip(&oc)
        .filter(|(_, c)| c.contradiction)
    {
        let _ = c;
        let msg = o
            .def
            .contradiction_message
            .clone()
            .unwrap_or_else(|| "tested evidence contradicts a declaration".into());
        contradictions.push(Contradiction {
            outcome: Some(o.def.id.to_string()),
            fact: None,
            message: format!("{}: {msg}", &*o.def.id),
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
    let anc = category
        .as_deref()
        .map(|c| cat.category_ancestry(c))
        .unwrap_or_default();
    // pass 1: provisions without routes, and levels
    let mut schemes: Vec<SchemeCore> = cat
        .schemes
        .iter()
        .map(|s| {
            let provisions: Vec<ProvCore> = s
                .def
                .provisions
                .iter()
                .enumerate()
                .map(|(pi, p)| provision(s, pi, p, &facts, today, &oc, &anc))
                .collect();
            let scope = scope(cat, s, &facts, today, category.as_deref(), &markets);
            let levels = levels(s, &provisions, &held, scope == ScopeWhy::InScope);
            SchemeCore {
                scope,
                provisions,
                levels,
                conformance: Verdict::Unknown,
                conformance_why: ConformanceWhy::Undecided,
                now: Verdict::NotApplicable,
            }
        })
        .collect();
    // pass 2: alternative routes (deemed compliance, label routes)
    let mut upgrades: Vec<(usize, usize, usize)> = Vec::new();
    for (si, s) in cat.schemes.iter().enumerate() {
        for (pi, p) in s.def.provisions.iter().enumerate() {
            if p.routes.is_empty()
                || !matches!(
                    schemes[si].provisions[pi].verdict,
                    Verdict::NotMet | Verdict::Unknown
                )
            {
                continue;
            }
            let effective = s.route_effective.get(pi);
            let ok = |(ri, route): (usize, &iotrust_catalog::model::RouteDef)| -> bool {
                if effective
                    .and_then(|e| e.get(ri).copied().flatten())
                    .is_some_and(|d| d > today)
                {
                    return false; // the route does not count yet
                }
                if let Some(level) = &route.level {
                    if held.iter().any(|h| h == level.as_str()) {
                        return true;
                    }
                    return cat.level_ref(level).is_some_and(|(ls, li)| {
                        cat.scheme_index(&ls.key).is_some_and(|j| {
                            schemes[j]
                                .levels
                                .get(li)
                                .is_some_and(|l| l.verdict == Verdict::Met)
                        })
                    });
                }
                // every provision of the route met or not applicable, and at least one met
                let verdicts: Vec<Option<Verdict>> = route
                    .all_of
                    .iter()
                    .map(|r| {
                        let (sk, pid) = r.split_once('#')?;
                        let j = cat.scheme_index(sk)?;
                        let k = cat.schemes[j]
                            .def
                            .provisions
                            .iter()
                            .position(|x| *x.id == pid)?;
                        Some(schemes[j].provisions[k].verdict)
                    })
                    .collect();
                verdicts
                    .iter()
                    .all(|v| matches!(v, Some(Verdict::Met | Verdict::NotApplicable)))
                    && verdicts.contains(&Some(Verdict::Met))
            };
            if let Some(ri) = p.routes.iter().enumerate().position(ok) {
                upgrades.push((si, pi, ri));
            }
        }
    }
    for (si, pi, ri) in upgrades {
        let pc = &mut schemes[si].provisions[pi];
        pc.verdict = Verdict::Met;
        pc.why = ProvWhy::Route(ri);
    }
    // partial recognition: holding (or reaching) `from` satisfies the named provisions of `to`
    let mut recognised: Vec<(usize, usize, usize)> = Vec::new();
    for (ri, r) in cat.recognitions.iter().enumerate() {
        if !r.partial() || !r.in_effect(today) {
            continue;
        }
        if r.def
            .scope
            .as_ref()
            .is_some_and(|sc| !sc.categories.iter().any(|c| anc.contains(&c.as_str())))
        {
            continue;
        }
        // the `from` level as it stands after routes (PSTI compliance may rest on a label route)
        let from_met = held.iter().any(|h| *h == *r.def.from)
            || cat.level_ref(&r.def.from).is_some_and(|(ls, li)| {
                cat.scheme_index(&ls.key).is_some_and(|j| {
                    let lv = levels(ls, &schemes[j].provisions, &held, schemes[j].in_scope());
                    lv.get(li).is_some_and(|l| l.verdict == Verdict::Met)
                })
            });
        if !from_met {
            continue;
        }
        let Some((ts, _)) = cat.level_ref(&r.def.to) else {
            continue;
        };
        let Some(si) = cat.scheme_index(&ts.key) else {
            continue;
        };
        for pid in &r.def.provisions {
            if let Some(pi) = ts.def.provisions.iter().position(|p| p.id == *pid) {
                if matches!(
                    schemes[si].provisions[pi].verdict,
                    Verdict::NotMet | Verdict::Unknown
                ) {
                    recognised.push((si, pi, ri));
                }
            }
        }
    }
    for (si, pi, ri) in recognised {
        let pc = &mut schemes[si].provisions[pi];
        if pc.verdict != Verdict::Met {
            pc.verdict = Verdict::Met;
            pc.why = ProvWhy::Recognition(ri);
        }
    }
    // conformance and levels after routes
    for (s, sc) in cat.schemes.iter().zip(schemes.iter_mut()) {
        sc.levels = levels(s, &sc.provisions, &held, sc.in_scope());
        // provisions whose status is not established may be mandatory: they keep conformance undecided
        let (mut any, mut failing, mut undecided) = (false, false, false);
        let (mut any_now, mut failing_now, mut undecided_now) = (false, false, false);
        for (i, (p, pc)) in s.def.provisions.iter().zip(&sc.provisions).enumerate() {
            // provisions whose status is not established may be mandatory: they keep it undecided
            if !matches!(p.status, Status::Mandatory | Status::Unknown) {
                continue;
            }
            any = true;
            failing |= pc.verdict == Verdict::NotMet;
            undecided |= pc.verdict == Verdict::Unknown;
            if s.provision_in_force(i, today) {
                any_now = true;
                failing_now |= pc.verdict == Verdict::NotMet;
                undecided_now |= pc.verdict == Verdict::Unknown;
            }
        }
        sc.now = if !sc.in_scope() || !any_now {
            Verdict::NotApplicable
        } else if failing_now {
            Verdict::NotMet
        } else if undecided_now {
            Verdict::Unknown
        } else {
            Verdict::Met
        };
        (sc.conformance, sc.conformance_why) = if !sc.in_scope() {
            (Verdict::NotApplicable, ConformanceWhy::OutOfScope)
        } else if failing {
            (Verdict::NotMet, ConformanceWhy::Failing)
        } else if undecided {
            (Verdict::Unknown, ConformanceWhy::Undecided)
        } else if !any {
            (Verdict::Unknown, ConformanceWhy::NoMandatory)
        } else {
            (Verdict::Met, ConformanceWhy::Conformant)
        };
    }
    Evaluation {
        cat,
        today,
        facts,
        contradictions,
        outcomes: oc,
        schemes,
        held,
        category,
        markets,
    }
}

impl Evaluation<'_> {
    /// The outcomes (indices into `catalog.outcomes`) that keep a product from tier `t`: not
    /// met, unknown, or met on evidence weaker than the tier's `min_strength`. Not applicable
    /// outcomes never count. The one rule for tiers: the fast path and reports both use it.
    pub fn tier_misses<'t>(
        &'t self,
        t: &'t iotrust_catalog::Tier,
    ) -> impl Iterator<Item = usize> + 't {
        t.outcomes
            .iter()
            .copied()
            .filter(move |&i| match self.outcomes[i] {
                OutcomeCore {
                    verdict: Verdict::NotApplicable,
                    ..
                } => false,
                OutcomeCore {
                    verdict: Verdict::Met,
                    strength,
                    ..
                } => strength.is_some_and(|s| s < t.def.min_strength),
                _ => true,
            })
    }

    /// The labels tier `t` requires on the evaluation date that the product does not hold
    /// (indices into `t.def.labels`). A rule whose `from` date lies ahead does not count yet.
    pub fn tier_label_misses<'t>(
        &'t self,
        t: &'t iotrust_catalog::Tier,
    ) -> impl Iterator<Item = usize> + 't {
        t.def.labels.iter().enumerate().filter_map(move |(i, l)| {
            let due = t
                .label_from
                .get(i)
                .copied()
                .flatten()
                .is_none_or(|d| d <= self.today);
            (due && !self.held.iter().any(|h| *h == *l.level)).then_some(i)
        })
    }

    /// Is tier `t` reached on its own (not counting the tiers below it)?
    pub fn tier_reached(&self, t: &iotrust_catalog::Tier) -> bool {
        self.tier_misses(t).next().is_none() && self.tier_label_misses(t).next().is_none()
    }

    /// The highest tier reached, counting from the bottom (a tier above a missed one is not reached).
    pub fn tier(&self) -> Option<&str> {
        self.cat
            .tiers
            .iter()
            .take_while(|t| self.tier_reached(t))
            .last()
            .map(|t| t.def.id.as_str())
    }

    /// Has the product reached tier `id` (and every tier below it)? `None`: no such tier.
    pub fn reaches(&self, id: &str) -> Option<bool> {
        let pos = self.cat.tiers.iter().position(|t| *t.def.id == id)?;
        Some(self.cat.tiers[..=pos].iter().all(|t| self.tier_reached(t)))
    }

    /// Mandatory laws that govern a market (index into catalog.schemes).
    pub fn laws_for_market(&self, market: &str) -> Vec<usize> {
        let laws = self
            .cat
            .schemes
            .iter()
            .enumerate()
            .filter(|(_, s)| s.def.kind == SchemeKind::MandatoryLaw);
        laws.filter(|(_, s)| self.cat.market_covers(market, &s.def.jurisdiction))
            .map(|(i, _)| i)
            .collect()
    }

    /// Does any provision of the law apply on the evaluation date?
    pub fn law_in_force(&self, si: usize) -> bool {
        let s = &self.cat.schemes[si];
        (0..s.def.provisions.len()).any(|i| s.provision_in_force(i, self.today))
    }

    /// Does every provision of the law apply on the evaluation date?
    pub fn law_fully_in_force(&self, si: usize) -> bool {
        let s = &self.cat.schemes[si];
        (0..s.def.provisions.len()).all(|i| s.provision_in_force(i, self.today))
    }

    /// May the product be placed on this market today?
    pub fn market_access(&self, market: &str) -> Access {
        let laws = self.laws_for_market(market);
        let mut undecided = false;
        for si in laws {
            match self.schemes[si].now {
                Verdict::NotMet => return Access::No,
                Verdict::Unknown => undecided = true,
                _ => {}
            }
        }
        if undecided {
            Access::Undetermined
        } else {
            Access::Yes
        }
    }

    /// Labels within reach: held, reached by assessment, or through recognition in effect today.
    pub fn labels(&self) -> Vec<LabelCore> {
        let cat = self.cat;
        let mut out: Vec<LabelCore> = Vec::new();
        let mut reached: Vec<String> = self.held.clone();
        for (s, sc) in cat.schemes.iter().zip(&self.schemes) {
            if s.def.kind != SchemeKind::VoluntaryLabel {
                continue;
            }
            let closed = s.def.status == SchemeStatus::Closed;
            for (l, lc) in s.def.levels.iter().zip(&sc.levels) {
                if lc.verdict != Verdict::Met {
                    continue;
                }
                let key = format!("{}#{}", s.key, &*l.id);
                let held = self.held.contains(&key);
                if !held {
                    reached.push(key.clone());
                }
                out.push(LabelCore {
                    label: key,
                    route: if held {
                        LabelRoute::Held
                    } else {
                        LabelRoute::Assessment
                    },
                    obtainable: !closed || held,
                });
            }
        }
        let anc = self
            .category
            .as_deref()
            .map(|c| cat.category_ancestry(c))
            .unwrap_or_default();
        for (ri, r) in cat.recognitions.iter().enumerate() {
            // a partial arrangement satisfies some provisions (see `evaluate`), not the level
            if r.partial() || !r.in_effect(self.today) || !reached.iter().any(|x| *x == *r.def.from)
            {
                continue;
            }
            if r.def
                .scope
                .as_ref()
                .is_some_and(|sc| !sc.categories.iter().any(|c| anc.contains(&c.as_str())))
            {
                continue;
            }
            if out.iter().any(|l| l.label == *r.def.to) {
                continue;
            }
            let to_scheme = r.def.to.split('#').next().unwrap_or("");
            let Some(target) = cat.scheme_by_key(to_scheme) else {
                continue;
            };
            if target.def.kind != SchemeKind::VoluntaryLabel {
                continue; // recognition into a law (deemed compliance) is not a label
            }
            let closed = target.def.status == SchemeStatus::Closed;
            out.push(LabelCore {
                label: r.def.to.to_string(),
                route: LabelRoute::Recognition(ri),
                obtainable: !closed,
            });
        }
        out
    }

    fn date_fact(&self, name: &str) -> Option<Date> {
        match self.cat.fact(name).and_then(|(id, _)| self.facts.get(id)) {
            Some((FactValue::Date(d), _)) => Some(*d),
            _ => None,
        }
    }

    /// Support-period status: (status, end date, days left, placed on market).
    pub fn support(&self) -> (SupportStatus, Option<Date>, Option<i64>, Option<Date>) {
        let end = self.date_fact("support.end_date");
        let placed = self.date_fact("product.placed_on_market");
        let days_left = end
            .and_then(|e| self.today.until((jiff::Unit::Day, e)).ok())
            .map(|s| i64::from(s.get_days()));
        let status = match days_left {
            None => SupportStatus::Unknown,
            Some(d) if d < 0 => SupportStatus::Unsupported,
            Some(d) if d <= ENDING_SOON_DAYS => SupportStatus::EndingSoon,
            Some(_) => SupportStatus::Supported,
        };
        (status, end, days_left, placed)
    }
}

/// The one-line bulk summary of an evaluation (`iotrust assess DIR|-`), built without the
/// detailed reasons.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BulkSummary {
    pub source: String,
    pub manufacturer: String,
    pub model: String,
    pub category: String,
    pub tier: Option<String>,
    pub markets: std::collections::BTreeMap<String, Access>,
    pub schemes: std::collections::BTreeMap<String, SchemeSummary>,
    pub labels: Vec<String>,
    pub outcomes: crate::result::Counts,
    pub support: SupportStatus,
    pub contradictions: usize,
    pub gates_failed: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SchemeSummary {
    pub conformance: Verdict,
    pub level: Option<String>,
}

impl Evaluation<'_> {
    pub fn summary(&self, profile: &Profile, gates_failed: Vec<String>) -> BulkSummary {
        let mut outcomes = crate::result::Counts::default();
        for o in &self.outcomes {
            outcomes.add(o.verdict);
        }
        BulkSummary {
            source: profile.source.clone(),
            manufacturer: profile.identity.manufacturer.clone(),
            model: profile.identity.model.clone(),
            category: self.category.clone().unwrap_or_default(),
            tier: self.tier().map(str::to_string),
            markets: self
                .markets
                .iter()
                .map(|m| (m.clone(), self.market_access(m)))
                .collect(),
            schemes: self
                .cat
                .schemes
                .iter()
                .zip(&self.schemes)
                .filter(|(_, sc)| sc.in_scope())
                .map(|(s, sc)| {
                    let level = sc
                        .highest_level()
                        .and_then(|i| s.def.levels.get(i))
                        .map(|l| l.id.to_string());
                    (
                        s.key.clone(),
                        SchemeSummary {
                            conformance: sc.conformance,
                            level,
                        },
                    )
                })
                .collect(),
            labels: self
                .labels()
                .into_iter()
                .filter(|l| l.obtainable)
                .map(|l| l.label)
                .collect(),
            outcomes,
            support: self.support().0,
            contradictions: self.contradictions.len(),
            gates_failed,
        }
    }
}
