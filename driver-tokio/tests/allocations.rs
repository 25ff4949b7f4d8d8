//! Heap allocations per command end to end, caller and driver task together (issue 16: at
//! most one; the client's own share is far below). Counted by a global allocator over every
//! thread of this test binary (one test, so nothing else runs meanwhile): deterministic
//! where a timing is not, so the bounds are tight enough to catch one allocation more per
//! command.

use redis_ring_tests::alloc_count::{per_command_async, CountingAlloc};
use redis_ring_tests::scenarios::fast_config;
use redis_ring_tests::Shards;
use redis_ring_tokio::{Cmd, Ring};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// (The driver task runs on the test's runtime: one thread, so the count is deterministic.)
#[tokio::test(flavor = "current_thread")]
async fn sets_allocate_well_under_one_allocation_per_command() {
    let shards = Shards::start(3).unwrap();
    let ring = Ring::builder()
        .config(fast_config())
        .shards(shards.named())
        .build()
        .unwrap();
    // Pipelines of 100 SETs over the 3 shards: the pipeline's buffer and its results' `Vec`
    // are the only allocations left, two per pipeline.
    let ring = &ring;
    let pipelines = per_command_async(200, 100, move || async move {
        let mut p = ring.pipeline_with_capacity(100);
        for i in 0..100 {
            p.cmd(Cmd::new("SET").arg(i).arg("v"));
        }
        assert!(p.run().await.iter().all(Result::is_ok));
    })
    .await;
    eprintln!("pipelines of 100 SETs: {pipelines:.3} allocations per command");
    assert!(pipelines <= 0.03, "{pipelines} allocations per command");
    // One SET at a time.
    let i = &std::cell::Cell::new(0u32);
    let single = per_command_async(2_000, 1, move || async move {
        i.set(i.get().wrapping_add(1));
        ring.cmd(Cmd::new("SET").arg(i.get() % 100).arg("v"))
            .await
            .unwrap();
    })
    .await;
    eprintln!("single SETs: {single:.3} allocations per command");
    assert!(single <= 0.2, "{single} allocations per command");
}
