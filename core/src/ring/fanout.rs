//! Commands sent to a shard chosen by the caller (fan-out: `FLUSHDB`, `DBSIZE`, `KEYS`,
//! `SCAN`, `INFO`, `SCRIPT LOAD`, `CONFIG SET`...) and pipelines.
//!
//! Fan-out commands mean something per server only, so the ring never sends one to an
//! arbitrary shard: [`RingCore::submit`] refuses them and names this API. A request pinned to
//! a shard is an ordinary request (timeout, retries with backoff) except that a retry goes to
//! the same shard again, never re-routed; it fails with [`Error::ShardDown`] when its shard is
//! down (fan-out results are per shard: another shard's answer would be a wrong one).
//!
//! Results come as ordinary [`Output::Reply`](super::Output::Reply)s, one per shard, each with
//! its own id: a driver collects them by shard name without any new kind of output.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::request::{Place, Request};
use super::route::{classify, Route};
use super::shard::ShardSlot;
use super::{RequestId, RingCore};
use crate::command::{Class, Cmd};
use crate::error::{CmdName, Error};
use crate::time::{Duration, Instant};

impl RingCore {
    /// Sends `cmd` to the shard named `shard`, whatever its keys (fan-out commands such as
    /// `DBSIZE`, `SCAN`, `FLUSHDB`, `INFO`, `SCRIPT LOAD`, or any routable command on a
    /// shard of your choice), with the configured `command_timeout`.
    ///
    /// The request is retried like any other, always on that shard. Refused at once with
    /// [`Error::InvalidCommand`] for an unknown shard name, [`Error::ShardDown`] while the
    /// shard is down, [`Error::Unsupported`] for commands the shared connections cannot
    /// carry (blocking, pub/sub, transactions, connection state).
    pub fn submit_to_shard(
        &mut self,
        shard: &str,
        cmd: Cmd,
        now: Instant,
    ) -> Result<RequestId, Error> {
        let timeout = self.config.command_timeout;
        self.submit_to_shard_with_timeout(shard, cmd, timeout, now)
    }

    /// [`RingCore::submit_to_shard`] with its own timeout.
    pub fn submit_to_shard_with_timeout(
        &mut self,
        shard: &str,
        cmd: Cmd,
        timeout: Duration,
        now: Instant,
    ) -> Result<RequestId, Error> {
        self.advance(now);
        let id = self.pin(shard, cmd, timeout)?;
        self.run_timers();
        Ok(id)
    }

    /// Sends `cmd` to every configured shard (see [`RingCore::submit_to_shard`]), with the
    /// configured `command_timeout`. Returns, in configured order, each shard's name with its
    /// request id or the reason it was refused (a shard that is down gets
    /// [`Error::ShardDown`] at once; the others are still sent).
    pub fn submit_to_all(
        &mut self,
        cmd: &Cmd,
        now: Instant,
    ) -> Vec<(Arc<str>, Result<RequestId, Error>)> {
        let timeout = self.config.command_timeout;
        self.submit_to_all_with_timeout(cmd, timeout, now)
    }

    /// [`RingCore::submit_to_all`] with its own timeout.
    pub fn submit_to_all_with_timeout(
        &mut self,
        cmd: &Cmd,
        timeout: Duration,
        now: Instant,
    ) -> Vec<(Arc<str>, Result<RequestId, Error>)> {
        self.advance(now);
        let names: Vec<Arc<str>> = self
            .table
            .order
            .iter()
            .filter_map(|&s| self.table.get(s).map(|sh| sh.name.clone()))
            .collect();
        let out = names
            .into_iter()
            .map(|name| {
                let id = self.pin(&name, cmd.clone(), timeout);
                (name, id)
            })
            .collect();
        self.run_timers();
        out
    }

    /// Submits every command of `cmds` (each as [`RingCore::submit`] would: routed by its
    /// keys, split commands split) before any of them is transmitted, so each shard's share
    /// of the batch leaves in one write and shards work concurrently. Returns one id (or
    /// refusal) per command, in order; each id gets its own [`Output::Reply`](super::Output),
    /// so a dead shard fails only its own commands.
    pub fn submit_pipeline<I>(&mut self, cmds: I, now: Instant) -> Vec<Result<RequestId, Error>>
    where
        I: IntoIterator<Item = Cmd>,
    {
        let timeout = self.config.command_timeout;
        self.submit_pipeline_with_timeout(cmds, timeout, now)
    }

    /// [`RingCore::submit_pipeline`] with one timeout for each of the commands.
    pub fn submit_pipeline_with_timeout<I>(
        &mut self,
        cmds: I,
        timeout: Duration,
        now: Instant,
    ) -> Vec<Result<RequestId, Error>>
    where
        I: IntoIterator<Item = Cmd>,
    {
        cmds.into_iter()
            .map(|cmd| self.submit_with_timeout(cmd, timeout, now))
            .collect()
    }

    /// Queues `cmd` on shard `name`, pinned there for its retries.
    fn pin(&mut self, name: &str, cmd: Cmd, timeout: Duration) -> Result<RequestId, Error> {
        let command = CmdName::new(cmd.name());
        let routing = self.config.commands.classify(&cmd);
        if let Route::Refuse(reason) = classify(&self.config.commands, &cmd) {
            if routing.class() != Class::FanOut || routing.is_blocking() {
                return Err(Error::Unsupported { command, reason });
            }
        }
        let slot = self.pinned_slot(name, command)?;
        let deadline = self.now + timeout;
        let id = self.reqs.insert(Request {
            cmd: cmd.into(),
            timeout,
            deadline,
            retries: 0,
            place: Place::Retry(self.now),
            started: self.now,
            last_shard: None,
        });
        let name = self
            .table
            .get(slot)
            .map_or_else(|| name.into(), |sh| sh.name.clone());
        self.pinned.insert(id, name);
        self.stats.submitted += 1;
        self.req_wake = self.req_wake.min(deadline);
        self.wake = self.wake.min(deadline);
        self.dispatch(id, slot);
        Ok(id)
    }

    /// The slot of shard `name` if it exists and is up.
    fn pinned_slot(&self, name: &str, command: CmdName) -> Result<ShardSlot, Error> {
        let Some(slot) = self.table.find(name) else {
            return Err(Error::InvalidCommand {
                command,
                reason: "no shard has this name (see RingCore::shards)",
            });
        };
        match self.table.get(slot) {
            Some(sh) if sh.liveness.is_up() => Ok(slot),
            Some(sh) => Err(Error::ShardDown {
                shard: sh.name.clone(),
                addr: sh.addr.clone(),
                command,
            }),
            None => Err(Error::InvalidCommand {
                command,
                reason: "no shard has this name (see RingCore::shards)",
            }),
        }
    }

    /// A pinned request's backoff ended: back to its shard, or fail if that shard is down or
    /// gone. `false` when `id` is not pinned.
    pub(super) fn retry_pinned(&mut self, id: RequestId) -> bool {
        let Some(name) = self.pinned.get(&id).cloned() else {
            return false;
        };
        let Some(req) = self.reqs.get(id) else {
            return true;
        };
        if !matches!(req.place, Place::Retry(_)) {
            return true;
        }
        let command = CmdName::new(req.cmd.name());
        match self.pinned_slot(&name, command) {
            Ok(slot) => self.dispatch(id, slot),
            Err(e) => self.complete(id, Err(e)),
        }
        true
    }
}
