//! [`Batch`]: where the reactor leaves results and a calling thread waits for them.
//!
//! One `Batch` per call: a single command is a batch of one, a pipeline a batch of many.
//! The caller blocks on a condition variable until every slot is filled; the reactor fills
//! slots as replies arrive (in any order) and wakes the caller once, when the last arrives.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redis_ring_core::command::Cmd;
use redis_ring_core::error::CmdName;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::TxId;
use redis_ring_core::Error;

/// The result of one command.
pub(crate) type Reply = Result<Value, Error>;

/// Results of one call, filled by the reactor, awaited by the caller.
#[derive(Debug)]
pub(crate) struct Batch {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Debug)]
struct State {
    results: Vec<Option<Reply>>,
    remaining: usize,
}

impl Batch {
    /// A batch of `n` results.
    pub(crate) fn new(n: usize) -> Batch {
        let mut results = Vec::with_capacity(n);
        results.resize_with(n, || None);
        Batch {
            state: Mutex::new(State {
                results,
                remaining: n,
            }),
            done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing can panic while the lock is held; a poisoned lock still holds valid data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores result `index`; wakes the caller when it was the last one. A second result
    /// for the same slot is ignored (the core gives exactly one; this is only defensive).
    pub(crate) fn complete(&self, index: usize, reply: Reply) {
        let mut state = self.lock();
        let Some(slot) = state.results.get_mut(index) else {
            return;
        };
        if slot.is_some() {
            return;
        }
        *slot = Some(reply);
        state.remaining -= 1;
        if state.remaining == 0 {
            drop(state);
            self.done.notify_one();
        }
    }

    /// Blocks until every result is in and returns them in slot order.
    pub(crate) fn wait(&self) -> Vec<Reply> {
        let mut state = self.lock();
        while state.remaining > 0 {
            state = self
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state
            .results
            .drain(..)
            .map(|r| r.expect("every slot filled when remaining is 0"))
            .collect()
    }

    /// [`Batch::wait`] for a batch of one.
    pub(crate) fn wait_one(&self) -> Reply {
        self.wait().pop().expect("a batch of one has one result")
    }
}

/// Where the commands of a [`Submission`] go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// Routed by their keys (`RingCore::submit`).
    Routed,
    /// To the shard of this name (`RingCore::submit_to_shard`).
    Shard(Arc<str>),
    /// Into this transaction's connection (`RingCore::submit_in`).
    Tx(TxId),
}

/// Commands on their way to the core, with the batch their results go to.
///
/// Whatever is still in it when it is dropped fails with [`Error::Closed`]: a submission
/// refused by a closed ring, left in the queue at shutdown or dropped by a panicking
/// reactor never leaves its caller waiting.
#[derive(Debug)]
pub(crate) struct Submission {
    cmds: std::vec::IntoIter<Cmd>,
    /// Slot of the next command.
    next: usize,
    /// The command taken by [`Submission::take`] and not yet [`Submission::handed`] on.
    in_hand: Option<(usize, CmdName)>,
    /// Per-request deadline (`None`: the configured `command_timeout`).
    pub(crate) timeout: Option<Duration>,
    /// Where the commands go.
    pub(crate) target: Target,
    /// Where results go.
    pub(crate) batch: Arc<Batch>,
}

impl Submission {
    /// `cmds` for `target`, whose results go to a new batch (returned too, for the caller to
    /// wait on).
    pub(crate) fn new(
        cmds: Vec<Cmd>,
        target: Target,
        timeout: Option<Duration>,
    ) -> (Submission, Arc<Batch>) {
        let batch = Arc::new(Batch::new(cmds.len()));
        let sub = Submission {
            cmds: cmds.into_iter(),
            next: 0,
            in_hand: None,
            timeout,
            target,
            batch: batch.clone(),
        };
        (sub, batch)
    }

    /// How many commands are left.
    pub(crate) fn len(&self) -> usize {
        self.cmds.len()
    }

    /// The next command and its slot. Until [`Submission::handed`], a drop fails that slot.
    pub(crate) fn take(&mut self) -> Option<(usize, Cmd)> {
        let cmd = self.cmds.next()?;
        let slot = self.next;
        self.next += 1;
        self.in_hand = Some((slot, CmdName::new(cmd.name())));
        Some((slot, cmd))
    }

    /// The command taken last is now someone else's to complete (the core's reply, or an
    /// error already given to the batch).
    pub(crate) fn handed(&mut self) {
        self.in_hand = None;
    }
}

impl Drop for Submission {
    fn drop(&mut self) {
        if let Some((slot, command)) = self.in_hand.take() {
            self.batch.complete(slot, Err(Error::Closed { command }));
        }
        for cmd in self.cmds.by_ref() {
            let command = CmdName::new(cmd.name());
            self.batch
                .complete(self.next, Err(Error::Closed { command }));
            self.next += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn results_come_back_in_slot_order_whatever_the_arrival_order() {
        let batch = Arc::new(Batch::new(3));
        let b = batch.clone();
        let t = std::thread::spawn(move || {
            b.complete(2, Ok(Value::Int(2)));
            b.complete(0, Ok(Value::Int(0)));
            b.complete(0, Ok(Value::Int(99))); // ignored
            std::thread::sleep(Duration::from_millis(10));
            b.complete(1, Ok(Value::Int(1)));
            b.complete(7, Ok(Value::Int(7))); // out of range: ignored
        });
        let got = batch.wait();
        t.join().unwrap();
        assert_eq!(
            got,
            vec![Ok(Value::Int(0)), Ok(Value::Int(1)), Ok(Value::Int(2))]
        );
        // Dropped submissions fail what they still hold, named after each command.
        let (mut sub, batch) = Submission::new(
            vec![
                Cmd::new("GET").arg("a"),
                Cmd::new("SET").arg("b").arg(1),
                Cmd::new("INCR").arg("c"),
            ],
            Target::Routed,
            None,
        );
        assert_eq!(sub.len(), 3);
        let (slot, _) = sub.take().unwrap();
        sub.handed();
        batch.complete(slot, Ok(Value::Okay));
        let _in_hand = sub.take().unwrap();
        drop(sub);
        let got = batch.wait();
        assert_eq!(got[0], Ok(Value::Okay));
        assert_eq!(
            got[1].as_ref().unwrap_err().to_string(),
            "SET: the ring was closed"
        );
        assert_eq!(
            got[2].as_ref().unwrap_err().to_string(),
            "INCR: the ring was closed"
        );

        let one = Batch::new(1);
        one.complete(0, Ok(Value::Okay));
        assert_eq!(one.wait_one(), Ok(Value::Okay));
        assert!(Batch::new(0).wait().is_empty());
    }
}
