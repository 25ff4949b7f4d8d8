//! A ring of `u32` points with owners: the lookup structure shared by [`ConsistentHash`] and
//! [`Ketama`].
//!
//! [`ConsistentHash`]: super::ConsistentHash
//! [`Ketama`]: super::Ketama

use alloc::vec::Vec;

use super::ShardId;

/// Largest bucket index, in bits: 2^16 buckets (256 KiB) at most, reached at 32k+ points.
const MAX_BUCKET_BITS: u32 = 16;

/// Sorted distinct points, their owners, and a bucket index over the points' top bits so a
/// lookup is two memory reads and a search of about one point, instead of a binary search of
/// log2(points) dependent reads (100 points per shard at 256 shards: 15 reads into 100 KiB).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Continuum {
    /// Sorted, distinct.
    points: Vec<u32>,
    /// `owners[j]` owns `points[j]`.
    owners: Vec<u32>,
    /// `buckets[b]` = first `j` with `points[j] >> (32 - bits) >= b`; one extra entry at the
    /// end holds `points.len()`.
    buckets: Vec<u32>,
    /// Bucket index width; 0 with no points.
    bits: u32,
}

impl Continuum {
    /// From `(point, owner)` pairs sorted by point, with no two equal points.
    pub(crate) fn from_sorted(ring: Vec<(u32, u32)>) -> Self {
        debug_assert!(ring.windows(2).all(|w| w[0].0 < w[1].0));
        let (points, owners): (Vec<u32>, Vec<u32>) = ring.into_iter().unzip();
        if points.is_empty() {
            return Continuum::default();
        }
        // About one point per bucket.
        let bits = (usize::BITS - (points.len() - 1).leading_zeros()).clamp(1, MAX_BUCKET_BITS);
        let mut buckets = Vec::with_capacity((1 << bits) + 1);
        let mut j = 0;
        for bucket in 0..(1u32 << bits) {
            while j < points.len() && points[j] >> (32 - bits) < bucket {
                j += 1;
            }
            buckets.push(j as u32);
        }
        buckets.push(points.len() as u32);
        Continuum {
            points,
            owners,
            buckets,
            bits,
        }
    }

    /// The owner of the first point `>= hash`, wrapping to the first point; `None` when empty.
    #[inline]
    pub(crate) fn owner_of(&self, hash: u32) -> Option<ShardId> {
        if self.points.is_empty() {
            return None;
        }
        let bucket = (hash >> (32 - self.bits)) as usize;
        let lo = self.buckets[bucket] as usize;
        let hi = self.buckets[bucket + 1] as usize;
        // Every point of later buckets is > hash, so the answer is in lo..=hi.
        let j = lo + self.points[lo..hi].partition_point(|&p| p < hash);
        let j = if j == self.points.len() { 0 } else { j };
        Some(self.owners[j] as ShardId)
    }

    /// Number of points.
    pub(crate) fn len(&self) -> usize {
        self.points.len()
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    fn naive(ring: &[(u32, u32)], hash: u32) -> Option<ShardId> {
        let first = ring.first()?;
        Some(ring.iter().find(|p| p.0 >= hash).unwrap_or(first).1 as ShardId)
    }

    #[test]
    fn agrees_with_a_linear_scan() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in [0usize, 1, 2, 3, 5, 64, 300, 1000] {
            let mut ring: Vec<(u32, u32)> = (0..n)
                .map(|i| {
                    // Cluster some points at the ends and in one bucket.
                    let p = match i % 7 {
                        0 => (next() % 16) as u32,
                        1 => u32::MAX - (next() % 16) as u32,
                        2 => 0x8000_0000 + (next() % 64) as u32,
                        _ => next() as u32,
                    };
                    (p, i as u32)
                })
                .collect();
            ring.sort_unstable();
            ring.dedup_by_key(|p| p.0);
            let c = Continuum::from_sorted(ring.clone());
            let mut probes: Vec<u32> = vec![0, 1, u32::MAX, u32::MAX - 1, 0x8000_0000];
            probes.extend(
                ring.iter()
                    .flat_map(|p| [p.0, p.0.wrapping_add(1), p.0.wrapping_sub(1)]),
            );
            probes.extend((0..2000).map(|_| next() as u32));
            for h in probes {
                assert_eq!(c.owner_of(h), naive(&ring, h), "n {n} hash {h:#x}");
            }
        }
    }
}
