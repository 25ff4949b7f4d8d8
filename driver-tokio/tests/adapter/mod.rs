//! The adapter between the shared scenario suite (`redis_ring_tests::scenarios`) and this
//! driver, used by `tests/scenarios.rs` (multi-thread runtime) and
//! `tests/scenarios_current_thread.rs` (`current_thread` runtime).
//!
//! It only translates blocking-style calls into the driver's async API: each call is a
//! `Handle::block_on` on the test thread, while the ring's driver task runs on the
//! runtime's own thread(s): a process-wide runtime per flavour, so that the leak scenarios
//! see no runtime threads come and go. Concurrent loads are the callers' futures awaited
//! together on the test thread (`FuturesUnordered`: they borrow the job, so they cannot be
//! spawned).

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use redis_ring_tests::scenarios::{
    BuildError, EventStream, Job, Message, RingSpec, RingUnderTest, ShardView, SubKind,
    Subscription,
};
use redis_ring_tokio::{Cmd, Error, Event, Ring, Value};
use tokio::runtime::{Builder, Handle};

/// The runtime of this flavour (`MULTI`: multi-thread, else `current_thread`), started on
/// first use and kept for the whole process.
fn handle<const MULTI: bool>() -> &'static Handle {
    static MULTI_THREAD: OnceLock<Handle> = OnceLock::new();
    static CURRENT_THREAD: OnceLock<Handle> = OnceLock::new();
    if MULTI {
        MULTI_THREAD.get_or_init(|| {
            let rt = Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a multi-thread tokio runtime");
            let handle = rt.handle().clone();
            // Kept alive (and its workers running) until the process exits.
            std::mem::forget(rt);
            handle
        })
    } else {
        CURRENT_THREAD.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("tokio-current-thread".into())
                .spawn(move || {
                    let rt = Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a current_thread tokio runtime");
                    tx.send(rt.handle().clone()).unwrap();
                    // This thread runs the runtime (its tasks, I/O and timers) for good.
                    rt.block_on(std::future::pending::<()>());
                })
                .expect("the runtime's thread");
            rx.recv().expect("the runtime's handle")
        })
    }
}

/// Awaits `fut` from the test thread.
fn block_on<const MULTI: bool, F: Future>(fut: F) -> F::Output {
    handle::<MULTI>().block_on(fut)
}

/// The tokio driver as the suite sees it; `MULTI` picks the runtime flavour.
pub(crate) struct Tokio<const MULTI: bool> {
    ring: Ring,
}

/// `Ring::events` as the suite's blocking receiver.
pub(crate) struct Events<const MULTI: bool>(redis_ring_tokio::Events);

impl<const MULTI: bool> EventStream for Events<MULTI> {
    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        // The timer is made inside `block_on`: inside the runtime.
        block_on::<MULTI, _>(async { tokio::time::timeout(timeout, self.0.recv()).await })
            .ok()
            .flatten()
    }
}

/// A driver subscription read in blocking style.
pub(crate) struct Sub<const MULTI: bool>(redis_ring_tokio::Subscription);

impl<const MULTI: bool> Subscription for Sub<MULTI> {
    fn next_message(&mut self, timeout: Duration) -> Option<Result<Message, Error>> {
        let msg = block_on::<MULTI, _>(async {
            tokio::time::timeout(timeout, self.0.next_message()).await
        })
        .ok()??;
        Some(Ok(Message {
            channel: msg.channel,
            pattern: msg.pattern,
            payload: msg.payload,
        }))
    }
}

impl<const MULTI: bool> Tokio<MULTI> {
    fn on<F: Future>(&self, fut: F) -> F::Output {
        block_on::<MULTI, _>(fut)
    }
}

impl<const MULTI: bool> RingUnderTest for Tokio<MULTI> {
    type Sub = Sub<MULTI>;
    type Events = Events<MULTI>;

    const DRIVER: &'static str = if MULTI {
        "redis-ring-tokio (multi-thread)"
    } else {
        "redis-ring-tokio (current_thread)"
    };

    fn build(spec: &RingSpec) -> Result<Self, BuildError> {
        // Inside the runtime, as an application builds it (`Handle::try_current`).
        let _entered = handle::<MULTI>().enter();
        let ring = spec.configure(Ring::builder()).build()?;
        Ok(Tokio { ring })
    }

    fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        self.on(self.ring.cmd(cmd))
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
        sub.map(Sub)
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
            })
            .collect()
    }

    fn events(&self) -> Self::Events {
        Events(self.ring.events())
    }

    fn run_concurrent(&self, tasks: usize, job: &dyn Job) {
        let mut all: FuturesUnordered<_> = (0..tasks)
            .map(|t| async move {
                let mut i = 0;
                while let Some(cmd) = job.next(t, i) {
                    let start = Instant::now();
                    let result = self.ring.cmd(cmd).await;
                    job.done(t, i, result, start.elapsed());
                    i += 1;
                }
            })
            .collect();
        self.on(async { while all.next().await.is_some() {} });
    }

    fn clone_handle(&self) -> Self {
        Tokio {
            ring: self.ring.clone(),
        }
    }

    fn close(self) {
        self.on(self.ring.close());
    }

    /// Every task alive on this flavour's runtime: the ring's driver tasks and anything
    /// else it might have spawned there (the adapter spawns nothing itself).
    fn background_tasks() -> usize {
        handle::<MULTI>().metrics().num_alive_tasks()
    }
}
