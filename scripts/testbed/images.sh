#!/usr/bin/env bash
# Builds the test images offline (umoci) and pushes them to a local registry (skopeo).
#   images.sh build-and-push REGISTRY [--creds USER:PASS] [--only tiny|multilayer]...
#   images.sh build CACHE_DIR          (only builds the OCI layout)
# Images:
#   prepull/tiny:1.0        one layer, a few KiB
#   prepull/multilayer:1.0  4 layers of 8 MiB of /dev/urandom each (incompressible, 32 MiB + a
#                           few KiB in all; the content is random, the sizes are fixed)
# The OCI layout is built once per cache dir (PREPULL_IMAGE_CACHE, default
# /tmp/prepull-testbed-images-v$LAYOUT_VERSION-$UID) and reused; it is built in a temp dir and renamed into place,
# so concurrent runs never see half a layout. Prints one pushed reference per line.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

usage() { die "usage: images.sh build-and-push REGISTRY [--creds USER:PASS] [--only NAME]... | images.sh build CACHE_DIR"; }

LAYOUT_VERSION=1 # bump when the images change, so old caches are not reused
MULTILAYER_LAYERS=4
MULTILAYER_LAYER_MIB=8

build_layout() { # build_layout DEST: creates the OCI layout DEST with both images
  local dest=$1
  [[ -f $dest/index.json ]] && return 0
  command -v umoci >/dev/null || die "umoci not installed (run scripts/testbed/install-deps.sh)"
  mkdir -p "$(dirname "$dest")"
  local work
  work=$(mktemp -d "$(dirname "$dest")/.build.XXXXXX")
  local oci=$work/oci
  umoci init --layout "$oci"

  # tiny: one small layer
  umoci new --image "$oci:tiny"
  umoci unpack --image "$oci:tiny" "$work/tiny"
  mkdir -p "$work/tiny/rootfs/etc"
  printf 'prepull tiny test image\n' >"$work/tiny/rootfs/etc/prepull-tiny"
  head -c 2048 /dev/urandom >"$work/tiny/rootfs/etc/prepull-tiny.bin"
  umoci repack --refresh-bundle --image "$oci:tiny" "$work/tiny"
  umoci config --image "$oci:tiny" --config.cmd /bin/true --author prepull
  rm -rf "$work/tiny"

  # multilayer: one incompressible layer per repack
  umoci new --image "$oci:multilayer"
  umoci unpack --image "$oci:multilayer" "$work/ml"
  mkdir -p "$work/ml/rootfs/data"
  local i
  for ((i = 1; i <= MULTILAYER_LAYERS; i++)); do
    head -c $((MULTILAYER_LAYER_MIB * 1024 * 1024)) /dev/urandom >"$work/ml/rootfs/data/layer$i.bin"
    umoci repack --refresh-bundle --image "$oci:multilayer" "$work/ml"
  done
  umoci config --image "$oci:multilayer" --config.cmd /bin/true --author prepull
  rm -rf "$work/ml"
  umoci gc --layout "$oci"

  if ! mv -T "$oci" "$dest" 2>/dev/null; then
    [[ -f $dest/index.json ]] || die "could not move layout into $dest"
  fi
  rm -rf "$work"
}

cmd=${1:-}
case $cmd in
build)
  [[ -n ${2:-} ]] || usage
  build_layout "$2/oci"
  ;;
build-and-push)
  registry=${2:-}
  [[ -n $registry ]] || usage
  shift 2
  creds=""; only=()
  while (($#)); do
    case $1 in
      --creds) creds=${2:?--creds needs USER:PASS}; shift 2 ;;
      --only) only+=("${2:?--only needs tiny or multilayer}"); shift 2 ;;
      *) usage ;;
    esac
  done
  ((${#only[@]})) || only=(tiny multilayer)
  command -v skopeo >/dev/null || die "skopeo not installed (run scripts/testbed/install-deps.sh)"
  cache=${PREPULL_IMAGE_CACHE:-/tmp/prepull-testbed-images-v$LAYOUT_VERSION-$(id -u)}
  build_layout "$cache/oci"
  dest_creds=()
  [[ -n $creds ]] && dest_creds=(--dest-creds "$creds")
  for name in "${only[@]}"; do
    case $name in tiny | multilayer) ;; *) die "unknown image $name" ;; esac
    ref="$registry/prepull/$name:1.0"
    # skopeo pushes the layers as umoci gzipped them (no recompression).
    if ! out=$(skopeo copy --quiet --dest-tls-verify=false "${dest_creds[@]}" \
      "oci:$cache/oci:$name" "docker://$ref" 2>&1 </dev/null); then
      echo "$out" >&2
      die "push of $ref failed"
    fi
    echo "$ref"
  done
  ;;
*) usage ;;
esac
