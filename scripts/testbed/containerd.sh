#!/usr/bin/env bash
# containerd 1.6 as root, everything under DIR (no systemd), CRI plugin enabled, and every given
# local registry configured as plain-http through config_path + certs.d/HOST:PORT/hosts.toml.
#   containerd.sh start DIR [REGISTRY(host:port)...]   prints the socket path; pid in DIR/containerd.pid
#   containerd.sh stop DIR                             stops it and unmounts what it left mounted
# Snapshotter: overlayfs when an overlay mount works under DIR, else native
# (override with PREPULL_SNAPSHOTTER=overlayfs|native). The CRI plugin uses the same one.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

usage() { die "usage: containerd.sh start DIR [REGISTRY...] | containerd.sh stop DIR"; }

cmd=${1:-}; dir=${2:-}
[[ -n $cmd && -n $dir ]] || usage
shift 2

overlay_works() { # overlay_works DIR: can we mount overlay under DIR?
  local t
  t=$(mktemp -d "$1/.overlay-probe.XXXXXX")
  mkdir -p "$t"/{l,u,w,m}
  local ok=1
  if mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m" 2>/dev/null; then
    umount "$t/m" && ok=0
  fi
  rm -rf "$t"
  return $ok
}

unmount_under() { # unmount_under DIR: unmounts every mount point below DIR, deepest first
  local d=$1
  awk -v d="$d/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

case $cmd in
start)
  [[ $(id -u) -eq 0 ]] || die "containerd needs root"
  bin=$(command -v containerd || echo /usr/bin/containerd)
  [[ -x $bin ]] || die "containerd not installed (run scripts/testbed/install-deps.sh)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ -f $dir/containerd.pid ]] && alive "$(<"$dir/containerd.pid")" && die "already running in $dir"
  sock=$dir/containerd.sock
  ((${#sock} < 100)) || die "socket path too long for a unix socket (${#sock} chars): $sock"

  snap=${PREPULL_SNAPSHOTTER:-}
  if [[ -z $snap ]]; then
    if overlay_works "$dir"; then snap=overlayfs; else snap=native; fi
  fi
  case $snap in
    overlayfs) disabled_snap='"io.containerd.snapshotter.v1.native",' ;;
    native) disabled_snap='"io.containerd.snapshotter.v1.overlayfs",' ;;
    *) die "unknown snapshotter $snap" ;;
  esac

  mkdir -p "$dir/root" "$dir/state" "$dir/certs.d" "$dir/cni/bin" "$dir/cni/net.d" "$dir/opt"
  for reg in "$@"; do
    mkdir -p "$dir/certs.d/$reg"
    cat >"$dir/certs.d/$reg/hosts.toml" <<TOML
server = "http://$reg"

[host."http://$reg"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
TOML
  done

  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
oom_score = 0
# Only what an image pre-puller needs: content, metadata, one snapshotter, CRI.
disabled_plugins = [
  $disabled_snap
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
  "io.containerd.internal.v1.restart",
  "io.containerd.monitor.v1.cgroups",
]

[grpc]
  address = "$sock"

[ttrpc]
  address = "$sock.ttrpc"

[debug]
  level = "info"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$dir/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    disable_tcp_service = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    disable_apparmor = true
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "$snap"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "$dir/cni/bin"
      conf_dir = "$dir/cni/net.d"
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "$dir/certs.d"
TOML

  start_ns=$(date +%s%N)
  (close_inherited_fds; exec setsid "$bin" --config "$dir/config.toml" </dev/null >>"$dir/containerd.log" 2>&1) &
  pid=$!
  echo "$pid" >"$dir/containerd.pid"
  echo "$snap" >"$dir/snapshotter"
  cri_ready() {
    alive "$pid" || return 2
    grep -q 'failed to load plugin io.containerd.grpc.v1.cri' "$dir/containerd.log" && return 2
    [[ -S $sock ]] || return 1
    ctr --address "$sock" plugins ls 2>/dev/null | awk '$2 == "cri" && $NF == "ok" { f = 1 } END { exit !f }'
  }
  rc=0
  for ((i = 0; i < 600; i++)); do # 30 s
    rc=0; cri_ready >/dev/null 2>&1 || rc=$?
    ((rc == 1)) || break
    sleep 0.05
  done
  if ((rc != 0)); then
    tail -30 "$dir/containerd.log" >&2 || true
    stop_pidfile "$dir/containerd.pid"
    die "containerd did not start with a working CRI plugin (log: $dir/containerd.log)"
  fi
  echo "$sock" >"$dir/address"
  echo "containerd: pid $pid, snapshotter $snap, ready in $(( ($(date +%s%N) - start_ns) / 1000000 )) ms" >>"$dir/containerd.log"
  echo "$sock"
  ;;
stop)
  [[ -d $dir ]] || exit 0
  dir=$(cd "$dir" && pwd)
  stop_pidfile "$dir/containerd.pid"
  unmount_under "$dir"
  ;;
*) usage ;;
esac
