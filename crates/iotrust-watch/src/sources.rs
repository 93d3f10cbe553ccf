//! Readers of the file and stream sources, each handing a record together with the DNS
//! message it carried (a packet's, or a dns.log line's), for any [`crate::Engine`].

use std::io::Read;
use std::path::PathBuf;

use iotrust_flow::dns::DnsMessage;
use iotrust_flow::{CaptureReader, FlowRecord, ZeekReader};

use crate::error::Error;

/// A pcap or pcapng stream as records, each with its packet's DNS message when it carried a
/// readable one (with `dns`).
pub struct Capture<R: Read> {
    reader: CaptureReader<R>,
}

impl<R: Read> Capture<R> {
    /// Reads the capture's header; `dns`: also read DNS messages from port-53 packets.
    pub fn new(input: R, dns: bool) -> Result<Capture<R>, iotrust_flow::Error> {
        let mut reader = CaptureReader::new(input)?;
        if dns {
            reader = reader.with_dns();
        }
        Ok(Capture { reader })
    }

    /// The next record and its packet's DNS message; an error says whether reading can go
    /// on (`can_continue`). A DNS payload that does not parse is no message (the record
    /// still counts).
    #[allow(clippy::should_implement_trait)]
    pub fn next(
        &mut self,
    ) -> Option<Result<(FlowRecord, Option<DnsMessage>), iotrust_flow::Error>> {
        let r = self.reader.next()?;
        Some(r.map(|r| (r, self.reader.take_dns().and_then(Result::ok))))
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
