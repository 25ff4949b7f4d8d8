//! The values that cross the boundary between [`RingCore`](super::RingCore) and its driver:
//! identifiers, [`Input`], [`Output`] and [`Event`].

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use crate::config::{Endpoint, TlsOptions};
use crate::error::{Error, NetError};
use crate::resp::Value;
use crate::time::Instant;

/// One connection the core asked the driver to open ([`Output::Connect`]).
///
/// Ids are never reused: an input naming a connection the core has closed or forgotten is
/// ignored, so a driver never has to worry about stale events racing with `Close`.
/// [`ConnId::index`] is small and dense (reused after close), handy to index a `Vec` or a
/// slab of sockets; compare the whole `ConnId` to tell generations apart.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(u64);

impl ConnId {
    pub(crate) fn new(index: u32, generation: u32) -> ConnId {
        ConnId((u64::from(generation) << 32) | u64::from(index))
    }

    /// A small index, unique among the connections open at one time (reused afterwards).
    pub fn index(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }

    pub(crate) fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The id as one number, unique for the life of the `RingCore`.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnId({}#{})", self.index(), self.generation())
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn {}#{}", self.index(), self.generation())
    }
}

/// One submitted request; its [`Output::Reply`] carries the same id. Ids increase with every
/// `submit` and are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId {
    /// Sequence number: increases with every submit (compared first).
    pub(crate) seq: u64,
    /// Index in the core's request slab, for O(1) lookup.
    pub(crate) slot: u32,
}

impl RequestId {
    /// The id as a number: increases with every `submit`, unique for the life of the core.
    pub fn as_u64(self) -> u64 {
        self.seq
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request {}", self.seq)
    }
}

/// A shard as a request ended on it ([`RingCore::reply_shard_ref`](super::RingCore::reply_shard_ref)):
/// two integers, copied where a driver would otherwise clone the shard's name and address
/// per reply, and resolved with [`RingCore::shard_names`](super::RingCore::shard_names)
/// while that very shard is still configured (a shard that took its place later is not it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShardRef {
    /// Index in the shard table.
    pub(crate) slot: u32,
    /// The slot's generation when the reference was taken.
    pub(crate) generation: u32,
}

/// What the driver tells the core: something happened on a connection, or time passed.
///
/// Every input carries `now`; time must never go backwards (an earlier `now` is treated as
/// the latest one seen). Inputs about a connection the core no longer knows are ignored.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Input<'a> {
    /// The TCP connection asked for by [`Output::Connect`] is established.
    Connected {
        /// The connection.
        conn: ConnId,
        /// The current time.
        now: Instant,
    },
    /// Bytes were read from the connection. The core copies what it cannot decode yet, so
    /// the driver may reuse its read buffer at once.
    Received {
        /// The connection.
        conn: ConnId,
        /// The bytes read (any split: a frame may span several `Received`).
        data: &'a [u8],
        /// The current time.
        now: Instant,
    },
    /// `n` bytes from the start of [`RingCore::send_slices`](super::RingCore::send_slices)
    /// (counted across the slices; the first one is
    /// [`RingCore::send_buf`](super::RingCore::send_buf)) were written to the socket; the
    /// core drops them from its send queue.
    Sent {
        /// The connection.
        conn: ConnId,
        /// How many bytes were written (at most the buffer's length).
        n: usize,
        /// The current time.
        now: Instant,
    },
    /// The connection failed to open, broke or was closed by the peer (a read of 0 bytes is
    /// [`NetError::Eof`]). Not needed after an [`Output::Close`] for the same connection.
    Closed {
        /// The connection.
        conn: ConnId,
        /// What the socket reported.
        error: NetError,
        /// The current time.
        now: Instant,
    },
    /// The time asked for by [`Output::Timeout`] has come (an early or repeated timeout is a
    /// harmless no-op).
    Timeout(Instant),
}

/// What the core asks the driver to do, or tells it; returned by
/// [`RingCore::poll_output`](super::RingCore::poll_output) until [`Output::Timeout`].
#[derive(Debug)]
#[non_exhaustive]
#[must_use]
pub enum Output {
    /// Open a TCP connection to `addr` (as configured, e.g. `"127.0.0.1:6379"` or
    /// `"cache-1:6379"`); report [`Input::Connected`] or [`Input::Closed`]. The core enforces
    /// the connect timeout itself (it then emits [`Output::Close`]).
    Connect {
        /// The new connection's id.
        conn: ConnId,
        /// The endpoint as text (`host:port`, `unix:/path`), as errors and events name it.
        addr: Arc<str>,
        /// Where to connect: TCP host and port, or a Unix socket path.
        endpoint: Endpoint,
        /// TLS settings (`rediss://`): `None` for plain TCP.
        tls: Option<TlsOptions>,
        /// A connection to one of the shard's replicas instead of its primary (under
        /// [`ReadFrom`](crate::config::ReadFrom) `PreferReplica` or `Replica`). For an
        /// [`Endpoint::Sentinel`](crate::config::Endpoint::Sentinel) shard the driver asks
        /// the Sentinels for them (`config::sentinel::replicas_request`); for a plain shard
        /// `endpoint` (and `addr`) is the listed replica to reach
        /// ([`ShardSpec::replicas`](crate::config::ShardSpec::replicas)). Either way the
        /// driver connects only to a replica whose `ROLE` says its link is up
        /// (`config::sentinel::replica_in_sync`), else reports the connect failed.
        replica: bool,
    },
    /// [`RingCore::send_slices`](super::RingCore::send_slices) of `conn` has bytes to write. Write
    /// as much as the socket takes (ideally everything, in one syscall) and report it with
    /// [`Input::Sent`]. While bytes remain after a `Sent`, the next drain says `Transmit`
    /// again; one `Transmit` per connection per drain, however many requests were queued.
    Transmit {
        /// The connection with bytes to write.
        conn: ConnId,
    },
    /// Close this connection and forget it; inputs for it are ignored from now on.
    Close {
        /// The connection to close.
        conn: ConnId,
    },
    /// The final result of a request: exactly one per successful `submit`, never for a
    /// request that was cancelled.
    Reply {
        /// The request.
        id: RequestId,
        /// The server's reply, or why there is none. An error reply from the server is
        /// `Err(Error::Server { .. })`.
        result: Result<Value, Error>,
    },
    /// Something happened to the ring (a shard went down, came back, was added...).
    Event(Event),
    /// A message for subscription `sub` (see [`RingCore::subscribe`](super::RingCore::subscribe)).
    Message {
        /// The subscription.
        sub: super::SubId,
        /// The channel the message was published to.
        channel: Vec<u8>,
        /// The pattern that matched (pattern subscriptions only).
        pattern: Option<Vec<u8>>,
        /// The message.
        payload: Vec<u8>,
    },
    /// Every channel (or pattern) of subscription `sub` is confirmed by the shard it is placed
    /// on: a message published from now on is delivered. Emitted each time the subscription
    /// becomes complete again (after it was created or changed, or after a shard reconnected
    /// or the placement moved channels).
    Subscribed {
        /// The subscription.
        sub: super::SubId,
    },
    /// Nothing more to do now: call [`RingCore::handle_input`](super::RingCore::handle_input)
    /// with [`Input::Timeout`] at this instant, or earlier with any other input.
    /// [`Instant::MAX`] means "no timer: wait for input".
    Timeout(Instant),
}

/// A change in the ring, reported through [`Output::Event`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A shard joined the ring (`set_shards`). New shards start up; they are probed at once.
    ShardAdded {
        /// The shard's name.
        name: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
    },
    /// A shard left the ring (`set_shards`); its pending requests failed with
    /// [`Error::ShardRemoved`]. A re-addressed shard is removed, then added.
    ShardRemoved {
        /// The shard's name.
        name: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
    },
    /// A down shard passed `recover_threshold` consecutive heartbeats: it is back in the
    /// placement.
    ShardUp {
        /// The shard's name.
        name: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
    },
    /// A shard failed `fail_threshold` consecutive heartbeats: it left the placement, its keys
    /// go to the remaining shards, its connection was closed.
    ShardDown {
        /// The shard's name.
        name: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The last heartbeat failure.
        reason: Error,
    },
    /// A Sentinel-managed shard lost its primary (its connection broke or could not be
    /// opened, a `+switch-master` announcement closed it, or it was found demoted): the
    /// shard stays in the placement and its commands wait for the next primary (module
    /// `failover`). Once per failover: [`Event::Switched`] follows when a primary serves it.
    FailingOver {
        /// The shard's name.
        name: Arc<str>,
        /// The shard's address (its Sentinels and master name).
        addr: Arc<str>,
        /// What ended the connection to the primary.
        reason: Error,
    },
    /// A failing-over shard is served again: a connection to the primary the Sentinels name
    /// now (a new one after a failover, the same one if it came back) is ready.
    Switched {
        /// The shard's name.
        name: Arc<str>,
        /// The shard's address (its Sentinels and master name).
        addr: Arc<str>,
    },
}
