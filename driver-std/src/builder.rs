//! [`RingBuilder`]: every option of the ring, then [`RingBuilder::build`] starts it.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::{Arc, PoisonError, RwLock};

use redis_ring_core::config::{Config, ShardHook};

use crate::ring::Ring;
use redis_ring_core::config::ShardAddr;

/// Builds a [`Ring`]: the shards, then any option to change (go-redis `RingOptions`; the
/// defaults are go-redis's, see [`Config`]).
///
/// ```no_run
/// use std::time::Duration;
/// use redis_ring_std::Ring;
///
/// let ring = Ring::builder()
///     .shard("shard1", "127.0.0.1:7000")
///     .shard("shard2", "redis://:s3cret@127.0.0.1:7001/2")
///     .heartbeat_interval(Duration::from_millis(250))
///     .command_timeout(Duration::from_secs(1))
///     .client_name("billing")
///     .build()?;
/// # Ok::<(), redis_ring_std::BuildError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct RingBuilder {
    config: Config,
    shards: Vec<(String, String)>,
    hook: Option<ShardHook>,
    seed: Option<u64>,
}

/// go-redis's name for the ring's options: the same type as [`RingBuilder`].
pub type RingOptions = RingBuilder;

impl RingBuilder {
    /// A builder with no shards and the default options.
    pub fn new() -> RingBuilder {
        RingBuilder::default()
    }

    /// Starts from a whole core [`Config`] (shards and the `shard_options` hook are kept).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Adds a shard: `name` is what placement hashes (as go-redis `Addrs` keys), `addr` is
    /// `host:port` or `redis://[user[:password]@]host[:port][/db]` (the URL's credentials
    /// and database apply to this shard only).
    pub fn shard(mut self, name: impl Into<String>, addr: impl Into<String>) -> Self {
        self.shards.push((name.into(), addr.into()));
        self
    }

    /// Adds shards from any `(name, addr)` pairs, such as a `HashMap` or an array. Placement
    /// does not depend on their order.
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

    /// Starts the ring: its I/O thread, and connections to the shards (opened as the core
    /// decides: it probes new shards at once).
    ///
    /// # Errors
    /// [`BuildError::Address`] for an address that cannot be parsed, [`BuildError::Io`] when
    /// the poller or the thread cannot be created.
    pub fn build(self) -> Result<Ring, BuildError> {
        let RingBuilder {
            mut config,
            shards,
            hook,
            seed,
        } = self;
        let overrides = Overrides::default();
        let shards = overrides.parse(&shards)?;
        config.seed = seed.unwrap_or_else(random_seed);
        // A hook given inside a whole `Config` counts as the user's hook too.
        let user_hook = hook.or_else(|| config.new_client.take());
        config.new_client = Some(overrides.hook(user_hook));
        Ring::start(config, shards, overrides)
    }
}

/// Why [`RingBuilder::build`] or [`Ring::set_shards`] failed.
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
    /// The poller or the I/O thread could not be created.
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
            BuildError::Io(e) => write!(f, "cannot start the ring's I/O thread: {e}"),
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

/// Per-shard connection options that came from `redis://` URLs, by shard name, read by the
/// core's [`ShardHook`] when it adds a shard (and updated by `set_shards` before it does).
#[derive(Clone, Debug, Default)]
pub(crate) struct Overrides(Arc<RwLock<HashMap<String, ShardAddr>>>);

impl Overrides {
    /// Parses `(name, addr)` pairs, records their URL overrides and returns the
    /// `(name, host:port)` pairs for the core.
    pub(crate) fn parse(
        &self,
        shards: &[(String, String)],
    ) -> Result<Vec<(String, String)>, BuildError> {
        let mut parsed = Vec::with_capacity(shards.len());
        let mut table = HashMap::new();
        for (name, addr) in shards {
            let bad = |reason| BuildError::Address {
                shard: name.clone(),
                addr: redact(addr),
                reason,
            };
            let sa = ShardAddr::parse(addr).map_err(|e| bad(e.reason()))?;
            if sa.is_unix() {
                // This driver opens TCP sockets only.
                return Err(bad("unix socket addresses are not supported yet"));
            }
            parsed.push((name.clone(), sa.addr.clone()));
            if sa.has_overrides() {
                table.entry(name.clone()).or_insert(sa);
            }
        }
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = table;
        Ok(parsed)
    }

    /// The hook the core calls: URL overrides first, then the user's hook.
    fn hook(&self, user: Option<ShardHook>) -> ShardHook {
        let table = self.0.clone();
        ShardHook::new(move |name, addr, opts| {
            if let Some(sa) = table
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(name)
            {
                // Only when the core adds this very address (a re-addressed shard is
                // added again under its new address).
                if sa.addr == addr {
                    sa.apply(opts);
                }
            }
            if let Some(user) = &user {
                user.apply(name, addr, opts);
            }
        })
    }
}

/// `addr` with the user info of a URL hidden.
fn redact(addr: &str) -> String {
    match (addr.find("://"), addr.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &addr[..s], &addr[at..]),
        _ => addr.to_owned(),
    }
}

/// A random jitter seed from std alone: `RandomState` is seeded by the OS per process and
/// varies per instance; the time and process id are mixed in as well.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis_ring_core::config::ConnOptions;

    #[test]
    fn url_overrides_reach_the_hook_then_the_user_hook() {
        let o = Overrides::default();
        let parsed = o
            .parse(&[
                ("a".into(), "redis://u:p@h:1/4".into()),
                ("b".into(), "h:2".into()),
            ])
            .unwrap();
        assert_eq!(
            parsed,
            [("a".into(), "h:1".into()), ("b".into(), "h:2".into())]
        );
        let hook = o.hook(Some(ShardHook::new(|name, _, opts| {
            if name == "b" {
                opts.db = 9;
            }
        })));
        let mut a = ConnOptions::default();
        hook.apply("a", "h:1", &mut a);
        assert_eq!(
            (a.username.as_deref(), a.password.as_deref(), a.db),
            (Some("u"), Some("p"), 4)
        );
        let mut b = ConnOptions::default();
        hook.apply("b", "h:2", &mut b);
        assert_eq!((b.password, b.db), (None, 9));
        // Same name, other address: the URL does not apply.
        let mut a2 = ConnOptions::default();
        hook.apply("a", "h:9", &mut a2);
        assert_eq!(a2.password, None);
    }

    #[test]
    fn bad_addresses_name_the_shard_and_hide_the_password() {
        let e = Overrides::default()
            .parse(&[("s1".into(), "redis://u:secret@h:x".into())])
            .unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("shard s1: bad address"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn seeds_differ() {
        assert_ne!(random_seed(), random_seed());
    }
}
