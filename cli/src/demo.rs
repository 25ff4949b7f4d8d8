//! `redis-ring demo`: the ring at work in under a minute.
//!
//! With no `--shards` it starts 3 temporary redis-servers (the project's harness: free
//! ports, temporary directories, killed with the demo even if it is killed), writes keys at a
//! steady rate with 8 writer threads, kills the second shard mid-load (SIGKILL), restarts it
//! once the ring has noticed, and shows in a live view: how keys spread (a bar per shard),
//! the Down event and the error window, where the dead shard's keys went, the ring healing,
//! then a summary table and a read-back of every key (what cache mode means). With
//! `--shards` it runs against those servers, kills nothing, and deletes its keys at the end.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::FailurePolicy;
use redis_ring_core::placement::{AnyPlacement, Placement};
use redis_ring_std::Ring;
use redis_ring_tests::Shards;

use crate::args::{DemoArgs, Global};
use crate::bench::up_down;
use crate::connect::{GlobalConn, RingSettings};
use crate::shard_list::ShardList;
use crate::view::{bar, table, thousands};

/// Writer threads (the ring pipelines their commands on one connection per shard).
const WRITERS: usize = 8;
/// The share of the keys written before the kill.
const KILL_AT: f64 = 0.4;
/// How long to leave the shard down once the ring has noticed, so the outage is visible.
const STAY_DOWN: Duration = Duration::from_millis(1000);
/// Give up waiting for an event after this long.
const PATIENCE: Duration = Duration::from_secs(10);
/// Index of the shard the demo kills (the second one).
const VICTIM: usize = 1;

/// Runs the demo.
pub(crate) fn run(global: &Global, args: &DemoArgs) -> Result<ExitCode, String> {
    if args.keys == 0 {
        return Err("--keys must be at least 1".into());
    }
    let mut out = Screen::new(!args.plain && crate::view::stdout_is_live());
    let (mut servers, shards) = match &global.shards {
        Some(list) => {
            let shards = list.with_addrs()?;
            out.log(&format!(
                "Running against your shards ({list}): nothing will be killed. The demo writes \
                 keys named redis-ring-demo:* and deletes them at the end."
            ));
            (None, shards)
        }
        None => {
            out.log("Starting 3 temporary redis-server shards...");
            let servers = Shards::start(3).map_err(|e| {
                format!(
                    "cannot start redis-server: {e}\n(the demo needs redis-server 6.2+ on PATH, \
                     or REDIS_SERVER=/path/to/redis-server; `cargo xtask demo` installs it)"
                )
            })?;
            for (i, (name, addr)) in servers.named().iter().enumerate() {
                let pid = servers.servers()[i].pid().unwrap_or(0);
                out.log(&format!("  {name}  {addr}  (pid {pid})"));
            }
            let named = servers.named();
            (Some(servers), named)
        }
    };
    let list = ShardList::parse(
        &shards
            .iter()
            .map(|(n, a)| format!("{n}={a}"))
            .collect::<Vec<_>>()
            .join(","),
    )?;
    let settings = RingSettings {
        shards: shards.clone(),
        global: GlobalConn::of(global)?,
    };
    let ring = settings.build(|b| b)?;
    crate::bench::wait_until_up(&ring, Duration::from_secs(5))?;
    let names: Vec<String> = shards.iter().map(|(n, _)| n.clone()).collect();
    out.log(&format!(
        "Ring up: {} shards, {} placement, heartbeat every 500 ms, down after 3 failures.",
        names.len(),
        crate::shard_list::placement_name(&global.placement, global.hash_tag)
    ));
    let mut demo = Demo::new(
        names,
        list.placement(&global.placement, global.hash_tag),
        args,
    );
    demo.fail_fast = global.failure_policy == FailurePolicy::FailFast;
    if demo.fail_fast {
        out.log("Failure policy fail-fast: a down shard's keys fail at once; no key ever moves.");
    }
    let owned = servers.is_some();
    let result = demo.run(&ring, servers.as_mut(), &mut out);
    ring.close();
    // The temporary shards go whatever happened (their handles kill them and remove their
    // directories).
    drop(servers);
    result?;
    if owned {
        out.log("Stopped the 3 temporary shards and removed their directories.");
    }
    Ok(ExitCode::SUCCESS)
}

/// The outcome of one write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Written {
    /// Not written (yet).
    No,
    /// Failed.
    Failed,
    /// Stored on this shard (index into the names).
    On(usize),
}

/// Key-level state of the run, shared by the writers and the view.
#[derive(Debug)]
struct Demo {
    names: Vec<String>,
    /// Placement over every shard: each key's home when all are up.
    home: AnyPlacement,
    keys: u64,
    rate: u64,
    next: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
    /// Successful writes per shard that stored them.
    stored: Vec<AtomicU64>,
    /// Successful writes of a key whose home is another shard, by (home, stored on).
    moved: Mutex<Vec<Vec<u64>>>,
    written: Mutex<Vec<Written>>,
    first_error: Mutex<Option<Instant>>,
    last_error: Mutex<Option<Instant>>,
    events: Mutex<Vec<(Instant, String, bool, String)>>,
    /// `--failure-policy fail-fast`: a down shard's keys fail instead of moving.
    fail_fast: bool,
}

impl Demo {
    fn new(names: Vec<String>, home: AnyPlacement, args: &DemoArgs) -> Demo {
        let n = names.len();
        Demo {
            stored: (0..n).map(|_| AtomicU64::new(0)).collect(),
            moved: Mutex::new(vec![vec![0; n]; n]),
            written: Mutex::new(vec![Written::No; args.keys as usize]),
            names,
            home,
            keys: args.keys,
            rate: args.rate,
            next: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
            last_error: Mutex::new(None),
            events: Mutex::new(Vec::new()),
            fail_fast: false,
        }
    }

    fn key(i: u64) -> String {
        format!("redis-ring-demo:{i:07}")
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// One writer: takes the next key, waits for its slot in the rate, writes it.
    fn writer(&self, ring: &Ring, start: Instant) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.keys {
                return;
            }
            if self.rate > 0 {
                let due = start + Duration::from_secs_f64(i as f64 / self.rate as f64);
                let now = Instant::now();
                if due > now {
                    thread::sleep(due - now);
                }
            }
            let key = Self::key(i);
            // Where the ring places the key now (over the live shards), asked just before
            // the write: the same placement the router uses.
            let live = ring.shard_for_key(&key).and_then(|n| self.index_of(&n));
            let result = ring.cmd(Cmd::new("SET").arg(key.as_str()).arg(i));
            let outcome = match (result, live) {
                (Ok(_), Some(s)) => {
                    self.ok.fetch_add(1, Ordering::Relaxed);
                    self.stored[s].fetch_add(1, Ordering::Relaxed);
                    let home = self.home.shard_for(key.as_bytes()).unwrap_or(s);
                    if home != s {
                        lock(&self.moved)[home][s] += 1;
                    }
                    Written::On(s)
                }
                _ => {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                    let now = Instant::now();
                    lock(&self.first_error).get_or_insert(now);
                    *lock(&self.last_error) = Some(now);
                    Written::Failed
                }
            };
            lock(&self.written)[i as usize] = outcome;
        }
    }

    /// The whole scenario; `servers` is `Some` when the demo owns them (and may kill one).
    fn run(
        &self,
        ring: &Ring,
        mut servers: Option<&mut Shards>,
        out: &mut Screen,
    ) -> Result<(), String> {
        let events = ring.events();
        let start = Instant::now();
        let state = self;
        thread::scope(|s| -> Result<(), String> {
            s.spawn(move || {
                for e in events {
                    if let Some((name, up)) = up_down(&e) {
                        let reason = match &e {
                            redis_ring_core::ring::Event::ShardDown { reason, .. } => {
                                reason.to_string()
                            }
                            _ => String::new(),
                        };
                        lock(&state.events).push((Instant::now(), name.to_owned(), up, reason));
                    }
                }
            });
            let writers: Vec<_> = (0..WRITERS)
                .map(|_| s.spawn(move || state.writer(ring, start)))
                .collect();
            let script = self.direct(ring, servers.as_deref_mut(), start, out);
            for w in writers {
                let _ = w.join();
            }
            // The event thread ends when the ring closes; stop listening now.
            out.frame(&self.view(start, None));
            let summary = self.summary(ring, start, &script?);
            out.log(&summary);
            if servers.is_none() {
                let deleted = self.delete_keys(ring);
                out.log(&format!(
                    "Deleted {} demo keys from your shards.",
                    thousands(deleted)
                ));
            }
            // Ends the event channel, so the event thread returns and the scope can close.
            ring.close();
            Ok(())
        })
    }

    /// Kills and restarts the victim at the right moments while drawing the view; returns
    /// what happened when.
    fn direct(
        &self,
        ring: &Ring,
        mut servers: Option<&mut Shards>,
        start: Instant,
        out: &mut Screen,
    ) -> Result<Script, String> {
        let mut script = Script::default();
        let victim = &self.names[VICTIM.min(self.names.len() - 1)];
        let mut seen_events = 0;
        loop {
            let done = self.ok.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed);
            let now = Instant::now();
            // Report new events.
            let events = lock(&self.events).clone();
            for (at, name, up, reason) in &events[seen_events..] {
                let t = at.duration_since(start).as_secs_f64();
                if *up {
                    if script.restarted.is_some() && name == victim && script.healed.is_none() {
                        script.healed = Some(*at);
                    }
                    let heal = script
                        .restarted
                        .filter(|_| name == victim)
                        .map(|r| {
                            format!(
                                " (back in the ring {} after its restart)",
                                ms(at.saturating_duration_since(r))
                            )
                        })
                        .unwrap_or_default();
                    out.log(&format!(
                        "{t:6.2}s  {name} is UP{heal}: its keys go to it again"
                    ));
                } else {
                    if script.killed.is_some() && name == victim && script.detected.is_none() {
                        script.detected = Some(*at);
                    }
                    let took = script
                        .killed
                        .filter(|_| name == victim)
                        .map(|k| format!(" {} after the kill", ms(at.saturating_duration_since(k))))
                        .unwrap_or_default();
                    let keys = if self.fail_fast {
                        "its keys fail at once (ShardDown), none moves"
                    } else {
                        "its keys now go to the other shards"
                    };
                    out.log(&format!(
                        "{t:6.2}s  {name} is DOWN{took} ({reason}); {keys}"
                    ));
                }
            }
            seen_events = events.len();
            if let Some(servers) = servers.as_deref_mut() {
                if script.killed.is_none() && done as f64 >= self.keys as f64 * KILL_AT {
                    servers.server(VICTIM).kill();
                    let at = Instant::now();
                    script.killed = Some(at);
                    out.log(&format!(
                        "{:6.2}s  killed {victim} (SIGKILL) after {} writes",
                        at.duration_since(start).as_secs_f64(),
                        thousands(done)
                    ));
                }
                let give_up = script
                    .killed
                    .is_some_and(|k| now.duration_since(k) > PATIENCE);
                let due = script
                    .detected
                    .is_some_and(|d| now.duration_since(d) >= STAY_DOWN);
                if script.restarted.is_none() && script.killed.is_some() && (due || give_up) {
                    if give_up && script.detected.is_none() {
                        out.log(&format!(
                            "the ring did not report {victim} down within 10 s"
                        ));
                    }
                    servers
                        .server(VICTIM)
                        .restart()
                        .map_err(|e| format!("cannot restart {victim}: {e}"))?;
                    let at = Instant::now();
                    script.restarted = Some(at);
                    out.log(&format!(
                        "{:6.2}s  restarted {victim} (same port, empty: persistence is off)",
                        at.duration_since(start).as_secs_f64()
                    ));
                }
            }
            let finished_load = done >= self.keys;
            let finished_story = servers.is_none()
                || script.healed.is_some()
                || script
                    .restarted
                    .is_some_and(|r| now.duration_since(r) > PATIENCE);
            if finished_load && finished_story {
                break;
            }
            out.frame(&self.view(start, Some(ring)));
            thread::sleep(Duration::from_millis(100));
        }
        Ok(script)
    }

    /// The live part of the screen: progress and a bar per shard.
    fn view(&self, start: Instant, ring: Option<&Ring>) -> String {
        let ok = self.ok.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let done = ok + failed;
        let elapsed = start.elapsed().as_secs_f64();
        let mut s = format!(
            "writing  {:<30} {:>9} / {}  {:>7} ops/s  {} failed\n",
            bar(done as f64 / self.keys as f64, 30),
            thousands(done),
            thousands(self.keys),
            thousands((done as f64 / elapsed.max(1e-3)).round() as u64),
            thousands(failed),
        );
        let up: Vec<Option<bool>> = match ring {
            Some(r) => {
                let stats = r.stats();
                self.names
                    .iter()
                    .map(|n| stats.iter().find(|s| &s.name == n).map(|s| s.up))
                    .collect()
            }
            None => vec![None; self.names.len()],
        };
        let max = self
            .stored
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
            .max(1);
        for (i, name) in self.names.iter().enumerate() {
            let c = self.stored[i].load(Ordering::Relaxed);
            let state = match up[i] {
                Some(true) => "up  ",
                Some(false) => "DOWN",
                None => "    ",
            };
            let _ = writeln!(
                s,
                "  {name:<8} {state} {:<40} {:>9} keys",
                bar(c as f64 / max as f64, 40),
                thousands(c)
            );
        }
        s
    }

    /// The closing report: spread, moved keys, read-back, timings.
    fn summary(&self, ring: &Ring, start: Instant, script: &Script) -> String {
        let ok = self.ok.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let keys = self.keys;
        let (found, missing_by_home) = self.read_back(ring);
        let mut s = String::from("\nSummary\n");
        let first_error = *lock(&self.first_error);
        let last_error = *lock(&self.last_error);
        let window = match (first_error, last_error) {
            (Some(a), Some(b)) => format!(
                "{} (from {:.2}s to {:.2}s)",
                ms(b.duration_since(a)),
                a.duration_since(start).as_secs_f64(),
                b.duration_since(start).as_secs_f64()
            ),
            _ => "none".into(),
        };
        let moved = lock(&self.moved).clone();
        let victim = VICTIM.min(self.names.len() - 1);
        let moved_victim: Vec<String> = moved[victim]
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(to, n)| format!("{} to {}", thousands(*n), self.names[to]))
            .collect();
        let mut rows: Vec<Vec<String>> = vec![
            vec![
                "  keys written".into(),
                format!(
                    "{} ({} ok, {} failed)",
                    thousands(ok + failed),
                    thousands(ok),
                    thousands(failed)
                ),
            ],
            vec![
                "  ops".into(),
                format!(
                    "{} ({} SET, {} GET to read back)",
                    thousands(ok + failed + keys),
                    thousands(ok + failed),
                    thousands(keys)
                ),
            ],
            vec!["  errors".into(), thousands(failed)],
            vec!["  error window".into(), window],
        ];
        if script.killed.is_some() {
            rows.push(vec![
                "  time to detect".into(),
                match (script.killed, script.detected) {
                    (Some(k), Some(d)) => {
                        format!("{} (kill -> ShardDown event)", ms(d.duration_since(k)))
                    }
                    _ => "not detected".into(),
                },
            ]);
            rows.push(vec![
                "  time to heal".into(),
                match (script.restarted, script.healed) {
                    (Some(r), Some(h)) => format!(
                        "{} (restarted server ready -> ShardUp event)",
                        ms(h.saturating_duration_since(r))
                    ),
                    _ => "not healed".into(),
                },
            ]);
            rows.push(vec![
                format!("  {}'s keys while down", self.names[victim]),
                if self.fail_fast {
                    "failed at once with ShardDown (fail-fast: none moved)".into()
                } else if moved_victim.is_empty() {
                    "none written".into()
                } else {
                    format!("went to the others: {}", moved_victim.join(", "))
                },
            ]);
        }
        rows.push(vec![
            "  read back".into(),
            format!("{} of {} keys found", thousands(found), thousands(keys)),
        ]);
        // table() right-aligns the second column: print these rows as label: value instead.
        let width = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
        for r in &rows {
            let _ = writeln!(s, "{:<width$}  {}", r[0], r[1]);
        }
        let _ = writeln!(s, "\nWhere the keys are (successful writes per shard):");
        let mut spread = vec![vec![
            "  shard".to_owned(),
            "keys".to_owned(),
            "share".to_owned(),
            "home keys not found".to_owned(),
        ]];
        for (i, name) in self.names.iter().enumerate() {
            let c = self.stored[i].load(Ordering::Relaxed);
            spread.push(vec![
                format!("  {name}"),
                thousands(c),
                format!("{:.1}%", 100.0 * c as f64 / ok.max(1) as f64),
                thousands(missing_by_home[i]),
            ]);
        }
        s.push_str(&table(&spread));
        if script.killed.is_some() && self.fail_fast {
            let _ = writeln!(
                s,
                "\nFail-fast mode: while {} was down its keys failed at once, naming it, and no key\n\
                 moved, so nothing was written elsewhere and nothing can be stale when it returns.\n\
                 The other shards' keys were readable throughout.",
                self.names[victim]
            );
        } else if script.killed.is_some() {
            let _ = writeln!(
                s,
                "\nCache mode, as go-redis's Ring: {} came back empty (persistence off), so the keys\n\
                 it held are gone, and its keys written elsewhere while it was down are not found at\n\
                 their home again. The other shards' keys were readable throughout.",
                self.names[victim]
            );
        }
        s
    }

    /// GETs every key (pipelines of 1000): `(found, missing per home shard)`.
    fn read_back(&self, ring: &Ring) -> (u64, Vec<u64>) {
        let mut found = 0;
        let mut missing = vec![0u64; self.names.len()];
        for chunk_start in (0..self.keys).step_by(1000) {
            let end = (chunk_start + 1000).min(self.keys);
            let mut p = ring.pipeline();
            for i in chunk_start..end {
                p.cmd(Cmd::new("GET").arg(Self::key(i)));
            }
            for (i, r) in (chunk_start..end).zip(p.run()) {
                let hit = matches!(&r, Ok(v) if !v.is_nil());
                if hit {
                    found += 1;
                } else if let Some(h) = self.home.shard_for(Self::key(i).as_bytes()) {
                    missing[h] += 1;
                }
            }
        }
        (found, missing)
    }

    /// Deletes the demo's keys (pipelines of single-key DELs, so no cross-shard command).
    fn delete_keys(&self, ring: &Ring) -> u64 {
        let mut deleted = 0;
        for chunk_start in (0..self.keys).step_by(1000) {
            let end = (chunk_start + 1000).min(self.keys);
            let mut p = ring.pipeline();
            for i in chunk_start..end {
                p.cmd(Cmd::new("DEL").arg(Self::key(i)));
            }
            deleted += p
                .run()
                .iter()
                .filter_map(|r| r.as_ref().ok().and_then(|v| v.as_int()))
                .sum::<i64>() as u64;
        }
        deleted
    }
}

/// When the scripted events happened.
#[derive(Debug, Default)]
struct Script {
    killed: Option<Instant>,
    detected: Option<Instant>,
    restarted: Option<Instant>,
    healed: Option<Instant>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// The terminal: a live frame redrawn in place under the log lines (ANSI), or on a pipe
/// plain log lines plus a progress frame about once a second.
#[derive(Debug)]
struct Screen {
    live: bool,
    frame_lines: usize,
    last_plain: Option<Instant>,
}

impl Screen {
    fn new(live: bool) -> Screen {
        Screen {
            live,
            frame_lines: 0,
            last_plain: None,
        }
    }

    fn clear_frame(&mut self, out: &mut impl std::io::Write) {
        if self.live && self.frame_lines > 0 {
            let _ = write!(out, "\x1b[{}A\x1b[J", self.frame_lines);
            self.frame_lines = 0;
        }
    }

    /// A line that stays (above the live frame).
    fn log(&mut self, line: &str) {
        let mut out = std::io::stdout().lock();
        self.clear_frame(&mut out);
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// Replaces the live frame (on a pipe: prints it at most once a second).
    fn frame(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.live {
            self.clear_frame(&mut out);
            let _ = write!(out, "{text}");
            self.frame_lines = text.lines().count();
        } else {
            let now = Instant::now();
            if self
                .last_plain
                .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
            {
                return;
            }
            self.last_plain = Some(now);
            let _ = write!(out, "{text}");
        }
        let _ = out.flush();
    }
}
