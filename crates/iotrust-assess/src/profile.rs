//! Product profiles: identity, declarations (one key per catalog fact), evidence, labels held.
//!
//! The declaration sections are the catalog's fact vocabulary: `[auth] password_model = ...`
//! declares fact `auth.password_model`. A fact added to `catalog/facts.yaml` is immediately a
//! profile field; no Rust changes. See `docs/profile.md`.

use std::fmt;

use iotrust_catalog::expr::{FactId, FactValue};
use iotrust_catalog::model::{FactKind, Strength};
use iotrust_catalog::Catalog;
use jiff::civil::Date;
use serde::Serialize;

use crate::tree::{parse_json, parse_toml, Located, Node};

/// Format of a profile document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Toml,
    Json,
}

impl InputFormat {
    /// By file extension: `.json` / `.ndjson` are JSON, everything else TOML.
    pub fn from_path(path: &str) -> InputFormat {
        if path.ends_with(".json") || path.ends_with(".ndjson") || path.ends_with(".jsonl") {
            InputFormat::Json
        } else {
            InputFormat::Toml
        }
    }
}

/// A problem in a profile or evidence file: file, line, field and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct InputError {
    pub file: String,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Where a fact's value came from and how strongly it is established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub strength: Strength,
    /// `camera.toml:12`, `evidence/camera.json (iotrust-probe 0.1.0)`, `lab report: ...`
    pub source: String,
    /// What the maker or reviewer noted beside the value (`note = "..."` in a fact table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The profile format this iotrust writes; it also reads [`SCHEMA_V1`].
pub const SCHEMA: &str = "iotrust-profile/2";
/// The first profile format: still read, with replaced facts mapped (see [`crate::migrate`]).
pub const SCHEMA_V1: &str = "iotrust-profile/1";

/// Fact values with their provenance, indexed by the catalog's fact ids.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub values: Vec<Option<FactValue>>,
    pub provenance: Vec<Option<Provenance>>,
}

impl Facts {
    pub fn new(n: usize) -> Facts {
        Facts {
            values: vec![None; n],
            provenance: vec![None; n],
        }
    }
    pub fn get(&self, id: FactId) -> Option<(&FactValue, &Provenance)> {
        let i = usize::from(id);
        match (self.values.get(i), self.provenance.get(i)) {
            (Some(Some(v)), Some(Some(p))) => Some((v, p)),
            _ => None,
        }
    }
    pub fn set(&mut self, id: FactId, value: FactValue, prov: Provenance) {
        let i = usize::from(id);
        if i < self.values.len() {
            self.values[i] = Some(value);
            self.provenance[i] = Some(prov);
        }
    }
    /// Make a fact unknown again.
    pub fn unset(&mut self, id: FactId) {
        let i = usize::from(id);
        if i < self.values.len() {
            self.values[i] = None;
            self.provenance[i] = None;
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Identity {
    pub manufacturer: String,
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The RFC 8520 MUD URL the device announces (DHCP option 161, LLDP or an X.509
    /// extension); a registry finds the product by it when a network reports the device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mud_url: Option<String>,
}

/// An evidence file the profile refers to (written by `iotrust probe` or by hand).
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceRef {
    pub file: String,
    /// Use only this device's findings from the file (default: all devices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip)]
    pub line: usize,
}

/// Evidence people add inline: a lab report summary or a document.
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceItem {
    pub kind: String,
    pub title: String,
    pub strength: Strength,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lab: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Facts whose declared value this evidence backs (raising their strength).
    pub covers: Vec<String>,
    /// Facts this evidence establishes directly.
    #[serde(skip)]
    pub facts: Vec<(FactId, FactValue)>,
    /// Written by someone other than the manufacturer (a lab, a reviewer). A maker's own
    /// self-assessment (`independent = false`) raises no fact above `declared`.
    pub independent: bool,
}

/// A label level the product already holds.
#[derive(Clone, Debug, Serialize)]
pub struct HeldLabel {
    /// `scheme@version#level`
    pub level: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
}

#[derive(Clone, Debug)]
pub struct Profile {
    /// File name (or `stdin:LINE` for a stream).
    pub source: String,
    pub identity: Identity,
    pub facts: Facts,
    pub evidence: Vec<EvidenceRef>,
    pub inline_evidence: Vec<EvidenceItem>,
    pub labels: Vec<HeldLabel>,
    /// The `[[communication]]` rows: what the product declares it talks to on networks.
    pub communications: Vec<crate::communications::Communication>,
    /// The `[[interface]]` rows (probe evidence adds to them: [`crate::observed`]) and the
    /// line of the first.
    pub interfaces: Vec<crate::interfaces::Interface>,
    pub interface_line: usize,
    /// Version 1 facts that could not be mapped onto version 2 (read by [`parse_stored`]):
    /// unknown now, with what to state instead.
    pub unmapped: Vec<String>,
}

impl Profile {
    pub fn category(&self, cat: &Catalog) -> Option<String> {
        let (id, _) = cat.fact("product.category")?;
        match self.facts.values.get(usize::from(id)) {
            Some(Some(FactValue::Str(s))) => Some(s.clone()),
            _ => None,
        }
    }
    pub fn markets(&self, cat: &Catalog) -> Vec<String> {
        let Some((id, _)) = cat.fact("product.markets") else {
            return Vec::new();
        };
        match self.facts.values.get(usize::from(id)) {
            Some(Some(FactValue::List(l))) => l.clone(),
            _ => Vec::new(),
        }
    }
}

pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    /// Added to every line (for a profile that is one line of a stream).
    pub line_offset: usize,
}

/// State of the reader while it walks one profile.
struct Reading {
    /// Version 1 file: replaced facts are mapped.
    v1: bool,
    /// A stored version 1 profile read again (a registry re-assessing): a replaced fact that
    /// cannot be mapped is left unknown and listed in `unmapped`, not an error.
    keep_going: bool,
    unmapped: Vec<String>,
    /// Facts stated directly, with their lines (a derived fact may not be).
    stated: Vec<(FactId, usize)>,
}

impl Ctx<'_> {
    pub fn err(&self, line: usize, field: Option<&str>, message: impl Into<String>) -> InputError {
        InputError {
            file: self.file.to_string(),
            line: line + self.line_offset,
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

/// Parse a profile document.
pub fn parse(
    cat: &Catalog,
    text: &str,
    format: InputFormat,
    file: &str,
) -> Result<Profile, InputError> {
    parse_at(cat, text, format, file, 0)
}

/// Parse a profile that starts at `line_offset` lines into `file` (one line of an NDJSON stream).
pub fn parse_at(
    cat: &Catalog,
    text: &str,
    format: InputFormat,
    file: &str,
    line_offset: usize,
) -> Result<Profile, InputError> {
    let ctx = Ctx { file, line_offset };
    from_tree(cat, &document(&ctx, text, format)?, &ctx, false)
}

/// The document's tree, or its syntax error with file and line.
fn document(ctx: &Ctx<'_>, text: &str, format: InputFormat) -> Result<Located, InputError> {
    match format {
        InputFormat::Toml => parse_toml(text),
        InputFormat::Json => parse_json(text),
    }
    .map_err(|e| ctx.err(e.line, None, format!("syntax error: {}", e.message)))
}

/// Read a profile stored earlier (a registry re-assessing what was submitted under an older
/// iotrust): as [`parse`], except that a version 1 fact version 2 replaced and that cannot be
/// mapped is left unknown instead of failing the read. The profile's `unmapped` lists each,
/// with what the manufacturer must now state.
pub fn parse_stored(
    cat: &Catalog,
    text: &str,
    format: InputFormat,
    file: &str,
) -> Result<Profile, InputError> {
    let ctx = Ctx {
        file,
        line_offset: 0,
    };
    from_tree(cat, &document(&ctx, text, format)?, &ctx, true)
}

fn table<'n>(
    ctx: &Ctx<'_>,
    v: &'n Located,
    field: &str,
) -> Result<&'n [(String, Located)], InputError> {
    match &v.node {
        Node::Table(t) => Ok(t),
        other => Err(ctx.err(
            v.line,
            Some(field),
            format!("expected a table, found {}", other.type_name()),
        )),
    }
}

fn string(ctx: &Ctx<'_>, v: &Located, field: &str) -> Result<String, InputError> {
    match &v.node {
        Node::Str(s) => Ok(s.clone()),
        other => Err(ctx.err(
            v.line,
            Some(field),
            format!("expected a string, found {}", other.type_name()),
        )),
    }
}

fn date(ctx: &Ctx<'_>, v: &Located, field: &str) -> Result<Date, InputError> {
    let text = match &v.node {
        Node::Date(s) | Node::Str(s) => s.as_str(),
        other => {
            return Err(ctx.err(
                v.line,
                Some(field),
                format!("expected a date (YYYY-MM-DD), found {}", other.type_name()),
            ))
        }
    };
    text.get(..10)
        .filter(|_| {
            text.len() == 10
                || text
                    .as_bytes()
                    .get(10)
                    .is_some_and(|c| *c == b'T' || *c == b' ')
        })
        .and_then(|d| d.parse::<Date>().ok())
        .ok_or_else(|| {
            ctx.err(
                v.line,
                Some(field),
                format!("`{text}` is not a valid date (YYYY-MM-DD)"),
            )
        })
}

fn suggest<'a>(want: &str, options: impl Iterator<Item = &'a str>) -> String {
    // a close spelling, or an option the word begins (`unique` -> `unique-per-device`)
    let score = |o: &str| {
        if want.len() >= 3 && o.starts_with(want) {
            0
        } else {
            edit_distance(want, o)
        }
    };
    let best = options
        .map(|o| (score(o), o))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= 3);
    best.map(|(_, o)| format!(" (did you mean `{o}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Convert a document value into a fact value of the fact's declared type.
pub(crate) fn fact_value(
    cat: &Catalog,
    ctx: &Ctx<'_>,
    fact: &str,
    v: &Located,
) -> Result<(FactId, FactValue), InputError> {
    let (id, _) = cat.fact(fact).ok_or_else(|| {
        let known = cat.facts.iter().map(|f| f.id.as_str());
        ctx.err(
            v.line,
            Some(fact),
            format!("unknown fact{}", suggest(fact, known)),
        )
    })?;
    let def = cat
        .fact_def(id)
        .ok_or_else(|| ctx.err(v.line, Some(fact), "unknown fact"))?;
    let wrong = |want: &str, n: &Node| {
        ctx.err(
            v.line,
            Some(fact),
            format!("expected {want}, found {}", n.type_name()),
        )
    };
    let allowed = cat.fact_values(id);
    let check_allowed = |s: &str| -> Result<(), InputError> {
        match allowed {
            Some(a) if !a.iter().any(|x| x == s) => Err(ctx.err(
                v.line,
                Some(fact),
                format!(
                    "`{s}` is not allowed{} (allowed: {})",
                    suggest(s, a.iter().map(String::as_str)),
                    a.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    };
    let value = match (def.kind, &v.node) {
        (FactKind::Bool, Node::Bool(b)) => FactValue::Bool(*b),
        (FactKind::Bool, n) => return Err(wrong("true or false", n)),
        (FactKind::Int, Node::Int(i)) => FactValue::Int(*i),
        (FactKind::Int, n) => return Err(wrong("an integer", n)),
        (FactKind::String, Node::Str(s)) => FactValue::Str(s.clone()),
        (FactKind::String, n) => return Err(wrong("a string", n)),
        (FactKind::Enum, Node::Str(s)) => {
            check_allowed(s)?;
            FactValue::Str(s.clone())
        }
        (FactKind::Enum, n) => return Err(wrong("a string", n)),
        (FactKind::Date, _) => FactValue::Date(date(ctx, v, fact)?),
        (FactKind::List, Node::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                let Node::Str(s) = &it.node else {
                    return Err(wrong("a list of strings", &it.node));
                };
                check_allowed(s)?;
                out.push(s.clone());
            }
            FactValue::List(out)
        }
        (FactKind::List, n) => return Err(wrong("a list of strings", n)),
        (FactKind::IntList, Node::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                let Node::Int(i) = &it.node else {
                    return Err(wrong("a list of integers", &it.node));
                };
                out.push(*i);
            }
            FactValue::IntList(out)
        }
        (FactKind::IntList, n) => return Err(wrong("a list of integers", n)),
    };
    Ok((id, value))
}

fn strength(ctx: &Ctx<'_>, v: &Located, field: &str) -> Result<Strength, InputError> {
    match string(ctx, v, field)?.as_str() {
        "declared" => Ok(Strength::Declared),
        "documented" => Ok(Strength::Documented),
        "tested" => Ok(Strength::Tested),
        "lab-tested" => Ok(Strength::LabTested),
        other => Err(ctx.err(
            v.line,
            Some(field),
            format!("`{other}` is not a strength (declared, documented, tested, lab-tested)"),
        )),
    }
}

/// `absent = { by = "...", where = "...", on = 2026-12-01 }`: someone looked and found none.
fn absence(ctx: &Ctx<'_>, x: &Located, field: &str) -> Result<String, InputError> {
    let (mut by, mut place, mut on) = (None, None, None);
    for (k, y) in table(ctx, x, field)? {
        let f = format!("{field}.{k}");
        match k.as_str() {
            "by" => by = Some(string(ctx, y, &f)?),
            "where" => place = Some(string(ctx, y, &f)?),
            "on" => on = Some(date(ctx, y, &f)?),
            _ => {
                return Err(ctx.err(
                    y.line,
                    Some(&f),
                    "unknown field (an absence has by, where, on)",
                ))
            }
        }
    }
    match (by, place, on) {
        (Some(by), Some(place), Some(on)) => Ok(format!(
            "absent: {by} looked in {place} on {on} and found none"
        )),
        _ => Err(ctx.err(
            x.line,
            Some(field),
            "an absence needs `by` (who looked), `where` (what was searched) and `on` (the date)",
        )),
    }
}

fn declare(
    cat: &Catalog,
    ctx: &Ctx<'_>,
    rd: &mut Reading,
    facts: &mut Facts,
    fact: &str,
    v: &Located,
) -> Result<(), InputError> {
    // a version 1 fact that version 2 replaced (and that this catalog no longer has: an older
    // catalog read with its own vocabulary keeps it)
    if let Some(r) = crate::migrate::replaced(fact).filter(|_| cat.fact(fact).is_none()) {
        let value = match &v.node {
            Node::Table(t) => t.iter().find(|(k, _)| k == "value").map(|(_, x)| x),
            _ => Some(v),
        };
        let mapped = match (rd.v1, value.map(|x| &x.node)) {
            (true, Some(Node::Bool(b))) => (r.map)(&FactValue::Bool(*b)),
            (true, Some(Node::Str(x))) => (r.map)(&FactValue::Str(x.clone())),
            _ => None,
        };
        let Some(mapped) = mapped else {
            if rd.v1 && rd.keep_going {
                rd.unmapped.push(r.message(true));
                return Ok(());
            }
            return Err(ctx.err(v.line, Some(fact), r.message(rd.v1)));
        };
        for (new, nv) in mapped {
            if let Some((id, _)) = cat.fact(new) {
                rd.stated.push((id, v.line + ctx.line_offset));
                facts.set(
                    id,
                    nv,
                    Provenance {
                        strength: Strength::Declared,
                        source: format!(
                            "{}:{} (iotrust-profile/1 `{fact}`)",
                            ctx.file,
                            v.line + ctx.line_offset
                        ),
                        note: None,
                    },
                );
            }
        }
        return Ok(());
    }
    // `{ value = ..., strength = "documented", source = "...", note = "..." }`,
    // `{ absent = { by, where, on } }`, or a bare value.
    if let Node::Table(t) = &v.node {
        let mut value = None;
        let mut absent = None;
        let mut st = None;
        let mut src = None;
        let mut note = None;
        for (k, x) in t {
            let f = format!("{fact}.{k}");
            match k.as_str() {
                "value" => value = Some(x),
                "absent" => absent = Some(absence(ctx, x, &f)?),
                "strength" => st = Some(strength(ctx, x, &f)?),
                "source" => src = Some(string(ctx, x, &f)?),
                "note" => note = Some(string(ctx, x, &f)?),
                _ => {
                    return Err(ctx.err(
                        x.line,
                        Some(&f),
                        "unknown field (a fact table has value or absent, strength, source, note)",
                    ))
                }
            }
        }
        let here = format!("{}:{}", ctx.file, v.line + ctx.line_offset);
        let (id, fv, source) =
            match (value, absent) {
                (Some(value), None) => {
                    let (id, fv) = fact_value(cat, ctx, fact, value)?;
                    (id, fv, src.unwrap_or(here))
                }
                (None, Some(found)) => {
                    let (id, _) = cat
                        .fact(fact)
                        .ok_or_else(|| ctx.err(v.line, Some(fact), "unknown fact"))?;
                    let source = match src {
                        Some(s) => format!("{s}; {found}"),
                        None => format!("{here}; {found}"),
                    };
                    // an absence is a finding someone made: documented unless said otherwise
                    st = st.or(Some(Strength::Documented));
                    (id, FactValue::Absent, source)
                }
                (Some(_), Some(_)) => {
                    return Err(ctx.err(
                        v.line,
                        Some(fact),
                        "a fact table has either `value` or `absent`, not both",
                    ))
                }
                (None, None) => return Err(ctx.err(
                    v.line,
                    Some(fact),
                    "a fact table needs `value` (or `absent` when someone looked and found none)",
                )),
            };
        rd.stated.push((id, v.line + ctx.line_offset));
        facts.set(
            id,
            fv,
            Provenance {
                strength: st.unwrap_or(Strength::Declared),
                source,
                note,
            },
        );
        return Ok(());
    }
    let (id, fv) = fact_value(cat, ctx, fact, v)?;
    let source = format!("{}:{}", ctx.file, v.line + ctx.line_offset);
    rd.stated.push((id, v.line + ctx.line_offset));
    facts.set(
        id,
        fv,
        Provenance {
            strength: Strength::Declared,
            source,
            note: None,
        },
    );
    Ok(())
}

/// The keys of `[product]` that are identity text, not facts.
pub const IDENTITY: [&str; 7] = [
    "manufacturer",
    "model",
    "name",
    "hardware_version",
    "firmware_version",
    "url",
    "mud_url",
];

fn from_tree(
    cat: &Catalog,
    root: &Located,
    ctx: &Ctx<'_>,
    keep_going: bool,
) -> Result<Profile, InputError> {
    let top = table(ctx, root, "(document)")?;
    let mut facts = Facts::new(cat.facts.len());
    let mut identity = Identity::default();
    let mut have = (false, false);
    let mut evidence = Vec::new();
    let mut inline = Vec::new();
    let mut labels = Vec::new();
    let sections = cat.fact_sections();
    let mut saw_product = false;
    let mut product_line = 1;
    let mut mud_url_line = 0;
    let mut rd = Reading {
        v1: true,
        keep_going,
        unmapped: Vec::new(),
        stated: Vec::new(),
    };
    // the version decides how facts read, so find it first
    if let Some((_, v)) = top.iter().find(|(k, _)| k == "schema") {
        let s = string(ctx, v, "schema")?;
        rd.v1 = match s.as_str() {
            SCHEMA => false,
            SCHEMA_V1 => true,
            _ => {
                return Err(ctx.err(
                    v.line,
                    Some("schema"),
                    format!(
                        "unsupported schema `{s}` (this iotrust reads {SCHEMA} and {SCHEMA_V1})"
                    ),
                ))
            }
        };
    }
    let mut interfaces = Vec::new();
    let mut interface_line = 0;
    let mut communications = Vec::new();
    let mut communication_line = 0;
    for (key, v) in top {
        match key.as_str() {
            "schema" => {}
            "interface" => {
                if rd.v1 {
                    return Err(ctx.err(
                        v.line,
                        Some("interface"),
                        format!("[[interface]] needs schema = \"{SCHEMA}\""),
                    ));
                }
                interface_line = v.line;
                interfaces = crate::interfaces::parse(ctx, v)?;
            }
            "communication" => {
                if rd.v1 {
                    return Err(ctx.err(
                        v.line,
                        Some("communication"),
                        format!("[[communication]] needs schema = \"{SCHEMA}\""),
                    ));
                }
                communication_line = v.line;
                communications = crate::communications::parse(ctx, v)?;
            }
            "product" => {
                saw_product = true;
                product_line = v.line;
                for (k, x) in table(ctx, v, "product")? {
                    let field = format!("product.{k}");
                    if IDENTITY.contains(&k.as_str()) {
                        let s = string(ctx, x, &field)?;
                        match k.as_str() {
                            "manufacturer" => {
                                identity.manufacturer = s;
                                have.0 = true
                            }
                            "model" => {
                                identity.model = s;
                                have.1 = true
                            }
                            "name" => identity.name = Some(s),
                            "hardware_version" => identity.hardware_version = Some(s),
                            "firmware_version" => identity.firmware_version = Some(s),
                            "mud_url" => {
                                if !s.starts_with("https://") {
                                    return Err(ctx.err(
                                        x.line,
                                        Some(&field),
                                        "a MUD URL is an https:// URL (RFC 8520 §1.6)",
                                    ));
                                }
                                mud_url_line = x.line + ctx.line_offset;
                                identity.mud_url = Some(s)
                            }
                            _ => identity.url = Some(s),
                        }
                    } else if cat.fact(&field).is_some()
                        || crate::migrate::replaced(&field).is_some()
                    {
                        declare(cat, ctx, &mut rd, &mut facts, &field, x)?;
                    } else {
                        let known = IDENTITY.iter().copied().chain(
                            cat.facts
                                .iter()
                                .filter_map(|f| f.id.strip_prefix("product.")),
                        );
                        return Err(ctx.err(
                            x.line,
                            Some(&field),
                            format!("unknown field{}", suggest(k, known)),
                        ));
                    }
                }
            }
            "evidence" => {
                let Node::Array(items) = &v.node else {
                    return Err(ctx.err(
                        v.line,
                        Some("evidence"),
                        "expected an array of tables ([[evidence]])",
                    ));
                };
                for (i, it) in items.iter().enumerate() {
                    let base = format!("evidence[{i}]");
                    let t = table(ctx, it, &base)?;
                    if t.iter().any(|(k, _)| k == "file") {
                        let mut r = EvidenceRef {
                            file: String::new(),
                            device: None,
                            line: it.line + ctx.line_offset,
                        };
                        for (k, x) in t {
                            match k.as_str() {
                                "file" => r.file = string(ctx, x, &format!("{base}.file"))?,
                                "device" => {
                                    r.device = Some(string(ctx, x, &format!("{base}.device"))?)
                                }
                                _ => {
                                    return Err(ctx.err(
                                        x.line,
                                        Some(&format!("{base}.{k}")),
                                        "unknown field (an evidence file entry has file, device)",
                                    ))
                                }
                            }
                        }
                        evidence.push(r);
                    } else {
                        inline.push(evidence_item(cat, ctx, &rd, it, &base)?);
                    }
                }
            }
            "labels" => {
                let Node::Array(items) = &v.node else {
                    return Err(ctx.err(
                        v.line,
                        Some("labels"),
                        "expected an array of tables ([[labels]])",
                    ));
                };
                for (i, it) in items.iter().enumerate() {
                    let base = format!("labels[{i}]");
                    let mut l = HeldLabel {
                        level: String::new(),
                        certificate: None,
                        valid_until: None,
                    };
                    let mut line = it.line;
                    for (k, x) in table(ctx, it, &base)? {
                        let f = format!("{base}.{k}");
                        match k.as_str() {
                            "level" => {
                                l.level = string(ctx, x, &f)?;
                                line = x.line;
                            }
                            "certificate" => l.certificate = Some(string(ctx, x, &f)?),
                            "valid_until" => l.valid_until = Some(date(ctx, x, &f)?),
                            _ => {
                                return Err(ctx.err(
                                    x.line,
                                    Some(&f),
                                    "unknown field (a label has level, certificate, valid_until)",
                                ))
                            }
                        }
                    }
                    if cat.level_ref(&l.level).is_none() {
                        return Err(ctx.err(line, Some(&format!("{base}.level")), format!("`{}` is not a level in the catalog (scheme@version#level, e.g. sg-cls@1.4#L2)", l.level)));
                    }
                    labels.push(l);
                }
            }
            section if sections.iter().any(|x| x.as_str() == section) => {
                for (k, x) in table(ctx, v, section)? {
                    declare(cat, ctx, &mut rd, &mut facts, &format!("{section}.{k}"), x)?;
                }
            }
            other => {
                let known = [
                    "schema",
                    "product",
                    "evidence",
                    "labels",
                    "interface",
                    "communication",
                ]
                .into_iter()
                .chain(sections.iter().map(String::as_str));
                return Err(ctx.err(
                    v.line,
                    Some(other),
                    format!("unknown section{}", suggest(other, known)),
                ));
            }
        }
    }
    crate::interfaces::apply(
        cat,
        ctx,
        &interfaces,
        interface_line,
        &mut facts,
        &rd.stated,
    )?;
    crate::communications::apply(
        cat,
        ctx,
        &communications,
        communication_line,
        &mut facts,
        &rd.stated,
    )?;
    // The MUD URL has one place, `[product] mud_url`: it names the product (the registry
    // finds a provider's report by it, `mud generate` writes it) and is the fact the catalog
    // reads.
    if let Some((id, _)) = cat.fact("comms.mud_url") {
        if let Some((_, l)) = rd.stated.iter().find(|(s, _)| *s == id) {
            return Err(ctx.err(
                *l,
                Some("comms.mud_url"),
                "state the MUD URL once, as `mud_url` in [product] (it names the product)",
            ));
        }
        if let Some(u) = &identity.mud_url {
            facts.set(
                id,
                FactValue::Str(u.clone()),
                Provenance {
                    strength: Strength::Declared,
                    source: format!("{}:{mud_url_line} ([product] mud_url)", ctx.file),
                    note: None,
                },
            );
        }
    }
    if !saw_product || !have.0 || !have.1 {
        let field = if !saw_product {
            "product"
        } else if !have.0 {
            "product.manufacturer"
        } else {
            "product.model"
        };
        return Err(ctx.err(
            product_line,
            Some(field),
            "a profile needs [product] with at least manufacturer and model",
        ));
    }
    if let Some((id, _)) = cat.fact("product.category") {
        if facts
            .values
            .get(usize::from(id))
            .is_none_or(|v| v.is_none())
        {
            return Err(ctx.err(
                product_line,
                Some("product.category"),
                "a profile needs product.category (see `iotrust catalog facts`)",
            ));
        }
    }
    Ok(Profile {
        source: ctx.file.to_string(),
        identity,
        facts,
        evidence,
        inline_evidence: inline,
        labels,
        communications,
        interfaces,
        interface_line,
        unmapped: rd.unmapped,
    })
}

fn evidence_item(
    cat: &Catalog,
    ctx: &Ctx<'_>,
    rd: &Reading,
    it: &Located,
    base: &str,
) -> Result<EvidenceItem, InputError> {
    let mut independent = None;
    let mut e = EvidenceItem {
        kind: String::new(),
        title: String::new(),
        strength: Strength::Documented,
        lab: None,
        assessor: None,
        date: None,
        url: None,
        covers: Vec::new(),
        facts: Vec::new(),
        independent: true,
    };
    for (k, x) in table(ctx, it, base)? {
        let f = format!("{base}.{k}");
        match k.as_str() {
            "kind" => {
                e.kind = string(ctx, x, &f)?;
                e.strength = match e.kind.as_str() {
                    "lab-report" => Strength::LabTested,
                    "document" => Strength::Documented,
                    "test-report" => Strength::Tested,
                    other => return Err(ctx.err(x.line, Some(&f), format!("`{other}` is not an evidence kind (lab-report, test-report, document; or give `file` for an evidence file)"))),
                };
            }
            "title" | "summary" => e.title = string(ctx, x, &f)?,
            "lab" => e.lab = Some(string(ctx, x, &f)?),
            "assessor" => e.assessor = Some(string(ctx, x, &f)?),
            "date" => e.date = Some(date(ctx, x, &f)?),
            "url" => e.url = Some(string(ctx, x, &f)?),
            "independent" => match &x.node {
                Node::Bool(b) => independent = Some(*b),
                n => {
                    return Err(ctx.err(
                        x.line,
                        Some(&f),
                        format!("expected true or false, found {}", n.type_name()),
                    ))
                }
            },
            "covers" => {
                let Node::Array(items) = &x.node else {
                    return Err(ctx.err(x.line, Some(&f), "expected a list of fact ids"));
                };
                for c in items {
                    let id = string(ctx, c, &f)?;
                    if let Some(r) = crate::migrate::replaced(&id).filter(|_| cat.fact(&id).is_none()) {
                        if !rd.v1 {
                            return Err(ctx.err(c.line, Some(&f), r.message(false)));
                        }
                        // evidence that covered a replaced fact covers its successors
                        e.covers.extend(
                            r.into
                                .iter()
                                .filter(|n| cat.fact(n).is_some())
                                .map(|n| n.to_string()),
                        );
                        continue;
                    }
                    if cat.fact(&id).is_none() {
                        return Err(ctx.err(
                            c.line,
                            Some(&f),
                            format!(
                                "`{id}` is not a fact{}",
                                suggest(&id, cat.facts.iter().map(|f| f.id.as_str()))
                            ),
                        ));
                    }
                    e.covers.push(id);
                }
            }
            "facts" => {
                for (fk, fx) in table(ctx, x, &f)? {
                    e.facts.push(fact_value(cat, ctx, fk, fx)?);
                }
            }
            _ => return Err(ctx.err(
                x.line,
                Some(&f),
                "unknown field (evidence has kind, title, lab, assessor, date, url, independent, covers, facts)",
            )),
        }
    }
    if e.kind.is_empty() {
        return Err(ctx.err(
            it.line,
            Some(&format!("{base}.kind")),
            "evidence needs `kind` (lab-report, test-report, document) or `file`",
        ));
    }
    if e.kind == "lab-report" && (e.lab.is_none() || e.date.is_none()) {
        return Err(ctx.err(it.line, Some(base), "a lab report needs `lab` and `date`"));
    }
    // A maker's own self-assessment or test report is the maker's word, however well written:
    // it backs a declaration, it does not raise it.
    if independent == Some(false) {
        e.strength = Strength::Declared;
        e.title = format!("{} (the manufacturer's own, not independent)", e.title);
    }
    e.independent = independent.unwrap_or(e.kind != "document");
    Ok(e)
}

/// The JSON Schema of profiles (`iotrust-profile/1`), generated from the catalog's fact
/// vocabulary so that it always matches what [`parse`] accepts. TOML profiles follow the same
/// structure (dates as TOML dates).
pub fn json_schema(cat: &Catalog) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let strength = json!({"enum": ["declared", "documented", "tested", "lab-tested"]});
    let date = json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"});
    let fact_schema = |f: &iotrust_catalog::model::FactDef| -> Value {
        let allowed: Option<Vec<String>> = cat
            .fact(&f.id)
            .and_then(|(id, _)| cat.fact_values(id))
            .map(|v| v.to_vec());
        let base = match f.kind {
            FactKind::Bool => json!({"type": "boolean"}),
            FactKind::Int => json!({"type": "integer"}),
            FactKind::String => json!({"type": "string"}),
            FactKind::Enum => json!({"enum": allowed.clone().unwrap_or_default()}),
            FactKind::Date => date.clone(),
            FactKind::List => match &allowed {
                Some(a) => json!({"type": "array", "items": {"enum": a}}),
                None => json!({"type": "array", "items": {"type": "string"}}),
            },
            FactKind::IntList => json!({"type": "array", "items": {"type": "integer"}}),
        };
        let mut with_title = base.clone();
        if let Some(o) = with_title.as_object_mut() {
            o.insert("description".into(), Value::String(f.title.clone()));
        }
        let absent = json!({"type": "object", "additionalProperties": false,
            "required": ["by", "where", "on"],
            "properties": {"by": {"type": "string"}, "where": {"type": "string"}, "on": date}});
        json!({"anyOf": [with_title, {
            "type": "object", "additionalProperties": false, "required": ["value"],
            "properties": {"value": base, "strength": strength, "source": {"type": "string"}, "note": {"type": "string"}}
        }, {
            "type": "object", "additionalProperties": false, "required": ["absent"],
            "properties": {"absent": absent, "strength": strength, "source": {"type": "string"}, "note": {"type": "string"}}
        }]})
    };
    let mut sections: Map<String, Value> = Map::new();
    let mut product: Map<String, Value> = Map::new();
    for k in IDENTITY {
        product.insert(k.into(), json!({"type": "string"}));
    }
    for f in &cat.facts {
        let Some((section, key)) = f.id.split_once('.') else {
            continue;
        };
        if section == "product" {
            product.insert(key.into(), fact_schema(f));
            continue;
        }
        let entry = sections.entry(section.to_string()).or_insert_with(
            || json!({"type": "object", "additionalProperties": false, "properties": {}}),
        );
        if let Some(props) = entry.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert(key.into(), fact_schema(f));
        }
    }
    let fact_ids: Vec<&str> = cat.facts.iter().map(|f| f.id.as_str()).collect();
    let mut props = Map::new();
    props.insert("schema".into(), json!({"enum": [SCHEMA, SCHEMA_V1]}));
    let mut columns = Map::new();
    for (name, allowed, what) in crate::interfaces::COLUMNS {
        let col = match (*name, allowed) {
            ("port", _) => json!({"type": "integer", "minimum": 1, "maximum": 65535}),
            ("user_can_enable", _) => json!({"type": "boolean"}),
            ("reach", Some(a)) => {
                json!({"anyOf": [{"enum": a}, {"type": "array", "items": {"enum": a}}]})
            }
            (_, Some(a)) => json!({"enum": a}),
            (_, None) => json!({"type": "string"}),
        };
        let mut col = col;
        if let Some(o) = col.as_object_mut() {
            o.insert("description".into(), Value::String((*what).to_string()));
        }
        columns.insert((*name).to_string(), col);
    }
    props.insert(
        "interface".into(),
        json!({"type": "array", "items": {"type": "object", "additionalProperties": false,
            "required": ["name", "kind"], "properties": columns}}),
    );
    let mut columns = Map::new();
    for (name, allowed, what) in crate::communications::COLUMNS {
        let port = json!({"type": "integer", "minimum": 1, "maximum": 65535});
        let mut col = match (*name, allowed) {
            ("device_port", _) => port,
            ("ports", _) => json!({"anyOf": [port, {"type": "array", "items": port},
                {"type": "string", "pattern": "^[0-9]{1,5}-[0-9]{1,5}$"}]}),
            (_, Some(a)) => json!({"enum": a}),
            (_, None) => json!({"type": "string"}),
        };
        if let Some(o) = col.as_object_mut() {
            o.insert("description".into(), Value::String((*what).to_string()));
        }
        columns.insert((*name).to_string(), col);
    }
    props.insert(
        "communication".into(),
        json!({"type": "array", "items": {"type": "object", "additionalProperties": false,
            "required": ["protocol", "direction", "purpose"], "properties": columns}}),
    );
    props.insert(
        "product".into(),
        json!({"type": "object", "additionalProperties": false, "required": ["manufacturer", "model", "category"], "properties": product}),
    );
    props.insert(
        "evidence".into(),
        json!({"type": "array", "items": {"anyOf": [
            {"type": "object", "additionalProperties": false, "required": ["file"],
             "properties": {"file": {"type": "string"}, "device": {"type": "string"}}},
            {"type": "object", "additionalProperties": false, "required": ["kind"],
             "properties": {
                "kind": {"enum": ["lab-report", "test-report", "document"]},
                "title": {"type": "string"}, "summary": {"type": "string"}, "lab": {"type": "string"},
                "assessor": {"type": "string"}, "date": date, "url": {"type": "string"},
                "independent": {"type": "boolean"},
                "covers": {"type": "array", "items": {"enum": fact_ids}},
                "facts": {"type": "object", "propertyNames": {"enum": fact_ids}}}}
        ]}}),
    );
    let levels: Vec<String> = cat
        .schemes
        .iter()
        .flat_map(|s| {
            s.def
                .levels
                .iter()
                .map(move |l| format!("{}#{}", s.key, &*l.id))
        })
        .collect();
    props.insert(
        "labels".into(),
        json!({"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["level"],
            "properties": {"level": {"enum": levels}, "certificate": {"type": "string"}, "valid_until": date}}}),
    );
    props.extend(sections);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://iotrust.dev/schemas/profile.schema.json",
        "title": format!("iotrust product profile ({SCHEMA}; {SCHEMA_V1} is also read), catalog {}", cat.version()),
        "type": "object",
        "additionalProperties": false,
        "required": ["product"],
        "properties": props,
    })
}
