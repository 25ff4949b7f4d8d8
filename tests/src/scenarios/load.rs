//! Load and resources: 10k concurrent tasks, no leak after 200 shard restarts, and a clean
//! shutdown when the last handle is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::util::{
    build, guard, isolated, open_fds, raw, raw_get, raw_text, spec, threads, wait_until,
};
use super::{Cmd, Error, Job, RingSpec, RingUnderTest, Value};
use crate::{RedisServer, Shards};

/// Records a job's failure, keeping the first 10 for the assertion's message.
fn keep_error(errors: &Mutex<Vec<String>>, line: String) {
    let mut errors = errors.lock().unwrap();
    if errors.len() < 10 {
        errors.push(line);
    }
}

/// Each task sets its own key and reads it back.
struct SetGet {
    ok: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Job for SetGet {
    fn next(&self, task: usize, i: u64) -> Option<Cmd> {
        let key = format!("tenk:{task}");
        match i {
            0 => Some(Cmd::new("SET").arg(&*key).arg(task)),
            1 => Some(Cmd::new("GET").arg(&*key)),
            _ => None,
        }
    }

    fn done(&self, task: usize, i: u64, result: Result<Value, Error>, _elapsed: Duration) {
        let expected = if i == 0 {
            Value::Okay
        } else {
            Value::Bulk(task.to_string().into_bytes())
        };
        match result {
            Ok(v) if v == expected => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            other => keep_error(&self.errors, format!("task {task} op {i}: {other:?}")),
        }
    }
}

/// 10,000 concurrent tasks doing SET then GET of their own key all succeed.
pub fn ten_thousand_tasks<R: RingUnderTest>() {
    let _g = guard(true);
    let shards = Shards::start(3).unwrap();
    let mut s = spec(&shards);
    // The point is concurrency, not latency: allow a slow CI machine its time, heartbeats
    // included (they queue behind thousands of commands: at 100 ms, all three shards were
    // marked down at load 15 and the last tasks got AllShardsDown).
    s.config.command_timeout = Duration::from_secs(10);
    s.config.heartbeat_timeout = Duration::from_secs(5);
    let ring: R = build(&s);
    let job = SetGet {
        ok: AtomicU64::new(0),
        errors: Mutex::new(Vec::new()),
    };
    ring.run_concurrent(10_000, &job);
    let errors = job.errors.lock().unwrap();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(job.ok.load(Ordering::Relaxed), 20_000);
    ring.close();
}

/// Runs commands on every shard of `ring` until each has answered one.
fn touch_all<R: RingUnderTest>(ring: &R) {
    for i in 0..100 {
        ring.cmd(Cmd::new("SET").arg(format!("touch:{i}")).arg(i))
            .unwrap_or_else(|e| panic!("{}: {e}", R::DRIVER));
    }
}

/// What the process holds: file descriptors, threads, the driver's background tasks.
fn resources<R: RingUnderTest>() -> (usize, usize, usize) {
    (
        open_fds().unwrap(),
        threads().unwrap(),
        R::background_tasks(),
    )
}

/// Connections named `name` the server sees (`CLIENT LIST`).
fn named_clients(server: &RedisServer, name: &str) -> usize {
    raw_text(&mut raw(server, None), &["CLIENT", "LIST"])
        .lines()
        .filter(|l| l.contains(&format!("name={name} ")))
        .count()
}

/// Builds, uses and closes one ring so that everything a driver starts lazily once per
/// process (an executor's threads, say) exists before resources are counted.
fn warm_up<R: RingUnderTest>(spec: &RingSpec) {
    let ring: R = build(spec);
    touch_all(&ring);
    ring.close();
}

/// 200 restarts of one shard leave no task, connection or file descriptor behind, neither
/// while the ring lives nor after it is closed. A GET right after each kill either fails
/// with a connection-kind error naming the shard or (once the shard is down) reads the key
/// elsewhere; every 20 restarts a SET lands on the restarted server itself (the ring
/// reconnected to the new process).
pub fn no_leak_after_restarts<R: RingUnderTest>() {
    isolated("no_leak_after_restarts", || {
        let mut shards = Shards::start(3).unwrap();
        let mut s = spec(&shards);
        s.config.conn.client_name = Some("leak-check".into());
        warm_up::<R>(&s);
        let before = resources::<R>();

        let ring: R = build(&s);
        touch_all(&ring);
        let victim_key = (0..)
            .map(|i| format!("victim:{i}"))
            .find(|k| ring.shard_for_key(k).as_deref() == Some("shard1"))
            .unwrap();
        let warm = resources::<R>();
        let (mut failed, mut reconnects) = (0, 0);
        for round in 0..200u32 {
            shards.server(0).kill();
            match ring.cmd(Cmd::new("GET").arg(&*victim_key)) {
                // Down already: read on another shard (where a SET of an earlier round may
                // have landed while shard1 was down).
                Ok(Value::Nil) => {}
                Ok(Value::Bulk(v)) => assert!(
                    std::str::from_utf8(&v)
                        .is_ok_and(|v| v.parse::<u32>().is_ok_and(|r| r < round)),
                    "round {round}: read {v:?}"
                ),
                Ok(other) => panic!("round {round}: GET gave {other:?}"),
                Err(e) => {
                    assert!(
                        matches!(
                            e,
                            Error::Disconnected { .. }
                                | Error::Connect { .. }
                                | Error::ShardDown { .. }
                                | Error::Timeout { .. }
                        ) && e.to_string().contains("shard1"),
                        "round {round}: {e:?}"
                    );
                    failed += 1;
                }
            }
            shards.server(0).restart().unwrap();
            if round.is_multiple_of(20) {
                // The ring reconnects to the new process: the SET lands on it.
                let value = round.to_string();
                let mut conn = raw(shards.server(0), None);
                let landed = wait_until(Duration::from_secs(10), || {
                    ring.cmd(Cmd::new("SET").arg(&*victim_key).arg(&*value))
                        .is_ok()
                        && raw_get(&mut conn, &victim_key).as_deref() == Some(value.as_bytes())
                });
                assert!(landed, "round {round}: no SET reached the restarted shard1");
                reconnects += 1;
            }
        }
        println!(
            "{}: {failed} of 200 GETs right after a kill failed; {reconnects} reconnects \
             checked on the server",
            R::DRIVER
        );
        assert!(failed > 0, "no GET ever saw shard1 dead");
        assert!(
            wait_until(Duration::from_secs(10), || ring.len() == 3
                && ring.cmd(Cmd::new("SET").arg(&*victim_key).arg("x")).is_ok()),
            "shard1 did not come back after the restarts"
        );
        touch_all(&ring);
        let settled = wait_until(Duration::from_secs(10), || {
            let now = resources::<R>();
            now.0 <= warm.0 + 2 && now.1 <= warm.1 && now.2 <= warm.2
        });
        assert!(
            settled,
            "{}: resources (fds, threads, tasks) grew over 200 restarts: warm {warm:?}, now {:?}",
            R::DRIVER,
            resources::<R>()
        );
        for (i, server) in shards.servers().iter().enumerate() {
            let n = named_clients(server, "leak-check");
            assert!(
                n <= 3,
                "{} connections to shard{} after the restarts",
                n,
                i + 1
            );
        }
        ring.close();
        // Fewer than before is fine (a transient thread that existed when `before` was taken,
        // such as a name-resolution thread, may have ended); more is a leak.
        let cleaned = wait_until(Duration::from_secs(10), || {
            let now = resources::<R>();
            now.0 <= before.0 && now.1 <= before.1 && now.2 <= before.2
        });
        assert!(
            cleaned,
            "{}: after close: before {before:?}, now {:?}",
            R::DRIVER,
            resources::<R>()
        );
    });
}

/// Dropping a clone keeps the ring working; dropping the last handle (without `close`)
/// closes every connection and ends every task.
pub fn drop_last_handle_cleans_up<R: RingUnderTest>() {
    isolated("drop_last_handle_cleans_up", || {
        let shards = Shards::start(3).unwrap();
        let mut s = spec(&shards);
        s.config.conn.client_name = Some("drop-check".into());
        warm_up::<R>(&s);
        let before = resources::<R>();

        let ring: R = build(&s);
        let clone = ring.clone_handle();
        touch_all(&ring);
        drop(ring);
        touch_all(&clone);
        assert!(shards
            .servers()
            .iter()
            .all(|srv| named_clients(srv, "drop-check") >= 1));
        drop(clone);
        // Fewer than before is fine (a transient thread that existed when `before` was taken,
        // such as a name-resolution thread, may have ended); more is a leak.
        let cleaned = wait_until(Duration::from_secs(10), || {
            let now = resources::<R>();
            now.0 <= before.0 && now.1 <= before.1 && now.2 <= before.2
        });
        assert!(
            cleaned,
            "{}: after the last drop: before {before:?}, now {:?}",
            R::DRIVER,
            resources::<R>()
        );
        for (i, server) in shards.servers().iter().enumerate() {
            assert!(
                wait_until(Duration::from_secs(10), || named_clients(
                    server,
                    "drop-check"
                ) == 0),
                "shard{} still sees the dropped ring's connections",
                i + 1
            );
        }
    });
}

/// Large values (1–8 MiB, written from the command's own buffer instead of being copied
/// into the send buffer) next to small commands on the same connections.
struct LargeValues {
    /// One value per large task, each a different size and pattern.
    values: Vec<Vec<u8>>,
    ok: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl LargeValues {
    fn new(tasks: usize) -> LargeValues {
        let values = (0..tasks)
            .map(|t| {
                // 1, 2, 4, 8 MiB, and odd sizes between, so splice boundaries fall anywhere.
                let len = (1 << 20 << (t % 4)) + t * 7919;
                (0..len).map(|i| (i * 131 + t * 7) as u8).collect()
            })
            .collect();
        LargeValues {
            values,
            ok: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
        }
    }

    fn expected(&self, task: usize, i: u64) -> Value {
        match (task < self.values.len(), i) {
            (true, 2) => Value::Bulk(self.values[task].clone()),
            (false, i) if i % 2 == 1 => Value::Bulk(format!("small:{task}:{}", i / 2).into()),
            (true, 3) => Value::Int(1),
            _ => Value::Okay,
        }
    }
}

impl Job for LargeValues {
    fn next(&self, task: usize, i: u64) -> Option<Cmd> {
        if let Some(v) = self.values.get(task) {
            let key = format!("large:{task}");
            return match i {
                0 => Some(Cmd::new("SET").arg(&*key).arg(&v[..])),
                1 => Some(Cmd::new("SET").arg(format!("{key}:small")).arg(task)),
                2 => Some(Cmd::new("GET").arg(&*key)),
                3 => Some(Cmd::new("DEL").arg(&*key)),
                _ => None,
            };
        }
        // Small commands in between: SET then GET, 20 rounds.
        let key = format!("small:{task}");
        match i {
            i if i >= 40 => None,
            i if i % 2 == 0 => Some(Cmd::new("SET").arg(&*key).arg(format!("{key}:{}", i / 2))),
            _ => Some(Cmd::new("GET").arg(&*key)),
        }
    }

    fn done(&self, task: usize, i: u64, result: Result<Value, Error>, _elapsed: Duration) {
        let expected = self.expected(task, i);
        match result {
            Ok(v) if v == expected => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            other => {
                let got = match &other {
                    Ok(Value::Bulk(b)) => format!("a {}-byte string", b.len()),
                    other => format!("{other:?}"),
                };
                keep_error(&self.errors, format!("task {task} op {i}: {got}"));
            }
        }
    }
}

/// SET/GET round trips of 1–8 MiB values, several in flight at once on each shard beside
/// small commands, and a pipeline mixing both: every value comes back byte-exact (over
/// TLS too in the suite's TLS mode).
pub fn large_values_round_trip_byte_exact<R: RingUnderTest>() {
    let _g = guard(true);
    let shards = Shards::start(2).unwrap();
    let mut s = spec(&shards);
    // Megabytes through a debug build on a loaded machine: generous time, and heartbeats
    // that wait behind them are not failures.
    s.config.command_timeout = Duration::from_secs(30);
    s.config.heartbeat_timeout = Duration::from_secs(10);
    let ring: R = build(&s);
    let (large, small) = (8, 24);
    let job = LargeValues::new(large);
    ring.run_concurrent(large + small, &job);
    let errors = job.errors.lock().unwrap();
    assert!(errors.is_empty(), "{}: {errors:#?}", R::DRIVER);
    assert_eq!(
        job.ok.load(Ordering::Relaxed),
        (large * 4 + small * 40) as u64
    );
    // One pipeline: large and small commands interleaved, in order.
    let (a, b) = (&job.values[1], &job.values[3]);
    let results = ring.pipeline(vec![
        Cmd::new("SET").arg("pipe:a").arg(&a[..]),
        Cmd::new("SET").arg("pipe:s").arg("s"),
        Cmd::new("SET").arg("pipe:b").arg(&b[..]),
        Cmd::new("GET").arg("pipe:a"),
        Cmd::new("GET").arg("pipe:s"),
        Cmd::new("GET").arg("pipe:b"),
    ]);
    let results: Vec<Value> = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", R::DRIVER)))
        .collect();
    assert_eq!(results[..3], [Value::Okay, Value::Okay, Value::Okay]);
    assert!(results[3] == Value::Bulk(a.clone()), "pipe:a differs");
    assert_eq!(results[4], Value::Bulk(b"s".to_vec()));
    assert!(results[5] == Value::Bulk(b.clone()), "pipe:b differs");
    // What the servers hold is the value, byte for byte.
    let owner = shards
        .servers()
        .iter()
        .find(|srv| raw_get(&mut raw(srv, None), "pipe:b").is_some())
        .expect("pipe:b is on a shard");
    assert!(raw_get(&mut raw(owner, None), "pipe:b").as_deref() == Some(&b[..]));
    ring.close();
}
