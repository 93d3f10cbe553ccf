#![doc = include_str!("../README.md")]
#![recursion_limit = "512"]

/// The wire types and the blocking client (the `iotrust-registry-client` crate).
pub use iotrust_registry_client as client;
pub mod cra;
pub mod error;
pub mod http;
pub mod openapi;
pub mod pages;
mod pg;
mod pool;
pub mod registry;
pub use iotrust_registry_client::report;
#[cfg(feature = "testing")]
pub mod browser;
mod sqlite;
pub mod store;
mod svgcache;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{ApiError, RegistryError};
pub use http::{bind, router, serve, RateLimit};
pub use registry::{
    Access, Action, CheckItem, CheckRequest, CheckResponse, CheckResult, EvidenceFile, ProductView,
    Registry, Submission, Submitted,
};
pub use store::{Event, EventKind, Status};

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
