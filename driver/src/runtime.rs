//! [`Runtime`]: everything this layer needs from an async runtime (quinn's `Runtime`): start
//! the driver task, make timers, and wrap an already-created non-blocking socket so that
//! its readiness can be awaited. Nothing else is runtime-specific: connecting, resolving,
//! reading, writing, dispatching replies and every API call are written once, here.
//!
//! The readiness model is the intersection of the runtimes':
//!
//! | this trait | tokio | async-io (smol) | `polling` (the blocking driver) |
//! |---|---|---|---|
//! | [`AsyncSocket::poll_readable`] | `TcpStream::poll_read_ready` | `Async::poll_readable` | a flag set by the I/O thread's `Poller::wait` |
//! | [`AsyncSocket::try_read`] | `TcpStream::try_read` | `get_ref().read()` | `read` (clears the flag on `WouldBlock`) |
//! | [`AsyncSocket::try_write_vectored`] | `TcpStream::try_write_vectored` | `get_ref().write_vectored()` | `write_vectored` |
//! | [`AsyncTimer`] | `tokio::time::Sleep` | `async_io::Timer` | the I/O thread's wait timeout |
//!
//! A socket reported ready may still answer `WouldBlock` (a spurious or stale readiness):
//! the pump then asks for readiness again. An implementation must keep interest registered
//! across calls where it can (it is re-registered on every `poll_*` otherwise).

use std::fmt;
use std::future::Future;
use std::io;
use std::net::TcpStream;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// A boxed task future, as [`Runtime::spawn`] takes it.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An async runtime, as the driver layer sees it. Implementations are about 100 lines (see
/// `redis-ring-smol`); cloning must be cheap (a handle).
pub trait Runtime: Clone + fmt::Debug + Send + Sync + 'static {
    /// Starts `driver` (the ring's driver task) in the background; it returns when the ring
    /// is closed or its last handle dropped. Called once per ring, from
    /// `RingBuilder::build`.
    ///
    /// # Errors
    /// The task (or thread) could not be started.
    fn spawn(&self, driver: BoxFuture) -> io::Result<()>;

    /// A timer, not armed until [`AsyncTimer::reset`].
    fn new_timer(&self) -> Pin<Box<dyn AsyncTimer>>;

    /// Registers a non-blocking TCP stream (possibly still connecting: completion shows up
    /// as writability) with the runtime's reactor. Called from the driver task.
    ///
    /// # Errors
    /// The reactor refused the socket.
    fn wrap_tcp(&self, stream: TcpStream) -> io::Result<Box<dyn AsyncSocket>>;

    /// [`Runtime::wrap_tcp`] for a Unix-domain stream.
    ///
    /// # Errors
    /// The reactor refused the socket.
    #[cfg(unix)]
    fn wrap_unix(&self, stream: UnixStream) -> io::Result<Box<dyn AsyncSocket>>;

    /// Whether the driver task, woken while several callers have requests in flight, first
    /// lets the runnable tasks run — it wakes itself and returns, once — so that one write
    /// per shard takes every command they queue meanwhile. For schedulers that run a task
    /// woken from inside another task's poll next (tokio's LIFO slot): there the driver
    /// would otherwise send each caller's command in a write of its own. With one caller's
    /// requests in flight (the last submit found nothing else pending: a lone pipeline) it
    /// works at once: nobody is about to queue, and a self-wake is not free (tokio's counts
    /// as a yield and unparks another worker). `false` (the default): never.
    fn yield_to_callers(&self) -> bool {
        false
    }

    /// The reactor, when a blocking caller may wait on it itself instead of parking while
    /// the driver thread reads its replies ([`CallerPoll`]; the [`crate::IoThread`]'s,
    /// once spawned). `None` (the default): callers always park.
    fn caller_poll(&self) -> Option<Arc<dyn CallerPoll>> {
        None
    }
}

/// A reactor a blocking caller can wait on itself (see `drive`): while such a caller has a
/// round trip of its own in flight, the runtime's thread steps aside (stops waiting for
/// socket readiness) and the caller's thread waits, reads and dispatches — no hand-off, so
/// no park / unpark pair per round trip.
pub trait CallerPoll: fmt::Debug + Send + Sync {
    /// A caller starts (`true`) or stops (`false`) driving: while any does, the runtime's
    /// thread stays aside. Calls are paired.
    fn driving(&self, on: bool);

    /// Waits for readiness until `until` (or an [`CallerPoll::interrupt`]) and records
    /// what it saw, as the runtime's own wait would; `false` at once when the runtime's
    /// thread (or another caller) is waiting already: the caller parks instead.
    fn wait(&self, until: Option<Instant>) -> bool;

    /// Ends a [`CallerPoll::wait`] in progress (its caller was woken by another thread).
    fn interrupt(&self);

    /// A request is waiting that no caller drives: the runtime's thread must be watching
    /// (it is woken if it stepped aside).
    fn watch(&self);
}

/// A non-blocking stream socket registered with a runtime's reactor.
pub trait AsyncSocket: fmt::Debug + Send {
    /// Ready when the socket may be readable; otherwise registers `cx`'s waker.
    fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Ready when the socket may be writable (also: a connect finished, well or not);
    /// otherwise registers `cx`'s waker.
    fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// One non-blocking `read`; `WouldBlock` when nothing is there (which also tells the
    /// runtime that its readiness was stale).
    ///
    /// # Errors
    /// What the socket reported.
    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// One non-blocking `write`; `WouldBlock` when the socket buffer is full.
    ///
    /// # Errors
    /// What the socket reported.
    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize>;

    /// One non-blocking vectored write (`writev`) of `bufs`, in order; `WouldBlock` when
    /// the socket buffer is full. The driver uses it when a large command is queued (its
    /// bytes are written from the command's own buffer, beside the coalesced small ones).
    /// The default writes the first non-empty buffer with [`AsyncSocket::try_write`]:
    /// correct (the rest goes in later writes), only more syscalls.
    ///
    /// # Errors
    /// What the socket reported.
    fn try_write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        self.try_write(first)
    }

    /// The pending socket error (`SO_ERROR`): how a non-blocking connect failed.
    ///
    /// # Errors
    /// The query itself failed.
    fn take_error(&self) -> io::Result<Option<io::Error>>;
}

/// A socket handle's pending error (`SO_ERROR`): what a runtime's generic socket wrapper
/// needs beyond `Read`/`Write` to implement [`AsyncSocket::take_error`] for both of its
/// stream types (TCP and Unix) without a shim per runtime. Implemented for every socket
/// handle (`AsFd` on Unix, `AsSocket` on Windows): std's, mio's, async-io's inner streams.
pub trait TakeError {
    /// Takes the socket's pending error (`getsockopt(SO_ERROR)`, as std's
    /// `TcpStream::take_error`).
    ///
    /// # Errors
    /// The query itself failed.
    fn take_error(&self) -> io::Result<Option<io::Error>>;
}

#[cfg(unix)]
impl<T: std::os::fd::AsFd> TakeError for T {
    fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket2::SockRef::from(self).take_error()
    }
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsSocket> TakeError for T {
    fn take_error(&self) -> io::Result<Option<io::Error>> {
        socket2::SockRef::from(self).take_error()
    }
}

/// A re-armable timer (quinn's `AsyncTimer`).
pub trait AsyncTimer: fmt::Debug + Send {
    /// Arms the timer for `at` (replacing any earlier setting).
    fn reset(self: Pin<&mut Self>, at: Instant);

    /// Ready once `at` has passed; otherwise registers `cx`'s waker.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

#[cfg(test)]
mod tests {
    use super::TakeError;
    use socket2::{Domain, SockAddr, Socket, Type};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// A non-blocking connect to a closed loopback port: the refusal is the socket's pending
    /// error, taken once through the trait (then cleared), as std's inherent method does.
    #[test]
    fn take_error_reports_a_refused_connect_once() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap(); // the listener is dropped: the port is closed
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket.set_nonblocking(true).unwrap();
        let _ = socket.connect(&SockAddr::from(addr));
        let stream = TcpStream::from(socket);
        let start = Instant::now();
        let err = loop {
            if let Some(e) = TakeError::take_error(&stream).unwrap() {
                break e;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no error pending"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
        assert!(TakeError::take_error(&stream).unwrap().is_none());
    }
}
