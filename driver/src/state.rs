//! The state every handle of a ring and its driver task share: the core behind one mutex,
//! the connections' transports, the callers' reply slots, subscription and event sinks.
//!
//! Whoever changes the core (a caller submitting, the driver feeding socket events) drains
//! its outputs at once, under the same lock ([`State::drain`]): replies go straight into
//! their callers' slots, `Close` drops the transport, `Transmit` marks it for the pump's
//! next write, `Connect` is queued for the pump (it needs the runtime) and the driver is
//! woken — once: its waker is taken, so a burst of callers costs one wake-up. Wakers are
//! collected while the lock is held and woken after it is released, in one batch
//! ([`Shared::with`]), so a woken task never finds the lock taken by the one that woke it.
//! A driver turn wakes one async caller and leaves the others to it
//! ([`Shared::unlock_and_wake_one`]); blocking callers' threads it unparks itself.
//!
//! A waiting caller is a [`Waker`]: an async task's, or, for a blocking caller, one that
//! unparks its thread (`blocking::block_on`): both share this dispatch code.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::task::Waker;
use std::time::{Duration, Instant as StdInstant};

use async_channel::{Sender, TrySendError};
use redis_ring_core::config::{Endpoint, TlsOptions};
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{ConnId, Event, Input, Output, RequestId, RingCore};
use redis_ring_core::time::Instant;

use crate::net::Connecting;
use crate::observe::{self, Ended};
use crate::pubsub::Message;
use crate::runtime::CallerPoll;
use crate::stats::IoStats;
use crate::transport::Transport;

/// Everything the handles and the driver task share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The core's time zero: core instants are nanoseconds since it.
    epoch: StdInstant,
    /// [`State::caller_poll`], readable without the lock.
    caller_poll: OnceLock<Arc<dyn CallerPoll>>,
}

/// One connection's socket slot, indexed by [`ConnId::index`].
pub(crate) enum Sock {
    /// Connecting (resolution, then a non-blocking connect).
    Connecting {
        /// The connection.
        id: ConnId,
        /// The connect in progress.
        fut: Connecting,
    },
    /// Established.
    Open(Open),
}

impl std::fmt::Debug for Sock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sock::Connecting { id, .. } => write!(f, "Connecting({id:?})"),
            Sock::Open(o) => write!(f, "Open({:?})", o.id),
        }
    }
}

impl Sock {
    pub(crate) fn id(&self) -> ConnId {
        match self {
            Sock::Connecting { id, .. } => *id,
            Sock::Open(o) => o.id,
        }
    }
}

/// An established connection.
#[derive(Debug)]
pub(crate) struct Open {
    pub(crate) id: ConnId,
    pub(crate) io: Transport,
    /// The core has bytes for this connection.
    pub(crate) dirty: bool,
    /// The last write would have blocked: wait for writability.
    pub(crate) write_blocked: bool,
    /// Reads made in the current driver turn (bounded per turn).
    pub(crate) reads: usize,
}

/// The mutable part of [`Shared`].
#[derive(Debug)]
pub(crate) struct State {
    /// The sans-io client.
    pub(crate) core: RingCore,
    /// Callers waiting for a reply, by request id.
    pending: HashMap<u64, Slot, BuildHasherDefault<IdHasher>>,
    /// Groups of requests whose caller waits for all of them (a pipeline): woken once, when
    /// the last reply comes, not once per shard.
    groups: HashMap<u64, Group, BuildHasherDefault<IdHasher>>,
    /// The last group id given (0 is "no group").
    last_group: u64,
    /// Sockets, by connection index.
    pub(crate) socks: Vec<Option<Sock>>,
    /// Connections the core asked for, not started yet (the pump starts them).
    /// With their TLS options (`None`: plaintext) and whether to a replica.
    pub(crate) connects: Vec<(ConnId, Endpoint, Option<TlsOptions>, bool)>,
    /// Closes for a socket the pump had taken out of its slot while the core closed it.
    pub(crate) closed_taken: Vec<ConnId>,
    /// The core's next deadline, from the last drain.
    pub(crate) deadline: Instant,
    /// The deadline the driver's timer is armed for; a drain that finds an earlier one
    /// wakes the driver so it re-arms.
    pub(crate) armed: Instant,
    /// The driver task's waker while it waits; taken by whoever wakes it.
    pub(crate) driver: Option<Waker>,
    /// The driver task holds the lock for a turn (it writes marked connections itself).
    pub(crate) in_turn: bool,
    /// A socket stopped at its read budget in the last driver turn (or a driving caller's
    /// read): more is waiting, and the driver task reads on at once. No caller drives
    /// meanwhile ([`State::may_drive`]).
    pub(crate) backlog: bool,
    /// The last submit found nothing else pending ([`State::submitted`]'s `lone`): what is
    /// in flight is one caller's, who waits for it; no other caller is about to queue.
    pub(crate) solo: bool,
    /// The drain in progress may write an idle connection on the caller's thread: set by a
    /// pipeline's submit, or a lone caller's (nothing else pending); every other path wakes
    /// the driver, which batches whatever the other callers queue meanwhile.
    pub(crate) inline: bool,
    /// Connections marked by a drain outside a driver turn, with nothing in flight: written
    /// at once by whoever drains (the caller's thread), no driver wake-up.
    flush: Vec<ConnId>,
    /// [`Shared`]'s epoch (for the `now` of a write made in [`State::drain`]).
    epoch: StdInstant,
    /// Set when the ring is closed (explicitly or by dropping the last handle).
    pub(crate) closing: bool,
    /// Set by [`State::abandon`]: the core must not be called again.
    pub(crate) abandoned: bool,
    /// Counters for `io_stats` (kept under the lock: no atomics needed).
    pub(crate) io_stats: IoStats,
    /// Connections and in-flight commands last reported to the `metrics` gauges.
    #[cfg(feature = "metrics")]
    gauges: (usize, usize),
    /// The `db.client.operation.duration` handles of this ring's commands.
    #[cfg(feature = "metrics")]
    pub(crate) durations: observe::Durations,
    /// Wakers to wake once the lock is released.
    to_wake: Vec<Waker>,
    /// Blocking callers' wakers (each unparks its thread) to wake once the lock is released:
    /// never deferred ([`Shared::unlock_and_wake_one`]).
    to_unpark: Vec<Waker>,
    /// Wakers a driver turn left for the first caller it woke to wake
    /// ([`Shared::unlock_and_wake_one`]); whoever releases the lock next wakes them.
    deferred: Vec<Waker>,
    /// `events()` receivers; closed ones are dropped on the next event.
    pub(crate) events: Vec<Sender<Event>>,
    /// The runtime's reactor, when a blocking caller may wait on it itself (set once the
    /// driver is spawned; see `blocking`'s `drive`).
    pub(crate) caller_poll: Option<Arc<dyn CallerPoll>>,
    /// Pub/sub subscriptions, by `SubId`.
    pub(crate) subs: HashMap<u64, SubSink, BuildHasherDefault<IdHasher>>,
}

/// The caller waiting on a [`Slot`] or a [`Group`]: its waker, and whether that waker
/// unparks a blocking caller's thread ([`unparks`]), which is never deferred.
#[derive(Debug, Default)]
struct Waiter {
    waker: Option<Waker>,
    thread: bool,
}

impl Waiter {
    /// `waker` (if any), registered from this thread.
    fn new(waker: Option<Waker>) -> Waiter {
        Waiter {
            waker,
            thread: UNPARKS.get(),
        }
    }

    /// Records `waker`, registered from this thread (kept if the one recorded already
    /// wakes the same task).
    fn set(&mut self, waker: &Waker) {
        match &self.waker {
            Some(old) if old.will_wake(waker) => {}
            _ => self.waker = Some(waker.clone()),
        }
        self.thread = UNPARKS.get();
    }

    /// Queues the waker (if any) to be woken once the lock is released: a blocking
    /// caller's thread in `to_unpark`, any other in `to_wake`.
    fn wake_later(&mut self, to_wake: &mut Vec<Waker>, to_unpark: &mut Vec<Waker>) {
        if let Some(w) = self.waker.take() {
            if self.thread {
                to_unpark.push(w);
            } else {
                to_wake.push(w);
            }
        }
    }
}

/// Where a caller's reply lands.
#[derive(Debug, Default)]
struct Slot {
    waiter: Waiter,
    result: Option<Result<Value, Error>>,
    /// The shard the reply came from and when (only with the `tracing` / `metrics`
    /// features).
    ended: Ended,
    /// The group it belongs to (0: none).
    group: u64,
}

/// A caller waiting for several requests at once.
#[derive(Debug, Default)]
struct Group {
    /// Replies still to come.
    remaining: usize,
    waiter: Waiter,
}

/// The driver's end of a subscription.
#[derive(Debug)]
pub(crate) struct SubSink {
    pub(crate) tx: Sender<Message>,
    pub(crate) dropped: Arc<AtomicU64>,
    /// `Output::Subscribed` came at least once.
    pub(crate) subscribed: bool,
    /// The `subscribe` call waiting for it.
    pub(crate) waker: Option<Waker>,
}

thread_local! {
    /// Reused by [`Shared::unlock_and_wake`] so that waking costs no allocation.
    static SCRATCH: Cell<Vec<Waker>> = const { Cell::new(Vec::new()) };
    /// The address of the [`Shared`] whose lock this thread holds (0: none): a hook the
    /// core runs (under the lock) that calls the ring must get an error, not a deadlock.
    static HELD: Cell<usize> = const { Cell::new(0) };
    /// This thread is a blocking caller able to drive its own round trip (in `blocking`'s
    /// `run`).
    static CAN_DRIVE: Cell<bool> = const { Cell::new(false) };
    /// Its last submit found nothing else pending: it may drive the round trip.
    static MAY_DRIVE: Cell<bool> = const { Cell::new(false) };
    /// This thread is a blocking caller waiting for a call of the ring's: the wakers it
    /// registers unpark it (see [`unparks`]).
    static UNPARKS: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as a blocking caller whose registered wakers unpark it (`on`), or
/// not; returns the previous setting. Such wakers are never deferred by a driver turn
/// ([`Shared::unlock_and_wake_one`]): each is one `futex` wake whoever makes it, and the
/// driver's thread making them all keeps it off its reactor while the woken callers queue
/// their next commands, so it writes them in one batch instead of being woken (eventfd)
/// by the first of them.
pub(crate) fn unparks(on: bool) -> bool {
    UNPARKS.replace(on)
}

/// Marks this thread as a blocking caller able to drive (`on`), or not; returns the
/// previous setting.
pub(crate) fn can_drive(on: bool) -> bool {
    CAN_DRIVE.replace(on)
}

/// Whether a submit on this thread since the last call found nothing else pending (so this
/// caller may drive its round trip); clears it.
pub(crate) fn take_may_drive() -> bool {
    MAY_DRIVE.replace(false)
}

/// How often [`Shared::lock_yielding`] yields before it blocks. Once: on a shared CPU the
/// holder (a caller writing a batch: a few `write`s) has finished by the time it gives the
/// CPU back (measured: ~1 `sched_yield` per contended turn); with the holder on another
/// CPU a yield returns at once, so each one more is a syscall wasted there.
const YIELDS: u32 = 1;

/// The longest a driver turn's deferred wakers wait for the caller it woke to run
/// ([`Shared::unlock_and_wake_one`]) before the driver wakes them itself: its timer is armed
/// for this at the latest when it defers. A caller whose executor is busy elsewhere (or
/// which was dropped) cannot hold the others up for longer.
pub(crate) const DEFER_BOUND: Duration = Duration::from_millis(1);

/// The state, locked by this thread.
pub(crate) struct Locked<'a> {
    guard: MutexGuard<'a, State>,
    prev: usize,
}

impl std::ops::Deref for Locked<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.guard
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        HELD.set(self.prev);
    }
}

/// The error of a call made while this thread already drives the ring (from inside a hook
/// such as `heartbeat_check` or `shard_options`): it would wait for itself.
pub(crate) fn reentrant(command: CmdName) -> Error {
    Error::Unsupported {
        command,
        reason: "called from inside one of the ring's hooks (on its own I/O thread or under \
                 a call in progress): it would deadlock",
    }
}

impl Shared {
    pub(crate) fn new(core: RingCore) -> Shared {
        let epoch = StdInstant::now();
        Shared {
            state: Mutex::new(State {
                core,
                pending: HashMap::default(),
                groups: HashMap::default(),
                last_group: 0,
                socks: Vec::new(),
                connects: Vec::new(),
                closed_taken: Vec::new(),
                deadline: Instant::MAX,
                armed: Instant::MAX,
                driver: None,
                in_turn: false,
                backlog: false,
                solo: false,
                inline: false,
                flush: Vec::new(),
                epoch,
                closing: false,
                abandoned: false,
                io_stats: IoStats::default(),
                #[cfg(feature = "metrics")]
                gauges: (0, 0),
                #[cfg(feature = "metrics")]
                durations: observe::Durations::default(),
                to_wake: Vec::new(),
                to_unpark: Vec::new(),
                deferred: Vec::new(),
                events: Vec::new(),
                caller_poll: None,
                subs: HashMap::default(),
            }),
            epoch,
            caller_poll: OnceLock::new(),
        }
    }

    /// Sets the reactor a blocking caller may wait on (once, after the driver is spawned).
    pub(crate) fn set_caller_poll(&self, st: &mut State, cp: Option<Arc<dyn CallerPoll>>) {
        if let Some(cp) = cp {
            st.caller_poll = Some(cp.clone());
            let _ = self.caller_poll.set(cp);
        }
    }

    /// The reactor a blocking caller may wait on, if the runtime has one.
    pub(crate) fn caller_poll(&self) -> Option<&Arc<dyn CallerPoll>> {
        self.caller_poll.get()
    }

    /// The core's `now`.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// The `std` instant of a core instant (for timers); `None` for "never".
    pub(crate) fn std_instant(&self, at: Instant) -> Option<StdInstant> {
        if at == Instant::MAX {
            return None;
        }
        self.epoch.checked_add(Duration::from_nanos(at.as_nanos()))
    }

    /// Whether this thread holds the lock already (a hook calling the ring).
    pub(crate) fn reentrant(&self) -> bool {
        HELD.get() == std::ptr::from_ref(self) as usize
    }

    /// Locks the state (a panic elsewhere does not make the ring unusable: the core's state
    /// stays consistent between calls, which are the only points a panic could come from).
    ///
    /// # Panics
    /// When this thread holds it already (callers check [`Shared::reentrant`] first).
    pub(crate) fn lock(&self) -> Locked<'_> {
        self.not_reentrant();
        self.held(self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// [`Shared::lock`]'s check: this thread must not hold the lock already.
    fn not_reentrant(&self) {
        assert!(
            !self.reentrant(),
            "redis-ring: the ring was called from one of its own hooks"
        );
    }

    /// Marks the lock `guard` as this thread's ([`Shared::reentrant`]) until it is released.
    fn held<'a>(&'a self, guard: MutexGuard<'a, State>) -> Locked<'a> {
        let prev = HELD.replace(std::ptr::from_ref(self) as usize);
        Locked { guard, prev }
    }

    /// [`Shared::lock`] for the driver task, which a readiness wake-up may start while a
    /// caller holds the lock writing its batch (on a shared CPU it preempted that caller):
    /// it yields the CPU to the holder ([`YIELDS`] times) before blocking. Blocking on
    /// the contended lock cost three `futex` calls (the wait, the holder's wake, and the
    /// blocked thread's own unlock waking nobody: std's mutex stays marked contended);
    /// a yield is one `sched_yield`, after which the holder has usually finished.
    pub(crate) fn lock_yielding(&self) -> Locked<'_> {
        self.not_reentrant();
        let mut yields = 0;
        let guard = loop {
            match self.state.try_lock() {
                Ok(g) => break g,
                Err(TryLockError::Poisoned(p)) => break p.into_inner(),
                Err(TryLockError::WouldBlock) if yields < YIELDS => {
                    yields += 1;
                    std::thread::yield_now();
                }
                Err(TryLockError::WouldBlock) => {
                    break self.state.lock().unwrap_or_else(PoisonError::into_inner)
                }
            }
        };
        self.held(guard)
    }

    /// Runs `f` under the lock, then wakes whoever `f` made ready, outside the lock.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = self.lock();
        let r = f(&mut st);
        Self::unlock_and_wake(st);
        r
    }

    /// Releases `st` and wakes the wakers it collected, in one batch, with any a driver
    /// turn deferred ([`Shared::unlock_and_wake_one`]).
    pub(crate) fn unlock_and_wake(mut st: Locked<'_>) {
        if st.to_wake.is_empty() && st.deferred.is_empty() && st.to_unpark.is_empty() {
            return;
        }
        let mut local = SCRATCH.take();
        std::mem::swap(&mut local, &mut st.to_unpark);
        local.append(&mut st.to_wake);
        local.append(&mut st.deferred);
        drop(st);
        for w in local.drain(..) {
            w.wake();
        }
        SCRATCH.set(local);
    }

    /// [`Shared::unlock_and_wake`] for the end of a driver turn: wakes one of the callers
    /// the turn made ready and leaves the others in `deferred`, for that caller to wake
    /// when it takes its reply (its poll locks the state; any other unlock wakes them too).
    ///
    /// Why: the driver usually runs on a thread of its own, and the callers' executor (or
    /// their threads) may share its CPU. Waking a parked executor hands it the CPU at
    /// once (the kernel's wake-up preemption), so waking 20 callers one after the other
    /// from the driver's thread became 20 round trips between the two threads, each
    /// executor visit running one caller and parking again (a futex pair and two context
    /// switches per caller; seen with `perf sched` at 50 callers). Woken from the
    /// executor's own thread, the others are queued on it with no syscall.
    ///
    /// Wakers still deferred from an earlier turn (the caller woken then has not run yet)
    /// are all woken now, with the new ones: a caller that does not run delays the others
    /// by one driver turn at most.
    ///
    /// Blocking callers' threads ([`unparks`]) are all unparked here, never deferred: each
    /// costs one `futex` wake whichever thread makes it, and deferring them measured worse
    /// with 50 blocking callers (the driver's thread, back on its reactor at once, was woken
    /// by the first caller's next command and wrote smaller batches; the deferred callers
    /// waited for the first one to run: higher p99).
    pub(crate) fn unlock_and_wake_one(mut st: Locked<'_>) {
        if !st.will_defer() {
            return Self::unlock_and_wake(st);
        }
        let first = st.to_wake.pop();
        let mut local = SCRATCH.take();
        let st_ref = &mut *st;
        std::mem::swap(&mut st_ref.deferred, &mut st_ref.to_wake);
        std::mem::swap(&mut local, &mut st_ref.to_unpark);
        drop(st);
        if let Some(w) = first {
            w.wake();
        }
        for w in local.drain(..) {
            w.wake();
        }
        SCRATCH.set(local);
    }

    /// Marks the ring closed and wakes the driver (which then shuts everything down).
    pub(crate) fn close(&self) {
        self.with(|st| {
            st.closing = true;
            st.wake_driver();
        });
    }
}

impl State {
    /// Drains the core's outputs (the call protocol: after every change).
    pub(crate) fn drain(&mut self) {
        loop {
            match self.core.poll_output() {
                Output::Connect {
                    conn,
                    endpoint,
                    tls,
                    replica,
                    ..
                } => {
                    self.connects.push((conn, endpoint, tls, replica));
                    self.wake_driver();
                }
                Output::Transmit { conn } => {
                    // A pipeline, or a lone caller, on an idle connection: write now, on the
                    // caller's thread (no driver wake-up). Otherwise the driver writes,
                    // once, everything the callers queue until it runs (automatic
                    // pipelining).
                    let inline = self.inline && !self.in_turn && self.core.in_flight(conn) == 0;
                    if let Some(Sock::Open(o)) = self.sock_mut(conn) {
                        if !o.dirty {
                            o.dirty = true;
                            if inline && !o.write_blocked {
                                self.flush.push(conn);
                            } else {
                                self.wake_driver();
                            }
                        }
                    }
                }
                Output::Close { conn } => match self.socks.get_mut(conn.index()) {
                    Some(slot) if slot.as_ref().is_some_and(|s| s.id() == conn) => *slot = None,
                    _ => self.closed_taken.push(conn),
                },
                Output::Reply { id, result } => self.deliver(id, result),
                Output::Event(event) => {
                    observe::event(&event, self.core.live_len());
                    // A full receiver misses this event; a dropped one is forgotten.
                    self.events.retain(|s| {
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
                        let msg = Message {
                            channel,
                            pattern,
                            payload,
                        };
                        if let Err(TrySendError::Full(_)) = sink.tx.try_send(msg) {
                            sink.dropped.fetch_add(1, Ordering::Relaxed);
                        }
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
                    if self.flush.is_empty() {
                        return;
                    }
                    self.write_marked();
                }
                // Outputs added to the core later: nothing this layer knows to do.
                _ => {}
            }
        }
    }

    /// Writes the connections in `flush` from the caller's thread (one `write` each), as
    /// the pump would; anything but a whole write (a full socket, an error, more slices than
    /// one write takes) is left marked for the driver, which is woken to deal with it.
    fn write_marked(&mut self) {
        let now =
            Instant::from_nanos(u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX));
        for k in 0..self.flush.len() {
            let conn = self.flush[k];
            let Some(Some(Sock::Open(o))) = self.socks.get_mut(conn.index()) else {
                continue;
            };
            if o.id != conn || !o.dirty {
                continue;
            }
            match o.io.write_slices(self.core.send_slices(conn)) {
                Ok(n) => {
                    self.io_stats.writes += 1;
                    self.io_stats.bytes_written += n as u64;
                    self.core.handle_input(Input::Sent { conn, n, now });
                    let whole = self.core.send_len(conn) == 0;
                    o.dirty = !whole;
                    if !whole {
                        self.wake_driver();
                    }
                }
                Err(e) => {
                    o.write_blocked = e.kind() == std::io::ErrorKind::WouldBlock;
                    self.wake_driver();
                }
            }
        }
        self.flush.clear();
    }

    /// The socket of `id`, if that very connection (not an earlier one at its index) is
    /// still here.
    pub(crate) fn sock_mut(&mut self, id: ConnId) -> Option<&mut Sock> {
        self.socks
            .get_mut(id.index())?
            .as_mut()
            .filter(|s| s.id() == id)
    }

    /// Sets the connection and in-flight gauges when they changed since the last call: at
    /// the end of each driver turn (every socket event and timer goes through one; not at
    /// every caller's drain, which would count the connections once per command).
    #[cfg(feature = "metrics")]
    pub(crate) fn update_gauges(&mut self) {
        let now = (self.socks.iter().flatten().count(), self.pending.len());
        if now != self.gauges {
            self.gauges = now;
            observe::gauges(now.0, now.1);
        }
    }

    fn deliver(&mut self, id: RequestId, result: Result<Value, Error>) {
        if let Some(slot) = self.pending.get_mut(&id.as_u64()) {
            slot.result = Some(result);
            slot.ended = observe::ended(&self.core, id);
            slot.waiter
                .wake_later(&mut self.to_wake, &mut self.to_unpark);
            if let Some(g) = self.groups.get_mut(&slot.group) {
                g.remaining = g.remaining.saturating_sub(1);
                if g.remaining == 0 {
                    g.waiter.wake_later(&mut self.to_wake, &mut self.to_unpark);
                }
            }
        }
    }

    /// A new group of requests, woken once when all of them are answered ([`State::expect`]
    /// with it, then [`State::group_done`]); [`State::end_group`] forgets it.
    pub(crate) fn new_group(&mut self) -> u64 {
        self.last_group += 1;
        self.groups.insert(self.last_group, Group::default());
        self.last_group
    }

    /// Whether every request of `group` is answered; otherwise records `waker`.
    pub(crate) fn group_done(&mut self, group: u64, waker: &Waker) -> bool {
        let Some(g) = self.groups.get_mut(&group) else {
            return true;
        };
        if g.remaining == 0 {
            return true;
        }
        g.waiter.set(waker);
        false
    }

    /// Forgets `group` (its requests are taken or forgotten one by one).
    pub(crate) fn end_group(&mut self, group: u64) {
        self.groups.remove(&group);
    }

    /// Whether [`Shared::unlock_and_wake_one`] would leave wakers deferred now (the driver
    /// then bounds its wait: [`DEFER_BOUND`]).
    pub(crate) fn will_defer(&self) -> bool {
        self.to_wake.len() >= 2 && self.deferred.is_empty()
    }

    /// Wakes the driver task if it waits (once per wait).
    pub(crate) fn wake_driver(&mut self) {
        if let Some(w) = self.driver.take() {
            self.to_wake.push(w);
        }
    }

    /// Registers a caller for request `id` (in `group`, 0 for none).
    pub(crate) fn expect(&mut self, id: RequestId, waker: Option<Waker>, group: u64) {
        if let Some(g) = self.groups.get_mut(&group) {
            g.remaining += 1;
        }
        self.pending.insert(
            id.as_u64(),
            Slot {
                waiter: Waiter::new(waker),
                result: None,
                ended: Ended::default(),
                group,
            },
        );
    }

    /// The reply of `id` if it came (forgetting the request), with how it ended (for spans
    /// and metrics), else records `waker`.
    pub(crate) fn take_reply_from(
        &mut self,
        id: RequestId,
        waker: Option<&Waker>,
    ) -> Option<(Result<Value, Error>, Ended)> {
        let key = id.as_u64();
        let slot = self.pending.get_mut(&key)?;
        if slot.result.is_some() {
            let slot = self.pending.remove(&key)?;
            return slot.result.map(|result| (result, slot.ended));
        }
        if let Some(w) = waker {
            slot.waiter.set(w);
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

    /// A connection is being opened: a connect or TLS handshake in progress (or about to
    /// start), or a socket whose Redis handshake (`HELLO`, `AUTH`, ...) has not finished.
    /// No caller drives then ([`State::submitted`], `blocking`'s `drive`): each step of a
    /// handshake is the driver task's (connect, TLS output, the first writes), and a
    /// driving caller would reach it only through a hand-off per step — a handshake must
    /// not be slowed by that (on a starved CPU it ran into its timeout).
    pub(crate) fn settling(&self) -> bool {
        !self.connects.is_empty()
            || self.socks.iter().flatten().any(|s| match s {
                Sock::Connecting { .. } => true,
                Sock::Open(o) => !self.core.is_ready(o.id),
            })
    }

    /// Whether a caller may drive its round trip now: not while a connection is being
    /// opened ([`State::settling`]), nor while the driver task reads a backlog (a socket
    /// over its read budget: a push flood, a huge reply). Then the driver task is busy on
    /// its own thread anyway, and a driving caller would only compete with it for the lock
    /// (std's mutex is unfair: under an endless push flood such a caller lost it to the
    /// I/O thread's turns for over a second, and every shard missed its heartbeat).
    pub(crate) fn may_drive(&self) -> bool {
        !self.backlog && !self.settling()
    }

    /// After a submit: `lone` (nothing else was pending) on a thread that can drive lets
    /// the caller drive its round trip itself ([`State::may_drive`]); any other waiting
    /// request needs the driver thread watching (woken if it stepped aside for a driving
    /// caller). Records `lone` as [`State::solo`].
    pub(crate) fn submitted(&mut self, lone: bool) {
        self.solo = lone;
        if let Some(cp) = &self.caller_poll {
            if lone && CAN_DRIVE.get() && self.may_drive() {
                MAY_DRIVE.set(true);
            } else {
                cp.watch();
            }
        }
    }

    /// Closes everything: pending requests fail with `Error::Closed`, sockets close, event
    /// and subscription streams end.
    pub(crate) fn shutdown(&mut self, now: Instant) {
        self.closing = true;
        self.core.close(now);
        self.drain();
        self.connects.clear();
        self.socks.clear();
        self.events.clear();
        for sink in self.subs.values_mut() {
            if let Some(w) = sink.waker.take() {
                self.to_wake.push(w);
            }
        }
        self.subs.clear();
        self.driver = None;
    }
}

impl State {
    /// What is left after the driver task died (a hook panicked in it): every waiting
    /// caller fails with `Error::Closed` — none can hang — and the ring counts as closed.
    /// The core is not called again (its hook is what panicked).
    pub(crate) fn abandon(&mut self) {
        self.closing = true;
        self.abandoned = true;
        for slot in self.pending.values_mut() {
            if slot.result.is_none() {
                slot.result = Some(Err(Error::Closed {
                    command: CmdName::new(b"?"),
                }));
                if let Some(w) = slot.waiter.waker.take() {
                    self.to_wake.push(w);
                }
            }
        }
        // A pipeline waits on its group, not on its slots: without this it would wait
        // for a wake-up that never comes (found on branch perf3, whose test covers it).
        for g in self.groups.values_mut() {
            g.remaining = 0;
            if let Some(w) = g.waiter.waker.take() {
                self.to_wake.push(w);
            }
        }
        self.connects.clear();
        self.socks.clear();
        self.events.clear();
        for sink in self.subs.values_mut() {
            if let Some(w) = sink.waker.take() {
                self.to_wake.push(w);
            }
        }
        self.subs.clear();
        self.driver = None;
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
