//! The shared scenario suite against this driver, its driver task on a `current_thread`
//! tokio runtime.

mod adapter;

redis_ring_tests::scenario_tests!(adapter::Tokio<false>);
