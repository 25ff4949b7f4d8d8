//! The futures of requests: one command ([`Request`]) or a group submitted at once
//! ([`Gather`]), each sent where its [`Target`] says, and a small [`join_all`].
//!
//! A request is submitted on its future's first poll (a future never polled sends nothing)
//! under the shared lock — the caller drives the core itself, so a refusal (all shards
//! down, cross-shard keys) comes back at once — then waits for its reply slot to be filled
//! by whoever drains the core. Dropping the future before the reply cancels the request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use redis_ring_core::command::Cmd;
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{RequestId, RingCore, TxId};
use redis_ring_core::time::Instant;

use crate::observe::{self, Ended, Op};
use crate::state::{reentrant, Shared, State};

/// Where a request goes.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// Routed by the ring: its keys' shard, split per shard...
    Ring,
    /// Pinned to the named shard.
    Shard(Arc<str>),
    /// Inside a transaction, on its dedicated connection.
    Tx(TxId),
}

impl Target {
    /// Hands `cmd` to the core.
    fn submit(
        &self,
        core: &mut RingCore,
        cmd: Cmd,
        timeout: Option<Duration>,
        now: Instant,
    ) -> Result<RequestId, Error> {
        match (self, timeout) {
            (Target::Ring, None) => core.submit(cmd, now),
            (Target::Ring, Some(t)) => core.submit_with_timeout(cmd, t, now),
            (Target::Shard(name), None) => core.submit_to_shard(name, cmd, now),
            (Target::Shard(name), Some(t)) => core.submit_to_shard_with_timeout(name, cmd, t, now),
            // A transaction's commands use the configured command timeout.
            (Target::Tx(tx), _) => core.submit_in(*tx, cmd, now),
        }
    }
}

/// `cmd`, declared idempotent when the handle it was sent through says so
/// (`Ring::idempotent`); a declaration the caller made on the command itself is kept.
pub(crate) fn declared(mut cmd: Cmd, idempotent: bool) -> Cmd {
    if idempotent {
        cmd.set_idempotent(true);
    }
    cmd
}
/// A reply taken from its slot, with how it ended.
type Replied = (Result<Value, Error>, Ended);

/// Submits `cmd` to `target` at `now`, registering `waker` for its reply; returns the id and
/// the reply if it came at once (a command failed fast).
fn submit_one(
    st: &mut State,
    target: &Target,
    cmd: Cmd,
    timeout: Option<Duration>,
    now: Instant,
    waker: &Waker,
) -> Result<(RequestId, Option<Replied>), Error> {
    if st.closing {
        return Err(Error::Closed {
            command: CmdName::new(cmd.name()),
        });
    }
    st.io_stats.commands += 1;
    let submitted = target.submit(&mut st.core, cmd, timeout, now);
    let id = match submitted {
        Ok(id) => id,
        Err(e) => {
            st.drain();
            return Err(e);
        }
    };
    let lone = st.waiting() == 0;
    st.inline = lone;
    st.expect(id, Some(waker.clone()), 0);
    st.drain();
    st.inline = false;
    st.submitted(lone);
    Ok((id, st.take_reply_from(id, None)))
}

/// The future of one command.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    shared: &'a Shared,
    target: Target,
    state: ReqState,
    /// Its span and duration (`tracing` / `metrics` features), from the first poll.
    op: Option<Op>,
}

/// What a request's first poll came to.
enum Submitted {
    /// Sent; its reply is awaited.
    Waiting(RequestId),
    /// Answered at once: failed fast in the core, or refused before.
    Done(Result<Value, Error>),
}

#[derive(Debug)]
enum ReqState {
    New(Cmd, Option<Duration>),
    Waiting(RequestId),
    Done,
}

impl<'a> Request<'a> {
    pub(crate) fn new(
        shared: &'a Shared,
        target: Target,
        cmd: Cmd,
        timeout: Option<Duration>,
    ) -> Self {
        Request {
            shared,
            target,
            state: ReqState::New(cmd, timeout),
            op: None,
        }
    }
}

impl Future for Request<'_> {
    type Output = Result<Value, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.shared;
        match std::mem::replace(&mut this.state, ReqState::Done) {
            ReqState::New(cmd, _) if shared.reentrant() => {
                Poll::Ready(Err(reentrant(CmdName::new(cmd.name()))))
            }
            ReqState::New(cmd, timeout) => {
                let target = &this.target;
                let name = CmdName::new(cmd.name());
                // The op stays in place: resolved under the lock (a span's shard names are
                // the core's), finished after it.
                let op = &mut this.op;
                let submitted = shared.with(|st| {
                    let now = shared.now();
                    let op = op.insert(Op::start(name, 1, st.core.config().conn.db, now));
                    match submit_one(st, target, cmd, timeout, now, cx.waker()) {
                        Err(e) => {
                            op.resolve(st, None, Some(&e));
                            Submitted::Done(Err(e))
                        }
                        Ok((_, Some((result, ended)))) => {
                            op.resolve(st, Some(&ended), result.as_ref().err());
                            Submitted::Done(result)
                        }
                        Ok((id, None)) => Submitted::Waiting(id),
                    }
                });
                match submitted {
                    Submitted::Done(result) => {
                        if let Some(op) = this.op.take() {
                            op.finish(result.as_ref().err());
                        }
                        Poll::Ready(result)
                    }
                    Submitted::Waiting(id) => {
                        this.state = ReqState::Waiting(id);
                        Poll::Pending
                    }
                }
            }
            ReqState::Waiting(id) => {
                let op = &mut this.op;
                let taken = shared.with(|st| {
                    let (result, ended) = st.take_reply_from(id, Some(cx.waker()))?;
                    if let Some(op) = op.as_mut() {
                        op.resolve(st, Some(&ended), result.as_ref().err());
                    }
                    Some(result)
                });
                match taken {
                    Some(result) => {
                        if let Some(op) = this.op.take() {
                            op.finish(result.as_ref().err());
                        }
                        Poll::Ready(result)
                    }
                    None => {
                        this.state = ReqState::Waiting(id);
                        Poll::Pending
                    }
                }
            }
            ReqState::Done => Poll::Ready(Err(Error::InvalidCommand {
                command: CmdName::new(b"?"),
                reason: "internal: a request future was polled after completion",
            })),
        }
    }
}

impl Drop for Request<'_> {
    fn drop(&mut self) {
        if let ReqState::Waiting(id) = self.state {
            self.shared.with(|st| st.forget(id));
        }
    }
}

/// How a [`Gather`] submits a custom group: one id or refusal per result slot.
pub(crate) type SubmitFn =
    Box<dyn FnOnce(&mut RingCore, Instant) -> Vec<Result<RequestId, Error>> + Send>;

/// What a [`Gather`] submits on its first poll.
enum Submit<'a> {
    /// Commands to one target, one result each: the common case (pipelines, a
    /// transaction's writes), neither boxed nor collected into a `Vec` of ids. The commands
    /// are drained from the caller's `Vec`, which keeps its capacity for the next batch.
    Batch {
        target: Target,
        cmds: &'a mut Vec<Cmd>,
        timeout: Option<Duration>,
    },
    /// Anything else (a per-key `MGET`).
    Custom(SubmitFn),
}

/// One result slot of a [`Gather`].
#[derive(Debug)]
enum Slot {
    /// Submitted, reply not taken yet.
    Waiting(RequestId),
    /// The result (a refusal at submit, or the reply).
    Done(Result<Value, Error>),
}

/// A group of requests submitted together on the first poll, under one lock (so each
/// shard's share leaves in one write); resolves to their results in slot order. Dropping it
/// before the end cancels what is still pending.
///
/// One allocation per group in steady state: its slots, which become the results `Vec` in
/// place (a `Slot` is the size of a result).
pub(crate) struct Gather<'a> {
    shared: &'a Shared,
    name: CmdName,
    /// Results given when the ring is closed before the submit.
    n: usize,
    submit: Option<Submit<'a>>,
    slots: Vec<Slot>,
    /// The state's group of the slots (0 before the submit): one wake-up for all of them.
    group: u64,
    /// Index of the first slot still waiting.
    next: usize,
    /// What spans and metrics call it: `PIPELINE`, `MULTI`, or the one command's name.
    op_name: CmdName,
    /// Its span and duration (`tracing` / `metrics` features), from the first poll.
    op: Option<Op>,
    /// The shard of the first reply and the instant of the last (for the span and the
    /// metric).
    ended: Ended,
}

impl std::fmt::Debug for Gather<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gather")
            .field("name", &self.name)
            .field("slots", &self.slots)
            .finish_non_exhaustive()
    }
}

impl<'a> Gather<'a> {
    /// `name` names the error of each of the `n` results when the ring is closed.
    pub(crate) fn new(shared: &'a Shared, name: CmdName, n: usize, submit: SubmitFn) -> Self {
        Gather::with(shared, name, n, Submit::Custom(submit))
    }

    fn with(shared: &'a Shared, name: CmdName, n: usize, submit: Submit<'a>) -> Self {
        Gather {
            shared,
            name,
            n,
            submit: Some(submit),
            slots: Vec::new(),
            group: 0,
            next: 0,
            op_name: name,
            op: None,
            ended: Ended::default(),
        }
    }

    /// `cmds` to `target`, one result each; `cmds` is empty afterwards (its capacity kept).
    pub(crate) fn batch(
        shared: &'a Shared,
        target: Target,
        cmds: &'a mut Vec<Cmd>,
        timeout: Option<Duration>,
    ) -> Self {
        let name = CmdName::new(cmds.first().map_or(&b"PIPELINE"[..], |c| c.name()));
        // A batch is a `PIPELINE`, a transaction's a `MULTI` (as the conventions name them).
        let op_name = match &target {
            Target::Tx(_) => CmdName::new(b"MULTI"),
            _ if cmds.len() > 1 => CmdName::new(b"PIPELINE"),
            _ => name,
        };
        let n = cmds.len();
        let mut gather = Gather::with(
            shared,
            name,
            n,
            Submit::Batch {
                target,
                cmds,
                timeout,
            },
        );
        gather.op_name = op_name;
        gather
    }

    /// Submits everything under `st`, one slot each, all in one group.
    fn submit(&mut self, submit: Submit<'_>, st: &mut State, now: Instant) {
        let lone = st.waiting() == 0;
        self.group = st.new_group();
        self.slots.reserve_exact(self.n);
        let mut add = |st: &mut State, r: Result<RequestId, Error>| match r {
            Ok(id) => {
                st.io_stats.commands += 1;
                st.expect(id, None, self.group);
                self.slots.push(Slot::Waiting(id));
            }
            Err(e) => {
                st.io_stats.commands += 1;
                self.slots.push(Slot::Done(Err(e)));
            }
        };
        match submit {
            Submit::Batch {
                target,
                cmds,
                timeout,
            } => {
                for cmd in cmds.drain(..) {
                    let r = target.submit(&mut st.core, cmd, timeout, now);
                    add(st, r);
                }
            }
            Submit::Custom(f) => {
                for r in f(&mut st.core, now) {
                    add(st, r);
                }
            }
        }
        st.inline = true;
        st.drain();
        st.inline = false;
        st.submitted(lone);
    }
}

impl Future for Gather<'_> {
    type Output = Vec<Result<Value, Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.shared;
        if this.submit.is_some() && shared.reentrant() {
            return Poll::Ready(vec![Err(reentrant(this.name)); this.n]);
        }
        let mut st = shared.lock();
        if let Some(submit) = this.submit.take() {
            if st.closing {
                drop(st);
                let closed = Error::Closed { command: this.name };
                return Poll::Ready(vec![Err(closed); this.n]);
            }
            let db = st.core.config().conn.db;
            let now = shared.now();
            this.op = Some(Op::start(this.op_name, this.n, db, now));
            this.submit(submit, &mut st, now);
        }
        // Woken once, when the last reply has come.
        if !st.group_done(this.group, cx.waker()) {
            Shared::unlock_and_wake(st);
            return Poll::Pending;
        }
        // Collect what came (everything, unless a slot went missing: then wait on it).
        while this.next < this.slots.len() {
            let i = this.next;
            if let Slot::Waiting(id) = this.slots[i] {
                match st.take_reply_from(id, Some(cx.waker())) {
                    Some((result, ended)) => {
                        observe::extend(&mut this.ended, &ended, i == 0);
                        this.slots[i] = Slot::Done(result);
                    }
                    None => {
                        Shared::unlock_and_wake(st);
                        return Poll::Pending;
                    }
                }
            }
            this.next += 1;
        }
        st.end_group(this.group);
        if let Some(op) = this.op.as_mut() {
            let error = observe::first_error(this.slots.iter().filter_map(|s| match s {
                Slot::Done(r) => Some(r),
                Slot::Waiting(_) => None,
            }));
            op.resolve(&mut st, Some(&this.ended), error);
        }
        Shared::unlock_and_wake(st);
        let name = this.name;
        let results: Vec<Result<Value, Error>> = std::mem::take(&mut this.slots)
            .into_iter()
            .map(|s| match s {
                Slot::Done(r) => r,
                Slot::Waiting(_) => Err(Error::InvalidCommand {
                    command: name,
                    reason: "internal: a result went missing",
                }),
            })
            .collect();
        if let Some(op) = this.op.take() {
            op.finish(observe::first_error(&results));
        }
        Poll::Ready(results)
    }
}

impl Drop for Gather<'_> {
    fn drop(&mut self) {
        if self.slots.iter().any(|s| matches!(s, Slot::Waiting(_))) {
            self.shared.with(|st| {
                st.end_group(self.group);
                for s in &self.slots {
                    if let Slot::Waiting(id) = s {
                        st.forget(*id);
                    }
                }
            });
        }
    }
}

/// Runs every future of `futs` concurrently (on the caller's task) and returns their
/// outputs in order.
pub(crate) async fn join_all<F: Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
