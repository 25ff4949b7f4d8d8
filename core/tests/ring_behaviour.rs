//! `RingCore` behaviour through a driver loop over fake servers (see `ring_support`): routing,
//! pipelining, liveness, retries, timeouts, handshakes, membership changes.
#![allow(clippy::field_reassign_with_default)]

mod ring_support;

use redis_ring_core::command::Cmd;
use redis_ring_core::config::{Config, HeartbeatCheck, Protocol};
use redis_ring_core::error::{Error, NetError};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{Event, Input, Output, RingCore};
use redis_ring_core::time::{Duration, Instant};
use ring_support::{ms, Mode, Rig};

fn set(k: &str, v: &str) -> Cmd {
    Cmd::new("SET").arg(k).arg(v)
}

fn get(k: &str) -> Cmd {
    Cmd::new("GET").arg(k)
}

/// A key owned by `addr` in the rig's current placement.
fn key_on(rig: &Rig, addr: &str) -> String {
    (0..10_000)
        .map(|i| format!("key{i}"))
        .find(|k| rig.owner(k) == addr)
        .unwrap()
}

#[test]
fn set_then_get_through_the_ring_with_one_transmit_per_drain() {
    let mut rig = Rig::new(Config::default(), 3);
    let ids: Vec<_> = (0..300)
        .map(|i| {
            rig.ring
                .submit(set(&format!("k{i}"), &format!("v{i}")), rig.now)
                .unwrap()
        })
        .collect();
    rig.settle();
    assert_eq!(
        rig.max_transmits_per_conn_per_drain, 1,
        "one Transmit per connection per drain"
    );
    for id in &ids {
        assert_eq!(rig.reply(*id), Some(&Ok(Value::Okay)));
    }
    // Each key went to the shard placement names.
    for i in 0..300 {
        let k = format!("k{i}");
        let owner = rig.owner(&k);
        assert_eq!(
            rig.servers[&owner].data.get(k.as_bytes()),
            Some(&format!("v{i}").into_bytes())
        );
    }
    let id = rig.submit(get("k7")).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Bulk(b"v7".to_vec()))));
    let id = rig.submit(get("missing")).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Nil)));
    assert_eq!(rig.ring.live_len(), 3);
    assert_eq!(rig.ring.pending(), 0);
    // One connection per shard, opened once.
    assert_eq!(rig.connects.len(), 3);
}

#[test]
fn server_errors_are_errors_naming_shard_and_command() {
    let mut rig = Rig::new(Config::default(), 2);
    let id = rig.submit(Cmd::new("NOSUCHCMD").arg("k")).unwrap();
    let Some(Err(Error::Server {
        shard,
        addr,
        command,
        message,
    })) = rig.reply(id)
    else {
        panic!("{:?}", rig.reply(id))
    };
    assert_eq!(command.as_str(), "NOSUCHCMD");
    assert_eq!(message, "ERR unknown command");
    assert_eq!(rig.owner("k"), addr.to_string());
    assert!(shard.starts_with('s'));
}

#[test]
fn refused_shard_is_down_within_a_few_probe_round_trips_and_its_keys_move() {
    let mut rig = Rig::new(Config::default(), 3);
    let victim_key = key_on(&rig, "a1");
    let other_key = key_on(&rig, "a0");
    let t0 = rig.now;
    rig.set_mode("a1", Mode::Refuse); // resets the live connection
                                      // A command for the dead shard: fails fast or retries elsewhere, never hangs.
    let id = rig.submit(set(&victim_key, "x")).unwrap();
    let other = rig.submit(set(&other_key, "y")).unwrap();
    assert_eq!(
        rig.reply(other),
        Some(&Ok(Value::Okay)),
        "other shards are not delayed at all"
    );
    rig.advance(ms(300));
    let down_at = rig
        .events
        .iter()
        .find_map(|(e, t)| {
            matches!(e, Event::ShardDown { name, .. } if &**name == "s1").then_some(*t)
        })
        .expect("s1 down");
    // Reset → immediate probe (refused) → 2 more probes 50 ms apart.
    assert!(
        down_at - t0 <= ms(2 * 50 + 10),
        "down after {:?}",
        down_at - t0
    );
    assert_eq!(rig.ring.live_len(), 2);
    let (_, result, at) = rig.replies.iter().find(|(i, ..)| *i == id).unwrap();
    assert!(*at - t0 <= ms(600), "answered within its retries");
    match result {
        Ok(Value::Okay) => assert_ne!(rig.owner(&victim_key), "a1"),
        Err(e) => assert!(
            matches!(
                e,
                Error::Connect {
                    cause: NetError::Refused,
                    ..
                }
            ),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    // Keys of the dead shard now live elsewhere.
    let id = rig.submit(set(&victim_key, "z")).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
    assert_ne!(rig.owner(&victim_key), "a1");
    let Some(Event::ShardDown { reason, addr, .. }) = rig
        .events
        .iter()
        .map(|(e, _)| e)
        .find(|e| matches!(e, Event::ShardDown { .. }))
    else {
        panic!()
    };
    assert_eq!(&**addr, "a1");
    assert!(
        matches!(
            reason,
            Error::Connect {
                cause: NetError::Refused,
                ..
            }
        ),
        "{reason}"
    );
}

#[test]
fn restarted_shard_is_up_within_one_heartbeat() {
    let mut rig = Rig::new(Config::default(), 2);
    rig.set_mode("a1", Mode::Refuse);
    rig.advance(ms(5_000));
    assert_eq!(rig.down_events(), ["s1"]);
    let restart = rig.now;
    rig.set_mode("a1", Mode::Up);
    rig.advance(ms(600));
    let up_at = rig
        .events
        .iter()
        .find_map(|(e, t)| matches!(e, Event::ShardUp { .. }).then_some(*t))
        .expect("s1 up");
    assert!(up_at - restart <= ms(500), "up after {:?}", up_at - restart);
    assert_eq!(rig.ring.live_len(), 2);
}

#[test]
fn all_shards_down_fails_at_once_naming_every_shard() {
    let mut rig = Rig::new(Config::default(), 3);
    for a in ["a0", "a1", "a2"] {
        rig.set_mode(a, Mode::Refuse);
    }
    rig.advance(ms(1_000));
    assert_eq!(rig.ring.live_len(), 0);
    let err = rig.submit(get("k")).unwrap_err();
    let Error::AllShardsDown { shards, command } = &err else {
        panic!("{err}")
    };
    assert_eq!(command.as_str(), "GET");
    let names: Vec<_> = shards.iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["s0", "s1", "s2"]);
    for s in shards {
        assert!(
            matches!(
                s.last_error.as_deref(),
                Some(Error::Connect {
                    cause: NetError::Refused,
                    ..
                })
            ),
            "{:?}",
            s.last_error
        );
    }
    let text = err.to_string();
    assert!(
        text.contains("s2 (a2)") && text.contains("refused"),
        "{text}"
    );
}

#[test]
fn hung_shard_goes_down_and_never_delays_the_others() {
    let mut config = Config::default();
    config.command_timeout = ms(3_000);
    let mut rig = Rig::new(config, 3);
    let stuck_key = key_on(&rig, "a2");
    let t0 = rig.now;
    rig.set_mode("a2", Mode::Hang);
    let stuck = rig.submit(set(&stuck_key, "v")).unwrap();
    let stuck_read = rig.submit(get(&stuck_key)).unwrap();
    for i in 0..25u32 {
        rig.advance(ms(100));
        let k = key_on(&rig, if i.is_multiple_of(2) { "a0" } else { "a1" });
        let id = rig.submit(set(&k, "v")).unwrap();
        assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)), "answered at once");
    }
    let down_at = rig
        .events
        .iter()
        .find_map(|(e, t)| matches!(e, Event::ShardDown { .. }).then_some(*t))
        .expect("hung shard down");
    // fail_threshold probes of heartbeat_timeout each, plus the wait for the next heartbeat.
    assert!(
        down_at - t0 <= ms(500 + 3 * (500 + 50)),
        "down after {:?}",
        down_at - t0
    );
    // The stuck read was retried on a live shard when s2 went down; the stuck write, which
    // may have run there, failed saying so (never re-sent behind the caller's back).
    let (_, result, at) = rig.replies.iter().find(|(i, ..)| *i == stuck_read).unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(*at <= down_at + ms(100));
    let (_, result, at) = rig.replies.iter().find(|(i, ..)| *i == stuck).unwrap();
    assert!(
        matches!(result, Err(Error::MayHaveRun { cause, .. }) if matches!(**cause, Error::ShardDown { .. })),
        "{result:?}"
    );
    assert!(*at <= down_at + ms(100));
}

#[test]
fn request_timeout_is_exact_and_early_timeouts_are_no_ops() {
    let mut rig = Rig::new(Config::default(), 1);
    rig.set_mode("a0", Mode::Hang);
    let t0 = rig.now;
    let id = rig.submit_timeout(get("k"), ms(100)).unwrap();
    // Early and repeated timeouts change nothing.
    for _ in 0..3 {
        rig.ring.handle_input(Input::Timeout(t0 + ms(50)));
        rig.settle();
    }
    assert!(rig.reply(id).is_none());
    rig.advance(ms(100));
    let (_, result, at) = rig.replies.iter().find(|(i, ..)| *i == id).unwrap();
    assert_eq!(*at, t0 + ms(100));
    let Err(Error::Timeout {
        shard,
        command,
        after,
        ..
    }) = result
    else {
        panic!("{result:?}")
    };
    assert_eq!(
        (shard.as_deref(), command.as_str(), after),
        (Some("s0"), "GET", &ms(100))
    );
    // A time going backwards is taken as the latest seen.
    rig.ring.handle_input(Input::Timeout(Instant::ZERO));
    rig.settle();
}

#[test]
fn blackholed_connect_times_out_and_the_shard_goes_down_by_heartbeats() {
    let mut config = Config::default();
    config.conn.protocol = Protocol::Resp2;
    let mut rig = Rig::new(config, 2);
    rig.set_mode("a1", Mode::Blackhole);
    rig.set_mode("a1", Mode::Refuse); // reset the live connection; the next attempts hang
    rig.set_mode("a1", Mode::Blackhole);
    let t0 = rig.now;
    rig.advance(ms(3_000));
    let down_at = rig
        .events
        .iter()
        .find_map(|(e, t)| matches!(e, Event::ShardDown { .. }).then_some(*t))
        .expect("down");
    assert!(
        down_at - t0 <= ms(3 * (500 + 50) + 50),
        "{:?}",
        down_at - t0
    );
    let Some(Event::ShardDown { reason, .. }) = rig
        .events
        .iter()
        .map(|(e, _)| e)
        .find(|e| matches!(e, Event::ShardDown { .. }))
    else {
        panic!()
    };
    assert!(matches!(reason, Error::Timeout { .. }), "{reason}");
}

#[test]
fn handshake_errors_fail_waiting_callers_and_count_as_failed_heartbeats() {
    let mut config = Config::default();
    config.conn.password = Some("wrong".into());
    let mut rig = Rig::new(config, 1);
    rig.server("a0").password = Some("right".into());
    // The first connection (opened before the password was set) is reset.
    rig.set_mode("a0", Mode::Refuse);
    rig.set_mode("a0", Mode::Up);
    let id = rig.submit(get("k")).unwrap();
    rig.advance(ms(2_000));
    let Some(Err(e)) = rig.reply(id) else {
        panic!("{:?}", rig.reply(id))
    };
    assert!(
        matches!(e, Error::Handshake { step, message, .. } if step.as_str() == "HELLO" && message.starts_with("WRONGPASS")),
        "{e}"
    );
    assert_eq!(
        rig.down_events(),
        ["s0"],
        "handshake failures are failed heartbeats"
    );
}

#[test]
fn resp2_fallback_with_auth_db_and_name() {
    let mut config = Config::default();
    config.conn.password = Some("pw".into());
    config.conn.db = 3;
    config.conn.client_name = Some("ring".into());
    let mut rig = Rig::new(config, 1);
    rig.server("a0").password = Some("pw".into());
    rig.server("a0").resp3 = false;
    rig.set_mode("a0", Mode::Refuse);
    rig.set_mode("a0", Mode::Up);
    rig.advance(ms(100));
    let id = rig.submit(set("k", "v")).unwrap();
    assert_eq!(
        rig.reply(id),
        Some(&Ok(Value::Okay)),
        "{:?} {:?}",
        rig.servers["a0"].log,
        rig.events
    );
    let names: Vec<String> = rig.servers["a0"]
        .log
        .iter()
        .rev()
        .take(6)
        .map(|w| String::from_utf8_lossy(&w[0]).into_owned())
        .collect();
    assert!(
        names.contains(&"AUTH".to_string()) && names.contains(&"CLIENT".to_string()),
        "{names:?}"
    );
}

#[test]
fn per_shard_hook_changes_one_shards_options() {
    let mut config = Config::default();
    config.new_client = Some(redis_ring_core::config::ShardHook::new(|name, _, o| {
        if name == "s1" {
            o.db = 5;
        }
    }));
    let rig = Rig::new(config, 2);
    let selects = |rig: &Rig, a: &str| {
        rig.servers[a]
            .log
            .iter()
            .filter(|w| w[0] == b"SELECT")
            .count()
    };
    assert_eq!((selects(&rig, "a0"), selects(&rig, "a1")), (0, 1));
}

#[test]
fn loading_replies_are_retried_with_backoff() {
    let mut rig = Rig::new(Config::default(), 1);
    rig.server("a0").loading = 2;
    let id = rig.submit(set("k", "v")).unwrap();
    rig.advance(ms(100));
    assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
    assert_eq!(rig.ring.stats().retries, 2);
    // Non-retryable errors are not retried.
    let id = rig.submit(Cmd::new("NOSUCH").arg("k")).unwrap();
    assert!(matches!(rig.reply(id), Some(Err(Error::Server { .. }))));
    assert_eq!(rig.ring.stats().retries, 2);
}

#[test]
fn garbage_poisons_only_that_connection_which_is_reopened() {
    let mut rig = Rig::new(Config::default(), 2);
    let bad = key_on(&rig, "a0");
    let good = key_on(&rig, "a1");
    rig.server("a0").mode = Mode::Garbage;
    let id = rig.submit(get(&bad)).unwrap();
    let Some(Err(Error::Protocol { shard, .. })) = rig.reply(id) else {
        panic!("{:?}", rig.reply(id))
    };
    assert_eq!(&**shard, "s0");
    assert_eq!(rig.ring.stats().protocol_errors, 1);
    let id = rig.submit(get(&good)).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Nil)));
    rig.server("a0").mode = Mode::Up;
    let connects = rig.connects.len();
    let id = rig.submit(set(&bad, "v")).unwrap();
    rig.advance(ms(200));
    assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
    assert_eq!(rig.connects.len(), connects + 1, "reopened once");
}

#[test]
fn set_shards_keeps_unchanged_shards_and_drains_removed_ones() {
    let mut rig = Rig::new(Config::default(), 3);
    let on2 = key_on(&rig, "a2");
    rig.set_mode("a2", Mode::Hang);
    let pending = rig.submit(get(&on2)).unwrap();
    let connects = rig.connects.len();
    rig.events.clear();
    let now = rig.now;
    rig.ring.set_shards([("s0", "a0"), ("s1", "a1b")], now);
    rig.settle();
    // Graceful removal: the GET written to s2 is still owed its reply there; it fails only
    // when the removed shard's connection gives up (the command timeout).
    assert!(rig.reply(pending).is_none());
    rig.advance(Config::default().command_timeout);
    let Some(Err(Error::Timeout {
        shard,
        addr,
        command,
        ..
    })) = rig.reply(pending)
    else {
        panic!("{:?}", rig.reply(pending))
    };
    assert_eq!(
        (shard.as_deref(), addr.as_deref(), command.as_str()),
        (Some("s2"), Some("a2"), "GET")
    );
    let events: Vec<String> = rig.events.iter().map(|(e, _)| format!("{e:?}")).collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events[0].starts_with("ShardRemoved") && events[0].contains("a1"));
    assert!(events[1].starts_with("ShardRemoved") && events[1].contains("a2"));
    assert!(events[2].starts_with("ShardAdded") && events[2].contains("a1b"));
    // s0 kept its connection; s1 got a new one at its new address.
    let new: Vec<&str> = rig.connects[connects..]
        .iter()
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(new, ["a1b"]);
    let names: Vec<_> = rig.ring.shards().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["s0", "s1"]);
    let id = rig.submit(set(&on2, "v")).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
}

#[test]
fn push_frames_are_counted_and_dropped() {
    let mut rig = Rig::new(Config::default(), 1);
    rig.server("a0").push_before_reply = true;
    let id = rig.submit(set("k", "v")).unwrap();
    let id2 = rig.submit(get("k")).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
    assert_eq!(rig.reply(id2), Some(&Ok(Value::Bulk(b"v".to_vec()))));
    assert!(rig.ring.stats().pushes_dropped >= 2);
}

#[test]
fn same_shard_commands_across_shards_are_refused_before_sending() {
    let mut rig = Rig::new(Config::default(), 3);
    let (a, b) = (key_on(&rig, "a0"), key_on(&rig, "a1"));
    let err = rig.submit(Cmd::new("RENAME").arg(&a).arg(&b)).unwrap_err();
    let Error::CrossShard { shards, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        shards.iter().map(|s| &**s).collect::<Vec<_>>(),
        ["s0", "s1"]
    );
    assert!(err.to_string().contains("hash tag"));
    let id = rig
        .submit(Cmd::new("MGET").arg("{u}a").arg("{u}b"))
        .unwrap();
    assert_eq!(
        rig.reply(id),
        Some(&Ok(Value::Array(vec![Value::Nil, Value::Nil])))
    );
    // A blocking command is accepted, on a dedicated connection of its own.
    let connects = rig.connects.len();
    let id = rig.submit(Cmd::new("BLPOP").arg("k").arg(0)).unwrap();
    assert_eq!(rig.connects.len(), connects + 1);
    assert!(
        rig.reply(id).is_none(),
        "the fake server blocks BLPOP for ever"
    );
    for cmd in [
        Cmd::new("SUBSCRIBE").arg("c"),
        Cmd::new("MULTI"),
        Cmd::new("KEYS").arg("*"),
        Cmd::new("SELECT").arg(2),
    ] {
        assert!(matches!(rig.submit(cmd), Err(Error::Unsupported { .. })));
    }
}

#[test]
fn heartbeats_every_interval_and_a_rejecting_check_marks_down() {
    let mut rig = Rig::new(Config::default(), 1);
    let pings = |rig: &Rig| {
        rig.servers["a0"]
            .log
            .iter()
            .filter(|w| w[0] == b"PING")
            .count()
    };
    let before = pings(&rig);
    rig.advance(ms(5_000));
    assert_eq!(pings(&rig) - before, 10);

    let mut config = Config::default();
    config.heartbeat_check = Some(HeartbeatCheck::new(|v| *v == Value::Simple(b"OK".to_vec())));
    let mut rig = Rig::new(config, 1);
    rig.advance(ms(300));
    assert_eq!(rig.down_events(), ["s0"]);
}

#[test]
fn cancel_close_and_stale_inputs() {
    let mut rig = Rig::new(Config::default(), 2);
    rig.set_mode("a0", Mode::Hang);
    rig.set_mode("a1", Mode::Hang);
    let a = rig.submit(get("x")).unwrap();
    let b = rig.submit(get("y")).unwrap();
    assert!(rig.ring.cancel(a));
    assert!(!rig.ring.cancel(a));
    rig.ring.close(rig.now);
    rig.settle();
    assert!(rig.reply(a).is_none());
    assert!(matches!(rig.reply(b), Some(Err(Error::Closed { .. }))));
    assert_eq!(rig.closes.len(), 2);
    assert!(matches!(rig.submit(get("k")), Err(Error::NoShards { .. })));
    // Inputs about forgotten connections are ignored.
    let (old, _) = rig.connects[0].clone();
    let now = rig.now;
    rig.ring.handle_input(Input::Received {
        conn: old,
        data: b"+OK\r\n",
        now,
    });
    rig.ring.handle_input(Input::Sent {
        conn: old,
        n: 99,
        now,
    });
    rig.ring.handle_input(Input::Closed {
        conn: old,
        error: NetError::Reset,
        now,
    });
    rig.ring.handle_input(Input::Connected { conn: old, now });
    assert!(rig.ring.send_buf(old).is_empty());
    assert!(matches!(
        rig.ring.poll_output(),
        Output::Timeout(Instant::MAX)
    ));
}

#[test]
fn an_empty_ring_and_a_fresh_ring_report_clearly() {
    let mut ring = RingCore::new(Config::default(), Instant::ZERO);
    let err = ring.submit(get("k"), Instant::ZERO).unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET: the ring has no shards (call set_shards)"
    );
    assert!(matches!(ring.poll_output(), Output::Timeout(Instant::MAX)));
}

#[test]
fn a_busy_shard_still_delivering_replies_is_not_marked_down() {
    let mut rig = Rig::new(Config::default(), 1);
    rig.set_mode("a0", Mode::Hang); // the test answers by hand, slowly
    let ids: Vec<_> = (0..20)
        .map(|i| rig.submit(get(&format!("k{i}"))).unwrap())
        .collect();
    let (conn, _) = rig.connects.last().unwrap().clone();
    // The next heartbeat's PING queues behind the 20 GETs; one reply comes every 300 ms,
    // so the PING waits ~6 s, far beyond the 500 ms heartbeat timeout.
    for _ in 0..20 {
        rig.advance(ms(300));
        let now = rig.now;
        rig.ring.handle_input(Input::Received {
            conn,
            data: b"$-1\r\n",
            now,
        });
        rig.settle();
    }
    rig.ring.handle_input(Input::Received {
        conn,
        data: b"+PONG\r\n",
        now: rig.now,
    });
    rig.settle();
    rig.advance(ms(1_000));
    assert!(rig.down_events().is_empty(), "{:?}", rig.events);
    // The first replies made their deadline, the later ones timed out (and their late
    // replies were dropped, not given to other requests).
    assert_eq!(rig.reply(ids[0]), Some(&Ok(Value::Nil)));
    assert!(matches!(
        rig.reply(ids[19]),
        Some(Err(Error::Timeout { .. }))
    ));
    assert!(rig.ring.stats().late_replies > 0);
}

#[test]
fn extreme_configurations_neither_panic_nor_spin() {
    let mut config = Config::default();
    config.heartbeat_interval = Duration::ZERO;
    config.heartbeat_timeout = Duration::ZERO;
    config.probe_interval = Duration::ZERO;
    config.connect_timeout = Duration::ZERO;
    config.min_retry_backoff = Duration::MAX;
    config.max_retry_backoff = Duration::MAX;
    config.max_reconnect_backoff = Duration::MAX;
    config.command_timeout = Duration::MAX;
    config.fail_threshold = 0;
    config.recover_threshold = 0;
    let mut rig = Rig::new(config, 2);
    rig.set_mode("a0", Mode::Refuse);
    let _ = rig.submit(get("k"));
    rig.advance(ms(50));
    let _ = rig.submit_timeout(set("k", "v"), Duration::MAX);
    rig.advance(ms(50));
    assert!(
        rig.ring.poll_timeout() > rig.now,
        "the ring rests between inputs"
    );
}

#[test]
fn a_shard_ref_names_the_reply_shard_until_that_shard_leaves_even_if_another_takes_its_slot() {
    let mut rig = Rig::new(Config::default(), 2);
    let on1 = key_on(&rig, "a1");
    let id = rig.submit(set(&on1, "v")).unwrap();
    assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
    let r = rig.ring.reply_shard_ref(id).expect("the reply's shard");
    let (name, addr) = rig.ring.shard_names(r).expect("s1 is configured");
    assert_eq!((&**name, &**addr), ("s1", "a1"));
    let now = rig.now;
    rig.ring.set_shards([("s0", "a0")], now);
    rig.settle();
    assert_eq!(rig.ring.shard_names(r), None, "s1 left");
    // s2 takes the slot s1 had: the old reference must not name it.
    rig.server("a2");
    rig.ring.set_shards([("s0", "a0"), ("s2", "a2")], now);
    rig.settle();
    let on2 = key_on(&rig, "a2");
    let id2 = rig.submit(set(&on2, "v")).unwrap();
    assert_eq!(rig.reply(id2), Some(&Ok(Value::Okay)));
    let r2 = rig.ring.reply_shard_ref(id2).expect("the reply's shard");
    let slot = |r: &redis_ring_core::ring::ShardRef| {
        let d = format!("{r:?}");
        d[..d.find(',').unwrap()].to_owned()
    };
    assert_eq!(slot(&r), slot(&r2), "s2 reused s1's slot ({r:?}, {r2:?})");
    assert_eq!(
        rig.ring.shard_names(r),
        None,
        "a later shard in the same slot"
    );
    let (name, _) = rig.ring.shard_names(r2).unwrap();
    assert_eq!(&**name, "s2");
}

#[test]
fn a_request_refused_on_retry_counts_as_refused_on_the_shard_it_last_went_to() {
    use redis_ring_core::placement::{Algorithm, Placement, ShardSpec};
    let mut config = Config::default();
    // Retries that outlast the ~100 ms it takes a refusing shard to go down.
    config.max_retries = 50;
    config.max_retry_backoff = ms(20);
    let mut rig = Rig::new(config, 3);
    // Two keys of s0 that, once s0 is down, live on s1 and s2.
    let without_s0 = Algorithm::default().build(&[ShardSpec::new("s1"), ShardSpec::new("s2")]);
    let key = |then: usize| {
        (0..10_000)
            .map(|i| format!("k{i}"))
            .find(|k| rig.owner(k) == "a0" && without_s0.shard_for(k.as_bytes()) == Some(then))
            .unwrap()
    };
    let (k1, k2) = (key(0), key(1));
    rig.set_mode("a0", Mode::Hang);
    let id = rig.submit(Cmd::new("SUNION").arg(&k1).arg(&k2)).unwrap();
    rig.settle();
    assert!(rig.reply(id).is_none(), "in flight on s0");
    // s0's connection breaks under the (read-only, so retried) SUNION; s0 goes down; the
    // retry finds its keys on two shards.
    rig.set_mode("a0", Mode::Refuse);
    rig.advance(ms(2_000));
    assert!(
        matches!(rig.reply(id), Some(Err(Error::CrossShard { .. }))),
        "{:?}",
        rig.reply(id)
    );
    let counted = |name: &str| {
        rig.ring
            .shards()
            .find(|s| &*s.name == name)
            .map(|s| s.counters)
            .unwrap()
    };
    let s0 = counted("s0");
    assert_eq!(
        (s0.errors.refused, s0.errors.total()),
        (1, 1),
        "{:?}",
        s0.errors
    );
    assert!(s0.retries >= 1);
    for other in ["s1", "s2"] {
        assert_eq!(counted(other).errors.total(), 0, "{other}");
    }
}
