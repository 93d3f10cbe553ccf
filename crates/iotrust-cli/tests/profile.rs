//! `iotrust profile new` as a maker uses it: the template written, filled in and assessed; the
//! interactive questions answered through a real pseudo-terminal (expectrl); and the label
//! defects seen as a user (issue 15): no label beyond the end of support, `label show` in
//! plain words.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use expectrl::{Eof, Expect, Session};
use iotrust_assess::profile::{self, InputFormat};
use iotrust_assess::template;
use iotrust_catalog::expr::FactValue;
use iotrust_catalog::model::FactKind;
use iotrust_catalog::Catalog;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn iotrust(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iotrust"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(args: &[&str]) -> String {
    let o = iotrust(args);
    assert!(
        o.status.success(),
        "iotrust {args:?} failed: {}",
        text(&o.stderr)
    );
    text(&o.stdout)
}

#[test]
fn the_untouched_template_assesses_with_every_outcome_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("router.toml");
    let out_s = out.to_str().unwrap();
    ok(&[
        "profile",
        "new",
        "-o",
        out_s,
        "--category",
        "router",
        "--markets",
        "UK,EU",
    ]);
    let t = std::fs::read_to_string(&out).unwrap();
    // every fact of the catalog is in it, with its question
    let cat = Catalog::embedded().unwrap();
    for q in template::questions(&cat) {
        assert!(t.contains(&format!("(fact {}", q.fact)), "{}", q.fact);
        assert!(t.contains(&q.text), "{}", q.fact);
    }
    for phase in ["design", "setup", "sale", "maintenance", "sunsetting"] {
        assert!(t.contains(&format!("# --- {phase} ---")), "{phase}");
    }
    let json = ok(&["assess", out_s, "--date", "2026-12-07", "--format", "json"]);
    let a: serde_json::Value = serde_json::from_str(&json).unwrap();
    let outcomes = a["outcomes"].as_array().unwrap();
    assert!(!outcomes.is_empty());
    for o in outcomes {
        let v = o["verdict"].as_str().unwrap();
        assert!(v == "unknown" || v == "not-applicable", "{}: {v}", o["id"]);
    }
    let report = ok(&["assess", out_s, "--date", "2026-12-07"]);
    assert!(report.contains("0 met, 0 not met"), "{report}");

    // filled in by hand: remove the `# ` of a line and write the value
    let filled = t
        .replace(
            "# uses_passwords = true    # or false",
            "uses_passwords = false",
        )
        .replace("# published = true    # or false", "published = true");
    std::fs::write(&out, filled).unwrap();
    let json = ok(&["assess", out_s, "--date", "2026-12-07", "--format", "json"]);
    assert!(
        json.contains("\"met\""),
        "a declared fact decides something"
    );

    // an existing file is kept
    let o = iotrust(&["profile", "new", "-o", out_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("exists"), "{}", text(&o.stderr));
    // a category the catalog does not know
    let o = iotrust(&["profile", "new", "--category", "toaster"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("product.category: `toaster` is not allowed"),
        "{}",
        text(&o.stderr)
    );
    // no terminal: a clear error, not a hang
    let o = iotrust(&["profile", "new", "--interactive"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("needs a terminal"),
        "{}",
        text(&o.stderr)
    );
}

const UP: &str = "\x1b[A";
const DOWN: &str = "\x1b[B";

#[test]
fn interactive_answers_through_a_terminal_are_written_and_assess() {
    let cat = Catalog::embedded().unwrap();
    let qs = template::questions(&cat);
    let total = qs.len();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("answered.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iotrust"));
    cmd.args(["profile", "new", "--interactive", "-o"])
        .arg(&out)
        .current_dir(root())
        .env("TERM", "xterm");
    let mut s = Session::spawn(cmd).unwrap();
    s.get_process_mut().set_window_size(160, 50).unwrap();
    s.set_expect_timeout(Some(Duration::from_secs(60)));
    for (prompt, answer) in [
        ("Manufacturer", "Brisa Home Co."),
        ("Model designation", "BP-10"),
        ("Marketing name", "Brisa plug"),
        ("Hardware version", ""),
        ("Firmware version", "2.0.1"),
        ("Product page", ""),
    ] {
        s.expect(prompt).unwrap();
        s.send_line(answer).unwrap();
    }
    for (n, q) in qs.iter().enumerate() {
        s.expect(format!("[{}/{total}]", n + 1)).unwrap();
        let unknown = q.allowed.len(); // the default of a select: `unknown`, last
        match q.fact.as_str() {
            "product.category" => {
                // required: no unknown, the first category is the default
                let i = q.allowed.iter().position(|c| c == "smart-plug").unwrap();
                s.send(DOWN.repeat(i)).unwrap();
                s.send_line("").unwrap();
            }
            "product.markets" => {
                s.send_line("UK, Narnia").unwrap();
                s.expect("`Narnia` is not allowed").unwrap();
                // dialoguer keeps the text typed: erase it and answer again
                s.send("\x7f".repeat("UK, Narnia".len())).unwrap();
                s.send_line("UK, EU").unwrap();
            }
            "auth.uses_passwords" => {
                s.send(UP.repeat(2)).unwrap(); // yes
                s.send_line("").unwrap();
            }
            "integrity.tamper_response" => {
                s.send(UP).unwrap(); // no
                s.send_line("").unwrap();
            }
            "dev.process" => {
                let i = q.allowed.iter().position(|m| m == "nist-ssdf").unwrap();
                s.send(UP.repeat(unknown - i)).unwrap();
                s.send_line("").unwrap();
            }
            "support.end_date" => {
                s.send_line("2030-02-30").unwrap();
                s.expect("is not a date").unwrap();
                s.send("\x7f".repeat(10)).unwrap();
                s.send_line("2030-06-30").unwrap();
            }
            "vdp.acknowledgement_days" => s.send_line("5").unwrap(),
            "vdp.contact" => s.send_line("security@brisa-home.example").unwrap(),
            // everything else: Enter, which is unknown (for a yes/no question too)
            _ => s.send_line("").unwrap(),
        }
    }
    s.expect(Eof).unwrap();
    let status = s.get_process().wait().unwrap();
    assert!(
        matches!(status, expectrl::process::unix::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );

    let written = std::fs::read_to_string(&out).unwrap();
    let p = profile::parse(&cat, &written, InputFormat::Toml, "answered.toml").unwrap();
    assert_eq!(p.identity.manufacturer, "Brisa Home Co.");
    assert_eq!(p.identity.name.as_deref(), Some("Brisa plug"));
    assert_eq!(p.identity.hardware_version, None);
    let fact = |f: &str| {
        let (id, _) = cat.fact(f).unwrap();
        p.facts.get(id).map(|(v, _)| v.clone())
    };
    assert_eq!(
        fact("product.category"),
        Some(FactValue::Str("smart-plug".into()))
    );
    assert_eq!(
        fact("product.markets"),
        Some(FactValue::List(vec!["UK".into(), "EU".into()]))
    );
    assert_eq!(fact("auth.uses_passwords"), Some(FactValue::Bool(true)));
    assert_eq!(
        fact("integrity.tamper_response"),
        Some(FactValue::Bool(false))
    );
    assert_eq!(
        fact("dev.process"),
        Some(FactValue::Str("nist-ssdf".into()))
    );
    assert_eq!(
        fact("support.end_date"),
        Some(FactValue::Date("2030-06-30".parse().unwrap()))
    );
    assert_eq!(fact("vdp.acknowledgement_days"), Some(FactValue::Int(5)));
    // a question answered with Enter is unknown: not written, never false
    let answered = [
        "product.category",
        "product.markets",
        "auth.uses_passwords",
        "integrity.tamper_response",
        "dev.process",
        "support.end_date",
        "vdp.acknowledgement_days",
        "vdp.contact",
    ];
    for q in &qs {
        if !answered.contains(&q.fact.as_str()) {
            assert_eq!(fact(&q.fact), None, "{} was not answered", q.fact);
            if q.kind == FactKind::Bool {
                assert!(!written.contains(&format!("\n{} = ", q.key)), "{}", q.fact);
            }
        }
    }
    // and the written profile assesses
    let report = ok(&["assess", out.to_str().unwrap(), "--date", "2026-12-07"]);
    assert!(report.contains("Brisa Home Co. BP-10"), "{report}");
}

// ------------------------------------------------------------------------- labels (issue 15)

fn keys(dir: &Path) -> String {
    ok(&[
        "keys",
        "new",
        "--role",
        "issuing-body",
        "--name",
        "issuer",
        "--dir",
        dir.to_str().unwrap(),
    ])
}

/// The smart-lock example with its support period ending on `end`.
fn lock_ending(dir: &Path, end: &str) -> PathBuf {
    let t = std::fs::read_to_string(root().join("examples/profiles/smart-lock.toml")).unwrap();
    assert!(t.contains("end_date = 2033-01-31"));
    let p = dir.join(format!("lock-{end}.toml"));
    std::fs::write(
        &p,
        t.replace("end_date = 2033-01-31", &format!("end_date = {end}")),
    )
    .unwrap();
    p
}

fn issue(dir: &Path, profile: &Path, label: &Path) -> Output {
    iotrust(&[
        "label",
        "issue",
        profile.to_str().unwrap(),
        "--key",
        dir.join("issuer.key.json").to_str().unwrap(),
        "--info",
        "examples/labels/label-info.toml",
        "--date",
        "2026-11-22",
        "-o",
        label.to_str().unwrap(),
    ])
}

#[test]
fn regression_no_label_for_a_product_whose_support_ended_a_year_before() {
    let dir = tempfile::tempdir().unwrap();
    let said = keys(dir.path());
    assert!(said.contains("(issuing body)"), "{said}");
    let label = dir.path().join("ended.label.json");
    let o = issue(dir.path(), &lock_ending(dir.path(), "2025-11-22"), &label);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let err = text(&o.stderr);
    assert!(
        err.contains("no label issued")
            && err.contains("support for this product ended on 2025-11-22"),
        "{err}"
    );
    assert!(!label.exists(), "no label file is written");

    // support ending before the requested validity: the label stops at the end of support
    let label = dir.path().join("ending.label.json");
    let o = issue(dir.path(), &lock_ending(dir.path(), "2027-05-01"), &label);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("valid until 2027-05-01"),
        "{}",
        text(&o.stdout)
    );
    let show = ok(&["label", "show", label.to_str().unwrap()]);
    assert!(show.contains("valid until 2027-05-01"), "{show}");
    assert!(
        show.contains("support: until 2027-05-01 (ending soon)"),
        "{show}"
    );
}

#[test]
fn label_show_prints_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    keys(dir.path());
    let label = dir.path().join("lock.label.json");
    let o = issue(
        dir.path(),
        &root().join("examples/profiles/smart-lock.toml"),
        &label,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let show = ok(&["label", "show", label.to_str().unwrap()]);
    for debug in ["Some(", "None", "true", "false", "IssuingBody"] {
        assert!(!show.contains(debug), "`{debug}` in:\n{show}");
    }
    for line in [
        "Veridor Security Ltd VD-SL4 (smart-lock) — Veridor Bolt 4 smart deadbolt",
        "issued 2026-11-22  valid until 2028-11-",
        "iotrust tier: assured",
        "support: until 2033-01-31 (supported)",
        "automatic updates: yes",
        "SBOM: yes  HBOM: yes",
        "market access: ",
        "signatures: 1",
    ] {
        assert!(show.contains(line), "`{line}` missing in:\n{show}");
    }

    // an SBOM nobody established is unknown, not false
    let t = std::fs::read_to_string(root().join("examples/profiles/smart-lock.toml")).unwrap();
    let p = dir.path().join("no-sbom.toml");
    std::fs::write(&p, t.replace("sbom = true\n", "")).unwrap();
    let label = dir.path().join("no-sbom.label.json");
    assert!(issue(dir.path(), &p, &label).status.success());
    let show = ok(&["label", "show", label.to_str().unwrap()]);
    assert!(show.contains("SBOM: unknown  HBOM: yes"), "{show}");

    // verify names the signer's role in words
    let v = ok(&[
        "label",
        "verify",
        label.to_str().unwrap(),
        "--trust",
        dir.path().join("issuer.pub.json").to_str().unwrap(),
        "--date",
        "2027-01-01",
    ]);
    assert!(v.contains("issuer (issuing body)"), "{v}");
}
