//! A document from an assessment: the gate (never a false declaration), then every item of the
//! catalog's form filled from the profile, the assessment, the info file or the catalog.

use iotrust_assess::result::{Access, SchemeResult};
use iotrust_assess::{Assessment, Verdict};
use iotrust_catalog::model::{
    Declares, DocumentDef, DocumentItemDef, DocumentKind, Need, SchemeKind, Status, ValueSource,
};
use iotrust_catalog::Catalog;

use crate::error::{DocumentError, Failing, Refusal};
use crate::info::Info;
use crate::model::{Document, Item, Value, FORMAT};

/// Files of the technical file that other documents point at (set by [`crate::bundle`]).
#[derive(Clone, Debug, Default)]
pub struct Related {
    /// The EU declaration's path in the technical file, or why there is none.
    pub eu_declaration: Option<Result<String, String>>,
    pub user_information: Option<String>,
    pub label: Option<String>,
    /// Files the info file names, copied into the technical file (info field -> path there).
    pub attachments: Vec<(String, String)>,
    /// The lab and test reports the profile carries inline ([`reports_of`]).
    pub reports: Vec<String>,
}

/// The profile's inline lab and test reports, one line each (title, lab, date, URL).
pub fn reports_of(p: &iotrust_assess::Profile) -> Vec<String> {
    p.inline_evidence
        .iter()
        .filter(|e| e.kind != "document")
        .map(|e| {
            let mut s = format!("{} ({}", e.title, e.kind);
            if let Some(l) = &e.lab {
                s.push_str(&format!(", {l}"));
            }
            if let Some(d) = e.date {
                s.push_str(&format!(", {d}"));
            }
            s.push_str(&format!(", strength {})", e.strength));
            if let Some(u) = &e.url {
                s.push_str(&format!(" {u}"));
            }
            s
        })
        .collect()
}

pub struct Inputs<'a> {
    pub catalog: &'a Catalog,
    pub assessment: &'a Assessment,
    pub info: &'a Info,
    pub related: Related,
    /// `iotrust 0.1.0`
    pub tool: String,
}

/// The catalog's form of `kind` for the assessment's date.
pub fn form(
    cat: &Catalog,
    kind: DocumentKind,
    a: &Assessment,
) -> Result<DocumentDef, DocumentError> {
    cat.document(kind, a.evaluated_on)
        .cloned()
        .ok_or(DocumentError::NoForm {
            kind: kind.to_string(),
            date: a.evaluated_on,
        })
}

fn scheme_result<'a>(a: &'a Assessment, key: &str) -> Option<&'a SchemeResult> {
    a.schemes.iter().find(|s| s.scheme == key)
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "met",
        Verdict::NotMet => "not-met",
        Verdict::NotApplicable => "not-applicable",
        Verdict::Unknown => "unknown",
    }
}

/// Never a false declaration: a form that declares conformance is written only when the law
/// applies to the product and every applicable mandatory provision is met (provisions mapped
/// only to outcomes the document itself provides, as the statement of compliance, excepted).
pub fn gate(def: &DocumentDef, a: &Assessment) -> Result<(), Refusal> {
    if def.declares != Declares::Conformance {
        return Ok(());
    }
    let refuse = |why: String, failing: Vec<Failing>| Refusal {
        document: def.title.clone(),
        scheme: def.scheme.to_string(),
        why,
        failing,
    };
    let Some(s) = scheme_result(a, &def.scheme) else {
        return Err(refuse(
            format!("the assessment holds no result for `{}`", &*def.scheme),
            Vec::new(),
        ));
    };
    if !s.in_scope {
        return Err(refuse(
            format!(
                "{} does not apply to this product ({}), so nothing can be declared under it",
                s.scheme, s.scope_reason
            ),
            Vec::new(),
        ));
    }
    let provided = |outcomes: &[String]| {
        !outcomes.is_empty()
            && outcomes
                .iter()
                .all(|o| def.satisfies.iter().any(|x| x.as_str() == o))
    };
    let failing: Vec<Failing> = s
        .provisions
        .iter()
        .filter(|p| p.status == Status::Mandatory)
        .filter(|p| matches!(p.verdict, Verdict::NotMet | Verdict::Unknown))
        .filter(|p| !provided(&p.outcomes))
        .map(|p| Failing {
            provision: format!("{}#{}", s.scheme, p.id),
            title: p.title.clone(),
            verdict: verdict_word(p.verdict).into(),
            reason: p.reason.clone(),
        })
        .collect();
    if failing.is_empty() && s.conformance != Verdict::NotMet {
        return Ok(());
    }
    let why = if failing.is_empty() {
        format!(
            "the assessment does not find {} met: {}",
            s.scheme, s.conformance_reason
        )
    } else {
        format!(
            "the assessment does not find {} met ({} mandatory provision(s) not met or unknown)",
            s.scheme,
            failing.len()
        )
    };
    Err(refuse(why, failing))
}

/// Write the document of `kind`: the gate first, then every item.
pub fn write(kind: DocumentKind, inp: &Inputs<'_>) -> Result<Document, DocumentError> {
    let a = inp.assessment;
    let def = form(inp.catalog, kind, a)?;
    gate(&def, a).map_err(DocumentError::Refused)?;
    let law = inp
        .catalog
        .scheme_by_key(&def.scheme)
        .map(|s| s.def.title.clone())
        .unwrap_or_else(|| def.scheme.to_string());
    let id = &a.profile.identity;
    let items = def.items.iter().map(|it| item(&def, it, inp)).collect();
    Ok(Document {
        format: FORMAT.into(),
        kind,
        form: def.id.to_string(),
        title: def.title.clone(),
        scheme: def.scheme.to_string(),
        law,
        product: format!("{} {}", id.manufacturer, id.model),
        catalog_version: a.catalog_version.clone(),
        made_on: a.evaluated_on,
        tool: inp.tool.clone(),
        source: source_text(&def.source),
        retention: def.retention.clone(),
        note: def.note.clone(),
        items,
    })
}

fn source_text(s: &iotrust_catalog::model::Source) -> String {
    match &s.url {
        Some(u) => format!("{} — {u} (confidence {})", s.reference, s.confidence),
        None => format!("{} (confidence {})", s.reference, s.confidence),
    }
}

fn item(def: &DocumentDef, it: &DocumentItemDef, inp: &Inputs<'_>) -> Item {
    let (value, gap) = value(def, it, inp);
    let value = match (value, it.need) {
        (Value::Missing { what }, Need::WhereApplicable) => Value::NotApplicable {
            note: format!("not given ({what}); asked for only where it applies"),
        },
        (v, _) => v,
    };
    Item {
        id: it.id.to_string(),
        title: it.title.clone(),
        provision: it.provision.clone(),
        asks: it.asks.clone(),
        value,
        gap,
        source: source_text(&it.source),
        confidence: it.source.confidence,
    }
}

fn text(s: impl Into<String>) -> Value {
    Value::Text { text: s.into() }
}

fn missing(s: impl Into<String>) -> Value {
    Value::Missing { what: s.into() }
}

fn value(def: &DocumentDef, it: &DocumentItemDef, inp: &Inputs<'_>) -> (Value, Option<String>) {
    let a = inp.assessment;
    let field = it.value.field.as_deref().map(String::as_str).unwrap_or("");
    match *it.value.from {
        ValueSource::Text => (text(it.value.text.clone().unwrap_or_default()), None),
        ValueSource::Profile => (profile_value(a, field), None),
        ValueSource::Info => (info_value(inp, field), None),
        ValueSource::Catalog => (
            text(format!(
                "{} ({})",
                inp.catalog
                    .scheme_by_key(&def.scheme)
                    .map(|s| s.def.title.as_str())
                    .unwrap_or(&def.scheme),
                &*def.scheme
            )),
            None,
        ),
        ValueSource::Outcomes => outcomes_value(a, &it.value.outcomes),
        ValueSource::Assessment => assessment_value(def, inp, field),
        ValueSource::Document => (document_value(inp, field), None),
    }
}

fn profile_value(a: &Assessment, field: &str) -> Value {
    let p = &a.profile;
    match field {
        "identity" => {
            let id = &p.identity;
            let mut lines = vec![
                format!("Manufacturer: {}", id.manufacturer),
                format!("Model (type): {}", id.model),
            ];
            if let Some(n) = &id.name {
                lines.push(format!("Name: {n}"));
            }
            match &id.hardware_version {
                Some(h) => lines.push(format!("Hardware version: {h}")),
                None => lines.push("Hardware version: not declared in the profile".into()),
            }
            match &id.firmware_version {
                Some(f) => lines.push(format!("Software (firmware) version: {f}")),
                None => return missing(
                    "the profile declares no firmware version: add `firmware_version` to [product]",
                ),
            }
            lines.push(format!("Category: {}", p.category));
            Value::Lines { lines }
        }
        "manufacturer" => text(p.identity.manufacturer.clone()),
        "type" => text(match &p.identity.name {
            Some(n) => format!("{} ({n})", p.identity.model),
            None => p.identity.model.clone(),
        }),
        "category" => text(p.category.clone()),
        "markets" => text(p.markets.join(", ")),
        "url" => match &p.identity.url {
            Some(u) => text(u.clone()),
            None => missing("the profile declares no product URL: add `url` to [product]"),
        },
        other => missing(format!("unknown profile field `{other}`")),
    }
}

fn info_value(inp: &Inputs<'_>, key: &str) -> Value {
    if let Some((_, path)) = inp.related.attachments.iter().find(|(k, _)| k == key) {
        return Value::File {
            path: path.clone(),
            note: "carried in this technical file".into(),
        };
    }
    match inp.info.get(key) {
        Some(v) => text(v),
        None => missing(match &inp.info.path {
            Some(p) => format!("add `{key}` to the [document] table of {}", p.display()),
            None => format!("add `{key}` to the [document] table of an info file (--info)"),
        }),
    }
}

fn outcomes_value(a: &Assessment, ids: &[iotrust_catalog::model::Str]) -> (Value, Option<String>) {
    let mut lines = Vec::new();
    let mut open = Vec::new();
    for id in ids {
        match a.outcomes.iter().find(|o| o.id == id.as_str()) {
            Some(o) => {
                lines.push(format!(
                    "{} ({}): {} — {}",
                    o.title,
                    o.id,
                    verdict_word(o.verdict),
                    o.reason
                ));
                if o.verdict != Verdict::Met && o.verdict != Verdict::NotApplicable {
                    open.push(format!("{} is {}", o.id, verdict_word(o.verdict)));
                }
            }
            None => {
                lines.push(format!("{id}: not in this assessment"));
                open.push(format!("{id} is not assessed"));
            }
        }
    }
    let gap = (!open.is_empty()).then(|| open.join("; "));
    (Value::Lines { lines }, gap)
}

fn assessment_value(def: &DocumentDef, inp: &Inputs<'_>, field: &str) -> (Value, Option<String>) {
    let a = inp.assessment;
    let scheme = scheme_result(a, &def.scheme);
    match field {
        "conformance" => conformance_value(def, a, scheme),
        "route" => (route_value(inp, scheme), None),
        "support_period" => match a.support.end_date {
            Some(end) => (
                text(format!(
                    "Security updates are provided until {end} (the defined support period as of {}; {}).",
                    a.evaluated_on, a.support.statement
                )),
                None,
            ),
            None => (
                missing("the profile declares no end of the support period: add `support.end_date`"),
                None,
            ),
        },
        "standards" => (standards_value(inp), None),
        "conformity" => (conformity_value(a, &def.scheme), None),
        "evidence" => {
            let lines: Vec<String> = a
                .evidence
                .iter()
                .map(|e| format!("{} ({}, {}, strength {})", e.file, e.kind, e.tool, e.strength))
                .collect();
            if lines.is_empty() {
                (missing("no evidence file: give one with --evidence or in the profile"), None)
            } else {
                (Value::Lines { lines }, None)
            }
        }
        "tests" => {
            use iotrust_catalog::model::Strength;
            let mut lines: Vec<String> = inp.related.reports.clone();
            lines.extend(a
                .evidence
                .iter()
                .filter(|e| e.strength >= Strength::Tested || e.kind == "test-report")
                .map(|e| {
                    format!(
                        "{} — {} by {}, strength {}, {} finding(s), {} fact(s)",
                        e.file,
                        e.kind,
                        e.tool,
                        e.strength,
                        e.findings.len(),
                        e.facts
                    )
                }));
            if lines.is_empty() {
                (
                    missing("no test report among the evidence: run `iotrust probe` or import a lab's report and pass it with --evidence"),
                    None,
                )
            } else {
                (Value::Lines { lines }, None)
            }
        }
        other => (missing(format!("unknown assessment field `{other}`")), None),
    }
}

fn conformance_value(
    def: &DocumentDef,
    a: &Assessment,
    s: Option<&SchemeResult>,
) -> (Value, Option<String>) {
    let Some(s) = s else {
        return (
            missing(format!(
                "the assessment holds no result for {}",
                &*def.scheme
            )),
            None,
        );
    };
    let mut lines = Vec::new();
    let lead = match def.declares {
        Declares::Conformance => format!(
            "The manufacturer declares that, in its opinion, the product meets {} ({}). The iotrust assessment of {} found every applicable mandatory provision met:",
            s.title, s.scheme, a.evaluated_on
        ),
        Declares::Information => format!(
            "{} ({}) as the iotrust assessment of {} found it — conformance {}:",
            s.title,
            s.scheme,
            a.evaluated_on,
            verdict_word(s.conformance)
        ),
    };
    lines.push(lead);
    let mut open = 0;
    for p in s
        .provisions
        .iter()
        .filter(|p| p.status == Status::Mandatory)
    {
        let via = p
            .via
            .as_deref()
            .map(|v| format!(" (via {v})"))
            .unwrap_or_default();
        lines.push(format!(
            "{} {}: {}{via} — {}",
            p.id,
            p.title,
            verdict_word(p.verdict),
            p.reason
        ));
        if matches!(p.verdict, Verdict::NotMet | Verdict::Unknown) {
            open += 1;
        }
    }
    if let Some(m) = a
        .markets
        .iter()
        .find(|m| m.laws.iter().any(|l| l.scheme == s.scheme))
    {
        if m.access == Access::Yes {
            lines.push(format!("Market access {}: {}", m.market, m.statement));
        }
    }
    let gap = (def.declares == Declares::Information && open > 0).then(|| {
        format!(
            "{open} mandatory provision(s) of {} not met or unknown",
            s.scheme
        )
    });
    (Value::Lines { lines }, gap)
}

fn route_value(inp: &Inputs<'_>, s: Option<&SchemeResult>) -> Value {
    let Some(s) = s else {
        return missing("no result for the law in the assessment");
    };
    let def = inp.catalog.scheme_by_key(&s.scheme);
    let mut lines = Vec::new();
    for p in s
        .provisions
        .iter()
        .filter(|p| p.status == Status::Mandatory)
    {
        let line = match (p.verdict, p.via.as_deref()) {
            (Verdict::NotApplicable, _) => {
                format!("{} {}: does not apply to this product", p.id, p.title)
            }
            (_, Some(via)) => {
                let title = def
                    .and_then(|d| d.def.provisions.iter().find(|x| *x.id == p.id))
                    .and_then(|x| {
                        x.routes.iter().find(|r| {
                            *r.id == via || r.level.as_deref().is_some_and(|l| l.as_str() == via)
                        })
                    })
                    .map(|r| r.title.clone())
                    .unwrap_or_else(|| via.to_string());
                format!("{} {}: by deemed compliance — {title}", p.id, p.title)
            }
            (_, None) => format!("{} {}: met under the requirement itself", p.id, p.title),
        };
        lines.push(line);
    }
    Value::Lines { lines }
}

fn standards_value(inp: &Inputs<'_>) -> Value {
    let a = inp.assessment;
    let mut lines: Vec<String> = a
        .schemes
        .iter()
        .filter(|s| s.kind == SchemeKind::Standard && s.in_scope)
        .filter(|s| s.conformance == Verdict::Met || s.highest_level.is_some())
        .map(|s| {
            let level = s
                .highest_level
                .as_deref()
                .map(|l| format!(", level {l}"))
                .unwrap_or_default();
            format!(
                "{} ({}): assessed {}{level}",
                s.title,
                s.scheme,
                verdict_word(s.conformance)
            )
        })
        .collect();
    for l in a
        .labels
        .iter()
        .filter(|l| l.obtainable && l.route == "held")
    {
        lines.push(format!("Certification held: {}", l.label));
    }
    if lines.is_empty() {
        text("No standard, common specification or certification is shown met by the assessment; conformity rests on the requirements themselves, as listed under the declaration of conformity.")
    } else {
        Value::Lines { lines }
    }
}

fn conformity_value(a: &Assessment, scheme: &str) -> Value {
    let Some(c) = a.conformity.iter().find(|c| c.scheme == scheme) else {
        return missing(format!(
            "the assessment decides no product class for {scheme}"
        ));
    };
    if c.class.is_none() {
        return missing(format!(
            "the product's CRA class is not established ({}), so neither is the procedure: state `product.functions` in the profile",
            c.reason
        ));
    }
    let mut lines = vec![format!("Product class: {} — {}", c.title, c.reason)];
    match &c.satisfied_by {
        Some(r) => lines.push(format!("Procedure followed: {r}")),
        None => {
            return missing(format!(
                "the profile shows none of the procedures the class allows done ({}): declare the one followed",
                c.routes.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ")
            ))
        }
    }
    Value::Lines { lines }
}

fn document_value(inp: &Inputs<'_>, field: &str) -> Value {
    let a = inp.assessment;
    match field {
        "date" => text(a.evaluated_on.to_string()),
        "signature" => Value::Signature {
            name: inp.info.get("signatory_name"),
        },
        "eu_declaration" => match &inp.related.eu_declaration {
            Some(Ok(p)) => Value::File {
                path: p.clone(),
                note: "the EU declaration of conformity, written from the same assessment".into(),
            },
            Some(Err(why)) => missing(format!("no EU declaration of conformity: {why}")),
            None => missing("the EU declaration is carried only in the technical file (`iotrust document cra-technical-file`)"),
        },
        "user_information" => match &inp.related.user_information {
            Some(p) => Value::File {
                path: p.clone(),
                note: "the information and instructions to the user".into(),
            },
            None => missing("the user information is carried only in the technical file"),
        },
        "label" => match &inp.related.label {
            Some(p) => Value::File {
                path: p.clone(),
                note: "the signed label".into(),
            },
            None => Value::NotApplicable {
                note: "no label given (--label)".into(),
            },
        },
        other => missing(format!("unknown document field `{other}`")),
    }
}
