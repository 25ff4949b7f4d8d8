//! Differential test against the `resp-protocol` crate (a RESP2 validator, dev-dependency
//! only) on RESP2 frames: generated valid frames and mutations of them.
//!
//! `resp-protocol` has no notion of "incomplete" (a truncated frame is an error to it) and
//! panics on some inputs (unchecked indexing); its panics are caught and the input skipped.
//! Where the two are both definite, they must agree on validity and on the consumed length,
//! except for three documented differences, each checked to be the actual reason:
//! * it rejects CR or LF inside a bulk string's payload (the length says where it ends, and
//!   Redis allows any bytes there): we accept;
//! * it rejects lengths with leading zeros (`$03`): we accept, as `strtoll`-style readers do;
//! * it does not check the digits of an integer (`:1x`, `:` and overflow pass): we reject.

use std::panic::{catch_unwind, AssertUnwindSafe};

use proptest::prelude::*;
use redis_ring_core::resp::{decode, encode_value_as, ErrorKind, Limits, Protocol, Status, Value};
use resp_protocol::{Array, BulkString, Error, Integer, SimpleString};

/// resp-protocol's verdict: `Some(Ok(end))`, `Some(Err(()))`, or `None` when it panicked.
fn theirs(data: &[u8]) -> Option<Result<usize, ()>> {
    // Keep resp-protocol's expected panics out of the test output; others still print.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info
                .location()
                .is_some_and(|l| l.file().contains("resp-protocol"))
            {
                default(info);
            }
        }));
    });
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut start = 0;
        let end = data.len();
        let result = match data.first() {
            Some(b'+') => SimpleString::while_valid(data, &mut start, &end),
            Some(b'-') => Error::while_valid(data, &mut start, &end),
            Some(b':') => Integer::while_valid(data, &mut start, &end),
            Some(b'$') => BulkString::while_valid(data, &mut start, &end),
            Some(b'*') => Array::while_valid(data, &mut start, &end),
            _ => return Err(()),
        };
        result.map(|()| start).map_err(|_| ())
    }));
    outcome.ok()
}

/// Ours: `Some(Ok(consumed))`, `Some(Err(kind))`, or `None` for Partial.
fn ours(data: &[u8]) -> Option<Result<usize, ErrorKind>> {
    match decode(data, &Limits::default()) {
        Ok(Status::Complete((_, used))) => Some(Ok(used)),
        Ok(Status::Partial) => None,
        Err(e) => Some(Err(e.kind())),
    }
}

/// Whether the frame at the start of `data` uses only RESP2 types throughout.
fn resp2_only(v: &Value) -> bool {
    match v {
        Value::Nil | Value::Okay | Value::Simple(_) | Value::Error(_) | Value::Int(_) => true,
        Value::Bulk(_) => true,
        Value::Array(items) => items.iter().all(resp2_only),
        _ => false,
    }
}

/// A documented reason for resp-protocol to reject what we accept.
fn they_reject_legitimately(v: &Value, wire: &[u8]) -> bool {
    fn payload_has_newline(v: &Value) -> bool {
        match v {
            Value::Bulk(b) => b.contains(&b'\r') || b.contains(&b'\n'),
            Value::Array(items) => items.iter().any(payload_has_newline),
            _ => false,
        }
    }
    let leading_zero = wire
        .windows(3)
        .any(|w| (w[0] == b'$' || w[0] == b'*') && w[1] == b'0' && w[2].is_ascii_digit());
    payload_has_newline(v) || leading_zero
}

fn compare(data: &[u8]) {
    let Some(theirs) = theirs(data) else { return };
    let Some(ours) = ours(data) else {
        // Partial for us: a truncated frame, which resp-protocol can only call an error.
        assert!(
            theirs.is_err(),
            "{:?}: they accept a prefix we need more of",
            String::from_utf8_lossy(data)
        );
        return;
    };
    let show = String::from_utf8_lossy(data);
    match (ours, theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{show}: consumed lengths differ"),
        (Err(kind), Ok(_)) => assert!(
            matches!(kind, ErrorKind::ExpectedDigit | ErrorKind::Overflow),
            "{show}: they accept, we reject with {kind:?}"
        ),
        (Ok(used), Err(())) => {
            let frame = decode(data, &Limits::default())
                .unwrap()
                .complete()
                .unwrap()
                .0;
            let v = frame.to_value();
            // RESP3 types are outside resp-protocol's language.
            if resp2_only(&v) {
                assert!(
                    they_reject_legitimately(&v, &data[..used]),
                    "{show}: we accept {v:?}, they reject"
                );
            }
        }
        (Err(_), Err(())) => {}
    }
}

fn resp2_value() -> impl Strategy<Value = Value> {
    let line = prop::collection::vec(b' '..=b'~', 0..10);
    let leaf = prop_oneof![
        Just(Value::Nil),
        Just(Value::Okay),
        line.clone()
            .prop_filter("not OK", |s| s != b"OK")
            .prop_map(Value::Simple),
        line.prop_map(Value::Error),
        any::<i64>().prop_map(Value::Int),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bulk),
    ];
    leaf.prop_recursive(3, 30, 5, |inner| {
        prop::collection::vec(inner, 0..5).prop_map(Value::Array)
    })
}

fn resp2(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value_as(v, Protocol::Resp2, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn valid_frames_agree(v in resp2_value()) {
        let wire = resp2(&v);
        compare(&wire);
        let mut longer = wire;
        longer.extend_from_slice(b":1\r\n");
        compare(&longer);
    }

    #[test]
    fn mutated_frames_agree(
        v in resp2_value(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(&b"+-:$*\r\n0123456789-?xa "[..]),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut wire = resp2(&v);
        let i = at.index(wire.len());
        wire[i] = byte;
        compare(&wire);
        compare(&wire[..cut.index(wire.len() + 1)]);
        let mut inserted = resp2(&v);
        inserted.insert(i, byte);
        compare(&inserted);
    }
}

#[test]
fn known_differences_are_what_the_docs_say() {
    // Bulk payload containing CRLF: valid RESP, resp-protocol rejects it.
    assert_eq!(ours(b"$4\r\na\r\nb\r\n"), Some(Ok(10)));
    assert_eq!(theirs(b"$4\r\na\r\nb\r\n"), Some(Err(())));
    // Integer digits are not checked by resp-protocol.
    assert_eq!(ours(b":1x\r\n"), Some(Err(ErrorKind::ExpectedDigit)));
    assert_eq!(theirs(b":1x\r\n"), Some(Ok(5)));
    // Agreement on the ordinary cases.
    for wire in [
        &b"+OK\r\n"[..],
        b"$3\r\nfoo\r\n",
        b"*2\r\n:1\r\n$-1\r\n",
        b"*-1\r\n",
        b"-ERR x\r\n",
    ] {
        assert_eq!(ours(wire).unwrap().ok(), theirs(wire).unwrap().ok());
    }
}
