#!/usr/bin/env bash
# kubectl beside prepull on one 10,000-node job: one mosquitto, one `prepull cloud`,
# `prepull fleet --nodes N`, a 3-image job over every node.
#   [ROUNDS=K (5)] bench/kubectl/kubectl.sh [NODES=10000] [PROCESSES=2]
# 1. Reads of the finished job, in K paired rounds: `kubectl get ipj NAME -o json`, then
#    `prepull get job NAME -o json` (the baseline): wall time, bytes, the cloud's CPU seconds; the
#    median of the K ratios.
# 2. Watches during K rounds of three jobs: one with no watcher (the baseline), one with
#    `kubectl get ipj NAME -w -o json` and the Table watch of `kubectl get ipj -w` attached, one with
#    `prepull watch job NAME` attached: apply -> end, the cloud's CPU seconds over the job, the bytes
#    each watch stream carried (curl on the same URL as the watcher, beside it); the median ratios of
#    the cloud's CPU against the job without a watcher.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
nodes=${1:-10000}
procs=${2:-2}
rounds=${ROUNDS:-5}
cd "$root"
config=${CONFIG:-release}
if [[ -z ${PREPULL_BIN:-} ]]; then swift build -c "$config" --product prepull >/dev/null; fi
bin=${PREPULL_BIN:-$(swift build -c "$config" --show-bin-path)/prepull}
kubectl=${KUBECTL:-kubectl}
work=$(mktemp -d -t prepull-kubectl.XXXXXX)
pids=()
source bench/lib.sh
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

start_broker "$work/broker"
start_cloud "$bin" "$port" "$work"
k() { KUBECONFIG=/dev/null "$kubectl" --server "$PREPULL_SERVER" --cache-dir "$work/kube-cache" "$@"; }

start_fleet "$bin" "$port" "$nodes" "$procs" kubectl "$work" --pull-ms 0 --image-mib 10

job() { job_yaml "$1" kubectl "$nodes"; }
finished() { job_finished "$1"; }
# measure OUT CMD...: runs CMD, stdout to OUT; prints "wall-seconds bytes cloud-cpu-seconds"
measure() {
    local out=$1; shift
    local c0 t0 t1 c1
    c0=$(cpu_seconds "$cloud_pid"); t0=$(now)
    "$@" > "$out"
    t1=$(now); c1=$(cpu_seconds "$cloud_pid")
    echo "$(echo "$t1 - $t0" | bc) $(wc -c < "$out") $(echo "$c1 - $c0" | bc)"
}

job read-me | k apply -f - > /dev/null
until_true 120 finished read-me
echo "reads of a finished $nodes-node job (-o json), $rounds paired rounds:"
ratios=(); kw=(); pw=(); kc=(); pc=()
for round in $(seq 1 "$rounds"); do
    read -r kt kb kcpu < <(measure "$work/kubectl.json" k get ipj read-me -o json)
    read -r pt pb pcpu < <(measure "$work/prepull.json" "$bin" get job read-me -o json)
    ratio=$(echo "scale=3; $kt / $pt" | bc)
    ratios+=("$ratio"); kw+=("$kt"); pw+=("$pt"); kc+=("$kcpu"); pc+=("$pcpu")
    printf '  round %d: kubectl %.2f s %d B cloud %.2f CPU s | prepull %.2f s %d B cloud %.2f CPU s | ratio %.2f\n' \
        "$round" "$kt" "$kb" "$kcpu" "$pt" "$pb" "$pcpu" "$ratio"
done
printf '  median: kubectl %.2f s, cloud %.2f CPU s; prepull %.2f s, cloud %.2f CPU s; ratio %.2f\n' \
    "$(median "${kw[@]}")" "$(median "${kc[@]}")" "$(median "${pw[@]}")" "$(median "${pc[@]}")" "$(median "${ratios[@]}")"

echo "watches during a $nodes-node job, $rounds rounds (apply->end, cloud CPU over the job, bytes the watch streams carried):"
kratios=(); pratios=()
for round in $(seq 1 "$rounds"); do
    for watcher in none kubectl prepull; do
        name=watch-$watcher-$round
        c0=$(cpu_seconds "$cloud_pid"); t0=$(now)
        job "$name" | "$bin" apply -f - > /dev/null
        wpids=()
        case $watcher in
            kubectl)
                # What kubectl's two watches fetch, counted by curl on the same URLs beside them.
                k get ipj "$name" -w -o json > /dev/null 2>&1 & wpids+=($!)
                k get ipj -w > /dev/null 2>&1 & wpids+=($!)
                curl -sN "$PREPULL_SERVER/apis/operations.kubeedge.io/v1alpha2/imageprepulljobs?watch=true&fieldSelector=metadata.name%3D$name" \
                    > "$work/$name.stream" 2>/dev/null & wpids+=($!) ;;
            prepull)
                "$bin" watch job "$name" > /dev/null 2>&1 & wpids+=($!)
                curl -sN "$PREPULL_SERVER/apis/operations.kubeedge.io/v1alpha2/imageprepulljobs/$name?watch=true" \
                    > "$work/$name.stream" 2>/dev/null & wpids+=($!) ;;
            none) : > "$work/$name.stream" ;;
        esac
        until_true 300 finished "$name"
        t_end=$(now)
        sleep 0.5  # the last summary interval
        c1=$(cpu_seconds "$cloud_pid")
        # (`wait` with no pid would wait for the broker, the cloud and the fleet too.)
        if ((${#wpids[@]})); then kill "${wpids[@]}" 2>/dev/null || true; wait "${wpids[@]}" 2>/dev/null || true; fi
        cpu=$(echo "$c1 - $c0" | bc)
        printf '  round %d %-7s: apply->end %5.2f s, cloud %.2f CPU s, one watch stream %d B\n' "$round" "$watcher" \
            "$(echo "$t_end - $t0" | bc)" "$cpu" "$(wc -c < "$work/$name.stream")"
        case $watcher in
            none) base=$cpu ;;
            kubectl) kratios+=("$(echo "scale=3; $cpu / $base" | bc)") ;;
            prepull) pratios+=("$(echo "scale=3; $cpu / $base" | bc)") ;;
        esac
        k delete ipj "$name" --wait=false > /dev/null
    done
done
printf '  median cloud CPU against the job without a watcher: kubectl watches %.2f, prepull watch %.2f\n' \
    "$(median "${kratios[@]}")" "$(median "${pratios[@]}")"
