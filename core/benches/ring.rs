//! A full submit → Transmit → Sent → Received → Reply cycle through `RingCore`, no I/O.
//!
//! `taskset -c 1 cargo bench -p redis-ring-core --bench ring`
//!
//! * `ring/set` and `ring/get`: one request at a time (the per-request cost of the state
//!   machine: routing, encoding into the send buffer, FIFO matching, decoding the reply).
//! * `ring/set_x64`: 64 requests submitted, written in one Transmit, answered in one read
//!   (automatic pipelining); reported per batch.
//!
//! The command is built outside the measured part (it is the caller's), the reply bytes are
//! fixed, and time does not move (no heartbeat in the loop).
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::ring::{Input, Output, RingCore};
use redis_ring_core::time::Instant;

/// A ring with three shards whose connections are up (handshake done).
fn ready_ring() -> RingCore {
    let now = Instant::from_nanos(1);
    let mut ring = RingCore::new(Config::default(), now);
    ring.set_shards(
        [
            ("s0", "10.0.0.1:6379"),
            ("s1", "10.0.0.2:6379"),
            ("s2", "10.0.0.3:6379"),
        ],
        now,
    );
    loop {
        match ring.poll_output() {
            Output::Connect { conn, .. } => {
                ring.handle_input(Input::Connected { conn, now });
            }
            Output::Transmit { conn } => {
                // First the handshake (HELLO), then the first heartbeat (PING).
                let data: &[u8] = if ring.send_buf(conn).starts_with(b"*2\r\n$5\r\nHELLO") {
                    b"%1\r\n+proto\r\n:3\r\n"
                } else {
                    b"+PONG\r\n"
                };
                let n = ring.send_buf(conn).len();
                ring.handle_input(Input::Sent { conn, n, now });
                ring.handle_input(Input::Received { conn, data, now });
            }
            Output::Timeout(_) => break,
            _ => {}
        }
    }
    ring
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring");
    for (name, make, reply) in [
        (
            "set",
            (|| Cmd::new("SET").arg("key:1").arg("value-of-the-key")) as fn() -> Cmd,
            &b"+OK\r\n"[..],
        ),
        (
            "get",
            || Cmd::new("GET").arg("key:1"),
            &b"$16\r\nvalue-of-the-key\r\n"[..],
        ),
    ] {
        let mut ring = ready_ring();
        let now = Instant::from_nanos(1);
        g.throughput(Throughput::Elements(1));
        g.bench_function(name, |b| {
            b.iter_batched(
                make,
                |cmd| {
                    let id = ring.submit(cmd, now).unwrap();
                    let Output::Transmit { conn } = ring.poll_output() else {
                        panic!()
                    };
                    let n = ring.send_buf(conn).len();
                    ring.handle_input(Input::Sent { conn, n, now });
                    ring.handle_input(Input::Received {
                        conn,
                        data: reply,
                        now,
                    });
                    let Output::Reply { id: done, result } = ring.poll_output() else {
                        panic!()
                    };
                    assert_eq!(done, id);
                    let Output::Timeout(_) = ring.poll_output() else {
                        panic!()
                    };
                    result.unwrap()
                },
                BatchSize::SmallInput,
            );
        });
    }
    // 64 pipelined SETs of keys on one shard (one Transmit, one read of 64 replies).
    let mut ring = ready_ring();
    let now = Instant::from_nanos(1);
    let many_ok: Vec<u8> = b"+OK\r\n".repeat(64);
    g.throughput(Throughput::Elements(64));
    g.bench_function("set_x64", |b| {
        b.iter_batched(
            || {
                (0..64)
                    .map(|i| Cmd::new("SET").arg("{same}key").arg(i))
                    .collect::<Vec<_>>()
            },
            |cmds| {
                for cmd in cmds {
                    ring.submit(cmd, now).unwrap();
                }
                let Output::Transmit { conn } = ring.poll_output() else {
                    panic!()
                };
                let n = ring.send_buf(conn).len();
                ring.handle_input(Input::Sent { conn, n, now });
                ring.handle_input(Input::Received {
                    conn,
                    data: &many_ok,
                    now,
                });
                let mut got = 0;
                while let Output::Reply { .. } = ring.poll_output() {
                    got += 1;
                }
                assert_eq!(got, 64);
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
