//! Quickstart: a ring over local shards, on tokio.
//!
//! ```text
//! # three local servers, then:
//! cargo run -p redis-ring-tokio --example tokio-quickstart -- 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002
//! ```
//!
//! Shards are named `shard1`, `shard2`, ... in the order given (an argument `name=addr`
//! names it explicitly; `redis://user:pass@host:port/db` addresses work too). Without
//! arguments it uses 127.0.0.1:7000, :7001 and :7002.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::time::Duration;

use redis_ring_tokio::{cmds, Cmd, Ring};

fn shards() -> Vec<(String, String)> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = if args.is_empty() {
        vec![
            "127.0.0.1:7000".into(),
            "127.0.0.1:7001".into(),
            "127.0.0.1:7002".into(),
        ]
    } else {
        args
    };
    args.iter()
        .enumerate()
        .map(|(i, a)| match a.split_once('=') {
            Some((name, addr)) => (name.to_string(), addr.to_string()),
            None => (format!("shard{}", i + 1), a.clone()),
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Build the ring: shards plus any option (go-redis defaults otherwise). Its driver
    //    task runs on this runtime.
    let ring = Ring::builder()
        .shards(shards())
        .client_name("quickstart")
        .command_timeout(Duration::from_secs(1))
        .build()?;
    let events = ring.events();

    // 2. Typed helpers for the common commands (defined once in the core).
    ring.set("greeting", "hello").await?;
    let greeting: Option<String> = ring.get("greeting").await?;
    println!(
        "greeting = {greeting:?} (on {:?})",
        ring.shard_for_key("greeting")
    );
    // From spawned tasks too: every future is `Send`, a clone of the ring is cheap.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let ring = ring.clone();
            tokio::spawn(async move { ring.incr("visits").await })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let visits: i64 = ring.get("visits").await?;
    println!("visits = {visits}");
    ring.hset("user:{42}", "name", "Ada").await?;
    ring.hset("user:{42}", "lang", "Rust").await?;
    let user: HashMap<String, String> = ring.hgetall("user:{42}").await?;
    println!("user:{{42}} = {user:?}");

    // 3. Any command, typed or not.
    let len: i64 = ring.query(Cmd::new("STRLEN").arg("greeting")).await?;
    println!("STRLEN greeting = {len}");

    // 4. A pipeline: every command on its own shard, results in order.
    let mut p = ring.pipeline();
    for i in 0..6 {
        p.set(format!("item:{i}"), i);
    }
    p.get("item:3");
    let results = p.run().await;
    println!(
        "pipeline: {} results, last = {:?}",
        results.len(),
        results.last()
    );

    // 5. A transaction on one shard (hash tag), retried if a watched key changes.
    let replies = ring
        .transaction(&["{acct}:a", "{acct}:b"], async |tx| {
            let a: i64 = tx.get::<Option<i64>>("{acct}:a").await?.unwrap_or(100);
            tx.queue(cmds::set("{acct}:a", a - 10))
                .queue(cmds::incr_by("{acct}:b", 10));
            Ok::<(), redis_ring_tokio::Error>(())
        })
        .await?;
    println!("transaction: {} replies", replies.len());

    // 6. Pub/sub: each channel on the shard PUBLISH routes it to.
    let mut sub = ring.subscribe(&["news"]).await?;
    ring.publish("news", "hello subscribers").await?;
    if let Some(msg) = sub.next_message().await {
        println!("message on news: {}", String::from_utf8_lossy(&msg.payload));
    }
    drop(sub);

    // 7. Per-shard commands, on every live shard.
    for (shard, size) in ring
        .for_each_shard(async |s| s.query::<i64>(Cmd::new("DBSIZE")).await)
        .await
    {
        println!("  {shard}: {size:?} keys");
    }

    // 8. Where keys live, and the shards' health.
    for i in 0..6 {
        let key = format!("item:{i}");
        println!(
            "  {key} -> {}",
            ring.shard_for_key(&key).unwrap_or_default()
        );
    }
    for s in ring.stats() {
        println!(
            "  {} ({}) up={} in_flight={}",
            s.name, s.addr, s.up, s.in_flight
        );
    }
    println!("live shards: {}", ring.len());

    // 9. Membership changes at run time (go-redis SetAddrs), seen as events.
    let all = shards();
    ring.set_shards(all[..all.len() - 1].iter().cloned())?;
    println!("live shards after set_shards: {}", ring.len());
    ring.close().await;
    while let Some(event) = events.recv().await {
        println!("event: {event:?}");
    }
    Ok(())
}
