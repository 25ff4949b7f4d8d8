//! [`SendQueue`]: the bytes a connection has yet to write, in stream order.
//!
//! Small commands are copied into one contiguous buffer (coalesced: every command queued
//! since the last write goes out in one `write`, and the buffer's capacity is reused, so a
//! small command costs no allocation). A large command (its encoding at least
//! [`LARGE_CMD`] bytes) is not copied: its `*N\r\n` header goes into the buffer and its
//! body, the words already encoded inside the [`Cmd`], is *spliced* in after it, shared
//! with the request ([`SharedCmd`]). The queue hands the driver its pending bytes as a
//! sequence of slices ([`SendQueue::slices`], for a vectored write) and consumes written
//! bytes across them ([`SendQueue::consume`]).
//!
//! A splice keeps its command alive until its last byte is written, whatever happens to
//! the request meanwhile (cancelled, timed out): bytes once queued are written whole, so
//! the stream stays intact.

use alloc::collections::vec_deque;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Deref;

use crate::command::Cmd;

/// Commands whose encoding is at least this long are queued without a copy (spliced);
/// shorter ones are copied into the contiguous buffer. At 16 KiB the copy costs about as
/// much as the write of those bytes; below it, one contiguous buffer (one write, no
/// per-command allocation) wins.
pub(crate) const LARGE_CMD: usize = 16 * 1024;

/// A request's command as the ring keeps it: owned until it is first queued as a large
/// command, then shared with the send queue(s) carrying it (a re-sent large command is not
/// copied either).
#[derive(Debug)]
pub(crate) enum SharedCmd {
    /// Owned by the request alone.
    Own(Cmd),
    /// Shared with a send queue.
    Shared(Arc<Cmd>),
}

impl SharedCmd {
    /// The command, shared: an owned one moves into an `Arc` (one small allocation, once).
    fn share(&mut self) -> Arc<Cmd> {
        match self {
            SharedCmd::Shared(cmd) => cmd.clone(),
            SharedCmd::Own(cmd) => {
                let cmd = Arc::new(core::mem::replace(cmd, Cmd::new("")));
                *self = SharedCmd::Shared(cmd.clone());
                cmd
            }
        }
    }
}

impl From<Cmd> for SharedCmd {
    fn from(cmd: Cmd) -> SharedCmd {
        SharedCmd::Own(cmd)
    }
}

impl Deref for SharedCmd {
    type Target = Cmd;

    fn deref(&self) -> &Cmd {
        match self {
            SharedCmd::Own(cmd) => cmd,
            SharedCmd::Shared(cmd) => cmd,
        }
    }
}

/// A large command's body, to be written at offset `at` of the contiguous buffer (after
/// the bytes before `at`, before those from `at` on).
#[derive(Debug)]
struct Splice {
    at: usize,
    cmd: Arc<Cmd>,
}

/// The bytes not yet written. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct SendQueue {
    /// Small commands and large commands' headers, in stream order.
    buf: Vec<u8>,
    /// Large commands' bodies, by offset in `buf` (non-decreasing).
    splices: VecDeque<Splice>,
    /// Bytes of the front splice's body already written (non-zero only when its `at` is 0:
    /// everything before it was written).
    head: usize,
    /// Bytes of every splice's body, the front one's written part included.
    spliced: usize,
}

impl SendQueue {
    /// Bytes not yet written.
    pub(crate) fn len(&self) -> usize {
        self.buf.len() + self.spliced - self.head
    }

    /// Whether nothing is left to write.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The end of the contiguous buffer, to append small encodings to (they come after
    /// everything queued so far).
    pub(crate) fn tail(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Queues `cmd`, copied.
    pub(crate) fn push(&mut self, cmd: &Cmd) {
        cmd.encode(&mut self.buf);
    }

    /// Queues `cmd`: copied when small, spliced in (shared, not copied) when large.
    pub(crate) fn push_shared(&mut self, cmd: &mut SharedCmd) {
        if cmd.encoded_len() < LARGE_CMD {
            return self.push(cmd);
        }
        let cmd = cmd.share();
        cmd.encode_header(&mut self.buf);
        self.spliced += cmd.body().len();
        self.splices.push_back(Splice {
            at: self.buf.len(),
            cmd,
        });
    }

    /// The bytes to write, in order: the contiguous buffer's runs and the spliced bodies.
    /// No slice is empty; without a large command there is at most one.
    pub(crate) fn slices(&self) -> Slices<'_> {
        Slices {
            buf: &self.buf,
            pos: 0,
            splices: self.splices.iter(),
            head: self.head,
            body: None,
        }
    }

    /// The first slice of [`SendQueue::slices`] (empty when nothing is queued).
    pub(crate) fn first(&self) -> &[u8] {
        match self.splices.front() {
            // Only small commands: the whole buffer (the common case, no iterator).
            None => &self.buf,
            Some(s) if s.at > 0 => self.buf.get(..s.at).unwrap_or(&[]),
            Some(s) => s.cmd.body().get(self.head..).unwrap_or(&[]),
        }
    }

    /// Drops the first `n` bytes (at most [`SendQueue::len`]), across slices; returns how
    /// many were dropped. A splice written to its end releases its command.
    pub(crate) fn consume(&mut self, n: usize) -> usize {
        if self.splices.is_empty() {
            // Only small commands (the common case).
            let n = n.min(self.buf.len());
            if n == self.buf.len() {
                self.buf.clear();
            } else {
                // Compaction: a partial write (the socket was full), a memmove is fine.
                self.buf.drain(..n);
            }
            return n;
        }
        let n = n.min(self.len());
        let mut left = n;
        // Bytes of `buf` written (a prefix).
        let mut done = 0;
        while left > 0 {
            let Some(front) = self.splices.front() else {
                done += left;
                break;
            };
            let run = (front.at - done).min(left);
            done += run;
            left -= run;
            if left == 0 {
                break;
            }
            let body = front.cmd.body().len();
            let take = (body - self.head).min(left);
            self.head += take;
            left -= take;
            if self.head == body {
                self.splices.pop_front();
                self.spliced -= body;
                self.head = 0;
            }
        }
        if done == self.buf.len() && self.splices.is_empty() {
            self.buf.clear();
        } else if done > 0 {
            // Compaction: a partial write (the socket was full); a memmove of the small
            // bytes only, the spliced bodies stay where they are.
            self.buf.drain(..done);
            for s in &mut self.splices {
                s.at -= done;
            }
        }
        n
    }

    /// Drops everything not yet written.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.splices.clear();
        self.head = 0;
        self.spliced = 0;
    }
}

/// The slices of a [`SendQueue`] (see [`SendQueue::slices`]).
#[derive(Clone, Debug)]
pub(crate) struct Slices<'a> {
    buf: &'a [u8],
    /// Where the next run of `buf` starts.
    pos: usize,
    splices: vec_deque::Iter<'a, Splice>,
    /// Bytes to skip of the next splice's body (the front one's written part).
    head: usize,
    /// A body to yield before going on in `buf`.
    body: Option<&'a [u8]>,
}

impl<'a> Iterator for Slices<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if let Some(body) = self.body.take() {
                if !body.is_empty() {
                    return Some(body);
                }
            }
            let Some(s) = self.splices.next() else {
                let rest = self.buf.get(self.pos..).filter(|r| !r.is_empty());
                self.pos = self.buf.len();
                return rest;
            };
            let body = s.cmd.body();
            self.body = body.get(core::mem::take(&mut self.head)..);
            let run = self.buf.get(self.pos..s.at).unwrap_or(&[]);
            self.pos = s.at;
            if !run.is_empty() {
                return Some(run);
            }
        }
    }
}
