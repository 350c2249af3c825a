"""networkx input for graph programs: a (Di)Graph with node and edge attributes becomes the
`Instance` that `CompiledNet.run` takes (docs/weights.md, "Running with nclang").

The graph goes through the same JSON decoder as `nclang run` input, so an attribute value a JSON
file could not hold (a weight past the declared range, a fraction for an int) is refused with the
same `bad-input` diagnostic instead of being run inexactly. networkx is imported by the caller,
not here: this module only walks the graph's public node and edge views.
"""
from __future__ import annotations

from nclang.dsl.jsonio import decode
from nclang.dsl.values import Instance


def graph_instance(net, G, **fields) -> Instance:
    """The `Instance` of graph program `net` (a loaded `CompiledNet`) for networkx graph `G`:
    `graph_input` decoded as `nclang run` decodes its JSON input."""
    return decode(net.signature, graph_input(net, G, **fields), net.sizes, "<networkx>")


def graph_input(net, G, **fields) -> dict:
    """The JSON input (the dict `nclang run` reads) of graph program `net` for networkx graph `G`.

    Nodes are relabelled 0..n-1 in sorted order of their labels (`sorted(G)`), so node-indexed
    results line up with `sorted(G)`. Every edge of a directed graph is one program edge (a
    MultiDiGraph keeps its parallel edges); an undirected edge {u, v} is the two edges u → v and
    v → u. Each keyword names a non-graph parameter of the program: its value is the node or
    edge attribute holding that field (for a node / edge field) or the value itself (for a
    scalar parameter; a `node` scalar is given as a label of `G`). A parameter without a keyword
    reads the attribute of its own name."""
    try:
        nodes = sorted(G)
    except TypeError:
        raise ValueError("the graph's node labels cannot be sorted; relabel them "
                         "(networkx.convert_node_labels_to_integers)") from None
    index = {v: i for i, v in enumerate(nodes)}
    directed = G.is_directed()
    edges = []
    for u, v, attrs in G.edges(data=True):
        edges.append((index[u], index[v], attrs))
        if not directed and u != v:
            edges.append((index[v], index[u], attrs))
    obj: dict = {"n": len(nodes), "edges": [[u, v] for u, v, _ in edges]}
    fields = dict(fields)
    for e in net.encodings["inputs"]:
        if e["kind"] == "graph":
            continue
        name, dom = e["name"], e.get("domain") or []
        given = name in fields
        source = fields.pop(name, name)
        if dom == ["node"]:
            obj[name] = [_attr(G.nodes[v], source, f"node {v!r}") for v in nodes]
        elif dom == ["edge"]:
            obj[name] = [_attr(attrs, source, f"edge {nodes[u]!r} -> {nodes[v]!r}")
                         for u, v, attrs in edges]
        elif not dom:
            if not given:
                raise ValueError(f"{net.program} takes the scalar {name}: give {name}=VALUE")
            obj[name] = index[source] if e["type"] == "node" and source in index else source
        else:
            raise ValueError(f"parameter {name} over {dom} has no networkx form")
    if fields:
        raise ValueError(f"{net.program} has no parameter {', '.join(sorted(fields))}")
    return obj


def _attr(attrs: dict, key, where: str):
    if key not in attrs:
        raise ValueError(f"{where} has no attribute {key!r}")
    value = attrs[key]
    # numpy scalars (a common attribute type) are not JSON values: take their Python value
    return value.item() if hasattr(value, "item") else value
