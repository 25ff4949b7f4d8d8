//! Builds the ring client (redis-ring-std) from the global options.

use std::time::Duration;

use redis_ring_core::config::{
    Config, FailurePolicy, MigrationWindow, Protocol, ReadFrom, ShardSpec,
};
use redis_ring_std::{Ring, TlsSettings};

use crate::args::{Global, TlsArgs};
use crate::shard_list::ShardList;

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
    pub(crate) failure_policy: FailurePolicy,
    /// `--read-from`.
    pub(crate) read_from: ReadFrom,
    /// `--migrating-from`: the old ring's `(name, host:port)`.
    pub(crate) migrating_from: Option<Vec<(String, String)>>,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) db: u32,
    pub(crate) resp: Option<u8>,
    pub(crate) timeout: Duration,
    pub(crate) tls: TlsArgs,
}

impl TlsArgs {
    /// The TLS settings these flags give, if any flag was given.
    fn settings(&self) -> Option<TlsSettings> {
        let any = self.tls
            || self.cacert.is_some()
            || self.cacertdir.is_some()
            || self.cert.is_some()
            || self.sni.is_some()
            || self.insecure;
        if !any {
            return None;
        }
        let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let mut tls = TlsSettings::new();
        tls.ca_file = path(&self.cacert);
        tls.ca_dir = path(&self.cacertdir);
        tls.cert_file = path(&self.cert);
        tls.key_file = path(&self.key);
        tls.sni.clone_from(&self.sni);
        tls.insecure_skip_verify = self.insecure;
        Some(tls)
    }

    /// The shards as typed specs with these flags applied: `--tls` puts every shard on TLS;
    /// otherwise the settings go to the shards a `rediss://` address put on TLS.
    pub(crate) fn specs(&self, shards: &[(String, String)]) -> Result<Vec<ShardSpec>, String> {
        let settings = self.settings();
        shards
            .iter()
            .map(|(name, addr)| {
                let mut spec = ShardSpec::parse(name.as_str(), addr)
                    .map_err(|e| format!("shard {name}: {e}"))?;
                if let Some(s) = &settings {
                    if self.tls || spec.tls.is_some() {
                        spec.tls = Some(s.clone().into_options());
                    }
                }
                Ok(spec)
            })
            .collect()
    }
}

impl GlobalConn {
    /// The connection options of `global`.
    pub(crate) fn of(global: &Global) -> Result<GlobalConn, String> {
        Ok(GlobalConn {
            placement: global.placement.clone(),
            hash_tag: global.hash_tag,
            failure_policy: global.failure_policy,
            read_from: global.read_from,
            migrating_from: global
                .migrating_from
                .as_ref()
                .map(ShardList::with_addrs)
                .transpose()?,
            user: global.user.clone(),
            password: global.password.clone(),
            db: global.db,
            resp: global.resp,
            timeout: global.timeout,
            tls: global.tls.clone(),
        })
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
            global: GlobalConn::of(global)?,
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
        config.failure_policy = g.failure_policy;
        config.read_from = g.read_from;
        let mut builder = Ring::builder()
            .config(config)
            .shard_specs(g.tls.specs(&self.shards)?)
            .command_timeout(g.timeout)
            .connect_timeout(g.timeout)
            .db(g.db)
            .client_name("redis-ring-cli")
            .protocol(match g.resp {
                Some(2) => Protocol::Resp2,
                Some(3) => Protocol::Resp3,
                _ => Protocol::Auto,
            });
        if let Some(old) = &g.migrating_from {
            // The core connects to the old shards as given: host:port, not URLs.
            let old: Vec<(String, String)> = old
                .iter()
                .map(|(n, a)| {
                    ShardSpec::parse(n.as_str(), a)
                        .map(|p| (n.clone(), p.endpoint.to_string()))
                        .map_err(|e| format!("--migrating-from {n}: {}", e.reason()))
                })
                .collect::<Result<_, _>>()?;
            builder = builder.migrating_from(old, MigrationWindow::new());
        }
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
