//! [`Config`]: every knob of the ring client, with go-redis's defaults.
//!
//! A `Config` is plain data plus two optional hooks, all `Clone + Send + Sync`, so a driver can
//! keep it inside a thread-safe client handle. Build one with [`Config::default`] and assign
//! the fields you want to change (the struct is `#[non_exhaustive]`, so new knobs can be added
//! without breaking you):
//!
//! ```
//! use redis_ring_core::config::{Config, Protocol, ShardHook};
//! use redis_ring_core::time::Duration;
//!
//! let mut config = Config::default();
//! config.heartbeat_interval = Duration::from_millis(250);
//! config.conn.password = Some("s3cret".into());
//! config.conn.protocol = Protocol::Resp2;
//! // go-redis's `NewClient` hook: adjust the connection options of one shard.
//! config.new_client = Some(ShardHook::new(|name, _addr, opts| {
//!     if name == "legacy" {
//!         opts.db = 3;
//!     }
//! }));
//! assert_eq!(config.fail_threshold, 3);
//! ```

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

use crate::command::CommandTable;
use crate::placement::{Algorithm, HashTag};
use crate::resp::{Limits, Value};
use crate::time::Duration;

mod addr;
mod policy;
pub mod sentinel;
mod spec;
pub use addr::{redact_addr, AddrError};
pub use policy::{FailurePolicy, Heartbeat, MigrateFrom, MigrationWindow, ReadFrom, Rejoin};
pub use spec::{Endpoint, IntoShardSpec, ShardSpec, TlsOptions};

/// Which RESP version connections speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// RESP3 (`HELLO 3`), falling back to RESP2 on a server that does not know `HELLO`
    /// (Redis < 6). The default.
    #[default]
    Auto,
    /// RESP3 only: a server without `HELLO 3` is a handshake error.
    Resp3,
    /// RESP2 only: never sends `HELLO`; authenticates with `AUTH`.
    Resp2,
}

/// How to open and set up a connection to one shard: the part of the configuration the
/// [`ShardHook`] may change per shard (go-redis's per-shard `redis.Options`).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnOptions {
    /// RESP version (default [`Protocol::Auto`]).
    pub protocol: Protocol,
    /// ACL user name (`AUTH user pass`); `None` with a password means the `default` user.
    pub username: Option<String>,
    /// Password; no authentication when `None`.
    pub password: Option<String>,
    /// Database index selected after connecting (`SELECT db`, only sent when not 0).
    pub db: u32,
    /// Connection name (`CLIENT SETNAME`, or `HELLO ... SETNAME`).
    pub client_name: Option<String>,
}

impl fmt::Debug for ConnOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password.
        f.debug_struct("ConnOptions")
            .field("protocol", &self.protocol)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("client_name", &self.client_name)
            .finish()
    }
}

/// The per-shard options hook (go-redis `RingOptions.NewClient`): called once when a shard is
/// added, with its name, its address and a copy of [`Config::conn`] to adjust.
#[derive(Clone)]
pub struct ShardHook(Arc<ShardHookFn>);

/// The function behind a [`ShardHook`]: `(name, addr, options)`.
type ShardHookFn = dyn Fn(&str, &str, &mut ConnOptions) + Send + Sync;

impl ShardHook {
    /// Wraps `f(name, addr, options)`.
    pub fn new(f: impl Fn(&str, &str, &mut ConnOptions) + Send + Sync + 'static) -> ShardHook {
        ShardHook(Arc::new(f))
    }

    /// Runs the hook.
    pub fn apply(&self, name: &str, addr: &str, options: &mut ConnOptions) {
        (self.0)(name, addr, options);
    }
}

impl fmt::Debug for ShardHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShardHook(..)")
    }
}

/// Judges a heartbeat reply: `true` means the shard is healthy. The default (no hook) accepts
/// any reply that is not an error.
#[derive(Clone)]
pub struct HeartbeatCheck(Arc<dyn Fn(&Value) -> bool + Send + Sync>);

impl HeartbeatCheck {
    /// Wraps `f(reply) -> healthy`.
    pub fn new(f: impl Fn(&Value) -> bool + Send + Sync + 'static) -> HeartbeatCheck {
        HeartbeatCheck(Arc::new(f))
    }

    /// Runs the check.
    pub fn check(&self, reply: &Value) -> bool {
        (self.0)(reply)
    }
}

impl fmt::Debug for HeartbeatCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HeartbeatCheck(..)")
    }
}

/// A per-shard bound on the requests waiting for one shard's shared connection
/// ([`Config::queue_limit`]): bytes not yet written to its socket, and commands queued or in
/// flight (sent, reply not yet received). Heartbeats are never held back by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueLimit {
    /// Most bytes of commands not yet written to the shard's socket. Default 64 MiB.
    pub max_bytes: usize,
    /// Most commands queued or in flight on the shard's shared connection. Default 100 000.
    pub max_commands: usize,
    /// What happens to a request that would exceed the bound.
    pub when_full: WhenFull,
}

impl Default for QueueLimit {
    fn default() -> Self {
        QueueLimit {
            max_bytes: 64 << 20,
            max_commands: 100_000,
            when_full: WhenFull::Wait,
        }
    }
}

/// What happens to a request whose shard's queue is full ([`QueueLimit`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WhenFull {
    /// The request waits in the core (holding only the caller's command, never a second copy
    /// in a send buffer) until the shard's queue has room, in arrival order, bounded by the
    /// request's own timeout ([`Error::Timeout`](crate::error::Error::Timeout) naming the
    /// shard). Backpressure with no driver support needed: the caller waits for its reply
    /// as for any other request.
    #[default]
    Wait,
    /// The request fails at once with
    /// [`Error::ShardOverloaded`](crate::error::Error::ShardOverloaded) naming the shard.
    Fail,
}

/// Every setting of the ring client. See the module docs for how to build one.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// How keys are placed over the live shards (default: go-redis v9 rendezvous).
    pub placement: Algorithm,
    /// Which part of a key placement hashes: go-redis `{}` (default), another pair (a
    /// twemproxy pool's `hash_tag:`), or [`HashTag::NONE`] (twemproxy's default).
    pub hash_tag: HashTag,
    /// The command table used for routing: the built-in Redis 7.0 key specs plus your
    /// registrations (module commands). Unknown commands are routed by their first argument.
    pub commands: CommandTable,
    /// Time between two heartbeats (`PING`) of a healthy shard. Default 500 ms (go-redis
    /// `HeartbeatFrequency`).
    pub heartbeat_interval: Duration,
    /// How long a heartbeat (including the connect and handshake it may need) may take before
    /// it counts as failed. Default 500 ms. While replies keep arriving on the heartbeat's
    /// connection (a backlog of pipelined requests ahead of the `PING`), the wait is extended:
    /// a busy shard is not a hung one. A shard that answers nothing for this long (a slow
    /// script, `KEYS` on a big database) counts as failing.
    pub heartbeat_timeout: Duration,
    /// The heartbeat command (default `PING`; any command, e.g. `INFO replication`).
    pub heartbeat: Heartbeat,
    /// Judges heartbeat replies; `None` (default) accepts any non-error reply.
    pub heartbeat_check: Option<HeartbeatCheck>,
    /// What a down shard means for its keys (default [`FailurePolicy::Rehash`]).
    pub failure_policy: FailurePolicy,
    /// How a shard that was down rejoins under `Rehash` (default [`Rejoin::Immediate`]).
    pub rejoin: Rejoin,
    /// Where the reads of a shard with replicas go (a Sentinel-managed shard, or a plain
    /// one listing them, [`ShardSpec::replicas`]; default [`ReadFrom::Primary`]).
    pub read_from: ReadFrom,
    /// A replica further behind its primary than this (bytes of the replication stream,
    /// judged at every heartbeat from `ROLE` on both) stops serving reads (default 1 MiB).
    pub max_replica_lag: u64,
    /// Start with a migration window open from another ring's placement (default `None`).
    /// The first `set_shards` adds the old shards, then moves to the given ones with
    /// `RingCore::set_shards_with_window`.
    pub migrate_from: Option<MigrateFrom>,
    /// Time between probes of a shard that is failing but not yet down, and the first delay
    /// of the reconnect backoff of a down shard. Default 50 ms. A connect refusal, reset or
    /// timeout seen by a real command triggers a probe at once.
    pub probe_interval: Duration,
    /// Consecutive failed heartbeats that mark a shard down. Default 3.
    pub fail_threshold: u32,
    /// Consecutive successful heartbeats that bring a down shard back up. Default 1.
    pub recover_threshold: u32,
    /// How long opening a connection plus its handshake may take. Default 5 s.
    pub connect_timeout: Duration,
    /// Default deadline of a request, from `submit` to its reply, retries included; a request
    /// can override it (`RingCore::submit_with_timeout`). Default 3 s.
    pub command_timeout: Duration,
    /// Retries of a request that failed with a retryable error ([`Error::is_retryable`](crate::error::Error::is_retryable)),
    /// each re-routed over the shards live at that moment. Default 3 (so 4 attempts).
    ///
    /// Only what provably did not run is retried (never completely written, connection
    /// refused, a `LOADING`/`TRYAGAIN`/`MASTERDOWN`-style error reply), or what is safe to
    /// repeat (read-only per the command table, or [`Cmd::idempotent`](crate::command::Cmd::idempotent)).
    /// A command written whole before its connection broke fails with
    /// [`Error::MayHaveRun`](crate::error::Error::MayHaveRun) instead (go-redis re-sends it).
    pub max_retries: u32,
    /// Backoff before the first retry; it doubles on each retry, with jitter. Default 8 ms.
    pub min_retry_backoff: Duration,
    /// Upper bound of the retry backoff. Default 512 ms.
    pub max_retry_backoff: Duration,
    /// Upper bound of the reconnect backoff of a down shard (it starts at `probe_interval`
    /// and doubles, with jitter). Keep it at most `heartbeat_interval` so a restarted shard
    /// is seen within one heartbeat. Default 500 ms.
    pub max_reconnect_backoff: Duration,
    /// Connection options of every shard (protocol, credentials, db, client name).
    pub conn: ConnOptions,
    /// TLS for every shard (`None`: only `rediss://` shards use TLS). Its settings also
    /// serve `rediss://` shards that carry none of their own.
    pub tls: Option<TlsOptions>,
    /// Per-shard adjustment of [`Config::conn`] (go-redis `NewClient`).
    pub new_client: Option<ShardHook>,
    /// Decoder limits for replies (bulk length, element count, nesting depth).
    pub limits: Limits,
    /// Most bytes one reply may hold. A reply over it fails only its own request
    /// ([`Error::ReplyTooLarge`](crate::error::Error::ReplyTooLarge)): the connection skips
    /// the rest of that reply (the whole frame) as it streams in, never buffering it, and
    /// stays up for every other request. Default 64 MiB. A reply is over it when:
    /// * a string in it (at top level, or an element of an array, map or set at any depth:
    ///   `MGET`, `LRANGE`, `HGETALL`...) announces more bytes: it fails as soon as that
    ///   string's header arrives, reporting the announced length;
    /// * or its bytes add up to more (an aggregate of many strings each under the limit): it
    ///   fails once that many bytes of it have arrived, reporting how many had. The whole
    ///   reply counts, headers included, because a reply is buffered whole before it can be
    ///   decoded: this is what bounds that buffer.
    ///
    /// Frames no request waits for (RESP3 pushes, pub/sub messages) and handshake replies
    /// over the limit still drop the connection
    /// ([`ErrorKind::ReplyTooLong`](crate::resp::ErrorKind::ReplyTooLong)): a subscriber
    /// must not lose a message silently. A string over the protocol's own bulk limit ([`Limits::max_bulk_len`]) is a
    /// broken peer, not a large reply: the connection is dropped too.
    ///
    /// Why it exists: [`Limits`] bound each bulk string (512 MiB, Redis's
    /// `proto-max-bulk-len`) and each aggregate's element count, but not a whole reply (an
    /// array of large bulks is unbounded), and the decoder never allocates from a claimed
    /// length, so memory only grows with bytes that really arrive: this is the bound on what
    /// a misbehaving (or hostile) server can make the client hold per connection. A reply
    /// that completes is then copied once into its [`Value`], so the peak is about twice
    /// the reply (measured: a 256 MiB bulk peaks at +512 MiB of resident memory).
    ///
    /// The default is far above what a cache normally returns, and far below what would
    /// hurt a service; raise it (up to `usize::MAX`: no cap) for replies of hundreds of MiB.
    pub max_reply_len: usize,
    /// Per-shard bound on what waits for one shard (a stuck or slow shard must not make the
    /// client hold unbounded memory), and what happens at the bound. Default: 64 MiB of
    /// unwritten bytes or 100 000 commands queued or in flight; callers then wait.
    pub queue_limit: QueueLimit,
    /// Seed of the jitter the core adds to backoffs. The core has no entropy of its own:
    /// drivers should pass a random value; the simulator passes its run's seed.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            placement: Algorithm::default(),
            hash_tag: HashTag::GO_REDIS,
            commands: CommandTable::new(),
            heartbeat_interval: Duration::from_millis(500),
            heartbeat_timeout: Duration::from_millis(500),
            heartbeat: Heartbeat::default(),
            heartbeat_check: None,
            failure_policy: FailurePolicy::Rehash,
            rejoin: Rejoin::Immediate,
            read_from: ReadFrom::Primary,
            max_replica_lag: 1 << 20,
            migrate_from: None,
            probe_interval: Duration::from_millis(50),
            fail_threshold: 3,
            recover_threshold: 1,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(3),
            max_retries: 3,
            min_retry_backoff: Duration::from_millis(8),
            max_retry_backoff: Duration::from_millis(512),
            max_reconnect_backoff: Duration::from_millis(500),
            conn: ConnOptions::default(),
            tls: None,
            new_client: None,
            limits: Limits::default(),
            max_reply_len: 64 << 20,
            queue_limit: QueueLimit::default(),
            seed: 0x5eed_2b1d_9e37_79b9,
        }
    }
}

impl Config {
    /// The connection options of shard `name` at `addr`: [`Config::conn`] passed through
    /// [`Config::new_client`].
    pub fn conn_options_for(&self, name: &str, addr: &str) -> ConnOptions {
        let mut opts = self.conn.clone();
        if let Some(hook) = &self.new_client {
            hook.apply(name, addr, &mut opts);
        }
        opts
    }

    /// The connection options of the shard `spec`: the ring-wide ones, the spec's own
    /// overrides (from its `redis://` address or set on it), then the `new_client` hook.
    pub fn conn_options_for_spec(&self, spec: &ShardSpec) -> ConnOptions {
        let mut opts = self.conn.clone();
        spec.apply(&mut opts);
        if let Some(hook) = &self.new_client {
            let addr = alloc::string::ToString::to_string(&spec.endpoint);
            hook.apply(&spec.name, &addr, &mut opts);
        }
        opts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn hook_changes_one_shard_and_debug_hides_password() {
        let mut c = Config::default();
        c.conn.password = Some("pw".into());
        c.new_client = Some(ShardHook::new(|name, _, o| {
            if name == "b" {
                o.password = Some("other".into());
            }
        }));
        assert_eq!(c.conn_options_for("a", "x").password.as_deref(), Some("pw"));
        assert_eq!(
            c.conn_options_for("b", "x").password.as_deref(),
            Some("other")
        );
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("pw\""), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn config_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Config>();
    }
}
