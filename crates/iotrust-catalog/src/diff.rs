//! What changed between two versions of a scheme.

use serde::Serialize;

use crate::catalog::Scheme;
use crate::model::{ProvisionDef, Status};

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// New in B.
    Added,
    /// In A, gone (or void) in B.
    Removed,
    /// In both, something about it changed.
    Changed,
}

#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub provision: String,
    pub title: String,
    /// Human-readable details: `status M C(12) -> M F(g)`, `replaces 5.3-4` ...
    pub details: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    pub from: String,
    pub to: String,
    pub from_count: usize,
    pub to_count: usize,
    pub changes: Vec<Change>,
}

impl Diff {
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }
}

fn live(p: &ProvisionDef) -> bool {
    p.status != Status::Void
}

/// Compare scheme `a` with scheme `b`, provision by provision (matched by id).
pub fn diff(a: &Scheme, b: &Scheme) -> Diff {
    let mut changes = Vec::new();
    for pa in a.def.provisions.iter().filter(|p| live(p)) {
        match b.provision(&pa.id) {
            Some(pb) if live(pb) => {
                let mut details = Vec::new();
                let (sa, sb) = (Scheme::status_notation(pa), Scheme::status_notation(pb));
                if sa != sb {
                    details.push(format!("status {sa} -> {sb}"));
                }
                if pa.status != pb.status {
                    details.push(format!("now {} (was {})", pb.status, pa.status));
                }
                if pa.title != pb.title {
                    details.push(format!("title: {} -> {}", pa.title, pb.title));
                }
                if pa.phase != pb.phase {
                    details.push(format!("phase {} -> {}", pa.phase, pb.phase));
                }
                let oa: Vec<&str> = pa.outcomes.iter().map(|m| m.outcome.as_str()).collect();
                let ob: Vec<&str> = pb.outcomes.iter().map(|m| m.outcome.as_str()).collect();
                if oa != ob {
                    details.push(format!(
                        "outcomes [{}] -> [{}]",
                        oa.join(", "),
                        ob.join(", ")
                    ));
                }
                if !details.is_empty() {
                    changes.push(Change {
                        kind: ChangeKind::Changed,
                        provision: pa.id.to_string(),
                        title: pb.title.clone(),
                        details,
                    });
                }
            }
            Some(pb) => {
                let mut details = vec![format!("void in {}", b.key)];
                if !pb.replaced_by.is_empty() {
                    let r: Vec<&str> = pb.replaced_by.iter().map(|x| x.as_str()).collect();
                    details.push(format!("replaced by {}", r.join(", ")));
                }
                changes.push(Change {
                    kind: ChangeKind::Removed,
                    provision: pa.id.to_string(),
                    title: pa.title.clone(),
                    details,
                });
            }
            None => {
                let successors: Vec<&str> = b
                    .def
                    .provisions
                    .iter()
                    .filter(|p| p.replaces.iter().any(|r| r.as_str() == pa.id.as_str()))
                    .map(|p| p.id.as_str())
                    .collect();
                let mut details = vec![format!("not in {}", b.key)];
                if !successors.is_empty() {
                    details.push(format!("replaced by {}", successors.join(", ")));
                }
                changes.push(Change {
                    kind: ChangeKind::Removed,
                    provision: pa.id.to_string(),
                    title: pa.title.clone(),
                    details,
                });
            }
        }
    }
    for pb in b.def.provisions.iter().filter(|p| live(p)) {
        let existed = a.provision(&pb.id).is_some_and(live);
        if !existed {
            let mut details = vec![format!("status {}", Scheme::status_notation(pb))];
            if !pb.replaces.is_empty() {
                let r: Vec<&str> = pb.replaces.iter().map(|x| x.as_str()).collect();
                details.push(format!("replaces {}", r.join(", ")));
            }
            changes.push(Change {
                kind: ChangeKind::Added,
                provision: pb.id.to_string(),
                title: pb.title.clone(),
                details,
            });
        }
    }
    changes.sort_by(|x, y| {
        natural_key(&x.provision)
            .cmp(&natural_key(&y.provision))
            .then(x.provision.cmp(&y.provision))
    });
    Diff {
        from: a.key.clone(),
        to: b.key.clone(),
        from_count: a.live_provisions().count(),
        to_count: b.live_provisions().count(),
        changes,
    }
}

/// Sort key that orders `5.3-10` after `5.3-9` and `5.3-4A` after `5.3-4`.
pub fn natural_key(id: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut num = String::new();
    let mut text = String::new();
    for c in id.chars() {
        if c.is_ascii_digit() {
            if !text.is_empty() {
                out.push((u64::MAX, std::mem::take(&mut text)));
            }
            num.push(c);
        } else {
            if !num.is_empty() {
                out.push((num.parse().unwrap_or(u64::MAX), String::new()));
                num.clear();
            }
            text.push(c);
        }
    }
    if !num.is_empty() {
        out.push((num.parse().unwrap_or(u64::MAX), String::new()));
    }
    if !text.is_empty() {
        out.push((u64::MAX, text));
    }
    out
}

// ----------------------------------------------------------------------------- whole catalogs

/// One thing that differs between two catalogs: a scheme, a recognition, a tier ...
#[derive(Clone, Debug, Serialize)]
pub struct CatalogChange {
    pub kind: ChangeKind,
    /// What changed: `catalog`, `scheme uk-psti@2023`, `recognition uk-psti-to-jp-star1` ...
    pub item: String,
    /// One line per changed field, `path: old -> new` (paths name list entries by id).
    pub details: Vec<String>,
}

/// What changed between two whole catalogs (`iotrust catalog diff --from DIR`).
#[derive(Clone, Debug, Serialize)]
pub struct CatalogDiff {
    pub from_version: String,
    pub to_version: String,
    pub changes: Vec<CatalogChange>,
}

impl CatalogDiff {
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }
    /// The change of one item (`scheme eu-red-da@2022`), if any.
    pub fn item(&self, item: &str) -> Option<&CatalogChange> {
        self.changes.iter().find(|c| c.item == item)
    }
}

/// Compare catalog `a` (older) with catalog `b` (newer), item by item, field by field.
pub fn catalog_diff(a: &crate::Catalog, b: &crate::Catalog) -> CatalogDiff {
    use serde_json::Value;
    fn items<T: Serialize>(
        kind: &str,
        list: impl Iterator<Item = (String, T)>,
    ) -> Vec<(String, Value)> {
        list.map(|(k, v)| {
            (
                format!("{kind} {k}"),
                serde_json::to_value(v).unwrap_or(Value::Null),
            )
        })
        .collect()
    }
    fn all(c: &crate::Catalog) -> Vec<(String, Value)> {
        let mut out = items("catalog", std::iter::once(("".to_string(), &c.meta)));
        out[0].0 = "catalog".into();
        out.extend(items(
            "category",
            c.categories.iter().map(|x| (x.id.to_string(), x)),
        ));
        out.extend(items("fact", c.facts.iter().map(|x| (x.id.to_string(), x))));
        out.extend(items(
            "outcome",
            c.outcomes.iter().map(|x| (x.def.id.to_string(), &x.def)),
        ));
        out.extend(items(
            "scheme",
            c.schemes.iter().map(|x| (x.key.clone(), &x.def)),
        ));
        out.extend(items(
            "tier",
            c.tiers.iter().map(|x| (x.def.id.to_string(), &x.def)),
        ));
        out.extend(items(
            "profile",
            c.profiles.iter().map(|x| (x.def.id.to_string(), &x.def)),
        ));
        out.extend(items(
            "recognition",
            c.recognitions
                .iter()
                .map(|x| (x.def.id.to_string(), &x.def)),
        ));
        out.extend(items(
            "crosswalk",
            c.crosswalks.iter().map(|(f, x)| (f.clone(), x)),
        ));
        // the document forms: items are matched by id, so an item added, removed or with a
        // changed provision, wording, source or confidence is one line each
        out.extend(items(
            "document",
            c.documents.iter().map(|x| (x.id.to_string(), x)),
        ));
        out
    }
    let (ia, ib) = (all(a), all(b));
    let mut changes = Vec::new();
    for (k, va) in &ia {
        match ib.iter().find(|(kb, _)| kb == k) {
            None => changes.push(CatalogChange {
                kind: ChangeKind::Removed,
                item: k.clone(),
                details: vec![format!("not in catalog {}", b.version())],
            }),
            Some((_, vb)) => {
                let mut details = Vec::new();
                value_diff("", va, vb, &mut details);
                if !details.is_empty() {
                    changes.push(CatalogChange {
                        kind: ChangeKind::Changed,
                        item: k.clone(),
                        details,
                    });
                }
            }
        }
    }
    for (k, _) in &ib {
        if !ia.iter().any(|(ka, _)| ka == k) {
            changes.push(CatalogChange {
                kind: ChangeKind::Added,
                item: k.clone(),
                details: vec![format!("new in catalog {}", b.version())],
            });
        }
    }
    CatalogDiff {
        from_version: a.version().to_string(),
        to_version: b.version().to_string(),
        changes,
    }
}

/// A value on one line: strings bare, the rest as compact JSON; long values shortened.
fn show(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    const MAX: usize = 160;
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Id of a list entry: its `id`, else `level` or `outcome` (the keys lists are identified by).
fn entry_id(v: &serde_json::Value) -> Option<&str> {
    ["id", "level", "outcome", "what"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|x| x.as_str()))
}

fn value_diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            for (k, va) in ma {
                match mb.get(k) {
                    Some(vb) => value_diff(&join(path, k), va, vb, out),
                    None => out.push(format!("{} removed (was {})", join(path, k), show(va))),
                }
            }
            for (k, vb) in mb.iter().filter(|(k, _)| !ma.contains_key(*k)) {
                out.push(format!("{} added: {}", join(path, k), show(vb)));
            }
        }
        (Value::Array(la), Value::Array(lb)) if a != b => {
            let keyed = |l: &Vec<Value>| {
                let ids: Vec<Option<&str>> = l.iter().map(entry_id).collect();
                let mut uniq: Vec<&str> = ids.iter().flatten().copied().collect();
                uniq.sort_unstable();
                uniq.dedup();
                ids.iter().all(Option::is_some) && uniq.len() == l.len()
            };
            if !la.is_empty() && !lb.is_empty() && keyed(la) && keyed(lb) {
                for ea in la {
                    let id = entry_id(ea).unwrap_or_default();
                    let p = format!("{path}[{id}]");
                    match lb.iter().find(|eb| entry_id(eb) == Some(id)) {
                        Some(eb) => value_diff(&p, ea, eb, out),
                        None => out.push(format!("{p} removed")),
                    }
                }
                for eb in lb {
                    let id = entry_id(eb).unwrap_or_default();
                    if !la.iter().any(|ea| entry_id(ea) == Some(id)) {
                        out.push(format!("{path}[{id}] added: {}", show(eb)));
                    }
                }
            } else if la.len() == lb.len() && la.iter().all(Value::is_object) {
                for (i, (ea, eb)) in la.iter().zip(lb).enumerate() {
                    value_diff(&format!("{path}[{i}]"), ea, eb, out);
                }
            } else if la.iter().chain(lb).all(|v| !v.is_object()) {
                out.push(format!("{path}: {} -> {}", show(a), show(b)));
            } else {
                for ea in la.iter().filter(|ea| !lb.contains(ea)) {
                    out.push(format!("{path}[-] removed: {}", show(ea)));
                }
                for eb in lb.iter().filter(|eb| !la.contains(eb)) {
                    out.push(format!("{path}[+] added: {}", show(eb)));
                }
            }
        }
        (Value::String(sa), Value::String(sb)) if sa != sb => {
            out.push(format!("{path}: {}", text_change(sa, sb)))
        }
        _ if a != b => out.push(format!("{path}: {} -> {}", show(a), show(b))),
        _ => {}
    }
}

/// A changed string on one line: whole when short, else the part around the first difference.
fn text_change(a: &str, b: &str) -> String {
    const SHORT: usize = 100;
    if a.chars().count() <= SHORT && b.chars().count() <= SHORT {
        return format!("{a} -> {b}");
    }
    let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let start = ca.iter().zip(&cb).take_while(|(x, y)| x == y).count();
    let from = start.saturating_sub(30);
    let excerpt = |c: &[char]| {
        let end = (start + 70).min(c.len());
        let s: String = c[from.min(c.len())..end].iter().collect();
        format!(
            "{}{s}{}",
            if from > 0 { "…" } else { "" },
            if end < c.len() { "…" } else { "" }
        )
    };
    format!("{} -> {}", excerpt(&ca), excerpt(&cb))
}
