#!/usr/bin/env bash
# Starts a core broker and one regional broker per REGION, joined by mTLS bridges, each a
# throwaway mosquitto in a temp dir on a free loopback port; prints "core PORT" and "REGION PORT"
# lines, then waits; SIGINT/SIGTERM stops them all and removes the temp dirs.
#   broker/regions.sh CERTDIR REGION...
# CERTDIR: from broker/certs.sh, with bridge-REGION certificates for every region, e.g.
#   broker/certs.sh certs bridge-eu bridge-us edge-eu-1 edge-us-1
# The cloud connects to the core with --topic-root fleet/events; edge nodes to their region with
# the default $hw/events (docs/regions.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ $# -ge 2 ]] || { echo "usage: $0 CERTDIR REGION..." >&2; exit 2; }
certs=$(cd "$1" && pwd); shift
command -v mosquitto >/dev/null || { echo "mosquitto is not installed (apt-get install mosquitto)" >&2; exit 1; }
for region in "$@"; do
    [[ -f $certs/bridge-$region.crt ]] || { echo "no $certs/bridge-$region.crt: broker/certs.sh $certs bridge-$region" >&2; exit 2; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d -t prepull-regions.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 0' INT TERM
start() { # NAME CONF PORT
    local name=$1 conf=$2 port=$3
    [[ $(id -u) -eq 0 ]] && echo "user root" >> "$conf"
    echo "log_dest file $work/$name/mosquitto.log" >> "$conf"
    mosquitto -c "$conf" &
    pids+=($!)
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/$name/mosquitto.log" >&2; exit 1; }
        sleep 0.05
    done
}
core_port=$(free_port)
mkdir -p "$work/core/data"
{ cat "$here/acl-core"; for region in "$@"; do "$here/bridge-acl.sh" "$region"; done; } > "$work/core/acl-core"
sed -e "s|^listener 8883.*|listener $core_port 127.0.0.1|" -e "s|/etc/prepull/certs|$certs|g" \
    -e "s|/etc/prepull/acl-core|$work/core/acl-core|" -e "s|/var/lib/prepull/mosquitto/|$work/core/data/|" \
    "$here/core.conf" > "$work/core/mosquitto.conf"
start core "$work/core/mosquitto.conf" "$core_port"
echo "core $core_port"
for region in "$@"; do
    port=$(free_port)
    mkdir -p "$work/$region/data"
    sed -e "s|^listener 8883.*|listener $port 127.0.0.1|" -e "s|/etc/prepull/certs|$certs|g" \
        -e "s|/etc/prepull/acl|$here/acl|" -e "s|/var/lib/prepull/mosquitto/|$work/$region/data/|" \
        -e "s|CORE_HOST:CORE_PORT|127.0.0.1:$core_port|" -e "s|REGION|$region|g" \
        "$here/region.conf" > "$work/$region/mosquitto.conf"
    start "$region" "$work/$region/mosquitto.conf" "$port"
    echo "$region $port"
done
wait
