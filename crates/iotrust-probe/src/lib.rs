#![doc = include_str!("../README.md")]

pub mod error;
pub mod net;
pub mod protocols;
pub mod target;

pub use error::ProbeError;
pub mod checkfile;
pub mod checks;
pub mod config;
mod context;
pub mod creds;
pub mod driver;
pub mod evidence;
pub mod families;
mod host;
mod identify;
mod observe;

pub use config::{Checks, Limits, ProbeConfig, Timeouts, Vantage};
pub use driver::{plan, probe, probe_blocking, probe_with_progress, Progress};
pub use evidence::{Device, Evidence, Facts, Finding, Service, Severity};
pub mod fuzzing;
pub mod import;
pub mod policy;
pub mod render;
