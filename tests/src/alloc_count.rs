//! A counting global allocator: how many heap allocations a stretch of code makes, across
//! every thread of the process (a driver's I/O thread included).
//!
//! Install it in a binary (`#[global_allocator] static A: CountingAlloc = CountingAlloc;`),
//! then [`start`] counting, run the code, read [`stop`]. While counting is off the cost is
//! one relaxed load per allocation, so a bench binary can keep it installed for good
//! (`redis-ring bench --count-allocs`). Allocation counts are deterministic where timings
//! are not: the allocation tests assert on them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The system allocator, counting allocations (`alloc`, `alloc_zeroed`, and `realloc`,
/// which may move) while [`start`]ed.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

static ON: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

fn count(size: usize) {
    if ON.load(Ordering::Relaxed) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; counting touches only atomics.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What was counted between [`start`] and [`stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counted {
    /// Allocations (reallocations included).
    pub allocs: u64,
    /// Bytes requested by them.
    pub bytes: u64,
}

/// Resets the counters and starts counting (only meaningful with [`CountingAlloc`] as the
/// global allocator; otherwise nothing is ever counted).
pub fn start() {
    ALLOCS.store(0, Ordering::Relaxed);
    BYTES.store(0, Ordering::Relaxed);
    ON.store(true, Ordering::SeqCst);
}

/// Stops counting and returns what was counted since [`start`].
pub fn stop() -> Counted {
    ON.store(false, Ordering::SeqCst);
    Counted {
        allocs: ALLOCS.load(Ordering::Relaxed),
        bytes: BYTES.load(Ordering::Relaxed),
    }
}

/// Allocations per command over `rounds` calls of `round` (each sending `per_round`
/// commands), after `rounds / 4` uncounted calls of warm-up (buffers, tables and slabs
/// reach their working size). For the allocation tests of every driver.
pub fn per_command(rounds: usize, per_round: usize, mut round: impl FnMut()) -> f64 {
    for _ in 0..rounds / 4 {
        round();
    }
    start();
    for _ in 0..rounds {
        round();
    }
    let counted = stop();
    counted.allocs as f64 / (rounds * per_round) as f64
}

/// [`per_command`] for async rounds (awaited one after the other on the caller's task).
pub async fn per_command_async<F: std::future::Future<Output = ()>>(
    rounds: usize,
    per_round: usize,
    mut round: impl FnMut() -> F,
) -> f64 {
    for _ in 0..rounds / 4 {
        round().await;
    }
    start();
    for _ in 0..rounds {
        round().await;
    }
    let counted = stop();
    counted.allocs as f64 / (rounds * per_round) as f64
}
