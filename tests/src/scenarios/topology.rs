//! Where keys go: placement checked on the servers, hash tags, membership changes,
//! per-shard commands and the shard table.

use std::time::Duration;

use redis_ring_core::command::from_value;
use redis_ring_core::placement::{Algorithm, Placement, ShardSpec};
use redis_ring_core::ring::Event;

use super::util::{build, guard, raw, raw_get, raw_int, spec, view, wait_event, wait_until};
use super::{Cmd, EventStream, RingUnderTest, Value};
use crate::Shards;

/// The shard name placement gives `key` over `names` (computed here, independently of the
/// client under test).
fn placed(names: &[&str], key: &str) -> String {
    let specs: Vec<ShardSpec<'_>> = names.iter().map(|n| ShardSpec::new(*n)).collect();
    let id = Algorithm::default()
        .build(&specs)
        .shard_for(key.as_bytes())
        .expect("placement over at least one shard");
    names[id].to_string()
}

fn set<R: RingUnderTest>(ring: &R, key: &str, value: &str) {
    let v = ring
        .cmd(Cmd::new("SET").arg(key).arg(value))
        .unwrap_or_else(|e| panic!("{}: SET {key}: {e}", R::DRIVER));
    assert_eq!(v, Value::Okay);
}

/// 100 keys set through the ring are exactly where the placement algorithm (go-redis v9
/// rendezvous over the shard names) puts them, looked up on each server directly.
pub fn keys_land_where_placement_says<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let names = ["shard1", "shard2", "shard3"];
    let keys: Vec<String> = (0..100).map(|i| format!("key:{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        set(&ring, key, &i.to_string());
        assert_eq!(
            ring.shard_for_key(key).as_deref(),
            Some(&*placed(&names, key)),
            "shard_for_key({key})"
        );
    }
    let mut per_shard = [0i64; 3];
    for (s, server) in shards.servers().iter().enumerate() {
        let mut conn = raw(server, None);
        for (i, key) in keys.iter().enumerate() {
            let here = placed(&names, key) == names[s];
            let got = raw_get(&mut conn, key);
            if here {
                assert_eq!(
                    got,
                    Some(i.to_string().into_bytes()),
                    "{key} on {}",
                    names[s]
                );
                per_shard[s] += 1;
            } else {
                assert_eq!(got, None, "{key} must not be on {}", names[s]);
            }
        }
        assert_eq!(
            raw_int(&mut conn, &["DBSIZE"]),
            per_shard[s],
            "{}",
            names[s]
        );
    }
    // Every shard got some keys: the ring really spreads them.
    assert!(per_shard.iter().all(|&n| n > 10), "{per_shard:?}");
    ring.close();
}

/// Keys sharing a hash tag live on the shard of the tag, checked on the server; the go-redis
/// rules (first `{`, next `}`, empty tag = whole key) apply.
pub fn hash_tags_keep_keys_together<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let names = ["shard1", "shard2", "shard3"];
    for tag in ["user42", "order:7", "x"] {
        let home = placed(&names, tag);
        let idx = names.iter().position(|n| *n == home).unwrap();
        let mut conn = raw(&shards.servers()[idx], None);
        for suffix in 0..10 {
            let key = format!("{{{tag}}}:field{suffix}");
            set(&ring, &key, "v");
            assert_eq!(ring.shard_for_key(&key).as_deref(), Some(&*home), "{key}");
            assert_eq!(
                raw_get(&mut conn, &key).as_deref(),
                Some(&b"v"[..]),
                "{key}"
            );
        }
        // A tag in the middle, and only the first one counts.
        let key = format!("pre{{{tag}}}post{{other}}");
        set(&ring, &key, "w");
        assert_eq!(
            raw_get(&mut conn, &key).as_deref(),
            Some(&b"w"[..]),
            "{key}"
        );
    }
    // `{}` is not a tag: the whole key is hashed.
    for key in ["a{}b", "{}", "c{"] {
        assert_eq!(ring.shard_for_key(key), Some(placed(&names, key)), "{key}");
    }
    ring.close();
}

/// `set_shards`: a new shard is added and serves its keys at once; a removed shard's keys
/// move to the remaining ones; an unchanged shard keeps its state.
pub fn set_shards_grow_and_shrink<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let all = shards.named();
    let mut s = spec(&shards);
    s.shards.truncate(2);
    let ring: R = build(&s);
    let mut events = ring.events();
    assert_eq!(ring.len(), 2);
    let keys: Vec<String> = (0..100).map(|i| format!("grow:{i}")).collect();
    for k in &keys {
        set(&ring, k, "before");
    }

    // Grow.
    ring.set_shards(&all);
    let added = wait_event(
        &mut events,
        Duration::from_secs(10),
        |e| matches!(e, Event::ShardAdded { name, .. } if &**name == "shard3"),
    );
    assert!(added.is_some(), "no ShardAdded for shard3");
    assert!(
        wait_until(Duration::from_secs(10), || ring.len() == 3),
        "len {}",
        ring.len()
    );
    let three = ["shard1", "shard2", "shard3"];
    let mut conn3 = raw(&shards.servers()[2], None);
    let mut moved = 0;
    for k in &keys {
        let home = placed(&three, k);
        assert_eq!(ring.shard_for_key(k).as_deref(), Some(&*home), "{k}");
        if home == "shard3" {
            // Cache semantics: the new owner does not have the old value.
            let v: Option<String> =
                from_value(ring.cmd(Cmd::new("GET").arg(&**k)).unwrap()).unwrap();
            assert_eq!(v, None, "{k}");
            set(&ring, k, "after");
            assert_eq!(
                raw_get(&mut conn3, k).as_deref(),
                Some(&b"after"[..]),
                "{k}"
            );
            moved += 1;
        } else {
            // Rendezvous moves only the keys the new shard wins.
            let v: Option<String> =
                from_value(ring.cmd(Cmd::new("GET").arg(&**k)).unwrap()).unwrap();
            assert_eq!(v.as_deref(), Some("before"), "{k}");
        }
    }
    assert!(moved > 10, "only {moved} keys moved to shard3");

    // Shrink: shard1 leaves.
    ring.set_shards(&all[1..]);
    let removed = wait_event(
        &mut events,
        Duration::from_secs(10),
        |e| matches!(e, Event::ShardRemoved { name, .. } if &**name == "shard1"),
    );
    assert!(removed.is_some(), "no ShardRemoved for shard1");
    assert_eq!(ring.len(), 2);
    let views = ring.shards();
    assert_eq!(views.len(), 2, "{views:?}");
    assert!(views.iter().all(|v| v.name != "shard1"), "{views:?}");
    let two = ["shard2", "shard3"];
    for k in &keys {
        let home = placed(&two, k);
        assert_eq!(ring.shard_for_key(k).as_deref(), Some(&*home), "{k}");
        set(&ring, k, "shrunk");
    }
    for (i, name) in two.iter().enumerate() {
        let mut conn = raw(&shards.servers()[i + 1], None);
        for k in keys.iter().filter(|k| placed(&two, k) == *name) {
            assert_eq!(
                raw_get(&mut conn, k).as_deref(),
                Some(&b"shrunk"[..]),
                "{k} on {name}"
            );
        }
    }
    // shard1 is no longer written to.
    let mut conn1 = raw(&shards.servers()[0], None);
    for k in &keys {
        assert_ne!(
            raw_get(&mut conn1, k).as_deref(),
            Some(&b"shrunk"[..]),
            "{k} on shard1"
        );
    }
    ring.close();
}

/// `stats()` lists every shard with its address and state; a healthy ring emits no event.
pub fn shard_table_and_events<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let mut events = ring.events();
    for i in 0..30 {
        set(&ring, &format!("st:{i}"), "v");
    }
    let views = ring.shards();
    assert_eq!(views.len(), 3);
    for (name, addr) in shards.named() {
        let v = view(&views, &name);
        assert_eq!(v.addr, addr);
        assert!(v.up, "{v:?}");
    }
    assert_eq!(ring.len(), 3);
    assert_eq!(events.next_event(Duration::from_millis(300)), None);
    ring.close();
}

/// `for_each_shard` reaches every live shard once, by name.
pub fn for_each_shard_reaches_every_shard<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    for i in 0..60 {
        set(&ring, &format!("fe:{i}"), "v");
    }
    let mut results = ring.for_each_shard(&Cmd::new("DBSIZE"));
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = results.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["shard1", "shard2", "shard3"]);
    let mut total = 0;
    for ((name, result), server) in results.into_iter().zip(shards.servers()) {
        let n: i64 = from_value(result.unwrap()).unwrap();
        assert_eq!(n, raw_int(&mut raw(server, None), &["DBSIZE"]), "{name}");
        total += n;
    }
    assert_eq!(total, 60);
    ring.close();
}
