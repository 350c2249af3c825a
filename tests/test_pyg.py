"""`Network.to_pyg()` computes every stdlib graph program exactly on PyG batches of graphs of
different sizes (self-loops and repeated edges included), its neighbourhood aggregations go
through `MessagePassing.propagate`, `nclang.pyg` converts both ways, input it cannot compute
exactly is refused, and importing nclang does not import torch_geometric."""
from __future__ import annotations

import doctest
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch_geometric.data import Batch
from torch_geometric.nn import MessagePassing

import nclang
import nclang.pyg as P
import nclang.testing as NT

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "stdlib" / "graph").glob("*.ncl"))
# beyond the stdlib, results the stdlib's graph programs do not have: edge, pair and scalar
# results next to node ones (docs/language.md's examples)
SOURCES = {
    "fields": "program fields(g: graph, w: edge[int[0..9]], x: node[int[0..9]]) -> "
              "(edge[int[0..9]], pair[bool], node[int]) {\n    copy = w\n"
              "    adj[i, j] = edge(i, j)\n    weight_in[v] = sum(w[u, v] for u in in(v))\n"
              "    return copy, adj, weight_in\n}\n",
    "lightest": "program lightest(g: graph, w: edge[int[0..9]]) -> (edge[bool], int) {\n"
                "    lo[v] = min(w[u, v] for u in in(v))\n"
                "    light[e in edges] = src(e) != dst(e) and w[e] == lo[dst(e)]\n"
                "    return light, sum(w[e] for e in edges if light[e])\n}\n",
}
_COMPILED: dict[str, tuple] = {}


@pytest.fixture(scope="module")
def compiled():
    """Compile each program once for the module: (program, network, its PyG module)."""
    def get(path):
        if path not in _COMPILED:
            prog = nclang.check(SOURCES.get(path) or REPO / path)
            net = nclang.compile(prog)
            _COMPILED[path] = (prog, net, net.to_pyg())
        return _COMPILED[path]
    return get


def _with_loop_and_repeat(inp: dict, edge_fields: list[str]) -> dict:
    """`inp` with edge 0 repeated and a self-loop at its head (each with edge 0's field values),
    so that every batch holds both, whatever the strategy drew."""
    if not inp["edges"]:
        return inp
    out = dict(inp)
    u, v = inp["edges"][0]
    out["edges"] = inp["edges"] + [[u, v], [v, v]]
    for name in edge_fields:
        out[name] = inp[name] + [inp[name][0]] * 2
    return out


def _forward(mod, batch):
    return mod(batch.x, batch.edge_index, batch.batch, batch.edge_attr, batch.u)


def test_the_tested_programs_are_the_stdlib_graph_programs():
    assert len(PROGRAMS) >= 10 and "stdlib/graph/bfs.ncl" in PROGRAMS


@pytest.mark.parametrize("path", PROGRAMS + sorted(SOURCES))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.data_too_large])
@given(data=st.data())
def test_pyg_module_equals_the_interpreter_on_batches(compiled, path, data):
    prog, net, mod = compiled(path)
    edge_fields = [f.name for f in P.layout(net).edge_attr]
    # pair programs keep n² (triplets n³) state per graph: smaller graphs
    max_n = 6 if any("pair" in t for t in prog.results.values()) else 9
    inputs = data.draw(st.lists(NT.inputs(prog, max_n=max_n), min_size=2, max_size=4),
                       label="graphs")
    inputs = [_with_loop_and_repeat(inputs[0], edge_fields)] + inputs[1:]
    want = nclang.run(prog, inputs)
    batch = Batch.from_data_list([P.to_data(net, inp) for inp in inputs])
    assert P.outputs(net, batch, _forward(mod, batch)) == want
    # and the batch reads back as the inputs it was made of
    assert P.from_data(batch, net) == [P.from_data(P.to_data(net, i), net) for i in inputs]


def test_graphs_of_different_sizes_in_one_batch_get_their_own_pointers(compiled):
    prog, net, mod = compiled("stdlib/graph/bfs_parent.ncl")
    inputs = [{"n": 2, "edges": [[0, 1]], "source": [True, False]},
              {"n": 4, "edges": [[0, 1], [1, 2], [2, 2], [1, 2]],
               "source": [False, True, False, False]}]
    batch = Batch.from_data_list([P.to_data(net, i) for i in inputs])
    out = _forward(mod, batch)
    # pointers are each graph's own node ids (-1: none), as Batch keeps x unshifted
    assert out["parent"].tolist() == [0, 0, -1, 1, 1, -1]
    assert P.outputs(net, batch, out) == nclang.run(prog, inputs)


def test_it_is_a_message_passing_module_whose_propagate_does_each_rounds_aggregation(compiled):
    prog, net, mod = compiled("stdlib/graph/bellman_ford_pred.ncl")
    assert isinstance(mod, MessagePassing)
    calls = []
    mod.register_propagate_forward_hook(lambda m, inputs, out: calls.append(inputs[2]["how"]))
    inp = {"n": 3, "edges": [[0, 1], [1, 2]], "w": [4, 1], "source": [True, False, False]}
    data = P.to_data(net, inp)
    assert P.outputs(net, data, mod(data.x, data.edge_index, None, data.edge_attr, data.u)) == \
        nclang.run(prog, inp)
    # min over in(v) (flag and value), then any over in(v) and argmin over in(v) (flag, best
    # value, least index), every round of both loops
    assert set(calls) == {"amax", "amin"} and len(calls) >= 2 * 3


def test_to_data_writes_outputs_in_the_layout_the_module_returns(compiled):
    prog, net, mod = compiled("stdlib/graph/bellman_ford_pred.ncl")
    inputs = [{"n": 3, "edges": [[0, 1], [0, 1]], "w": [4, 2], "source": [True, False, False]},
              {"n": 2, "edges": [], "w": [], "source": [False, True]}]
    batch = Batch.from_data_list([P.to_data(net, i, nclang.run(prog, i)) for i in inputs])
    out = _forward(mod, batch)
    assert torch.equal(batch.y_dist, out["dist"]) and torch.equal(batch.y_pred, out["pred"])
    assert batch.y_dist.tolist() == [0, 2, math.inf, math.inf, 0]


def test_pair_outputs_are_rows_of_global_nodes_padded_to_the_largest_graph(compiled):
    prog, net, mod = compiled("stdlib/graph/closure.ncl")
    inputs = [{"n": 1, "edges": []}, {"n": 3, "edges": [[0, 1], [1, 2]]}]
    batch = Batch.from_data_list([P.to_data(net, i) for i in inputs])
    r = _forward(mod, batch)["r"]
    assert r.shape == (4, 3)
    assert r[1:].tolist() == [[1, 1, 1], [0, 1, 1], [0, 0, 1]]  # reflexive
    assert P.outputs(net, batch, {"r": r}) == nclang.run(prog, inputs)


@pytest.mark.parametrize("column, value, why", [
    (0, 1001.0, "out of range 0..1000"),
    (0, 2.5, "not an integer"),
    (0, math.nan, "not a number"),
    (0, math.inf, "infinite"),
])
def test_an_edge_value_the_network_cannot_take_is_refused(compiled, column, value, why):
    _, net, mod = compiled("stdlib/graph/bellman_ford.ncl")
    data = P.to_data(net, {"n": 2, "edges": [[0, 1]], "w": [3], "source": [True, False]})
    data.edge_attr[0, column] = value
    with pytest.raises(ValueError, match=why):
        mod(data.x, data.edge_index, None, data.edge_attr)


def test_a_none_or_foreign_pointer_and_a_cross_graph_edge_are_refused(compiled):
    _, net, mod = compiled("stdlib/graph/list_ranking.ncl")
    data = P.to_data(net, {"n": 2, "edges": [[0, 1]], "succ": [1, 1]})
    for bad, why in ((-1.0, "none"), (2.0, "not a node of its graph")):
        x = data.x.clone()
        x[0, 0] = bad
        with pytest.raises(ValueError, match=why):
            mod(x, data.edge_index)
    batch = Batch.from_data_list([data, data])
    with pytest.raises(ValueError, match="joins two graphs"):
        mod(batch.x, torch.tensor([[0], [3]]), batch.batch)
    with pytest.raises(ValueError, match="expected shape"):
        mod(data.x[:, :0], data.edge_index)


def test_a_network_pyg_cannot_take_is_refused_naming_why():
    with pytest.raises(nclang.NclError, match="takes a gnn network"):
        nclang.compile(REPO / "stdlib/bits/add.ncl", sizes={"k": 4}).to_pyg()
    pair_input = "program p(g: graph, r: pair[int[0..9]]) -> node[int] {\n" \
                 "    s[v] = sum(r[v, u] for u in nodes)\n    return s\n}\n"
    with pytest.raises(ValueError, match="has no PyG input layout"):
        nclang.compile(pair_input).to_pyg()


def test_outputs_off_the_encoding_are_an_error_not_an_answer(compiled):
    _, net, mod = compiled("stdlib/graph/bfs.ncl")
    data = P.to_data(net, {"n": 2, "edges": [[0, 1]], "source": [True, False]})
    with pytest.raises(nclang.NclError, match="does not compute bfs exactly"):
        P.outputs(net, data, {"reached": torch.tensor([1.0, 0.5])})


def test_from_data_checks_what_it_reads(compiled):
    _, net, _ = compiled("stdlib/graph/bellman_ford.ncl")
    data = P.to_data(net, {"n": 2, "edges": [[0, 1]], "w": [3], "source": [True, False]})
    assert P.from_data(data, net) == {"n": 2, "edges": [[0, 1]], "w": [3],
                                      "source": [True, False]}
    data.edge_attr[0, 0] = 2000
    with pytest.raises(nclang.NclError, match="out of range"):
        P.from_data(data, net)


_BLOCKED = """
import sys
class _NotInstalled:
    def find_spec(self, name, *args):
        if name.split(".")[0] == "torch_geometric":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NotInstalled())
"""


def test_importing_nclang_does_not_import_torch_geometric_and_to_pyg_names_the_extra(
        compiled, tmp_path):
    weights = compiled("stdlib/graph/bfs.ncl")[1].save(tmp_path / "bfs.safetensors")
    code = _BLOCKED + (
        "import nclang, nclang.pyg\n"
        "assert 'torch_geometric' not in sys.modules\n"
        f"net = nclang.load({str(weights)!r})\n"
        "try:\n    net.to_pyg()\nexcept ModuleNotFoundError as err:\n    print(err)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'pip install "nclang[pyg]"' in proc.stdout


_FENCE = re.compile(r"^```(?P<tag>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


def test_the_interop_docs_examples_run_and_print_what_they_show(tmp_path, monkeypatch):
    # as tests/test_api_docs.py runs docs/api.md: doctest sessions, in order, one namespace
    doc = REPO / "docs" / "interop.md"
    text = doc.read_text()
    blocks = [(text.count("\n", 0, m.start()) + 1, m["body"]) for m in _FENCE.finditer(text)
              if m["tag"] == "python"]
    assert len(blocks) >= 5
    (tmp_path / "stdlib").symlink_to(REPO / "stdlib")
    monkeypatch.chdir(tmp_path)
    parser, namespace = doctest.DocTestParser(), {}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for line, body in blocks:
        assert parser.get_examples(body), f"docs/interop.md:{line} runs nothing"
        test = parser.get_doctest(body, namespace, f"docs/interop.md:{line}", str(doc), line)
        out: list[str] = []
        if runner.run(test, out=out.append, clear_globs=False).failed:
            pytest.fail("".join(out), pytrace=False)
        namespace = test.globs
