//! Classic libpcap files: both byte orders, microsecond and nanosecond timestamps.

use std::io::Read;

use super::input::{Fill, Input};
use super::{io_error, truncated, Meta, MAX_PACKET};
use crate::bytes::{array_at, Endian};
use crate::error::{Error, Location};

pub(crate) const MAGIC_US_LE: [u8; 4] = [0xd4, 0xc3, 0xb2, 0xa1];
pub(crate) const MAGIC_US_BE: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];
pub(crate) const MAGIC_NS_LE: [u8; 4] = [0x4d, 0x3c, 0xb2, 0xa1];
pub(crate) const MAGIC_NS_BE: [u8; 4] = [0xa1, 0xb2, 0x3c, 0x4d];

pub(crate) struct PcapReader<R> {
    input: Input<R>,
    endian: Endian,
    nanos: bool,
    link_type: u32,
    pub(crate) snaplen: u32,
    number: u64,
    pub(crate) buf: Vec<u8>,
    keep: usize,
}

impl<R: Read> PcapReader<R> {
    /// Reads the rest of the file header; `magic` (the first four bytes) was already read.
    pub(crate) fn new(magic: [u8; 4], mut input: Input<R>, keep: usize) -> Result<Self, Error> {
        let (endian, nanos) = match magic {
            MAGIC_US_LE => (Endian::Little, false),
            MAGIC_US_BE => (Endian::Big, false),
            MAGIC_NS_LE => (Endian::Little, true),
            MAGIC_NS_BE => (Endian::Big, true),
            _ => {
                return Err(Error::BadMagic {
                    at: Location::File { offset: 0 },
                    expected: "a pcap file",
                    found: u64::from(u32::from_be_bytes(magic)),
                })
            }
        };
        let mut hdr = [0u8; 20];
        let at = Location::File { offset: 4 };
        match input.fill(&mut hdr).map_err(|e| io_error(at, e))? {
            Fill::Full => {}
            Fill::Eof => return Err(truncated(at, "pcap file header", 20, 0)),
            Fill::Short(n) => return Err(truncated(at, "pcap file header", 20, n as u64)),
        }
        let major = endian.u16_at(&hdr, 0).unwrap_or(0);
        if major != 2 {
            return Err(Error::UnsupportedVersion {
                at,
                what: "pcap",
                version: u32::from(major),
            });
        }
        let snaplen = endian.u32_at(&hdr, 12).unwrap_or(0);
        // The low 16 bits are the link type; higher bits carry FCS information.
        let link_type = endian.u32_at(&hdr, 16).unwrap_or(0) & 0xffff;
        Ok(PcapReader {
            input,
            endian,
            nanos,
            link_type,
            snaplen,
            number: 0,
            buf: Vec::new(),
            keep,
        })
    }

    pub(crate) fn link_type(&self) -> u32 {
        self.link_type
    }

    /// Reads the next packet into `self.buf`; `None` at a clean end of file.
    pub(crate) fn read_next(&mut self) -> Result<Option<Meta>, Error> {
        let offset = self.input.offset();
        let number = self.number + 1;
        let at = Location::Packet { number, offset };
        let mut hdr = [0u8; 16];
        match self.input.fill(&mut hdr).map_err(|e| io_error(at, e))? {
            Fill::Full => {}
            Fill::Eof => return Ok(None),
            Fill::Short(n) => return Err(truncated(at, "packet record header", 16, n as u64)),
        }
        self.number = number;
        let e = self.endian;
        let field = |off| array_at::<4>(&hdr, off).map(|b| e.u32(b)).unwrap_or(0);
        let (secs, frac, caplen, orig_len) = (field(0), field(4), field(8), field(12));
        if caplen > MAX_PACKET {
            return Err(Error::BadLength {
                at,
                what: "captured length",
                value: u64::from(caplen),
                rule: "at most 262144, the largest snap length libpcap writes",
            });
        }
        let keep = (caplen as usize).min(self.keep);
        let got = match self
            .input
            .fill_vec(&mut self.buf, keep)
            .map_err(|e| io_error(at, e))?
        {
            Fill::Full => keep as u64,
            Fill::Eof => 0,
            Fill::Short(n) => n as u64,
        };
        let rest = u64::from(caplen) - keep as u64;
        let skipped = if got == keep as u64 {
            self.input.skip(rest).map_err(|e| io_error(at, e))?
        } else {
            0
        };
        if got + skipped < u64::from(caplen) {
            return Err(truncated(
                at,
                "packet data",
                u64::from(caplen),
                got + skipped,
            ));
        }
        let frac_us = if self.nanos {
            i64::from(frac) / 1000
        } else {
            i64::from(frac)
        };
        Ok(Some(Meta {
            number,
            offset,
            ts_us: i64::from(secs) * 1_000_000 + frac_us,
            interface: 0,
            link_type: self.link_type,
            captured_len: caplen,
            orig_len,
        }))
    }
}
