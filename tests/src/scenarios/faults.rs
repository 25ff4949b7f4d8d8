//! Faults: every shard down, one shard killed under load and restarted, one shard paused
//! (SIGSTOP) and resumed.
//!
//! Real servers on a machine that may be loaded (2 cores, other builds running): these
//! scenarios wait for events and keep only bounds that hold with a wide margin. The tight
//! ones (a live shard's requests are never delayed beyond a few round trips, a timeout fires
//! exactly at its deadline, detection and recovery within their bounds) are checked in the
//! simulator's virtual time (`tests/tests/sim.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis_ring_core::placement::{Algorithm, Placement, ShardSpec};

use super::util::{build, guard, is_down, is_up, mix, raw, raw_get, spec, wait_event, wait_until};
use super::{Cmd, Error, Job, RingUnderTest, Value};
use crate::Shards;

const NAMES: [&str; 3] = ["shard1", "shard2", "shard3"];

/// Index in [`NAMES`] of the shard that owns `key` while all three are up.
fn home(key: &str) -> usize {
    let specs: Vec<ShardSpec<'_>> = NAMES.iter().map(|n| ShardSpec::new(*n)).collect();
    Algorithm::default()
        .build(&specs)
        .shard_for(key.as_bytes())
        .expect("three shards")
}

/// With every shard down, a command fails at once (without waiting for its 10 s timeout)
/// with an error that says so and names every shard; when one comes back, it serves
/// everything.
pub fn all_shards_down_fails_at_once<R: RingUnderTest>() {
    let _g = guard(false);
    let mut shards = Shards::start(3).unwrap();
    let mut s = spec(&shards);
    let timeout = Duration::from_secs(10);
    s.config.command_timeout = timeout;
    let ring: R = build(&s);
    let mut events = ring.events();
    ring.cmd(Cmd::new("SET").arg("a").arg("1")).unwrap();
    for i in 0..3 {
        shards.server(i).kill();
    }
    let mut down = Vec::new();
    while down.len() < 3 {
        let e = wait_event(&mut events, Duration::from_secs(10), |e| {
            NAMES.iter().any(|n| is_down(e, n))
        })
        .unwrap_or_else(|| panic!("only {down:?} went down"));
        down.push(e);
    }
    assert_eq!(ring.len(), 0);
    for _ in 0..20 {
        let started = Instant::now();
        let err = ring.cmd(Cmd::new("GET").arg("a")).unwrap_err();
        let took = started.elapsed();
        // "At once": nowhere near the timeout (a loaded machine may take a while anyway).
        assert!(took < timeout / 5, "took {took:?}: {err}");
        assert!(matches!(err, Error::AllShardsDown { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("all 3 shards are down"), "{text}");
        for (name, addr) in shards.named() {
            assert!(text.contains(&name) && text.contains(&addr), "{text}");
        }
    }
    assert!(ring.shards().iter().all(|v| !v.up));
    shards.server(0).restart().unwrap();
    assert!(
        wait_event(&mut events, Duration::from_secs(10), |e| is_up(e, "shard1")).is_some(),
        "shard1 did not come back"
    );
    assert_eq!(ring.len(), 1);
    for key in ["a", "b", "c", "d"] {
        assert_eq!(ring.shard_for_key(key).as_deref(), Some("shard1"));
        ring.cmd(Cmd::new("SET").arg(key).arg("x")).unwrap();
    }
    ring.close();
}

/// One operation of a load, as recorded by [`Recorder`].
#[derive(Clone, Debug)]
struct Op {
    /// Start, relative to the recorder's epoch.
    start: Duration,
    elapsed: Duration,
    /// Index of the key's home shard (all shards up).
    home: usize,
    ok: bool,
    /// A GET, and what it read: `Some(None)` for nil.
    read: Option<Option<Vec<u8>>>,
    /// A SET.
    write: bool,
    /// The key's index in the keyspace.
    key: usize,
}

/// A load of SET/GET over a keyspace whose homes are known, until stopped, recording every
/// operation per task (one lock per task: the recording must not serialise the tasks).
struct Recorder {
    epoch: Instant,
    /// The keyspace with each key's home.
    keys: Vec<(String, usize)>,
    /// Set to end the load: every task finishes after its current command.
    stop: AtomicBool,
    ops: Vec<Mutex<Vec<Op>>>,
    errors: Mutex<Vec<String>>,
}

impl Recorder {
    /// `keys` keys whose home is in `only_homes` (any home when empty).
    fn new(tasks: usize, keys: usize, only_homes: &[usize]) -> Recorder {
        let keys = (0..)
            .map(|i| format!("load:{i}"))
            .map(|k| {
                let h = home(&k);
                (k, h)
            })
            .filter(|(_, h)| only_homes.is_empty() || only_homes.contains(h))
            .take(keys)
            .collect();
        Recorder {
            epoch: Instant::now(),
            keys,
            stop: AtomicBool::new(false),
            ops: (0..tasks).map(|_| Mutex::new(Vec::new())).collect(),
            errors: Mutex::new(Vec::new()),
        }
    }

    fn index(&self, task: usize, i: u64) -> usize {
        (mix(task, i) % self.keys.len() as u64) as usize
    }

    fn key(&self, task: usize, i: u64) -> &(String, usize) {
        &self.keys[self.index(task, i)]
    }

    fn all(&self) -> Vec<Op> {
        self.ops
            .iter()
            .flat_map(|m| m.lock().unwrap().clone())
            .collect()
    }
}

impl Job for Recorder {
    fn next(&self, task: usize, i: u64) -> Option<Cmd> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let (key, _) = self.key(task, i);
        Some(if i.is_multiple_of(2) {
            Cmd::new("SET").arg(&**key).arg(value_of(key))
        } else {
            Cmd::new("GET").arg(&**key)
        })
    }

    fn done(&self, task: usize, i: u64, result: Result<Value, Error>, elapsed: Duration) {
        let (key, home) = self.key(task, i);
        let start = Instant::now()
            .saturating_duration_since(self.epoch)
            .saturating_sub(elapsed);
        if let Err(e) = &result {
            let mut errors = self.errors.lock().unwrap();
            if errors.len() < 20 {
                errors.push(format!("{key} (home {}): {e}", NAMES[*home]));
            }
        }
        let read = match &result {
            Ok(Value::Bulk(b)) if !i.is_multiple_of(2) => Some(Some(b.clone())),
            Ok(Value::Nil) if !i.is_multiple_of(2) => Some(None),
            Ok(other) if !i.is_multiple_of(2) => Some(Some(format!("{other:?}").into_bytes())),
            _ => None,
        };
        self.ops[task].lock().unwrap().push(Op {
            start,
            elapsed,
            home: *home,
            ok: result.is_ok(),
            read,
            write: i.is_multiple_of(2),
            key: self.index(task, i),
        });
    }
}

/// The only value the load ever writes to `key`.
fn value_of(key: &str) -> String {
    format!("v:{key}")
}

/// Every GET read the value its key is written with, or nil; on a live shard (`home !=
/// victim`) nil only before the first SET of the key had completed.
fn check_reads(ops: &[Op], keys: &[(String, usize)], victim: usize) -> usize {
    let mut first_write = vec![None::<Duration>; keys.len()];
    for o in ops.iter().filter(|o| o.write && o.ok) {
        let end = o.start + o.elapsed;
        let w = &mut first_write[o.key];
        *w = Some(w.map_or(end, |t| t.min(end)));
    }
    let mut checked = 0;
    for o in ops {
        let Some(read) = &o.read else { continue };
        let key = &keys[o.key].0;
        match read {
            Some(v) => assert_eq!(
                v,
                value_of(key).as_bytes(),
                "GET {key} read {:?}",
                String::from_utf8_lossy(v)
            ),
            None if o.home == victim => {}
            None => assert!(
                first_write[o.key].is_none_or(|t| o.start < t),
                "GET {key} (live shard {}) read nil after a SET of it had completed",
                NAMES[o.home]
            ),
        }
        checked += 1;
    }
    checked
}

/// Kill one of three shards under 50 concurrent tasks: it is marked down, its keys then
/// succeed on the others, no command for the two live shards fails (none reaches its
/// timeout) meanwhile, and every GET reads the value its key was written with (nil only for
/// the victim's keys, or before a key's first SET). Restart it: up again, and its keys route
/// home. (That live shards' commands are never delayed beyond a few round trips is checked
/// in the simulator, on virtual time.)
pub fn kill_one_shard_under_load<R: RingUnderTest>() {
    let _g = guard(true);
    let mut shards = Shards::start(3).unwrap();
    let ring: R = build(&spec(&shards));
    let mut events = ring.events();
    let victim = 1;
    let load = Recorder::new(50, 1000, &[]);

    let (t_down, t_up) = std::thread::scope(|s| {
        let runner = s.spawn(|| ring.run_concurrent(50, &load));
        let since = |t: Instant| t.saturating_duration_since(load.epoch);
        std::thread::sleep(Duration::from_millis(300));
        shards.server(victim).kill();
        let killed = Instant::now();
        let down = wait_event(&mut events, Duration::from_secs(10), |e| {
            is_down(e, NAMES[victim])
        });
        let t_down = since(Instant::now());
        // Stop the load before failing so the runner thread finishes.
        let fail = |msg: String| {
            load.stop.store(true, Ordering::Relaxed);
            panic!("{msg}");
        };
        if down.is_none() {
            fail(format!("{} not marked down within 10 s", NAMES[victim]));
        }
        println!("{}: down {:?} after the kill", R::DRIVER, killed.elapsed());
        std::thread::sleep(Duration::from_millis(300));
        shards.server(victim).restart().unwrap();
        let restarted = Instant::now();
        let up = wait_event(&mut events, Duration::from_secs(10), |e| {
            is_up(e, NAMES[victim])
        });
        if up.is_none() {
            fail(format!(
                "{} not up within 10 s of its restart",
                NAMES[victim]
            ));
        }
        let t_up = since(Instant::now());
        println!(
            "{}: up {:?} after the restart",
            R::DRIVER,
            restarted.elapsed()
        );
        std::thread::sleep(Duration::from_millis(300));
        load.stop.store(true, Ordering::Relaxed);
        runner.join().unwrap();
        (t_down, t_up)
    });

    let ops = load.all();
    let errors = load.errors.lock().unwrap().clone();
    assert!(ops.len() > 2000, "the load barely ran: {} ops", ops.len());
    let live: Vec<&Op> = ops.iter().filter(|o| o.home != victim).collect();
    let worst = live.iter().map(|o| o.elapsed).max().unwrap();
    println!(
        "{}: {} ops, {} on live shards, slowest {worst:?}; errors: {errors:#?}",
        R::DRIVER,
        ops.len(),
        live.len()
    );
    assert!(
        live.iter().all(|o| o.ok),
        "a live shard's command failed: {errors:#?}"
    );
    let reads = check_reads(&ops, &load.keys, victim);
    assert!(reads > 1000, "only {reads} GETs compared");
    // Once the victim is down its keys are served by the others; after it is up, by it.
    let late: Vec<&Op> = ops
        .iter()
        .filter(|o| o.home == victim && o.start > t_down)
        .collect();
    assert!(
        late.len() > 100,
        "too few ops on the victim's keys after Down"
    );
    assert!(
        late.iter().all(|o| o.ok),
        "a command for the down shard's keys failed after Down: {errors:#?}"
    );
    assert!(ops.iter().any(|o| o.home == victim && o.start > t_up));

    // Its keys route home again, and land on its server.
    let server = shards.server(victim);
    let mut conn = raw(server, None);
    for (key, h) in load.keys.iter().filter(|(_, h)| *h == victim).take(20) {
        assert_eq!(ring.shard_for_key(key).as_deref(), Some(NAMES[*h]));
        ring.cmd(Cmd::new("SET").arg(&**key).arg("home")).unwrap();
        assert_eq!(
            raw_get(&mut conn, key).as_deref(),
            Some(&b"home"[..]),
            "{key}"
        );
    }
    ring.close();
}

/// Pause (SIGSTOP) one shard: its commands time out at the command timeout (never before),
/// it goes down while the others keep serving (none of their commands fails, every GET
/// reads what was written); resume it: up again, its keys route home.
pub fn pause_one_shard<R: RingUnderTest>() {
    let _g = guard(true);
    let mut shards = Shards::start(3).unwrap();
    let mut s = spec(&shards);
    // The GET on the paused shard has its own 150 ms timeout; the live load keeps a
    // generous ring-wide one, so a loaded machine's stall (a `current_thread` runtime
    // running 10 tasks and the driver) is not mistaken for a live shard failing.
    let timeout = Duration::from_millis(150);
    s.config.command_timeout = Duration::from_secs(5);
    let ring: R = build(&s);
    let mut events = ring.events();
    let victim = 2;
    let victim_key = (0..)
        .map(|i| format!("paused:{i}"))
        .find(|k| home(k) == victim)
        .unwrap();
    ring.cmd(Cmd::new("SET").arg(&*victim_key).arg("v"))
        .unwrap();
    let live_load = Recorder::new(10, 300, &[0, 1]);

    std::thread::scope(|sc| {
        let runner = sc.spawn(|| ring.run_concurrent(10, &live_load));
        let stop = || live_load.stop.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(200));
        shards.server(victim).pause().unwrap();
        let started = Instant::now();
        let result = ring.cmd_timeout(Cmd::new("GET").arg(&*victim_key), timeout);
        let took = started.elapsed();
        // Never early; late only within a wide margin (exactness is the simulator's).
        let ok = matches!(&result, Err(Error::Timeout { shard: Some(sh), .. }) if &**sh == NAMES[victim])
            && took + Duration::from_millis(1) >= timeout
            && took < timeout + Duration::from_secs(3);
        if !ok {
            stop();
            panic!("GET on the paused shard: {result:?} after {took:?} (timeout {timeout:?})");
        }
        if wait_event(&mut events, Duration::from_secs(10), |e| {
            is_down(e, NAMES[victim])
        })
        .is_none()
        {
            stop();
            panic!("paused {} not marked down within 10 s", NAMES[victim]);
        }
        println!(
            "{}: paused shard down after {:?}",
            R::DRIVER,
            started.elapsed()
        );
        // Its keys are served elsewhere now (on the paused shard it would time out).
        let r = ring.cmd(Cmd::new("GET").arg(&*victim_key));
        if r != Ok(Value::Nil) {
            stop();
            panic!("GET of a paused shard's key after Down: {r:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
        shards.server(victim).resume().unwrap();
        let resumed = Instant::now();
        let up = wait_event(&mut events, Duration::from_secs(10), |e| {
            is_up(e, NAMES[victim])
        });
        stop();
        runner.join().unwrap();
        assert!(
            up.is_some(),
            "{} not up within 10 s of SIGCONT",
            NAMES[victim]
        );
        println!("{}: up {:?} after SIGCONT", R::DRIVER, resumed.elapsed());
    });

    let ops = live_load.all();
    let errors = live_load.errors.lock().unwrap().clone();
    let worst = ops.iter().map(|o| o.elapsed).max().unwrap();
    println!("{}: {} live ops, slowest {worst:?}", R::DRIVER, ops.len());
    assert!(ops.len() > 500, "the live load barely ran: {}", ops.len());
    // None failed (latency bounds are the simulator's).
    assert!(ops.iter().all(|o| o.ok), "live shards failed: {errors:#?}");
    check_reads(&ops, &live_load.keys, usize::MAX);
    // Home again: the (unchanged, never expired) value is read from the victim.
    assert!(wait_until(Duration::from_secs(10), || ring.len() == 3));
    assert_eq!(
        ring.shard_for_key(&victim_key).as_deref(),
        Some(NAMES[victim])
    );
    assert_eq!(
        ring.cmd(Cmd::new("GET").arg(&*victim_key)).unwrap(),
        Value::Bulk(b"v".to_vec())
    );
    assert_eq!(
        raw_get(&mut raw(shards.server(victim), None), &victim_key).as_deref(),
        Some(&b"v"[..])
    );
    ring.close();
}

/// Issue 17, item 1 (the caller's side): a proxy forwards `INCR`, withholds the reply and
/// cuts the connection, so the command ran but its caller never heard. Sent plainly (`cmd`,
/// and in a pipeline), it fails with `MayHaveRun` naming the command, shard and address, and
/// ran once; sent through `Ring::idempotent()` (`cmd`, and in a pipeline made from that
/// handle), it is re-sent on a new connection and succeeds, having run twice, as the caller
/// allowed.
pub fn only_what_is_declared_idempotent_is_resent<R: RingUnderTest>() {
    use crate::proxy::CutProxy;
    let _g = guard(false);
    let shards = Shards::start(1).unwrap();
    let server = &shards.servers()[0];
    let mut conn = raw(server, None);
    let incr = || Cmd::new("INCR").arg("idem:n");
    // One proxy (one cut) and one ring per case: a re-sent command must not be cut again.
    let cut_ring = || {
        let proxy = CutProxy::start(server.socket_addr(), b"INCR", 1).unwrap();
        let mut s = spec(&shards);
        s.shards = vec![("s1".to_string(), proxy.addr())];
        // The proxy must read the command to cut after it: plaintext, also in the suite's
        // TLS mode (it forwards to the server's plaintext port).
        s.config.tls = None;
        let ring: R = build(&s);
        (proxy, ring)
    };
    let counter = |conn: &mut crate::harness::RawConn| {
        raw_get(conn, "idem:n").map(|v| String::from_utf8(v).unwrap())
    };
    let may_have_run = |result: Result<Value, Error>, proxy: &CutProxy| match &result {
        Err(
            e @ Error::MayHaveRun {
                shard,
                addr,
                command,
                ..
            },
        ) => {
            assert_eq!(&**shard, "s1", "{}: {e}", R::DRIVER);
            assert_eq!(&**addr, proxy.addr(), "{}: {e}", R::DRIVER);
            assert_eq!(command.as_str(), "INCR", "{}: {e}", R::DRIVER);
        }
        other => panic!("{}: expected MayHaveRun, got {other:?}", R::DRIVER),
    };

    // Plain `cmd`: not re-sent, ran once.
    let (proxy, ring) = cut_ring();
    may_have_run(ring.cmd(incr()), &proxy);
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(counter(&mut conn).as_deref(), Some("1"), "{}", R::DRIVER);
    ring.close();

    // `cmd` through the idempotent handle: re-sent, so it ran twice (1 + 2).
    let (proxy, ring) = cut_ring();
    assert_eq!(
        ring.idempotent().cmd(incr()),
        Ok(Value::Int(3)),
        "{}",
        R::DRIVER
    );
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(counter(&mut conn).as_deref(), Some("3"), "{}", R::DRIVER);
    ring.close();

    // The same through a pipeline: plain, then from the idempotent handle.
    let (proxy, ring) = cut_ring();
    let mut results = ring.pipeline(vec![incr()]);
    may_have_run(results.remove(0), &proxy);
    assert_eq!(counter(&mut conn).as_deref(), Some("4"), "{}", R::DRIVER);
    ring.close();
    let (proxy, ring) = cut_ring();
    let results = ring.idempotent().pipeline(vec![incr()]);
    assert_eq!(results, [Ok(Value::Int(6))], "{}", R::DRIVER);
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(counter(&mut conn).as_deref(), Some("6"), "{}", R::DRIVER);
    ring.close();
}

/// The id of the client `server` lists running `cmd` (waits up to 10 s for it).
fn client_running(server: &crate::RedisServer, cmd: &str) -> String {
    let mut id = None;
    let seen = wait_until(Duration::from_secs(10), || {
        let list = super::util::raw_text(&mut raw(server, None), &["CLIENT", "LIST"]);
        id = list
            .lines()
            .find(|l| l.split(' ').any(|f| f == format!("cmd={cmd}")))
            .and_then(|l| {
                l.split(' ')
                    .find_map(|f| f.strip_prefix("id="))
                    .map(str::to_owned)
            });
        id.is_some()
    });
    assert!(seen, "no client running {cmd} on {}", server.addr());
    id.unwrap()
}

/// Issue 18: the per-shard error counters against real servers. A shard whose address is a
/// closed port (`FailFast`, so its keys stay its own): a command for one of its keys fails
/// with a connection error, counted as `errors.connection` on that shard alone. A command in
/// flight when its connection is killed (`CLIENT KILL ID`): a `BLPOP` waiting on its
/// dedicated connection (`Disconnected`), and an `INCR` held on the shared connection by
/// `CLIENT PAUSE WRITE` (`MayHaveRun`: written, not re-sent), each counted as
/// `errors.connection` (what broke) on its shard. Never `refused` (the ring refusing a
/// request, not a shard failing it), and nothing on the other shards.
pub fn connection_errors_are_counted_on_their_shard<R: RingUnderTest>() {
    use redis_ring_core::stats::ErrorKind;

    let _g = guard(false);
    let shards = Shards::start(2).unwrap();
    let mut s = spec(&shards);
    let closed = crate::harness::free_port().unwrap();
    s.shards
        .push(("shard3".into(), format!("127.0.0.1:{closed}")));
    s.config.failure_policy = redis_ring_core::config::FailurePolicy::FailFast;
    // Heartbeats queued behind the paused INCR must not fail meanwhile.
    s.config.heartbeat_timeout = Duration::from_secs(10);
    let ring: R = build(&s);
    let errors = |name: &str| super::util::view(&ring.shards(), name).errors;
    let key_of = |prefix: &str, shard: &str| {
        (0..10_000)
            .map(|i| format!("{prefix}:{i}"))
            .find(|k| ring.shard_for_key(k).as_deref() == Some(shard))
            .unwrap_or_else(|| panic!("a key of {shard}"))
    };

    // A refused connect.
    let key = key_of("refused", "shard3");
    let e = ring.cmd(Cmd::new("SET").arg(&key).arg("v")).unwrap_err();
    assert_eq!(ErrorKind::of(&e), ErrorKind::Connection, "{e}");
    let counted = errors("shard3");
    assert_eq!(
        (counted.connection, counted.total()),
        (1, 1),
        "shard3: {counted:?} ({e})"
    );
    for live in ["shard1", "shard2"] {
        assert_eq!(errors(live).total(), 0, "{live}");
    }
    let view3 = super::util::view(&ring.shards(), "shard3").clone();
    assert_eq!(view3.commands, 1, "{view3:?}");

    // Connections killed under a command in flight: a BLPOP (dedicated connection), then an
    // INCR (shared connection, held by CLIENT PAUSE WRITE).
    let server = &shards.servers()[0];
    let mut before = errors("shard1");
    for (cmd, held) in [
        (
            Cmd::new("BLPOP").arg(key_of("blpop", "shard1")).arg(20),
            "blpop",
        ),
        (Cmd::new("INCR").arg(key_of("incr", "shard1")), "incr"),
    ] {
        if held == "incr" {
            let paused = super::util::raw_text(
                &mut raw(server, None),
                &["CLIENT", "PAUSE", "20000", "WRITE"],
            );
            assert_eq!(paused, "OK");
        }
        let e = std::thread::scope(|scope| {
            let sent = scope.spawn(|| ring.cmd(cmd));
            let id = client_running(server, held);
            let killed =
                super::util::raw_int(&mut raw(server, None), &["CLIENT", "KILL", "ID", &id]);
            assert_eq!(killed, 1);
            sent.join().unwrap().unwrap_err()
        });
        if held == "incr" {
            super::util::raw_text(&mut raw(server, None), &["CLIENT", "UNPAUSE"]);
            assert!(matches!(e, Error::MayHaveRun { .. }), "{e}");
        }
        assert_eq!(ErrorKind::of(&e), ErrorKind::Connection, "{held}: {e}");
        let after = errors("shard1");
        assert_eq!(
            (
                after.connection - before.connection,
                after.total() - before.total()
            ),
            (1, 1),
            "{held} on shard1: {before:?} -> {after:?} ({e})"
        );
        before = after;
    }
    assert_eq!(errors("shard2").total(), 0);
    assert_eq!(errors("shard3"), counted);
    ring.close();
}

/// Issue 18: `errors.refused` on a shard, against real servers. A `SUNION` of two keys of
/// shard1 that, once shard1 is down, live on shard2 and shard3: sent while shard1 is paused,
/// then shard1 is killed. The read-only `SUNION` is retried; once shard1 is down its keys are
/// on two shards, so the retry is refused (`CrossShard`), counted as `errors.refused` on
/// shard1, the shard it last went to (and on no other).
pub fn refused_on_retry_is_counted_on_its_last_shard<R: RingUnderTest>() {
    let _g = guard(false);
    let mut shards = Shards::start(3).unwrap();
    let mut s = spec(&shards);
    // Retries until shard1 is down (refused probes: well under a second; the command
    // timeout bounds them with a wide margin), and heartbeats that do not fail while it is
    // only paused (the SUNION must reach it while it is up).
    s.config.max_retries = 1_000;
    s.config.max_retry_backoff = Duration::from_millis(20);
    s.config.command_timeout = Duration::from_secs(20);
    s.config.heartbeat_timeout = Duration::from_secs(10);
    let ring: R = build(&s);
    let specs: Vec<ShardSpec<'_>> = NAMES[1..].iter().map(|n| ShardSpec::new(*n)).collect();
    let without_1 = Algorithm::default().build(&specs);
    let key = |then: usize| {
        (0..10_000)
            .map(|i| format!("sunion:{i}"))
            .find(|k| home(k) == 0 && without_1.shard_for(k.as_bytes()) == Some(then))
            .unwrap()
    };
    let (k2, k3) = (key(0), key(1));
    assert_eq!(ring.shard_for_key(&k2).as_deref(), Some("shard1"));
    let counted = |name: &str| {
        let v = super::util::view(&ring.shards(), name).clone();
        (v.errors, v.pending)
    };
    shards.server(0).pause().unwrap();
    let e = std::thread::scope(|scope| {
        let sent = scope.spawn(|| ring.cmd(Cmd::new("SUNION").arg(&k2).arg(&k3)));
        assert!(
            wait_until(Duration::from_secs(10), || counted("shard1").1 >= 1),
            "the SUNION never reached shard1"
        );
        shards.server(0).kill();
        sent.join().unwrap().unwrap_err()
    });
    assert!(matches!(e, Error::CrossShard { .. }), "{e}");
    let (errors, _) = counted("shard1");
    assert_eq!(
        (errors.refused, errors.total()),
        (1, 1),
        "shard1: {errors:?}"
    );
    for other in &NAMES[1..] {
        assert_eq!(counted(other).0.total(), 0, "{other}");
    }
    ring.close();
}
