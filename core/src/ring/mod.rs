//! [`RingCore`]: the whole ring client as one sans-io state machine.
//!
//! See the type's documentation for the call protocol. Submodules, one concern each:
//! `api` (what crosses the driver boundary), `route` (which shard a command goes to),
//! `shard` (the shard table, live set and placement), `request` (the request slab), `conns`
//! (the connection table), `conns_io` (queueing on connections, replies, dropping a
//! connection), `health` (heartbeats, probes, Up/Down), `timers` (deadlines, retries),
//! `backoff` (delays and their jitter).

mod api;
mod backoff;
mod conns;
mod conns_io;
mod dedicated;
mod failover;
mod fanout;
mod health;
mod migration;
mod observe;
mod policy;
mod pubsub;
mod queue;
mod replica;
mod request;
mod route;
mod scan;
mod shard;
mod split;
mod timers;
mod transaction;

pub use crate::config::MigrationWindow;
pub use api::{ConnId, Event, Input, Output, RequestId, ShardRef};
pub use pubsub::{SubId, SubKind};
pub use scan::RingScan;
pub use transaction::TxId;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;

use backoff::Jitter;
use conns::ConnTable;
use dedicated::ConnKind;
use observe::Observed;
use request::{Place, Request, Requests};
use shard::{Shard, ShardSlot, ShardTable};
use split::Splits;

use crate::command::Cmd;
use crate::config::{Config, FailurePolicy, IntoShardSpec, ShardSpec};
use crate::conn::{Failure, State as ConnState};
use crate::error::{CmdName, Error, NetError};
use crate::liveness::Liveness;
use crate::resp::Value;
use crate::time::{Duration, Instant};

/// What a connection's FIFO entry stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tag {
    /// A user request.
    Req(RequestId),
    /// A heartbeat of shard `.0`, number `.1`.
    Probe(ShardSlot, u32),
    /// The lag check (`ROLE`) on the replica connection of shard `.0` (module `replica`).
    Lag(ShardSlot),
    /// `ROLE` on the primary of plain shard `.0` beside its heartbeat, for the primary's
    /// replication offset (module `replica`).
    Offset(ShardSlot),
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
    /// A Sentinel shard's connection answered `READONLY`: drain it (module `failover`).
    Demoted(ConnId),
    /// A shard's primary reported its replication offset (`ROLE`).
    Offset(ShardSlot, i64),
    /// The lag check's reply on replica connection `.0` (module `replica`).
    Lag(ConnId, Value),
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
///    * [`Output::Connect`] `{ conn, endpoint, tls, .. }`: open a connection to the
///      [`Endpoint`](crate::config::Endpoint) (TCP or Unix; TLS when `tls` is set); report
///      [`Input::Connected`] or [`Input::Closed`] (the core enforces the connect timeout).
///    * [`Output::Transmit`] `{ conn }`: write [`RingCore::send_slices`]`(conn)`
///      (everything queued for that connection, ideally in one vectored syscall; or just
///      [`RingCore::send_buf`], its first slice) and report [`Input::Sent`] with the
///      number of bytes written. Every request queued since the last write is in there:
///      concurrent callers share one connection per shard (pipelining).
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
/// * **Failure policy** ([`FailurePolicy`]): under `FailFast` placement is over every
///   configured shard and a command for a down shard fails at once with
///   [`Error::ShardDown`]; under `Rehash` (above) [`Rejoin::Flush`](crate::config::Rejoin)
///   flushes a returning shard before it serves again. The heartbeat command and the check of
///   its reply are configurable ([`Config::heartbeat`], [`Config::heartbeat_check`]).
/// * **Migration window** ([`RingCore::set_shards_with_window`], [`Config::migrate_from`]):
///   keys whose owner changes are read at the new owner then the old one, and moved
///   (`MIGRATE`) before any other command, until [`RingCore::close_window`].
/// * **Multi-key commands** (`MGET`, `MSET`, `DEL`, `UNLINK`, `EXISTS`, `TOUCH`) whose keys
///   land on several shards are split, one part per shard, sent concurrently and merged into
///   one [`Output::Reply`] (values in key order, `OK` when every part is, counts summed); a
///   failed part fails the whole command with [`Error::Split`] naming each failed shard and
///   its keys. [`RingCore::submit_per_key`] answers each key on its own instead. Other
///   multi-key commands must have all their keys on one shard ([`Error::CrossShard`]).
/// * **Per-shard commands** (`DBSIZE`, `FLUSHDB`, `SCAN`, `INFO`...) are refused by `submit`
///   and sent with [`RingCore::submit_to_shard`] / [`RingCore::submit_to_all`]; [`RingScan`]
///   walks the whole ring with them. [`RingCore::submit_pipeline`] submits a batch.
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
///             Output::Connect { conn, .. } => {
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
    /// The heartbeat commands (`Config::heartbeat`, the rejoin flush, `ROLE`), built once.
    hb: policy::Heartbeats,
    deferred: Vec<Deferred>,
    scratch: Vec<(Tag, bool)>,
    /// Requests waiting for room in their shard's queue (`QueueLimit`), in arrival order.
    /// Stale ids (timed out, cancelled) are skipped when met.
    parked: BTreeMap<ShardSlot, VecDeque<RequestId>>,
    /// Set while [`RingCore::unpark`] dispatches: parked requests go before newer ones.
    unparking: bool,
    stats: Stats,
    /// Dedicated connections: blocking commands, transactions, subscriptions.
    ded: dedicated::Dedicated,
    /// Split commands in progress (`split`).
    splits: Splits,
    /// Requests pinned to a shard by name (`fanout`): retried there, never re-routed.
    pinned: BTreeMap<RequestId, Arc<str>>,
    /// Per-shard counters, transition instants and last command errors (by shard slot).
    observed: Observed,
    /// The migration window and the commands under its rules (`migration`).
    migration: migration::Migration,
}

impl RingCore {
    /// A ring with no shards yet, configured by `config`, at time `now`.
    ///
    /// Heartbeat interval and timeout, probe interval and connect timeout below 1 ms are taken
    /// as 1 ms (zero would make the ring spin at one instant).
    pub fn new(mut config: Config, now: Instant) -> RingCore {
        let hash_tag = config.hash_tag;
        let floor = Duration::from_millis(1);
        for d in [
            &mut config.heartbeat_interval,
            &mut config.heartbeat_timeout,
            &mut config.probe_interval,
            &mut config.connect_timeout,
        ] {
            *d = (*d).max(floor);
        }
        let mut table = ShardTable::with_hash_tag(hash_tag);
        table.place_all = config.failure_policy == FailurePolicy::FailFast;
        RingCore {
            jitter: Jitter::new(config.seed),
            hb: policy::Heartbeats::new(config.heartbeat.cmd().clone()),
            config,
            now,
            table,
            conns: ConnTable::default(),
            reqs: Requests::default(),
            retries: Vec::new(),
            out: VecDeque::new(),
            tx: VecDeque::new(),
            wake: Instant::MAX,
            req_wake: Instant::MAX,
            deferred: Vec::new(),
            scratch: Vec::new(),
            parked: BTreeMap::new(),
            unparking: false,
            stats: Stats::default(),
            ded: dedicated::Dedicated::default(),
            splits: Splits::default(),
            pinned: BTreeMap::new(),
            observed: Observed::default(),
            migration: migration::Migration::default(),
        }
    }

    /// The configuration the ring was created with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the set of shards with `shards` ([`ShardSpec`]s, or `(name, address)` pairs
    /// parsed by [`ShardSpec::parse`]) in the order that defines placement (go-redis
    /// `Addrs`; names are what is hashed, weights weigh them).
    ///
    /// A shard whose name and connection settings (endpoint, TLS, credentials, db, client
    /// name) are unchanged keeps its connection and health (a new weight applies at once).
    /// A new name (or a known name with new settings) is added, up, and probed at once; a
    /// name that is gone (or re-addressed) is removed gracefully: requests it never received
    /// (not completely written) go to their key's new owner; requests written to it keep
    /// waiting for their replies on its old connection, which closes once it owes nothing,
    /// or after `command_timeout` at the latest (a reply that never comes ends as usual: the
    /// request's timeout). Its dedicated connections (blocking commands, transactions)
    /// close, their requests failing with [`Error::ShardRemoved`]. Emits
    /// [`Event::ShardAdded`] / [`Event::ShardRemoved`] for each change. A name given twice
    /// keeps its first address. While a migration window is open, a removed shard of the old
    /// placement stays connected as an old owner until the window closes.
    pub fn set_shards<I>(&mut self, shards: I, now: Instant)
    where
        I: IntoIterator,
        I::Item: IntoShardSpec,
    {
        let mut wanted: Vec<ShardSpec> = Vec::new();
        for spec in shards {
            let spec = spec.into_shard_spec();
            if !wanted.iter().any(|w| w.name == spec.name) {
                wanted.push(spec);
            }
        }
        if let Some(from) = self.config.migrate_from.take() {
            // Config::migrate_from: the old ring first, then a window towards `shards`.
            let old = from
                .shards
                .iter()
                .map(|(n, a)| (n.as_str(), a.as_str()).into_shard_spec());
            self.apply_shards(old.collect(), now);
            self.open_window(from.window, now);
        }
        self.apply_shards(wanted, now);
    }

    /// `set_shards` with the names already de-duplicated.
    fn apply_shards(&mut self, wanted: Vec<ShardSpec>, now: Instant) {
        self.advance(now);
        // Removals first (a re-addressed shard is removed, then added).
        let old: Vec<ShardSlot> = self.table.order.clone();
        let mut reroute = Vec::new();
        for slot in old {
            let Some(sh) = self.table.get(slot) else {
                continue;
            };
            let keep = wanted
                .iter()
                .any(|w| w.name == sh.name && w.same_connection(&sh.spec));
            if !keep && !self.keep_for_window(slot) {
                self.remove_shard(slot, &mut reroute);
            }
        }
        let mut order = Vec::with_capacity(wanted.len());
        for spec in wanted {
            let slot = match self.table.find(&spec.name) {
                Some(slot) => {
                    // Same connection; a new weight takes effect with the rebuild below.
                    if let Some(sh) = self.table.get_mut(slot) {
                        sh.spec = Arc::new(spec);
                    }
                    slot
                }
                None => {
                    let opts = self.config.conn_options_for_spec(&spec);
                    let live =
                        Liveness::new(self.config.fail_threshold, self.config.recover_threshold);
                    let shard = Shard::new(Arc::new(spec), opts, live, self.now);
                    let (name, addr) = (shard.name.clone(), shard.addr.clone());
                    self.out
                        .push_back(Output::Event(Event::ShardAdded { name, addr }));
                    let slot = self.table.insert(shard);
                    self.observed.joined(slot, self.now);
                    slot
                }
            };
            order.push(slot);
        }
        self.table.order = order;
        self.table.rebuild(&self.config.placement);
        // What a removed shard never received goes to the key's new owner now.
        for id in reroute {
            self.retry(id);
        }
        self.wake = self.now; // new shards are probed at once
        self.run_timers();
    }

    /// Removes a shard gracefully: its dedicated connections close (their requests fail with
    /// [`Error::ShardRemoved`]); on its shared connection, requests not completely written
    /// are taken back (into `reroute`, routed again once the new placement is built), and
    /// those written keep waiting for their replies on it, the connection closing once the
    /// last one came, or after the command timeout at the latest.
    fn remove_shard(&mut self, slot: ShardSlot, reroute: &mut Vec<RequestId>) {
        let now = self.now;
        let mut draining = false;
        for i in 0..self.conns.capacity() {
            let Some(id) = self.conns.id_at(i) else {
                continue;
            };
            let Some(c) = self.conns.get_mut(id).filter(|c| c.shard == slot) else {
                continue;
            };
            if c.kind != ConnKind::Shared {
                self.drop_conn(id, &Cause::Removed, false);
                continue;
            }
            let reqs = &mut self.reqs;
            c.io.retire(|tag| {
                if let Tag::Req(rid) = tag {
                    if let Some(req) = reqs
                        .get_mut(rid)
                        .filter(|r| r.place == Place::Conn(id, slot))
                    {
                        req.place = Place::Retry(now);
                        reroute.push(rid);
                    }
                }
            });
            if c.io.pending() == 0 {
                self.drop_conn(id, &Cause::Removed, false);
            } else {
                c.drain_deadline = now + self.config.command_timeout;
                self.wake = self.wake.min(c.drain_deadline);
                draining = true;
            }
        }
        self.table.order.retain(|&s| s != slot);
        let event = match self.table.get_mut(slot) {
            Some(sh) if draining => {
                sh.retired = true;
                sh.main = None;
                sh.probe = None;
                sh.next_probe = Instant::MAX;
                Some((sh.name.clone(), sh.addr.clone()))
            }
            _ => self.table.remove(slot).map(|sh| (sh.name, sh.addr)),
        };
        if let Some((name, addr)) = event {
            self.out
                .push_back(Output::Event(Event::ShardRemoved { name, addr }));
        }
    }

    /// Submits `cmd` with the configured `command_timeout`. See [`RingCore::submit_with_timeout`].
    pub fn submit(&mut self, cmd: Cmd, now: Instant) -> Result<RequestId, Error> {
        let timeout = self.config.command_timeout;
        self.submit_timed(cmd, timeout, false, now)
    }

    /// Submits `cmd`, which must get its reply within `timeout` (retries included).
    ///
    /// The command is routed and encoded straight into its connection's send buffer; its
    /// result comes later as [`Output::Reply`] with the returned id. Refused at once with
    /// `Err` when it cannot be placed: [`Error::NoShards`], [`Error::AllShardsDown`],
    /// [`Error::CrossShard`], [`Error::Unsupported`] (pub/sub, transaction, fan-out and
    /// connection-state commands), [`Error::InvalidCommand`].
    ///
    /// A blocking command (`BLPOP`, `BLMOVE`, `BZPOPMIN`, `XREAD ... BLOCK`...) goes to a
    /// dedicated connection of its keys' shard (reused once idle), never to the shared one,
    /// so it never stalls other requests, and it is not retried on another connection.
    /// Its deadline: through [`RingCore::submit`] (the configured `command_timeout`), its own
    /// block time plus `command_timeout` (none for a block time of 0: `BLPOP q 0` waits as
    /// long as the server does); through this method, `timeout` caps the whole call, block
    /// time included (`BLPOP q 0` with 1 s ends after 1 s). A blocking command cut off by its
    /// deadline closes its connection; an element the server popped at that very moment is
    /// lost, so prefer the command's own block time where that matters.
    pub fn submit_with_timeout(
        &mut self,
        cmd: Cmd,
        timeout: Duration,
        now: Instant,
    ) -> Result<RequestId, Error> {
        self.submit_timed(cmd, timeout, true, now)
    }

    fn submit_timed(
        &mut self,
        cmd: Cmd,
        timeout: Duration,
        explicit: bool,
        now: Instant,
    ) -> Result<RequestId, Error> {
        self.advance(now);
        if let Some(id) = self.window_submit(&cmd, timeout) {
            self.run_timers();
            return Ok(id);
        }
        // One classification for both checks: submit is the hot path.
        let routing = self.config.commands.classify(&cmd);
        if routing.is_blocking() {
            return self.submit_blocking(cmd, timeout, explicit);
        }
        if let Some(plan) = self.plan(&cmd, &routing, false) {
            let id = self.start_split(cmd, plan, timeout);
            self.run_timers();
            return Ok(id);
        }
        let shard = self.table.route_classified(&cmd, &routing)?;
        let deadline = self.now + timeout;
        let id = self.reqs.insert(Request {
            cmd: cmd.into(),
            timeout,
            deadline,
            retries: 0,
            place: Place::Retry(self.now),
            started: self.now,
            last_shard: None,
        });
        self.stats.submitted += 1;
        self.req_wake = self.req_wake.min(deadline);
        self.wake = self.wake.min(deadline);
        self.dispatch(id, shard);
        self.run_timers();
        Ok(id)
    }

    fn command_name(&self, id: RequestId) -> CmdName {
        self.reqs
            .get(id)
            .map_or(CmdName::new(b"?"), |r| CmdName::new(r.cmd.name()))
    }

    /// Forgets request `id`: no [`Output::Reply`] will come for it (if its command was
    /// already sent, the server may still execute it). Returns whether it was pending.
    pub fn cancel(&mut self, id: RequestId) -> bool {
        if self.cancel_split(id) || self.cancel_window(id) {
            return true;
        }
        self.pinned.remove(&id);
        let Some(req) = self.reqs.remove(id) else {
            return false;
        };
        if let Place::Conn(conn, _) = req.place {
            // A blocking command still waits on its dedicated connection: close it.
            self.dedicated_cancelled(conn);
        }
        true
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
        self.parked.clear();
        self.ded.close();
        self.forget_window();
        self.table.clear();
        self.wake = Instant::MAX;
        self.req_wake = Instant::MAX;
    }

    /// The next thing for the driver to do. Drain it (call until [`Output::Timeout`]) after
    /// every state change.
    #[must_use = "drain every output until Output::Timeout"]
    pub fn poll_output(&mut self) -> Output {
        if self.splits.is_empty() && self.migration.is_idle() && self.pinned.is_empty() {
            // Nothing to merge or intercept (the common case): popped straight into the
            // return value, not through a local inspected first (an output is a few hundred
            // bytes; this runs once per reply).
            if let Some(out) = self.out.pop_front() {
                return out;
            }
        }
        while let Some(mut out) = self.out.pop_front() {
            // Parts of split commands are merged here, where every reply passes.
            if let Output::Reply { id, result } = &mut out {
                if !self.splits.is_empty() && self.on_part_reply(*id, result) {
                    continue;
                }
                if !self.migration.is_idle() && self.on_window_reply(*id, result) {
                    continue;
                }
                if !self.pinned.is_empty() {
                    self.pinned.remove(id);
                }
            }
            return out;
        }
        while let Some(conn) = self.tx.pop_front() {
            if self
                .conns
                .get(conn)
                .is_some_and(|c| c.io.tx_queued && c.io.send_len() > 0)
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
                    self.observed.bytes_out(c.shard, n);
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
        self.unpark();
        self.run_timers();
    }

    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// The first run of bytes waiting to be written to `conn` (empty for an unknown
    /// connection): all of them, in one contiguous buffer, unless a large command is queued
    /// (see [`RingCore::send_slices`]). After writing some, report [`Input::Sent`]; the
    /// queue then drops them. A driver that writes only this slice is correct (while bytes
    /// remain, the next drain says [`Output::Transmit`] again), one that writes every slice
    /// of [`RingCore::send_slices`] at once makes fewer syscalls.
    pub fn send_buf(&self, conn: ConnId) -> &[u8] {
        self.conns.get(conn).map_or(&[], |c| c.io.send_buf())
    }

    /// Every byte waiting to be written to `conn`, in order, as non-empty slices, for a
    /// vectored write (`write_vectored`; nothing for an unknown connection). Small commands
    /// are coalesced into one contiguous buffer; a command whose encoding is 16 KiB or more
    /// is not copied into it but written from the command's own buffer, as a slice of its
    /// own (with only small commands queued there is one slice, [`RingCore::send_buf`]).
    /// Report the bytes written with [`Input::Sent`], counted across the slices from the
    /// first.
    ///
    /// ```
    /// # use redis_ring_core::ring::{ConnId, RingCore};
    /// fn gather<'a>(ring: &'a RingCore, conn: ConnId, iov: &mut [&'a [u8]; 16]) -> usize {
    ///     let mut n = 0;
    ///     for (slot, bytes) in iov.iter_mut().zip(ring.send_slices(conn)) {
    ///         *slot = bytes;
    ///         n += 1;
    ///     }
    ///     n // write iov[..n] with one `writev`, then report `Input::Sent`
    /// }
    /// ```
    pub fn send_slices(&self, conn: ConnId) -> impl Iterator<Item = &[u8]> + Clone + '_ {
        self.conns
            .get(conn)
            .into_iter()
            .flat_map(|c| c.io.send_slices())
    }

    /// The number of bytes waiting to be written to `conn`, over every slice of
    /// [`RingCore::send_slices`] (0 for an unknown connection).
    pub fn send_len(&self, conn: ConnId) -> usize {
        self.conns.get(conn).map_or(0, |c| c.io.send_len())
    }

    /// Requests (and handshake steps) written to `conn` whose replies have not come yet (0
    /// for an unknown connection). While it is not 0 a driver need not hurry to write new
    /// bytes for `conn`: the coming reply brings it back to that socket anyway (a driver
    /// may batch them then, as Nagle's algorithm does).
    pub fn in_flight(&self, conn: ConnId) -> usize {
        self.conns.get(conn).map_or(0, |c| c.io.in_flight())
    }

    /// Whether `conn` has finished its handshake and sends requests as they come (`false`
    /// while it connects or handshakes, and for an unknown connection). A driver that hands
    /// work between threads may prefer the short path only once its connections are ready.
    pub fn is_ready(&self, conn: ConnId) -> bool {
        self.conns
            .get(conn)
            .is_some_and(|c| c.io.state() == ConnState::Ready)
    }

    /// Number of shards currently up (go-redis `Ring.Len`).
    pub fn live_len(&self) -> usize {
        self.table.live_len()
    }

    /// Number of requests accepted and not yet replied to (nor cancelled); a split command
    /// counts once per part still pending.
    pub fn pending(&self) -> usize {
        self.reqs.len()
    }

    /// The shards in configured order.
    pub fn shards(&self) -> impl Iterator<Item = ShardState> + '_ {
        self.table.order.iter().filter_map(|&slot| {
            let sh = self.table.get(slot)?;
            let main = sh.main.and_then(|c| self.conns.get(c));
            let pending = main.map_or(0, |c| c.io.pending());
            let queued = main.map_or(0, |c| c.io.waiting.len());
            let obs = self.observed.get(slot);
            Some(ShardState {
                name: sh.name.clone(),
                addr: sh.addr.clone(),
                up: sh.liveness.is_up(),
                failures: sh.liveness.failures(),
                last_error: sh.last_error.clone(),
                pending,
                queued_bytes: main.map_or(0, |c| c.io.send_len()),
                parked: self.parked.get(&slot).map_or(0, VecDeque::len),
                queued,
                since: obs.map_or(Instant::ZERO, |o| o.since),
                counters: obs.map(|o| o.counters).unwrap_or_default(),
                last_command_error: obs.and_then(|o| o.last_command_error.clone()),
            })
        })
    }

    /// The shard that owns `key` now (hash tags applied), as `(name, addr)`; `None` when no
    /// shard is up (under [`FailurePolicy::FailFast`]: its owner whatever its health; `None`
    /// without shards).
    pub fn shard_for_key(&self, key: &[u8]) -> Option<(&Arc<str>, &Arc<str>)> {
        let sh = self.table.get(self.table.shard_for_key(key)?)?;
        Some((&sh.name, &sh.addr))
    }

    /// The shard (name, address) request `id` ended on, once its [`Output::Reply`] has been
    /// emitted: what a driver names in a span or a metric. `None` for a request that never
    /// reached a shard (refused, or a split command's merged reply: its parts have their own),
    /// whose shard has left since, or once its slot is reused by a later request (ask right
    /// after taking the reply from [`RingCore::poll_output`]).
    pub fn reply_shard(&self, id: RequestId) -> Option<(&Arc<str>, &Arc<str>)> {
        let sh = self.table.get(self.reqs.ended_on(id)?)?;
        Some((&sh.name, &sh.addr))
    }

    /// The shard request `id` ended on, as [`RingCore::reply_shard`], but as a [`ShardRef`]
    /// (copied, not cloned): a driver keeps it with the reply and asks
    /// [`RingCore::shard_names`] when it needs the names (which it does not give for a shard
    /// that has left).
    pub fn reply_shard_ref(&self, id: RequestId) -> Option<ShardRef> {
        let slot = self.reqs.ended_on(id)?;
        Some(ShardRef {
            slot,
            generation: self.table.generation(slot),
        })
    }

    /// The (name, address) of the shard `shard` refers to; `None` once it has left (even if
    /// another shard took its place).
    pub fn shard_names(&self, shard: ShardRef) -> Option<(&Arc<str>, &Arc<str>)> {
        if self.table.generation(shard.slot) != shard.generation {
            return None;
        }
        let sh = self.table.get(shard.slot)?;
        Some((&sh.name, &sh.addr))
    }

    /// The core's clock: the latest `now` it was given.
    pub fn now(&self) -> Instant {
        self.now
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
    /// Bytes of commands not yet written to the shard's socket (bounded by
    /// `Config::queue_limit`).
    pub queued_bytes: usize,
    /// Requests waiting for room in the shard's queue (`WhenFull::Wait`); an upper bound
    /// (ids of requests that have timed out meanwhile are dropped when met).
    pub parked: usize,
    /// Of `pending`, those waiting for the connection to be ready (connect, handshake).
    pub queued: usize,
    /// When the shard joined the ring, or last went up or down (the core's clock).
    pub since: Instant,
    /// Counters since the shard joined (monotonic).
    pub counters: crate::stats::ShardCounters,
    /// The last error a command got on this shard (it names the command).
    pub last_command_error: Option<Error>,
}

/// Counters of a [`RingCore`] since its creation (see [`RingCore::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests accepted by `submit` (a split command counts once per part, so that every
    /// accepted request is matched by one of `replied`).
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
    /// Requests failed with `Error::MayHaveRun` (written, then the connection broke; not
    /// re-sent because not read-only nor declared idempotent).
    pub may_have_run: u64,
    /// Replies longer than `Config::max_reply_len` (their request failed with
    /// `Error::ReplyTooLarge`, the connection skipped them and stayed up).
    pub replies_too_large: u64,
    /// Requests that waited for room in their shard's queue (`Config::queue_limit`).
    pub parked: u64,
    /// Connections of Sentinel-managed shards found talking to a demoted primary (a
    /// `READONLY` reply or a `ROLE` heartbeat saying replica), drained and replaced.
    pub demoted: u64,
    /// Commands of failing-over (Sentinel-managed) shards that waited for another connection
    /// attempt instead of failing with the connect error.
    pub failover_waits: u64,
    /// Replica connections given up because the replica lagged or stopped following its
    /// primary (module `replica`).
    pub replicas_skipped: u64,
}
