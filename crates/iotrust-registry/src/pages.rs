//! Server-rendered HTML pages: no scripts, one stylesheet inline, charts as inline SVG.

use std::fmt::Write as _;

use crate::registry::{
    FieldView, Listed, ProductView, Programmes, SearchPage, SupportStatus, SupportView,
};
use crate::store::{EventKind, Status};

pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encode a path segment or query value.
fn url(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(char::from(b));
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:0 1rem 3rem;color:#1d232b}\
header{display:flex;gap:1.5rem;align-items:baseline;border-bottom:1px solid #d5dae0;margin-bottom:1rem;flex-wrap:wrap}\
header a{color:#1d4f91;text-decoration:none}header strong{font-size:1.2rem}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e7eb;vertical-align:top}\
th{background:#f3f5f7}.ok{color:#135c2b;font-weight:600}.warn{color:#7a5200;font-weight:600}.bad{color:#a11d1d;font-weight:600}\
.muted{color:#5b6470}form{margin:1rem 0}input[type=search],input[type=number]{font-size:1rem;padding:.4rem;min-width:18rem}\
button{font-size:1rem;padding:.4rem .9rem}svg{max-width:100%;height:auto}.card{max-width:28rem}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1.5rem}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t} — iotrust registry</title>\
<style>{STYLE}</style></head><body><header><strong>iotrust registry</strong>\
<a href=\"/\">Search</a><a href=\"/sunsetting\">Support ending</a><a href=\"/programmes\">National programmes</a>\
<a href=\"/api/v1/openapi.json\">API</a></header><main>{body}</main></body></html>",
        t = esc(title)
    )
}

fn support_cell(s: &SupportView) -> String {
    match (&s.end_date, s.days_left) {
        (Some(end), Some(d)) if d < 0 => {
            format!("<span class=\"bad\">Unsupported</span> since {end}")
        }
        (Some(end), Some(d)) if s.status == SupportStatus::EndingSoon => {
            format!("<span class=\"warn\">Ending soon</span>: {end} ({d} days)")
        }
        (Some(end), Some(d)) => {
            format!("<span class=\"ok\">Supported</span> until {end} ({d} days)")
        }
        _ => "<span class=\"bad\">No support period declared</span>".to_string(),
    }
}

fn status_cell(status: Status) -> String {
    match status {
        Status::Active => "<span class=\"ok\">active</span>".into(),
        Status::UnderReview => "<span class=\"warn\">under review</span>".into(),
        s => format!("<span class=\"bad\">{s}</span>"),
    }
}

fn rows(list: &[Listed]) -> String {
    let mut o = String::from(
        "<table><thead><tr><th>Product</th><th>Category</th><th>Tier</th><th>Label</th><th>Security updates</th></tr></thead><tbody>",
    );
    for l in list {
        let p = &l.product;
        let _ = write!(
            o,
            "<tr><td><a class=\"product\" href=\"/p/{id}\">{m} {model}</a>{name}</td><td>{c}</td><td>{t}</td><td>{st}</td><td>{sup}</td></tr>",
            id = url(&p.id),
            m = esc(&p.manufacturer),
            model = esc(&p.model),
            name = p
                .name
                .as_deref()
                .map(|n| format!("<br><span class=\"muted\">{}</span>", esc(n)))
                .unwrap_or_default(),
            c = esc(&p.category),
            t = esc(p.tier.as_deref().unwrap_or("none")),
            st = status_cell(p.status),
            sup = support_cell(&l.support),
        );
    }
    o.push_str("</tbody></table>");
    o
}

fn time(t: Option<jiff::Timestamp>) -> String {
    t.map_or_else(
        || "—".to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// "Seen compromised in the field": providers' reports, the review, the manufacturer's notice
/// and the CRA Art. 14 clock. Empty when no provider reported the product.
fn field_section(f: &FieldView) -> String {
    let a = &f.aggregate;
    if a.reports == 0 {
        return String::new();
    }
    let mut o = String::from("<section id=\"field\">");
    let _ = write!(
        o,
        "<h2>{}</h2><p class=\"{}\" id=\"field-summary\">{} device(s) reported by {} network provider(s); {} of {} report(s) open. Detected by: {}. First seen {}, last seen {}.</p>",
        if f.seen_compromised {
            "Seen compromised in the field"
        } else {
            "Seen compromised in the field (all reports closed)"
        },
        if f.seen_compromised { "bad" } else { "warn" },
        a.devices,
        a.providers,
        a.open_reports,
        a.reports,
        esc(&a.detectors.join(", ")),
        time(a.first_seen),
        time(a.last_seen)
    );
    let _ = write!(
        o,
        "<p id=\"review\">{} <span class=\"muted\">(review threshold: {} devices from at least {} providers)</span></p>",
        if f.review.reached {
            "<span class=\"warn\">Past the review threshold:</span> its issuing authority decides whether to suspend the label."
        } else {
            "Below the review threshold."
        },
        f.review.threshold_devices,
        f.review.threshold_providers
    );
    if let Some(n) = &f.notice {
        let told = match n.webhook.as_str() {
            "delivered" => format!(
                "<span class=\"ok\">Manufacturer notified</span> {} (webhook).",
                time(n.notified)
            ),
            "pending" => format!(
                "<span class=\"warn\">Notifying the manufacturer</span>: {} attempt(s){}.",
                n.attempts,
                n.last_error
                    .as_deref()
                    .map(|e| format!(", last: {}", esc(e)))
                    .unwrap_or_default()
            ),
            _ => "<span class=\"warn\">The manufacturer gave the registry no webhook</span>: not notified by the registry.".to_string(),
        };
        let ack = match n.acknowledged {
            Some(t) => format!(" Acknowledged {}.", time(Some(t))),
            None => " Not acknowledged yet.".to_string(),
        };
        let _ = write!(o, "<p id=\"notice\">{told}{ack}</p>");
        let _ = write!(
            o,
            "<h3>EU CRA Art. 14 reporting clock</h3><p class=\"muted\">If this is an actively exploited vulnerability, the manufacturer reports it to its CSIRT and ENISA within these periods. Note: {}.</p>\
<table id=\"cra\"><thead><tr><th>Report</th><th>Provision</th><th>Due</th><th>Made</th><th>State</th></tr></thead><tbody>",
            esc(n.cra_source.note)
        );
        for d in &n.cra_art14 {
            let state = if d.overdue {
                "<span class=\"bad\">overdue</span>"
            } else if d.late {
                "<span class=\"warn\">made late</span>"
            } else if d.made.is_some() {
                "<span class=\"ok\">made</span>"
            } else if d.due.is_some() {
                "open"
            } else {
                "<span class=\"muted\">not started</span>"
            };
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{state}</td></tr>",
                esc(d.title),
                esc(d.provision),
                time(d.due),
                time(d.made)
            );
        }
        let _ = write!(
            o,
            "</tbody></table><p class=\"muted\">Source: <a href=\"{}\">{}</a>, applicable from {}.</p>",
            esc(n.cra_source.url),
            esc(n.cra_source.document),
            esc(n.cra_source.applies_from)
        );
    }
    o.push_str("</section>");
    o
}

/// The start page: a search box and, with a query, its results.
pub fn search(products: u64, res: Option<&SearchPage>) -> String {
    let q = res.map(|r| r.query.as_str()).unwrap_or("");
    let mut body = format!(
        "<h1>Find a connected product</h1><p class=\"muted\">{products} labelled products. Search by manufacturer, model, name or category.</p>\
<form method=\"get\" action=\"/\" role=\"search\"><label for=\"q\">Product</label> \
<input type=\"search\" id=\"q\" name=\"q\" value=\"{}\" autofocus> <button type=\"submit\">Search</button></form>",
        esc(q)
    );
    if let Some(r) = res {
        let _ = write!(
            body,
            "<p id=\"count\">{} result(s) for “{}”{}</p>",
            r.total,
            esc(&r.query),
            if r.total as usize > r.results.len() {
                format!(", first {}", r.results.len())
            } else {
                String::new()
            }
        );
        if !r.results.is_empty() {
            body.push_str(&rows(&r.results));
        }
    }
    layout("Search", &body)
}

/// The product page: what a consumer sees after scanning the QR code; `svg` is the label
/// drawn ([`iotrust_label::render::svg`] of `p.label`, which the server keeps between
/// requests).
pub fn product(p: &ProductView, svg: &str) -> String {
    let d = &p.label;
    let mut body = format!(
        "<h1>{} {}</h1>",
        esc(&d.product.manufacturer),
        esc(&d.product.model)
    );
    let cause = match p.status {
        Status::Suspended => Some(EventKind::Suspended),
        Status::Revoked => Some(EventKind::Revoked),
        Status::UnderReview => Some(EventKind::UnderReview),
        _ => None,
    };
    let why = p
        .history
        .iter()
        .rev()
        .find(|e| Some(e.event) == cause)
        .map(|e| format!(": {}", esc(&e.detail)))
        .unwrap_or_default();
    match p.status {
        Status::Active => {}
        Status::UnderReview => {
            let _ = write!(
                body,
                "<p class=\"warn\" id=\"status\">This label is under review{why}.</p>"
            );
        }
        s => {
            let _ = write!(
                body,
                "<p class=\"bad\" id=\"status\">This label is {s}{why}. Do not rely on it.</p>"
            );
        }
    }
    let countdown = match (&p.support.end_date, p.support.days_left) {
        (Some(end), Some(days)) if days < 0 => format!(
            "<p class=\"bad\" id=\"support\">Unsupported: security updates ended on {end} ({} days ago).</p>",
            -days
        ),
        (Some(end), Some(days)) if p.support.status == SupportStatus::EndingSoon => format!(
            "<p class=\"warn\" id=\"support\">Support ends soon: security updates until {end} ({days} days left).</p>"
        ),
        (Some(end), Some(days)) => format!(
            "<p class=\"ok\" id=\"support\">Supported: security updates until {end} ({days} days left).</p>"
        ),
        _ => "<p class=\"bad\" id=\"support\">No support period declared.</p>".to_string(),
    };
    body.push_str(&countdown);
    body.push_str(&field_section(&p.field));
    let _ = write!(
        body,
        "<div class=\"grid\"><div class=\"card\" id=\"label\">{svg}</div><div><h2>Tier</h2>\
<p><strong>{tier}</strong><br><span class=\"muted\">label states {lt}; the registry's assessment (catalog {cv}) reaches {at}</span></p>\
<h2>Markets</h2><p id=\"markets\">{markets}</p>\
<h2>Security information</h2><ul><li>Default password: {pw}</li><li>Secure configuration: {sc}</li>\
<li>Automatic updates: {au}</li>{ui}<li>Software bill of materials: {sbom}</li>{adv}</ul></div></div>",
        tier = esc(p.tier.as_deref().unwrap_or("no tier")),
        markets = if p.markets.is_empty() {
            "none declared".to_string()
        } else {
            p.markets
                .iter()
                .map(|(m, a)| {
                    let class = match a.as_str() {
                        "yes" => "ok",
                        "no" => "bad",
                        _ => "warn",
                    };
                    format!(
                        "<span class=\"{class}\">{}: {}</span>",
                        esc(m),
                        if a == "yes" { "meets the laws in force" } else if a == "no" { "does not meet the laws in force" } else { "undetermined" }
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>")
        },
        lt = esc(p.label_tier.as_deref().unwrap_or("none")),
        cv = esc(&p.catalog_version),
        at = esc(p.assessed_tier.as_deref().unwrap_or("none")),
        pw = esc(&d.default_password),
        sc = esc(&d.secure_configuration),
        au = match d.updates.automatic {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not established",
        },
        ui = d
            .updates
            .instructions
            .as_deref()
            .map(|i| format!("<li>How to update: {}</li>", esc(i)))
            .unwrap_or_default(),
        sbom = match d.boms.sbom {
            Some(true) => "kept",
            Some(false) => "not kept",
            None => "not established",
        },
        adv = d
            .advisories
            .as_deref()
            .map(|a| format!("<li>Security advisories: {}</li>", esc(a)))
            .unwrap_or_default(),
    );
    body.push_str("<h2>Schemes</h2><table id=\"levels\"><thead><tr><th>Scheme</th><th>Where</th><th>Level reached</th><th>Conformance</th></tr></thead><tbody>");
    for l in &p.levels {
        let _ = write!(
            body,
            "<tr><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&l.title),
            esc(&l.scheme),
            esc(&l.jurisdiction),
            esc(l.level.as_deref().unwrap_or("—")),
            esc(&l.conformance)
        );
    }
    body.push_str("</tbody></table><h2>History</h2><ul id=\"history\">");
    for e in &p.history {
        let _ = write!(body, "<li>{} — {}: {}</li>", e.at, e.event, esc(&e.detail));
    }
    let _ = write!(
        body,
        "</ul><p class=\"muted\">Label {} issued {} by {}, valid until {}.</p>",
        esc(&d.id),
        d.issued,
        esc(&d.issuer.name),
        d.valid_until
    );
    layout(
        &format!("{} {}", d.product.manufacturer, d.product.model),
        &body,
    )
}

/// Products whose support period ends (or ended) within `days`.
pub fn sunsetting(days: u32, list: &[Listed]) -> String {
    let mut body = format!(
        "<h1>Support ending</h1><form method=\"get\" action=\"/sunsetting\"><label for=\"days\">Within</label> \
<input type=\"number\" id=\"days\" name=\"days\" min=\"0\" max=\"3650\" value=\"{days}\"> days <button type=\"submit\">Show</button></form>\
<p id=\"count\">{} product(s) whose security updates end within {days} days, or ended in the last {days} days.</p>",
        list.len()
    );
    if !list.is_empty() {
        body.push_str(&rows(list));
    }
    layout("Support ending", &body)
}

/// A horizontal bar chart, `width` user units wide: one bar per `(label, value)`, scaled to
/// `max`.
fn bars(title: &str, data: &[(String, u64)], max: u64, width: u32) -> String {
    let h = 26;
    let height = 30 + h * data.len();
    let label_w = f64::from(width) * 0.38;
    let bar_w = f64::from(width) * 0.5;
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui,sans-serif\" font-size=\"13\">\
<text x=\"0\" y=\"16\" font-weight=\"600\">{t}</text>",
        t = esc(title)
    );
    for (i, (label, v)) in data.iter().enumerate() {
        let y = 26 + h * i;
        let w = if max == 0 {
            0.0
        } else {
            bar_w * (*v as f64) / (max as f64)
        };
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{ty}\">{l}</text><rect x=\"{label_w:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" fill=\"#2f6db5\"/>\
<text x=\"{tx:.1}\" y=\"{ty}\">{v}</text>",
            ty = y + 14,
            l = esc(label),
            tx = label_w + 6.0 + w,
        );
    }
    s.push_str("</svg>");
    s
}

/// The comparison of national programmes.
pub fn programmes(p: &Programmes) -> String {
    let mut body = format!(
        "<h1>National programmes compared</h1><p class=\"muted\">How many of the {} active registered products reach each level of each scheme, by the registry's own assessment. A product counts at its highest level.</p>",
        p.products
    );
    body.push_str("<section id=\"tiers\">");
    let mut tiers: Vec<(String, u64)> =
        p.tiers.iter().map(|c| (c.id.clone(), c.products)).collect();
    let below = p.products - tiers.iter().map(|(_, n)| n).sum::<u64>();
    tiers.insert(0, ("below baseline".into(), below));
    body.push_str(&bars(
        "Highest iotrust tier reached",
        &tiers,
        p.products,
        560,
    ));
    body.push_str("</section><h2>Label schemes with levels</h2><div class=\"grid\">");
    for s in p.schemes.iter().filter(|s| !s.levels.is_empty()) {
        let _ = write!(
            body,
            "<section class=\"scheme\"><h3>{}</h3><p class=\"muted\">{} · {} · {} in scope</p>{}</section>",
            esc(&s.title),
            esc(&s.jurisdiction),
            esc(&s.scheme),
            s.in_scope,
            bars(
                "Highest level reached",
                &s.levels
                    .iter()
                    .map(|c| (c.id.clone(), c.products))
                    .collect::<Vec<_>>(),
                p.products,
                300
            )
        );
    }
    body.push_str("</div><h2>Laws and baselines</h2>");
    let laws: Vec<(String, u64)> = p
        .schemes
        .iter()
        .filter(|s| s.levels.is_empty() && s.in_scope > 0)
        .map(|s| (format!("{} ({})", s.scheme, s.jurisdiction), s.conformant))
        .collect();
    body.push_str(&bars("Conformant products", &laws, p.products, 640));
    layout("National programmes", &body)
}

/// An error page.
pub fn error(status: u16, message: &str) -> String {
    layout(
        "Error",
        &format!(
            "<h1>{status}</h1><p>{}</p><p><a href=\"/\">Back to search</a></p>",
            esc(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_urls() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(url("ab c/ü"), "ab%20c%2F%C3%BC");
    }

    #[test]
    fn bars_scale_to_the_maximum() {
        let svg = bars("t", &[("a".into(), 5), ("b".into(), 10)], 10, 600);
        assert!(svg.contains("width=\"150.0\""), "{svg}");
        assert!(svg.contains("width=\"300.0\""), "{svg}");
    }
}
