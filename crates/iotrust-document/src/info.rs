//! The info file (`--info`): the label's info file, whose `[document]` table holds what laws ask
//! documents to hold and neither profile nor assessment knows. Parsed with serde; errors name
//! the file, line and key.

use std::path::{Path, PathBuf};

use iotrust_label::InfoFile;

use crate::error::DocumentError;

/// An info file and the folder its relative paths start from.
#[derive(Clone, Debug, Default)]
pub struct Info {
    pub file: InfoFile,
    pub base: PathBuf,
    pub path: Option<PathBuf>,
}

impl Info {
    /// Parse an info file's text; `shown` names it in errors.
    pub fn parse(text: &str, shown: &str, base: &Path) -> Result<Info, DocumentError> {
        let file: InfoFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            DocumentError::Info {
                path: match line {
                    Some(l) => format!("{shown}:{l}"),
                    None => shown.to_string(),
                },
                message: e.message().to_string(),
            }
        })?;
        Ok(Info {
            file,
            base: base.to_path_buf(),
            path: Some(PathBuf::from(shown)),
        })
    }

    /// Read and parse the info file at `path`.
    pub fn read(path: &Path) -> Result<Info, DocumentError> {
        let text = std::fs::read_to_string(path).map_err(|e| DocumentError::io(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Info::parse(&text, &path.display().to_string(), base)
    }

    /// An info field's value (the label's `update_instructions` stands in for the document's).
    pub fn get(&self, key: &str) -> Option<String> {
        self.file.document.get(key).or_else(|| match key {
            "update_instructions" => self
                .file
                .update_instructions
                .clone()
                .filter(|s| !s.trim().is_empty()),
            _ => None,
        })
    }

    /// The file an info value names, when it is a relative path to an existing file.
    pub fn attachment(&self, value: &str) -> Option<PathBuf> {
        let v = value.trim();
        if v.contains("://") || v.contains('\n') || v.len() > 300 {
            return None;
        }
        let p = self.base.join(v);
        p.is_file().then_some(p)
    }
}
