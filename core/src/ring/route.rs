//! Which shard a command goes to: the command's class and key, and the placement of keys
//! over the live shards.
//!
//! [`classify`] is the one function the key-spec table of the `command` module replaces
//! (issue 6); until then it knows a short list of keyless commands and of commands the
//! shared connections must refuse, and takes the first argument as the key otherwise.

use alloc::vec::Vec;

use crate::command::Cmd;

/// How a command is routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// By placement of this key (hash tags applied by the placement).
    Key(&'a [u8]),
    /// To any live shard.
    Keyless,
    /// Not over the shared connections: the reason, for [`Error::Unsupported`](crate::error::Error::Unsupported).
    Refuse(&'static str),
    /// Malformed: the reason, for [`Error::InvalidCommand`](crate::error::Error::InvalidCommand).
    Invalid(&'static str),
}

const KEYLESS: &[&str] = &[
    "PING", "ECHO", "TIME", "LASTSAVE", "COMMAND", "LOLWUT", "SCRIPT", "FUNCTION", "MEMORY",
    "LATENCY", "SLOWLOG", "ACL", "CONFIG", "ROLE",
];

const FAN_OUT: &[&str] = &[
    "FLUSHDB",
    "FLUSHALL",
    "DBSIZE",
    "KEYS",
    "SCAN",
    "RANDOMKEY",
    "INFO",
    "SAVE",
    "BGSAVE",
    "BGREWRITEAOF",
];

const BLOCKING: &[&str] = &[
    "BLPOP",
    "BRPOP",
    "BRPOPLPUSH",
    "BLMOVE",
    "BLMPOP",
    "BZPOPMIN",
    "BZPOPMAX",
    "BZMPOP",
    "WAIT",
    "WAITAOF",
];

const PUBSUB: &[&str] = &[
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "UNSUBSCRIBE",
    "PUNSUBSCRIBE",
    "SUNSUBSCRIBE",
    "MONITOR",
];

const TRANSACTION: &[&str] = &["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"];

const CONNECTION_STATE: &[&str] = &[
    "SELECT", "AUTH", "HELLO", "QUIT", "RESET", "SWAPDB", "SYNC", "PSYNC", "REPLCONF",
    "SHUTDOWN",
];

/// Multi-key commands whose keys are all the arguments (or every other one, for `MSET`):
/// accepted only while every key lands on the same shard (split/merge is issue 6).
const MULTI_KEY: &[(&str, usize)] = &[
    ("MGET", 1),
    ("DEL", 1),
    ("UNLINK", 1),
    ("EXISTS", 1),
    ("TOUCH", 1),
    ("MSET", 2),
    ("MSETNX", 2),
];

fn is(name: &[u8], list: &[&str]) -> bool {
    list.iter().any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
}

/// The class of `cmd` and its routing key.
pub(crate) fn classify(cmd: &Cmd) -> Route<'_> {
    let name = cmd.name();
    if name.is_empty() {
        return Route::Invalid("empty command name");
    }
    if is(name, KEYLESS) {
        return Route::Keyless;
    }
    if is(name, FAN_OUT) {
        return Route::Refuse(
            "runs on every shard: send it to each shard explicitly (per-shard API), never to one at random",
        );
    }
    if is(name, BLOCKING) || (is(name, &["XREAD", "XREADGROUP"]) && has_word(cmd, b"BLOCK")) {
        return Route::Refuse(
            "blocking command: it would stall the shared connection; needs a dedicated connection",
        );
    }
    if is(name, PUBSUB) {
        return Route::Refuse("pub/sub needs a dedicated connection (use subscribe)");
    }
    if is(name, TRANSACTION) {
        return Route::Refuse(
            "transactions need a dedicated connection on one shard (use transaction)",
        );
    }
    if is(name, CONNECTION_STATE)
        || (name.eq_ignore_ascii_case(b"CLIENT")
            && cmd
                .arg_at(0)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"REPLY")))
    {
        return Route::Refuse(
            "changes the state of the shared connection; configure it in Config instead",
        );
    }
    if is(name, &["XREAD", "XREADGROUP"]) {
        return match streams_key(cmd) {
            Some(k) => Route::Key(k),
            None => Route::Invalid("no STREAMS keys"),
        };
    }
    match cmd.arg_at(0) {
        Some(k) => Route::Key(k),
        None => Route::Invalid("missing key argument"),
    }
}

/// For the multi-key commands of [`MULTI_KEY`]: every key, so the ring can check they land
/// on one shard.
pub(crate) fn extra_keys(cmd: &Cmd) -> Option<impl Iterator<Item = &[u8]>> {
    let step = MULTI_KEY
        .iter()
        .find(|(n, _)| cmd.name().eq_ignore_ascii_case(n.as_bytes()))?
        .1;
    Some(cmd.args().step_by(step).skip(1))
}

fn has_word(cmd: &Cmd, word: &[u8]) -> bool {
    cmd.args().any(|a| a.eq_ignore_ascii_case(word))
}

fn streams_key(cmd: &Cmd) -> Option<&[u8]> {
    let mut args = cmd.args();
    args.find(|a| a.eq_ignore_ascii_case(b"STREAMS"))?;
    args.next()
}

/// The placement of keys over the live shards (go-redis v9 rendezvous: XXH64 seed 0 of the
/// name and of the hash-tagged key, score `mix64(key ^ node)`, highest wins).
///
/// Stand-in for `placement::AnyPlacement` until that module lands; same contract.
#[derive(Clone, Debug, Default)]
pub(crate) struct Placement {
    nodes: Vec<u64>,
}

impl Placement {
    /// A placement over these shard names, in order.
    pub(crate) fn build<'a>(names: impl IntoIterator<Item = &'a [u8]>) -> Placement {
        Placement {
            nodes: names.into_iter().map(xxh64).collect(),
        }
    }

    /// Index (in the names given to [`Placement::build`]) of the shard owning `key`.
    pub(crate) fn shard_for(&self, key: &[u8]) -> Option<usize> {
        let k = xxh64(hash_tag(key));
        let mut best: Option<(u64, usize)> = None;
        for (i, &n) in self.nodes.iter().enumerate() {
            let score = mix64(k ^ n);
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, i));
            }
        }
        best.map(|(_, i)| i)
    }
}

fn xxh64(bytes: &[u8]) -> u64 {
    twox_hash::XxHash64::oneshot(0, bytes)
}

fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(s) = key.iter().position(|&b| b == b'{') {
        if let Some(e) = key[s + 1..].iter().position(|&b| b == b'}') {
            if e > 0 {
                return &key[s + 1..s + 1 + e];
            }
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(classify(&Cmd::new("GET").arg("k")), Route::Key(b"k"));
        assert_eq!(classify(&Cmd::new("ping")), Route::Keyless);
        assert!(matches!(classify(&Cmd::new("BLPOP").arg("k").arg(0)), Route::Refuse(_)));
        assert!(matches!(classify(&Cmd::new("keys").arg("*")), Route::Refuse(_)));
        assert!(matches!(classify(&Cmd::new("MULTI")), Route::Refuse(_)));
        assert!(matches!(classify(&Cmd::new("select").arg(1)), Route::Refuse(_)));
        assert!(matches!(
            classify(&Cmd::new("CLIENT").arg("reply").arg("off")),
            Route::Refuse(_)
        ));
        assert!(matches!(classify(&Cmd::new("GET")), Route::Invalid(_)));
        assert!(matches!(classify(&Cmd::new("")), Route::Invalid(_)));
        let xr = Cmd::new("XREAD").arg("COUNT").arg(1).arg("STREAMS").arg("s").arg("0");
        assert_eq!(classify(&xr), Route::Key(b"s"));
        let xb = Cmd::new("XREAD").arg("BLOCK").arg(0).arg("STREAMS").arg("s").arg("$");
        assert!(matches!(classify(&xb), Route::Refuse(_)));
    }

    #[test]
    fn multi_keys() {
        let mset = Cmd::new("MSET").arg("a").arg(1).arg("b").arg(2);
        let keys: Vec<&[u8]> = extra_keys(&mset).unwrap().collect();
        assert_eq!(keys, [&b"b"[..]]);
        let mget = Cmd::new("MGET").arg("a").arg("b").arg("c");
        let keys: Vec<&[u8]> = extra_keys(&mget).unwrap().collect();
        assert_eq!(keys, [&b"b"[..], b"c"]);
        assert!(extra_keys(&Cmd::new("GET").arg("a")).is_none());
    }

    #[test]
    fn placement_is_stable_and_total() {
        let names: [&[u8]; 3] = [b"a", b"b", b"c"];
        let p = Placement::build(names);
        assert_eq!(Placement::default().shard_for(b"k"), None);
        let mut counts = [0; 3];
        for i in 0..3000u32 {
            let key = alloc::format!("key{i}");
            counts[p.shard_for(key.as_bytes()).unwrap()] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
        assert_eq!(p.shard_for(b"{user1}.a"), p.shard_for(b"user1"));
    }
}
