//! A tiny rig for `RingCore` tests: fake Redis servers behind an instant network, a driver
//! loop that moves bytes and time exactly as a real driver would, and a record of every
//! reply and event. (The full simulator with latency and faults lives in `tests/src/sim`.)
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::{HashMap, VecDeque};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::error::{Error, NetError};
use redis_ring_core::resp::Value;
use redis_ring_core::resp::{decode, Limits, Status};
use redis_ring_core::ring::{ConnId, Event, Input, Output, RequestId, RingCore};
use redis_ring_core::time::{Duration, Instant};

/// How a fake server behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Answers everything.
    Up,
    /// Connections are refused.
    Refuse,
    /// Accepts connections, reads, never answers (SIGSTOP).
    Hang,
    /// Connection attempts never complete (packets dropped).
    Blackhole,
    /// Answers with bytes that are not RESP.
    Garbage,
    /// Runs commands but holds the answers back until [`Rig::release`].
    Hold,
}

#[derive(Debug)]
pub struct Server {
    pub mode: Mode,
    pub resp3: bool,
    pub password: Option<String>,
    pub data: HashMap<Vec<u8>, Vec<u8>>,
    /// Answer `-LOADING` to this many data commands first.
    pub loading: u32,
    /// Every command received, as words (handshake and pings included).
    pub log: Vec<Vec<Vec<u8>>>,
    /// Send a push frame before every reply.
    pub push_before_reply: bool,
}

impl Server {
    fn new() -> Server {
        Server {
            mode: Mode::Up,
            resp3: true,
            password: None,
            data: HashMap::new(),
            loading: 0,
            log: Vec::new(),
            push_before_reply: false,
        }
    }

    /// The reply bytes to one command.
    fn answer(&mut self, args: &[Vec<u8>], out: &mut Vec<u8>) {
        self.log.push(args.to_vec());
        if self.push_before_reply {
            out.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n_\r\n");
        }
        let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
        let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
        match name.as_str() {
            "HELLO" if !self.resp3 => {
                out.extend_from_slice(b"-ERR unknown command 'HELLO'\r\n");
            }
            "HELLO" => {
                if let Some(pw) = &self.password {
                    if args.len() < 6 || arg(4) != pw.as_bytes() {
                        out.extend_from_slice(b"-WRONGPASS invalid username-password pair\r\n");
                        return;
                    }
                }
                out.extend_from_slice(b"%1\r\n+proto\r\n:3\r\n");
            }
            "AUTH" => {
                let given = arg(args.len() - 1);
                if self.password.as_deref().map(str::as_bytes) == Some(&given[..]) {
                    out.extend_from_slice(b"+OK\r\n");
                } else {
                    out.extend_from_slice(b"-WRONGPASS invalid username-password pair\r\n");
                }
            }
            "SELECT" | "CLIENT" => out.extend_from_slice(b"+OK\r\n"),
            // Blocking commands block for ever here: only the client's deadline ends them.
            "BLPOP" | "BRPOP" | "BZPOPMIN" => {}
            "PING" => out.extend_from_slice(b"+PONG\r\n"),
            _ if self.loading > 0 => {
                self.loading -= 1;
                out.extend_from_slice(b"-LOADING Redis is loading the dataset in memory\r\n");
            }
            "GET" => match self.data.get(&arg(1)) {
                Some(v) => {
                    out.extend_from_slice(format!("${}\r\n", v.len()).as_bytes());
                    out.extend_from_slice(v);
                    out.extend_from_slice(b"\r\n");
                }
                None => out.extend_from_slice(b"$-1\r\n"),
            },
            "SET" => {
                self.data.insert(arg(1), arg(2));
                out.extend_from_slice(b"+OK\r\n");
            }
            "DEL" => {
                let n = args[1..]
                    .iter()
                    .filter(|k| self.data.remove(*k).is_some())
                    .count();
                out.extend_from_slice(format!(":{n}\r\n").as_bytes());
            }
            "MGET" => {
                out.extend_from_slice(format!("*{}\r\n", args.len() - 1).as_bytes());
                for k in &args[1..] {
                    match self.data.get(k) {
                        Some(v) => {
                            out.extend_from_slice(format!("${}\r\n", v.len()).as_bytes());
                            out.extend_from_slice(v);
                            out.extend_from_slice(b"\r\n");
                        }
                        None => out.extend_from_slice(b"$-1\r\n"),
                    }
                }
            }
            "MSET" => {
                for kv in args[1..].chunks(2) {
                    self.data
                        .insert(kv[0].clone(), kv.get(1).cloned().unwrap_or_default());
                }
                out.extend_from_slice(b"+OK\r\n");
            }
            "EXISTS" | "TOUCH" => {
                let n = args[1..]
                    .iter()
                    .filter(|k| self.data.contains_key(*k))
                    .count();
                out.extend_from_slice(format!(":{n}\r\n").as_bytes());
            }
            "DBSIZE" => out.extend_from_slice(format!(":{}\r\n", self.data.len()).as_bytes()),
            "FLUSHDB" => {
                self.data.clear();
                out.extend_from_slice(b"+OK\r\n");
            }
            "SCAN" => {
                // Cursor = index into the sorted keys; COUNT 2 per step.
                let mut keys: Vec<&Vec<u8>> = self.data.keys().collect();
                keys.sort();
                let from: usize = String::from_utf8_lossy(&arg(1)).parse().unwrap_or(0);
                let to = (from + 2).min(keys.len());
                let next = if to >= keys.len() { 0 } else { to };
                let next = next.to_string();
                out.extend_from_slice(
                    format!(
                        "*2\r\n${}\r\n{next}\r\n*{}\r\n",
                        next.len(),
                        to.saturating_sub(from)
                    )
                    .as_bytes(),
                );
                for k in keys.get(from..to).unwrap_or(&[]) {
                    out.extend_from_slice(format!("${}\r\n", k.len()).as_bytes());
                    out.extend_from_slice(k);
                    out.extend_from_slice(b"\r\n");
                }
            }
            _ => out.extend_from_slice(b"-ERR unknown command\r\n"),
        }
    }

    /// Parses every whole command in `buf` (consumed from the front) and answers them.
    fn serve(&mut self, buf: &mut Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let (args, used) = match decode(buf, &Limits::default()) {
                Ok(Status::Complete((frame, used))) => {
                    let words: Vec<Vec<u8>> = frame
                        .as_aggregate()
                        .expect("commands are arrays")
                        .iter()
                        .map(|w| w.as_bulk().expect("bulk words").to_vec())
                        .collect();
                    (words, used)
                }
                Ok(Status::Partial) => break,
                Err(e) => panic!("client sent invalid RESP: {e}"),
            };
            buf.drain(..used);
            if matches!(self.mode, Mode::Up | Mode::Hold) {
                self.answer(&args, &mut out);
            } else {
                self.log.push(args);
            }
        }
        if self.mode == Mode::Garbage {
            out = b"?garbage\r\n".to_vec();
        }
        out
    }
}

#[derive(Debug)]
struct Link {
    addr: String,
    connected: bool,
    /// Bytes the server has received but not parsed yet.
    inbox: Vec<u8>,
    /// Answers held back ([`Mode::Hold`]).
    held: Vec<u8>,
}

/// The ring, its fake servers and an instant network.
#[derive(Debug)]
pub struct Rig {
    pub ring: RingCore,
    pub now: Instant,
    pub servers: HashMap<String, Server>,
    links: HashMap<ConnId, Link>,
    inputs: VecDeque<Pending>,
    pub replies: Vec<(RequestId, Result<Value, Error>, Instant)>,
    pub events: Vec<(Event, Instant)>,
    pub connects: Vec<(ConnId, String)>,
    pub closes: Vec<ConnId>,
    /// The most `Transmit`s seen for one connection within one drain.
    pub max_transmits_per_conn_per_drain: usize,
    pub wake: Instant,
}

#[derive(Debug)]
enum Pending {
    Connected(ConnId),
    Received(ConnId, Vec<u8>),
    Closed(ConnId, NetError),
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl Rig {
    /// A ring over servers `s0..sN` at addresses `a0..aN`, all up.
    pub fn new(config: Config, n: usize) -> Rig {
        let now = Instant::from_nanos(1_000_000_000);
        let mut rig = Rig {
            ring: RingCore::new(config, now),
            now,
            servers: HashMap::new(),
            links: HashMap::new(),
            inputs: VecDeque::new(),
            replies: Vec::new(),
            events: Vec::new(),
            connects: Vec::new(),
            closes: Vec::new(),
            max_transmits_per_conn_per_drain: 0,
            wake: Instant::MAX,
        };
        let shards: Vec<(String, String)> =
            (0..n).map(|i| (format!("s{i}"), format!("a{i}"))).collect();
        for (_, addr) in &shards {
            rig.servers.insert(addr.clone(), Server::new());
        }
        rig.ring.set_shards(shards, now);
        rig.settle();
        rig
    }

    pub fn server(&mut self, addr: &str) -> &mut Server {
        self.servers
            .entry(addr.to_string())
            .or_insert_with(Server::new)
    }

    /// Changes a server's mode; live connections of a refusing/crashed server are reset.
    pub fn set_mode(&mut self, addr: &str, mode: Mode) {
        self.server(addr).mode = mode;
        if mode == Mode::Refuse {
            let dead: Vec<ConnId> = self
                .links
                .iter()
                .filter(|(_, l)| l.addr == addr && l.connected)
                .map(|(c, _)| *c)
                .collect();
            for c in dead {
                self.links.remove(&c);
                self.inputs.push_back(Pending::Closed(c, NetError::Reset));
            }
        }
        self.settle();
    }

    /// The network breaks every open connection to `addr` with `error` (the server keeps
    /// what it received).
    pub fn break_conns(&mut self, addr: &str, error: NetError) {
        let dead: Vec<ConnId> = self
            .links
            .iter()
            .filter(|(_, l)| l.addr == addr && l.connected)
            .map(|(c, _)| *c)
            .collect();
        for c in dead {
            self.links.remove(&c);
            self.inputs.push_back(Pending::Closed(c, error));
        }
        self.settle();
    }

    /// A held server ([`Mode::Hold`]) sends what it held back, and answers at once again.
    pub fn release(&mut self, addr: &str) {
        self.server(addr).mode = Mode::Up;
        for (conn, link) in &mut self.links {
            if link.addr == addr && !link.held.is_empty() {
                let held = std::mem::take(&mut link.held);
                self.inputs.push_back(Pending::Received(*conn, held));
            }
        }
        self.settle();
    }

    pub fn submit(&mut self, cmd: Cmd) -> Result<RequestId, Error> {
        let r = self.ring.submit(cmd, self.now);
        self.settle();
        r
    }

    pub fn submit_timeout(&mut self, cmd: Cmd, timeout: Duration) -> Result<RequestId, Error> {
        let r = self.ring.submit_with_timeout(cmd, timeout, self.now);
        self.settle();
        r
    }

    /// Drains outputs and delivers network effects until quiet (time does not move).
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut transmits: HashMap<ConnId, usize> = HashMap::new();
            loop {
                match self.ring.poll_output() {
                    Output::Connect { conn, addr, .. } => {
                        self.connects.push((conn, addr.to_string()));
                        let mode = self.server(&addr).mode;
                        match mode {
                            Mode::Refuse => {
                                self.inputs
                                    .push_back(Pending::Closed(conn, NetError::Refused));
                            }
                            Mode::Blackhole => {}
                            _ => {
                                self.links.insert(
                                    conn,
                                    Link {
                                        addr: addr.to_string(),
                                        connected: true,
                                        inbox: Vec::new(),
                                        held: Vec::new(),
                                    },
                                );
                                self.inputs.push_back(Pending::Connected(conn));
                            }
                        }
                    }
                    Output::Transmit { conn } => {
                        let t = transmits.entry(conn).or_default();
                        *t += 1;
                        self.max_transmits_per_conn_per_drain =
                            self.max_transmits_per_conn_per_drain.max(*t);
                        let bytes = self.ring.send_slices(conn).collect::<Vec<_>>().concat();
                        assert!(!bytes.is_empty(), "Transmit with an empty buffer");
                        self.ring.handle_input(Input::Sent {
                            conn,
                            n: bytes.len(),
                            now: self.now,
                        });
                        if let Some(link) = self.links.get_mut(&conn) {
                            link.inbox.extend_from_slice(&bytes);
                            let addr = link.addr.clone();
                            let mut inbox = std::mem::take(&mut link.inbox);
                            let server = self.servers.get_mut(&addr).unwrap();
                            let out = server.serve(&mut inbox);
                            let hold = server.mode == Mode::Hold;
                            let link = self.links.get_mut(&conn).unwrap();
                            link.inbox = inbox;
                            if hold {
                                link.held.extend_from_slice(&out);
                            } else if !out.is_empty() {
                                self.inputs.push_back(Pending::Received(conn, out));
                            }
                        }
                    }
                    Output::Close { conn } => {
                        self.closes.push(conn);
                        self.links.remove(&conn);
                    }
                    Output::Reply { id, result } => self.replies.push((id, result, self.now)),
                    Output::Event(e) => self.events.push((e, self.now)),
                    Output::Timeout(at) => {
                        self.wake = at;
                        break;
                    }
                    other => panic!("unexpected output {other:?}"),
                }
            }
            let Some(input) = self.inputs.pop_front() else {
                return;
            };
            match input {
                Pending::Connected(conn) => self.ring.handle_input(Input::Connected {
                    conn,
                    now: self.now,
                }),
                Pending::Received(conn, data) => {
                    if self.links.contains_key(&conn) {
                        self.ring.handle_input(Input::Received {
                            conn,
                            data: &data,
                            now: self.now,
                        });
                    }
                }
                Pending::Closed(conn, error) => {
                    self.ring.handle_input(Input::Closed {
                        conn,
                        error,
                        now: self.now,
                    });
                }
            }
        }
        panic!("the ring never settles");
    }

    /// Advances time to `now + d`, firing every timer on the way.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while self.wake <= end {
            self.now = self.now.max(self.wake);
            self.ring.handle_input(Input::Timeout(self.now));
            self.settle();
        }
        self.now = end;
        self.ring.handle_input(Input::Timeout(self.now));
        self.settle();
    }

    /// The reply of `id`, if it came.
    pub fn reply(&self, id: RequestId) -> Option<&Result<Value, Error>> {
        self.replies
            .iter()
            .find(|(i, ..)| *i == id)
            .map(|(_, r, _)| r)
    }

    /// The commands (by name) a server received, handshake and heartbeats excluded.
    pub fn data_commands(&self, addr: &str) -> Vec<String> {
        self.servers[addr]
            .log
            .iter()
            .map(|w| String::from_utf8_lossy(&w[0]).to_ascii_uppercase())
            .filter(|n| !matches!(n.as_str(), "HELLO" | "PING" | "AUTH" | "SELECT" | "CLIENT"))
            .collect()
    }

    /// The address owning `key` now.
    pub fn owner(&self, key: &str) -> String {
        self.ring
            .shard_for_key(key.as_bytes())
            .unwrap()
            .1
            .to_string()
    }

    pub fn down_events(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|(e, _)| match e {
                Event::ShardDown { name, .. } => Some(name.to_string()),
                _ => None,
            })
            .collect()
    }
}
