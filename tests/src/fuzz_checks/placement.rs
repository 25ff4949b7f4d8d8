//! Fuzz check for `placement`: arbitrary shard names, weights and keys through every
//! algorithm. Never panics, the answer is always a live shard (`None` only with no shard),
//! the same input gives the same answer, and the optimised lookups agree with straight
//! transcriptions of go-rendezvous, groupcache and go-redis's `hashtag.Key`.
//!
//! Input layout (every field optional, missing bytes read as 0):
//! `[algorithm] [replicas] [shard count] ([name len] [name bytes] [weight])* ([key len] [key])*`.

use std::collections::HashMap;
use std::num::NonZeroU32;

use redis_ring_core::placement::{
    crc32_ieee, hash_tag, md5, mix64, xxh64_seed0, Algorithm, AnyPlacement, Ketama, KetamaHash,
    Placement, ShardSpec,
};

/// A cursor over the fuzzer's bytes.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

/// Runs the check; panics when an invariant breaks.
pub fn check(data: &[u8]) {
    let mut input = Input(data);
    let selector = input.byte();
    let replicas = usize::from(input.byte() % 16);
    let count = usize::from(input.byte() % 24);
    let weighted = selector & 0x80 != 0;
    let mut shards = Vec::with_capacity(count);
    for _ in 0..count {
        let len = usize::from(input.byte() % 24);
        let name = input.bytes(len);
        let weight = if weighted {
            NonZeroU32::new(u32::from(input.byte() % 8))
        } else {
            None
        };
        shards.push(ShardSpec { name, weight });
    }
    let mut keys = Vec::new();
    while !input.0.is_empty() {
        let len = usize::from(input.byte() % 64);
        keys.push(input.bytes(len));
    }
    if keys.is_empty() {
        keys.push(b"");
    }

    let algorithm = match selector % 4 {
        0 => Algorithm::Rendezvous,
        1 => Algorithm::ConsistentHash { replicas },
        2 => Algorithm::Ketama {
            key_hash: KetamaHash::Md5,
        },
        _ => Algorithm::Ketama {
            key_hash: KetamaHash::Fnv1a64,
        },
    };
    let placement = algorithm.build(&shards);
    let again = algorithm.build(&shards);
    assert_eq!(placement.len(), shards.len());
    let groupcache = match placement {
        AnyPlacement::ConsistentHash(_) => Some(GroupcacheMap::new(&shards, replicas.max(1))),
        _ => None,
    };
    let twemproxy = match &placement {
        AnyPlacement::Ketama(ring) => {
            assert!(ring.points() <= shards.len() * 160);
            // Equal weights and fewer than 25 shards: 160 points each (see `Ketama`).
            let unweighted = shards.iter().all(|s| s.weight.is_none()) && shards.len() < 25;
            unweighted.then(|| reference_continuum(&shards))
        }
        _ => None,
    };

    for key in keys {
        let tag = hash_tag(key);
        assert_eq!(tag, reference_hash_tag(key), "hash tag of {key:?}");
        let shard = placement.shard_for(key);
        assert_eq!(shard, again.shard_for(key), "not deterministic for {key:?}");
        match shard {
            None => assert!(shards.is_empty(), "no shard for {key:?}"),
            Some(i) => assert!(i < shards.len(), "shard {i} of {}", shards.len()),
        }
        match &placement {
            AnyPlacement::Rendezvous(ring) => {
                let want = reference_rendezvous(&shards, tag);
                assert_eq!(shard, want, "rendezvous vs go-rendezvous for {key:?}");
                assert_eq!(ring.shard_for_hash(xxh64_seed0(tag)), shard);
            }
            AnyPlacement::WeightedRendezvous(_) => {
                assert!(
                    shards.len() >= 2,
                    "weighted rendezvous needs differing weights"
                );
            }
            AnyPlacement::ConsistentHash(ring) => {
                let want = groupcache.as_ref().and_then(|map| map.get(tag));
                assert_eq!(shard, want, "consistent hash vs groupcache for {key:?}");
                assert_eq!(ring.shard_for_hash(crc32_ieee(tag)), shard);
            }
            AnyPlacement::Ketama(ring) => {
                let Algorithm::Ketama { key_hash } = algorithm else {
                    unreachable!("a ketama placement from another algorithm")
                };
                check_ketama(ring, key_hash, twemproxy.as_deref(), tag, shard);
            }
            _ => {}
        }
    }
}

/// go-redis `internal/hashtag.Key`, transcribed.
fn reference_hash_tag(key: &[u8]) -> &[u8] {
    if let Some(s) = key.iter().position(|&b| b == b'{') {
        if let Some(e) = key[s + 1..].iter().position(|&b| b == b'}') {
            if e > 0 {
                return &key[s + 1..s + 1 + e];
            }
        }
    }
    key
}

/// go-rendezvous `Lookup` over xxhash, transcribed.
fn reference_rendezvous(shards: &[ShardSpec<'_>], tag: &[u8]) -> Option<usize> {
    let first = shards.first()?;
    let khash = xxh64_seed0(tag);
    let mut midx = 0;
    let mut mhash = mix64(khash ^ xxh64_seed0(first.name));
    for (i, shard) in shards.iter().enumerate().skip(1) {
        let h = mix64(khash ^ xxh64_seed0(shard.name));
        if h > mhash {
            midx = i;
            mhash = h;
        }
    }
    Some(midx)
}

/// groupcache's `Map`, transcribed (weights as `replicas * weight` points).
struct GroupcacheMap {
    keys: Vec<u32>,
    hash_map: HashMap<u32, usize>,
}

impl GroupcacheMap {
    /// `New(replicas, crc32.ChecksumIEEE)` + `Add(names...)`.
    fn new(shards: &[ShardSpec<'_>], replicas: usize) -> Self {
        let mut keys = Vec::new();
        let mut hash_map = HashMap::new();
        for (s, shard) in shards.iter().enumerate() {
            for i in 0..replicas * shard.weight_or_one() as usize {
                let mut label = i.to_string().into_bytes();
                label.extend_from_slice(shard.name);
                let hash = crc32_ieee(&label);
                keys.push(hash);
                hash_map.insert(hash, s); // later shards overwrite
            }
        }
        keys.sort_unstable();
        GroupcacheMap { keys, hash_map }
    }

    /// `Get(key)`.
    fn get(&self, key: &[u8]) -> Option<usize> {
        if self.keys.is_empty() {
            return None;
        }
        let hash = crc32_ieee(key);
        let idx = self.keys.partition_point(|&k| k < hash);
        let idx = if idx == self.keys.len() { 0 } else { idx };
        Some(self.hash_map[&self.keys[idx]])
    }
}

/// twemproxy `ketama_update` for equal weights, transcribed (160 points per server below 25
/// servers), earliest server first among equal points (a stable sort).
fn reference_continuum(shards: &[ShardSpec<'_>]) -> Vec<(u32, usize)> {
    let mut continuum = Vec::new();
    for (s, shard) in shards.iter().enumerate() {
        for i in 0..40 {
            let mut label = shard.name.to_vec();
            label.extend_from_slice(format!("-{i}").as_bytes());
            let digest = md5(&label);
            for p in digest.chunks_exact(4) {
                continuum.push((u32::from_le_bytes([p[0], p[1], p[2], p[3]]), s));
            }
        }
    }
    continuum.sort_by_key(|&(value, _)| value); // stable
    continuum
}

/// `ketama_dispatch` over [`reference_continuum`], as a linear scan.
fn reference_ketama(continuum: &[(u32, usize)], key_hash: u32) -> Option<usize> {
    let first = continuum.first()?;
    Some(
        continuum
            .iter()
            .find(|(value, _)| *value >= key_hash)
            .unwrap_or(first)
            .1,
    )
}

/// Ketama: the lookup agrees with its own key hash, and with the transcription of twemproxy
/// when there is one.
fn check_ketama(
    ring: &Ketama,
    key_hash: KetamaHash,
    reference: Option<&[(u32, usize)]>,
    tag: &[u8],
    shard: Option<usize>,
) {
    // twemproxy's `server_pool_hash`: the empty key hashes to 0.
    let hash = if tag.is_empty() {
        0
    } else {
        key_hash.hash(tag)
    };
    assert_eq!(ring.shard_for_hash(hash), shard);
    if let Some(continuum) = reference {
        assert_eq!(
            shard,
            reference_ketama(continuum, hash),
            "ketama vs twemproxy"
        );
    }
}
