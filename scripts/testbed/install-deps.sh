#!/usr/bin/env bash
# The testbed needs nothing beyond the project's package list: one script installs it all.
#   scripts/testbed/install-deps.sh [extra-package ...]
exec "$(cd "$(dirname "$0")/.." && pwd)/install-deps.sh" "$@"
