//! `redis-ring --scan [--pattern P] [--count N]`: every key of the ring once, one per line, as
//! `redis-cli --scan` prints them. A ring-wide SCAN ([`redis_ring_std::Ring::scan`]: each shard
//! in turn, each key reported by the shard that owns it); a shard that fails is reported on
//! stderr, the others' keys are still printed, and the exit code is then 1.

use std::io::Write;
use std::process::ExitCode;

use crate::args::Global;
use crate::connect::RingSettings;

/// Runs the scan.
pub(crate) fn run(
    global: &Global,
    pattern: Option<&str>,
    count: Option<u64>,
) -> Result<ExitCode, String> {
    let settings = RingSettings::from_global(global, "--scan")?;
    let ring = settings.build(|b| b)?;
    let mut scan = ring.scan();
    if let Some(p) = pattern {
        scan = scan.pattern(p);
    }
    if let Some(n) = count {
        scan = scan.count(n);
    }
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for key in scan {
        match key {
            Ok(key) => out
                .write_all(&key)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| format!("writing keys: {e}"))?,
            Err(e) => {
                failed = true;
                eprintln!("redis-ring: {e}");
            }
        }
    }
    out.flush().map_err(|e| format!("writing keys: {e}"))?;
    drop(out);
    ring.close();
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
