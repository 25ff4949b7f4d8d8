//! One connection's protocol: handshake steps, the FIFO of pending requests, the send and
//! receive buffers, reply matching, RESP3 push frames and poisoning.
//!
//! [`Conn`] knows nothing about shards, routing or time; it is generic over the tag `T` the
//! ring uses to recognise its requests. Call protocol (driven by the ring):
//!
//! 1. [`Conn::new`] when the ring emits `Output::Connect`; requests pushed before the
//!    connection is ready wait in [`Conn::waiting`] (not encoded: the handshake decides the
//!    protocol and must go first).
//! 2. [`Conn::on_connected`] when the driver reports the TCP connection: the handshake steps
//!    are encoded into the send buffer. It returns `true` when there is nothing to negotiate
//!    (RESP2 without credentials, db or name): the connection is ready at once.
//! 3. [`Conn::on_received`] with every chunk of bytes: replies are matched in FIFO order;
//!    handshake replies are handled here; user replies and push frames go to the callback.
//!    It returns `Ok(true)` when the handshake just completed (the ring then moves
//!    [`Conn::waiting`] into the send buffer with [`Conn::push`]), or `Err` when the
//!    connection is broken (bad RESP, an unexpected reply, a failed handshake step): the
//!    ring then fails every pending tag ([`Conn::drain_pending`]) and drops the connection.
//! 4. [`Conn::push`] encodes a request straight into the send buffer (once ready) and
//!    records its tag in the FIFO; [`Conn::on_sent`] drops written bytes.

mod handshake;

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::command::Cmd;
use crate::config::ConnOptions;
use crate::error::CmdName;
use crate::resp::{DecodeError, Decoder, ErrorKind, Frame, Limits, Status};

use handshake::Phase;
pub(crate) use handshake::Step;

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Waiting for the driver's `Connected`.
    Connecting,
    /// Connected; handshake replies outstanding.
    Handshaking,
    /// Handshake done: requests are encoded and sent as they come.
    Ready,
}

/// Why a connection cannot go on.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Failure {
    /// A handshake step was refused by the server.
    Handshake {
        /// The step (`HELLO`, `AUTH`, `SELECT`, `CLIENT SETNAME`).
        step: CmdName,
        /// The server's error line.
        message: String,
    },
    /// The server sent invalid RESP.
    Decode(DecodeError),
    /// The server sent a reply while no request was pending.
    Unexpected,
}

/// A frame the ring must look at.
#[derive(Debug)]
pub(crate) enum Received<'f, T> {
    /// The reply to the request tagged `tag`.
    Reply(T, Frame<'f>),
    /// The reply to the request tagged `tag` announces a string of this many bytes, more
    /// than the connection's limit (`Config::max_reply_len`): the request fails alone and
    /// the reply is skipped as it streams in, never buffered.
    TooLarge(T, u64),
    /// A RESP3 push frame (never the reply to a request), or, on a connection in pub/sub
    /// mode ([`Conn::pubsub`]), any frame no request waits for (RESP2 message arrays).
    Push(Frame<'f>),
}

/// An entry of the FIFO: who is waiting for the next reply. Each carries where its last
/// byte ends in the connection's byte stream, compared with [`Conn::sent_total`]: written
/// completely or not. FIFO order is stream order, so these offsets never decrease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot<T> {
    /// A handshake step of a phase (replies of an abandoned phase are skipped).
    Handshake(Phase, Step, u64),
    /// A request of the ring.
    User(T, u64),
}

impl<T> Slot<T> {
    /// The stream offset just past the entry's last byte.
    fn end(&self) -> u64 {
        match *self {
            Slot::Handshake(.., end) | Slot::User(_, end) => end,
        }
    }
}

/// One connection's protocol state. See the module docs for the call protocol.
#[derive(Debug)]
pub(crate) struct Conn<T> {
    state: State,
    opts: Arc<ConnOptions>,
    phase: Phase,
    /// Handshake replies still expected in the current phase.
    handshake_pending: u32,
    /// Bytes not yet written; the driver writes from the front.
    send: Vec<u8>,
    /// Bytes written so far (reported by `Sent`): a request whose last byte lies beyond
    /// was not completely written, so the server cannot have run it.
    sent_total: u64,
    /// Bytes received but not yet decoded (only ever the start of an incomplete frame).
    recv: Vec<u8>,
    /// Most bytes `recv` may hold (`Config::max_reply_len`).
    max_recv: usize,
    /// Bytes of a too-large reply still to skip (see [`Received::TooLarge`]).
    skip: u64,
    decoder: Decoder,
    fifo: VecDeque<Slot<T>>,
    /// Tags pushed before the connection was ready, in order.
    pub(crate) waiting: VecDeque<T>,
    /// Whether a `Transmit` is announced (or queued) and not yet answered by `Sent`.
    pub(crate) tx_queued: bool,
    /// Replies received so far (handshake and user replies, not push frames): progress,
    /// which tells a busy server from a hung one. Replies, not bytes: a server trickling
    /// one byte at a time, or flooding push frames, makes no progress through the FIFO and
    /// must not keep a heartbeat waiting for ever.
    pub(crate) replies_total: u64,
    /// Pub/sub mode: once ready, frames no request waits for are pushes (RESP2 sends
    /// messages and subscribe confirmations as plain arrays), not a protocol error.
    pub(crate) pubsub: bool,
}

impl<T: Copy> Conn<T> {
    /// A connection being opened, to be set up with `opts`.
    /// `max_recv` bounds the bytes kept of an incomplete reply.
    pub(crate) fn new(opts: Arc<ConnOptions>, limits: Limits, max_recv: usize) -> Conn<T> {
        Conn {
            state: State::Connecting,
            opts,
            phase: Phase::Resp3,
            handshake_pending: 0,
            send: Vec::new(),
            sent_total: 0,
            recv: Vec::new(),
            max_recv,
            skip: 0,
            decoder: Decoder::new(limits),
            fifo: VecDeque::new(),
            waiting: VecDeque::new(),
            tx_queued: false,
            replies_total: 0,
            pubsub: false,
        }
    }

    /// Where the connection is in its life.
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// Whether the connection speaks RESP3 (known once ready).
    #[cfg(test)]
    pub(crate) fn is_resp3(&self) -> bool {
        self.phase == Phase::Resp3
    }

    /// The bytes to write.
    pub(crate) fn send_buf(&self) -> &[u8] {
        &self.send
    }

    /// Requests queued or in flight (handshake steps excluded).
    pub(crate) fn pending(&self) -> usize {
        self.waiting.len()
            + self
                .fifo
                .iter()
                .filter(|s| matches!(s, Slot::User(..)))
                .count()
    }

    /// Requests and handshake steps written and not answered yet: a reply is on its way
    /// (the driver need not be woken to write more: it writes when that reply comes).
    pub(crate) fn in_flight(&self) -> usize {
        // The written entries are a prefix of the FIFO (offsets grow along it), and an entry
        // counts once its last byte is written, even if a partial write left later ones.
        let sent = self.sent_total;
        self.fifo.partition_point(|s| s.end() <= sent)
    }

    /// The stream offset just past the last byte encoded so far (written or not).
    fn encoded_end(&self) -> u64 {
        self.sent_total + self.send.len() as u64
    }

    /// The TCP connection is up: encodes the handshake. Returns `true` when the connection
    /// is ready at once (nothing to negotiate).
    pub(crate) fn on_connected(&mut self) -> bool {
        if self.state != State::Connecting {
            return false;
        }
        self.state = State::Handshaking;
        let phase = handshake::first_phase(&self.opts);
        self.begin(phase)
    }

    /// Encodes the steps of `phase`; `true` when it has none (ready).
    fn begin(&mut self, phase: Phase) -> bool {
        self.phase = phase;
        let mut count = 0;
        let base = self.sent_total;
        handshake::encode(&self.opts, phase, &mut self.send, |step, len| {
            self.fifo
                .push_back(Slot::Handshake(phase, step, base + len as u64));
            count += 1;
        });
        self.handshake_pending = count;
        if count == 0 {
            self.state = State::Ready;
            true
        } else {
            false
        }
    }

    /// Encodes `cmd` and records `tag` as waiting for the next unclaimed reply; before the
    /// connection is ready, only queues `tag` in [`Conn::waiting`]. Returns whether bytes
    /// were added to the send buffer.
    pub(crate) fn push(&mut self, tag: T, cmd: &Cmd) -> bool {
        if self.state == State::Ready {
            cmd.encode(&mut self.send);
            self.fifo.push_back(Slot::User(tag, self.encoded_end()));
            true
        } else {
            self.waiting.push_back(tag);
            false
        }
    }

    /// Encodes `cmd` with no FIFO entry: its answers come as pushes (`SUBSCRIBE` and friends
    /// on a pub/sub connection). Only once ready; returns whether bytes were added.
    pub(crate) fn push_untracked(&mut self, cmd: &Cmd) -> bool {
        if self.state == State::Ready {
            cmd.encode(&mut self.send);
            true
        } else {
            false
        }
    }

    /// `n` bytes were written; returns whether bytes remain.
    pub(crate) fn on_sent(&mut self, n: usize) -> bool {
        let n = n.min(self.send.len());
        self.sent_total += n as u64;
        if n == self.send.len() {
            self.send.clear();
        } else {
            // Compaction: a partial write is rare (the socket was full), a memmove is fine.
            self.send.drain(..n);
        }
        !self.send.is_empty()
    }

    /// For a connection being retired (its shard was removed): drops the bytes not yet
    /// written and hands back, removing them, the tags of the requests that were not
    /// completely written (a command runs only once all its bytes arrived, so none of them
    /// ran). What remains pending was written whole and is still owed its reply.
    ///
    /// Sound because a driver reports `Sent` for what it wrote before any other call into
    /// the core, so the bytes counted as written are exactly those the server may have.
    pub(crate) fn retire(&mut self, mut f: impl FnMut(T)) {
        self.send.clear();
        let sent = self.sent_total;
        let mut unwritten = VecDeque::new();
        while let Some(&Slot::User(tag, end)) = self.fifo.back() {
            if end <= sent {
                break;
            }
            self.fifo.pop_back();
            unwritten.push_front(tag);
        }
        for tag in unwritten.drain(..).chain(self.waiting.drain(..)) {
            f(tag);
        }
    }

    /// Every tag still pending (in flight first, then waiting), removing them, each with
    /// whether its request was completely written to the socket (if not, the server cannot
    /// have run it: a command runs only once all its bytes arrived).
    pub(crate) fn drain_pending(&mut self, mut f: impl FnMut(T, bool)) {
        let sent = self.sent_total;
        for slot in self.fifo.drain(..) {
            if let Slot::User(tag, end) = slot {
                f(tag, end <= sent);
            }
        }
        for tag in self.waiting.drain(..) {
            f(tag, false);
        }
    }

    /// Decodes and dispatches every complete frame of `data` (after what was buffered).
    /// `Ok(true)`: the handshake just completed. `Err`: the connection is broken.
    pub(crate) fn on_received(
        &mut self,
        data: &[u8],
        mut f: impl FnMut(Received<'_, T>),
    ) -> Result<bool, Failure> {
        let was_ready = self.state == State::Ready;
        // The rest of a too-large reply goes by unread.
        let data = if self.skip > 0 {
            let n = data
                .len()
                .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
            self.skip -= n as u64;
            &data[n..]
        } else {
            data
        };
        if self.recv.is_empty() {
            // Fast path: decode straight from the driver's buffer, keep only the tail.
            let used = self.dispatch(data, &mut f)?;
            let tail = &data[used..];
            self.check_recv_len(tail.len())?;
            self.recv.extend_from_slice(tail);
        } else {
            self.reserve_recv(data.len());
            self.recv.extend_from_slice(data);
            let mut recv = core::mem::take(&mut self.recv);
            let result = self.dispatch(&recv, &mut f);
            if let Ok(used) = result {
                recv.drain(..used);
            }
            self.recv = recv;
            result?;
            self.check_recv_len(self.recv.len())?;
        }
        Ok(!was_ready && self.state == State::Ready)
    }

    /// Fails when an incomplete reply of `len` bytes would exceed `max_recv`.
    fn check_recv_len(&self, len: usize) -> Result<(), Failure> {
        if len > self.max_recv {
            return Err(Failure::Decode(DecodeError::new(
                len,
                ErrorKind::ReplyTooLong,
            )));
        }
        Ok(())
    }

    /// Grows `recv` for `more` bytes: doubling (amortised), but never past `max_recv` plus
    /// one read, so the cap bounds the capacity too, not only the length.
    fn reserve_recv(&mut self, more: usize) {
        let need = self.recv.len() + more;
        if need > self.recv.capacity() {
            let target = need
                .max(self.recv.capacity() * 2)
                .min(need.max(self.max_recv));
            self.recv.reserve_exact(target - self.recv.len());
        }
    }

    /// Dispatches the complete frames at the start of `buf`; returns the bytes used.
    fn dispatch(
        &mut self,
        buf: &[u8],
        f: &mut impl FnMut(Received<'_, T>),
    ) -> Result<usize, Failure> {
        let mut pos = 0;
        while pos < buf.len() {
            let too_long = too_long_string(&buf[pos..], self.max_recv)
                // Beyond the protocol's own bulk limit it is not a reply but a broken peer:
                // the decoder refuses it below and the connection goes.
                .filter(|&(_, len)| len <= self.decoder.limits().max_bulk_len as u64);
            if let Some((header, len)) = too_long {
                // Fail that request alone and skip the reply without buffering it.
                let Some(Slot::User(tag, _)) = self.fifo.front().copied() else {
                    return Err(Failure::Decode(DecodeError::new(
                        pos,
                        ErrorKind::ReplyTooLong,
                    )));
                };
                self.fifo.pop_front();
                self.replies_total += 1;
                self.decoder.reset();
                f(Received::TooLarge(tag, len));
                let whole = (header as u64).saturating_add(len).saturating_add(2);
                let here = (buf.len() - pos) as u64;
                if whole > here {
                    self.skip = whole - here;
                    return Ok(buf.len());
                }
                pos += whole as usize;
                continue;
            }
            let (frame, n) = match self.decoder.decode(&buf[pos..]) {
                Ok(Status::Complete(done)) => done,
                Ok(Status::Partial) => break,
                Err(e) => return Err(Failure::Decode(e)),
            };
            pos += n;
            let unclaimed = self.pubsub && self.state == State::Ready && self.fifo.is_empty();
            if frame.is_push() || unclaimed {
                f(Received::Push(frame));
                continue;
            }
            self.replies_total += 1;
            match self.fifo.pop_front() {
                None => return Err(Failure::Unexpected),
                Some(Slot::User(tag, _)) => f(Received::Reply(tag, frame)),
                Some(Slot::Handshake(phase, step, _)) => {
                    self.on_handshake_reply(phase, step, &frame)?;
                }
            }
        }
        Ok(pos)
    }

    fn on_handshake_reply(
        &mut self,
        phase: Phase,
        step: Step,
        frame: &Frame<'_>,
    ) -> Result<(), Failure> {
        if phase != self.phase || self.state != State::Handshaking {
            return Ok(()); // a step of an abandoned phase (HELLO refused, then RESP2)
        }
        if let Some(message) = frame.error_message() {
            if step == Step::Hello && handshake::may_fall_back(&self.opts, message) {
                self.begin(Phase::Resp2);
                return Ok(());
            }
            return Err(Failure::Handshake {
                step: step.name(),
                message: String::from_utf8_lossy(message).into_owned(),
            });
        }
        self.handshake_pending -= 1;
        if self.handshake_pending == 0 {
            self.state = State::Ready;
        }
        Ok(())
    }
}

/// When `buf` starts with the whole header of a top-level string (`$`, `!` blob error, `=`
/// verbatim) announcing more than `limit` bytes: the header's length and the announced length.
fn too_long_string(buf: &[u8], limit: usize) -> Option<(usize, u64)> {
    if !matches!(buf.first(), Some(b'$' | b'!' | b'=')) {
        return None;
    }
    let mut len: u64 = 0;
    for (i, &b) in buf.iter().enumerate().skip(1).take(21) {
        match b {
            b'0'..=b'9' => len = len.checked_mul(10)?.checked_add(u64::from(b - b'0'))?,
            b'\r' if i > 1 => {
                return (buf.get(i + 1) == Some(&b'\n') && len > limit as u64)
                    .then_some((i + 2, len));
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests;
