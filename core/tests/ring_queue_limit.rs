//! Bounded memory under a stuck shard: `Config::queue_limit` caps the commands (and bytes)
//! queued for one shard; at the cap a request waits in arrival order (bounded by its own
//! timeout) or fails at once naming the shard. Other shards are untouched.

mod ring_support;

use redis_ring_core::command::Cmd;
use redis_ring_core::config::{Config, QueueLimit, WhenFull};
use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;
use ring_support::{ms, Mode, Rig};

fn key_on(rig: &Rig, addr: &str, n: usize) -> Vec<String> {
    (0..10_000)
        .map(|i| format!("k{i}"))
        .filter(|k| rig.owner(k) == addr)
        .take(n)
        .collect()
}

fn config(when_full: WhenFull) -> Config {
    let mut c = Config::default();
    let mut limit = QueueLimit::default();
    limit.max_commands = 3;
    limit.when_full = when_full;
    c.queue_limit = limit;
    c.command_timeout = ms(1_000);
    c
}

#[test]
fn at_the_limit_requests_wait_in_order_then_go() {
    let mut rig = Rig::new(config(WhenFull::Wait), 2);
    let stuck = key_on(&rig, "a0", 5);
    let other = key_on(&rig, "a1", 5);
    rig.set_mode("a0", Mode::Hold);
    let ids: Vec<_> = stuck
        .iter()
        .enumerate()
        .map(|(i, k)| rig.submit(Cmd::new("SET").arg(k).arg(i)).unwrap())
        .collect();
    // Three went out; two wait in the core, never copied into a send buffer.
    assert_eq!(rig.data_commands("a0").len(), 3);
    let s0 = rig.ring.shards().find(|s| &*s.name == "s0").unwrap();
    assert_eq!((s0.pending, s0.parked), (3, 2));
    assert_eq!(rig.ring.stats().parked, 2);
    // The other shard is not held back by it.
    for k in &other {
        let id = rig.submit(Cmd::new("SET").arg(k).arg("x")).unwrap();
        assert_eq!(rig.reply(id), Some(&Ok(Value::Okay)));
    }
    rig.advance(ms(100));
    rig.release("a0");
    for id in &ids {
        assert_eq!(rig.reply(*id), Some(&Ok(Value::Okay)));
    }
    // In arrival order.
    let sets: Vec<_> = rig.servers["a0"]
        .log
        .iter()
        .filter(|w| w[0] == b"SET")
        .map(|w| String::from_utf8_lossy(&w[2]).into_owned())
        .collect();
    assert_eq!(sets, ["0", "1", "2", "3", "4"]);
}

#[test]
fn a_waiting_request_ends_by_its_own_timeout_naming_the_shard() {
    let mut rig = Rig::new(config(WhenFull::Wait), 2);
    let stuck = key_on(&rig, "a0", 4);
    rig.set_mode("a0", Mode::Hang);
    let start = rig.now;
    let ids: Vec<_> = stuck
        .iter()
        .map(|k| rig.submit(Cmd::new("SET").arg(k).arg("v")).unwrap())
        .collect();
    rig.advance(ms(1_000));
    let (_, result, at) = rig.replies.iter().find(|(i, ..)| *i == ids[3]).unwrap();
    assert_eq!(*at - start, ms(1_000));
    match result {
        Err(Error::Timeout { shard, .. }) => assert_eq!(shard.as_deref(), Some("s0")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn with_fail_the_request_is_refused_at_once_naming_the_shard() {
    let mut rig = Rig::new(config(WhenFull::Fail), 2);
    let stuck = key_on(&rig, "a0", 4);
    rig.set_mode("a0", Mode::Hang);
    let ids: Vec<_> = stuck
        .iter()
        .map(|k| rig.submit(Cmd::new("SET").arg(k).arg("v")).unwrap())
        .collect();
    match rig.reply(ids[3]) {
        Some(Err(
            e @ Error::ShardOverloaded {
                queued_commands: 3, ..
            },
        )) => {
            assert_eq!(e.shard(), Some("s0"));
            assert!(e.to_string().contains("nothing was sent"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rig.data_commands("a0").len(), 3);
}

#[test]
fn the_byte_limit_bounds_the_send_buffer() {
    let mut c = config(WhenFull::Wait);
    c.queue_limit.max_commands = 1_000;
    c.queue_limit.max_bytes = 10_000;
    let mut rig = Rig::new(c, 2);
    let keys = key_on(&rig, "a0", 50);
    // A connection whose writes never complete: the driver never reports them sent.
    let now = rig.now;
    let value = vec![b'x'; 1_000];
    for k in &keys {
        let _ = rig.ring.submit(Cmd::new("SET").arg(k).arg(&value[..]), now);
    }
    let s0 = rig.ring.shards().find(|s| &*s.name == "s0").unwrap();
    assert!(
        s0.queued_bytes <= 10_000 + 1_100,
        "{} bytes queued",
        s0.queued_bytes
    );
    assert!(s0.parked >= 35, "{} parked", s0.parked);
    rig.settle();
}
