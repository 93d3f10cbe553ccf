//! `iotrust watch status`: who holds which partition, how far each one is.

use serde::Serialize;

use super::transport::{self, Bucket};
use super::{now_us, partition_key, BusConfig, Checkpoint, Cluster};
use crate::error::Error;

/// One partition's state on the bus.
#[derive(Clone, Debug, Serialize)]
pub struct PartitionStatus {
    pub partition: u32,
    /// The worker holding its lease, if one does.
    pub owner: Option<String>,
    /// Stream sequence of its newest records message (0: none yet).
    pub last_seq: u64,
    /// Its checkpoint: the newest message whose events are on the bus.
    pub checkpoint_seq: u64,
    /// Seconds since the checkpoint was written, if there is one.
    pub checkpoint_age_secs: Option<f64>,
}

/// The cluster as the bus tells it.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub partitions: u32,
    pub workers: Vec<String>,
    pub records_messages: u64,
    pub records_bytes: u64,
    pub replicas: usize,
    pub detail: Vec<PartitionStatus>,
}

/// Reads the status (never changes anything on the bus but creating what is missing).
pub fn status(bus: &BusConfig) -> Result<Status, Error> {
    let rt = super::runtime()?;
    rt.block_on(async {
        let b = transport::open(bus).await?;
        let cluster: Option<Cluster> = match b.get(Bucket::Meta, "cluster").await? {
            Some(v) => Some(serde_json::from_slice(&v)?),
            None => None,
        };
        let n = cluster.map_or(0, |c| c.partitions);
        let mut workers = b.keys(Bucket::Workers).await?;
        workers.sort();
        let info = b.records_info().await?;
        let mut detail = Vec::new();
        for p in 0..n {
            let key = partition_key(p);
            let owner = b
                .get(Bucket::Leases, &key)
                .await
                .ok()
                .flatten()
                .map(|v| String::from_utf8_lossy(&v).into_owned());
            let cp: Option<Checkpoint> = b
                .get(Bucket::Checkpoints, &key)
                .await
                .ok()
                .flatten()
                .and_then(|v| serde_json::from_slice(&v).ok());
            let last_seq = b.last_records_seq(p).await.unwrap_or(0);
            detail.push(PartitionStatus {
                partition: p,
                owner,
                last_seq,
                checkpoint_seq: cp.map_or(0, |c| c.seq),
                checkpoint_age_secs: cp.map(|c| (now_us() - c.at_us).max(0) as f64 / 1e6),
            });
        }
        Ok(Status {
            partitions: n,
            workers,
            records_messages: info.messages,
            records_bytes: info.bytes,
            replicas: info.replicas,
            detail,
        })
    })
}
