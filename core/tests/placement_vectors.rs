//! Known answers: go-redis v9 (rendezvous), go-redis v7 / groupcache (consistent hash), the
//! hashes themselves, and hash tags. A Rust and a Go service sharing shards must agree on
//! every one of these.

use redis_ring_core::placement::{
    crc32_ieee, hash_tag, mix64, xxh64_seed0, Algorithm, AnyPlacement, ConsistentHash, Placement,
    Rendezvous, ShardSpec,
};

const SHARDS: [&str; 3] = ["shard1", "shard2", "shard3"];

fn build(algorithm: &Algorithm, names: &[&str]) -> AnyPlacement {
    let specs: Vec<ShardSpec<'_>> = names.iter().map(|n| ShardSpec::new(*n)).collect();
    algorithm.build(&specs)
}

fn name_of<'a>(names: &[&'a str], placement: &AnyPlacement, key: &[u8]) -> &'a str {
    names[placement.shard_for(key).expect("a shard")]
}

#[test]
fn xxh64_vectors() {
    assert_eq!(xxh64_seed0(b"foo"), 0x33bf_00a8_59c4_ba3f);
    assert_eq!(xxh64_seed0(b"shard1"), 0x1000_87d5_9388_89c0);
    // The reference implementation's empty input and a > 32-byte input (XXH64 processes
    // 32-byte stripes separately from the tail).
    assert_eq!(xxh64_seed0(b""), 0xef46_db37_51d8_e999);
    assert_eq!(
        xxh64_seed0(b"Nobody inspects the spammish repetition"),
        0xfbcea83c8a378bf1
    );
}

#[test]
fn crc32_vectors() {
    assert_eq!(crc32_ieee(b""), 0);
    assert_eq!(crc32_ieee(b"123456789"), 0xcbf4_3926);
    assert_eq!(
        crc32_ieee(b"The quick brown fox jumps over the lazy dog"),
        0x414f_a339
    );
}

#[test]
fn mix64_is_go_rendezvous_xorshift_mult64() {
    // By definition, step by step.
    let x = 0x0123_4567_89ab_cdefu64;
    let mut y = x;
    y ^= y >> 12;
    y ^= y << 25;
    y ^= y >> 27;
    assert_eq!(mix64(x), y.wrapping_mul(2_685_821_657_736_338_717));
    assert_eq!(
        mix64(1),
        (1u64 ^ (1 << 25)).wrapping_mul(0x2545_F491_4F6C_DD1D)
    );
}

#[test]
fn rendezvous_go_redis_v9_shard1_2_3() {
    let ring = build(&Algorithm::Rendezvous, &SHARDS);
    assert!(matches!(ring, AnyPlacement::Rendezvous(_)));
    let cases = [
        ("foo", "shard1"),
        ("bar", "shard2"),
        ("baz", "shard3"),
        ("key:1", "shard2"),
    ];
    for (key, want) in cases {
        assert_eq!(name_of(&SHARDS, &ring, key.as_bytes()), want, "key {key}");
    }
}

#[test]
fn rendezvous_go_redis_ring_test_two_shards() {
    // go-redis ring_test.go: "distributes keys" (56/44 over key0..key99) and the exact order
    // of key0..key9, with shards ringShardOne and ringShardTwo.
    let names = ["ringShardOne", "ringShardTwo"];
    let ring = build(&Algorithm::Rendezvous, &names);
    let mut counts = [0; 2];
    for i in 0..100 {
        counts[ring.shard_for(format!("key{i}").as_bytes()).unwrap()] += 1;
    }
    assert_eq!(counts, [56, 44]);
    let first_ten: Vec<&str> = (0..10)
        .map(|i| name_of(&names, &ring, format!("key{i}").as_bytes()))
        .collect();
    let one = "ringShardOne";
    let two = "ringShardTwo";
    assert_eq!(
        first_ten,
        [one, one, two, one, one, two, one, two, two, one]
    );
    // go-redis ring_test.go: "supports hash tags".
    assert_eq!(name_of(&names, &ring, b"key{tag}"), two);
    assert_eq!(name_of(&names, &ring, b"tag"), two);
}

#[test]
fn rendezvous_definition_by_hand() {
    // The placement is exactly argmax over mix64(xxh64(key) ^ xxh64(name)), ties earliest,
    // for short keys and for keys longer than 32 bytes (XXH64's other code path).
    let names: Vec<String> = (0..40).map(|i| format!("redis-{i}.cache:6379")).collect();
    let ring = Rendezvous::new(&names);
    let keys = [
        &b"k"[..],
        b"user:1000:profile",
        b"a key that is definitely longer than thirty-two bytes",
        &[0xffu8; 100],
        b"",
    ];
    for key in keys {
        let kh = xxh64_seed0(key);
        let mut best = 0;
        for i in 1..names.len() {
            if mix64(kh ^ xxh64_seed0(names[i].as_bytes()))
                > mix64(kh ^ xxh64_seed0(names[best].as_bytes()))
            {
                best = i;
            }
        }
        assert_eq!(ring.shard_for(key), Some(best), "{key:?}");
    }
}

#[test]
fn rendezvous_ties_go_to_the_earliest_name() {
    // Duplicate names score alike for every key.
    let names = ["a", "b", "a", "b", "c", "a", "b", "c", "a", "b"];
    let ring = build(&Algorithm::Rendezvous, &names);
    for i in 0..500 {
        let got = ring.shard_for(format!("k{i}").as_bytes()).unwrap();
        let first = names.iter().position(|n| *n == names[got]).unwrap();
        assert_eq!(got, first, "k{i}");
    }
}

#[test]
fn rendezvous_long_keys_and_tags() {
    let ring = build(&Algorithm::Rendezvous, &SHARDS);
    let long = b"this-key-is-longer-than-32-bytes-so-xxh64-uses-stripes:{foo}";
    assert_eq!(name_of(&SHARDS, &ring, long), "shard1"); // tag `foo`
    for len in [31, 32, 33, 63, 64, 65, 200] {
        let key = vec![b'x'; len];
        let kh = xxh64_seed0(&key);
        let want = (0..3)
            .max_by_key(|&i| {
                (
                    mix64(kh ^ xxh64_seed0(SHARDS[i].as_bytes())),
                    usize::MAX - i,
                )
            })
            .unwrap();
        assert_eq!(ring.shard_for(&key), Some(want), "len {len}");
    }
}

#[test]
fn consistent_hash_go_redis_v7() {
    let ring = build(&Algorithm::go_redis_v7(), &SHARDS);
    let cases = [("foo", "shard2"), ("bar", "shard3"), ("baz", "shard2")];
    for (key, want) in cases {
        assert_eq!(name_of(&SHARDS, &ring, key.as_bytes()), want, "key {key}");
    }
}

#[test]
fn consistent_hash_definition_by_hand() {
    // groupcache, spelled out: points crc32(itoa(i) + name), first point >= crc32(key), wrap.
    let names = ["alpha", "beta", "gamma", "delta"];
    let replicas = 7;
    let mut points: Vec<(u32, usize)> = Vec::new();
    for (s, name) in names.iter().enumerate() {
        for i in 0..replicas {
            points.push((crc32_ieee(format!("{i}{name}").as_bytes()), s));
        }
    }
    points.sort();
    let ring = ConsistentHash::new(replicas, &names.map(ShardSpec::from));
    for k in 0..2000 {
        let key = format!("key-{k}");
        let h = crc32_ieee(key.as_bytes());
        let want = points.iter().find(|p| p.0 >= h).unwrap_or(&points[0]).1;
        assert_eq!(ring.shard_for(key.as_bytes()), Some(want), "{key}");
    }
    // A key hashing above every point wraps to the first point.
    let top = points.last().unwrap().0;
    assert!(top < u32::MAX);
    assert_eq!(ring.shard_for_hash(top + 1), Some(points[0].1));
    assert_eq!(ring.shard_for_hash(u32::MAX), Some(points[0].1));
    assert_eq!(ring.shard_for_hash(top), Some(points.last().unwrap().1));
}

#[test]
fn hash_tags_go_redis_rules() {
    assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
    assert_eq!(hash_tag(b"a{{b}}"), b"{b");
    assert_eq!(hash_tag(b"x{b}{c}"), b"b");
    for algorithm in [
        Algorithm::Rendezvous,
        Algorithm::go_redis_v7(),
        Algorithm::Ketama {
            key_hash: Default::default(),
        },
    ] {
        let ring = build(&algorithm, &SHARDS);
        for tag in ["b", "user:1", "{b", "x"] {
            let tagged = format!("prefix{{{tag}}}suffix");
            assert_eq!(
                ring.shard_for(tagged.as_bytes()),
                ring.shard_for(tag.as_bytes()),
                "{algorithm:?} {tagged}"
            );
        }
        assert_eq!(ring.shard_for(b"foo{}{bar}"), ring.shard_for(b"foo{}{bar}"));
    }
}

#[test]
fn empty_placements_answer_none() {
    for algorithm in [
        Algorithm::Rendezvous,
        Algorithm::go_redis_v7(),
        Algorithm::Ketama {
            key_hash: Default::default(),
        },
    ] {
        let ring = build(&algorithm, &[]);
        assert!(ring.is_empty());
        assert_eq!(ring.shard_for(b"foo"), None);
    }
    assert_eq!(AnyPlacement::default().shard_for(b"foo"), None);
}

#[test]
fn a_single_shard_owns_everything_even_its_own_name() {
    // Key == name makes the rendezvous score mix64(0) = 0, the lowest possible.
    for algorithm in [
        Algorithm::Rendezvous,
        Algorithm::go_redis_v7(),
        Algorithm::ConsistentHash { replicas: 0 },
        Algorithm::Ketama {
            key_hash: Default::default(),
        },
    ] {
        let ring = build(&algorithm, &["shard1"]);
        for key in [&b"shard1"[..], b"", b"foo", b"{shard1}"] {
            assert_eq!(ring.shard_for(key), Some(0), "{algorithm:?}");
        }
    }
}
