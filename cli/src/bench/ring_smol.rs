//! `bench --client redis-ring --driver smol`: one task per caller on an executor of the
//! bench's own thread, all sharing one `Ring`, whose driver (pipelining their commands per
//! shard) runs on a thread of its own. The `redis` crate is measured on the same set-up
//! (`redis_rs`): callers on the bench's thread, the client's I/O on another. `--driver
//! smol-block-on` and `smol-global` measure the other two ways to run it ([`Setup`]).

use std::time::{Duration, Instant};

use redis_ring_smol::Ring;

use super::per_shard::{summarize, Sampler};
use super::ring_std::up_down;
use super::{caller, Bench, ConnSettings, Measured};

/// How the smol bench runs the ring: where its driver runs and which `block_on` runs the
/// callers' executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Setup {
    /// The driver on a thread of its own (`Smol::driver_thread`), the callers' executor
    /// under futures-lite's `block_on`: what the `redis` crate is measured beside.
    DriverThread,
    /// As [`Setup::DriverThread`], the executor run by the ring's own `Ring::block_on`.
    RingBlockOn,
    /// smol's default runtime (`Smol::new()`): the driver a task on smol's global executor,
    /// its sockets on async-io's reactor; what a program that does not choose gets.
    GlobalExecutor,
}

impl Setup {
    /// Where the callers and the I/O run (the JSON's `setup`).
    pub(super) fn describe(self) -> &'static str {
        match self {
            Setup::DriverThread => {
                "callers: async tasks on one executor on the bench's thread \
                 (futures-lite block_on); I/O: the ring's driver on a thread of its own"
            }
            Setup::RingBlockOn => {
                "callers: async tasks on one executor on the bench's thread (the ring's \
                 Ring::block_on: waits on the ring's reactor and reads a lone round trip \
                 itself); I/O: the ring's driver on a thread of its own"
            }
            Setup::GlobalExecutor => {
                "callers: async tasks on one executor on the bench's thread \
                 (futures-lite block_on); I/O: smol's default runtime, the ring's driver a \
                 task on smol's global executor, its sockets on async-io's reactor"
            }
        }
    }
}

fn build(shards: &[(String, String)], c: &ConnSettings, setup: Setup) -> Result<Ring, String> {
    // The callers' tasks keep their executor busy; a driver of its own never waits behind
    // them (measured: ~1.4x the throughput with 50 callers). The redis crate's connection
    // tasks get a thread of their own too (see `redis_rs`).
    let runtime = redis_ring_smol::Smol::new().driver_thread(setup != Setup::GlobalExecutor);
    c.configure(shards, Ring::builder().runtime(runtime))?
        .build()
        .map_err(|e| format!("cannot start the ring: {e}"))
}

/// Builds the ring, waits for its shards, measures, hands back the callers' recorders.
pub(super) fn run(bench: &mut Bench, setup: Setup) -> Result<Measured, String> {
    let callers = smol::Executor::new();
    let ring = build(&bench.shards, &bench.conn, setup)?;
    let on_ring = ring.clone();
    let block_on = |f| {
        if setup == Setup::RingBlockOn {
            on_ring.block_on(f)
        } else {
            caller::block_on(f)
        }
    };
    block_on(callers.run(async {
        let deadline = Instant::now() + bench.conn.timeout.max(Duration::from_secs(2));
        while !ring.stats().iter().all(|s| s.up) {
            if Instant::now() > deadline {
                return Err("shards not up".into());
            }
            smol::Timer::after(Duration::from_millis(10)).await;
        }
        let events = ring.events();
        let (clock, progress) = bench.begin();
        let before = ring.stats();
        let sampled = ring.clone();
        let sampler = Sampler::start(clock.start, move || sampled.stats())?;
        let log = bench.events();
        let forwarder = callers.spawn(async move {
            while let Some(event) = events.recv().await {
                if let Some((shard, up)) = up_down(&event) {
                    log.push(shard, up);
                }
            }
        });
        let tasks: Vec<_> = (0..bench.callers)
            .map(|i| callers.spawn(caller::run(ring.clone(), bench.plan(&clock, i))))
            .collect();
        let mut recorders = Vec::with_capacity(tasks.len());
        for t in tasks {
            recorders.push(t.await);
        }
        let shards = summarize(&before, &ring.stats());
        let measured =
            Bench::measured(clock, progress, recorders).with_shards(shards, sampler.finish());
        ring.close().await; // ends the event channel
        forwarder.await;
        Ok(measured)
    }))
}
