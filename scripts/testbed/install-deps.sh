#!/usr/bin/env bash
# Installs the Debian packages the edge testbed needs, if any is missing.
# Idempotent, quiet and non-interactive (works under CI=true with no stdin).
#   scripts/testbed/install-deps.sh [extra-package ...]
set -euo pipefail

# package -> a command it provides (used to decide whether it is installed)
declare -A PROVIDES=(
  [containerd]=containerd
  [runc]=runc
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [umoci]=umoci
  [protobuf-compiler]=protoc
  [apache2-utils]=htpasswd
  [jq]=jq
)

missing=()
for pkg in "${!PROVIDES[@]}"; do
  cmd=${PROVIDES[$pkg]}
  if ! command -v "$cmd" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$cmd && ! -x /usr/bin/$cmd ]]; then
    missing+=("$pkg")
  fi
done
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (${missing[*]}) and not root; install them with apt-get" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } </dev/null >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed" >&2
  exit 1
fi
