//! go-redis v9's default placement: rendezvous (highest random weight) hashing.

use alloc::vec::Vec;

use super::hash::{xorshift, xxh64_seed0, MIX_MULTIPLIER};
use super::hash_tag::HashTag;
use super::{Placement, ShardId};

/// Rendezvous hashing, byte-for-byte go-redis v9 (`dgryski/go-rendezvous` with
/// `xxhash.Sum64`): node hash = XXH64(name, seed 0), key hash = XXH64(hash-tagged key, seed 0),
/// score = [`mix64`](super::mix64)`(key_hash ^ node_hash)`; the highest score wins, ties (only
/// possible between equal names, `mix64` being a bijection) go to the earliest shard.
///
/// Removing a shard moves only that shard's keys; adding one moves keys only onto it.
///
/// Build: one XXH64 per name, 8 bytes per shard. Lookup: one XXH64 of the key, then per node
/// an xor, a multiply and a branch-free compare-and-select (the xorshift half of `mix64` is
/// linear, so it is applied to the node hashes at build time and to the key hash once); no
/// allocation.
///
/// ```
/// use redis_ring_core::placement::{Placement, Rendezvous};
///
/// let ring = Rendezvous::new(["shard1", "shard2", "shard3"]);
/// assert_eq!(ring.shard_for(b"baz"), Some(2));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendezvous {
    /// `xorshift(XXH64(name))` of each shard, in configuration order.
    nodes: Vec<u64>,
    /// Which part of a key is hashed.
    tag: HashTag,
}

impl Rendezvous {
    /// The same placement hashing keys through `tag` (default: go-redis `{}`).
    #[must_use]
    pub fn with_hash_tag(mut self, tag: HashTag) -> Self {
        self.tag = tag;
        self
    }

    /// Builds from the live shard names, in configuration order.
    pub fn new<N: AsRef<[u8]>>(names: impl IntoIterator<Item = N>) -> Self {
        Rendezvous {
            nodes: names
                .into_iter()
                .map(|n| xorshift(xxh64_seed0(n.as_ref())))
                .collect(),
            tag: HashTag::GO_REDIS,
        }
    }

    /// The winning shard for an already computed key hash (XXH64 of the hash-tagged key).
    #[inline]
    pub fn shard_for_hash(&self, key_hash: u64) -> Option<ShardId> {
        if self.nodes.is_empty() {
            None
        } else {
            Some(argmax(xorshift(key_hash), &self.nodes))
        }
    }
}

impl Placement for Rendezvous {
    #[inline]
    fn shard_for(&self, key: &[u8]) -> Option<ShardId> {
        if self.nodes.is_empty() {
            return None;
        }
        Some(argmax(
            xorshift(xxh64_seed0(self.tag.apply(key))),
            &self.nodes,
        ))
    }

    fn len(&self) -> usize {
        self.nodes.len()
    }
}

/// The score of a node: `mix64(key_hash ^ node_hash)`, from both halves pre-xorshifted.
#[inline(always)]
fn score(key: u64, node: u64) -> u64 {
    (key ^ node).wrapping_mul(MIX_MULTIPLIER)
}

/// Lanes of the max: independent running maxima, so consecutive nodes do not wait on each
/// other's compare-and-select (the loop-carried dependency that bounds a single-lane max).
const LANES: usize = 4;

/// Index of the node with the highest score, the earliest on ties. `key` and `nodes` are
/// xorshifted; `nodes` must not be empty.
#[inline]
fn argmax(key: u64, nodes: &[u64]) -> usize {
    if nodes.len() < 2 * LANES {
        argmax_scalar(key, nodes)
    } else {
        argmax_lanes(key, nodes)
    }
}

/// [`argmax`] for `nodes.len() >= LANES`. Not inlined: away from the key hash's constants
/// every lane's running maximum and index stay in registers.
#[inline(never)]
fn argmax_lanes(key: u64, nodes: &[u64]) -> usize {
    // Each lane starts at its first node and then sees nodes LANES apart, in increasing index
    // order, so strict `>` keeps its earliest on ties; the merge breaks cross-lane ties by
    // index.
    let mut best = [0u64; LANES];
    let mut best_i = [0usize; LANES];
    let (head, tail) = nodes.split_at(LANES);
    for lane in 0..LANES {
        best[lane] = score(key, head[lane]);
        best_i[lane] = lane;
    }
    let mut chunks = tail.chunks_exact(LANES);
    let mut base = LANES;
    for chunk in &mut chunks {
        for lane in 0..LANES {
            let s = score(key, chunk[lane]);
            let better = s > best[lane];
            best[lane] = if better { s } else { best[lane] };
            best_i[lane] = if better { base + lane } else { best_i[lane] };
        }
        base += LANES;
    }
    for (lane, &node) in chunks.remainder().iter().enumerate() {
        let s = score(key, node);
        let better = s > best[lane];
        best[lane] = if better { s } else { best[lane] };
        best_i[lane] = if better { base + lane } else { best_i[lane] };
    }
    let (mut top, mut top_i) = (best[0], best_i[0]);
    for lane in 1..LANES {
        if best[lane] > top || (best[lane] == top && best_i[lane] < top_i) {
            top = best[lane];
            top_i = best_i[lane];
        }
    }
    top_i
}

/// go-rendezvous's own loop, for few nodes.
#[inline]
fn argmax_scalar(key: u64, nodes: &[u64]) -> usize {
    let mut best = score(key, nodes[0]);
    let mut best_i = 0;
    for (i, &node) in nodes.iter().enumerate().skip(1) {
        let s = score(key, node);
        let better = s > best;
        best = if better { s } else { best };
        best_i = if better { i } else { best_i };
    }
    best_i
}

#[cfg(test)]
mod tests {
    use super::super::hash::mix64;
    use super::*;

    /// go-rendezvous's `Lookup`, transcribed: the reference for the optimised loops.
    fn go_lookup(key_hash: u64, node_hashes: &[u64]) -> usize {
        let mut midx = 0;
        let mut mhash = mix64(key_hash ^ node_hashes[0]);
        for (i, &nhash) in node_hashes[1..].iter().enumerate() {
            let h = mix64(key_hash ^ nhash);
            if h > mhash {
                midx = i + 1;
                mhash = h;
            }
        }
        midx
    }

    #[test]
    fn optimised_loops_agree_with_go_rendezvous() {
        // Every length around the lane thresholds, with duplicated hashes to force ties.
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            seed = mix64(seed.wrapping_add(0x9E37_79B9_7F4A_7C15));
            seed
        };
        for len in 1..70 {
            for _ in 0..200 {
                let mut raw: Vec<u64> = (0..len).map(|_| next()).collect();
                if len > 2 && next() % 2 == 0 {
                    let (a, b) = ((next() as usize) % len, (next() as usize) % len);
                    raw[a] = raw[b];
                }
                let key = if next() % 4 == 0 {
                    raw[(next() as usize) % len]
                } else {
                    next()
                };
                let nodes: Vec<u64> = raw.iter().map(|&h| xorshift(h)).collect();
                let want = go_lookup(key, &raw);
                assert_eq!(argmax(xorshift(key), &nodes), want, "{raw:?}");
                assert_eq!(argmax_scalar(xorshift(key), &nodes), want, "{raw:?}");
            }
        }
    }
}
