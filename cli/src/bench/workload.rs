//! The commands a bench caller sends: which key, which operation, the value.

use crate::args::Op;
use crate::rng::Rng;

/// One command to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// `SET key value`
    Set(Key),
    /// `GET key`
    Get(Key),
}

impl Request {
    /// The key.
    pub(crate) fn key(&self) -> &str {
        match self {
            Request::Set(k) | Request::Get(k) => k.as_str(),
        }
    }
}

/// A key, `key:%012d`, formatted on the stack: drawing a command allocates nothing, so an
/// allocation count over a bench run (`--count-allocs`) is the client's alone.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    /// `key:` and up to 20 digits (`u64::MAX`).
    buf: [u8; 24],
    len: u8,
}

impl Key {
    /// `key:` followed by `n`, zero-padded to 12 digits (as redis-benchmark's `-r`).
    pub(crate) fn new(n: u64) -> Key {
        let mut digits = [b'0'; 20];
        let mut i = digits.len();
        let mut n = n;
        while n > 0 {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let start = i.min(digits.len() - 12);
        let digits = &digits[start..];
        let mut buf = [0; 24];
        buf[..4].copy_from_slice(b"key:");
        buf[4..4 + digits.len()].copy_from_slice(digits);
        Key {
            buf,
            len: (4 + digits.len()) as u8,
        }
    }

    /// The key's text.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII is ever written.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("key:?")
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The workload every caller draws from (each with its own [`Rng`]).
#[derive(Clone, Debug)]
pub(crate) struct Workload {
    keys: u64,
    op: Op,
    value: Vec<u8>,
}

impl Workload {
    /// `keys` distinct keys, `op` commands, values of `value_size` bytes.
    pub(crate) fn new(keys: u64, op: Op, value_size: usize) -> Workload {
        Workload {
            keys: keys.max(1),
            op,
            value: vec![b'x'; value_size],
        }
    }

    /// The value SET writes.
    pub(crate) fn value(&self) -> &[u8] {
        &self.value
    }

    /// The next command: a uniformly random key (`key:%012d`, as redis-benchmark's `-r`).
    pub(crate) fn next(&self, rng: &mut Rng) -> Request {
        let key = Key::new(rng.below(self.keys));
        let set = match self.op {
            Op::Set => true,
            Op::Get => false,
            Op::Mixed => rng.next_u64() & 1 == 1,
        };
        if set {
            Request::Set(key)
        } else {
            Request::Get(key)
        }
    }

    /// The seed of caller `i`: callers draw different sequences, reproducibly.
    pub(crate) fn caller_seed(seed: u64, i: usize) -> u64 {
        seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i as u64).wrapping_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_in_the_key_space_and_ops_mix() {
        let w = Workload::new(10, Op::Mixed, 4);
        let mut rng = Rng::new(1);
        let reqs: Vec<Request> = (0..1000).map(|_| w.next(&mut rng)).collect();
        assert!(reqs
            .iter()
            .all(|r| r.key().len() == 16 && r.key() < "key:000000000010"));
        let sets = reqs.iter().filter(|r| matches!(r, Request::Set(_))).count();
        assert!((400..600).contains(&sets), "{sets}");
        assert_eq!(w.value(), b"xxxx");
        let g = Workload::new(5, Op::Get, 1);
        for n in [0, 7, 123_456_789_012, 9_999_999_999_999, u64::MAX] {
            assert_eq!(Key::new(n).as_str(), format!("key:{n:012}"));
        }
        assert!((0..50).all(|_| matches!(g.next(&mut rng), Request::Get(_))));
    }
}
