//! The shared scenario suite (`redis_ring_tests::scenarios`) against this driver.
//!
//! The adapter only translates blocking-style calls into the driver's async API
//! (`smol::block_on`); concurrent loads run as tasks of a `LocalExecutor` on the test
//! thread, while the ring's driver task runs on smol's global executor.

use std::time::{Duration, Instant};

use redis_ring_core::error::CmdName;
use redis_ring_smol::{Cmd, Error, Event, Ring, Value};
use redis_ring_tests::scenarios::{
    BuildError, EventStream, Job, Message, RingSpec, RingUnderTest, ShardView, SubKind,
    Subscription,
};
use smol::channel::Receiver;
use smol::future::FutureExt;

struct Smol {
    ring: Ring,
}

struct Events(Receiver<Event>);

impl EventStream for Events {
    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        smol::block_on(async { self.0.recv().await.ok() }.or(async {
            smol::Timer::after(timeout).await;
            None
        }))
    }
}

/// Pub/sub is not in the driver yet (it needs dedicated connections in the core); the
/// scenarios that use it are ignored until then.
struct NoSubscription;

impl Subscription for NoSubscription {
    fn next_message(&mut self, _timeout: Duration) -> Option<Result<Message, Error>> {
        None
    }
}

fn unsupported(command: &str, reason: &'static str) -> Error {
    Error::Unsupported {
        command: CmdName::new(command.as_bytes()),
        reason,
    }
}

impl RingUnderTest for Smol {
    type Sub = NoSubscription;
    type Events = Events;

    const DRIVER: &'static str = "redis-ring-smol";

    fn build(spec: &RingSpec) -> Result<Self, BuildError> {
        let ring = Ring::builder()
            .config(spec.config.clone())
            .seed(spec.config.seed)
            .shards(spec.shards.clone())
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
        _keys: &[&str],
        _reads: &[Cmd],
        _write: &(dyn Fn(&[Value]) -> Vec<Cmd> + Sync),
    ) -> Result<Vec<Value>, Error> {
        Err(unsupported(
            "MULTI",
            "transactions need dedicated connections in the core (issue 6)",
        ))
    }

    fn subscribe(&self, _kind: SubKind, _channels: &[&str]) -> Result<Self::Sub, Error> {
        Err(unsupported(
            "SUBSCRIBE",
            "pub/sub needs dedicated connections in the core (issue 6)",
        ))
    }

    fn publish(&self, channel: &str, payload: &str) -> Result<i64, Error> {
        smol::block_on(self.ring.publish(channel, payload)).map(|n| n as i64)
    }

    fn for_each_shard(&self, cmd: &Cmd) -> Vec<(String, Result<Value, Error>)> {
        let _ = cmd;
        vec![(
            String::new(),
            Err(unsupported(
                "FOR_EACH_SHARD",
                "needs per-shard submission in the core (issue 6)",
            )),
        )]
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

redis_ring_tests::scenario_tests!(Smol);
