#!/usr/bin/env bash
# Runs a benchmark command on a shared machine as if it were quieter: the command (and every
# process it starts) runs at nice -15, and once a second every other build, test, fuzz or
# redis-server process at nice 0..18 is reniced to 19, so builds and test suites running beside
# it only get the CPU time the benchmark leaves. Needs root (negative nice). The load averages
# a script like compare.sh prints still show what else was running.
#
#   cli/scripts/quiet.sh cli/scripts/compare.sh
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
renice_others() {
    while true; do
        # This script's own children start at nice -15 and are left alone.
        for p in $(ps -eo pid=,ni= | awk '$2 >= 0 && $2 < 19 { print $1 }'); do
            c=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
            case "$c" in
                *rustc* | *cargo* | *fuzz* | *xtask* | */target/* | *cc1* | *" ld "* | *redis-server* | *valkey-server*)
                    renice -n 19 -p "$p" >/dev/null 2>&1 || true ;;
            esac
        done
        sleep 1
    done
}
renice_others &
RENICER=$!
trap 'kill $RENICER 2>/dev/null || true' EXIT
nice -n -15 "$@"
