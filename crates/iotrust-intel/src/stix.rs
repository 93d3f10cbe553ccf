//! STIX 2.1 (and 2.0) bundles: `indicator` objects whose STIX pattern names network
//! infrastructure, labelled with the names of the `malware` they indicate.
//!
//! The pattern is parsed in full (observation expressions, qualifiers, comparison AND/OR,
//! every operator and literal form), then reduced to entries:
//! - `ipv4-addr:value`, `ipv6-addr:value`, `network-traffic:dst_ref.value` with `=` (or `IN`,
//!   or `ISSUBSET` a CIDR) → address or prefix; `domain-name:value` → domain; `url:value` →
//!   the URL's host;
//! - ANDed with `network-traffic:dst_port = N` → address (or prefix) and port;
//! - `OR` (and `IN`) → one entry per alternative;
//! - observation operators (`[…] OR/AND/FOLLOWEDBY […]`) → the entries of each side;
//!   qualifiers (`WITHIN`, `REPEATS`, `START … STOP`) are ignored;
//! - a conjunction with a comparison that cannot be expressed (a file hash, `!=`, `LIKE`,
//!   `NOT`, two hosts, a port alone, a domain with a port) is skipped and counted: dropping
//!   the part would widen the indicator.

use std::collections::HashMap;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::subject::{self, Subject};
use crate::util::{add_labels, offset_in, raw_array, raw_object, text, time, Lines};
use crate::{Ctx, Error, Feed, Format};

pub(crate) fn parse(input: &str, ctx: &Ctx<'_>) -> Result<Feed, Error> {
    let lines = Lines::new(input);
    let objects: Vec<&RawValue> = if let Some(members) = raw_object(input) {
        let get = |k: &str| members.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        let kind = get("type").and_then(|t| serde_json::from_str::<String>(t.get()).ok());
        match kind.as_deref() {
            Some("bundle") => match get("objects") {
                Some(o) => raw_array(o.get())
                    .ok_or_else(|| ctx.malformed(Format::Stix, "`objects` is not an array"))?,
                None => Vec::new(),
            },
            Some(_) => vec![serde_json::from_str::<&RawValue>(input)
                .map_err(|e| ctx.malformed(Format::Stix, e.to_string()))?],
            None => return Err(ctx.malformed(Format::Stix, "no `type` member")),
        }
    } else if let Some(items) = raw_array(input) {
        items
    } else {
        let why = serde_json::from_str::<Value>(input)
            .err()
            .map_or_else(|| "not a JSON object".to_string(), |e| e.to_string());
        return Err(ctx.malformed(Format::Stix, why));
    };

    let mut parsed = Vec::with_capacity(objects.len());
    for raw in objects {
        let line = lines.line(offset_in(input, raw));
        parsed.push((line, serde_json::from_str::<Value>(raw.get())));
    }

    // Malware names, and which indicator indicates which malware.
    let mut malware: HashMap<String, String> = HashMap::new();
    let mut indicates: Vec<(String, String)> = Vec::new();
    for (_, v) in &parsed {
        let Ok(v) = v else { continue };
        match v.get("type").and_then(Value::as_str) {
            Some("malware") => {
                if let (Some(id), Some(name)) = (text(v, "id"), text(v, "name")) {
                    malware.insert(id, name);
                }
            }
            Some("relationship")
                if text(v, "relationship_type").as_deref() == Some("indicates") =>
            {
                if let (Some(s), Some(t)) = (text(v, "source_ref"), text(v, "target_ref")) {
                    indicates.push((s, t));
                }
            }
            _ => {}
        }
    }

    let mut out = Feed::new(Format::Stix);
    for (line, v) in parsed {
        let v = match v {
            Ok(v) => v,
            Err(e) => {
                ctx.problem(&mut out, line, format!("malformed STIX object: {e}"));
                continue;
            }
        };
        if v.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        indicator(&v, line, &malware, &indicates, ctx, &mut out);
    }
    Ok(out)
}

fn indicator(
    v: &Value,
    line: usize,
    malware: &HashMap<String, String>,
    indicates: &[(String, String)],
    ctx: &Ctx<'_>,
    out: &mut Feed,
) {
    if v.get("revoked").and_then(Value::as_bool) == Some(true) {
        out.skipped_inactive += 1;
        return;
    }
    // STIX 2.0 has no pattern_type: its patterns are STIX patterns.
    let pattern_type = text(v, "pattern_type").unwrap_or_else(|| "stix".into());
    if !pattern_type.eq_ignore_ascii_case("stix") {
        out.skipped_unsupported += 1;
        return;
    }
    let id = text(v, "id").unwrap_or_default();
    let Some(pattern) = text(v, "pattern") else {
        return ctx.problem(out, line, format!("indicator {id} has no pattern"));
    };
    let mut times = [None, None];
    for (slot, key) in times.iter_mut().zip(["valid_from", "valid_until"]) {
        if let Some(raw) = text(v, key) {
            match time(&raw) {
                Some(t) => *slot = Some(t),
                None => return ctx.problem(out, line, format!("{key} `{raw}` is not a time")),
            }
        }
    }
    let mut labels = Vec::new();
    for key in ["labels", "indicator_types"] {
        if let Some(Value::Array(items)) = v.get(key) {
            add_labels(
                &mut labels,
                items.iter().filter_map(Value::as_str).map(str::to_string),
            );
        }
    }
    add_labels(
        &mut labels,
        indicates
            .iter()
            .filter(|(s, _)| *s == id)
            .filter_map(|(_, t)| malware.get(t).cloned()),
    );
    let name = text(v, "name").unwrap_or_else(|| id.clone());

    let expr = match Parser::new(&pattern).and_then(|mut p| p.pattern()) {
        Ok(e) => e,
        Err(m) => return ctx.problem(out, line, format!("pattern: {m}")),
    };
    let alternatives = match observation_alternatives(&expr) {
        Ok(a) => a,
        Err(m) => return ctx.problem(out, line, format!("pattern: {m}")),
    };
    for conj in alternatives {
        match resolve(conj) {
            Resolved::Unsupported => out.skipped_unsupported += 1,
            Resolved::Subject(subject, url) => ctx.push(out, line, subject, |e| {
                e.entry = name.clone();
                e.labels = labels.clone();
                e.valid_from = times[0];
                e.valid_until = times[1];
                e.url = url;
            }),
        }
    }
}

// ---------------------------------------------------------------- reduction to entries

/// What one comparison contributes to a conjunction.
#[derive(Clone, Debug)]
enum Atom {
    Host(Result<Subject, String>, Option<String>),
    Port(Result<u16, String>),
    /// Says nothing we must keep (`network-traffic:dst_ref.type = 'ipv4-addr'`).
    Neutral,
    Unsupported,
}

/// At most this many alternatives from one pattern (an AND of ORs multiplies).
const MAX_ALTERNATIVES: usize = 4096;

enum Resolved {
    Subject(Result<Subject, String>, Option<String>),
    Unsupported,
}

fn resolve(conj: Vec<Atom>) -> Resolved {
    let mut host = None;
    let mut port = None;
    for atom in conj {
        match atom {
            Atom::Unsupported => return Resolved::Unsupported,
            Atom::Neutral => {}
            Atom::Host(..) if host.is_some() => return Resolved::Unsupported,
            Atom::Host(s, url) => host = Some((s, url)),
            Atom::Port(_) if port.is_some() => return Resolved::Unsupported,
            Atom::Port(p) => port = Some(p),
        }
    }
    let Some((subject, url)) = host else {
        return Resolved::Unsupported;
    };
    let subject = match (subject, port) {
        (Err(m), _) | (Ok(_), Some(Err(m))) => Err(m),
        (Ok(s), None) => Ok(s),
        (Ok(s), Some(Ok(p))) => match s.with_port(p) {
            Some(s) => Ok(s),
            None => return Resolved::Unsupported,
        },
    };
    Resolved::Subject(subject, url)
}

fn observation_alternatives(e: &Obs) -> Result<Vec<Vec<Atom>>, String> {
    match e {
        Obs::Leaf(c) => comparison_alternatives(c),
        Obs::Join(parts) => {
            let mut all = Vec::new();
            for p in parts {
                all.extend(observation_alternatives(p)?);
                if all.len() > MAX_ALTERNATIVES {
                    return Err("too many alternatives".into());
                }
            }
            Ok(all)
        }
    }
}

fn comparison_alternatives(c: &Cmp) -> Result<Vec<Vec<Atom>>, String> {
    match c {
        Cmp::Or(parts) => {
            let mut all = Vec::new();
            for p in parts {
                all.extend(comparison_alternatives(p)?);
                if all.len() > MAX_ALTERNATIVES {
                    return Err("too many alternatives".into());
                }
            }
            Ok(all)
        }
        Cmp::And(parts) => {
            let mut acc: Vec<Vec<Atom>> = vec![Vec::new()];
            for p in parts {
                let alts = comparison_alternatives(p)?;
                if acc.len().saturating_mul(alts.len()) > MAX_ALTERNATIVES {
                    return Err("too many alternatives".into());
                }
                let mut next = Vec::with_capacity(acc.len() * alts.len());
                for a in &acc {
                    for b in &alts {
                        let mut conj = a.clone();
                        conj.extend(b.iter().cloned());
                        next.push(conj);
                    }
                }
                acc = next;
            }
            Ok(acc)
        }
        Cmp::Test {
            path,
            negated,
            op,
            value,
        } => Ok(test_alternatives(path, *negated, op, value)),
        Cmp::Exists => Ok(vec![vec![Atom::Unsupported]]),
    }
}

fn test_alternatives(path: &str, negated: bool, op: &str, value: &Lit) -> Vec<Vec<Atom>> {
    let unsupported = || vec![vec![Atom::Unsupported]];
    if negated {
        return unsupported();
    }
    let path = path.to_ascii_lowercase();
    let values: Vec<&Lit> = match (op, value) {
        ("=", v) => vec![v],
        ("IN", Lit::List(items)) => items.iter().collect(),
        ("ISSUBSET", v) if path.ends_with("addr:value") || path.ends_with("dst_ref.value") => {
            vec![v]
        }
        _ => return unsupported(),
    };
    values.into_iter().map(|v| vec![atom(&path, v)]).collect()
}

fn atom(path: &str, value: &Lit) -> Atom {
    let s = match value {
        Lit::Str(s) => Some(s.as_str()),
        _ => None,
    };
    match (path, s) {
        ("ipv4-addr:value" | "ipv6-addr:value", Some(s)) => {
            Atom::Host(subject::addr_or_prefix(s), None)
        }
        ("domain-name:value", Some(s)) => Atom::Host(subject::domain(s), None),
        ("url:value", Some(s)) => Atom::Host(subject::url_host(s), Some(s.to_string())),
        ("network-traffic:dst_ref.value", Some(s)) => {
            let host = if s.contains(':')
                || s.bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'/')
            {
                subject::addr_or_prefix(s)
            } else {
                subject::domain(s)
            };
            Atom::Host(host, None)
        }
        ("network-traffic:dst_port", _) => match value {
            Lit::Num(n) | Lit::Str(n) => Atom::Port(subject::port_number(n)),
            _ => Atom::Unsupported,
        },
        ("network-traffic:dst_ref.type", _) | ("network-traffic:protocols[*]", _) => Atom::Neutral,
        _ => Atom::Unsupported,
    }
}

// ---------------------------------------------------------------- the pattern grammar

#[derive(Debug)]
enum Obs {
    Leaf(Cmp),
    /// OR, AND or FOLLOWEDBY of observations: each side's entries count.
    Join(Vec<Obs>),
}

#[derive(Debug)]
enum Cmp {
    Or(Vec<Cmp>),
    And(Vec<Cmp>),
    Test {
        path: String,
        negated: bool,
        op: String,
        value: Lit,
    },
    Exists,
}

#[derive(Debug, Clone)]
enum Lit {
    Str(String),
    Num(String),
    List(Vec<Lit>),
    /// Booleans, `t'…'`, `h'…'`, `b'…'`: not network values.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Op(String),
    Word(String),
    Str(String),
    Num(String),
    Other,
}

const MAX_DEPTH: usize = 64;

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn new(pattern: &str) -> Result<Parser, String> {
        Ok(Parser {
            toks: lex(pattern)?,
            at: 0,
            depth: 0,
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn expect(&mut self, t: Tok) -> Result<(), String> {
        match self.next() {
            Some(got) if got == t => Ok(()),
            got => Err(format!("expected {t:?}, found {got:?}")),
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        Ok(())
    }

    fn pattern(&mut self) -> Result<Obs, String> {
        let e = self.observation()?;
        match self.peek() {
            None => Ok(e),
            Some(t) => Err(format!("unexpected {t:?} after the pattern")),
        }
    }

    /// obs := obs_term ((OR | AND | FOLLOWEDBY) obs_term)*
    fn observation(&mut self) -> Result<Obs, String> {
        self.enter()?;
        let mut parts = vec![self.observation_term()?];
        while self.keyword("OR") || self.keyword("AND") || self.keyword("FOLLOWEDBY") {
            self.next();
            parts.push(self.observation_term()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Obs::Join(parts)
        })
    }

    /// obs_term := ('[' cmp ']' | '(' obs ')') qualifier*
    fn observation_term(&mut self) -> Result<Obs, String> {
        let e = match self.next() {
            Some(Tok::LBracket) => {
                let c = self.comparison()?;
                self.expect(Tok::RBracket)?;
                Obs::Leaf(c)
            }
            Some(Tok::LParen) => {
                let e = self.observation()?;
                self.expect(Tok::RParen)?;
                e
            }
            t => return Err(format!("expected `[` or `(`, found {t:?}")),
        };
        self.qualifiers()?;
        Ok(e)
    }

    /// WITHIN n SECONDS | REPEATS n TIMES | START t'…' STOP t'…' — read and ignored.
    fn qualifiers(&mut self) -> Result<(), String> {
        loop {
            if self.keyword("WITHIN") {
                self.next();
                self.literal()?;
                self.word_expected("SECONDS")?;
            } else if self.keyword("REPEATS") {
                self.next();
                self.literal()?;
                self.word_expected("TIMES")?;
            } else if self.keyword("START") {
                self.next();
                self.literal()?;
                self.word_expected("STOP")?;
                self.literal()?;
            } else {
                return Ok(());
            }
        }
    }

    fn word_expected(&mut self, w: &str) -> Result<(), String> {
        if self.keyword(w) {
            self.next();
            Ok(())
        } else {
            Err(format!("expected {w}"))
        }
    }

    /// cmp := cmp_and (OR cmp_and)*
    fn comparison(&mut self) -> Result<Cmp, String> {
        self.enter()?;
        let mut parts = vec![self.comparison_and()?];
        while self.keyword("OR") {
            self.next();
            parts.push(self.comparison_and()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cmp::Or(parts)
        })
    }

    fn comparison_and(&mut self) -> Result<Cmp, String> {
        let mut parts = vec![self.comparison_term()?];
        while self.keyword("AND") {
            self.next();
            parts.push(self.comparison_term()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cmp::And(parts)
        })
    }

    /// term := '(' cmp ')' | EXISTS path | path [NOT] op literal
    fn comparison_term(&mut self) -> Result<Cmp, String> {
        if self.peek() == Some(&Tok::LParen) {
            self.next();
            let c = self.comparison()?;
            self.expect(Tok::RParen)?;
            return Ok(c);
        }
        if self.keyword("EXISTS") {
            self.next();
            return match self.next() {
                Some(Tok::Word(_)) => Ok(Cmp::Exists),
                t => Err(format!("expected an object path after EXISTS, found {t:?}")),
            };
        }
        let path = match self.next() {
            Some(Tok::Word(p)) if p.contains(':') => p,
            t => return Err(format!("expected an object path, found {t:?}")),
        };
        let negated = self.keyword("NOT");
        if negated {
            self.next();
        }
        let op = match self.next() {
            Some(Tok::Op(o)) => o,
            Some(Tok::Word(w))
                if ["IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                w.to_ascii_uppercase()
            }
            t => return Err(format!("expected a comparison operator, found {t:?}")),
        };
        let value = self.literal()?;
        Ok(Cmp::Test {
            path,
            negated,
            op,
            value,
        })
    }

    fn literal(&mut self) -> Result<Lit, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Num(n)) => Ok(Lit::Num(n)),
            Some(Tok::Other) => Ok(Lit::Other),
            Some(Tok::Word(w))
                if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") =>
            {
                Ok(Lit::Other)
            }
            Some(Tok::LParen) => {
                let mut items = Vec::new();
                loop {
                    match self.literal()? {
                        Lit::List(_) => return Err("nested list".into()),
                        l => items.push(l),
                    }
                    match self.next() {
                        Some(Tok::Comma) => continue,
                        Some(Tok::RParen) => break,
                        t => return Err(format!("expected `,` or `)` in a list, found {t:?}")),
                    }
                }
                Ok(Lit::List(items))
            }
            t => Err(format!("expected a constant, found {t:?}")),
        }
    }
}

/// Split a pattern into tokens. Object paths keep their `[*]`/`[n]` list steps and quoted
/// steps (`file:hashes.'SHA-256'`) as one word.
fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut toks = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '[' => {
                toks.push(Tok::LBracket);
                i += 1;
            }
            ']' => {
                toks.push(Tok::RBracket);
                i += 1;
            }
            '(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                toks.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            '=' => {
                toks.push(Tok::Op("=".into()));
                i += 1;
            }
            '!' | '<' | '>' => {
                let two = chars.get(i + 1) == Some(&'=');
                let op = match (c, two) {
                    ('!', true) => "!=",
                    ('!', false) => return Err("`!` without `=`".into()),
                    ('<', true) => "<=",
                    ('<', false) => "<",
                    ('>', true) => ">=",
                    _ => ">",
                };
                toks.push(Tok::Op(op.into()));
                i += if two { 2 } else { 1 };
            }
            '\'' => {
                let (text, next) = quoted(&chars, i)?;
                toks.push(Tok::Str(text));
                i = next;
            }
            't' | 'h' | 'b' if chars.get(i + 1) == Some(&'\'') => {
                let (_, next) = quoted(&chars, i + 1)?;
                toks.push(Tok::Other);
                i = next;
            }
            c if c.is_ascii_digit()
                || c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                toks.push(Tok::Num(chars[start..i].iter().collect()));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::new();
                while i < chars.len() {
                    let c = chars[i];
                    if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.') {
                        word.push(c);
                        i += 1;
                    } else if c == '\'' && word.ends_with('.') {
                        let (text, next) = quoted(&chars, i)?;
                        word.push('\'');
                        word.push_str(&text);
                        word.push('\'');
                        i = next;
                    } else if c == '[' && word.contains(':') {
                        // A list step: `[*]` or `[n]`.
                        let close = chars[i..].iter().position(|&c| c == ']');
                        let Some(close) = close else {
                            return Err("unterminated list step".into());
                        };
                        let step: String = chars[i + 1..i + close].iter().collect();
                        if step != "*" && !step.bytes().all(|b| b.is_ascii_digit())
                            || step.is_empty()
                        {
                            break;
                        }
                        word.push('[');
                        word.push_str(&step);
                        word.push(']');
                        i += close + 1;
                    } else {
                        break;
                    }
                }
                toks.push(Tok::Word(word));
            }
            c => return Err(format!("unexpected character `{c}`")),
        }
    }
    Ok(toks)
}

/// The text of a `'…'` literal starting at `chars[at]` (with `\'` and `\\` escapes), and
/// the index after it.
fn quoted(chars: &[char], at: usize) -> Result<(String, usize), String> {
    let mut i = at + 1;
    let mut text = String::new();
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                match chars.get(i + 1) {
                    Some(&c) => text.push(c),
                    None => return Err("unterminated string".into()),
                }
                i += 2;
            }
            '\'' => return Ok((text, i + 1)),
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err("unterminated string".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subjects(pattern: &str) -> (Vec<String>, usize, Vec<String>) {
        let expr = Parser::new(pattern).and_then(|mut p| p.pattern()).unwrap();
        let mut ok = Vec::new();
        let mut skipped = 0;
        let mut errs = Vec::new();
        for conj in observation_alternatives(&expr).unwrap() {
            match resolve(conj) {
                Resolved::Unsupported => skipped += 1,
                Resolved::Subject(Ok(s), _) => ok.push(s.to_string()),
                Resolved::Subject(Err(e), _) => errs.push(e),
            }
        }
        (ok, skipped, errs)
    }

    #[test]
    fn simple_and_or() {
        assert_eq!(
            subjects("[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.0/24']")
                .0,
            vec!["198.51.100.1", "203.0.113.0/24"]
        );
        assert_eq!(
            subjects("[ipv4-addr:value = '198.51.100.1' AND network-traffic:dst_port = 443]").0,
            vec!["198.51.100.1:443"]
        );
        assert_eq!(
            subjects("[network-traffic:dst_ref.type = 'ipv6-addr' AND network-traffic:dst_ref.value = '2001:db8::9' AND network-traffic:dst_port = 8443]").0,
            vec!["[2001:db8::9]:8443"]
        );
        assert_eq!(
            subjects("[domain-name:value IN ('a.bad.example', 'B.bad.example.')]").0,
            vec!["a.bad.example", "b.bad.example"]
        );
        assert_eq!(
            subjects("[url:value = 'http://198.51.100.3:8080/x']").0,
            vec!["198.51.100.3"]
        );
    }

    #[test]
    fn observations_qualifiers_and_unsupported() {
        let (ok, skipped, _) = subjects(
            "([ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [domain-name:value = 'c2.example']) WITHIN 600 SECONDS OR [file:hashes.'SHA-256' = 'abcd']",
        );
        assert_eq!(ok, vec!["198.51.100.1", "c2.example"]);
        assert_eq!(skipped, 1);
        let (ok, skipped, _) = subjects(
            "[ipv4-addr:value = '198.51.100.1' AND file:name = 'x.exe'] OR [ipv4-addr:value != '203.0.113.1'] OR [network-traffic:dst_port = 23] REPEATS 5 TIMES",
        );
        assert!(ok.is_empty());
        assert_eq!(skipped, 3);
        let (ok, skipped, _) = subjects(
            "[ipv4-addr:value = '198.51.100.1'] START t'2024-01-01T00:00:00Z' STOP t'2025-01-01T00:00:00Z'",
        );
        assert_eq!((ok.len(), skipped), (1, 0));
        // A domain with a port has no form in the indicator file.
        assert_eq!(
            subjects("[domain-name:value = 'c2.example' AND network-traffic:dst_port = 443]").1,
            1
        );
    }

    #[test]
    fn bad_values_are_errors() {
        let (_, _, errs) = subjects("[ipv4-addr:value = '198.51.100.300']");
        assert_eq!(errs.len(), 1);
        let (_, _, errs) = subjects("[ipv4-addr:value = '0.0.0.0/0']");
        assert_eq!(errs.len(), 1);
    }

    #[test]
    fn syntax_errors_do_not_panic() {
        for p in [
            "",
            "[",
            "]",
            "[ipv4-addr:value = ]",
            "[ipv4-addr:value = 'x",
            "[ipv4-addr:value ! 'x']",
            "[a:b = ('x', ('y'))]",
            "[x:y[ = 'z']",
            "[ipv4-addr:value = 'a'] WITHIN",
            "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
        ] {
            assert!(Parser::new(p).and_then(|mut p| p.pattern()).is_err(), "{p}");
        }
    }

    #[test]
    fn alternatives_are_bounded() {
        let or = (0..100)
            .map(|i| format!("domain-name:value = 'd{i}.example'"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let p = format!("[({or}) AND ({or}) AND ({or})]");
        let expr = Parser::new(&p).and_then(|mut p| p.pattern()).unwrap();
        assert!(observation_alternatives(&expr).is_err());
    }
}
