#!/usr/bin/env bash
# The test command (README): installs what the tests need (a real Prometheus and a real
# VictoriaMetrics, Debian's `prometheus` and `victoria-metrics` packages; Python tools from
# PyPI in tmp/venv, scripts/python-tools.sh), then runs every test of the workspace, then
# the seed plugins' own Lua tests as a plugin author runs them (`rackscope plugin test`;
# the suite runs them too, in tests/plugin_kit.rs, but this prints each test).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing Debian's ${missing[*]} (the tests start real ones)" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# openapi-spec-validator and schemathesis for tests/openapi.rs and tests/schemathesis.rs,
# in a virtualenv under tmp/ (the tests run it too; installing first keeps that out of
# their time).
bash scripts/python-tools.sh >/dev/null

cargo test --all-targets -- --test-threads="${RACKSCOPE_TEST_THREADS:-4}"

cargo run --quiet -- plugin test plugins/simulator plugins/slurm
