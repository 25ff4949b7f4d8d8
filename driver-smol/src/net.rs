//! Sockets: opening TCP (or Unix) connections to the addresses the core names, and mapping
//! the platform's I/O errors onto the core's [`NetError`].

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::task::{Context, Poll};

use async_io::Async;
use redis_ring_core::error::NetError;

/// One connection's socket, non-blocking and registered with the async-io reactor.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(Async<TcpStream>),
    #[cfg(unix)]
    Unix(Async<UnixStream>),
}

impl Stream {
    /// Opens a connection to `addr`: `host:port` (a name is resolved on the blocking pool),
    /// or a Unix socket path (`/path/redis.sock` or `unix:/path/redis.sock`).
    pub(crate) async fn connect(addr: &str) -> io::Result<Stream> {
        #[cfg(unix)]
        if let Some(path) = unix_path(addr) {
            return Ok(Stream::Unix(Async::<UnixStream>::connect(path).await?));
        }
        let sockaddrs: Vec<SocketAddr> = match addr.parse::<SocketAddr>() {
            Ok(sa) => vec![sa],
            Err(_) => {
                let owned = addr.to_owned();
                smol::unblock(move || owned.to_socket_addrs().map(Iterator::collect)).await?
            }
        };
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to");
        for sa in sockaddrs {
            match Async::<TcpStream>::connect(sa).await {
                Ok(stream) => {
                    // Requests are batched by the driver already; Nagle would only delay them.
                    stream.get_ref().set_nodelay(true)?;
                    return Ok(Stream::Tcp(stream));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Reactor readiness for reading (registers the task's waker when not ready).
    pub(crate) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Stream::Tcp(s) => s.poll_readable(cx),
            #[cfg(unix)]
            Stream::Unix(s) => s.poll_readable(cx),
        }
    }

    /// Reactor readiness for writing (registers the task's waker when not ready).
    pub(crate) fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Stream::Tcp(s) => s.poll_writable(cx),
            #[cfg(unix)]
            Stream::Unix(s) => s.poll_writable(cx),
        }
    }

    /// One non-blocking `read(2)`.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.get_ref().read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.get_ref().read(buf),
        }
    }

    /// One non-blocking `write(2)`.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.get_ref().write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.get_ref().write(buf),
        }
    }
}

/// The path of a Unix-socket address, if `addr` is one.
#[cfg(unix)]
fn unix_path(addr: &str) -> Option<&str> {
    if let Some(path) = addr.strip_prefix("unix:") {
        Some(path.strip_prefix("//").unwrap_or(path))
    } else if addr.starts_with('/') {
        Some(addr)
    } else {
        None
    }
}

/// The core's name for what a socket reported.
pub(crate) fn net_error(e: &io::Error) -> NetError {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => NetError::Refused,
        // A Unix socket path with nothing behind it is a refusal too.
        K::NotFound => NetError::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => NetError::Reset,
        K::UnexpectedEof => NetError::Eof,
        K::TimedOut => NetError::TimedOut,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => NetError::Unreachable,
        K::InvalidInput => NetError::Resolve,
        _ => NetError::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_paths() {
        assert_eq!(unix_path("/tmp/r.sock"), Some("/tmp/r.sock"));
        assert_eq!(unix_path("unix:/tmp/r.sock"), Some("/tmp/r.sock"));
        assert_eq!(unix_path("unix:///tmp/r.sock"), Some("/tmp/r.sock"));
        assert_eq!(unix_path("127.0.0.1:6379"), None);
    }

    #[test]
    fn errors_map_onto_net_errors() {
        let e = |k| net_error(&io::Error::from(k));
        assert_eq!(e(io::ErrorKind::ConnectionRefused), NetError::Refused);
        assert_eq!(e(io::ErrorKind::ConnectionReset), NetError::Reset);
        assert_eq!(e(io::ErrorKind::BrokenPipe), NetError::Reset);
        assert_eq!(e(io::ErrorKind::UnexpectedEof), NetError::Eof);
        assert_eq!(e(io::ErrorKind::TimedOut), NetError::TimedOut);
        assert_eq!(e(io::ErrorKind::PermissionDenied), NetError::Other);
    }
}
