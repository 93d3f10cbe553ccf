//! sFlow version 5 datagrams (sflow.org, "sFlow Version 5", 2004): flow samples and
//! expanded flow samples become one record each, from their raw packet header record (or,
//! without one, their sampled IPv4/IPv6 record), with `sampling` = the sample's sampling
//! rate. Counter samples are skipped.
//!
//! sFlow carries no wall-clock time, only the agent's uptime: records take the datagram's
//! receive time.

use crate::bytes::{array_at, be_u32};
use crate::error::Error;
use crate::netflow::Ctx;
use crate::packet::{decode_frame, link_type, Frame, FrameError};
use crate::record::{Addr, FlowRecord, SourceKind, TcpFlags};

/// Sample formats (enterprise 0).
const FLOW_SAMPLE: u32 = 1;
const COUNTER_SAMPLE: u32 = 2;
const FLOW_SAMPLE_EXPANDED: u32 = 3;
const COUNTER_SAMPLE_EXPANDED: u32 = 4;
/// Flow record formats (enterprise 0).
const RAW_HEADER: u32 = 1;
const SAMPLED_IPV4: u32 = 3;
const SAMPLED_IPV6: u32 = 4;
/// Header protocols of a raw packet header record.
const HEADER_ETHERNET: u32 = 1;
const HEADER_IPV4: u32 = 11;
const HEADER_IPV6: u32 = 12;

pub(crate) fn decode(ctx: &mut Ctx<'_>, b: &[u8], out: &mut Vec<FlowRecord>) {
    let version = be_u32(b, 0);
    match version {
        None => return ctx.truncated(0, "sFlow header", 28, b.len()),
        Some(5) => {}
        Some(v) => {
            let at = ctx.at(0);
            return ctx.error(Error::UnsupportedVersion {
                at,
                what: "sFlow",
                version: v,
            });
        }
    }
    let addr_len = match be_u32(b, 4) {
        Some(1) => 4,
        Some(2) => 16,
        Some(_) => {
            return ctx.malformed(
                4,
                "sFlow header",
                "agent address type is neither IPv4 nor IPv6",
            )
        }
        None => return ctx.truncated(0, "sFlow header", 28, b.len()),
    };
    let hdr_len = 8 + addr_len + 16;
    if b.len() < hdr_len {
        return ctx.truncated(0, "sFlow header", hdr_len, b.len());
    }
    let sub_agent = be_u32(b, 8 + addr_len).unwrap_or(0);
    let samples = be_u32(b, 8 + addr_len + 12).unwrap_or(0);
    let mut off = hdr_len;
    for _ in 0..samples {
        let (Some(format), Some(len)) = (be_u32(b, off), be_u32(b, off + 4)) else {
            return ctx.truncated(off, "sFlow sample header", 8, b.len().saturating_sub(off));
        };
        let len = len as usize;
        let start = off + 8;
        let Some(body) = start.checked_add(len).and_then(|end| b.get(start..end)) else {
            return ctx.truncated(off, "sFlow sample", len + 8, b.len() - off);
        };
        let (enterprise, fmt) = (format >> 12, format & 0xfff);
        match (enterprise, fmt) {
            (0, FLOW_SAMPLE) => flow_sample(ctx, body, start, false, sub_agent, out),
            (0, FLOW_SAMPLE_EXPANDED) => flow_sample(ctx, body, start, true, sub_agent, out),
            (0, COUNTER_SAMPLE | COUNTER_SAMPLE_EXPANDED) => ctx.stats.skip(),
            _ => ctx.stats.skip(),
        }
        off = start + len;
    }
    if off < b.len() {
        ctx.malformed(off, "sFlow datagram", "bytes left after the last sample");
    }
}

fn flow_sample(
    ctx: &mut Ctx<'_>,
    s: &[u8],
    base: usize,
    expanded: bool,
    sub_agent: u32,
    out: &mut Vec<FlowRecord>,
) {
    // sequence, source id (one word, or type + index), rate, pool, drops, input, output
    // (one word each, or format + value each), record count.
    let fixed = if expanded { 44 } else { 32 };
    let (Some(rate), Some(count)) = (
        be_u32(s, if expanded { 12 } else { 8 }),
        be_u32(s, fixed - 4),
    ) else {
        return ctx.truncated(base, "sFlow flow sample", fixed, s.len());
    };
    let mut rec = FlowRecord::new(SourceKind::Sflow);
    rec.first_us = ctx.received_us;
    rec.last_us = ctx.received_us;
    rec.sampling = rate.max(1);
    rec.domain = sub_agent;
    let mut from_header = false;
    let mut from_ip: Option<FlowRecord> = None;
    let mut off = fixed;
    for _ in 0..count {
        let (Some(format), Some(len)) = (be_u32(s, off), be_u32(s, off + 4)) else {
            return ctx.truncated(
                base + off,
                "sFlow flow record header",
                8,
                s.len().saturating_sub(off),
            );
        };
        let len = len as usize;
        let start = off + 8;
        let Some(body) = start.checked_add(len).and_then(|end| s.get(start..end)) else {
            return ctx.truncated(base + off, "sFlow flow record", len + 8, s.len() - off);
        };
        let (enterprise, fmt) = (format >> 12, format & 0xfff);
        match (enterprise, fmt) {
            (0, RAW_HEADER) if !from_header => match raw_header(body, &mut rec) {
                Ok(true) => from_header = true,
                Ok(false) => {}
                Err(reason) => ctx.malformed(base + start, "sFlow raw packet header", reason),
            },
            (0, SAMPLED_IPV4 | SAMPLED_IPV6) if from_ip.is_none() => {
                let mut r = rec;
                if sampled_ip(body, fmt == SAMPLED_IPV6, &mut r) {
                    from_ip = Some(r);
                } else {
                    ctx.malformed(
                        base + start,
                        "sFlow sampled IP record",
                        "shorter than its fields",
                    );
                }
            }
            _ => {}
        }
        off = start + len;
    }
    if from_header {
        out.push(rec);
    } else if let Some(r) = from_ip {
        out.push(r);
    } else {
        ctx.stats.skip();
    }
}

/// Decodes a raw packet header record; `Ok(false)` for headers that are not IP.
fn raw_header(b: &[u8], rec: &mut FlowRecord) -> Result<bool, &'static str> {
    let (Some(proto), Some(frame_len), Some(stripped), Some(hlen)) =
        (be_u32(b, 0), be_u32(b, 4), be_u32(b, 8), be_u32(b, 12))
    else {
        return Err("shorter than its fields");
    };
    let header = 16usize
        .checked_add(hlen as usize)
        .and_then(|end| b.get(16..end))
        .ok_or("header length runs past the record")?;
    let link = match proto {
        HEADER_ETHERNET => link_type::ETHERNET,
        HEADER_IPV4 | HEADER_IPV6 => link_type::RAW,
        _ => return Ok(false),
    };
    let wire = frame_len.saturating_sub(stripped);
    match decode_frame(link, header, wire, rec) {
        Ok(Frame::Ip { .. }) => Ok(true),
        Ok(Frame::NotIp | Frame::Lldp { .. }) | Err(FrameError::UnsupportedLinkType) => Ok(false),
        Err(FrameError::Malformed { reason, .. }) => Err(reason),
    }
}

/// Decodes a sampled IPv4 (format 3) or IPv6 (format 4) record.
fn sampled_ip(b: &[u8], v6: bool, rec: &mut FlowRecord) -> bool {
    let (alen, need) = if v6 { (16, 56) } else { (4, 32) };
    if b.len() < need {
        return false;
    }
    let (src, dst) = if v6 {
        match (array_at::<16>(b, 8), array_at::<16>(b, 24)) {
            (Some(s), Some(d)) => (Addr::v6(s), Addr::v6(d)),
            _ => return false,
        }
    } else {
        match (array_at::<4>(b, 8), array_at::<4>(b, 12)) {
            (Some(s), Some(d)) => (Addr::v4(s), Addr::v4(d)),
            _ => return false,
        }
    };
    let word = |off| be_u32(b, off).unwrap_or(0);
    rec.bytes = u64::from(word(0));
    rec.proto = word(4) as u8;
    rec.src = src;
    rec.dst = dst;
    let after = 8 + 2 * alen;
    rec.src_port = word(after) as u16;
    rec.dst_port = word(after + 4) as u16;
    rec.tcp_flags = TcpFlags(word(after + 8) as u8);
    rec.packets = 1;
    if rec.proto == FlowRecord::PROTO_ICMP || rec.proto == FlowRecord::PROTO_ICMPV6 {
        // sFlow puts ICMP type and code in the port fields.
        rec.set_icmp(rec.src_port as u8, rec.dst_port as u8);
    }
    true
}
