//! What a dead shard means ([`FailurePolicy`]), how a returning shard rejoins ([`Rejoin`]),
//! and what a heartbeat is ([`Heartbeat`]).

use alloc::string::String;
use alloc::vec::Vec;

use crate::command::Cmd;
use crate::time::Duration;

/// What happens to the keys of a shard that is down.
///
/// * [`Rehash`](FailurePolicy::Rehash) (the default, go-redis's `Ring`, twemproxy's
///   `auto_eject_hosts`): placement is computed over the shards that are up, so a dead
///   shard's keys move to the others until it returns. Right for a cache (a miss costs a
///   recomputation); wrong where Redis holds data, and it can serve stale values after a
///   flap (see [`Rejoin`]).
/// * [`FailFast`](FailurePolicy::FailFast): placement is computed over every configured shard
///   whatever its health, so no key ever moves because of a failure. A command for a shard
///   that is down fails at once with [`Error::ShardDown`](crate::error::Error::ShardDown)
///   naming it (no wait for a timeout); heartbeats go on and the shard serves its keys again
///   as soon as it is up. The parts of a split command on other shards still run: the
///   per-key form (`submit_per_key`) answers them; the whole form fails with
///   [`Error::Split`](crate::error::Error::Split) naming the down shard and its keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Placement over the live shards (go-redis). The default.
    #[default]
    Rehash,
    /// Placement over every configured shard; a down shard's keys fail at once.
    FailFast,
}

impl core::str::FromStr for FailurePolicy {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rehash" => Ok(FailurePolicy::Rehash),
            "fail-fast" | "failfast" => Ok(FailurePolicy::FailFast),
            _ => Err("expected rehash or fail-fast"),
        }
    }
}

/// Where the read-only commands (per the command table) of a shard with replicas go: a
/// Sentinel-managed shard, or a plain shard that lists them
/// ([`ShardSpec::replicas`](super::ShardSpec::replicas), `?replica=host:port`). Writes, and
/// everything on a shard without replicas, always go to the primary.
///
/// The replicas are those the Sentinels list (`SENTINEL REPLICAS`) as up with their link to
/// the primary up, or those listed, in order; a replica is used only when its `ROLE` says
/// connected, and one of them at a time (the first that passes). A replica that dies,
/// stops following its primary or lags more than `Config::max_replica_lag` is skipped (its
/// in-flight reads are re-sent, as read-only commands may be) and another looked for after
/// a reconnect pause (a plain shard's next listed one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReadFrom {
    /// Every command to the primary. The default.
    #[default]
    Primary,
    /// Reads to a replica while one is reachable, else to the primary.
    PreferReplica,
    /// Reads to a replica only; with none reachable they fail with the replica's error.
    Replica,
}

impl core::str::FromStr for ReadFrom {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "primary" => Ok(ReadFrom::Primary),
            "prefer-replica" => Ok(ReadFrom::PreferReplica),
            "replica" => Ok(ReadFrom::Replica),
            _ => Err("expected primary, prefer-replica or replica"),
        }
    }
}

/// How a shard that was down comes back under [`FailurePolicy::Rehash`].
///
/// The stale-read problem: while a shard is down, its keys live on other shards and are
/// rewritten there. When it returns with its old data (persistence on, or a network
/// partition rather than a crash), placement sends those keys back to it, and it answers
/// with the values it had before the failure (twemproxy #604 and PR #214 `auto_eject_drop`,
/// go-redis #1238).
///
/// [`Rejoin::Flush`] empties the returning shard's database (`FLUSHDB SYNC`, on the shard's
/// own connection, before it counts as up): a returning shard then answers misses, never
/// stale values. It is only for caches: the data on that shard is gone, and a shard that was
/// only *unreachable from this client* (a partition) is flushed under the feet of other
/// clients that still used it. We chose flushing over an operator approval hook because it
/// needs no human in the loop and the ring stays complete; an operator who wants to decide
/// can keep [`Rejoin::Immediate`] and use [`FailurePolicy::FailFast`], where keys never move
/// and nothing can go stale.
///
/// Under [`FailurePolicy::FailFast`] keys never move, so there is nothing stale to guard
/// against and `Flush` is ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejoin {
    /// Back in the placement as soon as `recover_threshold` heartbeats succeed (go-redis).
    #[default]
    Immediate,
    /// `FLUSHDB SYNC` on the returning shard first; up only once the flush succeeded.
    Flush,
}

/// The heartbeat: the command sent to each shard, and (in [`Config::heartbeat_check`](super::Config::heartbeat_check))
/// the check of its reply (go-redis v9.12 `HeartbeatFn`). Default: `PING`.
///
/// ```
/// use redis_ring_core::command::Cmd;
/// use redis_ring_core::config::{Config, HeartbeatCheck, Heartbeat};
/// use redis_ring_core::resp::Value;
///
/// // A replica more than 1000 bytes behind its primary counts as down.
/// let mut config = Config::default();
/// config.heartbeat = Heartbeat::new(Cmd::new("INFO").arg("replication"));
/// config.heartbeat_check = Some(HeartbeatCheck::new(|reply: &Value| {
///     let Some(text) = reply.as_bytes().and_then(|b| core::str::from_utf8(b).ok()) else {
///         return false;
///     };
///     let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse::<i64>().ok());
///     match (field("master_repl_offset:"), field("slave_repl_offset:")) {
///         (Some(primary), Some(replica)) => primary - replica <= 1000,
///         _ => true, // a primary
///     }
/// }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    cmd: Cmd,
}

impl Heartbeat {
    /// A heartbeat sending `cmd` (any command a shared connection can carry: no blocking
    /// or connection-state command).
    pub fn new(cmd: Cmd) -> Heartbeat {
        Heartbeat { cmd }
    }

    /// The command sent.
    pub fn cmd(&self) -> &Cmd {
        &self.cmd
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat::new(Cmd::new("PING"))
    }
}

/// How a migration window behaves (see `RingCore::set_shards_with_window` and [`MigrateFrom`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationWindow {
    /// A read that misses at the new owner moves the key there (`MIGRATE`) and reads it
    /// again, instead of reading the old owner's copy: the new ring warms up as it is read.
    pub warm_up: bool,
    /// The window closes by itself after this long (`None`: only by
    /// `RingCore::close_window`).
    pub duration: Option<Duration>,
}

impl MigrationWindow {
    /// A window with warm-up off that stays open until closed.
    pub fn new() -> MigrationWindow {
        MigrationWindow::default()
    }

    /// Sets [`MigrationWindow::warm_up`].
    pub fn warm_up(mut self, on: bool) -> Self {
        self.warm_up = on;
        self
    }

    /// Sets [`MigrationWindow::duration`].
    pub fn duration(mut self, d: Duration) -> Self {
        self.duration = Some(d);
        self
    }
}

/// A ring that starts with a migration window open: placement was `shards` (the old ring)
/// and is now the ring's own shards ([`Config::migrate_from`](super::Config::migrate_from);
/// the builders' `migrating_from`). The old shards are given as `host:port` and use the
/// ring's connection options.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrateFrom {
    /// The old ring's `(name, host:port)` pairs, in placement order.
    pub shards: Vec<(String, String)>,
    /// How the window behaves.
    pub window: MigrationWindow,
}

impl MigrateFrom {
    /// A window from the ring of `shards`.
    pub fn new<I, N, A>(shards: I, window: MigrationWindow) -> MigrateFrom
    where
        I: IntoIterator<Item = (N, A)>,
        N: Into<String>,
        A: Into<String>,
    {
        MigrateFrom {
            shards: shards
                .into_iter()
                .map(|(n, a)| (n.into(), a.into()))
                .collect(),
            window,
        }
    }
}
