#![doc = include_str!("../README.md")]

pub mod build;
pub mod bundle;
pub mod error;
pub mod info;
pub mod model;
pub mod pdf;
pub mod render;

pub use build::{write, Inputs};
pub use error::{DocumentError, Refusal};
pub use model::{Document, Item, Value};
