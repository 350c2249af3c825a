"""`nclang train`, run in-process (`nclang.compiler.cli.main`): options, errors, and trained files
that `exec`, `test` and `inspect` take like any weight file."""
from __future__ import annotations

import json
import re

import pytest

from nclang.compiler import cli
from nclang.compiler.weights import read_weights

BFS = """\
program bfs(g: graph, source: node[bool]) -> node[bool] {
    reached = source
    repeat n - 1 until stable {
        reached[v] = reached[v] or any(reached[u] for u in in(v))
    }
    return reached
}
"""

PARITY = """\
program parity(x: bits[k]) -> bool {
    return reduce(xor, x)
}
"""

ERROR = re.compile(r"^(.+?):(\d+):(\d+): error: (.*)$", re.M)
QUICK = ["--steps", "3", "--examples", "16", "--train-sizes", "4..5"]


@pytest.fixture
def bfs(tmp_path):
    path = tmp_path / "bfs.ncl"
    path.write_text(BFS)
    return path


def test_train_writes_a_file_that_exec_test_and_inspect_take(tmp_path, bfs, capsys):
    out = tmp_path / "bfs.trained.safetensors"
    assert cli.main(["train", str(bfs), "-o", str(out), *QUICK, "--seed", "1"]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("trained bfs (gnn, 5 parameters, init random) for 3 steps on 16 "
                              "examples") and "train accuracy" in summary
    _, meta = read_weights(out)
    assert meta["training"]["seed"] == 1 and meta["training"]["steps"] == 3
    assert meta["encodings"]["readout"] == "nearest"

    inp = tmp_path / "in.json"
    inp.write_text(json.dumps({"n": 3, "edges": [[0, 1]], "source": [True, False, False]}))
    assert cli.main(["exec", str(out), "-i", str(inp)]) == 0
    got = json.loads(capsys.readouterr().out)
    assert len(got["reached"]) == 3 and all(isinstance(x, bool) for x in got["reached"])
    assert cli.main(["inspect", str(out)]) == 0
    assert "bfs: gnn network" in capsys.readouterr().out
    # a trained net may well be wrong: test then reports a disagreement (3), or agreement (0)
    assert cli.main(["test", str(bfs), "--weights", str(out), "--examples", "5",
                     "--max-n", "4", "--seed", "0"]) in (0, 3)


def test_compiled_init_without_noise_starts_exact(tmp_path, bfs, capsys):
    out = tmp_path / "bfs.safetensors"
    assert cli.main(["train", str(bfs), "-o", str(out), "--init", "compiled", "--noise", "0",
                     "--steps", "1", "--lr", "1e-6", "--examples", "16"]) == 0
    assert "train accuracy 100.0% exact" in capsys.readouterr().out
    assert cli.main(["test", str(bfs), "--weights", str(out), "--examples", "20",
                     "--seed", "0"]) == 0


def test_bits_programs_train_at_a_size(tmp_path, capsys):
    path = tmp_path / "parity.ncl"
    path.write_text(PARITY)
    out = tmp_path / "parity.safetensors"
    assert cli.main(["train", str(path), "-o", str(out), "--size", "k=3", "--steps", "2",
                     "--examples", "8"]) == 0
    assert read_weights(out)[1]["training"]["sizes"] == {"k": 3}
    capsys.readouterr()
    # without k the compile step says which size is missing
    assert cli.main(["train", str(path), "-o", str(out), "--steps", "1"]) == 1
    assert ERROR.search(capsys.readouterr().err)


def test_a_flagged_mlp_output_trains_from_its_compiled_init_exactly(tmp_path, capsys):
    # a conditional max is -inf on an empty selection: two channels (flag, value) per element
    path = tmp_path / "top.ncl"
    path.write_text("program top(x: bits[k]) -> int {\n"
                    "    return max(i for i in range(k) if x[i])\n}\n")
    out = tmp_path / "top.safetensors"
    assert cli.main(["train", str(path), "-o", str(out), "--size", "k=4", "--init", "compiled",
                     "--noise", "0", "--steps", "1", "--lr", "1e-6", "--examples", "16"]) == 0
    assert "train accuracy 100.0% exact" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--train-sizes", "5..2"], "--train-sizes"),
    (["--train-sizes", "x"], "--train-sizes"),
    (["--families", "ers"], "did you mean 'er'"),
    (["--noise", "0.1"], "--noise: applies with --init compiled"),
    (["--lr", "0"], "--lr"),
    (["--steps", "-3"], "--steps"),
    (["--init", "zeros"], "--init"),
], ids=["range-order", "range-syntax", "family", "noise", "lr", "steps", "init"])
def test_bad_options_are_usage_errors(tmp_path, bfs, capsys, args, message):
    out = tmp_path / "x.safetensors"
    assert cli.main(["train", str(bfs), "-o", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_hints_on_a_program_without_a_loop_is_an_error_at_the_program(tmp_path, capsys):
    path = tmp_path / "parity.ncl"
    path.write_text(PARITY)
    out = tmp_path / "parity.safetensors"
    assert cli.main(["train", str(path), "-o", str(out), "--size", "k=3", "--hints",
                     "--steps", "1", "--examples", "4"]) == 1
    err = capsys.readouterr().err
    m = ERROR.search(err)
    assert m and m.group(1) == str(path) and (m.group(2), m.group(3)) == ("1", "9")
    assert "trace supervision" in m.group(4)
    assert not out.exists()


def test_hints_train(tmp_path, bfs, capsys):
    out = tmp_path / "bfs.safetensors"
    assert cli.main(["train", str(bfs), "-o", str(out), *QUICK, "--hints", "0.5"]) == 0
    assert read_weights(out)[1]["training"]["hints"] == 0.5


def test_parser_defaults_are_the_protocols():
    # the defaults come from the one protocol (`config.default_train`) that `gap` uses too;
    # tests/test_train_defaults.py checks train against gap end to end
    from nclang.compiler.training.config import default_train
    args = cli._parser().parse_args(["train", "p.ncl", "-o", "p.safetensors"])
    assert cli.train.train_config(args) == default_train()
