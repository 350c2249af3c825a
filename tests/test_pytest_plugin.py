"""The pytest plugin (nclang/pytest_plugin.py, `pytest --nclang DIR`): it collects one item per
program of every `.ncl` file under DIR (and none without the option), the stdlib's items pass,
a perturbed weight file fails its item with a shrunk counterexample that really is one (the
interpreter and the perturbed network disagree on it) and a `nclang test` command that repeats
the failure, a file's `// nclang-test:` header sets its sizes and a bad one is a located error,
and loading the plugin imports neither hypothesis nor torch.

Each case runs pytest in a subprocess from the repository root, as a user would, at small sizes
and few examples; the whole stdlib runs in a slow test, the fast ones run a program of each
family and collect (without compiling) every program."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from cli_inprocess import cli
from nclang import stdlib

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--nclang-examples", "8", "--nclang-max-n", "4"]
ONE_PER_FAMILY = ["stdlib/bits/parity.ncl", "stdlib/graph/bfs.ncl", "stdlib/seq/reverse.ncl"]


def _pytest(tmp_path, *args, timeout=600):
    """Run pytest on `args` from the repository root; (exit status, output, {item name:
    (outcome, message, properties)}) from its JUnit XML."""
    report = tmp_path / "report.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-p", "no:xdist", f"--junitxml={report}", "-q", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    cases = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            outcome, message = "passed", ""
            for tag in ("failure", "error", "skipped"):
                found = case.find(tag)
                if found is not None:
                    outcome, message = tag, found.text or found.get("message") or ""
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            cases[case.get("name")] = (outcome, message, props)
    return done.returncode, done.stdout + done.stderr, cases



def test_one_item_per_stdlib_program_and_nothing_else(tmp_path):
    status, out, _ = _pytest(tmp_path, "--nclang", "stdlib/", "--collect-only")
    assert status == 0, out
    items = sorted(line.strip() for line in out.splitlines() if ".ncl::" in line)
    assert items == sorted(f"stdlib/{n}.ncl::{n.split('/')[1]}" for n in stdlib.names())
    # the folders named replace the configured testpaths: no test of tests/ is collected
    assert not [line for line in out.splitlines() if line.startswith("tests/")]


def test_without_the_option_no_ncl_file_is_collected(tmp_path):
    status, out, _ = _pytest(tmp_path, "stdlib/", "--collect-only")
    assert status == 5, out  # pytest's "no tests collected"
    assert ".ncl::" not in out


def test_a_program_of_each_family_passes(tmp_path):
    status, out, cases = _pytest(tmp_path, *[a for f in ONE_PER_FAMILY for a in ("--nclang", f)],
                                 *SMALL)
    assert status == 0, out
    assert sorted(cases) == sorted(Path(f).stem for f in ONE_PER_FAMILY)
    for outcome, _, props in cases.values():
        assert outcome == "passed" and props["nclang"].startswith("ok: ")


@pytest.mark.slow
def test_every_stdlib_program_passes(tmp_path):
    status, out, cases = _pytest(tmp_path, "--nclang", "stdlib/", *SMALL)
    assert status == 0, out
    assert len(cases) == len(stdlib.names())
    assert {outcome for outcome, _, _ in cases.values()} == {"passed"}


def _perturbed_bfs(folder: Path) -> Path:
    import nclang
    from nclang.compiler.weights import read_weights, write_weights
    good = nclang.compile(stdlib.path("graph/bfs")).save(folder / "good.safetensors")
    tensors, meta = read_weights(good)
    # the last stage writes the carried state: a changed bias shows in the result
    key = sorted(k for k in tensors if k.endswith("bias"))[-1]
    bad = dict(tensors)
    bad[key] = tensors[key] + np.asarray(0.5, tensors[key].dtype)
    weights = folder / "weights"
    weights.mkdir()
    write_weights(weights / "bfs.safetensors", bad, meta)
    return weights


def test_a_perturbed_weight_file_fails_with_a_shrunk_counterexample(tmp_path):
    import nclang
    weights = _perturbed_bfs(tmp_path)
    status, out, cases = _pytest(tmp_path, "--nclang", "stdlib/graph/bfs.ncl",
                                 "--nclang-weights", weights, "--nclang-seed", "2",
                                 "--nclang-examples", "40")
    assert status == 1, out
    ((outcome, message, props),) = cases.values()
    assert outcome == "failure"
    assert "disagrees with the interpreter on reached (shrunk counterexample" in message
    found = json.loads(props["counterexample"])
    # shrunk: hypothesis took it down to a graph of a node or two and no edges (40 drawn
    # inputs have up to 8 nodes and edges)
    assert found["input"]["n"] <= 2 and found["input"]["edges"] == [], found
    # and it is a counterexample: the interpreter gives `expected`, the perturbed file not
    assert nclang.run(stdlib.path("graph/bfs"), found["input"]) == found["expected"]
    assert found["got"] != found["expected"]
    shown = [line.strip() for line in message.splitlines()]
    assert f"input:     {json.dumps(found['input'])}" in shown
    # the command it prints repeats the failure (nclang test's status 3: they disagree)
    (command,) = {line.removeprefix("reproduce: ") for line in shown
                  if line.startswith("reproduce: ")}
    words = shlex.split(command)
    assert words[:2] == ["nclang", "test"] and "--seed" in words
    assert cli(*words[1:])[0] == 3


def test_headers_set_a_files_and_a_programs_sizes_and_each_program_is_an_item(tmp_path):
    folder = tmp_path / "programs"
    folder.mkdir()
    (folder / "two.ncl").write_text(
        "// two programs at k = 3\n"
        "// nclang-test: --size k=3 --examples 5\n"
        "program low(x: bits[k]) -> bool {\n    return x[0]\n}\n\n"
        "// this one alone at k = 2\n"
        "// nclang-test: --size k=2\n"
        "program any_set(x: bits[k]) -> bool {\n    return any(x[i] for i in range(k))\n}\n")
    status, out, cases = _pytest(tmp_path, "--nclang", folder)
    assert status == 0, out
    assert sorted(cases) == ["any_set", "low"]
    assert cases["low"][2]["nclang"].startswith("ok: ") and "k=3" in cases["low"][2]["nclang"]
    assert cases["any_set"][2]["nclang"].startswith("ok: ")
    assert "k=2" in cases["any_set"][2]["nclang"]


def test_a_bad_header_is_one_located_error(tmp_path):
    folder = tmp_path / "programs"
    folder.mkdir()
    bad = folder / "bad.ncl"
    bad.write_text("// nclang-test: --size k=zero\nprogram p(x: bits[k]) -> bool {\n"
                   "    return x[0]\n}\n")
    status, out, _ = _pytest(tmp_path, "--nclang", folder)
    assert status != 0
    assert f"{bad}:1:4: error: nclang-test: argument --size: expected NAME=INT" in out, out


def test_loading_the_plugin_imports_neither_hypothesis_nor_torch():
    code = ("import sys, nclang.pytest_plugin; "
            "print([m for m in ('hypothesis', 'torch') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"
