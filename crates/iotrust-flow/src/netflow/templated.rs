//! NetFlow v9 (RFC 3954) and IPFIX (RFC 7011): template-based messages.

use super::cache::{Cache, DomainKey, Learned, Pending};
use super::fields::{Acc, Clock, Spec, Template, VARIABLE};
use super::{Ctx, DecodeConfig};
use crate::bytes::{be_u16, be_u32, Cursor};
use crate::error::Error;
use crate::record::{FlowRecord, SourceKind};

const V9_HEADER: usize = 20;
const IPFIX_HEADER: usize = 16;

/// Header facts every set of a message needs.
#[derive(Clone, Copy)]
struct Msg {
    key: DomainKey,
    clock: Clock,
    kind: SourceKind,
}

pub(crate) fn decode_v9(
    ctx: &mut Ctx<'_>,
    cache: &mut Cache,
    cfg: &DecodeConfig,
    b: &[u8],
    out: &mut Vec<FlowRecord>,
) {
    let Some(hdr) = b.get(..V9_HEADER) else {
        ctx.truncated(0, "NetFlow v9 header", V9_HEADER, b.len());
        return;
    };
    let version = be_u16(hdr, 0).unwrap_or(0);
    if version != 9 {
        let at = ctx.at(0);
        ctx.error(Error::UnsupportedVersion {
            at,
            what: "NetFlow",
            version: u32::from(version),
        });
        return;
    }
    let msg = Msg {
        key: DomainKey {
            exporter: ctx.exporter,
            domain: be_u32(hdr, 16).unwrap_or(0),
            ipfix: false,
        },
        clock: Clock {
            export_secs: be_u32(hdr, 8).unwrap_or(0),
            sys_uptime_ms: be_u32(hdr, 4),
            system_init_ms: None,
        },
        kind: SourceKind::NetflowV9,
    };
    sets(ctx, cache, cfg, msg, b, V9_HEADER, b.len(), out);
}

pub(crate) fn decode_ipfix(
    ctx: &mut Ctx<'_>,
    cache: &mut Cache,
    cfg: &DecodeConfig,
    b: &[u8],
    out: &mut Vec<FlowRecord>,
) {
    let Some(hdr) = b.get(..IPFIX_HEADER) else {
        ctx.truncated(0, "IPFIX message header", IPFIX_HEADER, b.len());
        return;
    };
    let version = be_u16(hdr, 0).unwrap_or(0);
    if version != 10 {
        let at = ctx.at(0);
        ctx.error(Error::UnsupportedVersion {
            at,
            what: "IPFIX",
            version: u32::from(version),
        });
        return;
    }
    let length = usize::from(be_u16(hdr, 2).unwrap_or(0));
    if length < IPFIX_HEADER {
        let at = ctx.at(2);
        ctx.error(Error::BadLength {
            at,
            what: "IPFIX message length",
            value: length as u64,
            rule: "at least 16",
        });
        return;
    }
    let end = if length > b.len() {
        ctx.truncated(0, "IPFIX message", length, b.len());
        b.len()
    } else {
        length
    };
    let msg = Msg {
        key: DomainKey {
            exporter: ctx.exporter,
            domain: be_u32(hdr, 12).unwrap_or(0),
            ipfix: true,
        },
        clock: Clock {
            export_secs: be_u32(hdr, 4).unwrap_or(0),
            sys_uptime_ms: None,
            system_init_ms: None,
        },
        kind: SourceKind::Ipfix,
    };
    sets(ctx, cache, cfg, msg, b, IPFIX_HEADER, end, out);
}

/// Walks the sets (v9: flowsets) of a message between `start` and `end`.
#[allow(clippy::too_many_arguments)]
fn sets(
    ctx: &mut Ctx<'_>,
    cache: &mut Cache,
    cfg: &DecodeConfig,
    msg: Msg,
    b: &[u8],
    start: usize,
    end: usize,
    out: &mut Vec<FlowRecord>,
) {
    cache.touch(&msg.key);
    let ipfix = msg.key.ipfix;
    let mut off = start;
    while off + 4 <= end {
        let id = be_u16(b, off).unwrap_or(0);
        let len = usize::from(be_u16(b, off + 2).unwrap_or(0));
        if len < 4 {
            let at = ctx.at(off + 2);
            ctx.error(Error::BadLength {
                at,
                what: "set length",
                value: len as u64,
                rule: "at least 4",
            });
            return;
        }
        if off + len > end {
            ctx.truncated(off, "set", len, end - off);
            return;
        }
        let body = b.get(off + 4..off + len).unwrap_or_default();
        let body_off = off + 4;
        match (ipfix, id) {
            (false, 0) | (true, 2) => templates(ctx, cache, cfg, msg, body, body_off, false, out),
            (false, 1) | (true, 3) => templates(ctx, cache, cfg, msg, body, body_off, true, out),
            (_, 256..) => data_set(ctx, cache, cfg, msg, id, body, body_off, out),
            _ => ctx.stats.skip(), // reserved set ids
        }
        off += len;
    }
}

/// Reads the templates of a template or options template set and learns them.
#[allow(clippy::too_many_arguments)]
fn templates(
    ctx: &mut Ctx<'_>,
    cache: &mut Cache,
    cfg: &DecodeConfig,
    msg: Msg,
    body: &[u8],
    body_off: usize,
    options: bool,
    out: &mut Vec<FlowRecord>,
) {
    let ipfix = msg.key.ipfix;
    let mut c = Cursor::new(body);
    let mut specs: Vec<Spec> = Vec::new();
    loop {
        let rec_off = body_off + c.pos();
        let header_len = if options { 6 } else { 4 };
        if c.remaining() < header_len {
            return; // padding
        }
        let (Some(id), Some(a)) = (c.be_u16(), c.be_u16()) else {
            return;
        };
        if id < 256 {
            if id == 0 && a == 0 {
                return; // padding
            }
            if ipfix && a == 0 && (id == 2 || id == 3) {
                // Withdrawal of all data (2) or all options (3) templates.
                cache.withdraw(&msg.key, id, Some(id == 3));
                continue;
            }
            let at = ctx.at(rec_off);
            ctx.error(Error::BadTemplate {
                at,
                template_id: id,
                reason: "template ids below 256 are reserved",
            });
            return;
        }
        if ipfix && a == 0 {
            cache.withdraw(&msg.key, id, None);
            continue;
        }
        // Field count, and how many of the fields are scope fields.
        let (count, scope) = if !options {
            (usize::from(a), 0)
        } else if ipfix {
            let Some(scope) = c.be_u16() else { return };
            let (count, scope) = (usize::from(a), usize::from(scope));
            if scope == 0 || scope > count {
                let at = ctx.at(rec_off);
                ctx.error(Error::BadTemplate {
                    at,
                    template_id: id,
                    reason: "scope field count is 0 or exceeds the field count",
                });
                return;
            }
            (count, scope)
        } else {
            // v9 options template: scope and option lengths in bytes.
            let Some(opt_len) = c.be_u16() else { return };
            let (scope_len, opt_len) = (usize::from(a), usize::from(opt_len));
            if scope_len % 4 != 0 || opt_len % 4 != 0 {
                let at = ctx.at(rec_off);
                ctx.error(Error::BadTemplate {
                    at,
                    template_id: id,
                    reason: "scope or option length is not a multiple of 4",
                });
                return;
            }
            ((scope_len + opt_len) / 4, scope_len / 4)
        };
        if count == 0 {
            let at = ctx.at(rec_off);
            ctx.error(Error::BadTemplate {
                at,
                template_id: id,
                reason: "no fields",
            });
            return;
        }
        specs.clear();
        for i in 0..count {
            let (Some(ie), Some(len)) = (c.be_u16(), c.be_u16()) else {
                ctx.truncated(
                    rec_off,
                    "template",
                    4 * count,
                    body.len() - (rec_off - body_off),
                );
                return;
            };
            let enterprise = ipfix && ie & 0x8000 != 0;
            if enterprise && c.be_u32().is_none() {
                ctx.truncated(rec_off, "template", 8, 0);
                return;
            }
            if !ipfix && len == VARIABLE {
                // v9 has no variable-length fields: 65535 would be a real (absurd) length.
                let at = ctx.at(rec_off);
                ctx.error(Error::BadTemplate {
                    at,
                    template_id: id,
                    reason: "field length 65535",
                });
                return;
            }
            if specs.len() < cfg.max_template_fields {
                specs.push(Spec {
                    ie: if ipfix { ie & 0x7fff } else { ie },
                    enterprise,
                    len,
                    v9_scope: !ipfix && i < scope,
                });
            }
        }
        if count > cfg.max_template_fields {
            let at = ctx.at(rec_off);
            ctx.error(Error::BadTemplate {
                at,
                template_id: id,
                reason: "more fields than the configured maximum",
            });
            continue;
        }
        let t = match Template::compile(&specs, options) {
            Ok(t) => t,
            Err(reason) => {
                let at = ctx.at(rec_off);
                ctx.error(Error::BadTemplate {
                    at,
                    template_id: id,
                    reason,
                });
                continue;
            }
        };
        if let Some(dropped) = cache.ensure(msg.key) {
            ctx.stats.pending_dropped += dropped as u64;
            let at = ctx.at(rec_off);
            ctx.error(Error::LimitReached {
                at,
                what: "exporter domains (least recently used forgotten)",
                limit: cfg.max_domains as u64,
            });
        }
        match cache.learn(msg.key, id, t) {
            Learned::Added | Learned::Replaced => ctx.stats.templates += 1,
            Learned::Full => {
                let at = ctx.at(rec_off);
                ctx.error(Error::LimitReached {
                    at,
                    what: "templates",
                    limit: cfg.max_templates as u64,
                });
                continue;
            }
        }
        replay(ctx, cache, cfg, msg, id, out);
    }
}

/// Decodes the data sets that waited for template `id`.
fn replay(
    ctx: &mut Ctx<'_>,
    cache: &mut Cache,
    cfg: &DecodeConfig,
    msg: Msg,
    id: u16,
    out: &mut Vec<FlowRecord>,
) {
    let waiting = cache.take_pending(&msg.key, id);
    if waiting.is_empty() {
        return;
    }
    let Some(t) = cache.template(&msg.key, id) else {
        return;
    };
    let current = ctx.number;
    for p in waiting {
        ctx.number = p.number;
        let old = Msg {
            clock: p.clock,
            ..msg
        };
        records(ctx, cache, cfg, old, &t, &p.data, p.offset, out);
        ctx.stats.replayed += 1;
    }
    ctx.number = current;
}

#[allow(clippy::too_many_arguments)]
fn data_set(
    ctx: &mut Ctx<'_>,
    cache: &mut Cache,
    cfg: &DecodeConfig,
    msg: Msg,
    id: u16,
    body: &[u8],
    body_off: usize,
    out: &mut Vec<FlowRecord>,
) {
    if let Some(t) = cache.template(&msg.key, id) {
        records(ctx, cache, cfg, msg, &t, body, body_off, out);
        return;
    }
    let (buffered, dropped) = if cfg.pending_bytes > 0 {
        cache.push_pending(Pending {
            key: msg.key,
            template_id: id,
            clock: msg.clock,
            number: ctx.number,
            offset: body_off,
            data: body.to_vec(),
        })
    } else {
        (false, 0)
    };
    ctx.stats.pending_dropped += dropped as u64;
    let at = ctx.at(body_off - 4);
    ctx.error(Error::MissingTemplate {
        at,
        domain: msg.key.domain,
        template_id: id,
        buffered,
    });
}

/// Decodes the records of one data set with its template.
#[allow(clippy::too_many_arguments)]
fn records(
    ctx: &mut Ctx<'_>,
    cache: &mut Cache,
    cfg: &DecodeConfig,
    msg: Msg,
    t: &Template,
    body: &[u8],
    body_off: usize,
    out: &mut Vec<FlowRecord>,
) {
    let mut pos = 0usize;
    let mut acc = Acc::default();
    if t.options {
        while body.len() - pos >= t.len {
            let Some(n) = body.get(pos..).and_then(|rest| t.read(rest, &mut acc)) else {
                ctx.malformed(
                    body_off + pos,
                    "options record",
                    "a variable-length field runs past its set",
                );
                return;
            };
            pos += n;
            ctx.stats.skip();
            if let Some(rate) = acc.sampling_rate() {
                match acc.sampler_id() {
                    Some(sampler) => {
                        if !cache.set_sampler(&msg.key, sampler, rate) {
                            let at = ctx.at(body_off + pos - n);
                            ctx.error(Error::LimitReached {
                                at,
                                what: "samplers per domain",
                                limit: cfg.max_samplers as u64,
                            });
                        }
                    }
                    None => {
                        if let Some(d) = cache.domain_mut(&msg.key) {
                            d.default_rate = Some(rate);
                        }
                    }
                }
            }
            if let (Some(init), Some(d)) = (acc.system_init_ms(), cache.domain_mut(&msg.key)) {
                d.system_init_ms = Some(init);
            }
        }
        return;
    }
    let Some(domain) = cache.domain(&msg.key) else {
        return;
    };
    let clock = Clock {
        system_init_ms: domain.system_init_ms,
        ..msg.clock
    };
    out.reserve((body.len() / t.len).min(1024));
    if let Some(direct) = &t.direct {
        // no field of these records states a sampling rate or a sampler
        let sampling = domain.default_rate.unwrap_or(cfg.default_sampling);
        while let Some(rest) = body.get(pos..).filter(|rest| rest.len() >= t.len) {
            // `rest` runs on past the record: fields read in 8-byte loads
            let r = direct
                .finish(rest, msg.kind, clock, msg.key.domain, sampling)
                .or_else(|| {
                    t.read(rest, &mut acc)?;
                    Some(acc.finish(msg.kind, clock, msg.key.domain, sampling))
                });
            // `read` cannot fail on a fixed-length record that fits
            if let Some(r) = r {
                out.push(r);
            }
            pos += t.len;
        }
        return;
    }
    while body.len() - pos >= t.len {
        let Some(n) = body.get(pos..).and_then(|rest| t.read(rest, &mut acc)) else {
            ctx.malformed(
                body_off + pos,
                "data record",
                "a variable-length field runs past its set",
            );
            return;
        };
        pos += n;
        if !acc.has_addresses() {
            ctx.stats.skip();
            continue;
        }
        let sampling = acc
            .sampling_rate()
            .or_else(|| {
                acc.sampler_id()
                    .and_then(|s| domain.sampler_rates.get(&s).copied())
            })
            .or(domain.default_rate)
            .unwrap_or(cfg.default_sampling);
        out.push(acc.finish(msg.kind, clock, msg.key.domain, sampling));
    }
}
