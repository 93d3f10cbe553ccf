//! Renderings of the evidence: JSON (the `iotrust-evidence/1` document), JSON lines (one
//! device per line), SARIF 2.1.0, and a table for people.

use serde_json::{json, Value};

use crate::evidence::{Evidence, Severity, RULES};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Jsonl,
    Sarif,
    Table,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "json" => Ok(Format::Json),
            "jsonl" => Ok(Format::Jsonl),
            "sarif" => Ok(Format::Sarif),
            "table" | "text" => Ok(Format::Table),
            o => Err(format!(
                "`{o}` is not an output format (json, jsonl, sarif, table)"
            )),
        }
    }
}

/// Render in a format.
pub fn render(ev: &Evidence, f: Format) -> String {
    match f {
        Format::Json => json_pretty(ev),
        Format::Jsonl => jsonl(ev),
        Format::Sarif => sarif(ev),
        Format::Table => table(ev),
    }
}

/// The evidence document, pretty-printed.
pub fn json_pretty(ev: &Evidence) -> String {
    let mut s =
        serde_json::to_string_pretty(ev).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// One line per device, each carrying the run's format, tool and times.
pub fn jsonl(ev: &Evidence) -> String {
    let mut out = String::new();
    for d in &ev.devices {
        let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("format".into(), json!("iotrust-evidence-device/1"));
            m.insert("tool".into(), json!(ev.tool));
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// SARIF 2.1.0: one rule per finding id, one result per finding, located by a logical
/// location `address/service`.
pub fn sarif(ev: &Evidence) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.title},
                "helpUri": format!("https://example.invalid/iotrust/crates/iotrust-probe/CHECKS.md#{}", r.id),
                "defaultConfiguration": {"level": sarif_level(r.severity)},
                "properties": {
                    "severity": r.severity.as_str(),
                    "provisions": r.provisions,
                    "outcomes": r.outcomes,
                    // The convention code-scanning tools read CWE ids from.
                    "tags": r.cwe.iter().map(|c| format!("external/cwe/{}", c.to_ascii_lowercase())).collect::<Vec<_>>()
                }
            })
        })
        .collect();
    let mut results = Vec::new();
    for d in &ev.devices {
        for f in &d.findings {
            let loc = match &f.service {
                Some(s) => format!("{}/{}", d.address, s),
                None => d.address.clone(),
            };
            let text = match &f.detail {
                Some(x) => format!("{}: {}", f.title, x),
                None => f.title.clone(),
            };
            results.push(json!({
                "ruleId": f.id,
                "ruleIndex": RULES.iter().position(|r| r.id == f.id),
                "level": sarif_level(f.severity),
                "message": {"text": text},
                "locations": [{"logicalLocations": [{"name": loc, "fullyQualifiedName": loc, "kind": "resource"}]}],
                "properties": {"address": d.address, "service": f.service, "severity": f.severity.as_str(), "provisions": f.provisions, "outcomes": f.outcomes}
            }));
        }
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": ev.tool.name, "version": ev.tool.version, "rules": rules}},
            "invocations": [{"executionSuccessful": true, "startTimeUtc": ev.started, "endTimeUtc": ev.finished}],
            "results": results
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(w - n))
    }
}

/// A plain-text report: per device, services then findings.
pub fn table(ev: &Evidence) -> String {
    let mut out = String::new();
    let total: usize = ev.devices.iter().map(|d| d.findings.len()).sum();
    for d in &ev.devices {
        out.push_str(&format!("{}\n", d.address));
        if d.services.is_empty() {
            out.push_str("  no open services found\n");
        }
        for s in &d.services {
            let tls = if s.tls_versions.is_empty() {
                String::new()
            } else {
                format!(" [{}]", s.tls_versions.join(" "))
            };
            out.push_str(&format!(
                "  {} {}{}  {}\n",
                pad(&format!("{}/{}", s.port, s.transport), 10),
                pad(&s.protocol, 8),
                tls,
                s.banner.as_deref().unwrap_or("")
            ));
        }
        for f in &d.findings {
            out.push_str(&format!(
                "  {} {} {} {}\n",
                pad(&f.severity.as_str().to_uppercase(), 8),
                pad(f.service.as_deref().unwrap_or("-"), 14),
                pad(&f.id, 24),
                f.title
            ));
            if let Some(x) = &f.detail {
                out.push_str(&format!("  {}{}\n", " ".repeat(48), x));
            }
        }
        for i in &d.incomplete {
            out.push_str(&format!("  incomplete: {i}\n"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "{} device(s), {} finding(s), {} .. {}\n",
        ev.devices.len(),
        total,
        ev.started,
        ev.finished
    ));
    out
}
