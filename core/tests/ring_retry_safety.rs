//! Retry safety: a command that may have run is never re-sent behind the caller's back.
//! Re-sent automatically: what provably did not run (never completely written, refused
//! connection, `LOADING`-style error replies) and what is safe to repeat (read-only per the
//! command table, or declared idempotent with `Cmd::idempotent`).

mod ring_support;

use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::error::{Error, NetError};
use redis_ring_core::resp::Value;
use ring_support::{ms, Mode, Rig};

fn config() -> Config {
    let mut c = Config::default();
    c.max_retries = 3;
    c
}

/// One shard, connected and ready, then frozen: it reads and logs but never answers.
fn frozen_rig() -> Rig {
    let mut rig = Rig::new(config(), 1);
    let id = rig.submit(Cmd::new("SET").arg("warm").arg("1")).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
    rig.set_mode("a0", Mode::Hang);
    rig
}

#[test]
fn a_written_write_is_not_resent_when_its_connection_breaks() {
    let mut rig = frozen_rig();
    let set = rig.submit(Cmd::new("SET").arg("k").arg("v")).unwrap();
    let get = rig.submit(Cmd::new("GET").arg("k")).unwrap();
    let idem = rig
        .submit(Cmd::new("SET").arg("k2").arg("v").idempotent())
        .unwrap();
    assert_eq!(rig.data_commands("a0"), ["SET", "SET", "GET", "SET"]);
    rig.set_mode("a0", Mode::Up);
    rig.break_conns("a0", NetError::Eof);
    rig.advance(ms(500));

    match rig.reply(set) {
        Some(Err(Error::MayHaveRun {
            shard,
            addr,
            command,
            cause,
        })) => {
            assert_eq!((&**shard, &**addr, command.as_str()), ("s0", "a0", "SET"));
            assert!(matches!(
                **cause,
                Error::Disconnected {
                    cause: NetError::Eof,
                    ..
                }
            ));
        }
        other => panic!("SET: {other:?}"),
    }
    let msg = rig.reply(set).unwrap().as_ref().unwrap_err().to_string();
    assert!(
        msg.contains("may have run") && msg.contains("s0 (a0)"),
        "{msg}"
    );
    // The read-only GET and the SET declared idempotent were re-sent and answered.
    assert!(
        matches!(rig.reply(get), Some(Ok(_))),
        "{:?}",
        rig.reply(get)
    );
    assert_eq!(rig.reply(idem), Some(&Ok(Value::Okay)));
    // The SET that may have run went to the server exactly once.
    let sets = rig.servers["a0"]
        .log
        .iter()
        .filter(|w| w[0] == b"SET" && w[1] == b"k")
        .count();
    assert_eq!(sets, 1);
    assert_eq!(rig.ring.stats().may_have_run, 1);
}

#[test]
fn a_write_never_written_is_resent() {
    let mut rig = Rig::new(config(), 1);
    // The next connection never completes its handshake: the SET waits unwritten.
    rig.set_mode("a0", Mode::Hang);
    rig.break_conns("a0", NetError::Eof);
    rig.advance(ms(50));
    let set = rig.submit(Cmd::new("SET").arg("k").arg("v")).unwrap();
    assert!(rig.data_commands("a0").is_empty());
    rig.set_mode("a0", Mode::Up);
    rig.break_conns("a0", NetError::Reset);
    rig.advance(ms(500));
    assert_eq!(rig.reply(set), Some(&Ok(Value::Okay)));
}

#[test]
fn loading_replies_are_retried_for_writes_too() {
    let mut rig = Rig::new(config(), 1);
    rig.server("a0").loading = 2;
    let set = rig.submit(Cmd::new("SET").arg("k").arg("v")).unwrap();
    rig.advance(ms(500));
    assert_eq!(rig.reply(set), Some(&Ok(Value::Okay)));
}
