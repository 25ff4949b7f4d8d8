//! `bench --client redis-rs`: the same workload through the `redis` crate, for a
//! side-by-side figure.
//!
//! One multiplexed connection per shard (opened before the clock starts, shared by every
//! caller), keys placed with our placement over all the shards, the same RESP version as
//! the ring. The same set-up as `ring_smol`: the callers are tasks on an executor of the
//! bench's own thread; the client's I/O (the connections' tasks, which the crate spawns on
//! smol's global executor) runs on another thread. redis-rs has no ring: no
//! health checks, no events, and a broken multiplexed connection stays broken, so a killed
//! shard fails its keys until the end of the run (that is the behaviour being compared).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, IntoConnectionInfo, ProtocolVersion};
use redis_ring_core::placement::{AnyPlacement, Placement};

use super::caller::{self, Caller, Outcome};
use super::workload::{Request, Workload};
use super::{Bench, ConnSettings, Measured};
use crate::rng::Rng;

/// Where the callers and the I/O run (the JSON's `setup`).
pub(super) const SETUP: &str = "callers: async tasks on one executor on the bench's thread \
                                (futures-lite block_on); \
                                I/O: the connections' tasks on smol's global executor thread";

/// Connects, measures, hands back the callers' recorders.
pub(super) fn run(bench: &mut Bench) -> Result<Measured, String> {
    let callers = smol::Executor::new();
    caller::block_on(callers.run(async {
        let shared = connect_all(bench).await?;
        let (clock, progress) = bench.begin();
        let tasks: Vec<_> = (0..bench.callers)
            .map(|i| callers.spawn(caller::run(shared.clone(), bench.plan(&clock, i))))
            .collect();
        let mut recorders = Vec::with_capacity(tasks.len());
        for t in tasks {
            recorders.push(t.await);
        }
        Ok(Bench::measured(clock, progress, recorders))
    }))
}

/// One connection per shard, the ring's placement over them, the workload: what every
/// caller shares (the same on smol and on tokio).
pub(super) async fn connect_all(bench: &Bench) -> Result<Arc<Shared>, String> {
    let mut conns = Vec::with_capacity(bench.shards.len());
    for (name, addr) in &bench.shards {
        let conn = connect(addr, &bench.conn).await.map_err(|e| {
            let addr = redis_ring_core::config::redact_addr(addr);
            format!("redis-rs: shard {name} ({addr}): {e}")
        })?;
        conns.push(conn);
    }
    Ok(Arc::new(Shared {
        conns,
        placement: bench
            .shard_list
            .placement(&bench.conn.placement, bench.conn.hash_tag),
        workload: bench.workload.clone(),
    }))
}

pub(super) async fn connect(
    addr: &str,
    opts: &ConnSettings,
) -> redis::RedisResult<MultiplexedConnection> {
    let url = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("redis://{addr}")
    };
    let info = url.as_str().into_connection_info()?;
    let mut settings = info.redis_settings().clone().set_db(i64::from(opts.db));
    if let Some(user) = &opts.user {
        settings = settings.set_username(user);
    }
    if let Some(password) = &opts.password {
        settings = settings.set_password(password);
    }
    if opts.resp == Some(3) {
        settings = settings.set_protocol(ProtocolVersion::RESP3);
    }
    let client = Client::open(info.set_redis_settings(settings))?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(opts.timeout))
        .set_response_timeout(Some(opts.timeout));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// A boxed future of a sub-batch: `(ok, err)`.
type SubBatch<'a> = Pin<Box<dyn Future<Output = (u64, u64)> + Send + 'a>>;

/// What every caller shares.
pub(super) struct Shared {
    pub(super) conns: Vec<MultiplexedConnection>,
    pub(super) placement: AnyPlacement,
    pub(super) workload: Workload,
}

impl Shared {
    fn conn_for(&self, key: &str) -> MultiplexedConnection {
        // Placement over all the configured shards: never empty.
        let i = self.placement.shard_for(key.as_bytes()).unwrap_or(0);
        self.conns[i].clone()
    }

    fn command(&self, req: &Request) -> redis::Cmd {
        match req {
            Request::Set(key) => {
                let mut c = redis::cmd("SET");
                c.arg(key.as_str()).arg(self.workload.value());
                c
            }
            Request::Get(key) => {
                let mut c = redis::cmd("GET");
                c.arg(key.as_str());
                c
            }
        }
    }

    /// One command: `(1, 0)` or `(0, 1)`.
    async fn one(&self, req: Request) -> Outcome {
        let mut conn = self.conn_for(req.key());
        match self
            .command(&req)
            .query_async::<redis::Value>(&mut conn)
            .await
        {
            Ok(redis::Value::ServerError(_)) | Err(_) => (0, 1),
            Ok(_) => (1, 0),
        }
    }

    /// A batch: split per shard, one redis-rs pipeline per shard, all sent concurrently.
    async fn batch(&self, rng: &mut Rng, n: usize) -> Outcome {
        let mut groups: Vec<(redis::Pipeline, u64)> =
            (0..self.conns.len()).map(|_| (redis::pipe(), 0)).collect();
        for _ in 0..n {
            let req = self.workload.next(rng);
            let i = self.placement.shard_for(req.key().as_bytes()).unwrap_or(0);
            groups[i].0.add_command(self.command(&req));
            groups[i].1 += 1;
        }
        let futures: Vec<SubBatch<'_>> = groups
            .into_iter()
            .enumerate()
            .filter(|(_, (_, count))| *count > 0)
            .map(|(i, (pipe, count))| {
                let mut conn = self.conns[i].clone();
                Box::pin(async move {
                    match pipe.query_async::<Vec<redis::Value>>(&mut conn).await {
                        Ok(values) => {
                            let err = values
                                .iter()
                                .filter(|v| matches!(v, redis::Value::ServerError(_)))
                                .count() as u64;
                            (count - err, err)
                        }
                        Err(_) => (0, count),
                    }
                }) as SubBatch<'_>
            })
            .collect();
        join_all(futures)
            .await
            .into_iter()
            .fold((0, 0), |(o, e), (a, b)| (o + a, e + b))
    }
}

/// The redis crate's multiplexed connections, as a bench caller sends through them.
impl Caller for Arc<Shared> {
    async fn one(&self, _: &Workload, req: Request) -> Outcome {
        Shared::one(self, req).await
    }

    async fn batch(&self, _: &Workload, rng: &mut Rng, n: usize) -> Outcome {
        Shared::batch(self, rng, n).await
    }
}

/// Polls every future until all are done (the per-shard sub-batches run concurrently).
async fn join_all(futures: Vec<SubBatch<'_>>) -> Vec<(u64, u64)> {
    // Each slot: the future while it runs, then its output.
    type Slot<'a> = (Option<SubBatch<'a>>, Option<(u64, u64)>);
    let mut slots: Vec<Slot<'_>> = futures.into_iter().map(|f| (Some(f), None)).collect();
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        let mut pending = false;
        for (future, out) in &mut slots {
            if let Some(f) = future {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *out = Some(v);
                        *future = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(slots.iter_mut().filter_map(|(_, out)| out.take()).collect())
        }
    })
    .await
}
