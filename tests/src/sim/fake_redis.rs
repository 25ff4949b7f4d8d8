//! A small in-memory Redis for the simulator: parses commands with the project's own codec
//! and answers them in RESP2 or RESP3 as a real server would.
//!
//! Commands: `HELLO` (2 or 3, with `AUTH` and `SETNAME`), `AUTH`, `SELECT`, `CLIENT SETNAME`,
//! `PING`, `GET`, `SET`, `DEL`, `INCR`, `MGET`, `EXISTS`, and the test command
//! `TAGGED key tag`, which replies with the bulk string `<shard>|<key>|<tag>` so the simulator
//! can check that every reply reaches the request it belongs to, and which shard ran it.

use std::collections::HashMap;

use redis_ring_core::resp::{decode, encode_value_as, Limits, Protocol, Status, Value};

/// A hook of [`FakeRedis::serve_with`]: `(server, command words) -> reply`, `None` to let
/// the server run the command itself.
pub type Hook<'a> = dyn FnMut(&mut FakeRedis, &[Vec<u8>]) -> Option<Value> + 'a;

/// Per-connection server state.
#[derive(Debug)]
pub struct Session {
    resp3: bool,
    db: u32,
    authed: bool,
    /// Bytes received and not yet parsed (an incomplete command).
    pub inbox: Vec<u8>,
}

/// One fake server process (its data dies with it).
#[derive(Debug)]
pub struct FakeRedis {
    /// The shard name it answers `TAGGED` with.
    pub name: String,
    /// `requirepass`, if any.
    pub password: Option<String>,
    data: HashMap<(u32, Vec<u8>), Vec<u8>>,
    /// Commands executed (all kinds).
    pub executed: u64,
}

impl FakeRedis {
    /// An empty server.
    pub fn new(name: &str, password: Option<String>) -> FakeRedis {
        FakeRedis {
            name: name.to_string(),
            password,
            data: HashMap::new(),
            executed: 0,
        }
    }

    /// A new connection's state.
    pub fn session(&self) -> Session {
        Session {
            resp3: false,
            db: 0,
            authed: self.password.is_none(),
            inbox: Vec::new(),
        }
    }

    /// Parses every complete command in `s.inbox` and appends the replies to `out`.
    /// Fails when the client sent something that is not a command (a client bug the
    /// simulator reports).
    pub fn serve(&mut self, s: &mut Session, out: &mut Vec<u8>) -> Result<(), String> {
        self.serve_full(s, out, &mut |_, _| None, &mut Vec::new())
    }

    /// [`FakeRedis::serve`], offering every command to `hook` first (with this server): a
    /// `Some` reply is the command's (the migration simulator implements `MIGRATE` with it,
    /// since it needs the other servers).
    pub fn serve_with(
        &mut self,
        s: &mut Session,
        out: &mut Vec<u8>,
        hook: &mut Hook<'_>,
    ) -> Result<(), String> {
        self.serve_full(s, out, hook, &mut Vec::new())
    }

    /// [`FakeRedis::serve`], also appending each command it ran (its words) to `ran`, in
    /// order (one reply in `out` per command).
    pub fn serve_logged(
        &mut self,
        s: &mut Session,
        out: &mut Vec<u8>,
        ran: &mut Vec<Vec<Vec<u8>>>,
    ) -> Result<(), String> {
        self.serve_full(s, out, &mut |_, _| None, ran)
    }

    /// [`FakeRedis::serve_with`] and [`FakeRedis::serve_logged`] in one.
    fn serve_full(
        &mut self,
        s: &mut Session,
        out: &mut Vec<u8>,
        hook: &mut Hook<'_>,
        ran: &mut Vec<Vec<Vec<u8>>>,
    ) -> Result<(), String> {
        loop {
            let (args, used) = match decode(&s.inbox, &Limits::default()) {
                Ok(Status::Complete((frame, used))) => {
                    let Some(agg) = frame.as_aggregate() else {
                        return Err(format!(
                            "client sent a non-array frame: {:?}",
                            frame.to_value()
                        ));
                    };
                    let mut args = Vec::with_capacity(agg.len());
                    for w in agg.iter() {
                        match w.as_bulk() {
                            Some(b) => args.push(b.to_vec()),
                            None => return Err("client sent a non-bulk word".into()),
                        }
                    }
                    (args, used)
                }
                Ok(Status::Partial) => return Ok(()),
                Err(e) => return Err(format!("client sent invalid RESP: {e}")),
            };
            s.inbox.drain(..used);
            if args.is_empty() {
                return Err("client sent an empty command".into());
            }
            let reply = match hook(self, &args) {
                Some(reply) => reply,
                None => self.execute(s, &args),
            };
            let proto = if s.resp3 {
                Protocol::Resp3
            } else {
                Protocol::Resp2
            };
            encode_value_as(&reply, proto, out);
            ran.push(args);
        }
    }

    /// The value of `key` in database 0.
    pub fn value(&self, key: &[u8]) -> Option<&[u8]> {
        self.data.get(&(0, key.to_vec())).map(Vec::as_slice)
    }

    /// Sets `key` in database 0.
    pub fn insert(&mut self, key: &[u8], value: Vec<u8>) {
        self.data.insert((0, key.to_vec()), value);
    }

    /// Removes `key` from database 0; its value if it was there.
    pub fn remove(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.data.remove(&(0, key.to_vec()))
    }

    /// Every key of database 0.
    pub fn keys(&self) -> Vec<Vec<u8>> {
        self.data
            .keys()
            .filter(|(db, _)| *db == 0)
            .map(|(_, k)| k.clone())
            .collect()
    }

    fn execute(&mut self, s: &mut Session, args: &[Vec<u8>]) -> Value {
        self.executed += 1;
        let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
        let arity_err = || {
            Value::Error(format!("ERR wrong number of arguments for '{name}' command").into_bytes())
        };
        let err = |m: &str| Value::Error(m.as_bytes().to_vec());
        match name.as_str() {
            "HELLO" => {
                let mut i = 1;
                let mut proto = 2;
                if let Some(v) = args.get(1) {
                    proto = match std::str::from_utf8(v).ok().and_then(|v| v.parse().ok()) {
                        Some(p @ (2 | 3)) => p,
                        _ => return err("NOPROTO unsupported protocol version"),
                    };
                    i = 2;
                }
                while i < args.len() {
                    let opt = String::from_utf8_lossy(&args[i]).to_ascii_uppercase();
                    match opt.as_str() {
                        "AUTH" if i + 2 < args.len() => {
                            if !self.check_password(&args[i + 2]) {
                                return err(
                                    "WRONGPASS invalid username-password pair or user is disabled.",
                                );
                            }
                            s.authed = true;
                            i += 3;
                        }
                        "SETNAME" if i + 1 < args.len() => i += 2,
                        _ => return err("ERR Syntax error in HELLO option"),
                    }
                }
                if !s.authed {
                    return err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
                }
                s.resp3 = proto == 3;
                Value::Map(vec![
                    (bulk("server"), bulk("redis")),
                    (bulk("version"), bulk("7.0.0")),
                    (bulk("proto"), Value::Int(proto)),
                ])
            }
            "AUTH" => {
                if args.len() < 2 || args.len() > 3 {
                    return arity_err();
                }
                if self.check_password(&args[args.len() - 1]) {
                    s.authed = true;
                    Value::Okay
                } else {
                    err("WRONGPASS invalid username-password pair or user is disabled.")
                }
            }
            _ if !s.authed => err("NOAUTH Authentication required."),
            "SELECT" => match args
                .get(1)
                .and_then(|d| std::str::from_utf8(d).ok()?.parse().ok())
            {
                Some(db) if db < 16 => {
                    s.db = db;
                    Value::Okay
                }
                _ => err("ERR DB index is out of range"),
            },
            "CLIENT" => Value::Okay,
            "PING" => Value::Simple(b"PONG".to_vec()),
            "GET" if args.len() == 2 => self
                .data
                .get(&(s.db, args[1].clone()))
                .map_or(Value::Nil, |v| Value::Bulk(v.clone())),
            "SET" if args.len() >= 3 => {
                self.data.insert((s.db, args[1].clone()), args[2].clone());
                Value::Okay
            }
            "DEL" | "EXISTS" if args.len() >= 2 => {
                let del = name == "DEL";
                let n = args[1..]
                    .iter()
                    .filter(|k| {
                        let key = (s.db, (*k).clone());
                        if del {
                            self.data.remove(&key).is_some()
                        } else {
                            self.data.contains_key(&key)
                        }
                    })
                    .count();
                Value::Int(n as i64)
            }
            "INCR" if args.len() == 2 => {
                let key = (s.db, args[1].clone());
                let cur = match self.data.get(&key) {
                    None => 0,
                    Some(v) => match std::str::from_utf8(v)
                        .ok()
                        .and_then(|v| v.parse::<i64>().ok())
                    {
                        Some(n) => n,
                        None => return err("ERR value is not an integer or out of range"),
                    },
                };
                self.data.insert(key, (cur + 1).to_string().into_bytes());
                Value::Int(cur + 1)
            }
            "MGET" if args.len() >= 2 => Value::Array(
                args[1..]
                    .iter()
                    .map(|k| {
                        self.data
                            .get(&(s.db, k.clone()))
                            .map_or(Value::Nil, |v| Value::Bulk(v.clone()))
                    })
                    .collect(),
            ),
            "TAGGED" if args.len() == 3 => {
                let mut v = self.name.as_bytes().to_vec();
                v.push(b'|');
                v.extend_from_slice(&args[1]);
                v.push(b'|');
                v.extend_from_slice(&args[2]);
                Value::Bulk(v)
            }
            "GET" | "SET" | "DEL" | "EXISTS" | "INCR" | "MGET" | "TAGGED" => arity_err(),
            _ => Value::Error(format!("ERR unknown command '{name}'").into_bytes()),
        }
    }

    fn check_password(&self, given: &[u8]) -> bool {
        self.password
            .as_deref()
            .is_none_or(|p| p.as_bytes() == given)
    }
}

fn bulk(s: &str) -> Value {
    Value::Bulk(s.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(server: &mut FakeRedis, s: &mut Session, wire: &[u8]) -> Vec<u8> {
        s.inbox.extend_from_slice(wire);
        let mut out = Vec::new();
        server.serve(s, &mut out).unwrap();
        out
    }

    #[test]
    fn speaks_resp2_then_resp3_after_hello() {
        let mut r = FakeRedis::new("s0", None);
        let mut s = r.session();
        assert_eq!(
            run(&mut r, &mut s, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"),
            b"+OK\r\n"
        );
        assert_eq!(
            run(&mut r, &mut s, b"*2\r\n$3\r\nGET\r\n$1\r\nx\r\n"),
            b"$-1\r\n"
        );
        let hello = run(&mut r, &mut s, b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
        assert!(hello.starts_with(b"%3\r\n"));
        assert_eq!(
            run(&mut r, &mut s, b"*2\r\n$3\r\nGET\r\n$1\r\nx\r\n"),
            b"_\r\n"
        );
        assert_eq!(
            run(
                &mut r,
                &mut s,
                b"*3\r\n$6\r\nTAGGED\r\n$1\r\nk\r\n$2\r\nt1\r\n"
            ),
            b"$7\r\ns0|k|t1\r\n"
        );
        // Partial commands wait for their end.
        assert_eq!(run(&mut r, &mut s, b"*1\r\n$4\r\nPI"), b"");
        assert_eq!(run(&mut r, &mut s, b"NG\r\n"), b"+PONG\r\n");
    }

    #[test]
    fn requires_auth_when_configured() {
        let mut r = FakeRedis::new("s0", Some("pw".into()));
        let mut s = r.session();
        assert!(run(&mut r, &mut s, b"*1\r\n$4\r\nPING\r\n").starts_with(b"-NOAUTH"));
        assert!(run(&mut r, &mut s, b"*2\r\n$4\r\nAUTH\r\n$1\r\nx\r\n").starts_with(b"-WRONGPASS"));
        assert_eq!(
            run(&mut r, &mut s, b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"),
            b"+OK\r\n"
        );
        assert_eq!(run(&mut r, &mut s, b"*1\r\n$4\r\nPING\r\n"), b"+PONG\r\n");
    }
}
