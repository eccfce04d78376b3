#!/usr/bin/env bash
# Runs a throwaway real Prometheus on loopback, for the demo and for manual tests.
#
# Usage:
#   scripts/prometheus.sh start [HOST:PORT ...]  start (or reuse) Prometheus scraping these
#                                               targets (job "targets"); it always scrapes
#                                               itself too (job "prometheus"). Prints the URL.
#   scripts/prometheus.sh stop                  stop it and delete its data
#   scripts/prometheus.sh status                print the URL if running, else exit 1
#   scripts/prometheus.sh url                   same as status
#
# Environment:
#   PROMETHEUS_STATE_DIR        pid, url, prometheus.yml, log and data (default ./tmp/prometheus)
#   PROMETHEUS_SCRAPE_INTERVAL  scrape and evaluation interval (default 5s)
#   PROMETHEUS_PORT             listen port on 127.0.0.1 (default: first free port from 9090)
#   PROMETHEUS_BIN              the binary (default: prometheus on PATH, installed with
#                               apt-get when missing)
#
# Example:
#   url=$(scripts/prometheus.sh start 127.0.0.1:9000)
#   curl "$url/api/v1/query?query=up"
#   scripts/prometheus.sh stop
set -euo pipefail

STATE_DIR=${PROMETHEUS_STATE_DIR:-./tmp/prometheus}
INTERVAL=${PROMETHEUS_SCRAPE_INTERVAL:-5s}
READY_TIMEOUT_S=60

log() { printf 'prometheus.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

# True when something accepts connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when GET http://127.0.0.1:$1/-/ready answers 200 (bash only: curl may be absent).
is_ready() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
        IFS= read -r -t 2 status_line <&3 || exit 1
        [[ $status_line == HTTP/*" 200"* ]]
    ) 2>/dev/null
}

running_pid() {
    local pid
    [[ -f $STATE_DIR/pid ]] || return 1
    pid=$(<"$STATE_DIR/pid")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

find_binary() {
    if [[ -n ${PROMETHEUS_BIN:-} ]]; then
        [[ -x $PROMETHEUS_BIN ]] || die "PROMETHEUS_BIN=$PROMETHEUS_BIN is not executable"
        printf '%s\n' "$PROMETHEUS_BIN"
        return
    fi
    if ! command -v prometheus >/dev/null 2>&1; then
        log "prometheus is not installed; installing the Debian/Ubuntu package"
        local sudo=()
        if [[ $(id -u) -ne 0 ]]; then
            command -v sudo >/dev/null 2>&1 || die "prometheus is missing and this is not root; run: sudo apt-get install -y prometheus"
            sudo=(sudo)
        fi
        command -v apt-get >/dev/null 2>&1 || die "prometheus is missing and apt-get is not available; install Prometheus and set PROMETHEUS_BIN"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >&2
        command -v prometheus >/dev/null 2>&1 || die "installing prometheus did not put it on PATH"
    fi
    command -v prometheus
}

free_port() {
    local port
    for port in $(seq 9090 9190); do
        port_in_use "$port" || { printf '%s\n' "$port"; return; }
    done
    die "no free port in 9090-9190; set PROMETHEUS_PORT"
}

write_config() {
    local port=$1; shift
    {
        printf 'global:\n  scrape_interval: %s\n  evaluation_interval: %s\n' "$INTERVAL" "$INTERVAL"
        printf 'scrape_configs:\n'
        printf '  - job_name: prometheus\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' "$port"
        if (($# > 0)); then
            # honor_labels: the simulator speaks for many machines, like a federation or a
            # Pushgateway: each series carries its own `instance` (the node name, e.g.
            # cn0001) and `job` (node, pdu, sequana3). Keep them instead of renaming them to
            # exported_instance/exported_job, so up{instance="cn0001"} is that node. Series
            # without those labels (the Slurm ones) get this target's instance and job.
            # (Rackscope's own setup copies node_id into instance with metric_relabel_configs
            # instead; that also overwrites the PDU and cooling instances.)
            printf '  - job_name: targets\n    honor_labels: true\n    static_configs:\n      - targets:\n'
            local target
            for target in "$@"; do
                printf '          - "%s"\n' "$target"
            done
        fi
    } >"$STATE_DIR/prometheus.yml"
}

cmd_start() {
    local target
    for target in "$@"; do
        [[ $target =~ ^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$ ]] \
            || die "scrape target must be HOST:PORT, got '$target'"
    done
    if running_pid >/dev/null; then
        log "already running (pid $(running_pid)); stop it first to change targets"
        cat "$STATE_DIR/url"
        return
    fi
    local bin port pid
    bin=$(find_binary)
    mkdir -p "$STATE_DIR"
    port=${PROMETHEUS_PORT:-$(free_port)}
    port_in_use "$port" && die "port $port on 127.0.0.1 is already in use"
    rm -rf "$STATE_DIR/data"
    write_config "$port" "$@"
    nohup "$bin" \
        --config.file="$STATE_DIR/prometheus.yml" \
        --storage.tsdb.path="$STATE_DIR/data" \
        --web.listen-address="127.0.0.1:$port" \
        --web.enable-lifecycle \
        </dev/null >"$STATE_DIR/prometheus.log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$STATE_DIR/pid"
    local waited=0
    until is_ready "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$STATE_DIR/pid"
            tail -n 20 "$STATE_DIR/prometheus.log" >&2 || true
            die "prometheus exited during startup (log: $STATE_DIR/prometheus.log)"
        fi
        if ((waited >= READY_TIMEOUT_S * 5)); then
            kill "$pid" 2>/dev/null || true
            rm -f "$STATE_DIR/pid"
            die "prometheus not ready after ${READY_TIMEOUT_S}s (log: $STATE_DIR/prometheus.log)"
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
    printf 'http://127.0.0.1:%s\n' "$port" >"$STATE_DIR/url"
    log "ready (pid $pid, scrape interval $INTERVAL, state in $STATE_DIR)"
    cat "$STATE_DIR/url"
}

cmd_stop() {
    local pid
    if ! pid=$(running_pid); then
        log "not running"
        rm -f "$STATE_DIR/pid" "$STATE_DIR/url"
        return
    fi
    kill "$pid"
    local waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if ((waited >= 50)); then
            log "still running after 10s; killing"
            kill -9 "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
    rm -rf "$STATE_DIR/pid" "$STATE_DIR/url" "$STATE_DIR/data"
    log "stopped (pid $pid)"
}

cmd_status() {
    running_pid >/dev/null || { log "not running"; exit 1; }
    cat "$STATE_DIR/url"
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status | url) cmd_status ;;
    *) usage ;;
esac
