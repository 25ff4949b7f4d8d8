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
use std::time::Duration;

use redis_ring_core::config::Endpoint;
use redis_ring_core::error::{NetError, TlsError};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::runtime::{AsyncSocket, Runtime};
use crate::tls::{handshake, TlsSetup};
use crate::transport::Transport;

/// How host names become addresses: the system resolver (`ToSocketAddrs`), or the function
/// given to [`RingBuilder::resolver`](crate::RingBuilder::resolver). Called on a
/// short-lived thread of its own, so it may block.
#[derive(Clone, Default)]
pub(crate) struct Resolver(Option<Arc<ResolveFn>>);

/// A resolver function: `(host, port)` to the addresses to try, in order.
pub(crate) type ResolveFn = dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync;

impl Resolver {
    /// The addresses of `host:port`, in the order to try them.
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        match &self.0 {
            Some(f) => f(host, port),
            None => (host, port).to_socket_addrs().map(Iterator::collect),
        }
    }

    /// A resolver calling `f`.
    pub(crate) fn new(f: Arc<ResolveFn>) -> Resolver {
        Resolver(Some(f))
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Resolver(custom)"
        } else {
            "Resolver(system)"
        })
    }
}

/// The core's name for what a socket reported (the table on `NetError`'s docs). A Unix
/// socket path with nothing behind it (`NotFound`) is a refusal, like a closed TCP port.
pub fn net_error(e: &io::Error) -> NetError {
    use io::ErrorKind as K;
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<TlsError>()) {
        return NetError::Tls(*tls);
    }
    match e.kind() {
        K::ConnectionRefused | K::NotFound => NetError::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => NetError::Reset,
        K::UnexpectedEof => NetError::Eof,
        K::TimedOut => NetError::TimedOut,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => NetError::Unreachable,
        _ => NetError::Other,
    }
}

/// Connects to `endpoint` through `rt`'s reactor, then runs the TLS handshake when `tls`
/// says so (its settings, or why they cannot be used). Never blocks the calling task: host
/// names resolve on a short-lived thread (every address tried in turn), connects are
/// non-blocking. The core bounds the whole thing, handshake included, with its connect
/// timeout `within` (it closes the connection, dropping this future); a Sentinel shard's
/// resolution gives each Sentinel a share of it (module `sentinel`).
pub(crate) async fn connect<R: Runtime>(
    rt: R,
    endpoint: Endpoint,
    tls: Option<Result<TlsSetup, NetError>>,
    replica: bool,
    resolver: Resolver,
    within: Duration,
) -> Result<Transport, NetError> {
    let tls = tls.transpose()?;
    if let Endpoint::Sentinel {
        sentinels,
        master,
        auth,
    } = endpoint
    {
        let sentinels = crate::sentinel::Sentinels::new(sentinels, master, auth, within);
        return if replica {
            crate::sentinel::connect_replica(rt, sentinels, tls, resolver).await
        } else {
            crate::sentinel::connect_primary(rt, sentinels, tls, resolver).await
        };
    }
    if replica {
        // A plain shard's listed replica, named by the core.
        return crate::replica::connect_in_sync(&rt, endpoint, tls, resolver).await;
    }
    let host = match &endpoint {
        Endpoint::Tcp { host, .. } => host.clone(),
        _ => "localhost".to_owned(),
    };
    let sock = open(&rt, endpoint, resolver).await?;
    secure(sock, &host, tls).await
}

/// The transport over an open socket: plain, or TLS (handshake done) for `host`.
pub(crate) async fn secure(
    mut sock: Box<dyn AsyncSocket>,
    host: &str,
    tls: Option<TlsSetup>,
) -> Result<Transport, NetError> {
    match tls {
        None => Ok(Transport::plain(sock)),
        Some(setup) => {
            let mut conn = setup.start(host)?;
            handshake(&mut *sock, &mut conn).await?;
            Ok(Transport::tls(sock, conn))
        }
    }
}

/// Opens the socket: a Unix path, or each address a host resolves to in turn until one
/// accepts.
pub(crate) async fn open<R: Runtime>(
    rt: &R,
    endpoint: Endpoint,
    resolver: Resolver,
) -> Result<Box<dyn AsyncSocket>, NetError> {
    let (host, port) = match endpoint {
        Endpoint::Tcp { host, port } => (host, port),
        #[cfg(unix)]
        Endpoint::Unix { path } => {
            // A local connect does not wait for a peer: done at once or refused.
            let stream =
                std::os::unix::net::UnixStream::connect(path).map_err(|e| net_error(&e))?;
            stream.set_nonblocking(true).map_err(|e| net_error(&e))?;
            return rt.wrap_unix(stream).map_err(|e| net_error(&e));
        }
        // Not an address this layer knows how to reach.
        _ => return Err(NetError::Resolve),
    };
    let addrs = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => resolve(resolver, host, port).await?,
    };
    open_any(rt, addrs).await
}

/// Connects to each of `addrs` in turn (a name's addresses, in the resolver's order) until
/// one accepts; the last failure otherwise.
async fn open_any<R: Runtime>(
    rt: &R,
    addrs: Vec<SocketAddr>,
) -> Result<Box<dyn AsyncSocket>, NetError> {
    let mut last = NetError::Resolve;
    for sa in addrs {
        match connect_one(rt, sa).await {
            Ok(sock) => return Ok(sock),
            Err(e) => last = net_error(&e),
        }
    }
    Err(last)
}

/// One non-blocking TCP connect (`TCP_NODELAY`: the pump batches writes itself).
async fn connect_one<R: Runtime>(rt: &R, sa: SocketAddr) -> io::Result<Box<dyn AsyncSocket>> {
    connect_one_with_handle(rt, sa).await.map(|(sock, _)| sock)
}

/// [`connect_one`], also returning a second handle on the socket (a duplicated descriptor:
/// `shutdown` through it ends the connection the pump reads).
pub(crate) async fn connect_one_with_handle<R: Runtime>(
    rt: &R,
    sa: SocketAddr,
) -> io::Result<(Box<dyn AsyncSocket>, Socket)> {
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
    Ok((sock, handle))
}

/// Whether a non-blocking `connect` reported "in progress" rather than a failure.
fn in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    e.kind() == io::ErrorKind::WouldBlock
}

/// Resolves `host:port` with `resolver` on a thread of its own (the system resolver blocks);
/// an empty answer or a failure is [`NetError::Resolve`] ("address could not be resolved").
async fn resolve(resolver: Resolver, host: String, port: u16) -> Result<Vec<SocketAddr>, NetError> {
    type Slot = Arc<Mutex<(Option<Vec<SocketAddr>>, Option<Waker>, bool)>>;
    let slot: Slot = Arc::default();
    let theirs = slot.clone();
    let started = std::thread::Builder::new()
        .name("redis-ring-resolve".into())
        .spawn(move || {
            let found = resolver.resolve(&host, port).ok();
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

    /// A runtime whose sockets are always "ready" (for connect tests without a reactor).
    #[derive(Clone, Debug)]
    struct Direct;

    #[derive(Debug)]
    struct DirectSock(TcpStream);

    impl AsyncSocket for DirectSock {
        fn poll_readable(&mut self, _: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_writable(&mut self, _: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            io::Read::read(&mut self.0, buf)
        }
        fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
            io::Write::write(&mut self.0, buf)
        }
        fn try_write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            io::Write::write_vectored(&mut self.0, bufs)
        }
        fn take_error(&self) -> io::Result<Option<io::Error>> {
            self.0.take_error()
        }
    }

    impl Runtime for Direct {
        fn spawn(&self, _: crate::runtime::BoxFuture) -> io::Result<()> {
            Err(io::Error::other("not used"))
        }
        fn new_timer(&self) -> std::pin::Pin<Box<dyn crate::runtime::AsyncTimer>> {
            unreachable!("no timers in these tests")
        }
        fn wrap_tcp(&self, stream: TcpStream) -> io::Result<Box<dyn AsyncSocket>> {
            Ok(Box::new(DirectSock(stream)))
        }
        #[cfg(unix)]
        fn wrap_unix(&self, _: std::os::unix::net::UnixStream) -> io::Result<Box<dyn AsyncSocket>> {
            Err(io::Error::other("not used"))
        }
    }

    fn block_on<T>(fut: impl Future<Output = T>) -> T {
        let mut fut = std::pin::pin!(fut);
        let mut cx = std::task::Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::yield_now();
        }
    }

    /// A name's addresses are tried in turn: a refusing one does not stop the next.
    #[test]
    fn every_address_is_tried() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        assert!(block_on(open_any(&Direct, vec![closed, open])).is_ok());
        assert_eq!(
            block_on(open_any(&Direct, vec![closed])).unwrap_err(),
            NetError::Refused
        );
        assert_eq!(
            block_on(open_any(&Direct, Vec::new())).unwrap_err(),
            NetError::Resolve
        );
    }

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
        let tls = crate::tls::io_error(TlsError::UnknownIssuer);
        assert_eq!(net_error(&tls), NetError::Tls(TlsError::UnknownIssuer));
    }
}
