"""Oracles and input strategies for the MST programs (stdlib/graph/mst_prim, mst_kruskal).

Kruskal's forest comes from networkx (`minimum_spanning_edges`, algorithm "kruskal") with each
pair's weight replaced by its place in the order (weight, i, j): CLRS's tie rule made a strict
order, so networkx's own tie handling never decides. Prim's pointers come from CLRS's procedure
written out in plain Python with its ties to the smallest index; networkx checks separately
that the tree it builds has a minimum spanning tree's weight. Neither shares code with the
interpreter."""
from __future__ import annotations

import networkx as nx
from hypothesis import strategies as st

import strategies as S


def _lightest(inp: dict) -> dict[tuple[int, int], int]:
    """{(u, v): least weight of an edge u -> v}, self-loops left out."""
    least: dict[tuple[int, int], int] = {}
    for (u, v), w in zip(inp.get("edges", []), inp["w"]):
        if u != v:
            least[u, v] = min(w, least.get((u, v), w))
    return least


def pairs(inp: dict) -> dict[tuple[int, int], int]:
    """{(i, j) with i < j: least weight of an edge between them, either way}."""
    pairs: dict[tuple[int, int], int] = {}
    for (u, v), w in _lightest(inp).items():
        key = (min(u, v), max(u, v))
        pairs[key] = min(w, pairs.get(key, w))
    return pairs


def mst_kruskal(inp: dict) -> dict:
    n = inp["n"]
    g = nx.Graph()
    g.add_nodes_from(range(n))
    # networkx takes numbers: each pair's place in the order (weight, i, j), all distinct
    ordered = sorted((w, i, j) for (i, j), w in pairs(inp).items())
    for place, (_, i, j) in enumerate(ordered):
        g.add_edge(i, j, order=place)
    mask = [[False] * n for _ in range(n)]
    for i, j, _ in nx.minimum_spanning_edges(g, algorithm="kruskal", weight="order"):
        mask[i][j] = mask[j][i] = True
    return {"in_mst": mask}


def mst_prim(inp: dict) -> dict:
    n, s = inp["n"], inp["s"]
    out = {v: [] for v in range(n)}
    for (u, v), w in _lightest(inp).items():
        out[u].append((v, w))
    key, pi = {s: 0}, {s: s}
    queued, done = {s}, set()
    while queued:
        u = min(queued, key=lambda x: (key[x], x))
        queued.discard(u)
        done.add(u)
        for v, w in sorted(out[u]):
            if v not in done and (v not in queued or w < key[v]):
                pi[v], key[v] = u, w
                queued.add(v)
    return {"pi": [pi.get(v) for v in range(n)]}


def tree_weight(inp: dict, pi: list) -> int:
    """The weight of the tree `pi` draws, each pointer by its lightest edge."""
    least = _lightest(inp)
    return sum(least[p, v] for v, p in enumerate(pi) if p is not None and p != v)


def spanning_weight(inp: dict) -> int:
    """networkx's minimum spanning tree weight of the component of s, over edges s reaches."""
    g = nx.Graph()
    g.add_node(inp["s"])
    for (u, v), w in _lightest(inp).items():
        g.add_edge(u, v, weight=min(w, g.edges[u, v]["weight"]) if g.has_edge(u, v) else w)
    part = g.subgraph(nx.node_connected_component(g, inp["s"]))
    return sum(d["weight"] for _, _, d in nx.minimum_spanning_edges(part, data=True))


def forest_weight(inp: dict) -> int:
    """networkx's minimum spanning forest weight, each pair by its lightest edge either way."""
    g = nx.Graph()
    g.add_nodes_from(range(inp["n"]))
    g.add_weighted_edges_from((i, j, w) for (i, j), w in pairs(inp).items())
    return sum(d["weight"] for _, _, d in nx.minimum_spanning_edges(g, data=True))


def symmetric(inp: dict) -> bool:
    """Whether every edge has a reverse of the same least weight (an undirected graph)."""
    least = _lightest(inp)
    return all(least.get((v, u)) == w for (u, v), w in least.items())


def _signed_weights(draw, m: int) -> list[int]:
    # few distinct weights make ties the common case; the extremes check the declared range
    values = draw(st.sampled_from([st.integers(-2, 2), st.integers(-1000, 1000),
                                   st.sampled_from([-1000, 0, 1000])]))
    return draw(st.lists(values, min_size=m, max_size=m))


@st.composite
def undirected(draw, max_n: int) -> dict:
    """{"n", "edges", "w"}: a multigraph where edges come with their reverse of the same weight,
    as CLRS's symmetric matrices give them, all of them or only some (the programs read each
    direction as it is given)."""
    n, edges = draw(S.graphs(max_n))
    weights = _signed_weights(draw, len(edges))
    every = draw(st.booleans())
    both = [every or draw(st.booleans()) for _ in edges]
    return {"n": n,
            "edges": [r for (u, v), b in zip(edges, both) for r in ([[u, v], [v, u]] if b
                                                                     else [[u, v]])],
            "w": [x for x, b in zip(weights, both) for x in ([x, x] if b else [x])]}


def kruskal_input(max_n: int = 10):
    return undirected(max_n)


@st.composite
def prim_input(draw, max_n: int = 20) -> dict:
    inp = draw(undirected(max_n))
    return {**inp, "s": draw(st.integers(0, inp["n"] - 1))}
