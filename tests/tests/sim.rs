//! The deterministic simulator (see `redis_ring_tests::sim`): many seeded runs of mixed
//! faults with every invariant checked, a run-twice determinism check, and proof that the
//! checker catches deliberate bugs.
//!
//! `SIM_SEED` (first seed, default 1) and `SIM_RUNS` (default 500) choose the runs;
//! `SIM_VERBOSE=1` keeps a readable trace, printed on failure. A failure prints its seed and
//! the command that replays it.

use std::time::Instant;

use redis_ring_tests::sim::{run, Bug, Fault, FaultTally, SimOptions};

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
    let (mut requests, mut timeouts, mut steps) = (0, 0, 0);
    let (mut ok, mut errors, mut values) = (0, 0, 0);
    let mut faults = FaultTally::default();
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
                ok += o.tally.ok;
                errors += o.tally.errors;
                values += o.tally.values_checked;
                faults.add(&o.faults);
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
        "{runs} runs from seed {first}: {requests} requests ({ok} ok, {errors} failed, \
         {timeouts} timeouts, {values} read values checked against the model), {} faults \
         applied {:?}, recoveries {:?}, {steps} steps in {:?}; worst crash→down {detect:?}, \
         restart→up {recover:?}, resume/heal→up {resume:?}, healthy-shard latency {healthy:?}",
        faults.total(),
        faults.applied,
        faults.recovered,
        started.elapsed()
    );
    if runs >= 100 {
        // A run set that injected nothing, or whose faults never bit, proves nothing.
        for kind in FAULT_KINDS {
            let applied = faults.applied.get(&kind).copied().unwrap_or(0);
            assert!(applied > 0, "no {kind:?} fault took effect in {runs} runs");
            let recovered = faults.recovered.get(&kind).copied().unwrap_or(0);
            assert!(
                recovered > 0,
                "no shard answered again after a {kind:?} in {runs} runs"
            );
        }
        for end in [Fault::Restart, Fault::Resume, Fault::Heal, Fault::Readd] {
            assert!(
                faults.applied.get(&end).copied().unwrap_or(0) > 0,
                "no {end:?}"
            );
        }
        assert!(
            errors > 0 && timeouts > 0,
            "no request failed in {runs} runs"
        );
        assert!(ok > errors, "{ok} requests succeeded, {errors} failed");
        assert!(values > requests / 10, "only {values} values checked");
    }
}

/// Every kind of fault (not counting ends); each must take effect in a run set.
const FAULT_KINDS: [Fault; 6] = [
    Fault::Crash,
    Fault::Hang,
    Fault::Partition,
    Fault::Reset,
    Fault::Garbage,
    Fault::Remove,
];

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

/// Each seed in `seeds` with `bug` planted must fail, by the rule meant for the bug.
fn caught(bug: Bug, seeds: std::ops::Range<u64>) {
    let rule = bug.rule().expect("a bug");
    let options = SimOptions {
        bug,
        ..SimOptions::default()
    };
    for seed in seeds {
        let failure = run(seed, &options)
            .map(|_| ())
            .expect_err(&format!("seed {seed}: {bug:?} was not caught"));
        assert_eq!(
            failure.rule, rule,
            "seed {seed}: {bug:?} caught by the wrong rule: {}",
            failure.message
        );
    }
}

#[test]
fn the_checker_catches_a_reply_delivered_to_the_wrong_connection() {
    caught(Bug::CrossedReplies, 1..20);
}

#[test]
fn the_checker_catches_bytes_written_twice() {
    caught(Bug::DoubleWrite, 1..20);
}

#[test]
fn the_checker_catches_a_command_sent_twice() {
    caught(Bug::CommandTwice, 1..20);
}

#[test]
fn the_checker_catches_a_split_reply_merged_in_the_wrong_order() {
    caught(Bug::WrongMerge, 1..20);
}

#[test]
fn the_checker_names_the_rule_a_run_broke() {
    // A healthy run passes; the same seed with a bug fails, and says which rule and seed.
    let seed = 2;
    run(seed, &SimOptions::default()).unwrap_or_else(|f| panic!("{f}"));
    let options = SimOptions {
        bug: Bug::CommandTwice,
        ..SimOptions::default()
    };
    let failure = run(seed, &options).map(|_| ()).unwrap_err();
    let text = failure.to_string();
    assert!(
        text.contains("RanTwice") && text.contains("SIM_SEED=2"),
        "{text}"
    );
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

#[test]
fn random_programs_keep_the_ring_core_invariants() {
    // The `ring_core` fuzz check (the driver contract, `pending()` accounting, every request
    // ending) on seeded random programs (cargo-fuzz explores further).
    use redis_ring_tests::fuzz_checks::ring_core::check;
    use redis_ring_tests::sim::rng::SimRng;
    let runs = env_u64("SIM_RUNS", 1_000);
    let first = env_u64("SIM_SEED", 1);
    for seed in first..first + runs {
        let mut rng = SimRng::new(seed);
        let len = rng.range(0, 600) as usize;
        let program: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let result = std::panic::catch_unwind(|| check(&program));
        assert!(
            result.is_ok(),
            "ring_core program from seed {seed} fails; replay: SIM_SEED={seed} SIM_RUNS=1 \
             cargo test -p redis-ring-tests --test sim random_programs_keep_the_ring_core; \
             bytes: {program:?}"
        );
    }
}
