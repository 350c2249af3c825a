"""CLRS-30's shortest-path programs (bellman_ford_negative, dijkstra, dag_shortest_paths,
floyd_warshall, and bfs_parent's pointer) agree with oracles that run CLRS's own procedures in
plain Python (tests/oracles.py) on hypothesis graphs with ties, self-loops, repeated edges and
negative weights; negative cycles reachable from the source are reported exactly; each program's
compiled GNN agrees with the interpreter."""
from __future__ import annotations

import json

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracles as O
import strategies as S
from nclang import stdlib
from nclang.compiler.driver import compile_file
from nclang.compiler.runtime import load
from nclang.dsl.jsonio import decode, encode

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------- inputs

def _signed(draw, n: int, edges: list[list[int]]) -> list[int]:
    """Edge weights that make ties, negative edges without negative cycles (a potential's
    reduced costs: base + p[u] - p[v] sums to the bases round any cycle), and negative cycles."""
    m = len(edges)
    mode = draw(st.sampled_from(["small", "wide", "potential", "potential", "non-negative",
                                 "mostly-negative"]))
    if mode == "potential":
        p = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
        base = draw(st.lists(st.integers(0, 2), min_size=m, max_size=m))
        return [b + p[u] - p[v] for b, (u, v) in zip(base, edges)]
    lo, hi = {"small": (-3, 3), "wide": (-1000, 1000), "non-negative": (0, 3),
              "mostly-negative": (-3, 1)}[mode]
    return draw(st.lists(st.integers(lo, hi), min_size=m, max_size=m))


@st.composite
def signed_input(draw, max_n: int = 14) -> dict:
    n, edges = draw(S.graphs(max_n))
    return {"n": n, "edges": edges, "w": _signed(draw, n, edges),
            "s": draw(st.integers(0, n - 1))}


@st.composite
def planted_cycle_input(draw, max_n: int = 14) -> dict:
    """signed_input with a cycle planted through distinct nodes, its weights leaning negative, so
    that negative cycles, reachable from s or not, and cycles of weight 0 are common."""
    inp = draw(signed_input(max_n))
    n = inp["n"]
    ring = draw(st.permutations(range(n)))[:draw(st.integers(1, n))]
    for u, v in zip(ring, ring[1:] + ring[:1]):
        inp["edges"].append([u, v])
        inp["w"].append(draw(st.integers(-3, 2)))
    return inp


@st.composite
def positive_input(draw, max_n: int = 16) -> dict:
    n, edges = draw(S.graphs(max_n))
    hi = draw(st.sampled_from([2, 3, 1000]))
    w = draw(st.lists(st.integers(1, hi), min_size=len(edges), max_size=len(edges)))
    return {"n": n, "edges": edges, "w": w, "s": draw(st.integers(0, n - 1))}


@st.composite
def dag_input(draw, max_n: int = 12) -> dict:
    """A DAG (edges forward in a shuffled order, some repeated), and now and then a cycle: a
    back edge or a self-loop."""
    n = draw(st.integers(1, max_n))
    order = draw(st.permutations(range(n)))
    pairs = [(order[i], order[j]) for i in range(n) for j in range(i + 1, n)]
    edges = [list(e) for e in draw(st.lists(st.sampled_from(pairs), max_size=3 * n))] if pairs \
        else []
    if edges and draw(st.booleans()):
        edges.append(list(draw(st.sampled_from(edges))))
    if draw(st.integers(0, 3)) == 0:
        u, v = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        edges.append([max(u, v, key=order.index), min(u, v, key=order.index)])
    edges = draw(st.permutations(edges))
    return {"n": n, "edges": edges, "w": _signed(draw, n, edges),
            "s": draw(st.integers(0, n - 1))}


@st.composite
def floyd_input(draw, max_n: int = 10) -> dict:
    n, edges = draw(S.graphs(max_n))
    hi = draw(st.sampled_from([2, 1000]))
    w = draw(st.lists(st.integers(0, hi), min_size=len(edges), max_size=len(edges)))
    return {"n": n, "edges": edges, "w": w}


@st.composite
def one_source_input(draw) -> dict:
    n, edges = draw(S.graphs(20))
    s = draw(st.integers(0, n - 1))
    return {"n": n, "edges": edges, "source": [v == s for v in range(n)]}


CASES = {
    "graph/bellman_ford_negative": (st.one_of(signed_input(), planted_cycle_input()),
                                    O.bellman_ford_negative),
    "graph/dijkstra": (positive_input(), O.dijkstra),
    "graph/dag_shortest_paths": (dag_input(), O.dag_shortest_paths),
    "graph/floyd_warshall": (floyd_input(), O.floyd_warshall),
}
PROGRAMS = tuple(CASES)


# ---------------------------------------------------------------- interpreter vs CLRS's procedures

@pytest.mark.parametrize("name", PROGRAMS)
def test_example_in_header_agrees_with_oracle(name):
    inp, sizes = S.example(name)
    assert S.run_json(name, inp, sizes) == CASES[name][1](inp)


@pytest.mark.parametrize("name", PROGRAMS)
@SETTINGS
@given(data=st.data())
def test_interpreter_agrees_with_clrs_procedure(name, data):
    strategy, oracle = CASES[name]
    inp = data.draw(strategy, label="input")
    assert S.run_json(name, inp) == oracle(inp)


@SETTINGS
@given(inp=one_source_input())
def test_bfs_parent_is_clrs_bfs_pointer(inp):
    assert S.run_json("graph/bfs_parent", inp) == O.clrs_bfs_pointer(inp)


@SETTINGS
@given(inp=st.one_of(signed_input(), planted_cycle_input()))
def test_negative_cycle_flag_is_exactly_a_negative_cycle_reachable_from_s(inp):
    # networkx's negative_edge_cycle on the subgraph s reaches, independently of the per-node
    # search in the oracle
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(inp["n"]))
    g.add_weighted_edges_from((u, v, w) for (u, v), w in zip(inp["edges"], inp["w"]))
    reach = g.subgraph(nx.descendants(g, inp["s"]) | {inp["s"]}).copy()
    out = S.run_json("graph/bellman_ford_negative", inp)
    assert out["negative_cycle"] == nx.negative_edge_cycle(reach)
    assert out["negative_cycle"] == any(out["neg"])
    assert out == O.bellman_ford_negative(inp)


def test_fewest_edges_then_smallest_index_not_smallest_tight_predecessor():
    # from s = 3, 3 -> 1 and 3 -> 0 -> 1 both weigh 2: CLRS keeps the one-edge path (pi[1] = 3,
    # where the smallest tight in-neighbour is 0); 4 is reached by 3 -> 1 -> 4 and 3 -> 0 -> 4,
    # two edges and weight 1 each (one edge negative): the smaller index, 0
    inp = {"n": 5, "edges": [[3, 0], [0, 1], [3, 1], [1, 4], [0, 4]], "w": [1, 1, 2, -1, 0],
           "s": 3}
    out = S.run_json("graph/bellman_ford_negative", inp)
    assert out == O.bellman_ford_negative(inp)
    assert out["pi"] == [3, 3, None, 3, 0] and out["dist"] == [1, 2, "inf", 0, 1]


def test_dijkstra_pointer_prefers_the_nearer_tight_neighbour_not_the_fewer_edges():
    # 4's tight in-neighbours are 2 (distance 2, on a 3-edge path) and 3 (distance 3, on a
    # 2-edge path): Dijkstra extracts 2 first, so pi[4] = 2, where Bellman-Ford's fewest-edges
    # rule gives 3
    inp = {"n": 5, "edges": [[0, 3], [0, 1], [1, 2], [2, 3], [3, 4], [2, 4]],
           "w": [3, 1, 1, 1, 2, 3], "s": 0}
    out = S.run_json("graph/dijkstra", inp)
    assert out == O.dijkstra(inp)
    assert out["pi"] == [0, 0, 1, 0, 2]


def test_floyd_warshall_keeps_a_self_loop_on_the_diagonal():
    inp = {"n": 3, "edges": [[0, 0], [1, 1], [1, 2], [2, 1], [2, 2]], "w": [5, 9, 1, 2, 0]}
    out = S.run_json("graph/floyd_warshall", inp)
    assert out == O.floyd_warshall(inp)
    # 0's loop stays 5; 1's loop (9) loses to the cycle 1 -> 2 -> 1 (3), whose last step is from 2
    assert [out["d"][i][i] for i in range(3)] == [5, 3, 0]
    assert [out["p"][i][i] for i in range(3)] == [0, 2, 2]


def test_floyd_warshall_candidates_past_1000n_change_nothing():
    # via k = 2, d[0, 2] + d[2, 0] = 2000 + 2000 passes 1000 * n = 3000: the program drops it as
    # inf, where CLRS's loop compares it and keeps d[0, 0] = 1000 (the self-loop) all the same
    inp = {"n": 3, "edges": [[0, 1], [1, 2], [2, 1], [1, 0], [0, 0]], "w": [1000] * 5}
    out = S.run_json("graph/floyd_warshall", inp)
    assert out == O.floyd_warshall(inp)
    assert out["d"][0] == [1000, 1000, 2000] and out["p"][0] == [0, 0, 1]


def test_dag_pointer_follows_clrs_topological_order():
    # DFS from 0 visits 1, 3, 4 before 2, so 2 finishes after 1 and comes first in CLRS's
    # topological order: of 3's tight in-neighbours 1 and 2, CLRS relaxes from 2 first
    inp = json.loads((S.ROOT / "examples" / "dag_shortest_paths.json").read_text())
    out = S.run_json("graph/dag_shortest_paths", inp)
    assert out == O.dag_shortest_paths(inp)
    assert out["pi"][3] == 2


def test_dijkstra_refuses_a_weight_zero_edge():
    from nclang.dsl.diagnostics import NclError
    with pytest.raises(NclError, match="out of range int\\[1..1000\\]"):
        S.run_json("graph/dijkstra", {"n": 2, "edges": [[0, 1]], "w": [0], "s": 0})


# ---------------------------------------------------------------- compiled network vs interpreter

@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clrs_paths")
    return {name: load(compile_file(stdlib.path(name), folder / f"{name[6:]}.safetensors"))
            for name in PROGRAMS}


def _net_json(net, objs: list[dict]) -> list[dict]:
    insts = [decode(net.signature, o, net.sizes, "<test>") for o in objs]
    return [json.loads(json.dumps(encode(net.signature, out), allow_nan=False))
            for out in net.run(insts)]


@pytest.mark.parametrize("name", PROGRAMS)
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_compiled_network_agrees_with_interpreter(nets, name, data):
    batch = data.draw(st.lists(CASES[name][0], min_size=1, max_size=6), label="inputs")
    assert _net_json(nets[name], batch) == [S.run_json(name, inp) for inp in batch]


@pytest.mark.parametrize("name", PROGRAMS)
def test_compiled_network_runs_the_header_example(nets, name):
    inp, _ = S.example(name)
    assert _net_json(nets[name], [inp]) == [CASES[name][1](inp)]


def test_wider_weights_compile_and_a_run_past_float32_exactness_is_refused(tmp_path):
    # the header's claim: declaring a wider range is all wider weights need; the analysis bounds
    # values by n * W and the network refuses (never rounds) a run beyond its exact range
    from nclang.dsl.diagnostics import NclError
    src = stdlib.path("graph/bellman_ford_negative").read_text().replace(
        "int[-1000..1000]", "int[-1000000..1000000]")
    (tmp_path / "wide.ncl").write_text(src)
    net = load(compile_file(tmp_path / "wide.ncl", tmp_path / "wide.safetensors"))
    small = {"n": 3, "edges": [[0, 1], [1, 2]], "w": [-1000000, 999999], "s": 0}
    assert _net_json(net, [small]) == [O.bellman_ford_negative(small)]
    n = 17
    chain = {"n": n, "edges": [[i, i + 1] for i in range(n - 1)], "w": [-1000000] * (n - 1),
             "s": 0}
    assert O.bellman_ford_negative(chain)["dist"][-1] == -16000000
    with pytest.raises(NclError, match="computes exactly"):
        _net_json(net, [chain])
