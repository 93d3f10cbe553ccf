//! Readers of the file and stream sources, each handing a record together with what it
//! carried (a packet's DNS message or a dns.log line's; MUD URLs devices announced), for any
//! [`crate::Engine`] ([`crate::Engine::observe_carried`]).

use std::io::Read;
use std::path::PathBuf;

use iotrust_flow::announce::Announcement;
use iotrust_flow::dns::DnsMessage;
use iotrust_flow::{CaptureReader, FlowRecord, ZeekReader};

use crate::error::Error;

/// What travels with a record to the engine besides the record itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Carried {
    /// The DNS message of the record's packet (or dns.log line), when it held a readable one.
    pub dns: Option<DnsMessage>,
    /// MUD URLs announced (DHCP, LLDP) whose device became known with this record: they
    /// apply from this record on. Empty almost always (no allocation).
    pub mud: Vec<Announcement>,
}

impl Carried {
    /// Nothing but the record.
    pub fn is_empty(&self) -> bool {
        self.dns.is_none() && self.mud.is_empty()
    }
}

/// A pcap or pcapng stream as records, each with what its packet carried (with `dns`: its
/// DNS message when it held a readable one; with `mud`: the MUD URL announcements ready).
pub struct Capture<R: Read> {
    reader: CaptureReader<R>,
}

impl<R: Read> Capture<R> {
    /// Reads the capture's header; `dns`: also read DNS messages from port-53 packets;
    /// `mud`: also read MUD URLs that devices announce.
    pub fn new(input: R, dns: bool, mud: bool) -> Result<Capture<R>, iotrust_flow::Error> {
        let mut reader = CaptureReader::new(input)?;
        if dns {
            reader = reader.with_dns();
        }
        if mud {
            reader = reader.with_mud();
        }
        Ok(Capture { reader })
    }

    /// The next record and what it carried; an error says whether reading can go on
    /// (`can_continue`; a malformed MUD announcement names its packet and reading goes
    /// on). A DNS payload that does not parse is no message (the record still counts).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<(FlowRecord, Carried), iotrust_flow::Error>> {
        let r = self.reader.next()?;
        Some(r.map(|r| {
            let carried = Carried {
                dns: self.reader.take_dns().and_then(Result::ok),
                mud: self.reader.take_announcements(),
            };
            (r, carried)
        }))
    }
}

/// Zeek logs given together (conn.log with dns.log, or files rotated by the hour), read
/// merged by record time: each file in its own order, the next record always from the file
/// whose next one starts first, so that a lookup in dns.log comes before the connections to
/// the addresses it answered.
pub struct ZeekLogs {
    logs: Vec<ZeekLog>,
    /// Input problems reported so far.
    pub problems: u64,
}

struct ZeekLog {
    name: String,
    reader: ZeekReader<std::fs::File>,
    /// The file's next record, and its DNS message for a dns.log line.
    head: Option<(FlowRecord, Option<DnsMessage>)>,
}

impl ZeekLogs {
    /// Opens every file (an error names the one that does not open).
    pub fn open(paths: &[PathBuf]) -> Result<ZeekLogs, Error> {
        let mut logs = Vec::with_capacity(paths.len());
        for p in paths {
            let name = p.display().to_string();
            // the reader buffers its input itself
            let file = std::fs::File::open(p).map_err(|e| Error::Setting {
                setting: format!("--zeek {name}"),
                message: format!("cannot open: {e}"),
            })?;
            logs.push(ZeekLog {
                name,
                reader: ZeekReader::new(file),
                head: None,
            });
        }
        Ok(ZeekLogs { logs, problems: 0 })
    }

    /// The earliest next record of all files, with its DNS message for a dns.log line (a
    /// lookup, not traffic); `on_error` hears of each line skipped (a file ends at an error
    /// it cannot read past).
    #[allow(clippy::should_implement_trait)]
    pub fn next(
        &mut self,
        mut on_error: impl FnMut(&str, &iotrust_flow::Error),
    ) -> Option<(FlowRecord, Option<DnsMessage>)> {
        for log in &mut self.logs {
            while log.head.is_none() {
                match log.reader.next() {
                    None => break,
                    Some(Ok(r)) => log.head = Some((r, log.reader.take_dns())),
                    Some(Err(e)) => {
                        self.problems += 1;
                        on_error(&log.name, &e);
                        if !e.can_continue() {
                            break;
                        }
                    }
                }
            }
        }
        self.logs
            .iter_mut()
            .filter(|l| l.head.is_some())
            .min_by_key(|l| l.head.as_ref().map_or(i64::MAX, |h| h.0.first_us))
            .and_then(|l| l.head.take())
    }
}
