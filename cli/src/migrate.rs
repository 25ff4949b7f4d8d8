//! `redis-ring migrate --to NEW_SHARDS`: moves every key whose owner changes from the old
//! ring (`--shards`) to the new one, while applications already use the new ring with a
//! migration window open (`migrating_from` in the builders).
//!
//! How, and why it loses no acknowledged write:
//! * Each old shard is walked with `SCAN` (a key present for the whole walk is seen at least
//!   once; nothing new is written to an old shard meanwhile, since applications write to the
//!   new owners).
//! * A key whose new owner is another server is moved with `MIGRATE host port key db timeout`
//!   sent to the old shard: the old server writes the key (value and remaining TTL) to the
//!   new one with `RESTORE` *without* `REPLACE`, then deletes its copy, blocking its own
//!   clients meanwhile, so the move is atomic as seen from the old shard. The ring's window
//!   moves keys the same way before it writes them, so neither can undo the other.
//! * `NOKEY`: the key is gone already (moved by an application, deleted, expired): skipped.
//!   `BUSYKEY`: the new owner already holds the key, written after the window opened, so it
//!   is newer: the old copy is deleted, never written over the new one. Any other error
//!   counts as failed and the key stays where it is (re-run the tool).
//! * Resumable: each old shard's `SCAN` cursor is saved to `--state FILE` after every batch,
//!   and a re-run continues from there. Without a state file a re-run is still correct (moved
//!   keys are no longer on the old shards), it only scans again.
//!
//! Keys are moved by `--workers` threads per batch (the ring pipelines their `MIGRATE`s on
//! one connection per old shard), paced by `--rate`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::{Endpoint, FailurePolicy, ShardSpec};
use redis_ring_core::error::Error;
use redis_ring_core::placement::Placement;
use redis_ring_core::resp::Value;
use redis_ring_std::Ring;

use crate::args::{Global, MigrateArgs};
use crate::connect::RingSettings;
use crate::view::thousands;

/// Keys asked of `SCAN` per call.
const SCAN_COUNT: u64 = 1000;

/// What happened to the keys so far.
#[derive(Debug, Default)]
struct Counts {
    scanned: AtomicU64,
    moved: AtomicU64,
    /// Already on the right server (owner unchanged).
    stayed: AtomicU64,
    /// Gone meanwhile (`NOKEY`) or newer at the new owner (`BUSYKEY`: old copy deleted).
    skipped: AtomicU64,
    failed: AtomicU64,
}

/// Where a moving key goes: `MIGRATE`'s target arguments.
#[derive(Clone, Debug)]
struct Target {
    host: String,
    port: String,
    db: u32,
    auth: Vec<String>,
}

/// Runs the migration.
pub(crate) fn run(global: &Global, args: &MigrateArgs) -> Result<ExitCode, String> {
    let mut settings = RingSettings::from_global(global, "migrate")?;
    // Only pinned commands go through this ring; FailFast keeps a down shard from taking
    // another's SCAN.
    settings.global.failure_policy = FailurePolicy::FailFast;
    let new = args.to.with_addrs()?;
    let placement = args.to.placement(&global.placement, global.hash_tag);
    let targets: Vec<Target> = new
        .iter()
        .map(|(name, addr)| target(name, addr, global))
        .collect::<Result<_, _>>()?;
    let ring = settings.build(|b| b)?;
    crate::bench::wait_until_up(&ring, global.timeout.max(Duration::from_secs(2)))?;
    let mut state = State::load(args.state.as_deref())?;
    let counts = Counts::default();
    let started = Instant::now();
    let progress = Progress::new(args.quiet);
    let mut errors: Vec<String> = Vec::new();
    for (name, addr) in &settings.shards {
        let mut cursor = match state.cursor(name) {
            Some(None) => continue, // done in an earlier run
            Some(Some(c)) => c,
            None => "0".to_owned(),
        };
        loop {
            let reply = ring
                .shard(name)
                .cmd(
                    Cmd::new("SCAN")
                        .arg(cursor.as_str())
                        .arg("COUNT")
                        .arg(SCAN_COUNT),
                )
                .map_err(|e| format!("SCAN on {name}: {e}"))?;
            let (next, keys) =
                scan_reply(reply).ok_or_else(|| format!("SCAN on {name}: bad reply"))?;
            counts
                .scanned
                .fetch_add(keys.len() as u64, Ordering::Relaxed);
            let moving: Vec<(Vec<u8>, usize)> = keys
                .into_iter()
                .filter_map(|k| {
                    let to = placement.shard_for(&k)?;
                    let same = new[to].0 == *name && new[to].1 == *addr;
                    if same {
                        counts.stayed.fetch_add(1, Ordering::Relaxed);
                        None
                    } else {
                        Some((k, to))
                    }
                })
                .collect();
            let failed = move_keys(
                &ring, name, &moving, &targets, args, global, &counts, started,
            );
            errors.extend(
                failed
                    .into_iter()
                    .take(10usize.saturating_sub(errors.len())),
            );
            progress.show(name, &counts, started);
            let done = next == "0";
            state.save(name, if done { None } else { Some(next.clone()) })?;
            if done {
                break;
            }
            cursor = next;
        }
    }
    ring.close();
    progress.finish();
    let failed = counts.failed.load(Ordering::Relaxed);
    let took = started.elapsed();
    println!(
        "migrated in {:.1}s: {} keys scanned; {} moved, {} skipped (gone already, or newer at \
         the new owner: old copy deleted), {} failed; {} were already on their owner",
        took.as_secs_f64(),
        thousands(counts.scanned.load(Ordering::Relaxed)),
        thousands(counts.moved.load(Ordering::Relaxed)),
        thousands(counts.skipped.load(Ordering::Relaxed)),
        thousands(failed),
        thousands(counts.stayed.load(Ordering::Relaxed)),
    );
    for e in &errors {
        eprintln!("  failed: {e}");
    }
    if failed > 0 {
        eprintln!("some keys were not moved: run the same command again to retry them");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `MIGRATE`'s view of the new shard `name` at `addr` (credentials: the URL's, else the
/// global options').
fn target(name: &str, addr: &str, global: &Global) -> Result<Target, String> {
    let parsed =
        ShardSpec::parse(name, addr).map_err(|e| format!("shard {name}: {}", e.reason()))?;
    let (host, port) = match &parsed.endpoint {
        Endpoint::Tcp { host, port } => (host.clone(), port.to_string()),
        _ => {
            return Err(format!(
                "shard {name}: MIGRATE needs a TCP address, not {}",
                parsed.endpoint
            ))
        }
    };
    let user = parsed.username.clone().or_else(|| global.user.clone());
    let password = parsed.password.clone().or_else(|| global.password.clone());
    let auth = match (user, password) {
        (Some(u), Some(p)) => vec!["AUTH2".into(), u, p],
        (None, Some(p)) => vec!["AUTH".into(), p],
        _ => Vec::new(),
    };
    Ok(Target {
        host,
        port,
        db: parsed.db.unwrap_or(global.db),
        auth,
    })
}

/// `SCAN`'s `[cursor, [key...]]`.
fn scan_reply(reply: Value) -> Option<(String, Vec<Vec<u8>>)> {
    let Value::Array(mut parts) = reply else {
        return None;
    };
    if parts.len() != 2 {
        return None;
    }
    let (Value::Array(keys) | Value::Set(keys)) = parts.pop()? else {
        return None;
    };
    let cursor = parts.pop()?.as_str()?.to_owned();
    let keys = keys
        .into_iter()
        .filter_map(|k| k.as_bytes().map(<[u8]>::to_vec))
        .collect();
    Some((cursor, keys))
}

/// Moves `keys` (with their new owner's index) off shard `shard` with `--workers` threads;
/// returns the failures' messages.
#[allow(clippy::too_many_arguments)]
fn move_keys(
    ring: &Ring,
    shard: &str,
    keys: &[(Vec<u8>, usize)],
    targets: &[Target],
    args: &MigrateArgs,
    global: &Global,
    counts: &Counts,
    started: Instant,
) -> Vec<String> {
    let next = AtomicU64::new(0);
    let errors = Mutex::new(Vec::new());
    let timeout_ms = global.timeout.as_millis().max(1) as u64;
    std::thread::scope(|s| {
        for _ in 0..args.workers.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some((key, to)) = keys.get(i) else {
                    return;
                };
                pace(args.rate, counts, started);
                let t = &targets[*to];
                let mut cmd = Cmd::new("MIGRATE")
                    .arg(t.host.as_str())
                    .arg(t.port.as_str())
                    .arg(key.as_slice())
                    .arg(t.db)
                    .arg(timeout_ms);
                for a in &t.auth {
                    cmd = cmd.arg(a.as_str());
                }
                let outcome = match ring.shard(shard).cmd(cmd) {
                    Ok(Value::Simple(s)) if s == b"NOKEY" => Ok(false),
                    Ok(_) => Ok(true),
                    Err(Error::Server { message, .. }) if message.contains("BUSYKEY") => {
                        // Newer at the new owner: drop the old copy, never overwrite.
                        ring.shard(shard)
                            .cmd(Cmd::new("DEL").arg(key.as_slice()))
                            .map(|_| false)
                    }
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(true) => counts.moved.fetch_add(1, Ordering::Relaxed),
                    Ok(false) => counts.skipped.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        let mut errors = errors.lock().unwrap_or_else(|p| p.into_inner());
                        if errors.len() < 10 {
                            errors.push(format!("{}: {e}", String::from_utf8_lossy(key)));
                        }
                        counts.failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            });
        }
    });
    errors.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// Waits until one more key fits in `rate` keys per second (0: no limit).
fn pace(rate: u64, counts: &Counts, started: Instant) {
    if rate == 0 {
        return;
    }
    let done = counts.moved.load(Ordering::Relaxed)
        + counts.skipped.load(Ordering::Relaxed)
        + counts.failed.load(Ordering::Relaxed);
    let due = started + Duration::from_secs_f64(done as f64 / rate as f64);
    let now = Instant::now();
    if due > now {
        std::thread::sleep(due - now);
    }
}

/// The resume file: one line per old shard, `NAME CURSOR` or `NAME done`.
#[derive(Debug, Default)]
struct State {
    path: Option<PathBuf>,
    shards: HashMap<String, Option<String>>,
}

impl State {
    fn load(path: Option<&Path>) -> Result<State, String> {
        let mut state = State {
            path: path.map(Path::to_path_buf),
            shards: HashMap::new(),
        };
        let Some(path) = path else {
            return Ok(state);
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(state),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        for line in text.lines() {
            if let Some((name, cursor)) = line.rsplit_once(' ') {
                let cursor = (cursor != "done").then(|| cursor.to_owned());
                state.shards.insert(name.to_owned(), cursor);
            }
        }
        Ok(state)
    }

    /// `None`: not started; `Some(None)`: done; `Some(Some(c))`: continue at cursor `c`.
    fn cursor(&self, name: &str) -> Option<Option<String>> {
        self.shards.get(name).cloned()
    }

    fn save(&mut self, name: &str, cursor: Option<String>) -> Result<(), String> {
        self.shards.insert(name.to_owned(), cursor);
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut text = String::new();
        let mut names: Vec<&String> = self.shards.keys().collect();
        names.sort();
        for n in names {
            let c = self.shards[n].as_deref().unwrap_or("done");
            text.push_str(&format!("{n} {c}\n"));
        }
        // Write then rename: an interruption never leaves a half-written state.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// The progress line on stderr (redrawn in place on a terminal, else every few seconds).
struct Progress {
    live: bool,
    quiet: bool,
    last: Mutex<Instant>,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        Progress {
            live: std::io::stderr().is_terminal(),
            quiet,
            last: Mutex::new(Instant::now()),
        }
    }

    fn show(&self, shard: &str, c: &Counts, started: Instant) {
        if self.quiet {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let every = if self.live {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(2)
        };
        if last.elapsed() < every {
            return;
        }
        *last = Instant::now();
        let moved = c.moved.load(Ordering::Relaxed);
        let rate = moved as f64 / started.elapsed().as_secs_f64().max(1e-3);
        let line = format!(
            "{shard}: scanned {}  moved {}  skipped {}  failed {}  ({:.0} keys/s)",
            thousands(c.scanned.load(Ordering::Relaxed)),
            thousands(moved),
            thousands(c.skipped.load(Ordering::Relaxed)),
            thousands(c.failed.load(Ordering::Relaxed)),
            rate
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.live {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.live && !self.quiet {
            eprintln!();
        }
    }
}
