//! The state shared by every [`Ring`](crate::Ring) handle and the driver task: the core
//! behind one mutex, the callers' reply slots, and the queue of I/O work for the driver.
//!
//! Whoever changes the core (a caller submitting, the driver feeding socket events) drains
//! its outputs at once, under the same lock ([`State::drain`]): replies go straight into
//! their callers' slots, socket work is queued for the driver ([`IoQueue`]) and the driver
//! is woken — once: its waker is taken, so a burst of callers costs one wake-up. Wakers are
//! collected while the lock is held and woken after it is released ([`Shared::with`]), so a
//! woken task never finds the lock taken by the one that woke it.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Instant as StdInstant;

use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{ConnId, Event, Output, RequestId, RingCore};
use redis_ring_core::time::Instant;
use smol::channel::{Sender, TrySendError};

use crate::pubsub::{Message, SubSink};
use redis_ring_core::config::ShardAddr;

/// Everything the handles and the driver task share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The core's time zero: core instants are nanoseconds since it.
    epoch: StdInstant,
    /// Per-shard settings from `redis://` addresses, read by the core's per-shard options
    /// hook (see `addr`: an adaptation until the core parses addresses itself).
    pub(crate) urls: Arc<Mutex<HashMap<String, ShardAddr>>>,
}

/// The mutable part of [`Shared`].
#[derive(Debug)]
pub(crate) struct State {
    /// The sans-io client.
    pub(crate) core: RingCore,
    /// Callers waiting for a reply, by request id.
    pending: HashMap<u64, Slot, BuildHasherDefault<IdHasher>>,
    /// Socket work for the driver.
    pub(crate) io: IoQueue,
    /// The core's next deadline, from the last drain.
    pub(crate) deadline: Instant,
    /// The deadline the driver's timer is armed for; a drain that finds an earlier one
    /// wakes the driver so it re-arms.
    pub(crate) armed: Instant,
    /// The driver task's waker while it waits; taken by whoever wakes it.
    pub(crate) driver: Option<Waker>,
    /// Set when the ring is closed (explicitly or by dropping the last handle).
    pub(crate) closing: bool,
    /// Counters for `Ring::io_stats` (kept under the lock: no atomics needed).
    pub(crate) io_stats: crate::stats::IoStats,
    /// Wakers to wake once the lock is released.
    to_wake: Vec<Waker>,
    /// `events()` receivers; closed ones are dropped on the next event.
    pub(crate) subscribers: Vec<Sender<Event>>,
    /// Pub/sub subscriptions, by `SubId`.
    pub(crate) subs: HashMap<u64, SubSink, BuildHasherDefault<IdHasher>>,
}

/// Where a caller's reply lands.
#[derive(Debug, Default)]
struct Slot {
    waker: Option<Waker>,
    result: Option<Result<Value, Error>>,
}

/// What the core asked of the sockets since the driver last looked, in the order it asked
/// (a connection may be opened and closed again before the driver runs).
#[derive(Debug, Default)]
pub(crate) struct IoQueue {
    pub(crate) ops: Vec<IoOp>,
}

/// One request of the core to the sockets.
#[derive(Debug)]
pub(crate) enum IoOp {
    /// `Output::Connect`.
    Connect(ConnId, Arc<str>),
    /// `Output::Transmit`.
    Transmit(ConnId),
    /// `Output::Close`.
    Close(ConnId),
}

impl IoQueue {
    pub(crate) fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

thread_local! {
    /// Reused by [`Shared::with`] so that waking costs no allocation.
    static SCRATCH: Cell<Vec<Waker>> = const { Cell::new(Vec::new()) };
}

impl Shared {
    pub(crate) fn new(
        core: RingCore,
        epoch: StdInstant,
        urls: Arc<Mutex<HashMap<String, ShardAddr>>>,
    ) -> Shared {
        Shared {
            state: Mutex::new(State {
                core,
                pending: HashMap::default(),
                io: IoQueue::default(),
                deadline: Instant::MAX,
                armed: Instant::MAX,
                driver: None,
                closing: false,
                io_stats: crate::stats::IoStats::default(),
                to_wake: Vec::new(),
                subscribers: Vec::new(),
                subs: HashMap::default(),
            }),
            epoch,
            urls,
        }
    }

    /// The core's `now`.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// The `std` instant of a core instant (for the driver's timer); `None` for "never".
    pub(crate) fn std_instant(&self, at: Instant) -> Option<StdInstant> {
        if at == Instant::MAX {
            return None;
        }
        self.epoch
            .checked_add(std::time::Duration::from_nanos(at.as_nanos()))
    }

    /// Locks the state (a panic elsewhere does not make the ring unusable: the core's
    /// state stays consistent between calls, which are the only points a panic could come
    /// from).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` under the lock, then wakes whoever `f` made ready, outside the lock.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = self.lock();
        let r = f(&mut st);
        Self::unlock_and_wake(st);
        r
    }

    /// Releases `st` and wakes the wakers it collected.
    pub(crate) fn unlock_and_wake(mut st: MutexGuard<'_, State>) {
        if st.to_wake.is_empty() {
            return;
        }
        let mut local = SCRATCH.take();
        std::mem::swap(&mut local, &mut st.to_wake);
        drop(st);
        for w in local.drain(..) {
            w.wake();
        }
        SCRATCH.set(local);
    }
}

impl State {
    /// Drains the core's outputs (the call protocol: after every change). Replies fill their
    /// slots, socket work is queued for the driver, events go to subscribers.
    pub(crate) fn drain(&mut self) {
        loop {
            match self.core.poll_output() {
                Output::Connect { conn, addr } => {
                    self.io.ops.push(IoOp::Connect(conn, addr));
                    self.wake_driver();
                }
                Output::Transmit { conn } => {
                    self.io.ops.push(IoOp::Transmit(conn));
                    self.wake_driver();
                }
                Output::Close { conn } => {
                    self.io.ops.push(IoOp::Close(conn));
                    self.wake_driver();
                }
                Output::Reply { id, result } => self.deliver(id, result),
                Output::Event(event) => {
                    // A full receiver misses this event; a dropped one is forgotten.
                    self.subscribers.retain(|s| {
                        !matches!(s.try_send(event.clone()), Err(TrySendError::Closed(_)))
                    });
                }
                Output::Message {
                    sub,
                    channel,
                    pattern,
                    payload,
                } => {
                    if let Some(sink) = self.subs.get(&sub.as_u64()) {
                        sink.send(Message {
                            channel,
                            pattern,
                            payload,
                        });
                    }
                }
                Output::Subscribed { sub } => {
                    if let Some(sink) = self.subs.get_mut(&sub.as_u64()) {
                        sink.subscribed = true;
                        if let Some(w) = sink.waker.take() {
                            self.to_wake.push(w);
                        }
                    }
                }
                Output::Timeout(at) => {
                    self.deadline = at;
                    if at < self.armed {
                        self.wake_driver();
                    }
                    return;
                }
                // Outputs added to the core later: nothing this driver knows to do.
                _ => {}
            }
        }
    }

    fn deliver(&mut self, id: RequestId, result: Result<Value, Error>) {
        if let Some(slot) = self.pending.get_mut(&id.as_u64()) {
            slot.result = Some(result);
            if let Some(w) = slot.waker.take() {
                self.to_wake.push(w);
            }
        }
    }

    /// Wakes the driver task if it waits (once per wait).
    pub(crate) fn wake_driver(&mut self) {
        if let Some(w) = self.driver.take() {
            self.to_wake.push(w);
        }
    }

    /// Registers a caller for request `id`.
    pub(crate) fn expect(&mut self, id: RequestId, waker: Option<Waker>) {
        self.pending.insert(
            id.as_u64(),
            Slot {
                waker,
                result: None,
            },
        );
    }

    /// The reply of `id` if it came (forgetting the request), else records `waker`.
    pub(crate) fn take_reply(
        &mut self,
        id: RequestId,
        waker: Option<&Waker>,
    ) -> Option<Result<Value, Error>> {
        let key = id.as_u64();
        let slot = self.pending.get_mut(&key)?;
        if let Some(result) = slot.result.take() {
            self.pending.remove(&key);
            return Some(result);
        }
        if let Some(w) = waker {
            match &slot.waker {
                Some(old) if old.will_wake(w) => {}
                _ => slot.waker = Some(w.clone()),
            }
        }
        None
    }

    /// Forgets request `id` (its caller went away): cancels it in the core if it is still
    /// pending there.
    pub(crate) fn forget(&mut self, id: RequestId) {
        if let Some(slot) = self.pending.remove(&id.as_u64()) {
            if slot.result.is_none() && self.core.cancel(id) {
                self.drain();
            }
        }
    }

    /// Requests waiting for their reply.
    pub(crate) fn waiting(&self) -> usize {
        self.pending.len()
    }
}

/// Request ids are sequence numbers: a multiplicative (Fibonacci) hash spreads them over
/// the table at the cost of one multiplication.
#[derive(Debug, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}
