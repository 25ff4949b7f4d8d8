//! Weighted rendezvous hashing.

use alloc::vec::Vec;

use super::hash::{mix64, xxh64_seed0};
use super::hash_tag::HashTag;
use super::{Placement, ShardId, ShardSpec};

/// Rendezvous with per-shard weights (Schindelhauer & Schomaker's logarithmic method): with
/// `u` in (0, 1) from the top 52 bits of the go-redis score `mix64(key_hash ^ node_hash)`, shard i scores `w_i / -ln(u_i)` and the highest wins (ties to the earliest; computed as
/// the lowest `-ln(u_i) * (1 / w_i)`).
/// A shard then owns a share `w_i / Σw` of the keys, and adding or removing a shard moves only
/// the keys that go to or come from it.
///
/// [`Algorithm::build`](super::Algorithm::build) uses plain [`Rendezvous`](super::Rendezvous)
/// when all weights are equal, so unweighted placement stays go-redis compatible; this type
/// is only for weights that differ (and is not go-redis compatible: go-redis has no weights).
///
/// `ln` is computed here from `+ - * /` only (IEEE-754 correctly rounded, no fused
/// multiply-add): the platform's `ln` may differ in the last bit between libms, and placement
/// must not.
///
/// Build: one XXH64 per name. Lookup: one XXH64 of the key, then per shard a mix and a `ln`
/// (one division and about thirty multiplications and additions); no allocation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WeightedRendezvous {
    /// XXH64 of each shard name, in configuration order.
    node_hashes: Vec<u64>,
    /// `1 / weight` of each shard.
    inverse_weights: Vec<f64>,
    /// Which part of a key is hashed.
    tag: HashTag,
}

impl WeightedRendezvous {
    /// The same placement hashing keys through `tag` (default: go-redis `{}`).
    #[must_use]
    pub fn with_hash_tag(mut self, tag: HashTag) -> Self {
        self.tag = tag;
        self
    }

    /// Builds from the live shards, in configuration order (`None` weights count as 1).
    pub fn new(shards: &[ShardSpec<'_>]) -> Self {
        WeightedRendezvous {
            node_hashes: shards.iter().map(|s| xxh64_seed0(s.name)).collect(),
            inverse_weights: shards
                .iter()
                .map(|s| 1.0 / f64::from(s.weight_or_one()))
                .collect(),
            tag: HashTag::GO_REDIS,
        }
    }
}

impl Placement for WeightedRendezvous {
    fn shard_for(&self, key: &[u8]) -> Option<ShardId> {
        let key_hash = xxh64_seed0(self.tag.apply(key));
        // Highest w / -ln(u) = lowest -ln(u) / w = lowest -ln(u) * (1 / w): no division.
        let mut best = f64::INFINITY;
        let mut best_i = None;
        for (i, (&node, &inverse)) in self
            .node_hashes
            .iter()
            .zip(&self.inverse_weights)
            .enumerate()
        {
            let u = unit(mix64(key_hash ^ node));
            // -ln(u) >= 1 - u, so a shard whose lower bound already loses cannot win: skip its
            // ln (most shards, once a good one is found). The margin, far above ln's 1e-15
            // relative error, makes the skip never change the answer (tested below).
            if (1.0 - u) * inverse * PRUNE_MARGIN >= best {
                continue;
            }
            let cost = -ln_positive(u) * inverse;
            if cost < best {
                best = cost;
                best_i = Some(i);
            }
        }
        best_i
    }

    fn len(&self) -> usize {
        self.node_hashes.len()
    }
}

/// Slack on the `1 - u` lower bound of `-ln(u)` before a shard is skipped.
const PRUNE_MARGIN: f64 = 1.0 - 1e-9;

/// `u = ((x >> 12) + 1/2) / 2^52`, strictly inside (0, 1).
fn unit(x: u64) -> f64 {
    // 2 * (x >> 12) + 1 is an odd integer of at most 53 bits: exact in f64, and so is the
    // power-of-two scaling. Taking ln of u itself (not ln of the integer minus 53 ln 2) keeps
    // full relative precision for u close to 1.
    let odd = ((x >> 12) << 1 | 1) as f64;
    odd * (1.0 / 9_007_199_254_740_992.0)
}

/// `ln(unit(x))`: finite and negative.
#[cfg(test)]
fn ln_unit(x: u64) -> f64 {
    ln_positive(unit(x))
}

/// `1 / (2k + 1)` for k = 12 down to 0: the series of `atanh(s) / s` in `s^2`, Horner order.
const ATANH_COEFFICIENTS: [f64; 13] = [
    1.0 / 25.0,
    1.0 / 23.0,
    1.0 / 21.0,
    1.0 / 19.0,
    1.0 / 17.0,
    1.0 / 15.0,
    1.0 / 13.0,
    1.0 / 11.0,
    1.0 / 9.0,
    1.0 / 7.0,
    1.0 / 5.0,
    1.0 / 3.0,
    1.0,
];

/// Natural log of a normal, positive, finite `x`: `x = m * 2^e` with `m` in `[sqrt(1/2),
/// sqrt(2))`, `ln m = 2 atanh(s)` with `s = (m - 1) / (m + 1)`, `|s| < 0.172`, by its series
/// (terms up to `s^25` bring the error below 1e-17 relative).
fn ln_positive(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > core::f64::consts::SQRT_2 {
        m /= 2.0;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut sum = 0.0;
    for c in ATANH_COEFFICIENTS {
        sum = sum * s2 + c;
    }
    2.0 * s * sum + e as f64 * core::f64::consts::LN_2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_is_accurate() {
        // Against known values (exact to the digits given).
        let cases = [
            (1.0, 0.0),
            (2.0, core::f64::consts::LN_2),
            (10.0, core::f64::consts::LN_10),
            (core::f64::consts::E, 1.0),
            (0.5, -core::f64::consts::LN_2),
            (1e-300, -690.775_527_898_213_7),
            (123_456_789.0, 18.631_401_766_168_02),
        ];
        for (x, want) in cases {
            let got = ln_positive(x);
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want.abs().max(1.0),
                "ln({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn pruning_never_changes_the_answer() {
        let mut seed = 0xfeed_beef_u64;
        let mut next = move || {
            seed = mix64(seed.wrapping_add(0x9E37_79B9_7F4A_7C15));
            seed
        };
        for n in [2usize, 3, 7, 32, 100] {
            let node_hashes: Vec<u64> = (0..n).map(|_| next()).collect();
            let inverse_weights: Vec<f64> = (0..n)
                .map(|_| 1.0 / f64::from(1 + (next() % 10) as u32))
                .collect();
            let ring = WeightedRendezvous {
                node_hashes: node_hashes.clone(),
                inverse_weights: inverse_weights.clone(),
                tag: HashTag::GO_REDIS,
            };
            for k in 0..2_000u32 {
                let key = k.to_le_bytes();
                let key_hash = xxh64_seed0(&key);
                let mut best = f64::INFINITY;
                let mut want = None;
                for i in 0..n {
                    let cost = -ln_unit(mix64(key_hash ^ node_hashes[i])) * inverse_weights[i];
                    if cost < best {
                        best = cost;
                        want = Some(i);
                    }
                }
                assert_eq!(ring.shard_for(&key), want, "n {n} key {k}");
            }
        }
    }

    #[test]
    fn unit_interval_is_open() {
        assert!(ln_unit(0) < 0.0 && ln_unit(0).is_finite());
        assert!(ln_unit(u64::MAX) < 0.0);
        assert!(ln_unit(u64::MAX) > -1e-15);
    }

    #[test]
    fn ln_is_monotone_over_the_scores() {
        let mut prev = f64::NEG_INFINITY;
        for top in (0..=(1u64 << 20)).step_by(97) {
            let v = ln_unit(top << 44);
            assert!(v >= prev, "not monotone at {top}");
            prev = v;
        }
    }
}
