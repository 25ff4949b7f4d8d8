//! [`IoThread`]: the blocking driver's runtime — one thread per ring that runs the ring's
//! driver task and waits on a [`Poller`] (epoll/kqueue/IOCP) for socket readiness, its
//! timers and wake-ups. It is all the "async runtime" the shared driver layer needs: the
//! driver task is the only future it runs, so readiness is a pair of flags per socket that
//! the wait sets and the driver reads.
//!
//! Sockets stay registered (level-triggered where the OS allows) for reading from the moment
//! they are wrapped; writability is asked for only while a write is blocked or a connect is
//! in progress. Timers may be polled from any thread (a blocking caller's `subscribe` waits
//! on one): the nearest deadline bounds the wait, and a timer armed from another thread
//! interrupts it.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use polling::{AsSource, Event, Events, PollMode, Poller};
use redis_ring_driver::{AsyncSocket, AsyncTimer, BoxFuture, Runtime};

/// The blocking driver's runtime: the ring's driver task on a thread of its own
/// (`redis-ring-io`), readiness from [`polling`]. One per ring (`Default` makes a new one).
#[derive(Clone, Debug, Default)]
pub struct IoThread {
    reactor: Arc<OnceLock<Arc<Reactor>>>,
}

/// What the thread, its sockets and its timers share.
#[derive(Debug)]
struct Reactor {
    poller: Poller,
    mode: PollMode,
    /// Readiness flags by poller key (keys are never reused).
    sources: Mutex<HashMap<usize, Arc<Readiness>>>,
    next_key: AtomicUsize,
    /// Armed timers by id: deadline and the waker to wake then.
    timers: Mutex<HashMap<u64, (Instant, Waker)>>,
    next_timer: AtomicU64,
    /// The thread is in (or about to enter) `Poller::wait`.
    sleeping: AtomicBool,
    /// The driver task was woken since its last poll.
    woken: AtomicBool,
    thread: OnceLock<ThreadId>,
}

/// One socket's readiness, as the last wait saw it.
#[derive(Debug, Default)]
struct Readiness {
    readable: AtomicBool,
    writable: AtomicBool,
}

impl Reactor {
    /// Interrupts the wait (if the thread is in it or about to be).
    fn notify(&self) {
        if self.sleeping.load(Ordering::SeqCst) {
            let _ = self.poller.notify();
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
    fn reactor(&self) -> io::Result<&Arc<Reactor>> {
        self.reactor
            .get()
            .ok_or_else(|| io::Error::other("the ring's I/O thread is not running"))
    }
}

/// Runs `driver` until it completes: poll it, wait for readiness, timers or a wake-up.
fn run(reactor: &Arc<Reactor>, mut driver: BoxFuture) {
    let waker = Waker::from(Arc::new(DriverWaker(reactor.clone())));
    let mut cx = Context::from_waker(&waker);
    let mut events = Events::new();
    loop {
        reactor.woken.store(false, Ordering::SeqCst);
        if driver.as_mut().poll(&mut cx).is_ready() {
            return;
        }
        let next = reactor.fire_timers();
        reactor.sleeping.store(true, Ordering::SeqCst);
        events.clear();
        // Woken meanwhile: only look (other sockets' readiness must not starve behind a
        // driver that keeps waking itself, e.g. a socket flooding past its read budget).
        let timeout = if reactor.woken.load(Ordering::SeqCst) {
            Some(Duration::ZERO)
        } else {
            next.map(|at| at.saturating_duration_since(Instant::now()))
        };
        // Errors are EINTR-like (polling retries those itself): just go round.
        let _ = reactor.poller.wait(&mut events, timeout);
        reactor.sleeping.store(false, Ordering::SeqCst);
        let sources = reactor
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for ev in events.iter() {
            if let Some(r) = sources.get(&ev.key) {
                if ev.readable {
                    r.readable.store(true, Ordering::Release);
                }
                if ev.writable {
                    r.writable.store(true, Ordering::Release);
                }
            }
        }
        drop(sources);
        reactor.fire_timers();
    }
}

impl Runtime for IoThread {
    fn spawn(&self, driver: BoxFuture) -> io::Result<()> {
        let poller = Poller::new()?;
        let mode = if poller.supports_level() {
            PollMode::Level
        } else {
            PollMode::Oneshot
        };
        let reactor = Arc::new(Reactor {
            poller,
            mode,
            sources: Mutex::default(),
            next_key: AtomicUsize::new(0),
            timers: Mutex::default(),
            next_timer: AtomicU64::new(0),
            sleeping: AtomicBool::new(false),
            woken: AtomicBool::new(false),
            thread: OnceLock::new(),
        });
        self.reactor
            .set(reactor.clone())
            .map_err(|_| io::Error::other("one IoThread runs one ring"))?;
        let handle = std::thread::Builder::new()
            .name("redis-ring-io".into())
            .spawn(move || run(&reactor, driver))?;
        if let Ok(r) = self.reactor() {
            let _ = r.thread.set(handle.thread().id());
        }
        Ok(())
    }

    fn new_timer(&self) -> Pin<Box<dyn AsyncTimer>> {
        Box::pin(Timer {
            rt: self.clone(),
            id: None,
            at: None,
        })
    }

    fn wrap_tcp(&self, stream: TcpStream) -> io::Result<Box<dyn AsyncSocket>> {
        Ok(Box::new(Source::new(stream, self.reactor()?.clone())?))
    }

    #[cfg(unix)]
    fn wrap_unix(&self, stream: UnixStream) -> io::Result<Box<dyn AsyncSocket>> {
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
        // (unconditionally: it may be about to wait with the old deadline).
        if earlier && reactor.thread.get() != Some(&std::thread::current().id()) {
            let _ = reactor.poller.notify();
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

/// A non-blocking stream registered with the poller; deregistered on drop.
#[derive(Debug)]
struct Source<T: AsSource> {
    stream: T,
    reactor: Arc<Reactor>,
    key: usize,
    ready: Arc<Readiness>,
    /// Writability is part of the registered interest.
    want_write: bool,
}

impl<T: AsSource> Source<T> {
    fn new(stream: T, reactor: Arc<Reactor>) -> io::Result<Self> {
        let key = reactor.next_key.fetch_add(1, Ordering::Relaxed);
        let ready = Arc::new(Readiness::default());
        reactor
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, ready.clone());
        // SAFETY: `polling` requires a source to be deleted from the poller before it is
        // closed. The stream is owned by the returned `Source`, whose `Drop` deletes it
        // from this same poller first; if adding fails here it was never registered.
        #[allow(unsafe_code)]
        let added = unsafe {
            reactor
                .poller
                .add_with_mode(&stream.source(), Event::readable(key), reactor.mode)
        };
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
            want_write: false,
        })
    }

    /// Registers the interest again (changed, or after an event in oneshot mode).
    fn interest(&mut self, write: bool) -> io::Result<()> {
        if self.reactor.mode == PollMode::Level && write == self.want_write {
            return Ok(());
        }
        self.want_write = write;
        let ev = Event::new(self.key, true, write);
        self.reactor
            .poller
            .modify_with_mode(&self.stream, ev, self.reactor.mode)
    }
}

impl<T: AsSource> Drop for Source<T> {
    fn drop(&mut self) {
        // Errors only mean it was not registered any more; the stream closes right after.
        let _ = self.reactor.poller.delete(&self.stream);
        self.reactor
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// `SO_ERROR` of both stream types.
trait TakeError {
    fn take_error(&self) -> io::Result<Option<io::Error>>;
}

impl TakeError for TcpStream {
    fn take_error(&self) -> io::Result<Option<io::Error>> {
        TcpStream::take_error(self)
    }
}

#[cfg(unix)]
impl TakeError for UnixStream {
    fn take_error(&self) -> io::Result<Option<io::Error>> {
        UnixStream::take_error(self)
    }
}

impl<T> AsyncSocket for Source<T>
where
    T: AsSource + TakeError + std::fmt::Debug + Send + Read + Write,
{
    fn poll_readable(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.ready.readable.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        if self.reactor.mode == PollMode::Oneshot {
            self.interest(self.want_write)?;
        }
        Poll::Pending
    }

    fn poll_writable(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.ready.writable.swap(false, Ordering::AcqRel) {
            // Interest in writability only while waiting for it (level-triggered, it would
            // otherwise report every turn).
            self.interest(false)?;
            return Poll::Ready(Ok(()));
        }
        self.interest(true)?;
        Poll::Pending
    }

    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.stream.read(buf);
        // Drained (a short read or nothing): the next wait reports it again if more comes.
        if matches!(&r, Ok(n) if *n < buf.len())
            || matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
        {
            self.ready.readable.store(false, Ordering::Release);
        }
        r
    }

    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.stream.take_error()
    }
}
