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
//! 4. [`Conn::push`] encodes a request straight into the send queue (once ready) and
//!    records its tag in the FIFO ([`Conn::push_shared`]: a large request's bytes are
//!    shared, not copied, see [`send`]); [`Conn::on_sent`] drops written bytes.

mod handshake;
pub(crate) mod send;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::command::Cmd;
use crate::config::ConnOptions;
use crate::error::CmdName;
use crate::resp::{DecodeError, Decoder, ErrorKind, Frame, Limits, Skipper, Status};

use handshake::Phase;
pub(crate) use handshake::Step;
use send::SendQueue;
pub(crate) use send::{SharedCmd, Slices};

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
    /// The reply to the request tagged `tag` is over the connection's limit
    /// (`Config::max_reply_len`): the request fails alone and the rest of the reply (the
    /// whole frame, an aggregate included) is skipped as it streams in, never buffered.
    /// The size is the length a string in it announced (at top level or nested), or, for
    /// an aggregate whose elements add up to more than the limit, the bytes received of it
    /// when it was given up (more than the limit).
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
    send: SendQueue,
    /// Bytes written so far (reported by `Sent`): a request whose last byte lies beyond
    /// was not completely written, so the server cannot have run it.
    sent_total: u64,
    /// Bytes received but not yet decoded (only ever the start of an incomplete frame).
    recv: Vec<u8>,
    /// Most bytes `recv` may hold (`Config::max_reply_len`).
    max_recv: usize,
    /// The protocol's limits (`Config::limits`): what the skipper enforces. The decoder
    /// enforces the same, with strings capped at `max_recv` too.
    limits: Limits,
    /// Walking past a reply given up on (see [`Received::TooLarge`]); boxed: it is rare,
    /// and its fixed-size state is about 1 KiB.
    skip: Option<Box<Skipper>>,
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
            send: SendQueue::default(),
            sent_total: 0,
            recv: Vec::new(),
            max_recv,
            limits,
            skip: None,
            // A string longer than a reply may be is refused by the decoder as soon as its
            // header arrives: the connection then gives up on that reply (`dispatch`).
            decoder: Decoder::new(Limits {
                max_bulk_len: limits.max_bulk_len.min(max_recv),
                ..limits
            }),
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

    /// The first run of bytes to write: all of them unless a large command is queued
    /// (see [`Conn::send_slices`]).
    pub(crate) fn send_buf(&self) -> &[u8] {
        self.send.first()
    }

    /// Every byte to write, as a sequence of non-empty slices (for a vectored write).
    pub(crate) fn send_slices(&self) -> Slices<'_> {
        self.send.slices()
    }

    /// The number of bytes to write (over every slice).
    pub(crate) fn send_len(&self) -> usize {
        self.send.len()
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
        // Stream offset = where the buffer's end is now + what the step added to it.
        let end = self.encoded_end();
        let tail = self.send.tail();
        let base = end - tail.len() as u64;
        handshake::encode(&self.opts, phase, tail, |step, len| {
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

    /// Encodes `cmd` (a copy) and records `tag` as waiting for the next unclaimed reply;
    /// before the connection is ready, only queues `tag` in [`Conn::waiting`]. Returns
    /// whether bytes were added to the send queue. For the ring's own small commands;
    /// requests go through [`Conn::push_shared`].
    pub(crate) fn push(&mut self, tag: T, cmd: &Cmd) -> bool {
        self.enqueue(tag, |q| q.push(cmd))
    }

    /// [`Conn::push`] for a request's command: a large one is queued without a copy, its
    /// bytes shared between the request and the send queue (see [`send`]).
    pub(crate) fn push_shared(&mut self, tag: T, cmd: &mut SharedCmd) -> bool {
        self.enqueue(tag, |q| q.push_shared(cmd))
    }

    /// Queues `tag`'s command with `encode` once ready, else `tag` alone in `waiting`.
    fn enqueue(&mut self, tag: T, encode: impl FnOnce(&mut SendQueue)) -> bool {
        if self.state == State::Ready {
            encode(&mut self.send);
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
            self.send.push(cmd);
            true
        } else {
            false
        }
    }

    /// `n` bytes were written (across the queue's slices); returns whether bytes remain.
    pub(crate) fn on_sent(&mut self, n: usize) -> bool {
        self.sent_total += self.send.consume(n) as u64;
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
        let mut data = data;
        // The rest of a reply given up on goes by unread.
        if let Some(skip) = self.skip.as_mut() {
            match skip.feed(data).map_err(Failure::Decode)? {
                None => return Ok(false),
                Some(n) => {
                    self.skip = None;
                    data = &data[n..];
                }
            }
        }
        if self.recv.is_empty() {
            // Fast path: decode straight from the driver's buffer, keep only the tail.
            let used = self.dispatch(data, &mut f)?;
            let tail = &data[used..];
            if tail.len() > self.max_recv {
                self.give_up(tail, &mut f)?;
            } else {
                self.recv.extend_from_slice(tail);
            }
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
            if self.recv.len() > self.max_recv {
                let recv = core::mem::take(&mut self.recv);
                self.give_up(&recv, &mut f)?;
            }
        }
        Ok(!was_ready && self.state == State::Ready)
    }

    /// An incomplete reply, `start` (all its bytes so far), holds more than `max_recv`
    /// (an aggregate whose elements add up past the limit): its request fails alone and
    /// the rest of it is skipped. Only a reply with no request to fail (a push frame, a
    /// handshake step's reply) drops the connection.
    fn give_up(
        &mut self,
        start: &[u8],
        f: &mut impl FnMut(Received<'_, T>),
    ) -> Result<(), Failure> {
        let too_long = Failure::Decode(DecodeError::new(start.len(), ErrorKind::ReplyTooLong));
        let Some(tag) = self.claimant(start) else {
            return Err(too_long);
        };
        self.fail_and_skip(tag, start.len() as u64, f);
        match self.feed_skipper(start)? {
            // The decoder found the frame incomplete, and so must the skipper.
            Some(_) => Err(too_long),
            None => Ok(()),
        }
    }

    /// The request the frame starting `frame` answers, when there is one: only those can
    /// fail alone. Never on a pub/sub connection: there a frame may be a message (RESP2
    /// sends them as plain arrays), which must not be skipped silently.
    fn claimant(&self, frame: &[u8]) -> Option<T> {
        if self.state != State::Ready || self.pubsub || frame.first() == Some(&b'>') {
            return None;
        }
        match self.fifo.front() {
            Some(&Slot::User(tag, _)) => Some(tag),
            _ => None,
        }
    }

    /// Fails the request `tag` (the FIFO's front) with [`Received::TooLarge`] and starts
    /// skipping its reply from the start (fed with [`Conn::feed_skipper`]).
    fn fail_and_skip(&mut self, tag: T, size: u64, f: &mut impl FnMut(Received<'_, T>)) {
        self.decoder.reset();
        self.skip = Some(Box::new(Skipper::new(self.limits)));
        self.fail_too_large(tag, size, f);
    }

    /// Fails the request `tag` (the FIFO's front) with [`Received::TooLarge`].
    fn fail_too_large(&mut self, tag: T, size: u64, f: &mut impl FnMut(Received<'_, T>)) {
        self.fifo.pop_front();
        self.replies_total += 1;
        f(Received::TooLarge(tag, size));
    }

    /// Feeds the skipper `data`: `Some(n)` when the skipped reply ended after `n` bytes
    /// (the skipper is gone), `None` when all of `data` was skipped.
    fn feed_skipper(&mut self, data: &[u8]) -> Result<Option<usize>, Failure> {
        let Some(skip) = self.skip.as_mut() else {
            return Ok(Some(0));
        };
        let done = skip.feed(data).map_err(Failure::Decode)?;
        if done.is_some() {
            self.skip = None;
        }
        Ok(done)
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
                Err(e) if e.kind() == ErrorKind::BulkTooLong => {
                    // A string (at top level or nested) longer than a reply may be.
                    let frame = &buf[pos..];
                    let Some(announced) = announced_len(frame, e.offset()) else {
                        break; // its length is still arriving
                    };
                    let claimant = self.claimant(frame);
                    if announced > self.limits.max_bulk_len as u64 {
                        // Beyond the protocol's own limit: not a reply but a broken peer.
                        return Err(Failure::Decode(e));
                    }
                    let Some(tag) = claimant else {
                        let at = pos + e.offset();
                        return Err(Failure::Decode(DecodeError::new(
                            at,
                            ErrorKind::ReplyTooLong,
                        )));
                    };
                    // Fail that request alone and skip the whole reply without buffering it.
                    self.fail_and_skip(tag, announced, f);
                    match self.feed_skipper(frame)? {
                        Some(n) => {
                            pos += n;
                            continue;
                        }
                        None => return Ok(buf.len()),
                    }
                }
                Err(e) => return Err(Failure::Decode(e)),
            };
            if n > self.max_recv {
                // Over the limit though it came whole in one read: the same verdict as had
                // it come in pieces, whatever the reads' sizes.
                if let Some(tag) = self.claimant(&buf[pos..]) {
                    self.fail_too_large(tag, n as u64, f);
                    pos += n;
                    continue;
                }
            }
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

/// The length announced by the string header whose digits start at `at` in `frame` (where
/// the decoder reported `BulkTooLong`), once the header is whole; `None` while its digits
/// are still arriving. A length past `u64` reads as `u64::MAX` (over any limit).
fn announced_len(frame: &[u8], at: usize) -> Option<u64> {
    let mut len: u64 = 0;
    for (i, &b) in frame.get(at..)?.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                len = len.saturating_mul(10).saturating_add(u64::from(b - b'0'));
            }
            // The decoder validated the digits so far; whatever ends them, the length is known.
            _ if i > 0 => return Some(len),
            _ => return Some(u64::MAX),
        }
    }
    None
}

#[cfg(test)]
mod tests;
