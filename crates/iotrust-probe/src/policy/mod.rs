//! Judgement of configurations against named guidance, without sockets: which SSH algorithms
//! and TLS cipher suites a service offers, and what current guidance says of each. The probe's
//! own checks ([`crate::checks`]) and the importers of other tools' output ([`crate::import`])
//! call the same functions, so the same offer gives the same findings whoever observed it.

pub mod ssh;
pub mod tls;

use crate::evidence::Rule;

/// One weakness found in an offer: the rule it falls under and what was seen, with the
/// guidance that judges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weakness {
    pub rule: &'static Rule,
    pub detail: String,
}
