//! Hash tags: which part of a key placement hashes. go-redis `{}` by default
//! (`internal/hashtag.Key`); any two-byte pair, as twemproxy's pool `hash_tag:`; or none.

use core::fmt;
use core::str::FromStr;

/// Which part of a key is hashed: with a pair `open`/`close`, when the key holds an `open`
/// followed later by a `close` with at least one byte between them, the bytes between the
/// first `open` and the first `close` after it; otherwise (and with [`HashTag::NONE`]) the
/// whole key. go-redis's rule with `{}` ([`HashTag::GO_REDIS`], the default) and twemproxy's
/// `hash_tag:` rule (`server_pool_idx`) for any pair.
///
/// Parsed from and displayed as the two characters (`{}`, `$$`, `<>`) or `none`.
///
/// ```
/// use redis_ring_core::placement::HashTag;
///
/// assert_eq!(HashTag::GO_REDIS.apply(b"user:{42}:name"), b"42");
/// assert_eq!(HashTag::NONE.apply(b"user:{42}:name"), b"user:{42}:name");
/// let dollars: HashTag = "$$".parse().unwrap();
/// assert_eq!(dollars.apply(b"a$b$c"), b"b");
/// assert_eq!("none".parse::<HashTag>(), Ok(HashTag::NONE));
/// assert_eq!(HashTag::default().to_string(), "{}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HashTag(Option<[u8; 2]>);

impl HashTag {
    /// go-redis's `{` `}` (the default).
    pub const GO_REDIS: HashTag = HashTag(Some(*b"{}"));
    /// No hash tag: the whole key is hashed (twemproxy's default).
    pub const NONE: HashTag = HashTag(None);

    /// The pair `open`, `close` (they may be equal, as in twemproxy's `$$`).
    pub const fn pair(open: u8, close: u8) -> HashTag {
        HashTag(Some([open, close]))
    }

    /// The pair, if any.
    pub fn delimiters(self) -> Option<(u8, u8)> {
        self.0.map(|[o, c]| (o, c))
    }

    /// The part of `key` that is hashed (see the type's docs).
    #[inline]
    pub fn apply(self, key: &[u8]) -> &[u8] {
        match self.0 {
            Some([open, close]) => tagged(key, open, close),
            None => key,
        }
    }
}

impl Default for HashTag {
    fn default() -> Self {
        HashTag::GO_REDIS
    }
}

impl fmt::Display for HashTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some([o, c]) => write!(f, "{}{}", char::from(o), char::from(c)),
            None => f.write_str("none"),
        }
    }
}

/// Why a string is not a [`HashTag`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseHashTagError;

impl fmt::Display for ParseHashTagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a hash tag is two ASCII characters (such as {} or $$) or `none`")
    }
}

impl core::error::Error for ParseHashTagError {}

impl FromStr for HashTag {
    type Err = ParseHashTagError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            b"none" | b"" => Ok(HashTag::NONE),
            &[o, c] if o.is_ascii_graphic() && c.is_ascii_graphic() => Ok(HashTag::pair(o, c)),
            _ => Err(ParseHashTagError),
        }
    }
}

/// The part of `key` that is hashed, go-redis rules (`{` `}`): see [`HashTag`].
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
    tagged(key, b'{', b'}')
}

#[inline]
fn tagged(key: &[u8], open: u8, close: u8) -> &[u8] {
    if let Some(i) = find_byte(key, open) {
        let rest = &key[i + 1..];
        if let Some(j) = find_byte(rest, close) {
            if j > 0 {
                return &rest[..j];
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
    use alloc::string::ToString;

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

    #[test]
    fn twemproxy_rule_for_other_pairs() {
        // nc_server.c server_pool_idx: first `open`, then the first `close` after it, at
        // least one byte between them.
        let t = HashTag::pair(b'$', b'$');
        assert_eq!(t.apply(b"a$b$c"), b"b");
        assert_eq!(t.apply(b"a$$b$"), b"a$$b$");
        assert_eq!(t.apply(b"$"), b"$");
        let t = HashTag::pair(b'<', b'>');
        assert_eq!(t.apply(b"x<tag>y<z>"), b"tag");
        assert_eq!(t.apply(b"x{tag}y"), b"x{tag}y");
        for s in ["{}", "$$", "<>", "none"] {
            assert_eq!(s.parse::<HashTag>().unwrap().to_string(), s);
        }
        assert!("{".parse::<HashTag>().is_err());
        assert!("{}}".parse::<HashTag>().is_err());
    }
}
