"""CLRS-30 interop (nclang.clrs, docs/clrs.md): CLRS's own samples round-trip through nclang's
input format, and on them every compiled stdlib network whose program exists gives exactly
CLRS's reference outputs, in CLRS's encoding.

The oracle is CLRS itself: tests/fixtures/clrs/samples.json holds samples from CLRS's samplers
and the outputs of its reference algorithms (tests/fixtures/clrs/generate.py, run where the
`clrs` package is installed), and the slow test at the end reruns CLRS live when it is
importable. The one table that pairs a CLRS algorithm with its nclang program is
`nclang.clrs.ALGORITHMS`; every program it names must exist.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clrs_extract_min as extract_min
import nclang
from cli_inprocess import cli
from clrs_programs import compiled
from nclang import clrs

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "clrs"
SAMPLES = json.loads((FIXTURE / "samples.json").read_text())["algorithms"]
NAMES = sorted(clrs.ALGORITHMS)
# fixture samples where CLRS's numpy broke an extraction tie otherwise than the smallest index
NUMPY_TIES = {"mst_prim": 5, "dijkstra": 1}


def _merged(alg: clrs.Algorithm) -> Path:
    path = ROOT / alg.path
    assert path.exists(), f"nclang.clrs.ALGORITHMS names {alg.path}, which does not exist"
    return path


def _stand_in(alg: clrs.Algorithm, start: str = "node") -> nclang.Program:
    """A program with the parameters `alg`'s nclang program takes (a graph, weights where CLRS's
    are weighted, a start node where CLRS has one), to convert samples for without running it."""
    params = ["g: graph"] + (["w: edge[int[-1000..1000]]"] if alg.weighted else []) + \
        ([f"s: {start}"] if alg.source else [])
    return nclang.check(f"program stand_in({', '.join(params)}) -> node[bool] {{\n"
                        f"    r[v] = false\n    return r\n}}\n")


def test_the_table_names_every_clrs30_graph_algorithm_in_the_fixture():
    assert NAMES == sorted(SAMPLES)
    assert len(NAMES) == 12
    assert all(alg.program.startswith("graph/") for alg in clrs.ALGORITHMS.values())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("start", ["node", "node[bool]"])
def test_clrs_samples_round_trip_through_nclang_inputs(name, start):
    alg = clrs.ALGORITHMS[name]
    program = _stand_in(alg, start)
    for sample in SAMPLES[name]:
        inp = clrs.to_input(sample["inputs"], program, algorithm=name)
        assert clrs.to_sample(inp, program, algorithm=name) == sample["inputs"]
        A = sample["inputs"]["A"]
        assert len(inp["edges"]) == sum(x != 0 for row in A for x in row)


@st.composite
def _instances(draw):
    n = draw(st.integers(1, 8))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), unique=True))
    weights = draw(st.lists(st.integers(-9, 9).filter(bool), min_size=len(pairs),
                            max_size=len(pairs)))
    return {"n": n, "edges": [list(p) for p in pairs], "w": weights,
            "s": draw(st.integers(0, n - 1))}


@settings(max_examples=60, deadline=None)
@given(_instances(), st.sampled_from([1, 10]))
def test_nclang_inputs_round_trip_through_clrs_samples(inp, scale):
    program = _stand_in(clrs.ALGORITHMS["dag_shortest_paths"])
    back = clrs.to_input(clrs.to_sample(inp, program, scale=scale), program, scale=scale)
    assert back["n"] == inp["n"] and back["s"] == inp["s"]
    assert sorted(zip(map(tuple, back["edges"]), back["w"])) == \
        sorted(zip(map(tuple, inp["edges"]), inp["w"]))


def test_a_weight_0_edge_is_refused_or_dropped_as_asked():
    program = _stand_in(clrs.ALGORITHMS["dijkstra"])
    inp = {"n": 2, "edges": [[0, 1], [1, 0]], "w": [0, 0], "s": 0}
    with pytest.raises(nclang.NclError, match=r"^<clrs>:1:1: error: edges\[0\] \(0 -> 1\) has "
                                              r"weight 0, which CLRS's matrices read as no edge"):
        clrs.to_sample(inp, program)
    assert clrs.to_sample(inp, program, zero_weight="drop") == {"A": [[0, 0], [0, 0]],
                                                                "s": [1, 0]}


BAD_SAMPLES = [
    ({"A": [[0, 1], [1]]}, "A[1] must be a row of 2 numbers, as A has 2 rows"),
    ({"A": [[0, 0.35], [0.35, 0]], "s": [1, 0]}, "A[0][1] * 10 = 3.5 is not an integer"),
    ({"A": [[0, 3], [2, 0]], "s": [1, 0]},
     "A[1][0] is 2 but A[0][1] is 3: dijkstra takes an undirected graph, a symmetric A"),
    ({"A": [[0, 1], [1, 0]]}, "the program takes a start node, and the sample has no 's'"),
    ({"A": [[0, 1], [1, 0]], "s": [1, 1]}, "s must be one-hot (one 1, the rest 0)"),
    ({"A": [[0, 1], [1, 0]], "s": [1, 0], "adj": [[1, 0], [1, 1]]},
     "adj[0][1] is 0 but A[0][1] is 1: CLRS's adj is A != 0 with the diagonal set"),
    ({"A": [[0, float("nan")], [0, 0]], "s": 0}, "A[0][1]: nan is not a finite number"),
]


@pytest.mark.parametrize("sample,message", BAD_SAMPLES)
def test_a_bad_sample_is_one_located_error(sample, message):
    program = _stand_in(clrs.ALGORITHMS["dijkstra"])
    scale = 10 if 0.35 in sample["A"][0] else 1
    with pytest.raises(nclang.NclError) as err:
        clrs.to_input(sample, program, scale=scale, algorithm="dijkstra")
    assert str(err.value).startswith("<clrs>:1:1: error: " + message)
    assert len(err.value.diagnostics) == 1


def test_an_unknown_algorithm_and_a_missing_result_are_located_errors():
    program = _stand_in(clrs.ALGORITHMS["bfs"])
    with pytest.raises(nclang.NclError, match="no CLRS-30 graph algorithm 'bsf'"):
        clrs.to_input({"A": [[0]], "s": 0}, program, algorithm="bsf")
    with pytest.raises(nclang.NclError, match="CLRS's bfs needs the result 'parent', which the "
                                              "program does not give"):
        clrs.to_outputs(program, {"n": 1, "edges": []}, {"r": [False]}, algorithm="bfs")


def test_outputs_take_clrs_names_and_encoding():
    prog = nclang.check(ROOT / "stdlib/graph/bfs_parent.ncl")
    inp = {"n": 4, "edges": [[0, 1], [1, 2]], "source": [True, False, False, False]}
    out = nclang.run(prog, inp)
    assert out == {"parent": [0, 0, 1, None]}
    assert clrs.to_outputs(prog, inp, out) == {"parent": [0, 0, 1, 3]}
    assert clrs.to_outputs(prog, inp, out, algorithm="bfs") == {"pi": [0, 0, 1, 3]}


def test_encode_writes_each_result_type_as_clrs_does():
    edges = [(0, 1), (1, 0), (2, 2)]
    assert clrs.encode("node[node]", [1, None, None], 3, edges) == [1, 1, 2]
    assert clrs.encode("pair[node]", [[None, 0], [None, None]], 2, edges) == [[0, 0], [1, 1]]
    assert clrs.encode("node[bool]", [True, False, True], 3, edges) == [1, 0, 1]
    assert clrs.encode("edge[bool]", [True, False, True], 3, edges) == \
        [[0, 1, 0], [0, 0, 0], [0, 0, 1]]
    assert clrs.encode("node[int]", [3, "inf"], 2, edges) == [3, "inf"]


def test_an_edge_mask_is_masked_where_clrs_masks_it():
    # CLRS's bridges writes OutputClass.MASKED (-1) where there is no edge, its mst_kruskal 0
    prog = nclang.check("program every(g: graph) -> edge[bool] {\n"
                        "    bridge[e in edges] = src(e) != dst(e)\n    return bridge\n}\n")
    inp = clrs.to_input({"A": [[1, 1, 0], [1, 0, 0], [0, 0, 0]]}, prog, algorithm="bridges")
    out = nclang.run(prog, inp)
    assert clrs.to_outputs(prog, inp, out, algorithm="bridges") == \
        {"is_bridge": [[0, 1, -1], [1, 0, -1], [-1, -1, 0]]}
    assert clrs.to_outputs(prog, inp, out) == {"bridge": [[0, 1, 0], [1, 0, 0], [0, 0, 0]]}


def test_cli_exec_format_clrs_writes_clrs_pointers(tmp_path):
    weights = compiled("bfs").save(tmp_path / "bfs.safetensors")
    (tmp_path / "in.json").write_text(
        '{"n": 4, "edges": [[0, 1], [1, 2]], "source": [true, false, false, false]}\n'
        '{"n": 2, "edges": [], "source": [false, true]}\n')
    status, out, err = cli("exec", weights, "--input", tmp_path / "in.json", "--format", "clrs")
    assert (status, err) == (0, "")
    assert out.splitlines() == ['{"parent": [0, 0, 1, 3]}', '{"parent": [0, 1]}']
    status, out, _ = cli("exec", weights, "--input", tmp_path / "in.json")
    assert out.splitlines()[1] == '{"parent": [null, 1]}'


def test_cli_format_clrs_refuses_a_program_that_is_not_a_graph_program(tmp_path):
    (tmp_path / "in.json").write_text('{"a": 1, "b": 2}\n')
    status, _, err = cli("run", ROOT / "stdlib/bits/add.ncl", "--input", tmp_path / "in.json",
                         "--size", "k=4", "--format", "clrs")
    assert status == 1
    assert err.splitlines()[0].endswith("error: --format clrs writes a graph program's results "
                                        "(CLRS-30's graph encoding); add is a bits program")


# ---------------------------------------------------------------- CLRS as the oracle

def assert_network_gives_clrs_outputs(name: str, samples: list[dict]) -> int:
    """The compiled network's outputs, in CLRS's encoding, are CLRS's on every sample, but where
    CLRS's reference leaves a tie to numpy (tests/clrs_extract_min.py); gives how many samples
    differ so. Those must hold a tie, the network must give the smallest-index rule's answer,
    and its tree must be as good as CLRS's (the same weight for mst_prim, the same distances
    for dijkstra)."""
    net = compiled(name)
    inputs = [clrs.to_input(x["inputs"], net, algorithm=name) for x in samples]
    outputs = net.run(inputs)
    numpy_ties = 0
    for sample, inp, out in zip(samples, inputs, outputs):
        got = clrs.to_outputs(net, inp, out, algorithm=name)
        if got == sample["outputs"]:
            continue
        assert name in extract_min.BY_NAME, (sample, got)
        A, s = sample["inputs"]["A"], sample["inputs"]["s"].index(1)
        pi, _, ties = extract_min.BY_NAME[name](A, s)
        assert ties > 0 and got == {"pi": pi}, (sample, got)
        assert extract_min.tree_value(A, s, pi, name) == \
            extract_min.tree_value(A, s, sample["outputs"]["pi"], name)
        numpy_ties += 1
    return numpy_ties


@pytest.mark.parametrize("name", NAMES)
def test_compiled_network_gives_clrs_reference_outputs_on_clrs_samples(name):
    _merged(clrs.ALGORITHMS[name])
    # docs/clrs.md gives these counts
    assert assert_network_gives_clrs_outputs(name, SAMPLES[name]) == NUMPY_TIES.get(name, 0)


@pytest.fixture(scope="module")
def live_samples(tmp_path_factory) -> dict:
    """Fresh samples from CLRS itself, with another seed than the fixture's: in this process if
    `clrs` is importable, else with the Python that $CLRS_PYTHON names (CLRS needs TensorFlow
    and JAX, which nclang's environment need not have); skipped where there is neither."""
    seed = "7000000"
    out = tmp_path_factory.mktemp("clrs") / "live.json"
    if importlib.util.find_spec("clrs") is not None:
        spec = importlib.util.spec_from_file_location("clrs_generate", FIXTURE / "generate.py")
        generate = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(generate)
        generate.main(out, int(seed))
    elif os.environ.get("CLRS_PYTHON"):
        subprocess.run([os.environ["CLRS_PYTHON"], FIXTURE / "generate.py", out, seed],
                       check=True, capture_output=True)
    else:
        pytest.skip("CLRS is not installed (pip install dm-clrs, or set CLRS_PYTHON)")
    return json.loads(out.read_text())["algorithms"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_compiled_network_gives_live_clrs_outputs(name, live_samples):
    _merged(clrs.ALGORITHMS[name])
    assert_network_gives_clrs_outputs(name, live_samples[name])
