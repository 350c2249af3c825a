"""`nclang compile`, `exec` and `inspect`: a compiled file runs to what `nclang run` prints, the
same source and options give the same bytes, compile never imports torch, and broken weight
files or inputs give one-line errors, never a traceback."""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nclang.compiler import cli
from test_runtime import _edit_metadata, write_parity

REPO = Path(__file__).resolve().parent.parent
NCLANG = shutil.which("nclang")


def _has_mlp_target() -> bool:
    try:
        return importlib.util.find_spec("nclang.compiler.targets.mlp") is not None
    except ModuleNotFoundError:
        return False


needs_target = pytest.mark.skipif(
    not _has_mlp_target(), reason="nclang.compiler.targets.mlp (the MLP target) is not present")
needs_script = pytest.mark.skipif(NCLANG is None, reason="the nclang console script is missing")

ERROR_LINE = re.compile(r"^(.+?):(\d+):(\d+): error: (.*)$", re.M)


@pytest.fixture
def nclang(capsys, monkeypatch):
    """Run the CLI in this process (torch is imported once for the whole session):
    nclang(*args, stdin=None) -> (status, stdout, stderr)."""
    def run(*args, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err
    return run


def one_error(status: int, err: str, file=None, contains: str = "") -> str:
    assert status == 1, err
    assert "Traceback" not in err
    errors = ERROR_LINE.findall(err)
    assert len(errors) == 1, err
    (where, line, col, message) = errors[0]
    if file is not None:
        assert (where, line, col) == (str(file), "1", "1"), err
    assert contains in message, err
    return message


def stdlib_examples() -> list[tuple[str, str, list[str]]]:
    """(program, input file, size options) from each stdlib/bits header's `Example:` line."""
    found = []
    for path in sorted((REPO / "stdlib" / "bits").glob("*.ncl")):
        m = re.search(r"^// Example: nclang run (\S+) --input (\S+)(.*)$", path.read_text(), re.M)
        assert m, f"{path} has no Example line"
        found.append((m.group(1), m.group(2), shlex.split(m.group(3))))
    return found


EXAMPLES = stdlib_examples()


# ---------------------------------------------------------------- compile → exec = run

@needs_target
@pytest.mark.parametrize("program,inp,sizes", EXAMPLES, ids=[Path(e[0]).stem for e in EXAMPLES])
def test_compiled_stdlib_example_prints_what_run_prints(tmp_path, nclang, monkeypatch, program,
                                                       inp, sizes):
    monkeypatch.chdir(REPO)
    status, expected, err = nclang("run", program, "--input", inp, *sizes)
    assert status == 0, err
    weights = tmp_path / "w.safetensors"
    status, _, err = nclang("compile", program, *sizes, "-o", weights)
    assert status == 0, err
    status, got, err = nclang("exec", weights, "--input", inp)
    assert status == 0, err
    assert got == expected


@needs_target
@needs_script
def test_done_when_add_compiles_and_execs_to_the_sum(tmp_path):
    command = ("nclang compile {repo}/stdlib/bits/add.ncl --size k=32 -o add.safetensors && "
               "echo '{{\"a\": 7, \"b\": 9}}' | nclang exec add.safetensors --input -")
    proc = subprocess.run(["bash", "-c", command.format(repo=REPO)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == '{"s": 16}\n'


@needs_target
def test_exec_runs_a_json_lines_batch_in_order(tmp_path, nclang):
    weights = tmp_path / "add.safetensors"
    assert nclang("compile", REPO / "stdlib/bits/add.ncl", "--size", "k=8",
                "-o", weights)[0] == 0
    pairs = [(0, 0), (255, 255), (13, 200), (1, 254)]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"a": a, "b": b}) + "\n" for a, b in pairs))
    status, out, err = nclang("exec", weights, "-i", inp)
    assert status == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [{"s": a + b} for a, b in pairs]


@needs_target
def test_exec_float64_gives_the_same_results(tmp_path, nclang):
    weights = tmp_path / "m.safetensors"
    assert nclang("compile", REPO / "stdlib/bits/multiply.ncl", "--size", "k=6",
                "-o", weights)[0] == 0
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"a": a, "b": 63 - a}) + "\n" for a in range(0, 64, 9)))
    results = [nclang("exec", weights, "-i", inp, "--dtype", dtype)
               for dtype in ("float32", "float64")]
    assert [r[0] for r in results] == [0, 0], results
    assert results[0][1] == results[1][1]
    assert [json.loads(x)["acc"] for x in results[1][1].splitlines()] == \
        [a * (63 - a) for a in range(0, 64, 9)]


@needs_target
@pytest.mark.parametrize("activation", ["relu", "step"])
def test_step_and_relu_files_both_run(tmp_path, nclang, activation):
    weights = tmp_path / "p.safetensors"
    assert nclang("compile", REPO / "stdlib/bits/parity.ncl", "--size", "k=5",
                "--activation", activation, "-o", weights)[0] == 0
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"x": x}) + "\n" for x in range(32)))
    status, out, err = nclang("exec", weights, "-i", inp)
    assert status == 0, err
    assert [json.loads(x)["result"] for x in out.splitlines()] == \
        [bin(x).count("1") % 2 == 1 for x in range(32)]


# ---------------------------------------------------------------- compile: the file

@needs_target
@needs_script
def test_compiling_twice_gives_the_same_bytes(tmp_path):
    files = []
    for seed, folder in (("1", REPO), ("2", tmp_path)):
        out = tmp_path / f"add{seed}.safetensors"
        proc = subprocess.run([NCLANG, "compile", str(REPO / "stdlib/bits/add.ncl"), "--size",
                               "k=16", "-o", str(out)], cwd=folder, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        files.append(out.read_bytes())
    assert files[0] == files[1]


@needs_target
def test_compile_writes_the_documented_metadata(tmp_path, nclang):
    from nclang.compiler.weights import read_weights
    import hashlib
    weights = tmp_path / "add.safetensors"
    assert nclang("compile", REPO / "stdlib/bits/add.ncl", "--size", "k=8",
                "-o", weights)[0] == 0
    tensors, meta = read_weights(weights)
    assert meta["program"] == "add" and meta["target"] == "mlp"
    assert meta["source_sha256"] == hashlib.sha256(
        (REPO / "stdlib/bits/add.ncl").read_bytes()).hexdigest()
    assert meta["options"] == {"target": "mlp", "sizes": {"k": 8}, "activation": "relu",
                               "dtype": "float32"}
    assert meta["architecture"]["family"] == "mlp"
    assert meta["encodings"]["family"] == "bits"
    assert [e["name"] for e in meta["encodings"]["inputs"]] == ["a", "b"]
    assert meta["analysis"]["cost"]["class"] == "NC1"
    assert "summary" in meta["analysis"]["ranges"]
    assert sorted(os.listdir(tmp_path)) == ["add.safetensors"]


def test_compile_and_inspect_do_not_import_torch(tmp_path):
    write_parity(tmp_path / "hand.safetensors")
    code = (
        "import sys\n"
        "from nclang.compiler.cli import main\n"
        f"assert main(['inspect', {str(tmp_path / 'hand.safetensors')!r}]) == 0\n"
        f"status = main(['compile', {str(REPO / 'stdlib/bits/parity.ncl')!r}, '--size', 'k=4',"
        f" '-o', {str(tmp_path / 'p.safetensors')!r}])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        # without the target the compile stops at the import of nclang.compiler.targets; torch must
        # still not have been imported on the way there
        f"assert status == 0 or {not _has_mlp_target()!r}, status\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr


def test_compile_without_a_needed_size_asks_for_it(tmp_path, nclang):
    status, _, err = nclang("compile", REPO / "stdlib/bits/add.ncl",
                          "-o", tmp_path / "a.safetensors")
    assert status == 1 and "Traceback" not in err
    assert "size k is not fixed: pass --size k=N" in err
    assert not (tmp_path / "a.safetensors").exists()


def test_compile_of_a_graph_program_infers_the_gnn_target(tmp_path, nclang):
    status, _, err = nclang("compile", REPO / "stdlib/graph/bfs.ncl",
                          "-o", tmp_path / "b.safetensors")
    assert status == 0 and "Traceback" not in err
    assert (tmp_path / "b.safetensors").exists()


def test_compile_with_a_target_that_does_not_fit_the_program(tmp_path, nclang):
    status, _, err = nclang("compile", REPO / "stdlib/graph/bfs.ncl", "--target", "mlp",
                          "-o", tmp_path / "b.safetensors")
    assert status == 1 and "Traceback" not in err
    assert "the mlp target compiles bits programs; 'bfs' is a graph program" in err


@needs_target
def test_compile_refuses_float32_where_it_is_not_exact_and_float64_runs_it(tmp_path, nclang):
    prog = tmp_path / "cubes.ncl"
    prog.write_text("program cubes(x: bits[k]) -> int {\n"
                    "    return sum(i * i * i for i in range(k) if x[i])\n}\n")
    weights = tmp_path / "c.safetensors"
    status, _, err = nclang("compile", prog, "--size", "k=70", "-o", weights)
    assert status == 1 and "Traceback" not in err
    assert "passes 2^24 at k = 70" in err and "float64" in err
    assert not weights.exists()
    status, _, err = nclang("compile", prog, "--size", "k=70", "--dtype", "float64", "-o", weights)
    assert status == 0, err
    x = (1 << 69) | (1 << 68) | 1
    status, out, err = nclang("exec", weights, "-i", "-", stdin=json.dumps({"x": x}))
    assert status == 0, err
    assert json.loads(out) == {"result": 69 ** 3 + 68 ** 3}
    status, _, err = nclang("exec", weights, "-i", "-", "--dtype", "float32",
                            stdin=json.dumps({"x": x}))
    assert status == 2 and "float64" in err


def test_compile_size_the_program_lacks_is_a_usage_error(tmp_path, nclang):
    status, _, err = nclang("compile", REPO / "stdlib/bits/add.ncl", "--size", "n=3",
                          "-o", tmp_path / "a.safetensors")
    assert status == 2 and "no size variable n" in err


# ---------------------------------------------------------------- exec: errors

def test_exec_of_a_truncated_file_is_one_error_line(tmp_path, nclang):
    weights = write_parity(tmp_path / "p.safetensors")
    weights.write_bytes(weights.read_bytes()[:100])
    status, _, err = nclang("exec", weights, "-i", "-", stdin='{"x": 1}')
    one_error(status, err, weights, "truncated")


def test_exec_of_edited_metadata_is_one_error_line(tmp_path, nclang):
    weights = write_parity(tmp_path / "p.safetensors")
    _edit_metadata(weights, "architecture", lambda a: a["layers"][0].update({"in": 4}))
    status, _, err = nclang("exec", weights, "-i", "-", stdin='{"x": 1}')
    one_error(status, err, weights, "has shape (3, 3), architecture layers[0] says (3, 4)")


def test_exec_of_a_missing_file_is_one_error_line(tmp_path, nclang):
    status, _, err = nclang("exec", tmp_path / "nope.safetensors", "-i", "-",
                          stdin='{"x": 1}')
    one_error(status, err, tmp_path / "nope.safetensors", "cannot read")


def test_exec_reports_bad_input_like_run(tmp_path, nclang, monkeypatch):
    weights = write_parity(tmp_path / "p.safetensors")
    monkeypatch.chdir(tmp_path)
    Path("in.jsonl").write_text('{"x": 1}\n{"x": 9}\n{"y": 1}\n')
    status, out, err = nclang("exec", weights, "-i", "in.jsonl")
    assert status == 1 and out == "" and "Traceback" not in err
    errors = ERROR_LINE.findall(err)
    assert [(e[0], e[1]) for e in errors] == [("in.jsonl", "2"), ("in.jsonl", "3"),
                                              ("in.jsonl", "3")]
    assert "x: 9 does not fit in bits[k] with k = 3" in errors[0][3]
    assert any("unknown field 'y'" in e[3] for e in errors[1:])


def test_exec_of_a_network_that_is_not_exact_exits_3_naming_the_output(tmp_path, nclang):
    weights = write_parity(tmp_path / "p.safetensors", perturb=0.5)
    status, out, err = nclang("exec", weights, "-i", "-", stdin='{"x": 1}')
    assert status == 3 and out == "" and "Traceback" not in err
    assert "output result is 1.5, not 0 or 1" in err


def test_exec_on_an_unknown_device_is_a_usage_error(tmp_path, nclang):
    weights = write_parity(tmp_path / "p.safetensors")
    status, _, err = nclang("exec", weights, "-i", "-", "--device", "tpu9",
                          stdin='{"x": 1}')
    assert status == 2 and "argument --device" in err


def test_exec_writes_an_output_file(tmp_path, nclang):
    weights = write_parity(tmp_path / "p.safetensors")
    out = tmp_path / "out.jsonl"
    status, stdout, err = nclang("exec", weights, "-i", "-", "-o", out,
                               stdin='{"x": 1}\n{"x": 3}\n')
    assert status == 0 and stdout == "", err
    assert out.read_text() == '{"result": true}\n{"result": false}\n'


# ---------------------------------------------------------------- inspect

def test_inspect_prints_program_layers_and_parameter_counts(tmp_path, nclang):
    weights = write_parity(tmp_path / "p.safetensors")
    status, out, err = nclang("inspect", weights)
    assert status == 0, err
    assert out.startswith("parity: mlp network (nclang-weights/2)\n")
    assert "  sizes:       k=3\n" in out
    assert "  depth:       3 layers\n" in out
    assert "  widths:      3 -> 3 -> 2 -> 1\n" in out
    from safetensors.numpy import load_file
    tensors = load_file(str(weights))
    total = sum(t.size for t in tensors.values())
    nonzero = sum(int(np.count_nonzero(t)) for t in tensors.values())
    assert f"  parameters:  {total} ({nonzero} nonzero)\n" in out


def test_inspect_json_has_the_layer_list(tmp_path, nclang):
    weights = write_parity(tmp_path / "p.safetensors", act="step")
    status, out, err = nclang("inspect", weights, "--json")
    assert status == 0, err
    doc = json.loads(out)
    assert doc["program"] == "parity" and doc["target"] == "mlp"
    assert doc["activation"] == "step" and doc["sizes"] == {"k": 3}
    assert doc["depth"] == len(doc["layers"])
    assert [(L["in"], L["out"]) for L in doc["layers"]] == \
        list(zip(doc["widths"], doc["widths"][1:]))
    assert doc["parameters"] == sum(L["parameters"] for L in doc["layers"])


def test_inspect_plot_writes_a_png(tmp_path, nclang):
    weights = write_parity(tmp_path / "p.safetensors", k=8)
    png = tmp_path / "layers.png"
    status, out, err = nclang("inspect", weights, "--plot", png)
    assert status == 0, err
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000
    assert sorted(os.listdir(tmp_path)) == ["layers.png", "p.safetensors"]


def test_inspect_of_a_bad_file_is_one_error_line(tmp_path, nclang):
    weights = tmp_path / "junk.safetensors"
    weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    status, _, err = nclang("inspect", weights)
    one_error(status, err, weights, "truncated")


# ---------------------------------------------------------------- docs/weights.md

def test_weights_doc_loads_and_runs_a_file_without_nclang(tmp_path, monkeypatch):
    """The doc's snippet, run as written on a compiled add (or, without the target, a hand-made
    parity file), in a process that never imports nclang."""
    text = (REPO / "docs" / "weights.md").read_text()
    snippet = re.search(r"## Loading without nclang.*?```python\n(.*?)```", text, re.S).group(1)
    if _has_mlp_target():
        from nclang.compiler.driver import compile_file
        compile_file(REPO / "stdlib/bits/add.ncl", tmp_path / "add.safetensors", sizes={"k": 8})
        expected = "{'s': 16}"
    else:
        write_parity(tmp_path / "add.safetensors")
        snippet = snippet.replace('{"a": 7, "b": 9}', '{"x": 7}')
        expected = "{'result': 1}"
    guard = ("import sys\n"
             "class _NoNclang:\n"
             "    def find_spec(self, name, *args):\n"
             "        if name.split('.')[0] == 'nclang':\n"
             "            raise ImportError('the snippet must not need nclang')\n"
             "sys.meta_path.insert(0, _NoNclang())\n")
    proc = subprocess.run([sys.executable, "-c", guard + snippet], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == expected
