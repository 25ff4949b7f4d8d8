//! The crate's one error type, [`Error`], and the small pieces it is built from.
//!
//! Every error that reaches a caller says what a person needs to act on it: which shard (name
//! and address), which command, and what went wrong. Errors are cheap to clone: shard names
//! and addresses are shared (`Arc<str>`), command names are stored inline ([`CmdName`]).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use crate::command::{FromValueError, ValueKind};
use crate::resp::DecodeError;
use crate::time::Duration;

/// Why a connection could not be opened or broke: what the driver saw on its socket.
///
/// Drivers map their platform's errors onto these (for `std::io::ErrorKind`:
/// `ConnectionRefused` → [`Refused`](NetError::Refused), `ConnectionReset` /
/// `ConnectionAborted` / `BrokenPipe` → [`Reset`](NetError::Reset), a read of 0 bytes or
/// `UnexpectedEof` → [`Eof`](NetError::Eof), `TimedOut` → [`TimedOut`](NetError::TimedOut),
/// host/network unreachable → [`Unreachable`](NetError::Unreachable), a name that does not
/// resolve → [`Resolve`](NetError::Resolve), anything else → [`Other`](NetError::Other)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetError {
    /// The server refused the connection (nothing listens on the port).
    Refused,
    /// The connection was reset or aborted by the peer or the network.
    Reset,
    /// The peer closed the connection (end of stream).
    Eof,
    /// The operation timed out: an OS-level timeout, or the core's connect timeout.
    TimedOut,
    /// The host or network is unreachable.
    Unreachable,
    /// The address could not be parsed or resolved.
    Resolve,
    /// Any other I/O error.
    Other,
    /// TLS failed: the handshake, the certificates, or the TLS settings themselves.
    Tls(TlsError),
    /// The Sentinels refused the credentials given for them (`sentinel_password`,
    /// `sentinel_username`), or want some and none were given (`NOAUTH`).
    SentinelAuth,
}

/// Why TLS failed on a connection ([`NetError::Tls`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsError {
    /// The server's certificate is not signed by a trusted CA (wrong `--cacert`?).
    UnknownIssuer,
    /// The server's certificate is not valid for the name checked (the host, or `--sni`).
    NameMismatch,
    /// The server's certificate has expired or is not valid yet.
    Expired,
    /// The server's certificate is invalid for another reason (bad signature, wrong usage,
    /// revoked...).
    BadCertificate,
    /// The server refused the handshake with an alert (for example: it requires a client
    /// certificate, or rejected the one given).
    HandshakeRefused,
    /// The server closed the connection during the handshake.
    ClosedInHandshake,
    /// The peer's answer is not TLS (a plaintext server, or garbage).
    NotTls,
    /// The peer broke the TLS protocol, or offers no version or cipher in common.
    Protocol,
    /// The TLS settings could not be used: a CA, certificate or key file that cannot be
    /// read or parsed, a key without a certificate, a bad server name.
    Config,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsError::UnknownIssuer => "certificate signed by an unknown issuer (check the CA)",
            TlsError::NameMismatch => "certificate not valid for the server name",
            TlsError::Expired => "certificate expired or not yet valid",
            TlsError::BadCertificate => "invalid server certificate",
            TlsError::HandshakeRefused => "handshake refused by the server",
            TlsError::ClosedInHandshake => "connection closed during the TLS handshake",
            TlsError::NotTls => "the server is not speaking TLS",
            TlsError::Protocol => "TLS protocol error",
            TlsError::Config => "bad TLS settings (CA, certificate, key or server name)",
        })
    }
}

impl core::error::Error for TlsError {}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetError::Refused => "connection refused",
            NetError::Reset => "connection reset",
            NetError::Eof => "connection closed by the server",
            NetError::TimedOut => "timed out",
            NetError::Unreachable => "host unreachable",
            NetError::Resolve => "address could not be resolved",
            NetError::Other => "I/O error",
            NetError::SentinelAuth => {
                "the Sentinels refused the credentials for them (sentinel_password)"
            }
            NetError::Tls(e) => return write!(f, "TLS: {e}"),
        })
    }
}

/// A command's name (and subcommand, where it matters), stored inline so that building an
/// error never allocates for it. Names longer than [`CmdName::CAPACITY`] bytes are cut.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CmdName {
    len: u8,
    buf: [u8; CmdName::CAPACITY],
}

impl CmdName {
    /// The most bytes a name keeps.
    pub const CAPACITY: usize = 30;

    /// The name of `bytes`, upper-cased; bytes that are not printable ASCII become `?`.
    pub fn new(bytes: &[u8]) -> CmdName {
        let mut name = CmdName {
            len: 0,
            buf: [0; CmdName::CAPACITY],
        };
        name.push(bytes);
        name
    }

    /// `name` followed by a space and `sub` (for example `CLIENT SETNAME`).
    pub fn with_sub(name: &[u8], sub: &[u8]) -> CmdName {
        let mut n = CmdName::new(name);
        n.push(b" ");
        n.push(sub);
        n
    }

    fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let len = usize::from(self.len);
            if len == CmdName::CAPACITY {
                return;
            }
            self.buf[len] = match b {
                b'a'..=b'z' => b.to_ascii_uppercase(),
                0x20..=0x7e => b,
                _ => b'?',
            };
            self.len += 1;
        }
    }

    /// The name's bytes (printable ASCII): [`CmdName::as_str`] without the UTF-8 check.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// The name's first 8 bytes as one integer (little-endian, zero-padded): two names of
    /// at most 8 bytes are equal exactly when their prefixes are (a stored name never holds
    /// a zero byte); longer names must be compared whole. A cheap key for a driver's cache.
    #[inline]
    pub fn prefix(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.buf[..8]);
        u64::from_le_bytes(b)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        // Only printable ASCII is ever stored (see `push`), so this cannot fail.
        core::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("?")
    }
}

impl fmt::Display for CmdName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CmdName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// One shard in an [`Error::AllShardsDown`]: who it is and the last error it gave.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardFailure {
    /// The shard's name.
    pub name: Arc<str>,
    /// The shard's address.
    pub addr: Arc<str>,
    /// The last error seen on this shard (connection, handshake or heartbeat), if any.
    pub last_error: Option<Box<Error>>,
}

/// Everything that can go wrong with a request, a connection or a shard.
///
/// Variants carry the shard (`shard` = its configured name, `addr` = its address) and the
/// command they concern where that applies. [`Error::is_retryable`] tells which ones the ring
/// retries by itself (see [`Config::max_retries`](crate::config::Config::max_retries)).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The ring has no shards at all (`set_shards` was never called, or with an empty list).
    NoShards {
        /// The command that could not be placed.
        command: CmdName,
    },
    /// Every shard is down: nothing can serve the command. Lists each shard and its last error.
    AllShardsDown {
        /// The command that could not be placed.
        command: CmdName,
        /// Every configured shard with its last error.
        shards: Vec<ShardFailure>,
    },
    /// Opening a connection to the shard failed (refused, unreachable, connect timeout...).
    Connect {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The command that was waiting for the connection.
        command: CmdName,
        /// What the driver (or the connect timeout) reported.
        cause: NetError,
    },
    /// The connection broke (reset, closed by the server...) while the command was queued or
    /// in flight, and the retries allowed did not get it through. The ring re-sent it only
    /// because it provably had not run (not completely written) or is safe to repeat
    /// (read-only, or declared idempotent); a command that may have run fails with
    /// [`Error::MayHaveRun`] instead, carrying this error as its cause.
    Disconnected {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The command that lost its connection.
        command: CmdName,
        /// What the driver reported.
        cause: NetError,
    },
    /// The command was completely written to the shard, then its connection failed (`cause`)
    /// before the reply came: it may have run. The ring did not re-send it, because it is
    /// neither read-only nor declared idempotent
    /// ([`Cmd::idempotent`](crate::command::Cmd::idempotent), or the drivers'
    /// `Ring::idempotent()` handle); check before running it again.
    /// (go-redis re-sends such a command; this library never does behind the caller's back.)
    MayHaveRun {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The command that may have run.
        command: CmdName,
        /// What broke the connection ([`Error::Disconnected`], [`Error::ShardDown`]...).
        cause: Box<Error>,
    },
    /// The request's deadline passed before a reply came (it may still have been executed).
    Timeout {
        /// The shard's name, when the request had been routed to one.
        shard: Option<Arc<str>>,
        /// The shard's address, when the request had been routed to one.
        addr: Option<Arc<str>>,
        /// The command that timed out.
        command: CmdName,
        /// The request's timeout (time between `submit` and the deadline).
        after: Duration,
    },
    /// The server replied with an error (`-ERR ...`, `-WRONGTYPE ...`, a RESP3 bulk error...).
    Server {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The command the server rejected.
        command: CmdName,
        /// The whole error line, such as `WRONGTYPE Operation against a key holding the wrong
        /// kind of value`.
        message: String,
    },
    /// The server sent bytes that are not valid RESP (or exceed the decoder's limits). The
    /// connection was dropped and will be reopened; every request pending on it fails so.
    Protocol {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The command pending on the poisoned connection.
        command: CmdName,
        /// What the decoder found.
        error: DecodeError,
    },
    /// The reply is larger than the limit
    /// ([`Config::max_reply_len`](crate::config::Config::max_reply_len)): a string in it
    /// (at top level or inside an aggregate) announced more, or an aggregate's bytes added
    /// up to more. Only this request fails: the connection skips the rest of that reply as
    /// it arrives (never buffering it) and stays up for everything else. The command ran.
    ReplyTooLarge {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The command whose reply it was.
        command: CmdName,
        /// The limit, in bytes.
        limit: usize,
        /// The length the string over the limit announced, in bytes; for an aggregate whose
        /// bytes added up past the limit, how many had arrived when it was given up (more
        /// than `limit`: a lower bound of its size).
        announced: u64,
    },
    /// The connection handshake failed: wrong password (`WRONGPASS`), authentication required
    /// (`NOAUTH`), bad database index, RESP3 refused while forced...
    Handshake {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The handshake step that failed (`HELLO`, `AUTH`, `SELECT`, `CLIENT SETNAME`).
        step: CmdName,
        /// The server's error line.
        message: String,
    },
    /// The shard's queue is full ([`QueueLimit`](crate::config::QueueLimit) with
    /// [`WhenFull::Fail`](crate::config::WhenFull::Fail)): nothing was sent.
    ShardOverloaded {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The refused command.
        command: CmdName,
        /// Unwritten bytes queued for the shard.
        queued_bytes: usize,
        /// Commands queued or in flight on the shard.
        queued_commands: usize,
    },
    /// The shard was marked down while the command was pending on it (its connection was
    /// closed), or, under [`FailurePolicy::FailFast`](crate::config::FailurePolicy::FailFast),
    /// the command's shard is down: it was refused at once.
    ShardDown {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The command that was pending.
        command: CmdName,
    },
    /// The shard was removed (or re-addressed) by `set_shards` while the command was pending
    /// on one of its dedicated connections (a blocking command, a transaction), or still
    /// owed on its shared connection when that connection gave up (removal is graceful:
    /// replies already owed are awaited for up to the command timeout).
    ShardRemoved {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's (old) address.
        addr: Arc<str>,
        /// The command that was pending.
        command: CmdName,
    },
    /// The command cannot be sent over the ring's shared connections (for example a blocking
    /// command, `SUBSCRIBE`, `MULTI`, `SELECT`): `reason` says why and what to use instead.
    Unsupported {
        /// The refused command.
        command: CmdName,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// The command is malformed (for example it has no name, or lacks its key).
    InvalidCommand {
        /// The command.
        command: CmdName,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The ring was closed (`RingCore::close`) while the command was pending.
    Closed {
        /// The command that was pending.
        command: CmdName,
    },
    /// The server sent a reply while no request was waiting for one (a broken server or a
    /// proxy out of step). The connection was dropped and will be reopened.
    UnexpectedReply {
        /// The shard's name.
        shard: Arc<str>,
        /// The shard's address.
        addr: Arc<str>,
        /// The command pending on the dropped connection.
        command: CmdName,
    },
    /// The command's keys live on different shards, so no single shard can run it. Nothing
    /// was sent. Put the keys under one hash tag (`{user1}.a`, `{user1}.b`) to keep them
    /// together.
    CrossShard {
        /// The command.
        command: CmdName,
        /// The shards the keys map to (each named once, in key order).
        shards: Vec<Arc<str>>,
    },
    /// The reply arrived but does not convert to the Rust type the caller asked for (for
    /// example `GET` of a text value read as an `i64`, or an `EXEC` reply holding an error
    /// element read as `Vec<String>`). The command ran.
    Conversion {
        /// The command whose reply it was.
        command: CmdName,
        /// The kind of reply that came.
        reply: ValueKind,
        /// The Rust type asked for (`core::any::type_name`).
        rust_type: &'static str,
        /// What did not fit: what the type expected.
        error: FromValueError,
    },
    /// A transaction's `EXEC` aborted on every attempt: a watched key changed each time
    /// (optimistic locking lost `attempts` times in a row). Nothing of it ran.
    TransactionAborted {
        /// How many times it was tried.
        attempts: usize,
    },
    /// A multi-key command split over several shards (`MGET`, `MSET`, `DEL`...) failed on
    /// some of them. The other parts may have been executed (a split command is not atomic).
    Split {
        /// The command.
        command: CmdName,
        /// How many parts (shards) the command was split into.
        parts: usize,
        /// Each part that failed: its shard, its keys and its error.
        failures: Vec<PartFailure>,
    },
}

/// One failed part of an [`Error::Split`].
#[derive(Clone, Debug, PartialEq)]
pub struct PartFailure {
    /// The shard the part was last sent to (`None` if it never reached one).
    pub shard: Option<Arc<str>>,
    /// The part's keys, in the order they had in the command.
    pub keys: Vec<Vec<u8>>,
    /// Why the part failed.
    pub error: Box<Error>,
}

impl Error {
    /// Whether the ring retries a request that failed with this error (when retries remain,
    /// its deadline allows, and the command provably did not run or is safe to repeat, see
    /// [`Error::MayHaveRun`]): connection failures, a shard marked down under the request,
    /// and the server replies `LOADING`, `READONLY`, `CLUSTERDOWN`, `TRYAGAIN`, `MASTERDOWN`,
    /// `BUSY` and `ERR max number of clients reached` (go-redis's list, plus `BUSY`). Not a
    /// connect the Sentinels refused for its credentials ([`NetError::SentinelAuth`]): a
    /// configuration error, which no retry mends.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect {
                cause: NetError::SentinelAuth,
                ..
            } => false,
            Error::Connect { .. } | Error::Disconnected { .. } | Error::ShardDown { .. } => true,
            Error::Server { message, .. } => is_retryable_message(message.as_bytes()),
            _ => false,
        }
    }

    /// The name of the shard this error concerns, if it concerns one.
    pub fn shard(&self) -> Option<&str> {
        match self {
            Error::Connect { shard, .. }
            | Error::Disconnected { shard, .. }
            | Error::MayHaveRun { shard, .. }
            | Error::ReplyTooLarge { shard, .. }
            | Error::ShardOverloaded { shard, .. }
            | Error::Server { shard, .. }
            | Error::Protocol { shard, .. }
            | Error::Handshake { shard, .. }
            | Error::ShardDown { shard, .. }
            | Error::ShardRemoved { shard, .. }
            | Error::UnexpectedReply { shard, .. } => Some(shard),
            Error::Timeout { shard, .. } => shard.as_deref(),
            _ => None,
        }
    }

    /// The address of the shard this error concerns, if it concerns one.
    pub fn addr(&self) -> Option<&str> {
        match self {
            Error::Connect { addr, .. }
            | Error::Disconnected { addr, .. }
            | Error::MayHaveRun { addr, .. }
            | Error::ReplyTooLarge { addr, .. }
            | Error::ShardOverloaded { addr, .. }
            | Error::Server { addr, .. }
            | Error::Protocol { addr, .. }
            | Error::Handshake { addr, .. }
            | Error::ShardDown { addr, .. }
            | Error::ShardRemoved { addr, .. }
            | Error::UnexpectedReply { addr, .. } => Some(addr),
            Error::Timeout { addr, .. } => addr.as_deref(),
            _ => None,
        }
    }

    /// The command this error concerns (the handshake step for [`Error::Handshake`]).
    pub fn command(&self) -> Option<&CmdName> {
        match self {
            Error::NoShards { command }
            | Error::AllShardsDown { command, .. }
            | Error::Connect { command, .. }
            | Error::Disconnected { command, .. }
            | Error::MayHaveRun { command, .. }
            | Error::ReplyTooLarge { command, .. }
            | Error::ShardOverloaded { command, .. }
            | Error::Timeout { command, .. }
            | Error::Server { command, .. }
            | Error::Protocol { command, .. }
            | Error::ShardDown { command, .. }
            | Error::ShardRemoved { command, .. }
            | Error::Unsupported { command, .. }
            | Error::InvalidCommand { command, .. }
            | Error::UnexpectedReply { command, .. }
            | Error::CrossShard { command, .. }
            | Error::Split { command, .. }
            | Error::Conversion { command, .. }
            | Error::Closed { command } => Some(command),
            Error::Handshake { step, .. } => Some(step),
            Error::TransactionAborted { .. } => None,
        }
    }

    /// The same error, about `command` instead (used when one shard-level failure fails
    /// several requests).
    pub(crate) fn for_command(mut self, cmd: CmdName) -> Error {
        match &mut self {
            Error::NoShards { command }
            | Error::AllShardsDown { command, .. }
            | Error::Connect { command, .. }
            | Error::Disconnected { command, .. }
            | Error::MayHaveRun { command, .. }
            | Error::ReplyTooLarge { command, .. }
            | Error::ShardOverloaded { command, .. }
            | Error::Timeout { command, .. }
            | Error::Server { command, .. }
            | Error::Protocol { command, .. }
            | Error::ShardDown { command, .. }
            | Error::ShardRemoved { command, .. }
            | Error::Unsupported { command, .. }
            | Error::InvalidCommand { command, .. }
            | Error::UnexpectedReply { command, .. }
            | Error::CrossShard { command, .. }
            | Error::Split { command, .. }
            | Error::Conversion { command, .. }
            | Error::Closed { command } => *command = cmd,
            Error::Handshake { .. } | Error::TransactionAborted { .. } => {}
        }
        self
    }
}

/// Converts the reply of `command` into `T`, failing with [`Error::Conversion`] (naming the
/// command, the Rust type and what arrived) when it does not fit: the one conversion every
/// driver's typed calls go through.
pub fn convert_reply<T: crate::command::FromValue>(
    command: CmdName,
    value: crate::resp::Value,
) -> Result<T, Error> {
    let reply = ValueKind::of(&value);
    T::from_value(value).map_err(|error| Error::Conversion {
        command,
        reply,
        rust_type: core::any::type_name::<T>(),
        error,
    })
}

/// The server error prefixes a retry can cure (go-redis `shouldRetry`, plus `BUSY` for a
/// running script). The trailing space keeps `BUSYGROUP` and the like out.
pub(crate) fn is_retryable_message(msg: &[u8]) -> bool {
    const RETRYABLE: &[&[u8]] = &[
        b"LOADING ",
        b"READONLY ",
        b"CLUSTERDOWN ",
        b"TRYAGAIN ",
        b"MASTERDOWN ",
        b"BUSY ",
        b"ERR max number of clients reached",
    ];
    RETRYABLE.iter().any(|p| msg.starts_with(p))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoShards { command } => {
                write!(f, "{command}: the ring has no shards (call set_shards)")
            }
            Error::AllShardsDown { command, shards } => {
                write!(f, "{command}: all {} shards are down", shards.len())?;
                for (i, s) in shards.iter().enumerate() {
                    f.write_str(if i == 0 { ": " } else { "; " })?;
                    write!(f, "{} ({})", s.name, s.addr)?;
                    if let Some(e) = &s.last_error {
                        write!(f, " last error: {e}")?;
                    }
                }
                Ok(())
            }
            Error::Connect {
                shard,
                addr,
                command,
                cause,
            } => write!(f, "{command}: cannot connect to shard {shard} ({addr}): {cause}"),
            Error::Disconnected {
                shard,
                addr,
                command,
                cause,
            } => write!(
                f,
                "{command}: connection to shard {shard} ({addr}) lost: {cause}"
            ),
            Error::MayHaveRun {
                shard,
                addr,
                command,
                cause,
            } => write!(
                f,
                "{command}: sent to shard {shard} ({addr}), then the connection failed before \
                 the reply ({cause}); it may have run, so it was not re-sent (mark it \
                 idempotent to allow that)"
            ),
            Error::Timeout {
                shard,
                addr,
                command,
                after,
            } => {
                write!(f, "{command}: no reply within {} ms", after.as_millis())?;
                if let (Some(s), Some(a)) = (shard, addr) {
                    write!(f, " from shard {s} ({a})")?;
                }
                Ok(())
            }
            Error::Server {
                shard,
                addr,
                command,
                message,
            } => write!(f, "{command}: shard {shard} ({addr}) replied: {message}"),
            Error::Protocol {
                shard,
                addr,
                command,
                error,
            } => write!(
                f,
                "{command}: shard {shard} ({addr}) sent bad data ({error}); connection dropped"
            ),
            Error::ReplyTooLarge {
                shard,
                addr,
                command,
                limit,
                announced,
            } => write!(
                f,
                "{command}: shard {shard} ({addr}) replied with {announced} bytes, over the \
                 {limit}-byte reply limit (max_reply_len); the reply was skipped, the \
                 connection kept"
            ),
            Error::Handshake {
                shard,
                addr,
                step,
                message,
            } => write!(
                f,
                "connection handshake with shard {shard} ({addr}) failed at {step}: {message}"
            ),
            Error::ShardOverloaded {
                shard,
                addr,
                command,
                queued_bytes,
                queued_commands,
            } => write!(
                f,
                "{command}: shard {shard} ({addr}) has a full queue ({queued_bytes} bytes, \
                 {queued_commands} commands waiting); nothing was sent"
            ),
            Error::ShardDown {
                shard,
                addr,
                command,
            } => write!(
                f,
                "{command}: shard {shard} ({addr}) was marked down while the command was pending"
            ),
            Error::ShardRemoved {
                shard,
                addr,
                command,
            } => write!(
                f,
                "{command}: shard {shard} ({addr}) was removed from the ring while the command was pending"
            ),
            Error::Unsupported { command, reason } => write!(f, "{command}: {reason}"),
            Error::InvalidCommand { command, reason } => {
                write!(f, "{command}: invalid command: {reason}")
            }
            Error::Closed { command } => write!(f, "{command}: the ring was closed"),
            Error::Conversion {
                command,
                reply,
                rust_type,
                error,
            } => write!(
                f,
                "{command}: the reply ({reply}) does not convert to {rust_type} ({error}); the command ran"
            ),
            Error::TransactionAborted { attempts } => write!(
                f,
                "EXEC: the transaction aborted on all {attempts} attempts: its watched keys kept changing"
            ),
            Error::UnexpectedReply {
                shard,
                addr,
                command,
            } => write!(
                f,
                "{command}: shard {shard} ({addr}) sent a reply nobody asked for; connection dropped"
            ),
            Error::CrossShard { command, shards } => {
                write!(f, "{command}: the keys live on different shards (")?;
                for (i, s) in shards.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(s)?;
                }
                f.write_str("); nothing was sent. Put them under one hash tag, e.g. {tag}.a and {tag}.b")
            }
            Error::Split {
                command,
                parts,
                failures,
            } => {
                write!(
                    f,
                    "{command}: {} of {parts} shard parts failed (the others may have run)",
                    failures.len()
                )?;
                for (i, p) in failures.iter().enumerate() {
                    f.write_str(if i == 0 { ": " } else { "; " })?;
                    f.write_str(p.shard.as_deref().unwrap_or("(no shard)"))?;
                    f.write_str(" keys [")?;
                    for (j, k) in p.keys.iter().enumerate() {
                        if j > 0 {
                            f.write_str(", ")?;
                        }
                        crate::command::write_key(f, &k[..k.len().min(64)])?;
                    }
                    write!(f, "]: {}", p.error)?;
                }
                Ok(())
            }
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn cmd_name_is_upper_printable_and_bounded() {
        assert_eq!(CmdName::new(b"get").as_str(), "GET");
        assert_eq!(
            CmdName::with_sub(b"client", b"setname").as_str(),
            "CLIENT SETNAME"
        );
        assert_eq!(CmdName::new(b"a\x00\xffb").as_str(), "A??B");
        assert_eq!(CmdName::new(&[b'x'; 100]).as_str().len(), CmdName::CAPACITY);
    }

    #[test]
    fn retryable_messages() {
        assert!(is_retryable_message(
            b"LOADING Redis is loading the dataset in memory"
        ));
        assert!(is_retryable_message(b"BUSY Redis is busy running a script"));
        assert!(!is_retryable_message(
            b"BUSYGROUP Consumer Group name already exists"
        ));
        assert!(!is_retryable_message(b"ERR unknown command"));
    }

    #[test]
    fn display_names_shard_addr_and_command() {
        let e = Error::Connect {
            shard: "s1".into(),
            addr: "127.0.0.1:1".into(),
            command: CmdName::new(b"GET"),
            cause: NetError::Refused,
        };
        assert_eq!(
            e.to_string(),
            "GET: cannot connect to shard s1 (127.0.0.1:1): connection refused"
        );
        let all = Error::AllShardsDown {
            command: CmdName::new(b"SET"),
            shards: alloc::vec![
                ShardFailure {
                    name: "a".into(),
                    addr: "h:1".into(),
                    last_error: Some(Box::new(e.clone())),
                },
                ShardFailure {
                    name: "b".into(),
                    addr: "h:2".into(),
                    last_error: None,
                },
            ],
        };
        let s = all.to_string();
        assert!(
            s.starts_with("SET: all 2 shards are down: a (h:1) last error: GET: cannot connect"),
            "{s}"
        );
        assert!(s.ends_with("; b (h:2)"), "{s}");
        assert!(e.is_retryable());
        assert_eq!(e.shard(), Some("s1"));
    }

    #[test]
    fn conversion_names_command_type_and_reply_kind() {
        let e = convert_reply::<i64>(
            CmdName::new(b"get"),
            crate::resp::Value::Bulk(b"abc".to_vec()),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Conversion {
                rust_type: "i64",
                ..
            }
        ));
        assert_eq!(e.command().map(CmdName::as_str), Some("GET"));
        let s = e.to_string();
        assert!(
            s.starts_with("GET: the reply (") && s.contains("does not convert to i64"),
            "{s}"
        );
        assert!(!e.is_retryable());
        assert_eq!(e.shard(), None);
    }
}
