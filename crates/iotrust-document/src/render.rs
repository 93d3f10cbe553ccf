//! Markdown and self-contained HTML of a document. Every document states the catalog version
//! and the day it was made, and names its gaps.

use std::fmt::Write as _;

use crate::model::{Document, Value};

/// The lines under "made by" that every format prints.
pub fn colophon(d: &Document) -> String {
    format!(
        "Made on {} by {} from the iotrust catalog {}, from the assessment of {} on that date.",
        d.made_on, d.tool, d.catalog_version, d.product
    )
}

/// A value as plain text lines (for Markdown, the PDF and tests).
pub fn value_lines(v: &Value) -> Vec<String> {
    match v {
        Value::Text { text } => vec![text.clone()],
        Value::Lines { lines } => lines.clone(),
        Value::File { path, note } => vec![format!("See `{path}` ({note}).")],
        Value::Signature { name } => vec![
            "Signature: ______________________________".into(),
            match name {
                Some(n) => format!("Signed for and on behalf of the manufacturer by {n}"),
                None => "MISSING: the signatory's name (`signatory_name`)".into(),
            },
        ],
        Value::NotApplicable { note } => vec![format!("Not applicable: {note}")],
        Value::Missing { what } => vec![format!("MISSING: {what}")],
    }
}

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn markdown(d: &Document) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", md_escape(&d.title));
    let _ = writeln!(o, "**Law:** {} (`{}`)  ", md_escape(&d.law), d.scheme);
    let _ = writeln!(o, "**Product:** {}  ", md_escape(&d.product));
    let _ = writeln!(o, "**Catalog version:** {}  ", d.catalog_version);
    let _ = writeln!(o, "**Date made:** {}\n", d.made_on);
    if let Some(n) = &d.note {
        let _ = writeln!(o, "> {}\n", md_escape(n.trim()));
    }
    for (n, it) in d.items.iter().enumerate() {
        let _ = writeln!(o, "## {}. {}\n", n + 1, md_escape(&it.title));
        let _ = writeln!(
            o,
            "*{} — {}*\n",
            md_escape(&it.provision),
            md_escape(&it.asks)
        );
        match &it.value {
            Value::Lines { lines } => {
                for l in lines {
                    let _ = writeln!(o, "- {}", md_escape(l));
                }
                o.push('\n');
            }
            Value::Missing { what } => {
                let _ = writeln!(o, "**MISSING:** {}\n", md_escape(what));
            }
            other => {
                for l in value_lines(other) {
                    let _ = writeln!(o, "{}  ", md_escape(&l));
                }
                o.push('\n');
            }
        }
        if let Some(g) = &it.gap {
            let _ = writeln!(o, "**OPEN:** {}\n", md_escape(g));
        }
        let _ = writeln!(o, "<sub>Source: {}</sub>\n", md_escape(&it.source));
    }
    let gaps = d.gaps();
    if !gaps.is_empty() {
        let _ = writeln!(o, "## Gaps\n");
        for g in &gaps {
            let _ = writeln!(
                o,
                "- `{}` ({}): {}",
                g.item,
                md_escape(&g.provision),
                md_escape(&g.what)
            );
        }
        o.push('\n');
    }
    let _ = writeln!(o, "---\n");
    if let Some(r) = &d.retention {
        let _ = writeln!(o, "Retention: {}  ", md_escape(r));
    }
    let _ = writeln!(o, "Form: `{}` — {}  ", d.form, md_escape(&d.source));
    let _ = writeln!(o, "{}", md_escape(&colophon(d)));
    o
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `esc`, with each ISO date (`2026-12-07`) kept on one line: browsers break after a hyphen,
/// and a date split over two lines reads badly.
fn esc_text(s: &str) -> String {
    let b = s.as_bytes();
    let is_date = |i: usize| {
        b.len() >= i + 10
            && b[i..i + 10].iter().enumerate().all(|(k, c)| match k {
                4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            })
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 10).is_none_or(|c| !c.is_ascii_digit())
    };
    let mut out = String::with_capacity(s.len());
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if is_date(i) {
            out.push_str(&esc(&s[start..i]));
            out.push_str("<span class=\"date\">");
            out.push_str(&s[i..i + 10]);
            out.push_str("</span>");
            i += 10;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&esc(&s[start..]));
    out
}

const CSS: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:52em;margin:2em auto;padding:0 1em;color:#111;line-height:1.45}\
h1{font-size:1.6em;border-bottom:2px solid #234;padding-bottom:.3em}h2{font-size:1.1em;margin:1.4em 0 .3em}\
.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}.meta dt{font-weight:bold}.meta dd{margin:0}\
.asks{color:#444;font-style:italic;margin:.2em 0}.src{color:#666;font-size:.8em}.missing{color:#a00;font-weight:bold}\
.open{color:#a60;font-weight:bold}.na{color:#555}.sig{margin-top:1.5em}.sig span{display:inline-block;width:18em;border-bottom:1px solid #000}\
.note{border-left:4px solid #89a;padding:.3em .8em;background:#f4f6f8}footer{margin-top:2em;border-top:1px solid #ccc;font-size:.85em;color:#333}\
ul{margin:.3em 0}.date{white-space:nowrap}.sig{line-height:2.2}.sig span{height:2em}\
@media print{body{max-width:none;margin:0;padding:0}section,footer{break-inside:avoid}h2{break-after:avoid}}";

pub fn html(d: &Document) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — {}</title><style>{CSS}</style></head><body>\n",
        esc(&d.title),
        esc(&d.product)
    );
    let _ = writeln!(o, "<h1>{}</h1>", esc(&d.title));
    let _ = writeln!(
        o,
        "<dl class=\"meta\"><dt>Law</dt><dd>{} (<code>{}</code>)</dd><dt>Product</dt><dd>{}</dd><dt>Catalog version</dt><dd>{}</dd><dt>Date made</dt><dd>{}</dd></dl>",
        esc(&d.law),
        esc(&d.scheme),
        esc(&d.product),
        esc(&d.catalog_version),
        d.made_on
    );
    if let Some(n) = &d.note {
        let _ = writeln!(o, "<p class=\"note\">{}</p>", esc_text(n.trim()));
    }
    for (n, it) in d.items.iter().enumerate() {
        let _ = writeln!(
            o,
            "<section id=\"{}\"><h2>{}. {}</h2>",
            esc(&it.id),
            n + 1,
            esc(&it.title)
        );
        let _ = writeln!(
            o,
            "<p class=\"asks\">{} — {}</p>",
            esc(&it.provision),
            esc(&it.asks)
        );
        match &it.value {
            Value::Text { text } => {
                let _ = writeln!(o, "<p>{}</p>", esc_text(text));
            }
            Value::Lines { lines } => {
                o.push_str("<ul>");
                for l in lines {
                    let _ = write!(o, "<li>{}</li>", esc_text(l));
                }
                o.push_str("</ul>\n");
            }
            Value::File { path, note } => {
                let _ = writeln!(
                    o,
                    "<p>See <a href=\"{}\"><code>{}</code></a> ({}).</p>",
                    esc(path),
                    esc(path),
                    esc(note)
                );
            }
            Value::Signature { name } => {
                let who = match name {
                    Some(n) => esc(n),
                    None => "<span class=\"missing\">MISSING: the signatory's name (<code>signatory_name</code>)</span>".into(),
                };
                let _ = writeln!(o, "<p class=\"sig\">Signature: <span>&nbsp;</span><br>Signed for and on behalf of the manufacturer by {who}</p>");
            }
            Value::NotApplicable { note } => {
                let _ = writeln!(o, "<p class=\"na\">Not applicable: {}</p>", esc_text(note));
            }
            Value::Missing { what } => {
                let _ = writeln!(o, "<p class=\"missing\">MISSING: {}</p>", esc_text(what));
            }
        }
        if let Some(g) = &it.gap {
            let _ = writeln!(o, "<p class=\"open\">OPEN: {}</p>", esc_text(g));
        }
        let _ = writeln!(
            o,
            "<p class=\"src\">Source: {}</p></section>",
            esc_text(&it.source)
        );
    }
    let gaps = d.gaps();
    if !gaps.is_empty() {
        o.push_str("<h2>Gaps</h2><ul>");
        for g in &gaps {
            let _ = write!(
                o,
                "<li><code>{}</code> ({}): {}</li>",
                esc(&g.item),
                esc(&g.provision),
                esc(&g.what)
            );
        }
        o.push_str("</ul>\n");
    }
    o.push_str("<footer>");
    if let Some(r) = &d.retention {
        let _ = write!(o, "<p>Retention: {}</p>", esc_text(r));
    }
    let _ = write!(
        o,
        "<p>Form <code>{}</code> — {}</p><p>{}</p></footer>\n</body></html>\n",
        esc(&d.form),
        esc_text(&d.source),
        esc_text(&colophon(d))
    );
    o
}

#[cfg(test)]
mod tests {
    use super::esc_text;

    #[test]
    fn dates_are_kept_on_one_line_and_the_rest_escaped() {
        assert_eq!(
            esc_text("until 2028-03-31 (as of 2026-12-07) <b>"),
            "until <span class=\"date\">2028-03-31</span> (as of <span class=\"date\">2026-12-07</span>) &lt;b&gt;"
        );
        // not dates: too many digits, or a version
        assert_eq!(
            esc_text("12026-12-07 and 2026-12-071"),
            "12026-12-07 and 2026-12-071"
        );
        assert_eq!(esc_text("v1.4.2"), "v1.4.2");
        // text around a date that is not ASCII stays whole
        assert_eq!(
            esc_text("Prüfung 2026-12-07 — ok"),
            "Prüfung <span class=\"date\">2026-12-07</span> — ok"
        );
        assert_eq!(
            esc_text("2026-12-07"),
            "<span class=\"date\">2026-12-07</span>"
        );
        assert_eq!(esc_text(""), "");
    }
}
