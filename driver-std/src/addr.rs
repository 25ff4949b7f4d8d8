//! Shard addresses: plain `host:port`, or `redis://user:pass@host:port/db` URLs.
//!
//! A URL's credentials and database apply to that shard only: the builder turns them into
//! a per-shard override of the connection options (the same mechanism as go-redis's
//! `NewClient` hook), and the core only ever sees `host:port`.

use std::fmt;

use redis_ring_core::config::ConnOptions;

/// The default Redis port, used when a URL names none.
const DEFAULT_PORT: u16 = 6379;

/// A shard address as given by the user, split into what the core connects to and the
/// connection options the URL overrides.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ShardAddr {
    /// `host:port` (IPv6 hosts in brackets), what the core is given.
    pub(crate) addr: String,
    /// User name from the URL.
    pub(crate) username: Option<String>,
    /// Password from the URL.
    pub(crate) password: Option<String>,
    /// Database from the URL path.
    pub(crate) db: Option<u32>,
}

impl fmt::Debug for ShardAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardAddr")
            .field("addr", &self.addr)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .finish()
    }
}

impl ShardAddr {
    /// Parses `input`: `host:port`, `redis://[user[:password]@]host[:port][/db]`.
    pub(crate) fn parse(input: &str) -> Result<ShardAddr, &'static str> {
        let input = input.trim();
        if let Some(rest) = input.strip_prefix("redis://") {
            return parse_url(rest);
        }
        if input.starts_with("rediss://") {
            return Err("TLS (rediss://) is not supported yet");
        }
        if input.starts_with("unix://") || input.starts_with("redis+unix://") {
            return Err("unix socket addresses are not supported yet");
        }
        if input.contains("://") {
            return Err("unknown scheme: use host:port or redis://user:pass@host:port/db");
        }
        let (host, port) = split_host_port(input)?;
        let port = port.ok_or("missing port: use host:port")?;
        Ok(ShardAddr {
            addr: join_host_port(host, port),
            username: None,
            password: None,
            db: None,
        })
    }

    /// Whether the URL overrides any connection option.
    pub(crate) fn has_overrides(&self) -> bool {
        self.username.is_some() || self.password.is_some() || self.db.is_some()
    }

    /// Applies the URL's overrides to `opts`.
    pub(crate) fn apply(&self, opts: &mut ConnOptions) {
        if let Some(u) = &self.username {
            opts.username = Some(u.clone());
        }
        if let Some(p) = &self.password {
            opts.password = Some(p.clone());
        }
        if let Some(db) = self.db {
            opts.db = db;
        }
    }
}

fn parse_url(rest: &str) -> Result<ShardAddr, &'static str> {
    // Drop a query string or fragment: no option is read from them (yet).
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
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
                .map_err(|_| "the path of a redis:// URL must be a database number")?,
        ),
    };
    Ok(ShardAddr {
        addr: join_host_port(host, port.unwrap_or(DEFAULT_PORT)),
        username,
        password,
        db,
    })
}

/// Splits `host[:port]`, `[v6]` or `[v6]:port`.
fn split_host_port(s: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or("unclosed '[' in IPv6 address")?;
        let host = &rest[..end];
        match &rest[end + 1..] {
            "" => (host, None),
            p => (
                host,
                Some(p.strip_prefix(':').ok_or("expected ':' after ']'")?),
            ),
        }
    } else {
        match s.rfind(':') {
            Some(i) if s[..i].contains(':') => {
                return Err("IPv6 addresses must be written in brackets: [::1]:6379")
            }
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("missing host");
    }
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| "the port must be a number from 1 to 65535")?,
        ),
    };
    if port == Some(0) {
        return Err("the port must be a number from 1 to 65535");
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
fn percent_decode(s: &str) -> Result<String, &'static str> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or("bad %-escape in URL")?;
            let hex = std::str::from_utf8(hex).map_err(|_| "bad %-escape in URL")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| "bad %-escape in URL")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "URL user info is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> ShardAddr {
        ShardAddr::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn plain_addresses() {
        assert_eq!(ok("127.0.0.1:7000").addr, "127.0.0.1:7000");
        assert_eq!(ok(" cache-1:6379 ").addr, "cache-1:6379");
        assert_eq!(ok("[::1]:7000").addr, "[::1]:7000");
        assert!(!ok("h:1").has_overrides());
        assert!(ShardAddr::parse("127.0.0.1").is_err());
        assert!(ShardAddr::parse("::1:7000").is_err());
        assert!(ShardAddr::parse(":7000").is_err());
        assert!(ShardAddr::parse("h:0").is_err());
        assert!(ShardAddr::parse("h:70000").is_err());
        assert!(ShardAddr::parse("h:x").is_err());
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
        assert!(!ok("redis://h:1").has_overrides());
        assert!(ShardAddr::parse("rediss://h:1").is_err());
        assert!(ShardAddr::parse("unix:///tmp/r.sock").is_err());
        assert!(ShardAddr::parse("http://h:1").is_err());
        assert!(ShardAddr::parse("redis://h:1/x").is_err());
        assert!(ShardAddr::parse("redis://u:%zz@h").is_err());
        assert!(ShardAddr::parse("redis://").is_err());
    }

    #[test]
    fn overrides_apply_and_debug_hides_password() {
        let a = ok("redis://u:p@h:1/2");
        let mut o = ConnOptions::default();
        a.apply(&mut o);
        assert_eq!(
            (o.username.as_deref(), o.password.as_deref(), o.db),
            (Some("u"), Some("p"), 2)
        );
        assert!(!format!("{a:?}").contains("\"p\""));
    }
}
