#![doc = include_str!("../README.md")]

pub mod catalog;
pub mod crosswalk;
pub mod diff;
pub mod expr;
pub mod load;
pub mod model;
pub mod obligation;
pub mod oscal;
pub mod schema;

pub use catalog::{Catalog, Outcome, Recognition, Scheme, Tier};
pub use load::{CatalogError, Diagnostic};
pub use obligation::{mapping_basis, Obligation};
