"""The graph stdlib programs agree with networkx / scipy oracles on random graphs."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracles as O
import strategies as S
from test_clrs_search import ORACLES as CLRS_SEARCH

# program → (input strategy, oracle); pair programs get smaller graphs (n² state per round)
CASES = {
    "graph/bfs": (S.sources_input(), O.bfs),
    "graph/bfs_distance": (S.sources_input(), O.bfs_distance),
    "graph/bfs_parent": (S.sources_input(), O.bfs_parent),
    "graph/bellman_ford": (S.weighted_sources_input(), O.bellman_ford),
    "graph/bellman_ford_pred": (S.weighted_sources_input(), O.bellman_ford_pred),
    "graph/connected_components": (S.graph_input(), O.connected_components),
    "graph/closure": (S.graph_input(max_n=12), O.closure),
    "graph/apsp": (S.weighted_graph_input(max_n=12), O.apsp),
    "graph/dfs": (S.dfs_input(), O.dfs),
    "graph/list_ranking": (S.list_input(), O.list_ranking),
}


def test_every_graph_program_is_tested():
    # the CLRS-30 depth-first programs are tested against their oracles in test_clrs_search
    assert sorted([*CASES, *CLRS_SEARCH]) == S.family("graph")


@pytest.mark.parametrize("name", S.family("graph"))
def test_header_and_parses(name):
    S.assert_header_and_parses(name)


@pytest.mark.parametrize("name", S.family("graph"))
def test_class_in_header(name):
    S.assert_class_in_header(name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example(name):
    inp, sizes = S.example(name)
    assert S.run_json(name, inp, sizes) == CASES[name][1](inp)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_agrees_with_oracle(name, data):
    strategy, oracle = CASES[name]
    inp = data.draw(strategy, label="input")
    assert S.run_json(name, inp) == oracle(inp)


def test_cli_example():
    S.assert_cli_example("graph/bfs", O.bfs)
