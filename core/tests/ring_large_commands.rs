//! Large commands (16 KiB and more) are written from their own buffer, not copied into the
//! connection's send buffer: the stream stays exact when such a command is cancelled or
//! times out while partly written, and one never written re-routes whole when its shard is
//! removed. The sockets here take only as many bytes as the test allows.

use std::collections::HashMap;

use redis_ring_core::command::Cmd;
use redis_ring_core::config::{Config, Protocol};
use redis_ring_core::error::Error;
use redis_ring_core::resp::{decode, Limits, Status, Value};
use redis_ring_core::ring::{ConnId, Input, Output, RequestId, RingCore};
use redis_ring_core::time::{Duration, Instant};

/// One socket: where it goes, what the server received, how much more it may take.
struct Sock {
    addr: String,
    /// Every byte the server received, and how far it has parsed them.
    inbox: Vec<u8>,
    parsed: usize,
    /// Bytes the socket still takes (`usize::MAX`: all).
    room: usize,
    /// Whole commands the server ran, as their words.
    ran: Vec<Vec<Vec<u8>>>,
}

struct Net {
    ring: RingCore,
    now: Instant,
    socks: HashMap<ConnId, Sock>,
    /// Bytes a new socket to an address takes at first (absent: all).
    room: HashMap<String, usize>,
    replies: HashMap<RequestId, Result<Value, Error>>,
    /// Sockets the ring closed, kept for what their servers ran.
    closed: Vec<Sock>,
    data: HashMap<Vec<u8>, Vec<u8>>,
}

impl Net {
    fn new(shards: &[(&str, &str)]) -> Net {
        let mut config = Config::default();
        config.conn.protocol = Protocol::Resp2;
        let now = Instant::ZERO;
        let mut ring = RingCore::new(config, now);
        ring.set_shards(shards.iter().copied(), now);
        let mut net = Net {
            ring,
            now,
            socks: HashMap::new(),
            room: HashMap::new(),
            replies: HashMap::new(),
            closed: Vec::new(),
            data: HashMap::new(),
        };
        net.settle();
        net
    }

    fn settle(&mut self) {
        for _ in 0..100 {
            let mut progress = false;
            loop {
                match self.ring.poll_output() {
                    Output::Connect { conn, addr, .. } => {
                        let room = self.room.get(&*addr).copied().unwrap_or(usize::MAX);
                        self.socks.insert(
                            conn,
                            Sock {
                                addr: addr.to_string(),
                                inbox: Vec::new(),
                                parsed: 0,
                                room,
                                ran: Vec::new(),
                            },
                        );
                        let now = self.now;
                        self.ring.handle_input(Input::Connected { conn, now });
                    }
                    Output::Transmit { conn } => progress |= self.write(conn),
                    Output::Close { conn } => {
                        self.closed.extend(self.socks.remove(&conn));
                    }
                    Output::Reply { id, result } => {
                        self.replies.insert(id, result);
                    }
                    Output::Timeout(_) => break,
                    _ => {}
                }
            }
            let conns: Vec<ConnId> = self.socks.keys().copied().collect();
            for conn in conns {
                progress |= self.serve(conn);
            }
            if !progress {
                return;
            }
        }
        panic!("no quiescence");
    }

    /// The socket takes what its room allows, across the send queue's slices.
    fn write(&mut self, conn: ConnId) -> bool {
        let Some(s) = self.socks.get_mut(&conn) else {
            return false;
        };
        let bytes = self.ring.send_slices(conn).collect::<Vec<_>>().concat();
        assert_eq!(bytes.len(), self.ring.send_len(conn));
        let n = bytes.len().min(s.room);
        if n == 0 {
            return false;
        }
        s.room -= n.min(s.room);
        s.inbox.extend_from_slice(&bytes[..n]);
        let now = self.now;
        self.ring.handle_input(Input::Sent { conn, n, now });
        true
    }

    /// The server runs every whole command received and answers.
    fn serve(&mut self, conn: ConnId) -> bool {
        let s = self.socks.get_mut(&conn).unwrap();
        let mut out = Vec::new();
        while let Ok(Status::Complete((frame, used))) =
            decode(&s.inbox[s.parsed..], &Limits::default())
        {
            let words: Vec<Vec<u8>> = frame
                .as_aggregate()
                .unwrap()
                .iter()
                .map(|w| w.as_bulk().unwrap().to_vec())
                .collect();
            s.parsed += used;
            match &words[0][..] {
                b"SET" => {
                    self.data.insert(words[1].clone(), words[2].clone());
                    out.extend_from_slice(b"+OK\r\n");
                }
                b"GET" => match self.data.get(&words[1]) {
                    Some(v) => {
                        out.extend_from_slice(format!("${}\r\n", v.len()).as_bytes());
                        out.extend_from_slice(v);
                        out.extend_from_slice(b"\r\n");
                    }
                    None => out.extend_from_slice(b"$-1\r\n"),
                },
                _ => out.extend_from_slice(b"+PONG\r\n"),
            }
            s.ran.push(words);
        }
        if out.is_empty() {
            return false;
        }
        let now = self.now;
        self.ring.handle_input(Input::Received {
            conn,
            data: &out,
            now,
        });
        true
    }

    fn conn_to(&self, addr: &str) -> ConnId {
        *self.socks.iter().find(|(_, s)| s.addr == addr).unwrap().0
    }

    /// Lets `conn`'s socket take everything from now on.
    fn open(&mut self, conn: ConnId) {
        self.socks.get_mut(&conn).unwrap().room = usize::MAX;
        let now = self.now;
        // A write the driver retries (as on writability).
        self.write(conn);
        self.ring.handle_input(Input::Timeout(now));
        self.settle();
    }

    fn advance(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
        let now = self.now;
        self.ring.handle_input(Input::Timeout(now));
        self.settle();
    }

    /// The data commands `addr`'s server ran (no `PING`).
    fn ran(&self, addr: &str) -> Vec<Vec<Vec<u8>>> {
        self.socks
            .values()
            .chain(&self.closed)
            .filter(|s| s.addr == addr)
            .flat_map(|s| s.ran.iter().filter(|w| w[0] != b"PING").cloned())
            .collect()
    }
}

/// Two keys `addr` owns.
fn keys_on(net: &Net, addr: &str) -> (String, String) {
    let mut keys = (0..1000).map(|i| format!("k{i}")).filter(|k| {
        net.ring
            .shard_for_key(k.as_bytes())
            .is_some_and(|(_, a)| &**a == addr)
    });
    (keys.next().unwrap(), keys.next().unwrap())
}

fn value(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[test]
fn a_large_command_timed_out_while_partly_written_leaves_the_stream_exact() {
    let mut net = Net::new(&[("s0", "a0")]);
    let conn = net.conn_to("a0");
    net.socks.get_mut(&conn).unwrap().room = 10_000;
    let before = net.socks[&conn].inbox.len(); // a heartbeat
    let v = value(300_000, 7);
    let now = net.now;
    let set = net
        .ring
        .submit_with_timeout(
            Cmd::new("SET").arg("big").arg(&v[..]),
            Duration::from_millis(100),
            now,
        )
        .unwrap();
    net.settle();
    assert_eq!(
        net.socks[&conn].inbox.len(),
        before + 10_000,
        "partly written"
    );
    net.advance(150);
    assert!(
        matches!(net.replies.get(&set), Some(Err(Error::Timeout { .. }))),
        "{:?}",
        net.replies.get(&set)
    );
    // The rest of the timed-out SET goes out before the next command: the server reads
    // both whole, the GET gets the SET's value.
    let now = net.now;
    let get = net.ring.submit(Cmd::new("GET").arg("big"), now).unwrap();
    net.open(conn);
    assert_eq!(net.replies.get(&get), Some(&Ok(Value::Bulk(v.clone()))));
    let ran = net.ran("a0");
    assert_eq!(ran.len(), 2);
    assert_eq!(ran[0][2], v);
}

#[test]
fn a_large_command_never_completely_written_reroutes_whole_on_removal() {
    let mut net = Net::new(&[("s0", "a0"), ("s1", "a1")]);
    let (k0, k1) = keys_on(&net, "a0");
    let old = net.conn_to("a0");
    net.socks.get_mut(&old).unwrap().room = 5_000;
    let before = net.socks[&old].inbox.len();
    let (v1, v2) = (value(100_000, 1), value(50_000, 2));
    let now = net.now;
    // Partly written, then never written at all.
    let a = net
        .ring
        .submit(Cmd::new("SET").arg(&k0).arg(&v1[..]), now)
        .unwrap();
    let b = net
        .ring
        .submit(Cmd::new("SET").arg(&k1).arg(&v2[..]), now)
        .unwrap();
    net.settle();
    assert_eq!(net.socks[&old].inbox.len(), before + 5_000);
    net.ring.set_shards([("s1", "a1")], now);
    net.settle();
    assert_eq!(net.replies.get(&a), Some(&Ok(Value::Okay)));
    assert_eq!(net.replies.get(&b), Some(&Ok(Value::Okay)));
    assert!(net.ran("a0").is_empty(), "the old server ran nothing");
    let ran = net.ran("a1");
    assert_eq!(ran.len(), 2);
    assert_eq!(
        (&ran[0][2], &ran[1][2]),
        (&v1, &v2),
        "byte-exact on the new owner"
    );
    assert_eq!(net.ring.stats().retries, 0);
}
