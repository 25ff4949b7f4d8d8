//! driver-std's own behaviour against real redis-server shards: what the shared scenario
//! suite does not look at (the blocking API's details, pipelining through the one reactor,
//! shutdown while busy, host names).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis_ring_std::{BuildError, Cmd, Error, Event, Ring, Value};
use redis_ring_tests::scenarios::fast_config;
use redis_ring_tests::Shards;

fn ring(shards: &Shards) -> Ring {
    Ring::builder()
        .config(fast_config())
        .shards(shards.named())
        .build()
        .expect("build")
}

#[test]
fn ring_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Ring>();
}

#[test]
fn typed_helpers_and_pipelines() {
    let shards = Shards::start(3).unwrap();
    let ring = ring(&shards);
    ring.set("helpers:s", "v").unwrap();
    let v: Option<String> = ring.get("helpers:s").unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    let missing: Option<String> = ring.get("helpers:none").unwrap();
    assert_eq!(missing, None);
    assert_eq!(ring.incr("helpers:n").unwrap(), 1);
    assert_eq!(ring.incr_by("helpers:n", 41).unwrap(), 42);
    ring.hset("helpers:h", "f", 1).unwrap();
    let h: HashMap<String, i64> = ring.hgetall("helpers:h").unwrap();
    assert_eq!(h, HashMap::from([("f".to_string(), 1)]));
    assert!(ring.expire("helpers:s", 100).unwrap());
    assert_eq!(ring.ping().unwrap(), "PONG");

    // Typed helpers queue into pipelines too; results keep their order.
    let mut p = ring.pipeline();
    p.set("helpers:p", 5)
        .incr("helpers:p")
        .get("helpers:p")
        .cmd(Cmd::new("LPUSH").arg("helpers:p").arg("x"));
    assert_eq!(p.len(), 4);
    let results = p.run();
    assert!(p.is_empty());
    assert_eq!(results[0], Ok(Value::Okay));
    assert_eq!(results[1], Ok(Value::Int(6)));
    assert_eq!(results[2], Ok(Value::Bulk(b"6".to_vec())));
    assert!(
        matches!(&results[3], Err(Error::Server { message, .. }) if message.starts_with("WRONGTYPE"))
    );
    assert!(p.run().is_empty());

    // A reply that does not fit the asked type is an error naming the command.
    let err = ring
        .query::<i64>(Cmd::new("GET").arg("helpers:s"))
        .unwrap_err();
    assert_eq!(err.command().map(|c| c.as_str()), Some("GET"), "{err}");
    ring.close();
}

#[test]
fn a_reply_of_another_type_is_a_conversion_error() {
    let shards = Shards::start(1).unwrap();
    let ring = ring(&shards);
    ring.set("conv:s", "abc").unwrap();
    let e = ring
        .query::<i64>(Cmd::new("GET").arg("conv:s"))
        .unwrap_err();
    assert!(
        matches!(&e, Error::Conversion { rust_type: "i64", command, .. } if command.as_str() == "GET"),
        "{e:?}"
    );
    assert!(e.to_string().contains("does not convert to i64"), "{e}");
}

/// Issue 17, item 1: `INCR` forwarded by a proxy that withholds the reply and closes ran
/// once on the server; the ring must not run it again behind the caller's back.
#[test]
fn a_command_that_may_have_run_is_not_resent() {
    use redis_ring_tests::proxy::CutProxy;
    let shards = Shards::start(1).unwrap();
    let server = &shards.servers()[0];
    let proxy = CutProxy::start(server.socket_addr(), b"INCR", 1).unwrap();
    let ring = Ring::builder()
        .config(fast_config())
        .shards([("s1".to_string(), proxy.addr())])
        .build()
        .expect("build");
    ring.set("retry:warm", 1).unwrap();
    let e = ring.incr("retry:counter").unwrap_err();
    match &e {
        Error::MayHaveRun {
            shard,
            addr,
            command,
            ..
        } => {
            assert_eq!(&**shard, "s1");
            assert_eq!(&**addr, proxy.addr());
            assert_eq!(command.as_str(), "INCR");
        }
        other => panic!("expected MayHaveRun, got {other:?}"),
    }
    assert!(e.to_string().contains("may have run"), "{e}");
    // It ran exactly once.
    let n = server.command(&["GET", "retry:counter"]).unwrap();
    assert_eq!(
        n,
        redis_ring_tests::harness::Reply::Bulk(Some(b"1".to_vec()))
    );
    assert_eq!(ring.incr("retry:counter").unwrap(), 2);

    // A read cut off the same way is re-sent (read-only per the command table); so is a
    // command the caller declared idempotent.
    let proxy = CutProxy::start(server.socket_addr(), b"GET", 1).unwrap();
    let ring = Ring::builder()
        .config(fast_config())
        .shards([("s1".to_string(), proxy.addr())])
        .build()
        .expect("build");
    let v: Option<i64> = ring.get("retry:counter").unwrap();
    assert_eq!(v, Some(2));
    assert_eq!(proxy.cuts(), 1);
    let proxy = CutProxy::start(server.socket_addr(), b"retry:idem", 1).unwrap();
    let ring = Ring::builder()
        .config(fast_config())
        .shards([("s1".to_string(), proxy.addr())])
        .build()
        .expect("build");
    let set = Cmd::new("SET").arg("retry:idem").arg("v").idempotent();
    assert_eq!(ring.query::<Value>(set).unwrap(), Value::Okay);
    assert_eq!(proxy.cuts(), 1);

    // Typed helpers and shard handles declare it through `Ring::idempotent()` (the
    // scenario suite checks `cmd` and pipelines on every driver).
    for via_shard in [false, true] {
        let proxy = CutProxy::start(server.socket_addr(), b"INCR", 1).unwrap();
        let ring = Ring::builder()
            .config(fast_config())
            .shards([("s1".to_string(), proxy.addr())])
            .build()
            .expect("build");
        let before: i64 = ring.get("retry:counter").unwrap();
        let idem = ring.idempotent();
        assert!(idem.is_idempotent() && !ring.is_idempotent());
        let n: i64 = if via_shard {
            idem.shard("s1")
                .query(Cmd::new("INCR").arg("retry:counter"))
                .unwrap()
        } else {
            idem.incr("retry:counter").unwrap()
        };
        assert_eq!(n, before + 2, "ran twice: cut, then re-sent");
        assert_eq!(proxy.cuts(), 1);
    }
}

/// Issue 17, item 3: removing (and re-adding) a shard under 20 writers fails nothing: replies
/// owed by the removed shard are awaited on its old connection, what it never received goes
/// to the new owner. Every INCR that returned Ok is on a server exactly once.
#[test]
fn removing_a_shard_under_load_fails_nothing() {
    let shards = Shards::start(3).unwrap();
    let all = shards.named();
    let ring = ring(&shards);
    let stop = AtomicBool::new(false);
    let (oks, errors) = std::thread::scope(|s| {
        let writers: Vec<_> = (0..20)
            .map(|w| {
                let (ring, stop) = (&ring, &stop);
                s.spawn(move || {
                    let (mut ok, mut errors) = (0u64, Vec::new());
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        match ring.incr(format!("graceful:{w}:{}", i % 50)) {
                            Ok(_) => ok += 1,
                            Err(e) => errors.push(e.to_string()),
                        }
                        i += 1;
                    }
                    (ok, errors)
                })
            })
            .collect();
        for round in 0..10 {
            std::thread::sleep(Duration::from_millis(60));
            let gone = round % 3;
            let fewer: Vec<_> = all
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != gone)
                .map(|(_, s)| s.clone())
                .collect();
            ring.set_shards(fewer).unwrap();
            std::thread::sleep(Duration::from_millis(60));
            ring.set_shards(all.clone()).unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        writers.into_iter().map(|t| t.join().unwrap()).fold(
            (0, Vec::new()),
            |(n, mut e), (ok, errs)| {
                e.extend(errs);
                (n + ok, e)
            },
        )
    });
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    let on_servers: u64 = shards
        .servers()
        .iter()
        .map(|srv| {
            let keys = match srv.command(&["KEYS", "graceful:*"]).unwrap() {
                redis_ring_tests::harness::Reply::Array(Some(k)) => k,
                other => panic!("{other:?}"),
            };
            keys.iter()
                .map(|k| {
                    let redis_ring_tests::harness::Reply::Bulk(Some(k)) = k else {
                        panic!("{k:?}")
                    };
                    let k = String::from_utf8_lossy(k).into_owned();
                    match srv.command(&["GET", &k]).unwrap() {
                        redis_ring_tests::harness::Reply::Bulk(Some(v)) => {
                            String::from_utf8_lossy(&v).parse::<u64>().unwrap()
                        }
                        other => panic!("{other:?}"),
                    }
                })
                .sum::<u64>()
        })
        .sum();
    assert!(oks > 1000, "only {oks} writes");
    assert_eq!(on_servers, oks, "every acknowledged INCR ran exactly once");
    ring.close();
}

/// Issue 17, item 6: typed blocking pops, `zadd_multiple`, one integer type for seconds.
#[test]
fn typed_blocking_pops_and_zadd_multiple() {
    let shards = Shards::start(2).unwrap();
    let ring = ring(&shards);
    assert_eq!(
        ring.zadd_multiple("tz", [(2.0, "b"), (1.0, "a")]).unwrap(),
        2
    );
    let min: Option<(String, String, f64)> = ring.bzpopmin("tz", 1).unwrap();
    assert_eq!(min, Some(("tz".into(), "a".into(), 1.0)));
    let max: Option<(String, String, f64)> = ring.bzpopmax("tz", 1).unwrap();
    assert_eq!(max, Some(("tz".into(), "b".into(), 2.0)));
    ring.cmd(Cmd::new("RPUSH").arg("tq").arg("x").arg("y"))
        .unwrap();
    let head: Option<(String, String)> = ring.blpop("tq", 1).unwrap();
    assert_eq!(head, Some(("tq".into(), "x".into())));
    let tail: Option<(String, String)> = ring.brpop("tq", 1).unwrap();
    assert_eq!(tail, Some(("tq".into(), "y".into())));
    let none: Option<(String, String)> = ring.blpop("tq", 1).unwrap();
    assert_eq!(none, None);
    // The same u64 seconds everywhere.
    let secs: u64 = 100;
    ring.set_ex("tk", "v", secs).unwrap();
    assert!(ring.expire("tk", secs).unwrap());
    let _: Option<String> = ring.getex("tk", secs).unwrap();
    ring.close();
}

#[test]
fn concurrent_callers_share_writes() {
    let shards = Shards::start(3).unwrap();
    let ring = ring(&shards);
    ring.ping().unwrap();
    let before = ring.io_stats();
    const THREADS: u64 = 50;
    const OPS: u64 = 200;
    let errors = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let ring = ring.clone();
            let errors = &errors;
            s.spawn(move || {
                for i in 0..OPS {
                    let key = format!("share:{t}:{}", i % 10);
                    if ring.set(&*key, i).is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(errors.load(Ordering::Relaxed), 0);
    let after = ring.io_stats();
    let commands = after.commands - before.commands;
    let writes = after.writes - before.writes;
    assert_eq!(commands, THREADS * OPS);
    // Heartbeats add a few writes of their own; concurrent commands must share most writes.
    println!("{commands} commands in {writes} writes");
    assert!(
        writes * 2 < commands,
        "no write sharing: {commands} commands took {writes} writes"
    );
    ring.close();
}

/// Blocking callers' threads are unparked by the driver turn itself, while the wakers of
/// async callers beyond the first are left to the first one woken: a turn that answers
/// both kinds at once (here: 16 blocking threads, and 4 threads each running 8 async calls
/// at a time under `Ring::block_on`) must lose no wake-up of either kind.
#[test]
fn blocking_and_async_callers_together_lose_no_wake_up() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;

    let shards = Shards::start(3).unwrap();
    let ring = ring(&shards);
    ring.ping().unwrap();
    const ROUNDS: u64 = 100;
    let done = std::sync::Arc::new(AtomicU64::new(0));
    // A lost wake-up hangs a caller: the calls run on a thread of their own, watched with
    // a wide margin (they take well under a second).
    let (tx, rx) = std::sync::mpsc::channel();
    let (work_ring, work_done) = (ring.clone(), done.clone());
    std::thread::spawn(move || {
        let (ring, done) = (&work_ring, &*work_done);
        std::thread::scope(|s| {
            for t in 0..16 {
                let (ring, done) = (ring.clone(), &done);
                s.spawn(move || {
                    for i in 0..ROUNDS {
                        ring.set(format!("mix:b:{t}:{}", i % 5), i).unwrap();
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            for t in 0..4 {
                let (ring, done) = (ring.clone(), &done);
                s.spawn(move || {
                    let tasks = ring.as_async();
                    for i in 0..ROUNDS {
                        // Eight calls in flight at once, polled together (a tiny join).
                        type Call<'a> = Pin<Box<dyn Future<Output = Result<i64, Error>> + 'a>>;
                        let mut calls: Vec<Option<Call<'_>>> = (0..8)
                            .map(|k| {
                                let key = format!("mix:a:{t}:{k}:{}", i % 5);
                                Some(Box::pin(tasks.incr(key)) as Call<'_>)
                            })
                            .collect();
                        ring.as_async().block_on(std::future::poll_fn(|cx| {
                            let mut waiting = false;
                            for call in &mut calls {
                                if let Some(f) = call {
                                    match f.as_mut().poll(cx) {
                                        Poll::Ready(r) => {
                                            r.unwrap();
                                            *call = None;
                                        }
                                        Poll::Pending => waiting = true,
                                    }
                                }
                            }
                            if waiting {
                                Poll::Pending
                            } else {
                                Poll::Ready(())
                            }
                        }));
                        done.fetch_add(8, Ordering::Relaxed);
                    }
                });
            }
        });
        let _ = tx.send(());
    });
    let finished = rx.recv_timeout(Duration::from_secs(60)).is_ok();
    let count = done.load(Ordering::Relaxed);
    assert!(
        finished,
        "a caller was never woken: {count} calls done after 60 s"
    );
    assert_eq!(count, 16 * ROUNDS + 4 * 8 * ROUNDS);
    ring.close();
}

#[test]
fn close_while_busy_fails_or_finishes_every_call_and_joins() {
    let shards = Shards::start(2).unwrap();
    let ring = ring(&shards);
    let events = ring.events();
    let stop = AtomicBool::new(false);
    let (ok, closed) = (AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|s| {
        for t in 0..8 {
            let ring = ring.clone();
            let (stop, ok, closed) = (&stop, &ok, &closed);
            s.spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut p = ring.pipeline();
                    p.set(format!("busy:{t}:{i}"), i).get(format!("busy:{t}"));
                    for r in p.run() {
                        match r {
                            Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                            Err(Error::Closed { .. }) => closed.fetch_add(1, Ordering::Relaxed),
                            Err(e) => panic!("unexpected error: {e}"),
                        };
                    }
                    i += 1;
                    if ring.is_closed() {
                        return;
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        ring.close();
        // Prompt (a wide margin for a loaded machine).
        assert!(started.elapsed() < Duration::from_secs(5));
        stop.store(true, Ordering::Relaxed);
    });
    assert!(ok.load(Ordering::Relaxed) > 0);
    // Every later call fails at once, naming the command.
    let err = ring.cmd(Cmd::new("GET").arg("x")).unwrap_err();
    assert_eq!(
        err,
        Error::Closed {
            command: err.command().copied().unwrap()
        }
    );
    assert_eq!(err.to_string(), "GET: the ring was closed");
    assert!(ring.pipeline().cmd(Cmd::new("PING")).run()[0].is_err());
    assert!(ring.is_closed());
    assert_eq!(ring.len(), 0);
    assert!(ring.stats().is_empty());
    assert_eq!(ring.shard_for_key("x"), None);
    assert!(matches!(
        ring.set_shards([("a", "127.0.0.1:1")]),
        Err(BuildError::Closed)
    ));
    // The events channel ends once the I/O thread is gone; a new one ends at once.
    let rest: Vec<Event> = events.iter().collect();
    assert!(rest.len() <= redis_ring_std::EVENTS_CAPACITY);
    assert!(ring.events().recv().is_none());
    ring.close(); // twice is fine
}

#[test]
fn host_names_are_resolved_off_the_io_thread() {
    let shards = Shards::start(2).unwrap();
    let named: Vec<(String, String)> = shards
        .servers()
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("shard{}", i + 1), format!("localhost:{}", s.port())))
        .collect();
    let ring = Ring::builder()
        .config(fast_config())
        .shards(named)
        .build()
        .unwrap();
    for i in 0..20 {
        ring.set(format!("dns:{i}"), i).unwrap();
    }
    assert_eq!(ring.len(), 2);
    ring.close();
}

#[test]
fn per_call_timeout_and_a_frozen_shard_do_not_block_others() {
    let mut shards = Shards::start(2).unwrap();
    // The frozen shard stays in the placement however long the test takes (a shard marked
    // down would have its read re-sent elsewhere instead of timing out).
    let mut config = fast_config();
    config.fail_threshold = 1_000;
    let ring = Ring::builder()
        .config(config)
        .shards(shards.named())
        .build()
        .expect("build");
    let frozen_key = (0..)
        .map(|i| format!("frozen:{i}"))
        .find(|k| ring.shard_for_key(k).as_deref() == Some("shard1"))
        .unwrap();
    let live_key = (0..)
        .map(|i| format!("live:{i}"))
        .find(|k| ring.shard_for_key(k).as_deref() == Some("shard2"))
        .unwrap();
    ring.set(&*frozen_key, 1).unwrap();
    shards.server(0).pause().unwrap();
    let timeout = Duration::from_millis(800);
    let (asked, asking) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let frozen = s.spawn(|| {
            let started = Instant::now();
            asked.send(()).unwrap();
            let result = ring.cmd_timeout(Cmd::new("GET").arg(&*frozen_key), timeout);
            (result, started.elapsed())
        });
        asking.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        // Meanwhile the other shard answers: before the frozen GET gives up (an ordering of
        // events, not a race against the clock).
        ring.set(&*live_key, 2).unwrap();
        assert!(
            !frozen.is_finished(),
            "the live shard's SET waited for the frozen shard"
        );
        let (result, took) = frozen.join().unwrap();
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        // Never early; late only within a wide margin (exact timing: the simulator's).
        assert!(
            took + Duration::from_millis(1) >= timeout && took < timeout + Duration::from_secs(3),
            "took {took:?}"
        );
    });
    shards.server(0).resume().unwrap();
    ring.close();
}

#[test]
fn bad_addresses_are_refused_by_the_builder() {
    let err = Ring::builder()
        .shard("a", "127.0.0.1:7000")
        .shard("b", "redis://:pw@localhost:notaport")
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("shard b") && !text.contains("pw"), "{text}");
}

/// A ring on `shards` whose heartbeat check panics once `explode` is set (after one SET
/// went through, so the ring was up): the next heartbeat's reply runs the hook, on the I/O
/// thread or on a caller reading its own replies.
fn ring_whose_hook_explodes(
    shards: &Shards,
    heartbeat: Duration,
    explode: &'static AtomicBool,
) -> Ring {
    let ring = Ring::builder()
        .config(fast_config())
        .shards(shards.named())
        .heartbeat_interval(heartbeat)
        .heartbeat_check(move |_| {
            assert!(
                !explode.load(Ordering::Relaxed),
                "hook exploded (on purpose)"
            );
            true
        })
        .build()
        .unwrap();
    ring.set("panic:k", 1).unwrap();
    explode.store(true, Ordering::Relaxed);
    ring
}

#[test]
fn a_panicking_hook_fails_callers_instead_of_hanging_them() {
    static EXPLODE: AtomicBool = AtomicBool::new(false);
    let shards = Shards::start(1).unwrap();
    let ring = ring_whose_hook_explodes(&shards, Duration::from_millis(20), &EXPLODE);
    // The next heartbeat kills the I/O thread; everything after fails with `Closed`.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ring.is_closed() {
        assert!(Instant::now() < deadline, "the I/O thread did not stop");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(matches!(
        ring.cmd(Cmd::new("GET").arg("panic:k")),
        Err(Error::Closed { .. })
    ));
    ring.close();
}

/// The same while a lone caller keeps pipelining: it reads its own replies on its thread
/// (the I/O thread stepped aside), so the hook may panic there: the ring ends as above,
/// and the caller gets `Closed`, not the hook's panic.
#[test]
fn a_hook_panicking_on_a_driving_caller_closes_the_ring() {
    static EXPLODE: AtomicBool = AtomicBool::new(false);
    let shards = Shards::start(1).unwrap();
    let ring = ring_whose_hook_explodes(&shards, Duration::from_millis(5), &EXPLODE);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "the ring did not close");
        let mut p = ring.pipeline_with_capacity(10);
        for i in 0..10 {
            p.set(format!("panic:{i}"), i);
        }
        let results = p.run();
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            assert!(matches!(e, Error::Closed { .. }), "{e:?}");
            break;
        }
    }
    assert!(ring.is_closed());
    ring.close();
}

#[test]
fn large_values_cross_partial_writes_and_many_reads() {
    let shards = Shards::start(2).unwrap();
    let ring = ring(&shards);
    // Bigger than any socket buffer: the write goes out in pieces (writability events),
    // the reply comes back over many reads; small commands keep flowing meanwhile.
    let big: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::thread::scope(|s| {
        let small = s.spawn(|| {
            for i in 0..500 {
                ring.set(format!("small:{i}"), i).unwrap();
            }
        });
        ring.set("big", &big[..]).unwrap();
        let back: Vec<u8> = ring.get("big").unwrap();
        assert!(back == big, "the 8 MiB value came back changed");
        small.join().unwrap();
    });
    let io = ring.io_stats();
    assert!(
        io.bytes_written > 8 * 1024 * 1024 && io.bytes_read > 8 * 1024 * 1024,
        "{io:?}"
    );
    ring.close();
}

#[test]
fn one_pipeline_leaves_in_one_write_per_shard() {
    let shards = Shards::start(3).unwrap();
    // No heartbeat during the pipeline, however long a loaded machine makes it take (each
    // would be a write of its own).
    let ring = Ring::builder()
        .config(fast_config())
        .shards(shards.named())
        .heartbeat_interval(Duration::from_secs(3600))
        .build()
        .expect("build");
    ring.pipeline()
        .set("warm:1", 1)
        .set("warm:2", 2)
        .set("warm:3", 3)
        .run();
    let before = ring.io_stats();
    let mut p = ring.pipeline();
    for i in 0..2000 {
        p.set(format!("batch:{i}"), i);
    }
    let results = p.run();
    assert!(results.iter().all(Result::is_ok));
    let after = ring.io_stats();
    let writes = after.writes - before.writes;
    // 2000 commands, ~60 KB: one write per shard (a short write may add one or two).
    assert!(
        writes <= 5,
        "{writes} writes for one pipeline over 3 shards"
    );
    ring.close();
}

#[test]
fn a_hook_calling_the_ring_gets_an_error_not_a_deadlock() {
    use std::sync::{Arc, OnceLock};
    let shards = Shards::start(1).unwrap();
    let slot: Arc<OnceLock<Ring>> = Arc::new(OnceLock::new());
    let seen: Arc<OnceLock<(String, usize)>> = Arc::new(OnceLock::new());
    let (hook_slot, hook_seen) = (slot.clone(), seen.clone());
    let ring = Ring::builder()
        .config(fast_config())
        .shards(shards.named())
        .heartbeat_interval(Duration::from_millis(10))
        .heartbeat_check(move |_| {
            if let Some(ring) = hook_slot.get() {
                let err = ring.cmd(Cmd::new("GET").arg("x")).unwrap_err();
                let _ = hook_seen.set((err.to_string(), ring.len()));
            }
            true
        })
        .build()
        .unwrap();
    // The hook holds a clone: close explicitly (a cycle through the config keeps it alive).
    let _ = slot.set(ring.clone());
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.get().is_none() {
        assert!(Instant::now() < deadline, "the hook never ran");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (text, len) = seen.get().unwrap();
    assert!(text.contains("own I/O thread"), "{text}");
    assert_eq!(*len, 0);
    ring.set("still", "works").unwrap();
    ring.close();
}

#[test]
fn blocking_commands_wait_past_the_command_timeout_without_stalling_others() {
    let shards = Shards::start(2).unwrap();
    let ring = ring(&shards); // command_timeout 1 s
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let started = Instant::now();
            let got: Option<(String, String)> =
                ring.query(Cmd::new("BLPOP").arg("block:q").arg(3)).unwrap();
            (got, started.elapsed())
        });
        // Meanwhile the shared connections keep serving: all 200 SETs are done while the
        // BLPOP still waits (an ordering of events, not a race against the clock).
        for i in 0..200 {
            ring.set(format!("block:other:{i}"), i).unwrap();
        }
        assert!(!waiter.is_finished(), "the SETs waited for the BLPOP");
        std::thread::sleep(Duration::from_millis(1300));
        ring.cmd(Cmd::new("RPUSH").arg("block:q").arg("job"))
            .unwrap();
        let (got, took) = waiter.join().unwrap();
        assert_eq!(got, Some(("block:q".into(), "job".into())));
        assert!(took > Duration::from_secs(1), "returned after {took:?}");
    });
    ring.close();
}

/// Issue 17, item 4: an explicit per-call timeout caps a blocking call, block 0 included
/// (on main `cmd_timeout(BLPOP q 0, ..)` waited for ever).
#[test]
fn an_explicit_timeout_caps_a_blocking_call() {
    let shards = Shards::start(1).unwrap();
    let ring = ring(&shards); // command_timeout 1 s
    let (tx, rx) = std::sync::mpsc::channel();
    let r = ring.clone();
    std::thread::spawn(move || {
        let started = Instant::now();
        let forever = r.cmd_timeout(
            Cmd::new("BLPOP").arg("cap:q").arg(0),
            Duration::from_millis(300),
        );
        let five = r.cmd_timeout(
            Cmd::new("BLPOP").arg("cap:q").arg(5),
            Duration::from_millis(300),
        );
        let _ = tx.send((forever, five, started.elapsed()));
    });
    let (forever, five, took) = rx
        .recv_timeout(Duration::from_secs(8))
        .expect("the capped blocking calls never returned");
    assert!(matches!(forever, Err(Error::Timeout { .. })), "{forever:?}");
    assert!(matches!(five, Err(Error::Timeout { .. })), "{five:?}");
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    // The ring still serves blocking calls afterwards.
    ring.cmd(Cmd::new("RPUSH").arg("cap:q").arg("x")).unwrap();
    let got: Option<(String, String)> = ring.query(Cmd::new("BLPOP").arg("cap:q").arg(1)).unwrap();
    assert_eq!(got, Some(("cap:q".into(), "x".into())));
    ring.close();
}

#[test]
fn subscriptions_iterate_unsubscribe_on_drop_and_end_on_close() {
    let shards = Shards::start(3).unwrap();
    let ring = ring(&shards);
    let mut sub = ring.subscribe(&["sub:a", "sub:b"]).unwrap();
    assert_eq!(ring.publish("sub:a", "1").unwrap(), 1);
    assert_eq!(ring.publish("sub:b", "2").unwrap(), 1);
    let mut got: Vec<(Vec<u8>, Vec<u8>)> = (0..2)
        .map(|_| {
            let m = sub.next_timeout(Duration::from_secs(2)).expect("a message");
            (m.channel, m.payload)
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (b"sub:a".to_vec(), b"1".to_vec()),
            (b"sub:b".to_vec(), b"2".to_vec())
        ]
    );
    assert!(sub.next_timeout(Duration::from_millis(50)).is_none());
    // Grow and shrink the subscription.
    sub.subscribe(&["sub:c"]);
    sub.unsubscribe(&["sub:a"]);
    let deadline = Instant::now() + Duration::from_secs(2);
    while ring.publish("sub:c", "3").unwrap() != 1 || ring.publish("sub:a", "x").unwrap() != 0 {
        assert!(Instant::now() < deadline, "subscription change not applied");
        std::thread::sleep(Duration::from_millis(10));
    }
    let m = sub
        .next_timeout(Duration::from_secs(2))
        .expect("sub:c message");
    assert_eq!(m.channel, b"sub:c");
    assert_eq!(sub.dropped(), 0);
    // Dropping the subscription unsubscribes.
    drop(sub);
    let deadline = Instant::now() + Duration::from_secs(2);
    while ring.publish("sub:b", "gone").unwrap() != 0 {
        assert!(Instant::now() < deadline, "still subscribed after drop");
        std::thread::sleep(Duration::from_millis(10));
    }
    // A pattern subscription as an iterator ends when the ring closes.
    let psub = ring.psubscribe(&["sub:*"]).unwrap();
    ring.publish("sub:z", "last").unwrap();
    let closer = ring.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        closer.close();
    });
    let all: Vec<_> = psub.collect();
    t.join().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].pattern.as_deref(), Some(&b"sub:*"[..]));
    assert!(matches!(ring.subscribe(&["x"]), Err(Error::Closed { .. })));
}

#[test]
fn transactions_refuse_before_exec_and_abort_on_closure_errors() {
    let shards = Shards::start(3).unwrap();
    let ring = ring(&shards);
    let home = ring.shard_for_key("{t}").unwrap();
    let elsewhere = (0..)
        .map(|i| format!("elsewhere:{i}"))
        .find(|k| ring.shard_for_key(k).as_deref() != Some(&*home))
        .unwrap();
    // A queued write for another shard: refused, and nothing of the transaction runs.
    let err = ring
        .transaction(&["{t}:a"], |tx| {
            tx.queue(Cmd::new("SET").arg("{t}:a").arg(1))
                .queue(Cmd::new("SET").arg(&*elsewhere).arg(1));
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::CrossShard { .. }), "{err}");
    assert_eq!(ring.get::<Option<String>>("{t}:a").unwrap(), None);
    assert_eq!(ring.get::<Option<String>>(&*elsewhere).unwrap(), None);
    // The closure's error aborts: nothing queued runs.
    let err = ring
        .transaction(&["{t}:a"], |tx| {
            tx.queue(Cmd::new("SET").arg("{t}:a").arg(1));
            Err(Error::InvalidCommand {
                command: redis_ring_std::core::error::CmdName::new(b"APP"),
                reason: "changed my mind",
            })
        })
        .unwrap_err();
    assert!(err.to_string().contains("changed my mind"));
    assert_eq!(ring.get::<Option<String>>("{t}:a").unwrap(), None);
    // A good one returns EXEC's replies; typed constructors from the table queue too.
    let replies = ring
        .transaction(&["{t}:a", "{t}:b"], |tx| {
            let a: Option<i64> = tx.get("{t}:a")?;
            tx.queue(redis_ring_std::cmds::set("{t}:a", a.unwrap_or(0) + 5))
                .queue(redis_ring_std::cmds::incr("{t}:b"));
            Ok::<(), Error>(())
        })
        .unwrap();
    assert_eq!(replies, [Value::Okay, Value::Int(1)]);
    ring.close();
}

#[test]
fn for_each_shard_and_shard_handles() {
    let shards = Shards::start(3).unwrap();
    let ring = ring(&shards);
    for i in 0..30 {
        ring.set(format!("fan:{i}"), i).unwrap();
    }
    let sizes = ring.for_each_shard(|shard| shard.query::<i64>(Cmd::new("DBSIZE")));
    let names: Vec<&str> = sizes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["shard1", "shard2", "shard3"]);
    assert_eq!(
        sizes.iter().map(|(_, n)| n.as_ref().unwrap()).sum::<i64>(),
        30
    );
    // A key-routed command sent to a shard of our choice goes there.
    let other = sizes
        .iter()
        .map(|(n, _)| n.clone())
        .find(|n| Some(n) != ring.shard_for_key("fan:pinned").as_ref())
        .unwrap();
    ring.shard(&other)
        .cmd(Cmd::new("SET").arg("fan:pinned").arg(1))
        .unwrap();
    assert_eq!(
        ring.shard(&other)
            .query::<i64>(Cmd::new("GET").arg("fan:pinned"))
            .unwrap(),
        1
    );
    assert_eq!(ring.get::<Option<i64>>("fan:pinned").unwrap(), None);
    // (The core's error does not name the unknown shard yet: reported.)
    let err = ring.shard("nope").cmd(Cmd::new("DBSIZE")).unwrap_err();
    assert!(matches!(err, Error::InvalidCommand { .. }), "{err}");
    ring.close();
}
