//! The one adapter between the async driver layer (`redis_ring_driver::Ring<Rt>`) and the
//! shared suites: [`AsyncRing`] implements [`RingUnderTest`] (the scenario suite) and
//! [`Client`] (the hostile-peer scenarios) for every async driver.
//!
//! Every async driver is the same `Ring<Rt>` over its own [`Runtime`], so the translation
//! from blocking-style calls to its futures is written once, here; a driver's test crate only
//! says how its runtime builds a ring and how the test thread waits on futures
//! ([`AsyncRuntime`], about 40 lines) and expands the suites with `AsyncRing<ItsRuntime>`:
//!
//! ```ignore
//! // driver-xyz/tests/scenarios.rs
//! mod adapter; // `struct Xyz;` + `impl AsyncRuntime for Xyz`
//! redis_ring_tests::scenario_tests!(redis_ring_tests::async_adapter::AsyncRing<adapter::Xyz>);
//! ```

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::{Duration, Instant};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::Event;
use redis_ring_driver::{Ring, RingBuilder, Runtime};

use crate::hostile::scenarios::Client;
use crate::scenarios::{
    BuildError, EventStream, Job, Message, RingSpec, RingUnderTest, ShardView, SubKind,
    Subscription,
};

/// A future of one task of [`RingUnderTest::run_concurrent`]: it borrows the job and the
/// ring, so it cannot be spawned on a `'static` executor.
pub type LocalTask<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// What the shared adapter needs from an async runtime: how a ring is built on it, how the
/// test thread waits on a future, and what "background tasks" means there.
pub trait AsyncRuntime: 'static {
    /// The driver's runtime handle (`redis_ring_smol::Smol`, `redis_ring_tokio::Tokio`).
    type Rt: Runtime + Default;

    /// The driver's name (and flavour), for messages.
    const DRIVER: &'static str;

    /// Builds the ring from `builder` (shards, config, seed, resolver already set) as an
    /// application on this runtime would: runtime options, entering the runtime.
    ///
    /// # Errors
    /// What the builder reports.
    fn build(
        builder: RingBuilder<Self::Rt>,
    ) -> Result<Ring<Self::Rt>, redis_ring_driver::BuildError>;

    /// Waits on `fut` from the (non-async) test thread.
    fn block_on<F: Future>(fut: F) -> F::Output;

    /// [`AsyncRuntime::block_on`], giving up (`None`) after `timeout`.
    fn block_on_timeout<F: Future>(fut: F, timeout: Duration) -> Option<F::Output>;

    /// Runs every task concurrently on the test thread and returns when all are finished.
    fn join_all(tasks: Vec<LocalTask<'_>>);

    /// [`AsyncRuntime::block_on`] for a call on `ring`; a runtime whose ring can wait on
    /// its own reactor (`Ring::block_on`) uses that.
    fn block_on_ring<F: Future>(ring: &Ring<Self::Rt>, fut: F) -> F::Output {
        let _ = ring;
        Self::block_on(fut)
    }

    /// [`AsyncRuntime::join_all`] for tasks calling `ring` (as [`AsyncRuntime::block_on_ring`]).
    fn join_all_ring(ring: &Ring<Self::Rt>, tasks: Vec<LocalTask<'_>>) {
        let _ = ring;
        Self::join_all(tasks);
    }

    /// Background tasks the driver (or the runtime) runs now (see
    /// [`RingUnderTest::background_tasks`]).
    fn background_tasks() -> usize;
}

/// An async driver's `Ring` on runtime `R`, called in blocking style by the shared suites.
#[derive(Debug)]
pub struct AsyncRing<R: AsyncRuntime> {
    ring: Ring<R::Rt>,
    runtime: PhantomData<fn() -> R>,
}

impl<R: AsyncRuntime> AsyncRing<R> {
    fn new(ring: Ring<R::Rt>) -> Self {
        AsyncRing {
            ring,
            runtime: PhantomData,
        }
    }

    /// Awaits `fut` from the test thread.
    fn on<F: Future>(&self, fut: F) -> F::Output {
        R::block_on_ring(&self.ring, fut)
    }
}

/// `Ring::events` as the suite's blocking receiver.
#[derive(Debug)]
pub struct Events<R>(redis_ring_driver::Events, PhantomData<fn() -> R>);

impl<R: AsyncRuntime> EventStream for Events<R> {
    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        // The future (and any timer) is made inside `block_on`: inside the runtime.
        R::block_on_timeout(async { self.0.recv().await }, timeout).flatten()
    }
}

/// A driver subscription read in blocking style.
#[derive(Debug)]
pub struct Sub<R>(redis_ring_driver::Subscription, PhantomData<fn() -> R>);

impl<R: AsyncRuntime> Subscription for Sub<R> {
    fn next_message(&mut self, timeout: Duration) -> Option<Result<Message, Error>> {
        let msg = R::block_on_timeout(async { self.0.next_message().await }, timeout).flatten()?;
        Some(Ok(Message {
            channel: msg.channel,
            pattern: msg.pattern,
            payload: msg.payload,
        }))
    }
}

impl<R: AsyncRuntime> RingUnderTest for AsyncRing<R> {
    type Sub = Sub<R>;
    type Events = Events<R>;

    const DRIVER: &'static str = R::DRIVER;

    fn build(spec: &RingSpec) -> Result<Self, BuildError> {
        Ok(Self::new(R::build(spec.configure(Ring::builder()))?))
    }

    fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        self.on(self.ring.cmd(cmd))
    }

    fn cmd_timeout(&self, cmd: Cmd, timeout: Duration) -> Result<Value, Error> {
        self.on(self.ring.cmd_timeout(cmd, timeout))
    }

    fn pipeline(&self, cmds: Vec<Cmd>) -> Vec<Result<Value, Error>> {
        let mut p = self.ring.pipeline();
        for c in cmds {
            p.cmd(c);
        }
        self.on(p.run())
    }

    fn mget(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.on(self.ring.mget(keys))
    }

    fn mset(&self, pairs: &[(&str, &str)]) -> Result<(), Error> {
        self.on(self.ring.mset(pairs))
    }

    fn del(&self, keys: &[&str]) -> Result<i64, Error> {
        self.on(self.ring.del(keys)).map(|n| n as i64)
    }

    fn exists(&self, keys: &[&str]) -> Result<i64, Error> {
        self.on(self.ring.exists(keys)).map(|n| n as i64)
    }

    fn transaction(
        &self,
        keys: &[&str],
        reads: &[Cmd],
        write: &(dyn Fn(&[Value]) -> Vec<Cmd> + Sync),
    ) -> Result<Vec<Value>, Error> {
        self.on(self.ring.transaction(keys, async |tx| {
            let mut values = Vec::with_capacity(reads.len());
            for r in reads {
                values.push(tx.cmd(r.clone()).await?);
            }
            for c in write(&values) {
                tx.queue(c);
            }
            Ok(())
        }))
    }

    fn subscribe(&self, kind: SubKind, channels: &[&str]) -> Result<Self::Sub, Error> {
        let sub = match kind {
            SubKind::Channel => self.on(self.ring.subscribe(channels)),
            SubKind::Pattern => self.on(self.ring.psubscribe(channels)),
            SubKind::Sharded => self.on(self.ring.ssubscribe(channels)),
        };
        sub.map(|s| Sub(s, PhantomData))
    }

    fn publish(&self, channel: &str, payload: &str) -> Result<i64, Error> {
        self.on(self.ring.publish(channel, payload))
            .map(|n| n as i64)
    }

    fn for_each_shard(&self, cmd: &Cmd) -> Vec<(String, Result<Value, Error>)> {
        self.on(self
            .ring
            .for_each_shard(async |shard| shard.cmd(cmd.clone()).await))
    }

    fn mget_per_key(&self, keys: &[&str]) -> Vec<Result<Option<Vec<u8>>, Error>> {
        self.on(self.ring.mget_per_key(keys))
    }

    fn scan(&self, pattern: &str) -> Result<Vec<String>, Error> {
        let keys = self.on(self.ring.scan().pattern(pattern).collect_all())?;
        Ok(keys
            .into_iter()
            .map(|k| String::from_utf8_lossy(&k).into_owned())
            .collect())
    }

    fn shard_for_key(&self, key: &str) -> Option<String> {
        self.ring.shard_for_key(key)
    }

    fn len(&self) -> usize {
        self.ring.len()
    }

    fn set_shards(&self, shards: &[(String, String)]) {
        self.ring.set_shards(shards.iter().cloned()).unwrap();
    }

    fn shards(&self) -> Vec<ShardView> {
        self.ring
            .stats()
            .into_iter()
            .map(|s| ShardView {
                name: s.name,
                addr: s.addr,
                up: s.up,
                failover: ShardView::failover_of(&s.counters),
                pending: s.in_flight + s.queued,
                commands: s.counters.commands,
                errors: s.counters.errors,
            })
            .collect()
    }

    fn events(&self) -> Self::Events {
        Events(self.ring.events(), PhantomData)
    }

    fn run_concurrent(&self, tasks: usize, job: &dyn Job) {
        let tasks = (0..tasks)
            .map(|t| -> LocalTask<'_> {
                Box::pin(async move {
                    let mut i = 0;
                    while let Some(cmd) = job.next(t, i) {
                        let start = Instant::now();
                        let result = self.ring.cmd(cmd).await;
                        job.done(t, i, result, start.elapsed());
                        i += 1;
                    }
                })
            })
            .collect();
        R::join_all_ring(&self.ring, tasks);
    }

    fn clone_handle(&self) -> Self {
        Self::new(self.ring.clone())
    }

    fn idempotent(&self) -> Self {
        Self::new(self.ring.idempotent())
    }

    fn close(self) {
        self.on(self.ring.close());
    }

    fn background_tasks() -> usize {
        R::background_tasks()
    }
}

impl<R: AsyncRuntime> Client for AsyncRing<R> {
    const DRIVER: &'static str = R::DRIVER;

    fn build(shards: &[(String, String)], config: Config) -> Self {
        let seed = config.seed;
        let builder = Ring::builder()
            .config(config)
            .seed(seed)
            .shards(shards.iter().cloned());
        Self::new(R::build(builder).expect("build the ring"))
    }

    fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        self.on(self.ring.cmd(cmd))
    }

    fn shard_for_key(&self, key: &str) -> Option<String> {
        self.ring.shard_for_key(key)
    }

    fn live_shards(&self) -> usize {
        self.ring.len()
    }

    fn close(self) {
        self.on(self.ring.close());
    }
}
