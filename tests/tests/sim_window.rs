//! The migration-window simulator (`redis_ring_tests::sim::window`): seeded runs of 3 → 4
//! and 4 → 3 shards, with and without crashes, with and without warm-up, every reply and the
//! final placement checked; and proof that the checker fails a ring without a window.
//!
//! `SIM_SEED` (first seed, default 1) and `SIM_RUNS` (default 10 per combination; the CI budget is small).

use redis_ring_tests::sim::window::{run_window, WindowOptions};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn window_seeds() {
    let first = env_u64("SIM_SEED", 1);
    let runs = env_u64("SIM_RUNS", 10);
    let (mut ops, mut errors, mut moved, mut faults) = (0, 0, 0, 0);
    for grow in [true, false] {
        for faults_on in [false, true] {
            for warm_up in [false, true] {
                let opts = WindowOptions {
                    grow,
                    faults: faults_on,
                    warm_up,
                    no_window: false,
                };
                for seed in first..first + runs {
                    let o = run_window(seed, &opts).unwrap_or_else(|e| {
                        panic!("{e}\nreplay: SIM_SEED={seed} SIM_RUNS=1 cargo test -p redis-ring-tests --test sim_window")
                    });
                    ops += o.ops;
                    errors += o.errors;
                    moved += o.moved;
                    faults += o.faults;
                }
            }
        }
    }
    println!(
        "{} runs: {ops} key operations, {errors} failed under {faults} crashes, {moved} keys moved by the migrator",
        8 * runs
    );
    assert!(
        faults > 0 && errors > 0 && moved > 0,
        "the runs exercised nothing"
    );
}

#[test]
fn checker_catches_a_ring_without_window() {
    let opts = WindowOptions {
        grow: true,
        faults: false,
        warm_up: false,
        no_window: true,
    };
    let failed = (1..=20)
        .filter(|&seed| run_window(seed, &opts).is_err())
        .count();
    assert!(
        failed >= 18,
        "only {failed} of 20 runs without a window failed"
    );
    let e = run_window(1, &opts).unwrap_err();
    assert!(
        e.contains("read") || e.contains("INCR") || e.contains("count"),
        "{e}"
    );
}
