//! Memory under a stuck shard (issue 17, item 11), measured as the issue did: 400 callers
//! writing 1 MB values over 3 real shards, one of them SIGSTOPped for 4 s.
//!
//! ```text
//! cargo build --release -p redis-ring-std --example stuck_shard_memory
//! taskset -c 1 target/release/examples/stuck_shard_memory            # default queue limit
//! taskset -c 1 target/release/examples/stuck_shard_memory unbounded  # no queue limit
//! ```
//!
//! Each caller is bound to one shard (caller `i` writes keys of shard `i % 3`), so a third
//! of them are stuck during the pause and the others keep writing. The servers are pinned to
//! cpu 0. Printed: the payload the callers hold (400 × 1 MB, whatever the client does), the
//! resident memory before the load and its peak during the run (`VmHWM`, reset first),
//! the most bytes queued for the stuck shard, the outcome of the stuck shard's writes, and
//! the latency of the other shards' writes before and during the pause, and the bytes the
//! driver wrote. `CALLERS=50 PAUSE_SECS=0` makes it a plain large-value throughput run.
#![allow(missing_docs, clippy::print_stdout, clippy::cast_precision_loss)]

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use redis_ring_core::config::QueueLimit;
use redis_ring_std::{Cmd, Error, Event, Ring};
use redis_ring_tests::hostile::{peak_rss_kib, reset_peak_rss, vm_rss_kib};
use redis_ring_tests::Shards;

const VALUE: usize = 1_000_000;
const WARM: Duration = Duration::from_secs(2);
const AFTER: Duration = Duration::from_secs(3);

/// Latencies of the other shards' writes, per phase.
#[derive(Default)]
struct Latencies {
    warm: Vec<Duration>,
    paused: Vec<Duration>,
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize]
}

/// `name` from the environment, or `default`.
fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // CALLERS=50 PAUSE_SECS=0: a plain large-value throughput run (for profiling).
    let callers_n = env("CALLERS", 400) as usize;
    let pause = Duration::from_secs(env("PAUSE_SECS", 4));
    let unbounded = std::env::args().nth(1).as_deref() == Some("unbounded");
    let shards = Shards::start(3).expect("start redis-servers");
    for s in shards.servers() {
        let pid = s.pid().expect("server pid").to_string();
        let ok = Command::new("taskset").args(["-pc", "0", &pid]).output();
        assert!(
            ok.is_ok_and(|o| o.status.success()),
            "cannot pin redis-server to cpu 0"
        );
    }
    let mut builder = Ring::builder().shards(shards.named());
    if unbounded {
        let mut limit = QueueLimit::default();
        limit.max_bytes = usize::MAX;
        limit.max_commands = usize::MAX;
        builder = builder.queue_limit(limit);
    }
    let ring = builder.build().expect("build");
    let names: Vec<String> = shards.named().into_iter().map(|(n, _)| n).collect();
    let stuck = names[0].clone();
    let keys: Vec<Vec<String>> = names
        .iter()
        .map(|name| {
            (0..)
                .map(|i| format!("mem:{i}"))
                .filter(|k| ring.shard_for_key(k).as_deref() == Some(&**name))
                .take(100)
                .collect()
        })
        .collect();
    let value: Arc<[u8]> = vec![b'x'; VALUE].into();

    let events = ring.events();
    let rss_before = vm_rss_kib().unwrap_or(0);
    let peak_known = reset_peak_rss();
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let paused = Arc::new(AtomicBool::new(false));
    let lat = Arc::new(Mutex::new(Latencies::default()));
    let (stuck_ok, stuck_err) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let other_errors = Arc::new(Mutex::new(Vec::new()));
    let callers: Vec<_> = (0..callers_n)
        .map(|i| {
            let (ring, keys) = (ring.clone(), keys[i % 3].clone());
            let (value, stop, paused, lat) =
                (value.clone(), stop.clone(), paused.clone(), lat.clone());
            let (stuck_ok, stuck_err, other_errors) =
                (stuck_ok.clone(), stuck_err.clone(), other_errors.clone());
            thread::spawn(move || {
                let mut n = i;
                while !stop.load(Ordering::Relaxed) {
                    n = n.wrapping_mul(31).wrapping_add(7);
                    let key = &keys[n % keys.len()];
                    let during = paused.load(Ordering::Relaxed);
                    let t = Instant::now();
                    let result = ring.cmd(Cmd::new("SET").arg(key).arg(&value[..]));
                    let took = t.elapsed();
                    if i % 3 == 0 {
                        match result {
                            Ok(_) => stuck_ok.fetch_add(1, Ordering::Relaxed),
                            Err(e) => {
                                stuck_err.lock().unwrap().push(kind(&e));
                                0
                            }
                        };
                    } else if let Err(e) = result {
                        other_errors.lock().unwrap().push(kind(&e));
                    } else if during && paused.load(Ordering::Relaxed) {
                        lat.lock().unwrap().paused.push(took);
                    } else if !during && !paused.load(Ordering::Relaxed) {
                        lat.lock().unwrap().warm.push(took);
                    }
                }
            })
        })
        .collect();

    let mut max_queued = 0usize;
    let watch = |until: Instant, max_queued: &mut usize| {
        while Instant::now() < until {
            if let Some(s) = ring.stats().into_iter().find(|s| s.name == stuck) {
                *max_queued = (*max_queued).max(s.queued_bytes);
            }
            thread::sleep(Duration::from_millis(20));
        }
    };
    watch(Instant::now() + WARM, &mut max_queued);
    let mut shards = shards;
    if !pause.is_zero() {
        shards.server(0).pause().expect("SIGSTOP");
        paused.store(true, Ordering::Relaxed);
        watch(Instant::now() + pause, &mut max_queued);
        paused.store(false, Ordering::Relaxed);
        shards.server(0).resume().expect("SIGCONT");
    }
    watch(Instant::now() + AFTER, &mut max_queued);
    stop.store(true, Ordering::Relaxed);
    for c in callers {
        c.join().expect("caller");
    }
    let peak = if peak_known {
        peak_rss_kib().unwrap_or(0)
    } else {
        vm_rss_kib().unwrap_or(0)
    };
    let ring_bytes_written = ring.io_stats().bytes_written;
    let run_secs = started.elapsed().as_secs_f64();
    let mut went_down = Vec::new();
    while let Some(e) = events.try_recv() {
        if matches!(e, Event::ShardDown { .. } | Event::ShardUp { .. }) {
            went_down.push(format!("{e:?}"));
        }
    }
    ring.close();

    let mb = |kib: u64| kib as f64 / 1024.0;
    let mut lat = Arc::try_unwrap(lat).ok().unwrap().into_inner().unwrap();
    let count = |errors: &Mutex<Vec<&'static str>>| {
        let mut errors = errors.lock().unwrap().clone();
        errors.sort_unstable();
        let mut counted: Vec<(&str, usize)> = Vec::new();
        for e in errors {
            match counted.last_mut() {
                Some((k, n)) if *k == e => *n += 1,
                _ => counted.push((e, 1)),
            }
        }
        counted
    };
    println!(
        "queue limit: {}",
        if unbounded {
            "none"
        } else {
            "default (64 MiB / 100 000 commands, callers wait)"
        }
    );
    println!(
        "{callers_n} callers × {VALUE} B values = {:.0} MiB held by the callers' commands",
        (callers_n * VALUE) as f64 / (1 << 20) as f64
    );
    println!(
        "RSS before the load {:.0} MiB; peak during the run {:.0} MiB (+{:.0} MiB){}",
        mb(rss_before),
        mb(peak),
        mb(peak.saturating_sub(rss_before)),
        if peak_known {
            ""
        } else {
            " (VmRSS at the end: VmHWM could not be reset)"
        }
    );
    let written = ring_bytes_written;
    println!(
        "written: {:.0} MiB in {:.1} s ({:.0} MiB/s)",
        written as f64 / (1 << 20) as f64,
        run_secs,
        written as f64 / (1 << 20) as f64 / run_secs
    );
    println!("shard events: {went_down:?}");
    println!(
        "most bytes queued for the stuck shard: {:.1} MiB",
        max_queued as f64 / (1 << 20) as f64
    );
    println!(
        "stuck shard's writes: {} ok, errors {:?}",
        stuck_ok.load(Ordering::Relaxed),
        count(&stuck_err)
    );
    println!(
        "other shards' writes: errors {:?}; latency before the pause p50 {:?} p99 {:?} ({} writes), \
         during p50 {:?} p99 {:?} max {:?} ({} writes)",
        count(&other_errors),
        percentile(&mut lat.warm, 0.5),
        percentile(&mut lat.warm, 0.99),
        lat.warm.len(),
        percentile(&mut lat.paused, 0.5),
        percentile(&mut lat.paused, 0.99),
        percentile(&mut lat.paused, 1.0),
        lat.paused.len(),
    );
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::Timeout { .. } => "Timeout",
        Error::ShardOverloaded { .. } => "ShardOverloaded",
        Error::MayHaveRun { .. } => "MayHaveRun",
        Error::ShardDown { .. } => "ShardDown",
        Error::Disconnected { .. } => "Disconnected",
        Error::NoShards { .. } => "NoShards",
        Error::AllShardsDown { .. } => "AllShardsDown",
        Error::Connect { .. } => "Connect",
        Error::Protocol { .. } => "Protocol",
        _ => "other",
    }
}
