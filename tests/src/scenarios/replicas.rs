//! Replica reads of a plain shard whose replicas are listed
//! (`redis://primary?replica=r1,r2`): reads go to a listed replica and return the data; a
//! replica that dies is skipped for the next one listed (reads meanwhile on the primary), one
//! that stops following its primary too, and with none left the primary serves every read.
//! No Sentinel: the replicas are `redis-server --replicaof` processes the harness starts.

use std::time::Duration;

use redis_ring_core::config::ReadFrom;

use super::util::{build, fast_config, guard, view, wait_until};
use super::{Cmd, RingSpec, RingUnderTest, Value};
use crate::harness::Reply;
use crate::{RedisServer, ServerOptions};

/// `GET` calls a server has served (`INFO commandstats`).
pub(crate) fn gets_served(server: &RedisServer) -> u64 {
    let Ok(Reply::Bulk(Some(info))) = server.command(&["INFO", "commandstats"]) else {
        return 0;
    };
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

/// Waits until `replica` holds `value` at `key` (replication is asynchronous).
pub(crate) fn replicated(replica: &RedisServer, key: &str, value: &str) {
    assert!(
        wait_until(Duration::from_secs(10), || {
            replica.command(&["GET", key]).ok() == Some(Reply::Bulk(Some(value.into())))
        }),
        "the replica did not catch up"
    );
}

/// Reads every key through the ring, checking the values; returns how many `GET`s each of
/// `servers` served meanwhile.
fn read_all<R: RingUnderTest>(ring: &R, keys: &[String], servers: &[&RedisServer]) -> Vec<u64> {
    let before: Vec<u64> = servers.iter().map(|s| gets_served(s)).collect();
    for k in keys {
        assert_eq!(
            ring.cmd(Cmd::new("GET").arg(k.as_str())).unwrap(),
            Value::Bulk(k.clone().into_bytes()),
            "{}: {k}",
            R::DRIVER
        );
    }
    servers
        .iter()
        .zip(before)
        .map(|(s, b)| gets_served(s) - b)
        .collect()
}

/// A plain shard with two listed replicas under `ReadFrom::PreferReplica`.
pub fn listed_replicas_serve_reads_and_are_skipped_when_down<R: RingUnderTest>() {
    let _g = guard(false);
    let primary = RedisServer::start().unwrap();
    let mut r1 = RedisServer::start_with(ServerOptions::new().replica_of(&primary)).unwrap();
    let r2 = RedisServer::start_with(ServerOptions::new().replica_of(&primary)).unwrap();
    let mut config = fast_config();
    config.read_from = ReadFrom::PreferReplica;
    let spec = RingSpec {
        shards: vec![(
            "s".into(),
            format!(
                "redis://{}?replica={},{}",
                primary.addr(),
                r1.addr(),
                r2.addr()
            ),
        )],
        config,
        ..RingSpec::default()
    };
    let ring: R = build(&spec);
    let keys: Vec<String> = (0..20).map(|i| format!("listed:{i}")).collect();
    for k in &keys {
        ring.cmd(Cmd::new("SET").arg(k.as_str()).arg(k.as_str()))
            .unwrap();
    }
    let last = keys.last().unwrap();
    replicated(&r1, last, last);
    replicated(&r2, last, last);

    // The first listed replica takes the reads.
    let served = read_all(&ring, &keys, &[&primary, &r1, &r2]);
    assert_eq!(served, [0, 20, 0], "{}: GETs on primary, r1, r2", R::DRIVER);

    // r1 dies: every read still returns the data (the primary while r1 is given up), and
    // r2, the next listed, takes the reads soon.
    r1.kill();
    let mut moved = false;
    for _ in 0..100 {
        let served = read_all(&ring, &keys, &[&primary, &r2]);
        if served == [0, 20] {
            moved = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(moved, "{}: r2 never took the reads", R::DRIVER);

    // r2 stops following (it keeps its old data): the next heartbeat's lag check skips it;
    // r1 is down, so the primary serves the reads, and no read is stale.
    assert_eq!(
        r2.command(&["REPLICAOF", "NO", "ONE"]).unwrap(),
        Reply::Status("OK".into())
    );
    ring.cmd(Cmd::new("SET").arg(last.as_str()).arg("v2"))
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || ring
            .cmd(Cmd::new("GET").arg(last.as_str()))
            .unwrap()
            == Value::Bulk(b"v2".to_vec())),
        "{}: still reading the detached replica after 5 s",
        R::DRIVER
    );
    ring.cmd(Cmd::new("SET").arg(last.as_str()).arg(last.as_str()))
        .unwrap();
    let served = read_all(&ring, &keys, &[&primary, &r2]);
    assert_eq!(served, [20, 0], "{}: GETs on primary, r2", R::DRIVER);
    // Counted in `stats()`: r2 skipped (at least once: it is looked at again now and then).
    let skipped = view(&ring.shards(), "s").failover[2];
    assert!(skipped >= 1, "{}: replicas_skipped {skipped}", R::DRIVER);
    // Writes only ever went to the primary.
    assert_eq!(
        primary.command(&["GET", last]).unwrap(),
        Reply::Bulk(Some(last.clone().into_bytes()))
    );
    ring.close();
}
