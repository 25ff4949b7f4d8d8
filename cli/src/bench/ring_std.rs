//! `bench --client redis-ring --driver std`: one thread per caller, all sharing one `Ring`.

use std::thread;
use std::time::{Duration, Instant};

use redis_ring_core::ring::Event;
use redis_ring_std::Ring;

use super::per_shard::{summarize, Sampler};
use super::{caller, Bench, Measured};
use crate::connect::{GlobalConn, RingSettings};

/// Where the callers and the I/O run (the JSON's `setup`).
pub(super) const SETUP: &str = "callers: one OS thread each; I/O: the ring's reactor thread";

/// The shard name and new state of an up/down event.
pub(crate) fn up_down(event: &Event) -> Option<(&str, bool)> {
    match event {
        Event::ShardUp { name, .. } => Some((name, true)),
        Event::ShardDown { name, .. } => Some((name, false)),
        _ => None,
    }
}

/// Builds the ring, waits for its shards, measures, hands back the callers' recorders.
pub(super) fn run(bench: &mut Bench) -> Result<Measured, String> {
    let settings = RingSettings {
        shards: bench.shards.clone(),
        global: GlobalConn {
            placement: bench.conn.placement.clone(),
            hash_tag: bench.conn.hash_tag,
            failure_policy: Default::default(),
            read_from: Default::default(),
            migrating_from: None,
            user: bench.conn.user.clone(),
            password: bench.conn.password.clone(),
            db: bench.conn.db,
            resp: bench.conn.resp,
            timeout: bench.conn.timeout,
            tls: bench.conn.tls.clone(),
        },
    };
    let ring = settings.build(|b| b)?;
    wait_until_up(&ring, bench.conn.timeout.max(Duration::from_secs(2)))?;
    let events = ring.events();
    let (clock, progress) = bench.begin();
    let before = ring.stats();
    let sampled = ring.clone();
    let sampler = Sampler::start(clock.start, move || sampled.stats())?;
    let log = bench.events();
    let forwarder = thread::Builder::new()
        .name("bench-events".into())
        .spawn(move || {
            for event in events {
                if let Some((shard, up)) = up_down(&event) {
                    log.push(shard, up);
                }
            }
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    let recorders = thread::scope(|s| {
        let handles: Vec<_> = (0..bench.callers)
            .map(|i| {
                let plan = bench.plan(&clock, i);
                let ring = ring.clone();
                // Blocking calls: the caller's future is ready on its first poll.
                s.spawn(move || caller::block_on(caller::run(ring, plan)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a bench caller panicked"))
            .collect::<Vec<_>>()
    });
    let shards = summarize(&before, &ring.stats());
    let measured =
        Bench::measured(clock, progress, recorders).with_shards(shards, sampler.finish());
    ring.close(); // ends the event channel, so the forwarder returns
    let _ = forwarder.join();
    Ok(measured)
}

/// Waits until every shard is up (the ring probes new shards at once), so the measurement
/// does not start with connection set-up; fails naming the shards still down.
pub(crate) fn wait_until_up(ring: &Ring, patience: Duration) -> Result<(), String> {
    let deadline = Instant::now() + patience;
    loop {
        let stats = ring.stats();
        let down: Vec<String> = stats
            .iter()
            .filter(|s| !s.up)
            .map(|s| match &s.last_error {
                Some(e) => format!("{} ({}): {e}", s.name, s.addr),
                None => format!("{} ({})", s.name, s.addr),
            })
            .collect();
        if down.is_empty() && !stats.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("shards not up: {}", down.join("; ")));
        }
        thread::sleep(Duration::from_millis(10));
    }
}
