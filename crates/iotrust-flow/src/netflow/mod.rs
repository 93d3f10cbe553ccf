//! Datagram decoders: NetFlow v5, NetFlow v9 (RFC 3954), IPFIX (RFC 7011) and sFlow v5,
//! behind one [`FlowDecoder`] that tells them apart by their version field.
//!
//! Sans-IO: the caller receives UDP datagrams however it likes and hands each one over with
//! its exporter's address. NetFlow v9 and IPFIX templates are cached per exporter address and
//! source id / observation domain, with bounds on everything (see [`DecodeConfig`]).
//!
//! ```
//! use iotrust_flow::{Datagram, DecodeConfig, FlowDecoder};
//! let mut decoder = FlowDecoder::new(DecodeConfig::default());
//! let mut records = Vec::new();
//! let bytes = [0u8, 5, 0, 0]; // a (short) NetFlow v5 datagram
//! let d = Datagram { exporter: "192.0.2.1".parse().unwrap(), received_us: 0, bytes: &bytes };
//! let decoded = decoder.decode(d, &mut records);
//! assert_eq!(decoded.records, 0);
//! assert!(decoded.errors[0].can_continue());
//! ```

mod cache;
pub(crate) mod fields;
mod templated;
mod v5;

use std::net::IpAddr;

use crate::error::{Error, Location};
use crate::record::FlowRecord;
use crate::stats::Stats;

pub(crate) use cache::Cache;

/// One datagram as received.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    /// The exporter: the datagram's source address.
    pub exporter: IpAddr,
    /// When it was received, microseconds since the Unix epoch. sFlow records take this as
    /// their time (sFlow carries only the agent's uptime).
    pub received_us: i64,
    /// The UDP payload.
    pub bytes: &'a [u8],
}

/// The datagram protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    NetflowV5,
    NetflowV9,
    Ipfix,
    Sflow,
}

impl Protocol {
    /// Every protocol.
    pub const ALL: [Protocol; 4] = [
        Protocol::NetflowV5,
        Protocol::NetflowV9,
        Protocol::Ipfix,
        Protocol::Sflow,
    ];

    /// Tells the protocol from the first bytes: NetFlow and IPFIX start with a 16-bit version
    /// (5, 9, 10), sFlow with a 32-bit one (5), so its first two bytes are zero.
    pub fn detect(bytes: &[u8]) -> Option<Protocol> {
        match bytes {
            [0, 5, ..] => Some(Protocol::NetflowV5),
            [0, 9, ..] => Some(Protocol::NetflowV9),
            [0, 10, ..] => Some(Protocol::Ipfix),
            [0, 0, 0, 5, ..] => Some(Protocol::Sflow),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Protocol::NetflowV5 => 0,
            Protocol::NetflowV9 => 1,
            Protocol::Ipfix => 2,
            Protocol::Sflow => 3,
        }
    }
}

/// Bounds and defaults of a [`FlowDecoder`].
#[derive(Clone, Debug)]
pub struct DecodeConfig {
    /// Sampling rate assumed when nothing in the telemetry states one (like FastNetMon's
    /// `netflow_sampling_ratio`): 1 = unsampled.
    pub default_sampling: u32,
    /// Exporter domains (exporter address + source id / observation domain) whose templates
    /// are kept; past this the least recently used domain is forgotten.
    pub max_domains: usize,
    /// Templates kept over all domains; past this new templates are refused.
    pub max_templates: usize,
    /// Fields accepted in one template.
    pub max_template_fields: usize,
    /// Bytes of data sets kept while waiting for their template (0 = drop them at once);
    /// past this the oldest are dropped.
    pub pending_bytes: usize,
    /// Samplers remembered per domain (sampler id → rate from options data).
    pub max_samplers: usize,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            default_sampling: 1,
            max_domains: 4096,
            max_templates: 16_384,
            max_template_fields: 512,
            pending_bytes: 1 << 20,
            max_samplers: 1024,
        }
    }
}

/// What one [`FlowDecoder::decode`] call did.
#[derive(Debug, Default)]
#[must_use]
pub struct Decoded {
    /// Records appended to the output (including records of earlier data sets whose template
    /// this datagram brought).
    pub records: usize,
    /// Problems found; each [`Error::can_continue`]. Empty (and not allocated) for a clean
    /// datagram. At most [`MAX_ERRORS_PER_DATAGRAM`] are kept; all are counted in the stats.
    pub errors: Vec<Error>,
}

/// Errors kept per datagram; a hostile datagram can cause thousands, all counted.
pub const MAX_ERRORS_PER_DATAGRAM: usize = 16;

/// Per-call context: where we are, and where errors go.
pub(crate) struct Ctx<'a> {
    pub(crate) number: u64,
    pub(crate) exporter: IpAddr,
    pub(crate) received_us: i64,
    pub(crate) errors: &'a mut Vec<Error>,
    pub(crate) stats: &'a mut Stats,
}

impl Ctx<'_> {
    pub(crate) fn at(&self, offset: usize) -> Location {
        Location::Datagram {
            number: self.number,
            exporter: self.exporter,
            offset,
        }
    }

    pub(crate) fn error(&mut self, e: Error) {
        self.stats.count_error(&e);
        if self.errors.len() < MAX_ERRORS_PER_DATAGRAM {
            self.errors.push(e);
        }
    }

    pub(crate) fn truncated(
        &mut self,
        offset: usize,
        what: &'static str,
        needed: usize,
        available: usize,
    ) {
        let at = self.at(offset);
        self.error(Error::Truncated {
            at,
            what,
            needed: needed as u64,
            available: available as u64,
        });
    }

    pub(crate) fn malformed(&mut self, offset: usize, what: &'static str, reason: &'static str) {
        let at = self.at(offset);
        self.error(Error::Malformed { at, what, reason });
    }
}

/// Decodes NetFlow v5, NetFlow v9, IPFIX and sFlow v5 datagrams into [`FlowRecord`]s.
///
/// Holds the template cache and counters; one per collector socket (or per shard: templates
/// of one exporter must reach the same decoder). Allocation-free per record: records are
/// appended to the caller's `Vec`.
pub struct FlowDecoder {
    config: DecodeConfig,
    number: u64,
    cache: Cache,
    stats: [Stats; 4],
    unrecognized: Stats,
}

impl FlowDecoder {
    pub fn new(config: DecodeConfig) -> Self {
        FlowDecoder {
            cache: Cache::new(&config),
            config,
            number: 0,
            stats: Default::default(),
            unrecognized: Stats::default(),
        }
    }

    /// Decodes a datagram of any supported protocol, appending records to `out`.
    pub fn decode(&mut self, datagram: Datagram<'_>, out: &mut Vec<FlowRecord>) -> Decoded {
        match Protocol::detect(datagram.bytes) {
            Some(p) => self.decode_as(p, datagram, out),
            None => {
                self.number += 1;
                let found = datagram
                    .bytes
                    .iter()
                    .take(4)
                    .fold(0u64, |a, b| (a << 8) | u64::from(*b));
                let e = Error::BadMagic {
                    at: Location::Datagram {
                        number: self.number,
                        exporter: datagram.exporter,
                        offset: 0,
                    },
                    expected: "a NetFlow v5/v9, IPFIX or sFlow v5 datagram",
                    found,
                };
                self.unrecognized.unit();
                self.unrecognized.count_error(&e);
                Decoded {
                    records: 0,
                    errors: vec![e],
                }
            }
        }
    }

    /// Decodes a datagram as the given protocol (a collector port bound to one protocol).
    pub fn decode_as(
        &mut self,
        protocol: Protocol,
        datagram: Datagram<'_>,
        out: &mut Vec<FlowRecord>,
    ) -> Decoded {
        self.number += 1;
        let before = out.len();
        let mut errors = Vec::new();
        let Some(stats) = self.stats.get_mut(protocol.index()) else {
            return Decoded::default();
        };
        stats.unit();
        let mut ctx = Ctx {
            number: self.number,
            exporter: datagram.exporter,
            received_us: datagram.received_us,
            errors: &mut errors,
            stats,
        };
        match protocol {
            Protocol::NetflowV5 => {
                v5::decode(&mut ctx, datagram.bytes, self.config.default_sampling, out)
            }
            Protocol::NetflowV9 => {
                templated::decode_v9(&mut ctx, &mut self.cache, &self.config, datagram.bytes, out)
            }
            Protocol::Ipfix => templated::decode_ipfix(
                &mut ctx,
                &mut self.cache,
                &self.config,
                datagram.bytes,
                out,
            ),
            Protocol::Sflow => crate::sflow::decode(&mut ctx, datagram.bytes, out),
        }
        let records = out.len() - before;
        ctx.stats.records_n(records);
        Decoded { records, errors }
    }

    /// Counters of one protocol.
    pub fn stats(&self, protocol: Protocol) -> &Stats {
        self.stats
            .get(protocol.index())
            .unwrap_or(&self.unrecognized)
    }

    /// Counters of datagrams no protocol recognized.
    pub fn unrecognized_stats(&self) -> &Stats {
        &self.unrecognized
    }

    /// All counters added up.
    pub fn total_stats(&self) -> Stats {
        let mut t = self.unrecognized.clone();
        for s in &self.stats {
            t.merge(s);
        }
        t
    }

    /// Templates currently cached, over all domains.
    pub fn template_count(&self) -> usize {
        self.cache.template_count()
    }

    /// Exporter domains currently known.
    pub fn domain_count(&self) -> usize {
        self.cache.domain_count()
    }

    /// Bytes of data sets waiting for their template.
    pub fn pending_bytes(&self) -> usize {
        self.cache.pending_bytes()
    }
}

#[cfg(test)]
mod tests;
