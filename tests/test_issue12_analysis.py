"""Regression tests for issue 12 (the analysis / checker / CLI-check share of it): each test names
the property that was broken and fails on the code before its fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_inprocess import cli, headers

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# ---------------------------------------------------------------- defect 5 leftovers

def test_test_with_max_n_beyond_the_compiled_n_blames_the_users_file():
    prog = ROOT / "stdlib/seq/reverse.ncl"
    status, out, err = cli("test", prog, "--size", "n=4", "--max-n", "8", "--examples", "5")
    assert status == 1, err
    found = headers(err)
    assert found and all(h[0] == str(prog) for h in found), err
    assert "--max-n 8" in err and "n = 4" in err


SENTINEL = """program p(g: graph, source: node[bool]) -> node[int] {
    dist[v] = 0 if source[v] else SENTINEL
    repeat n - 1 {
        dist[v] = min(dist[v], min(dist[u] + 1 for u in in(v)))
    }
    return dist
}
"""


@pytest.mark.parametrize("sentinel", ["n + n", "100 * n", "n * 100", "n * n", "2 * n * n"])
def test_a_size_sentinel_is_bounded_below_and_compiles_on_the_gnn(tmp_path, sentinel):
    # `100 * n` was typed plain `int` (unknown bounds, so possibly -inf) while `n + n` was int[2..]
    prog = write(tmp_path, "p.ncl", SENTINEL.replace("SENTINEL", sentinel))
    status, _, err = cli("compile", prog, "-o", tmp_path / "p.safetensors")
    assert status == 0, err


def test_size_products_have_the_bounds_their_signs_give():
    from dsl.checker import _int_mul
    from dsl.types import Int
    n = Int(1, None)
    assert _int_mul(Int(100, 100), n) == Int(100, None)
    assert _int_mul(n, n) == Int(1, None)
    assert _int_mul(Int(-3, -2), n) == Int(None, -2)
    assert _int_mul(Int(0, 3), n) == Int(0, None)
    assert _int_mul(Int(-1, 1), n) == Int(None, None)


def test_the_opposite_infinity_refusal_says_which_infinity_and_how_to_avoid_it(tmp_path):
    prog = write(tmp_path, "p.ncl", """program p(g: graph, x: node[int[-5..5]]) -> node[int] {
    d[v] = min(x[u] + n - n for u in in(v))
    return d
}
""")
    status, _, err = cli("compile", prog, "-o", tmp_path / "p.safetensors")
    assert status == 1, err
    assert "opposite infinity" not in err
    assert "-inf" in err and "give it bounds" in err
