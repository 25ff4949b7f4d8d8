//! Key specifications (Redis 7's `key_specs`) and their interpretation.
//!
//! A key spec says where a command's keys are in its argument vector, in two steps, exactly
//! as Redis describes them (<https://redis.io/docs/reference/key-specs/>):
//! * [`BeginSearch`]: where the search starts, at a fixed index or after a keyword;
//! * [`FindKeys`]: from there, a range (up to an index, every `step` args, or a fraction of
//!   the rest) or a count read from the arguments (`numkeys`).
//!
//! Indices inside a [`KeySpec`] are Redis's `argv` indices (the name is 0), as `COMMAND
//! INFO` reports them; [`KeyPositions`] yields indices for [`Cmd::arg_at`] (the name
//! excluded, so one less).

use super::Cmd;

/// Where the search for a spec's keys begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BeginSearch {
    /// At this `argv` index (1 = the first argument after the name).
    Index(i32),
    /// Just after the first argument equal (ASCII case-insensitively) to `keyword`,
    /// searching forward from `argv` index `start_from`, or backward from `argc + start_from`
    /// when it is negative.
    Keyword {
        /// The keyword, in capitals.
        keyword: &'static str,
        /// Where the search starts (see above).
        start_from: i32,
    },
    /// The keys cannot be found from the spec (Redis uses a custom function).
    Unknown,
}

/// How a spec's keys are found once the search has begun.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FindKeys {
    /// Keys from the start to `last_key` (relative to the start when >= 0; relative to the
    /// end when < 0, or, with a non-zero `limit`, the first `1/limit` of the remaining
    /// arguments), one every `key_step` arguments.
    Range {
        /// The last key (see above).
        last_key: i32,
        /// The distance between keys (2 for `MSET k v k v`).
        key_step: i32,
        /// With `last_key == -1`: only the first `1/limit` of the arguments left are keys
        /// (`XREAD ... STREAMS k1 k2 id1 id2` has limit 2).
        limit: i32,
    },
    /// The argument at `key_num_index` (relative to the start) holds the number of keys;
    /// they begin at `first_key` (relative to the start), one every `key_step` arguments.
    KeyNum {
        /// Where the count is, relative to the start.
        key_num_index: i32,
        /// Where the first key is, relative to the start.
        first_key: i32,
        /// The distance between keys.
        key_step: i32,
    },
    /// The keys cannot be found from the spec.
    Unknown,
}

/// One key specification: where a group of a command's keys is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeySpec {
    /// Where the search begins.
    pub begin: BeginSearch,
    /// How the keys are found from there.
    pub find: FindKeys,
}

impl KeySpec {
    /// A spec whose keys cannot be found from it (Redis's `unknown`).
    pub const UNKNOWN: KeySpec = KeySpec {
        begin: BeginSearch::Unknown,
        find: FindKeys::Unknown,
    };

    /// The first argument is the one key: the default for unknown (module) commands.
    pub const FIRST_ARG: KeySpec = KeySpec::range(1, 0, 1, 0);

    /// Begins at `argv` index `index` and finds a [`FindKeys::Range`].
    pub const fn range(index: i32, last_key: i32, key_step: i32, limit: i32) -> KeySpec {
        KeySpec {
            begin: BeginSearch::Index(index),
            find: FindKeys::Range {
                last_key,
                key_step,
                limit,
            },
        }
    }

    /// Begins at `argv` index `index` and finds a [`FindKeys::KeyNum`].
    pub const fn keynum(index: i32, key_num_index: i32, first_key: i32, key_step: i32) -> KeySpec {
        KeySpec {
            begin: BeginSearch::Index(index),
            find: FindKeys::KeyNum {
                key_num_index,
                first_key,
                key_step,
            },
        }
    }

    /// Begins after `keyword` and finds a [`FindKeys::Range`].
    pub const fn keyword_range(
        keyword: &'static str,
        start_from: i32,
        last_key: i32,
        key_step: i32,
        limit: i32,
    ) -> KeySpec {
        KeySpec {
            begin: BeginSearch::Keyword {
                keyword,
                start_from,
            },
            find: FindKeys::Range {
                last_key,
                key_step,
                limit,
            },
        }
    }

    /// Begins after `keyword` and finds a [`FindKeys::KeyNum`].
    pub const fn keyword_keynum(
        keyword: &'static str,
        start_from: i32,
        key_num_index: i32,
        first_key: i32,
        key_step: i32,
    ) -> KeySpec {
        KeySpec {
            begin: BeginSearch::Keyword {
                keyword,
                start_from,
            },
            find: FindKeys::KeyNum {
                key_num_index,
                first_key,
                key_step,
            },
        }
    }

    /// The keys of this spec in `cmd` as an inclusive `argv` range with a step, `None` when
    /// the spec finds none (keyword absent, `numkeys` 0, unknown spec), or `Err` when the
    /// arguments do not fit it (too few, `numkeys` not a count or beyond the end): the server
    /// would reject such a command.
    pub(crate) fn resolve(&self, cmd: &Cmd) -> Result<Option<ArgvRange>, Malformed> {
        let argc = cmd.len() as i64 + 1;
        let first: i64 = match self.begin {
            BeginSearch::Index(pos) => i64::from(pos),
            BeginSearch::Keyword {
                keyword,
                start_from,
            } => match find_keyword(cmd, keyword, start_from) {
                Some(i) => i + 1,
                None => return Ok(None),
            },
            BeginSearch::Unknown => return Ok(None),
        };
        if first < 1 {
            return Err(Malformed);
        }
        let (first, last, step) = match self.find {
            FindKeys::Range {
                last_key,
                key_step,
                limit,
            } => {
                let last_key = i64::from(last_key);
                let last = if last_key >= 0 {
                    first + last_key
                } else if limit <= 0 {
                    argc + last_key
                } else {
                    first + ((argc - first) / i64::from(limit) + last_key)
                };
                (first, last, key_step)
            }
            FindKeys::KeyNum {
                key_num_index,
                first_key,
                key_step,
            } => {
                let at = first + i64::from(key_num_index);
                let count = usize::try_from(at - 1)
                    .ok()
                    .and_then(|i| cmd.arg_at(i))
                    .ok_or(Malformed)?;
                let numkeys = parse_count(count).ok_or(Malformed)?;
                if numkeys == 0 {
                    return Ok(None);
                }
                let first = first + i64::from(first_key);
                (first, first + numkeys - 1, key_step)
            }
            FindKeys::Unknown => return Ok(None),
        };
        // `first < 1` is only possible with a negative `first_key` (a registration).
        if first < 1 || last >= argc || last < first || first >= argc {
            return Err(Malformed);
        }
        Ok(Some(ArgvRange {
            next: first as usize,
            last: last as usize,
            // A step below 1 (only possible in a run-time registration) would never advance.
            step: step.max(1) as usize,
        }))
    }
}

/// The arguments do not fit the command's key specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// A non-negative decimal count, as Redis's `numkeys` (no sign, no spaces), capped so that
/// index arithmetic cannot overflow.
fn parse_count(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter()
        .try_fold(0i64, |n, &d| Some(n * 10 + i64::from(d - b'0')))
}

/// The `argv` index of the keyword, searching as [`BeginSearch::Keyword`] says.
fn find_keyword(cmd: &Cmd, keyword: &str, start_from: i32) -> Option<i64> {
    let argc = cmd.len() as i64 + 1;
    let matches = |i: i64| {
        cmd.arg_at((i - 1) as usize)
            .is_some_and(|a| a.eq_ignore_ascii_case(keyword.as_bytes()))
    };
    if start_from > 0 {
        // As Redis: the last argument is never taken for the keyword (no key could follow).
        (i64::from(start_from)..argc - 1).find(|&i| matches(i))
    } else {
        let start = argc + i64::from(start_from);
        (1..=start).rev().find(|&i| matches(i))
    }
}

/// An inclusive range of `argv` indices with a step; empty once `next > last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ArgvRange {
    pub(crate) next: usize,
    pub(crate) last: usize,
    pub(crate) step: usize,
}

impl ArgvRange {
    pub(crate) const EMPTY: ArgvRange = ArgvRange {
        next: 1,
        last: 0,
        step: 1,
    };

    fn pop(&mut self) -> Option<usize> {
        if self.next > self.last {
            return None;
        }
        let i = self.next;
        self.next = self.next.saturating_add(self.step);
        Some(i)
    }
}

/// Whether a command blocks the connection it runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Block {
    /// Never blocks.
    Never,
    /// Always may block (`BLPOP`, `BZPOPMIN`, `WAIT`, ...).
    Always,
    /// Blocks when given the `BLOCK` option (`XREAD`, `XREADGROUP`).
    WithBlockArg,
}

/// Commands whose keys Redis finds with a function rather than from the specs alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum SpecialKeys {
    /// The specs say it all.
    None,
    /// `SORT key ... [STORE dest]`: the last `STORE` (skipping `LIMIT`'s two and `BY`/`GET`'s
    /// one value), as Redis's `sortGetKeys`.
    Sort,
    /// `MIGRATE host port key|"" db timeout ... [KEYS k ...]`: the keys after `KEYS`
    /// (skipping `AUTH`'s one and `AUTH2`'s two values) or else the single key, as Redis's
    /// `migrateGetKeys`.
    Migrate,
}

/// What the key-spec table knows about one command or subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandInfo {
    name: &'static str,
    arity: i32,
    class: super::Class,
    block: Block,
    legacy: [i32; 3],
    key_specs: &'static [KeySpec],
    special: SpecialKeys,
    subcommands: &'static [CommandInfo],
    read_only: bool,
}

impl CommandInfo {
    pub(crate) const fn new(
        name: &'static str,
        arity: i32,
        class: super::Class,
        block: Block,
        legacy: [i32; 3],
        key_specs: &'static [KeySpec],
    ) -> CommandInfo {
        CommandInfo {
            name,
            arity,
            class,
            block,
            legacy,
            key_specs,
            special: SpecialKeys::None,
            subcommands: &[],
            read_only: false,
        }
    }

    pub(crate) const fn read_only(mut self) -> CommandInfo {
        self.read_only = true;
        self
    }

    pub(crate) const fn with_keys(mut self, special: SpecialKeys) -> CommandInfo {
        self.special = special;
        self
    }

    pub(crate) const fn with_subcommands(mut self, subs: &'static [CommandInfo]) -> CommandInfo {
        self.subcommands = subs;
        self
    }

    /// The name in capitals; for a subcommand, its own word only (`ENCODING` of `OBJECT`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Redis's arity: the exact number of words (name included) when positive, the minimum
    /// when negative. A subcommand's arity counts its container's name too.
    pub fn arity(&self) -> i32 {
        self.arity
    }

    /// How the ring routes the command.
    pub fn class(&self) -> super::Class {
        self.class
    }

    /// Whether the command blocks its connection.
    pub fn block(&self) -> Block {
        self.block
    }

    /// Whether the command only reads (Redis's `readonly` flag, blocking commands excluded):
    /// running it twice has the effect of running it once, so the ring may re-send it after
    /// a connection was lost with the command written (see
    /// [`Cmd::idempotent`](super::Cmd::idempotent) for the other commands).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Redis's legacy `(first key, last key, step)` (`argv` indices; `last` < 0 counts from
    /// the end; all 0 when the command has no keys at fixed places).
    pub fn legacy_range(&self) -> (i32, i32, i32) {
        (self.legacy[0], self.legacy[1], self.legacy[2])
    }

    /// The key specifications, in Redis's order.
    pub fn key_specs(&self) -> &'static [KeySpec] {
        self.key_specs
    }

    /// The subcommands, sorted by name; empty for a plain command.
    pub fn subcommands(&self) -> &'static [CommandInfo] {
        self.subcommands
    }

    pub(crate) fn special(&self) -> SpecialKeys {
        self.special
    }
}

/// Binary search for `name` (ASCII case-insensitive) in a table sorted by name.
///
/// Kept as an iterator comparison on purpose: upper-casing `name` once into a buffer, or
/// comparing 8-byte integer keys, measured slower (issue 16, session 6: the branchless
/// search then waits on each probe's load, where this one's well-predicted branches let
/// the CPU run ahead).
pub(crate) fn find(table: &'static [CommandInfo], name: &[u8]) -> Option<&'static CommandInfo> {
    table
        .binary_search_by(|c| c.name.bytes().cmp(name.iter().map(u8::to_ascii_uppercase)))
        .ok()
        .map(|i| &table[i])
}

/// The positions of a command's keys, as indices for [`Cmd::arg_at`] (0 = the first
/// argument after the name), in the order Redis lists them. Allocation-free.
///
/// For pub/sub commands the positions are those of the channels, which the ring places
/// like keys. From [`Routing::keys`](super::Routing::keys).
#[derive(Clone, Debug)]
pub struct KeyPositions<'a> {
    cmd: &'a Cmd,
    /// Specs not yet resolved.
    specs: &'a [KeySpec],
    /// The range being walked.
    range: ArgvRange,
    /// One position after everything else (`SORT ... STORE dest`).
    extra: Option<usize>,
}

impl<'a> KeyPositions<'a> {
    pub(crate) fn new(
        cmd: &'a Cmd,
        specs: &'a [KeySpec],
        range: ArgvRange,
        extra: Option<usize>,
    ) -> KeyPositions<'a> {
        KeyPositions {
            cmd,
            specs,
            range,
            extra,
        }
    }

    pub(crate) fn empty(cmd: &'a Cmd) -> KeyPositions<'a> {
        Self::new(cmd, &[], ArgvRange::EMPTY, None)
    }

    /// The key arguments themselves rather than their positions.
    pub fn args(self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let cmd = self.cmd;
        self.filter_map(move |i| cmd.arg_at(i))
    }
}

impl Iterator for KeyPositions<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            if let Some(i) = self.range.pop() {
                return Some(i - 1);
            }
            let Some((spec, rest)) = self.specs.split_first() else {
                return self.extra.take().map(|i| i - 1);
            };
            self.specs = rest;
            // Validity was checked when the routing was made; a failure here only skips.
            if let Ok(Some(range)) = spec.resolve(self.cmd) {
                self.range = range;
            }
        }
    }
}

impl core::iter::FusedIterator for KeyPositions<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::table::COMMANDS;
    use alloc::vec::Vec;

    #[test]
    fn find_matches_every_name_in_any_case_and_nothing_else() {
        let mut tables = alloc::vec![COMMANDS];
        tables.extend(COMMANDS.iter().map(CommandInfo::subcommands));
        for table in tables {
            for info in table {
                let name = info.name();
                let lower: Vec<u8> = name.bytes().map(|b| b.to_ascii_lowercase()).collect();
                assert!(core::ptr::eq(find(table, name.as_bytes()).unwrap(), info));
                assert!(core::ptr::eq(find(table, &lower).unwrap(), info));
                let mut longer = lower.clone();
                longer.push(b'x');
                assert!(find(table, &longer).is_none_or(|other| !core::ptr::eq(other, info)));
            }
        }
        assert!(find(COMMANDS, b"").is_none());
        assert!(find(COMMANDS, b"GET\0").is_none());
        assert!(find(COMMANDS, b"GEORADIUSBYMEMBER\0").is_none());
        assert!(find(COMMANDS, b"G\xc3\xa9T").is_none());
    }
}
