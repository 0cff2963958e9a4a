#!/usr/bin/env bash
# Builds the lean node binary `prepull-edge` (release) into .build-edge/release/prepull-edge.
#
# Its own build directory, because every module (dependencies too) is compiled with one section per
# function: only then can the linker lay out the functions start-up and idle run together
# (Sources/prepull-edge/hot-symbols.txt), which is most of the worker's idle footprint
# (BENCHMARKS.md, edge). Other builds keep their flags and their caches.
#
#   scripts/build-edge.sh            # prints the binary's path
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build-edge/release/prepull-edge
# SwiftPM does not know the ordering file is a link input: relink when it changed.
[[ Sources/prepull-edge/hot-symbols.txt -nt $binary ]] && rm -f "$binary"
scripts/swiftb build -c release --product prepull-edge --scratch-path .build-edge \
    -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections >&2
echo "$PWD/.build-edge/release/prepull-edge"
