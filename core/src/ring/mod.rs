//! [`RingCore`]: the whole ring client as one sans-io state machine.
//!
//! See the type's documentation for the call protocol. Submodules, one concern each:
//! `api` (what crosses the driver boundary), `shard` (one shard's table entry: liveness,
//! probes, reconnect backoff), `request` (the request slab), `route` (which shard a command
//! goes to), `backoff` (delays and their jitter).

mod api;
mod backoff;
mod conns;
mod request;
mod route;
mod shard;

pub use api::{ConnId, Event, Input, Output, RequestId};

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use backoff::{reconnect_backoff, retry_backoff, Jitter};
use conns::{ConnSlot, ConnTable};
use request::{Place, Request, Requests};
use shard::{Probe, Shard, ShardSlot, ShardTable};

use crate::command::Cmd;
use crate::config::Config;
use crate::conn::{Conn, Failure, Received, State};
use crate::error::{CmdName, Error, NetError};
use crate::liveness::{Liveness, Transition};
use crate::resp::Value;
use crate::time::{Duration, Instant};

/// What a connection's FIFO entry stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tag {
    /// A user request.
    Req(RequestId),
    /// A heartbeat of shard `.0`, number `.1`.
    Probe(ShardSlot, u32),
}

/// Why the ring drops a connection.
#[derive(Clone, Debug)]
enum Cause {
    /// The driver reported the socket closed or failed.
    Net(NetError),
    /// Connect + handshake took longer than `connect_timeout`.
    ConnectTimeout,
    /// The connection itself failed (handshake refused, bad RESP, unexpected reply).
    Conn(Failure),
    /// The shard was marked down.
    ShardDown,
    /// The shard was removed by `set_shards`.
    Removed,
    /// `RingCore::close`.
    Closed,
}

/// Work found while the connection table is borrowed, done right after.
#[derive(Debug)]
enum Deferred {
    Retry(RequestId, Error),
    Probe(ShardSlot, u32, Result<(), Error>),
}

/// The ring client as a state machine: shards, their connections and health, routing,
/// retries and timeouts, with no I/O and no clock.
///
/// # Call protocol
///
/// A driver owns one `RingCore` and the sockets it asks for. It only moves bytes and time:
///
/// 1. Create it with [`RingCore::new`] and give it shards with [`RingCore::set_shards`].
/// 2. Submit commands with [`RingCore::submit`]; each accepted one gets exactly one
///    [`Output::Reply`] with the same [`RequestId`] (unless [cancelled](RingCore::cancel)).
///    A command that cannot be placed at all (no shards, every shard down, a command the
///    shared connections cannot carry) is refused at once with `Err`.
/// 3. **After every call that changes the state** (`set_shards`, `submit`, `cancel`,
///    `handle_input`, `close`), drain [`RingCore::poll_output`] until it returns
///    [`Output::Timeout`]:
///    * [`Output::Connect`] `{ conn, addr }`: open a TCP connection; report
///      [`Input::Connected`] or [`Input::Closed`] (the core enforces the connect timeout).
///    * [`Output::Transmit`] `{ conn }`: write [`RingCore::send_buf`]`(conn)` (everything
///      queued for that connection, ideally in one syscall) and report [`Input::Sent`]
///      with the number of bytes written. Every request queued since the last write is in
///      that buffer: concurrent callers share one connection per shard (pipelining).
///    * [`Output::Close`] `{ conn }`: close the socket; nothing more is expected about it.
///    * [`Output::Reply`] `{ id, result }`: hand the result to whoever submitted `id`.
///    * [`Output::Event`]: shard added / removed / up / down; log it or expose it.
///    * [`Output::Timeout`]`(at)`: nothing more to do now; call
///      `handle_input(Input::Timeout(now))` at `at` (or earlier, with any other input).
/// 4. Feed what the sockets do through [`RingCore::handle_input`]: bytes read
///    ([`Input::Received`]), bytes written ([`Input::Sent`]), connections established or
///    lost ([`Input::Connected`], [`Input::Closed`]), and time ([`Input::Timeout`]).
///
/// Rules: every input carries `now`, and time never goes backwards (an earlier `now` is
/// taken as the latest seen). An early or repeated [`Input::Timeout`] is a no-op. Inputs
/// about connections the core has closed are ignored. Nothing a server sends can make the
/// core panic: bad bytes fail the requests of that connection with
/// [`Error::Protocol`], the connection is dropped and reopened. The core never blocks,
/// allocates nothing per request in steady state, and does bounded work per call.
///
/// # Behaviour
///
/// * **Routing**: a command's key (hash tags applied) is placed over the shards that are up,
///   in configured order; keyless commands (`PING`, `TIME`...) go to any live shard, round
///   robin. With no live shard, `submit` fails at once with [`Error::AllShardsDown`] naming
///   each shard and its last error.
/// * **Liveness** (go-redis semantics): a `PING` per shard every `heartbeat_interval`; a shard
///   is down after `fail_threshold` consecutive failed heartbeats and up again after
///   `recover_threshold` successful ones; placement is rebuilt on every change and an
///   [`Event`] emitted. Improvement over go-redis: a refused/reset/timed-out real command
///   triggers an immediate probe, and a failing shard is probed every `probe_interval`, so a
///   dead shard is down in about `fail_threshold` round trips; commands for other shards
///   never wait for it.
/// * **Retries**: a request that fails with a [retryable](Error::is_retryable) error is
///   retried up to `max_retries` times with jittered exponential backoff, re-routed over
///   the live shards each time, within its deadline (`command_timeout` or the per-request
///   override): when the deadline passes it fails with [`Error::Timeout`].
///
/// # Example: a driver loop
///
/// The network here is a stand-in that answers like a Redis server; a real driver opens a
/// socket on `Connect`, writes on `Transmit`, and feeds what it reads.
///
/// ```
/// use redis_ring_core::command::Cmd;
/// use redis_ring_core::config::Config;
/// use redis_ring_core::resp::Value;
/// use redis_ring_core::ring::{Input, Output, RingCore};
/// use redis_ring_core::time::Instant;
/// # use redis_ring_core::resp::{decode, Limits, Status};
/// # /// Answers every command in `bytes` as a Redis server would.
/// # fn server(mut bytes: &[u8]) -> Vec<u8> {
/// #     let mut out = Vec::new();
/// #     while let Ok(Status::Complete((cmd, used))) = decode(bytes, &Limits::default()) {
/// #         let name = cmd.as_aggregate().unwrap().iter().next().unwrap().as_bulk().unwrap();
/// #         out.extend_from_slice(match name {
/// #             b"HELLO" => b"%1\r\n+proto\r\n:3\r\n",
/// #             b"PING" => b"+PONG\r\n",
/// #             _ => b"+OK\r\n",
/// #         });
/// #         bytes = &bytes[used..];
/// #     }
/// #     out
/// # }
///
/// let now = Instant::ZERO; // a real driver reads its clock for every input
/// let mut ring = RingCore::new(Config::default(), now);
/// ring.set_shards([("shard1", "127.0.0.1:7000"), ("shard2", "127.0.0.1:7001")], now);
/// let id = ring.submit(Cmd::new("SET").arg("key").arg("value"), now)?;
/// let mut read = Vec::new(); // what the sockets received: (conn, bytes)
/// let result = 'run: loop {
///     // 1. Drain every output.
///     loop {
///         match ring.poll_output() {
///             Output::Connect { conn, addr: _ } => {
///                 // Open a TCP connection to `addr`; once it is up:
///                 ring.handle_input(Input::Connected { conn, now });
///             }
///             Output::Transmit { conn } => {
///                 let bytes = ring.send_buf(conn); // everything queued: one write
///                 read.push((conn, server(bytes)));
///                 let n = bytes.len(); // what the socket took
///                 ring.handle_input(Input::Sent { conn, n, now });
///             }
///             Output::Close { conn: _ } => { /* close the socket */ }
///             Output::Reply { id: done, result } if done == id => break 'run result,
///             Output::Reply { .. } => { /* wake that caller */ }
///             Output::Event(event) => println!("{event:?}"),
///             Output::Timeout(_at) => break, // 2. wait for a socket, or until `at`
///             _ => {}
///         }
///     }
///     // 3. Feed what happened: bytes read (or `Input::Timeout(now)` when `at` came).
///     for (conn, data) in read.drain(..) {
///         ring.handle_input(Input::Received { conn, data: &data, now });
///     }
/// };
/// assert_eq!(result?, Value::Okay);
/// # Ok::<(), redis_ring_core::error::Error>(())
/// ```
#[derive(Debug)]
pub struct RingCore {
    config: Config,
    now: Instant,
    jitter: Jitter,
    table: ShardTable,
    conns: ConnTable,
    reqs: Requests,
    /// Requests waiting for their retry backoff: (due, id). Stale entries are skipped.
    retries: Vec<(Instant, RequestId)>,
    out: VecDeque<Output>,
    /// Connections with bytes to announce with `Transmit`.
    tx: VecDeque<ConnId>,
    /// Conservative (never late) earliest timer: nothing is due before it.
    wake: Instant,
    /// Conservative earliest request deadline.
    req_wake: Instant,
    /// The heartbeat command, built once.
    ping: Cmd,
    deferred: Vec<Deferred>,
    scratch: Vec<Tag>,
    stats: Stats,
}

impl RingCore {
    /// A ring with no shards yet, configured by `config`, at time `now`.
    pub fn new(config: Config, now: Instant) -> RingCore {
        RingCore {
            jitter: Jitter::new(config.seed),
            config,
            now,
            table: ShardTable::default(),
            conns: ConnTable::default(),
            reqs: Requests::default(),
            retries: Vec::new(),
            out: VecDeque::new(),
            tx: VecDeque::new(),
            wake: Instant::MAX,
            req_wake: Instant::MAX,
            ping: Cmd::new("PING"),
            deferred: Vec::new(),
            scratch: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// The configuration the ring was created with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the set of shards with `shards`, `(name, address)` pairs in the order that
    /// defines placement (go-redis `Addrs`; names are what is hashed).
    ///
    /// A shard whose name and address are unchanged keeps its connection and health. A new
    /// name (or a known name at a new address) is added, up, and probed at once; a name that
    /// is gone (or re-addressed) is removed: its pending requests fail with
    /// [`Error::ShardRemoved`] and its connections are closed. Emits
    /// [`Event::ShardAdded`] / [`Event::ShardRemoved`] for each change. A name given twice
    /// keeps its first address.
    pub fn set_shards<I, N, A>(&mut self, shards: I, now: Instant)
    where
        I: IntoIterator<Item = (N, A)>,
        N: AsRef<str>,
        A: AsRef<str>,
    {
        self.advance(now);
        let mut wanted: Vec<(Arc<str>, Arc<str>)> = Vec::new();
        for (name, addr) in shards {
            let (name, addr) = (name.as_ref(), addr.as_ref());
            if !wanted.iter().any(|(n, _)| &**n == name) {
                wanted.push((name.into(), addr.into()));
            }
        }
        // Removals first (a re-addressed shard is removed, then added).
        let old: Vec<ShardSlot> = self.table.order.clone();
        for slot in old {
            let Some(sh) = self.table.get(slot) else {
                continue;
            };
            let keep = wanted.iter().any(|(n, a)| *n == sh.name && *a == sh.addr);
            if !keep {
                self.remove_shard(slot);
            }
        }
        let mut order = Vec::with_capacity(wanted.len());
        for (name, addr) in wanted {
            let slot = match self.table.find(&name) {
                Some(slot) => slot,
                None => {
                    let opts = self.config.conn_options_for(&name, &addr);
                    let live =
                        Liveness::new(self.config.fail_threshold, self.config.recover_threshold);
                    let shard = Shard::new(name.clone(), addr.clone(), opts, live, self.now);
                    self.out
                        .push_back(Output::Event(Event::ShardAdded { name, addr }));
                    self.table.insert(shard)
                }
            };
            order.push(slot);
        }
        self.table.order = order;
        self.table.rebuild(&self.config.placement);
        self.wake = self.now; // new shards are probed at once
        self.run_timers();
    }

    fn remove_shard(&mut self, slot: ShardSlot) {
        self.close_shard_conns(slot, &Cause::Removed);
        self.table.order.retain(|&s| s != slot);
        if let Some(sh) = self.table.remove(slot) {
            self.out.push_back(Output::Event(Event::ShardRemoved {
                name: sh.name,
                addr: sh.addr,
            }));
        }
    }

    /// Closes every connection of a shard (the core's decision), failing what is pending.
    fn close_shard_conns(&mut self, slot: ShardSlot, cause: &Cause) {
        for i in 0..self.conns.capacity() {
            if let Some(id) = self.conns.id_at(i) {
                if self.conns.get(id).is_some_and(|c| c.shard == slot) {
                    self.drop_conn(id, cause, false);
                }
            }
        }
    }

    /// Submits `cmd` with the configured `command_timeout`. See [`RingCore::submit_with_timeout`].
    pub fn submit(&mut self, cmd: Cmd, now: Instant) -> Result<RequestId, Error> {
        let timeout = self.config.command_timeout;
        self.submit_with_timeout(cmd, timeout, now)
    }

    /// Submits `cmd`, which must get its reply within `timeout` (retries included).
    ///
    /// The command is routed and encoded straight into its connection's send buffer; its
    /// result comes later as [`Output::Reply`] with the returned id. Refused at once with
    /// `Err` when it cannot be placed: [`Error::NoShards`], [`Error::AllShardsDown`],
    /// [`Error::CrossShard`], [`Error::Unsupported`] (blocking, pub/sub, transaction,
    /// fan-out and connection-state commands), [`Error::InvalidCommand`].
    pub fn submit_with_timeout(
        &mut self,
        cmd: Cmd,
        timeout: Duration,
        now: Instant,
    ) -> Result<RequestId, Error> {
        self.advance(now);
        let shard = self.table.route(&cmd, &self.config.commands)?;
        let deadline = self.now + timeout;
        let id = self.reqs.insert(Request {
            cmd,
            timeout,
            deadline,
            retries: 0,
            place: Place::Retry(self.now),
        });
        self.stats.submitted += 1;
        self.req_wake = self.req_wake.min(deadline);
        self.wake = self.wake.min(deadline);
        self.dispatch(id, shard);
        self.run_timers();
        Ok(id)
    }

    /// Queues request `id` on `shard`'s shared connection (or fails it fast).
    fn dispatch(&mut self, id: RequestId, shard: ShardSlot) {
        let conn = match self.conn_for(shard) {
            Ok(conn) => conn,
            Err(e) => {
                let name = self.command_name(id);
                self.fail_or_retry(id, e.for_command(name));
                return;
            }
        };
        let Some(req) = self.reqs.get_mut(id) else {
            return;
        };
        req.place = Place::Conn(conn, shard);
        let Some(c) = self.conns.get_mut(conn) else {
            return;
        };
        if c.io.push(Tag::Req(id), &req.cmd) {
            Self::mark_tx(&mut self.tx, conn, c);
        }
    }

    fn command_name(&self, id: RequestId) -> CmdName {
        self.reqs
            .get(id)
            .map_or(CmdName::new(b"?"), |r| CmdName::new(r.cmd.name()))
    }

    /// The shard's shared connection, opened if needed; fails fast while the shard's last
    /// connection attempts failed and none is in progress.
    fn conn_for(&mut self, slot: ShardSlot) -> Result<ConnId, Error> {
        let Some(sh) = self.table.get(slot) else {
            return Err(Error::NoShards {
                command: CmdName::new(b"?"),
            });
        };
        if let Some(conn) = sh.main {
            return Ok(conn);
        }
        if sh.connect_failures > 0 {
            return Err(sh.last_error.clone().unwrap_or(Error::Connect {
                shard: sh.name.clone(),
                addr: sh.addr.clone(),
                command: CmdName::new(b"?"),
                cause: NetError::Other,
            }));
        }
        let at = sh.next_connect.max(self.now);
        Ok(self.open_conn(slot, at))
    }

    /// Opens (now or at `at`) the shared connection of a shard.
    fn open_conn(&mut self, slot: ShardSlot, at: Instant) -> ConnId {
        let Some(sh) = self.table.get(slot) else {
            return ConnId::new(u32::MAX, u32::MAX);
        };
        let (opts, addr) = (sh.opts.clone(), sh.addr.clone());
        let io = Conn::new(opts, self.config.limits);
        let id = self.conns.insert(ConnSlot {
            shard: slot,
            io,
            start_at: Some(at),
            deadline: Instant::MAX,
        });
        if let Some(sh) = self.table.get_mut(slot) {
            sh.main = Some(id);
        }
        if at <= self.now {
            self.start_conn(id, addr);
        } else {
            self.wake = self.wake.min(at);
        }
        id
    }

    /// Emits `Connect` for a connection created with a delay.
    fn start_conn(&mut self, id: ConnId, addr: Arc<str>) {
        let deadline = self.now + self.config.connect_timeout;
        if let Some(c) = self.conns.get_mut(id) {
            c.start_at = None;
            c.deadline = deadline;
            self.stats.connects += 1;
            self.wake = self.wake.min(deadline);
            self.out.push_back(Output::Connect { conn: id, addr });
        }
    }

    fn mark_tx(tx: &mut VecDeque<ConnId>, id: ConnId, c: &mut ConnSlot) {
        if !c.io.tx_queued && c.is_connected() && !c.io.send_buf().is_empty() {
            c.io.tx_queued = true;
            tx.push_back(id);
        }
    }

    /// Fails request `id` with `err`, or schedules a retry when `err` is retryable, retries
    /// remain and the backoff ends before the deadline.
    fn fail_or_retry(&mut self, id: RequestId, err: Error) {
        let Some(req) = self.reqs.get_mut(id) else {
            return;
        };
        if err.is_retryable() && req.retries < self.config.max_retries {
            let delay = retry_backoff(
                req.retries,
                self.config.min_retry_backoff,
                self.config.max_retry_backoff,
                &mut self.jitter,
            );
            let at = self.now + delay;
            if at < req.deadline {
                req.retries += 1;
                req.place = Place::Retry(at);
                self.retries.push((at, id));
                self.wake = self.wake.min(at);
                self.stats.retries += 1;
                return;
            }
        }
        self.complete(id, Err(err));
    }

    fn complete(&mut self, id: RequestId, result: Result<Value, Error>) {
        if self.reqs.remove(id).is_some() {
            self.stats.replied += 1;
            self.out.push_back(Output::Reply { id, result });
        }
    }

    /// Forgets request `id`: no [`Output::Reply`] will come for it (if its command was
    /// already sent, the server may still execute it). Returns whether it was pending.
    pub fn cancel(&mut self, id: RequestId) -> bool {
        self.reqs.remove(id).is_some()
    }

    /// Fails every pending request with [`Error::Closed`], closes every connection, forgets
    /// every shard (without events) and stops all timers. The ring can be given shards again
    /// afterwards.
    pub fn close(&mut self, now: Instant) {
        self.advance(now);
        for i in 0..self.conns.capacity() {
            if let Some(id) = self.conns.id_at(i) {
                self.drop_conn(id, &Cause::Closed, false);
            }
        }
        for i in 0..self.reqs.slot_count() {
            if let Some(id) = self.reqs.id_at(i) {
                let command = self.command_name(id);
                self.complete(id, Err(Error::Closed { command }));
            }
        }
        self.retries.clear();
        self.table.clear();
        self.wake = Instant::MAX;
        self.req_wake = Instant::MAX;
    }

    /// The next thing for the driver to do. Drain it (call until [`Output::Timeout`]) after
    /// every state change.
    #[must_use = "drain every output until Output::Timeout"]
    pub fn poll_output(&mut self) -> Output {
        if let Some(out) = self.out.pop_front() {
            return out;
        }
        while let Some(conn) = self.tx.pop_front() {
            if self
                .conns
                .get(conn)
                .is_some_and(|c| c.io.tx_queued && !c.io.send_buf().is_empty())
            {
                return Output::Transmit { conn };
            }
        }
        Output::Timeout(self.wake)
    }

    /// The instant [`Output::Timeout`] would name now ([`Instant::MAX`]: no timer). It may be
    /// early (a timer that was cancelled), never late.
    pub fn poll_timeout(&self) -> Instant {
        self.wake
    }

    /// Feeds one input (socket event or time). Drain [`RingCore::poll_output`] afterwards.
    pub fn handle_input(&mut self, input: Input<'_>) {
        match input {
            Input::Connected { conn, now } => {
                self.advance(now);
                self.on_connected(conn);
            }
            Input::Received { conn, data, now } => {
                self.advance(now);
                self.on_received(conn, data);
            }
            Input::Sent { conn, n, now } => {
                self.advance(now);
                if let Some(c) = self.conns.get_mut(conn) {
                    c.io.tx_queued = false;
                    if c.io.on_sent(n) {
                        Self::mark_tx(&mut self.tx, conn, c);
                    }
                }
            }
            Input::Closed { conn, error, now } => {
                self.advance(now);
                if self.conns.get(conn).is_some_and(|c| c.start_at.is_none()) {
                    self.drop_conn(conn, &Cause::Net(error), true);
                }
            }
            Input::Timeout(now) => self.advance(now),
        }
        self.run_timers();
    }

    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn on_connected(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id) else {
            return;
        };
        if c.start_at.is_some() || c.io.state() != State::Connecting {
            return;
        }
        let ready = c.io.on_connected();
        Self::mark_tx(&mut self.tx, id, c);
        if ready {
            self.on_ready(id);
        }
    }

    /// The handshake is done: send what was waiting, and reset the shard's connect failures.
    fn on_ready(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id) else {
            return;
        };
        while let Some(tag) = c.io.waiting.pop_front() {
            match tag {
                Tag::Req(rid) => {
                    if let Some(req) = self.reqs.get(rid) {
                        if req.place == Place::Conn(id, c.shard) {
                            c.io.push(tag, &req.cmd);
                        }
                    }
                }
                Tag::Probe(..) => {
                    c.io.push(tag, &self.ping);
                }
            }
        }
        Self::mark_tx(&mut self.tx, id, c);
        let slot = c.shard;
        if let Some(sh) = self.table.get_mut(slot) {
            sh.connect_failures = 0;
        }
    }

    fn on_received(&mut self, id: ConnId, data: &[u8]) {
        let Some(c) = self.conns.get_mut(id) else {
            return;
        };
        let slot = c.shard;
        let Some(sh) = self.table.get(slot) else {
            return;
        };
        let (reqs, out, deferred, stats) = (
            &mut self.reqs,
            &mut self.out,
            &mut self.deferred,
            &mut self.stats,
        );
        let check = self.config.heartbeat_check.as_ref();
        let result = c.io.on_received(data, |received| match received {
            Received::Reply(Tag::Req(rid), frame) => {
                let Some(req) = reqs.get(rid).filter(|r| r.place == Place::Conn(id, slot)) else {
                    stats.late_replies += 1;
                    return;
                };
                let result = match frame.error_message() {
                    None => Ok(frame.to_value()),
                    Some(message) => {
                        let err = Error::Server {
                            shard: sh.name.clone(),
                            addr: sh.addr.clone(),
                            command: CmdName::new(req.cmd.name()),
                            message: String::from_utf8_lossy(message).into_owned(),
                        };
                        if err.is_retryable() {
                            deferred.push(Deferred::Retry(rid, err));
                            return;
                        }
                        Err(err)
                    }
                };
                reqs.remove(rid);
                stats.replied += 1;
                out.push_back(Output::Reply { id: rid, result });
            }
            Received::Reply(Tag::Probe(pslot, seq), frame) => {
                let verdict = match frame.error_message() {
                    Some(message) => Err(String::from_utf8_lossy(message).into_owned()),
                    None => match check {
                        Some(check) if !check.check(&frame.to_value()) => {
                            Err(String::from("the heartbeat check rejected the reply"))
                        }
                        _ => Ok(()),
                    },
                };
                let verdict = verdict.map_err(|message| Error::Server {
                    shard: sh.name.clone(),
                    addr: sh.addr.clone(),
                    command: CmdName::new(b"PING"),
                    message,
                });
                deferred.push(Deferred::Probe(pslot, seq, verdict));
            }
            Received::Push(_) => stats.pushes_dropped += 1,
        });
        match result {
            Ok(true) => self.on_ready(id),
            Ok(false) => {
                // A handshake fallback may have queued bytes.
                if let Some(c) = self.conns.get_mut(id) {
                    Self::mark_tx(&mut self.tx, id, c);
                }
            }
            Err(failure) => {
                self.stats.protocol_errors +=
                    u64::from(!matches!(failure, Failure::Handshake { .. }));
                self.drop_conn(id, &Cause::Conn(failure), false);
            }
        }
        self.run_deferred();
    }

    fn run_deferred(&mut self) {
        let mut deferred = core::mem::take(&mut self.deferred);
        for d in deferred.drain(..) {
            match d {
                Deferred::Retry(id, err) => self.fail_or_retry(id, err),
                Deferred::Probe(slot, seq, result) => {
                    if self
                        .table
                        .get(slot)
                        .and_then(|s| s.probe)
                        .is_some_and(|p| p.seq == seq)
                    {
                        self.probe_done(slot, result);
                    }
                }
            }
        }
        self.deferred = deferred;
    }

    /// Drops a connection: fails what is pending on it, updates its shard's state.
    /// `reported`: the driver told us (no `Close` to emit).
    fn drop_conn(&mut self, id: ConnId, cause: &Cause, reported: bool) {
        let Some(mut c) = self.conns.remove(id) else {
            return;
        };
        if !reported && c.start_at.is_none() {
            self.out.push_back(Output::Close { conn: id });
        }
        let slot = c.shard;
        let Some(sh) = self.table.get_mut(slot) else {
            return;
        };
        if sh.main == Some(id) {
            sh.main = None;
        }
        let connecting = c.io.state() != State::Ready;
        let (shard, addr) = (sh.name.clone(), sh.addr.clone());
        let command = CmdName::new(b"?");
        let err = match cause {
            Cause::Net(e) if connecting => Error::Connect {
                shard,
                addr,
                command,
                cause: *e,
            },
            Cause::Net(e) => Error::Disconnected {
                shard,
                addr,
                command,
                cause: *e,
            },
            Cause::ConnectTimeout => Error::Connect {
                shard,
                addr,
                command,
                cause: NetError::TimedOut,
            },
            Cause::Conn(Failure::Handshake { step, message }) => Error::Handshake {
                shard,
                addr,
                step: *step,
                message: message.clone(),
            },
            Cause::Conn(Failure::Decode(error)) => Error::Protocol {
                shard,
                addr,
                command,
                error: *error,
            },
            Cause::Conn(Failure::Unexpected) => Error::UnexpectedReply {
                shard,
                addr,
                command,
            },
            Cause::ShardDown => Error::ShardDown {
                shard,
                addr,
                command,
            },
            Cause::Removed => Error::ShardRemoved {
                shard,
                addr,
                command,
            },
            Cause::Closed => Error::Closed { command },
        };
        let natural = matches!(
            cause,
            Cause::Net(_) | Cause::ConnectTimeout | Cause::Conn(_)
        );
        if natural {
            sh.last_error = Some(err.clone());
            if connecting {
                sh.connect_failures = sh.connect_failures.saturating_add(1);
            } else if matches!(cause, Cause::Conn(_)) {
                // A poisoned connection is reopened after a (jittered) pause.
                let pause = reconnect_backoff(
                    0,
                    self.config.probe_interval,
                    self.config.max_reconnect_backoff,
                    &mut self.jitter,
                );
                sh.next_connect = self.now + pause;
            }
        }
        let probe_here = sh.probe.is_some_and(|p| p.conn == id);
        // Fail (or retry) every request that was pending on this connection.
        let mut tags = core::mem::take(&mut self.scratch);
        c.io.drain_pending(|t| tags.push(t));
        for tag in tags.drain(..) {
            if let Tag::Req(rid) = tag {
                let Some(req) = self.reqs.get(rid) else {
                    continue;
                };
                if req.place != Place::Conn(id, slot) {
                    continue;
                }
                let e = err.clone().for_command(CmdName::new(req.cmd.name()));
                self.fail_or_retry(rid, e);
            }
        }
        self.scratch = tags;
        if !natural {
            return;
        }
        let is_handshake = matches!(cause, Cause::Conn(Failure::Handshake { .. }));
        if probe_here || is_handshake {
            // The heartbeat on this connection failed (a refused handshake always counts).
            self.probe_done(slot, Err(err.for_command(CmdName::new(b"PING"))));
        } else if matches!(cause, Cause::Net(_) | Cause::ConnectTimeout) {
            self.suspect(slot);
        }
    }

    /// A real command saw the shard misbehave: probe it now (once; a probe in flight or a
    /// down shard's own schedule is left alone).
    fn suspect(&mut self, slot: ShardSlot) {
        let now = self.now;
        if let Some(sh) = self.table.get_mut(slot) {
            if sh.liveness.is_up() && sh.probe.is_none() {
                sh.next_probe = sh.next_probe.min(now);
                self.wake = self.wake.min(now);
            }
        }
    }

    fn start_probe(&mut self, slot: ShardSlot) {
        let conn = match self.table.get(slot).and_then(|s| s.main) {
            Some(conn) => {
                // A connection held back by a reconnect pause is opened now.
                if self.conns.get(conn).is_some_and(|c| c.start_at.is_some()) {
                    let addr = self.table.get(slot).map(|s| s.addr.clone());
                    if let Some(addr) = addr {
                        self.start_conn(conn, addr);
                    }
                }
                conn
            }
            None => self.open_conn(slot, self.now),
        };
        let deadline = self.now + self.config.heartbeat_timeout;
        let Some(sh) = self.table.get_mut(slot) else {
            return;
        };
        sh.probe_seq = sh.probe_seq.wrapping_add(1);
        let seq = sh.probe_seq;
        sh.probe = Some(Probe {
            seq,
            conn,
            deadline,
        });
        sh.next_probe = Instant::MAX;
        self.stats.probes += 1;
        self.wake = self.wake.min(deadline);
        if let Some(c) = self.conns.get_mut(conn) {
            if c.io.push(Tag::Probe(slot, seq), &self.ping) {
                Self::mark_tx(&mut self.tx, conn, c);
            }
        }
    }

    /// Records a heartbeat result, schedules the next one, applies a transition.
    fn probe_done(&mut self, slot: ShardSlot, result: Result<(), Error>) {
        let now = self.now;
        let cfg = &self.config;
        let Some(sh) = self.table.get_mut(slot) else {
            return;
        };
        sh.probe = None;
        let failed = result.is_err();
        let transition = match result {
            Ok(()) => sh.liveness.record_success(),
            Err(e) => {
                sh.last_error = Some(e);
                sh.liveness.record_failure()
            }
        };
        let delay = if sh.liveness.is_up() && !sh.liveness.is_suspect() {
            cfg.heartbeat_interval
        } else if sh.liveness.is_up() || !failed {
            cfg.probe_interval
        } else {
            reconnect_backoff(
                sh.liveness.failures_while_down(),
                cfg.probe_interval,
                cfg.max_reconnect_backoff,
                &mut self.jitter,
            )
        };
        sh.next_probe = now + delay;
        self.wake = self.wake.min(sh.next_probe);
        let (name, addr, down, reason) = (
            sh.name.clone(),
            sh.addr.clone(),
            !sh.liveness.is_up(),
            sh.last_error.clone(),
        );
        match transition {
            Some(Transition::Up) => {
                self.table.rebuild(&self.config.placement);
                self.out
                    .push_back(Output::Event(Event::ShardUp { name, addr }));
            }
            Some(Transition::Down) => {
                self.table.rebuild(&self.config.placement);
                let reason = reason.unwrap_or(Error::ShardDown {
                    shard: name.clone(),
                    addr: addr.clone(),
                    command: CmdName::new(b"PING"),
                });
                self.out
                    .push_back(Output::Event(Event::ShardDown { name, addr, reason }));
            }
            None => {}
        }
        if down && failed {
            // A down shard gets a fresh connection for each probe: the old one may be stuck.
            self.close_shard_conns(slot, &Cause::ShardDown);
        }
    }

    /// Runs every timer that is due (the driver's `Timeout`, or any input at a late `now`).
    fn run_timers(&mut self) {
        // A pass can make new work due now (a timed-out request triggers a probe); a few
        // passes settle it. Bounded so that a bug cannot spin forever.
        for _ in 0..4 {
            if self.now < self.wake {
                return;
            }
            self.run_timers_once();
        }
    }

    fn run_timers_once(&mut self) {
        let now = self.now;
        self.wake = Instant::MAX;
        // Request deadlines: one scan when the earliest may have passed.
        if now >= self.req_wake {
            let mut next = Instant::MAX;
            for i in 0..self.reqs.slot_count() {
                let Some(id) = self.reqs.id_at(i) else {
                    continue;
                };
                let Some(req) = self.reqs.get(id) else {
                    continue;
                };
                if req.deadline <= now {
                    self.time_out(id);
                } else {
                    next = next.min(req.deadline);
                }
            }
            self.req_wake = next;
        }
        self.wake = self.wake.min(self.req_wake);
        // Retries whose backoff ended.
        if !self.retries.is_empty() {
            let mut due = Vec::new();
            let mut next = Instant::MAX;
            self.retries.retain(|&(at, id)| {
                if at <= now {
                    due.push(id);
                    false
                } else {
                    next = next.min(at);
                    true
                }
            });
            self.wake = self.wake.min(next);
            for id in due {
                self.retry(id);
            }
        }
        // Connections: delayed starts and connect/handshake deadlines.
        for i in 0..self.conns.capacity() {
            let Some(id) = self.conns.id_at(i) else {
                continue;
            };
            let Some(c) = self.conns.get(id) else {
                continue;
            };
            let t = c.next_timer();
            if t > now {
                self.wake = self.wake.min(t);
            } else if c.start_at.is_some() {
                if let Some(addr) = self.table.get(c.shard).map(|s| s.addr.clone()) {
                    self.start_conn(id, addr);
                }
            } else {
                self.drop_conn(id, &Cause::ConnectTimeout, false);
            }
        }
        // Shards: heartbeat deadlines and schedules.
        for i in 0..self.table.slot_count() {
            let slot = i as ShardSlot;
            let Some(sh) = self.table.get(slot) else {
                continue;
            };
            match sh.probe {
                Some(p) if p.deadline <= now => {
                    let err = Error::Timeout {
                        shard: Some(sh.name.clone()),
                        addr: Some(sh.addr.clone()),
                        command: CmdName::new(b"PING"),
                        after: self.config.heartbeat_timeout,
                    };
                    self.probe_done(slot, Err(err));
                }
                None if sh.next_probe <= now => self.start_probe(slot),
                _ => {}
            }
            if let Some(sh) = self.table.get(slot) {
                self.wake = self.wake.min(sh.next_timer());
            }
        }
    }

    /// Request `id` reached its deadline.
    fn time_out(&mut self, id: RequestId) {
        let Some(req) = self.reqs.get(id) else { return };
        let (command, after) = (CmdName::new(req.cmd.name()), req.timeout);
        let shard = match req.place {
            Place::Conn(_, slot) => Some(slot),
            Place::Retry(_) => None,
        };
        let (name, addr) = match shard.and_then(|s| self.table.get(s)) {
            Some(sh) => (Some(sh.name.clone()), Some(sh.addr.clone())),
            None => (None, None),
        };
        self.stats.timeouts += 1;
        self.complete(
            id,
            Err(Error::Timeout {
                shard: name,
                addr,
                command,
                after,
            }),
        );
        if let Some(slot) = shard {
            self.suspect(slot);
        }
    }

    /// Request `id`'s backoff ended: route it again over the shards live now.
    fn retry(&mut self, id: RequestId) {
        let Some(req) = self.reqs.get(id) else { return };
        if !matches!(req.place, Place::Retry(_)) {
            return;
        }
        match self.table.route(&req.cmd, &self.config.commands) {
            Ok(shard) => self.dispatch(id, shard),
            Err(e) => self.complete(id, Err(e)),
        }
    }

    /// The bytes waiting to be written to `conn` (empty for an unknown connection). After
    /// writing some, report [`Input::Sent`]; the buffer then drops them.
    pub fn send_buf(&self, conn: ConnId) -> &[u8] {
        self.conns.get(conn).map_or(&[], |c| c.io.send_buf())
    }

    /// Number of shards currently up (go-redis `Ring.Len`).
    pub fn live_len(&self) -> usize {
        self.table.live_len()
    }

    /// Number of requests accepted and not yet replied to (nor cancelled).
    pub fn pending(&self) -> usize {
        self.reqs.len()
    }

    /// The shards in configured order.
    pub fn shards(&self) -> impl Iterator<Item = ShardState> + '_ {
        self.table.order.iter().filter_map(|&slot| {
            let sh = self.table.get(slot)?;
            let pending = sh
                .main
                .and_then(|c| self.conns.get(c))
                .map_or(0, |c| c.io.pending());
            Some(ShardState {
                name: sh.name.clone(),
                addr: sh.addr.clone(),
                up: sh.liveness.is_up(),
                failures: sh.liveness.failures(),
                last_error: sh.last_error.clone(),
                pending,
            })
        })
    }

    /// The shard that owns `key` now (hash tags applied), as `(name, addr)`; `None` when no
    /// shard is up.
    pub fn shard_for_key(&self, key: &[u8]) -> Option<(&Arc<str>, &Arc<str>)> {
        let sh = self.table.get(self.table.shard_for_key(key)?)?;
        Some((&sh.name, &sh.addr))
    }

    /// Counters since creation.
    pub fn stats(&self) -> Stats {
        self.stats
    }
}

/// One shard as reported by [`RingCore::shards`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ShardState {
    /// The shard's name.
    pub name: Arc<str>,
    /// The shard's address.
    pub addr: Arc<str>,
    /// Whether the shard is up (in the placement).
    pub up: bool,
    /// Consecutive failed heartbeats.
    pub failures: u32,
    /// The last error seen on the shard (connection, handshake or heartbeat).
    pub last_error: Option<Error>,
    /// Requests queued or in flight on the shard's connection.
    pub pending: usize,
}

/// Counters of a [`RingCore`] since its creation (see [`RingCore::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests accepted by `submit`.
    pub submitted: u64,
    /// Replies delivered (success or error).
    pub replied: u64,
    /// Retries made.
    pub retries: u64,
    /// Requests that failed by their deadline.
    pub timeouts: u64,
    /// Connections asked for.
    pub connects: u64,
    /// Heartbeats and probes sent.
    pub probes: u64,
    /// RESP3 push frames received and dropped (no subscriber).
    pub pushes_dropped: u64,
    /// Replies that arrived for requests already timed out or cancelled.
    pub late_replies: u64,
    /// Connections dropped for a protocol error.
    pub protocol_errors: u64,
}
