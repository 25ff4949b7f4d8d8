//! Properties of every placement: determinism, balance, minimal disruption on add/remove.
//!
//! The balance checks are statistical, so they run from a fixed seed (an exact property can
//! shrink from a random seed; a 5-sigma bound should not flake on a random one either, but
//! CI must not depend on luck). Run with `--nocapture` to see the consistent-hash and ketama
//! spreads printed.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use redis_ring_core::placement::{
    xxh64_seed0, Algorithm, AnyPlacement, KetamaHash, Placement, ShardSpec,
};

fn specs(names: &[String]) -> Vec<ShardSpec<'_>> {
    names.iter().map(ShardSpec::new).collect()
}

fn algorithms() -> [Algorithm; 4] {
    [
        Algorithm::Rendezvous,
        Algorithm::go_redis_v7(),
        Algorithm::ConsistentHash { replicas: 3 },
        Algorithm::Ketama {
            key_hash: KetamaHash::Md5,
        },
    ]
}

/// Distinct shard names in a stable order (BTreeSet: no random iteration order).
fn names(max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set("[a-z0-9:.-]{1,16}", 1..=max)
        .prop_map(|s: BTreeSet<String>| s.into_iter().collect())
}

/// Random 0..40-byte keys, a third of them with a hash tag.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..40),
        1 => ("[a-z]{0,6}", "[a-z0-9{]{1,8}", "[a-z}]{0,6}")
            .prop_map(|(a, t, b)| format!("{a}{{{t}}}{b}").into_bytes()),
    ]
}

/// `count` distinct keys derived from `seed` (cheaper than generating them through proptest).
fn keys(seed: u64, count: usize) -> impl Iterator<Item = Vec<u8>> {
    (0..count).map(move |i| format!("key:{seed:x}:{i}").into_bytes())
}

proptest! {
    // 64 cases (each builds every algorithm, ketama and 100-replica rings included, in a debug
    // build): the fuzz target covers the same ground at volume. No regression files: the
    // inputs that matter live in the fuzz corpus and the vector tests.
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    #[test]
    fn deterministic_and_always_a_live_shard(
        names in names(40),
        keys in prop::collection::vec(key(), 1..50),
    ) {
        for algorithm in algorithms() {
            let a = algorithm.build(&specs(&names));
            let b = algorithm.clone().build(&specs(&names.clone()));
            for key in &keys {
                let shard = a.shard_for(key);
                prop_assert!(matches!(shard, Some(s) if s < names.len()));
                prop_assert_eq!(shard, b.shard_for(key));
                prop_assert_eq!(shard, a.clone().shard_for(key));
            }
        }
    }

    #[test]
    fn removing_a_shard_moves_only_its_keys(
        names in names(32),
        removed in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let removed = removed.index(names.len());
        let mut fewer = names.clone();
        fewer.remove(removed);
        for algorithm in algorithms() {
            if matches!(algorithm, Algorithm::Ketama { .. }) && !ketama_counts_stable(names.len()) {
                continue;
            }
            let before = algorithm.build(&specs(&names));
            let after = algorithm.build(&specs(&fewer));
            for key in keys(seed, 500) {
                let old = before.shard_for(&key).unwrap();
                let new = after.shard_for(&key);
                if old == removed {
                    prop_assert!(new.is_some() || fewer.is_empty());
                } else {
                    prop_assert_eq!(
                        new.map(|n| &fewer[n]), Some(&names[old]),
                        "{:?} moved a key of a shard that stayed", algorithm
                    );
                }
            }
        }
    }

    #[test]
    fn adding_a_shard_moves_keys_only_onto_it(
        names in names(32),
        at in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let newcomer = "the-new-shard:6379".to_string();
        prop_assume!(!names.contains(&newcomer));
        let at = at.index(names.len() + 1);
        let mut more = names.clone();
        more.insert(at, newcomer.clone());
        for algorithm in algorithms() {
            if matches!(algorithm, Algorithm::Ketama { .. })
                && !ketama_counts_stable(more.len())
            {
                continue;
            }
            let before = algorithm.build(&specs(&names));
            let after = algorithm.build(&specs(&more));
            for key in keys(seed, 500) {
                let old = &names[before.shard_for(&key).unwrap()];
                let new = &more[after.shard_for(&key).unwrap()];
                prop_assert!(
                    new == old || *new == newcomer,
                    "{:?} moved a key from {} to {}", algorithm, old, new
                );
            }
        }
    }
}

/// Ketama moves keys between remaining shards when its per-shard point count changes with the
/// shard count (twemproxy's f32 rounding gives 156 points instead of 160 at n = 25, 47, ...):
/// minimal disruption holds between shard counts up to 24 (and whenever the count is stable).
fn ketama_counts_stable(n: usize) -> bool {
    n <= 24
}

/// Each shard's share, for `keys` keys.
fn counts(placement: &AnyPlacement, shards: usize, seed: u64, keys_n: usize) -> Vec<usize> {
    let mut counts = vec![0; shards];
    for key in keys(seed, keys_n) {
        counts[placement.shard_for(&key).unwrap()] += 1;
    }
    counts
}

proptest! {
    #![proptest_config(Config {
        cases: 24,
        rng_seed: RngSeed::Fixed(0x5eed_0004),
        failure_persistence: None,
        ..Config::default()
    })]

    /// Rendezvous over N <= 32 equal shards: every shard within ±10% of 1/N.
    ///
    /// With 2,500 keys per shard on average (so 10,000 keys at N = 4 and 80,000 at N = 32) the
    /// ±10% band is five binomial standard deviations wide: any fault in the hash shows, luck
    /// does not. (With a fixed 10,000 keys, ±10% at N = 32 is under two standard deviations:
    /// even a perfect hash would break it in most draws.)
    #[test]
    fn rendezvous_balance_within_10_percent(names in names(32), seed in any::<u64>()) {
        let n = names.len();
        let keys_n = 2_500 * n;
        let ring = Algorithm::Rendezvous.build(&specs(&names));
        let want = (keys_n / n) as f64;
        for (i, &c) in counts(&ring, n, seed, keys_n).iter().enumerate() {
            prop_assert!(
                (c as f64 - want).abs() <= 0.10 * want,
                "{} got {} keys, want {} ± 10%", names[i], c, want
            );
        }
    }

    /// Weighted rendezvous: shares follow the weights (±10%, same 5-sigma sizing).
    #[test]
    fn weighted_rendezvous_follows_weights(
        names in names(6),
        weights in prop::collection::vec(1u32..=4, 6),
        seed in any::<u64>(),
    ) {
        let n = names.len();
        prop_assume!(n >= 2);
        let specs: Vec<ShardSpec<'_>> = names
            .iter()
            .zip(&weights)
            .map(|(name, &w)| ShardSpec::weighted(name, NonZeroU32::new(w).unwrap()))
            .collect();
        let total: u32 = weights[..n].iter().sum();
        let keys_n = 2_500 * total as usize;
        let ring = Algorithm::Rendezvous.build(&specs);
        for (i, &c) in counts(&ring, n, seed, keys_n).iter().enumerate() {
            let want = keys_n as f64 * f64::from(weights[i]) / f64::from(total);
            prop_assert!(
                (c as f64 - want).abs() <= 0.10 * want,
                "{} (weight {}) got {} keys, want {} ± 10%", names[i], weights[i], c, want
            );
        }
    }
}

#[test]
fn equal_weights_are_plain_rendezvous() {
    // Weights that are all equal must not change go-redis placement in any way.
    let names: Vec<String> = (0..10).map(|i| format!("shard{i}")).collect();
    let five = NonZeroU32::new(5).unwrap();
    let weighted: Vec<ShardSpec<'_>> = names.iter().map(|n| ShardSpec::weighted(n, five)).collect();
    let plain = Algorithm::Rendezvous.build(&specs(&names));
    let same = Algorithm::Rendezvous.build(&weighted);
    assert!(matches!(same, AnyPlacement::Rendezvous(_)));
    for key in keys(7, 2_000) {
        assert_eq!(plain.shard_for(&key), same.shard_for(&key));
    }
    // And a differing weight does switch to the weighted algorithm.
    let mut mixed = weighted.clone();
    mixed[3].weight = NonZeroU32::new(6);
    assert!(matches!(
        Algorithm::Rendezvous.build(&mixed),
        AnyPlacement::WeightedRendezvous(_)
    ));
}

/// The spread (smallest and largest share relative to 1/N) of the ring algorithms, printed,
/// with a loose bound that only catches a broken ring: groupcache with 100 points per shard is
/// known to be uneven, and that is its behaviour to reproduce, not to fix.
#[test]
fn ring_spreads_reported() {
    let keys_n = 100_000;
    for n in [3, 16, 32] {
        let names: Vec<String> = (0..n)
            .map(|i| format!("redis-{i}.cache.internal:6379"))
            .collect();
        for algorithm in [
            Algorithm::Rendezvous,
            Algorithm::go_redis_v7(),
            Algorithm::Ketama {
                key_hash: KetamaHash::Md5,
            },
        ] {
            let ring = algorithm.build(&specs(&names));
            let c = counts(&ring, n, 42, keys_n);
            let want = (keys_n / n) as f64;
            let min = *c.iter().min().unwrap() as f64 / want;
            let max = *c.iter().max().unwrap() as f64 / want;
            println!("{algorithm:?} n={n}: shares from {min:.3} to {max:.3} of 1/N");
            assert!(min > 0.5 && max < 1.6, "{algorithm:?} n={n}: {c:?}");
        }
    }
}

#[test]
fn names_are_hashed_as_bytes_not_text() {
    // Non-UTF-8 names and keys are fine, and equal bytes from &str and &[u8] agree.
    let raw: [&[u8]; 3] = [b"\xff\xfe", b"shard2", b"\x00"];
    let specs: Vec<ShardSpec<'_>> = raw.iter().map(|n| ShardSpec::from(*n)).collect();
    let ring = Algorithm::Rendezvous.build(&specs);
    let kh = xxh64_seed0(b"\x80key");
    let expected = (0..3)
        .max_by_key(|&i| {
            (
                redis_ring_core::placement::mix64(kh ^ xxh64_seed0(raw[i])),
                usize::MAX - i,
            )
        })
        .unwrap();
    assert_eq!(ring.shard_for(b"\x80key"), Some(expected));
}
