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
