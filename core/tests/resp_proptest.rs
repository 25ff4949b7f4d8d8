//! Property tests for the RESP codec: any `Value` survives encode → decode (with
//! `consumed == len`, split anywhere, resumable or not); commands round-trip through all three
//! encoders; arbitrary and mutated bytes never panic and never claim more than they were given.

use proptest::prelude::*;
use redis_ring_core::resp::{
    decode, encode_command, encode_command_into, encode_value, encoded_len, Decoder, Frame, Kind,
    Limits, Status, Value,
};

/// Bytes that may appear in a simple string or error (no CR/LF).
fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..12,
    )
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        Just(Value::Okay),
        // `+OK` decodes as Okay, so Simple("OK") is not a round-trip value.
        line_bytes()
            .prop_filter("not OK", |s| s != b"OK")
            .prop_map(Value::Simple),
        line_bytes().prop_map(Value::Error),
        any::<i64>().prop_map(Value::Int),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bulk),
        any::<bool>().prop_map(Value::Boolean),
        // NaN != NaN; it is covered by the table tests.
        any::<f64>()
            .prop_filter("not NaN", |d| !d.is_nan())
            .prop_map(Value::Double),
        prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0)]
            .prop_map(Value::Double),
        ("-?[0-9]{1,40}").prop_map(|s| Value::BigNumber(s.into_bytes())),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(Value::BulkError),
        (
            [b'a'..=b'z', b'a'..=b'z', b'a'..=b'z'],
            prop::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|([a, b, c], text)| Value::Verbatim {
                format: [a, b, c],
                text
            }),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        let pairs = prop::collection::vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Set),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Push),
            pairs.clone().prop_map(Value::Map),
            (pairs, inner).prop_map(|(attributes, value)| Value::Attribute {
                attributes,
                value: Box::new(value)
            }),
        ]
    })
}

fn encoded(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(v, &mut out);
    out
}

/// Walks a frame through the lazy accessors, rebuilding the value: checks that iteration
/// agrees with `to_value`.
fn via_iteration(frame: &Frame<'_>) -> Value {
    let plain = match frame.kind() {
        Kind::Array(a) => Value::Array(a.iter().map(|f| via_iteration(&f)).collect()),
        Kind::Set(a) => Value::Set(a.iter().map(|f| via_iteration(&f)).collect()),
        Kind::Push(a) => Value::Push(a.iter().map(|f| via_iteration(&f)).collect()),
        Kind::Map(a) => Value::Map(
            a.pairs()
                .map(|(k, v)| (via_iteration(&k), via_iteration(&v)))
                .collect(),
        ),
        _ => {
            // A scalar: its value without the attribute layers.
            let mut v = frame.to_value();
            while let Value::Attribute { value, .. } = v {
                v = *value;
            }
            v
        }
    };
    match frame.attributes() {
        None => plain,
        Some(attrs) => {
            // Chained attribute maps are flattened by the iterator; compare flat pairs.
            let attributes = attrs
                .pairs()
                .map(|(k, v)| (via_iteration(&k), via_iteration(&v)))
                .collect();
            Value::Attribute {
                attributes,
                value: Box::new(plain),
            }
        }
    }
}

/// `v` with chained attributes flattened, as [`via_iteration`] sees them.
fn flatten_attributes(v: &Value) -> Value {
    match v {
        Value::Attribute { attributes, value } => {
            let mut attributes: Vec<_> = attributes
                .iter()
                .map(|(k, v)| (flatten_attributes(k), flatten_attributes(v)))
                .collect();
            let mut inner = flatten_attributes(value);
            if let Value::Attribute {
                attributes: more,
                value,
            } = inner
            {
                attributes.extend(more);
                inner = *value;
            }
            Value::Attribute {
                attributes,
                value: Box::new(inner),
            }
        }
        Value::Array(x) => Value::Array(x.iter().map(flatten_attributes).collect()),
        Value::Set(x) => Value::Set(x.iter().map(flatten_attributes).collect()),
        Value::Push(x) => Value::Push(x.iter().map(flatten_attributes).collect()),
        Value::Map(x) => Value::Map(
            x.iter()
                .map(|(k, v)| (flatten_attributes(k), flatten_attributes(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn value_round_trips(v in value()) {
        let wire = encoded(&v);
        let limits = Limits::default();
        let Ok(Status::Complete((frame, used))) = decode(&wire, &limits) else {
            panic!("not complete: {:?}", String::from_utf8_lossy(&wire));
        };
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(&frame.to_value(), &v);
        prop_assert_eq!(via_iteration(&frame), flatten_attributes(&v));
    }

    #[test]
    fn split_anywhere_resumes_to_the_same_frame(v in value(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let wire = encoded(&v);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len())).collect();
        cuts.sort_unstable();
        let mut decoder = Decoder::default();
        for &cut in &cuts {
            prop_assert_eq!(decode(&wire[..cut], &Limits::default()), Ok(Status::Partial));
            prop_assert_eq!(decoder.decode(&wire[..cut]), Ok(Status::Partial));
        }
        let Ok(Status::Complete((frame, used))) = decoder.decode(&wire) else { panic!("not complete") };
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(frame.to_value(), v);
    }

    #[test]
    fn commands_round_trip(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..30), 0..8)) {
        let mut out = vec![b'x'];
        encode_command(&args, &mut out);
        prop_assert_eq!(out.len() - 1, encoded_len(&args));
        let mut buf = vec![0u8; encoded_len(&args) + 3];
        let n = encode_command_into(&args, &mut buf).unwrap();
        prop_assert_eq!(&buf[..n], &out[1..]);
        prop_assert!(encode_command_into(&args, &mut buf[..n.saturating_sub(1)]).is_err() || n == 0);
        let Ok(Status::Complete((frame, used))) = decode(&out[1..], &Limits::default()) else { panic!() };
        prop_assert_eq!(used, n);
        prop_assert_eq!(frame.to_value(), Value::Array(args.into_iter().map(Value::Bulk).collect()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..64)) {
        check_any(&data);
    }

    #[test]
    fn mutated_frames_never_panic(v in value(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut wire = encoded(&v);
        if !wire.is_empty() {
            let i = at.index(wire.len());
            wire[i] = byte;
            let end = cut.index(wire.len() + 1);
            check_any(&wire[..end.max(i)]);
        }
        check_any(&wire);
    }
}

/// Decoding anything: no panic, consumed within bounds, a complete frame re-decodes from
/// exactly its bytes, and the resumable decoder agrees with the stateless one.
fn check_any(data: &[u8]) {
    let limits = Limits::default();
    let result = decode(data, &limits);
    let mut decoder = Decoder::default();
    assert_eq!(decoder.decode(data), result);
    if let Ok(Status::Complete((frame, used))) = result {
        assert!(used <= data.len() && used > 0);
        let value = frame.to_value();
        let again = decode(&data[..used], &limits).unwrap().complete().unwrap();
        assert_eq!(again.1, used);
        assert_eq!(format!("{:?}", again.0.to_value()), format!("{value:?}"));
        let _ = via_iteration(&frame);
        let _ = value.to_string();
    }
}
