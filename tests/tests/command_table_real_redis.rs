//! The key-spec table of `redis_ring_core::command` checked against a real redis-server.
//!
//! For every command and subcommand the server reports (`COMMAND INFO`), the table must
//! have an entry with the same arity, legacy first/last/step, key specs and blocking flag,
//! and a class consistent with the server's flags; and the table must have nothing the
//! server lacks. Then, for every keyed command, two invocations are synthesised from the
//! server's own argument docs (`COMMAND DOCS`: the required arguments only, and every
//! optional argument with repeatable ones twice) and the keys `classify` finds are compared
//! with `COMMAND GETKEYS`. Any disagreement fails with the command's name; deliberate
//! differences are in the allow-lists below, each with its reason.

use std::collections::BTreeMap;
use std::time::Duration;

use redis_ring_core::command::{
    classify, commands, BeginSearch, Block, Class, Cmd, CommandInfo, FindKeys, KeySpec,
};
use redis_ring_tests::harness::{RawConn, Reply};
use redis_ring_tests::RedisServer;

/// Commands whose blocking flag deliberately differs from the server's, with the reason.
const BLOCKING_DIFFERS: &[(&str, &str)] = &[(
    "WAIT",
    "blocks until replicas acknowledge or the timeout, but Redis 7.0 does not flag it",
)];

/// Commands in our table the server may lack, with the reason (none today).
const NOT_ON_SERVER: &[(&str, &str)] = &[];

/// What servers newer than the table's Redis 7.0.15 (Redis 7.2, Valkey 8: `cargo xtask test
/// --server valkey-server`) report differently: commands they added, which the table lacks,
/// and arities they widened. With the reason each is harmless for routing.
const NEWER_SERVERS: &[(&str, &str)] = &[
    (
        "WAITAOF",
        "7.2: keyless, routed by its first argument like any unknown command; like WAIT it is \
         about the caller's own connection, which a ring does not expose",
    ),
    (
        "SCRIPT SHOW",
        "7.2/Valkey 8: keyless, SCRIPT's entry routes it",
    ),
    (
        "CLUSTER SLOT-STATS",
        "Valkey 8: keyless, CLUSTER's entry routes it",
    ),
    (
        "CLUSTER MYSHARDID",
        "7.2: keyless, CLUSTER's entry routes it",
    ),
    (
        "CLIENT CAPA",
        "Valkey 8: connection option, CLIENT's entry routes it",
    ),
    (
        "CLIENT NO-TOUCH",
        "7.2: connection option, CLIENT's entry routes it",
    ),
    (
        "CLIENT SETINFO",
        "7.2: connection option, CLIENT's entry routes it",
    ),
    (
        "COMMAND GETKEYS",
        "7.2 widened the arity (-4 to -3); arity is not used for routing",
    ),
    (
        "COMMAND GETKEYSANDFLAGS",
        "7.2 widened the arity (-4 to -3)",
    ),
    (
        "ZRANK",
        "7.2 added WITHSCORE (arity 3 to -3); the key is still argument 1",
    ),
    (
        "ZREVRANK",
        "7.2 added WITHSCORE (arity 3 to -3); the key is still argument 1",
    ),
];

/// Whether `name` differs on servers newer than the table's (see [`NEWER_SERVERS`]).
fn newer_server_difference(name: &str) -> bool {
    NEWER_SERVERS.iter().any(|(n, _)| *n == name)
}

fn text(r: &Reply) -> String {
    match r {
        Reply::Status(s) | Reply::Error(s) => s.clone(),
        Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
        Reply::Int(i) => i.to_string(),
        other => panic!("not text: {other:?}"),
    }
}

fn int(r: &Reply) -> i64 {
    match r {
        Reply::Int(i) => *i,
        other => panic!("not an integer: {other:?}"),
    }
}

fn items(r: &Reply) -> &[Reply] {
    match r {
        Reply::Array(Some(v)) => v,
        other => panic!("not an array: {other:?}"),
    }
}

/// A RESP2 flat array of names and values as a map.
fn map(r: &Reply) -> BTreeMap<String, Reply> {
    items(r)
        .chunks(2)
        .map(|kv| (text(&kv[0]), kv[1].clone()))
        .collect()
}

/// One command as `COMMAND INFO` reports it.
#[derive(Debug)]
struct ServerCommand {
    /// `GET`, or `OBJECT ENCODING` for a subcommand.
    name: String,
    arity: i64,
    flags: Vec<String>,
    legacy: (i64, i64, i64),
    key_specs: Vec<String>,
    subcommands: Vec<ServerCommand>,
}

fn parse_info(r: &Reply) -> ServerCommand {
    let f = items(r);
    let name = text(&f[0]).to_uppercase().replace('|', " ");
    ServerCommand {
        name,
        arity: int(&f[1]),
        flags: items(&f[2]).iter().map(text).collect(),
        legacy: (int(&f[3]), int(&f[4]), int(&f[5])),
        key_specs: items(&f[8]).iter().map(server_spec).collect(),
        subcommands: items(&f[9]).iter().map(parse_info).collect(),
    }
}

/// A server key spec in the notation of [`our_spec`].
fn server_spec(r: &Reply) -> String {
    let spec = map(r);
    let begin = map(&spec["begin_search"]);
    let find = map(&spec["find_keys"]);
    let begin_args = match &begin["spec"] {
        Reply::Array(Some(v)) if !v.is_empty() => map(&begin["spec"]),
        _ => BTreeMap::new(),
    };
    let find_args = match &find["spec"] {
        Reply::Array(Some(v)) if !v.is_empty() => map(&find["spec"]),
        _ => BTreeMap::new(),
    };
    let b = match text(&begin["type"]).as_str() {
        "index" => format!("index({})", int(&begin_args["index"])),
        "keyword" => format!(
            "keyword({},{})",
            text(&begin_args["keyword"]),
            int(&begin_args["startfrom"])
        ),
        other => other.to_string(),
    };
    let f = match text(&find["type"]).as_str() {
        "range" => format!(
            "range({},{},{})",
            int(&find_args["lastkey"]),
            int(&find_args["keystep"]),
            int(&find_args["limit"])
        ),
        "keynum" => format!(
            "keynum({},{},{})",
            int(&find_args["keynumidx"]),
            int(&find_args["firstkey"]),
            int(&find_args["keystep"])
        ),
        other => other.to_string(),
    };
    format!("{b} {f}")
}

fn our_spec(s: &KeySpec) -> String {
    let b = match s.begin {
        BeginSearch::Index(i) => format!("index({i})"),
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => format!("keyword({keyword},{start_from})"),
        BeginSearch::Unknown => "unknown".into(),
    };
    let f = match s.find {
        FindKeys::Range {
            last_key,
            key_step,
            limit,
        } => format!("range({last_key},{key_step},{limit})"),
        FindKeys::KeyNum {
            key_num_index,
            first_key,
            key_step,
        } => format!("keynum({key_num_index},{first_key},{key_step})"),
        FindKeys::Unknown => "unknown".into(),
    };
    format!("{b} {f}")
}

/// Our table flattened: full name (`OBJECT ENCODING`) → entry.
fn our_table() -> BTreeMap<String, &'static CommandInfo> {
    let mut out = BTreeMap::new();
    for c in commands() {
        out.insert(c.name().to_string(), c);
        for s in c.subcommands() {
            out.insert(format!("{} {}", c.name(), s.name()), s);
        }
    }
    out
}

/// Compares one server command with our entry; pushes each disagreement to `errors`.
fn compare(server: &ServerCommand, ours: &CommandInfo, errors: &mut Vec<String>) {
    let name = &server.name;
    if i64::from(ours.arity()) != server.arity && !newer_server_difference(name) {
        errors.push(format!(
            "{name}: arity {} vs server {}",
            ours.arity(),
            server.arity
        ));
    }
    let (f, l, s) = ours.legacy_range();
    if (i64::from(f), i64::from(l), i64::from(s)) != server.legacy {
        errors.push(format!(
            "{name}: first/last/step {:?} vs server {:?}",
            (f, l, s),
            server.legacy
        ));
    }
    let specs: Vec<String> = ours.key_specs().iter().map(our_spec).collect();
    if specs != server.key_specs {
        errors.push(format!(
            "{name}: key specs {specs:?} vs server {:?}",
            server.key_specs
        ));
    }
    let server_blocking = server.flags.iter().any(|f| f == "blocking");
    let ours_blocking = ours.block() != Block::Never;
    let allowed = BLOCKING_DIFFERS.iter().any(|(n, _)| n == name);
    if server_blocking != ours_blocking && !allowed {
        errors.push(format!(
            "{name}: blocking {:?} vs server flags {:?}",
            ours.block(),
            server.flags
        ));
    }
    let server_read_only = server.flags.iter().any(|f| f == "readonly") && !server_blocking;
    if server_read_only != ours.is_read_only() {
        errors.push(format!(
            "{name}: read-only {} vs server flags {:?}",
            ours.is_read_only(),
            server.flags
        ));
    }
    // Classes consistent with what the server knows.
    let keyed = matches!(
        ours.class(),
        Class::SingleKey | Class::SameShard | Class::Split(_)
    );
    let may_have_keys = keyed || matches!(ours.class(), Class::Transaction | Class::PubSub(_));
    if !server.key_specs.is_empty() && !may_have_keys {
        errors.push(format!(
            "{name}: server has key specs, our class {:?} has no keys",
            ours.class()
        ));
    }
    if server.key_specs.is_empty() && keyed {
        errors.push(format!(
            "{name}: server has no key specs, our class is {:?}",
            ours.class()
        ));
    }
    if ours.class() == Class::SingleKey {
        let known: Vec<&String> = server
            .key_specs
            .iter()
            .filter(|s| !s.starts_with("unknown"))
            .collect();
        let single = known.len() == 1
            && known[0].starts_with("index(")
            && known[0].ends_with(" range(0,1,0)");
        if !single {
            errors.push(format!(
                "{name}: SingleKey but the server's specs allow several keys: {:?}",
                server.key_specs
            ));
        }
    }
    if server.flags.iter().any(|f| f == "pubsub")
        && !matches!(ours.class(), Class::PubSub(_) | Class::FanOut)
    {
        errors.push(format!(
            "{name}: server flags it pubsub, our class is {:?}",
            ours.class()
        ));
    }
    if !server.subcommands.is_empty() && ours.subcommands().is_empty() {
        errors.push(format!("{name}: server has subcommands, we have none"));
    }
}

/// One argument of `COMMAND DOCS`.
#[derive(Debug)]
struct DocArg {
    name: String,
    kind: String,
    token: Option<String>,
    optional: bool,
    multiple: bool,
    multiple_token: bool,
    children: Vec<DocArg>,
}

fn parse_doc_arg(r: &Reply) -> DocArg {
    let m = map(r);
    let flags: Vec<String> = m
        .get("flags")
        .map_or(vec![], |f| items(f).iter().map(text).collect());
    DocArg {
        name: text(&m["name"]),
        kind: text(&m["type"]),
        token: m.get("token").map(text),
        optional: flags.iter().any(|f| f == "optional"),
        multiple: flags.iter().any(|f| f == "multiple"),
        multiple_token: flags.iter().any(|f| f == "multiple_token"),
        children: m
            .get("arguments")
            .map_or(vec![], |a| items(a).iter().map(parse_doc_arg).collect()),
    }
}

/// Synthesises arguments from the docs: required ones only, or (`full`) every optional one
/// too with repeatable ones twice. Keys are named `key1`, `key2`, ... so that the server's
/// and our answers can be compared by name; `numkeys` is set to the keys that follow.
struct Synth {
    full: bool,
    keys: usize,
    out: Vec<String>,
}

impl Synth {
    fn reps(&self, a: &DocArg, forced: bool) -> usize {
        if a.optional && !self.full && !forced {
            0
        } else if a.multiple && self.full {
            2
        } else {
            1
        }
    }

    fn args(&mut self, args: &[DocArg], forced: bool) {
        for (i, a) in args.iter().enumerate() {
            if a.name == "numkeys" && a.kind == "integer" {
                let n = args.get(i + 1).map_or(0, |next| self.reps(next, false));
                if let Some(t) = &a.token {
                    self.out.push(t.clone());
                }
                self.out.push(n.to_string());
                continue;
            }
            self.arg(a, forced);
        }
    }

    fn arg(&mut self, a: &DocArg, forced: bool) {
        for rep in 0..self.reps(a, forced) {
            if let Some(t) = &a.token {
                if rep == 0 || a.multiple_token {
                    self.out.push(t.clone());
                }
            }
            match a.kind.as_str() {
                "key" => {
                    self.keys += 1;
                    self.out.push(format!("key{}", self.keys));
                }
                "integer" | "unix-time" => self.out.push("1".into()),
                "double" => self.out.push("1.5".into()),
                "pattern" => self.out.push("pat*".into()),
                "string" => self.out.push("str".into()),
                "pure-token" => {}
                // The first alternative, whatever its own optional flag says.
                "oneof" => self.arg(&a.children[0], true),
                "block" => self.args(&a.children, false),
                other => panic!("unknown argument type {other} in {a:?}"),
            }
        }
    }
}

fn synth(prefix: &[String], args: &[DocArg], full: bool) -> Vec<String> {
    let mut s = Synth {
        full,
        keys: 0,
        out: prefix.to_vec(),
    };
    s.args(args, false);
    s.out
}

/// Compares `classify` with `COMMAND GETKEYS` on one invocation. Returns whether the
/// server accepted it.
fn check_getkeys(conn: &mut RawConn, argv: &[String], errors: &mut Vec<String>) -> bool {
    let mut query: Vec<&str> = vec!["COMMAND", "GETKEYS"];
    query.extend(argv.iter().map(String::as_str));
    let reply = conn.command(&query).expect("COMMAND GETKEYS");
    let mut cmd = Cmd::new(&argv[0]);
    for a in &argv[1..] {
        cmd.push_arg(a.as_str());
    }
    let routing = classify(&cmd);
    let ours: Vec<String> = routing
        .keys()
        .args()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    match reply {
        Reply::Array(Some(keys)) => {
            let server: Vec<String> = keys.iter().map(text).collect();
            if ours != server {
                errors.push(format!(
                    "{}: keys {ours:?} vs COMMAND GETKEYS {server:?}",
                    argv.join(" ")
                ));
            }
            true
        }
        Reply::Error(e) if e.contains("wrong number of arguments") => false,
        Reply::Error(e)
            if e.contains("Invalid arguments")
                || e.contains("Invalid number of arguments")
                || e.contains("no key arguments") =>
        {
            if !ours.is_empty() {
                errors.push(format!(
                    "{}: server finds no keys ({e}), we find {ours:?}",
                    argv.join(" ")
                ));
            }
            true
        }
        other => panic!("{}: unexpected reply {other:?}", argv.join(" ")),
    }
}

#[test]
fn table_matches_the_servers_key_specs() {
    let server = RedisServer::start().expect("start redis-server");
    let mut conn = RawConn::connect(server.socket_addr(), Duration::from_secs(10)).unwrap();
    let info = conn.command(&["COMMAND", "INFO"]).unwrap();
    let server_cmds: Vec<ServerCommand> = items(&info).iter().map(parse_info).collect();
    let ours = our_table();
    let mut errors = Vec::new();
    let mut seen = Vec::new();
    let mut checked = 0;
    for top in &server_cmds {
        for c in std::iter::once(top).chain(&top.subcommands) {
            seen.push(c.name.clone());
            match ours.get(&c.name) {
                Some(entry) => {
                    compare(c, entry, &mut errors);
                    checked += 1;
                }
                None if newer_server_difference(&c.name) => {}
                None => errors.push(format!(
                    "{}: reported by the server, not in our table",
                    c.name
                )),
            }
        }
    }
    for name in ours.keys() {
        if !seen.contains(name) && !NOT_ON_SERVER.iter().any(|(n, _)| n == name) {
            errors.push(format!("{name}: in our table, not reported by the server"));
        }
    }
    assert!(
        errors.is_empty(),
        "{} disagreement(s) with the server:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(checked >= 360, "only {checked} commands checked");
}

#[test]
fn key_positions_match_command_getkeys() {
    let server = RedisServer::start().expect("start redis-server");
    let mut conn = RawConn::connect(server.socket_addr(), Duration::from_secs(10)).unwrap();
    let docs = conn.command(&["COMMAND", "DOCS"]).unwrap();
    let ours = our_table();
    let mut errors = Vec::new();
    let mut compared = 0;
    let mut keyed_commands = 0;
    for (name, doc) in map(&docs) {
        let doc = map(&doc);
        let mut entries = vec![(vec![name.to_uppercase()], doc.clone())];
        if let Some(subs) = doc.get("subcommands") {
            for (sub, sdoc) in map(subs) {
                let word = sub.split('|').nth(1).unwrap().to_uppercase();
                entries.push((vec![name.to_uppercase(), word], map(&sdoc)));
            }
        }
        for (prefix, doc) in entries {
            let full_name = prefix.join(" ");
            let Some(entry) = ours.get(&full_name) else {
                continue; // reported by the other test
            };
            // Pub/sub positions are channels, which COMMAND GETKEYS does not report.
            if matches!(entry.class(), Class::PubSub(_)) || !entry.subcommands().is_empty() {
                continue;
            }
            let args: Vec<DocArg> = doc
                .get("arguments")
                .map_or(vec![], |a| items(a).iter().map(parse_doc_arg).collect());
            let mut accepted = false;
            for full in [false, true] {
                let argv = synth(&prefix, &args, full);
                accepted |= check_getkeys(&mut conn, &argv, &mut errors);
                compared += 1;
            }
            if !entry.key_specs().is_empty() {
                keyed_commands += 1;
                assert!(
                    accepted,
                    "{full_name}: no synthesised invocation was accepted"
                );
            }
        }
    }
    // The special shapes, beyond what the docs synthesise.
    for line in [
        "MIGRATE h 1  0 1 COPY AUTH KEYS KEYS key1 key2",
        "MIGRATE h 1  0 1 AUTH2 u KEYS KEYS key1",
        "MIGRATE h 1 key1 0 1 KEYS key2",
        "MIGRATE h 1  0 1 KEYS",
        "SORT key1 BY STORE GET STORE STORE key2",
        "SORT key1 STORE key2 STORE key3",
        "SORT key1 LIMIT STORE x",
        "SORT key1 STORE",
        "XREAD COUNT 1 BLOCK 0 STREAMS key1 key2 0 0",
        "XREAD STREAMS key1 key2 0",
        "XREADGROUP GROUP STREAMS c STREAMS key1 >",
        "GEORADIUS key1 1 2 3 km STOREDIST key2",
        "GEORADIUS key1 1 2 3 km STORE",
        "EVAL s 2 key1 key2 a",
        "EVAL s -1 key1",
        "EVAL s 3 key1",
        "ZUNIONSTORE key1 2 key2 key3 WEIGHTS 1 2",
        "ZUNION 0 key1",
        "BLMPOP 0 2 key1 key2 LEFT",
        "MSET key1 a key2 b",
        "BITOP AND key1 key2 key3",
        "OBJECT ENCODING key1",
    ] {
        let argv: Vec<String> = line.split(' ').map(String::from).collect();
        check_getkeys(&mut conn, &argv, &mut errors);
        compared += 1;
    }
    assert!(
        errors.is_empty(),
        "{} disagreement(s) with COMMAND GETKEYS:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(
        keyed_commands >= 180,
        "only {keyed_commands} keyed commands"
    );
    assert!(compared >= 500, "only {compared} invocations compared");
}

/// Every typed helper, sent to a real server: none is refused as unknown, malformed or of
/// the wrong arity (errors about the data, such as `NOSCRIPT`, are fine).
#[test]
fn typed_helpers_are_valid_commands() {
    use redis_ring_core::command::cmds;
    let server = RedisServer::start().expect("start redis-server");
    let mut conn = RawConn::connect(server.socket_addr(), Duration::from_secs(10)).unwrap();
    let all = [
        cmds::set("k", 42),
        cmds::get("k"),
        cmds::set_ex("k", "v", 10),
        cmds::set_nx("k", "v"),
        cmds::set_px("k", "v", 1500),
        cmds::mset([("a", 1), ("b", 2)]),
        cmds::mget(["a", "b"]),
        cmds::getdel("a"),
        cmds::getex("k", 5),
        cmds::append("k", "xy"),
        cmds::strlen("k"),
        cmds::incr("n"),
        cmds::incr_by("n", -5),
        cmds::decr("n"),
        cmds::decr_by("n", 3),
        cmds::incr_by_float("n", 0.5),
        cmds::getrange("k", 0, -1),
        cmds::setrange("k", 3, "ab"),
        cmds::exists(["a", "b"]),
        cmds::touch(["a", "b"]),
        cmds::expire("k", 60),
        cmds::pexpire("k", 1500),
        cmds::expire_at("k", 4_000_000_000),
        cmds::ttl("k"),
        cmds::pttl("k"),
        cmds::persist("k"),
        cmds::type_("k"),
        cmds::rename("k", "k2"),
        cmds::del(["k2", "b"]),
        cmds::unlink(["n"]),
        cmds::hset("h", "f", 1),
        cmds::hset_multiple("h", [("f1", "v1"), ("f2", "v2")]),
        cmds::hget("h", "f"),
        cmds::hexists("h", "f"),
        cmds::hincr_by("h", "f", 2),
        cmds::hincr_by_float("h", "f", 0.5),
        cmds::hsetnx("h", "f3", "v"),
        cmds::hkeys("h"),
        cmds::hvals("h"),
        cmds::hlen("h"),
        cmds::hmget("h", ["f1", "f2"]),
        cmds::hgetall("h"),
        cmds::hdel("h", ["f1", "f2"]),
        cmds::lpush("l", [1, 2]),
        cmds::rpush("l", "x"),
        // Blocking pops on a list that has elements: they answer at once.
        cmds::rpush("bl", ["1", "2"]),
        cmds::blpop("bl", 1),
        cmds::brpop("bl", 1),
        cmds::lrange("l", 0, -1),
        cmds::llen("l"),
        cmds::lindex("l", -1),
        cmds::lset("l", 0, "y"),
        cmds::lrem("l", 0, "x"),
        cmds::ltrim("l", 0, 5),
        cmds::lpop("l"),
        cmds::rpop("l"),
        cmds::sadd("s1", ["a", "b"]),
        cmds::sadd("s2", "b"),
        cmds::srem("s1", "z"),
        cmds::smembers("s1"),
        cmds::sismember("s1", "a"),
        cmds::scard("s1"),
        cmds::srandmember("s1"),
        cmds::sinter(["s1", "s2"]),
        cmds::sunion(["s1", "s2"]),
        cmds::spop("s1"),
        cmds::zadd("z", 1.5, "m"),
        cmds::zadd("z", f64::INFINITY, "top"),
        cmds::zadd_multiple("z", [(3.0, "c"), (4.0, "d")]),
        cmds::bzpopmin("z", 1),
        cmds::bzpopmax("z", 1),
        cmds::zincr_by("z", 2.0, "m"),
        cmds::zscore("z", "m"),
        cmds::zrange("z", 0, -1),
        cmds::zrange_withscores("z", 0, -1),
        cmds::zrevrange("z", 0, -1),
        cmds::zrangebyscore("z", f64::NEG_INFINITY, "(2"),
        cmds::zrank("z", "m"),
        cmds::zrevrank("z", "m"),
        cmds::zcard("z"),
        cmds::zcount("z", "-inf", "+inf"),
        cmds::zpopmin("z", 1),
        cmds::zrem("z", ["m", "top"]),
        cmds::eval("return KEYS[1]", ["k1"], ["a"]),
        cmds::script_load("return 1"),
        cmds::evalsha("e0e1f9fabfc9d4800c877a703b823ac0578ff8db", (), ()),
        cmds::publish("ch", "hi"),
        cmds::echo("hi"),
        cmds::ping(),
    ];
    assert_eq!(
        all.len(),
        cmds::NAMES.len() + 3,
        "one invocation per helper (sadd, zadd and rpush twice)"
    );
    for cmd in &all {
        let words: Vec<String> = std::iter::once(cmd.name())
            .chain(cmd.args())
            .map(|w| String::from_utf8(w.to_vec()).unwrap())
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let reply = conn.command(&words).unwrap();
        if let Reply::Error(e) = &reply {
            let refused = [
                "wrong number",
                "syntax",
                "unknown command",
                "unknown subcommand",
            ]
            .iter()
            .any(|m| e.contains(m));
            assert!(!refused, "{cmd}: {e}");
            assert!(!e.starts_with("WRONGTYPE"), "{cmd}: {e}");
        }
    }
}
