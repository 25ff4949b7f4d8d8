//! [`IoThread`]: a runtime of its own — one thread per ring that runs the ring's driver
//! task and waits on a [`mio::Poll`] (epoll/kqueue/IOCP) for socket readiness, its timers
//! and wake-ups. The blocking driver's runtime (`redis-ring-std`), and smol's driver thread
//! (`Smol::driver_thread`): async callers on any executor only need their wakers woken. It
//! is all the "async runtime" the shared driver layer needs: the driver task is the only
//! future it runs, so readiness is a few atomics per socket that the wait sets and the
//! driver reads.
//!
//! Sockets are registered once, edge-triggered, for reading and writing (as tokio does): no
//! interest changes afterwards, and a wait is one `epoll_wait` (mio; `polling` 3 spends five
//! syscalls per wait on Linux: its timerfd and notifier are re-armed each time). A socket is
//! readable from an edge until a read drains it (`WouldBlock` or a short read) — an edge
//! counted, so that one recorded by another thread's wait during that read is not lost —
//! and writable from an edge until the driver consumes it. Timers may be polled from any
//! thread (a blocking caller's `subscribe` waits on one): the nearest deadline bounds the
//! wait, and a timer armed from another thread interrupts it.
//!
//! **Stepping aside** ([`CallerPoll`]): a blocking caller whose round trip is the only one
//! in flight waits on the same epoll itself (`drive`), reads its replies and dispatches
//! them, instead of parking until this thread has done it and unparked it (a futex pair
//! per round trip, and this thread's own wake-up). While such a caller drives, this thread
//! parks instead of waiting on the epoll (one waiter at a time: whoever holds `poller`),
//! waking for its timers, a wake-up of the driver task, or every [`LINGER`] to see whether
//! the callers are done; it is back on the epoll once none drives. Before each turn of a
//! driver task that woke itself (more to do at once), and when it wakes aside and no caller
//! began a wait meanwhile, it looks at the epoll without waiting (unless a caller waits on
//! it): the sockets' readiness never depends on a driving caller that is busy elsewhere
//! (waiting for the ring's lock, preempted).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::runtime::{AsyncSocket, AsyncTimer, BoxFuture, CallerPoll, Runtime, TakeError};
use mio::event::Source as MioSource;
use mio::{Events, Interest, Poll as MioPoll, Registry, Token};

/// The ring's driver task on a thread of its own (`redis-ring-io` unless
/// [`IoThread::named`]), readiness from [`mio`]. One per ring (`Default` makes a new one;
/// clones share it, and a second ring on it fails to build).
#[derive(Clone, Debug)]
pub struct IoThread {
    reactor: Arc<OnceLock<Arc<Reactor>>>,
    name: &'static str,
}

impl Default for IoThread {
    fn default() -> IoThread {
        IoThread::named("redis-ring-io")
    }
}

/// How long the thread stays aside without checking whether a caller still drives: the
/// longest an unsolicited event (a push, a peer's close) waits after a driving caller's
/// last round trip. Each check costs the thread one timed wait.
const LINGER: Duration = Duration::from_millis(2);

/// What the thread, its sockets and its timers share.
#[derive(Debug)]
struct Reactor {
    /// The epoll and its event buffer: held by whoever waits on it (this thread, or a
    /// caller driving its own round trip).
    poller: Mutex<(MioPoll, Events)>,
    registry: Registry,
    /// Interrupts the wait (token [`WAKE`]).
    waker: mio::Waker,
    /// Readiness flags by poller key (keys are never reused).
    sources: Mutex<HashMap<usize, Arc<Readiness>>>,
    next_key: AtomicUsize,
    /// Armed timers by id: deadline and the waker to wake then.
    timers: Mutex<HashMap<u64, (Instant, Waker)>>,
    next_timer: AtomicU64,
    /// The thread is in (or about to enter) `Poll::poll`.
    sleeping: AtomicBool,
    /// The driver task was woken since its last poll.
    woken: AtomicBool,
    /// The thread parks aside (a caller drives): wake-ups unpark it.
    aside: AtomicBool,
    /// Callers driving now ([`CallerPoll::driving`]).
    drivers: AtomicUsize,
    /// Waits on the epoll begun by callers (so far): the thread aside looks at the epoll
    /// itself when none began while it was parked.
    caller_waits: AtomicU64,
    thread: OnceLock<Thread>,
}

/// The token of the reactor's waker (sockets count from 1).
const WAKE: Token = Token(0);

/// One socket's readiness, as the waits saw it.
#[derive(Debug, Default)]
struct Readiness {
    /// Readable edges recorded so far, by whichever thread waited on the epoll.
    edges: AtomicU64,
    /// [`Readiness::edges`] as it was before the last read that drained the socket: readable
    /// while the two differ. A count, not a flag: an edge recorded by another thread's wait
    /// while a read was draining the socket (the I/O thread and a driving caller both wait)
    /// must survive that read's "drained", or the bytes that came with it would sit unread
    /// until the next edge.
    drained: AtomicU64,
    writable: AtomicBool,
    /// The peer closed (or the socket failed): reads report it from now on. Sticky, as no
    /// further edge comes: a short read may leave the EOF unread behind the last bytes.
    closed: AtomicBool,
}

impl Reactor {
    /// Interrupts the wait (if the thread is in it or about to be), or unparks the thread
    /// if it is aside.
    fn notify(&self) {
        if self.sleeping.load(Ordering::SeqCst) {
            let _ = self.waker.wake();
        } else if self.aside.load(Ordering::SeqCst) {
            self.unpark();
        }
    }

    /// The epoll, unless someone else waits on it.
    fn try_poller(&self) -> Option<MutexGuard<'_, (MioPoll, Events)>> {
        match self.poller.try_lock() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    fn unpark(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    /// Parks the thread while callers drive: until the driver task is woken, a timer is
    /// due, or [`LINGER`] has passed.
    fn park_aside(&self) {
        self.aside.store(true, Ordering::SeqCst);
        // Timers armed before `aside` was visible are seen here; later ones unpark.
        let next = self.fire_timers();
        // A caller that stopped driving before `aside` was visible did not unpark it
        // (`watch` reads `aside` after lowering `drivers`): look again instead of lingering.
        if !self.woken.load(Ordering::SeqCst) && self.drivers.load(Ordering::SeqCst) > 0 {
            let mut wait = LINGER;
            if let Some(at) = next {
                wait = wait.min(at.saturating_duration_since(Instant::now()));
            }
            std::thread::park_timeout(wait);
        }
        self.aside.store(false, Ordering::SeqCst);
        self.fire_timers();
    }

    /// Records what the epoll has ready, without waiting — unless a caller waits on it (it
    /// records every edge itself then).
    fn look(&self) {
        if let Some(mut poller) = self.try_poller() {
            let (poll, events) = &mut *poller;
            // Errors are EINTR: the next look or wait sees it.
            let _ = poll.poll(events, Some(Duration::ZERO));
            self.apply(events);
        }
    }

    /// Records what a wait saw in the sockets' readiness flags.
    fn apply(&self, events: &Events) {
        let sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        for ev in events {
            if ev.token() == WAKE {
                continue;
            }
            if let Some(r) = sources.get(&ev.token().0) {
                // An error or a hang-up shows up as readiness: the read or write reports it.
                if ev.is_read_closed() || ev.is_error() {
                    r.closed.store(true, Ordering::Release);
                }
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    r.edges.fetch_add(1, Ordering::AcqRel);
                }
                if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                    r.writable.store(true, Ordering::Release);
                }
            }
        }
    }

    /// The earliest timer, waking those that are due.
    fn fire_timers(&self) -> Option<Instant> {
        let now = Instant::now();
        let mut due = Vec::new();
        let next = {
            let mut timers = self.timers.lock().unwrap_or_else(PoisonError::into_inner);
            timers.retain(|_, (at, w)| {
                if *at <= now {
                    due.push(w.clone());
                    false
                } else {
                    true
                }
            });
            timers.values().map(|(at, _)| *at).min()
        };
        for w in due {
            w.wake();
        }
        next
    }
}

/// Wakes the driver task: flags it and interrupts the wait.
struct DriverWaker(Arc<Reactor>);

impl Wake for DriverWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.0.woken.swap(true, Ordering::SeqCst) {
            self.0.notify();
        }
    }
}

impl IoThread {
    /// A new one whose thread is called `name`.
    pub fn named(name: &'static str) -> IoThread {
        IoThread {
            reactor: Arc::default(),
            name,
        }
    }

    fn reactor(&self) -> io::Result<&Arc<Reactor>> {
        self.reactor
            .get()
            .ok_or_else(|| io::Error::other("the ring's I/O thread is not running"))
    }
}

/// Runs `driver` until it completes: poll it, wait for readiness, timers or a wake-up (or
/// park aside while a caller drives).
fn run(reactor: &Arc<Reactor>, mut driver: BoxFuture) {
    let waker = Waker::from(Arc::new(DriverWaker(reactor.clone())));
    let mut cx = Context::from_waker(&waker);
    loop {
        reactor.woken.store(false, Ordering::SeqCst);
        if driver.as_mut().poll(&mut cx).is_ready() {
            return;
        }
        if reactor.drivers.load(Ordering::SeqCst) > 0 {
            // A caller drives: stay aside (not at all if the driver task has more to do at
            // once), then look at the epoll without waiting — before each turn of a driver
            // task that woke itself, and whenever no caller began a wait while this thread
            // was parked — and the next turn reads what it found. Whatever the driving
            // caller does meanwhile (reads, waits for the lock, is preempted), every
            // socket's readiness is seen: a push flood, with the driving caller waiting
            // for the lock while this thread ran turn after turn on the flood, starved
            // every heartbeat so. A caller that keeps waiting sees the edges itself.
            let waits = reactor.caller_waits.load(Ordering::SeqCst);
            reactor.park_aside();
            if reactor.woken.load(Ordering::SeqCst)
                || reactor.caller_waits.load(Ordering::SeqCst) == waits
            {
                reactor.look();
            }
            continue;
        }
        let Some(mut poller) = reactor.try_poller() else {
            // A caller is waiting on it (its `driving` just ended, or is about to begin).
            reactor.park_aside();
            continue;
        };
        let (poll, events) = &mut *poller;
        let next = reactor.fire_timers();
        reactor.sleeping.store(true, Ordering::SeqCst);
        // Woken meanwhile: only look (other sockets' readiness must not starve behind a
        // driver that keeps waking itself, e.g. a socket flooding past its read budget).
        let timeout = if reactor.woken.load(Ordering::SeqCst) {
            Some(Duration::ZERO)
        } else {
            next.map(|at| at.saturating_duration_since(Instant::now()))
        };
        // Errors are EINTR: just go round.
        let _ = poll.poll(events, timeout);
        reactor.sleeping.store(false, Ordering::SeqCst);
        reactor.apply(events);
        drop(poller);
        reactor.fire_timers();
    }
}

impl CallerPoll for Reactor {
    fn driving(&self, on: bool) {
        if on {
            self.drivers.fetch_add(1, Ordering::SeqCst);
        } else {
            self.drivers.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn wait(&self, until: Option<Instant>) -> bool {
        let Some(mut poller) = self.try_poller() else {
            return false;
        };
        self.caller_waits.fetch_add(1, Ordering::SeqCst);
        let (poll, events) = &mut *poller;
        let timeout = until.map(|at| at.saturating_duration_since(Instant::now()));
        // Errors are EINTR: the caller goes round.
        let _ = poll.poll(events, timeout);
        self.apply(events);
        true
    }

    fn interrupt(&self) {
        let _ = self.waker.wake();
    }

    fn watch(&self) {
        if self.aside.load(Ordering::SeqCst) && self.drivers.load(Ordering::SeqCst) == 0 {
            self.unpark();
        }
    }
}

impl Runtime for IoThread {
    fn spawn(&self, driver: BoxFuture) -> io::Result<()> {
        let poll = MioPoll::new()?;
        let reactor = Arc::new(Reactor {
            registry: poll.registry().try_clone()?,
            waker: mio::Waker::new(poll.registry(), WAKE)?,
            poller: Mutex::new((poll, Events::with_capacity(256))),
            sources: Mutex::default(),
            next_key: AtomicUsize::new(1),
            timers: Mutex::default(),
            next_timer: AtomicU64::new(0),
            sleeping: AtomicBool::new(false),
            woken: AtomicBool::new(false),
            aside: AtomicBool::new(false),
            drivers: AtomicUsize::new(0),
            caller_waits: AtomicU64::new(0),
            thread: OnceLock::new(),
        });
        self.reactor
            .set(reactor.clone())
            .map_err(|_| io::Error::other("one IoThread runs one ring"))?;
        let handle = std::thread::Builder::new()
            .name(self.name.into())
            .spawn(move || run(&reactor, driver))?;
        if let Ok(r) = self.reactor() {
            let _ = r.thread.set(handle.thread().clone());
        }
        Ok(())
    }

    fn caller_poll(&self) -> Option<Arc<dyn CallerPoll>> {
        let reactor: Arc<dyn CallerPoll> = self.reactor().ok()?.clone();
        Some(reactor)
    }

    fn new_timer(&self) -> Pin<Box<dyn AsyncTimer>> {
        Box::pin(Timer {
            rt: self.clone(),
            id: None,
            at: None,
        })
    }

    fn wrap_tcp(&self, stream: TcpStream) -> io::Result<Box<dyn AsyncSocket>> {
        let stream = mio::net::TcpStream::from_std(stream);
        Ok(Box::new(Source::new(stream, self.reactor()?.clone())?))
    }

    #[cfg(unix)]
    fn wrap_unix(&self, stream: UnixStream) -> io::Result<Box<dyn AsyncSocket>> {
        let stream = mio::net::UnixStream::from_std(stream);
        Ok(Box::new(Source::new(stream, self.reactor()?.clone())?))
    }
}

/// A timer of the I/O thread; pollable from any thread.
#[derive(Debug)]
struct Timer {
    rt: IoThread,
    id: Option<u64>,
    at: Option<Instant>,
}

impl AsyncTimer for Timer {
    fn reset(mut self: Pin<&mut Self>, at: Instant) {
        self.at = Some(at);
    }

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(at) = self.at else {
            return Poll::Pending;
        };
        if Instant::now() >= at {
            return Poll::Ready(());
        }
        let Ok(reactor) = self.rt.reactor().cloned() else {
            return Poll::Pending;
        };
        let id = *self
            .id
            .get_or_insert_with(|| reactor.next_timer.fetch_add(1, Ordering::Relaxed));
        let earlier = {
            let mut timers = reactor
                .timers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let earliest = timers.values().map(|(t, _)| *t).min();
            timers.insert(id, (at, cx.waker().clone()));
            earliest.is_none_or(|e| at < e)
        };
        // The I/O thread computes its wait after polling; another thread must interrupt it
        // (unconditionally: it may be about to wait with the old deadline), or unpark it
        // when it is aside (it reads the timers again after setting `aside`).
        let own = reactor.thread.get().map(Thread::id) == Some(std::thread::current().id());
        if earlier && !own {
            if reactor.aside.load(Ordering::SeqCst) {
                reactor.unpark();
            } else {
                let _ = reactor.waker.wake();
            }
        }
        Poll::Pending
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let (Some(id), Ok(reactor)) = (self.id, self.rt.reactor()) {
            reactor
                .timers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
        }
    }
}

/// A non-blocking stream registered with the reactor; deregistered on drop.
#[derive(Debug)]
struct Source<T: MioSource> {
    stream: T,
    reactor: Arc<Reactor>,
    key: usize,
    ready: Arc<Readiness>,
}

impl<T: MioSource> Source<T> {
    fn new(mut stream: T, reactor: Arc<Reactor>) -> io::Result<Self> {
        let key = reactor.next_key.fetch_add(1, Ordering::Relaxed);
        let ready = Arc::new(Readiness::default());
        reactor
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, ready.clone());
        // Both directions, once: edge-triggered, so an idle interest costs nothing.
        let added = reactor.registry.register(
            &mut stream,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        );
        if let Err(e) = added {
            reactor
                .sources
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&key);
            return Err(e);
        }
        Ok(Source {
            stream,
            reactor,
            key,
            ready,
        })
    }
}

impl<T: MioSource> Drop for Source<T> {
    fn drop(&mut self) {
        // Errors only mean it was not registered any more; the stream closes right after.
        let _ = self.reactor.registry.deregister(&mut self.stream);
        self.reactor
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

impl<T> AsyncSocket for Source<T>
where
    T: MioSource + TakeError + std::fmt::Debug + Send + Read + Write,
{
    fn poll_readable(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let ready = &self.ready;
        if ready.edges.load(Ordering::Acquire) != ready.drained.load(Ordering::Acquire)
            || ready.closed.load(Ordering::Acquire)
        {
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }

    fn poll_writable(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Consumed here (on the I/O thread), not on `WouldBlock`: a caller's thread may
        // write too, and must not clear an edge the I/O thread has just recorded. A stale
        // flag costs one more `WouldBlock`, after which the next edge sets it again.
        if self.ready.writable.swap(false, Ordering::AcqRel) {
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }

    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Reads of one socket are serialised (under the ring's lock); waits are not.
        let seen = self.ready.edges.load(Ordering::Acquire);
        let r = self.stream.read(buf);
        // Drained (a short read or nothing): not readable until an edge newer than `seen`.
        if matches!(&r, Ok(n) if *n < buf.len())
            || matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
        {
            self.ready.drained.store(seen, Ordering::Release);
        }
        r
    }

    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn try_write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.stream.write_vectored(bufs)
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.stream.take_error()
    }
}
