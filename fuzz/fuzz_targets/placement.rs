//! Arbitrary shard names, weights and keys through every placement algorithm: see
//! `redis_ring_tests::fuzz_checks::placement`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| redis_ring_tests::fuzz_checks::placement::check(data));
