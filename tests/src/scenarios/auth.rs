//! AUTH as deployments use it: an ACL user with its password, and a `requirepass` changed
//! while the ring runs (a clear WRONGPASS naming the shard, then recovery once the ring is
//! given the new password through `set_shards`).

use std::time::{Duration, Instant};

use super::util::{build, guard, raw, raw_text, spec};
use super::{Cmd, RingUnderTest, Value};
use crate::harness::Reply;
use crate::{ServerOptions, Shards};

/// Retries `f` every 20 ms until it returns `Some`, for at most `timeout`.
fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An ACL user with its own password, given as options and as a `redis://user:pass@` URL;
/// a wrong password for it fails with WRONGPASS naming the shard.
pub fn acl_user_and_password<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start_with(1, &ServerOptions::new().password("admin-pw")).unwrap();
    let server = &shards.servers()[0];
    let reply = raw(server, Some("admin-pw"))
        .command(&[
            "ACL", "SETUSER", "app", "on", ">app-pw", "~*", "&*", "+@all",
        ])
        .unwrap();
    assert_eq!(reply, Reply::Status("OK".into()));
    let mut s = spec(&shards);
    s.config.conn.username = Some("app".into());
    s.config.conn.password = Some("app-pw".into());
    s.config.conn.client_name = Some("acl-check".into());
    let ring: R = build(&s);
    assert_eq!(
        ring.cmd(Cmd::new("SET").arg("acl:k").arg("v")).unwrap(),
        Value::Okay
    );
    // The server sees the ring's connection as that user.
    let list = raw_text(&mut raw(server, Some("admin-pw")), &["CLIENT", "LIST"]);
    assert!(
        list.lines()
            .any(|l| l.contains("name=acl-check") && l.contains(" user=app ")),
        "{list}"
    );
    ring.close();
    // The same through the URL.
    let mut s = spec(&shards);
    s.shards[0].1 = format!("redis://app:app-pw@127.0.0.1:{}", server.port());
    let ring: R = build(&s);
    assert_eq!(
        ring.cmd(Cmd::new("GET").arg("acl:k")).unwrap(),
        Value::Bulk(b"v".to_vec())
    );
    ring.close();
    // A wrong password for the user.
    let mut s = spec(&shards);
    s.config.conn.username = Some("app".into());
    s.config.conn.password = Some("nope".into());
    let ring: R = build(&s);
    let text = ring
        .cmd(Cmd::new("GET").arg("acl:k"))
        .expect_err("a wrong password must fail")
        .to_string();
    assert!(
        text.contains("WRONGPASS") && text.contains("shard1"),
        "{text}"
    );
    ring.close();
}

/// `requirepass` changed on a running server: the ring's open connection keeps working
/// until it is cut; reconnecting then fails with WRONGPASS naming the shard; given the new
/// password through `set_shards`, the ring recovers.
pub fn requirepass_changed_at_run_time<R: RingUnderTest>() {
    let _g = guard(false);
    let shards = Shards::start_with(1, &ServerOptions::new().password("old-pw")).unwrap();
    let server = &shards.servers()[0];
    let mut s = spec(&shards);
    s.config.conn.password = Some("old-pw".into());
    let ring: R = build(&s);
    assert_eq!(
        ring.cmd(Cmd::new("SET").arg("pw:k").arg("v")).unwrap(),
        Value::Okay
    );
    let mut admin = raw(server, Some("old-pw"));
    assert_eq!(
        admin
            .command(&["CONFIG", "SET", "requirepass", "new-pw"])
            .unwrap(),
        Reply::Status("OK".into())
    );
    // Cut every other client: the ring has to reconnect, with its old password.
    admin
        .command(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        .unwrap();
    let text = eventually(Duration::from_secs(5), || {
        ring.cmd(Cmd::new("GET").arg("pw:k"))
            .err()
            .map(|e| e.to_string())
            .filter(|t| t.contains("WRONGPASS"))
    })
    .expect("the ring must report WRONGPASS after the password changed");
    assert!(
        text.contains("shard1"),
        "the error must name the shard: {text}"
    );
    // The new password through set_shards (a URL's password wins over the ring's).
    ring.set_shards(&[(
        "shard1".to_owned(),
        format!("redis://:new-pw@127.0.0.1:{}", server.port()),
    )]);
    let value = eventually(Duration::from_secs(5), || {
        ring.cmd(Cmd::new("GET").arg("pw:k")).ok()
    })
    .expect("the ring must recover with the new password");
    assert_eq!(value, Value::Bulk(b"v".to_vec()));
    ring.close();
}
