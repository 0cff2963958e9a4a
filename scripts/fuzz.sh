#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, Swift's -sanitize=fuzzer) of the wire decoder, the manifest
# decoder, the label-selector parser and the edge's task intake (fuzz/<target>/).
#   scripts/fuzz.sh --seconds 20            each target for 20 s on the committed corpus (the test suite's run)
#   scripts/fuzz.sh --runs 10000000 wire    10 million inputs of one target (the long run, BENCHMARKS.md)
#   scripts/fuzz.sh --merge ...             also merge what the run found into fuzz/corpus/<target>
# New inputs go to a temporary directory; the committed corpus is only read, unless --merge.
# A crash, a trap (a broken property) or a slow input (over 10 s) fails the script with libFuzzer's report.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-max_total_time=20)
merge=false
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) limit=(-max_total_time="$2"); shift 2 ;;
        --runs) limit=(-runs="$2"); shift 2 ;;
        --merge) merge=true; shift ;;
        -h|--help) sed -n 2,9p "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(wire manifest selector task-intake)
for t in "${targets[@]}"; do
    [[ -d "fuzz/$t" ]] || { echo "fuzz.sh: no target '$t' (one of: wire manifest selector task-intake)" >&2; exit 2; }
done
PREPULL_FUZZ=1 swift build -c release --sanitize=fuzzer --scratch-path .build-fuzz >&2
bin=$(PREPULL_FUZZ=1 swift build -c release --sanitize=fuzzer --scratch-path .build-fuzz --show-bin-path)
work=$(mktemp -d -t prepull-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Crash, timeout and OOM inputs are kept here (outside the temporary directory) to replay:
#   .build-fuzz/.../fuzz-TARGET .build-fuzz/artifacts/crash-...
# libFuzzer, not the Swift runtime's backtracer, must handle a crash: it writes the input that caused it.
export SWIFT_BACKTRACE=enable=no
artifacts=.build-fuzz/artifacts
mkdir -p "$artifacts"
for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "fuzz/corpus/$t"
    echo "== fuzz-$t ${limit[*]}" >&2
    start=$(date +%s)
    # -timeout: an input that takes over 10 s is a finding (budgets must keep every input fast).
    "$bin/fuzz-$t" "$work/$t" "fuzz/corpus/$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" 2>"$work/$t.log" || {
        grep -A 4 "Fatal error" "$work/$t.log" >&2 || true
        tail -n 40 "$work/$t.log" >&2
        for a in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
            [[ -e "$a" ]] && { echo "artifact: $a" >&2; od -c "$a" | head -n 20 >&2; }
        done
        echo "fuzz-$t: FAILED" >&2
        exit 1
    }
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$t.log" | awk '{print $2}')
    cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n 1 | awk '{print $2}')
    echo "fuzz-$t: ${runs:-?} inputs in $(( $(date +%s) - start )) s, coverage ${cov:-?} edges, no crash, no disagreement"
    if $merge; then
        "$bin/fuzz-$t" -merge=1 "fuzz/corpus/$t" "$work/$t" 2>>"$work/$t.log" >/dev/null
        echo "fuzz-$t: corpus now $(ls "fuzz/corpus/$t" | wc -l) files"
    fi
done
