//! The shared scenario suite against this driver with `Smol::driver_thread(true)`, every
//! call awaited through the ring's own `Ring::block_on`: the test thread waits on the
//! driver thread's reactor and reads its round trips itself while each is the only one in
//! flight, and hands over to the driver thread when concurrent tasks have several.

mod adapter;

redis_ring_tests::scenario_tests!(
    redis_ring_tests::async_adapter::AsyncRing<adapter::Smol<true, true>>
);
