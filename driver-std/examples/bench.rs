//! End-to-end benchmark of redis-ring-std against real shards, beside redis-benchmark in the
//! same run.
//!
//! Starts 3 redis-servers (the test harness) pinned to cpu 0; run the binary pinned to cpu 1
//! so that client and servers do not share a core:
//!
//! ```text
//! cargo build --release -p redis-ring-std --example bench
//! taskset -c 1 target/release/examples/bench            # BENCH_SECS=3 BENCH_ROUNDS=3
//! ```
//!
//! Three workloads, SET/GET half and half on random keys of a 100k keyspace, 3-byte values:
//! 1. sequential round trips from one thread, beside
//!    `taskset -c 1 redis-benchmark -c 1 -t set,get -d 3 -r 100000` (against one shard);
//! 2. 50 threads, beside `redis-benchmark -c 50`;
//! 3. one thread sending pipelines of 100 commands, beside `redis-benchmark -c 1 -P 100`.
//!
//! Each is run `BENCH_ROUNDS` times, alternating ring and redis-benchmark; the medians over
//! rounds of ops/s, p50 and p99 are printed (latency per call: per command, or per pipeline
//! of 100 for workload 3; redis-benchmark's own percentiles, averaged over SET and GET).
#![allow(missing_docs, clippy::print_stdout, clippy::cast_precision_loss)]

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis_ring_std::Ring;
use redis_ring_tests::Shards;

const KEYSPACE: u64 = 100_000;

/// One measurement: ops/s, p50, p99.
#[derive(Clone, Copy, Debug)]
struct Sample {
    ops: f64,
    p50: Duration,
    p99: Duration,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn summarize(samples: &[Sample]) -> Sample {
    let d = |f: fn(&Sample) -> Duration| {
        Duration::from_secs_f64(median(samples.iter().map(|s| f(s).as_secs_f64()).collect()))
    };
    Sample {
        ops: median(samples.iter().map(|s| s.ops).collect()),
        p50: d(|s| s.p50),
        p99: d(|s| s.p99),
    }
}

/// xorshift64*: keys without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn key(&mut self) -> String {
        format!("key:{:012}", self.next() % KEYSPACE)
    }
}

fn percentiles(mut lat: Vec<u32>, ops: u64, elapsed: Duration) -> Sample {
    lat.sort_unstable();
    let at =
        |q: usize| Duration::from_nanos(u64::from(lat[(lat.len() * q / 100).min(lat.len() - 1)]));
    Sample {
        ops: ops as f64 / elapsed.as_secs_f64(),
        p50: at(50),
        p99: at(99),
    }
}

/// `threads` threads doing SET/GET one at a time for `dur`.
fn ring_calls(ring: &Ring, threads: usize, dur: Duration) -> Sample {
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let lats: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (ring, stop) = (ring.clone(), &stop);
                s.spawn(move || {
                    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1));
                    let mut lat = Vec::with_capacity(1 << 16);
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let key = rng.key();
                        let t0 = Instant::now();
                        if i.is_multiple_of(2) {
                            ring.set(&*key, "xxx").expect("SET");
                        } else {
                            let _: Option<Vec<u8>> = ring.get(&*key).expect("GET");
                        }
                        lat.push(t0.elapsed().as_nanos() as u32);
                        i += 1;
                    }
                    lat
                })
            })
            .collect();
        std::thread::sleep(dur);
        stop.store(true, Ordering::Relaxed);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let all: Vec<u32> = lats.into_iter().flatten().collect();
    let n = all.len() as u64;
    percentiles(all, n, elapsed)
}

/// One thread sending pipelines of `batch` commands (alternately all SET, all GET).
fn ring_pipelined(ring: &Ring, batch: usize, dur: Duration) -> Sample {
    let mut rng = Rng(42);
    let mut lat = Vec::new();
    let mut ops = 0u64;
    let started = Instant::now();
    let mut round = 0u64;
    while started.elapsed() < dur {
        let mut p = ring.pipeline();
        for _ in 0..batch {
            let key = rng.key();
            if round.is_multiple_of(2) {
                p.set(key, "xxx");
            } else {
                p.get(key);
            }
        }
        let t0 = Instant::now();
        let results = p.run();
        lat.push(t0.elapsed().as_nanos() as u32);
        assert!(results.iter().all(Result::is_ok), "pipeline errors");
        ops += batch as u64;
        round += 1;
    }
    percentiles(lat, ops, started.elapsed())
}

/// redis-benchmark against `port`, pinned to cpu 1; SET and GET averaged.
fn redis_benchmark(port: u16, clients: usize, pipeline: usize, requests: u64) -> Sample {
    let out = Command::new("taskset")
        .args(["-c", "1", "redis-benchmark", "-p", &port.to_string()])
        .args(["-c", &clients.to_string(), "-P", &pipeline.to_string()])
        .args([
            "-n",
            &requests.to_string(),
            "-t",
            "set,get",
            "-d",
            "3",
            "-r",
            "100000",
        ])
        .arg("--csv")
        .output()
        .expect("run redis-benchmark");
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .skip(1)
                .map(|f| f.trim_matches('"').parse::<f64>().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 2, "redis-benchmark output: {text}");
    let mean = |i: usize| (rows[0][i] + rows[1][i]) / 2.0;
    Sample {
        ops: mean(0),
        p50: Duration::from_secs_f64(mean(3) / 1000.0),
        p99: Duration::from_secs_f64(mean(5) / 1000.0),
    }
}

fn show(name: &str, s: Sample) {
    println!(
        "{name:<46} {:>10.0} ops/s   p50 {:>9.1?}   p99 {:>9.1?}",
        s.ops, s.p50, s.p99
    );
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dur = Duration::from_secs_f64(secs);

    let shards = Shards::start(3).expect("start redis-servers");
    for s in shards.servers() {
        let pid = s.pid().expect("server pid").to_string();
        let ok = Command::new("taskset").args(["-pc", "0", &pid]).output();
        assert!(
            ok.is_ok_and(|o| o.status.success()),
            "cannot pin redis-server to cpu 0"
        );
    }
    let port = shards.servers()[0].port();
    let ring = Ring::builder()
        .shards(shards.named())
        .build()
        .expect("build");
    // Warm up: connections open, keyspace filled a little.
    ring_calls(&ring, 4, Duration::from_millis(300));
    ring_pipelined(&ring, 100, Duration::from_millis(300));

    let workloads: [(&str, usize, usize, u64); 3] = [
        ("sequential, 1 thread", 1, 1, 30_000),
        ("50 threads", 50, 1, 200_000),
        ("pipelines of 100, 1 thread", 1, 100, 2_000_000),
    ];
    println!("3 shards on cpu 0, client on cpu 1, {rounds} rounds of {secs} s, medians");
    for (name, clients, pipeline, requests) in workloads {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let io0 = ring.io_stats();
        for _ in 0..rounds {
            ours.push(if pipeline > 1 {
                ring_pipelined(&ring, pipeline, dur)
            } else {
                ring_calls(&ring, clients, dur)
            });
            theirs.push(redis_benchmark(port, clients, pipeline, requests));
        }
        let io1 = ring.io_stats();
        let (ours, theirs) = (summarize(&ours), summarize(&theirs));
        println!("-- {name}");
        show("redis-ring-std (3 shards)", ours);
        show(
            &format!("redis-benchmark -c {clients} -P {pipeline} (1 shard)"),
            theirs,
        );
        println!(
            "   ratio {:.2}x; {:.1} commands per write, {:.1} per wake-up of the I/O thread",
            ours.ops / theirs.ops,
            (io1.commands - io0.commands) as f64 / (io1.writes - io0.writes).max(1) as f64,
            (io1.commands - io0.commands) as f64 / (io1.wakeups - io0.wakeups).max(1) as f64,
        );
    }
    ring.close();
}
