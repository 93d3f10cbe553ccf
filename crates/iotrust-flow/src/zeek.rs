//! Zeek `conn.log` files, TSV (with `#fields` header) or JSON lines, told apart by their first
//! non-empty line.
//!
//! A Zeek connection is bidirectional; a [`FlowRecord`] is not. Each line gives one record
//! from originator to responder (`orig_pkts`, `orig_ip_bytes`) and, if the responder sent
//! anything, one back (`resp_pkts`, `resp_ip_bytes`), as a NetFlow exporter would.
//!
//! TCP flags are approximated from `history` (uppercase letters: originator, lowercase:
//! responder): `S` → SYN, `H` → SYN+ACK, `A` and `D` → ACK, `F` → FIN, `R` → RST; other
//! letters add nothing. Without a history, from `conn_state`:
//!
//! | conn_state | originator | responder |
//! |---|---|---|
//! | S0 | SYN | — |
//! | REJ | SYN | RST+ACK |
//! | S1 | SYN+ACK | SYN+ACK |
//! | SF | SYN+ACK+FIN | SYN+ACK+FIN |
//! | S2 | SYN+ACK+FIN | SYN+ACK |
//! | S3 | SYN+ACK | SYN+ACK+FIN |
//! | RSTO | SYN+ACK+RST | SYN+ACK |
//! | RSTOS0 | SYN+RST | — |
//! | RSTR | SYN+ACK | SYN+ACK+RST |
//! | RSTRH | — | SYN+ACK+RST |
//! | SH | SYN+FIN | — |
//! | SHR | — | SYN+ACK+FIN |
//! | OTH | — | — |
//!
//! ICMP connections carry type and code in `id.orig_p` and `id.resp_p`; the records follow the
//! crate's convention (`dst_port = type << 8 | code`).
//!
//! # dns.log
//!
//! The same reader takes Zeek's `dns.log` (TSV after `#path dns`; JSON lines with `"_path":
//! "dns"`, or without `_path` a `query` field; JSON lines of other logs are skipped). Each
//! line with a `query` gives one record that stands for the DNS transaction, not for traffic
//! to count (conn.log has that flow), and a [`DnsMessage`] that
//! [`ZeekReader::take_dns`] hands out with it:
//! - with a reply (`rcode` set, or answers), a response from `id.resp_h` to `id.orig_h` at
//!   `ts + rtt`, whose answers are the `answers` that are addresses, with their `TTLs`
//!   (owner name: the query; CNAMEs and other data are left out);
//! - without one, the query from `id.orig_h` to `id.resp_h` at `ts`.
//!
//! Names come out as [`crate::dns::parse`] gives them ([`crate::dns::name_from_text`]).

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;

use serde::Deserialize;

use crate::dns::{self, Answer, DnsMessage, Question};
use crate::error::{Error, Location};
use crate::record::{Addr, App, FlowRecord, SourceKind, TcpFlags};
use crate::stats::Stats;

/// Longest line accepted; longer lines are skipped (and reported).
pub const MAX_LINE: usize = 64 * 1024;

/// The columns of Zeek's default `conn.log`, used when no `#fields` line was seen.
const DEFAULT_FIELDS: &[&str] = &[
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "tunnel_parents",
];

/// The fields we read, in this order.
const WANTED: [&str; 13] = [
    "ts",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
];
/// Two more, past the array above to keep its length readable.
const WANTED_MORE: [&str; 3] = ["resp_pkts", "resp_ip_bytes", "service"];

/// The dns.log fields we read, in this order.
const DNS_WANTED: [&str; DNS_FIELDS] = [
    "ts",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "trans_id",
    "rtt",
    "query",
    "qtype",
    "rcode",
    "answers",
    "TTLs",
];
const DNS_FIELDS: usize = 13;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Unknown,
    Tsv,
    Json,
}

/// A streaming reader of a Zeek `conn.log`; an [`Iterator`] of records. Every error is about
/// one line and [`Error::can_continue`] (except I/O errors).
pub struct ZeekReader<R> {
    input: BufReader<R>,
    line: Vec<u8>,
    number: u64,
    format: Format,
    separator: u8,
    unset: Vec<u8>,
    /// Column index of each wanted field (`usize::MAX` = absent).
    columns: [usize; 16],
    /// `#path dns`: the TSV lines are dns.log lines.
    dns_log: bool,
    /// Between the items of a TSV set or vector (`answers`, `TTLs`).
    set_separator: u8,
    /// Column index of each [`DNS_WANTED`] field.
    dns_columns: [usize; DNS_FIELDS],
    /// The DNS message of the record just returned, if it came from a dns.log line.
    dns: Option<DnsMessage>,
    pending: Option<FlowRecord>,
    stats: Stats,
    done: bool,
}

/// The column of each of the `wanted` fields in a `#fields` list (`usize::MAX` = absent).
fn column_map<'w, const N: usize>(
    fields: &[&[u8]],
    wanted: impl Iterator<Item = &'w &'w str>,
) -> [usize; N] {
    let mut cols = [usize::MAX; N];
    for (slot, name) in cols.iter_mut().zip(wanted) {
        if let Some(i) = fields.iter().position(|f| *f == name.as_bytes()) {
            *slot = i;
        }
    }
    cols
}

/// Values of one connection.
#[derive(Default)]
struct Conn<'a> {
    ts: Option<&'a str>,
    orig_h: Option<&'a str>,
    orig_p: Option<u64>,
    resp_h: Option<&'a str>,
    resp_p: Option<u64>,
    proto: Option<&'a str>,
    duration: Option<&'a str>,
    orig_bytes: Option<u64>,
    resp_bytes: Option<u64>,
    conn_state: Option<&'a str>,
    history: Option<&'a str>,
    orig_pkts: Option<u64>,
    orig_ip_bytes: Option<u64>,
    resp_pkts: Option<u64>,
    resp_ip_bytes: Option<u64>,
    service: Option<&'a str>,
    /// The log has a `service` field (so an unset one means no analyser recognised the
    /// protocol).
    service_known: bool,
}

/// A JSON line of conn.log or dns.log; `ts` may be a number or an ISO 8601 string
/// (`LogAscii::json_timestamps`).
#[derive(Deserialize)]
struct JsonLine<'a> {
    /// Which log, where several are written to one stream.
    #[serde(rename = "_path", borrow)]
    path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ts: Option<JsonTs<'a>>,
    #[serde(rename = "id.orig_h", borrow)]
    orig_h: Option<Cow<'a, str>>,
    #[serde(rename = "id.orig_p")]
    orig_p: Option<u64>,
    #[serde(rename = "id.resp_h", borrow)]
    resp_h: Option<Cow<'a, str>>,
    #[serde(rename = "id.resp_p")]
    resp_p: Option<u64>,
    #[serde(borrow)]
    proto: Option<Cow<'a, str>>,
    duration: Option<f64>,
    orig_bytes: Option<u64>,
    resp_bytes: Option<u64>,
    #[serde(borrow)]
    conn_state: Option<Cow<'a, str>>,
    #[serde(borrow)]
    history: Option<Cow<'a, str>>,
    orig_pkts: Option<u64>,
    orig_ip_bytes: Option<u64>,
    resp_pkts: Option<u64>,
    resp_ip_bytes: Option<u64>,
    #[serde(borrow)]
    service: Option<Cow<'a, str>>,
    // dns.log
    trans_id: Option<u64>,
    rtt: Option<f64>,
    #[serde(borrow)]
    query: Option<Cow<'a, str>>,
    qtype: Option<u64>,
    rcode: Option<u64>,
    answers: Option<Vec<String>>,
    #[serde(rename = "TTLs")]
    ttls: Option<Vec<f64>>,
}

/// Values of one dns.log line.
struct DnsLine<'a> {
    /// Addresses, ports and protocol (the rest unset).
    conn: Conn<'a>,
    ts: i64,
    trans_id: Option<u64>,
    rtt_us: Option<i64>,
    query: Option<&'a str>,
    qtype: Option<u64>,
    rcode: Option<u64>,
    answers: Vec<&'a str>,
    /// In microseconds, by position with `answers`.
    ttls_us: Vec<Option<i64>>,
}

/// What one line gives.
enum Item {
    /// A conn.log line: the originator's record and the responder's, if it sent anything.
    Conn(Built),
    /// A dns.log line.
    Dns(FlowRecord, DnsMessage),
    /// Nothing to read (a line of another log, a dns.log line without a query).
    Skip,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonTs<'a> {
    Number(f64),
    #[serde(borrow)]
    Text(Cow<'a, str>),
}

enum LineRead {
    Line,
    TooLong,
    Eof,
}

impl<R: Read> ZeekReader<R> {
    pub fn new(reader: R) -> Self {
        ZeekReader {
            input: BufReader::with_capacity(64 * 1024, reader),
            line: Vec::new(),
            number: 0,
            format: Format::Unknown,
            separator: b'\t',
            unset: b"-".to_vec(),
            columns: column_map(
                &DEFAULT_FIELDS
                    .iter()
                    .map(|f| f.as_bytes())
                    .collect::<Vec<_>>(),
                WANTED.iter().chain(WANTED_MORE.iter()),
            ),
            dns_log: false,
            set_separator: b',',
            dns_columns: [usize::MAX; DNS_FIELDS],
            dns: None,
            pending: None,
            stats: Stats::default(),
            done: false,
        }
    }

    /// Counters so far: `units` are lines (headers and blank lines included).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The DNS message of the record just returned, if that record came from a dns.log line
    /// (see [the module docs](self)): such a record stands for the DNS transaction, and is
    /// not traffic to count.
    pub fn take_dns(&mut self) -> Option<DnsMessage> {
        self.dns.take()
    }

    /// Reads one line into `self.line` without its end, never holding more than [`MAX_LINE`].
    fn read_line(&mut self) -> std::io::Result<LineRead> {
        self.line.clear();
        let mut total = 0usize;
        let mut any = false;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            any = true;
            let (chunk, used, end) = match buf.iter().position(|c| *c == b'\n') {
                Some(i) => (buf.get(..i).unwrap_or_default(), i + 1, true),
                None => (buf, buf.len(), false),
            };
            total = total.saturating_add(chunk.len());
            if total <= MAX_LINE {
                self.line.extend_from_slice(chunk);
            }
            self.input.consume(used);
            if end {
                break;
            }
        }
        if !any {
            return Ok(LineRead::Eof);
        }
        if total > MAX_LINE {
            self.line.clear();
            return Ok(LineRead::TooLong);
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(LineRead::Line)
    }

    fn bad(&mut self, field: &str, reason: impl Into<String>) -> Error {
        let e = Error::BadField {
            at: Location::Line {
                number: self.number,
            },
            field: field.to_string(),
            reason: reason.into(),
        };
        self.stats.count_error(&e);
        e
    }

    /// Handles a `#` header line of the TSV format.
    fn header(&mut self) {
        let line = self.line.get(1..).unwrap_or_default();
        let (key, rest) = match line.iter().position(|c| *c == b' ' || *c == self.separator) {
            Some(i) => (
                line.get(..i).unwrap_or_default(),
                line.get(i + 1..).unwrap_or_default(),
            ),
            None => (line, &[][..]),
        };
        match key {
            b"separator" => {
                if let Some(c) = separator(rest) {
                    self.separator = c;
                }
            }
            b"set_separator" => {
                if let Some(c) = separator(rest) {
                    self.set_separator = c;
                }
            }
            b"unset_field" => self.unset = rest.to_vec(),
            b"path" => self.dns_log = rest.trim_ascii() == b"dns",
            b"fields" => {
                let sep = self.separator;
                let fields: Vec<&[u8]> = rest.split(|c| *c == sep).collect();
                self.columns = column_map(&fields, WANTED.iter().chain(WANTED_MORE.iter()));
                self.dns_columns = column_map(&fields, DNS_WANTED.iter());
            }
            _ => {}
        }
    }

    /// Parses the TSV conn.log line in `self.line` into records.
    fn tsv(&mut self) -> Result<Item, Error> {
        let values = pick(&self.line, self.separator, &self.unset, &self.columns);
        let service_known = self.columns.get(15).is_some_and(|c| *c != usize::MAX);
        let [ts, orig_h, orig_p, resp_h, resp_p, proto, duration, orig_bytes, resp_bytes, conn_state, history, orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes, service] =
            values;
        let parsed = (|| {
            Ok::<_, (&'static str, String)>(Conn {
                ts,
                orig_h,
                orig_p: count("id.orig_p", orig_p)?,
                resp_h,
                resp_p: count("id.resp_p", resp_p)?,
                proto,
                duration,
                orig_bytes: count("orig_bytes", orig_bytes)?,
                resp_bytes: count("resp_bytes", resp_bytes)?,
                conn_state,
                history,
                orig_pkts: count("orig_pkts", orig_pkts)?,
                orig_ip_bytes: count("orig_ip_bytes", orig_ip_bytes)?,
                resp_pkts: count("resp_pkts", resp_pkts)?,
                resp_ip_bytes: count("resp_ip_bytes", resp_ip_bytes)?,
                service,
                service_known,
            })
        })();
        let conn = match parsed {
            Ok(c) => c,
            Err((field, reason)) => return Err(self.bad(field, reason)),
        };
        let ts = match conn.ts.map(parse_epoch) {
            Some(Some(t)) => t,
            Some(None) => {
                let s = conn.ts.unwrap_or("").to_string();
                return Err(self.bad("ts", format!("`{s}` is not a time")));
            }
            None => return Err(self.bad("ts", "missing")),
        };
        let dur = match conn.duration.map(parse_epoch) {
            Some(Some(d)) => Some(d),
            Some(None) => return Err(self.bad("duration", "not a number")),
            None => None,
        };
        build(&conn, ts, dur)
            .map(Item::Conn)
            .map_err(|(f, r)| self.bad(f, r))
    }

    /// Parses the TSV dns.log line in `self.line`.
    fn tsv_dns(&mut self) -> Result<Item, Error> {
        let values = pick(&self.line, self.separator, &self.unset, &self.dns_columns);
        let [ts, orig_h, orig_p, resp_h, resp_p, proto, trans_id, rtt, query, qtype, rcode, answers, ttls] =
            values;
        let set = char::from(self.set_separator);
        let parsed = (|| {
            let time = |name: &'static str, v: &str| {
                parse_epoch(v).ok_or((name, format!("`{v}` is not a time")))
            };
            Ok::<_, (&'static str, String)>(DnsLine {
                conn: Conn {
                    orig_h,
                    orig_p: count("id.orig_p", orig_p)?,
                    resp_h,
                    resp_p: count("id.resp_p", resp_p)?,
                    proto,
                    ..Conn::default()
                },
                ts: time("ts", ts.ok_or(("ts", "missing".to_string()))?)?,
                trans_id: count("trans_id", trans_id)?,
                rtt_us: rtt.map(|v| time("rtt", v)).transpose()?,
                query,
                qtype: count("qtype", qtype)?,
                rcode: count("rcode", rcode)?,
                answers: answers.map(|a| a.split(set).collect()).unwrap_or_default(),
                ttls_us: match ttls {
                    Some(t) => t
                        .split(set)
                        .map(|v| time("TTLs", v).map(Some))
                        .collect::<Result<_, _>>()?,
                    None => Vec::new(),
                },
            })
        })();
        let item = parsed.and_then(|d| dns_item(&d));
        item.map_err(|(f, r)| self.bad(f, r))
    }

    fn json(&mut self) -> Result<Item, Error> {
        let parsed: Result<JsonLine<'_>, _> = serde_json::from_slice(&self.line);
        let j = match parsed {
            Ok(j) => j,
            Err(e) => {
                let reason = format!("not a conn.log or dns.log JSON object: {e}");
                return Err(self.bad("(line)", reason));
            }
        };
        let dns = match j.path.as_deref() {
            None => j.query.is_some(),
            Some("dns") => true,
            Some("conn") => false,
            Some(_) => return Ok(Item::Skip),
        };
        let ts = match &j.ts {
            Some(JsonTs::Number(f)) => float_us(*f),
            Some(JsonTs::Text(s)) => parse_epoch(s).or_else(|| {
                s.parse::<jiff::Timestamp>()
                    .ok()
                    .map(|t| t.as_microsecond())
            }),
            None => None,
        };
        let Some(ts) = ts else {
            return Err(self.bad("ts", "missing or not a time"));
        };
        let conn = Conn {
            ts: None,
            orig_h: j.orig_h.as_deref(),
            orig_p: j.orig_p,
            resp_h: j.resp_h.as_deref(),
            resp_p: j.resp_p,
            proto: j.proto.as_deref(),
            duration: None,
            orig_bytes: j.orig_bytes,
            resp_bytes: j.resp_bytes,
            conn_state: j.conn_state.as_deref(),
            history: j.history.as_deref(),
            orig_pkts: j.orig_pkts,
            orig_ip_bytes: j.orig_ip_bytes,
            resp_pkts: j.resp_pkts,
            resp_ip_bytes: j.resp_ip_bytes,
            service: j.service.as_deref(),
            // Zeek's JSON leaves unset fields out
            service_known: true,
        };
        let result = if dns {
            dns_item(&DnsLine {
                conn,
                ts,
                trans_id: j.trans_id,
                rtt_us: j.rtt.and_then(float_us),
                query: j.query.as_deref(),
                qtype: j.qtype,
                rcode: j.rcode,
                answers: j.answers.iter().flatten().map(String::as_str).collect(),
                ttls_us: j.ttls.iter().flatten().map(|t| float_us(*t)).collect(),
            })
        } else {
            build(&conn, ts, j.duration.and_then(float_us)).map(Item::Conn)
        };
        result.map_err(|(f, r)| self.bad(f, r))
    }
}

/// A separator as a header gives it: `\x09` or a literal character.
fn separator(text: &[u8]) -> Option<u8> {
    let s = std::str::from_utf8(text).ok()?.trim();
    match s.strip_prefix("\\x") {
        Some(hex) => u8::from_str_radix(hex, 16).ok(),
        None => match s.as_bytes() {
            [c] => Some(*c),
            _ => None,
        },
    }
}

/// The values of the `columns` of a TSV line (`None` where unset, empty, absent or not
/// UTF-8).
fn pick<'l, const N: usize>(
    line: &'l [u8],
    sep: u8,
    unset: &[u8],
    columns: &[usize; N],
) -> [Option<&'l str>; N] {
    let mut values = [None; N];
    for (i, raw) in line.split(|c| *c == sep).enumerate() {
        if let Some(slot) = columns.iter().position(|c| *c == i) {
            if raw != unset && !raw.is_empty() && raw != b"(empty)" {
                if let (Some(v), Ok(s)) = (values.get_mut(slot), std::str::from_utf8(raw)) {
                    *v = Some(s);
                }
            }
        }
    }
    values
}

/// A count field's value.
fn count(name: &'static str, v: Option<&str>) -> Result<Option<u64>, (&'static str, String)> {
    v.map(|s| {
        s.parse::<u64>()
            .map_err(|_| (name, format!("`{s}` is not a count")))
    })
    .transpose()
}

/// The record and message of a dns.log line (see the module docs).
fn dns_item(d: &DnsLine<'_>) -> Result<Item, (&'static str, String)> {
    let Some(query) = d.query else {
        return Ok(Item::Skip);
    };
    let name = dns::name_from_text(query)
        .ok_or_else(|| ("query", format!("`{query}` is not a domain name")))?;
    let small = |name: &'static str, v: Option<u64>| {
        v.map(u16::try_from)
            .transpose()
            .map_err(|_| (name, "above 65535".to_string()))
    };
    let id = small("trans_id", d.trans_id)?.unwrap_or(0);
    let qtype = small("qtype", d.qtype)?.unwrap_or(0);
    let (mut r, _) = build(&d.conn, d.ts, None)?;
    let response = d.rcode.is_some() || !d.answers.is_empty();
    if response {
        (r.src, r.dst, r.src_port, r.dst_port) = (r.dst, r.src, r.dst_port, r.src_port);
        let at = d.ts.saturating_add(d.rtt_us.unwrap_or(0).max(0));
        (r.first_us, r.last_us) = (at, at);
    }
    let ttls = d.ttls_us.iter().copied().chain(std::iter::repeat(None));
    let answers = d
        .answers
        .iter()
        .zip(ttls)
        .filter_map(|(a, ttl_us)| {
            let addr = a.parse::<IpAddr>().ok()?;
            let secs = ttl_us.unwrap_or(0).max(0) / 1_000_000;
            Some(Answer {
                name: name.clone(),
                addr: Addr::from(addr),
                ttl: u32::try_from(secs).unwrap_or(u32::MAX),
            })
        })
        .take(dns::MAX_ANSWERS)
        .collect();
    let msg = DnsMessage {
        id,
        response,
        // an extended code past 8 bits (EDNS) reads as the largest
        rcode: d.rcode.map_or(0, |c| u8::try_from(c).unwrap_or(u8::MAX)),
        question: Some(Question { name, qtype }),
        answers,
    };
    Ok(Item::Dns(r, msg))
}

fn float_us(f: f64) -> Option<i64> {
    if !f.is_finite() || f.abs() > 9.0e12 {
        return None;
    }
    Some((f * 1e6).round() as i64)
}

/// Parses `1619605821.099510` (seconds with up to 9 decimals) exactly into microseconds.
fn parse_epoch(s: &str) -> Option<i64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let neg = int.starts_with('-');
    let digits = int.trim_start_matches('-');
    if !digits.bytes().all(|c| c.is_ascii_digit()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return s.parse::<f64>().ok().and_then(float_us);
    }
    let secs: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let mut us: i64 = 0;
    for c in frac.bytes().chain(std::iter::repeat(b'0')).take(6) {
        us = us * 10 + i64::from(c - b'0');
    }
    let v = secs.checked_mul(1_000_000)?.checked_add(us)?;
    Some(if neg { -v } else { v })
}

fn history_flags(history: &str) -> (u8, u8) {
    let mut orig = 0u8;
    let mut resp = 0u8;
    for c in history.bytes() {
        let f = match c.to_ascii_uppercase() {
            b'S' => TcpFlags::SYN,
            b'H' => TcpFlags::SYN | TcpFlags::ACK,
            b'A' | b'D' => TcpFlags::ACK,
            b'F' => TcpFlags::FIN,
            b'R' => TcpFlags::RST,
            _ => 0,
        };
        if c.is_ascii_uppercase() {
            orig |= f;
        } else {
            resp |= f;
        }
    }
    (orig, resp)
}

fn state_flags(state: &str) -> (u8, u8) {
    const S: u8 = TcpFlags::SYN;
    const A: u8 = TcpFlags::ACK;
    const F: u8 = TcpFlags::FIN;
    const R: u8 = TcpFlags::RST;
    match state {
        "S0" => (S, 0),
        "REJ" => (S, R | A),
        "S1" => (S | A, S | A),
        "SF" => (S | A | F, S | A | F),
        "S2" => (S | A | F, S | A),
        "S3" => (S | A, S | A | F),
        "RSTO" => (S | A | R, S | A),
        "RSTOS0" => (S | R, 0),
        "RSTR" => (S | A, S | A | R),
        "RSTRH" => (0, S | A | R),
        "SH" => (S | F, 0),
        "SHR" => (0, S | A | F),
        _ => (0, 0),
    }
}

type Built = (FlowRecord, Option<FlowRecord>);

/// The application hint of a connection: Zeek's `service` (IRC), and — on the HTTPS ports,
/// where Zeek's SSL analyser names TLS `ssl` — data exchanged that no analyser took for
/// TLS (a bot's own protocol on 443, as [`App::NotTls`] from a capture's payload).
fn app_of(c: &Conn<'_>, proto: u8, resp_p: u16) -> App {
    let https_port = proto == FlowRecord::PROTO_TCP && matches!(resp_p, 443 | 8443);
    let data = c.orig_bytes.unwrap_or(0) > 0 && c.resp_bytes.unwrap_or(0) > 0;
    match c.service {
        Some(s)
            if https_port && data && !s.split(',').any(|a| matches!(a.trim(), "ssl" | "quic")) =>
        {
            match App::of_zeek_service(s) {
                App::Unknown => App::NotTls,
                other => other,
            }
        }
        Some(s) => App::of_zeek_service(s),
        None if https_port && data && c.service_known => App::NotTls,
        None => App::Unknown,
    }
}

fn build(c: &Conn<'_>, ts: i64, dur: Option<i64>) -> Result<Built, (&'static str, String)> {
    let orig: IpAddr = c
        .orig_h
        .ok_or(("id.orig_h", "missing".to_string()))?
        .parse()
        .map_err(|_| {
            (
                "id.orig_h",
                format!("`{}` is not an address", c.orig_h.unwrap_or("")),
            )
        })?;
    let resp: IpAddr = c
        .resp_h
        .ok_or(("id.resp_h", "missing".to_string()))?
        .parse()
        .map_err(|_| {
            (
                "id.resp_h",
                format!("`{}` is not an address", c.resp_h.unwrap_or("")),
            )
        })?;
    let port = |p: Option<u64>, name: &'static str| -> Result<u16, (&'static str, String)> {
        u16::try_from(p.unwrap_or(0)).map_err(|_| (name, "port above 65535".to_string()))
    };
    let orig_p = port(c.orig_p, "id.orig_p")?;
    let resp_p = port(c.resp_p, "id.resp_p")?;
    let v6 = orig.is_ipv6();
    let proto = match c.proto.unwrap_or("") {
        "tcp" => FlowRecord::PROTO_TCP,
        "udp" => FlowRecord::PROTO_UDP,
        "icmp" if v6 => FlowRecord::PROTO_ICMPV6,
        "icmp" => FlowRecord::PROTO_ICMP,
        other => other.parse::<u8>().unwrap_or(0),
    };
    let (of, rf) = if proto != FlowRecord::PROTO_TCP {
        (0, 0)
    } else {
        // a history whose letters say nothing of flags (`C`: Zeek saw the connection but
        // not its packets) leaves them to the state
        match c.history.filter(|h| !h.is_empty()).map(history_flags) {
            Some((0, 0)) | None => state_flags(c.conn_state.unwrap_or("")),
            Some(f) => f,
        }
    };
    let mut fwd = FlowRecord::new(SourceKind::Zeek);
    fwd.first_us = ts;
    fwd.last_us = ts.saturating_add(dur.unwrap_or(0).max(0));
    fwd.proto = proto;
    fwd.src = Addr::from(orig);
    fwd.dst = Addr::from(resp);
    fwd.src_port = orig_p;
    fwd.dst_port = resp_p;
    let icmp = proto == FlowRecord::PROTO_ICMP || proto == FlowRecord::PROTO_ICMPV6;
    if icmp {
        fwd.set_icmp(orig_p as u8, resp_p as u8);
    }
    fwd.tcp_flags = TcpFlags(of);
    fwd.app = app_of(c, proto, resp_p);
    fwd.packets = c.orig_pkts.unwrap_or(1);
    fwd.bytes = c.orig_ip_bytes.or(c.orig_bytes).unwrap_or(0);
    let back = match c.resp_pkts {
        Some(n) if n > 0 => {
            let mut r = fwd;
            r.src = fwd.dst;
            r.dst = fwd.src;
            r.src_port = resp_p;
            r.dst_port = orig_p;
            if icmp {
                // The reply's type is not in conn.log: keep the request's type and code.
                r.set_icmp(orig_p as u8, resp_p as u8);
            }
            r.tcp_flags = TcpFlags(rf);
            // the service is the originator's doing (a device speaking IRC to a server)
            r.app = App::Unknown;
            r.packets = n;
            r.bytes = c.resp_ip_bytes.or(c.resp_bytes).unwrap_or(0);
            Some(r)
        }
        _ => None,
    };
    Ok((fwd, back))
}

impl<R: Read> Iterator for ZeekReader<R> {
    type Item = Result<FlowRecord, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.dns = None;
        if let Some(r) = self.pending.take() {
            self.stats.record();
            return Some(Ok(r));
        }
        loop {
            if self.done {
                return None;
            }
            let read = match self.read_line() {
                Ok(r) => r,
                Err(source) => {
                    self.done = true;
                    let e = Error::Io {
                        at: Location::Line {
                            number: self.number + 1,
                        },
                        source,
                    };
                    self.stats.count_error(&e);
                    return Some(Err(e));
                }
            };
            match read {
                LineRead::Eof => {
                    self.done = true;
                    return None;
                }
                LineRead::TooLong => {
                    self.number += 1;
                    self.stats.unit();
                    let e = Error::LimitReached {
                        at: Location::Line {
                            number: self.number,
                        },
                        what: "bytes in a line",
                        limit: MAX_LINE as u64,
                    };
                    self.stats.count_error(&e);
                    return Some(Err(e));
                }
                LineRead::Line => {}
            }
            self.number += 1;
            self.stats.unit();
            let first = self.line.iter().position(|c| !c.is_ascii_whitespace());
            let Some(first) = first else {
                self.stats.skip();
                continue;
            };
            if self.format == Format::Unknown {
                self.format = if self.line.get(first) == Some(&b'{') {
                    Format::Json
                } else {
                    Format::Tsv
                };
            }
            let result = match self.format {
                Format::Tsv if self.line.first() == Some(&b'#') => {
                    self.header();
                    self.stats.skip();
                    continue;
                }
                Format::Json | Format::Unknown => self.json(),
                Format::Tsv if self.dns_log => self.tsv_dns(),
                Format::Tsv => self.tsv(),
            };
            match result {
                Ok(Item::Conn((fwd, back))) => {
                    self.pending = back;
                    self.stats.record();
                    return Some(Ok(fwd));
                }
                Ok(Item::Dns(r, msg)) => {
                    self.dns = Some(msg);
                    self.stats.record();
                    return Some(Ok(r));
                }
                Ok(Item::Skip) => self.stats.skip(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]
1619605821.099510\tCa1\t192.168.1.50\t40000\t93.184.216.34\t23\ttcp\t-\t-\t-\t-\tS0\tT\tF\t0\tS\t1\t40\t0\t0\t-
1619605822.5\tCa2\t10.0.0.2\t51000\t10.0.0.1\t80\ttcp\thttp\t1.25\t100\t2000\tSF\tT\tT\t0\tShADadFf\t6\t420\t5\t2260\t-
1619605823.000001\tCa3\t2001:db8::1\t128\t2001:db8::2\t0\ticmp\t-\t0.001\t8\t8\tOTH\tT\tT\t0\t-\t1\t56\t1\t56\t-
#close\t2021-04-28-10-31-00
";

    #[test]
    fn tsv_conn_log() {
        let mut r = ZeekReader::new(TSV.as_bytes());
        let recs: Vec<FlowRecord> = r.by_ref().map(|x| x.unwrap()).collect();
        assert_eq!(recs.len(), 5);
        let scan = recs[0];
        assert_eq!(scan.first_us, 1_619_605_821_099_510);
        assert_eq!(scan.dst_port, 23);
        assert!(scan.tcp_flags.is_syn_only());
        assert_eq!((scan.packets, scan.bytes), (1, 40));
        let (web, back) = (recs[1], recs[2]);
        assert_eq!(web.last_us - web.first_us, 1_250_000);
        assert_eq!(
            web.tcp_flags.0,
            TcpFlags::SYN | TcpFlags::ACK | TcpFlags::FIN
        );
        assert_eq!(
            back.tcp_flags.0,
            TcpFlags::SYN | TcpFlags::ACK | TcpFlags::FIN
        );
        assert_eq!(
            (back.src_port, back.dst_port, back.packets, back.bytes),
            (80, 51000, 5, 2260)
        );
        assert_eq!(recs[3].proto, 58);
        assert_eq!(recs[3].icmp(), Some((128, 0)));
        assert_eq!(r.stats().records, 5);
        assert_eq!(r.stats().errors.total(), 0);
    }

    #[test]
    fn json_lines() {
        let text = concat!(
            r#"{"ts":1619605821.09951,"uid":"C1","id.orig_h":"192.168.1.50","id.orig_p":40000,"id.resp_h":"93.184.216.34","id.resp_p":2323,"proto":"tcp","conn_state":"S0","orig_pkts":1,"orig_ip_bytes":40,"resp_pkts":0,"resp_ip_bytes":0}"#,
            "\n",
            r#"{"ts":"2021-04-28T10:30:22.500000Z","id.orig_h":"10.0.0.2","id.orig_p":5353,"id.resp_h":"10.0.0.1","id.resp_p":53,"proto":"udp","duration":0.5,"orig_pkts":2,"orig_ip_bytes":120,"resp_pkts":1,"resp_ip_bytes":300}"#,
            "\n",
            "not json\n",
            r#"{"ts":1,"id.orig_h":"nope","id.resp_h":"10.0.0.1"}"#,
            "\n"
        );
        let out: Vec<_> = ZeekReader::new(text.as_bytes()).collect();
        assert_eq!(out.len(), 5);
        let a = out[0].as_ref().unwrap();
        assert_eq!((a.dst_port, a.tcp_flags.0), (2323, TcpFlags::SYN));
        assert_eq!(a.first_us, 1_619_605_821_099_510);
        let b = out[1].as_ref().unwrap();
        assert_eq!(b.first_us, 1_619_605_822_500_000);
        assert_eq!(b.last_us, 1_619_605_823_000_000);
        assert_eq!(out[2].as_ref().unwrap().bytes, 300);
        let e = out[3].as_ref().unwrap_err();
        assert!(e.can_continue());
        assert!(e.to_string().starts_with("line 3:"), "{e}");
        let e = out[4].as_ref().unwrap_err();
        assert!(e.to_string().contains("id.orig_h"), "{e}");
    }

    /// dns.log as Zeek writes it by default: a lookup answered with a CNAME and two
    /// addresses, an NXDOMAIN, a query never answered, a line without a query.
    const DNS_TSV: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tdns
#open\t2026-12-03-10-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool
1764756000.250000\tCd1\t192.0.2.20\t40001\t192.0.2.1\t53\tudp\t4660\t0.012000\tCNC.Example.com\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\tedge.cdn.example.net,203.0.113.7,2001:db8::7\t60.000000,300.000000,86400.000000\tF
1764756001.000000\tCd2\t192.0.2.21\t40002\t192.0.2.1\t53\tudp\t7\t0.001000\tgone.example\t1\tC_INTERNET\t1\tA\t3\tNXDOMAIN\tF\tF\tT\tT\t0\t-\t-\tF
1764756002.000000\tCd3\t2001:db8::20\t40003\t2001:db8::1\t53\ttcp\t8\t-\tquiet.example\t1\tC_INTERNET\t28\tAAAA\t-\t-\tF\tF\tT\tF\t0\t-\t-\tF
1764756003.000000\tCd4\t192.0.2.22\t40004\t192.0.2.1\t53\tudp\t9\t-\t-\t-\t-\t-\t-\t-\t-\tF\tF\tF\tF\t0\t-\t-\tF
#close\t2026-12-03-11-00-00
";

    /// Each line with a query gives one record and its message; a reply runs from the
    /// resolver to the device at ts + rtt; only addresses are answers.
    #[test]
    fn tsv_dns_log() {
        let mut r = ZeekReader::new(DNS_TSV.as_bytes());
        let mut got = Vec::new();
        while let Some(rec) = r.next() {
            got.push((rec.unwrap(), r.take_dns().unwrap()));
        }
        assert_eq!(got.len(), 3);
        let (rec, msg) = &got[0];
        assert_eq!(rec.src.to_string(), "192.0.2.1");
        assert_eq!(rec.dst.to_string(), "192.0.2.20");
        assert_eq!((rec.src_port, rec.dst_port, rec.proto), (53, 40001, 17));
        assert_eq!(rec.first_us, 1_764_756_000_262_000);
        assert_eq!(rec.last_us, rec.first_us);
        assert_eq!((rec.packets, rec.bytes), (1, 0));
        assert!(msg.response);
        assert_eq!((msg.id, msg.rcode), (4660, 0));
        assert_eq!(
            msg.question,
            Some(Question {
                name: "cnc.example.com".into(),
                qtype: 1
            })
        );
        let answers: Vec<(String, u32)> = msg
            .answers
            .iter()
            .map(|a| (a.addr.to_string(), a.ttl))
            .collect();
        assert_eq!(
            answers,
            [("203.0.113.7".into(), 300), ("2001:db8::7".into(), 86_400)]
        );
        assert_eq!(answers.len(), 2);
        assert!(msg.answers.iter().all(|a| a.name == "cnc.example.com"));
        // NXDOMAIN: a reply without answers
        let (rec, msg) = &got[1];
        assert!(msg.response && msg.answers.is_empty());
        assert_eq!((msg.rcode, rec.dst.to_string()), (3, "192.0.2.21".into()));
        // no reply: the query, device to resolver, over TCP
        let (rec, msg) = &got[2];
        assert!(!msg.response);
        assert_eq!(rec.src.to_string(), "2001:db8::20");
        assert_eq!((rec.dst_port, rec.proto), (53, 6));
        assert_eq!(rec.first_us, 1_764_756_002_000_000);
        assert_eq!(msg.question.as_ref().map(|q| q.qtype), Some(28));
        assert_eq!(r.stats().records, 3);
        assert_eq!(r.stats().errors.total(), 0);
    }

    /// JSON lines: dns.log alone, or with conn.log in one stream told apart by `_path`
    /// (other logs skipped); the message belongs to its own record only.
    #[test]
    fn json_dns_lines_and_mixed_streams() {
        let text = concat!(
            r#"{"_path":"conn","ts":1764756000.0,"id.orig_h":"192.0.2.20","id.orig_p":40001,"id.resp_h":"192.0.2.1","id.resp_p":53,"proto":"udp","orig_pkts":1,"resp_pkts":1}"#,
            "\n",
            r#"{"_path":"dns","ts":1764756000.25,"id.orig_h":"192.0.2.20","id.orig_p":40001,"id.resp_h":"192.0.2.1","id.resp_p":53,"proto":"udp","trans_id":4660,"rtt":0.5,"query":"x.BAD.example","qtype":1,"rcode":0,"answers":["198.18.7.50","alias.example"],"TTLs":[30.0,30.0]}"#,
            "\n",
            r#"{"_path":"http","ts":1764756001.0,"id.orig_h":"192.0.2.20","id.orig_p":40002,"id.resp_h":"198.18.7.50","id.resp_p":80,"method":"GET"}"#,
            "\n",
            r#"{"ts":1764756002.0,"id.orig_h":"192.0.2.21","id.orig_p":40003,"id.resp_h":"192.0.2.1","id.resp_p":53,"proto":"udp","query":"y.example","qtype":28}"#,
            "\n",
            r#"{"ts":1764756003.0,"id.orig_h":"192.0.2.21","id.orig_p":1,"id.resp_h":"192.0.2.1","id.resp_p":53,"proto":"udp","query":"a..example"}"#,
            "\n",
            r#"{"ts":1764756003.0,"id.orig_h":"192.0.2.21","id.orig_p":1,"id.resp_h":"192.0.2.1","id.resp_p":53,"proto":"udp","query":"b.example","trans_id":70000}"#,
            "\n",
        );
        let mut r = ZeekReader::new(text.as_bytes());
        let mut got = Vec::new();
        while let Some(rec) = r.next() {
            got.push(rec.map(|rec| (rec, r.take_dns())));
        }
        // conn: two records, no message
        assert_eq!(got.len(), 6);
        let (conn, none) = got[0].as_ref().unwrap();
        assert_eq!((conn.dst_port, none), (53, &None));
        assert!(got[1].as_ref().unwrap().1.is_none());
        let (rec, msg) = got[2].as_ref().unwrap();
        let msg = msg.as_ref().unwrap();
        assert_eq!(rec.first_us, 1_764_756_000_750_000);
        assert_eq!(rec.dst.to_string(), "192.0.2.20");
        assert_eq!(msg.question.as_ref().unwrap().name, "x.bad.example");
        assert_eq!(msg.answers.len(), 1);
        assert_eq!(
            (msg.answers[0].addr.to_string(), msg.answers[0].ttl),
            ("198.18.7.50".into(), 30)
        );
        // the http line was skipped; a query without an answer
        let (rec, msg) = got[3].as_ref().unwrap();
        let msg = msg.as_ref().unwrap();
        assert!(!msg.response);
        assert_eq!(rec.src.to_string(), "192.0.2.21");
        let e = got[4].as_ref().unwrap_err();
        assert!(e.to_string().contains("`query`") && e.can_continue(), "{e}");
        let e = got[5].as_ref().unwrap_err();
        assert!(e.to_string().contains("`trans_id`"), "{e}");
        assert_eq!(r.stats().records, 4);
    }

    /// Bad dns.log fields are reported with the line and the field.
    #[test]
    fn bad_dns_fields_are_reported() {
        let head: String = DNS_TSV.lines().take(8).map(|l| format!("{l}\n")).collect();
        let line = |fields: &[(usize, &str)]| {
            let mut v: Vec<&str> = DNS_TSV.lines().nth(8).unwrap().split('\t').collect();
            for (i, x) in fields {
                v[*i] = x;
            }
            v.join("\t")
        };
        for (fields, want) in [
            (vec![(0, "soon")], "`ts`"),
            (vec![(8, "fast")], "`rtt`"),
            (vec![(22, "60.0,x")], "`TTLs`"),
            (vec![(12, "70000")], "`qtype`"),
            (vec![(2, "nope")], "`id.orig_h`"),
            (vec![(14, "-1")], "`rcode`"),
        ] {
            let text = format!("{head}{}\n", line(&fields));
            let out: Vec<_> = ZeekReader::new(text.as_bytes()).collect();
            assert_eq!(out.len(), 1, "{fields:?}");
            let e = out[0].as_ref().unwrap_err().to_string();
            assert!(
                e.starts_with("line 9:") && e.contains(want),
                "{fields:?}: {e}"
            );
        }
    }

    #[test]
    fn headerless_tsv_uses_default_columns_and_bad_fields_are_reported() {
        let text =
            "1.5\tC\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\t-\t3\t90\t0\t0\t-\n\
                    x\tC\t10.0.0.1\t1\t10.0.0.2\t2\tudp\n\
                    1\tC\t10.0.0.1\t99999\t10.0.0.2\t2\tudp\n";
        let out: Vec<_> = ZeekReader::new(text.as_bytes()).collect();
        assert_eq!(out.len(), 3);
        let r = out[0].as_ref().unwrap();
        assert_eq!(
            (r.first_us, r.packets, r.bytes, r.proto),
            (1_500_000, 3, 90, 17)
        );
        assert!(out[1].as_ref().unwrap_err().to_string().contains("`ts`"));
        assert!(out[2]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("port above 65535"));
    }

    #[test]
    fn long_lines_are_bounded() {
        let mut text = vec![b'a'; MAX_LINE * 3];
        text.push(b'\n');
        text.extend_from_slice(b"1\tC\t10.0.0.1\t1\t10.0.0.2\t2\tudp\n");
        let mut r = ZeekReader::new(&text[..]);
        let first = r.next().unwrap().unwrap_err();
        assert_eq!(first.kind(), crate::ErrorKind::LimitReached);
        assert!(r.next().unwrap().is_ok());
        assert!(r.next().is_none());
        assert!(r.line.capacity() <= MAX_LINE * 2);
    }

    #[test]
    fn hostile_text_never_panics() {
        let mut rng = crate::testing::Rng(3);
        let json = r#"{"ts":1.5,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"tcp","history":"ShADadFf","orig_pkts":3,"resp_pkts":2}"#;
        let dns_json = r#"{"_path":"dns","ts":1.5,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp","query":"a.example","rcode":0,"answers":["10.0.0.9"],"TTLs":[5.0]}"#;
        for valid in [
            TSV.as_bytes(),
            json.as_bytes(),
            DNS_TSV.as_bytes(),
            dns_json.as_bytes(),
        ] {
            for cut in 0..valid.len() {
                let n = ZeekReader::new(&valid[..cut]).take(100).count();
                assert!(n < 100);
            }
            for _ in 0..2000 {
                let mut bad = valid.to_vec();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(bad.len() as u64) as usize;
                    bad[i] ^= 1 << rng.below(8);
                }
                let mut r = ZeekReader::new(&bad[..]);
                let items = r.by_ref().take(100).count();
                assert!(items < 100);
                // every line is a unit; records and errors never outnumber two per line
                assert!(r.stats().records <= 2 * r.stats().units);
            }
        }
    }

    #[test]
    fn epoch_parsing() {
        assert_eq!(
            parse_epoch("1619605821.099510"),
            Some(1_619_605_821_099_510)
        );
        assert_eq!(parse_epoch("1.5"), Some(1_500_000));
        assert_eq!(parse_epoch("1.1234567"), Some(1_123_456));
        assert_eq!(parse_epoch("2"), Some(2_000_000));
        assert_eq!(parse_epoch("1e3"), Some(1_000_000_000));
        assert_eq!(parse_epoch("abc"), None);
        assert_eq!(parse_epoch("."), None);
    }
}
