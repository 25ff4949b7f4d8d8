//! [`Transport`]: a connection as the pump sees it, a byte stream with readiness.
//!
//! Plain: the socket itself. TLS: a rustls `ClientConnection` between the core's bytes (what
//! `read`/`write` move) and the socket's bytes, driven from the same readiness calls, so the
//! pump, the core and every runtime stay unchanged. The one thing the pump must know is
//! that TLS may hold encrypted output after a `write` returned ([`Transport::wants_flush`]);
//! and that decrypted input may be waiting with the socket drained, which
//! [`Transport::poll_readable`] reports as readable.

use std::io::{self, IoSlice, Read, Write};
use std::task::{Context, Poll};

use rustls::ClientConnection;

use crate::runtime::AsyncSocket;
use crate::tls::{classify, io_error, SockIo};

/// Most slices of a send queue one write takes (`iovec`s of a `writev`; Linux allows
/// 1024). Only large commands add slices (two each at most), so 64 carry about 32 of them,
/// at least 512 KiB; what is left goes in the next write.
pub(crate) const MAX_SLICES: usize = 64;

/// A connection's byte stream.
#[derive(Debug)]
pub(crate) struct Transport {
    sock: Box<dyn AsyncSocket>,
    tls: Option<Box<Tls>>,
    /// Dropped with the connection: its place in a watcher (a Sentinel shard's).
    guard: Option<std::sync::Arc<dyn std::fmt::Debug + Send + Sync>>,
}

/// The TLS side of a transport.
#[derive(Debug)]
struct Tls {
    conn: ClientConnection,
    /// Decrypted bytes rustls holds, not read yet.
    plain_ready: usize,
}

impl Transport {
    /// Plain bytes over `sock`.
    pub(crate) fn plain(sock: Box<dyn AsyncSocket>) -> Transport {
        Transport {
            sock,
            tls: None,
            guard: None,
        }
    }

    /// Keeps `guard` alive as long as the connection (a watcher's registration).
    pub(crate) fn guarded(
        mut self,
        guard: std::sync::Arc<dyn std::fmt::Debug + Send + Sync>,
    ) -> Transport {
        self.guard = Some(guard);
        self
    }

    /// TLS over `sock`, its handshake done ([`crate::tls::handshake`]).
    pub(crate) fn tls(sock: Box<dyn AsyncSocket>, conn: ClientConnection) -> Transport {
        Transport {
            sock,
            tls: Some(Box::new(Tls {
                conn,
                plain_ready: 0,
            })),
            guard: None,
        }
    }

    /// Ready when [`Transport::read`] may have bytes.
    pub(crate) fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.tls.as_ref().is_some_and(|t| t.plain_ready > 0) {
            return Poll::Ready(Ok(()));
        }
        self.sock.poll_readable(cx)
    }

    /// Ready when [`Transport::write`] may take bytes.
    pub(crate) fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.sock.poll_writable(cx)
    }

    /// Reads decoded bytes for the core (non-blocking). As a socket's: a short read means
    /// nothing more is there now.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = &mut self.tls else {
            return self.sock.try_read(buf);
        };
        let mut filled = 0;
        loop {
            if filled == buf.len() {
                return Ok(filled);
            }
            match tls.conn.reader().read(&mut buf[filled..]) {
                // The peer's close_notify: end of stream.
                Ok(0) => return Ok(filled),
                Ok(n) => {
                    filled += n;
                    tls.plain_ready = tls.plain_ready.saturating_sub(n);
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Closed without close_notify (UnexpectedEof), after what was read.
                Err(e) => return if filled > 0 { Ok(filled) } else { Err(e) },
            }
            // Nothing decrypted is left: more ciphertext from the socket.
            match tls.conn.read_tls(&mut SockIo(&mut *self.sock)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return if filled > 0 { Ok(filled) } else { Err(e) },
            }
            match tls.conn.process_new_packets() {
                Ok(state) => tls.plain_ready = state.plaintext_bytes_to_read(),
                Err(e) => {
                    // rustls keeps the error: it comes again on the next call if bytes
                    // read before it are handed over first.
                    let _ = tls.conn.write_tls(&mut SockIo(&mut *self.sock));
                    return if filled > 0 {
                        Ok(filled)
                    } else {
                        Err(io_error(classify(&e, false)))
                    };
                }
            }
        }
    }

    /// Writes the core's bytes for a connection, its send queue's slices in order (one
    /// syscall: a plain `write` for one slice, a vectored one for several, at most
    /// [`MAX_SLICES`]); how many bytes were taken (non-blocking). Over TLS, taken bytes may
    /// still sit encrypted in rustls when the socket is full: see
    /// [`Transport::wants_flush`].
    pub(crate) fn write_slices<'a>(
        &mut self,
        slices: impl Iterator<Item = &'a [u8]>,
    ) -> io::Result<usize> {
        let mut iov = [IoSlice::new(&[]); MAX_SLICES];
        let mut count = 0;
        for (slot, bytes) in iov.iter_mut().zip(slices) {
            *slot = IoSlice::new(bytes);
            count += 1;
        }
        self.write_iov(&iov[..count])
    }

    /// Writes `buf` (non-blocking); how many bytes were taken. As
    /// [`Transport::write_slices`].
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_iov(&[IoSlice::new(buf)])
    }

    /// Writes `bufs`, in order (non-blocking); how many bytes were taken.
    fn write_iov(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let Some(tls) = &mut self.tls else {
            return match bufs {
                [] => Ok(0),
                [one] => self.sock.try_write(one),
                _ => self.sock.try_write_vectored(bufs),
            };
        };
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        // rustls copies (and encrypts) what it takes into its own buffer, bounded by
        // `TLS_BUFFER`: one call takes from every slice.
        let mut taken = tls.conn.writer().write_vectored(bufs)?;
        match flush(&mut tls.conn, &mut *self.sock) {
            Ok(()) if taken == 0 && len > 0 => {
                // rustls's buffer was full and is empty now: take some.
                taken = tls.conn.writer().write_vectored(bufs)?;
                match flush(&mut tls.conn, &mut *self.sock) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if taken == 0 && len > 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Whether encrypted bytes wait for the socket (TLS only): the pump then calls
    /// [`Transport::flush`] when it is writable, even with nothing new to send.
    pub(crate) fn wants_flush(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.conn.wants_write())
    }

    /// Writes what [`Transport::wants_flush`] reported; `WouldBlock` when the socket is
    /// full.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match &mut self.tls {
            Some(tls) => flush(&mut tls.conn, &mut *self.sock),
            None => Ok(()),
        }
    }
}

/// Writes rustls's pending output until done or `WouldBlock`.
fn flush(conn: &mut ClientConnection, sock: &mut dyn AsyncSocket) -> io::Result<()> {
    while conn.wants_write() {
        match conn.write_tls(&mut SockIo(&mut *sock)) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
