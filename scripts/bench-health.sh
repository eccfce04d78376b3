#!/usr/bin/env bash
# Benchmarks the health engine at a generated ~14,000-node topology, with the simulator
# ticking in the server and a real Prometheus scraping it.
#
# What it does:
#   1. writes a topology with scripts/gen-topology.py (its templates list the demo's
#      checks), copies config/ (the demo's checks library) and the simulator plugin into a
#      temporary directory, and points app.yaml at the topology (planner TTL BENCH_TTL)
#   2. starts a real Prometheus (scripts/prometheus.sh, scrape interval 5s) scraping the
#      simulator, and `rackscope serve` (release build); waits until Prometheus has `up`
#      for every node and a recompute has measured every check without a failed query
#   3. reports the recomputes (wall time including Prometheus, queries per recompute)
#      from /api/stats/telemetry over BENCH_RECOMPUTES recomputes
#   4. wrk -t2 -c16 against the native /healthz and the cached health answers
#      rooms/{largest}/state, racks/{a rack}/state?include_metrics=true and alerts/active,
#      alternating, for BENCH_ROUNDS rounds; prints median and range of req/s and p99
#   5. prints the server's memory
#   Everything it started is stopped and the temporary directory removed on exit.
#
# Usage:
#   scripts/bench-health.sh
#
# Environment:
#   BENCH_NODES        node count for gen-topology.py (default 14000)
#   BENCH_TTL          planner.cache_ttl_seconds (default 10)
#   BENCH_MAX_IDS      planner.max_ids_per_query (default: the demo's app.yaml)
#   BENCH_RECOMPUTES   recomputes measured (default 5)
#   BENCH_THREADS, BENCH_CONNS, BENCH_DURATION, BENCH_WARMUP, BENCH_ROUNDS
#                      wrk settings (defaults 2, 16, 10s, 2s, 3)
#   BENCH_SKIP_BUILD   set to 1 to reuse the binary as is
#   BENCH_BIN          the binary (default target/release/rackscope)
set -euo pipefail

NODES=${BENCH_NODES:-14000}
TTL=${BENCH_TTL:-10}
MAX_IDS=${BENCH_MAX_IDS:-}
RECOMPUTES=${BENCH_RECOMPUTES:-5}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-16}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
ROUNDS=${BENCH_ROUNDS:-3}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_NAME=bench-health.sh
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"

ensure_wrk
require_tools curl python3
build_release

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rackscope-bench-health.XXXXXX")
SERVER_PID=""
PROM_STATE=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$PROM_STATE" ]; then
        PROMETHEUS_STATE_DIR=$PROM_STATE "$ROOT/scripts/prometheus.sh" stop >/dev/null 2>&1 || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- config ------------------------------------------------------------------------
dir=$TMP/run
mkdir -p "$dir/plugins"
cp -a "$ROOT/config" "$dir/config"
cp -a "$ROOT/plugins/simulator" "$dir/plugins/simulator"
python3 "$ROOT/scripts/gen-topology.py" "$NODES" "$dir/generated" >&2
sim_port=$(free_port)
sim_dir=$dir/config/plugins/simulator
rm -rf "$sim_dir/state"
printf 'overrides: []\n' >"$sim_dir/overrides/overrides.yaml"
cat >"$sim_dir/config/plugin.yaml" <<EOF
listen: 127.0.0.1:$sim_port
update_interval_seconds: 10
incident_mode: light
metrics_catalog_path: metrics/metrics_full.yaml
metrics_catalogs: [metrics/metrics_slurm.yaml]
EOF
python3 - "$dir/config/app.yaml" "$dir/generated" "$TTL" "$MAX_IDS" <<'PY'
import re, sys
path, gen, ttl, max_ids = sys.argv[1:]
text = open(path).read()
text = re.sub(r"(?m)^  topology: .*$", f"  topology: {gen}/topology", text)
text = re.sub(r"(?m)^  templates: .*$", f"  templates: {gen}/templates", text)
text = re.sub(r"(?m)^  cache_ttl_seconds: .*$", f"  cache_ttl_seconds: {ttl}", text)
if max_ids:
    text = re.sub(r"(?m)^  max_ids_per_query: .*$", f"  max_ids_per_query: {max_ids}", text)
text = re.sub(r"(?ms)^plugins:.*", "plugins:\n  simulator:\n    enabled: true\n", text)
open(path, "w").write(text)
PY

# --- processes ---------------------------------------------------------------------
PROM_STATE=$dir/prometheus
prom_url=$(PROMETHEUS_STATE_DIR=$PROM_STATE PROMETHEUS_SCRAPE_INTERVAL=5s "$ROOT/scripts/prometheus.sh" start "127.0.0.1:$sim_port")
port=$(free_port)
BASE=http://127.0.0.1:$port
log "starting rackscope on $BASE (Prometheus $prom_url)"
env -u RACKSCOPE_APP_CONFIG RACKSCOPE_LOG_LEVEL=warn PROMETHEUS_URL="$prom_url" \
    "$BIN" serve --config "$dir/config/app.yaml" --listen "127.0.0.1:$port" \
    </dev/null >"$dir/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/server.log" >&2; die "server exited"; }
    sleep 0.1
done

log "waiting for Prometheus to have up for every node"
for _ in $(seq 1 300); do
    have=$(curl -fsS "$prom_url/api/v1/query" --data-urlencode 'query=count(up{job="node"})' 2>/dev/null \
        | python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)' 2>/dev/null || echo 0)
    [ "$have" -ge "$NODES" ] 2>/dev/null && break
    sleep 1
done
log "Prometheus has up for $have nodes; waiting for complete recomputes"

# telemetry_field EXPR: a value of /api/stats/telemetry (python expression over t).
telemetry() { curl -fsS "$BASE/api/stats/telemetry" | python3 -c "import json, sys; t = json.load(sys.stdin); print($1)"; }

# Recomputes with no failed query, one line each: "took_ms queries".
samples=""
last=""
for _ in $(seq 1 $(( (RECOMPUTES + 3) * (TTL + 5) * 2 ))); do
    line=$(telemetry 't["planner"]["recomputes"], t["planner"]["last_took_ms"], t["last_batch"]["query_count"], t["planner"]["discovery_queries"], t["planner"]["failed_queries"], t["last_batch"]["total_ids"], round(t["planner"]["last_queries_ms"]), round(t["planner"]["last_assemble_ms"]), round(t["planner"]["last_answers_ms"]), t["planner"]["metric_queries"]')
    set -- $line
    if [ "$1" != "$last" ] && [ "$1" -ge 2 ] && [ "$5" = "0" ]; then
        samples+="$2 $3 $4 $6 $7 $8 $9 ${10}"$'\n'
        last=$1
        [ "$(printf '%s' "$samples" | grep -c .)" -ge "$RECOMPUTES" ] && break
    fi
    sleep 0.5
done

echo
max_ids=$(sed -n 's/^  max_ids_per_query: *\([0-9]*\).*/\1/p' "$dir/config/app.yaml")
echo "== health engine, generated topology of $NODES nodes; planner TTL ${TTL}s, max_ids_per_query $max_ids; wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds =="
printf '%s' "$samples" | awk '
    NF { n++; t[n] = $1; q = $2; d = $3; ids = $4; qm[n] = $5; am[n] = $6; vm[n] = $7; mq = $8 }
    END {
        if (n == 0) { print "no complete recompute measured"; exit }
        for (i = 2; i <= n; i++) for (j = i; j > 1 && t[j - 1] > t[j]; j--) { x = t[j]; t[j] = t[j - 1]; t[j - 1] = x }
        printf "recompute (wall time, Prometheus included): %.0f-%.0f ms (median %.0f) over %d recomputes; target < 1000 ms\n", t[1], t[n], t[int((n + 1) / 2)], n
        printf "queries per recompute: %d checks + %d discovery + %d metric queries (include_metrics: node temperature and power, rack components), 8 at once, for %d target ids\n", q, d, mq, ids
        for (i = 1; i <= n; i++) { split_q = split_q sep qm[i]; split_a = split_a sep am[i]; split_v = split_v sep vm[i]; sep = " " }
        printf "of which: waiting for the answers %s ms; states from the answers %s ms; then the answers built in %s ms\n", split_q, split_a, split_v
    }'
largest_room=$(curl -fsS "$BASE/api/rooms/states" | python3 -c 'import json, sys; print(next(iter(json.load(sys.stdin))))')
a_rack=$(curl -fsS "$BASE/api/rooms/$largest_room/state" | python3 -c 'import json, sys; print(next(iter(json.load(sys.stdin)["racks"])))')
for path in "/api/rooms/$largest_room/state" "/api/racks/$a_rack/state?include_metrics=true" "/api/alerts/active"; do
    printf 'answer size %s: %s bytes\n' "$path" "$(curl -fsS "$BASE$path" | wc -c)"
done

rows=""
for _ in $(seq 1 "$ROUNDS"); do
    rows+="$(run_wrk native "$BASE/healthz")"$'\n'
    rows+="$(run_wrk room "$BASE/api/rooms/$largest_room/state")"$'\n'
    rows+="$(run_wrk rack "$BASE/api/racks/$a_rack/state?include_metrics=true")"$'\n'
    rows+="$(run_wrk alerts "$BASE/api/alerts/active")"$'\n'
done
native_rps=$(summarize native "$rows" | cut -f2)
printf '%-56s %22s %24s  %s\n' route 'req/s median (range)' 'p99 ms median (range)' 'target: >= 0.5x native, p99 < 20 ms'
for name in native room rack alerts; do
    IFS=$'\t' read -r _ rps rmin rmax p99 pmin pmax <<<"$(summarize "$name" "$rows")"
    case $name in
        native) path="GET /healthz" ;;
        room) path="GET /api/rooms/$largest_room/state" ;;
        rack) path="GET /api/racks/$a_rack/state?include_metrics=true" ;;
        alerts) path="GET /api/alerts/active" ;;
    esac
    verdict=""
    if [ "$name" != native ]; then
        verdict=$(awk -v r="$rps" -v n="$native_rps" -v p="$p99" 'BEGIN { printf "%.2fx native, %s", r / n, (r >= 0.5 * n && p < 20) ? "OK" : "BELOW TARGET" }')
    fi
    printf '%-56s %22s %24s  %s\n' "$path" "$rps ($rmin-$rmax)" "$p99 ($pmin-$pmax)" "$verdict"
done
awk '$1 == "VmRSS:" || $1 == "VmHWM:" { printf "server (with the simulator) %s %.1f MiB\n", $1, $2 / 1024 }' "/proc/$SERVER_PID/status"
if grep -q 'ERROR' "$dir/server.log"; then
    log "server errors:"; grep 'ERROR' "$dir/server.log" | tail -5 >&2
fi
