#![doc = include_str!("../README.md")]

pub mod communications;
pub mod cra_route;
mod derived;
pub mod eval;
pub mod evidence;
pub mod explain;
pub mod fuzzing;
pub mod input;
pub mod interfaces;
pub mod migrate;
pub mod observed;
pub mod profile;
pub mod report;
pub mod result;
pub mod template;
pub mod tree;

pub use explain::assess;
pub use profile::{InputError, InputFormat, Profile};
pub use result::{Assessment, Verdict};
