#!/usr/bin/env bash
# Regenerates Sources/ContainerdClient/Generated/ from Sources/ContainerdClient/Protos/.
# The generated code is committed: normal builds never run protoc or a SwiftPM build plugin.
#
# Builds the two protoc plugins once, outside the repository, in $PROTOC_PLUGINS_DIR
# (default /tmp/protoc-plugins), from the same package versions Package.swift uses:
#   protoc-gen-swift          from apple/swift-protobuf   1.39.0
#   protoc-gen-grpc-swift-2   from grpc/grpc-swift-protobuf 2.4.1
# Sources come from the local package mirror (/opt/swift-packages) when present, else GitHub.
# Needs protoc (Debian: protobuf-compiler). Swift builds go through the shared build lock.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
plugins=${PROTOC_PLUGINS_DIR:-/tmp/protoc-plugins}
protos=$root/Sources/ContainerdClient/Protos
out=$root/Sources/ContainerdClient/Generated
lock=${PREPULL_BUILD_LOCK:-/tmp/prepull-build.lock}

SWIFT_PROTOBUF_VERSION=1.39.0
GRPC_SWIFT_PROTOBUF_VERSION=2.4.1

command -v protoc >/dev/null || "$root/scripts/install-deps.sh" protobuf-compiler
command -v protoc >/dev/null || { echo "gen-proto: protoc not found" >&2; exit 1; }

source_of() { # source_of OWNER/NAME
  if [[ -d /opt/swift-packages/$1.git ]]; then echo "/opt/swift-packages/$1.git"; else echo "https://github.com/$1.git"; fi
}

build_plugin() { # build_plugin OWNER/NAME VERSION PRODUCT
  local repo=$1 version=$2 product=$3
  local dir=$plugins/${repo#*/}-$version
  local bin=$dir/.build/release/$product
  if [[ ! -x $bin ]]; then
    if [[ ! -d $dir/.git ]]; then
      rm -rf "$dir"
      git clone --quiet --depth 1 --branch "$version" "$(source_of "$repo")" "$dir" 2>/dev/null ||
        git clone --quiet --branch "$version" "$(source_of "$repo")" "$dir"
    fi
    echo "gen-proto: building $product $version (once, in $dir)" >&2
    flock "$lock" swift build -c release --package-path "$dir" --product "$product" >&2
  fi
  echo "$bin"
}

mkdir -p "$plugins"
swift_plugin=$(build_plugin apple/swift-protobuf "$SWIFT_PROTOBUF_VERSION" protoc-gen-swift)
grpc_plugin=$(build_plugin grpc/grpc-swift-protobuf "$GRPC_SWIFT_PROTOBUF_VERSION" protoc-gen-grpc-swift-2)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$protos" && find . -name '*.proto' | sort ) >"$tmp/list"
mapfile -t files <"$tmp/list"
mkdir -p "$tmp/out"
# Generated types stay internal: the module's public API is its own wrappers (so, e.g., the
# AuthConfig message with its password never leaves the module). gRPC: client stubs only.
cd "$protos"
protoc --proto_path=. \
  --plugin=protoc-gen-swift="$swift_plugin" \
  --swift_out="$tmp/out" --swift_opt=Visibility=Internal,FileNaming=PathToUnderscores \
  --plugin=protoc-gen-grpc-swift="$grpc_plugin" \
  --grpc-swift_out="$tmp/out" \
  --grpc-swift_opt=Visibility=Internal,Server=false,Client=true,FileNaming=PathToUnderscores \
  "${files[@]}"

rm -rf "$out"
mkdir -p "$out"
cp "$tmp"/out/*.swift "$out/"
echo "gen-proto: wrote $(ls "$out" | wc -l) files to ${out#"$root"/}" >&2
ls "$out"
