//! The multi-shard surface of driver-std beyond the shared scenarios: the scan iterator,
//! per-key MGET with hash tags, split commands inside a pipeline, and the error a split
//! command gives when a part fails.

use std::collections::BTreeSet;

use redis_ring_std::{Cmd, Error, Ring, Value};
use redis_ring_tests::scenarios::fast_config;
use redis_ring_tests::Shards;

#[test]
fn scan_per_key_mget_and_split_commands_in_a_pipeline() {
    let shards = Shards::start(3).unwrap();
    let ring = Ring::builder()
        .config(fast_config())
        .shards(shards.named())
        .build()
        .unwrap();
    let keys: Vec<String> = (0..40).map(|i| format!("st:{i}")).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (&**k, "v")).collect();
    ring.mset(&pairs).unwrap();
    ring.mset(&[("{tag}a", "1"), ("{tag}b", "2")]).unwrap();
    // The scan iterator: every key once.
    let found: Vec<Vec<u8>> = ring
        .scan()
        .pattern("st:*")
        .count(7)
        .map(Result::unwrap)
        .collect();
    assert_eq!(found.len(), keys.len());
    let found: BTreeSet<String> = found
        .into_iter()
        .map(|k| String::from_utf8(k).unwrap())
        .collect();
    assert_eq!(found, keys.iter().cloned().collect());
    // Per key, hash-tagged keys together with others.
    let got: Vec<Result<Option<String>, Error>> =
        ring.mget_per_key(&["{tag}a", "st:3", "nope", "{tag}b"]);
    let got: Vec<Option<String>> = got.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        got,
        [Some("1".into()), Some("v".into()), None, Some("2".into())]
    );
    // Split commands inside a pipeline, each with its own merged result.
    let mut p = ring.pipeline();
    p.cmd(Cmd::new("MGET").arg(["st:1", "st:2", "st:3", "nope"]))
        .cmd(Cmd::new("EXISTS").arg(&keys[..]))
        .cmd(Cmd::new("DEL").arg(&keys[..10]))
        .cmd(Cmd::new("DBSIZE"));
    let results = p.run();
    let v = |s: &str| Value::Bulk(s.as_bytes().to_vec());
    assert_eq!(
        results[0],
        Ok(Value::Array(vec![v("v"), v("v"), v("v"), Value::Nil]))
    );
    assert_eq!(results[1], Ok(Value::Int(40)));
    assert_eq!(results[2], Ok(Value::Int(10)));
    let Err(Error::Unsupported { reason, .. }) = &results[3] else {
        panic!("{:?}", results[3])
    };
    assert!(reason.contains("for_each_shard"), "{reason}");
    // One shard refuses writes (maxmemory 1, noeviction): MSET fails whole, naming that
    // shard, its keys and the server's OOM error.
    let victim = ring.shard_for_key("st:20").unwrap();
    let shard = ring.shard(&victim);
    shard
        .cmd(Cmd::new("CONFIG").arg("SET").arg("maxmemory").arg("1"))
        .unwrap();
    shard
        .cmd(
            Cmd::new("CONFIG")
                .arg("SET")
                .arg("maxmemory-policy")
                .arg("noeviction"),
        )
        .unwrap();
    let err = ring.mset(&pairs).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Split { .. }), "{text}");
    assert!(
        text.contains(&victim) && text.contains("st:20") && text.contains("OOM"),
        "{text}"
    );
    ring.close();
}
