//! The Sentinel protocol, sans-io: the requests a driver sends when it connects a
//! [`Endpoint::Sentinel`] shard and the judgement of their replies. The driver does only the
//! I/O (one short connection per Sentinel asked), so every runtime resolves alike.
//!
//! Resolution, on every connect of such a shard (a reconnect after a failover included):
//! 1. the candidates: the address a Sentinel last announced on `+switch-master` (below), if
//!    any, then each Sentinel's answer to [`master_addr_request`] (judged by
//!    [`parse_master_addr`]) in the configured order; a Sentinel that is down, slow, or does
//!    not know the master is skipped;
//! 2. connect to a candidate and send [`ROLE_REQUEST`] before the handshake; one that cannot
//!    be reached or that [`parse_role`] does not call [`Role::Master`] (a Sentinel that has
//!    not yet learnt of the failover) is skipped for the next; none left fails the connect.
//!
//! Following a failover while connected: the driver subscribes to every Sentinel
//! ([`SUBSCRIBE_SWITCH_MASTER`], kept alive with [`PING_REQUEST`]) and judges each message
//! with [`parse_switch_master`]. Every Sentinel publishes the switch once it learns of it,
//! the failover's leader first, so the earliest word wins; connections to any other address
//! are closed and their reconnect tries the announced address first.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::Endpoint;
use crate::resp::{encode_command, Value};

/// Credentials for the Sentinels themselves (go-redis `SentinelUsername` /
/// `SentinelPassword`), separate from the data nodes' (a `redis-sentinel://` URL's user
/// info is the primary's): `?sentinel_username=U&sentinel_password=P` in the URL. A
/// Sentinel started with `requirepass` (and `sentinel sentinel-pass` for its peers) wants
/// `AUTH` on every connection; the driver sends [`SentinelAuth::request`] first and goes
/// on only when [`auth_accepted`]. `Debug` never shows the password.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SentinelAuth {
    /// ACL user on the Sentinels; `None` with a password: the `default` user.
    pub username: Option<String>,
    /// Password on the Sentinels; `None`: no `AUTH`.
    pub password: Option<String>,
}

impl SentinelAuth {
    /// Credentials: `password`, for `username` (`None`: the default user).
    pub fn new(username: Option<String>, password: impl Into<String>) -> SentinelAuth {
        SentinelAuth {
            username,
            password: Some(password.into()),
        }
    }

    /// `AUTH [username] password`, encoded; `None` without a password (nothing to send).
    pub fn request(&self) -> Option<Vec<u8>> {
        let password = self.password.as_deref()?;
        let mut out = Vec::new();
        match self.username.as_deref() {
            Some(user) => encode_command(
                &[b"AUTH".as_slice(), user.as_bytes(), password.as_bytes()],
                &mut out,
            ),
            None => encode_command(&[b"AUTH".as_slice(), password.as_bytes()], &mut out),
        }
        Some(out)
    }
}

impl fmt::Debug for SentinelAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentinelAuth")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Whether the reply to [`SentinelAuth::request`] accepts the credentials (`+OK`).
pub fn auth_accepted(reply: &Value) -> bool {
    matches!(reply, Value::Okay) || matches!(reply, Value::Simple(s) if s == b"OK")
}

/// Whether a Sentinel's reply refuses a request for want of (valid) credentials: `NOAUTH`
/// or `WRONGPASS`, as opposed to a Sentinel that does not know the master.
pub fn auth_refused(reply: &Value) -> bool {
    let message = match reply {
        Value::Error(m) | Value::BulkError(m) => m.as_slice(),
        _ => return false,
    };
    message.starts_with(b"NOAUTH") || message.starts_with(b"WRONGPASS")
}

/// The port a Sentinel listens on when a `redis-sentinel://` URL names none.
pub const DEFAULT_SENTINEL_PORT: u16 = 26379;

/// `ROLE`, encoded: sent to the resolved primary before the handshake.
pub const ROLE_REQUEST: &[u8] = b"*1\r\n$4\r\nROLE\r\n";

/// `SENTINEL GET-MASTER-ADDR-BY-NAME master`, encoded.
pub fn master_addr_request(master: &str) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(
        &[
            b"SENTINEL".as_slice(),
            b"GET-MASTER-ADDR-BY-NAME",
            master.as_bytes(),
        ],
        &mut out,
    );
    out
}

/// Reads a `GET-MASTER-ADDR-BY-NAME` reply (`[host, port]`): the primary's address, or
/// `None` when this Sentinel does not know the master (a nil) or answered anything else.
pub fn parse_master_addr(reply: &Value) -> Option<Endpoint> {
    let Value::Array(items) = reply else {
        return None;
    };
    let [host, port] = items.as_slice() else {
        return None;
    };
    let host = String::from(host.as_str()?);
    let port: u16 = port.as_str()?.parse().ok()?;
    if host.is_empty() || port == 0 {
        return None;
    }
    Some(Endpoint::Tcp { host, port })
}

/// `SENTINEL REPLICAS master`, encoded (replica reads, [`ReadFrom`](super::ReadFrom)).
pub fn replicas_request(master: &str) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(
        &[b"SENTINEL".as_slice(), b"REPLICAS", master.as_bytes()],
        &mut out,
    );
    out
}

/// Reads a `SENTINEL REPLICAS` reply (one field/value list per replica): the addresses of
/// the replicas this Sentinel holds usable, in its order. Skipped: a replica it flags down
/// (`s_down`, `o_down`) or `disconnected`. Its `master-link-status` is not trusted (the
/// Sentinel refreshes it every 10 s, so a replica that just synced reads `err`); the
/// driver asks the replica itself ([`replica_in_sync`]).
pub fn parse_replicas(reply: &Value) -> Vec<Endpoint> {
    let Value::Array(replicas) = reply else {
        return Vec::new();
    };
    replicas
        .iter()
        .filter_map(|r| {
            let field = |name: &str| -> Option<&str> {
                match r {
                    Value::Array(kv) => kv
                        .chunks(2)
                        .find(|p| p[0].as_str() == Some(name))
                        .and_then(|p| p.get(1)?.as_str()),
                    Value::Map(kv) => kv
                        .iter()
                        .find(|(k, _)| k.as_str() == Some(name))
                        .and_then(|(_, v)| v.as_str()),
                    _ => None,
                }
            };
            let flags = field("flags")?;
            let bad = flags
                .split(',')
                .any(|f| matches!(f, "s_down" | "o_down" | "disconnected"));
            if bad {
                return None;
            }
            let host = field("ip")?;
            let port: u16 = field("port")?.parse().ok()?;
            (!host.is_empty() && port != 0).then(|| Endpoint::Tcp {
                host: String::from(host),
                port,
            })
        })
        .collect()
}

/// Whether a `ROLE` reply is a replica's whose link to its primary is up
/// (`["slave", host, port, "connected", offset]`): one that reads may go to.
pub fn replica_in_sync(reply: &Value) -> bool {
    let Value::Array(items) = reply else {
        return false;
    };
    items.first().and_then(Value::as_str) == Some("slave")
        && items.get(3).and_then(Value::as_str) == Some("connected")
}

/// The replication offset in a primary's `ROLE` reply (`["master", offset, replicas]`).
pub fn primary_offset(reply: &Value) -> Option<i64> {
    let Value::Array(items) = reply else {
        return None;
    };
    if items.first().and_then(Value::as_str) != Some("master") {
        return None;
    }
    items.get(1).and_then(Value::as_int)
}

/// How far (in bytes of the replication stream) a replica's `ROLE` reply puts it behind
/// `primary` (the primary's last known offset; `None`: unknown, counted as no lag). `None`
/// when the reply is not a replica's with its link up: it must not serve reads.
pub fn replica_lag(reply: &Value, primary: Option<i64>) -> Option<u64> {
    if !replica_in_sync(reply) {
        return None;
    }
    let Value::Array(items) = reply else {
        return None;
    };
    let own = items.get(4).and_then(Value::as_int)?;
    Some(primary.map_or(0, |p| p.saturating_sub(own).max(0).unsigned_abs()))
}

/// A server's role, as `ROLE` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A primary: writes are accepted.
    Master,
    /// A replica (or a Sentinel): not the shard's primary.
    Other,
    /// The server refused `ROLE` (`-NOAUTH`: it wants the handshake first); the role cannot
    /// be checked before connecting, so the connect goes ahead.
    Unknown,
}

/// Judges a `ROLE` reply (`["master", offset, replicas]`, `["slave", ...]`, ...).
pub fn parse_role(reply: &Value) -> Role {
    match reply {
        Value::Array(items) => match items.first().and_then(Value::as_str) {
            Some("master") => Role::Master,
            _ => Role::Other,
        },
        Value::Error(_) | Value::BulkError(_) => Role::Unknown,
        _ => Role::Other,
    }
}

/// `SUBSCRIBE +switch-master`, encoded: the channel on which a Sentinel announces a new
/// primary (`<name> <old-ip> <old-port> <new-ip> <new-port>`).
pub const SUBSCRIBE_SWITCH_MASTER: &[u8] = b"*2\r\n$9\r\nSUBSCRIBE\r\n$14\r\n+switch-master\r\n";

/// `PING`, encoded: keeps a subscription alive (answered `["pong", ""]` while subscribed).
pub const PING_REQUEST: &[u8] = b"*1\r\n$4\r\nPING\r\n";

/// Reads a message received on a subscription: the new primary of `master` when it is a
/// `+switch-master` announcement for that master, else `None` (the subscription's
/// confirmation, a `pong`, another master's switch, anything malformed).
pub fn parse_switch_master(message: &Value, master: &str) -> Option<Endpoint> {
    let (Value::Array(items) | Value::Push(items)) = message else {
        return None;
    };
    let [kind, channel, payload] = items.as_slice() else {
        return None;
    };
    if kind.as_str()? != "message" || channel.as_str()? != "+switch-master" {
        return None;
    }
    let mut words = payload.as_str()?.split(' ');
    if words.next()? != master {
        return None;
    }
    let (_old_host, _old_port) = (words.next()?, words.next()?);
    let host = words.next()?;
    let port: u16 = words.next()?.parse().ok()?;
    if words.next().is_some() || host.is_empty() || port == 0 {
        return None;
    }
    Some(Endpoint::Tcp {
        host: String::from(host),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::{decode, Limits, Status};
    use alloc::vec;

    fn value(wire: &[u8]) -> Value {
        match decode(wire, &Limits::default()) {
            Ok(Status::Complete((f, _))) => f.to_value(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_are_resp_arrays() {
        assert_eq!(
            master_addr_request("m1"),
            b"*3\r\n$8\r\nSENTINEL\r\n$23\r\nGET-MASTER-ADDR-BY-NAME\r\n$2\r\nm1\r\n"
        );
        assert_eq!(
            value(ROLE_REQUEST),
            Value::Array(vec![Value::Bulk(b"ROLE".to_vec())])
        );
    }

    #[test]
    fn sentinel_auth() {
        assert_eq!(SentinelAuth::default().request(), None);
        let auth = SentinelAuth::new(None, "pw");
        assert_eq!(
            auth.request().as_deref(),
            Some(&b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"[..])
        );
        let acl = SentinelAuth::new(Some("u".into()), "pw");
        assert_eq!(
            acl.request().as_deref(),
            Some(&b"*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$2\r\npw\r\n"[..])
        );
        assert!(!alloc::format!("{acl:?}").contains("pw"));
        assert!(auth_accepted(&value(b"+OK\r\n")));
        assert!(!auth_accepted(&value(b"-WRONGPASS invalid\r\n")));
        assert!(auth_refused(&value(
            b"-NOAUTH Authentication required.\r\n"
        )));
        assert!(auth_refused(&value(
            b"-WRONGPASS invalid username-password\r\n"
        )));
        assert!(!auth_refused(&value(b"*-1\r\n")));
    }

    #[test]
    fn master_addr_replies() {
        let ok = value(b"*2\r\n$9\r\n127.0.0.1\r\n$4\r\n7001\r\n");
        assert_eq!(
            parse_master_addr(&ok),
            Some(Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 7001
            })
        );
        for bad in [
            &b"*-1\r\n"[..],
            b"$-1\r\n",
            b"-ERR no such master\r\n",
            b"*2\r\n$1\r\nh\r\n$1\r\nx\r\n",
            b"*2\r\n$0\r\n\r\n$1\r\n1\r\n",
            b"*1\r\n$1\r\nh\r\n",
            b"*2\r\n$1\r\nh\r\n$1\r\n0\r\n",
        ] {
            assert_eq!(parse_master_addr(&value(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn switch_master_messages() {
        let msg = |payload: &str| {
            let mut wire = Vec::new();
            encode_command(
                &[b"message".as_slice(), b"+switch-master", payload.as_bytes()],
                &mut wire,
            );
            value(&wire)
        };
        assert_eq!(
            parse_switch_master(&msg("m1 127.0.0.1 7001 127.0.0.1 7002"), "m1"),
            Some(Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 7002
            })
        );
        let bad = [
            msg("m2 127.0.0.1 7001 127.0.0.1 7002"),
            msg("m1 127.0.0.1 7001 127.0.0.1"),
            msg("m1 127.0.0.1 7001 127.0.0.1 x"),
            msg("m1 127.0.0.1 7001 127.0.0.1 7002 extra"),
            value(b"*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n"),
            value(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"),
            value(b"+OK\r\n"),
        ];
        for b in &bad {
            assert_eq!(parse_switch_master(b, "m1"), None, "{b:?}");
        }
        let words = |v: Value| match v {
            Value::Array(items) => items.len(),
            _ => 0,
        };
        assert_eq!(words(value(SUBSCRIBE_SWITCH_MASTER)), 2);
        assert_eq!(words(value(PING_REQUEST)), 1);
    }

    #[test]
    fn replicas_replies() {
        let entry = |ip: &str, port: &str, flags: &str, link: &str| {
            let words = [
                "name",
                "x",
                "ip",
                ip,
                "port",
                port,
                "flags",
                flags,
                "master-link-status",
                link,
            ];
            Value::Array(
                words
                    .iter()
                    .map(|w| Value::Bulk(w.as_bytes().to_vec()))
                    .collect(),
            )
        };
        let reply = Value::Array(vec![
            entry("127.0.0.1", "7001", "slave", "ok"),
            entry("127.0.0.1", "7002", "s_down,slave,disconnected", "err"),
            entry("127.0.0.1", "7003", "slave,disconnected", "ok"),
            entry("127.0.0.1", "7004", "slave,o_down", "ok"),
            entry("", "7005", "slave", "ok"),
            entry("127.0.0.1", "x", "slave", "ok"),
            Value::Bulk(b"junk".to_vec()),
        ]);
        assert_eq!(
            parse_replicas(&reply),
            vec![Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 7001
            }]
        );
        assert!(parse_replicas(&value(b"-ERR No such master\r\n")).is_empty());
        assert_eq!(
            value(&replicas_request("m")),
            Value::Array(vec![
                Value::Bulk(b"SENTINEL".to_vec()),
                Value::Bulk(b"REPLICAS".to_vec()),
                Value::Bulk(b"m".to_vec()),
            ])
        );
        let sync = value(b"*5\r\n$5\r\nslave\r\n$1\r\nh\r\n:1\r\n$9\r\nconnected\r\n:1\r\n");
        assert!(replica_in_sync(&sync));
        let syncing = value(b"*5\r\n$5\r\nslave\r\n$1\r\nh\r\n:1\r\n$4\r\nsync\r\n:1\r\n");
        assert!(!replica_in_sync(&syncing));
        assert!(!replica_in_sync(&value(
            b"*3\r\n$6\r\nmaster\r\n:10\r\n*0\r\n"
        )));
    }

    #[test]
    fn lag_from_role_replies() {
        let replica = |state: &str, off: i64| {
            Value::Array(vec![
                Value::Bulk(b"slave".to_vec()),
                Value::Bulk(b"h".to_vec()),
                Value::Int(1),
                Value::Bulk(state.as_bytes().to_vec()),
                Value::Int(off),
            ])
        };
        let primary = value(b"*3\r\n$6\r\nmaster\r\n:1000\r\n*0\r\n");
        assert_eq!(primary_offset(&primary), Some(1000));
        assert_eq!(primary_offset(&replica("connected", 1)), None);
        assert_eq!(
            replica_lag(&replica("connected", 400), Some(1000)),
            Some(600)
        );
        assert_eq!(
            replica_lag(&replica("connected", 1200), Some(1000)),
            Some(0)
        );
        assert_eq!(replica_lag(&replica("connected", 400), None), Some(0));
        assert_eq!(replica_lag(&replica("sync", 400), Some(1000)), None);
        assert_eq!(replica_lag(&primary, Some(1000)), None);
    }

    #[test]
    fn role_replies() {
        assert_eq!(
            parse_role(&value(b"*3\r\n$6\r\nmaster\r\n:10\r\n*0\r\n")),
            Role::Master
        );
        assert_eq!(
            parse_role(&value(
                b"*5\r\n$5\r\nslave\r\n$1\r\nh\r\n:1\r\n$9\r\nconnected\r\n:1\r\n"
            )),
            Role::Other
        );
        assert_eq!(
            parse_role(&value(b"-NOAUTH Authentication required.\r\n")),
            Role::Unknown
        );
        assert_eq!(parse_role(&value(b"+OK\r\n")), Role::Other);
    }
}
