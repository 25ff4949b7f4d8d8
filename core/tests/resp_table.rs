//! Table tests for the RESP codec (httparse style): every type complete, split at every byte
//! boundary (each strict prefix `Partial`, with `decode` and with a resumable `Decoder`),
//! and invalid variants with their exact error offset and kind.

use redis_ring_core::resp::{
    decode, encode_value, encode_value_as, Decoder, ErrorKind, Frame, Kind, Limits, Protocol,
    Status, Value,
};

fn bulk(s: &str) -> Value {
    Value::Bulk(s.as_bytes().to_vec())
}
fn simple(s: &str) -> Value {
    Value::Simple(s.as_bytes().to_vec())
}

/// NaN-aware structural equality (Value's PartialEq follows f64: NaN != NaN).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits() || x == y,
        (Value::Array(x), Value::Array(y))
        | (Value::Set(x), Value::Set(y))
        | (Value::Push(x), Value::Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        (
            Value::Attribute {
                attributes: a1,
                value: v1,
            },
            Value::Attribute {
                attributes: a2,
                value: v2,
            },
        ) => same(&Value::Map(a1.clone()), &Value::Map(a2.clone())) && same(v1, v2),
        _ => a == b,
    }
}

fn complete<'a>(wire: &'a [u8], limits: &Limits) -> (Frame<'a>, usize) {
    match decode(wire, limits) {
        Ok(Status::Complete(done)) => done,
        other => panic!(
            "{:?}: expected Complete, got {other:?}",
            String::from_utf8_lossy(wire)
        ),
    }
}

/// The whole check for one valid frame.
fn check_valid(wire: &[u8], expected: &Value) {
    let limits = Limits::default();
    let show = String::from_utf8_lossy(wire);
    let (frame, used) = complete(wire, &limits);
    assert_eq!(used, wire.len(), "{show}: consumed");
    assert_eq!(frame.raw(), wire, "{show}: raw");
    let value = frame.to_value();
    assert!(
        same(&value, expected),
        "{show}: got {value:?}, want {expected:?}"
    );

    // Followed by more data: the same frame, the same length.
    let mut longer = wire.to_vec();
    longer.extend_from_slice(b"+next\r\n:1\r\n");
    let (frame2, used2) = complete(&longer, &limits);
    assert_eq!(used2, wire.len(), "{show}: consumed with trailing data");
    assert!(same(&frame2.to_value(), expected));

    // Every strict prefix is Partial, never an error.
    let mut decoder = Decoder::default();
    for end in 0..wire.len() {
        assert_eq!(
            decode(&wire[..end], &limits),
            Ok(Status::Partial),
            "{show}: prefix of {end} bytes"
        );
        assert_eq!(
            decoder.decode(&wire[..end]),
            Ok(Status::Partial),
            "{show}: resumable, prefix of {end} bytes"
        );
    }
    // The resumable decoder, fed byte by byte, ends with the same frame.
    let Ok(Status::Complete((frame3, used3))) = decoder.decode(wire) else {
        panic!("{show}: resumable decoder did not complete");
    };
    assert_eq!(used3, wire.len());
    assert!(same(&frame3.to_value(), expected), "{show}: resumable");
    // ...and is ready for the next frame.
    assert!(
        matches!(decoder.decode(b":7\r\n"), Ok(Status::Complete((f, 4))) if f.as_int() == Some(7))
    );

    // The owned value encodes (RESP3) to something that decodes back to it.
    let mut out = Vec::new();
    encode_value(expected, &mut out);
    let (again, used4) = complete(&out, &limits);
    assert_eq!(used4, out.len());
    assert!(
        same(&again.to_value(), expected),
        "{show}: re-encoded as {:?}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn every_type_complete_and_split_at_every_byte() {
    let cases: Vec<(&[u8], Value)> = vec![
        // simple strings
        (b"+OK\r\n", Value::Okay),
        (b"+hello world\r\n", simple("hello world")),
        (b"+\r\n", simple("")),
        (b"+OKAY\r\n", simple("OKAY")),
        // simple errors
        (
            b"-ERR unknown command\r\n",
            Value::Error(b"ERR unknown command".to_vec()),
        ),
        (b"-\r\n", Value::Error(Vec::new())),
        // integers
        (b":0\r\n", Value::Int(0)),
        (b":-1\r\n", Value::Int(-1)),
        (b":+5\r\n", Value::Int(5)),
        (b":0042\r\n", Value::Int(42)),
        (b":9223372036854775807\r\n", Value::Int(i64::MAX)),
        (b":-9223372036854775808\r\n", Value::Int(i64::MIN)),
        // bulk strings
        (b"$3\r\nfoo\r\n", bulk("foo")),
        (b"$0\r\n\r\n", bulk("")),
        (b"$4\r\na\r\nb\r\n", bulk("a\r\nb")),
        (b"$11\r\n$3\r\nfoo\r\n+x\r\n", bulk("$3\r\nfoo\r\n+x")),
        (b"$2\r\n\xff\x00\r\n", Value::Bulk(vec![0xff, 0])),
        // nulls
        (b"$-1\r\n", Value::Nil),
        (b"*-1\r\n", Value::Nil),
        (b"_\r\n", Value::Nil),
        // arrays
        (b"*0\r\n", Value::Array(vec![])),
        (
            b"*2\r\n$1\r\na\r\n:1\r\n",
            Value::Array(vec![bulk("a"), Value::Int(1)]),
        ),
        (
            b"*3\r\n*1\r\n+a\r\n*0\r\n$-1\r\n",
            Value::Array(vec![
                Value::Array(vec![simple("a")]),
                Value::Array(vec![]),
                Value::Nil,
            ]),
        ),
        (
            b"*1\r\n*1\r\n*1\r\n_\r\n",
            Value::Array(vec![Value::Array(vec![Value::Array(vec![Value::Nil])])]),
        ),
        // booleans
        (b"#t\r\n", Value::Boolean(true)),
        (b"#f\r\n", Value::Boolean(false)),
        // doubles
        (b",1.5\r\n", Value::Double(1.5)),
        (b",-0.25\r\n", Value::Double(-0.25)),
        (b",10\r\n", Value::Double(10.0)),
        (b",1e300\r\n", Value::Double(1e300)),
        (b",1.5e-7\r\n", Value::Double(1.5e-7)),
        (b",inf\r\n", Value::Double(f64::INFINITY)),
        (b",-inf\r\n", Value::Double(f64::NEG_INFINITY)),
        (b",nan\r\n", Value::Double(f64::NAN)),
        // big numbers
        (
            b"(3492890328409238509324850943850943825024385\r\n",
            Value::BigNumber(b"3492890328409238509324850943850943825024385".to_vec()),
        ),
        (b"(-12\r\n", Value::BigNumber(b"-12".to_vec())),
        // bulk errors
        (
            b"!21\r\nSYNTAX invalid syntax\r\n",
            Value::BulkError(b"SYNTAX invalid syntax".to_vec()),
        ),
        (b"!0\r\n\r\n", Value::BulkError(Vec::new())),
        // verbatim strings
        (
            b"=15\r\ntxt:Some string\r\n",
            Value::Verbatim {
                format: *b"txt",
                text: b"Some string".to_vec(),
            },
        ),
        (
            b"=4\r\nmkd:\r\n",
            Value::Verbatim {
                format: *b"mkd",
                text: Vec::new(),
            },
        ),
        // maps
        (b"%0\r\n", Value::Map(vec![])),
        (
            b"%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n#f\r\n",
            Value::Map(vec![
                (simple("first"), Value::Int(1)),
                (bulk("second"), Value::Boolean(false)),
            ]),
        ),
        (
            b"%1\r\n*1\r\n:1\r\n%1\r\n_\r\n~0\r\n",
            Value::Map(vec![(
                Value::Array(vec![Value::Int(1)]),
                Value::Map(vec![(Value::Nil, Value::Set(vec![]))]),
            )]),
        ),
        // sets
        (
            b"~3\r\n:1\r\n:2\r\n+x\r\n",
            Value::Set(vec![Value::Int(1), Value::Int(2), simple("x")]),
        ),
        // pushes
        (
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            Value::Push(vec![bulk("message"), bulk("ch"), bulk("hi")]),
        ),
        // attributes: attached to the next frame, counted in the length
        (
            b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2039123\r\n",
            Value::Attribute {
                attributes: vec![(
                    simple("key-popularity"),
                    Value::Map(vec![(bulk("a"), Value::Double(0.19))]),
                )],
                value: Box::new(Value::Array(vec![Value::Int(2039123)])),
            },
        ),
        (
            b"|0\r\n+OK\r\n",
            Value::Attribute {
                attributes: vec![],
                value: Box::new(Value::Okay),
            },
        ),
        (
            b"|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n:2\r\n$1\r\nv\r\n",
            Value::Attribute {
                attributes: vec![(simple("a"), Value::Int(1))],
                value: Box::new(Value::Attribute {
                    attributes: vec![(simple("b"), Value::Int(2))],
                    value: Box::new(bulk("v")),
                }),
            },
        ),
        (
            b"*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n",
            Value::Array(vec![
                Value::Attribute {
                    attributes: vec![(simple("ttl"), Value::Int(3600))],
                    value: Box::new(Value::Int(1)),
                },
                Value::Int(2),
            ]),
        ),
    ];
    for (wire, expected) in &cases {
        check_valid(wire, expected);
    }
}

fn check_invalid(wire: &[u8], limits: &Limits, offset: usize, kind: ErrorKind) {
    let show = String::from_utf8_lossy(wire);
    assert_eq!(
        decode(wire, limits).map_err(|e| (e.offset(), e.kind())),
        Err((offset, kind)),
        "{show}"
    );
    // The resumable decoder reports the same error, fed in one go or byte by byte.
    let mut decoder = Decoder::new(*limits);
    let mut got = None;
    for end in 0..=wire.len() {
        match decoder.decode(&wire[..end]) {
            Ok(Status::Partial) => {}
            Ok(Status::Complete(_)) => panic!("{show}: resumable decoder completed"),
            Err(e) => {
                got = Some(e);
                break;
            }
        }
    }
    assert_eq!(
        got.map(|e| (e.offset(), e.kind())),
        Some((offset, kind)),
        "{show}: resumable"
    );
}

#[test]
fn invalid_inputs_give_offset_and_kind() {
    use ErrorKind::*;
    let d = Limits::default();
    let cases: &[(&[u8], usize, ErrorKind)] = &[
        // type byte
        (b"x", 0, UnknownType(b'x')),
        (b"\r\n", 0, UnknownType(b'\r')),
        (b"GET / HTTP/1.1\r\n", 0, UnknownType(b'G')),
        (b"*2\r\n:1\r\n@\r\n", 8, UnknownType(b'@')),
        // simple strings and errors: lone CR / LF
        (b"+a\nb\r\n", 2, StrayNewline),
        (b"+a\rb\r\n", 3, ExpectedLf),
        (b"-ERR\n", 4, StrayNewline),
        // integers
        (b":\r\n", 1, ExpectedDigit),
        (b":-\r\n", 2, ExpectedDigit),
        (b":12a\r\n", 3, ExpectedDigit),
        (b": 1\r\n", 1, ExpectedDigit),
        (b":1\n", 2, StrayNewline),
        (b":1\rx", 3, ExpectedLf),
        (b":9223372036854775808\r\n", 1, Overflow),
        (b":-9223372036854775809\r\n", 2, Overflow),
        (b":99999999999999999999999\r\n", 1, Overflow),
        // bulk strings
        (b"$\r\n", 1, ExpectedDigit),
        (b"$abc\r\n", 1, ExpectedDigit),
        (b"$1x\r\nab\r\n", 2, ExpectedDigit),
        (b"$+1\r\na\r\n", 1, ExpectedDigit),
        (b"$-2\r\n", 1, NegativeLength),
        (b"$-0\r\n", 1, NegativeLength),
        (b"$-01\r\n", 1, NegativeLength),
        (b"*-001\r\n", 1, NegativeLength),
        (b"$-1x\r\n", 3, ExpectedDigit),
        (b"$3\r\nfooXY", 7, ExpectedCrlf),
        (b"$3\r\nfoo\rX", 7, ExpectedCrlf),
        (b"$3\r\nfoobar\r\n", 7, ExpectedCrlf),
        (b"$1\rx", 3, ExpectedLf),
        (b"$536870913\r\n", 1, BulkTooLong),
        (b"$99999999999999999999999999\r\n", 1, BulkTooLong),
        (b"$?\r\n;4\r\nHell\r\n;0\r\n", 1, Streamed),
        // aggregates
        (b"*-2\r\n", 1, NegativeLength),
        (b"%-1\r\n", 1, NegativeLength),
        (b"~-1\r\n", 1, NegativeLength),
        (b">-1\r\n", 1, NegativeLength),
        (b"|-1\r\n", 1, NegativeLength),
        (b"*16777217\r\n", 1, TooManyElements),
        (b"*?\r\n:1\r\n.\r\n", 1, Streamed),
        (b"%?\r\n", 1, Streamed),
        (b";4\r\nHell\r\n", 0, Streamed),
        (b".\r\n", 0, Streamed),
        (b"*2\r\n:1\r\n:x\r\n", 9, ExpectedDigit),
        (b"%1\r\n+k\r\n$2\r\nab\r\r", 14, ExpectedCrlf),
        // null, boolean
        (b"_x\r\n", 1, InvalidNull),
        (b"_\rx", 2, ExpectedLf),
        (b"#x\r\n", 1, InvalidBoolean),
        (b"#T\r\n", 1, InvalidBoolean),
        (b"#tt\r\n", 2, ExpectedCrlf),
        // doubles
        (b",\r\n", 1, InvalidDouble),
        (b",abc\r\n", 1, InvalidDouble),
        (b",1.5.5\r\n", 1, InvalidDouble),
        (b",1,5\r\n", 1, InvalidDouble),
        // big numbers
        (b"(\r\n", 1, InvalidBigNumber),
        (b"(-\r\n", 1, InvalidBigNumber),
        (b"(12a\r\n", 1, InvalidBigNumber),
        (b"(1.5\r\n", 1, InvalidBigNumber),
        // bulk errors and verbatim strings
        (b"!-1\r\n", 1, NegativeLength),
        (b"!3\r\nabcd\r\n", 7, ExpectedCrlf),
        (b"=3\r\ntxt\r\n", 4, InvalidVerbatim),
        (b"=5\r\ntxt;x\r\n", 4, InvalidVerbatim),
        (b"=-1\r\n", 1, NegativeLength),
    ];
    for (wire, offset, kind) in cases {
        check_invalid(wire, &d, *offset, *kind);
    }
}

#[test]
fn limits_are_enforced() {
    use ErrorKind::*;
    let nest = |n: usize, prefix: &[u8]| {
        let mut v = prefix.repeat(n);
        v.extend_from_slice(b":1\r\n");
        v
    };
    let d = Limits::default();
    // Depth: 64 nested arrays are fine, the 65th is refused where it starts.
    let ok = nest(64, b"*1\r\n");
    assert_eq!(complete(&ok, &d).1, ok.len());
    check_invalid(&nest(65, b"*1\r\n"), &d, 64 * 4, TooDeep);
    // Attributes count as nesting too, so a chain of them cannot be driven deep.
    check_invalid(&nest(65, b"|0\r\n"), &d, 64 * 4, TooDeep);
    check_invalid(&nest(100_000, b"*1\r\n"), &d, 64 * 4, TooDeep);
    // max_depth above MAX_DEPTH acts as MAX_DEPTH.
    let huge = Limits {
        max_depth: usize::MAX,
        ..d
    };
    let deep = nest(redis_ring_core::resp::MAX_DEPTH, b">1\r\n");
    assert_eq!(complete(&deep, &huge).1, deep.len());
    let at = redis_ring_core::resp::MAX_DEPTH * 4;
    check_invalid(
        &nest(redis_ring_core::resp::MAX_DEPTH + 1, b">1\r\n"),
        &huge,
        at,
        TooDeep,
    );
    // Zero depth: scalars and empty aggregates only.
    let flat = Limits { max_depth: 0, ..d };
    assert_eq!(complete(b"*0\r\n", &flat).1, 4);
    check_invalid(b"*1\r\n:1\r\n", &flat, 0, TooDeep);

    let small = Limits {
        max_bulk_len: 3,
        max_elements: 2,
        max_depth: 2,
        max_line_len: 4,
    };
    assert_eq!(complete(b"$3\r\nabc\r\n", &small).1, 9);
    check_invalid(b"$4\r\nabcd\r\n", &small, 1, BulkTooLong);
    check_invalid(b"!4\r\nabcd\r\n", &small, 1, BulkTooLong);
    check_invalid(b"=8\r\ntxt:abcd\r\n", &small, 1, BulkTooLong);
    assert_eq!(complete(b"*2\r\n_\r\n_\r\n", &small).1, 10);
    check_invalid(b"*3\r\n_\r\n_\r\n_\r\n", &small, 1, TooManyElements);
    // Maps and attributes count pairs.
    assert_eq!(complete(b"%2\r\n_\r\n_\r\n_\r\n_\r\n", &small).1, 16);
    check_invalid(b"%3\r\n", &small, 1, TooManyElements);
    check_invalid(b"|3\r\n", &small, 1, TooManyElements);
    // Lines: exactly the limit is fine; one more byte, even before CRLF arrives, is not.
    assert_eq!(complete(b"+abcd\r\n", &small).1, 7);
    check_invalid(b"+abcde\r\n", &small, 5, LineTooLong);
    check_invalid(b"-abcde", &small, 5, LineTooLong);
    check_invalid(b",1.25000\r\n", &small, 5, LineTooLong);
}

#[test]
fn claimed_lengths_are_not_trusted() {
    // A huge claimed bulk is Partial until its bytes arrive (the caller's buffer bounds
    // memory), and costs no allocation: here, just the header of a 512 MiB bulk.
    let d = Limits::default();
    assert_eq!(decode(b"$536870912\r\nabc", &d), Ok(Status::Partial));
    assert_eq!(decode(b"*16777216\r\n:1\r\n", &d), Ok(Status::Partial));
    // A resumable decoder knows how many bytes it needs and answers in O(1) before that.
    let mut decoder = Decoder::default();
    assert_eq!(decoder.decode(b"$10\r\nab"), Ok(Status::Partial));
    assert_eq!(decoder.decode(b"$10\r\nabXXXXXXXX"), Ok(Status::Partial));
    assert!(matches!(
        decoder.decode(b"$10\r\nabXXXXXXXX\r\n"),
        Ok(Status::Complete((f, 17))) if f.as_bulk() == Some(&b"abXXXXXXXX"[..])
    ));
}

#[test]
fn accessors_route_without_allocating() {
    let d = Limits::default();
    let f = complete(b"+OK\r\n", &d).0;
    assert!(f.is_okay() && !f.is_error() && !f.is_push() && !f.is_nil());
    assert_eq!(f.kind(), Kind::Okay);
    assert_eq!(f.as_bytes(), Some(&b"OK"[..]));

    let f = complete(b"-WRONGTYPE Operation\r\n", &d).0;
    assert_eq!(f.error_message(), Some(&b"WRONGTYPE Operation"[..]));
    let f = complete(b"!3\r\nERR\r\n", &d).0;
    assert!(f.is_error());
    assert_eq!(f.error_message(), Some(&b"ERR"[..]));

    let f = complete(b":-7\r\n", &d).0;
    assert_eq!(f.as_int(), Some(-7));
    assert_eq!(f.as_bulk(), None);
    let f = complete(b"$2\r\nhi\r\n", &d).0;
    assert_eq!(f.as_bulk(), Some(&b"hi"[..]));
    assert!(complete(b"_\r\n", &d).0.is_nil());
    assert!(complete(b"$-1\r\n", &d).0.is_nil());

    let f = complete(b"%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n", &d).0;
    let Kind::Map(map) = f.kind() else { panic!() };
    assert_eq!(map.len(), 2);
    assert_eq!(map.iter().len(), 4);
    let pairs: Vec<_> = map
        .pairs()
        .map(|(k, v)| (k.as_bytes().unwrap(), v.to_value()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (&b"a"[..], Value::Int(1)),
            (&b"b"[..], Value::Array(vec![Value::Int(2)]))
        ]
    );

    let wire = b"|2\r\n+a\r\n:1\r\n+b\r\n:2\r\n|1\r\n+c\r\n:3\r\n>2\r\n+x\r\n+y\r\n";
    let (f, used) = complete(wire, &d);
    assert_eq!(used, wire.len());
    assert!(f.is_push());
    let attrs = f.attributes().unwrap();
    let keys: Vec<_> = attrs
        .pairs()
        .map(|(k, v)| (k.as_bytes().unwrap().to_vec(), v.as_int().unwrap()))
        .collect();
    assert_eq!(
        keys,
        vec![(b"a".to_vec(), 1), (b"b".to_vec(), 2), (b"c".to_vec(), 3)]
    );
    assert_eq!(
        f.as_aggregate()
            .unwrap()
            .iter()
            .map(|e| e.as_bytes().unwrap())
            .collect::<Vec<_>>(),
        vec![&b"x"[..], b"y"]
    );
    // An attribute on an element is attached to that element.
    let (f, _) = complete(b"*2\r\n|1\r\n+ttl\r\n:9\r\n$1\r\nv\r\n:2\r\n", &d);
    let first = f.as_aggregate().unwrap().iter().next().unwrap();
    assert_eq!(first.as_bulk(), Some(&b"v"[..]));
    assert_eq!(first.attributes().unwrap().pairs().count(), 1);
}

#[test]
fn several_frames_in_one_buffer() {
    let wire = b"+OK\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n>1\r\n+p\r\n";
    let d = Limits::default();
    let mut rest = &wire[..];
    let mut values = Vec::new();
    while !rest.is_empty() {
        let (f, used) = complete(rest, &d);
        values.push(f.to_value());
        rest = &rest[used..];
    }
    assert_eq!(
        values,
        vec![
            Value::Okay,
            Value::Int(1),
            Value::Array(vec![bulk("a"), Value::Nil]),
            Value::Push(vec![simple("p")])
        ]
    );
}

#[test]
fn resp2_downgrade_of_resp3_values() {
    let cases: Vec<(Value, &[u8])> = vec![
        (Value::Nil, b"$-1\r\n"),
        (Value::Boolean(true), b":1\r\n"),
        (Value::Double(1.5), b"$3\r\n1.5\r\n"),
        (Value::Double(f64::NEG_INFINITY), b"$4\r\n-inf\r\n"),
        (Value::BigNumber(b"123".to_vec()), b"$3\r\n123\r\n"),
        (Value::BulkError(b"ERR x".to_vec()), b"-ERR x\r\n"),
        (
            Value::Verbatim {
                format: *b"txt",
                text: b"hi".to_vec(),
            },
            b"$2\r\nhi\r\n",
        ),
        (
            Value::Map(vec![(simple("k"), Value::Int(1))]),
            b"*2\r\n+k\r\n:1\r\n",
        ),
        (Value::Set(vec![Value::Int(1)]), b"*1\r\n:1\r\n"),
        (Value::Push(vec![]), b"*0\r\n"),
        (
            Value::Attribute {
                attributes: vec![(simple("a"), Value::Nil)],
                value: Box::new(Value::Int(1)),
            },
            b":1\r\n",
        ),
        (
            Value::Error(b"ERR line\r\nbreak".to_vec()),
            b"-ERR line  break\r\n",
        ),
    ];
    for (value, wire) in cases {
        let mut out = Vec::new();
        encode_value_as(&value, Protocol::Resp2, &mut out);
        assert_eq!(out, wire, "{value:?}");
    }
}

#[test]
fn errors_display_offset_and_expectation() {
    let e = decode(b"*1\r\n#maybe\r\n", &Limits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid RESP at byte 5: expected `t` or `f` (boolean)"
    );
    let e = decode(b"\x00", &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("expected a RESP type byte"), "{e}");
    let _: &dyn std::error::Error = &e;
}
