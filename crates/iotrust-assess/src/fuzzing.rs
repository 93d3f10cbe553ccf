//! Entry points for `cargo fuzz` (fuzz/fuzz_targets/assess_*.rs): untrusted bytes into every
//! reader of this crate. They must never panic, whatever the input.

use std::sync::OnceLock;

use iotrust_catalog::Catalog;

use crate::profile::{self, InputFormat};

fn catalog() -> Option<&'static Catalog> {
    static CAT: OnceLock<Option<Catalog>> = OnceLock::new();
    CAT.get_or_init(|| Catalog::embedded().ok()).as_ref()
}

/// A TOML profile; when it parses, it is also evaluated.
pub fn profile_toml(data: &[u8]) {
    run(data, InputFormat::Toml);
}

/// A JSON profile; when it parses, it is also evaluated.
pub fn profile_json(data: &[u8]) {
    run(data, InputFormat::Json);
}

fn run(data: &[u8], format: InputFormat) {
    let (Some(cat), Ok(text)) = (catalog(), std::str::from_utf8(data)) else {
        return;
    };
    if let Ok(p) = profile::parse(cat, text, format, "fuzz") {
        let today = jiff::civil::date(2026, 11, 22);
        let e = crate::eval::evaluate(cat, &p, &[], today);
        let _ = crate::explain::detail(&e, &p, &[]);
    }
}

/// An evidence file (`iotrust-evidence/1`).
pub fn evidence_json(data: &[u8]) {
    let (Some(cat), Ok(text)) = (catalog(), std::str::from_utf8(data)) else {
        return;
    };
    let _ = crate::evidence::parse(cat, text, "fuzz", None);
}
