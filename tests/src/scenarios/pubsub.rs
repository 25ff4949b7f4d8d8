//! Pub/sub across shards: channels placed like keys, patterns on every shard, sharded
//! channels, and subscriptions that survive a shard restart.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::util::{build, guard, is_down, is_up, raw, spec, wait_event};
use super::{Cmd, Message, RingUnderTest, SubKind, Subscription};
use crate::harness::Reply;
use crate::Shards;

/// Receives messages until `expected` have come (any order) or 3 s pass; fails on anything
/// unexpected.
fn receive_all(
    sub: &mut impl Subscription,
    mut expected: HashSet<(Vec<u8>, Vec<u8>)>,
    pattern: Option<&str>,
) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !expected.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg: Message = match sub.next_message(left) {
            Some(Ok(m)) => m,
            Some(Err(e)) => panic!("subscription failed: {e}"),
            None => panic!("missing messages: {} still expected", expected.len()),
        };
        assert_eq!(
            msg.pattern.as_deref(),
            pattern.map(str::as_bytes),
            "{msg:?}"
        );
        assert!(
            expected.remove(&(msg.channel.clone(), msg.payload.clone())),
            "unexpected {msg:?}"
        );
    }
    assert!(
        sub.next_message(Duration::from_millis(100)).is_none(),
        "a message arrived twice"
    );
}

fn channels(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Channels spread over every shard: each is subscribed on the shard its name hashes to
/// (checked with `PUBSUB CHANNELS` on each server), and `publish` meets its subscribers.
pub fn subscribe_across_shards<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let chans = channels("ch:", 20);
    let names: Vec<&str> = chans.iter().map(|c| &**c).collect();
    let mut sub = ring.subscribe(SubKind::Channel, &names).unwrap();
    for (i, (name, _)) in shards.named().iter().enumerate() {
        let reply = raw(&shards.servers()[i], None)
            .command(&["PUBSUB", "CHANNELS", "ch:*"])
            .unwrap();
        let Reply::Array(Some(items)) = reply else {
            panic!("PUBSUB CHANNELS: {reply:?}")
        };
        let here: HashSet<String> = items
            .into_iter()
            .map(|r| match r {
                Reply::Bulk(Some(b)) => String::from_utf8(b).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        let expected: HashSet<String> = chans
            .iter()
            .filter(|c| ring.shard_for_key(c).as_deref() == Some(name.as_str()))
            .cloned()
            .collect();
        assert!(!expected.is_empty(), "no channel on {name}");
        assert_eq!(here, expected, "channels subscribed on {name}");
    }
    let mut expected = HashSet::new();
    for (i, c) in chans.iter().enumerate() {
        let payload = format!("m{i}");
        assert_eq!(ring.publish(c, &payload).unwrap(), 1, "PUBLISH {c}");
        expected.insert((c.clone().into_bytes(), payload.into_bytes()));
    }
    receive_all(&mut sub, expected, None);
    // Nobody listens on another channel.
    assert_eq!(ring.publish("nobody", "x").unwrap(), 0);
    drop(sub);
    ring.close();
}

/// A pattern subscription sees channels of every shard.
pub fn psubscribe_sees_every_shard<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let mut sub = ring.subscribe(SubKind::Pattern, &["news.*"]).unwrap();
    let chans = channels("news.", 20);
    let homes: HashSet<String> = chans
        .iter()
        .map(|c| ring.shard_for_key(c).unwrap())
        .collect();
    assert_eq!(homes.len(), 3, "the channels must span every shard");
    let mut expected = HashSet::new();
    for c in &chans {
        assert_eq!(ring.publish(c, "hello").unwrap(), 1, "PUBLISH {c}");
        expected.insert((c.clone().into_bytes(), b"hello".to_vec()));
    }
    receive_all(&mut sub, expected, Some("news.*"));
    ring.close();
}

/// Sharded pub/sub (`SSUBSCRIBE` / `SPUBLISH`) meets on the channel's shard.
pub fn ssubscribe_sharded<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let chans = channels("sch:", 12);
    let names: Vec<&str> = chans.iter().map(|c| &**c).collect();
    let mut sub = ring.subscribe(SubKind::Sharded, &names).unwrap();
    let mut expected = HashSet::new();
    for c in &chans {
        let n = ring
            .cmd(Cmd::new("SPUBLISH").arg(&**c).arg("s"))
            .unwrap_or_else(|e| panic!("SPUBLISH {c}: {e}"));
        assert_eq!(n, super::Value::Int(1), "SPUBLISH {c}");
        expected.insert((c.clone().into_bytes(), b"s".to_vec()));
    }
    receive_all(&mut sub, expected, None);
    ring.close();
}

/// A subscription survives the restart of one of its shards: the ring sees the shard go
/// down and come back up, and then messages on its channels arrive again.
pub fn subscription_survives_restart<R: RingUnderTest>() {
    let _g = guard(true);
    let mut shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let mut events = ring.events();
    let chans = channels("live:", 12);
    let names: Vec<&str> = chans.iter().map(|c| &**c).collect();
    let mut sub = ring.subscribe(SubKind::Channel, &names).unwrap();
    shards.server(0).kill();
    assert!(
        wait_event(&mut events, Duration::from_secs(10), |e| is_down(
            e, "shard1"
        ))
        .is_some(),
        "shard1's death went unnoticed"
    );
    shards.server(0).restart().unwrap();
    assert!(
        wait_event(&mut events, Duration::from_secs(10), |e| is_up(e, "shard1")).is_some(),
        "shard1 did not come back"
    );
    assert_eq!(ring.len(), 3);
    // The resubscription may take a moment after the shard is back: wait until the
    // restarted shard's subscriber count is back to 1.
    let on_victim: Vec<&String> = chans
        .iter()
        .filter(|c| ring.shard_for_key(c).as_deref() == Some("shard1"))
        .collect();
    assert!(!on_victim.is_empty());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = raw(&shards.servers()[0], None)
            .command(&["PUBSUB", "NUMSUB", on_victim[0]])
            .unwrap();
        if n == Reply::Array(Some(vec![
            Reply::Bulk(Some(on_victim[0].clone().into_bytes())),
            Reply::Int(1),
        ])) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not resubscribed on shard1: {n:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut expected = HashSet::new();
    for c in &chans {
        assert_eq!(ring.publish(c, "again").unwrap(), 1, "PUBLISH {c}");
        expected.insert((c.clone().into_bytes(), b"again".to_vec()));
    }
    receive_all(&mut sub, expected, None);
    ring.close();
}
