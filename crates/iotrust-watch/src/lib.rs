#![doc = include_str!("../README.md")]

pub mod bus;
pub mod collector;
pub mod detectors;
pub mod engine;
pub mod error;
mod expiring;
mod fasthash;
pub mod field;
pub mod filters;
pub mod fuzzing;
pub mod incident;
mod index;
pub mod metrics;
pub mod mudfiles;
pub mod net;
pub mod reload;
pub mod resolved;
pub mod shard;
pub mod sinks;
pub mod sketch;
pub mod sources;
pub mod subscribers;
pub mod table;
pub mod watch;

pub use detectors::c2::Indicators;
pub use detectors::{Attack, Detector, Finding, Role, Severity, Target};
pub use engine::Engine;
pub use error::Error;
pub use filters::{nftables_ruleset, propose, FlowSpecAction, FlowSpecRule, ProposedFilters};
pub use incident::{Event, EventKind, Incident, JsonLines};
pub use metrics::Metrics;
pub use net::Prefix;
pub use shard::{shard_of, ShardStopped, Sharded};
pub use sinks::{NoticeTemplate, Webhook, WebhookConfig};
pub use subscribers::Subscribers;
pub use watch::{Config, Watch, WatchStats};
