//! Per-shard counters (`Ring::stats`) against known traffic on real servers: commands and
//! latencies per shard, server-error replies, a timeout, retries after `BUSY`, bytes,
//! connects, time in state. The counting is the core's, identical under every driver.

use std::collections::HashMap;
use std::thread;
use std::time::Duration;

use redis_ring_std::{Cmd, Error, Ring, ShardCounters};
use redis_ring_tests::harness::ServerOptions;
use redis_ring_tests::scenarios::fast_config;
use redis_ring_tests::Shards;

fn total(ring: &Ring) -> ShardCounters {
    let mut t = ShardCounters::default();
    for s in ring.stats() {
        t.merge(&s.counters);
    }
    t
}

fn by_name(ring: &Ring) -> HashMap<String, ShardCounters> {
    ring.stats()
        .into_iter()
        .map(|s| (s.name, s.counters))
        .collect()
}

#[test]
fn counters_match_known_traffic() {
    let shards = Shards::start_with(3, &ServerOptions::new().enable_debug()).unwrap();
    let mut config = fast_config();
    // Heartbeats that tolerate the deliberate 300 ms DEBUG SLEEP below.
    config.heartbeat_timeout = Duration::from_secs(2);
    config.fail_threshold = 100;
    let ring = Ring::builder()
        .config(config)
        .shards(shards.named())
        .build()
        .unwrap();
    let before = by_name(&ring);

    // 300 SETs, and the shard each went to.
    let mut expected: HashMap<String, u64> = HashMap::new();
    for i in 0..300 {
        let key = format!("obs:{i}");
        ring.set(&key, i).unwrap();
        *expected
            .entry(ring.shard_for_key(&key).unwrap())
            .or_default() += 1;
    }
    // 20 WRONGTYPE replies (LPUSH on strings), on the keys' shards.
    for i in 0..20 {
        let key = format!("obs:{i}");
        let e = ring.cmd(Cmd::new("LPUSH").arg(&key).arg("x")).unwrap_err();
        assert!(matches!(&e, Error::Server { message, .. } if message.starts_with("WRONGTYPE")));
        *expected
            .entry(ring.shard_for_key(&key).unwrap())
            .or_default() += 1;
    }
    let after = by_name(&ring);
    let mut server_errors = 0;
    for (name, want) in &expected {
        let (a, b) = (&after[name], &before[name]);
        assert_eq!(a.commands - b.commands, *want, "{name}");
        assert_eq!(a.latency.count() - b.latency.count(), *want, "{name}");
        assert!(
            a.bytes_out > b.bytes_out && a.bytes_in > b.bytes_in,
            "{name}"
        );
        assert!(a.connects >= 1, "{name}");
        server_errors += a.errors.server;
    }
    assert_eq!(server_errors, 20);
    let t = total(&ring);
    assert_eq!(t.commands, 320);
    assert_eq!(t.errors.total(), 20);
    assert!(t.latency.percentile(50.0) <= t.latency.percentile(99.0));
    assert!(t.latency.percentile(99.0) <= t.latency.max());
    assert!(t.latency.max() > Duration::ZERO);
    let with_error = ring
        .stats()
        .into_iter()
        .find_map(|s| s.last_command_error)
        .expect("a last command error");
    assert!(with_error.to_string().contains("LPUSH"), "{with_error}");
    for s in ring.stats() {
        assert!(s.up && s.in_flight == 0 && s.queued == 0, "{s:?}");
        assert!(s.since_transition > Duration::ZERO);
    }

    // A timeout on shard1: a 300 ms DEBUG SLEEP under a 50 ms deadline.
    let e = ring
        .shard("shard1")
        .cmd_timeout(
            Cmd::new("DEBUG").arg("SLEEP").arg("0.3"),
            Duration::from_millis(50),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    let c = &by_name(&ring)["shard1"];
    assert_eq!(c.errors.timeout, 1);
    assert_eq!(c.commands, after["shard1"].commands + 1);
    assert!(c.latency.max() >= Duration::from_millis(50));
    thread::sleep(Duration::from_millis(400));
}

#[test]
fn busy_replies_are_retried_and_counted() {
    let shards =
        Shards::start_with(1, &ServerOptions::new().config("lua-time-limit", "20")).unwrap();
    let mut config = fast_config();
    config.max_retries = 100;
    config.min_retry_backoff = Duration::from_millis(5);
    config.max_retry_backoff = Duration::from_millis(20);
    config.command_timeout = Duration::from_secs(5);
    config.fail_threshold = 1000;
    config.heartbeat_timeout = Duration::from_secs(2);
    let ring = Ring::builder()
        .config(config)
        .shards(shards.named())
        .build()
        .unwrap();
    ring.set("busy", 1).unwrap();
    // A script spinning for 500 ms: other clients get `BUSY` after 20 ms.
    let server = &shards.servers()[0];
    let script = "local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] \
                  while true do local n = redis.call('TIME') \
                  if n[1] * 1000000 + n[2] - s > 500000 then break end end return 1";
    thread::scope(|s| {
        let spin = s.spawn(|| server.command(&["EVAL", script, "0"]).unwrap());
        thread::sleep(Duration::from_millis(150));
        let v: i64 = ring.get("busy").unwrap();
        assert_eq!(v, 1);
        spin.join().unwrap();
    });
    let c = &by_name(&ring)["shard1"];
    assert!(c.retries >= 1, "{c:?}");
    assert_eq!(c.commands, 2, "one SET, one GET (its retries count apart)");
    assert_eq!(c.errors.total(), 0);
    assert!(c.latency.max() >= Duration::from_millis(100), "{c:?}");
}
