//! Address forms deployments use beyond `127.0.0.1:port`: IPv6 literals in brackets, host
//! names, and host names that resolve to several addresses of which the first refuses
//! (Unix sockets and unresolvable names are in `options`).

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::util::{build, guard, is_down, is_up, raw, raw_get, spec, wait_event};
use super::{Cmd, Resolve, RingUnderTest, Value};
use crate::{ServerOptions, Shards};

/// Whether this machine has IPv6 loopback at all.
fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// A shard at `[::1]:port` and one at `localhost:port` (a name resolved off the driver
/// task) both work; the values are on the servers.
pub fn ipv6_literal_and_host_name<R: RingUnderTest>() {
    let _g = guard(false);
    let v6 = ipv6_loopback();
    let options = if v6 {
        ServerOptions::new().config("bind", "127.0.0.1 ::1")
    } else {
        println!("no IPv6 loopback here: the [::1] shard is checked over 127.0.0.1 only");
        ServerOptions::new()
    };
    let shards = Shards::start_with(2, &options).unwrap();
    let servers = shards.servers();
    let mut s = spec(&shards);
    if v6 {
        s.shards[0].1 = format!("[::1]:{}", servers[0].port());
    }
    s.shards[1].1 = format!("localhost:{}", servers[1].port());
    let ring: R = build(&s);
    let mut hit = [false, false];
    for i in 0..40 {
        let key = format!("addr:{i}");
        assert_eq!(
            ring.cmd(Cmd::new("SET").arg(&*key).arg("v")).unwrap(),
            Value::Okay
        );
        for (j, server) in servers.iter().enumerate() {
            hit[j] |= raw_get(&mut raw(server, None), &key).is_some();
        }
        if hit == [true, true] {
            break;
        }
    }
    assert_eq!(hit, [true, true], "both shards must have received keys");
    let views = ring.shards();
    assert!(views.iter().all(|v| v.up), "{views:?}");
    ring.close();
}

/// A shard named `localhost:port` where `localhost` resolves, as on a stock Debian
/// `/etc/hosts`, to `::1` first and then `127.0.0.1`, with the server listening on
/// `127.0.0.1` only: the first address refuses and the next one is used, on the first
/// connect and again on the reconnect after a restart (each connect resolves anew).
///
/// Resolution goes through the builder's `resolver` seam, which answers like the system
/// resolver on such a machine: this machine's own `/etc/hosts` is not something a test can
/// rely on (here `localhost` is `127.0.0.1` only). The host name itself is still `localhost`,
/// so in the suite's TLS mode the certificate is checked against it.
pub fn host_name_with_several_addresses<R: RingUnderTest>() {
    let _g = guard(false);
    let mut shards = Shards::start_with(1, &ServerOptions::new().config("bind", "127.0.0.1"))
        .expect("start a redis-server");
    let port = shards.servers()[0].port();
    let v6: SocketAddr = ([0u16, 0, 0, 0, 0, 0, 0, 1], port).into();
    let v4: SocketAddr = ([127, 0, 0, 1], port).into();
    assert!(
        TcpStream::connect_timeout(&v6, Duration::from_secs(1)).is_err(),
        "nothing may listen on {v6} for this test"
    );
    let asked = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut s = spec(&shards);
    s.shards[0].1 = format!("localhost:{port}");
    s.resolver = Some(Resolve({
        let asked = asked.clone();
        let calls = calls.clone();
        Arc::new(move |host: &str, p: u16| {
            asked.lock().unwrap().push((host.to_owned(), p));
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(vec![v6, v4])
        })
    }));
    let ring: R = build(&s);
    let mut events = ring.events();
    let set = |i: usize| {
        let key = format!("multi:{i}");
        assert_eq!(
            ring.cmd(Cmd::new("SET").arg(&*key).arg("v")).unwrap(),
            Value::Okay
        );
        key
    };
    let key = set(0);
    assert_eq!(
        raw_get(&mut raw(&shards.servers()[0], None), &key),
        Some(b"v".to_vec())
    );
    let first = calls.load(Ordering::SeqCst);
    assert!(first >= 1, "the resolver must have been asked");
    assert!(
        asked
            .lock()
            .unwrap()
            .iter()
            .all(|(h, p)| h == "localhost" && *p == port),
        "{:?}",
        asked.lock().unwrap()
    );

    // Down and back: the reconnect resolves again and again skips the refusing address.
    shards.server(0).kill();
    assert!(
        wait_event(&mut events, Duration::from_secs(10), |e| is_down(
            e, "shard1"
        ))
        .is_some(),
        "shard1 must go down"
    );
    shards.server(0).restart().expect("restart the server");
    assert!(
        wait_event(&mut events, Duration::from_secs(10), |e| is_up(e, "shard1")).is_some(),
        "shard1 must come back"
    );
    let key = set(1);
    assert_eq!(
        raw_get(&mut raw(&shards.servers()[0], None), &key),
        Some(b"v".to_vec())
    );
    assert!(
        calls.load(Ordering::SeqCst) > first,
        "the reconnect must resolve the name again"
    );
    assert!(ring.shards().iter().all(|v| v.up));
    ring.close();
}
