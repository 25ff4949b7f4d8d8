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
pub const fn mix64(x: u64) -> u64 {
    xorshift(x).wrapping_mul(MIX_MULTIPLIER)
}

/// The multiplier of [`mix64`].
pub(crate) const MIX_MULTIPLIER: u64 = 0x2545_F491_4F6C_DD1D;

/// The xorshift part of [`mix64`]. It is linear over GF(2): `xorshift(a ^ b) == xorshift(a) ^
/// xorshift(b)`, because each step (`x ^= x >> s`, `x ^= x << s`) is. So
/// `mix64(key ^ node) == (xorshift(key) ^ xorshift(node)) * MIX_MULTIPLIER`: rendezvous
/// precomputes `xorshift(node)` once per build and `xorshift(key)` once per lookup, and its
/// per-node loop is an xor, a multiply and a compare.
#[inline(always)]
pub(crate) const fn xorshift(mut x: u64) -> u64 {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    x
}

/// The decimal digits of `i` (Go's `strconv.Itoa`, C's `%u`) written into `buf`: point labels
/// of the consistent hash and of Ketama, without allocating.
pub(crate) fn decimal(mut i: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (i % 10) as u8;
        i /= 10;
        if i == 0 {
            return &buf[at..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift_is_linear_so_mix64_splits() {
        let mut a = 0x0123_4567_89ab_cdefu64;
        for _ in 0..10_000 {
            let b = mix64(a).rotate_left(17) ^ 0x5555;
            assert_eq!(xorshift(a ^ b), xorshift(a) ^ xorshift(b));
            assert_eq!(
                mix64(a ^ b),
                (xorshift(a) ^ xorshift(b)).wrapping_mul(MIX_MULTIPLIER)
            );
            a = mix64(a.wrapping_add(1));
        }
        for bit in 0..64 {
            let x = 1u64 << bit;
            assert_eq!(
                mix64(x ^ u64::MAX),
                (xorshift(x) ^ xorshift(u64::MAX)).wrapping_mul(MIX_MULTIPLIER)
            );
        }
    }
}
