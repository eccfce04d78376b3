#!/usr/bin/env bash
# Topology load benchmark: builds the release example, generates a synthetic topology
# (default 20,000 nodes) into a temp dir, and runs the bench on the largest Rackscope
# fixture (hpc-cluster-1912) and on the generated one, then prints a small table.
#
# Usage: scripts/bench-topology.sh [NODES] [RUNS]
set -euo pipefail

NODES="${1:-20000}"
RUNS="${2:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FIXTURES="$ROOT/../shared/fixtures/rackscope"
[ -d "$FIXTURES" ] || FIXTURES="/work/shared/fixtures/rackscope"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

cargo build --release --example bench_topology >&2
BIN="$ROOT/target/release/examples/bench_topology"

python3 "$ROOT/scripts/gen-topology.py" "$NODES" "$TMP/gen" >&2

declare -a ROWS=()
run() {
    local name="$1" topo="$2" tpl="$3"
    echo "== $name" >&2
    local out
    out="$("$BIN" "$topo" "$tpl" "$RUNS")"
    echo "$out" >&2
    ROWS+=("$name $(grep '^RESULT ' <<<"$out" | sed 's/^RESULT //')")
}

if [ -d "$FIXTURES/hpc-cluster-1912" ]; then
    run "hpc-cluster-1912" "$FIXTURES/hpc-cluster-1912/topology" "$FIXTURES/hpc-cluster-1912/templates"
else
    echo "fixture hpc-cluster-1912 not found under $FIXTURES, skipped" >&2
fi
run "generated-$NODES" "$TMP/gen/topology" "$TMP/gen/templates"

echo
printf '%-18s %9s %6s %8s %9s %9s %9s %9s %9s %9s\n' \
    dataset instances racks devices load_ms index_ms total_ms rss_MiB held_MiB peak_MiB
for row in "${ROWS[@]}"; do
    name="${row%% *}"
    kv="${row#* }"
    get() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$kv"; }
    mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
    printf '%-18s %9s %6s %8s %9s %9s %9s %9s %9s %9s\n' \
        "$name" "$(get instances)" "$(get racks)" "$(get devices)" "$(get load_ms)" \
        "$(get index_ms)" "$(get total_ms)" "$(mib "$(get rss_kib)")" \
        "$(mib "$(get held_kib)")" "$(mib "$(get peak_kib)")"
done
echo "(median of $RUNS runs; load = topology YAML, total = load + catalog + index; RSS from /proc/self/status)"
