//! The typed helpers: every constructor builds the exact bytes expected, names a command the
//! key-spec table knows, and the shared definition expands into an async-style driver too.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use redis_ring_core::command::{classify, cmds, lookup, Class, Cmd, FromValue, FromValueError};
use redis_ring_core::resp::Value;

/// The wire bytes of a command given as words.
fn wire(words: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend_from_slice(format!("${}\r\n{w}\r\n", w.len()).as_bytes());
    }
    out
}

fn encoded(cmd: &Cmd) -> Vec<u8> {
    let mut out = Vec::new();
    cmd.encode(&mut out);
    out
}

/// Every helper with sample arguments and the words it must send.
fn cases() -> Vec<(&'static str, Cmd, Vec<&'static str>)> {
    vec![
        ("get", cmds::get("k"), vec!["GET", "k"]),
        ("set", cmds::set("k", 42), vec!["SET", "k", "42"]),
        (
            "set_ex",
            cmds::set_ex("k", "v", 10),
            vec!["SET", "k", "v", "EX", "10"],
        ),
        (
            "set_nx",
            cmds::set_nx("k", "v"),
            vec!["SET", "k", "v", "NX"],
        ),
        (
            "set_px",
            cmds::set_px("k", "v", 1500),
            vec!["SET", "k", "v", "PX", "1500"],
        ),
        ("mget", cmds::mget(["a", "b"]), vec!["MGET", "a", "b"]),
        (
            "mset",
            cmds::mset([("a", 1), ("b", 2)]),
            vec!["MSET", "a", "1", "b", "2"],
        ),
        ("getdel", cmds::getdel("k"), vec!["GETDEL", "k"]),
        ("getex", cmds::getex("k", 5), vec!["GETEX", "k", "EX", "5"]),
        ("append", cmds::append("k", "xy"), vec!["APPEND", "k", "xy"]),
        ("strlen", cmds::strlen("k"), vec!["STRLEN", "k"]),
        ("incr", cmds::incr("n"), vec!["INCR", "n"]),
        ("incr_by", cmds::incr_by("n", -5), vec!["INCRBY", "n", "-5"]),
        ("decr", cmds::decr("n"), vec!["DECR", "n"]),
        ("decr_by", cmds::decr_by("n", 3), vec!["DECRBY", "n", "3"]),
        (
            "incr_by_float",
            cmds::incr_by_float("n", 0.5),
            vec!["INCRBYFLOAT", "n", "0.5"],
        ),
        (
            "getrange",
            cmds::getrange("k", 0, -1),
            vec!["GETRANGE", "k", "0", "-1"],
        ),
        (
            "setrange",
            cmds::setrange("k", 3, "ab"),
            vec!["SETRANGE", "k", "3", "ab"],
        ),
        ("exists", cmds::exists(["a", "b"]), vec!["EXISTS", "a", "b"]),
        ("del", cmds::del("a"), vec!["DEL", "a"]),
        (
            "unlink",
            cmds::unlink(vec!["a", "b"]),
            vec!["UNLINK", "a", "b"],
        ),
        ("touch", cmds::touch(&["a"][..]), vec!["TOUCH", "a"]),
        ("expire", cmds::expire("k", 60), vec!["EXPIRE", "k", "60"]),
        (
            "pexpire",
            cmds::pexpire("k", 1500),
            vec!["PEXPIRE", "k", "1500"],
        ),
        (
            "expire_at",
            cmds::expire_at("k", 1_700_000_000),
            vec!["EXPIREAT", "k", "1700000000"],
        ),
        ("ttl", cmds::ttl("k"), vec!["TTL", "k"]),
        ("pttl", cmds::pttl("k"), vec!["PTTL", "k"]),
        (
            "blpop",
            cmds::blpop(["q1", "q2"], 5),
            vec!["BLPOP", "q1", "q2", "5"],
        ),
        ("brpop", cmds::brpop("q", 0), vec!["BRPOP", "q", "0"]),
        (
            "bzpopmin",
            cmds::bzpopmin("z", 1),
            vec!["BZPOPMIN", "z", "1"],
        ),
        (
            "bzpopmax",
            cmds::bzpopmax("z", 1),
            vec!["BZPOPMAX", "z", "1"],
        ),
        ("persist", cmds::persist("k"), vec!["PERSIST", "k"]),
        ("type_", cmds::type_("k"), vec!["TYPE", "k"]),
        ("rename", cmds::rename("a", "b"), vec!["RENAME", "a", "b"]),
        ("hget", cmds::hget("h", "f"), vec!["HGET", "h", "f"]),
        ("hset", cmds::hset("h", "f", 1), vec!["HSET", "h", "f", "1"]),
        (
            "hset_multiple",
            cmds::hset_multiple("h", [("f1", "v1"), ("f2", "v2")]),
            vec!["HSET", "h", "f1", "v1", "f2", "v2"],
        ),
        (
            "hdel",
            cmds::hdel("h", ["f1", "f2"]),
            vec!["HDEL", "h", "f1", "f2"],
        ),
        ("hgetall", cmds::hgetall("h"), vec!["HGETALL", "h"]),
        (
            "hexists",
            cmds::hexists("h", "f"),
            vec!["HEXISTS", "h", "f"],
        ),
        (
            "hincr_by",
            cmds::hincr_by("h", "f", 2),
            vec!["HINCRBY", "h", "f", "2"],
        ),
        (
            "hincr_by_float",
            cmds::hincr_by_float("h", "f", -0.25),
            vec!["HINCRBYFLOAT", "h", "f", "-0.25"],
        ),
        (
            "hsetnx",
            cmds::hsetnx("h", "f", "v"),
            vec!["HSETNX", "h", "f", "v"],
        ),
        ("hkeys", cmds::hkeys("h"), vec!["HKEYS", "h"]),
        ("hvals", cmds::hvals("h"), vec!["HVALS", "h"]),
        ("hlen", cmds::hlen("h"), vec!["HLEN", "h"]),
        (
            "hmget",
            cmds::hmget("h", ["a", "b"]),
            vec!["HMGET", "h", "a", "b"],
        ),
        (
            "lpush",
            cmds::lpush("l", [1, 2]),
            vec!["LPUSH", "l", "1", "2"],
        ),
        ("rpush", cmds::rpush("l", "x"), vec!["RPUSH", "l", "x"]),
        ("lpop", cmds::lpop("l"), vec!["LPOP", "l"]),
        ("rpop", cmds::rpop("l"), vec!["RPOP", "l"]),
        (
            "lrange",
            cmds::lrange("l", 0, -1),
            vec!["LRANGE", "l", "0", "-1"],
        ),
        ("llen", cmds::llen("l"), vec!["LLEN", "l"]),
        ("lindex", cmds::lindex("l", -1), vec!["LINDEX", "l", "-1"]),
        ("lset", cmds::lset("l", 2, "x"), vec!["LSET", "l", "2", "x"]),
        ("lrem", cmds::lrem("l", 0, "x"), vec!["LREM", "l", "0", "x"]),
        (
            "ltrim",
            cmds::ltrim("l", 1, 2),
            vec!["LTRIM", "l", "1", "2"],
        ),
        (
            "sadd",
            cmds::sadd("s", ["a", "b"]),
            vec!["SADD", "s", "a", "b"],
        ),
        ("srem", cmds::srem("s", "a"), vec!["SREM", "s", "a"]),
        ("smembers", cmds::smembers("s"), vec!["SMEMBERS", "s"]),
        (
            "sismember",
            cmds::sismember("s", "a"),
            vec!["SISMEMBER", "s", "a"],
        ),
        ("scard", cmds::scard("s"), vec!["SCARD", "s"]),
        ("spop", cmds::spop("s"), vec!["SPOP", "s"]),
        (
            "srandmember",
            cmds::srandmember("s"),
            vec!["SRANDMEMBER", "s"],
        ),
        ("sinter", cmds::sinter(["a", "b"]), vec!["SINTER", "a", "b"]),
        ("sunion", cmds::sunion(["a", "b"]), vec!["SUNION", "a", "b"]),
        (
            "zadd",
            cmds::zadd("z", 1.5, "m"),
            vec!["ZADD", "z", "1.5", "m"],
        ),
        (
            "zadd_multiple",
            cmds::zadd_multiple("z", [(1.5, "a"), (2.0, "b")]),
            vec!["ZADD", "z", "1.5", "a", "2", "b"],
        ),
        ("zrem", cmds::zrem("z", ["m"]), vec!["ZREM", "z", "m"]),
        ("zscore", cmds::zscore("z", "m"), vec!["ZSCORE", "z", "m"]),
        (
            "zrange",
            cmds::zrange("z", 0, -1),
            vec!["ZRANGE", "z", "0", "-1"],
        ),
        (
            "zrange_withscores",
            cmds::zrange_withscores("z", 0, 1),
            vec!["ZRANGE", "z", "0", "1", "WITHSCORES"],
        ),
        (
            "zrevrange",
            cmds::zrevrange("z", 0, -1),
            vec!["ZREVRANGE", "z", "0", "-1"],
        ),
        (
            "zrangebyscore",
            cmds::zrangebyscore("z", f64::NEG_INFINITY, "(2"),
            vec!["ZRANGEBYSCORE", "z", "-inf", "(2"],
        ),
        ("zrank", cmds::zrank("z", "m"), vec!["ZRANK", "z", "m"]),
        (
            "zrevrank",
            cmds::zrevrank("z", "m"),
            vec!["ZREVRANK", "z", "m"],
        ),
        ("zpopmin", cmds::zpopmin("z", 2), vec!["ZPOPMIN", "z", "2"]),
        ("zcard", cmds::zcard("z"), vec!["ZCARD", "z"]),
        (
            "zincr_by",
            cmds::zincr_by("z", 2.0, "m"),
            vec!["ZINCRBY", "z", "2", "m"],
        ),
        (
            "zcount",
            cmds::zcount("z", "-inf", "(5"),
            vec!["ZCOUNT", "z", "-inf", "(5"],
        ),
        (
            "eval",
            cmds::eval("return 1", ["k1", "k2"], ["a"]),
            vec!["EVAL", "return 1", "2", "k1", "k2", "a"],
        ),
        (
            "evalsha",
            cmds::evalsha("abc", Vec::<&str>::new(), ()),
            vec!["EVALSHA", "abc", "0"],
        ),
        (
            "script_load",
            cmds::script_load("return 1"),
            vec!["SCRIPT", "LOAD", "return 1"],
        ),
        (
            "publish",
            cmds::publish("ch", "hi"),
            vec!["PUBLISH", "ch", "hi"],
        ),
        ("echo", cmds::echo("hi"), vec!["ECHO", "hi"]),
        ("ping", cmds::ping(), vec!["PING"]),
    ]
}

#[test]
fn every_helper_builds_the_expected_bytes() {
    let cases = cases();
    for (name, cmd, words) in &cases {
        assert_eq!(encoded(cmd), wire(words), "{name}");
        assert_eq!(cmd.encoded_len(), wire(words).len(), "{name}");
    }
    // The cases cover every helper of the shared definition, and nothing else.
    let covered: Vec<&str> = cases.iter().map(|c| c.0).collect();
    assert_eq!(covered, cmds::NAMES);
}

#[test]
fn every_helper_names_a_known_command_with_the_right_keys() {
    for (name, cmd, words) in cases() {
        assert!(
            lookup(&cmd).is_some(),
            "{name}: {} is not in the table",
            words[0]
        );
        let routing = classify(&cmd);
        assert!(routing.is_known() && !routing.is_malformed(), "{name}");
        let keys: Vec<&[u8]> = routing.keys().args().collect();
        let expected: &[&str] = match name {
            "mget" | "exists" | "unlink" | "sinter" | "sunion" => &["a", "b"],
            "blpop" => &["q1", "q2"],
            "mset" => &["a", "b"],
            "del" | "touch" => &["a"],
            "rename" => &["a", "b"],
            "eval" => &["k1", "k2"],
            "evalsha" | "script_load" | "ping" | "echo" => &[],
            "publish" => &["ch"],
            _ => &[words[1]],
        };
        let expected: Vec<&[u8]> = expected.iter().map(|k| k.as_bytes()).collect();
        assert_eq!(keys, expected, "{name}");
    }
    assert_eq!(classify(&cmds::script_load("x")).class(), Class::FanOut);
    assert_eq!(classify(&cmds::ping()).class(), Class::Keyless);
}

/// A toy async executor: answers immediately from a canned reply.
struct ToyAsync {
    reply: Value,
    sent: std::cell::RefCell<Vec<Cmd>>,
}

#[derive(Debug, PartialEq)]
struct ToyError(FromValueError);

impl ToyAsync {
    fn query<R: FromValue>(&self, cmd: Cmd) -> impl Future<Output = Result<R, ToyError>> + '_ {
        self.sent.borrow_mut().push(cmd);
        let reply = self.reply.clone();
        async move { R::from_value(reply).map_err(ToyError) }
    }
}

macro_rules! async_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
    )*) => {
        impl ToyAsync {$(
            $(#[$meta])*
            #[allow(dead_code)]
            async fn $name<$($r: FromValue),*>(&self, $($arg: $ty),*) -> Result<$ret, ToyError> {
                let cmd = redis_ring_core::command::cmds::$name($($arg),*);
                self.query::<$ret>(cmd).await
            }
        )*}
    };
}

redis_ring_core::for_each_command!(async_methods);

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the toy executor is always ready"),
    }
}

#[test]
fn expands_into_async_methods() {
    let toy = ToyAsync {
        reply: Value::Int(3),
        sent: Default::default(),
    };
    assert_eq!(block_on(toy.incr("n")), Ok(3));
    assert_eq!(block_on(toy.del(["a", "b", "c"])), Ok(3));
    assert_eq!(block_on(toy.get::<String>("k")), Ok("3".to_string()));
    assert_eq!(block_on(toy.get::<Option<i64>>("k")), Ok(Some(3)));
    let toy = ToyAsync {
        reply: Value::Map(vec![(
            Value::Bulk(b"f".to_vec()),
            Value::Bulk(b"1".to_vec()),
        )]),
        sent: Default::default(),
    };
    let all: BTreeMap<String, i64> = block_on(toy.hgetall("h")).unwrap();
    assert_eq!(all["f"], 1);
    assert!(matches!(
        block_on(toy.incr("n")),
        Err(ToyError(FromValueError::UnexpectedType { .. }))
    ));
    assert_eq!(toy.sent.borrow()[0], cmds::hgetall("h"));
    let toy = ToyAsync {
        reply: Value::Error(b"WRONGTYPE nope".to_vec()),
        sent: Default::default(),
    };
    let e = block_on(toy.llen("k")).unwrap_err();
    assert_eq!(e.0.server_error().unwrap().code(), Some("WRONGTYPE"));
}
