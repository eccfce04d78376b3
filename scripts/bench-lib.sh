# Shared by the benchmark scripts (sourced, not run): logging, required tools, the release
# build and a free loopback port. The sourcing script sets BENCH_NAME first.
#
#   log MSG...            "<BENCH_NAME>: MSG" on stderr
#   die MSG...            log "error: MSG" and exit 1
#   require_tools T...    die unless every command T exists
#   ensure_wrk            install wrk with apt-get when missing
#   build_release         cargo build --release unless BENCH_SKIP_BUILD=1; sets BIN
#                         (BENCH_BIN, default target/release/rackscope)
#   free_port             print a free TCP port on 127.0.0.1
#   summarize NAME ROWS   "NAME<TAB>rps median<TAB>min<TAB>max<TAB>p99 median<TAB>min<TAB>max"
#                         over the run_wrk rows of NAME
#   run_wrk NAME URL [H]  wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP
#                         warm-up unless it is 0), with header H if given; prints
#                         "NAME<TAB>req/s<TAB>p50<TAB>p99" (ms); dies on non-2xx answers

log() { printf '%s: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

require_tools() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || die "$t is required"
    done
}

ensure_wrk() {
    command -v wrk >/dev/null 2>&1 && return
    log "wrk not found; installing it with apt-get"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq wrk >&2
}

build_release() {
    if [ "${BENCH_SKIP_BUILD:-0}" != "1" ]; then
        log "cargo build --release"
        cargo build --release >&2
    fi
    BIN=${BENCH_BIN:-$ROOT/target/release/rackscope}
    [ -x "$BIN" ] || die "$BIN not found"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_wrk() {
    local name=$1 url=$2 header=${3:-} out args=()
    [ -n "$header" ] && args=(-H "$header")
    if [ "${WARMUP:-0}" != "0" ]; then
        wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${args[@]}" "$url" >/dev/null
    fi
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${args[@]}" "$url")
    if grep -q 'Non-2xx or 3xx responses' <<<"$out"; then
        printf '%s\n' "$out" >&2
        die "$url answered errors under load"
    fi
    awk -v name="$name" '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
            return v
        }
        $1 == "Requests/sec:" { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        END { printf "%s\t%.0f\t%.2f\t%.2f\n", name, rps, p50, p99 }
    ' <<<"$out"
}

summarize() {
    local name=$1 rows=$2
    awk -F'\t' -v name="$name" '
        $1 == name { n++; rps[n] = $2; p99[n] = $4 }
        function sort(a, k,   i, j, t) { for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }
        END {
            sort(rps, n); sort(p99, n)
            m = int((n + 1) / 2)
            printf "%s\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\n", name, rps[m], rps[1], rps[n], p99[m], p99[1], p99[n]
        }
    ' <<<"$rows"
}
