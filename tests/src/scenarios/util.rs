//! Helpers shared by the scenarios: fast configuration, the suite lock, process isolation,
//! waiting for events and looking at the servers directly.

use std::io;
use std::process::Command;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use redis_ring_core::config::Config;
use redis_ring_core::ring::Event;

use super::{EventStream, RingSpec, RingUnderTest, ShardView};
use crate::harness::{RawConn, Reply};
use crate::{RedisServer, Shards};

/// A configuration with short heartbeats and timeouts, so fault scenarios finish quickly:
/// heartbeat every 100 ms (timeout 100 ms), probes every 20 ms, down after 3 failures,
/// commands time out after 1 s, connects after 500 ms, reconnect backoff up to 100 ms. In
/// the suite's TLS mode (`REDIS_RING_TLS=1`) it also turns TLS on with the suite's CA, and
/// allows 2 s connects and 3 s commands (handshakes cost CPU on a loaded machine).
pub fn fast_config() -> Config {
    let mut c = Config::default();
    c.heartbeat_interval = Duration::from_millis(100);
    c.heartbeat_timeout = Duration::from_millis(100);
    c.probe_interval = Duration::from_millis(20);
    c.fail_threshold = 3;
    c.recover_threshold = 1;
    c.connect_timeout = Duration::from_millis(500);
    c.command_timeout = Duration::from_secs(1);
    c.max_reconnect_backoff = Duration::from_millis(100);
    c.seed = 0x5ce0_a210;
    if crate::tls::tls_mode() {
        // The suite over TLS: every harness server speaks it, with the suite's CA.
        c.tls = Some(crate::tls::Pki::shared().client_options().into_options());
        // A burst of handshakes (dedicated connections) costs CPU a loaded 2-core machine
        // may not give within 500 ms.
        c.connect_timeout = Duration::from_secs(2);
        // A ring's first commands wait for their connection: a command timeout shorter than
        // a slow handshake fails them (MSET timed out after 1 s at load 19).
        c.command_timeout = Duration::from_secs(3);
    }
    c
}

/// The spec of a ring over `shards` (named `shard1`, `shard2`, ...) with [`fast_config`].
pub(crate) fn spec(shards: &Shards) -> RingSpec {
    RingSpec {
        shards: shards.named(),
        config: fast_config(),
        ..RingSpec::default()
    }
}

/// Builds a ring or fails the scenario with the error.
pub(crate) fn build<R: RingUnderTest>(spec: &RingSpec) -> R {
    R::build(spec).unwrap_or_else(|e| panic!("{}: build failed: {e}", R::DRIVER))
}

static SUITE: RwLock<()> = RwLock::new(());

/// The suite lock held by a running scenario.
#[derive(Debug)]
pub enum Guard {
    /// Ordinary scenarios run side by side.
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    /// Timing-sensitive ones run alone (in this test binary).
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

/// Takes the suite lock: `exclusive` for scenarios whose timings must not suffer from other
/// scenarios running beside them. A scenario that panicked does not poison the lock for the
/// others.
pub fn guard(exclusive: bool) -> Guard {
    if exclusive {
        Guard::Exclusive(SUITE.write().unwrap_or_else(|p| p.into_inner()))
    } else {
        Guard::Shared(SUITE.read().unwrap_or_else(|p| p.into_inner()))
    }
}

const CHILD_ENV: &str = "REDIS_RING_SCENARIO_CHILD";

/// Runs `body` in a child process in which nothing else runs, so it can count the process's
/// file descriptors and threads: the test binary re-runs itself filtered to the calling test
/// (whose name must contain `name`), with `--test-threads=1` and an environment variable
/// that makes this function run `body` directly. The parent holds the exclusive suite lock
/// meanwhile and fails if the child fails (its output is passed through).
pub fn isolated(name: &str, body: impl FnOnce()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        body();
        return;
    }
    let _guard = guard(true);
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = Command::new(exe)
        .arg(name)
        .arg("--include-ignored")
        .arg("--test-threads=1")
        .arg("--nocapture")
        .env(CHILD_ENV, name)
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        output.status.success(),
        "isolated scenario {name} failed in its child process ({})",
        output.status
    );
    assert!(
        stdout.contains("1 passed"),
        "isolated scenario {name}: the child did not run exactly one test"
    );
}

/// Polls `cond` every 5 ms until it holds or `timeout` passes; returns whether it held.
pub(crate) fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits at most `timeout` for an event matching `pred`, skipping others; returns it.
pub(crate) fn wait_event(
    events: &mut impl EventStream,
    timeout: Duration,
    mut pred: impl FnMut(&Event) -> bool,
) -> Option<Event> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let event = events.next_event(left)?;
        if pred(&event) {
            return Some(event);
        }
    }
}

/// Whether `e` is `ShardDown` of `name`.
pub(crate) fn is_down(e: &Event, name: &str) -> bool {
    matches!(e, Event::ShardDown { name: n, .. } if &**n == name)
}

/// Whether `e` is `ShardUp` of `name`.
pub(crate) fn is_up(e: &Event, name: &str) -> bool {
    matches!(e, Event::ShardUp { name: n, .. } if &**n == name)
}

/// The shard named `name` in `views`.
pub(crate) fn view<'a>(views: &'a [ShardView], name: &str) -> &'a ShardView {
    views
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no shard {name} in {views:?}"))
}

/// A fresh plain connection to `server` (authenticated when it has a password).
pub(crate) fn raw(server: &RedisServer, password: Option<&str>) -> RawConn {
    let mut conn = RawConn::connect(server.socket_addr(), Duration::from_secs(5))
        .expect("plain connection to a shard");
    if let Some(pw) = password {
        assert_eq!(
            conn.command(&["AUTH", pw]).expect("AUTH"),
            Reply::Status("OK".into())
        );
    }
    conn
}

/// `GET key` on `conn`, as bytes.
pub(crate) fn raw_get(conn: &mut RawConn, key: &str) -> Option<Vec<u8>> {
    match conn
        .command(&["GET", key])
        .expect("GET on a plain connection")
    {
        Reply::Bulk(v) => v,
        other => panic!("GET {key}: unexpected reply {other:?}"),
    }
}

/// An integer reply of `args` on `conn`.
pub(crate) fn raw_int(conn: &mut RawConn, args: &[&str]) -> i64 {
    match conn.command(args).expect("command on a plain connection") {
        Reply::Int(n) => n,
        other => panic!("{args:?}: unexpected reply {other:?}"),
    }
}

/// A bulk reply of `args` on `conn`, as text.
pub(crate) fn raw_text(conn: &mut RawConn, args: &[&str]) -> String {
    match conn.command(args).expect("command on a plain connection") {
        Reply::Bulk(Some(v)) => String::from_utf8_lossy(&v).into_owned(),
        Reply::Status(s) => s,
        other => panic!("{args:?}: unexpected reply {other:?}"),
    }
}

/// The process's open file descriptors (`/proc/self/fd`).
pub(crate) fn open_fds() -> io::Result<usize> {
    // The directory handle itself is one of the entries; it is the same in every count.
    Ok(std::fs::read_dir("/proc/self/fd")?.count())
}

/// The process's threads (`/proc/self/task`).
pub(crate) fn threads() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// A small deterministic generator (SplitMix64) for keys and values: scenarios must be
/// reproducible, and the suite must not depend on a random crate.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Mixes `(task, i)` into one well-spread number (for keys chosen inside a [`super::Job`]).
pub(crate) fn mix(task: usize, i: u64) -> u64 {
    SplitMix((task as u64) << 32 ^ i).next_u64()
}
