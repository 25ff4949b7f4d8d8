//! Connecting an [`Endpoint::Sentinel`] shard, for every runtime alike: ask the Sentinels in
//! turn for the primary's address, connect there, check `ROLE`. The requests and the
//! judgement of the replies are the core's ([`redis_ring_core::config::sentinel`]); this is
//! only their I/O. Every connect resolves afresh, so a reconnect follows a failover.

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Weak};
use std::time::Duration;

use socket2::Socket;

use redis_ring_core::config::sentinel::{
    master_addr_request, parse_master_addr, parse_role, Role, ROLE_REQUEST,
};
use redis_ring_core::config::Endpoint;
use redis_ring_core::error::NetError;
use redis_ring_core::resp::{Decoder, Limits, Status, Value};

use crate::net::{connect_one_with_handle, net_error, open, secure};
use crate::runtime::Runtime;
use crate::tls::TlsSetup;
use crate::transport::Transport;

/// The largest Sentinel or `ROLE` reply read (a `ROLE` of a primary lists its replicas).
const MAX_REPLY: usize = 64 * 1024;

/// Resolves `master` through `sentinels` and connects to it (over TLS when `tls` is set:
/// the primary's connection goes through the same transport as any shard's; the Sentinels
/// are asked in plaintext), `ROLE` checked. The whole thing is bounded by the core's
/// connect timeout (it drops this future).
///
/// # Errors
/// No Sentinel answered with an address ([`NetError::Resolve`]), or the primary could not
/// be reached or is not (yet) a primary ([`NetError::Refused`]).
pub(crate) async fn connect_primary<R: Runtime>(
    rt: R,
    sentinels: Vec<Endpoint>,
    master: String,
    tls: Option<TlsSetup>,
) -> Result<Transport, NetError> {
    let query = master_addr_request(&master);
    let sentinels_all = sentinels.clone();
    for sentinel in sentinels {
        let Ok(sock) = open(&rt, sentinel).await else {
            continue;
        };
        let mut t = Transport::plain(sock);
        let Ok(reply) = request(&mut t, &query).await else {
            continue;
        };
        drop(t);
        let Some(primary) = parse_master_addr(&reply) else {
            continue;
        };
        let Endpoint::Tcp { host, port } = &primary else {
            return Err(NetError::Resolve);
        };
        let (sock, handle) = match host.parse::<IpAddr>() {
            Ok(ip) => {
                let (s, h) = connect_one_with_handle(&rt, SocketAddr::new(ip, *port))
                    .await
                    .map_err(|e| net_error(&e))?;
                (s, Some(h))
            }
            // A host name (`resolve-hostnames yes`): connected, but not watched.
            Err(_) => (open(&rt, primary.clone()).await?, None),
        };
        let mut t = secure(sock, host, tls).await?;
        let role = request(&mut t, ROLE_REQUEST).await?;
        return match parse_role(&role) {
            Role::Master | Role::Unknown => Ok(match handle {
                Some(h) => watch(t, h, sentinels_all, master, primary),
                None => t,
            }),
            // Told an old primary (the Sentinel had not yet seen the failover): the next
            // connect asks again.
            Role::Other => Err(NetError::Refused),
        };
    }
    Err(NetError::Resolve)
}

/// How often a connection's watcher asks the Sentinels whether its primary is still the one.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// How long the watcher waits for one Sentinel (connect, then the reply).
const SENTINEL_TIMEOUT: Duration = Duration::from_millis(500);

/// Watches a connection to `primary` from a thread of its own: every [`WATCH_INTERVAL`] it
/// asks the Sentinels for `master`'s address and, once they name another one (a failover,
/// asked or not, during which the old primary may keep accepting writes for seconds),
/// shuts the socket down. The pump then sees the connection end, the core reconnects, and
/// that connect asks the Sentinels again. The thread ends with the connection.
fn watch(
    t: Transport,
    handle: Socket,
    sentinels: Vec<Endpoint>,
    master: String,
    primary: Endpoint,
) -> Transport {
    let alive = Arc::new(());
    let weak = Arc::downgrade(&alive);
    let started = std::thread::Builder::new()
        .name("redis-ring-sentinel-watch".into())
        .spawn(move || watch_loop(&weak, &handle, &sentinels, &master, &primary));
    match started {
        Ok(_) => t.guarded(alive),
        // No thread: the connection still works; a failover is then seen through the ROLE
        // heartbeat or a connection error only.
        Err(_) => t,
    }
}

fn watch_loop(
    alive: &Weak<()>,
    handle: &Socket,
    sentinels: &[Endpoint],
    master: &str,
    primary: &Endpoint,
) {
    let query = master_addr_request(master);
    loop {
        std::thread::sleep(WATCH_INTERVAL);
        if alive.strong_count() == 0 {
            return;
        }
        let answer = sentinels
            .iter()
            .find_map(|s| ask_blocking(s, &query).and_then(|v| parse_master_addr(&v)));
        if answer.is_some_and(|a| a != *primary) {
            let _ = handle.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// One blocking request to a Sentinel, bounded by [`SENTINEL_TIMEOUT`]; `None` on failure.
fn ask_blocking(sentinel: &Endpoint, req: &[u8]) -> Option<Value> {
    let Endpoint::Tcp { host, port } = sentinel else {
        return None;
    };
    let addr = (host.as_str(), *port).to_socket_addrs().ok()?.next()?;
    let mut s = TcpStream::connect_timeout(&addr, SENTINEL_TIMEOUT).ok()?;
    s.set_read_timeout(Some(SENTINEL_TIMEOUT)).ok()?;
    s.set_write_timeout(Some(SENTINEL_TIMEOUT)).ok()?;
    s.write_all(req).ok()?;
    let mut decoder = Decoder::new(Limits::default());
    let (mut buf, mut chunk) = (Vec::new(), [0u8; 1024]);
    loop {
        if let Status::Complete((frame, _)) = decoder.decode(&buf).ok()? {
            return Some(frame.to_value());
        }
        if buf.len() > MAX_REPLY {
            return None;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Writes `req`, reads one reply. Each side is tried first and waited for only after a
/// `WouldBlock` (a runtime may report readiness by edges, already consumed by the connect).
async fn request(t: &mut Transport, req: &[u8]) -> Result<Value, NetError> {
    let mut sent = 0;
    while sent < req.len() {
        match t.write(&req[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                poll_fn(|cx| t.poll_writable(cx))
                    .await
                    .map_err(|e| net_error(&e))?;
            }
            Err(e) => return Err(net_error(&e)),
        }
    }
    while t.wants_flush() {
        match t.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                poll_fn(|cx| t.poll_writable(cx))
                    .await
                    .map_err(|e| net_error(&e))?;
            }
            Err(e) => return Err(net_error(&e)),
        }
    }
    let mut decoder = Decoder::new(Limits::default());
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Status::Complete((frame, _)) = decoder.decode(&buf).map_err(|_| NetError::Other)? {
            return Ok(frame.to_value());
        }
        if buf.len() > MAX_REPLY {
            return Err(NetError::Other);
        }
        match t.read(&mut chunk) {
            Ok(0) => return Err(NetError::Eof),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                poll_fn(|cx| t.poll_readable(cx))
                    .await
                    .map_err(|e| net_error(&e))?;
            }
            Err(e) => return Err(net_error(&e)),
        }
    }
}
