"""Benchmark of the GNN target (not run by CI): compiled bfs, bfs_distance, bellman_ford and
connected_components against scipy.sparse.csgraph and networkx on the same graphs, the cost of
one compiled round against a bare `scatter_reduce` over the same edges (the floor for message
passing), and peak memory. Every compiled result is checked against scipy (equal arrays, no
tolerance) before it is timed; the script exits 1 if any is not exact.

    python bench/gnn.py [--sizes 1000 10000 100000] [--path 2000] [--repeat 2] [--threads 2]

Graphs: a sparse random digraph with m = 4n edges (uniform endpoints, one source at node 0) at
each size, and a directed path 0 -> 1 -> ... -> n-1 (every program needs about n rounds
there); edge weights are uniform in 1..1000, drawn from a seed fixed per graph. Every program
runs from its float32 file; where the runtime refuses the graph (values past float32's exact
range) it runs from a float64 file and the row says so.

Each (graph, program) row runs in its own process, so that its memory figures are its own:
- "compiled peak MiB": the rise of the process's peak resident set (VmHWM, reset through
  /proc/self/clear_refs just before) over its resident set at that moment, while the compiled
  network runs on the graph (the graph's numpy arrays and the loaded network are already
  resident; torch's tensors, the features and every round's state are in the figure);
- "scipy peak MiB" / "networkx peak MiB": tracemalloc's peak of Python and numpy allocations
  while scipy builds its CSR matrix and runs, and while networkx builds its DiGraph and runs
  (networkx has nothing but Python objects, so this is all of it; allocations inside scipy's
  compiled routines that bypass numpy are not traced).
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse import csgraph

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's compiler, not another installed copy

from nclang.compiler.driver import compile_file  # noqa: E402
from nclang.compiler.runtime import load  # noqa: E402
from nclang.dsl.values import GraphData, Instance  # noqa: E402
from nclang.dsl.diagnostics import NclError  # noqa: E402
PROGRAMS = ("bfs", "bfs_distance", "bellman_ford", "connected_components")


def graph(n: int, m: int, rng) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, n, m), rng.integers(0, n, m)


def path(n: int):
    return np.arange(n - 1), np.arange(1, n)


def instance(name, n, src, dst, w) -> Instance:
    values = {}
    if name != "connected_components":
        source = np.zeros(n, np.bool_)
        source[0] = True
        values["source"] = source
    if name == "bellman_ford":
        values["w"] = w.astype(np.float64)
    return Instance({"n": n, "m": len(src)}, values, GraphData(n, src.astype(np.int64),
                                                               dst.astype(np.int64)))


def reference(name, n, src, dst, w):
    """scipy's answer in the interpreter's numpy form."""
    if name == "connected_components":
        a = sp.coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)).tocsr()
        _, lab = csgraph.connected_components(a, directed=True, connection="weak")
        first = np.full(lab.max() + 1, n)
        np.minimum.at(first, lab, np.arange(n))
        return {"label": first[lab].astype(np.float64)}
    if name == "bellman_ford":
        # least weight per repeated edge (csr would add them up); weights are >= 1 here, so
        # no stored entry is a zero that scipy might drop
        order = np.lexsort((w, dst, src))
        s, d, ww = src[order], dst[order], w[order]
        keep = np.ones(len(s), bool)
        keep[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
        a = sp.csr_matrix((ww[keep], (s[keep], d[keep])), shape=(n, n))
        return {"dist": csgraph.dijkstra(a, indices=0)}
    a = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    dist = csgraph.shortest_path(a, unweighted=True, indices=0)
    if name == "bfs":
        return {"reached": np.isfinite(dist)}
    return {"dist": dist}


def timed(f, repeat):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def networkx_graph(name, n, src, dst, w):
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    if name == "bellman_ford":
        # a DiGraph keeps one edge per pair: keep the least weight, as the program does
        best: dict = {}
        for u, v, x in zip(src.tolist(), dst.tolist(), w.tolist()):
            if best.get((u, v), np.inf) > x:
                best[(u, v)] = x
        g.add_weighted_edges_from((u, v, x) for (u, v), x in best.items())
    else:
        g.add_edges_from(zip(src.tolist(), dst.tolist()))
    return g


def networkx_run(name, g):
    return {"bfs": lambda: nx.descendants(g, 0),
            "bfs_distance": lambda: nx.single_source_shortest_path_length(g, 0),
            "bellman_ford": lambda: nx.single_source_bellman_ford_path_length(g, 0),
            "connected_components": lambda: list(nx.weakly_connected_components(g))}[name]()


def networkx_check(name, n, got, ans) -> bool:
    """networkx's answer against the compiled output (already equal to scipy's)."""
    if name == "bfs":
        want = np.zeros(n, bool)
        want[list(ans | {0})] = True
        return np.array_equal(np.asarray(got["reached"], bool), want)
    if name in ("bfs_distance", "bellman_ford"):
        want = np.full(n, np.inf)
        want[list(ans)] = list(ans.values())
        key = "dist"
        return np.array_equal(np.asarray(got[key], np.float64), want)
    want = np.empty(n)
    for comp in ans:
        c = list(comp)
        want[c] = min(c)
    return np.array_equal(np.asarray(got["label"], np.float64), want)


def scatter_floor(n, src, dst, repeat):
    """One bare min-aggregation over the edges: gather at the source, scatter_reduce at dst."""
    x = torch.arange(n, dtype=torch.float32)
    s = torch.as_tensor(src)
    d = torch.as_tensor(dst)

    def once():
        out = x.clone()
        out.scatter_reduce_(0, d, x[s], reduce="amin", include_self=True)
        return out
    return timed(once, max(repeat, 20))[0]


def make_graph(kind: str, n: int):
    """The graph and its weights, the same in every process (seeded by kind and n)."""
    rng = np.random.default_rng((0 if kind == "random" else 1, n))
    src, dst = graph(n, 4 * n, rng) if kind == "random" else path(n)
    return src, dst, rng.integers(1, 1001, len(src)).astype(np.float64)


def _status(key: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def traced_peak(f) -> float:
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def child(args) -> None:
    """One row: prints one JSON line."""
    torch.set_num_threads(args.threads)
    kind, n, name = args.row[0], int(args.row[1]), args.row[2]
    src, dst, w = make_graph(kind, n)
    inst = instance(name, n, src, dst, w)
    ref = reference(name, n, src, dst, w)
    row = {"dtype": "float32"}
    net = load(Path(args.files) / f"{name}-float32.safetensors", "cpu")
    # first compiled run: exactness and memory. Past the analysis' static bound the float32 run
    # is watched and refused if a value passes the design bound: then the float64 file runs.
    open("/proc/self/clear_refs", "w").write("5")
    base = _status("VmRSS")
    try:
        got = net.run([inst])[0]
    except NclError as e:
        row["dtype"] = "float64"
        row["refused"] = str(e).splitlines()[0]
        net = load(Path(args.files) / f"{name}-float64.safetensors", "cpu")
        open("/proc/self/clear_refs", "w").write("5")
        base = _status("VmRSS")
        got = net.run([inst])[0]
    row["compiled_mem"] = _status("VmHWM") - base
    row["exact_scipy"] = all(np.array_equal(np.asarray(got[k], np.float64),
                                            np.asarray(v, np.float64)) for k, v in ref.items())
    row["rounds"] = net.rounds[0][0]
    row["compiled_s"] = timed(lambda: net.run([inst]), args.repeat)[0]
    row["floor_s"] = scatter_floor(n, src, dst, args.repeat)
    row["scipy_s"] = timed(lambda: reference(name, n, src, dst, w), args.repeat)[0]
    row["scipy_mem"] = traced_peak(lambda: reference(name, n, src, dst, w))
    t = time.perf_counter()
    g = networkx_graph(name, n, src, dst, w)
    build = time.perf_counter() - t
    row["networkx_s"], ans = timed(lambda g=g: networkx_run(name, g), 1)
    row["networkx_build_s"] = build
    row["exact_networkx"] = networkx_check(name, n, got, ans)
    del g, ans
    row["networkx_mem"] = traced_peak(
        lambda: networkx_run(name, networkx_graph(name, n, src, dst, w)))
    print(json.dumps(row), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--path", type=int, default=2000, help="path length (0: no path rows)")
    ap.add_argument("--programs", nargs="+", default=list(PROGRAMS))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per row")
    ap.add_argument("--row", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--files", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row:
        return child(args)
    cases = [("random", n) for n in args.sizes] + ([("path", args.path)] if args.path else [])
    print(f"# {platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, "
          f"torch {torch.__version__}, {args.threads} torch threads, repeat {args.repeat}, "
          f"{time.strftime('%Y-%m-%d')}")
    print("| graph | program | dtype | rounds | compiled s | scipy s | networkx s | "
          "compiled/scipy | compiled/networkx | per round s | round/scatter floor | "
          "compiled peak MiB | scipy peak MiB | networkx peak MiB | exact |")
    print("|" + "---|" * 15)
    failed = False
    mib = 2 ** 20
    with tempfile.TemporaryDirectory() as folder:
        for name in args.programs:
            for dtype in ("float32", "float64") if name == "bellman_ford" else ("float32",):
                compile_file(ROOT / "stdlib" / "graph" / f"{name}.ncl",
                             Path(folder) / f"{name}-{dtype}.safetensors", dtype=dtype)
        for kind, n in cases:
            label = f"{kind} n={n:,}" + (f", m={4 * n:,}" if kind == "random" else "")
            for name in args.programs:
                cmd = [sys.executable, __file__, "--row", kind, str(n), name, "--files", folder,
                       "--repeat", str(args.repeat), "--threads", str(args.threads)]
                t0 = time.perf_counter()
                try:
                    p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    print(f"| {label} | {name} | skipped: past --timeout {args.timeout:.0f} s |"
                          + " — |" * 12, flush=True)
                    continue
                if p.returncode != 0:
                    failed = True
                    print(f"| {label} | {name} | failed: {p.stderr.strip().splitlines()[-1]} |",
                          flush=True)
                    continue
                r = json.loads(p.stdout.strip().splitlines()[-1])
                ok = r["exact_scipy"] and r["exact_networkx"]
                failed |= not ok
                dtype = r["dtype"] + (" (float32 refused)" if "refused" in r else "")
                per = r["compiled_s"] / max(r["rounds"], 1)
                print(f"| {label} | {name} | {dtype} | {r['rounds']} | {r['compiled_s']:.4f} | "
                      f"{r['scipy_s']:.4f} | {r['networkx_s']:.4f} | "
                      f"{r['compiled_s'] / r['scipy_s']:.1f} | "
                      f"{r['compiled_s'] / r['networkx_s']:.2f} | {per:.2e} | "
                      f"{per / r['floor_s']:.1f} | {r['compiled_mem'] / mib:.1f} | "
                      f"{r['scipy_mem'] / mib:.1f} | {r['networkx_mem'] / mib:.1f} | "
                      f"{'yes' if ok else 'NO'} |", flush=True)
                print(f"#   row wall {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                      flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
