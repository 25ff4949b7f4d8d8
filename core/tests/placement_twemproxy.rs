//! Ketama against twemproxy itself: assignments captured from nutcracker 0.5.0 (Debian's
//! `nutcracker` package) with four redis-server backends, `distribution: ketama`, by SETting
//! each key through the proxy and then listing every backend's keys (`KEYS *`), one pool
//! configuration at a time.
//!
//! Pool: servers `127.0.0.1:<port>:<weight> <name>` with names `s1`, `s2`, `redis-three:6379`,
//! `shard4` (the name is what twemproxy hashes). Keys: `key:0` .. `key:399`, then `\xe9t\xe9`
//! (bytes above 0x7f: twemproxy's `fnv1a_64` sign-extends them), `foo`, `bar`, `baz`, and 50
//! `a`s. No key holds braces: twemproxy's own hash-tag rules are not ours. And a pool of 25
//! servers `n0` .. `n24`, where twemproxy's float rounding shows.

use std::num::NonZeroU32;

use redis_ring_core::placement::{HashTag, Ketama, KetamaHash, Placement, ShardSpec};

const NAMES: [&str; 4] = ["s1", "s2", "redis-three:6379", "shard4"];

fn keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = (0..400).map(|i| format!("key:{i}").into_bytes()).collect();
    keys.push(vec![0xe9, b't', 0xe9]);
    keys.extend([&b"foo"[..], b"bar", b"baz"].map(<[u8]>::to_vec));
    keys.push(vec![b'a'; 50]);
    keys
}

/// Each key's server index, as twemproxy placed it, one digit per key.
fn twemproxy(digits: &[&str]) -> Vec<usize> {
    digits
        .concat()
        .bytes()
        .map(|d| usize::from(d - b'0'))
        .collect()
}

fn check(weights: [u32; 4], key_hash: KetamaHash, digits: &[&str]) {
    let specs: Vec<ShardSpec<'_>> = NAMES
        .iter()
        .zip(weights)
        .map(|(name, w)| ShardSpec::weighted(*name, NonZeroU32::new(w).unwrap()))
        .collect();
    let ring = Ketama::new(&specs, key_hash);
    let want = twemproxy(digits);
    let keys = keys();
    assert_eq!(want.len(), keys.len());
    for (key, want) in keys.iter().zip(want) {
        assert_eq!(
            ring.shard_for(key),
            Some(want),
            "key {:?}",
            String::from_utf8_lossy(key)
        );
    }
}

#[test]
fn md5_equal_weights() {
    check(
        [1, 1, 1, 1],
        KetamaHash::Md5,
        &[
            "03303121300331303210331102132020031033301230322202210301130211203112233101021312",
            "03112222130200002302210301023220013100030022131120010000333230000322330231023023",
            "21303110031221203202023222022210230031211221222211100013030113032011100003100320",
            "33031312032000032311020113202133312220033112312031201332101210000012022311303030",
            "30233033011233012101122321201311213113132300331133232221130122223121213230212032",
            "11221",
        ],
    );
}

#[test]
fn fnv1a_64_equal_weights() {
    check(
        [1, 1, 1, 1],
        KetamaHash::Fnv1a64,
        &[
            "22222222221111111111111111111111111111111111111111111111111111111111111111111111",
            "11111111111111111111333333333333333333333333333333333333333333333333333333333333",
            "33333333333333333333333333333333333333333333333333333333333333333333333333333333",
            "33333333333333333333333333333333333333333333333333333333333311111111111111111111",
            "11111111111111111111111111111111111111111111111111111111111111111111111111111111",
            "23330",
        ],
    );
}

#[test]
fn md5_weights_1_2_3_1() {
    check(
        [1, 2, 3, 1],
        KetamaHash::Md5,
        &[
            "00323121300321323210331122132220031123322221222202212221230211212112232101021212",
            "02112222123222032202210311023220012222033022131222020110222222000222320231022021",
            "21333121231221203222023222022212231221211222222211102013020112332011100003110320",
            "22122212032000032321221113232132122220023112212031201232121210002012122311203021",
            "33222233021233212101122321221211213113132202331233222221213122223121212230212022",
            "11221",
        ],
    );
}

/// 25 servers: twemproxy's f32 arithmetic gives each 156 points, not 160 (see `Ketama`); a
/// ring with 160 per server disagrees with these.
#[test]
fn md5_25_servers_get_156_points_each() {
    let names: Vec<String> = (0..25).map(|i| format!("n{i}")).collect();
    let specs: Vec<ShardSpec<'_>> = names.iter().map(ShardSpec::new).collect();
    let ring = Ketama::new(&specs, KetamaHash::Md5);
    assert_eq!(ring.points(), 25 * 156);
    // Server index per key `key:0` .. `key:999`, as a letter: `a` = n0 .. `y` = n24.
    let want: String = [
        "gbclymvoalrggmokoioaqryyntidqnrrinxjssyxjjvjhkgseqjljciqssahkxosbbnmsertfntnawpa",
        "cehqfcwvmevxukeuqjjxhrvuitinrwvgwqcvkerysvvvalxwbaiuufjcilfhddmibbmwiiibxfxvgtoh",
        "byasppvrjaylbccypgfgcltwmhctoqnmuwjvmqqlkkgrnfucbywpvkmagegakcslcnbfwrwkirhlhyug",
        "jdgqnhyftakipbgxylxpqkdgmwnrypwggwccnigoohamotrrwbptrhyxsvfvmbepnbdkyqngpxuntnbj",
        "qviujayxfnxhyfjkqispuykemhkcrebftrxxorbafeffcybkmvrmlijewyfhgsisebmhfgfgeyxpwxdx",
        "ulgxddcueafxiwekforwfhyoidmugpsphmtfnmbqrdsrftatcxmwtfibhhehklaulxfquypxrenpsgcl",
        "pnuqkgsyubefcxancfyiblysyeyycscvxcykpdradknqxevkxwfocjkcycqeuhdbuhepcrjdenxnlkxf",
        "lplpoyjmqfofujlfjqunnmfjmvowxmcigawnasxwyictfjajanfjfdiqfvfqtmrkwnnyelnhvcbclxgf",
        "lidvgnlwxlpnecicowtmmdssppffpvctyfhjynjbhgyiqdmyyojipocqnrrxxmtnkxhnqqtblssacvvx",
        "vdyiqsfprkawvqolyejwxdtktexcgfnqejjebkcutkgkcxjtkrqwcsfjkefmyawloepjqkwkbwylvfbo",
        "fmxhxhfqhdxwcipljbcdhdsqdodqyepfwyktagfjjtmlrfhoappeyjtjvfkdjtijfcjnmodaqyoswifi",
        "bhubjibykhsrsfgtcielxyierljihwqawllyerpjdcrlwpdkippwhhemhorndrcqbuwdnbuemvujkipu",
        "mirwmuayahcmxoqjwixbalktauwlxfwdkthulplb",
    ]
    .concat();
    for (i, server) in want.bytes().enumerate() {
        let key = format!("key:{i}");
        assert_eq!(
            ring.shard_for(key.as_bytes()),
            Some(usize::from(server - b'a')),
            "{key}"
        );
    }
}

// Hash tags and the empty key, captured by `twemproxy_capture.py` (beside this file) from
// nutcracker 0.5.0 (Debian) with the same four servers and names: keys with go-redis braces,
// `$` pairs, `<>`, edge cases (`x{b}{c}`, `a{{b}}`, `foo{}{bar}`, `{}`, `a$$b$`...), the empty
// key first (twemproxy's `server_pool_hash` gives it hash 0), and `key:0` .. `key:59`; one pool
// per configuration: `hash_tag: "{}"`, `hash_tag: "$$"`, and no `hash_tag:` (twemproxy's default).

fn tagged_keys() -> Vec<Vec<u8>> {
    let mut ks: Vec<Vec<u8>> = vec![Vec::new()];
    ks.extend((0..40).map(|i| format!("{{user{i}}}:x").into_bytes()));
    ks.extend((0..40).map(|i| format!("$tag{i}$rest").into_bytes()));
    ks.extend((0..20).map(|i| format!("<t{i}>").into_bytes()));
    ks.extend(
        [
            &b"x{b}{c}"[..],
            b"a{{b}}",
            b"foo{}{bar}",
            b"{}",
            b"a$$b$",
            b"$",
            b"{",
            b"}{x}",
            b"k{\xe9}",
        ]
        .map(<[u8]>::to_vec),
    );
    ks.extend((0..60).map(|i| format!("key:{i}").into_bytes()));
    ks
}

fn check_tagged(weights: [u32; 4], key_hash: KetamaHash, tag: HashTag, digits: &[&str]) {
    let specs: Vec<ShardSpec<'_>> = NAMES
        .iter()
        .zip(weights)
        .map(|(name, w)| ShardSpec::weighted(*name, NonZeroU32::new(w).unwrap()))
        .collect();
    let ring = Ketama::new(&specs, key_hash).with_hash_tag(tag);
    let want = twemproxy(digits);
    let keys = tagged_keys();
    assert_eq!(want.len(), keys.len());
    for (key, want) in keys.iter().zip(want) {
        assert_eq!(
            ring.shard_for(key),
            Some(want),
            "key {:?} ({tag})",
            String::from_utf8_lossy(key)
        );
    }
}

#[test]
fn md5_go_redis_braces_equal_weights() {
    check_tagged(
        [1, 1, 1, 1],
        KetamaHash::Md5,
        HashTag::GO_REDIS,
        &[
            "33022321312020213112003303333323103022130322103321333000301232031030021332222122",
            "12331203023013203111233230111103303121300331303210331102132020031033301230322202",
            "2103011302",
        ],
    );
}
#[test]
fn fnv1a_64_dollar_tag_unequal_weights() {
    check_tagged(
        [1, 2, 3, 4],
        KetamaHash::Fnv1a64,
        HashTag::pair(b'$', b'$'),
        &[
            "33330230220233332020322133323313223130333111111111133333333333333333333333333333",
            "31111111111222222223333322221222222222221111111111111111111111111111111111111111",
            "1111111111",
        ],
    );
}
#[test]
fn fnv1a_64_no_hash_tag() {
    check_tagged(
        [1, 1, 1, 1],
        KetamaHash::Fnv1a64,
        HashTag::NONE,
        &[
            "33130030220233202120322100321313203031003112123210130313200030010300212201023020",
            "01111111111222222220033322221222222222221111111111111111111111111111111111111111",
            "1111111111",
        ],
    );
}
#[test]
fn md5_no_hash_tag_unequal_weights() {
    check_tagged(
        [3, 1, 1, 2],
        KetamaHash::Md5,
        HashTag::NONE,
        &[
            "02331133230323313021103000303233200200320022303321333000303232033030023330022100",
            "00332203023013203100000330112303303321300333303010333000133020031033300230330002",
            "2303023300",
        ],
    );
}
