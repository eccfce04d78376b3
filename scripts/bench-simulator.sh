#!/usr/bin/env bash
# Benchmarks the Simulator plugin (plugins/simulator) at two sizes: Rackscope's 1,912-node
# fixture (../shared/fixtures/rackscope/hpc-cluster-1912, read in place, with the
# fixture's own simulator plugin.yaml and catalogs) and a generated topology of about
# 14,000 nodes (scripts/gen-topology.py, with the demo's catalogs: ~729,000 series).
#
# What it does, for each topology:
#   1. cargo build --release (once)
#   2. writes a temporary config directory: app.yaml pointing at the topology, a copy of
#      the simulator plugin (so the edits below never touch the repository), its
#      plugin.yaml (listen on a free port, update_interval_seconds BENCH_INTERVAL) and
#      catalogs
#   3. start to first full scrape: starts `rackscope serve` BENCH_STARTS times (fresh
#      state each time) and times process start -> end of the first scrape that holds
#      every series (target < 2 s at 14,000 nodes)
#   4. tick time: the plugin's own measure (rackscope_simulator_tick_seconds, also in
#      GET /api/simulator/status) over BENCH_TICKS timer ticks (target < 200 ms)
#   5. scrape latency and size over BENCH_SCRAPES scrapes (target < 800 ms)
#   6. server memory: VmRSS and VmHWM of the whole process (target < 400 MB)
#   7. edit to new instance: appends a comment to init.lua BENCH_EDITS times and times
#      save -> new instance serving (generation moved in GET /api/plugins/simulator)
#      (target < 1 s); then BENCH_EDITS more edits while a scraper runs without pause,
#      and prints the fewest series any scrape held (it must never drop)
#   Figures are min / median / max. The server and the temporary directory are removed
#   on exit. On a shared machine, run it when nothing else builds: figures vary.
#
# Usage:
#   scripts/bench-simulator.sh [fixture|generated|both]   (default both)
#
# Environment:
#   BENCH_NODES        nodes of the generated topology (default 14000)
#   BENCH_INTERVAL     update_interval_seconds (default 3)
#   BENCH_STARTS       server starts for the start-up figure (default 3)
#   BENCH_TICKS        ticks measured (default 5)
#   BENCH_SCRAPES      scrapes measured (default 5)
#   BENCH_EDITS        init.lua edits measured (default 5)
#   BENCH_FIXTURES     Rackscope fixtures (default ../shared/fixtures/rackscope)
#   BENCH_SKIP_BUILD   set to 1 to reuse the binary as is
#   BENCH_BIN          the binary (default target/release/rackscope)
set -euo pipefail

WHICH=${1:-both}
NODES=${BENCH_NODES:-14000}
INTERVAL=${BENCH_INTERVAL:-3}


ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_NAME=bench-simulator.sh
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
FIXTURES=${BENCH_FIXTURES:-$ROOT/../shared/fixtures/rackscope}
[ -d "$FIXTURES" ] || FIXTURES=/work/shared/fixtures/rackscope
require_tools python3
case "$WHICH" in fixture | generated | both) ;; *) die "usage: $0 [fixture|generated|both]" ;; esac

build_release

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rackscope-bench-sim.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM


# setup DIR TOPOLOGY TEMPLATES: the common part of a config directory in DIR.
setup() {
    local dir=$1 topology=$2 templates=$3
    mkdir -p "$dir/config/plugins/simulator/config" "$dir/config/plugins/simulator/metrics" \
        "$dir/config/checks" "$dir/config/metrics" "$dir/plugins"
    cp -a "$ROOT/plugins/simulator" "$dir/plugins/simulator"
    cat >"$dir/config/app.yaml" <<EOF
paths:
  topology: $topology
  templates: $templates
  checks: checks
  metrics: metrics
  plugins: ../plugins
plugins:
  simulator:
    enabled: true
    memory_limit_mb: 512
    instruction_limit: 2000000000
EOF
}

# measure NAME DIR: runs the measurements against the config in DIR.
measure() {
    local name=$1 dir=$2
    python3 - "$BIN" "$dir" "$name" "${BENCH_STARTS:-3}" "${BENCH_TICKS:-5}" "${BENCH_SCRAPES:-5}" \
        "${BENCH_EDITS:-5}" "$INTERVAL" <<'PY'
import http.client, json, os, re, shutil, socket, statistics, subprocess, sys, threading, time

binary, base, name = sys.argv[1], sys.argv[2], sys.argv[3]
starts, ticks, scrapes, edits = (int(x) for x in sys.argv[4:8])
interval = float(sys.argv[8])
app = os.path.join(base, "config", "app.yaml")
plugin_yaml = os.path.join(base, "config", "plugins", "simulator", "config", "plugin.yaml")
state_dir = os.path.join(base, "config", "plugins", "simulator", "state")
init_lua = os.path.join(base, "plugins", "simulator", "init.lua")
metrics_port = int(re.search(r"^listen: 127\.0\.0\.1:(\d+)$", open(plugin_yaml).read(), re.M).group(1))

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def get(port, path, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()

def scrape():
    try:
        status, body = get(metrics_port, "/metrics")
        return body.decode() if status == 200 else ""
    except OSError:
        return ""

def series(text):
    return sum(1 for l in text.splitlines() if l and not l.startswith("#"))

def fig(values, unit="ms", scale=1000.0, target=None):
    v = sorted(values)
    s = f"min {v[0]*scale:.0f} {unit} / median {statistics.median(v)*scale:.0f} {unit} / max {v[-1]*scale:.0f} {unit}"
    if target is not None:
        s += f" (target < {target*scale:.0f} {unit}: {'OK' if v[-1] < target else 'ABOVE TARGET'})"
    return s

def start():
    port = free_port()
    env = dict(os.environ, RACKSCOPE_LOG_LEVEL="warn", PROMETHEUS_URL="http://127.0.0.1:9")
    env.pop("RACKSCOPE_APP_CONFIG", None)
    log = open(os.path.join(base, "server.log"), "a")
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "serve", "--config", app, "--listen", f"127.0.0.1:{port}"],
                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    return p, port, t0

def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill(); p.wait()

def first_full_scrape(p, t0):
    while True:
        if p.poll() is not None:
            sys.exit(f"{name}: the server exited; log in {base}/server.log:\n" + open(os.path.join(base, "server.log")).read()[-3000:])
        text = scrape()
        if "rackscope_simulator_ticks_total" in text:
            return time.monotonic() - t0, text
        if time.monotonic() - t0 > 60:
            sys.exit(f"{name}: no full scrape within 60 s")
        time.sleep(0.01)

# 1. Start to first full scrape, fresh state each time.
startup, full = [], None
for _ in range(starts):
    shutil.rmtree(state_dir, ignore_errors=True)
    p, port, t0 = start()
    dt, text = first_full_scrape(p, t0)
    startup.append(dt)
    full = series(text)
    stop(p)

p, port, t0 = start()
try:
    first_full_scrape(p, t0)
    def generation():
        try:
            status, body = get(port, "/api/plugins/simulator", timeout=5)
            return json.loads(body).get("generation") if status == 200 else None
        except (OSError, ValueError):
            return None
    # 2. Tick time, as the plugin measures it (GET /api/simulator/status, which reports
    #    the rackscope_simulator_tick_seconds gauge's value without a 90 MB scrape
    #    competing for the CPU), one reading per tick.
    def status():
        try:
            s, body = get(port, "/api/simulator/status", timeout=5)
            return json.loads(body) if s == 200 else {}
        except (OSError, ValueError):
            return {}
    tick_times, last = [], status().get("tick")
    deadline = time.monotonic() + (ticks + 3) * interval + 30
    while len(tick_times) < ticks and time.monotonic() < deadline:
        st = status()
        if st.get("tick") is not None and st.get("tick") != last:
            tick_times.append(st["last_tick_seconds"])
            last = st["tick"]
        time.sleep(interval / 10)
    # 3. Scrapes.
    scrape_times, size, nseries = [], 0, 0
    for _ in range(scrapes):
        t = time.monotonic()
        text = scrape()
        scrape_times.append(time.monotonic() - t)
        size, nseries = len(text.encode()), series(text)
        time.sleep(0.2)
    # 4. Memory.
    status = open(f"/proc/{p.pid}/status").read()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
    # 5. Edit to new instance.
    src = open(init_lua).read()
    def edit(i):
        g = generation()
        with open(init_lua, "w") as f:
            f.write(src + f"\n-- bench edit {i}\n")
        t = time.monotonic()
        while generation() == g:
            if time.monotonic() - t > 30:
                sys.exit(f"{name}: edit {i} not loaded within 30 s")
            time.sleep(0.005)
        return time.monotonic() - t
    edit_times = []
    for i in range(edits):
        edit_times.append(edit(i))
        time.sleep(max(1.0, interval / 2))
    # 6. The same edits under continuous scraping: no scrape may hold fewer series.
    counts, stop_flag = [], threading.Event()
    def scraper():
        while not stop_flag.is_set():
            counts.append(series(scrape()))
    th = threading.Thread(target=scraper); th.start()
    time.sleep(1)
    for i in range(edits):
        edit(edits + i)
        time.sleep(1)
    stop_flag.set(); th.join()
    drops = sum(1 for a, b in zip(counts, counts[1:]) if b < a)
    status = open(f"/proc/{p.pid}/status").read()
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
finally:
    stop(p)

print(f"\n== {name}: {nseries} series, {size / 1e6:.1f} MB per scrape ==")
print(f"start to first full scrape ({starts} starts): {fig(startup, target=2.0)}")
print(f"tick ({len(tick_times)} ticks): {fig(tick_times, target=0.2)}")
print(f"scrape ({scrapes} scrapes): {fig(scrape_times, target=0.8)}")
print(f"server memory: VmRSS {rss:.0f} MiB after the ticks (target < 400 MB), VmHWM {hwm:.0f} MiB after the edits")
print(f"init.lua edit to new instance ({edits} edits): {fig(edit_times, target=1.0)}")
print(f"under continuous scraping ({len(counts)} scrapes, {edits} edits): fewest series {min(counts)} of {full}, "
      f"scrapes with fewer series than the one before: {drops}")
PY
}

if [ "$WHICH" != "generated" ]; then
    FX=$FIXTURES/hpc-cluster-1912
    [ -d "$FX" ] || die "$FX not found (set BENCH_FIXTURES)"
    D=$TMP/fixture
    setup "$D" "$FX/topology" "$FX/templates"
    cp "$FIXTURES/catalogs/metrics_full.yaml" "$FIXTURES/catalogs/metrics_slurm.yaml" \
        "$D/config/plugins/simulator/metrics/"
    # The fixture's own settings (its config/plugins/simulator/... paths resolve in the
    # plugin's config folder), with a free port and the bench's interval.
    sed -e "s/^update_interval_seconds:.*/update_interval_seconds: $INTERVAL/" \
        "$FX/plugins/simulator/config/plugin.yaml" >"$D/config/plugins/simulator/config/plugin.yaml"
    printf 'listen: 127.0.0.1:%s\n' "$(free_port)" >>"$D/config/plugins/simulator/config/plugin.yaml"
    log "fixture hpc-cluster-1912"
    measure "hpc-cluster-1912 fixture (1,912 nodes, Rackscope's catalogs)" "$D"
fi

if [ "$WHICH" != "fixture" ]; then
    D=$TMP/generated
    log "generating a topology of $NODES nodes"
    python3 "$ROOT/scripts/gen-topology.py" "$NODES" "$TMP/gen" >/dev/null
    setup "$D" "$TMP/gen/topology" "$TMP/gen/templates"
    cp "$ROOT"/config/plugins/simulator/metrics/*.yaml "$D/config/plugins/simulator/metrics/"
    cat >"$D/config/plugins/simulator/config/plugin.yaml" <<EOF
listen: 127.0.0.1:$(free_port)
update_interval_seconds: $INTERVAL
incident_mode: medium
metrics_catalog_path: metrics/metrics_full.yaml
metrics_catalogs: [metrics/metrics_slurm.yaml]
slurm_random_statuses: {drain: 2, down: 1, maint: 1}
slurm_random_match: ["cn*"]
EOF
    measure "generated topology ($NODES nodes, the demo's catalogs)" "$D"
fi
