//! Connection options: AUTH, wrong passwords, `redis://` addresses, SELECT, CLIENT SETNAME.

use std::time::{Duration, Instant};

use super::util::{build, guard, raw, raw_get, raw_int, raw_text, spec};
use super::{Cmd, RingSpec, RingUnderTest, Value};
use crate::harness::Reply;
use crate::{ServerOptions, Shards};

const PASSWORD: &str = "s3cret";

/// `requirepass` shards and the right password: commands work, values are on the servers.
pub fn auth_with_requirepass<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start_with(2, &ServerOptions::new().password(PASSWORD)).unwrap();
    let mut s = spec(&shards);
    s.config.conn.password = Some(PASSWORD.into());
    let ring: R = build(&s);
    for i in 0..20 {
        let key = format!("auth:{i}");
        assert_eq!(
            ring.cmd(Cmd::new("SET").arg(&*key).arg(i)).unwrap(),
            Value::Okay
        );
    }
    let mut found = 0;
    for server in shards.servers() {
        let mut conn = raw(server, Some(PASSWORD));
        found += (0..20)
            .filter(|i| raw_get(&mut conn, &format!("auth:{i}")).is_some())
            .count();
    }
    assert_eq!(found, 20);
    // An explicit user name works too (`AUTH default s3cret`).
    s.config.conn.username = Some("default".into());
    let ring2: R = build(&s);
    assert_eq!(
        ring2.cmd(Cmd::new("GET").arg("auth:3")).unwrap(),
        Value::Bulk(b"3".to_vec())
    );
    ring2.close();
    ring.close();
}

/// A wrong password fails commands quickly with the server's WRONGPASS, naming the shard;
/// no password at all gives NOAUTH.
pub fn wrong_password_names_the_shard<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start_with(2, &ServerOptions::new().password(PASSWORD)).unwrap();
    for (password, expected) in [(Some("wrong"), "WRONGPASS"), (None, "NOAUTH")] {
        let mut s = spec(&shards);
        s.config.conn.password = password.map(Into::into);
        let ring: R = build(&s);
        let owner = ring.shard_for_key("k");
        let started = Instant::now();
        let err = ring
            .cmd(Cmd::new("GET").arg("k"))
            .expect_err("a command must fail without the right password");
        let text = err.to_string();
        assert!(text.contains(expected), "{password:?}: {text}");
        // The error names the shard: the key's owner, or every shard once all are down.
        let named = match &owner {
            Some(o) => text.contains(o.as_str()),
            None => text.contains("shard1") && text.contains("shard2"),
        };
        assert!(named, "{password:?}: the error must name the shard: {text}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{password:?}: took {:?}",
            started.elapsed()
        );
        ring.close();
    }
}

/// `redis://user:password@host:port/db` addresses: credentials and db per shard.
pub fn redis_url_addresses<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start_with(2, &ServerOptions::new().password(PASSWORD)).unwrap();
    let servers = shards.servers();
    let s = RingSpec {
        shards: vec![
            (
                "shard1".into(),
                format!(
                    "redis://default:{PASSWORD}@127.0.0.1:{}/2",
                    servers[0].port()
                ),
            ),
            (
                "shard2".into(),
                format!("redis://:{PASSWORD}@127.0.0.1:{}/2", servers[1].port()),
            ),
        ],
        config: super::fast_config(),
        ..RingSpec::default()
    };
    let ring: R = build(&s);
    for i in 0..20 {
        let key = format!("url:{i}");
        assert_eq!(
            ring.cmd(Cmd::new("SET").arg(&*key).arg(i)).unwrap(),
            Value::Okay
        );
    }
    let mut in_db2 = 0;
    for server in servers {
        let mut conn = raw(server, Some(PASSWORD));
        assert!(
            (0..20).all(|i| raw_get(&mut conn, &format!("url:{i}")).is_none()),
            "keys must not be in db 0"
        );
        assert_eq!(
            conn.command(&["SELECT", "2"]).unwrap(),
            Reply::Status("OK".into())
        );
        in_db2 += (0..20)
            .filter(|i| raw_get(&mut conn, &format!("url:{i}")).is_some())
            .count();
    }
    assert_eq!(in_db2, 20);
    // The password never shows in the shard table.
    for v in ring.shards() {
        assert!(!v.addr.contains(PASSWORD), "{v:?}");
    }
    ring.close();
}

/// `db`: every connection selects it; nothing lands in db 0.
pub fn select_db<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(2).unwrap();
    let mut s = spec(&shards);
    s.config.conn.db = 3;
    let ring: R = build(&s);
    for i in 0..20 {
        ring.cmd(Cmd::new("SET").arg(format!("db:{i}")).arg(i))
            .unwrap();
    }
    let mut in_db3 = 0;
    for server in shards.servers() {
        let mut conn = raw(server, None);
        assert_eq!(raw_int(&mut conn, &["DBSIZE"]), 0, "nothing in db 0");
        assert!((0..20).all(|i| raw_get(&mut conn, &format!("db:{i}")).is_none()));
        conn.command(&["SELECT", "3"]).unwrap();
        in_db3 += (0..20)
            .filter(|i| raw_get(&mut conn, &format!("db:{i}")).is_some())
            .count();
    }
    assert_eq!(in_db3, 20);
    ring.close();
}

/// `client_name`: every connection of the ring carries it (`CLIENT LIST` on each shard).
pub fn client_setname_visible<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start(3).unwrap();
    let mut s = spec(&shards);
    s.config.conn.client_name = Some("scenario-app".into());
    let ring: R = build(&s);
    for i in 0..30 {
        ring.cmd(Cmd::new("SET").arg(format!("name:{i}")).arg(i))
            .unwrap();
    }
    for (server, (name, _)) in shards.servers().iter().zip(shards.named()) {
        let list = raw_text(&mut raw(server, None), &["CLIENT", "LIST"]);
        let ours: Vec<&str> = list
            .lines()
            .filter(|l| !l.contains("cmd=client|list"))
            .collect();
        assert!(!ours.is_empty(), "no ring connection on {name}: {list}");
        for line in ours {
            assert!(line.contains("name=scenario-app "), "{name}: {line}");
        }
    }
    ring.close();
}

/// Address forms every driver handles alike: a Unix-socket shard (only the path is given, so
/// the value can only have come through it), and a host name that does not resolve (an
/// error naming the shard and saying so, while the other shard keeps working).
pub fn unix_socket_and_unresolvable_host<R: RingUnderTest>() {
    let _g = guard(false);
    let path = std::env::temp_dir().join(format!(
        "redis-ring-scenario-{}-{}.sock",
        std::process::id(),
        R::DRIVER
    ));
    let path_str = path.to_str().expect("UTF-8 temp dir").to_owned();
    let _ = std::fs::remove_file(&path);
    let server = crate::RedisServer::start_with(
        ServerOptions::new()
            .config("unixsocket", &path_str)
            .config("unixsocketperm", "700"),
    )
    .unwrap();
    let s = RingSpec {
        shards: vec![
            ("local".into(), format!("unix:{path_str}")),
            ("nowhere".into(), "no-such-host.invalid:6379".into()),
        ],
        config: {
            // Redis speaks no TLS on a Unix socket (the suite's TLS mode aside).
            let mut c = super::fast_config();
            c.tls = None;
            c
        },
        ..RingSpec::default()
    };
    let ring: R = build(&s);
    // Keys of the Unix shard work; keys of the unresolvable one fail naming it.
    let mut seen_local = false;
    let mut seen_nowhere = false;
    for i in 0..40 {
        let key = format!("via:{i}");
        match ring.cmd(Cmd::new("SET").arg(&*key).arg("unix")) {
            Ok(v) => {
                assert_eq!(v, Value::Okay);
                let mut conn =
                    crate::harness::RawConn::connect(server.socket_addr(), Duration::from_secs(2))
                        .unwrap();
                assert_eq!(
                    conn.command(&["GET", &key]).unwrap(),
                    Reply::Bulk(Some(b"unix".to_vec()))
                );
                seen_local = true;
            }
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.contains("nowhere") && text.contains("could not be resolved"),
                    "{text}"
                );
                seen_nowhere = true;
            }
        }
        if seen_local && seen_nowhere {
            break;
        }
    }
    assert!(seen_local, "no key reached the Unix-socket shard");
    let views = ring.shards();
    assert!(
        views.iter().any(|v| v.addr == format!("unix:{path_str}")),
        "{views:?}"
    );
    ring.close();
    drop(server);
    let _ = std::fs::remove_file(&path);
}
