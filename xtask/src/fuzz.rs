//! `cargo xtask fuzz [--time SECS] [TARGET...]`: runs fuzz targets with `cargo +nightly fuzz`.
//!
//! Each target (default: every `fuzz/fuzz_targets/*.rs`, in name order) is built, then run
//! for `SECS` seconds of wall time (default 60) with libFuzzer, one at a time. New inputs go
//! to a working corpus in `fuzz/target/corpus/<target>/` (kept between runs, ignored by git);
//! the committed seeds of `fuzz/corpus/<target>/` are read but never written. The whole
//! libFuzzer output goes to `fuzz/target/logs/<target>.log`; the terminal gets one status line
//! every ~30 s and a summary: runs, exec/s, coverage (`cov`/`ft`), CPU seconds used, and for a
//! crash the artifact path and how to replay it. Fails when any target crashed. A missing
//! nightly toolchain or cargo-fuzz is installed first (rustup, `cargo install --locked`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::workspace_root;

/// Wall time per target when `--time` is not given.
const DEFAULT_SECS: u64 = 60;
/// libFuzzer's per-input time limit: an input slower than this is reported as a hang.
const UNIT_TIMEOUT_SECS: u64 = 30;

/// What one run reported.
#[derive(Debug, Default)]
struct Report {
    target: String,
    wall_secs: f64,
    cpu_secs: Option<f64>,
    /// The last libFuzzer status line (`#N ... cov: ... ft: ... exec/s: ...`).
    status: String,
    /// libFuzzer's final statistics (`-print_final_stats=1`).
    runs: Option<u64>,
    exec_per_sec: Option<u64>,
    peak_rss_mb: Option<u64>,
    /// Where the crashing input was written, if one was.
    artifact: Option<String>,
    /// Why the run failed, if it did.
    failure: Option<String>,
}

/// Entry point: parses `args` (after `fuzz`), runs, prints the summary.
pub(crate) fn fuzz(args: &[String]) -> Result<(), String> {
    let (secs, mut targets) = parse_args(args)?;
    let all = list_targets()?;
    if targets.is_empty() {
        targets.clone_from(&all);
    }
    if let Some(unknown) = targets.iter().find(|t| !all.contains(t)) {
        return Err(format!(
            "unknown fuzz target `{unknown}` (targets: {})",
            all.join(", ")
        ));
    }
    ensure_cargo_fuzz()?;
    let mut reports = Vec::new();
    for target in &targets {
        println!("\n==> fuzz {target} for {secs} s");
        reports.push(run_target(target, secs)?);
    }
    print_summary(&reports);
    let crashed: Vec<&str> = reports
        .iter()
        .filter(|r| r.failure.is_some())
        .map(|r| r.target.as_str())
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed: {}", crashed.join(", ")))
    }
}

fn parse_args(args: &[String]) -> Result<(u64, Vec<String>), String> {
    let mut secs = DEFAULT_SECS;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--time" => {
                let v = it.next().ok_or("--time needs a number of seconds")?;
                secs = parse_secs(v)?;
            }
            s if s.starts_with("--time=") => secs = parse_secs(&s["--time=".len()..])?,
            s if s.starts_with('-') => {
                return Err(format!(
                    "unknown option `{s}` (usage: cargo xtask fuzz [--time SECS] [TARGET...])"
                ))
            }
            t => targets.push(t.to_string()),
        }
    }
    Ok((secs, targets))
}

fn parse_secs(v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(s) if s > 0 => Ok(s),
        _ => Err(format!("--time: `{v}` is not a positive number of seconds")),
    }
}

fn fuzz_dir() -> PathBuf {
    workspace_root().join("fuzz")
}

/// Every target: the `.rs` files of `fuzz/fuzz_targets/`, by name.
fn list_targets() -> Result<Vec<String>, String> {
    let dir = fuzz_dir().join("fuzz_targets");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut targets: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    targets.sort();
    Ok(targets)
}

/// `cargo +nightly ...` through the rustup proxy (not `$CARGO`, which is the stable cargo
/// running xtask), in `fuzz/`.
fn nightly_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly")
        .current_dir(fuzz_dir())
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

/// Makes `cargo +nightly fuzz` available, installing what is missing (as `cargo xtask test`
/// installs redis-server): the nightly toolchain with rustup (minimal profile), then
/// cargo-fuzz with `cargo install --locked`. Says what it runs; fails with the command to
/// run by hand when an install fails.
fn ensure_cargo_fuzz() -> Result<(), String> {
    let works = |args: &[&str]| {
        nightly_cargo()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works(&["--version"]) {
        install(
            "the nightly toolchain (cargo-fuzz needs it)",
            Command::new("rustup").args([
                "toolchain",
                "install",
                "nightly",
                "--profile",
                "minimal",
            ]),
            "rustup toolchain install nightly --profile minimal",
        )?;
    }
    if !works(&["fuzz", "--version"]) {
        let mut cmd = Command::new("cargo");
        cmd.args(["install", "--locked", "cargo-fuzz"])
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO_TARGET_DIR");
        install("cargo-fuzz", &mut cmd, "cargo install --locked cargo-fuzz")?;
    }
    if works(&["fuzz", "--version"]) {
        Ok(())
    } else {
        Err(
            "`cargo +nightly fuzz` is still not available after installing it: install it \
             with `rustup toolchain install nightly && cargo install cargo-fuzz`"
                .into(),
        )
    }
}

/// Runs an install step, its output on the terminal.
fn install(what: &str, cmd: &mut Command, by_hand: &str) -> Result<(), String> {
    println!("==> installing {what}: {by_hand}");
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!(
            "installing {what} failed ({s}); run `{by_hand}` by hand"
        )),
        Err(e) => Err(format!("cannot run `{by_hand}` ({e}); run it by hand")),
    }
}

/// CPU seconds used by this process's finished children (`cutime + cstime` of
/// `/proc/self/stat`, in clock ticks of 1/100 s), where available.
fn children_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let cutime: f64 = fields.get(13)?.parse().ok()?;
    let cstime: f64 = fields.get(14)?.parse().ok()?;
    Some((cutime + cstime) / 100.0)
}

fn run_target(target: &str, secs: u64) -> Result<Report, String> {
    let status = nightly_cargo()
        .args(["fuzz", "build", target])
        .status()
        .map_err(|e| format!("cannot run cargo +nightly fuzz build: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo +nightly fuzz build {target} failed: {status}"
        ));
    }
    let work = fuzz_dir().join("target/corpus").join(target);
    let logs = fuzz_dir().join("target/logs");
    for dir in [&work, &logs] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let seeds = fuzz_dir().join("corpus").join(target);
    let log_path = logs.join(format!("{target}.log"));
    let mut log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;

    let cpu_before = children_cpu_secs();
    let start = Instant::now();
    let mut child = nightly_cargo()
        .args(["fuzz", "run", target])
        .arg(&work)
        .arg(&seeds)
        .args([
            "--".to_string(),
            format!("-max_total_time={secs}"),
            format!("-timeout={UNIT_TIMEOUT_SECS}"),
            "-print_final_stats=1".to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo +nightly fuzz run: {e}"))?;

    // libFuzzer writes everything to stderr; stdout (cargo's) is folded into the log too.
    let stdout = child.stdout.take();
    let out_thread = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(out) = stdout {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    });
    let mut report = Report {
        target: target.to_string(),
        ..Report::default()
    };
    let mut last_print = Instant::now();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            use std::io::Write;
            let _ = writeln!(log, "{line}");
            parse_line(&line, &mut report);
            let status_line = line.starts_with('#') && line.contains("cov:");
            if status_line && last_print.elapsed().as_secs() >= 30 {
                println!("  {line}");
                last_print = Instant::now();
            } else if is_crash_line(&line) {
                println!("  {line}");
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo fuzz: {e}"))?;
    if let Ok(text) = out_thread.join() {
        use std::io::Write;
        let _ = log.write_all(text.as_bytes());
    }
    report.wall_secs = start.elapsed().as_secs_f64();
    report.cpu_secs = match (cpu_before, children_cpu_secs()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    if !status.success() {
        report.failure = Some(match &report.artifact {
            Some(path) => format!("crash, input saved to {path}"),
            None => format!("exited with {status}; see {}", log_path.display()),
        });
    }
    println!("  last status: {}", report.status);
    println!("  log: {}", log_path.display());
    Ok(report)
}

fn is_crash_line(line: &str) -> bool {
    line.contains("ERROR: libFuzzer")
        || line.contains("panicked at")
        || line.contains("Test unit written to")
        || line.starts_with("SUMMARY:")
}

/// Picks the figures out of one libFuzzer line.
fn parse_line(line: &str, report: &mut Report) {
    if line.starts_with('#') && line.contains("cov:") {
        report.status = line.to_string();
    } else if let Some(path) = line.split("Test unit written to ").nth(1) {
        report.artifact = Some(path.trim().to_string());
    } else if let Some(v) = stat(line, "stat::number_of_executed_units:") {
        report.runs = Some(v);
    } else if let Some(v) = stat(line, "stat::average_exec_per_sec:") {
        report.exec_per_sec = Some(v);
    } else if let Some(v) = stat(line, "stat::peak_rss_mb:") {
        report.peak_rss_mb = Some(v);
    }
}

fn stat(line: &str, key: &str) -> Option<u64> {
    line.strip_prefix(key)?.trim().parse().ok()
}

/// `cov: N` / `ft: N` / `corp: N/..` from a status line.
fn field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .split_whitespace()
        .skip_while(|w| *w != key)
        .nth(1)
        .unwrap_or("-")
}

fn print_summary(reports: &[Report]) {
    println!("\n==> fuzz summary");
    println!(
        "  {:<16} {:>7} {:>7} {:>11} {:>8} {:>7} {:>7} {:>10} {:>7}  result",
        "target", "wall s", "cpu s", "runs", "exec/s", "cov", "ft", "corpus", "rss MB"
    );
    let show = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    for r in reports {
        println!(
            "  {:<16} {:>7.0} {:>7} {:>11} {:>8} {:>7} {:>7} {:>10} {:>7}  {}",
            r.target,
            r.wall_secs,
            r.cpu_secs
                .map_or_else(|| "-".to_string(), |c| format!("{c:.0}")),
            show(r.runs),
            show(r.exec_per_sec),
            field(&r.status, "cov:"),
            field(&r.status, "ft:"),
            field(&r.status, "corp:"),
            show(r.peak_rss_mb),
            r.failure.as_deref().unwrap_or("ok"),
        );
        if let Some(path) = &r.artifact {
            let rel = Path::new(path)
                .strip_prefix(fuzz_dir())
                .map_or_else(|_| path.clone(), |p| p.display().to_string());
            println!(
                "      replay: (cd fuzz && cargo +nightly fuzz run {} {rel}); \
                 once fixed, copy it to fuzz/corpus/{}/ as a regression seed",
                r.target, r.target
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_args(&[]).unwrap(), (DEFAULT_SECS, vec![]));
        assert_eq!(
            parse_args(&args(&["--time", "5", "ring_core", "placement"])).unwrap(),
            (5, vec!["ring_core".to_string(), "placement".to_string()])
        );
        assert_eq!(parse_args(&args(&["--time=7"])).unwrap().0, 7);
        assert!(parse_args(&args(&["--time", "0"])).is_err());
        assert!(parse_args(&args(&["--time"])).is_err());
        assert!(parse_args(&args(&["--bogus"])).is_err());
    }

    #[test]
    fn reads_libfuzzer_output() {
        let mut r = Report::default();
        for line in [
            "#1024\tpulse  cov: 10 ft: 11 corp: 3/40b exec/s: 512 rss: 40Mb",
            "#2048\tNEW    cov: 12 ft: 15 corp: 4/52b lim: 4 exec/s: 600 rss: 41Mb L: 3/4 MS: 1 ChangeBit-",
            "==1== ERROR: libFuzzer: deadly signal",
            "artifact_prefix='/x/fuzz/artifacts/t/'; Test unit written to /x/fuzz/artifacts/t/crash-ab12",
            "stat::number_of_executed_units: 2100",
            "stat::average_exec_per_sec:     700",
            "stat::peak_rss_mb:              41",
        ] {
            parse_line(line, &mut r);
        }
        assert_eq!(field(&r.status, "cov:"), "12");
        assert_eq!(field(&r.status, "ft:"), "15");
        assert_eq!(field(&r.status, "corp:"), "4/52b");
        assert_eq!(
            r.artifact.as_deref(),
            Some("/x/fuzz/artifacts/t/crash-ab12")
        );
        assert_eq!(
            (r.runs, r.exec_per_sec, r.peak_rss_mb),
            (Some(2100), Some(700), Some(41))
        );
        assert!(is_crash_line("==1== ERROR: libFuzzer: deadly signal"));
    }

    #[test]
    fn lists_every_target() {
        let targets = list_targets().unwrap();
        for t in ["placement", "resp_decode", "resp_roundtrip", "ring_core"] {
            assert!(targets.iter().any(|x| x == t), "{t} in {targets:?}");
        }
    }
}
