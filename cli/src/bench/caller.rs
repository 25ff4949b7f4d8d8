//! The one caller loop every client runs: draw a command (or a batch), send it, record its
//! latency, until the deadline. Clients differ only in how they send ([`Caller`]).

use std::future::Future;
use std::time::Instant;

use redis_ring_core::command::Cmd;
use redis_ring_driver::{blocking, Ring, Runtime};

use super::recorder::Recorder;
use super::workload::{Request, Workload};
use super::Clock;
use crate::args::Mode;
use crate::rng::Rng;

/// `(ok, errors)` of one step.
pub(super) type Outcome = (u64, u64);

/// How one client sends a bench caller's commands. Blocking clients (redis-ring-std) do
/// their work inside the future, which is then ready on its first poll.
pub(super) trait Caller {
    /// Sends one command and waits for its reply.
    fn one(&self, workload: &Workload, req: Request) -> impl Future<Output = Outcome> + Send;

    /// Sends `n` commands drawn from `workload` as one batch and waits for every reply.
    fn batch(
        &self,
        workload: &Workload,
        rng: &mut Rng,
        n: usize,
    ) -> impl Future<Output = Outcome> + Send;
}

/// What one caller runs with.
#[derive(Debug)]
pub(super) struct Plan {
    /// The commands.
    pub(super) workload: Workload,
    /// This caller's key sequence.
    pub(super) rng: Rng,
    /// Where its latencies go.
    pub(super) rec: Recorder,
    /// When to stop.
    pub(super) clock: Clock,
    /// Batches (`Pipeline`) or single commands.
    pub(super) mode: Mode,
    /// Commands per batch.
    pub(super) batch: usize,
}

/// One caller: steps until the deadline, then hands back its recorder.
pub(super) async fn run<C: Caller>(client: C, plan: Plan) -> Recorder {
    let Plan {
        workload,
        mut rng,
        mut rec,
        clock,
        mode,
        batch,
    } = plan;
    while Instant::now() < clock.deadline {
        let t0 = Instant::now();
        let (ok, err) = if mode == Mode::Pipeline {
            client.batch(&workload, &mut rng, batch).await
        } else {
            client.one(&workload, workload.next(&mut rng)).await
        };
        let t1 = Instant::now();
        rec.record(t1, t1 - t0, ok, err);
    }
    rec
}

/// Runs the callers' executor (or a blocking caller) on the bench's thread, parking it on
/// a futex while nothing is ready: futures-lite's `block_on`, not async-io's (`smol::block_on`),
/// which would make the bench's thread drive async-io's reactor whenever it waits (five
/// syscalls per wait with `polling` 3: the bench's own, not the client's). The clients' I/O
/// runs on threads of its own either way (see each client's `SETUP`).
pub(super) fn block_on<F: Future>(f: F) -> F::Output {
    smol::future::block_on(f)
}

/// The redis-ring command for a workload request.
pub(super) fn command(workload: &Workload, req: Request) -> Cmd {
    match req {
        Request::Set(key) => Cmd::new("SET").arg(key.as_str()).arg(workload.value()),
        Request::Get(key) => Cmd::new("GET").arg(key.as_str()),
    }
}

/// `(ok, errors)` of a batch's results.
pub(super) fn tally<T, E>(results: &[Result<T, E>]) -> Outcome {
    let ok = results.iter().filter(|r| r.is_ok()).count() as u64;
    (ok, results.len() as u64 - ok)
}

/// `(1, 0)` or `(0, 1)`.
pub(super) fn single<T, E>(result: &Result<T, E>) -> Outcome {
    if result.is_ok() {
        (1, 0)
    } else {
        (0, 1)
    }
}

/// redis-ring's async handle (smol, tokio).
impl<Rt: Runtime> Caller for Ring<Rt> {
    async fn one(&self, workload: &Workload, req: Request) -> Outcome {
        single(&self.cmd(command(workload, req)).await)
    }

    async fn batch(&self, workload: &Workload, rng: &mut Rng, n: usize) -> Outcome {
        let mut p = self.pipeline_with_capacity(n);
        for _ in 0..n {
            p.cmd(command(workload, workload.next(rng)));
        }
        tally(&p.run().await)
    }
}

/// redis-ring's blocking handle (std): the work happens inside the future.
impl<Rt: Runtime> Caller for blocking::Ring<Rt> {
    async fn one(&self, workload: &Workload, req: Request) -> Outcome {
        single(&self.cmd(command(workload, req)))
    }

    async fn batch(&self, workload: &Workload, rng: &mut Rng, n: usize) -> Outcome {
        let mut p = self.pipeline_with_capacity(n);
        for _ in 0..n {
            p.cmd(command(workload, workload.next(rng)));
        }
        tally(&p.run())
    }
}
