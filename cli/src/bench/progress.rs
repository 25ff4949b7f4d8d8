//! The live progress line of `bench`, redrawn on stderr four times a second.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::recorder::{EventLog, Live};
use crate::view::thousands;

/// A running progress line; [`Progress::finish`] erases it.
#[derive(Debug)]
pub(crate) struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts redrawing `elapsed / total  ok  err  rate  last event` on stderr, or does
    /// nothing when `enabled` is false (stderr not a terminal).
    pub(crate) fn start(
        enabled: bool,
        start: Instant,
        total: Duration,
        live: Arc<Live>,
        events: Arc<EventLog>,
    ) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = enabled.then(|| {
            let stop = stop.clone();
            thread::Builder::new()
                .name("bench-progress".into())
                .spawn(move || {
                    let mut last = (Instant::now(), 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        thread::sleep(Duration::from_millis(250));
                        let now = Instant::now();
                        let (ok, err) = live.get();
                        let rate = (ok - last.1) as f64
                            / now.duration_since(last.0).as_secs_f64().max(1e-9);
                        last = (now, ok);
                        let event = events.snapshot().last().map_or(String::new(), |e| {
                            format!(
                                "  last event: {} {} at {:.1}s",
                                e.shard,
                                if e.up { "up" } else { "DOWN" },
                                e.t_ms as f64 / 1e3
                            )
                        });
                        let line = line(start.elapsed(), total, ok, err, rate, &event);
                        let mut stderr = std::io::stderr().lock();
                        let _ = write!(stderr, "\r\x1b[K{line}");
                        let _ = stderr.flush();
                    }
                })
                .expect("spawn the progress thread")
        });
        Progress { stop, thread }
    }

    /// Stops and erases the line.
    pub(crate) fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

/// The text of the progress line.
fn line(elapsed: Duration, total: Duration, ok: u64, err: u64, rate: f64, event: &str) -> String {
    format!(
        "{:5.1}s / {:.0}s  ok {}  err {}  {} ops/s{event}",
        elapsed.as_secs_f64(),
        total.as_secs_f64(),
        thousands(ok),
        thousands(err),
        thousands(rate.round() as u64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_line_text() {
        assert_eq!(
            line(
                Duration::from_millis(2500),
                Duration::from_secs(10),
                123_456,
                7,
                41_234.4,
                ""
            ),
            "  2.5s / 10s  ok 123 456  err 7  41 234 ops/s"
        );
    }
}
