//! Data-driven cases: every `examples/expected/*.toml` names a profile and what its assessment
//! must say; every `tests/bad-profiles/*.toml` is a broken profile whose first comment line
//! says which error it must produce. Adding a case needs no Rust.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iotrust_assess::evidence;
use iotrust_assess::profile::{self, InputFormat};
use iotrust_assess::result::{Access, Verdict};
use iotrust_assess::{assess, Assessment};
use iotrust_catalog::Catalog;
use serde::Deserialize;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    profile: String,
    date: String,
    #[serde(default)]
    evidence: Vec<String>,
    expect: Expect,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// Highest tier reached, or "none".
    tier: Option<String>,
    #[serde(default)]
    markets: BTreeMap<String, String>,
    #[serde(default)]
    outcomes: BTreeMap<String, String>,
    /// Conformance per scheme key (`met`, `not-met`, `unknown`, `not-applicable`).
    #[serde(default)]
    schemes: BTreeMap<String, String>,
    /// `scheme@version#provision` -> verdict
    #[serde(default)]
    provisions: BTreeMap<String, String>,
    /// `scheme@version#level` -> verdict
    #[serde(default)]
    levels: BTreeMap<String, String>,
    /// Labels that must be listed as obtainable.
    #[serde(default)]
    labels: Vec<String>,
    /// `supported`, `ending-soon`, `unsupported`, `unknown`
    support: Option<String>,
    contradictions: Option<usize>,
    /// Outcomes that must appear in the gap list for the next tier.
    #[serde(default)]
    tier_gaps: Vec<String>,
}

fn verdict(s: &str) -> Verdict {
    match s {
        "met" => Verdict::Met,
        "not-met" => Verdict::NotMet,
        "not-applicable" => Verdict::NotApplicable,
        "unknown" => Verdict::Unknown,
        other => panic!("unknown verdict `{other}` in a case file"),
    }
}

fn run_case(cat: &Catalog, path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dir = path.parent().unwrap();
    let ppath = dir.join(&case.profile);
    let ptext =
        std::fs::read_to_string(&ppath).unwrap_or_else(|e| panic!("{}: {e}", ppath.display()));
    let shown = ppath.display().to_string();
    let prof = profile::parse(cat, &ptext, InputFormat::from_path(&shown), &shown)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ev = Vec::new();
    let pdir = ppath.parent().unwrap();
    let files: Vec<(PathBuf, Option<String>)> = prof
        .evidence
        .iter()
        .map(|r| (pdir.join(&r.file), r.device.clone()))
        .chain(case.evidence.iter().map(|e| (dir.join(e), None)))
        .collect();
    for (f, dev) in files {
        let t = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        ev.push(
            evidence::parse(cat, &t, &f.display().to_string(), dev.as_deref())
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let a = assess(cat, &prof, &ev, case.date.parse().unwrap());
    let mut bad = check(&a, &case.expect);
    bad.extend(whole_levels_agree_with_conformance(cat, &a));
    bad
}

/// A level of "every mandatory provision" is met only where the scheme's conformance is met:
/// provisions whose status is not established count for both (they may be mandatory).
fn whole_levels_agree_with_conformance(cat: &Catalog, a: &Assessment) -> Vec<String> {
    let mut bad = Vec::new();
    for sr in &a.schemes {
        let Some(s) = cat.schemes.iter().find(|s| s.key == sr.scheme) else {
            bad.push(format!("scheme {}: not in the catalog", sr.scheme));
            continue;
        };
        for l in &sr.levels {
            let whole = s
                .def
                .levels
                .iter()
                .any(|d| d.id.as_str() == l.id && (d.all_mandatory || d.all_provisions));
            if whole && l.verdict == Verdict::Met && sr.conformance != Verdict::Met {
                bad.push(format!(
                    "scheme {}: level {} met but conformance {:?} ({})",
                    sr.scheme, l.id, sr.conformance, sr.conformance_reason
                ));
            }
        }
    }
    bad
}

fn check(a: &Assessment, e: &Expect) -> Vec<String> {
    let mut bad = Vec::new();
    if let Some(t) = &e.tier {
        let got = a.summary.tier.clone().unwrap_or_else(|| "none".into());
        if &got != t {
            bad.push(format!("tier: expected {t}, got {got}"));
        }
    }
    for (m, want) in &e.markets {
        let want = match want.as_str() {
            "yes" => Access::Yes,
            "no" => Access::No,
            "undetermined" => Access::Undetermined,
            other => panic!("market access `{other}`"),
        };
        match a.market(m) {
            Some(r) if r.access == want => {}
            Some(r) => bad.push(format!(
                "market {m}: expected {want:?}, got {:?}: {}",
                r.access, r.statement
            )),
            None => bad.push(format!("market {m}: not assessed")),
        }
    }
    for (o, want) in &e.outcomes {
        match a.outcomes.iter().find(|x| &x.id == o) {
            Some(r) if r.verdict == verdict(want) => {}
            Some(r) => bad.push(format!(
                "outcome {o}: expected {want}, got {:?}: {}",
                r.verdict, r.reason
            )),
            None => bad.push(format!("outcome {o}: no such outcome")),
        }
    }
    for (s, want) in &e.schemes {
        match a.schemes.iter().find(|x| &x.scheme == s) {
            Some(r) if r.conformance == verdict(want) => {}
            Some(r) => bad.push(format!(
                "scheme {s}: expected {want}, got {:?}: {}",
                r.conformance, r.conformance_reason
            )),
            None => bad.push(format!("scheme {s}: no such scheme")),
        }
    }
    for (p, want) in &e.provisions {
        let (s, id) = p.split_once('#').unwrap_or((p, ""));
        let found = a
            .schemes
            .iter()
            .find(|x| x.scheme == s)
            .and_then(|x| x.provisions.iter().find(|y| y.id == id));
        match found {
            Some(r) if r.verdict == verdict(want) => {}
            Some(r) => bad.push(format!(
                "provision {p}: expected {want}, got {:?}: {}",
                r.verdict, r.reason
            )),
            None => bad.push(format!("provision {p}: not found")),
        }
    }
    for (l, want) in &e.levels {
        let (s, id) = l.split_once('#').unwrap_or((l, ""));
        let found = a
            .schemes
            .iter()
            .find(|x| x.scheme == s)
            .and_then(|x| x.levels.iter().find(|y| y.id == id));
        match found {
            Some(r) if r.verdict == verdict(want) => {}
            Some(r) => bad.push(format!(
                "level {l}: expected {want}, got {:?}: {}",
                r.verdict, r.reason
            )),
            None => bad.push(format!("level {l}: not found")),
        }
    }
    for l in &e.labels {
        if !a.labels.iter().any(|x| &x.label == l && x.obtainable) {
            let got: Vec<&str> = a.labels.iter().map(|x| x.label.as_str()).collect();
            bad.push(format!("label {l}: not obtainable (got {got:?})"));
        }
    }
    if let Some(s) = &e.support {
        let got = serde_json::to_value(a.support.status).unwrap();
        if got != serde_json::Value::String(s.clone()) {
            bad.push(format!("support: expected {s}, got {got}"));
        }
    }
    if let Some(n) = e.contradictions {
        if a.contradictions.len() != n {
            bad.push(format!(
                "contradictions: expected {n}, got {}: {:?}",
                a.contradictions.len(),
                a.contradictions
            ));
        }
    }
    for g in &e.tier_gaps {
        let ok = a
            .gaps
            .iter()
            .filter(|x| x.target.starts_with("tier"))
            .any(|x| x.outcomes.iter().any(|o| &o.outcome == g));
        if !ok {
            bad.push(format!("tier gaps: `{g}` missing"));
        }
    }
    bad
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml" || x == "json"))
        .collect();
    v.sort();
    v
}

#[test]
fn expected_verdicts_of_example_profiles() {
    let cat = Catalog::embedded().unwrap();
    let cases = files(&root().join("examples/expected"));
    assert!(
        cases.len() >= 6,
        "at least six example cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for c in &cases {
        for f in run_case(&cat, c) {
            failures.push(format!("{}: {f}", c.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} expectation(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Each bad TOML profile starts with `# expect: LINE FIELD :: MESSAGE-SUBSTRING` (FIELD may be
/// `-`); a bad JSON profile (which cannot hold a comment) has the same line, without `# expect:`,
/// in a sidecar file `NAME.json.expect`.
#[test]
fn bad_profiles_give_precise_errors() {
    let cat = Catalog::embedded().unwrap();
    let dir = root().join("tests/bad-profiles");
    let mut cases = files(&dir);
    cases.extend(files(&dir.join("json")));
    assert!(cases.len() >= 20, "{} bad-profile cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let text = std::fs::read_to_string(c).unwrap();
        let spec = if c.extension().is_some_and(|x| x == "json") {
            let side = PathBuf::from(format!("{}.expect", c.display()));
            std::fs::read_to_string(&side)
                .unwrap_or_else(|e| panic!("{}: {e}", side.display()))
                .trim()
                .to_string()
        } else {
            let first = text.lines().next().unwrap_or("");
            first
                .trim_start_matches(['#', ' '])
                .strip_prefix("expect:")
                .unwrap_or_else(|| {
                    panic!(
                        "{}: first line must be `# expect: LINE FIELD :: MESSAGE`",
                        c.display()
                    )
                })
                .trim()
                .to_string()
        };
        let (head, msg) = spec.split_once("::").unwrap();
        let mut parts = head.split_whitespace();
        let line: usize = parts.next().unwrap().parse().unwrap();
        let field = parts.next().unwrap();
        let shown = c.display().to_string();
        match profile::parse(&cat, &text, InputFormat::from_path(&shown), &shown) {
            Ok(_) => failures.push(format!("{shown}: parsed without error")),
            Err(e) => {
                let field_ok = field == "-" || e.field.as_deref() == Some(field);
                if e.line != line || !field_ok || !e.message.contains(msg.trim()) {
                    failures.push(format!(
                        "{shown}: expected line {line} field {field} `{}`, got {e}",
                        msg.trim()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The bulk summary (fast path) says what the detailed assessment says.
#[test]
fn bulk_summary_agrees_with_the_detailed_assessment() {
    let cat = Catalog::embedded().unwrap();
    for p in files(&root().join("examples/profiles")) {
        let text = std::fs::read_to_string(&p).unwrap();
        let shown = p.display().to_string();
        let prof = profile::parse(&cat, &text, InputFormat::from_path(&shown), &shown).unwrap();
        let today = "2026-11-22".parse().unwrap();
        let ev = iotrust_assess::eval::evaluate(&cat, &prof, &[], today);
        let sum = ev.summary(&prof, Vec::new());
        let a = iotrust_assess::explain::detail(&ev, &prof, &[]);
        assert_eq!(sum.tier, a.summary.tier, "{shown}");
        for m in &a.markets {
            assert_eq!(
                sum.markets.get(&m.market),
                Some(&m.access),
                "{shown} {}",
                m.market
            );
        }
        for s in a.schemes.iter().filter(|s| s.in_scope) {
            let x = &sum.schemes[&s.scheme];
            assert_eq!(
                (x.conformance, &x.level),
                (s.conformance, &s.highest_level),
                "{shown} {}",
                s.scheme
            );
        }
        let labels: Vec<&String> = a
            .labels
            .iter()
            .filter(|l| l.obtainable)
            .map(|l| &l.label)
            .collect();
        assert_eq!(sum.labels.iter().collect::<Vec<_>>(), labels, "{shown}");
        assert_eq!(sum.outcomes, a.summary.outcomes, "{shown}");
    }
}

fn to_json(n: &iotrust_assess::tree::Located) -> serde_json::Value {
    use iotrust_assess::tree::Node;
    match &n.node {
        Node::Table(t) => {
            serde_json::Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Node::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        Node::Str(s) | Node::Date(s) => serde_json::Value::String(s.clone()),
        Node::Int(i) => serde_json::json!(i),
        Node::Float(f) => serde_json::json!(f),
        Node::Bool(b) => serde_json::json!(b),
        Node::Null => serde_json::Value::Null,
    }
}

#[test]
fn profile_json_schema_is_current_and_accepts_the_examples() {
    let cat = Catalog::embedded().unwrap();
    let generated = profile::json_schema(&cat);
    let path = root().join("schemas/profile.schema.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        committed == generated,
        "schemas/profile.schema.json is stale: run `iotrust catalog schema schemas`"
    );
    let validator = jsonschema::validator_for(&generated).unwrap();
    let examples = files(&root().join("examples/profiles"));
    for p in &examples {
        let doc = to_json(
            &iotrust_assess::tree::parse_toml(&std::fs::read_to_string(p).unwrap()).unwrap(),
        );
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {}", p.display(), errors.join("; "));
    }
    // and it rejects what the parser rejects
    let mut doc = to_json(
        &iotrust_assess::tree::parse_toml(&std::fs::read_to_string(&examples[0]).unwrap()).unwrap(),
    );
    doc["auth"]["uses_password"] = serde_json::json!(true);
    assert!(
        !validator.is_valid(&doc),
        "a misspelt fact must be rejected"
    );
}

/// CRA Art. 14 reporting applies from 2026-09-11, the rest of the CRA from 2027-12-11: a
/// product without a reporting process loses the EU market on the first date, not before.
#[test]
fn provisions_apply_from_their_own_dates() {
    let cat = Catalog::embedded().unwrap();
    let text = std::fs::read_to_string(root().join("examples/profiles/smart-lock.toml"))
        .unwrap()
        .replace(
            "exploited_reporting_process = true",
            "exploited_reporting_process = false",
        );
    let p = profile::parse(&cat, &text, InputFormat::Toml, "lock.toml").unwrap();
    let on = |d: &str| {
        iotrust_assess::eval::evaluate(&cat, &p, &[], d.parse().unwrap()).market_access("EU")
    };
    assert_eq!(on("2026-09-10"), Access::Yes);
    assert_eq!(on("2026-09-11"), Access::No);
    let a = assess(&cat, &p, &[], "2026-09-11".parse().unwrap());
    let eu = a.market("EU").unwrap();
    assert!(
        eu.statement.contains("eu-cra@2024 Art14-1-vulnerabilities"),
        "{}",
        eu.statement
    );
    assert!(
        eu.statement
            .contains("upcoming: eu-cra@2024 applies from 2027-12-11"),
        "{}",
        eu.statement
    );
}

fn example(cat: &Catalog, name: &str) -> iotrust_assess::profile::Profile {
    let text = std::fs::read_to_string(root().join("examples/profiles").join(name)).unwrap();
    profile::parse(cat, &text, InputFormat::Toml, name).unwrap()
}

fn provision<'a>(
    a: &'a Assessment,
    scheme: &str,
    id: &str,
) -> &'a iotrust_assess::result::ProvisionResult {
    a.schemes
        .iter()
        .find(|s| s.scheme == scheme)
        .unwrap()
        .provisions
        .iter()
        .find(|p| p.id == id)
        .unwrap()
}

#[test]
fn vehicle_unit_red_d_applies_e_and_f_are_derogated() {
    let cat = Catalog::embedded().unwrap();
    let p = example(&cat, "vehicle-telematics-unit.toml");
    let a = assess(&cat, &p, &[], "2026-12-07".parse().unwrap());
    let red = a
        .schemes
        .iter()
        .find(|s| s.scheme == "eu-red-da@2022")
        .unwrap();
    assert!(
        red.in_scope,
        "a derogation from some points keeps RED in scope"
    );
    assert_eq!(
        provision(&a, "eu-red-da@2022", "Art3-3-d").verdict,
        Verdict::Met
    );
    for id in ["Art3-3-e", "Art3-3-f"] {
        let pr = provision(&a, "eu-red-da@2022", id);
        assert_eq!(pr.verdict, Verdict::NotApplicable, "{id}");
        assert!(pr.reason.starts_with("derogated: "), "{id}: {}", pr.reason);
        assert!(pr.reason.contains("2019/2144"), "{id}: {}", pr.reason);
    }
    // the same unit as a smart appliance is not derogated: (e) and (f) apply (their conditions hold)
    let text =
        std::fs::read_to_string(root().join("examples/profiles/vehicle-telematics-unit.toml"))
            .unwrap()
            .replace("category = \"vehicle\"", "category = \"smart-appliance\"");
    let q = profile::parse(&cat, &text, InputFormat::Toml, "appliance.toml").unwrap();
    let b = assess(&cat, &q, &[], "2026-12-07".parse().unwrap());
    for id in ["Art3-3-e", "Art3-3-f"] {
        assert_ne!(
            provision(&b, "eu-red-da@2022", id).verdict,
            Verdict::NotApplicable,
            "{id}"
        );
    }
}

#[test]
fn psti_compliance_exempts_only_three_star1_items_from_2026() {
    let cat = Catalog::embedded().unwrap();
    let p = example(&cat, "baby-monitor.toml");
    let a = assess(&cat, &p, &[], "2026-12-07".parse().unwrap());
    let s16 = provision(&a, "jp-jc-star@2025", "S1.1-16");
    assert_eq!(s16.verdict, Verdict::Met);
    assert!(s16.reason.contains("uk-psti-to-jp-star1"), "{}", s16.reason);
    // items outside the arrangement keep their own verdicts
    assert_eq!(
        provision(&a, "jp-jc-star@2025", "S1.1-06").verdict,
        Verdict::Unknown
    );
    // the arrangement does not confer the STAR-1 label
    assert!(!a
        .labels
        .iter()
        .any(|l| l.label == "jp-jc-star@2025#STAR-1" && l.note.contains("uk-psti@2023#compliant")));
    // before 1 Jan 2026 the exemption does not count
    let before = assess(&cat, &p, &[], "2025-12-31".parse().unwrap());
    assert_eq!(
        provision(&before, "jp-jc-star@2025", "S1.1-16").verdict,
        Verdict::Unknown
    );
}

#[test]
fn public_procurement_needs_the_cyber_trust_mark_from_2027_01_04() {
    let cat = Catalog::embedded().unwrap();
    let p = example(&cat, "smart-lock.toml");
    let rule = |day: &str| {
        let a = assess(&cat, &p, &[], day.parse().unwrap());
        let t = a
            .profiles
            .iter()
            .find(|t| t.id == "public-procurement")
            .unwrap()
            .clone();
        let l = t.labels.first().unwrap().clone();
        assert_eq!(l.label, "us-cyber-trust-mark@2024#mark");
        assert_eq!(l.from.unwrap().to_string(), "2027-01-04");
        assert!(!l.held);
        (l.in_force, t.reached, t.missing.is_empty())
    };
    let (in_force, _, _) = rule("2027-01-03");
    assert!(!in_force);
    let (in_force, reached, _) = rule("2027-01-04");
    assert!(in_force);
    assert!(
        !reached,
        "without the mark the profile is not reached from 2027-01-04"
    );
    // holding the mark lifts the rule
    let text = std::fs::read_to_string(root().join("examples/profiles/smart-lock.toml")).unwrap()
        + "\n[[labels]]\nlevel = \"us-cyber-trust-mark@2024#mark\"\ncertificate = \"CTM-TEST\"\nvalid_until = 2029-01-01\n";
    let q = profile::parse(&cat, &text, InputFormat::Toml, "lock.toml").unwrap();
    let ev = iotrust_assess::eval::evaluate(&cat, &q, &[], "2027-01-04".parse().unwrap());
    let t = cat.tier("public-procurement").unwrap();
    assert_eq!(ev.tier_label_misses(t).count(), 0);
}
