//! Template cache of NetFlow v9 and IPFIX, keyed by exporter address and source id /
//! observation domain, with the state options data sets leave (sampling rates, system init
//! time) and data sets waiting for their template. Every part is bounded.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use super::fields::{Clock, Template};
use super::DecodeConfig;

/// One export stream: RFC 3954 §5.1 (exporter + source id), RFC 7011 §3.1 (observation
/// domain); v9 and IPFIX streams of one exporter are kept apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct DomainKey {
    pub(crate) exporter: IpAddr,
    pub(crate) domain: u32,
    pub(crate) ipfix: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Domain {
    templates: HashMap<u16, Arc<Template>>,
    /// Rate from options data that named no sampler.
    pub(crate) default_rate: Option<u32>,
    /// Rates of named samplers (sampler id / selector id → 1-in-N).
    pub(crate) sampler_rates: HashMap<u64, u32>,
    /// IPFIX `systemInitTimeMilliseconds` from options data.
    pub(crate) system_init_ms: Option<u64>,
    last_used: u64,
}

/// A data set kept until its template arrives.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) key: DomainKey,
    pub(crate) template_id: u16,
    pub(crate) clock: Clock,
    pub(crate) number: u64,
    pub(crate) offset: usize,
    pub(crate) data: Vec<u8>,
}

/// What adding a template did.
pub(crate) enum Learned {
    Added,
    Replaced,
    /// Refused: the cache holds `max_templates` already.
    Full,
}

pub(crate) struct Cache {
    domains: HashMap<DomainKey, Domain>,
    templates: usize,
    pending: VecDeque<Pending>,
    pending_bytes: usize,
    tick: u64,
    max_domains: usize,
    max_templates: usize,
    max_pending_bytes: usize,
    max_samplers: usize,
}

impl Cache {
    pub(crate) fn new(config: &DecodeConfig) -> Self {
        Cache {
            domains: HashMap::new(),
            templates: 0,
            pending: VecDeque::new(),
            pending_bytes: 0,
            tick: 0,
            max_domains: config.max_domains.max(1),
            max_templates: config.max_templates,
            max_pending_bytes: config.pending_bytes,
            max_samplers: config.max_samplers,
        }
    }

    pub(crate) fn template_count(&self) -> usize {
        self.templates
    }

    pub(crate) fn domain_count(&self) -> usize {
        self.domains.len()
    }

    pub(crate) fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Marks the domain used, if it exists. Datagrams carrying only data create no state,
    /// so a flood from spoofed exporters cannot push real ones out.
    pub(crate) fn touch(&mut self, key: &DomainKey) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(d) = self.domains.get_mut(key) {
            d.last_used = tick;
        }
    }

    /// Creates the domain if needed (when it sends a template). If another domain had to be
    /// forgotten to make room, returns how many of its pending data sets were dropped.
    pub(crate) fn ensure(&mut self, key: DomainKey) -> Option<usize> {
        if self.domains.contains_key(&key) {
            return None;
        }
        self.tick += 1;
        let mut dropped = None;
        if self.domains.len() >= self.max_domains {
            let oldest = self
                .domains
                .iter()
                .min_by_key(|(_, d)| d.last_used)
                .map(|(k, _)| *k);
            if let Some(old) = oldest {
                if let Some(d) = self.domains.remove(&old) {
                    self.templates = self.templates.saturating_sub(d.templates.len());
                }
                dropped = Some(self.drop_pending_of(|p| p.key == old));
            }
        }
        self.domains.insert(
            key,
            Domain {
                last_used: self.tick,
                ..Domain::default()
            },
        );
        dropped
    }

    pub(crate) fn domain(&self, key: &DomainKey) -> Option<&Domain> {
        self.domains.get(key)
    }

    pub(crate) fn domain_mut(&mut self, key: &DomainKey) -> Option<&mut Domain> {
        self.domains.get_mut(key)
    }

    pub(crate) fn template(&self, key: &DomainKey, id: u16) -> Option<Arc<Template>> {
        self.domains.get(key)?.templates.get(&id).cloned()
    }

    pub(crate) fn learn(&mut self, key: DomainKey, id: u16, t: Template) -> Learned {
        let Some(d) = self.domains.get_mut(&key) else {
            return Learned::Full;
        };
        if let Some(slot) = d.templates.get_mut(&id) {
            *slot = Arc::new(t);
            return Learned::Replaced;
        }
        if self.templates >= self.max_templates {
            return Learned::Full;
        }
        d.templates.insert(id, Arc::new(t));
        self.templates += 1;
        Learned::Added
    }

    /// IPFIX template withdrawal: one template, or with `all`, every (options or data)
    /// template of the domain.
    pub(crate) fn withdraw(&mut self, key: &DomainKey, id: u16, all_options: Option<bool>) {
        let Some(d) = self.domains.get_mut(key) else {
            return;
        };
        let before = d.templates.len();
        match all_options {
            Some(options) => d.templates.retain(|_, t| t.options != options),
            None => {
                d.templates.remove(&id);
            }
        }
        self.templates = self.templates.saturating_sub(before - d.templates.len());
    }

    /// Remembers a sampler's rate (bounded per domain).
    pub(crate) fn set_sampler(&mut self, key: &DomainKey, sampler: u64, rate: u32) -> bool {
        let max = self.max_samplers;
        let Some(d) = self.domains.get_mut(key) else {
            return false;
        };
        if d.sampler_rates.len() >= max && !d.sampler_rates.contains_key(&sampler) {
            return false;
        }
        d.sampler_rates.insert(sampler, rate);
        true
    }

    /// Keeps a data set for later; returns whether it was kept and how many older ones were
    /// dropped to make room.
    pub(crate) fn push_pending(&mut self, p: Pending) -> (bool, usize) {
        if p.data.len() > self.max_pending_bytes {
            return (false, 0);
        }
        let mut dropped = 0;
        while self.pending_bytes + p.data.len() > self.max_pending_bytes {
            match self.pending.pop_front() {
                Some(old) => {
                    self.pending_bytes -= old.data.len();
                    dropped += 1;
                }
                None => break,
            }
        }
        self.pending_bytes += p.data.len();
        self.pending.push_back(p);
        (true, dropped)
    }

    /// Takes the data sets waiting for this template, oldest first.
    pub(crate) fn take_pending(&mut self, key: &DomainKey, id: u16) -> Vec<Pending> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(self.pending.len());
        for p in self.pending.drain(..) {
            if p.key == *key && p.template_id == id {
                self.pending_bytes -= p.data.len();
                taken.push(p);
            } else {
                kept.push_back(p);
            }
        }
        self.pending = kept;
        taken
    }

    fn drop_pending_of(&mut self, pred: impl Fn(&Pending) -> bool) -> usize {
        let before = self.pending.len();
        let mut bytes = 0;
        self.pending.retain(|p| {
            let drop = pred(p);
            if drop {
                bytes += p.data.len();
            }
            !drop
        });
        self.pending_bytes -= bytes;
        before - self.pending.len()
    }
}
