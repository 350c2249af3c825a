"""`Network.run_networkx(G, write=...)` runs a graph program on a networkx graph and writes its
results back as node, edge and graph attributes in networkx's terms (labels for node pointers,
math.inf for inf), agreeing with networkx's own algorithms; nothing is written when a result
cannot be."""
from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nclang

FIELDS = """program fields(g: graph, w: edge[int[0..9]]) -> (edge[int[0..9]], node[int]) {
    copy = w
    weight_in[v] = sum(w[u, v] for u in in(v))
    return copy, weight_in
}
"""
LIGHTEST = """program lightest(g: graph, w: edge[int[0..9]]) -> (edge[bool], int) {
    lo[v] = min(w[u, v] for u in in(v))
    light[e in edges] = src(e) != dst(e) and w[e] == lo[dst(e)]
    return light, sum(w[e] for e in edges if light[e])
}
"""
_NETS: dict[str, nclang.Network] = {}


@pytest.fixture(scope="module")
def net():
    def get(source):
        if source not in _NETS:
            _NETS[source] = nclang.compile(source)
        return _NETS[source]
    return get


@st.composite
def weighted_digraphs(draw, max_n=7):
    n = draw(st.integers(1, max_n))
    labels = [f"v{i}" for i in draw(st.permutations(range(n)))]
    G = nx.DiGraph()
    G.add_nodes_from(labels)
    for u, v in draw(st.lists(st.tuples(st.sampled_from(labels), st.sampled_from(labels)),
                              max_size=3 * n)):
        G.add_edge(u, v, weight=draw(st.integers(0, 20)))
    for v in labels:
        G.nodes[v]["start"] = draw(st.booleans())
    return G


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(G=weighted_digraphs())
def test_written_distances_and_predecessors_agree_with_networkx(net, G):
    out = net("stdlib/graph/bellman_ford_pred.ncl").run_networkx(
        G, w="weight", source="start", write={"dist": "d", "pred": "p"})
    sources = [v for v in G if G.nodes[v]["start"]]
    want = nx.multi_source_dijkstra_path_length(G, sources) if sources else {}
    for v in G:
        assert G.nodes[v]["d"] == want.get(v, math.inf)
        p = G.nodes[v]["p"]
        if v in sources:
            assert p == v
        elif v not in want:
            assert p is None
        else:  # a label of a node on a shortest path just before v
            assert want[p] + G.edges[p, v]["weight"] == want[v]
    assert out["pred"] == [None if p is None else sorted(G).index(p)
                           for p in (G.nodes[v]["p"] for v in sorted(G))]


def test_pair_results_are_node_attributes_keyed_by_label_like_networkx(net):
    G = nx.Graph()
    G.add_weighted_edges_from([("a", "b", 3), ("b", "c", 5), ("a", "c", 9)])
    G.add_node("z")
    net("stdlib/graph/apsp.ncl").run_networkx(G, w="weight", write=True)
    want = nx.floyd_warshall(G)
    assert {v: G.nodes[v]["d"] for v in G} == {v: dict(want[v]) for v in G}


def test_edge_and_scalar_results_go_to_edges_and_the_graph(net):
    G = nx.MultiDiGraph()
    G.add_edge(0, 1, w=4)
    G.add_edge(0, 1, w=2)  # a parallel edge keeps its own result
    G.add_edge(1, 0, w=1)
    out = net(LIGHTEST).run_networkx(G, write=True)
    assert out == {"light": [False, True, True], "result2": 3}
    assert [G.edges[e]["light"] for e in G.edges(keys=True)] == [False, True, True]
    assert G.graph["result2"] == 3


def test_an_undirected_edge_gets_a_result_both_directions_agree_on(net):
    G = nx.Graph()
    G.add_edge("a", "b", w=7)
    G.add_edge("b", "b", w=2)
    net(FIELDS).run_networkx(G, write={"copy": "c"})
    assert G.edges["a", "b"]["c"] == 7 and G.edges["b", "b"]["c"] == 2
    assert "weight_in" not in G.nodes["a"]  # only the results asked for


def test_nothing_is_written_when_one_result_cannot_be(net):
    G = nx.Graph()
    G.add_edge(0, 1, w=3)
    G.add_edge(1, 2, w=5)
    before = (dict(G.graph), {e: dict(G.edges[e]) for e in G.edges})
    with pytest.raises(ValueError, match="differs on the two directions"):
        net(LIGHTEST).run_networkx(G, write=True)
    assert (dict(G.graph), {e: dict(G.edges[e]) for e in G.edges}) == before


def test_write_names_only_results_and_input_is_checked_as_json_is(net):
    G = nx.DiGraph([(0, 1)])
    nx.set_node_attributes(G, True, "source")
    bfs = net("stdlib/graph/bfs.ncl")
    with pytest.raises(ValueError, match="no result dist"):
        bfs.run_networkx(G, write={"dist": "d"})
    assert bfs.run_networkx(G) == {"reached": [True, True]} and "reached" not in G.nodes[0]
    G.nodes[0]["source"] = 3
    with pytest.raises(nclang.NclError, match="expected true or false"):
        bfs.run_networkx(G, write=True)
