//! Which shard a command goes to: from the command's class and keys (the key-spec table of
//! [`crate::command`]) to a routing decision the shard table applies.
//!
//! It decides what the shared, pipelined connections may carry. Blocking commands are taken
//! to a dedicated connection by `RingCore::submit` before they get here (module
//! `dedicated`); pub/sub (except `PUBLISH`/`SPUBLISH`), transaction and connection-state
//! commands would break the FIFO matching of a shared connection, so they are refused here,
//! naming the API to use instead (`subscribe`, `transaction`, the builder). Split commands
//! (`MGET`, `MSET`, `DEL`...) whose keys span shards never reach this routing:
//! `RingCore::submit` splits them first (module `split`); here they are routed like
//! same-shard commands (one part, one shard). Other modules still look at a command's class
//! for their own purpose (`split`, `dedicated`, `fanout`): one router producing one plan per
//! command is future work (see ARCHITECTURE.md).

use crate::command::{Class, Cmd, CommandTable, KeyPositions, PubSubKind, Routing};

/// How a command is routed.
#[derive(Clone, Debug)]
pub(crate) enum Route<'a> {
    /// By placement of this key (hash tags applied by the placement).
    Key(&'a [u8]),
    /// By placement of the first key; every key must land on the same shard.
    SameShard(KeyPositions<'a>),
    /// To any live shard.
    Any,
    /// Not over the shared connections: the reason, for
    /// [`Error::Unsupported`](crate::error::Error::Unsupported).
    Refuse(&'static str),
}

/// The route of `cmd` according to `table`.
pub(crate) fn classify<'a>(table: &'a CommandTable, cmd: &'a Cmd) -> Route<'a> {
    route_of(&table.classify(cmd))
}

/// The route of a command already classified (`submit` classifies once for every check).
pub(crate) fn route_of<'a>(routing: &Routing<'a>) -> Route<'a> {
    if routing.is_malformed() {
        // The server will reject it with its own message; any shard can say so.
        return Route::Any;
    }
    if routing.is_blocking() {
        return Route::Refuse(
            "blocking command: it would stall the shared connection; it needs a dedicated connection",
        );
    }
    let first = || routing.keys().args().next();
    match routing.class() {
        Class::SingleKey | Class::PubSub(PubSubKind::Publish | PubSubKind::SPublish) => {
            first().map_or(Route::Any, Route::Key)
        }
        Class::SameShard | Class::Split(_) => Route::SameShard(routing.keys()),
        Class::Keyless => Route::Any,
        Class::FanOut => Route::Refuse(
            "runs on each shard separately, so it is never sent to one shard at random: use ring.for_each_shard(|shard| shard.cmd(..)) or ring.shard(name).cmd(..) (core: submit_to_all / submit_to_shard)",
        ),
        Class::PubSub(_) => Route::Refuse("pub/sub needs a dedicated connection (subscribe)"),
        Class::Transaction => {
            Route::Refuse("transactions need a dedicated connection on one shard (transaction)")
        }
        Class::Connection => Route::Refuse(
            "changes the state of the shared connection: set it in the configuration instead",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn classes() {
        let table = CommandTable::new();
        let get = Cmd::new("GET").arg("k");
        assert!(matches!(classify(&table, &get), Route::Key(b"k")));
        assert!(matches!(classify(&table, &Cmd::new("ping")), Route::Any));
        for refused in [
            Cmd::new("BLPOP").arg("k").arg(0),
            Cmd::new("KEYS").arg("*"),
            Cmd::new("MULTI"),
            Cmd::new("SELECT").arg(1),
            Cmd::new("SUBSCRIBE").arg("c"),
            Cmd::new("CLIENT").arg("REPLY").arg("OFF"),
            Cmd::new("XREAD")
                .arg("BLOCK")
                .arg(0)
                .arg("STREAMS")
                .arg("s")
                .arg("$"),
        ] {
            assert!(
                matches!(classify(&table, &refused), Route::Refuse(_)),
                "{refused:?}"
            );
        }
        let publish = Cmd::new("PUBLISH").arg("chan").arg("m");
        assert!(matches!(classify(&table, &publish), Route::Key(b"chan")));
        let mget = Cmd::new("MGET").arg("a").arg("b");
        let Route::SameShard(keys) = classify(&table, &mget) else {
            panic!()
        };
        assert_eq!(keys.args().collect::<Vec<_>>(), [b"a", b"b"]);
        let module = Cmd::new("JSON.GET").arg("doc");
        assert!(matches!(classify(&table, &module), Route::Key(b"doc")));
        // Malformed: the server answers with its own error.
        assert!(matches!(classify(&table, &Cmd::new("GET")), Route::Any));
    }
}
