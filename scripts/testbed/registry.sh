#!/usr/bin/env bash
# A real OCI registry (docker-registry, distribution 2.8) on 127.0.0.1 and a free port.
#   registry.sh start DIR [--htpasswd USER:PASS] [--throttle BYTES_PER_SEC]
#       prints host:port; pid in DIR/registry.pid
#       --throttle: the printed address is a proxy (throttle-proxy.py, pid in DIR/proxy.pid) that
#       limits the rate of everything served (all connections together), e.g. 8388608 = 8 MiB/s
#   registry.sh stop DIR
# DIR holds config.yml, data/, registry.log (and htpasswd); the address is also in DIR/address.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

usage() { die "usage: registry.sh start DIR [--htpasswd USER:PASS] [--throttle BYTES_PER_SEC] | registry.sh stop DIR"; }

cmd=${1:-}; dir=${2:-}
[[ -n $cmd && -n $dir ]] || usage
shift 2

case $cmd in
start)
  creds=""; throttle=""
  while (($#)); do
    case $1 in
      --htpasswd) creds=${2:?--htpasswd needs USER:PASS}; shift 2 ;;
      --throttle) throttle=${2:?--throttle needs BYTES_PER_SEC}; shift 2 ;;
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

  start_proxy() { # start_proxy TARGET: prints the proxy's address
    local target=$1 attempt pport ppid
    for attempt in 1 2 3; do
      pport=$(free_port)
      (close_inherited_fds; exec setsid python3 "$here/throttle-proxy.py" "$pport" "$target" "$throttle" \
        </dev/null >>"$dir/proxy.log" 2>&1) &
      ppid=$!
      echo "$ppid" >"$dir/proxy.pid"
      proxy_ready() { alive "$ppid" && (exec 3<>"/dev/tcp/127.0.0.1/$pport") 2>/dev/null; }
      if wait_until 10 proxy_ready; then echo "127.0.0.1:$pport"; return 0; fi
      stop_pidfile "$dir/proxy.pid"
    done
    return 1
  }

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
      address=127.0.0.1:$port
      if [[ -n $throttle ]]; then
        address=$(start_proxy "$address") || { stop_pidfile "$dir/registry.pid"; die "throttle proxy did not start"; }
      fi
      echo "$address" >"$dir/address"
      echo "$address"
      exit 0
    fi
    stop_pidfile "$dir/registry.pid"
    echo "registry.sh: attempt $attempt on port $port failed, retrying" >&2
  done
  tail -20 "$dir/registry.log" >&2 || true
  die "registry did not start"
  ;;
stop)
  stop_pidfile "$dir/proxy.pid"
  stop_pidfile "$dir/registry.pid"
  ;;
*) usage ;;
esac
