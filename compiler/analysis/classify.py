"""The complexity class a program's cost formulas show, by sympy asymptotics.

The input size is n for graph and sequence programs (with m ≤ n²) and k for bit programs. A
formula is O(logⁱ x) for the least i with lim f / logⁱ x < ∞ (x → ∞). Written in t = log x, a
polylogarithmic cost formula is a polynomial in t, whose degree is the candidate i; a formula
that outgrows t¹² is not polylogarithmic.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import sympy

from .. import ir
from .cost import Cost

CLASS_ORDER = ("AC0", "TC0")  # then NC1, NC2, …, then NC
NOT_IN_NC = "not in NC"


def size_variable(family: str) -> sympy.Symbol:
    return ir.K if family == "bits" else ir.N


def _smooth(expr: sympy.Expr, x: sympy.Symbol) -> sympy.Expr:
    """An upper bound of `expr` of the same order, without ceilings, maxima or other size
    variables, so that `limit` can work on it."""
    expr = sympy.sympify(expr).subs(ir.M, x ** 2)
    expr = expr.subs({s: x for s in (ir.N, ir.K) if s != x})
    expr = expr.replace(sympy.ceiling, lambda a: a + 1).replace(sympy.floor, lambda a: a)
    expr = expr.replace(sympy.Max, lambda *a: sympy.Add(*a))
    expr = expr.replace(sympy.Min, lambda *a: a[0])
    return expr.rewrite(sympy.log)


# log x, the variable in which a polylogarithmic formula is a polynomial
_T = sympy.Symbol("t", positive=True)
_MAX_DEGREE = 12


def _in_log(expr: sympy.Expr, x: sympy.Symbol) -> sympy.Expr:
    """`expr` (smoothed) as a function of t = log x."""
    f = _smooth(expr, x).subs(x, sympy.exp(_T))
    return sympy.expand(sympy.expand_log(f, force=True))


@lru_cache(maxsize=512)
def polylog_degree(expr: sympy.Expr, x: sympy.Symbol) -> int | None:
    """The least i with expr = O(log(x)^i), or None when expr is not polylogarithmic in x."""
    f = _in_log(expr, x)
    if _T not in f.free_symbols:
        return 0
    if f.is_polynomial(_T):
        # f / t^degree tends to the leading coefficient, a finite number: no limit to take
        return sympy.Poly(f, _T).degree()
    if _outgrows_polylog(f):
        return None
    if sympy.limit(f / _T ** _MAX_DEGREE, _T, sympy.oo) is sympy.oo:
        return None
    else:
        candidates = range(_MAX_DEGREE + 1)
    for degree in candidates:
        if sympy.limit(f / _T ** degree, _T, sympy.oo).is_finite:
            return degree
    return None


def _outgrows_polylog(f: sympy.Expr) -> bool:
    """Whether f (expanded, in t) is certainly not polylogarithmic, read off its terms without
    `limit` (which costs a tenth of a second per formula): f is a sum of c·t^p·exp(q·t) with
    nonzero constants c and numbers p, q, and its largest (q, p) term has q > 0 (a power of
    x). Then f / t^i tends to ±∞ for every i, so no degree fits. False where f has another
    form: `limit` decides."""
    best = None
    for term in sympy.Add.make_args(f):
        p, q = sympy.Integer(0), sympy.Integer(0)
        for factor in sympy.Mul.make_args(term):
            if not factor.has(_T):
                if factor.is_nonzero is not True:
                    return False
                continue
            if isinstance(factor, sympy.exp):
                coeff, rest = factor.args[0].as_independent(_T, as_Add=False)
                if rest != _T or not coeff.is_Number:
                    return False
                q += coeff
                continue
            base, e = factor.as_base_exp()
            if base != _T or not e.is_Number:
                return False
            p += e
        if best is None or (q, p) > best:
            best = (q, p)
    return best is not None and best[0] > 0


def grows_like(expr: sympy.Expr, x: sympy.Symbol, target: sympy.Expr) -> bool:
    """Whether expr = Θ(target) as x → ∞ (used by tests and reports: `layers = Θ(log n)`)."""
    r = sympy.limit(_smooth(expr, x) / _smooth(target, x), x, sympy.oo)
    return bool(r.is_finite and r.is_positive)


@dataclass(frozen=True)
class Classification:
    cls: str
    reason: str | None = None
    reason_span: object = None


def classify(c: Cost, family: str) -> Classification:
    x = size_variable(family)
    if polylog_degree(c.depth_threshold, x) == 0:
        return Classification("TC0" if c.uses_threshold else "AC0")
    degree = polylog_degree(c.depth_bounded, x)
    if degree is not None:
        return Classification(f"NC{max(1, degree)}")
    return Classification(NOT_IN_NC, *_sequential_loop(c, x))


def _sequential_loop(c: Cost, x) -> tuple[str, object]:
    # The outermost repeat whose trip count is not polylog and whose iterations have depth: it
    # alone multiplies the depth past every polylog (each op's own depth is at most logarithmic).
    for loop in c.loops:
        if any(polylog_degree(e, x) is None for e in loop.enclosing):
            continue
        if polylog_degree(loop.count, x) is None and loop.bounded_per_iteration != 0:
            span = loop.span
            return (f"this repeat runs {ir.format_size(loop.count)} "
                    f"sequential rounds, not polylogarithmic in {x}", span)
    return (f"the circuit depth {ir.format_size(c.depth_bounded)} is not polylogarithmic in {x}",
            None)


def class_rank(cls: str) -> float:
    """A total order on classes by inclusion: AC0 < TC0 ≤ NC1 < NC2 < … < NC < not in NC."""
    if cls in CLASS_ORDER:
        return CLASS_ORDER.index(cls)
    if cls == "NC":
        return 1e9
    match = re.fullmatch(r"NC([1-9][0-9]*)", cls)
    if match:
        return 1 + int(match.group(1))
    return math.inf


def within(found: str, declared: str) -> bool:
    """Whether the class the analysis found is inside the declared one."""
    return class_rank(found) <= class_rank(declared)
