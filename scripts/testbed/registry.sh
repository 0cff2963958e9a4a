#!/usr/bin/env bash
# A real OCI registry (docker-registry, distribution 2.8) on 127.0.0.1 and a free port.
#   registry.sh start DIR [--htpasswd USER:PASS]   prints host:port; pid in DIR/registry.pid
#   registry.sh stop DIR
# DIR holds config.yml, data/, registry.log (and htpasswd); the address is also in DIR/address.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

usage() { die "usage: registry.sh start DIR [--htpasswd USER:PASS] | registry.sh stop DIR"; }

cmd=${1:-}; dir=${2:-}
[[ -n $cmd && -n $dir ]] || usage
shift 2

case $cmd in
start)
  creds=""
  while (($#)); do
    case $1 in
      --htpasswd) creds=${2:?--htpasswd needs USER:PASS}; shift 2 ;;
      *) usage ;;
    esac
  done
  bin=$(command -v docker-registry || echo /usr/bin/docker-registry)
  [[ -x $bin ]] || die "docker-registry not installed (run scripts/testbed/install-deps.sh)"
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  [[ -f $dir/registry.pid ]] && alive "$(<"$dir/registry.pid")" && die "already running in $dir"

  auth=""
  if [[ -n $creds ]]; then
    command -v htpasswd >/dev/null || die "htpasswd not installed (apache2-utils)"
    user=${creds%%:*}; pass=${creds#*:}
    htpasswd -Bbn "$user" "$pass" >"$dir/htpasswd" 2>/dev/null
    auth="auth:
  htpasswd:
    realm: prepull-test
    path: $dir/htpasswd"
  fi

  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
  secret: prepull-testbed-$RANDOM$RANDOM
$auth
YAML
    (close_inherited_fds; exec setsid "$bin" serve "$dir/config.yml" </dev/null >>"$dir/registry.log" 2>&1) &
    pid=$!
    echo "$pid" >"$dir/registry.pid"
    # /v2/ answers 200 (open) or 401 (basic auth) once the registry listens.
    registry_ready() {
      alive "$pid" || return 1
      local code
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/") || return 1
      [[ $code == 200 || $code == 401 ]]
    }
    if wait_until 10 registry_ready; then
      echo "127.0.0.1:$port" >"$dir/address"
      echo "127.0.0.1:$port"
      exit 0
    fi
    stop_pidfile "$dir/registry.pid"
    echo "registry.sh: attempt $attempt on port $port failed, retrying" >&2
  done
  tail -20 "$dir/registry.log" >&2 || true
  die "registry did not start"
  ;;
stop)
  stop_pidfile "$dir/registry.pid"
  ;;
*) usage ;;
esac
