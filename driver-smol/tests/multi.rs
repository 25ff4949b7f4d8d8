//! The multi-shard surface of driver-smol beyond the shared scenarios: the scan as a
//! `Stream`, per-key MGET with hash tags, split commands inside a pipeline, and the error a
//! split command gives when a part fails.

use std::collections::BTreeSet;
use std::time::Duration;

use redis_ring_smol::{Cmd, Error, Ring, Value};
use redis_ring_tests::Shards;
use smol::stream::StreamExt;

fn ring(shards: &Shards) -> Ring {
    Ring::builder()
        .shards(shards.named())
        .command_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

#[test]
fn scan_stream_per_key_mget_and_split_commands_in_a_pipeline() {
    let shards = Shards::start(3).unwrap();
    let ring = ring(&shards);
    smol::block_on(async {
        let keys: Vec<String> = (0..40).map(|i| format!("st:{i}")).collect();
        let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (&**k, "v")).collect();
        ring.mset(&pairs).await.unwrap();
        ring.mset(&[("{tag}a", "1"), ("{tag}b", "2")])
            .await
            .unwrap();
        // The scan as a stream: every key once.
        let found: Vec<Vec<u8>> = ring
            .scan()
            .pattern("st:*")
            .count(7)
            .into_stream()
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(found.len(), keys.len());
        let found: BTreeSet<String> = found
            .into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect();
        assert_eq!(found, keys.iter().cloned().collect());
        // Per key, hash-tagged keys together with others.
        let got: Vec<Result<Option<String>, Error>> = ring
            .mget_per_key(&["{tag}a", "st:3", "nope", "{tag}b"])
            .await;
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
        let results = p.run().await;
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
        ring.shard(&victim)
            .cmd(Cmd::new("CONFIG").arg("SET").arg("maxmemory").arg("1"))
            .await
            .unwrap();
        ring.shard(&victim)
            .cmd(
                Cmd::new("CONFIG")
                    .arg("SET")
                    .arg("maxmemory-policy")
                    .arg("noeviction"),
            )
            .await
            .unwrap();
        let err = ring.mset(&pairs).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Split { .. }), "{text}");
        assert!(
            text.contains(&victim) && text.contains("st:20") && text.contains("OOM"),
            "{text}"
        );
    });
    smol::block_on(ring.close());
}
