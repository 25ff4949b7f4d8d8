//! Which shard owns a key.
//!
//! PLACEHOLDER API (the placement issue replaces the bodies).

/// Index of a live shard in the slice of names a [`Placement`] was built from.
pub type ShardId = usize;

/// A key-to-shard mapping built from the live shards' names.
pub trait Placement {
    /// The shard that owns `key` (hash tags applied), or `None` when there is no shard.
    fn shard_for(&self, key: &[u8]) -> Option<ShardId>;
}

/// The part of `key` that is hashed (go-redis hash-tag rules).
pub fn hash_tag(key: &[u8]) -> &[u8] {
    key
}
