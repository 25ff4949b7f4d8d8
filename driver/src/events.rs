//! [`Events`]: the ring's [`Event`]s (shard added, removed, up, down) as a stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_channel::Receiver;
use futures_core::Stream;
use redis_ring_core::ring::Event;

/// How many events an [`Events`] receiver may fall behind before it misses the newest.
pub const EVENTS_CAPACITY: usize = 1024;

/// A receiver of the ring's events from the moment it was made (`Ring::events`); a
/// [`Stream`], also [`Events::recv`]. It ends when the ring closes. One that falls more than
/// [`EVENTS_CAPACITY`] events behind misses the newest (the ring never waits for it).
#[derive(Debug)]
pub struct Events {
    rx: Pin<Box<Receiver<Event>>>,
}

impl Events {
    pub(crate) fn new(rx: Receiver<Event>) -> Events {
        Events { rx: Box::pin(rx) }
    }

    /// The next event; `None` once the ring is closed.
    pub async fn recv(&self) -> Option<Event> {
        self.rx.recv().await.ok()
    }

    /// An event if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.as_mut().poll_next(cx)
    }
}
