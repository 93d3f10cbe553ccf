//! Which format a feed is in, from its content: JSON shape, CSV header, comment lines.

use serde_json::Value;

use crate::subject;
use crate::util::{csv_fields, numbered_lines};
use crate::Format;

/// How many leading lines of a text feed are looked at.
const TEXT_LINES: usize = 500;

pub(crate) fn detect(text: &str) -> Result<Format, String> {
    let head = text.trim_start();
    if head.is_empty() {
        return Err("empty file".into());
    }
    if head.starts_with('{') || head.starts_with('[') {
        return match serde_json::from_str::<Value>(text) {
            Ok(v) => json_shape(&v),
            Err(whole) => json_lines(text).ok_or_else(|| format!("invalid JSON: {whole}")),
        };
    }
    text_shape(text)
}

pub(crate) fn json_shape(v: &Value) -> Result<Format, String> {
    match v {
        Value::Object(o) => {
            match o.get("type").and_then(Value::as_str) {
                Some("bundle") | Some("indicator") => return Ok(Format::Stix),
                Some("metadata") => return Ok(Format::Drop),
                _ => {}
            }
            if o.contains_key("Event") {
                return Ok(Format::Misp);
            }
            if let Some(Value::Array(r)) = o.get("response") {
                if r.first().is_some_and(|e| e.get("Event").is_some()) {
                    return Ok(Format::Misp);
                }
            }
            if o.contains_key("cidr") {
                return Ok(Format::Drop);
            }
            let first = o
                .values()
                .next()
                .ok_or("an empty JSON object".to_string())?;
            if first.get("info").is_some() && first.get("Orgc").is_some()
                || first.get("info").is_some() && first.get("timestamp").is_some()
            {
                return Ok(Format::Misp);
            }
            if let Some(item) = first.as_array().and_then(|a| a.first()) {
                if item.get("ioc_value").is_some() {
                    return Ok(Format::ThreatFox);
                }
                if item.get("url").is_some()
                    && (item.get("urlhaus_link").is_some()
                        || item.get("url_status").is_some()
                        || item.get("dateadded").is_some())
                {
                    return Ok(Format::Urlhaus);
                }
            }
            Err("a JSON object of no known feed shape".into())
        }
        Value::Array(a) => {
            let first = a.first().ok_or("an empty JSON array".to_string())?;
            if first.get("ip_address").is_some() {
                return Ok(Format::Feodo);
            }
            if first.get("Event").is_some() {
                return Ok(Format::Misp);
            }
            if first.get("ioc_value").is_some() {
                return Ok(Format::ThreatFox);
            }
            if first.get("type").and_then(Value::as_str).is_some()
                && first.get("spec_version").is_some()
            {
                return Ok(Format::Stix);
            }
            Err("a JSON array of no known feed shape".into())
        }
        _ => Err("a JSON value that is neither object nor array".into()),
    }
}

/// Spamhaus's JSON lines: the first object line has `cidr` (or is the metadata line).
fn json_lines(text: &str) -> Option<Format> {
    let line = numbered_lines(text)
        .map(|(_, l)| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with(';') && !l.starts_with('#'))?;
    let v: Value = serde_json::from_str(line).ok()?;
    let o = v.as_object()?;
    if o.contains_key("cidr")
        || o.get("type").and_then(Value::as_str) == Some("metadata")
        || (o.contains_key("asn") && o.contains_key("rir"))
    {
        return Some(Format::Drop);
    }
    None
}

/// A CSV header naming one of the abuse.ch exports.
pub(crate) fn header_format(fields: &[String]) -> Option<Format> {
    let has = |name: &str| fields.iter().any(|f| f.trim().eq_ignore_ascii_case(name));
    if has("ioc_value") {
        Some(Format::ThreatFox)
    } else if has("urlhaus_link") || (has("url") && has("dateadded")) {
        Some(Format::Urlhaus)
    } else if has("dst_ip") {
        Some(Format::Feodo)
    } else {
        None
    }
}

const THREATFOX_TYPES: &[&str] = &[
    "ip:port",
    "domain",
    "url",
    "md5_hash",
    "sha1_hash",
    "sha256_hash",
];

fn text_shape(text: &str) -> Result<Format, String> {
    let mut semicolon_comments = false;
    let mut spamhaus = false;
    let mut feodo = false;
    for (_, line) in numbered_lines(text).take(TEXT_LINES) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix(';') {
            semicolon_comments = true;
            spamhaus |= c.to_ascii_lowercase().contains("spamhaus");
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            feodo |= c.to_ascii_lowercase().contains("feodo");
            if let Some(f) = csv_fields(c.trim()).as_deref().and_then(header_format) {
                return Ok(f);
            }
            continue;
        }
        // The first data line decides.
        if let Some((net, rest)) = line.split_once(';') {
            if subject::addr_or_prefix(net).is_ok() || rest.trim().starts_with("SBL") {
                return Ok(Format::Drop);
            }
        }
        let fields = csv_fields(line).unwrap_or_default();
        if let Some(f) = header_format(&fields) {
            return Ok(f);
        }
        let parses_ip = |s: &str| {
            s.trim()
                .split('/')
                .next()
                .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok())
        };
        match fields.len() {
            14.. if THREATFOX_TYPES.contains(&fields[3].trim()) => return Ok(Format::ThreatFox),
            9.. if fields[2].contains("://") => return Ok(Format::Urlhaus),
            6 if parses_ip(&fields[1]) => return Ok(Format::Feodo),
            1 if parses_ip(&fields[0]) => {
                return Ok(if (semicolon_comments || spamhaus) && !feodo {
                    Format::Drop
                } else {
                    Format::Feodo
                });
            }
            _ => {}
        }
        return Err(format!(
            "first data line `{}` is no known feed's",
            line.chars().take(60).collect::<String>()
        ));
    }
    Err("no data lines and no known header".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let d = |s: &str| detect(s);
        assert_eq!(d(r#"{"type":"bundle","objects":[]}"#), Ok(Format::Stix));
        assert_eq!(d(r#"{"Event":{}}"#), Ok(Format::Misp));
        assert_eq!(
            d("{\"cidr\":\"198.51.100.0/24\",\"sblid\":\"SBL1\"}\n{\"type\":\"metadata\"}\n"),
            Ok(Format::Drop)
        );
        assert_eq!(
            d("; Spamhaus DROP\n198.51.100.0/24 ; SBL1\n"),
            Ok(Format::Drop)
        );
        assert_eq!(d("# Feodo\n198.51.100.1\n"), Ok(Format::Feodo));
        assert_eq!(
            d("# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"),
            Ok(Format::Urlhaus)
        );
        assert!(d("").is_err());
        assert!(d("hello world\n").is_err());
        assert!(d("{not json").is_err());
        assert!(d("[]").is_err());
    }
}
