#!/usr/bin/env bash
# Syscalls per 100 commands, per driver: `strace -f -c` over a `bench --mode pipeline`
# run (1 caller, pipelines of 100 SETs over 3 shards), divided by the commands the bench
# counted. Start-up (connects, handshakes, thread creation) is inside the count too; with
# DURATION=3s it adds well under 0.1 per 100 commands. Needs strace, redis-server and a
# release build of the CLI (cargo build --release -p redis-ring-cli).
#   cli/scripts/syscalls.sh                 # smol std smol-block-on smol-global tokio (those the CLI has)
#   DRIVERS="smol" DURATION=5s cli/scripts/syscalls.sh
#   MODE=conc CALLERS=50 cli/scripts/syscalls.sh   # the same for 50 callers
set -u
BIN=${BIN:-$(dirname "$0")/../../target/release/redis-ring}
DURATION=${DURATION:-3s}
MODE=${MODE:-pipeline}
CALLERS=${CALLERS:-1}
if [ -z "${DRIVERS:-}" ]; then
    DRIVERS="smol std"
    "$BIN" bench --help 2>/dev/null | grep -q smol-block-on && DRIVERS="$DRIVERS smol-block-on"
    "$BIN" bench --help 2>/dev/null | grep -q smol-global && DRIVERS="$DRIVERS smol-global"
    "$BIN" bench --help 2>/dev/null | grep -q tokio && DRIVERS="$DRIVERS tokio"
fi
BASE=${PORT_BASE:-17211}
D=$(mktemp -d); P=($BASE $((BASE + 1)) $((BASE + 2))); PIDS=()
for p in "${P[@]}"; do
    taskset -c 0 redis-server --port "$p" --save "" --appendonly no --daemonize no --dir "$D" --logfile "$D/$p.log" &
    PIDS+=($!)
done
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
sleep 1
S="shard1=127.0.0.1:${P[0]},shard2=127.0.0.1:${P[1]},shard3=127.0.0.1:${P[2]}"
printf '%-13s %10s %10s %12s  %s\n' driver commands syscalls per_100_cmd "top calls per 100 commands"
for drv in $DRIVERS; do
    taskset -c 1 strace -f -c -o "$D/strace.$drv" "$BIN" --shards "$S" bench --mode "$MODE" \
        -c "$CALLERS" --pipeline 100 --op set --duration "$DURATION" --driver "$drv" --json >"$D/out.$drv"
    python3 - "$D/strace.$drv" "$D/out.$drv" "$drv" <<'EOF'
import json, sys
strace, out, drv = sys.argv[1:]
ops = json.load(open(out))["ops"]
calls = {}
for line in open(strace):
    f = line.split()
    # "% time seconds usecs/call calls [errors] syscall"
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        calls[f[-1]] = int(f[3])
total = sum(calls.values())
top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
desc = " ".join(f"{k}={v * 100 / ops:.1f}" for k, v in top)
print(f"{drv:<13} {ops:>10} {total:>10} {total * 100 / ops:>12.1f}  {desc}")
EOF
done
