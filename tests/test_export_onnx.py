"""`nclang export --format onnx` (docs/export.md): every stdlib program, compiled at small sizes
and exported once (a module-level cache), runs in onnxruntime and agrees with the interpreter
bit for bit on hypothesis-drawn inputs, after the runtime's own decode of the outputs
(`nclang.compiler.export.onnx_run`). Each export is traced at one tiny example (a batch of two:
two graphs of two nodes, two sequences of length 3); the drawn inputs have other batch sizes,
lengths, node and edge counts, which is what shows the axes stayed dynamic. Then: the
fixed-round mode of a gnn export (`exact` is false on a graph that needed more rounds, true on a
large one that needed few), size formulas in tensors against the exact evaluator, a
transformer's repeat, the file's metadata, the CLI and the API, the one-line errors, and the
examples of docs/export.md."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nclang
from nclang import stdlib
from nclang.compiler.export import ExportOptions
from nclang.compiler.export import onnx as export_onnx
from nclang.compiler.export.onnx_run import OnnxNet
from nclang.compiler.testing import test_program
from nclang.dsl.jsonio import input_sizes

from cli_inprocess import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = 10
MAX_N = 5          # nodes of a drawn graph, tokens of a drawn sequence
SIZE = 4           # every other size variable (the width k of a bits program)


def _sizes(prog) -> dict[str, int]:
    free = set(prog.checked.size_vars) - set(input_sizes(prog.checked))
    sizes = {name: SIZE for name in free}
    if prog.checked.family == "seq":
        sizes["n"] = MAX_N
    return sizes


_CACHE: dict[str, tuple] = {}


def _exported(name: str):
    """(program, its sizes, network, ONNX bytes) of stdlib program `name`, exported once."""
    if name not in _CACHE:
        prog = nclang.check(stdlib.path(name))
        sizes = _sizes(prog)
        net = nclang.compile(prog, sizes=sizes)
        data = export_onnx.to_bytes(net.compiled_net, ExportOptions(max_nodes=MAX_N))
        _CACHE[name] = prog, sizes, net, data
    return _CACHE[name]


@pytest.mark.parametrize("name", stdlib.names())
def test_every_stdlib_program_runs_in_onnxruntime_exactly_as_the_interpreter(name):
    prog, sizes, net, data = _exported(name)
    runner = OnnxNet(data, net.compiled_net)
    vocab = tuple(net.meta["encodings"].get("vocab") or ()) or None
    result = test_program(prog.checked, runner, sizes, examples=EXAMPLES, seed=0,
                          max_n=MAX_N, vocab=vocab)
    assert result.ok, result.counterexample and result.counterexample.to_json()
    assert result.examples >= 3, result.summary()


@pytest.mark.parametrize("name, options", [
    ("bits/parity", {"activation": "step"}),               # Heaviside layers
    ("bits/popcount", {"dtype": "float64"}),
    ("graph/bellman_ford", {"dtype": "float64"}),
    ("seq/frac_prevs", {"dtype": "float64"}),
])
def test_step_and_float64_networks_export_exactly(name, options):
    prog = nclang.check(stdlib.path(name))
    sizes = _sizes(prog)
    net = nclang.compile(prog, sizes=sizes, **options)
    data = export_onnx.to_bytes(net.compiled_net, ExportOptions(max_nodes=MAX_N))
    want = "tensor(double)" if options.get("dtype") == "float64" else "tensor(float)"
    session = ort.InferenceSession(data)
    assert {i.type for i in session.get_outputs() if i.name != "exact"} == {want}
    vocab = tuple(net.meta["encodings"].get("vocab") or ()) or None
    result = test_program(prog.checked, OnnxNet(data, net.compiled_net), sizes,
                          examples=EXAMPLES, seed=1, max_n=MAX_N, vocab=vocab)
    assert result.ok, result.counterexample and result.counterexample.to_json()


# ---------------------------------------------------------------- gnn: fixed rounds, exact

def _feeds(n: int, edges: list[tuple[int, int]], source: list[int], graphs: int = 1):
    """bfs's inputs for `graphs` copies of one graph, as one PyG-style disjoint union."""
    src = [u + b * n for b in range(graphs) for u, _ in edges]
    dst = [v + b * n for b in range(graphs) for _, v in edges]
    x = np.zeros((graphs * n, 1), np.float32)
    for b in range(graphs):
        x[[b * n + s for s in source], 0] = 1
    return {"source": x, "edge_index": np.array([src, dst], np.int64).reshape(2, -1),
            "batch": np.repeat(np.arange(graphs), n), "ptr": np.arange(graphs + 1) * n}


@pytest.fixture(scope="module")
def bfs3():
    """bfs exported with 3 rounds, and its network."""
    net = nclang.compile(stdlib.path("graph/bfs"))
    data = export_onnx.to_bytes(net.compiled_net, ExportOptions(rounds=(3,)))
    return ort.InferenceSession(data), net


def test_a_graph_that_needs_more_rounds_than_exported_is_not_exact(bfs3):
    sess, _ = bfs3
    path = [(i, i + 1) for i in range(5)]                 # node 5 is 5 rounds from node 0
    _, exact = sess.run(None, _feeds(6, path, [0]))
    assert exact.tolist() == [False]
    # from node 3: two rounds reach 4 and 5, the third changes nothing (until stable)
    _, exact = sess.run(None, _feeds(6, path, [3]))
    assert exact.tolist() == [True]


def test_a_large_graph_that_settles_early_is_exact_under_few_rounds(bfs3):
    # until stable stops each graph on its own: 200 nodes, 2 hops, 3 rounds are enough
    sess, net = bfs3
    n = 200
    edges = [(0, v) for v in range(1, 100)] + [(v, v + 100) for v in range(1, 100)]
    reached, exact = sess.run(None, _feeds(n, edges, [0], graphs=3))
    assert exact.tolist() == [True, True, True]
    want = net.run({"n": n, "edges": [list(e) for e in edges],
                    "source": [v == 0 for v in range(n)]})["reached"]
    assert (reached.reshape(3, n) == 1).tolist() == [want] * 3


def test_graphs_of_one_call_stop_apart_and_each_gets_its_own_exact_flag(bfs3):
    sess, _ = bfs3
    one = _feeds(6, [(i, i + 1) for i in range(5)], [0])
    two = _feeds(6, [(0, 1)], [0])
    both = {"source": np.concatenate([one["source"], two["source"]]),
            "edge_index": np.concatenate([one["edge_index"], two["edge_index"] + 6], 1),
            "batch": np.repeat([0, 1], 6), "ptr": np.array([0, 6, 12])}
    reached, exact = sess.run(None, both)
    assert exact.tolist() == [False, True]
    assert reached[6:, 0].tolist() == [1, 1, 0, 0, 0, 0]


def test_an_edge_between_two_graphs_of_a_batch_is_not_exact(bfs3):
    sess, _ = bfs3
    feeds = _feeds(3, [(0, 1)], [0], graphs=2)
    feeds["edge_index"] = np.array([[0, 2], [1, 3]])      # 2 -> 3 leaves graph 0
    assert sess.run(["exact"], feeds)[0].tolist() == [False, True]


def test_default_rounds_cover_every_graph_up_to_max_nodes():
    net = nclang.compile(stdlib.path("graph/dfs"))
    rounds = export_onnx.default_rounds(net.compiled_net.module, 5)
    assert rounds == [10]                                 # repeat 2 * n, at n = 5


# ---------------------------------------------------------------- size formulas in the graph

FORMULAS = ["n - 1", "2 * n", "ceil(log2(n))", "floor(log2(m))", "log2(n)", "n / 2",
            "ceil(n / 3) + m // 2", "Max(1000, 1000*n - 1000)", "min(n, m) ** 2",
            "n // (m - 1)", "floor(log2(n / 3))", "ceil(log2(m + 1)) * (n - m)", "-n + 7"]


def _check_formula(text):
    import torch
    from nclang.compiler import formula
    from nclang.compiler.export import sizes as tensor_formulas
    pairs = [(n, m) for n in (1, 2, 3, 4, 7, 8, 9, 33, 1000) for m in (0, 1, 2, 5, 64, 1000)]
    env = {"n": torch.tensor([n for n, _ in pairs]), "m": torch.tensor([m for _, m in pairs])}
    value, ok = tensor_formulas.evaluate(text, env)
    for (n, m), v, good in zip(pairs, value.tolist(), ok.tolist()):
        try:
            want = formula.eval_int(text, {"n": n, "m": m})
        except formula.FormulaError:
            assert not good, (text, n, m)
            continue
        assert good and v == want, (text, n, m, v, want)


@pytest.mark.parametrize("text", FORMULAS)
def test_a_size_formula_in_tensors_is_the_exact_evaluator_or_flagged(text):
    _check_formula(text)


def _formulas():
    """Texts of the size grammar (`nclang.compiler.formula`) over n and m."""
    leaf = st.one_of(st.integers(0, 40).map(str), st.sampled_from(["n", "m"]))

    def grow(sub):
        pair = st.tuples(sub, sub)
        return st.one_of(
            st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "//"]), sub)
            .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            sub.map(lambda a: f"-{a}"),
            st.tuples(sub, st.integers(0, 3)).map(lambda t: f"({t[0]}) ** {t[1]}"),
            st.tuples(st.sampled_from(["ceil", "floor", "log2"]), sub)
            .map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["ceil", "floor"]), sub)
            .map(lambda t: f"{t[0]}(log2({t[1]}))"),
            st.tuples(st.sampled_from(["min", "max", "Max"]), pair)
            .map(lambda t: f"{t[0]}({t[1][0]}, {t[1][1]})"))

    return st.recursive(leaf, grow, max_leaves=6)


@settings(max_examples=60, deadline=None)
@given(_formulas())
def test_a_drawn_size_formula_in_tensors_is_the_exact_evaluator_or_flagged(text):
    _check_formula(text)


# ---------------------------------------------------------------- transformer loops

PREFIX_COUNT = """program prefix_count(tokens: seq[token]) -> seq[int] {
    c[i] = 1 if tokens[i] == "a" else 0
    d = 1
    repeat ceil(log2(n)) {
        c[i] = c[i] + (c[i - d] if i >= d else 0)
        d = 2 * d
    }
    return c
}
"""


def test_a_repeat_runs_each_sequences_own_trip_count_in_one_call():
    net = nclang.compile(PREFIX_COUNT, sizes={"n": 9})
    assert len(net.architecture["loops"]) == 1
    runner = OnnxNet(export_onnx.to_bytes(net.compiled_net, ExportOptions()), net.compiled_net)
    prog = nclang.check(PREFIX_COUNT)
    result = test_program(prog.checked, runner, {"n": 9}, examples=30, seed=3, max_n=9,
                          vocab=tuple(net.meta["encodings"]["vocab"]))
    assert result.ok, result.counterexample and result.counterexample.to_json()


def test_a_sequence_longer_than_n_or_with_an_unknown_id_is_not_exact():
    _, _, net, data = _exported("seq/hist")
    sess = ort.InferenceSession(data)
    V = len(net.meta["encodings"]["vocab"])
    tokens = np.zeros((3, MAX_N), np.int64)
    tokens[1, 0] = V                                      # the BOS id is no token
    tokens[2, 3] = V + 5                                  # past the length: never read
    lengths = np.array([MAX_N, 2, 3])
    assert sess.run(["exact"], {"tokens": tokens, "lengths": lengths})[0].tolist() == \
        [True, False, True]
    assert sess.run(["exact"], {"tokens": tokens, "lengths": lengths + 1})[0].tolist() == \
        [False, False, False]


# ---------------------------------------------------------------- the file, the CLI, the API

def test_the_file_carries_the_weight_files_metadata_and_its_rounds(tmp_path):
    _, _, net, _ = _exported("graph/bfs")
    out = net.export_onnx(tmp_path / "bfs.onnx", rounds=4)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["nclang"]) == net.compiled_net.meta   # the file's, as read
    assert meta["nclang.format"] == export_onnx.FORMAT
    assert json.loads(meta["nclang.rounds"]) == [4]


def test_cli_export_writes_a_file_onnxruntime_runs_as_nclang_exec(tmp_path):
    weights = tmp_path / "add.safetensors"
    nclang.compile(stdlib.path("bits/add"), sizes={"k": 4}).save(weights)
    status, out, err = cli("export", weights, "--format", "onnx", "-o", tmp_path / "add.onnx")
    assert (status, out, err) == (0, "", "")
    sess = ort.InferenceSession(str(tmp_path / "add.onnx"))
    bits = lambda v: [(v >> i) & 1 for i in range(4)]  # least significant first
    (s,) = sess.run(None, {"a": np.array([bits(7), bits(15)], np.float32),
                           "b": np.array([bits(9), bits(15)], np.float32)})
    assert [int(sum(b << i for i, b in enumerate(row.astype(int)))) for row in s] == [16, 30]


@pytest.mark.parametrize("args, message", [
    (["--rounds", "2,2"], "error: 2 round counts given, but the network has 1 loop"),
    (["--weights-broken"], "error: not a safetensors file"),
])
def test_a_failed_export_is_one_located_error_and_leaves_the_old_file(tmp_path, args, message):
    weights = tmp_path / "bfs.safetensors"
    nclang.compile(stdlib.path("graph/bfs")).save(weights)
    if args == ["--weights-broken"]:
        weights.write_bytes(b"not a weight file")
        args = []
    out = tmp_path / "bfs.onnx"
    out.write_bytes(b"old")
    status, stdout, err = cli("export", weights, "--format", "onnx", "-o", out, *args)
    assert status == 1 and stdout == ""
    assert err.count("\n") == 1 and err.startswith(f"{weights}:1:1: ") and message in err
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bfs.onnx", "bfs.safetensors"]


def test_rounds_for_a_network_without_gnn_loops_is_refused_by_the_api():
    _, _, net, _ = _exported("seq/hist")
    with pytest.raises(nclang.NclError, match="only a gnn file's loops are unrolled"):
        net.export_onnx("never.onnx", rounds=3)


def test_export_without_the_onnx_extra_names_the_extra(tmp_path, monkeypatch):
    weights = tmp_path / "bfs.safetensors"
    nclang.compile(stdlib.path("graph/bfs")).save(weights)
    monkeypatch.setitem(sys.modules, "onnx", None)        # `import onnx` fails as uninstalled
    status, _, err = cli("export", weights, "--format", "onnx", "-o", tmp_path / "bfs.onnx")
    assert status == 1, err
    assert err.count("\n") == 1 and 'pip install "nclang[onnx]"' in err
    assert not (tmp_path / "bfs.onnx").exists()


# ---------------------------------------------------------------- docs/export.md

def test_the_export_docs_examples_run_and_print_what_they_show(tmp_path, monkeypatch):
    import doctest
    import re
    text = (ROOT / "docs" / "export.md").read_text()
    blocks = [(text.count("\n", 0, m.start()) + 1, m["body"]) for m in
              re.finditer(r"^```python\n(?P<body>.*?)^```$", text, re.M | re.S)]
    assert len(blocks) >= 4
    (tmp_path / "stdlib").symlink_to(ROOT / "stdlib")
    monkeypatch.chdir(tmp_path)
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner()
    namespace: dict = {}
    for line, body in blocks:
        test = parser.get_doctest(body, namespace, f"docs/export.md:{line}", "export.md", line)
        out: list[str] = []
        if runner.run(test, out=out.append, clear_globs=False).failed:
            pytest.fail("".join(out), pytrace=False)
        namespace = test.globs


def test_the_export_docs_commands_run_and_print_nothing(tmp_path, monkeypatch):
    import re
    import shlex
    text = (ROOT / "docs" / "export.md").read_text()
    sessions = re.findall(r"^```sh\n(.*?)^```$", text, re.M | re.S)
    commands = [line[2:] for block in sessions for line in block.splitlines()
                if line.startswith("$ ")]
    assert len(commands) == 4 and all(c.startswith("nclang ") for c in commands)
    (tmp_path / "stdlib").symlink_to(ROOT / "stdlib")
    monkeypatch.chdir(tmp_path)
    for command in commands:
        assert cli(*shlex.split(command)[1:]) == (0, "", ""), command
    rounds = {p.key: p.value for p in onnx.load("bf.onnx").metadata_props}["nclang.rounds"]
    assert json.loads(rounds) == [6, 6]
    rounds = {p.key: p.value for p in onnx.load("bfs.onnx").metadata_props}["nclang.rounds"]
    assert json.loads(rounds) == [11]


def test_a_network_placed_on_another_device_is_exported_from_a_cpu_copy(tmp_path):
    # no GPU here: "cpu:0" is another device string, which takes the same path as "cuda"
    net = nclang.compile(stdlib.path("bits/parity"), sizes={"k": 3}, device="cpu:0")
    sess = ort.InferenceSession(str(net.export_onnx(tmp_path / "parity.onnx")))
    (got,) = sess.run(None, {"x": np.array([[1, 1, 0], [1, 1, 1]], np.float32)})
    assert got.tolist() == [0.0, 1.0]
