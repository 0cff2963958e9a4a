# Shell helpers the benchmark scripts share (sourced; needs $pids, an array, $work, and bash).

# Stops what the script started (children of each pid first), then removes $work (KEEP=1 keeps it).
cleanup() {
    for pid in "${pids[@]}"; do pkill -P "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n ${KEEP:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_broker DIR -> "PID PORT": mosquitto with broker/mosquitto-fleet.conf on a free loopback port.
start_broker() {
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
minor_faults() { awk '{ print $10 }' "/proc/$1/stat"; }
status_mib() { awk -v field="$2:" '$1 == field { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
peak_rss_mib() { status_mib "$1" VmHWM; }
rss_mib() { status_mib "$1" VmRSS; }
tree_pids() { echo "$1"; pgrep -P "$1" || true; }
# tree_sum FUNCTION PID: FUNCTION summed over PID and its children (the fleet's shard processes).
tree_sum() { local total=0 pid; for pid in $(tree_pids "$2"); do total=$(echo "$total + $("$1" "$pid")" | bc); done; echo "$total"; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
