//! `Ring::transaction`: `WATCH` / reads / `MULTI` ... `EXEC` on the one shard that owns
//! every key, on a dedicated connection, retried while a watched key changes (optimistic
//! locking, go-redis `Watch` + `TxPipelined`). Written once, for async and blocking
//! callers alike (the blocking `transaction` runs this loop).
//!
//! The core checks the keys (all on one shard, or `Error::CrossShard` naming the shards
//! before anything is sent), opens the connection and runs each command; this module only
//! sequences the calls (the core's documented transaction protocol).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use redis_ring_core::command::{Cmd, FromValue, ToArg};
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::TxId;

use crate::convert::convert;
use crate::request::{Gather, Request, Target};
use crate::runtime::Runtime;
use crate::state::{reentrant, Shared};
use crate::Ring;

/// How many times `transaction` runs its closure before giving up while the watched keys
/// keep changing (go-redis's documented example loops 1000 times too).
pub const TRANSACTION_ATTEMPTS: usize = 1000;

/// One attempt of a transaction, given to the closure of `Ring::transaction`: reads run at
/// once on the transaction's connection (after `WATCH`), writes are queued and run between
/// `MULTI` and `EXEC` when the closure's future completes. A cheap handle (`Clone`,
/// `Send`), so the closure's future can own it.
#[derive(Clone, Debug)]
pub struct Tx {
    shared: Arc<Shared>,
    id: TxId,
    queued: Arc<Mutex<Vec<Cmd>>>,
}

impl Tx {
    /// Runs `cmd` now on the transaction's connection (a read: its keys must live on the
    /// transaction's shard).
    ///
    /// # Errors
    /// As `Ring::cmd`; `Error::CrossShard` for a key of another shard.
    pub async fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        Request::new(&self.shared, Target::Tx(self.id), cmd, None).await
    }

    /// `cmd` with the reply converted.
    ///
    /// # Errors
    /// As `cmd`, plus a reply that does not convert to `T`.
    pub async fn query<T: FromValue>(&self, cmd: Cmd) -> Result<T, Error> {
        let name = CmdName::new(cmd.name());
        convert(name, self.cmd(cmd).await?)
    }

    /// `GET key` now, converted (the most common read of a transaction).
    ///
    /// # Errors
    /// As `query`.
    pub async fn get<T: FromValue>(&self, key: impl ToArg) -> Result<T, Error> {
        self.query(Cmd::new("GET").arg(key)).await
    }

    /// Queues `cmd` for `MULTI` ... `EXEC` (typed constructors: `cmds`).
    pub fn queue(&self, cmd: Cmd) -> &Self {
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(cmd);
        self
    }
}

/// Ends the transaction (closes its connection) however the attempt ends, also when the
/// transaction's future is dropped half-way.
struct Ending<'a> {
    shared: &'a Shared,
    id: TxId,
}

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        let (shared, id) = (self.shared, self.id);
        shared.with(|st| {
            st.core.end_transaction(id, shared.now());
            st.drain();
        });
    }
}

impl<Rt: Runtime> Ring<Rt> {
    /// Runs a transaction over `keys`, which must all live on one shard (use a hash tag:
    /// `{acct1}:a`, `{acct1}:b`): `WATCH keys`, then `f` (reads with [`Tx::cmd`], writes
    /// queued with [`Tx::queue`]), then `MULTI`, the queued writes and `EXEC`. When a watched
    /// key changed meanwhile, `EXEC` aborts and the whole thing runs again (up to
    /// [`TRANSACTION_ATTEMPTS`] times). Returns the `EXEC` replies of the queued writes.
    ///
    /// `f` returns a future that owns its [`Tx`] (`|tx| async move { ... }`); it may fail
    /// with the caller's own error type (any `E: From<Error>`). The transaction's future is
    /// `Send` whenever `f`'s future is.
    ///
    /// # Errors
    /// `Error::CrossShard` (naming the shards) before anything is sent when the keys span
    /// shards; an error `f` returns (nothing queued runs); the first error of `MULTI` or a
    /// queued command (nothing runs: the connection is closed without `EXEC`); `EXEC`'s
    /// error; a connection or timeout error of the transaction's connection (the
    /// transaction is not retried then: it may or may not have run).
    pub async fn transaction<K, F, Fut, E>(&self, keys: &[K], f: F) -> Result<Vec<Value>, E>
    where
        K: AsRef<[u8]>,
        F: FnMut(Tx) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: From<Error>,
    {
        run_transaction(self.shared_arc(), keys, f).await
    }
}

/// The optimistic-retry loop behind every driver's `transaction`.
pub(crate) async fn run_transaction<K, F, Fut, E>(
    shared: &Arc<Shared>,
    keys: &[K],
    mut f: F,
) -> Result<Vec<Value>, E>
where
    K: AsRef<[u8]>,
    F: FnMut(Tx) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: From<Error>,
{
    if shared.reentrant() {
        return Err(reentrant(CmdName::new(b"MULTI")).into());
    }
    for _ in 0..TRANSACTION_ATTEMPTS {
        let id = shared.with(|st| {
            if st.closing {
                return Err(Error::Closed {
                    command: CmdName::new(b"MULTI"),
                });
            }
            let begun = st.core.begin_transaction(keys, shared.now());
            st.drain();
            begun
        })?;
        let _ending = Ending { shared, id };
        let tx = Tx {
            shared: shared.clone(),
            id,
            queued: Arc::default(),
        };
        if !keys.is_empty() {
            let mut watch = Cmd::new("WATCH");
            for k in keys {
                watch.push_bytes(k.as_ref());
            }
            tx.cmd(watch).await?;
        }
        f(tx.clone()).await?;
        // MULTI and the writes first: EXEC only once every one of them is queued, so that
        // nothing runs if the core or the server refused one of them.
        let mut batch = vec![Cmd::new("MULTI")];
        batch.append(&mut tx.queued.lock().unwrap_or_else(PoisonError::into_inner));
        for reply in Gather::batch(shared, Target::Tx(id), &mut batch, None).await {
            reply?;
        }
        match tx.cmd(Cmd::new("EXEC")).await? {
            // A watched key changed: run it all again.
            Value::Nil => {}
            Value::Array(replies) => return Ok(replies),
            other => return Ok(vec![other]),
        }
    }
    Err(Error::TransactionAborted {
        attempts: TRANSACTION_ATTEMPTS,
    }
    .into())
}
