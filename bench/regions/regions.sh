#!/usr/bin/env bash
# Regions and replicas at scale: a core mosquitto and REGIONS regional ones joined by bridges (the
# topic mapping of the shipped broker/region.conf), NODES hollow nodes split across the regions,
# REPLICAS `prepull cloud` replicas on one PostgreSQL splitting the status stream
# ($share/cloud/fleet/events/...), and a 3-image job over every node (concurrency NODES).
# The baseline: the same message pattern without prepull (bench/fleet/raw_fleet.c: one task per
# node, as many status messages back, of the sizes of prepull's own (node r0-0's in round 1, as
# bench/fleet does), REPLICAS cloud clients in a shared subscription) over a fresh topology of the
# same shape, right after each job.
#   [ROUNDS=K (3)] [KILL=1] bench/regions/regions.sh [NODES=39000] [REGIONS=2] [REPLICAS=3]
# KILL=1 adds a round in which the replica that owns the job is killed (SIGKILL) once a third of
# the reports are in; its time is printed beside the others, outside the median.
# Prints per round: apply -> Completed, the raw time and the ratio; the replicas' peak RSS and CPU
# seconds, the brokers', PostgreSQL's and the fleet's CPU seconds; then the median ratio.
# TLS is off here (as in bench/fleet): the bridges carry the same topics as the shipped mTLS ones.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
nodes=${1:-39000}
regions=${2:-2}
replicas=${3:-3}
cd "$root"
config=${CONFIG:-release}
if [[ -z ${PREPULL_BIN:-} ]]; then swift build -c "$config" --product prepull >/dev/null; fi
bin=${PREPULL_BIN:-$(swift build -c "$config" --show-bin-path)/prepull}
work=$(mktemp -d -t prepull-regions.XXXXXX)
pids=()
source bench/lib.sh
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
chmod 755 "$work"
per_region=$(( (nodes + regions - 1) / regions ))
# One process holds ~19,700 descriptors: a hollow node takes 1, a raw libmosquitto client 3.
fleet_procs=$(( (per_region + 9999) / 10000 ))
raw_procs=$(( (3 * nodes + $(ulimit -n) - 257) / ($(ulimit -n) - 256) ))
((per_region <= 19500)) || { echo "$per_region nodes per regional broker: one mosquitto holds ~19,990 clients here; use more regions" >&2; exit 2; }

# --- PostgreSQL: its own cluster, as the tests start it (as nobody when root).
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [[ $(id -u) -eq 0 ]]; then setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; else "$@"; fi; }
mkdir -p "$work/pg" && chown 65534:65534 "$work/pg" 2>/dev/null || true
as_pg "$pgbin/initdb" -D "$work/pg/data" -U prepull --auth=trust -E UTF8 --locale=C --no-sync > "$work/pg/initdb.log"
pg_port=$(free_port)
as_pg "$pgbin/postgres" -D "$work/pg/data" -p "$pg_port" -k "$work/pg" -c listen_addresses=127.0.0.1 -c max_connections=200 \
    -c logging_collector=off > "$work/pg/postgres.log" 2>&1 & pg_pid=$!; pids+=($pg_pid)
until_true 30 "$pgbin/pg_isready" -h 127.0.0.1 -p "$pg_port" -q
psql -h 127.0.0.1 -p "$pg_port" -U prepull -d postgres -qc "CREATE DATABASE prepull"
store="postgres://prepull@127.0.0.1:$pg_port/prepull?sslmode=disable"

# --- Brokers: start_topology NAME sets core_port, region_ports (array), broker_pids (array).
# The regional config is the fleet broker's (loopback, no TLS, sized for 20,000 clients) plus the
# bridge block of broker/region.conf without its TLS lines.
bridge_block() { # REGION CORE_PORT
    sed -n '/^connection core/,$p' broker/region.conf | grep -v -E '^bridge_(cafile|certfile|keyfile|insecure)' |
        sed -e "s|CORE_HOST:CORE_PORT|127.0.0.1:$2|" -e "s|REGION|$1|g"
}
start_mosquitto() { # DIR PORT [EXTRA_FILE]
    mkdir -p "$1"
    sed -e "s|^listener 1883.*|listener $2 127.0.0.1|" broker/mosquitto-fleet.conf > "$1/mosquitto.conf"
    [[ -n ${3:-} ]] && cat "$3" >> "$1/mosquitto.conf"
    printf 'user root\nlog_dest file %s/mosquitto.log\n' "$1" >> "$1/mosquitto.conf"
    mosquitto -c "$1/mosquitto.conf" > "$1/stdout.log" 2>&1 & pids+=($!); broker_pids+=($!)
    until_true 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null
}
start_topology() { # NAME
    broker_pids=(); region_ports=()
    core_port=$(free_port)
    start_mosquitto "$work/$1/core" "$core_port"
    for ((r = 0; r < regions; r++)); do
        local p; p=$(free_port)
        mkdir -p "$work/$1/r$r"
        bridge_block "r$r" "$core_port" > "$work/$1/r$r/bridge.conf"
        start_mosquitto "$work/$1/r$r" "$p" "$work/$1/r$r/bridge.conf"
        region_ports+=("$p")
    done
    # The bridges are up once the core counts one client per region.
    until_true 30 bash -c "[[ \$(mosquitto_sub -h 127.0.0.1 -p $core_port -t '\$SYS/broker/clients/connected' -C 1 -W 3) -ge $regions ]]"
}
stop_topology() { for p in "${broker_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }

start_topology prepull
prepull_brokers=("${broker_pids[@]}")
prepull_core=$core_port
prepull_regions=("${region_ports[@]}")

# --- Replicas.
cloud_pids=(); apis=()
for ((i = 0; i < replicas; i++)); do
    api=$(free_port)
    "$bin" cloud --broker "mqtt://127.0.0.1:$prepull_core" --topic-root fleet/events --store "$store" --share-group cloud \
        --replica-id "bench-$i" --data "$work/cloud-$i" --listen "127.0.0.1:$api" --log-level warning > "$work/cloud-$i.log" 2>&1 &
    cloud_pids+=($!); pids+=($!); apis+=("http://127.0.0.1:$api")
done
for a in "${apis[@]}"; do until_true 60 curl -sf "$a/readyz" -o /dev/null; done
export PREPULL_SERVER=${apis[0]}

# --- The fleet: one per region, on its regional broker. No --stats-file: nothing here reads it, and
# summing every node's counters each second was 12 % of the fleet's CPU in a profile (PERF_ALL).
echo "starting $nodes hollow nodes over $regions regional brokers ($fleet_procs process(es) each), $replicas replicas..."
t0=$(now)
fleet_pids=()
for ((r = 0; r < regions; r++)); do
    n=$(( r == regions - 1 ? nodes - per_region * (regions - 1) : per_region ))
    "$bin" fleet --nodes "$n" --prefix "r$r-" --processes "$fleet_procs" --broker "mqtt://127.0.0.1:${prepull_regions[$r]}" \
        --topic-root '$hw/events' --pull-ms 0 --image-mib 10 --labels prepull.io/fleet=hollow \
        > "$work/fleet-r$r.log" 2>&1 & fleet_pids+=($!); pids+=($!)
done
online() {
    for p in "${fleet_pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "a fleet exited:" >&2; tail -5 "$work"/fleet-r*.log >&2; exit 1; }; done
    [[ $(curl -sf "$PREPULL_SERVER/metrics" | awk '/^prepull_nodes_online / { print int($2) }') -ge $nodes ]]
}
until_true 600 online
printf 'fleet online on every replica: %.1f s\n' "$(echo "$(now) - $t0" | bc)"
for a in "${apis[@]}"; do until_true 60 bash -c "[[ \$(curl -sf $a/metrics | awk '/^prepull_nodes_online / { print int(\$2) }') -ge $nodes ]]"; done

metric() { curl -sf "$1/metrics" | awk -v s="$2" 'index($0, s " ") == 1 { print $NF; f = 1 } END { if (!f) print 0 }'; }
# Report gaps and tasks re-sent to repair them, summed over the live replicas: "gaps/gap/silence/replica_lost".
repairs() {
    local a g=0 r1=0 r2=0 r3=0
    for a in "${apis[@]}"; do
        curl -sf "$a/metrics" -o "$work/m" 2>/dev/null || continue
        g=$((g + $(awk '/^prepull_report_gaps_total / { print int($2) }' "$work/m")))
        r1=$((r1 + $(awk '/^prepull_report_repairs_total\{reason="gap"\}/ { print int($2) }' "$work/m")))
        r2=$((r2 + $(awk '/^prepull_report_repairs_total\{reason="silence"\}/ { print int($2) }' "$work/m")))
        r3=$((r3 + $(awk '/^prepull_report_repairs_total\{reason="replica_lost"\}/ { print int($2) }' "$work/m")))
    done
    echo "$g $r1 $r2 $r3"
}
pg_cpu() { local t=0 p; for p in $(pgrep -u 65534 postgres 2>/dev/null || pgrep -f "$pgbin/postgres"); do t=$(echo "$t + $(cpu_seconds "$p")" | bc); done; echo "$t"; }
sum_cpu() { local t=0 p; for p in "$@"; do t=$(echo "$t + $(tree_sum cpu_seconds "$p")" | bc); done; echo "$t"; }
job_yaml_hollow() { # NAME TAG
    printf 'apiVersion: operations.kubeedge.io/v1alpha2\nkind: ImagePrePullJob\nmetadata: {name: %s}\nspec:\n  imagePrePullTemplate:\n    images: [registry.local/app/a:%s, registry.local/app/b:%s, registry.local/app/c:%s]\n    labelSelector: {matchLabels: {prepull.io/fleet: hollow}}\n    concurrency: %s\n    timeoutSeconds: 600\n    failureTolerate: "0"\n' \
        "$1" "$2" "$2" "$2" "$nodes"
}

prepull_round() { # K KILL(0/1): one job, timed; sets completed, statuses, round_line
    local k=$1 kill_owner=$2 name="regions-bench-$1"
    rm -f "$work/t_completed"
    ( stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$prepull_core" -q 0 -t "fleet/events/prepull/jobs/$name/status" -F '%U %p' |
        stdbuf -oL tee "$work/summaries-$k.log" | { grep -q -m1 -E '"phase":"(Completed|Failure)"'; now > "$work/t_completed"; } ) & pids+=($!)
    if [[ $k == 1 ]]; then
        # The sizes of one node's messages (its task and its status reports, in order) as they pass the core.
        record_sizes "$prepull_core" "fleet/events/node/r0-0/prepull/$name" "$work/sizes"
    fi
    sleep 0.5
    local cpu0=() received0=() i statuses0=0
    # Peak RSS from here on (VmHWM reset): the previous round's `get` of the whole job is not this round's.
    for i in "${!cloud_pids[@]}"; do echo 5 > "/proc/${cloud_pids[$i]}/clear_refs" 2>/dev/null || true; done
    local repairs0; repairs0=$(repairs)
    for i in "${!cloud_pids[@]}"; do
        cpu0+=("$(cpu_seconds "${cloud_pids[$i]}")")
        received0+=("$(metric "${apis[$i]}" 'prepull_mqtt_messages_total{class="status",direction="in"}' | cut -d. -f1)")
        statuses0=$((statuses0 + received0[i]))
    done
    local broker0 fleet0 pg0; broker0=$(sum_cpu "${prepull_brokers[@]}"); fleet0=$(sum_cpu "${fleet_pids[@]}"); pg0=$(pg_cpu)
    job_yaml_hollow "$name" "$k$RANDOM" > "$work/job.yaml"
    # PERF=FILE: a call-graph profile of the replicas during round 1 (perf report -i FILE).
    local perf_pid=""
    if [[ -n ${PERF:-} && $k == 1 ]]; then
        perf record -q -g -F 499 -o "$PERF" -p "$(IFS=,; echo "${cloud_pids[*]}")" 2>/dev/null & perf_pid=$!
    fi
    # PERF_ALL=FILE: the same, of the whole machine (every process of the round: perf report --sort comm).
    if [[ -n ${PERF_ALL:-} && $k == 1 ]]; then
        perf record -q -a -g -F 499 -o "$PERF_ALL" 2>/dev/null & perf_pid=$!
    fi
    local t_apply; t_apply=$(now)
    # TRACE=DIR: every half second, the reports each replica has taken from MQTT so far, and the
    # job's summaries with their times, into DIR (when the last report came against Completed).
    local trace_pid=""
    if [[ -n ${TRACE:-} ]]; then
        mkdir -p "$TRACE"
        ( while :; do
            line="$(now)"; for a in "${apis[@]}"; do line+=" $(metric "$a" 'prepull_mqtt_messages_total{class="status",direction="in"}' | cut -d. -f1)"; done
            echo "$line"; sleep 0.5; done > "$TRACE/received-$k.log" ) & trace_pid=$!
        mosquitto_sub -h 127.0.0.1 -p "$prepull_core" -q 0 -t 'fleet/events/node/+/prepull/+/task' -F '%U' > "$TRACE/tasks-$k.log" & pids+=($!)
    fi
    "$bin" apply -f "$work/job.yaml" >/dev/null
    local killed="" killed_after=""
    if ((kill_owner)); then
        # Once about a third of the reports are in (4 per node), the owner goes.
        third() { local s=0 j; for j in "${!apis[@]}"; do s=$((s + $(metric "${apis[$j]}" 'prepull_mqtt_messages_total{class="status",direction="in"}' | cut -d. -f1))); done; ((s - statuses0 >= 4 * nodes / 3)); }
        until_true 300 third
        for i in "${!apis[@]}"; do [[ $(metric "${apis[$i]}" prepull_jobs_owned | cut -d. -f1) == 1 ]] && killed=$i; done
        [[ -n $killed ]] || { echo "no replica owns the job" >&2; exit 1; }
        kill -9 "${cloud_pids[$killed]}"
        killed_after=$(echo "$(now) - $t_apply" | bc)
    fi
    until_true 900 test -s "$work/t_completed" || { echo "no Completed/Failure summary within 900 s" >&2; tail -20 "$work"/cloud-*.log >&2; exit 1; }
    completed=$(echo "$(cat "$work/t_completed") - $t_apply" | bc)
    if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
    if [[ -n $trace_pid ]]; then kill "$trace_pid"; wait "$trace_pid" 2>/dev/null || true; echo "$t_apply" > "$TRACE/apply-$k"; cp "$work/summaries-$k.log" "$TRACE/"; fi
    local cpus=() rss=() received=()
    statuses=0
    for i in "${!cloud_pids[@]}"; do
        if kill -0 "${cloud_pids[$i]}" 2>/dev/null; then
            cpus+=("$(printf '%.1f' "$(echo "$(cpu_seconds "${cloud_pids[$i]}") - ${cpu0[$i]}" | bc)")")
            rss+=("$(peak_rss_mib "${cloud_pids[$i]}")")
            local r; r=$(metric "${apis[$i]}" 'prepull_mqtt_messages_total{class="status",direction="in"}' | cut -d. -f1)
            received+=("$((r - received0[i]))"); statuses=$((statuses + r))
        else
            cpus+=(killed); rss+=(killed); received+=(killed)
        fi
    done
    statuses=$((statuses - statuses0))
    local repairs1; repairs1=$(repairs)
    local repaired; repaired=$(paste <(tr ' ' '\n' <<< "$repairs0") <(tr ' ' '\n' <<< "$repairs1") | awk '{ printf "%s%d", (NR > 1 ? "/" : ""), $2 - $1 }')
    local broker fleet pg
    broker=$(echo "$(sum_cpu "${prepull_brokers[@]}") - $broker0" | bc); fleet=$(echo "$(sum_cpu "${fleet_pids[@]}") - $fleet0" | bc); pg=$(echo "$(pg_cpu) - $pg0" | bc)
    local api_alive=${apis[0]}
    [[ $killed == 0 ]] && api_alive=${apis[1]}
    # From the job's one-row Table (phase, nodes, successful, ...): the whole object of a 39,000-node
    # job is tens of megabytes, and rendering it left the replica's heap hundreds of MiB larger.
    local row phase successful
    row=$(curl -sf -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io' "$api_alive/apis/operations.kubeedge.io/v1alpha2/imageprepulljobs/$name")
    phase=$(jq -r '.rows[0].cells[1] // ""' <<< "$row"); successful=$(jq -r '.rows[0].cells[3] // 0' <<< "$row")
    round_line=$(printf '%s, %d of %d Successful, apply -> Completed %.2f s%s; replicas: reports received [%s], gaps/repairs (gap, silence, replica lost) %s, CPU s [%s], peak RSS MiB [%s]; brokers %.1f, PostgreSQL %.1f, fleet %.1f CPU s' \
        "$phase" "$successful" "$nodes" "$completed" "${killed:+ (replica $killed killed at ${killed_after} s)}" \
        "$(IFS=,; echo "${received[*]}")" "$repaired" "$(IFS=,; echo "${cpus[*]}")" "$(IFS=,; echo "${rss[*]}")" "$broker" "$pg" "$fleet")
    [[ $phase == Completed && $successful == "$nodes" ]] || { echo "round $k: $round_line" >&2; exit 1; }
    pkill -f "mosquitto_sub -h 127.0.0.1 -p $prepull_core " || true
    if [[ $k == 1 ]]; then
        read_sizes "$work/sizes" r0-0
        echo "message sizes (node r0-0): task $task_bytes B, statuses $status_bytes B"
    fi
    PREPULL_SERVER=$api_alive "$bin" delete job "$name" >/dev/null
}

cc -O2 -o "$work/raw_fleet" bench/fleet/raw_fleet.c -lmosquitto -lm
raw_run() { # -> seconds: the same pattern over a fresh topology of the same shape
    start_topology "raw-$RANDOM"
    local ports; ports=$(IFS=,; echo "${region_ports[*]}")
    RAW_NODE_PORTS=$ports RAW_CLOUD_PORT=$core_port RAW_CLOUD_ROOT=fleet/events RAW_CLOUDS=$replicas \
        BROKER_PID=$(IFS=,; echo "${broker_pids[*]}") \
        timeout 600 "$work/raw_fleet" 127.0.0.1 "$core_port" "$nodes" "$replies" "$raw_procs" "$task_bytes" "$status_bytes" > "$work/raw.out" 2> "$work/raw.err" || true
    stop_topology
    local seconds; seconds=$(awk '{ for (i = 1; i <= NF; i++) if (index($i, "seconds=") == 1) print substr($i, 9) }' "$work/raw.out")
    [[ -n $seconds ]] || { echo "raw_fleet failed: $(tail -3 "$work/raw.err")" >&2; exit 1; }
    echo "$seconds"
}

rounds=${ROUNDS:-3}
ratios=()
echo "$nodes nodes, $regions regional brokers, $replicas replicas on PostgreSQL, 3 images, concurrency $nodes"
for ((k = 1; k <= rounds; k++)); do
    prepull_round "$k" 0
    replies=$(echo "scale=4; $statuses / $nodes" | bc)
    raw=$(raw_run)
    ratio=$(echo "$completed / $raw" | bc -l)
    ratios+=("$ratio")
    printf 'round %d: %s; raw %.2f s (%.2f statuses per node, %d clouds sharing; brokers %.1f CPU s); ratio %.2f\n' \
        "$k" "$round_line" "$raw" "$replies" "$replicas" "$(awk '{ for (i = 1; i <= NF; i++) if (index($i, "broker_cpu=") == 1) print substr($i, 12) }' "$work/raw.out")" "$ratio"
done
printf 'median ratio over %d rounds: %.2f\n' "$rounds" "$(median "${ratios[@]}")"
if [[ -n ${KILL:-} ]]; then
    prepull_round kill 1
    printf 'with the owner killed: %s (against the median raw above)\n' "$round_line"
fi
