//! `bench --client redis-rs --driver tokio`: the `redis` crate's multiplexed connections
//! (one per shard, keys placed with our placement; see `redis_rs`) on tokio, on the same
//! set-up as `ring_tokio`: callers are tasks of a tokio multi-thread runtime of two workers,
//! and the crate's connection tasks run on that runtime too (it finds the runtime it is
//! called from).

use super::redis_rs::connect_all;
use super::ring_tokio::runtime;
use super::{caller, Bench, Measured};

/// Where the callers and the I/O run (the JSON's `setup`).
pub(super) const SETUP: &str = "callers: async tasks on a tokio multi-thread runtime of 2 \
                                workers; I/O: the connections' tasks on the same runtime";

/// Connects, measures, hands back the callers' recorders.
pub(super) fn run(bench: &mut Bench) -> Result<Measured, String> {
    runtime()?.block_on(async {
        let shared = connect_all(bench).await?;
        let (clock, progress) = bench.begin();
        let tasks: Vec<_> = (0..bench.callers)
            .map(|i| tokio::spawn(caller::run(shared.clone(), bench.plan(&clock, i))))
            .collect();
        let mut recorders = Vec::with_capacity(tasks.len());
        for t in tasks {
            recorders.push(t.await.map_err(|e| format!("a caller task failed: {e}"))?);
        }
        Ok(Bench::measured(clock, progress, recorders))
    })
}
