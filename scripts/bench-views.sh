#!/usr/bin/env bash
# Benchmarks the read views (GET /api/sites, /api/rooms, a rack, a device) beside the
# native /healthz route, at a generated topology (default ~14,000 nodes).
#
# What it does:
#   1. release build; scripts/gen-topology.py writes the topology and templates into a
#      temporary directory; app.yaml there points at them, at the demo's checks and
#      metrics libraries, with no plugin enabled (the views do not depend on plugins)
#   2. starts `rackscope serve` on a free loopback port, waits for /healthz
#   3. prints the /api/sites body size, plain and gzipped (as served)
#   4. wrk -t2 -c16 (--latency) against /healthz, /api/sites (plain, and with
#      Accept-Encoding: gzip), /api/rooms, /api/racks/{id}, /api/racks/{id}/devices/{id},
#      in BENCH_ROUNDS alternating rounds; prints the median and range of req/s and p99,
#      each route's req/s as a ratio of /healthz in the same round, against the targets
#      of the performance spec (>= 0.5x native /healthz, p99 < 20 ms for sites and rooms;
#      /api/sites gzipped)
#   Everything it started is stopped and the temporary directory removed on exit.
#
# Usage:
#   scripts/bench-views.sh
#
# Environment:
#   BENCH_NODES        node count for gen-topology.py (default 14000)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_CONNS        wrk connections (default 16)
#   BENCH_DURATION     wrk duration per run (default 10s)
#   BENCH_WARMUP       warm-up per run, not reported (default 2s; 0 to skip)
#   BENCH_ROUNDS       alternating rounds (default 3)
#   BENCH_SKIP_BUILD   set to 1 to reuse the binary as is
#   BENCH_BIN          the binary (default target/release/rackscope)
set -euo pipefail

NODES=${BENCH_NODES:-14000}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-16}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
ROUNDS=${BENCH_ROUNDS:-3}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_NAME=bench-views.sh
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"

ensure_wrk
require_tools curl python3 awk gzip
build_release

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rackscope-bench-views.XXXXXX")
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- config ------------------------------------------------------------------------
log "generating a $NODES-node topology"
python3 "$ROOT/scripts/gen-topology.py" "$NODES" "$TMP/generated" >&2
cat >"$TMP/app.yaml" <<EOF
paths:
  topology: $TMP/generated/topology
  templates: $TMP/generated/templates
  checks: $ROOT/config/checks/library
  metrics: $ROOT/config/metrics/library
plugins: {}
EOF

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
RACKSCOPE_LOG_LEVEL=warn "$BIN" serve --config "$TMP/app.yaml" --listen "127.0.0.1:$PORT" \
    >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 200); do
    curl -sf "$BASE/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "the server exited"; }
    sleep 0.05
done
curl -sf "$BASE/healthz" >/dev/null || die "the server did not answer"

# A rack and a device of the largest room, for the per-id routes.
read -r RACK DEVICE < <(curl -sf "$BASE/api/sites" | python3 -c '
import json, sys
sites = json.load(sys.stdin)
rooms = [r for s in sites for r in s["rooms"]]
room = max(rooms, key=lambda r: sum(len(a["racks"]) for a in r["aisles"]))
rack = room["aisles"][0]["racks"][0]
print(rack["id"], rack["devices"][0]["id"])')

PLAIN=$(curl -sf "$BASE/api/sites" | wc -c)
GZ=$(curl -sf -H 'Accept-Encoding: gzip' "$BASE/api/sites" | wc -c)
INSTANCES=$(curl -sf "$BASE/api/sites" | python3 -c '
import json, re, sys
def count(name):
    m = re.search(r"\[(\d+)-(\d+)\]", name)
    return int(m.group(2)) - int(m.group(1)) + 1 if m else 1
n = 0
for s in json.load(sys.stdin):
    for r in s["rooms"]:
        for rk in [k for a in r["aisles"] for k in a["racks"]] + r["standalone_racks"]:
            for d in rk["devices"]:
                i = d["instance"]
                n += len(i) if isinstance(i, (list, dict)) else count(i)
print(n)')
log "topology: $NODES nodes requested; /api/sites is $PLAIN bytes, $GZ gzipped"

# --- load --------------------------------------------------------------------------

ROUTES=(
    "healthz|$BASE/healthz|"
    "sites_gzip|$BASE/api/sites|Accept-Encoding: gzip"
    "sites_plain|$BASE/api/sites|"
    "rooms|$BASE/api/rooms|"
    "rack|$BASE/api/racks/$RACK|"
    "device|$BASE/api/racks/$RACK/devices/$DEVICE|"
)
ROWS=""
for round in $(seq 1 "$ROUNDS"); do
    for spec in "${ROUTES[@]}"; do
        IFS='|' read -r name url header <<<"$spec"
        row=$(run_wrk "$name" "$url" "$header")
        log "round $round: $row"
        ROWS+="$round	$row"$'\n'
    done
done

# --- report ------------------------------------------------------------------------
printf '\nViews at %s nodes (%s instances): /api/sites %s bytes, %s gzipped; wrk -t%s -c%s -d%s, %s rounds\n' \
    "$NODES" "$INSTANCES" "$PLAIN" "$GZ" "$THREADS" "$CONNS" "$DURATION" "$ROUNDS"
printf 'target (performance spec): sites and rooms >= 0.5x native /healthz in the same run, p99 < 20 ms; /api/sites gzipped\n\n'
awk -F'\t' '
    { round = $1; name = $2; rps[name, round] = $3; p99[name, round] = $5; names[name] = 1; n = (round > n ? round : n) }
    function sort(a, k,   i, j, t) { for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }
    END {
        split("healthz sites_gzip sites_plain rooms rack device", order, " ")
        printf "%-12s %22s %22s %20s\n", "route", "req/s median (range)", "ratio to /healthz", "p99 ms median (max)"
        for (o = 1; o <= 6; o++) {
            name = order[o]
            if (!(name in names)) continue
            for (r = 1; r <= n; r++) { a[r] = rps[name, r]; b[r] = p99[name, r]; c[r] = rps[name, r] / rps["healthz", r] }
            sort(a, n); sort(b, n); sort(c, n)
            m = int((n + 1) / 2)
            printf "%-12s %9d (%d-%d) %12.2f (%.2f-%.2f) %12.2f (%.2f)\n", name, a[m], a[1], a[n], c[m], c[1], c[n], b[m], b[n]
        }
    }
' <<<"$ROWS"
