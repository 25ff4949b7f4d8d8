#!/usr/bin/env bash
# Every row and figure of the README's performance section, in one run, printed as the
# Markdown that goes there (dated, with the machine's load before and after) and written to
# perf-<UTC date and time>.md in OUT_DIR (default: the current directory). Below the
# figures, the same-run ratios issue 16 sets goals for (each with its goal and whether it
# was met): pipelines against redis-benchmark -P 100 (and, as a reference without a goal,
# against three redis-benchmark -P 33 at once, one per shard: the same server work as the
# ring's batches of 100 over 3 shards), 50 callers against the redis crate on
# the same runtime and std against smol, sequential p50 against redis-benchmark -c 1's.
#
#   cli/scripts/compare.sh                 # the README's figures (about 7 minutes)
#   DUR=1s ROUNDS=1 QUICK=1 cli/scripts/compare.sh   # a quick check that it all works
#   PORT_BASE=17301 cli/scripts/compare.sh # other ports (3 from PORT_BASE; default 17201)
#   BUILD=0 PLACEMENT_BENCH=0 cli/scripts/compare.sh  # no cargo at all: the release binary
#                                          # as it is, no key-lookup criterion bench
#
# Set-up (the same for every client, stated in each bench's JSON `setup` and `resp`): 3 shards
# (redis-server) on cpu 0, every client on cpu 1 (taskset); RESP3 for both clients; the async
# callers are tasks on one executor of the bench's thread and the client's I/O runs on
# another thread (redis-ring-smol: its driver thread; the redis crate: its connections'
# tasks on smol's global executor); on tokio, both clients run on a multi-thread runtime of
# two workers; redis-ring-std runs one OS thread per caller.
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
# (BUILD=0: use the release binary as it is, e.g. while another cargo holds the build lock.)
[ "${BUILD:-1}" = 0 ] || (cd "$ROOT" && cargo build --release --quiet -p redis-ring-cli)

D=$(mktemp -d)
BASE=${PORT_BASE:-17201}
P=($BASE $((BASE + 1)) $((BASE + 2)))
OUT_DIR=${OUT_DIR:-.}
STAMP=$(date -u +%Y-%m-%dT%H%MZ)
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
# A bench whose JSON is kept (for the ratios) as $D/<key>.json; prints the table cell.
run() { # key, bench arguments...
    local k=$1; shift
    bench "$@" >"$D/$k.json"
    fmt <"$D/$k.json"
}
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
# "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
print(" / ".join(f"{float(r[1]) / 1000:.1f}k (p50 {round(float(r[4]) * 1000)} µs)" for r in rows))
EOF
)
fmt() { python3 -c "$FMT"; }
# redis-benchmark against the first shard; its CSV kept as $D/<key>.csv.
rb() { # key, redis-benchmark arguments...
    local k=$1; shift
    taskset -c 1 redis-benchmark -p "${P[0]}" -r 100000 -d 3 --csv "$@" >"$D/$k.csv"
    python3 -c "$RB" <"$D/$k.csv"
}
# The pipeline's server work without the ring: one redis-benchmark -c 1 -P 33 per shard, the
# three at once (the ring's batch of 100 is ~33 per shard). Prints and keeps ($D/pipe3.rate)
# the total rate: every request over the wall time until the last one finished.
rb3() {
    local t0 t1 i
    t0=$(date +%s%N)
    for i in 0 1 2; do
        taskset -c 1 redis-benchmark -p "${P[$i]}" -r 100000 -d 3 --csv -c 1 -P 33 -n $((NP / 3)) \
            -t set >"$D/pipe3-$i.csv" &
    done
    wait
    t1=$(date +%s%N)
    python3 -c "print(f'{3 * ($NP // 3) / (($t1 - $t0) / 1e9):.0f}')" >"$D/pipe3.rate"
    python3 -c "print(f'{$(cat "$D/pipe3.rate") / 1000:.1f}k')"
}

declare -A ROW
for r in $(seq "$ROUNDS"); do
    echo "round $r of $ROUNDS..." >&2
    for c in smol std tokio rs-smol rs-tokio; do
        case $c in
            rs-*) args="--client redis-rs --driver ${c#rs-}" ;;
            *) args="--driver $c" ;;
        esac
        ROW[conc,$c]=$(run "conc-$c" --mode conc -c 50 $args)
        ROW[pipe,$c]=$(run "pipe-$c" --mode pipeline -c 1 --pipeline 100 --op set $args)
        ROW[seq,$c]=$(run "seq-$c" --mode seq --op set $args)
    done
    ROW[conc,rb]="$(rb conc -c 50 -n $N1 -t set,get) (SET / GET, \`-c 50\`)"
    ROW[pipe,rb]="$(rb pipe -c 1 -P 100 -n $NP -t set) (\`-P 100\`); 3 shards at once, \`-P 33\` each: $(rb3)"
    ROW[seq,rb]="$(rb seq -c 1 -n $((N1 / 10)) -t set) (SET, \`-c 1\`)"
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
failover tokio >"$D/failover-tokio.txt"
FAIL_SMOL=$(cat "$D/failover-smol.txt")
FAIL_STD=$(cat "$D/failover-std.txt")
FAIL_TOKIO=$(cat "$D/failover-tokio.txt")

# Key → shard lookup (criterion), 3 and 64 shards.
CRIT="--warm-up-time 1 --measurement-time 3"
[ -n "$QUICK" ] && CRIT="--warm-up-time 0.2 --measurement-time 0.5"
# (PLACEMENT_BENCH=0 skips it: it builds the criterion bench, which waits for any other cargo.)
if [ "${PLACEMENT_BENCH:-1}" = 0 ]; then echo "(skipped: PLACEMENT_BENCH=0)" >"$D/placement.txt"; else
(cd "$ROOT" && taskset -c 1 cargo bench --quiet -p redis-ring-core --bench placement -- $CRIT \
    'shard_for/rendezvous/' 2>/dev/null) >"$D/placement.txt" || true; fi
LOOKUP=$(python3 - "$D/placement.txt" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
scale = {"elem/s": 1, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}
found = re.findall(r"shard_for/rendezvous/(\d+)\s+time:.*?thrpt:\s+\[\S+ \S+ (\S+) (\S+)", text, re.S)
print(", ".join(f"{n} shards {1e9 / (float(v) * scale[u]):.0f} ns" for n, v, u in found)
      or "(criterion output not found)")
EOF
)

# The goals' ratios, all from this run's JSON and CSV.
RATIOS=$(python3 - "$D" <<'EOF'
import csv, json, sys
d = sys.argv[1]
j = lambda k: json.load(open(f"{d}/{k}.json"))
ops = lambda k: j(k)["ops_per_sec"]
def rb(k, col):
    return float(list(csv.reader(open(f"{d}/{k}.csv")))[1][col])
rows = []
def ratio(what, a, b, goal, at_least=True):
    r = a / b if b else float("nan")
    if goal is None:  # a reference, not a goal
        rows.append(f"| {what} | {r:.2f} | (reference) | — |")
        return
    ok = r >= goal if at_least else r <= goal
    rows.append(f"| {what} | {r:.2f} | {'≥' if at_least else '≤'} {goal} | {'yes' if ok else 'no'} |")
for drv in ["smol", "std", "tokio"]:
    ratio(f"pipelines of 100 SETs: redis-ring-{drv} / redis-benchmark `-P 100`",
          ops(f"pipe-{drv}"), rb("pipe", 1), 1.0)
pipe3 = float(open(f"{d}/pipe3.rate").read())
for drv in ["smol", "std", "tokio"]:
    ratio(f"pipelines of 100 SETs: redis-ring-{drv} / 3 × redis-benchmark `-P 33` (one per shard, at once)",
          ops(f"pipe-{drv}"), pipe3, None)
for drv in ["smol", "tokio"]:
    ratio(f"50 callers: redis-ring-{drv} / redis crate on {drv}",
          ops(f"conc-{drv}"), ops(f"conc-rs-{drv}"), 1.5)
ratio("50 callers: redis-ring-std / redis-ring-smol", ops("conc-std"), ops("conc-smol"), 0.8)
for drv in ["smol", "std", "tokio"]:
    ratio(f"sequential SET p50: redis-ring-{drv} / redis-benchmark `-c 1`",
          j(f"seq-{drv}")["p50_us"], rb("seq", 4) * 1000, 1.1, at_least=False)
print("\n".join(rows))
EOF
)

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
RS_VERSION=$(grep -A1 '^name = "redis"$' "$ROOT/Cargo.lock" | sed -n 's/version = "\(.*\)"/\1/p')
{
cat <<EOF
## Performance ($(date -u +%Y-%m-%d), one run on a $(nproc)-core machine; servers \`taskset -c 0\`, client \`taskset -c 1\`)

Produced by \`cli/scripts/compare.sh\` (DUR=$DUR, ROUNDS=$ROUNDS${QUICK:+, QUICK}): 3 shards, 100k keys,
3-byte values; figures from the last round. Same set-up for both clients: RESP3; on smol, async
callers as tasks on one executor of the bench's thread, the client's I/O on another thread
(redis-ring-smol: its driver thread; the \`redis\` crate: its connections' tasks on smol's
global executor); on tokio, both on a multi-thread runtime of two workers; redis-ring-std
runs one OS thread per caller. One command: \`cli/scripts/compare.sh\`. Load average (1/5/15 min)
before: $LOAD_BEFORE; after: $LOAD_AFTER. The machine is shared: compare within a row, not
across days. go-redis: measured outside this repository on 2026-11-27 (a dated reference;
the script does not produce it).

| workload | redis-ring-smol | redis-ring-std | redis-ring-tokio | redis crate $RS_VERSION on smol (same placement) | redis crate $RS_VERSION on tokio | redis-benchmark (1 shard) | go-redis Ring (2026-11-27) |
|---|---|---|---|---|---|---|---|
| 50 concurrent callers, SET/GET | ${ROW[conc,smol]} | ${ROW[conc,std]} | ${ROW[conc,tokio]} | ${ROW[conc,rs-smol]} | ${ROW[conc,rs-tokio]} | ${ROW[conc,rb]} | 119k |
| 1 caller, pipelines of 100 SETs | ${ROW[pipe,smol]} | ${ROW[pipe,std]} | ${ROW[pipe,tokio]} | ${ROW[pipe,rs-smol]} | ${ROW[pipe,rs-tokio]} | ${ROW[pipe,rb]} | 312k |
| 1 caller, sequential SET | ${ROW[seq,smol]} | ${ROW[seq,std]} | ${ROW[seq,tokio]} | ${ROW[seq,rs-smol]} | ${ROW[seq,rs-tokio]} | ${ROW[seq,rb]} | — |

Same-run ratios (issue 16's goals):

| ratio | this run | goal | met |
|---|---|---|---|
$RATIOS

Key → shard lookup (\`cargo bench -p redis-ring-core --bench placement\`, median): $LOOKUP
(go-redis: 36 ns for 3 shards).

After \`kill -9\` of one of 3 shards under 50 callers (${FAIL_AT} s into a $FAIL_DUR bench, restarted
$FAIL_FOR s later):
- $FAIL_SMOL
- $FAIL_STD
- $FAIL_TOKIO
EOF
} | tee "$OUT_DIR/perf-$STAMP.md"
echo "(written to $OUT_DIR/perf-$STAMP.md)" >&2
