//! Replays every seed corpus in `fuzz/corpus/<target>/` through its check on stable Rust, so
//! the fuzz targets' invariants are part of `cargo test` and every crash found by a fuzzer
//! (saved into the corpus as a regression seed) stays fixed.

use std::path::Path;

use redis_ring_tests::fuzz_checks::TARGETS;

#[test]
fn replay_seed_corpora() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (name, check) in TARGETS {
        let dir = root.join(name);
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()));
        let mut count = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                let data = std::fs::read(&path).unwrap();
                let result = std::panic::catch_unwind(|| check(&data));
                assert!(
                    result.is_ok(),
                    "fuzz target {name} fails on seed {}",
                    path.display()
                );
                count += 1;
            }
        }
        assert!(
            count > 0,
            "fuzz target {name} has no seeds in {}",
            dir.display()
        );
    }
}

#[test]
fn mutated_seeds_keep_the_resp_decode_invariants() {
    // Each `resp_decode` seed with seeded random mutations (bytes from RESP's own alphabet
    // changed, inserted, cut), so the check's every branch is exercised on stable.
    use redis_ring_tests::fuzz_checks::resp_decode::check;
    use redis_ring_tests::sim::rng::SimRng;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/resp_decode");
    let alphabet = b"*$+-:_#,(=%~>|!0123456789\r\n-abc";
    let mut rng = SimRng::new(21);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let seed = std::fs::read(entry.unwrap().path()).unwrap();
        for _ in 0..300 {
            let mut data = seed.clone();
            for _ in 0..rng.range(1, 4) {
                let at = rng.range(0, data.len() as u64 + 1) as usize;
                let byte = alphabet[rng.range(0, alphabet.len() as u64) as usize];
                match rng.range(0, 3) {
                    0 if at < data.len() => data[at] = byte,
                    1 => data.insert(at, byte),
                    _ => data.truncate(at),
                }
            }
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "resp_decode fails on {data:?}");
        }
    }
}
