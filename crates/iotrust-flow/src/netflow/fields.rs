//! NetFlow v9 / IPFIX information elements this crate reads, compiled templates, and the
//! per-record accumulator that becomes a [`FlowRecord`].
//!
//! NetFlow v9 field types 1–127 and IPFIX information elements share numbers (RFC 3954 §8,
//! RFC 7012 / IANA registry), so one table serves both.

use crate::bytes::{array_at, be_uint};
use crate::record::{Addr, FlowRecord, SourceKind, TcpFlags};

/// What a field of a template means to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Skip,
    SrcV4,
    DstV4,
    SrcV6,
    DstV6,
    SrcPort,
    DstPort,
    Proto,
    Flags,
    Bytes,
    Packets,
    PostBytes,
    PostPackets,
    TotalBytes,
    TotalPackets,
    FirstSysUp,
    LastSysUp,
    StartSecs,
    EndSecs,
    StartMs,
    EndMs,
    StartNtp,
    EndNtp,
    StartDeltaUs,
    EndDeltaUs,
    DurationMs,
    DurationUs,
    SystemInitMs,
    IcmpTypeCode,
    IcmpType,
    IcmpCode,
    Ttl,
    MinTtl,
    SamplingInterval,
    SamplerId,
    PacketInterval,
    PacketSpace,
    SamplingSize,
    SamplingPopulation,
    SamplingProbability,
}

impl Role {
    /// The role of an information element (enterprise elements are always skipped).
    pub(crate) fn of(ie: u16, len: u16) -> Role {
        let role = match ie {
            1 => Role::Bytes,
            2 => Role::Packets,
            4 => Role::Proto,
            6 => Role::Flags,
            7 => Role::SrcPort,
            8 => Role::SrcV4,
            11 => Role::DstPort,
            12 => Role::DstV4,
            21 => Role::LastSysUp,
            22 => Role::FirstSysUp,
            23 => Role::PostBytes,
            24 => Role::PostPackets,
            27 => Role::SrcV6,
            28 => Role::DstV6,
            32 | 139 => Role::IcmpTypeCode,
            // samplingInterval (v9 SAMPLING_INTERVAL) and samplerRandomInterval
            // (FLOW_SAMPLER_RANDOM_INTERVAL) both mean "1 packet in N".
            34 | 50 => Role::SamplingInterval,
            // samplerId (FLOW_SAMPLER_ID) and selectorId name a sampler.
            48 | 302 => Role::SamplerId,
            52 => Role::MinTtl,
            85 => Role::TotalBytes,
            86 => Role::TotalPackets,
            150 => Role::StartSecs,
            151 => Role::EndSecs,
            152 => Role::StartMs,
            153 => Role::EndMs,
            154 | 156 => Role::StartNtp,
            155 | 157 => Role::EndNtp,
            158 => Role::StartDeltaUs,
            159 => Role::EndDeltaUs,
            160 => Role::SystemInitMs,
            161 => Role::DurationMs,
            162 => Role::DurationUs,
            176 | 178 => Role::IcmpType,
            177 | 179 => Role::IcmpCode,
            192 => Role::Ttl,
            305 => Role::PacketInterval,
            306 => Role::PacketSpace,
            309 => Role::SamplingSize,
            310 => Role::SamplingPopulation,
            311 => Role::SamplingProbability,
            _ => Role::Skip,
        };
        // A field whose length cannot hold its type is skipped, not misread.
        let ok = match role {
            Role::Skip => true,
            Role::SrcV4 | Role::DstV4 => len == 4,
            Role::SrcV6 | Role::DstV6 => len == 16,
            Role::StartNtp | Role::EndNtp | Role::SamplingProbability => len == 8,
            _ => (1..=8).contains(&len),
        };
        if ok {
            role
        } else {
            Role::Skip
        }
    }
}

/// Marks a variable-length field (IPFIX length 65535).
pub(crate) const VARIABLE: u16 = u16::MAX;

/// One field of a compiled template.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Op {
    pub(crate) role: Role,
    /// Offset in the record (fixed-length templates only).
    pub(crate) offset: u16,
    /// Length, or [`VARIABLE`].
    pub(crate) len: u16,
}

/// A template ready to decode records.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    /// Fixed-length templates keep only the fields we read, at their offsets; variable-length
    /// ones keep every field in order (consecutive fixed skips merged).
    pub(crate) ops: Box<[Op]>,
    pub(crate) fixed: bool,
    /// Record length (fixed) or the least a record can take (variable: 1 byte per
    /// variable field).
    pub(crate) len: usize,
    pub(crate) options: bool,
    /// For fixed-length data templates whose fields say nothing about sampling: where each
    /// value of a [`FlowRecord`] lies, so a record is built without the [`Acc`] in between.
    pub(crate) direct: Option<Direct>,
}

/// A field specifier as declared.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spec {
    pub(crate) ie: u16,
    pub(crate) enterprise: bool,
    pub(crate) len: u16,
    /// A NetFlow v9 scope field, whose type numbers are not information elements.
    pub(crate) v9_scope: bool,
}

impl Template {
    /// Compiles declared fields; `Err` with a reason for templates no record can match.
    pub(crate) fn compile(specs: &[Spec], options: bool) -> Result<Template, &'static str> {
        let fixed = specs.iter().all(|s| s.len != VARIABLE);
        let mut ops: Vec<Op> = Vec::new();
        let mut offset = 0usize;
        for s in specs {
            let role = if s.enterprise || s.v9_scope || s.len == VARIABLE {
                Role::Skip
            } else {
                Role::of(s.ie, s.len)
            };
            let op_offset = u16::try_from(offset).map_err(|_| "records longer than 65535 bytes")?;
            if fixed {
                if role != Role::Skip {
                    ops.push(Op {
                        role,
                        offset: op_offset,
                        len: s.len,
                    });
                }
            } else {
                match ops.last_mut() {
                    Some(last)
                        if role == Role::Skip
                            && last.role == Role::Skip
                            && last.len != VARIABLE
                            && s.len != VARIABLE =>
                    {
                        last.len = last
                            .len
                            .checked_add(s.len)
                            .ok_or("records longer than 65535 bytes")?;
                    }
                    _ => ops.push(Op {
                        role,
                        offset: op_offset,
                        len: s.len,
                    }),
                }
            }
            offset += if s.len == VARIABLE {
                1
            } else {
                usize::from(s.len)
            };
            if offset > usize::from(u16::MAX) {
                return Err("records longer than 65535 bytes");
            }
        }
        if offset == 0 {
            return Err("records would be empty");
        }
        let direct = if fixed && !options {
            Direct::plan(&ops)
        } else {
            None
        };
        Ok(Template {
            ops: ops.into_boxed_slice(),
            fixed,
            len: offset,
            options,
            direct,
        })
    }

    /// Decodes the record at the start of `data` into `acc` (cleared first); returns its
    /// length, or `None` if the record does not fit (the rest of the set is then padding or
    /// garbage).
    pub(crate) fn read(&self, data: &[u8], acc: &mut Acc) -> Option<usize> {
        acc.clear();
        if self.fixed {
            let rec = data.get(..self.len)?;
            for op in self.ops.iter() {
                let start = usize::from(op.offset);
                let v = rec.get(start..start + usize::from(op.len))?;
                acc.apply(op.role, v);
            }
            Some(self.len)
        } else {
            let mut pos = 0usize;
            for op in self.ops.iter() {
                let len = if op.len == VARIABLE {
                    let first = *data.get(pos)?;
                    pos += 1;
                    if first < 255 {
                        usize::from(first)
                    } else {
                        let l = u16::from_be_bytes(array_at(data, pos)?);
                        pos += 2;
                        usize::from(l)
                    }
                } else {
                    usize::from(op.len)
                };
                let end = pos.checked_add(len)?;
                let v = data.get(pos..end)?;
                acc.apply(op.role, v);
                pos = end;
            }
            if pos == 0 {
                return None;
            }
            Some(pos)
        }
    }
}

/// Values of one record, before they become a [`FlowRecord`]: one 64-bit slot per
/// [`Role`] and a bit saying which were present, so that clearing it between records is one
/// store (a struct of `Option`s was ~500 bytes to zero and copy per record).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Acc {
    /// Bit `role as usize` set: that role's value is present.
    present: u64,
    vals: [u64; ROLES],
    src6: [u8; 16],
    dst6: [u8; 16],
}

/// Roles (variants of [`Role`]); each has a bit in [`Acc::present`].
const ROLES: usize = Role::SamplingProbability as usize + 1;
const _: () = assert!(ROLES <= 64);

/// The bit of a role in [`Acc::present`].
const fn bit(role: Role) -> u64 {
    1 << (role as usize % 64)
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            present: 0,
            vals: [0; ROLES],
            src6: [0; 16],
            dst6: [0; 16],
        }
    }
}

/// Seconds between the NTP era (1900) and the Unix epoch.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

fn ntp_to_us(v: u64) -> Option<i64> {
    let secs = (v >> 32).checked_sub(NTP_UNIX_OFFSET)?;
    let frac_us = ((v & 0xffff_ffff) * 1_000_000) >> 32;
    i64::try_from(secs.checked_mul(1_000_000)?.checked_add(frac_us)?).ok()
}

fn to_i64(v: u64) -> Option<i64> {
    i64::try_from(v).ok()
}

/// How a field states a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeKind {
    Ntp,
    Ms,
    Secs,
    /// Milliseconds of the exporter's uptime (NetFlow v9 `FIRST_SWITCHED`/`LAST_SWITCHED`).
    SysUp,
    /// Microseconds before export.
    DeltaUs,
}

/// The fields that can state a flow's start, most precise first: the first present one
/// that converts is taken.
const START: [(Role, TimeKind); 5] = [
    (Role::StartNtp, TimeKind::Ntp),
    (Role::StartMs, TimeKind::Ms),
    (Role::StartSecs, TimeKind::Secs),
    (Role::FirstSysUp, TimeKind::SysUp),
    (Role::StartDeltaUs, TimeKind::DeltaUs),
];

/// As [`START`], for the flow's end.
const END: [(Role, TimeKind); 5] = [
    (Role::EndNtp, TimeKind::Ntp),
    (Role::EndMs, TimeKind::Ms),
    (Role::EndSecs, TimeKind::Secs),
    (Role::LastSysUp, TimeKind::SysUp),
    (Role::EndDeltaUs, TimeKind::DeltaUs),
];

/// A time field's value in microseconds since the epoch; `init` is the exporter's system
/// init time (ms since the epoch), for uptimes when the header has none (IPFIX).
fn time_us(kind: TimeKind, v: u64, clock: Clock, init: Option<u64>) -> Option<i64> {
    match kind {
        TimeKind::Ntp => ntp_to_us(v),
        TimeKind::Ms => to_i64(v)?.checked_mul(1000),
        TimeKind::Secs => to_i64(v)?.checked_mul(1_000_000),
        TimeKind::SysUp => {
            let v = v as u32;
            if let Some(up) = clock.sys_uptime_ms {
                // Milliseconds before export; wrapping difference read as signed so a time a
                // little after the header's uptime (clock skew) stays close.
                let age_ms = i64::from(up.wrapping_sub(v) as i32);
                Some(clock.export_us() - age_ms * 1000)
            } else {
                to_i64(init?)?.checked_add(i64::from(v))?.checked_mul(1000)
            }
        }
        TimeKind::DeltaUs => clock.export_us().checked_sub(to_i64(v)?),
    }
}

/// Context from the message header that times are relative to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    /// Export time, seconds since the Unix epoch.
    pub(crate) export_secs: u32,
    /// NetFlow v9 `sysUpTime` (milliseconds) of the exporter at export time.
    pub(crate) sys_uptime_ms: Option<u32>,
    /// IPFIX: the exporter's system init time from an options record (ms since epoch).
    pub(crate) system_init_ms: Option<u64>,
}

impl Clock {
    fn export_us(&self) -> i64 {
        i64::from(self.export_secs) * 1_000_000
    }
}

impl Acc {
    /// Forgets every value (the slots keep stale data, never read without their bit).
    #[inline]
    fn clear(&mut self) {
        self.present = 0;
    }

    #[inline]
    fn set(&mut self, role: Role, v: Option<u64>) {
        let i = role as usize;
        match (v, self.vals.get_mut(i)) {
            (Some(v), Some(slot)) => {
                *slot = v;
                self.present |= bit(role);
            }
            _ => self.present &= !bit(role),
        }
    }

    /// The value of `role`, if present.
    #[inline]
    pub(crate) fn get(&self, role: Role) -> Option<u64> {
        if self.present & bit(role) == 0 {
            return None;
        }
        self.vals.get(role as usize).copied()
    }

    fn v4(&self, role: Role) -> Option<[u8; 4]> {
        self.get(role).map(|v| (v as u32).to_be_bytes())
    }

    fn v6(&self, role: Role) -> Option<[u8; 16]> {
        self.get(role)?;
        Some(if role == Role::SrcV6 {
            self.src6
        } else {
            self.dst6
        })
    }

    fn get_u8(&self, role: Role) -> Option<u8> {
        self.get(role).map(|x| x as u8)
    }

    /// NetFlow v9 / IPFIX sampler id, if the record names one.
    pub(crate) fn sampler_id(&self) -> Option<u64> {
        self.get(Role::SamplerId)
    }

    /// The exporter's system init time (options record), ms since the epoch.
    pub(crate) fn system_init_ms(&self) -> Option<u64> {
        self.get(Role::SystemInitMs)
    }

    #[inline(always)]
    fn apply(&mut self, role: Role, v: &[u8]) {
        /// Roles whose value is not simply the field as a big-endian integer.
        const SPECIAL: u64 = bit(Role::Skip)
            | bit(Role::SrcV6)
            | bit(Role::DstV6)
            | bit(Role::DurationMs)
            | bit(Role::SamplingProbability);
        /// Roles that are 0 rather than absent when unreadable.
        const ZERO: u64 =
            bit(Role::SrcPort) | bit(Role::DstPort) | bit(Role::Proto) | bit(Role::Flags);
        let b = bit(role);
        if b & SPECIAL == 0 {
            // the common case, without a jump on the role (IPv4 addresses included: a
            // 4-byte field read as a u32)
            let x = be_uint(v);
            self.set(role, if b & ZERO != 0 { x.or(Some(0)) } else { x });
            return;
        }
        match role {
            Role::SrcV6 | Role::DstV6 => {
                let a = array_at::<16>(v, 0);
                if let Some(a) = a {
                    if role == Role::SrcV6 {
                        self.src6 = a;
                    } else {
                        self.dst6 = a;
                    }
                }
                self.set(role, a.map(|_| 0));
            }
            Role::DurationMs => {
                self.set(Role::DurationUs, be_uint(v).map(|x| x.saturating_mul(1000)))
            }
            Role::SamplingProbability => {
                self.set(role, array_at::<8>(v, 0).map(u64::from_be_bytes))
            }
            // Skip, and every role outside SPECIAL (taken by the integer path above)
            _ => {}
        }
    }

    /// A 1-in-N sampling rate stated by this record itself, if any.
    pub(crate) fn sampling_rate(&self) -> Option<u32> {
        // each way of stating a rate below needs one of these
        const ANY: u64 = bit(Role::SamplingInterval)
            | bit(Role::PacketInterval)
            | bit(Role::SamplingSize)
            | bit(Role::SamplingProbability);
        if self.present & ANY == 0 {
            return None;
        }
        let rate = if let Some(n) = self.get(Role::SamplingInterval).filter(|n| *n > 0) {
            Some(n)
        } else if let (Some(i), Some(s)) = (
            self.get(Role::PacketInterval).filter(|i| *i > 0),
            self.get(Role::PacketSpace),
        ) {
            // `i` packets taken, then `s` skipped: one in (i + s) / i.
            Some(i.saturating_add(s) / i)
        } else if let (Some(size), Some(pop)) = (
            self.get(Role::SamplingSize).filter(|s| *s > 0),
            self.get(Role::SamplingPopulation),
        ) {
            Some(pop / size)
        } else {
            self.get(Role::SamplingProbability)
                .map(f64::from_bits)
                .filter(|p| *p > 0.0 && *p <= 1.0)
                .map(|p| (1.0 / p).round() as u64)
        };
        rate.map(|r| u32::try_from(r).unwrap_or(u32::MAX).max(1))
    }

    /// True if the record has a flow key (some address).
    pub(crate) fn has_addresses(&self) -> bool {
        const ADDRESSES: u64 =
            bit(Role::SrcV4) | bit(Role::DstV4) | bit(Role::SrcV6) | bit(Role::DstV6);
        self.present & ADDRESSES != 0
    }

    /// Builds the record. `sampling` is the rate resolved by the caller (record, sampler,
    /// domain, configuration).
    pub(crate) fn finish(
        &self,
        kind: SourceKind,
        clock: Clock,
        domain: u32,
        sampling: u32,
    ) -> FlowRecord {
        let mut r = FlowRecord::new(kind);
        match (
            self.v4(Role::SrcV4),
            self.v4(Role::DstV4),
            self.v6(Role::SrcV6),
            self.v6(Role::DstV6),
        ) {
            (Some(s), Some(d), _, _) => {
                r.src = Addr::v4(s);
                r.dst = Addr::v4(d);
            }
            (_, _, Some(s), Some(d)) => {
                r.src = Addr::v6(s);
                r.dst = Addr::v6(d);
            }
            (s4, d4, s6, d6) => {
                r.src = s4.map(Addr::v4).or(s6.map(Addr::v6)).unwrap_or_default();
                r.dst = d4.map(Addr::v4).or(d6.map(Addr::v6)).unwrap_or_default();
            }
        }
        r.proto = self.get_u8(Role::Proto).unwrap_or(0);
        r.src_port = self.get(Role::SrcPort).unwrap_or(0) as u16;
        r.dst_port = self.get(Role::DstPort).unwrap_or(0) as u16;
        r.tcp_flags = TcpFlags(self.get_u8(Role::Flags).unwrap_or(0));
        if r.proto == FlowRecord::PROTO_ICMP || r.proto == FlowRecord::PROTO_ICMPV6 {
            let (icmp_type, icmp_code) = (self.get_u8(Role::IcmpType), self.get_u8(Role::IcmpCode));
            if let Some(tc) = self.get(Role::IcmpTypeCode) {
                let [t, c] = (tc as u16).to_be_bytes();
                r.set_icmp(t, c);
            } else if icmp_type.is_some() || icmp_code.is_some() {
                r.set_icmp(icmp_type.unwrap_or(0), icmp_code.unwrap_or(0));
            }
            // Otherwise keep the ports: exporters following NetFlow v5 put type/code in the
            // destination port.
        }
        r.bytes = self
            .get(Role::Bytes)
            .or(self.get(Role::PostBytes))
            .or(self.get(Role::TotalBytes))
            .unwrap_or(0);
        r.packets = self
            .get(Role::Packets)
            .or(self.get(Role::PostPackets))
            .or(self.get(Role::TotalPackets))
            .unwrap_or(0);
        if let Some(t) = self.get_u8(Role::Ttl).or(self.get_u8(Role::MinTtl)) {
            r.set_ttl(t);
        }
        r.sampling = sampling.max(1);
        r.domain = domain;

        let init = self.system_init_ms().or(clock.system_init_ms);
        let time = |order: &[(Role, TimeKind); 5]| {
            order.iter().find_map(|&(role, kind)| {
                self.get(role).and_then(|v| time_us(kind, v, clock, init))
            })
        };
        let (start, end) = (time(&START), time(&END));
        let export_us = clock.export_us();
        let dur = self.get(Role::DurationUs).and_then(to_i64);
        let (first, last) = match (start, end, dur) {
            (Some(s), Some(e), _) => (s, e),
            (Some(s), None, Some(d)) => (s, s.saturating_add(d)),
            (None, Some(e), Some(d)) => (e.saturating_sub(d), e),
            (Some(s), None, None) => (s, s),
            (None, Some(e), None) => (e, e),
            (None, None, _) => (export_us, export_us),
        };
        r.first_us = first;
        r.last_us = last;
        r
    }
}

/// Where a value lies in a fixed-length record: `len` bytes at `off`, big-endian; `len` 0
/// when the template has no such field (the fields a plan reads are 1 to 8 bytes long).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Slot {
    off: u16,
    len: u16,
}

impl Slot {
    fn of(op: Option<Op>) -> Slot {
        op.map_or(Slot::default(), |op| Slot {
            off: op.offset,
            len: op.len,
        })
    }

    /// The value, if the template has the field. `rec` starts at the record and may run on
    /// past it: then the field is read with one 8-byte load, shifted down to its length.
    #[inline(always)]
    fn get(self, rec: &[u8]) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        let start = usize::from(self.off);
        match array_at::<8>(rec, start) {
            Some(b) if self.len <= 8 => {
                Some(u64::from_be_bytes(b) >> (64 - 8 * u32::from(self.len)))
            }
            _ => rec
                .get(start..start + usize::from(self.len))
                .and_then(be_uint),
        }
    }

    #[inline(always)]
    fn or_zero(self, rec: &[u8]) -> u64 {
        self.get(rec).unwrap_or(0)
    }
}

/// A fixed-length data template compiled a step further: which field gives each value of a
/// [`FlowRecord`], chosen once instead of per record.
///
/// In a fixed-length template every field is present in every record, so the choices
/// [`Acc::finish`] makes per record (IPv4 or IPv6 addresses, which of the byte and packet
/// counters, which time field) are the same for all of them. Only templates where the
/// choice cannot depend on the values get a plan: no sampling or system-init fields (they
/// change the record's sampling or clock), both ends of the flow timed or neither. A record
/// for which a value would still decide something (an ICMP record when the template has ICMP
/// type or code fields; a time field that does not convert, where [`Acc::finish`] would try
/// the next one) is left to the general path: [`Direct::finish`] returns `None`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Direct {
    v6: bool,
    src: u16,
    dst: u16,
    proto: Slot,
    src_port: Slot,
    dst_port: Slot,
    flags: Slot,
    bytes: Slot,
    packets: Slot,
    ttl: Slot,
    /// Start and end fields, or `None` when the template has neither.
    times: Option<((TimeKind, Slot), (TimeKind, Slot))>,
    /// The template has ICMP type or code fields.
    icmp: bool,
}

impl Direct {
    /// The plan for a fixed-length data template's fields (`ops`: the fields we read, at their
    /// offsets), or `None` if its records need the general path.
    fn plan(ops: &[Op]) -> Option<Direct> {
        let mut at = [None::<Op>; ROLES];
        // a role given twice: the later field wins, as in `Acc`
        for op in ops {
            *at.get_mut(op.role as usize)? = Some(*op);
        }
        let has = |role: Role| at.get(role as usize).copied().flatten();
        let first = |roles: &[Role]| Slot::of(roles.iter().find_map(|r| has(*r)));
        const REFUSED: [Role; 8] = [
            Role::SamplingInterval,
            Role::SamplerId,
            Role::PacketInterval,
            Role::PacketSpace,
            Role::SamplingSize,
            Role::SamplingPopulation,
            Role::SamplingProbability,
            Role::SystemInitMs,
        ];
        if REFUSED.iter().any(|r| has(*r).is_some()) {
            return None;
        }
        let (v6, src, dst) = match (
            has(Role::SrcV4),
            has(Role::DstV4),
            has(Role::SrcV6),
            has(Role::DstV6),
        ) {
            (Some(s), Some(d), _, _) => (false, s.offset, d.offset),
            (_, _, Some(s), Some(d)) => (true, s.offset, d.offset),
            _ => return None,
        };
        let time = |order: &[(Role, TimeKind); 5]| {
            order
                .iter()
                .find_map(|&(role, kind)| has(role).map(|op| (kind, Slot::of(Some(op)))))
        };
        let times = match (time(&START), time(&END)) {
            (Some(s), Some(e)) => Some((s, e)),
            (None, None) => None,
            // one end and a duration: left to the general path
            _ => return None,
        };
        Some(Direct {
            v6,
            src,
            dst,
            proto: first(&[Role::Proto]),
            src_port: first(&[Role::SrcPort]),
            dst_port: first(&[Role::DstPort]),
            flags: first(&[Role::Flags]),
            bytes: first(&[Role::Bytes, Role::PostBytes, Role::TotalBytes]),
            packets: first(&[Role::Packets, Role::PostPackets, Role::TotalPackets]),
            ttl: first(&[Role::Ttl, Role::MinTtl]),
            times,
            icmp: [Role::IcmpTypeCode, Role::IcmpType, Role::IcmpCode]
                .iter()
                .any(|r| has(*r).is_some()),
        })
    }

    /// The record at the start of `rec` (at least the template's length; the bytes after
    /// it are not part of the record), as [`Acc::finish`] would build it; `None` where the
    /// general path must decide.
    #[inline]
    pub(crate) fn finish(
        &self,
        rec: &[u8],
        kind: SourceKind,
        clock: Clock,
        domain: u32,
        sampling: u32,
    ) -> Option<FlowRecord> {
        let mut r = FlowRecord::new(kind);
        r.proto = self.proto.or_zero(rec) as u8;
        if self.icmp && (r.proto == FlowRecord::PROTO_ICMP || r.proto == FlowRecord::PROTO_ICMPV6) {
            return None;
        }
        let (src, dst) = (usize::from(self.src), usize::from(self.dst));
        if self.v6 {
            r.src = Addr::v6(array_at(rec, src)?);
            r.dst = Addr::v6(array_at(rec, dst)?);
        } else {
            r.src = Addr::v4(array_at(rec, src)?);
            r.dst = Addr::v4(array_at(rec, dst)?);
        }
        r.src_port = self.src_port.or_zero(rec) as u16;
        r.dst_port = self.dst_port.or_zero(rec) as u16;
        r.tcp_flags = TcpFlags(self.flags.or_zero(rec) as u8);
        r.bytes = self.bytes.or_zero(rec);
        r.packets = self.packets.or_zero(rec);
        if let Some(t) = self.ttl.get(rec) {
            r.set_ttl(t as u8);
        }
        r.sampling = sampling.max(1);
        r.domain = domain;
        (r.first_us, r.last_us) = match self.times {
            Some(((sk, s), (ek, e))) => (
                time_us(sk, s.get(rec)?, clock, clock.system_init_ms)?,
                time_us(ek, e.get(rec)?, clock, clock.system_init_ms)?,
            ),
            None => (clock.export_us(), clock.export_us()),
        };
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ie: u16, len: u16) -> Spec {
        Spec {
            ie,
            enterprise: false,
            len,
            v9_scope: false,
        }
    }

    #[test]
    fn fixed_template_keeps_only_used_fields() {
        let t = Template::compile(&[spec(8, 4), spec(10, 2), spec(12, 4), spec(999, 3)], false)
            .unwrap();
        assert!(t.fixed);
        assert_eq!(t.len, 13);
        assert_eq!(t.ops.len(), 2);
        assert_eq!(t.ops[1].offset, 6);
    }

    #[test]
    fn variable_template_walks_lengths() {
        let t = Template::compile(&[spec(8, 4), spec(82, VARIABLE), spec(12, 4)], false).unwrap();
        assert!(!t.fixed);
        assert_eq!(t.len, 9);
        let mut rec = vec![10, 0, 0, 1, 3, b'e', b't', b'h', 10, 0, 0, 2];
        let mut acc = Acc::default();
        let n = t.read(&rec, &mut acc).unwrap();
        assert_eq!(n, 12);
        assert_eq!(acc.v4(Role::DstV4), Some([10, 0, 0, 2]));
        // long form: 255 then a 2-byte length
        rec = vec![10, 0, 0, 1, 255, 0, 2, b'a', b'b', 10, 0, 0, 3];
        let n = t.read(&rec, &mut acc).unwrap();
        assert_eq!((n, acc.v4(Role::DstV4)), (13, Some([10, 0, 0, 3])));
        // a length running past the end
        assert!(t.read(&[10, 0, 0, 1, 200, 1, 2], &mut acc).is_none());
    }

    #[test]
    fn empty_and_oversized_templates_are_refused() {
        assert!(Template::compile(&[], false).is_err());
        assert!(Template::compile(&[spec(1, 0)], false).is_err());
        let big: Vec<Spec> = (0..20).map(|_| spec(999, 4000)).collect();
        assert!(Template::compile(&big, false).is_err());
    }

    #[test]
    fn wrong_lengths_are_skipped() {
        assert_eq!(Role::of(8, 16), Role::Skip);
        assert_eq!(Role::of(1, 9), Role::Skip);
        assert_eq!(Role::of(1, 4), Role::Bytes);
    }

    #[test]
    fn sampling_rates() {
        let with = |vals: &[(Role, u64)]| {
            let mut a = Acc::default();
            for (r, v) in vals {
                a.set(*r, Some(*v));
            }
            a
        };
        let a = with(&[(Role::PacketInterval, 1), (Role::PacketSpace, 99)]);
        assert_eq!(a.sampling_rate(), Some(100));
        let a = with(&[(Role::SamplingProbability, 0.001f64.to_bits())]);
        assert_eq!(a.sampling_rate(), Some(1000));
        let a = with(&[(Role::SamplingSize, 1), (Role::SamplingPopulation, 512)]);
        assert_eq!(a.sampling_rate(), Some(512));
        assert_eq!(Acc::default().sampling_rate(), None);
    }

    /// The direct path builds the same records as the general one, on random fixed
    /// templates over the fields we read (and some we skip) and random record bytes.
    #[test]
    fn direct_path_matches_the_general_path() {
        // (information element, lengths it may be declared with)
        const FIELDS: &[(u16, &[u16])] = &[
            (8, &[4]),
            (12, &[4]),
            (27, &[16]),
            (28, &[16]),
            (7, &[2, 1]),
            (11, &[2]),
            (4, &[1]),
            (6, &[1, 2]),
            (1, &[4, 8, 3]),
            (2, &[4, 8]),
            (23, &[4]),
            (24, &[4]),
            (85, &[8]),
            (86, &[8]),
            (21, &[4]),
            (22, &[4]),
            (150, &[4]),
            (151, &[4]),
            (152, &[8]),
            (153, &[8]),
            (154, &[8]),
            (155, &[8]),
            (158, &[4]),
            (159, &[4]),
            (161, &[4]),
            (32, &[2]),
            (176, &[1]),
            (192, &[1]),
            (52, &[1]),
            (34, &[4]),
            (160, &[8]),
            (10, &[2, 4]),
            (999, &[3]),
        ];
        let mut rng = crate::testing::Rng(0x2545_f491_4f6c_dd1du64);
        let mut next = move || rng.next_u64();
        let clocks = [
            Clock {
                export_secs: 1_764_000_000,
                sys_uptime_ms: Some(3_600_000),
                system_init_ms: None,
            },
            Clock {
                export_secs: 1_764_000_000,
                sys_uptime_ms: None,
                system_init_ms: Some(1_763_000_000_000),
            },
            Clock {
                export_secs: 1_764_000_000,
                sys_uptime_ms: None,
                system_init_ms: None,
            },
        ];
        let (mut planned, mut direct_records, mut general_records) = (0, 0, 0);
        for _ in 0..3000 {
            let n = next() as usize % 10;
            let mut specs: Vec<Spec> = (0..n)
                .map(|_| {
                    let (ie, lens) = FIELDS[next() as usize % FIELDS.len()];
                    spec(ie, lens[next() as usize % lens.len()])
                })
                .collect();
            // most templates get both addresses and both times, at random places
            const PAIRS: [[(u16, u16); 2]; 6] = [
                [(8, 4), (12, 4)],
                [(27, 16), (28, 16)],
                [(22, 4), (21, 4)],
                [(152, 8), (153, 8)],
                [(154, 8), (155, 8)],
                [(158, 4), (159, 4)],
            ];
            for (pick, from) in [(2, 0), (4, 2)] {
                if next() % 5 != 0 {
                    for (ie, len) in PAIRS[from + next() as usize % pick] {
                        let at = next() as usize % (specs.len() + 1);
                        specs.insert(at, spec(ie, len));
                    }
                }
            }
            let Ok(t) = Template::compile(&specs, false) else {
                continue;
            };
            let Some(direct) = t.direct else {
                continue;
            };
            planned += 1;
            for _ in 0..20 {
                let mut rec: Vec<u8> = (0..t.len).map(|_| next() as u8).collect();
                // mostly small values, so times convert and protocols are the usual ones
                if next() % 4 != 0 {
                    for b in rec.iter_mut().step_by(2) {
                        *b &= 0x03;
                    }
                }
                let clock = clocks[next() as usize % clocks.len()];
                let mut acc = Acc::default();
                assert_eq!(t.read(&rec, &mut acc), Some(t.len));
                let general = acc.finish(SourceKind::Ipfix, clock, 7, 10);
                let direct_record = direct.finish(&rec, SourceKind::Ipfix, clock, 7, 10);
                // the same record followed by others (or by a set's padding)
                let mut longer = rec.clone();
                longer.extend((0..next() % 20).map(|_| next() as u8));
                assert_eq!(
                    direct.finish(&longer, SourceKind::Ipfix, clock, 7, 10),
                    direct_record
                );
                match direct_record {
                    Some(r) => {
                        assert_eq!(r, general, "template {specs:?} record {rec:?}");
                        direct_records += 1;
                    }
                    None => general_records += 1,
                }
            }
        }
        assert!(planned > 1000, "{planned} templates planned");
        // (NTP times from random bytes mostly fail to convert and take the general path)
        assert!(
            direct_records > 5000,
            "{direct_records} / {general_records}"
        );
        assert!(general_records > 0);
    }

    #[test]
    fn which_templates_get_a_direct_plan() {
        let v9 = [8, 12, 7, 11, 4, 6, 2, 1, 22, 21, 10].map(|ie| {
            let len = match ie {
                4 | 6 => 1,
                7 | 10 | 11 => 2,
                _ => 4,
            };
            spec(ie, len)
        });
        assert!(Template::compile(&v9, false).unwrap().direct.is_some());
        // options records, sampling fields, one end of the flow timed, no addresses
        assert!(Template::compile(&v9, true).unwrap().direct.is_none());
        let mut sampled = v9.to_vec();
        sampled.push(spec(34, 4));
        assert!(Template::compile(&sampled, false).unwrap().direct.is_none());
        assert!(Template::compile(&v9[..9], false).unwrap().direct.is_none());
        assert!(Template::compile(&v9[2..], false).unwrap().direct.is_none());
        // variable-length templates take the general path
        let mut var = v9.to_vec();
        var.push(spec(82, VARIABLE));
        assert!(Template::compile(&var, false).unwrap().direct.is_none());
    }

    #[test]
    fn ntp_times() {
        // 2021-01-01T00:00:00Z = 1609459200; plus half a second.
        let v = ((1_609_459_200u64 + NTP_UNIX_OFFSET) << 32) | 0x8000_0000;
        assert_eq!(ntp_to_us(v), Some(1_609_459_200_500_000));
        assert_eq!(ntp_to_us(5), None);
    }
}
