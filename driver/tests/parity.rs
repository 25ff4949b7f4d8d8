//! Parity by construction, checked: every driver exposes the same API (async vs blocking
//! aside). The API is written once, in this crate: the async handles (`Ring`, `Pipeline`,
//! `Shard`, `Tx`, `Subscription`, `Events`, `Scan`) and their blocking twins in
//! `blocking.rs`. This test reads the sources and fails when
//!
//! * an async handle gains a public method its blocking twin lacks, or the other way round
//!   (beyond the intended differences listed here and in ARCHITECTURE.md);
//! * the typed-helper expansions skip different table entries;
//! * a driver crate defines methods of its own on a ring type, or exports a name another
//!   driver does not (beyond its runtime type).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The bodies of every `impl ... <Type>... {` block (brace-matched) in `src`.
fn impl_blocks<'a>(src: &'a str, ty: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (start, _) in src.match_indices("\nimpl") {
        let line_end = src[start + 1..]
            .find('\n')
            .map_or(src.len(), |i| start + 1 + i);
        let header = &src[start + 1..line_end];
        let target = header
            .split(" for ")
            .last()
            .unwrap_or(header)
            .trim_start_matches("impl");
        // `impl<Rt: Runtime> Ring<Rt> {`, `impl Pipeline<'_> {`, `impl Tx {` (inherent only).
        let target = target.trim_start_matches(|c| c != '>' && header.starts_with("impl<"));
        let target = target.trim_start_matches('>').trim();
        let name: String = target
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name != ty || header.contains(" for ") {
            continue;
        }
        let Some(open) = src[start..].find('{').map(|i| start + i) else {
            continue;
        };
        let mut depth = 0;
        for (i, c) in src[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push(&src[open..open + i]);
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Public method names in `blocks` (`pub fn x`, `pub async fn x`).
fn methods(blocks: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for b in blocks {
        for line in b.lines() {
            let l = line.trim_start();
            let rest = l
                .strip_prefix("pub async fn ")
                .or_else(|| l.strip_prefix("pub fn "));
            if let Some(rest) = rest {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name != "name" || !l.contains("$name") {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// The methods of `ty` over every file of the async API, and of its twin in blocking.rs.
fn both(ty: &str, async_files: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let sources: Vec<String> = async_files.iter().map(|f| read(f)).collect();
    let blocks: Vec<&str> = sources.iter().flat_map(|s| impl_blocks(s, ty)).collect();
    let blocking = read("driver/src/blocking.rs");
    (methods(&blocks), methods(&impl_blocks(&blocking, ty)))
}

fn check(ty: &str, async_files: &[&str], only_async: &[&str], only_blocking: &[&str]) {
    let (a, b) = both(ty, async_files);
    assert!(
        a.len() > 1 && b.len() > 1,
        "{ty}: no methods found ({a:?} / {b:?})"
    );
    let extra_a: BTreeSet<&str> = a
        .iter()
        .map(String::as_str)
        .filter(|m| !b.contains(*m))
        .collect();
    let extra_b: BTreeSet<&str> = b
        .iter()
        .map(String::as_str)
        .filter(|m| !a.contains(*m))
        .collect();
    assert_eq!(
        extra_a,
        only_async.iter().copied().collect(),
        "{ty}: methods of the async API without a blocking twin (add it to blocking.rs, or \
         list it as an intended difference here and in ARCHITECTURE.md)"
    );
    assert_eq!(
        extra_b,
        only_blocking.iter().copied().collect(),
        "{ty}: methods of the blocking API without an async twin"
    );
}

#[test]
fn async_and_blocking_handles_have_the_same_methods() {
    let ring_files = [
        "driver/src/ring.rs",
        "driver/src/pubsub.rs",
        "driver/src/shard.rs",
        "driver/src/scan.rs",
        "driver/src/transaction.rs",
    ];
    // `block_on`: an async caller's way to wait on the ring's own reactor; a blocking
    // call waits so already.
    check("Ring", &ring_files, &["block_on"], &["as_async"]);
    check("Pipeline", &["driver/src/pipeline.rs"], &[], &[]);
    check("Shard", &["driver/src/shard.rs"], &[], &[]);
    check("Tx", &["driver/src/transaction.rs"], &[], &[]);
    // A stream's "next" is `next_message().await` / `next()` (Iterator) + `next_timeout`.
    check(
        "Subscription",
        &["driver/src/pubsub.rs"],
        &["next_message"],
        &["next_timeout"],
    );
    check(
        "Events",
        &["driver/src/events.rs"],
        &[],
        &["iter", "recv_timeout"],
    );
    // The async scan also converts into a `Stream`; the blocking one is an `Iterator`.
    check(
        "Scan",
        &["driver/src/scan.rs"],
        &["collect_all", "into_stream", "next"],
        &[],
    );
}

/// The skip list of a typed-helper muncher: the entries it leaves to hand-written methods.
fn skipped(src: &str, mac: &str) -> BTreeSet<String> {
    let start = src
        .find(&format!("macro_rules! {mac}"))
        .unwrap_or_else(|| panic!("{mac} not found"));
    let body = &src[start..];
    let end = body.find("\n}\n").unwrap_or(body.len());
    body[..end]
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix("$(#[$meta:meta])* fn ")?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

#[test]
fn typed_helper_expansions_skip_the_same_entries() {
    let a = skipped(&read("driver/src/ring.rs"), "ring_methods");
    let b = skipped(&read("driver/src/blocking.rs"), "blocking_methods");
    assert_eq!(
        a,
        ["del", "exists", "mget", "mset"].map(String::from).into()
    );
    assert_eq!(a, b);
}

/// Names a driver crate exports (`pub use` lists and `pub type`/`pub struct` items).
fn exports(lib: &str) -> BTreeSet<String> {
    let src = read(lib);
    let mut out = BTreeSet::new();
    let mut in_use = false;
    for line in src.lines() {
        let l = line.trim();
        if l.starts_with("pub use ") {
            in_use = true;
        }
        if in_use {
            for part in l.trim_start_matches("pub use ").split(['{', ',', '}', ';']) {
                let name = part.trim().rsplit("::").next().unwrap_or("").trim();
                if !name.is_empty() {
                    out.insert(name.to_owned());
                }
            }
            if l.ends_with(';') {
                in_use = false;
            }
        } else if let Some(rest) = l
            .strip_prefix("pub type ")
            .or_else(|| l.strip_prefix("pub struct "))
        {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

#[test]
fn drivers_export_the_same_names_and_add_no_methods() {
    let smol = exports("driver-smol/src/lib.rs");
    let std = exports("driver-std/src/lib.rs");
    assert!(
        smol.contains("Ring") && std.contains("Ring"),
        "{smol:?} {std:?}"
    );
    let only_smol: BTreeSet<&str> = smol
        .iter()
        .map(String::as_str)
        .filter(|n| !std.contains(*n))
        .collect();
    let only_std: BTreeSet<&str> = std
        .iter()
        .map(String::as_str)
        .filter(|n| !smol.contains(*n))
        .collect();
    // The runtime types, and the async scan's `Stream` form.
    assert_eq!(only_smol, ["ScanStream", "Smol"].into());
    assert_eq!(only_std, ["IoThread"].into());
    // The other async driver: smol's names exactly, with its own runtime type.
    let tokio = exports("driver-tokio/src/lib.rs");
    let swap = |names: &BTreeSet<String>, rt: &str| -> BTreeSet<String> {
        names.iter().filter(|n| *n != rt).cloned().collect()
    };
    assert!(tokio.contains("Tokio"), "{tokio:?}");
    assert_eq!(swap(&tokio, "Tokio"), swap(&smol, "Smol"));
    for lib in ["driver-smol/src", "driver-std/src", "driver-tokio/src"] {
        for entry in std::fs::read_dir(root().join(lib)).unwrap() {
            let path = entry.unwrap().path();
            let src = std::fs::read_to_string(&path).unwrap();
            for ty in [
                "Ring",
                "RingBuilder",
                "Pipeline",
                "Shard",
                "Tx",
                "Subscription",
                "Events",
                "Scan",
            ] {
                assert!(
                    impl_blocks(&src, ty).is_empty(),
                    "{}: a driver adds methods to {ty}: write them once in redis-ring-driver",
                    path.display()
                );
            }
            assert!(
                !src.contains("pub trait"),
                "{}: a driver defines a public trait (an extension of the shared API?)",
                path.display()
            );
        }
    }
}

/// The checks above can fail: a blocking method without its async twin is caught.
#[test]
fn the_parity_check_catches_a_missing_twin() {
    let a = methods(&impl_blocks(
        "\nimpl<Rt: Runtime> Ring<Rt> {\n    pub async fn cmd() {}\n    pub fn len() {}\n}\n",
        "Ring",
    ));
    let b = methods(&impl_blocks(
        "\nimpl<Rt: Runtime> Ring<Rt> {\n    pub fn cmd() {}\n}\n",
        "Ring",
    ));
    assert_eq!(a.len(), 2);
    assert!(a.difference(&b).any(|m| m == "len"));
}
