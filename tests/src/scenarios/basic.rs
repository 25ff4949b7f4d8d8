//! Basic commands of each type through `cmd`, replies converted with `FromValue`, and
//! checked against the servers themselves where it matters.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use redis_ring_core::command::{from_value, FromValue};
use redis_ring_core::config::Protocol;

use super::util::{build, guard, raw, raw_get, raw_text, spec};
use super::{Cmd, Error, RingSpec, RingUnderTest, Value};
use crate::Shards;

/// `cmd` converted to `T`, or the scenario fails naming the command.
fn q<R: RingUnderTest, T: FromValue>(ring: &R, cmd: Cmd) -> T {
    let text = format!("{cmd}");
    let v = ring
        .cmd(cmd)
        .unwrap_or_else(|e| panic!("{}: {text}: {e}", R::DRIVER));
    from_value(v.clone()).unwrap_or_else(|e| panic!("{text}: cannot convert {v:?}: {e}"))
}

fn c(name: &str) -> Cmd {
    Cmd::new(name)
}

/// Strings and counters: SET/GET/APPEND/STRLEN/GETRANGE/GETDEL, SET NX, INCR family; the
/// value is on the shard `shard_for_key` names.
pub fn strings_and_counters<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));

    assert_eq!(
        ring.cmd(c("SET").arg("s").arg("hello")).unwrap(),
        Value::Okay
    );
    assert_eq!(q::<R, String>(&ring, c("GET").arg("s")), "hello");
    assert_eq!(q::<R, i64>(&ring, c("APPEND").arg("s").arg(" world")), 11);
    assert_eq!(q::<R, usize>(&ring, c("STRLEN").arg("s")), 11);
    assert_eq!(
        q::<R, String>(&ring, c("GETRANGE").arg("s").arg(0).arg(4)),
        "hello"
    );
    assert_eq!(q::<R, Option<String>>(&ring, c("GET").arg("missing")), None);
    // SET NX on an existing key: a nil reply, not an error.
    assert_eq!(
        q::<R, Option<String>>(&ring, c("SET").arg("s").arg("x").arg("NX")),
        None
    );
    // Binary-safe values.
    let bytes: Vec<u8> = (0..=255).collect();
    ring.cmd(c("SET").arg("bin").arg(&bytes[..])).unwrap();
    assert_eq!(q::<R, Vec<u8>>(&ring, c("GET").arg("bin")), bytes);

    assert_eq!(q::<R, i64>(&ring, c("INCR").arg("n")), 1);
    assert_eq!(q::<R, i64>(&ring, c("INCRBY").arg("n").arg(41)), 42);
    assert_eq!(q::<R, i64>(&ring, c("DECR").arg("n")), 41);
    assert_eq!(q::<R, u64>(&ring, c("DECRBY").arg("n").arg(1)), 40);
    assert_eq!(q::<R, f64>(&ring, c("INCRBYFLOAT").arg("f").arg(1.5)), 1.5);
    assert_eq!(
        q::<R, Option<String>>(&ring, c("GETDEL").arg("n")).as_deref(),
        Some("40")
    );
    assert_eq!(q::<R, Option<i64>>(&ring, c("GET").arg("n")), None);

    // The value really is on the shard the ring names, and only there.
    let owner = ring.shard_for_key("s").expect("a live shard owns s");
    for ((name, _), server) in shards.named().iter().zip(shards.servers()) {
        let got = raw_get(&mut raw(server, None), "s");
        if *name == owner {
            assert_eq!(got.as_deref(), Some(&b"hello world"[..]), "on {name}");
        } else {
            assert_eq!(got, None, "s must not be on {name} (owner {owner})");
        }
    }
    ring.close();
}

/// Keys and expiry: EXPIRE/TTL/PERSIST/PEXPIRE, TYPE, RENAME inside one hash tag.
pub fn keys_and_expiry<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(2).unwrap();
    let ring: R = build(&spec(&shards));

    ring.cmd(c("SET").arg("k").arg("v").arg("EX").arg(100))
        .unwrap();
    let ttl: i64 = q(&ring, c("TTL").arg("k"));
    assert!((50..=100).contains(&ttl), "TTL {ttl}");
    assert!(q::<R, bool>(&ring, c("PERSIST").arg("k")));
    assert_eq!(q::<R, i64>(&ring, c("TTL").arg("k")), -1);
    assert_eq!(q::<R, i64>(&ring, c("TTL").arg("nokey")), -2);
    assert_eq!(q::<R, String>(&ring, c("TYPE").arg("k")), "string");
    assert!(q::<R, bool>(&ring, c("PEXPIRE").arg("k").arg(50)));
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(q::<R, Option<String>>(&ring, c("GET").arg("k")), None);

    ring.cmd(c("SET").arg("{t}a").arg("1")).unwrap();
    ring.cmd(c("RENAME").arg("{t}a").arg("{t}b")).unwrap();
    assert_eq!(
        q::<R, Option<String>>(&ring, c("GET").arg("{t}b")).as_deref(),
        Some("1")
    );
    assert_eq!(q::<R, i64>(&ring, c("EXISTS").arg("{t}a")), 0);
    ring.close();
}

/// Hashes, lists, sets and sorted sets, with the collection conversions.
pub fn hashes_lists_sets_zsets<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    check_collections(&ring);
    ring.close();
}

fn check_collections<R: RingUnderTest>(ring: &R) {
    let added: i64 = q(
        ring,
        c("HSET").arg("h").arg("f1").arg("v1").arg("f2").arg(2),
    );
    assert_eq!(added, 2);
    assert_eq!(q::<R, String>(ring, c("HGET").arg("h").arg("f1")), "v1");
    assert_eq!(q::<R, i64>(ring, c("HINCRBY").arg("h").arg("f2").arg(3)), 5);
    let all: HashMap<String, String> = q(ring, c("HGETALL").arg("h"));
    assert_eq!(
        all,
        HashMap::from([("f1".into(), "v1".into()), ("f2".into(), "5".into())])
    );
    assert_eq!(
        q::<R, Option<String>>(ring, c("HGET").arg("h").arg("nof")),
        None
    );
    assert!(q::<R, bool>(ring, c("HEXISTS").arg("h").arg("f1")));

    assert_eq!(q::<R, i64>(ring, c("RPUSH").arg("l").arg(["b", "c"])), 2);
    assert_eq!(q::<R, i64>(ring, c("LPUSH").arg("l").arg("a")), 3);
    assert_eq!(
        q::<R, Vec<String>>(ring, c("LRANGE").arg("l").arg(0).arg(-1)),
        ["a", "b", "c"]
    );
    assert_eq!(
        q::<R, Option<String>>(ring, c("LPOP").arg("l")).as_deref(),
        Some("a")
    );
    assert_eq!(q::<R, usize>(ring, c("LLEN").arg("l")), 2);

    assert_eq!(
        q::<R, i64>(ring, c("SADD").arg("s").arg(["x", "y", "x"])),
        2
    );
    let members: HashSet<String> = q(ring, c("SMEMBERS").arg("s"));
    assert_eq!(members, HashSet::from(["x".into(), "y".into()]));
    assert!(q::<R, bool>(ring, c("SISMEMBER").arg("s").arg("x")));
    assert!(!q::<R, bool>(ring, c("SISMEMBER").arg("s").arg("z")));

    let zadded: i64 = q(ring, c("ZADD").arg("z").arg(1.5).arg("a").arg(2).arg("b"));
    assert_eq!(zadded, 2);
    let with: Vec<(String, f64)> = q(ring, c("ZRANGE").arg("z").arg(0).arg(-1).arg("WITHSCORES"));
    assert_eq!(with, [("a".to_string(), 1.5), ("b".to_string(), 2.0)]);
    assert_eq!(q::<R, f64>(ring, c("ZSCORE").arg("z").arg("b")), 2.0);
    assert_eq!(
        q::<R, Option<f64>>(ring, c("ZSCORE").arg("z").arg("none")),
        None
    );
    assert_eq!(
        q::<R, Option<usize>>(ring, c("ZRANK").arg("z").arg("b")),
        Some(1)
    );
}

/// Scripts are routed by their keys (they run on the key's shard and return what they read
/// there; EVALSHA too); keyless commands go to any live shard.
pub fn scripts_and_keyless<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));

    let script = "return redis.call('SET', KEYS[1], ARGV[1])";
    for i in 0..10 {
        let key = format!("script:{i}");
        let v = ring
            .cmd(c("EVAL").arg(script).arg(1).arg(&*key).arg(i))
            .unwrap();
        assert_eq!(v, Value::Okay);
        // The script ran on the key's shard: the key is there.
        let owner = ring.shard_for_key(&key).unwrap();
        let idx = shards
            .named()
            .iter()
            .position(|(n, _)| *n == owner)
            .unwrap();
        assert_eq!(
            raw_get(&mut raw(&shards.servers()[idx], None), &key),
            Some(i.to_string().into_bytes()),
            "{key} on {owner}"
        );
    }
    // A script's own result: it reads the key on the key's shard.
    let read = "return {redis.call('GET', KEYS[1]), ARGV[1]}";
    for i in 0..10 {
        let key = format!("script:{i}");
        let v = ring
            .cmd(c("EVAL").arg(read).arg(1).arg(&*key).arg("tag"))
            .unwrap();
        assert_eq!(
            v,
            Value::Array(vec![
                Value::Bulk(i.to_string().into_bytes()),
                Value::Bulk(b"tag".to_vec())
            ]),
            "{key}"
        );
    }
    // EVALSHA: loaded on every shard, then routed by its key like EVAL.
    let loaded = ring.for_each_shard(&c("SCRIPT").arg("LOAD").arg(read));
    assert_eq!(loaded.len(), 3);
    let sha = match &loaded[0].1 {
        Ok(Value::Bulk(sha)) => String::from_utf8(sha.clone()).unwrap(),
        other => panic!("SCRIPT LOAD: {other:?}"),
    };
    for (shard, r) in &loaded {
        assert_eq!(r, &Ok(Value::Bulk(sha.clone().into_bytes())), "{shard}");
    }
    let v = ring
        .cmd(c("EVALSHA").arg(&*sha).arg(1).arg("script:7").arg("x"))
        .unwrap();
    assert_eq!(
        v,
        Value::Array(vec![Value::Bulk(b"7".to_vec()), Value::Bulk(b"x".to_vec())])
    );
    let sum: i64 = q(
        &ring,
        c("EVAL")
            .arg("return tonumber(ARGV[1]) + tonumber(ARGV[2])")
            .arg(0)
            .arg(2)
            .arg(3),
    );
    assert_eq!(sum, 5);
    for _ in 0..6 {
        assert_eq!(q::<R, String>(&ring, c("PING")), "PONG");
    }
    assert_eq!(q::<R, String>(&ring, c("ECHO").arg("hi")), "hi");
    let (secs, _micros): (u64, u64) = q(&ring, c("TIME"));
    assert!(secs > 1_600_000_000);
    ring.close();
}

/// The same commands give the same converted results over RESP2 and RESP3 connections.
pub fn resp2_and_resp3_agree<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(2).unwrap();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut s: RingSpec = spec(&shards);
        s.config.conn.protocol = protocol;
        let client_name = format!("agree-{protocol:?}");
        s.config.conn.client_name = Some(client_name.clone());
        let ring: R = build(&s);
        // Start from empty shards for each protocol.
        for server in shards.servers() {
            raw(server, None).command(&["FLUSHDB"]).unwrap();
        }
        check_collections(&ring);
        // The servers see the ring's connections speak that protocol.
        let proto = match protocol {
            Protocol::Resp2 => "resp=2",
            _ => "resp=3",
        };
        for (server, (name, _)) in shards.servers().iter().zip(shards.named()) {
            let list = raw_text(&mut raw(server, None), &["CLIENT", "LIST"]);
            let ours: Vec<&str> = list
                .lines()
                .filter(|l| l.contains(&format!("name={client_name} ")))
                .collect();
            assert!(
                !ours.is_empty(),
                "{protocol:?}: no ring connection on {name}"
            );
            for line in ours {
                assert!(line.contains(proto), "{protocol:?} on {name}: {line}");
            }
        }
        ring.close();
    }
}

/// A server error reply is `Error::Server` naming the shard, its address and the command;
/// it is not retried and does not disturb the connection.
pub fn typed_errors_name_the_shard<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    ring.cmd(c("SET").arg("str").arg("v")).unwrap();
    let owner = ring.shard_for_key("str").unwrap();
    let addr = shards
        .named()
        .into_iter()
        .find(|(n, _)| *n == owner)
        .unwrap()
        .1;
    let err = ring.cmd(c("LPUSH").arg("str").arg("x")).unwrap_err();
    match &err {
        Error::Server {
            shard,
            addr: a,
            message,
            ..
        } => {
            assert_eq!(&**shard, owner);
            assert_eq!(&**a, addr);
            assert!(message.starts_with("WRONGTYPE"), "{message}");
        }
        other => panic!("expected Error::Server, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("LPUSH") && text.contains(&owner) && text.contains(&addr),
        "{text}"
    );
    assert!(!err.is_retryable());
    // The connection is fine afterwards.
    assert_eq!(q::<R, String>(&ring, c("GET").arg("str")), "v");
    // An unknown command is an error reply too, never a panic or a broken connection.
    let err = ring.cmd(c("NOSUCHCOMMAND").arg("k")).unwrap_err();
    assert!(err.to_string().contains("NOSUCHCOMMAND"), "{err}");
    assert_eq!(q::<R, String>(&ring, c("GET").arg("str")), "v");
    ring.close();
}
