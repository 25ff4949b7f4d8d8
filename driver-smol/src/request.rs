//! The futures of requests: one command ([`Request`]) or several at once ([`Batch`]),
//! each sent where its [`Target`] says, and a small `join_all` for per-shard calls.
//!
//! A request is submitted on its future's first poll (a future never polled sends nothing)
//! under the shared lock, then waits for its reply slot to be filled by whoever drains the
//! core. Dropping the future before the reply cancels the request in the core.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use redis_ring_core::command::Cmd;
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{RequestId, TxId};

use crate::shared::{Shared, State};

/// Where a request goes.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// Routed by the ring (`RingCore::submit`): its keys' shard, split per shard...
    Ring,
    /// Pinned to the named shard (`RingCore::submit_to_shard`).
    Shard(Arc<str>),
    /// Inside a transaction, on its dedicated connection (`RingCore::submit_in`).
    Tx(TxId),
}

/// Submits `cmd` to `target`, registering `waker` for its reply; returns the id and the
/// reply if it came at once (a command failed fast).
pub(crate) fn submit(
    shared: &Shared,
    st: &mut State,
    target: &Target,
    cmd: Cmd,
    timeout: Option<Duration>,
    waker: Option<&Waker>,
) -> Result<(RequestId, Option<Result<Value, Error>>), Error> {
    if st.closing {
        return Err(Error::Closed {
            command: CmdName::new(cmd.name()),
        });
    }
    let now = shared.now();
    let core = &mut st.core;
    let submitted = match (target, timeout) {
        (Target::Ring, None) => core.submit(cmd, now),
        (Target::Ring, Some(t)) => core.submit_with_timeout(cmd, t, now),
        (Target::Shard(name), None) => core.submit_to_shard(name, cmd, now),
        (Target::Shard(name), Some(t)) => core.submit_to_shard_with_timeout(name, cmd, t, now),
        // A transaction's commands use the configured command timeout.
        (Target::Tx(tx), _) => core.submit_in(*tx, cmd, now),
    };
    st.io_stats.commands += 1;
    let id = match submitted {
        Ok(id) => id,
        Err(e) => {
            st.drain();
            return Err(e);
        }
    };
    st.expect(id, waker.cloned());
    st.drain();
    Ok((id, st.take_reply(id, None)))
}

/// The future of one command.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    shared: &'a Shared,
    target: Target,
    state: ReqState,
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
        }
    }
}

impl Future for Request<'_> {
    type Output = Result<Value, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.shared;
        match std::mem::replace(&mut this.state, ReqState::Done) {
            ReqState::New(cmd, timeout) => {
                let target = &this.target;
                match shared.with(|st| submit(shared, st, target, cmd, timeout, Some(cx.waker()))) {
                    Err(e) => Poll::Ready(Err(e)),
                    Ok((_, Some(result))) => Poll::Ready(result),
                    Ok((id, None)) => {
                        this.state = ReqState::Waiting(id);
                        Poll::Pending
                    }
                }
            }
            ReqState::Waiting(id) => match shared.with(|st| st.take_reply(id, Some(cx.waker()))) {
                Some(result) => Poll::Ready(result),
                None => {
                    this.state = ReqState::Waiting(id);
                    Poll::Pending
                }
            },
            ReqState::Done => panic!("redis-ring request polled after completion"),
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

/// The future of several commands to one target: every command submitted on the first
/// poll, under one lock (so each shard's share leaves in one write); then it waits, woken by
/// the first command still without a result. Results come in submission order.
#[derive(Debug)]
pub(crate) struct Batch<'a> {
    shared: &'a Shared,
    target: Target,
    todo: Option<(Vec<Cmd>, Option<Duration>)>,
    ids: Vec<Option<RequestId>>,
    results: Vec<Option<Result<Value, Error>>>,
    /// Index of the first command still without a result.
    next: usize,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(
        shared: &'a Shared,
        target: Target,
        cmds: Vec<Cmd>,
        timeout: Option<Duration>,
    ) -> Self {
        Batch {
            shared,
            target,
            todo: Some((cmds, timeout)),
            ids: Vec::new(),
            results: Vec::new(),
            next: 0,
        }
    }
}

impl Future for Batch<'_> {
    type Output = Vec<Result<Value, Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.shared;
        let mut st = shared.lock();
        if let Some((cmds, timeout)) = this.todo.take() {
            this.ids.reserve(cmds.len());
            this.results.reserve(cmds.len());
            for cmd in cmds {
                match submit(shared, &mut st, &this.target, cmd, timeout, None) {
                    Ok((id, result)) => {
                        this.ids.push(result.is_none().then_some(id));
                        this.results.push(result);
                    }
                    Err(e) => {
                        this.ids.push(None);
                        this.results.push(Some(Err(e)));
                    }
                }
            }
        }
        // Collect what came; wait on the first command still pending.
        while this.next < this.ids.len() {
            let i = this.next;
            if let Some(id) = this.ids[i] {
                match st.take_reply(id, Some(cx.waker())) {
                    Some(result) => {
                        this.results[i] = Some(result);
                        this.ids[i] = None;
                    }
                    None => {
                        Shared::unlock_and_wake(st);
                        return Poll::Pending;
                    }
                }
            }
            this.next += 1;
        }
        Shared::unlock_and_wake(st);
        let results = std::mem::take(&mut this.results)
            .into_iter()
            .map(|r| r.unwrap_or_else(missing_result))
            .collect();
        Poll::Ready(results)
    }
}

/// Every slot is filled before a batch completes; kept as an error rather than a panic.
fn missing_result() -> Result<Value, Error> {
    Err(Error::InvalidCommand {
        command: CmdName::new(b"PIPELINE"),
        reason: "internal: a pipeline result went missing",
    })
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if self.ids.iter().any(Option::is_some) {
            self.shared.with(|st| {
                for id in self.ids.iter().flatten() {
                    st.forget(*id);
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
