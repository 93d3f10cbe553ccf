//! MISP: an event (`{"Event":{…,"Attribute":[…],"Object":[{"Attribute":[…]}]}}`), a list of
//! events, and a MISP feed directory (`manifest.json` + `<uuid>.json`).

use std::path::Path;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::subject::{self, Subject};
use crate::util::{add_labels, flag, offset_in, raw_array, raw_object, text, time, Lines};
use crate::{feed_name, read, Ctx, Error, Feed, Format, Options};

pub(crate) fn parse(input: &str, ctx: &Ctx<'_>) -> Result<Feed, Error> {
    let mut out = Feed::new(Format::Misp);
    let lines = Lines::new(input);
    let events: Vec<&RawValue> = if let Some(members) = raw_object(input) {
        let get = |k: &str| members.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        if let Some(e) = get("Event") {
            vec![e]
        } else if let Some(r) = get("response") {
            wrapped_events(r)
        } else if is_manifest(&members) {
            return Err(ctx.malformed(
                Format::Misp,
                "a MISP feed manifest: it lists events kept in other files; load the directory",
            ));
        } else {
            return Err(ctx.malformed(Format::Misp, "no `Event` member"));
        }
    } else if let Some(items) = raw_array(input) {
        items.into_iter().flat_map(|i| wrapped_events(i)).collect()
    } else {
        let why = serde_json::from_str::<Value>(input)
            .err()
            .map_or_else(|| "not a JSON object".to_string(), |e| e.to_string());
        return Err(ctx.malformed(Format::Misp, why));
    };
    for event in events {
        read_event(input, event, &lines, ctx, &mut out);
    }
    Ok(out)
}

/// `[{"Event":…}, …]` (a search answer) → the events; a lone `{"Event":…}` too.
fn wrapped_events(raw: &RawValue) -> Vec<&RawValue> {
    let items = raw_array(raw.get()).unwrap_or_else(|| vec![raw]);
    items
        .into_iter()
        .filter_map(|i| {
            raw_object(i.get())?
                .into_iter()
                .find(|(k, _)| k == "Event")
                .map(|(_, v)| v)
        })
        .collect()
}

fn is_manifest(members: &[(String, &RawValue)]) -> bool {
    members.first().is_some_and(|(_, v)| {
        serde_json::from_str::<Value>(v.get())
            .ok()
            .is_some_and(|v| v.get("info").is_some())
    })
}

/// `Tag[].name`, without sharing markings (`tlp:…`, `pap:…`: how to share, not what it is).
fn tag_names(v: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(tags)) = v else {
        return Vec::new();
    };
    tags.iter()
        .filter_map(|t| t.get("name").and_then(Value::as_str))
        .map(str::trim)
        .filter(|n| {
            let l = n.to_ascii_lowercase();
            !n.is_empty() && !l.starts_with("tlp:") && !l.starts_with("pap:")
        })
        .map(str::to_string)
        .collect()
}

fn read_event(input: &str, event: &RawValue, lines: &Lines, ctx: &Ctx<'_>, out: &mut Feed) {
    let event_line = lines.line(offset_in(input, event));
    let Some(members) = raw_object(event.get()) else {
        return ctx.problem(out, event_line, "`Event` is not an object");
    };
    let member = |k: &str| members.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    let parse = |k: &str| member(k).and_then(|r| serde_json::from_str::<Value>(r.get()).ok());
    let mut labels = Vec::new();
    add_labels(
        &mut labels,
        parse("info").and_then(|i| i.as_str().map(str::to_string)),
    );
    add_labels(&mut labels, tag_names(parse("Tag").as_ref()));

    let mut attributes: Vec<&RawValue> = member("Attribute")
        .and_then(|a| raw_array(a.get()))
        .unwrap_or_default();
    for object in member("Object")
        .and_then(|o| raw_array(o.get()))
        .unwrap_or_default()
    {
        let inner = raw_object(object.get())
            .and_then(|m| m.into_iter().find(|(k, _)| k == "Attribute"))
            .and_then(|(_, a)| raw_array(a.get()));
        attributes.extend(inner.unwrap_or_default());
    }
    for attribute in attributes {
        let line = lines.line(offset_in(input, attribute));
        match serde_json::from_str::<Value>(attribute.get()) {
            Ok(v) => read_attribute(&v, line, &labels, ctx, out),
            Err(e) => ctx.problem(out, line, format!("malformed attribute: {e}")),
        }
    }
}

fn read_attribute(v: &Value, line: usize, event_labels: &[String], ctx: &Ctx<'_>, out: &mut Feed) {
    if flag(v, "deleted") == Some(true) {
        out.skipped_inactive += 1;
        return;
    }
    if flag(v, "to_ids") != Some(true) && !ctx.options.include_non_ids {
        out.skipped_inactive += 1;
        return;
    }
    let (Some(kind), Some(value)) = (text(v, "type"), text(v, "value")) else {
        return ctx.problem(out, line, "attribute without type or value");
    };
    let subjects: Vec<(Result<Subject, String>, Option<String>)> = match kind.as_str() {
        "ip-dst" | "ip-src" => vec![(subject::addr_or_prefix(&value), None)],
        "ip-dst|port" | "ip-src|port" => match value.rsplit_once('|') {
            Some((ip, port)) => vec![(subject::addr_port(ip, port), None)],
            None => vec![(Err(format!("{kind} `{value}` is not address|port")), None)],
        },
        "domain" | "hostname" => vec![(subject::domain(&value), None)],
        "domain|ip" => match value.split_once('|') {
            Some((d, ip)) => vec![
                (subject::domain(d), None),
                (subject::addr_or_prefix(ip), None),
            ],
            None => vec![(
                Err(format!("domain|ip `{value}` is not domain|address")),
                None,
            )],
        },
        "url" => vec![(subject::url_host(&value), Some(value.clone()))],
        _ => {
            out.skipped_unsupported += 1;
            return;
        }
    };
    let first = text(v, "first_seen").map(|t| (time(&t), t));
    let last = text(v, "last_seen").map(|t| (time(&t), t));
    for (which, t) in [("first_seen", &first), ("last_seen", &last)] {
        if let Some((None, raw)) = t {
            return ctx.problem(out, line, format!("{which} `{raw}` is not a time"));
        }
    }
    let mut labels = event_labels.to_vec();
    add_labels(&mut labels, tag_names(v.get("Tag")));
    let name = text(v, "uuid").unwrap_or_default();
    for (subject, url) in subjects {
        ctx.push(out, line, subject, |e| {
            e.entry = name.clone();
            e.labels = labels.clone();
            e.valid_from = first.as_ref().and_then(|(t, _)| *t);
            e.valid_until = last.as_ref().and_then(|(t, _)| *t);
            e.url = url;
        });
    }
}

/// A MISP feed directory: `manifest.json` names the events, each in `<uuid>.json`.
pub(crate) fn load_feed_dir(dir: &Path, options: &Options) -> Result<Feed, Error> {
    let manifest_path = dir.join("manifest.json");
    let bytes = read(&manifest_path)?;
    let manifest = String::from_utf8_lossy(&bytes);
    let manifest = manifest.strip_prefix('\u{feff}').unwrap_or(&manifest);
    let name = dir
        .canonicalize()
        .ok()
        .as_deref()
        .map(feed_name)
        .unwrap_or_else(|| feed_name(dir));
    let manifest_ctx = Ctx {
        feed: &name,
        file: &manifest_path,
        options,
    };
    let Some(members) = raw_object(manifest) else {
        return Err(manifest_ctx.malformed(Format::Misp, "manifest.json is not a JSON object"));
    };
    let lines = Lines::new(manifest);
    let mut feed = Feed::new(Format::Misp);
    for (uuid, raw) in members {
        let line = lines.line(offset_in(manifest, raw));
        let safe = !uuid.is_empty()
            && uuid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !safe {
            manifest_ctx.problem(&mut feed, line, format!("`{uuid}` is not an event uuid"));
            continue;
        }
        let path = dir.join(format!("{uuid}.json"));
        let bytes = match read(&path) {
            Ok(b) => b,
            Err(e) => {
                manifest_ctx.problem(&mut feed, line, e.to_string());
                continue;
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let ctx = Ctx {
            feed: &name,
            file: &path,
            options,
        };
        match parse(text, &ctx) {
            Ok(event) => feed.merge(event),
            Err(e) => manifest_ctx.problem(&mut feed, line, e.to_string()),
        }
    }
    Ok(feed)
}
