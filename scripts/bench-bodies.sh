#!/usr/bin/env bash
# Memory cost of large request bodies: how much the server grows when clients send the
# largest bodies it accepts, and bodies it refuses.
#
# What it does:
#   1. cargo build --release (skip with BENCH_SKIP_BUILD=1)
#   2. copies config/ into a temporary directory and enables one plugin, "sink", with a
#      POST route that decodes its body
#   3. for each case, starts a fresh server (so peaks do not mix), reads VmRSS, sends the
#      case, then prints VmRSS before, VmHWM (peak) after, and the growth of the peak over
#      the starting RSS, in MiB, with the statuses answered:
#        refused-1M-numbers-config  POST /api/plugins/sink/config, ~1,000,000 numbers (< 2 MiB)
#        refused-1M-numbers-route-x4  four such POSTs to the plugin route at once
#        refused-100k-config        POST /api/plugins/sink/config, 99,990 numbers (a legal
#                                   body, but over the plugin-config cap: 422)
#        largest-legal-config       POST /api/plugins/sink/config, 9,990 numbers
#        largest-legal-route-x4     four POSTs of 99,990 numbers to the plugin route at once
#      Before the value cap (MAX_JSON_VALUES), the first case grew the server by ~470 MiB
#      and the second by ~770 MiB (issue 14's report).
#
# Usage: scripts/bench-bodies.sh
# Environment: BENCH_SKIP_BUILD=1 to reuse target/release/rackscope; BENCH_BIN the binary.
set -euo pipefail


ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_NAME=bench-bodies.sh
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
require_tools curl python3 bc

build_release

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rackscope-bench-bodies.XXXXXX")
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
trap 'stop_server; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

cp -a "$ROOT/config" "$TMP/config"
mkdir -p "$TMP/plugins/sink"
cat >"$TMP/plugins/sink/init.lua" <<'EOF'
return {
  id = "sink",
  setup = function()
    rackscope.route("POST", "/api/sink", function(req)
      local n = 0
      for _ in pairs(req.body.config or {}) do n = n + 1 end
      return { keys = n }
    end)
  end,
}
EOF
APP="$TMP/config/app.yaml"
awk '/^plugins:/ { skip = 1; next } skip && /^[^[:space:]#]/ { skip = 0 } !skip { print }' \
    "$APP" >"$APP.new"
printf 'plugins:\n  sink:\n    enabled: true\n' >>"$APP.new"
mv "$APP.new" "$APP"

python3 - "$TMP" <<'EOF'
import sys
tmp = sys.argv[1]
for name, n in (("huge", 1_000_000), ("legal", 99_990), ("cfg", 9_990)):
    with open(f"{tmp}/{name}.json", "w") as f:
        f.write('{"config": {"x": [' + ",".join(["0"] * n) + "]}}")
EOF

kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$SERVER_PID/status"; }

start_server() {
    PORT=$(free_port)
    BASE="http://127.0.0.1:$PORT"
    env -u RACKSCOPE_APP_CONFIG RACKSCOPE_LOG_LEVEL=warn PROMETHEUS_URL=http://127.0.0.1:9 \
        "$BIN" serve --config "$APP" --listen "127.0.0.1:$PORT" </dev/null >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if curl -fsS -o /dev/null "$BASE/api/plugins/sink" 2>/dev/null; then return; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "server exited"; }
        sleep 0.1
    done
    die "server did not come up"
}

post() { # post PATH FILE -> prints the status
    curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "@$2" "$BASE$1"
}

run_case() { # run_case NAME PATH FILE COPIES
    local name=$1 path=$2 file=$3 copies=$4 before peak statuses="" pids=() i
    start_server
    sleep 0.5
    before=$(kib VmRSS)
    for i in $(seq 1 "$copies"); do
        post "$path" "$file" >"$TMP/status.$i" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    for i in $(seq 1 "$copies"); do statuses+="$(cat "$TMP/status.$i") "; done
    peak=$(kib VmHWM)
    printf '%-30s status %-16s RSS before %6.1f MiB  peak %6.1f MiB  growth %6.1f MiB  (body %.2f MiB)\n' \
        "$name" "$statuses" "$(echo "$before / 1024" | bc -l)" "$(echo "$peak / 1024" | bc -l)" \
        "$(echo "($peak - $before) / 1024" | bc -l)" "$(echo "$(stat -c %s "$file") / 1048576" | bc -l)"
    stop_server
}

run_case refused-1M-numbers-config /api/plugins/sink/config "$TMP/huge.json" 1
run_case refused-1M-numbers-route-x4 /api/sink "$TMP/huge.json" 4
run_case refused-100k-config /api/plugins/sink/config "$TMP/legal.json" 1
run_case largest-legal-config /api/plugins/sink/config "$TMP/cfg.json" 1
run_case largest-legal-route-x4 /api/sink "$TMP/legal.json" 4
