//! Facts derived from a table of the profile (`[[interface]]`, `[[communication]]`): each
//! fact marked `derived: <table>` in facts.yaml takes its value from the rows, as strong as the
//! weakest row and naming the rows' sources. A fact the profile also states directly is an
//! error: the table is the one place the thing is described.

use iotrust_catalog::expr::{FactId, FactValue};
use iotrust_catalog::model::{Derived, Strength};
use iotrust_catalog::Catalog;

use crate::profile::{Ctx, Facts, InputError, Provenance};

/// One table of the profile, as the derivation sees it.
pub(crate) struct Table<'a> {
    /// Which facts it derives.
    pub kind: Derived,
    /// `interface`, `communication`: the table's name in the profile.
    pub name: &'static str,
    /// What the rows describe, for the error (`interfaces`, `communications`).
    pub describes: &'static str,
    /// The line of its first row.
    pub line: usize,
    pub rows: usize,
    /// The weakest row's strength.
    pub strength: Strength,
    /// The rows' own sources.
    pub sources: Vec<&'a str>,
    /// What else the rows hold, for the source (`with the services found in FILE`).
    pub also: Option<String>,
}

/// Set every fact `t` derives, from `derive` (which says `None` when the rows leave a fact
/// undecided); a fact the profile also states directly is an error.
pub(crate) fn apply(
    cat: &Catalog,
    ctx: &Ctx<'_>,
    t: &Table<'_>,
    facts: &mut Facts,
    stated: &[(FactId, usize)],
    derive: impl Fn(&str) -> Option<FactValue>,
) -> Result<(), InputError> {
    if t.rows == 0 {
        return Ok(());
    }
    let at = t.line + ctx.line_offset;
    for def in cat.facts.iter().filter(|d| d.derived == Some(t.kind)) {
        let Some((id, _)) = cat.fact(&def.id) else {
            continue;
        };
        if let Some((_, l)) = stated.iter().find(|(s, _)| *s == id) {
            return Err(ctx.err(
                *l,
                Some(&def.id),
                format!(
                    "`{}` is derived from the [[{}]] table (line {at}); describe the {} there instead of stating it",
                    &*def.id, t.name, t.describes
                ),
            ));
        }
    }
    set_all(cat, ctx, t, facts, derive);
    Ok(())
}

/// Set every fact `t` derives; one the rows leave undecided is unknown (a value derived
/// before, from fewer rows, does not stay).
pub(crate) fn set_all(
    cat: &Catalog,
    ctx: &Ctx<'_>,
    t: &Table<'_>,
    facts: &mut Facts,
    derive: impl Fn(&str) -> Option<FactValue>,
) {
    if t.rows == 0 {
        return;
    }
    let at = t.line + ctx.line_offset;
    let mut sources = t.sources.clone();
    sources.dedup();
    let mut source = format!("{}:{at} ([[{}]] table, {} rows", ctx.file, t.name, t.rows);
    if let Some(extra) = &t.also {
        source.push_str(&format!(", {extra}"));
    }
    source.push(')');
    if !sources.is_empty() {
        source.push_str(&format!("; {}", sources.join("; ")));
    }
    for (i, def) in cat.facts.iter().enumerate() {
        if def.derived != Some(t.kind) {
            continue;
        }
        let Ok(id) = FactId::try_from(i) else {
            continue;
        };
        match derive(&def.id) {
            Some(v) => facts.set(
                id,
                v,
                Provenance {
                    strength: t.strength,
                    source: source.clone(),
                    note: None,
                },
            ),
            None => facts.unset(id),
        }
    }
}
