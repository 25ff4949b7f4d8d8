//! Fuzz check `ring_core`: an arbitrary sequence of driver inputs into [`RingCore`].
//!
//! The fuzzer's bytes are decoded into a configuration (a handful of shards, small or default
//! decoder limits, thresholds, timeouts, credentials, protocol) and then a list of
//! operations, each what a driver or a network might do: submit any command (well-formed,
//! refused, or with arbitrary bytes), cancel, connect, deliver bytes (from an honest fake
//! Redis, canned hostile frames, or raw fuzzer bytes, in any split), report bytes written,
//! close a connection with any error, advance time (never backwards), change the shard set,
//! close the whole ring. Inputs about stale connections are sent on purpose.
//!
//! Invariants, checked after every operation (draining `poll_output` as a driver does):
//! * no panic, whatever the bytes;
//! * the output contract: `Connect` names a fresh id and a configured address; `Transmit`
//!   only for a connection the driver reported connected and has not seen close; `Close`
//!   only for a connection that is open; `Reply` exactly once per accepted request, never
//!   for a cancelled or unknown one; `poll_timeout` agrees with `Output::Timeout`;
//! * no busy loop: feeding `Timeout(now)` again settles on a deadline in the future;
//! * bounded state: `pending()` (the core's slab: a split command counts once per part)
//!   equals the plain requests still owed a reply plus, per split command still owed (or
//!   cancelled and not yet past its deadline, as its parts linger until they end), between
//!   one and its most parts; with no split command about, exactly the requests owed. A drain
//!   yields a bounded number of outputs, and every send buffer stays within what the
//!   requests and heartbeats still owed can account for;
//! * the bytes the client writes are always well-formed commands (the fake server parses
//!   them);
//! * every request ends: after the operations, every connection is closed by the "network",
//!   time jumps past every deadline, and then each accepted request has had its one reply.
//!
//! Layout: `[config: 8 bytes] (op byte, operands...)*`; missing bytes read as 0.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use redis_ring_core::command::{classify, Class, Cmd};
use redis_ring_core::config::{Config, HeartbeatCheck, Protocol};
use redis_ring_core::error::{Error, NetError};
use redis_ring_core::resp::Limits;
use redis_ring_core::ring::{ConnId, Input, Output, RequestId, RingCore, SubId, SubKind, TxId};
use redis_ring_core::time::{Duration, Instant};

use crate::sim::fake_redis::{FakeRedis, Session};

/// The most parts `cmd` can be split into (one per shard its keys may span), or 0 when it
/// is not a split command.
fn split_parts(cmd: &Cmd) -> usize {
    match classify(cmd).class() {
        Class::Split(_) => cmd.len().clamp(1, NAMES.len()),
        _ => 0,
    }
}

/// Shard names the fuzzer picks from; each has two possible addresses.
const NAMES: [&str; 4] = ["s0", "s1", "s2", "s3"];
/// Keys the fuzzer picks from (two share a hash tag).
const KEYS: [&str; 6] = ["a", "b", "{t}1", "{t}2", "c", ""];
/// Outputs one drain may yield before the check calls it unbounded.
const MAX_OUTPUTS_PER_DRAIN: usize = 100_000;
/// Operations per input: keeps one run short whatever libFuzzer's `max_len`.
const MAX_OPS: usize = 2_000;

/// Canned server frames: honest replies, retryable and fatal errors, push frames,
/// attributes, handshake refusals, truncated and invalid frames.
const FRAMES: &[&[u8]] = &[
    b"+OK\r\n",
    b"+PONG\r\n",
    b"%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n",
    b"$3\r\nfoo\r\n",
    b"$-1\r\n",
    b"_\r\n",
    b":42\r\n",
    b"*2\r\n$1\r\na\r\n$-1\r\n",
    b"-ERR boom\r\n",
    b"-LOADING Redis is loading the dataset in memory\r\n",
    b"-TRYAGAIN later\r\n",
    b"-ERR unknown command 'HELLO'\r\n",
    b"-NOPROTO sorry\r\n",
    b"-WRONGPASS invalid username-password pair\r\n",
    b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n",
    b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n",
    b"|1\r\n+ttl\r\n:3\r\n+OK\r\n",
    b"$5\r\nhel",
    b"*3\r\n:1\r\n",
    b"$999999999999\r\n",
    b"*2147483647\r\n",
    b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n",
    b"+no end of line",
    b"\x00\xffgarbage\r\n",
    b"!5\r\nERR x\r\n",
    b"=8\r\ntxt:hey!\r\n",
    b"#t\r\n",
    b",3.5\r\n",
    b"(123\r\n",
    b"~1\r\n+x\r\n",
];

/// Whether to print every input and output (`RING_CORE_TRACE=1`), to read what a seed or a
/// crash does.
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("RING_CORE_TRACE").is_some())
}

/// A cursor over the fuzzer's bytes; missing bytes read as 0.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::from(self.byte()) % items.len()]
    }
}

/// One connection as the fake driver and network see it.
#[derive(Debug)]
struct Sock {
    id: ConnId,
    shard: usize,
    state: SockState,
    /// The server side of the connection (what it has read, its protocol).
    session: Session,
    /// Replies the server produced and the client has not received yet.
    to_client: Vec<u8>,
    /// [`Harness::submitted_bytes`] when the shard's previous connection went away: this
    /// one was created (by the core) after that, so a request submitted earlier can only
    /// have been queued on it if it was still owed when this connection was asked for.
    submitted_bytes_at_open: usize,
    /// The bytes of every request owed when the core asked for this connection. Those can
    /// be queued on it (carried from the shard's queue or a previous connection) and then
    /// time out unwritten, keeping their bytes after they stop being owed: a dedicated
    /// connection (a blocking command's) closing after the shard's main one moves
    /// `submitted_bytes_at_open` past them (fuzz seed `ring_core/owed-at-open`).
    owed_bytes_at_open: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SockState {
    /// `Connect` emitted, not yet reported connected.
    Connecting,
    /// Reported connected.
    Open,
    /// Closed by either side: the core must not mention it again.
    Gone,
}

/// The fake driver: the ring, its network, and what it owes.
struct Harness {
    ring: RingCore,
    now: Instant,
    config: Config,
    /// Connect immediately on `Connect` (as a driver on a healthy network would).
    auto_connect: bool,
    /// Every `(name index, address)` ever configured (old connections may still name them).
    shards: Vec<(usize, String)>,
    /// The shards configured now.
    configured: Vec<(usize, String)>,
    servers: Vec<FakeRedis>,
    socks: Vec<Sock>,
    index: HashMap<ConnId, usize>,
    /// Accepted requests still owed their reply: encoded size of the command, deadline.
    owed: HashMap<RequestId, (usize, Instant)>,
    /// Split commands (whole: one id; per key: one id per key): their ids, most parts (one
    /// per shard its keys may span), and deadline.
    splits: Vec<(Vec<RequestId>, usize, Instant)>,
    /// Requests cancelled while owed.
    cancelled: HashSet<RequestId>,
    /// Requests replied to or cancelled: never to be replied to (again).
    finished: HashSet<RequestId>,
    submitted: u64,
    /// Encoded size of every command accepted so far.
    submitted_bytes: usize,
    /// Per shard name: `submitted_bytes` when its last connection went away or it was
    /// (re)configured.
    last_gone: [usize; NAMES.len()],
    /// While `set_shards` runs: `submitted_bytes` less what is owed (requests it may move
    /// to another connection); `usize::MAX` otherwise.
    reroute_floor: usize,
    /// The latest deadline of any accepted request.
    last_deadline: Instant,
    /// The last `Output::Timeout`.
    wake: Instant,
    /// Transactions begun and not ended.
    txs: Vec<TxId>,
    /// Subscriptions made, and whether they are still live (not ended).
    subs: Vec<(SubId, bool)>,
}

impl Harness {
    fn new(config: Config, auto_connect: bool, password: Option<&str>) -> Harness {
        let ring = RingCore::new(config.clone(), Instant::ZERO);
        Harness {
            ring,
            now: Instant::ZERO,
            config,
            auto_connect,
            shards: Vec::new(),
            configured: Vec::new(),
            servers: NAMES
                .iter()
                .map(|n| FakeRedis::new(n, password.map(str::to_string)))
                .collect(),
            socks: Vec::new(),
            index: HashMap::new(),
            owed: HashMap::new(),
            splits: Vec::new(),
            cancelled: HashSet::new(),
            finished: HashSet::new(),
            submitted: 0,
            submitted_bytes: 0,
            last_gone: [0; NAMES.len()],
            reroute_floor: usize::MAX,
            last_deadline: Instant::ZERO,
            wake: Instant::MAX,
            txs: Vec::new(),
            subs: Vec::new(),
        }
    }

    fn sock(&mut self, id: ConnId) -> Option<&mut Sock> {
        let i = *self.index.get(&id)?;
        Some(&mut self.socks[i])
    }

    /// Drains every output, checking the contract, and the invariants after it.
    fn drain(&mut self) {
        for _ in 0..MAX_OUTPUTS_PER_DRAIN {
            let out = self.ring.poll_output();
            if trace() {
                eprintln!("  {:?} -> {out:?}", self.now);
            }
            match out {
                Output::Connect { conn, addr, .. } => {
                    assert!(!self.index.contains_key(&conn), "{conn} reused");
                    let shard = self
                        .shards
                        .iter()
                        .find(|(_, a)| **a == *addr)
                        .map(|&(n, _)| n)
                        .unwrap_or_else(|| panic!("Connect to unconfigured address {addr}"));
                    let session = self.servers[shard].session();
                    let owed_bytes_at_open = self.owed.values().map(|&(size, _)| size).sum();
                    self.index.insert(conn, self.socks.len());
                    self.socks.push(Sock {
                        id: conn,
                        shard,
                        state: SockState::Connecting,
                        session,
                        to_client: Vec::new(),
                        submitted_bytes_at_open: self.last_gone[shard],
                        owed_bytes_at_open,
                    });
                    if self.auto_connect {
                        self.socks.last_mut().unwrap().state = SockState::Open;
                        let now = self.now;
                        self.ring.handle_input(Input::Connected { conn, now });
                    }
                }
                Output::Transmit { conn } => {
                    let state = self.sock(conn).map(|s| s.state);
                    assert_eq!(
                        state,
                        Some(SockState::Open),
                        "Transmit for {conn}, which is not open"
                    );
                    assert!(self.ring.send_len(conn) > 0, "Transmit of nothing");
                }
                Output::Close { conn } => {
                    let sock = self
                        .sock(conn)
                        .unwrap_or_else(|| panic!("Close of unknown {conn}"));
                    assert_ne!(sock.state, SockState::Gone, "Close of closed {conn}");
                    sock.state = SockState::Gone;
                    let shard = sock.shard;
                    // Closed by a membership change: its unsent requests moved on (see
                    // `set_shards`), so the shard's next connection counts from the floor.
                    self.last_gone[shard] = self.submitted_bytes.min(self.reroute_floor);
                }
                Output::Reply { id, result } => {
                    assert!(
                        self.owed.remove(&id).is_some(),
                        "reply to {id}, which is not owed one (finished: {})",
                        self.finished.contains(&id)
                    );
                    self.finished.insert(id);
                    if let Err(e) = result {
                        assert!(!e.to_string().is_empty());
                    }
                }
                Output::Event(e) => {
                    let _ = format!("{e:?}");
                }
                Output::Message { sub, .. } | Output::Subscribed { sub } => {
                    assert!(
                        self.subs.iter().any(|&(s, live)| s == sub && live),
                        "output for {sub:?}, which is not a live subscription"
                    );
                }
                Output::Timeout(at) => {
                    assert_eq!(at, self.ring.poll_timeout());
                    self.wake = at;
                    self.check_bounds();
                    return;
                }
                other => panic!("unknown output {other:?}"),
            }
        }
        panic!("more than {MAX_OUTPUTS_PER_DRAIN} outputs in one drain");
    }

    /// Bounded state: requests, send buffers.
    fn check_bounds(&self) {
        // `pending()` counts the slab: a plain request is one entry; a split command is
        // there as its parts (one per shard, at least one while it is owed), which linger
        // after a cancel until they end (by the deadline at the latest).
        let pending = self.ring.pending();
        let now = self.now;
        let mut in_splits = HashSet::new();
        let (mut least, mut most) = (0, 0);
        for (ids, parts, deadline) in &self.splits {
            in_splits.extend(ids.iter().copied());
            if ids.iter().any(|id| self.owed.contains_key(id)) {
                least += 1;
                most += parts;
            } else if now < *deadline && ids.iter().any(|id| self.cancelled.contains(id)) {
                most += parts;
            }
        }
        let plain = self
            .owed
            .keys()
            .filter(|id| !in_splits.contains(id))
            .count();
        assert!(
            (plain + least..=plain + most).contains(&pending),
            "pending() = {pending}, but {plain} plain requests and {} split commands are owed \
             (split parts: {least}..={most})",
            least
        );
        // (`stats()` counts the slab's requests too: a split command's parts, not its
        // parent; nothing to compare with the caller's count.)
        // A send buffer holds at most the handshake, a few heartbeats (consecutive failed
        // ones take the shard down, which closes the connection), and, once per attempt
        // (a retry may land on the same connection), the requests owed now, owed when the
        // connection was asked for, or submitted since: a request that timed out before
        // the driver wrote it keeps its bytes (they cannot be taken back from a pipelined
        // stream). The bytes counted are every slice's (a large command's own buffer,
        // spliced in, included); the queue's memory is that plus the written part of the
        // one large command being written (released with its last byte).
        let attempts = self.config.max_retries as usize + 1;
        let owed: usize = self.owed.values().map(|&(size, _)| size).sum();
        // Never late: a request whose deadline has come has had its reply.
        if let Some((id, (_, at))) = self.owed.iter().find(|(_, &(_, at))| at <= self.now) {
            panic!("{id} is past its deadline {at:?} at {:?}", self.now);
        }
        let fixed = 4096 + 64 * (self.config.fail_threshold as usize + 2);
        for s in &self.socks {
            if s.state != SockState::Gone {
                let len = self.ring.send_len(s.id);
                let since = self.submitted_bytes - s.submitted_bytes_at_open;
                let bound = fixed + (owed + since + s.owed_bytes_at_open) * attempts;
                assert!(
                    len <= bound,
                    "{} holds {len} bytes to send (bound {bound})",
                    s.id
                );
            }
        }
        // Requests that timed out stay in their connection's FIFO until the server answers
        // (they are on the wire), so this counts submits, not owed replies. A split command
        // (MGET, DEL, ...) is one submit but one part per shard, each counted as pending.
        let shard_pending: usize = self.ring.shards().map(|s| s.pending).sum();
        let parts_per_submit = self.shards.len().max(1);
        let bound = self.submitted as usize * parts_per_submit * attempts + 4 * self.shards.len();
        assert!(
            shard_pending <= bound,
            "shards report {shard_pending} pending (bound {bound})"
        );
    }

    fn input(&mut self, input: Input<'_>) {
        if trace() {
            eprintln!("{input:?}");
        }
        self.ring.handle_input(input);
        self.drain();
    }

    /// Time passes: feeds `Timeout(now)` and checks that the core then waits for a future
    /// instant (a deadline stuck at or before `now` would make a driver spin).
    fn advance(&mut self, to: Instant) {
        self.now = self.now.max(to);
        for _ in 0..16 {
            self.input(Input::Timeout(self.now));
            if self.wake > self.now {
                return;
            }
        }
        panic!(
            "busy loop: Timeout({:?}) keeps asking for {:?}",
            self.now, self.wake
        );
    }

    fn submit(&mut self, cmd: Cmd, timeout: Option<Duration>) {
        if trace() {
            eprintln!("submit {cmd:?} timeout {timeout:?}");
        }
        let (now, size, blocking) = (self.now, cmd.encoded_len(), is_blocking(&cmd));
        let parts = split_parts(&cmd);
        let result = match timeout {
            Some(t) => self.ring.submit_with_timeout(cmd, t, now),
            None => self.ring.submit(cmd, now),
        };
        if let Ok(id) = &result {
            self.split_submitted(&[*id], parts, timeout);
        }
        self.accepted(result, size, blocking, timeout);
        self.drain();
    }

    /// Records a split command's ids (`parts`: its most parts; 0 for a plain command).
    fn split_submitted(&mut self, ids: &[RequestId], parts: usize, timeout: Option<Duration>) {
        let (now, owed) = (self.now, &self.owed);
        self.splits
            .retain(|(ids, _, at)| now < *at || ids.iter().any(|id| owed.contains_key(id)));
        if parts > 0 {
            let deadline = self.now + timeout.unwrap_or(self.config.command_timeout);
            self.splits.push((ids.to_vec(), parts, deadline));
        }
    }

    /// Records the outcome of a submit: an accepted request is owed exactly one reply, by
    /// its deadline (`timeout`, or the configured one).
    fn accepted(
        &mut self,
        result: Result<RequestId, Error>,
        size: usize,
        blocking: bool,
        timeout: Option<Duration>,
    ) {
        match result {
            Ok(id) => {
                self.submitted += 1;
                self.submitted_bytes += size;
                let t = timeout.unwrap_or(self.config.command_timeout);
                // A blocking command's default deadline starts after the block time the
                // server may take (on a dedicated connection); an explicit timeout caps it.
                let deadline = if blocking && timeout.is_none() {
                    Instant::MAX
                } else {
                    self.now + t
                };
                assert!(
                    self.owed.insert(id, (size, deadline)).is_none(),
                    "{id} given twice"
                );
                self.last_deadline = self.last_deadline.max(self.now + t);
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }

    /// The entry points beside `submit`: per shard, to all, pipelines, per key,
    /// transactions, subscriptions, and closing the whole ring.
    fn other_api(&mut self, input: &mut Bytes<'_>) {
        let now = self.now;
        let op = input.byte() % 12;
        if trace() {
            eprintln!("api op {op}");
        }
        match op {
            0 => {
                // Close the whole ring: everything owed fails now; shards may be given
                // again afterwards.
                self.ring.close(now);
                self.last_gone = [self.submitted_bytes; NAMES.len()];
                self.configured.clear();
                self.subs.iter_mut().for_each(|s| s.1 = false);
                self.txs.clear();
                self.drain();
                assert!(
                    self.owed.is_empty(),
                    "close() left {} requests",
                    self.owed.len()
                );
                self.shards.clear();
                let mask = input.byte();
                self.set_shards(mask, 0, 0);
            }
            1 => {
                let name = input.pick(&[NAMES[0], NAMES[1], NAMES[2], NAMES[3], "nope"]);
                let cmd = command(input);
                let (size, blocking) = (cmd.encoded_len(), is_blocking(&cmd));
                let result = self.ring.submit_to_shard(name, cmd, now);
                self.accepted(result, size, blocking, None);
            }
            2 => {
                let cmd = command(input);
                let (size, blocking) = (cmd.encoded_len(), is_blocking(&cmd));
                for (_, result) in self.ring.submit_to_all(&cmd, now) {
                    self.accepted(result, size, blocking, None);
                }
            }
            3 => {
                let cmds: Vec<Cmd> = (0..input.byte() % 5).map(|_| command(input)).collect();
                let sizes: Vec<(usize, bool)> = cmds
                    .iter()
                    .map(|c| (c.encoded_len(), is_blocking(c)))
                    .collect();
                let parts: Vec<usize> = cmds.iter().map(split_parts).collect();
                let results = self.ring.submit_pipeline(cmds, now);
                assert_eq!(results.len(), sizes.len());
                for ((result, (size, blocking)), parts) in results.into_iter().zip(sizes).zip(parts)
                {
                    if let Ok(id) = &result {
                        self.split_submitted(&[*id], parts, None);
                    }
                    self.accepted(result, size, blocking, None);
                }
            }
            4 => {
                let cmd = command(input);
                let size = cmd.encoded_len();
                if trace() {
                    eprintln!("submit_per_key {cmd:?}");
                }
                let parts = split_parts(&cmd);
                let result = self.ring.submit_per_key(cmd, now);
                if trace() {
                    eprintln!("  -> {result:?}");
                }
                match result {
                    Ok(ids) => {
                        self.split_submitted(&ids, parts.max(1), None);
                        for id in ids {
                            self.accepted(Ok(id), size, false, None);
                        }
                    }
                    Err(e) => assert!(!e.to_string().is_empty()),
                }
            }
            5 => {
                let keys: Vec<&str> = (0..input.byte() % 3).map(|_| input.pick(&KEYS)).collect();
                if let Ok(tx) = self.ring.begin_transaction(&keys, now) {
                    self.txs.push(tx);
                }
            }
            6 => {
                if let Some(tx) = pick_from(input, &self.txs) {
                    let cmd = tx_command(input);
                    let size = cmd.encoded_len();
                    let result = self.ring.submit_in(tx, cmd, now);
                    self.accepted(result, size, false, None);
                }
            }
            7 => {
                if let Some(tx) = pick_from(input, &self.txs) {
                    self.ring.end_transaction(tx, now);
                    self.txs.retain(|&t| t != tx);
                }
            }
            8 => {
                let kind = input.pick(&[SubKind::Channel, SubKind::Pattern, SubKind::Sharded]);
                let channels = channels(input);
                if let Ok(sub) = self.ring.subscribe(kind, channels, now) {
                    assert!(self.subs.iter().all(|&(s, _)| s != sub), "{sub:?} reused");
                    self.subs.push((sub, true));
                }
            }
            9 | 10 => {
                let subs: Vec<SubId> = self.subs.iter().map(|s| s.0).collect();
                if let Some(sub) = pick_from(input, &subs) {
                    let live = self.subs.iter().any(|&(s, live)| s == sub && live);
                    let channels = channels(input);
                    let known = if input.byte() & 1 == 0 {
                        self.ring.subscribe_to(sub, channels, now)
                    } else {
                        self.ring.unsubscribe(sub, channels, now)
                    };
                    assert_eq!(known, live, "{sub:?}");
                }
            }
            _ => {
                let subs: Vec<SubId> = self.subs.iter().map(|s| s.0).collect();
                if let Some(sub) = pick_from(input, &subs) {
                    self.ring.end_subscription(sub, now);
                    for s in &mut self.subs {
                        if s.0 == sub {
                            s.1 = false;
                        }
                    }
                }
            }
        }
        self.drain();
    }

    /// The client's bytes reach the server: `n` bytes written (a vectored write, across
    /// the send queue's slices).
    fn sent(&mut self, i: usize, n: usize) {
        let id = self.socks[i].id;
        let slices: Vec<&[u8]> = self.ring.send_slices(id).collect();
        assert!(
            slices.iter().all(|s| !s.is_empty()),
            "an empty slice to send"
        );
        assert_eq!(
            slices.first().copied().unwrap_or(&[]),
            self.ring.send_buf(id)
        );
        let buf = slices.concat();
        assert_eq!(
            buf.len(),
            self.ring.send_len(id),
            "send_len is not the slices' sum"
        );
        let n = n.min(buf.len());
        if self.socks[i].state == SockState::Open {
            self.socks[i].session.inbox.extend_from_slice(&buf[..n]);
        }
        let now = self.now;
        self.input(Input::Sent { conn: id, n, now });
    }

    /// The server answers everything it has read so far.
    fn serve(&mut self, i: usize) {
        let sock = &mut self.socks[i];
        if sock.state != SockState::Open {
            return;
        }
        if let Err(e) = self.servers[sock.shard].serve(&mut sock.session, &mut sock.to_client) {
            panic!("the client wrote something that is not a command: {e}");
        }
    }

    /// Delivers `n` bytes of what the server wrote (all of it when `n` is `None`).
    fn deliver(&mut self, i: usize, n: Option<usize>) {
        let sock = &mut self.socks[i];
        let n = n.unwrap_or(usize::MAX).min(sock.to_client.len());
        let data: Vec<u8> = sock.to_client.drain(..n).collect();
        let id = sock.id;
        if sock.state == SockState::Open && !data.is_empty() {
            let now = self.now;
            self.input(Input::Received {
                conn: id,
                data: &data,
                now,
            });
        }
    }

    fn received(&mut self, i: usize, data: &[u8]) {
        let id = self.socks[i].id;
        let now = self.now;
        self.input(Input::Received {
            conn: id,
            data,
            now,
        });
    }

    fn closed(&mut self, i: usize, error: NetError) {
        let id = self.socks[i].id;
        if self.socks[i].state != SockState::Gone {
            self.socks[i].state = SockState::Gone;
            self.last_gone[self.socks[i].shard] = self.submitted_bytes;
        }
        let now = self.now;
        self.input(Input::Closed {
            conn: id,
            error,
            now,
        });
    }

    fn set_shards(&mut self, mask: u8, alt: u8, rotate: u8) {
        let mut shards: Vec<(usize, String)> = (0..NAMES.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| {
                let host = if alt & (1 << i) != 0 { "alt" } else { "host" };
                (i, format!("{host}-{i}:6379"))
            })
            .collect();
        if !shards.is_empty() {
            let r = usize::from(rotate) % shards.len();
            shards.rotate_left(r);
        }
        // Connections to a shard that is removed or re-addressed may still be reported by
        // the core until it closes them: keep old addresses resolvable.
        let list: Vec<(&str, String)> =
            shards.iter().map(|(i, a)| (NAMES[*i], a.clone())).collect();
        // Graceful removal: the unsent requests of a removed or re-addressed shard move to
        // their new owner, whichever shard that is, so any connection (open, or opened from
        // now on) may carry requests owed now though submitted before it opened. Their bytes
        // are at most what is owed now: count them as if submitted after every open.
        let owed_now: usize = self.owed.values().map(|&(size, _)| size).sum();
        let floor = self.submitted_bytes - owed_now;
        self.reroute_floor = floor;
        for sock in &mut self.socks {
            sock.submitted_bytes_at_open = sock.submitted_bytes_at_open.min(floor);
        }
        for gone in &mut self.last_gone {
            *gone = (*gone).min(floor);
        }
        for s in &shards {
            if !self.shards.contains(s) {
                self.shards.push(s.clone());
            }
            if !self.configured.contains(s) {
                // A new shard (or a new address): its connections start from scratch, but
                // for the requests moved to it (above).
                self.last_gone[s.0] = floor;
            }
        }
        self.configured.clone_from(&shards);
        let now = self.now;
        self.ring.set_shards(list, now);
        self.drain();
        self.reroute_floor = usize::MAX;
    }
}

/// A duration from one byte: zero, sub-millisecond to seconds.
fn duration(b: u8) -> Duration {
    match b % 8 {
        0 => Duration::ZERO,
        1 => Duration::from_micros(100),
        2 => Duration::from_millis(1),
        3 => Duration::from_millis(8),
        4 => Duration::from_millis(50),
        5 => Duration::from_millis(200),
        6 => Duration::from_millis(500),
        _ => Duration::from_secs(3),
    }
}

/// A duration that drives a periodic timer: never zero (a zero heartbeat interval is a
/// configuration that asks for a busy loop).
fn period(b: u8) -> Duration {
    match b % 4 {
        0 => Duration::from_millis(1),
        1 => Duration::from_millis(10),
        2 => Duration::from_millis(50),
        _ => Duration::from_millis(500),
    }
}

fn config(input: &mut Bytes<'_>) -> (Config, bool, Option<String>, u8) {
    let flags = input.byte();
    let mut c = Config::default();
    let seed = input.byte();
    c.seed = u64::from(seed);
    if seed & 0x80 != 0 {
        // A receive cap small enough for canned and raw frames to hit it.
        c.max_reply_len = 16 + usize::from(seed & 0x3f);
    }
    c.heartbeat_interval = period(input.byte());
    c.probe_interval = period(input.byte());
    c.max_reconnect_backoff = period(input.byte());
    let t = input.byte();
    c.heartbeat_timeout = duration(t);
    c.command_timeout = duration(t >> 3).max(Duration::from_millis(1));
    let t = input.byte();
    c.connect_timeout = duration(t);
    c.max_retries = u32::from(t >> 3) % 4;
    c.min_retry_backoff = duration(t >> 5);
    c.max_retry_backoff = c.min_retry_backoff * 4;
    let t = input.byte();
    c.fail_threshold = u32::from(t % 4);
    c.recover_threshold = u32::from((t >> 2) % 3);
    c.conn.protocol = match (t >> 4) % 3 {
        0 => Protocol::Auto,
        1 => Protocol::Resp3,
        _ => Protocol::Resp2,
    };
    if flags & 1 != 0 {
        c.limits = Limits {
            max_bulk_len: 64,
            max_elements: 8,
            max_depth: 4,
            max_line_len: 64,
        };
    }
    let server_password = (flags & 2 != 0).then(|| "pw".to_string());
    if flags & 4 != 0 {
        // Right or wrong, depending on the server's.
        c.conn.password = Some(if flags & 8 != 0 { "pw" } else { "nope" }.into());
        if flags & 16 != 0 {
            c.conn.username = Some("default".into());
        }
    }
    if flags & 32 != 0 {
        c.conn.db = 1;
        c.conn.client_name = Some("fuzz".into());
    }
    if flags & 64 != 0 {
        c.heartbeat_check = Some(HeartbeatCheck::new(|v| v.to_string().contains("PONG")));
    }
    let auto_connect = flags & 128 != 0;
    (c, auto_connect, server_password, t >> 6)
}

fn command(input: &mut Bytes<'_>) -> Cmd {
    let key = |input: &mut Bytes<'_>| input.pick(&KEYS);
    match input.byte() % 16 {
        0 => Cmd::new("GET").arg(key(input)),
        1 => Cmd::new("SET").arg(key(input)).arg("v"),
        2 => Cmd::new("PING"),
        3 => Cmd::new("MGET").arg(key(input)).arg(key(input)),
        4 => Cmd::new("DEL").arg(key(input)),
        5 => Cmd::new("INCR").arg(key(input)),
        6 => Cmd::new("EXISTS").arg(key(input)).arg(key(input)),
        7 => Cmd::new("BLPOP")
            .arg(key(input))
            .arg(if input.byte() & 1 == 0 { "0" } else { "0.05" }),
        8 => Cmd::new("SUBSCRIBE").arg("ch"),
        9 => Cmd::new("MULTI"),
        10 => Cmd::new("FLUSHDB"),
        11 => Cmd::new("SELECT").arg(1),
        12 => Cmd::new("EVAL").arg("return 1").arg(1).arg(key(input)),
        13 => Cmd::new("TAGGED").arg(key(input)).arg("t"),
        14 => {
            // Large values: some over the size written without a copy (spliced into the
            // send queue, 16 KiB), chosen by the key so that older inputs keep their meaning.
            let k = key(input);
            let len = if k.len() % 2 == 0 { 20_000 } else { 3000 };
            Cmd::new("SET").arg(k).arg(vec![b'x'; len])
        }
        _ => {
            // Arbitrary bytes: any name (empty included), any arguments.
            let len = usize::from(input.byte() % 12);
            let mut cmd = Cmd::new(input.bytes(len));
            for _ in 0..input.byte() % 4 {
                let len = usize::from(input.byte() % 16);
                cmd.push_bytes(input.bytes(len));
            }
            cmd
        }
    }
}

fn is_blocking(cmd: &Cmd) -> bool {
    classify(cmd).is_blocking()
}

/// One of `items`, chosen by the next byte; `None` when there is none.
fn pick_from<T: Copy>(input: &mut Bytes<'_>, items: &[T]) -> Option<T> {
    let b = usize::from(input.byte());
    (!items.is_empty()).then(|| items[b % items.len()])
}

/// A command inside a transaction.
fn tx_command(input: &mut Bytes<'_>) -> Cmd {
    let key = input.pick(&KEYS);
    match input.byte() % 8 {
        0 => Cmd::new("WATCH").arg(key),
        1 => Cmd::new("MULTI"),
        2 => Cmd::new("EXEC"),
        3 => Cmd::new("DISCARD"),
        4 => Cmd::new("UNWATCH"),
        5 => Cmd::new("SET").arg(key).arg("t"),
        6 => Cmd::new("SUBSCRIBE").arg("ch"),
        _ => command(input),
    }
}

/// Up to three channel names (or patterns).
fn channels(input: &mut Bytes<'_>) -> Vec<&'static str> {
    (0..input.byte() % 4)
        .map(|_| input.pick(&["ch", "news", "{t}x", "n*", ""]))
        .collect()
}

/// Runs the check; panics when an invariant breaks.
pub fn check(data: &[u8]) {
    let mut input = Bytes(data);
    let (config, auto_connect, password, initial) = config(&mut input);
    let mut h = Harness::new(config, auto_connect, password.as_deref());
    h.set_shards(0b11 | initial << 2, 0, 0);

    for _ in 0..MAX_OPS {
        if input.0.is_empty() {
            break;
        }
        let op = input.byte();
        // Socket operands pick any connection ever opened, stale ones included.
        let sock = |input: &mut Bytes<'_>, h: &Harness| {
            let b = usize::from(input.byte());
            (!h.socks.is_empty()).then(|| h.socks.len() - 1 - b % h.socks.len())
        };
        match op % 16 {
            0 | 1 => {
                let cmd = command(&mut input);
                let t = input.byte();
                let timeout = (t & 1 != 0).then(|| duration(t >> 1));
                h.submit(cmd, timeout);
            }
            2 => {
                // Cancel one of the requests still owed a reply (or a finished one).
                let b = usize::from(input.byte());
                let mut ids: Vec<RequestId> = h.owed.keys().copied().collect();
                ids.sort();
                ids.extend(h.finished.iter().take(1));
                if !ids.is_empty() {
                    let id = ids[b % ids.len()];
                    let was_owed = h.owed.remove(&id).is_some();
                    assert_eq!(h.ring.cancel(id), was_owed, "cancel({id})");
                    h.finished.insert(id);
                    if was_owed {
                        h.cancelled.insert(id);
                    }
                    h.drain();
                }
            }
            3 => {
                if let Some(i) = sock(&mut input, &h) {
                    if h.socks[i].state == SockState::Connecting {
                        h.socks[i].state = SockState::Open;
                    }
                    let (id, now) = (h.socks[i].id, h.now);
                    h.input(Input::Connected { conn: id, now });
                }
            }
            4 => {
                // The network: write everything, the server answers, the client reads it.
                if let Some(i) = sock(&mut input, &h) {
                    h.sent(i, usize::MAX);
                    h.serve(i);
                    h.deliver(i, None);
                }
            }
            5 => {
                if let Some(i) = sock(&mut input, &h) {
                    let n = usize::from(input.u16());
                    h.sent(i, n);
                }
            }
            6 => {
                if let Some(i) = sock(&mut input, &h) {
                    h.serve(i);
                    let n = usize::from(input.byte());
                    h.deliver(i, Some(n));
                }
            }
            7 => {
                if let Some(i) = sock(&mut input, &h) {
                    let frame = input.pick(FRAMES);
                    h.received(i, frame);
                }
            }
            8 => {
                if let Some(i) = sock(&mut input, &h) {
                    let len = usize::from(input.byte() % 64);
                    let raw = input.bytes(len).to_vec();
                    h.received(i, &raw);
                }
            }
            9 => {
                if let Some(i) = sock(&mut input, &h) {
                    let error = input.pick(&[
                        NetError::Refused,
                        NetError::Reset,
                        NetError::Eof,
                        NetError::TimedOut,
                        NetError::Unreachable,
                        NetError::Resolve,
                        NetError::Other,
                    ]);
                    h.closed(i, error);
                }
            }
            10 | 11 => {
                let b = input.byte();
                let to = match b % 4 {
                    // Straight to the next timer.
                    0 if h.wake != Instant::MAX => h.wake,
                    _ => h.now + duration(b >> 2),
                };
                h.advance(to);
            }
            12 => {
                let (mask, alt, rotate) = (input.byte(), input.byte(), input.byte());
                h.set_shards(mask, alt, rotate);
            }
            13 => {
                // A whole round of a healthy network: every open connection writes, its
                // server answers, the client reads.
                for i in 0..h.socks.len() {
                    if h.socks[i].state == SockState::Open {
                        h.sent(i, usize::MAX);
                        h.serve(i);
                        h.deliver(i, None);
                    }
                }
            }
            14 => {
                // Read-only calls must never panic either.
                let key = input.pick(&KEYS);
                let _ = h.ring.shard_for_key(key.as_bytes());
                let _ = h.ring.live_len();
                for s in h.ring.shards() {
                    let _ = format!("{s:?}");
                }
            }
            _ => h.other_api(&mut input),
        }
    }

    // Every request ends: the network drops every connection, then time passes every
    // deadline. Connections the core opens meanwhile never complete.
    h.auto_connect = false;
    for i in 0..h.socks.len() {
        if h.socks[i].state != SockState::Gone {
            h.closed(i, NetError::Reset);
        }
    }
    let end = h.last_deadline.max(h.now) + Duration::from_millis(1);
    h.advance(end);
    // Blocking commands (deadline after their block time, or none for a block of 0) end
    // when their connections do: keep refusing connections and let time run, within reason.
    let limit = h.now + Duration::from_secs(600);
    while !h.owed.is_empty() && h.now < limit {
        for i in 0..h.socks.len() {
            if h.socks[i].state != SockState::Gone {
                h.closed(i, NetError::Refused);
            }
        }
        let next = if h.wake == Instant::MAX {
            h.now + Duration::from_secs(1)
        } else {
            h.wake
        };
        h.advance(next);
    }
    assert!(
        h.owed.is_empty(),
        "{} requests never ended: {:?}",
        h.owed.len(),
        h.owed.keys().collect::<Vec<_>>()
    );
    assert_eq!(h.ring.pending(), 0);
    let now = h.now;
    h.ring.close(now);
    h.drain();
}
