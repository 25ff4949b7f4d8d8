//! `redis://user:password@host:port/db` shard addresses.
//!
//! ADAPTATION, to move into the core: parsing an address is configuration, not I/O, and
//! both drivers need the same rules, so it belongs in `redis_ring_core::config` (asked for in
//! the driver-smol issue note). Until then the driver parses URLs here, gives the core only
//! `host:port` (so neither errors nor `stats()` ever show a password), and applies the
//! URL's credentials and db through the core's per-shard options hook
//! ([`Config::new_client`](redis_ring_core::config::Config::new_client)).

use std::fmt;

use redis_ring_core::config::ConnOptions;

/// A shard address taken apart: where to connect and what the URL says about the
/// connection.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct ShardAddr {
    /// `host:port` or a Unix socket path: what the core sees and the driver connects to.
    pub(crate) addr: String,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
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
    /// Whether the URL sets anything besides the address.
    pub(crate) fn has_options(&self) -> bool {
        self.username.is_some() || self.password.is_some() || self.db.is_some()
    }

    /// Applies the URL's settings over `opts` (the URL wins over the ring-wide options).
    pub(crate) fn apply(&self, opts: &mut ConnOptions) {
        if self.username.is_some() {
            opts.username.clone_from(&self.username);
        }
        if self.password.is_some() {
            opts.password.clone_from(&self.password);
        }
        if let Some(db) = self.db {
            opts.db = db;
        }
    }
}

/// Why an address was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AddrError(pub(crate) &'static str);

/// Parses `host:port`, a Unix socket path, `unix:/path`, or
/// `redis://[[user][:password]@]host[:port][/db]` (port 6379 by default; user and password
/// percent-decoded).
pub(crate) fn parse(input: &str) -> Result<ShardAddr, AddrError> {
    let Some(rest) = input.strip_prefix("redis://") else {
        if input.starts_with("rediss://") {
            return Err(AddrError("TLS (rediss://) is not supported yet"));
        }
        if input.contains("://") {
            return Err(AddrError("unknown scheme: use host:port or redis://..."));
        }
        if input.is_empty() {
            return Err(AddrError("empty address"));
        }
        return Ok(ShardAddr {
            addr: input.to_owned(),
            ..ShardAddr::default()
        });
    };
    // Credentials end at the last `@` (a password may contain `@` only percent-encoded,
    // but being lenient costs nothing).
    let (userinfo, hostpart) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (hostport, path) = match hostpart.find('/') {
        Some(slash) => (&hostpart[..slash], &hostpart[slash + 1..]),
        None => (hostpart, ""),
    };
    let path = path.split('?').next().unwrap_or("");
    if hostport.is_empty() {
        return Err(AddrError("missing host"));
    }
    let has_port = match hostport.rfind(']') {
        // [v6]:port
        Some(close) => hostport[close..].contains(':'),
        None => hostport.contains(':'),
    };
    let addr = if has_port {
        let port = &hostport[hostport.rfind(':').unwrap_or(0) + 1..];
        if port.parse::<u16>().is_err() {
            return Err(AddrError("bad port"));
        }
        hostport.to_owned()
    } else {
        format!("{hostport}:6379")
    };
    let db = match path {
        "" => None,
        db => Some(db.parse::<u32>().map_err(|_| AddrError("bad db number"))?),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(info) => {
            let (user, pass) = match info.find(':') {
                Some(colon) => (&info[..colon], Some(&info[colon + 1..])),
                None => (info, None),
            };
            let user = (!user.is_empty())
                .then(|| percent_decode(user))
                .transpose()?;
            let pass = pass.map(percent_decode).transpose()?;
            (user, pass)
        }
    };
    Ok(ShardAddr {
        addr,
        username,
        password,
        db,
    })
}

fn percent_decode(s: &str) -> Result<String, AddrError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(AddrError("bad percent-encoding"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| AddrError("credentials are not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ShardAddr {
        parse(s).unwrap()
    }

    #[test]
    fn plain_addresses_pass_through() {
        assert_eq!(p("127.0.0.1:7000").addr, "127.0.0.1:7000");
        assert_eq!(p("cache-1:6379").addr, "cache-1:6379");
        assert_eq!(p("/tmp/redis.sock").addr, "/tmp/redis.sock");
        assert!(!p("127.0.0.1:7000").has_options());
    }

    #[test]
    fn urls() {
        let a = p("redis://default:s3cret@127.0.0.1:7000/2");
        assert_eq!(a.addr, "127.0.0.1:7000");
        assert_eq!(a.username.as_deref(), Some("default"));
        assert_eq!(a.password.as_deref(), Some("s3cret"));
        assert_eq!(a.db, Some(2));
        let b = p("redis://:p%40ss@cache");
        assert_eq!(b.addr, "cache:6379");
        assert_eq!(b.username, None);
        assert_eq!(b.password.as_deref(), Some("p@ss"));
        assert_eq!(b.db, None);
        let c = p("redis://[::1]:7001/0?protocol=3");
        assert_eq!(c.addr, "[::1]:7001");
        assert_eq!(c.db, Some(0));
        assert_eq!(p("redis://[::1]").addr, "[::1]:6379");
        assert_eq!(p("redis://u@h:1").username.as_deref(), Some("u"));
    }

    #[test]
    fn bad_urls() {
        for bad in [
            "",
            "rediss://h:1",
            "http://h:1",
            "redis://",
            "redis://h:x",
            "redis://h:1/x",
            "redis://:%zz@h:1",
            "redis://h:99999",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn apply_overrides_and_debug_hides_password() {
        let a = p("redis://u:pw@h:1/3");
        let mut o = ConnOptions::default();
        o.password = Some("ring".into());
        a.apply(&mut o);
        assert_eq!(o.password.as_deref(), Some("pw"));
        assert_eq!(o.username.as_deref(), Some("u"));
        assert_eq!(o.db, 3);
        assert!(!format!("{a:?}").contains("pw"));
    }
}
