"""A graph program's outputs written back onto the networkx graph it ran on
(`Network.run_networkx(G, write=...)`, docs/interop.md).

The program's nodes are `sorted(G)` and its edges `G.edges()` in order, an undirected edge
twice (u -> v, then v -> u), as `nclang.compiler.runtime.graphs.graph_input` numbers them. A
value goes back in networkx's terms: a node pointer as the node's label (None for none), inf as
`math.inf`. A node result is a node attribute, a pair result a node attribute holding {label:
value} (as networkx's all-pairs functions return), an edge result an edge attribute (an
undirected edge's two directions must agree, or nothing is written), a scalar result
`G.graph[NAME]`. Nothing is written unless every result can be.
"""
from __future__ import annotations

import math


def targets(results: list[str], write) -> dict[str, str]:
    """{result name: attribute name} for `write` (True: every result under its own name; a dict
    {result: attribute}); ValueError for a name the program does not return."""
    if write is True:
        return {r: r for r in results}
    if not isinstance(write, dict):
        raise TypeError(f"write: expected True, False or a dict {{result: attribute}}, got "
                        f"{type(write).__name__}")
    unknown = sorted(set(write) - set(results))
    if unknown:
        raise ValueError(f"write: no result {', '.join(unknown)} (results: "
                         f"{', '.join(results)})")
    return dict(write)


def write_back(G, outputs: dict, encodings: list[dict], names: dict[str, str]) -> None:
    """Write `outputs` (a run's JSON outputs) onto `G` as `names` says."""
    nodes = sorted(G)
    if G.is_multigraph():
        edges = list(G.edges(keys=True))
    else:
        edges = list(G.edges())
    directed = G.is_directed()
    writes = []  # (set, key, value) calls, made only once all are known to be possible
    for e in encodings:
        if e["name"] not in names:
            continue
        attr, dom = names[e["name"]], list(e["domain"])
        value = outputs[e["name"]]

        def conv(v, kind=e["kind"]):
            if kind == "index":
                return None if v is None else nodes[v]
            if v == "inf":
                return math.inf
            if v == "-inf":
                return -math.inf
            return v

        if dom == ["node"]:
            writes += [(G.nodes[v], attr, conv(x)) for v, x in zip(nodes, value)]
        elif dom == ["node", "node"]:
            writes += [(G.nodes[v], attr, {w: conv(x) for w, x in zip(nodes, row)})
                       for v, row in zip(nodes, value)]
        elif dom == ["edge"]:
            i = 0
            for edge in edges:
                x = conv(value[i])
                i += 1
                if not directed and edge[0] != edge[1]:
                    back = conv(value[i])
                    i += 1
                    if back != x:
                        raise ValueError(f"{e['name']} differs on the two directions of "
                                         f"undirected edge {edge[0]!r} - {edge[1]!r} ({x!r}, "
                                         f"{back!r}): run it on a DiGraph")
                writes.append((G.edges[edge], attr, x))
        elif not dom:
            writes.append((G.graph, attr, conv(value)))
        else:
            raise ValueError(f"result {e['name']} over {dom} has no networkx form")
    for where, key, v in writes:
        where[key] = v
