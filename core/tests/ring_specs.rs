//! Typed shard specs reach the ring: weights weigh placement, per-shard overrides and the
//! endpoint reach the connection, and nothing prints a password.

use std::num::NonZeroU32;

use redis_ring_core::config::{Config, Endpoint, ShardSpec};
use redis_ring_core::ring::{Output, RingCore};
use redis_ring_core::time::Instant;

fn drain(ring: &mut RingCore) -> Vec<Output> {
    let mut out = Vec::new();
    loop {
        match ring.poll_output() {
            Output::Timeout(_) => return out,
            o => out.push(o),
        }
    }
}

#[test]
fn weights_reach_placement() {
    let mut ring = RingCore::new(Config::default(), Instant::ZERO);
    let heavy = ShardSpec::parse("heavy", "10.0.0.1:6379")
        .unwrap()
        .weight(NonZeroU32::new(9).unwrap());
    let light = ShardSpec::parse("light", "10.0.0.2:6379").unwrap();
    ring.set_shards([heavy, light], Instant::ZERO);
    let _ = drain(&mut ring);
    let n = 10_000;
    let on_heavy = (0..n)
        .filter(|i| {
            ring.shard_for_key(format!("k{i}").as_bytes())
                .unwrap()
                .0
                .as_ref()
                == "heavy"
        })
        .count();
    assert!(
        on_heavy > n * 8 / 10,
        "{on_heavy} of {n} keys on the weight-9 shard"
    );
    // A new weight applies without a reconnect (no Close, no Connect).
    let even = [
        ShardSpec::parse("heavy", "10.0.0.1:6379").unwrap(),
        ShardSpec::parse("light", "10.0.0.2:6379").unwrap(),
    ];
    ring.set_shards(even, Instant::ZERO);
    let outs = drain(&mut ring);
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, Output::Close { .. } | Output::Event(_))),
        "{outs:?}"
    );
    let on_heavy = (0..n)
        .filter(|i| {
            ring.shard_for_key(format!("k{i}").as_bytes())
                .unwrap()
                .0
                .as_ref()
                == "heavy"
        })
        .count();
    assert!(
        on_heavy < n * 6 / 10,
        "{on_heavy} of {n} keys after the weights evened out"
    );
}

#[test]
fn connect_carries_the_endpoint_and_addresses_hide_passwords() {
    let mut ring = RingCore::new(Config::default(), Instant::ZERO);
    ring.set_shards(
        [
            ("a", "redis://u:s3cret@[::1]:7000/2"),
            ("b", "unix:///tmp/redis-ring-spec.sock"),
        ],
        Instant::ZERO,
    );
    let outs = drain(&mut ring);
    let endpoints: Vec<&Endpoint> = outs
        .iter()
        .filter_map(|o| match o {
            Output::Connect { endpoint, .. } => Some(endpoint),
            _ => None,
        })
        .collect();
    assert!(endpoints.contains(&&Endpoint::Tcp {
        host: "::1".into(),
        port: 7000
    }));
    assert!(endpoints.contains(&&Endpoint::Unix {
        path: "/tmp/redis-ring-spec.sock".into()
    }));
    let shown = format!("{outs:?} {:?}", ring.shards().collect::<Vec<_>>());
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("[::1]:7000"), "{shown}");
}
