#![doc = include_str!("../README.md")]

pub mod check;
pub mod enforce;
pub mod fuzzing;
pub mod generate;
pub mod model;
pub mod nft;
pub mod policy;
pub mod signature;

pub use check::{CheckFailed, Diagnostic, Severity};
pub use model::*;
pub use policy::{Context, Conversation, Departure, Policy, Verdict};

impl MudFile {
    /// Parse and check a MUD file; warnings come with the file, errors (and the warnings
    /// before them) in [`CheckFailed`]. Every diagnostic carries its JSON path.
    pub fn parse(bytes: &[u8]) -> Result<(MudFile, Vec<Diagnostic>), CheckFailed> {
        check::parse(bytes)
    }
}
