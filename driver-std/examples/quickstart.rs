//! redis-ring-std in one page: a ring over three shards, typed helpers, any command, a
//! pipeline, multi-key calls, a transaction, pub/sub, per-shard commands, threads sharing the
//! ring, events and stats.
//!
//! ```text
//! cargo run -p redis-ring-std --example quickstart -- 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002
//! cargo run -p redis-ring-std --example quickstart      # starts three throwaway redis-servers
//! ```
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::time::Duration;

use redis_ring_std::{cmds, Cmd, Ring, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Without addresses, start local servers (they stop when `_servers` is dropped).
    let (addrs, _servers) = if args.is_empty() {
        let shards = redis_ring_tests::Shards::start(3)?;
        let addrs = shards.servers().iter().map(|s| s.addr()).collect();
        (addrs, Some(shards))
    } else {
        (args, None)
    };

    // 1. Build: name each shard (names are what placement hashes, as in go-redis).
    let ring = Ring::builder()
        .shards(
            addrs
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("shard{}", i + 1), a.clone())),
        )
        .heartbeat_interval(Duration::from_millis(500))
        .command_timeout(Duration::from_secs(1))
        .client_name("quickstart")
        .build()?;
    let events = ring.events();

    // 2. Typed helpers, generated from the one command table in redis-ring-core.
    ring.set("greeting", "hello")?;
    let greeting: Option<String> = ring.get("greeting")?;
    println!(
        "greeting = {greeting:?} (on {:?})",
        ring.shard_for_key("greeting")
    );
    println!("visits = {}", ring.incr("visits")?);
    ring.hset("user:1", "name", "ada")?;
    let user: HashMap<String, String> = ring.hgetall("user:1")?;
    println!("user:1 = {user:?}");

    // 3. Any command: `cmd` returns a Value, `query` converts it.
    let encoding: Value = ring.cmd(Cmd::new("OBJECT").arg("ENCODING").arg("visits"))?;
    let ttl: i64 = ring.query(Cmd::new("TTL").arg("greeting"))?;
    println!("OBJECT ENCODING visits = {encoding:?}, TTL greeting = {ttl}");

    // 4. A pipeline: split per shard, sent at once, results in order.
    let mut p = ring.pipeline();
    for i in 0..5 {
        p.set(format!("item:{i}"), i * 10);
    }
    p.get("item:3");
    let results = p.run();
    println!(
        "pipeline: {} results, last = {:?}",
        results.len(),
        results.last()
    );

    // 5. Multi-key calls are split per shard and merged in key order.
    ring.mset(&[("a", "1"), ("b", "2"), ("c", "3")])?;
    let values: Vec<Option<String>> = ring.mget(&["a", "b", "c", "nope"])?;
    println!("mget = {values:?}, del = {}", ring.del(&["a", "b"])?);

    // 6. A transaction: keys under one hash tag live on one shard; retried if they change.
    ring.set("{acct1}:a", 100)?;
    let replies = ring.transaction(&["{acct1}:a", "{acct1}:b"], |tx| {
        let a: i64 = tx.get::<Option<i64>>("{acct1}:a")?.unwrap_or(0);
        tx.queue(cmds::set("{acct1}:a", a - 10))
            .queue(cmds::incr_by("{acct1}:b", 10));
        Ok::<(), redis_ring_std::Error>(())
    })?;
    println!("transaction: {replies:?}");

    // 7. Pub/sub: each channel on the shard PUBLISH routes it to.
    let mut sub = ring.subscribe(&["news"])?;
    ring.publish("news", "hello subscribers")?;
    if let Some(m) = sub.next_timeout(Duration::from_secs(1)) {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        println!("message on {}: {}", text(&m.channel), text(&m.payload));
    }

    // 8. Per-shard (fan-out) commands.
    for (shard, size) in ring.for_each_shard(|s| s.query::<i64>(Cmd::new("DBSIZE"))) {
        println!("  {shard}: {size:?} keys");
    }

    // 9. Many threads share the ring (and each shard's connection).
    std::thread::scope(|s| {
        for t in 0..8 {
            let ring = ring.clone();
            s.spawn(move || {
                for i in 0..100 {
                    ring.set(format!("thread:{t}:{i}"), i).expect("SET");
                }
            });
        }
    });
    let io = ring.io_stats();
    println!(
        "{} commands so far in {} writes ({:.1} per write)",
        io.commands,
        io.writes,
        io.commands as f64 / io.writes.max(1) as f64
    );

    // 10. Health: live shards, per-shard state, events.
    println!("live shards: {}", ring.len());
    for s in ring.stats() {
        println!(
            "  {} {} up={} in_flight={}",
            s.name, s.addr, s.up, s.in_flight
        );
    }
    while let Some(event) = events.try_recv() {
        println!("event: {event:?}");
    }

    ring.close();
    Ok(())
}
