//! The shared scenario suite against this driver, its driver task on a `current_thread`
//! tokio runtime.

mod adapter;

redis_ring_tests::scenario_tests!(
    redis_ring_tests::async_adapter::AsyncRing<adapter::Tokio<false>>
);
