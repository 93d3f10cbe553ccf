//! Addresses that DNS answers named, in any message the engine saw: the beaconing
//! detector's "no lookup behind this address" evidence. A bot's C2 address is often
//! hard-coded; a vendor cloud's is looked up. Bounded; entries last for the answer's TTL,
//! held between 5 minutes and a day of record time, as learned C2 addresses are.

use iotrust_flow::dns::DnsMessage;
use iotrust_flow::Addr;

use crate::expiring::ExpiringMap;

/// Addresses kept at most.
pub const MAX_RESOLVED: usize = 262_144;
const HOLD_SECS: (u32, u32) = (300, 86_400);

/// What the engine knows about DNS behind a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// No DNS answer seen in the stream so far (flow telemetry): no evidence either way.
    Unseen,
    /// An answer named the address.
    Resolved,
    /// DNS answers are visible, and none named the address.
    Unresolved,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Resolved {
    /// Address to the record time its last answer holds until.
    held: ExpiringMap<i64, MAX_RESOLVED>,
    answers: u64,
}

impl Resolved {
    /// Learns the addresses a response answers (at record time `t_us`).
    pub(crate) fn observe(&mut self, msg: &DnsMessage, t_us: i64) {
        if !msg.response {
            return;
        }
        for a in &msg.answers {
            self.answers += 1;
            let secs = a.ttl.clamp(HOLD_SECS.0, HOLD_SECS.1);
            let until = t_us.saturating_add(i64::from(secs) * 1_000_000);
            self.held.learn(a.addr, until, t_us);
        }
    }

    /// Whether `addr` was named by an answer still valid at `t_us`.
    #[inline]
    pub(crate) fn lookup(&self, addr: Addr, t_us: i64) -> Lookup {
        if self.answers == 0 {
            return Lookup::Unseen;
        }
        match self.held.get(addr, t_us) {
            Some(_) => Lookup::Resolved,
            None => Lookup::Unresolved,
        }
    }
}
