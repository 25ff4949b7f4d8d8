//! Sockets: non-blocking connect, registration with the reactor's poller, and how socket
//! errors are reported to the core.
//!
//! This is the only module with `unsafe`: `polling` 3 makes registration unsafe because the
//! poller must forget a socket before the socket is closed (otherwise a reused descriptor
//! could receive the old registration). [`Registered`] owns the stream and deregisters it in
//! `Drop`, before the stream itself is dropped, so the rule holds by construction.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use polling::{Event, PollMode, Poller};
use redis_ring_core::error::NetError;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Maps an I/O error onto the core's [`NetError`] (the table on `NetError`'s docs).
pub(crate) fn net_error(e: &io::Error) -> NetError {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => NetError::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => NetError::Reset,
        K::UnexpectedEof => NetError::Eof,
        K::TimedOut => NetError::TimedOut,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => NetError::Unreachable,
        _ => NetError::Other,
    }
}

/// Whether a non-blocking `connect` reported "in progress" rather than a failure.
fn connect_in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    e.kind() == io::ErrorKind::WouldBlock
}

/// Starts a non-blocking TCP connect to `addr` (`TCP_NODELAY` set: the ring batches writes
/// itself, Nagle would only add latency). Returns the stream and whether it is already
/// connected (possible on loopback); otherwise completion shows up as writability.
pub(crate) fn start_connect(addr: SocketAddr) -> io::Result<(TcpStream, bool)> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    let connected = match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => true,
        Err(e) if connect_in_progress(&e) => false,
        Err(e) => return Err(e),
    };
    Ok((socket.into(), connected))
}

/// What a writability event on a connecting socket means.
#[derive(Debug)]
pub(crate) enum ConnectStatus {
    /// Established.
    Connected,
    /// Still in progress (a spurious wake-up).
    Pending,
    /// Failed.
    Failed(io::Error),
}

/// A non-blocking stream registered with a [`Poller`] under `key`, deregistered on drop.
#[derive(Debug)]
pub(crate) struct Registered {
    stream: TcpStream,
    poller: Arc<Poller>,
    key: usize,
    mode: PollMode,
    readable: bool,
    writable: bool,
}

impl Registered {
    /// Registers `stream` (already non-blocking) with the given interest. `mode` is
    /// [`PollMode::Level`] where the poller supports it, otherwise [`PollMode::Oneshot`]
    /// (then [`Registered::rearm`] must follow every event).
    pub(crate) fn new(
        stream: TcpStream,
        poller: Arc<Poller>,
        key: usize,
        mode: PollMode,
        readable: bool,
        writable: bool,
    ) -> io::Result<Registered> {
        // SAFETY: `polling` requires the source to be deleted from the poller before it is
        // dropped. The stream is owned by the returned `Registered`, whose `Drop` deletes it
        // from this same poller first; on failure here it was not added.
        #[allow(unsafe_code)]
        unsafe {
            poller.add_with_mode(&stream, Event::new(key, readable, writable), mode)?;
        }
        Ok(Registered {
            stream,
            poller,
            key,
            mode,
            readable,
            writable,
        })
    }

    /// Changes the interest (a syscall only when it changes, or in oneshot mode).
    pub(crate) fn set_interest(&mut self, readable: bool, writable: bool) -> io::Result<()> {
        if self.mode == PollMode::Level && (readable, writable) == (self.readable, self.writable) {
            return Ok(());
        }
        self.readable = readable;
        self.writable = writable;
        self.poller.modify_with_mode(
            &self.stream,
            Event::new(self.key, readable, writable),
            self.mode,
        )
    }

    /// After an event in oneshot mode, registers the same interest again (no-op in level
    /// mode).
    pub(crate) fn rearm(&mut self) -> io::Result<()> {
        if self.mode == PollMode::Oneshot {
            self.poller.modify_with_mode(
                &self.stream,
                Event::new(self.key, self.readable, self.writable),
                self.mode,
            )
        } else {
            Ok(())
        }
    }

    /// Checks a connecting socket after a wake-up.
    pub(crate) fn connect_status(&self) -> ConnectStatus {
        match self.stream.take_error() {
            Ok(Some(e)) | Err(e) => return ConnectStatus::Failed(e),
            Ok(None) => {}
        }
        match self.stream.peer_addr() {
            Ok(_) => ConnectStatus::Connected,
            Err(e) if e.kind() == io::ErrorKind::NotConnected => ConnectStatus::Pending,
            Err(e) => ConnectStatus::Failed(e),
        }
    }

    /// Reads into `buf` (non-blocking).
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }

    /// Writes from `buf` (non-blocking).
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // Errors only mean it was not registered any more; the stream closes right after.
        let _ = self.poller.delete(&self.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    #[test]
    fn connect_completes_and_refusal_is_reported() {
        let poller = Arc::new(Poller::new().unwrap());
        let mode = if poller.supports_level() {
            PollMode::Level
        } else {
            PollMode::Oneshot
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (stream, connected) = start_connect(listener.local_addr().unwrap()).unwrap();
        let mut reg = Registered::new(stream, poller.clone(), 1, mode, false, true).unwrap();
        let mut events = polling::Events::new();
        if !connected {
            poller
                .wait(&mut events, Some(Duration::from_secs(5)))
                .unwrap();
            assert!(events.iter().any(|e| e.key == 1 && e.writable));
        }
        assert!(matches!(reg.connect_status(), ConnectStatus::Connected));
        let (mut server, _) = listener.accept().unwrap();
        reg.set_interest(true, false).unwrap();
        assert_eq!(reg.write(b"ping").unwrap(), 4);
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).unwrap();
        server.write_all(b"pong").unwrap();
        events.clear();
        poller
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        assert!(events.iter().any(|e| e.key == 1 && e.readable));
        assert_eq!(reg.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"pong");
        drop(reg);

        // A port nobody listens on: refused, either at once or through the poller.
        let port = listener.local_addr().unwrap().port();
        drop((listener, server));
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        match start_connect(addr) {
            Err(e) => assert_eq!(net_error(&e), NetError::Refused),
            Ok((stream, _)) => {
                let reg = Registered::new(stream, poller.clone(), 2, mode, false, true).unwrap();
                events.clear();
                poller
                    .wait(&mut events, Some(Duration::from_secs(5)))
                    .unwrap();
                match reg.connect_status() {
                    ConnectStatus::Failed(e) => assert_eq!(net_error(&e), NetError::Refused),
                    other => panic!("expected refusal, got {other:?}"),
                }
            }
        }
    }

    #[test]
    fn error_mapping() {
        use io::ErrorKind as K;
        let e = |k: K| net_error(&io::Error::from(k));
        assert_eq!(e(K::ConnectionRefused), NetError::Refused);
        assert_eq!(e(K::BrokenPipe), NetError::Reset);
        assert_eq!(e(K::UnexpectedEof), NetError::Eof);
        assert_eq!(e(K::TimedOut), NetError::TimedOut);
        assert_eq!(e(K::Other), NetError::Other);
    }
}
