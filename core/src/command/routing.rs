//! Routing: the class of a command and where its keys are, from the key-spec table or from
//! run-time registrations.
//!
//! Choices worth knowing (the server has no notion of classes; these are ours):
//! * `MSETNX` is [`Class::SameShard`], not split: it is all-or-nothing, which independent
//!   per-shard parts cannot keep.
//! * `SCRIPT LOAD`, `FUNCTION LOAD` and the other script/function management commands are
//!   [`Class::FanOut`]: every shard must know a script an `EVALSHA`/`FCALL` may be routed to.
//! * `SORT ... BY pattern / GET pattern` read keys named by the sorted data, which no client
//!   can route; they are read on the sort key's shard (only `STORE dest` is a routed key).
//! * `WAIT` is [`Class::Connection`] (and blocking, though Redis 7.0 does not flag it): it
//!   waits for the replication of the calling connection's writes, which a ring shares.
//! * `PUBSUB CHANNELS/NUMSUB/...` are [`Class::FanOut`]; `CLIENT LIST/KILL/PAUSE` too,
//!   while `CLIENT SETNAME/ID/INFO/REPLY/TRACKING` are [`Class::Connection`].
//! * A container without a known subcommand (`OBJECT`, `OBJECT NOPE`) is
//!   [`Class::Keyless`]: the server answers it with an error.

use alloc::vec::Vec;

use super::spec::{self, ArgvRange, Block, CommandInfo, KeyPositions, KeySpec, SpecialKeys};
use super::table::COMMANDS;
use super::Cmd;

/// How the ring routes a command.
///
/// Blocking is not a class but a property ([`Routing::is_blocking`]): a blocking command
/// is routed by its keys like any other and, in addition, needs a connection of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Class {
    /// At most one key (`GET`, `HSET`, `XADD`, ...): the key's shard, or any shard when the
    /// key is missing (the server then reports the error).
    SingleKey,
    /// Several keys, or a variable number, used together (`RENAME`, `SMOVE`, `SUNIONSTORE`,
    /// `EVAL`, `BLPOP`, `MSETNX`, ...): they must all live on one shard. With no key at all
    /// (`EVAL` with `numkeys` 0) any shard will do.
    SameShard,
    /// Keys that can be split per shard and the replies merged as [`Merge`] says (`MGET`,
    /// `MSET`, `DEL`, `UNLINK`, `EXISTS`, `TOUCH`).
    Split(Merge),
    /// No key and no per-server effect worth collecting (`PING`, `ECHO`, `TIME`, `COMMAND`,
    /// `... HELP`): any live shard.
    Keyless,
    /// Acts on or reports about a whole server (`FLUSHDB`, `DBSIZE`, `KEYS`, `SCAN`,
    /// `RANDOMKEY`, `INFO`, `CONFIG SET`, `SCRIPT LOAD`, ...): meaningful per shard only, so
    /// never sent to one arbitrary shard; the ring offers them through a per-shard API.
    FanOut,
    /// Pub/sub; channels are placed like keys, patterns go to every shard.
    PubSub(PubSubKind),
    /// `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH`: only inside a transaction on one
    /// shard's dedicated connection.
    Transaction,
    /// Changes or reads the state of the connection itself (`SELECT`, `AUTH`, `HELLO`,
    /// `QUIT`, `RESET`, `CLIENT SETNAME`, `CLIENT REPLY`, `MONITOR`, `WAIT`, ...): the client
    /// handles these through its options or refuses them, since a ring shares connections.
    Connection,
}

/// How the parts of a split command are merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Merge {
    /// One value per key, reassembled in key order (`MGET`).
    Values,
    /// Each key is followed by its value (`MSET k v ...`); the reply is `OK` when every
    /// part's is.
    AllOk,
    /// Each part answers a count; the counts are summed (`DEL`, `UNLINK`, `EXISTS`,
    /// `TOUCH`).
    SumCounts,
}

impl Merge {
    /// How many arguments belong to each key (the key included): 2 for `MSET`, else 1.
    pub fn args_per_key(self) -> usize {
        match self {
            Merge::AllOk => 2,
            Merge::Values | Merge::SumCounts => 1,
        }
    }
}

/// The kind of a pub/sub command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PubSubKind {
    /// `SUBSCRIBE channel ...`: each channel on its shard.
    Subscribe,
    /// `UNSUBSCRIBE [channel ...]`: each channel on its shard; none = all, everywhere.
    Unsubscribe,
    /// `PSUBSCRIBE pattern ...`: every shard (a pattern can match channels anywhere).
    PSubscribe,
    /// `PUNSUBSCRIBE [pattern ...]`: every shard.
    PUnsubscribe,
    /// `SSUBSCRIBE shardchannel ...`: each channel on its shard.
    SSubscribe,
    /// `SUNSUBSCRIBE [shardchannel ...]`: each channel on its shard; none = all.
    SUnsubscribe,
    /// `PUBLISH channel message`: the channel's shard.
    Publish,
    /// `SPUBLISH shardchannel message`: the channel's shard.
    SPublish,
}

/// Where a command goes: its [`Class`], whether it blocks, and its key positions.
///
/// From [`classify`] or [`CommandTable::classify`]. Borrows the command.
///
/// ```
/// use redis_ring_core::command::{classify, Class, Cmd};
///
/// let cmd = Cmd::new("EVAL").arg("return 1").arg(2).arg("k1").arg("k2").arg("x");
/// let routing = classify(&cmd);
/// assert_eq!(routing.class(), Class::SameShard);
/// assert_eq!(routing.keys().collect::<Vec<_>>(), [2, 3]);
/// assert_eq!(routing.keys().args().collect::<Vec<_>>(), [b"k1", b"k2"]);
/// ```
#[derive(Clone, Debug)]
pub struct Routing<'a> {
    cmd: &'a Cmd,
    class: Class,
    blocking: bool,
    known: bool,
    malformed: bool,
    specs: &'a [KeySpec],
    range: ArgvRange,
    extra: Option<usize>,
}

impl<'a> Routing<'a> {
    /// The command's class.
    pub fn class(&self) -> Class {
        self.class
    }

    /// Whether this command, with these arguments, blocks its connection (`BLPOP`,
    /// `XREAD ... BLOCK ms ...`, ...): it needs a connection of its own.
    pub fn is_blocking(&self) -> bool {
        self.blocking
    }

    /// Whether the command is in the table or registered; `false` means the default for an
    /// unknown command was applied (the first argument is the key).
    pub fn is_known(&self) -> bool {
        self.known
    }

    /// Whether the arguments do not fit the command's key specification (too few
    /// arguments, a `numkeys` that is not a count or points past the end). The server will
    /// reject such a command; [`Routing::keys`] is then empty, so the ring can send it to
    /// any shard to return the server's own error.
    pub fn is_malformed(&self) -> bool {
        self.malformed
    }

    /// The positions of the keys (of the channels, for pub/sub), as [`Cmd::arg_at`]
    /// indices, without allocating. Empty when the command is malformed.
    pub fn keys(&self) -> KeyPositions<'a> {
        if self.malformed {
            return KeyPositions::empty(self.cmd);
        }
        KeyPositions::new(self.cmd, self.specs, self.range, self.extra)
    }

    /// The first key's position, if any: enough to route [`Class::SingleKey`].
    pub fn first_key(&self) -> Option<usize> {
        self.keys().next()
    }
}

/// Routes `cmd` with the built-in table only. Unknown commands (modules) get the default:
/// the first argument is the key. See [`CommandTable`] to register others.
pub fn classify(cmd: &Cmd) -> Routing<'_> {
    static BUILT_IN: CommandTable = CommandTable::EMPTY;
    BUILT_IN.classify(cmd)
}

/// The table entry for `cmd` (its subcommand's, for containers such as `OBJECT`), if any.
pub fn lookup(cmd: &Cmd) -> Option<&'static CommandInfo> {
    let top = spec::find(COMMANDS, cmd.name())?;
    if top.subcommands().is_empty() {
        return Some(top);
    }
    Some(
        cmd.arg_at(0)
            .and_then(|sub| spec::find(top.subcommands(), sub))
            .unwrap_or(top),
    )
}

/// Every Redis 7.0 command in the built-in table, sorted by name (subcommands inside their
/// containers, see [`CommandInfo::subcommands`]).
pub fn commands() -> &'static [CommandInfo] {
    COMMANDS
}

/// A command registered at run time (a module's, or an override of a built-in one).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Registration {
    /// In capitals.
    name: Vec<u8>,
    class: Class,
    block: Block,
    key_specs: Vec<KeySpec>,
}

/// The built-in table plus run-time registrations.
///
/// A command not in the table and not registered is routed by its first argument (the
/// common shape of module commands, `JSON.GET key ...`); register anything else, such as a
/// module command that takes `numkeys` or has no key.
///
/// ```
/// use redis_ring_core::command::{Class, Cmd, CommandTable, KeySpec};
/// use redis_ring_core::command::Block;
///
/// let mut table = CommandTable::new();
/// // FT.SEARCH index query: the index is not a key; every shard has its own.
/// table.register("FT.SEARCH", Class::FanOut, Block::Never, &[]);
/// // MY.MERGE dest numkeys key...
/// table.register(
///     "my.merge",
///     Class::SameShard,
///     Block::Never,
///     &[KeySpec::range(1, 0, 1, 0), KeySpec::keynum(2, 0, 1, 1)],
/// );
/// let cmd = Cmd::new("MY.MERGE").arg("d").arg(2).arg("a").arg("b");
/// assert_eq!(table.classify(&cmd).keys().collect::<Vec<_>>(), [0, 2, 3]);
/// let cmd = Cmd::new("JSON.GET").arg("doc").arg("$");
/// assert_eq!(table.classify(&cmd).keys().collect::<Vec<_>>(), [0]);
/// assert!(!table.classify(&cmd).is_known());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandTable {
    /// Sorted by name, for binary search without allocating.
    registered: Vec<Registration>,
}

impl CommandTable {
    const EMPTY: CommandTable = CommandTable {
        registered: Vec::new(),
    };

    /// The built-in table with no registrations.
    pub fn new() -> CommandTable {
        CommandTable::default()
    }

    /// Registers (or replaces) a top-level command by name (case-insensitive). Registrations
    /// take precedence over the built-in table.
    pub fn register(
        &mut self,
        name: impl AsRef<[u8]>,
        class: Class,
        block: Block,
        key_specs: &[KeySpec],
    ) -> &mut CommandTable {
        let name = name.as_ref().to_ascii_uppercase();
        let reg = Registration {
            name,
            class,
            block,
            key_specs: key_specs.to_vec(),
        };
        match self
            .registered
            .binary_search_by(|r| r.name.as_slice().cmp(&reg.name))
        {
            Ok(i) => self.registered[i] = reg,
            Err(i) => self.registered.insert(i, reg),
        }
        self
    }

    fn registration(&self, name: &[u8]) -> Option<&Registration> {
        self.registered
            .binary_search_by(|r| {
                r.name
                    .iter()
                    .copied()
                    .cmp(name.iter().map(u8::to_ascii_uppercase))
            })
            .ok()
            .map(|i| &self.registered[i])
    }

    /// Routes `cmd`: registrations first, then the built-in table, then the default (the
    /// first argument is the key; no argument, no key).
    pub fn classify<'a>(&'a self, cmd: &'a Cmd) -> Routing<'a> {
        let (class, block, specs, special, known) = if let Some(reg) = self.registration(cmd.name())
        {
            (
                reg.class,
                reg.block,
                reg.key_specs.as_slice(),
                SpecialKeys::None,
                true,
            )
        } else if let Some(info) = lookup(cmd) {
            (
                info.class(),
                info.block(),
                info.key_specs(),
                info.special(),
                true,
            )
        } else if cmd.is_empty() {
            (
                Class::Keyless,
                Block::Never,
                &[][..],
                SpecialKeys::None,
                false,
            )
        } else {
            (
                Class::SingleKey,
                Block::Never,
                &[KeySpec::FIRST_ARG][..],
                SpecialKeys::None,
                false,
            )
        };
        let mut routing = Routing {
            cmd,
            class,
            blocking: match block {
                Block::Never => false,
                Block::Always => true,
                Block::WithBlockArg => has_block_option(cmd),
            },
            known,
            malformed: false,
            specs: &[],
            range: ArgvRange::EMPTY,
            extra: None,
        };
        match (class, special) {
            (Class::PubSub(kind), _) => routing.range = channels(cmd, kind),
            (_, SpecialKeys::Sort) => sort_keys(&mut routing),
            (_, SpecialKeys::Migrate) => migrate_keys(&mut routing),
            (_, SpecialKeys::None) => {
                routing.malformed = specs.iter().any(|s| s.resolve(cmd).is_err());
                routing.specs = specs;
            }
        }
        routing
    }
}

/// The channels of a pub/sub command, as an `argv` range.
fn channels(cmd: &Cmd, kind: PubSubKind) -> ArgvRange {
    match kind {
        PubSubKind::Subscribe
        | PubSubKind::Unsubscribe
        | PubSubKind::SSubscribe
        | PubSubKind::SUnsubscribe => ArgvRange {
            next: 1,
            last: cmd.len(),
            step: 1,
        },
        PubSubKind::Publish | PubSubKind::SPublish => ArgvRange {
            next: 1,
            last: cmd.len().min(1),
            step: 1,
        },
        PubSubKind::PSubscribe | PubSubKind::PUnsubscribe => ArgvRange::EMPTY,
    }
}

/// Whether `XREAD`/`XREADGROUP` has a `BLOCK` option before `STREAMS` (option values, such
/// as a group named `BLOCK`, are skipped).
fn has_block_option(cmd: &Cmd) -> bool {
    let mut args = cmd.args();
    while let Some(a) = args.next() {
        let skip = if a.eq_ignore_ascii_case(b"BLOCK") {
            return true;
        } else if a.eq_ignore_ascii_case(b"STREAMS") {
            return false;
        } else if a.eq_ignore_ascii_case(b"COUNT") {
            1
        } else if a.eq_ignore_ascii_case(b"GROUP") {
            2
        } else {
            0
        };
        for _ in 0..skip {
            args.next();
        }
    }
    false
}

/// `SORT key [BY p] [LIMIT o c] [GET p ...] [ASC|DESC] [ALPHA] [STORE dest]`, as Redis's
/// `sortGetKeys`: the key, and the destination of the last `STORE`.
fn sort_keys(routing: &mut Routing<'_>) {
    let cmd = routing.cmd;
    if cmd.is_empty() {
        routing.malformed = true;
        return;
    }
    routing.range = ArgvRange {
        next: 1,
        last: 1,
        step: 1,
    };
    // argv indices, as Redis counts.
    let argc = cmd.len() + 1;
    let mut i = 2;
    while i < argc {
        let a = cmd.arg_at(i - 1).unwrap_or_default();
        if a.eq_ignore_ascii_case(b"LIMIT") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"GET") || a.eq_ignore_ascii_case(b"BY") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"STORE") && i + 1 < argc {
            routing.extra = Some(i + 1);
        }
        i += 1;
    }
}

/// `MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw]
/// [KEYS key ...]`, as Redis's `migrateGetKeys`: the keys after `KEYS` (the key argument
/// must then be empty), else the key argument.
fn migrate_keys(routing: &mut Routing<'_>) {
    let cmd = routing.cmd;
    let argc = cmd.len() + 1;
    if argc < 6 {
        routing.malformed = true;
        return;
    }
    routing.range = ArgvRange {
        next: 3,
        last: 3,
        step: 1,
    };
    let mut i = 6;
    while i < argc {
        let a = cmd.arg_at(i - 1).unwrap_or_default();
        if a.eq_ignore_ascii_case(b"KEYS") {
            // With KEYS the key argument must be empty; Redis rejects the command otherwise.
            if !cmd.arg_at(2).unwrap_or_default().is_empty() {
                routing.malformed = true;
            } else if i + 1 < argc {
                routing.range = ArgvRange {
                    next: i + 1,
                    last: argc - 1,
                    step: 1,
                };
            }
            return;
        } else if a.eq_ignore_ascii_case(b"AUTH") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"AUTH2") {
            i += 2;
        }
        i += 1;
    }
}
