//! Provision-to-provision relations between two schemes: the ones an authority or a named
//! crosswalk published, deemed-compliance routes written into law, and the ones derived from
//! shared outcomes (as strong as the weaker of the two mappings).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{Catalog, Scheme};
use crate::diff::natural_key;
use crate::load::split_ref;
use crate::model::{Basis, Confidence};
use crate::obligation::Obligation;

#[derive(Clone, Debug, Serialize)]
pub struct Relation {
    /// Provision id in the first scheme.
    pub from: String,
    /// What the first provision is: legal requirement, recommendation ... (`None`: not in
    /// the scheme).
    pub from_obligation: Option<Obligation>,
    /// Provision id in the second scheme.
    pub to: String,
    /// What the second provision is.
    pub to_obligation: Option<Obligation>,
    /// `equivalent`, `deemed-compliance`, `shared outcome` ...
    pub relation: String,
    /// How the relation is established: official, published crosswalk or inferred.
    pub strength: Basis,
    pub confidence: Confidence,
    /// What the relation rests on: the crosswalk's name, the route, or the shared outcomes.
    pub via: String,
    pub source: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Crosswalk {
    pub from: String,
    pub to: String,
    pub relations: Vec<Relation>,
}

fn invert(kind: &str) -> String {
    match kind {
        "covers" => "part-of".into(),
        "part-of" => "covers".into(),
        "successor" => "predecessor".into(),
        other => other.into(),
    }
}

/// All relations between provisions of `a` and `b`.
pub fn crosswalk(cat: &Catalog, a: &Scheme, b: &Scheme) -> Crosswalk {
    let mut rels: Vec<Relation> = Vec::new();
    // 1. published relations
    for (_, cw) in &cat.crosswalks {
        for r in &cw.relations {
            let (Some((fs, fp)), Some((ts, tp))) = (split_ref(&r.from), split_ref(&r.to)) else {
                continue;
            };
            let name = r.crosswalk.clone().unwrap_or_else(|| cw.name.clone());
            let (from, to, kind) = if fs == a.key && ts == b.key {
                (fp, tp, r.relation.to_string())
            } else if fs == b.key && ts == a.key {
                (tp, fp, invert(&r.relation.to_string()))
            } else {
                continue;
            };
            rels.push(Relation {
                from: from.into(),
                from_obligation: None,
                to: to.into(),
                to_obligation: None,
                relation: kind,
                strength: *r.basis,
                confidence: r.source.confidence,
                via: name,
                source: r.source.reference.clone(),
            });
        }
    }
    // 2. deemed-compliance routes
    for (x, y, flip) in [(a, b, false), (b, a, true)] {
        for p in &x.def.provisions {
            for route in &p.routes {
                for target in &route.all_of {
                    let Some((ts, tp)) = split_ref(target) else {
                        continue;
                    };
                    if ts != y.key {
                        continue;
                    }
                    let (from, to, kind) = if flip {
                        (
                            tp.to_string(),
                            p.id.to_string(),
                            "grants deemed compliance with".to_string(),
                        )
                    } else {
                        (
                            p.id.to_string(),
                            tp.to_string(),
                            "deemed-compliance route".to_string(),
                        )
                    };
                    rels.push(Relation {
                        from,
                        from_obligation: None,
                        to,
                        to_obligation: None,
                        relation: kind,
                        strength: Basis::Official,
                        confidence: route.source.confidence,
                        via: format!("route `{}`: {}", &*route.id, route.title),
                        source: route.source.reference.clone(),
                    });
                }
            }
        }
    }
    // 3. shared outcomes
    let mut shared: BTreeMap<(String, String), (Basis, Confidence, Vec<String>)> = BTreeMap::new();
    for pa in a.live_provisions() {
        for ma in &pa.outcomes {
            for pb in b.live_provisions() {
                for mb in pb.outcomes.iter().filter(|m| m.outcome == ma.outcome) {
                    let strength = (*ma.basis).min(*mb.basis);
                    let conf = ma.source.confidence.min(mb.source.confidence);
                    let e = shared
                        .entry((pa.id.to_string(), pb.id.to_string()))
                        .or_insert((Basis::Inferred, Confidence::L, Vec::new()));
                    if (strength, conf) > (e.0, e.1) {
                        e.0 = strength;
                        e.1 = conf;
                    }
                    e.2.push(ma.outcome.to_string());
                }
            }
        }
    }
    for ((from, to), (strength, conf, outcomes)) in shared {
        rels.push(Relation {
            from,
            from_obligation: None,
            to,
            to_obligation: None,
            relation: "shared outcome".into(),
            strength,
            confidence: conf,
            via: outcomes.join(", "),
            source: "derived from the two provisions' outcome mappings".into(),
        });
    }
    for r in &mut rels {
        r.from_obligation = a.provision(&r.from).map(|p| a.obligation(p));
        r.to_obligation = b.provision(&r.to).map(|p| b.obligation(p));
    }
    rels.sort_by(|x, y| {
        (
            natural_key(&x.from),
            natural_key(&x.to),
            std::cmp::Reverse(x.strength),
        )
            .cmp(&(
                natural_key(&y.from),
                natural_key(&y.to),
                std::cmp::Reverse(y.strength),
            ))
    });
    Crosswalk {
        from: a.key.clone(),
        to: b.key.clone(),
        relations: rels,
    }
}
