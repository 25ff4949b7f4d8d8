//! The adapter between the shared scenario suite (`redis_ring_tests::scenarios`) and this
//! driver, used by `tests/scenarios.rs` and `tests/instrumentation.rs`: every method is one
//! call of `redis_ring_std::Ring`'s public API.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use redis_ring_std::{Cmd, Error, Event, Ring, Value};
use redis_ring_tests::scenarios::{
    BuildError, EventStream, Job, Message, RingSpec, RingUnderTest, ShardView, SubKind,
    Subscription,
};

/// The adapter: a `Ring` handle.
pub(crate) struct StdRing {
    ring: Ring,
}

/// `Ring::events()`'s receiver.
pub(crate) struct StdEvents(redis_ring_std::Events);

impl EventStream for StdEvents {
    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        self.0.recv_timeout(timeout)
    }
}

/// `Ring::subscribe`'s subscription.
pub(crate) struct StdSub(redis_ring_std::Subscription);

impl Subscription for StdSub {
    fn next_message(&mut self, timeout: Duration) -> Option<Result<Message, Error>> {
        self.0.next_timeout(timeout).map(|m| {
            Ok(Message {
                channel: m.channel,
                pattern: m.pattern,
                payload: m.payload,
            })
        })
    }
}

/// Threads at most for `run_concurrent` (tasks beyond run on the same threads, one after
/// the other, as the suite allows; it asks for at least 64 at once).
const MAX_THREADS: usize = 512;

impl RingUnderTest for StdRing {
    type Sub = StdSub;
    type Events = StdEvents;

    const DRIVER: &'static str = "driver-std";

    fn build(spec: &RingSpec) -> Result<Self, BuildError> {
        let ring = spec.configure(Ring::builder()).build()?;
        Ok(StdRing { ring })
    }

    fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        self.ring.cmd(cmd)
    }

    fn cmd_timeout(&self, cmd: Cmd, timeout: Duration) -> Result<Value, Error> {
        self.ring.cmd_timeout(cmd, timeout)
    }

    fn pipeline(&self, cmds: Vec<Cmd>) -> Vec<Result<Value, Error>> {
        let mut p = self.ring.pipeline();
        for cmd in cmds {
            p.cmd(cmd);
        }
        p.run()
    }

    fn mget(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.ring.mget::<_, Option<Vec<u8>>>(keys)
    }

    fn mset(&self, pairs: &[(&str, &str)]) -> Result<(), Error> {
        self.ring.mset(pairs)
    }

    fn del(&self, keys: &[&str]) -> Result<i64, Error> {
        self.ring.del(keys).map(|n| n as i64)
    }

    fn exists(&self, keys: &[&str]) -> Result<i64, Error> {
        self.ring.exists(keys).map(|n| n as i64)
    }

    fn transaction(
        &self,
        keys: &[&str],
        reads: &[Cmd],
        write: &(dyn Fn(&[Value]) -> Vec<Cmd> + Sync),
    ) -> Result<Vec<Value>, Error> {
        self.ring.transaction(keys, |tx| {
            let mut values = Vec::with_capacity(reads.len());
            for read in reads {
                values.push(tx.cmd(read.clone())?);
            }
            for cmd in write(&values) {
                tx.queue(cmd);
            }
            Ok(())
        })
    }

    fn subscribe(&self, kind: SubKind, channels: &[&str]) -> Result<Self::Sub, Error> {
        let sub = match kind {
            SubKind::Channel => self.ring.subscribe(channels),
            SubKind::Pattern => self.ring.psubscribe(channels),
            SubKind::Sharded => self.ring.ssubscribe(channels),
        };
        sub.map(StdSub)
    }

    fn publish(&self, channel: &str, payload: &str) -> Result<i64, Error> {
        self.ring.publish(channel, payload).map(|n| n as i64)
    }

    fn for_each_shard(&self, cmd: &Cmd) -> Vec<(String, Result<Value, Error>)> {
        self.ring.for_each_shard(|shard| shard.cmd(cmd.clone()))
    }

    fn mget_per_key(&self, keys: &[&str]) -> Vec<Result<Option<Vec<u8>>, Error>> {
        self.ring.mget_per_key(keys)
    }

    fn scan(&self, pattern: &str) -> Result<Vec<String>, Error> {
        self.ring
            .scan()
            .pattern(pattern)
            .map(|k| k.map(|k| String::from_utf8_lossy(&k).into_owned()))
            .collect()
    }

    fn shard_for_key(&self, key: &str) -> Option<String> {
        self.ring.shard_for_key(key)
    }

    fn len(&self) -> usize {
        self.ring.len()
    }

    fn set_shards(&self, shards: &[(String, String)]) {
        self.ring
            .set_shards(shards.iter().cloned())
            .expect("set_shards");
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
        StdEvents(self.ring.events())
    }

    fn run_concurrent(&self, tasks: usize, job: &dyn Job) {
        let next_task = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..tasks.min(MAX_THREADS) {
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(s, || loop {
                        let task = next_task.fetch_add(1, Ordering::Relaxed);
                        if task >= tasks {
                            return;
                        }
                        let mut i = 0;
                        while let Some(cmd) = job.next(task, i) {
                            let started = Instant::now();
                            let result = self.ring.cmd(cmd);
                            job.done(task, i, result, started.elapsed());
                            i += 1;
                        }
                    })
                    .expect("spawn a task thread");
            }
        });
    }

    fn clone_handle(&self) -> Self {
        StdRing {
            ring: self.ring.clone(),
        }
    }

    fn idempotent(&self) -> Self {
        StdRing {
            ring: self.ring.idempotent(),
        }
    }

    fn close(self) {
        self.ring.close();
    }

    fn background_tasks() -> usize {
        // The driver's threads are named `redis-ring-*` (the kernel keeps 15 bytes of it).
        std::fs::read_dir("/proc/self/task")
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm"))
                            .is_ok_and(|c| c.starts_with("redis-ring"))
                    })
                    .count()
            })
            .unwrap_or(0)
    }
}
