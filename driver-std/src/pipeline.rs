//! [`Pipeline`]: many commands in one go, each with its own result.

use std::time::Duration;

use redis_ring_core::command::Cmd;
use redis_ring_core::resp::Value;
use redis_ring_core::Error;

use crate::ring::Ring;

/// Commands queued to be sent together ([`Ring::pipeline`]).
///
/// [`Pipeline::run`] hands them all to the I/O thread at once: the core routes each to its
/// shard, every shard's share leaves in one write, shards are served concurrently, and the
/// results come back in the order the commands were queued, each with its own `Ok`/`Err`
/// (a dead shard fails only its own commands). It is not a transaction: commands of other
/// callers may run between them.
///
/// ```no_run
/// # let ring = redis_ring_std::Ring::builder().shard("a", "127.0.0.1:7000").build()?;
/// use redis_ring_std::Cmd;
///
/// let mut p = ring.pipeline();
/// p.cmd(Cmd::new("SET").arg("a").arg(1))
///     .cmd(Cmd::new("INCR").arg("a"))
///     .cmd(Cmd::new("GET").arg("b"));
/// let results = p.run();
/// assert_eq!(results.len(), 3);
/// # Ok::<(), redis_ring_std::BuildError>(())
/// ```
#[derive(Debug)]
#[must_use = "a pipeline does nothing until run"]
pub struct Pipeline<'r> {
    ring: &'r Ring,
    cmds: Vec<Cmd>,
    timeout: Option<Duration>,
}

impl<'r> Pipeline<'r> {
    pub(crate) fn new(ring: &'r Ring) -> Pipeline<'r> {
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

    /// A deadline for each command of this pipeline instead of the configured
    /// `command_timeout`.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many commands are queued.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// Whether no command is queued.
    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// Sends every queued command and waits for all of them; results are in queue order.
    /// The pipeline is empty afterwards and can be reused.
    pub fn run(&mut self) -> Vec<Result<Value, Error>> {
        let cmds = std::mem::take(&mut self.cmds);
        self.ring.run_batch(cmds, self.timeout)
    }
}
