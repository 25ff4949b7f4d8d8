#!/usr/bin/env bash
# What the `tracing` and `metrics` features cost per command in instructions (issue 18), the
# figure to trust on a noisy machine (wall clock: instrumentation-cost.sh): valgrind
# callgrind of `bench` with the features off and on (nothing installed), 3 shards on cpu 0,
# the client on cpu 1. Per operation it prints
#   driver  - self instructions in the driver layer, `metrics`, `tracing` and the core calls
#             the instrumentation adds (the pump's own functions left out): stable from run
#             to run (batching barely moves it), so on − off is the instrumentation's cost;
#   memcpy  - libc memcpy (moves of bigger values land here);
#   all     - the whole program (moves with how well replies batch: compare with care).
# Builds into $CARGO_TARGET_DIR (default target/) unless BINS_DIR holds `off` and `on`.
#
#   cli/scripts/instrumentation-instructions.sh                      # tokio and smol, -c 50
#   MODE=pipeline DRIVERS=tokio cli/scripts/instrumentation-instructions.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DRIVERS=${DRIVERS:-tokio smol}
MODE=${MODE:-conc}
DUR=${DUR:-6s}
T=${CARGO_TARGET_DIR:-$ROOT/target}
FEATURES=redis-ring-std/tracing,redis-ring-std/metrics,redis-ring-smol/tracing,redis-ring-smol/metrics,redis-ring-tokio/tracing,redis-ring-tokio/metrics
W=$(mktemp -d)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
B=${BINS_DIR:-$W}
if [ -z "${BINS_DIR:-}" ]; then
  (cd "$ROOT" && cargo build --quiet --release -p redis-ring-cli) && cp "$T/release/redis-ring" "$B/off"
  (cd "$ROOT" && cargo build --quiet --release -p redis-ring-cli --features "$FEATURES") && cp "$T/release/redis-ring" "$B/on"
fi
P0=$((20000 + RANDOM % 20000))
P=($P0 $((P0 + 1)) $((P0 + 2)))
for p in "${P[@]}"; do
  taskset -c 0 redis-server --port "$p" --save "" --appendonly no --daemonize no --dir "$W" \
    --logfile "$W/$p.log" &
done
for p in "${P[@]}"; do
  until redis-cli -p "$p" ping >/dev/null 2>&1; do sleep 0.1; done
done
S="shard1=127.0.0.1:${P[0]},shard2=127.0.0.1:${P[1]},shard3=127.0.0.1:${P[2]}"
if [ "$MODE" = conc ]; then A=(--mode conc -c 50); else A=(--mode pipeline -c 1 --pipeline 100 --op set); fi
echo "# instrumentation instructions, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$ROOT" rev-parse --short HEAD), $MODE, $DUR"
echo "| driver | build | ops | driver Ir/op | memcpy Ir/op | all Ir/op |"
echo "|---|---|---|---|---|---|"
for d in $DRIVERS; do
  for bin in off on; do
    taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$W/cg" "$B/$bin" --shards "$S" \
      bench "${A[@]}" --driver "$d" --duration "$DUR" --json >"$W/json" 2>/dev/null
    callgrind_annotate --threshold=100 --inclusive=no --auto=no "$W/cg" 2>/dev/null >"$W/ann"
    python3 - "$W/json" "$W/ann" "$d" "$bin" <<'PY'
import json, re, sys
ops = json.load(open(sys.argv[1]))["ops"]
drv = mem = tot = 0
pat = re.compile(r"redis_ring_driver::|metrics::|tracing::|tracing_core::|reply_shard_ref|CmdName::as_bytes")
for line in open(sys.argv[2]):
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
    if not m or "PROGRAM TOTALS" in line:
        continue
    ir = int(m.group(1).replace(",", ""))
    fn = m.group(2).split(":", 1)[-1]
    tot += ir
    if pat.search(fn) and "pump" not in fn and "io_thread" not in fn:
        drv += ir
    if "memcpy" in fn:
        mem += ir
print(f"| {sys.argv[3]} | {sys.argv[4]} | {ops} | {drv / ops:.0f} | {mem / ops:.0f} | {tot / ops:.0f} |")
PY
  done
done
