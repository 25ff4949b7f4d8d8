//! `redis-ring demo --sentinel`: Sentinel-managed shards failing over under load.
//!
//! Starts, with the project's harness, 2 shards (each a primary and a replica) and 3
//! Sentinels on loopback, builds a ring over `redis-sentinel://` URLs with replica reads
//! preferred, and runs writers (and readers) on both shards. Midway it kills the first
//! shard's primary (SIGKILL), and shows: when the Sentinels promote the replica, when the
//! ring writes to the new primary, how long that shard's commands waited (they wait, they
//! are not remapped), that the other shard never noticed, and a read-back of every key
//! acknowledged before the kill (replicated, `WAIT 1 0`).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use redis_ring_core::config::ReadFrom;
use redis_ring_core::error::Error;
use redis_ring_tests::harness::Reply;
use redis_ring_tests::SentinelShards;

use crate::args::{DemoArgs, Global};
use crate::connect::{GlobalConn, RingSettings};
use crate::view::thousands;

/// Callers per shard.
const CALLERS: usize = 8;
/// Give up waiting for the Sentinels after this long.
const PATIENCE: Duration = Duration::from_secs(30);

/// What one shard's callers saw.
#[derive(Default)]
struct Seen {
    ok: AtomicU64,
    may_have_run: AtomicU64,
    errors: AtomicU64,
    worst_us: AtomicU64,
}

/// Runs the demo.
pub(crate) fn run(global: &Global, args: &DemoArgs) -> Result<ExitCode, String> {
    if global.shards.is_some() {
        return Err("demo --sentinel starts its own Sentinels: drop --shards".into());
    }
    let say = |line: &str| println!("{line}");
    say("Starting 2 shards (a primary and a replica each) and 3 Sentinels...");
    let mut sh = SentinelShards::start(2).map_err(|e| {
        format!(
            "cannot start redis-server / Sentinels: {e}\n(the demo needs redis-server 6.2+ on \
             PATH, or REDIS_SERVER=/path/to/redis-server; `cargo xtask demo` installs it)"
        )
    })?;
    for (i, [p, r]) in sh.data.iter().enumerate() {
        say(&format!(
            "  shard{}: primary {} (pid {}), replica {} (pid {})",
            i + 1,
            p.addr(),
            p.pid().unwrap_or(0),
            r.addr(),
            r.pid().unwrap_or(0)
        ));
    }
    for s in &sh.sentinels {
        say(&format!(
            "  Sentinel {} (pid {})",
            s.addr(),
            s.pid().unwrap_or(0)
        ));
    }
    let settings = RingSettings {
        shards: sh.named(),
        global: GlobalConn::of(global)?,
    };
    for (name, url) in &settings.shards {
        say(&format!("  {name}={url}"));
    }
    let ring = settings.build(|b| {
        b.read_from(ReadFrom::PreferReplica)
            .command_timeout(Duration::from_secs(10))
    })?;
    crate::bench::wait_until_up(&ring, Duration::from_secs(5))?;
    let keys_of = |shard: &str| -> Vec<String> {
        (0..)
            .map(|i| format!("redis-ring-demo:{i}"))
            .filter(|k| ring.shard_for_key(k).as_deref() == Some(shard))
            .take((args.keys / 2).max(1) as usize)
            .collect()
    };
    let (victim, other) = (keys_of("shard1"), keys_of("shard2"));
    for k in victim.iter().chain(&other) {
        ring.set(k.as_str(), "before").map_err(|e| e.to_string())?;
    }
    // Acknowledged by the replica (as `WAIT 1 0` would, for the ring's own connections).
    wait_replicated(&sh)?;
    let probe_key = (0..)
        .map(|i| format!("redis-ring-demo:probe:{i}"))
        .find(|k| ring.shard_for_key(k).as_deref() == Some("shard1"))
        .unwrap_or_default();
    say(&format!(
        "Wrote {} keys (half on each shard), replicated; now {CALLERS} writers and {CALLERS} \
         readers per shard.",
        thousands(victim.len() as u64 + other.len() as u64)
    ));

    let stop = Arc::new(AtomicBool::new(false));
    let rate = args.rate;
    let seen = [Arc::new(Seen::default()), Arc::new(Seen::default())];
    let mut callers = Vec::new();
    for (shard, keys) in [&victim, &other].into_iter().enumerate() {
        // Writers use their own keys (the read-back keys keep their value).
        let scratch: Vec<String> = keys.iter().map(|k| format!("{k}:scratch")).collect();
        let scratch: Vec<String> = scratch
            .into_iter()
            .filter(|k| ring.shard_for_key(k).as_deref() == Some(["shard1", "shard2"][shard]))
            .collect();
        for t in 0..CALLERS * 2 {
            let (ring, stop, seen) = (ring.clone(), stop.clone(), seen[shard].clone());
            let (keys, scratch) = (keys.clone(), scratch.clone());
            callers.push(thread::spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    let r = if t % 2 == 0 && !scratch.is_empty() {
                        ring.set(scratch[i % scratch.len()].as_str(), i)
                    } else {
                        ring.get::<Option<String>>(keys[i % keys.len()].as_str())
                            .map(|_| ())
                    };
                    let took = start.elapsed().as_micros() as u64;
                    seen.worst_us.fetch_max(took, Ordering::Relaxed);
                    match r {
                        Ok(()) => seen.ok.fetch_add(1, Ordering::Relaxed),
                        Err(Error::MayHaveRun { .. }) => {
                            seen.may_have_run.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(_) => seen.errors.fetch_add(1, Ordering::Relaxed),
                    };
                    i += CALLERS * 2;
                    if rate > 0 {
                        thread::sleep(Duration::from_secs_f64((CALLERS * 4) as f64 / rate as f64));
                    }
                }
            }));
        }
    }
    thread::sleep(Duration::from_millis(500));
    let old = sh.data[0][0].port();
    let started = Instant::now();
    sh.data[0][0].kill();
    say(&format!("{:6.2}s  killed shard1's primary (SIGKILL)", 0.0));
    let promoted = loop {
        if sh.primary_port(0).is_ok_and(|p| p != old) {
            break started.elapsed();
        }
        if started.elapsed() > PATIENCE {
            stop.store(true, Ordering::Relaxed);
            return Err("the Sentinels did not promote shard1's replica in time".into());
        }
        thread::sleep(Duration::from_millis(10));
    };
    say(&format!(
        "{:6.2}s  the Sentinels promoted the replica ({})",
        promoted.as_secs_f64(),
        sh.data[0][1].addr()
    ));
    let served = loop {
        let v = format!("{}", started.elapsed().as_nanos());
        if ring.set(probe_key.as_str(), v.as_str()).is_ok()
            && sh.data[0][1].command(&["GET", &probe_key]).ok()
                == Some(Reply::Bulk(Some(v.clone().into_bytes())))
        {
            break started.elapsed();
        }
        if started.elapsed() > PATIENCE {
            stop.store(true, Ordering::Relaxed);
            return Err("the ring did not reach the new primary in time".into());
        }
        thread::sleep(Duration::from_millis(5));
    };
    say(&format!(
        "{:6.2}s  the ring writes to the new primary ({} ms after the promotion)",
        served.as_secs_f64(),
        (served.saturating_sub(promoted)).as_millis()
    ));
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for c in callers {
        let _ = c.join();
    }
    for (i, s) in seen.iter().enumerate() {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        say(&format!(
            "  shard{}: {} calls ok, {} MayHaveRun, {} other errors, slowest call {} ms{}",
            i + 1,
            thousands(n(&s.ok)),
            n(&s.may_have_run),
            n(&s.errors),
            n(&s.worst_us) / 1000,
            if i == 0 {
                " (MayHaveRun: a write in flight when its primary died; the others waited \
                 for the new primary, no key moved)"
            } else {
                " (the other shard never noticed)"
            }
        ));
    }
    let lost = victim
        .iter()
        .filter(|k| {
            ring.get::<Option<String>>(k.as_str())
                .ok()
                .flatten()
                .as_deref()
                != Some("before")
        })
        .count();
    say(&format!(
        "Read back {} keys of shard1 written before the kill: {} lost.",
        thousands(victim.len() as u64),
        lost
    ));
    ring.close();
    drop(sh);
    say("Stopped the servers and Sentinels and removed their directories.");
    Ok(if lost == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Waits until shard1's replica has every write its primary took (replication offsets).
fn wait_replicated(sh: &SentinelShards) -> Result<(), String> {
    let offset = |i: usize, field: &str| -> Option<u64> {
        match sh.data[0][i].command(&["INFO", "replication"]) {
            Ok(Reply::Bulk(Some(t))) => String::from_utf8_lossy(&t)
                .lines()
                .find_map(|l| l.strip_prefix(field)?.trim().parse().ok()),
            _ => None,
        }
    };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let primary = offset(0, "master_repl_offset:");
        let replica = offset(1, "slave_repl_offset:");
        if primary.is_some() && replica >= primary {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("shard1's replica did not catch up".into());
        }
        thread::sleep(Duration::from_millis(10));
    }
}
