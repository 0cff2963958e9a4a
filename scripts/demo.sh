#!/usr/bin/env bash
# The main job end to end on real parts, on this machine:
#   mosquitto (mTLS + ACL) -> prepull cloud -> two prepull edge workers, each with its own containerd
#   -> a local OCI registry with test images built offline.
# Installs what is missing, builds, runs, prints the result, and stops everything (also on Ctrl-C).
# Needs root (containerd).   scripts/demo.sh [--keep]   (--keep: leave the temp dir for inspection)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
keep=0
[[ ${1:-} == --keep ]] && keep=1
[[ $(id -u) -eq 0 ]] || { echo "demo: containerd needs root; run as root" >&2; exit 1; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing missing Debian packages"
scripts/install-deps.sh

step "Building prepull"
swift build --product prepull 2>&1 | grep -E "error|warning:|Compiling prepull|Build complete" || true
bin=$(swift build --show-bin-path)/prepull
[[ -x $bin ]] || { echo "demo: build failed" >&2; exit 1; }

work=$(mktemp -d -t prepull-demo.XXXXXX)
pids=()
cleanup() {
    set +e
    step "Stopping everything"
    # Newest first: workers and the controller say goodbye while the broker is still there.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null
        wait "${pids[i]}" 2>/dev/null
    done
    for node in edge-node-1 edge-node-2; do scripts/testbed/containerd.sh stop "$work/$node/containerd" 2>/dev/null; done
    scripts/testbed/registry.sh stop "$work/registry" 2>/dev/null
    if [[ $keep -eq 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "Certificates (CA, broker, cloud, monitor, edge-node-1, edge-node-2)"
broker/certs.sh "$work/certs" edge-node-1 edge-node-2

step "mosquitto with mTLS and the per-node ACL"
mqtt_port=$(free_port)
sed -e "s|^listener 8883.*|listener $mqtt_port 127.0.0.1|" -e "s|/etc/prepull/certs|$work/certs|g" \
    -e "s|/etc/prepull/acl|$root/broker/acl|" -e "s|/var/lib/prepull/mosquitto/|$work/mosquitto/|" \
    broker/mosquitto-tls.conf > "$work/mosquitto.conf"
mkdir -p "$work/mosquitto"
printf 'user root\nlog_dest file %s/mosquitto.log\n' "$work" >> "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" & pids+=($!)
until (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null; do sleep 0.05; done
echo "mqtts://localhost:$mqtt_port"

step "Local registry with images built offline (umoci + skopeo)"
registry=$(scripts/testbed/registry.sh start "$work/registry" --throttle $((16 * 1024 * 1024)))
scripts/testbed/images.sh build-and-push "$registry"

step "Two edge nodes, each with its own containerd"
declare -A sockets
for node in edge-node-1 edge-node-2; do
    sockets[$node]=$(scripts/testbed/containerd.sh start "$work/$node/containerd" "$registry")
    echo "$node: ${sockets[$node]}"
done

step "prepull cloud"
api_port=$(free_port)
tls() { echo --tls-ca "$work/certs/ca.crt" --tls-cert "$work/certs/$1.crt" --tls-key "$work/certs/$1.key"; }
# shellcheck disable=SC2046
"$bin" cloud --broker "mqtts://localhost:$mqtt_port" $(tls prepull-cloud) --data "$work/cloud" \
    --listen "127.0.0.1:$api_port" > "$work/cloud.log" 2>&1 & pids+=($!)
export PREPULL_SERVER=http://127.0.0.1:$api_port
until curl -sf "$PREPULL_SERVER/readyz" >/dev/null 2>&1; do sleep 0.1; done
echo "$PREPULL_SERVER"

step "prepull edge on both nodes"
for node in edge-node-1 edge-node-2; do
    # shellcheck disable=SC2046
    "$bin" edge --node "$node" --broker "mqtts://localhost:$mqtt_port" $(tls "$node") \
        --containerd "${sockets[$node]}" --state "$work/$node/state" --label "site=demo" \
        > "$work/$node/edge.log" 2>&1 & pids+=($!)
done
deadline=$((SECONDS + 60))
until "$bin" nodes 2>/dev/null | grep -Eq "^edge-node-2 +Ready" && "$bin" nodes | grep -Eq "^edge-node-1 +Ready"; do
    ((SECONDS < deadline)) || { echo "demo: the edge nodes are not Ready after 60 s:" >&2; "$bin" nodes >&2; exit 1; }
    sleep 0.2
done
"$bin" nodes

step "Applying examples/demo-job.yaml"
sed "s|REGISTRY|$registry|g" examples/demo-job.yaml | tee "$work/job.yaml"
"$bin" apply -f "$work/job.yaml"

step "prepull watch job demo-prepull"
status=0
"$bin" watch job demo-prepull || status=$?

step "prepull describe job demo-prepull"
"$bin" describe job demo-prepull

step "Images in each node's containerd (ctr -n k8s.io images ls)"
for node in edge-node-1 edge-node-2; do
    echo "--- $node"
    ctr -a "${sockets[$node]}" -n k8s.io images ls -q | grep -v '^sha256:' || true
done
exit $status
