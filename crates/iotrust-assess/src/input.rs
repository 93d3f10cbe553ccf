//! One entry point for "a profile and its evidence" read from files: the profile, every
//! evidence file it names (relative to the profile's folder, filtered to its device), and
//! evidence files given beside it. `assess`, `label issue` and bulk runs read products this
//! way; the registry receives the same parts in a submission and parses them with the same
//! [`profile::parse`] and [`evidence::parse`].

use std::path::{Path, PathBuf};

use iotrust_catalog::Catalog;

use crate::evidence::{self, Evidence};
use crate::profile::{self, InputError, InputFormat, Profile};

/// A product as assessed: its profile and the evidence that goes with it.
pub struct Subject {
    pub profile: Profile,
    pub evidence: Vec<Evidence>,
}

/// Read the profile at `path` and its evidence (plus `extra` evidence files).
pub fn load(cat: &Catalog, path: &Path, extra: &[PathBuf]) -> Result<Subject, InputError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| InputError {
        file: shown.clone(),
        line: 0,
        field: None,
        message: format!("cannot read: {e}"),
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| InputError {
        file: shown.clone(),
        line: 0,
        field: None,
        message: "not UTF-8".into(),
    })?;
    let profile = profile::parse(cat, text, InputFormat::from_path(&shown), &shown)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let evidence = evidence_of(cat, base, &profile, extra)?;
    Ok(Subject { profile, evidence })
}

/// The evidence files a parsed profile names (relative to `base`) and the `extra` ones.
pub fn evidence_of(
    cat: &Catalog,
    base: &Path,
    p: &Profile,
    extra: &[PathBuf],
) -> Result<Vec<Evidence>, InputError> {
    let mut out = Vec::new();
    let mut read = |path: &Path, device: Option<&str>, line: usize| -> Result<(), InputError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InputError {
            file: p.source.clone(),
            line,
            field: Some("evidence".into()),
            message: format!("cannot read evidence file {shown}: {e}"),
        })?;
        out.push(evidence::parse(cat, &text, &shown, device)?);
        Ok(())
    };
    for r in &p.evidence {
        read(&base.join(&r.file), r.device.as_deref(), r.line)?;
    }
    for e in extra {
        read(e, None, 0)?;
    }
    Ok(out)
}
