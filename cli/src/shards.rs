//! `redis-ring shards`: each shard's state as the ring sees it (up/down after its heartbeats,
//! last error), plus what a direct probe of each server measures: PING round trip, DBSIZE
//! and used memory.
//!
//! The probes use a dedicated plain connection per shard (the harness's minimal RESP2
//! client), so the PING time is the server's, not time queued behind other traffic, and a
//! shard the ring holds down is still probed. The exit code is 1 when a shard is down.
//!
//! A Sentinel-managed shard (`redis-sentinel://`) shows the primary the Sentinels name and,
//! on a line each, the replicas they list (`SENTINEL REPLICAS`, read with the core's own
//! parsers), every one probed.

use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use redis_ring_tests::harness::{RawConn, Reply};

use crate::args::Global;
use crate::connect::RingSettings;
use crate::view::{table_with, thousands};
use redis_ring_core::config::sentinel::{
    auth_accepted, parse_master_addr, parse_replicas, SentinelAuth,
};
use redis_ring_core::config::{redact_addr, Endpoint, ShardSpec};
use redis_ring_core::resp::Value;
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
        let spec = ShardSpec::parse("probe", addr).map_err(|e| e.to_string())?;
        let (shown, target, replicas) = match &spec.endpoint {
            Endpoint::Sentinel {
                sentinels,
                master,
                auth,
            } => match sentinel_view(sentinels, master, auth, global) {
                Ok((primary, replicas)) => {
                    let p = primary.to_string();
                    (
                        format!("primary {p} ({master}, {} Sentinels)", sentinels.len()),
                        Ok(p),
                        replicas,
                    )
                }
                Err(e) => (redact_addr(addr).into_owned(), Err(e), Vec::new()),
            },
            // A plain shard: its listed replicas (`?replica=`) on lines of their own.
            e if !spec.replicas.is_empty() => (
                redact_addr(addr.split('?').next().unwrap_or(addr)).into_owned(),
                Ok(e.to_string()),
                spec.replicas.clone(),
            ),
            e => (
                redact_addr(addr).into_owned(),
                Ok(e.to_string()),
                Vec::new(),
            ),
        };
        let found = target
            .and_then(|t| probe(&t, &spec, global))
            .unwrap_or_else(Probe::failed);
        // The ring's word first; a shard the ring still counts up but that fails its probes
        // is on its way down (it needs consecutive failed heartbeats).
        let state = match stat {
            Some(s) if s.up && s.failures == 0 && found.error.is_none() => "up",
            Some(s) if s.up => "failing",
            _ => "DOWN",
        };
        all_up &= state == "up";
        let last_error = stat
            .and_then(|s| s.last_error.as_ref().map(ToString::to_string))
            .or(found.error.clone())
            .unwrap_or_default();
        rows.push(found.row(name.clone(), shown, state, last_error));
        for replica in replicas {
            let r = replica.to_string();
            let p = probe(&r, &spec, global).unwrap_or_else(Probe::failed);
            let state = if p.error.is_none() {
                "replica"
            } else {
                "replica DOWN"
            };
            let error = p.error.clone().unwrap_or_default();
            rows.push(p.row(format!("  {name}"), format!("replica {r}"), state, error));
        }
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

impl Probe {
    fn failed(error: String) -> Probe {
        Probe {
            ping: None,
            keys: None,
            memory: None,
            error: Some(error),
        }
    }

    fn row(self, name: String, addr: String, state: &str, last_error: String) -> Vec<String> {
        vec![
            name,
            addr,
            state.to_owned(),
            self.ping
                .map_or("-".into(), |d| format!("{:.2} ms", d.as_secs_f64() * 1e3)),
            self.keys.map_or("-".into(), thousands),
            self.memory.unwrap_or_else(|| "-".into()),
            last_error,
        ]
    }
}

/// What the Sentinels say of `master`: its primary and the replicas they hold usable (the
/// first Sentinel that answers; asked after `AUTH` when `auth` has credentials).
fn sentinel_view(
    sentinels: &[Endpoint],
    master: &str,
    auth: &SentinelAuth,
    global: &Global,
) -> Result<(Endpoint, Vec<Endpoint>), String> {
    let mut last = String::from("no Sentinel given");
    for s in sentinels {
        let addr = s.to_string();
        let ask = |conn: &mut RawConn, args: &[&str]| {
            conn.command(args).map(to_value).map_err(|e| e.to_string())
        };
        let found = addr
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve Sentinel {addr}: {e}"))
            .and_then(|mut a| {
                a.next()
                    .ok_or_else(|| format!("{addr} resolves to nothing"))
            })
            .and_then(|sock| RawConn::connect(sock, global.timeout).map_err(|e| e.to_string()))
            .and_then(|mut conn| {
                if let Some(password) = &auth.password {
                    let mut args = vec!["AUTH"];
                    args.extend(auth.username.as_deref());
                    args.push(password);
                    if !auth_accepted(&ask(&mut conn, &args)?) {
                        return Err(format!("Sentinel {addr} refused the sentinel_password"));
                    }
                }
                let primary = ask(&mut conn, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", master])?;
                let primary = parse_master_addr(&primary)
                    .ok_or_else(|| format!("Sentinel {addr} does not know `{master}`"))?;
                let replicas = ask(&mut conn, &["SENTINEL", "REPLICAS", master])?;
                Ok((primary, parse_replicas(&replicas)))
            });
        match found {
            Ok(view) => return Ok(view),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The harness's reply as the core's value (for the core's Sentinel parsers).
fn to_value(r: Reply) -> Value {
    match r {
        Reply::Status(s) => Value::Simple(s.into_bytes()),
        Reply::Error(e) => Value::Error(e.into_bytes()),
        Reply::Int(i) => Value::Int(i),
        Reply::Bulk(Some(b)) => Value::Bulk(b),
        Reply::Array(Some(items)) => Value::Array(items.into_iter().map(to_value).collect()),
        Reply::Bulk(None) | Reply::Array(None) => Value::Nil,
    }
}

/// A plain connection to the server at `addr`, authenticated and on the right db: a
/// `redis://` URL's own user, password and db win over the global ones, as in the ring.
pub(crate) fn raw_connect(addr: &str, global: &Global) -> Result<RawConn, String> {
    let url = ShardSpec::parse("probe", addr).map_err(|e| e.to_string())?;
    raw_connect_to(&url.endpoint.to_string(), &url, global)
}

/// A plain connection to `addr` (`host:port`) with the user, password and db of `url` (the
/// global ones where it names none): a Sentinel shard's primary or replica takes the
/// credentials of the shard's URL.
fn raw_connect_to(addr: &str, url: &ShardSpec, global: &Global) -> Result<RawConn, String> {
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

/// Probes the server at `addr` (`host:port`) with the credentials of `url`.
fn probe(addr: &str, url: &ShardSpec, global: &Global) -> Result<Probe, String> {
    let mut conn = raw_connect_to(addr, url, global)?;
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
