//! [`Reactor`]: the one I/O thread. It owns the [`RingCore`] and every socket, and only moves
//! bytes and time between them (the core's call protocol, documented on `RingCore`).
//!
//! One turn of the loop:
//! 1. take every queued [`Job`] and hand it to the core (submits, queries, `set_shards`);
//! 2. settle: drain [`RingCore::poll_output`] after each call, acting on each output at once
//!    (open/close sockets, wake callers, publish events) except `Transmit`, which only marks
//!    the connection dirty; then write each dirty connection's whole send buffer in one
//!    syscall — so everything submitted in this turn leaves in one write per shard;
//! 3. fire the core's timer when due;
//! 4. block in [`Poller::wait`] until a socket is ready, a caller queues a job (notify), or
//!    the core's next deadline;
//! 5. feed what the sockets did (connected, bytes read, writable again, closed).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use polling::{Events, PollMode};
use redis_ring_core::command::Cmd;
use redis_ring_core::error::{CmdName, NetError};
use redis_ring_core::ring::{ConnId, Event, Input, Output, RingCore, SubId};
use redis_ring_core::time::Instant;
use redis_ring_core::Error;

use crate::clock::Clock;
use crate::net::{net_error, start_connect, ConnectStatus, Registered};
use crate::pubsub::{Message, SubItem, SubSink};
use crate::queue::{Job, Shared};
use crate::stats::IoCounters;
use crate::waiter::{Batch, Target};

/// Bytes read per `read` call.
const READ_BUF: usize = 64 * 1024;
/// Reads per readiness event before giving other sockets a turn (level-triggered polling
/// reports the rest again).
const READS_PER_EVENT: usize = 8;

/// Hashes request ids (already unique integers) as themselves.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // Spread the sequential ids over the table's high bits too.
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// What the driver knows about one connection the core asked for.
#[derive(Debug)]
struct Conn {
    id: ConnId,
    key: usize,
    state: ConnState,
    /// A write left bytes behind: wait for writability before writing again.
    blocked: bool,
    /// Addresses still to try, last first, when the host name resolved to several (as
    /// `TcpStream::connect` does: `localhost` may be `::1` then `127.0.0.1`).
    fallbacks: Vec<SocketAddr>,
}

#[derive(Debug)]
enum ConnState {
    /// A resolver thread is looking up the host name.
    Resolving,
    /// Non-blocking connect in progress.
    Connecting(Registered),
    /// Established.
    Open(Registered),
}

/// An input found while draining outputs, fed to the core once the drain is over.
#[derive(Debug)]
enum Deferred {
    Connected(ConnId),
    Closed(ConnId, NetError),
}

/// The I/O thread's state. Create with [`Reactor::new`], run with [`Reactor::run`].
pub(crate) struct Reactor {
    core: RingCore,
    clock: Clock,
    shared: Arc<Shared>,
    mode: PollMode,
    /// By [`ConnId::index`].
    conns: Vec<Option<Conn>>,
    /// Poller key → connection. Keys are never reused, so a stale event cannot reach a
    /// newer connection that took the same index.
    keys: HashMap<usize, ConnId>,
    next_key: usize,
    /// Submitted requests: where each result goes.
    waiting: IdMap<(Arc<Batch>, usize, CmdName)>,
    /// Connections with bytes to write, written at the end of the turn.
    dirty: Vec<ConnId>,
    deferred: Vec<Deferred>,
    /// The core's next deadline.
    deadline: Instant,
    sinks: Vec<SyncSender<Event>>,
    /// Live subscriptions, by `SubId`.
    subs: IdMap<SubSink>,
    /// Subscriptions whose `Subscription` is gone (ended after the drain).
    orphans: Vec<SubId>,
    resolvers: Vec<JoinHandle<()>>,
    read_buf: Box<[u8]>,
    jobs: Vec<Job>,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("conns", &self.keys.len())
            .field("waiting", &self.waiting.len())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Reactor {
    pub(crate) fn new(core: RingCore, clock: Clock, shared: Arc<Shared>) -> Reactor {
        let mode = if shared.poller.supports_level() {
            PollMode::Level
        } else {
            PollMode::Oneshot
        };
        Reactor {
            core,
            clock,
            shared,
            mode,
            conns: Vec::new(),
            keys: HashMap::new(),
            next_key: 0,
            waiting: IdMap::default(),
            dirty: Vec::new(),
            deferred: Vec::new(),
            deadline: Instant::ZERO,
            sinks: Vec::new(),
            subs: IdMap::default(),
            orphans: Vec::new(),
            resolvers: Vec::new(),
            read_buf: vec![0; READ_BUF].into_boxed_slice(),
            jobs: Vec::new(),
        }
    }

    /// Runs until a [`Job::Shutdown`]. Everything pending when it returns (or unwinds) has
    /// been failed with [`Error::Closed`] (see `Drop`).
    pub(crate) fn run(mut self) {
        let mut events = Events::new();
        let now = self.clock.now();
        self.settle(now);
        loop {
            // 1. Jobs.
            let mut jobs = std::mem::take(&mut self.jobs);
            self.shared.take(&mut jobs);
            let now = self.clock.now();
            let mut shutdown = false;
            for job in jobs.drain(..) {
                shutdown |= self.job(job, now);
            }
            self.jobs = jobs;
            if shutdown {
                self.core.close(now);
                self.settle(now);
                return;
            }
            // 2. Settle, 3. timers.
            self.settle(now);
            self.fire_timers();
            // 4. Sleep — or only look at the sockets when more jobs are queued already, so
            //    that replies are read even while callers keep the queue busy.
            let timeout = if self.shared.sleep_if_idle() {
                Clock::until(self.clock.now(), self.deadline)
            } else {
                Some(std::time::Duration::ZERO)
            };
            events.clear();
            let waited = self.shared.poller.wait(&mut events, timeout);
            self.shared.awake();
            IoCounters::add(&self.shared.io.wakeups, 1);
            if let Err(e) = waited {
                // Only EINTR-like failures are expected (polling retries those itself);
                // anything else would spin, so back off a little.
                if e.kind() != io::ErrorKind::Interrupted {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                continue;
            }
            // 5. Sockets.
            let now = self.clock.now();
            for ev in events.iter() {
                self.socket_event(ev, now);
            }
            self.settle(now);
            self.fire_timers();
        }
    }

    /// Handles one job; returns whether it asks to shut down.
    fn job(&mut self, job: Job, now: Instant) -> bool {
        match job {
            Job::Submit(mut sub) => {
                IoCounters::add(&self.shared.io.commands, sub.len() as u64);
                while let Some((slot, cmd)) = sub.take() {
                    self.submit(cmd, &sub.target, sub.timeout, &sub.batch, slot, now);
                    sub.handed();
                    self.pump();
                }
            }
            Job::Run(f) => {
                f(&mut self.core, now);
                self.pump();
            }
            Job::Events(sink) => self.sinks.push(sink),
            Job::Subscribe {
                kind,
                channels,
                sink,
                reply,
            } => {
                let result = self.core.subscribe(kind, channels, now);
                if let Ok(id) = result {
                    self.subs.insert(id.as_u64(), sink);
                }
                let _ = reply.send(result);
                self.pump();
            }
            Job::EndSubscription(id) => {
                self.subs.remove(&id.as_u64());
                self.core.end_subscription(id, now);
                self.pump();
            }
            Job::Resolved { conn, addrs } => self.resolved(conn, addrs, now),
            Job::Shutdown => return true,
        }
        false
    }

    fn submit(
        &mut self,
        cmd: Cmd,
        target: &Target,
        timeout: Option<std::time::Duration>,
        batch: &Arc<Batch>,
        index: usize,
        now: Instant,
    ) {
        let name = CmdName::new(cmd.name());
        let core = &mut self.core;
        let explicit = timeout.is_some();
        let timeout = timeout.unwrap_or(core.config().command_timeout);
        let result = match target {
            Target::PerKey(n) => {
                // One id per key, each answering its own slot.
                match core.submit_per_key_with_timeout(cmd, timeout, now) {
                    Ok(ids) => {
                        for (slot, id) in ids.into_iter().enumerate() {
                            self.waiting
                                .insert(id.as_u64(), (batch.clone(), slot, name));
                        }
                    }
                    Err(e) => (0..*n).for_each(|slot| batch.complete(slot, Err(e.clone()))),
                }
                return;
            }
            // The default timeout adds to a blocking command's block time; an explicit
            // one caps the whole call (the core tells them apart).
            Target::Routed if !explicit => core.submit(cmd, now),
            Target::Routed => core.submit_with_timeout(cmd, timeout, now),
            Target::Shard(shard) => core.submit_to_shard_with_timeout(shard, cmd, timeout, now),
            // A transaction's commands take the configured timeout (the core has no other).
            Target::Tx(tx) => core.submit_in(*tx, cmd, now),
        };
        match result {
            Ok(id) => {
                self.waiting
                    .insert(id.as_u64(), (batch.clone(), index, name));
            }
            Err(e) => batch.complete(index, Err(e)),
        }
    }

    /// Drains the core's outputs, acting on each; `Transmit` only marks the connection
    /// dirty (written by [`Reactor::flush`]).
    fn pump(&mut self) {
        loop {
            match self.core.poll_output() {
                Output::Connect { conn, addr } => self.open(conn, &addr),
                Output::Transmit { conn } => self.mark_dirty(conn),
                Output::Close { conn } => self.forget(conn),
                Output::Reply { id, result } => {
                    if let Some((batch, index, _)) = self.waiting.remove(&id.as_u64()) {
                        batch.complete(index, result);
                    }
                }
                Output::Event(event) => self.publish(&event),
                Output::Message {
                    sub,
                    channel,
                    pattern,
                    payload,
                } => {
                    let message = Message {
                        channel,
                        pattern,
                        payload,
                    };
                    self.forward_to_subscriber(sub, SubItem::Message(message));
                }
                Output::Subscribed { sub } => self.forward_to_subscriber(sub, SubItem::Subscribed),
                Output::Timeout(at) => {
                    self.deadline = at;
                    return;
                }
                // `Output` is non-exhaustive: an output this driver does not know yet needs
                // no action from it.
                _ => {}
            }
        }
    }

    /// Writes `conn` at the end of this turn (anything queued for it, if it can be written:
    /// also marked on `Connected`, in case requests were queued while connecting).
    fn mark_dirty(&mut self, conn: ConnId) {
        if !self.dirty.contains(&conn) {
            self.dirty.push(conn);
        }
    }

    /// Pumps, writes dirty connections and feeds deferred inputs until nothing is left.
    fn settle(&mut self, now: Instant) {
        loop {
            self.pump();
            for sub in std::mem::take(&mut self.orphans) {
                self.core.end_subscription(sub, now);
                self.pump();
            }
            let mut fed = self.flush(now);
            for d in std::mem::take(&mut self.deferred) {
                fed = true;
                match d {
                    Deferred::Connected(conn) => {
                        self.core.handle_input(Input::Connected { conn, now });
                        self.mark_dirty(conn);
                    }
                    Deferred::Closed(conn, error) => {
                        self.core.handle_input(Input::Closed { conn, error, now });
                    }
                }
                self.pump();
            }
            if !fed {
                return;
            }
        }
    }

    /// Feeds the core's timer while it is due.
    fn fire_timers(&mut self) {
        loop {
            let now = self.clock.now();
            if now < self.deadline {
                return;
            }
            self.core.handle_input(Input::Timeout(now));
            self.settle(now);
            // An early timeout is a no-op; the deadline moves whenever something was due.
            if self.deadline <= now {
                return;
            }
        }
    }

    /// Writes the send buffer of every dirty connection; returns whether any input was fed.
    fn flush(&mut self, now: Instant) -> bool {
        let mut fed = false;
        let dirty = std::mem::take(&mut self.dirty);
        for &conn in &dirty {
            let Some(c) = conn_in(&mut self.conns, conn) else {
                continue;
            };
            if c.blocked {
                continue;
            }
            let ConnState::Open(reg) = &mut c.state else {
                // Not connected yet: the core transmits again after `Connected`.
                continue;
            };
            let buf = self.core.send_buf(conn);
            if buf.is_empty() {
                continue;
            }
            let len = buf.len();
            let written = loop {
                match reg.write(buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            IoCounters::add(&self.shared.io.writes, 1);
            match written {
                Ok(n) => {
                    IoCounters::add(&self.shared.io.bytes_written, n as u64);
                    if n < len {
                        c.blocked = true;
                        let _ = reg.set_interest(true, true);
                    }
                    fed = true;
                    self.core.handle_input(Input::Sent { conn, n, now });
                    self.pump();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    c.blocked = true;
                    let _ = reg.set_interest(true, true);
                }
                Err(e) => {
                    fed = true;
                    self.lost(conn, net_error(&e), now);
                }
            }
        }
        // Keep the allocation (pump may have marked new ones meanwhile).
        let mut dirty = dirty;
        dirty.clear();
        dirty.append(&mut self.dirty);
        self.dirty = dirty;
        fed
    }

    /// Opens the connection the core asked for.
    fn open(&mut self, conn: ConnId, addr: &str) {
        self.forget(conn);
        let key = self.next_key;
        self.next_key = self.next_key.wrapping_add(1) % (usize::MAX - 1);
        let index = conn.index();
        if self.conns.len() <= index {
            self.conns.resize_with(index + 1, || None);
        }
        self.keys.insert(key, conn);
        self.conns[index] = Some(Conn {
            id: conn,
            key,
            state: ConnState::Resolving,
            blocked: false,
            fallbacks: Vec::new(),
        });
        match addr.parse::<SocketAddr>() {
            Ok(sa) => self.connect(conn, vec![sa]),
            Err(_) => self.resolve(conn, addr),
        }
    }

    /// Looks `addr` up on a short-lived thread (name resolution blocks).
    fn resolve(&mut self, conn: ConnId, addr: &str) {
        self.resolvers.retain(|h| !h.is_finished());
        let shared = self.shared.clone();
        let addr = addr.to_owned();
        let spawned = std::thread::Builder::new()
            .name("redis-ring-resolve".into())
            .spawn(move || {
                let result = addr.to_socket_addrs().map(Iterator::collect);
                let _ = shared.push(Job::Resolved {
                    conn,
                    addrs: result,
                });
            });
        match spawned {
            Ok(handle) => self.resolvers.push(handle),
            Err(_) => {
                self.forget(conn);
                self.deferred.push(Deferred::Closed(conn, NetError::Other));
            }
        }
    }

    fn resolved(&mut self, conn: ConnId, addrs: io::Result<Vec<SocketAddr>>, now: Instant) {
        match self.conn_mut(conn) {
            Some(Conn {
                state: ConnState::Resolving,
                ..
            }) => {}
            // Closed by the core meanwhile.
            _ => return,
        }
        match addrs {
            Ok(addrs) if !addrs.is_empty() => self.connect(conn, addrs),
            _ => {
                self.forget(conn);
                self.core.handle_input(Input::Closed {
                    conn,
                    error: NetError::Resolve,
                    now,
                });
            }
        }
        self.pump();
    }

    /// Starts the non-blocking connect of a `Resolving` connection to the first of `addrs`
    /// (the others are tried in turn if it fails).
    fn connect(&mut self, conn: ConnId, mut addrs: Vec<SocketAddr>) {
        addrs.reverse();
        if let Some(c) = self.conn_mut(conn) {
            c.fallbacks = addrs;
            self.connect_next(conn);
        }
    }

    /// Connects to the next fallback address of `conn`; reports the failure to the core
    /// (deferred) when none is left.
    fn connect_next(&mut self, conn: ConnId) {
        let poller = self.shared.poller.clone();
        let mode = self.mode;
        let Some(c) = self.conn_mut(conn) else {
            return;
        };
        let key = c.key;
        let mut error = NetError::Resolve;
        while let Some(sa) = c.fallbacks.pop() {
            // Drop (and deregister) a previous attempt before registering the next.
            c.state = ConnState::Resolving;
            let registered = start_connect(sa).and_then(|(stream, connected)| {
                let reg =
                    Registered::new(stream, poller.clone(), key, mode, connected, !connected)?;
                Ok((reg, connected))
            });
            match registered {
                Ok((reg, true)) => {
                    c.state = ConnState::Open(reg);
                    c.fallbacks.clear();
                    self.deferred.push(Deferred::Connected(conn));
                    return;
                }
                Ok((reg, false)) => {
                    c.state = ConnState::Connecting(reg);
                    return;
                }
                Err(e) => error = net_error(&e),
            }
        }
        self.forget(conn);
        self.deferred.push(Deferred::Closed(conn, error));
    }

    /// Handles one readiness event.
    fn socket_event(&mut self, ev: polling::Event, now: Instant) {
        let Some(&conn) = self.keys.get(&ev.key) else {
            return;
        };
        let Some(c) = conn_in(&mut self.conns, conn) else {
            return;
        };
        match &mut c.state {
            ConnState::Resolving => {}
            ConnState::Connecting(reg) => match reg.connect_status() {
                ConnectStatus::Connected => {
                    let _ = reg.set_interest(true, false);
                    if let ConnState::Connecting(reg) =
                        std::mem::replace(&mut c.state, ConnState::Resolving)
                    {
                        c.state = ConnState::Open(reg);
                    }
                    self.core.handle_input(Input::Connected { conn, now });
                    self.mark_dirty(conn);
                    self.pump();
                }
                ConnectStatus::Pending => {
                    let _ = reg.rearm();
                }
                ConnectStatus::Failed(e) if c.fallbacks.is_empty() => {
                    self.lost(conn, net_error(&e), now);
                }
                ConnectStatus::Failed(_) => {
                    self.connect_next(conn);
                    self.settle(now);
                }
            },
            ConnState::Open(reg) => {
                if ev.writable && c.blocked {
                    c.blocked = false;
                    let _ = reg.set_interest(true, false);
                    if !self.dirty.contains(&conn) {
                        self.dirty.push(conn);
                    }
                }
                if ev.readable {
                    self.read(conn, now);
                } else {
                    let _ = reg.rearm();
                }
            }
        }
    }

    /// Reads what an open connection has and feeds it to the core.
    fn read(&mut self, conn: ConnId, now: Instant) {
        for _ in 0..READS_PER_EVENT {
            let Some(Conn {
                state: ConnState::Open(reg),
                ..
            }) = conn_in(&mut self.conns, conn)
            else {
                return;
            };
            match reg.read(&mut self.read_buf) {
                Ok(0) => return self.lost(conn, NetError::Eof, now),
                Ok(n) => {
                    IoCounters::add(&self.shared.io.reads, 1);
                    IoCounters::add(&self.shared.io.bytes_read, n as u64);
                    self.core.handle_input(Input::Received {
                        conn,
                        data: &self.read_buf[..n],
                        now,
                    });
                    self.pump();
                    if n < self.read_buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return self.lost(conn, net_error(&e), now),
            }
        }
        if let Some(Conn {
            state: ConnState::Open(reg),
            ..
        }) = self.conn_mut(conn)
        {
            let _ = reg.rearm();
        }
    }

    /// The socket failed: drop it and tell the core.
    fn lost(&mut self, conn: ConnId, error: NetError, now: Instant) {
        self.forget(conn);
        self.core.handle_input(Input::Closed { conn, error, now });
        self.pump();
    }

    /// Drops the socket of `conn`, if any (deregistering it first).
    fn forget(&mut self, conn: ConnId) {
        if let Some(slot) = self.conns.get_mut(conn.index()) {
            if slot.as_ref().is_some_and(|c| c.id == conn) {
                if let Some(c) = slot.take() {
                    self.keys.remove(&c.key);
                }
            }
        }
    }

    fn conn_mut(&mut self, conn: ConnId) -> Option<&mut Conn> {
        conn_in(&mut self.conns, conn)
    }

    /// Forwards an output of subscription `sub` to its `Subscription`; one that is gone is
    /// ended once the drain is over.
    fn forward_to_subscriber(&mut self, sub: SubId, item: SubItem) {
        let alive = self.subs.get(&sub.as_u64()).is_some_and(|s| s.send(item));
        if !alive && self.subs.remove(&sub.as_u64()).is_some() {
            self.orphans.push(sub);
        }
    }

    /// Sends `event` to every live subscriber; a full channel drops it (a subscriber that
    /// stops reading must not grow memory), a disconnected one is forgotten.
    fn publish(&mut self, event: &Event) {
        self.sinks.retain(|sink| {
            !matches!(
                sink.try_send(event.clone()),
                Err(TrySendError::Disconnected(_))
            )
        });
    }
}

/// The connection `conn` in `conns` (by index, same generation).
fn conn_in(conns: &mut [Option<Conn>], conn: ConnId) -> Option<&mut Conn> {
    conns
        .get_mut(conn.index())
        .and_then(Option::as_mut)
        .filter(|c| c.id == conn)
}

impl Drop for Reactor {
    /// Runs on shutdown and on a panic alike: no caller is left waiting, no socket open, no
    /// resolver thread running.
    fn drop(&mut self) {
        // Dropping queued submissions fails their commands (see `Submission`); closures
        // dropped unrun make their callers see a closed ring.
        drop(self.shared.close());
        // Normally empty: `RingCore::close` replied to everything.
        for (_, (batch, index, command)) in self.waiting.drain() {
            batch.complete(index, Err(Error::Closed { command }));
        }
        self.conns.clear();
        self.keys.clear();
        for handle in self.resolvers.drain(..) {
            let _ = handle.join();
        }
    }
}
