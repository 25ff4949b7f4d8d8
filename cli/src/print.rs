//! Replies printed the way `redis-cli` (7.x) prints them.
//!
//! Two styles, chosen like redis-cli: [`Style::Human`] when stdout is a terminal (`"quoted"`
//! strings, `(integer) 1`, `(nil)`, numbered nested lists, RESP3 maps as `1# "k" => "v"`,
//! sets as `1~ ...`), [`Style::Raw`] otherwise (bare values one per line, what scripts read).
//! `--raw` / `--no-raw` force one or the other. The tests compare both styles byte for byte
//! with the output of redis-cli itself on the same replies.

use redis_ring_core::resp::Value;

/// How replies are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// redis-cli's terminal style.
    Human,
    /// redis-cli's `--raw` style.
    Raw,
}

/// The whole text redis-cli would print for `value`, final newline included.
pub(crate) fn format(value: &Value, style: Style) -> Vec<u8> {
    let mut out = Vec::new();
    match style {
        Style::Human => human(&mut out, value, ""),
        Style::Raw => {
            raw(&mut out, value);
            out.push(b'\n');
        }
    }
    out
}

/// An error reply as redis-cli prints it in a terminal: `(error) ERR ...`.
pub(crate) fn format_error(message: &[u8]) -> String {
    format!("(error) {}", String::from_utf8_lossy(message))
}

fn human(out: &mut Vec<u8>, value: &Value, prefix: &str) {
    match value {
        Value::Error(m) | Value::BulkError(m) => {
            out.extend_from_slice(b"(error) ");
            out.extend_from_slice(m);
        }
        Value::Okay => out.extend_from_slice(b"OK"),
        Value::Simple(s) => out.extend_from_slice(s),
        Value::Int(n) => out.extend_from_slice(format!("(integer) {n}").as_bytes()),
        Value::Double(d) => out.extend_from_slice(format!("(double) {}", double(*d)).as_bytes()),
        Value::Bulk(b) => repr(out, b),
        // redis-cli writes verbatim strings as they are, unquoted.
        Value::Verbatim { text, .. } => out.extend_from_slice(text),
        Value::Nil => out.extend_from_slice(b"(nil)"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Value::BigNumber(digits) => {
            out.extend_from_slice(b"(big number) ");
            out.extend_from_slice(digits);
        }
        Value::Attribute { value, .. } => return human(out, value, prefix),
        Value::Array(items) => return list(out, items, prefix, ')', "(empty array)"),
        Value::Set(items) => return list(out, items, prefix, '~', "(empty set)"),
        Value::Push(items) => return list(out, items, prefix, ')', "(empty push)"),
        Value::Map(pairs) => return map(out, pairs, prefix),
        // `Value` is non-exhaustive: a future kind is shown by its debug form.
        #[allow(unreachable_patterns)]
        other => out.extend_from_slice(format!("{other:?}").as_bytes()),
    }
    out.push(b'\n');
}

/// Width of the largest index, and the prefix nested replies get (redis-cli: idxlen + 2).
fn child_prefix(prefix: &str, len: usize) -> (usize, String) {
    let width = len.to_string().len();
    (width, format!("{prefix}{}", " ".repeat(width + 2)))
}

fn list(out: &mut Vec<u8>, items: &[Value], prefix: &str, sep: char, empty: &str) {
    if items.is_empty() {
        out.extend_from_slice(empty.as_bytes());
        out.push(b'\n');
        return;
    }
    let (width, nested) = child_prefix(prefix, items.len());
    for (i, item) in items.iter().enumerate() {
        // The caller already wrote the first line's prefix (its own index).
        let lead = if i == 0 { "" } else { prefix };
        out.extend_from_slice(format!("{lead}{:>width$}{sep} ", i + 1).as_bytes());
        human(out, item, &nested);
    }
}

fn map(out: &mut Vec<u8>, pairs: &[(Value, Value)], prefix: &str) {
    if pairs.is_empty() {
        out.extend_from_slice(b"(empty hash)\n");
        return;
    }
    let (width, nested) = child_prefix(prefix, pairs.len());
    for (i, (key, value)) in pairs.iter().enumerate() {
        let lead = if i == 0 { "" } else { prefix };
        out.extend_from_slice(format!("{lead}{:>width$}# ", i + 1).as_bytes());
        human(out, key, &nested);
        out.pop(); // the key's newline
        out.extend_from_slice(b" => ");
        // redis-cli starts a value of several elements on its own line, indented.
        if aggregate_len(value) > 1 {
            out.push(b'\n');
            out.extend_from_slice(nested.as_bytes());
        }
        human(out, value, &nested);
    }
}

fn aggregate_len(value: &Value) -> usize {
    match value {
        Value::Array(v) | Value::Set(v) | Value::Push(v) => v.len(),
        Value::Map(p) => p.len(),
        Value::Attribute { value, .. } => aggregate_len(value),
        _ => 0,
    }
}

fn raw(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Nil => {}
        Value::Error(m) | Value::BulkError(m) => out.extend_from_slice(m),
        Value::Okay => out.extend_from_slice(b"OK"),
        Value::Simple(b) | Value::Bulk(b) | Value::BigNumber(b) => out.extend_from_slice(b),
        Value::Verbatim { text, .. } => out.extend_from_slice(text),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Double(d) => out.extend_from_slice(double(*d).as_bytes()),
        Value::Attribute { value, .. } => raw(out, value),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                raw(out, item);
            }
        }
        Value::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                raw(out, k);
                out.push(b' ');
                raw(out, v);
            }
        }
        #[allow(unreachable_patterns)]
        other => out.extend_from_slice(format!("{other:?}").as_bytes()),
    }
}

/// A double as Redis writes it (`%.17g`-like shortest form; `inf`, `-inf`, `nan`).
fn double(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{d}")
    }
}

/// redis-cli's `sdscatrepr`: a quoted string, `\n \r \t \a \b \\ \"` escaped, other
/// unprintable bytes as `\xhh`.
fn repr(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    fn human_text(v: &Value) -> String {
        String::from_utf8(format(v, Style::Human)).unwrap()
    }

    fn raw_text(v: &Value) -> String {
        String::from_utf8(format(v, Style::Raw)).unwrap()
    }

    #[test]
    fn scalars_like_redis_cli() {
        assert_eq!(human_text(&bulk("a\nb\"c")), "\"a\\nb\\\"c\"\n");
        assert_eq!(raw_text(&bulk("a\nb\"c")), "a\nb\"c\n");
        assert_eq!(
            human_text(&Value::Bulk(vec![0, 0xff, b'\t'])),
            "\"\\x00\\xff\\t\"\n"
        );
        assert_eq!(human_text(&Value::Nil), "(nil)\n");
        assert_eq!(raw_text(&Value::Nil), "\n");
        assert_eq!(human_text(&Value::Int(-3)), "(integer) -3\n");
        assert_eq!(raw_text(&Value::Int(-3)), "-3\n");
        assert_eq!(human_text(&Value::Okay), "OK\n");
        assert_eq!(human_text(&Value::Double(1.5)), "(double) 1.5\n");
        assert_eq!(raw_text(&Value::Double(f64::NEG_INFINITY)), "-inf\n");
        assert_eq!(human_text(&Value::Boolean(true)), "(true)\n");
        assert_eq!(
            human_text(&Value::BigNumber(
                b"123456789012345678901234567890".to_vec()
            )),
            "(big number) 123456789012345678901234567890\n"
        );
        assert_eq!(
            human_text(&Value::Error(b"ERR nope".to_vec())),
            "(error) ERR nope\n"
        );
    }

    #[test]
    fn nested_arrays_are_numbered_and_indented() {
        let v = Value::Array(vec![
            Value::Int(1),
            Value::Array(vec![
                Value::Int(2),
                Value::Array(vec![Value::Int(3), Value::Int(4)]),
            ]),
            Value::Array(vec![]),
        ]);
        assert_eq!(
            human_text(&v),
            "1) (integer) 1\n2) 1) (integer) 2\n   2) 1) (integer) 3\n      2) (integer) 4\n3) (empty array)\n"
        );
        let long = Value::Array((0..11).map(|i| bulk(&i.to_string())).collect());
        let text = human_text(&long);
        assert!(text.starts_with(" 1) \"0\"\n 2) \"1\"\n"), "{text}");
        assert!(text.ends_with("10) \"9\"\n11) \"10\"\n"), "{text}");
        assert_eq!(
            raw_text(&Value::Array(vec![bulk("a"), bulk("b")])),
            "a\nb\n"
        );
    }

    #[test]
    fn maps_put_values_of_several_elements_on_their_own_lines() {
        let v = Value::Map(vec![
            (bulk("a"), Value::Array(vec![Value::Int(1)])),
            (bulk("b"), Value::Array(vec![Value::Int(1), Value::Int(2)])),
            (bulk("e"), Value::Array(vec![])),
            (bulk("g"), Value::Set(vec![bulk("q")])),
        ]);
        assert_eq!(
            human_text(&v),
            "1# \"a\" => 1) (integer) 1\n\
             2# \"b\" => \n   1) (integer) 1\n   2) (integer) 2\n\
             3# \"e\" => (empty array)\n\
             4# \"g\" => 1~ \"q\"\n"
        );
        assert_eq!(human_text(&Value::Map(vec![])), "(empty hash)\n");
        assert_eq!(
            raw_text(&Value::Map(vec![
                (bulk("f"), Value::Int(1)),
                (bulk("g"), Value::Int(2))
            ])),
            "f 1\ng 2\n"
        );
    }
}
