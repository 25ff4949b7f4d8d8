//! The shared scenario suite: one set of end-to-end scenarios against real `redis-server`
//! shards, written once and run unchanged against every driver.
//!
//! # How a driver runs it
//!
//! A driver's test crate implements [`RingUnderTest`] for a small adapter around its `Ring`
//! (blocking-style calls; an async driver wraps its futures in `block_on`) and expands
//! [`scenario_tests!`](crate::scenario_tests) once:
//!
//! ```ignore
//! // driver-xyz/tests/scenarios.rs
//! struct Adapter { ring: redis_ring_xyz::Ring }
//! impl redis_ring_tests::scenarios::RingUnderTest for Adapter { /* ... */ }
//! redis_ring_tests::scenario_tests!(Adapter);
//! ```
//!
//! An async driver (`redis_ring_driver::Ring<Rt>`) needs no adapter of its own: it describes
//! its runtime ([`AsyncRuntime`](crate::async_adapter::AsyncRuntime)) and expands the suite
//! with [`AsyncRing`](crate::async_adapter::AsyncRing)`<ItsRuntime>`.
//!
//! That expands to one `#[test]` per scenario; expand it once per test binary (the
//! isolated scenarios find themselves by test name). Scenarios that need something the core does
//! not offer yet are `#[ignore = "needs ... in core"]` in the macro (one place for every
//! driver); run them with `cargo test -- --include-ignored` to see where things stand.
//!
//! # Rules the suite keeps
//!
//! * Every scenario starts its own servers (never fixed ports) and its own ring, with short
//!   heartbeats and timeouts ([`fast_config`]) so the whole suite stays fast.
//! * Timing-sensitive scenarios (kill/pause under load, 10k tasks) take the suite's exclusive
//!   lock so they do not run beside other scenarios of the same test binary; the others share
//!   it (see [`guard`]).
//! * Scenarios that count the process's file descriptors or threads re-run themselves in a
//!   child process where nothing else runs (see [`isolated`]).
//! * Where a key ends up is checked on the servers themselves with
//!   [`RawConn`](crate::harness::RawConn), never only through the client under test.

pub mod addrs;
pub mod auth;
pub mod basic;
pub mod faults;
pub mod load;
pub mod migration;
pub mod multi;
pub mod options;
pub mod policy;
pub mod pubsub;
pub mod replicas;
pub mod sentinel;
pub mod tls;
pub mod topology;

mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use redis_ring_driver::{Flavor, RingBuilder, Runtime};

pub use redis_ring_core::command::Cmd;
pub use redis_ring_core::config::Config;
pub use redis_ring_core::config::ShardSpec;
pub use redis_ring_core::error::Error;
pub use redis_ring_core::resp::Value;
pub use redis_ring_core::ring::Event;
pub use redis_ring_core::stats::ErrorCounts;
pub use redis_ring_core::stats::ShardCounters;

pub use util::{fast_config, guard, isolated, Guard};

/// Whatever a driver's builder reports (drivers have their own build error types).
pub type BuildError = Box<dyn std::error::Error + Send + Sync>;

/// What a scenario needs to build a ring: the shards and the configuration.
///
/// `shards` are `(name, address)` pairs in placement order; an address is `host:port` or a
/// `redis://[user[:password]@]host:port[/db]` URL, which the driver's builder accepts too.
/// `config` carries every knob of the core (heartbeat, thresholds, timeouts, retries,
/// credentials, db, client name, protocol); the adapter passes it to its driver's builder
/// as it is (both drivers' builders are thin layers over [`Config`]).
#[derive(Clone, Debug, Default)]
pub struct RingSpec {
    /// `(name, address)` pairs, in placement order.
    pub shards: Vec<(String, String)>,
    /// The core configuration.
    pub config: Config,
    /// Typed shards placed after `shards` (`RingBuilder::shard_specs`): per-shard TLS
    /// settings, weights, credentials.
    pub specs: Vec<ShardSpec>,
    /// `RingBuilder::resolver`: how host names resolve (`None`: the system resolver).
    pub resolver: Option<Resolve>,
}

/// A host-name resolver for [`RingSpec::resolver`]: `(host, port)` to addresses.
#[derive(Clone)]
pub struct Resolve(pub Arc<ResolveFn>);

/// The function behind a [`Resolve`].
pub type ResolveFn = dyn Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync;

impl std::fmt::Debug for Resolve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolve(..)")
    }
}

impl RingSpec {
    /// Sets everything this spec says on a driver's builder (every driver's builder is
    /// `redis_ring_driver::RingBuilder`): the configuration and its seed, the shards, the
    /// typed shards and the resolver. The adapter's `build` is then this and `build()`.
    pub fn configure<Rt: Runtime, F: Flavor>(&self, b: RingBuilder<Rt, F>) -> RingBuilder<Rt, F> {
        let b = b
            .config(self.config.clone())
            .seed(self.config.seed)
            .shards(self.shards.iter().cloned())
            .shard_specs(self.specs.iter().cloned());
        match &self.resolver {
            Some(Resolve(f)) => {
                let f = f.clone();
                b.resolver(move |host, port| f(host, port))
            }
            None => b,
        }
    }
}

/// One shard as the driver reports it (from its `stats()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardView {
    /// The shard's name.
    pub name: String,
    /// The shard's address, as configured.
    pub addr: String,
    /// Whether the shard is up (in the placement).
    pub up: bool,
    /// Its failover counters (`ShardStats::counters`): `demoted`, `failover_waits`,
    /// `replicas_skipped`, in this order.
    pub failover: [u64; 3],
    /// Requests on the shard's connection, written or not yet (`in_flight + queued`).
    pub pending: usize,
    /// Requests that ended on the shard (its `ShardCounters::commands`).
    pub commands: u64,
    /// Their failures by kind (its `ShardCounters::errors`).
    pub errors: ErrorCounts,
}

impl ShardView {
    /// The failover counters of `stats()`'s counters, as [`ShardView::failover`] holds them.
    pub fn failover_of(c: &ShardCounters) -> [u64; 3] {
        [c.demoted, c.failover_waits, c.replicas_skipped]
    }
}

/// Which flavour of subscription ([`RingUnderTest::subscribe`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubKind {
    /// `SUBSCRIBE channel...`: each channel on the shard its name hashes to.
    Channel,
    /// `PSUBSCRIBE pattern...`: a pattern can match channels of any shard.
    Pattern,
    /// `SSUBSCRIBE shardchannel...` (Redis 7 sharded pub/sub).
    Sharded,
}

/// One pub/sub message as a subscriber receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The channel the message was published to.
    pub channel: Vec<u8>,
    /// The pattern that matched, for [`SubKind::Pattern`].
    pub pattern: Option<Vec<u8>>,
    /// The payload.
    pub payload: Vec<u8>,
}

/// A subscription: messages as they arrive.
pub trait Subscription: Send {
    /// The next message, waiting at most `timeout`; `None` when none came in time. `Some(Err)`
    /// reports a failure of the subscription itself.
    fn next_message(&mut self, timeout: Duration) -> Option<Result<Message, Error>>;
}

/// The ring's events (`Ring::events()`), as a blocking receiver.
pub trait EventStream: Send {
    /// The next event, waiting at most `timeout`; `None` when none came in time.
    fn next_event(&mut self, timeout: Duration) -> Option<Event>;
}

/// A load of concurrent tasks for [`RingUnderTest::run_concurrent`].
///
/// Task `t` runs `next(t, 0)`, then `next(t, 1)`, ... each command awaited before the next is
/// asked for, until `next` returns `None`; each result goes to `done` with the same
/// `(task, i)` and the time the call took (from just before the driver's call to its
/// return). Both methods are called from the task itself and must be cheap.
pub trait Job: Sync {
    /// The `i`-th command of task `task`, or `None` when the task is finished.
    fn next(&self, task: usize, i: u64) -> Option<Cmd>;
    /// The result of that command and how long the call took.
    fn done(&self, task: usize, i: u64, result: Result<Value, Error>, elapsed: Duration);
}

/// What the scenario suite needs from a driver: its `Ring`, called in blocking style.
///
/// Every method maps onto one call of the driver's public API (named in its docs) and must
/// not add behaviour of its own: the adapter is a translation, not a second client.
// `len` is go-redis's name for the number of live shards; "empty" would mean nothing here.
#[allow(clippy::len_without_is_empty)]
pub trait RingUnderTest: Sized + Send + Sync + 'static {
    /// The driver's subscription type.
    type Sub: Subscription;
    /// The driver's event receiver.
    type Events: EventStream;

    /// The driver's name, for messages.
    const DRIVER: &'static str;

    /// Builds a ring (`Ring::builder()...build()`). Connections may open lazily. A builder
    /// error (a malformed address, say) is returned as the driver reports it.
    fn build(spec: &RingSpec) -> Result<Self, BuildError>;

    /// `Ring::cmd`: any command, routed by its key.
    fn cmd(&self, cmd: Cmd) -> Result<Value, Error>;

    /// `Ring::cmd_timeout`: [`RingUnderTest::cmd`] with its own timeout in place of the
    /// ring's command timeout.
    fn cmd_timeout(&self, cmd: Cmd, timeout: Duration) -> Result<Value, Error>;

    /// `Ring::pipeline()` with `cmds` queued in order, then run: one result per command, in
    /// submission order.
    fn pipeline(&self, cmds: Vec<Cmd>) -> Vec<Result<Value, Error>>;

    /// `Ring::mget`: values in key order (`None` for a missing key).
    fn mget(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error>;
    /// `Ring::mset`.
    fn mset(&self, pairs: &[(&str, &str)]) -> Result<(), Error>;
    /// `Ring::del`: the number of keys removed, summed over shards.
    fn del(&self, keys: &[&str]) -> Result<i64, Error>;
    /// `Ring::exists`: the number of keys that exist, summed over shards.
    fn exists(&self, keys: &[&str]) -> Result<i64, Error>;

    /// `Ring::transaction(keys, f)` with `f` doing: run `reads` on the transaction's
    /// connection (after `WATCH keys`), then queue `write(read replies)` between `MULTI` and
    /// `EXEC`. The driver retries `f` when a watched key changed (optimistic locking), as
    /// its `transaction` does. Returns the `EXEC` replies.
    fn transaction(
        &self,
        keys: &[&str],
        reads: &[Cmd],
        write: &(dyn Fn(&[Value]) -> Vec<Cmd> + Sync),
    ) -> Result<Vec<Value>, Error>;

    /// `Ring::subscribe` / `psubscribe` / `ssubscribe`. Returns once every subscription is
    /// confirmed by its shard, so a message published afterwards is received.
    fn subscribe(&self, kind: SubKind, channels: &[&str]) -> Result<Self::Sub, Error>;
    /// `Ring::publish`: the number of subscribers that received it (on the channel's shard).
    fn publish(&self, channel: &str, payload: &str) -> Result<i64, Error>;

    /// `Ring::for_each_shard` running `cmd` on every live shard: `(shard name, result)`.
    fn for_each_shard(&self, cmd: &Cmd) -> Vec<(String, Result<Value, Error>)>;
    /// `Ring::mget_per_key`: `MGET` across shards with one result per key (a failed shard
    /// fails only its own keys).
    fn mget_per_key(&self, keys: &[&str]) -> Vec<Result<Option<Vec<u8>>, Error>>;
    /// `Ring::scan` with `MATCH pattern`: every key of every shard, in the order the scan
    /// yields them (duplicates included, so a scenario can check there are none).
    fn scan(&self, pattern: &str) -> Result<Vec<String>, Error>;
    /// `Ring::shard_for_key`: the name of the live shard that owns `key` now.
    fn shard_for_key(&self, key: &str) -> Option<String>;
    /// `Ring::len`: live shards.
    fn len(&self) -> usize;
    /// `Ring::set_shards`.
    fn set_shards(&self, shards: &[(String, String)]);
    /// `Ring::stats`, reduced to what the suite checks.
    fn shards(&self) -> Vec<ShardView>;
    /// `Ring::events`: a receiver of every event from now on.
    fn events(&self) -> Self::Events;

    /// Runs `tasks` concurrent tasks of `job` and returns when all are finished. An async
    /// driver runs them as tasks; a blocking driver as threads (it may bound the number of
    /// simultaneous threads, but must run at least `min(tasks, 64)` at once).
    fn run_concurrent(&self, tasks: usize, job: &dyn Job);

    /// `Ring::clone`: another handle to the same ring.
    fn clone_handle(&self) -> Self;

    /// `Ring::idempotent`: another handle to the same ring through which every command
    /// (`cmd`, `pipeline`...) is declared idempotent.
    fn idempotent(&self) -> Self;

    /// `Ring::close`, then drop: every connection closed, every background task or thread
    /// finished when this returns. (Dropping the adapter without `close` must simply drop
    /// the driver's handle: the adapter implements no `Drop` of its own.)
    fn close(self);

    /// Background tasks (async) or threads (blocking) the driver runs at this moment across
    /// all its rings in this process. The leak scenarios check that it returns to its
    /// earlier value once rings are closed or dropped.
    fn background_tasks() -> usize;
}

/// Expands to one `#[test]` per scenario of the shared suite for the adapter type `$ring`
/// (which implements [`RingUnderTest`]).
///
/// Scenarios waiting for a core feature carry `#[ignore = "needs ... in core"]` here, in
/// one place for every driver.
#[macro_export]
macro_rules! scenario_tests {
    ($ring:ty) => {
        $crate::scenario_tests!(@tests $ring;
            basic::strings_and_counters,
            basic::keys_and_expiry,
            basic::hashes_lists_sets_zsets,
            basic::scripts_and_keyless,
            basic::resp2_and_resp3_agree,
            basic::typed_errors_name_the_shard,
            topology::keys_land_where_placement_says,
            topology::hash_tags_keep_keys_together,
            topology::set_shards_grow_and_shrink,
            topology::shard_table_and_events,
            options::auth_with_requirepass,
            options::wrong_password_names_the_shard,
            options::redis_url_addresses,
            options::select_db,
            options::client_setname_visible,
            options::oversized_element_in_an_array_fails_only_its_request,
            options::unix_socket_and_unresolvable_host,
            faults::all_shards_down_fails_at_once,
            faults::kill_one_shard_under_load,
            faults::pause_one_shard,
            faults::only_what_is_declared_idempotent_is_resent,
            faults::connection_errors_are_counted_on_their_shard,
            faults::refused_on_retry_is_counted_on_its_last_shard,
            policy::fail_fast_kill_one_shard_under_load,
            policy::rejoin_flush_prevents_stale_reads,
            policy::custom_heartbeat_check,
            migration::migration_window_reads_and_moves,
            migration::migration_window_closes_after_its_duration,
            multi::pipelines_keep_order_and_per_command_results,
            multi::pipeline_with_a_dead_shard_fails_only_its_commands,
            multi::mget_mset_del_exists_across_shards,
            multi::cross_shard_multi_key_command_fails_naming_shards,
            multi::split_command_with_a_killed_shard,
            multi::scan_over_the_ring_returns_every_key_once,
            topology::for_each_shard_reaches_every_shard,
            load::ten_thousand_tasks,
            load::no_leak_after_restarts,
            load::drop_last_handle_cleans_up,
            load::large_values_round_trip_byte_exact,
        );
        $crate::scenario_tests!(@tests $ring;
            multi::transactions_on_one_shard,
            multi::transaction_across_shards_is_refused,
            pubsub::subscribe_across_shards,
            pubsub::psubscribe_sees_every_shard,
            pubsub::ssubscribe_sharded,
            pubsub::subscription_survives_restart,
        );
        $crate::scenario_tests!(@tests $ring;
            tls::tls_connects_and_verifies,
            tls::tls_name_mismatch_sni_and_expiry,
            tls::tls_client_certificates,
            tls::tls_with_auth_and_select,
            tls::tls_peer_not_speaking_tls,
            tls::tls_mixed_per_shard,
            auth::acl_user_and_password,
            auth::requirepass_changed_at_run_time,
            addrs::ipv6_literal_and_host_name,
            addrs::host_name_with_several_addresses,
        );
        $crate::scenario_tests!(@tests $ring;
            sentinel::sentinel_failover_is_followed,
            sentinel::killed_primary_is_replaced,
            sentinel::readonly_reply_re_resolves_and_resends,
            sentinel::replica_reads_fall_back_to_the_primary,
            sentinel::a_replica_that_stops_following_is_skipped,
            sentinel::sentinels_with_a_password,
            sentinel::a_silent_sentinel_is_skipped,
            replicas::listed_replicas_serve_reads_and_are_skipped_when_down,
        );
    };
    (@tests $ring:ty; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$module::$name::<$ring>();
            }
        )*
    };
    (@ignored $ring:ty; $why:literal; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[test]
            #[ignore = $why]
            fn $name() {
                $crate::scenarios::$module::$name::<$ring>();
            }
        )*
    };
}
