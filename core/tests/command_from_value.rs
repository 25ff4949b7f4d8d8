//! `FromValue`: every conversion from both protocols' shapes, and its errors.

use std::collections::{BTreeMap, BTreeSet};

use redis_ring_core::command::{from_value, FromValue, FromValueError, ServerError, ValueKind};
use redis_ring_core::resp::Value;

fn bulk(s: &str) -> Value {
    Value::Bulk(s.as_bytes().to_vec())
}

fn conv<T: FromValue>(v: Value) -> Result<T, FromValueError> {
    T::from_value(v)
}

#[test]
fn strings_and_bytes() {
    assert_eq!(conv::<String>(bulk("héllo")).unwrap(), "héllo");
    assert_eq!(conv::<String>(Value::Okay).unwrap(), "OK");
    assert_eq!(
        conv::<String>(Value::Simple(b"PONG".to_vec())).unwrap(),
        "PONG"
    );
    assert_eq!(conv::<String>(Value::Int(-7)).unwrap(), "-7");
    assert_eq!(conv::<String>(Value::Double(1.5)).unwrap(), "1.5");
    assert_eq!(
        conv::<String>(Value::Verbatim {
            format: *b"txt",
            text: b"hi".to_vec()
        })
        .unwrap(),
        "hi"
    );
    assert_eq!(
        conv::<String>(Value::BigNumber(b"123456789012345678901234567890".to_vec())).unwrap(),
        "123456789012345678901234567890"
    );
    assert_eq!(
        conv::<Vec<u8>>(Value::Bulk(vec![0, 255, 13])).unwrap(),
        vec![0, 255, 13]
    );
    assert_eq!(conv::<Vec<u8>>(Value::Int(12)).unwrap(), b"12".to_vec());
    assert_eq!(
        conv::<String>(Value::Bulk(vec![0xff])),
        Err(FromValueError::InvalidValue {
            expected: "String",
            reason: "the reply is not valid UTF-8"
        })
    );
    assert_eq!(
        conv::<String>(Value::Nil),
        Err(FromValueError::UnexpectedType {
            expected: "string",
            got: ValueKind::Nil
        })
    );
    assert_eq!(
        conv::<String>(Value::Array(vec![])),
        Err(FromValueError::UnexpectedType {
            expected: "string",
            got: ValueKind::Array
        })
    );
}

#[test]
fn integers() {
    assert_eq!(conv::<i64>(Value::Int(-5)).unwrap(), -5);
    assert_eq!(conv::<i64>(bulk("42")).unwrap(), 42);
    assert_eq!(conv::<i64>(Value::Simple(b"-3".to_vec())).unwrap(), -3);
    assert_eq!(conv::<u8>(Value::Int(255)).unwrap(), 255);
    assert_eq!(conv::<i64>(Value::Double(3.0)).unwrap(), 3);
    assert_eq!(conv::<i64>(Value::Boolean(true)).unwrap(), 1);
    assert_eq!(
        conv::<u128>(Value::BigNumber(
            b"340282366920938463463374607431768211455".to_vec()
        ))
        .unwrap(),
        u128::MAX
    );
    assert!(matches!(
        conv::<u8>(Value::Int(256)),
        Err(FromValueError::InvalidValue { expected: "u8", .. })
    ));
    assert!(matches!(
        conv::<u32>(Value::Int(-1)),
        Err(FromValueError::InvalidValue {
            expected: "u32",
            ..
        })
    ));
    assert!(matches!(
        conv::<i64>(bulk("4x")),
        Err(FromValueError::InvalidValue {
            expected: "i64",
            ..
        })
    ));
    assert!(matches!(
        conv::<i64>(Value::Double(1.5)),
        Err(FromValueError::InvalidValue { .. })
    ));
    assert!(matches!(
        conv::<i8>(Value::Double(1e10)),
        Err(FromValueError::InvalidValue { .. })
    ));
    assert!(matches!(
        conv::<i64>(Value::Double(f64::NAN)),
        Err(FromValueError::InvalidValue { .. })
    ));
    assert_eq!(
        conv::<i64>(Value::Nil),
        Err(FromValueError::UnexpectedType {
            expected: "integer",
            got: ValueKind::Nil
        })
    );
    assert_eq!(conv::<Option<i64>>(Value::Nil).unwrap(), None);
    assert_eq!(conv::<Option<i64>>(bulk("1")).unwrap(), Some(1));
}

#[test]
fn floats() {
    assert_eq!(conv::<f64>(Value::Double(2.5)).unwrap(), 2.5);
    assert_eq!(conv::<f64>(bulk("2.5")).unwrap(), 2.5);
    assert_eq!(conv::<f64>(Value::Int(3)).unwrap(), 3.0);
    assert_eq!(conv::<f64>(bulk("inf")).unwrap(), f64::INFINITY);
    assert_eq!(conv::<f64>(bulk("-inf")).unwrap(), f64::NEG_INFINITY);
    assert_eq!(conv::<f64>(bulk("+inf")).unwrap(), f64::INFINITY);
    assert!(conv::<f64>(bulk("nan")).unwrap().is_nan());
    assert_eq!(conv::<f32>(bulk("0.5")).unwrap(), 0.5);
    assert!(matches!(
        conv::<f64>(bulk("one")),
        Err(FromValueError::InvalidValue {
            expected: "f64",
            ..
        })
    ));
    assert!(matches!(
        conv::<f64>(Value::Nil),
        Err(FromValueError::UnexpectedType {
            expected: "double",
            ..
        })
    ));
}

#[test]
fn bools_and_unit() {
    assert!(conv::<bool>(Value::Int(1)).unwrap());
    assert!(!conv::<bool>(Value::Int(0)).unwrap());
    assert!(conv::<bool>(Value::Boolean(true)).unwrap());
    assert!(conv::<bool>(Value::Okay).unwrap());
    assert!(!conv::<bool>(Value::Nil).unwrap());
    assert!(conv::<bool>(bulk("1")).unwrap());
    assert!(!conv::<bool>(bulk("0")).unwrap());
    assert!(conv::<bool>(bulk("yes")).is_err());
    assert!(conv::<bool>(Value::Array(vec![])).is_err());
    conv::<()>(Value::Okay).unwrap();
    conv::<()>(Value::Array(vec![Value::Int(1)])).unwrap();
    assert!(conv::<()>(Value::Error(b"ERR x".to_vec())).is_err());
}

#[test]
fn server_errors_carry_the_message() {
    let e =
        conv::<String>(Value::Error(b"WRONGTYPE Operation against a key".to_vec())).unwrap_err();
    let server = e.server_error().expect("a server error");
    assert_eq!(server.code(), Some("WRONGTYPE"));
    assert_eq!(server.message(), "WRONGTYPE Operation against a key");
    assert_eq!(
        e.to_string(),
        "server error: WRONGTYPE Operation against a key"
    );
    let e = conv::<Value>(Value::BulkError(b"SYNTAX bad".to_vec())).unwrap_err();
    assert_eq!(e, FromValueError::Server(ServerError::new(b"SYNTAX bad")));
    // Inside an aggregate too (EXEC replies carry per-command errors).
    let e = conv::<Vec<i64>>(Value::Array(vec![
        Value::Int(1),
        Value::Error(b"ERR no".to_vec()),
    ]))
    .unwrap_err();
    assert_eq!(e.server_error().unwrap().message(), "ERR no");
    assert_eq!(ServerError::new(b"oops lowercase").code(), None);
    // Option does not hide errors.
    assert!(conv::<Option<i64>>(Value::Error(b"ERR".to_vec())).is_err());
    // But Value keeps nested errors as they are.
    let v = conv::<Value>(Value::Array(vec![Value::Error(b"ERR no".to_vec())])).unwrap();
    assert_eq!(v, Value::Array(vec![Value::Error(b"ERR no".to_vec())]));
}

#[test]
fn attributes_are_skipped() {
    let v = Value::Attribute {
        attributes: vec![(bulk("a"), bulk("b"))],
        value: Box::new(Value::Int(5)),
    };
    assert_eq!(conv::<i64>(v.clone()).unwrap(), 5);
    assert_eq!(conv::<Value>(v.clone()).unwrap(), v);
}

#[test]
fn sequences() {
    let arr = Value::Array(vec![bulk("a"), bulk("b")]);
    assert_eq!(conv::<Vec<String>>(arr.clone()).unwrap(), ["a", "b"]);
    assert_eq!(
        conv::<Vec<String>>(Value::Set(vec![bulk("a")])).unwrap(),
        ["a"]
    );
    assert_eq!(
        conv::<Vec<String>>(Value::Nil).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        conv::<Vec<Option<String>>>(Value::Array(vec![bulk("a"), Value::Nil])).unwrap(),
        [Some("a".into()), None]
    );
    assert_eq!(
        conv::<Vec<Vec<u8>>>(arr).unwrap(),
        [b"a".to_vec(), b"b".to_vec()]
    );
    assert_eq!(
        conv::<Vec<i64>>(Value::Array(vec![Value::Int(1), bulk("2")])).unwrap(),
        [1, 2]
    );
    // A map is flattened for a plain Vec (HGETALL as Vec<String> in RESP3).
    let map = Value::Map(vec![(bulk("f"), bulk("v"))]);
    assert_eq!(conv::<Vec<String>>(map).unwrap(), ["f", "v"]);
    assert!(matches!(
        conv::<Vec<String>>(Value::Int(1)),
        Err(FromValueError::UnexpectedType {
            expected: "array",
            ..
        })
    ));
    assert!(matches!(
        conv::<Vec<String>>(bulk("x")),
        Err(FromValueError::UnexpectedType {
            expected: "array",
            ..
        })
    ));
    let sets: BTreeSet<String> = conv(Value::Set(vec![bulk("b"), bulk("a"), bulk("a")])).unwrap();
    assert_eq!(sets.into_iter().collect::<Vec<_>>(), ["a", "b"]);
    let hs: hashbrown::HashSet<i64> =
        conv(Value::Array(vec![Value::Int(1), Value::Int(1)])).unwrap();
    assert_eq!(hs.len(), 1);
}

#[test]
fn tuples() {
    let v = Value::Array(vec![bulk("k"), Value::Int(2), Value::Nil]);
    let t: (String, i64, Option<String>) = conv(v).unwrap();
    assert_eq!(t, ("k".into(), 2, None));
    assert_eq!(
        conv::<(String, String)>(Value::Array(vec![bulk("a")])),
        Err(FromValueError::WrongLength {
            expected: 2,
            got: 1
        })
    );
    let six: (i64, i64, i64, i64, i64, i64) =
        conv(Value::Array((1..=6).map(Value::Int).collect())).unwrap();
    assert_eq!(six, (1, 2, 3, 4, 5, 6));
    let one: (i64,) = conv(Value::Array(vec![Value::Int(9)])).unwrap();
    assert_eq!(one, (9,));
}

#[test]
fn pairs_from_both_protocols() {
    // ZRANGE .. WITHSCORES: RESP2 flat strings, RESP3 array of [member, double].
    let resp2 = Value::Array(vec![bulk("m1"), bulk("1.5"), bulk("m2"), bulk("inf")]);
    let resp3 = Value::Array(vec![
        Value::Array(vec![bulk("m1"), Value::Double(1.5)]),
        Value::Array(vec![bulk("m2"), Value::Double(f64::INFINITY)]),
    ]);
    let want = vec![("m1".to_string(), 1.5), ("m2".to_string(), f64::INFINITY)];
    assert_eq!(conv::<Vec<(String, f64)>>(resp2).unwrap(), want);
    assert_eq!(conv::<Vec<(String, f64)>>(resp3).unwrap(), want);
    assert_eq!(
        conv::<Vec<(String, f64)>>(Value::Array(vec![bulk("m1")])),
        Err(FromValueError::WrongLength {
            expected: 2,
            got: 1
        })
    );
    // Triples from a flat array.
    let flat = Value::Array((1..=6).map(Value::Int).collect());
    assert_eq!(
        conv::<Vec<(i64, i64, i64)>>(flat).unwrap(),
        [(1, 2, 3), (4, 5, 6)]
    );
}

#[test]
fn maps_from_both_protocols() {
    // HGETALL: RESP2 flat array, RESP3 map.
    let resp2 = Value::Array(vec![bulk("f1"), bulk("1"), bulk("f2"), bulk("2")]);
    let resp3 = Value::Map(vec![(bulk("f1"), bulk("1")), (bulk("f2"), bulk("2"))]);
    let want: BTreeMap<String, i64> = [("f1".to_string(), 1), ("f2".to_string(), 2)].into();
    assert_eq!(conv::<BTreeMap<String, i64>>(resp2.clone()).unwrap(), want);
    assert_eq!(conv::<BTreeMap<String, i64>>(resp3.clone()).unwrap(), want);
    let hb: hashbrown::HashMap<String, i64> = conv(resp3.clone()).unwrap();
    assert_eq!(hb.len(), 2);
    assert_eq!(hb["f2"], 2);
    let hb: hashbrown::HashMap<String, i64> = conv(resp2).unwrap();
    assert_eq!(hb["f1"], 1);
    assert_eq!(
        conv::<Vec<(String, i64)>>(resp3).unwrap(),
        [("f1".to_string(), 1), ("f2".to_string(), 2)]
    );
    assert!(conv::<BTreeMap<String, i64>>(Value::Nil)
        .unwrap()
        .is_empty());
    assert_eq!(
        conv::<BTreeMap<String, String>>(Value::Array(vec![bulk("odd")])),
        Err(FromValueError::WrongLength {
            expected: 2,
            got: 1
        })
    );
    // CONFIG GET in RESP3 returns a map; a 2-tuple takes a one-pair map.
    let one: (String, String) = conv(Value::Map(vec![(bulk("maxmemory"), bulk("0"))])).unwrap();
    assert_eq!(one, ("maxmemory".into(), "0".into()));
}

#[cfg(feature = "std")]
#[test]
fn std_collections() {
    let resp3 = Value::Map(vec![(bulk("f1"), bulk("1"))]);
    let m: std::collections::HashMap<String, i64> = from_value(resp3).unwrap();
    assert_eq!(m["f1"], 1);
    let s: std::collections::HashSet<String> = from_value(Value::Set(vec![bulk("a")])).unwrap();
    assert!(s.contains("a"));
}

#[test]
fn errors_display_what_was_expected_and_what_arrived() {
    let e = from_value::<i64>(Value::Array(vec![])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "reply type mismatch: expected integer, got array"
    );
    let e = from_value::<u8>(Value::Int(300)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid reply: expected u8, the number is out of range"
    );
    let e = from_value::<(i64, i64)>(Value::Array(vec![])).unwrap_err();
    assert!(e.to_string().contains("0 elements"));
}
