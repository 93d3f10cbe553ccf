#![doc = include_str!("../README.md")]

pub mod engine;
pub mod eval;
pub mod evidence;
pub mod fuzzing;
pub mod profile;
pub mod report;
pub mod result;
pub mod template;
pub mod tree;

pub use engine::assess;
pub use profile::{InputError, InputFormat, Profile};
pub use result::{Assessment, Verdict};
