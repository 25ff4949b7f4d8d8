//! go-redis hash tags (`internal/hashtag.Key`).

/// The part of `key` that is hashed, go-redis rules: when `key` holds a `{` followed later by
/// a `}` with at least one byte between them, the bytes between the first `{` and the first
/// `}` after it; otherwise the whole key.
///
/// ```
/// use redis_ring_core::placement::hash_tag;
/// assert_eq!(hash_tag(b"user:{42}:name"), b"42");
/// assert_eq!(hash_tag(b"x{b}{c}"), b"b");
/// assert_eq!(hash_tag(b"a{{b}}"), b"{b");
/// assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}"); // first tag empty: whole key
/// assert_eq!(hash_tag(b"plain"), b"plain");
/// ```
#[inline]
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = find_byte(key, b'{') {
        let rest = &key[open + 1..];
        if let Some(close) = find_byte(rest, b'}') {
            if close > 0 {
                return &rest[..close];
            }
        }
    }
    key
}

/// First index of `needle` in `hay`, eight bytes at a time (most keys hold no `{`, so the
/// whole key is scanned on every lookup: this keeps it a few nanoseconds).
#[inline]
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        // Classic "has a zero byte": the lowest set bit marks the first zero byte exactly
        // (false positives can only appear above a true zero byte).
        let zero = x.wrapping_sub(LO) & !x & HI;
        if zero != 0 {
            return Some(base + (zero.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|i| base + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_matches_naive_at_every_position() {
        for len in 0..40 {
            for pos in 0..=len {
                let mut hay = [b'a'; 40];
                // Bytes that trip naive SWAR variants (0x7a/0x7c around '{', 0x80 high bit).
                for (i, b) in hay.iter_mut().enumerate().take(len) {
                    *b = [0x7a, 0x7c, 0x80, 0xfb, b'}'][i % 5];
                }
                if pos < len {
                    hay[pos] = b'{';
                }
                let hay = &hay[..len];
                assert_eq!(
                    find_byte(hay, b'{'),
                    hay.iter().position(|&b| b == b'{'),
                    "len {len} pos {pos}"
                );
            }
        }
    }

    #[test]
    fn go_redis_hashtag_table() {
        // internal/hashtag's rules, plus edge cases of our own.
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"{", b"{"),
            (b"}", b"}"),
            (b"{}", b"{}"),
            (b"}{", b"}{"),
            (b"{a}", b"a"),
            (b"foo{bar}baz", b"bar"),
            (b"foo{}{bar}", b"foo{}{bar}"),
            (b"a{{b}}", b"{b"),
            (b"x{b}{c}", b"b"),
            (b"{user1000}.following", b"user1000"),
            (b"foo{bar", b"foo{bar"),
            (b"foo}bar{", b"foo}bar{"),
            (b"0123456789{0123456789abcdef}x", b"0123456789abcdef"),
        ];
        for &(key, tag) in cases {
            assert_eq!(
                hash_tag(key),
                tag,
                "{:?}",
                core::str::from_utf8(key).unwrap()
            );
        }
    }
}
