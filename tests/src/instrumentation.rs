//! The `tracing` and `metrics` features, the same checks for every driver: span fields seen
//! by a capturing subscriber, metric names and labels seen by metrics-util's recording
//! `DebuggingRecorder`, against real servers.
//!
//! A driver's `tests/instrumentation.rs` (built with `--features tracing,metrics`, which
//! `cargo xtask test` runs in its own step) calls [`spans_events_and_metrics`] with its
//! scenario adapter, in one `#[test]`: both facades are process-global, so the test binary
//! holds this test alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::scenarios::{fast_config, Cmd, Event, EventStream, RingSpec, RingUnderTest, Value};
use crate::Shards;

/// A script that holds its server for 150 ms (by the server's clock) and returns 1.
const HOLD_150_MS: &str = "local t = redis.call('TIME') \
    local start = t[1] * 1000000 + t[2] \
    repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start >= 150000 \
    return 1";

/// A span's or an event's fields, as text.
type FieldMap = HashMap<String, String>;

/// Every closed span's fields, and every event's level and fields.
#[derive(Clone, Default)]
struct Capture {
    open: Arc<Mutex<HashMap<u64, FieldMap>>>,
    closed: Arc<Mutex<Vec<FieldMap>>>,
    events: Arc<Mutex<Vec<(tracing::Level, FieldMap)>>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut f = HashMap::new();
        attrs.record(&mut Fields(&mut f));
        self.open.lock().unwrap().insert(id.into_u64(), f);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(f) = self.open.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(f));
        }
    }
    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(f) = self.open.lock().unwrap().remove(&id.into_u64()) {
            self.closed.lock().unwrap().push(f);
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut f = HashMap::new();
        event.record(&mut Fields(&mut f));
        self.events
            .lock()
            .unwrap()
            .push((*event.metadata().level(), f));
    }
}

/// Installs a capturing `tracing` subscriber and a recording `metrics` recorder (process-wide:
/// call it once per test binary), then checks through a ring of driver `R`: span fields of a
/// command, a failed command and a pipeline (never an argument), shard down (WARN) / up (INFO) /
/// added events after a kill and a restart, every metric's name, kind and labels, and the
/// durations (positive; a script holding its server 150 ms takes at least that, alone and as
/// the last reply of a pipeline whose first reply comes at once).
///
/// # Panics
/// When a check fails.
pub fn spans_events_and_metrics<R: RingUnderTest>() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(capture.clone()))
        .unwrap();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let mut shards = Shards::start(2).unwrap();
    let mut config = fast_config();
    config.conn.db = 0;
    // Heartbeats that tolerate the deliberate 150 ms scripts below.
    config.heartbeat_timeout = Duration::from_secs(2);
    let ring = R::build(&RingSpec {
        shards: shards.named(),
        config,
        ..RingSpec::default()
    })
    .unwrap();
    let mut events = ring.events();
    assert_eq!(
        ring.cmd(Cmd::new("SET").arg("secret-key").arg("secret-value"))
            .unwrap(),
        Value::Okay
    );
    let e = ring
        .cmd(Cmd::new("LPUSH").arg("secret-key").arg("x"))
        .unwrap_err();
    assert!(e.to_string().contains("WRONGTYPE"));
    let results = ring.pipeline(vec![
        Cmd::new("SET").arg("a").arg(1),
        Cmd::new("SET").arg("b").arg(2),
        Cmd::new("GET").arg("a"),
    ]);
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // Durations (taken from the ring's clock): a command the server holds for 150 ms, and
    // a batch whose first reply comes at once, from one shard, and whose second is held
    // 150 ms on the other (a batch ends with its last reply).
    let held = (0..1000)
        .map(|i| format!("held:{i}"))
        .find(|k| ring.shard_for_key(k) != ring.shard_for_key("c"))
        .expect("a key on the other shard");
    let sleep = || Cmd::new("EVAL").arg(HOLD_150_MS).arg(1).arg(&held);
    assert_eq!(ring.cmd(sleep()).unwrap(), Value::Int(1));
    let results = ring.pipeline(vec![
        Cmd::new("SET").arg("c").arg(3),
        sleep(),
        Cmd::new("GET").arg("c"),
    ]);
    assert!(results.iter().all(Result::is_ok), "{results:?}");

    // Spans: one per command, the conventions' fields, never an argument.
    let spans = capture.closed.lock().unwrap().clone();
    let set = spans
        .iter()
        .find(|s| s.get("db.operation.name").map(String::as_str) == Some("SET"))
        .expect("a SET span");
    assert_eq!(set["db.system.name"], "redis");
    assert_eq!(set["db.namespace"], "0");
    assert_eq!(set["server.address"], "127.0.0.1");
    let owner = ring.shard_for_key("secret-key").unwrap();
    assert_eq!(set["redis_ring.shard"], owner);
    let port = shards
        .named()
        .into_iter()
        .find(|(n, _)| *n == owner)
        .unwrap()
        .1;
    assert!(
        port.ends_with(&format!(":{}", set["server.port"])),
        "{port} {set:?}"
    );
    assert!(!set.contains_key("error.type"));
    let lpush = spans
        .iter()
        .find(|s| s.get("db.operation.name").map(String::as_str) == Some("LPUSH"))
        .expect("an LPUSH span");
    assert_eq!(lpush["db.response.status_code"], "WRONGTYPE");
    assert_eq!(lpush["error.type"], "server");
    let pipeline = spans
        .iter()
        .find(|s| s.get("db.operation.name").map(String::as_str) == Some("PIPELINE"))
        .expect("a PIPELINE span");
    assert_eq!(pipeline["db.operation.batch.size"], "3");
    for s in &spans {
        for v in s.values() {
            assert!(!v.contains("secret"), "an argument in a span: {s:?}");
        }
    }

    // Shard down and up: events at warn and info.
    shards.server(1).kill();
    let down = |e: &Event| matches!(e, Event::ShardDown { name, .. } if &**name == "shard2");
    loop {
        let e = events
            .next_event(Duration::from_secs(10))
            .expect("a ShardDown event for shard2");
        if down(&e) {
            break;
        }
    }
    shards.server(1).restart().unwrap();
    let up = |e: &Event| matches!(e, Event::ShardUp { name, .. } if &**name == "shard2");
    loop {
        let e = events
            .next_event(Duration::from_secs(10))
            .expect("a ShardUp event for shard2");
        if up(&e) {
            break;
        }
    }
    let logged = capture.events.lock().unwrap().clone();
    let find = |msg: &str| {
        logged
            .iter()
            .find(|(_, f)| f.get("message").is_some_and(|m| m == msg))
            .map(|(l, f)| (*l, f.get("redis_ring.shard").cloned()))
    };
    assert_eq!(
        find("shard down"),
        Some((tracing::Level::WARN, Some("shard2".into())))
    );
    assert_eq!(
        find("shard up"),
        Some((tracing::Level::INFO, Some("shard2".into())))
    );
    assert!(find("shard added").is_some());

    // Metrics: names, labels, kinds.
    let snapshot = snapshotter.snapshot().into_vec();
    let mut seen = HashMap::new();
    for (key, _, _, value) in &snapshot {
        let labels: HashMap<&str, &str> =
            key.key().labels().map(|l| (l.key(), l.value())).collect();
        if key.key().name() == "db.client.operation.duration" {
            assert_eq!(key.kind(), MetricKind::Histogram);
            assert!(matches!(value, DebugValue::Histogram(v) if !v.is_empty()));
            let op = labels["db.operation.name"];
            let DebugValue::Histogram(v) = value else {
                unreachable!()
            };
            let seconds: Vec<f64> = v.iter().map(|s| s.into_inner()).collect();
            // Every duration is positive (a round trip at least) and finite (under 10 s).
            assert!(
                seconds.iter().all(|&s| s > 0.0 && s < 10.0),
                "{op}: {seconds:?}"
            );
            let longest = seconds.iter().copied().fold(0.0, f64::max);
            if op == "EVAL" {
                assert!(longest >= 0.15, "a 150 ms script took {seconds:?}");
            }
            if op == "PIPELINE" {
                // The plain pipeline is quick; the one holding a 150 ms script is not.
                assert!(
                    longest >= 0.15,
                    "PIPELINE with a 150 ms script: {seconds:?}"
                );
                let quickest = seconds.iter().copied().fold(f64::MAX, f64::min);
                assert!(quickest < longest, "{seconds:?}");
            }
            if op == "LPUSH" {
                assert_eq!(labels["outcome"], "server");
                assert_eq!(labels["redis_ring.shard"], owner);
            }
            if op == "SET" {
                assert_eq!(labels["outcome"], "ok");
                assert!(labels["server.address"].starts_with("127.0.0.1:"));
            }
            seen.insert(format!("op:{op}"), ());
        }
        seen.insert(key.key().name().to_string(), ());
    }
    for name in [
        "db.client.operation.duration",
        "op:SET",
        "op:LPUSH",
        "op:PIPELINE",
        "op:EVAL",
        "redis_ring.shards.live",
        "redis_ring.shard.transitions",
        "db.client.connection.count",
        "redis_ring.in_flight",
    ] {
        assert!(seen.contains_key(name), "{name} missing from {seen:?}");
    }
    ring.close();
}
