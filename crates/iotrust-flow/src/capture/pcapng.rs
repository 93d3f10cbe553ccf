//! pcapng files: section header, interface description, enhanced, simple and obsolete packet
//! blocks, several interfaces and sections, both byte orders. Other blocks are skipped.

use std::io::Read;

use super::input::{Fill, Input};
use super::{io_error, truncated, Meta, MAX_PACKET};
use crate::bytes::{array_at, Endian};
use crate::error::{Error, Location};

pub(crate) const SHB_TYPE: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const BOM_LE: [u8; 4] = [0x4d, 0x3c, 0x2b, 0x1a];
const BOM_BE: [u8; 4] = [0x1a, 0x2b, 0x3c, 0x4d];
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
/// Largest block accepted (Wireshark's limit too); anything larger is taken as corruption.
const MAX_BLOCK: u32 = 16 * 1024 * 1024;
/// Interfaces per section.
pub(crate) const MAX_INTERFACES: usize = 4096;
/// Interface description bytes parsed for options; the rest is skipped.
const MAX_IDB_BODY: usize = 64 * 1024;

#[derive(Clone, Copy, Debug)]
struct Interface {
    link_type: u32,
    snaplen: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds added to every timestamp.
    offset_secs: i64,
}

pub(crate) struct PcapngReader<R> {
    input: Input<R>,
    endian: Endian,
    interfaces: Vec<Interface>,
    number: u64,
    last_ts_us: i64,
    pub(crate) buf: Vec<u8>,
    keep: usize,
    /// Section counter, so interface ids of different sections stay apart in reports.
    pub(crate) section: u32,
}

/// Checks a section header block: its byte-order magic, its total length (given as the raw
/// length field) and its major version (the raw version field). Returns the section's byte
/// order and the block's total length.
fn section_header(
    at: Location,
    magic: Option<[u8; 4]>,
    length: &[u8],
    major: &[u8],
) -> Result<(Endian, u32), Error> {
    let endian = match magic {
        Some(BOM_LE) => Endian::Little,
        Some(BOM_BE) => Endian::Big,
        other => {
            return Err(Error::BadMagic {
                at,
                expected: "a pcapng byte-order magic",
                found: u64::from(u32::from_be_bytes(other.unwrap_or_default())),
            })
        }
    };
    let total = endian.u32_at(length, 0).unwrap_or(0);
    if !(28..=MAX_BLOCK).contains(&total) || total % 4 != 0 {
        return Err(bad_length(
            at,
            "section header block length",
            u64::from(total),
            "a multiple of 4 between 28 and 16 MiB",
        ));
    }
    let major = endian.u16_at(major, 0).unwrap_or(0);
    if major != 1 {
        return Err(Error::UnsupportedVersion {
            at,
            what: "pcapng section",
            version: u32::from(major),
        });
    }
    Ok((endian, total))
}

fn bad_length(at: Location, what: &'static str, value: u64, rule: &'static str) -> Error {
    Error::BadLength {
        at,
        what,
        value,
        rule,
    }
}

impl<R: Read> PcapngReader<R> {
    /// Starts reading; the first four bytes (the section header block type) were already read.
    pub(crate) fn new(mut input: Input<R>, keep: usize) -> Result<Self, Error> {
        let endian = Self::read_section_header(&mut input, 0)?;
        Ok(PcapngReader {
            input,
            endian,
            interfaces: Vec::new(),
            number: 0,
            last_ts_us: 0,
            buf: Vec::new(),
            keep,
            section: 0,
        })
    }

    /// Reads a section header block after its type; returns the section's byte order.
    fn read_section_header(input: &mut Input<R>, block_offset: u64) -> Result<Endian, Error> {
        let at = Location::File {
            offset: block_offset,
        };
        let mut hdr = [0u8; 12]; // total length, byte-order magic, major, minor
        match input.fill(&mut hdr).map_err(|e| io_error(at, e))? {
            Fill::Full => {}
            Fill::Eof => return Err(truncated(at, "section header block", 16, 4)),
            Fill::Short(n) => return Err(truncated(at, "section header block", 16, 4 + n as u64)),
        }
        let (endian, total) = section_header(at, array_at::<4>(&hdr, 4), &hdr[0..4], &hdr[8..10])?;
        // 16 bytes read so far (type, length, magic, versions); skip the rest but the trailer.
        let rest = u64::from(total) - 16 - 4;
        let skipped = input.skip(rest).map_err(|e| io_error(at, e))?;
        if skipped < rest {
            return Err(truncated(
                at,
                "section header block",
                u64::from(total),
                16 + skipped,
            ));
        }
        Self::read_trailer(input, endian, at, total)?;
        Ok(endian)
    }

    fn read_trailer(
        input: &mut Input<R>,
        endian: Endian,
        at: Location,
        total: u32,
    ) -> Result<(), Error> {
        let mut t = [0u8; 4];
        match input.fill(&mut t).map_err(|e| io_error(at, e))? {
            Fill::Full => {}
            Fill::Eof => return Err(truncated(at, "block trailer", 4, 0)),
            Fill::Short(n) => return Err(truncated(at, "block trailer", 4, n as u64)),
        }
        let trailer = endian.u32(t);
        if trailer != total {
            return Err(bad_length(
                at,
                "trailing block length",
                u64::from(trailer),
                "equal to the leading block length",
            ));
        }
        Ok(())
    }

    /// Skips `n` bytes of a block body, failing if the file ends.
    fn skip_body(&mut self, at: Location, n: u64, what: &'static str) -> Result<(), Error> {
        let got = self.input.skip(n).map_err(|e| io_error(at, e))?;
        if got < n {
            return Err(truncated(at, what, n, got));
        }
        Ok(())
    }

    /// Reads `n` bytes into `self.buf`, failing if the file ends.
    fn read_buf(&mut self, at: Location, n: usize, what: &'static str) -> Result<(), Error> {
        self.buf.clear();
        self.buf.resize(n, 0);
        match self
            .input
            .fill(&mut self.buf)
            .map_err(|e| io_error(at, e))?
        {
            Fill::Full => Ok(()),
            Fill::Eof => Err(truncated(at, what, n as u64, 0)),
            Fill::Short(got) => Err(truncated(at, what, n as u64, got as u64)),
        }
    }

    /// Reads blocks up to the next packet, which is left in `self.buf`; `None` at a clean end.
    pub(crate) fn read_next(&mut self) -> Result<Option<Meta>, Error> {
        loop {
            let block_offset = self.input.offset();
            let at_file = Location::File {
                offset: block_offset,
            };
            let mut hdr = [0u8; 8];
            match self
                .input
                .fill(&mut hdr)
                .map_err(|e| io_error(at_file, e))?
            {
                Fill::Full => {}
                Fill::Eof => return Ok(None),
                Fill::Short(n) => return Err(truncated(at_file, "block header", 8, n as u64)),
            }
            if array_at::<4>(&hdr, 0) == Some(SHB_TYPE) {
                // A new section: its header's length field is in `hdr`, but its byte order is
                // only known after the magic, so re-read it through the section parser.
                self.endian = self.read_new_section(hdr, block_offset)?;
                self.interfaces.clear();
                self.section = self.section.wrapping_add(1);
                continue;
            }
            let e = self.endian;
            let btype = e.u32_at(&hdr, 0).unwrap_or(0);
            let total = e.u32_at(&hdr, 4).unwrap_or(0);
            if !(12..=MAX_BLOCK).contains(&total) || total % 4 != 0 {
                return Err(bad_length(
                    at_file,
                    "block length",
                    u64::from(total),
                    "a multiple of 4 between 12 and 16 MiB",
                ));
            }
            let body = total - 12;
            match btype {
                IDB => {
                    let n = (body as usize).min(MAX_IDB_BODY);
                    self.read_buf(at_file, n, "interface description block")?;
                    self.skip_body(
                        at_file,
                        u64::from(body) - n as u64,
                        "interface description block",
                    )?;
                    Self::read_trailer(&mut self.input, e, at_file, total)?;
                    self.add_interface(at_file)?;
                }
                EPB | OPB => {
                    let number = self.number + 1;
                    let at = Location::Packet {
                        number,
                        offset: block_offset,
                    };
                    if body < 20 {
                        self.skip_body(at, u64::from(body), "packet block")?;
                        Self::read_trailer(&mut self.input, e, at, total)?;
                        self.number = number;
                        return Err(Error::Malformed {
                            at,
                            what: "packet block",
                            reason: "shorter than its fixed fields",
                        });
                    }
                    let mut fixed = [0u8; 20];
                    match self
                        .input
                        .fill(&mut fixed)
                        .map_err(|err| io_error(at, err))?
                    {
                        Fill::Full => {}
                        Fill::Eof => return Err(truncated(at, "packet block", 20, 0)),
                        Fill::Short(n) => return Err(truncated(at, "packet block", 20, n as u64)),
                    }
                    let iface = if btype == EPB {
                        e.u32_at(&fixed, 0).unwrap_or(0)
                    } else {
                        u32::from(e.u16_at(&fixed, 0).unwrap_or(0))
                    };
                    let ts_hi = e.u32_at(&fixed, 4).unwrap_or(0);
                    let ts_lo = e.u32_at(&fixed, 8).unwrap_or(0);
                    let caplen = e.u32_at(&fixed, 12).unwrap_or(0);
                    let orig_len = e.u32_at(&fixed, 16).unwrap_or(0);
                    return self
                        .read_packet(
                            at,
                            number,
                            body - 20,
                            total,
                            iface,
                            Some((ts_hi, ts_lo)),
                            caplen,
                            orig_len,
                        )
                        .map(Some);
                }
                SPB => {
                    let number = self.number + 1;
                    let at = Location::Packet {
                        number,
                        offset: block_offset,
                    };
                    if body < 4 {
                        self.skip_body(at, u64::from(body), "simple packet block")?;
                        Self::read_trailer(&mut self.input, e, at, total)?;
                        self.number = number;
                        return Err(Error::Malformed {
                            at,
                            what: "simple packet block",
                            reason: "shorter than its fixed fields",
                        });
                    }
                    let mut fixed = [0u8; 4];
                    match self
                        .input
                        .fill(&mut fixed)
                        .map_err(|err| io_error(at, err))?
                    {
                        Fill::Full => {}
                        Fill::Eof => return Err(truncated(at, "simple packet block", 4, 0)),
                        Fill::Short(n) => {
                            return Err(truncated(at, "simple packet block", 4, n as u64))
                        }
                    }
                    let orig_len = e.u32(fixed);
                    let room = body - 4;
                    let snap = self.interfaces.first().map(|i| i.snaplen).unwrap_or(0);
                    let mut caplen = orig_len.min(room);
                    if snap != 0 {
                        caplen = caplen.min(snap);
                    }
                    return self
                        .read_packet(at, number, room, total, 0, None, caplen, orig_len)
                        .map(Some);
                }
                _ => {
                    self.skip_body(at_file, u64::from(body), "block")?;
                    Self::read_trailer(&mut self.input, e, at_file, total)?;
                }
            }
        }
    }

    fn read_new_section(&mut self, hdr: [u8; 8], block_offset: u64) -> Result<Endian, Error> {
        let at = Location::File {
            offset: block_offset,
        };
        // `hdr` holds the block type and length; read the byte-order magic to interpret them.
        let mut rest = [0u8; 8]; // magic, major, minor
        match self.input.fill(&mut rest).map_err(|e| io_error(at, e))? {
            Fill::Full => {}
            Fill::Eof => return Err(truncated(at, "section header block", 16, 8)),
            Fill::Short(n) => return Err(truncated(at, "section header block", 16, 8 + n as u64)),
        }
        let (endian, total) = section_header(at, array_at::<4>(&rest, 0), &hdr[4..8], &rest[4..6])?;
        let remaining = u64::from(total) - 16 - 4;
        self.skip_body(at, remaining, "section header block")?;
        Self::read_trailer(&mut self.input, endian, at, total)?;
        Ok(endian)
    }

    /// Parses the interface description in `self.buf`.
    fn add_interface(&mut self, at: Location) -> Result<(), Error> {
        let e = self.endian;
        let b = &self.buf;
        let (Some(link_type), Some(snaplen)) = (e.u16_at(b, 0), e.u32_at(b, 4)) else {
            return Err(Error::Malformed {
                at,
                what: "interface description block",
                reason: "shorter than its fixed fields",
            });
        };
        let mut iface = Interface {
            link_type: u32::from(link_type),
            snaplen,
            units_per_sec: 1_000_000,
            offset_secs: 0,
        };
        let mut problem = None;
        let mut off = 8usize;
        while let (Some(code), Some(len)) = (e.u16_at(b, off), e.u16_at(b, off + 2)) {
            let value = b.get(off + 4..off + 4 + usize::from(len));
            match (code, value) {
                (0, _) => break,
                (9, Some([v])) => {
                    let exp = u32::from(v & 0x7f);
                    let ups = if v & 0x80 != 0 {
                        1u64.checked_shl(exp).filter(|_| exp < 64)
                    } else {
                        10u64.checked_pow(exp)
                    };
                    match ups {
                        Some(ups) if ups > 0 => iface.units_per_sec = ups,
                        _ => problem = Some("timestamp resolution out of range"),
                    }
                }
                (14, Some(v)) => {
                    if let Some(a) = array_at::<8>(v, 0) {
                        iface.offset_secs = match e {
                            Endian::Little => i64::from_le_bytes(a),
                            Endian::Big => i64::from_be_bytes(a),
                        };
                    }
                }
                (_, None) => {
                    problem = Some("option runs past the block");
                    break;
                }
                _ => {}
            }
            off = off + 4 + usize::from(len).div_ceil(4) * 4;
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(Error::LimitReached {
                at,
                what: "interfaces in a section",
                limit: MAX_INTERFACES as u64,
            });
        }
        self.interfaces.push(iface);
        match problem {
            Some(reason) => Err(Error::Malformed {
                at,
                what: "interface description block",
                reason,
            }),
            None => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn read_packet(
        &mut self,
        at: Location,
        number: u64,
        room: u32,
        total: u32,
        iface: u32,
        ts: Option<(u32, u32)>,
        caplen: u32,
        orig_len: u32,
    ) -> Result<Meta, Error> {
        let e = self.endian;
        if caplen > room || caplen > MAX_PACKET {
            // The block's own length still frames it: skip it and go on.
            self.skip_body(at, u64::from(room), "packet block")?;
            Self::read_trailer(&mut self.input, e, at, total)?;
            self.number = number;
            return Err(Error::Malformed {
                at,
                what: "packet block",
                reason: "captured length exceeds the block or 262144 bytes",
            });
        }
        let keep = (caplen as usize).min(self.keep);
        self.read_buf(at, keep, "packet data")?;
        self.skip_body(at, u64::from(room) - keep as u64, "packet block")?;
        Self::read_trailer(&mut self.input, e, at, total)?;
        self.number = number;
        let Some(info) = self.interfaces.get(iface as usize).copied() else {
            return Err(Error::Malformed {
                at,
                what: "packet block",
                reason: "refers to an interface not described in its section",
            });
        };
        let ts_us = match ts {
            Some((hi, lo)) => {
                let raw = (u128::from(hi) << 32) | u128::from(lo);
                let us = raw * 1_000_000 / u128::from(info.units_per_sec);
                i64::try_from(us)
                    .unwrap_or(i64::MAX)
                    .saturating_add(info.offset_secs.saturating_mul(1_000_000))
            }
            // Simple packet blocks carry no time: take the last one seen.
            None => self.last_ts_us,
        };
        self.last_ts_us = ts_us;
        Ok(Meta {
            number,
            offset: match at {
                Location::Packet { offset, .. } => offset,
                _ => 0,
            },
            ts_us,
            interface: iface,
            link_type: info.link_type,
            captured_len: caplen,
            orig_len,
        })
    }
}
