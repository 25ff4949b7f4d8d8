//! [`Shared`]: what calling threads and the reactor thread share — a queue of [`Job`]s and
//! the poller used to wake the reactor.
//!
//! Callers hold the queue's lock only to push a job. The reactor takes the whole queue at
//! once, so every command queued while it was busy (writing, reading, waking callers) is
//! submitted to the core together and leaves in one write per shard: that is the automatic
//! pipelining. The reactor is woken (one `eventfd` write) only when it sleeps, and only by
//! the first caller that finds it asleep.

use std::fmt;
use std::net::SocketAddr;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use polling::Poller;
use redis_ring_core::ring::{ConnId, Event, RingCore, SubId, SubKind};
use redis_ring_core::time::Instant;
use redis_ring_core::Error;

use crate::pubsub::SubSink;
use crate::stats::IoCounters;
use crate::waiter::Submission;

/// A closure run on the reactor thread with the core (queries and `set_shards`).
pub(crate) type CoreFn = Box<dyn FnOnce(&mut RingCore, Instant) + Send>;

/// Work for the reactor.
pub(crate) enum Job {
    /// Submit commands (results to the submission's batch).
    Submit(Submission),
    /// Run a closure with the core.
    Run(CoreFn),
    /// Send every future [`Event`] to this channel too.
    Events(SyncSender<Event>),
    /// A resolver thread finished looking up the address of a connection.
    Resolved {
        /// The connection.
        conn: ConnId,
        /// The addresses found, or why there are none.
        addrs: std::io::Result<Vec<SocketAddr>>,
    },
    /// Subscribe; the id (or why not) goes to `reply`, messages to `sink`.
    Subscribe {
        /// Channels, patterns or shard channels.
        kind: SubKind,
        /// What to subscribe to.
        channels: Vec<Vec<u8>>,
        /// Where messages go.
        sink: SubSink,
        /// Where the id goes.
        reply: SyncSender<Result<SubId, Error>>,
    },
    /// End a subscription (its `Subscription` was dropped).
    EndSubscription(SubId),
    /// Close the ring: fail what is pending, close every connection, exit.
    Shutdown,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Job::Submit(sub) => write!(f, "Submit({} commands)", sub.len()),
            Job::Run(_) => f.write_str("Run(..)"),
            Job::Events(_) => f.write_str("Events"),
            Job::Resolved { conn, addrs } => write!(f, "Resolved({conn}, {addrs:?})"),
            Job::Subscribe { kind, channels, .. } => {
                write!(f, "Subscribe({kind:?}, {} channels)", channels.len())
            }
            Job::EndSubscription(id) => write!(f, "EndSubscription({id})"),
            Job::Shutdown => f.write_str("Shutdown"),
        }
    }
}

#[derive(Debug, Default)]
struct Queue {
    jobs: Vec<Job>,
    /// The reactor is (about to be) blocked in `Poller::wait` and needs a notify.
    sleeping: bool,
    /// The reactor has stopped: nothing more is accepted.
    closed: bool,
}

/// The state shared by the [`Ring`](crate::Ring) handles and the reactor thread.
#[derive(Debug)]
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    /// The reactor's poller (also held by every registered socket, to deregister on drop).
    pub(crate) poller: Arc<Poller>,
    /// What the reactor did.
    pub(crate) io: IoCounters,
}

impl Shared {
    pub(crate) fn new(poller: Arc<Poller>) -> Shared {
        Shared {
            queue: Mutex::new(Queue::default()),
            poller,
            io: IoCounters::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job` and wakes the reactor if it sleeps. Returns `false` when the ring is
    /// closed: the job is dropped then, which fails whatever it carries (a submission fails
    /// its commands with `Error::Closed`, a closure's reply channel closes).
    pub(crate) fn push(&self, job: Job) -> bool {
        let mut q = self.lock();
        if q.closed {
            return false;
        }
        q.jobs.push(job);
        let wake = std::mem::replace(&mut q.sleeping, false);
        drop(q);
        if wake {
            // Cannot fail short of the process running out of file descriptors, and then
            // the reactor still wakes at its next timer.
            let _ = self.poller.notify();
        }
        true
    }

    /// Reactor: moves every queued job into `into` (which should be empty).
    pub(crate) fn take(&self, into: &mut Vec<Job>) {
        let mut q = self.lock();
        std::mem::swap(&mut q.jobs, into);
    }

    /// Reactor: about to wait. Returns `false` (stay awake) when jobs are queued.
    pub(crate) fn sleep_if_idle(&self) -> bool {
        let mut q = self.lock();
        if q.jobs.is_empty() {
            q.sleeping = true;
            true
        } else {
            false
        }
    }

    /// Reactor: woke up (callers need not notify until the next `sleep_if_idle`).
    pub(crate) fn awake(&self) {
        self.lock().sleeping = false;
    }

    /// Reactor: stops accepting jobs and returns those still queued.
    pub(crate) fn close(&self) -> Vec<Job> {
        let mut q = self.lock();
        q.closed = true;
        std::mem::take(&mut q.jobs)
    }

    /// Whether the reactor has stopped.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn push_wakes_a_sleeping_reactor_once_and_close_refuses() {
        let shared = Shared::new(Arc::new(Poller::new().unwrap()));
        let mut jobs = Vec::new();
        assert!(shared.sleep_if_idle());
        assert!(shared.push(Job::Shutdown));
        assert!(shared.push(Job::Shutdown));
        // One notify is pending: a wait returns at once.
        let mut events = polling::Events::new();
        let t = std::time::Instant::now();
        shared
            .poller
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        assert!(t.elapsed() < Duration::from_secs(1));
        shared.awake();
        assert!(!shared.sleep_if_idle(), "jobs are queued");
        shared.take(&mut jobs);
        assert_eq!(jobs.len(), 2);
        jobs.clear();
        assert!(shared.push(Job::Shutdown));
        assert_eq!(shared.close().len(), 1);
        assert!(shared.is_closed());
        assert!(!shared.push(Job::Shutdown));
    }
}
