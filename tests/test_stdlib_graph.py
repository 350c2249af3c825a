"""The graph stdlib programs agree with networkx / scipy oracles on random graphs."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mst_oracles as MST
import oracles as O
import strategies as S

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
    "graph/mst_kruskal": (MST.kruskal_input(), MST.mst_kruskal),
    "graph/mst_prim": (MST.prim_input(), MST.mst_prim),
}


def _tested_in_own_module() -> set[str]:
    # CLRS-30's programs take inputs and oracles of their own: each tests/test_clrs_*.py names
    # the programs it tests in PROGRAMS
    found: set[str] = set()
    for path in sorted(Path(__file__).parent.glob("test_clrs_*.py")):
        module = importlib.import_module(path.stem)
        # test_clrs_search keys its oracles by program; interop and docs test no program of
        # their own
        found |= set(getattr(module, "PROGRAMS", getattr(module, "ORACLES", ())))
    return found


def test_every_graph_program_is_tested():
    assert sorted(set(CASES) | _tested_in_own_module()) == S.family("graph")


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
