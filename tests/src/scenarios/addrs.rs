//! Address forms deployments use beyond `127.0.0.1:port`: IPv6 literals in brackets and
//! host names (Unix sockets and unresolvable names are in `options`).

use super::util::{build, guard, raw, raw_get, spec};
use super::{Cmd, RingUnderTest, Value};
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
