//! Per-shard figures of a redis-ring bench run, from the client's own `stats()`: the run's
//! totals per shard (`--json`'s `"shards"`) and, sampled every 250 ms, each shard's
//! operations per bucket (the plot's per-shard lines). redis-rs has no such counters.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use redis_ring_std::ShardStats;

use super::recorder::BUCKET;

/// One shard over the whole run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ShardSummary {
    pub(crate) name: String,
    /// Commands that ended on the shard during the run (a pipeline counts each command).
    pub(crate) ops: u64,
    /// Of `ops`, those that failed.
    pub(crate) errors: u64,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    /// `up` or `down` at the end.
    pub(crate) state: &'static str,
}

/// The run's share of each shard: `after` minus `before` (counters only grow).
pub(crate) fn summarize(before: &[ShardStats], after: &[ShardStats]) -> Vec<ShardSummary> {
    after
        .iter()
        .map(|a| {
            let c = match before.iter().find(|b| b.name == a.name) {
                Some(b) => a.counters.since(&b.counters),
                None => a.counters,
            };
            ShardSummary {
                name: a.name.clone(),
                ops: c.commands,
                errors: c.errors.total(),
                p50_us: c.latency.percentile(50.0).as_micros() as u64,
                p99_us: c.latency.percentile(99.0).as_micros() as u64,
                state: if a.up { "up" } else { "down" },
            }
        })
        .collect()
}

/// Each shard's operations per timeline bucket: `(name, ops per bucket)`.
pub(crate) type ShardLines = Vec<(String, Vec<u64>)>;

/// Samples `stats` every [`BUCKET`] on a thread of its own until [`Sampler::finish`].
#[derive(Debug)]
pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<ShardLines>,
}

impl Sampler {
    /// Starts sampling for a run that started at `start`.
    pub(crate) fn start(
        start: Instant,
        stats: impl Fn() -> Vec<ShardStats> + Send + 'static,
    ) -> Result<Sampler, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name("bench-shards".into())
            .spawn(move || {
                let mut lines: ShardLines = Vec::new();
                let mut last = stats();
                let mut bucket = 0;
                loop {
                    bucket += 1;
                    let due = start + BUCKET * bucket;
                    let stopping = flag.load(Ordering::Relaxed);
                    if !stopping {
                        thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    let now = stats();
                    for s in &now {
                        let prev = last.iter().find(|p| p.name == s.name);
                        let ops = prev.map_or(s.counters.commands, |p| {
                            s.counters.commands.saturating_sub(p.counters.commands)
                        });
                        let line = match lines.iter_mut().find(|(n, _)| *n == s.name) {
                            Some((_, line)) => line,
                            None => {
                                lines.push((s.name.clone(), Vec::new()));
                                &mut lines.last_mut().expect("just pushed").1
                            }
                        };
                        line.resize(bucket as usize - 1, 0);
                        line.push(ops);
                    }
                    last = now;
                    if stopping {
                        return lines;
                    }
                }
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        Ok(Sampler { stop, thread })
    }

    /// Takes the last sample and returns every shard's line.
    pub(crate) fn finish(self) -> ShardLines {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}
