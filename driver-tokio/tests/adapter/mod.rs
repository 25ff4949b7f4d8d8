//! tokio as the shared async adapter (`redis_ring_tests::async_adapter`) needs it, used by
//! `tests/scenarios.rs` (multi-thread runtime), `tests/scenarios_current_thread.rs`
//! (`current_thread` runtime), `tests/hostile.rs` and `tests/instrumentation.rs`
//! (multi-thread).
//!
//! Each blocking-style call is a `Handle::block_on` on the test thread, while the ring's
//! driver task runs on the runtime's own thread(s): a process-wide runtime per flavour, so
//! that the leak scenarios see no runtime threads come and go. Concurrent loads are the
//! callers' futures awaited together on the test thread (`FuturesUnordered`: they borrow
//! the job, so they cannot be spawned).

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use redis_ring_tests::async_adapter::{AsyncRuntime, LocalTask};
use redis_ring_tokio::{BuildError, Ring, RingBuilder};
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

/// The tokio runtime; `MULTI` picks the flavour.
#[derive(Debug)]
pub(crate) struct Tokio<const MULTI: bool>;

impl<const MULTI: bool> AsyncRuntime for Tokio<MULTI> {
    type Rt = redis_ring_tokio::Tokio;

    const DRIVER: &'static str = if MULTI {
        "redis-ring-tokio (multi-thread)"
    } else {
        "redis-ring-tokio (current_thread)"
    };

    fn build(builder: RingBuilder) -> Result<Ring, BuildError> {
        // Inside the runtime, as an application builds it (`Handle::try_current`).
        let _entered = handle::<MULTI>().enter();
        builder.build()
    }

    fn block_on<F: Future>(fut: F) -> F::Output {
        handle::<MULTI>().block_on(fut)
    }

    fn block_on_timeout<F: Future>(fut: F, timeout: Duration) -> Option<F::Output> {
        // The timer is made inside `block_on`: inside the runtime.
        Self::block_on(async { tokio::time::timeout(timeout, fut).await }).ok()
    }

    fn join_all(tasks: Vec<LocalTask<'_>>) {
        let mut all: FuturesUnordered<_> = tasks.into_iter().collect();
        Self::block_on(async { while all.next().await.is_some() {} });
    }

    /// Every task alive on this flavour's runtime: the ring's driver tasks and anything
    /// else it might have spawned there (the adapter spawns nothing itself).
    fn background_tasks() -> usize {
        handle::<MULTI>().metrics().num_alive_tasks()
    }
}
