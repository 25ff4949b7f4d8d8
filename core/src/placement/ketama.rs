//! twemproxy's (and libketama's) continuum.

use alloc::vec::Vec;

use super::continuum::Continuum;
use super::hash::decimal;
use super::hash_tag::HashTag;
use super::md5::md5;
use super::{Placement, ShardId, ShardSpec};

/// Points per server at equal weights, as twemproxy (`KETAMA_POINTS_PER_SERVER`).
const POINTS_PER_SERVER: u32 = 160;
/// Points taken from one MD5 digest (4 little-endian u32).
const POINTS_PER_HASH: u32 = 4;

/// Which hash places keys on a [`Ketama`] continuum (twemproxy's pool `hash:` setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KetamaHash {
    /// The first four bytes of MD5, little endian (twemproxy `hash: md5`, libketama).
    #[default]
    Md5,
    /// twemproxy's `fnv1a_64` (its default `hash:`), which is really FNV-1a on 32 bits with
    /// the 64-bit constants truncated, over bytes sign-extended as x86's signed `char`.
    Fnv1a64,
}

impl KetamaHash {
    /// The key hash.
    #[inline]
    pub fn hash(self, key: &[u8]) -> u32 {
        match self {
            KetamaHash::Md5 => {
                let d = md5(key);
                u32::from_le_bytes([d[0], d[1], d[2], d[3]])
            }
            KetamaHash::Fnv1a64 => {
                let mut hash = 0xcbf2_9ce4_8422_2325u64 as u32;
                for &b in key {
                    hash ^= b as i8 as i32 as u32;
                    hash = hash.wrapping_mul(0x0000_0100_0000_01b3u64 as u32);
                }
                hash
            }
        }
    }
}

/// The ketama continuum of twemproxy (`distribution: ketama`): for each shard, in
/// configuration order, `points = floor(weight/total * 160/4 * n + 1e-10) * 4` (computed in
/// `f32` like twemproxy: 160 per shard at equal weights, except for the shard counts where
/// twemproxy's rounding gives 156, e.g. 25, 47, 50), from the MD5 of the labels
/// `name-0`, `name-1`, ... (four little-endian `u32` points per digest); a key goes to the first
/// point `>=` its hash ([`KetamaHash`]), wrapping to the first point; between equal points the
/// earlier shard wins (the order a stable sort keeps, as glibc's `qsort` does in practice).
///
/// The name is what twemproxy hashes: the server's name from its config when given, else its
/// `host:port` (`host` alone for port 11211). twemproxy truncates labels at 85 bytes and then
/// hashes past the end of its buffer; names longer than 80 bytes are hashed in full here and so
/// are not twemproxy-compatible. Hash tags: go-redis `{}` by default; twemproxy's pool
/// `hash_tag:` (any pair, or none: twemproxy's default) with [`Ketama::with_hash_tag`]. As in
/// twemproxy's `server_pool_hash`, an empty key (after the tag) hashes to 0.
///
/// Build: 40 MD5 per shard and a sort, 8 bytes per point plus a bucket index. Lookup: one key
/// hash, a bucket lookup and a search of about one point; no allocation.
///
/// ```
/// use redis_ring_core::placement::{Ketama, KetamaHash, Placement, ShardSpec};
///
/// let shards = ["10.0.0.1:6379", "10.0.0.2:6379"].map(ShardSpec::from);
/// let ring = Ketama::new(&shards, KetamaHash::Md5);
/// assert!(ring.shard_for(b"some key").is_some());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ketama {
    /// The points and their owners.
    ring: Continuum,
    /// Number of shards built from.
    shards: usize,
    /// How keys are hashed.
    key_hash: KetamaHash,
    /// Which part of a key is hashed.
    tag: HashTag,
}

impl Ketama {
    /// The same placement hashing keys through `tag` (default: go-redis `{}`).
    #[must_use]
    pub fn with_hash_tag(mut self, tag: HashTag) -> Self {
        self.tag = tag;
        self
    }

    /// Builds the continuum for `shards` (configuration order).
    pub fn new(shards: &[ShardSpec<'_>], key_hash: KetamaHash) -> Self {
        let n = shards.len();
        let total_weight: u64 = shards.iter().map(|s| u64::from(s.weight_or_one())).sum();
        let mut ring: Vec<(u32, u32)> = Vec::with_capacity(n * POINTS_PER_SERVER as usize);
        let mut label = Vec::new();
        for (owner, shard) in shards.iter().enumerate() {
            let digests = points_for(shard.weight_or_one(), total_weight, n) / POINTS_PER_HASH;
            for i in 0..digests {
                label.clear();
                label.extend_from_slice(shard.name);
                label.push(b'-');
                let mut digits = [0u8; 20];
                label.extend_from_slice(decimal(u64::from(i), &mut digits));
                let d = md5(&label);
                for p in d.chunks_exact(4) {
                    ring.push((u32::from_le_bytes([p[0], p[1], p[2], p[3]]), owner as u32));
                }
            }
        }
        // Stable by construction: (point, owner) keeps the earliest owner first, and the
        // leftmost of equal points is the one a lookup lands on.
        ring.sort_unstable();
        ring.dedup_by_key(|&mut (point, _)| point);
        Ketama {
            ring: Continuum::from_sorted(ring),
            shards: n,
            key_hash,
            tag: HashTag::GO_REDIS,
        }
    }

    /// The owner of an already computed key hash.
    #[inline]
    pub fn shard_for_hash(&self, key_hash: u32) -> Option<ShardId> {
        self.ring.owner_of(key_hash)
    }

    /// The number of distinct points on the continuum.
    pub fn points(&self) -> usize {
        self.ring.len()
    }
}

impl Placement for Ketama {
    #[inline]
    fn shard_for(&self, key: &[u8]) -> Option<ShardId> {
        if self.ring.len() == 0 {
            return None;
        }
        let key = self.tag.apply(key);
        // twemproxy's `server_pool_hash`: an empty key hashes to 0, whatever the hash.
        let hash = if key.is_empty() {
            0
        } else {
            self.key_hash.hash(key)
        };
        self.shard_for_hash(hash)
    }

    fn len(&self) -> usize {
        self.shards
    }
}

/// twemproxy's `pointer_per_server`, with its `float` arithmetic: `pct` and the product are
/// `f32`, the `+ 0.0000000001` is a `double` literal, the floor is `floorf`.
fn points_for(weight: u32, total_weight: u64, live: usize) -> u32 {
    let pct = weight as f32 / total_weight as f32;
    let x = pct * POINTS_PER_SERVER as f32 / POINTS_PER_HASH as f32 * live as f32;
    let x = (f64::from(x) + 0.000_000_000_1) as f32;
    // `as` truncates toward zero: floor for this non-negative value.
    (x as u32) * POINTS_PER_HASH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_weights_get_twemproxys_point_counts() {
        // twemproxy's f32 formula rounds 40 down to 39.999998 for some server counts, which
        // then get 156 points each, not 160 (found by emulating its float arithmetic step by
        // step in Python's struct-packed binary32; reproduced faithfully here).
        let short = [25, 47, 50, 55, 61, 71, 94, 100];
        for n in 1..=100 {
            let want = if short.contains(&n) { 156 } else { 160 };
            assert_eq!(points_for(1, n as u64, n), want, "n = {n}");
        }
    }

    #[test]
    fn weights_scale_points() {
        // Two shards of weights 1 and 3: 25% and 75% of 320 points.
        assert_eq!(points_for(1, 4, 2), 80);
        assert_eq!(points_for(3, 4, 2), 240);
    }

    #[test]
    fn fnv1a64_is_twemproxys() {
        // FNV-1a 32-bit arithmetic with the truncated 64-bit offset basis 0x84222325 and
        // prime 0x1b3; the empty key hashes to the basis.
        assert_eq!(KetamaHash::Fnv1a64.hash(b""), 0x8422_2325);
        let a = (0x8422_2325u32 ^ u32::from(b'a')).wrapping_mul(0x1b3);
        assert_eq!(KetamaHash::Fnv1a64.hash(b"a"), a);
        // Bytes >= 0x80 are sign-extended (x86 `char`).
        let hi = (0x8422_2325u32 ^ 0xffff_ff80).wrapping_mul(0x1b3);
        assert_eq!(KetamaHash::Fnv1a64.hash(&[0x80]), hi);
    }
}
