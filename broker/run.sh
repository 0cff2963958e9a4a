#!/usr/bin/env bash
# Starts a throwaway mosquitto in a temp dir on a free loopback port, prints the port on stdout,
# and stops it (and removes the temp dir) on SIGINT/SIGTERM.
#   broker/run.sh              plain, anonymous (broker/mosquitto.conf)
#   broker/run.sh --tls DIR    mTLS + ACL (broker/mosquitto-tls.conf) with certificates from certs.sh in DIR
#   --port N                   use N instead of a free port
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tls_dir="" port=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --tls) tls_dir=$(cd "$2" && pwd); shift 2 ;;
        --port) port=$2; shift 2 ;;
        *) echo "usage: $0 [--tls CERTDIR] [--port N]" >&2; exit 2 ;;
    esac
done
command -v mosquitto >/dev/null || { echo "mosquitto is not installed (apt-get install mosquitto)" >&2; exit 1; }
[[ -n $port ]] || port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work=$(mktemp -d -t prepull-broker.XXXXXX)
conf=$work/mosquitto.conf
if [[ -n $tls_dir ]]; then
    mkdir -p "$work/data"
    sed -e "s|^listener 8883.*|listener $port 127.0.0.1|" \
        -e "s|/etc/prepull/certs|$tls_dir|g" \
        -e "s|/etc/prepull/acl|$here/acl|" \
        -e "s|/var/lib/prepull/mosquitto/|$work/data/|" "$here/mosquitto-tls.conf" > "$conf"
else
    sed -e "s|^listener 1883.*|listener $port 127.0.0.1|" "$here/mosquitto.conf" > "$conf"
fi
# Throwaway copy only: as root, mosquitto would drop to user mosquitto and lose access to 0600 keys.
[[ $(id -u) -eq 0 ]] && echo "user root" >> "$conf"
echo "log_dest file $work/mosquitto.log" >> "$conf"
mosquitto -c "$conf" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 0' INT TERM
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/mosquitto.log" >&2; exit 1; }
    sleep 0.05
done
echo "$port"
wait "$pid"
