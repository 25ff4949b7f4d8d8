//! Typed helpers for the common commands, defined once and shared by every driver.
//!
//! [`for_each_command!`](crate::for_each_command) holds the one definition; this module
//! expands it into plain constructors ([`cmds`]) that build a [`Cmd`](super::Cmd) without
//! any driver.

/// The typed helpers' single definition: calls `$callback!` with every common command.
///
/// Each entry has the shape
///
/// ```text
/// /// doc line(s)
/// fn name<R...>(arg: Type, ...) -> Return { expression building the Cmd }
/// ```
///
/// * the arguments are `impl ToArg` for keys, values and members (so `&str`, `String`,
///   `&[u8]`, integers, slices, tuples all work) and concrete types for numbers with a
///   meaning: every duration is a `u64` (`seconds`, `milliseconds`, `unix_seconds`), the
///   same type for `set_ex`, `getex`, `expire`, `pexpire`, `expire_at`, `blpop`...;
/// * `R...` are the entry's return-type parameters (possibly none: `<>`), each to be bounded
///   by [`FromValue`](crate::command::FromValue): value-returning helpers (`get`, `hgetall`,
///   `lrange`, ...) let the caller choose `String`, `Vec<u8>`, `i64`, `Option<_>`,
///   `HashMap<_, _>`...; helpers with a fixed meaning return it (`incr` → `i64`, `del` →
///   `u64`, `exists` → `u64`, `expire` → `bool`, `set` → `()`);
/// * the body builds the command; the same command is available as
///   [`command::cmds::name(args)`](crate::command::cmds), which is what a driver calls.
///
/// A driver expands the table with a `macro_rules!` of its own that matches the entries and
/// wraps each into a method calling its generic `query`: the async driver into
/// `async fn name(&self, ...) -> Result<R, Error>`, the blocking one into
/// `fn name(&self, ...) -> Result<R, Error>`. The entries' syntax is fixed as below, so the
/// pattern can be copied as is (an async driver should build the `Cmd` before its first
/// `.await`, so that its future does not hold the arguments):
///
/// ```
/// use redis_ring_core::command::{Cmd, FromValue, FromValueError};
/// use redis_ring_core::resp::Value;
/// use std::cell::RefCell;
///
/// /// A toy executor: records what it would send and answers from a script.
/// #[derive(Default)]
/// struct Toy {
///     sent: RefCell<Vec<u8>>,
/// }
///
/// impl Toy {
///     fn query<R: FromValue>(&self, cmd: Cmd) -> Result<R, FromValueError> {
///         cmd.encode(&mut self.sent.borrow_mut());
///         let reply = match cmd.name() {
///             b"GET" => Value::Bulk(b"v".to_vec()),
///             b"INCR" | b"DEL" => Value::Int(2),
///             _ => Value::Okay,
///         };
///         R::from_value(reply)
///     }
/// }
///
/// macro_rules! blocking_methods {
///     ($(
///         $(#[$meta:meta])*
///         fn $name:ident<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
///     )*) => {
///         impl Toy {$(
///             $(#[$meta])*
///             pub fn $name<$($r: FromValue),*>(&self, $($arg: $ty),*) -> Result<$ret, FromValueError> {
///                 self.query::<$ret>(redis_ring_core::command::cmds::$name($($arg),*))
///             }
///         )*}
///     };
/// }
///
/// redis_ring_core::for_each_command!(blocking_methods);
///
/// let toy = Toy::default();
/// toy.set("k", 42).unwrap();
/// let v: String = toy.get("k").unwrap();
/// assert_eq!(v, "v");
/// assert_eq!(toy.incr("n").unwrap(), 2);
/// assert_eq!(toy.del(["a", "b"]).unwrap(), 2);
/// assert_eq!(
///     toy.sent.borrow().as_slice(),
///     &b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n\
///        *2\r\n$3\r\nGET\r\n$1\r\nk\r\n\
///        *2\r\n$4\r\nINCR\r\n$1\r\nn\r\n\
///        *3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n"[..]
/// );
/// ```
#[macro_export]
macro_rules! for_each_command {
    ($callback:ident) => {
        $callback! {
            // ---- strings ----
            /// `GET key`: the value of `key` (`None`/nil when it does not exist).
            fn get<V>(key: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("GET").arg(key)
            }
            /// `SET key value`.
            fn set<>(key: impl $crate::command::ToArg, value: impl $crate::command::ToArg) -> () {
                $crate::command::Cmd::new("SET").arg(key).arg(value)
            }
            /// `SET key value EX seconds`: sets with a time to live.
            fn set_ex<>(key: impl $crate::command::ToArg, value: impl $crate::command::ToArg, seconds: u64) -> () {
                $crate::command::Cmd::new("SET").arg(key).arg(value).arg("EX").arg(seconds)
            }
            /// `SET key value NX`: sets only if `key` does not exist; whether it was set.
            fn set_nx<>(key: impl $crate::command::ToArg, value: impl $crate::command::ToArg) -> bool {
                $crate::command::Cmd::new("SET").arg(key).arg(value).arg("NX")
            }
            /// `SET key value PX milliseconds`: sets with a time to live in milliseconds.
            fn set_px<>(key: impl $crate::command::ToArg, value: impl $crate::command::ToArg, milliseconds: u64) -> () {
                $crate::command::Cmd::new("SET").arg(key).arg(value).arg("PX").arg(milliseconds)
            }
            /// `MGET key...`: the values of several keys, in order (split per shard by the ring).
            fn mget<V>(keys: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("MGET").arg(keys)
            }
            /// `MSET key value ...` from pairs (split per shard by the ring).
            fn mset<>(items: impl $crate::command::ToArg) -> () {
                $crate::command::Cmd::new("MSET").arg(items)
            }
            /// `GETDEL key`: gets the value and deletes the key.
            fn getdel<V>(key: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("GETDEL").arg(key)
            }
            /// `GETEX key EX seconds`: gets the value and sets a time to live.
            fn getex<V>(key: impl $crate::command::ToArg, seconds: u64) -> V {
                $crate::command::Cmd::new("GETEX").arg(key).arg("EX").arg(seconds)
            }
            /// `APPEND key value`: the length after appending.
            fn append<>(key: impl $crate::command::ToArg, value: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("APPEND").arg(key).arg(value)
            }
            /// `STRLEN key`: the length of the value (0 when absent).
            fn strlen<>(key: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("STRLEN").arg(key)
            }
            /// `INCR key`: the value after adding 1.
            fn incr<>(key: impl $crate::command::ToArg) -> i64 {
                $crate::command::Cmd::new("INCR").arg(key)
            }
            /// `INCRBY key delta`: the value after adding `delta`.
            fn incr_by<>(key: impl $crate::command::ToArg, delta: i64) -> i64 {
                $crate::command::Cmd::new("INCRBY").arg(key).arg(delta)
            }
            /// `DECR key`: the value after subtracting 1.
            fn decr<>(key: impl $crate::command::ToArg) -> i64 {
                $crate::command::Cmd::new("DECR").arg(key)
            }
            /// `DECRBY key delta`: the value after subtracting `delta`.
            fn decr_by<>(key: impl $crate::command::ToArg, delta: i64) -> i64 {
                $crate::command::Cmd::new("DECRBY").arg(key).arg(delta)
            }
            /// `INCRBYFLOAT key delta`: the value after adding `delta`.
            fn incr_by_float<>(key: impl $crate::command::ToArg, delta: f64) -> f64 {
                $crate::command::Cmd::new("INCRBYFLOAT").arg(key).arg(delta)
            }
            /// `GETRANGE key start end`: a substring (inclusive, negative from the end).
            fn getrange<V>(key: impl $crate::command::ToArg, start: isize, end: isize) -> V {
                $crate::command::Cmd::new("GETRANGE").arg(key).arg(start).arg(end)
            }
            /// `SETRANGE key offset value`: the length after overwriting.
            fn setrange<>(key: impl $crate::command::ToArg, offset: u64, value: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("SETRANGE").arg(key).arg(offset).arg(value)
            }
            // ---- keys ----
            /// `EXISTS key...`: how many of the keys exist (a key named twice counts twice).
            fn exists<>(keys: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("EXISTS").arg(keys)
            }
            /// `DEL key...`: how many keys were deleted.
            fn del<>(keys: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("DEL").arg(keys)
            }
            /// `UNLINK key...`: how many keys were unlinked (freed in the background).
            fn unlink<>(keys: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("UNLINK").arg(keys)
            }
            /// `TOUCH key...`: how many of the keys exist (their access time is updated).
            fn touch<>(keys: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("TOUCH").arg(keys)
            }
            /// `EXPIRE key seconds`: whether the time to live was set.
            fn expire<>(key: impl $crate::command::ToArg, seconds: u64) -> bool {
                $crate::command::Cmd::new("EXPIRE").arg(key).arg(seconds)
            }
            /// `PEXPIRE key milliseconds`: whether the time to live was set.
            fn pexpire<>(key: impl $crate::command::ToArg, milliseconds: u64) -> bool {
                $crate::command::Cmd::new("PEXPIRE").arg(key).arg(milliseconds)
            }
            /// `EXPIREAT key unix_seconds`: whether the expiry was set.
            fn expire_at<>(key: impl $crate::command::ToArg, unix_seconds: u64) -> bool {
                $crate::command::Cmd::new("EXPIREAT").arg(key).arg(unix_seconds)
            }
            /// `TTL key`: seconds to live; -1 without expiry, -2 when the key does not exist.
            fn ttl<>(key: impl $crate::command::ToArg) -> i64 {
                $crate::command::Cmd::new("TTL").arg(key)
            }
            /// `PTTL key`: milliseconds to live; -1 without expiry, -2 when absent.
            fn pttl<>(key: impl $crate::command::ToArg) -> i64 {
                $crate::command::Cmd::new("PTTL").arg(key)
            }
            // ---- blocking pops (on a dedicated connection; 0 seconds: wait for ever) ----
            /// `BLPOP key... seconds`: `(key, element)` popped from the head of the first
            /// non-empty list, or nil after `seconds` (e.g. `Option<(String, String)>`).
            fn blpop<V>(keys: impl $crate::command::ToArg, seconds: u64) -> V {
                $crate::command::Cmd::new("BLPOP").arg(keys).arg(seconds)
            }
            /// `BRPOP key... seconds`: as `blpop`, from the tail.
            fn brpop<V>(keys: impl $crate::command::ToArg, seconds: u64) -> V {
                $crate::command::Cmd::new("BRPOP").arg(keys).arg(seconds)
            }
            /// `BZPOPMIN key... seconds`: `(key, member, score)` with the lowest score, or nil
            /// after `seconds` (e.g. `Option<(String, String, f64)>`).
            fn bzpopmin<V>(keys: impl $crate::command::ToArg, seconds: u64) -> V {
                $crate::command::Cmd::new("BZPOPMIN").arg(keys).arg(seconds)
            }
            /// `BZPOPMAX key... seconds`: as `bzpopmin`, the highest score.
            fn bzpopmax<V>(keys: impl $crate::command::ToArg, seconds: u64) -> V {
                $crate::command::Cmd::new("BZPOPMAX").arg(keys).arg(seconds)
            }
            /// `PERSIST key`: whether an expiry was removed.
            fn persist<>(key: impl $crate::command::ToArg) -> bool {
                $crate::command::Cmd::new("PERSIST").arg(key)
            }
            /// `TYPE key`: `string`, `list`, `set`, `zset`, `hash`, `stream` or `none`.
            fn type_<>(key: impl $crate::command::ToArg) -> $crate::command::__private::String {
                $crate::command::Cmd::new("TYPE").arg(key)
            }
            /// `RENAME key new_key` (both keys must be on one shard).
            fn rename<>(key: impl $crate::command::ToArg, new_key: impl $crate::command::ToArg) -> () {
                $crate::command::Cmd::new("RENAME").arg(key).arg(new_key)
            }
            // ---- hashes ----
            /// `HGET key field`: a field's value.
            fn hget<V>(key: impl $crate::command::ToArg, field: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("HGET").arg(key).arg(field)
            }
            /// `HSET key field value`: how many fields were added.
            fn hset<>(key: impl $crate::command::ToArg, field: impl $crate::command::ToArg, value: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("HSET").arg(key).arg(field).arg(value)
            }
            /// `HSET key field value ...` from pairs: how many fields were added.
            fn hset_multiple<>(key: impl $crate::command::ToArg, items: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("HSET").arg(key).arg(items)
            }
            /// `HDEL key field...`: how many fields were removed.
            fn hdel<>(key: impl $crate::command::ToArg, fields: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("HDEL").arg(key).arg(fields)
            }
            /// `HGETALL key`: every field and value (a map, or pairs).
            fn hgetall<V>(key: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("HGETALL").arg(key)
            }
            /// `HEXISTS key field`: whether the field exists.
            fn hexists<>(key: impl $crate::command::ToArg, field: impl $crate::command::ToArg) -> bool {
                $crate::command::Cmd::new("HEXISTS").arg(key).arg(field)
            }
            /// `HINCRBY key field delta`: the field's value after adding `delta`.
            fn hincr_by<>(key: impl $crate::command::ToArg, field: impl $crate::command::ToArg, delta: i64) -> i64 {
                $crate::command::Cmd::new("HINCRBY").arg(key).arg(field).arg(delta)
            }
            /// `HINCRBYFLOAT key field delta`: the field's value after adding `delta`.
            fn hincr_by_float<>(key: impl $crate::command::ToArg, field: impl $crate::command::ToArg, delta: f64) -> f64 {
                $crate::command::Cmd::new("HINCRBYFLOAT").arg(key).arg(field).arg(delta)
            }
            /// `HSETNX key field value`: whether the field was set (only if it did not exist).
            fn hsetnx<>(key: impl $crate::command::ToArg, field: impl $crate::command::ToArg, value: impl $crate::command::ToArg) -> bool {
                $crate::command::Cmd::new("HSETNX").arg(key).arg(field).arg(value)
            }
            /// `HKEYS key`: the field names.
            fn hkeys<V>(key: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("HKEYS").arg(key)
            }
            /// `HVALS key`: the values.
            fn hvals<V>(key: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("HVALS").arg(key)
            }
            /// `HLEN key`: the number of fields.
            fn hlen<>(key: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("HLEN").arg(key)
            }
            /// `HMGET key field...`: the values of the fields, in order.
            fn hmget<V>(key: impl $crate::command::ToArg, fields: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("HMGET").arg(key).arg(fields)
            }
            // ---- lists ----
            /// `LPUSH key value...`: the list's length after pushing.
            fn lpush<>(key: impl $crate::command::ToArg, values: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("LPUSH").arg(key).arg(values)
            }
            /// `RPUSH key value...`: the list's length after pushing.
            fn rpush<>(key: impl $crate::command::ToArg, values: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("RPUSH").arg(key).arg(values)
            }
            /// `LPOP key`: the first element (nil when empty).
            fn lpop<V>(key: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("LPOP").arg(key)
            }
            /// `RPOP key`: the last element (nil when empty).
            fn rpop<V>(key: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("RPOP").arg(key)
            }
            /// `LRANGE key start stop`: the elements in the range (inclusive).
            fn lrange<V>(key: impl $crate::command::ToArg, start: isize, stop: isize) -> V {
                $crate::command::Cmd::new("LRANGE").arg(key).arg(start).arg(stop)
            }
            /// `LLEN key`: the list's length.
            fn llen<>(key: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("LLEN").arg(key)
            }
            /// `LINDEX key index`: the element at `index` (nil when out of range).
            fn lindex<V>(key: impl $crate::command::ToArg, index: isize) -> V {
                $crate::command::Cmd::new("LINDEX").arg(key).arg(index)
            }
            /// `LSET key index value`: replaces the element at `index`.
            fn lset<>(key: impl $crate::command::ToArg, index: isize, value: impl $crate::command::ToArg) -> () {
                $crate::command::Cmd::new("LSET").arg(key).arg(index).arg(value)
            }
            /// `LREM key count value`: how many elements were removed.
            fn lrem<>(key: impl $crate::command::ToArg, count: isize, value: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("LREM").arg(key).arg(count).arg(value)
            }
            /// `LTRIM key start stop`: keeps only the range.
            fn ltrim<>(key: impl $crate::command::ToArg, start: isize, stop: isize) -> () {
                $crate::command::Cmd::new("LTRIM").arg(key).arg(start).arg(stop)
            }
            // ---- sets ----
            /// `SADD key member...`: how many members were added.
            fn sadd<>(key: impl $crate::command::ToArg, members: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("SADD").arg(key).arg(members)
            }
            /// `SREM key member...`: how many members were removed.
            fn srem<>(key: impl $crate::command::ToArg, members: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("SREM").arg(key).arg(members)
            }
            /// `SMEMBERS key`: every member.
            fn smembers<V>(key: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("SMEMBERS").arg(key)
            }
            /// `SISMEMBER key member`: whether `member` is in the set.
            fn sismember<>(key: impl $crate::command::ToArg, member: impl $crate::command::ToArg) -> bool {
                $crate::command::Cmd::new("SISMEMBER").arg(key).arg(member)
            }
            /// `SCARD key`: the number of members.
            fn scard<>(key: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("SCARD").arg(key)
            }
            /// `SPOP key`: removes and returns a random member (nil when empty).
            fn spop<V>(key: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("SPOP").arg(key)
            }
            /// `SRANDMEMBER key`: a random member, not removed (nil when empty).
            fn srandmember<V>(key: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("SRANDMEMBER").arg(key)
            }
            /// `SINTER key...`: the intersection (the keys must be on one shard).
            fn sinter<V>(keys: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("SINTER").arg(keys)
            }
            /// `SUNION key...`: the union (the keys must be on one shard).
            fn sunion<V>(keys: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("SUNION").arg(keys)
            }
            // ---- sorted sets ----
            /// `ZADD key score member`: how many members were added.
            fn zadd<>(key: impl $crate::command::ToArg, score: f64, member: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("ZADD").arg(key).arg(score).arg(member)
            }
            /// `ZADD key score member [score member ...]` from `(score, member)` pairs (a slice,
            /// an array or a `Vec` of them): how many members were added.
            fn zadd_multiple<>(key: impl $crate::command::ToArg, items: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("ZADD").arg(key).arg(items)
            }
            /// `ZREM key member...`: how many members were removed.
            fn zrem<>(key: impl $crate::command::ToArg, members: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("ZREM").arg(key).arg(members)
            }
            /// `ZSCORE key member`: the member's score, if it is in the set.
            fn zscore<>(key: impl $crate::command::ToArg, member: impl $crate::command::ToArg) -> ::core::option::Option<f64> {
                $crate::command::Cmd::new("ZSCORE").arg(key).arg(member)
            }
            /// `ZRANGE key start stop`: the members in the rank range, lowest score first.
            fn zrange<V>(key: impl $crate::command::ToArg, start: isize, stop: isize) -> V {
                $crate::command::Cmd::new("ZRANGE").arg(key).arg(start).arg(stop)
            }
            /// `ZRANGE key start stop WITHSCORES`: members and scores (e.g. `Vec<(String, f64)>`).
            fn zrange_withscores<V>(key: impl $crate::command::ToArg, start: isize, stop: isize) -> V {
                $crate::command::Cmd::new("ZRANGE").arg(key).arg(start).arg(stop).arg("WITHSCORES")
            }
            /// `ZREVRANGE key start stop`: the members in the rank range, highest score first.
            fn zrevrange<V>(key: impl $crate::command::ToArg, start: isize, stop: isize) -> V {
                $crate::command::Cmd::new("ZREVRANGE").arg(key).arg(start).arg(stop)
            }
            /// `ZRANGEBYSCORE key min max`: members with a score in the range (`"-inf"`, `"(1"`).
            fn zrangebyscore<V>(key: impl $crate::command::ToArg, min: impl $crate::command::ToArg, max: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("ZRANGEBYSCORE").arg(key).arg(min).arg(max)
            }
            /// `ZRANK key member`: the member's rank, if it is in the set.
            fn zrank<>(key: impl $crate::command::ToArg, member: impl $crate::command::ToArg) -> ::core::option::Option<u64> {
                $crate::command::Cmd::new("ZRANK").arg(key).arg(member)
            }
            /// `ZREVRANK key member`: the member's rank from the highest score, if present.
            fn zrevrank<>(key: impl $crate::command::ToArg, member: impl $crate::command::ToArg) -> ::core::option::Option<u64> {
                $crate::command::Cmd::new("ZREVRANK").arg(key).arg(member)
            }
            /// `ZPOPMIN key count`: removes and returns up to `count` lowest members with
            /// their scores (e.g. `Vec<(String, f64)>`).
            fn zpopmin<V>(key: impl $crate::command::ToArg, count: u64) -> V {
                $crate::command::Cmd::new("ZPOPMIN").arg(key).arg(count)
            }
            /// `ZCARD key`: the number of members.
            fn zcard<>(key: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("ZCARD").arg(key)
            }
            /// `ZINCRBY key delta member`: the member's score after adding `delta`.
            fn zincr_by<>(key: impl $crate::command::ToArg, delta: f64, member: impl $crate::command::ToArg) -> f64 {
                $crate::command::Cmd::new("ZINCRBY").arg(key).arg(delta).arg(member)
            }
            /// `ZCOUNT key min max`: members with a score in the range (`"-inf"`, `"(1"` work).
            fn zcount<>(key: impl $crate::command::ToArg, min: impl $crate::command::ToArg, max: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("ZCOUNT").arg(key).arg(min).arg(max)
            }
            // ---- scripts ----
            /// `EVAL script numkeys key... arg...` (`numkeys` is counted from `keys`).
            fn eval<V>(script: impl $crate::command::ToArg, keys: impl $crate::command::ToArg, args: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("EVAL").arg(script).arg_counted(keys).arg(args)
            }
            /// `EVALSHA sha1 numkeys key... arg...` (`numkeys` is counted from `keys`).
            fn evalsha<V>(sha1: impl $crate::command::ToArg, keys: impl $crate::command::ToArg, args: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("EVALSHA").arg(sha1).arg_counted(keys).arg(args)
            }
            /// `SCRIPT LOAD script`: the script's SHA1 (a fan-out command: every shard must
            /// know the script an `EVALSHA` may be routed to).
            fn script_load<>(script: impl $crate::command::ToArg) -> $crate::command::__private::String {
                $crate::command::Cmd::new("SCRIPT").arg("LOAD").arg(script)
            }
            // ---- pub/sub and connection ----
            /// `PUBLISH channel message`: how many subscribers received it (on the channel's
            /// shard).
            fn publish<>(channel: impl $crate::command::ToArg, message: impl $crate::command::ToArg) -> u64 {
                $crate::command::Cmd::new("PUBLISH").arg(channel).arg(message)
            }
            /// `ECHO message`: the message, from one live shard.
            fn echo<V>(message: impl $crate::command::ToArg) -> V {
                $crate::command::Cmd::new("ECHO").arg(message)
            }
            /// `PING`: `PONG` from one live shard.
            fn ping<>() -> $crate::command::__private::String {
                $crate::command::Cmd::new("PING")
            }
        }
    };
}

/// Expands the table into constructors.
macro_rules! define_constructors {
    ($(
        $(#[$meta:meta])*
        fn $name:ident<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
    )*) => {
        /// Constructors for the common commands, usable without a driver; the typed
        /// helpers of the drivers are generated from the same definition
        /// ([`for_each_command!`](crate::for_each_command)).
        ///
        /// ```
        /// use redis_ring_core::command::{cmds, Cmd};
        ///
        /// assert_eq!(cmds::set_ex("k", "v", 10), Cmd::new("SET").arg("k").arg("v").arg("EX").arg(10));
        /// ```
        pub mod cmds {
            $(
                $(#[$meta])*
                pub fn $name($($arg: $ty),*) -> $crate::command::Cmd {
                    $body
                }
            )*

            /// The names of every typed helper, in definition order.
            pub const NAMES: &[&str] = &[$(stringify!($name)),*];
        }
    };
}

for_each_command!(define_constructors);
