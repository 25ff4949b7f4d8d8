//! `redis-ring bench`: throughput and latency against real shards.
//!
//! Submodules, one concern each: `workload` (which command next), `recorder` (histograms,
//! timeline buckets, events), `progress` (the live line), `report` (JSON and text), `plot`
//! (the SVG), and one module per client measured (`redis_rs`; the redis-ring drivers).
//!
//! Every client follows the same steps: connect, [`Bench::begin`] (the clock starts), run the
//! callers until the deadline, hand back one [`Recorder`] per caller. Commands still in
//! flight at the deadline complete and are counted; `elapsed` runs until the last one.

mod caller;
mod per_shard;
mod plot;
mod progress;
mod recorder;
mod redis_rs;
mod redis_rs_tokio;
mod report;
mod ring_smol;
mod ring_std;
mod ring_tokio;
mod workload;

use redis_ring_core::config::redact_addr;
use redis_ring_tests::alloc_count::Counted;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::args::{BenchArgs, Client, Driver, Global, Mode, Op};
use crate::rng::Rng;
use crate::shard_list::{placement_name, ShardList};
use crate::view;
use progress::Progress;
use recorder::{EventLog, Live, Recorder};
use report::{Report, Settings};
use ring_smol::Setup as SmolSetup;
use workload::Workload;

pub(crate) use ring_std::{up_down, wait_until_up};

/// One bench run's parameters and shared state, handed to the client being measured.
#[derive(Debug)]
pub(crate) struct Bench {
    /// The commands to send.
    pub(crate) workload: Workload,
    /// seq / conc / pipeline.
    pub(crate) mode: Mode,
    /// Concurrent callers (1 in seq mode).
    pub(crate) callers: usize,
    /// Commands per batch (1 unless pipelining).
    pub(crate) batch: usize,
    /// Measurement time.
    pub(crate) duration: Duration,
    /// Seed of the key sequence.
    pub(crate) seed: u64,
    /// The shards, with addresses.
    pub(crate) shards: Vec<(String, String)>,
    /// The shard list as given (for placement).
    pub(crate) shard_list: ShardList,
    /// Connection options.
    pub(crate) conn: ConnSettings,
    live: Arc<Live>,
    events: Arc<EventLog>,
    progress: bool,
    /// Count heap allocations from [`Bench::begin`] to [`Bench::measured`].
    count_allocs: bool,
}

/// What every client needs to connect, from the global options.
#[derive(Clone, Debug)]
pub(crate) struct ConnSettings {
    /// Placement algorithm.
    pub(crate) placement: redis_ring_core::placement::Algorithm,
    /// Hash tag.
    pub(crate) hash_tag: redis_ring_core::placement::HashTag,
    /// ACL user.
    pub(crate) user: Option<String>,
    /// AUTH password.
    pub(crate) password: Option<String>,
    /// SELECT db.
    pub(crate) db: u32,
    /// 2 or 3 (None: client default).
    pub(crate) resp: Option<u8>,
    /// Command and connect timeout.
    pub(crate) timeout: Duration,
    /// TLS flags.
    pub(crate) tls: crate::args::TlsArgs,
}

impl ConnSettings {
    /// `builder` given `shards` and these settings: one place for every redis-ring driver
    /// the bench runs (the std driver builds through `connect::RingSettings`).
    pub(crate) fn configure<Rt: redis_ring_driver::Runtime, F: redis_ring_driver::Flavor>(
        &self,
        shards: &[(String, String)],
        builder: redis_ring_driver::RingBuilder<Rt, F>,
    ) -> Result<redis_ring_driver::RingBuilder<Rt, F>, String> {
        let mut builder = builder
            .shard_specs(self.tls.specs(shards)?)
            .placement(self.placement.clone())
            .hash_tag(self.hash_tag)
            .command_timeout(self.timeout)
            .connect_timeout(self.timeout)
            .db(self.db)
            .client_name("redis-ring-cli")
            .protocol(match self.resp {
                Some(2) => redis_ring_driver::Protocol::Resp2,
                Some(3) => redis_ring_driver::Protocol::Resp3,
                _ => redis_ring_driver::Protocol::Auto,
            });
        if let Some(user) = &self.user {
            builder = builder.username(user.clone());
        }
        if let Some(password) = &self.password {
            builder = builder.password(password.clone());
        }
        Ok(builder)
    }
}

/// The clock of a running measurement.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    /// When the measurement started.
    pub(crate) start: Instant,
    /// When callers stop starting new commands.
    pub(crate) deadline: Instant,
    start_unix_ms: u64,
}

/// What a client hands back.
#[derive(Debug)]
pub(crate) struct Measured {
    clock: Clock,
    recorders: Vec<Recorder>,
    end: Instant,
    progress: Progress,
    allocs: Counted,
    /// Per-shard totals and lines from the client's `stats()` (redis-ring only).
    shards: Vec<per_shard::ShardSummary>,
    shard_lines: per_shard::ShardLines,
}

impl Measured {
    /// Adds the per-shard figures of a redis-ring run.
    pub(crate) fn with_shards(
        mut self,
        shards: Vec<per_shard::ShardSummary>,
        lines: per_shard::ShardLines,
    ) -> Measured {
        self.shards = shards;
        self.shard_lines = lines;
        self
    }
}

impl Bench {
    /// Starts the clock (and the progress line): call once connected, right before the
    /// callers start.
    pub(crate) fn begin(&mut self) -> (Clock, Progress) {
        if self.count_allocs {
            redis_ring_tests::alloc_count::start();
        }
        let start = Instant::now();
        let start_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.events = Arc::new(EventLog::new(start));
        let progress = Progress::start(
            self.progress,
            start,
            self.duration,
            self.live.clone(),
            self.events.clone(),
        );
        (
            Clock {
                start,
                deadline: start + self.duration,
                start_unix_ms,
            },
            progress,
        )
    }

    /// A recorder for one caller of the measurement that started at `clock`.
    pub(crate) fn recorder(&self, clock: &Clock) -> Recorder {
        Recorder::new(clock.start, self.live.clone())
    }

    /// Where the client reports shard up/down events.
    pub(crate) fn events(&self) -> Arc<EventLog> {
        self.events.clone()
    }

    /// What caller `i` of the measurement that started at `clock` runs with.
    fn plan(&self, clock: &Clock, i: usize) -> caller::Plan {
        caller::Plan {
            workload: self.workload.clone(),
            rng: Rng::new(Workload::caller_seed(self.seed, i)),
            rec: self.recorder(clock),
            clock: *clock,
            mode: self.mode,
            batch: self.batch,
        }
    }

    /// Bundles a finished measurement.
    /// (Every caller has finished: allocation counting, if on, stops here.)
    pub(crate) fn measured(clock: Clock, progress: Progress, recorders: Vec<Recorder>) -> Measured {
        let end = Instant::now();
        let allocs = redis_ring_tests::alloc_count::stop();
        Measured {
            clock,
            recorders,
            end,
            progress,
            allocs,
            shards: Vec::new(),
            shard_lines: Vec::new(),
        }
    }
}

/// Runs `bench` and prints its report.
pub(crate) fn run(global: &Global, args: &BenchArgs) -> Result<ExitCode, String> {
    let shard_list = global
        .shards
        .clone()
        .ok_or("bench needs shards: --shards NAME=HOST:PORT,... (or REDIS_RING_SHARDS)")?;
    let shards = shard_list.with_addrs()?;
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    if args.pipeline == 0 {
        return Err("--pipeline must be at least 1".into());
    }
    if args.duration.is_zero() {
        return Err("--duration must be more than 0".into());
    }
    let callers = if args.mode == Mode::Seq {
        1
    } else {
        args.concurrency
    };
    let batch = if args.mode == Mode::Pipeline {
        args.pipeline
    } else {
        1
    };
    // One protocol for every client measured (the ring would pick RESP3, the redis crate
    // RESP2): RESP3 unless `--resp 2`.
    let resp = global.resp.unwrap_or(3);
    let conn = ConnSettings {
        placement: global.placement.clone(),
        hash_tag: global.hash_tag,
        user: global.user.clone(),
        password: global.password.clone(),
        db: global.db,
        resp: Some(resp),
        timeout: global.timeout,
        tls: global.tls.clone(),
    };
    let start = Instant::now();
    let mut bench = Bench {
        workload: Workload::new(args.keys, args.op, args.value_size),
        mode: args.mode,
        callers,
        batch,
        duration: args.duration,
        seed: args.seed,
        shards: shards.clone(),
        shard_list,
        conn,
        live: Arc::new(Live::default()),
        events: Arc::new(EventLog::new(start)),
        progress: view::stderr_is_live(),
        count_allocs: args.count_allocs,
    };
    let (client, driver, setup) = match (args.client, args.driver) {
        // redis-rs is not a redis-ring driver: the runtime it runs on, smol unless tokio.
        (Client::RedisRs, Driver::Tokio) => ("redis-rs", "tokio", redis_rs_tokio::SETUP),
        (Client::RedisRing, Driver::Tokio) => ("redis-ring", "tokio", ring_tokio::SETUP),
        (Client::RedisRs, _) => ("redis-rs", "smol", redis_rs::SETUP),
        (Client::RedisRing, Driver::Std) => ("redis-ring", "std", ring_std::SETUP),
        (Client::RedisRing, Driver::Smol) => {
            ("redis-ring", "smol", SmolSetup::DriverThread.describe())
        }
        (Client::RedisRing, Driver::SmolBlockOn) => (
            "redis-ring",
            "smol-block-on",
            SmolSetup::RingBlockOn.describe(),
        ),
        (Client::RedisRing, Driver::SmolGlobal) => (
            "redis-ring",
            "smol-global",
            SmolSetup::GlobalExecutor.describe(),
        ),
    };
    let measured = match (args.client, args.driver) {
        (Client::RedisRs, Driver::Tokio) => redis_rs_tokio::run(&mut bench)?,
        (Client::RedisRing, Driver::Tokio) => ring_tokio::run(&mut bench)?,
        (Client::RedisRs, _) => redis_rs::run(&mut bench)?,
        (Client::RedisRing, Driver::Std) => ring_std::run(&mut bench)?,
        (Client::RedisRing, Driver::Smol) => ring_smol::run(&mut bench, SmolSetup::DriverThread)?,
        (Client::RedisRing, Driver::SmolBlockOn) => {
            ring_smol::run(&mut bench, SmolSetup::RingBlockOn)?
        }
        (Client::RedisRing, Driver::SmolGlobal) => {
            ring_smol::run(&mut bench, SmolSetup::GlobalExecutor)?
        }
    };
    measured.progress.finish();
    let mut merged = Recorder::new(measured.clock.start, bench.live.clone());
    for r in &measured.recorders {
        merged.merge(r);
    }
    let report = Report {
        settings: Settings {
            client,
            driver,
            setup,
            resp,
            mode: mode_name(args.mode),
            concurrency: callers,
            pipeline: batch,
            op: op_name(args.op),
            duration: args.duration,
            keys: args.keys,
            value_size: args.value_size,
            shards: shards
                .iter()
                .map(|(n, a)| format!("{n}={}", redact_addr(a)))
                .collect(),
            placement: placement_name(&global.placement, global.hash_tag),
        },
        start_unix_ms: measured.clock.start_unix_ms,
        elapsed: measured.end.duration_since(measured.clock.start),
        recorder: merged,
        events: bench.events.snapshot(),
        allocs: args.count_allocs.then_some(measured.allocs),
        shards: measured.shards,
    };
    if let Some(path) = &args.plot {
        let title = format!(
            "{client} ({driver}) {} x{}{}: {:.0} ops/s",
            report.settings.mode,
            callers,
            if batch > 1 {
                format!(" batch {batch}")
            } else {
                String::new()
            },
            report.ops_per_sec()
        );
        plot::draw(
            path,
            &title,
            report.elapsed.as_secs_f64(),
            report.recorder.buckets(),
            &report.events,
            &measured.shard_lines,
        )?;
    }
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.human());
        if let Some(path) = &args.plot {
            println!("  timeline plot: {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Seq => "seq",
        Mode::Conc => "conc",
        Mode::Pipeline => "pipeline",
    }
}

fn op_name(o: Op) -> &'static str {
    match o {
        Op::Set => "set",
        Op::Get => "get",
        Op::Mixed => "mixed",
    }
}
