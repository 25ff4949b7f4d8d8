//! Typed shard specifications: [`ShardSpec`] (name, [`Endpoint`], TLS marker, weight and
//! per-shard connection overrides) and the one parser of the address forms users write:
//! `host:port`, `[v6]:port`, `/path/redis.sock`, `unix:/path`, `unix:///path`,
//! `redis://[user[:password]@]host[:port][/db][?replica=host:port[,host:port...]]`,
//! `rediss://...` (TLS) and
//! `redis-sentinel://[user[:password]@]host:port[,host:port...]/MASTER_NAME[/db]` (a
//! Sentinel-managed primary, [`Endpoint::Sentinel`]).
//!
//! `Debug` and `Display` never show a password (`user:***@`): a spec can be logged.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt;
use core::num::NonZeroU32;

use super::addr::{percent_decode, split_host_port, AddrError};
use super::sentinel::SentinelAuth;
use super::ConnOptions;

/// The default Redis port, used when a URL names none.
const DEFAULT_PORT: u16 = 6379;

/// Where a shard listens: what a driver connects to ([`Output::Connect`]).
///
/// [`Output::Connect`]: crate::ring::Output::Connect
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// A TCP host (name or IP literal, IPv6 without brackets) and port.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A Unix-domain socket path.
    Unix {
        /// The socket's path.
        path: String,
    },
    /// An address the core does not interpret, passed to the driver as given (custom
    /// transports and simulations name their peers as they like).
    Other(String),
    /// A Sentinel-managed primary: the driver asks each Sentinel in turn for the current
    /// address of `master` (`SENTINEL GET-MASTER-ADDR-BY-NAME`, see
    /// [`sentinel`](crate::config::sentinel)) on every connect, then connects there and
    /// checks `ROLE`. A reconnect therefore re-resolves: a failover is followed.
    Sentinel {
        /// The Sentinels, asked in this order (each an [`Endpoint::Tcp`]).
        sentinels: Vec<Endpoint>,
        /// The name the Sentinels monitor the primary under (`sentinel monitor NAME ...`).
        master: String,
        /// Credentials for the Sentinels themselves (none by default); never shown.
        auth: SentinelAuth,
    },
}

impl Endpoint {
    /// Parses a plain address: `host:port`, `[v6]:port`, a path, `unix:/path` or
    /// `unix:///path`.
    ///
    /// # Errors
    /// [`AddrError`] naming what is wrong.
    pub fn parse(input: &str) -> Result<Endpoint, AddrError> {
        let input = input.trim();
        if let Some(path) = input.strip_prefix("unix:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if !path.starts_with('/') {
                return Err(AddrError("a Unix socket path must be absolute"));
            }
            return Ok(Endpoint::Unix { path: path.into() });
        }
        if input.starts_with('/') {
            return Ok(Endpoint::Unix { path: input.into() });
        }
        let (host, port) = split_host_port(input)?;
        let port = port.ok_or(AddrError("missing port: use host:port"))?;
        Ok(Endpoint::Tcp {
            host: host.into(),
            port,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
            Endpoint::Unix { path } => write!(f, "unix:{path}"),
            Endpoint::Other(s) => f.write_str(s),
            Endpoint::Sentinel {
                sentinels, master, ..
            } => {
                f.write_str("sentinel:")?;
                for (i, s) in sentinels.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{s}")?;
                }
                write!(f, "/{master}")
            }
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

/// TLS for one shard (`rediss://`): the marker, and the settings slot the driver layer
/// fills (certificates, server name, verification); the core only carries it.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct TlsOptions {
    /// The server name to verify (SNI); `None`: the endpoint's host.
    pub server_name: Option<String>,
    /// Driver-specific settings (a TLS client configuration), opaque to the core.
    pub settings: Option<Arc<dyn Any + Send + Sync>>,
}

impl PartialEq for TlsOptions {
    fn eq(&self, other: &Self) -> bool {
        self.server_name == other.server_name
            && match (&self.settings, &other.settings) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("server_name", &self.server_name)
            .field("settings", &self.settings.as_ref().map(|_| ".."))
            .finish()
    }
}

/// One shard of the ring: its name (what placement hashes), where it listens, whether TLS
/// is on, its weight, and connection options that override the ring-wide ones for it.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct ShardSpec {
    /// The shard's name (go-redis `Addrs` key): hashed by placement.
    pub name: Arc<str>,
    /// Where it listens.
    pub endpoint: Endpoint,
    /// TLS (`rediss://`); `None`: plain TCP.
    pub tls: Option<TlsOptions>,
    /// Relative weight in placement (2 gets about twice the keys of 1); default 1.
    pub weight: NonZeroU32,
    /// ACL user name for this shard only.
    pub username: Option<String>,
    /// Password for this shard only.
    pub password: Option<String>,
    /// Database for this shard only.
    pub db: Option<u32>,
    /// Connection name (`CLIENT SETNAME`) for this shard only.
    pub client_name: Option<String>,
    /// Replicas of a plain shard (each an [`Endpoint::Tcp`] or [`Endpoint::Unix`]), for
    /// replica reads ([`ReadFrom`](super::ReadFrom)): reached with the shard's own
    /// credentials, db and TLS, tried in turn (one that is down, not following its primary
    /// or lagging is skipped for the next). Empty for most shards; a Sentinel shard finds
    /// its replicas through its Sentinels and does not use this list.
    pub replicas: Vec<Endpoint>,
}

impl ShardSpec {
    /// A shard at `endpoint`, weight 1, no overrides.
    pub fn new(name: impl Into<Arc<str>>, endpoint: Endpoint) -> ShardSpec {
        ShardSpec {
            name: name.into(),
            endpoint,
            tls: None,
            weight: NonZeroU32::MIN,
            username: None,
            password: None,
            db: None,
            client_name: None,
            replicas: Vec::new(),
        }
    }

    /// Parses `addr`: a plain address ([`Endpoint::parse`]), `redis://[user[:password]@]
    /// host[:port][/db]` (port 6379 by default; user info percent-decoded; `:pass@` is a
    /// password for the default user, as go-redis's `ParseURL`), `rediss://...` (the same,
    /// with TLS), or `unix://[user[:password]@]/path[?db=N]`. A `redis://` or `rediss://`
    /// URL may list the shard's replicas (replica reads): `?replica=host:port` (port 6379
    /// when none), repeated or comma-separated (`?replica=h:6380,h:6381`); other query
    /// parameters are ignored.
    ///
    /// # Errors
    /// [`AddrError`] naming what is wrong (never echoing the input: no password leaks).
    pub fn parse(name: impl Into<Arc<str>>, addr: &str) -> Result<ShardSpec, AddrError> {
        let addr = addr.trim();
        if addr.is_empty() {
            return Err(AddrError("empty address"));
        }
        let (tls, rest) = if let Some(rest) = addr.strip_prefix("redis://") {
            (false, rest)
        } else if let Some(rest) = addr.strip_prefix("rediss://") {
            (true, rest)
        } else if let Some(rest) = addr.strip_prefix("unix://") {
            return parse_unix_url(name.into(), rest);
        } else if let Some(rest) = addr.strip_prefix("redis-sentinel://") {
            return parse_sentinel_url(name.into(), rest);
        } else if addr.contains("://") {
            return Err(AddrError(
                "unknown scheme: use host:port, redis://, rediss://, redis-sentinel:// or unix://",
            ));
        } else {
            return Ok(ShardSpec::new(name, Endpoint::parse(addr)?));
        };
        // Only `replica=` is read from the query; a fragment is dropped.
        let rest = rest.split('#').next().unwrap_or("");
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (userinfo, hostpart) = split_userinfo(rest);
        let (hostport, path) = match hostpart.find('/') {
            Some(i) => (&hostpart[..i], &hostpart[i + 1..]),
            None => (hostpart, ""),
        };
        let (host, port) = split_host_port(hostport)?;
        let mut spec = ShardSpec::new(
            name,
            Endpoint::Tcp {
                host: host.to_owned(),
                port: port.unwrap_or(DEFAULT_PORT),
            },
        );
        spec.set_userinfo(userinfo)?;
        spec.db =
            match path.trim_end_matches('/') {
                "" => None,
                p => Some(p.parse::<u32>().map_err(|_| {
                    AddrError("the path of a redis:// URL must be a database number")
                })?),
            };
        spec.tls = tls.then(TlsOptions::default);
        spec.replicas = parse_replicas_query(query)?;
        Ok(spec)
    }

    /// Adds a replica of this plain shard (see [`ShardSpec::replicas`]).
    #[must_use]
    pub fn replica(mut self, replica: Endpoint) -> ShardSpec {
        self.replicas.push(replica);
        self
    }

    /// This shard's weight in placement.
    #[must_use]
    pub fn weight(mut self, weight: NonZeroU32) -> ShardSpec {
        self.weight = weight;
        self
    }

    /// TLS for this shard.
    #[must_use]
    pub fn tls(mut self, tls: TlsOptions) -> ShardSpec {
        self.tls = Some(tls);
        self
    }

    /// Whether the connection options differ from another spec's (a reconnect is needed),
    /// weights aside.
    pub fn same_connection(&self, other: &ShardSpec) -> bool {
        self.endpoint == other.endpoint
            && self.tls == other.tls
            && self.username == other.username
            && self.password == other.password
            && self.db == other.db
            && self.client_name == other.client_name
            && self.replicas == other.replicas
    }

    /// Applies this shard's overrides over the ring-wide `opts`.
    pub fn apply(&self, opts: &mut ConnOptions) {
        if self.username.is_some() {
            opts.username.clone_from(&self.username);
        }
        if self.password.is_some() {
            opts.password.clone_from(&self.password);
        }
        if let Some(db) = self.db {
            opts.db = db;
        }
        if self.client_name.is_some() {
            opts.client_name.clone_from(&self.client_name);
        }
    }

    fn set_userinfo(&mut self, userinfo: Option<&str>) -> Result<(), AddrError> {
        let Some(info) = userinfo else {
            return Ok(());
        };
        let (user, pass) = match info.find(':') {
            Some(i) => (&info[..i], Some(&info[i + 1..])),
            None => (info, None),
        };
        let user = percent_decode(user)?;
        self.username = (!user.is_empty()).then_some(user);
        self.password = pass
            .map(percent_decode)
            .transpose()?
            .filter(|p| !p.is_empty());
        Ok(())
    }
}

/// Splits URL user info off at the last `@`.
fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    match rest.rfind('@') {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    }
}

/// `unix://[user[:password]@]/path[?db=N]`.
fn parse_unix_url(name: Arc<str>, rest: &str) -> Result<ShardSpec, AddrError> {
    let (body, query) = match rest.find('?') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (userinfo, path) = split_userinfo(body);
    if !path.starts_with('/') {
        return Err(AddrError(
            "a unix:// URL needs an absolute path: unix:///path/redis.sock",
        ));
    }
    let mut spec = ShardSpec::new(name, Endpoint::Unix { path: path.into() });
    spec.set_userinfo(userinfo)?;
    for pair in query.split('&') {
        if let Some(db) = pair.strip_prefix("db=") {
            spec.db = Some(
                db.parse()
                    .map_err(|_| AddrError("db= in a unix:// URL must be a number"))?,
            );
        }
    }
    Ok(spec)
}

/// The replicas a `redis://` URL's query lists: `replica=host:port` pairs, repeated or
/// comma-separated (port 6379 when none); other parameters are ignored.
fn parse_replicas_query(query: &str) -> Result<Vec<Endpoint>, AddrError> {
    let mut replicas = Vec::new();
    for pair in query.split('&') {
        let Some(list) = pair.strip_prefix("replica=") else {
            continue;
        };
        for addr in list.split(',') {
            let (host, port) = split_host_port(addr.trim())?;
            if host.is_empty() || host.contains(['@', '/']) {
                return Err(AddrError(
                    "replica= takes host:port (the shard's credentials and db apply)",
                ));
            }
            replicas.push(Endpoint::Tcp {
                host: host.to_owned(),
                port: port.unwrap_or(DEFAULT_PORT),
            });
        }
    }
    Ok(replicas)
}

/// `redis-sentinel://[user[:password]@]host:port[,host:port...]/MASTER_NAME[/db]
/// [?sentinel_username=U&sentinel_password=P]`: the user info and database are the
/// primary's; the Sentinels' own credentials are in the query (percent-decoded).
fn parse_sentinel_url(name: Arc<str>, rest: &str) -> Result<ShardSpec, AddrError> {
    let rest = rest.split('#').next().unwrap_or("");
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut auth = SentinelAuth::default();
    for pair in query.split('&') {
        if pair.starts_with("replica=") {
            return Err(AddrError(
                "a Sentinel shard finds its replicas through its Sentinels: no replica= here",
            ));
        } else if let Some(user) = pair.strip_prefix("sentinel_username=") {
            auth.username = Some(percent_decode(user)?).filter(|u| !u.is_empty());
        } else if let Some(pass) = pair.strip_prefix("sentinel_password=") {
            auth.password = Some(percent_decode(pass)?).filter(|p| !p.is_empty());
        }
    }
    let (userinfo, hostpart) = split_userinfo(rest);
    let (hosts, path) = hostpart.split_once('/').ok_or(AddrError(
        "a redis-sentinel:// URL names the primary: redis-sentinel://host:port,.../MASTER_NAME",
    ))?;
    let mut sentinels = Vec::new();
    for h in hosts.split(',') {
        let (host, port) = split_host_port(h.trim())?;
        if host.is_empty() {
            return Err(AddrError(
                "empty Sentinel address in a redis-sentinel:// URL",
            ));
        }
        sentinels.push(Endpoint::Tcp {
            host: host.to_owned(),
            port: port.unwrap_or(super::sentinel::DEFAULT_SENTINEL_PORT),
        });
    }
    let (master, db) = match path.trim_end_matches('/').split_once('/') {
        Some((m, db)) => (
            m,
            Some(db.parse::<u32>().map_err(|_| {
                AddrError("the path after the master name must be a database number")
            })?),
        ),
        None => (path.trim_end_matches('/'), None),
    };
    if master.is_empty() {
        return Err(AddrError("a redis-sentinel:// URL needs a master name"));
    }
    let master = percent_decode(master)?;
    let mut spec = ShardSpec::new(
        name,
        Endpoint::Sentinel {
            sentinels,
            master,
            auth,
        },
    );
    spec.set_userinfo(userinfo)?;
    spec.db = db;
    Ok(spec)
}

impl fmt::Display for ShardSpec {
    /// `name=scheme://user:***@endpoint/db` (the password never shows).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=", self.name)?;
        let has_auth = self.username.is_some() || self.password.is_some();
        let sentinel = matches!(self.endpoint, Endpoint::Sentinel { .. });
        let url = !self.replicas.is_empty();
        if sentinel || self.tls.is_some() || has_auth || self.db.is_some() || url {
            f.write_str(if sentinel {
                "redis-sentinel://"
            } else if self.tls.is_some() {
                "rediss://"
            } else {
                "redis://"
            })?;
            if has_auth {
                f.write_str(self.username.as_deref().unwrap_or(""))?;
                if self.password.is_some() {
                    f.write_str(":***")?;
                }
                f.write_str("@")?;
            }
        }
        let mut sentinel_auth = None;
        match &self.endpoint {
            Endpoint::Sentinel {
                sentinels,
                master,
                auth,
            } => {
                for (i, s) in sentinels.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{s}")?;
                }
                write!(f, "/{master}")?;
                sentinel_auth = Some(auth);
            }
            e => write!(f, "{e}")?,
        }
        if let Some(db) = self.db {
            write!(f, "/{db}")?;
        }
        if let Some(auth) = sentinel_auth {
            let mut sep = "?";
            if let Some(user) = &auth.username {
                write!(f, "{sep}sentinel_username={user}")?;
                sep = "&";
            }
            if auth.password.is_some() {
                write!(f, "{sep}sentinel_password=***")?;
            }
        }
        for (i, r) in self.replicas.iter().enumerate() {
            f.write_str(if i == 0 { "?replica=" } else { "," })?;
            write!(f, "{r}")?;
        }
        if self.weight.get() != 1 {
            write!(f, " (weight {})", self.weight)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardSpec")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("tls", &self.tls)
            .field("weight", &self.weight)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("db", &self.db)
            .field("client_name", &self.client_name)
            .field("replicas", &self.replicas)
            .finish()
    }
}

/// What [`RingCore::set_shards`](crate::RingCore::set_shards) takes: a [`ShardSpec`], or a
/// `(name, address)` pair parsed by [`ShardSpec::parse`] (an address it cannot parse is
/// kept as [`Endpoint::Other`], for custom transports).
pub trait IntoShardSpec {
    /// The spec.
    fn into_shard_spec(self) -> ShardSpec;
}

impl IntoShardSpec for ShardSpec {
    fn into_shard_spec(self) -> ShardSpec {
        self
    }
}

impl IntoShardSpec for &ShardSpec {
    fn into_shard_spec(self) -> ShardSpec {
        self.clone()
    }
}

impl<N: AsRef<str>, A: AsRef<str>> IntoShardSpec for (N, A) {
    fn into_shard_spec(self) -> ShardSpec {
        let (name, addr) = (self.0.as_ref(), self.1.as_ref());
        ShardSpec::parse(name, addr).unwrap_or_else(|_| {
            // Never keep user info of a URL that did not parse: it may hold a password.
            let shown = match addr.split_once("://") {
                Some((scheme, rest)) => match rest.rsplit_once('@') {
                    Some((_, host)) => alloc::format!("{scheme}://{host}"),
                    None => addr.to_owned(),
                },
                None => addr.to_owned(),
            };
            ShardSpec::new(name, Endpoint::Other(shown))
        })
    }
}

impl<N: AsRef<str>, A: AsRef<str>> IntoShardSpec for &(N, A) {
    fn into_shard_spec(self) -> ShardSpec {
        (self.0.as_ref(), self.1.as_ref()).into_shard_spec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    fn ok(s: &str) -> ShardSpec {
        ShardSpec::parse("s", s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn address_forms() {
        assert_eq!(ok("127.0.0.1:7000").endpoint.to_string(), "127.0.0.1:7000");
        assert_eq!(ok("[::1]:7000").endpoint.to_string(), "[::1]:7000");
        assert_eq!(ok("/tmp/r.sock").endpoint.to_string(), "unix:/tmp/r.sock");
        assert_eq!(
            ok("unix:/tmp/r.sock").endpoint.to_string(),
            "unix:/tmp/r.sock"
        );
        assert_eq!(
            ok("unix:///tmp/r.sock").endpoint.to_string(),
            "unix:/tmp/r.sock"
        );
        let u = ok("unix://:pw@/tmp/r.sock?db=3");
        assert_eq!((u.password.as_deref(), u.db), (Some("pw"), Some(3)));
        let t = ok("rediss://alice:s%40cret@cache-1/2");
        assert!(t.tls.is_some());
        assert_eq!(t.endpoint.to_string(), "cache-1:6379");
        assert_eq!(t.password.as_deref(), Some("s@cret"));
        assert_eq!(t.to_string(), "s=rediss://alice:***@cache-1:6379/2");
        assert!(!format!("{t:?}").contains("s@cret"));
        for bad in [
            "",
            "h",
            "h:0",
            "::1:7000",
            "http://h:1",
            "redis://h:x",
            "unix://rel/path",
        ] {
            assert!(ShardSpec::parse("s", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sentinel_urls() {
        let s = ok("redis-sentinel://u:p%40ss@h1:26379,[::1]:26380,h3/mymaster/2");
        let Endpoint::Sentinel {
            sentinels,
            master,
            auth,
        } = &s.endpoint
        else {
            panic!("{s:?}")
        };
        assert_eq!(master, "mymaster");
        assert_eq!(*auth, SentinelAuth::default());
        let shown: Vec<String> = sentinels.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["h1:26379", "[::1]:26380", "h3:26379"]);
        assert_eq!(
            (s.username.as_deref(), s.password.as_deref(), s.db),
            (Some("u"), Some("p@ss"), Some(2))
        );
        assert_eq!(
            s.to_string(),
            "s=redis-sentinel://u:***@h1:26379,[::1]:26380,h3:26379/mymaster/2"
        );
        assert!(!format!("{s:?}").contains("p@ss"), "{s:?}");
        assert_eq!(
            ok("redis-sentinel://h:1/m").to_string(),
            "s=redis-sentinel://h:1/m"
        );
        // The Sentinels' own credentials, apart from the primary's.
        let a = ok("redis-sentinel://:pw@h:1/m?sentinel_username=sam&sentinel_password=s%26cret");
        let Endpoint::Sentinel { auth, .. } = &a.endpoint else {
            panic!("{a:?}")
        };
        assert_eq!(*auth, SentinelAuth::new(Some("sam".into()), "s&cret"));
        assert_eq!(a.password.as_deref(), Some("pw"));
        assert_eq!(
            a.to_string(),
            "s=redis-sentinel://:***@h:1/m?sentinel_username=sam&sentinel_password=***"
        );
        assert!(!format!("{a:?}").contains("s&cret"), "{a:?}");
        for bad in [
            "redis-sentinel://h:1",
            "redis-sentinel://h:1/",
            "redis-sentinel://h:1,,h:2/m",
            "redis-sentinel://h:1/m/x",
            "redis-sentinel://h:x/m",
        ] {
            assert!(ShardSpec::parse("s", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn replicas_of_a_plain_shard() {
        let s = ok("redis://:pw@h:1/2?replica=r1:7001,[::1]:7002&x=y&replica=r3");
        let shown: Vec<String> = s.replicas.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["r1:7001", "[::1]:7002", "r3:6379"]);
        assert_eq!((s.db, s.password.as_deref()), (Some(2), Some("pw")));
        assert_eq!(
            s.to_string(),
            "s=redis://:***@h:1/2?replica=r1:7001,[::1]:7002,r3:6379"
        );
        assert_eq!(ok(&s.to_string()[2..]).replicas, s.replicas);
        assert!(ok("rediss://h:1?replica=r:2").tls.is_some());
        assert!(ok("redis://h:1").replicas.is_empty());
        let built = ok("h:1").replica(Endpoint::parse("r:2").unwrap());
        assert_eq!(built.to_string(), "s=redis://h:1?replica=r:2");
        assert!(!built.same_connection(&ok("h:1")));
        for bad in [
            "redis://h:1?replica=",
            "redis://h:1?replica=r:x",
            "redis://h:1?replica=u:p@r:1",
            "redis-sentinel://h:1/m?replica=r:2",
        ] {
            assert!(ShardSpec::parse("s", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pairs_parse_or_stay_opaque_without_passwords() {
        let s = ("a", "redis://:pw@h:1/3").into_shard_spec();
        assert_eq!((s.endpoint.to_string(), s.db), ("h:1".to_string(), Some(3)));
        let o = ("a", "fake-shard-0").into_shard_spec();
        assert_eq!(o.endpoint, Endpoint::Other("fake-shard-0".into()));
        let bad = ("a", "redis://:pw@h:notaport").into_shard_spec();
        assert!(!bad.to_string().contains("pw"), "{bad}");
    }

    #[test]
    fn overrides_apply_over_ring_options() {
        let mut spec = ok("redis://u:pw@h:1/3");
        spec.client_name = Some("billing".into());
        let mut o = ConnOptions {
            password: Some("ring".into()),
            ..ConnOptions::default()
        };
        spec.apply(&mut o);
        assert_eq!(
            (
                o.username.as_deref(),
                o.password.as_deref(),
                o.db,
                o.client_name.as_deref()
            ),
            (Some("u"), Some("pw"), 3, Some("billing"))
        );
    }
}
