//! Shard addresses: plain `host:port`, a Unix socket path, or
//! `redis://[user[:password]@]host[:port][/db]` URLs (`rediss://` for TLS).
//!
//! Parsing an address is configuration, not I/O, and both drivers need the same rules, so it
//! lives here. A URL's credentials and database apply to that shard only: a driver records
//! the parsed [`ShardAddr`] and applies it through the per-shard options hook
//! ([`Config::new_client`](super::Config::new_client), go-redis's `NewClient`), and the core
//! is only ever given [`ShardAddr::addr`] (`host:port`), so neither errors nor stats can show
//! a password.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::ConnOptions;

/// The default Redis port, used when a URL names none.
const DEFAULT_PORT: u16 = 6379;

/// A shard address as given by the user, split into what the core connects to and the
/// connection options the URL overrides.
///
/// Its `Debug` output never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ShardAddr {
    /// `host:port` (IPv6 hosts in brackets) or a Unix socket path: what the core is given
    /// and the driver connects to.
    pub addr: String,
    /// User name from the URL.
    pub username: Option<String>,
    /// Password from the URL (percent-decoded).
    pub password: Option<String>,
    /// Database from the URL path.
    pub db: Option<u32>,
    /// A `rediss://` URL: the shard speaks TLS.
    pub tls: bool,
}

impl fmt::Debug for ShardAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardAddr")
            .field("addr", &self.addr)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Why a shard address was rejected. It carries only a fixed reason, never the input, so
/// it cannot leak a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrError(&'static str);

impl AddrError {
    /// What is wrong with the address (a fixed English phrase).
    pub fn reason(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl core::error::Error for AddrError {}

/// Parses a shard address; see [`ShardAddr::parse`].
///
/// # Errors
/// [`AddrError`] naming what is wrong.
pub fn parse_shard_addr(input: &str) -> Result<ShardAddr, AddrError> {
    ShardAddr::parse(input)
}

impl ShardAddr {
    /// Parses `input`: `host:port`, a Unix socket path (`/tmp/redis.sock` or
    /// `unix:/tmp/redis.sock`, kept as given), or
    /// `redis://[user[:password]@]host[:port][/db]` (port 6379 by default; user and
    /// password percent-decoded; a query string or fragment is ignored), or the same with
    /// `rediss://` for TLS.
    ///
    /// # Errors
    /// [`AddrError`] naming what is wrong.
    pub fn parse(input: &str) -> Result<ShardAddr, AddrError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(AddrError("empty address"));
        }
        if let Some(rest) = input.strip_prefix("redis://") {
            return parse_url(rest);
        }
        if let Some(rest) = input.strip_prefix("rediss://") {
            return parse_url(rest).map(|a| ShardAddr { tls: true, ..a });
        }
        if input.starts_with("unix://") || input.starts_with("redis+unix://") {
            return Err(AddrError(
                "unix:// URLs are not supported yet: give the socket path",
            ));
        }
        if input.contains("://") {
            return Err(AddrError(
                "unknown scheme: use host:port or redis://user:pass@host:port/db",
            ));
        }
        if input.starts_with('/') || input.starts_with("unix:/") {
            return Ok(ShardAddr::plain(input.to_owned()));
        }
        let (host, port) = split_host_port(input)?;
        let port = port.ok_or(AddrError("missing port: use host:port"))?;
        Ok(ShardAddr::plain(join_host_port(host, port)))
    }

    fn plain(addr: String) -> ShardAddr {
        ShardAddr {
            addr,
            username: None,
            password: None,
            db: None,
            tls: false,
        }
    }

    /// Whether the address is a Unix socket path (`/path` or `unix:/path`) rather than
    /// `host:port`.
    pub fn is_unix(&self) -> bool {
        self.addr.starts_with('/') || self.addr.starts_with("unix:/")
    }

    /// Whether the URL overrides any connection option.
    pub fn has_overrides(&self) -> bool {
        self.username.is_some() || self.password.is_some() || self.db.is_some() || self.tls
    }

    /// Applies the URL's overrides over `opts` (the URL wins over the ring-wide options).
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
        if self.tls && opts.tls.is_none() {
            // `rediss://`: TLS with the ring-wide settings if there are any, else defaults.
            opts.tls = Some(super::TlsOptions::default());
        }
    }
}

fn parse_url(rest: &str) -> Result<ShardAddr, AddrError> {
    // Drop a query string or fragment: no option is read from them (yet).
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    // Credentials end at the last `@` (a password may contain `@` only percent-encoded,
    // but being lenient costs nothing).
    let (userinfo, hostpart) = match rest.rfind('@') {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    };
    let (hostport, path) = match hostpart.find('/') {
        Some(i) => (&hostpart[..i], &hostpart[i + 1..]),
        None => (hostpart, ""),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(info) => {
            let (user, pass) = match info.find(':') {
                Some(i) => (&info[..i], Some(&info[i + 1..])),
                None => (info, None),
            };
            let user = percent_decode(user)?;
            let pass = pass.map(percent_decode).transpose()?;
            // As go-redis's `ParseURL`: `redis://:pass@host` is a password for the default
            // user, `redis://user@host` a user name alone.
            (
                (!user.is_empty()).then_some(user),
                pass.filter(|p| !p.is_empty()),
            )
        }
    };
    let (host, port) = split_host_port(hostport)?;
    let db = match path.trim_end_matches('/') {
        "" => None,
        p => Some(
            p.parse::<u32>()
                .map_err(|_| AddrError("the path of a redis:// URL must be a database number"))?,
        ),
    };
    Ok(ShardAddr {
        addr: join_host_port(host, port.unwrap_or(DEFAULT_PORT)),
        username,
        password,
        db,
        tls: false,
    })
}

/// Splits `host[:port]`, `[v6]` or `[v6]:port`.
fn split_host_port(s: &str) -> Result<(&str, Option<u16>), AddrError> {
    const BAD_PORT: AddrError = AddrError("the port must be a number from 1 to 65535");
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or(AddrError("unclosed '[' in IPv6 address"))?;
        let host = &rest[..end];
        match &rest[end + 1..] {
            "" => (host, None),
            p => (
                host,
                Some(
                    p.strip_prefix(':')
                        .ok_or(AddrError("expected ':' after ']'"))?,
                ),
            ),
        }
    } else {
        match s.rfind(':') {
            Some(i) if s[..i].contains(':') => {
                return Err(AddrError(
                    "IPv6 addresses must be written in brackets: [::1]:6379",
                ))
            }
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err(AddrError("missing host"));
    }
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().map_err(|_| BAD_PORT)?),
    };
    if port == Some(0) {
        return Err(BAD_PORT);
    }
    Ok((host, port))
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Decodes `%XX` escapes (URL user info).
fn percent_decode(s: &str) -> Result<String, AddrError> {
    const BAD: AddrError = AddrError("bad %-escape in URL");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| core::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(BAD)?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| AddrError("URL user info is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn ok(s: &str) -> ShardAddr {
        ShardAddr::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn plain_addresses() {
        assert_eq!(ok("127.0.0.1:7000").addr, "127.0.0.1:7000");
        assert_eq!(ok(" cache-1:6379 ").addr, "cache-1:6379");
        assert_eq!(ok("[::1]:7000").addr, "[::1]:7000");
        assert!(!ok("h:1").has_overrides());
        assert!(!ok("h:1").is_unix());
        assert!(ShardAddr::parse("127.0.0.1").is_err());
        assert!(ShardAddr::parse("::1:7000").is_err());
        assert!(ShardAddr::parse(":7000").is_err());
        assert!(ShardAddr::parse("h:0").is_err());
        assert!(ShardAddr::parse("h:70000").is_err());
        assert!(ShardAddr::parse("h:x").is_err());
    }

    #[test]
    fn unix_socket_paths_pass_through() {
        let a = ok("/tmp/redis.sock");
        assert_eq!(a.addr, "/tmp/redis.sock");
        assert!(a.is_unix() && !a.has_overrides());
        let b = ok("unix:/tmp/redis.sock");
        assert_eq!(b.addr, "unix:/tmp/redis.sock");
        assert!(b.is_unix());
        assert!(ShardAddr::parse("unix:///tmp/r.sock").is_err());
    }

    #[test]
    fn urls() {
        let a = ok("redis://alice:s%40cret@cache-1:7001/3");
        assert_eq!(a.addr, "cache-1:7001");
        assert_eq!(a.username.as_deref(), Some("alice"));
        assert_eq!(a.password.as_deref(), Some("s@cret"));
        assert_eq!(a.db, Some(3));
        let b = ok("redis://:pw@h");
        assert_eq!(
            (b.addr.as_str(), b.username, b.password.as_deref()),
            ("h:6379", None, Some("pw"))
        );
        let c = ok("redis://bob@h:1/");
        assert_eq!(
            (c.username.as_deref(), c.password, c.db),
            (Some("bob"), None, None)
        );
        let d = ok("redis://[::1]:7000/0?timeout=1");
        assert_eq!((d.addr.as_str(), d.db), ("[::1]:7000", Some(0)));
        assert_eq!(ok("redis://[::1]").addr, "[::1]:6379");
        let e = ok("redis://default:s3cret@127.0.0.1:7000/2");
        assert_eq!(
            (e.addr.as_str(), e.username.as_deref(), e.db),
            ("127.0.0.1:7000", Some("default"), Some(2))
        );
        assert!(!ok("redis://h:1").has_overrides());
    }

    #[test]
    fn bad_addresses() {
        for bad in [
            "",
            "unix:///tmp/r.sock",
            "http://h:1",
            "redis://",
            "redis://h:x",
            "redis://h:1/x",
            "redis://u:%zz@h",
            "redis://:%zz@h:1",
            "redis://h:99999",
        ] {
            assert!(parse_shard_addr(bad).is_err(), "{bad}");
        }
        // The reasons the drivers' errors rely on.
        let reason = |s: &str| ShardAddr::parse(s).unwrap_err().reason();
        assert!(reason("").contains("empty"));
        assert!(ok("rediss://h:1").tls);
        assert!(reason("redis://:secret@h:notaport").contains("port"));
        assert!(!reason("redis://:secret@h:notaport").contains("secret"));
    }

    #[test]
    fn overrides_apply_and_debug_hides_password() {
        let a = ok("redis://u:pw@h:1/3");
        let mut o = ConnOptions {
            password: Some("ring".into()),
            ..ConnOptions::default()
        };
        a.apply(&mut o);
        assert_eq!(
            (o.username.as_deref(), o.password.as_deref(), o.db),
            (Some("u"), Some("pw"), 3)
        );
        assert!(!format!("{a:?}").contains("pw"));
        assert!(!AddrError("x").to_string().is_empty());
    }
}
