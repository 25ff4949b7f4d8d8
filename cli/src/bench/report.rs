//! The result of a bench run: as one JSON object (`--json`) or as text for a person.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value as Json};

use redis_ring_tests::alloc_count::Counted;

use super::per_shard::ShardSummary;
use super::recorder::{Recorder, ShardEvent, BUCKET};
use crate::duration::format_duration;
use crate::view::{table, thousands};

/// What was measured, as given on the command line.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// `redis-ring` or `redis-rs`.
    pub(crate) client: &'static str,
    /// `std` or `smol` (redis-ring), `smol` (redis-rs: its runtime).
    pub(crate) driver: &'static str,
    /// Where the callers and the client's I/O run (threads, executors).
    pub(crate) setup: &'static str,
    /// The RESP version every connection speaks (2 or 3).
    pub(crate) resp: u8,
    /// `seq`, `conc` or `pipeline`.
    pub(crate) mode: &'static str,
    /// Concurrent callers.
    pub(crate) concurrency: usize,
    /// Commands per batch (1 unless pipelining).
    pub(crate) pipeline: usize,
    /// `set`, `get` or `mixed`.
    pub(crate) op: &'static str,
    /// Requested measurement time.
    pub(crate) duration: Duration,
    /// Key space.
    pub(crate) keys: u64,
    /// Value bytes.
    pub(crate) value_size: usize,
    /// The shards, `name=addr`.
    pub(crate) shards: Vec<String>,
    /// The placement, as `--placement` spells it.
    pub(crate) placement: String,
}

/// A finished run.
#[derive(Debug)]
pub(crate) struct Report {
    /// What was measured.
    pub(crate) settings: Settings,
    /// Wall clock at the start of the measurement, ms since the Unix epoch.
    pub(crate) start_unix_ms: u64,
    /// From the start until the last caller finished (in-flight commands included).
    pub(crate) elapsed: Duration,
    /// All callers' measurements, merged.
    pub(crate) recorder: Recorder,
    /// The client's shard events during the run.
    pub(crate) events: Vec<ShardEvent>,
    /// Heap allocations during the measurement (`--count-allocs`).
    pub(crate) allocs: Option<Counted>,
    /// Per shard, from the client's own counters (redis-ring; empty for redis-rs).
    pub(crate) shards: Vec<ShardSummary>,
}

impl Report {
    /// Successful operations per second over the whole run.
    pub(crate) fn ops_per_sec(&self) -> f64 {
        let (ok, _) = self.recorder.totals();
        ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn quantile_us(&self, q: f64) -> u64 {
        let h = self.recorder.histogram();
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(q)
        }
    }

    /// The `--json` object. `ops` counts every completed operation (`ok + errors`);
    /// `ops_per_sec` counts successful ones; latencies cover every completed operation.
    pub(crate) fn to_json(&self) -> Json {
        let s = &self.settings;
        let (ok, err) = self.recorder.totals();
        let h = self.recorder.histogram();
        let timeline: Vec<Json> = self
            .recorder
            .buckets()
            .iter()
            .enumerate()
            .map(|(i, b)| {
                json!({
                    "t_ms": i as u64 * BUCKET.as_millis() as u64,
                    "ok": b.ok,
                    "err": b.err,
                    "max_us": b.max_us,
                })
            })
            .collect();
        let events: Vec<Json> = self
            .events
            .iter()
            .map(|e| {
                json!({
                    "t_ms": e.t_ms,
                    "shard": e.shard,
                    "state": if e.up { "up" } else { "down" },
                })
            })
            .collect();
        // Every shard as configured; the client's own counters where it has them.
        let shards: Vec<Json> = s
            .shards
            .iter()
            .map(|spec| {
                let (name, addr) = spec.split_once('=').unwrap_or((spec, ""));
                match self.shards.iter().find(|x| x.name == name) {
                    Some(x) => json!({
                        "name": name,
                        "addr": addr,
                        "ops": x.ops,
                        "errors": x.errors,
                        "p50_us": x.p50_us,
                        "p99_us": x.p99_us,
                        "state": x.state,
                    }),
                    None => json!({ "name": name, "addr": addr }),
                }
            })
            .collect();
        let mut j = json!({
            "client": s.client,
            "driver": s.driver,
            "setup": s.setup,
            "resp": s.resp,
            "mode": s.mode,
            "concurrency": s.concurrency,
            "pipeline": s.pipeline,
            "op": s.op,
            "duration_ms": s.duration.as_millis() as u64,
            "keys": s.keys,
            "value_size": s.value_size,
            "shards": shards,
            "placement": s.placement,
            "start_unix_ms": self.start_unix_ms,
            "elapsed_ms": self.elapsed.as_millis() as u64,
            "ops": ok + err,
            "ok": ok,
            "errors": err,
            "ops_per_sec": (self.ops_per_sec() * 10.0).round() / 10.0,
            "mean_us": if h.is_empty() { 0.0 } else { (h.mean() * 10.0).round() / 10.0 },
            "p50_us": self.quantile_us(0.5),
            "p90_us": self.quantile_us(0.9),
            "p99_us": self.quantile_us(0.99),
            "p999_us": self.quantile_us(0.999),
            "max_us": if h.is_empty() { 0 } else { h.max() },
            "bucket_ms": BUCKET.as_millis() as u64,
            "timeline": timeline,
            "events": events,
        });
        if let Some(a) = self.allocs {
            j["allocs"] = json!(a.allocs);
            j["alloc_bytes"] = json!(a.bytes);
            j["allocs_per_op"] = json!(self.per_op(a.allocs));
        }
        j
    }

    /// `n` per completed operation, to two decimals.
    fn per_op(&self, n: u64) -> f64 {
        let (ok, err) = self.recorder.totals();
        (n as f64 / (ok + err).max(1) as f64 * 100.0).round() / 100.0
    }

    /// The report for a person.
    pub(crate) fn human(&self) -> String {
        let s = &self.settings;
        let (ok, err) = self.recorder.totals();
        let mut out = String::new();
        let batch = if s.pipeline > 1 {
            format!(", batches of {}", s.pipeline)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} ({}), {} mode, {} caller{}{batch}, {} {} on {} keys of {} B values, {} shard{} ({})",
            s.client,
            s.driver,
            s.mode,
            s.concurrency,
            if s.concurrency == 1 { "" } else { "s" },
            format_duration(s.duration),
            s.op,
            thousands(s.keys),
            s.value_size,
            s.shards.len(),
            if s.shards.len() == 1 { "" } else { "s" },
            s.placement,
        );
        let _ = writeln!(out, "  RESP{}; {}", s.resp, s.setup);
        let _ = writeln!(
            out,
            "  {} ops in {:.2}s: {} ok, {} errors  =>  {} ops/s",
            thousands(ok + err),
            self.elapsed.as_secs_f64(),
            thousands(ok),
            thousands(err),
            thousands(self.ops_per_sec().round() as u64),
        );
        if let Some(a) = self.allocs {
            let _ = writeln!(
                out,
                "  heap allocations: {} ({} per op, {} bytes per op)",
                thousands(a.allocs),
                self.per_op(a.allocs),
                self.per_op(a.bytes).round(),
            );
        }
        let h = self.recorder.histogram();
        if !h.is_empty() {
            let rows = vec![
                ["mean", "p50", "p90", "p99", "p99.9", "max"]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>(),
                vec![
                    us(h.mean().round() as u64),
                    us(self.quantile_us(0.5)),
                    us(self.quantile_us(0.9)),
                    us(self.quantile_us(0.99)),
                    us(self.quantile_us(0.999)),
                    us(h.max()),
                ],
            ];
            let _ = writeln!(out, "  latency:");
            for line in table(&rows).lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        if !self.shards.is_empty() {
            // Per command, as the client counted them (a pipeline counts each command).
            let mut rows = vec![["shard", "state", "commands", "errors", "p50", "p99"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>()];
            for x in &self.shards {
                rows.push(vec![
                    x.name.clone(),
                    x.state.to_owned(),
                    thousands(x.ops),
                    thousands(x.errors),
                    us(x.p50_us),
                    us(x.p99_us),
                ]);
            }
            let _ = writeln!(out, "  per shard (the client's counters, per command):");
            for line in table(&rows).lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        if !self.events.is_empty() {
            let _ = writeln!(out, "  shard events:");
            for e in &self.events {
                let _ = writeln!(
                    out,
                    "    {:>7.3}s  {} {}",
                    e.t_ms as f64 / 1e3,
                    e.shard,
                    if e.up { "up" } else { "DOWN" }
                );
            }
        }
        if err > 0 {
            let buckets = self.recorder.buckets();
            let first = buckets.iter().position(|b| b.err > 0).unwrap_or(0);
            let last = buckets.iter().rposition(|b| b.err > 0).unwrap_or(0);
            let _ = writeln!(
                out,
                "  errors between {:.2}s and {:.2}s (250 ms buckets)",
                first as f64 * BUCKET.as_secs_f64(),
                (last + 1) as f64 * BUCKET.as_secs_f64()
            );
        }
        out
    }
}

/// A latency for people: `87us`, `1.25ms`, `2.31s`.
fn us(v: u64) -> String {
    if v < 1_000 {
        format!("{v}us")
    } else if v < 1_000_000 {
        format!("{:.2}ms", v as f64 / 1e3)
    } else {
        format!("{:.2}s", v as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::super::recorder::Live;
    use super::*;

    fn sample() -> Report {
        let start = Instant::now();
        let mut r = Recorder::new(start, Arc::new(Live::default()));
        r.record(
            start + Duration::from_millis(1),
            Duration::from_micros(50),
            3,
            0,
        );
        r.record(
            start + Duration::from_millis(600),
            Duration::from_millis(2),
            1,
            1,
        );
        Report {
            settings: Settings {
                client: "redis-ring",
                driver: "std",
                setup: "callers: one OS thread each",
                resp: 3,
                mode: "conc",
                concurrency: 2,
                pipeline: 1,
                op: "mixed",
                duration: Duration::from_millis(750),
                keys: 10,
                value_size: 3,
                shards: vec!["a=127.0.0.1:1".into()],
                placement: "rendezvous".into(),
            },
            start_unix_ms: 1_700_000_000_000,
            elapsed: Duration::from_millis(800),
            recorder: r,
            events: vec![ShardEvent {
                t_ms: 300,
                shard: "a".into(),
                up: false,
            }],
            allocs: None,
            shards: vec![ShardSummary {
                name: "a".into(),
                ops: 5,
                errors: 1,
                p50_us: 50,
                p99_us: 2000,
                state: "up",
            }],
        }
    }

    #[test]
    fn json_has_the_documented_fields() {
        let j = sample().to_json();
        assert_eq!(j["start_unix_ms"], 1_700_000_000_000u64);
        assert_eq!(
            j["shards"],
            json!([{"name": "a", "addr": "127.0.0.1:1", "ops": 5, "errors": 1,
                    "p50_us": 50, "p99_us": 2000, "state": "up"}])
        );
        assert_eq!(j["resp"], 3);
        assert_eq!(j["setup"], "callers: one OS thread each");
        assert_eq!(j["ops"], 5);
        assert_eq!(j["ok"], 4);
        assert_eq!(j["errors"], 1);
        assert_eq!(j["ops_per_sec"], 5.0);
        assert_eq!(j["p50_us"], 50);
        assert!(j.get("allocs_per_op").is_none(), "only with --count-allocs");
        let mut counted = sample();
        counted.allocs = Some(Counted {
            allocs: 7,
            bytes: 700,
        });
        let c = counted.to_json();
        assert_eq!(
            (c["allocs"].clone(), c["allocs_per_op"].clone()),
            (json!(7), json!(1.4))
        );
        assert!(counted.human().contains("heap allocations: 7 (1.4 per op"));
        assert!(j["p99_us"].as_u64().unwrap() >= 1990);
        assert!(j["max_us"].as_u64().unwrap() >= 1990);
        let timeline = j["timeline"].as_array().unwrap();
        assert_eq!(timeline.len(), 3);
        assert_eq!(
            timeline[0],
            json!({"t_ms": 0, "ok": 3, "err": 0, "max_us": 50})
        );
        assert_eq!(
            timeline[1],
            json!({"t_ms": 250, "ok": 0, "err": 0, "max_us": 0})
        );
        assert_eq!(timeline[2]["t_ms"], 500);
        assert_eq!(
            j["events"],
            json!([{"t_ms": 300, "shard": "a", "state": "down"}])
        );
    }

    #[test]
    fn human_report_reads_well() {
        let text = sample().human();
        assert!(
            text.contains("5 ops in 0.80s: 4 ok, 1 errors  =>  5 ops/s"),
            "{text}"
        );
        assert!(text.contains("0.300s  a DOWN"), "{text}");
        assert!(text.contains("errors between 0.50s and 0.75s"), "{text}");
        assert!(text.contains("p99.9"), "{text}");
    }
}
