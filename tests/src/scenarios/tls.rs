//! TLS against real servers (`--tls-port`), certificates made at test time: success, the
//! ways verification fails (each a typed cause naming shard and address), `rediss://`,
//! `--sni`, `--insecure`, client
//! certificates, TLS with AUTH and SELECT, and peers that do not speak TLS.
//!
//! Kill/restart under load, pub/sub, transactions and heartbeats over TLS are the whole
//! scenario suite run in TLS mode (`REDIS_RING_TLS=1`, see [`crate::tls`]).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis_ring_core::error::TlsError;
use redis_ring_driver::TlsSettings;

use redis_ring_core::config::FailurePolicy;

use super::util::{build, fast_config, guard, raw, raw_get, raw_text, wait_until};
use super::{Cmd, RingSpec, RingUnderTest, ShardSpec, Value};
use crate::tls::{Pki, ServerTls};
use crate::{RedisServer, ServerOptions};

/// A server speaking TLS with `tls` (and `extra` options).
fn tls_server(tls: ServerTls, extra: ServerOptions) -> RedisServer {
    RedisServer::start_with(extra.tls(tls)).expect("start a TLS redis-server")
}

/// One shard at `addr`, TLS with `tls` for every shard (`None`: only for `rediss://`).
fn one_shard(addr: String, tls: Option<TlsSettings>) -> RingSpec {
    let mut config = fast_config();
    config.tls = tls.map(TlsSettings::into_options);
    RingSpec {
        shards: vec![("shard1".to_owned(), addr)],
        config,
        ..RingSpec::default()
    }
}

/// Runs `GET` through a ring built from `spec` and returns the error it must fail with,
/// checking that it names the shard and address and came within a wide bound.
fn failure<R: RingUnderTest>(spec: &RingSpec, addr: &str) -> String {
    let ring: R = build(spec);
    let started = Instant::now();
    let err = ring
        .cmd(Cmd::new("GET").arg("tls:k"))
        .expect_err("the command must fail");
    let text = err.to_string();
    assert!(
        text.contains("shard1"),
        "the error must name the shard: {text}"
    );
    assert!(
        text.contains(addr),
        "the error must name the address: {text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}: {text}",
        started.elapsed()
    );
    ring.close();
    text
}

fn assert_cause(text: &str, cause: TlsError) {
    assert!(
        text.contains(&cause.to_string()),
        "expected the cause {cause:?} ({cause}) in: {text}"
    );
}

fn works<R: RingUnderTest>(spec: &RingSpec) -> R {
    let ring: R = build(spec);
    assert_eq!(
        ring.cmd(Cmd::new("SET").arg("tls:k").arg("v")).unwrap(),
        Value::Okay
    );
    assert_eq!(
        ring.cmd(Cmd::new("GET").arg("tls:k")).unwrap(),
        Value::Bulk(b"v".to_vec())
    );
    ring
}

/// TLS with the right CA works (and the ring's connection really is on the TLS port); the
/// wrong CA, or the system's roots for a private CA, fail with "unknown issuer";
/// `--insecure` connects anyway.
pub fn tls_connects_and_verifies<R: RingUnderTest>() {
    let _g = guard(false);
    let pki = Pki::shared();
    let server = tls_server(ServerTls::shared(), ServerOptions::new());
    let addr = server.addr();
    let mut spec = one_shard(addr.clone(), Some(pki.client_options()));
    spec.config.conn.client_name = Some("tls-check".into());
    let ring: R = works(&spec);
    let pipelined = ring.pipeline(
        (0..100)
            .map(|i| Cmd::new("INCR").arg(format!("tls:n{}", i % 7)))
            .collect(),
    );
    assert!(pipelined.iter().all(Result::is_ok));
    let list = raw_text(&mut raw(&server, None), &["CLIENT", "LIST"]);
    let ours = list
        .lines()
        .find(|l| l.contains("name=tls-check"))
        .unwrap_or_else(|| panic!("no tls-check client in {list}"));
    assert!(
        ours.contains(&format!("laddr=127.0.0.1:{}", server.port())),
        "the ring must be connected to the TLS port {}: {ours}",
        server.port()
    );
    ring.close();

    // Another CA: unknown issuer.
    let other = Pki::new("other");
    let text = failure::<R>(
        &one_shard(addr.clone(), Some(other.client_options())),
        &addr,
    );
    assert_cause(&text, TlsError::UnknownIssuer);
    // `rediss://` with default settings: the system's roots do not know the test CA.
    let url = format!("rediss://127.0.0.1:{}", server.port());
    let text = failure::<R>(&one_shard(url.clone(), None), &addr);
    assert_cause(&text, TlsError::UnknownIssuer);
    // ... and with the ring's settings (which a `rediss://` shard without its own takes),
    // it works.
    works::<R>(&one_shard(url, Some(pki.client_options()))).close();
    // `--insecure`: no verification at all.
    let mut insecure = other.client_options();
    insecure.insecure_skip_verify = true;
    works::<R>(&one_shard(addr, Some(insecure))).close();
}

/// A certificate for another name fails with "name mismatch"; `--sni` with that name
/// works. An expired certificate fails with "expired".
pub fn tls_name_mismatch_sni_and_expiry<R: RingUnderTest>() {
    let _g = guard(false);
    let pki = Pki::shared();
    let mut tls = ServerTls::shared();
    tls.server = pki.server_cert(&["redis.example"], false);
    let server = tls_server(tls, ServerOptions::new());
    let addr = server.addr();
    let text = failure::<R>(&one_shard(addr.clone(), Some(pki.client_options())), &addr);
    assert_cause(&text, TlsError::NameMismatch);
    let mut sni = pki.client_options();
    sni.sni = Some("redis.example".into());
    works::<R>(&one_shard(addr, Some(sni))).close();

    let mut tls = ServerTls::shared();
    tls.server = pki.expired_server_cert();
    let expired = tls_server(tls, ServerOptions::new());
    let addr = expired.addr();
    let text = failure::<R>(&one_shard(addr.clone(), Some(pki.client_options())), &addr);
    assert_cause(&text, TlsError::Expired);
}

/// `tls-auth-clients yes`: without a client certificate the server refuses the handshake;
/// with one (`--cert`/`--key`) it works.
pub fn tls_client_certificates<R: RingUnderTest>() {
    let _g = guard(false);
    let pki = Pki::shared();
    let mut tls = ServerTls::shared();
    tls.auth_clients = "yes";
    let server = tls_server(tls, ServerOptions::new());
    let addr = server.addr();
    let text = failure::<R>(&one_shard(addr.clone(), Some(pki.client_options())), &addr);
    println!("no client certificate: {text}");
    assert!(
        text.contains(&TlsError::HandshakeRefused.to_string())
            || text.contains(&TlsError::ClosedInHandshake.to_string()),
        "expected a refused handshake: {text}"
    );
    works::<R>(&one_shard(addr, Some(pki.client_options_with_cert()))).close();
}

/// TLS with AUTH and SELECT from a `rediss://:password@host:port/db` address.
pub fn tls_with_auth_and_select<R: RingUnderTest>() {
    let _g = guard(false);
    let pki = Pki::shared();
    let server = tls_server(ServerTls::shared(), ServerOptions::new().password("tls-pw"));
    let url = format!("rediss://:tls-pw@127.0.0.1:{}/3", server.port());
    let ring: R = works(&one_shard(url, Some(pki.client_options())));
    ring.close();
    let mut conn = raw(&server, Some("tls-pw"));
    raw_text(&mut conn, &["SELECT", "3"]);
    assert_eq!(raw_get(&mut conn, "tls:k"), Some(b"v".to_vec()));
}

/// A peer that answers the ClientHello with something that is not TLS fails with "not
/// speaking TLS"; one that never answers is cut by the connect timeout. Neither hangs the
/// client or disturbs anything.
pub fn tls_peer_not_speaking_tls<R: RingUnderTest>() {
    let _g = guard(false);
    let pki = Pki::shared();
    let stop = Arc::new(AtomicBool::new(false));
    let peer = |answer: Option<&'static [u8]>| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_millis(500)))
                            .unwrap();
                        let mut hello = [0; 512];
                        let _ = s.read(&mut hello);
                        if let Some(answer) = answer {
                            let _ = s.write_all(answer);
                        }
                        held.push(s);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        (addr, thread)
    };
    let (garbage, g_thread) = peer(Some(
        b"-ERR unknown command '\x16\x03\x01'\r\nHTTP/1.1 400 Bad Request\r\n\r\n",
    ));
    let text = failure::<R>(
        &one_shard(garbage.clone(), Some(pki.client_options())),
        &garbage,
    );
    assert_cause(&text, TlsError::NotTls);
    let (silent, s_thread) = peer(None);
    let text = failure::<R>(
        &one_shard(silent.clone(), Some(pki.client_options())),
        &silent,
    );
    // The connect timeout, or the first heartbeat's (shorter here), whichever ends first.
    assert!(
        text.contains("timed out") || text.contains("no reply within"),
        "expected a timeout: {text}"
    );
    // A plaintext Redis port addressed with TLS: an error, never a hang.
    let plain = RedisServer::start_with(ServerOptions::new()).unwrap();
    let plain_addr = format!("127.0.0.1:{}", plain.plain_port());
    failure::<R>(
        &one_shard(plain_addr.clone(), Some(pki.client_options())),
        &plain_addr,
    );
    stop.store(true, Ordering::Relaxed);
    g_thread.join().unwrap();
    s_thread.join().unwrap();
}

/// One ring whose shards each carry TLS settings of their own (typed specs,
/// `ShardSpec::tls`; no ring-wide TLS): `tls-a` verified by the suite's CA, `plain` without
/// TLS, and `tls-c` from another CA whose certificate names only `redis.example` (its own CA
/// and `--sni`). Keys land on all three, each TLS shard's connection is on its TLS port and
/// the plaintext one on its plain port. Then the same ring with `tls-c` given the suite's CA:
/// only `tls-c`'s keys fail, naming it (fail-fast, so they do not move), the others work.
pub fn tls_mixed_per_shard<R: RingUnderTest>() {
    let _g = guard(false);
    let pki = Pki::shared();
    let other = Pki::new("other");
    let a = tls_server(ServerTls::shared(), ServerOptions::new());
    // In the suite's TLS mode every harness server also speaks TLS: use its plaintext port.
    let plain = RedisServer::start_with(ServerOptions::new()).expect("start a redis-server");
    let plain_addr = format!("127.0.0.1:{}", plain.plain_port());
    let c = tls_server(
        ServerTls {
            ca: other.ca.clone(),
            server: other.server_cert(&["redis.example"], false),
            auth_clients: "no",
        },
        ServerOptions::new(),
    );
    let mut c_settings = other.client_options();
    c_settings.sni = Some("redis.example".into());
    let specs = |c_settings: TlsSettings| {
        vec![
            ShardSpec::parse("tls-a", &a.addr())
                .unwrap()
                .tls(pki.client_options().into_options()),
            ShardSpec::parse("plain", &plain_addr).unwrap(),
            ShardSpec::parse("tls-c", &c.addr())
                .unwrap()
                .tls(c_settings.into_options()),
        ]
    };
    let mut config = fast_config();
    config.tls = None;
    config.conn.client_name = Some("mixed".into());
    config.failure_policy = FailurePolicy::FailFast;
    let spec = RingSpec {
        config,
        specs: specs(c_settings),
        ..RingSpec::default()
    };
    let ring: R = build(&spec);
    assert!(
        wait_until(Duration::from_secs(5), || ring.len() == 3),
        "every shard must come up: {:?}",
        ring.shards()
    );
    let servers = [("tls-a", &a), ("plain", &plain), ("tls-c", &c)];
    let mut hit = [0; 3];
    for i in 0..90 {
        let key = format!("mixed:{i}");
        assert_eq!(
            ring.cmd(Cmd::new("SET").arg(&*key).arg("v")).unwrap(),
            Value::Okay
        );
        let owner = ring.shard_for_key(&key).expect("an owner");
        let j = servers.iter().position(|(n, _)| *n == owner).unwrap();
        assert_eq!(
            raw_get(&mut raw(servers[j].1, None), &key),
            Some(b"v".to_vec()),
            "{key} must be on {owner}"
        );
        hit[j] += 1;
    }
    assert!(hit.iter().all(|&n| n > 0), "keys per shard: {hit:?}");
    for (name, server) in servers {
        let port = if name == "plain" {
            server.plain_port()
        } else {
            server.port()
        };
        let list = raw_text(&mut raw(server, None), &["CLIENT", "LIST"]);
        assert!(
            list.lines()
                .filter(|l| l.contains("name=mixed"))
                .all(|l| l.contains(&format!("laddr=127.0.0.1:{port} "))),
            "{name}: the ring must be connected to port {port} only: {list}"
        );
        assert!(
            list.contains("name=mixed"),
            "{name}: no ring connection in {list}"
        );
    }
    ring.close();

    // tls-c with the suite's CA (its certificate is from another): only its keys fail.
    let wrong = RingSpec {
        specs: specs(pki.client_options()),
        ..spec
    };
    let ring: R = build(&wrong);
    let (mut failed, mut worked) = (0, 0);
    for i in 0..30 {
        let key = format!("mixed:{i}");
        match ring.cmd(Cmd::new("GET").arg(&*key)) {
            Ok(v) => {
                assert_eq!(v, Value::Bulk(b"v".to_vec()));
                worked += 1;
            }
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains("tls-c"), "the error must name tls-c: {text}");
                failed += 1;
            }
        }
    }
    assert!(failed > 0 && worked > 0, "failed {failed}, worked {worked}");
    ring.close();
}
