//! schemathesis (from PyPI; scripts/test.sh installs it) generates requests from the OpenAPI
//! document — valid, boundary and malformed — and checks every answer: never a 5xx, status
//! codes and content types as documented, bodies matching the response schemas.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;
use iotrust_registry::Registry;

#[test]
fn schemathesis_finds_no_server_error_and_no_undocumented_answer() {
    let dir = TempDir::new("registry-st");
    let reg = Registry::open(&dir.db(), catalog(), access()).unwrap();
    for model in ["VD-SL4", "VD-SL3"] {
        reg.submit(&submission(model, days(900)), Some(TOK_VERIDOR), today())
            .unwrap();
    }
    let s = start(reg, None);
    let out = Command::new("schemathesis")
        .args(["run", &format!("{}/api/v1/openapi.json", s.base)])
        .args(["--max-examples", "25", "--seed", "1"])
        .args(["-H", &format!("Authorization: Bearer {TOK_VERIDOR}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(&*dir)
        .output()
        .unwrap_or_else(|e| panic!("schemathesis: {e} (pip install schemathesis; scripts/test.sh does)"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("passed"), "{text}");
    drop(s);
}
