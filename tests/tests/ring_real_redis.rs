//! `RingCore` against real `redis-server` processes, through a minimal blocking driver loop
//! (std sockets, one thread): the handshake variants as Redis 7 really answers them, routing
//! checked on the servers themselves, and liveness when a server is killed or paused.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant as StdInstant};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::{Config, Protocol};
use redis_ring_core::error::{Error, NetError};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{ConnId, Event, Input, Output, RequestId, RingCore};
use redis_ring_core::time::Instant;
use redis_ring_tests::harness::{RawConn, Reply};
use redis_ring_tests::{RedisServer, ServerOptions, Shards};

/// The smallest honest driver: blocking connects, non-blocking reads, polling every ms.
struct Mini {
    ring: RingCore,
    start: StdInstant,
    socks: HashMap<ConnId, TcpStream>,
    replies: HashMap<RequestId, Result<Value, Error>>,
    events: Vec<(Event, Duration)>,
    wake: Instant,
}

fn net_error(e: &std::io::Error) -> NetError {
    match e.kind() {
        ErrorKind::ConnectionRefused => NetError::Refused,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            NetError::Reset
        }
        ErrorKind::TimedOut => NetError::TimedOut,
        _ => NetError::Other,
    }
}

impl Mini {
    fn new(config: Config, shards: &[(String, String)]) -> Mini {
        let start = StdInstant::now();
        let mut m = Mini {
            ring: RingCore::new(config, Instant::ZERO),
            start,
            socks: HashMap::new(),
            replies: HashMap::new(),
            events: Vec::new(),
            wake: Instant::MAX,
        };
        let now = m.now();
        m.ring.set_shards(shards.iter().cloned(), now);
        m.drain();
        m
    }

    fn now(&self) -> Instant {
        Instant::from_nanos(self.start.elapsed().as_nanos() as u64)
    }

    fn drain(&mut self) {
        loop {
            let now = self.now();
            match self.ring.poll_output() {
                Output::Connect { conn, addr } => {
                    let sa: SocketAddr = addr.parse().unwrap();
                    match TcpStream::connect_timeout(&sa, Duration::from_secs(1)) {
                        Ok(s) => {
                            s.set_nonblocking(true).unwrap();
                            s.set_nodelay(true).unwrap();
                            self.socks.insert(conn, s);
                            self.ring.handle_input(Input::Connected { conn, now });
                        }
                        Err(e) => {
                            let error = net_error(&e);
                            self.ring.handle_input(Input::Closed { conn, error, now });
                        }
                    }
                }
                Output::Transmit { conn } => {
                    let Some(s) = self.socks.get_mut(&conn) else {
                        continue;
                    };
                    match s.write(self.ring.send_buf(conn)) {
                        Ok(n) => self.ring.handle_input(Input::Sent { conn, n, now }),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(e) => {
                            self.socks.remove(&conn);
                            let error = net_error(&e);
                            self.ring.handle_input(Input::Closed { conn, error, now });
                        }
                    }
                }
                Output::Close { conn } => {
                    self.socks.remove(&conn);
                }
                Output::Reply { id, result } => {
                    self.replies.insert(id, result);
                }
                Output::Event(e) => self.events.push((e, self.start.elapsed())),
                Output::Timeout(at) => {
                    self.wake = at;
                    return;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Moves bytes and time for about 1 ms.
    fn step(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        let conns: Vec<ConnId> = self.socks.keys().copied().collect();
        for conn in conns {
            loop {
                let now = self.now();
                let Some(s) = self.socks.get_mut(&conn) else {
                    break;
                };
                match s.read(&mut buf) {
                    Ok(0) => {
                        self.socks.remove(&conn);
                        self.ring.handle_input(Input::Closed {
                            conn,
                            error: NetError::Eof,
                            now,
                        });
                    }
                    Ok(n) => self.ring.handle_input(Input::Received {
                        conn,
                        data: &buf[..n],
                        now,
                    }),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.socks.remove(&conn);
                        let error = net_error(&e);
                        self.ring.handle_input(Input::Closed { conn, error, now });
                    }
                }
                self.drain();
            }
        }
        if self.now() >= self.wake {
            let now = self.now();
            self.ring.handle_input(Input::Timeout(now));
        }
        self.drain();
        std::thread::sleep(Duration::from_micros(500));
    }

    fn pump(&mut self, d: Duration) {
        let end = StdInstant::now() + d;
        while StdInstant::now() < end {
            self.step();
        }
    }

    fn run(&mut self, cmd: Cmd) -> Result<Value, Error> {
        let now = self.now();
        let id = self.ring.submit(cmd, now)?;
        self.drain();
        let end = StdInstant::now() + Duration::from_secs(10);
        while StdInstant::now() < end {
            if let Some(r) = self.replies.remove(&id) {
                return r;
            }
            self.step();
        }
        panic!("no reply for {id}");
    }

    /// Pumps until `pred` holds for an event; returns when it happened.
    fn wait_event(&mut self, limit: Duration, pred: impl Fn(&Event) -> bool) -> Duration {
        let end = StdInstant::now() + limit;
        while StdInstant::now() < end {
            if let Some((_, at)) = self.events.iter().find(|(e, _)| pred(e)) {
                return *at;
            }
            self.step();
        }
        panic!("no such event within {limit:?}: {:?}", self.events);
    }
}

fn raw(server: &RedisServer, password: Option<&str>, db: u32) -> RawConn {
    let mut c = RawConn::connect(server.socket_addr(), Duration::from_secs(5)).unwrap();
    if let Some(pw) = password {
        c.command(&["AUTH", pw]).unwrap();
    }
    c.command(&["SELECT", &db.to_string()]).unwrap();
    c
}

#[test]
fn keys_land_on_the_shard_placement_names_and_read_back() {
    let shards = Shards::start(3).unwrap();
    let named = shards.named();
    let mut m = Mini::new(Config::default(), &named);
    for i in 0..150 {
        let (k, v) = (format!("key:{i}"), format!("value:{i}"));
        assert_eq!(m.run(Cmd::new("SET").arg(&k).arg(&v)).unwrap(), Value::Okay);
    }
    for i in 0..150 {
        let k = format!("key:{i}");
        let (name, _) = m.ring.shard_for_key(k.as_bytes()).unwrap();
        let owner = named.iter().position(|(n, _)| **n == **name).unwrap();
        for (j, server) in shards.servers().iter().enumerate() {
            let got = server.command(&["GET", &k]).unwrap();
            if j == owner {
                assert_eq!(got, Reply::Bulk(Some(format!("value:{i}").into_bytes())));
            } else {
                assert_eq!(got, Reply::Bulk(None), "{k} also on shard {j}");
            }
        }
        assert_eq!(
            m.run(Cmd::new("GET").arg(&k)).unwrap(),
            Value::Bulk(format!("value:{i}").into_bytes())
        );
    }
    // An error reply names shard, address and command.
    let err = m.run(Cmd::new("INCR").arg("key:1")).unwrap_err();
    let Error::Server {
        command, message, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(command.as_str(), "INCR");
    assert!(
        message.starts_with("ERR value is not an integer"),
        "{message}"
    );
}

#[test]
fn handshake_with_password_db_and_name_in_resp3_and_resp2() {
    let server = RedisServer::start_with(ServerOptions::new().password("s3cret")).unwrap();
    for (protocol, name) in [
        (Protocol::Auto, "ring-resp3"),
        (Protocol::Resp2, "ring-resp2"),
    ] {
        let mut config = Config::default();
        config.conn.protocol = protocol;
        config.conn.password = Some("s3cret".into());
        config.conn.db = 2;
        config.conn.client_name = Some(name.into());
        let mut m = Mini::new(config, &[("s".into(), server.addr())]);
        assert_eq!(
            m.run(Cmd::new("SET").arg("k").arg(name)).unwrap(),
            Value::Okay
        );
        let mut c = raw(&server, Some("s3cret"), 2);
        assert_eq!(
            c.command(&["GET", "k"]).unwrap(),
            Reply::Bulk(Some(name.as_bytes().to_vec()))
        );
        let Reply::Bulk(Some(list)) = c.command(&["CLIENT", "LIST"]).unwrap() else {
            panic!()
        };
        let list = String::from_utf8(list).unwrap();
        let line = list
            .lines()
            .find(|l| l.contains(&format!("name={name} ")))
            .expect(&list);
        assert!(line.contains(" db=2 "), "{line}");
        let resp = if protocol == Protocol::Resp2 {
            "resp=2"
        } else {
            "resp=3"
        };
        assert!(line.contains(resp), "{line}");
    }
}

#[test]
fn a_wrong_password_is_a_handshake_error_naming_the_step() {
    let server = RedisServer::start_with(ServerOptions::new().password("right")).unwrap();
    for (protocol, step) in [(Protocol::Auto, "HELLO"), (Protocol::Resp2, "AUTH")] {
        let mut config = Config::default();
        config.conn.protocol = protocol;
        config.conn.password = Some("wrong".into());
        let mut m = Mini::new(config, &[("s".into(), server.addr())]);
        let err = m.run(Cmd::new("GET").arg("k")).unwrap_err();
        match &err {
            Error::Handshake {
                step: s,
                message,
                shard,
                ..
            } => {
                assert_eq!((s.as_str(), &**shard), (step, "s"));
                assert!(message.starts_with("WRONGPASS"), "{message}");
            }
            // The shard may already be down after three failed handshakes.
            Error::AllShardsDown { .. } => {}
            other => panic!("{other}"),
        }
    }
    // No password at all against a server that requires one.
    let mut m = Mini::new(Config::default(), &[("s".into(), server.addr())]);
    let err = m.run(Cmd::new("GET").arg("k")).unwrap_err();
    assert!(
        matches!(&err, Error::Handshake { message, .. } if message.starts_with("NOAUTH")),
        "{err}"
    );
}

#[test]
fn a_killed_shard_is_down_fast_other_shards_unaffected_and_it_comes_back() {
    let mut shards = Shards::start(3).unwrap();
    let named = shards.named();
    let mut m = Mini::new(Config::default(), &named);
    m.pump(Duration::from_millis(200));
    let victim = named[1].0.clone();
    let other_key = (0..1000)
        .map(|i| format!("k{i}"))
        .find(|k| *m.ring.shard_for_key(k.as_bytes()).unwrap().0.to_string() != *victim)
        .unwrap();
    let killed = m.start.elapsed();
    shards.server(1).kill();
    // Other shards answer at once, while the dead one is being detected.
    let t = StdInstant::now();
    assert_eq!(
        m.run(Cmd::new("SET").arg(&other_key).arg("v")).unwrap(),
        Value::Okay
    );
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    let down = m.wait_event(
        Duration::from_secs(3),
        |e| matches!(e, Event::ShardDown { name, .. } if **name == *victim),
    );
    println!("killed shard down after {:?}", down - killed);
    assert!(
        down - killed < Duration::from_millis(1_000),
        "{:?}",
        down - killed
    );
    assert_eq!(m.ring.live_len(), 2);
    shards.server(1).restart().unwrap();
    let restarted = m.start.elapsed();
    let up = m.wait_event(
        Duration::from_secs(3),
        |e| matches!(e, Event::ShardUp { name, .. } if **name == *victim),
    );
    println!("restarted shard up after {:?}", up - restarted);
    assert!(
        up - restarted < Duration::from_millis(800),
        "{:?}",
        up - restarted
    );
    assert_eq!(m.ring.live_len(), 3);
}

#[test]
fn a_paused_shard_goes_down_and_returns_when_resumed() {
    let mut shards = Shards::start(2).unwrap();
    let named = shards.named();
    let mut m = Mini::new(Config::default(), &named);
    m.pump(Duration::from_millis(200));
    let paused = m.start.elapsed();
    shards.server(0).pause().unwrap();
    let down = m.wait_event(Duration::from_secs(5), |e| {
        matches!(e, Event::ShardDown { .. })
    });
    println!("paused shard down after {:?}", down - paused);
    assert!(
        down - paused < Duration::from_millis(2_500),
        "{:?}",
        down - paused
    );
    // Its keys are served by the other shard meanwhile.
    assert_eq!(
        m.run(Cmd::new("SET").arg("any").arg("v")).unwrap(),
        Value::Okay
    );
    shards.server(0).resume().unwrap();
    let resumed = m.start.elapsed();
    let up = m.wait_event(Duration::from_secs(3), |e| {
        matches!(e, Event::ShardUp { .. })
    });
    println!("resumed shard up after {:?}", up - resumed);
    assert!(
        up - resumed < Duration::from_millis(1_500),
        "{:?}",
        up - resumed
    );
}
