//! Rendering an [`Assessment`]: readable text (optionally coloured), Markdown, one
//! self-contained HTML file, SARIF 2.1.0 and JUnit XML.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::result::*;

/// ANSI colours, or nothing.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn verdict(&self, v: Verdict) -> String {
        let code = match v {
            Verdict::Met => "32",
            Verdict::NotMet => "31;1",
            Verdict::Unknown => "33",
            Verdict::NotApplicable => "2",
        };
        self.paint(code, v.label())
    }
    fn access(&self, a: Access) -> String {
        match a {
            Access::Yes => self.paint("32;1", "YES"),
            Access::No => self.paint("31;1", "NO"),
            Access::Undetermined => self.paint("33;1", "UNDETERMINED"),
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

fn identity_line(a: &Assessment) -> String {
    let id = &a.profile.identity;
    let mut s = format!("{} {}", id.manufacturer, id.model);
    let mut extra = Vec::new();
    if let Some(h) = &id.hardware_version {
        extra.push(format!("hw {h}"));
    }
    if let Some(f) = &id.firmware_version {
        extra.push(format!("fw {f}"));
    }
    if !extra.is_empty() {
        let _ = write!(s, " ({})", extra.join(", "));
    }
    s
}

fn tier_line(a: &Assessment) -> String {
    match &a.summary.tier {
        Some(t) => {
            let title = a
                .tiers
                .iter()
                .find(|x| &x.id == t)
                .map(|x| x.title.as_str())
                .unwrap_or(t);
            match a.tiers.iter().find(|x| !x.reached) {
                Some(next) => format!(
                    "{title} (next: {}, {} outcome(s) missing)",
                    next.title,
                    next.missing.len()
                ),
                None => format!("{title} (the highest tier)"),
            }
        }
        None => {
            let first = a.tiers.first();
            format!(
                "none ({} not reached: {} outcome(s) missing)",
                first.map(|t| t.title.as_str()).unwrap_or("baseline"),
                first.map(|t| t.missing.len()).unwrap_or(0)
            )
        }
    }
}

fn support_line(a: &Assessment) -> String {
    let s = &a.support;
    let mut line = s.statement.clone();
    if let Some(y) = s.years_of_support {
        let _ = write!(
            line,
            "; {y} year(s) from placing on the market (EU CRA minimum of 5: {})",
            if y >= 5 { "met" } else { "not met" }
        );
    }
    line
}

/// The readable terminal report.
pub fn text(a: &Assessment, st: Style) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}",
        st.bold(&format!("iotrust assessment: {}", identity_line(a)))
    );
    let _ = writeln!(
        o,
        "category {} · markets {} · catalog {} · evaluated {} · {}",
        a.profile.category,
        if a.profile.markets.is_empty() {
            "none".into()
        } else {
            a.profile.markets.join(", ")
        },
        a.catalog_version,
        a.evaluated_on,
        a.profile.source
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "{}  {}", st.bold("TIER    "), tier_line(a));
    let _ = writeln!(o, "{}  {}", st.bold("SUPPORT "), support_line(a));
    let c = &a.summary.outcomes;
    let _ = writeln!(
        o,
        "{}  {} met, {} not met, {} unknown, {} not applicable (of {})",
        st.bold("OUTCOMES"),
        c.met,
        c.not_met,
        c.unknown,
        c.not_applicable,
        a.outcomes.len()
    );
    let _ = writeln!(o, "\n{}", st.bold("MARKET ACCESS"));
    if a.markets.is_empty() {
        let _ = writeln!(o, "  (no markets declared in product.markets)");
    }
    for m in &a.markets {
        let _ = writeln!(
            o,
            "  {:<6} {}  {}",
            m.market,
            st.access(m.access),
            m.statement
        );
    }
    if !a.contradictions.is_empty() {
        let _ = writeln!(
            o,
            "\n{}",
            st.bold("CONTRADICTIONS (evidence against declarations)")
        );
        for c in &a.contradictions {
            let _ = writeln!(o, "  {} {}", st.paint("31", "!"), c.message);
        }
    }
    let _ = writeln!(o, "\n{}", st.bold("SCHEMES IN SCOPE"));
    for s in a.schemes.iter().filter(|s| s.in_scope) {
        let conf = match s.conformance {
            Verdict::Met => st.paint("32", "conformant"),
            Verdict::NotMet => st.paint("31;1", "not conformant"),
            Verdict::Unknown => st.paint("33", "undetermined"),
            Verdict::NotApplicable => st.paint("2", "n/a"),
        };
        let level = s
            .highest_level
            .as_ref()
            .map(|l| format!("  level {l}"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {:<26} {conf}  ({} met, {} not met, {} unknown, {} n/a){level}",
            s.scheme, s.counts.met, s.counts.not_met, s.counts.unknown, s.counts.not_applicable
        );
        // a law's provisions not met, each with what it is and how its mapping is established
        let law = s.kind == iotrust_catalog::model::SchemeKind::MandatoryLaw;
        for p in s
            .provisions
            .iter()
            .filter(|p| law && p.verdict == Verdict::NotMet)
        {
            let _ = writeln!(
                o,
                "      {} {} {}  {}",
                st.paint("31", "x"),
                p.id,
                p.title,
                st.paint("2", &provision_tag(p))
            );
        }
    }
    let out: Vec<&SchemeResult> = a.schemes.iter().filter(|s| !s.in_scope).collect();
    if !out.is_empty() {
        let names: Vec<&str> = out.iter().map(|s| s.scheme.as_str()).collect();
        let _ = writeln!(o, "  not in scope: {}", names.join(", "));
    }
    let _ = writeln!(o, "\n{}", st.bold("LABELS"));
    if a.labels.is_empty() {
        let _ = writeln!(o, "  none reachable with the current evidence");
    }
    for l in &a.labels {
        let mark = if l.obtainable {
            st.paint("32", "+")
        } else {
            st.paint("2", "-")
        };
        let _ = writeln!(o, "  {mark} {:<28} via {:<11} {}", l.label, l.route, l.note);
    }
    for g in &a.gaps {
        let _ = writeln!(
            o,
            "\n{}",
            st.bold(&format!("GAPS: {} ({})", g.target, g.summary))
        );
        for (i, item) in g.outcomes.iter().enumerate() {
            let needs = if item.needs.is_empty() {
                String::new()
            } else {
                format!("; supply {}", item.needs.join(", "))
            };
            let _ = writeln!(
                o,
                "  {:>2}. {:<36} {:<8} {} mandatory provision(s){needs}",
                i + 1,
                item.outcome,
                if item.verdict == Verdict::Met {
                    st.paint("33", "evidence")
                } else {
                    st.verdict(item.verdict)
                },
                item.provisions
            );
        }
    }
    let _ = writeln!(o, "\n{}", st.bold("LIFECYCLE"));
    for p in &a.lifecycle {
        let _ = writeln!(
            o,
            "  {:<12} {:>2} met  {:>2} not met  {:>2} unknown  {:>2} n/a",
            p.phase.to_string(),
            p.counts.met,
            p.counts.not_met,
            p.counts.unknown,
            p.counts.not_applicable
        );
    }
    if !a.support.at_end_of_support.is_empty() {
        let _ = writeln!(
            o,
            "\n{}",
            st.bold("AT END OF SUPPORT the schemes in scope ask for")
        );
        for r in &a.support.at_end_of_support {
            let _ = writeln!(
                o,
                "  {:<8} {} {}: {}  {}",
                st.verdict(r.verdict),
                r.scheme,
                r.provision,
                r.title,
                st.paint(
                    "2",
                    &format!(
                        "[{}] mapping: {}",
                        r.obligation,
                        iotrust_catalog::obligation::mapping_label(r.mapping_basis)
                    )
                )
            );
        }
    }
    o.push_str(&crate::cra_route::text(&a.conformity));
    let failing: Vec<&OutcomeResult> = a
        .outcomes
        .iter()
        .filter(|x| x.verdict == Verdict::NotMet)
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(o, "\n{}", st.bold("OUTCOMES NOT MET"));
        for f in failing {
            let _ = writeln!(o, "  {} {}\n      {}", st.paint("31", "x"), f.id, f.reason);
        }
    }
    if !a.evidence.is_empty() {
        let _ = writeln!(o, "\n{}", st.bold("EVIDENCE"));
        for e in &a.evidence {
            let _ = writeln!(
                o,
                "  {} ({}, {}, {} facts, {} findings)",
                e.file,
                e.kind,
                e.strength,
                e.facts,
                e.findings.len()
            );
        }
    }
    o
}

/// `[legal requirement] mapping: inferred`: what a provision is, and how its outcome mappings
/// are established, so that nobody takes iotrust's inference for the law.
pub fn provision_tag(p: &ProvisionResult) -> String {
    format!(
        "[{}] mapping: {}",
        p.obligation,
        iotrust_catalog::obligation::mapping_label(p.mapping_basis)
    )
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown report (for pull requests, wikis, issue trackers).
pub fn markdown(a: &Assessment) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# iotrust assessment: {}\n",
        md_escape(&identity_line(a))
    );
    let _ = writeln!(
        o,
        "Category `{}` · markets {} · catalog {} · evaluated {} · profile `{}`\n",
        a.profile.category,
        a.profile.markets.join(", "),
        a.catalog_version,
        a.evaluated_on,
        a.profile.source
    );
    let _ = writeln!(o, "- **Tier:** {}", md_escape(&tier_line(a)));
    let _ = writeln!(o, "- **Support:** {}", md_escape(&support_line(a)));
    let c = &a.summary.outcomes;
    let _ = writeln!(
        o,
        "- **Outcomes:** {} met, {} not met, {} unknown, {} not applicable\n",
        c.met, c.not_met, c.unknown, c.not_applicable
    );
    let _ = writeln!(
        o,
        "## Market access\n\n| market | access | why |\n|---|---|---|"
    );
    for m in &a.markets {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            m.market,
            m.access.label(),
            md_escape(&m.statement)
        );
    }
    if !a.contradictions.is_empty() {
        let _ = writeln!(o, "\n## Contradictions\n");
        for c in &a.contradictions {
            let _ = writeln!(o, "- {}", md_escape(&c.message));
        }
    }
    let _ = writeln!(o, "\n## Schemes\n\n| scheme | in scope | conformance | met | not met | unknown | n/a | level |\n|---|---|---|---|---|---|---|---|");
    for s in &a.schemes {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            s.scheme,
            if s.in_scope { "yes" } else { "no" },
            s.conformance.label(),
            s.counts.met,
            s.counts.not_met,
            s.counts.unknown,
            s.counts.not_applicable,
            s.highest_level.as_deref().unwrap_or("-")
        );
    }
    let not_met: Vec<(&SchemeResult, &ProvisionResult)> = a
        .schemes
        .iter()
        .filter(|s| s.in_scope && s.kind == iotrust_catalog::model::SchemeKind::MandatoryLaw)
        .flat_map(|s| {
            s.provisions
                .iter()
                .filter(|p| p.verdict == Verdict::NotMet)
                .map(move |p| (s, p))
        })
        .collect();
    if !not_met.is_empty() {
        let _ = writeln!(o, "\n## Law provisions not met\n\n| law | provision | obligation | mapping |\n|---|---|---|---|");
        for (s, p) in not_met {
            let _ = writeln!(
                o,
                "| {} | `{}` {} | {} | {} |",
                s.scheme,
                p.id,
                md_escape(&p.title),
                p.obligation,
                iotrust_catalog::obligation::mapping_label(p.mapping_basis)
            );
        }
    }
    o.push_str(&crate::cra_route::markdown(&a.conformity));
    let _ = writeln!(o, "\n## Labels\n");
    for l in &a.labels {
        let _ = writeln!(o, "- `{}` via {}: {}", l.label, l.route, md_escape(&l.note));
    }
    for g in &a.gaps {
        let _ = writeln!(o, "\n## Gaps: {}\n\n{}\n\n| # | outcome | verdict | provisions | why |\n|---|---|---|---|---|", g.target, g.summary);
        for (i, it) in g.outcomes.iter().enumerate() {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} | {} | {} |",
                i + 1,
                it.outcome,
                it.verdict.label(),
                it.provisions,
                md_escape(&it.why)
            );
        }
    }
    let _ = writeln!(
        o,
        "\n## Lifecycle\n\n| phase | met | not met | unknown | n/a |\n|---|---|---|---|---|"
    );
    for p in &a.lifecycle {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            p.phase, p.counts.met, p.counts.not_met, p.counts.unknown, p.counts.not_applicable
        );
    }
    let _ = writeln!(
        o,
        "\n## Outcomes\n\n| outcome | verdict | reason |\n|---|---|---|"
    );
    for x in &a.outcomes {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} |",
            x.id,
            x.verdict.label(),
            md_escape(&x.reason)
        );
    }
    o
}

fn h(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The badge of a gap item: a met outcome in a gap list lacks evidence, not compliance.
fn gap_badge(it: &GapItem) -> String {
    if it.verdict == Verdict::Met {
        "<span class=\"b unk\">weak evidence</span>".to_string()
    } else {
        badge(it.verdict)
    }
}

fn badge(v: Verdict) -> String {
    let class = match v {
        Verdict::Met => "ok",
        Verdict::NotMet => "bad",
        Verdict::Unknown => "unk",
        Verdict::NotApplicable => "na",
    };
    format!("<span class=\"b {class}\">{}</span>", v.label())
}

const CSS: &str = "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#1d232b}\
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d6dbe1;padding-bottom:.2rem}\
.meta{color:#5b6673}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}.card{border:1px solid #d6dbe1;border-radius:8px;padding:.7rem 1rem;min-width:200px;flex:1}\
.card .k{font-size:.75rem;text-transform:uppercase;color:#5b6673;letter-spacing:.05em}.card .v{font-size:1.1rem;font-weight:600}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eceff2;vertical-align:top}th{background:#f5f7f9}\
.b{display:inline-block;padding:0 .45rem;border-radius:4px;font-size:.8rem;font-weight:600;white-space:nowrap}.ok{background:#dcf3e3;color:#135c2b}.bad{background:#fbe0e0;color:#8a1414}\
.unk{background:#fdf1d4;color:#7a5200}.na{background:#eceff2;color:#5b6673}.yes{background:#dcf3e3;color:#135c2b}.no{background:#fbe0e0;color:#8a1414}\
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}small,.reason{color:#5b6673}code{font-size:.85em}\
@media print{details{display:block}summary{list-style:none}}";

/// One self-contained HTML file (no external resources) a lab can send.
pub fn html(a: &Assessment) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>iotrust assessment: {}</title><style>{CSS}</style></head><body>",
        h(&identity_line(a))
    );
    let _ = write!(
        o,
        "<h1>iotrust assessment: {}</h1><p class=\"meta\">Category <code>{}</code> · markets {} · catalog {} · evaluated {} · profile <code>{}</code></p>",
        h(&identity_line(a)),
        h(&a.profile.category),
        h(&a.profile.markets.join(", ")),
        h(&a.catalog_version),
        a.evaluated_on,
        h(&a.profile.source)
    );
    let c = &a.summary.outcomes;
    let _ = write!(
        o,
        "<div class=\"cards\"><div class=\"card\"><div class=\"k\">iotrust tier</div><div class=\"v\">{}</div></div>\
<div class=\"card\"><div class=\"k\">Support period</div><div class=\"v\">{}</div><small>{}</small></div>\
<div class=\"card\"><div class=\"k\">Outcomes</div><div class=\"v\">{} met · {} not met</div><small>{} unknown · {} not applicable</small></div></div>",
        h(&tier_line(a)),
        h(a.support.status.label()),
        h(&support_line(a)),
        c.met,
        c.not_met,
        c.unknown,
        c.not_applicable
    );
    let _ = write!(
        o,
        "<h2>Market access</h2><table><tr><th>Market</th><th>Access</th><th>Why</th></tr>"
    );
    for m in &a.markets {
        let (cls, txt) = match m.access {
            Access::Yes => ("yes", "yes"),
            Access::No => ("no", "no"),
            Access::Undetermined => ("unk", "undetermined"),
        };
        let _ = write!(
            o,
            "<tr><td>{}</td><td><span class=\"b {cls}\">{txt}</span></td><td>{}</td></tr>",
            h(&m.title),
            h(&m.statement)
        );
    }
    o.push_str("</table>");
    if !a.contradictions.is_empty() {
        o.push_str("<h2>Contradictions</h2><ul>");
        for c in &a.contradictions {
            let _ = write!(o, "<li>{}</li>", h(&c.message));
        }
        o.push_str("</ul>");
    }
    o.push_str(&crate::cra_route::html(&a.conformity));
    o.push_str(
        "<h2>Labels within reach</h2><table><tr><th>Label</th><th>Route</th><th>Note</th></tr>",
    );
    for l in &a.labels {
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            h(&l.label),
            h(&l.route),
            h(&l.note)
        );
    }
    o.push_str("</table>");
    for g in &a.gaps {
        let _ = write!(o, "<h2>What to fix: {}</h2><p>{}</p><table><tr><th>#</th><th>Outcome</th><th>Verdict</th><th>Provisions</th><th>Why</th></tr>", h(&g.target), h(&g.summary));
        for (i, it) in g.outcomes.iter().enumerate() {
            let _ = write!(
                o,
                "<tr><td>{}</td><td><code>{}</code><br><small>{}</small></td><td>{}</td><td>{}</td><td class=\"reason\">{}</td></tr>",
                i + 1,
                h(&it.outcome),
                h(&it.title),
                gap_badge(it),
                it.provisions,
                h(&it.why)
            );
        }
        o.push_str("</table>");
    }
    o.push_str("<h2>Lifecycle</h2><table><tr><th>Phase</th><th>Met</th><th>Not met</th><th>Unknown</th><th>N/A</th></tr>");
    for p in &a.lifecycle {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.phase, p.counts.met, p.counts.not_met, p.counts.unknown, p.counts.not_applicable
        );
    }
    o.push_str("</table><h2>Schemes</h2>");
    for s in &a.schemes {
        let conf = if s.in_scope {
            badge(s.conformance)
        } else {
            "<span class=\"b na\">not in scope</span>".into()
        };
        let _ = write!(
            o,
            "<details{}><summary><code>{}</code> {} — {}</summary><p class=\"reason\">{}</p>",
            if s.in_scope && s.conformance == Verdict::NotMet {
                " open"
            } else {
                ""
            },
            h(&s.scheme),
            conf,
            h(&s.title),
            h(if s.in_scope {
                &s.conformance_reason
            } else {
                &s.scope_reason
            })
        );
        if !s.levels.is_empty() {
            o.push_str(
                "<table><tr><th>Level</th><th>Assurance</th><th>Verdict</th><th>Why</th></tr>",
            );
            for l in &s.levels {
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"reason\">{}</td></tr>",
                    h(&l.id),
                    l.assurance,
                    badge(l.verdict),
                    h(&l.reason)
                );
            }
            o.push_str("</table>");
        }
        if s.in_scope {
            o.push_str(
                "<table><tr><th>Provision</th><th>Status</th><th>Obligation</th><th>Mapping</th><th>Verdict</th><th>Reason</th></tr>",
            );
            for p in &s.provisions {
                let _ = write!(
                    o,
                    "<tr><td><code>{}</code><br><small>{}</small></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"reason\">{}</td></tr>",
                    h(&p.id),
                    h(&p.title),
                    h(&p.notation),
                    p.obligation,
                    iotrust_catalog::obligation::mapping_label(p.mapping_basis),
                    badge(p.verdict),
                    h(&p.reason)
                );
            }
            o.push_str("</table>");
        }
        o.push_str("</details>");
    }
    o.push_str("<h2>Outcomes</h2><table><tr><th>Outcome</th><th>Verdict</th><th>Reason</th></tr>");
    for x in &a.outcomes {
        let _ = write!(o, "<tr><td><code>{}</code><br><small>{}</small></td><td>{}</td><td class=\"reason\">{}</td></tr>", h(&x.id), h(&x.title), badge(x.verdict), h(&x.reason));
    }
    let _ = writeln!(
        o,
        "</table><p class=\"meta\">Generated by {} (format {}).</p></body></html>",
        h(&a.tool),
        FORMAT
    );
    o
}

/// `file:line` from a provenance source, for SARIF locations.
fn location(src: &str) -> Option<(&str, usize)> {
    let first = src.split(" + ").next()?;
    let (file, line) = first.rsplit_once(':')?;
    let line: usize = line.split_whitespace().next()?.parse().ok()?;
    Some((file, line))
}

/// SARIF 2.1.0: one rule per outcome; a result per outcome not met (error) or unknown (warning).
pub fn sarif(a: &Assessment) -> Value {
    let rules: Vec<Value> = a
        .outcomes
        .iter()
        .map(|o| {
            let provs: Vec<String> = a
                .schemes
                .iter()
                .filter(|s| s.in_scope)
                .flat_map(|s| s.provisions.iter().filter(|p| p.outcomes.contains(&o.id)).map(move |p| format!("{} {} {}", s.scheme, p.id, provision_tag(p))))
                .collect();
            json!({
                "id": o.id,
                "name": o.id,
                "shortDescription": {"text": o.title},
                "fullDescription": {"text": format!("{} Provisions in scope: {}.", o.title, if provs.is_empty() { "none".into() } else { provs.join(", ") })},
                "properties": {"phases": o.phases},
            })
        })
        .collect();
    let results: Vec<Value> = a
        .outcomes
        .iter()
        .filter(|o| matches!(o.verdict, Verdict::NotMet | Verdict::Unknown))
        .map(|o| {
            let loc = o.facts.iter().filter_map(|f| f.source.as_deref().and_then(location)).next();
            let (uri, line) = loc.map(|(f, l)| (f.to_string(), l)).unwrap_or_else(|| (a.profile.source.clone(), 1));
            json!({
                "ruleId": o.id,
                "level": if o.verdict == Verdict::NotMet { "error" } else { "warning" },
                "message": {"text": format!("{}: {}", o.title, o.reason)},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line.max(1)}}}],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "iotrust", "version": env!("CARGO_PKG_VERSION"), "informationUri": "https://example.invalid/iotrust", "rules": rules}},
            "properties": {"catalogVersion": a.catalog_version, "evaluatedOn": a.evaluated_on.to_string(), "tier": a.summary.tier},
            "results": results,
        }]
    })
}

fn x(s: &str) -> String {
    h(s).replace('\'', "&apos;")
}

/// JUnit XML: a suite per scheme in scope (a case per provision) and one for the outcomes.
pub fn junit(a: &Assessment) -> String {
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total: usize = a.outcomes.len()
        + a.schemes
            .iter()
            .filter(|s| s.in_scope)
            .map(|s| s.provisions.len())
            .sum::<usize>();
    let failures: usize = a.summary.outcomes.not_met
        + a.schemes
            .iter()
            .filter(|s| s.in_scope)
            .map(|s| s.counts.not_met)
            .sum::<usize>();
    let _ = writeln!(
        o,
        "<testsuites name=\"iotrust {}\" tests=\"{total}\" failures=\"{failures}\">",
        x(&identity_line(a))
    );
    let mut suite = |name: &str, cases: Vec<(String, String, Verdict, String)>| {
        let f = cases.iter().filter(|c| c.2 == Verdict::NotMet).count();
        let s = cases
            .iter()
            .filter(|c| matches!(c.2, Verdict::NotApplicable | Verdict::Unknown))
            .count();
        let _ = writeln!(
            o,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" skipped=\"{s}\">",
            x(name),
            cases.len()
        );
        for (class, name, v, reason) in cases {
            let _ = write!(
                o,
                "    <testcase classname=\"{}\" name=\"{}\"",
                x(&class),
                x(&name)
            );
            match v {
                Verdict::Met => {
                    let _ = writeln!(o, "/>");
                }
                Verdict::NotMet => {
                    let _ = writeln!(
                        o,
                        "><failure message=\"not met\">{}</failure></testcase>",
                        x(&reason)
                    );
                }
                Verdict::Unknown => {
                    let _ = writeln!(
                        o,
                        "><skipped message=\"unknown: {}\"/></testcase>",
                        x(&reason)
                    );
                }
                Verdict::NotApplicable => {
                    let _ = writeln!(o, "><skipped message=\"not applicable\"/></testcase>");
                }
            }
        }
        let _ = writeln!(o, "  </testsuite>");
    };
    suite(
        "iotrust outcomes",
        a.outcomes
            .iter()
            .map(|x| {
                (
                    "outcomes".to_string(),
                    x.id.clone(),
                    x.verdict,
                    x.reason.clone(),
                )
            })
            .collect(),
    );
    for s in a.schemes.iter().filter(|s| s.in_scope) {
        suite(
            &s.scheme,
            s.provisions
                .iter()
                .map(|p| {
                    (
                        s.scheme.clone(),
                        format!("{} {}", p.id, p.title),
                        p.verdict,
                        format!("{} {}", p.reason, provision_tag(p)),
                    )
                })
                .collect(),
        );
    }
    o.push_str("</testsuites>\n");
    o
}
