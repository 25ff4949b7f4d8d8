//! The migration-window simulator: several application rings (each a [`RingCore`]) with a
//! window open from 3 shards to 4 (or 4 to 3), a migrator moving keys beside them (what
//! `redis-ring migrate` does: an atomic `MIGRATE` without `REPLACE`, `DEL` of the old copy
//! on `BUSYKEY`), and servers that crash and restart with their data (persistence on), on
//! discrete-event time from one seed.
//!
//! Each application owns a share of the keys and keeps at most one command in flight per
//! key, so what every key may hold is known exactly: its value after the last acknowledged
//! write, or, after a failed command (which may or may not have run), any of the values it
//! could have produced. The checker fails the run when a reply shows a value the key cannot
//! hold (a read that missed a key that exists, a stale value, an `INCR` that did not count
//! from the moved value, a deleted key resurrected), when a command fails without a fault,
//! or when at the end a key is anywhere but on its new owner.
//!
//! `MIGRATE` is carried out by the fake servers' `serve_with` hook, atomically at the
//! source as Redis does (it blocks its own clients during the transfer).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::{Config, FailurePolicy, MigrateFrom, MigrationWindow};
use redis_ring_core::error::NetError;
use redis_ring_core::placement::{Algorithm, Placement, ShardSpec};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{ConnId, Input, Output, RequestId, RingCore};
use redis_ring_core::time::{Duration, Instant};

use super::fake_redis::{FakeRedis, Session};
use super::rng::SimRng;

/// What one run does.
#[derive(Clone, Debug)]
pub struct WindowOptions {
    /// 3 → 4 shards (else 4 → 3).
    pub grow: bool,
    /// Crash and restart servers during the run.
    pub faults: bool,
    /// Warm-up reads (a miss moves the key).
    pub warm_up: bool,
    /// A deliberate bug the checker must catch: the applications change the shards
    /// without a window.
    pub no_window: bool,
}

/// What a passing run did.
#[derive(Clone, Debug, Default)]
pub struct WindowOutcome {
    /// Commands answered (each key of an `MGET` counts once).
    pub ops: u64,
    /// Commands that failed (with faults only).
    pub errors: u64,
    /// Keys the migrator moved.
    pub moved: u64,
    /// Crashes.
    pub faults: u64,
}

const APPS: usize = 3;
const KEYS: usize = 60;
/// Applications submit until then (virtual time).
const LOAD_FOR: Duration = Duration::from_millis(2000);
const MS: u64 = 1_000_000;

#[derive(Debug)]
enum Ev {
    ConnectDone(usize, ConnId),
    ToServer(usize, ConnId, Vec<u8>),
    ToClient(usize, ConnId, Vec<u8>),
    Closed(usize, ConnId, NetError),
    Timer(usize),
    Submit(usize),
    Crash(usize),
    Restart(usize),
    MigrateStep,
}

#[derive(Debug)]
struct Link {
    server: usize,
    session: Session,
    /// One-way latency (constant per connection: FIFO).
    lat: u64,
    alive: bool,
}

/// One command in flight and what the key(s) may hold meanwhile.
#[derive(Clone, Debug)]
enum Op {
    Get(usize),
    Set(usize, i64),
    Incr(usize),
    Del(usize),
    Exists(usize),
    MGet(usize, usize),
}

struct Server {
    fake: Option<FakeRedis>,
    up: bool,
    addr: String,
}

struct World {
    rng: SimRng,
    now: u64,
    seq: u64,
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    evs: HashMap<usize, Ev>,
    next_ev: usize,
    servers: Vec<Server>,
    apps: Vec<RingCore>,
    links: HashMap<(usize, ConnId), Link>,
    inflight: Vec<HashMap<RequestId, Op>>,
    busy: Vec<bool>,
    /// What each key may hold now.
    possible: Vec<Vec<Option<i64>>>,
    old_owner: Vec<usize>,
    new_owner: Vec<usize>,
    to_move: Vec<usize>,
    faults_on: bool,
    down_since: Vec<Option<u64>>,
    out: WindowOutcome,
}

fn key(k: usize) -> String {
    format!("key:{k}")
}

fn owners(names: &[String]) -> Vec<usize> {
    let specs: Vec<ShardSpec<'_>> = names.iter().map(|n| ShardSpec::new(n.as_str())).collect();
    let p = Algorithm::default().build(&specs);
    (0..KEYS)
        .map(|k| p.shard_for(key(k).as_bytes()).expect("shards"))
        .collect()
}

fn int_of(v: &[u8]) -> Option<i64> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Runs one simulation; `Err` describes the first violation (with the seed).
pub fn run_window(seed: u64, opts: &WindowOptions) -> Result<WindowOutcome, String> {
    let mut w = World::new(seed, opts);
    w.run(opts)
        .map(|()| w.out.clone())
        .map_err(|m| format!("seed {seed} {opts:?} at t={} ms: {m}", w.now / MS))
}

impl World {
    fn new(seed: u64, opts: &WindowOptions) -> World {
        let mut rng = SimRng::new(seed);
        let names: Vec<String> = (1..=4).map(|i| format!("shard{i}")).collect();
        let (old_n, new_n) = if opts.grow { (3, 4) } else { (4, 3) };
        let old_owner = owners(&names[..old_n]);
        let new_owner = owners(&names[..new_n]);
        let mut servers: Vec<Server> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Server {
                fake: Some(FakeRedis::new(n, None)),
                up: true,
                addr: format!("10.0.0.{}:6379", i + 1),
            })
            .collect();
        let mut possible = Vec::new();
        for k in 0..KEYS {
            let v = (k as i64) * 1000;
            if let Some(f) = servers[old_owner[k]].fake.as_mut() {
                f.insert(key(k).as_bytes(), v.to_string().into_bytes());
            }
            possible.push(vec![Some(v)]);
        }
        let spec = |n: usize| -> Vec<(String, String)> {
            (0..n)
                .map(|i| (names[i].clone(), servers[i].addr.clone()))
                .collect()
        };
        let (old, new) = (spec(old_n), spec(new_n));
        let apps = (0..APPS)
            .map(|a| {
                let mut c = Config::default();
                c.heartbeat_interval = Duration::from_millis(100);
                c.heartbeat_timeout = Duration::from_millis(100);
                c.probe_interval = Duration::from_millis(20);
                c.max_reconnect_backoff = Duration::from_millis(100);
                c.connect_timeout = Duration::from_millis(300);
                c.command_timeout = Duration::from_millis(800);
                c.failure_policy = FailurePolicy::FailFast;
                c.seed = seed ^ (a as u64 + 1).wrapping_mul(0x9e37_79b9);
                if !opts.no_window {
                    c.migrate_from = Some(MigrateFrom::new(
                        old.clone(),
                        MigrationWindow::new().warm_up(opts.warm_up),
                    ));
                }
                let mut ring = RingCore::new(c, Instant::ZERO);
                ring.set_shards(new.iter().map(|(n, a)| (n, a)), Instant::ZERO);
                ring
            })
            .collect();
        let to_move = (0..KEYS)
            .filter(|&k| old_owner[k] != new_owner[k])
            .collect();
        let _ = rng.next_u64();
        World {
            rng,
            now: 0,
            seq: 0,
            heap: BinaryHeap::new(),
            evs: HashMap::new(),
            next_ev: 0,
            servers,
            apps,
            links: HashMap::new(),
            inflight: (0..APPS).map(|_| HashMap::new()).collect(),
            busy: vec![false; KEYS],
            possible,
            old_owner,
            new_owner,
            to_move,
            faults_on: opts.faults,
            down_since: vec![None; 4],
            out: WindowOutcome::default(),
        }
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        let id = self.next_ev;
        self.next_ev += 1;
        self.evs.insert(id, ev);
        self.heap.push(Reverse((t, self.seq, id)));
    }

    fn inst(&self) -> Instant {
        Instant::from_nanos(self.now)
    }

    fn run(&mut self, opts: &WindowOptions) -> Result<(), String> {
        for a in 0..APPS {
            self.drain(a)?;
            self.at(MS, Ev::Submit(a));
        }
        self.at(50 * MS, Ev::MigrateStep);
        if opts.faults {
            for _ in 0..2 {
                let s = self.rng.range(0, 4) as usize;
                let t = self.rng.range(300, 2000) * MS;
                self.at(t, Ev::Crash(s));
                let d = self.rng.range(100, 500) * MS;
                self.at(t + d, Ev::Restart(s));
            }
        }
        let limit = LOAD_FOR.as_nanos() as u64 + 20_000 * MS;
        while let Some(Reverse((t, _, id))) = self.heap.pop() {
            self.now = t;
            if t > limit {
                return Err("the run did not settle".into());
            }
            let ev = self.evs.remove(&id).expect("event");
            self.step(ev)?;
            let load_done = t > LOAD_FOR.as_nanos() as u64;
            let idle = self.inflight.iter().all(HashMap::is_empty);
            if load_done && idle && self.to_move.is_empty() && self.servers.iter().all(|s| s.up) {
                return self.final_check();
            }
        }
        Err("ran out of events".into())
    }

    fn step(&mut self, ev: Ev) -> Result<(), String> {
        let now = self.inst();
        match ev {
            Ev::ConnectDone(a, conn) => {
                let ok = self
                    .links
                    .get(&(a, conn))
                    .is_some_and(|l| l.alive && self.servers[l.server].up);
                if ok {
                    self.apps[a].handle_input(Input::Connected { conn, now });
                } else {
                    self.links.remove(&(a, conn));
                    self.apps[a].handle_input(Input::Closed {
                        conn,
                        error: NetError::Refused,
                        now,
                    });
                }
                self.drain(a)?;
            }
            Ev::ToServer(a, conn, bytes) => self.deliver(a, conn, &bytes),
            Ev::ToClient(a, conn, bytes) => {
                if self.links.contains_key(&(a, conn)) {
                    self.apps[a].handle_input(Input::Received {
                        conn,
                        data: &bytes,
                        now,
                    });
                    self.drain(a)?;
                }
            }
            Ev::Closed(a, conn, error) => {
                if self.links.remove(&(a, conn)).is_some() {
                    self.apps[a].handle_input(Input::Closed { conn, error, now });
                    self.drain(a)?;
                }
            }
            Ev::Timer(a) => {
                self.apps[a].handle_input(Input::Timeout(now));
                self.drain(a)?;
            }
            Ev::Submit(a) => {
                if self.now <= LOAD_FOR.as_nanos() as u64 {
                    self.submit(a)?;
                    let next = self.now + self.rng.range(1, 12) * MS;
                    self.at(next, Ev::Submit(a));
                }
            }
            Ev::Crash(s) => {
                self.servers[s].up = false;
                self.down_since[s] = Some(self.now);
                self.out.faults += 1;
                let dead: Vec<(usize, ConnId)> = self
                    .links
                    .iter()
                    .filter(|(_, l)| l.server == s && l.alive)
                    .map(|(k, _)| *k)
                    .collect();
                for (a, conn) in dead {
                    if let Some(l) = self.links.get_mut(&(a, conn)) {
                        l.alive = false;
                    }
                    self.at(self.now + 100_000, Ev::Closed(a, conn, NetError::Reset));
                }
            }
            Ev::Restart(s) => {
                self.servers[s].up = true;
                self.down_since[s] = None;
            }
            Ev::MigrateStep => {
                self.migrate_one();
                if !self.to_move.is_empty() {
                    let next = self.now + self.rng.range(1, 20) * MS;
                    self.at(next, Ev::MigrateStep);
                }
            }
        }
        Ok(())
    }

    /// The migrator: one key, atomically at its old owner (`MIGRATE` without `REPLACE`, `DEL`
    /// of the old copy on `BUSYKEY`). A down old owner is retried later.
    fn migrate_one(&mut self) {
        let i = self.rng.range(0, self.to_move.len() as u64) as usize;
        let k = self.to_move[i];
        let (src, dst) = (self.old_owner[k], self.new_owner[k]);
        if !self.servers[src].up || !self.servers[dst].up {
            return;
        }
        self.to_move.swap_remove(i);
        let name = key(k);
        let moved = self.servers[src]
            .fake
            .as_mut()
            .and_then(|f| f.remove(name.as_bytes()));
        if let Some(v) = moved {
            let target = self.servers[dst].fake.as_mut().expect("server");
            if target.value(name.as_bytes()).is_none() {
                target.insert(name.as_bytes(), v);
                self.out.moved += 1;
            }
        }
    }

    fn deliver(&mut self, a: usize, conn: ConnId, bytes: &[u8]) {
        let Some(link) = self.links.get_mut(&(a, conn)) else {
            return;
        };
        let s = link.server;
        if !link.alive || !self.servers[s].up {
            return;
        }
        link.session.inbox.extend_from_slice(bytes);
        let lat = link.lat;
        let mut fake = self.servers[s].fake.take().expect("server");
        let mut out = Vec::new();
        let servers = &mut self.servers;
        let result = fake.serve_with(&mut link.session, &mut out, &mut |src, args| {
            migrate_hook(src, args, servers)
        });
        self.servers[s].fake = Some(fake);
        if result.is_err() {
            return;
        }
        if !out.is_empty() {
            self.at(self.now + lat, Ev::ToClient(a, conn, out));
        }
    }

    fn drain(&mut self, a: usize) -> Result<(), String> {
        loop {
            let now = self.inst();
            match self.apps[a].poll_output() {
                Output::Connect { conn, addr, .. } => {
                    let server = self.servers.iter().position(|s| *s.addr == *addr);
                    let lat = self.rng.range(50, 400) * 1000;
                    match server {
                        Some(server) if self.servers[server].up => {
                            let session = self.servers[server]
                                .fake
                                .as_ref()
                                .expect("server")
                                .session();
                            self.links.insert(
                                (a, conn),
                                Link {
                                    server,
                                    session,
                                    lat,
                                    alive: true,
                                },
                            );
                            self.at(self.now + 2 * lat, Ev::ConnectDone(a, conn));
                        }
                        _ => {
                            self.links.insert(
                                (a, conn),
                                Link {
                                    server: server.unwrap_or(0),
                                    session: self.servers[0]
                                        .fake
                                        .as_ref()
                                        .expect("server")
                                        .session(),
                                    lat,
                                    alive: false,
                                },
                            );
                            self.at(self.now + lat, Ev::Closed(a, conn, NetError::Refused));
                        }
                    }
                }
                Output::Transmit { conn } => {
                    let bytes = self.apps[a].send_slices(conn).collect::<Vec<_>>().concat();
                    self.apps[a].handle_input(Input::Sent {
                        conn,
                        n: bytes.len(),
                        now,
                    });
                    if let Some(l) = self.links.get(&(a, conn)) {
                        let t = self.now + l.lat;
                        self.at(t, Ev::ToServer(a, conn, bytes));
                    }
                }
                Output::Close { conn } => {
                    self.links.remove(&(a, conn));
                }
                Output::Reply { id, result } => self.on_reply(a, id, result)?,
                Output::Timeout(at) => {
                    if at != Instant::MAX {
                        let t = at.as_nanos().max(self.now + 1000);
                        self.at(t, Ev::Timer(a));
                    }
                    return Ok(());
                }
                _ => {}
            }
        }
    }

    /// Application `a` starts one command on keys it owns that have nothing in flight.
    fn submit(&mut self, a: usize) -> Result<(), String> {
        let free: Vec<usize> = (0..KEYS)
            .filter(|k| k % APPS == a && !self.busy[*k])
            .collect();
        if free.len() < 2 {
            return Ok(());
        }
        let k = *self.rng.pick(&free);
        let op = match self.rng.range(0, 7) {
            0 | 1 => Op::Get(k),
            2 => Op::Set(k, self.rng.range(0, 1_000_000) as i64),
            3 => Op::Incr(k),
            4 => Op::Del(k),
            5 => Op::Exists(k),
            _ => {
                let other = *self.rng.pick(&free);
                if other == k {
                    Op::Get(k)
                } else {
                    Op::MGet(k, other)
                }
            }
        };
        let cmd = match &op {
            Op::Get(k) => Cmd::new("GET").arg(key(*k)),
            Op::Set(k, v) => Cmd::new("SET").arg(key(*k)).arg(*v),
            Op::Incr(k) => Cmd::new("INCR").arg(key(*k)),
            Op::Del(k) => Cmd::new("DEL").arg(key(*k)),
            Op::Exists(k) => Cmd::new("EXISTS").arg(key(*k)),
            Op::MGet(k, o) => Cmd::new("MGET").arg(key(*k)).arg(key(*o)),
        };
        let now = self.inst();
        match self.apps[a].submit(cmd, now) {
            Ok(id) => {
                for k in op_keys(&op) {
                    self.busy[k] = true;
                }
                self.inflight[a].insert(id, op);
            }
            Err(e) if self.faults_on => {
                self.out.errors += 1;
                let _ = e;
            }
            Err(e) => return Err(format!("submit refused without a fault: {e}")),
        }
        self.drain(a)
    }

    fn on_reply(
        &mut self,
        a: usize,
        id: RequestId,
        result: Result<Value, redis_ring_core::error::Error>,
    ) -> Result<(), String> {
        let Some(op) = self.inflight[a].remove(&id) else {
            return Err(format!("a reply for an unknown request {id:?}"));
        };
        for k in op_keys(&op) {
            self.busy[k] = false;
        }
        self.out.ops += op_keys(&op).len() as u64;
        let value = match result {
            Ok(v) => v,
            Err(e) => {
                if !self.faults_on {
                    return Err(format!("{op:?} failed without a fault: {e}"));
                }
                self.out.errors += 1;
                self.maybe_ran(&op);
                return Ok(());
            }
        };
        let bad = |what: String| Err(format!("{op:?}: {what}"));
        match (&op, &value) {
            (Op::Get(k), v) => {
                let got = match v {
                    Value::Nil => None,
                    Value::Bulk(b) => int_of(b),
                    other => return bad(format!("reply {other:?}")),
                };
                self.observe(*k, got).or_else(&bad)?;
            }
            (Op::Set(k, v), Value::Okay) => self.possible[*k] = vec![Some(*v)],
            (Op::Incr(k), Value::Int(r)) => {
                let p = &self.possible[*k];
                if !p.iter().any(|v| v.unwrap_or(0) + 1 == *r) {
                    return bad(format!("INCR gave {r}, the key could hold {p:?}"));
                }
                self.possible[*k] = vec![Some(*r)];
            }
            (Op::Del(k) | Op::Exists(k), Value::Int(c)) => {
                let p = &self.possible[*k];
                let ok = match c {
                    0 => p.contains(&None),
                    1 => p.iter().any(Option::is_some),
                    _ => false,
                };
                if !ok {
                    return bad(format!("count {c}, the key could hold {p:?}"));
                }
                if matches!(op, Op::Del(_)) || *c == 0 {
                    self.possible[*k] = vec![None];
                } else {
                    self.possible[*k].retain(Option::is_some);
                }
            }
            (Op::MGet(k, o), Value::Array(vals)) if vals.len() == 2 => {
                for (k, v) in [(*k, &vals[0]), (*o, &vals[1])] {
                    let got = match v {
                        Value::Nil => None,
                        Value::Bulk(b) => int_of(b),
                        other => return bad(format!("reply {other:?}")),
                    };
                    self.observe(k, got).or_else(&bad)?;
                }
            }
            (_, other) => return bad(format!("unexpected reply {other:?}")),
        }
        Ok(())
    }

    /// A read saw `got` for key `k`: it must be a value the key could hold.
    fn observe(&mut self, k: usize, got: Option<i64>) -> Result<(), String> {
        if !self.possible[k].contains(&got) {
            return Err(format!(
                "{} read {got:?}, the key could hold {:?}",
                key(k),
                self.possible[k]
            ));
        }
        self.possible[k] = vec![got];
        Ok(())
    }

    /// A command failed: it may have run.
    fn maybe_ran(&mut self, op: &Op) {
        let add = |p: &mut Vec<Option<i64>>, v: Option<i64>| {
            if !p.contains(&v) {
                p.push(v);
            }
        };
        match *op {
            Op::Set(k, v) => add(&mut self.possible[k], Some(v)),
            Op::Incr(k) => {
                let next: Vec<Option<i64>> = self.possible[k]
                    .iter()
                    .map(|v| Some(v.unwrap_or(0) + 1))
                    .collect();
                for v in next {
                    add(&mut self.possible[k], v);
                }
            }
            Op::Del(k) => add(&mut self.possible[k], None),
            _ => {}
        }
    }

    /// Every key on its new owner only, holding a value it could hold.
    fn final_check(&mut self) -> Result<(), String> {
        for k in 0..KEYS {
            let name = key(k);
            let mut found = None;
            for (s, server) in self.servers.iter().enumerate() {
                let Some(v) = server.fake.as_ref().and_then(|f| f.value(name.as_bytes())) else {
                    continue;
                };
                if s != self.new_owner[k] {
                    return Err(format!(
                        "{name} left on shard{} (its new owner is shard{})",
                        s + 1,
                        self.new_owner[k] + 1
                    ));
                }
                found = Some(int_of(v));
            }
            let got = found.flatten();
            if found.is_some() && got.is_none() {
                return Err(format!("{name} holds a value that is not a number"));
            }
            if !self.possible[k].contains(&got) {
                return Err(format!(
                    "{name} ends as {got:?}, it could hold {:?}",
                    self.possible[k]
                ));
            }
        }
        Ok(())
    }
}

fn op_keys(op: &Op) -> Vec<usize> {
    match *op {
        Op::Get(k) | Op::Set(k, _) | Op::Incr(k) | Op::Del(k) | Op::Exists(k) => vec![k],
        Op::MGet(k, o) => vec![k, o],
    }
}

/// `MIGRATE host port key db timeout` run by `src`: atomic, no `REPLACE`.
fn migrate_hook(src: &mut FakeRedis, args: &[Vec<u8>], servers: &mut [Server]) -> Option<Value> {
    if !args[0].eq_ignore_ascii_case(b"MIGRATE") {
        return None;
    }
    let err = |m: &str| Some(Value::Error(m.as_bytes().to_vec()));
    if args.len() < 6 {
        return err("ERR wrong number of arguments for 'migrate' command");
    }
    let addr = format!(
        "{}:{}",
        String::from_utf8_lossy(&args[1]),
        String::from_utf8_lossy(&args[2])
    );
    let key = &args[3];
    let Some(target) = servers.iter_mut().find(|s| s.addr == addr) else {
        return err("IOERR error or timeout connecting to the client");
    };
    if !target.up {
        return err("IOERR error or timeout connecting to the client");
    }
    let Some(value) = src.value(key).map(<[u8]>::to_vec) else {
        return Some(Value::Simple(b"NOKEY".to_vec()));
    };
    let Some(t) = target.fake.as_mut() else {
        return err("IOERR the target is the source");
    };
    if t.value(key).is_some() {
        return err(
            "ERR Target instance replied with error: BUSYKEY Target key name already exists.",
        );
    }
    t.insert(key, value);
    src.remove(key);
    Some(Value::Okay)
}
