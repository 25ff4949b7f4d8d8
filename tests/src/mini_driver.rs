//! [`Mini`]: the smallest honest driver of [`RingCore`], shared by the real-Redis tests of the
//! core (`ring_real_redis.rs`, `ring_dedicated_real_redis.rs`): std sockets on one thread,
//! blocking connects, non-blocking reads, polling about every millisecond. It moves bytes and
//! time and records what the core outputs (replies, events, pub/sub messages), so a test can
//! look at the core itself without any real driver in between.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant as StdInstant};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::error::{Error, NetError};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{ConnId, Event, Input, Output, RequestId, RingCore, SubId, TxId};
use redis_ring_core::time::Instant;

/// A message as received: subscription, channel, pattern, payload.
pub type Msg = (SubId, Vec<u8>, Option<Vec<u8>>, Vec<u8>);

/// The smallest honest driver: blocking connects, non-blocking reads, polling every ms.
///
/// Call protocol: every method that feeds the core drains its outputs (`drain`) before it
/// returns, so the fields below are always up to date.
#[derive(Debug)]
pub struct Mini {
    /// The core being driven.
    pub ring: RingCore,
    /// When the driver started: the core's time zero.
    pub start: StdInstant,
    /// Open sockets by connection.
    pub socks: HashMap<ConnId, TcpStream>,
    /// Replies not yet taken, by request.
    pub replies: HashMap<RequestId, Result<Value, Error>>,
    /// Every event so far, with when it came (since `start`).
    pub events: Vec<(Event, Duration)>,
    /// When the core wants its next `Timeout`.
    pub wake: Instant,
    /// Pub/sub messages received so far.
    pub messages: Vec<Msg>,
    /// Subscriptions confirmed so far.
    pub subscribed: Vec<SubId>,
    /// Connections whose last write would have blocked: written again by [`Mini::step`].
    pub blocked: Vec<ConnId>,
}

/// Maps a socket error onto the core's [`NetError`].
pub fn net_error(e: &std::io::Error) -> NetError {
    match e.kind() {
        ErrorKind::ConnectionRefused => NetError::Refused,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            NetError::Reset
        }
        ErrorKind::TimedOut => NetError::TimedOut,
        _ => NetError::Other,
    }
}

impl Mini {
    /// Starts the core with `config` and `shards`, draining its first outputs.
    pub fn new(config: Config, shards: &[(String, String)]) -> Mini {
        let start = StdInstant::now();
        let mut m = Mini {
            ring: RingCore::new(config, Instant::ZERO),
            start,
            socks: HashMap::new(),
            replies: HashMap::new(),
            events: Vec::new(),
            wake: Instant::MAX,
            messages: Vec::new(),
            subscribed: Vec::new(),
            blocked: Vec::new(),
        };
        let now = m.now();
        m.ring.set_shards(shards.iter().cloned(), now);
        m.drain();
        m
    }

    /// The core's clock: time since `start`.
    pub fn now(&self) -> Instant {
        Instant::from_nanos(self.start.elapsed().as_nanos() as u64)
    }

    /// Carries out the core's outputs until it asks for a `Timeout`.
    pub fn drain(&mut self) {
        loop {
            let now = self.now();
            match self.ring.poll_output() {
                Output::Connect { conn, addr, .. } => {
                    let sa: SocketAddr = addr.parse().unwrap();
                    match TcpStream::connect_timeout(&sa, Duration::from_secs(1)) {
                        Ok(s) => {
                            s.set_nonblocking(true).unwrap();
                            s.set_nodelay(true).unwrap();
                            self.socks.insert(conn, s);
                            self.ring.handle_input(Input::Connected { conn, now });
                        }
                        Err(e) => {
                            let error = net_error(&e);
                            self.ring.handle_input(Input::Closed { conn, error, now });
                        }
                    }
                }
                Output::Transmit { conn } => self.write(conn, now),
                Output::Close { conn } => {
                    self.socks.remove(&conn);
                }
                Output::Reply { id, result } => {
                    self.replies.insert(id, result);
                }
                Output::Event(e) => self.events.push((e, self.start.elapsed())),
                Output::Timeout(at) => {
                    self.wake = at;
                    return;
                }
                Output::Message {
                    sub,
                    channel,
                    pattern,
                    payload,
                } => self.messages.push((sub, channel, pattern, payload)),
                Output::Subscribed { sub } => self.subscribed.push(sub),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Writes what `conn` has to send; a write that would block is tried again by `step`.
    fn write(&mut self, conn: ConnId, now: Instant) {
        let Some(s) = self.socks.get_mut(&conn) else {
            return;
        };
        let iov: Vec<std::io::IoSlice<'_>> = self
            .ring
            .send_slices(conn)
            .map(std::io::IoSlice::new)
            .collect();
        match s.write_vectored(&iov) {
            Ok(n) => self.ring.handle_input(Input::Sent { conn, n, now }),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if !self.blocked.contains(&conn) {
                    self.blocked.push(conn);
                }
            }
            Err(e) => {
                self.socks.remove(&conn);
                let error = net_error(&e);
                self.ring.handle_input(Input::Closed { conn, error, now });
            }
        }
    }

    /// Moves bytes and time for about 1 ms.
    pub fn step(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        let conns: Vec<ConnId> = self.socks.keys().copied().collect();
        for conn in conns {
            loop {
                let now = self.now();
                let Some(s) = self.socks.get_mut(&conn) else {
                    break;
                };
                match s.read(&mut buf) {
                    Ok(0) => {
                        self.socks.remove(&conn);
                        self.ring.handle_input(Input::Closed {
                            conn,
                            error: NetError::Eof,
                            now,
                        });
                    }
                    Ok(n) => self.ring.handle_input(Input::Received {
                        conn,
                        data: &buf[..n],
                        now,
                    }),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.socks.remove(&conn);
                        let error = net_error(&e);
                        self.ring.handle_input(Input::Closed { conn, error, now });
                    }
                }
                self.drain();
            }
        }
        for conn in std::mem::take(&mut self.blocked) {
            let now = self.now();
            self.write(conn, now);
            self.drain();
        }
        if self.now() >= self.wake {
            let now = self.now();
            self.ring.handle_input(Input::Timeout(now));
        }
        self.drain();
        std::thread::sleep(Duration::from_micros(500));
    }

    /// Steps for about `d`.
    pub fn pump(&mut self, d: Duration) {
        let end = StdInstant::now() + d;
        while StdInstant::now() < end {
            self.step();
        }
    }

    /// Submits `cmd` and steps until its reply (10 s at most, then panics).
    pub fn run(&mut self, cmd: Cmd) -> Result<Value, Error> {
        let now = self.now();
        let id = self.ring.submit(cmd, now)?;
        self.drain();
        let end = StdInstant::now() + Duration::from_secs(10);
        while StdInstant::now() < end {
            if let Some(r) = self.replies.remove(&id) {
                return r;
            }
            self.step();
        }
        panic!("no reply for {id}");
    }
}

impl Mini {
    /// Pumps until `pred` holds, at most `limit`.
    pub fn wait(&mut self, limit: Duration, what: &str, pred: impl Fn(&Mini) -> bool) {
        let end = StdInstant::now() + limit;
        while !pred(self) {
            assert!(StdInstant::now() < end, "{what}: not within {limit:?}");
            self.step();
        }
    }

    /// Submits `cmd` (panics if the core refuses it) and drains.
    pub fn submit(&mut self, cmd: Cmd) -> RequestId {
        let now = self.now();
        let id = self.ring.submit(cmd, now).unwrap();
        self.drain();
        id
    }

    /// Steps until the reply of `id` (30 s at most, then panics) and takes it.
    pub fn reply_of(&mut self, id: RequestId) -> Result<Value, Error> {
        self.wait(Duration::from_secs(30), "reply", |m| {
            m.replies.contains_key(&id)
        });
        self.replies.remove(&id).unwrap()
    }

    /// Submits `cmd` inside transaction `tx` and waits for its reply.
    pub fn tx(&mut self, tx: TxId, cmd: Cmd) -> Result<Value, Error> {
        let now = self.now();
        let id = self.ring.submit_in(tx, cmd, now)?;
        self.drain();
        self.reply_of(id)
    }

    /// Pumps until `pred` holds for an event; returns when it happened.
    pub fn wait_event(&mut self, limit: Duration, pred: impl Fn(&Event) -> bool) -> Duration {
        let end = StdInstant::now() + limit;
        while StdInstant::now() < end {
            if let Some((_, at)) = self.events.iter().find(|(e, _)| pred(e)) {
                return *at;
            }
            self.step();
        }
        panic!("no such event within {limit:?}: {:?}", self.events);
    }
}
