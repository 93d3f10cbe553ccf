#![doc = include_str!("../README.md")]

pub mod document;
pub mod dsse;
pub mod fuzzing;
pub mod keys;
pub mod render;

pub use document::{DocumentInfo, InfoFile, IssueError, LabelDocument, LabelInfo};
pub use dsse::{
    envelope_of, sign, verify, verify_payload, Envelope, Verified, VerifiedPayload, VerifyError,
};
pub use keys::{Key, PublicKey, Role};
