#!/usr/bin/env bash
# Benchmarks the Slurm plugin (plugins/slurm) against a real Prometheus, at the 1,912-node
# Rackscope fixture and at a generated ~14,000-node topology.
#
# What it does, for each topology:
#   1. copies config/ and the plugins into a temporary directory and points app.yaml at
#      the topology: ../shared/fixtures/rackscope/hpc-cluster-1912 (read in place, not
#      copied) or one written by scripts/gen-topology.py; enables the Slurm plugin and a
#      small helper plugin that lists the topology's node instances
#   2. the Slurm data: by default a generated exposition in the simulator's format
#      (scripts/slurm-exposition.py: 12 one-hot series per node and partition, partitions
#      all/cpu/gpu) served by a static HTTP server; with BENCH_SOURCE=simulator, the
#      simulator plugin itself (plugins/simulator, once merged) on 127.0.0.1:9000
#   3. a real Prometheus (scripts/prometheus.sh, scrape interval 5s) scraping it, and
#      `rackscope serve` (release build) querying it; waits until Prometheus has every node
#   4. times the first Slurm request (cold cache: one Prometheus query and all the per-node
#      work), then wrk -t2 -c16 against the native route /api/system/status and the Slurm
#      routes summary, partitions, rooms/{largest room}/nodes and nodes (plain and gzipped), alternating, for
#      BENCH_ROUNDS rounds; prints the median and the range of req/s and p99
#   5. waits until the cached answer is past its TTL and times the first request after
#      that (stale-while-revalidate: it must not wait for Prometheus), then the first
#      request after the background refresh
#   6. prints the server's memory
#   Everything it started is stopped and the temporary directory removed on exit.
#
# Usage:
#   scripts/bench-slurm.sh
#
# Environment:
#   BENCH_SIZES        topologies to run: "1912" (the fixture) and/or a node count for
#                      gen-topology.py (default "1912 14000")
#   BENCH_SOURCE       exposition (default) or simulator
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_CONNS        wrk connections (default 16)
#   BENCH_DURATION     wrk duration per run (default 10s)
#   BENCH_WARMUP       warm-up per run, not reported (default 2s; 0 to skip)
#   BENCH_ROUNDS       alternating rounds; median and range reported (default 3)
#   BENCH_TTL          the plugin's cache_ttl_seconds (default 30, the app default)
#   BENCH_SKIP_BUILD   set to 1 to reuse the binary as is
#   BENCH_BIN          the binary (default target/release/rackscope)
set -euo pipefail

SIZES=${BENCH_SIZES:-"1912 14000"}
SOURCE=${BENCH_SOURCE:-exposition}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-16}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
ROUNDS=${BENCH_ROUNDS:-3}
TTL=${BENCH_TTL:-30}


ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_NAME=bench-slurm.sh
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
FIXTURES=$ROOT/../shared/fixtures/rackscope
[ -d "$FIXTURES" ] || FIXTURES=/work/shared/fixtures/rackscope

# --- tools -------------------------------------------------------------------------
ensure_wrk
require_tools curl python3
case $SOURCE in
    exposition) ;;
    simulator) [ -f "$ROOT/plugins/simulator/init.lua" ] || die "BENCH_SOURCE=simulator needs plugins/simulator (not merged yet?)" ;;
    *) die "BENCH_SOURCE must be exposition or simulator" ;;
esac

# --- build -------------------------------------------------------------------------
build_release

# --- processes ---------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rackscope-bench-slurm.XXXXXX")
SERVER_PID=""
HTTP_PID=""
PROM_STATE=""
stop_all() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
    if [ -n "$HTTP_PID" ] && kill -0 "$HTTP_PID" 2>/dev/null; then
        kill "$HTTP_PID" 2>/dev/null || true
        wait "$HTTP_PID" 2>/dev/null || true
    fi
    HTTP_PID=""
    if [ -n "$PROM_STATE" ]; then
        PROMETHEUS_STATE_DIR=$PROM_STATE "$ROOT/scripts/prometheus.sh" stop >/dev/null 2>&1 || true
    fi
    PROM_STATE=""
}
cleanup() {
    stop_all
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# ms_of CURL_TIME: seconds (curl -w %{time_total}) to whole milliseconds.
ms_of() { awk -v t="$1" 'BEGIN { printf "%.0f", t * 1000 }'; }

# timed GET URL: prints "status ms".
timed() { curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' "$1" | awk '{ printf "%s %.0f\n", $1, $2 * 1000 }'; }



# --- one topology ------------------------------------------------------------------
bench_size() {
    local size=$1 dir=$TMP/$1 topo templates label
    mkdir -p "$dir/plugins"
    cp -a "$ROOT/config" "$dir/config"
    cp -a "$ROOT/plugins/slurm" "$dir/plugins/slurm"
    if [ "$size" = "1912" ]; then
        [ -d "$FIXTURES/hpc-cluster-1912" ] || die "fixture $FIXTURES/hpc-cluster-1912 not found"
        topo=$FIXTURES/hpc-cluster-1912/topology
        templates=$FIXTURES/hpc-cluster-1912/templates
        label="hpc-cluster-1912 fixture"
    else
        python3 "$ROOT/scripts/gen-topology.py" "$size" "$dir/generated" >&2
        topo=$dir/generated/topology
        templates=$dir/generated/templates
        label="generated topology, $size nodes"
    fi
    mkdir -p "$dir/plugins/benchnames"
    cat >"$dir/plugins/benchnames/init.lua" <<'LUA'
-- Bench helper: lists the topology's node instances with their rooms.
return {
  id = "benchnames",
  setup = function()
    rackscope.route("GET", "/api/benchnames/instances", function()
      local out = {}
      for i, p in ipairs(rackscope.topology.instances()) do out[i] = { name = p.name, room = p.room_id } end
      return rackscope.array(out)
    end)
  end,
}
LUA
    local sim_enabled=false
    [ "$SOURCE" = simulator ] && { cp -a "$ROOT/plugins/simulator" "$dir/plugins/simulator"; sim_enabled=true; }
    python3 - "$dir/config/app.yaml" "$topo" "$templates" "$sim_enabled" <<'PY'
import re, sys
path, topo, templates, sim = sys.argv[1:]
text = open(path).read()
text = re.sub(r"(?m)^  topology: .*$", f"  topology: {topo}", text)
text = re.sub(r"(?m)^  templates: .*$", f"  templates: {templates}", text)
# The cold query over every one-hot series can take seconds on a busy machine.
text = re.sub(r"(?m)^  prometheus_timeout_seconds: .*$", "  prometheus_timeout_seconds: 30.0", text)
text = re.sub(r"(?ms)^plugins:.*", "plugins:\n  simulator:\n    enabled: %s\n  slurm:\n    enabled: true\n  benchnames:\n    enabled: true\n" % sim, text)
open(path, "w").write(text)
PY
    printf '\ncache_ttl_seconds: %s\n' "$TTL" >>"$dir/config/plugins/slurm/config.yml"

    # Prometheus first (its target may not answer yet), then the server.
    local target
    if [ "$SOURCE" = exposition ]; then
        local http_port
        http_port=$(free_port)
        mkdir -p "$dir/www"
        python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$dir/www" >/dev/null 2>&1 &
        HTTP_PID=$!
        target=127.0.0.1:$http_port
    else
        target=127.0.0.1:9000
    fi
    PROM_STATE=$dir/prometheus
    local prom_url
    prom_url=$(PROMETHEUS_STATE_DIR=$PROM_STATE PROMETHEUS_SCRAPE_INTERVAL=5s "$ROOT/scripts/prometheus.sh" start "$target")

    local port=$(free_port)
    BASE=http://127.0.0.1:$port
    log "[$label] starting rackscope on $BASE (Prometheus $prom_url, data from $SOURCE)"
    # The plugin's debug line "node state refreshed: ... query N ms, ... state and answers
    # N ms" gives the cost of each refresh.
    env -u RACKSCOPE_APP_CONFIG RACKSCOPE_LOG_LEVEL="warn,rackscope::lua::api::log=debug" PROMETHEUS_URL="$prom_url" \
        "$BIN" serve --config "$dir/config/app.yaml" --listen "127.0.0.1:$port" \
        </dev/null >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    local names=""
    for _ in $(seq 1 600); do
        names=$(curl -fsS "$BASE/api/benchnames/instances" 2>/dev/null || true)
        [ -n "$names" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/server.log" >&2; die "server exited"; }
        sleep 0.1
    done
    [ -n "$names" ] || { cat "$dir/server.log" >&2; die "no answer from the helper plugin"; }
    printf '%s' "$names" >"$dir/names.json"
    local count room
    read -r count room < <(python3 -c '
import collections, json, sys
names = json.load(open(sys.argv[1]))
rooms = collections.Counter(n["room"] for n in names)
print(len(names), rooms.most_common(1)[0][0])' "$dir/names.json")
    if [ "$SOURCE" = exposition ]; then
        python3 "$ROOT/scripts/slurm-exposition.py" "$dir/names.json" "$dir/www/metrics"
    fi
    log "[$label] $count node instances; waiting for Prometheus to have them"
    local have=0 q='count(count by (node) (slurm_node_status > 0))'
    for _ in $(seq 1 180); do
        have=$(curl -fsS "$prom_url/api/v1/query" --data-urlencode "query=$q" 2>/dev/null \
            | python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)' 2>/dev/null || echo 0)
        [ "$have" -ge "$count" ] 2>/dev/null && break
        [ "$SOURCE" = simulator ] && [ "$have" -gt 0 ] 2>/dev/null && sleep 6 && break
        sleep 1
    done
    [ "$have" -gt 0 ] 2>/dev/null || die "Prometheus has no slurm_node_status after 3 minutes"

    echo
    echo "== $label: $count node instances, $have with Slurm state; wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds; cache TTL ${TTL}s =="
    local cold_summary cold_nodes
    cold_summary=$(timed "$BASE/api/slurm/summary")
    cold_nodes=$(timed "$BASE/api/slurm/nodes")
    local bytes_nodes bytes_room room_count
    bytes_nodes=$(curl -fsS "$BASE/api/slurm/nodes" | wc -c)
    bytes_room=$(curl -fsS "$BASE/api/slurm/rooms/$room/nodes" | wc -c)
    room_count=$(python3 -c 'import collections, json, sys; print(collections.Counter(n["room"] for n in json.load(open(sys.argv[1])))[sys.argv[2]])' "$dir/names.json" "$room")
    echo "first request, cold cache (query + per-node work): summary ${cold_summary#* } ms (HTTP ${cold_summary%% *}); then nodes ${cold_nodes#* } ms"
    echo "answer sizes: /nodes ${bytes_nodes} bytes; rooms/$room/nodes ($room_count instances) ${bytes_room} bytes"

    local rows=""
    for _ in $(seq 1 "$ROUNDS"); do
        rows+="$(run_wrk native "$BASE/api/system/status")"$'\n'
        rows+="$(run_wrk summary "$BASE/api/slurm/summary")"$'\n'
        rows+="$(run_wrk partitions "$BASE/api/slurm/partitions")"$'\n'
        rows+="$(run_wrk room_nodes "$BASE/api/slurm/rooms/$room/nodes")"$'\n'
        rows+="$(run_wrk nodes "$BASE/api/slurm/nodes")"$'\n'
        rows+="$(run_wrk nodes_gzip "$BASE/api/slurm/nodes" "Accept-Encoding: gzip")"$'\n'
    done
    printf '%s' "$rows" >"$dir/wrk-rows.tsv"
    printf '%-42s %22s %26s  %s\n' route 'req/s median (range)' 'p99 ms median (range)' target
    local native_rps
    native_rps=$(summarize native "$rows" | cut -f2)
    for name in native summary partitions room_nodes nodes nodes_gzip; do
        local s path target verdict
        s=$(summarize "$name" "$rows")
        IFS=$'\t' read -r _ rps rmin rmax p99 pmin pmax <<<"$s"
        case $name in
            native) path="GET /api/system/status"; target="-"; verdict="" ;;
            summary) path="GET /api/slurm/summary"; target=">= 0.5x native, p99 < 50 ms"
                verdict=$(awk -v r="$rps" -v n="$native_rps" -v p="$p99" 'BEGIN { print (r >= 0.5 * n && p < 50) ? "OK" : "BELOW TARGET" }') ;;
            partitions) path="GET /api/slurm/partitions"; target=">= 500 req/s"
                verdict=$(awk -v r="$rps" 'BEGIN { print (r >= 500) ? "OK" : "BELOW TARGET" }') ;;
            room_nodes) path="GET /api/slurm/rooms/$room/nodes"; target=">= 500 req/s"
                verdict=$(awk -v r="$rps" 'BEGIN { print (r >= 500) ? "OK" : "BELOW TARGET" }') ;;
            nodes) path="GET /api/slurm/nodes"; target=">= 50 req/s"
                verdict=$(awk -v r="$rps" 'BEGIN { print (r >= 50) ? "OK" : "BELOW TARGET" }') ;;
            nodes_gzip) path="GET /api/slurm/nodes (gzip, as browsers ask)"; target=">= 50 req/s"
                verdict=$(awk -v r="$rps" 'BEGIN { print (r >= 50) ? "OK" : "BELOW TARGET" }') ;;
        esac
        printf '%-42s %22s %26s  %s %s\n' "$path" "$rps ($rmin-$rmax)" "$p99 ($pmin-$pmax)" "$target" "$verdict"
    done
    awk -v s="$(summarize summary "$rows" | cut -f2)" -v n="$native_rps" 'BEGIN { printf "summary / native req/s: %.2f\n", (n > 0 ? s / n : 0) }'

    # Start from a fresh answer: poll until a refresh has happened (at most TTL plus one
    # refresh), then wait past the TTL but inside the stale window (stale_seconds = TTL).
    # A request after a longer idle time finds no usable answer and waits for Prometheus,
    # like the cold first request above.
    local n0
    n0=$(grep -c 'node state refreshed' "$dir/server.log" || true)
    log "[$label] waiting for a refresh, then $((TTL + 2)) s for the cache to expire"
    for _ in $(seq 1 $((TTL * 4 + 120))); do
        curl -fsS -o /dev/null "$BASE/api/slurm/summary" || true
        [ "$(grep -c 'node state refreshed' "$dir/server.log" || true)" -gt "$n0" ] && break
        sleep 0.5
    done
    sleep $((TTL + 2))
    local after refreshed before_count
    before_count=$(grep -c 'node state refreshed' "$dir/server.log" || true)
    after=$(timed "$BASE/api/slurm/summary")
    for _ in $(seq 1 120); do
        [ "$(grep -c 'node state refreshed' "$dir/server.log" || true)" -gt "$before_count" ] && break
        sleep 0.5
    done
    refreshed=$(timed "$BASE/api/slurm/summary")
    echo "first request after the cache expired: ${after#* } ms (HTTP ${after%% *}; the previous answer, one refresh started in the background; target < 200 ms); first request after that refresh: ${refreshed#* } ms"
    awk '$1 == "VmRSS:" || $1 == "VmHWM:" { printf "server %s %.1f MiB\n", $1, $2 / 1024 }' "/proc/$SERVER_PID/status"
    # Refresh costs from the plugin's log: Prometheus (query and answer, off the plugin's
    # thread) and the per-node work on the plugin's thread (with yields in between).
    grep -o 'node state refreshed: .*state and answers [0-9]* ms' "$dir/server.log" | awk '
        { for (i = 1; i <= NF; i++) { if ($i == "query") q[++n] = $(i + 1); if ($i == "answers") a[n] = $(i + 1) } }
        END {
            if (n == 0) exit
            qmin = qmax = q[1]; amin = amax = a[1]
            for (i = 1; i <= n; i++) {
                if (q[i] < qmin) qmin = q[i]; if (q[i] > qmax) qmax = q[i]
                if (a[i] < amin) amin = a[i]; if (a[i] > amax) amax = a[i]
            }
            printf "refreshes: %d; Prometheus query %d-%d ms; per-node work and answers %d-%d ms\n", n, qmin, qmax, amin, amax
        }'
    if grep -q 'ERROR' "$dir/server.log"; then
        log "server errors:"; grep 'ERROR' "$dir/server.log" | tail -5 >&2
    fi
    stop_all
}

for size in $SIZES; do
    bench_size "$size"
done
