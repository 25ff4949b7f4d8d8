//! The driver task: moves bytes and time between the connections and the core, for every
//! runtime (it only uses [`Runtime`]). One future per ring, spawned by
//! [`Runtime::spawn`]. Each poll, under the shared lock, it:
//!
//! 1. starts the connects the core asked for (each a small boxed future);
//! 2. polls connecting sockets and reports `Connected` / `Closed`;
//! 3. reads every readable connection until `WouldBlock` (or a short read), within a
//!    per-turn budget, feeding `Received`;
//! 4. writes each marked connection's whole send buffer in one `write` — every command
//!    queued since the last write, from however many callers (automatic pipelining) — and
//!    feeds `Sent`; a full socket waits for writability without holding anything else up;
//! 5. feeds `Timeout` when the core's deadline has passed;
//!
//! repeating until nothing changes, then arms its one timer for the core's next deadline —
//! re-armed only when that deadline moves — and leaves its waker for the callers. Socket
//! interest stays registered between turns (the runtime's readiness is only asked again
//! after a read or write would block).
//!
//! Bounded work per poll: after [`MAX_ROUNDS`] rounds, or when a socket used its read
//! budget, it yields (waking itself), so a flood of replies cannot starve the executor.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use redis_ring_core::error::NetError;
use redis_ring_core::ring::Input;
use redis_ring_core::time::Instant;

use crate::net::{connect, net_error, Resolver};
use crate::runtime::{AsyncTimer, Runtime};
use crate::state::{Open, Shared, Sock, State, DEFER_BOUND};
use crate::tls::TlsConfigs;

/// Rounds of work per poll before the task yields to others.
const MAX_ROUNDS: usize = 64;
/// Bytes read per `read` call.
const READ_BUF: usize = 64 * 1024;
/// Reads of one socket per turn (512 KiB): bounded work, and a bounded time holding the
/// lock, whatever a peer sends (an endless push flood must not starve the rest).
const MAX_READS_PER_TURN: usize = 8;

static DRIVER_TASKS: AtomicUsize = AtomicUsize::new(0);

/// How many ring driver tasks are alive in this process: one per ring that is neither
/// closed nor dropped (and finished shutting down). For leak checks and diagnostics.
pub fn driver_tasks() -> usize {
    DRIVER_TASKS.load(Ordering::SeqCst)
}

/// Counts a live driver task for [`driver_tasks`]; also holds the sender whose drop tells
/// `close` that the task is gone.
#[derive(Debug)]
pub(crate) struct Alive {
    _done: async_channel::Sender<()>,
}

impl Alive {
    pub(crate) fn new(done: async_channel::Sender<()>) -> Alive {
        DRIVER_TASKS.fetch_add(1, Ordering::SeqCst);
        Alive { _done: done }
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        DRIVER_TASKS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The driver task's own state (everything but what it shares).
pub(crate) struct Pump<R: Runtime> {
    shared: Arc<Shared>,
    rt: R,
    timer: Pin<Box<dyn AsyncTimer>>,
    /// The core deadline `timer` is armed for (`Instant::MAX`: not armed).
    timer_at: Instant,
    buf: Box<[u8]>,
    /// A socket stopped reading at its budget in this turn: yield, then poll again.
    more_to_read: bool,
    /// TLS client configurations, built once per set of options.
    tls: TlsConfigs,
    /// How host names are resolved.
    resolver: Resolver,
    /// [`Runtime::yield_to_callers`].
    yield_first: bool,
    /// The last poll only yielded (see [`Pump::poll`]): this one works, whatever it finds.
    yielded: bool,
    _alive: Alive,
}

impl<R: Runtime> Drop for Pump<R> {
    /// Also on a panic (a hook the core ran on the driver task): no caller is left waiting.
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.abandon();
        Shared::unlock_and_wake(st);
    }
}

impl<R: Runtime> std::fmt::Debug for Pump<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pump")
            .field("timer_at", &self.timer_at)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> Pump<R> {
    pub(crate) fn new(shared: Arc<Shared>, rt: R, resolver: Resolver, alive: Alive) -> Pump<R> {
        Pump {
            shared,
            timer: rt.new_timer(),
            yield_first: rt.yield_to_callers(),
            rt,
            timer_at: Instant::MAX,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            more_to_read: false,
            tls: TlsConfigs::default(),
            resolver,
            yielded: false,
            _alive: alive,
        }
    }

    /// Runs until the ring is closed or every handle is dropped.
    pub(crate) async fn run(mut self) {
        std::future::poll_fn(|cx| self.poll(cx)).await;
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let shared = self.shared.clone();
        let mut st = shared.lock_yielding();
        // Several callers have requests in flight: on a runtime that asks for it, let the
        // runnable ones queue their next commands first, so that one write per shard takes
        // them all. Once per wake-up. With one caller's requests in flight (`solo`: a lone
        // pipeline, say), nobody else is about to queue: it works at once
        // ([`Runtime::yield_to_callers`]).
        if self.yield_first && !self.yielded && !st.solo {
            self.yielded = true;
            Shared::unlock_and_wake(st);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.yielded = false;
        st.io_stats.wakeups += 1;
        if st.abandoned {
            // A hook panicked on a driving caller's thread (`blocking`'s `drive`).
            return Poll::Ready(());
        }
        if st.closing {
            st.shutdown(shared.now());
            Shared::unlock_and_wake(st);
            return Poll::Ready(());
        }
        self.more_to_read = false;
        st.in_turn = true;
        for sock in st.socks.iter_mut().flatten() {
            if let Sock::Open(o) = sock {
                o.reads = 0;
            }
        }
        let mut rounds = 0;
        loop {
            let mut progress = self.start_connects(&mut st);
            let now = shared.now();
            for i in 0..st.socks.len() {
                progress |= self.poll_sock(i, cx, &mut st, now);
            }
            if st.deadline <= now {
                st.core.handle_input(Input::Timeout(now));
                st.drain();
                progress = true;
            }
            let idle = !progress && st.connects.is_empty();
            if idle && !self.more_to_read {
                // Arm the timer for the core's next deadline, only if it moved; sooner when
                // this turn's wake-ups are left to the first caller woken (bounded wait).
                let at = if st.will_defer() {
                    st.deadline.min(now + DEFER_BOUND)
                } else {
                    st.deadline
                };
                if at != self.timer_at {
                    if let Some(t) = shared.std_instant(at) {
                        self.timer.as_mut().reset(t);
                    }
                    self.timer_at = at;
                }
                if at == Instant::MAX || self.timer.as_mut().poll(cx).is_pending() {
                    st.backlog = false;
                    st.armed = at;
                    st.driver = Some(cx.waker().clone());
                    #[cfg(feature = "metrics")]
                    st.update_gauges();
                    st.in_turn = false;
                    Shared::unlock_and_wake_one(st);
                    return Poll::Pending;
                }
                // It fired in between: the deadline is due, go round again.
                self.timer_at = Instant::MAX;
            }
            rounds += 1;
            if (idle && self.more_to_read) || rounds == MAX_ROUNDS {
                // A flooding socket used its budget, or plenty was done: let the callers
                // woken by this poll (and other tasks) run, then continue.
                st.driver = None;
                st.backlog = self.more_to_read;
                #[cfg(feature = "metrics")]
                st.update_gauges();
                st.in_turn = false;
                Shared::unlock_and_wake(st);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
    }

    /// Starts the connects the core asked for; returns whether there were any.
    fn start_connects(&mut self, st: &mut State) -> bool {
        if st.connects.is_empty() {
            return false;
        }
        let within = st.core.config().connect_timeout;
        for (id, endpoint, tls, replica) in std::mem::take(&mut st.connects) {
            let tls = tls.map(|opts| self.tls.setup(&opts));
            let fut = Box::pin(connect(
                self.rt.clone(),
                endpoint,
                tls,
                replica,
                self.resolver.clone(),
                within,
            ));
            let i = id.index();
            if st.socks.len() <= i {
                st.socks.resize_with(i + 1, || None);
            }
            st.socks[i] = Some(Sock::Connecting { id, fut });
        }
        true
    }

    /// Moves socket `i` forward; returns whether anything happened.
    fn poll_sock(&mut self, i: usize, cx: &mut Context<'_>, st: &mut State, now: Instant) -> bool {
        let Some(mut sock) = st.socks[i].take() else {
            return false;
        };
        let id = sock.id();
        let (progress, keep) = match &mut sock {
            Sock::Connecting { fut, .. } => match fut.as_mut().poll(cx) {
                Poll::Pending => (false, true),
                Poll::Ready(Ok(io)) => {
                    sock = Sock::Open(Open {
                        id,
                        io,
                        // Anything queued while connecting goes out now.
                        dirty: true,
                        write_blocked: false,
                        reads: 0,
                    });
                    // The core queues the handshake and says `Transmit`.
                    st.core.handle_input(Input::Connected { conn: id, now });
                    (true, true)
                }
                Poll::Ready(Err(error)) => {
                    st.core.handle_input(Input::Closed {
                        conn: id,
                        error,
                        now,
                    });
                    (true, false)
                }
            },
            Sock::Open(o) => match self.pump_open(o, cx, st, now) {
                Ok(progress) => (progress, true),
                Err(error) => {
                    st.core.handle_input(Input::Closed {
                        conn: id,
                        error,
                        now,
                    });
                    (true, false)
                }
            },
        };
        put_back(st, i, sock, keep, progress);
        progress
    }

    /// Reads, then writes, one open connection; `Err` when it broke.
    fn pump_open(
        &mut self,
        o: &mut Open,
        cx: &mut Context<'_>,
        st: &mut State,
        now: Instant,
    ) -> Result<bool, NetError> {
        let id = o.id;
        let mut progress = read_open(o, cx, st, &mut self.buf, now)?;
        if o.reads >= MAX_READS_PER_TURN {
            self.more_to_read = true;
        }
        if o.write_blocked {
            match o.io.poll_writable(cx) {
                Poll::Pending => return Ok(progress),
                Poll::Ready(Err(e)) => return Err(net_error(&e)),
                Poll::Ready(Ok(())) => o.write_blocked = false,
            }
        }
        if o.io.wants_flush() {
            // TLS output taken by an earlier write (or a TLS message of its own) goes first.
            match o.io.flush() {
                Ok(()) => progress = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    o.write_blocked = true;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(true),
                Err(e) => return Err(net_error(&e)),
            }
        }
        if o.dirty {
            if st.core.send_len(id) == 0 {
                o.dirty = false;
                return Ok(progress);
            }
            match o.io.write_slices(st.core.send_slices(id)) {
                Ok(n) => {
                    st.io_stats.writes += 1;
                    st.io_stats.bytes_written += n as u64;
                    o.dirty = false;
                    st.core.handle_input(Input::Sent { conn: id, n, now });
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    o.write_blocked = true;
                    // The next round asks for writability (registering interest).
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => progress = true,
                Err(e) => return Err(net_error(&e)),
            }
        }
        Ok(progress)
    }
}

/// Puts socket `i`'s `sock` back in its slot after a turn worked on it (unless it broke, or
/// the core closed it meanwhile), then drains the core if anything happened.
fn put_back(st: &mut State, i: usize, mut sock: Sock, keep: bool, progress: bool) {
    let id = sock.id();
    if keep && !st.closed_taken.contains(&id) && st.socks[i].is_none() {
        if let Sock::Open(o) = &mut sock {
            // A `Transmit` drained while the socket was out of its slot is not lost.
            o.dirty |= st.core.send_len(id) > 0;
        }
        st.socks[i] = Some(sock);
    }
    st.closed_taken.clear();
    if progress {
        st.drain();
    }
}

/// Reads one open connection until `WouldBlock` or a short read, at most
/// [`MAX_READS_PER_TURN`] reads per turn, feeding what came to the core; whether anything
/// came, `Err` when the connection broke.
fn read_open(
    o: &mut Open,
    cx: &mut Context<'_>,
    st: &mut State,
    buf: &mut [u8],
    now: Instant,
) -> Result<bool, NetError> {
    let id = o.id;
    let mut progress = false;
    'reading: while o.reads < MAX_READS_PER_TURN {
        match o.io.poll_readable(cx) {
            Poll::Pending => break,
            Poll::Ready(Err(e)) => return Err(net_error(&e)),
            Poll::Ready(Ok(())) => {}
        }
        while o.reads < MAX_READS_PER_TURN {
            o.reads += 1;
            match o.io.read(buf) {
                Ok(0) => return Err(NetError::Eof),
                Ok(n) => {
                    st.io_stats.reads += 1;
                    st.io_stats.bytes_read += n as u64;
                    st.core.handle_input(Input::Received {
                        conn: id,
                        data: &buf[..n],
                        now,
                    });
                    progress = true;
                    if n < buf.len() {
                        break 'reading;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue 'reading,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(net_error(&e)),
            }
        }
    }
    Ok(progress)
}

thread_local! {
    /// A driving caller's read buffer (one per thread, made on its first drive).
    static CALLER_BUF: std::cell::RefCell<Box<[u8]>> = std::cell::RefCell::new(Box::default());
}

/// The read half of a driver turn, for a blocking caller that waited on the reactor itself
/// (`blocking`'s `drive`): reads every open connection the reactor saw readable and feeds
/// what came, as the driver task would; then feeds `Timeout` if the core's deadline has
/// passed. What else a turn does (connects, writes, a socket over its read budget, TLS
/// output) is the driver task's, which is woken for it. Returns whether a socket stopped at
/// its read budget (a backlog, [`State::backlog`]): the caller stops driving then, and
/// leaves the rest to the driver task.
pub(crate) fn read_ready(shared: &Shared, st: &mut State) -> bool {
    if st.abandoned {
        return false;
    }
    let now = shared.now();
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut wake = false;
    let mut backlog = false;
    CALLER_BUF.with_borrow_mut(|buf| {
        if buf.is_empty() {
            *buf = vec![0; READ_BUF].into_boxed_slice();
        }
        for i in 0..st.socks.len() {
            let Some(mut sock) = st.socks[i].take() else {
                continue;
            };
            // Connecting, blocked on a write or with TLS output to flush: the driver task's.
            let Sock::Open(o) = &mut sock else {
                st.socks[i] = Some(sock);
                wake = true;
                continue;
            };
            if o.write_blocked || o.io.wants_flush() {
                st.socks[i] = Some(sock);
                wake = true;
                continue;
            }
            let id = o.id;
            o.reads = 0;
            match read_open(o, &mut cx, st, buf, now) {
                Ok(progress) => {
                    backlog |= o.reads >= MAX_READS_PER_TURN;
                    wake |= backlog || o.io.wants_flush();
                    put_back(st, i, sock, true, progress);
                    // Bytes the core queued while the socket was out of its slot are marked
                    // there without a `Transmit` wake-up: the driver task writes them.
                    wake |= matches!(&st.socks[i], Some(Sock::Open(o)) if o.dirty);
                }
                Err(error) => {
                    st.core.handle_input(Input::Closed {
                        conn: id,
                        error,
                        now,
                    });
                    put_back(st, i, sock, false, true);
                }
            }
        }
    });
    if st.deadline <= now {
        st.core.handle_input(Input::Timeout(now));
        st.drain();
    }
    st.backlog |= backlog;
    if wake {
        st.wake_driver();
    }
    backlog
}
