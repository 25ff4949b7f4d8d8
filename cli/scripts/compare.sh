#!/usr/bin/env bash
# The README's performance table: 3 shards on cpu 0, every client on cpu 1, two rounds of
# redis-benchmark, redis-ring (smol, std) and the redis crate. Needs a release build of the CLI
# (cargo build --release -p redis-ring-cli), redis-server and redis-benchmark on PATH.
set -u
BIN=${BIN:-$(dirname "$0")/../../target/release/redis-ring}
D=$(mktemp -d); P=(17201 17202 17203)
for p in "${P[@]}"; do taskset -c 0 redis-server --port $p --save "" --appendonly no --daemonize no --dir $D --logfile $D/$p.log & done
sleep 1
S="shard1=127.0.0.1:${P[0]},shard2=127.0.0.1:${P[1]},shard3=127.0.0.1:${P[2]}"
j() { python3 -c 'import json,sys; j=json.load(sys.stdin); print({k:j[k] for k in ["ops_per_sec","p50_us","p99_us","max_us","errors"]})'; }
for r in 1 2; do
echo "## round $r: redis-benchmark -c 50"; taskset -c 1 redis-benchmark -p ${P[0]} -c 50 -n 600000 -r 100000 -d 3 -t set,get --csv | tail -2
for drv in smol std; do echo "## conc 50 $drv"; taskset -c 1 $BIN --shards $S bench --mode conc -c 50 --duration 6s --driver $drv --json | j; done
echo "## conc 50 redis-rs"; taskset -c 1 $BIN --shards $S bench --mode conc -c 50 --duration 6s --client redis-rs --json | j
echo "## redis-benchmark -P 100"; taskset -c 1 redis-benchmark -p ${P[0]} -c 1 -P 100 -n 3000000 -r 100000 -d 3 -t set --csv | tail -1
for drv in smol std; do echo "## pipeline 100 $drv"; taskset -c 1 $BIN --shards $S bench --mode pipeline -c 1 --pipeline 100 --op set --duration 6s --driver $drv --json | j; done
done
kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf $D
