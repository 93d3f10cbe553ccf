//! Every real MUD file in tests/fixtures (origins in tests/fixtures/SOURCES.md) passes the
//! check; the pre-RFC draft file fails and is named as such; built negative cases name the
//! JSON path of their problem.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use iotrust_mud::{CheckFailed, MudFile, Severity};
use std::path::PathBuf;

fn fixture(rel: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const REAL: &[&str] = &[
    "cisco-luminaire/Luminaire_150.json",
    "mudmaker/cloud-service.json",
    "namib-unsw/Amazon-Echo.json",
    "namib-unsw/Ring-Doorbell.json",
    "nist/mudfile-controllerclass-test.json",
    "nist/mudfile-local-and-same-mfg-test.json",
    "nist/mudfile-mfg-test.json",
    "nist/mudfile-model-test.json",
    "osmud/rfc8520-example-lightbulb2000.json",
];

#[test]
fn every_real_file_passes() {
    for f in REAL {
        match MudFile::parse(&fixture(f)) {
            Ok((mud, warnings)) => {
                assert!(mud.url().starts_with("https://"), "{f}");
                assert!(!mud.acls.is_empty(), "{f}");
                for w in &warnings {
                    assert_eq!(w.severity, Severity::Warning);
                    assert!(w.path.starts_with('/'), "{f}: {w}");
                }
            }
            Err(e) => panic!("{f}: {e}\n{:#?}", e.diagnostics),
        }
    }
}

#[test]
fn luminaire_reads_its_abstractions() {
    let (mud, warnings) = MudFile::parse(&fixture("cisco-luminaire/Luminaire_150.json")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(mud.url(), "https://luminaire.example.com/Luminaire_150");
    assert_eq!(mud.systeminfo(), Some("MUD-enabled Luminaire"));
    assert_eq!(mud.cache_validity, 48);
    let fr = mud.acl("mud-21966-v4fr").unwrap();
    assert_eq!(fr.aces.len(), 3);
    assert_eq!(
        fr.aces[0]
            .matches
            .l3
            .as_ref()
            .unwrap()
            .dst_dnsname
            .as_deref(),
        Some("fw-update.luminaire.example.com")
    );
    assert!(fr.aces[1].matches.mud.my_controller);
    assert!(fr.aces[2].matches.mud.local_networks);
    assert_eq!(
        fr.aces[0].path,
        "/ietf-access-control-list:acls/acl/1/aces/ace/0"
    );
}

#[test]
fn mudgee_quirks_are_warnings_with_paths() {
    let (mud, warnings) = MudFile::parse(&fixture("namib-unsw/Ring-Doorbell.json")).unwrap();
    assert!(mud.access_lists_alias);
    assert_eq!(mud.cache_validity, 100);
    let has = |needle: &str, path: &str| {
        warnings
            .iter()
            .any(|w| w.message.contains(needle) && w.path == path)
    };
    assert!(
        has("access-lists", "/ietf-access-control-list:access-lists"),
        "{warnings:#?}"
    );
    assert!(
        has(
            "not registered",
            "/ietf-access-control-list:access-lists/acl/0/aces/ace/0/matches/ietf-mud:mud/controller"
        ),
        "{warnings:#?}"
    );
    let (_, echo) = MudFile::parse(&fixture("namib-unsw/Amazon-Echo.json")).unwrap();
    assert!(
        echo.iter().any(|w| w.message.contains("hex string")),
        "{echo:#?}"
    );
}

#[test]
fn legacy_draft_is_named_pre_rfc() {
    let e = MudFile::parse(&fixture("osmud/legacy-draft-lightbulb2000.json")).unwrap_err();
    assert!(e.pre_rfc_draft, "{e}");
    assert!(e.to_string().contains("pre-RFC draft syntax"), "{e}");
    assert!(
        e.errors().any(
            |d| d.path == "/ietf-access-control-list:access-lists/acl/0/acl-type"
                && d.message.contains("`type`")
        ),
        "{:#?}",
        e.diagnostics
    );
    assert!(e.errors().any(|d| d.message.contains("rule-name")));
}

/// The luminaire file with one change applied to its JSON tree.
fn broken(edit: impl FnOnce(&mut serde_json::Value)) -> CheckFailed {
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture("cisco-luminaire/Luminaire_150.json")).unwrap();
    edit(&mut v);
    MudFile::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err()
}

fn assert_error_at(e: &CheckFailed, path: &str, needle: &str) {
    assert!(
        e.errors()
            .any(|d| d.path == path && d.message.contains(needle)),
        "no error at {path} containing {needle:?}: {:#?}",
        e.diagnostics
    );
}

#[test]
fn missing_mud_url() {
    let e = broken(|v| {
        v["ietf-mud:mud"].as_object_mut().unwrap().remove("mud-url");
    });
    assert_error_at(&e, "/ietf-mud:mud", "mud-url");
}

#[test]
fn http_mud_url() {
    let e = broken(|v| v["ietf-mud:mud"]["mud-url"] = "http://x.example/a".into());
    assert_error_at(&e, "/ietf-mud:mud/mud-url", "https");
}

#[test]
fn policy_naming_an_undefined_acl() {
    let e = broken(|v| {
        v["ietf-mud:mud"]["to-device-policy"]["access-lists"]["access-list"][0]["name"] =
            "nope".into()
    });
    assert_error_at(
        &e,
        "/ietf-mud:mud/to-device-policy/access-lists/access-list/0/name",
        "`nope`",
    );
}

#[test]
fn bad_port_operator() {
    let e = broken(|v| {
        v["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["matches"]["tcp"]
            ["destination-port"]["operator"] = "lt".into()
    });
    assert_error_at(
        &e,
        "/ietf-access-control-list:acls/acl/1/aces/ace/0/matches/tcp/destination-port/operator",
        "operator `lt`",
    );
}

#[test]
fn inverted_port_range() {
    let e = broken(|v| {
        v["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["matches"]["tcp"]
            ["destination-port"] = serde_json::json!({"lower-port": 500, "upper-port": 400})
    });
    assert_error_at(
        &e,
        "/ietf-access-control-list:acls/acl/1/aces/ace/0/matches/tcp/destination-port",
        "above",
    );
}

#[test]
fn cache_validity_out_of_range() {
    let e = broken(|v| v["ietf-mud:mud"]["cache-validity"] = 169.into());
    assert_error_at(&e, "/ietf-mud:mud/cache-validity", "out of range 1..168");
    let e = broken(|v| v["ietf-mud:mud"]["cache-validity"] = 0.into());
    assert_error_at(&e, "/ietf-mud:mud/cache-validity", "out of range");
}

#[test]
fn wrong_types() {
    let e = broken(|v| v["ietf-mud:mud"]["is-supported"] = "yes".into());
    assert_error_at(&e, "/ietf-mud:mud/is-supported", "expected a boolean");
    let e = broken(|v| {
        v["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["matches"]["ipv4"]
            ["protocol"] = "6".into()
    });
    assert_error_at(
        &e,
        "/ietf-access-control-list:acls/acl/1/aces/ace/0/matches/ipv4/protocol",
        "expected an integer",
    );
    let e = broken(|v| {
        v["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][1]["matches"]["ietf-mud:mud"]
            ["my-controller"] = true.into()
    });
    assert_error_at(
        &e,
        "/ietf-access-control-list:acls/acl/1/aces/ace/1/matches/ietf-mud:mud/my-controller",
        "[null]",
    );
}

#[test]
fn protocol_disagrees_with_l4() {
    let e = broken(|v| {
        v["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["matches"]["ipv4"]
            ["protocol"] = 17.into()
    });
    assert_error_at(
        &e,
        "/ietf-access-control-list:acls/acl/1/aces/ace/0/matches/tcp",
        "protocol",
    );
}

#[test]
fn unknown_member_and_bad_timestamp() {
    let e = broken(|v| {
        v["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["matches"]["tcp"]
            ["destinaton-port"] = serde_json::json!({"port": 1})
    });
    assert_error_at(
        &e,
        "/ietf-access-control-list:acls/acl/1/aces/ace/0/matches/tcp/destinaton-port",
        "unknown member",
    );
    let e = broken(|v| v["ietf-mud:mud"]["last-update"] = "yesterday".into());
    assert_error_at(&e, "/ietf-mud:mud/last-update", "date-and-time");
}

#[test]
fn not_json_and_not_mud() {
    let e = MudFile::parse(b"{\"ietf-mud:mud\": ").unwrap_err();
    assert!(e.diagnostics[0].message.contains("line 1"), "{e}");
    let e = MudFile::parse(b"[1]").unwrap_err();
    assert!(e.errors().any(|d| d.path.is_empty()));
    let e = MudFile::parse(b"{}").unwrap_err();
    assert!(e.errors().any(|d| d.message.contains("ietf-mud:mud")));
}
