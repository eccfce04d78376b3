#!/usr/bin/env bash
# The main job (README): builds rackscope, starts a real Prometheus on loopback that
# scrapes the simulator's endpoint (127.0.0.1:9000), and serves the embedded demo config
# (config/app.yaml) on http://127.0.0.1:8000 until Ctrl-C, which stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

LISTEN=${RACKSCOPE_LISTEN:-127.0.0.1:8000}
SIM_TARGET=${SIMULATOR_TARGET:-127.0.0.1:9000}

cargo build --release
url=$(scripts/prometheus.sh start "$SIM_TARGET")
trap 'scripts/prometheus.sh stop >/dev/null 2>&1 || true' EXIT INT TERM
echo "demo: Prometheus at $url (scraping $SIM_TARGET); rackscope at http://$LISTEN" >&2
PROMETHEUS_URL="$url" target/release/rackscope serve --config config/app.yaml --listen "$LISTEN"
