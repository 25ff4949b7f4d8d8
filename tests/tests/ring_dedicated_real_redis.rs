//! `RingCore`'s dedicated connections against real `redis-server` processes (blocking
//! commands, transactions, subscriptions), through the minimal blocking driver loop
//! shared with `ring_real_redis.rs` ([`redis_ring_tests::mini_driver::Mini`]).
use std::time::{Duration, Instant as StdInstant};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::{Config, Protocol};
use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{RequestId, SubKind};
use redis_ring_tests::harness::{RawConn, Reply};
use redis_ring_tests::mini_driver::Mini;
#[allow(unused_imports)]
use redis_ring_tests::{RedisServer, ServerOptions, Shards};

fn fast() -> Config {
    let mut c = Config::default();
    c.command_timeout = Duration::from_millis(200);
    c.heartbeat_interval = Duration::from_millis(50);
    c.probe_interval = Duration::from_millis(20);
    c
}

#[test]
fn a_blocking_command_waits_on_its_own_connection_beyond_the_command_timeout() {
    let shards = Shards::start(1).unwrap();
    let mut m = Mini::new(fast(), &shards.named());
    // Block time 0.5 s > command timeout 0.2 s: the deadline is block time + timeout.
    let t0 = StdInstant::now();
    let empty = m.submit(Cmd::new("BLPOP").arg("nothing").arg("0.5"));
    let waiting = m.submit(Cmd::new("BLPOP").arg("q").arg(0));
    // The shared connection is not stalled behind them.
    assert_eq!(
        m.run(Cmd::new("SET").arg("k").arg("v")).unwrap(),
        Value::Okay
    );
    // ... answered while the 0.5 s BLPOP still waits (an ordering, not a race with the clock).
    assert!(
        !m.replies.contains_key(&empty),
        "the SET waited for the BLPOP"
    );
    assert_eq!(m.reply_of(empty).unwrap(), Value::Nil);
    assert!(t0.elapsed() >= Duration::from_millis(450));
    assert!(!m.replies.contains_key(&waiting));
    assert_eq!(
        m.run(Cmd::new("RPUSH").arg("q").arg("x")).unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        m.reply_of(waiting).unwrap(),
        Value::Array(vec![Value::Bulk(b"q".to_vec()), Value::Bulk(b"x".to_vec())])
    );
    // Idle blocking connections are reused, not reopened.
    let connects = m.ring.stats().connects;
    for _ in 0..3 {
        let id = m.submit(Cmd::new("BRPOP").arg("q").arg("0.01"));
        assert_eq!(m.reply_of(id).unwrap(), Value::Nil);
    }
    assert_eq!(m.ring.stats().connects, connects);
    // Cancelling a blocked command closes its connection (the server would keep it blocked).
    let id = m.submit(Cmd::new("BLPOP").arg("q").arg(0));
    m.pump(Duration::from_millis(20));
    assert!(m.ring.cancel(id));
    m.drain();
    let mut c =
        RawConn::connect(shards.servers()[0].socket_addr(), Duration::from_secs(1)).unwrap();
    m.wait(Duration::from_secs(1), "blocked client closed", |_| true);
    std::thread::sleep(Duration::from_millis(50));
    let Reply::Bulk(Some(info)) = c.command(&["INFO", "clients"]).unwrap() else {
        panic!()
    };
    let info = String::from_utf8(info).unwrap();
    assert!(info.contains("blocked_clients:0"), "{info}");
}

#[test]
fn transactions_watch_conflict_retry_and_cross_shard_refusal() {
    let shards = Shards::start(3).unwrap();
    let named = shards.named();
    let mut m = Mini::new(fast(), &named);
    let (k, log) = ("{acct}:n", "{acct}:log");
    assert_eq!(m.run(Cmd::new("SET").arg(k).arg(5)).unwrap(), Value::Okay);
    let home = m.ring.shard_for_key(k.as_bytes()).unwrap().0.to_string();
    let idx = named.iter().position(|(n, _)| *n == home).unwrap();
    // A conflicting write between WATCH and EXEC: EXEC answers nil.
    let now = m.now();
    let tx = m.ring.begin_transaction(&[k, log], now).unwrap();
    assert_eq!(&**m.ring.transaction_shard(tx).unwrap(), home);
    assert_eq!(
        m.tx(tx, Cmd::new("WATCH").arg(k).arg(log)).unwrap(),
        Value::Okay
    );
    assert_eq!(
        m.tx(tx, Cmd::new("GET").arg(k)).unwrap(),
        Value::Bulk(b"5".to_vec())
    );
    shards.servers()[idx].command(&["SET", k, "50"]).unwrap();
    assert_eq!(m.tx(tx, Cmd::new("MULTI")).unwrap(), Value::Okay);
    assert_eq!(
        m.tx(tx, Cmd::new("SET").arg(k).arg(6)).unwrap(),
        Value::Simple(b"QUEUED".to_vec())
    );
    assert_eq!(m.tx(tx, Cmd::new("EXEC")).unwrap(), Value::Nil);
    // A key of another shard is refused inside the transaction, naming both shards.
    let other = (0..)
        .map(|i| format!("other{i}"))
        .find(|o| **m.ring.shard_for_key(o.as_bytes()).unwrap().0 != *home)
        .unwrap();
    let err = m.tx(tx, Cmd::new("GET").arg(&other)).unwrap_err();
    assert!(
        matches!(err, Error::CrossShard { ref shards, .. } if shards.len() == 2),
        "{err}"
    );
    let now = m.now();
    m.ring.end_transaction(tx, now);
    m.drain();
    // Again, without interference: committed, pipelined.
    let now = m.now();
    let tx = m.ring.begin_transaction(&[k], now).unwrap();
    let ids: Vec<RequestId> = [
        Cmd::new("WATCH").arg(k),
        Cmd::new("MULTI"),
        Cmd::new("INCR").arg(k),
        Cmd::new("INCR").arg(log),
        Cmd::new("EXEC"),
    ]
    .into_iter()
    .map(|c| {
        let now = m.now();
        m.ring.submit_in(tx, c, now).unwrap()
    })
    .collect();
    m.drain();
    let exec = m.reply_of(ids[4]).unwrap();
    assert_eq!(exec, Value::Array(vec![Value::Int(51), Value::Int(1)]));
    let now = m.now();
    m.ring.end_transaction(tx, now);
    m.drain();
    // Keys on two shards: refused before anything is sent.
    let now = m.now();
    let err = m.ring.begin_transaction(&[k, &other], now).unwrap_err();
    let msg = err.to_string();
    let other_home = m
        .ring
        .shard_for_key(other.as_bytes())
        .unwrap()
        .0
        .to_string();
    assert!(
        msg.contains(&home) && msg.contains(&other_home) && msg.contains("hash tag"),
        "{msg}"
    );
}

fn pubsub_round(protocol: Protocol) {
    let shards = Shards::start(3).unwrap();
    let mut config = fast();
    config.conn.protocol = protocol;
    let mut m = Mini::new(config, &shards.named());
    let chans: Vec<String> = (0..20).map(|i| format!("ch:{i}")).collect();
    let now = m.now();
    let sub = m.ring.subscribe(SubKind::Channel, &chans, now).unwrap();
    let now = m.now();
    let psub = m.ring.subscribe(SubKind::Pattern, ["ch:1*"], now).unwrap();
    m.drain();
    m.wait(Duration::from_secs(2), "subscribed", |m| {
        m.subscribed.contains(&sub) && m.subscribed.contains(&psub)
    });
    // Each channel is subscribed on the shard PUBLISH routes it to.
    for (i, server) in shards.servers().iter().enumerate() {
        let name = &shards.named()[i].0;
        for c in &chans {
            let here = m.ring.shard_for_key(c.as_bytes()).unwrap().0.to_string() == *name;
            let n = server.command(&["PUBSUB", "NUMSUB", c]).unwrap();
            let expect = Reply::Array(Some(vec![
                Reply::Bulk(Some(c.clone().into_bytes())),
                Reply::Int(i64::from(here)),
            ]));
            assert_eq!(n, expect, "{c} on {name}");
        }
    }
    for (i, c) in chans.iter().enumerate() {
        let n = m
            .run(Cmd::new("PUBLISH").arg(c).arg(format!("m{i}")))
            .unwrap();
        let pattern = usize::from(c.starts_with("ch:1"));
        assert_eq!(n, Value::Int(1 + pattern as i64), "PUBLISH {c}");
    }
    m.wait(Duration::from_secs(2), "messages", |m| {
        m.messages.len() == 20 + 11
    });
    for (i, c) in chans.iter().enumerate() {
        assert!(m.messages.contains(&(
            sub,
            c.clone().into_bytes(),
            None,
            format!("m{i}").into_bytes()
        )));
    }
    let via_pattern = m.messages.iter().filter(|(s, ..)| *s == psub).count();
    assert_eq!(via_pattern, 11);
    assert!(m
        .messages
        .iter()
        .filter(|(s, ..)| *s == psub)
        .all(|(_, _, p, _)| p.as_deref() == Some(&b"ch:1*"[..])));
    // Unsubscribe some, end the other: no more deliveries for them.
    let now = m.now();
    assert!(m.ring.unsubscribe(sub, &chans[..10], now));
    let now = m.now();
    m.ring.end_subscription(psub, now);
    m.drain();
    m.pump(Duration::from_millis(50));
    m.messages.clear();
    for c in &chans {
        m.run(Cmd::new("PUBLISH").arg(c).arg("again")).unwrap();
    }
    m.pump(Duration::from_millis(100));
    let mut got: Vec<Vec<u8>> = m.messages.iter().map(|(_, c, ..)| c.clone()).collect();
    got.sort();
    let mut want: Vec<Vec<u8>> = chans[10..].iter().map(|c| c.clone().into_bytes()).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn pubsub_across_shards_resp3() {
    pubsub_round(Protocol::Auto);
}

#[test]
fn pubsub_across_shards_resp2() {
    pubsub_round(Protocol::Resp2);
}

#[test]
fn a_subscription_is_restored_after_its_shard_restarts() {
    let mut shards = Shards::start(2).unwrap();
    let mut m = Mini::new(fast(), &shards.named());
    let chans: Vec<String> = (0..10).map(|i| format!("live:{i}")).collect();
    let now = m.now();
    let sub = m.ring.subscribe(SubKind::Channel, &chans, now).unwrap();
    m.drain();
    m.wait(Duration::from_secs(2), "subscribed", |m| {
        m.subscribed.len() == 1
    });
    shards.server(0).kill();
    shards.server(0).restart().unwrap();
    m.wait(Duration::from_secs(3), "subscribed again", |m| {
        m.subscribed.len() >= 2
    });
    m.wait(Duration::from_secs(3), "both shards up", |m| {
        m.ring.live_len() == 2
    });
    m.pump(Duration::from_millis(100));
    m.messages.clear();
    for c in &chans {
        assert_eq!(
            m.run(Cmd::new("PUBLISH").arg(c).arg("x")).unwrap(),
            Value::Int(1),
            "{c}"
        );
    }
    m.wait(Duration::from_secs(2), "messages", |m| {
        m.messages.len() == 10
    });
    assert!(m.messages.iter().all(|(s, ..)| *s == sub));
}
