//! `redis-ring`: the command-line face of redis-ring.

use std::process::ExitCode;

const USAGE: &str = "\
redis-ring: a consistent-hashing client over several independent Redis servers

USAGE:
    redis-ring <COMMAND> [ARGS...]

COMMANDS:
    demo      start 3 local shards, write keys, kill one, watch the ring heal
    help      print this text
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("demo") => {
            println!(
                "redis-ring demo: will start 3 temporary redis-server shards, write 100k keys,"
            );
            println!("kill one shard mid-load, show its keys moving to the others, restart it and");
            println!("show the ring healing. (The full demo arrives with the CLI issue.)");
            ExitCode::SUCCESS
        }
        None | Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("redis-ring: unknown command `{other}` (try `redis-ring --help`)");
            ExitCode::FAILURE
        }
    }
}
