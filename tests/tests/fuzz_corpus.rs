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
