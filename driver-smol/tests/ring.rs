//! Tests of what is specific to the smol driver (the behaviour every driver shares is in
//! the scenario suite, `tests/scenarios.rs`): typed helpers, automatic pipelining,
//! cancellation, close, events, Unix sockets, the quickstart example.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::process::Command;
use std::task::Poll;
use std::time::{Duration, Instant};

use redis_ring_smol::{Cmd, Error, Event, Ring, Value};
use redis_ring_tests::harness::Reply;
use redis_ring_tests::{RedisServer, Shards};
use smol::future::FutureExt;

fn ring(shards: &Shards) -> Ring {
    Ring::builder()
        .shards(shards.named())
        .heartbeat_interval(Duration::from_millis(100))
        .heartbeat_timeout(Duration::from_millis(100))
        .probe_interval(Duration::from_millis(20))
        .max_reconnect_backoff(Duration::from_millis(100))
        .command_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

/// A ring whose heartbeats tolerate a busy machine: for tests in which no shard dies. With
/// [`ring`]'s 100 ms heartbeat timeout, a PING queued behind 2000 commands on a loaded 2-core
/// machine can time out and mark the only shard down, failing the test for the wrong reason.
fn steady_ring(shards: &Shards) -> Ring {
    Ring::builder()
        .shards(shards.named())
        .heartbeat_timeout(Duration::from_secs(5))
        .command_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn info_field(server: &RedisServer, section: &str, field: &str) -> u64 {
    let Reply::Bulk(Some(text)) = server.command(&["INFO", section]).unwrap() else {
        panic!("INFO {section}")
    };
    let text = String::from_utf8(text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn ring_and_its_futures_are_send_sync() {
    fn send_sync<T: Send + Sync + Clone + 'static>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let shards = Shards::start(1).unwrap();
    let ring = ring(&shards);
    send_sync(&ring);
    let get = ring.get::<Option<String>>("k");
    send(&get);
    drop(get);
    let cmd = ring.cmd(Cmd::new("PING"));
    send(&cmd);
    drop(cmd);
    let mut p = ring.pipeline();
    p.set("a", 1);
    let run = p.run();
    send(&run);
    drop(run);
    let tx = ring.transaction(&["a"], async |tx| {
        let _: Option<String> = tx.get("a").await?;
        tx.queue(Cmd::new("INCR").arg("a"));
        Ok::<(), Error>(())
    });
    send(&tx);
    drop(tx);
    let sub = ring.subscribe(&["c"]);
    send(&sub);
    drop(sub);
    let each = ring.for_each_shard(async |s| s.cmd(Cmd::new("DBSIZE")).await);
    send(&each);
}

/// A transaction whose closure captures variables (and fails with the caller's own error
/// type) runs in a spawned task: its future is `Send`.
#[test]
fn transaction_with_captures_runs_in_a_spawned_task() {
    #[derive(Debug)]
    enum MyError {
        Ring(Error),
    }
    impl From<Error> for MyError {
        fn from(e: Error) -> Self {
            MyError::Ring(e)
        }
    }
    let shards = Shards::start(2).unwrap();
    let ring = ring(&shards);
    let step = 5_i64;
    let key = String::from("{acct}:a");
    let task = smol::spawn({
        let ring = ring.clone();
        async move {
            ring.transaction(std::slice::from_ref(&key), |tx| {
                let key = key.clone();
                async move {
                    let a: i64 = tx.get::<Option<i64>>(&key).await?.unwrap_or(0);
                    tx.queue(Cmd::new("SET").arg(&key).arg(a + step));
                    Ok::<(), MyError>(())
                }
            })
            .await
        }
    });
    let replies = smol::block_on(task).unwrap();
    assert_eq!(replies, vec![Value::Okay]);
    let v: Option<i64> = smol::block_on(ring.get("{acct}:a")).unwrap();
    assert_eq!(v, Some(5));
    let other = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| ring.shard_for_key(k) != ring.shard_for_key("a"))
        .unwrap();
    let MyError::Ring(e) = smol::block_on(ring.transaction(&["a", other.as_str()], |_tx| async {
        Ok::<(), MyError>(())
    }))
    .unwrap_err();
    assert!(matches!(e, Error::CrossShard { .. }), "{e:?}");
}

/// The helpers expanded from the core's table talk to real servers, over several shards.
#[test]
fn typed_helpers_from_the_core_table() {
    let shards = Shards::start(3).unwrap();
    let ring = ring(&shards);
    smol::block_on(async {
        ring.set("s", "v").await.unwrap();
        assert_eq!(ring.get::<String>("s").await.unwrap(), "v");
        assert_eq!(ring.get::<Option<String>>("nope").await.unwrap(), None);
        assert!(!ring.set_nx("s", "w").await.unwrap());
        ring.set_ex("e", "v", 100).await.unwrap();
        let ttl = ring.ttl("e").await.unwrap();
        assert!((95..=100).contains(&ttl), "{ttl}");
        assert_eq!(ring.append("s", "w").await.unwrap(), 2);
        assert_eq!(ring.incr("n").await.unwrap(), 1);
        assert_eq!(ring.incr_by("n", 9).await.unwrap(), 10);
        assert_eq!(ring.decr("n").await.unwrap(), 9);
        assert_eq!(ring.incr_by_float("f", 0.5).await.unwrap(), 0.5);
        assert!(ring.expire("n", 100).await.unwrap());
        assert!(ring.persist("n").await.unwrap());
        assert_eq!(ring.type_("n").await.unwrap(), "string");

        ring.hset("h", "a", 1).await.unwrap();
        ring.hset_multiple("h", [("b", "2"), ("c", "3")])
            .await
            .unwrap();
        let all: HashMap<String, i64> = ring.hgetall("h").await.unwrap();
        assert_eq!(
            all,
            HashMap::from([("a".into(), 1), ("b".into(), 2), ("c".into(), 3)])
        );
        assert_eq!(ring.hlen("h").await.unwrap(), 3);

        ring.rpush("l", ["x", "y", "z"]).await.unwrap();
        assert_eq!(
            ring.lrange::<Vec<String>>("l", 0, -1).await.unwrap(),
            ["x", "y", "z"]
        );
        assert_eq!(ring.llen("l").await.unwrap(), 3);

        ring.sadd("set", ["a", "b"]).await.unwrap();
        assert!(ring.sismember("set", "a").await.unwrap());
        assert_eq!(ring.scard("set").await.unwrap(), 2);

        ring.zadd("z", 2.5, "m").await.unwrap();
        let with: Vec<(String, f64)> = ring.zrange_withscores("z", 0, -1).await.unwrap();
        assert_eq!(with, [("m".to_string(), 2.5)]);

        let v: i64 = ring
            .eval("return #KEYS + tonumber(ARGV[1])", ["{t}a", "{t}b"], 40)
            .await
            .unwrap();
        assert_eq!(v, 42);
        assert_eq!(ring.ping().await.unwrap(), "PONG");
        assert_eq!(ring.publish("nobody-listens", "x").await.unwrap(), 0);
    });
}

/// A reply that does not fit the type asked for is a typed error naming the command, the
/// reply's kind and the Rust type, never a panic.
#[test]
fn conversion_errors_name_the_command() {
    let shards = Shards::start(1).unwrap();
    let ring = ring(&shards);
    smol::block_on(async {
        ring.set("text", "abc").await.unwrap();
        let err = ring.get::<i64>("text").await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Conversion {
                    rust_type: "i64",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("GET"), "{err}");
    });
}

/// Polls every future of `futs` until all are done (a minimal join-all): the first poll
/// polls each once, so each submits its command before any other task can run.
async fn join_all<F: Future + Unpin>(mut futs: Vec<F>) -> Vec<F::Output> {
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match Pin::new(f).poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

/// Automatic pipelining: 2000 commands submitted while the driver cannot run (one task on
/// smol's single-threaded global executor, which also runs the driver) leave in one write:
/// the server needs a handful of reads for all of them, not 2000.
#[test]
fn concurrent_commands_share_writes() {
    assert!(
        std::env::var("SMOL_THREADS").map_or(true, |n| n == "1"),
        "this test relies on smol's default single executor thread"
    );
    let shards = Shards::start(1).unwrap();
    let server = &shards.servers()[0];
    let ring = steady_ring(&shards);
    smol::block_on(ring.set("k", "v")).unwrap();
    let reads_before = info_field(server, "stats", "total_reads_processed");
    let io_before = ring.io_stats();
    let client = ring.clone();
    let results = smol::block_on(smol::spawn(async move {
        let futs: Vec<_> = (0..2000)
            .map(|_| Box::pin(ring.get::<String>("k")))
            .collect();
        join_all(futs).await
    }));
    assert!(results.into_iter().all(|r| r.unwrap() == "v"));
    // 2000 GETs are 42 kB: the server reads 16 kB at a time. Its INFO connections and a
    // heartbeat may add a few more.
    let reads = info_field(server, "stats", "total_reads_processed") - reads_before;
    println!("2000 commands submitted at once: {reads} reads on the server");
    assert!(
        reads <= 10,
        "{reads} server reads for 2000 commands submitted at once"
    );
    let io = client.io_stats();
    assert_eq!(io.commands - io_before.commands, 2000);
    let writes = io.writes - io_before.writes;
    println!("2000 commands submitted at once: {writes} writes by the driver");
    assert!(
        writes <= 3,
        "{writes} writes for 2000 commands submitted at once"
    );
}

/// A driver turn wakes one of the callers whose replies it read and leaves the others for
/// that caller to wake when it runs; a caller woken that never runs (its executor busy
/// elsewhere) must not hold the others up: the driver wakes them itself after a bound.
/// Two GETs on one paused server are answered in one read; the one submitted last (woken
/// first) is a future nobody polls again. Without the bound the other would wait for the
/// driver's next turn, which nothing here brings before the core's next deadline (60 s:
/// every interval and timeout is set that long; measured: the test then fails after 60 s).
#[test]
fn a_woken_caller_that_never_runs_does_not_hold_up_the_others() {
    let mut shards = Shards::start(1).unwrap();
    let ring = Ring::builder()
        .shards(shards.named())
        .heartbeat_interval(Duration::from_secs(60))
        .heartbeat_timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(60))
        .command_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    smol::block_on(ring.set("k", "v")).unwrap();
    shards.server(0).pause().unwrap();
    let other = ring.clone();
    let waiting = std::thread::spawn(move || {
        let started = Instant::now();
        let got = smol::block_on(other.get::<String>("k"));
        (got, started.elapsed())
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while ring.in_flight() < 1 {
        assert!(Instant::now() < deadline, "the first GET was not submitted");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Submitted by its first poll, then never polled again (but not dropped).
    let mut stuck = Box::pin(ring.get::<String>("k"));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(stuck.as_mut().poll(&mut cx).is_pending());
    assert_eq!(ring.in_flight(), 2);
    shards.server(0).resume().unwrap();
    let (got, took) = waiting.join().unwrap();
    assert_eq!(got.unwrap(), "v");
    assert!(
        took < Duration::from_secs(20),
        "the other caller waited {took:?} behind a woken caller that never ran"
    );
    drop(stuck);
}

/// A command future dropped before its reply is cancelled in the core: nothing stays in
/// flight, and the ring keeps working.
#[test]
fn dropped_command_is_cancelled() {
    let mut shards = Shards::start(1).unwrap();
    let ring = ring(&shards);
    smol::block_on(ring.set("k", "v")).unwrap();
    shards.server(0).pause().unwrap();
    let outcome = smol::block_on(async { Some(ring.get::<String>("k").await) }.or(async {
        smol::Timer::after(Duration::from_millis(50)).await;
        None
    }));
    assert!(outcome.is_none(), "a paused server answered: {outcome:?}");
    assert_eq!(
        ring.in_flight(),
        0,
        "the dropped command is still waited for"
    );
    shards.server(0).resume().unwrap();
    let started = Instant::now();
    loop {
        match smol::block_on(ring.get::<String>("k")) {
            Ok(v) => {
                assert_eq!(v, "v");
                break;
            }
            Err(e) => assert!(started.elapsed() < Duration::from_secs(10), "{e}"),
        }
    }
}

/// `close`: pending commands fail with `Closed`, later ones too, the driver task ends and
/// every clone sees it; event receivers end.
#[test]
fn close_fails_pending_and_later_commands() {
    let mut shards = Shards::start(1).unwrap();
    let ring = ring(&shards);
    let clone = ring.clone();
    let events = ring.events();
    smol::block_on(ring.set("k", "v")).unwrap();
    shards.server(0).pause().unwrap();
    let pending = smol::spawn({
        let ring = ring.clone();
        async move { ring.get::<String>("k").await }
    });
    std::thread::sleep(Duration::from_millis(50));
    smol::block_on(clone.close());
    assert!(ring.is_closed());
    let err = smol::block_on(pending).unwrap_err();
    assert!(matches!(err, Error::Closed { .. }), "{err:?}");
    let err = smol::block_on(ring.get::<String>("k")).unwrap_err();
    assert!(matches!(err, Error::Closed { .. }), "{err:?}");
    assert_eq!(err.to_string(), "GET: the ring was closed");
    // The stream ends after what was sent before the close.
    let rest: Vec<Event> = smol::block_on(async {
        let mut v = Vec::new();
        while let Some(e) = events.recv().await {
            v.push(e);
        }
        v
    });
    assert!(
        rest.iter()
            .all(|e| matches!(e, Event::ShardAdded { .. } | Event::ShardDown { .. })),
        "{rest:?}"
    );
    // A closed ring refuses new events receivers' content too.
    assert!(smol::block_on(ring.events().recv()).is_none());
    shards.server(0).resume().unwrap();
}

/// Events: added at build, down on kill, up on restart, removed by `set_shards`.
#[test]
fn events_stream() {
    let mut shards = Shards::start(2).unwrap();
    let ring = ring(&shards);
    let mut events = ring.events();
    let next = |events: &mut redis_ring_smol::Events| {
        smol::block_on(async { events.recv().await }.or(async {
            smol::Timer::after(Duration::from_secs(3)).await;
            None
        }))
        .expect("an event within 3 s")
    };
    shards.server(1).kill();
    smol::block_on(async {
        // Commands notice the dead shard at once (a probe follows).
        for i in 0..10 {
            let _ = ring.get::<Option<String>>(format!("k{i}")).await;
        }
    });
    assert!(matches!(next(&mut events), Event::ShardDown { name, .. } if &*name == "shard2"));
    assert_eq!(ring.len(), 1);
    shards.server(1).restart().unwrap();
    assert!(matches!(next(&mut events), Event::ShardUp { name, .. } if &*name == "shard2"));
    ring.set_shards(shards.named().into_iter().take(1)).unwrap();
    assert!(matches!(next(&mut events), Event::ShardRemoved { name, .. } if &*name == "shard2"));
    assert_eq!(ring.stats().len(), 1);
}

/// Bad addresses are refused by the builder, naming the shard and never echoing a
/// password.
#[test]
fn bad_addresses_are_build_errors() {
    for (addr, reason) in [("redis://:secret@h:notaport", "port"), ("", "empty")] {
        let err = Ring::builder().shard("s1", addr).build().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("s1") && text.contains(reason), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
    let ring = Ring::builder().build().unwrap();
    assert!(ring.set_shards([("s2", "http://x")]).is_err());
    let err = smol::block_on(ring.cmd(Cmd::new("GET").arg("k"))).unwrap_err();
    assert!(matches!(err, Error::NoShards { .. }), "{err:?}");
}

/// The quickstart example runs against local shards and shows what it promises.
#[test]
fn quickstart_example_runs() {
    let shards = Shards::start(3).unwrap();
    let exe = std::env::current_exe().unwrap();
    let examples = exe.parent().unwrap().parent().unwrap().join("examples");
    let bin = examples.join("smol-quickstart");
    // `cargo test` builds examples only when no target filter is given: make sure the
    // binary is current (a no-op when it is), in this test's profile.
    let mut build = Command::new(env!("CARGO"));
    build.args([
        "build",
        "-q",
        "-p",
        "redis-ring-smol",
        "--example",
        "smol-quickstart",
    ]);
    if examples.to_string_lossy().contains("/release/") {
        build.arg("--release");
    }
    assert!(
        build.status().unwrap().success(),
        "cargo build --example smol-quickstart"
    );
    let out = Command::new(&bin)
        .args(shards.named().into_iter().map(|(_, a)| a))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "greeting = Some(\"hello\")",
        "visits = 1",
        "pipeline: 7 results",
        "live shards: 3",
        "transaction: 2 replies",
        "message on news: hello subscribers",
        "event: ShardRemoved",
        "live shards after set_shards: 2",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    // Its writes are on the servers.
    let total: u64 = shards
        .servers()
        .iter()
        .map(|s| match s.command(&["DBSIZE"]).unwrap() {
            Reply::Int(n) => n as u64,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(
        total, 11,
        "greeting, visits, user:{{42}}, 6 items, {{acct}}:a and :b, no more"
    );
}

/// `driver_thread(true)`: the driver runs on a thread named `redis-ring-smol`, which ends
/// with the ring.
#[test]
fn driver_thread_runs_and_ends_with_the_ring() {
    fn driver_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
            .filter(|name| name.trim() == "redis-ring-smol")
            .count()
    }
    let shards = Shards::start(2).unwrap();
    let before = driver_threads();
    let ring = Ring::builder()
        .shards(shards.named())
        .runtime(redis_ring_smol::Smol::new().driver_thread(true))
        .build()
        .unwrap();
    // The new thread names itself as it starts.
    let deadline = Instant::now() + Duration::from_secs(2);
    while driver_threads() != before + 1 {
        assert!(Instant::now() < deadline, "no redis-ring-smol thread");
        std::thread::sleep(Duration::from_millis(1));
    }
    smol::block_on(async {
        for i in 0..20 {
            ring.set(format!("t{i}"), i).await.unwrap();
            assert_eq!(ring.get::<i64>(format!("t{i}")).await.unwrap(), i);
        }
    });
    // Rings of other tests may run beside this one: wait for at most `before`.
    drop(ring);
    let deadline = Instant::now() + Duration::from_secs(2);
    while driver_threads() > before {
        assert!(
            Instant::now() < deadline,
            "the driver thread outlived its ring"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `Ring::block_on` with the driver on a thread of its own: while a round trip is the only
/// one in flight, the calling thread waits on the driver thread's reactor and reads the
/// reply itself (the driver task is not run for it), where `smol::block_on` has the driver
/// thread read every reply and wake the caller; with many tasks in flight the driver thread
/// takes over again, every command completes, and lone round trips are read on the caller's
/// thread again afterwards.
#[test]
fn ring_block_on_reads_a_lone_round_trip_itself() {
    const N: u64 = 2000;
    let shards = Shards::start(2).unwrap();
    let ring = Ring::builder()
        .shards(shards.named())
        .runtime(redis_ring_smol::Smol::new().driver_thread(true))
        .heartbeat_timeout(Duration::from_secs(5))
        .command_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let sets = |ring: Ring| async move {
        for i in 0..N {
            ring.set(format!("lone{i}"), i).await.unwrap();
        }
    };
    // Driver task turns (`IoStats::wakeups`) and milliseconds spent on `N` round trips.
    let turns = |block_on: &dyn Fn()| {
        let (before, start) = (ring.io_stats().wakeups, Instant::now());
        block_on();
        let ms = u64::try_from(start.elapsed().as_millis()).unwrap();
        (ring.io_stats().wakeups - before, ms)
    };
    ring.block_on(sets(ring.clone())); // connections open, shards up
    let (handed, _) = turns(&|| smol::block_on(sets(ring.clone())));
    let (driven, ms) = turns(&|| ring.block_on(sets(ring.clone())));
    assert!(
        handed >= N,
        "smol::block_on: {handed} driver turns for {N} round trips (one per reply expected)"
    );
    // The driver thread, aside, still looks every few milliseconds (its linger).
    assert!(
        driven < N / 4 + ms / 2,
        "Ring::block_on: {driven} driver turns for {N} round trips in {ms} ms \
         (the caller's thread should have read them)"
    );

    let ex = smol::LocalExecutor::new();
    ring.block_on(ex.run(async {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let ring = ring.clone();
                ex.spawn(async move {
                    for _ in 0..100 {
                        ring.incr("together").await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await;
        }
    }));
    assert_eq!(
        ring.block_on(ring.get::<i64>("together")).unwrap(),
        2000,
        "every concurrent INCR ran exactly once"
    );
    let (again, ms) = turns(&|| ring.block_on(sets(ring.clone())));
    assert!(
        again < N / 4 + ms / 2,
        "after the concurrent tasks: {again} driver turns for {N} lone round trips in {ms} ms"
    );
}

/// A blocking command waits on a dedicated connection of its shard: commands for the same
/// shard are not stalled behind it, and it returns when its list gets an element.
#[test]
fn blocking_command_does_not_stall_the_shard() {
    let shards = Shards::start(1).unwrap();
    let ring = ring(&shards);
    let waiter = smol::spawn({
        let ring = ring.clone();
        async move {
            ring.query::<Option<(String, String)>>(Cmd::new("BLPOP").arg("jobs").arg(5))
                .await
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    smol::block_on(async {
        for i in 0..50 {
            ring.set(format!("busy{i}"), i).await.unwrap();
        }
        // All done while the BLPOP (5 s) still waits: not stalled behind it (an ordering of
        // events, not a race against the clock).
        assert!(!waiter.is_finished(), "the SETs waited for the BLPOP");
        ring.rpush("jobs", "work").await.unwrap();
    });
    let got = smol::block_on(waiter).unwrap();
    assert_eq!(got, Some(("jobs".to_string(), "work".to_string())));
}

/// Dropping a subscription unsubscribes on the server; a published message then reaches
/// nobody.
#[test]
fn dropping_a_subscription_unsubscribes() {
    let shards = Shards::start(2).unwrap();
    let ring = ring(&shards);
    smol::block_on(async {
        let mut sub = ring.subscribe(&["alerts"]).await.unwrap();
        assert_eq!(sub.channels(), [b"alerts".to_vec()]);
        assert_eq!(ring.publish("alerts", "one").await.unwrap(), 1);
        let msg = sub.next_message().await.unwrap();
        assert_eq!(
            (msg.channel, msg.payload),
            (b"alerts".to_vec(), b"one".to_vec())
        );
        sub.subscribe(&["more"]);
        drop(sub);
        let deadline = Instant::now() + Duration::from_secs(2);
        while ring.publish("alerts", "two").await.unwrap() != 0 {
            assert!(Instant::now() < deadline, "still subscribed after drop");
            smol::Timer::after(Duration::from_millis(10)).await;
        }
    });
}

/// A transaction's closure error aborts it: nothing queued runs, and its dedicated
/// connection is closed.
#[test]
fn transaction_closure_error_runs_nothing() {
    let shards = Shards::start(1).unwrap();
    let ring = ring(&shards);
    smol::block_on(async {
        ring.set("{t}a", 1).await.unwrap();
        let err = ring
            .transaction(&["{t}a"], async |tx| {
                tx.queue(redis_ring_smol::cmds::set("{t}a", 2));
                Err(Error::InvalidCommand {
                    command: redis_ring_core::error::CmdName::new(b"APP"),
                    reason: "changed my mind",
                })
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("changed my mind"), "{err}");
        assert_eq!(ring.get::<i64>("{t}a").await.unwrap(), 1);
    });
}

/// A live subscription does not keep the ring open: once every `Ring` handle is dropped the
/// ring closes and the subscription's stream ends.
#[test]
fn a_subscription_does_not_keep_the_ring_open() {
    let shards = Shards::start(1).unwrap();
    let ring = ring(&shards);
    let mut sub = smol::block_on(ring.subscribe(&["ch"])).unwrap();
    drop(ring);
    let ended = smol::block_on(async { sub.next_message().await.is_none() }.or(async {
        smol::Timer::after(Duration::from_secs(5)).await;
        false
    }));
    assert!(ended, "the subscription outlived every Ring handle");
}
