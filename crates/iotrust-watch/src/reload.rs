//! Where C2 indicators come from (an indicator file and threat-intel feeds), and their
//! reload while a long-running source runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::detectors::c2::Indicators;
use crate::engine::Engine;
use crate::error::Error;

/// The indicator file and the feed files (with the feeds' format, or `None` to tell it
/// from the content).
#[derive(Clone, Debug, Default)]
pub struct IndicatorSources {
    pub file: Option<PathBuf>,
    pub feeds: Vec<PathBuf>,
    pub format: Option<iotrust_intel::Format>,
}

impl IndicatorSources {
    /// Every file, the indicator file first.
    pub fn paths(&self) -> impl Iterator<Item = &PathBuf> {
        self.file.iter().chain(&self.feeds)
    }

    /// The indicator file, then every feed's entries ([`Indicators::add_feed`]). Entries a
    /// feed could not read are told to `say` with their file and line, and skipped; so is
    /// how many indicators each feed gave.
    pub fn load(&self, mut say: impl FnMut(&str)) -> Result<Indicators, Error> {
        let mut ind = match &self.file {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::Setting {
                    setting: format!("cannot read {}", p.display()),
                    message: e.to_string(),
                })?;
                Indicators::parse(&text, &p.display().to_string())?
            }
            None => Indicators::default(),
        };
        for path in &self.feeds {
            let feed = iotrust_intel::load(path, self.format).map_err(|e| Error::Setting {
                setting: "--feed".into(),
                message: e.to_string(),
            })?;
            for p in &feed.problems {
                say(&format!("{p}: skipped"));
            }
            let (added, skipped) = ind.add_feed(&feed);
            for (line, m) in skipped {
                say(&format!("{}:{line}: {m}: skipped", path.display()));
            }
            say(&format!(
                "{}: {added} indicator(s) from a {} feed",
                path.display(),
                feed.format
            ));
        }
        Ok(ind)
    }
}

/// Loads the indicators again when a file of its sources changes: modification times and
/// lengths are looked at every `every`.
pub struct Reloader {
    sources: IndicatorSources,
    every: Duration,
    checked: Instant,
    stamp: Vec<Option<(SystemTime, u64)>>,
}

impl Reloader {
    /// `None` without any file, or with `every` zero.
    pub fn new(sources: IndicatorSources, every: Duration) -> Option<Reloader> {
        sources.paths().next()?;
        if every.is_zero() {
            return None;
        }
        let stamp = stamps(&sources);
        Some(Reloader {
            sources,
            every,
            checked: Instant::now(),
            stamp,
        })
    }

    /// Hands the engine the list anew if a file changed since it was last loaded; a list
    /// that does not load is told to `say` (once per change) and the one in force kept.
    pub fn poll(
        &mut self,
        engine: &mut impl Engine,
        mut say: impl FnMut(&str),
    ) -> Result<(), Error> {
        if self.checked.elapsed() < self.every {
            return Ok(());
        }
        self.checked = Instant::now();
        let stamp = stamps(&self.sources);
        if stamp == self.stamp {
            return Ok(());
        }
        self.stamp = stamp;
        let name = self
            .sources
            .paths()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        match self.sources.load(&mut say) {
            Ok(ind) => {
                say(&format!(
                    "{name} changed: {} indicator(s) in force",
                    ind.len()
                ));
                engine.set_indicators(ind)?;
            }
            Err(e) => say(&format!("{e}; the indicators loaded before stay in force")),
        }
        Ok(())
    }
}

fn stamps(sources: &IndicatorSources) -> Vec<Option<(SystemTime, u64)>> {
    sources.paths().map(|p| stamp(p)).collect()
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}
