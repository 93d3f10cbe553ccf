//! The crate's one error type.

use thiserror::Error;

/// What went wrong loading a watch input or writing its output.
#[derive(Debug, Error)]
pub enum Error {
    /// A line of an indicator or subscriber file is malformed.
    #[error("{origin}:{line}: {message}")]
    Parse {
        origin: String,
        line: usize,
        message: String,
    },
    /// A setting (a command-line flag) is unusable: a bad webhook URL, an unreadable CA
    /// file, a malformed header.
    #[error("{setting}: {message}")]
    Setting { setting: String, message: String },
    /// A source or an output named by its flag or path could not be opened, read or
    /// written (`input` names it: a file, an interface, a socket).
    #[error("{input}: {message}")]
    Input { input: String, message: String },
    /// Reading an input file or writing to a sink failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// An incident could not be serialized (should not happen).
    #[error("cannot serialize incident: {0}")]
    Json(#[from] serde_json::Error),
    /// A detector thread of the sharded engine stopped (it panicked).
    #[error(transparent)]
    Stopped(#[from] crate::shard::ShardStopped),
    /// The message bus (NATS JetStream) could not be reached or refused a request; `what`
    /// says which step (connect, a stream, a key-value bucket, a publish).
    #[error("bus: {what}: {message}")]
    Bus { what: String, message: String },
    /// A message on the bus is not of the form this version writes.
    #[error("bus: {subject} message {seq}: {message}")]
    BusMessage {
        subject: String,
        seq: u64,
        message: String,
    },
}

impl Error {
    /// An error of the source or output `input`.
    pub(crate) fn input(input: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
        Error::Input {
            input: input.to_string(),
            message: e.to_string(),
        }
    }

    /// A bus error at step `what`.
    pub(crate) fn bus(what: impl Into<String>, e: impl std::fmt::Display) -> Error {
        Error::Bus {
            what: what.into(),
            message: e.to_string(),
        }
    }
}
