//! groupcache `consistenthash` with CRC-32/IEEE: go-redis v7's placement.

use alloc::vec::Vec;

use super::continuum::Continuum;
use super::hash::{crc32_ieee, decimal, CRC32};
use super::hash_tag::HashTag;
use super::{Placement, ShardId, ShardSpec};

/// A ring of points, byte-for-byte groupcache `consistenthash.New(replicas,
/// crc32.ChecksumIEEE)` after `Add(names...)` in configuration order: for each name and each
/// `i` in `0..replicas`, a point `crc32(decimal(i) ++ name)`; a key goes to the first point
/// `>= crc32(hash-tagged key)`, wrapping to the first point; when two points are equal the
/// shard added later owns it (groupcache's `hashMap[hash] = key` overwrite).
///
/// Weights (not in groupcache): a shard of weight w gets `replicas * w` points (`i` in
/// `0..replicas*w`), so weight 1 everywhere is exactly groupcache.
///
/// Build: `n * replicas` CRC-32 and a sort; 8 bytes per point (go-redis v7: 100 points per
/// shard) plus a bucket index of 4 to 8 bytes per point. Lookup: one CRC-32 of the key, then a
/// bucket lookup and a search of about one point; no allocation.
///
/// Groupcache compares `int(crc)`; on 32-bit Go platforms that value can be negative and the
/// order differs. We follow 64-bit Go (every server platform Go ships for today).
///
/// ```
/// use redis_ring_core::placement::{ConsistentHash, Placement, ShardSpec};
///
/// let shards = ["shard1", "shard2", "shard3"].map(ShardSpec::from);
/// let ring = ConsistentHash::new(100, &shards);
/// assert_eq!(ring.shard_for(b"bar"), Some(2));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsistentHash {
    /// The points and their owners.
    ring: Continuum,
    /// Number of shards built from.
    shards: usize,
    /// Which part of a key is hashed.
    tag: HashTag,
}

impl ConsistentHash {
    /// The same placement hashing keys through `tag` (default: go-redis `{}`).
    #[must_use]
    pub fn with_hash_tag(mut self, tag: HashTag) -> Self {
        self.tag = tag;
        self
    }

    /// Builds the ring for `shards` (configuration order) with `replicas` points per unit of
    /// weight (0 counts as 1).
    pub fn new(replicas: usize, shards: &[ShardSpec<'_>]) -> Self {
        let replicas = replicas.max(1);
        let total: usize = shards
            .iter()
            .map(|s| replicas.saturating_mul(s.weight_or_one() as usize))
            .fold(0, usize::saturating_add);
        let mut ring: Vec<(u32, u32)> = Vec::with_capacity(total);
        for (owner, shard) in shards.iter().enumerate() {
            let owner = owner as u32;
            let count = replicas.saturating_mul(shard.weight_or_one() as usize);
            for i in 0..count {
                let mut digits = [0u8; 20];
                let mut digest = CRC32.digest();
                digest.update(decimal(i as u64, &mut digits));
                digest.update(shard.name);
                ring.push((digest.finalize(), owner));
            }
        }
        // Sort by point, then owner: among equal points the last is the latest added, which
        // is the owner groupcache's map ends up with.
        ring.sort_unstable();
        // Keep the last of each run of equal points: reverse, keep the first, reverse back.
        ring.reverse();
        ring.dedup_by_key(|&mut (point, _)| point);
        ring.reverse();
        ConsistentHash {
            ring: Continuum::from_sorted(ring),
            shards: shards.len(),
            tag: HashTag::GO_REDIS,
        }
    }

    /// The owner of an already computed key hash (CRC-32 of the hash-tagged key).
    #[inline]
    pub fn shard_for_hash(&self, key_hash: u32) -> Option<ShardId> {
        self.ring.owner_of(key_hash)
    }

    /// The number of distinct points on the ring.
    pub fn points(&self) -> usize {
        self.ring.len()
    }
}

impl Placement for ConsistentHash {
    #[inline]
    fn shard_for(&self, key: &[u8]) -> Option<ShardId> {
        self.shard_for_hash(crc32_ieee(self.tag.apply(key)))
    }

    fn len(&self) -> usize {
        self.shards
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_is_itoa() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(7, &mut buf), b"7");
        assert_eq!(decimal(99, &mut buf), b"99");
        assert_eq!(decimal(100, &mut buf), b"100");
        assert_eq!(decimal(1_234_567_890, &mut buf), b"1234567890");
    }

    #[test]
    fn equal_points_belong_to_the_later_shard() {
        // The same name twice: every point collides; groupcache gives it to the later one.
        let ring = ConsistentHash::new(10, &["a", "b", "a"].map(ShardSpec::from));
        assert_eq!(ring.points(), 20);
        for key in [&b"x"[..], b"y", b"z", b"foo", b"bar"] {
            assert_ne!(ring.shard_for(key), Some(0));
        }
    }
}
