"""The runtime's torch modules (docs/weights.md, "The torch modules"): each family's module is
built from the metadata alone, filled by `load_state_dict(load_file(path), strict=True)`, takes
and returns tensors, keeps nothing of a call, and computes what `nclang exec` computes bit for
bit; the GNN module exports with dynamic node and edge counts; the doc's plain-torch snippets
run a file without nclang."""
from __future__ import annotations

import ast
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from nclang.compiler.driver import compile_file
from nclang.compiler.runtime import load
from nclang.compiler.runtime.encoding import decode_outputs, encode_inputs
from nclang.compiler.runtime.gnn import GNN, Unrolled, rounds_for
from nclang.compiler.runtime.mlp import MLP
from nclang.compiler.runtime.transformer import Transformer
from nclang.compiler.testing.inputs import instance_to_json
from nclang.compiler.training.data import sample_instances
from nclang.dsl.checker import check_source
from nclang.dsl.jsonio import decode
from weights_mutants import PREFIX_COUNT  # a weight-tied repeat, shared with the file fuzzing

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Compiled files, by name, shared by the tests of this module."""
    folder = tmp_path_factory.mktemp("modules")
    out = {}
    for name, sizes in (("bits/add", {"k": 8}), ("graph/bfs", None), ("graph/bellman_ford", None),
                        ("graph/closure", None), ("graph/dfs", None),
                        ("graph/connected_components", None), ("graph/list_ranking", None),
                        ("graph/bellman_ford_pred", None), ("seq/hist", {"n": 8}),
                        ("seq/sort", {"n": 8}), ("seq/frac_prevs", {"n": 8}),
                        ("seq/reverse", {"n": 8})):
        path = folder / f"{name.split('/')[1]}.safetensors"
        compile_file(REPO / "stdlib" / f"{name}.ncl", path, sizes=sizes)
        out[name.split("/")[1]] = path
    src = folder / "prefix_count.ncl"
    src.write_text(PREFIX_COUNT)
    compile_file(src, folder / "prefix_count.safetensors", sizes={"n": 8})
    out["prefix_count"] = folder / "prefix_count.safetensors"
    return out


def _meta(path) -> dict:
    with safe_open(str(path), "pt") as f:
        return {k: json.loads(v) for k, v in f.metadata().items()}


def _module(path):
    meta = _meta(path)
    arch = meta["architecture"]
    return {"mlp": lambda: MLP(arch), "transformer": lambda: Transformer(arch),
            "gnn": lambda: GNN(arch, meta["encodings"]["outputs"])}[arch["family"]]()


def _instances(net, objs):
    return [decode(net.signature, o, net.sizes, "<test>") for o in objs]


def _graph(n, m, seed):
    rng = np.random.default_rng(seed)
    return [[int(u), int(v)] for u, v in rng.integers(0, n, (m, 2))]


# ---------------------------------------------------------------- state dicts

@pytest.mark.parametrize("name", ["add", "bfs", "closure", "hist", "prefix_count"])
def test_each_family_loads_its_file_strictly_and_its_parameters_are_the_files_tensors(
        files, name):
    module = _module(files[name])
    tensors = load_file(str(files[name]))
    module.load_state_dict(tensors, strict=True)
    assert dict(module.named_parameters()).keys() == tensors.keys()
    assert list(module.state_dict()) == [k for k, _ in module.named_parameters()]
    for k, p in module.named_parameters():
        assert isinstance(p, torch.nn.Parameter) and torch.equal(p.data, tensors[k])
    # the runtime's own module has the same names, in the same order
    assert list(load(files[name]).module.state_dict()) == list(module.state_dict())


def _attributes(module) -> dict:
    return {f"{prefix}.{k}": repr(v) for prefix, mod in module.named_modules()
            for k, v in vars(mod).items()
            if k not in ("_parameters", "_buffers", "_modules") and not k.startswith("_forward")}


@pytest.mark.parametrize("name,obj", [
    ("add", {"a": 13, "b": 200}),
    ("bellman_ford", {"n": 3, "edges": [[0, 1], [1, 2]], "w": [4, 1],
                      "source": [True, False, False]}),
    ("prefix_count", {"tokens": ["a", "b", "a", "a"]})])
def test_a_run_leaves_nothing_on_the_module(files, name, obj):
    net = load(files[name])
    before = _attributes(net.module)
    net.run(_instances(net, [obj]))
    assert _attributes(net.module) == before


# ---------------------------------------------------------------- forward on tensors

def test_mlp_forward_takes_the_bits_vector(files):
    net = load(files["add"])
    module = _module(files["add"])
    module.load_state_dict(load_file(str(files["add"])), strict=True)
    insts = _instances(net, [{"a": a, "b": b} for a, b in ((13, 200), (255, 255), (0, 7))])
    bits = torch.from_numpy(encode_inputs(insts, net.inputs, net.width_in)).float()
    with torch.inference_mode():
        y = module(bits)
    got = decode_outputs(y.double().numpy(), net.outputs, "exact")
    # bits[k + 1], least significant first
    assert [sum(int(bit) << i for i, bit in enumerate(g["s"])) for g in got] == [213, 510, 7]


def test_transformer_forward_takes_tokens_and_lengths(files):
    net = load(files["prefix_count"])
    module = _module(files["prefix_count"])
    module.load_state_dict(load_file(str(files["prefix_count"])), strict=True)
    seqs = [["a", "a", "b", "a", "a"], ["b", "a"]]
    toks, lengths, groups = net.encode(_instances(net, [{"tokens": s} for s in seqs]))
    for trips, members in groups.items():
        with torch.inference_mode():
            x = module(torch.from_numpy(toks[members]), torch.from_numpy(lengths[members]),
                       trips)
        for r, b in enumerate(members):
            want = np.cumsum([t == "a" for t in seqs[b]])
            assert np.array_equal(net.decode(x[r].double().numpy(), len(seqs[b]))["c"], want)


def _pyg_batch(net, objs):
    """One group's module arguments, through the runtime's own encoder."""
    insts = _instances(net, objs)
    return net.tensors(insts, insts[0].graph.n), insts


def test_gnn_forward_in_pyg_layout_equals_the_runtime(files):
    net = load(files["bellman_ford"])
    rng = np.random.default_rng(3)
    objs = []
    for seed in range(3):
        edges = _graph(6, 9, seed)
        objs.append({"n": 6, "edges": edges, "w": rng.integers(0, 1000, len(edges)).tolist(),
                     "source": [True] + [False] * 5})
    (inputs, edge_index, batch, sizes), insts = _pyg_batch(net, objs)
    assert inputs["source"].shape == (18, 1) and inputs["w"].shape == (27, 1)
    assert edge_index.shape == (2, 27) and batch.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    with torch.inference_mode():
        out = net.module(inputs, edge_index, batch)       # sizes computed from the batch
        given = net.module(inputs, edge_index, batch, sizes)
    assert out["dist"].shape == (18, 2)                   # pinf: flag, value per node
    assert torch.equal(out["dist"], given["dist"])
    runtime = net.run(insts)
    for b in range(3):
        flag, value = out["dist"][6 * b:6 * b + 6].double().unbind(-1)
        got = torch.where(flag == 1, value, math.inf).numpy()
        assert np.array_equal(got, runtime[b]["dist"])


def test_gnn_forward_refuses_a_batch_of_graphs_of_different_sizes(files):
    net = load(files["bfs"])
    module = net.module
    inputs = {"source": torch.zeros(5, 1)}
    edge_index = torch.tensor([[0, 3], [1, 4]])
    with pytest.raises(ValueError, match="same number of nodes"):
        module(inputs, edge_index, torch.tensor([0, 0, 0, 1, 1]))


def test_gnn_pair_output_is_one_row_per_node(files):
    net = load(files["closure"])
    (inputs, edge_index, batch, sizes), insts = _pyg_batch(
        net, [{"n": 4, "edges": [[0, 1], [1, 2]]}, {"n": 4, "edges": [[3, 2]]}])
    with torch.inference_mode():
        r = net.module(inputs, edge_index, batch, sizes)["r"]
    assert r.shape == (8, 4, 1)
    for b, want in enumerate(net.run(insts)):
        assert np.array_equal(r[4 * b:4 * b + 4, :, 0].numpy() == 1, want["r"])


# ---------------------------------------------------------------- torch.export

def _one_graph(module, n, m, seed):
    rng = np.random.default_rng(seed)
    edge_index = torch.from_numpy(rng.integers(0, n, (2, m)))
    inputs = {}
    for name, kind, dom in module.inputs:
        count = n if dom == ["node"] else m
        if kind == "bool":
            x = torch.zeros(count, 1)
            x[0] = 1
        else:
            x = torch.from_numpy(rng.integers(0, 50, (count, 1))).float()
        inputs[name] = x
    return inputs, edge_index, torch.zeros(n, dtype=torch.long), module.size_table(n, [m])


@pytest.mark.parametrize("name", ["bfs", "bellman_ford", "closure"])
def test_exported_gnn_with_dynamic_nodes_and_edges_equals_the_eager_module(files, name):
    module = _module(files[name])
    module.load_state_dict(load_file(str(files[name])), strict=True)
    module.eval()
    unrolled = Unrolled(module, rounds_for(module, module.size_table(24, [60])))
    N, E = torch.export.Dim("N", min=2, max=24), torch.export.Dim("E", min=2, max=60)
    spec = {k: {0: N if dom == ["node"] else E} for k, _, dom in module.inputs}
    program = torch.export.export(unrolled, _one_graph(module, 6, 10, 0),
                                  dynamic_shapes=(spec, {1: E}, {0: N}, None))
    exported = program.module()
    for n, m in ((3, 2), (9, 20), (24, 60)):
        args = _one_graph(module, n, m, n)
        with torch.no_grad():
            want = module(*args)
            got = exported(*args)
        assert want.keys() == got.keys()
        for k in want:
            assert torch.equal(want[k], got[k]), (name, n, m, k)


def test_unrolled_with_too_few_rounds_fails_instead_of_answering(files):
    module = load(files["bfs"]).module
    path = [[i, i + 1] for i in range(7)]        # reaching node 7 takes 7 rounds
    inputs = {"source": torch.eye(8)[0].reshape(8, 1)}
    edge_index = torch.tensor(path).T
    sizes = module.size_table(8, [7])
    with torch.inference_mode():
        full = Unrolled(module, [7])(inputs, edge_index, torch.zeros(8, dtype=torch.long), sizes)
        assert torch.equal(full["reached"], torch.ones(8, 1))
        with pytest.raises(RuntimeError, match="fewer than a graph's loop needs"):
            Unrolled(module, [3])(inputs, edge_index, torch.zeros(8, dtype=torch.long), sizes)


def test_unrolled_equals_the_eager_module_on_a_batch_of_graphs_that_stop_apart(files):
    module = load(files["bfs"]).module
    net = load(files["bfs"])
    objs = [{"n": 6, "edges": [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]],
             "source": [True] + [False] * 5},
            {"n": 6, "edges": [], "source": [False] * 5 + [True]}]
    (inputs, edge_index, batch, sizes), _ = _pyg_batch(net, objs)
    with torch.inference_mode():
        want = module(inputs, edge_index, batch, sizes)
        got = Unrolled(module, rounds_for(module, sizes))(inputs, edge_index, batch, sizes)
    assert torch.equal(want["reached"], got["reached"])


# ---------------------------------------------------------------- the doc's snippets

NO_NCLANG = ("import sys\n"
             "class _NoNclang:\n"
             "    def find_spec(self, name, *args):\n"
             "        if name.split('.')[0] == 'nclang':\n"
             "            raise ImportError('the snippet must not need nclang')\n"
             "sys.meta_path.insert(0, _NoNclang())\n")

# after the snippet: its `run` on every case of cases.json, one JSON line
RUN_CASES = ("\nimport json as _json\n"
             "for _case in _json.load(open('cases.json')):\n"
             "    print(_json.dumps(run(*_case)))\n")


def _snippet(heading: str) -> str:
    text = (REPO / "docs" / "weights.md").read_text()
    return re.search(rf"### {heading}\n.*?```python\n(.*?)```", text, re.S).group(1)


def _plain(value, kind: str):
    """A runtime output in the snippets' plain form."""
    a = np.asarray(value)

    def one(x):
        if kind in ("pinf", "ninf") and math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if kind == "bool":
            return bool(x)
        if kind == "token":
            return x
        if kind == "frac":
            return float(x)
        return int(x)
    return one(a.item()) if a.ndim == 0 else [one(x) for x in a.tolist()]


def _run_snippet(snippet: str, folder: Path, cases: list) -> tuple[str, list]:
    (folder / "cases.json").write_text(json.dumps(cases))
    proc = subprocess.run([sys.executable, "-c", NO_NCLANG + snippet + RUN_CASES], cwd=folder,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    return lines[0], [json.loads(line) for line in lines[1:]]


def test_gnn_snippet_runs_files_without_nclang_as_nclang_does(files, tmp_path):
    snippet = _snippet("A GNN file without nclang")
    shutil.copy(files["bellman_ford"], tmp_path / "bellman_ford.safetensors")
    cases, expected = [], []
    rng = np.random.default_rng(11)
    for name in ("bfs", "bellman_ford", "bellman_ford_pred", "connected_components", "dfs",
                 "list_ranking"):
        net = load(files[name])
        src = (REPO / "stdlib/graph" / f"{name}.ncl")
        checked = check_source(src.read_text(), str(src))[0]
        for inst in sample_instances(checked, 6, rng, n_range=(1, 9)):
            if net.refusals(inst):
                continue
            obj = instance_to_json(checked, inst)
            n, edges = obj.pop("n"), obj.pop("edges")
            cases.append([str(files[name]), n, edges, obj])
            (out,) = net.run([inst])
            expected.append({e["name"]: _plain(out[e["name"]], e["kind"])
                             for e in net.outputs})
    first, got = _run_snippet(snippet, tmp_path, cases)
    assert first == "{'dist': [0, 4, 5, 'inf']}"
    assert len(got) == len(expected) >= 25
    assert got == expected


def test_transformer_snippet_runs_files_without_nclang_as_nclang_does(files, tmp_path):
    snippet = _snippet("A transformer file without nclang")
    shutil.copy(files["hist"], tmp_path / "hist.safetensors")
    rng = np.random.default_rng(5)
    cases, expected = [], []
    for name in ("hist", "sort", "frac_prevs", "reverse", "prefix_count"):
        net = load(files[name])
        vocab = list(net.vocab)
        for length in (1, 2, 5, 8):
            tokens = [vocab[i] for i in rng.integers(0, len(vocab), length)]
            inst = _instances(net, [{"tokens": tokens}])
            if net.refusals(inst[0]):
                continue
            cases.append([str(files[name]), tokens])
            (out,) = net.run(inst)
            expected.append({o["name"]: _plain(out[o["name"]], o["kind"])
                             for o in net.outputs})
    first, got = _run_snippet(snippet, tmp_path, cases)
    assert first == "{'h': [2, 1, 2]}"
    assert len(got) == len(expected) >= 16
    assert got == expected


# ---------------------------------------------------------------- training

def test_training_imports_nothing_private_from_the_runtime():
    for path in sorted((REPO / "compiler" / "training").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and "runtime" in (node.module or ""):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
