//! [`Subscription`]: pub/sub messages as a blocking iterator with timeouts.
//!
//! The core does the work (see `redis_ring_core::ring` pub/sub docs): each channel is
//! subscribed on the shard `PUBLISH` routes it to, on dedicated connections, re-placed when
//! the live set changes and re-subscribed after a reconnect. The I/O thread forwards the
//! subscription's `Output::Message`s into a bounded channel that the `Subscription` reads.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis_ring_core::error::CmdName;
use redis_ring_core::ring::{SubId, SubKind};
use redis_ring_core::Error;

use crate::queue::Job;
use crate::ring::Ring;

/// Messages a [`Subscription`] holds before new ones are dropped (and counted in
/// [`Subscription::dropped`]): a subscriber that stops reading must not grow memory without
/// bound (Redis itself disconnects such clients).
pub const SUBSCRIPTION_CAPACITY: usize = 65_536;

/// One pub/sub message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The channel it was published to.
    pub channel: Vec<u8>,
    /// The pattern that matched (pattern subscriptions only).
    pub pattern: Option<Vec<u8>>,
    /// The payload.
    pub payload: Vec<u8>,
}

/// What the I/O thread sends a subscription.
#[derive(Debug)]
pub(crate) enum SubItem {
    /// Every channel is confirmed by its shard.
    Subscribed,
    /// A message.
    Message(Message),
}

/// The I/O thread's end of a subscription.
#[derive(Debug)]
pub(crate) struct SubSink {
    tx: SyncSender<SubItem>,
    dropped: Arc<AtomicU64>,
}

impl SubSink {
    /// Forwards `item`; returns `false` when the subscription is gone.
    pub(crate) fn send(&self, item: SubItem) -> bool {
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// A live subscription ([`Ring::subscribe`], [`Ring::psubscribe`], [`Ring::ssubscribe`]).
///
/// Iterating blocks for the next message and ends when the ring closes;
/// [`Subscription::next_timeout`] waits at most a given time. Dropping it unsubscribes (its
/// dedicated connections are closed).
///
/// ```no_run
/// # let ring = redis_ring_std::Ring::builder().shard("a", "127.0.0.1:7000").build()?;
/// use std::time::Duration;
///
/// let mut sub = ring.subscribe(&["news", "alerts"])?;
/// ring.publish("news", "hello")?;
/// if let Some(msg) = sub.next_timeout(Duration::from_secs(1)) {
///     println!("{:?}: {:?}", msg.channel, msg.payload);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Subscription {
    ring: Ring,
    id: SubId,
    rx: Receiver<SubItem>,
    dropped: Arc<AtomicU64>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// Subscribes and waits (at most `timeout`) until every channel is confirmed.
    pub(crate) fn start<C: AsRef<[u8]>>(
        ring: &Ring,
        kind: SubKind,
        channels: &[C],
        timeout: Duration,
    ) -> Result<Subscription, Error> {
        let command = CmdName::new(match kind {
            SubKind::Pattern => b"PSUBSCRIBE".as_slice(),
            SubKind::Sharded => b"SSUBSCRIBE".as_slice(),
            _ => b"SUBSCRIBE".as_slice(),
        });
        let (tx, rx) = std::sync::mpsc::sync_channel(SUBSCRIPTION_CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        let sink = SubSink {
            tx,
            dropped: dropped.clone(),
        };
        let channels: Vec<Vec<u8>> = channels.iter().map(|c| c.as_ref().to_vec()).collect();
        let id = ring
            .subscribe_job(kind, channels, sink)
            .ok_or(Error::Closed { command })??;
        let sub = Subscription {
            ring: ring.clone(),
            id,
            rx,
            dropped,
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match sub.rx.recv_timeout(left) {
                Ok(SubItem::Subscribed) => return Ok(sub),
                // Nothing can be published to it before it is confirmed; ignore anyway.
                Ok(SubItem::Message(_)) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(Error::Timeout {
                        shard: None,
                        addr: None,
                        command,
                        after: timeout,
                    })
                }
                Err(RecvTimeoutError::Disconnected) => return Err(Error::Closed { command }),
            }
        }
    }

    /// The next message, waiting at most `timeout`; `None` when none came in time or the
    /// ring is closed.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(SubItem::Message(m)) => return Some(m),
                Ok(SubItem::Subscribed) => {}
                Err(_) => return None,
            }
        }
    }

    /// The next message if one is waiting.
    pub fn try_next(&mut self) -> Option<Message> {
        while let Ok(item) = self.rx.try_recv() {
            if let SubItem::Message(m) = item {
                return Some(m);
            }
        }
        None
    }

    /// Adds channels (patterns, for a pattern subscription) to this subscription; they are
    /// subscribed on their shards in the background.
    pub fn subscribe<C: AsRef<[u8]>>(&self, channels: &[C]) {
        let channels: Vec<Vec<u8>> = channels.iter().map(|c| c.as_ref().to_vec()).collect();
        let id = self.id;
        let _ = self.ring.with_core(move |core, now| {
            core.subscribe_to(id, channels, now);
        });
    }

    /// Removes channels from this subscription.
    pub fn unsubscribe<C: AsRef<[u8]>>(&self, channels: &[C]) {
        let channels: Vec<Vec<u8>> = channels.iter().map(|c| c.as_ref().to_vec()).collect();
        let id = self.id;
        let _ = self.ring.with_core(move |core, now| {
            core.unsubscribe(id, channels, now);
        });
    }

    /// Messages dropped because more than [`SUBSCRIPTION_CAPACITY`] were waiting unread.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Iterator for Subscription {
    type Item = Message;

    /// Blocks for the next message; `None` once the ring is closed.
    fn next(&mut self) -> Option<Message> {
        loop {
            match self.rx.recv() {
                Ok(SubItem::Message(m)) => return Some(m),
                Ok(SubItem::Subscribed) => {}
                Err(_) => return None,
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = self.ring.push_job(Job::EndSubscription(self.id));
    }
}
