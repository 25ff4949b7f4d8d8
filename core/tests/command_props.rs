//! Property tests: `Cmd` encodes exactly the reference RESP form and splits losslessly;
//! `classify` never panics and only yields positions inside the command; `FromValue` never
//! panics on arbitrary replies.

use proptest::prelude::*;
use redis_ring_core::command::{classify, commands, from_value, Cmd, CommandTable, KeySpec};
use redis_ring_core::command::{Block, Class};
use redis_ring_core::resp::Value;

/// The reference encoding, written the obvious way.
fn reference(words: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend_from_slice(format!("${}\r\n", w.len()).as_bytes());
        out.extend_from_slice(w);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn build(name: &[u8], args: &[Vec<u8>]) -> Cmd {
    let mut cmd = Cmd::new(name);
    for a in args {
        cmd.push_arg(a);
    }
    cmd
}

/// Names from the table (and their subcommands), plus arbitrary ones.
fn name() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let mut known: Vec<Vec<Vec<u8>>> = Vec::new();
    for c in commands() {
        known.push(vec![c.name().as_bytes().to_vec()]);
        for s in c.subcommands() {
            known.push(vec![
                c.name().as_bytes().to_vec(),
                s.name().as_bytes().to_vec(),
            ]);
        }
    }
    prop_oneof![
        3 => proptest::sample::select(known),
        1 => proptest::collection::vec(any::<u8>(), 0..8).prop_map(|n| vec![n]),
    ]
}

/// Arguments biased towards the words the key-spec code reacts to.
fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::sample::select(vec![
            b"0".to_vec(),
            b"1".to_vec(),
            b"2".to_vec(),
            b"3".to_vec(),
            b"-1".to_vec(),
            b"9999999999".to_vec(),
            b"".to_vec(),
            b"STREAMS".to_vec(),
            b"keys".to_vec(),
            b"STORE".to_vec(),
            b"BLOCK".to_vec(),
            b"GROUP".to_vec(),
            b"LIMIT".to_vec(),
            b"AUTH2".to_vec(),
        ]),
        proptest::collection::vec(any::<u8>(), 0..6),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        Just(Value::Okay),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Double),
        any::<bool>().prop_map(Value::Boolean),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(Value::Bulk),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(Value::Simple),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(Value::Error),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(Value::BigNumber),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Set),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Value::Map),
            inner.prop_map(|v| Value::Attribute {
                attributes: vec![],
                value: Box::new(v)
            }),
        ]
    })
}

proptest! {
    #[test]
    fn encodes_like_the_reference(
        name in proptest::collection::vec(any::<u8>(), 0..10),
        args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..12),
    ) {
        let cmd = build(&name, &args);
        let mut words = vec![name.clone()];
        words.extend(args.iter().cloned());
        let mut out = Vec::new();
        cmd.encode(&mut out);
        prop_assert_eq!(&out, &reference(&words));
        prop_assert_eq!(out.len(), cmd.encoded_len());
        prop_assert_eq!(cmd.name(), &name[..]);
        prop_assert_eq!(cmd.len(), args.len());
        for (i, a) in args.iter().enumerate() {
            prop_assert_eq!(cmd.arg_at(i), Some(&a[..]));
        }
        let mut buf = vec![0u8; out.len()];
        prop_assert_eq!(cmd.encode_to_slice(&mut buf), Some(out.len()));
        prop_assert_eq!(buf, out);
    }

    #[test]
    fn select_keeps_the_chosen_arguments(
        args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..12),
        picks in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
    ) {
        let cmd = build(b"MGET", &args);
        let indices: Vec<usize> = picks.iter().map(|p| p.index(args.len())).collect();
        let part = cmd.select(indices.iter().copied());
        let chosen: Vec<Vec<u8>> = indices.iter().map(|&i| args[i].clone()).collect();
        prop_assert_eq!(part, build(b"MGET", &chosen));
    }

    #[test]
    fn classify_never_panics_and_stays_in_bounds(
        name in name(),
        args in proptest::collection::vec(arg(), 0..10),
    ) {
        let mut cmd = Cmd::new(&name[0]);
        for w in name[1..].iter().chain(&args) {
            cmd.push_arg(w);
        }
        let routing = classify(&cmd);
        let keys: Vec<usize> = routing.keys().collect();
        for &i in &keys {
            prop_assert!(i < cmd.len(), "{cmd}: position {i}");
        }
        if routing.is_malformed() {
            prop_assert!(keys.is_empty());
        }
        let _ = routing.is_blocking();
    }

}

proptest! {
    // Cheap cases, and the failing corners (negative offsets) are sparse: many of them.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn registered_specs_never_panic(
        index in -3i32..5, last in -4i32..4, step in -1i32..3, limit in -1i32..3,
        numidx in -1i32..3, first in -1i32..3,
        args in proptest::collection::vec(arg(), 0..8),
    ) {
        let mut table = CommandTable::new();
        table.register("R.RANGE", Class::SameShard, Block::Never, &[KeySpec::range(index, last, step, limit)]);
        table.register("R.NUM", Class::SameShard, Block::Never, &[KeySpec::keynum(index, numidx, first, step)]);
        table.register("R.KW", Class::SameShard, Block::Never, &[
            KeySpec::keyword_range("STORE", index, last, step, limit),
            KeySpec::keyword_keynum("KEYS", -index, numidx, first, step),
        ]);
        for name in ["R.RANGE", "R.NUM", "R.KW"] {
            let mut cmd = Cmd::new(name);
            for a in &args {
                cmd.push_arg(a);
            }
            for i in table.classify(&cmd).keys() {
                prop_assert!(i < cmd.len());
            }
        }
    }

    #[test]
    fn from_value_never_panics(v in value()) {
        let _ = from_value::<String>(v.clone());
        let _ = from_value::<Vec<u8>>(v.clone());
        let _ = from_value::<i64>(v.clone());
        let _ = from_value::<u8>(v.clone());
        let _ = from_value::<f64>(v.clone());
        let _ = from_value::<bool>(v.clone());
        let _ = from_value::<Option<Vec<String>>>(v.clone());
        let _ = from_value::<Vec<(String, f64)>>(v.clone());
        let _ = from_value::<(i64, Vec<u8>, Option<bool>)>(v.clone());
        let _ = from_value::<hashbrown::HashMap<Vec<u8>, Vec<i64>>>(v.clone());
        let _ = from_value::<std::collections::BTreeMap<String, (i64, i64)>>(v.clone());
        let _ = from_value::<()>(v.clone());
        let _ = from_value::<Value>(v);
    }
}
