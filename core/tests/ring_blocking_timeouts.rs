//! Timeouts of blocking commands: an explicit per-call timeout caps the whole call (block
//! time included, `BLPOP q 0` too); the default command timeout adds to the block time.

mod ring_support;

use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::error::Error;
use redis_ring_core::ring::RequestId;
use redis_ring_core::time::{Duration, Instant};
use ring_support::{ms, Rig};

/// When `id` timed out, counted from `start`.
fn timed_out_at(rig: &Rig, id: RequestId, start: Instant) -> Duration {
    let (_, r, at) = rig.replies.iter().find(|(i, ..)| *i == id).expect("reply");
    assert!(matches!(r, Err(Error::Timeout { .. })), "{r:?}");
    *at - start
}

#[test]
fn an_explicit_timeout_caps_a_blocking_call_even_block_0() {
    let mut config = Config::default();
    config.command_timeout = ms(3_000);
    let mut rig = Rig::new(config, 1);
    let start = rig.now;
    let forever = rig
        .submit_timeout(Cmd::new("BLPOP").arg("q").arg(0), ms(1_000))
        .unwrap();
    let five = rig
        .submit_timeout(Cmd::new("BLPOP").arg("q").arg(5), ms(1_000))
        .unwrap();
    let default = rig.submit(Cmd::new("BLPOP").arg("q").arg(1)).unwrap();
    let default_forever = rig.submit(Cmd::new("BLPOP").arg("q").arg(0)).unwrap();
    rig.advance(ms(999));
    assert!(rig.reply(forever).is_none() && rig.reply(five).is_none());
    rig.advance(ms(1));
    assert_eq!(timed_out_at(&rig, forever, start), ms(1_000));
    assert_eq!(timed_out_at(&rig, five, start), ms(1_000));
    // The default: block time (1 s) plus the command timeout (3 s).
    rig.advance(ms(2_999));
    assert!(rig.reply(default).is_none());
    rig.advance(ms(1));
    assert_eq!(timed_out_at(&rig, default, start), ms(4_000));
    // Block 0 with the default timeout waits as long as the server does.
    rig.advance(ms(60_000));
    assert!(rig.reply(default_forever).is_none());
}
