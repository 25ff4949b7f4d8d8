#!/usr/bin/env bash
# redis-ring on tokio beside redis-ring-smol and the redis crate on tokio (issue 14's
# targets): 3 shards on cpu 0, every client on cpu 1, ROUNDS rounds (default 2) of
#   conc 50 (SET/GET):  redis-ring tokio, redis-ring smol, redis-rs tokio
#   pipeline 100 SETs:  redis-ring tokio, redis-ring smol
# Needs a release build of the CLI (cargo build --release -p redis-ring-cli) and redis-server.
set -u
BIN=${BIN:-$(dirname "$0")/../../target/release/redis-ring}
DUR=${DUR:-6s}; ROUNDS=${ROUNDS:-2}
D=$(mktemp -d); P=(17211 17212 17213)
for p in "${P[@]}"; do taskset -c 0 redis-server --port $p --save "" --appendonly no --daemonize no --dir $D --logfile $D/$p.log & done
sleep 1
S="shard1=127.0.0.1:${P[0]},shard2=127.0.0.1:${P[1]},shard3=127.0.0.1:${P[2]}"
j() { python3 -c 'import json,sys; j=json.load(sys.stdin); print({k:j[k] for k in ["ops_per_sec","p50_us","p99_us","max_us","errors"]})'; }
for r in $(seq 1 "$ROUNDS"); do
echo "# round $r"
for drv in tokio smol; do echo "## conc 50 redis-ring $drv"; taskset -c 1 $BIN --shards $S bench --mode conc -c 50 --duration $DUR --driver $drv --json | j; done
echo "## conc 50 redis-rs tokio"; taskset -c 1 $BIN --shards $S bench --mode conc -c 50 --duration $DUR --client redis-rs --driver tokio --json | j
for drv in tokio smol; do echo "## pipeline 100 redis-ring $drv"; taskset -c 1 $BIN --shards $S bench --mode pipeline -c 1 --pipeline 100 --op set --duration $DUR --driver $drv --json | j; done
done
kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf $D
