//! The hostile-peer scenarios (`redis_ring_tests::hostile::scenarios`) through this driver
//! on a driver thread, every call awaited through the ring's own `Ring::block_on`: the
//! caller's thread reads its lone round trips itself, and a push flood, a trickling or a
//! silent peer must not hold it, nor the other shards, up.

mod adapter;

redis_ring_tests::hostile_tests!(
    redis_ring_tests::async_adapter::AsyncRing<adapter::Smol<true, true>>
);
