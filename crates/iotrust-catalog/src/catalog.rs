//! The loaded, checked catalog and how to look things up in it.

use std::collections::HashMap;

use jiff::civil::Date;

use crate::expr::{Expr, FactId, FactLookup, Type};
use crate::load::{self, CatalogError, Vocab};
use crate::model::*;

/// An outcome with its compiled expressions.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub def: OutcomeDef,
    pub applies: Option<Expr>,
    pub check: Expr,
    pub contradiction: Option<Expr>,
}

/// A scheme in one version, with its dates parsed and expressions compiled.
#[derive(Clone, Debug)]
pub struct Scheme {
    /// `id@version`
    pub key: String,
    /// The file it came from, relative to the project (`catalog/schemes/...`).
    pub file: String,
    pub def: SchemeDef,
    pub published: Option<Date>,
    pub in_force: Option<Date>,
    pub applies_from: Option<Date>,
    pub ends: Option<Date>,
    pub requires: Option<Expr>,
    /// `unless` of each exclusion, in order.
    pub unless: Vec<Option<Expr>>,
    pub conditions: HashMap<String, Expr>,
    /// The provisions (indices into `def.provisions`) of each level, includes expanded.
    pub level_provisions: Vec<Vec<usize>>,
    /// Per provision: indices into [`Catalog::outcomes`] of the outcomes it maps to.
    pub provision_outcomes: Vec<Vec<usize>>,
    /// Per provision: its conditions, compiled (same order as `conditions` of the provision).
    pub provision_conditions: Vec<Vec<Expr>>,
    /// Per provision, per route: the date from which the route counts.
    pub route_effective: Vec<Vec<Option<Date>>>,
    /// Per provision: the date it applies from (its own, else the scheme's).
    pub provision_applies: Vec<Option<Date>>,
    /// Per provision: indices into `def.scope.excludes` of the derogations that name it.
    pub provision_derogations: Vec<Vec<usize>>,
    /// Per product class (in `def.product_classes`), per category: its `when`, compiled.
    pub class_when: Vec<Vec<Expr>>,
    /// Per product class, per route: its `satisfied_when`, compiled.
    pub route_when: Vec<Vec<Option<Expr>>>,
}

impl Scheme {
    /// Does provision `i` apply on `day`?
    pub fn provision_in_force(&self, i: usize, day: Date) -> bool {
        self.provision_applies
            .get(i)
            .copied()
            .flatten()
            .is_none_or(|d| d <= day)
    }
}

impl Scheme {
    pub fn provision(&self, id: &str) -> Option<&ProvisionDef> {
        self.def.provisions.iter().find(|p| *p.id == id)
    }
    pub fn level(&self, id: &str) -> Option<(usize, &LevelDef)> {
        self.def
            .levels
            .iter()
            .enumerate()
            .find(|(_, l)| *l.id == id)
    }
    /// Provisions that are in force in this version (not void).
    pub fn live_provisions(&self) -> impl Iterator<Item = &ProvisionDef> {
        self.def
            .provisions
            .iter()
            .filter(|p| p.status != Status::Void)
    }
    /// What kind of obligation provision `p` of this scheme is (derived: see [`crate::obligation`]).
    pub fn obligation(&self, p: &ProvisionDef) -> crate::obligation::Obligation {
        crate::obligation::obligation(self.def.kind, p.status)
    }
    /// ETSI-style status notation: `M`, `R C(12)`, `M F(a)` ...
    pub fn status_notation(p: &ProvisionDef) -> String {
        let s = match p.status {
            Status::Mandatory => "M",
            Status::Recommended => "R",
            Status::Informative => "I",
            Status::Void => "void",
            Status::Unknown => "?",
        };
        if p.conditions.is_empty() {
            s.to_string()
        } else {
            let c: Vec<&str> = p.conditions.iter().map(|c| c.as_str()).collect();
            format!("{s} {}", c.join(" "))
        }
    }
}

/// A global tier or a profile, with its outcome set expanded.
#[derive(Clone, Debug)]
pub struct Tier {
    pub def: TierDef,
    /// Indices into [`Catalog::outcomes`].
    pub outcomes: Vec<usize>,
    /// Position among its kind (tiers are ordered lowest first).
    pub rank: usize,
    /// Per entry of `def.labels`: the date from which it applies.
    pub label_from: Vec<Option<Date>>,
}

#[derive(Clone, Debug)]
pub struct Recognition {
    pub def: RecognitionDef,
    pub signed: Option<Date>,
    pub effective: Option<Date>,
    pub ends: Option<Date>,
}

impl Recognition {
    /// Does the arrangement cover only some provisions of its `to` level?
    pub fn partial(&self) -> bool {
        !self.def.provisions.is_empty()
    }
    /// In effect on `day`?
    pub fn in_effect(&self, day: Date) -> bool {
        self.effective.or(self.signed).is_none_or(|e| e <= day)
            && self.ends.is_none_or(|e| day <= e)
    }
}

/// The whole catalog.
pub struct Catalog {
    pub meta: CatalogFile,
    pub date: Option<Date>,
    pub categories: Vec<CategoryDef>,
    pub facts: Vec<FactDef>,
    vocab: Vocab,
    pub outcomes: Vec<Outcome>,
    outcome_index: HashMap<String, usize>,
    pub schemes: Vec<Scheme>,
    scheme_index: HashMap<String, usize>,
    pub tiers: Vec<Tier>,
    pub profiles: Vec<Tier>,
    pub recognitions: Vec<Recognition>,
    pub crosswalks: Vec<(String, CrosswalkFile)>,
    /// The documents laws require (`documents/*.yaml`), sorted by id.
    pub documents: Vec<DocumentDef>,
    sections: Vec<String>,
}

impl Catalog {
    /// The fact prefixes (`auth`, `vdp` ...) that are sections of a profile.
    pub fn fact_sections(&self) -> &[String] {
        &self.sections
    }

    /// The catalog built into the binary.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        load::load(&load::embedded_files())
    }

    /// A catalog read from a directory laid out like `catalog/`.
    pub fn from_dir(dir: &std::path::Path) -> Result<Catalog, CatalogError> {
        load::load(&load::dir_files(dir)?)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assemble(
        meta: CatalogFile,
        date: Option<Date>,
        categories: Vec<CategoryDef>,
        facts: Vec<FactDef>,
        vocab: Vocab,
        outcomes: Vec<Outcome>,
        schemes: Vec<Scheme>,
        tiers: Vec<Tier>,
        profiles: Vec<Tier>,
        recognitions: Vec<Recognition>,
        crosswalks: Vec<(String, CrosswalkFile)>,
        documents: Vec<DocumentDef>,
    ) -> Catalog {
        let outcome_index: HashMap<String, usize> = outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| (o.def.id.to_string(), i))
            .collect();
        let mut schemes = schemes;
        for s in &mut schemes {
            s.provision_outcomes = s
                .def
                .provisions
                .iter()
                .map(|p| {
                    p.outcomes
                        .iter()
                        .filter_map(|m| outcome_index.get(m.outcome.as_str()).copied())
                        .collect()
                })
                .collect();
            s.provision_conditions = s
                .def
                .provisions
                .iter()
                .map(|p| {
                    p.conditions
                        .iter()
                        .filter_map(|c| s.conditions.get(c.as_str()).cloned())
                        .collect()
                })
                .collect();
        }
        let mut sections: Vec<String> = facts
            .iter()
            .filter_map(|f| f.id.split_once('.').map(|(p, _)| p.to_string()))
            .collect();
        sections.sort();
        sections.dedup();
        let scheme_index = schemes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.key.clone(), i))
            .collect();
        Catalog {
            meta,
            date,
            categories,
            facts,
            vocab,
            outcomes,
            outcome_index,
            schemes,
            scheme_index,
            tiers,
            profiles,
            recognitions,
            crosswalks,
            documents,
            sections,
        }
    }

    pub fn version(&self) -> &str {
        &self.meta.version
    }

    pub fn outcome(&self, id: &str) -> Option<(usize, &Outcome)> {
        self.outcome_index.get(id).map(|&i| (i, &self.outcomes[i]))
    }

    /// The form of a document kind used on `date` (forms of one kind do not overlap).
    pub fn document(&self, kind: DocumentKind, date: Date) -> Option<&DocumentDef> {
        self.documents.iter().find(|d| {
            let from = d
                .applies_from
                .as_deref()
                .and_then(|s| s.parse::<Date>().ok());
            let until = d
                .applies_until
                .as_deref()
                .and_then(|s| s.parse::<Date>().ok());
            *d.kind == kind && from.is_none_or(|f| f <= date) && until.is_none_or(|u| date <= u)
        })
    }

    pub fn scheme_by_key(&self, key: &str) -> Option<&Scheme> {
        self.scheme_index.get(key).map(|&i| &self.schemes[i])
    }

    pub fn scheme_index(&self, key: &str) -> Option<usize> {
        self.scheme_index.get(key).copied()
    }

    /// Find a scheme by `id@version`, or by `id` alone (the latest version: the most
    /// recently published, ties broken by version string).
    pub fn find_scheme(&self, name: &str) -> Option<&Scheme> {
        if name.contains('@') {
            return self.scheme_by_key(name);
        }
        self.versions_of(name).into_iter().last()
    }

    /// All versions of a scheme id, oldest first.
    pub fn versions_of(&self, id: &str) -> Vec<&Scheme> {
        let mut v: Vec<&Scheme> = self.schemes.iter().filter(|s| *s.def.id == id).collect();
        v.sort_by(|a, b| (a.published, &*a.def.version).cmp(&(b.published, &*b.def.version)));
        v
    }

    /// Resolve `scheme@version#provision`.
    pub fn provision_ref(&self, r: &str) -> Option<(&Scheme, &ProvisionDef)> {
        let (s, p) = load::split_ref(r)?;
        let scheme = self.scheme_by_key(s)?;
        Some((scheme, scheme.provision(p)?))
    }

    /// Resolve `scheme@version#level`.
    pub fn level_ref(&self, r: &str) -> Option<(&Scheme, usize)> {
        let (s, l) = load::split_ref(r)?;
        let scheme = self.scheme_by_key(s)?;
        Some((scheme, scheme.level(l)?.0))
    }

    /// Slot and type of a fact.
    pub fn fact(&self, name: &str) -> Option<(FactId, Type)> {
        self.vocab.lookup(name)
    }

    /// Allowed values of an enum fact.
    pub fn fact_values(&self, id: FactId) -> Option<&[String]> {
        self.vocab.allowed_values(id)
    }

    pub fn fact_def(&self, id: FactId) -> Option<&FactDef> {
        self.facts.get(usize::from(id))
    }

    /// The vocabulary, for compiling expressions outside the catalog files.
    pub fn lookup(&self) -> &dyn FactLookup {
        &self.vocab
    }

    /// Category and all groups above it.
    /// Does a product placed on `market` have to meet the laws of `jurisdiction`? True for the
    /// market itself and every jurisdiction it lies `within` (catalog.yaml), transitively.
    pub fn market_covers(&self, market: &str, jurisdiction: &str) -> bool {
        let mut cur = Some(market);
        let mut steps = 0;
        while let Some(m) = cur {
            if m == jurisdiction {
                return true;
            }
            steps += 1;
            if steps > self.meta.jurisdictions.len() {
                return false; // a cycle; the loader reports it
            }
            cur = self
                .meta
                .jurisdictions
                .iter()
                .find(|j| *j.id == *m)
                .and_then(|j| j.within.as_ref().map(|w| w.as_str()));
        }
        false
    }

    pub fn category_ancestry(&self, id: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut cur = self.categories.iter().find(|c| *c.id == id);
        while let Some(c) = cur {
            if out.contains(&c.id.as_str()) {
                break;
            }
            out.push(c.id.as_str());
            cur = c
                .group
                .as_ref()
                .and_then(|g| self.categories.iter().find(|x| x.id == *g));
        }
        out
    }

    pub fn tier(&self, id: &str) -> Option<&Tier> {
        self.tiers
            .iter()
            .chain(self.profiles.iter())
            .find(|t| *t.def.id == id)
    }

    /// Every (scheme, provision, mapping) that maps onto outcome `outcome`.
    pub fn provisions_for_outcome(
        &self,
        outcome: &str,
    ) -> Vec<(&Scheme, &ProvisionDef, &MappingDef)> {
        let mut out = Vec::new();
        for s in &self.schemes {
            for p in &s.def.provisions {
                for m in &p.outcomes {
                    if *m.outcome == outcome {
                        out.push((s, p, m));
                    }
                }
            }
        }
        out
    }
}
