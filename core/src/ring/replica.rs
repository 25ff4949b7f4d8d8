//! Replica reads of Sentinel-managed shards ([`ReadFrom`]): which connection a read-only
//! command goes to. A shard has at most one replica connection (`Shard::replica`), opened
//! on the first read; the driver picks the replica (`Output::Connect { replica: true }`).
//! Its failures never count against the shard's health: a replica that cannot be reached
//! is looked for again after a reconnect pause, and meanwhile `PreferReplica` reads go to
//! the primary while `Replica` reads wait on the next attempts (each failed one uses a retry;
//! then they fail with the replica's connect error).

use super::{ConnId, RequestId, RingCore, ShardSlot};
use crate::command::lookup;
use crate::config::ReadFrom;
use crate::conn::State;
use crate::error::Error;

impl RingCore {
    /// Where request `id` goes on `slot` when a replica should take it: `None` for the
    /// primary (a write, a plain shard, `ReadFrom::Primary`, or no replica at hand under
    /// `PreferReplica`).
    pub(super) fn replica_for(
        &mut self,
        id: RequestId,
        slot: ShardSlot,
    ) -> Option<Result<ConnId, Error>> {
        let mode = self.config.read_from;
        if mode == ReadFrom::Primary {
            return None;
        }
        let sh = self.table.get(slot).filter(|sh| sh.sentinel())?;
        let req = self.reqs.get(id)?;
        if !lookup(&req.cmd).is_some_and(|c| c.is_read_only()) {
            return None;
        }
        let trusted = sh.replica_failures == 0;
        if let Some(conn) = sh.replica {
            let ready = self
                .conns
                .get(conn)
                .is_some_and(|c| c.io.state() == State::Ready);
            if trusted || ready || mode == ReadFrom::Replica {
                return Some(Ok(conn));
            }
            return None;
        }
        if trusted || mode == ReadFrom::Replica {
            let at = sh.replica_next.max(self.now);
            return Some(Ok(self.open_shared(slot, at, true)));
        }
        // A replica failed before: look again in the background when due, reads meanwhile
        // to the primary.
        if self.now >= sh.replica_next {
            self.open_shared(slot, self.now, true);
        }
        None
    }
}
