"""Training data (nclang.compiler.training.data): valid, seeded inputs of every stdlib program,
graph families whose structure networkx confirms, values in their declared ranges, and reference
targets with traces."""
from __future__ import annotations

import functools
import json
import time

import networkx as nx
import numpy as np
import pytest

from nclang import stdlib
from nclang.compiler.testing import instance_to_json, vocabulary
from nclang.compiler.training.data import GRAPH_FAMILIES, grid_shape, reference, sample_instances
from nclang.dsl.checker import check_source, select_program
from nclang.dsl.diagnostics import NclError
from nclang.dsl.interpreter import run
from nclang.dsl.jsonio import decode

SIZES = {"bits": {"k": 6}, "graph": None, "seq": {"n": 8}}


@functools.cache
def checked_of(name: str):
    path = stdlib.path(name)
    return select_program(check_source(path.read_text(), str(path)), None, str(path))


def draw(name: str, count: int, seed: int = 0, **kw):
    checked = checked_of(name)
    kw.setdefault("sizes", SIZES[checked.family])
    return sample_instances(checked, count, np.random.default_rng(seed), **kw)


def as_json(name: str, instances) -> list[dict]:
    return [instance_to_json(checked_of(name), i) for i in instances]


def nx_graph(instance) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(instance.graph.n))
    g.add_edges_from(zip(instance.graph.src.tolist(), instance.graph.dst.tolist()))
    return g


# ---------------------------------------------------------------- valid input for every program

def _cases():
    for name in stdlib.names():
        if name.startswith("graph/"):
            yield from ((name, (f,)) for f in GRAPH_FAMILIES)
        else:
            yield name, GRAPH_FAMILIES


@pytest.mark.parametrize("name,families", list(_cases()))
def test_instances_are_valid_program_input(name, families):
    """Through JSON text and the codec the instance comes back the same, and the interpreter
    accepts it (both the sampled form and the decoded one)."""
    checked = checked_of(name)
    sizes = SIZES[checked.family]
    instances = draw(name, 6, n_range=(1, 9), families=families)
    assert len(instances) == 6
    for instance in instances:
        obj = json.loads(json.dumps(instance_to_json(checked, instance), allow_nan=False))
        decoded = decode(checked, obj, sizes or {}, "<sample>")
        assert decoded.sizes == instance.sizes
        for key, value in instance.values.items():
            assert decoded.values[key].dtype == value.dtype, key
            np.testing.assert_array_equal(decoded.values[key], value)
        if instance.graph is not None:
            np.testing.assert_array_equal(decoded.graph.src, instance.graph.src)
            np.testing.assert_array_equal(decoded.graph.dst, instance.graph.dst)
        run(checked, instance)


# ---------------------------------------------------------------- determinism

def test_same_seed_same_instances_and_a_longer_sample_extends_a_shorter():
    for name in ("graph/bellman_ford", "bits/add", "seq/sort_unique"):
        a = as_json(name, draw(name, 20, seed=3))
        assert a == as_json(name, draw(name, 20, seed=3))
        assert a[:7] == as_json(name, draw(name, 7, seed=3))
        assert a != as_json(name, draw(name, 20, seed=4))


# ---------------------------------------------------------------- graph families

def family(name: str, fam: str, count: int = 30, n_range=(4, 16), seed: int = 0):
    return draw(name, count, seed, families=(fam,), n_range=n_range)


def assert_undirected(instance) -> nx.Graph:
    """Every edge is listed in both directions, once each, no self-loops; the undirected graph."""
    pairs = list(zip(instance.graph.src.tolist(), instance.graph.dst.tolist()))
    assert len(set(pairs)) == len(pairs)
    assert all(u != v for u, v in pairs)
    assert set(pairs) == {(v, u) for u, v in pairs}
    return nx.Graph(nx_graph(instance))


def test_tree_family_is_a_spanning_tree():
    for instance in family("graph/bfs", "tree"):
        n = instance.graph.n
        assert 4 <= n <= 16 and instance.sizes == {"n": n, "m": 2 * (n - 1)}
        g = assert_undirected(instance)
        assert g.number_of_edges() == n - 1 and nx.is_connected(g) and nx.is_tree(g)


def test_path_family_is_a_hamiltonian_path():
    for instance in family("graph/bfs", "path"):
        n = instance.graph.n
        g = assert_undirected(instance)
        assert g.number_of_edges() == n - 1 and nx.is_connected(g)
        assert max(d for _, d in g.degree()) <= 2
        assert nx.is_isomorphic(g, nx.path_graph(n))


def test_grid_family_is_an_r_by_c_lattice_within_the_range():
    seen = set()
    for instance in family("graph/bfs", "grid", count=40):
        n = instance.graph.n
        assert 4 <= n <= 16
        g = assert_undirected(instance)
        assert max(d for _, d in g.degree()) <= 4 and nx.is_connected(g)
        r, c = next((r, c) for r in range(1, n + 1) for c in range(r, n + 1)
                    if r * c == n and nx.is_isomorphic(g, nx.grid_2d_graph(r, c)))
        seen.add((r, c))
    assert {(2, 2), (3, 3), (4, 4)} <= seen


def test_grid_shape_is_near_square_and_inside_the_range():
    for lo, hi in ((4, 16), (1, 30), (64, 64), (256, 256), (5, 5), (10, 12)):
        for n in range(lo, hi + 1):
            r, c = grid_shape(n, (lo, hi))
            assert lo <= r * c <= hi
    assert grid_shape(64, (64, 64)) == (8, 8) and grid_shape(256, (256, 256)) == (16, 16)
    assert grid_shape(12, (4, 16)) == (3, 4) and grid_shape(7, (4, 16)) == (2, 3)
    assert grid_shape(5, (5, 5)) == (1, 5)  # a prime-only range leaves only a 1 × n grid


def test_er_family_is_directed_simple_with_mean_degree_about_three():
    instances = family("graph/bfs", "er", count=60, n_range=(16, 16))
    degrees = []
    for instance in instances:
        pairs = list(zip(instance.graph.src.tolist(), instance.graph.dst.tolist()))
        assert len(set(pairs)) == len(pairs) and all(u != v for u, v in pairs)
        degrees.append(instance.graph.m / instance.graph.n)
    assert 2.6 < np.mean(degrees) < 3.4
    # directed: some edge lacks its reverse
    assert any(set(zip(i.graph.src.tolist(), i.graph.dst.tolist()))
               != set(zip(i.graph.dst.tolist(), i.graph.src.tolist())) for i in instances)


def test_families_are_drawn_uniformly_and_sizes_from_the_range():
    instances = draw("graph/closure", 200, n_range=(5, 9))
    sizes = [i.graph.n for i in instances]
    assert min(sizes) == 5 and max(sizes) == 9  # a grid of 5 nodes becomes 2 × 3, inside the range
    kinds = {"tree": 0, "path": 0, "other": 0}
    for i in instances:
        g = nx.Graph(nx_graph(i))
        if i.graph.m == 2 * (i.graph.n - 1) and nx.is_connected(g):
            kinds["path" if max(d for _, d in g.degree()) <= 2 else "tree"] += 1
        else:
            kinds["other"] += 1
    assert all(v > 20 for v in kinds.values())


# ---------------------------------------------------------------- values

def test_node_bool_inputs_are_a_single_source_and_edge_weights_symmetric():
    for fam in GRAPH_FAMILIES:
        for instance in family("graph/bellman_ford", fam, count=10):
            source, w = instance.values["source"], instance.values["w"]
            assert source.dtype == np.bool_ and source.sum() == 1
            assert w.shape == (instance.graph.m,) and np.all((0 <= w) & (w <= 1000))
            assert np.all(w == np.round(w))
            if fam not in ("er", "er-p"):  # directed families
                weight = dict(zip(zip(instance.graph.src.tolist(), instance.graph.dst.tolist()),
                                  w.tolist()))
                assert all(weight[(v, u)] == x for (u, v), x in weight.items())


def test_node_scalar_and_pointer_inputs():
    for instance in draw("graph/dfs", 20):
        assert 0 <= int(instance.values["s"]) < instance.graph.n
    tails_seen = set()
    for instance in draw("graph/list_ranking", 40, n_range=(1, 16)):
        succ, n = instance.values["succ"], instance.graph.n
        tails = [v for v in range(n) if succ[v] == v]
        tails_seen.add(len(tails))
        assert 1 <= len(tails) <= 3
        # lists: no node has two predecessors, and every node reaches a tail
        preds = [int(succ[v]) for v in range(n) if succ[v] != v]
        assert len(preds) == len(set(preds))
        for v in range(n):
            for _ in range(n):
                v = int(succ[v])
            assert succ[v] == v
    assert tails_seen == {1, 2, 3}


def test_bits_need_k_and_are_uniform():
    with pytest.raises(NclError, match="size k is not fixed"):
        sample_instances(checked_of("bits/add"), 3, np.random.default_rng(0))
    instances = draw("bits/add", 400, sizes={"k": 8})
    bits = np.array([i.values["a"] for i in instances])
    assert bits.shape == (400, 8) and bits.dtype == np.bool_
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 0.1)
    assert instances[0].sizes == {"k": 8}
    for instance in draw("bits/sbn_step", 50):
        mem = instance.values["mem"]
        assert mem.shape == (16,) and np.all((-64 <= mem) & (mem <= 63))
        assert 0 <= float(instance.values["pc"]) <= 15
    mems = np.concatenate([i.values["mem"] for i in draw("bits/sbn_step", 50)])
    assert np.unique(mems).size > 100


def test_sequence_lengths_tokens_and_distinct_values():
    lengths = [i.sizes["n"] for i in draw("seq/hist", 200, sizes={"n": 10}, n_range=(4, 16))]
    assert min(lengths) == 4 and max(lengths) == 10
    assert {i.sizes["n"] for i in draw("seq/hist", 20, sizes={"n": 3})} == {3}
    assert max(i.sizes["n"] for i in draw("seq/hist", 100, sizes=None)) == 16
    vocab = set(vocabulary(checked_of("seq/dyck2")))
    for instance in draw("seq/dyck2", 50):
        assert set(instance.values["tokens"].tolist()) <= vocab
    own = draw("seq/reverse", 30, vocab=("x", "y"))
    assert set(np.concatenate([i.values["tokens"] for i in own]).tolist()) == {"x", "y"}
    # sort_unique rejects repeated values, so they are distinct; sort accepts them, so they occur
    for instance in draw("seq/sort_unique", 50, sizes={"n": 16}):
        tokens = instance.values["tokens"]
        assert len(set(tokens.tolist())) == len(tokens) and np.all((0 <= tokens) & (tokens <= 63))
    assert any(len(set(i.values["tokens"].tolist())) < i.sizes["n"]
               for i in draw("seq/sort", 50, sizes={"n": 16}))


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_range"):
        draw("graph/bfs", 2, n_range=(0, 4))
    with pytest.raises(ValueError, match="n_range"):
        draw("graph/bfs", 2, n_range=(5, 4))
    with pytest.raises(ValueError, match="unknown graph families"):
        draw("graph/bfs", 2, families=("er", "star"))


# ---------------------------------------------------------------- targets

def test_reference_outputs_and_traces():
    checked = checked_of("graph/bfs")
    instances = draw("graph/bfs", 8)
    outputs = reference(checked, instances)
    again, traces = reference(checked, instances, trace=True)
    assert len(outputs) == len(traces) == 8
    for instance, out, out2, rounds in zip(instances, outputs, again, traces):
        want, want_rounds = run(checked, instance, trace=True)
        np.testing.assert_array_equal(out["reached"], want["reached"])
        np.testing.assert_array_equal(out2["reached"], want["reached"])
        assert len(rounds) == len(want_rounds) >= 1
        np.testing.assert_array_equal(rounds[-1]["reached"], want["reached"])


def test_sampling_is_fast():
    start = time.perf_counter()
    instances = draw("graph/bellman_ford", 1000)
    assert len(instances) == 1000
    assert time.perf_counter() - start < 2.0  # ~20k/s measured; generous for shared cores


def test_er_p_draws_the_edge_probability_per_graph():
    # CLRS-30 draws p from 0.1..0.9 per graph: the densities of er-p graphs spread out, and
    # their mean is near 0.5 (er keeps mean degree 3: density 3 / (n - 1))
    from nclang.compiler.training.data import ER_P_CHOICES
    assert ER_P_CHOICES == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    dens = [i.graph.m / (i.graph.n * (i.graph.n - 1))
            for i in family("graph/bfs", "er-p", count=200, n_range=(16, 16))]
    assert min(dens) < 0.2 and max(dens) > 0.8 and abs(np.mean(dens) - 0.5) < 0.05
