//! Split/merge of multi-key commands, fan-out to shards, ring-wide SCAN and pipelines,
//! against fake servers (`ring_support`).

mod ring_support;

use std::collections::BTreeSet;

use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{RequestId, RingScan};
use ring_support::{ms, Mode, Rig};

/// The first `n` keys `key{i}` owned by `addr`.
fn keys_on(rig: &Rig, addr: &str, n: usize) -> Vec<String> {
    (0..10_000)
        .map(|i| format!("key{i}"))
        .filter(|k| rig.owner(k) == addr)
        .take(n)
        .collect()
}

fn bulk(s: &str) -> Value {
    Value::Bulk(s.as_bytes().to_vec())
}

fn count(rig: &Rig, addr: &str, name: &str) -> usize {
    rig.data_commands(addr)
        .iter()
        .filter(|n| *n == name)
        .count()
}

#[test]
fn mget_across_three_shards_is_one_part_per_shard_in_key_order() {
    let mut rig = Rig::new(Config::default(), 3);
    let (k0, k1, k2) = (
        keys_on(&rig, "a0", 2),
        keys_on(&rig, "a1", 1),
        keys_on(&rig, "a2", 1),
    );
    for k in [&k0[0], &k0[1], &k1[0], &k2[0]] {
        let id = rig
            .submit(Cmd::new("SET").arg(k).arg(format!("v-{k}")))
            .unwrap();
        assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
    }
    // Interleaved shards, a missing key, and two keys under one hash tag.
    let keys = [&k1[0], &k0[0], "missing", &k2[0], &k0[1], "{t}a", "{t}b"];
    let id = rig.submit(Cmd::new("MGET").arg(keys)).unwrap();
    let expected: Vec<Value> = keys
        .iter()
        .map(|k| match *k {
            "missing" | "{t}a" | "{t}b" => Value::Nil,
            k => bulk(&format!("v-{k}")),
        })
        .collect();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Array(expected))));
    assert_eq!(
        (0..3)
            .map(|i| count(&rig, &format!("a{i}"), "MGET"))
            .sum::<usize>(),
        3,
        "one part per shard"
    );
    // The hash-tagged keys went together to the tag's shard.
    let tag_shard = rig.owner("{t}");
    let log = &rig.servers[&tag_shard].log;
    assert!(log.iter().any(|w| w[0] == b"MGET"
        && w.iter().any(|a| a == b"{t}a")
        && w.iter().any(|a| a == b"{t}b")));
}

#[test]
fn mset_then_del_exists_touch_unlink_sum_their_counts() {
    let mut rig = Rig::new(Config::default(), 3);
    let keys: Vec<String> = (0..12).map(|i| format!("k{i}")).collect();
    let pairs: Vec<(&str, String)> = keys.iter().map(|k| (k.as_str(), format!("v{k}"))).collect();
    let id = rig.submit(Cmd::new("MSET").arg(&pairs[..])).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
    let owners: BTreeSet<String> = keys.iter().map(|k| rig.owner(k)).collect();
    assert_eq!(owners.len(), 3, "the keys span every shard");
    for k in &keys {
        let owner = rig.owner(k);
        assert_eq!(
            rig.servers[&owner].data.get(k.as_bytes()),
            Some(&format!("v{k}").into_bytes())
        );
    }
    let with_missing = |name: &str| Cmd::new(name).arg(&keys[..]).arg("nope");
    for name in ["EXISTS", "TOUCH"] {
        let id = rig.submit(with_missing(name)).unwrap();
        assert_eq!(rig.reply(id), Some(&Ok(Value::Int(12))), "{name}");
    }
    let id = rig.submit(Cmd::new("DEL").arg(&keys[..5])).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Int(5))));
    let id = rig.submit(with_missing("DEL")).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Int(7))));
    let id = rig.submit(Cmd::new("EXISTS").arg(&keys[..])).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Int(0))));
}

#[test]
fn a_failed_part_fails_the_whole_command_naming_its_shard_and_keys() {
    let mut rig = Rig::new(Config::default(), 3);
    // UNLINK is unknown to the fake servers: every part fails with a server error.
    let keys: Vec<String> = (0..9).map(|i| format!("k{i}")).collect();
    let id = rig.submit(Cmd::new("UNLINK").arg(&keys[..])).unwrap();
    let Some(Err(
        err @ Error::Split {
            parts, failures, ..
        },
    )) = rig.reply(id)
    else {
        panic!("{:?}", rig.reply(id))
    };
    assert_eq!(*parts, 3);
    assert_eq!(failures.len(), 3);
    let text = err.to_string();
    assert!(
        text.starts_with("UNLINK: 3 of 3 shard parts failed"),
        "{text}"
    );
    for f in failures {
        let shard = f.shard.as_deref().unwrap();
        let addr = format!("a{}", &shard[1..]);
        for k in &f.keys {
            assert_eq!(rig.owner(std::str::from_utf8(k).unwrap()), addr);
        }
        assert!(text.contains(shard));
    }

    // A hung shard: its part times out; the command fails by its deadline, naming it.
    let (on0, on2) = (keys_on(&rig, "a0", 1), keys_on(&rig, "a2", 1));
    rig.set_mode("a2", Mode::Hang);
    let start = rig.now;
    let id = rig
        .submit_timeout(Cmd::new("MGET").arg(&on0[0]).arg(&on2[0]), ms(200))
        .unwrap();
    assert!(rig.reply(id).is_none());
    rig.advance(ms(250));
    let at = rig.replies.iter().find(|r| r.0 == id).unwrap().2;
    assert!(at <= start + ms(200));
    let Some(Err(Error::Split { failures, .. })) = rig.reply(id) else {
        panic!("{:?}", rig.reply(id))
    };
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].shard.as_deref(), Some("s2"));
    assert_eq!(failures[0].keys, [on2[0].as_bytes().to_vec()]);
    assert!(matches!(*failures[0].error, Error::Timeout { .. }));
}

#[test]
fn per_key_mget_answers_the_live_keys_and_fails_only_the_dead_shards() {
    let mut rig = Rig::new(Config::default(), 3);
    let (on0, on1, on2) = (
        keys_on(&rig, "a0", 1),
        keys_on(&rig, "a1", 1),
        keys_on(&rig, "a2", 2),
    );
    rig.server("a0")
        .data
        .insert(on0[0].clone().into_bytes(), b"x".to_vec());
    rig.set_mode("a2", Mode::Hang);
    let now = rig.now;
    let keys = [&on2[0], &on0[0], &on1[0], &on2[1]];
    let ids = rig
        .ring
        .submit_per_key_with_timeout(Cmd::new("MGET").arg(keys), ms(100), now)
        .unwrap();
    rig.settle();
    assert_eq!(ids.len(), 4);
    assert_eq!(rig.reply(ids[1]), Some(&Ok(bulk("x"))));
    assert_eq!(rig.reply(ids[2]), Some(&Ok(Value::Nil)));
    assert!(rig.reply(ids[0]).is_none() && rig.reply(ids[3]).is_none());
    rig.advance(ms(150));
    for i in [0, 3] {
        let Some(Err(e)) = rig.reply(ids[i]) else {
            panic!()
        };
        assert_eq!(e.shard(), Some("s2"), "{e}");
    }
    // Counting commands have no per-key form.
    let now = rig.now;
    assert!(matches!(
        rig.ring
            .submit_per_key(Cmd::new("DEL").arg("a").arg("b"), now),
        Err(Error::InvalidCommand { .. })
    ));
    // Per-key MSET.
    let ids = rig
        .ring
        .submit_per_key(
            Cmd::new("MSET").arg([("p", "1"), ("q", "2"), ("r", "3")]),
            now,
        )
        .unwrap();
    rig.settle();
    assert_eq!(ids.len(), 3);
    // a2 hangs: keys it owns never answer before the deadline; the others are OK.
    for (id, k) in ids.iter().zip(["p", "q", "r"]) {
        if rig.owner(k) != "a2" {
            assert_eq!(rig.reply(*id), Some(&Ok(Value::Okay)), "{k}");
        }
    }
}

#[test]
fn parts_retried_after_their_shard_goes_down_are_split_again_over_the_live_shards() {
    let mut config = Config::default();
    config.max_retries = 20;
    let mut rig = Rig::new(config, 3);
    let on2 = keys_on(&rig, "a2", 6);
    let on0 = keys_on(&rig, "a0", 1);
    rig.set_mode("a2", Mode::Refuse);
    // Before a2 is marked down: a split MGET and a single-shard MGET touching a2.
    let id = rig
        .submit_timeout(Cmd::new("MGET").arg(&on0[..]).arg(&on2[..]), ms(5000))
        .unwrap();
    let single = rig
        .submit_timeout(Cmd::new("MGET").arg(&on2[..]), ms(5000))
        .unwrap();
    rig.advance(ms(5000));
    assert_eq!(rig.down_events(), ["s2"]);
    // a2's keys spread over s0 and s1 once it is down, so the retried parts were re-split.
    let spread: BTreeSet<String> = on2.iter().map(|k| rig.owner(k)).collect();
    assert_eq!(
        spread.len(),
        2,
        "the test needs keys that spread: {spread:?}"
    );
    let Some(Ok(Value::Array(vs))) = rig.reply(id) else {
        panic!("{:?}", rig.reply(id))
    };
    assert_eq!(vs.len(), 7);
    let Some(Ok(Value::Array(vs))) = rig.reply(single) else {
        panic!("{:?}", rig.reply(single))
    };
    assert_eq!(vs.len(), 6);
    assert_eq!(rig.ring.pending(), 0);
}

#[test]
fn cancelling_a_split_command_cancels_every_part() {
    let mut rig = Rig::new(Config::default(), 3);
    rig.set_mode("a1", Mode::Hang);
    let keys: Vec<String> = (0..9).map(|i| format!("k{i}")).collect();
    let id = rig.submit(Cmd::new("MGET").arg(&keys[..])).unwrap();
    assert!(rig.ring.pending() >= 1);
    assert!(rig.ring.cancel(id));
    assert!(!rig.ring.cancel(id));
    assert_eq!(rig.ring.pending(), 0);
    rig.advance(ms(10_000));
    assert!(rig.reply(id).is_none());
}

#[test]
fn fan_out_commands_go_to_the_shards_named_never_one_at_random() {
    let mut rig = Rig::new(Config::default(), 3);
    let err = rig.submit(Cmd::new("DBSIZE")).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }));
    assert!(err.to_string().contains("submit_to_all"), "{err}");
    for i in 0..30 {
        rig.submit(Cmd::new("SET").arg(format!("k{i}")).arg(i))
            .unwrap();
    }
    let now = rig.now;
    let ids = rig.ring.submit_to_all(&Cmd::new("DBSIZE"), now);
    rig.settle();
    let names: Vec<&str> = ids.iter().map(|(n, _)| &**n).collect();
    assert_eq!(names, ["s0", "s1", "s2"]);
    let mut total = 0;
    for (name, id) in &ids {
        let addr = format!("a{}", &name[1..]);
        let Some(Ok(Value::Int(n))) = rig.reply(*id.as_ref().unwrap()) else {
            panic!()
        };
        assert_eq!(*n as usize, rig.servers[&addr].data.len());
        total += n;
    }
    assert_eq!(total, 30);
    // One shard, by name; an unknown name; a down shard; a refused class.
    let id = rig
        .ring
        .submit_to_shard("s1", Cmd::new("FLUSHDB"), now)
        .unwrap();
    rig.settle();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
    assert!(rig.servers["a1"].data.is_empty());
    assert!(matches!(
        rig.ring.submit_to_shard("nope", Cmd::new("DBSIZE"), now),
        Err(Error::InvalidCommand { .. })
    ));
    assert!(matches!(
        rig.ring
            .submit_to_shard("s0", Cmd::new("SUBSCRIBE").arg("c"), now),
        Err(Error::Unsupported { .. })
    ));
    rig.set_mode("a2", Mode::Refuse);
    rig.advance(ms(5000));
    let now = rig.now;
    let all = rig.ring.submit_to_all(&Cmd::new("DBSIZE"), now);
    rig.settle();
    assert!(matches!(&all[2].1, Err(Error::ShardDown { shard, .. }) if &**shard == "s2"));
    assert!(all[..2].iter().all(|(_, r)| r.is_ok()));
}

#[test]
fn ring_scan_yields_every_key_exactly_once() {
    let mut rig = Rig::new(Config::default(), 3);
    let keys: BTreeSet<String> = (0..25).map(|i| format!("key:{i}")).collect();
    for k in &keys {
        rig.submit(Cmd::new("SET").arg(k).arg(1)).unwrap();
    }
    let mut scan = RingScan::over(&rig.ring).count(2);
    let mut seen = Vec::new();
    let mut steps = 0;
    while let Some((shard, cmd)) = scan.next_command() {
        let now = rig.now;
        let id = rig.ring.submit_to_shard(&shard, cmd, now).unwrap();
        rig.settle();
        let reply = rig.reply(id).unwrap().clone().unwrap();
        seen.extend(scan.on_reply(reply, Some(&rig.ring)).unwrap());
        steps += 1;
    }
    assert!(steps > 3, "several steps per shard");
    assert_eq!(seen.len(), keys.len(), "no duplicates");
    let seen: BTreeSet<String> = seen
        .into_iter()
        .map(|k| String::from_utf8(k).unwrap())
        .collect();
    assert_eq!(seen, keys);
    assert!(scan.is_done());
    // A bad reply is an error and leaves the position unchanged.
    let mut scan = RingScan::over(&rig.ring);
    assert!(scan.on_reply(Value::Int(3), None).is_err());
    assert_eq!(scan.position(), (0, 0));
}

#[test]
fn a_pipeline_keeps_submission_order_and_a_hung_shard_fails_only_its_commands() {
    let mut rig = Rig::new(Config::default(), 3);
    let keys: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
    for k in &keys {
        rig.submit(Cmd::new("SET").arg(k).arg(k)).unwrap();
    }
    rig.set_mode("a1", Mode::Hang);
    let now = rig.now;
    let mut cmds: Vec<Cmd> = keys.iter().map(|k| Cmd::new("GET").arg(k)).collect();
    cmds.push(Cmd::new("MGET").arg(&keys[..3]));
    cmds.push(Cmd::new("DBSIZE")); // refused in place, the rest still runs
    let ids = rig.ring.submit_pipeline_with_timeout(cmds, ms(300), now);
    rig.settle();
    rig.advance(ms(400));
    assert_eq!(ids.len(), 32);
    assert!(ids[31].is_err());
    let ids: Vec<RequestId> = ids[..31].iter().map(|r| *r.as_ref().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids in submission order"
    );
    for (k, id) in keys.iter().zip(&ids) {
        match rig.reply(*id) {
            Some(Ok(v)) => {
                assert_ne!(rig.owner(k), "a1");
                assert_eq!(v, &bulk(k));
            }
            Some(Err(e)) => {
                assert_eq!(rig.owner(k), "a1");
                assert_eq!(e.shard(), Some("s1"), "{e}");
            }
            None => panic!("no reply for {k}"),
        }
    }
    assert!(rig.reply(ids[30]).is_some());
}
