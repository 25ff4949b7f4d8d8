//! The shared scenario suite (`redis_ring_tests::scenarios`) against this driver, its
//! driver task on smol's global executor (the default).

mod adapter;

redis_ring_tests::scenario_tests!(redis_ring_tests::async_adapter::AsyncRing<adapter::Smol<false>>);
