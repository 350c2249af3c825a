"""The MST programs: mst_prim's tree is a minimum spanning tree (networkx's weight) on undirected
graphs, and each program's compiled gnn agrees with the interpreter bit for bit on hypothesis
graphs (ties, negative weights, self-loops, repeated and one-way edges). Their agreement with
their CLRS-rule oracles is test_stdlib_graph's; with CLRS itself, test_clrs_interop's."""
from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import mst_oracles as MST
import nclang

# the interpreter runs mst_kruskal's n^3 squaring rounds slowly: smaller graphs
MAX_N = {"mst_prim": 16, "mst_kruskal": 9}


@pytest.fixture(scope="module")
def nets():
    return {name: nclang.compile(f"stdlib/graph/{name}.ncl") for name in MAX_N}


@pytest.mark.parametrize("name", sorted(MAX_N))
def test_compiled_network_equals_interpreter(nets, name):
    result = nclang.test(f"stdlib/graph/{name}.ncl", nets[name], examples=30, seed=3,
                         max_n=MAX_N[name])
    assert result.ok, result.counterexample and result.counterexample.to_json()


@pytest.mark.parametrize("name", sorted(MAX_N))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_compiled_network_equals_interpreter_on_undirected_signed_graphs(nets, name, data):
    inp = data.draw(MST.prim_input(MAX_N[name]) if name == "mst_prim"
                    else MST.kruskal_input(MAX_N[name]), label="input")
    assert nets[name].run(inp) == nclang.run(f"stdlib/graph/{name}.ncl", inp)


@settings(max_examples=60, deadline=None)
@given(MST.prim_input())
def test_prim_tree_has_the_minimum_spanning_weight(inp):
    assume(MST.symmetric(inp))
    pi = nclang.run("stdlib/graph/mst_prim.ncl", inp)["pi"]
    assert MST.tree_weight(inp, pi) == MST.spanning_weight(inp)


@settings(max_examples=40, deadline=None)
@given(MST.kruskal_input())
def test_kruskal_forest_has_the_minimum_spanning_weight(inp):
    mask = nclang.run("stdlib/graph/mst_kruskal.ncl", inp)["in_mst"]
    pairs = MST.pairs(inp)
    chosen = sum(w for (i, j), w in pairs.items() if mask[i][j])
    assert chosen == MST.forest_weight(inp)
    assert all(mask[i][j] == mask[j][i] for i in range(inp["n"]) for j in range(inp["n"]))
