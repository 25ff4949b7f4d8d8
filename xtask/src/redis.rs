//! Making sure a `redis-server` 6.2 or newer is available, installing it when we may.

use std::path::PathBuf;
use std::process::Command;

/// The minimum version: HELLO/RESP3 and the commands the tests use.
const MIN_VERSION: (u32, u32) = (6, 2);
const INSTALL: &str = "apt-get install -y redis-server";

/// A usable redis-server.
pub(crate) struct Redis {
    pub(crate) path: PathBuf,
    pub(crate) version: String,
}

/// Finds redis-server (`$REDIS_SERVER`, else `PATH`), installing it with apt-get as root or
/// through password-less sudo when it is missing; otherwise says what to run.
pub(crate) fn ensure() -> Result<Redis, String> {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        let path = PathBuf::from(path);
        return check(&path).map_err(|e| format!("REDIS_SERVER={}: {e}", path.display()));
    }
    let path = PathBuf::from("redis-server");
    match check(&path) {
        Ok(redis) => return Ok(redis),
        Err(e) if e.contains("older than") => return Err(e),
        Err(_) => {}
    }
    println!("redis-server not found: installing it ({INSTALL})");
    install()?;
    check(&path).map_err(|e| format!("installed redis-server, but: {e}"))
}

fn check(path: &PathBuf) -> Result<Redis, String> {
    let out = Command::new(path)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=..."
    let version = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("v="))
        .ok_or_else(|| format!("unexpected `{} --version` output: {text:?}", path.display()))?
        .to_owned();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < MIN_VERSION {
        return Err(format!(
            "{} is version {version}, older than the {}.{} the client needs (RESP3/HELLO)",
            path.display(),
            MIN_VERSION.0,
            MIN_VERSION.1
        ));
    }
    let resolved = which(path).unwrap_or_else(|| path.clone());
    Ok(Redis {
        path: resolved,
        version,
    })
}

fn which(path: &PathBuf) -> Option<PathBuf> {
    if path.components().count() > 1 {
        return Some(path.clone());
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|dir| dir.join(path))
            .find(|candidate| candidate.is_file())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn sudo_without_password() -> bool {
    Command::new("sudo")
        .args(["-n", "true"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn install() -> Result<(), String> {
    let prefix: &[&str] = if is_root() {
        &[]
    } else if sudo_without_password() {
        &["sudo", "-n"]
    } else {
        return Err(format!(
            "redis-server 6.2+ is needed and is not installed. Run:\n    sudo {INSTALL}\n\
             or point REDIS_SERVER at a redis-server binary, then run `cargo xtask test` again"
        ));
    };
    let apt = |args: &[&str]| -> Result<(), String> {
        let mut all: Vec<&str> = prefix.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let status = Command::new(all[0])
            .args(&all[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "`{}` failed with {status}; install redis-server 6.2+ by hand",
                all.join(" ")
            ))
        }
    };
    apt(&["update", "-qq"])?;
    apt(&["install", "-y", "-qq", "redis-server"])
}
