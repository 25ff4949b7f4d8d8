//! The shared scenario suite (`redis_ring_tests::scenarios`) against this driver, its
//! driver task on smol's global executor (the default).

mod adapter;

redis_ring_tests::scenario_tests!(adapter::Smol<false>);
