//! A hostile Redis server for tests: a small TCP server that completes the handshake
//! correctly (`HELLO 3`/`HELLO 2`, `AUTH`, `SELECT`, `CLIENT SETNAME`, `PING` answered as
//! Redis does), answers ordinary commands honestly from a tiny in-memory store, and
//! misbehaves on purpose, per a chosen [`Misbehaviour`], on every command whose first
//! argument starts with [`TRIGGER`] (e.g. `GET hostile:7`).
//!
//! So one server can sit in a ring beside real `redis-server`s: the test routes a trigger key
//! to it, watches how the client copes, then checks that ordinary keys on it work again
//! (on a new connection: [`HostileServer::accepted`] counts them) and that the other shards
//! never noticed.
//!
//! Each connection has its own thread, which reads with a short timeout, so that writes can
//! be scheduled (a trickle) while reads continue, and so that dropping the server stops
//! everything promptly: [`Drop`] closes every socket and joins every thread.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use redis_ring_core::resp::{decode, encode_value_as, Limits, Protocol, Status, Value};

pub mod scenarios;

/// Commands whose first argument starts with this trigger the misbehaviour.
pub const TRIGGER: &[u8] = b"hostile";

/// The push frame of the floods (50 bytes).
const PUSH: &[u8] = b">3\r\n$7\r\nmessage\r\n$5\r\nflood\r\n$16\r\n0123456789abcdef\r\n";

/// What `GET` of a trigger key that was never set answers (when the reply comes at all).
pub const TRIGGER_VALUE: &[u8] = b"0123456789abcdef";

/// How the server misbehaves when a trigger command arrives on a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Answers honestly: a control.
    None,
    /// Bytes that are not RESP, instead of the reply.
    Garbage,
    /// A bulk header of 4 GiB (`$4294967296`), then silence on this connection.
    HugeBulkHeader,
    /// A bulk header of `len` bytes, then one payload byte every `every`, for ever.
    BulkTrickle {
        /// The announced bulk length.
        len: u64,
        /// Time between two payload bytes.
        every: Duration,
    },
    /// A bulk header of `len` bytes, then the whole payload as fast as the socket takes it:
    /// an honest, very large reply.
    BulkFlood {
        /// The bulk length.
        len: usize,
    },
    /// `*2147483647`, then silence.
    HugeArray,
    /// `depth` nested `*1` headers (`*1\r\n*1\r\n...`), then silence.
    DeepNesting {
        /// How many headers.
        depth: usize,
    },
    /// The honest reply, one byte every `every` (later replies queue behind it).
    Trickle {
        /// Time between two bytes.
        every: Duration,
    },
    /// Half of the honest reply, then the connection is closed.
    CloseMidFrame,
    /// No reply, to this or any later command of this connection (which stays open and
    /// keeps reading).
    Silent,
    /// The honest reply, then, a little later, replies to commands that were never sent.
    Unsolicited,
    /// `count` RESP3 push frames, then the honest reply.
    PushFlood {
        /// How many push frames.
        count: usize,
    },
    /// RESP3 push frames as fast as the socket takes them, for ever (until the client
    /// closes the connection); no reply.
    EndlessPushFlood,
    /// The honest reply, then the connection is closed (a shard killed after each command).
    CloseAfterReply,
}

/// A handle on a running hostile server; dropping it stops the server.
#[derive(Debug)]
pub struct HostileServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    mode: Mutex<Misbehaviour>,
    stop: AtomicBool,
    accepted: AtomicUsize,
    open: AtomicUsize,
    triggered: AtomicUsize,
    served: AtomicUsize,
    /// Every connection's thread (they notice `stop` within 10 ms).
    conns: Mutex<Vec<JoinHandle<()>>>,
    store: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

impl HostileServer {
    /// Starts a server on a free loopback port, misbehaving as `mode`.
    pub fn start(mode: Misbehaviour) -> io::Result<HostileServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            triggered: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            conns: Mutex::new(Vec::new()),
            store: Mutex::new(HashMap::new()),
        });
        let s = shared.clone();
        let acceptor = thread::Builder::new()
            .name("hostile-accept".into())
            .spawn(move || accept_loop(&listener, &s))?;
        Ok(HostileServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The socket address.
    pub fn socket_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes the misbehaviour for the trigger commands that arrive from now on.
    pub fn set_mode(&self, mode: Misbehaviour) {
        *lock(&self.shared.mode) = mode;
    }

    /// Connections accepted since the start.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections currently open (the client has not closed them yet).
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Trigger commands received so far.
    pub fn triggered(&self) -> usize {
        self.shared.triggered.load(Ordering::SeqCst)
    }

    /// Ordinary commands (not handshake, not `PING`, not triggers) answered so far.
    pub fn served(&self) -> usize {
        self.shared.served.load(Ordering::SeqCst)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Unblock `accept`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
        for t in std::mem::take(&mut *lock(&self.shared.conns)) {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        shared.open.fetch_add(1, Ordering::SeqCst);
        let s = shared.clone();
        let spawned = thread::Builder::new()
            .name("hostile-conn".into())
            .spawn(move || {
                let _ = Connection::new(stream, &s).run();
                s.open.fetch_sub(1, Ordering::SeqCst);
            });
        match spawned {
            Ok(t) => {
                let mut conns = lock(&shared.conns);
                // Join the threads that are done, so 1000 reconnects keep nothing behind.
                let (done, live): (Vec<_>, Vec<_>) =
                    conns.drain(..).partition(JoinHandle::is_finished);
                *conns = live;
                conns.push(t);
                drop(conns);
                for t in done {
                    let _ = t.join();
                }
            }
            Err(_) => {
                shared.open.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// Writes scheduled on one connection.
enum Out {
    /// Bytes to write at once (after what is before them).
    Now(Vec<u8>),
    /// One byte at a time, one every `every`, starting at `next`.
    Trickle {
        bytes: Vec<u8>,
        pos: usize,
        every: Duration,
        next: Instant,
    },
    /// One byte every `every`, for ever.
    Endless { every: Duration, next: Instant },
    /// This many bytes of `x`, written in chunks as fast as the socket takes them.
    Fill(usize),
    /// Push frames, 64 KiB at a time, for ever.
    Pushes,
    /// Bytes to write once `at` has come.
    At(Instant, Vec<u8>),
    /// Close the connection.
    Close,
}

struct Connection<'a> {
    stream: TcpStream,
    shared: &'a Shared,
    resp3: bool,
    /// Once set, nothing more is written (silence), but reading goes on.
    mute: bool,
    inbox: Vec<u8>,
    outbox: std::collections::VecDeque<Out>,
}

impl<'a> Connection<'a> {
    fn new(stream: TcpStream, shared: &'a Shared) -> Self {
        Connection {
            stream,
            shared,
            resp3: false,
            mute: false,
            inbox: Vec::new(),
            outbox: std::collections::VecDeque::new(),
        }
    }

    fn run(&mut self) -> io::Result<()> {
        self.stream
            .set_read_timeout(Some(Duration::from_millis(10)))?;
        // A client that neither reads nor closes cannot block this thread (and `Drop`) for
        // long.
        self.stream
            .set_write_timeout(Some(Duration::from_secs(2)))?;
        self.stream.set_nodelay(true)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if self.shared.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            if !self.flush()? {
                return Ok(()); // closed on purpose
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    self.inbox.extend_from_slice(&buf[..n]);
                    self.handle_commands();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes what is due; `false` when the connection must close.
    fn flush(&mut self) -> io::Result<bool> {
        let now = Instant::now();
        while let Some(out) = self.outbox.front_mut() {
            match out {
                Out::Now(bytes) => {
                    self.stream.write_all(bytes)?;
                    self.outbox.pop_front();
                }
                Out::Fill(left) => {
                    // As fast as the client reads; a client that gives up closes the
                    // socket, which fails the write.
                    let chunk = [b'x'; 64 * 1024];
                    while *left > 0 {
                        let n = (*left).min(chunk.len());
                        self.stream.write_all(&chunk[..n])?;
                        *left -= n;
                    }
                    self.outbox.pop_front();
                }
                Out::Pushes => {
                    // As fast as the client reads, back to reading (and to the stop flag)
                    // every 100 ms.
                    let chunk = PUSH.repeat(64 * 1024 / PUSH.len());
                    let until = now + Duration::from_millis(100);
                    while Instant::now() < until {
                        self.stream.write_all(&chunk)?;
                    }
                    break;
                }
                Out::At(at, bytes) => {
                    if *at > now {
                        break;
                    }
                    self.stream.write_all(bytes)?;
                    self.outbox.pop_front();
                }
                Out::Trickle {
                    bytes,
                    pos,
                    every,
                    next,
                } => {
                    if *next > now {
                        break;
                    }
                    self.stream.write_all(&bytes[*pos..*pos + 1])?;
                    *pos += 1;
                    *next = now + *every;
                    if *pos == bytes.len() {
                        self.outbox.pop_front();
                    } else {
                        break;
                    }
                }
                Out::Endless { every, next } => {
                    if *next <= now {
                        self.stream.write_all(b"x")?;
                        *next = now + *every;
                    }
                    break;
                }
                Out::Close => {
                    let _ = self.stream.shutdown(Shutdown::Both);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn handle_commands(&mut self) {
        loop {
            let (args, used) = match decode(&self.inbox, &Limits::default()) {
                Ok(Status::Complete((frame, used))) => {
                    let args: Vec<Vec<u8>> = frame
                        .as_aggregate()
                        .map(|agg| {
                            agg.iter()
                                .filter_map(|w| w.as_bulk().map(<[u8]>::to_vec))
                                .collect()
                        })
                        .unwrap_or_default();
                    (args, used)
                }
                Ok(Status::Partial) => return,
                Err(_) => {
                    // Not a client we know: stop talking to it.
                    self.inbox.clear();
                    self.mute = true;
                    return;
                }
            };
            self.inbox.drain(..used);
            if self.mute || args.is_empty() {
                continue;
            }
            let reply = self.execute(&args);
            let trigger = args.get(1).is_some_and(|a| a.starts_with(TRIGGER));
            if trigger {
                self.shared.triggered.fetch_add(1, Ordering::SeqCst);
                let mode = lock(&self.shared.mode).clone();
                self.misbehave(&mode, reply);
            } else {
                self.outbox.push_back(Out::Now(reply));
            }
        }
    }

    fn misbehave(&mut self, mode: &Misbehaviour, reply: Vec<u8>) {
        let now = Instant::now();
        match mode {
            Misbehaviour::None => self.outbox.push_back(Out::Now(reply)),
            Misbehaviour::Garbage => self
                .outbox
                .push_back(Out::Now(b"\x00\x01 this is not RESP \xff\r\n".to_vec())),
            Misbehaviour::HugeBulkHeader => {
                self.outbox.push_back(Out::Now(b"$4294967296\r\n".to_vec()));
                self.mute = true;
            }
            Misbehaviour::BulkTrickle { len, every } => {
                self.outbox
                    .push_back(Out::Now(format!("${len}\r\n").into_bytes()));
                self.outbox.push_back(Out::Endless {
                    every: *every,
                    next: now + *every,
                });
                self.mute = true;
            }
            Misbehaviour::BulkFlood { len } => {
                self.outbox
                    .push_back(Out::Now(format!("${len}\r\n").into_bytes()));
                self.outbox.push_back(Out::Fill(*len));
                self.outbox.push_back(Out::Now(b"\r\n".to_vec()));
            }
            Misbehaviour::HugeArray => {
                self.outbox.push_back(Out::Now(b"*2147483647\r\n".to_vec()));
                self.mute = true;
            }
            Misbehaviour::DeepNesting { depth } => {
                self.outbox.push_back(Out::Now(b"*1\r\n".repeat(*depth)));
                self.mute = true;
            }
            Misbehaviour::Trickle { every } => self.outbox.push_back(Out::Trickle {
                bytes: reply,
                pos: 0,
                every: *every,
                next: now,
            }),
            Misbehaviour::CloseMidFrame => {
                let half = reply.len() / 2;
                self.outbox
                    .push_back(Out::Now(reply[..half.max(1)].to_vec()));
                self.outbox.push_back(Out::Close);
                self.mute = true;
            }
            Misbehaviour::Silent => self.mute = true,
            Misbehaviour::EndlessPushFlood => {
                self.outbox.push_back(Out::Pushes);
                self.mute = true;
            }
            Misbehaviour::CloseAfterReply => {
                self.outbox.push_back(Out::Now(reply));
                self.outbox.push_back(Out::Close);
                self.mute = true;
            }
            Misbehaviour::Unsolicited => {
                self.outbox.push_back(Out::Now(reply));
                self.outbox.push_back(Out::At(
                    now + Duration::from_millis(30),
                    b"+OK\r\n:7\r\n$5\r\nstale\r\n".to_vec(),
                ));
            }
            Misbehaviour::PushFlood { count } => {
                let mut bytes = PUSH.repeat(*count);
                bytes.extend_from_slice(&reply);
                self.outbox.push_back(Out::Now(bytes));
            }
        }
    }

    /// The honest reply to `args`, encoded for this connection's protocol.
    fn execute(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
        let ok = Value::Okay;
        let value = match name.as_str() {
            "HELLO" => {
                let proto = args
                    .get(1)
                    .map_or(2, |v| i64::from(v.as_slice() == b"3") + 2);
                self.resp3 = proto == 3;
                Value::Map(vec![
                    (bulk(b"server"), bulk(b"redis")),
                    (bulk(b"version"), bulk(b"7.0.0")),
                    (bulk(b"proto"), Value::Int(proto)),
                    (bulk(b"mode"), bulk(b"standalone")),
                    (bulk(b"role"), bulk(b"master")),
                ])
            }
            "AUTH" | "SELECT" | "CLIENT" => ok,
            "PING" => Value::Simple(b"PONG".to_vec()),
            _ => {
                self.shared.served.fetch_add(1, Ordering::SeqCst);
                let mut store = lock(&self.shared.store);
                match (name.as_str(), args.get(1)) {
                    ("GET", Some(k)) => match store.get(k) {
                        Some(v) => bulk(v),
                        None if k.starts_with(TRIGGER) => bulk(TRIGGER_VALUE),
                        None => Value::Nil,
                    },
                    ("SET", Some(k)) => {
                        store.insert(k.clone(), args.get(2).cloned().unwrap_or_default());
                        ok
                    }
                    ("DEL", Some(k)) => Value::Int(i64::from(store.remove(k).is_some())),
                    ("ECHO", Some(v)) => bulk(v),
                    _ => Value::Error(format!("ERR unknown command '{name}'").into_bytes()),
                }
            }
        };
        let mut out = Vec::new();
        let proto = if self.resp3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        encode_value_as(&value, proto, &mut out);
        out
    }
}

fn bulk(b: &[u8]) -> Value {
    Value::Bulk(b.to_vec())
}

/// Resident memory of this process in KiB (`VmRSS` of `/proc/self/status`), if known.
pub fn vm_rss_kib() -> Option<u64> {
    proc_status_field("VmRSS:")
}

/// Peak resident memory of this process in KiB (`VmHWM`), since the start or since the
/// last [`reset_peak_rss`].
pub fn peak_rss_kib() -> Option<u64> {
    proc_status_field("VmHWM:")
}

/// Resets the peak of [`peak_rss_kib`] to the current resident memory (Linux ≥ 4.0:
/// `echo 5 > /proc/self/clear_refs`); `false` where that is not allowed.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Threads of this process (`Threads` of `/proc/self/status`), if known.
pub fn threads() -> Option<u64> {
    proc_status_field("Threads:")
}

/// Open file descriptors of this process (entries of `/proc/self/fd`), if known.
pub fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

fn proc_status_field(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}
