//! DNS messages (RFC 1035) as far as domain indicators need them: the question's name and
//! type, and the addresses in A and AAAA answers with their owner names.
//!
//! Untrusted bytes (a packet's UDP payload): every read is bounded, compression pointers may
//! only point backwards (so a name cannot loop), a name is at most 255 bytes in wire form and
//! a label at most 63, and at most [`MAX_ANSWERS`] answers are kept. Names come out in
//! lower case, labels joined by dots, without the trailing dot; a byte outside letters,
//! digits, `-` and `_` is written `\DDD` (decimal, as in zone files), so two different names
//! never print the same and a name cannot smuggle a dot or a space into a label.

use std::fmt::{self, Write};

use crate::bytes::{be_u16, be_u32, u8_at};
use crate::record::Addr;

/// Answers kept from one message (a response listing more is cut, not refused).
pub const MAX_ANSWERS: usize = 32;

/// Wire length limit of a name (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;
const HEADER: usize = 12;
const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// A decoded message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    /// QR bit: a response.
    pub response: bool,
    /// Response code (0 = no error, 3 = no such name ...).
    pub rcode: u8,
    /// The first question (a query carries one in practice).
    pub question: Option<Question>,
    /// Internet-class A and AAAA records of the answer section, in order.
    pub answers: Vec<Answer>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: u16,
}

/// An address record: `name` has address `addr` for `ttl` seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub name: String,
    pub addr: Addr,
    pub ttl: u32,
}

/// Why a message could not be read; `at` is the byte offset in the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsError {
    Truncated { at: usize, what: &'static str },
    Malformed { at: usize, what: &'static str },
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::Truncated { at, what } => {
                write!(f, "DNS message truncated at byte {at}: {what}")
            }
            DnsError::Malformed { at, what } => write!(f, "DNS message, byte {at}: {what}"),
        }
    }
}

impl std::error::Error for DnsError {}

fn short(at: usize, what: &'static str) -> DnsError {
    DnsError::Truncated { at, what }
}

fn bad(at: usize, what: &'static str) -> DnsError {
    DnsError::Malformed { at, what }
}

/// Reads a message. The answer section is read only for responses; a record of another
/// type or class is skipped.
pub fn parse(b: &[u8]) -> Result<DnsMessage, DnsError> {
    let id = be_u16(b, 0).ok_or(short(0, "header"))?;
    let flags = be_u16(b, 2).ok_or(short(2, "header"))?;
    let qdcount = be_u16(b, 4).ok_or(short(4, "header"))?;
    let ancount = be_u16(b, 6).ok_or(short(6, "header"))?;
    if b.len() < HEADER {
        return Err(short(b.len(), "header"));
    }
    let response = flags & 0x8000 != 0;
    let mut msg = DnsMessage {
        id,
        response,
        rcode: (flags & 0x000f) as u8,
        question: None,
        answers: Vec::new(),
    };
    let mut pos = HEADER;
    for i in 0..qdcount {
        let (name, next) = read_name(b, pos)?;
        let qtype = be_u16(b, next).ok_or(short(next, "question type"))?;
        be_u16(b, next + 2).ok_or(short(next + 2, "question class"))?;
        if i == 0 {
            msg.question = Some(Question { name, qtype });
        }
        pos = next + 4;
    }
    if !response {
        return Ok(msg);
    }
    for _ in 0..ancount {
        let (name, next) = read_name(b, pos)?;
        let rtype = be_u16(b, next).ok_or(short(next, "record type"))?;
        let class = be_u16(b, next + 2).ok_or(short(next + 2, "record class"))?;
        let ttl = be_u32(b, next + 4).ok_or(short(next + 4, "record TTL"))?;
        let len = usize::from(be_u16(b, next + 8).ok_or(short(next + 8, "record length"))?);
        let start = next + 10;
        let rdata = b
            .get(start..start + len)
            .ok_or(short(start, "record data"))?;
        let addr = match (rtype, class, len) {
            (TYPE_A, CLASS_IN, 4) => rdata.try_into().ok().map(Addr::v4),
            (TYPE_AAAA, CLASS_IN, 16) => rdata.try_into().ok().map(Addr::v6),
            (TYPE_A | TYPE_AAAA, CLASS_IN, _) => {
                return Err(bad(next + 8, "address record of the wrong length"))
            }
            _ => None,
        };
        if let Some(addr) = addr {
            if msg.answers.len() < MAX_ANSWERS {
                msg.answers.push(Answer { name, addr, ttl });
            }
        }
        pos = start + len;
    }
    Ok(msg)
}

/// Reads the name at `pos`; returns it and the offset just after it (after the first
/// pointer, if the name is compressed).
fn read_name(b: &[u8], pos: usize) -> Result<(String, usize), DnsError> {
    let mut out = String::new();
    let mut at = pos;
    // where reading resumes after the name: set at the first pointer
    let mut after = None;
    // a pointer must go below the lowest offset read so far: no loops
    let mut floor = pos;
    let mut wire = 0usize;
    loop {
        let len = u8_at(b, at).ok_or(short(at, "name"))?;
        match len & 0xc0 {
            0x00 => {
                let len = usize::from(len);
                wire += len + 1;
                if wire > MAX_NAME {
                    return Err(bad(at, "name longer than 255 bytes"));
                }
                if len == 0 {
                    return Ok((out, after.unwrap_or(at + 1)));
                }
                let label = b.get(at + 1..at + 1 + len).ok_or(short(at + 1, "label"))?;
                if !out.is_empty() {
                    out.push('.');
                }
                for &c in label {
                    push_byte(&mut out, c);
                }
                at += 1 + len;
            }
            0xc0 => {
                let lo = u8_at(b, at + 1).ok_or(short(at + 1, "compression pointer"))?;
                let target = usize::from(len & 0x3f) << 8 | usize::from(lo);
                if target >= floor {
                    return Err(bad(at, "compression pointer that does not point back"));
                }
                after.get_or_insert(at + 2);
                floor = target;
                at = target;
            }
            _ => return Err(bad(at, "label type other than a length or a pointer")),
        }
    }
}

/// A name written as text, as logs give it (Zeek's `dns.log` `query`), in the form
/// [`parse`] gives names: lower case, without the trailing dot, odd bytes as `\DDD`. Zeek's
/// `\xHH` escapes stand for their byte; `None` for a name over 255 bytes in wire form or
/// with an empty or over-long label.
pub fn name_from_text(text: &str) -> Option<String> {
    let raw = unescape_hex(text.strip_suffix('.').unwrap_or(text));
    if raw.is_empty() || raw.len() + 2 > MAX_NAME {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    for (i, label) in raw.split(|c| *c == b'.').enumerate() {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        if i > 0 {
            out.push('.');
        }
        for &c in label {
            push_byte(&mut out, c);
        }
    }
    Some(out)
}

/// The bytes of `text` with each `\xHH` replaced by its byte.
fn unescape_hex(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 2..i + 4)
            .filter(|_| c == b'\\' && b.get(i + 1) == Some(&b'x'))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(v) => {
                out.push(v);
                i += 4;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// One byte of a label, lower-cased; escaped unless a letter, digit, `-` or `_`.
fn push_byte(out: &mut String, c: u8) {
    match c {
        b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => out.push(char::from(c)),
        b'A'..=b'Z' => out.push(char::from(c.to_ascii_lowercase())),
        // writing to a String cannot fail
        _ => {
            let _ = write!(out, "\\{c:03}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::dns::{header, name, rr};

    #[test]
    fn query() {
        let mut m = header(0x1234, 0x0100, 1, 0);
        m.extend(name("CNC.Example.com"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        let q = parse(&m).unwrap();
        assert!(!q.response);
        assert_eq!(
            q.question,
            Some(Question {
                name: "cnc.example.com".into(),
                qtype: 1
            })
        );
        assert!(q.answers.is_empty());
    }

    /// A response as resolvers send it: the question, a CNAME whose owner points at the
    /// question's name, then A and AAAA records whose owner points into the CNAME's data.
    #[test]
    fn compressed_response() {
        let mut m = header(7, 0x8180, 1, 4);
        let qname_at = m.len() as u8;
        m.extend(name("cnc.example.com"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        // CNAME cnc.example.com -> edge.cdn.example.net
        let cname_data_at = m.len() + 12;
        m.extend(rr(&[0xc0, qname_at], 5, 60, &name("edge.cdn.example.net")));
        let ptr = [0xc0, cname_data_at as u8];
        m.extend(rr(&ptr, TYPE_A, 300, &[203, 0, 113, 7]));
        m.extend(rr(
            &ptr,
            TYPE_AAAA,
            300,
            &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7],
        ));
        // a TXT record is skipped
        m.extend(rr(&ptr, 16, 5, b"\x03abc"));
        let r = parse(&m).unwrap();
        assert!(r.response);
        assert_eq!(r.rcode, 0);
        assert_eq!(r.question.as_ref().unwrap().name, "cnc.example.com");
        assert_eq!(r.answers.len(), 2);
        assert_eq!(r.answers[0].name, "edge.cdn.example.net");
        assert_eq!(r.answers[0].addr, Addr::v4([203, 0, 113, 7]));
        assert_eq!(r.answers[0].ttl, 300);
        assert_eq!(r.answers[1].addr.to_string(), "2001:db8::7");
    }

    #[test]
    fn odd_bytes_are_escaped() {
        let mut m = header(1, 0x0100, 1, 0);
        m.extend_from_slice(&[5, b'a', b'.', b' ', 0xff, b'B', 3, b'c', b'o', b'm', 0]);
        m.extend_from_slice(&[0, 1, 0, 1]);
        assert_eq!(
            parse(&m).unwrap().question.unwrap().name,
            "a\\046\\032\\255b.com"
        );
    }

    #[test]
    fn bad_messages_are_refused() {
        // short header
        assert!(matches!(parse(&[0, 1, 2]), Err(DnsError::Truncated { .. })));
        // a pointer to itself, and one pointing forwards
        let mut m = header(1, 0x0100, 1, 0);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert!(matches!(parse(&m), Err(DnsError::Malformed { at: 12, .. })));
        let mut m = header(1, 0x0100, 1, 0);
        m.extend_from_slice(&[0xc0, 40, 0, 1, 0, 1]);
        assert!(matches!(parse(&m), Err(DnsError::Malformed { .. })));
        // two pointers bouncing between each other (the second points back to the first)
        let mut m = header(1, 0x8180, 1, 1);
        m.extend(name("a.example"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        let first = m.len() as u8;
        m.extend_from_slice(&[1, b'x', 0xc0, first]);
        assert!(parse(&m).is_err());
        // a label running past the end
        let mut m = header(1, 0x0100, 1, 0);
        m.extend_from_slice(&[10, b'a', b'b']);
        assert!(matches!(parse(&m), Err(DnsError::Truncated { .. })));
        // a name over 255 bytes
        let mut m = header(1, 0x0100, 1, 0);
        for _ in 0..5 {
            m.push(63);
            m.extend_from_slice(&[b'a'; 63]);
        }
        m.push(0);
        m.extend_from_slice(&[0, 1, 0, 1]);
        assert!(matches!(parse(&m), Err(DnsError::Malformed { .. })));
        // reserved label type
        let mut m = header(1, 0x0100, 1, 0);
        m.extend_from_slice(&[0x40, 0, 0, 1, 0, 1]);
        assert!(matches!(parse(&m), Err(DnsError::Malformed { .. })));
        // an A record of 5 bytes
        let mut m = header(1, 0x8180, 0, 1);
        m.extend(rr(&name("a.example"), TYPE_A, 1, &[1, 2, 3, 4, 5]));
        assert!(matches!(parse(&m), Err(DnsError::Malformed { .. })));
        // an answer cut short
        let mut m = header(1, 0x8180, 0, 1);
        m.extend(rr(&name("a.example"), TYPE_A, 1, &[1, 2, 3, 4]));
        m.truncate(m.len() - 2);
        assert!(matches!(parse(&m), Err(DnsError::Truncated { .. })));
    }

    /// Names from text come out as names from the wire do.
    #[test]
    fn names_from_text() {
        assert_eq!(
            name_from_text("CNC.Example.com.").as_deref(),
            Some("cnc.example.com")
        );
        // Zeek writes odd bytes as \xHH: the same name as the wire's
        let mut m = header(1, 0x0100, 1, 0);
        m.extend_from_slice(&[4, b'a', b' ', 0xff, b'B', 3, b'c', b'o', b'm', 0]);
        m.extend_from_slice(&[0, 1, 0, 1]);
        let wire = parse(&m).unwrap().question.unwrap().name;
        assert_eq!(name_from_text("a\\x20\\xffB.com").unwrap(), wire);
        // a backslash not starting an escape is a byte of its own
        assert_eq!(name_from_text("a\\x2.com").unwrap(), "a\\092x2.com");
        for bad in ["", ".", "a..com", &"a".repeat(64), &"abc.".repeat(64)] {
            assert_eq!(name_from_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn answers_are_capped() {
        let n = MAX_ANSWERS as u16 + 10;
        let mut m = header(1, 0x8180, 0, n);
        for i in 0..n {
            m.extend(rr(&name("many.example"), TYPE_A, 1, &[10, 0, 0, i as u8]));
        }
        assert_eq!(parse(&m).unwrap().answers.len(), MAX_ANSWERS);
    }
}
