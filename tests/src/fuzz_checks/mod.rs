//! The checks behind every fuzz target, shared by `fuzz/` (cargo-fuzz, nightly) and by the
//! seed-corpus replay test (`tests/tests/fuzz_corpus.rs`, stable). Each function takes the
//! fuzzer's raw bytes and panics when an invariant breaks.
//!
//! To add a target: a module here with `pub fn check(data: &[u8])`, a line in [`TARGETS`],
//! a `fuzz/fuzz_targets/<name>.rs` calling it, a `[[bin]]` in `fuzz/Cargo.toml`, and seed
//! files in `fuzz/corpus/<name>/`.

pub mod placement;
pub mod resp_decode;
pub mod resp_roundtrip;
pub mod ring_core;
pub mod ring_inputs;

/// A fuzz target's check: runs one input and panics when an invariant breaks.
pub type Check = fn(&[u8]);

/// Every fuzz target: its name (= its corpus folder) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("placement", placement::check),
    ("resp_decode", resp_decode::check),
    ("resp_roundtrip", resp_roundtrip::check),
    ("ring_core", ring_core::check),
    ("ring_inputs", ring_inputs::check),
];
