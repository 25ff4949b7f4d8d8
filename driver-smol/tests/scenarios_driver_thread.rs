//! The shared scenario suite against this driver with `Smol::driver_thread(true)`:
//! the driver on a thread of its own.

mod adapter;

redis_ring_tests::scenario_tests!(redis_ring_tests::async_adapter::AsyncRing<adapter::Smol<true>>);
