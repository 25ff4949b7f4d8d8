//! The `redis-ring` binary against real redis-servers from the harness: every subcommand,
//! the demo end to end, and `bench --json` parsed.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use redis_ring_core::placement::{Algorithm, Placement, ShardSpec};
use redis_ring_tests::harness::Reply;
use redis_ring_tests::{RedisServer, Shards};
use serde_json::Value as Json;

fn redis_ring() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redis-ring"));
    cmd.env_remove("REDIS_RING_SHARDS")
        .env_remove("REDIS_RING_PASSWORD")
        .stdin(Stdio::null());
    cmd
}

fn run(args: &[&str]) -> Output {
    redis_ring().args(args).output().expect("run redis-ring")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn shards_arg(shards: &Shards) -> String {
    shards
        .named()
        .iter()
        .map(|(n, a)| format!("{n}={a}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn locate_is_offline_and_agrees_with_where_the_ring_writes() {
    let shards = Shards::start(3).unwrap();
    let spec = shards_arg(&shards);
    let keys: Vec<String> = (0..24).map(|i| format!("user:{i}")).collect();
    for key in &keys {
        ok(&run(&["--shards", &spec, "set", key, "v"]));
    }
    // Names only, keys on stdin, shards from the environment: no address, no connection.
    let mut child = redis_ring()
        .env("REDIS_RING_SHARDS", "shard1,shard2,shard3")
        .arg("locate")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{}", keys.join("\n")).unwrap();
    }
    let out = ok(&child.wait_with_output().unwrap());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), keys.len(), "{out}");
    let mut used = std::collections::HashSet::new();
    for (line, key) in lines.iter().zip(&keys) {
        let (k, shard) = line.split_once('\t').expect("KEY<TAB>SHARD");
        assert_eq!(k, key);
        used.insert(shard.to_owned());
        let i: usize = shard.trim_start_matches("shard").parse::<usize>().unwrap() - 1;
        for (j, server) in shards.servers().iter().enumerate() {
            let there = server.command(&["EXISTS", key]).unwrap() == Reply::Int(1);
            assert_eq!(
                there,
                i == j,
                "{key}: locate says {shard}, found on shard{}",
                j + 1
            );
        }
    }
    assert_eq!(used.len(), 3, "24 keys should use every shard: {out}");
}

#[test]
fn locate_spread_and_diff() {
    let out = ok(&run(&["--shards", "a,b,c", "locate", "--spread", "30000"]));
    assert!(
        out.starts_with("30 000 random keys over 3 shards (rendezvous, seed 0):"),
        "{out}"
    );
    for name in ["a", "b", "c"] {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} "))),
            "{out}"
        );
    }
    let out = ok(&run(&[
        "--shards",
        "a,b,c",
        "--placement",
        "consistent-hash",
        "locate",
        "--diff",
        "a,b,c,d",
    ]));
    assert!(out.contains("(consistent-hash:100)"), "{out}");
    let pct: f64 = out
        .split(" keys move: ")
        .nth(1)
        .and_then(|r| r.split('%').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!((15.0..35.0).contains(&pct), "{out}");
    let out = run(&["--shards", "a,b", "locate"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no key to locate"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["locate", "k"]);
    assert!(
        text(&out.stderr).contains("--shards"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs `args` through redis-ring (against the single shard) and through redis-cli, and
/// expects the same stdout byte for byte.
fn same_as_redis_cli(server: &RedisServer, ring_opts: &[&str], cli_opts: &[&str], args: &[&str]) {
    let addr = server.addr();
    let spec = format!("only={addr}");
    let mut ours = vec!["--shards", spec.as_str()];
    ours.extend_from_slice(ring_opts);
    ours.extend_from_slice(args);
    let ours = run(&ours);
    let port = server.port().to_string();
    let theirs = Command::new("redis-cli")
        .args(["-p", &port])
        .args(cli_opts)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli (installed with redis-server) runs");
    assert_eq!(
        text(&ours.stdout),
        text(&theirs.stdout),
        "{args:?} with {ring_opts:?} / {cli_opts:?}; our stderr: {}",
        text(&ours.stderr)
    );
}

#[test]
fn replies_print_like_redis_cli() {
    let server = RedisServer::start().unwrap();
    for setup in [
        vec!["set", "foo", "a\nb\"c\u{1}"],
        vec![
            "rpush", "l", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
        ],
        vec!["hset", "h", "f", "1", "g", "2"],
        vec!["sadd", "s", "x"],
        vec!["zadd", "z", "1.5", "m"],
    ] {
        assert!(server.command(&setup).is_ok());
    }
    let cases: &[&[&str]] = &[
        &["get", "foo"],
        &["get", "missing"],
        &["strlen", "foo"],
        &["exists", "foo", "missing"],
        &["lrange", "l", "0", "-1"],
        &["lrange", "nothing", "0", "-1"],
        &["hgetall", "h"],
        &["smembers", "s"],
        &["zscore", "z", "m"],
        &["zrange", "z", "0", "-1", "withscores"],
        &["set", "k", "v"],
    ];
    for case in cases {
        same_as_redis_cli(&server, &["--resp", "2", "--no-raw"], &["--no-raw"], case);
        same_as_redis_cli(&server, &["--resp", "2", "--raw"], &["--raw"], case);
        same_as_redis_cli(
            &server,
            &["--resp", "3", "--no-raw"],
            &["-3", "--no-raw"],
            case,
        );
        same_as_redis_cli(&server, &["--resp", "3", "--raw"], &["-3", "--raw"], case);
    }
}

#[test]
fn errors_are_one_line_on_stderr_with_a_non_zero_exit() {
    let shards = Shards::start(3).unwrap();
    let spec = shards_arg(&shards);
    // An error reply from the server.
    let out = run(&["--shards", &spec, "bogus", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).starts_with("(error) ERR unknown command 'bogus'"),
        "{}",
        text(&out.stderr)
    );
    // RENAME across shards is refused before anything is sent: find two keys on different
    // shards with locate.
    let located = ok(&run(&[
        "--shards",
        "shard1,shard2,shard3",
        "locate",
        "a",
        "b",
        "c",
        "d",
        "e",
    ]));
    let pairs: Vec<(&str, &str)> = located
        .lines()
        .map(|l| l.split_once('\t').unwrap())
        .collect();
    let (a, sa) = pairs[0];
    let (b, sb) = *pairs
        .iter()
        .find(|(_, s)| *s != sa)
        .expect("two shards among 5 keys");
    ok(&run(&["--shards", &spec, "set", a, "1"]));
    let out = run(&["--shards", &spec, "rename", a, b]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("RENAME") && err.contains(sa) && err.contains(sb),
        "{err}"
    );
    assert!(err.contains("hash tag"), "{err}");
    assert_eq!(
        ok(&run(&["--shards", &spec, "--raw", "get", a])),
        "1\n",
        "nothing renamed"
    );
    // Hash tags keep keys together: that rename works.
    ok(&run(&["--shards", &spec, "set", "{t}a", "1"]));
    assert_eq!(
        ok(&run(&["--shards", &spec, "rename", "{t}a", "{t}b"])),
        "OK\n"
    );
    // Option errors.
    let out = run(&["--shards", "a,b", "get", "k"]);
    assert!(
        text(&out.stderr).contains("shard `a` has no address"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["--shards", &spec, "--timeout", "5", "get", "k"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2 (clap)");
    assert!(
        text(&out.stderr).contains("has no unit"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["get", "k"]);
    assert!(
        text(&out.stderr).contains("--shards NAME=HOST:PORT"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn password_from_the_environment_is_used_and_never_printed() {
    let server =
        RedisServer::start_with(redis_ring_tests::ServerOptions::new().password("s3cret-pw"))
            .unwrap();
    let spec = format!("one={}", server.addr());
    let out = redis_ring()
        .env("REDIS_RING_PASSWORD", "s3cret-pw")
        .args(["--shards", &spec, "set", "k", "v"])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "OK\n");
    let help = redis_ring()
        .env("REDIS_RING_PASSWORD", "s3cret-pw")
        .arg("--help")
        .output()
        .unwrap();
    assert!(!text(&help.stdout).contains("s3cret-pw"));
    assert!(text(&help.stdout).contains("REDIS_RING_PASSWORD"));
}

#[test]
fn shards_shows_each_shard_and_fails_when_one_is_down() {
    let mut shards = Shards::start(2).unwrap();
    let spec = shards_arg(&shards);
    for i in 0..5 {
        assert!(shards.servers()[0]
            .command(&["SET", &format!("k{i}"), "v"])
            .is_ok());
    }
    let out = ok(&run(&["--shards", &spec, "shards"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("shard") && lines[0].contains("ping"),
        "{out}"
    );
    let row1: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row1[0], "shard1");
    assert_eq!(row1[2], "up");
    assert!(row1[3].parse::<f64>().is_ok() && row1[4] == "ms", "{out}");
    assert_eq!(row1[5], "5", "DBSIZE: {out}");
    shards.server(1).kill();
    let out = run(&["--shards", &spec, "shards"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let row2 = stdout.lines().find(|l| l.starts_with("shard2")).unwrap();
    assert!(
        row2.contains("DOWN") || row2.contains("failing"),
        "{stdout}"
    );
    assert!(row2.contains("refused"), "{stdout}");
}

fn bench_json(args: &[&str]) -> Json {
    let out = ok(&run(args));
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn check_bench_json(j: &Json, duration_ms: u64) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let start = j["start_unix_ms"].as_u64().unwrap();
    assert!(start <= now_ms && now_ms - start < 60_000, "{j}");
    let ops = j["ops"].as_u64().unwrap();
    let errors = j["errors"].as_u64().unwrap();
    assert!(ops > 100, "{j}");
    assert!(j["ops_per_sec"].as_f64().unwrap() > 0.0);
    let (p50, p99, max) = (
        j["p50_us"].as_u64().unwrap(),
        j["p99_us"].as_u64().unwrap(),
        j["max_us"].as_u64().unwrap(),
    );
    assert!(0 < p50 && p50 <= p99 && p99 <= max, "{j}");
    let timeline = j["timeline"].as_array().unwrap();
    let expected = (duration_ms / 250) as usize;
    assert!((expected..=expected + 2).contains(&timeline.len()), "{j}");
    let (mut ok_sum, mut err_sum) = (0, 0);
    for (i, b) in timeline.iter().enumerate() {
        assert_eq!(b["t_ms"].as_u64().unwrap(), i as u64 * 250);
        ok_sum += b["ok"].as_u64().unwrap();
        err_sum += b["err"].as_u64().unwrap();
        assert!(b["max_us"].as_u64().unwrap() <= max);
    }
    assert_eq!(ok_sum + err_sum, ops);
    assert_eq!(err_sum, errors);
    assert!(j["events"].is_array());
}

#[test]
fn bench_json_with_our_driver_and_with_redis_rs() {
    let shards = Shards::start(2).unwrap();
    let spec = shards_arg(&shards);
    let plot = tempfile_path("bench.svg");
    let j = bench_json(&[
        "--shards",
        &spec,
        "bench",
        "--duration",
        "1s",
        "--concurrency",
        "4",
        "--json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    check_bench_json(&j, 1000);
    assert_eq!(j["errors"], 0, "{j}");
    assert_eq!(j["client"], "redis-ring");
    assert_eq!(j["events"], serde_json::json!([]));
    // Per shard, from the client's own counters: they add up to the run's operations.
    let per_shard = j["shards"].as_array().unwrap();
    assert_eq!(per_shard.len(), 2, "{j}");
    let sum: u64 = per_shard.iter().map(|s| s["ops"].as_u64().unwrap()).sum();
    assert_eq!(sum, j["ops"].as_u64().unwrap(), "{j}");
    for s in per_shard {
        assert_eq!(s["state"], "up", "{j}");
        assert_eq!(s["errors"], 0, "{j}");
        assert!(s["p50_us"].as_u64().unwrap() <= s["p99_us"].as_u64().unwrap());
        assert!(s["name"].as_str().unwrap().starts_with("shard"));
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("ok / s"));
    assert!(svg.contains("shard1 commands / s"), "per-shard lines");
    let j = bench_json(&[
        "--shards",
        &spec,
        "bench",
        "--duration",
        "750ms",
        "--mode",
        "pipeline",
        "--pipeline",
        "8",
        "-c",
        "2",
        "--client",
        "redis-rs",
        "--op",
        "set",
        "--json",
    ]);
    check_bench_json(&j, 750);
    assert_eq!(j["errors"], 0, "{j}");
    assert_eq!(j["client"], "redis-rs");
    assert_eq!(j["pipeline"], 8);
    // Every SET landed where our placement (rendezvous over the shard names, computed here
    // independently of the CLI) puts it: each server holds only keys it owns.
    let names: Vec<String> = shards.named().into_iter().map(|(n, _)| n).collect();
    let specs: Vec<ShardSpec<'_>> = names.iter().map(|n| ShardSpec::new(n.as_str())).collect();
    let placement = Algorithm::Rendezvous.build(&specs);
    let mut total = 0;
    for (i, server) in shards.servers().iter().enumerate() {
        let Reply::Array(Some(keys)) = server.command(&["KEYS", "key:*"]).unwrap() else {
            panic!("KEYS on {}", names[i]);
        };
        for key in keys {
            let Reply::Bulk(Some(key)) = key else {
                panic!("{key:?}")
            };
            assert_eq!(
                placement.shard_for(&key),
                Some(i),
                "{} is on {}",
                String::from_utf8_lossy(&key),
                names[i]
            );
            total += 1;
        }
    }
    assert!(total > 100, "only {total} keys written");
    // The three ways the smol bench runs the ring, each named in the JSON with its set-up.
    for (driver, setup) in [
        ("smol", "a thread of its own"),
        ("smol-block-on", "Ring::block_on"),
        ("smol-global", "global executor"),
    ] {
        let j = bench_json(&[
            "--shards",
            &spec,
            "bench",
            "--duration",
            "500ms",
            "-c",
            "8",
            "--driver",
            driver,
            "--json",
        ]);
        check_bench_json(&j, 500);
        assert_eq!(
            (j["driver"].as_str(), j["errors"].as_u64()),
            (Some(driver), Some(0)),
            "{j}"
        );
        assert!(j["setup"].as_str().unwrap().contains(setup), "{j}");
    }
    // Human output.
    let out = ok(&run(&[
        "--shards",
        &spec,
        "bench",
        "--duration",
        "300ms",
        "--mode",
        "seq",
    ]));
    assert!(
        out.contains("seq mode, 1 caller") && out.contains("ops/s") && out.contains("p99"),
        "{out}"
    );
}

#[test]
fn bench_sees_a_shard_die_and_come_back() {
    let mut shards = Shards::start(3).unwrap();
    let spec = shards_arg(&shards);
    let child = redis_ring()
        .args([
            "--shards",
            &spec,
            "--timeout",
            "500ms",
            "bench",
            "--duration",
            "8s",
            "-c",
            "8",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill shard2 once the load reaches it (not after a guessed delay from the spawn), and
    // restart it 2 s later (detection takes a few hundred ms: a wide margin).
    let reached = (0..1_000).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        matches!(shards.server(1).command(&["DBSIZE"]), Ok(Reply::Int(n)) if n > 0)
    });
    assert!(reached, "the bench never wrote to shard2");
    let unix_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    };
    let killed = unix_ms();
    shards.server(1).kill();
    std::thread::sleep(Duration::from_secs(2));
    let restarted = unix_ms();
    shards.server(1).restart().unwrap();
    let out = child.wait_with_output().unwrap();
    let j: Json = serde_json::from_str(ok(&out).trim()).unwrap();
    check_bench_json(&j, 8000);
    let events = j["events"].as_array().unwrap();
    let down = events
        .iter()
        .find(|e| e["shard"] == "shard2" && e["state"] == "down")
        .unwrap_or_else(|| panic!("no down event: {j}"));
    let up = events
        .iter()
        .find(|e| e["shard"] == "shard2" && e["state"] == "up")
        .unwrap_or_else(|| panic!("no up event: {j}"));
    let (t_down, t_up) = (down["t_ms"].as_u64().unwrap(), up["t_ms"].as_u64().unwrap());
    // On the bench's clock: down after the kill, up after the restart (the wall clock
    // joins the two; 5 ms for rounding).
    let start = j["start_unix_ms"].as_u64().unwrap();
    assert!(
        start + t_down + 5 >= killed,
        "down before the kill: {events:?}"
    );
    assert!(
        start + t_up + 5 >= restarted,
        "up before the restart: {events:?}"
    );
    assert!(t_up > t_down, "{events:?}");
    // The other shards kept serving while shard2 was down: no empty bucket.
    let timeline = j["timeline"].as_array().unwrap();
    let during = &timeline[(t_down / 250) as usize + 1..(t_up / 250) as usize];
    assert!(
        during.iter().all(|b| b["ok"].as_u64().unwrap() > 0),
        "{timeline:?}"
    );
}

fn tempfile_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("redis-ring-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn demo_runs_end_to_end_and_cleans_up() {
    let t0 = Instant::now();
    let out = run(&["demo", "--keys", "6000", "--rate", "3000"]);
    let took = t0.elapsed();
    let stdout = ok(&out);
    for needle in [
        "Starting 3 temporary redis-server shards",
        "killed shard2 (SIGKILL)",
        "shard2 is DOWN",
        "restarted shard2",
        "shard2 is UP",
        "time to detect",
        "time to heal",
        "error window",
        "went to the others",
        "read back",
        "Stopped the 3 temporary shards",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    // A wide margin (it takes a few seconds; a loaded machine may take several times that).
    assert!(took < Duration::from_secs(120), "demo took {took:?}");
    // Every redis-server the demo started is gone.
    let pids: Vec<u32> = stdout
        .lines()
        .filter_map(|l| l.split("(pid ").nth(1))
        .filter_map(|r| r.trim_end_matches(')').parse().ok())
        .collect();
    assert_eq!(pids.len(), 3, "{stdout}");
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists() || is_zombie_or_other(pid),
            "redis-server {pid} survived the demo"
        );
    }
}

#[test]
fn demo_fail_fast_moves_no_key() {
    let out = run(&[
        "--failure-policy",
        "fail-fast",
        "demo",
        "--keys",
        "6000",
        "--rate",
        "3000",
    ]);
    let stdout = ok(&out);
    for needle in [
        "Failure policy fail-fast",
        "shard2 is DOWN",
        "its keys fail at once (ShardDown), none moves",
        "shard2 is UP",
        "failed at once with ShardDown (fail-fast: none moved)",
        "Fail-fast mode:",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("went to the others"), "{stdout}");
}

/// A pid can be reused by another process quickly; only a redis-server counts as a survivor.
fn is_zombie_or_other(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .map(|c| !c.contains("redis-server"))
        .unwrap_or(true)
}

#[test]
fn demo_against_given_shards_kills_nothing_and_deletes_its_keys() {
    let mut shards = Shards::start(2).unwrap();
    assert!(shards.servers()[0]
        .command(&["SET", "mine", "keep"])
        .is_ok());
    let spec = shards_arg(&shards);
    let stdout = ok(&run(&[
        "--shards", &spec, "demo", "--keys", "3000", "--rate", "0",
    ]));
    assert!(stdout.contains("nothing will be killed"), "{stdout}");
    assert!(!stdout.contains("killed shard"), "{stdout}");
    assert!(stdout.contains("3 000 of 3 000 keys found"), "{stdout}");
    assert!(stdout.contains("Deleted 3 000 demo keys"), "{stdout}");
    for i in 0..2 {
        assert!(shards.server(i).is_running());
    }
    let sizes: Vec<Reply> = shards
        .servers()
        .iter()
        .map(|s| s.command(&["DBSIZE"]).unwrap())
        .collect();
    assert_eq!(
        sizes,
        [Reply::Int(1), Reply::Int(0)],
        "only the user's key is left"
    );
}

#[test]
fn demo_says_clearly_when_redis_server_is_missing() {
    let out = redis_ring()
        .env("REDIS_SERVER", "/nonexistent/redis-server")
        .args(["demo", "--keys", "10"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot start redis-server") && err.contains("REDIS_SERVER"),
        "{err}"
    );
}

#[test]
fn fan_out_commands_go_to_every_shard_and_print_per_shard() {
    let shards = Shards::start(3).unwrap();
    let s = shards_arg(&shards);
    // Different key counts per server, written directly so each shard's DBSIZE is known.
    for (i, server) in shards.servers().iter().enumerate() {
        for k in 0..=i {
            server
                .command(&["SET", &format!("direct:{k}"), "v"])
                .unwrap();
        }
    }
    // Raw: values only, in shard order (as redis-cli prints them: no shard names).
    let out = ok(&run(&["--shards", &s, "--raw", "dbsize"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["1", "2", "3"], "{out}");
    let out = ok(&run(&["--shards", &s, "--no-raw", "dbsize"]));
    assert!(out.contains("\"shard2\" => (integer) 2"), "{out}");
    // FLUSHDB reaches every shard, not one random shard.
    ok(&run(&["--shards", &s, "flushdb"]));
    for server in shards.servers() {
        assert_eq!(server.command(&["DBSIZE"]).unwrap(), Reply::Int(0));
    }
}

#[test]
fn top_json_reports_every_shard_each_refresh() {
    let mut shards = Shards::start(2).unwrap();
    let spec = shards_arg(&shards);
    for i in 0..10 {
        let key = format!("top:{i}");
        shards.servers()[0].command(&["SET", &key, "v"]).unwrap();
    }
    // shard2 is gone before top starts: its row says why, refresh after refresh.
    shards.server(1).kill();
    let out = ok(&run(&[
        "--shards",
        &spec,
        "--timeout",
        "500ms",
        "top",
        "--duration",
        "1500ms",
        "--interval",
        "500ms",
        "--json",
    ]));
    let objects: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!((2..=4).contains(&objects.len()), "{out}");
    let mut last_t = 0;
    for j in &objects {
        let t = j["t_ms"].as_u64().unwrap();
        assert!(t > last_t, "{out}");
        last_t = t;
        let rows = j["shards"].as_array().unwrap();
        assert_eq!(rows.len(), 2, "{j}");
        let (s1, s2) = (&rows[0], &rows[1]);
        assert_eq!(s1["name"], "shard1");
        assert_eq!(s1["state"], "up", "{j}");
        assert_eq!(s1["keys"], 10, "{j}");
        assert!(s1["memory_bytes"].as_u64().unwrap() > 0, "{j}");
        assert!(s1["ops_per_sec"].as_f64().unwrap() >= 0.0, "{j}");
        assert_eq!(s1["errors_per_sec"], 0.0, "{j}");
        assert!(s1["p50_us"].as_u64().unwrap() <= s1["p99_us"].as_u64().unwrap());
        assert_eq!(s1["error"], Json::Null, "{j}");
        assert_eq!(s2["name"], "shard2");
        assert!(s2["error"].is_string(), "{j}");
        assert_eq!(s2["keys"], Json::Null, "{j}");
    }
}

/// Issue 17, item 9: `locate` reproduces a twemproxy pool (nutcracker 0.5.0, captured by
/// `core/tests/twemproxy_capture.py`: `hash: fnv1a_64`, `hash_tag: "$$"`, weights 1..4,
/// server names s1, s2, redis-three:6379, shard4), the empty key included.
#[test]
fn locate_matches_a_twemproxy_pool() {
    let out = ok(&run(&[
        "--shards",
        "s1=127.0.0.1:1:1,s2=127.0.0.1:2:2,redis-three:6379=127.0.0.1:3:3,shard4=127.0.0.1:4:4",
        "--placement",
        "ketama:fnv1a_64",
        "--hash-tag",
        "$$",
        "locate",
        "$tag0$rest",
        "$tag1$rest",
        "{user3}:x",
        "key:5",
        "",
    ]));
    assert_eq!(
        out,
        "$tag0$rest\ts2\n$tag1$rest\ts2\n{user3}:x\ts1\nkey:5\tredis-three:6379\n\tshard4\n"
    );
}

/// Issue 17, item 10: a password inside a shard URL never leaves the process: every output
/// of every subcommand (tables, raw replies, JSON, the SVG, errors, --help with the
/// environment variable set) is searched for it.
#[test]
fn a_password_in_a_shard_url_is_never_printed() {
    const SECRET: &str = "s3cretpw";
    let options = redis_ring_tests::ServerOptions::new().password(SECRET);
    let shards = Shards::start_with(2, &options).unwrap();
    let spec = shards
        .named()
        .iter()
        .map(|(n, a)| format!("{n}=redis://default:{SECRET}@{a}/0"))
        .collect::<Vec<_>>()
        .join(",");
    let down = format!("a=redis://default:{SECRET}@127.0.0.1:1/0");
    let plot = tempfile_path("secret.svg");
    let runs: Vec<Vec<String>> = [
        vec!["--shards", &spec, "shards"],
        vec!["--shards", &spec, "--no-raw", "shards"],
        vec!["--shards", &spec, "set", "k", "v"],
        vec!["--shards", &spec, "get", "k"],
        vec!["--shards", &spec, "--no-raw", "keys", "*"],
        vec!["--shards", &spec, "dbsize"],
        vec!["--shards", &spec, "locate", "k"],
        vec![
            "--shards",
            &spec,
            "bench",
            "--duration",
            "500ms",
            "--json",
            "--plot",
            plot.to_str().unwrap(),
        ],
        vec!["--shards", &spec, "bench", "--duration", "300ms"],
        vec!["--shards", &down, "get", "k"],
        vec!["--shards", &down, "shards"],
        vec!["--shards", &down, "bench", "--duration", "300ms", "--json"],
        vec!["--shards", &format!("{down},=x"), "shards"],
        vec!["--shards", &format!("{down},{down}"), "shards"],
        vec!["--shards", &format!("redis://u:{SECRET}@h:1"), "shards"],
    ]
    .iter()
    .map(|v| v.iter().map(|s| s.to_string()).collect())
    .collect();
    let mut outputs = 0;
    for args in &runs {
        let out = redis_ring().args(args).output().expect("run redis-ring");
        for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let t = text(bytes);
            assert!(
                !t.contains(SECRET),
                "{args:?} printed the password on {what}:\n{t}"
            );
            outputs += usize::from(!t.is_empty());
        }
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(!svg.contains(SECRET));
    // --help with the shards in the environment.
    let out = redis_ring()
        .env("REDIS_RING_SHARDS", &spec)
        .arg("--help")
        .output()
        .unwrap();
    assert!(!text(&out.stdout).contains(SECRET), "{}", text(&out.stdout));
    // The redacted form is what shows, and the URL's own password is used by the probes.
    let out = ok(&run(&["--shards", &spec, "--no-raw", "shards"]));
    assert!(out.contains("redis://default:***@127.0.0.1:"), "{out}");
    assert!(!out.contains("DOWN") && !out.contains("failing"), "{out}");
    assert!(outputs >= runs.len(), "too many silent runs");
}

/// Issue 17, item 7: piped (raw) output of fan-out commands is values only, one per line, as
/// redis-cli prints them; `--scan` lists every key of the ring once; `scan CURSOR` is refused
/// with a pointer to `--scan`.
#[test]
fn raw_output_is_values_only_and_scan_covers_the_ring() {
    let shards = Shards::start(3).unwrap();
    let spec = shards_arg(&shards);
    let keys: Vec<String> = (0..30)
        .map(|i| format!("{}{i}", if i % 2 == 0 { "f" } else { "g" }))
        .collect();
    for k in &keys {
        ok(&run(&["--shards", &spec, "set", k, "v"]));
    }
    let sorted = |out: String| {
        let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    let mut want = keys;
    want.sort();
    // Piped stdout: raw by default; no shard name, no blank line.
    assert_eq!(sorted(ok(&run(&["--shards", &spec, "keys", "*"]))), want);
    let sizes = ok(&run(&["--shards", &spec, "dbsize"]));
    let total: u64 = sizes.lines().map(|l| l.parse::<u64>().unwrap()).sum();
    assert_eq!(total, 30, "{sizes}");
    // --scan: every key once, with the pattern and count hints.
    assert_eq!(sorted(ok(&run(&["--shards", &spec, "--scan"]))), want);
    let f: Vec<String> = want
        .iter()
        .filter(|k| k.starts_with('f'))
        .cloned()
        .collect();
    assert_eq!(
        sorted(ok(&run(&[
            "--shards",
            &spec,
            "--scan",
            "--pattern",
            "f*",
            "--count",
            "2"
        ]))),
        f
    );
    // A shard cursor is meaningless for the ring: refused, pointing at --scan.
    let out = run(&["--shards", &spec, "scan", "0"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--scan"),
        "{}",
        text(&out.stderr)
    );
    assert!(run(&["--pattern", "x"]).status.code() == Some(2));
}

#[test]
fn tls_flags_mirror_redis_cli() {
    use redis_ring_tests::tls::{Pki, ServerTls};
    use redis_ring_tests::ServerOptions;
    let pki = Pki::shared();
    let mut tls = ServerTls::shared();
    tls.auth_clients = "yes";
    let server = RedisServer::start_with(ServerOptions::new().tls(tls)).unwrap();
    let dir = server.dir();
    let file = |name: &str, body: &str| {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    };
    let ca = file("client-ca.crt", &pki.ca);
    let cert = file("client.crt", &pki.client.cert);
    let key = file("client.key", &pki.client.key);
    let shards = format!("a={}", server.addr());
    let tls_args = ["--tls", "--cacert", &ca, "--cert", &cert, "--key", &key];
    let with = |extra: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = tls_args.iter().map(|s| (*s).to_owned()).collect();
        all.extend(["--shards".to_owned(), shards.clone()]);
        all.extend(extra.iter().map(|s| (*s).to_owned()));
        all
    };
    ok(&redis_ring()
        .args(with(&["set", "tls:cli", "v"]))
        .output()
        .expect("run redis-ring"));
    let got = ok(&redis_ring()
        .args(with(&["get", "tls:cli"]))
        .output()
        .unwrap());
    assert_eq!(got.trim(), "v");
    // rediss:// turns TLS on without --tls; the other flags still apply to it.
    let url = format!("a=rediss://127.0.0.1:{}", server.port());
    let got = ok(&run(&[
        "--cacert", &ca, "--cert", &cert, "--key", &key, "--shards", &url, "get", "tls:cli",
    ]));
    assert_eq!(got.trim(), "v");
    // The system's roots do not know the test CA: a one-line error naming the cause.
    let out = run(&[
        "--tls",
        "--timeout",
        "1s",
        "--shards",
        &shards,
        "get",
        "tls:cli",
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("unknown issuer"), "{err}");
    // --insecure skips verification (the client certificate is still needed here).
    let got = ok(&run(&[
        "--tls",
        "--insecure",
        "--cert",
        &cert,
        "--key",
        &key,
        "--shards",
        &shards,
        "get",
        "tls:cli",
    ]));
    assert_eq!(got.trim(), "v");
}

/// Sentinel shards on the command line (commas between Sentinels stay inside a URL; a
/// comma followed by `NAME=` starts the next shard), `shards` showing each primary and
/// replica, commands, `bench`.
#[test]
fn sentinel_shards_on_the_command_line() {
    let sh = redis_ring_tests::SentinelShards::start(2).unwrap();
    let spec = sh
        .named()
        .iter()
        .map(|(n, a)| format!("{n}={a}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(spec.matches("redis-sentinel://").count(), 2, "{spec}");
    let out = ok(&run(&["--shards", &spec, "shards"]));
    eprintln!("{out}");
    for (i, [p, r]) in sh.data.iter().enumerate() {
        let primary = out
            .lines()
            .find(|l| l.starts_with(&format!("shard{} ", i + 1)))
            .unwrap_or_else(|| panic!("no row for shard{}: {out}", i + 1));
        assert!(primary.contains(&format!("primary {}", p.addr())), "{out}");
        assert!(primary.contains(" up "), "{out}");
        assert!(
            out.lines()
                .any(|l| l.contains(&format!("replica {}", r.addr())) && l.contains("replica ")),
            "{out}"
        );
    }
    assert_eq!(
        ok(&run(&["--shards", &spec, "set", "s:k", "v"])).trim(),
        "OK"
    );
    assert_eq!(ok(&run(&["--shards", &spec, "get", "s:k"])).trim(), "v");
    let j = bench_json(&["--shards", &spec, "bench", "--duration", "1s", "--json"]);
    check_bench_json(&j, 1000);
    assert_eq!(j["errors"].as_u64(), Some(0), "{j}");
}

#[test]
fn demo_sentinel_follows_a_failover() {
    let out = run(&["demo", "--sentinel", "--keys", "1000", "--rate", "2000"]);
    let stdout = ok(&out);
    eprintln!("{stdout}");
    for needle in [
        "3 Sentinels",
        "killed shard1's primary (SIGKILL)",
        "the Sentinels promoted the replica",
        "the ring writes to the new primary",
        "0 other errors",
        "written before the kill: 0 lost",
        "Stopped the servers and Sentinels",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

/// A plain shard's replicas listed in `--shards` (`?replica=`, commas kept): `shards` shows
/// them, `--read-from prefer-replica` reads there, and the default reads the primary.
#[test]
fn listed_replicas_on_the_command_line() {
    use redis_ring_tests::ServerOptions;
    let primary = RedisServer::start().unwrap();
    let r1 = RedisServer::start_with(ServerOptions::new().replica_of(&primary)).unwrap();
    let r2 = RedisServer::start_with(ServerOptions::new().replica_of(&primary)).unwrap();
    let other = RedisServer::start().unwrap();
    let spec = format!(
        "a=redis://{}?replica={},{},b={}",
        primary.addr(),
        r1.addr(),
        r2.addr(),
        other.addr()
    );
    let out = ok(&run(&["--shards", &spec, "shards"]));
    eprintln!("{out}");
    for r in [&r1, &r2] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("  a ") && l.contains(&format!("replica {}", r.addr()))),
            "{out}"
        );
    }
    // Keys of shard a, written through the ring, then on the replicas.
    let keys: Vec<String> = (0..)
        .map(|i| format!("listed:{i}"))
        .filter(|k| {
            let names = [ShardSpec::new("a"), ShardSpec::new("b")];
            Algorithm::default().build(&names).shard_for(k.as_bytes()) == Some(0)
        })
        .take(3)
        .collect();
    for k in &keys {
        assert_eq!(ok(&run(&["--shards", &spec, "set", k, "v"])).trim(), "OK");
    }
    let synced = |s: &RedisServer| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while s.command(&["GET", &keys[2]]).unwrap() != Reply::Bulk(Some(b"v".to_vec())) {
            assert!(Instant::now() < deadline, "a replica did not catch up");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    synced(&r1);
    synced(&r2);
    let gets = |s: &RedisServer| match s.command(&["INFO", "commandstats"]).unwrap() {
        Reply::Bulk(Some(info)) => String::from_utf8_lossy(&info)
            .lines()
            .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
            .and_then(|rest| rest.split(',').next()?.parse::<u64>().ok())
            .unwrap_or(0),
        other => panic!("INFO: {other:?}"),
    };
    let before = gets(&r1) + gets(&r2);
    for k in &keys {
        let out = ok(&run(&[
            "--read-from",
            "prefer-replica",
            "--shards",
            &spec,
            "get",
            k,
        ]));
        assert_eq!(out.trim(), "v");
    }
    assert_eq!(gets(&r1) + gets(&r2) - before, 3, "reads on the replicas");
    let before = gets(&primary);
    assert_eq!(ok(&run(&["--shards", &spec, "get", &keys[0]])).trim(), "v");
    assert_eq!(gets(&primary) - before, 1, "the default reads the primary");
}
