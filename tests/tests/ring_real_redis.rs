//! `RingCore` against real `redis-server` processes, through a minimal blocking driver loop
//! ([`redis_ring_tests::mini_driver::Mini`]: std sockets, one thread): the handshake variants
//! as Redis 7 really answers them, routing checked on the servers themselves, and liveness
//! when a server is killed or paused.

use std::time::{Duration, Instant as StdInstant};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::{Config, Protocol};
use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::Event;
use redis_ring_tests::harness::{RawConn, Reply};
use redis_ring_tests::mini_driver::Mini;
use redis_ring_tests::{RedisServer, ServerOptions, Shards};

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
    // (Wide margins throughout: the exact bounds are checked in the simulator.)
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let down = m.wait_event(
        Duration::from_secs(10),
        |e| matches!(e, Event::ShardDown { name, .. } if **name == *victim),
    );
    println!("killed shard down after {:?}", down - killed);
    assert!(
        down - killed < Duration::from_secs(5),
        "{:?}",
        down - killed
    );
    assert_eq!(m.ring.live_len(), 2);
    shards.server(1).restart().unwrap();
    let restarted = m.start.elapsed();
    let up = m.wait_event(
        Duration::from_secs(10),
        |e| matches!(e, Event::ShardUp { name, .. } if **name == *victim),
    );
    println!("restarted shard up after {:?}", up - restarted);
    assert!(
        up - restarted < Duration::from_secs(5),
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
    let down = m.wait_event(Duration::from_secs(10), |e| {
        matches!(e, Event::ShardDown { .. })
    });
    println!("paused shard down after {:?}", down - paused);
    assert!(
        down - paused < Duration::from_secs(8),
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
    let up = m.wait_event(Duration::from_secs(10), |e| {
        matches!(e, Event::ShardUp { .. })
    });
    println!("resumed shard up after {:?}", up - resumed);
    assert!(up - resumed < Duration::from_secs(5), "{:?}", up - resumed);
}
