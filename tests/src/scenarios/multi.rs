//! Several keys at once: MGET/MSET/DEL/EXISTS split per shard, multi-key commands that
//! cannot be split, pipelines and transactions.

use std::time::Duration;

use redis_ring_core::command::from_value;

use super::util::{build, guard, raw, raw_get, spec, wait_until};
use super::{Cmd, Error, RingUnderTest, Value};
use crate::Shards;

/// Two keys of `ring` that live on different shards, with their shard names.
fn keys_on_two_shards<R: RingUnderTest>(ring: &R) -> ((String, String), (String, String)) {
    let first = "xa".to_string();
    let home_a = ring.shard_for_key(&first).unwrap();
    let second = (0..)
        .map(|i| format!("xb{i}"))
        .find(|k| ring.shard_for_key(k).as_deref() != Some(&*home_a))
        .unwrap();
    let home_b = ring.shard_for_key(&second).unwrap();
    ((first, home_a), (second, home_b))
}

/// MSET/MGET/EXISTS/DEL over keys of every shard: values in key order, counts summed, and
/// every key on the shard placement names.
pub fn mget_mset_del_exists_across_shards<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let keys: Vec<String> = (0..30).map(|i| format!("m:{i}")).collect();
    let values: Vec<String> = (0..30).map(|i| format!("value-{i}")).collect();
    let pairs: Vec<(&str, &str)> = keys
        .iter()
        .zip(&values)
        .map(|(k, v)| (&**k, &**v))
        .collect();
    ring.mset(&pairs).unwrap();
    let homes: Vec<String> = keys
        .iter()
        .map(|k| ring.shard_for_key(k).unwrap())
        .collect();
    let mut distinct = homes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "the keys must span every shard");
    for (i, (name, _)) in shards.named().iter().enumerate() {
        let mut conn = raw(&shards.servers()[i], None);
        for (k, (v, h)) in keys.iter().zip(values.iter().zip(&homes)) {
            let got = raw_get(&mut conn, k);
            if h == name {
                assert_eq!(got.as_deref(), Some(v.as_bytes()), "{k} on {name}");
            } else {
                assert_eq!(got, None, "{k} must not be on {name}");
            }
        }
    }

    let mut asked: Vec<&str> = keys.iter().map(|k| &**k).collect();
    asked.insert(7, "m:missing");
    let got = ring.mget(&asked).unwrap();
    assert_eq!(got.len(), 31);
    for (k, v) in asked.iter().zip(&got) {
        let expected = keys
            .iter()
            .position(|x| x == k)
            .map(|i| values[i].as_bytes().to_vec());
        assert_eq!(v, &expected, "MGET order at {k}");
    }
    assert_eq!(ring.exists(&asked).unwrap(), 30);
    let mut doomed: Vec<&str> = asked[..11].to_vec();
    doomed.push("m:missing-too");
    assert_eq!(ring.del(&doomed).unwrap(), 10);
    assert_eq!(ring.exists(&asked).unwrap(), 20);
    let after = ring.mget(&asked[..11]).unwrap();
    assert!(after.iter().all(Option::is_none), "{after:?}");
    // The split forms through `cmd` too.
    let n: i64 = from_value(ring.cmd(Cmd::new("EXISTS").arg(&asked[11..])).unwrap()).unwrap();
    assert_eq!(n, 20);
    ring.close();
}

/// A multi-key command that cannot be split fails, when its keys are on different shards,
/// with an error naming the shards and suggesting a hash tag; with a tag it works.
pub fn cross_shard_multi_key_command_fails_naming_shards<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let ((a, home_a), (b, home_b)) = keys_on_two_shards(&ring);
    ring.cmd(Cmd::new("SADD").arg(&*a).arg("x")).unwrap();
    ring.cmd(Cmd::new("SADD").arg(&*b).arg("y")).unwrap();
    for cmd in [
        Cmd::new("SUNIONSTORE").arg("xa").arg(&*a).arg(&*b),
        Cmd::new("RENAME").arg(&*a).arg(&*b),
        Cmd::new("SMOVE").arg(&*a).arg(&*b).arg("x"),
    ] {
        let text = format!("{cmd}");
        let err = ring.cmd(cmd).expect_err("keys on two shards");
        let msg = err.to_string();
        assert!(
            msg.contains(&home_a) && msg.contains(&home_b) && msg.contains("hash tag"),
            "{text}: {msg}"
        );
    }
    // Nothing moved.
    let members: Vec<String> =
        from_value(ring.cmd(Cmd::new("SMEMBERS").arg(&*a)).unwrap()).unwrap();
    assert_eq!(members, ["x"]);
    // With a hash tag the keys share a shard and the command runs.
    ring.cmd(Cmd::new("SADD").arg("{t}a").arg("1")).unwrap();
    ring.cmd(Cmd::new("SADD").arg("{t}b").arg("2")).unwrap();
    let n: i64 = from_value(
        ring.cmd(Cmd::new("SUNIONSTORE").arg("{t}c").arg("{t}a").arg("{t}b"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(n, 2);
    ring.close();
}

/// A pipeline over every shard returns one result per command in submission order; an
/// error reply fails only its own command.
pub fn pipelines_keep_order_and_per_command_results<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let mut cmds = Vec::new();
    for i in 0..20 {
        cmds.push(Cmd::new("SET").arg(format!("p:{i}")).arg(i));
    }
    cmds.push(Cmd::new("INCR").arg("p:3"));
    cmds.push(Cmd::new("LPUSH").arg("p:5").arg("x"));
    for i in 0..20 {
        cmds.push(Cmd::new("GET").arg(format!("p:{i}")));
    }
    let results = ring.pipeline(cmds);
    assert_eq!(results.len(), 42);
    for r in &results[..20] {
        assert_eq!(r.as_ref().unwrap(), &Value::Okay);
    }
    assert_eq!(results[20].as_ref().unwrap(), &Value::Int(4));
    match &results[21] {
        Err(Error::Server { message, shard, .. }) => {
            assert!(message.starts_with("WRONGTYPE"), "{message}");
            assert_eq!(Some(&**shard), ring.shard_for_key("p:5").as_deref());
        }
        other => panic!("LPUSH on a string: {other:?}"),
    }
    for (i, r) in results[22..].iter().enumerate() {
        let expected = if i == 3 { 4 } else { i };
        assert_eq!(
            r.as_ref().unwrap(),
            &Value::Bulk(expected.to_string().into_bytes()),
            "GET p:{i}"
        );
    }
    assert!(ring.pipeline(Vec::new()).is_empty());
    ring.close();
}

/// A ring that will not mark a dead shard down during a scenario (its probes may fail a
/// thousand times first), so that "dead but still in the placement" lasts as long as the
/// scenario needs, however slow the machine.
fn never_down_spec(shards: &Shards) -> super::RingSpec {
    let mut s = spec(shards);
    s.config.fail_threshold = 1_000;
    s
}

/// Kills `shards`' second server and waits until `ring` has observed it (a command for one
/// of its keys fails naming it) while it is still in the placement.
fn kill_and_observe<R: RingUnderTest>(ring: &R, shards: &mut Shards, key_on_shard2: &str) {
    shards.server(1).kill();
    let observed = wait_until(Duration::from_secs(10), || {
        match ring.cmd(Cmd::new("GET").arg(key_on_shard2)) {
            Err(e) => e.to_string().contains("shard2"),
            Ok(_) => false,
        }
    });
    assert!(observed, "the ring never noticed shard2's death");
    assert_eq!(ring.len(), 3, "shard2 must still be in the placement");
}

/// A pipeline sent while one shard is dead (the ring has seen a command to it fail, and it
/// is still in the placement): every command of the live shards succeeds, every command of
/// the dead shard fails with an error that names it.
pub fn pipeline_with_a_dead_shard_fails_only_its_commands<R: RingUnderTest>() {
    let _g = guard(false);
    let mut shards = Shards::start(3).unwrap();
    let ring: R = build(&never_down_spec(&shards));
    let keys: Vec<String> = (0..60).map(|i| format!("dead:{i}")).collect();
    let homes: Vec<String> = keys
        .iter()
        .map(|k| ring.shard_for_key(k).unwrap())
        .collect();
    let on_shard2 = homes.iter().filter(|h| *h == "shard2").count();
    assert!(on_shard2 > 0 && on_shard2 < keys.len());
    let probe = keys
        .iter()
        .zip(&homes)
        .find(|(_, h)| *h == "shard2")
        .unwrap()
        .0;
    kill_and_observe(&ring, &mut shards, probe);
    let cmds = keys
        .iter()
        .map(|k| Cmd::new("SET").arg(&**k).arg("v"))
        .collect();
    let results = ring.pipeline(cmds);
    assert_eq!(results.len(), keys.len());
    let mut failed = 0;
    for ((k, h), r) in keys.iter().zip(&homes).zip(&results) {
        match r {
            Ok(v) => {
                assert_ne!(h, "shard2", "{k} on the dead shard succeeded: {v:?}");
                assert_eq!(v, &Value::Okay, "{k}");
            }
            Err(e) => {
                assert_eq!(h, "shard2", "{k} (on {h}) failed: {e}");
                assert!(e.to_string().contains("shard2"), "{e}");
                failed += 1;
            }
        }
    }
    assert_eq!(failed, on_shard2, "every command of the dead shard fails");
    ring.close();
}

/// MGET/MSET/DEL across shards while one shard is dead and observed so, but not yet marked
/// down: the whole form fails naming the dead shard and its keys; the per-key form answers
/// the keys of the live shards and fails exactly the dead shard's. Once a ring has marked
/// the shard down, its keys go to the others and the whole form works again.
pub fn split_command_with_a_killed_shard<R: RingUnderTest>() {
    let _g = guard(false);
    let mut shards = Shards::start(3).unwrap();
    let ring: R = build(&never_down_spec(&shards));
    let keys: Vec<String> = (0..30).map(|i| format!("sk:{i}")).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (&**k, "v")).collect();
    ring.mset(&pairs).unwrap();
    let homes: Vec<String> = keys
        .iter()
        .map(|k| ring.shard_for_key(k).unwrap())
        .collect();
    let on_shard2 = homes.iter().filter(|h| *h == "shard2").count();
    assert!(on_shard2 > 0 && on_shard2 < keys.len());
    let asked: Vec<&str> = keys.iter().map(|k| &**k).collect();
    let probe = keys
        .iter()
        .zip(&homes)
        .find(|(_, h)| *h == "shard2")
        .unwrap()
        .0;
    kill_and_observe(&ring, &mut shards, probe);
    // Per key: the live shards' keys are answered, shard2's fail naming it.
    let per_key = ring.mget_per_key(&asked);
    assert_eq!(per_key.len(), keys.len());
    let mut failed = 0;
    for ((k, h), r) in keys.iter().zip(&homes).zip(&per_key) {
        match r {
            Ok(v) => {
                assert_ne!(h, "shard2", "{k} on the dead shard answered: {v:?}");
                assert_eq!(v.as_deref(), Some(&b"v"[..]), "{k}");
            }
            Err(e) => {
                failed += 1;
                assert_eq!(h, "shard2", "{k} (on {h}) failed: {e}");
                assert!(e.to_string().contains("shard2"), "{e}");
            }
        }
    }
    assert_eq!(failed, on_shard2, "exactly shard2's keys fail");
    // Whole: fails naming shard2 and (some of) its keys.
    let text = match ring.mget(&asked) {
        Ok(values) => panic!("MGET over a dead shard succeeded: {values:?}"),
        Err(e) => e.to_string(),
    };
    assert!(text.contains("shard2"), "{text}");
    assert!(text.contains(probe), "{text}");
    // (DEL too would fail naming shard2, after deleting the live shards' keys.)
    for r in [ring.mset(&pairs).map(|_| 0), ring.exists(&asked)] {
        let e = r.expect_err("a split command over a dead shard");
        assert!(e.to_string().contains("shard2"), "{e}");
    }
    assert_eq!(ring.len(), 3);
    ring.close();

    // A ring that marks shard2 down: its keys live on the two others, the split works.
    let ring: R = build(&spec(&shards));
    assert!(wait_until(Duration::from_secs(10), || ring.len() == 2));
    let values = ring.mget(&asked).unwrap();
    for ((k, h), v) in keys.iter().zip(&homes).zip(&values) {
        if h == "shard2" {
            assert_eq!(v, &None, "{k}: its data died with shard2");
        } else {
            assert_eq!(v.as_deref(), Some(&b"v"[..]), "{k}");
        }
    }
    let survivors = homes.iter().filter(|h| *h != "shard2").count();
    assert_eq!(ring.del(&asked).unwrap(), survivors as i64);
    ring.close();
}

/// SCAN over the ring: every key of every shard exactly once, with MATCH.
pub fn scan_over_the_ring_returns_every_key_once<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let keys: Vec<String> = (0..500).map(|i| format!("scan:{i}")).collect();
    for chunk in keys.chunks(100) {
        let pairs: Vec<(&str, &str)> = chunk.iter().map(|k| (&**k, "v")).collect();
        ring.mset(&pairs).unwrap();
    }
    ring.mset(&[("other:1", "x"), ("other:2", "y")]).unwrap();
    let mut homes: Vec<String> = keys
        .iter()
        .map(|k| ring.shard_for_key(k).unwrap())
        .collect();
    homes.sort();
    homes.dedup();
    assert_eq!(homes.len(), 3, "the keys span every shard");
    let mut got = ring.scan("scan:*").unwrap();
    assert_eq!(got.len(), keys.len(), "every key once, no duplicates");
    got.sort();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(got, want);
    let all = ring.scan("*").unwrap();
    assert_eq!(all.len(), keys.len() + 2);
    ring.close();
}

/// Optimistic transactions on one shard: concurrent read-modify-write loses no update.
pub fn transactions_on_one_shard<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let counter = "{acct}:n";
    let log = "{acct}:log";
    ring.cmd(Cmd::new("SET").arg(counter).arg(0)).unwrap();
    let write = |reads: &[Value]| {
        let n: i64 = from_value(reads[0].clone()).unwrap();
        vec![
            Cmd::new("SET").arg(counter).arg(n + 1),
            Cmd::new("INCR").arg(log),
        ]
    };
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10 {
                    let replies = ring
                        .transaction(&[counter, log], &[Cmd::new("GET").arg(counter)], &write)
                        .unwrap_or_else(|e| panic!("{}: transaction: {e}", R::DRIVER));
                    assert_eq!(replies.len(), 2);
                    assert_eq!(replies[0], Value::Okay);
                }
            });
        }
    });
    let home = ring.shard_for_key(counter).unwrap();
    let idx = shards.named().iter().position(|(n, _)| *n == home).unwrap();
    let mut conn = raw(&shards.servers()[idx], None);
    assert_eq!(raw_get(&mut conn, counter).as_deref(), Some(&b"80"[..]));
    assert_eq!(raw_get(&mut conn, log).as_deref(), Some(&b"80"[..]));
    ring.close();
}

/// A transaction over keys of two shards is refused before anything runs, naming both.
pub fn transaction_across_shards_is_refused<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let ((a, home_a), (b, home_b)) = keys_on_two_shards(&ring);
    let err = ring
        .transaction(&[&a, &b], &[], &|_| vec![Cmd::new("SET").arg("xa").arg(1)])
        .expect_err("keys on two shards");
    let msg = err.to_string();
    assert!(
        msg.contains(&home_a) && msg.contains(&home_b) && msg.contains("hash tag"),
        "{msg}"
    );
    let v: Option<String> = from_value(ring.cmd(Cmd::new("GET").arg("xa")).unwrap()).unwrap();
    assert_eq!(v, None, "nothing of the refused transaction ran");
    ring.close();
}
