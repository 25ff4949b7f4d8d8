//! Issue 17, item 11: a SIGSTOPped shard under a load of large writes. The bytes the core
//! queues for it stay under `Config::queue_limit` (plus one command), the rest waits in the
//! core (never copied a second time), and the other shards answer at once meanwhile.

use std::time::{Duration, Instant};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::resp::Value;
use redis_ring_tests::mini_driver::Mini;
use redis_ring_tests::Shards;

const VALUE: usize = 256 * 1024;
const LIMIT: usize = 1024 * 1024;

#[test]
fn a_stuck_shard_holds_at_most_its_queue_limit() {
    let mut shards = Shards::start(3).unwrap();
    let mut config = Config::default();
    config.command_timeout = Duration::from_secs(20); // wide: a loaded machine
    config.heartbeat_timeout = Duration::from_secs(30); // keep it up: test the queue
    config.queue_limit.max_bytes = LIMIT;
    let mut m = Mini::new(config, &shards.named());
    let owner = |m: &Mini, k: &str| m.ring.shard_for_key(k.as_bytes()).unwrap().0.to_string();
    let keys = |m: &Mini, shard: &str, n: usize| -> Vec<String> {
        (0..100_000)
            .map(|i| format!("q:{i}"))
            .filter(|k| owner(m, k) == shard)
            .take(n)
            .collect()
    };
    let stuck_keys = keys(&m, "shard1", 80);
    let other_keys = keys(&m, "shard2", 20);
    for k in [&stuck_keys[0], &other_keys[0]] {
        assert_eq!(m.run(Cmd::new("SET").arg(k).arg("warm")), Ok(Value::Okay));
    }
    shards.server(0).pause().unwrap();
    let value = vec![b'x'; VALUE];
    let mut ids = Vec::new();
    let mut max_queued = 0;
    let mut slowest = Duration::ZERO;
    for (i, k) in stuck_keys.iter().enumerate() {
        ids.push(m.submit(Cmd::new("SET").arg(k).arg(&value[..])));
        m.pump(Duration::from_millis(2));
        let s = m.ring.shards().find(|s| &*s.name == "shard1").unwrap();
        max_queued = max_queued.max(s.queued_bytes);
        if i % 4 == 0 {
            let t = Instant::now();
            let k = &other_keys[i / 4];
            assert_eq!(m.run(Cmd::new("SET").arg(k).arg("v")), Ok(Value::Okay));
            slowest = slowest.max(t.elapsed());
        }
    }
    let s = m.ring.shards().find(|s| &*s.name == "shard1").unwrap();
    assert!(
        max_queued <= LIMIT + VALUE + 1024,
        "{max_queued} bytes queued for the stuck shard (limit {LIMIT})"
    );
    assert!(s.parked > 0, "nothing waited: {s:?}");
    assert!(
        slowest < Duration::from_millis(500),
        "another shard took {slowest:?}"
    );
    shards.server(0).resume().unwrap();
    // Everything that waited goes through once the shard is back.
    for id in ids {
        assert_eq!(m.reply_of(id), Ok(Value::Okay));
    }
}
