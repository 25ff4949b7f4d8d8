//! Tests of the real-redis-server harness itself.

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use redis_ring_tests::harness::{leftover_servers, RawConn, Reply};
use redis_ring_tests::{RedisServer, ServerOptions, Shards};

fn pong() -> Reply {
    Reply::Status("PONG".into())
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Some(s.as_bytes().to_vec()))
}

fn proc_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn starts_on_distinct_free_ports_and_answers_ping() {
    let shards = Shards::start(3).unwrap();
    let mut ports: Vec<u16> = shards.servers().iter().map(RedisServer::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    for s in shards.servers() {
        assert_eq!(s.command(&["PING"]).unwrap(), pong());
    }
    assert_eq!(shards.named()[0].0, "shard1");
}

#[test]
fn persistence_is_off() {
    let s = RedisServer::start().unwrap();
    let save = s.command(&["CONFIG", "GET", "save"]).unwrap();
    assert_eq!(save, Reply::Array(Some(vec![bulk("save"), bulk("")])));
    let aof = s.command(&["CONFIG", "GET", "appendonly"]).unwrap();
    assert_eq!(
        aof,
        Reply::Array(Some(vec![bulk("appendonly"), bulk("no")]))
    );
}

#[test]
fn kill_then_restart_on_the_same_port() {
    let mut s = RedisServer::start().unwrap();
    let port = s.port();
    s.command(&["SET", "k", "v"]).unwrap();
    s.kill();
    assert!(!s.is_running());
    assert!(
        TcpStream::connect(s.socket_addr()).is_err(),
        "killed server still accepts"
    );
    s.restart().unwrap();
    assert_eq!(s.port(), port);
    assert!(s.is_running());
    // Persistence is off: the data is gone after a restart.
    assert_eq!(s.command(&["GET", "k"]).unwrap(), Reply::Bulk(None));
}

#[test]
fn shutdown_nosave_stops_the_server() {
    let mut s = RedisServer::start().unwrap();
    s.shutdown().unwrap();
    assert!(!s.is_running());
    assert!(TcpStream::connect(s.socket_addr()).is_err());
    s.restart().unwrap();
    assert_eq!(s.command(&["PING"]).unwrap(), pong());
}

#[test]
fn pause_hangs_and_resume_recovers() {
    let mut s = RedisServer::start().unwrap();
    let mut conn = RawConn::connect(s.socket_addr(), Duration::from_millis(300)).unwrap();
    s.pause().unwrap();
    let err = conn.command(&["PING"]).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err:?}"
    );
    s.resume().unwrap();
    assert_eq!(s.command(&["PING"]).unwrap(), pong());
}

#[test]
fn extra_arguments_reach_the_server() {
    let s =
        RedisServer::start_with(ServerOptions::new().password("s3cret").enable_debug()).unwrap();
    let mut conn = RawConn::connect(s.socket_addr(), Duration::from_secs(2)).unwrap();
    match conn.command(&["GET", "x"]).unwrap() {
        Reply::Error(e) => assert!(e.starts_with("NOAUTH"), "{e}"),
        other => panic!("expected NOAUTH, got {other:?}"),
    }
    // `command` authenticates with the configured password.
    assert_eq!(s.command(&["PING"]).unwrap(), pong());
    assert_eq!(
        s.command(&["DEBUG", "PROTOCOL", "integer"]).unwrap(),
        Reply::Int(12345)
    );
}

#[test]
fn dropping_the_handle_kills_the_process() {
    let s = RedisServer::start().unwrap();
    let pid = s.pid().unwrap();
    assert!(proc_exists(pid));
    assert!(leftover_servers().contains(&pid));
    drop(s);
    // The drop reaps the process, so its /proc entry is gone.
    assert!(!proc_exists(pid));
}

#[test]
fn dropping_during_a_panic_kills_the_process() {
    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::thread::spawn(move || {
        let s = RedisServer::start().unwrap();
        tx.send(s.pid().unwrap()).unwrap();
        panic!("test failure while a server runs");
    })
    .join();
    assert!(result.is_err());
    let pid = rx.recv().unwrap();
    assert!(!proc_exists(pid));
}
