#!/usr/bin/env python3
"""Regenerates `table.rs` (the key-spec table) from a running redis-server.

Usage: redis-server --port 6399 & python3 gen_table.py 6399 > table.rs

Data source: `COMMAND INFO` and `COMMAND DOCS` of the server (for Redis 7.0 these are the
`key_specs`, `arity`, `flags` and first/last/step of `src/commands/*.json`). The key specs,
arity, legacy range, blocking flag and read-only flag (`readonly` and not `blocking`: safe to
re-send after a lost connection) are copied; the routing class of each command is
assigned by the rules and lists below (the server has no such notion). The committed table
was produced from redis-server 7.0.15; `tests/tests/command_table_real_redis.rs` checks it
against a live server on every test run, so a regenerated or hand-edited table cannot drift.
"""
import socket
import sys


def enc(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def cmd(self, *a):
        self.s.sendall(enc(a))
        return self.read()

    def read(self):
        line = self.f.readline()[:-2]
        t, r = line[:1], line[1:]
        if t == b"+":
            return r.decode()
        if t == b"-":
            raise RuntimeError(r.decode())
        if t == b":":
            return int(r)
        if t == b"$":
            n = int(r)
            return None if n < 0 else self.f.read(n + 2)[:-2].decode()
        if t == b"*":
            n = int(r)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(line)


def kv(items):
    return {items[i]: items[i + 1] for i in range(0, len(items), 2)}


SPLIT = {"MGET": "Values", "MSET": "AllOk", "DEL": "SumCounts", "UNLINK": "SumCounts",
         "EXISTS": "SumCounts", "TOUCH": "SumCounts"}
TRANSACTION = {"MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"}
PUBSUB = {"SUBSCRIBE": "Subscribe", "UNSUBSCRIBE": "Unsubscribe", "PSUBSCRIBE": "PSubscribe",
          "PUNSUBSCRIBE": "PUnsubscribe", "SSUBSCRIBE": "SSubscribe",
          "SUNSUBSCRIBE": "SUnsubscribe", "PUBLISH": "Publish", "SPUBLISH": "SPublish"}
# State of the connection itself: the client handles these (handshake options) or refuses
# them, since a ring multiplexes many callers over shared connections.
CONNECTION = {"AUTH", "HELLO", "SELECT", "QUIT", "RESET", "READONLY", "READWRITE", "ASKING",
              "MONITOR", "SYNC", "PSYNC", "REPLCONF", "WAIT",
              "CLIENT CACHING", "CLIENT GETNAME", "CLIENT GETREDIR", "CLIENT ID", "CLIENT INFO",
              "CLIENT REPLY", "CLIENT SETNAME", "CLIENT TRACKING", "CLIENT TRACKINGINFO",
              "CLIENT NO-EVICT", "SCRIPT DEBUG", "ACL WHOAMI"}
# Whole-server commands: meaningful per shard only (results keyed by shard), never sent to
# one arbitrary shard. SCRIPT LOAD and FUNCTION LOAD are here so that every shard knows the
# script or library an EVALSHA/FCALL may be routed to.
FANOUT = {"FLUSHDB", "FLUSHALL", "DBSIZE", "KEYS", "SCAN", "RANDOMKEY", "INFO", "BGSAVE",
          "BGREWRITEAOF", "SAVE", "LASTSAVE", "SHUTDOWN", "SWAPDB", "REPLICAOF", "SLAVEOF",
          "FAILOVER", "ROLE", "DEBUG",
          "MEMORY DOCTOR", "MEMORY MALLOC-STATS", "MEMORY PURGE", "MEMORY STATS",
          "CONFIG GET", "CONFIG SET", "CONFIG RESETSTAT", "CONFIG REWRITE",
          "CLIENT KILL", "CLIENT LIST", "CLIENT PAUSE", "CLIENT UNPAUSE", "CLIENT UNBLOCK",
          "SCRIPT EXISTS", "SCRIPT FLUSH", "SCRIPT KILL", "SCRIPT LOAD",
          "ACL DELUSER", "ACL DRYRUN", "ACL GETUSER", "ACL LIST", "ACL LOAD", "ACL LOG",
          "ACL SAVE", "ACL SETUSER", "ACL USERS",
          "MODULE LIST", "MODULE LOAD", "MODULE LOADEX", "MODULE UNLOAD",
          "PUBSUB CHANNELS", "PUBSUB NUMPAT", "PUBSUB NUMSUB", "PUBSUB SHARDCHANNELS",
          "PUBSUB SHARDNUMSUB"}
FANOUT_PARENTS = {"LATENCY", "SLOWLOG", "FUNCTION"}  # every subcommand but HELP
# Several keys that the command reads or writes together: never split.
# (MSETNX is here, not in SPLIT: it is all-or-nothing, which per-shard parts cannot keep.)
SPECIAL_KEYS = {"SORT": "Sort", "MIGRATE": "Migrate"}
# Commands that block, though the server does not flag them `blocking`.
EXTRA_BLOCKING = {"WAIT"}


def spec_rs(s):
    b, f = kv(s["begin_search"]), kv(s["find_keys"])
    b["spec"] = kv(b["spec"]) if isinstance(b["spec"], list) else b["spec"]
    f["spec"] = kv(f["spec"]) if isinstance(f["spec"], list) else f["spec"]
    if b["type"] == "unknown" or f["type"] == "unknown":
        assert b["type"] == f["type"] == "unknown", s
        return "KeySpec::UNKNOWN"
    fs = f["spec"]
    if b["type"] == "index":
        pos = b["spec"]["index"]
        if f["type"] == "range":
            return f"KeySpec::range({pos}, {fs['lastkey']}, {fs['keystep']}, {fs['limit']})"
        return f"KeySpec::keynum({pos}, {fs['keynumidx']}, {fs['firstkey']}, {fs['keystep']})"
    kw, start = b["spec"]["keyword"], b["spec"]["startfrom"]
    if f["type"] == "range":
        return (f"KeySpec::keyword_range({kw!r}, {start}, {fs['lastkey']}, {fs['keystep']}, "
                f"{fs['limit']})").replace("'", '"')
    return (f"KeySpec::keyword_keynum({kw!r}, {start}, {fs['keynumidx']}, {fs['firstkey']}, "
            f"{fs['keystep']})").replace("'", '"')


def classify(full, parent, specs_rs):
    if full in SPLIT:
        return f"Class::Split(Merge::{SPLIT[full]})"
    if full in TRANSACTION:
        return "Class::Transaction"
    if full in PUBSUB:
        return f"Class::PubSub(PubSubKind::{PUBSUB[full]})"
    if full in CONNECTION:
        return "Class::Connection"
    if full in FANOUT or (parent in FANOUT_PARENTS and not full.endswith(" HELP")):
        return "Class::FanOut"
    if not specs_rs:
        return "Class::Keyless"
    known = [s for s in specs_rs if s != "KeySpec::UNKNOWN"]
    single = (len(known) == 1 and known[0].startswith("KeySpec::range(")
              and known[0].split(", ")[1] == "0" and full not in SPECIAL_KEYS)
    return "Class::SingleKey" if single else "Class::SameShard"


def entry(c, parent=None, indent="    "):
    name, arity, flags, first, last, step = c[0], c[1], c[2], c[3], c[4], c[5]
    specs, subs = c[8], c[9]
    short = name.split("|")[-1].upper()
    full = (parent + " " + short) if parent else short
    specs_rs = [spec_rs(kv(s)) for s in specs]
    cls = classify(full, parent, specs_rs)
    if full in ("XREAD", "XREADGROUP"):
        block = "Block::WithBlockArg"
    elif "blocking" in flags or full in EXTRA_BLOCKING:
        block = "Block::Always"
    else:
        block = "Block::Never"
    out = (f'{indent}CommandInfo::new("{short}", {arity}, {cls}, {block}, [{first}, {last}, {step}], '
           f'&[{", ".join(specs_rs)}])')
    if full in SPECIAL_KEYS:
        out += f".with_keys(SpecialKeys::{SPECIAL_KEYS[full]})"
    if "readonly" in flags and "blocking" not in flags:
        out += ".read_only()"
    if subs:
        items = sorted(subs, key=lambda s: s[0].split("|")[-1].upper())
        body = ",\n".join(entry(s, short, indent + "    ") for s in items)
        out += f".with_subcommands(&[\n{body},\n{indent}])"
    return out


def main():
    conn = Conn(int(sys.argv[1]))
    info = conn.cmd("INFO", "server")
    version = [l.split(":")[1] for l in info.splitlines() if l.startswith("redis_version:")][0]
    cmds = sorted(conn.cmd("COMMAND", "INFO"), key=lambda c: c[0].upper())
    print(f"""//! The key-spec table: every command of Redis {version.rsplit('.', 1)[0]} with its arity, legacy
//! first/last/step, key specifications, blocking behaviour and routing class.
//!
//! Source: `COMMAND INFO` of redis-server {version} (the `key_specs` of Redis's
//! `src/commands/*.json`), generated by `gen_table.py` beside this file; classes assigned by
//! the rules written there. `tests/tests/command_table_real_redis.rs` checks every entry
//! against a live server. Sorted by name (bytes), subcommands too: lookups binary-search.

use super::routing::{{Class, Merge, PubSubKind}};
use super::spec::{{Block, CommandInfo, KeySpec, SpecialKeys}};

/// Every Redis {version.rsplit('.', 1)[0]} command, sorted by name.
#[rustfmt::skip]
pub(crate) static COMMANDS: &[CommandInfo] = &[""")
    for c in cmds:
        print(entry(c) + ",")
    print("];")


main()
