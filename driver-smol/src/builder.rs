//! [`RingBuilder`]: every option of the ring; [`RingBuilder::build`] starts it.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use redis_ring_core::config::{Config, ShardHook};

use crate::ring::Ring;
use redis_ring_core::config::ShardAddr;

/// Builds a [`Ring`]: the shards, then any option to change (go-redis `RingOptions`; the
/// defaults are go-redis's, see [`Config`]).
///
/// ```no_run
/// use std::time::Duration;
/// use redis_ring_smol::Ring;
///
/// let ring = Ring::builder()
///     .shard("shard1", "127.0.0.1:7000")
///     .shard("shard2", "redis://:s3cret@127.0.0.1:7001/2")
///     .heartbeat_interval(Duration::from_millis(250))
///     .command_timeout(Duration::from_secs(1))
///     .client_name("billing")
///     .build()?;
/// # Ok::<(), redis_ring_smol::BuildError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct RingBuilder {
    config: Config,
    shards: Vec<(String, String)>,
    hook: Option<ShardHook>,
    seed: Option<u64>,
    driver_thread: bool,
}

/// go-redis's name for the ring's options: the same type as [`RingBuilder`].
pub type RingOptions = RingBuilder;

impl RingBuilder {
    /// A builder with no shards and the default options.
    pub fn new() -> RingBuilder {
        RingBuilder::default()
    }

    /// Starts from a whole core [`Config`] (shards, the `shard_options` hook and the seed
    /// set on this builder are kept).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Adds a shard: `name` is what placement hashes (as go-redis `Addrs` keys), `addr` is
    /// `host:port`, a Unix socket path, or `redis://[user[:password]@]host[:port][/db]`
    /// (the URL's credentials and database apply to this shard only).
    pub fn shard(mut self, name: impl Into<String>, addr: impl Into<String>) -> Self {
        self.shards.push((name.into(), addr.into()));
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

    redis_ring_core::ring_builder_setters!();

    /// Runs the ring's driver task on a thread of its own (named `redis-ring-smol`)
    /// instead of smol's global executor. Worth it when the executor that runs your tasks
    /// is busy (the driver then never waits behind them), or when your program does not
    /// use smol's executor at all; it costs a thread and a cross-thread wake-up per
    /// batch. See the crate docs for measurements.
    pub fn driver_thread(mut self, on: bool) -> Self {
        self.driver_thread = on;
        self
    }

    /// Starts the ring: its driver task on smol's global executor (or its own thread, see
    /// [`driver_thread`](Self::driver_thread)). Connections open with the first command or
    /// heartbeat.
    ///
    /// # Errors
    /// A shard address that cannot be parsed ([`BuildError`]).
    pub fn build(self) -> Result<Ring, BuildError> {
        let RingBuilder {
            mut config,
            shards,
            hook,
            seed,
            driver_thread,
        } = self;
        let shards = parse_shards(shards)?;
        let urls: Arc<Mutex<HashMap<String, ShardAddr>>> = Arc::default();
        config.new_client = Some(url_hook(urls.clone(), hook.or(config.new_client.take())));
        config.seed = seed.unwrap_or_else(random_seed);
        let ring = Ring::start(config, urls, driver_thread);
        ring.apply_shards(&shards);
        Ok(ring)
    }
}

/// The per-shard hook the core runs: a `redis://` address's settings, then the user's.
fn url_hook(urls: Arc<Mutex<HashMap<String, ShardAddr>>>, user: Option<ShardHook>) -> ShardHook {
    ShardHook::new(move |name, addr, opts| {
        if let Some(url) = urls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            if url.addr == addr {
                url.apply(opts);
            }
        }
        if let Some(hook) = &user {
            hook.apply(name, addr, opts);
        }
    })
}

/// Parses every shard address.
pub(crate) fn parse_shards(
    shards: Vec<(String, String)>,
) -> Result<Vec<(String, ShardAddr)>, BuildError> {
    shards
        .into_iter()
        .map(|(name, a)| match ShardAddr::parse(&a) {
            Ok(parsed) => Ok((name, parsed)),
            Err(e) => Err(BuildError {
                shard: name,
                reason: e.reason(),
            }),
        })
        .collect()
}

/// A fresh random seed for the core's jitter (std's per-process random hash keys mixed
/// with the clock: no dependency needed for 64 unpredictable bits).
fn random_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// A shard address that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    /// The shard's name.
    pub shard: String,
    /// What is wrong with its address.
    pub reason: &'static str,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {}: bad address: {}", self.shard, self.reason)
    }
}

impl std::error::Error for BuildError {}
