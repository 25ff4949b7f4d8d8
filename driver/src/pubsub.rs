//! Pub/sub: `Ring::subscribe`, `psubscribe`, `ssubscribe` and the [`Subscription`] stream.
//!
//! The core places each channel on the shard `PUBLISH` routes it to (patterns on every live
//! shard), opens the dedicated connections, re-places channels when the live set changes and
//! resubscribes after a reconnect. This layer forwards the core's `Output::Message`s into the
//! subscription's bounded channel and wakes whoever waits for `Output::Subscribed`.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use async_channel::Receiver;
use futures_core::Stream;
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::ring::{SubId, SubKind};

use crate::runtime::{AsyncTimer, Runtime};
use crate::state::{reentrant, Shared, SubSink};
use crate::Ring;

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

/// A subscription: a [`Stream`] of [`Message`]s (also [`Subscription::next_message`]).
///
/// Dropping it unsubscribes (its dedicated connections close). It does not keep the ring
/// open: once every `Ring` handle is dropped (or the ring closed), the ring closes and the
/// subscription ends (yields `None`).
#[derive(Debug)]
pub struct Subscription {
    shared: Arc<Shared>,
    id: SubId,
    rx: Pin<Box<Receiver<Message>>>,
    dropped: Arc<AtomicU64>,
}

impl Subscription {
    /// The next message; `None` once the ring is closed.
    pub async fn next_message(&mut self) -> Option<Message> {
        self.rx.recv().await.ok()
    }

    /// A message if one is waiting.
    pub fn try_next(&mut self) -> Option<Message> {
        self.rx.try_recv().ok()
    }

    /// Adds channels (or patterns, for a pattern subscription) to this subscription.
    pub fn subscribe<C: AsRef<[u8]>>(&self, channels: &[C]) {
        let shared = &self.shared;
        shared.with(|st| {
            st.core.subscribe_to(self.id, channels, shared.now());
            st.drain();
        });
    }

    /// Removes channels (or patterns) from this subscription.
    pub fn unsubscribe<C: AsRef<[u8]>>(&self, channels: &[C]) {
        let shared = &self.shared;
        shared.with(|st| {
            st.core.unsubscribe(self.id, channels, shared.now());
            st.drain();
        });
    }

    /// The channels (or patterns) of this subscription.
    pub fn channels(&self) -> Vec<Vec<u8>> {
        self.shared
            .lock()
            .core
            .subscription_channels(self.id)
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Messages dropped because more than [`SUBSCRIPTION_CAPACITY`] were waiting.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Stream for Subscription {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.rx.as_mut().poll_next(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.with(|st| {
            st.subs.remove(&self.id.as_u64());
            st.core.end_subscription(self.id, shared.now());
            st.drain();
        });
    }
}

impl<Rt: Runtime> Ring<Rt> {
    /// Subscribes to `channels` (`SUBSCRIBE`), each on the shard its name is placed on,
    /// exactly where `publish` sends it. Returns once every channel is confirmed, so a
    /// message published afterwards is received.
    ///
    /// # Errors
    /// `Error::NoShards` / `Error::AllShardsDown` when nothing can be subscribed now;
    /// `Error::Timeout` when the channels are not all confirmed within the command timeout
    /// (the subscription is dropped then); `Error::Closed`.
    pub async fn subscribe<C: AsRef<[u8]>>(&self, channels: &[C]) -> Result<Subscription, Error> {
        self.subscribe_kind(SubKind::Channel, channels).await
    }

    /// Subscribes to `patterns` (`PSUBSCRIBE`) on every live shard: a pattern can match a
    /// channel of any shard. See `subscribe`.
    ///
    /// # Errors
    /// As `subscribe`.
    pub async fn psubscribe<C: AsRef<[u8]>>(&self, patterns: &[C]) -> Result<Subscription, Error> {
        self.subscribe_kind(SubKind::Pattern, patterns).await
    }

    /// Subscribes to sharded `channels` (`SSUBSCRIBE`, Redis 7), placed like keys, as
    /// `SPUBLISH` routes them. See `subscribe`.
    ///
    /// # Errors
    /// As `subscribe`.
    pub async fn ssubscribe<C: AsRef<[u8]>>(&self, channels: &[C]) -> Result<Subscription, Error> {
        self.subscribe_kind(SubKind::Sharded, channels).await
    }

    async fn subscribe_kind<C: AsRef<[u8]>>(
        &self,
        kind: SubKind,
        channels: &[C],
    ) -> Result<Subscription, Error> {
        let command = CmdName::new(match kind {
            SubKind::Channel => b"SUBSCRIBE".as_slice(),
            SubKind::Pattern => b"PSUBSCRIBE",
            _ => b"SSUBSCRIBE",
        });
        let shared = self.shared_arc();
        if shared.reentrant() {
            return Err(reentrant(command));
        }
        let (tx, rx) = async_channel::bounded(SUBSCRIPTION_CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        let (id, timeout) = shared.with(|st| {
            if st.closing {
                return Err(Error::Closed { command });
            }
            let id = st.core.subscribe(kind, channels, shared.now());
            if let Ok(id) = id {
                let sink = SubSink {
                    tx,
                    dropped: dropped.clone(),
                    subscribed: false,
                    waker: None,
                };
                st.subs.insert(id.as_u64(), sink);
            }
            st.drain();
            Ok((id?, st.core.config().command_timeout))
        })?;
        // From here on, dropping `sub` ends the subscription.
        let sub = Subscription {
            shared: shared.clone(),
            id,
            rx: Box::pin(rx),
            dropped,
        };
        let mut timer = self.runtime().new_timer();
        timer.as_mut().reset(std::time::Instant::now() + timeout);
        let confirmed = std::future::poll_fn(|cx| {
            let done = shared.with(|st| match st.subs.get_mut(&id.as_u64()) {
                None => Some(false),
                Some(sink) if sink.subscribed => Some(true),
                Some(sink) => {
                    sink.waker = Some(cx.waker().clone());
                    None
                }
            });
            match done {
                Some(ok) => Poll::Ready(Some(ok)),
                None if AsyncTimer::poll(timer.as_mut(), cx).is_ready() => Poll::Ready(None),
                None => Poll::Pending,
            }
        })
        .await;
        match confirmed {
            Some(true) => Ok(sub),
            Some(false) => Err(Error::Closed { command }),
            None => Err(Error::Timeout {
                shard: None,
                addr: None,
                command,
                after: timeout,
            }),
        }
    }
}
