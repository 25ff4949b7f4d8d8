#!/usr/bin/env bash
# Every row and figure of the README's performance section, in one run, printed as the
# Markdown that goes there (dated, with the machine's load before and after).
#
#   cli/scripts/compare.sh                 # the README's figures (about 5 minutes)
#   DUR=1s ROUNDS=1 QUICK=1 cli/scripts/compare.sh   # a quick check that it all works
#
# Set-up (the same for every client, stated in each bench's JSON `setup` and `resp`): 3 shards
# (redis-server) on cpu 0, every client on cpu 1 (taskset); RESP3 for both clients; the async
# callers are tasks on one executor of the bench's thread and the client's I/O runs on
# another thread (redis-ring-smol: its driver thread; the redis crate: its connections'
# tasks on smol's global executor); redis-ring-std runs one OS thread per caller.
# Figures come from the last of ROUNDS rounds. The go-redis column is a dated reference
# measured outside this repository (Go is not part of the build); this script does not
# produce it.
#
# Needs redis-server and redis-benchmark on PATH, python3, and builds the CLI in release mode.
set -euo pipefail
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DUR=${DUR:-6s}              # each bench's measurement time
ROUNDS=${ROUNDS:-2}
QUICK=${QUICK:-}            # set: fewer redis-benchmark requests, short failover, quick criterion
BIN=$ROOT/target/release/redis-ring
(cd "$ROOT" && cargo build --release --quiet -p redis-ring-cli)

D=$(mktemp -d)
P=(17201 17202 17203)
declare -A PID
start_shard() { # index
    taskset -c 0 redis-server --port "${P[$1]}" --save "" --appendonly no --daemonize no \
        --dir "$D" --logfile "$D/${P[$1]}.log" &
    PID[$1]=$!
    for _ in $(seq 100); do redis-cli -p "${P[$1]}" ping >/dev/null 2>&1 && return; sleep 0.05; done
    echo "shard on port ${P[$1]} did not start" >&2; exit 1
}
cleanup() { for i in "${!PID[@]}"; do kill "${PID[$i]}" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
for i in 0 1 2; do start_shard $i; done
S="shard1=127.0.0.1:${P[0]},shard2=127.0.0.1:${P[1]},shard3=127.0.0.1:${P[2]}"

if [ -n "$QUICK" ]; then N1=60000; NP=300000; FAIL_AT=1; FAIL_FOR=1; FAIL_DUR=3s; else
    N1=600000; NP=3000000; FAIL_AT=3; FAIL_FOR=3; FAIL_DUR=9s; fi

bench() { taskset -c 1 "$BIN" --shards "$S" bench --duration "$DUR" --json "$@"; }
# ops/s (p50, p99) from a bench's JSON; ops/s from redis-benchmark's CSV.
FMT=$(cat <<'EOF'
import json, sys
j = json.load(sys.stdin)
assert j["errors"] == 0, f"{j['errors']} errors"
print(f"{j['ops_per_sec'] / 1000:.1f}k (p50 {j['p50_us']} µs, p99 {j['p99_us']} µs)")
EOF
)
RB=$(cat <<'EOF'
import csv, sys
rows = list(csv.reader(sys.stdin))[1:]
print(" / ".join(f"{float(r[1]) / 1000:.1f}k" for r in rows))
EOF
)
fmt() { python3 -c "$FMT"; }
rb() { taskset -c 1 redis-benchmark -p "${P[0]}" -r 100000 -d 3 --csv "$@" | python3 -c "$RB"; }

declare -A ROW
for r in $(seq "$ROUNDS"); do
    echo "round $r of $ROUNDS..." >&2
    for c in "--driver smol" "--driver std" "--client redis-rs"; do
        k=${c##* }
        ROW[conc,$k]=$(bench --mode conc -c 50 $c | fmt)
        ROW[pipe,$k]=$(bench --mode pipeline -c 1 --pipeline 100 --op set $c | fmt)
        ROW[seq,$k]=$(bench --mode seq $c | fmt)
    done
    ROW[conc,rb]="$(rb -c 50 -n $N1 -t set,get) (SET / GET, \`-c 50\`)"
    ROW[pipe,rb]="$(rb -c 1 -P 100 -n $NP -t set) (\`-P 100\`)"
    ROW[seq,rb]="$(rb -c 1 -n $((N1 / 10)) -t set,get) (SET / GET, \`-c 1\`)"
done

# Failover: kill -9 shard2 FAIL_AT s into a bench of 50 callers, restart it FAIL_FOR s later.
failover() { # driver
    local out=$D/failover-$1.json
    taskset -c 1 "$BIN" --shards "$S" bench --mode conc -c 50 --duration "$FAIL_DUR" \
        --driver "$1" --json >"$out" &
    local b=$!
    sleep "$FAIL_AT"; local killed; killed=$(date +%s%3N); kill -9 "${PID[1]}"; wait "${PID[1]}" 2>/dev/null || true
    sleep "$FAIL_FOR"; local restarted; restarted=$(date +%s%3N); start_shard 1
    wait $b || echo "(the $1 bench exited with $?)" >&2
    cp "$out" "/tmp/compare-failover-$1.json"
    python3 - "$out" "$killed" "$restarted" "$1" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); killed, restarted, drv = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
t0 = j["start_unix_ms"]
ev = {(e["shard"], e["state"]): e["t_ms"] for e in j["events"]}
down = ev.get(("shard2", "down")); up = ev.get(("shard2", "up"))
bad = [b for b in j["timeline"] if b["err"] > 0]
print(f"{drv}: Down {t0 + down - killed if down is not None else '—'} ms after the kill, "
      f"Up {t0 + up - restarted if up is not None else '—'} ms after the restart; "
      f"{j['errors']} commands failed, in {len(bad)} {j['bucket_ms']} ms bucket(s); "
      f"slowest command {round(j['max_us'] / 1000)} ms; "
      f"live shards' callers never stalled: {all(b['ok'] > 0 for b in j['timeline'])}")
EOF
}
# (Not in a $(...) subshell: the restarted shard must stay this shell's child.)
failover smol >"$D/failover-smol.txt"
failover std >"$D/failover-std.txt"
FAIL_SMOL=$(cat "$D/failover-smol.txt")
FAIL_STD=$(cat "$D/failover-std.txt")

# Key → shard lookup (criterion), 3 and 64 shards.
CRIT="--warm-up-time 1 --measurement-time 3"
[ -n "$QUICK" ] && CRIT="--warm-up-time 0.2 --measurement-time 0.5"
(cd "$ROOT" && taskset -c 1 cargo bench --quiet -p redis-ring-core --bench placement -- $CRIT \
    'shard_for/rendezvous/' 2>/dev/null) >"$D/placement.txt" || true
LOOKUP=$(python3 - "$D/placement.txt" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
scale = {"elem/s": 1, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}
found = re.findall(r"shard_for/rendezvous/(\d+)\s+time:.*?thrpt:\s+\[\S+ \S+ (\S+) (\S+)", text, re.S)
print(", ".join(f"{n} shards {1e9 / (float(v) * scale[u]):.0f} ns" for n, v, u in found)
      or "(criterion output not found)")
EOF
)

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
cat <<EOF
## Performance ($(date -u +%Y-%m-%d), one run on a $(nproc)-core machine; servers \`taskset -c 0\`, client \`taskset -c 1\`)

Produced by \`cli/scripts/compare.sh\` (DUR=$DUR, ROUNDS=$ROUNDS${QUICK:+, QUICK}): 3 shards, 100k keys,
3-byte values; figures from the last round. Same set-up for both clients: RESP3; async callers
as tasks on one executor of the bench's thread, the client's I/O on another thread
(redis-ring-smol: its driver thread; the \`redis\` crate: its connections' tasks on smol's
global executor); redis-ring-std runs one OS thread per caller. Load average (1/5/15 min)
before: $LOAD_BEFORE; after: $LOAD_AFTER. The machine is shared: compare within a row, not
across days. go-redis: measured outside this repository on 2026-11-27 (a dated reference;
the script does not produce it).

| workload | redis-ring-smol | redis-ring-std | redis crate $(grep -A1 '^name = "redis"$' "$ROOT/Cargo.lock" | sed -n 's/version = "\(.*\)"/\1/p') (same placement) | redis-benchmark (1 shard) | go-redis Ring (2026-11-27) |
|---|---|---|---|---|---|
| 50 concurrent callers, SET/GET | ${ROW[conc,smol]} | ${ROW[conc,std]} | ${ROW[conc,redis-rs]} | ${ROW[conc,rb]} | 119k |
| 1 caller, pipelines of 100 SETs | ${ROW[pipe,smol]} | ${ROW[pipe,std]} | ${ROW[pipe,redis-rs]} | ${ROW[pipe,rb]} | 312k |
| 1 caller, sequential | ${ROW[seq,smol]} | ${ROW[seq,std]} | ${ROW[seq,redis-rs]} | ${ROW[seq,rb]} | — |

Key → shard lookup (\`cargo bench -p redis-ring-core --bench placement\`, median): $LOOKUP
(go-redis: 36 ns for 3 shards).

After \`kill -9\` of one of 3 shards under 50 callers (${FAIL_AT} s into a $FAIL_DUR bench, restarted
$FAIL_FOR s later):
- $FAIL_SMOL
- $FAIL_STD
EOF
