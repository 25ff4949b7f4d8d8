//! The driver task: the one task that owns the sockets and the timer and moves bytes and
//! time between them and the core.
//!
//! It is a single future polled by the executor (spawned on smol's global executor). Each
//! poll, under the shared lock, it:
//!
//! 1. applies the socket work the core queued ([`IoQueue`](crate::shared::IoQueue)), in
//!    order: closes, new connects (each a small boxed future), connections with bytes to
//!    send;
//! 2. polls connecting sockets and reports `Connected` / `Closed`;
//! 3. reads every socket the reactor reported readable (one `read` per readiness event,
//!    repeated only while the buffer comes back full) and feeds `Received`;
//! 4. writes each marked connection's whole send buffer in one `write` — every command
//!    queued since the last write, from however many callers (automatic pipelining) — and
//!    feeds `Sent`; a full socket waits for writability without holding anything else up;
//! 5. feeds `Timeout` when the core's deadline has passed;
//!
//! repeating until nothing changes, then arms its one [`Timer`] for the core's next
//! deadline — re-armed only when that deadline moves — and leaves its waker for the callers.
//! A caller that queues work takes that waker and wakes it; so does the reactor for a
//! readable or writable socket, and the timer.
//!
//! Bounded work per poll: after [`MAX_ROUNDS`] rounds it yields (waking itself), so a
//! flood of replies cannot starve the executor.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use async_io::Timer;
use redis_ring_core::error::NetError;
use redis_ring_core::ring::{ConnId, Input};
use redis_ring_core::time::Instant;
use smol::channel::Sender;

use crate::net::{net_error, Stream};
use crate::shared::{IoOp, Shared, State};

/// Rounds of work per poll before the task yields to others.
const MAX_ROUNDS: usize = 64;
/// Bytes read per `read` call.
const READ_BUF: usize = 64 * 1024;
/// Reads of one socket per poll (512 KiB): bounded work, and a bounded time holding the
/// lock, whatever a peer sends. A socket with more to read makes the task yield and come
/// back at once (replies already decoded reach their callers meanwhile).
const MAX_READS_PER_POLL: usize = 8;

static DRIVER_TASKS: AtomicUsize = AtomicUsize::new(0);

/// How many ring driver tasks are alive in this process: one per ring that is neither
/// closed nor dropped (and finished shutting down). For leak checks and diagnostics.
pub fn driver_tasks() -> usize {
    DRIVER_TASKS.load(Ordering::SeqCst)
}

/// Counts a live driver task for [`driver_tasks`]; also holds the sender whose drop tells
/// `Ring::close` that the task is gone.
#[derive(Debug)]
pub(crate) struct Alive {
    _done: Sender<()>,
}

impl Alive {
    pub(crate) fn new(done: Sender<()>) -> Alive {
        DRIVER_TASKS.fetch_add(1, Ordering::SeqCst);
        Alive { _done: done }
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        DRIVER_TASKS.fetch_sub(1, Ordering::SeqCst);
    }
}

type Connecting = Pin<Box<dyn Future<Output = io::Result<Stream>> + Send>>;

/// One socket slot, indexed by [`ConnId::index`].
enum Sock {
    Connecting { id: ConnId, fut: Connecting },
    Open(Open),
}

struct Open {
    id: ConnId,
    stream: Stream,
    /// The core has bytes for this connection.
    dirty: bool,
    /// The last write would have blocked: wait for writability.
    write_blocked: bool,
    /// Reads made in the current poll (see [`MAX_READS_PER_POLL`]).
    reads: usize,
}

impl Sock {
    fn id(&self) -> ConnId {
        match self {
            Sock::Connecting { id, .. } => *id,
            Sock::Open(o) => o.id,
        }
    }
}

/// The driver task's own state (everything but what it shares).
pub(crate) struct Driver {
    shared: Arc<Shared>,
    socks: Vec<Option<Sock>>,
    timer: Timer,
    /// The core deadline `timer` is armed for (`Instant::MAX`: not armed).
    timer_at: Instant,
    buf: Box<[u8]>,
    /// The socket work being applied (swapped with the shared queue).
    ops: Vec<IoOp>,
    /// A socket stopped reading at its budget in this poll: yield, then poll again.
    more_to_read: bool,
    _alive: Alive,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("sockets", &self.socks.iter().flatten().count())
            .field("timer_at", &self.timer_at)
            .finish_non_exhaustive()
    }
}

impl Driver {
    pub(crate) fn new(shared: Arc<Shared>, alive: Alive) -> Driver {
        Driver {
            shared,
            socks: Vec::new(),
            timer: Timer::never(),
            timer_at: Instant::MAX,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            ops: Vec::new(),
            more_to_read: false,
            _alive: alive,
        }
    }

    /// Runs until the ring is closed or every handle is dropped.
    pub(crate) async fn run(mut self) {
        std::future::poll_fn(|cx| self.poll(cx)).await;
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        st.io_stats.wakeups += 1;
        if st.closing {
            self.shutdown(&mut st);
            Shared::unlock_and_wake(st);
            return Poll::Ready(());
        }
        self.more_to_read = false;
        for sock in self.socks.iter_mut().flatten() {
            if let Sock::Open(o) = sock {
                o.reads = 0;
            }
        }
        let mut rounds = 0;
        loop {
            let mut progress = self.apply_queue(&mut st);
            let now = shared.now();
            for i in 0..self.socks.len() {
                progress |= self.poll_sock(i, cx, &mut st, now);
            }
            if st.deadline <= now {
                st.core.handle_input(Input::Timeout(now));
                st.drain();
                progress = true;
            }
            if !progress && st.io.is_empty() && self.more_to_read {
                // A flooding socket used its budget: let the callers woken by this poll
                // (and other tasks) run, then read on.
                st.driver = None;
                Shared::unlock_and_wake(st);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if !progress && st.io.is_empty() {
                // Arm the timer for the core's next deadline, only if it moved.
                let at = st.deadline;
                if at != self.timer_at {
                    match shared.std_instant(at) {
                        Some(t) => self.timer.set_at(t),
                        None => self.timer = Timer::never(),
                    }
                    self.timer_at = at;
                }
                if Pin::new(&mut self.timer).poll(cx).is_pending() {
                    st.armed = at;
                    st.driver = Some(cx.waker().clone());
                    Shared::unlock_and_wake(st);
                    return Poll::Pending;
                }
                // It fired in between: the deadline is due, go round again.
                self.timer_at = Instant::MAX;
            }
            rounds += 1;
            if rounds == MAX_ROUNDS {
                // Plenty done: let other tasks run, then continue.
                st.driver = None;
                Shared::unlock_and_wake(st);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
    }

    /// Applies the socket work the core queued; returns whether there was any.
    fn apply_queue(&mut self, st: &mut State) -> bool {
        if st.io.is_empty() {
            return false;
        }
        // Swapped with a buffer of our own, so both keep their capacity.
        std::mem::swap(&mut self.ops, &mut st.io.ops);
        let mut ops = std::mem::take(&mut self.ops);
        for op in ops.drain(..) {
            match op {
                IoOp::Close(id) => {
                    if self.slot(id).is_some() {
                        self.socks[id.index()] = None;
                    }
                }
                IoOp::Connect(id, addr) => {
                    let fut: Connecting = Box::pin(async move { Stream::connect(&addr).await });
                    let i = id.index();
                    if self.socks.len() <= i {
                        self.socks.resize_with(i + 1, || None);
                    }
                    self.socks[i] = Some(Sock::Connecting { id, fut });
                }
                IoOp::Transmit(id) => {
                    if let Some(Sock::Open(o)) = self.slot(id) {
                        o.dirty = true;
                    }
                }
            }
        }
        self.ops = ops;
        true
    }

    /// The socket of `id`, if that very connection (not an earlier one at its index) is
    /// still here.
    fn slot(&mut self, id: ConnId) -> Option<&mut Sock> {
        self.socks
            .get_mut(id.index())?
            .as_mut()
            .filter(|s| s.id() == id)
    }

    /// Moves socket `i` forward; returns whether anything happened.
    fn poll_sock(&mut self, i: usize, cx: &mut Context<'_>, st: &mut State, now: Instant) -> bool {
        let Some(sock) = self.socks[i].as_mut() else {
            return false;
        };
        match sock {
            Sock::Connecting { id, fut } => {
                let id = *id;
                match fut.as_mut().poll(cx) {
                    Poll::Pending => false,
                    Poll::Ready(Ok(stream)) => {
                        self.socks[i] = Some(Sock::Open(Open {
                            id,
                            stream,
                            dirty: false,
                            write_blocked: false,
                            reads: 0,
                        }));
                        // The core queues the handshake and says `Transmit`.
                        st.core.handle_input(Input::Connected { conn: id, now });
                        st.drain();
                        true
                    }
                    Poll::Ready(Err(e)) => {
                        self.socks[i] = None;
                        closed(st, id, net_error(&e), now);
                        true
                    }
                }
            }
            Sock::Open(o) => {
                let id = o.id;
                let mut progress = false;
                // Reads: one per readiness event, more only while the buffer fills up, and
                // at most MAX_READS_PER_POLL: a peer that floods without end must not keep
                // the task here, away from timers, closes, the other sockets and the
                // callers waiting for the lock.
                'reading: loop {
                    match o.stream.poll_readable(cx) {
                        Poll::Pending => break,
                        Poll::Ready(Err(e)) => return self.fail(i, st, id, &e, now),
                        Poll::Ready(Ok(())) => {}
                    }
                    loop {
                        if o.reads == MAX_READS_PER_POLL {
                            self.more_to_read = true;
                            break 'reading;
                        }
                        o.reads += 1;
                        match o.stream.read(&mut self.buf) {
                            Ok(0) => {
                                self.socks[i] = None;
                                closed(st, id, NetError::Eof, now);
                                return true;
                            }
                            Ok(n) => {
                                st.io_stats.reads += 1;
                                st.io_stats.bytes_read += n as u64;
                                st.core.handle_input(Input::Received {
                                    conn: id,
                                    data: &self.buf[..n],
                                    now,
                                });
                                st.drain();
                                progress = true;
                                if n < self.buf.len() {
                                    break;
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return self.fail(i, st, id, &e, now),
                        }
                    }
                }
                // The core may have closed it while reading (protocol error): the queue
                // says so, and the next round drops it before any write.
                if o.write_blocked {
                    match o.stream.poll_writable(cx) {
                        Poll::Pending => return progress,
                        Poll::Ready(Err(e)) => return self.fail(i, st, id, &e, now),
                        Poll::Ready(Ok(())) => o.write_blocked = false,
                    }
                }
                if o.dirty {
                    let buf = st.core.send_buf(id);
                    if buf.is_empty() {
                        o.dirty = false;
                        return progress;
                    }
                    match o.stream.write(buf) {
                        Ok(n) => {
                            st.io_stats.writes += 1;
                            st.io_stats.bytes_written += n as u64;
                            o.dirty = false;
                            st.core.handle_input(Input::Sent { conn: id, n, now });
                            st.drain();
                            progress = true;
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            o.write_blocked = true;
                            // Register for writability now (the next round polls it).
                            progress = true;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => progress = true,
                        Err(e) => return self.fail(i, st, id, &e, now),
                    }
                }
                progress
            }
        }
    }

    fn fail(&mut self, i: usize, st: &mut State, id: ConnId, e: &io::Error, now: Instant) -> bool {
        self.socks[i] = None;
        closed(st, id, net_error(e), now);
        true
    }

    /// Closes everything: pending requests fail with `Error::Closed`, sockets close, event
    /// streams end.
    fn shutdown(&mut self, st: &mut State) {
        let now = self.shared.now();
        st.core.close(now);
        st.drain();
        st.io = Default::default();
        st.subscribers.clear();
        // Subscriptions end: their channels close, `next_message` returns `None`.
        st.subs.clear();
        st.driver = None;
        self.socks.clear();
        self.timer = Timer::never();
    }
}

/// Reports a lost connection to the core.
fn closed(st: &mut State, id: ConnId, error: NetError, now: Instant) {
    st.core.handle_input(Input::Closed {
        conn: id,
        error,
        now,
    });
    st.drain();
}
