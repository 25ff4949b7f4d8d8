//! smol as the shared async adapter (`redis_ring_tests::async_adapter`) needs it, used by
//! `tests/scenarios.rs`, `tests/scenarios_driver_thread.rs`, `tests/hostile.rs` and
//! `tests/instrumentation.rs`.
//!
//! Blocking-style calls are `smol::block_on`; concurrent loads run as tasks of a
//! `LocalExecutor` on the test thread.

use std::future::Future;
use std::time::Duration;

use redis_ring_smol::{BuildError, Ring, RingBuilder};
use redis_ring_tests::async_adapter::{AsyncRuntime, LocalTask};
use smol::future::FutureExt;

/// The smol runtime; `THREAD` runs the ring's driver on a thread of its own
/// (`Smol::driver_thread`) instead of smol's global executor.
#[derive(Debug)]
pub(crate) struct Smol<const THREAD: bool>;

impl<const THREAD: bool> AsyncRuntime for Smol<THREAD> {
    type Rt = redis_ring_smol::Smol;

    const DRIVER: &'static str = if THREAD {
        "redis-ring-smol (driver thread)"
    } else {
        "redis-ring-smol"
    };

    fn build(builder: RingBuilder) -> Result<Ring, BuildError> {
        builder
            .runtime(redis_ring_smol::Smol::new().driver_thread(THREAD))
            .build()
    }

    fn block_on<F: Future>(fut: F) -> F::Output {
        smol::block_on(fut)
    }

    fn block_on_timeout<F: Future>(fut: F, timeout: Duration) -> Option<F::Output> {
        smol::block_on(async { Some(fut.await) }.or(async {
            smol::Timer::after(timeout).await;
            None
        }))
    }

    fn join_all(tasks: Vec<LocalTask<'_>>) {
        let ex = smol::LocalExecutor::new();
        let handles: Vec<_> = tasks.into_iter().map(|t| ex.spawn(t)).collect();
        smol::block_on(ex.run(async {
            for h in handles {
                h.await;
            }
        }));
    }

    fn background_tasks() -> usize {
        redis_ring_smol::driver_tasks()
    }
}
