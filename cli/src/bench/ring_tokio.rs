//! `bench --client redis-ring --driver tokio`: one task per caller on a tokio multi-thread
//! runtime of two workers ([`runtime`]), all sharing one `Ring`, whose driver task runs on
//! the same runtime. The `redis` crate on
//! tokio is measured on the same set-up (`redis_rs_tokio`).

use std::time::{Duration, Instant};

use redis_ring_tokio::Ring;

use super::ring_std::up_down;
use super::{caller, Bench, ConnSettings, Measured};

/// Where the callers and the I/O run (the JSON's `setup`).
pub(super) const SETUP: &str = "callers: async tasks on a tokio multi-thread runtime of 2 \
                                workers; I/O: the ring's driver task on the same runtime";

/// The runtime both tokio clients are measured on: a multi-thread runtime with two workers,
/// whatever the CPUs (the bench is meant to run pinned to one). Two threads, as the smol
/// set-up (callers' executor + the ring's driver thread): with a single thread (one worker,
/// or `current_thread`) every round trip puts the client to sleep in `epoll_wait`, and on a
/// busy CPU waking it again costs more than the round trip itself (measured pinned to one
/// shared CPU: ~5x less for both drivers, smol with its driver on the callers' thread too).
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))
}

fn build(shards: &[(String, String)], c: &ConnSettings) -> Result<Ring, String> {
    c.configure(shards, Ring::builder())?
        .build()
        .map_err(|e| format!("cannot start the ring: {e}"))
}

/// Builds the ring, waits for its shards, measures, hands back the callers' recorders.
pub(super) fn run(bench: &mut Bench) -> Result<Measured, String> {
    runtime()?.block_on(async {
        let ring = build(&bench.shards, &bench.conn)?;
        let deadline = Instant::now() + bench.conn.timeout.max(Duration::from_secs(2));
        while !ring.stats().iter().all(|s| s.up) {
            if Instant::now() > deadline {
                return Err("shards not up".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let events = ring.events();
        let (clock, progress) = bench.begin();
        let log = bench.events();
        let forwarder = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let Some((shard, up)) = up_down(&event) {
                    log.push(shard, up);
                }
            }
        });
        let tasks: Vec<_> = (0..bench.callers)
            .map(|i| tokio::spawn(caller::run(ring.clone(), bench.plan(&clock, i))))
            .collect();
        let mut recorders = Vec::with_capacity(tasks.len());
        for t in tasks {
            recorders.push(t.await.map_err(|e| format!("a caller task failed: {e}"))?);
        }
        let measured = Bench::measured(clock, progress, recorders);
        ring.close().await; // ends the event channel
        let _ = forwarder.await;
        Ok(measured)
    })
}
