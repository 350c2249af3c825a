"""The depth-first half of the CLRS-30 graph suite (dfs_forest, topological_sort,
strongly_connected_components, articulation_points, bridges) and scc_closure, the NC alternative
for the components: the interpreter agrees with oracles of CLRS-30's semantics (networkx plus
CLRS's tie rules, tests/oracles.py) on hypothesis graphs with ties, self-loops and repeated
edges; each program compiles to a GNN that agrees with the interpreter on such graphs; and the
results have the properties CLRS's outputs have whatever the tie rule (times nest, a DAG's list
is a topological order, both component programs find the same components)."""
from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracles as O
import strategies as S
from nclang import stdlib
from nclang.compiler.driver import compile_file
from nclang.compiler.runtime import load
from nclang.dsl.jsonio import decode, encode

ORACLES = {
    "graph/dfs_forest": O.dfs_forest,
    "graph/topological_sort": O.topological_sort,
    "graph/strongly_connected_components": O.strongly_connected_components,
    "graph/articulation_points": O.articulation_points,
    "graph/bridges": O.bridges,
    # the NC alternative: the same components, named by their smallest id
    "graph/scc_closure": O.scc_closure,
}
UNDIRECTED = ("graph/articulation_points", "graph/bridges")
# 2n rounds of one event each: small graphs keep the interpreter's runs short
MAX_N = 12
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def dags(draw, max_n: int = MAX_N) -> dict:
    """{"n", "edges"}: edges only from earlier to later in a shuffled order (repeats kept)."""
    n = draw(st.integers(1, max_n))
    rank = draw(st.permutations(range(n)))
    node = st.integers(0, n - 1)
    pairs = draw(st.lists(st.tuples(node, node), max_size=3 * n))
    edges = [[a, b] if rank[a] < rank[b] else [b, a] for a, b in pairs if a != b]
    return {"n": n, "edges": edges}


@st.composite
def directed(draw, max_n: int = MAX_N) -> dict:
    """{"n", "edges"}: a multigraph from strategies.graphs, or a DAG (topological_sort's case)."""
    if draw(st.booleans()):
        return draw(dags(max_n))
    n, edges = draw(S.graphs(max_n))
    return {"n": n, "edges": edges}


@st.composite
def undirected(draw, max_n: int = MAX_N) -> dict:
    """{"n", "edges"}: a multigraph read as undirected; half the time every edge is listed both
    ways, as CLRS's symmetric adjacency matrix gives it."""
    n, edges = draw(S.graphs(max_n))
    if draw(st.booleans()):
        edges = edges + [[v, u] for u, v in edges]
    return {"n": n, "edges": edges}


def inputs(name: str):
    return undirected() if name in UNDIRECTED else directed()


def test_every_program_here_is_in_the_stdlib():
    assert set(ORACLES) <= set(S.family("graph"))


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_example_matches_oracle(name):
    inp, sizes = S.example(name)
    assert S.run_json(name, inp, sizes) == ORACLES[name](inp)


@pytest.mark.parametrize("name", sorted(ORACLES))
@FEW
@given(data=st.data())
def test_interpreter_agrees_with_clrs_oracle(name, data):
    inp = data.draw(inputs(name), label="input")
    assert S.run_json(name, inp) == ORACLES[name](inp)


@FEW
@given(inp=directed())
def test_dfs_forest_times_nest(inp):
    """CLRS's parenthesis theorem: the times are 1 .. 2n, d < f, a child's interval lies inside
    its parent's, and a root's interval inside no earlier node's."""
    out = S.run_json("graph/dfs_forest", inp)
    d, f, pi = out["d"], out["f"], out["pi"]
    assert sorted(d + f) == list(range(1, 2 * inp["n"] + 1))
    for v in range(inp["n"]):
        assert d[v] < f[v]
        if pi[v] is not None:
            assert d[pi[v]] < d[v] and f[v] < f[pi[v]]
        else:
            assert all(not (d[u] < d[v] < f[u]) for u in range(inp["n"]))


@FEW
@given(inp=dags())
def test_topological_sort_orders_a_dag(inp):
    out = S.run_json("graph/topological_sort", inp)
    (v,) = [u for u, h in enumerate(out["head"]) if h]
    order = [v]
    while out["topo"][v] is not None:
        v = out["topo"][v]
        order.append(v)
    assert sorted(order) == list(range(inp["n"]))
    place = {u: i for i, u in enumerate(order)}
    assert all(place[a] < place[b] for a, b in inp["edges"])


@FEW
@given(inp=directed())
def test_scc_closure_finds_the_same_components(inp):
    clrs = S.run_json("graph/strongly_connected_components", inp)["scc_id"]
    nc = S.run_json("graph/scc_closure", inp)["comp"]
    assert all((clrs[u] == clrs[v]) == (nc[u] == nc[v])
               for u in range(inp["n"]) for v in range(inp["n"]))


# ---------------------------------------------------------------- compiled networks

@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clrs_search")
    return {name: load(compile_file(stdlib.path(name), folder / f"{name[6:]}.safetensors"))
            for name in ORACLES}


@pytest.mark.parametrize("name", sorted(ORACLES))
@FEW
@given(data=st.data())
def test_compiled_network_agrees_with_interpreter(nets, name, data):
    inp = data.draw(inputs(name), label="input")
    net = nets[name]
    (got,) = net.run([decode(net.signature, json.loads(json.dumps(inp)), net.sizes, "<test>")])
    assert json.loads(json.dumps(encode(net.signature, got))) == S.run_json(name, inp)


def _random_graph(rng: random.Random, n: int, undirected_: bool) -> dict:
    edges = [[rng.randrange(n), rng.randrange(n)] for _ in range(2 * n)]
    if undirected_:
        edges += [[v, u] for u, v in edges[: n // 2]]
    return {"n": n, "edges": edges}


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_compiled_network_agrees_with_oracle_on_a_larger_graph(nets, name):
    """The same weights on a graph four times the drawn ones' size; a search runs exactly 2n
    rounds, one event each, the loop's bound."""
    rng = random.Random(11)
    inp = _random_graph(rng, 48, name in UNDIRECTED)
    net = nets[name]
    (got,) = net.run([decode(net.signature, inp, net.sizes, "<test>")])
    assert json.loads(json.dumps(encode(net.signature, got))) == ORACLES[name](inp)
    if name != "graph/scc_closure":
        assert set(net.rounds[0]) == {2 * inp["n"]}
