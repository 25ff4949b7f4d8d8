//! The fixed hash functions placements are defined on. Fixed means: same bytes in, same
//! number out, on every platform and in every process (go-redis and groupcache use the same).

use crc::{Crc, Table, CRC_32_ISO_HDLC};

/// CRC-32/IEEE (Go's `crc32.ChecksumIEEE`), slice-by-16 tables (16 KiB, built at compile time).
pub(crate) const CRC32: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);

/// XXH64 with seed 0: go-redis v9's `xxhash.Sum64` (cespare/xxhash).
///
/// ```
/// assert_eq!(redis_ring_core::placement::xxh64_seed0(b"foo"), 0x33bf00a859c4ba3f);
/// ```
#[inline]
pub fn xxh64_seed0(bytes: &[u8]) -> u64 {
    twox_hash::XxHash64::oneshot(0, bytes)
}

/// CRC-32/IEEE (ISO-HDLC), Go's `crc32.ChecksumIEEE`: groupcache's default hash.
///
/// ```
/// assert_eq!(redis_ring_core::placement::crc32_ieee(b"123456789"), 0xcbf43926);
/// ```
#[inline]
pub fn crc32_ieee(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// go-rendezvous's `xorshiftMult64`: the score of a (key, node) pair is
/// `mix64(key_hash ^ node_hash)`. A bijection on `u64` (xorshifts and an odd multiplier),
/// so distinct node hashes never tie for one key.
///
/// ```
/// assert_eq!(redis_ring_core::placement::mix64(0), 0);
/// ```
#[inline(always)]
pub const fn mix64(mut x: u64) -> u64 {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}
