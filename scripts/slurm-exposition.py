#!/usr/bin/env python3
"""Write a Prometheus exposition of Slurm node states for a list of node names.

Usage: slurm-exposition.py NAMES_JSON OUT_FILE [--format simulator|exporter] [--seed N]

NAMES_JSON is a JSON list of node names (or of {"name": ...} objects). The output stands
in for a Slurm data source until the simulator runs (scripts/bench-slurm.sh, tests):

  simulator  slurm_node_status{node,partition,status}: for every node and partition, 12
             one-hot series (1 for the node's state, 0 for the 11 others), as the
             simulator emits them. Partitions: all, cpu, and gpu for names containing
             "gpu" or "visu". About 80% allocated, a few down/drain/maint, the rest idle.
  exporter   what the real Slurm exporter emits: one series per node and partition for its
             current state only, sinfo long state names with flag suffixes (drained*,
             idle~, mixed-, ...), site-specific partitions (no "all").

Deterministic for a given seed. Python 3 standard library only.
"""

import json
import random
import sys

SIM_STATUSES = ["allocated", "completing", "down", "drain", "draining", "fail", "idle",
                "maint", "mixed", "reserved", "planned", "unknown"]
EXPORTER_STATES = ["allocated", "allocated", "allocated", "mixed", "idle", "idle~",
                   "drained*", "draining", "down*", "completing", "mixed-", "reboot_requested",
                   "maint", "planned", "reserved", "powered_down", "future", "inval"]


def sim_state(rng):
    r = rng.random()
    if r < 0.80:
        return "allocated"
    if r < 0.81:
        return "down"
    if r < 0.82:
        return "drain"
    if r < 0.825:
        return "maint"
    return "idle"


def main():
    args = sys.argv[1:]
    fmt, seed = "simulator", 1
    if "--format" in args:
        i = args.index("--format")
        fmt = args[i + 1]
        del args[i:i + 2]
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2 or fmt not in ("simulator", "exporter"):
        sys.exit(__doc__)
    with open(args[0], encoding="utf-8") as f:
        names = [n["name"] if isinstance(n, dict) else n for n in json.load(f)]
    rng = random.Random(seed)
    out = ["# HELP slurm_node_status Slurm node state (1 = current state)",
           "# TYPE slurm_node_status gauge"]
    for name in names:
        if fmt == "simulator":
            state = sim_state(rng)
            parts = ["all", "cpu"] + (["gpu"] if "gpu" in name or "visu" in name else [])
            for p in parts:
                for s in SIM_STATUSES:
                    v = 1 if s == state else 0
                    out.append(f'slurm_node_status{{node="{name}",partition="{p}",status="{s}"}} {v}')
        else:
            state = rng.choice(EXPORTER_STATES)
            parts = ["batch"] + (["gpu"] if "gpu" in name else [])
            for p in parts:
                out.append(f'slurm_node_status{{node="{name}",partition="{p}",status="{state}"}} 1')
    out.append("# HELP slurm_nodes_total Nodes known to Slurm")
    out.append("# TYPE slurm_nodes_total gauge")
    out.append(f"slurm_nodes_total {len(names)}")
    tmp = args[1] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    import os
    os.replace(tmp, args[1])


if __name__ == "__main__":
    main()
