//! Failure policies: `FailFast` under a killed shard, `Rejoin::Flush` against stale reads
//! after a flap, and a custom heartbeat (command + check of its reply).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis_ring_core::config::{FailurePolicy, Heartbeat, HeartbeatCheck, Rejoin};
use redis_ring_core::placement::{Algorithm, Placement, ShardSpec};

use super::util::{build, guard, is_down, is_up, mix, raw, raw_get, spec, wait_event};
use super::{Cmd, Error, Job, RingUnderTest, Value};
use crate::Shards;

const NAMES: [&str; 3] = ["shard1", "shard2", "shard3"];

/// Index in `names` of the shard that owns `key` over all of them.
fn home(names: &[&str], key: &str) -> usize {
    let specs: Vec<ShardSpec<'_>> = names.iter().map(|n| ShardSpec::new(*n)).collect();
    Algorithm::default()
        .build(&specs)
        .shard_for(key.as_bytes())
        .expect("shards")
}

/// What one operation did.
#[derive(Clone, Debug)]
struct Op {
    /// Start and end, relative to the load's epoch.
    start: Duration,
    end: Duration,
    home: usize,
    /// `None`: success; `Some(shard)`: `ShardDown` naming `shard`; `Some("")`: any other
    /// error.
    failed: Option<String>,
}

/// SET/GET over keys whose homes are known, until stopped, recording every operation.
struct Load {
    epoch: Instant,
    keys: Vec<(String, usize)>,
    stop: AtomicBool,
    ops: Vec<Mutex<Vec<Op>>>,
}

impl Load {
    fn new(tasks: usize, keys: usize) -> Load {
        Load {
            epoch: Instant::now(),
            keys: (0..keys)
                .map(|i| format!("ff:{i}"))
                .map(|k| {
                    let h = home(&NAMES, &k);
                    (k, h)
                })
                .collect(),
            stop: AtomicBool::new(false),
            ops: (0..tasks).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    fn key(&self, task: usize, i: u64) -> &(String, usize) {
        &self.keys[(mix(task, i) % self.keys.len() as u64) as usize]
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }
}

impl Job for Load {
    fn next(&self, task: usize, i: u64) -> Option<Cmd> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        // Slow enough that 50 tasks leave the 2-core machine some air.
        if i % 64 == 63 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (key, _) = self.key(task, i);
        Some(if i.is_multiple_of(2) {
            Cmd::new("SET").arg(&**key).arg("v")
        } else {
            Cmd::new("GET").arg(&**key)
        })
    }

    fn done(&self, task: usize, i: u64, result: Result<Value, Error>, elapsed: Duration) {
        let (_, home) = self.key(task, i);
        let end = self.now();
        let failed = match result {
            Ok(_) => None,
            Err(Error::ShardDown { shard, .. }) => Some(shard.to_string()),
            Err(_) => Some(String::new()),
        };
        self.ops[task].lock().unwrap().push(Op {
            start: end.saturating_sub(elapsed),
            end,
            home: *home,
            failed,
        });
    }
}

/// `FailFast`: kill one of three shards under 50 concurrent tasks. Once it is down its
/// keys fail at once with `ShardDown` naming it, no key moves, the live shards' commands
/// all succeed without stalling; after its restart its keys are served by it again.
pub fn fail_fast_kill_one_shard_under_load<R: RingUnderTest>() {
    let _g = guard(true);
    let mut shards = Shards::start(3).unwrap();
    let mut s = spec(&shards);
    s.config.failure_policy = FailurePolicy::FailFast;
    // The killed shard is found by refused connections; a long heartbeat timeout keeps a live
    // shard of a loaded machine from being taken for dead (its keys would fail, by design).
    s.config.heartbeat_timeout = Duration::from_secs(1);
    let ring: R = build(&s);
    let mut events = ring.events();
    let victim = 1;
    let load = Load::new(50, 3000);

    let (t_down, t_restart, t_up) = std::thread::scope(|sc| {
        let runner = sc.spawn(|| ring.run_concurrent(50, &load));
        let fail = |msg: String| {
            load.stop.store(true, Ordering::Relaxed);
            panic!("{msg}");
        };
        std::thread::sleep(Duration::from_millis(300));
        shards.server(victim).kill();
        if wait_event(&mut events, Duration::from_secs(3), |e| {
            is_down(e, NAMES[victim])
        })
        .is_none()
        {
            fail(format!("{} not marked down within 3 s", NAMES[victim]));
        }
        let t_down = load.now();
        // Keys never move under FailFast.
        for (key, h) in load.keys.iter().take(300) {
            if ring.shard_for_key(key).as_deref() != Some(NAMES[*h]) {
                fail(format!("{key} moved off {} while it is down", NAMES[*h]));
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        let t_restart = load.now();
        shards.server(victim).restart().unwrap();
        if wait_event(&mut events, Duration::from_secs(3), |e| {
            is_up(e, NAMES[victim])
        })
        .is_none()
        {
            fail(format!(
                "{} not up within 3 s of its restart",
                NAMES[victim]
            ));
        }
        let t_up = load.now();
        std::thread::sleep(Duration::from_millis(300));
        load.stop.store(true, Ordering::Relaxed);
        runner.join().unwrap();
        (t_down, t_restart, t_up)
    });

    let ops: Vec<Op> = load
        .ops
        .iter()
        .flat_map(|m| m.lock().unwrap().clone())
        .collect();
    assert!(ops.len() > 2000, "the load barely ran: {} ops", ops.len());
    let live: Vec<&Op> = ops.iter().filter(|o| o.home != victim).collect();
    let live_failed: Vec<&&Op> = live.iter().filter(|o| o.failed.is_some()).collect();
    assert!(
        live_failed.is_empty(),
        "{} live-shard commands failed: {:?}",
        live_failed.len(),
        &live_failed[..live_failed.len().min(5)]
    );
    let worst_live = live.iter().map(|o| o.end - o.start).max().unwrap();
    // While down: every command for its keys fails with ShardDown naming it, at once.
    let refused: Vec<&Op> = ops
        .iter()
        .filter(|o| o.home == victim && o.start > t_down && o.end < t_restart)
        .collect();
    assert!(refused.len() > 100, "only {} ops while down", refused.len());
    for o in &refused {
        assert_eq!(
            o.failed.as_deref(),
            Some(NAMES[victim]),
            "a command for the down shard's key did not fail with ShardDown: {o:?}"
        );
    }
    let mut refusal: Vec<Duration> = refused.iter().map(|o| o.end - o.start).collect();
    refusal.sort();
    let (p50, max) = (refusal[refusal.len() / 2], refusal[refusal.len() - 1]);
    println!(
        "{}: {} ops; live shards: {} ops, slowest {worst_live:?}; down shard's keys: {} refusals, p50 {p50:?}, max {max:?}",
        R::DRIVER,
        ops.len(),
        live.len(),
        refused.len()
    );
    // Wide margins (a loaded CI machine): "at once" is far below the 1 s command timeout.
    assert!(max < Duration::from_millis(500), "a refusal took {max:?}");
    assert!(
        worst_live < Duration::from_millis(900),
        "a live shard's command stalled {worst_live:?} (command timeout 1 s)"
    );
    // After Up: its keys are served again, by it.
    let back: Vec<&Op> = ops
        .iter()
        .filter(|o| o.home == victim && o.start > t_up)
        .collect();
    assert!(!back.is_empty() && back.iter().all(|o| o.failed.is_none()));
    let mut conn = raw(shards.server(victim), None);
    for (key, _) in load.keys.iter().filter(|(_, h)| *h == victim).take(20) {
        ring.cmd(Cmd::new("SET").arg(&**key).arg("home")).unwrap();
        assert_eq!(raw_get(&mut conn, key).as_deref(), Some(&b"home"[..]));
    }
    ring.close();
}

/// `Rehash` after a flap: a paused shard goes down, its key is rewritten on another shard,
/// the shard resumes with its old value. With `Rejoin::Immediate` (go-redis) the old value
/// is read back (the stale read this guard exists for); with `Rejoin::Flush` the shard is
/// flushed before it serves again, so the read is a miss, never the stale value.
pub fn rejoin_flush_prevents_stale_reads<R: RingUnderTest>() {
    let _g = guard(true);
    for rejoin in [Rejoin::Immediate, Rejoin::Flush] {
        let mut shards = Shards::start(2).unwrap();
        let mut s = spec(&shards);
        s.config.rejoin = rejoin;
        let ring: R = build(&s);
        let mut events = ring.events();
        let key = (0..)
            .map(|i| format!("flap:{i}"))
            .find(|k| home(&["shard1", "shard2"], k) == 0)
            .unwrap();
        ring.cmd(Cmd::new("SET").arg(&*key).arg("old")).unwrap();
        shards.server(0).pause().unwrap();
        assert!(
            wait_event(&mut events, Duration::from_secs(3), |e| is_down(
                e, "shard1"
            ))
            .is_some(),
            "shard1 not down"
        );
        assert_eq!(ring.shard_for_key(&key).as_deref(), Some("shard2"));
        ring.cmd(Cmd::new("SET").arg(&*key).arg("new")).unwrap();
        shards.server(0).resume().unwrap();
        assert!(
            wait_event(&mut events, Duration::from_secs(3), |e| is_up(e, "shard1")).is_some(),
            "shard1 not up"
        );
        let got = ring.cmd(Cmd::new("GET").arg(&*key)).unwrap();
        match rejoin {
            Rejoin::Immediate => assert_eq!(got, Value::Bulk(b"old".to_vec()), "{rejoin:?}"),
            _ => assert_eq!(got, Value::Nil, "{rejoin:?}: the stale value came back"),
        }
        ring.close();
    }
}

/// A custom heartbeat: `INFO replication` whose reply must say `role:master`. Primaries
/// pass; a check that wants a replica marks every shard down, naming the heartbeat.
pub fn custom_heartbeat_check<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(2).unwrap();
    for want in ["role:master", "role:slave"] {
        let mut s = spec(&shards);
        // Only the check may fail the heartbeats, not a loaded machine's slowness.
        s.config.heartbeat_timeout = Duration::from_secs(2);
        s.config.heartbeat = Heartbeat::new(Cmd::new("INFO").arg("replication"));
        s.config.heartbeat_check = Some(HeartbeatCheck::new(move |v: &Value| {
            v.as_str()
                .is_some_and(|t| t.lines().any(|l| l.trim() == want))
        }));
        let ring: R = build(&s);
        let mut events = ring.events();
        if want == "role:master" {
            ring.cmd(Cmd::new("SET").arg("hb").arg("1")).unwrap();
            // A few heartbeats pass the check: no shard goes down.
            let down = wait_event(&mut events, Duration::from_millis(500), |e| {
                matches!(e, super::Event::ShardDown { .. })
            });
            assert!(down.is_none(), "{down:?}");
        } else {
            // Both go down, in either order.
            let mut seen: Vec<String> = Vec::new();
            while seen.len() < 2 {
                let down = wait_event(&mut events, Duration::from_secs(10), |e| {
                    ["shard1", "shard2"].iter().any(|n| is_down(e, n))
                });
                let Some(super::Event::ShardDown { name, reason, .. }) = down else {
                    panic!("only {seen:?} went down: the check was ignored");
                };
                let text = reason.to_string();
                assert!(
                    text.contains("INFO") && text.contains(&*name) && text.contains("rejected"),
                    "{text}"
                );
                if !seen.contains(&name.to_string()) {
                    seen.push(name.to_string());
                }
            }
            assert_eq!(ring.len(), 0);
        }
        ring.close();
    }
}
