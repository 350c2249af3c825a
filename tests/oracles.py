"""Independent oracles for the stdlib programs: each takes a program's JSON input (and the bit width
`k` for bit programs) and gives its expected JSON output.

None of them shares code with the interpreter: graphs go through networkx and scipy, bits through
Python integers, sequences through plain Python, so a bug in the interpreter cannot hide here.
Infinity is the string "inf" and `none` is None, as in the JSON form.
"""
from __future__ import annotations

from collections import Counter
from fractions import Fraction

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import csgraph_from_dense, shortest_path

INF = "inf"


def _digraph(inp: dict) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(inp["n"]))
    g.add_edges_from(tuple(e) for e in inp.get("edges", []))
    return g


def _sources(inp: dict) -> list[int]:
    return [v for v, s in enumerate(inp["source"]) if s]


def _num(x) -> int | str:
    return INF if x == float("inf") else int(x)


# ---------------------------------------------------------------- graph

def bfs(inp: dict) -> dict:
    g = _digraph(inp)
    reached = set(_sources(inp))
    for s in _sources(inp):
        reached |= nx.descendants(g, s)
    return {"reached": [v in reached for v in range(inp["n"])]}


def bfs_parent(inp: dict) -> dict:
    # CLRS's BFS predecessor: level by networkx's multi-source shortest paths (unit weights);
    # a node at level L > 0 points to its smallest in-neighbour at level L - 1, a source to
    # itself, an unreached node to none
    g = _digraph(inp)
    sources = _sources(inp)
    level = nx.multi_source_dijkstra_path_length(g, sources) if sources else {}
    parent = []
    for v in range(inp["n"]):
        if v not in level:
            parent.append(None)
        elif level[v] == 0:
            parent.append(v)
        else:
            parent.append(min(u for u in g.predecessors(v) if level.get(u) == level[v] - 1))
    return {"parent": parent}


def bfs_distance(inp: dict) -> dict:
    sources = _sources(inp)
    found = nx.multi_source_dijkstra_path_length(_digraph(inp), sources) if sources else {}
    return {"dist": [found.get(v, INF) for v in range(inp["n"])]}


def bellman_ford(inp: dict) -> dict:
    n = inp["n"]
    # scipy would add up repeated edges when building a sparse matrix, so take the least weight
    # of each repeated edge here; inf marks "no edge" so that weight-0 edges stay edges
    dense = np.full((n, n), np.inf)
    for (u, v), w in zip(inp.get("edges", []), inp["w"]):
        dense[u, v] = min(dense[u, v], w)
    sources = _sources(inp)
    if not sources:
        return {"dist": [INF] * n}
    rows = shortest_path(csgraph_from_dense(dense, null_value=np.inf), directed=True,
                         indices=sources)
    return {"dist": [_num(x) for x in rows.min(axis=0)]}


def bellman_ford_pred(inp: dict) -> dict:
    # distances by networkx's multi-source Dijkstra (weights are non-negative; a repeated edge
    # keeps its least weight); then, in plain Python, the hop count h[v] = fewest edges on a
    # shortest path (a breadth-first pass over the tight edges dist[u] + w = dist[v] from the
    # sources), and pred[v] = the smallest u with a tight edge u -> v and h[u] = h[v] - 1
    n = inp["n"]
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for (u, v), w in zip(inp.get("edges", []), inp["w"]):
        if not g.has_edge(u, v) or w < g[u][v]["weight"]:
            g.add_edge(u, v, weight=w)
    sources = _sources(inp)
    dist = nx.multi_source_dijkstra_path_length(g, sources) if sources else {}
    tight = {v: sorted(u for u in g.predecessors(v)
                       if u in dist and dist[u] + g[u][v]["weight"] == dist.get(v))
             for v in range(n)}
    hops = {s: 0 for s in sources}
    frontier = list(sources)
    while frontier:
        nxt = []
        for u in frontier:
            for v in g.successors(u):
                if v not in hops and u in tight[v]:
                    hops[v] = hops[u] + 1
                    nxt.append(v)
        frontier = nxt
    pred = []
    for v in range(n):
        if v not in dist:
            pred.append(None)
        elif hops[v] == 0:
            pred.append(v)
        else:
            pred.append(min(u for u in tight[v] if hops.get(u) == hops[v] - 1))
    return {"dist": [dist.get(v, INF) for v in range(n)], "pred": pred}


def connected_components(inp: dict) -> dict:
    label = [0] * inp["n"]
    for comp in nx.weakly_connected_components(_digraph(inp)):
        least = min(comp)
        for v in comp:
            label[v] = least
    return {"label": label}


def closure(inp: dict) -> dict:
    n = inp["n"]
    tc = nx.transitive_closure(_digraph(inp), reflexive=True)
    return {"r": [[tc.has_edge(i, j) for j in range(n)] for i in range(n)]}


def apsp(inp: dict) -> dict:
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(inp["n"]))
    for (u, v), w in zip(inp.get("edges", []), inp["w"]):
        g.add_edge(u, v, weight=w)
    d = nx.floyd_warshall_numpy(g, nodelist=range(inp["n"]), weight="weight")
    return {"d": [[_num(x) for x in row] for row in d]}


def dfs(inp: dict) -> dict:
    n, s = inp["n"], inp["s"]
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    # networkx visits neighbours in insertion order: insert them sorted for smallest-id-first
    g.add_edges_from(sorted(set(tuple(e) for e in inp.get("edges", []))))
    disc: list[int | str] = [INF] * n
    for t, v in enumerate(nx.dfs_preorder_nodes(g, s)):
        disc[v] = t
    pred = nx.dfs_predecessors(g, s)
    return {"disc": disc, "parent": [pred.get(v) for v in range(n)]}


def list_ranking(inp: dict) -> dict:
    succ = inp["succ"]
    rank = []
    for v in range(inp["n"]):
        steps = 0
        while succ[v] != v:
            v = succ[v]
            steps += 1
        rank.append(steps)
    return {"rank": rank}


# ---------------------------------------------------------------- bits

def add(inp: dict, k: int) -> dict:
    return {"s": inp["a"] + inp["b"]}


add_ripple = add


def parity(inp: dict, k: int) -> dict:
    return {"result": bin(inp["x"]).count("1") % 2 == 1}


def majority(inp: dict, k: int) -> dict:
    return {"result": bin(inp["x"]).count("1") > k / 2}


def less_than(inp: dict, k: int) -> dict:
    return {"result": inp["a"] < inp["b"]}


def popcount(inp: dict, k: int) -> dict:
    return {"result": bin(inp["x"]).count("1")}


def multiply(inp: dict, k: int) -> dict:
    return {"acc": inp["a"] * inp["b"]}


def permute(inp: dict, k: int) -> dict:
    return {"out": int(format(inp["x"], f"0{k}b")[::-1], 2)}


def sbn_step(inp: dict, k: int | None = None) -> dict:
    mem, pc = list(inp["mem"]), inp["pc"]
    a, b, c = (mem[(pc + d) & 15] & 15 for d in range(3))
    # 7-bit two's complement: keep the low 7 bits, then read bit 6 as the sign
    low = (mem[a] - mem[b]) & 0x7F
    mem[a] = low - 0x80 if low & 0x40 else low
    return {"next_mem": mem, "next_pc": c if mem[a] < 0 else (pc + 3) & 15}


# ---------------------------------------------------------------- sequences

def length(inp: dict) -> dict:
    n = len(inp["tokens"])
    return {"length": [n] * n}


def reverse(inp: dict) -> dict:
    return {"out": list(reversed(inp["tokens"]))}


def hist(inp: dict) -> dict:
    counts = Counter(inp["tokens"])
    return {"h": [counts[t] for t in inp["tokens"]]}


def sort_unique(inp: dict) -> dict:
    return {"out": sorted(inp["tokens"])}


sort = sort_unique


def _prefix_means(values: list[int]) -> list[float]:
    out, total = [], 0
    for i, x in enumerate(values):
        total += x
        out.append(float(Fraction(total, i + 1)))
    return out


def frac_prevs(inp: dict) -> dict:
    return {"prevs": _prefix_means([t == "a" for t in inp["tokens"]])}


def pair_balance(inp: dict) -> dict:
    step = {"(": 1, ")": -1}
    return {"balance": _prefix_means([step.get(t, 0) for t in inp["tokens"]])}


def _matched(tokens: list[str], open_: str, close: str) -> bool:
    stack = []
    for t in tokens:
        if t == open_:
            stack.append(t)
        elif t == close:
            if not stack:
                return False
            stack.pop()
    return not stack


def dyck1(inp: dict) -> dict:
    return {"result": _matched(inp["tokens"], "(", ")")}


def dyck2(inp: dict) -> dict:
    t = inp["tokens"]
    return {"result": _matched(t, "(", ")") and _matched(t, "{", "}")}


def most_freq(inp: dict) -> dict:
    tokens = inp["tokens"]
    counts = Counter(tokens)
    return {"result": max(counts, key=lambda t: (counts[t], -tokens.index(t)))}


# ---------------------------------------------------------------- CLRS depth-first search

# CLRS-30's search order: the outer loop tries nodes 0, 1, ... as roots, and each node's
# neighbours are tried smallest id first. networkx's DFS follows its graph's insertion order,
# so each graph below is built with nodes and edges inserted sorted; the times, finishing order
# and trees are read from networkx's labelled edges, not from a search written here.


def _sorted_graph(inp: dict, undirected: bool = False) -> nx.Graph:
    g = nx.Graph() if undirected else nx.DiGraph()
    g.add_nodes_from(range(inp["n"]))
    pairs = set(tuple(e) for e in inp.get("edges", []))
    if undirected:
        # an edge either way is one undirected edge, and a self-loop is none (CLRS's symmetric
        # 0/1 adjacency matrix; its diagonal does not enter the search)
        pairs = {(min(u, v), max(u, v)) for u, v in pairs if u != v}
        pairs |= {(v, u) for u, v in pairs}
    g.add_edges_from(sorted(pairs))
    return g


def _clrs_search(g: nx.Graph) -> tuple[list, list[int], list[int], list[int]]:
    """(pi, d, f, finishing order) of the search from every node in id order: networkx yields
    (v, v, "forward") for a root and (u, v, "forward") for a tree edge when v is discovered, and
    (u, v, "reverse") when v finishes."""
    n = g.number_of_nodes()
    pi: list[int | None] = [None] * n
    d, f, order = [0] * n, [0] * n, []
    clock = 0
    for u, v, kind in nx.dfs_labeled_edges(g):
        if kind == "forward":
            clock += 1
            d[v] = clock
            pi[v] = u if u != v else None
        elif kind == "reverse":
            clock += 1
            f[v] = clock
            order.append(v)
    return pi, d, f, order


def dfs_forest(inp: dict) -> dict:
    pi, d, f, _ = _clrs_search(_sorted_graph(inp))
    return {"pi": pi, "d": d, "f": f}


def topological_sort(inp: dict) -> dict:
    # CLRS-30's list: reverse finishing order; each node points at the one that finished just
    # before it, the first to finish at none
    _, _, _, order = _clrs_search(_sorted_graph(inp))
    topo: list[int | None] = [None] * inp["n"]
    for before, v in zip(order, order[1:]):
        topo[v] = before
    return {"topo": topo, "head": [v == order[-1] for v in range(inp["n"])]}


def strongly_connected_components(inp: dict) -> dict:
    # the components from networkx; each one's id is its member that finished last in the
    # first search (Kosaraju's second search starts the component's tree there)
    g = _sorted_graph(inp)
    _, _, f, _ = _clrs_search(g)
    scc_id = [0] * inp["n"]
    for comp in nx.strongly_connected_components(g):
        root = max(comp, key=lambda v: f[v])
        for v in comp:
            scc_id[v] = root
    return {"scc_id": scc_id}


def articulation_points(inp: dict) -> dict:
    cut = set(nx.articulation_points(_sorted_graph(inp, undirected=True)))
    return {"cut": [v in cut for v in range(inp["n"])]}


def bridges(inp: dict) -> dict:
    found = {frozenset(e) for e in nx.bridges(_sorted_graph(inp, undirected=True))}
    return {"bridge": [frozenset(e) in found for e in inp.get("edges", [])]}


def scc_closure(inp: dict) -> dict:
    comp = [0] * inp["n"]
    for members in nx.strongly_connected_components(_sorted_graph(inp)):
        for v in members:
            comp[v] = min(members)
    return {"comp": comp}
