//! Connecting to a replica for reads (`Output::Connect { replica: true }`), the one check
//! for both ways a shard knows its replicas: listed for a plain shard (the core names which,
//! and moves on to the next when one fails) or found through the Sentinels (module
//! `sentinel`, each listed one in turn). The replica is opened like any shard (same
//! transport, TLS included) and kept only if `ROLE` says it is a replica whose link to its
//! primary is up (the core's `replica_in_sync`); the core's lag check takes over from there.

use redis_ring_core::config::sentinel::{replica_in_sync, ROLE_REQUEST};
use redis_ring_core::config::Endpoint;
use redis_ring_core::error::NetError;

use crate::net::{open, secure, Resolver};
use crate::runtime::Runtime;
use crate::sentinel::request;
use crate::tls::TlsSetup;
use crate::transport::Transport;

/// Connects to `replica` and checks it is one in sync.
///
/// # Errors
/// It cannot be reached (the connect or TLS failure), or it is not a replica with its link
/// up ([`NetError::Refused`]).
pub(crate) async fn connect_in_sync<R: Runtime>(
    rt: &R,
    replica: Endpoint,
    tls: Option<TlsSetup>,
    resolver: Resolver,
) -> Result<Transport, NetError> {
    let host = match &replica {
        Endpoint::Tcp { host, .. } => host.clone(),
        _ => "localhost".to_owned(),
    };
    let sock = open(rt, replica, resolver).await?;
    let mut t = secure(sock, &host, tls).await?;
    match request(&mut t, ROLE_REQUEST).await {
        Ok(role) if replica_in_sync(&role) => Ok(t),
        Ok(_) => Err(NetError::Refused),
        Err(e) => Err(e),
    }
}
