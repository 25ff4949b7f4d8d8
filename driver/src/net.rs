//! Opening the connections the core asks for, for every runtime alike: the core's typed
//! [`Endpoint`] (TCP host and port, IPv6 literals included, or a Unix socket path; parsed
//! once, in the core), host-name resolution (off the driver, every address tried in turn),
//! non-blocking connect, Sentinel-managed primaries (resolved in `sentinel`), and the one
//! mapping of the platform's I/O errors onto the core's
//! [`NetError`].

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};

use redis_ring_core::config::Endpoint;
use redis_ring_core::error::NetError;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::runtime::Runtime;
use crate::transport::Transport;

/// The core's name for what a socket reported (the table on `NetError`'s docs). A Unix
/// socket path with nothing behind it (`NotFound`) is a refusal, like a closed TCP port.
pub fn net_error(e: &io::Error) -> NetError {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused | K::NotFound => NetError::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => NetError::Reset,
        K::UnexpectedEof => NetError::Eof,
        K::TimedOut => NetError::TimedOut,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => NetError::Unreachable,
        _ => NetError::Other,
    }
}

/// Connects to `endpoint` through `rt`'s reactor. Never blocks the calling task: host
/// names resolve on a short-lived thread (every address tried in turn), connects are
/// non-blocking. The core bounds the whole thing with its connect timeout (it closes the
/// connection, dropping this future).
pub(crate) async fn connect<R: Runtime>(rt: R, endpoint: Endpoint) -> Result<Transport, NetError> {
    match endpoint {
        Endpoint::Sentinel { sentinels, master } => {
            crate::sentinel::connect_primary(rt, sentinels, master).await
        }
        e => connect_plain(&rt, e).await,
    }
}

/// [`connect`] for an address that needs no resolution through Sentinels.
pub(crate) async fn connect_plain<R: Runtime>(
    rt: &R,
    endpoint: Endpoint,
) -> Result<Transport, NetError> {
    let (host, port) = match endpoint {
        Endpoint::Tcp { host, port } => (host, port),
        #[cfg(unix)]
        Endpoint::Unix { path } => {
            // A local connect does not wait for a peer: done at once or refused.
            let stream =
                std::os::unix::net::UnixStream::connect(path).map_err(|e| net_error(&e))?;
            stream.set_nonblocking(true).map_err(|e| net_error(&e))?;
            let sock = rt.wrap_unix(stream).map_err(|e| net_error(&e))?;
            return Ok(Transport::plain(sock));
        }
        // Not an address this layer knows how to reach.
        _ => return Err(NetError::Resolve),
    };
    let addrs = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => resolve(host, port).await?,
    };
    let mut last = NetError::Resolve;
    for sa in addrs {
        match connect_one(rt, sa).await {
            Ok(t) => return Ok(t),
            Err(e) => last = net_error(&e),
        }
    }
    Err(last)
}

/// One non-blocking TCP connect (`TCP_NODELAY`: the pump batches writes itself).
async fn connect_one<R: Runtime>(rt: &R, sa: SocketAddr) -> io::Result<Transport> {
    connect_one_with_handle(rt, sa).await.map(|(t, _)| t)
}

/// [`connect_one`], also returning a second handle on the socket (a duplicated descriptor:
/// `shutdown` through it ends the connection the pump reads).
pub(crate) async fn connect_one_with_handle<R: Runtime>(
    rt: &R,
    sa: SocketAddr,
) -> io::Result<(Transport, Socket)> {
    let socket = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    match socket.connect(&SockAddr::from(sa)) {
        Ok(()) => {}
        Err(e) if in_progress(&e) => {}
        Err(e) => return Err(e),
    }
    let handle = socket.try_clone()?;
    let mut sock = rt.wrap_tcp(TcpStream::from(socket))?;
    std::future::poll_fn(|cx| sock.poll_writable(cx)).await?;
    if let Some(e) = sock.take_error()? {
        return Err(e);
    }
    Ok((Transport::plain(sock), handle))
}

/// Whether a non-blocking `connect` reported "in progress" rather than a failure.
fn in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    e.kind() == io::ErrorKind::WouldBlock
}

/// Resolves `host:port` on a thread of its own (the system resolver blocks); an empty answer
/// or a failure is [`NetError::Resolve`] ("address could not be resolved").
async fn resolve(host: String, port: u16) -> Result<Vec<SocketAddr>, NetError> {
    type Slot = Arc<Mutex<(Option<Vec<SocketAddr>>, Option<Waker>, bool)>>;
    let slot: Slot = Arc::default();
    let theirs = slot.clone();
    let started = std::thread::Builder::new()
        .name("redis-ring-resolve".into())
        .spawn(move || {
            let found = (host.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect)
                .ok();
            let mut g = theirs.lock().unwrap_or_else(PoisonError::into_inner);
            g.0 = found;
            g.2 = true;
            if let Some(w) = g.1.take() {
                drop(g);
                w.wake();
            }
        });
    if started.is_err() {
        return Err(NetError::Resolve);
    }
    let found = std::future::poll_fn(|cx| {
        let mut g = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if g.2 {
            Poll::Ready(g.0.take())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    })
    .await;
    match found {
        Some(addrs) if !addrs.is_empty() => Ok(addrs),
        _ => Err(NetError::Resolve),
    }
}

/// A boxed connect, as the pump keeps it.
pub(crate) type Connecting =
    std::pin::Pin<Box<dyn Future<Output = Result<Transport, NetError>> + Send>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_onto_net_errors() {
        use io::ErrorKind as K;
        let e = |k| net_error(&io::Error::from(k));
        assert_eq!(e(K::ConnectionRefused), NetError::Refused);
        assert_eq!(e(K::NotFound), NetError::Refused);
        assert_eq!(e(K::ConnectionReset), NetError::Reset);
        assert_eq!(e(K::BrokenPipe), NetError::Reset);
        assert_eq!(e(K::UnexpectedEof), NetError::Eof);
        assert_eq!(e(K::TimedOut), NetError::TimedOut);
        assert_eq!(e(K::PermissionDenied), NetError::Other);
    }
}
