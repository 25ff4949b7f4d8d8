//! Graceful removal: `set_shards` dropping a shard awaits, on the old connection, the replies
//! it already owes (bounded by the command timeout) and re-routes what it never received to
//! the keys' new owner. No error unless a reply never comes.

mod ring_support;

use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::error::{Error, NetError};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::Event;
use ring_support::{ms, Mode, Rig};

fn key_on(rig: &Rig, addr: &str) -> String {
    (0..1000)
        .map(|i| format!("k{i}"))
        .find(|k| rig.owner(k) == addr)
        .unwrap()
}

fn only_s1(rig: &mut Rig) {
    let now = rig.now;
    rig.ring.set_shards([("s1", "a1")], now);
    rig.settle();
}

#[test]
fn replies_already_owed_are_awaited_on_the_old_connection() {
    let mut rig = Rig::new(Config::default(), 2);
    let k = key_on(&rig, "a0");
    rig.set_mode("a0", Mode::Hold);
    let set = rig.submit(Cmd::new("SET").arg(&k).arg("v")).unwrap();
    let get = rig.submit(Cmd::new("GET").arg(&k)).unwrap();
    only_s1(&mut rig);
    assert!(rig
        .events
        .iter()
        .any(|(e, _)| matches!(e, Event::ShardRemoved { name, .. } if &**name == "s0")));
    assert!(rig.reply(set).is_none(), "still owed, not failed");
    rig.advance(ms(100));
    rig.release("a0");
    assert_eq!(rig.reply(set), Some(&Ok(Value::Okay)));
    assert_eq!(rig.reply(get), Some(&Ok(Value::Bulk(b"v".to_vec()))));
    // The old connection closed once it owed nothing; the shard is gone from the ring.
    assert!(!rig.closes.is_empty());
    assert_eq!(rig.ring.shards().count(), 1);
    assert_eq!(rig.owner(&k), "a1");
}

#[test]
fn requests_never_sent_go_to_the_new_owner() {
    let mut rig = Rig::new(Config::default(), 2);
    let k = key_on(&rig, "a0");
    // s0's next connection never completes its handshake: the SET waits unwritten.
    rig.set_mode("a0", Mode::Hang);
    rig.break_conns("a0", NetError::Eof);
    rig.advance(ms(20));
    let set = rig.submit(Cmd::new("SET").arg(&k).arg("v")).unwrap();
    assert!(rig.data_commands("a0").is_empty());
    only_s1(&mut rig);
    assert_eq!(rig.reply(set), Some(&Ok(Value::Okay)));
    assert_eq!(rig.data_commands("a1"), ["SET"]);
    assert_eq!(rig.ring.stats().retries, 0);
}

#[test]
fn a_reply_that_never_comes_times_out_by_its_deadline() {
    let mut config = Config::default();
    config.command_timeout = ms(1_000);
    let mut rig = Rig::new(config, 2);
    let k = key_on(&rig, "a0");
    rig.set_mode("a0", Mode::Hang);
    let start = rig.now;
    let set = rig.submit(Cmd::new("SET").arg(&k).arg("v")).unwrap();
    rig.advance(ms(300));
    only_s1(&mut rig);
    assert!(rig.reply(set).is_none());
    rig.advance(ms(800));
    let (_, result, at) = rig.replies.iter().find(|(i, ..)| *i == set).unwrap();
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    assert_eq!(*at - start, ms(1_000));
    // The draining connection is closed by the command timeout after the removal.
    rig.advance(ms(400));
    assert!(!rig.closes.is_empty());
}
