//! The deterministic simulator (see `redis_ring_tests::sim`): many seeded runs of mixed
//! faults with every invariant checked, a run-twice determinism check, and proof that the
//! checker catches deliberate bugs.
//!
//! `SIM_SEED` (first seed, default 1) and `SIM_RUNS` (default 500) choose the runs;
//! `SIM_VERBOSE=1` keeps a readable trace, printed on failure. A failure prints its seed and
//! the command that replays it.

use std::time::Instant;

use redis_ring_tests::sim::{run, Bug, SimOptions};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn many(default_runs: u64) {
    let first = env_u64("SIM_SEED", 1);
    let runs = env_u64("SIM_RUNS", default_runs);
    let options = SimOptions {
        verbose: std::env::var_os("SIM_VERBOSE").is_some(),
        ..SimOptions::default()
    };
    let started = Instant::now();
    let (mut requests, mut faults, mut timeouts, mut steps) = (0, 0, 0, 0);
    let (mut detect, mut recover, mut resume, mut healthy) = Default::default();
    for seed in first..first + runs {
        match run(seed, &options) {
            Ok(o) => {
                if runs == 1 {
                    // Replaying one seed: show its trace even though it passed.
                    o.trace.iter().for_each(|line| println!("{line}"));
                }
                requests += o.tally.accepted;
                timeouts += o.tally.timeouts;
                faults += o.faults;
                steps += o.steps;
                detect = o.tally.max_crash_detection.max(detect);
                recover = o.tally.max_restart_recovery.max(recover);
                resume = o.tally.max_resume_recovery.max(resume);
                healthy = o.tally.max_healthy_latency.max(healthy);
            }
            Err(failure) => panic!("{failure}"),
        }
    }
    println!(
        "{runs} runs from seed {first}: {requests} requests, {faults} faults, {timeouts} timeouts, \
         {steps} steps in {:?}; worst crash→down {detect:?}, restart→up {recover:?}, \
         resume/heal→up {resume:?}, healthy-shard latency {healthy:?}",
        started.elapsed()
    );
}

#[test]
fn seeds() {
    many(500);
}

#[test]
#[ignore = "long: 100k seeds (SIM_RUNS to change)"]
fn hundred_thousand_seeds() {
    many(100_000);
}

#[test]
fn same_seed_same_run() {
    let options = SimOptions::default();
    for seed in [3, 77, 1_000_003] {
        let a = run(seed, &options).unwrap_or_else(|f| panic!("{f}"));
        let b = run(seed, &options).unwrap_or_else(|f| panic!("{f}"));
        assert_eq!(
            a.trace_hash, b.trace_hash,
            "seed {seed} is not deterministic"
        );
        assert_eq!(a.steps, b.steps);
    }
    let other = run(4, &options).unwrap_or_else(|f| panic!("{f}"));
    let three = run(3, &options).unwrap_or_else(|f| panic!("{f}"));
    assert_ne!(
        other.trace_hash, three.trace_hash,
        "different seeds, different runs"
    );
}

#[test]
fn the_checker_catches_a_reply_delivered_to_the_wrong_connection() {
    let options = SimOptions {
        bug: Bug::CrossedReplies,
        ..SimOptions::default()
    };
    for seed in 1..20 {
        let failure = run(seed, &options).expect_err("a crossed reply must be caught");
        println!("seed {seed}: {}", failure.message);
    }
}

#[test]
fn the_checker_catches_bytes_written_twice() {
    let options = SimOptions {
        bug: Bug::DoubleWrite,
        ..SimOptions::default()
    };
    let failure = run(5, &options).expect_err("a double write must be caught");
    println!("{}", failure.message);
}

#[test]
fn random_input_programs_keep_the_ring_invariants() {
    // The `ring_inputs` fuzz check on seeded random programs (cargo-fuzz explores further).
    use redis_ring_tests::fuzz_checks::ring_inputs::check;
    use redis_ring_tests::sim::rng::SimRng;
    let runs = env_u64("SIM_RUNS", 2_000);
    let first = env_u64("SIM_SEED", 1);
    for seed in first..first + runs {
        let mut rng = SimRng::new(seed);
        let len = rng.range(0, 400) as usize;
        let program: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let result = std::panic::catch_unwind(|| check(&program));
        assert!(
            result.is_ok(),
            "ring_inputs program from seed {seed} fails; replay: SIM_SEED={seed} SIM_RUNS=1 \
             cargo test -p redis-ring-tests --test sim random_input_programs; bytes: {program:?}"
        );
    }
}
