//! The crate's one error type: every error says where it happened and whether decoding can
//! go on after it.

use std::fmt;
use std::net::IpAddr;

/// Where in the input an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A packet of a capture file: its number (1-based, as Wireshark numbers frames) and the
    /// byte offset of its record (pcap) or block (pcapng) in the file.
    Packet { number: u64, offset: u64 },
    /// A byte offset of a capture file, outside any packet (file header, pcapng block).
    File { offset: u64 },
    /// A datagram given to a datagram decoder: its number (1-based, counted by the decoder),
    /// its exporter, and the byte offset inside the datagram.
    Datagram {
        number: u64,
        exporter: IpAddr,
        offset: usize,
    },
    /// A line of a text log (1-based).
    Line { number: u64 },
}

impl Location {
    /// True where the input is a byte stream whose framing an error can break (capture
    /// files); false for datagrams and lines, where the next unit starts afresh.
    pub const fn is_stream(self) -> bool {
        matches!(self, Location::Packet { .. } | Location::File { .. })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Packet { number, offset } => {
                write!(f, "packet {number} (file offset {offset})")
            }
            Location::File { offset } => write!(f, "file offset {offset}"),
            Location::Datagram {
                number,
                exporter,
                offset,
            } => write!(f, "datagram {number} from {exporter}, byte {offset}"),
            Location::Line { number } => write!(f, "line {number}"),
        }
    }
}

/// A decoding problem.
///
/// Messages are lowercase and start with the location. [`Error::can_continue`] says whether
/// the reader or decoder can go on after it (the unit in error is skipped and counted) or
/// must stop (a capture file whose framing is lost, or an I/O failure).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the underlying input failed.
    #[error("{at}: read failed: {source}")]
    Io {
        at: Location,
        #[source]
        source: std::io::Error,
    },
    /// The input ended inside a structure: a cut capture file, a short datagram, or a length
    /// field pointing past the end.
    #[error("{at}: input ends inside {what}: {needed} bytes needed, {available} available")]
    Truncated {
        at: Location,
        what: &'static str,
        needed: u64,
        available: u64,
    },
    /// The input is not of the expected format at all.
    #[error("{at}: not {expected} (starts with `{found:#x}`)")]
    BadMagic {
        at: Location,
        expected: &'static str,
        found: u64,
    },
    /// A version this crate does not decode.
    #[error("{at}: {what} version `{version}` is not supported")]
    UnsupportedVersion {
        at: Location,
        what: &'static str,
        version: u32,
    },
    /// A length or count field with an impossible or hostile value.
    #[error("{at}: {what} of `{value}` is impossible (must be {rule})")]
    BadLength {
        at: Location,
        what: &'static str,
        value: u64,
        rule: &'static str,
    },
    /// A capture interface with a link type this crate cannot decode; its packets are skipped
    /// and counted (reported once per interface).
    #[error("{at}: link type `{link_type}` is not supported; its packets are skipped")]
    UnsupportedLinkType { at: Location, link_type: u32 },
    /// A structure whose fields contradict each other (a packet header, a sample, a record).
    #[error("{at}: malformed {what}: {reason}")]
    Malformed {
        at: Location,
        what: &'static str,
        reason: &'static str,
    },
    /// A NetFlow v9 / IPFIX data set arrived before the template it needs.
    #[error(
        "{at}: data for template `{template_id}` (domain `{domain}`) arrived before its template; {}",
        if *buffered { "kept until the template arrives" } else { "dropped" }
    )]
    MissingTemplate {
        at: Location,
        domain: u32,
        template_id: u16,
        buffered: bool,
    },
    /// A NetFlow v9 / IPFIX template this crate refuses.
    #[error("{at}: template `{template_id}` rejected: {reason}")]
    BadTemplate {
        at: Location,
        template_id: u16,
        reason: &'static str,
    },
    /// A bound on state was reached (templates, exporters, interfaces, line length).
    #[error("{at}: limit of {limit} {what} reached; the excess is dropped")]
    LimitReached {
        at: Location,
        what: &'static str,
        limit: u64,
    },
    /// A text log field that cannot be read.
    #[error("{at}: field `{field}`: {reason}")]
    BadField {
        at: Location,
        field: String,
        reason: String,
    },
}

/// The kind of an [`Error`], without its details: what [`crate::Stats`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ErrorKind {
    Io,
    Truncated,
    BadMagic,
    UnsupportedVersion,
    BadLength,
    UnsupportedLinkType,
    Malformed,
    MissingTemplate,
    BadTemplate,
    LimitReached,
    BadField,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::Io,
        ErrorKind::Truncated,
        ErrorKind::BadMagic,
        ErrorKind::UnsupportedVersion,
        ErrorKind::BadLength,
        ErrorKind::UnsupportedLinkType,
        ErrorKind::Malformed,
        ErrorKind::MissingTemplate,
        ErrorKind::BadTemplate,
        ErrorKind::LimitReached,
        ErrorKind::BadField,
    ];

    /// Snake-case name, for metrics labels and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Truncated => "truncated",
            ErrorKind::BadMagic => "bad_magic",
            ErrorKind::UnsupportedVersion => "unsupported_version",
            ErrorKind::BadLength => "bad_length",
            ErrorKind::UnsupportedLinkType => "unsupported_link_type",
            ErrorKind::Malformed => "malformed",
            ErrorKind::MissingTemplate => "missing_template",
            ErrorKind::BadTemplate => "bad_template",
            ErrorKind::LimitReached => "limit_reached",
            ErrorKind::BadField => "bad_field",
        }
    }
}

impl Error {
    /// Where the error was found.
    pub fn location(&self) -> Location {
        match self {
            Error::Io { at, .. }
            | Error::Truncated { at, .. }
            | Error::BadMagic { at, .. }
            | Error::UnsupportedVersion { at, .. }
            | Error::BadLength { at, .. }
            | Error::UnsupportedLinkType { at, .. }
            | Error::Malformed { at, .. }
            | Error::MissingTemplate { at, .. }
            | Error::BadTemplate { at, .. }
            | Error::LimitReached { at, .. }
            | Error::BadField { at, .. } => *at,
        }
    }

    /// The kind, for counting.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Truncated { .. } => ErrorKind::Truncated,
            Error::BadMagic { .. } => ErrorKind::BadMagic,
            Error::UnsupportedVersion { .. } => ErrorKind::UnsupportedVersion,
            Error::BadLength { .. } => ErrorKind::BadLength,
            Error::UnsupportedLinkType { .. } => ErrorKind::UnsupportedLinkType,
            Error::Malformed { .. } => ErrorKind::Malformed,
            Error::MissingTemplate { .. } => ErrorKind::MissingTemplate,
            Error::BadTemplate { .. } => ErrorKind::BadTemplate,
            Error::LimitReached { .. } => ErrorKind::LimitReached,
            Error::BadField { .. } => ErrorKind::BadField,
        }
    }

    /// Whether decoding can go on after this error.
    ///
    /// Datagram decoders always can: each datagram stands alone (the bad one, or the bad part
    /// of it, is dropped). Line readers always can: the line is skipped. Capture-file readers
    /// can after problems inside one packet (malformed headers, unsupported link type), but not
    /// after an I/O error, a cut file or a corrupt record length, since the position of the
    /// next packet is then unknown.
    pub fn can_continue(&self) -> bool {
        match self {
            Error::Io { .. } => false,
            Error::Truncated { at, .. }
            | Error::BadMagic { at, .. }
            | Error::UnsupportedVersion { at, .. }
            | Error::BadLength { at, .. } => !at.is_stream(),
            Error::UnsupportedLinkType { .. }
            | Error::Malformed { .. }
            | Error::MissingTemplate { .. }
            | Error::BadTemplate { .. }
            | Error::LimitReached { .. }
            | Error::BadField { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place() {
        let e = Error::Truncated {
            at: Location::Packet {
                number: 3,
                offset: 120,
            },
            what: "packet data",
            needed: 60,
            available: 12,
        };
        assert_eq!(
            e.to_string(),
            "packet 3 (file offset 120): input ends inside packet data: 60 bytes needed, 12 available"
        );
        assert!(!e.can_continue());
        let e = Error::MissingTemplate {
            at: Location::Datagram {
                number: 1,
                exporter: "192.0.2.1".parse().unwrap(),
                offset: 20,
            },
            domain: 7,
            template_id: 256,
            buffered: true,
        };
        assert!(e.can_continue());
        assert!(e
            .to_string()
            .starts_with("datagram 1 from 192.0.2.1, byte 20: data for template `256`"));
        assert_eq!(e.kind().name(), "missing_template");
    }
}
