//! Credential lists: the built-in Mirai and vendor-default lists, user files, masking.

use std::path::Path;

use crate::error::ProbeError;

const MIRAI_CSV: &str = include_str!("../data/mirai.csv");
const VENDOR_CSV: &str = include_str!("../data/vendor-defaults.csv");
const SNMP_COMMUNITIES: &str = include_str!("../data/snmp-communities.txt");

/// One user/password pair and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub user: String,
    pub password: String,
    /// Higher is tried first (Mirai weights; vendor entries weigh 2, user files 1000).
    pub weight: u32,
    /// `mirai`, `vendor`, `check-file` or the user's file name.
    pub source: String,
    /// Where the pair is documented as a default: a botnet's source (file and line), a
    /// vendor's manual or a public default-credential list, a check file, a user file. A pair
    /// on several lists keeps every origin.
    pub provenance: Vec<String>,
}

/// The public repository and commit the Mirai pairs were decoded from (`data/SOURCES.md`).
const MIRAI_ORIGIN: &str = "jgamblin/Mirai-Source-Code@4889a6f mirai/bot/scanner.c";

impl Credential {
    /// The pair, masked: the first two characters of the user, stars for the rest and for
    /// every character of the password.
    pub fn masked(&self) -> String {
        format!(
            "{}/{}",
            mask_user(&self.user),
            mask_password(&self.password)
        )
    }

    /// The pair as shown: masked unless `show`.
    pub fn shown(&self, show: bool) -> String {
        if show {
            format!(
                "{}/{}",
                self.user,
                if self.password.is_empty() {
                    "(empty)"
                } else {
                    &self.password
                }
            )
        } else {
            self.masked()
        }
    }
}

fn mask_user(u: &str) -> String {
    let n = u.chars().count();
    if n == 0 {
        return "(empty)".into();
    }
    let keep = if n > 2 { 2 } else { 1 };
    u.chars()
        .take(keep)
        .chain(std::iter::repeat_n('*', n - keep))
        .collect()
}

fn mask_password(p: &str) -> String {
    if p.is_empty() {
        "(empty)".into()
    } else {
        "*".repeat(p.chars().count())
    }
}

/// Split one CSV line into fields (double-quoted fields may contain commas and `""`).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut q = false;
    let mut it = line.chars().peekable();
    while let Some(c) = it.next() {
        match (c, q) {
            ('"', true) if it.peek() == Some(&'"') => {
                cur.push('"');
                it.next();
            }
            ('"', _) => q = !q,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn norm_password(p: &str) -> String {
    match p {
        "(none)" | "<BLANK>" | "<empty>" | "(empty)" => String::new(),
        p => p.to_string(),
    }
}

/// An ordered, de-duplicated credential list.
#[derive(Clone, Debug, Default)]
pub struct CredentialList {
    entries: Vec<Credential>,
}

impl CredentialList {
    /// The 62 Mirai entries (61 pairs) with their weights.
    pub fn mirai() -> CredentialList {
        let mut l = CredentialList::default();
        for line in MIRAI_CSV.lines().skip(1) {
            let f = csv_fields(line);
            if f.len() >= 3 {
                let line = f.get(3).map(String::as_str).unwrap_or("?");
                l.push(Credential {
                    user: f[0].clone(),
                    password: f[1].clone(),
                    weight: f[2].parse().unwrap_or(1),
                    source: "mirai".into(),
                    provenance: vec![format!(
                        "botnet source: Mirai telnet scanner, {MIRAI_ORIGIN} line {line}"
                    )],
                });
            }
        }
        l
    }

    /// The vendor-default list.
    pub fn vendor() -> CredentialList {
        let mut l = CredentialList::default();
        for line in VENDOR_CSV.lines().skip(1) {
            let f = csv_fields(line);
            if f.len() >= 2 {
                let vendor = f.get(2).map(String::as_str).unwrap_or("unnamed vendors");
                l.push(Credential {
                    user: f[0].clone(),
                    password: f[1].clone(),
                    weight: 2,
                    source: "vendor".into(),
                    provenance: vec![format!(
                        "vendor default: {vendor} (public default-credential lists: SecLists, \
                         DefaultCreds cheat sheet, Metasploit wordlists)"
                    )],
                });
            }
        }
        l
    }

    /// Mirai and vendor defaults together, most common first.
    pub fn builtin() -> CredentialList {
        let mut l = CredentialList::mirai();
        for c in CredentialList::vendor().entries {
            l.push(c);
        }
        l.sort();
        l
    }

    /// Parse a user file: `user:password` lines, or CSV `user,password[,...]` (a header
    /// line starting with `user` is skipped). `#` comments and blank lines are ignored;
    /// `(none)`, `<BLANK>` and `<empty>` mean an empty password.
    pub fn parse(text: &str, name: &str) -> Result<CredentialList, ProbeError> {
        let mut l = CredentialList::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let (u, p) = if line.contains(',') {
                let f = csv_fields(line);
                if i == 0 && f[0].trim().eq_ignore_ascii_case("user") {
                    continue;
                }
                (f[0].clone(), f.get(1).cloned().unwrap_or_default())
            } else if let Some((u, p)) = line.split_once(':') {
                (u.to_string(), p.to_string())
            } else {
                return Err(ProbeError::Credentials {
                    path: name.to_string(),
                    line: i + 1,
                    message: "expected `user:password` or `user,password`".into(),
                });
            };
            if u.len() > 256 || p.len() > 256 {
                return Err(ProbeError::Credentials {
                    path: name.to_string(),
                    line: i + 1,
                    message: "user or password longer than 256 bytes".into(),
                });
            }
            l.push(Credential {
                user: u,
                password: norm_password(&p),
                weight: 1000,
                source: name.to_string(),
                provenance: vec![format!("credential file {name}, line {}", i + 1)],
            });
        }
        Ok(l)
    }

    /// Read a user file.
    pub fn from_file(path: &Path) -> Result<CredentialList, ProbeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProbeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        CredentialList::parse(&text, &path.display().to_string())
    }

    /// Add one entry unless the pair is already present (the higher weight is kept).
    pub fn push(&mut self, c: Credential) {
        match self
            .entries
            .iter_mut()
            .find(|e| e.user == c.user && e.password == c.password)
        {
            Some(e) => {
                e.weight = e.weight.max(c.weight);
                for p in c.provenance {
                    if !e.provenance.contains(&p) {
                        e.provenance.push(p);
                    }
                }
            }
            None => self.entries.push(c),
        }
    }

    /// Append another list.
    pub fn extend(&mut self, other: CredentialList) {
        for c in other.entries {
            self.push(c);
        }
        self.sort();
    }

    /// Sort by weight, highest first (stable).
    pub fn sort(&mut self) {
        self.entries.sort_by_key(|e| std::cmp::Reverse(e.weight));
    }

    /// The entries in order.
    pub fn entries(&self) -> &[Credential] {
        &self.entries
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The built-in SNMP community list.
pub fn snmp_communities() -> Vec<String> {
    SNMP_COMMUNITIES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirai_list_is_complete() {
        let m = CredentialList::mirai();
        assert_eq!(m.len(), 61, "62 entries, guest/12345 twice");
        assert!(m
            .entries()
            .iter()
            .any(|c| c.user == "Administrator" && c.password == "meinsm"));
        assert!(m
            .entries()
            .iter()
            .any(|c| c.user == "admin" && c.password == "4321"));
        assert!(m
            .entries()
            .iter()
            .any(|c| c.user == "root" && c.password.is_empty()));
        assert_eq!(m.entries()[0].weight, 10);
        let b = CredentialList::builtin();
        assert!(b.len() > 61 && b.len() < 120);
        assert_eq!(
            (
                b.entries()[0].user.as_str(),
                b.entries()[0].password.as_str()
            ),
            ("root", "xc3511")
        );
    }

    #[test]
    fn masking() {
        let c = Credential {
            user: "root".into(),
            password: "xc3511".into(),
            weight: 1,
            source: "t".into(),
            provenance: Vec::new(),
        };
        assert_eq!(c.masked(), "ro**/******");
        assert_eq!(c.shown(true), "root/xc3511");
        let c = Credential {
            user: "ab".into(),
            password: String::new(),
            weight: 1,
            source: "t".into(),
            provenance: Vec::new(),
        };
        assert_eq!(c.masked(), "a*/(empty)");
    }

    #[test]
    fn user_files() {
        let l = CredentialList::parse(
            "user,password\nadmin,\"a,b\"\n# c\nroot:toor:x\nguest:(none)\n",
            "f",
        )
        .unwrap();
        let pairs: Vec<_> = l
            .entries()
            .iter()
            .map(|c| (c.user.as_str(), c.password.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![("admin", "a,b"), ("root", "toor:x"), ("guest", "")]
        );
        assert!(matches!(
            CredentialList::parse("nocolon\n", "f"),
            Err(ProbeError::Credentials { line: 1, .. })
        ));
        assert!(snmp_communities().contains(&"public".to_string()));
    }

    /// Every built-in pair says where it is documented as a default; a pair on both lists
    /// keeps both origins.
    #[test]
    fn builtin_pairs_carry_provenance() {
        let b = CredentialList::builtin();
        assert!(b.entries().iter().all(|c| !c.provenance.is_empty()));
        let xc = b
            .entries()
            .iter()
            .find(|c| c.user == "root" && c.password == "xc3511")
            .unwrap();
        assert_eq!(
            xc.provenance[0],
            format!("botnet source: Mirai telnet scanner, {MIRAI_ORIGIN} line 124")
        );
        assert!(xc.provenance[1].starts_with("vendor default: XiongMai"));
        let aa = b
            .entries()
            .iter()
            .find(|c| c.user == "admin" && c.password == "admin")
            .unwrap();
        assert_eq!(aa.provenance.len(), 2, "{:?}", aa.provenance);
        assert!(aa.provenance[0].starts_with("botnet source: Mirai"));
        assert!(aa.provenance[1].starts_with("vendor default: TP-Link"));
    }
}
