//! `redis-ring top`: a live per-shard view, refreshed every `--interval` until Ctrl-C or
//! `--duration`; `--json` prints one object per refresh instead of the table.
//!
//! Where each column comes from:
//! * the ring's own `stats()` (this process's client): state and how long it has held,
//!   commands in flight, reconnects, and p50/p99 of the PINGs `top` sends to every shard
//!   through the ring (20 per interval; read from the per-shard latency histogram over the
//!   window, so they are the client's view of each shard, queueing included);
//! * each server's `INFO` over a plain connection: operations and error replies per second
//!   (differences of `total_commands_processed` and `total_error_replies`, minus `top`'s own
//!   commands), keys in `--db`, used memory.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use redis_ring_std::{Cmd, Ring, ShardStats};
use redis_ring_tests::harness::Reply;
use serde_json::{json, Value as Json};

use crate::args::{Global, TopArgs};
use crate::connect::RingSettings;
use crate::shards::raw_connect;
use crate::view::{table_with, thousands};

/// PINGs per shard per interval (the latency samples).
const SAMPLES: u32 = 20;

/// One server's `INFO` figures.
#[derive(Clone, Debug, Default)]
struct ServerInfo {
    commands: Option<u64>,
    error_replies: Option<u64>,
    keys: Option<u64>,
    memory: Option<u64>,
    memory_human: Option<String>,
    /// Commands this read itself sent (AUTH, SELECT, INFO).
    own: u64,
}

/// One shard at one refresh.
#[derive(Clone, Debug)]
struct Row {
    name: String,
    addr: String,
    up: bool,
    since: Duration,
    ops_per_sec: Option<f64>,
    errors_per_sec: Option<f64>,
    p50_us: Option<u64>,
    p99_us: Option<u64>,
    in_flight: usize,
    reconnects: u64,
    keys: Option<u64>,
    memory: Option<u64>,
    memory_human: Option<String>,
    error: Option<String>,
}

/// Runs the view.
pub(crate) fn run(global: &Global, args: &TopArgs) -> Result<ExitCode, String> {
    if args.interval.is_zero() {
        return Err("--interval must be more than 0".into());
    }
    let settings = RingSettings::from_global(global, "top")?;
    let ring = settings.build(|b| b)?;
    let start = Instant::now();
    let live = !args.json && crate::view::stdout_is_live();
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        // One pinger per shard: the latency samples, through the ring.
        for (name, _) in &settings.shards {
            let (ring, stop, interval) = (&ring, &stop, args.interval);
            s.spawn(move || ping_loop(ring, name, interval, stop));
        }
        let result = refresh_loop(&ring, &settings, global, args, start, live);
        stop.store(true, Ordering::Relaxed);
        result
    })?;
    ring.close();
    Ok(ExitCode::SUCCESS)
}

fn ping_loop(ring: &Ring, name: &str, interval: Duration, stop: &AtomicBool) {
    let pause = interval / SAMPLES;
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        let _ = ring.shard(name).cmd_timeout(Cmd::new("PING"), interval);
        thread::sleep(pause.saturating_sub(t0.elapsed()));
    }
}

fn refresh_loop(
    ring: &Ring,
    settings: &RingSettings,
    global: &Global,
    args: &TopArgs,
    start: Instant,
    live: bool,
) -> Result<(), String> {
    let mut prev_stats = ring.stats();
    let mut prev_info = read_all(&settings.shards, global);
    let mut prev_at = Instant::now();
    let mut refresh = 1;
    loop {
        let due = start + args.interval * refresh;
        refresh += 1;
        thread::sleep(due.saturating_duration_since(Instant::now()));
        let stats = ring.stats();
        let info = read_all(&settings.shards, global);
        let now = Instant::now();
        let window = now.duration_since(prev_at).as_secs_f64().max(1e-3);
        let rows: Vec<Row> = settings
            .shards
            .iter()
            .map(|(name, addr)| {
                row(
                    name,
                    addr,
                    find(&stats, name),
                    find(&prev_stats, name),
                    &info[name],
                    &prev_info[name],
                    window,
                )
            })
            .collect();
        let t = now.duration_since(start);
        if args.json {
            println!("{}", to_json(t, &rows));
        } else {
            print!("{}", to_text(&rows, args.interval, live));
        }
        prev_stats = stats;
        prev_info = info;
        prev_at = now;
        if args.duration.is_some_and(|d| t + args.interval / 2 >= d) {
            return Ok(());
        }
    }
}

fn find<'a>(stats: &'a [ShardStats], name: &str) -> Option<&'a ShardStats> {
    stats.iter().find(|s| s.name == name)
}

/// Every shard's `INFO`, read concurrently (a hung server delays only its own row).
fn read_all(
    shards: &[(String, String)],
    global: &Global,
) -> HashMap<String, Result<ServerInfo, String>> {
    thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter()
            .map(|(name, addr)| (name, s.spawn(move || read_info(addr, global))))
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| {
                let r = h.join().unwrap_or_else(|_| Err("reader panicked".into()));
                (name.clone(), r)
            })
            .collect()
    })
}

fn read_info(addr: &str, global: &Global) -> Result<ServerInfo, String> {
    let mut conn = raw_connect(addr, global)?;
    let text = match conn.command(&["INFO"]).map_err(|e| e.to_string())? {
        Reply::Bulk(Some(text)) => String::from_utf8_lossy(&text).into_owned(),
        Reply::Error(e) => return Err(e),
        other => return Err(format!("unexpected INFO reply {other:?}")),
    };
    let mut info = parse_info(&text, global.db);
    info.own = 1 + u64::from(global.password.is_some()) + u64::from(global.db != 0);
    Ok(info)
}

/// The figures `top` shows from an `INFO` text, keys counted in db `db`.
fn parse_info(text: &str, db: u32) -> ServerInfo {
    let mut info = ServerInfo::default();
    let keyspace = format!("db{db}:");
    for line in text.lines() {
        let Some((k, v)) = line.trim_end().split_once(':') else {
            continue;
        };
        match k {
            "total_commands_processed" => info.commands = v.parse().ok(),
            "total_error_replies" => info.error_replies = v.parse().ok(),
            "used_memory" => info.memory = v.parse().ok(),
            "used_memory_human" => info.memory_human = Some(v.to_owned()),
            _ if line.starts_with(&keyspace) => {
                info.keys = v
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("keys="))
                    .and_then(|n| n.parse().ok());
            }
            _ => {}
        }
    }
    // An empty db has no keyspace line.
    info.keys.get_or_insert(0);
    info
}

fn row(
    name: &str,
    addr: &str,
    stats: Option<&ShardStats>,
    prev_stats: Option<&ShardStats>,
    info: &Result<ServerInfo, String>,
    prev_info: &Result<ServerInfo, String>,
    window: f64,
) -> Row {
    let counters = stats.map(|s| match prev_stats {
        Some(p) => s.counters.since(&p.counters),
        None => s.counters,
    });
    let sampled = counters.filter(|c| c.latency.count() > 0);
    let ok = info.as_ref().ok();
    let prev = prev_info.as_ref().ok();
    // Our own commands on the server during the window: the ring's PINGs and this read.
    let own = counters.map_or(0, |c| c.commands) + ok.map_or(0, |i| i.own);
    let rate = |f: fn(&ServerInfo) -> Option<u64>, minus: u64| {
        let (now, before) = (f(ok?)?, f(prev?)?);
        Some(now.saturating_sub(before).saturating_sub(minus) as f64 / window)
    };
    Row {
        name: name.to_owned(),
        addr: addr.to_owned(),
        up: stats.is_some_and(|s| s.up),
        since: stats.map_or(Duration::ZERO, |s| s.since_transition),
        ops_per_sec: rate(|i| i.commands, own),
        errors_per_sec: rate(|i| i.error_replies, 0),
        p50_us: sampled.map(|c| c.latency.percentile(50.0).as_micros() as u64),
        p99_us: sampled.map(|c| c.latency.percentile(99.0).as_micros() as u64),
        in_flight: stats.map_or(0, |s| s.in_flight),
        reconnects: stats.map_or(0, |s| s.counters.reconnects()),
        keys: ok.and_then(|i| i.keys),
        memory: ok.and_then(|i| i.memory),
        memory_human: ok.and_then(|i| i.memory_human.clone()),
        error: match (info, stats.and_then(|s| s.last_error.as_ref())) {
            (Err(e), _) => Some(e.clone()),
            (_, Some(e)) if !stats.is_some_and(|s| s.up) => Some(e.to_string()),
            _ => None,
        },
    }
}

fn to_json(t: Duration, rows: &[Row]) -> Json {
    let shards: Vec<Json> = rows
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "addr": r.addr,
                "state": if r.up { "up" } else { "down" },
                "since_ms": r.since.as_millis() as u64,
                "ops_per_sec": r.ops_per_sec.map(|v| (v * 10.0).round() / 10.0),
                "errors_per_sec": r.errors_per_sec.map(|v| (v * 10.0).round() / 10.0),
                "p50_us": r.p50_us,
                "p99_us": r.p99_us,
                "in_flight": r.in_flight,
                "reconnects": r.reconnects,
                "keys": r.keys,
                "memory_bytes": r.memory,
                "error": r.error,
            })
        })
        .collect();
    json!({ "t_ms": t.as_millis() as u64, "shards": shards })
}

fn to_text(rows: &[Row], interval: Duration, live: bool) -> String {
    let dash = || "-".to_owned();
    let mut table = vec![[
        "shard",
        "address",
        "state",
        "for",
        "ops/s",
        "err/s",
        "p50",
        "p99",
        "in-flight",
        "reconn",
        "keys",
        "memory",
        "error",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect::<Vec<_>>()];
    for r in rows {
        table.push(vec![
            r.name.clone(),
            r.addr.clone(),
            if r.up { "up" } else { "DOWN" }.to_owned(),
            human_duration(r.since),
            r.ops_per_sec
                .map_or_else(dash, |v| thousands(v.round() as u64)),
            r.errors_per_sec
                .map_or_else(dash, |v| thousands(v.round() as u64)),
            r.p50_us.map_or_else(dash, latency),
            r.p99_us.map_or_else(dash, latency),
            r.in_flight.to_string(),
            r.reconnects.to_string(),
            r.keys.map_or_else(dash, thousands),
            r.memory_human.clone().unwrap_or_else(dash),
            r.error.clone().unwrap_or_default(),
        ]);
    }
    let body = table_with(&table, |c| (3..=11).contains(&c));
    if live {
        // Home + clear: the table redrawn in place.
        format!(
            "\x1b[H\x1b[2Jredis-ring top: every {:.1}s, Ctrl-C ends\n\n{body}",
            interval.as_secs_f64()
        )
    } else {
        format!("{body}\n")
    }
}

fn latency(us: u64) -> String {
    if us < 1_000 {
        format!("{us}us")
    } else {
        format!("{:.2}ms", us as f64 / 1e3)
    }
}

/// `42s`, `3m05s`, `2h01m`.
fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_are_read() {
        let text = "# Stats\r\ntotal_commands_processed:1234\r\ntotal_error_replies:7\r\n\
                    # Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n\
                    # Keyspace\r\ndb0:keys=42,expires=0,avg_ttl=0\r\ndb3:keys=5,expires=0\r\n";
        let i = parse_info(text, 0);
        assert_eq!(i.commands, Some(1234));
        assert_eq!(i.error_replies, Some(7));
        assert_eq!(i.memory, Some(1_048_576));
        assert_eq!(i.memory_human.as_deref(), Some("1.00M"));
        assert_eq!(i.keys, Some(42));
        assert_eq!(parse_info(text, 3).keys, Some(5));
        assert_eq!(parse_info(text, 1).keys, Some(0));
        assert_eq!(human_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(latency(1500), "1.50ms");
    }
}
