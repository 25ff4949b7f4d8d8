//! The shared scenario suite (`redis_ring_tests::scenarios`) run against driver-std, through
//! a thin adapter (`adapter/mod.rs`): every method is one call of `redis_ring_std::Ring`'s
//! public API.

mod adapter;

redis_ring_tests::scenario_tests!(adapter::StdRing);
