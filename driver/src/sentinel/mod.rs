//! Connecting an [`Endpoint::Sentinel`] shard, for every runtime alike: find the primary
//! (the address last announced on `+switch-master`, then each Sentinel's answer), connect
//! there, check `ROLE`, and hand the connection to the shard's watcher (module `watch`),
//! which closes it once a Sentinel announces another primary. The requests and the
//! judgement of the replies are the core's ([`redis_ring_core::config::sentinel`]); this is
//! only their I/O. Every connect resolves afresh, so a reconnect follows a failover.
//!
//! Each Sentinel gets `AUTH` first when the shard has credentials for them
//! ([`SentinelAuth`]: `?sentinel_password=`), and a share of the connect timeout (connect,
//! `AUTH`, the question): a Sentinel that accepts but never answers is given up for the next
//! one instead of stalling the connect until the core's connect timeout.

mod watch;

use std::future::{poll_fn, Future};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::task::Poll;
use std::time::{Duration, Instant};

use redis_ring_core::config::sentinel::{
    auth_accepted, auth_refused, master_addr_request, parse_master_addr, parse_replicas,
    parse_role, replicas_request, Role, SentinelAuth, ROLE_REQUEST,
};
use redis_ring_core::config::Endpoint;
use redis_ring_core::error::NetError;
use redis_ring_core::resp::{Decoder, Limits, Status, Value};

use crate::net::{connect_one_with_handle, net_error, open, secure, Resolver};
use crate::replica::connect_in_sync;
use crate::runtime::Runtime;
use crate::tls::TlsSetup;
use crate::transport::Transport;

/// The largest Sentinel or `ROLE` reply read (a `ROLE` of a primary lists its replicas).
const MAX_REPLY: usize = 64 * 1024;

/// A Sentinel shard as its connects see it: the Sentinels (asked in order), the master
/// name, the Sentinels' own credentials, and how long one Sentinel may take.
#[derive(Debug)]
pub(crate) struct Sentinels {
    list: Vec<Endpoint>,
    master: String,
    auth: SentinelAuth,
    /// One Sentinel's share of the connect timeout (connect, `AUTH`, the question): one
    /// that accepts but never answers costs this much, and the next is asked.
    each: Duration,
}

impl Sentinels {
    /// The Sentinels of one shard, a connect of which is bounded by `within` (the core's
    /// connect timeout): each Sentinel gets `within / (Sentinels + 1)`, the rest is left
    /// for the primary (connect, TLS, `ROLE`).
    pub(crate) fn new(
        list: Vec<Endpoint>,
        master: String,
        auth: SentinelAuth,
        within: Duration,
    ) -> Sentinels {
        let share = u32::try_from(list.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        Sentinels {
            list,
            master,
            auth,
            each: within / share,
        }
    }

    /// Asks `sentinel` `req` (after `AUTH` when credentials are set), within
    /// [`Sentinels::each`].
    async fn ask<R: Runtime>(
        &self,
        rt: &R,
        sentinel: Endpoint,
        req: &[u8],
        resolver: Resolver,
    ) -> Result<Value, NetError> {
        let asked = async {
            let mut t = Transport::plain(open(rt, sentinel, resolver).await?);
            if let Some(auth) = self.auth.request() {
                if !auth_accepted(&request(&mut t, &auth).await?) {
                    return Err(NetError::SentinelAuth);
                }
            }
            let reply = request(&mut t, req).await?;
            if auth_refused(&reply) {
                return Err(NetError::SentinelAuth);
            }
            Ok(reply)
        };
        within(rt, self.each, asked).await
    }
}

/// `fut`, or [`NetError::TimedOut`] once `limit` has passed (a timer of `rt`).
async fn within<R: Runtime, T>(
    rt: &R,
    limit: Duration,
    fut: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    let mut timer = rt.new_timer();
    timer.as_mut().reset(Instant::now() + limit);
    let mut fut = std::pin::pin!(fut);
    poll_fn(|cx| {
        if let Poll::Ready(done) = fut.as_mut().poll(cx) {
            return Poll::Ready(done);
        }
        timer.as_mut().poll(cx).map(|()| Err(NetError::TimedOut))
    })
    .await
}

/// What a connect reports when no candidate was reached: the Sentinels' refusal of the
/// credentials if that is what happened, else the last failure.
fn worse(last: NetError, sentinel: NetError) -> NetError {
    if sentinel == NetError::SentinelAuth && last == NetError::Resolve {
        sentinel
    } else {
        last
    }
}

/// Resolves the shard's primary through its Sentinels and connects to it (over TLS when
/// `tls` is set: the primary's connection goes through the same transport as any shard's;
/// the Sentinels are asked in plaintext), `ROLE` checked. The whole thing is bounded by
/// the core's connect timeout (it drops this future); each Sentinel by its share.
///
/// # Errors
/// No Sentinel answered with an address ([`NetError::Resolve`];
/// [`NetError::SentinelAuth`] when they refused the credentials), or no address named could
/// be reached as a primary (the last failure; [`NetError::Refused`] for a replica).
pub(crate) async fn connect_primary<R: Runtime>(
    rt: R,
    sentinels: Sentinels,
    tls: Option<TlsSetup>,
    resolver: Resolver,
) -> Result<Transport, NetError> {
    let shard = watch::shard(&sentinels.list, &sentinels.master, &sentinels.auth);
    let mut last = NetError::Resolve;
    let mut tried: Vec<Endpoint> = Vec::new();
    // The announced address first: a Sentinel that has not yet learnt of a failover still
    // names the old primary, which may stay a writable master for seconds.
    if let Some(primary) = shard.announced() {
        match connect_checked(&rt, &primary, tls.clone(), &resolver).await {
            Ok((t, handle)) => return Ok(shard.watch(t, handle, primary)),
            Err(e) => {
                // Stale (a later switch was missed): forget it, ask the Sentinels.
                shard.forget(&primary);
                last = e;
                tried.push(primary);
            }
        }
    }
    let query = master_addr_request(&sentinels.master);
    for sentinel in sentinels.list.iter().cloned() {
        let reply = match sentinels.ask(&rt, sentinel, &query, resolver.clone()).await {
            Ok(reply) => reply,
            Err(e) => {
                last = worse(last, e);
                continue;
            }
        };
        let Some(primary) = parse_master_addr(&reply) else {
            continue;
        };
        if tried.contains(&primary) {
            continue;
        }
        match connect_checked(&rt, &primary, tls.clone(), &resolver).await {
            Ok((t, handle)) => return Ok(shard.watch(t, handle, primary)),
            Err(e) => {
                last = e;
                tried.push(primary);
            }
        }
    }
    Err(last)
}

/// Connects to a replica of the shard for reads: each Sentinel in turn lists the replicas it
/// holds usable (`SENTINEL REPLICAS`); the first that answers `ROLE` as a replica with its
/// link up is taken (`replica::connect_in_sync`, the same check as a listed replica's).
/// Not watched: a failover leaves a replica serving reads (the promoted one, or one
/// following the new primary).
///
/// # Errors
/// No Sentinel listed a usable replica ([`NetError::Resolve`]; [`NetError::SentinelAuth`]
/// when they refused the credentials), or none of them could be reached in sync (the last
/// failure; [`NetError::Refused`] for one that is not).
pub(crate) async fn connect_replica<R: Runtime>(
    rt: R,
    sentinels: Sentinels,
    tls: Option<TlsSetup>,
    resolver: Resolver,
) -> Result<Transport, NetError> {
    let query = replicas_request(&sentinels.master);
    let mut last = NetError::Resolve;
    let mut tried: Vec<Endpoint> = Vec::new();
    for sentinel in sentinels.list.iter().cloned() {
        let reply = match sentinels.ask(&rt, sentinel, &query, resolver.clone()).await {
            Ok(reply) => reply,
            Err(e) => {
                last = worse(last, e);
                continue;
            }
        };
        for replica in parse_replicas(&reply) {
            if tried.contains(&replica) {
                continue;
            }
            tried.push(replica.clone());
            match connect_in_sync(&rt, replica, tls.clone(), resolver.clone()).await {
                Ok(t) => return Ok(t),
                Err(e) => last = e,
            }
        }
    }
    Err(last)
}

/// Connects to `primary` and checks that it is one (`ROLE`); also returns a second handle
/// on the socket for the watcher (none for a host name, `resolve-hostnames yes`).
async fn connect_checked<R: Runtime>(
    rt: &R,
    primary: &Endpoint,
    tls: Option<TlsSetup>,
    resolver: &Resolver,
) -> Result<(Transport, Option<socket2::Socket>), NetError> {
    let Endpoint::Tcp { host, port } = primary else {
        return Err(NetError::Resolve);
    };
    let (sock, handle) = match host.parse::<IpAddr>() {
        Ok(ip) => {
            let (s, h) = connect_one_with_handle(rt, SocketAddr::new(ip, *port))
                .await
                .map_err(|e| net_error(&e))?;
            (s, Some(h))
        }
        Err(_) => (open(rt, primary.clone(), resolver.clone()).await?, None),
    };
    let mut t = secure(sock, host, tls).await?;
    let role = request(&mut t, ROLE_REQUEST).await?;
    match parse_role(&role) {
        Role::Master | Role::Unknown => Ok((t, handle)),
        // A replica (the Sentinel answered before it noticed a failover).
        Role::Other => Err(NetError::Refused),
    }
}

/// Writes `req`, reads one reply. Each side is tried first and waited for only after a
/// `WouldBlock` (a runtime may report readiness by edges, already consumed by the connect).
pub(crate) async fn request(t: &mut Transport, req: &[u8]) -> Result<Value, NetError> {
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
