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


# ---------------------------------------------------------------- CLRS-30 shortest paths
# Each oracle runs CLRS-30's procedure itself in plain Python (its loop order, strict
# improvements, ties to the smallest index), which is what fixes the pointers, and checks the
# distances it finds against networkx; where CLRS's procedure has no answer (a negative cycle, a
# cycle in a DAG program's input) the affected nodes come from networkx's cycle search. "No edge"
# is None in the procedures, never 0: a weight-0 edge is an edge in nclang.

def _least_weights(inp: dict) -> dict[tuple[int, int], int]:
    """(u, v) -> the least weight of the edges u -> v: a repeated edge counts with its least."""
    least: dict[tuple[int, int], int] = {}
    for (u, v), w in zip(inp.get("edges", []), inp["w"]):
        least[u, v] = min(w, least.get((u, v), w))
    return least


def _weighted_digraph(inp: dict, drop: set[int] = frozenset()) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(v for v in range(inp["n"]) if v not in drop)
    g.add_weighted_edges_from((u, v, w) for (u, v), w in _least_weights(inp).items()
                              if u not in drop and v not in drop)
    return g


def _least_walks(inp: dict, s: int, rounds: int) -> list[int | None]:
    """The least weight of a walk from s to each node with at most `rounds` edges (None: none)."""
    least = _least_weights(inp)
    d: list[int | None] = [None] * inp["n"]
    d[s] = 0
    for _ in range(rounds):
        nd = list(d)
        for (u, v), w in least.items():
            if d[u] is not None and (nd[v] is None or d[u] + w < nd[v]):
                nd[v] = d[u] + w
        d = nd
    return d


def _after_cycles(g: nx.DiGraph, s: int, negative: bool) -> set[int]:
    """The nodes on or reachable from a cycle (a negative one when `negative`) that s reaches."""
    reach = g.subgraph(nx.descendants(g, s) | {s})
    starts: set[int] = set()
    for comp in nx.strongly_connected_components(reach):
        part = reach.subgraph(comp).copy()  # negative_edge_cycle adds a node to its graph
        if negative and nx.negative_edge_cycle(part) or not negative and (
                len(comp) > 1 or any(part.has_edge(v, v) for v in comp)):
            starts |= comp
    found = set(starts)
    for v in starts:
        found |= nx.descendants(reach, v)
    return found


def _clrs_bellman_ford(inp: dict, s: int, drop: set[int]) -> tuple[list, list]:
    """CLRS-30's bellman_ford loop on the graph without `drop`: each round relaxes from the
    previous round's distances, u ascending, and moves pi[v] only on a strict improvement; it
    stops when a round changes nothing (CLRS's test d == prev_d, with unreached kept apart)."""
    n, least = inp["n"], _least_weights(inp)
    d: list[int | None] = [None] * n
    pi: list[int | None] = [None] * n
    d[s], pi[s] = 0, s
    while True:
        prev = list(d)
        for u in range(n):
            for v in range(n):
                w = least.get((u, v))
                if u in drop or v in drop or w is None or prev[u] is None:
                    continue
                if d[v] is None or prev[u] + w < d[v]:
                    d[v], pi[v] = prev[u] + w, u
        if d == prev:
            return d, pi


def bellman_ford_negative(inp: dict) -> dict:
    n, s = inp["n"], inp["s"]
    neg = _after_cycles(_weighted_digraph(inp), s, negative=True)
    if s in neg:  # s lies on a negative cycle: every node it reaches is in neg
        d, pi = [None] * n, [None] * n
    else:
        d, pi = _clrs_bellman_ford(inp, s, neg)
        found = nx.single_source_bellman_ford_path_length(_weighted_digraph(inp, neg), s)
        assert {v: x for v, x in enumerate(d) if x is not None} == found
    walks = _least_walks(inp, s, n - 1)
    dist = [walks[v] if v in neg else INF if d[v] is None else d[v] for v in range(n)]
    return {"dist": dist, "pi": [None if v in neg else pi[v] for v in range(n)],
            "neg": [v in neg for v in range(n)], "negative_cycle": bool(neg)}


def dijkstra(inp: dict) -> dict:
    # CLRS-30's dijkstra with extract-min ordered by (distance, index): a heap of (d, v) pops
    # equal distances by index; a pointer moves only on a strict improvement
    import heapq
    n, s = inp["n"], inp["s"]
    out: dict[int, list[tuple[int, int]]] = {v: [] for v in range(n)}
    for (u, v), w in sorted(_least_weights(inp).items()):
        out[u].append((v, w))
    d: list[int | None] = [None] * n
    pi: list[int | None] = [None] * n
    d[s], pi[s] = 0, s
    done, heap = [False] * n, [(0, s)]
    while heap:
        du, u = heapq.heappop(heap)
        if done[u] or du != d[u]:
            continue
        done[u] = True
        for v, w in out[u]:
            if not done[v] and (d[v] is None or du + w < d[v]):
                d[v], pi[v] = du + w, u
                heapq.heappush(heap, (d[v], v))
    found = nx.single_source_dijkstra_path_length(_weighted_digraph(inp), s)
    assert {v: x for v, x in enumerate(d) if x is not None} == found
    return {"dist": [INF if x is None else x for x in d], "pi": pi}


def _clrs_dfs_finish_order(n: int, adj: dict[int, list[int]], s: int) -> list[int]:
    """The nodes s reaches in the order CLRS-30's DFS finishes them (smallest unvisited
    out-neighbour first)."""
    color, order, stack = [0] * n, [], [s]
    color[s] = 1
    while stack:
        u = stack[-1]
        nxt = next((v for v in adj[u] if color[v] == 0), None)
        if nxt is None:
            color[u] = 2
            order.append(stack.pop())
        else:
            color[nxt] = 1
            stack.append(nxt)
    return order


def dag_shortest_paths(inp: dict) -> dict:
    # CLRS-30's procedure on the whole graph: topological order = decreasing DFS finish time,
    # each node's out-edges relaxed in that order (j ascending, distances read live, strict
    # improvements); CLRS leaves the first-finished node's edges unrelaxed (in a DAG it has none)
    n, s = inp["n"], inp["s"]
    least = _least_weights(inp)
    adj = {u: sorted(v for (a, v) in least if a == u) for u in range(n)}
    topo = _clrs_dfs_finish_order(n, adj, s)[::-1]
    d: list[int | None] = [None] * n
    pi: list[int | None] = [None] * n
    d[s], pi[s] = 0, s
    for i in topo[:-1]:
        for j in adj[i]:
            if d[j] is None or d[i] + least[i, j] < d[j]:
                d[j], pi[j] = d[i] + least[i, j], i
    cyclic = _after_cycles(_weighted_digraph(inp), s, negative=False)
    if not cyclic:
        found = nx.single_source_bellman_ford_path_length(_weighted_digraph(inp), s)
        assert {v: x for v, x in enumerate(d) if x is not None} == found
    walks = _least_walks(inp, s, n - 1)
    dist = [walks[v] if v in cyclic else INF if d[v] is None else d[v] for v in range(n)]
    return {"dist": dist, "pi": [None if v in cyclic else pi[v] for v in range(n)],
            "cyclic": [v in cyclic for v in range(n)]}


def floyd_warshall(inp: dict) -> dict:
    # CLRS-30's loop: D starts as the one-edge distances with the self-loop's weight (or 0) on
    # the diagonal, Pi[i][j] = i where D is finite; stage k takes D[i][k] + D[k][j] where
    # strictly less and then Pi[i][j] = Pi[k][j]. networkx's Floyd-Warshall (same strict rule,
    # k in node order, but d[i][i] = 0) must agree off the diagonal, and on it D[i][i] is the
    # self-loop's weight or a shorter cycle through i
    n, least = inp["n"], _least_weights(inp)
    D = [[least.get((i, j), 0 if i == j else None) for j in range(n)] for i in range(n)]
    P = [[i if D[i][j] is not None else None for j in range(n)] for i in range(n)]
    for k in range(n):
        prev = [row[:] for row in D]
        for i in range(n):
            for j in range(n):
                if prev[i][k] is None or prev[k][j] is None:
                    continue
                if D[i][j] is None or prev[i][k] + prev[k][j] < D[i][j]:
                    D[i][j], P[i][j] = prev[i][k] + prev[k][j], P[k][j]
    pred, dist = nx.floyd_warshall_predecessor_and_distance(_weighted_digraph(inp))
    for i in range(n):
        for j in range(n):
            want = dist[i][j] if i != j else min(
                [least.get((i, i), 0)] + [dist[i][k] + dist[k][i] for k in range(n)
                                          if k != i and (i, i) in least])
            assert (INF if D[i][j] is None else D[i][j]) == _num(want), (i, j)
            if i != j:
                assert P[i][j] == pred.get(i, {}).get(j), (i, j)
    return {"d": [[INF if x is None else x for x in row] for row in D], "p": P}


def clrs_bfs_pointer(inp: dict) -> dict:
    # CLRS-30's bfs loop for its single source s (the one true entry of `source`): each round,
    # i ascending, an unreached j gets pi[j] = the first reached i with an edge i -> j
    n = inp["n"]
    (s,) = _sources(inp)
    edges = {tuple(e) for e in inp.get("edges", [])}
    reach = [v == s for v in range(n)]
    pi: list[int | None] = [s if v == s else None for v in range(n)]
    while True:
        prev = list(reach)
        for i in range(n):
            for j in range(n):
                if (i, j) in edges and prev[i]:
                    if pi[j] is None:
                        pi[j] = i
                    reach[j] = True
        if reach == prev:
            return {"parent": pi}
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
