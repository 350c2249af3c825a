"""The Python API (docs/api.md) does in memory what the CLI does with files: the same checked
program, the same outputs, the same weight-file bytes, the same property test; and importing it
changes nothing (no torch, no hypothesis, the same recursion limit)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_inprocess import cli
from hypothesis import given, settings
from nclang.compiler import weights

import nclang

REPO = Path(__file__).resolve().parent.parent
ADD = REPO / "stdlib" / "bits" / "add.ncl"
BFS = REPO / "stdlib" / "graph" / "bfs.ncl"
REVERSE = REPO / "stdlib" / "seq" / "reverse.ncl"


def _python(code: str, cwd=REPO) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# ---------------------------------------------------------------- importing

def test_importing_nclang_loads_no_torch_no_hypothesis_and_keeps_the_recursion_limit():
    out = _python("""
        import sys
        before = sys.getrecursionlimit()
        import nclang
        nclang.check('stdlib/bits/add.ncl')
        print(sys.getrecursionlimit() == before, 'torch' in sys.modules,
              'hypothesis' in sys.modules)
    """)
    assert out.split() == ["True", "False", "False"]


def test_compiling_loading_and_saving_need_no_torch(tmp_path):
    out = _python(f"""
        import sys
        import nclang
        net = nclang.compile('stdlib/graph/bfs.ncl')
        net.save({str(tmp_path / 'bfs.safetensors')!r})
        nclang.load({str(tmp_path / 'bfs.safetensors')!r})
        print('torch' in sys.modules)
    """)
    assert out.split() == ["False"]


def test_all_names_the_api_and_version_is_the_installed_distributions():
    from importlib.metadata import version
    assert set(nclang.__all__) == {"NclError", "Network", "Program", "__version__", "check",
                                   "compile", "load", "run", "test", "testing"}
    assert all(hasattr(nclang, name) for name in nclang.__all__)
    assert nclang.__version__ == version("nclang")
    assert nclang.NclError is __import__("nclang.dsl.diagnostics").dsl.diagnostics.NclError


def test_deep_recursion_restores_the_limit_after_nesting_and_errors():
    from nclang.dsl import deep_recursion
    before = sys.getrecursionlimit()
    with pytest.raises(RuntimeError), deep_recursion():
        with deep_recursion():
            assert sys.getrecursionlimit() >= 20000
        assert sys.getrecursionlimit() >= 20000  # the outer use still holds it
        raise RuntimeError("an error inside")
    assert sys.getrecursionlimit() == before


def test_a_deeply_nested_program_checks_and_runs_under_the_apis_own_limit():
    depth = 600  # beyond what Python's default recursion limit lets the checker walk
    src = ("program deep(x: int[0..3]) -> int[0..3] {\n    return " + "(" * depth + "x"
           + " + 0)" * depth + "\n}\n")
    before = sys.getrecursionlimit()
    prog = nclang.check(src)
    assert nclang.run(prog, {"x": 2}) == {"result": 2}
    assert sys.getrecursionlimit() == before


# ---------------------------------------------------------------- the issue's done-when

def test_the_issues_one_liner_prints_the_sum():
    out = _python("import nclang; n = nclang.compile('stdlib/bits/add.ncl', sizes={'k': 8}); "
                  "print(n.run({'a': 13, 'b': 200}))")
    assert out.strip() == "{'s': 213}"


def test_a_file_from_nclang_compile_loads_and_runs_the_same_and_is_the_same_bytes(tmp_path):
    out = tmp_path / "add.safetensors"
    assert cli("compile", ADD, "--size", "k=8", "-o", out)[0] == 0
    compiled = nclang.compile(ADD, sizes={"k": 8})
    assert compiled.to_bytes() == out.read_bytes()
    loaded = nclang.load(out)
    inputs = [{"a": a, "b": b} for a, b in ((13, 200), (0, 0), (255, 255), (1, 254))]
    assert loaded.run(inputs) == compiled.run(inputs) == [{"s": a + b} for a, b in
                                                           ((13, 200), (0, 0), (255, 255),
                                                            (1, 254))]
    assert loaded.run(inputs[0]) == {"s": 213}
    assert nclang.load(out.read_bytes()).run(inputs[0]) == {"s": 213}


# ---------------------------------------------------------------- check

@pytest.mark.parametrize("path", [ADD, BFS], ids=["add", "bfs"])
def test_check_gives_what_nclang_check_json_prints(path):
    status, out, _ = cli("check", path, "--json")
    assert status == 0
    (expected,) = json.loads(out)["programs"]
    assert nclang.check(path).to_json() == expected


def test_check_summary_is_what_nclang_check_prints():
    status, out, _ = cli("check", ADD)
    assert status == 0 and nclang.check(ADD).summary() == out


def test_a_path_and_its_text_check_to_the_same_program_under_their_own_names():
    by_path, by_str = nclang.check(ADD), nclang.check(str(ADD))
    by_text = nclang.check(ADD.read_text())
    assert by_path.signature() == by_str.signature() == by_text.signature()
    assert (by_path.file, by_text.file) == (str(ADD), "<source>")
    assert nclang.check(by_text) is by_text


def test_a_one_line_string_ending_in_ncl_is_a_path_even_when_missing(tmp_path):
    with pytest.raises(nclang.NclError) as err:
        nclang.check(str(tmp_path / "missing.ncl"))
    assert str(err.value).startswith(f"{tmp_path / 'missing.ncl'}:1:1: error: cannot read file")


def test_a_file_of_several_programs_needs_a_program_name(tmp_path):
    f = tmp_path / "two.ncl"
    f.write_text("program a(x: int[0..3]) -> int[0..3] {\n    return x\n}\n"
                 "program b(x: int[0..3]) -> int[0..3] {\n    return x + 0\n}\n")
    with pytest.raises(nclang.NclError, match="holds 2 programs"):
        nclang.check(f)
    assert nclang.check(f, program="b").name == "b"
    assert nclang.run(nclang.check(f, program="a"), {"x": 3}) == {"x": 3}
    assert nclang.compile(f, program="b").run({"x": 3}) == {"result": 3}


def test_program_exposes_its_signature_cost_ranges_and_ir():
    prog = nclang.check(ADD)
    assert (prog.name, prog.family, prog.size_vars) == ("add", "bits", ("k",))
    assert prog.params == {"a": "bits[k]", "b": "bits[k]"} and prog.results == {"s": "bits[k + 1]"}
    assert prog.cost.cls == "NC1" and prog.declared_class == "NC1"
    assert "k" in prog.ranges.summary()
    status, out, _ = cli("check", ADD, "--ir", "--json")
    assert status == 0 and prog.ir == json.loads(out)["programs"][0]["ir"]


# ---------------------------------------------------------------- run

def test_run_gives_what_nclang_run_prints_for_the_same_json_lines(tmp_path):
    inputs = [{"n": 3, "edges": [[0, 1]], "source": [True, False, False]},
              {"n": 4, "edges": [[0, 1], [1, 2], [2, 3]], "source": [False, False, True, False]}]
    given = tmp_path / "in.jsonl"
    given.write_text("".join(json.dumps(x) + "\n" for x in inputs))
    status, out, _ = cli("run", BFS, "-i", given)
    assert status == 0
    assert nclang.run(BFS, inputs) == [json.loads(line) for line in out.splitlines()]
    assert nclang.run(BFS, inputs[0]) == json.loads(out.splitlines()[0])
    assert nclang.run(BFS, []) == []


def test_run_takes_sizes_as_nclang_run_takes_size():
    assert nclang.run(ADD, [{"a": 15, "b": 1}], sizes={"k": 4}) == [{"s": 16}]


# ---------------------------------------------------------------- compile, save, load

def test_save_writes_the_bytes_atomically_and_returns_the_path(tmp_path):
    net = nclang.compile(BFS)
    out = tmp_path / "bfs.safetensors"
    out.write_bytes(b"old")
    assert net.save(out) == out and out.read_bytes() == net.to_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bfs.safetensors"]  # no temporary


def test_a_compiled_network_leaves_no_file_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = nclang.compile(BFS)
    net.run({"n": 2, "edges": [[0, 1]], "source": [True, False]})
    assert list(tmp_path.iterdir()) == []


def test_compile_options_are_the_clis(tmp_path):
    out = tmp_path / "rev.safetensors"
    assert cli("compile", REVERSE, "--size", "n=5", "--dtype", "float64", "--vocab", "a,b,c",
               "-o", out)[0] == 0
    net = nclang.compile(REVERSE, sizes={"n": 5}, dtype="float64", vocab=("a", "b", "c"))
    assert net.to_bytes() == out.read_bytes()
    assert net.run({"tokens": ["a", "b", "c"]}) == {"out": ["c", "b", "a"]}
    assert net.target == "transformer" and net.sizes == {"n": 5}


def test_step_activation_and_an_explicit_target_compile_like_the_cli(tmp_path):
    out = tmp_path / "add.safetensors"
    assert cli("compile", ADD, "--size", "k=4", "--activation", "step", "--target", "mlp",
               "-o", out)[0] == 0
    net = nclang.compile(ADD, "mlp", {"k": 4}, activation="step")
    assert net.to_bytes() == out.read_bytes() and net.run({"a": 9, "b": 9}) == {"s": 18}


def test_module_is_a_torch_module_holding_the_files_tensors():
    import torch
    net = nclang.compile(ADD, sizes={"k": 4})
    tensors, _ = weights.read_weights_bytes(net.to_bytes())
    assert isinstance(net.module, torch.nn.Module)
    state = net.module.state_dict()
    assert set(state) == set(tensors)
    for name, value in tensors.items():
        assert torch.equal(state[name].double(), torch.from_numpy(value).double()), name


def test_loading_from_bytes_is_validated_like_reading_a_file(tmp_path):
    data = nclang.compile(BFS).to_bytes()
    path = tmp_path / "bfs.safetensors"
    path.write_bytes(data)
    t_file, m_file = weights.read_weights(path)
    t_bytes, m_bytes = weights.read_weights_bytes(data)
    assert m_file == m_bytes and t_file.keys() == t_bytes.keys()
    assert all((t_file[k] == t_bytes[k]).all() for k in t_file)


# ---------------------------------------------------------------- test and testing

def test_test_agrees_for_a_compiled_network_and_repeats_with_its_seed():
    prog = nclang.check(ADD)
    net = nclang.compile(prog, sizes={"k": 4})
    first = nclang.test(prog, net, examples=30, seed=7)
    again = nclang.test(prog, net, examples=30, seed=7)
    assert first.ok and first.counterexample is None
    assert (first.examples, first.summary()) == (again.examples, again.summary())
    status, out, _ = cli("test", ADD, "--size", "k=4", "--examples", "30", "--seed", "7")
    assert status == 0 and out.strip() == first.summary()


def test_test_finds_and_shrinks_a_counterexample_in_a_broken_network():
    prog = nclang.check(ADD)
    data = nclang.compile(prog, sizes={"k": 4}).to_bytes()
    tensors, meta = weights.read_weights_bytes(data)
    last = max(k for k in tensors if k.endswith("bias"))
    tensors[last] = tensors[last] + 1  # every output neuron off by one
    broken = nclang.load(weights.encode(tensors, meta))
    result = nclang.test(prog, broken, examples=30, seed=1)
    assert not result.ok and result.counterexample is not None
    ce = result.counterexample.to_json()
    assert ce["expected"] == nclang.run(prog, ce["input"], sizes={"k": 4})
    assert ce["expected"] != ce["got"]


def test_test_refuses_a_network_of_another_signature():
    with pytest.raises(nclang.NclError) as err:
        nclang.test(BFS, nclang.compile(ADD, sizes={"k": 4}))
    assert "<compiled add>:1:1: error: the network takes and returns" in str(err.value)


_PROG = nclang.check(ADD)
_NET = nclang.compile(_PROG, sizes={"k": 6})


@settings(max_examples=25, deadline=None)
@given(nclang.testing.inputs(_PROG, {"k": 6}))
def test_testing_inputs_draws_json_inputs_the_interpreter_and_the_network_agree_on(x):
    assert set(x) == {"a", "b"}
    assert _NET.run(x) == nclang.run(_PROG, x, sizes={"k": 6}) == {"s": x["a"] + x["b"]}


def test_testing_vocabulary_is_the_programs_tokens_first():
    src = ('program f(tokens: seq[token]) -> seq[bool] {\n'
           '    r[i] = tokens[i] == "x"\n    return r\n}\n')
    assert nclang.testing.vocabulary(src)[0] == "x"
