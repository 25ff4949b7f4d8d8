//! Criterion benchmarks of the command layer: building and encoding commands, splitting
//! them, finding their keys, converting replies.
//!
//! Run: `taskset -c 1 cargo bench -p redis-ring-core --bench command`.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use redis_ring_core::command::{classify, cmds, from_value, Cmd};
use redis_ring_core::resp::Value;

fn build_and_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("cmd");
    let mut out = Vec::with_capacity(4096);
    g.throughput(Throughput::Elements(1));
    g.bench_function("build SET k 3-byte", |b| {
        b.iter(|| black_box(cmds::set(black_box("key:000123"), black_box("abc"))));
    });
    g.bench_function("build+encode SET k 3-byte", |b| {
        b.iter(|| {
            out.clear();
            cmds::set(black_box("key:000123"), black_box("abc")).encode(&mut out);
            black_box(&out);
        });
    });
    let set = cmds::set("key:000123", "abc");
    g.bench_function("encode SET (prebuilt)", |b| {
        b.iter(|| {
            out.clear();
            black_box(&set).encode(&mut out);
            black_box(&out);
        });
    });
    let keys: Vec<String> = (0..100).map(|i| format!("key:{i:06}")).collect();
    g.bench_function("build MGET 100 keys", |b| {
        b.iter(|| black_box(cmds::mget(black_box(&keys))));
    });
    let mget = cmds::mget(&keys);
    g.bench_function("select 50 of MGET 100", |b| {
        b.iter(|| black_box(mget.select((0..100).step_by(2))));
    });
    g.bench_function("build INCRBY k i64", |b| {
        b.iter(|| {
            black_box(
                Cmd::new("INCRBY")
                    .arg("counter")
                    .arg(black_box(-1234567890i64)),
            )
        });
    });
    g.finish();
}

fn routing(c: &mut Criterion) {
    let mut g = c.benchmark_group("classify");
    let get = cmds::get("key:000123");
    g.bench_function("GET first key", |b| {
        b.iter(|| black_box(classify(black_box(&get)).first_key()));
    });
    let eval = cmds::eval("return 1", ["a", "b", "c"], ["x"]);
    g.bench_function("EVAL 3 keys", |b| {
        b.iter(|| black_box(classify(black_box(&eval)).keys().count()));
    });
    let xread =
        Cmd::new("XREAD").arg(["COUNT", "10", "BLOCK", "0", "STREAMS", "s1", "s2", "0", "0"]);
    g.bench_function("XREAD BLOCK 2 streams", |b| {
        b.iter(|| {
            let r = classify(black_box(&xread));
            black_box((r.is_blocking(), r.keys().count()))
        });
    });
    let keys: Vec<String> = (0..100).map(|i| format!("key:{i:06}")).collect();
    let mget = cmds::mget(&keys);
    g.bench_function("MGET 100 keys", |b| {
        b.iter(|| black_box(classify(black_box(&mget)).keys().count()));
    });
    let object = Cmd::new("object").arg("encoding").arg("k");
    g.bench_function("object encoding (subcommand, lowercase)", |b| {
        b.iter(|| black_box(classify(black_box(&object)).first_key()));
    });
    g.finish();
}

fn replies(c: &mut Criterion) {
    let mut g = c.benchmark_group("from_value");
    let bulk = Value::Bulk(b"abc".to_vec());
    g.bench_function("String from bulk", |b| {
        b.iter(|| black_box(from_value::<String>(black_box(bulk.clone()))));
    });
    let flat = Value::Array(
        (0..20)
            .flat_map(|i| {
                [
                    Value::Bulk(format!("field{i}").into_bytes()),
                    Value::Bulk(i.to_string().into_bytes()),
                ]
            })
            .collect(),
    );
    g.bench_function("HashMap<String, i64> from 20-pair RESP2 array", |b| {
        b.iter(|| {
            black_box(from_value::<hashbrown::HashMap<String, i64>>(black_box(
                flat.clone(),
            )))
        });
    });
    g.finish();
}

criterion_group!(benches, build_and_encode, routing, replies);
criterion_main!(benches);
