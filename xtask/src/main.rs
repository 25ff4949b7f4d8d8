//! `cargo xtask <command>`: the project's set-up and chores.
//!
//! * `test [--server BIN]`: the one test command (fmt, clippy, no_std build, every test,
//!   the scenario suite again over TLS for every driver, the published crates packaged and
//!   documented with warnings denied, fuzz corpora), after making sure a `redis-server` 6.2+
//!   is available. `--server valkey-server` (or `REDIS_SERVER=...`) runs every real-server
//!   test against another binary, such as Valkey 8.
//! * `demo`: the same redis-server check, then `redis-ring demo`.
//! * `fuzz [--time SECS] [TARGET...]`: every fuzz target (or those named) for SECS seconds
//!   each with `cargo +nightly fuzz` (see `fuzz.rs`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

mod fuzz;
mod redis;

const NO_STD_TARGET: &str = "thumbv7em-none-eabihf";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("demo") => demo(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        None | Some("help" | "-h" | "--help") => {
            println!(
                "usage: cargo xtask <test [--server BIN]|demo [ARGS...]|fuzz [--time SECS] [TARGET...]>"
            );
            println!(
                "  test   fmt, clippy, no_std build of core, all tests with real redis-servers"
            );
            println!(
                "         (--server valkey-server: against Valkey, or any redis-server binary)"
            );
            println!("  demo   start 3 local shards and show the ring at work (redis-ring demo)");
            println!(
                "  fuzz   run fuzz targets with cargo +nightly fuzz (default: all, 60 s each)"
            );
            Ok(())
        }
        Some(other) => Err(format!("unknown xtask `{other}` (try `cargo xtask help`)")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root())
        // Tags this run's harness servers (see `harness::RUN_ENV`): the leftover check
        // below then ignores other runs on the same machine.
        .env(redis_ring_tests::harness::RUN_ENV, run_tag());
    cmd
}

/// This run's tag for the harness's server directories: the xtask's pid.
fn run_tag() -> String {
    std::process::id().to_string()
}

/// Runs `cmd`, failing with the command line when it does not succeed.
fn run(cmd: &mut Command) -> Result<(), String> {
    let line = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {line}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{line} failed with {status}"))
    }
}

/// Runs `cmd` and returns its standard output, failing with the command line and its
/// standard error when it does not succeed.
fn output_of(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let line = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {line}: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{line} failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

struct Steps {
    done: Vec<(String, Duration)>,
}

impl Steps {
    fn run<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
        println!("\n==> {name}");
        let start = Instant::now();
        let result = f();
        let took = start.elapsed();
        self.done.push((
            format!("{name}{}", if result.is_ok() { "" } else { "  FAILED" }),
            took,
        ));
        result
    }

    fn summary(&self) {
        println!("\n==> summary");
        let total: Duration = self.done.iter().map(|(_, d)| *d).sum();
        for (name, took) in &self.done {
            println!("  {:>8.1}s  {name}", took.as_secs_f64());
        }
        println!("  {:>8.1}s  total", total.as_secs_f64());
    }
}

fn test(args: &[String]) -> Result<(), String> {
    match args {
        [] => {}
        [flag, bin] if flag == "--server" => {
            // Read by `redis::ensure` and handed to every test (the harness reads it too).
            env::set_var("REDIS_SERVER", bin);
        }
        _ => return Err("usage: cargo xtask test [--server BIN]".into()),
    }
    let mut steps = Steps { done: Vec::new() };
    let result = run_tests(&mut steps);
    steps.summary();
    result
}

fn run_tests(steps: &mut Steps) -> Result<(), String> {
    // Name this run in the harness's server directories: the leftover check below then sees
    // only this run's servers (other checkouts may be testing beside it).
    env::set_var(
        redis_ring_tests::harness::RUN_ENV,
        std::process::id().to_string(),
    );
    let redis = steps.run("redis-server 6.2+ available", redis::ensure)?;
    println!("using {} ({})", redis.path.display(), redis.version);
    steps.run("cargo fmt --all --check", || {
        run(cargo().args(["fmt", "--all", "--check"]))
    })?;
    steps.run(
        "cargo clippy --workspace --all-targets -- -D warnings",
        || {
            run(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        },
    )?;
    steps.run(&format!("no_std build of core for {NO_STD_TARGET}"), || {
        ensure_target(NO_STD_TARGET)?;
        run(cargo().args([
            "build",
            "-p",
            "redis-ring-core",
            "--no-default-features",
            "--target",
            NO_STD_TARGET,
        ]))
    })?;
    steps.run("cargo test --workspace --all-targets", || {
        run(cargo()
            .args(["test", "--workspace", "--all-targets"])
            .env("REDIS_SERVER", &redis.path))
    })?;
    // The optional instrumentation (off in the workspace build above), in every driver that
    // has the shared instrumentation test: lint it (and the shared layer) with the features,
    // then run that test.
    steps.run(
        "every driver --features tracing,metrics: clippy, instrumentation test",
        || {
            // The shared layer, where the instrumentation lives.
            run(cargo()
                .args(["clippy", "--all-targets", "-p", "redis-ring-driver"])
                .args(["--features", "tracing,metrics", "--", "-D", "warnings"]))?;
            for (package, test) in driver_tests("instrumentation")? {
                let features = ["-p", &package, "--features", "tracing,metrics"];
                run(cargo()
                    .args(["clippy", "--all-targets"])
                    .args(features)
                    .args(["--", "-D", "warnings"]))?;
                run(cargo()
                    .args(["test", "--test", &test])
                    .args(features)
                    .env("REDIS_SERVER", &redis.path))?;
            }
            Ok(())
        },
    )?;
    steps.run("scenario suite over TLS, every driver", || {
        for (package, test) in driver_tests("scenarios")? {
            run(cargo()
                .args(["test", "-p", &package, "--test", &test])
                .env("REDIS_RING_TLS", "1")
                .env("REDIS_SERVER", &redis.path))?;
        }
        Ok(())
    })?;
    steps.run("cargo test --workspace --doc", || {
        run(cargo().args(["test", "--workspace", "--doc"]))
    })?;
    let published = steps.run("published crates: cargo metadata", published_crates)?;
    println!("published crates: {}", published.join(", "));
    let selected: Vec<String> = published
        .iter()
        .flat_map(|p| ["-p".into(), p.clone()])
        .collect();
    steps.run(
        "published crates package (cargo package --no-verify)",
        || {
            // Offline first (the index cache holds every dependency after the build above).
            let package = |offline: bool| {
                let mut cmd = cargo();
                cmd.args(["package", "--no-verify", "--allow-dirty", "--quiet"])
                    .args(&selected);
                if offline {
                    cmd.arg("--offline");
                }
                run(&mut cmd)
            };
            package(true).or_else(|_| package(false))
        },
    )?;
    steps.run("published crates carry both license texts", || {
        published.iter().try_for_each(|p| license_texts_packaged(p))
    })?;
    steps.run(
        "published crates' docs (RUSTDOCFLAGS=\"-D warnings\" cargo doc --no-deps)",
        || {
            run(cargo()
                .args(["doc", "--no-deps", "--quiet"])
                .args(&selected)
                .env("RUSTDOCFLAGS", "-D warnings"))
        },
    )?;
    if has_fuzz_targets() {
        steps.run("fuzz seed corpora replayed on stable", || {
            run(cargo().args(["test", "-p", "redis-ring-tests", "--test", "fuzz_corpus"]))
        })?;
    }
    steps.run("no redis-server left behind", || {
        let left = redis_ring_tests::harness::leftover_servers();
        if left.is_empty() {
            Ok(())
        } else {
            for pid in &left {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            }
            Err(format!(
                "redis-server processes outlived the tests (killed now): {left:?}"
            ))
        }
    })
}

/// Whether `package`'s `.crate` holds `LICENSE-APACHE` and `LICENSE-MIT` (the dual licence
/// the workspace declares: each crate links the root's texts; a new crate that forgets the
/// links would ship without them, and `cargo package` does not complain).
fn license_texts_packaged(package: &str) -> Result<(), String> {
    let listed = output_of(cargo().args([
        "package",
        "--list",
        "--allow-dirty",
        "--offline",
        "-p",
        package,
    ]))?;
    let files = String::from_utf8_lossy(&listed);
    let missing: Vec<&str> = ["LICENSE-APACHE", "LICENSE-MIT"]
        .into_iter()
        .filter(|f| !files.lines().any(|l| l == *f))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{package} would be published without {missing:?}: link the workspace's \
             (`ln -s ../LICENSE-MIT <crate>/`)"
        ))
    }
}

/// The workspace crates that may be published (no `publish = false`), which must package
/// cleanly and document without warnings.
fn published_crates() -> Result<Vec<String>, String> {
    let metadata = output_of(cargo().args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
        "--offline",
    ]))?;
    let meta: serde_json::Value =
        serde_json::from_slice(&metadata).map_err(|e| format!("cargo metadata: {e}"))?;
    let names: Vec<String> = meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?
        .iter()
        // `publish`: null when publishable, a list of registries (empty: `false`) otherwise.
        .filter(|p| p["publish"].is_null())
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    if names.is_empty() {
        return Err("no publishable crate in the workspace".into());
    }
    Ok(names)
}

/// Every driver's test binaries named `prefix...`: `(package, test)` for each
/// `driver-*/tests/{prefix}*.rs` (the scenario suites, the instrumentation tests).
fn driver_tests(prefix: &str) -> Result<Vec<(String, String)>, String> {
    let mut suites = Vec::new();
    let root = workspace_root();
    let dirs =
        std::fs::read_dir(&root).map_err(|e| format!("cannot list {}: {e}", root.display()))?;
    let mut dirs: Vec<PathBuf> = dirs
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("driver-"))
        })
        .collect();
    dirs.sort();
    for dir in dirs {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        let Some(package) = manifest.lines().find_map(|l| {
            let v = l.trim().strip_prefix("name")?.trim().strip_prefix('=')?;
            Some(v.trim().trim_matches('"').to_owned())
        }) else {
            continue;
        };
        let Ok(tests) = std::fs::read_dir(dir.join("tests")) else {
            continue;
        };
        let mut names: Vec<String> = tests
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let stem = name.strip_suffix(".rs")?;
                stem.starts_with(prefix).then(|| stem.to_owned())
            })
            .collect();
        names.sort();
        suites.extend(names.into_iter().map(|t| (package.clone(), t)));
    }
    if suites.is_empty() {
        return Err(format!("no driver-*/tests/{prefix}*.rs found"));
    }
    Ok(suites)
}

fn has_fuzz_targets() -> bool {
    std::fs::read_dir(workspace_root().join("fuzz/fuzz_targets"))
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "rs"))
        })
        .unwrap_or(false)
}

fn ensure_target(target: &str) -> Result<(), String> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup to check for {target}: {e}"))?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == target)
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", target]))
}

fn demo(args: &[String]) -> Result<(), String> {
    let redis = redis::ensure()?;
    run(cargo()
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "redis-ring-cli",
            "--bin",
            "redis-ring",
            "--",
            "demo",
        ])
        .args(args)
        .env("REDIS_SERVER", &redis.path))
}
