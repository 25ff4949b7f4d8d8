//! RESP codec benchmarks against the `redis-protocol` crate, on identical bytes.
//!
//! For each reply shape: ours as the client uses it (`decode`: a lazy, zero-copy frame), ours
//! walking every element (for aggregates: what a consumer of an MGET reply does), ours into an
//! owned `Value`; against redis-protocol's zero-copy `decode_range` and its owned `decode`.
//! Encoding `SET key value`: ours into a reused `Vec`, theirs with `encode_borrowed` (its
//! allocation-free form, frame built outside the loop) into a reused slice.
//!
//! Run pinned: `taskset -c 1 cargo bench -p redis-ring-core --bench resp`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use redis_ring_core::resp::{decode, encode_command, encode_value, Frame, Limits, Status, Value};

/// Reads every scalar of a frame (as a consumer would), without allocating.
fn walk(frame: &Frame<'_>) -> usize {
    match frame.as_aggregate() {
        Some(agg) => agg.iter().map(|f| walk(&f)).sum(),
        None => frame.as_bytes().map_or(1, <[u8]>::len),
    }
}

fn cases() -> Vec<(&'static str, Vec<u8>, bool)> {
    let mut mget = Vec::new();
    encode_value(
        &Value::Array(
            (0..100)
                .map(|i| Value::Bulk(format!("value-{i:04}").into_bytes()))
                .collect(),
        ),
        &mut mget,
    );
    assert_eq!(
        mget.len(),
        "*100\r\n".len() + 100 * "$10\r\nvalue-0000\r\n".len()
    );
    let leaf = |i: i64| {
        Value::Map(
            (0..3)
                .map(|j| {
                    (
                        Value::Simple(format!("f{j}").into_bytes()),
                        Value::Int(i * 10 + j),
                    )
                })
                .collect(),
        )
    };
    let mid = |i: i64| {
        Value::Map(
            (0..3)
                .map(|j| (Value::Simple(format!("m{j}").into_bytes()), leaf(i * 3 + j)))
                .collect(),
        )
    };
    let mut map = Vec::new();
    encode_value(
        &Value::Map(
            (0..3)
                .map(|i| (Value::Simple(format!("k{i}").into_bytes()), mid(i)))
                .collect(),
        ),
        &mut map,
    );
    let mut bulk100 = b"$100\r\n".to_vec();
    bulk100.extend_from_slice(&[b'x'; 100]);
    bulk100.extend_from_slice(b"\r\n");
    vec![
        ("bulk_3", b"$3\r\nfoo\r\n".to_vec(), false),
        ("bulk_100", bulk100, false),
        ("integer", b":1234567\r\n".to_vec(), false),
        ("array_100x10", mget, false),
        ("map_3_levels", map, true),
    ]
}

fn bench_decode(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, wire, resp3) in cases() {
        let mut group = c.benchmark_group(format!("decode/{name}"));
        let wire = wire.as_slice();
        group.bench_function("ours", |b| {
            b.iter(|| match decode(black_box(wire), &limits) {
                Ok(Status::Complete((frame, used))) => black_box((frame, used)).1,
                _ => unreachable!(),
            });
        });
        group.bench_function("ours_walk", |b| {
            b.iter(|| match decode(black_box(wire), &limits) {
                Ok(Status::Complete((frame, used))) => walk(&frame) + used,
                _ => unreachable!(),
            });
        });
        group.bench_function("ours_value", |b| {
            b.iter(|| match decode(black_box(wire), &limits) {
                Ok(Status::Complete((frame, used))) => {
                    black_box(frame.to_value()).is_nil() as usize + used
                }
                _ => unreachable!(),
            });
        });
        if resp3 {
            use redis_protocol::resp3::decode::complete;
            group.bench_function("redis_protocol_range", |b| {
                b.iter(|| black_box(complete::decode_range(black_box(wire)).unwrap().unwrap()).1);
            });
            group.bench_function("redis_protocol_owned", |b| {
                b.iter(|| black_box(complete::decode(black_box(wire)).unwrap().unwrap()).1);
            });
        } else {
            use redis_protocol::resp2::decode;
            group.bench_function("redis_protocol_range", |b| {
                b.iter(|| black_box(decode::decode_range(black_box(wire)).unwrap().unwrap()).1);
            });
            group.bench_function("redis_protocol_owned", |b| {
                b.iter(|| black_box(decode::decode(black_box(wire)).unwrap().unwrap()).1);
            });
        }
        group.finish();
    }
}

fn bench_encode(c: &mut Criterion) {
    use redis_protocol::resp2::{encode::encode_borrowed, types::BorrowedFrame};
    let mut group = c.benchmark_group("encode/set_key_value");
    let mut out = Vec::with_capacity(64);
    group.bench_function("ours", |b| {
        b.iter(|| {
            out.clear();
            encode_command(black_box(&["SET", "key", "value"]), &mut out);
            out.len()
        });
    });
    let parts = [
        BorrowedFrame::BulkString(b"SET"),
        BorrowedFrame::BulkString(b"key"),
        BorrowedFrame::BulkString(b"value"),
    ];
    let frame = BorrowedFrame::Array(&parts);
    let mut buf = vec![0u8; 64];
    group.bench_function("redis_protocol", |b| {
        b.iter(|| encode_borrowed(&mut buf, black_box(&frame), false).unwrap());
    });
    let mut check = Vec::new();
    encode_command(&["SET", "key", "value"], &mut check);
    let n = encode_borrowed(&mut buf, &frame, false).unwrap();
    assert_eq!(&buf[..n], &check[..], "both encoders write the same bytes");
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = bench_decode, bench_encode }
criterion_main!(benches);
