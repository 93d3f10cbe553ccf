//! Spamhaus DROP / EDROP (and DROPv6): the classic text (`prefix ; SBL-id`, `;` comments)
//! and the JSON lines (`{"cidr":…,"sblid":…,"rir":…}` plus a metadata line).

use serde_json::Value;

use crate::subject;
use crate::util::{numbered_lines, text};
use crate::{Ctx, Error, Feed, Format};

const LABEL: &str = "spamhaus-drop";

pub(crate) fn parse(input: &str, ctx: &Ctx<'_>) -> Result<Feed, Error> {
    let mut out = Feed::new(Format::Drop);
    for (n, line) in numbered_lines(input) {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if line.starts_with('{') {
            json_line(line, n, ctx, &mut out);
        } else {
            let (net, sbl) = match line.split_once(';') {
                Some((net, sbl)) => (net.trim(), sbl.trim()),
                None => (line, ""),
            };
            ctx.push(&mut out, n, subject::addr_or_prefix(net), |e| {
                e.entry = sbl.to_string();
                e.labels.push(LABEL.into());
            });
        }
    }
    Ok(out)
}

fn json_line(line: &str, n: usize, ctx: &Ctx<'_>, out: &mut Feed) {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return ctx.problem(out, n, format!("malformed JSON line: {e}")),
    };
    if v.get("type").and_then(Value::as_str) == Some("metadata") {
        return;
    }
    let Some(cidr) = text(&v, "cidr") else {
        if v.get("asn").is_some() {
            // ASN-DROP: an AS number, not an address; flow records do not carry it here.
            out.skipped_unsupported += 1;
            return;
        }
        return ctx.problem(out, n, "DROP line without `cidr`");
    };
    ctx.push(out, n, subject::addr_or_prefix(&cidr), |e| {
        e.entry = text(&v, "sblid").unwrap_or_default();
        e.labels.push(LABEL.into());
    });
}
