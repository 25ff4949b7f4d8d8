//! `--shards`: the shard set as written on the command line or in `REDIS_RING_SHARDS`.
//!
//! Entries are separated by commas (or white space). Each one is
//! * `NAME=ADDR`: a shard called NAME at ADDR (`host:port` or a `redis://` URL), or
//! * `NAME=redis-sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]`: a Sentinel-managed
//!   shard. Inside it, commas separate the Sentinels; a comma followed by `NAME=` starts the
//!   next shard (`a=redis-sentinel://h:1,h:2/ma,b=redis-sentinel://h:1,h:2/mb`), or
//! * `NAME` alone: a name without address — enough for `locate`, which never connects. When
//!   NAME itself looks like `host:port`, it is also the address (go-redis users often name
//!   shards by their address).
//!
//! Names are what placement hashes, so they must match the names the other clients of the
//! same servers use (the keys of go-redis's `Addrs` map).

use std::fmt;

use std::num::NonZeroU32;

use redis_ring_core::config::redact_addr;
use redis_ring_core::placement::{Algorithm, AnyPlacement, HashTag, ShardSpec};

/// One shard as given on the command line. Its `Debug` never shows a URL's password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ShardEntry {
    /// The name placement hashes.
    pub(crate) name: String,
    /// Where to connect, when known.
    pub(crate) addr: Option<String>,
    /// The weight, when given (`HOST:PORT:WEIGHT`, as twemproxy writes its servers).
    pub(crate) weight: Option<NonZeroU32>,
}

impl fmt::Debug for ShardEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardEntry")
            .field("name", &redact_addr(&self.name))
            .field("addr", &self.addr.as_deref().map(redact_addr))
            .field("weight", &self.weight)
            .finish()
    }
}

/// The shards given with `--shards`, in order (the order breaks placement ties).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ShardList {
    entries: Vec<ShardEntry>,
}

impl ShardList {
    /// Parses `a=127.0.0.1:7000,b=127.0.0.1:7001`, `a,b,c` or a mix.
    pub(crate) fn parse(text: &str) -> Result<ShardList, String> {
        let mut entries: Vec<ShardEntry> = Vec::new();
        for item in items(text) {
            let item = item.as_str();
            let (item, weight) = split_weight(item)?;
            let mut entry = match item.split_once('=') {
                Some((name, addr)) => {
                    if name.is_empty() {
                        return Err(format!(
                            "`{}`: the shard name before `=` is empty",
                            redact_addr(item)
                        ));
                    }
                    check_addr(addr).map_err(|e| format!("shard `{name}`: {e}"))?;
                    ShardEntry {
                        name: name.to_owned(),
                        addr: Some(addr.to_owned()),
                        weight: None,
                    }
                }
                // A URL is not a name: placement would hash it, every table would show it.
                None if item.contains("://") => {
                    return Err(format!(
                        "`{}`: a URL needs a name: NAME=redis://...",
                        redact_addr(item)
                    ))
                }
                None => ShardEntry {
                    name: item.to_owned(),
                    addr: check_addr(item).is_ok().then(|| item.to_owned()),
                    weight: None,
                },
            };
            entry.weight = weight;
            if entries.iter().any(|e| e.name == entry.name) {
                return Err(format!(
                    "shard name `{}` is given twice",
                    redact_addr(&entry.name)
                ));
            }
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err("no shard given (write NAME=HOST:PORT[,NAME=HOST:PORT...])".into());
        }
        Ok(ShardList { entries })
    }

    /// The shards, in order.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[ShardEntry] {
        &self.entries
    }

    /// The names, in order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// `(name, addr)` for every shard, or an error naming the first shard without address.
    /// Weights are refused here: the ring does not take them yet (`set_shards` has names and
    /// addresses only), and a ring placing keys other than `locate` says would be worse.
    pub(crate) fn with_addrs(&self) -> Result<Vec<(String, String)>, String> {
        if let Some(e) = self.entries.iter().find(|e| e.weight.is_some()) {
            return Err(format!(
                "shard `{}` has a weight: weights are used by `locate` only until the ring \
                 takes per-shard weights",
                e.name
            ));
        }
        self.entries
            .iter()
            .map(|e| match &e.addr {
                Some(addr) => Ok((e.name.clone(), addr.clone())),
                None => Err(format!(
                    "shard `{0}` has no address: write {0}=HOST:PORT (names alone are enough \
                     only for `locate`)",
                    e.name
                )),
            })
            .collect()
    }

    /// The placement `algorithm` builds over these shards (all of them, as when all are up),
    /// with their weights, hashing keys through `tag`.
    pub(crate) fn placement(&self, algorithm: &Algorithm, tag: HashTag) -> AnyPlacement {
        let specs: Vec<ShardSpec<'_>> = self
            .entries
            .iter()
            .map(|e| match e.weight {
                Some(w) => ShardSpec::weighted(e.name.as_str(), w),
                None => ShardSpec::new(e.name.as_str()),
            })
            .collect();
        algorithm.build_tagged(&specs, tag)
    }
}

impl fmt::Display for ShardList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            // Shown, never with a URL's password.
            match &e.addr {
                Some(addr) if *addr != e.name => write!(f, "{}={}", e.name, redact_addr(addr))?,
                _ => f.write_str(&redact_addr(&e.name))?,
            }
            if let Some(w) = e.weight {
                write!(f, ":{w}")?;
            }
        }
        Ok(())
    }
}

/// The entries of a shard list: split at commas and white space, except that within a
/// `redis-sentinel://` address, or a URL listing replicas (`?replica=`), a comma not
/// followed by `NAME=` separates Sentinels (replicas).
fn items(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let starts_entry = piece
            .split_once('=')
            .is_some_and(|(name, _)| !name.contains([':', '/', '@']));
        match out.last_mut() {
            Some(last) if !starts_entry && keeps_commas(last) => {
                last.push(',');
                last.push_str(piece);
            }
            _ => out.push(piece.to_owned()),
        }
    }
    out
}

/// Whether an entry's address goes on after a comma: `NAME=redis-sentinel://...` (a list of
/// Sentinels) or a URL whose last query parameter is `replica=` (a list of replicas).
fn keeps_commas(entry: &str) -> bool {
    entry.split_once('=').is_some_and(|(_, addr)| {
        addr.starts_with("redis-sentinel://")
            || (addr.contains("://")
                && addr
                    .rsplit_once(['?', '&'])
                    .is_some_and(|(_, last)| last.starts_with("replica=")))
    })
}

/// Splits a trailing `:WEIGHT` off an entry whose address has three parts: `HOST:PORT:WEIGHT`
/// (twemproxy's server line, the name then being `HOST:PORT`) or `NAME=HOST:PORT:WEIGHT`.
/// URLs and two-part addresses carry no weight.
fn split_weight(item: &str) -> Result<(&str, Option<NonZeroU32>), String> {
    let addr = item.split_once('=').map_or(item, |(_, a)| a);
    // Colons outside `[v6]` brackets.
    let outside = addr.rsplit_once(']').map_or(addr, |(_, rest)| rest);
    let colons = outside.matches(':').count();
    if addr.contains("://") || addr.contains([';', '=']) || colons != 2 {
        return Ok((item, None));
    }
    let Some((rest, w)) = item.rsplit_once(':') else {
        return Ok((item, None));
    };
    match w.parse::<u32>().ok().and_then(NonZeroU32::new) {
        Some(w) => Ok((rest, Some(w))),
        None => Err(format!(
            "`{item}`: `{w}` is not a weight (HOST:PORT:WEIGHT, WEIGHT a positive number)"
        )),
    }
}

/// Accepts `host:port` (port 1..=65535, `[v6]:port` included) and `redis://` / `rediss://`
/// / `unix://` URLs; the driver validates URLs further when it connects.
fn check_addr(addr: &str) -> Result<(), String> {
    let replicas = addr.contains("replica=");
    if !replicas
        && (addr.starts_with("redis://")
            || addr.starts_with("rediss://")
            || addr.starts_with("unix://"))
    {
        return Ok(());
    }
    if addr.starts_with("redis-sentinel://") || (replicas && addr.contains("://")) {
        // Parsed once, by the core (the Sentinels, the master name, the db, the replicas).
        return redis_ring_core::config::ShardSpec::parse("-", addr)
            .map(|_| ())
            .map_err(|e| e.to_string());
    }
    if addr.contains([';', '=']) {
        return Err(format!(
            "address `{addr}` contains ';' or '=': shards are separated by commas \
             (a=host:6379,b=host:6380)"
        ));
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(format!("address `{addr}` needs a port (HOST:PORT)"));
    };
    if host.is_empty() {
        return Err(format!("address `{addr}` has no host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("address `{addr}`: `{port}` is not a port number")),
    }
}

/// `--placement`: `rendezvous` (go-redis v9), `consistent-hash[:REPLICAS]` (go-redis v7, 100
/// replicas by default; `consistent` for short) or `ketama[:md5|fnv1a_64]` (twemproxy): the
/// core's own names ([`Algorithm`]'s `FromStr`).
pub(crate) fn parse_placement(text: &str) -> Result<Algorithm, String> {
    let text = match text.strip_prefix("consistent") {
        Some(rest) if !rest.starts_with('-') => format!("consistent-hash{rest}"),
        _ => text.to_owned(),
    };
    text.parse().map_err(|e| format!("{e}"))
}

/// `--hash-tag`: two characters (`{}`, `$$`) or `none`.
pub(crate) fn parse_hash_tag(text: &str) -> Result<HashTag, String> {
    text.parse().map_err(|e| format!("{e}"))
}

/// The name `--placement` accepts for `algorithm` (and the hash tag when not go-redis's),
/// for messages and reports.
pub(crate) fn placement_name(algorithm: &Algorithm, tag: HashTag) -> String {
    if tag == HashTag::GO_REDIS {
        algorithm.to_string()
    } else {
        format!("{algorithm} (hash tag {tag})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, addr: Option<&str>) -> ShardEntry {
        ShardEntry {
            name: name.into(),
            addr: addr.map(Into::into),
            weight: None,
        }
    }

    #[test]
    fn weights_as_twemproxy_writes_them() {
        let list = ShardList::parse("10.0.0.1:6379:2,b=h:7001:3,c=h:7002,[::1]:7003:4").unwrap();
        let w = |i: usize| list.entries()[i].weight.map(NonZeroU32::get);
        assert_eq!(list.entries()[0].name, "10.0.0.1:6379");
        assert_eq!(list.entries()[0].addr.as_deref(), Some("10.0.0.1:6379"));
        assert_eq!((w(0), w(1), w(2), w(3)), (Some(2), Some(3), None, Some(4)));
        assert_eq!(list.entries()[3].name, "[::1]:7003");
        assert_eq!(
            list.to_string(),
            "10.0.0.1:6379:2,b=h:7001:3,c=h:7002,[::1]:7003:4"
        );
        assert!(ShardList::parse("h:1:x").is_err());
        assert!(list.with_addrs().unwrap_err().contains("weight"));
        // Weights change the placement (as in twemproxy).
        let ketama = parse_placement("ketama").unwrap();
        let heavy = ShardList::parse("a:1:9,b:1:1").unwrap();
        let light = ShardList::parse("a:1,b:1").unwrap();
        let count = |l: &ShardList| {
            let p = l.placement(&ketama, HashTag::NONE);
            (0..1000)
                .filter(|i| {
                    redis_ring_core::placement::Placement::shard_for(&p, format!("k{i}").as_bytes())
                        == Some(0)
                })
                .count()
        };
        assert!(count(&heavy) > count(&light) + 200);
    }

    #[test]
    fn placements_and_hash_tags() {
        assert_eq!(
            parse_placement("ketama:fnv1a_64").unwrap().to_string(),
            "ketama:fnv1a_64"
        );
        assert_eq!(
            parse_placement("consistent:160"),
            Ok(Algorithm::ConsistentHash { replicas: 160 })
        );
        assert_eq!(parse_hash_tag("$$").unwrap().to_string(), "$$");
        assert_eq!(parse_hash_tag("none"), Ok(HashTag::NONE));
        assert!(parse_hash_tag("{").is_err());
        assert_eq!(
            placement_name(&Algorithm::Rendezvous, HashTag::NONE),
            "rendezvous (hash tag none)"
        );
    }

    #[test]
    fn replica_lists_keep_their_commas() {
        let list = ShardList::parse(
            "a=redis://h:1?replica=h:2,h:3,b=redis://:pw@h:4/1?x=1&replica=h:5,c=h:6",
        )
        .unwrap();
        let addrs: Vec<_> = list
            .entries()
            .iter()
            .map(|e| (e.name.as_str(), e.addr.as_deref()))
            .collect();
        assert_eq!(
            addrs,
            [
                ("a", Some("redis://h:1?replica=h:2,h:3")),
                ("b", Some("redis://:pw@h:4/1?x=1&replica=h:5")),
                ("c", Some("h:6")),
            ]
        );
        let bad = ShardList::parse("a=redis://h:1?replica=h:x").unwrap_err();
        assert!(bad.contains("shard `a`"), "{bad}");
    }

    #[test]
    fn sentinel_urls_keep_their_commas() {
        let list = ShardList::parse(
            "a=redis-sentinel://h:1,h:2,h:3/ma,b=redis-sentinel://h:1,h:2,h:3/mb, c=h:7000",
        )
        .unwrap();
        assert_eq!(
            list.entries(),
            [
                entry("a", Some("redis-sentinel://h:1,h:2,h:3/ma")),
                entry("b", Some("redis-sentinel://h:1,h:2,h:3/mb")),
                entry("c", Some("h:7000")),
            ]
        );
        // A password never shows; one Sentinel is enough.
        let list = ShardList::parse("a=redis-sentinel://u:secret@h:1/ma/2").unwrap();
        assert!(!list.to_string().contains("secret"), "{list}");
        assert!(ShardList::parse("a=redis-sentinel://h:1,h:2").is_err());
        // Outside a Sentinel URL, commas still separate shards.
        assert_eq!(ShardList::parse("a=h:1,h:2").unwrap().entries().len(), 2);
    }

    #[test]
    fn a_wrong_separator_says_commas() {
        let e = ShardList::parse("a=h:1;b=h:2").unwrap_err();
        assert!(e.contains("separated by commas"), "{e}");
        assert!(!e.contains("IPv6"), "{e}");
    }

    #[test]
    fn parses_names_with_addresses() {
        let list = ShardList::parse("a=127.0.0.1:7000,b=localhost:7001").unwrap();
        assert_eq!(
            list.entries(),
            [
                entry("a", Some("127.0.0.1:7000")),
                entry("b", Some("localhost:7001"))
            ]
        );
        assert_eq!(
            list.with_addrs().unwrap(),
            vec![
                ("a".to_owned(), "127.0.0.1:7000".to_owned()),
                ("b".to_owned(), "localhost:7001".to_owned())
            ]
        );
        assert_eq!(list.to_string(), "a=127.0.0.1:7000,b=localhost:7001");
    }

    #[test]
    fn names_alone_are_enough_for_placement_but_not_to_connect() {
        let list = ShardList::parse("a,b, c").unwrap();
        assert_eq!(list.names().collect::<Vec<_>>(), ["a", "b", "c"]);
        let err = list.with_addrs().unwrap_err();
        assert!(err.contains("shard `a` has no address"), "{err}");
    }

    #[test]
    fn an_address_alone_is_name_and_address() {
        let list = ShardList::parse("127.0.0.1:7000 [::1]:7001").unwrap();
        assert_eq!(
            list.entries(),
            [
                entry("127.0.0.1:7000", Some("127.0.0.1:7000")),
                entry("[::1]:7001", Some("[::1]:7001"))
            ]
        );
        assert_eq!(list.to_string(), "127.0.0.1:7000,[::1]:7001");
    }

    #[test]
    fn urls_are_addresses() {
        let list = ShardList::parse("a=redis://u:p@host:6379/2").unwrap();
        assert_eq!(
            list.entries()[0].addr.as_deref(),
            Some("redis://u:p@host:6379/2")
        );
    }

    #[test]
    fn rejects_bad_lists_with_a_reason() {
        let cases = [
            ("", "no shard given"),
            (" , ", "no shard given"),
            ("=1.2.3.4:5", "name before `=` is empty"),
            ("a=host", "needs a port"),
            ("a=:7000", "has no host"),
            ("a=host:0", "not a port number"),
            ("a=host:99999", "not a port number"),
            ("a,b,a", "`a` is given twice"),
        ];
        for (text, why) in cases {
            let err = ShardList::parse(text).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn placement_names() {
        assert_eq!(parse_placement("rendezvous"), Ok(Algorithm::Rendezvous));
        assert_eq!(
            parse_placement("consistent-hash"),
            Ok(Algorithm::ConsistentHash { replicas: 100 })
        );
        assert_eq!(
            parse_placement("consistent-hash:160"),
            Ok(Algorithm::ConsistentHash { replicas: 160 })
        );
        assert!(parse_placement("consistent-hash:0").is_err());
        assert!(parse_placement("modulo")
            .unwrap_err()
            .contains("unknown placement"));
        assert_eq!(
            placement_name(
                &parse_placement("consistent-hash:7").unwrap(),
                HashTag::GO_REDIS
            ),
            "consistent-hash:7"
        );
    }
}
