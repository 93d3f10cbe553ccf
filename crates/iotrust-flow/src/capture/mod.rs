//! Capture files (classic pcap and pcapng) read as a stream: one [`FlowRecord`] per IP packet.
//!
//! ```no_run
//! use iotrust_flow::CaptureReader;
//! let file = std::fs::File::open("capture.pcap")?;
//! let mut reader = CaptureReader::new(file)?;
//! for item in reader.by_ref() {
//!     match item {
//!         Ok(record) => { /* one packet */ let _ = record; }
//!         Err(e) if e.can_continue() => eprintln!("skipped: {e}"),
//!         Err(e) => { eprintln!("stopped: {e}"); break; }
//!     }
//! }
//! eprintln!("{:?}", reader.stats());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod input;
mod pcap;
mod pcapng;

use std::collections::BTreeSet;
use std::io::Read;

use input::{Fill, Input};

use crate::announce::{self, AnnounceError, Announcement, Via};
use crate::bytes::{be_u16, u8_at};
use crate::dns::{DnsError, DnsMessage};
use crate::error::{Error, Location};
use crate::packet::{decode_frame, source_mac, Frame, FrameError};
use crate::record::{FlowRecord, SourceKind};
use crate::stats::Stats;

/// The largest captured packet accepted (libpcap's largest snap length). A record claiming
/// more is taken as corruption.
pub const MAX_PACKET: u32 = 262_144;

pub(crate) fn io_error(at: Location, source: std::io::Error) -> Error {
    Error::Io { at, source }
}

pub(crate) fn truncated(at: Location, what: &'static str, needed: u64, available: u64) -> Error {
    Error::Truncated {
        at,
        what,
        needed,
        available,
    }
}

/// Facts about a packet, its bytes left in the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    number: u64,
    offset: u64,
    ts_us: i64,
    interface: u32,
    link_type: u32,
    captured_len: u32,
    orig_len: u32,
}

/// One captured packet, borrowed from the reader until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Packet number in the file, 1-based.
    pub number: u64,
    /// Byte offset of the packet's record or block in the file.
    pub offset: u64,
    /// Capture time, microseconds since the Unix epoch.
    pub ts_us: i64,
    /// Interface id (pcapng); 0 for classic pcap.
    pub interface: u32,
    /// The interface's link type (`LINKTYPE_*`).
    pub link_type: u32,
    /// Bytes captured (may be less than on the wire).
    pub captured_len: u32,
    /// Bytes on the wire.
    pub orig_len: u32,
    /// The captured bytes, or their first `keep` bytes (see [`CaptureReader::with_keep`]).
    pub data: &'a [u8],
}

/// The two capture formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    Pcapng,
}

enum Inner<R> {
    Pcap(pcap::PcapReader<R>),
    Pcapng(pcapng::PcapngReader<R>),
}

/// A streaming reader of pcap or pcapng (told apart by their first bytes).
///
/// Memory is bounded: one packet buffer of at most `keep` bytes (default [`MAX_PACKET`]) and
/// a 64 KiB read buffer. As an [`Iterator`] it yields one [`FlowRecord`] per IP packet
/// (`packets = 1`, `sampling = 1`, `domain` = interface id); non-IP frames are counted as
/// skipped. After an error that [`Error::can_continue`] denies (I/O, cut file, corrupt
/// length) it yields nothing more.
pub struct CaptureReader<R> {
    inner: Inner<R>,
    stats: Stats,
    done: bool,
    /// (section, interface) pairs whose unsupported link type was reported.
    reported: BTreeSet<(u32, u32)>,
    /// Read DNS messages (port 53) for [`CaptureReader::take_dns`].
    dns: bool,
    /// Where the last record's UDP header and payload lie in the packet buffer, when it was a
    /// datagram to or from port 53 (read by [`CaptureReader::take_dns`], not before).
    dns_l4: Option<(usize, usize)>,
    /// `dns_l4` is a TCP segment.
    dns_tcp: bool,
    /// Read MUD URL announcements ([`CaptureReader::with_mud`]).
    mud: bool,
    /// Announcements whose device is known, for [`CaptureReader::take_announcements`].
    announced: Vec<Announcement>,
    /// Announcements waiting for their device's address (by MAC), oldest first.
    unbound: Vec<Announcement>,
    /// An error about the last record's packet (a malformed announcement), handed out
    /// before the next packet is read.
    pending: Option<Error>,
}

/// Announcements waiting for an address, and ready ones not taken, at most.
const MAX_ANNOUNCEMENTS: usize = 256;

/// Reports of unsupported link types kept per file; past this, packets are still counted.
const MAX_REPORTED: usize = 4096;

impl<R: Read> CaptureReader<R> {
    /// Reads the file header. Fails if the input is neither pcap nor pcapng.
    pub fn new(reader: R) -> Result<Self, Error> {
        Self::with_keep(reader, MAX_PACKET as usize)
    }

    /// Like [`CaptureReader::new`], keeping at most `keep` bytes of each packet (the rest is
    /// skipped). Decoding headers needs the first ~128 bytes.
    pub fn with_keep(reader: R, keep: usize) -> Result<Self, Error> {
        let keep = keep.min(MAX_PACKET as usize);
        let mut input = Input::new(reader);
        let at = Location::File { offset: 0 };
        let mut magic = [0u8; 4];
        match input.fill(&mut magic).map_err(|e| io_error(at, e))? {
            Fill::Full => {}
            Fill::Eof => return Err(truncated(at, "capture file header", 4, 0)),
            Fill::Short(n) => return Err(truncated(at, "capture file header", 4, n as u64)),
        }
        let inner = if magic == pcapng::SHB_TYPE {
            Inner::Pcapng(pcapng::PcapngReader::new(input, keep)?)
        } else if matches!(
            magic,
            pcap::MAGIC_US_LE | pcap::MAGIC_US_BE | pcap::MAGIC_NS_LE | pcap::MAGIC_NS_BE
        ) {
            Inner::Pcap(pcap::PcapReader::new(magic, input, keep)?)
        } else {
            return Err(Error::BadMagic {
                at,
                expected: "a pcap or pcapng file",
                found: u64::from(u32::from_be_bytes(magic)),
            });
        };
        Ok(CaptureReader {
            inner,
            stats: Stats::default(),
            done: false,
            reported: BTreeSet::new(),
            dns: false,
            dns_l4: None,
            dns_tcp: false,
            mud: false,
            announced: Vec::new(),
            unbound: Vec::new(),
            pending: None,
        })
    }

    /// Which format the file is in.
    pub fn format(&self) -> CaptureFormat {
        match self.inner {
            Inner::Pcap(_) => CaptureFormat::Pcap,
            Inner::Pcapng(_) => CaptureFormat::Pcapng,
        }
    }

    /// The link type of a classic pcap file (pcapng files have one per interface).
    pub fn pcap_link_type(&self) -> Option<u32> {
        match &self.inner {
            Inner::Pcap(p) => Some(p.link_type()),
            Inner::Pcapng(_) => None,
        }
    }

    /// The snap length of a classic pcap file.
    pub fn pcap_snaplen(&self) -> Option<u32> {
        match &self.inner {
            Inner::Pcap(p) => Some(p.snaplen),
            Inner::Pcapng(_) => None,
        }
    }

    /// Also reads DNS messages: the UDP payload of each IP packet to or from port 53 is
    /// parsed ([`crate::dns::parse`]) and kept for [`CaptureReader::take_dns`]; so is a
    /// message over TCP (after its 2-byte length) that a segment to or from port 53 holds
    /// whole from the segment's first byte. A message split over segments, or a segment
    /// holding the end of one, is not read (no stream reassembly).
    pub fn with_dns(mut self) -> Self {
        self.dns = true;
        self
    }

    /// The DNS message of the packet whose record the iterator returned last, if it was a
    /// UDP packet or a TCP segment with data to or from port 53 and
    /// [`CaptureReader::with_dns`] was asked: the message, or why its payload is not one.
    pub fn take_dns(&mut self) -> Option<Result<DnsMessage, DnsError>> {
        let (start, end) = self.dns_l4.take()?;
        let l4 = self.data().get(start..end).unwrap_or_default();
        Some(if self.dns_tcp {
            tcp_dns(l4)
        } else {
            udp_dns(l4)
        })
    }

    /// Also reads MUD URLs that devices announce ([`crate::announce`]): DHCPv4 option 161
    /// (UDP to port 67), DHCPv6 option 112 (UDP to port 547) and the LLDP MUD TLV. An
    /// announcement is handed out ([`CaptureReader::take_announcements`]) with the first
    /// record returned once the device's address is known — from the message itself (DHCP
    /// client or requested address, IA address, LLDP management address), the DHCP packet's
    /// own source, or else the first packet from a usable address of the announcing MAC
    /// (at most 256 wait for one). A malformed announcement is an error naming the packet
    /// (`can_continue`): an LLDP frame's in its place, a DHCP packet's after its record.
    pub fn with_mud(mut self) -> Self {
        self.mud = true;
        self
    }

    /// The announcements ready with the record the iterator returned last (those of
    /// packets since the record before it that carried none, and of waiting ones whose
    /// device this record's packet showed), oldest first.
    pub fn take_announcements(&mut self) -> Vec<Announcement> {
        std::mem::take(&mut self.announced)
    }

    /// Keeps an announcement: ready when its address is known, else waiting for it by MAC.
    fn announce(&mut self, found: announce::Found, via: Via, m: &Meta, src: Option<crate::Addr>) {
        // a relayed message's frame and source are the relay's
        let own = found.own_frame;
        let mac = found
            .mac
            .or_else(|| own.then(|| source_mac(m.link_type, self.data())).flatten());
        let device = found.addr.or(src.filter(|a| own && announce::usable(*a)));
        let mut a = Announcement {
            url: found.url,
            via,
            device: device.unwrap_or_default(),
            mac,
            packet: m.number,
            at_us: m.ts_us,
        };
        let list = match device {
            Some(_) => &mut self.announced,
            None if mac.is_some() => &mut self.unbound,
            None => return,
        };
        if list.len() >= MAX_ANNOUNCEMENTS {
            list.remove(0);
        }
        if device.is_none() {
            // a newer announcement from the same MAC replaces the waiting one
            list.retain(|w| w.mac != mac);
        }
        a.mac = mac;
        list.push(a);
    }

    /// The MUD part of reading one IP packet: binds waiting announcements to the
    /// packet's source, then reads a DHCP client message's URL.
    #[inline(never)]
    fn mud_of_ip(&mut self, rec: &FlowRecord, l4: std::ops::Range<usize>, m: &Meta, at: Location) {
        if !self.unbound.is_empty() && announce::usable(rec.src) {
            if let Some(mac) = source_mac(m.link_type, self.data()) {
                let mut i = 0;
                while i < self.unbound.len() {
                    if self.unbound.get(i).is_some_and(|w| w.mac == Some(mac)) {
                        let mut w = self.unbound.remove(i);
                        w.device = rec.src;
                        if self.announced.len() >= MAX_ANNOUNCEMENTS {
                            self.announced.remove(0);
                        }
                        self.announced.push(w);
                    } else {
                        i += 1;
                    }
                }
            }
        }
        if rec.proto != FlowRecord::PROTO_UDP {
            return;
        }
        let via = match rec.dst_port {
            67 => Via::Dhcpv4,
            547 => Via::Dhcpv6,
            _ => return,
        };
        let l4 = self.data().get(l4).unwrap_or_default();
        // the UDP length bounds the payload
        let end = usize::from(be_u16(l4, 4).unwrap_or(0)).clamp(8, l4.len().max(8));
        let payload = l4.get(8..end).unwrap_or_default();
        let r = match via {
            Via::Dhcpv4 => announce::dhcpv4(payload),
            _ => announce::dhcpv6(payload),
        };
        match r {
            Ok(Some(found)) => self.announce(found, via, m, Some(rec.src)),
            Ok(None) => {}
            Err(e) => self.pending = Some(self.announce_error(at, e)),
        }
    }

    /// The MUD part of an LLDP frame (`tlvs`: where its TLVs lie in the packet buffer): an
    /// error if its MUD TLV is malformed.
    #[inline(never)]
    fn mud_of_lldp(
        &mut self,
        tlvs: std::ops::Range<usize>,
        m: &Meta,
        at: Location,
    ) -> Option<Error> {
        match announce::lldp(self.data().get(tlvs).unwrap_or_default()) {
            Ok(Some(found)) => self.announce(found, Via::Lldp, m, None),
            Ok(None) => {}
            Err(e) => return Some(self.announce_error(at, e)),
        }
        None
    }

    fn announce_error(&mut self, at: Location, e: AnnounceError) -> Error {
        let e = Error::Malformed {
            at,
            what: e.what,
            reason: e.reason,
        };
        self.stats.count_error(&e);
        e
    }

    /// Counters so far: `units` are packets.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn kind(&self) -> SourceKind {
        match self.inner {
            Inner::Pcap(_) => SourceKind::Pcap,
            Inner::Pcapng(_) => SourceKind::Pcapng,
        }
    }

    fn read_meta(&mut self) -> Option<Result<Meta, Error>> {
        if self.done {
            return None;
        }
        let r = match &mut self.inner {
            Inner::Pcap(p) => p.read_next(),
            Inner::Pcapng(p) => p.read_next(),
        };
        match r {
            Ok(Some(m)) => {
                self.stats.unit();
                Some(Ok(m))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                if !e.can_continue() {
                    self.done = true;
                }
                if matches!(e.location(), Location::Packet { .. }) {
                    self.stats.unit();
                }
                self.stats.count_error(&e);
                Some(Err(e))
            }
        }
    }

    fn data(&self) -> &[u8] {
        match &self.inner {
            Inner::Pcap(p) => &p.buf,
            Inner::Pcapng(p) => &p.buf,
        }
    }

    /// The next packet, raw. Packets read this way are counted as units but not decoded.
    pub fn next_packet(&mut self) -> Option<Result<Packet<'_>, Error>> {
        let m = match self.read_meta()? {
            Ok(m) => m,
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(Packet {
            number: m.number,
            offset: m.offset,
            ts_us: m.ts_us,
            interface: m.interface,
            link_type: m.link_type,
            captured_len: m.captured_len,
            orig_len: m.orig_len,
            data: self.data(),
        }))
    }

    fn section(&self) -> u32 {
        match &self.inner {
            Inner::Pcap(_) => 0,
            Inner::Pcapng(p) => p.section,
        }
    }
}

impl<R: Read> Iterator for CaptureReader<R> {
    type Item = Result<FlowRecord, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending.take() {
            return Some(Err(e));
        }
        loop {
            let m = match self.read_meta()? {
                Ok(m) => m,
                Err(e) => return Some(Err(e)),
            };
            let mut rec = FlowRecord::new(self.kind());
            rec.first_us = m.ts_us;
            rec.last_us = m.ts_us;
            rec.domain = m.interface;
            let at = Location::Packet {
                number: m.number,
                offset: m.offset,
            };
            if self.dns {
                self.dns_l4 = None;
            }
            match decode_frame(m.link_type, self.data(), m.orig_len, &mut rec) {
                Ok(Frame::Ip { l4 }) => {
                    // `l4` lies inside the packet buffer
                    let start = (l4.as_ptr() as usize).wrapping_sub(self.data().as_ptr() as usize);
                    let range = start..start.saturating_add(l4.len());
                    if self.dns {
                        if let Some((start, end, tcp)) = dns_place(&rec, l4, self.data()) {
                            self.dns_l4 = Some((start, end));
                            self.dns_tcp = tcp;
                        }
                    }
                    if self.mud {
                        self.mud_of_ip(&rec, range, &m, at);
                    }
                    self.stats.record();
                    return Some(Ok(rec));
                }
                Ok(Frame::Lldp { tlvs }) => {
                    let start =
                        (tlvs.as_ptr() as usize).wrapping_sub(self.data().as_ptr() as usize);
                    let range = start..start.saturating_add(tlvs.len());
                    self.stats.skip();
                    if self.mud {
                        if let Some(e) = self.mud_of_lldp(range, &m, at) {
                            return Some(Err(e));
                        }
                    }
                }
                Ok(Frame::NotIp) => self.stats.skip(),
                Err(FrameError::UnsupportedLinkType) => {
                    self.stats.skip_link_type(m.link_type);
                    let key = (self.section(), m.interface);
                    if self.reported.len() < MAX_REPORTED && self.reported.insert(key) {
                        let e = Error::UnsupportedLinkType {
                            at,
                            link_type: m.link_type,
                        };
                        self.stats.count_error(&e);
                        return Some(Err(e));
                    }
                }
                Err(FrameError::Malformed { what, reason }) => {
                    let e = Error::Malformed { at, what, reason };
                    self.stats.count_error(&e);
                    return Some(Err(e));
                }
            }
        }
    }
}

/// The DNS message in a UDP datagram (`l4`: its header and payload, cut to the IP length);
/// out of line, so that the per-packet path stays small.
#[inline(never)]
fn udp_dns(l4: &[u8]) -> Result<DnsMessage, DnsError> {
    // the UDP length bounds the payload
    let end = usize::from(be_u16(l4, 4).unwrap_or(0)).clamp(8, l4.len().max(8));
    crate::dns::parse(l4.get(8..end).unwrap_or_default())
}

/// Where in the packet buffer `data` the transport bytes `l4` of a port-53 UDP datagram or
/// TCP segment with data lie (for [`CaptureReader::take_dns`]), and whether it is TCP;
/// out of line, so that the per-packet path stays small.
#[inline(never)]
fn dns_place(rec: &FlowRecord, l4: &[u8], data: &[u8]) -> Option<(usize, usize, bool)> {
    if rec.src_port != 53 && rec.dst_port != 53 {
        return None;
    }
    let udp = rec.proto == FlowRecord::PROTO_UDP;
    // a TCP segment with data (not a bare SYN or ACK)
    let tcp = rec.proto == FlowRecord::PROTO_TCP
        && l4.len() > usize::from(u8_at(l4, 12).unwrap_or(0xff) >> 4) * 4;
    if !udp && !tcp {
        return None;
    }
    // `l4` lies inside the packet buffer
    let start = (l4.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
    Some((start, start.saturating_add(l4.len()), tcp))
}

/// The DNS message a TCP segment (`l4`: header and data) holds whole after its 2-byte
/// length; out of line, as [`udp_dns`].
#[inline(never)]
fn tcp_dns(l4: &[u8]) -> Result<DnsMessage, DnsError> {
    let data = l4
        .get(usize::from(u8_at(l4, 12).unwrap_or(0) >> 4) * 4..)
        .unwrap_or_default();
    let len = usize::from(be_u16(data, 0).ok_or(DnsError::Truncated {
        at: 0,
        what: "TCP length prefix",
    })?);
    let msg = data.get(2..2 + len).ok_or(DnsError::Truncated {
        at: data.len().saturating_sub(2),
        what: "message continued in a later segment",
    })?;
    crate::dns::parse(msg)
}

#[cfg(test)]
mod tests;
