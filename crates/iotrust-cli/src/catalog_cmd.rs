//! `iotrust catalog ...`

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Subcommand, ValueEnum};
use iotrust_catalog::model::ProvisionDef;
use iotrust_catalog::obligation::mapping_label;
use iotrust_catalog::{crosswalk, diff, oscal, schema, Catalog, CatalogError, Scheme};
use serde_json::json;

use crate::exit;
use crate::output::{emit, emit_json, Format, Table};

#[derive(Subcommand)]
pub enum CatalogCmd {
    /// List the schemes in the catalog.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show a scheme (`etsi-en-303-645`, `etsi-en-303-645@2.1.1`) or one of its provisions.
    Show {
        scheme: String,
        provision: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// List iotrust's outcomes, or show one with every provision that maps onto it.
    Outcomes {
        id: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// The fact vocabulary checks are written in.
    Facts {
        #[arg(long, value_enum, default_value_t)]
        format: FactsFormat,
    },
    /// Relate the provisions of two schemes (published relations, legal routes, shared outcomes).
    Crosswalk {
        a: String,
        b: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Mutual-recognition arrangements, all or those touching one scheme.
    Recognition {
        scheme: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// What changed between two versions of a scheme (`diff A B`), or between two whole
    /// catalogs (`diff --from DIR [--to DIR]`; `--to` defaults to the catalog in use).
    Diff {
        a: Option<String>,
        b: Option<String>,
        /// Older catalog directory: compare it, item by item, with the newer one.
        #[arg(long, conflicts_with_all = ["a", "b"])]
        from: Option<PathBuf>,
        /// Newer catalog directory (default: --catalog, else the embedded catalog).
        #[arg(long, requires = "from")]
        to: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Check catalog data and report every error (file, line, id); exit 1 when there are any.
    Validate {
        /// Catalog directory (default: the one given by --catalog, else the embedded catalog).
        dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Export the catalog in another format.
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write the JSON Schemas of the catalog files, profiles and labels into a directory.
    Schema { dir: PathBuf },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum FactsFormat {
    #[default]
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// OSCAL 1.1 catalog (JSON).
    Oscal,
    /// OSCAL 1.2 mapping collection (JSON): provisions onto outcomes, and provision-to-provision
    /// crosswalks, naming the controls of the `oscal` export.
    OscalMapping,
}

/// Load the catalog the user asked for, with every error on stderr.
pub fn load(dir: Option<&Path>) -> anyhow::Result<Catalog> {
    let res = match dir {
        Some(d) => Catalog::from_dir(d),
        None => Catalog::embedded(),
    };
    res.map_err(|e| match e {
        CatalogError::Invalid(diags) => {
            let list: Vec<String> = diags.iter().map(|d| format!("  {d}")).collect();
            anyhow!(
                "the catalog is invalid ({} error(s)):\n{}",
                diags.len(),
                list.join("\n")
            )
        }
        other => anyhow!(other),
    })
}

fn scheme<'c>(cat: &'c Catalog, name: &str) -> anyhow::Result<&'c Scheme> {
    cat.find_scheme(name).ok_or_else(|| {
        let mut ids: Vec<&str> = cat.schemes.iter().map(|s| s.def.id.as_str()).collect();
        ids.dedup();
        anyhow!(
            "no scheme `{name}` in the catalog (known: {})",
            ids.join(", ")
        )
    })
}

pub fn run(catalog_dir: Option<&Path>, cmd: CatalogCmd) -> anyhow::Result<u8> {
    if let CatalogCmd::Validate { dir, format } = &cmd {
        return validate(dir.as_deref().or(catalog_dir), *format);
    }
    let cat = load(catalog_dir)?;
    match cmd {
        CatalogCmd::List { format } => list(&cat, format)?,
        CatalogCmd::Show {
            scheme: s,
            provision,
            format,
        } => show(&cat, &s, provision.as_deref(), format)?,
        CatalogCmd::Outcomes { id, format } => outcomes(&cat, id.as_deref(), format)?,
        CatalogCmd::Facts { format } => facts(&cat, format)?,
        CatalogCmd::Crosswalk { a, b, format } => {
            let cw = crosswalk::crosswalk(&cat, scheme(&cat, &a)?, scheme(&cat, &b)?);
            if format == Format::Json {
                emit_json(&cw)?;
            } else {
                let mut t = Table::new(&[
                    "FROM", "FROM IS", "TO", "TO IS", "RELATION", "STRENGTH", "CONF", "VIA",
                ]);
                let is = |o: Option<iotrust_catalog::Obligation>| {
                    o.map(|o| o.to_string()).unwrap_or_else(|| "?".into())
                };
                for r in &cw.relations {
                    t.row(vec![
                        r.from.clone(),
                        is(r.from_obligation),
                        r.to.clone(),
                        is(r.to_obligation),
                        r.relation.clone(),
                        r.strength.to_string(),
                        format!("{}", r.confidence),
                        r.via.clone(),
                    ]);
                }
                let head = format!(
                    "{} -> {}: {} relation(s)\n\n",
                    cw.from,
                    cw.to,
                    cw.relations.len()
                );
                emit(&(head + &t.render()))?;
            }
        }
        CatalogCmd::Recognition { scheme: s, format } => recognition(&cat, s.as_deref(), format)?,
        CatalogCmd::Diff {
            from: Some(from),
            to,
            format,
            ..
        } => {
            let old = load(Some(&from))?;
            let new = match &to {
                Some(d) => load(Some(d))?,
                None => cat,
            };
            catalog_diff(&old, &new, format)?;
        }
        CatalogCmd::Diff {
            a: Some(a),
            b: Some(b),
            format,
            ..
        } => {
            let (sa, sb) = (scheme(&cat, &a)?, scheme(&cat, &b)?);
            let d = diff::diff(sa, sb);
            if format == Format::Json {
                emit_json(&d)?;
            } else {
                let mut s = format!(
                    "{} ({} provisions) -> {} ({} provisions): {} added, {} removed, {} changed\n\n",
                    d.from,
                    d.from_count,
                    d.to,
                    d.to_count,
                    d.count(diff::ChangeKind::Added),
                    d.count(diff::ChangeKind::Removed),
                    d.count(diff::ChangeKind::Changed)
                );
                let mut t = Table::new(&["", "PROVISION", "TITLE", "DETAILS"]);
                for c in &d.changes {
                    let mark = match c.kind {
                        diff::ChangeKind::Added => "+",
                        diff::ChangeKind::Removed => "-",
                        diff::ChangeKind::Changed => "~",
                    };
                    t.row(vec![
                        mark.into(),
                        c.provision.clone(),
                        c.title.clone(),
                        c.details.join("; "),
                    ]);
                }
                s.push_str(&t.render());
                emit(&s)?;
            }
        }
        CatalogCmd::Diff { .. } => {
            bail!("give two scheme versions (`catalog diff A B`) or a catalog directory (`catalog diff --from DIR`)")
        }
        CatalogCmd::Export { format, output } => {
            let doc = match format {
                ExportFormat::Oscal => oscal::export(&cat),
                ExportFormat::OscalMapping => oscal::mappings(&cat),
            };
            let text = serde_json::to_string_pretty(&doc)? + "\n";
            match output {
                Some(p) => std::fs::write(&p, text)
                    .with_context(|| format!("cannot write {}", p.display()))?,
                None => emit(&text)?,
            }
        }
        CatalogCmd::Schema { dir } => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let profile = iotrust_assess::profile::json_schema(&cat);
            let label = iotrust_label::document::json_schema();
            let extra = [
                ("profile.schema.json", profile),
                ("label.schema.json", label),
            ];
            for (name, value) in schema::all().into_iter().chain(extra) {
                let p = dir.join(name);
                std::fs::write(&p, serde_json::to_string_pretty(&value)? + "\n")
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
        }
        CatalogCmd::Validate { .. } => unreachable!("handled above"),
    }
    Ok(exit::OK)
}

/// `catalog diff --from DIR`: every item that differs between two catalogs.
fn catalog_diff(old: &Catalog, new: &Catalog, format: Format) -> anyhow::Result<()> {
    let d = diff::catalog_diff(old, new);
    if format == Format::Json {
        return emit_json(&d);
    }
    let mut s = format!(
        "catalog {} -> {}: {} added, {} removed, {} changed\n",
        d.from_version,
        d.to_version,
        d.count(diff::ChangeKind::Added),
        d.count(diff::ChangeKind::Removed),
        d.count(diff::ChangeKind::Changed)
    );
    for c in &d.changes {
        let mark = match c.kind {
            diff::ChangeKind::Added => "+",
            diff::ChangeKind::Removed => "-",
            diff::ChangeKind::Changed => "~",
        };
        let _ = writeln!(s, "\n{mark} {}", c.item);
        for line in &c.details {
            let _ = writeln!(s, "    {line}");
        }
    }
    emit(&s)
}

fn validate(dir: Option<&Path>, format: Format) -> anyhow::Result<u8> {
    let res = match dir {
        Some(d) => Catalog::from_dir(d),
        None => Catalog::embedded(),
    };
    let where_ = dir
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "embedded catalog".into());
    match res {
        Ok(cat) => {
            let provisions: usize = cat
                .schemes
                .iter()
                .map(|s| s.live_provisions().count())
                .sum();
            if format == Format::Json {
                emit_json(
                    &json!({"valid": true, "catalog": where_, "version": cat.version(),
                    "schemes": cat.schemes.len(), "provisions": provisions, "outcomes": cat.outcomes.len(), "errors": []}),
                )?;
            } else {
                emit(&format!(
                    "{where_}: valid (catalog {}, {} schemes, {} provisions, {} outcomes, {} facts)\n",
                    cat.version(),
                    cat.schemes.len(),
                    provisions,
                    cat.outcomes.len(),
                    cat.facts.len()
                ))?;
            }
            Ok(exit::OK)
        }
        Err(CatalogError::Invalid(diags)) => {
            if format == Format::Json {
                emit_json(&json!({"valid": false, "catalog": where_, "errors": diags}))?;
            } else {
                let mut s = String::new();
                for d in &diags {
                    let _ = writeln!(s, "error: {d}");
                }
                let _ = writeln!(s, "{where_}: {} error(s)", diags.len());
                emit(&s)?;
            }
            Ok(exit::GATE)
        }
        Err(e) => Err(e.into()),
    }
}

fn date(d: Option<jiff::civil::Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
}

fn list(cat: &Catalog, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        let v: Vec<_> = cat
            .schemes
            .iter()
            .map(|s| {
                json!({"scheme": s.key, "id": s.def.id, "version": s.def.version, "title": s.def.title,
                    "kind": s.def.kind, "jurisdiction": s.def.jurisdiction, "status": s.def.status,
                    "provisions": s.live_provisions().count(), "levels": s.def.levels.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
                    "dates": s.def.dates})
            })
            .collect();
        return emit_json(&json!({"catalog_version": cat.version(), "schemes": v}));
    }
    let mut t = Table::new(&[
        "SCHEME",
        "KIND",
        "JUR",
        "STATUS",
        "APPLIES FROM",
        "PROV",
        "LEVELS",
        "TITLE",
    ]);
    for s in &cat.schemes {
        let levels: Vec<&str> = s.def.levels.iter().map(|l| l.id.as_str()).collect();
        t.row(vec![
            s.key.clone(),
            s.def.kind.to_string(),
            s.def.jurisdiction.to_string(),
            s.def.status.to_string(),
            date(s.applies_from.or(s.in_force).or(s.published)),
            s.live_provisions().count().to_string(),
            levels.join(" "),
            s.def.title.clone(),
        ]);
    }
    emit(&format!(
        "catalog {} ({} schemes)\n\n{}",
        cat.version(),
        cat.schemes.len(),
        t.render()
    ))
}

fn show(cat: &Catalog, name: &str, provision: Option<&str>, format: Format) -> anyhow::Result<()> {
    let s = scheme(cat, name)?;
    if let Some(pid) = provision {
        let p = s
            .provision(pid)
            .ok_or_else(|| anyhow!("scheme `{}` has no provision `{pid}`", s.key))?;
        if format == Format::Json {
            let mut v = serde_json::to_value(p)?;
            with_obligation(&mut v, s, p);
            return emit_json(&json!({"scheme": s.key, "provision": v}));
        }
        let mut o = String::new();
        let _ = writeln!(o, "{} {}  {}", s.key, &*p.id, p.title);
        let _ = writeln!(o, "  status:  {}", Scheme::status_notation(p));
        for c in &p.conditions {
            if let Some(def) = s.def.conditions.iter().find(|d| d.id == *c) {
                let _ = writeln!(
                    o,
                    "           {}: {} (when {})",
                    &*def.id, def.meaning, &*def.when
                );
            }
        }
        let _ = writeln!(o, "  obligation: {}", s.obligation(p));
        let _ = writeln!(
            o,
            "  mapping: {}",
            mapping_label(iotrust_catalog::mapping_basis(p))
        );
        let _ = writeln!(o, "  phase:   {}", p.phase);
        if let Some(c) = &p.clause {
            let _ = writeln!(o, "  clause:  {c}");
        }
        if !p.known {
            let _ = writeln!(o, "  content: not established");
        }
        let _ = writeln!(o, "  outcomes:");
        for m in &p.outcomes {
            let via = m
                .crosswalk
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "    - {} [{}{via}; {}] {}",
                &*m.outcome, *m.basis, m.source.confidence, m.source.reference
            );
        }
        if let Some(r) = &p.unmapped_reason {
            let _ = writeln!(o, "    (none: {r})");
        }
        for r in &p.routes {
            let target = if r.all_of.is_empty() {
                r.level.as_ref().map(|l| l.to_string()).unwrap_or_default()
            } else {
                r.all_of
                    .iter()
                    .map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(" + ")
            };
            let _ = writeln!(
                o,
                "  route {}: {} = {target} [{}]",
                &*r.id, r.title, r.source.confidence
            );
        }
        if !p.replaces.is_empty() {
            let _ = writeln!(
                o,
                "  replaces: {}",
                p.replaces
                    .iter()
                    .map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !p.replaced_by.is_empty() {
            let _ = writeln!(
                o,
                "  replaced by: {}",
                p.replaced_by
                    .iter()
                    .map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if let Some(n) = &p.note {
            let _ = writeln!(o, "  note:    {n}");
        }
        let src = p.source.as_ref().unwrap_or(&s.def.source);
        let _ = writeln!(o, "  source:  {} [{}]", src.reference, src.confidence);
        return emit(&o);
    }
    if format == Format::Json {
        let mut def = serde_json::to_value(&s.def)?;
        if let Some(ps) = def.get_mut("provisions").and_then(|v| v.as_array_mut()) {
            for (v, p) in ps.iter_mut().zip(&s.def.provisions) {
                with_obligation(v, s, p);
            }
        }
        let recs: Vec<_> = recognitions_of(cat, s).iter().map(|r| &r.def).collect();
        return emit_json(&json!({"scheme": s.key, "definition": def, "recognitions": recs}));
    }
    let mut o = String::new();
    let _ = writeln!(o, "{}  {}", s.key, s.def.title);
    let _ = writeln!(
        o,
        "  kind: {}   jurisdiction: {}   publisher: {}   status: {}",
        s.def.kind, &*s.def.jurisdiction, s.def.publisher, s.def.status
    );
    if let Some(n) = &s.def.status_note {
        let _ = writeln!(o, "  status note: {n}");
    }
    let _ = writeln!(
        o,
        "  published: {}   in force: {}   applies from: {}   ends: {}",
        date(s.published),
        date(s.in_force),
        date(s.applies_from),
        date(s.ends)
    );
    let _ = writeln!(
        o,
        "  source: {} [{}]",
        s.def.source.reference, s.def.source.confidence
    );
    for a in &s.def.authorities {
        let count = a.count.map(|n| format!(" ({n})")).unwrap_or_default();
        let basis = a
            .basis
            .as_ref()
            .map(|b| format!(", under {b}"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {}: {}{count}{basis} [{:?}: {}]",
            authority_role(a.role),
            a.name,
            a.source.confidence,
            a.source.reference
        );
    }
    let inc: Vec<&str> = s.def.scope.includes.iter().map(|c| c.as_str()).collect();
    let _ = writeln!(o, "  scope: {}", inc.join(", "));
    for ex in &s.def.scope.excludes {
        let cats: Vec<&str> = ex.categories.iter().map(|c| c.as_str()).collect();
        let unless = ex
            .unless
            .as_ref()
            .map(|u| format!(" unless {}", &**u))
            .unwrap_or_default();
        let src = ex
            .source
            .as_ref()
            .map(|x| format!(" [{:?}: {}]", x.confidence, x.reference))
            .unwrap_or_default();
        if ex.provisions.is_empty() {
            let _ = writeln!(
                o,
                "    excludes {}{unless}: {}{src}",
                cats.join(", "),
                ex.reason
            );
        } else {
            // a derogation: the scheme applies to these categories, minus the provisions named
            let provs: Vec<&str> = ex.provisions.iter().map(|p| p.as_str()).collect();
            let _ = writeln!(
                o,
                "    derogation for {}{unless}: not {}: {}{src}",
                cats.join(", "),
                provs.join(", "),
                ex.reason
            );
        }
    }
    for r in recognitions_of(cat, s) {
        let when = r
            .def
            .effective
            .as_ref()
            .or(r.def.signed.as_ref())
            .map(|d| format!(" from {}", &**d))
            .unwrap_or_default();
        let ends = r
            .def
            .ends
            .as_ref()
            .map(|d| format!(" until {}", &**d))
            .unwrap_or_default();
        let covers = if r.def.provisions.is_empty() {
            "the whole level".to_string()
        } else {
            let p: Vec<&str> = r.def.provisions.iter().map(|p| p.as_str()).collect();
            format!("provisions {} only", p.join(", "))
        };
        let scope = r
            .def
            .scope
            .as_ref()
            .map(|sc| {
                let c: Vec<&str> = sc.categories.iter().map(|c| c.as_str()).collect();
                format!(", for {}", c.join(", "))
            })
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  recognition {} ({}): {} -> {}{when}{ends}; covers {covers}{scope} [{:?}: {}]",
            &*r.def.id,
            r.def.kind,
            r.def.from,
            r.def.to,
            r.def.source.confidence,
            r.def.source.reference
        );
    }
    let mandatory = s
        .live_provisions()
        .filter(|p| p.status == iotrust_catalog::model::Status::Mandatory)
        .count();
    let recommended = s
        .live_provisions()
        .filter(|p| p.status == iotrust_catalog::model::Status::Recommended)
        .count();
    let _ = writeln!(
        o,
        "  provisions: {} ({mandatory} mandatory, {recommended} recommended)",
        s.live_provisions().count()
    );
    for (i, l) in s.def.levels.iter().enumerate() {
        let n = s.level_provisions.get(i).map(|v| v.len()).unwrap_or(0);
        let _ = writeln!(
            o,
            "  level {}: {} [{}; {n} provisions; {}]",
            &*l.id, l.title, l.assurance, l.completeness
        );
    }
    if let Some(pc) = &s.def.product_classes {
        for c in &pc.classes {
            let cats: Vec<&str> = c.categories.iter().map(|x| x.id.as_str()).collect();
            let routes: Vec<String> = c
                .routes
                .iter()
                .map(|r| format!("{} ({})", &*r.id, r.availability))
                .collect();
            let _ = writeln!(
                o,
                "  class {}: {}{} [{:?}]\n    routes: {}",
                &*c.id,
                c.title,
                if cats.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", cats.join(", "))
                },
                c.source.confidence,
                routes.join(", ")
            );
        }
    }
    let _ = writeln!(o);
    let mut t = Table::new(&[
        "ID",
        "STATUS",
        "OBLIGATION",
        "MAPPING",
        "PHASE",
        "OUTCOMES",
        "TITLE",
    ]);
    for p in &s.def.provisions {
        let outs: Vec<&str> = p.outcomes.iter().map(|m| m.outcome.as_str()).collect();
        let title = if p.known {
            p.title.clone()
        } else {
            format!("{} (content not established)", p.title)
        };
        t.row(vec![
            p.id.to_string(),
            Scheme::status_notation(p),
            s.obligation(p).to_string(),
            mapping_label(iotrust_catalog::mapping_basis(p)),
            p.phase.to_string(),
            outs.join(" "),
            title,
        ]);
    }
    o.push_str(&t.render());
    for u in &s.def.unknowns {
        let _ = writeln!(
            o,
            "unknown: {}{}",
            u.what,
            u.known
                .as_ref()
                .map(|k| format!(" (known: {k})"))
                .unwrap_or_default()
        );
    }
    emit(&o)
}

/// The recognition arrangements in which a level of scheme `s` is held or obtained.
fn recognitions_of<'c>(cat: &'c Catalog, s: &Scheme) -> Vec<&'c iotrust_catalog::Recognition> {
    let prefix = format!("{}#", s.key);
    cat.recognitions
        .iter()
        .filter(|r| r.def.from.starts_with(&prefix) || r.def.to.starts_with(&prefix))
        .collect()
}

fn authority_role(r: iotrust_catalog::model::AuthorityRole) -> &'static str {
    use iotrust_catalog::model::AuthorityRole as R;
    match r {
        R::Enforcer => "enforcer",
        R::MarketSurveillance => "market surveillance",
        R::Administrator => "administrator",
        R::LeadAdministrator => "lead administrator",
        R::TestLab => "test lab",
    }
}

/// Add the derived `obligation` and `mapping_basis` to a provision's JSON object.
fn with_obligation(v: &mut serde_json::Value, s: &Scheme, p: &ProvisionDef) {
    if let Some(m) = v.as_object_mut() {
        m.insert("obligation".into(), json!(s.obligation(p)));
        m.insert(
            "mapping_basis".into(),
            json!(iotrust_catalog::mapping_basis(p)),
        );
    }
}

fn outcomes(cat: &Catalog, id: Option<&str>, format: Format) -> anyhow::Result<()> {
    if let Some(id) = id {
        let (_, o) = cat
            .outcome(id)
            .ok_or_else(|| anyhow!("no outcome `{id}`"))?;
        let maps = cat.provisions_for_outcome(id);
        if format == Format::Json {
            let provs: Vec<_> = maps
                .iter()
                .map(|(s, p, m)| json!({"scheme": s.key, "provision": p.id, "status": p.status, "obligation": s.obligation(p), "basis": m.basis, "confidence": m.source.confidence, "source": m.source.reference}))
                .collect();
            return emit_json(&json!({"outcome": o.def, "provisions": provs}));
        }
        let mut s = String::new();
        let _ = writeln!(s, "{}  {}", &*o.def.id, o.def.title);
        let phases: Vec<String> = o.def.phases.iter().map(|p| p.to_string()).collect();
        let _ = writeln!(s, "  phases: {}", phases.join(", "));
        if let Some(a) = &o.def.applies_when {
            let _ = writeln!(s, "  applies when: {}", &**a);
        }
        let _ = writeln!(s, "  check: {}", &*o.def.check);
        let _ = writeln!(s, "  provisions ({}):", maps.len());
        let mut t = Table::new(&[
            "SCHEME",
            "PROVISION",
            "STATUS",
            "OBLIGATION",
            "BASIS",
            "CONF",
        ]);
        for (sc, p, m) in maps {
            t.row(vec![
                sc.key.clone(),
                p.id.to_string(),
                Scheme::status_notation(p),
                sc.obligation(p).to_string(),
                m.basis.to_string(),
                format!("{}", m.source.confidence),
            ]);
        }
        s.push_str(&t.render());
        return emit(&s);
    }
    if format == Format::Json {
        let v: Vec<_> = cat
            .outcomes
            .iter()
            .map(|o| json!({"outcome": o.def, "provisions": cat.provisions_for_outcome(&o.def.id).len()}))
            .collect();
        return emit_json(&json!({"catalog_version": cat.version(), "outcomes": v}));
    }
    let mut t = Table::new(&["OUTCOME", "PHASES", "PROV", "TITLE"]);
    for o in &cat.outcomes {
        let phases: Vec<String> = o.def.phases.iter().map(|p| p.to_string()).collect();
        t.row(vec![
            o.def.id.to_string(),
            phases.join(","),
            cat.provisions_for_outcome(&o.def.id).len().to_string(),
            o.def.title.clone(),
        ]);
    }
    emit(&format!(
        "{} outcomes\n\n{}",
        cat.outcomes.len(),
        t.render()
    ))
}

/// The fact vocabulary; `--format markdown` is docs/facts.md.
pub fn facts_markdown(cat: &Catalog) -> String {
    let mut s = String::from(
        "# Facts — the vocabulary of iotrust checks\n\n\
         <!-- generated by `iotrust catalog facts --format markdown`; a test keeps it current -->\n\n\
         A profile supplies facts about a product; the catalog's checks, conditions and scope rules\n\
         read them. A fact nobody supplied is *unknown*, and so is every verdict that needs it.\n\
         Each fact's value carries its strength: declared < documented < tested < lab-tested.\n\
         Facts describe mechanisms a maker can observe (how passwords are made and stored, what\n\
         happens after failed logins, which algorithm signs updates); whether that is good enough\n\
         is the catalog's judgement, in each outcome's check. `iotrust-profile/1` facts that were\n\
         replaced are listed in docs/profile.md.\n\n",
    );
    let mut section = "";
    for f in &cat.facts {
        let prefix = f.id.split('.').next().unwrap_or("");
        if prefix != section {
            section = prefix;
            let _ = writeln!(
                s,
                "\n## `{prefix}.*`\n\n| fact | type | meaning |\n|---|---|---|"
            );
        }
        let ty = match (&f.values_from, f.values.is_empty()) {
            (Some(v), _) => format!("{} (values: {})", f.kind, &**v),
            (None, false) => format!("{}: {}", f.kind, f.values.join(", ")),
            _ => f.kind.to_string(),
        };
        let derived = match f.derived {
            Some(iotrust_catalog::model::Derived::Interfaces) => {
                " *Derived from the `[[interface]]` table when the profile has one.*"
            }
            Some(iotrust_catalog::model::Derived::Communications) => {
                " *Derived from the `[[communication]]` table when the profile has one.*"
            }
            None => "",
        };
        let _ = writeln!(s, "| `{}` | {ty} | {}{derived} |", &*f.id, f.title);
    }
    s
}

fn facts(cat: &Catalog, format: FactsFormat) -> anyhow::Result<()> {
    match format {
        FactsFormat::Json => emit_json(&cat.facts),
        FactsFormat::Markdown => emit(&facts_markdown(cat)),
        FactsFormat::Text => {
            let mut t = Table::new(&["FACT", "TYPE", "MEANING"]);
            for f in &cat.facts {
                let ty = if f.values.is_empty() {
                    f.kind.to_string()
                } else {
                    format!("{}: {}", f.kind, f.values.join("|"))
                };
                t.row(vec![f.id.to_string(), ty, f.title.clone()]);
            }
            emit(&t.render())
        }
    }
}

fn recognition(cat: &Catalog, scheme_name: Option<&str>, format: Format) -> anyhow::Result<()> {
    let filter = match scheme_name {
        Some(n) => {
            let id = scheme(cat, n)?.def.id.to_string();
            Some(id)
        }
        None => None,
    };
    let touches = |r: &&iotrust_catalog::Recognition| {
        filter.as_ref().is_none_or(|id| {
            let from = r.def.from.split('@').next().unwrap_or("");
            let to = r.def.to.split('@').next().unwrap_or("");
            from == id || to == id
        })
    };
    let list: Vec<&iotrust_catalog::Recognition> =
        cat.recognitions.iter().filter(touches).collect();
    if format == Format::Json {
        let v: Vec<_> = list.iter().map(|r| &r.def).collect();
        return emit_json(&json!({"catalog_version": cat.version(), "recognitions": v}));
    }
    if list.is_empty() {
        if let Some(n) = scheme_name {
            bail!("no recognition arrangement touches `{n}`");
        }
    }
    let mut t = Table::new(&["FROM", "TO", "KIND", "EFFECTIVE", "SCOPE", "CONF", "SOURCE"]);
    for r in list {
        let scope = match &r.def.scope {
            None => "all".to_string(),
            Some(s) if s.categories.len() <= 3 => s
                .categories
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(","),
            Some(s) => format!("{} categories", s.categories.len()),
        };
        // dates as the data gives them (a month where only the month is known)
        let when = r
            .def
            .effective
            .as_ref()
            .or(r.def.signed.as_ref())
            .map(|d| d.to_string());
        t.row(vec![
            r.def.from.to_string(),
            r.def.to.to_string(),
            r.def.kind.to_string(),
            when.unwrap_or_else(|| "-".into()),
            scope,
            format!("{}", r.def.source.confidence),
            r.def.source.reference.clone(),
        ]);
    }
    emit(&t.render())
}
