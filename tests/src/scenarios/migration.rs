//! The migration window: a ring over 4 shards opened with a window from the placement over
//! the first 3 (`Config::migrate_from`), against servers that hold the old ring's data.

use std::time::Duration;

use redis_ring_core::config::{MigrateFrom, MigrationWindow};
use redis_ring_core::placement::{Algorithm, Placement, ShardSpec};

use super::util::{build, guard, raw, raw_get, raw_int, spec};
use super::{Cmd, RingUnderTest, Value};
use crate::Shards;

/// Index in `names` of the owner of `key`.
fn owner(names: &[String], key: &str) -> usize {
    let specs: Vec<ShardSpec<'_>> = names.iter().map(|n| ShardSpec::new(n.as_str())).collect();
    Algorithm::default()
        .build(&specs)
        .shard_for(key.as_bytes())
        .expect("shards")
}

/// Keys written through the old ring are read, updated (`SET`, `INCR`, `EXPIRE`, `DEL`,
/// `MSET`, `MGET`) through a ring of 4 with a window from 3: reads find them wherever they
/// are, any other command moves them first (so `INCR` counts on), and afterwards each
/// touched key lives on its new owner only, with its TTL.
pub fn migration_window_reads_and_moves<R: RingUnderTest>() {
    let _g = guard(false);
    for warm_up in [false, true] {
        let mut shards = Shards::start(4).unwrap();
        let all = shards.named();
        let names: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
        let old_names = names[..3].to_vec();
        // The old ring's data, written straight to each old owner.
        let moving: Vec<String> = (0..)
            .map(|i| format!("mig:{i}"))
            .filter(|k| owner(&old_names, k) != owner(&names, k))
            .take(40)
            .collect();
        for (i, key) in moving.iter().enumerate() {
            let mut c = raw(&shards.servers()[owner(&old_names, key)], None);
            c.command(&["SET", key, &i.to_string(), "EX", "1000"])
                .unwrap();
        }
        let mut s = spec(&shards);
        s.config.migrate_from = Some(MigrateFrom::new(
            all[..3].to_vec(),
            MigrationWindow::new().warm_up(warm_up),
        ));
        let ring: R = build(&s);
        let k = |i: usize| moving[i].as_str();
        // Reads find keys on their old owner.
        for (i, key) in moving.iter().enumerate().take(10) {
            let got = ring.cmd(Cmd::new("GET").arg(key.as_str())).unwrap();
            assert_eq!(got, Value::Bulk(i.to_string().into_bytes()), "GET {key}");
        }
        assert_eq!(
            ring.cmd(Cmd::new("GET").arg("mig:nowhere")).unwrap(),
            Value::Nil
        );
        // Writes move first: INCR counts from the old value; EXPIRE sees the key.
        assert_eq!(
            ring.cmd(Cmd::new("INCR").arg(k(11))).unwrap(),
            Value::Int(12)
        );
        assert_eq!(
            ring.cmd(Cmd::new("SET").arg(k(12)).arg("new")).unwrap(),
            Value::Okay
        );
        assert_eq!(
            ring.cmd(Cmd::new("EXPIRE").arg(k(13)).arg(500)).unwrap(),
            Value::Int(1)
        );
        assert_eq!(ring.cmd(Cmd::new("DEL").arg(k(14))).unwrap(), Value::Int(1));
        assert_eq!(ring.cmd(Cmd::new("GET").arg(k(14))).unwrap(), Value::Nil);
        // Split commands, per key.
        assert_eq!(ring.mset(&[(k(15), "a"), (k(16), "b")]), Ok(()));
        let got = ring.mget(&[k(15), k(17), "mig:nowhere", k(16)]).unwrap();
        assert_eq!(
            got,
            vec![
                Some(b"a".to_vec()),
                Some(b"17".to_vec()),
                None,
                Some(b"b".to_vec())
            ]
        );
        assert_eq!(ring.exists(&[k(18), k(14), k(19)]), Ok(2));
        assert_eq!(ring.del(&[k(20), k(21), "mig:nowhere"]), Ok(2));
        // Where things are now, on the servers themselves.
        for i in 11..=21 {
            let key = k(i);
            let (was, is) = (owner(&old_names, key), owner(&names, key));
            let mut old = raw(&shards.servers()[was], None);
            let mut new = raw(&shards.servers()[is], None);
            if [11, 12, 13, 15, 16].contains(&i) || (warm_up && [17, 18, 19].contains(&i)) {
                assert!(
                    raw_get(&mut old, key).is_none(),
                    "{key} left on its old owner"
                );
                assert!(
                    raw_get(&mut new, key).is_some(),
                    "{key} not on its new owner"
                );
            }
            if [14, 20, 21].contains(&i) {
                assert!(raw_get(&mut old, key).is_none() && raw_get(&mut new, key).is_none());
            }
        }
        let mut new = raw(&shards.servers()[owner(&names, k(11))], None);
        assert_eq!(raw_get(&mut new, k(11)).as_deref(), Some(&b"12"[..]));
        let ttl = raw_int(&mut new, &["TTL", k(11)]);
        assert!(
            (990..=1000).contains(&ttl),
            "INCR's key lost its TTL: {ttl}"
        );
        let mut new = raw(&shards.servers()[owner(&names, k(13))], None);
        let ttl = raw_int(&mut new, &["TTL", k(13)]);
        assert!((490..=500).contains(&ttl), "{ttl}");
        // A read with warm-up moves the key.
        if warm_up {
            let mut new = raw(&shards.servers()[owner(&names, k(0))], None);
            assert_eq!(raw_get(&mut new, k(0)).as_deref(), Some(&b"0"[..]));
        }
        std::thread::sleep(Duration::from_millis(10));
        ring.close();
        shards.server(0).kill();
    }
}

/// 4 → 3 with a window of 600 ms: the leaving shard answers for its keys during the window
/// (without being listed as a shard), then is removed (`ShardRemoved`) when the window closes;
/// a key nobody moved is then out of reach, as for any ring without a window.
pub fn migration_window_closes_after_its_duration<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(4).unwrap();
    let all = shards.named();
    let names: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
    let k = (0..)
        .map(|i| format!("leaving:{i}"))
        .find(|k| owner(&names, k) == 3)
        .unwrap();
    let mut c = raw(&shards.servers()[3], None);
    c.command(&["SET", &k, "v"]).unwrap();
    let mut s = spec(&shards);
    s.shards.truncate(3);
    s.config.migrate_from = Some(MigrateFrom::new(
        all,
        MigrationWindow::new().duration(Duration::from_millis(600)),
    ));
    let ring: R = build(&s);
    let mut events = ring.events();
    assert_eq!(
        ring.cmd(Cmd::new("GET").arg(&*k)).unwrap(),
        Value::Bulk(b"v".to_vec())
    );
    assert!(ring.shards().iter().all(|v| v.name != "shard4"));
    let removed = super::util::wait_event(
        &mut events,
        Duration::from_secs(5),
        |e| matches!(e, super::Event::ShardRemoved { name, .. } if &**name == "shard4"),
    );
    assert!(
        removed.is_some(),
        "shard4 not removed when the window closed"
    );
    assert_eq!(ring.cmd(Cmd::new("GET").arg(&*k)).unwrap(), Value::Nil);
    assert_eq!(raw_get(&mut c, &k).as_deref(), Some(&b"v"[..]));
    ring.close();
}
