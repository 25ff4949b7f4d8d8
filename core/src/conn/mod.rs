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
    /// A RESP3 push frame (never the reply to a request), or, on a connection in pub/sub
    /// mode ([`Conn::pubsub`]), any frame no request waits for (RESP2 message arrays).
    Push(Frame<'f>),
}

/// An entry of the FIFO: who is waiting for the next reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot<T> {
    /// A handshake step of a phase (replies of an abandoned phase are skipped).
    Handshake(Phase, Step),
    /// A request of the ring.
    User(T),
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
    /// Bytes received but not yet decoded (only ever the start of an incomplete frame).
    recv: Vec<u8>,
    /// Most bytes `recv` may hold (`Config::max_reply_len`).
    max_recv: usize,
    decoder: Decoder,
    fifo: VecDeque<Slot<T>>,
    /// How many of the newest `fifo` entries still have bytes in `send` (not fully
    /// written): the rest are in flight.
    unsent: usize,
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
            recv: Vec::new(),
            max_recv,
            decoder: Decoder::new(limits),
            fifo: VecDeque::new(),
            unsent: 0,
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
                .filter(|s| matches!(s, Slot::User(_)))
                .count()
    }

    /// Requests and handshake steps written and not answered yet: a reply is on its way
    /// (the driver need not be woken to write more: it writes when that reply comes).
    pub(crate) fn in_flight(&self) -> usize {
        self.fifo.len().saturating_sub(self.unsent)
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
        handshake::encode(&self.opts, phase, &mut self.send, |step| {
            self.fifo.push_back(Slot::Handshake(phase, step));
            self.unsent += 1;
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
            self.fifo.push_back(Slot::User(tag));
            self.unsent += 1;
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
        if n == self.send.len() {
            self.send.clear();
            self.unsent = 0;
        } else {
            // Compaction: a partial write is rare (the socket was full), a memmove is fine.
            self.send.drain(..n);
        }
        !self.send.is_empty()
    }

    /// Every tag still pending (in flight first, then waiting), removing them.
    pub(crate) fn drain_pending(&mut self, mut f: impl FnMut(T)) {
        self.unsent = 0;
        for slot in self.fifo.drain(..) {
            if let Slot::User(tag) = slot {
                f(tag);
            }
        }
        for tag in self.waiting.drain(..) {
            f(tag);
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
                Some(Slot::User(tag)) => f(Received::Reply(tag, frame)),
                Some(Slot::Handshake(phase, step)) => {
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

#[cfg(test)]
mod tests;
