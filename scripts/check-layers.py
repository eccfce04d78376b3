#!/usr/bin/env python3
"""Checks that the modules of src/ depend on each other one way only, at every level.

Usage: scripts/check-layers.py [SRC_DIR]        (default: src next to this script)

Reads every .rs file under SRC_DIR (comments, string literals and `#[cfg(test)]` modules
left out) and the module paths it names: `crate::a::b`, `super::x`, `self::x`, `use` groups
(`super::{a, b::c}`), and, in a folder's `mod.rs`, the bare paths of its own children
(`core::register`). Then, for the top level and for every folder:

- the top level: the graph of top-level modules (`src/x.rs` and `src/x/...` are module `x`;
  `main.rs` and `lib.rs` are the roots and are skipped); its layers are printed lowest first;
- a folder `src/a/b/`: the graph of what is directly inside it, each `.rs` file and each
  subfolder one node, and `mod.rs` a node of its own (what it defines or re-exports: a
  child that uses `super::helper` depends on `mod.rs`, and `mod.rs` depends on a child it
  calls or re-exports).

Exits 1 naming every circle among the top-level modules, and every circle inside the
folders kept free of them (STRICT: `lua/` and `plugin/`, with their subfolders). A circle in
any other folder is printed as a note: folders that predate the check (`http/`, whose
`mod.rs` both builds the app from the route modules and defines what they share, and
others) are untangled one at a time, and each is added to STRICT once it is clean. The
test suite runs it (tests/layers.rs); docs/architecture.md describes the intended layers.
"""

import os
import re
import sys

ROOTS = {"main", "lib"}
# Folders (and their subfolders) whose files must not import each other in a circle.
STRICT = ("lua", "plugin")
IDENT = r"[A-Za-z_]\w*"


def strip(src):
    """Source text without comments, string literals and `#[cfg(test)]` modules."""
    src = re.split(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{", src)[0]
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    src = re.sub(r'"(?:\\.|[^"\\])*"', '""', src)
    return src


def test_only_children(src):
    """Child modules declared `#[cfg(test)] mod x;`: test code, not part of the graph."""
    return set(re.findall(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", src))


def module_of(rel):
    """`lua/api/core.rs` -> ["lua", "api", "core"]; `lua/api/mod.rs` -> ["lua", "api"]."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def expand_groups(text):
    """`p::{a, b::{c, d}}` -> ["p::a", "p::b::c", "p::b::d"] (nested groups included)."""
    out = []
    m = re.search(r"\{", text)
    if not m:
        return [text]
    prefix = text[: m.start()]
    depth, items, start = 0, [], m.end()
    for i in range(m.start(), len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                items.append(text[start:i])
                break
        elif c == "," and depth == 1:
            items.append(text[start:i])
            start = i + 1
    for item in items:
        item = item.strip()
        if item:
            out.extend(expand_groups(prefix + item))
    return out


def paths(src):
    """Every path that starts with crate, super or self, groups expanded, plus bare
    `name::` paths (returned with a leading "" to mark them)."""
    found = []
    for m in re.finditer(r"\b(?:crate|super|self)(?:::(?:" + IDENT + r"|\{))", src):
        # Take the whole path, groups included.
        i, depth = m.start(), 0
        j = i
        while j < len(src):
            c = src[j]
            if c == "{":
                depth += 1
            elif c == "}":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and not (c.isalnum() or c in "_:"):
                break
            j += 1
        text = re.sub(r"\s+", "", src[i:j])
        found.extend(p for p in expand_groups(text) if p)
    for m in re.finditer(r"(?<![:\w])(" + IDENT + r")::", src):
        found.append("::" + m.group(1))
    return found


def resolve(path, here):
    """The absolute module path (a list) a path names, seen from module `here`."""
    parts = [p for p in path.split("::")]
    if parts[0] == "":
        return here + [parts[1]]
    if parts[0] == "crate":
        out = []
        parts = parts[1:]
    else:
        out = list(here)
    for p in parts:
        if p == "super":
            out = out[:-1]
        elif p == "self":
            continue
        else:
            out.append(p)
    return out


def read_tree(src_dir):
    """{relative path: (module path, [paths it names])} for every .rs file."""
    files, test_only = {}, set()
    for dirpath, _, names in os.walk(src_dir):
        for name in sorted(names):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src_dir)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            module = module_of(rel)
            for child in test_only_children(text):
                test_only.add(tuple(module + [child]) if name in ("mod.rs", "lib.rs") else tuple(module + [child]))
            files[rel] = (module, paths(strip(text)))
    return {
        rel: v for rel, v in files.items()
        if not any(tuple(v[0][: len(t)]) == t for t in test_only)
    }


def folder_graph(files, folder):
    """The graph inside `folder` (a module path): node -> set of nodes it uses."""
    n = len(folder)
    nodes = set()
    for module, _ in files.values():
        if module[:n] == folder and len(module) > n:
            nodes.add(module[n])
    edges = {}
    for rel, (module, named) in files.items():
        if module[:n] != folder:
            continue
        is_root = len(module) == n
        if is_root and not (rel.endswith("mod.rs") or n == 0):
            continue
        me = "mod.rs" if is_root else module[n]
        deps = edges.setdefault(me, set())
        for p in named:
            if p.startswith("::") and not is_root:
                continue  # a bare path in a child file: its own children or a crate
            target = resolve(p, module)
            if target[:n] != folder or len(target) <= n:
                continue
            if p.startswith("::") and target[n] not in nodes:
                continue  # a bare path naming an extern crate or a type
            dep = target[n] if target[n] in nodes else "mod.rs"
            if dep != me:
                deps.add(dep)
    return edges


def cycles(edges):
    """Strongly connected components with more than one node (Tarjan)."""
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
    """Nodes from the lowest layer up (each after everything it uses)."""
    order, done = [], set()
    while len(done) < len(edges):
        ready = sorted(m for m in edges if m not in done and edges[m] <= done)
        if not ready:  # a cycle: list the rest as is
            ready = sorted(m for m in edges if m not in done)
        order.extend(ready)
        done.update(ready)
    return order


def top_level(files):
    edges = {}
    for rel, (module, named) in files.items():
        top = module[0]
        if top in ROOTS:
            continue
        deps = edges.setdefault(top, set())
        for p in named:
            if p.startswith("crate::"):
                deps.add(resolve(p, module)[0])
    known = set(edges)
    return {m: {d for d in ds if d in known and d != m} for m, ds in edges.items()}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    files = read_tree(src_dir)
    edges = top_level(files)
    for m in layers(edges):
        deps = ", ".join(sorted(edges[m])) or "-"
        print(f"{m:<12} uses {deps}")
    found = [("src/", c) for c in cycles(edges)]
    folders = sorted({tuple(m[:-1]) for m, _ in files.values() if len(m) > 1}
                     | {tuple(m) for rel, (m, _) in files.items() if rel.endswith("mod.rs")})
    strict = [f for f in folders if f[0] in STRICT]
    for folder in folders:
        where = "src/" + "/".join(folder) + "/"
        for c in cycles(folder_graph(files, list(folder))):
            if folder in strict:
                found.append((where, c))
            else:
                print(f"note: cycle in {where} (not checked): " + " <-> ".join(c))
    for where, c in found:
        print(f"cycle in {where}: " + " <-> ".join(c), file=sys.stderr)
    if found:
        print(f"{len(found)} import cycle(s)", file=sys.stderr)
        sys.exit(1)
    print(f"no import cycle among {len(edges)} top-level modules, "
          f"nor inside {', '.join('src/' + '/'.join(f) + '/' for f in strict)}")


if __name__ == "__main__":
    main()
