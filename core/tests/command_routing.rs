//! `classify`: classes, blocking and key positions for the interesting shapes of Redis 7.0
//! commands, and the run-time registrations of `CommandTable`.

use redis_ring_core::command::{
    classify, commands, lookup, Block, Class, Cmd, CommandTable, KeySpec, Merge, PubSubKind,
};

/// Builds a command from a redis-cli-like line.
fn cmd(line: &str) -> Cmd {
    let mut words = line.split(' ');
    let mut cmd = Cmd::new(words.next().unwrap());
    for w in words {
        cmd.push_arg(w);
    }
    cmd
}

/// The key arguments `classify` finds, as text.
fn keys(line: &str) -> Vec<String> {
    let c = cmd(line);
    let r = classify(&c);
    assert!(!r.is_malformed(), "{line} is malformed");
    r.keys()
        .args()
        .map(|k| String::from_utf8(k.to_vec()).unwrap())
        .collect()
}

fn class(line: &str) -> Class {
    classify(&cmd(line)).class()
}

fn malformed(line: &str) -> bool {
    let c = cmd(line);
    let r = classify(&c);
    if r.is_malformed() {
        assert_eq!(r.keys().count(), 0);
    }
    r.is_malformed()
}

#[test]
fn single_key_commands() {
    assert_eq!(keys("GET k"), ["k"]);
    assert_eq!(keys("get k"), ["k"]);
    assert_eq!(keys("SET k v EX 10"), ["k"]);
    assert_eq!(keys("HSET h f v f2 v2"), ["h"]);
    assert_eq!(keys("XADD s * f v"), ["s"]);
    assert_eq!(class("GET k"), Class::SingleKey);
    assert_eq!(class("ZADD z 1 m"), Class::SingleKey);
    assert_eq!(class("SORT_RO k BY w_*"), Class::SingleKey);
    assert_eq!(classify(&cmd("GET k")).first_key(), Some(0));
}

#[test]
fn subcommands() {
    assert_eq!(keys("OBJECT ENCODING k"), ["k"]);
    assert_eq!(keys("object encoding k"), ["k"]);
    assert_eq!(class("OBJECT ENCODING k"), Class::SingleKey);
    assert_eq!(class("OBJECT HELP"), Class::Keyless);
    assert_eq!(keys("MEMORY USAGE k SAMPLES 5"), ["k"]);
    assert_eq!(class("MEMORY STATS"), Class::FanOut);
    assert_eq!(keys("XGROUP CREATE s g $ MKSTREAM"), ["s"]);
    assert_eq!(keys("XINFO STREAM s FULL"), ["s"]);
    assert_eq!(class("CONFIG SET maxmemory 1"), Class::FanOut);
    assert_eq!(class("CONFIG HELP"), Class::Keyless);
    assert_eq!(class("SCRIPT LOAD x"), Class::FanOut);
    assert_eq!(class("SCRIPT DEBUG YES"), Class::Connection);
    assert_eq!(class("FUNCTION LOAD x"), Class::FanOut);
    assert_eq!(class("CLIENT SETNAME n"), Class::Connection);
    assert_eq!(class("CLIENT LIST"), Class::FanOut);
    assert_eq!(class("LATENCY LATEST"), Class::FanOut);
    // An unknown subcommand or a missing one: the container's own entry (the server
    // reports the error).
    assert_eq!(class("OBJECT NOPE k"), Class::Keyless);
    assert_eq!(class("OBJECT"), Class::Keyless);
    assert_eq!(lookup(&cmd("OBJECT FREQ k")).unwrap().name(), "FREQ");
    assert_eq!(lookup(&cmd("OBJECT")).unwrap().name(), "OBJECT");
}

#[test]
fn splittable_multi_key() {
    assert_eq!(class("MGET a b"), Class::Split(Merge::Values));
    assert_eq!(class("MSET a 1 b 2"), Class::Split(Merge::AllOk));
    for c in ["DEL a", "UNLINK a", "EXISTS a", "TOUCH a"] {
        assert_eq!(class(c), Class::Split(Merge::SumCounts), "{c}");
    }
    assert_eq!(keys("MGET a b c"), ["a", "b", "c"]);
    assert_eq!(keys("MSET a 1 b 2"), ["a", "b"]);
    assert_eq!(
        classify(&cmd("MSET a 1 b 2")).keys().collect::<Vec<_>>(),
        [0, 2]
    );
    assert_eq!(Merge::AllOk.args_per_key(), 2);
    assert_eq!(Merge::Values.args_per_key(), 1);
    assert_eq!(keys("DEL a b"), ["a", "b"]);
    // MSETNX is atomic: not split.
    assert_eq!(class("MSETNX a 1 b 2"), Class::SameShard);
    assert_eq!(keys("MSETNX a 1 b 2"), ["a", "b"]);
}

#[test]
fn same_shard_multi_key() {
    assert_eq!(class("RENAME a b"), Class::SameShard);
    assert_eq!(keys("RENAME a b"), ["a", "b"]);
    assert_eq!(keys("SMOVE a b m"), ["a", "b"]);
    assert_eq!(keys("LMOVE a b LEFT RIGHT"), ["a", "b"]);
    assert_eq!(keys("SUNIONSTORE d a b"), ["d", "a", "b"]);
    assert_eq!(keys("BITOP AND d a b"), ["d", "a", "b"]);
    assert_eq!(keys("LCS a b"), ["a", "b"]);
    assert_eq!(keys("COPY a b DB 1"), ["a", "b"]);
    assert_eq!(keys("PFMERGE d a b"), ["d", "a", "b"]);
    assert_eq!(
        keys("GEOSEARCHSTORE d s FROMMEMBER m BYRADIUS 1 km"),
        ["d", "s"]
    );
    assert_eq!(keys("ZRANGESTORE d s 0 -1"), ["d", "s"]);
}

#[test]
fn numkeys_forms() {
    for name in [
        "EVAL",
        "EVALSHA",
        "EVAL_RO",
        "EVALSHA_RO",
        "FCALL",
        "FCALL_RO",
    ] {
        assert_eq!(
            keys(&format!("{name} body 2 k1 k2 a1")),
            ["k1", "k2"],
            "{name}"
        );
        assert_eq!(keys(&format!("{name} body 0 a1")), Vec::<String>::new());
        assert_eq!(class(&format!("{name} body 0")), Class::SameShard);
    }
    for name in ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"] {
        assert_eq!(
            keys(&format!("{name} d 2 a b WEIGHTS 1 2")),
            ["d", "a", "b"]
        );
    }
    for name in ["ZUNION", "ZINTER", "ZDIFF"] {
        assert_eq!(keys(&format!("{name} 2 a b WITHSCORES")), ["a", "b"]);
    }
    assert_eq!(keys("SINTERCARD 2 a b LIMIT 5"), ["a", "b"]);
    assert_eq!(keys("ZINTERCARD 3 a b c"), ["a", "b", "c"]);
    assert_eq!(keys("LMPOP 2 a b LEFT COUNT 2"), ["a", "b"]);
    assert_eq!(keys("ZMPOP 1 a MIN"), ["a"]);
    assert_eq!(keys("BLMPOP 0.5 2 a b LEFT"), ["a", "b"]);
    assert_eq!(keys("BZMPOP 1 2 a b MAX"), ["a", "b"]);
    // numkeys beyond the arguments, negative, or not a number: malformed.
    assert!(malformed("EVAL body 3 k1"));
    assert!(malformed("EVAL body -1 k1"));
    assert!(malformed("EVAL body x k1"));
    assert!(malformed("EVAL body"));
    assert!(malformed("ZUNIONSTORE d 99999999999999999999 a"));
    assert!(malformed("LMPOP"));
}

#[test]
fn streams_keyword() {
    assert_eq!(keys("XREAD STREAMS a b 0 0"), ["a", "b"]);
    assert_eq!(keys("XREAD COUNT 2 BLOCK 0 STREAMS a 0"), ["a"]);
    assert_eq!(
        keys("XREADGROUP GROUP g c COUNT 1 STREAMS a b > >"),
        ["a", "b"]
    );
    assert!(!classify(&cmd("XREAD STREAMS a 0")).is_blocking());
    assert!(classify(&cmd("XREAD BLOCK 100 STREAMS a 0")).is_blocking());
    assert!(classify(&cmd("xread block 100 streams a 0")).is_blocking());
    assert!(classify(&cmd("XREADGROUP GROUP g c BLOCK 0 STREAMS a >")).is_blocking());
    // A group and consumer named BLOCK are option values, not the option.
    assert!(!classify(&cmd("XREADGROUP GROUP BLOCK BLOCK STREAMS a >")).is_blocking());
    // A stream named BLOCK is after STREAMS.
    assert!(!classify(&cmd("XREAD STREAMS BLOCK 0")).is_blocking());
    assert_eq!(keys("XREAD STREAMS BLOCK 0"), ["BLOCK"]);
    // No STREAMS keyword: no keys (the server reports the syntax error).
    assert_eq!(keys("XREAD COUNT 1 x y"), Vec::<String>::new());
}

#[test]
fn migrate() {
    assert_eq!(keys("MIGRATE h 6379 k 0 1000"), ["k"]);
    assert_eq!(keys("MIGRATE h 6379 k 0 1000 COPY REPLACE"), ["k"]);
    assert_eq!(keys("MIGRATE h 6379  0 1000 KEYS a b"), ["a", "b"]);
    assert_eq!(
        keys("MIGRATE h 6379  0 1000 COPY AUTH KEYS KEYS a b"),
        ["a", "b"]
    );
    assert_eq!(keys("MIGRATE h 6379  0 1000 AUTH2 KEYS KEYS KEYS a"), ["a"]);
    assert_eq!(class("MIGRATE h 6379 k 0 1000"), Class::SameShard);
    // KEYS with a non-empty key argument: Redis rejects it.
    assert!(malformed("MIGRATE h 6379 k 0 1000 KEYS a b"));
    // KEYS with nothing after it: the (empty) key argument, as Redis reports.
    assert_eq!(keys("MIGRATE h 6379  0 1000 KEYS"), [""]);
    assert!(malformed("MIGRATE h 6379 k"));
}

#[test]
fn sort_store() {
    assert_eq!(keys("SORT k"), ["k"]);
    assert_eq!(keys("SORT k LIMIT 0 10 ALPHA STORE d"), ["k", "d"]);
    assert_eq!(keys("SORT k BY STORE GET STORE STORE d"), ["k", "d"]);
    assert_eq!(keys("SORT k STORE d1 STORE d2"), ["k", "d2"]);
    assert_eq!(keys("SORT k LIMIT STORE x"), ["k"]);
    assert_eq!(keys("SORT k STORE"), ["k"]);
    assert_eq!(keys("SORT_RO k BY w_* GET # STORE x"), ["k"]);
    assert_eq!(class("SORT k"), Class::SameShard);
    assert!(malformed("SORT"));
}

#[test]
fn georadius_store() {
    assert_eq!(keys("GEORADIUS g 1 2 3 km"), ["g"]);
    assert_eq!(keys("GEORADIUS g 1 2 3 km STORE d"), ["g", "d"]);
    assert_eq!(keys("GEORADIUS g 1 2 3 km STOREDIST d"), ["g", "d"]);
    assert_eq!(keys("GEORADIUSBYMEMBER g m 3 km STORE d"), ["g", "d"]);
    assert_eq!(keys("GEORADIUS_RO g 1 2 3 km"), ["g"]);
}

#[test]
fn blocking_commands() {
    for line in [
        "BLPOP a b 0",
        "BRPOP a 0",
        "BLMOVE a b LEFT LEFT 0",
        "BRPOPLPUSH a b 0",
        "BZPOPMIN a 0",
        "BZPOPMAX a b 0",
        "BLMPOP 0 1 a LEFT",
        "BZMPOP 0 1 a MIN",
        "WAIT 1 0",
    ] {
        assert!(classify(&cmd(line)).is_blocking(), "{line}");
    }
    assert!(!classify(&cmd("LPOP a")).is_blocking());
    assert_eq!(keys("BLPOP a b 0"), ["a", "b"]);
    assert_eq!(class("BLPOP a b 0"), Class::SameShard);
    assert_eq!(class("BLMOVE a b LEFT LEFT 0"), Class::SameShard);
}

#[test]
fn keyless_fanout_connection_transaction() {
    for line in [
        "PING",
        "ECHO x",
        "TIME",
        "LOLWUT",
        "COMMAND COUNT",
        "COMMAND",
    ] {
        assert_eq!(class(line), Class::Keyless, "{line}");
        assert_eq!(classify(&cmd(line)).keys().count(), 0);
    }
    for line in [
        "FLUSHDB",
        "FLUSHALL",
        "DBSIZE",
        "KEYS *",
        "SCAN 0",
        "RANDOMKEY",
        "INFO",
        "SAVE",
        "SHUTDOWN",
        "SWAPDB 0 1",
        "CONFIG GET x",
        "SLOWLOG GET",
        "PUBSUB CHANNELS",
    ] {
        assert_eq!(class(line), Class::FanOut, "{line}");
    }
    for line in [
        "SELECT 1",
        "AUTH p",
        "HELLO 3",
        "QUIT",
        "RESET",
        "CLIENT SETNAME x",
        "CLIENT REPLY OFF",
        "MONITOR",
        "READONLY",
        "WAIT 1 0",
    ] {
        assert_eq!(class(line), Class::Connection, "{line}");
    }
    for line in ["MULTI", "EXEC", "DISCARD", "UNWATCH"] {
        assert_eq!(class(line), Class::Transaction, "{line}");
    }
    assert_eq!(class("WATCH a b"), Class::Transaction);
    assert_eq!(keys("WATCH a b"), ["a", "b"]);
}

#[test]
fn pubsub_channels() {
    assert_eq!(class("SUBSCRIBE a b"), Class::PubSub(PubSubKind::Subscribe));
    assert_eq!(keys("SUBSCRIBE a b"), ["a", "b"]);
    assert_eq!(keys("UNSUBSCRIBE"), Vec::<String>::new());
    assert_eq!(keys("SSUBSCRIBE a b"), ["a", "b"]);
    assert_eq!(keys("SUNSUBSCRIBE a"), ["a"]);
    assert_eq!(keys("PUBLISH ch msg"), ["ch"]);
    assert_eq!(keys("SPUBLISH ch msg"), ["ch"]);
    assert_eq!(
        class("PSUBSCRIBE n*"),
        Class::PubSub(PubSubKind::PSubscribe)
    );
    assert_eq!(keys("PSUBSCRIBE n* m*"), Vec::<String>::new());
    assert_eq!(class("PUBLISH c m"), Class::PubSub(PubSubKind::Publish));
}

#[test]
fn malformed_single_key() {
    assert!(malformed("GET"));
    assert!(malformed("RENAME a"));
    assert!(malformed("MSET"));
    assert!(
        !malformed("MSET a"),
        "MSET a: one key (the server reports the arity)"
    );
}

#[test]
fn unknown_commands_default_to_first_argument() {
    let c = cmd("JSON.GET doc $.a");
    let r = classify(&c);
    assert!(!r.is_known());
    assert_eq!(r.class(), Class::SingleKey);
    assert_eq!(r.keys().collect::<Vec<_>>(), [0]);
    let c = cmd("MODULE.PING");
    let r = classify(&c);
    assert_eq!(r.class(), Class::Keyless);
    assert_eq!(r.keys().count(), 0);
    assert!(classify(&cmd("GET k")).is_known());
}

#[test]
fn registrations() {
    let mut table = CommandTable::new();
    table
        .register("ft.search", Class::FanOut, Block::Never, &[])
        .register(
            "X.BPOP",
            Class::SameShard,
            Block::Always,
            &[KeySpec::range(1, -2, 1, 0)],
        );
    let c = cmd("FT.SEARCH idx q");
    assert_eq!(table.classify(&c).class(), Class::FanOut);
    assert!(table.classify(&c).is_known());
    let c = cmd("x.bpop a b 5");
    let r = table.classify(&c);
    assert!(r.is_blocking());
    assert_eq!(r.keys().collect::<Vec<_>>(), [0, 1]);
    // Registrations override the built-in table and can be replaced.
    table.register("GET", Class::Keyless, Block::Never, &[]);
    assert_eq!(table.classify(&cmd("GET k")).class(), Class::Keyless);
    table.register("get", Class::SingleKey, Block::Never, &[KeySpec::FIRST_ARG]);
    assert_eq!(table.classify(&cmd("GET k")).class(), Class::SingleKey);
    // A zero step in a registration cannot loop forever.
    table.register(
        "Z.ALL",
        Class::SameShard,
        Block::Never,
        &[KeySpec::range(1, -1, 0, 0)],
    );
    assert_eq!(table.classify(&cmd("Z.ALL a b c")).keys().count(), 3);
    // A negative first-key offset pointing before the arguments is malformed, not a panic.
    table.register(
        "N.NEG",
        Class::SameShard,
        Block::Never,
        &[KeySpec::keynum(1, 0, -2, 1)],
    );
    let c = cmd("N.NEG 1 a");
    assert!(table.classify(&c).is_malformed());
    assert_eq!(table.classify(&c).keys().count(), 0);
    // The free function ignores registrations.
    assert_eq!(classify(&cmd("FT.SEARCH idx q")).class(), Class::SingleKey);
}

#[test]
fn table_is_sorted_and_complete() {
    let all = commands();
    assert!(all.len() >= 240, "{} commands", all.len());
    for w in all.windows(2) {
        assert!(
            w[0].name() < w[1].name(),
            "{} / {}",
            w[0].name(),
            w[1].name()
        );
    }
    let mut subs = 0;
    for c in all {
        for w in c.subcommands().windows(2) {
            assert!(w[0].name() < w[1].name());
        }
        subs += c.subcommands().len();
        assert!(c.name().bytes().all(|b| !b.is_ascii_lowercase()));
    }
    assert!(subs >= 120, "{subs} subcommands");
    // Every entry is found by lookup, in any case.
    for c in all {
        let found = lookup(&Cmd::new(c.name().to_ascii_lowercase())).unwrap();
        assert_eq!(found.name(), c.name());
        for s in c.subcommands() {
            let found = lookup(&Cmd::new(c.name()).arg(s.name().to_ascii_lowercase())).unwrap();
            assert_eq!(found.name(), s.name());
        }
    }
}

/// Routing never panics, whatever the arguments: every entry with 0..6 arguments drawn
/// from words that trigger the special paths.
#[test]
fn classify_never_panics_on_odd_arguments() {
    let words = [
        "", "0", "1", "-1", "2", "STREAMS", "KEYS", "STORE", "BLOCK", "99999",
    ];
    for c in commands() {
        let mut names: Vec<Cmd> = vec![Cmd::new(c.name())];
        for s in c.subcommands() {
            names.push(Cmd::new(c.name()).arg(s.name()));
        }
        for base in names {
            for n in 0..6usize {
                for seed in 0..words.len() {
                    let mut cmd = base.clone();
                    for j in 0..n {
                        cmd.push_arg(words[(seed * 7 + j * 3) % words.len()]);
                    }
                    let r = classify(&cmd);
                    for i in r.keys() {
                        assert!(cmd.arg_at(i).is_some(), "{cmd}: position {i}");
                    }
                }
            }
        }
    }
}
