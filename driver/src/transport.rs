//! [`Transport`]: a connection as the pump sees it, a byte stream with readiness.
//!
//! Today it is the socket itself. It is the one place where TLS goes: a rustls
//! `ClientConnection` between the core's bytes (what `read`/`write` move) and the socket's
//! bytes, the handshake driven from the same readiness calls, so the pump, the core and
//! every runtime stay unchanged.

use std::io;
use std::task::{Context, Poll};

use crate::runtime::AsyncSocket;

/// A connection's byte stream.
#[derive(Debug)]
pub(crate) struct Transport {
    sock: Box<dyn AsyncSocket>,
    /// Dropped with the connection: stops a watcher tied to it (a Sentinel shard's).
    guard: Option<std::sync::Arc<()>>,
}

impl Transport {
    /// Plain bytes over `sock`.
    pub(crate) fn plain(sock: Box<dyn AsyncSocket>) -> Transport {
        Transport { sock, guard: None }
    }

    /// Keeps `guard` alive as long as the connection (a watcher holds its `Weak`).
    pub(crate) fn guarded(mut self, guard: std::sync::Arc<()>) -> Transport {
        self.guard = Some(guard);
        self
    }

    /// Ready when [`Transport::read`] may have bytes.
    pub(crate) fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.sock.poll_readable(cx)
    }

    /// Ready when [`Transport::write`] may take bytes.
    pub(crate) fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.sock.poll_writable(cx)
    }

    /// Reads decoded bytes for the core (non-blocking).
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.try_read(buf)
    }

    /// Writes the core's bytes (non-blocking); how many were taken.
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.try_write(buf)
    }
}
