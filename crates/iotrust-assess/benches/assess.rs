//! Per-profile cost of parsing versus evaluating, on the example profiles (TOML) and their
//! JSON forms. `cargo bench -p iotrust-assess`; results and the end-to-end 100k run are in
//! docs/benchmarks.md.

#![allow(clippy::expect_used)] // a benchmark without its inputs cannot run

use iotrust_assess::eval::evaluate;
use iotrust_assess::explain::detail;
use iotrust_assess::profile::{self, InputFormat, Profile};
use iotrust_catalog::Catalog;

fn main() {
    divan::main();
}

struct Inputs {
    cat: Catalog,
    texts: Vec<(String, String)>,
    profiles: Vec<Profile>,
}

fn inputs() -> &'static Inputs {
    static CELL: std::sync::OnceLock<Inputs> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        let cat = Catalog::embedded().expect("embedded catalog");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/profiles");
        let mut texts = Vec::new();
        for e in std::fs::read_dir(dir).expect("examples") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "toml") {
                texts.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).expect("read"),
                ));
            }
        }
        texts.sort();
        let profiles = texts
            .iter()
            .map(|(n, t)| profile::parse(&cat, t, InputFormat::Toml, n).expect("example parses"))
            .collect();
        Inputs {
            cat,
            texts,
            profiles,
        }
    })
}

fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 11, 22)
}

/// Parse every example profile once (TOML).
#[divan::bench]
fn parse_examples() -> usize {
    let i = inputs();
    i.texts
        .iter()
        .map(|(n, t)| {
            profile::parse(&i.cat, t, InputFormat::Toml, n)
                .map(|p| p.facts.values.len())
                .unwrap_or(0)
        })
        .sum()
}

/// Evaluate every example profile (verdicts, tier, markets, labels) and build its bulk summary.
#[divan::bench]
fn evaluate_examples() -> usize {
    let i = inputs();
    i.profiles
        .iter()
        .map(|p| {
            let e = evaluate(&i.cat, p, &[], today());
            e.summary(p, Vec::new()).outcomes.met
        })
        .sum()
}

/// The full, reasoned assessment (what single-profile reports render).
#[divan::bench]
fn detailed_assessment_examples() -> usize {
    let i = inputs();
    i.profiles
        .iter()
        .map(|p| {
            let e = evaluate(&i.cat, p, &[], today());
            detail(&e, p, &[]).outcomes.len()
        })
        .sum()
}
