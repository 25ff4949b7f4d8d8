//! The `tracing` and `metrics` features (`cargo test -p redis-ring-tokio --features
//! tracing,metrics --test instrumentation`): the shared checks of
//! `redis_ring_tests::instrumentation` through this driver, its driver task on a
//! multi-thread runtime. One test: both facades are process-global.

mod adapter;

#[test]
fn spans_events_and_metrics() {
    redis_ring_tests::instrumentation::spans_events_and_metrics::<
        redis_ring_tests::async_adapter::AsyncRing<adapter::Tokio<true>>,
    >();
}
