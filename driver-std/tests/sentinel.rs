//! Sentinel-managed shards against real processes: 2 shards, each a primary and a replica, 3
//! Sentinels (`redis-server --sentinel`), all on loopback. One shard fails over (asked, or
//! its primary killed) while callers load both: the failed-over shard's keys are served by
//! the new primary soon after the Sentinels promote it, the other shard's callers do not
//! notice, and no write acknowledged with the replica in sync is lost.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use redis_ring_std::{Cmd, Ring, Value};
use redis_ring_tests::harness::{RawConn, Reply};
use redis_ring_tests::scenarios::fast_config;
use redis_ring_tests::SentinelShards;

/// Keys owned by `shard`, `n` of them.
fn keys_of(ring: &Ring, shard: &str, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("sentinel:{i}"))
        .filter(|k| ring.shard_for_key(k).as_deref() == Some(shard))
        .take(n)
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum How {
    /// `SENTINEL FAILOVER`: a coordinated switch.
    Asked,
    /// `kill -9` of the primary: the Sentinels notice (down-after 1 s), then promote.
    Killed,
}

fn failover_under_load(how: How) {
    let mut sh = SentinelShards::start(2).expect("start primaries, replicas and Sentinels");
    let ring = Ring::builder()
        .config(fast_config())
        .shards(sh.named())
        .build()
        .expect("build");
    let moving = keys_of(&ring, "shard1", 50);
    let steady = keys_of(&ring, "shard2", 50);
    for k in moving.iter().chain(&steady) {
        ring.set(k.as_str(), "before").unwrap();
    }
    let old_port = sh.primary_port(0).unwrap();
    assert_eq!(
        old_port,
        sh.data[0][0].port(),
        "shard1 starts on its primary"
    );
    // Every write above acknowledged by the replica: a write and `WAIT 1 0` on one connection
    // (replication is ordered, so the ring's earlier writes are in too).
    let mut c = RawConn::connect(sh.data[0][0].socket_addr(), Duration::from_secs(5)).unwrap();
    c.command(&["SET", "sentinel:fence", "1"]).unwrap();
    assert_eq!(c.command(&["WAIT", "1", "0"]).unwrap(), Reply::Int(1));
    drop(c);

    // Callers on the other shard: none may stall.
    let stop = Arc::new(AtomicBool::new(false));
    let worst_us = Arc::new(AtomicU64::new(0));
    let steady_callers: Vec<_> = (0..4)
        .map(|t| {
            let (ring, stop, worst) = (ring.clone(), stop.clone(), worst_us.clone());
            let keys = steady.clone();
            thread::spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let k = &keys[i % keys.len()];
                    let start = Instant::now();
                    if let Err(e) = ring.set(k.as_str(), i) {
                        panic!("the other shard keeps serving: {e}");
                    }
                    worst.fetch_max(start.elapsed().as_micros() as u64, Ordering::Relaxed);
                    i += 4;
                }
            })
        })
        .collect();

    let steady_port = sh.primary_port(1).unwrap();
    let started = Instant::now();
    match how {
        How::Asked => assert_eq!(sh.failover(0).unwrap(), Reply::Status("OK".into())),
        How::Killed => sh.data[0][0].kill(),
    }
    // The Sentinels' own view: when they have promoted the replica.
    let promoted = loop {
        if let Ok(p) = sh.primary_port(0) {
            if p != old_port {
                break Instant::now();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the Sentinels did not fail shard1 over"
        );
        thread::sleep(Duration::from_millis(20));
    };
    let new_port = sh.primary_port(0).unwrap();
    assert_eq!(new_port, sh.data[0][1].port(), "the replica was promoted");
    // The ring: a write to shard1 lands on the new primary soon after the promotion (the
    // promotion as observed by polling, plus a wide margin for a loaded machine). A write
    // may still reach the old primary until the Sentinels demote it and close its clients:
    // Redis loses those (asynchronous replication), so each attempt writes a new value.
    let mut attempt = 0u32;
    let served = loop {
        attempt += 1;
        let value = format!("after-{attempt}");
        if ring.set(moving[0].as_str(), value.as_str()).is_ok()
            && sh.data[0][1].command(&["GET", &moving[0]]).unwrap()
                == Reply::Bulk(Some(value.into_bytes()))
        {
            break Instant::now();
        }
        assert!(
            promoted.elapsed() < Duration::from_secs(10),
            "shard1 not served by its new primary 10 s after the promotion"
        );
        thread::sleep(Duration::from_millis(10));
    };
    let lag = served.saturating_duration_since(promoted);
    stop.store(true, Ordering::Relaxed);
    for c in steady_callers {
        let joined = c.join();
        assert!(
            joined.is_ok(),
            "shard2 primary {steady_port} -> {:?}",
            sh.primary_port(1)
        );
    }
    let worst = Duration::from_micros(worst_us.load(Ordering::Relaxed));
    eprintln!(
        "{how:?}: promoted after {:?}, served {lag:?} later; worst other-shard call {worst:?}",
        promoted - started
    );
    assert!(
        lag < Duration::from_secs(5),
        "{how:?}: served {lag:?} after the promotion"
    );
    assert!(
        worst < Duration::from_secs(1),
        "{how:?}: a call on the unaffected shard took {worst:?}"
    );
    // No acknowledged write lost.
    for k in &moving[1..] {
        assert_eq!(
            ring.cmd(Cmd::new("GET").arg(k.as_str())).unwrap(),
            Value::Bulk(b"before".to_vec()),
            "{k}"
        );
    }
    ring.close();
}

#[test]
fn sentinel_failover_is_followed() {
    failover_under_load(How::Asked);
}

#[test]
fn killed_primary_is_replaced() {
    failover_under_load(How::Killed);
}
