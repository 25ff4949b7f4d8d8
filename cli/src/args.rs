//! The command line: global options and subcommands (clap derive).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use redis_ring_core::config::{FailurePolicy, ReadFrom};
use redis_ring_core::placement::{Algorithm, HashTag};

use crate::duration::parse_duration;
use crate::shard_list::{parse_hash_tag, parse_placement, ShardList};

const EXAMPLES: &str = "\
Examples:
  redis-ring demo                                   3 temporary shards, kill one, watch the ring heal
  redis-ring demo --sentinel                        Sentinel shards: kill a primary, watch the failover
  redis-ring --shards a=127.0.0.1:7000,b=127.0.0.1:7001 set foo bar
  redis-ring --shards a=127.0.0.1:7000,b=127.0.0.1:7001 mget foo bar baz
  redis-ring --shards a,b,c locate user:1 user:2    offline: names are enough
  redis-ring --shards a,b,c locate --diff a,b,c,d   how many keys would move
  redis-ring --shards a=127.0.0.1:7000,b=127.0.0.1:7001 shards
  redis-ring --shards a=redis-sentinel://h1:26379,h2:26379/ma,b=redis-sentinel://h1:26379,h2:26379/mb shards
  redis-ring --read-from prefer-replica --shards a=redis://h1:7000?replica=h1:7100,b=h2:7001 get foo
  redis-ring --shards a=127.0.0.1:7000,b=127.0.0.1:7001 top   live per-shard view, Ctrl-C ends
  redis-ring --tls --cacert ca.crt --shards a=cache-1:6380,b=cache-2:6380 get foo
  redis-ring --cacert ca.crt --shards a=rediss://cache-1:6380,b=127.0.0.1:7001 get foo
  redis-ring --shards a=127.0.0.1:7000,b=127.0.0.1:7001 bench --duration 10s --json

Any word that is not a subcommand is a Redis command sent through the ring and printed like
redis-cli prints it; options of redis-ring go before it.";

/// redis-ring: one logical Redis over several independent servers, keys spread by
/// consistent hashing (go-redis Ring compatible).
#[derive(Debug, Parser)]
#[command(
    name = "redis-ring",
    version,
    after_help = EXAMPLES,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    /// List every key of the ring once, one per line (as redis-cli --scan): a SCAN of each
    /// shard in turn, each key printed by the shard that owns it
    #[arg(long)]
    pub(crate) scan: bool,
    /// With --scan: only keys matching this glob pattern (SCAN ... MATCH)
    #[arg(long, value_name = "PATTERN", requires = "scan")]
    pub(crate) pattern: Option<String>,
    /// With --scan: how many keys each SCAN step looks at (SCAN ... COUNT, a hint)
    #[arg(long, value_name = "N", requires = "scan")]
    pub(crate) count: Option<u64>,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Options every subcommand understands.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The shards: NAME=HOST:PORT[,NAME=HOST:PORT...] (a redis:// URL may stand for
    /// HOST:PORT; HOST:PORT:WEIGHT gives a weight, as twemproxy writes it;
    /// NAME=redis-sentinel://H:P,H:P/MASTER a Sentinel-managed shard, whose commas separate
    /// Sentinels until one followed by NAME=; NAME=redis://H:P?replica=H:P,H:P a shard with
    /// its replicas listed, for --read-from, the same way). Names are what placement hashes; `locate`
    /// needs names only: a,b,c (or a:2,b,c with weights)
    #[arg(
        long,
        global = true,
        env = "REDIS_RING_SHARDS",
        hide_env_values = true,
        value_name = "SHARDS",
        value_parser = ShardsParser
    )]
    pub(crate) shards: Option<ShardList>,

    /// Key placement: rendezvous (go-redis v9), consistent-hash[:REPLICAS] (go-redis v7,
    /// 100 replicas unless given) or ketama[:md5|fnv1a_64] (twemproxy; md5 unless given)
    #[arg(
        long,
        global = true,
        value_name = "ALGORITHM",
        default_value = "rendezvous",
        value_parser = parse_placement
    )]
    pub(crate) placement: Algorithm,

    /// Which part of a key is hashed: two characters such as {} (go-redis, the default) or
    /// $$ (a twemproxy pool's hash_tag:), or none (twemproxy's default: the whole key)
    #[arg(
        long,
        global = true,
        value_name = "PAIR|none",
        default_value = "{}",
        value_parser = parse_hash_tag
    )]
    pub(crate) hash_tag: HashTag,

    /// What a down shard means: rehash (its keys move to the live shards, go-redis) or
    /// fail-fast (its keys fail at once naming it; no key ever moves)
    #[arg(
        long,
        global = true,
        value_name = "POLICY",
        default_value = "rehash",
        value_parser = parse_failure_policy
    )]
    pub(crate) failure_policy: FailurePolicy,

    /// Where read-only commands go: primary, prefer-replica (a replica while one is in
    /// sync, else the primary) or replica; replicas are those of Sentinel shards and those
    /// listed with ?replica=
    #[arg(
        long,
        global = true,
        value_name = "WHERE",
        default_value = "primary",
        value_parser = parse_read_from
    )]
    pub(crate) read_from: ReadFrom,

    /// A migration window is open from this older ring (NAME=HOST:PORT,...) to --shards:
    /// keys not yet moved are read on their old owner and moved before any write (see
    /// `migrate`)
    #[arg(long, global = true, value_name = "OLD_SHARDS", value_parser = ShardList::parse)]
    pub(crate) migrating_from: Option<ShardList>,

    /// User name for AUTH (ACL)
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) user: Option<String>,

    /// Password for AUTH (never printed)
    #[arg(
        long,
        global = true,
        env = "REDIS_RING_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub(crate) password: Option<String>,

    /// Database number (SELECT)
    #[arg(long, global = true, value_name = "N", default_value_t = 0)]
    pub(crate) db: u32,

    /// Protocol: 3 (HELLO 3, falls back to 2 on old servers) or 2
    #[arg(long, global = true, value_name = "2|3", value_parser = clap::value_parser!(u8).range(2..=3))]
    pub(crate) resp: Option<u8>,

    /// Timeout of a command and of a connection attempt, e.g. 2s, 500ms
    #[arg(long, global = true, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,

    /// TLS settings (redis-cli's flags)
    #[command(flatten)]
    pub(crate) tls: TlsArgs,

    /// Print replies raw (as redis-cli --raw); the default when stdout is not a terminal
    #[arg(long, global = true, conflicts_with = "no_raw")]
    pub(crate) raw: bool,

    /// Print replies formatted (as redis-cli --no-raw); the default on a terminal
    #[arg(long, global = true)]
    pub(crate) no_raw: bool,
}

/// `--read-from`: `primary`, `prefer-replica` or `replica`.
fn parse_read_from(s: &str) -> Result<ReadFrom, String> {
    s.parse().map_err(|e: &str| e.to_string())
}

/// `--failure-policy`: `rehash` or `fail-fast`.
fn parse_failure_policy(s: &str) -> Result<FailurePolicy, String> {
    s.parse().map_err(|e: &str| e.to_string())
}

/// TLS options, named as redis-cli's. `--tls` turns TLS on for every shard; without it only
/// `rediss://` shards use TLS, with these settings.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct TlsArgs {
    /// Speak TLS to every shard (rediss:// shards always do)
    #[arg(long, global = true)]
    pub(crate) tls: bool,

    /// CA bundle (PEM) to verify servers with, instead of the system's
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) cacert: Option<PathBuf>,

    /// Directory of CA certificates (PEM) to verify servers with
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) cacertdir: Option<PathBuf>,

    /// Client certificate (PEM) for servers that require one (with --key)
    #[arg(long, global = true, value_name = "FILE", requires = "key")]
    pub(crate) cert: Option<PathBuf>,

    /// Client private key (PEM) (with --cert)
    #[arg(long, global = true, value_name = "FILE", requires = "cert")]
    pub(crate) key: Option<PathBuf>,

    /// Server name to send and verify (SNI), instead of the shard's host
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) sni: Option<String>,

    /// Do not verify server certificates (development only: anyone in the path can read
    /// and change the traffic)
    #[arg(long, global = true)]
    pub(crate) insecure: bool,
}

/// The subcommands; anything else is a Redis command.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start 3 temporary shards (or use --shards), write keys, kill a shard mid-load and
    /// watch the ring detect it and heal
    Demo(DemoArgs),
    /// Which shard owns each key, computed offline from the shard names
    Locate(LocateArgs),
    /// Measure throughput and latency against the shards
    Bench(BenchArgs),
    /// Live status of each shard: up/down, address, PING latency, DBSIZE, memory
    Shards,
    /// A live per-shard view refreshed every second until Ctrl-C or --duration: state and
    /// for how long, server ops/s and errors/s, p50/p99 through the ring, in-flight,
    /// reconnects, keys, memory
    Top(TopArgs),
    /// Move every key whose owner changes from the ring of --shards to the ring of --to
    /// (MIGRATE: value and TTL, never over a newer value), while applications use the new
    /// ring with a migration window open
    Migrate(MigrateArgs),
    /// Any Redis command, sent through the ring: get foo, set foo bar, mget a b c, ...
    #[command(external_subcommand)]
    Redis(Vec<String>),
}

/// `redis-ring demo`
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// How many keys to write
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub(crate) keys: u64,

    /// Target write rate, so the load lasts long enough to watch (0: as fast as possible)
    #[arg(long, value_name = "OPS_PER_SEC", default_value_t = 20_000)]
    pub(crate) rate: u64,

    /// Plain line-by-line output even on a terminal
    #[arg(long)]
    pub(crate) plain: bool,

    /// Sentinel-managed shards instead: 2 shards (a primary and a replica each) and 3
    /// Sentinels; kill a primary mid-load and watch the ring follow the failover
    #[arg(long)]
    pub(crate) sentinel: bool,
}

/// `redis-ring migrate`
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// The new ring: NAME=HOST:PORT[,NAME=HOST:PORT...] (the old one is --shards)
    #[arg(long, value_name = "NEW_SHARDS", value_parser = ShardList::parse)]
    pub(crate) to: ShardList,

    /// Most keys moved per second (0: as fast as the servers go)
    #[arg(long, value_name = "KEYS_PER_SEC", default_value_t = 0)]
    pub(crate) rate: u64,

    /// Concurrent MIGRATEs per old shard (pipelined on one connection)
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub(crate) workers: usize,

    /// Resume file: each old shard's SCAN cursor, saved after every batch; a re-run with
    /// the same file continues where the last one stopped
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,

    /// No progress line on stderr
    #[arg(long)]
    pub(crate) quiet: bool,
}

/// `redis-ring locate`
#[derive(Debug, Args)]
pub(crate) struct LocateArgs {
    /// Show how N random keys would spread over the shards
    #[arg(long, value_name = "N", conflicts_with = "keys")]
    pub(crate) spread: Option<u64>,

    /// Show which keys (given, or 100 000 random ones) would move if the shards became
    /// NEW_SHARDS (names only are enough: a,b,c,d)
    #[arg(long, value_name = "NEW_SHARDS", value_parser = ShardList::parse)]
    pub(crate) diff: Option<ShardList>,

    /// Seed of the random keys of --spread / --diff
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) seed: u64,

    /// Keys to locate (else read one per line from stdin)
    #[arg(value_name = "KEY", trailing_var_arg = true)]
    pub(crate) keys: Vec<String>,
}

/// `redis-ring top`
#[derive(Debug, Args)]
pub(crate) struct TopArgs {
    /// Stop after this long (default: until Ctrl-C)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) duration: Option<Duration>,

    /// Time between refreshes
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub(crate) interval: Duration,

    /// One JSON object per refresh on stdout (one line each) instead of the table
    #[arg(long)]
    pub(crate) json: bool,
}

/// How bench callers issue commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// One caller, one command at a time
    Seq,
    /// --concurrency callers, one command at a time each (the client pipelines them)
    Conc,
    /// --concurrency callers, each sending batches of --pipeline commands
    Pipeline,
}

/// Which client bench drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Client {
    /// This project's ring client
    RedisRing,
    /// The `redis` crate: one multiplexed connection per shard, keys placed like ours
    RedisRs,
}

/// Which redis-ring driver bench uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Driver {
    /// redis-ring-std: blocking, one thread per caller
    Std,
    /// redis-ring-smol: async, one task per caller
    Smol,
    /// redis-ring-smol, the callers' executor run by the ring's own `Ring::block_on`
    /// (which waits on the ring's reactor while a lone round trip is in flight) instead of
    /// futures-lite's `block_on`
    SmolBlockOn,
    /// redis-ring-smol with its default runtime (`Smol::new()`): the driver a task on
    /// smol's global executor, its sockets on async-io's reactor, instead of a thread of
    /// its own
    SmolGlobal,
    /// redis-ring-tokio: async, one task per caller on a tokio runtime (with --client
    /// redis-rs: the redis crate on tokio instead of smol)
    Tokio,
}

/// The commands bench sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Op {
    /// SET key value
    Set,
    /// GET key
    Get,
    /// half SET, half GET
    Mixed,
}

/// `redis-ring bench`
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// seq: one caller; conc: N callers; pipeline: N callers sending batches
    #[arg(long, value_enum, default_value_t = Mode::Conc)]
    pub(crate) mode: Mode,

    /// Concurrent callers (threads with --driver std, tasks otherwise)
    #[arg(long, short = 'c', value_name = "N", default_value_t = 50)]
    pub(crate) concurrency: usize,

    /// How long to measure
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub(crate) duration: Duration,

    /// Size of the key space (keys key:000000000000 .. key:N-1)
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub(crate) keys: u64,

    /// Bytes per value written by SET
    #[arg(long, value_name = "BYTES", default_value_t = 3)]
    pub(crate) value_size: usize,

    /// Commands per batch in --mode pipeline
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub(crate) pipeline: usize,

    /// Which commands to send
    #[arg(long, value_enum, default_value_t = Op::Mixed)]
    pub(crate) op: Op,

    /// Which client to measure
    #[arg(long, value_enum, default_value_t = Client::RedisRing)]
    pub(crate) client: Client,

    /// Which redis-ring driver (with --client redis-ring)
    #[arg(long, value_enum, default_value_t = Driver::Std)]
    pub(crate) driver: Driver,

    /// One JSON object on stdout instead of the human report
    #[arg(long)]
    pub(crate) json: bool,

    /// Draw the timeline (ok/error rates, max latency, shard events) into FILE.svg
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) plot: Option<PathBuf>,

    /// Seed of the random key sequence
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) seed: u64,

    /// Count heap allocations (every thread, the client's I/O included) during the
    /// measurement and report them per command (`allocs_per_op` in the JSON)
    #[arg(long)]
    pub(crate) count_allocs: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_a_subcommand() {
        let cli = Cli::try_parse_from([
            "redis-ring",
            "locate",
            "--shards",
            "a,b",
            "--placement",
            "consistent-hash:10",
            "k1",
            "k2",
        ])
        .unwrap();
        assert_eq!(
            cli.global.placement,
            Algorithm::ConsistentHash { replicas: 10 }
        );
        let Some(Command::Locate(args)) = cli.command else {
            panic!("not locate")
        };
        assert_eq!(args.keys, ["k1", "k2"]);
    }

    #[test]
    fn other_words_are_redis_commands_with_their_own_dashes() {
        let cli = Cli::try_parse_from([
            "redis-ring",
            "--shards",
            "a=127.0.0.1:1",
            "--timeout",
            "500ms",
            "set",
            "k",
            "--not-an-option",
        ])
        .unwrap();
        assert_eq!(cli.global.timeout, Duration::from_millis(500));
        let Some(Command::Redis(words)) = cli.command else {
            panic!("not a redis command")
        };
        assert_eq!(words, ["set", "k", "--not-an-option"]);
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        let err = Cli::try_parse_from(["redis-ring", "--timeout", "2", "shards"]).unwrap_err();
        assert!(err.to_string().contains("no unit"), "{err}");
        let err = Cli::try_parse_from(["redis-ring", "--resp", "4", "shards"]).unwrap_err();
        assert!(err.to_string().contains("4"), "{err}");
        let err = Cli::try_parse_from(["redis-ring", "--shards", "a=b", "shards"]).unwrap_err();
        assert!(err.to_string().contains("needs a port"), "{err}");
    }
}

/// `--shards`' parser: [`ShardList::parse`], with an error that never repeats the value
/// (clap's own message would print it whole, passwords of `redis://` URLs included).
#[derive(Clone, Copy, Debug)]
struct ShardsParser;

impl clap::builder::TypedValueParser for ShardsParser {
    type Value = ShardList;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<ShardList, clap::Error> {
        let text = value.to_str().ok_or_else(|| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidUtf8,
                "--shards: the shard list is not valid UTF-8\n",
            )
        })?;
        ShardList::parse(text).map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid --shards: {e}\n"),
            )
        })
    }
}
