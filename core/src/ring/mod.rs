//! [`RingCore`]: the whole ring client as one sans-io state machine.
//!
//! See the type's documentation for the call protocol. Submodules, one concern each:
//! `api` (what crosses the driver boundary), `shard` (one shard's table entry: liveness,
//! probes, reconnect backoff), `request` (the request slab), `route` (which shard a command
//! goes to), `backoff` (delays and their jitter).

mod api;

pub use api::{ConnId, Event, Input, Output, RequestId};

use alloc::sync::Arc;

use crate::command::Cmd;
use crate::config::Config;
use crate::error::Error;
use crate::time::{Duration, Instant};

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
/// ```no_run
/// use redis_ring_core::command::Cmd;
/// use redis_ring_core::config::Config;
/// use redis_ring_core::ring::{Input, Output, RingCore};
/// use redis_ring_core::time::Instant;
///
/// # fn now() -> Instant { Instant::ZERO }
/// let mut ring = RingCore::new(Config::default(), now());
/// ring.set_shards([("shard1", "127.0.0.1:7000"), ("shard2", "127.0.0.1:7001")], now());
/// let id = ring.submit(Cmd::new("SET").arg("key").arg("value"), now())?;
/// loop {
///     match ring.poll_output() {
///         Output::Connect { conn, addr } => { /* open a socket to addr, later:
///             ring.handle_input(Input::Connected { conn, now: now() }) */ }
///         Output::Transmit { conn } => {
///             let n = ring.send_buf(conn).len(); // write them, count what was written
///             ring.handle_input(Input::Sent { conn, n, now: now() });
///         }
///         Output::Close { conn } => { /* close the socket */ }
///         Output::Reply { id: done, result } => {
///             if done == id { println!("SET: {result:?}"); break; }
///         }
///         Output::Event(event) => println!("{event:?}"),
///         Output::Timeout(_at) => { /* wait for a socket or `at`, feed the input, loop */ }
///         _ => {}
///     }
/// }
/// # Ok::<(), redis_ring_core::error::Error>(())
/// ```
#[derive(Debug)]
pub struct RingCore {
    config: Config,
    now: Instant,
}

impl RingCore {
    /// A ring with no shards yet, configured by `config`, at time `now`.
    pub fn new(config: Config, now: Instant) -> RingCore {
        RingCore { config, now }
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
        let _ = (shards, now);
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
    /// [`Error::Unsupported`] (blocking, pub/sub, transaction and connection-state commands
    /// need dedicated connections), [`Error::InvalidCommand`].
    pub fn submit_with_timeout(
        &mut self,
        cmd: Cmd,
        timeout: Duration,
        now: Instant,
    ) -> Result<RequestId, Error> {
        let _ = (timeout, now);
        Err(Error::NoShards {
            command: crate::error::CmdName::new(cmd.name()),
        })
    }

    /// Forgets request `id`: no [`Output::Reply`] will come for it (if its command was
    /// already sent, the server may still execute it). Returns whether it was pending.
    pub fn cancel(&mut self, id: RequestId) -> bool {
        let _ = id;
        false
    }

    /// Fails every pending request with [`Error::Closed`], closes every connection and stops
    /// all timers. The ring can be given shards again afterwards.
    pub fn close(&mut self, now: Instant) {
        let _ = now;
    }

    /// The next thing for the driver to do. Drain it (call until [`Output::Timeout`]) after
    /// every state change.
    #[must_use]
    pub fn poll_output(&mut self) -> Output {
        Output::Timeout(Instant::MAX)
    }

    /// The instant [`Output::Timeout`] would name now ([`Instant::MAX`]: no timer).
    pub fn poll_timeout(&self) -> Instant {
        Instant::MAX
    }

    /// Feeds one input (socket event or time). Drain [`RingCore::poll_output`] afterwards.
    pub fn handle_input(&mut self, input: Input<'_>) {
        let _ = input;
    }

    /// The bytes waiting to be written to `conn` (empty for an unknown connection). After
    /// writing some, report [`Input::Sent`]; the buffer then drops them.
    pub fn send_buf(&self, conn: ConnId) -> &[u8] {
        let _ = conn;
        &[]
    }

    /// Number of shards currently up (go-redis `Ring.Len`).
    pub fn live_len(&self) -> usize {
        0
    }

    /// The shards in configured order.
    pub fn shards(&self) -> impl Iterator<Item = ShardState> + '_ {
        core::iter::empty()
    }

    /// The shard that owns `key` now (hash tags applied), as `(name, addr)`; `None` when no
    /// shard is up.
    pub fn shard_for_key(&self, key: &[u8]) -> Option<(&Arc<str>, &Arc<str>)> {
        let _ = key;
        None
    }

    /// Counters since creation.
    pub fn stats(&self) -> Stats {
        Stats::default()
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
