//! `RingCore` against servers that misbehave on purpose (see `ring_support` for the rig):
//! what hostile-server tests through the drivers found, pinned down deterministically.
//!
//! * A reply trickling in a byte at a time, or a stream of push frames, is not progress:
//!   the heartbeat stuck behind it fails, the shard goes down and the connection is dropped
//!   (it used to wait for ever, as long as bytes kept coming).
//! * `Config::max_reply_len` bounds what an incomplete reply may make the client buffer: a
//!   reply over it (a string announcing more, at top level or inside an aggregate, or an
//!   aggregate adding up to more) fails its own request only and is skipped unbuffered.
#![allow(clippy::field_reassign_with_default)]

mod ring_support;

use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::error::Error;
use redis_ring_core::resp::{ErrorKind, Value};
use redis_ring_core::ring::{ConnId, Event, Input};
use ring_support::{ms, Mode, Rig};

fn get(k: &str) -> Cmd {
    Cmd::new("GET").arg(k)
}

/// A one-shard ring whose server reads but never answers by itself; the test writes the
/// server's bytes by hand.
fn hung_rig(config: Config) -> (Rig, ConnId) {
    let mut rig = Rig::new(config, 1);
    rig.set_mode("a0", Mode::Hang);
    let (conn, _) = rig.connects.last().unwrap().clone();
    (rig, conn)
}

fn feed(rig: &mut Rig, conn: ConnId, data: &[u8]) {
    let now = rig.now;
    rig.ring.handle_input(Input::Received { conn, data, now });
    rig.settle();
}

fn went_down(rig: &Rig) -> bool {
    rig.events
        .iter()
        .any(|(e, _)| matches!(e, Event::ShardDown { .. }))
}

/// `reply` is `ReplyTooLarge` for a 100 000-byte announcement over the 1000-byte cap, on
/// shard `s0`, and its message names `command`.
fn expect_too_large_100k(reply: Option<&Result<Value, Error>>, command: &str) {
    match reply {
        Some(Err(
            e @ Error::ReplyTooLarge {
                limit: 1000,
                announced: 100_000,
                ..
            },
        )) => {
            assert_eq!(e.shard(), Some("s0"));
            assert!(e.to_string().contains(command), "{e}");
        }
        other => panic!("expected ReplyTooLarge, got {other:?}"),
    }
}

#[test]
fn a_reply_trickling_a_byte_at_a_time_does_not_keep_the_connection_alive() {
    // Default heartbeat timeout (500 ms); one byte every 300 ms would have looked "busy".
    let (mut rig, conn) = hung_rig(Config::default());
    let id = rig.submit(get("k")).unwrap();
    let reply = b"$16\r\n0123456789abcdef\r\n";
    for &b in reply.iter().take(reply.len() - 1) {
        rig.advance(ms(300));
        feed(&mut rig, conn, &[b]);
        if went_down(&rig) {
            break;
        }
    }
    assert!(
        went_down(&rig),
        "a trickle of {} bytes over {:?} kept the shard up: {:?}",
        reply.len(),
        ms(300 * reply.len() as u64),
        rig.events
    );
    assert!(
        rig.closes.contains(&conn),
        "the stuck connection was not closed"
    );
    // The request failed with the connection; its retry finds the only shard down.
    rig.advance(ms(100));
    assert!(
        matches!(rig.reply(id), Some(Err(Error::AllShardsDown { .. }))),
        "{:?}",
        rig.reply(id)
    );
}

#[test]
fn a_stream_of_push_frames_is_not_progress_either() {
    let (mut rig, conn) = hung_rig(Config::default());
    rig.submit(get("k")).unwrap();
    for _ in 0..20 {
        rig.advance(ms(200));
        feed(&mut rig, conn, b">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n");
        if went_down(&rig) {
            break;
        }
    }
    assert!(
        went_down(&rig),
        "push frames kept the shard up: {:?}",
        rig.events
    );
    assert!(rig.closes.contains(&conn));
}

#[test]
fn whole_replies_still_count_as_progress() {
    // The other side of the rule: a backlog answered slowly but reply by reply is a busy
    // shard, not a hung one (ring_behaviour has the long version).
    let (mut rig, conn) = hung_rig(Config::default());
    for i in 0..6 {
        rig.submit(get(&format!("k{i}"))).unwrap();
    }
    for _ in 0..6 {
        rig.advance(ms(400));
        feed(&mut rig, conn, b"$-1\r\n");
    }
    assert!(!went_down(&rig), "{:?}", rig.events);
}

#[test]
fn a_string_over_the_cap_inside_an_array_fails_alone_and_keeps_the_connection() {
    // MGET small big small: the big element's header fails the request at once; the rest
    // of the array goes by unbuffered, the next reply on the connection is read as usual.
    let mut config = Config::default();
    config.max_reply_len = 1000;
    let (mut rig, conn) = hung_rig(config);
    let id = rig
        .submit(Cmd::new("MGET").arg("a").arg("big").arg("c"))
        .unwrap();
    let next = rig.submit(get("k2")).unwrap();
    feed(&mut rig, conn, b"*3\r\n$1\r\na\r\n$100000\r\n");
    expect_too_large_100k(rig.reply(id), "MGET");
    for _ in 0..333 {
        feed(&mut rig, conn, &[b'x'; 300]);
    }
    let mut tail = vec![b'x'; 100];
    tail.extend_from_slice(b"\r\n$1\r\nc\r\n$1\r\nv\r\n");
    feed(&mut rig, conn, &tail);
    assert_eq!(rig.reply(next), Some(&Ok(Value::Bulk(b"v".to_vec()))));
    assert!(!rig.closes.contains(&conn));
    assert!(!went_down(&rig), "{:?}", rig.events);
    assert_eq!(rig.ring.stats().replies_too_large, 1);
}

#[test]
fn an_array_adding_up_past_the_cap_fails_alone_once_the_cap_is_reached() {
    // Many elements, each under the cap: the request fails when the bytes received of its
    // reply pass the cap (the size reported is what had arrived), no later.
    let mut config = Config::default();
    config.max_reply_len = 1000;
    let (mut rig, conn) = hung_rig(config);
    let id = rig
        .submit(Cmd::new("LRANGE").arg("l").arg(0).arg(-1))
        .unwrap();
    let next = rig.submit(get("k2")).unwrap();
    feed(&mut rig, conn, b"*500\r\n");
    let mut sent = 7;
    for _ in 0..500 {
        if rig.reply(id).is_none() {
            sent += 9;
        }
        feed(&mut rig, conn, b"$3\r\nabc\r\n");
    }
    match rig.reply(id) {
        Some(Err(
            e @ Error::ReplyTooLarge {
                limit: 1000,
                announced,
                ..
            },
        )) => {
            assert!((1001..=1009).contains(announced), "{e}");
            assert!(e.to_string().contains("LRANGE"), "{e}");
        }
        other => panic!("expected ReplyTooLarge, got {other:?}"),
    }
    assert!(sent <= 1000 + 9, "refused only after {sent} bytes");
    feed(&mut rig, conn, b"$1\r\nv\r\n");
    assert_eq!(rig.reply(next), Some(&Ok(Value::Bulk(b"v".to_vec()))));
    assert!(!rig.closes.contains(&conn));
}

#[test]
fn a_push_frame_past_the_cap_still_drops_the_connection() {
    // No request to fail (a subscriber must not lose a message silently).
    let mut config = Config::default();
    config.max_reply_len = 1000;
    let (mut rig, conn) = hung_rig(config);
    let id = rig.submit(get("k")).unwrap();
    feed(&mut rig, conn, b">2\r\n$7\r\nmessage\r\n$100000\r\n");
    match rig.reply(id) {
        Some(Err(Error::Protocol { error, shard, .. })) => {
            assert_eq!(error.kind(), ErrorKind::ReplyTooLong);
            assert_eq!(&**shard, "s0");
            assert!(error.to_string().contains("max_reply_len"), "{error}");
        }
        other => panic!("expected ReplyTooLong, got {other:?}"),
    }
    assert!(rig.closes.contains(&conn));
}

#[test]
fn a_top_level_string_over_the_cap_fails_alone_and_keeps_the_connection() {
    let mut config = Config::default();
    config.max_reply_len = 1000;
    let (mut rig, conn) = hung_rig(config);
    let id = rig.submit(get("k")).unwrap();
    let next = rig.submit(get("k2")).unwrap();
    feed(&mut rig, conn, b"$100000\r\n");
    expect_too_large_100k(rig.reply(id), "GET");
    for _ in 0..333 {
        feed(&mut rig, conn, &[b'x'; 300]);
    }
    let mut tail = vec![b'x'; 100];
    tail.extend_from_slice(b"\r\n$1\r\nv\r\n");
    feed(&mut rig, conn, &tail);
    assert_eq!(rig.reply(next), Some(&Ok(Value::Bulk(b"v".to_vec()))));
    assert!(!rig.closes.contains(&conn));
    assert_eq!(rig.ring.stats().replies_too_large, 1);
}

#[test]
fn the_receive_cap_is_per_reply_not_per_read() {
    let mut config = Config::default();
    config.max_reply_len = 64;
    let (mut rig, conn) = hung_rig(config);
    let ids: Vec<_> = (0..40)
        .map(|i| rig.submit(get(&format!("k{i}"))).unwrap())
        .collect();
    // 40 small replies in one read (800 bytes, far more than the cap), and one split in two.
    let mut wire = b"$14\r\nvalue-of-a-key\r\n".repeat(39);
    wire.extend_from_slice(b"$14\r\nvalue");
    feed(&mut rig, conn, &wire);
    feed(&mut rig, conn, b"-of-a-key\r\n");
    for id in ids {
        assert_eq!(
            rig.reply(id),
            Some(&Ok(Value::Bulk(b"value-of-a-key".to_vec())))
        );
    }
    assert!(!rig.closes.contains(&conn));
}

#[test]
fn the_default_receive_cap_is_64_mib() {
    // The decision recorded in `Config::max_reply_len`: bounded by default, far above what
    // a cache returns.
    assert_eq!(Config::default().max_reply_len, 64 << 20);
}
