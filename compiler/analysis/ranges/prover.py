"""Sympy bounds in the size variables: built from size expressions, evaluated at sizes without
exploding (`capped_subs`), and compared at every size (`nonneg`, `le`, `smax`, `smin`).

The prover is sound, not complete: `le(a, b)` True means a <= b at every size, False only that
no proof was found, so callers keep both bounds (a Max) when it cannot decide."""
from __future__ import annotations

import math

import sympy as sp

from nclang.compiler.ir import size_formula
from nclang.dsl import ast as A

POW_CAP_BITS = 256


def _log2_abs(x: sp.Expr) -> float:
    """log2 |x| of a nonzero sympy number, without converting a huge one to float."""
    if x.is_Rational:
        p, q = abs(int(x.p)), int(x.q)
        return (p.bit_length() - q.bit_length()) if max(p, q) >= 2 ** 60 else math.log2(p / q)
    return math.log2(abs(float(x)))


def capped_subs(e, mapping: dict) -> sp.Expr:
    """`e` with `mapping` substituted, except that a number raised to a number whose value
    would pass 2^POW_CAP_BITS in magnitude becomes `oo` before sympy computes it."""
    e = sp.sympify(e)
    if not mapping:
        return e

    def walk(x):
        if x in mapping:
            return mapping[x]
        if not x.args:
            return x
        args = [walk(a) for a in x.args]
        if x.is_Pow:
            base, ex = args
            if (ex.is_Number and base.is_Number and ex.is_finite and base.is_finite
                    and ex > 0 and base != 0 and abs(base) > 1
                    and float(ex) * _log2_abs(base) > POW_CAP_BITS):
                return sp.oo
        if all(a is b for a, b in zip(args, x.args)):
            return x
        return x.func(*args)

    return walk(e)

# ---------------------------------------------------------------- sizes as sympy expressions

def size_to_sympy(expr: A.Expr) -> sp.Expr:
    """A size expression (`n - 1`, `ceil(log2(n))`, `k + 1`) as a sympy expression, with the real
    logarithm so that bounds like 2^ceil(log2 n) <= 2n - 1 can be derived."""
    return size_formula(expr, log=lambda x: sp.log(x, 2))


# ---------------------------------------------------------------- proving inequalities

def _shifted(e: sp.Expr) -> sp.Expr:
    """`e` with each positive size variable s written as 1 + s' (s' >= 0), so that a polynomial
    whose expanded coefficients are all nonnegative is visibly nonnegative."""
    shift = {}
    for s in e.free_symbols:
        if s.is_positive and s.is_integer:
            shift[s] = sp.Symbol(s.name + "_", integer=True, nonnegative=True) + 1
    return sp.expand(e.subs(shift)) if shift else sp.expand(e)


def nonneg(e) -> bool:
    """True when `e >= 0` is provable for every admissible value of its symbols (sizes at least 1,
    loop symbols at least 0). False means "not proved", not "negative"."""
    e = sp.sympify(e)
    if e is sp.nan or e.has(sp.nan, sp.zoo):
        return False
    if e.is_number:
        try:
            return bool(e >= 0)
        except TypeError:
            return False
    mm = next((a for a in sp.preorder_traversal(e) if isinstance(a, (sp.Max, sp.Min))), None)
    if mm is not None:
        x = sp.Dummy("x")
        body = sp.expand(e.xreplace({mm: x}))
        if body.is_polynomial(x) and sp.degree(body, x) <= 1:
            c, rest = body.coeff(x, 1), body.coeff(x, 0)
            branch = [c * arg + rest for arg in mm.args]
            grows = isinstance(mm, sp.Max)
            if nonneg(c):
                return any(map(nonneg, branch)) if grows else all(map(nonneg, branch))
            if nonneg(-c):
                return all(map(nonneg, branch)) if grows else any(map(nonneg, branch))
        # mm equals one of its arguments, so proving every case proves e
        return all(nonneg(e.xreplace({mm: arg})) for arg in mm.args)
    if e.is_nonnegative:
        return True
    e2 = _shifted(e)
    if e2.is_nonnegative:
        return True
    if e2.is_Add:
        return all(t.is_nonnegative for t in e2.args)
    return False


def le(a, b) -> bool:
    if a == b:
        return True
    if a == -sp.oo or b == sp.oo:
        return True
    if a == sp.oo or b == -sp.oo:
        return False
    return nonneg(sp.sympify(b) - sp.sympify(a))


def smax(*xs):
    """The maximum, with the dominated arguments dropped where that is provable."""
    kept: list = []
    for x in xs:
        x = sp.sympify(x)
        if x == sp.oo:
            return sp.oo
        if any(le(x, y) for y in kept):
            continue
        kept = [y for y in kept if not le(y, x)] + [x]
    if not kept:
        return -sp.oo
    return kept[0] if len(kept) == 1 else sp.Max(*kept)


def smin(*xs):
    kept: list = []
    for x in xs:
        x = sp.sympify(x)
        if x == -sp.oo:
            return -sp.oo
        if any(le(y, x) for y in kept):
            continue
        kept = [y for y in kept if not le(x, y)] + [x]
    if not kept:
        return sp.oo
    return kept[0] if len(kept) == 1 else sp.Min(*kept)
