#!/usr/bin/env bash
# The whole test suite against real parts: installs missing Debian packages, builds, runs every test.
# Tests start their own mosquitto, registry and containerd on random loopback ports / temp dirs and
# stop them by PID. containerd needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-tools.sh
swift build --build-tests
# Each test suite runs its own broker; the open-files soft limit must allow thousands of sockets.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Serial: suites start real daemons, and a loaded 2-core machine makes parallel suites starve each other.
swift test --skip-build --no-parallel
# The MQTT client under ThreadSanitizer (its own build folder; only the MQTT targets are compiled).
PREPULL_MQTT_ONLY=1 swift test --sanitize=thread --scratch-path .build-tsan --filter MQTTTests
# A short coverage-guided run of every libFuzzer target on the committed corpus (the long runs are
# in BENCHMARKS.md); a crash or a broken property fails the suite.
scripts/fuzz.sh --seconds 20
