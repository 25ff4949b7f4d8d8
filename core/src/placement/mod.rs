//! Which shard owns a key.
//!
//! A placement is built from the *live* shards (their names, in configuration order, and
//! optional weights) and answers [`Placement::shard_for`] with a [`ShardId`]: the index of the
//! owning shard in the slice it was built from. The client rebuilds its placement from its
//! [`Algorithm`] on every live-set change (see "Rebuild cost" below); lookups never allocate.
//!
//! Every algorithm here is deterministic across processes, platforms and Rust versions: the
//! hashes are fixed (XXH64 with seed 0, CRC-32/IEEE, MD5), never `DefaultHasher` or random
//! keys, so a Rust service and a Go service agree on every key.
//!
//! * [`Rendezvous`] (the default): byte-for-byte the go-redis v9 `Ring` default
//!   (`dgryski/go-rendezvous` over `cespare/xxhash`).
//! * [`WeightedRendezvous`]: rendezvous with per-shard weights (chosen automatically by
//!   [`Algorithm::build`] when the weights differ; equal weights keep plain rendezvous).
//! * [`ConsistentHash`]: byte-for-byte groupcache `consistenthash.New(replicas,
//!   crc32.ChecksumIEEE)`, the go-redis v7 default.
//! * [`Ketama`]: twemproxy / libketama continuum (MD5 points, 160 per server).
//!
//! Hash tags ([`HashTag`]): go-redis `{}` by default, so `user:{42}:name` and
//! `user:{42}:mail` land on the same shard; any two-character pair (twemproxy's pool
//! `hash_tag:`) or none, through [`Algorithm::build_tagged`] / `Config::hash_tag`.
//!
//! # Rebuild cost
//!
//! Building is the only time a placement allocates; the client does it on every live-set
//! change (a shard going down or up, `set_shards`), never per command.
//!
//! | algorithm | build | memory | lookup |
//! |---|---|---|---|
//! | rendezvous | n XXH64 of the names | 8 B per shard | 1 XXH64 + per shard: xor, multiply, select |
//! | weighted rendezvous | n XXH64 | 16 B per shard | 1 XXH64 + per shard: mix, bound, sometimes a `ln` |
//! | consistent hash | n·r CRC-32, a sort, a bucket index | 12 to 16 B per point (n·r points) | 1 CRC-32 + 2 reads + ~1 compare |
//! | ketama | 40·n MD5, a sort, a bucket index | 12 to 16 B per point (160·n points) | 1 MD5 (or FNV) + 2 reads + ~1 compare |
//!
//! Measured (`taskset -c 1 cargo bench -p redis-ring-core --bench placement`): a rendezvous
//! build takes about 0.05 µs at 3 shards and 0.6 µs at 64; consistent hash (100 replicas)
//! about 15 µs and 300 µs; ketama about 30 µs and 750 µs. Lookup figures are in
//! `core/benches/placement.rs`.
//!
//! # Example
//! ```
//! use redis_ring_core::placement::{Algorithm, Placement, ShardSpec};
//!
//! let shards = [ShardSpec::new("shard1"), ShardSpec::new("shard2"), ShardSpec::new("shard3")];
//! let placement = Algorithm::default().build(&shards);
//! // Same answer as go-redis v9's Ring with the same shard names.
//! assert_eq!(placement.shard_for(b"foo"), Some(0));
//! assert_eq!(placement.shard_for(b"bar"), Some(1));
//! // Hash tags: only `user42` is hashed.
//! assert_eq!(
//!     placement.shard_for(b"{user42}:a"),
//!     placement.shard_for(b"{user42}:b"),
//! );
//! ```

mod algorithm;
mod consistent_hash;
mod continuum;
mod hash;
mod hash_tag;
mod ketama;
mod md5;
mod rendezvous;
mod weighted;

use core::num::NonZeroU32;

pub use algorithm::{Algorithm, AnyPlacement, ParseAlgorithmError};
pub use consistent_hash::ConsistentHash;
pub use hash::{crc32_ieee, mix64, xxh64_seed0};
pub use hash_tag::{hash_tag, HashTag, ParseHashTagError};
pub use ketama::{Ketama, KetamaHash};
pub use md5::md5;
pub use rendezvous::Rendezvous;
pub use weighted::WeightedRendezvous;

/// Index of a live shard in the slice of [`ShardSpec`]s a placement was built from.
pub type ShardId = usize;

/// A key-to-shard mapping built from the live shards.
///
/// Implementations are immutable once built: a change of the live set means building a new
/// one (see the module docs for the cost). Lookups never allocate.
pub trait Placement {
    /// The shard that owns `key` (hash tags applied), or `None` when there is no shard.
    fn shard_for(&self, key: &[u8]) -> Option<ShardId>;

    /// The number of shards this placement was built from.
    fn len(&self) -> usize;

    /// `true` when built from no shard (every lookup answers `None`).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One live shard as a placement sees it: its name (the bytes that are hashed, e.g. the
/// go-redis `Addrs` map key) and an optional weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShardSpec<'a> {
    /// The shard's name, hashed as raw bytes.
    pub name: &'a [u8],
    /// Relative weight; `None` means 1. When every shard has the same weight, placement is
    /// exactly the unweighted algorithm (go-redis compatible).
    pub weight: Option<NonZeroU32>,
}

impl<'a> ShardSpec<'a> {
    /// An unweighted shard.
    pub fn new(name: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        ShardSpec {
            name: name.as_ref(),
            weight: None,
        }
    }

    /// A shard with a relative weight (2 gets about twice the keys of 1).
    pub fn weighted(name: &'a (impl AsRef<[u8]> + ?Sized), weight: NonZeroU32) -> Self {
        ShardSpec {
            name: name.as_ref(),
            weight: Some(weight),
        }
    }

    /// The weight, `None` counted as 1.
    pub fn weight_or_one(&self) -> u32 {
        self.weight.map_or(1, NonZeroU32::get)
    }
}

impl<'a> From<&'a str> for ShardSpec<'a> {
    fn from(name: &'a str) -> Self {
        ShardSpec::new(name)
    }
}

impl<'a> From<&'a [u8]> for ShardSpec<'a> {
    fn from(name: &'a [u8]) -> Self {
        ShardSpec::new(name)
    }
}
