#!/usr/bin/env bash
# The fleet benchmark: one mosquitto, one `prepull cloud`, `prepull fleet --nodes N` (hollow nodes),
# a 3-image job over all N nodes with concurrency N; then the same message pattern without prepull
# (bench/fleet/raw_fleet.c on libmosquitto) against a fresh broker, for the ratio.
#   bench/fleet/fleet.sh [NODES=10000] [PROCESSES=2]
# Prints: apply -> all tasks delivered, apply -> Completed, events folded/s, peak RSS and CPU seconds
# of cloud / fleet / broker, the raw time and the ratio. Simulated pulls take 0 ms (the messaging is
# what is measured; see BENCHMARKS.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
nodes=${1:-10000}
procs=${2:-2}
cd "$root"
# CONFIG=debug checks the script quickly; figures worth recording come from release builds.
config=${CONFIG:-release}
# PREPULL_BIN skips the build (e.g. several runs in a row).
if [[ -z ${PREPULL_BIN:-} ]]; then swift build -c "$config" --product prepull >/dev/null; fi
bin=${PREPULL_BIN:-$(swift build -c "$config" --show-bin-path)/prepull}
work=$(mktemp -d -t prepull-fleet.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do pkill -P "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n ${KEEP:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
# One broker holds ~20,000 clients: the open-files hard limit here (no CAP_SYS_RESOURCE to raise it).
ulimit -n "$(ulimit -Hn)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_broker() { # DIR -> port
    local dir=$1 port
    port=$(free_port)
    mkdir -p "$dir"
    sed -e "s|^listener 1883.*|listener $port 127.0.0.1|" broker/mosquitto-fleet.conf > "$dir/mosquitto.conf"
    printf 'user root\nlog_dest file %s/mosquitto.log\n' "$dir" >> "$dir/mosquitto.conf"
    mosquitto -c "$dir/mosquitto.conf" & pids+=($!)
    echo "$! $port"
}
until_true() { local deadline=$((SECONDS + $1)); shift; until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.1; done; }
now() { date +%s.%N; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"; }
status_mib() { awk -v field="$2:" '$1 == field { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
peak_rss_mib() { status_mib "$1" VmHWM; }
rss_mib() { status_mib "$1" VmRSS; }
tree_pids() { echo "$1"; pgrep -P "$1" || true; }
# tree_sum FUNCTION PID: FUNCTION summed over PID and its children (the fleet's shard processes).
tree_sum() { local total=0 pid; for pid in $(tree_pids "$2"); do total=$(echo "$total + $("$1" "$pid")" | bc); done; echo "$total"; }

read -r broker_pid port < <(start_broker "$work/broker")
pids+=("$broker_pid") # start_broker runs in a subshell: its pids+= does not reach here
until_true 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
api=$(free_port)
"$bin" cloud --broker "mqtt://127.0.0.1:$port" --data "$work/cloud" --listen "127.0.0.1:$api" \
    > "$work/cloud.log" 2>&1 & cloud_pid=$!; pids+=($cloud_pid)
export PREPULL_SERVER=http://127.0.0.1:$api
until_true 30 curl -sf "$PREPULL_SERVER/readyz" -o /dev/null

echo "starting $nodes hollow nodes in $procs process(es)..."
t0=$(now)
"$bin" fleet --nodes "$nodes" --processes "$procs" --broker "mqtt://127.0.0.1:$port" --pull-ms 0 --image-mib 10 \
    --stats-file "$work/fleet.json" > "$work/fleet.log" 2>&1 & fleet_pid=$!; pids+=($fleet_pid)
online() {
    # A fleet that exits (e.g. more nodes per process than its open-files limit holds) ends the wait.
    kill -0 "$fleet_pid" 2>/dev/null || { echo "prepull fleet exited:" >&2; tail -5 "$work/fleet.log" >&2; exit 1; }
    [[ $(curl -sf "$PREPULL_SERVER/api/v1/nodes" | jq '[.items[] | select(.state == "online")] | length') -ge $nodes ]]
}
until_true 300 online
printf 'fleet online: %.1f s\n' "$(echo "$(now) - $t0" | bc)"

cat > "$work/job.yaml" <<YAML
apiVersion: operations.kubeedge.io/v1alpha2
kind: ImagePrePullJob
metadata:
  name: fleet-bench
spec:
  imagePrePullTemplate:
    images: [registry.local/app/a:1, registry.local/app/b:1, registry.local/app/c:1]
    labelSelector:
      matchLabels:
        prepull.io/fleet: hollow
    concurrency: $nodes
    timeoutSeconds: 300
    failureTolerate: "0"
YAML
# The end clock from the broker's side (no polling): a subscriber waits for the retained job summary
# that says Completed/Failure and writes its time. When the last task was delivered comes from the
# nodes themselves (the fleet's stats file, read after the job): a subscriber counting the 10,000 task
# messages cost the broker and the machine CPU that the raw run below does not spend.
# (the pipeline stamps when grep matches: mosquitto_sub itself only ends when killed below)
( stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$port" -q 0 -t '$hw/events/prepull/jobs/fleet-bench/status' |
    { grep -q -m1 -E '"phase":"(Completed|Failure)"'; now > "$work/t_completed"; } ) & pids+=($!)
# The sizes of one node's messages (its task and its status reports, in order), for the raw run below.
( mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -F '%t %l' -t '$hw/events/node/edge-0/prepull/fleet-bench/task' \
    -t '$hw/events/node/edge-0/prepull/fleet-bench/status' > "$work/sizes" ) & pids+=($!)
sleep 0.5 # the subscriptions are in place
# thread_cpu PID: "name seconds" per thread (THREADS=1 prints the cloud's and fleet's split by thread).
thread_cpu() { for t in /proc/"$1"/task/*; do printf '%s %s\n' "$(tr ' ' _ < "$t/comm")" "$(cpu_seconds "${t#/proc/}")"; done 2>/dev/null; }
threads_of() { local pid; for pid in $(tree_pids "$fleet_pid") "$cloud_pid"; do thread_cpu "$pid" | sed "s/^/$pid:/"; done; }
[[ -n ${THREADS:-} ]] && threads_of > "$work/threads0"
cloud_cpu0=$(cpu_seconds "$cloud_pid"); broker_cpu0=$(cpu_seconds "$broker_pid")
fleet_idle_rss=$(tree_sum rss_mib "$fleet_pid"); cloud_idle_rss=$(rss_mib "$cloud_pid")
fleet_cpu0=$(tree_sum cpu_seconds "$fleet_pid")
# PERF=FILE records a call-graph profile of cloud and fleet during the job (perf report -i FILE);
# PERF_ARGS replaces the sampling options "-g -F 499": e.g. "--call-graph dwarf -F 999" unwinds through
# frames without frame pointers (libc), "-e raw_syscalls:sys_enter -c 1" records every system call.
if [[ -n ${PERF:-} ]]; then
    perf record -q ${PERF_ARGS:--g -F 499} -o "$PERF" -p "$(tree_pids "$fleet_pid" | paste -sd, -),$cloud_pid" 2>/dev/null & perf_pid=$!
fi
t_apply=$(now)
"$bin" apply -f "$work/job.yaml" >/dev/null
t_applied=$(now)
until_true 600 test -s "$work/t_completed" || { echo "no Completed/Failure summary within 600 s" >&2; exit 1; }
completed=$(echo "$(cat "$work/t_completed") - $t_apply" | bc)
# CPU counters now, before the fleet's stats wait and the 10,000-node `get job` below.
cloud_cpu=$(cpu_seconds "$cloud_pid"); broker_cpu=$(cpu_seconds "$broker_pid"); fleet_cpu=$(tree_sum cpu_seconds "$fleet_pid")
[[ -n ${THREADS:-} ]] && threads_of > "$work/threads1"
# The fleet writes its counters every second: wait (a few seconds at most) until every task is counted.
received() { [[ -s $work/fleet.json ]] && (($(jq .tasksReceived "$work/fleet.json") >= nodes)); }
delivered=""
if until_true 5 received; then delivered=$(echo "$(jq .lastTaskReceivedMs "$work/fleet.json") / 1000 - $t_apply" | bc -l); fi
if [[ -n ${PERF:-} ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
pkill -f "mosquitto_sub -h 127.0.0.1 -p $port " || true  # the summary watcher outlives its grep; the sizes are in
task_bytes=$(awk '$1 ~ /\/task$/ { print $2; exit }' "$work/sizes")
status_bytes=$(awk '$1 ~ /\/status$/ { print $2 }' "$work/sizes" | paste -sd, -)
"$bin" get job fleet-bench -o json > "$work/job.json"
phase=$(jq -r .status.phase "$work/job.json")
successful=$(jq '[.status.nodeStatus[] | select(.phase == "Successful")] | length' "$work/job.json")
events=$(curl -sf "$PREPULL_SERVER/metrics" | awk '/^prepull_fold_latency_seconds_count/ { s += $2 } END { print s + 0 }')
fleet_rss=$(tree_sum peak_rss_mib "$fleet_pid")
printf '\nprepull, %d nodes, 3 images, concurrency %d: job %s, %d Successful\n' "$nodes" "$nodes" "$phase" "$successful"
printf '  apply -> apply returned       %8.2f s\n' "$(echo "$t_applied - $t_apply" | bc)"
printf '  apply -> all tasks delivered  %8.2f s\n' "${delivered:-nan}"
printf '  apply -> Completed            %8.2f s\n' "$completed"
printf '  events folded                 %8d (%.0f/s)\n' "$events" "$(echo "$events / $completed" | bc -l)"
printf '  RSS before apply: cloud %d MiB, fleet %d MiB\n' "$cloud_idle_rss" "$fleet_idle_rss"
printf '  peak RSS   cloud %d MiB, fleet %d MiB, broker %d MiB\n' "$(peak_rss_mib "$cloud_pid")" "$fleet_rss" "$(peak_rss_mib "$broker_pid")"
printf '  CPU s during the job: cloud %.1f, broker %.1f, fleet %.1f (fleet incl. start-up %.1f)\n' \
    "$(echo "$cloud_cpu - $cloud_cpu0" | bc)" "$(echo "$broker_cpu - $broker_cpu0" | bc)" \
    "$(echo "$fleet_cpu - $fleet_cpu0" | bc)" "$fleet_cpu"
if [[ -n ${THREADS:-} ]]; then
    echo "  CPU s by thread during the job (pid:thread, summed by name):"
    awk 'NR == FNR { before[$1] += $2; next } { after[$1] += $2 } END { for (k in after) if (after[k] - before[k] >= 0.05) printf "    %-32s %5.2f\n", k, after[k] - before[k] }' "$work/threads0" "$work/threads1" | sort -k2 -rn
fi
kill "$fleet_pid" "$cloud_pid" 2>/dev/null || true
wait "$fleet_pid" "$cloud_pid" 2>/dev/null || true
kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true

# The same pattern without prepull: N clients, one QoS 1 task each, and in all as many QoS 1
# messages back as prepull's nodes sent (status reports folded; per node on average, a fraction),
# with the payload sizes of prepull's own messages (node edge-0's, recorded above).
replies=$(echo "scale=4; $events / $nodes" | bc)
cc -O2 -o "$work/raw_fleet" bench/fleet/raw_fleet.c -lmosquitto -lm
raw_run() { # [TASK_BYTES STATUS_BYTES] -> seconds, against a fresh broker
    local broker port seconds
    read -r broker port < <(start_broker "$work/raw-broker-$#")
    pids+=("$broker")
    until_true 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
    sleep 1
    seconds=$(timeout 300 "$work/raw_fleet" 127.0.0.1 "$port" "$nodes" "$replies" "$procs" "$@" |
        awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^seconds=/) { sub("seconds=", "", $i); print $i } }')
    kill "$broker"; wait "$broker" 2>/dev/null || true
    echo "$seconds"
}
[[ -n $task_bytes && -n $status_bytes ]] || { echo "no message sizes recorded from edge-0" >&2; exit 1; }
raw=$(raw_run "$task_bytes" "$status_bytes")
printf '\nraw libmosquitto, same pattern (%.2f status messages per node; task %d bytes, statuses %s bytes): %.2f s\n' \
    "$replies" "$task_bytes" "$status_bytes" "$raw"
printf 'ratio prepull apply->Completed / raw: %.2f\n' "$(echo "$completed / $raw" | bc -l)"
# RAW_SMALL=1: also the placeholder payloads used before 2026-12-01 (task 70 bytes, statuses 45).
if [[ -n ${RAW_SMALL:-} ]]; then
    small=$(raw_run)
    printf 'raw with placeholder payloads (task 70, statuses 45 bytes): %.2f s, ratio %.2f\n' "$small" "$(echo "$completed / $small" | bc -l)"
fi
