//! The adapter between the shared scenario suite (`redis_ring_tests::scenarios`) and this
//! driver, used by `tests/scenarios.rs` and `tests/scenarios_driver_thread.rs`.
//!
//! It only translates blocking-style calls into the driver's async API (`smol::block_on`);
//! concurrent loads run as tasks of a `LocalExecutor` on the test thread.

use std::time::{Duration, Instant};

use redis_ring_smol::{Cmd, Error, Event, Ring, Value};
use redis_ring_tests::scenarios::{
    BuildError, EventStream, Job, Message, RingSpec, RingUnderTest, ShardView, SubKind,
    Subscription,
};

use smol::future::FutureExt;

/// The smol driver as the suite sees it; `THREAD` runs the ring's driver on a thread of
/// its own (`Smol::driver_thread`) instead of smol's global executor.
pub(crate) struct Smol<const THREAD: bool> {
    ring: Ring,
}

/// `Ring::events` as the suite's blocking receiver.
pub(crate) struct Events(redis_ring_smol::Events);

impl EventStream for Events {
    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        smol::block_on(async { self.0.recv().await }.or(async {
            smol::Timer::after(timeout).await;
            None
        }))
    }
}

/// A driver subscription read in blocking style.
pub(crate) struct Sub(redis_ring_smol::Subscription);

impl Subscription for Sub {
    fn next_message(&mut self, timeout: Duration) -> Option<Result<Message, Error>> {
        let msg = smol::block_on(async { self.0.next_message().await }.or(async {
            smol::Timer::after(timeout).await;
            None
        }))?;
        Some(Ok(Message {
            channel: msg.channel,
            pattern: msg.pattern,
            payload: msg.payload,
        }))
    }
}

impl<const THREAD: bool> RingUnderTest for Smol<THREAD> {
    type Sub = Sub;
    type Events = Events;

    const DRIVER: &'static str = if THREAD {
        "redis-ring-smol (driver thread)"
    } else {
        "redis-ring-smol"
    };

    fn build(spec: &RingSpec) -> Result<Self, BuildError> {
        let ring = spec
            .configure(Ring::builder())
            .runtime(redis_ring_smol::Smol::new().driver_thread(THREAD))
            .build()?;
        Ok(Smol { ring })
    }

    fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        smol::block_on(self.ring.cmd(cmd))
    }

    fn pipeline(&self, cmds: Vec<Cmd>) -> Vec<Result<Value, Error>> {
        let mut p = self.ring.pipeline();
        for c in cmds {
            p.cmd(c);
        }
        smol::block_on(p.run())
    }

    fn mget(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        smol::block_on(self.ring.mget(keys))
    }

    fn mset(&self, pairs: &[(&str, &str)]) -> Result<(), Error> {
        smol::block_on(self.ring.mset(pairs))
    }

    fn del(&self, keys: &[&str]) -> Result<i64, Error> {
        smol::block_on(self.ring.del(keys)).map(|n| n as i64)
    }

    fn exists(&self, keys: &[&str]) -> Result<i64, Error> {
        smol::block_on(self.ring.exists(keys)).map(|n| n as i64)
    }

    fn transaction(
        &self,
        keys: &[&str],
        reads: &[Cmd],
        write: &(dyn Fn(&[Value]) -> Vec<Cmd> + Sync),
    ) -> Result<Vec<Value>, Error> {
        smol::block_on(self.ring.transaction(keys, async |tx| {
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
            SubKind::Channel => smol::block_on(self.ring.subscribe(channels)),
            SubKind::Pattern => smol::block_on(self.ring.psubscribe(channels)),
            SubKind::Sharded => smol::block_on(self.ring.ssubscribe(channels)),
        };
        sub.map(Sub)
    }

    fn publish(&self, channel: &str, payload: &str) -> Result<i64, Error> {
        smol::block_on(self.ring.publish(channel, payload)).map(|n| n as i64)
    }

    fn for_each_shard(&self, cmd: &Cmd) -> Vec<(String, Result<Value, Error>)> {
        smol::block_on(
            self.ring
                .for_each_shard(async |shard| shard.cmd(cmd.clone()).await),
        )
    }

    fn mget_per_key(&self, keys: &[&str]) -> Vec<Result<Option<Vec<u8>>, Error>> {
        smol::block_on(self.ring.mget_per_key(keys))
    }

    fn scan(&self, pattern: &str) -> Result<Vec<String>, Error> {
        let keys = smol::block_on(self.ring.scan().pattern(pattern).collect_all())?;
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
        let ex = smol::LocalExecutor::new();
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                ex.spawn(async move {
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
        smol::block_on(ex.run(async {
            for h in handles {
                h.await;
            }
        }));
    }

    fn clone_handle(&self) -> Self {
        Smol {
            ring: self.ring.clone(),
        }
    }

    fn close(self) {
        smol::block_on(self.ring.close());
    }

    fn background_tasks() -> usize {
        redis_ring_smol::driver_tasks()
    }
}
