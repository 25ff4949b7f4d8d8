//! The shared scenario suite (`redis_ring_tests::scenarios`) against this driver, its
//! driver task on a multi-thread tokio runtime.

mod adapter;

redis_ring_tests::scenario_tests!(redis_ring_tests::async_adapter::AsyncRing<adapter::Tokio<true>>);
