"""Benchmark of the GNN target (not run by CI): compiled bfs, bfs_distance, bellman_ford and
connected_components against scipy.sparse.csgraph and networkx on the same graphs, the cost of
one compiled round against a bare `scatter_reduce` over the same edges (the floor for message
passing), and peak memory. Every compiled result is checked against scipy before it is timed.

    python bench/gnn.py [--sizes 1000 10000 100000] [--device cpu] [--repeat 3]

Graphs: a sparse random digraph with m = 4n edges (uniform endpoints, one source at node 0) at
each size, and a directed path of 10,000 nodes (bfs needs all n - 1 rounds there); edge
weights are uniform in 1..1000. bellman_ford is compiled for float64 when its values pass the
float32 file's exact range at that size.
"""
from __future__ import annotations

import argparse
import platform
import sys
import resource
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse import csgraph

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's compiler, not another installed copy

from compiler.driver import compile_file  # noqa: E402
from compiler.runtime import load  # noqa: E402
from dsl.values import GraphData, Instance  # noqa: E402
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


def networkx_time(name, n, src, dst, w, repeat):
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    if name == "bellman_ford":
        g.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), w.tolist()))
    else:
        g.add_edges_from(zip(src.tolist(), dst.tolist()))
    f = {"bfs": lambda: nx.descendants(g, 0),
         "bfs_distance": lambda: nx.single_source_shortest_path_length(g, 0),
         "bellman_ford": lambda: nx.single_source_bellman_ford_path_length(g, 0),
         "connected_components": lambda: list(nx.weakly_connected_components(g))}[name]
    return timed(f, repeat)[0]


def scipy_time(name, n, src, dst, w, repeat):
    return timed(lambda: reference(name, n, src, dst, w), repeat)[0]


def scatter_floor(n, src, dst, device, repeat):
    """One bare min-aggregation over the edges: gather at the source, scatter_reduce at dst."""
    x = torch.arange(n, dtype=torch.float32, device=device)
    s = torch.as_tensor(src, device=device)
    d = torch.as_tensor(dst, device=device)

    def once():
        out = x.clone()
        out.scatter_reduce_(0, d, x[s], reduce="amin", include_self=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return out
    return timed(once, repeat)[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--path", type=int, default=10000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    cases = [(f"random n={n}", n, *graph(n, 4 * n, rng)) for n in args.sizes]
    cases.append((f"path n={args.path}", args.path, *path(args.path)))
    print(f"# machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"device {device}")
    print("| graph | program | dtype | rounds | compiled s | scipy s | networkx s | "
          "compiled/scipy | compiled/networkx | per round s | round/scatter floor |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for label, n, src, dst in cases:
            w = rng.integers(1, 1001, len(src)).astype(np.float64)
            floor = scatter_floor(n, src, dst, device, args.repeat)
            for name in PROGRAMS:
                dtype = "float64" if name == "bellman_ford" and 1000 * (n - 1) > 2 ** 20 \
                    else "float32"
                out = Path(folder) / f"{name}-{dtype}.safetensors"
                if not out.exists():
                    compile_file(ROOT / "stdlib" / "graph" / f"{name}.ncl", out, dtype=dtype)
                net = load(out, device)
                inst = instance(name, n, src, dst, w)
                ref = reference(name, n, src, dst, w)
                got = net.run([inst])[0]
                for k, v in ref.items():
                    assert np.array_equal(np.asarray(got[k], np.float64),
                                          np.asarray(v, np.float64)), (label, name, k)
                t_c, _ = timed(lambda: net.run([inst]), args.repeat)
                rounds = net.rounds[0][0]
                t_s = scipy_time(name, n, src, dst, w, args.repeat)
                t_n = networkx_time(name, n, src, dst, w, 1)
                per = t_c / max(rounds, 1)
                print(f"| {label} | {name} | {dtype} | {rounds} | {t_c:.4f} | {t_s:.4f} | "
                      f"{t_n:.4f} | {t_c / t_s:.1f} | {t_c / t_n:.2f} | {per:.2e} | "
                      f"{per / floor:.1f} |", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory: {peak:.0f} MiB"
          + (f"; peak CUDA memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
             if device.type == "cuda" else ""))


if __name__ == "__main__":
    main()
