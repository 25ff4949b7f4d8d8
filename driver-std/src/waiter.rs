//! [`Batch`]: where the reactor leaves results and a calling thread waits for them.
//!
//! One `Batch` per call: a single command is a batch of one, a pipeline a batch of many.
//! The caller blocks on a condition variable until every slot is filled; the reactor fills
//! slots as replies arrive (in any order) and wakes the caller once, when the last arrives.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use redis_ring_core::resp::Value;
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
            std::thread::sleep(std::time::Duration::from_millis(10));
            b.complete(1, Ok(Value::Int(1)));
            b.complete(7, Ok(Value::Int(7))); // out of range: ignored
        });
        let got = batch.wait();
        t.join().unwrap();
        assert_eq!(
            got,
            vec![Ok(Value::Int(0)), Ok(Value::Int(1)), Ok(Value::Int(2))]
        );
        let one = Batch::new(1);
        one.complete(0, Ok(Value::Okay));
        assert_eq!(one.wait_one(), Ok(Value::Okay));
        assert!(Batch::new(0).wait().is_empty());
    }
}
