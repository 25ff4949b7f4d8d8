//! Builds the ring client (redis-ring-std) from the global options.

use std::time::Duration;

use redis_ring_core::config::{Config, Protocol};
use redis_ring_std::Ring;

use crate::args::Global;

/// What the ring is built from: the shards with addresses and the connection options.
#[derive(Clone, Debug)]
pub(crate) struct RingSettings {
    /// `(name, addr)` in order.
    pub(crate) shards: Vec<(String, String)>,
    /// Placement, user, password, db, protocol, timeout.
    pub(crate) global: GlobalConn,
}

/// The connection part of the global options.
#[derive(Clone, Debug)]
pub(crate) struct GlobalConn {
    pub(crate) placement: redis_ring_core::placement::Algorithm,
    pub(crate) hash_tag: redis_ring_core::placement::HashTag,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) db: u32,
    pub(crate) resp: Option<u8>,
    pub(crate) timeout: Duration,
}

impl GlobalConn {
    /// The connection options of `global`.
    pub(crate) fn of(global: &Global) -> GlobalConn {
        GlobalConn {
            placement: global.placement.clone(),
            hash_tag: global.hash_tag,
            user: global.user.clone(),
            password: global.password.clone(),
            db: global.db,
            resp: global.resp,
            timeout: global.timeout,
        }
    }
}

impl RingSettings {
    /// The shards of `--shards` (every one with an address) and the connection options.
    pub(crate) fn from_global(global: &Global, what: &str) -> Result<RingSettings, String> {
        let list = global.shards.as_ref().ok_or_else(|| {
            format!("{what} needs shards: --shards NAME=HOST:PORT,... (or REDIS_RING_SHARDS)")
        })?;
        Ok(RingSettings {
            shards: list.with_addrs()?,
            global: GlobalConn::of(global),
        })
    }

    /// Starts a ring over the shards with these options; `tune` may change the builder
    /// (the demo shortens the heartbeat).
    pub(crate) fn build(
        &self,
        tune: impl FnOnce(redis_ring_std::RingBuilder) -> redis_ring_std::RingBuilder,
    ) -> Result<Ring, String> {
        let g = &self.global;
        let mut config = Config::default();
        config.placement = g.placement.clone();
        config.hash_tag = g.hash_tag;
        let mut builder = Ring::builder()
            .config(config)
            .shards(self.shards.iter().cloned())
            .command_timeout(g.timeout)
            .connect_timeout(g.timeout)
            .db(g.db)
            .client_name("redis-ring-cli")
            .protocol(match g.resp {
                Some(2) => Protocol::Resp2,
                Some(3) => Protocol::Resp3,
                _ => Protocol::Auto,
            });
        if let Some(user) = &g.user {
            builder = builder.username(user.clone());
        }
        if let Some(password) = &g.password {
            builder = builder.password(password.clone());
        }
        tune(builder)
            .build()
            .map_err(|e| format!("cannot start the ring: {e}"))
    }
}
