//! go-redis v9's default placement: rendezvous (highest random weight) hashing.

use alloc::vec::Vec;

use super::hash::{mix64, xxh64_seed0};
use super::hash_tag::hash_tag;
use super::{Placement, ShardId};

/// Rendezvous hashing, byte-for-byte go-redis v9 (`dgryski/go-rendezvous` with
/// `xxhash.Sum64`): node hash = XXH64(name, seed 0), key hash = XXH64(hash-tagged key, seed 0),
/// score = [`mix64`]`(key_hash ^ node_hash)`; the highest score wins, ties (only possible
/// between equal names) go to the earliest shard.
///
/// Removing a shard moves only that shard's keys; adding one moves keys only onto it.
/// Build: one XXH64 per name, 8 bytes per shard. Lookup: one XXH64 of the key, then a
/// branch-free mix-and-max over the precomputed node hashes; no allocation.
///
/// ```
/// use redis_ring_core::placement::{Placement, Rendezvous};
///
/// let ring = Rendezvous::new(["shard1", "shard2", "shard3"]);
/// assert_eq!(ring.shard_for(b"baz"), Some(2));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendezvous {
    /// XXH64 of each shard name, in configuration order.
    node_hashes: Vec<u64>,
}

impl Rendezvous {
    /// Builds from the live shard names, in configuration order.
    pub fn new<N: AsRef<[u8]>>(names: impl IntoIterator<Item = N>) -> Self {
        Rendezvous {
            node_hashes: names.into_iter().map(|n| xxh64_seed0(n.as_ref())).collect(),
        }
    }

    /// The winning shard for an already computed key hash (XXH64 of the hash-tagged key).
    #[inline]
    pub fn shard_for_hash(&self, key_hash: u64) -> Option<ShardId> {
        if self.node_hashes.is_empty() {
            None
        } else {
            Some(argmax(key_hash, &self.node_hashes))
        }
    }
}

impl Placement for Rendezvous {
    #[inline]
    fn shard_for(&self, key: &[u8]) -> Option<ShardId> {
        if self.node_hashes.is_empty() {
            return None;
        }
        Some(argmax(xxh64_seed0(hash_tag(key)), &self.node_hashes))
    }

    fn len(&self) -> usize {
        self.node_hashes.len()
    }
}

/// Lanes of the max: independent running maxima so consecutive nodes do not wait on each
/// other's compare (the loop-carried dependency is what bounds a single-lane max).
const LANES: usize = 4;

/// Index of the node with the highest `mix64(key ^ node)`, the earliest on ties.
/// `nodes` must not be empty.
#[inline]
fn argmax(key: u64, nodes: &[u64]) -> usize {
    if nodes.len() < 2 * LANES {
        return argmax_scalar(key, nodes);
    }
    // Each lane starts at its first node and then sees nodes LANES apart, in increasing index
    // order, so strict `>` keeps its earliest on ties; the merge below breaks cross-lane ties
    // by index.
    let mut best = [0u64; LANES];
    let mut best_i = [0usize; LANES];
    let (head, tail) = nodes.split_at(LANES);
    for lane in 0..LANES {
        best[lane] = mix64(key ^ head[lane]);
        best_i[lane] = lane;
    }
    let mut chunks = tail.chunks_exact(LANES);
    let mut base = LANES;
    for chunk in &mut chunks {
        for lane in 0..LANES {
            let score = mix64(key ^ chunk[lane]);
            let better = score > best[lane];
            best[lane] = if better { score } else { best[lane] };
            best_i[lane] = if better { base + lane } else { best_i[lane] };
        }
        base += LANES;
    }
    for (lane, &node) in chunks.remainder().iter().enumerate() {
        let score = mix64(key ^ node);
        let better = score > best[lane];
        best[lane] = if better { score } else { best[lane] };
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
    let mut best = mix64(key ^ nodes[0]);
    let mut best_i = 0;
    for (i, &node) in nodes.iter().enumerate().skip(1) {
        let score = mix64(key ^ node);
        let better = score > best;
        best = if better { score } else { best };
        best_i = if better { i } else { best_i };
    }
    best_i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_agree_with_the_scalar_loop() {
        // Every length around the lane thresholds, with duplicated hashes to force ties.
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            seed = mix64(seed.wrapping_add(0x9E37_79B9_7F4A_7C15));
            seed
        };
        for len in 1..70 {
            for _ in 0..200 {
                let mut nodes: Vec<u64> = (0..len).map(|_| next()).collect();
                if len > 2 && next() % 2 == 0 {
                    let (a, b) = ((next() as usize) % len, (next() as usize) % len);
                    nodes[a] = nodes[b];
                }
                let key = if next() % 4 == 0 {
                    nodes[(next() as usize) % len]
                } else {
                    next()
                };
                assert_eq!(argmax(key, &nodes), argmax_scalar(key, &nodes), "{nodes:?}");
            }
        }
    }
}
