//! A deterministic simulator of the ring client: [`RingCore`] driven exactly as a real driver
//! drives it, against fake Redis shards ([`fake_redis`]) behind a simulated network, on
//! discrete-event time, with faults. Every run is reproducible from one seed.
//!
//! The network: per-shard latency with jitter; bytes of one connection are delivered in
//! order (each direction keeps FIFO), different connections may overtake each other; writes
//! may be partial and reads arrive in random chunks. Faults, several per run at random times:
//! shard crash and restart (connections reset, new connections refused, data lost), hang and
//! resume (connections accepted, nothing answered: SIGSTOP), partition and heal (packets and
//! connection attempts vanish; connections reset on heal), connection resets, a burst of
//! garbage bytes, and membership changes (`set_shards` removing a shard, then adding it back).
//!
//! The invariants are in [`check`]. [`run`] returns the run's [`Outcome`] (with a hash of
//! the whole trace, for the run-twice determinism check) or the first broken invariant.

pub mod check;
pub mod fake_redis;
pub mod rng;
pub mod window;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::{Config, Protocol};
use redis_ring_core::error::{Error, NetError};
use redis_ring_core::resp::{decode, Limits, Status, Value};
use redis_ring_core::ring::{ConnId, Event, Input, Output, RequestId, RingCore};
use redis_ring_core::time::{Duration, Instant};

use check::{fail, Checker, KeyPart, Kind, Pending, Rule, Tally, Violation};
use fake_redis::{FakeRedis, Session};
use rng::SimRng;

/// A deliberate bug, to prove the checker catches it (tests of the simulator itself), and
/// the [`Rule`] meant to catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    /// No bug.
    None,
    /// The network delivers the reply to one `TAGGED` request to another connection, whose
    /// oldest unanswered command is another `TAGGED` request. Caught by
    /// [`Rule::ReplyIdentity`].
    CrossedReplies,
    /// The driver forgets to report one `Sent` after a partial write of a command, so its
    /// first bytes are written twice. Caught by [`Rule::ClientBytes`].
    DoubleWrite,
    /// The driver writes a whole `TAGGED` or `SET` command twice. Caught by
    /// [`Rule::RanTwice`].
    CommandTwice,
    /// The reply to a split `MGET` comes out with two differing items swapped (a merge in
    /// the wrong order). Caught by [`Rule::WrongValue`].
    WrongMerge,
}

impl Bug {
    /// The rule meant to catch this bug.
    pub fn rule(self) -> Option<Rule> {
        match self {
            Bug::None => None,
            Bug::CrossedReplies => Some(Rule::ReplyIdentity),
            Bug::DoubleWrite => Some(Rule::ClientBytes),
            Bug::CommandTwice => Some(Rule::RanTwice),
            Bug::WrongMerge => Some(Rule::WrongValue),
        }
    }
}

/// What a run does.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Number of shards (2..).
    pub shards: usize,
    /// How long the workload and faults last (then faults heal and the run drains).
    pub duration: Duration,
    /// Mean requests per simulated second.
    pub rate: u64,
    /// Most faults per run.
    pub max_faults: u32,
    /// A deliberate bug (to test the checker).
    pub bug: Bug,
    /// Tolerate the core re-sending a command on a new connection after the connection it
    /// was written to broke (it may have run: forbidden, and the core no longer does it since
    /// issue 17; `false` by default). A command run twice on one connection always fails.
    pub tolerate_resend_after_disconnect: bool,
    /// Keep a readable trace (printed on failure).
    pub verbose: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            shards: 4,
            duration: Duration::from_secs(8),
            rate: 120,
            max_faults: 4,
            bug: Bug::None,
            tolerate_resend_after_disconnect: false,
            verbose: false,
        }
    }
}

/// A run that kept every invariant.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Hash of every input and output with its time: equal for equal seeds.
    pub trace_hash: u64,
    /// What the checker saw.
    pub tally: Tally,
    /// Faults that took effect, and what followed them.
    pub faults: FaultTally,
    /// Events processed.
    pub steps: u64,
    /// The readable trace, when [`SimOptions::verbose`].
    pub trace: Vec<String>,
}

/// A run that broke an invariant.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The run's seed.
    pub seed: u64,
    /// The rule that broke.
    pub rule: Rule,
    /// What broke, and when.
    pub message: String,
    /// The readable trace, when [`SimOptions::verbose`] (its last `SIM_TRACE_LINES`, default
    /// 400, are printed).
    pub trace: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "simulation seed {} broke rule {:?}: {}",
            self.seed, self.rule, self.message
        )?;
        writeln!(
            f,
            "replay: SIM_SEED={} SIM_RUNS=1 SIM_VERBOSE=1 cargo test -p redis-ring-tests --test sim -- --nocapture seeds",
            self.seed
        )?;
        let keep = std::env::var("SIM_TRACE_LINES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400);
        for line in self.trace.iter().rev().take(keep).rev() {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// Runs one simulation.
pub fn run(seed: u64, options: &SimOptions) -> Result<Outcome, Failure> {
    let mut sim = Sim::new(seed, options.clone());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.run()));
    let message = match result {
        Ok(Ok(())) => {
            return Ok(Outcome {
                trace_hash: sim.hash,
                tally: sim.check.tally.clone(),
                faults: sim.faults.clone(),
                steps: sim.steps,
                trace: std::mem::take(&mut sim.trace),
            })
        }
        Ok(Err(v)) => v,
        Err(panic) => Violation::new(
            Rule::Panic,
            format!(
                "panic: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            ),
        ),
    };
    Err(Failure {
        seed,
        rule: message.rule,
        message: format!(
            "at t={} ms: {}",
            sim.now.as_nanos() / 1_000_000,
            message.message
        ),
        trace: std::mem::take(&mut sim.trace),
    })
}

/// A fault and its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The shard's process dies (connections reset, data lost).
    Crash,
    /// The crashed shard starts again, empty.
    Restart,
    /// The shard stops answering (SIGSTOP).
    Hang,
    /// The hung shard answers again.
    Resume,
    /// Packets and connection attempts vanish.
    Partition,
    /// The partition ends (connections reset).
    Heal,
    /// Every connection of the shard is reset.
    Reset,
    /// The shard's next reply is replaced by bytes that are not RESP.
    Garbage,
    /// `set_shards` without the shard.
    Remove,
    /// `set_shards` with the shard again.
    Readd,
}

/// The faults a run applied (no-ops not counted: a second fault on a faulted shard, a heal
/// of nothing, a reset with no connection, garbage that no reply carried) and what followed.
#[derive(Clone, Debug, Default)]
pub struct FaultTally {
    /// Faults (and their ends) that took effect, per kind.
    pub applied: HashMap<Fault, u32>,
    /// Per kind of fault, the shards that later answered a request (`TAGGED`, from the
    /// shard itself) submitted after the fault ended.
    pub recovered: HashMap<Fault, u32>,
}

impl FaultTally {
    /// Faults that took effect (ends and heals not counted).
    pub fn total(&self) -> u32 {
        self.applied
            .iter()
            .filter(|(f, _)| {
                !matches!(
                    f,
                    Fault::Restart | Fault::Resume | Fault::Heal | Fault::Readd
                )
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Adds another run's.
    pub fn add(&mut self, other: &FaultTally) {
        for (f, n) in &other.applied {
            *self.applied.entry(*f).or_default() += n;
        }
        for (f, n) in &other.recovered {
            *self.recovered.entry(*f).or_default() += n;
        }
    }
}

#[derive(Debug)]
enum Ev {
    /// The connection attempt's outcome reaches the client.
    ConnectDone(ConnId),
    /// Bytes reach the server side of a connection.
    ToServer(ConnId, Vec<u8>),
    /// Bytes reach the client side.
    ToClient(ConnId, Vec<u8>, Vec<Owed>),
    /// The client sees the connection fail.
    ClientClosed(ConnId, NetError),
    /// A fault on a shard.
    Fault(usize, Fault),
    /// A workload request arrives.
    Submit,
    /// A caller gives up on a request.
    Cancel(RequestId),
}

/// A command a shard ran whose reply has not reached the client yet: its name and, for
/// `TAGGED`, its tag.
#[derive(Clone, Debug)]
struct Owed {
    name: Vec<u8>,
    tag: Option<u64>,
}

#[derive(Debug, PartialEq, Eq)]
enum LinkState {
    Connecting,
    Open,
    /// Broken under the client (it has been or will be told).
    Dead,
}

#[derive(Debug)]
struct Link {
    shard: usize,
    state: LinkState,
    session: Session,
    /// Last delivery time per direction (FIFO within a connection).
    up_last: Instant,
    down_last: Instant,
    /// Commands run whose replies are on their way to the client, oldest first.
    owed: VecDeque<Owed>,
}

#[derive(Debug)]
struct Shard {
    name: String,
    addr: String,
    redis: FakeRedis,
    alive: bool,
    hung: bool,
    partitioned: bool,
    removed: bool,
    garbage_next: bool,
    /// One-way latency and jitter, in microseconds.
    latency_us: u64,
    jitter_us: u64,
    /// When its current fault began (for the liveness bounds), if one is active.
    fault_since: Option<(Fault, Instant)>,
    /// Faults that ended (or, for resets and garbage, happened) and have not yet been
    /// followed by a request the shard answered, with when.
    awaiting_recovery: Vec<(Fault, Instant)>,
    /// Last time any fault affected it.
    last_fault: Option<Instant>,
    /// The ring considers it up (from events).
    up: bool,
    /// Must be down by this time (crash), or up by this time (recovery).
    expect_down_by: Option<Instant>,
    /// (deadline, recovery time, what ended: Restart, Resume or Heal).
    expect_up_by: Option<(Instant, Instant, Fault)>,
}

struct Sim {
    opts: SimOptions,
    rng: SimRng,
    now: Instant,
    start: Instant,
    end: Instant,
    ring: RingCore,
    config: Config,
    shards: Vec<Shard>,
    links: HashMap<ConnId, Link>,
    queue: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    events: HashMap<usize, Ev>,
    seq: u64,
    ring_wake: Instant,
    check: Checker,
    next_tag: u64,
    hash: u64,
    trace: Vec<String>,
    faults: FaultTally,
    steps: u64,
    bug_done: bool,
    max_rtt: Duration,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

const MS: u64 = 1_000_000;

/// Commands of the workload (not of the handshake or of health probes).
const USER_COMMANDS: [&[u8]; 7] = [
    b"TAGGED", b"SET", b"GET", b"INCR", b"DEL", b"EXISTS", b"MGET",
];

/// The name (upper case) and length of the complete command at the start of `buf`.
fn first_command(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    match decode(buf, &Limits::default()) {
        Ok(Status::Complete((frame, used))) => {
            let name = frame.as_aggregate()?.iter().next()?.as_bulk()?;
            Some((name.to_ascii_uppercase(), used))
        }
        _ => None,
    }
}

impl Sim {
    fn new(seed: u64, opts: SimOptions) -> Sim {
        let mut rng = SimRng::new(seed);
        let start = Instant::from_nanos(1_000 * MS);
        let mut config = Config::default();
        config.seed = seed;
        let password = rng.chance(0.15).then(|| format!("pw{}", rng.range(0, 100)));
        config.conn.password = password.clone();
        config.conn.protocol = *rng.pick(&[
            Protocol::Auto,
            Protocol::Auto,
            Protocol::Resp2,
            Protocol::Resp3,
        ]);
        if rng.chance(0.15) {
            config.conn.db = 1;
        }
        if rng.chance(0.2) {
            config.conn.client_name = Some("sim".into());
        }
        let mut max_rtt = Duration::ZERO;
        let shards: Vec<Shard> = (0..opts.shards.max(2))
            .map(|i| {
                let name = format!("s{i}");
                let latency_us = rng.range(50, 2_000);
                let jitter_us = rng.range(0, 1_000);
                max_rtt = max_rtt.max(Duration::from_micros(2 * (latency_us + jitter_us)));
                Shard {
                    redis: FakeRedis::new(&name, password.clone()),
                    addr: format!("10.0.0.{i}:6379"),
                    name,
                    alive: true,
                    hung: false,
                    partitioned: false,
                    removed: false,
                    garbage_next: false,
                    latency_us,
                    jitter_us,
                    fault_since: None,
                    awaiting_recovery: Vec::new(),
                    last_fault: None,
                    up: true,
                    expect_down_by: None,
                    expect_up_by: None,
                }
            })
            .collect();
        let end = start + opts.duration;
        let check = Checker {
            // Connect + handshake + request round trips, plus scheduling slack.
            healthy_bound: max_rtt * 4 + Duration::from_millis(1),
            tolerate_resend_after_disconnect: opts.tolerate_resend_after_disconnect,
            ..Checker::default()
        };
        Sim {
            ring: RingCore::new(config.clone(), start),
            config,
            rng,
            now: start,
            start,
            end,
            shards,
            links: HashMap::new(),
            queue: BinaryHeap::new(),
            events: HashMap::new(),
            seq: 0,
            ring_wake: Instant::MAX,
            check,
            next_tag: 0,
            hash: 0xcbf2_9ce4_8422_2325,
            trace: Vec::new(),
            faults: FaultTally::default(),
            steps: 0,
            bug_done: false,
            max_rtt,
            opts,
        }
    }

    fn mix(&mut self, parts: &[u64]) {
        for &p in parts {
            for b in p.to_le_bytes() {
                self.hash ^= u64::from(b);
                self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }

    fn log(&mut self, f: impl FnOnce() -> String) {
        if self.opts.verbose {
            let line = format!(
                "{:>9.3} ms  {}",
                (self.now - self.start).as_secs_f64() * 1e3,
                f()
            );
            self.trace.push(line);
        }
    }

    fn at(&mut self, t: Instant, ev: Ev) {
        self.seq += 1;
        let key = self.seq as usize;
        self.events.insert(key, ev);
        self.queue.push(Reverse((t, self.seq, key)));
    }

    fn one_way(&mut self, shard: usize) -> Duration {
        let s = &self.shards[shard];
        let (l, j) = (s.latency_us, s.jitter_us);
        Duration::from_micros(l + self.rng.range(0, j + 1))
    }

    fn ring_shards(&self) -> Vec<(String, String)> {
        self.shards
            .iter()
            .filter(|s| !s.removed)
            .map(|s| (s.name.clone(), s.addr.clone()))
            .collect()
    }

    fn run(&mut self) -> Result<(), Violation> {
        let shards = self.ring_shards();
        self.ring.set_shards(shards, self.now);
        self.drain()?;
        self.schedule_workload();
        self.schedule_faults();
        // Faults heal at `end`; then every deadline (3 s at most) passes.
        let stop = self.end + Duration::from_secs(5);
        let mut same_time_timeouts = 0u32;
        loop {
            let next_ev = self.queue.peek().map(|Reverse((t, ..))| *t);
            let next = match next_ev {
                Some(t) if t < self.ring_wake => t,
                _ => self.ring_wake,
            };
            if next > stop {
                break;
            }
            self.steps += 1;
            if next_ev == Some(next) {
                let Reverse((t, _, key)) = self.queue.pop().unwrap();
                self.now = self.now.max(t);
                let ev = self.events.remove(&key).unwrap();
                self.handle(ev)?;
                same_time_timeouts = 0;
            } else {
                if next <= self.now {
                    same_time_timeouts += 1;
                    if same_time_timeouts > 1_000 {
                        return fail(
                            Rule::DriverContract,
                            "the ring keeps asking for a timeout it already had",
                        );
                    }
                } else {
                    same_time_timeouts = 0;
                }
                self.now = self.now.max(next);
                self.mix(&[1, self.now.as_nanos()]);
                self.ring.handle_input(Input::Timeout(self.now));
            }
            self.drain()?;
            self.check_liveness_bounds()?;
        }
        self.now = stop;
        self.check.finish()
    }

    fn schedule_workload(&mut self) {
        let mut t = self.start + Duration::from_millis(200);
        let mean_gap_us = 1_000_000 / self.opts.rate.max(1);
        while t < self.end {
            // Bursts: sometimes many requests at the same instant (they share a Transmit).
            if self.rng.chance(0.1) {
                for _ in 0..self.rng.range(2, 20) {
                    self.at(t, Ev::Submit);
                }
            } else {
                self.at(t, Ev::Submit);
            }
            t += Duration::from_micros(self.rng.range(0, 2 * mean_gap_us));
        }
    }

    fn schedule_faults(&mut self) {
        // At least one fault per run (a run with none checks little).
        let n = self
            .rng
            .range(1, u64::from(self.opts.max_faults.max(1)) + 1);
        let span = (self.end - self.start).as_millis() as u64;
        for _ in 0..n {
            let shard = self.rng.range(0, self.shards.len() as u64) as usize;
            let begin = self.start + Duration::from_millis(self.rng.range(500, span.max(600)));
            let len = Duration::from_millis(self.rng.range(100, 4_000));
            let finish = (begin + len).min(self.end);
            let (f, g) = *self.rng.pick(&[
                (Fault::Crash, Some(Fault::Restart)),
                (Fault::Crash, Some(Fault::Restart)),
                (Fault::Hang, Some(Fault::Resume)),
                (Fault::Partition, Some(Fault::Heal)),
                (Fault::Reset, None),
                (Fault::Garbage, None),
                (Fault::Remove, Some(Fault::Readd)),
            ]);
            self.at(begin, Ev::Fault(shard, f));
            if let Some(g) = g {
                self.at(finish, Ev::Fault(shard, g));
            }
        }
    }

    fn handle(&mut self, ev: Ev) -> Result<(), Violation> {
        match ev {
            Ev::Submit => self.submit(),
            Ev::Cancel(id) => {
                if self.check.cancel(id) {
                    self.mix(&[2, id.as_u64()]);
                    self.log(|| format!("cancel {id}"));
                    if !self.ring.cancel(id) {
                        return fail(
                            Rule::DriverContract,
                            format!("{id} was pending for the checker but not for the ring"),
                        );
                    }
                }
                Ok(())
            }
            Ev::ConnectDone(conn) => {
                let Some(link) = self.links.get_mut(&conn) else {
                    return Ok(());
                };
                if link.state != LinkState::Connecting {
                    return Ok(());
                }
                let s = &self.shards[link.shard];
                if s.partitioned {
                    return Ok(()); // the SYN vanished: the ring's connect timeout decides
                }
                if !s.alive {
                    self.links.remove(&conn);
                    self.mix(&[3, conn.as_u64()]);
                    self.log(|| format!("{conn} refused"));
                    self.ring.handle_input(Input::Closed {
                        conn,
                        error: NetError::Refused,
                        now: self.now,
                    });
                    return Ok(());
                }
                link.state = LinkState::Open;
                link.session = s.redis.session();
                self.mix(&[4, conn.as_u64()]);
                self.log(|| format!("{conn} connected"));
                self.ring.handle_input(Input::Connected {
                    conn,
                    now: self.now,
                });
                Ok(())
            }
            Ev::ToServer(conn, bytes) => self.deliver_to_server(conn, &bytes),
            Ev::ToClient(conn, bytes, owed) => {
                let Some(link) = self.links.get_mut(&conn) else {
                    return Ok(());
                };
                for _ in 0..owed.len() {
                    link.owed.pop_front();
                }
                if link.state != LinkState::Open || self.shards[link.shard].partitioned {
                    return Ok(());
                }
                let conn = self.cross_replies(conn, &owed);
                // Reads arrive in random chunks.
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let n = if self.rng.chance(0.3) {
                        self.rng.range(1, rest.len() as u64 + 1) as usize
                    } else {
                        rest.len()
                    };
                    let (chunk, tail) = rest.split_at(n);
                    rest = tail;
                    self.mix(&[5, conn.as_u64(), chunk.len() as u64]);
                    self.ring.handle_input(Input::Received {
                        conn,
                        data: chunk,
                        now: self.now,
                    });
                    self.drain()?;
                }
                Ok(())
            }
            Ev::ClientClosed(conn, error) => {
                if self.links.remove(&conn).is_some() {
                    self.mix(&[6, conn.as_u64()]);
                    self.log(|| format!("{conn} closed: {error}"));
                    self.ring.handle_input(Input::Closed {
                        conn,
                        error,
                        now: self.now,
                    });
                }
                Ok(())
            }
            Ev::Fault(shard, f) => self.fault(shard, f),
        }
    }

    fn deliver_to_server(&mut self, conn: ConnId, bytes: &[u8]) -> Result<(), Violation> {
        let Some(link) = self.links.get_mut(&conn) else {
            return Ok(());
        };
        let shard = link.shard;
        let s = &mut self.shards[shard];
        if link.state != LinkState::Open || s.partitioned || !s.alive {
            return Ok(());
        }
        link.session.inbox.extend_from_slice(bytes);
        if s.hung {
            return Ok(());
        }
        self.serve(conn)
    }

    /// The server answers whatever complete commands a connection has buffered.
    fn serve(&mut self, conn: ConnId) -> Result<(), Violation> {
        let Some(link) = self.links.get_mut(&conn) else {
            return Ok(());
        };
        let shard = link.shard;
        let s = &mut self.shards[shard];
        let mut out = Vec::new();
        let mut ran = Vec::new();
        let served = s.redis.serve_logged(&mut link.session, &mut out, &mut ran);
        for words in &ran {
            self.check.ran(&s.name, conn.as_u64(), words)?;
            if self.opts.verbose {
                let text: Vec<_> = words.iter().map(|w| String::from_utf8_lossy(w)).collect();
                let line = format!(
                    "{:>9.3} ms  {} ran {text:?} from {conn}",
                    (self.now - self.start).as_secs_f64() * 1e3,
                    s.name
                );
                self.trace.push(line);
            }
        }
        if let Err(e) = served {
            return fail(
                Rule::ClientBytes,
                format!("shard {} got bad bytes from the client: {e}", s.name),
            );
        }
        if out.is_empty() {
            return Ok(());
        }
        if s.garbage_next {
            s.garbage_next = false;
            out = b"!garbage that is not RESP\r\n".to_vec();
            *self.faults.applied.entry(Fault::Garbage).or_default() += 1;
            s.awaiting_recovery.push((Fault::Garbage, self.now));
        }
        let owed: Vec<Owed> = ran
            .iter()
            .map(|w| Owed {
                name: w[0].to_ascii_uppercase(),
                tag: w
                    .get(2)
                    .and_then(|t| std::str::from_utf8(t).ok()?.parse().ok()),
            })
            .collect();
        link.owed.extend(owed.iter().cloned());
        let d = self.one_way(shard);
        let link = self.links.get_mut(&conn).expect("still open");
        let t = (self.now + d).max(link.down_last);
        link.down_last = t;
        self.at(t, Ev::ToClient(conn, out, owed));
        Ok(())
    }

    /// [`Bug::CrossedReplies`]: the connection that gets the reply to one `TAGGED`
    /// command (`owed`) on `conn`: another one whose oldest unanswered command is a `TAGGED`
    /// request still waiting, once per run.
    fn cross_replies(&mut self, conn: ConnId, owed: &[Owed]) -> ConnId {
        if self.opts.bug != Bug::CrossedReplies || self.bug_done {
            return conn;
        }
        if !matches!(owed, [o] if o.name == b"TAGGED") {
            return conn;
        }
        let now = self.now;
        let waiting = |tag: Option<u64>| {
            tag.is_some_and(|tag| {
                self.check
                    .pending
                    .values()
                    .any(|p| p.is_waiting_tagged(tag, now))
            })
        };
        let other = self
            .links
            .iter()
            .filter(|(c, l)| {
                **c != conn
                    && l.state == LinkState::Open
                    && !self.shards[l.shard].partitioned
                    && l.owed
                        .front()
                        .is_some_and(|o| o.name == b"TAGGED" && waiting(o.tag))
            })
            .map(|(c, _)| *c)
            .min_by_key(|c| c.as_u64());
        match other {
            Some(other) => {
                self.bug_done = true;
                self.log(|| format!("BUG: reply for {conn} delivered to {other}"));
                other
            }
            None => conn,
        }
    }

    fn submit(&mut self) -> Result<(), Violation> {
        self.next_tag += 1;
        let tag = self.next_tag;
        let k = self.rng.range(0, 200);
        let key = format!("k{k}");
        let (cmd, kind, keys) = match self.rng.range(0, 100) {
            0..=49 => (
                Cmd::new("TAGGED").arg(&key).arg(tag),
                Kind::Tagged {
                    key: key.clone().into_bytes(),
                    tag,
                },
                vec![key],
            ),
            50..=64 => (
                Cmd::new("SET").arg(&key).arg(tag),
                Kind::Set(tag),
                vec![key],
            ),
            65..=79 => (Cmd::new("GET").arg(&key), Kind::Get, vec![key]),
            80..=84 => {
                let n = format!("n{k}");
                (Cmd::new("INCR").arg(&n), Kind::Incr, vec![n])
            }
            85..=89 => {
                // Keys that share `key`'s slot: one shard. `{key}a` and `{key}b` are never
                // SET: DEL and EXISTS must count 0 unless the reply is another request's.
                let (a, b) = (format!("{{{key}}}a"), format!("{{{key}}}b"));
                let (name, kind) = if self.rng.chance(0.5) {
                    ("DEL", Kind::Del)
                } else {
                    ("EXISTS", Kind::Exists)
                };
                (Cmd::new(name).arg(&a).arg(&b), kind, vec![a, b])
            }
            90..=94 => {
                // `key` hashes as its own tag, so all three share one shard.
                let (a, b) = (format!("{{{key}}}a"), format!("{{{key}}}b"));
                (
                    Cmd::new("MGET").arg(&a).arg(&b).arg(&key),
                    Kind::Mget,
                    vec![a, b, key],
                )
            }
            95..=97 => {
                // Split commands over keys that usually span shards.
                let keys: Vec<String> = (0..3)
                    .map(|_| format!("k{}", self.rng.range(0, 200)))
                    .collect();
                let (name, kind) = match self.rng.range(0, 3) {
                    0 => ("MGET", Kind::Mget),
                    1 => ("DEL", Kind::Del),
                    _ => ("EXISTS", Kind::Exists),
                };
                return self.submit_split(Cmd::new(name).arg(&keys[..]), &kind, &keys, false);
            }
            98 => {
                let keys: Vec<String> = (0..3)
                    .map(|_| format!("k{}", self.rng.range(0, 200)))
                    .collect();
                return self.submit_split(Cmd::new("MGET").arg(&keys[..]), &Kind::Get, &keys, true);
            }
            _ => (Cmd::new("PING"), Kind::Ping, vec![]),
        };
        let timeout = if self.rng.chance(0.2) {
            Duration::from_millis(self.rng.range(50, 2_000))
        } else {
            self.config.command_timeout
        };
        let parts = self.key_parts(&keys);
        let owner = parts.first().and_then(|p| p.allowed.first().cloned());
        let healthy = owner.as_deref().is_some_and(|o| self.is_healthy(o));
        let live = self.ring.live_len();
        match self.ring.submit_with_timeout(cmd, timeout, self.now) {
            Ok(id) => {
                self.mix(&[7, id.as_u64()]);
                self.log(|| format!("submit {id} {kind:?} {keys:?} -> {owner:?}"));
                let p = Pending::new(kind, parts, self.now, self.now + timeout, healthy);
                self.check.accepted(id, p)?;
                if self.rng.chance(0.02) {
                    let later = self.now + Duration::from_millis(self.rng.range(0, 100));
                    self.at(later, Ev::Cancel(id));
                }
                Ok(())
            }
            Err(Error::AllShardsDown { .. }) if live == 0 => {
                self.check.tally.refused += 1;
                self.mix(&[8]);
                Ok(())
            }
            Err(e) => fail(
                Rule::DriverContract,
                format!("submit refused unexpectedly ({live} live): {e}"),
            ),
        }
    }

    /// Each key with the shard placement names for it now.
    fn key_parts(&self, keys: &[String]) -> Vec<KeyPart> {
        keys.iter()
            .map(|k| KeyPart {
                key: k.clone().into_bytes(),
                allowed: self
                    .ring
                    .shard_for_key(k.as_bytes())
                    .map(|(n, _)| n.to_string())
                    .into_iter()
                    .collect(),
            })
            .collect()
    }

    /// Submits a split command (`per_key`: its per-key form, one request per key of `kind`).
    /// It is healthy when every shard its keys map to is.
    fn submit_split(
        &mut self,
        cmd: Cmd,
        kind: &Kind,
        keys: &[String],
        per_key: bool,
    ) -> Result<(), Violation> {
        let parts = self.key_parts(keys);
        let owners: Vec<String> = parts.iter().flat_map(|p| p.allowed.clone()).collect();
        let healthy = !owners.is_empty() && owners.iter().all(|o| self.is_healthy(o));
        let timeout = self.config.command_timeout;
        let live = self.ring.live_len();
        let ids = if per_key {
            self.ring.submit_per_key(cmd, self.now)
        } else {
            self.ring.submit(cmd, self.now).map(|id| vec![id])
        };
        match ids {
            Ok(ids) => {
                let n = ids.len();
                for (i, id) in ids.into_iter().enumerate() {
                    self.mix(&[9, id.as_u64()]);
                    self.log(|| format!("submit {id} split {kind:?} {keys:?} -> {owners:?}"));
                    // Per key: the `i`th request is about the `i`th key.
                    let keys = if per_key && n == parts.len() {
                        vec![parts[i].clone()]
                    } else {
                        parts.clone()
                    };
                    let p = Pending::new(kind.clone(), keys, self.now, self.now + timeout, healthy);
                    self.check.accepted(id, p)?;
                    if self.rng.chance(0.02) {
                        let later = self.now + Duration::from_millis(self.rng.range(0, 100));
                        self.at(later, Ev::Cancel(id));
                    }
                }
                Ok(())
            }
            Err(Error::AllShardsDown { .. }) if live == 0 => {
                self.check.tally.refused += 1;
                self.mix(&[8]);
                Ok(())
            }
            Err(e) => fail(
                Rule::DriverContract,
                format!("split submit refused unexpectedly ({live} live): {e}"),
            ),
        }
    }

    /// A shard with no fault now nor in the last two seconds.
    fn is_healthy(&self, name: &str) -> bool {
        self.shards.iter().any(|s| {
            s.name == name
                && s.fault_since.is_none()
                && s.last_fault
                    .is_none_or(|t| self.now - t > Duration::from_secs(2))
        })
    }

    fn fault(&mut self, shard: usize, f: Fault) -> Result<(), Violation> {
        if self.apply_fault(shard, f)? {
            *self.faults.applied.entry(f).or_default() += 1;
            let s = &mut self.shards[shard];
            let began = match f {
                Fault::Restart => Some(Fault::Crash),
                Fault::Resume => Some(Fault::Hang),
                Fault::Heal => Some(Fault::Partition),
                Fault::Readd => Some(Fault::Remove),
                Fault::Reset => Some(Fault::Reset),
                _ => None,
            };
            if let Some(kind) = began {
                s.awaiting_recovery.push((kind, self.now));
            }
        }
        Ok(())
    }

    /// Applies a fault; `false` when it changed nothing.
    fn apply_fault(&mut self, shard: usize, f: Fault) -> Result<bool, Violation> {
        self.mix(&[9, shard as u64, f as u64]);
        let now = self.now;
        let name = self.shards[shard].name.clone();
        self.log(|| format!("FAULT {f:?} on {name}"));
        self.check.shard_faulted(&name);
        let present = self.shards.iter().filter(|s| !s.removed).count();
        let s = &mut self.shards[shard];
        s.last_fault = Some(now);
        let hb = self.config.heartbeat_interval;
        let rtts = self.max_rtt * 3 + Duration::from_millis(2);
        match f {
            Fault::Crash | Fault::Hang | Fault::Partition => {
                if s.fault_since.is_some() || s.removed {
                    return Ok(false); // one fault at a time per shard
                }
                s.fault_since = Some((f, now));
                match f {
                    Fault::Crash => {
                        s.alive = false;
                        s.garbage_next = false; // it dies with the process
                        if s.up {
                            // The bound: fail_threshold × heartbeat + connect timeout.
                            let bound =
                                hb * self.config.fail_threshold + self.config.connect_timeout;
                            s.expect_down_by = Some(now + bound);
                        }
                        self.reset_links(shard);
                        self.check.shard_crashed(&name);
                    }
                    Fault::Hang => s.hung = true,
                    _ => s.partitioned = true,
                }
            }
            Fault::Restart | Fault::Resume | Fault::Heal => {
                let Some((began, _)) = s.fault_since else {
                    return Ok(false);
                };
                let matching = matches!(
                    (began, f),
                    (Fault::Crash, Fault::Restart)
                        | (Fault::Hang, Fault::Resume)
                        | (Fault::Partition, Fault::Heal)
                );
                if !matching {
                    return Ok(false);
                }
                s.fault_since = None;
                s.expect_down_by = None;
                // Restart: the next probe (at most one heartbeat away) plus its round trips.
                // Hang/partition: a probe in flight may first have to time out.
                let bound = match f {
                    Fault::Restart => hb + rtts,
                    _ => self.config.heartbeat_timeout + hb + rtts,
                };
                if !s.up {
                    s.expect_up_by = Some((now + bound, now, f));
                }
                match f {
                    Fault::Restart => {
                        s.alive = true;
                        s.redis = FakeRedis::new(&s.name, s.redis.password.clone());
                    }
                    Fault::Resume => {
                        s.hung = false;
                        let conns: Vec<ConnId> = self
                            .links
                            .iter()
                            .filter(|(_, l)| l.shard == shard)
                            .map(|(c, _)| *c)
                            .collect();
                        for c in conns {
                            self.serve(c)?;
                        }
                    }
                    _ => {
                        s.partitioned = false;
                        self.reset_links(shard);
                    }
                }
            }
            Fault::Reset | Fault::Garbage => {
                // A recovery in progress may have to start over.
                if let Some((_, since, _)) = s.expect_up_by {
                    let bound = self.config.heartbeat_timeout + hb + rtts;
                    s.expect_up_by = Some((now + bound, since, f));
                }
                if f == Fault::Reset {
                    return Ok(self.reset_links(shard) > 0);
                } else if s.fault_since.is_none() {
                    // Garbage comes from a running server (a crashed one sends nothing);
                    // counted when a reply carries it.
                    s.garbage_next = true;
                }
                return Ok(false);
            }
            Fault::Remove => {
                if s.removed || s.fault_since.is_some() || present <= 1 {
                    return Ok(false);
                }
                s.removed = true;
                s.fault_since = Some((f, now));
                s.expect_up_by = None;
                s.expect_down_by = None;
                let shards = self.ring_shards();
                self.ring.set_shards(shards, now);
            }
            Fault::Readd => {
                if !s.removed {
                    return Ok(false);
                }
                s.removed = false;
                s.fault_since = None;
                s.up = true;
                s.expect_up_by = None;
                let shards = self.ring_shards();
                self.ring.set_shards(shards, now);
            }
        }
        Ok(true)
    }

    /// Breaks every connection of a shard: the client hears a reset after the latency.
    /// Returns how many it broke.
    fn reset_links(&mut self, shard: usize) -> usize {
        let conns: Vec<ConnId> = self
            .links
            .iter()
            .filter(|(_, l)| l.shard == shard && l.state != LinkState::Dead)
            .map(|(c, _)| *c)
            .collect();
        let n = conns.len();
        for c in conns {
            let was_connecting = self.links[&c].state == LinkState::Connecting;
            self.links.get_mut(&c).unwrap().state = LinkState::Dead;
            let d = self.one_way(shard);
            let error = if was_connecting {
                NetError::Refused
            } else {
                NetError::Reset
            };
            self.at(self.now + d, Ev::ClientClosed(c, error));
        }
        n
    }

    /// The driver loop: every output until `Timeout`.
    fn drain(&mut self) -> Result<(), Violation> {
        for _ in 0..1_000_000 {
            match self.ring.poll_output() {
                Output::Connect { conn, addr, .. } => {
                    let Some(shard) = self.shards.iter().position(|s| *s.addr == *addr) else {
                        return fail(
                            Rule::DriverContract,
                            format!("connect to unknown address {addr}"),
                        );
                    };
                    if self.links.contains_key(&conn) {
                        return fail(Rule::DriverContract, format!("{conn} connected twice"));
                    }
                    self.mix(&[10, conn.as_u64()]);
                    self.log(|| format!("connect {conn} to {addr}"));
                    let session = self.shards[shard].redis.session();
                    self.links.insert(
                        conn,
                        Link {
                            shard,
                            state: LinkState::Connecting,
                            session,
                            up_last: self.now,
                            down_last: self.now,
                            owed: VecDeque::new(),
                        },
                    );
                    let rtt = self.one_way(shard) * 2;
                    self.at(self.now + rtt, Ev::ConnectDone(conn));
                }
                Output::Transmit { conn } => {
                    let buf = self.ring.send_slices(conn).collect::<Vec<_>>().concat();
                    if buf.is_empty() {
                        return fail(
                            Rule::DriverContract,
                            format!("Transmit for {conn} with an empty buffer"),
                        );
                    }
                    // Sometimes the socket takes only part of it.
                    let n = if self.rng.chance(0.15) {
                        self.rng.range(1, buf.len() as u64 + 1) as usize
                    } else {
                        buf.len()
                    };
                    let (n, bytes, report) = self.planted_write(&buf, n);
                    self.mix(&[11, conn.as_u64(), n as u64]);
                    self.log(|| format!("write {conn} {n} of {} bytes", buf.len()));
                    if report {
                        self.ring.handle_input(Input::Sent {
                            conn,
                            n,
                            now: self.now,
                        });
                    }
                    if let Some(link) = self.links.get_mut(&conn) {
                        if link.state == LinkState::Open {
                            let shard = link.shard;
                            let d = self.one_way(shard);
                            let link = self.links.get_mut(&conn).unwrap();
                            let t = (self.now + d).max(link.up_last);
                            link.up_last = t;
                            self.at(t, Ev::ToServer(conn, bytes));
                        }
                    }
                    if !report {
                        // The driver forgot the write: the same bytes go out again.
                        self.ring.handle_input(Input::Sent {
                            conn,
                            n: 0,
                            now: self.now,
                        });
                    }
                }
                Output::Close { conn } => {
                    self.mix(&[12, conn.as_u64()]);
                    self.log(|| format!("close {conn}"));
                    self.links.remove(&conn);
                }
                Output::Reply { id, mut result } => {
                    self.plant_wrong_merge(id, &mut result);
                    self.note_recovery(id, &result);
                    self.mix(&[13, id.as_u64(), u64::from(result.is_ok())]);
                    self.log(|| format!("reply {id}: {result:?}"));
                    self.check.reply(id, &result, self.now)?;
                }
                Output::Event(e) => self.on_event(&e)?,
                Output::Timeout(at) => {
                    self.ring_wake = at;
                    return Ok(());
                }
                other => return fail(Rule::DriverContract, format!("unknown output {other:?}")),
            }
        }
        fail(Rule::DriverContract, "the output queue never empties")
    }

    /// What a write of `n` bytes of `buf` puts on the wire, and whether the driver reports
    /// it: as asked, unless a planted bug ([`Bug::DoubleWrite`], [`Bug::CommandTwice`])
    /// strikes (once per run, on the first user command it can).
    fn planted_write(&mut self, buf: &[u8], n: usize) -> (usize, Vec<u8>, bool) {
        let bug = self.opts.bug;
        if self.bug_done || !matches!(bug, Bug::DoubleWrite | Bug::CommandTwice) {
            return (n, buf[..n].to_vec(), true);
        }
        let Some((name, len)) = first_command(buf) else {
            return (n, buf[..n].to_vec(), true);
        };
        match bug {
            Bug::DoubleWrite if USER_COMMANDS.contains(&&name[..]) => {
                // The socket takes the first 3 bytes (inside the array header); the driver
                // does not record it, so they are written again ahead of the whole command.
                self.bug_done = true;
                self.log(|| "BUG: a partial write not reported".into());
                (3, buf[..3].to_vec(), false)
            }
            Bug::CommandTwice if (name == b"TAGGED" || name == b"SET") && len <= n => {
                self.bug_done = true;
                self.log(|| "BUG: a whole command written twice".into());
                let mut bytes = buf[..len].to_vec();
                bytes.extend_from_slice(&buf[..n]);
                (n, bytes, true)
            }
            _ => (n, buf[..n].to_vec(), true),
        }
    }

    /// [`Bug::WrongMerge`]: swaps two differing items of the first split `MGET`'s reply.
    fn plant_wrong_merge(&mut self, id: RequestId, result: &mut Result<Value, Error>) {
        if self.opts.bug != Bug::WrongMerge || self.bug_done {
            return;
        }
        if !self
            .check
            .pending
            .get(&id)
            .is_some_and(|p| p.is_split_mget())
        {
            return;
        }
        if let Ok(Value::Array(items)) = result {
            if let Some(j) = (1..items.len()).find(|&j| items[j] != items[0]) {
                items.swap(0, j);
                self.bug_done = true;
                self.log(|| format!("BUG: items 0 and {j} of {id} swapped"));
            }
        }
    }

    /// A `TAGGED` reply from a shard whose faults are behind it: the shard recovered from
    /// every fault that ended before the request was submitted.
    fn note_recovery(&mut self, id: RequestId, result: &Result<Value, Error>) {
        let (Some(p), Ok(Value::Bulk(b))) = (self.check.pending.get(&id), result) else {
            return;
        };
        if !matches!(p.kind, Kind::Tagged { .. }) {
            return;
        }
        let submitted = p.submitted;
        let shard = b.split(|c| *c == b'|').next().unwrap_or_default();
        let Some(s) = self.shards.iter_mut().find(|s| s.name.as_bytes() == shard) else {
            return;
        };
        let faults = &mut self.faults;
        s.awaiting_recovery.retain(|&(kind, at)| {
            let recovered = at < submitted;
            if recovered {
                *faults.recovered.entry(kind).or_default() += 1;
            }
            !recovered
        });
    }

    fn on_event(&mut self, e: &Event) -> Result<(), Violation> {
        self.log(|| format!("EVENT {e:?}"));
        let (name, code) = match e {
            Event::ShardUp { name, .. } => (name, 1),
            Event::ShardDown { name, .. } => (name, 2),
            Event::ShardAdded { name, .. } => (name, 3),
            Event::ShardRemoved { name, .. } => (name, 4),
            other => return fail(Rule::DriverContract, format!("unknown event {other:?}")),
        };
        self.mix(&[14, code]);
        let Some(i) = self.shards.iter().position(|s| *s.name == **name) else {
            return fail(
                Rule::DriverContract,
                format!("event about unknown shard {name}"),
            );
        };
        let now = self.now;
        let healthy = self.is_healthy(name);
        let s = &mut self.shards[i];
        match code {
            1 => {
                s.up = true;
                if let Some((_, since, kind)) = s.expect_up_by.take() {
                    let t = &mut self.check.tally;
                    if kind == Fault::Restart {
                        t.max_restart_recovery = t.max_restart_recovery.max(now - since);
                    } else {
                        t.max_resume_recovery = t.max_resume_recovery.max(now - since);
                    }
                }
            }
            2 => {
                if healthy {
                    return fail(
                        Rule::HealthyMarkedDown,
                        format!("healthy shard {name} marked down: {e:?}"),
                    );
                }
                s.up = false;
                s.expect_up_by = None;
                if s.expect_down_by.take().is_some() {
                    if let Some((Fault::Crash, since)) = s.fault_since {
                        self.check.tally.max_crash_detection =
                            self.check.tally.max_crash_detection.max(now - since);
                    }
                }
            }
            _ => {}
        }
        let ring = &self.ring;
        self.check
            .placement_changed(|k| ring.shard_for_key(k).map(|(n, _)| n.to_string()));
        Ok(())
    }

    fn check_liveness_bounds(&self) -> Result<(), Violation> {
        for s in &self.shards {
            if let Some(by) = s.expect_down_by {
                if self.now > by && s.fault_since.is_some() {
                    return fail(
                        Rule::DownTooLate,
                        format!("crashed shard {} still not down at its bound", s.name),
                    );
                }
            }
            if let Some((by, since, _)) = s.expect_up_by {
                if self.now > by && s.fault_since.is_none() && !s.removed {
                    return fail(
                        Rule::UpTooLate,
                        format!(
                            "recovered shard {} (at {} ms) still not up after {:?}",
                            s.name,
                            (since - self.start).as_millis(),
                            by - since
                        ),
                    );
                }
            }
        }
        Ok(())
    }
}
