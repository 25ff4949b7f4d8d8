//! Fuzz check `ring_inputs`: an arbitrary sequence of driver inputs (and arbitrary bytes
//! from "servers") through `RingCore`.
//!
//! The input is a small program: each byte picks an operation (submit, connect, bytes
//! received — garbage or plausible replies —, bytes written, connection closed, time passing,
//! cancel, membership change, close), the following bytes its operands. After every
//! operation the outputs are drained, as a driver would.
//!
//! Invariants: no panic; every reply is for an accepted, not cancelled, not yet answered
//! request; after an input at time `t`, no pending request has a deadline `<= t` (replies
//! are never late); `Transmit` only for a connection with bytes to write; `Connect` only to
//! configured addresses, never twice for one id; every pending request is answered once the
//! sockets are closed and time has moved past every deadline.

use std::collections::{HashMap, HashSet};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::{Config, Protocol};
use redis_ring_core::error::NetError;
use redis_ring_core::ring::{ConnId, Input, Output, RequestId, RingCore};
use redis_ring_core::time::{Duration, Instant};

const ADDRS: [&str; 4] = ["10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1"];

/// Replies a server might send, to get past handshakes and reach interesting states.
const PLAUSIBLE: [&[u8]; 10] = [
    b"%1\r\n+proto\r\n:3\r\n",
    b"+OK\r\n",
    b"+PONG\r\n",
    b"$-1\r\n",
    b"$3\r\nabc\r\n",
    b":7\r\n",
    b"-LOADING loading\r\n",
    b"-ERR unknown command 'HELLO'\r\n",
    b">2\r\n$10\r\ninvalidate\r\n_\r\n",
    b"-WRONGPASS nope\r\n",
];

struct Harness {
    ring: RingCore,
    now: Instant,
    conns: Vec<ConnId>,
    seen_conns: HashSet<ConnId>,
    pending: HashMap<RequestId, Instant>,
    cancelled: HashSet<RequestId>,
    answered: HashSet<RequestId>,
}

impl Harness {
    fn drain(&mut self) {
        for _ in 0..100_000 {
            match self.ring.poll_output() {
                Output::Connect { conn, addr, .. } => {
                    assert!(ADDRS.contains(&&*addr), "connect to unknown {addr}");
                    assert!(self.seen_conns.insert(conn), "{conn} asked twice");
                    self.conns.push(conn);
                }
                Output::Transmit { conn } => {
                    assert!(self.ring.send_len(conn) > 0, "Transmit {conn} with nothing");
                }
                Output::Close { conn } => self.conns.retain(|c| *c != conn),
                Output::Reply { id, .. } => {
                    assert!(!self.cancelled.contains(&id), "reply for cancelled {id}");
                    assert!(self.answered.insert(id), "second reply for {id}");
                    assert!(self.pending.remove(&id).is_some(), "reply for unknown {id}");
                }
                Output::Event(_) => {}
                Output::Timeout(_) => {
                    for (id, deadline) in &self.pending {
                        assert!(
                            *deadline > self.now,
                            "{id} is past its deadline at {:?} and still pending",
                            self.now
                        );
                    }
                    return;
                }
                other => panic!("unknown output {other:?}"),
            }
        }
        panic!("outputs never end");
    }

    fn conn(&self, b: u8) -> Option<ConnId> {
        (!self.conns.is_empty()).then(|| self.conns[usize::from(b) % self.conns.len()])
    }
}

/// Runs the check; panics when an invariant breaks.
pub fn check(data: &[u8]) {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let mut config = Config::default();
    config.conn.protocol = match next().unwrap_or(0) % 3 {
        0 => Protocol::Auto,
        1 => Protocol::Resp2,
        _ => Protocol::Resp3,
    };
    let now = Instant::from_nanos(1_000_000_000);
    let mut h = Harness {
        ring: RingCore::new(config, now),
        now,
        conns: Vec::new(),
        seen_conns: HashSet::new(),
        pending: HashMap::new(),
        cancelled: HashSet::new(),
        answered: HashSet::new(),
    };
    let names = ["a", "b", "c", "d"];
    h.ring.set_shards(names.iter().zip(ADDRS).take(3), now);
    h.drain();
    let mut submitted: Vec<RequestId> = Vec::new();
    while let Some(op) = next() {
        let arg = next().unwrap_or(0);
        match op % 10 {
            0 => {
                let key = [b'k', arg % 16];
                let cmd = match arg >> 5 {
                    0 => Cmd::new("SET").arg(&key[..]).arg("v"),
                    1 => Cmd::new("PING"),
                    2 => Cmd::new("MGET").arg(&key[..]).arg("{k}x"),
                    // Blocking: a dedicated connection; deadline = block time + timeout.
                    3 => Cmd::new("BLPOP").arg(&key[..]).arg("0.05"),
                    5 => Cmd::new("MGET").arg(&key[..]).arg("{k}x").arg("y"),
                    _ => Cmd::new("GET").arg(&key[..]),
                };
                let timeout = Duration::from_millis(u64::from(arg) * 20 + 1);
                let block = if arg >> 5 == 3 {
                    Duration::from_millis(50)
                } else {
                    Duration::ZERO
                };
                // Split commands answered per key, and per-shard commands.
                let ids: Vec<RequestId> = match arg >> 5 {
                    5 => h
                        .ring
                        .submit_per_key_with_timeout(cmd, timeout, h.now)
                        .unwrap_or_default(),
                    6 => {
                        let shard = names[usize::from(arg) % 3];
                        let dbsize = Cmd::new("DBSIZE");
                        h.ring
                            .submit_to_shard_with_timeout(shard, dbsize, timeout, h.now)
                            .into_iter()
                            .collect()
                    }
                    _ => h
                        .ring
                        .submit_with_timeout(cmd, timeout, h.now)
                        .into_iter()
                        .collect(),
                };
                for id in ids {
                    h.pending.insert(id, h.now + timeout + block);
                    submitted.push(id);
                }
            }
            1 => {
                if let Some(conn) = h.conn(arg) {
                    h.ring.handle_input(Input::Connected { conn, now: h.now });
                }
            }
            2 => {
                // Raw bytes from the fuzzer as a server's reply.
                let len = usize::from(next().unwrap_or(0) % 32);
                let chunk: Vec<u8> = (0..len).map_while(|_| next()).collect();
                if let Some(conn) = h.conn(arg) {
                    h.ring.handle_input(Input::Received {
                        conn,
                        data: &chunk,
                        now: h.now,
                    });
                }
            }
            3 | 4 => {
                if let Some(conn) = h.conn(arg) {
                    let reply = PLAUSIBLE[usize::from(next().unwrap_or(0)) % PLAUSIBLE.len()];
                    h.ring.handle_input(Input::Received {
                        conn,
                        data: reply,
                        now: h.now,
                    });
                }
            }
            5 => {
                if let Some(conn) = h.conn(arg) {
                    let n = if arg & 1 == 0 {
                        h.ring.send_len(conn)
                    } else {
                        usize::from(next().unwrap_or(0))
                    };
                    h.ring.handle_input(Input::Sent {
                        conn,
                        n,
                        now: h.now,
                    });
                }
            }
            6 => {
                if let Some(conn) = h.conn(arg) {
                    let error = [
                        NetError::Refused,
                        NetError::Reset,
                        NetError::Eof,
                        NetError::TimedOut,
                    ][usize::from(arg) % 4];
                    h.conns.retain(|c| *c != conn);
                    h.ring.handle_input(Input::Closed {
                        conn,
                        error,
                        now: h.now,
                    });
                }
            }
            7 => {
                // Time passes (sometimes "backwards": must be ignored).
                let t = if arg == 0 {
                    Instant::ZERO
                } else {
                    h.now += Duration::from_millis(u64::from(arg) * 5);
                    h.now
                };
                h.ring.handle_input(Input::Timeout(t));
            }
            8 => {
                if !submitted.is_empty() {
                    let id = submitted[usize::from(arg) % submitted.len()];
                    if h.ring.cancel(id) {
                        h.pending.remove(&id);
                        h.cancelled.insert(id);
                    }
                }
            }
            _ => {
                if arg == 255 {
                    h.ring.close(h.now);
                    h.drain();
                }
                let set: Vec<_> = names
                    .iter()
                    .zip(ADDRS)
                    .enumerate()
                    .filter(|(i, _)| arg >> i & 1 == 1)
                    .map(|(_, s)| s)
                    .collect();
                h.ring.set_shards(set, h.now);
            }
        }
        h.drain();
    }
    // The end: every socket fails, time passes every deadline; nobody is left waiting.
    for conn in std::mem::take(&mut h.conns) {
        h.ring.handle_input(Input::Closed {
            conn,
            error: NetError::Reset,
            now: h.now,
        });
        h.drain();
    }
    for _ in 0..20 {
        h.now += Duration::from_millis(600);
        h.ring.handle_input(Input::Timeout(h.now));
        h.drain();
        for conn in std::mem::take(&mut h.conns) {
            h.ring.handle_input(Input::Closed {
                conn,
                error: NetError::Refused,
                now: h.now,
            });
            h.drain();
        }
    }
    assert!(h.pending.is_empty(), "never answered: {:?}", h.pending);
    assert_eq!(h.ring.pending(), 0);
}
