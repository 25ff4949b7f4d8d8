//! The blocking face of the same ring: [`Ring`] and its handles, each call the async call
//! run to completion on the caller's thread by [`block_on`].
//!
//! A blocking caller waits exactly as an async one does — its reply slot holds a
//! [`Waker`] — only that waker unparks the caller's thread. So every behaviour (dispatch,
//! pipelines, transactions, subscriptions) is the async layer's, written once; this module
//! only changes how the caller waits. The driver task still runs on the runtime (for
//! `redis-ring-std`: its own I/O thread).

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use redis_ring_core::command::{Cmd, FromValue, ToArg};
use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::Event;

use crate::builder::{BuildError, RingBuilder};
use crate::pipeline::queue_methods;
use crate::pump;
use crate::runtime::{CallerPoll, Runtime};
use crate::state::{self, Shared};
use crate::stats::{IoStats, ShardStats};
use crate::Message;

/// Unparks the thread that waits in [`block_on`] (or interrupts its wait on the reactor
/// when it drives its round trip itself).
struct ThreadWaker {
    thread: Thread,
    notified: AtomicBool,
    /// The reactor the thread waits on while it drives (see [`drive`]).
    polling: Mutex<Option<Arc<dyn CallerPoll>>>,
    /// The reactor of the round trip the thread drives while it parks instead (the
    /// runtime's thread was waiting already): the wake-up counts it as driving again, so
    /// that the runtime's thread, having dispatched its replies, steps aside for the next.
    parked: Mutex<Option<Arc<dyn CallerPoll>>>,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            // A thread that woke itself (dispatching its own replies) is not waiting.
            if self.thread.id() == std::thread::current().id() {
                return;
            }
            if let Some(cp) = &*self.polling.lock().unwrap_or_else(PoisonError::into_inner) {
                cp.interrupt();
            }
            if let Some(cp) = self
                .parked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
            {
                cp.driving(true);
            }
            self.thread.unpark();
        }
    }
}

fn thread_waker() -> (Arc<ThreadWaker>, Waker) {
    let tw = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        notified: AtomicBool::new(false),
        polling: Mutex::new(None),
        parked: Mutex::new(None),
    });
    let waker = Waker::from(tw.clone());
    (tw, waker)
}

thread_local! {
    /// This thread's waker, made once (no allocation per call), and whether a
    /// `block_on` already uses it (a nested call makes its own).
    static PARKER: (Arc<ThreadWaker>, Waker) = thread_waker();
    static IN_USE: Cell<bool> = const { Cell::new(false) };
}

/// What the future given to [`run`] with a ring is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// One call of the ring's (a command, a pipeline, a transaction): once it drives, it
    /// drives until it is done.
    Call,
    /// Any future ([`crate::Ring::block_on`]: an executor's `run`, many tasks): it drives
    /// while its round trip is the only one in flight, and stops once another is (the
    /// runtime's thread reads for several callers better than an executor busy with
    /// them) or none is; the next lone round trip it starts drives again.
    Any,
}

/// Runs `fut` to completion on this thread, parking it while the future waits; with
/// `deadline`, gives up (`None`) once it has passed. With `ring`, a round trip that is
/// the only one in flight is driven by this thread itself ([`drive`]) when the runtime
/// allows, for as long as [`Scope`] says.
fn run<F: Future>(
    fut: F,
    deadline: Option<Instant>,
    ring: Option<(&Shared, Scope)>,
) -> Option<F::Output> {
    let nested = IN_USE.replace(true);
    let own = nested.then(thread_waker);
    let scope = ring.map_or(Scope::Call, |(_, scope)| scope);
    let reactor = ring
        .filter(|_| !nested)
        .and_then(|(r, _)| Some((r, r.caller_poll()?)));
    let could = state::can_drive(reactor.is_some());
    // A call of the ring's is polled with this thread's waker alone (an executor run by
    // `Scope::Any` registers its tasks' wakers instead).
    let unparked = state::unparks(ring.is_some() && scope == Scope::Call);
    state::take_may_drive();
    let out = PARKER.with(|shared| {
        let (tw, waker) = own.as_ref().unwrap_or(shared);
        let mut fut = pin!(fut);
        let mut cx = Context::from_waker(waker);
        let mut driving = None;
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return Some(v);
            }
            if let Some((ring, cp)) = reactor {
                if scope == Scope::Any
                    && driving.is_some()
                    && ring.with(|st| !st.solo || st.waiting() == 0)
                {
                    driving = None;
                }
                if driving.is_none() && state::take_may_drive() {
                    driving = Some(Driving::new(ring, cp));
                }
                if driving.is_some() {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return None;
                    }
                    match drive(ring, cp, tw, deadline) {
                        Drive::Waited => continue,
                        Drive::Taken => {
                            // Parked, it drives nothing: the runtime's thread must not step
                            // aside for it until it is woken.
                            cp.driving(false);
                            *tw.parked.lock().unwrap_or_else(PoisonError::into_inner) =
                                Some(cp.clone());
                        }
                        // Hands the round trip back (the runtime's thread is unparked if
                        // it stepped aside) and waits as any caller.
                        Drive::Stop => driving = None,
                        Drive::HandBack => {
                            driving = None;
                            continue;
                        }
                    }
                }
            }
            let _unpark = Unparked(tw);
            while !tw.notified.swap(false, Ordering::Acquire) {
                match deadline {
                    None => std::thread::park(),
                    Some(d) => {
                        let now = Instant::now();
                        if now >= d {
                            return None;
                        }
                        std::thread::park_timeout(d - now);
                    }
                }
            }
        }
    });
    state::can_drive(could);
    state::unparks(unparked);
    IN_USE.set(nested);
    out
}

/// Counts a parked driving caller as driving again when it stops waiting, if its wake-up
/// did not (it found itself notified, or gave up at its deadline).
struct Unparked<'a>(&'a ThreadWaker);

impl Drop for Unparked<'_> {
    fn drop(&mut self) {
        let parked = self
            .0
            .parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(cp) = parked {
            cp.driving(true);
        }
    }
}

/// A caller driving its round trip: keeps the runtime's thread aside while it lasts.
struct Driving<'a> {
    ring: &'a Shared,
    cp: &'a Arc<dyn CallerPoll>,
}

impl<'a> Driving<'a> {
    fn new(ring: &'a Shared, cp: &'a Arc<dyn CallerPoll>) -> Self {
        cp.driving(true);
        Driving { ring, cp }
    }
}

impl Drop for Driving<'_> {
    fn drop(&mut self) {
        self.cp.driving(false);
        // Requests (or subscriptions) another caller waits on need the runtime's thread
        // back on the reactor now, not after its linger.
        if self.ring.with(|st| st.waiting() > 0 || !st.subs.is_empty()) {
            self.cp.watch();
        }
    }
}

/// One wait of a driving caller: on the reactor itself (until woken, the core's next
/// deadline or `deadline`), then the read half of a driver turn on this thread, which
/// dispatches every reply that came — its own and any other caller's. Not while a
/// connection is being opened ([`Drive::Stop`]).
fn drive(
    ring: &Shared,
    cp: &Arc<dyn CallerPoll>,
    tw: &ThreadWaker,
    deadline: Option<Instant>,
) -> Drive {
    let Some(mut until) = ring.with(|st| st.may_drive().then(|| ring.std_instant(st.deadline)))
    else {
        return Drive::Stop;
    };
    if let Some(d) = deadline {
        until = Some(until.map_or(d, |u| u.min(d)));
    }
    *tw.polling.lock().unwrap_or_else(PoisonError::into_inner) = Some(cp.clone());
    // Woken meanwhile: poll the future again instead of waiting.
    let waited = tw.notified.swap(false, Ordering::AcqRel) || cp.wait(until);
    *tw.polling.lock().unwrap_or_else(PoisonError::into_inner) = None;
    if waited {
        let mut st = ring.lock();
        // A hook the core runs may panic here, on the caller's thread instead of the
        // driver's: the same outcome as there (every waiting caller fails with `Closed`,
        // the ring counts as closed, the driver task ends), not a panic in this call.
        let read = std::panic::catch_unwind(AssertUnwindSafe(|| pump::read_ready(ring, &mut st)));
        let backlog = read.as_ref().is_ok_and(|b| *b);
        if read.is_err() {
            st.wake_driver();
            st.abandon();
        }
        Shared::unlock_and_wake(st);
        tw.notified.store(false, Ordering::Release);
        if backlog {
            Drive::HandBack
        } else {
            Drive::Waited
        }
    } else {
        Drive::Taken
    }
}

/// What one [`drive`] did.
enum Drive {
    /// Waited on the reactor and read what came: poll the future again.
    Waited,
    /// The reactor is taken (the runtime's thread has not stepped aside yet): park.
    Taken,
    /// A connection is being opened, or the driver task reads a backlog
    /// ([`crate::state::State::may_drive`]): the round trip is the runtime's thread's from
    /// here on; park as a caller that does not drive.
    Stop,
    /// Waited and read, and a socket had more than its read budget: poll the future again,
    /// then wait as a caller that does not drive (the driver task reads the rest).
    HandBack,
}

/// Runs `fut` to completion on the calling thread (parking it while the future waits).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    match run(fut, None, None) {
        Some(v) => v,
        None => unreachable!("no deadline"),
    }
}

/// [`block_on`], giving up after `timeout` (the future is dropped then).
pub fn block_on_timeout<F: Future>(fut: F, timeout: Duration) -> Option<F::Output> {
    run(fut, Instant::now().checked_add(timeout), None)
}

/// [`block_on`] for a call on `ring`: may drive its round trip itself.
fn block_on_ring<F: Future>(ring: &Shared, fut: F) -> F::Output {
    match run(fut, None, Some((ring, Scope::Call))) {
        Some(v) => v,
        None => unreachable!("no deadline"),
    }
}

/// [`block_on`] for any future on a thread that uses `ring` ([`crate::Ring::block_on`]).
pub(crate) fn block_on_with_ring<F: Future>(ring: &Shared, fut: F) -> F::Output {
    match run(fut, None, Some((ring, Scope::Any))) {
        Some(v) => v,
        None => unreachable!("no deadline"),
    }
}

/// The blocking ring handle: the same client as the async [`crate::Ring`], each call
/// waiting on the caller's thread. `Clone + Send + Sync`; clones share one driver, one
/// connection per shard and the shards' health; concurrent callers share each shard's
/// connection (automatic pipelining). Dropping the last clone, or [`Ring::close`], shuts
/// it down (pending commands fail with `Error::Closed`).
#[derive(Debug)]
pub struct Ring<Rt: Runtime> {
    inner: crate::Ring<Rt>,
}

impl<Rt: Runtime> Clone for Ring<Rt> {
    fn clone(&self) -> Self {
        Ring {
            inner: self.inner.clone(),
        }
    }
}

impl<Rt: Runtime> Ring<Rt> {
    /// A [`RingBuilder`] with the default options (go-redis's) and `Rt::default()`.
    pub fn builder() -> RingBuilder<Rt, crate::builder::Blocking>
    where
        Rt: Default,
    {
        RingBuilder::new()
    }

    pub(crate) fn from_async(inner: crate::Ring<Rt>) -> Self {
        Ring { inner }
    }

    /// The async handle on the same ring.
    pub fn as_async(&self) -> &crate::Ring<Rt> {
        &self.inner
    }

    /// Another handle to the same ring through which every command is declared idempotent,
    /// so re-sent after a broken connection instead of failing with `Error::MayHaveRun`
    /// (see the async `Ring::idempotent`): `ring.idempotent().incr("n")`.
    #[must_use]
    pub fn idempotent(&self) -> Ring<Rt> {
        Ring {
            inner: self.inner.idempotent(),
        }
    }

    /// Whether this handle declares its commands idempotent.
    pub fn is_idempotent(&self) -> bool {
        self.inner.is_idempotent()
    }

    /// Runs any command, routed by its key (see the async `Ring::cmd`).
    ///
    /// # Errors
    /// As the async `cmd`.
    pub fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        block_on_ring(self.inner.shared(), self.inner.cmd(cmd))
    }

    /// `cmd` with its own deadline instead of the configured command timeout.
    ///
    /// # Errors
    /// As `cmd`.
    pub fn cmd_timeout(&self, cmd: Cmd, timeout: Duration) -> Result<Value, Error> {
        block_on_ring(self.inner.shared(), self.inner.cmd_timeout(cmd, timeout))
    }

    /// `cmd`, the reply converted to `T`.
    ///
    /// # Errors
    /// As `cmd`, plus a reply that does not convert to `T`.
    pub fn query<T: FromValue>(&self, cmd: Cmd) -> Result<T, Error> {
        block_on_ring(self.inner.shared(), self.inner.query(cmd))
    }

    /// A pipeline: queue commands, then `run` sends them all at once.
    pub fn pipeline(&self) -> Pipeline<'_> {
        Pipeline(self.inner.pipeline())
    }

    /// [`Ring::pipeline`] with room for `capacity` commands (no growth while queueing them).
    pub fn pipeline_with_capacity(&self, capacity: usize) -> Pipeline<'_> {
        Pipeline(self.inner.pipeline_with_capacity(capacity))
    }

    /// `MGET` across shards, values in key order.
    ///
    /// # Errors
    /// As `cmd`.
    pub fn mget<K: ToArg, T: FromValue>(&self, keys: &[K]) -> Result<Vec<T>, Error> {
        block_on(self.inner.mget(keys))
    }

    /// `MSET` across shards.
    ///
    /// # Errors
    /// As `cmd`.
    pub fn mset<K: ToArg, V: ToArg>(&self, pairs: &[(K, V)]) -> Result<(), Error> {
        block_on(self.inner.mset(pairs))
    }

    /// `DEL` across shards: how many keys were deleted.
    ///
    /// # Errors
    /// As `cmd`.
    pub fn del<K: ToArg>(&self, keys: &[K]) -> Result<u64, Error> {
        block_on(self.inner.del(keys))
    }

    /// `EXISTS` across shards: how many of `keys` exist.
    ///
    /// # Errors
    /// As `cmd`.
    pub fn exists<K: ToArg>(&self, keys: &[K]) -> Result<u64, Error> {
        block_on(self.inner.exists(keys))
    }

    /// `MGET` across shards, one result per key (a failed shard fails only its keys).
    pub fn mget_per_key<K: ToArg, T: FromValue>(&self, keys: &[K]) -> Vec<Result<T, Error>> {
        block_on(self.inner.mget_per_key(keys))
    }

    /// A `SCAN` over the whole ring, as an iterator of keys.
    pub fn scan(&self) -> Scan<'_> {
        Scan(self.inner.scan())
    }

    /// Runs a transaction over `keys` (all on one shard): `WATCH keys`, `f` (reads with
    /// [`Tx::cmd`], writes queued with [`Tx::queue`]), then `MULTI`, the writes and `EXEC`,
    /// all again while a watched key changed (see the async `transaction`). Returns the
    /// `EXEC` replies.
    ///
    /// # Errors
    /// As the async `transaction`.
    pub fn transaction<K, F, E>(&self, keys: &[K], mut f: F) -> Result<Vec<Value>, E>
    where
        K: AsRef<[u8]>,
        F: FnMut(&Tx) -> Result<(), E>,
        E: From<Error>,
    {
        block_on(self.inner.transaction(keys, |tx| {
            let r = f(&Tx(tx));
            std::future::ready(r)
        }))
    }

    /// Subscribes to `channels` (`SUBSCRIBE`); returns once every channel is confirmed.
    ///
    /// # Errors
    /// As the async `subscribe`.
    pub fn subscribe<C: AsRef<[u8]>>(&self, channels: &[C]) -> Result<Subscription, Error> {
        block_on(self.inner.subscribe(channels)).map(Subscription)
    }

    /// Subscribes to `patterns` (`PSUBSCRIBE`) on every live shard.
    ///
    /// # Errors
    /// As `subscribe`.
    pub fn psubscribe<C: AsRef<[u8]>>(&self, patterns: &[C]) -> Result<Subscription, Error> {
        block_on(self.inner.psubscribe(patterns)).map(Subscription)
    }

    /// Subscribes to sharded `channels` (`SSUBSCRIBE`, Redis 7).
    ///
    /// # Errors
    /// As `subscribe`.
    pub fn ssubscribe<C: AsRef<[u8]>>(&self, channels: &[C]) -> Result<Subscription, Error> {
        block_on(self.inner.ssubscribe(channels)).map(Subscription)
    }

    /// Calls `f` for every live shard, concurrently (one scoped thread per shard), with a
    /// [`Shard`] handle; returns each shard's name with its result, in configured order.
    pub fn for_each_shard<T, F>(&self, f: F) -> Vec<(String, Result<T, Error>)>
    where
        T: Send,
        F: Fn(&Shard<'_>) -> Result<T, Error> + Sync,
    {
        let live = crate::shard::live_shards(self.inner.shared());
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = live
                .into_iter()
                .map(|name| {
                    let idempotent = self.inner.is_idempotent();
                    let shard = Shard(crate::Shard::new(self.inner.shared(), name, idempotent));
                    s.spawn(move || (shard.name().to_owned(), f(&shard)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    /// A handle on the shard named `name`: commands sent through it go to that shard.
    pub fn shard(&self, name: &str) -> Shard<'_> {
        Shard(self.inner.shard(name))
    }

    /// The name of the live shard that owns `key` now; `None` when no shard is up.
    pub fn shard_for_key(&self, key: impl AsRef<[u8]>) -> Option<String> {
        self.inner.shard_for_key(key)
    }

    /// The number of live shards (go-redis `Len`).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no shard is live.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Replaces the shards (see the async `set_shards`).
    ///
    /// # Errors
    /// As the async `set_shards`.
    pub fn set_shards<I, N, A>(&self, shards: I) -> Result<(), BuildError>
    where
        I: IntoIterator<Item = (N, A)>,
        N: Into<String>,
        A: Into<String>,
    {
        self.inner.set_shards(shards)
    }

    /// Replaces the shards with typed specs (see the async `set_shard_specs`).
    ///
    /// # Errors
    /// As the async `set_shard_specs`.
    pub fn set_shard_specs<I>(&self, specs: I) -> Result<(), BuildError>
    where
        I: IntoIterator<Item = redis_ring_core::config::ShardSpec>,
    {
        self.inner.set_shard_specs(specs)
    }

    /// A new receiver of the ring's events from now on.
    pub fn events(&self) -> Events {
        Events(self.inner.events())
    }

    /// Every shard in configured order: state, address, last error, commands in flight.
    pub fn stats(&self) -> Vec<ShardStats> {
        self.inner.stats()
    }

    /// What the driver has done so far: commands, writes, reads, wake-ups.
    pub fn io_stats(&self) -> IoStats {
        self.inner.io_stats()
    }

    /// Commands waiting for their reply, over all shards.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }

    /// Closes the ring for every clone and waits until the driver has finished.
    pub fn close(&self) {
        block_on(self.inner.close());
    }

    /// Whether the ring was closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

/// The typed helpers of the core's table as blocking methods (`mget`, `mset`, `del`,
/// `exists` are the ring's own, above).
macro_rules! blocking_methods {
    (@munch [$($done:tt)*]) => {
        /// Typed helpers (one definition in the core's `for_each_command!`).
        impl<Rt: Runtime> Ring<Rt> { $($done)* }
    };
    (@munch [$($done:tt)*]
        $(#[$meta:meta])* fn mget<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
        $($rest:tt)*) => { blocking_methods!(@munch [$($done)*] $($rest)*); };
    (@munch [$($done:tt)*]
        $(#[$meta:meta])* fn mset<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
        $($rest:tt)*) => { blocking_methods!(@munch [$($done)*] $($rest)*); };
    (@munch [$($done:tt)*]
        $(#[$meta:meta])* fn del<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
        $($rest:tt)*) => { blocking_methods!(@munch [$($done)*] $($rest)*); };
    (@munch [$($done:tt)*]
        $(#[$meta:meta])* fn exists<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
        $($rest:tt)*) => { blocking_methods!(@munch [$($done)*] $($rest)*); };
    (@munch [$($done:tt)*]
        $(#[$meta:meta])* fn $name:ident<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
        $($rest:tt)*) => {
        blocking_methods!(@munch [$($done)*
            $(#[$meta])*
            ///
            /// # Errors
            /// As `cmd`, or a reply that does not convert to the type asked for.
            pub fn $name<$($r: FromValue),*>(&self, $($arg: $ty),*) -> Result<$ret, Error> {
                self.query::<$ret>(redis_ring_core::command::cmds::$name($($arg),*))
            }
        ] $($rest)*);
    };
    ($($entries:tt)*) => { blocking_methods!(@munch [] $($entries)*); };
}

redis_ring_core::for_each_command!(blocking_methods);

/// A blocking pipeline (`Ring::pipeline`): queue commands, then [`Pipeline::run`] waits
/// for every result (see the async [`crate::Pipeline`]).
#[derive(Debug)]
#[must_use = "a pipeline does nothing until run"]
pub struct Pipeline<'a>(crate::Pipeline<'a>);

impl Pipeline<'_> {
    /// Queues any command.
    pub fn cmd(&mut self, cmd: Cmd) -> &mut Self {
        self.0.cmd(cmd);
        self
    }

    /// A deadline for every command of the pipeline instead of the configured one.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.0.timeout(timeout);
        self
    }

    /// The number of queued commands.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no command is queued.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sends every queued command and returns their results in order.
    pub fn run(&mut self) -> Vec<Result<Value, Error>> {
        block_on_ring(self.0.shared(), self.0.run())
    }
}

/// Typed helpers that queue their command.
impl Pipeline<'_> {
    redis_ring_core::for_each_command!(queue_methods);
}

/// A blocking handle on one shard (`Ring::shard`, `Ring::for_each_shard`).
#[derive(Clone, Debug)]
pub struct Shard<'r>(crate::Shard<'r>);

impl Shard<'_> {
    /// The shard's name.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Runs `cmd` on this shard.
    ///
    /// # Errors
    /// As the async `Shard::cmd`.
    pub fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        block_on(self.0.cmd(cmd))
    }

    /// `cmd` with its own deadline.
    ///
    /// # Errors
    /// As `cmd`.
    pub fn cmd_timeout(&self, cmd: Cmd, timeout: Duration) -> Result<Value, Error> {
        block_on(self.0.cmd_timeout(cmd, timeout))
    }

    /// `cmd` with the reply converted to `T`.
    ///
    /// # Errors
    /// As `cmd`, plus a reply that does not convert to `T`.
    pub fn query<T: FromValue>(&self, cmd: Cmd) -> Result<T, Error> {
        block_on(self.0.query(cmd))
    }
}

/// One attempt of a blocking transaction (see `Ring::transaction`).
#[derive(Debug)]
pub struct Tx(crate::Tx);

impl Tx {
    /// Runs `cmd` now on the transaction's connection (after `WATCH`).
    ///
    /// # Errors
    /// As the async `Tx::cmd`.
    pub fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        block_on(self.0.cmd(cmd))
    }

    /// `cmd` with the reply converted.
    ///
    /// # Errors
    /// As `cmd`, plus a reply that does not convert to `T`.
    pub fn query<T: FromValue>(&self, cmd: Cmd) -> Result<T, Error> {
        block_on(self.0.query(cmd))
    }

    /// `GET key` now, converted.
    ///
    /// # Errors
    /// As `query`.
    pub fn get<T: FromValue>(&self, key: impl ToArg) -> Result<T, Error> {
        block_on(self.0.get(key))
    }

    /// Queues `cmd` for `MULTI` ... `EXEC`.
    pub fn queue(&self, cmd: Cmd) -> &Self {
        self.0.queue(cmd);
        self
    }
}

/// A blocking subscription: an iterator of [`Message`]s that ends when the ring closes.
/// Dropping it unsubscribes; it does not keep the ring open.
#[derive(Debug)]
pub struct Subscription(crate::Subscription);

impl Subscription {
    /// The next message, waiting at most `timeout`.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Message> {
        block_on_timeout(self.0.next_message(), timeout).flatten()
    }

    /// A message if one is waiting.
    pub fn try_next(&mut self) -> Option<Message> {
        self.0.try_next()
    }

    /// Adds channels (or patterns) to this subscription.
    pub fn subscribe<C: AsRef<[u8]>>(&self, channels: &[C]) {
        self.0.subscribe(channels);
    }

    /// Removes channels (or patterns) from this subscription.
    pub fn unsubscribe<C: AsRef<[u8]>>(&self, channels: &[C]) {
        self.0.unsubscribe(channels);
    }

    /// The channels (or patterns) of this subscription.
    pub fn channels(&self) -> Vec<Vec<u8>> {
        self.0.channels()
    }

    /// Messages dropped because too many were waiting.
    pub fn dropped(&self) -> u64 {
        self.0.dropped()
    }
}

impl Iterator for Subscription {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        block_on(self.0.next_message())
    }
}

/// A blocking receiver of the ring's events (`Ring::events`); an iterator that ends when the
/// ring closes.
#[derive(Debug)]
pub struct Events(crate::Events);

impl Events {
    /// The next event; `None` once the ring is closed.
    pub fn recv(&self) -> Option<Event> {
        block_on(self.0.recv())
    }

    /// Every event as it comes, until the ring closes.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        std::iter::from_fn(|| self.recv())
    }

    /// The next event, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        block_on_timeout(self.0.recv(), timeout).flatten()
    }

    /// An event if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        self.0.try_recv()
    }
}

impl Iterator for Events {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        block_on(self.0.recv())
    }
}

/// A blocking `SCAN` over the whole ring (`Ring::scan`): an iterator of keys.
#[derive(Debug)]
pub struct Scan<'a>(crate::Scan<'a>);

impl Scan<'_> {
    /// Only keys matching `pattern` (`MATCH`).
    pub fn pattern(self, pattern: impl AsRef<[u8]>) -> Self {
        Scan(self.0.pattern(pattern))
    }

    /// How many keys each step looks at (`COUNT`, a hint).
    pub fn count(self, count: u64) -> Self {
        Scan(self.0.count(count))
    }
}

impl Iterator for Scan<'_> {
    type Item = Result<Vec<u8>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        block_on(self.0.next())
    }
}
