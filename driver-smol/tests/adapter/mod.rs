//! smol as the shared async adapter (`redis_ring_tests::async_adapter`) needs it, used by
//! `tests/scenarios.rs`, `tests/scenarios_driver_thread.rs`,
//! `tests/scenarios_ring_block_on.rs`, `tests/hostile.rs`, `tests/hostile_ring_block_on.rs` and
//! `tests/instrumentation.rs`.
//!
//! Blocking-style calls are `smol::block_on` (or the ring's own `Ring::block_on`, in
//! `tests/scenarios_ring_block_on.rs`); concurrent loads run as tasks of a `LocalExecutor`
//! on the test thread.

use std::future::Future;
use std::time::Duration;

use redis_ring_smol::{BuildError, Ring, RingBuilder};
use redis_ring_tests::async_adapter::{AsyncRuntime, LocalTask};
use smol::future::FutureExt;

/// The smol runtime; `THREAD` runs the ring's driver on a thread of its own
/// (`Smol::driver_thread`) instead of smol's global executor; `RING` waits with the ring's
/// own `Ring::block_on` (on its driver thread's reactor) instead of `smol::block_on`.
#[derive(Debug)]
pub(crate) struct Smol<const THREAD: bool, const RING: bool = false>;

impl<const THREAD: bool, const RING: bool> AsyncRuntime for Smol<THREAD, RING> {
    type Rt = redis_ring_smol::Smol;

    const DRIVER: &'static str = match (THREAD, RING) {
        (true, true) => "redis-ring-smol (driver thread, Ring::block_on)",
        (true, false) => "redis-ring-smol (driver thread)",
        (false, _) => "redis-ring-smol",
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

    fn block_on_ring<F: Future>(ring: &Ring, fut: F) -> F::Output {
        if RING {
            ring.block_on(fut)
        } else {
            smol::block_on(fut)
        }
    }

    fn join_all_ring(ring: &Ring, tasks: Vec<LocalTask<'_>>) {
        if !RING {
            return Self::join_all(tasks);
        }
        let ex = smol::LocalExecutor::new();
        let handles: Vec<_> = tasks.into_iter().map(|t| ex.spawn(t)).collect();
        ring.block_on(ex.run(async {
            for h in handles {
                h.await;
            }
        }));
    }

    fn background_tasks() -> usize {
        redis_ring_smol::driver_tasks()
    }
}
