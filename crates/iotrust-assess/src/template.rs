//! Starting a profile the way a manufacturer would: every fact of the catalog as a question in
//! plain words, grouped by the lifecycle phase in which a maker meets it.
//!
//! [`questions`] builds the question list from the loaded catalog (nothing here names a fact:
//! a fact added to `facts.yaml` is asked at once). [`template`] writes it as a commented profile
//! that parses and assesses untouched (every fact unknown); `iotrust profile new --interactive`
//! walks the same list in the terminal and [`answered_profile`] writes what was answered.
//!
//! A fact's phases are the phases of the catalog outcomes whose `applies_when` or `check` read
//! it; a fact no outcome reads (scope rules, scheme conditions) belongs to "product and
//! market". A question is asked in its earliest phase.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};

use iotrust_catalog::expr::{FactId, FactValue};
use iotrust_catalog::model::{FactKind, Phase};
use iotrust_catalog::Catalog;
use jiff::civil::Date;

use crate::profile::{IDENTITY, SCHEMA};

/// The fact a profile must declare (the profile reader refuses a profile without it).
const REQUIRED_FACT: &str = "product.category";

/// Where a question is asked: identity and market first, then the lifecycle in the order a
/// maker lives it (design and development, first setup by the user, sale, maintenance while
/// supported, the end of support).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    ProductAndMarket,
    Design,
    Development,
    Setup,
    Sale,
    Maintenance,
    Sunsetting,
}

impl Group {
    pub const ALL: [Group; 7] = [
        Group::ProductAndMarket,
        Group::Design,
        Group::Development,
        Group::Setup,
        Group::Sale,
        Group::Maintenance,
        Group::Sunsetting,
    ];

    fn of(p: Phase) -> Group {
        match p {
            Phase::Design => Group::Design,
            Phase::Development => Group::Development,
            Phase::Setup => Group::Setup,
            Phase::Sale => Group::Sale,
            Phase::Maintenance => Group::Maintenance,
            Phase::Sunsetting => Group::Sunsetting,
        }
    }

    /// The heading shown for the group.
    pub fn title(self) -> &'static str {
        match self {
            Group::ProductAndMarket => "product and market",
            Group::Design => "design",
            Group::Development => "development",
            Group::Setup => "setup",
            Group::Sale => "sale",
            Group::Maintenance => "maintenance",
            Group::Sunsetting => "sunsetting",
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// One fact of the catalog, asked in plain words.
#[derive(Clone, Debug)]
pub struct Question {
    /// The fact's slot in the catalog.
    pub id: FactId,
    /// `auth.password_model`
    pub fact: String,
    /// `auth`: the profile section it is written in.
    pub section: String,
    /// `password_model`: its key in that section.
    pub key: String,
    pub kind: FactKind,
    /// Allowed values of an enum or of a list's items (empty: any).
    pub allowed: Vec<String>,
    pub title: String,
    /// The question: the fact's `question` in the catalog, else its title asked.
    pub text: String,
    /// Phases of the outcomes that read the fact, in lifecycle order (empty: none reads it).
    pub phases: Vec<Group>,
    /// The profile reader needs an answer (`product.category`).
    pub required: bool,
}

impl Question {
    /// Where the question is asked: its earliest phase, or product and market.
    pub fn group(&self) -> Group {
        self.phases
            .first()
            .copied()
            .unwrap_or(Group::ProductAndMarket)
    }

    /// How an answer is written, for the person answering.
    pub fn hint(&self) -> String {
        let one_of = |v: &[String]| v.join(", ");
        match self.kind {
            FactKind::Bool => "yes or no".into(),
            FactKind::Int => "a whole number".into(),
            FactKind::String => "text".into(),
            FactKind::Date => "a date, YYYY-MM-DD".into(),
            FactKind::Enum => format!("one of: {}", one_of(&self.allowed)),
            FactKind::List if self.allowed.is_empty() => {
                "a list, comma-separated ([] for none)".into()
            }
            FactKind::List => format!(
                "a list, comma-separated ([] for none) of: {}",
                one_of(&self.allowed)
            ),
            FactKind::IntList => "whole numbers, comma-separated ([] for none)".into(),
        }
    }

    /// Read a typed answer: `Ok(None)` is unknown (an empty answer, or `unknown`), never false.
    /// Booleans take yes/no (y, n, true, false); lists are comma-separated, `[]` the empty list.
    pub fn parse_answer(&self, text: &str) -> Result<Option<FactValue>, String> {
        let t = text.trim();
        if t.is_empty() || (t.eq_ignore_ascii_case("unknown") && !self.allows("unknown")) {
            if self.required {
                return Err(format!("an answer is needed ({})", self.hint()));
            }
            return Ok(None);
        }
        let value = match self.kind {
            FactKind::Bool => match t.to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" => FactValue::Bool(true),
                "no" | "n" | "false" => FactValue::Bool(false),
                _ => return Err(format!("`{t}`: answer yes, no or unknown")),
            },
            FactKind::Int => FactValue::Int(
                t.parse()
                    .map_err(|_| format!("`{t}` is not a whole number"))?,
            ),
            FactKind::String => FactValue::Str(t.to_string()),
            FactKind::Date => FactValue::Date(
                t.parse::<Date>()
                    .ok()
                    .filter(|_| t.len() == 10)
                    .ok_or_else(|| format!("`{t}` is not a date (YYYY-MM-DD)"))?,
            ),
            FactKind::Enum => {
                self.check_allowed(t)?;
                FactValue::Str(t.to_string())
            }
            FactKind::List => {
                let items = list_items(t);
                for i in &items {
                    self.check_allowed(i)?;
                }
                FactValue::List(items.into_iter().map(str::to_string).collect())
            }
            FactKind::IntList => FactValue::IntList(
                list_items(t)
                    .into_iter()
                    .map(|i| {
                        i.parse::<i64>()
                            .map_err(|_| format!("`{i}` is not a whole number"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Some(value))
    }

    fn allows(&self, v: &str) -> bool {
        self.allowed.iter().any(|a| a == v)
    }

    fn check_allowed(&self, v: &str) -> Result<(), String> {
        if self.allowed.is_empty() || self.allows(v) {
            Ok(())
        } else {
            Err(format!(
                "`{v}` is not allowed (allowed: {})",
                self.allowed.join(", ")
            ))
        }
    }
}

fn list_items(t: &str) -> Vec<&str> {
    if t == "[]" {
        return Vec::new();
    }
    t.trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty())
        .collect()
}

/// A title turned into a question: "Secure boot is used" -> "Secure boot is used?".
fn ask(title: &str) -> String {
    let t = title.trim().trim_end_matches(['.', ':']);
    format!("{t}?")
}

/// Every fact of the catalog as a question, in the order they are asked: by [`Group`], then in
/// the catalog's order (the required category first of all).
pub fn questions(cat: &Catalog) -> Vec<Question> {
    let mut phases: Vec<BTreeSet<Group>> = vec![BTreeSet::new(); cat.facts.len()];
    for o in &cat.outcomes {
        let read = o.applies.iter().chain([&o.check]).flat_map(|e| e.facts());
        for &f in read {
            if let Some(set) = phases.get_mut(usize::from(f)) {
                set.extend(o.def.phases.iter().copied().map(Group::of));
            }
        }
    }
    let mut out: Vec<Question> = cat
        .facts
        .iter()
        .zip(phases)
        .filter_map(|(def, phases)| {
            let (id, _) = cat.fact(&def.id)?;
            let (section, key) = def.id.split_once('.')?;
            Some(Question {
                id,
                fact: def.id.to_string(),
                section: section.to_string(),
                key: key.to_string(),
                kind: def.kind,
                allowed: cat
                    .fact_values(id)
                    .map(<[String]>::to_vec)
                    .unwrap_or_default(),
                title: def.title.clone(),
                text: def.question.clone().unwrap_or_else(|| ask(&def.title)),
                phases: phases.into_iter().collect(),
                required: *def.id == *REQUIRED_FACT,
            })
        })
        .collect();
    // stable: catalog order within a group
    out.sort_by_key(|q| (!q.required, q.group()));
    out
}

/// A template's product section, filled from the command line.
#[derive(Clone, Debug, Default)]
pub struct Start {
    /// The product category (else the first of the catalog's, marked as a placeholder).
    pub category: Option<String>,
    /// Markets the product will be sold in.
    pub markets: Vec<String>,
}

/// A value given for the template or the written profile that the catalog does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TemplateError {
    pub field: String,
    pub message: String,
}

fn check_start(qs: &[Question], start: &Start) -> Result<(), TemplateError> {
    let bad = |field: &str, message: String| TemplateError {
        field: field.to_string(),
        message,
    };
    for (fact, values) in [
        ("product.category", start.category.iter().cloned().collect()),
        ("product.markets", start.markets.clone()),
    ] {
        let Some(q) = qs.iter().find(|q| q.fact == fact) else {
            if !values.is_empty() {
                return Err(bad(fact, "the catalog has no such fact".into()));
            }
            continue;
        };
        for v in &values {
            q.check_allowed(v).map_err(|m| bad(fact, m))?;
        }
    }
    Ok(())
}

/// The sections of a profile in the order a template lists them: the catalog's order of
/// facts (`[product]`, `[auth]`, `[vdp]` ... as in the examples). A TOML table cannot be
/// split, so the lifecycle grouping is inside each section (a comment heading per phase) and
/// in the overview at the top of the template.
fn section_order(qs: &[Question]) -> Vec<String> {
    let mut sections: Vec<String> = Vec::new();
    for q in qs_in_catalog_order(qs) {
        if !sections.contains(&q.section) {
            sections.push(q.section.clone());
        }
    }
    sections
}

fn qs_in_catalog_order(qs: &[Question]) -> Vec<&Question> {
    let mut v: Vec<&Question> = qs.iter().collect();
    v.sort_by_key(|q| q.id);
    v
}

/// A TOML value for a fact value.
fn toml_value(v: &FactValue) -> String {
    let s = |x: &str| toml::Value::String(x.to_string()).to_string();
    match v {
        FactValue::Bool(b) => b.to_string(),
        FactValue::Int(i) => i.to_string(),
        FactValue::Str(x) => s(x),
        FactValue::Date(d) => d.to_string(),
        FactValue::List(l) => {
            let items: Vec<String> = l.iter().map(|x| s(x)).collect();
            format!("[{}]", items.join(", "))
        }
        FactValue::IntList(l) => {
            let items: Vec<String> = l.iter().map(i64::to_string).collect();
            format!("[{}]", items.join(", "))
        }
        // an interactive answer is never an absence (that needs who looked, where and when)
        FactValue::Absent => "{ absent = { by = \"\", where = \"\", on = 1970-01-01 } }".into(),
    }
}

/// The line to uncomment and fill in.
fn skeleton(q: &Question) -> String {
    let v = match q.kind {
        FactKind::Bool => "true    # or false".to_string(),
        FactKind::Int => "0".to_string(),
        FactKind::String => "\"\"".to_string(),
        FactKind::Date => "2030-12-31".to_string(),
        FactKind::Enum => match q.allowed.first() {
            Some(a) => toml_value(&FactValue::Str(a.clone())),
            None => "\"\"".to_string(),
        },
        FactKind::List | FactKind::IntList => "[]".to_string(),
    };
    format!("# {} = {v}", q.key)
}

fn comment_block(o: &mut String, q: &Question) {
    let _ = writeln!(o, "# {}", q.text);
    if q.text != ask(&q.title) {
        // a question in plain words: the title says exactly what the fact means
        let _ = writeln!(o, "#   {}", q.title);
    }
    let asked = if q.phases.len() > 1 {
        let p: Vec<&str> = q.phases.iter().map(|g| g.title()).collect();
        format!("; phases: {}", p.join(", "))
    } else {
        String::new()
    };
    let _ = writeln!(o, "#   {} (fact {}{asked})", q.hint(), q.fact);
}

const IDENTITY_HINTS: [(&str, &str); 7] = [
    (
        "manufacturer",
        "the manufacturer's name as it appears on the product",
    ),
    ("model", "the model designation"),
    ("name", "marketing name"),
    ("hardware_version", "hardware revision assessed"),
    ("firmware_version", "firmware version assessed"),
    ("url", "product page"),
    ("mud_url", "RFC 8520 MUD URL the device announces"),
];

fn identity_hint(key: &str) -> &'static str {
    IDENTITY_HINTS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, h)| *h)
        .unwrap_or("")
}

/// The commented template of a profile: every question of the catalog, commented out, with its
/// type and allowed values. Untouched it parses and every fact is unknown; `manufacturer` and
/// `model` hold placeholders and `category` the given one (else a marked placeholder).
pub fn template(cat: &Catalog, start: &Start) -> Result<String, TemplateError> {
    let qs = questions(cat);
    check_start(&qs, start)?;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# iotrust product profile, started with `iotrust profile new` (catalog {}).",
        cat.version()
    );
    o.push_str(
        "#\n\
         # Every question the catalog can ask about a product is below, commented out, grouped\n\
         # by the lifecycle phase in which it is settled: product and market, design,\n\
         # development, setup, sale, maintenance, sunsetting. Answer one by removing the `# `\n\
         # in front of its key and writing the value. A question left commented out stays\n\
         # unknown, and so do the verdicts that need it: never write false for \"not sure\".\n\
         # Check it with `iotrust assess FILE`; docs/profile.md describes the format.\n",
    );
    let sections = section_order(&qs);
    o.push_str("#\n# Where each phase's questions are:\n");
    for g in Group::ALL {
        let with: Vec<&str> = sections
            .iter()
            .filter(|s| qs.iter().any(|q| q.section == **s && q.group() == g))
            .map(String::as_str)
            .collect();
        let n = qs.iter().filter(|q| q.group() == g).count();
        if n > 0 {
            let _ = writeln!(o, "#   {g} ({n}): [{}]", with.join("], ["));
        }
    }
    let _ = writeln!(o, "schema = {}", toml_value(&FactValue::Str(SCHEMA.into())));
    for section in sections {
        let _ = writeln!(o, "\n[{section}]");
        if section == "product" {
            for key in IDENTITY {
                let hint = identity_hint(key);
                match key {
                    "manufacturer" | "model" => {
                        let _ = writeln!(o, "# required: {hint}");
                        let _ = writeln!(o, "{key} = \"({key})\"");
                    }
                    _ => {
                        let _ = writeln!(o, "# {hint}");
                        let _ = writeln!(o, "# {key} = \"\"");
                    }
                }
            }
        }
        let in_section: Vec<&Question> = qs_in_catalog_order(&qs)
            .into_iter()
            .filter(|q| q.section == section)
            .collect();
        for g in Group::ALL {
            let group: Vec<&&Question> = in_section.iter().filter(|q| q.group() == g).collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(o, "\n# --- {g} ---\n");
            for (k, q) in group.into_iter().enumerate() {
                if k > 0 {
                    o.push('\n');
                }
                comment_block(&mut o, q);
                let given = match q.fact.as_str() {
                    "product.category" => start
                        .category
                        .clone()
                        .map(FactValue::Str)
                        .or_else(|| q.allowed.first().cloned().map(FactValue::Str))
                        .map(|v| (v, start.category.is_none())),
                    "product.markets" if !start.markets.is_empty() => {
                        Some((FactValue::List(start.markets.clone()), false))
                    }
                    _ => None,
                };
                match given {
                    Some((v, placeholder)) => {
                        if placeholder {
                            o.push_str("#   (a placeholder: no category was given; change it)\n");
                        }
                        let _ = writeln!(o, "{} = {}", q.key, toml_value(&v));
                    }
                    None => {
                        let _ = writeln!(o, "{}", skeleton(q));
                    }
                }
            }
        }
    }
    // The interfaces: one [[interface]] table per way into or out of the product; the facts
    // marked "derived from [[interface]]" above then come from these rows.
    o.push_str(
        "\n# --- interfaces ---\n# One [[interface]] per way into or out of the product (network services and clients,\n# radios, physical and debug ports). Facts marked as derived from [[interface]] come\n# from these rows; do not state them as well. Copy the block once per interface:\n#\n# [[interface]]\n",
    );
    for (name, allowed, what) in crate::interfaces::COLUMNS {
        match allowed {
            Some(a) => {
                let _ = writeln!(o, "# {name} = \"\"    # {what}: {}", a.join(", "));
            }
            None => {
                let _ = writeln!(o, "# {name} =       # {what}");
            }
        }
    }
    // The communications: one [[communication]] table per conversation the product needs on
    // a network; `iotrust mud generate` turns them into an RFC 8520 MUD file.
    o.push_str(
        "\n# --- communications ---\n# One [[communication]] per conversation the product needs on a network: the peer\n# (domain, address, or class), protocol, ports, who opens it, and why. Facts marked as\n# derived from [[communication]] come from these rows; `iotrust mud generate` writes\n# them as an RFC 8520 MUD file. Copy the block once per conversation:\n#\n# [[communication]]\n",
    );
    for (name, allowed, what) in crate::communications::COLUMNS {
        match allowed {
            Some(a) => {
                let _ = writeln!(o, "# {name} = \"\"    # {what}: {}", a.join(", "));
            }
            None => {
                let _ = writeln!(o, "# {name} =       # {what}");
            }
        }
    }
    Ok(o)
}

/// A product's identity as answered (manufacturer and model required, the rest optional).
#[derive(Clone, Debug, Default)]
pub struct IdentityAnswers {
    pub manufacturer: String,
    pub model: String,
    pub name: Option<String>,
    pub hardware_version: Option<String>,
    pub firmware_version: Option<String>,
    pub url: Option<String>,
}

impl IdentityAnswers {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "manufacturer" => Some(&self.manufacturer),
            "model" => Some(&self.model),
            "name" => self.name.as_deref(),
            "hardware_version" => self.hardware_version.as_deref(),
            "firmware_version" => self.firmware_version.as_deref(),
            "url" => self.url.as_deref(),
            _ => None,
        }
    }
}

/// The profile of what was answered: only answered facts (an unknown answer is left out, never
/// written as false), each section in the template's order, after a comment header.
pub fn answered_profile(
    cat: &Catalog,
    identity: &IdentityAnswers,
    answers: &[(FactId, FactValue)],
) -> Result<String, TemplateError> {
    let qs = questions(cat);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# iotrust product profile, answered with `iotrust profile new --interactive` (catalog {}).",
        cat.version()
    );
    let _ = writeln!(
        o,
        "# {} of {} questions answered; every fact not written here is unknown.",
        answers.len(),
        qs.len()
    );
    o.push_str(
        "# `iotrust profile new` writes every question as a commented template; docs/profile.md\n\
         # describes the format.\n",
    );
    let _ = writeln!(o, "schema = {}", toml_value(&FactValue::Str(SCHEMA.into())));
    for section in section_order(&qs) {
        let mut lines = Vec::new();
        if section == "product" {
            for key in IDENTITY {
                if let Some(v) = identity.get(key) {
                    lines.push(format!("{key} = {}", toml_value(&FactValue::Str(v.into()))));
                }
            }
        }
        for q in qs_in_catalog_order(&qs)
            .into_iter()
            .filter(|q| q.section == section)
        {
            if let Some((_, v)) = answers.iter().find(|(id, _)| *id == q.id) {
                if v.type_of() != fact_type(q.kind) {
                    return Err(TemplateError {
                        field: q.fact.clone(),
                        message: format!("a {} answer for a {} fact", v.type_of(), q.hint()),
                    });
                }
                lines.push(format!("{} = {}", q.key, toml_value(v)));
            }
        }
        if !lines.is_empty() {
            let _ = writeln!(o, "\n[{section}]");
            for l in lines {
                let _ = writeln!(o, "{l}");
            }
        }
    }
    Ok(o)
}

fn fact_type(k: FactKind) -> iotrust_catalog::expr::Type {
    use iotrust_catalog::expr::Type;
    match k {
        FactKind::Bool => Type::Bool,
        FactKind::Int => Type::Int,
        FactKind::String | FactKind::Enum => Type::Str,
        FactKind::Date => Type::Date,
        FactKind::List => Type::List,
        FactKind::IntList => Type::IntList,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failure is a test failure
mod tests {
    use super::*;
    use crate::profile::{self, InputFormat};
    use crate::result::Verdict;

    fn cat() -> Catalog {
        Catalog::embedded().unwrap()
    }

    #[test]
    fn every_fact_is_asked_once_and_the_category_first() {
        let c = cat();
        let qs = questions(&c);
        assert_eq!(qs.len(), c.facts.len());
        let mut ids: Vec<_> = qs.iter().map(|q| q.fact.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), c.facts.len());
        assert_eq!(qs[0].fact, "product.category");
        assert!(qs.windows(2).skip(1).all(|w| w[0].group() <= w[1].group()));
    }

    #[test]
    fn a_fact_is_asked_in_the_earliest_phase_of_the_outcomes_that_read_it() {
        let c = cat();
        let qs = questions(&c);
        for q in &qs {
            let mut want = BTreeSet::new();
            for o in &c.outcomes {
                let reads = o
                    .applies
                    .iter()
                    .chain([&o.check])
                    .any(|e| e.facts().contains(&q.id));
                if reads {
                    want.extend(o.def.phases.iter().copied().map(Group::of));
                }
            }
            assert_eq!(q.phases, want.into_iter().collect::<Vec<_>>(), "{}", q.fact);
        }
        // the support end date is read by outcomes of several phases, sunsetting among them
        let end = qs.iter().find(|q| q.fact == "support.end_date").unwrap();
        assert!(end.phases.contains(&Group::Sunsetting), "{:?}", end.phases);
        // read by no outcome: a scope fact
        let markets = qs.iter().find(|q| q.fact == "product.markets").unwrap();
        assert_eq!(markets.group(), Group::ProductAndMarket);
    }

    #[test]
    fn the_catalog_question_is_used_and_the_title_asked_otherwise() {
        let c = cat();
        let qs = questions(&c);
        let q = |f: &str| qs.iter().find(|q| q.fact == f).unwrap();
        let cat_q = q("product.category");
        let def = c
            .facts
            .iter()
            .find(|f| *f.id == *"product.category")
            .unwrap();
        assert_eq!(Some(&cat_q.text), def.question.as_ref());
        let tamper_response = q("integrity.tamper_response");
        let def = c
            .facts
            .iter()
            .find(|f| *f.id == *"integrity.tamper_response")
            .unwrap();
        if def.question.is_none() {
            assert_eq!(tamper_response.text, format!("{}?", def.title));
        }
    }

    #[test]
    fn answers_are_typed_and_unknown_is_never_false() {
        let c = cat();
        let qs = questions(&c);
        let kind = |k: FactKind| qs.iter().find(|q| q.kind == k && !q.required).unwrap();
        let b = kind(FactKind::Bool);
        assert_eq!(b.parse_answer("yes"), Ok(Some(FactValue::Bool(true))));
        assert_eq!(b.parse_answer("N"), Ok(Some(FactValue::Bool(false))));
        assert_eq!(b.parse_answer(""), Ok(None));
        assert_eq!(b.parse_answer("unknown"), Ok(None));
        assert!(b.parse_answer("maybe").is_err());
        let i = kind(FactKind::Int);
        assert_eq!(i.parse_answer(" 14 "), Ok(Some(FactValue::Int(14))));
        assert!(i.parse_answer("fourteen").is_err());
        let d = kind(FactKind::Date);
        assert_eq!(
            d.parse_answer("2030-06-30"),
            Ok(Some(FactValue::Date("2030-06-30".parse().unwrap())))
        );
        assert!(d.parse_answer("2030-02-30").is_err());
        assert!(d.parse_answer("30/06/2030").is_err());
        let e = kind(FactKind::Enum);
        let first = e.allowed[0].clone();
        assert_eq!(e.parse_answer(&first), Ok(Some(FactValue::Str(first))));
        assert!(e.parse_answer("no-such-value").is_err());
        let m = qs.iter().find(|q| q.fact == "product.markets").unwrap();
        assert_eq!(
            m.parse_answer("UK, EU"),
            Ok(Some(FactValue::List(vec!["UK".into(), "EU".into()])))
        );
        assert!(m.parse_answer("UK, Narnia").is_err());
        let l = kind(FactKind::IntList);
        assert_eq!(
            l.parse_answer("80, 443"),
            Ok(Some(FactValue::IntList(vec![80, 443])))
        );
        assert_eq!(l.parse_answer("[]"), Ok(Some(FactValue::IntList(vec![]))));
        assert_eq!(l.parse_answer(""), Ok(None));
        let required = &qs[0];
        assert!(required.parse_answer("").is_err());
    }

    #[test]
    fn the_untouched_template_parses_and_leaves_every_fact_unknown() {
        let c = cat();
        let t = template(
            &c,
            &Start {
                category: Some("ip-camera".into()),
                markets: vec!["UK".into(), "EU".into()],
            },
        )
        .unwrap();
        let p = profile::parse(&c, &t, InputFormat::Toml, "template.toml").unwrap();
        let set: Vec<&str> = c
            .facts
            .iter()
            .enumerate()
            .filter(|(i, _)| p.facts.get(*i as FactId).is_some())
            .map(|(_, f)| f.id.as_str())
            .collect();
        assert_eq!(set, ["product.category", "product.markets"]);
        let a = crate::assess(&c, &p, &[], "2026-12-07".parse().unwrap());
        assert!(a
            .outcomes
            .iter()
            .all(|o| matches!(o.verdict, Verdict::Unknown | Verdict::NotApplicable)));
        // every fact is in it, under its section, commented out
        for q in questions(&c) {
            if q.fact != "product.category" && q.fact != "product.markets" {
                assert!(t.contains(&format!("\n# {} = ", q.key)), "{}", q.fact);
            }
            assert!(t.contains(&format!("(fact {}", q.fact)), "{}", q.fact);
        }
    }

    #[test]
    fn without_a_category_the_template_holds_a_marked_placeholder() {
        let c = cat();
        let t = template(&c, &Start::default()).unwrap();
        assert!(t.contains("a placeholder"));
        profile::parse(&c, &t, InputFormat::Toml, "template.toml").unwrap();
        let bad = template(
            &c,
            &Start {
                category: Some("toaster".into()),
                markets: vec![],
            },
        );
        assert_eq!(bad.unwrap_err().field, "product.category");
    }

    #[test]
    fn answered_facts_are_written_and_read_back() {
        let c = cat();
        let qs = questions(&c);
        let q = |f: &str| qs.iter().find(|q| q.fact == f).unwrap();
        let mut answers = Vec::new();
        for (f, a) in [
            ("product.category", "smart-plug"),
            ("product.markets", "UK, EU"),
            ("auth.uses_passwords", "no"),
            ("vdp.contact", "security@example.com \"quoted\""),
            ("vdp.acknowledgement_days", "5"),
            ("support.end_date", "2030-06-30"),
            ("updates.updatable", "yes"),
            ("surface.open_tcp_ports", "[]"),
            ("integrity.tamper_response", "unknown"),
        ] {
            if let Some(v) = q(f).parse_answer(a).unwrap() {
                answers.push((q(f).id, v));
            }
        }
        let id = IdentityAnswers {
            manufacturer: "Brisa \"Home\" Co.".into(),
            model: "BP-10".into(),
            ..Default::default()
        };
        let text = answered_profile(&c, &id, &answers).unwrap();
        assert!(!text.contains("tamper_response"), "{text}");
        let p = profile::parse(&c, &text, InputFormat::Toml, "answered.toml").unwrap();
        assert_eq!(p.identity.manufacturer, "Brisa \"Home\" Co.");
        for (id, v) in &answers {
            assert_eq!(p.facts.get(*id).map(|(x, _)| x), Some(v));
        }
        assert!(p.facts.get(q("integrity.tamper_response").id).is_none());
    }
}
