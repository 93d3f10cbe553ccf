//! Shared helpers: line numbers, a small CSV field splitter, timestamps, JSON positions.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::value::RawValue;
use serde_json::Value;

/// Byte offset → 1-based line number.
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
}

/// Where `raw` starts inside `text` (it must have been borrowed from `text`).
pub(crate) fn offset_in(text: &str, raw: &RawValue) -> usize {
    let start = text.as_ptr() as usize;
    let at = raw.get().as_ptr() as usize;
    at.saturating_sub(start).min(text.len())
}

/// The members of a JSON object, each still raw, in document order.
pub(crate) fn raw_object<'a>(text: &'a str) -> Option<Vec<(String, &'a RawValue)>> {
    let map: BTreeMap<String, &'a RawValue> = serde_json::from_str(text).ok()?;
    let mut members: Vec<(String, &'a RawValue)> = map.into_iter().collect();
    members.sort_by_key(|(_, v)| v.get().as_ptr() as usize);
    Some(members)
}

/// The elements of a JSON array, each still raw.
pub(crate) fn raw_array(text: &str) -> Option<Vec<&RawValue>> {
    serde_json::from_str(text).ok()
}

/// A string or number member as text (ids are either); `None` for null, empty or absent.
pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A boolean member; MISP has written `"1"`/`"0"` and `"true"` as well as JSON booleans.
pub(crate) fn flag(v: &Value, key: &str) -> Option<bool> {
    match v.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_u64() != Some(0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Some(true),
            "0" | "false" | "no" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Strings from a member that is a list of strings, or one comma-separated string.
pub(crate) fn string_list(v: &Value, key: &str) -> Vec<String> {
    match v.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) => split_tags(s),
        _ => Vec::new(),
    }
}

/// `a,b, c` → `[a, b, c]`; `None`/`null` placeholders dropped.
pub(crate) fn split_tags(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("none") && *t != "null")
        .map(str::to_string)
        .collect()
}

/// Append `labels` to `to` without duplicates.
pub(crate) fn add_labels(to: &mut Vec<String>, labels: impl IntoIterator<Item = String>) {
    for l in labels {
        if !l.is_empty() && !to.contains(&l) {
            to.push(l);
        }
    }
}

/// A time as feeds write it: RFC 3339 (`2024-05-01T10:00:00Z`, `…+00:00`, fractions), a
/// civil date-time taken as UTC (`2024-05-01 10:00:00`, optionally ending ` UTC`), a date
/// (`2024-05-01`, midnight UTC) or Unix seconds.
pub(crate) fn time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(|n| Timestamp::from_second(n).ok());
    }
    let civil = s
        .strip_suffix(" UTC")
        .or_else(|| s.strip_suffix(" utc"))
        .unwrap_or(s)
        .trim();
    if let Ok(dt) = civil.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    None
}

/// Split one CSV line into fields: `,` separated, `"…"` quoting with `""` for a quote, blanks
/// around a field ignored (ThreatFox writes `", "`). `None` for an unterminated quote.
pub(crate) fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return None,
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                field.push(c);
                chars.next();
            }
            let trimmed = field.trim_end().len();
            field.truncate(trimmed);
        }
        fields.push(field);
        if chars.next().is_none() {
            return Some(fields);
        }
    }
}

/// Lines of `text` with their 1-based numbers, `\r` removed.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(
            csv_fields(r#""a", "b,c" ,d,"e""f",,"#).unwrap(),
            vec!["a", "b,c", "d", "e\"f", "", ""]
        );
        assert_eq!(csv_fields("").unwrap(), vec![""]);
        assert!(csv_fields(r#""open"#).is_none());
    }

    #[test]
    fn times() {
        let t = |s| time(s).map(|t: Timestamp| t.to_string());
        assert_eq!(t("2024-05-01T10:00:00Z").unwrap(), "2024-05-01T10:00:00Z");
        assert_eq!(
            t("2019-06-02T22:14:28.711954+00:00").unwrap(),
            "2019-06-02T22:14:28.711954Z"
        );
        assert_eq!(t("2024-05-01 10:00:00").unwrap(), "2024-05-01T10:00:00Z");
        assert_eq!(
            t("2020-12-08 13:36:27 UTC").unwrap(),
            "2020-12-08T13:36:27Z"
        );
        assert_eq!(t("1714557600").unwrap(), "2024-05-01T10:00:00Z");
        assert!(t("yesterday").is_none());
        assert!(t("").is_none());
    }

    #[test]
    fn line_numbers() {
        let l = Lines::new("a\nbc\n\nd");
        assert_eq!(l.line(0), 1);
        assert_eq!(l.line(2), 2);
        assert_eq!(l.line(5), 3);
        assert_eq!(l.line(6), 4);
    }
}
