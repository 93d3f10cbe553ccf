//! Why a document is not written, and why a technical file does not verify.

use std::path::PathBuf;

use serde::Serialize;

/// A provision of the law that stops a declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failing {
    /// `uk-psti@2023#Sch1-para1`
    pub provision: String,
    pub title: String,
    /// `not-met` or `unknown`
    pub verdict: String,
    pub reason: String,
}

/// The assessment does not support what the document would declare.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub document: String,
    pub scheme: String,
    /// One sentence: out of scope, or conformance not met.
    pub why: String,
    pub failing: Vec<Failing>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no {} written: {}", self.document, self.why)?;
        for p in &self.failing {
            write!(
                f,
                "\n  {} {} ({}): {}",
                p.provision, p.title, p.verdict, p.reason
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The catalog has no form of this kind for the date.
    #[error("the catalog has no `{kind}` document for {date} (catalog/documents/)")]
    NoForm {
        kind: String,
        date: jiff::civil::Date,
    },
    /// Never a false declaration.
    #[error("{0}")]
    Refused(Refusal),
    #[error("{path}: {message}")]
    Info { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the PDF: {0}")]
    Pdf(String),
    #[error("cannot sign the manifest: {0}")]
    Sign(String),
    #[error("technical file does not verify: {0}")]
    Verify(String),
}

impl DocumentError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DocumentError::Io {
            path: path.into(),
            source,
        }
    }
}
