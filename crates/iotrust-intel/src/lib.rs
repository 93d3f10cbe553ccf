//! Threat-intel feeds as indicator sources.
//!
//! Reads the feeds a provider receives — STIX 2.1 bundles, MISP events and feeds, abuse.ch
//! Feodo Tracker / ThreatFox / URLhaus exports, Spamhaus DROP — into one neutral list of
//! [`Entry`]s: what to watch for ([`Subject`]: address, address and port, prefix, prefix
//! and port, domain), where it came from, its labels (malware family) and its validity.
//!
//! A bad entry is a [`Problem`] (file, line, why) and is skipped; the rest load. An entry
//! for an address that can never be a C2 (unspecified, loopback, multicast, private,
//! link-local; prefixes shorter than /8 or /16) is a problem too: one such line would flag
//! every subscriber. A file in no known format, or unreadable, is an [`Error`].
//!
//! ```
//! let feed = iotrust_intel::parse(b"# Feodo Tracker\n203.0.113.7\n", "feodo", None).unwrap();
//! assert_eq!(feed.format, iotrust_intel::Format::Feodo);
//! assert_eq!(feed.entries[0].subject.to_string(), "203.0.113.7");
//! ```

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::Timestamp;
use serde::Serialize;

mod abusech;
mod detect;
pub mod fuzzing;
mod misp;
mod spamhaus;
mod stix;
mod subject;
mod util;

pub use subject::Subject;

/// One indicator from a feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub subject: Subject,
    /// The feed's name: the file stem, or the name given to [`parse`].
    pub feed: String,
    /// The feed's id or name for the entry (STIX indicator name or id, MISP attribute uuid,
    /// ThreatFox ioc_id, URLhaus id, Spamhaus SBL id, …).
    pub entry: String,
    /// Malware family, threat type, tags: what an incident should say this indicator is.
    pub labels: Vec<String>,
    pub valid_from: Option<Timestamp>,
    /// Past this time the entry is dropped by [`Feed::expire`].
    pub valid_until: Option<Timestamp>,
    /// 1-based line of the entry (for JSON, the line where its object starts).
    pub line: usize,
    /// The whole URL when the subject is a URL's host: a URL on a shared host (a code
    /// hosting site, a CDN) names more than the malware; the integrator may want to see it.
    pub url: Option<String>,
}

/// A bad entry, skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based; the line of the entry's JSON object for JSON feeds.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// What a feed file held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Feed {
    pub entries: Vec<Entry>,
    pub problems: Vec<Problem>,
    /// Indicators or parts of them this crate does not turn into entries: file hashes, other
    /// pattern languages, MISP attribute types without a network subject, STIX comparisons
    /// that cannot be expressed (see the README).
    pub skipped_unsupported: usize,
    /// Indicators the feed itself marks as not to act on: STIX `revoked`, MISP `deleted`, MISP
    /// `to_ids: false` (unless [`Options::include_non_ids`]).
    pub skipped_inactive: usize,
    pub format: Format,
}

impl Feed {
    fn new(format: Format) -> Feed {
        Feed {
            entries: Vec::new(),
            problems: Vec::new(),
            skipped_unsupported: 0,
            skipped_inactive: 0,
            format,
        }
    }

    /// Drop the entries whose `valid_until` is at or before `now`; returns how many.
    pub fn expire(&mut self, now: Timestamp) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|e| e.valid_until.is_none_or(|until| until > now));
        before - self.entries.len()
    }

    fn merge(&mut self, other: Feed) {
        self.entries.extend(other.entries);
        self.problems.extend(other.problems);
        self.skipped_unsupported += other.skipped_unsupported;
        self.skipped_inactive += other.skipped_inactive;
    }
}

/// The feed formats read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// STIX 2.1 bundle, or one indicator object.
    Stix,
    /// MISP event JSON, or a MISP feed directory (`manifest.json` + `<uuid>.json`).
    Misp,
    /// abuse.ch Feodo Tracker IP blocklist: plain text, CSV or JSON.
    Feodo,
    /// abuse.ch ThreatFox export: CSV or JSON.
    ThreatFox,
    /// abuse.ch URLhaus database dump: CSV or JSON.
    Urlhaus,
    /// Spamhaus DROP / EDROP: classic text or JSON lines.
    Drop,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Stix,
        Format::Misp,
        Format::Feodo,
        Format::ThreatFox,
        Format::Urlhaus,
        Format::Drop,
    ];

    /// The name [`FromStr`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Format::Stix => "stix",
            Format::Misp => "misp",
            Format::Feodo => "feodo",
            Format::ThreatFox => "threatfox",
            Format::Urlhaus => "urlhaus",
            Format::Drop => "drop",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name [`Format`] does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown feed format `{0}` (stix, misp, feodo, threatfox, urlhaus, drop)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        let name = s.trim().to_ascii_lowercase();
        let format = match name.as_str() {
            "stix" | "stix2" | "stix2.1" => Format::Stix,
            "misp" => Format::Misp,
            "feodo" | "feodotracker" => Format::Feodo,
            "threatfox" => Format::ThreatFox,
            "urlhaus" => Format::Urlhaus,
            "drop" | "edrop" | "spamhaus" => Format::Drop,
            _ => return Err(UnknownFormat(s.to_string())),
        };
        Ok(format)
    }
}

/// Why a whole file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot read: {source}", file.display())]
    Read { file: PathBuf, source: io::Error },
    #[error("{}: not a known feed format ({reason})", file.display())]
    UnknownFormat { file: PathBuf, reason: String },
    #[error("{}: not a {format} feed: {reason}", file.display())]
    Malformed {
        file: PathBuf,
        format: Format,
        reason: String,
    },
}

/// Choices beyond the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Load MISP attributes with `to_ids: false` too (by default they are context, not
    /// indicators, and are counted in `skipped_inactive`).
    pub include_non_ids: bool,
}

/// Read a feed file, or a MISP feed directory (or its `manifest.json`). The format is
/// detected from the content when `format` is `None`. The feed name is the file stem
/// (the directory name for a MISP feed).
pub fn load(path: &Path, format: Option<Format>) -> Result<Feed, Error> {
    load_with(path, format, &Options::default())
}

/// [`load`] with [`Options`].
pub fn load_with(path: &Path, format: Option<Format>, options: &Options) -> Result<Feed, Error> {
    if path.is_dir() {
        return misp::load_feed_dir(path, options);
    }
    if path.file_name().is_some_and(|n| n == "manifest.json")
        && matches!(format, None | Some(Format::Misp))
    {
        if let Some(dir) = path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            return misp::load_feed_dir(dir, options);
        }
    }
    let bytes = read(path)?;
    let name = feed_name(path);
    parse_file(&bytes, &name, path, format, options)
}

/// Parse feed bytes; `name` is the feed name and the file named in problems.
pub fn parse(bytes: &[u8], name: &str, format: Option<Format>) -> Result<Feed, Error> {
    parse_with(bytes, name, format, &Options::default())
}

/// [`parse`] with [`Options`].
pub fn parse_with(
    bytes: &[u8],
    name: &str,
    format: Option<Format>,
    options: &Options,
) -> Result<Feed, Error> {
    parse_file(bytes, name, Path::new(name), format, options)
}

/// Detect the format of feed bytes without reading entries.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let text = String::from_utf8_lossy(bytes);
    detect::detect(strip_bom(&text)).ok()
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|source| Error::Read {
        file: path.to_path_buf(),
        source,
    })
}

pub(crate) fn feed_name(path: &Path) -> String {
    path.file_stem()
        .or(path.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "feed".to_string())
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Everything a format reader needs about where it reads.
pub(crate) struct Ctx<'a> {
    pub feed: &'a str,
    pub file: &'a Path,
    pub options: &'a Options,
}

impl Ctx<'_> {
    pub(crate) fn problem(&self, out: &mut Feed, line: usize, message: impl Into<String>) {
        out.problems.push(Problem {
            file: self.file.to_path_buf(),
            line: line.max(1),
            message: message.into(),
        });
    }

    pub(crate) fn malformed(&self, format: Format, reason: impl Into<String>) -> Error {
        Error::Malformed {
            file: self.file.to_path_buf(),
            format,
            reason: reason.into(),
        }
    }

    /// An entry for `subject` (or a problem for its error), with the rest filled in by `f`.
    pub(crate) fn push(
        &self,
        out: &mut Feed,
        line: usize,
        subject: Result<Subject, String>,
        f: impl FnOnce(&mut Entry),
    ) {
        match subject {
            Ok(subject) => {
                let mut e = Entry {
                    subject,
                    feed: self.feed.to_string(),
                    entry: String::new(),
                    labels: Vec::new(),
                    valid_from: None,
                    valid_until: None,
                    line: line.max(1),
                    url: None,
                };
                f(&mut e);
                out.entries.push(e);
            }
            Err(message) => self.problem(out, line, message),
        }
    }
}

fn parse_file(
    bytes: &[u8],
    name: &str,
    file: &Path,
    format: Option<Format>,
    options: &Options,
) -> Result<Feed, Error> {
    let text = String::from_utf8_lossy(bytes);
    let text = strip_bom(&text);
    let format = match format {
        Some(f) => f,
        None => detect::detect(text).map_err(|reason| Error::UnknownFormat {
            file: file.to_path_buf(),
            reason,
        })?,
    };
    let ctx = Ctx {
        feed: name,
        file,
        options,
    };
    match format {
        Format::Stix => stix::parse(text, &ctx),
        Format::Misp => misp::parse(text, &ctx),
        Format::Feodo => abusech::feodo(text, &ctx),
        Format::ThreatFox => abusech::threatfox(text, &ctx),
        Format::Urlhaus => abusech::urlhaus(text, &ctx),
        Format::Drop => spamhaus::parse(text, &ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
            assert_eq!(f.to_string().to_uppercase().parse::<Format>().unwrap(), f);
        }
        assert_eq!("edrop".parse::<Format>().unwrap(), Format::Drop);
        let err = "openioc".parse::<Format>().unwrap_err();
        assert!(err.to_string().contains("openioc"));
    }
}
