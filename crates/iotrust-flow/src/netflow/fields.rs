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
        Ok(Template {
            ops: ops.into_boxed_slice(),
            fixed,
            len: offset,
            options,
        })
    }

    /// Decodes the record at the start of `data`; returns it and its length, or `None` if
    /// the record does not fit (the rest of the set is then padding or garbage).
    pub(crate) fn read(&self, data: &[u8]) -> Option<(Acc, usize)> {
        let mut acc = Acc::default();
        if self.fixed {
            let rec = data.get(..self.len)?;
            for op in self.ops.iter() {
                let start = usize::from(op.offset);
                let v = rec.get(start..start + usize::from(op.len))?;
                acc.apply(op.role, v);
            }
            Some((acc, self.len))
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
            Some((acc, pos))
        }
    }
}

/// Values of one record, before they become a [`FlowRecord`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Acc {
    src4: Option<[u8; 4]>,
    dst4: Option<[u8; 4]>,
    src6: Option<[u8; 16]>,
    dst6: Option<[u8; 16]>,
    src_port: u16,
    dst_port: u16,
    proto: u8,
    flags: u8,
    bytes: Option<u64>,
    post_bytes: Option<u64>,
    total_bytes: Option<u64>,
    packets: Option<u64>,
    post_packets: Option<u64>,
    total_packets: Option<u64>,
    first_sysup: Option<u32>,
    last_sysup: Option<u32>,
    start_secs: Option<u64>,
    end_secs: Option<u64>,
    start_ms: Option<u64>,
    end_ms: Option<u64>,
    start_ntp: Option<u64>,
    end_ntp: Option<u64>,
    start_delta_us: Option<u64>,
    end_delta_us: Option<u64>,
    duration_us: Option<u64>,
    pub(crate) system_init_ms: Option<u64>,
    icmp_type_code: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    ttl: Option<u8>,
    min_ttl: Option<u8>,
    sampling_interval: Option<u64>,
    pub(crate) sampler_id: Option<u64>,
    packet_interval: Option<u64>,
    packet_space: Option<u64>,
    sampling_size: Option<u64>,
    sampling_population: Option<u64>,
    sampling_probability: Option<f64>,
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

impl Acc {
    #[inline]
    fn apply(&mut self, role: Role, v: &[u8]) {
        let n = || be_uint(v);
        match role {
            Role::Skip => {}
            Role::SrcV4 => self.src4 = array_at(v, 0),
            Role::DstV4 => self.dst4 = array_at(v, 0),
            Role::SrcV6 => self.src6 = array_at(v, 0),
            Role::DstV6 => self.dst6 = array_at(v, 0),
            Role::SrcPort => self.src_port = n().unwrap_or(0) as u16,
            Role::DstPort => self.dst_port = n().unwrap_or(0) as u16,
            Role::Proto => self.proto = n().unwrap_or(0) as u8,
            Role::Flags => self.flags = n().unwrap_or(0) as u8,
            Role::Bytes => self.bytes = n(),
            Role::Packets => self.packets = n(),
            Role::PostBytes => self.post_bytes = n(),
            Role::PostPackets => self.post_packets = n(),
            Role::TotalBytes => self.total_bytes = n(),
            Role::TotalPackets => self.total_packets = n(),
            Role::FirstSysUp => self.first_sysup = n().map(|x| x as u32),
            Role::LastSysUp => self.last_sysup = n().map(|x| x as u32),
            Role::StartSecs => self.start_secs = n(),
            Role::EndSecs => self.end_secs = n(),
            Role::StartMs => self.start_ms = n(),
            Role::EndMs => self.end_ms = n(),
            Role::StartNtp => self.start_ntp = n(),
            Role::EndNtp => self.end_ntp = n(),
            Role::StartDeltaUs => self.start_delta_us = n(),
            Role::EndDeltaUs => self.end_delta_us = n(),
            Role::DurationMs => self.duration_us = n().map(|x| x.saturating_mul(1000)),
            Role::DurationUs => self.duration_us = n(),
            Role::SystemInitMs => self.system_init_ms = n(),
            Role::IcmpTypeCode => self.icmp_type_code = n().map(|x| x as u16),
            Role::IcmpType => self.icmp_type = n().map(|x| x as u8),
            Role::IcmpCode => self.icmp_code = n().map(|x| x as u8),
            Role::Ttl => self.ttl = n().map(|x| x as u8),
            Role::MinTtl => self.min_ttl = n().map(|x| x as u8),
            Role::SamplingInterval => self.sampling_interval = n(),
            Role::SamplerId => self.sampler_id = n(),
            Role::PacketInterval => self.packet_interval = n(),
            Role::PacketSpace => self.packet_space = n(),
            Role::SamplingSize => self.sampling_size = n(),
            Role::SamplingPopulation => self.sampling_population = n(),
            Role::SamplingProbability => {
                self.sampling_probability = array_at::<8>(v, 0).map(f64::from_be_bytes)
            }
        }
    }

    /// A 1-in-N sampling rate stated by this record itself, if any.
    pub(crate) fn sampling_rate(&self) -> Option<u32> {
        let rate = if let Some(n) = self.sampling_interval.filter(|n| *n > 0) {
            Some(n)
        } else if let (Some(i), Some(s)) =
            (self.packet_interval.filter(|i| *i > 0), self.packet_space)
        {
            // `i` packets taken, then `s` skipped: one in (i + s) / i.
            Some(i.saturating_add(s) / i)
        } else if let (Some(size), Some(pop)) = (
            self.sampling_size.filter(|s| *s > 0),
            self.sampling_population,
        ) {
            Some(pop / size)
        } else {
            self.sampling_probability
                .filter(|p| *p > 0.0 && *p <= 1.0)
                .map(|p| (1.0 / p).round() as u64)
        };
        rate.map(|r| u32::try_from(r).unwrap_or(u32::MAX).max(1))
    }

    /// True if the record has a flow key (some address).
    pub(crate) fn has_addresses(&self) -> bool {
        self.src4.is_some() || self.dst4.is_some() || self.src6.is_some() || self.dst6.is_some()
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
        match (self.src4, self.dst4, self.src6, self.dst6) {
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
        r.proto = self.proto;
        r.src_port = self.src_port;
        r.dst_port = self.dst_port;
        r.tcp_flags = TcpFlags(self.flags);
        if r.proto == FlowRecord::PROTO_ICMP || r.proto == FlowRecord::PROTO_ICMPV6 {
            if let Some(tc) = self.icmp_type_code {
                let [t, c] = tc.to_be_bytes();
                r.set_icmp(t, c);
            } else if self.icmp_type.is_some() || self.icmp_code.is_some() {
                r.set_icmp(self.icmp_type.unwrap_or(0), self.icmp_code.unwrap_or(0));
            }
            // Otherwise keep the ports: exporters following NetFlow v5 put type/code in the
            // destination port.
        }
        r.bytes = self
            .bytes
            .or(self.post_bytes)
            .or(self.total_bytes)
            .unwrap_or(0);
        r.packets = self
            .packets
            .or(self.post_packets)
            .or(self.total_packets)
            .unwrap_or(0);
        if let Some(t) = self.ttl.or(self.min_ttl) {
            r.set_ttl(t);
        }
        r.sampling = sampling.max(1);
        r.domain = domain;

        let export_us = i64::from(clock.export_secs) * 1_000_000;
        let sysup = |v: u32| -> Option<i64> {
            if let Some(up) = clock.sys_uptime_ms {
                // Milliseconds before export; wrapping difference read as signed so a time a
                // little after the header's uptime (clock skew) stays close.
                let age_ms = i64::from(up.wrapping_sub(v) as i32);
                Some(export_us - age_ms * 1000)
            } else {
                let init = self.system_init_ms.or(clock.system_init_ms)?;
                to_i64(init)?.checked_add(i64::from(v))?.checked_mul(1000)
            }
        };
        let start = self
            .start_ntp
            .and_then(ntp_to_us)
            .or_else(|| self.start_ms.and_then(|v| to_i64(v)?.checked_mul(1000)))
            .or_else(|| {
                self.start_secs
                    .and_then(|v| to_i64(v)?.checked_mul(1_000_000))
            })
            .or_else(|| self.first_sysup.and_then(sysup))
            .or_else(|| {
                self.start_delta_us
                    .and_then(|d| export_us.checked_sub(to_i64(d)?))
            });
        let end = self
            .end_ntp
            .and_then(ntp_to_us)
            .or_else(|| self.end_ms.and_then(|v| to_i64(v)?.checked_mul(1000)))
            .or_else(|| {
                self.end_secs
                    .and_then(|v| to_i64(v)?.checked_mul(1_000_000))
            })
            .or_else(|| self.last_sysup.and_then(sysup))
            .or_else(|| {
                self.end_delta_us
                    .and_then(|d| export_us.checked_sub(to_i64(d)?))
            });
        let dur = self.duration_us.and_then(to_i64);
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
        let (acc, n) = t.read(&rec).unwrap();
        assert_eq!(n, 12);
        assert_eq!(acc.dst4, Some([10, 0, 0, 2]));
        // long form: 255 then a 2-byte length
        rec = vec![10, 0, 0, 1, 255, 0, 2, b'a', b'b', 10, 0, 0, 3];
        let (acc, n) = t.read(&rec).unwrap();
        assert_eq!((n, acc.dst4), (13, Some([10, 0, 0, 3])));
        // a length running past the end
        assert!(t.read(&[10, 0, 0, 1, 200, 1, 2]).is_none());
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
        let a = Acc {
            packet_interval: Some(1),
            packet_space: Some(99),
            ..Acc::default()
        };
        assert_eq!(a.sampling_rate(), Some(100));
        let a = Acc {
            sampling_probability: Some(0.001),
            ..Acc::default()
        };
        assert_eq!(a.sampling_rate(), Some(1000));
        let a = Acc {
            sampling_size: Some(1),
            sampling_population: Some(512),
            ..Acc::default()
        };
        assert_eq!(a.sampling_rate(), Some(512));
        assert_eq!(Acc::default().sampling_rate(), None);
    }

    #[test]
    fn ntp_times() {
        // 2021-01-01T00:00:00Z = 1609459200; plus half a second.
        let v = ((1_609_459_200u64 + NTP_UNIX_OFFSET) << 32) | 0x8000_0000;
        assert_eq!(ntp_to_us(v), Some(1_609_459_200_500_000));
        assert_eq!(ntp_to_us(5), None);
    }
}
