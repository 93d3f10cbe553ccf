//! NetFlow v5: a 24-byte header and up to 30 fixed 48-byte records.

use super::Ctx;
use crate::bytes::{array_at, be_u16, be_u32, u8_at};
use crate::record::{Addr, FlowRecord, SourceKind, TcpFlags};

pub(crate) const HEADER: usize = 24;
pub(crate) const RECORD: usize = 48;
/// Records a v5 datagram may hold (Cisco's format definition).
pub(crate) const MAX_COUNT: usize = 30;

pub(crate) fn decode(
    ctx: &mut Ctx<'_>,
    b: &[u8],
    default_sampling: u32,
    out: &mut Vec<FlowRecord>,
) {
    let Some(hdr) = b.get(..HEADER) else {
        ctx.truncated(0, "NetFlow v5 header", HEADER, b.len());
        return;
    };
    let version = be_u16(hdr, 0).unwrap_or(0);
    if version != 5 {
        let at = ctx.at(0);
        ctx.error(crate::Error::UnsupportedVersion {
            at,
            what: "NetFlow",
            version: u32::from(version),
        });
        return;
    }
    let count = usize::from(be_u16(hdr, 2).unwrap_or(0));
    let uptime = be_u32(hdr, 4).unwrap_or(0);
    let secs = be_u32(hdr, 8).unwrap_or(0);
    let nsecs = be_u32(hdr, 12).unwrap_or(0);
    let engine = u32::from(be_u16(hdr, 20).unwrap_or(0));
    // Top two bits: sampling mode; low fourteen: the interval (0 = not sampled).
    let interval = u32::from(be_u16(hdr, 22).unwrap_or(0) & 0x3fff);
    let sampling = if interval > 0 {
        interval
    } else {
        default_sampling.max(1)
    };
    if count == 0 || count > MAX_COUNT {
        let at = ctx.at(2);
        ctx.error(crate::Error::BadLength {
            at,
            what: "NetFlow v5 record count",
            value: count as u64,
            rule: "between 1 and 30",
        });
        return;
    }
    let needed = HEADER + count * RECORD;
    if b.len() < needed {
        // Decode the whole records that are there, then report the cut.
        ctx.truncated(0, "NetFlow v5 records", needed, b.len());
    }
    // Export time in microseconds; record times are sysUptime milliseconds.
    let export_us = i64::from(secs) * 1_000_000 + i64::from(nsecs / 1000);
    let at_uptime = |t: u32| export_us - i64::from(uptime.wrapping_sub(t) as i32) * 1000;
    out.reserve(count);
    for i in 0..count {
        let off = HEADER + i * RECORD;
        let Some(r) = b.get(off..off + RECORD) else {
            break;
        };
        let mut rec = FlowRecord::new(SourceKind::NetflowV5);
        rec.src = Addr::v4(array_at(r, 0).unwrap_or_default());
        rec.dst = Addr::v4(array_at(r, 4).unwrap_or_default());
        rec.packets = u64::from(be_u32(r, 16).unwrap_or(0));
        rec.bytes = u64::from(be_u32(r, 20).unwrap_or(0));
        rec.first_us = at_uptime(be_u32(r, 24).unwrap_or(0));
        rec.last_us = at_uptime(be_u32(r, 28).unwrap_or(0));
        rec.src_port = be_u16(r, 32).unwrap_or(0);
        rec.dst_port = be_u16(r, 34).unwrap_or(0);
        rec.tcp_flags = TcpFlags(u8_at(r, 37).unwrap_or(0));
        rec.proto = u8_at(r, 38).unwrap_or(0);
        rec.sampling = sampling;
        rec.domain = engine;
        out.push(rec);
    }
}
