//! Following a Sentinel shard's failovers while connected: one watcher per shard (per
//! Sentinel set and master name, shared by every ring and connection of the process), not
//! one per connection.
//!
//! The watcher subscribes to `+switch-master` on every Sentinel, each from a thread of its
//! own (blocking I/O, so any runtime works alike). Every Sentinel publishes the switch once
//! it learns of it, the failover's leader at once, the others through the Sentinels' gossip
//! (up to about 2 s later): listening to one would see a failover late whenever that one
//! is not the leader. On an announcement the watcher remembers the address (a reconnect
//! tries it first) and shuts down, through a duplicated descriptor, every connection of the
//! shard to another address: during `SENTINEL FAILOVER` the old primary stays a writable
//! master for seconds, so neither `ROLE` nor `READONLY` would tell. The pump then sees the
//! connection end and the core reconnects. The watcher outlives the shard's connections by
//! [`LINGER`] (a failover drops them all, and the announcement must survive until the
//! reconnect); its threads then end. A lost subscription is reopened every second.
//!
//! Known gap: every Sentinel announcing the switch while all subscriptions were down is not
//! seen here; the `ROLE` heartbeat and `READONLY` replies (core, module `failover`) find
//! the demoted primary once the Sentinels have reconfigured it.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use socket2::Socket;

use redis_ring_core::config::sentinel::{
    auth_accepted, parse_switch_master, SentinelAuth, PING_REQUEST, SUBSCRIBE_SWITCH_MASTER,
};
use redis_ring_core::config::Endpoint;
use redis_ring_core::resp::{Decoder, Limits, Status};

use crate::transport::Transport;

/// How long a subscription waits for a Sentinel (connect, then each read); an idle
/// subscription sends `PING` this often and is reopened after two silent periods.
const TICK: Duration = Duration::from_secs(1);

/// How long a watcher stays without connections before its threads end.
const LINGER: Duration = Duration::from_secs(30);

/// The largest message buffered on a subscription.
const MAX_MESSAGE: usize = 64 * 1024;

/// One Sentinel shard's watcher.
#[derive(Debug)]
pub(super) struct ShardWatch {
    master: String,
    auth: SentinelAuth,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The address last announced on `+switch-master`.
    announced: Option<Endpoint>,
    /// The shard's connections: a handle on each socket and the primary it reached.
    conns: HashMap<u64, (Socket, Endpoint)>,
    next_id: u64,
}

/// A connection's place in its shard's watcher; dropped with the connection's transport.
#[derive(Debug)]
struct Registration {
    shard: Arc<ShardWatch>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shard.lock().conns.remove(&self.id);
    }
}

type Key = (Vec<Endpoint>, String, SentinelAuth);

/// Every running watcher (the registry holds them; their threads hold a `Weak`).
fn watchers() -> std::sync::MutexGuard<'static, HashMap<Key, Arc<ShardWatch>>> {
    static WATCHERS: OnceLock<Mutex<HashMap<Key, Arc<ShardWatch>>>> = OnceLock::new();
    WATCHERS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The watcher of `master` under `sentinels` (asked with `auth`), started if none runs.
pub(super) fn shard(sentinels: &[Endpoint], master: &str, auth: &SentinelAuth) -> Arc<ShardWatch> {
    let key = (sentinels.to_vec(), master.to_owned(), auth.clone());
    let mut all = watchers();
    if let Some(found) = all.get(&key) {
        return found.clone();
    }
    let shard = Arc::new(ShardWatch {
        master: master.to_owned(),
        auth: auth.clone(),
        state: Mutex::default(),
    });
    for sentinel in sentinels {
        let (weak, sentinel) = (Arc::downgrade(&shard), sentinel.clone());
        // No thread: connections still work; a failover is then seen through a connection
        // error, a `READONLY` reply or the `ROLE` heartbeat only.
        let _ = std::thread::Builder::new()
            .name("redis-ring-sentinel".into())
            .spawn(move || subscribe_loop(&weak, &sentinel));
    }
    all.insert(key, shard.clone());
    shard
}

/// Whether a watcher's threads should end: it is gone, or nothing but the registry has used
/// it since `unused_since` for [`LINGER`] (then it leaves the registry). Updates
/// `unused_since`.
fn retired(shard: &Weak<ShardWatch>, unused_since: &mut Instant) -> bool {
    let mut all = watchers();
    let Some(arc) = shard.upgrade() else {
        return true;
    };
    // The registry's reference and `arc`: no connection, no connect in progress.
    if Arc::strong_count(&arc) > 2 {
        *unused_since = Instant::now();
        return false;
    }
    if unused_since.elapsed() < LINGER {
        return false;
    }
    all.retain(|_, w| !Arc::ptr_eq(w, &arc));
    true
}

impl ShardWatch {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The address last announced, if any.
    pub(super) fn announced(&self) -> Option<Endpoint> {
        self.lock().announced.clone()
    }

    /// `stale` turned out not to be the primary: the next connect asks the Sentinels.
    pub(super) fn forget(&self, stale: &Endpoint) {
        let mut st = self.lock();
        if st.announced.as_ref() == Some(stale) {
            st.announced = None;
        }
    }

    /// Watches `t`, connected to `primary` (`handle`: a second handle on its socket; none
    /// for a host name, which then is not watched). The transport keeps the watcher alive.
    pub(super) fn watch(
        self: &Arc<Self>,
        t: Transport,
        handle: Option<Socket>,
        primary: Endpoint,
    ) -> Transport {
        let Some(handle) = handle else {
            return t.guarded(self.clone());
        };
        let mut st = self.lock();
        if st.announced.as_ref().is_some_and(|a| *a != primary) {
            // Reached through a Sentinel that has not learnt of the announced switch, while
            // the announced address failed: give this one up too; the next connect retries.
            let _ = handle.shutdown(Shutdown::Both);
        }
        let id = st.next_id;
        st.next_id += 1;
        st.conns.insert(id, (handle, primary));
        drop(st);
        t.guarded(Arc::new(Registration {
            shard: self.clone(),
            id,
        }))
    }

    /// A Sentinel announced `primary`: ends every connection to another address.
    fn switched(&self, primary: Endpoint) {
        let mut st = self.lock();
        st.conns.retain(|_, (handle, reached)| {
            if *reached == primary {
                return true;
            }
            let _ = handle.shutdown(Shutdown::Both);
            false
        });
        st.announced = Some(primary);
    }
}

/// One Sentinel's subscription, reopened while the watcher lives.
fn subscribe_loop(shard: &Weak<ShardWatch>, sentinel: &Endpoint) {
    let mut unused_since = Instant::now();
    loop {
        let Some((master, auth)) = shard.upgrade().map(|s| (s.master.clone(), s.auth.clone()))
        else {
            return;
        };
        if let Ok(stream) = subscribe(sentinel, &auth) {
            let _ = listen(shard, stream, &master, &mut unused_since);
        }
        if retired(shard, &mut unused_since) {
            return;
        }
        std::thread::sleep(TICK);
    }
}

/// Opens a subscription to `+switch-master` on `sentinel`, after `AUTH` when `auth` has
/// credentials (a refusal fails the subscription; it is tried again every [`TICK`]).
fn subscribe(sentinel: &Endpoint, auth: &SentinelAuth) -> io::Result<TcpStream> {
    let Endpoint::Tcp { host, port } = sentinel else {
        return Err(io::ErrorKind::Unsupported.into());
    };
    let addr = (host.as_str(), *port)
        .to_socket_addrs()?
        .next()
        .ok_or(io::ErrorKind::NotFound)?;
    let mut s = TcpStream::connect_timeout(&addr, TICK)?;
    s.set_read_timeout(Some(TICK))?;
    s.set_write_timeout(Some(TICK))?;
    if let Some(request) = auth.request() {
        s.write_all(&request)?;
        if !auth_accepted(&read_one(&mut s)?) {
            return Err(io::ErrorKind::PermissionDenied.into());
        }
    }
    s.write_all(SUBSCRIBE_SWITCH_MASTER)?;
    Ok(s)
}

/// Reads one reply (the answer to `AUTH`), within the stream's read timeout.
fn read_one(s: &mut TcpStream) -> io::Result<redis_ring_core::resp::Value> {
    let mut decoder = Decoder::new(Limits::default());
    let (mut buf, mut chunk) = (Vec::new(), [0u8; 512]);
    loop {
        match decoder.decode(&buf) {
            Ok(Status::Complete((frame, _))) => return Ok(frame.to_value()),
            Ok(_) if buf.len() <= MAX_MESSAGE => {}
            _ => return Err(io::ErrorKind::InvalidData.into()),
        }
        match s.read(&mut chunk)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Reads announcements until the subscription fails, falls silent, or the watcher goes.
fn listen(
    shard: &Weak<ShardWatch>,
    mut s: TcpStream,
    master: &str,
    unused_since: &mut Instant,
) -> io::Result<()> {
    let mut decoder = Decoder::new(Limits::default());
    let (mut buf, mut chunk) = (Vec::new(), [0u8; 4096]);
    let mut silent = 0;
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                silent = 0;
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if silent >= 2 || retired(shard, unused_since) {
                    return Ok(());
                }
                silent += 1;
                s.write_all(PING_REQUEST)?;
                continue;
            }
            Err(e) => return Err(e),
        }
        loop {
            let (message, used) = match decoder.decode(&buf) {
                Ok(Status::Complete((frame, used))) => (frame.to_value(), used),
                Ok(_) => break,
                Err(_) => return Err(io::ErrorKind::InvalidData.into()),
            };
            buf.drain(..used);
            if let Some(primary) = parse_switch_master(&message, master) {
                let Some(shard) = shard.upgrade() else {
                    return Ok(());
                };
                shard.switched(primary);
            }
        }
        if buf.len() > MAX_MESSAGE {
            return Err(io::ErrorKind::InvalidData.into());
        }
    }
}
