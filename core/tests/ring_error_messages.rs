//! Errors say what to do, in words that exist: fan-out refusals name the drivers' real
//! methods; a transaction begun with no keys says so instead of listing shards.

mod ring_support;

use redis_ring_core::command::Cmd;
use redis_ring_core::config::Config;
use redis_ring_core::error::Error;
use ring_support::Rig;

#[test]
fn fan_out_refusals_name_methods_that_exist() {
    let mut rig = Rig::new(Config::default(), 2);
    let e = rig.submit(Cmd::new("KEYS").arg("*")).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    // driver-std and driver-smol both have `Ring::for_each_shard` and `Ring::shard(name)`
    // returning a handle with `cmd`; there is no `on_shard`.
    assert!(
        text.contains("for_each_shard(") && text.contains("shard(name).cmd("),
        "{text}"
    );
    assert!(!text.contains("on_shard"), "{text}");
}

#[test]
fn a_transaction_begun_without_keys_says_so() {
    let mut rig = Rig::new(Config::default(), 3);
    let now = rig.now;
    let tx = rig.ring.begin_transaction::<&str>(&[], now).unwrap();
    rig.settle();
    let home = rig.ring.transaction_shard(tx).unwrap().to_string();
    let home_addr = format!("a{}", &home[1..]);
    let elsewhere = (0..1000)
        .map(|i| format!("k{i}"))
        .find(|k| rig.owner(k) != home_addr)
        .unwrap();
    let now = rig.now;
    let e = rig
        .ring
        .submit_in(tx, Cmd::new("SET").arg(&elsewhere).arg(1), now)
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(text.contains("begun with no keys"), "{text}");
    // Begun with keys, the same mistake names the shards.
    let now = rig.now;
    let tx = rig.ring.begin_transaction(&["k0"], now).unwrap();
    rig.settle();
    let other = (0..1000)
        .map(|i| format!("k{i}"))
        .find(|k| rig.owner(k) != rig.owner("k0"))
        .unwrap();
    let now = rig.now;
    let e = rig
        .ring
        .submit_in(tx, Cmd::new("SET").arg(&other).arg(1), now)
        .unwrap_err();
    assert!(matches!(e, Error::CrossShard { .. }), "{e:?}");
}
