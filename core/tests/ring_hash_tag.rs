//! `Config::hash_tag` reaches the ring's placement.

mod ring_support;

use redis_ring_core::config::Config;
use redis_ring_core::placement::HashTag;
use ring_support::Rig;

fn spread(tag: HashTag, keys: impl Fn(usize) -> String) -> usize {
    let mut config = Config::default();
    config.hash_tag = tag;
    let rig = Rig::new(config, 3);
    let owners: std::collections::HashSet<String> = (0..50).map(|i| rig.owner(&keys(i))).collect();
    owners.len()
}

#[test]
fn the_configured_hash_tag_decides_which_keys_stay_together() {
    let braces = |i: usize| format!("{{user}}:{i}");
    let dollars = |i: usize| format!("$user$:{i}");
    assert_eq!(spread(HashTag::GO_REDIS, braces), 1);
    assert!(spread(HashTag::GO_REDIS, dollars) > 1);
    assert!(spread(HashTag::NONE, braces) > 1);
    assert_eq!(spread(HashTag::pair(b'$', b'$'), dollars), 1);
    assert!(spread(HashTag::pair(b'$', b'$'), braces) > 1);
}
