//! [`RingBuilder`]: every option of the ring (go-redis `RingOptions` names, defaults from
//! the core's [`Config`]); `build` starts the core and the driver task on the runtime.
//!
//! One builder for every driver: `Flavor` says whether `build` returns the async
//! [`Ring`] or the blocking [`blocking::Ring`](crate::blocking::Ring).

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use redis_ring_core::command::CommandTable;
use redis_ring_core::config::{
    Config, ConnOptions, HeartbeatCheck, Protocol, ShardHook, ShardSpec,
};
use redis_ring_core::placement::Algorithm;
use redis_ring_core::resp::{Limits, Value};
use redis_ring_core::ring::RingCore;
use redis_ring_core::time::Instant;

use crate::net::Resolver;
use crate::pump::{Alive, Pump};
use crate::runtime::Runtime;
use crate::state::{Shared, State};
use crate::tls::TlsSettings;
use crate::Ring;

/// What [`RingBuilder::build`] returns: the async [`Ring`] ([`Async`]) or the blocking one
/// ([`Blocking`]). Sealed.
pub trait Flavor: fmt::Debug + Default + Clone + private::Sealed {}

/// `build` returns the async [`Ring`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Async;

/// `build` returns the blocking [`blocking::Ring`](crate::blocking::Ring).
#[derive(Clone, Copy, Debug, Default)]
pub struct Blocking;

impl Flavor for Async {}
impl Flavor for Blocking {}

mod private {
    pub trait Sealed {}
    impl Sealed for super::Async {}
    impl Sealed for super::Blocking {}
}

/// Builds a ring: the shards, then any option to change (go-redis `RingOptions`; the
/// defaults are go-redis's, see [`Config`]). Each driver names it for its runtime
/// (`redis_ring_smol::RingBuilder`, ...).
#[derive(Clone, Debug)]
#[must_use]
pub struct RingBuilder<Rt, F = Async> {
    config: Config,
    shards: Vec<(String, String)>,
    specs: Vec<ShardSpec>,
    hook: Option<ShardHook>,
    resolver: Resolver,
    seed: Option<u64>,
    rt: Rt,
    flavor: PhantomData<F>,
}

/// go-redis's name for the ring's options: the same type as [`RingBuilder`].
pub type RingOptions<Rt, F = Async> = RingBuilder<Rt, F>;

impl<Rt: Runtime + Default, F: Flavor> Default for RingBuilder<Rt, F> {
    fn default() -> Self {
        RingBuilder::with_runtime(Rt::default())
    }
}

impl<Rt: Runtime + Default, F: Flavor> RingBuilder<Rt, F> {
    /// A builder with no shards, the default options and `Rt::default()`.
    pub fn new() -> Self {
        Self::default()
    }
}

/// One setter per `name: Type => config.field;` line.
macro_rules! field_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $($field:ident).+;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.config.$($field).+ = value;
            self
        }
    )*};
}

impl<Rt: Runtime, F: Flavor> RingBuilder<Rt, F> {
    /// A builder with no shards and the default options, on `rt`.
    pub fn with_runtime(rt: Rt) -> Self {
        RingBuilder {
            config: Config::default(),
            shards: Vec::new(),
            specs: Vec::new(),
            hook: None,
            resolver: Resolver::default(),
            seed: None,
            rt,
            flavor: PhantomData,
        }
    }

    /// Replaces the runtime handle (for runtime options, such as smol's driver thread).
    pub fn runtime(mut self, rt: Rt) -> Self {
        self.rt = rt;
        self
    }

    /// Starts from a whole core [`Config`] (shards, the `shard_options` hook and the seed
    /// set on this builder are kept).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Adds a shard: `name` is what placement hashes (as go-redis `Addrs` keys), `addr` is
    /// `host:port` (`[::1]:6379` for IPv6), a Unix socket path, or
    /// `redis://[user[:password]@]host[:port][/db]` (the URL's credentials and database
    /// apply to this shard only).
    pub fn shard(mut self, name: impl Into<String>, addr: impl Into<String>) -> Self {
        self.shards.push((name.into(), addr.into()));
        self
    }

    /// Adds a shard from a typed [`ShardSpec`] (endpoint, TLS, weight, per-shard user,
    /// password, db and client name), placed after the `shard`/`shards` ones.
    pub fn shard_spec(mut self, spec: ShardSpec) -> Self {
        self.specs.push(spec);
        self
    }

    /// Adds shards from typed [`ShardSpec`]s, in order (after the `shard`/`shards` ones).
    pub fn shard_specs(mut self, specs: impl IntoIterator<Item = ShardSpec>) -> Self {
        self.specs.extend(specs);
        self
    }

    /// Adds shards from any `(name, addr)` pairs, such as a `HashMap` or an array.
    pub fn shards<I, N, A>(mut self, shards: I) -> Self
    where
        I: IntoIterator<Item = (N, A)>,
        N: Into<String>,
        A: Into<String>,
    {
        self.shards
            .extend(shards.into_iter().map(|(n, a)| (n.into(), a.into())));
        self
    }

    field_setters! {
        /// How keys are placed (default: go-redis v9 rendezvous;
        /// `Algorithm::go_redis_v7()` for go-redis v7's consistent hash).
        placement: Algorithm => placement;
        /// Which part of a key is hashed (default go-redis `{}`; another pair or
        /// `HashTag::NONE` to match a twemproxy pool's `hash_tag:`).
        hash_tag: redis_ring_core::placement::HashTag => hash_tag;
        /// The command table used for routing (key positions and classes): register
        /// module commands' keys here.
        commands: CommandTable => commands;
        /// Time between two heartbeats of a healthy shard (default 500 ms).
        heartbeat_interval: Duration => heartbeat_interval;
        /// How long a heartbeat may take before it counts as failed (default 500 ms).
        heartbeat_timeout: Duration => heartbeat_timeout;
        /// Time between probes of a failing shard, and the first reconnect backoff
        /// (default 50 ms).
        probe_interval: Duration => probe_interval;
        /// Consecutive failed heartbeats that mark a shard down (default 3).
        fail_threshold: u32 => fail_threshold;
        /// Consecutive good heartbeats that bring a down shard back (default 1).
        recover_threshold: u32 => recover_threshold;
        /// How long connecting plus the handshake may take (default 5 s).
        connect_timeout: Duration => connect_timeout;
        /// Deadline of a command, retries included (default 3 s).
        command_timeout: Duration => command_timeout;
        /// Retries of a command that failed with a retryable error (default 3).
        retries: u32 => max_retries;
        /// Upper bound of the reconnect backoff of a down shard (default 500 ms).
        max_reconnect_backoff: Duration => max_reconnect_backoff;
        /// Reply decoder limits (bulk length, element count, nesting depth).
        limits: Limits => limits;
        /// The most bytes one reply may hold (default 64 MiB). A reply over it (a string
        /// announcing more, at top level or inside an array such as an `MGET` element, or
        /// an aggregate adding up to more) fails only its own request
        /// (`Error::ReplyTooLarge`) and is skipped as it streams in; the connection stays up.
        max_reply_len: usize => max_reply_len;
        /// Per-shard bound on queued bytes and commands, and what happens at it
        /// (default: 64 MiB / 100 000 commands, callers wait).
        queue_limit: redis_ring_core::config::QueueLimit => queue_limit;
        /// What a down shard means for its keys: `Rehash` (default, go-redis: its keys
        /// move to the live shards) or `FailFast` (they fail at once, naming it).
        failure_policy: redis_ring_core::config::FailurePolicy => failure_policy;
        /// How a returning shard rejoins under `Rehash` (default `Immediate`; `Flush`
        /// empties it first so that it never serves stale values).
        rejoin: redis_ring_core::config::Rejoin => rejoin;
        /// Where the read-only commands of a shard with replicas go (a Sentinel-managed
        /// shard, or one listing them: `redis://h:p?replica=h:p`, `ShardSpec::replica`):
        /// `Primary` (default), `PreferReplica` (a replica while one is reachable) or
        /// `Replica`.
        read_from: redis_ring_core::config::ReadFrom => read_from;
        /// RESP version (default: RESP3 with fallback to RESP2).
        protocol: Protocol => conn.protocol;
        /// Database selected on every connection (default 0).
        db: u32 => conn.db;
    }

    /// Backoff before the first retry and its upper bound (default 8 ms .. 512 ms).
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.config.min_retry_backoff = min;
        self.config.max_retry_backoff = max;
        self
    }

    /// ACL user name for every shard (with [`password`](Self::password)).
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.config.conn.username = Some(username.into());
        self
    }

    /// Password for every shard (`AUTH`, or `HELLO 3 AUTH`).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.config.conn.password = Some(password.into());
        self
    }

    /// TLS for every shard, with these settings (CA, client certificate, server name...).
    /// Without it only `rediss://` shards (or specs with `tls`) use TLS, with the system's
    /// CAs unless their spec carries settings.
    pub fn tls(mut self, settings: TlsSettings) -> Self {
        self.config.tls = Some(settings.into_options());
        self
    }

    /// Connection name (`CLIENT SETNAME`), visible in `CLIENT LIST`.
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.config.conn.client_name = Some(name.into());
        self
    }

    /// Judges heartbeat replies (`true`: healthy) instead of "any non-error reply".
    pub fn heartbeat_check(
        mut self,
        check: impl Fn(&Value) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.config.heartbeat_check = Some(HeartbeatCheck::new(check));
        self
    }

    /// The heartbeat command (default `PING`) with a check of its reply (go-redis
    /// v9.12 `HeartbeatFn`), e.g. `INFO replication` and a replication lag limit.
    pub fn heartbeat(
        mut self,
        cmd: redis_ring_core::command::Cmd,
        check: impl Fn(&Value) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.config.heartbeat = redis_ring_core::config::Heartbeat::new(cmd);
        self.config.heartbeat_check = Some(HeartbeatCheck::new(check));
        self
    }

    /// Starts with a migration window open from the ring of `old_shards` (`(name,
    /// host:port)`, the ring's connection options) to this ring's shards: keys whose
    /// owner changed are read at the new owner then the old one, and moved to the new
    /// owner (`MIGRATE`) before any other command, until the window closes (after
    /// `window.duration`, if set). Run `redis-ring migrate` meanwhile to move the rest.
    pub fn migrating_from<I, N, A>(
        mut self,
        old_shards: I,
        window: redis_ring_core::config::MigrationWindow,
    ) -> Self
    where
        I: IntoIterator<Item = (N, A)>,
        N: Into<String>,
        A: Into<String>,
    {
        self.config.migrate_from = Some(redis_ring_core::config::MigrateFrom::new(
            old_shards, window,
        ));
        self
    }

    /// go-redis's `NewClient` hook: adjusts the connection options of each shard, called
    /// with its name, endpoint and options (after the shard's own overrides, from its
    /// `redis://` address or [`ShardSpec`]) when the shard is added.
    pub fn shard_options(
        mut self,
        hook: impl Fn(&str, &str, &mut ConnOptions) + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(ShardHook::new(hook));
        self
    }

    /// Resolves shard host names with `resolve(host, port)` instead of the system resolver
    /// (`getaddrinfo`): service discovery, a fixed table, or tests. It runs on a short-lived
    /// thread of its own (it may block) each time a shard named by a host name connects; the
    /// addresses it returns are tried in order until one accepts (as with the system's
    /// answer). An error or an empty list fails the connect with
    /// [`NetError::Resolve`](redis_ring_core::error::NetError::Resolve). IP literals and Unix
    /// paths are never passed to it.
    pub fn resolver(
        mut self,
        resolve: impl Fn(&str, u16) -> io::Result<Vec<std::net::SocketAddr>> + Send + Sync + 'static,
    ) -> Self {
        self.resolver = Resolver::new(Arc::new(resolve));
        self
    }

    /// Seed of the core's backoff jitter. By default a random one per ring, so that many
    /// clients do not reconnect in lockstep; fix it only for reproducible tests.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

impl<Rt: Runtime> RingBuilder<Rt, Async> {
    /// Starts the ring: the core, and its driver task on the runtime. Connections open as
    /// the core decides (it probes new shards at once).
    ///
    /// # Errors
    /// [`BuildError::Address`] for a shard address that cannot be parsed;
    /// [`BuildError::Io`] when the runtime could not start the driver.
    pub fn build(self) -> Result<Ring<Rt>, BuildError> {
        start(self)
    }
}

impl<Rt: Runtime> RingBuilder<Rt, Blocking> {
    /// Starts the ring (as the async builder's `build`) and returns its blocking handle.
    ///
    /// # Errors
    /// As the async `build`.
    pub fn build(self) -> Result<crate::blocking::Ring<Rt>, BuildError> {
        start(self).map(crate::blocking::Ring::from_async)
    }
}

/// Builds the core and spawns the driver task.
pub(crate) fn start<Rt: Runtime, F: Flavor>(b: RingBuilder<Rt, F>) -> Result<Ring<Rt>, BuildError> {
    let RingBuilder {
        mut config,
        shards,
        specs,
        hook,
        resolver,
        seed,
        rt,
        flavor: _,
    } = b;
    let mut shards = parse_shards(shards)?;
    shards.extend(specs);
    if let Some(hook) = hook {
        config.new_client = Some(hook);
    }
    config.seed = seed.unwrap_or_else(random_seed);
    let shared = Arc::new(Shared::new(RingCore::new(config, Instant::ZERO)));
    let (done_tx, done_rx) = async_channel::bounded(1);
    let pump = Pump::new(shared.clone(), rt.clone(), resolver, Alive::new(done_tx));
    rt.spawn(Box::pin(pump.run())).map_err(BuildError::Io)?;
    shared.with(|st| {
        shared.set_caller_poll(st, rt.caller_poll());
        apply_shards(&shared, st, shards);
    });
    Ok(Ring::from_parts(shared, rt, done_rx))
}

/// Gives the core a new shard set.
pub(crate) fn apply_shards(shared: &Shared, st: &mut State, shards: Vec<ShardSpec>) {
    st.core.set_shards(shards, shared.now());
    st.drain();
}

/// Parses every shard address (once, in the core: [`ShardSpec::parse`]).
pub(crate) fn parse_shards(shards: Vec<(String, String)>) -> Result<Vec<ShardSpec>, BuildError> {
    shards
        .into_iter()
        .map(|(name, a)| {
            let bad = |reason| BuildError::Address {
                addr: redact(&a),
                shard: name.clone(),
                reason,
            };
            let spec = ShardSpec::parse(name.as_str(), &a).map_err(|e| bad(e.reason()))?;
            Ok(spec)
        })
        .collect()
}

/// `addr` with the password of a URL's user info replaced by `***`.
fn redact(addr: &str) -> String {
    let Some((scheme, rest)) = addr.split_once("://") else {
        return addr.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return addr.to_owned();
    };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    format!("{scheme}://{user}:***@{host}")
}

/// A fresh random seed for the core's jitter (std's per-process random hash keys mixed
/// with the clock: no dependency needed for 64 unpredictable bits).
pub(crate) fn random_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// Why `build` or `set_shards` failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// A shard address could not be parsed.
    Address {
        /// The shard's name.
        shard: String,
        /// The address, with any password hidden.
        addr: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The runtime could not start the driver (task or thread).
    Io(io::Error),
    /// The ring was closed.
    Closed,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Address {
                shard,
                addr,
                reason,
            } => write!(f, "shard {shard}: bad address {addr:?}: {reason}"),
            BuildError::Io(e) => write!(f, "cannot start the ring's driver: {e}"),
            BuildError::Closed => f.write_str("the ring was closed"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Io(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_passwords_only() {
        assert_eq!(redact("redis://u:pw@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redact("redis://:pw@h:1"), "redis://:***@h:1");
        assert_eq!(redact("h:1"), "h:1");
    }
}
