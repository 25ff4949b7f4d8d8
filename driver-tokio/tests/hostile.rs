//! The hostile-peer scenarios (`redis_ring_tests::hostile::scenarios`) through this driver:
//! a ring of two real shards and one server that misbehaves on purpose, the driver task on
//! a multi-thread runtime.

mod adapter;

redis_ring_tests::hostile_tests!(redis_ring_tests::async_adapter::AsyncRing<adapter::Tokio<true>>);
