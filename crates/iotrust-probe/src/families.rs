//! The botnet families and CVEs that use what the built-in rules find, kept as data with their
//! sources (`data/families.toml`), so that a built-in finding names them in its detail as the
//! findings of check files do ([`crate::checkfile::Check::finding`]).

use std::sync::LazyLock;

use serde::Deserialize;

use crate::evidence::Finding;

const FILE: &str = "data/families.toml";
const TEXT: &str = include_str!("../data/families.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    family: Vec<Entry>,
}

/// Who uses what one built-in rule finds.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The finding id.
    pub finding: String,
    /// The finding's service starts with this (`telnet/`); absent: any service.
    #[serde(default)]
    pub service: Option<String>,
    /// The finding's title contains this (`TR-06`: TR-064 and TR-069, on whatever port);
    /// absent: any title.
    #[serde(default)]
    pub title_contains: Option<String>,
    pub families: Vec<String>,
    #[serde(default)]
    pub cve: Vec<String>,
    /// Where the families and CVEs come from, each with its confidence (H/M/L).
    pub sources: Vec<String>,
}

/// Parse the table; an error names the file and line.
pub fn parse(file: &str, text: &str) -> Result<Vec<Entry>, crate::ProbeError> {
    let f: File = toml::from_str(text).map_err(|e| crate::ProbeError::Import {
        file: file.to_string(),
        line: e.span().map(|s| crate::checkfile::line_of(text, s.start)),
        field: None,
        message: e.message().to_string(),
    })?;
    for (i, e) in f.family.iter().enumerate() {
        if e.families.is_empty() || e.sources.is_empty() {
            return Err(crate::ProbeError::Import {
                file: file.to_string(),
                line: None,
                field: Some(format!("family[{i}]")),
                message: "an entry names its families and its sources".into(),
            });
        }
    }
    Ok(f.family)
}

/// The shipped table (tested to parse; an unreadable table would name nobody, never panic).
pub fn table() -> &'static [Entry] {
    static T: LazyLock<Vec<Entry>> = LazyLock::new(|| parse(FILE, TEXT).unwrap_or_default());
    &T
}

/// Add "used by …" (and the CVEs) to a built-in finding's detail when the table names who uses
/// what it found.
pub fn annotate(f: &mut Finding) {
    let Some(e) = table().iter().find(|e| {
        e.finding == f.id
            && e.service
                .as_deref()
                .is_none_or(|p| f.service.as_deref().is_some_and(|s| s.starts_with(p)))
            && e.title_contains
                .as_deref()
                .is_none_or(|t| f.title.contains(t))
    }) else {
        return;
    };
    let mut add = format!("used by {}", e.families.join(", "));
    if !e.cve.is_empty() {
        add.push_str(&format!(" ({})", e.cve.join(", ")));
    }
    f.detail = Some(match f.detail.take() {
        Some(d) if !d.is_empty() => format!("{d}; {add}"),
        _ => add,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{self, Finding};

    #[test]
    fn the_shipped_table_parses_and_every_entry_is_a_known_rule_with_sources() {
        let t = parse(FILE, TEXT).unwrap();
        assert!(t.len() >= 5);
        for e in &t {
            assert!(
                evidence::RULES.iter().any(|r| r.id == e.finding),
                "{}",
                e.finding
            );
            assert!(
                e.sources.iter().all(|s| s.ends_with("(H)")
                    || s.ends_with("(M)")
                    || s.ends_with("(L)")
                    || s.contains("(M,")
                    || s.contains("(L,")),
                "{}: every source has a confidence",
                e.finding
            );
        }
    }

    #[test]
    fn findings_name_who_uses_them() {
        let mut telnet = Finding::new(
            &evidence::NEEDLESS_SERVICE,
            Some("telnet/2323".into()),
            None,
            Some("telnet gives a remote shell".into()),
        );
        annotate(&mut telnet);
        let d = telnet.detail.unwrap();
        assert!(
            d.starts_with("telnet gives a remote shell; used by Mirai"),
            "{d}"
        );
        let mut cwmp = Finding::new(
            &evidence::NEEDLESS_SERVICE,
            Some("http/5000".into()),
            Some("TR-064 CPE management service answers on the local network".into()),
            None,
        );
        annotate(&mut cwmp);
        assert!(cwmp.detail.unwrap().contains("(CVE-2016-10372)"));
        // FTP is needless too, but no family is on record for it: unchanged.
        let mut ftp = Finding::new(
            &evidence::NEEDLESS_SERVICE,
            Some("ftp/21".into()),
            None,
            None,
        );
        annotate(&mut ftp);
        assert_eq!(ftp.detail, None);
    }

    #[test]
    fn a_broken_table_is_an_error_with_file_and_line() {
        let e = parse("f.toml", "[[family]]\nfinding = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.toml") && e.contains("line 2"), "{e}");
        let e = parse(
            "f.toml",
            "[[family]]\nfinding = \"x\"\nfamilies = []\nsources = []\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("family[0]"), "{e}");
    }
}
