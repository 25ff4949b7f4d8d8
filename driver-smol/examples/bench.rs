//! End-to-end benchmark of the smol driver against real shards, beside `redis-benchmark` in
//! the same run (until the CLI's `redis-ring bench` exists).
//!
//! ```text
//! cargo run --release -p redis-ring-smol --example smol-bench -- [--secs 10] [--tasks 50]
//!     [--keys 100000] [--batch 100] [--only concurrent|pipeline] [--no-redis-benchmark]
//!     [--executor global|local] [--driver-thread] [--shards 3]
//! ```
//!
//! Set-up (as the driver-smol issue asks): three shards started by the test harness and
//! pinned to cpu 0 (`taskset -apc 0 <pid>`), this process pinned to cpu 1 (`taskset -apc 1`
//! on itself before any thread starts), `redis-benchmark` run under `taskset -c 1` against
//! shard 1.
//!
//! * concurrent: `--tasks` tasks, each looping SET/GET (alternately) on random keys of a
//!   `--keys` keyspace with 3-byte values, for `--secs`: ops/s, p50, p99 (per command, from
//!   the call to its reply). Beside `redis-benchmark -c 50 -t set,get -d 3 -r 100000`.
//! * pipeline: one task sending pipelines of `--batch` SETs: ops/s. Beside
//!   `redis-benchmark -c 1 -P 100 -t set -d 3 -r 100000`.
//!
//! `--executor global` (default) runs the load tasks on smol's global executor, the thread
//! the ring's driver task runs on; `local` runs them on the main thread (a `LocalExecutor`),
//! so callers and driver are on two threads (sharing cpu 1). `--driver-thread` runs the
//! driver on a thread of its own (`RingBuilder::driver_thread`).
#![allow(clippy::print_stdout)]

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis_ring_smol::{Cmd, Ring};
use redis_ring_tests::Shards;

#[derive(Debug, Clone)]
struct Args {
    secs: u64,
    tasks: usize,
    keys: u64,
    batch: usize,
    only: Option<String>,
    redis_benchmark: bool,
    local: bool,
    driver_thread: bool,
    shards: usize,
}

fn args() -> Args {
    let mut a = Args {
        secs: 10,
        tasks: 50,
        keys: 100_000,
        batch: 100,
        only: None,
        redis_benchmark: true,
        local: false,
        driver_thread: false,
        shards: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().expect("a value after the flag");
        match flag.as_str() {
            "--secs" => a.secs = value().parse().expect("--secs N"),
            "--tasks" => a.tasks = value().parse().expect("--tasks N"),
            "--keys" => a.keys = value().parse().expect("--keys N"),
            "--batch" => a.batch = value().parse().expect("--batch N"),
            "--only" => a.only = Some(value()),
            "--no-redis-benchmark" => a.redis_benchmark = false,
            "--executor" => a.local = value() == "local",
            "--driver-thread" => a.driver_thread = true,
            "--shards" => a.shards = value().parse().expect("--shards N"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// SplitMix64: cheap, good-enough random keys.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `key:%012d`, the shape of redis-benchmark's `key:__rand_int__`.
fn key(rng: &mut Rng, keys: u64) -> String {
    format!("key:{:012}", rng.next() % keys)
}

fn pin(pid: u32, cpu: u32) {
    let ok = Command::new("taskset")
        .args(["-apc", &cpu.to_string(), &pid.to_string()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "taskset -apc {cpu} {pid} failed");
}

/// This process's CPU time so far (user + system, from `/proc/self/stat`, in clock ticks
/// of 10 ms): client CPU per operation is a figure the machine's noise barely moves.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`; utime and stime are the 14th and 15th overall.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}

fn percentile(sorted: &[u32], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_nanos(u64::from(sorted[i]))
}

fn concurrent(ring: &Ring, a: &Args) -> (f64, Duration, Duration, Duration) {
    let cpu0 = cpu_time();
    let stop = Arc::new(AtomicBool::new(false));
    let run = |t: usize| {
        let ring = ring.clone();
        let stop = stop.clone();
        let keys = a.keys;
        async move {
            let mut rng = Rng(t as u64 + 1);
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 20);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let k = key(&mut rng, keys);
                let cmd = if i.is_multiple_of(2) {
                    Cmd::new("SET").arg(&*k).arg("xxx")
                } else {
                    Cmd::new("GET").arg(&*k)
                };
                let start = Instant::now();
                ring.cmd(cmd).await.expect("command failed");
                lat.push(start.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32);
                i += 1;
            }
            lat
        }
    };
    let started = Instant::now();
    let timer = {
        let stop = stop.clone();
        let secs = a.secs;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            stop.store(true, Ordering::Relaxed);
        })
    };
    let mut all: Vec<u32> = if a.local {
        let ex = smol::LocalExecutor::new();
        let tasks: Vec<_> = (0..a.tasks).map(|t| ex.spawn(run(t))).collect();
        smol::block_on(ex.run(async {
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await);
            }
            all
        }))
    } else {
        let tasks: Vec<_> = (0..a.tasks).map(|t| smol::spawn(run(t))).collect();
        // Waits without driving the reactor (`smol::block_on` would take it from the
        // executor thread and bounce every readiness event through this one).
        smol::future::block_on(async {
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await);
            }
            all
        })
    };
    let elapsed = started.elapsed();
    timer.join().unwrap();
    all.sort_unstable();
    let ops = all.len() as f64 / elapsed.as_secs_f64();
    let cpu_per_op = (cpu_time() - cpu0) / all.len().max(1) as u32;
    (
        ops,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        cpu_per_op,
    )
}

fn pipelined(ring: &Ring, a: &Args) -> f64 {
    let ring = ring.clone();
    let (secs, batch, keys) = (a.secs, a.batch, a.keys);
    let work = async move {
        let mut rng = Rng(7);
        let mut p = ring.pipeline();
        let started = Instant::now();
        let mut ops = 0u64;
        while started.elapsed() < Duration::from_secs(secs) {
            for _ in 0..batch {
                p.cmd(Cmd::new("SET").arg(&*key(&mut rng, keys)).arg("xxx"));
            }
            for r in p.run().await {
                r.expect("pipelined SET failed");
            }
            ops += batch as u64;
        }
        ops as f64 / started.elapsed().as_secs_f64()
    };
    if a.local {
        smol::block_on(work)
    } else {
        smol::future::block_on(smol::spawn(work))
    }
}

/// Runs redis-benchmark on cpu 1 and returns its CSV lines: (test, rps, p50 ms, p99 ms).
fn redis_benchmark(port: u16, args: &[&str]) -> Vec<(String, f64, f64, f64)> {
    let port = port.to_string();
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "1", "redis-benchmark", "-p", &port, "--csv"]);
    cmd.args(args);
    println!(
        "  $ taskset -c 1 redis-benchmark -p {port} --csv {}",
        args.join(" ")
    );
    let out = cmd.output().expect("run redis-benchmark");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').map(|s| s.trim_matches('"')).collect();
            Some((
                f.first()?.to_string(),
                f.get(1)?.parse().ok()?,
                f.get(4)?.parse().ok()?,
                f.get(6)?.parse().ok()?,
            ))
        })
        .collect()
}

fn main() {
    let a = args();
    // Pin ourselves before any thread exists, so every thread inherits cpu 1.
    pin(std::process::id(), 1);
    let shards = Shards::start(a.shards).expect("start the redis-servers");
    for s in shards.servers() {
        pin(s.pid().expect("running"), 0);
    }
    let ring = Ring::builder()
        .runtime(redis_ring_smol::Smol::new().driver_thread(a.driver_thread))
        .shards(shards.named())
        .build()
        .expect("build the ring");
    smol::block_on(async {
        for i in 0..10 {
            ring.set(format!("warm{i}"), 1).await.expect("warm up");
        }
    });
    let port = shards.servers()[0].port();
    let executor = if a.local { "local" } else { "global" };
    let executor = if a.driver_thread {
        format!("{executor}, driver on its own thread")
    } else {
        format!("{executor}, driver on the global executor")
    };
    println!(
        "redis-ring-smol bench: {} shards on cpu 0, client on cpu 1, {}s per run, executor {executor}",
        a.shards, a.secs
    );
    let want = |name: &str| a.only.as_deref().is_none_or(|o| o == name);
    if want("concurrent") {
        let io0 = ring.io_stats();
        let (ops, p50, p99, cpu) = concurrent(&ring, &a);
        let io = ring.io_stats();
        let cmds = (io.commands - io0.commands) as f64;
        println!(
            "  {:.1} commands per write, {:.1} per driver wake-up",
            cmds / (io.writes - io0.writes).max(1) as f64,
            cmds / (io.wakeups - io0.wakeups).max(1) as f64
        );
        println!(
            "concurrent: {} tasks SET/GET, {} keys, 3-byte values: {:.0} ops/s, p50 {:?}, p99 {:?}, client cpu {:?}/op",
            a.tasks, a.keys, ops, p50, p99, cpu
        );
        if a.redis_benchmark {
            let n = (100_000 * a.secs).to_string();
            let rb = redis_benchmark(
                port,
                &[
                    "-c", "50", "-t", "set,get", "-d", "3", "-r", "100000", "-n", &n,
                ],
            );
            let mut sum = 0.0;
            for (t, rps, p50, p99) in &rb {
                println!("  redis-benchmark -c 50 {t}: {rps:.0} rps, p50 {p50} ms, p99 {p99} ms");
                sum += rps;
            }
            if !rb.is_empty() {
                let mean = sum / rb.len() as f64;
                println!(
                    "  ratio ring / redis-benchmark(mean of SET, GET) = {:.2}",
                    ops / mean
                );
            }
        }
    }
    if want("pipeline") {
        let cpu0 = cpu_time();
        let started = Instant::now();
        let ops = pipelined(&ring, &a);
        let n = ops * started.elapsed().as_secs_f64();
        let cpu = (cpu_time() - cpu0).as_secs_f64() / n.max(1.0);
        println!(
            "pipeline: 1 task, batches of {} SETs: {:.0} ops/s, client cpu {:.2}µs/op",
            a.batch,
            ops,
            cpu * 1e6
        );
        if a.redis_benchmark {
            let n = (500_000 * a.secs).to_string();
            let p = a.batch.to_string();
            let rb = redis_benchmark(
                port,
                &[
                    "-c", "1", "-P", &p, "-t", "set", "-d", "3", "-r", "100000", "-n", &n,
                ],
            );
            for (t, rps, _, _) in &rb {
                println!("  redis-benchmark -c 1 -P {p} {t}: {rps:.0} rps");
                println!("  ratio ring / redis-benchmark = {:.2}", ops / rps);
            }
        }
    }
    smol::block_on(ring.close());
}
