#!/usr/bin/env python3
"""Checks that the top-level modules of src/ depend on each other one way only.

Usage: scripts/check-layers.py [SRC_DIR]        (default: src next to this script)

Reads every .rs file under SRC_DIR (comments and `#[cfg(test)]` modules left out), collects
the `crate::<module>` paths it uses, and builds the graph of top-level modules (`src/x.rs`
and `src/x/...` are module `x`; `main.rs` and `lib.rs` are the roots and are skipped). Prints
the modules from the lowest layer up, each with what it uses, and exits 1 if two modules
import each other, directly or through others, naming every such circle. The test suite
runs it (tests/layers.rs); docs/architecture.md describes the intended layers.
"""

import os
import re
import sys

ROOTS = {"main", "lib"}


def strip(src):
    """Source text without comments, string literals and `#[cfg(test)]` modules."""
    src = re.split(r"#\[cfg\(test\)\]\s*mod\s+\w+", src)[0]
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    src = re.sub(r'"(?:\\.|[^"\\])*"', '""', src)
    return src


def uses(src):
    """Top-level modules named after `crate::`, including `crate::{a, b::c}` groups."""
    found = set(re.findall(r"\bcrate::(\w+)", src))
    for group in re.findall(r"\bcrate::\{([^}]*)\}", src):
        found.update(re.findall(r"(?:^|,)\s*(\w+)", group))
    return found


def graph(src_dir):
    edges = {}
    for dirpath, _, files in os.walk(src_dir):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            top = os.path.relpath(path, src_dir).split(os.sep)[0].removesuffix(".rs")
            if top in ROOTS:
                continue
            with open(path, encoding="utf-8") as f:
                deps = uses(strip(f.read())) - {top}
            edges.setdefault(top, set()).update(deps)
    known = set(edges)
    return {m: {d for d in ds if d in known} for m, ds in edges.items()}


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def layers(edges):
    """Modules from the lowest layer up (each after everything it uses)."""
    order, done = [], set()
    while len(done) < len(edges):
        ready = sorted(m for m in edges if m not in done and edges[m] <= done)
        if not ready:  # a cycle: list the rest as is
            ready = sorted(m for m in edges if m not in done)
        order.extend(ready)
        done.update(ready)
    return order


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    edges = graph(src_dir)
    for m in layers(edges):
        deps = ", ".join(sorted(edges[m])) or "-"
        print(f"{m:<12} uses {deps}")
    found = cycles(edges)
    for c in found:
        print("cycle: " + " <-> ".join(c), file=sys.stderr)
    if found:
        print(f"{len(found)} import cycle(s) among top-level modules", file=sys.stderr)
        sys.exit(1)
    print(f"no import cycle among {len(edges)} top-level modules")


if __name__ == "__main__":
    main()
