//! [`ShardCounters`]: what one shard has done since it joined the ring, counted by the core
//! as requests end (plain integers and a fixed histogram: no allocation per command).
//! Monotonic and never reset: a rate is the difference of two readings.

use crate::error::Error;
use crate::time::Duration;

use super::LatencyHistogram;

/// The kind of a failed request, as counted in [`ErrorCounts`] (and named by the driver
/// layer's `error.type` and metrics `outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No reply within the deadline.
    Timeout,
    /// The connection could not be opened, broke, or spoke garbage (connect, disconnect,
    /// handshake, protocol, unexpected reply, shard down; a command that may have run is
    /// counted by what broke its connection).
    Connection,
    /// The server answered with an error reply (`WRONGTYPE ...`, `ERR ...`).
    Server,
    /// Refused by the ring: no shard could take it (removed, all down, keys on several
    /// shards, unsupported here).
    Refused,
    /// Anything else (closed ring, invalid command, split failure...).
    Other,
}

impl ErrorKind {
    /// The kind of `e`.
    pub fn of(e: &Error) -> ErrorKind {
        match e {
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Connect { .. }
            | Error::Disconnected { .. }
            | Error::Protocol { .. }
            | Error::Handshake { .. }
            | Error::ShardDown { .. }
            | Error::UnexpectedReply { .. } => ErrorKind::Connection,
            Error::Server { .. } => ErrorKind::Server,
            // Written, then its connection broke: a failure of that connection (or whatever
            // the cause was), not of the ring.
            Error::MayHaveRun { cause, .. } => ErrorKind::of(cause),
            Error::NoShards { .. }
            | Error::AllShardsDown { .. }
            | Error::ShardRemoved { .. }
            | Error::CrossShard { .. }
            | Error::Unsupported { .. } => ErrorKind::Refused,
            _ => ErrorKind::Other,
        }
    }

    /// A short lower-case name (`timeout`, `connection`, `server`, `refused`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connection => "connection",
            ErrorKind::Server => "server",
            ErrorKind::Refused => "refused",
            ErrorKind::Other => "other",
        }
    }
}

/// Failed requests by [`ErrorKind`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorCounts {
    /// [`ErrorKind::Timeout`].
    pub timeout: u64,
    /// [`ErrorKind::Connection`].
    pub connection: u64,
    /// [`ErrorKind::Server`].
    pub server: u64,
    /// [`ErrorKind::Refused`].
    pub refused: u64,
    /// [`ErrorKind::Other`].
    pub other: u64,
}

impl ErrorCounts {
    /// Every failed request.
    pub fn total(&self) -> u64 {
        self.timeout + self.connection + self.server + self.refused + self.other
    }

    /// Counts one failure of `kind`.
    pub fn add(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::Timeout => self.timeout += 1,
            ErrorKind::Connection => self.connection += 1,
            ErrorKind::Server => self.server += 1,
            ErrorKind::Refused => self.refused += 1,
            ErrorKind::Other => self.other += 1,
        }
    }
}

/// One shard's counters since it joined the ring. See the module docs.
///
/// A request is counted on the shard it last went to: once in `commands` when it ends
/// (reply or error, retries included), in `errors` when that end is an error, and its
/// latency (submit to end, as the core's clock saw it) in `latency`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardCounters {
    /// Requests ended here (success or error; a split command counts one per part).
    pub commands: u64,
    /// Requests ended here with an error, by kind.
    pub errors: ErrorCounts,
    /// Retries scheduled after a retryable failure here.
    pub retries: u64,
    /// Connections opened to the shard (shared, blocking, transaction and subscription).
    pub connects: u64,
    /// Bytes received from the shard.
    pub bytes_in: u64,
    /// Bytes written to the shard.
    pub bytes_out: u64,
    /// Up/down transitions.
    pub transitions: u64,
    /// Connections of this (Sentinel-managed) shard found talking to a demoted primary (a
    /// `READONLY` reply or a `ROLE` heartbeat saying replica), drained and replaced.
    pub demoted: u64,
    /// Commands of this (Sentinel-managed) shard that waited for another connection attempt
    /// while it failed over, instead of failing with the connect error.
    pub failover_waits: u64,
    /// Replica connections of this shard given up because the replica lagged or stopped
    /// following its primary.
    pub replicas_skipped: u64,
    /// Latencies of the requests ended here.
    pub latency: LatencyHistogram,
}

impl ShardCounters {
    /// Counts a request ended here after `latency`, with `error` when it failed.
    pub(crate) fn ended(&mut self, latency: Duration, error: Option<&Error>) {
        self.commands += 1;
        if let Some(e) = error {
            self.errors.add(ErrorKind::of(e));
        }
        self.latency.record(latency);
    }

    /// Connections opened beyond the first (each break or down shard costs one).
    pub fn reconnects(&self) -> u64 {
        self.connects.saturating_sub(1)
    }

    /// What happened after `earlier` (an earlier reading of the same shard): a window's
    /// counts, from which rates follow.
    pub fn since(&self, earlier: &ShardCounters) -> ShardCounters {
        let e = &earlier.errors;
        ShardCounters {
            commands: self.commands.saturating_sub(earlier.commands),
            errors: ErrorCounts {
                timeout: self.errors.timeout.saturating_sub(e.timeout),
                connection: self.errors.connection.saturating_sub(e.connection),
                server: self.errors.server.saturating_sub(e.server),
                refused: self.errors.refused.saturating_sub(e.refused),
                other: self.errors.other.saturating_sub(e.other),
            },
            retries: self.retries.saturating_sub(earlier.retries),
            connects: self.connects.saturating_sub(earlier.connects),
            bytes_in: self.bytes_in.saturating_sub(earlier.bytes_in),
            bytes_out: self.bytes_out.saturating_sub(earlier.bytes_out),
            transitions: self.transitions.saturating_sub(earlier.transitions),
            demoted: self.demoted.saturating_sub(earlier.demoted),
            failover_waits: self.failover_waits.saturating_sub(earlier.failover_waits),
            replicas_skipped: self
                .replicas_skipped
                .saturating_sub(earlier.replicas_skipped),
            latency: self.latency.since(&earlier.latency),
        }
    }

    /// Adds `other` (a ring-wide total).
    pub fn merge(&mut self, other: &ShardCounters) {
        self.commands += other.commands;
        self.errors.timeout += other.errors.timeout;
        self.errors.connection += other.errors.connection;
        self.errors.server += other.errors.server;
        self.errors.refused += other.errors.refused;
        self.errors.other += other.errors.other;
        self.retries += other.retries;
        self.connects += other.connects;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.transitions += other.transitions;
        self.demoted += other.demoted;
        self.failover_waits += other.failover_waits;
        self.replicas_skipped += other.replicas_skipped;
        self.latency.merge(&other.latency);
    }
}

#[cfg(test)]
mod tests {
    use alloc::boxed::Box;

    use super::*;
    use crate::error::{CmdName, NetError};

    #[test]
    fn a_command_that_may_have_run_counts_as_what_broke_its_connection() {
        let lost = Error::Disconnected {
            shard: "s1".into(),
            addr: "a1".into(),
            command: CmdName::new(b"INCR"),
            cause: NetError::Eof,
        };
        assert_eq!(ErrorKind::of(&lost), ErrorKind::Connection);
        let may = Error::MayHaveRun {
            shard: "s1".into(),
            addr: "a1".into(),
            command: CmdName::new(b"INCR"),
            cause: Box::new(lost),
        };
        assert_eq!(ErrorKind::of(&may), ErrorKind::Connection);
        let mut counts = ErrorCounts::default();
        counts.add(ErrorKind::of(&may));
        assert_eq!((counts.connection, counts.other), (1, 0));
    }
}
