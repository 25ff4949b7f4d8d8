//! [`Pipeline`]: several commands sent at once, each with its own result.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use redis_ring_core::command::Cmd;
use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::RequestId;

use crate::ring::{submit, Ring};
use crate::shared::Shared;

/// Commands queued to be sent together by [`Pipeline::run`].
///
/// Each command goes to its own shard (the ring routes them one by one, as it routes
/// [`Ring::cmd`]); commands for one shard leave in one write, shards are served
/// concurrently, and the results come back in the order the commands were queued, each
/// its own `Result`: one shard failing fails only its own commands. It is not a
/// transaction: other clients' commands may run in between.
///
/// ```no_run
/// # use redis_ring_smol::{Cmd, Ring};
/// # async fn demo(ring: &Ring) {
/// let mut p = ring.pipeline();
/// p.set("a", 1).get("b").cmd(Cmd::new("INCR").arg("c"));
/// for result in p.run().await {
///     println!("{result:?}");
/// }
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a pipeline does nothing until run"]
pub struct Pipeline<'a> {
    ring: &'a Ring,
    cmds: Vec<Cmd>,
    timeout: Option<Duration>,
}

impl<'a> Pipeline<'a> {
    pub(crate) fn new(ring: &'a Ring) -> Self {
        Pipeline {
            ring,
            cmds: Vec::new(),
            timeout: None,
        }
    }

    /// Queues any command.
    pub fn cmd(&mut self, cmd: Cmd) -> &mut Self {
        self.cmds.push(cmd);
        self
    }

    /// A deadline for every command of the pipeline instead of the configured command
    /// timeout.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = Some(timeout);
        self
    }

    /// The number of queued commands.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// Whether no command is queued.
    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// Sends every queued command and returns their results in order. The pipeline is
    /// empty afterwards and can be filled again.
    pub async fn run(&mut self) -> Vec<Result<Value, Error>> {
        let cmds = std::mem::take(&mut self.cmds);
        Batch::new(self.ring.shared(), cmds, self.timeout).await
    }
}

/// The typed helpers of the core's table as queueing methods (their reply types are
/// chosen when the results are read, so the helpers here take no type parameters).
macro_rules! pipeline_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
    )*) => {
        impl Pipeline<'_> {$(
            $(#[$meta])*
            pub fn $name(&mut self, $($arg: $ty),*) -> &mut Self {
                self.cmd(redis_ring_core::command::cmds::$name($($arg),*))
            }
        )*}
    };
}

redis_ring_core::for_each_command!(pipeline_methods);

/// The future of a pipeline: every command submitted on the first poll, under one lock;
/// then it waits, woken by the first command still without a result.
#[derive(Debug)]
struct Batch<'a> {
    shared: &'a Shared,
    todo: Option<(Vec<Cmd>, Option<Duration>)>,
    ids: Vec<Option<RequestId>>,
    results: Vec<Option<Result<Value, Error>>>,
    /// Index of the first command still without a result.
    next: usize,
}

impl<'a> Batch<'a> {
    fn new(shared: &'a Shared, cmds: Vec<Cmd>, timeout: Option<Duration>) -> Self {
        Batch {
            shared,
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
                match submit(shared, &mut st, cmd, timeout, None) {
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
            .map(|r| r.unwrap_or_else(unreachable_result))
            .collect();
        Poll::Ready(results)
    }
}

/// Every slot is filled before the batch completes; kept as an error rather than a panic.
fn unreachable_result() -> Result<Value, Error> {
    Err(Error::InvalidCommand {
        command: redis_ring_core::error::CmdName::new(b"PIPELINE"),
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
