//! Fuzz check `resp_roundtrip`: a `Value` built from the fuzzer's bytes is encoded (RESP3) and
//! decoded back to itself with `consumed == len`; its RESP2 form decodes too; and the bytes
//! cut into arguments survive `encode_command` → `decode` as an array of bulk strings.

use redis_ring_core::resp::{
    decode, encode_command, encode_command_into, encode_value, encode_value_as, encoded_len,
    Limits, Protocol, Status, Value,
};

/// A cursor over the fuzzer's bytes; runs out into zeros.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }
    fn take(&mut self, max: usize) -> Vec<u8> {
        let n = (usize::from(self.byte()) % (max + 1)).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head.to_vec()
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |acc, _| acc << 8 | u64::from(self.byte()))
    }
}

/// Builds a value from bytes; nesting stops at depth 6.
fn build(b: &mut Bytes<'_>, depth: usize) -> Value {
    let tag = b.byte() % 16;
    let aggregate = depth < 6 && !b.0.is_empty();
    let items = |b: &mut Bytes<'_>| {
        let n = usize::from(b.byte() % 5);
        (0..n).map(|_| build(b, depth + 1)).collect::<Vec<_>>()
    };
    let line = |b: &mut Bytes<'_>| -> Vec<u8> {
        b.take(24)
            .into_iter()
            .filter(|&c| c != b'\r' && c != b'\n')
            .collect()
    };
    match tag {
        0 => Value::Nil,
        1 => Value::Okay,
        2 => match line(b) {
            s if s == b"OK" => Value::Okay,
            s => Value::Simple(s),
        },
        3 => Value::Error(line(b)),
        4 => Value::Int(b.u64() as i64),
        5 => Value::Bulk(b.take(40)),
        6 => Value::Boolean(b.byte() & 1 == 1),
        7 => Value::Double(f64::from_bits(b.u64())),
        8 => {
            let mut digits: Vec<u8> = b.take(30).iter().map(|d| b'0' + d % 10).collect();
            if digits.is_empty() {
                digits.push(b'0');
            }
            if b.byte() & 1 == 1 {
                digits.insert(0, b'-');
            }
            Value::BigNumber(digits)
        }
        9 => Value::BulkError(b.take(40)),
        10 => Value::Verbatim {
            format: [b.byte(), b.byte(), b.byte()],
            text: b.take(40),
        },
        11 if aggregate => Value::Array(items(b)),
        12 if aggregate => {
            let n = usize::from(b.byte() % 4);
            Value::Map(
                (0..n)
                    .map(|_| (build(b, depth + 1), build(b, depth + 1)))
                    .collect(),
            )
        }
        13 if aggregate => Value::Set(items(b)),
        14 if aggregate => Value::Push(items(b)),
        15 if aggregate => {
            let n = usize::from(b.byte() % 3);
            let attributes = (0..n)
                .map(|_| (build(b, depth + 1), build(b, depth + 1)))
                .collect();
            Value::Attribute {
                attributes,
                value: Box::new(build(b, depth + 1)),
            }
        }
        _ => Value::Int(i64::from(tag)),
    }
}

/// Runs the check; panics when an invariant breaks.
pub fn check(data: &[u8]) {
    let limits = Limits::default();
    let value = build(&mut Bytes(data), 0);
    let mut wire = Vec::new();
    encode_value(&value, &mut wire);
    let Ok(Status::Complete((frame, used))) = decode(&wire, &limits) else {
        panic!(
            "{value:?} encodes to undecodable {:?}",
            String::from_utf8_lossy(&wire)
        );
    };
    assert_eq!(used, wire.len());
    // Debug text compares NaN payload-insensitively but exactly otherwise.
    assert_eq!(format!("{:?}", frame.to_value()), format!("{value:?}"));

    let mut resp2 = Vec::new();
    encode_value_as(&value, Protocol::Resp2, &mut resp2);
    let Ok(Status::Complete((_, used))) = decode(&resp2, &limits) else {
        panic!("RESP2 form of {value:?} does not decode");
    };
    assert_eq!(used, resp2.len());

    let args: Vec<&[u8]> = data.split(|&b| b == 0xff).collect();
    let mut out = Vec::new();
    encode_command(&args, &mut out);
    assert_eq!(out.len(), encoded_len(&args));
    let mut buf = vec![0; out.len()];
    assert_eq!(encode_command_into(&args, &mut buf), Ok(out.len()));
    assert_eq!(buf, out);
    let Ok(Status::Complete((frame, used))) = decode(&out, &limits) else {
        panic!("command does not decode");
    };
    assert_eq!(used, out.len());
    let expected = Value::Array(args.iter().map(|a| Value::Bulk(a.to_vec())).collect());
    assert_eq!(frame.to_value(), expected);
}
