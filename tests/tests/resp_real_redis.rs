//! The RESP codec against a real `redis-server`: commands encoded by us over a plain
//! `TcpStream`, replies decoded by us, in RESP2 and after `HELLO 3`, including every RESP3
//! type the server can produce (`DEBUG PROTOCOL <type>`), large replies arriving over many
//! reads (the resumable decoder) and pipelined replies sharing reads.

// `DEBUG PROTOCOL double` answers 3.141, which is not meant as an approximation of pi.
#![allow(clippy::approx_constant)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use redis_ring_core::resp::{decode, encode_command, Decoder, Kind, Limits, Status, Value};
use redis_ring_tests::{RedisServer, ServerOptions};

/// A connection that speaks only through the codec under test.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    decoder: Decoder,
    /// Socket reads so far (to show that large replies arrive in several).
    reads: usize,
}

impl Conn {
    fn open(server: &RedisServer) -> Conn {
        let stream = TcpStream::connect(server.socket_addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
            decoder: Decoder::new(Limits::default()),
            reads: 0,
        }
    }

    fn send(&mut self, args: &[&[u8]]) {
        let mut out = Vec::new();
        encode_command(args, &mut out);
        self.stream.write_all(&out).unwrap();
    }

    /// Reads one reply; checks that the stateless decoder agrees with the resumable one.
    fn reply(&mut self) -> Value {
        loop {
            match self.decoder.decode(&self.buf) {
                Ok(Status::Complete((frame, used))) => {
                    let value = frame.to_value();
                    let Ok(Status::Complete((again, used2))) =
                        decode(&self.buf, &Limits::default())
                    else {
                        panic!("stateless decode disagrees");
                    };
                    assert_eq!(
                        (format!("{:?}", again.to_value()), used2),
                        (format!("{value:?}"), used)
                    );
                    self.buf.drain(..used);
                    return value;
                }
                Ok(Status::Partial) => {
                    let mut chunk = [0u8; 16 * 1024];
                    let n = self.stream.read(&mut chunk).unwrap();
                    assert!(n > 0, "server closed the connection");
                    self.reads += 1;
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) => panic!("{e}: {:?}", String::from_utf8_lossy(&self.buf)),
            }
        }
    }

    fn cmd(&mut self, args: &[&str]) -> Value {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&args);
        self.reply()
    }
}

fn bulk(s: &str) -> Value {
    Value::Bulk(s.as_bytes().to_vec())
}

fn start() -> RedisServer {
    RedisServer::start_with(ServerOptions::new().enable_debug()).unwrap()
}

/// What both protocols answer the same way.
fn common_commands(c: &mut Conn) {
    assert_eq!(c.cmd(&["SET", "k", "v"]), Value::Okay);
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v"));
    assert_eq!(c.cmd(&["GET", "missing"]), Value::Nil);
    assert_eq!(c.cmd(&["INCRBY", "n", "-42"]), Value::Int(-42));
    assert_eq!(c.cmd(&["PING"]), Value::Simple(b"PONG".to_vec()));
    assert_eq!(
        c.cmd(&["MGET", "k", "missing", "k"]),
        Value::Array(vec![bulk("v"), Value::Nil, bulk("v")])
    );
    let Value::Error(e) = c.cmd(&["LPUSH", "k", "x"]) else {
        panic!("error reply expected")
    };
    assert!(
        e.starts_with(b"WRONGTYPE"),
        "{}",
        String::from_utf8_lossy(&e)
    );
    let Value::Error(e) = c.cmd(&["NOSUCHCOMMAND"]) else {
        panic!("error reply expected")
    };
    assert!(e.starts_with(b"ERR unknown command"));

    // Binary-safe arguments and values, CRLF inside included.
    let blob: Vec<u8> = (0..=255u8).chain(*b"\r\n$3\r\n").collect();
    c.send(&[b"SET", b"bin\r\nkey", &blob]);
    assert_eq!(c.reply(), Value::Okay);
    c.send(&[b"GET", b"bin\r\nkey"]);
    assert_eq!(c.reply(), Value::Bulk(blob));

    // A 1 MiB value: sent in one command, its reply arrives over many reads.
    let big = vec![b'z'; 1 << 20];
    c.send(&[b"SET", b"big", &big]);
    assert_eq!(c.reply(), Value::Okay);
    let reads = c.reads;
    c.send(&[b"GET", b"big"]);
    assert_eq!(c.reply(), Value::Bulk(big));
    assert!(
        c.reads - reads > 1,
        "a 1 MiB reply should take several reads"
    );

    // A 10 000-element array.
    let mut args: Vec<String> = vec!["RPUSH".into(), "list".into()];
    args.extend((0..10_000).map(|i| format!("item-{i}")));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&refs), Value::Int(10_000));
    let Value::Array(items) = c.cmd(&["LRANGE", "list", "0", "-1"]) else {
        panic!()
    };
    assert_eq!(items.len(), 10_000);
    assert_eq!(items[9_999], bulk("item-9999"));

    // Pipelining: many commands in one write, replies decoded from shared reads in order.
    let mut out = Vec::new();
    for i in 0..200 {
        encode_command(&["INCR", "counter"], &mut out);
        encode_command(&["ECHO", &format!("e{i}")], &mut out);
    }
    c.stream.write_all(&out).unwrap();
    for i in 0..200 {
        assert_eq!(c.reply(), Value::Int(i + 1));
        assert_eq!(c.reply(), bulk(&format!("e{i}")));
    }
}

#[test]
fn resp2_replies_decode() {
    let server = start();
    let mut c = Conn::open(&server);
    common_commands(&mut c);
    assert_eq!(c.cmd(&["HSET", "h", "f", "1"]), Value::Int(1));
    // RESP2 has no maps: HGETALL is a flat array.
    assert_eq!(
        c.cmd(&["HGETALL", "h"]),
        Value::Array(vec![bulk("f"), bulk("1")])
    );
    // DEBUG PROTOCOL in RESP2: the server's downgraded forms.
    assert_eq!(c.cmd(&["DEBUG", "PROTOCOL", "null"]), Value::Nil);
    assert_eq!(c.cmd(&["DEBUG", "PROTOCOL", "true"]), Value::Int(1));
    assert_eq!(
        c.cmd(&["DEBUG", "PROTOCOL", "map"]),
        Value::Array(vec![
            Value::Int(0),
            Value::Int(0),
            Value::Int(1),
            Value::Int(1),
            Value::Int(2),
            Value::Int(0)
        ])
    );
    let Value::Bulk(d) = c.cmd(&["DEBUG", "PROTOCOL", "double"]) else {
        panic!()
    };
    assert_eq!(
        std::str::from_utf8(&d).unwrap().parse::<f64>().unwrap(),
        3.141
    );
}

#[test]
fn resp3_replies_decode_every_type() {
    let server = start();
    let mut c = Conn::open(&server);
    // HELLO 3 answers with a map.
    let Value::Map(hello) = c.cmd(&["HELLO", "3"]) else {
        panic!("HELLO 3 should answer a map")
    };
    let proto = hello
        .iter()
        .find(|(k, _)| *k == bulk("proto"))
        .map(|(_, v)| v.clone());
    assert_eq!(proto, Some(Value::Int(3)));
    common_commands(&mut c);
    assert_eq!(c.cmd(&["HSET", "h", "f", "1"]), Value::Int(1));
    assert_eq!(
        c.cmd(&["HGETALL", "h"]),
        Value::Map(vec![(bulk("f"), bulk("1"))])
    );
    assert_eq!(c.cmd(&["SADD", "s", "m"]), Value::Int(1));
    assert_eq!(c.cmd(&["SMEMBERS", "s"]), Value::Set(vec![bulk("m")]));
    assert_eq!(c.cmd(&["EXISTS", "missing"]), Value::Int(0));

    let ints = |n: i64| (0..n).map(Value::Int).collect::<Vec<_>>();
    let debug = |c: &mut Conn, ty: &str| c.cmd(&["DEBUG", "PROTOCOL", ty]);
    assert_eq!(debug(&mut c, "string"), bulk("Hello World"));
    assert_eq!(debug(&mut c, "integer"), Value::Int(12345));
    assert_eq!(debug(&mut c, "double"), Value::Double(3.141));
    assert_eq!(
        debug(&mut c, "bignum"),
        Value::BigNumber(b"1234567999999999999999999999999999999".to_vec())
    );
    assert_eq!(debug(&mut c, "null"), Value::Nil);
    assert_eq!(debug(&mut c, "array"), Value::Array(ints(3)));
    assert_eq!(debug(&mut c, "set"), Value::Set(ints(3)));
    assert_eq!(
        debug(&mut c, "map"),
        Value::Map(vec![
            (Value::Int(0), Value::Boolean(false)),
            (Value::Int(1), Value::Boolean(true)),
            (Value::Int(2), Value::Boolean(false)),
        ])
    );
    assert_eq!(
        debug(&mut c, "attrib"),
        Value::Attribute {
            attributes: vec![(
                bulk("key-popularity"),
                Value::Array(vec![bulk("key:123"), Value::Int(90)])
            )],
            value: Box::new(bulk("Some real reply following the attribute")),
        }
    );
    // A push and the ordinary reply: Redis 7.0 sends the push first; Redis 7.2 and Valkey 8
    // defer pushes a command causes until after its reply. Both must decode, in either order.
    let push = Value::Push(vec![bulk("server-cpu-usage"), Value::Int(42)]);
    let reply = bulk("Some real reply following the push reply");
    let first = debug(&mut c, "push");
    let second = c.reply();
    assert!(
        (first == push && second == reply) || (first == reply && second == push),
        "expected the push and the reply, in either order: {first:?}, {second:?}"
    );
    assert_eq!(
        debug(&mut c, "verbatim"),
        Value::Verbatim {
            format: *b"txt",
            text: b"This is a verbatim\nstring".to_vec()
        }
    );
    assert_eq!(debug(&mut c, "true"), Value::Boolean(true));
    assert_eq!(debug(&mut c, "false"), Value::Boolean(false));

    // Pub/sub pushes decode as pushes, with the zero-allocation accessors.
    let mut sub = Conn::open(&server);
    sub.cmd(&["HELLO", "3"]);
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "news"]),
        Value::Push(vec![bulk("subscribe"), bulk("news"), Value::Int(1)])
    );
    assert_eq!(c.cmd(&["PUBLISH", "news", "hi"]), Value::Int(1));
    loop {
        if let Ok(Status::Complete((frame, _))) = decode(&sub.buf, &Limits::default()) {
            assert!(frame.is_push());
            let parts: Vec<_> = frame
                .as_aggregate()
                .unwrap()
                .iter()
                .map(|f| f.kind())
                .collect();
            assert_eq!(
                parts,
                [
                    Kind::Bulk(b"message"),
                    Kind::Bulk(b"news"),
                    Kind::Bulk(b"hi")
                ]
            );
            break;
        }
        let mut chunk = [0u8; 512];
        let n = sub.stream.read(&mut chunk).unwrap();
        assert!(n > 0);
        sub.buf.extend_from_slice(&chunk[..n]);
    }
}
