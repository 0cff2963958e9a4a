#!/usr/bin/env bash
# The fleet benchmark: one mosquitto, one `prepull cloud`, `prepull fleet --nodes N` (hollow nodes),
# a 3-image job over all N nodes with concurrency N; then the same message pattern without prepull
# (bench/fleet/raw_fleet.c on libmosquitto) against a fresh broker, for the ratio.
#   [ROUNDS=K (5)] bench/fleet/fleet.sh [NODES=10000] [PROCESSES=2]
# Prints: apply -> all tasks delivered, apply -> Completed, events folded/s, peak RSS and CPU seconds
# of cloud / fleet / broker, the raw time and the ratio; with ROUNDS=K, K paired rounds (a job, then a
# raw run) and the median ratio. Simulated pulls take 0 ms (the messaging is what is measured; see
# BENCHMARKS.md).
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
source bench/lib.sh
trap cleanup EXIT
# One broker holds ~20,000 clients: the open-files hard limit here (no CAP_SYS_RESOURCE to raise it).
ulimit -n "$(ulimit -Hn)"
# raw_fleet's clients are plain libmosquitto ones, with its socket pair: 3 descriptors each (prepull's
# nodes hold 1), so it may need more processes than the fleet: at least PROCESSES, and enough for 3 per node.
raw_procs=$(( (3 * nodes + $(ulimit -n) - 257) / ($(ulimit -n) - 256) ))
(( raw_procs < procs )) && raw_procs=$procs

start_broker "$work/broker"
api=$(free_port)
# CLOUD_ENV / FLEET_ENV: variables for the cloud's / the fleet's environment, for experiments
# (e.g. FLEET_ENV=PREPULL_MQTT_READ_BUFFER=0).
${CLOUD_ENV:+env $CLOUD_ENV} "$bin" cloud --broker "mqtt://127.0.0.1:$port" --data "$work/cloud" --listen "127.0.0.1:$api" \
    > "$work/cloud.log" 2>&1 & cloud_pid=$!; pids+=($cloud_pid)
export PREPULL_SERVER=http://127.0.0.1:$api
until_true 30 curl -sf "$PREPULL_SERVER/readyz" -o /dev/null

echo "starting $nodes hollow nodes in $procs process(es)..."
t0=$(now)
${FLEET_ENV:+env $FLEET_ENV} "$bin" fleet --nodes "$nodes" --processes "$procs" --broker "mqtt://127.0.0.1:$port" --pull-ms 0 --image-mib 10 \
    --stats-file "$work/fleet.json" > "$work/fleet.log" 2>&1 & fleet_pid=$!; pids+=($fleet_pid)
online() {
    # A fleet that exits (e.g. more nodes per process than its open-files limit holds) ends the wait.
    kill -0 "$fleet_pid" 2>/dev/null || { echo "prepull fleet exited:" >&2; tail -5 "$work/fleet.log" >&2; exit 1; }
    [[ $(curl -sf "$PREPULL_SERVER/api/v1/nodes" | jq '[.items[] | select(.status.prepull.state == "online" or .state == "online")] | length') -ge $nodes ]]
}
until_true 300 online
printf 'fleet online: %.1f s\n' "$(echo "$(now) - $t0" | bc)"

# ROUNDS=K (default 5; 1 for a single job): K jobs on the same fleet, each followed at once by a raw run, and the median
# of the K paired ratios. The host's speed drifts by +-20 % over minutes here (the broker's own CPU
# for the same work moves as much), so a prepull time and a raw time taken minutes apart say little;
# each pair shares its minute. Even so one pair's ratio moves by +-25 % (in one set the raw run's broker
# took 1.07-1.41 CPU s for the same messages), hence 5 rounds and their median by default. Round 1
# prints the details (RSS, CPU by thread, perf).
rounds=${ROUNDS:-5}
# Each round's images carry the round's tag: the simulated runtime keeps what it pulled, so a second
# job for the same images would find them present on every node and pull nothing.
job_yaml() { # NAME ROUND
    cat <<YAML
apiVersion: operations.kubeedge.io/v1alpha2
kind: ImagePrePullJob
metadata:
  name: $1
spec:
  imagePrePullTemplate:
    images: [registry.local/app/a:$2, registry.local/app/b:$2, registry.local/app/c:$2]
    labelSelector:
      matchLabels:
        prepull.io/fleet: hollow
    concurrency: $nodes
    timeoutSeconds: 300
    failureTolerate: "0"
YAML
}
# thread_cpu PID: "name seconds switches" per thread (THREADS=1 prints the cloud's and fleet's split by thread).
thread_cpu() { for t in /proc/"$1"/task/*; do printf '%s %s %s\n' "$(tr ' ' _ < "$t/comm")" "$(cpu_seconds "${t#/proc/}")" "$(awk '/ctxt_switches/ { s += $2 } END { print s }' "$t/status")"; done 2>/dev/null; }
threads_of() { local pid; for pid in $(tree_pids "$fleet_pid") "$cloud_pid"; do thread_cpu "$pid" | sed "s/^/$pid:/"; done; }
# steal_seconds: CPU time the hypervisor gave to others (/proc/stat, all CPUs); a busy host shows here.
steal_seconds() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print $9 / hz }' /proc/stat; }
# busy_seconds: CPU time of the whole machine not idle (all CPUs, /proc/stat).
busy_seconds() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat; }
folded_total() { curl -sf "$PREPULL_SERVER/metrics" | awk '/^prepull_fold_latency_seconds_count/ { s += $2 } END { print s + 0 }'; }
fleet_idle_rss=$(tree_sum rss_mib "$fleet_pid"); cloud_idle_rss=$(rss_mib "$cloud_pid")

prepull_round() { # K: one job, timed; sets completed, events and the figures printed
    local k=$1 name="fleet-bench-$1"
    rm -f "$work/t_completed"
    job_yaml "$name" "$k" > "$work/job.yaml"
    # The end clock from the broker's side (no polling): a subscriber waits for the retained job summary
    # that says Completed/Failure and writes its time. When the last task was delivered comes from the
    # nodes themselves (the fleet's stats file, read after the job): a subscriber counting the 10,000
    # task messages cost the broker and the machine CPU that the raw run does not spend.
    # (the pipeline stamps when grep matches: mosquitto_sub itself only ends when killed below)
    ( stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$port" -q 0 -t "\$hw/events/prepull/jobs/$name/status" |
        { grep -q -m1 -E '"phase":"(Completed|Failure)"'; now > "$work/t_completed"; } ) & pids+=($!)
    if ((k == 1)); then
        # The sizes of one node's messages (its task and its status reports, in order), for the raw runs.
        record_sizes "$port" "\$hw/events/node/edge-0/prepull/$name" "$work/sizes"
    fi
    sleep 0.5 # the subscriptions are in place
    [[ -n ${THREADS:-} && $k == 1 ]] && threads_of > "$work/threads0"
    local steal0 cloud_cpu0 broker_cpu0 fleet_cpu0 events0 t_apply t_applied perf_pid=""
    steal0=$(steal_seconds); events0=$(folded_total); local busy0; busy0=$(busy_seconds)
    cloud_cpu0=$(cpu_seconds "$cloud_pid"); broker_cpu0=$(cpu_seconds "$broker_pid"); fleet_cpu0=$(tree_sum cpu_seconds "$fleet_pid")
    local faults0; faults0=$(($(tree_sum minor_faults "$fleet_pid") + $(minor_faults "$cloud_pid")))
    # PERF=FILE records a call-graph profile of cloud and fleet during the first job (perf report -i FILE);
    # PERF_ARGS replaces the sampling options "-g -F 499": e.g. "--call-graph dwarf -F 999" unwinds through
    # frames without frame pointers (libc), "-e raw_syscalls:sys_enter -c 1" records every system call.
    if [[ -n ${PERF:-} && $k == ${PERF_ROUND:-1} ]]; then
        perf record -q ${PERF_ARGS:--g -F 499} -o "$PERF" -p "$(tree_pids "$fleet_pid" | paste -sd, -),$cloud_pid" 2>/dev/null & perf_pid=$!
    fi
    t_apply=$(now)
    "$bin" apply -f "$work/job.yaml" >/dev/null
    t_applied=$(now)
    until_true 600 test -s "$work/t_completed" || { echo "no Completed/Failure summary within 600 s" >&2; exit 1; }
    completed=$(echo "$(cat "$work/t_completed") - $t_apply" | bc)
    # CPU counters now, before the fleet's stats wait and the 10,000-node `get job` below.
    local cloud_cpu broker_cpu fleet_cpu steal
    cloud_cpu=$(cpu_seconds "$cloud_pid"); broker_cpu=$(cpu_seconds "$broker_pid"); fleet_cpu=$(tree_sum cpu_seconds "$fleet_pid")
    steal=$(echo "$(steal_seconds) - $steal0" | bc)
    local busy; busy=$(echo "$(busy_seconds) - $busy0" | bc)
    local faults; faults=$(($(tree_sum minor_faults "$fleet_pid") + $(minor_faults "$cloud_pid") - faults0))
    [[ -n ${THREADS:-} && $k == 1 ]] && threads_of > "$work/threads1"
    # The fleet writes its counters every second: wait (a few seconds at most) until every task is counted.
    received() { [[ -s $work/fleet.json ]] && (($(jq '.workers.tasksReceived // .tasksReceived' "$work/fleet.json") >= nodes * k)); }
    local delivered=""
    if until_true 5 received; then delivered=$(echo "$(jq '.workers.lastTaskReceivedMs // .lastTaskReceivedMs' "$work/fleet.json") / 1000 - $t_apply" | bc -l); fi
    if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
    pkill -f "mosquitto_sub -h 127.0.0.1 -p $port " || true  # the watchers outlive their grep; the sizes are in
    "$bin" get job "$name" -o json > "$work/job.json"
    local phase successful
    phase=$(jq -r .status.phase "$work/job.json")
    successful=$(jq '[.status.nodeStatus[] | select(.phase == "Successful")] | length' "$work/job.json")
    events=$(($(folded_total) - events0))
    if ((k == 1)); then
        read_sizes "$work/sizes" edge-0
        printf '\nprepull, %d nodes, 3 images, concurrency %d: job %s, %d Successful\n' "$nodes" "$nodes" "$phase" "$successful"
        printf '  apply -> apply returned       %8.2f s\n' "$(echo "$t_applied - $t_apply" | bc)"
        printf '  apply -> all tasks delivered  %8.2f s\n' "${delivered:-nan}"
        printf '  apply -> Completed            %8.2f s\n' "$completed"
        printf '  events folded                 %8d (%.0f/s)\n' "$events" "$(echo "$events / $completed" | bc -l)"
        printf '  RSS before apply: cloud %d MiB, fleet %d MiB\n' "$cloud_idle_rss" "$fleet_idle_rss"
        printf '  peak RSS   cloud %d MiB, fleet %d MiB, broker %d MiB\n' "$(peak_rss_mib "$cloud_pid")" "$(tree_sum peak_rss_mib "$fleet_pid")" "$(peak_rss_mib "$broker_pid")"
        printf '  CPU s during the job: cloud %.1f, broker %.1f, fleet %.1f (fleet incl. start-up %.1f)\n' \
            "$(echo "$cloud_cpu - $cloud_cpu0" | bc)" "$(echo "$broker_cpu - $broker_cpu0" | bc)" \
            "$(echo "$fleet_cpu - $fleet_cpu0" | bc)" "$fleet_cpu"
        printf '  CPU s stolen by the hypervisor during the job: %.2f; page faults of cloud and fleet: %d\n' "$steal" "$faults"
        if [[ -n ${THREADS:-} ]]; then
            echo "  CPU s and context switches by thread during the job (pid:thread, summed by name):"
            awk 'NR == FNR { before[$1] += $2; cs0[$1] += $3; next } { after[$1] += $2; cs1[$1] += $3 } END { for (k in after) if (after[k] - before[k] >= 0.05) printf "    %-32s %5.2f %8d\n", k, after[k] - before[k], cs1[k] - cs0[k] }' "$work/threads0" "$work/threads1" | sort -k2 -rn
        fi
    fi
    round_line=$(printf 'job %s, %d Successful, tasks delivered %.2f s, Completed %.2f s; CPU s cloud %.2f, broker %.2f, fleet %.2f; page faults %d; machine busy %.2f CPU s' \
        "$phase" "$successful" "${delivered:-nan}" "$completed" "$(echo "$cloud_cpu - $cloud_cpu0" | bc)" \
        "$(echo "$broker_cpu - $broker_cpu0" | bc)" "$(echo "$fleet_cpu - $fleet_cpu0" | bc)" "$faults" "$busy")
    # Not kept between rounds: each job starts with the same cloud state (the delete cancels nothing:
    # every node has finished).
    "$bin" delete job "$name" >/dev/null
}

# The same pattern without prepull: N clients, one QoS 1 task each, and in all as many QoS 1
# messages back as prepull's nodes sent (status reports folded; per node on average, a fraction),
# with the payload sizes of prepull's own messages (node edge-0's, recorded in round 1).
cc -O2 -o "$work/raw_fleet" bench/fleet/raw_fleet.c -lmosquitto -lm
raw_run() { # [TASK_BYTES STATUS_BYTES] -> seconds, against a fresh broker
    local broker_pid port seconds
    start_broker "$work/raw-broker-$RANDOM"
    sleep 1
    # BROKER_PID: raw_fleet reads this broker's CPU over its job phase (saved for the round's line).
    BROKER_PID=$broker_pid timeout 300 "$work/raw_fleet" 127.0.0.1 "$port" "$nodes" "$replies" "$raw_procs" "$@" > "$work/raw.out" 2> "$work/raw.err" || true
    field() { awk -v key="$1=" '{ for (i = 1; i <= NF; i++) if (index($i, key) == 1) print substr($i, length(key) + 1) }' "$work/raw.out"; }
    seconds=$(field seconds); field broker_cpu > "$work/raw_broker_cpu"
    kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true
    # A raw run that failed must not enter the ratio as 0 s.
    if [[ -z $seconds ]]; then echo "raw_fleet failed: $(tail -3 "$work/raw.err")" >&2; exit 1; fi
    echo "$seconds"
}
ratios=()
for ((k = 1; k <= rounds; k++)); do
    prepull_round "$k"
    replies=$(echo "scale=4; $events / $nodes" | bc)
    raw=$(raw_run "$task_bytes" "$status_bytes")
    ratio=$(echo "$completed / $raw" | bc -l)
    ratios+=("$ratio")
    if ((k == 1)); then
        printf '\nraw libmosquitto, same pattern (%.2f status messages per node; task %d bytes, statuses %s bytes; %d process(es)): %.2f s, its broker %.2f CPU s\n' \
            "$replies" "$task_bytes" "$status_bytes" "$raw_procs" "$raw" "$(cat "$work/raw_broker_cpu")"
        printf 'ratio prepull apply->Completed / raw: %.2f\n' "$ratio"
        # RAW_SMALL=1: also the placeholder payloads used before 2026-12-01 (task 70, statuses 45 bytes).
        if [[ -n ${RAW_SMALL:-} ]]; then
            small=$(raw_run)
            printf 'raw with placeholder payloads (task 70, statuses 45 bytes): %.2f s, ratio %.2f\n' "$small" "$(echo "$completed / $small" | bc -l)"
        fi
    fi
    if ((rounds > 1)); then printf 'round %d: %s; raw %.2f s (its broker %.2f CPU s); ratio %.2f\n' "$k" "$round_line" "$raw" "$(cat "$work/raw_broker_cpu")" "$ratio"; fi
    sleep 1
done
if ((rounds > 1)); then
    printf 'median ratio over %d rounds: %.2f (each round: a job on the same fleet, then a raw run)\n' "$rounds" \
        "$(median "${ratios[@]}")"
fi
