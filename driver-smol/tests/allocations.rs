//! Heap allocations per command end to end, callers and driver together (issue 16: at most
//! one; the client's own share is far below). Counted by a global allocator over every
//! thread of this test binary (one test, so nothing else runs meanwhile): deterministic
//! where a timing is not, so the bounds are tight enough to catch one allocation more per
//! command.

use redis_ring_smol::{Cmd, Ring, Smol};
use redis_ring_tests::alloc_count::{per_command_async, CountingAlloc};
use redis_ring_tests::scenarios::fast_config;
use redis_ring_tests::Shards;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Allocations per command: pipelines of 100 SETs over the shards, then single SETs.
async fn sets(ring: &Ring) -> (f64, f64) {
    let pipelines = per_command_async(200, 100, move || async move {
        let mut p = ring.pipeline_with_capacity(100);
        for i in 0..100 {
            p.cmd(Cmd::new("SET").arg(i).arg("v"));
        }
        assert!(p.run().await.iter().all(Result::is_ok));
    })
    .await;
    let i = &std::cell::Cell::new(0u32);
    let single = per_command_async(2_000, 1, move || async move {
        i.set(i.get().wrapping_add(1));
        ring.cmd(Cmd::new("SET").arg(i.get() % 100).arg("v"))
            .await
            .unwrap();
    })
    .await;
    (pipelines, single)
}

#[test]
fn sets_allocate_well_under_one_allocation_per_command() {
    let shards = Shards::start(3).unwrap();
    let build = |rt: Smol| {
        Ring::builder()
            .config(fast_config())
            .shards(shards.named())
            .runtime(rt)
            .build()
            .unwrap()
    };
    // The driver on its own thread (an `IoThread`): the pipeline's buffer and its results'
    // `Vec` are the only allocations left, two per pipeline.
    let ring = build(Smol::new().driver_thread(true));
    let (pipelines, single) = smol::block_on(sets(&ring));
    eprintln!("driver thread: {pipelines:.3} per SET in pipelines, {single:.3} per single SET");
    assert!(pipelines <= 0.03, "{pipelines} allocations per command");
    assert!(single <= 0.2, "{single} allocations per command");
    // The driver as a task on smol's global executor, on async-io's reactor: async-io
    // allocates on each reactor wait (about 2: a
    // `BTreeMap::split_off` of its timers and a `Vec` of wakers, async-io 2.6
    // `reactor.rs`), a few waits per pipeline; a lone caller pays them per command.
    let ring = build(Smol::new());
    let (pipelines, single) = smol::block_on(sets(&ring));
    eprintln!("global executor: {pipelines:.3} per SET in pipelines, {single:.3} per single SET");
    assert!(pipelines <= 0.2, "{pipelines} allocations per command");
    assert!(single <= 5.0, "{single} allocations per command");
}
