"""Constant-depth min/max on the MLP (issue 12): `reduce(min, v)`, `reduce(max, v)` and an
unconditional `min`/`max` over a range compile, for 8 < k and k(k - 1) <= 1024, as all-pairs
comparisons, one AND per candidate and a select (3 layers whatever k), elsewhere as the tree of
ceil(log2 k) layers; the analysis' `layers` is the depth the target builds on each side of that
rule, the class is AC0 (constant threshold depth), and every network agrees with the
interpreter on the boundary inputs and on drawn ones."""
from __future__ import annotations

import random

import pytest

from nclang.compiler import ir
from nclang.compiler.analysis import analyse
from nclang.compiler.analysis.cost import extremum_layers, flat_extremum
from nclang.compiler.driver import Source, build_checked, compile_checked
from nclang.compiler.runtime import load
from nclang.compiler.testing import outputs_agree
from nclang.compiler.testing.boundary import boundary_disagreement
from nclang.dsl.checker import check_source
from nclang.dsl.interpreter import run as interpret
from nclang.dsl.jsonio import decode

PROGRAMS = {
    "reduce": """program r(v: vec[int[-5..9], k]) -> (int, int) {
    return reduce(min, v), reduce(max, v)
}
""",
    "aggregate": """program a(v: vec[int[0..7], k]) -> int {
    return max(v[i] for i in range(k)) - min(v[i] for i in range(k))
}
""",
}


def _build(name, k):
    text = PROGRAMS[name]
    (c,) = check_source(text, "p.ncl")
    artifact, _, _ = build_checked(Source("p.ncl", text.encode(), text), c, sizes={"k": k})
    return c, artifact


@pytest.mark.parametrize("k", [6, 9, 16, 32, 33])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_min_max_layers_equal_the_compiled_depth(name, k):
    c, artifact = _build(name, k)
    layers = ir.evaluate(analyse(c).layers, {"k": k})
    assert artifact.architecture["natural_depth"] == layers
    flat = flat_extremum(k)
    assert flat == (9 <= k <= 32)
    # the constant-depth form: 3 gates then the read-out, with or without the subtraction
    # (affine, fused); the tree: ceil(log2 k) gates
    assert layers == 1 + (3 if flat else (k - 1).bit_length())


def test_the_rule_as_a_formula_in_k():
    f = extremum_layers(sympy_k())
    assert [ir.evaluate(f, {"k": k}) for k in (2, 8, 9, 32, 33, 64)] == [1, 3, 3, 3, 6, 6]


def sympy_k():
    import sympy
    return sympy.Symbol("k", positive=True, integer=True)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_min_max_are_ac0(name):
    (c,) = check_source(PROGRAMS[name], "p.ncl")
    a = analyse(c)
    assert a.cls == "AC0" and not a.depth_threshold.free_symbols, a


@pytest.mark.parametrize("k", [9, 16])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_constant_depth_min_max_agree_with_the_interpreter(name, k, tmp_path):
    text = PROGRAMS[name]
    (c,) = check_source(text, "p.ncl")
    out = tmp_path / "p.safetensors"
    compile_checked(Source("p.ncl", text.encode(), text), c, out, sizes={"k": k})
    net = load(out)
    assert boundary_disagreement(c, net.run, {"k": k}) is None
    rng = random.Random(k)
    lo, hi = (-5, 9) if name == "reduce" else (0, 7)
    # ties everywhere (few distinct values) and all-distinct draws
    insts = [{"v": [rng.randint(lo, hi) for _ in range(k)]} for _ in range(40)]
    insts += [{"v": [rng.choice([lo, hi]) for _ in range(k)]} for _ in range(10)]
    insts += [{"v": [lo] * k}, {"v": [hi] * k}]
    insts = [decode(c, obj, {"k": k}, "drawn.json") for obj in insts]
    got = net.run(insts)
    for inst, out in zip(insts, got):
        assert not outputs_agree(c, interpret(c, inst), out), inst
