//! cargo-fuzz target `resp_decode`: the check lives in `redis_ring_tests::fuzz_checks::resp_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    redis_ring_tests::fuzz_checks::resp_decode::check(data);
});
