"""`nclang check --target T` reports every construct the target refuses, not only the first
(issue 12): one `FILE:LINE:COL: error: ...` line each, in source order, exit 1; the refused
constructs are stood in for by constants so the rest of the program is still tried."""
from __future__ import annotations

import json
import re

import pytest

from tests.cli_inprocess import cli

TRANSFORMER = """program two(tokens: seq[token]) -> (bool, seq[int], bool) {
    b[i] = tokens[i] == "a"
    x = reduce(xor, b)
    p[i] = sum(i for j in positions if tokens[j] == "a")
    return x, p, reduce(xor, b)
}
"""

MLP = """program two(v: vec[int[0..5], k], x: bits[k]) -> (int, int, bool) {
    a = max(v[i] for i in range(k) if x[i])
    b = min(v[i] for i in range(k) if x[i])
    return a + 1, b - 1, reduce(or, x)
}
"""

CASES = {
    "transformer": (TRANSFORMER, [(3, 9), (4, 12), (5, 18)]),
    "mlp": (MLP, [(2, 9), (3, 9)]),
}

ERROR = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+)$", re.M)


@pytest.mark.parametrize("sizes", [[], ["--size", "k=5"]], ids=["open", "given"])
@pytest.mark.parametrize("target", sorted(CASES))
def test_check_target_reports_every_refusal(target, sizes, tmp_path):
    text, where = CASES[target]
    path = tmp_path / "p.ncl"
    path.write_text(text)
    if target == "transformer" and sizes:
        sizes = ["--size", "n=5"]
    status, _, err = cli("check", "--target", target, *sizes, path)
    assert status == 1
    found = [(int(m["line"]), int(m["col"])) for m in ERROR.finditer(err)]
    assert found == where, err
    assert all(f"the {target} target cannot" in m["msg"] for m in ERROR.finditer(err))


@pytest.mark.parametrize("target", sorted(CASES))
def test_check_target_json_lists_every_refusal(target, tmp_path):
    text, where = CASES[target]
    path = tmp_path / "p.ncl"
    path.write_text(text)
    status, out, _ = cli("check", "--json", "--target", target, path)
    assert status == 1
    diags = json.loads(out)["diagnostics"]
    assert [(d["line"], d["col"]) for d in diags] == where
    assert {d["code"] for d in diags} == {f"{target}-unsupported"}


def test_compile_still_stops_at_the_first_refusal(tmp_path):
    # compile's refusal is unchanged: the first construct, nothing written
    path = tmp_path / "p.ncl"
    path.write_text(TRANSFORMER)
    out = tmp_path / "p.safetensors"
    status, _, err = cli("compile", path, "-o", out, "--size", "n=4")
    assert status == 1 and not out.exists()
    assert [(int(m["line"]), int(m["col"])) for m in ERROR.finditer(err)] == [(3, 9)]
