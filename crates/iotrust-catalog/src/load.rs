//! Reading catalog files (embedded or from a directory) and checking everything in them.
//! Every problem becomes a [`Diagnostic`]; loading reports all of them, not only the first.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};
use jiff::civil::Date;
use marked_yaml::{FromYamlError, LoadError, LoaderOptions};
use serde::de::DeserializeOwned;

use crate::catalog::{Catalog, Outcome, Recognition, Scheme, Tier};
use crate::expr::{Expr, FactId, FactLookup, Type};
use crate::model::*;

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../catalog");

/// One problem in the catalog data, pointing at a file, a line and the id concerned.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(id) = &self.id {
            write!(f, "`{id}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Errors from loading a catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read catalog directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the catalog has {} error(s); first: {}", .0.len(), .0.first().map(|d| d.to_string()).unwrap_or_default())]
    Invalid(Vec<Diagnostic>),
}

/// The catalog's files as (path relative to the catalog root, contents).
pub fn embedded_files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_embedded(&EMBEDDED, &mut out);
    out.sort();
    out
}

fn collect_embedded(dir: &Dir<'_>, out: &mut Vec<(String, String)>) {
    for f in dir.files() {
        if let Some(text) = f.contents_utf8() {
            out.push((
                f.path().to_string_lossy().replace('\\', "/"),
                text.to_string(),
            ));
        }
    }
    for d in dir.dirs() {
        collect_embedded(d, out);
    }
}

/// Read every file below `root`.
pub fn dir_files(root: &Path) -> Result<Vec<(String, String)>, CatalogError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| CatalogError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| CatalogError::Io {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::Io {
                    path: path.clone(),
                    source,
                })?;
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, text));
            }
        }
    }
    out.sort();
    Ok(out)
}

struct Diags {
    list: Vec<Diagnostic>,
}

impl Diags {
    fn push(&mut self, file: &str, line: usize, id: Option<&str>, message: impl Into<String>) {
        self.list.push(Diagnostic {
            file: file.to_string(),
            line,
            id: id.map(str::to_string),
            message: message.into(),
        });
    }
}

fn parse_file<T: DeserializeOwned>(file: &str, text: &str, diags: &mut Diags) -> Option<T> {
    let opts = LoaderOptions::default().error_on_duplicate_keys(true);
    match marked_yaml::from_yaml_with_options::<T>(0, text, opts) {
        Ok(v) => Some(v),
        Err(FromYamlError::ParseYaml(e)) => {
            let line = match &e {
                LoadError::TopLevelMustBeMapping(m)
                | LoadError::TopLevelMustBeSequence(m)
                | LoadError::UnexpectedAnchor(m)
                | LoadError::MappingKeyMustBeScalar(m)
                | LoadError::UnexpectedTag(m)
                | LoadError::ScanError(m, _) => m.line(),
                LoadError::DuplicateKey(inner) => {
                    inner.key.span().start().map(|m| m.line()).unwrap_or(0)
                }
            };
            let msg = match &e {
                LoadError::DuplicateKey(inner) => format!("duplicate key `{}`", inner.key.as_str()),
                LoadError::ScanError(_, s) => format!("YAML syntax error: {s}"),
                other => format!("YAML error: {other}"),
            };
            diags.push(file, line, None, msg);
            None
        }
        Err(FromYamlError::FromNode(e)) => {
            let line = e.start_mark().map(|m| m.line()).unwrap_or(0);
            let field = e.path().map(str::to_string);
            let msg = lowercase_first(&e.to_string());
            diags.push(file, line, field.as_deref(), msg);
            None
        }
    }
}

fn lowercase_first(s: &str) -> String {
    // marked-yaml's messages start with a capital; ours do not.
    let s = s
        .split_once(": ")
        .filter(|(p, _)| p.contains('[') || p.contains('.'))
        .map(|(_, r)| r)
        .unwrap_or(s);
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Parse an optional date field (`null`, `~` and empty mean absent). `YYYY-MM` is accepted
/// where only the month is known, and stands for the first day of that month.
fn date_field(
    file: &str,
    id: &str,
    field: &str,
    v: &Option<Str>,
    diags: &mut Diags,
) -> Option<Date> {
    let s = v.as_ref()?;
    let t = s.trim();
    if t.is_empty() || t == "null" || t == "~" {
        return None;
    }
    let parsed = if t.len() == 7 {
        format!("{t}-01").parse::<Date>()
    } else {
        t.parse::<Date>()
    };
    match parsed {
        Ok(d) => Some(d),
        Err(_) => {
            diags.push(
                file,
                s.line(),
                Some(id),
                format!("{field}: `{t}` is not a valid date (YYYY-MM-DD, or YYYY-MM when only the month is known)"),
            );
            None
        }
    }
}

/// The fact vocabulary, as the expression compiler sees it.
pub(crate) struct Vocab {
    pub index: HashMap<String, (FactId, Type)>,
    pub allowed: Vec<Option<Vec<String>>>,
}

impl FactLookup for Vocab {
    fn lookup(&self, name: &str) -> Option<(FactId, Type)> {
        self.index.get(name).copied()
    }
    fn allowed_values(&self, id: FactId) -> Option<&[String]> {
        self.allowed.get(usize::from(id)).and_then(|v| v.as_deref())
    }
}

fn compile(
    src: &Str,
    vocab: &Vocab,
    file: &str,
    id: &str,
    field: &str,
    diags: &mut Diags,
) -> Option<Expr> {
    match Expr::compile(src, vocab) {
        Ok(e) => Some(e),
        Err(e) => {
            diags.push(
                file,
                src.line(),
                Some(id),
                format!("{field} does not compile: {e} in `{}`", &**src),
            );
            None
        }
    }
}

/// Check that ids in a list are unique.
fn unique<'a>(
    file: &str,
    what: &str,
    ids: impl Iterator<Item = &'a Str>,
    diags: &mut Diags,
) -> HashSet<String> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id.to_string()) {
            diags.push(file, id.line(), Some(id), format!("duplicate {what} id"));
        }
        if id.is_empty() {
            diags.push(file, id.line(), None, format!("empty {what} id"));
        }
    }
    seen
}

/// Split `scheme@version#item` into its parts.
pub fn split_ref(r: &str) -> Option<(&str, &str)> {
    let (scheme, item) = r.split_once('#')?;
    if !scheme.contains('@') || item.is_empty() {
        return None;
    }
    Some((scheme, item))
}

/// Check a scheme's product classes and compile their expressions: per class, the `when` of
/// each category and the `satisfied_when` of each route.
#[allow(clippy::type_complexity)]
fn product_classes(
    file: &str,
    key: &str,
    s: &SchemeDef,
    vocab: &Vocab,
    d: &mut Diags,
) -> (Vec<Vec<Expr>>, Vec<Vec<Option<Expr>>>) {
    let Some(pc) = &s.product_classes else {
        return (Vec::new(), Vec::new());
    };
    let ids = unique(file, "product class", pc.classes.iter().map(|c| &c.id), d);
    unique(
        file,
        "class category",
        pc.classes
            .iter()
            .flat_map(|c| c.categories.iter().map(|x| &x.id)),
        d,
    );
    if !ids.contains(&**pc.default) {
        d.push(
            file,
            pc.default.line(),
            Some(key),
            format!(
                "product_classes.default `{}` is not one of the classes",
                &*pc.default
            ),
        );
    }
    let mut class_when = Vec::new();
    let mut route_when = Vec::new();
    for c in &pc.classes {
        let is_default = c.id == pc.default;
        if is_default && !c.categories.is_empty() {
            d.push(
                file,
                c.id.line(),
                Some(&c.id),
                "the default class has no categories",
            );
        }
        if !is_default && c.categories.is_empty() {
            d.push(
                file,
                c.id.line(),
                Some(&c.id),
                "a class other than the default needs at least one category",
            );
        }
        if c.routes.is_empty() {
            d.push(
                file,
                c.id.line(),
                Some(&c.id),
                "a product class needs at least one conformity route",
            );
        }
        unique(file, "conformity route", c.routes.iter().map(|r| &r.id), d);
        class_when.push(
            c.categories
                .iter()
                .filter_map(|x| compile(&x.when, vocab, file, &x.id, "when", d))
                .collect(),
        );
        route_when.push(
            c.routes
                .iter()
                .map(|r| {
                    r.satisfied_when
                        .as_ref()
                        .and_then(|e| compile(e, vocab, file, &r.id, "satisfied_when", d))
                })
                .collect(),
        );
    }
    (class_when, route_when)
}

/// Build a catalog from its files, checking everything; returns every problem found.
pub fn load(files: &[(String, String)]) -> Result<Catalog, CatalogError> {
    let mut d = Diags { list: Vec::new() };
    let mut meta: Option<(String, CatalogFile)> = None;
    let mut cats: Option<(String, CategoriesFile)> = None;
    let mut facts: Option<(String, FactsFile)> = None;
    let mut outcomes: Option<(String, OutcomesFile)> = None;
    let mut tiers: Option<(String, TiersFile)> = None;
    let mut recog: Option<(String, RecognitionFile)> = None;
    let mut crosswalks: Vec<(String, CrosswalkFile)> = Vec::new();
    let mut schemes: Vec<(String, SchemeDef)> = Vec::new();
    let mut documents: Vec<(String, DocumentDef)> = Vec::new();
    // schemes whose file did not parse: references to them are not reported again
    let mut broken: HashSet<String> = HashSet::new();

    for (path, text) in files {
        let p = path.as_str();
        if !p.ends_with(".yaml") {
            continue;
        }
        let f = format!("catalog/{p}");
        match p {
            "catalog.yaml" => meta = parse_file(&f, text, &mut d).map(|v| (f, v)),
            "categories.yaml" => cats = parse_file(&f, text, &mut d).map(|v| (f, v)),
            "facts.yaml" => facts = parse_file(&f, text, &mut d).map(|v| (f, v)),
            "outcomes.yaml" => outcomes = parse_file(&f, text, &mut d).map(|v| (f, v)),
            "tiers.yaml" => tiers = parse_file(&f, text, &mut d).map(|v| (f, v)),
            "recognition.yaml" => recog = parse_file(&f, text, &mut d).map(|v| (f, v)),
            _ if p.starts_with("documents/") && p.matches('/').count() == 1 => {
                if let Some(v) = parse_file::<DocumentDef>(&f, text, &mut d) {
                    let expected = format!("documents/{}.yaml", &*v.id);
                    if p != expected {
                        d.push(&f, v.id.line(), Some(&v.id), format!("a document file must be at `{expected}`"));
                    }
                    documents.push((f, v));
                }
            }
            _ if p.starts_with("crosswalks/") => {
                if let Some(v) = parse_file(&f, text, &mut d) {
                    crosswalks.push((f, v));
                }
            }
            _ if p.starts_with("schemes/") && p.matches('/').count() == 2 => {
                let parsed = parse_file::<SchemeDef>(&f, text, &mut d);
                if parsed.is_none() {
                    if let Some((id, ver)) = p.trim_start_matches("schemes/").trim_end_matches(".yaml").split_once('/') {
                        broken.insert(format!("{id}@{ver}"));
                    }
                }
                if let Some(v) = parsed {
                    let expected = format!("schemes/{}/{}.yaml", &*v.id, &*v.version);
                    if p != expected {
                        d.push(&f, v.id.line(), Some(&v.id), format!("a scheme file must be at `{expected}`"));
                    }
                    schemes.push((f, v));
                }
            }
            _ => d.push(&f, 1, None, "unexpected file: the catalog holds catalog.yaml, categories.yaml, facts.yaml, outcomes.yaml, tiers.yaml, recognition.yaml, crosswalks/*.yaml, documents/<id>.yaml and schemes/<id>/<version>.yaml"),
        }
    }

    for (name, present) in [
        ("catalog.yaml", meta.is_some()),
        ("categories.yaml", cats.is_some()),
        ("facts.yaml", facts.is_some()),
        ("outcomes.yaml", outcomes.is_some()),
        ("tiers.yaml", tiers.is_some()),
    ] {
        if !present && !d.list.iter().any(|x| x.file.ends_with(name)) {
            d.push(
                &format!("catalog/{name}"),
                0,
                None,
                "required file is missing",
            );
        }
    }
    let (
        Some((mf, meta)),
        Some((cf, cats)),
        Some((ff, facts)),
        Some((of, outcomes)),
        Some((tf, tiers)),
    ) = (meta, cats, facts, outcomes, tiers)
    else {
        return Err(CatalogError::Invalid(d.list));
    };

    // --- catalog.yaml
    let catalog_date = date_field(&mf, "date", "date", &Some(meta.date.clone()), &mut d);
    let jurisdictions = unique(
        &mf,
        "jurisdiction",
        meta.jurisdictions.iter().map(|j| &j.id),
        &mut d,
    );
    unique(&mf, "phase", meta.phases.iter().map(|j| &j.id), &mut d);
    for j in &meta.jurisdictions {
        if let Some(w) = &j.within {
            if !jurisdictions.contains(&**w) || **w == *j.id {
                d.push(
                    &mf,
                    w.line(),
                    Some(&j.id),
                    format!(
                        "jurisdiction `{}` is within `{w}`, which is not another jurisdiction",
                        &*j.id
                    ),
                );
            }
        }
    }

    // --- categories
    let category_ids = unique(
        &cf,
        "category",
        cats.categories.iter().map(|c| &c.id),
        &mut d,
    );
    for c in &cats.categories {
        if let Some(g) = &c.group {
            if !category_ids.contains(&**g) {
                d.push(
                    &cf,
                    g.line(),
                    Some(&c.id),
                    format!("group `{g}` is not a category"),
                );
            }
        }
    }

    // --- facts
    unique(&ff, "fact", facts.facts.iter().map(|f| &f.id), &mut d);
    let mut vocab = Vocab {
        index: HashMap::new(),
        allowed: Vec::new(),
    };
    for (i, f) in facts.facts.iter().enumerate() {
        let ty = match f.kind {
            FactKind::Bool => Type::Bool,
            FactKind::Int => Type::Int,
            FactKind::String | FactKind::Enum => Type::Str,
            FactKind::Date => Type::Date,
            FactKind::List => Type::List,
            FactKind::IntList => Type::IntList,
        };
        let allowed = match (&f.values_from, f.kind) {
            (Some(src), _) => match src.as_str() {
                "categories" => Some(
                    // a product names a concrete category, not a group of them
                    cats.categories
                        .iter()
                        .filter(|c| {
                            !cats
                                .categories
                                .iter()
                                .any(|x| x.group.as_ref().is_some_and(|g| **g == *c.id))
                        })
                        .map(|c| c.id.to_string())
                        .collect::<Vec<_>>(),
                ),
                // INT marks schemes not tied to one jurisdiction; it is not a market
                "jurisdictions" => Some(
                    meta.jurisdictions
                        .iter()
                        .filter(|j| *j.id != "INT")
                        .map(|c| c.id.to_string())
                        .collect(),
                ),
                other => {
                    d.push(
                        &ff,
                        src.line(),
                        Some(&f.id),
                        format!("values_from `{other}` must be `categories` or `jurisdictions`"),
                    );
                    None
                }
            },
            (None, FactKind::Enum) if f.values.is_empty() => {
                d.push(
                    &ff,
                    f.id.line(),
                    Some(&f.id),
                    "an enum fact needs `values` or `values_from`",
                );
                None
            }
            (None, _) if !f.values.is_empty() => Some(f.values.clone()),
            _ => None,
        };
        if f.question.as_deref().is_some_and(|q| q.trim().is_empty()) {
            d.push(
                &ff,
                f.id.line(),
                Some(&f.id),
                "`question` is empty (leave it out to ask the title)",
            );
        }
        let Ok(id) = FactId::try_from(i) else {
            d.push(&ff, f.id.line(), Some(&f.id), "too many facts");
            break;
        };
        vocab.index.insert(f.id.to_string(), (id, ty));
        vocab.allowed.push(allowed);
    }

    // --- outcomes
    let outcome_ids = unique(
        &of,
        "outcome",
        outcomes.outcomes.iter().map(|o| &o.id),
        &mut d,
    );
    let mut compiled_outcomes = Vec::new();
    for o in &outcomes.outcomes {
        if o.phases.is_empty() {
            d.push(
                &of,
                o.id.line(),
                Some(&o.id),
                "an outcome needs at least one phase",
            );
        }
        let applies = o
            .applies_when
            .as_ref()
            .and_then(|e| compile(e, &vocab, &of, &o.id, "applies_when", &mut d));
        let check = compile(&o.check, &vocab, &of, &o.id, "check", &mut d);
        let contradiction = o
            .contradiction
            .as_ref()
            .and_then(|e| compile(e, &vocab, &of, &o.id, "contradiction", &mut d));
        if let Some(check) = check {
            compiled_outcomes.push(Outcome {
                def: o.clone(),
                applies,
                check,
                contradiction,
            });
        }
    }
    let outcome_index: HashMap<String, usize> = compiled_outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| (o.def.id.to_string(), i))
        .collect();

    // --- schemes (first pass: ids; second: references)
    let mut scheme_keys: HashMap<String, (String, usize)> = HashMap::new();
    for (file, s) in &schemes {
        let key = format!("{}@{}", &*s.id, &*s.version);
        if let Some((other, _)) = scheme_keys.get(&key) {
            d.push(
                file,
                s.id.line(),
                Some(&key),
                format!("scheme defined twice (also in {other})"),
            );
        }
        scheme_keys.insert(key, (file.clone(), s.id.line()));
    }
    // provisions and levels per scheme key, for cross-file references
    let prov_sets: HashMap<String, HashSet<String>> = schemes
        .iter()
        .map(|(_, s)| {
            (
                format!("{}@{}", &*s.id, &*s.version),
                s.provisions.iter().map(|p| p.id.to_string()).collect(),
            )
        })
        .collect();
    let level_sets: HashMap<String, HashSet<String>> = schemes
        .iter()
        .map(|(_, s)| {
            (
                format!("{}@{}", &*s.id, &*s.version),
                s.levels.iter().map(|l| l.id.to_string()).collect(),
            )
        })
        .collect();
    let check_ref = |file: &str, r: &Str, owner: &str, level: bool, d: &mut Diags| {
        let what = if level { "level" } else { "provision" };
        match split_ref(r) {
            None => d.push(
                file,
                r.line(),
                Some(owner),
                format!("`{r}` is not a reference of the form scheme@version#{what}"),
            ),
            Some((scheme, item)) => {
                let sets = if level { &level_sets } else { &prov_sets };
                if broken.contains(scheme) {
                    return;
                }
                match sets.get(scheme) {
                    None => d.push(
                        file,
                        r.line(),
                        Some(owner),
                        format!("`{r}` names scheme `{scheme}`, which is not in the catalog"),
                    ),
                    Some(set) if !set.contains(item) => d.push(
                        file,
                        r.line(),
                        Some(owner),
                        format!("`{r}`: scheme `{scheme}` has no {what} `{item}`"),
                    ),
                    _ => {}
                }
            }
        }
    };

    let mut built_schemes = Vec::new();
    for (file, s) in &schemes {
        let key = format!("{}@{}", &*s.id, &*s.version);
        if !s
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            d.push(
                file,
                s.id.line(),
                Some(&s.id),
                "scheme ids use lowercase letters, digits and `-`",
            );
        }
        if !jurisdictions.contains(&**s.jurisdiction) {
            d.push(
                file,
                s.jurisdiction.line(),
                Some(&key),
                format!("unknown jurisdiction `{}`", &*s.jurisdiction),
            );
        }
        let published = date_field(file, &key, "dates.published", &s.dates.published, &mut d);
        let in_force = date_field(file, &key, "dates.in_force", &s.dates.in_force, &mut d);
        let applies_from = date_field(
            file,
            &key,
            "dates.applies_from",
            &s.dates.applies_from,
            &mut d,
        );
        let ends = date_field(file, &key, "dates.ends", &s.dates.ends, &mut d);
        for c in &s.scope.includes {
            if !category_ids.contains(&**c) {
                d.push(
                    file,
                    c.line(),
                    Some(&key),
                    format!("scope includes unknown category `{c}`"),
                );
            }
        }
        let requires = s
            .scope
            .requires
            .as_ref()
            .and_then(|e| compile(e, &vocab, file, &key, "scope.requires", &mut d));
        let mut unless = Vec::new();
        for ex in &s.scope.excludes {
            for c in &ex.categories {
                if !category_ids.contains(&**c) {
                    d.push(
                        file,
                        c.line(),
                        Some(&key),
                        format!("scope excludes unknown category `{c}`"),
                    );
                }
            }
            unless.push(
                ex.unless
                    .as_ref()
                    .and_then(|e| compile(e, &vocab, file, &key, "scope.excludes.unless", &mut d)),
            );
        }
        let cond_ids = unique(
            file,
            "condition",
            s.conditions.iter().map(|c| &c.id),
            &mut d,
        );
        let mut conditions = HashMap::new();
        for c in &s.conditions {
            if let Some(e) = compile(&c.when, &vocab, file, &c.id, "when", &mut d) {
                conditions.insert(c.id.to_string(), e);
            }
        }
        let prov_ids = unique(
            file,
            "provision",
            s.provisions.iter().map(|p| &p.id),
            &mut d,
        );
        for p in &s.provisions {
            for c in &p.conditions {
                if !cond_ids.contains(&**c) {
                    d.push(
                        file,
                        c.line(),
                        Some(&p.id),
                        format!("condition `{c}` is not defined in this scheme's `conditions`"),
                    );
                }
            }
            for m in &p.outcomes {
                if !outcome_ids.contains(&**m.outcome) {
                    d.push(
                        file,
                        m.outcome.line(),
                        Some(&p.id),
                        format!("outcome `{}` does not exist", &*m.outcome),
                    );
                }
                match (*m.basis, &m.crosswalk) {
                    (Basis::Crosswalk, None) => d.push(
                        file,
                        m.basis.line(),
                        Some(&p.id),
                        "basis `crosswalk` needs `crosswalk:` naming it",
                    ),
                    (Basis::Official | Basis::Inferred, Some(_)) => d.push(
                        file,
                        m.basis.line(),
                        Some(&p.id),
                        "`crosswalk:` is only for basis `crosswalk`",
                    ),
                    _ => {}
                }
            }
            let mapped = !p.outcomes.is_empty();
            if mapped && p.unmapped_reason.is_some() {
                d.push(
                    file,
                    p.id.line(),
                    Some(&p.id),
                    "a provision with outcomes must not give `unmapped_reason`",
                );
            }
            if !mapped && p.unmapped_reason.is_none() && p.status != Status::Void {
                let sev = if s.kind == SchemeKind::MandatoryLaw {
                    "a provision of a mandatory law"
                } else {
                    "a provision"
                };
                d.push(
                    file,
                    p.id.line(),
                    Some(&p.id),
                    format!("{sev} must map to at least one outcome or give `unmapped_reason`"),
                );
            }
            for r in p.replaced_by.iter().filter(|r| !prov_ids.contains(&***r)) {
                d.push(
                    file,
                    r.line(),
                    Some(&p.id),
                    format!("replaced_by `{r}` is not a provision of this scheme"),
                );
            }
            if p.status == Status::Void && !p.outcomes.is_empty() {
                d.push(
                    file,
                    p.id.line(),
                    Some(&p.id),
                    "a void provision maps to no outcome",
                );
            }
            for route in &p.routes {
                if route.all_of.is_empty() == route.level.is_none() {
                    d.push(
                        file,
                        route.id.line(),
                        Some(&p.id),
                        "a route has either `all_of` or `level`",
                    );
                }
                for r in &route.all_of {
                    check_ref(file, r, &p.id, false, &mut d);
                }
                if let Some(l) = &route.level {
                    check_ref(file, l, &p.id, true, &mut d);
                }
            }
        }
        for ex in &s.scope.excludes {
            for pid in ex.provisions.iter().filter(|p| !prov_ids.contains(&***p)) {
                d.push(
                    file,
                    pid.line(),
                    Some(&key),
                    format!(
                        "scope.excludes names `{pid}`, which is not a provision of this scheme"
                    ),
                );
            }
        }
        let provision_derogations: Vec<Vec<usize>> = s
            .provisions
            .iter()
            .map(|p| {
                s.scope
                    .excludes
                    .iter()
                    .enumerate()
                    .filter(|(_, ex)| ex.provisions.contains(&p.id))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        for a in &s.authorities {
            if a.name.trim().is_empty() {
                d.push(file, s.id.line(), Some(&key), "an authority needs a name");
            }
        }
        let provision_applies: Vec<Option<Date>> = s
            .provisions
            .iter()
            .map(|p| {
                date_field(file, &p.id, "applies_from", &p.applies_from, &mut d)
                    .or(applies_from.or(in_force))
            })
            .collect();
        let route_effective: Vec<Vec<Option<Date>>> = s
            .provisions
            .iter()
            .map(|p| {
                p.routes
                    .iter()
                    .map(|r| date_field(file, &p.id, "routes.effective", &r.effective, &mut d))
                    .collect()
            })
            .collect();
        let level_ids = unique(file, "level", s.levels.iter().map(|l| &l.id), &mut d);
        let mut level_provs: Vec<Vec<usize>> = Vec::new();
        for (li, l) in s.levels.iter().enumerate() {
            let mut set: Vec<usize> = Vec::new();
            for inc in &l.includes {
                match s.levels.iter().position(|x| x.id == *inc) {
                    Some(j) if j < li => set.extend(level_provs[j].iter().copied()),
                    Some(_) => d.push(
                        file,
                        inc.line(),
                        Some(&l.id),
                        format!("level `{inc}` must be listed before the level that includes it"),
                    ),
                    None => d.push(
                        file,
                        inc.line(),
                        Some(&l.id),
                        format!("includes unknown level `{inc}`"),
                    ),
                }
            }
            for pid in &l.provisions {
                match s.provisions.iter().position(|p| p.id == *pid) {
                    Some(j) => set.push(j),
                    None => d.push(
                        file,
                        pid.line(),
                        Some(&l.id),
                        format!("level lists unknown provision `{pid}`"),
                    ),
                }
            }
            for (j, p) in s.provisions.iter().enumerate() {
                // a provision whose status is not established may be mandatory: a level of
                // "every mandatory provision" counts it, as conformance does
                let take = match p.status {
                    Status::Mandatory | Status::Unknown => l.all_mandatory || l.all_provisions,
                    Status::Recommended => l.all_provisions,
                    _ => false,
                };
                if take {
                    set.push(j);
                }
            }
            set.sort_unstable();
            set.dedup();
            level_provs.push(set);
        }
        let _ = level_ids;
        let (class_when, route_when) = product_classes(file, &key, s, &vocab, &mut d);
        if let Some(pc) = &s.product_classes {
            for c in &pc.classes {
                for r in &c.routes {
                    if let Some(l) = &r.level {
                        check_ref(file, l, &r.id, true, &mut d);
                    }
                }
            }
        }
        built_schemes.push(Scheme {
            key,
            file: file.clone(),
            def: s.clone(),
            published,
            in_force,
            applies_from,
            ends,
            requires,
            unless,
            conditions,
            level_provisions: level_provs,
            provision_outcomes: Vec::new(),
            provision_conditions: Vec::new(),
            route_effective,
            provision_applies,
            provision_derogations,
            class_when,
            route_when,
        });
    }

    // --- tiers
    let tier_ids = unique(
        &tf,
        "tier",
        tiers
            .tiers
            .iter()
            .chain(tiers.profiles.iter())
            .map(|t| &t.id),
        &mut d,
    );
    let mut built_tiers = Vec::new();
    let mut built_profiles = Vec::new();
    for (is_profile, list) in [(false, &tiers.tiers), (true, &tiers.profiles)] {
        for (ti, t) in list.iter().enumerate() {
            let mut set: Vec<usize> = Vec::new();
            for inc in &t.includes {
                let prior: &Vec<Tier> = &built_tiers;
                match prior.iter().find(|x| x.def.id == *inc) {
                    Some(x) => set.extend(x.outcomes.iter().copied()),
                    None if tier_ids.contains(&**inc) => d.push(
                        &tf,
                        inc.line(),
                        Some(&t.id),
                        format!("tier `{inc}` must be defined before the one that includes it"),
                    ),
                    None => d.push(
                        &tf,
                        inc.line(),
                        Some(&t.id),
                        format!("includes unknown tier `{inc}`"),
                    ),
                }
            }
            for o in &t.outcomes {
                match outcome_index.get(&***o) {
                    Some(&i) => set.push(i),
                    None if outcome_ids.contains(&***o) => {} // its check failed to compile: reported already
                    None => d.push(
                        &tf,
                        o.line(),
                        Some(&t.id),
                        format!("outcome `{o}` does not exist"),
                    ),
                }
            }
            set.sort_unstable();
            set.dedup();
            let mut label_from = Vec::new();
            for l in &t.labels {
                check_ref(&tf, &l.level, &t.id, true, &mut d);
                label_from.push(date_field(&tf, &t.id, "labels.from", &l.from, &mut d));
            }
            let tier = Tier {
                def: t.clone(),
                outcomes: set,
                rank: ti,
                label_from,
            };
            if is_profile {
                built_profiles.push(tier);
            } else {
                built_tiers.push(tier);
            }
        }
    }

    // --- recognition
    let mut built_recog = Vec::new();
    if let Some((rf, recog)) = &recog {
        unique(
            rf,
            "recognition",
            recog.recognitions.iter().map(|r| &r.id),
            &mut d,
        );
        for r in &recog.recognitions {
            check_ref(rf, &r.from, &r.id, true, &mut d);
            check_ref(rf, &r.to, &r.id, true, &mut d);
            if let Some(sc) = &r.scope {
                for c in &sc.categories {
                    if !category_ids.contains(&**c) {
                        d.push(
                            rf,
                            c.line(),
                            Some(&r.id),
                            format!("scope names unknown category `{c}`"),
                        );
                    }
                }
            }
            if let Some((to_scheme, _)) = split_ref(&r.to) {
                if let Some(set) = prov_sets.get(to_scheme) {
                    for pid in r.provisions.iter().filter(|p| !set.contains(&***p)) {
                        d.push(
                            rf,
                            pid.line(),
                            Some(&r.id),
                            format!("provision `{pid}` is not a provision of `{to_scheme}`"),
                        );
                    }
                }
            }
            let signed = date_field(rf, &r.id, "signed", &r.signed, &mut d);
            let effective = date_field(rf, &r.id, "effective", &r.effective, &mut d);
            let ends = date_field(rf, &r.id, "ends", &r.ends, &mut d);
            built_recog.push(Recognition {
                def: r.clone(),
                signed,
                effective,
                ends,
            });
        }
    }

    // --- crosswalks
    for (file, cw) in &crosswalks {
        for rel in &cw.relations {
            check_ref(file, &rel.from, &rel.from, false, &mut d);
            check_ref(file, &rel.to, &rel.from, false, &mut d);
            match (*rel.basis, &rel.crosswalk) {
                (Basis::Crosswalk, None) => d.push(
                    file,
                    rel.basis.line(),
                    Some(&rel.from),
                    "basis `crosswalk` needs `crosswalk:` naming it",
                ),
                (Basis::Official | Basis::Inferred, Some(_)) => d.push(
                    file,
                    rel.basis.line(),
                    Some(&rel.from),
                    "`crosswalk:` is only for basis `crosswalk`",
                ),
                _ => {}
            }
        }
    }

    // --- documents
    check_documents(&documents, &scheme_keys, &broken, &outcome_ids, &mut d);

    if !d.list.is_empty() {
        d.list
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        return Err(CatalogError::Invalid(d.list));
    }
    built_schemes.sort_by(|a, b| a.key.cmp(&b.key));
    documents.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    Ok(Catalog::assemble(
        meta,
        catalog_date,
        cats.categories,
        facts.facts,
        vocab,
        compiled_outcomes,
        built_schemes,
        built_tiers,
        built_profiles,
        built_recog,
        crosswalks,
        documents.into_iter().map(|(_, v)| v).collect(),
    ))
}

/// The documents' references (schemes, outcomes, fields), dates and items; forms of one kind
/// must not overlap in time, so the evaluation date chooses one.
fn check_documents(
    documents: &[(String, DocumentDef)],
    scheme_keys: &HashMap<String, (String, usize)>,
    broken: &HashSet<String>,
    outcome_ids: &HashSet<String>,
    d: &mut Diags,
) {
    // (kind, from, until, id, file, line) of each form
    type Span<'a> = (
        DocumentKind,
        Option<Date>,
        Option<Date>,
        &'a str,
        &'a str,
        usize,
    );
    let mut spans: Vec<Span<'_>> = Vec::new();
    for (file, doc) in documents {
        let id = doc.id.as_str();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            d.push(
                file,
                doc.id.line(),
                Some(id),
                "document ids use lowercase letters, digits and `-`",
            );
        }
        // a scheme whose file did not parse is reported there, not again here
        if !scheme_keys.contains_key(doc.scheme.as_str()) && !broken.contains(doc.scheme.as_str()) {
            d.push(
                file,
                doc.scheme.line(),
                Some(id),
                format!(
                    "scheme `{}` is not in the catalog (write `scheme@version`)",
                    &*doc.scheme
                ),
            );
        }
        let from = date_field(file, id, "applies_from", &doc.applies_from, d);
        let until = date_field(file, id, "applies_until", &doc.applies_until, d);
        if let (Some(f), Some(u)) = (from, until) {
            if u < f {
                d.push(
                    file,
                    doc.id.line(),
                    Some(id),
                    format!("applies_until {u} is before applies_from {f}"),
                );
            }
        }
        spans.push((*doc.kind, from, until, id, file, doc.kind.line()));
        for o in &doc.satisfies {
            if !outcome_ids.contains(o.as_str()) {
                d.push(
                    file,
                    o.line(),
                    Some(id),
                    format!("satisfies: unknown outcome `{o}`"),
                );
            }
        }
        if doc.items.is_empty() {
            d.push(
                file,
                doc.id.line(),
                Some(id),
                "a document needs at least one item",
            );
        }
        unique(file, "item", doc.items.iter().map(|i| &i.id), d);
        for item in &doc.items {
            let v = &item.value;
            let at = v.from.line();
            let owner = format!("{id}#{}", &*item.id);
            let fields = value_fields(*v.from);
            match (*v.from, &v.field) {
                (ValueSource::Outcomes | ValueSource::Text, Some(f)) => d.push(
                    file,
                    f.line(),
                    Some(&owner),
                    format!("value from `{}` takes no `field`", *v.from),
                ),
                (ValueSource::Outcomes | ValueSource::Text, None) => {}
                (_, None) => d.push(
                    file,
                    at,
                    Some(&owner),
                    format!(
                        "value from `{}` needs a `field`: one of {}",
                        *v.from,
                        fields.join(", ")
                    ),
                ),
                (_, Some(f)) if !fields.contains(&f.as_str()) => d.push(
                    file,
                    f.line(),
                    Some(&owner),
                    format!(
                        "unknown {} field `{f}`: one of {}",
                        *v.from,
                        fields.join(", ")
                    ),
                ),
                _ => {}
            }
            match (*v.from, v.outcomes.is_empty()) {
                (ValueSource::Outcomes, true) => d.push(
                    file,
                    at,
                    Some(&owner),
                    "value from `outcomes` needs a list `outcomes`",
                ),
                (ValueSource::Outcomes, false) => {}
                (_, false) => d.push(
                    file,
                    at,
                    Some(&owner),
                    "`outcomes` is only for a value from `outcomes`",
                ),
                _ => {}
            }
            for o in &v.outcomes {
                if !outcome_ids.contains(o.as_str()) {
                    d.push(
                        file,
                        o.line(),
                        Some(&owner),
                        format!("unknown outcome `{o}`"),
                    );
                }
            }
            match (*v.from, v.text.as_deref()) {
                (ValueSource::Text, None) => {
                    d.push(file, at, Some(&owner), "value from `text` needs `text`")
                }
                (ValueSource::Text, Some(t)) if t.trim().is_empty() => {
                    d.push(file, at, Some(&owner), "`text` is empty")
                }
                (ValueSource::Text, Some(_)) | (_, None) => {}
                (_, Some(_)) => d.push(
                    file,
                    at,
                    Some(&owner),
                    "`text` is only for a value from `text`",
                ),
            }
        }
    }
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if a.0 != b.0 {
                continue;
            }
            let before =
                |x: Option<Date>, y: Option<Date>| matches!((x, y), (Some(x), Some(y)) if x < y);
            // [a.from, a.until] and [b.from, b.until] are disjoint when one ends before the other starts
            let disjoint = before(a.2, b.1) || before(b.2, a.1);
            if !disjoint {
                d.push(
                    b.4,
                    b.5,
                    Some(b.3),
                    format!("document `{}` of kind `{}` overlaps in time with `{}` ({}): give one `applies_until` before the other's `applies_from`", b.3, b.0, a.3, a.4),
                );
            }
        }
    }
}
