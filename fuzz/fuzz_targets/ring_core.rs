//! cargo-fuzz target `ring_core`: the check lives in `redis_ring_tests::fuzz_checks::ring_core`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    redis_ring_tests::fuzz_checks::ring_core::check(data);
});
