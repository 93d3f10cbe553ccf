//! abuse.ch exports: Feodo Tracker (text, CSV, JSON), ThreatFox (CSV, JSON), URLhaus (CSV,
//! JSON).

use serde_json::value::RawValue;
use serde_json::Value;

use crate::detect::header_format;
use crate::subject::{self, Subject};
use crate::util::{
    add_labels, csv_fields, numbered_lines, offset_in, raw_array, raw_object, split_tags,
    string_list, text, time, Lines,
};
use crate::{Ctx, Error, Feed, Format};

const FEODO_COLUMNS: &[&str] = &[
    "first_seen_utc",
    "dst_ip",
    "dst_port",
    "c2_status",
    "last_online",
    "malware",
];

const THREATFOX_COLUMNS: &[&str] = &[
    "first_seen_utc",
    "ioc_id",
    "ioc_value",
    "ioc_type",
    "threat_type",
    "fk_malware",
    "malware_alias",
    "malware_printable",
    "last_seen_utc",
    "confidence_level",
    "reference",
    "tags",
    "anonymous",
    "reporter",
];

const URLHAUS_COLUMNS: &[&str] = &[
    "id",
    "dateadded",
    "url",
    "url_status",
    "last_online",
    "threat",
    "tags",
    "urlhaus_link",
    "reporter",
];

/// A CSV row with its column names.
struct Row<'a> {
    names: &'a [String],
    fields: &'a [String],
}

impl Row<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let i = self.names.iter().position(|n| n == name)?;
        self.fields
            .get(i)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}

/// Walk a CSV export: `#` comments (one of which may be the header), blank lines, a header
/// line, data rows. `row` gets the line number and the row.
fn csv(
    input: &str,
    format: Format,
    defaults: &[&str],
    ctx: &Ctx<'_>,
    out: &mut Feed,
    mut row: impl FnMut(usize, &Row<'_>, &mut Feed),
) {
    let mut names: Vec<String> = defaults.iter().map(|s| s.to_string()).collect();
    for (n, line) in numbered_lines(input) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (body, comment) = match line.strip_prefix('#') {
            Some(c) => (c.trim(), true),
            None => (line, false),
        };
        let Some(fields) = csv_fields(body) else {
            if !comment {
                ctx.problem(out, n, "unterminated quote");
            }
            continue;
        };
        if header_format(&fields) == Some(format) {
            names = fields
                .iter()
                .map(|f| f.trim().to_ascii_lowercase())
                .collect();
            continue;
        }
        if comment {
            continue;
        }
        row(
            n,
            &Row {
                names: &names,
                fields: &fields,
            },
            out,
        );
    }
}

fn json_start(input: &str) -> bool {
    input.trim_start().starts_with(['{', '['])
}

/// The objects of a JSON array at `raw`, with their lines.
fn array_items<'a>(input: &'a str, raw: &'a RawValue, lines: &Lines) -> Vec<(usize, Value)> {
    raw_array(raw.get())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|item| {
            let line = lines.line(offset_in(input, item));
            serde_json::from_str::<Value>(item.get())
                .ok()
                .map(|v| (line, v))
        })
        .collect()
}

/// Items of an abuse.ch JSON export: an object keyed by id whose values are arrays of
/// records (ThreatFox, URLhaus), an array of records (Feodo), or an API answer
/// (`{"query_status":…, "data":[…]}`). Each item: line, id (the key, if keyed) and record.
fn json_records(
    input: &str,
    format: Format,
    ctx: &Ctx<'_>,
) -> Result<Vec<(usize, Option<String>, Value)>, Error> {
    let lines = Lines::new(input);
    let mut records = Vec::new();
    if let Some(items) = raw_array(input) {
        for item in items {
            let line = lines.line(offset_in(input, item));
            match serde_json::from_str::<Value>(item.get()) {
                Ok(v) => records.push((line, None, v)),
                Err(e) => return Err(ctx.malformed(format, e.to_string())),
            }
        }
        return Ok(records);
    }
    let Some(members) = raw_object(input) else {
        let why = serde_json::from_str::<Value>(input).err().map_or_else(
            || "not a JSON object or array".to_string(),
            |e| e.to_string(),
        );
        return Err(ctx.malformed(format, why));
    };
    for (key, raw) in members {
        if key == "query_status" {
            continue;
        }
        let keyed = key != "data";
        let items = array_items(input, raw, &lines);
        if items.is_empty() && !raw.get().trim_start().starts_with('[') {
            let line = lines.line(offset_in(input, raw));
            records.push((line, Some(key.clone()), Value::Null));
        }
        for (line, v) in items {
            records.push((line, keyed.then(|| key.clone()), v));
        }
    }
    Ok(records)
}

// ---------------------------------------------------------------- Feodo Tracker

pub(crate) fn feodo(input: &str, ctx: &Ctx<'_>) -> Result<Feed, Error> {
    let mut out = Feed::new(Format::Feodo);
    if json_start(input) {
        for (line, _, v) in json_records(input, Format::Feodo, ctx)? {
            let Some(ip) = text(&v, "ip_address") else {
                ctx.problem(&mut out, line, "record without `ip_address`");
                continue;
            };
            let ports: Vec<String> = match v.get("port").or_else(|| v.get("ports")) {
                Some(Value::Array(ps)) => ps
                    .iter()
                    .map(|p| p.to_string().trim_matches('"').to_string())
                    .collect(),
                Some(Value::Null) | None => Vec::new(),
                Some(p) => vec![p.to_string().trim_matches('"').to_string()],
            };
            let mut push = |subject: Result<Subject, String>, name: String| {
                ctx.push(&mut out, line, subject, |e| {
                    e.entry = name;
                    add_labels(&mut e.labels, text(&v, "malware"));
                    e.valid_from = text(&v, "first_seen").and_then(|t| time(&t));
                });
            };
            if ports.is_empty() {
                push(subject::addr_or_prefix(&ip), ip.clone());
            }
            for port in ports {
                push(subject::addr_port(&ip, &port), format!("{ip}:{port}"));
            }
        }
        return Ok(out);
    }
    csv(
        input,
        Format::Feodo,
        FEODO_COLUMNS,
        ctx,
        &mut out,
        |n, row, out| {
            if row.fields.len() == 1 {
                // The plain-text blocklist: one address a line.
                let ip = row.fields[0].trim();
                ctx.push(out, n, subject::addr_or_prefix(ip), |e| e.entry = ip.into());
                return;
            }
            let Some(ip) = row.get("dst_ip") else {
                return ctx.problem(out, n, "row without dst_ip");
            };
            let (subject, name) = match row.get("dst_port") {
                Some(port) => (subject::addr_port(ip, port), format!("{ip}:{port}")),
                None => (subject::addr_or_prefix(ip), ip.to_string()),
            };
            ctx.push(out, n, subject, |e| {
                e.entry = name;
                add_labels(&mut e.labels, row.get("malware").map(str::to_string));
                e.valid_from = row.get("first_seen_utc").and_then(time);
            });
        },
    );
    Ok(out)
}

// ---------------------------------------------------------------- ThreatFox

/// The subject of a ThreatFox IOC; `Ok(None)` for a hash (not a network indicator).
fn threatfox_ioc(value: &str, kind: &str) -> Result<Option<(Subject, Option<String>)>, String> {
    match kind {
        "ip:port" => subject::host_port(value).map(|s| Some((s, None))),
        "domain" => subject::domain(value).map(|s| Some((s, None))),
        "url" => subject::url_host(value).map(|s| Some((s, Some(value.to_string())))),
        k if k.ends_with("_hash") => Ok(None),
        k => Err(format!("unknown ioc type `{k}`")),
    }
}

struct Ioc<'a> {
    line: usize,
    id: String,
    value: Option<&'a str>,
    kind: Option<&'a str>,
    labels: Vec<String>,
    first_seen: Option<&'a str>,
}

fn threatfox_push(ioc: Ioc<'_>, ctx: &Ctx<'_>, out: &mut Feed) {
    let (Some(value), Some(kind)) = (ioc.value, ioc.kind) else {
        return ctx.problem(out, ioc.line, "IOC without ioc_value or ioc_type");
    };
    match threatfox_ioc(value, &kind.to_ascii_lowercase()) {
        Ok(None) => out.skipped_unsupported += 1,
        Ok(Some((subject, url))) => ctx.push(out, ioc.line, Ok(subject), |e| {
            e.entry = ioc.id;
            e.labels = ioc.labels;
            e.valid_from = ioc.first_seen.and_then(time);
            e.url = url;
        }),
        Err(m) => ctx.problem(out, ioc.line, m),
    }
}

pub(crate) fn threatfox(input: &str, ctx: &Ctx<'_>) -> Result<Feed, Error> {
    let mut out = Feed::new(Format::ThreatFox);
    if json_start(input) {
        for (line, key, v) in json_records(input, Format::ThreatFox, ctx)? {
            let mut labels = Vec::new();
            add_labels(
                &mut labels,
                text(&v, "malware_printable").or_else(|| text(&v, "malware")),
            );
            add_labels(&mut labels, string_list(&v, "tags"));
            let value = text(&v, "ioc_value").or_else(|| text(&v, "ioc"));
            let kind = text(&v, "ioc_type");
            let first = text(&v, "first_seen_utc").or_else(|| text(&v, "first_seen"));
            let id = key.or_else(|| text(&v, "id")).unwrap_or_default();
            let ioc = Ioc {
                line,
                id,
                value: value.as_deref(),
                kind: kind.as_deref(),
                labels,
                first_seen: first.as_deref(),
            };
            threatfox_push(ioc, ctx, &mut out);
        }
        return Ok(out);
    }
    csv(
        input,
        Format::ThreatFox,
        THREATFOX_COLUMNS,
        ctx,
        &mut out,
        |n, row, out| {
            let mut labels = Vec::new();
            add_labels(
                &mut labels,
                row.get("malware_printable")
                    .or_else(|| row.get("fk_malware"))
                    .map(str::to_string),
            );
            add_labels(
                &mut labels,
                row.get("tags").map(split_tags).unwrap_or_default(),
            );
            let ioc = Ioc {
                line: n,
                id: row.get("ioc_id").unwrap_or_default().to_string(),
                value: row.get("ioc_value"),
                kind: row.get("ioc_type"),
                labels,
                first_seen: row.get("first_seen_utc"),
            };
            threatfox_push(ioc, ctx, out);
        },
    );
    Ok(out)
}

// ---------------------------------------------------------------- URLhaus

pub(crate) fn urlhaus(input: &str, ctx: &Ctx<'_>) -> Result<Feed, Error> {
    let mut out = Feed::new(Format::Urlhaus);
    if json_start(input) {
        for (line, key, v) in json_records(input, Format::Urlhaus, ctx)? {
            let Some(url) = text(&v, "url") else {
                ctx.problem(&mut out, line, "record without `url`");
                continue;
            };
            ctx.push(&mut out, line, subject::url_host(&url), |e| {
                e.entry = key.or_else(|| text(&v, "id")).unwrap_or_default();
                add_labels(&mut e.labels, string_list(&v, "tags"));
                add_labels(&mut e.labels, text(&v, "threat"));
                e.valid_from = text(&v, "dateadded").and_then(|t| time(&t));
                e.url = Some(url.clone());
            });
        }
        return Ok(out);
    }
    csv(
        input,
        Format::Urlhaus,
        URLHAUS_COLUMNS,
        ctx,
        &mut out,
        |n, row, out| {
            let Some(url) = row.get("url") else {
                return ctx.problem(out, n, "row without url");
            };
            ctx.push(out, n, subject::url_host(url), |e| {
                e.entry = row.get("id").unwrap_or_default().to_string();
                add_labels(
                    &mut e.labels,
                    row.get("tags").map(split_tags).unwrap_or_default(),
                );
                add_labels(&mut e.labels, row.get("threat").map(str::to_string));
                e.valid_from = row.get("dateadded").and_then(time);
                e.url = Some(url.to_string());
            });
        },
    );
    Ok(out)
}
