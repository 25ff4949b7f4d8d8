//! `redis-ring locate`: where keys live, computed offline from the shard names alone.
//!
//! Placement only hashes names (never addresses), so `locate` makes no connection: it answers
//! for the ring as it is when every listed shard is up, exactly as go-redis v9 (rendezvous) or
//! v7 (`consistent-hash`) would with the same names.

use std::fmt::Write as _;
use std::io::{self, BufRead, IsTerminal};

use redis_ring_core::placement::{Algorithm, AnyPlacement, HashTag, Placement};

use crate::rng::Rng;
use crate::shard_list::{placement_name, ShardList};
use crate::view::{bar, table, thousands};

/// Keys sampled by `--diff` when no key is given.
pub(crate) const DEFAULT_SAMPLE: u64 = 100_000;

/// What `locate` was asked.
#[derive(Debug)]
pub(crate) struct Locate {
    /// The current shards.
    pub(crate) shards: ShardList,
    /// The placement algorithm.
    pub(crate) algorithm: Algorithm,
    /// Which part of a key is hashed.
    pub(crate) hash_tag: HashTag,
    /// Keys from the command line.
    pub(crate) keys: Vec<String>,
    /// `--spread N`: sample N random keys instead of taking keys.
    pub(crate) spread: Option<u64>,
    /// `--diff NEW_SHARDS`.
    pub(crate) diff: Option<ShardList>,
    /// Seed of the random keys.
    pub(crate) seed: u64,
}

/// Runs `locate`, writing its report to `out`.
pub(crate) fn run(args: &Locate, out: &mut dyn io::Write) -> Result<(), String> {
    let mut keys = args.keys.clone();
    if keys.is_empty() && args.spread.is_none() && !io::stdin().is_terminal() {
        keys =
            read_keys(io::stdin().lock()).map_err(|e| format!("reading keys from stdin: {e}"))?;
    }
    let placement = args.shards.placement(&args.algorithm, args.hash_tag);
    let names: Vec<&str> = args.shards.names().collect();
    let text = match (&args.diff, args.spread) {
        (Some(_) | None, Some(_)) if !keys.is_empty() => {
            return Err("give keys or --spread N, not both".into())
        }
        (None, Some(n)) => spread_report(args, &placement, &names, n),
        (None, None) if keys.is_empty() => {
            return Err(
                "no key to locate: give keys as arguments or one per line on stdin, or use \
                 --spread N / --diff NEW_SHARDS"
                    .into(),
            )
        }
        (None, None) => {
            let mut s = String::new();
            for key in &keys {
                let shard = placement
                    .shard_for(key.as_bytes())
                    .map_or("(none)", |i| names[i]);
                let _ = writeln!(s, "{key}\t{shard}");
            }
            s
        }
        (Some(new), sample) => {
            let sample = if keys.is_empty() {
                Some(sample.unwrap_or(DEFAULT_SAMPLE))
            } else {
                None
            };
            diff_report(args, new, &keys, sample)
        }
    };
    out.write_all(text.as_bytes())
        .map_err(|e| format!("writing the report: {e}"))
}

/// Keys one per line (a trailing `\r` is dropped; empty lines are skipped).
fn read_keys(input: impl BufRead) -> io::Result<Vec<String>> {
    let mut keys = Vec::new();
    for line in input.lines() {
        let line = line?;
        let key = line.strip_suffix('\r').unwrap_or(&line);
        if !key.is_empty() {
            keys.push(key.to_owned());
        }
    }
    Ok(keys)
}

/// The random key number `i` of a sample: `key:<20 random digits>`, reproducible by seed.
fn random_keys(seed: u64, n: u64) -> impl Iterator<Item = String> {
    let mut rng = Rng::new(seed);
    (0..n).map(move |_| format!("key:{}", rng.next_u64()))
}

/// Counts per shard of `n` random keys.
fn count(placement: &AnyPlacement, shards: usize, seed: u64, n: u64) -> Vec<u64> {
    let mut counts = vec![0u64; shards];
    for key in random_keys(seed, n) {
        if let Some(i) = placement.shard_for(key.as_bytes()) {
            counts[i] += 1;
        }
    }
    counts
}

fn spread_report(args: &Locate, placement: &AnyPlacement, names: &[&str], n: u64) -> String {
    let counts = count(placement, names.len(), args.seed, n);
    let mut s = format!(
        "{} random keys over {} shards ({}, seed {}):\n",
        thousands(n),
        names.len(),
        placement_name(&args.algorithm, args.hash_tag),
        args.seed
    );
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let ideal = n as f64 / names.len() as f64;
    let rows: Vec<Vec<String>> = names
        .iter()
        .zip(&counts)
        .map(|(name, &c)| {
            vec![
                format!("  {name}"),
                thousands(c),
                format!("{:.2}%", 100.0 * c as f64 / n.max(1) as f64),
                format!("{:+.2}%", 100.0 * (c as f64 - ideal) / ideal.max(1.0)),
                bar(c as f64 / max as f64, 40),
            ]
        })
        .collect();
    let mut header = vec![vec![
        "  shard".to_owned(),
        "keys".to_owned(),
        "share".to_owned(),
        "vs ideal".to_owned(),
        String::new(),
    ]];
    header.extend(rows);
    s.push_str(&table(&header));
    let mean = ideal;
    let var = counts
        .iter()
        .map(|&c| (c as f64 - mean).powi(2))
        .sum::<f64>()
        / names.len() as f64;
    let _ = writeln!(
        s,
        "ideal {} keys per shard; largest shard {:+.2}% over it; std dev {:.2}% of ideal",
        thousands(mean.round() as u64),
        100.0 * (max as f64 - mean) / mean.max(1.0),
        100.0 * var.sqrt() / mean.max(1.0)
    );
    s
}

/// The smallest fraction of keys any placement must move when the (equally weighted) shard
/// set changes from `old` to `new`: each kept shard can keep at most `min(1/|old|, 1/|new|)`
/// of the keys.
fn minimal_move(old: &[&str], new: &[&str]) -> f64 {
    let kept = old.iter().filter(|n| new.contains(n)).count() as f64;
    let share = (1.0 / old.len() as f64).min(1.0 / new.len() as f64);
    (1.0 - kept * share).max(0.0)
}

fn diff_report(args: &Locate, new: &ShardList, keys: &[String], sample: Option<u64>) -> String {
    let old_names: Vec<&str> = args.shards.names().collect();
    let new_names: Vec<&str> = new.names().collect();
    let old = args.shards.placement(&args.algorithm, args.hash_tag);
    let newp = new.placement(&args.algorithm, args.hash_tag);
    let mut s = String::new();
    // moved[from][to]
    let mut moved = vec![vec![0u64; new_names.len()]; old_names.len()];
    let mut total = 0u64;
    let mut moves = 0u64;
    let mut place = |key: &str, s: &mut String, list: bool| {
        let (Some(a), Some(b)) = (
            old.shard_for(key.as_bytes()),
            newp.shard_for(key.as_bytes()),
        ) else {
            return;
        };
        total += 1;
        if old_names[a] != new_names[b] {
            moves += 1;
            moved[a][b] += 1;
            if list {
                let _ = writeln!(s, "{key}\t{}\t{}", old_names[a], new_names[b]);
            }
        }
    };
    match sample {
        Some(n) => random_keys(args.seed, n).for_each(|k| place(&k, &mut s, false)),
        None => keys.iter().for_each(|k| place(k, &mut s, true)),
    }
    let fraction = moves as f64 / total.max(1) as f64;
    if sample.is_none() {
        // Keys given: the moved keys are the data (KEY, FROM, TO); the summary is a comment.
        let _ = writeln!(
            s,
            "# {} of {} keys move ({:.2}%)",
            thousands(moves),
            thousands(total),
            100.0 * fraction
        );
        return s;
    }
    let _ = writeln!(
        s,
        "from {} to {} ({}), {} random keys (seed {}):",
        args.shards,
        new,
        placement_name(&args.algorithm, args.hash_tag),
        thousands(total),
        args.seed
    );
    let _ = writeln!(
        s,
        "  {} keys move: {:.2}% (the least any placement must move for this change: {:.2}%)",
        thousands(moves),
        100.0 * fraction,
        100.0 * minimal_move(&old_names, &new_names)
    );
    if moves > 0 {
        let mut rows = vec![{
            let mut h = vec!["  from \\ to".to_owned()];
            h.extend(new_names.iter().map(|n| (*n).to_owned()));
            h
        }];
        for (a, name) in old_names.iter().enumerate() {
            let mut row = vec![format!("  {name}")];
            row.extend(new_names.iter().enumerate().map(|(b, to)| {
                if name == to {
                    "-".to_owned()
                } else {
                    thousands(moved[a][b])
                }
            }));
            rows.push(row);
        }
        s.push_str(&table(&rows));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locate(shards: &str) -> Locate {
        Locate {
            shards: ShardList::parse(shards).unwrap(),
            algorithm: Algorithm::Rendezvous,
            hash_tag: HashTag::GO_REDIS,
            keys: Vec::new(),
            spread: None,
            diff: None,
            seed: 0,
        }
    }

    #[allow(clippy::needless_pass_by_value)] // tests read better passing the whole request
    fn run_to_string(args: Locate) -> Result<String, String> {
        let mut out = Vec::new();
        run(&args, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn keys_are_placed_like_go_redis_v9() {
        // go-redis v9 Ring with shards shard1..3 (the placement module's known answers).
        let mut args = locate("shard1,shard2,shard3");
        args.keys = vec!["foo".into(), "bar".into(), "{bar}:x".into()];
        let out = run_to_string(args).unwrap();
        assert_eq!(out, "foo\tshard1\nbar\tshard2\n{bar}:x\tshard2\n");
    }

    #[test]
    fn reads_keys_one_per_line() {
        let keys = read_keys(&b"a\r\n\nb\nc"[..]).unwrap();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn spread_is_reproducible_and_balanced() {
        let mut args = locate("a,b,c,d");
        args.spread = Some(20_000);
        let out = run_to_string(args).unwrap();
        let mut again = locate("a,b,c,d");
        again.spread = Some(20_000);
        assert_eq!(out, run_to_string(again).unwrap());
        assert!(out.starts_with("20 000 random keys over 4 shards (rendezvous, seed 0):"));
        let counts: Vec<u64> = out
            .lines()
            .filter(|l| l.starts_with("  ") && !l.contains("shard"))
            .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap_or(0))
            .collect();
        assert_eq!(counts.len(), 4, "{out}");
    }

    #[test]
    fn adding_a_shard_moves_about_a_quarter_with_rendezvous() {
        let mut args = locate("a,b,c");
        args.diff = Some(ShardList::parse("a,b,c,d").unwrap());
        let out = run_to_string(args).unwrap();
        let pct: f64 = out
            .split(" keys move: ")
            .nth(1)
            .and_then(|r| r.split('%').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!((23.5..26.5).contains(&pct), "{out}");
        assert!(out.contains("the least any placement must move for this change: 25.00%"));
        // Rendezvous moves keys only to the new shard.
        let row_a = out
            .lines()
            .find(|l| l.trim_start().starts_with("a "))
            .unwrap();
        let cells: Vec<&str> = row_a.split_whitespace().collect();
        assert_eq!(&cells[1..4], ["-", "0", "0"], "{out}");
    }

    #[test]
    fn diff_of_given_keys_lists_the_moved_ones() {
        let mut args = locate("a,b,c");
        args.diff = Some(ShardList::parse("a,b").unwrap());
        args.keys = (0..300).map(|i| format!("k{i}")).collect();
        let out = run_to_string(args).unwrap();
        let moved: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        // Only keys of the removed shard move, and they move off it.
        assert!(
            moved.iter().all(|l| l.split('\t').nth(1) == Some("c")),
            "{out}"
        );
        assert!((60..140).contains(&moved.len()), "{out}");
        assert!(out.ends_with(&format!(
            "# {} of 300 keys move ({:.2}%)\n",
            moved.len(),
            moved.len() as f64 / 3.0
        )));
    }

    #[test]
    fn minimal_move_bounds() {
        assert!((minimal_move(&["a", "b", "c"], &["a", "b", "c", "d"]) - 0.25).abs() < 1e-9);
        assert!((minimal_move(&["a", "b", "c"], &["a", "b"]) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(minimal_move(&["a"], &["a"]), 0.0);
        assert_eq!(minimal_move(&["a"], &["b"]), 1.0);
    }

    #[test]
    fn nothing_to_locate_is_an_error() {
        // Unit tests run with a stdin that may be a terminal or empty; give --spread with keys.
        let mut args = locate("a");
        args.keys = vec!["k".into()];
        args.spread = Some(3);
        assert!(run_to_string(args).unwrap_err().contains("not both"));
    }
}
