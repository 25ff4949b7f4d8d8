#!/usr/bin/env bash
# What the `tracing` and `metrics` features cost, in one run (issue 18):
#   base = the CLI at BASE (default `main`; pass the commit before the instrumentation,
#          e.g. b35d225),
#   off  = this checkout, features off (the default build),
#   on   = this checkout with every driver's `tracing` and `metrics` features on and nothing
#          installed (no subscriber, no recorder: what a library user who never sets them up
#          pays).
# Three release builds into $CARGO_TARGET_DIR/cost (default target/cost), then 3 shards on cpu
# 0 and the client on cpu 1; for each driver, 50 concurrent callers (`bench --mode conc -c
# 50`) and pipelines of 100 (`--mode pipeline -c 1 --pipeline 100 --op set`), the three
# binaries alternated within each of ROUNDS rounds (default 3). Each bench runs under
# /usr/bin/time: throughput and the client's CPU time per operation (user+sys / ops, which
# being descheduled on a busy machine does not inflate). Prints a dated table of medians and
# the ratios off/base and on/off.
#
#   cli/scripts/instrumentation-cost.sh b35d225
#   ROUNDS=5 DUR=6s DRIVERS="std tokio" cli/scripts/instrumentation-cost.sh b35d225
#   SKIP_BUILD=1 ...   reuses the binaries of the last run
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BASE=${1:-main}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-4s}
DRIVERS=${DRIVERS:-std smol tokio}
SERVER=${REDIS_SERVER:-redis-server}
T=${CARGO_TARGET_DIR:-$ROOT/target}/cost
FEATURES=redis-ring-std/tracing,redis-ring-std/metrics,redis-ring-smol/tracing,redis-ring-smol/metrics,redis-ring-tokio/tracing,redis-ring-tokio/metrics
mkdir -p "$T/bin"
W=$(mktemp -d)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

if [ -z "${SKIP_BUILD:-}" ]; then
  echo "building base ($BASE), off and on into $T ..." >&2
  mkdir "$W/base"
  git -C "$ROOT" archive "$BASE" | tar -x -C "$W/base"
  (cd "$W/base" && CARGO_TARGET_DIR=$T cargo build --quiet --release -p redis-ring-cli)
  cp "$T/release/redis-ring" "$T/bin/base"
  (cd "$ROOT" && CARGO_TARGET_DIR=$T cargo build --quiet --release -p redis-ring-cli)
  cp "$T/release/redis-ring" "$T/bin/off"
  (cd "$ROOT" && CARGO_TARGET_DIR=$T cargo build --quiet --release -p redis-ring-cli --features "$FEATURES")
  cp "$T/release/redis-ring" "$T/bin/on"
fi

P0=$((20000 + RANDOM % 20000))
P=($P0 $((P0 + 1)) $((P0 + 2)))
for p in "${P[@]}"; do
  taskset -c 0 "$SERVER" --port "$p" --save "" --appendonly no --daemonize no --dir "$W" \
    --logfile "$W/$p.log" &
done
for p in "${P[@]}"; do
  until redis-cli -p "$p" ping >/dev/null 2>&1; do sleep 0.1; done
done
S="shard1=127.0.0.1:${P[0]},shard2=127.0.0.1:${P[1]},shard3=127.0.0.1:${P[2]}"

# One bench: prints "ops_per_sec cpu_us_per_op errors".
bench() {
  local bin=$1 driver=$2
  shift 2
  /usr/bin/time -f "%U %S" -o "$W/time" taskset -c 1 "$T/bin/$bin" --shards "$S" bench "$@" \
    --driver "$driver" --duration "$DUR" --json >"$W/json"
  python3 - "$W/json" "$W/time" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
u, s = map(float, open(sys.argv[2]).read().split()[-2:])
ops = j["ops_per_sec"] * j["elapsed_s"] if "elapsed_s" in j else j["ops"]
print(f'{j["ops_per_sec"]:.0f} {(u + s) * 1e6 / max(ops, 1):.3f} {j["errors"]}')
EOF
}

R="$W/results"
: >"$R"
for r in $(seq 1 "$ROUNDS"); do
  for driver in $DRIVERS; do
    for w in conc pipeline; do
      if [ $w = conc ]; then A=(--mode conc -c 50); else A=(--mode pipeline -c 1 --pipeline 100 --op set); fi
      for bin in base off on; do
        echo "$driver $w $bin $(bench $bin "$driver" "${A[@]}")" | tee -a "$R" >&2
      done
    done
  done
done

echo "# instrumentation cost, $(date -u '+%Y-%m-%d %H:%M UTC'), base $(git -C "$ROOT" rev-parse --short "$BASE"), off/on $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD || echo '+dirty')"
echo "# $ROUNDS rounds x $DUR, servers taskset -c 0 ($SERVER), client taskset -c 1, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$R" <<'EOF'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    d, w, b, ops, cpu, err = line.split()
    rows.setdefault((d, w), {}).setdefault(b, []).append((float(ops), float(cpu), int(err)))
print("| driver | workload | ops/s base | off | on | off/base | on/off | CPU µs/op base | off | on | off/base | on/off | errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for (d, w), bins in rows.items():
    ops = {b: st.median(x[0] for x in v) for b, v in bins.items()}
    cpu = {b: st.median(x[1] for x in v) for b, v in bins.items()}
    err = sum(x[2] for v in bins.values() for x in v)
    print(f"| {d} | {'conc -c 50' if w == 'conc' else 'pipeline 1x100'} | {ops['base']:.0f} | {ops['off']:.0f} | {ops['on']:.0f} "
          f"| {ops['off']/ops['base']:.2f} | {ops['on']/ops['off']:.2f} "
          f"| {cpu['base']:.2f} | {cpu['off']:.2f} | {cpu['on']:.2f} "
          f"| {cpu['off']/cpu['base']:.2f} | {cpu['on']/cpu['off']:.2f} | {err} |")
EOF
