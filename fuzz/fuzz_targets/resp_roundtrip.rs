//! cargo-fuzz target `resp_roundtrip`: the check lives in `redis_ring_tests::fuzz_checks::resp_roundtrip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    redis_ring_tests::fuzz_checks::resp_roundtrip::check(data);
});
