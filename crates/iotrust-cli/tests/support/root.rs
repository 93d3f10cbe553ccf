//! Tests that need root and system tools (network namespaces, nft, tcpdump).

use std::process::Command;

/// True if the test runs as root and every tool is on the path; outside CI a test that cannot
/// run says so and passes, in CI it fails.
pub fn can_run(what: &str, tools: &[&str]) -> bool {
    let can = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| o.stdout == b"0\n")
        && tools.iter().all(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if !can {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what} needs root and {tools:?}"
        );
        eprintln!("SKIPPED: {what} needs root and {tools:?}");
    }
    can
}
