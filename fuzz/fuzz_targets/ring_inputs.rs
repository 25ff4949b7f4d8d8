//! cargo-fuzz target `ring_inputs`: the check lives in `redis_ring_tests::fuzz_checks::ring_inputs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    redis_ring_tests::fuzz_checks::ring_inputs::check(data);
});
