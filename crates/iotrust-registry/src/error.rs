//! Why the registry refused or failed a request. The rules say *what* went wrong; only the
//! HTTP edge (`http.rs`, [`RegistryError::status`]) turns that into a status code.

use crate::store::StoreError;

/// A refused or failed request; the message names the field or rule (lowercase, user input in
/// backticks).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No bearer token, or one the registry does not know.
    #[error("{0}")]
    Unauthorized(String),
    /// A known token whose role or owner may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such product (or route).
    #[error("{0}")]
    NotFound(String),
    /// The stored state does not allow it (a revoked label, a status change from the wrong
    /// status, a report id another provider owns).
    #[error("{0}")]
    Conflict(String),
    /// A malformed request: `field` names what is wrong.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Well-formed, but refused by a rule (a label that does not verify, a profile that does
    /// not support its tier, a report whose signature fails).
    #[error("{0}")]
    Rejected(String),
    /// More than a request may carry.
    #[error("{0}")]
    TooLarge(String),
    /// Too many requests from one client.
    #[error("{0}")]
    RateLimited(String),
    /// The server is shutting down.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or an unreadable stored record.
    #[error("{0}")]
    Internal(String),
}

/// The old name, kept for callers of the library.
pub type ApiError = RegistryError;

impl RegistryError {
    /// The HTTP status code for this error (used only at the HTTP edge).
    pub fn status(&self) -> u16 {
        match self {
            RegistryError::Unauthorized(_) => 401,
            RegistryError::Forbidden(_) => 403,
            RegistryError::NotFound(_) => 404,
            RegistryError::Conflict(_) => 409,
            RegistryError::Invalid { .. } => 400,
            RegistryError::Rejected(_) => 422,
            RegistryError::TooLarge(_) => 413,
            RegistryError::RateLimited(_) => 429,
            RegistryError::Unavailable(_) => 503,
            RegistryError::Store(_) | RegistryError::Internal(_) => 500,
        }
    }
}

pub(crate) fn unauthorized(m: impl Into<String>) -> RegistryError {
    RegistryError::Unauthorized(m.into())
}
pub(crate) fn forbidden(m: impl Into<String>) -> RegistryError {
    RegistryError::Forbidden(m.into())
}
pub(crate) fn not_found(m: impl Into<String>) -> RegistryError {
    RegistryError::NotFound(m.into())
}
pub(crate) fn conflict(m: impl Into<String>) -> RegistryError {
    RegistryError::Conflict(m.into())
}
pub(crate) fn invalid(field: &str, m: impl Into<String>) -> RegistryError {
    RegistryError::Invalid {
        field: field.to_string(),
        message: m.into(),
    }
}
pub(crate) fn rejected(m: impl Into<String>) -> RegistryError {
    RegistryError::Rejected(m.into())
}
pub(crate) fn too_large(m: impl Into<String>) -> RegistryError {
    RegistryError::TooLarge(m.into())
}
pub(crate) fn internal(m: impl Into<String>) -> RegistryError {
    RegistryError::Internal(m.into())
}
