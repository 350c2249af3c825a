"""The exact size evaluations agree: `nclang.dsl.sizes.eval_size` (on the AST), the checker's
ranges of sizes (on point intervals) and `nclang.compiler.formula` (on a weight file's text) all
round log2 by the one integer log2 of `nclang.dsl.sizes`, so a size means one number wherever it
is computed — including just past a power of two, where a float log2 is off by one."""
from __future__ import annotations

import math

import pytest

from nclang.compiler import formula
from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.checker.size_ranges import _size_value
from nclang.dsl.sizes import ceil_log2, eval_size, floor_log2

# formula.MAX_BITS bounds every value of a weight file's formula (2^62)
VALUES = sorted(set(range(1, 130)) | {2 ** k + d for k in range(1, formula.MAX_BITS)
                                      for d in (-1, 0, 1)})


def _rounded(func: str, arg: A.Expr) -> A.Expr:
    return A.Call(func, (A.Call("log2", (arg,)),))


@pytest.mark.parametrize("x", [1, 2, 3, 4, 5, 7, 8, 9, 1000])
def test_the_integer_log2_is_the_real_one_rounded_on_small_values(x):
    assert floor_log2(x) == math.floor(math.log2(x))
    assert ceil_log2(x) == math.ceil(math.log2(x))


def test_the_integer_log2_brackets_every_value_by_powers_of_two():
    for x in VALUES:
        assert 2 ** floor_log2(x) <= x < 2 ** (floor_log2(x) + 1)
        assert 2 ** (ceil_log2(x) - 1) < x <= 2 ** ceil_log2(x)


@pytest.mark.parametrize("func", ["ceil", "floor"])
def test_ast_formula_and_checker_round_log2_alike(func):
    expr = _rounded(func, A.Name("n"))
    for x in VALUES:
        exact = eval_size(expr, {"n": x})
        assert formula.eval_int(f"{func}(log2(n))", {"n": x}) == exact
        assert _size_value(expr, {"n": T.Int(x, x)}) == T.Int(exact, exact)
        assert exact == (ceil_log2(x) if func == "ceil" else floor_log2(x))


def test_log2_of_a_power_of_two_needs_no_rounding_anywhere():
    expr = A.Call("log2", (A.Name("n"),))
    for k in range(0, formula.MAX_BITS):
        assert eval_size(expr, {"n": 2 ** k}) == k
        assert formula.eval_int("log2(n)", {"n": 2 ** k}) == k
        assert _size_value(expr, {"n": T.Int(2 ** k, 2 ** k)}) == T.Int(k, k)


FOLD = """
def f(a: int[0..3], b: int[0..3]) -> int[0..3] {
    return max(a, b) if count(i for i in range(ceil(log2(9)))) == COUNT else max(a - b, 0)
}
program p(g: graph, s: node[int[0..3]]) -> int { return reduce(f, s) }
"""


def test_the_checkers_def_evaluator_sizes_a_constant_range_exactly():
    # the def is max (associative) when range(ceil(log2(9))) has its 4 elements, and a
    # clipped difference (not associative) otherwise: the associativity check tabulates it
    # through the def evaluator, so only the exact size lets the first through
    from nclang.dsl.checker import check_source
    from nclang.dsl.diagnostics import NclError
    check_source(FOLD.replace("COUNT", "4"), "p.ncl")
    with pytest.raises(NclError, match="not associative"):
        check_source(FOLD.replace("COUNT", "3"), "p.ncl")
