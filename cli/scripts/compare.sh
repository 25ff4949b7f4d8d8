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
# Every bench runs once per round, the rounds one after the other (ROUNDS, default 3), so
# each client is measured beside the others in every round. A table cell is the median over
# the rounds (ops/s, p50 and p99 each); a ratio is computed within each round and the median
# of those is shown, with the rounds' range: this machine's speed drifts by 10-30% from one
# minute to the next, which a single round's ratio cannot tell from a difference between
# clients. The sequential row is compared twice: p50 (the goal) and the mean round trip
# (1 / ops/s: with one caller, exactly the mean), because redis-benchmark's p50 is coarse —
# its latency histogram (HdrHistogram, lowest value 10 µs, 3 digits) has 8 µs buckets below
# 16 ms and reports a bucket's top, so its p50 near 55 µs can be up to 8 µs above the true one.
#
#   cli/scripts/compare.sh                 # the README's figures (about 11 minutes)
#   DUR=1s ROUNDS=1 QUICK=1 cli/scripts/compare.sh   # a quick check that it all works
#   PORT_BASE=17301 cli/scripts/compare.sh # other ports (3 from PORT_BASE; default 17201)
#   BUILD=0 PLACEMENT_BENCH=0 cli/scripts/compare.sh  # no cargo at all: the release binary
#                                          # as it is, no key-lookup criterion bench
#
# Set-up (the same for every client, stated in each bench's JSON `setup` and `resp`): 3 shards
# (redis-server) on cpu 0, every client on cpu 1 (taskset); RESP3 for both clients; the async
# callers are tasks on one executor of the bench's thread and the client's I/O runs on
# another thread (redis-ring-smol: its driver thread; the redis crate: its connections'
# tasks on smol's global executor); redis-ring-smol is measured twice, with that executor
# run by futures-lite's block_on and by the ring's own `Ring::block_on` (the caller's thread
# waits on the ring's reactor and reads a lone round trip itself); on tokio, both clients
# run on a multi-thread runtime of two workers; redis-ring-std runs one OS thread per caller.
# The go-redis column is a dated reference
# measured outside this repository (Go is not part of the build); this script does not
# produce it.
#
# Needs redis-server and redis-benchmark on PATH, python3, and builds the CLI in release mode.
set -euo pipefail
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DUR=${DUR:-4s}              # each bench's measurement time
ROUNDS=${ROUNDS:-3}
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
# One bench; its JSON kept as $D/<key>.r<round>.json (the table and the ratios read them).
run() { # key, bench arguments...
    local k=$1; shift
    bench "$@" >"$D/$k.r$r.json"
    python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))["errors"]; sys.exit(f"{sys.argv[1]}: {e} errors" if e else 0)' \
        "$D/$k.r$r.json"
}
# redis-benchmark against the first shard; its CSV kept as $D/<key>.r<round>.csv.
rb() { # key, redis-benchmark arguments...
    local k=$1; shift
    taskset -c 1 redis-benchmark -p "${P[0]}" -r 100000 -d 3 --csv "$@" >"$D/$k.r$r.csv"
}
# The pipeline's server work without the ring: one redis-benchmark -c 1 -P 33 per shard, the
# three at once (the ring's batch of 100 is ~33 per shard). Keeps ($D/pipe3.r<round>.rate)
# the total rate: every request over the wall time until the last one finished.
rb3() {
    local t0 t1 i pids=()
    t0=$(date +%s%N)
    for i in 0 1 2; do
        taskset -c 1 redis-benchmark -p "${P[$i]}" -r 100000 -d 3 --csv -c 1 -P 33 -n $((NP / 3)) \
            -t set >"$D/pipe3-$i.csv" &
        pids+=($!)
    done
    wait "${pids[@]}" # (not a bare wait: the shards are this shell's children too)
    t1=$(date +%s%N)
    python3 -c "print(f'{3 * ($NP // 3) / (($t1 - $t0) / 1e9):.0f}')" >"$D/pipe3.r$r.rate"
}

CLIENTS="smol smol-block-on std tokio rs-smol rs-tokio"
for r in $(seq "$ROUNDS"); do
    echo "round $r of $ROUNDS..." >&2
    for c in $CLIENTS; do
        case $c in
            rs-*) args="--client redis-rs --driver ${c#rs-}" ;;
            *) args="--driver $c" ;;
        esac
        run "conc-$c" --mode conc -c 50 $args
        run "pipe-$c" --mode pipeline -c 1 --pipeline 100 --op set $args
        run "seq-$c" --mode seq --op set $args
        # The ring's own pipelines beside each other: two callers, so one's batch is built
        # while the other's is on the servers (a reference for the serial single caller).
        [[ $c == rs-* ]] || run "pipe2-$c" --mode pipeline -c 2 --pipeline 100 --op set $args
    done
    rb conc -c 50 -n $N1 -t set,get
    rb pipe -c 1 -P 100 -n $NP -t set
    rb3
    rb seq -c 1 -n $((N1 / 10)) -t set
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

# The table's cells and the goals' ratios, all from this run's JSON and CSV: a cell is the
# median over the rounds, a ratio the median of the rounds' ratios (their range beside it).
python3 - "$D" "$ROUNDS" <<'EOF'
import csv, json, os, statistics, sys
d, rounds = sys.argv[1], range(1, int(sys.argv[2]) + 1)
med = statistics.median
def js(k):
    return [json.load(open(f"{d}/{k}.r{r}.json")) for r in rounds]
def rbs(k):  # per round: (rps, p50 µs) of each test row of the CSV
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
    return [[(float(row[1]), float(row[4]) * 1000) for row in list(csv.reader(open(f"{d}/{k}.r{r}.csv")))[1:]]
            for r in rounds]
def cell(k):
    runs = js(k)
    return (f"{med(x['ops_per_sec'] for x in runs) / 1000:.1f}k "
            f"(p50 {med(x['p50_us'] for x in runs):g} µs, p99 {med(x['p99_us'] for x in runs):g} µs)")
def rb_cell(k):
    runs = rbs(k)
    return " / ".join(f"{med(run[i][0] for run in runs) / 1000:.1f}k (p50 {med(run[i][1] for run in runs):.0f} µs)"
                      for i in range(len(runs[0])))
pipe3 = [float(open(f"{d}/pipe3.r{r}.rate").read()) for r in rounds]
clients = ["smol", "smol-block-on", "std", "tokio", "rs-smol", "rs-tokio"]
table = [
    ("50 concurrent callers, SET/GET", "conc", f"{rb_cell('conc')} (SET / GET, `-c 50`)", "119k"),
    ("1 caller, pipelines of 100 SETs", "pipe",
     f"{rb_cell('pipe')} (`-P 100`); 3 shards at once, `-P 33` each: {med(pipe3) / 1000:.1f}k", "312k"),
    ("1 caller, sequential SET", "seq", f"{rb_cell('seq')} (SET, `-c 1`)", "—"),
    ("2 callers, pipelines of 100 SETs (redis-ring only)", "pipe2", "—", "—"),
]
with open(f"{d}/table.md", "w") as out:
    for what, mode, rb, go in table:
        cells = [cell(f"{mode}-{c}") if os.path.exists(f"{d}/{mode}-{c}.r1.json") else "—" for c in clients]
        print(f"| {what} | " + " | ".join(cells) + f" | {rb} | {go} |", file=out)

rows = []
def ratio(what, per_round, goal, at_least=True):
    r = med(per_round)
    shown = f"{r:.2f} ({min(per_round):.2f}–{max(per_round):.2f})" if len(per_round) > 1 else f"{r:.2f}"
    if goal is None:  # a reference, not a goal
        rows.append(f"| {what} | {shown} | (reference) | — |")
        return
    ok = r >= goal if at_least else r <= goal
    rows.append(f"| {what} | {shown} | {'≥' if at_least else '≤'} {goal} | {'yes' if ok else 'no'} |")
ops = lambda k: [x["ops_per_sec"] for x in js(k)]
p50 = lambda k: [x["p50_us"] for x in js(k)]
div = lambda a, b: [x / y if y else float("nan") for x, y in zip(a, b)]
ring = {"smol": "redis-ring-smol", "smol-block-on": "redis-ring-smol with `Ring::block_on`",
        "std": "redis-ring-std", "tokio": "redis-ring-tokio"}
rb_pipe, rb_seq = rbs("pipe"), rbs("seq")
for drv in ring:
    ratio(f"pipelines of 100 SETs: {ring[drv]} / redis-benchmark `-P 100`",
          div(ops(f"pipe-{drv}"), [run[0][0] for run in rb_pipe]), 1.0)
for drv in ring:
    ratio(f"pipelines of 100 SETs: {ring[drv]} / 3 × redis-benchmark `-P 33` (one per shard, at once)",
          div(ops(f"pipe-{drv}"), pipe3), None)
for drv in ring:
    ratio(f"pipelines of 100 SETs, 2 callers: {ring[drv]} / 3 × redis-benchmark `-P 33` (one per shard, at once)",
          div(ops(f"pipe2-{drv}"), pipe3), None)
for drv, rt in [("smol", "smol"), ("smol-block-on", "smol"), ("tokio", "tokio")]:
    ratio(f"50 callers: {ring[drv]} / redis crate on {rt}", div(ops(f"conc-{drv}"), ops(f"conc-rs-{rt}")), 1.5)
ratio("50 callers: redis-ring-std / redis-ring-smol", div(ops("conc-std"), ops("conc-smol")), 0.8)
for drv in ring:
    ratio(f"sequential SET p50: {ring[drv]} / redis-benchmark `-c 1`",
          div(p50(f"seq-{drv}"), [run[0][1] for run in rb_seq]), 1.1, at_least=False)
for drv in ring:
    ratio(f"sequential SET, mean round trip (1 / ops/s): {ring[drv]} / redis-benchmark `-c 1`",
          div([run[0][0] for run in rb_seq], ops(f"seq-{drv}")), None)
open(f"{d}/ratios.md", "w").write("\n".join(rows) + "\n")
EOF

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
RS_VERSION=$(grep -A1 '^name = "redis"$' "$ROOT/Cargo.lock" | sed -n 's/version = "\(.*\)"/\1/p')
{
cat <<EOF
## Performance ($(date -u +%Y-%m-%d), one run on a $(nproc)-core machine; servers \`taskset -c 0\`, client \`taskset -c 1\`)

Produced by \`cli/scripts/compare.sh\` (DUR=$DUR, ROUNDS=$ROUNDS${QUICK:+, QUICK}): 3 shards, 100k keys,
3-byte values; each cell the median of the $ROUNDS rounds. Same set-up for both clients: RESP3;
on smol, async callers as tasks on one executor of the bench's thread (run by futures-lite's
\`block_on\`, or by the ring's \`Ring::block_on\` in its own column), the client's I/O on
another thread (redis-ring-smol: its driver thread; the \`redis\` crate: its connections'
tasks on smol's global executor); on tokio, both on a multi-thread runtime of two workers; redis-ring-std
runs one OS thread per caller. One command: \`cli/scripts/compare.sh\`. Load average (1/5/15 min)
before: $LOAD_BEFORE; after: $LOAD_AFTER. The machine is shared: compare within a row, not
across days. go-redis: measured outside this repository on 2026-11-27 (a dated reference;
the script does not produce it).

| workload | redis-ring-smol | redis-ring-smol, \`Ring::block_on\` | redis-ring-std | redis-ring-tokio | redis crate $RS_VERSION on smol (same placement) | redis crate $RS_VERSION on tokio | redis-benchmark (1 shard) | go-redis Ring (2026-11-27) |
|---|---|---|---|---|---|---|---|---|
$(cat "$D/table.md")

Same-run ratios (issue 16's goals): the median of the $ROUNDS rounds' ratios, their range in brackets.

| ratio | this run | goal | met |
|---|---|---|---|
$(cat "$D/ratios.md")

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
