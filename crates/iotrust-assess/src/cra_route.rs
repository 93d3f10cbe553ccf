//! Product classes and conformity routes: which class a law puts the product in (the EU CRA's
//! default, important class I or II, critical — Annexes III and IV as described by Implementing
//! Regulation (EU) 2025/2392), which conformity-assessment routes that class allows (Art. 32), and
//! which of them the profile's facts or held certificates already show done.
//!
//! The data is the `product_classes` of a scheme file; any scheme that has them is reported. The
//! class is the strictest one a category of which the product meets. A class that cannot be
//! ruled out for want of facts makes the result *unknown*, never the default: a product whose
//! functions nobody declared is not thereby a default product.

use std::fmt::Write as _;

use iotrust_catalog::catalog::Scheme;
use iotrust_catalog::expr::FactId;
use iotrust_catalog::model::{ProductClasses, RouteAvailability, Source};
use serde::Serialize;

use crate::eval::{Evaluation, LevelWhy};
use crate::result::{FactUse, SchemeResult, Verdict};

/// The product's class under one scheme and the routes open to it.
#[derive(Clone, Debug, Serialize)]
pub struct ClassResult {
    /// `eu-cra@2024`
    pub scheme: String,
    /// Does the scheme apply to the product at all (scope, markets)?
    pub in_scope: bool,
    /// The class id (`important-class-i`), or null when it cannot be decided.
    pub class: Option<String>,
    pub title: String,
    /// When `class` is null: the least strict class the product is at least in, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_least: Option<String>,
    /// When `class` is null: the classes still possible.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub possible: Vec<String>,
    pub reason: String,
    /// The entries of the law the product meets (empty for the default class).
    pub categories: Vec<ClassCategoryHit>,
    /// The facts the decision read.
    pub facts: Vec<FactUse>,
    /// The routes the class allows (for an undecided class: none).
    pub routes: Vec<RouteResult>,
    /// The allowed route the profile already shows done: the first available one, else the
    /// first whose availability is pending or unknown (see its `availability`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub satisfied_by: Option<String>,
    pub sources: Vec<Source>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClassCategoryHit {
    pub id: String,
    pub title: String,
    pub source: Source,
}

#[derive(Clone, Debug, Serialize)]
pub struct RouteResult {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub availability: RouteAvailability,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_note: Option<String>,
    /// Met: the profile shows the route done; not met: it shows it not done; unknown: it says
    /// nothing either way.
    pub satisfied: Verdict,
    pub reason: String,
    pub source: Source,
}

/// Three-valued result of one class: does the product meet one of its categories?
fn class_state(s: &Scheme, ci: usize, ev: &Evaluation<'_>) -> (Option<bool>, Vec<usize>) {
    let mut hits = Vec::new();
    let mut unknown = false;
    for (k, e) in s.class_when.get(ci).into_iter().flatten().enumerate() {
        match e.eval(&ev.facts.values, ev.today) {
            Some(true) => hits.push(k),
            Some(false) => {}
            None => unknown = true,
        }
    }
    let state = if !hits.is_empty() {
        Some(true)
    } else if unknown {
        None
    } else {
        Some(false)
    };
    (state, hits)
}

fn fact_uses(ev: &Evaluation<'_>, ids: &[FactId]) -> Vec<FactUse> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|id| crate::explain::fact_use(ev, id))
        .collect()
}

/// Is the level `scheme@version#level` held (directly or through a level that includes it)?
fn level_held(ev: &Evaluation<'_>, r: &str) -> bool {
    let Some((scheme, level)) = ev.cat.level_ref(r) else {
        return false;
    };
    ev.cat
        .scheme_index(&scheme.key)
        .and_then(|si| ev.schemes.get(si))
        .and_then(|sc| sc.levels.get(level))
        .is_some_and(|l| l.why == LevelWhy::Held)
}

fn routes(s: &Scheme, pc: &ProductClasses, ci: usize, ev: &Evaluation<'_>) -> Vec<RouteResult> {
    let Some(class) = pc.classes.get(ci) else {
        return Vec::new();
    };
    class
        .routes
        .iter()
        .enumerate()
        .map(|(ri, r)| {
            let by_level = r.level.as_ref().map(|l| (l, level_held(ev, l)));
            let by_facts = s
                .route_when
                .get(ci)
                .and_then(|v| v.get(ri))
                .and_then(|e| e.as_ref())
                .map(|e| (e, e.eval(&ev.facts.values, ev.today)));
            let (satisfied, reason) = match (by_level, by_facts) {
                (Some((l, true)), _) => (Verdict::Met, format!("holds `{l}`")),
                (_, Some((e, Some(true)))) => (
                    Verdict::Met,
                    format!("the profile shows it done ({})", e.source()),
                ),
                (_, Some((e, None))) => (
                    Verdict::Unknown,
                    format!("the profile does not say ({} unknown)", e.source()),
                ),
                (Some((l, false)), Some((e, Some(false)))) => (
                    Verdict::NotMet,
                    format!("`{l}` not held and {} is false", e.source()),
                ),
                (None, Some((e, Some(false)))) => {
                    (Verdict::NotMet, format!("{} is false", e.source()))
                }
                // a certificate not declared among the labels held is not shown done; the
                // profile may simply not list it
                (Some((l, false)), None) => {
                    (Verdict::Unknown, format!("`{l}` not declared as held"))
                }
                (None, None) => (
                    Verdict::Unknown,
                    "no fact in the catalog shows this route done".to_string(),
                ),
            };
            RouteResult {
                id: r.id.to_string(),
                title: r.title.clone(),
                condition: r.condition.clone(),
                availability: r.availability,
                availability_note: r.availability_note.clone(),
                satisfied,
                reason,
                source: r.source.clone(),
            }
        })
        .collect()
}

/// The class and routes under every scheme with product classes.
pub fn results(ev: &Evaluation<'_>, schemes: &[SchemeResult]) -> Vec<ClassResult> {
    ev.cat
        .schemes
        .iter()
        .filter_map(|s| {
            let pc = s.def.product_classes.as_ref()?;
            Some(class_result(s, pc, ev, schemes))
        })
        .collect()
}

fn class_result(
    s: &Scheme,
    pc: &ProductClasses,
    ev: &Evaluation<'_>,
    schemes: &[SchemeResult],
) -> ClassResult {
    let scope = schemes.iter().find(|r| r.scheme == s.key);
    let in_scope = scope.is_some_and(|r| r.in_scope);
    let default = pc
        .classes
        .iter()
        .position(|c| c.id == pc.default)
        .unwrap_or(0);
    let mut read: Vec<FactId> = s
        .class_when
        .iter()
        .flatten()
        .flat_map(|e| e.facts().iter().copied())
        .collect();
    // strictest first: the first class met decides, unless a stricter one is undecided
    let mut undecided: Vec<usize> = Vec::new();
    let mut decided: Option<(usize, Vec<usize>)> = None;
    for ci in (0..pc.classes.len()).rev().filter(|&c| c != default) {
        match class_state(s, ci, ev) {
            (Some(true), hits) => {
                decided = Some((ci, hits));
                break;
            }
            (None, _) => undecided.push(ci),
            (Some(false), _) => {}
        }
    }
    let title_of = |ci: usize| {
        pc.classes
            .get(ci)
            .map(|c| c.title.clone())
            .unwrap_or_default()
    };
    let id_of = |ci: usize| {
        pc.classes
            .get(ci)
            .map(|c| c.id.to_string())
            .unwrap_or_default()
    };
    let mut out = ClassResult {
        scheme: s.key.clone(),
        in_scope,
        class: None,
        title: String::new(),
        at_least: None,
        possible: Vec::new(),
        reason: String::new(),
        categories: Vec::new(),
        facts: Vec::new(),
        routes: Vec::new(),
        satisfied_by: None,
        sources: Vec::new(),
    };
    let hits_of = |ci: usize, hits: &[usize]| -> Vec<ClassCategoryHit> {
        pc.classes
            .get(ci)
            .map(|c| {
                hits.iter()
                    .filter_map(|&k| c.categories.get(k))
                    .map(|x| ClassCategoryHit {
                        id: x.id.to_string(),
                        title: x.title.clone(),
                        source: x.source.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let chosen = match (decided, undecided.is_empty()) {
        (Some((ci, hits)), true) => {
            out.categories = hits_of(ci, &hits);
            let names: Vec<String> = out
                .categories
                .iter()
                .map(|c| format!("{} ({})", c.id, c.title))
                .collect();
            out.reason = format!("core functionality meets {}", names.join("; "));
            Some(ci)
        }
        (None, true) => {
            out.reason =
                "none of the categories of the stricter classes applies to the declared functions"
                    .into();
            Some(default)
        }
        (decided, false) => {
            let names: Vec<String> = undecided.iter().rev().map(|&c| id_of(c)).collect();
            out.possible = names.clone();
            if let Some((ci, hits)) = decided {
                out.at_least = Some(id_of(ci));
                out.categories = hits_of(ci, &hits);
                out.possible.insert(0, id_of(ci));
            } else {
                out.possible.insert(0, id_of(default));
            }
            let missing: Vec<String> = fact_uses(ev, &read)
                .into_iter()
                .filter(|u| u.value.is_none())
                .map(|u| u.fact)
                .collect();
            out.reason = format!(
                "{}cannot rule out {} for want of {}",
                out.at_least
                    .as_ref()
                    .map(|a| format!("at least {a}; "))
                    .unwrap_or_default(),
                names.join(", "),
                if missing.is_empty() {
                    "facts".to_string()
                } else {
                    missing.join(", ")
                }
            );
            None
        }
    };
    if let Some(ci) = chosen {
        out.class = Some(id_of(ci));
        out.title = title_of(ci);
        out.routes = routes(s, pc, ci, ev);
        // a route that can be used today first; else one whose availability is open
        let done = |avail: bool| {
            out.routes
                .iter()
                .find(|r| {
                    r.satisfied == Verdict::Met
                        && (r.availability == RouteAvailability::Available) == avail
                })
                .map(|r| r.id.clone())
        };
        out.satisfied_by = done(true).or_else(|| done(false));
        if let Some(c) = pc.classes.get(ci) {
            out.sources.push(c.source.clone());
        }
        for (ri, _) in out.routes.iter().enumerate() {
            if let Some(Some(e)) = s.route_when.get(ci).and_then(|v| v.get(ri)) {
                read.extend_from_slice(e.facts());
            }
        }
    } else {
        out.title = "class not established".into();
    }
    out.sources
        .extend(out.categories.iter().map(|c| c.source.clone()));
    out.facts = fact_uses(ev, &read);
    if !in_scope {
        let why = scope
            .map(|r| r.scope_reason.clone())
            .unwrap_or_else(|| "not assessed".into());
        out.reason = format!("{} (the scheme does not apply: {why})", out.reason);
    }
    out
}

fn class_line(c: &ClassResult) -> String {
    match &c.class {
        Some(id) => format!("{id} — {}", c.title),
        None => format!("unknown — {}", c.possible.join(" or ")),
    }
}

fn route_mark(r: &RouteResult) -> &'static str {
    match r.satisfied {
        Verdict::Met => "done",
        Verdict::NotMet => "not done",
        Verdict::Unknown => "not shown",
        Verdict::NotApplicable => "n/a",
    }
}

/// The text report's section (empty when no scheme has product classes).
pub fn text(list: &[ClassResult]) -> String {
    let mut o = String::new();
    for c in list {
        let _ = writeln!(
            o,
            "\nCONFORMITY ROUTE {}{}\n  class: {}\n  why:   {}",
            c.scheme,
            if c.in_scope { "" } else { " (not in scope)" },
            class_line(c),
            c.reason
        );
        for r in &c.routes {
            let _ = writeln!(
                o,
                "  - {:<10} {} [{}; {}]{}",
                route_mark(r),
                r.title,
                r.availability,
                r.reason,
                r.availability_note
                    .as_ref()
                    .map(|n| format!("\n               {n}"))
                    .unwrap_or_default()
            );
        }
        if let Some(s) = &c.satisfied_by {
            let avail = c
                .routes
                .iter()
                .find(|r| r.id == *s)
                .map(|r| r.availability)
                .unwrap_or(RouteAvailability::Unknown);
            let _ = writeln!(o, "  satisfied by: {s} (route availability: {avail})");
        }
        let srcs: Vec<String> = c
            .sources
            .iter()
            .map(|s| format!("{} [{:?}]", s.reference, s.confidence))
            .collect();
        if !srcs.is_empty() {
            let _ = writeln!(o, "  sources: {}", srcs.join("; "));
        }
    }
    o
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown report's section.
pub fn markdown(list: &[ClassResult]) -> String {
    let mut o = String::new();
    for c in list {
        let _ = writeln!(
            o,
            "\n## Conformity route: {}\n\n- **Class:** {}{}\n- **Why:** {}",
            c.scheme,
            md(&class_line(c)),
            if c.in_scope { "" } else { " (not in scope)" },
            md(&c.reason)
        );
        if let Some(s) = &c.satisfied_by {
            let _ = writeln!(o, "- **Satisfied by:** `{s}`");
        }
        if !c.routes.is_empty() {
            let _ = writeln!(
                o,
                "\n| route | availability | shown done | why | source |\n|---|---|---|---|---|"
            );
            for r in &c.routes {
                let _ = writeln!(
                    o,
                    "| {} | {}{} | {} | {} | {} |",
                    md(&r.title),
                    r.availability,
                    r.availability_note
                        .as_ref()
                        .map(|n| format!(": {}", md(n)))
                        .unwrap_or_default(),
                    route_mark(r),
                    md(&r.reason),
                    md(&r.source.reference)
                );
            }
        }
        for s in &c.sources {
            let _ = writeln!(o, "- source: {} [{:?}]", md(&s.reference), s.confidence);
        }
    }
    o
}

fn h(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML report's section.
pub fn html(list: &[ClassResult]) -> String {
    let mut o = String::new();
    for c in list {
        let _ = write!(
            o,
            "<h2>Conformity route: <code>{}</code></h2><p><strong>Class:</strong> {}{}</p><p class=\"reason\">{}</p>",
            h(&c.scheme),
            h(&class_line(c)),
            if c.in_scope { "" } else { " (not in scope)" },
            h(&c.reason)
        );
        if !c.routes.is_empty() {
            o.push_str("<table><tr><th>Route</th><th>Availability</th><th>Shown done</th><th>Why</th><th>Source</th></tr>");
            for r in &c.routes {
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td>{}<br><small>{}</small></td><td>{}</td><td class=\"reason\">{}</td><td><small>{}</small></td></tr>",
                    h(&r.title),
                    r.availability,
                    h(r.availability_note.as_deref().unwrap_or("")),
                    route_mark(r),
                    h(&r.reason),
                    h(&r.source.reference)
                );
            }
            o.push_str("</table>");
        }
        if let Some(s) = &c.satisfied_by {
            let _ = write!(o, "<p>Satisfied by <code>{}</code>.</p>", h(s));
        }
        o.push_str("<ul class=\"sources\">");
        for s in &c.sources {
            let _ = write!(
                o,
                "<li><small>{} [{:?}]</small></li>",
                h(&s.reference),
                s.confidence
            );
        }
        o.push_str("</ul>");
    }
    o
}
