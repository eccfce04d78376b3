#!/usr/bin/env bash
# The test command (README): installs what the tests need (a real Prometheus from
# Debian's `prometheus` package), then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus >/dev/null 2>&1; then
    echo "test.sh: installing Debian's prometheus package (the tests start a real one)" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq prometheus >/dev/null
fi

cargo test --all-targets -- --test-threads="${RACKSCOPE_TEST_THREADS:-4}"
