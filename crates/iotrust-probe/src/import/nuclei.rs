//! Nuclei JSON lines (`nuclei -jsonl`): one match per line. A match of a template tagged
//! `default-login` is a working default credential (the `default-credentials` rule); any other
//! match is kept as a finding under the template's own id (`nuclei:<template-id>`) with its
//! severity, CVE and CWE, and no provisions: iotrust does not guess what another tool's check
//! evidences.

use serde::Deserialize;

use super::{err, Devices, Format};
use crate::error::ProbeError;
use crate::evidence::{self, Evidence, Finding, Severity, Tool};

#[derive(Deserialize)]
struct Match {
    #[serde(rename = "template-id")]
    template_id: String,
    info: Info,
    #[serde(default)]
    host: String,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    port: Option<serde_json::Value>,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(rename = "matched-at", default)]
    matched_at: Option<String>,
}

#[derive(Deserialize)]
struct Info {
    #[serde(default)]
    name: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    tags: Tags,
    #[serde(default)]
    classification: Option<Classification>,
}

/// Tags are a list, or one comma-separated string in older templates.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Tags {
    List(Vec<String>),
    Text(String),
    #[default]
    None,
}

impl Tags {
    fn has(&self, t: &str) -> bool {
        match self {
            Tags::List(l) => l.iter().any(|x| x == t),
            Tags::Text(s) => s.split(',').any(|x| x.trim() == t),
            Tags::None => false,
        }
    }
}

#[derive(Deserialize)]
struct Classification {
    #[serde(rename = "cve-id", default)]
    cve: Option<Vec<String>>,
    #[serde(rename = "cwe-id", default)]
    cwe: Option<Vec<String>>,
}

fn severity(s: &str) -> Severity {
    match s {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        _ => Severity::Info,
    }
}

/// Address and port from `ip`/`port`, else from `host` (`10.0.0.5:8080`, a URL).
fn target(m: &Match) -> Option<(String, u16)> {
    let port = match &m.port {
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        _ => None,
    };
    let host = m.host.split("://").last().unwrap_or(&m.host);
    let host = host.split('/').next().unwrap_or(host);
    let (h, p) = match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h.to_string(), p.parse().ok()),
        _ => (host.to_string(), None),
    };
    let default = if m.host.starts_with("https://") {
        443
    } else {
        80
    };
    Some((m.ip.clone().unwrap_or(h), port.or(p).unwrap_or(default)))
}

pub fn import(file: &str, text: &str) -> Result<Evidence, ProbeError> {
    let mut devices = Devices::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let m: Match = serde_json::from_str(line).map_err(|e| {
            err(
                file,
                Some(i + 1),
                None,
                format!("not a Nuclei JSON line: {e}"),
            )
        })?;
        let Some((addr, port)) = target(&m) else {
            return Err(err(file, Some(i + 1), Some("host"), "no address"));
        };
        let d = devices.get(&addr);
        let proto = match m.kind.as_str() {
            "http" if m.host.starts_with("https://") => "https".to_string(),
            "" | "tcp" | "network" | "javascript" => "unknown".to_string(),
            k => k.to_string(),
        };
        let svc = d.service(port, &proto, None);
        let mut refs = Vec::new();
        let mut cwe: Vec<String> = Vec::new();
        if let Some(c) = &m.info.classification {
            refs.extend(c.cve.iter().flatten().cloned());
            refs.extend(c.cwe.iter().flatten().cloned());
            cwe.extend(
                c.cwe
                    .iter()
                    .flatten()
                    .map(|x| evidence::sanitize(&x.to_ascii_uppercase(), 20)),
            );
        }
        let detail = format!(
            "nuclei {}{}{}",
            m.template_id,
            m.matched_at
                .as_deref()
                .map(|a| format!(" matched at {}", evidence::sanitize(a, 120)))
                .unwrap_or_default(),
            if refs.is_empty() {
                String::new()
            } else {
                format!(" ({})", refs.join(", "))
            }
        );
        if m.info.tags.has("default-login") {
            d.default_credentials = Some(true);
            d.finding(
                &evidence::DEFAULT_CREDENTIALS,
                &svc,
                Some(evidence::sanitize(&m.info.name, 120)),
                Some(detail),
            );
        } else {
            d.foreign(Finding {
                id: format!("nuclei:{}", evidence::sanitize(&m.template_id, 80)),
                severity: severity(&m.info.severity),
                title: evidence::sanitize(&m.info.name, 120),
                service: Some(svc),
                detail: Some(detail),
                provisions: Vec::new(),
                outcomes: Vec::new(),
                cwe,
            });
        }
    }
    let tool = Tool {
        name: "nuclei".into(),
        version: String::new(),
    };
    Ok(devices.into_evidence(Format::NucleiJsonl, file, tool, &super::now()))
}
