//! The crate's one error type. Variants name the likely cause.

use std::net::IpAddr;
use std::path::PathBuf;

/// Everything that can stop a probe run before or while it starts. Problems with one device
/// (timeouts, garbage, refused connections) are not errors: they end up in the evidence.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A target string did not parse.
    #[error("`{0}` is not a target (expected an address, a CIDR, host:port, host:port/udp or a hostname)")]
    BadTarget(String),
    /// A scope entry did not parse.
    #[error(
        "`{0}` is not a CIDR range for --scope (expected for example 10.0.0.0/24 or 127.0.0.1)"
    )]
    BadScope(String),
    /// A target address is outside every `--scope` range.
    #[error("target `{0}` is outside the scope allow-list; widen --scope to include it")]
    OutOfScope(IpAddr),
    /// A target or scope entry is a public address and `allow_public` is off.
    #[error("`{0}` is a public address; pass --allow-public to probe public addresses you are authorised to test")]
    PublicRefused(String),
    /// An address that can never be probed (unspecified, multicast, broadcast).
    #[error("`{0}` cannot be probed (unspecified, multicast or broadcast address)")]
    Unprobeable(IpAddr),
    /// A CIDR expands to more hosts than the limit allows.
    #[error("`{range}` expands to {count} addresses, more than the limit of {limit}; split it or raise max_targets")]
    TooManyTargets {
        range: String,
        count: u128,
        limit: usize,
    },
    /// A hostname did not resolve.
    #[error("hostname `{0}` did not resolve to any address")]
    Unresolved(String),
    /// A file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A credentials file has a malformed line.
    #[error("`{path}` line {line}: {message}")]
    Credentials {
        path: String,
        line: usize,
        message: String,
    },
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// No targets were given.
    #[error("no targets given")]
    NoTargets,
    /// Another tool's output or an SBOM could not be imported.
    #[error("`{file}`{}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default(), field.as_ref().map(|f| format!(", field `{f}`")).unwrap_or_default())]
    Import {
        file: String,
        line: Option<usize>,
        field: Option<String>,
        message: String,
    },
    /// The async runtime could not be created.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}
