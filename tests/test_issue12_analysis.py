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
    from nclang.dsl.checker import _int_mul
    from nclang.dsl.types import Int
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


# ---------------------------------------------------------------- check --target and the table

TARGET_COLUMNS = ("mlp", "gnn", "transformer")


def _target_table() -> list[tuple[str, str, str]]:
    """(example path, target, cell) for every cell of docs/language.md's "What each target
    compiles" table."""
    text = (ROOT / "docs/language.md").read_text()
    section = text.split("## What each target compiles", 1)[1].split("\n## ", 1)[0]
    cells = []
    for line in section.splitlines():
        if not line.startswith("| ") or "examples/targets/" not in line:
            continue
        row = [c.strip() for c in line.strip().strip("|").split("|")]
        example = row[1].strip("`")
        cells += [(example, t, c) for t, c in zip(TARGET_COLUMNS, row[2:])]
    return cells


TABLE = _target_table()


def test_the_target_table_lists_every_example_and_both_verdicts():
    examples = {e for e, _, _ in TABLE}
    assert examples == {f"examples/targets/{p.name}"
                        for p in (ROOT / "examples/targets").glob("*.ncl")}
    verdicts = {c.split(":")[0] for _, _, c in TABLE}
    assert {"compiles", "refused", "—"} <= verdicts


@pytest.mark.parametrize("example,target,cell", TABLE,
                         ids=[f"{Path(e).stem}-{t}" for e, t, _ in TABLE])
def test_check_target_agrees_with_the_table(tmp_path, example, target, cell):
    path = ROOT / example
    text = path.read_text()
    sizes = ["--size", "k=4"] if "bits[" in text else ["--size", "n=8"] if "seq[" in text else []
    status, _, err = cli("check", "--target", target, path)
    found = [h for h in headers(err) if h[3] == "error"]
    if cell == "compiles":
        assert status == 0 and not found, err
        # and the network it builds agrees with the interpreter
        status, out, err = cli("test", path, "--target", target, "--examples", "10",
                               "--seed", "0", *(sizes if "k=4" in sizes else []))
        assert status == 0, out + err
    elif cell == "—":
        assert status == 1 and found, err
        assert "wrong-target" in cli("check", "--json", "--target", target, path)[1]
    else:
        reason = cell.split(":", 1)[1].strip().strip('"')
        assert cell.startswith("refused:"), cell
        assert status == 1, err
        # located: the user's file, a line and column inside the program, and the reason
        assert any(h[0] == str(path) and h[1] > 1 and reason in h[4] for h in found), err
        # the refusal compile reports is the same one
        status, _, cerr = cli("compile", path, "--target", target, *sizes,
                              "-o", tmp_path / "out.safetensors")
        assert status == 1 and reason in cerr, cerr
        assert not (tmp_path / "out.safetensors").exists()


def test_check_without_target_does_not_try_a_target():
    status, _, err = cli("check", ROOT / "examples/targets/scan_seq.ncl")
    assert status == 0, err


# ---------------------------------------------------------------- flat or / and folds

FOLDS = {
    "reduce_or": "program p(x: bits[k]) -> bool {\n    return reduce(or, x)\n}\n",
    "reduce_and": "program p(x: bits[k]) -> bool {\n    return reduce(and, x)\n}\n",
    "scan_or": "program p(x: bits[k]) -> bits[k] {\n    return scan(or, x)\n}\n",
    "scan_and": "program p(x: bits[k]) -> bits[k] {\n    return scan(and, x)\n}\n",
    # a computed operand: the gate reads gates
    "or_of_ands": ("program p(a: bits[k], b: bits[k]) -> bool {\n"
                   "    c[i] = a[i] and b[i]\n    return reduce(or, c)\n}\n"),
}


def _checked(text):
    from nclang.dsl.checker import check_source
    (c,) = check_source(text, "p.ncl")
    return c


@pytest.mark.parametrize("name", sorted(FOLDS))
def test_an_or_and_fold_is_ac0_at_constant_depth(name):
    # reduce(or, x) was NC1 with ceil(log2(k)) + 1 layers; one threshold gate computes it
    from nclang.compiler.analysis import analyse
    a = analyse(_checked(FOLDS[name]))
    assert a.to_json()["class"] == "AC0"
    gates = 2 if name == "or_of_ands" else 1
    assert a.layers == 1 + gates
    assert a.depth_threshold == gates


@pytest.mark.parametrize("act", ["relu", "step"])
@pytest.mark.parametrize("name", sorted(FOLDS))
def test_an_or_and_fold_compiles_exactly_at_constant_depth(name, act):
    import itertools

    import numpy as np

    from nclang.compiler.targets.mlp import compile_mlp
    from nclang.dsl import interpreter
    from nclang.dsl.values import Instance
    from tests.test_target_mlp import forward
    checked = _checked(FOLDS[name])
    params = [p.name for p in checked.program.params]
    for k in range(1, 7):
        art = compile_mlp(checked, {"k": k}, act)
        if act == "relu":
            assert art.architecture["natural_depth"] == (3 if name == "or_of_ands" else 2)
        rows, wants = [], []
        for vals in itertools.product(range(2 ** k), repeat=len(params)):
            values = {p: np.array([(v >> i) & 1 for i in range(k)], bool)
                      for p, v in zip(params, vals)}
            x = np.zeros(art.architecture["layers"][0]["in"], np.float32)
            for e in art.encodings["inputs"]:
                x[e["channels"][0]:e["channels"][1]] = values[e["name"]]
            rows.append(x)
            wants.append(interpreter.run(checked, Instance({"k": k}, values)))
        Y = forward(art, np.stack(rows))
        (out,) = art.encodings["outputs"]
        for y, want in zip(Y, wants):
            w = np.asarray(want[out["name"]], np.float64).reshape(-1)
            assert np.array_equal(y[out["channels"][0]:out["channels"][1]], w), (k, y, w)


def test_check_target_refuses_a_size_the_program_does_not_have():
    status, _, err = cli("check", "--target", "mlp", "--size", "n=3", ROOT / "stdlib/bits/add.ncl")
    assert status == 1 and "no size variable n" in err, err
