//! `redis-ring shards`: each shard's state as the ring sees it (up/down after its heartbeats,
//! last error), plus what a direct probe of each server measures: PING round trip, DBSIZE
//! and used memory.
//!
//! The probes use a dedicated plain connection per shard (the harness's minimal RESP2
//! client), so the PING time is the server's, not time queued behind other traffic, and a
//! shard the ring holds down is still probed. The exit code is 1 when a shard is down.

use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use redis_ring_tests::harness::{RawConn, Reply};

use crate::args::Global;
use crate::connect::RingSettings;
use crate::view::{table_with, thousands};
use redis_ring_core::config::{redact_addr, ShardSpec};
use redis_ring_std::{Ring, ShardStats};

/// Prints the status table.
pub(crate) fn run(global: &Global) -> Result<ExitCode, String> {
    let settings = RingSettings::from_global(global, "shards")?;
    let ring = settings.build(|b| b)?;
    let stats = settle(&ring, global.timeout);
    ring.close();
    let mut rows = vec![[
        "shard",
        "address",
        "state",
        "ping",
        "keys",
        "memory",
        "last error",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect::<Vec<_>>()];
    let mut all_up = true;
    for (name, addr) in &settings.shards {
        let stat = stats.iter().find(|s| &s.name == name);
        let probe = probe(addr, global).unwrap_or_else(|e| Probe {
            ping: None,
            keys: None,
            memory: None,
            error: Some(e),
        });
        // The ring's word first; a shard the ring still counts up but that fails its probes
        // is on its way down (it needs consecutive failed heartbeats).
        let state = match stat {
            Some(s) if s.up && s.failures == 0 && probe.error.is_none() => "up",
            Some(s) if s.up => "failing",
            _ => "DOWN",
        };
        all_up &= state == "up";
        let last_error = stat
            .and_then(|s| s.last_error.as_ref().map(ToString::to_string))
            .or(probe.error)
            .unwrap_or_default();
        rows.push(vec![
            name.clone(),
            redact_addr(addr).into_owned(),
            state.to_owned(),
            probe
                .ping
                .map_or("-".into(), |d| format!("{:.2} ms", d.as_secs_f64() * 1e3)),
            probe.keys.map_or("-".into(), thousands),
            probe.memory.unwrap_or_else(|| "-".into()),
            last_error,
        ]);
    }
    print!("{}", table_with(&rows, |c| (3..=5).contains(&c)));
    Ok(if all_up {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The ring's shard states once its first probes have settled: every shard up without
/// failures or down (or `patience` passed).
fn settle(ring: &Ring, patience: Duration) -> Vec<ShardStats> {
    let start = Instant::now();
    loop {
        let stats = ring.stats();
        let settled = stats.iter().all(|s| !s.up || s.failures == 0);
        let waited = start.elapsed();
        // The first probes take a round trip: do not trust the initial "up" at once.
        if (settled && waited >= Duration::from_millis(200)) || waited >= patience {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a direct probe of one server found.
#[derive(Debug)]
struct Probe {
    ping: Option<Duration>,
    keys: Option<u64>,
    memory: Option<String>,
    error: Option<String>,
}

/// A plain connection to the server at `addr`, authenticated and on the right db: a
/// `redis://` URL's own user, password and db win over the global ones, as in the ring.
pub(crate) fn raw_connect(addr: &str, global: &Global) -> Result<RawConn, String> {
    let url = ShardSpec::parse("probe", addr).map_err(|e| e.to_string())?;
    let addr = url.endpoint.to_string();
    let addr = addr.as_str();
    let user = url.username.as_ref().or(global.user.as_ref());
    let password = url.password.as_ref().or(global.password.as_ref());
    let db = url.db.unwrap_or(global.db);
    let sock = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr} resolves to nothing"))?;
    let mut conn = RawConn::connect(sock, global.timeout).map_err(|e| e.to_string())?;
    let check = |r: Reply| match r {
        Reply::Error(e) => Err(e),
        other => Ok(other),
    };
    if let Some(password) = password {
        let reply = match user {
            Some(user) => conn.command(&["AUTH", user, password]),
            None => conn.command(&["AUTH", password]),
        };
        check(reply.map_err(|e| e.to_string())?)?;
    }
    if db != 0 {
        check(
            conn.command(&["SELECT", &db.to_string()])
                .map_err(|e| e.to_string())?,
        )?;
    }
    Ok(conn)
}

fn probe(addr: &str, global: &Global) -> Result<Probe, String> {
    let mut conn = raw_connect(addr, global)?;
    let check = |r: Reply| match r {
        Reply::Error(e) => Err(e),
        other => Ok(other),
    };
    let t0 = Instant::now();
    check(conn.command(&["PING"]).map_err(|e| e.to_string())?)?;
    let ping = t0.elapsed();
    let keys = match check(conn.command(&["DBSIZE"]).map_err(|e| e.to_string())?)? {
        Reply::Int(n) => Some(n as u64),
        _ => None,
    };
    let memory = match check(
        conn.command(&["INFO", "memory"])
            .map_err(|e| e.to_string())?,
    )? {
        Reply::Bulk(Some(text)) => String::from_utf8_lossy(&text).lines().find_map(|l| {
            l.strip_prefix("used_memory_human:")
                .map(|v| v.trim().to_owned())
        }),
        _ => None,
    };
    Ok(Probe {
        ping: Some(ping),
        keys,
        memory,
        error: None,
    })
}
