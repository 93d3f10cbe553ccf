//! Rendered label SVGs, kept between requests.
//!
//! The product page (the QR code's target) shows the label as SVG, and drawing it — the QR
//! code above all: its mask selection scores eight masks — was most of a page's CPU
//! (`perf`: about 60 %). A label document never changes once submitted, so its drawing is
//! kept, keyed by the SHA-256 of the document's JSON: a changed document is another key, so
//! nothing is ever stale. Bounded by bytes; the oldest drawing is dropped first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use iotrust_label::LabelDocument;
use sha2::{Digest, Sha256};

/// Bytes of SVG kept by default: about 1,100 labels (a drawing is about 30 KB).
pub(crate) const DEFAULT_BUDGET: usize = 32 << 20;

type Key = [u8; 32];

pub(crate) struct LabelSvgs {
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Arc<str>>,
    /// Insertion order, oldest first.
    order: VecDeque<Key>,
    bytes: usize,
}

impl LabelSvgs {
    pub(crate) fn new(budget: usize) -> LabelSvgs {
        LabelSvgs {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The SVG of `d`: kept, or drawn now (and kept when it fits the budget).
    pub(crate) fn get(&self, d: &LabelDocument) -> Arc<str> {
        let Ok(json) = serde_json::to_vec(d) else {
            return iotrust_label::render::svg(d).into();
        };
        let key: Key = Sha256::digest(&json).into();
        if let Some(svg) = self.lock().map.get(&key) {
            return svg.clone();
        }
        // drawn without the lock: two requests for a new label may both draw it, once
        let svg: Arc<str> = iotrust_label::render::svg(d).into();
        if svg.len() <= self.budget {
            let mut inner = self.lock();
            if !inner.map.contains_key(&key) {
                inner.bytes += svg.len();
                inner.map.insert(key, svg.clone());
                inner.order.push_back(key);
                while inner.bytes > self.budget {
                    let Some(old) = inner.order.pop_front() else {
                        break;
                    };
                    if let Some(s) = inner.map.remove(&old) {
                        inner.bytes -= s.len();
                    }
                }
            }
        }
        svg
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // a panic elsewhere while holding it leaves a consistent map (every update is
        // finished before the next statement that could panic): keep using it
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.map.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The smart-lock example's label, under another model name.
    fn doc(model: &str) -> LabelDocument {
        use iotrust_assess::profile::{self, InputFormat};
        use iotrust_label::document::{LabelInfo, Party};
        let cat = iotrust_catalog::Catalog::embedded().unwrap();
        let text = include_str!("../../../examples/profiles/smart-lock.toml");
        let p = profile::parse(&cat, text, InputFormat::Toml, "smart-lock.toml").unwrap();
        let a = iotrust_assess::assess(&cat, &p, &[], "2026-11-22".parse().unwrap());
        let info = LabelInfo {
            issuer: Party {
                name: "Example Issuing Body".into(),
                contact: None,
            },
            lab: None,
            default_password: "Set during onboarding".into(),
            secure_configuration: "https://veridor.example/secure-setup".into(),
            update_instructions: None,
            advisories: None,
            hbom: None,
            registry: Some("https://registry.example/p/{id}".into()),
            document: None,
        };
        let mut d =
            LabelDocument::from_assessment(&a, &info, "2028-11-22".parse().unwrap()).unwrap();
        d.product.model = model.to_string();
        d
    }

    #[test]
    fn keeps_each_drawing_and_draws_a_changed_document_anew() {
        let c = LabelSvgs::new(DEFAULT_BUDGET);
        let a = doc("A-1");
        let first = c.get(&a);
        assert_eq!(&*first, iotrust_label::render::svg(&a));
        assert!(
            Arc::ptr_eq(&first, &c.get(&a)),
            "the second request is served kept"
        );
        let b = doc("B-2");
        let other = c.get(&b);
        assert_eq!(&*other, iotrust_label::render::svg(&b));
        assert_ne!(first, other);
        assert_eq!(c.held().0, 2);
    }

    #[test]
    fn stays_within_its_budget() {
        let one = iotrust_label::render::svg(&doc("M-0")).len();
        let c = LabelSvgs::new(one * 3 + one / 2);
        for i in 0..10 {
            let d = doc(&format!("M-{i}"));
            assert_eq!(&*c.get(&d), iotrust_label::render::svg(&d));
            let (n, bytes) = c.held();
            assert!(
                bytes <= one * 3 + one / 2 && n <= 3,
                "{n} drawings, {bytes} bytes"
            );
        }
        // the newest is kept, the oldest gone
        assert!(Arc::ptr_eq(&c.get(&doc("M-9")), &c.get(&doc("M-9"))));
        let none = LabelSvgs::new(0);
        assert_eq!(
            &*none.get(&doc("M-1")),
            iotrust_label::render::svg(&doc("M-1"))
        );
        assert_eq!(none.held(), (0, 0));
    }
}
