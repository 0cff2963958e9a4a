#!/usr/bin/env bash
# Installs the Debian packages prepull builds and tests against, when they are missing.
#   scripts/install-deps.sh [extra-package ...]
# Idempotent and non-interactive (works with CI=true and no stdin); runs apt-get update at most once.
set -euo pipefail
packages=(
    pkg-config libssl-dev openssl python3          # build + certificates
    mosquitto mosquitto-clients libmosquitto-dev   # broker and the C client library
    containerd runc                                # the real runtime for edge tests and the demo
    docker-registry skopeo umoci                   # a real OCI registry, and images built offline
    apache2-utils jq curl                          # htpasswd for the private registry; JSON and HTTP in scripts
    tmux                                           # a real pseudo-terminal for the watch and top tests
    iproute2                                       # network namespaces and veth pairs for the partition test
    postgresql postgresql-client                   # PostgreSQL 15: the shared store (`--store postgres://...`) and its tests
    chromium chromium-driver fonts-dejavu-core     # a real browser for the dashboard tests
)
# Extra packages a caller needs (e.g. protobuf-compiler for scripts/gen-proto.sh).
packages+=("$@")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq </dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
# Debian starts the packaged services where it can; prepull runs its own copies on random ports.
for service in mosquitto containerd docker-registry; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
        $sudo systemctl stop "$service" || true
    fi
done
