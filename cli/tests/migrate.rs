//! `redis-ring migrate` with applications writing through a ring whose migration window is
//! open: 3 → 4 and 4 → 3 shards, 100 000 keys (a third with a TTL), 20 concurrent writers
//! that also read back their own keys. Afterwards every key is on its owner only, with its
//! last acknowledged value and its expiry time; no read during the window missed.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis_ring_core::command::Cmd;
use redis_ring_core::config::MigrationWindow;
use redis_ring_core::placement::{Algorithm, Placement, ShardSpec};
use redis_ring_core::resp::Value;
use redis_ring_std::Ring;
use redis_ring_tests::harness::{RawConn, Reply};
use redis_ring_tests::Shards;

const KEYS: usize = 100_000;
const WRITERS: usize = 20;

fn key(i: usize) -> String {
    format!("mig:{i:06}")
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// What a key should hold: its value and its absolute expiry (`PEXPIRETIME`, -1: none).
type Expected = (String, i64);

/// The `SET` of `value` with expiry `at` (-1: none).
fn set(k: &str, (value, at): &Expected) -> Cmd {
    let cmd = Cmd::new("SET").arg(k).arg(value.as_str());
    if *at > 0 {
        cmd.arg("PXAT").arg(*at)
    } else {
        cmd
    }
}

fn plain_ring(shards: &[(String, String)]) -> Ring {
    Ring::builder()
        .shards(shards.iter().cloned())
        .command_timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Writes the initial 100 000 keys through a ring over `old`, in pipelines.
fn load(old: &[(String, String)]) -> Vec<Expected> {
    let ring = plain_ring(old);
    let now = unix_ms();
    let expected: Vec<Expected> = (0..KEYS)
        .map(|i| {
            let at = if i.is_multiple_of(3) {
                now + 200_000 + (i as i64 * 7919) % 600_000
            } else {
                -1
            };
            (format!("init:{i}"), at)
        })
        .collect();
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(2000) {
        let mut p = ring.pipeline();
        for &i in chunk {
            p.cmd(set(&key(i), &expected[i]));
        }
        for r in p.run() {
            assert_eq!(r.unwrap(), Value::Okay);
        }
    }
    ring.close();
    expected
}

/// A tiny deterministic generator per writer.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Writer `w` owns the keys `i % WRITERS == w`: SETs (a third with an expiry), GETs and
/// MGETs of its own keys, which must return its last acknowledged values (a miss or an
/// older value fails the test). Returns its last acknowledged writes.
fn writer(
    ring: &Ring,
    w: usize,
    initial: &[Expected],
    stop: &AtomicBool,
    reads: &AtomicU64,
) -> HashMap<usize, Expected> {
    let mut rng = Rng(w as u64 + 1);
    let mut mine: HashMap<usize, Expected> = HashMap::new();
    let pick = |rng: &mut Rng| (rng.next() as usize % (KEYS / WRITERS)) * WRITERS + w;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let i = pick(&mut rng);
        let want = |mine: &HashMap<usize, Expected>, i: usize| {
            mine.get(&i).unwrap_or(&initial[i]).0.clone()
        };
        match rng.next() % 5 {
            0..=2 => {
                let at = if n.is_multiple_of(3) {
                    unix_ms() + 300_000
                } else {
                    -1
                };
                let e = (format!("w{w}:{n}"), at);
                match ring.cmd(set(&key(i), &e)) {
                    Ok(Value::Okay) => {
                        mine.insert(i, e);
                    }
                    other => panic!("SET {}: {other:?}", key(i)),
                }
            }
            3 => {
                let got = ring.cmd(Cmd::new("GET").arg(key(i))).unwrap();
                assert_eq!(
                    got,
                    Value::Bulk(want(&mine, i).into_bytes()),
                    "GET {} during the window",
                    key(i)
                );
                reads.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                let others = [i, pick(&mut rng), pick(&mut rng)];
                let got: Vec<Option<String>> = ring
                    .mget(&others.iter().map(|&j| key(j)).collect::<Vec<_>>())
                    .unwrap();
                for (j, v) in others.iter().zip(got) {
                    assert_eq!(
                        v,
                        Some(want(&mine, *j)),
                        "MGET {} during the window",
                        key(*j)
                    );
                }
                reads.fetch_add(3, Ordering::Relaxed);
            }
        }
    }
    mine
}

/// Every key of `server`, by SCAN.
fn scan_all(conn: &mut RawConn) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor = "0".to_owned();
    loop {
        let Reply::Array(Some(parts)) = conn.command(&["SCAN", &cursor, "COUNT", "5000"]).unwrap()
        else {
            panic!("SCAN")
        };
        let [Reply::Bulk(Some(next)), Reply::Array(Some(batch))] = &parts[..] else {
            panic!("SCAN reply {parts:?}")
        };
        for k in batch {
            if let Reply::Bulk(Some(k)) = k {
                keys.push(String::from_utf8(k.clone()).unwrap());
            }
        }
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            return keys;
        }
    }
}

fn spec(shards: &[(String, String)]) -> String {
    shards
        .iter()
        .map(|(n, a)| format!("{n}={a}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Loads the old ring, runs the writers on the new ring with a window open and
/// `redis-ring migrate` beside them, then checks every key on the servers.
fn migrate(old_n: usize, new_n: usize) {
    let shards = Shards::start(4).unwrap();
    let all = shards.named();
    let (old, new) = (all[..old_n].to_vec(), all[..new_n].to_vec());
    let t0 = Instant::now();
    let initial = load(&old);
    let loaded = t0.elapsed();
    let app = Ring::builder()
        .shards(new.iter().cloned())
        .migrating_from(old.iter().cloned(), MigrationWindow::new())
        .command_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let stop = AtomicBool::new(false);
    let reads = AtomicU64::new(0);
    let t1 = Instant::now();
    let (written, out) = std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (app, initial, stop, reads) = (&app, &initial, &stop, &reads);
                s.spawn(move || writer(app, w, initial, stop, reads))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(200));
        let out = Command::new(env!("CARGO_BIN_EXE_redis-ring"))
            .env_remove("REDIS_RING_SHARDS")
            .stdin(Stdio::null())
            .args([
                "--shards",
                &spec(&old),
                "migrate",
                "--to",
                &spec(&new),
                "--quiet",
            ])
            .output()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::Relaxed);
        let written: Vec<HashMap<usize, Expected>> =
            writers.into_iter().map(|h| h.join().unwrap()).collect();
        (written, out)
    });
    let window = t1.elapsed();
    app.close();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "migrate failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = initial;
    let mut writes = 0;
    for m in written {
        writes += m.len();
        for (i, e) in m {
            expected[i] = e;
        }
    }

    // Every key on its owner only, none lost, none left behind.
    let names: Vec<&str> = new.iter().map(|(n, _)| n.as_str()).collect();
    let specs: Vec<ShardSpec<'_>> = names.iter().map(|n| ShardSpec::new(*n)).collect();
    let placement = Algorithm::default().build(&specs);
    let mut total = 0;
    for (s, server) in shards.servers().iter().enumerate() {
        let mut conn = RawConn::connect(server.socket_addr(), Duration::from_secs(5)).unwrap();
        for k in scan_all(&mut conn) {
            total += 1;
            let owner = placement.shard_for(k.as_bytes()).unwrap();
            assert_eq!(
                owner, s,
                "{k} is on {} but its owner is {}",
                all[s].0, names[owner]
            );
        }
    }
    assert_eq!(total, KEYS, "keys lost or duplicated");
    // Values and expiry times, read from the owners through a plain ring over the new shards.
    let ring = plain_ring(&new);
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(2000) {
        let mut p = ring.pipeline();
        for &i in chunk {
            p.cmd(Cmd::new("GET").arg(key(i)));
            p.cmd(Cmd::new("PEXPIRETIME").arg(key(i)));
        }
        let results = p.run();
        for (&i, r) in chunk.iter().zip(results.chunks(2)) {
            let (value, at) = &expected[i];
            assert_eq!(
                r[0].as_ref().unwrap(),
                &Value::Bulk(value.clone().into_bytes()),
                "{}",
                key(i)
            );
            let got = r[1].as_ref().unwrap().as_int().unwrap();
            assert!(
                (got - at).abs() <= 1000 || (*at < 0 && got == -1),
                "{}: expires at {got}, expected {at}",
                key(i)
            );
        }
    }
    ring.close();
    println!(
        "{old_n} -> {new_n}: loaded {KEYS} keys in {loaded:?}; window {window:?} with {writes} \
         keys rewritten and {} reads; {stdout}",
        reads.load(Ordering::Relaxed)
    );
}

#[test]
fn migrate_three_to_four_under_writers() {
    migrate(3, 4);
}

#[test]
fn migrate_four_to_three_under_writers() {
    migrate(4, 3);
}

/// Interrupted after its first old shard (killed once the resume file says so), `migrate`
/// continues from the file: the second run skips that shard, and every key ends on its owner.
#[test]
fn migrate_resumes_from_its_state_file() {
    let shards = Shards::start(4).unwrap();
    let all = shards.named();
    let (old, new) = (all[..3].to_vec(), all.clone());
    let ring = plain_ring(&old);
    let mut p = ring.pipeline();
    for i in 0..3000 {
        p.cmd(Cmd::new("SET").arg(key(i)).arg(i));
    }
    assert!(p.run().iter().all(Result::is_ok));
    ring.close();
    let dir = tempfile_dir();
    let state = dir.join("migrate.state");
    let args = |state: &std::path::Path| {
        vec![
            "--shards".to_owned(),
            spec(&old),
            "migrate".to_owned(),
            "--to".to_owned(),
            spec(&new),
            "--rate".to_owned(),
            "400".to_owned(),
            "--quiet".to_owned(),
            "--state".to_owned(),
            state.display().to_string(),
        ]
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_redis-ring"))
        .env_remove("REDIS_RING_SHARDS")
        .args(args(&state))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&state).is_ok_and(|t| t.contains("shard1 done")) {
        assert!(Instant::now() < deadline, "no progress in the state file");
        assert!(
            child.try_wait().unwrap().is_none(),
            "migrate ended too early"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let dbsize = |i: usize| {
        let mut c =
            RawConn::connect(shards.servers()[i].socket_addr(), Duration::from_secs(5)).unwrap();
        match c.command(&["DBSIZE"]).unwrap() {
            Reply::Int(n) => n as u64,
            other => panic!("{other:?}"),
        }
    };
    let rest = dbsize(1) + dbsize(2);
    let out = Command::new(env!("CARGO_BIN_EXE_redis-ring"))
        .env_remove("REDIS_RING_SHARDS")
        .args(args(&state))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    // "migrated in ...: N keys scanned" (digits grouped by spaces).
    let scanned: u64 = stdout
        .split(": ")
        .nth(1)
        .and_then(|s| s.split(" keys scanned").next())
        .map(|n| n.replace(' ', ""))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stdout}"));
    assert!(
        scanned <= rest && dbsize(0) > 0,
        "the second run scanned {scanned} keys; shard2 and shard3 held {rest}: shard1 was scanned again"
    );
    let names: Vec<String> = new.iter().map(|(n, _)| n.clone()).collect();
    let specs: Vec<ShardSpec<'_>> = names.iter().map(|n| ShardSpec::new(n.as_str())).collect();
    let placement = Algorithm::default().build(&specs);
    let mut total = 0;
    for (s, server) in shards.servers().iter().enumerate() {
        let mut conn = RawConn::connect(server.socket_addr(), Duration::from_secs(5)).unwrap();
        for k in scan_all(&mut conn) {
            total += 1;
            assert_eq!(placement.shard_for(k.as_bytes()), Some(s), "{k}");
        }
    }
    assert_eq!(total, 3000);
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh directory under the system's temporary directory.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "redis-ring-migrate-test-{}-{}",
        std::process::id(),
        unix_ms()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `--migrating-from`: commands of the `redis-ring` binary itself use the window.
#[test]
fn cli_commands_with_a_window() {
    let shards = Shards::start(4).unwrap();
    let all = shards.named();
    let (old, new) = (all[..3].to_vec(), all.clone());
    let names =
        |s: &[(String, String)]| -> Vec<String> { s.iter().map(|(n, _)| n.clone()).collect() };
    let place = |s: &[(String, String)], k: &str| {
        let names = names(s);
        let specs: Vec<ShardSpec<'_>> = names.iter().map(|n| ShardSpec::new(n.as_str())).collect();
        Algorithm::default()
            .build(&specs)
            .shard_for(k.as_bytes())
            .unwrap()
    };
    let k = (0..)
        .map(key)
        .find(|k| place(&old, k) != place(&new, k))
        .unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_redis-ring"))
            .env_remove("REDIS_RING_SHARDS")
            .stdin(Stdio::null())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let (o, n) = (spec(&old), spec(&new));
    assert_eq!(cli(&["--shards", &o, "--raw", "set", &k, "41"]), "OK");
    assert_eq!(cli(&["--shards", &n, "--raw", "get", &k]), "");
    assert_eq!(
        cli(&["--shards", &n, "--migrating-from", &o, "--raw", "get", &k]),
        "41"
    );
    assert_eq!(
        cli(&["--shards", &n, "--migrating-from", &o, "--raw", "incr", &k]),
        "42"
    );
    // Moved by the INCR: the plain new ring sees it now.
    assert_eq!(cli(&["--shards", &n, "--raw", "get", &k]), "42");
}
