//! Any other word on the command line: a Redis command sent through the ring, its reply
//! printed like redis-cli prints it.
//!
//! Differences from redis-cli, on purpose: an error reply goes to stderr as
//! `(error) MESSAGE` and the exit code is 1 (scripts can test it); errors of the ring itself
//! (keys on different shards, every shard down, a timeout) are one `redis-ring: ...` line
//! naming the shards.

use std::io::Write;
use std::process::ExitCode;

use redis_ring_core::command::{classify, Class, Cmd};
use redis_ring_core::resp::Value;
use redis_ring_core::Error;
use redis_ring_std::Ring;

use crate::args::Global;
use crate::connect::RingSettings;
use crate::print::{self, Style};
use crate::view;

/// The reply style the options and stdout ask for.
pub(crate) fn style(global: &Global) -> Style {
    if global.raw {
        Style::Raw
    } else if global.no_raw || view::stdout_is_live() {
        Style::Human
    } else {
        Style::Raw
    }
}

/// Sends `words` (command name first) and prints the reply.
pub(crate) fn run(global: &Global, words: &[String]) -> Result<ExitCode, String> {
    let settings = RingSettings::from_global(global, "a Redis command")?;
    let Some((name, args)) = words.split_first() else {
        return Err("no command given".into());
    };
    let mut cmd = Cmd::new(name.as_str());
    for a in args {
        cmd = cmd.arg(a.as_str());
    }
    if name.eq_ignore_ascii_case("scan") {
        // Each shard has its own cursor: one number cannot say where a ring-wide scan is.
        return Err(
            "SCAN's cursor belongs to one shard; to list every key of the ring use \
             redis-ring --scan [--pattern PATTERN] [--count N]"
                .into(),
        );
    }
    let ring = settings.build(|b| b)?;
    if classify(&cmd).class() == Class::FanOut {
        let code = fan_out(&ring, &cmd, style(global));
        ring.close();
        return code;
    }
    // Multi-key commands (MGET, MSET, DEL, ...) are split per shard by the core itself.
    let result = ring.cmd(cmd);
    ring.close();
    match result {
        Ok(value) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&print::format(&value, style(global)))
                .and_then(|()| out.flush())
                .map_err(|e| format!("writing the reply: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::Server { message, .. }) => {
            eprintln!("{}", print::format_error(message.as_bytes()));
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A fan-out command (DBSIZE, KEYS, FLUSHDB, INFO, ...) goes to every live shard, never to one
/// random shard. On a terminal the replies are printed as a map of shard name to reply; raw
/// (piped), values only, as redis-cli prints them: each shard's reply in shard order, an
/// array's elements one per line (so `keys '*' | xargs` gets keys, never shard names). A
/// server error makes the exit code 1 (raw: on stderr, naming its shard).
fn fan_out(ring: &Ring, cmd: &Cmd, style: Style) -> Result<ExitCode, String> {
    let results = ring.for_each_shard(|shard| shard.cmd(cmd.clone()));
    if results.is_empty() {
        return Err(format!(
            "{}: no shard is up",
            String::from_utf8_lossy(cmd.name())
        ));
    }
    let mut failed = false;
    let entries = results
        .into_iter()
        .map(|(name, result)| {
            let value = result.unwrap_or_else(|e| {
                failed = true;
                match e {
                    Error::Server { message, .. } => Value::Error(message.into_bytes()),
                    other => Value::Error(other.to_string().into_bytes()),
                }
            });
            (Value::Bulk(name.into_bytes()), value)
        })
        .collect();
    let mut out = std::io::stdout().lock();
    let text = match style {
        Style::Human => print::format(&Value::Map(entries), style),
        Style::Raw => raw_values(entries),
    };
    out.write_all(&text)
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing the reply: {e}"))?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The raw text of a fan-out's replies: values only, one per line; errors go to stderr with
/// their shard's name.
fn raw_values(entries: Vec<(Value, Value)>) -> Vec<u8> {
    let mut text = Vec::new();
    for (name, value) in entries {
        match value {
            Value::Error(m) => eprintln!(
                "{}: {}",
                String::from_utf8_lossy(name.as_bytes().unwrap_or_default()),
                print::format_error(&m)
            ),
            // Elements one per line: an empty array prints nothing (not a blank line).
            Value::Array(items) | Value::Set(items) => {
                for item in &items {
                    text.extend_from_slice(&print::format(item, Style::Raw));
                }
            }
            other => text.extend_from_slice(&print::format(&other, Style::Raw)),
        }
    }
    text
}
