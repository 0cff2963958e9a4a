#!/usr/bin/env bash
# Regenerates the Swift code of the project's .proto files, committed in each target's Generated/:
#   Sources/ContainerdClient/Protos   -> Generated/ (messages and gRPC client stubs: CRI, content)
#   Sources/KubernetesProtobuf/Protos -> Generated/ (messages: OpenAPI v2 document, Secret)
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
lock=${PREPULL_BUILD_LOCK:-/tmp/prepull-build.lock}

SWIFT_PROTOBUF_VERSION=1.39.0
GRPC_SWIFT_PROTOBUF_VERSION=2.4.1

"$root/scripts/install-deps.sh" protobuf-compiler libprotobuf-dev  # protoc, and the well-known types (google/protobuf/*.proto)
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

generate() { # generate TARGET-DIR GRPC(yes|no)
  local protos=$1/Protos out=$1/Generated grpc=$2
  local work=$tmp/${1##*/}
  mkdir -p "$work/out"
  ( cd "$protos" && find . -name '*.proto' | sort ) >"$work/list"
  mapfile -t files <"$work/list"
  # Generated types stay internal: each module's public API is its own wrappers (so, e.g., the
  # AuthConfig message with its password never leaves the module). gRPC: client stubs only.
  local grpc_args=()
  if [[ $grpc == yes ]]; then
    grpc_args=(--plugin=protoc-gen-grpc-swift="$grpc_plugin" --grpc-swift_out="$work/out"
      --grpc-swift_opt=Visibility=Internal,Server=false,Client=true,FileNaming=PathToUnderscores)
  fi
  (cd "$protos" && protoc --proto_path=. \
    --plugin=protoc-gen-swift="$swift_plugin" \
    --swift_out="$work/out" --swift_opt=Visibility=Internal,FileNaming=PathToUnderscores \
    "${grpc_args[@]}" "${files[@]}")
  rm -rf "$out"
  mkdir -p "$out"
  cp "$work"/out/*.swift "$out/"
  echo "gen-proto: wrote $(ls "$out" | wc -l) files to ${out#"$root"/}" >&2
}

generate "$root/Sources/ContainerdClient" yes
generate "$root/Sources/KubernetesProtobuf" no
