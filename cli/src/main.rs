//! `redis-ring`: the command-line face of redis-ring.
//!
//! Module map (one concern each):
//! * `args`: the command line (clap derive); `duration`, `shard_list`: its value parsers.
//! * `locate`: offline placement reports (`locate`, `--spread`, `--diff`).
//! * `connect`: the ring (redis-ring-std) built from the global options.
//! * `shards`: live status of each shard; `top`: the same, refreshed, with rates.
//! * `migrate`: moving keys from one ring to another (`SCAN` + `MIGRATE`, resumable).
//! * `exec`: any Redis command through the ring; `print`: replies printed like redis-cli.
//! * `demo`: the guided tour (3 temporary shards, a kill, the ring healing).
//! * `bench`: the benchmark (workload, recorder, report, plot).
//! * `view`, `rng`: terminal helpers and the seeded random generator.

use std::process::ExitCode;

use clap::Parser;

mod args;
mod bench;
mod connect;
mod demo;
mod demo_sentinel;
mod duration;
mod exec;
mod locate;
mod migrate;
mod print;
mod rng;
mod scan;
mod shard_list;
mod shards;
mod top;
mod view;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("redis-ring: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let global = cli.global;
    let command = match (cli.command, cli.scan) {
        (None, true) => return scan::run(&global, cli.pattern.as_deref(), cli.count),
        (Some(_), true) => return Err("--scan takes no command".into()),
        (None, false) => return Err("no command given (see --help)".into()),
        (Some(command), false) => command,
    };
    match command {
        Command::Locate(args) => {
            let shards = global
                .shards
                .ok_or("locate needs the shard names: --shards a,b,c (or REDIS_RING_SHARDS)")?;
            locate::run(
                &locate::Locate {
                    shards,
                    algorithm: global.placement,
                    hash_tag: global.hash_tag,
                    keys: args.keys,
                    spread: args.spread,
                    diff: args.diff,
                    seed: args.seed,
                },
                &mut std::io::stdout().lock(),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => bench::run(&global, &args),
        Command::Demo(args) if args.sentinel => demo_sentinel::run(&global, &args),
        Command::Demo(args) => demo::run(&global, &args),
        Command::Redis(words) => exec::run(&global, &words),
        Command::Shards => shards::run(&global),
        Command::Top(args) => top::run(&global, &args),
        Command::Migrate(args) => migrate::run(&global, &args),
    }
}
