#!/usr/bin/env bash
# Regenerates Sources/prepull-edge/hot-symbols.txt: the functions prepull-edge runs from start-up to
# idle, which the linker then lays out together (see Package.swift, target prepull-edge).
#
# Runs the worker under valgrind's callgrind next to a real mosquitto and a real containerd (so the
# containerd probe and its gRPC connection are in the profile), lets it idle, stops it with SIGINT
# (the graceful stop is profiled too) and keeps the functions that ran. Needs root (containerd).
#
#   bench/edge/hot-symbols.sh [IDLE_SECONDS]      (default 20)
#
# Rerun it after changes that alter what start-up runs, then rebuild: scripts/build-edge.sh.
# A stale list costs footprint, never correctness (unknown names are skipped).
set -euo pipefail
cd "$(dirname "$0")/../.."
idle=${1:-20}
source scripts/testbed/lib.sh
command -v valgrind >/dev/null || scripts/testbed/install-deps.sh valgrind
command -v mosquitto >/dev/null || scripts/testbed/install-deps.sh mosquitto

binary=$(scripts/build-edge.sh)
work=$(mktemp -d /tmp/prepull-hot-symbols.XXXXXX)
cleanup() {
    [[ -f $work/broker.pid ]] && kill "$(<"$work/broker.pid")" 2>/dev/null
    scripts/testbed/containerd.sh stop "$work/containerd" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$(free_port)
mosquitto -p "$port" >"$work/broker.log" 2>&1 &
echo $! >"$work/broker.pid"
socket=$(scripts/testbed/containerd.sh start "$work/containerd")
# valgrind cannot read the binary's DWARF 5; the symbol table is all it needs.
objcopy --strip-debug "$binary" "$work/prepull-edge"

echo "profiling prepull-edge: start-up, ${idle} s idle, stop" >&2
timeout -s INT $((idle + 30)) valgrind --tool=callgrind --demangle=no --compress-strings=no --dump-instr=no \
    --callgrind-out-file="$work/callgrind.out" \
    "$work/prepull-edge" --node hot-symbols --broker "mqtt://127.0.0.1:$port" --containerd "$socket" \
    --state "$work/state" --disk-path "$work" >"$work/worker.log" 2>&1 &
worker=$!
wait_until 60 grep -q "edge worker started" "$work/worker.log" || { cat "$work/worker.log" >&2; exit 1; }
sleep "$idle"
kill -INT "$worker"
wait "$worker" || true
grep -q "edge worker stopped" "$work/worker.log" || { echo "the worker did not stop cleanly:" >&2; tail "$work/worker.log" >&2; exit 1; }

python3 bench/edge/hot_symbols.py "$work/callgrind.out" "$binary" >"$work/hot-symbols.txt"
mv "$work/hot-symbols.txt" Sources/prepull-edge/hot-symbols.txt
echo "wrote Sources/prepull-edge/hot-symbols.txt ($(wc -l <Sources/prepull-edge/hot-symbols.txt) functions); rebuild with scripts/build-edge.sh" >&2
