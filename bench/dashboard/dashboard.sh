#!/usr/bin/env bash
# The live dashboard during a 10,000-node job: what the page receives and how its frames go, and
# what the open page costs the cloud.
#   [ROUNDS=K (5)] bench/dashboard/dashboard.sh [NODES=10000] [PROCESSES=2]
# One mosquitto, one `prepull cloud`, `prepull fleet --nodes N` (pulls of 1-3 s, so the job runs
# some seconds with every node reporting progress; each job names its own images, so every job pulls). K paired rounds of two 3-image jobs over every
# node: one with no page open (the baseline), one followed by the dashboard in headless Chromium
# (bench/dashboard/page.py, Selenium). Per round: apply -> end, the cloud's CPU seconds over the
# job, and for the page the bytes per second its stream carried and its animation frame intervals
# and draw times. Medians, and the median ratio of the cloud's CPU with the page against without.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
nodes=${1:-10000}
procs=${2:-2}
rounds=${ROUNDS:-5}
cd "$root"
config=${CONFIG:-release}
if [[ -z ${PREPULL_BIN:-} ]]; then swift build -c "$config" --product prepull >/dev/null; fi
bin=${PREPULL_BIN:-$(swift build -c "$config" --show-bin-path)/prepull}
python=${PYTHON:-.build/tools/venv/bin/python}
work=$(mktemp -d -t prepull-dashboard.XXXXXX)
pids=()
source bench/lib.sh
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

start_broker "$work/broker"
start_cloud "$bin" "$port" "$work"

start_fleet "$bin" "$port" "$nodes" "$procs" dashboard "$work" --pull-ms 1000..3000 --image-mib 10..100

job() { job_yaml "$1" dashboard "$nodes" "$1"; }  # its own images: every job pulls
finished() { job_finished "$1"; }

echo "$rounds paired rounds: a $nodes-node job without a page, then one with the dashboard following it"
ratios=(); rates=(); medians=(); p95s=(); draws=(); maxes=()
for round in $(seq 1 "$rounds"); do
    for mode in none page; do
        name=dash-$mode-$round
        ppid=
        if [[ $mode == page ]]; then
            rm -f "$work/ready"
            "$python" bench/dashboard/page.py --url "$PREPULL_SERVER" --job "$name" --ready "$work/ready" > "$work/$name.json" 2> "$work/$name.err" & ppid=$!
            until_true 90 test -f "$work/ready"
        fi
        c0=$(cpu_seconds "$cloud_pid"); t0=$(now)
        job "$name" | "$bin" apply -f - > /dev/null
        until_true 600 finished "$name"
        t_end=$(now)
        if [[ -n $ppid ]]; then wait "$ppid"; else sleep 1; fi
        c1=$(cpu_seconds "$cloud_pid")
        cpu=$(echo "$c1 - $c0" | bc)
        if [[ $mode == none ]]; then
            base=$cpu
            printf '  round %d no page: apply->end %5.2f s, cloud %.2f CPU s\n' "$round" "$(echo "$t_end - $t0" | bc)" "$cpu"
        else
            read -r rate med p95 mx draw < <(jq -r '[.bytesPerSecond, .frameIntervalMs.median, .frameIntervalMs.p95, .frameIntervalMs.max, .drawMs.p95] | @tsv' "$work/$name.json")
            ratio=$(echo "scale=3; $cpu / $base" | bc)
            ratios+=("$ratio"); rates+=("$rate"); medians+=("$med"); p95s+=("$p95"); maxes+=("$mx"); draws+=("$draw")
            printf '  round %d page   : apply->end %5.2f s, cloud %.2f CPU s (%.2fx), page %.0f B/s, frame interval median %.1f ms p95 %.1f ms max %.1f ms, draw p95 %.1f ms\n' \
                "$round" "$(echo "$t_end - $t0" | bc)" "$cpu" "$ratio" "$rate" "$med" "$p95" "$mx" "$draw"
        fi
        "$bin" delete job "$name" > /dev/null
    done
done
printf '  median: page %.0f B/s, frame interval median %.1f ms, p95 %.1f ms, max %.1f ms, draw p95 %.1f ms; cloud CPU with the page / without %.2f\n' \
    "$(median "${rates[@]}")" "$(median "${medians[@]}")" "$(median "${p95s[@]}")" "$(median "${maxes[@]}")" "$(median "${draws[@]}")" "$(median "${ratios[@]}")"
