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

use redis_ring_core::placement::{Ketama, KetamaHash, Placement, ShardSpec};

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
