# Shell helpers the benchmark scripts share (sourced; needs $pids, an array, $work, and bash).

# Stops what the script started (children of each pid first), then removes $work (KEEP=1 keeps it).
cleanup() {
    for pid in "${pids[@]}"; do pkill -P "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n ${KEEP:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_broker DIR: mosquitto with broker/mosquitto-fleet.conf on a free loopback port, added to
# $pids; sets broker_pid and port (declare them local to keep them so), returns once it accepts.
start_broker() {
    local dir=$1
    port=$(free_port)
    mkdir -p "$dir"
    sed -e "s|^listener 1883.*|listener $port 127.0.0.1|" broker/mosquitto-fleet.conf > "$dir/mosquitto.conf"
    printf 'user root\nlog_dest file %s/mosquitto.log\n' "$dir" >> "$dir/mosquitto.conf"
    mosquitto -c "$dir/mosquitto.conf" > "$dir/stdout.log" 2>&1 & broker_pid=$!; pids+=($broker_pid)
    until_true 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
}
until_true() { local deadline=$((SECONDS + $1)); shift; until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.1; done; }
now() { date +%s.%N; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"; }
minor_faults() { awk '{ print $10 }' "/proc/$1/stat"; }
status_mib() { awk -v field="$2:" '$1 == field { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
peak_rss_mib() { status_mib "$1" VmHWM; }
rss_mib() { status_mib "$1" VmRSS; }
tree_pids() { echo "$1"; pgrep -P "$1" || true; }
# tree_sum FUNCTION PID: FUNCTION summed over PID and its children (the fleet's shard processes).
tree_sum() { local total=0 pid; for pid in $(tree_pids "$2"); do total=$(echo "$total + $("$1" "$pid")" | bc); done; echo "$total"; }
# record_sizes PORT TOPIC FILE: in the background (in $pids), "TOPIC BYTES" for every message on
# TOPIC/task and TOPIC/status (one node's `.../node/NAME/prepull/JOB`), for the raw baselines: the
# same pattern is the same count and the same sizes.
record_sizes() { ( mosquitto_sub -h 127.0.0.1 -p "$1" -q 1 -F '%t %l' -t "$2/task" -t "$2/status" > "$3" ) & pids+=($!); }
# read_sizes FILE NODE: sets task_bytes and status_bytes (comma-separated, in order) from record_sizes' FILE.
read_sizes() {
    task_bytes=$(awk '$1 ~ /\/task$/ { print $2; exit }' "$1")
    status_bytes=$(awk '$1 ~ /\/status$/ { print $2 }' "$1" | paste -sd, -)
    [[ -n $task_bytes && -n $status_bytes ]] || { echo "no message sizes recorded from $2" >&2; exit 1; }
}
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# start_cloud BIN BROKER_PORT DIR: `prepull cloud` on a free port (sets cloud_pid, exports
# PREPULL_SERVER), waits until it is ready.
start_cloud() {
    local api
    api=$(free_port)
    "$1" cloud --broker "mqtt://127.0.0.1:$2" --data "$3/cloud" --listen "127.0.0.1:$api" > "$3/cloud.log" 2>&1 & cloud_pid=$!; pids+=($cloud_pid)
    export PREPULL_SERVER=http://127.0.0.1:$api
    until_true 30 curl -sf "$PREPULL_SERVER/readyz" -o /dev/null
}
# start_fleet BIN BROKER_PORT NODES PROCESSES LABEL DIR [fleet flags...]: a hollow fleet labelled
# bench=LABEL, waited for until every node is online.
start_fleet() {
    local bin=$1 port=$2 nodes=$3 procs=$4 label=$5 dir=$6
    shift 6
    echo "starting $nodes hollow nodes in $procs process(es)..."
    "$bin" fleet --nodes "$nodes" --processes "$procs" --broker "mqtt://127.0.0.1:$port" --labels "bench=$label" "$@" \
        > "$dir/fleet.log" 2>&1 & fleet_pid=$!; pids+=($fleet_pid)
    until_true 300 fleet_online "$nodes"
    echo "fleet online"
}
fleet_online() { [[ $(curl -sf "$PREPULL_SERVER/api/v1/nodes" | jq '[.items[] | select(.status.prepull.state == "online")] | length') -ge $1 ]]; }
# job_yaml NAME LABEL NODES [TAG]: a 3-image job over the nodes labelled bench=LABEL, all at once.
# Images app:1..3, or with TAG app:TAG-1..3: hollow nodes keep what they pulled, so a job of the
# same images after the first finds them present and pulls nothing.
job_yaml() {
    local t=${4:+$4-}
    printf 'apiVersion: operations.kubeedge.io/v1alpha2\nkind: ImagePrePullJob\nmetadata: {name: %s}\nspec:\n  imagePrePullTemplate:\n    images: [app:%s1, app:%s2, app:%s3]\n    labelSelector: {matchLabels: {bench: %s}}\n    concurrency: %s\n    failureTolerate: "1"\n' "$1" "$t" "$t" "$t" "$2" "$3"
}
# The job's phase from its one-row Table (the whole object of a 10,000-node job is megabytes: polling
# it would cost the cloud more CPU than what the benchmarks measure).
job_phase() {
    curl -sf -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io' \
        "$PREPULL_SERVER/apis/operations.kubeedge.io/v1alpha2/imageprepulljobs/$1" | jq -r '.rows[0].cells[1] // ""'
}
job_finished() { local p; p=$(job_phase "$1"); [[ $p == Completed || $p == Failure ]]; }
