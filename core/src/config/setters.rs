//! [`ring_builder_setters!`](crate::ring_builder_setters): the option setters both drivers'
//! `RingBuilder`s share, written once so their names, types and docs cannot drift apart.

/// Expands, inside `impl RingBuilder { ... }` of a driver, to the builder's option setters
/// (go-redis `RingOptions` names): `placement`, `commands`, `heartbeat_interval`,
/// `heartbeat_timeout`, `probe_interval`, `fail_threshold`, `recover_threshold`,
/// `connect_timeout`, `command_timeout`, `retries`, `max_reconnect_backoff`, `limits`,
/// `protocol`, `db`, `failure_policy`, `rejoin`, `retry_backoff`, `username`, `password`,
/// `client_name`, `heartbeat_check`, `heartbeat`, `migrating_from`, `shard_options` and
/// `seed`.
///
/// The builder must have the fields `config: Config`, `hook: Option<ShardHook>` (the user's
/// per-shard hook, run after a `redis://` address's settings) and `seed: Option<u64>`, and
/// `String` must be in scope (a `std` crate). Only configuration is set here; what the
/// driver does with it at `build` is its own.
#[macro_export]
macro_rules! ring_builder_setters {
    () => {
        $crate::__ring_builder_field_setters! {
            /// How keys are placed (default: go-redis v9 rendezvous;
            /// `Algorithm::go_redis_v7()` for go-redis v7's consistent hash).
            placement: $crate::placement::Algorithm => placement;
            /// The command table used for routing (key positions and classes): register
            /// module commands' keys here.
            commands: $crate::command::CommandTable => commands;
            /// Time between two heartbeats of a healthy shard (default 500 ms).
            heartbeat_interval: $crate::time::Duration => heartbeat_interval;
            /// How long a heartbeat may take before it counts as failed (default 500 ms).
            heartbeat_timeout: $crate::time::Duration => heartbeat_timeout;
            /// Time between probes of a failing shard, and the first reconnect backoff
            /// (default 50 ms).
            probe_interval: $crate::time::Duration => probe_interval;
            /// Consecutive failed heartbeats that mark a shard down (default 3).
            fail_threshold: u32 => fail_threshold;
            /// Consecutive good heartbeats that bring a down shard back (default 1).
            recover_threshold: u32 => recover_threshold;
            /// How long connecting plus the handshake may take (default 5 s).
            connect_timeout: $crate::time::Duration => connect_timeout;
            /// Deadline of a command, retries included (default 3 s).
            command_timeout: $crate::time::Duration => command_timeout;
            /// Retries of a command that failed with a retryable error (default 3).
            retries: u32 => max_retries;
            /// Upper bound of the reconnect backoff of a down shard (default 500 ms).
            max_reconnect_backoff: $crate::time::Duration => max_reconnect_backoff;
            /// Reply decoder limits (bulk length, element count, nesting depth).
            limits: $crate::resp::Limits => limits;
            /// RESP version (default: RESP3 with fallback to RESP2).
            protocol: $crate::config::Protocol => conn.protocol;
            /// Database selected on every connection (default 0).
            db: u32 => conn.db;
            /// What a down shard means for its keys: `Rehash` (default, go-redis: its keys
            /// move to the live shards) or `FailFast` (they fail at once, naming it).
            failure_policy: $crate::config::FailurePolicy => failure_policy;
            /// How a returning shard rejoins under `Rehash` (default `Immediate`; `Flush`
            /// empties it first so that it never serves stale values).
            rejoin: $crate::config::Rejoin => rejoin;
        }

        /// Backoff before the first retry and its upper bound (default 8 ms .. 512 ms).
        pub fn retry_backoff(
            mut self,
            min: $crate::time::Duration,
            max: $crate::time::Duration,
        ) -> Self {
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

        /// Connection name (`CLIENT SETNAME`), visible in `CLIENT LIST`.
        pub fn client_name(mut self, name: impl Into<String>) -> Self {
            self.config.conn.client_name = Some(name.into());
            self
        }

        /// Judges heartbeat replies (`true`: healthy) instead of "any non-error reply".
        pub fn heartbeat_check(
            mut self,
            check: impl Fn(&$crate::resp::Value) -> bool + Send + Sync + 'static,
        ) -> Self {
            self.config.heartbeat_check = Some($crate::config::HeartbeatCheck::new(check));
            self
        }

        /// The heartbeat command (default `PING`) with a check of its reply (go-redis
        /// v9.12 `HeartbeatFn`), e.g. `INFO replication` and a replication lag limit.
        pub fn heartbeat(
            mut self,
            cmd: $crate::command::Cmd,
            check: impl Fn(&$crate::resp::Value) -> bool + Send + Sync + 'static,
        ) -> Self {
            self.config.heartbeat = $crate::config::Heartbeat::new(cmd);
            self.config.heartbeat_check = Some($crate::config::HeartbeatCheck::new(check));
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
            window: $crate::config::MigrationWindow,
        ) -> Self
        where
            I: IntoIterator<Item = (N, A)>,
            N: Into<String>,
            A: Into<String>,
        {
            self.config.migrate_from = Some($crate::config::MigrateFrom::new(old_shards, window));
            self
        }

        /// go-redis's `NewClient` hook: adjusts the connection options of each shard,
        /// called with its name, address and options (after a `redis://` address's own
        /// settings) when the shard is added.
        pub fn shard_options(
            mut self,
            hook: impl Fn(&str, &str, &mut $crate::config::ConnOptions) + Send + Sync + 'static,
        ) -> Self {
            self.hook = Some($crate::config::ShardHook::new(hook));
            self
        }

        /// Seed of the core's backoff jitter. By default a random one per ring, so that
        /// many clients do not reconnect in lockstep; fix it only for reproducible tests.
        pub fn seed(mut self, seed: u64) -> Self {
            self.seed = Some(seed);
            self
        }
    };
}

/// One setter per `name: Type => config.field;` line (implementation detail of
/// [`ring_builder_setters!`](crate::ring_builder_setters)).
#[doc(hidden)]
#[macro_export]
macro_rules! __ring_builder_field_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $($field:ident).+;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.config.$($field).+ = value;
            self
        }
    )*};
}
