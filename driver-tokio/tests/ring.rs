//! Tests of what is specific to the tokio driver (the behaviour every driver shares is in
//! the scenario suite, `tests/scenarios*.rs`): both runtime flavours from spawned tasks,
//! `Send` futures (a transaction whose closure captures variables included), no runtime
//! started behind the caller's back, every task ended by `close` or the last drop, Unix
//! sockets, the quickstart example.

use std::process::Command;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use redis_ring_tests::harness::{RawConn, Reply};
use redis_ring_tests::{RedisServer, ServerOptions, Shards};
use redis_ring_tokio::{driver_tasks, Cmd, Error, Ring, Tokio, Value};
use tokio::runtime::Handle;

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

/// Tasks alive on the current runtime.
fn alive_tasks() -> usize {
    Handle::current().metrics().num_alive_tasks()
}

/// Waits (on events, with a wide margin) until the runtime runs `n` tasks.
async fn wait_for_tasks(n: usize) -> bool {
    for _ in 0..400 {
        if alive_tasks() == n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

#[derive(Debug)]
enum MyError {
    Ring(Error),
}

impl From<Error> for MyError {
    fn from(e: Error) -> Self {
        MyError::Ring(e)
    }
}

/// 50 spawned tasks of SET / GET, then a transaction whose closure captures variables
/// (and fails with the caller's own error type), a pipeline, a subscription and a
/// per-shard command, each in a task of its own: every future is `Send`.
async fn spawned_tasks(shards: &Shards) {
    let ring = ring(shards);
    let tasks: Vec<_> = (0..50)
        .map(|t| {
            let ring = ring.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    let key = format!("task:{t}:{i}");
                    ring.set(&*key, i).await?;
                    let got: Option<i64> = ring.get(&*key).await?;
                    assert_eq!(got, Some(i));
                }
                Ok::<(), Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }

    let step = 5_i64;
    let key = String::from("{acct}:a");
    let replies = tokio::spawn({
        let ring = ring.clone();
        let key = key.clone();
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
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(replies, vec![Value::Okay]);
    assert_eq!(ring.get::<Option<i64>>(&*key).await.unwrap(), Some(5));
    let other = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| ring.shard_for_key(k) != ring.shard_for_key("a"))
        .unwrap();
    let MyError::Ring(e) = ring
        .transaction(&["a", other.as_str()], |_tx| async {
            Ok::<(), MyError>(())
        })
        .await
        .unwrap_err();
    assert!(matches!(e, Error::CrossShard { .. }), "{e:?}");

    // An async closure borrowing the caller's variables, in a spawned task.
    let results = tokio::spawn({
        let ring = ring.clone();
        async move {
            let keys = vec!["{acct}:a".to_owned(), "{acct}:b".to_owned()];
            let add = 10_i64;
            ring.transaction(&keys, async |tx| {
                for k in &keys {
                    let v: i64 = tx.get::<Option<i64>>(k).await?.unwrap_or(0);
                    tx.queue(Cmd::new("SET").arg(k).arg(v + add));
                }
                Ok::<(), Error>(())
            })
            .await
        }
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(results, vec![Value::Okay, Value::Okay]);
    assert_eq!(ring.get::<Option<i64>>("{acct}:b").await.unwrap(), Some(10));

    let pipelined = tokio::spawn({
        let ring = ring.clone();
        async move {
            let mut p = ring.pipeline();
            p.incr("p").incr("p").get("{acct}:a");
            p.run().await
        }
    })
    .await
    .unwrap();
    assert_eq!(pipelined.len(), 3);
    assert_eq!(pipelined[1], Ok(Value::Int(2)));

    let sizes = tokio::spawn({
        let ring = ring.clone();
        async move {
            ring.for_each_shard(async |s| s.query::<i64>(Cmd::new("DBSIZE")).await)
                .await
        }
    })
    .await
    .unwrap();
    assert_eq!(sizes.len(), 3);
    let total: i64 = sizes.into_iter().map(|(_, n)| n.unwrap()).sum();
    assert_eq!(total, 1000 + 2 + 1);

    let received = tokio::spawn({
        let ring = ring.clone();
        async move {
            let mut sub = ring.subscribe(&["news"]).await?;
            ring.publish("news", "hello").await?;
            Ok::<_, Error>(sub.next_message().await.map(|m| m.payload))
        }
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(received, Some(b"hello".to_vec()));
    ring.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_runtime_spawned_tasks() {
    let shards = Shards::start(3).unwrap();
    spawned_tasks(&shards).await;
}

#[tokio::test(flavor = "current_thread")]
async fn current_thread_runtime_spawned_tasks() {
    let shards = Shards::start(3).unwrap();
    spawned_tasks(&shards).await;
}

/// Outside a runtime `build` fails, saying why, instead of starting one.
#[test]
fn build_outside_a_runtime_is_an_error() {
    let before = driver_tasks();
    let err = Ring::builder()
        .shard("s1", "127.0.0.1:1")
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("tokio runtime"), "{text}");
    assert!(
        matches!(err, redis_ring_tokio::BuildError::Io(_)),
        "{err:?}"
    );
    // Nothing was left running.
    assert_eq!(driver_tasks(), before);
}

/// `Tokio::with_handle`: built from a plain thread, driven by the given runtime.
#[test]
fn with_handle_from_a_plain_thread() {
    let shards = Shards::start(2).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ring = Ring::builder()
        .runtime(Tokio::with_handle(rt.handle().clone()))
        .shards(shards.named())
        .build()
        .unwrap();
    rt.block_on(async {
        ring.set("k", "v").await.unwrap();
        assert_eq!(ring.get::<String>("k").await.unwrap(), "v");
        ring.close().await;
        assert!(wait_for_tasks(0).await, "{} tasks left", alive_tasks());
    });
}

/// `close` and dropping the last handle each end every task the ring started on the
/// runtime, on both flavours.
async fn ends_every_task(shards: &Shards) {
    let base = alive_tasks();
    let ring = ring(shards);
    ring.set("a", 1).await.unwrap();
    assert!(alive_tasks() > base, "the driver task runs on this runtime");
    ring.close().await;
    assert!(wait_for_tasks(base).await, "{} tasks left", alive_tasks());
    let err = ring.get::<Option<i64>>("a").await.unwrap_err();
    assert!(matches!(err, Error::Closed { .. }), "{err:?}");

    let ring = ring_with_clone(shards).await;
    drop(ring);
    assert!(
        wait_for_tasks(base).await,
        "{} tasks left after the last drop",
        alive_tasks()
    );
}

/// A ring used from a clone in a finished task, then only the original handle kept.
async fn ring_with_clone(shards: &Shards) -> Ring {
    let ring = ring(shards);
    let clone = ring.clone();
    tokio::spawn(async move { clone.set("b", 2).await })
        .await
        .unwrap()
        .unwrap();
    ring
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_and_drop_end_every_task_multi_thread() {
    let shards = Shards::start(2).unwrap();
    ends_every_task(&shards).await;
}

#[tokio::test(flavor = "current_thread")]
async fn close_and_drop_end_every_task_current_thread() {
    let shards = Shards::start(2).unwrap();
    ends_every_task(&shards).await;
}

/// Shutting the runtime down under a waiting caller fails the call instead of leaving it
/// hanging (the driver task's drop fails every waiting caller).
#[test]
fn runtime_shutdown_fails_waiting_callers() {
    let shards = Shards::start(1).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ring = rt.block_on(async { ring(&shards) });
    rt.block_on(ring.set("k", "v")).unwrap();
    let before = driver_tasks();
    rt.shutdown_timeout(Duration::from_secs(5));
    assert_eq!(driver_tasks(), before - 1, "the driver task was dropped");
    // `BLPOP` would wait; the call fails at once since no driver is left.
    let other = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = other
        .block_on(ring.cmd(Cmd::new("BLPOP").arg("nothing").arg(0)))
        .unwrap_err();
    assert!(matches!(err, Error::Closed { .. }), "{err:?}");
}

/// Unix-socket shard addresses (`tokio::net::UnixStream`).
#[tokio::test]
async fn unix_socket_shard() {
    let path = std::env::temp_dir().join(format!("redis-ring-tokio-{}.sock", std::process::id()));
    let path_str = path.to_str().unwrap().to_owned();
    let server = RedisServer::start_with(
        ServerOptions::new()
            .config("unixsocket", &path_str)
            .config("unixsocketperm", "700"),
    )
    .unwrap();
    // Only the socket path is given: the value can only have come through it.
    let ring = Ring::builder()
        .shard("local", format!("unix:{path_str}"))
        .build()
        .unwrap();
    ring.set("via", "unix").await.unwrap();
    let mut raw = RawConn::connect(server.socket_addr(), Duration::from_secs(2)).unwrap();
    assert_eq!(
        raw.command(&["GET", "via"]).unwrap(),
        Reply::Bulk(Some(b"unix".to_vec()))
    );
    assert_eq!(ring.stats()[0].addr, format!("unix:{path_str}"));
    ring.close().await;
    drop(server);
    let _ = std::fs::remove_file(&path);
}

/// Automatic pipelining on tokio's readiness: 2000 commands submitted while the driver
/// cannot run (one task on a `current_thread` runtime, which also runs the driver) leave
/// in a handful of writes, not 2000.
#[tokio::test(flavor = "current_thread")]
async fn concurrent_commands_share_writes() {
    let shards = Shards::start(1).unwrap();
    let ring = steady_ring(&shards);
    ring.set("k", "v").await.unwrap();
    let before = ring.io_stats();
    // `FuturesUnordered` polls every future once on its first poll: each submits its
    // command before the driver task can run.
    let mut all: FuturesUnordered<_> = (0..2000).map(|_| ring.get::<String>("k")).collect();
    while let Some(r) = all.next().await {
        assert_eq!(r.unwrap(), "v");
    }
    let io = ring.io_stats();
    assert_eq!(io.commands - before.commands, 2000);
    let writes = io.writes - before.writes;
    println!("2000 commands submitted at once: {writes} writes by the driver");
    assert!(
        writes <= 3,
        "{writes} writes for 2000 commands submitted at once"
    );
    ring.close().await;
}

/// Automatic pipelining between spawned callers: a caller wakes the driver from inside its
/// own poll, and tokio would run the driver next (the worker's LIFO slot) and write that
/// one command alone; the driver yields first while callers are about to queue commands
/// (`Runtime::yield_to_callers`), so the callers one batch of replies wakes share the next
/// write. One worker, so the tasks' order is tokio's, not the machine's load.
#[test]
fn spawned_callers_share_writes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let shards = Shards::start(1).unwrap();
        let ring = steady_ring(&shards);
        ring.set("k", "v").await.unwrap();
        let before = ring.io_stats();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let ring = ring.clone();
                tokio::spawn(async move {
                    for _ in 0..40 {
                        assert_eq!(ring.get::<String>("k").await.unwrap(), "v");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let io = ring.io_stats();
        let (commands, writes) = (io.commands - before.commands, io.writes - before.writes);
        println!("50 tasks x 40 commands: {commands} commands in {writes} writes");
        assert_eq!(commands, 2000);
        assert!(
            writes * 4 <= commands,
            "{writes} writes for {commands} commands from 50 tasks"
        );
        ring.close().await;
    });
}

/// The quickstart example runs against local shards and shows what it promises.
#[test]
fn quickstart_example_runs() {
    let shards = Shards::start(3).unwrap();
    let exe = std::env::current_exe().unwrap();
    let examples = exe.parent().unwrap().parent().unwrap().join("examples");
    let bin = examples.join("tokio-quickstart");
    // `cargo test` builds examples only when no target filter is given: make sure the
    // binary is current (a no-op when it is), in this test's profile.
    let mut build = Command::new(env!("CARGO"));
    build.args([
        "build",
        "-q",
        "-p",
        "redis-ring-tokio",
        "--example",
        "tokio-quickstart",
    ]);
    if examples.to_string_lossy().contains("/release/") {
        build.arg("--release");
    }
    assert!(
        build.status().unwrap().success(),
        "cargo build --example tokio-quickstart"
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
        "visits = 10",
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
