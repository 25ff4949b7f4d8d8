//! The pieces of address parsing [`ShardSpec::parse`](super::ShardSpec::parse) is built
//! from: host and port splitting (IPv6 in brackets), URL percent-decoding, and
//! [`AddrError`], which carries only a fixed reason (never the input, so never a password).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why a shard address was rejected. It carries only a fixed reason, never the input, so
/// it cannot leak a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrError(pub(super) &'static str);

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

/// `addr` as it may be shown (tables, JSON, logs, errors): a URL's password replaced by
/// `***` (`redis://user:***@host:port/db`); a user-info part without `:` is replaced whole
/// (some clients read it as a password); so is the Sentinels' password in a query
/// (`sentinel_password=***`); anything else unchanged. Never fails: an address that does
/// not parse is shown with the same rule.
///
/// ```
/// use redis_ring_core::config::redact_addr;
///
/// assert_eq!(redact_addr("redis://user:s3cret@h:1/0"), "redis://user:***@h:1/0");
/// assert_eq!(redact_addr("redis://:s3cret@h:1"), "redis://:***@h:1");
/// assert_eq!(redact_addr("redis://s3cret@h:1"), "redis://***@h:1");
/// assert_eq!(redact_addr("127.0.0.1:6379"), "127.0.0.1:6379");
/// assert_eq!(
///     redact_addr("redis-sentinel://h:1/m?sentinel_password=s3cret&x=1"),
///     "redis-sentinel://h:1/m?sentinel_password=***&x=1"
/// );
/// ```
pub fn redact_addr(addr: &str) -> alloc::borrow::Cow<'_, str> {
    use alloc::borrow::Cow;
    let shown = redact_user_info(addr);
    const KEY: &str = "sentinel_password=";
    let Some(at) = shown.find(KEY) else {
        return shown;
    };
    let value_start = at + KEY.len();
    let value_end = shown[value_start..]
        .find(['&', '#'])
        .map_or(shown.len(), |i| value_start + i);
    Cow::Owned(alloc::format!(
        "{}***{}",
        &shown[..value_start],
        &shown[value_end..]
    ))
}

/// [`redact_addr`]'s user-info part.
fn redact_user_info(addr: &str) -> alloc::borrow::Cow<'_, str> {
    use alloc::borrow::Cow;
    let Some(scheme_end) = addr.find("://") else {
        return Cow::Borrowed(addr);
    };
    let rest = &addr[scheme_end + 3..];
    // The user info ends at the last `@` before the path (a password may hold `@`, `/`...).
    let authority_end = rest.rfind('@');
    let Some(at) = authority_end else {
        return Cow::Borrowed(addr);
    };
    let user_info = &rest[..at];
    let shown = match user_info.split_once(':') {
        Some((user, _)) => alloc::format!("{user}:***"),
        None => "***".into(),
    };
    Cow::Owned(alloc::format!(
        "{}{}{}",
        &addr[..scheme_end + 3],
        shown,
        &rest[at..]
    ))
}

/// Splits `host[:port]`, `[v6]` or `[v6]:port`.
pub(super) fn split_host_port(s: &str) -> Result<(&str, Option<u16>), AddrError> {
    const BAD_PORT: AddrError = AddrError("the port must be a number from 1 to 65535");
    if s.contains([';', '=']) {
        // `a=h:1;b=h:2`: several shards written with the wrong separator.
        return Err(AddrError(
            "';' or '=' inside an address: shards are separated by commas (a=host:6379,b=host:6380)",
        ));
    }
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

/// Decodes `%XX` escapes (URL user info).
pub(super) fn percent_decode(s: &str) -> Result<String, AddrError> {
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

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("h:1").unwrap(), ("h", Some(1)));
        assert_eq!(split_host_port("[::1]:7000").unwrap(), ("::1", Some(7000)));
        assert_eq!(split_host_port("[::1]").unwrap(), ("::1", None));
        for bad in ["::1:7000", ":7000", "h:0", "h:70000", "h:x", "[::1"] {
            assert!(split_host_port(bad).is_err(), "{bad}");
        }
        assert_eq!(percent_decode("s%40cret").unwrap(), "s@cret");
        assert!(percent_decode("%zz").is_err());
        assert!(!AddrError("x").to_string().is_empty());
    }
}
