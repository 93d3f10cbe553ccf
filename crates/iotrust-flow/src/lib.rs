#![doc = include_str!("../README.md")]

pub mod announce;
mod bytes;
pub mod capture;
pub mod dns;
pub mod error;
pub mod fuzzing;
pub mod netflow;
pub mod packet;
pub mod record;
pub mod sflow;
pub mod stats;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod wire;
pub mod zeek;

pub use capture::{CaptureFormat, CaptureReader, Packet};
pub use error::{Error, ErrorKind, Location};
pub use netflow::{Datagram, DecodeConfig, Decoded, FlowDecoder, Protocol};
pub use packet::link_type;
pub use record::{Addr, App, FlowRecord, Origin, SourceKind, TcpFlags};
pub use stats::{ErrorCounts, Stats};
pub use zeek::ZeekReader;
