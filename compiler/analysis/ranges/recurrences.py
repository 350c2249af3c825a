"""Solving a loop's recurrences in closed form: each bound a `repeat` body updates is a function
of its value the round before; fixpoints, additive growth `h + c`, geometric growth `a*h + c`
and maxima and minima of those are solved, evaluated at the trip count."""
from __future__ import annotations

import sympy as sp

from .prover import le, nonneg, smax, smin


def _linearize(e: sp.Expr, d: sp.Symbol, upper: bool):
    """(a, c) with a*d + c an upper (or lower) bound of `e` for every d >= 0; None when `e` is not
    bounded by a line (a product of two growing terms, say)."""
    e = sp.sympify(e)
    if not e.has(d):
        return sp.Integer(0), e
    if e == d:
        return sp.Integer(1), sp.Integer(0)
    if e.is_Add:
        mm = [a for a in e.args if isinstance(a, (sp.Max, sp.Min)) and a.has(d)]
        if len(mm) == 1:
            # max(a, b) + r = max(a + r, b + r): lets a branch be recognised as d itself
            rest = e - mm[0]
            return _linearize(mm[0].func(*(a + rest for a in mm[0].args), evaluate=False),
                              d, upper)
        parts = [_linearize(t, d, upper) for t in e.args]
        if any(p is None for p in parts):
            return None
        return sp.Add(*(p[0] for p in parts)), sp.Add(*(p[1] for p in parts))
    if e.is_Mul:
        coef, rest = e.as_independent(d, as_Add=False)
        if coef == 1:
            return None
        if isinstance(rest, (sp.Max, sp.Min)) and nonneg(-coef):
            # -max(a, b) = min(-a, -b): keep the choice of branch visible
            dual = sp.Min if isinstance(rest, sp.Max) else sp.Max
            return _linearize(-coef * dual(*(-a for a in rest.args), evaluate=False), d, upper)
        if nonneg(coef):
            part = _linearize(rest, d, upper)
        elif nonneg(-coef):
            part = _linearize(rest, d, not upper)
        else:
            return None
        return None if part is None else (coef * part[0], coef * part[1])
    if isinstance(e, (sp.Max, sp.Min)):
        parts = [_linearize(t, d, upper) for t in e.args]
        combine_all = isinstance(e, sp.Max) == upper
        if combine_all:
            if any(p is None for p in parts):
                return None
            pick = smax if upper else smin
            return pick(*(p[0] for p in parts)), pick(*(p[1] for p in parts))
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        if upper:
            # a branch bounded by d itself makes the whole minimum add nothing to max(D, ...)
            for p in parts:
                if le(p[0], 1) and le(p[1], 0):
                    return p
        better = le if upper else (lambda x, y: le(y, x))
        for p in parts:
            if all(better(p[0], q[0]) and better(p[1], q[1]) for q in parts):
                return p
        return parts[0]
    if isinstance(e, sp.floor):
        part = _linearize(e.args[0], d, upper)
        return part if part is None or upper else (part[0], part[1] - 1)
    if isinstance(e, sp.ceiling):
        part = _linearize(e.args[0], d, upper)
        return part if part is None or not upper else (part[0], part[1] + 1)
    return None


def _branches(g: sp.Expr) -> list[sp.Expr]:
    """The arguments of a maximum, with a summand added to a Max pushed into its arguments."""
    g = sp.sympify(g)
    if isinstance(g, sp.Max):
        return [b for a in g.args for b in _branches(a)]
    if g.is_Add:
        maxes = [a for a in g.args if isinstance(a, sp.Max)]
        if len(maxes) == 1:
            rest = g - maxes[0]
            return [b for a in maxes[0].args for b in _branches(a + rest)]
    return [g]


def _solve_growth(gs: list[sp.Expr], d: sp.Symbol, t: sp.Symbol):
    """A closed form D(t) >= the sequence D_0 = 0, D_{t+1} = max(D_t, g(D_t)) for every g in gs.
    Each g is nondecreasing in d (it bounds a monotone transfer function); it may also depend on
    t through other, already solved, loop variables, and then it is nondecreasing in t too."""
    lines = [_linearize(b, d, upper=True) for g in gs for b in _branches(g)]
    if any(p is None for p in lines):
        return None
    # a branch that never exceeds D adds nothing to max(D_t, ...): `x = max(x, y)` grows like y
    lines = [(a, c) for a, c in lines if not (le(a, 1) and le(c, 0))]
    if not lines:
        return sp.Integer(0)
    a = smax(0, *(p[0] for p in lines))
    c = smax(0, *(p[1] for p in lines))
    if a.has(d, t) or c.has(d):
        return None
    if le(a, 0):
        # no self-dependence: D_t = max over s < t of c(s) = c(t - 1), c being nondecreasing
        return smax(0, c.subs(t, t - 1))
    if sp.simplify(a - 1) == 0:
        if c.has(t):
            s = sp.Dummy("s", integer=True, nonnegative=True)
            return sp.simplify(sp.summation(c.subs(t, s), (s, 0, t - 1)))
        return t * c
    # with c(s) <= c(t) for s < t, the constant c(t) bounds the whole prefix
    if le(1, a):
        return c * (a ** t - 1) / (a - 1)
    if a.is_number and a < 1:
        return c / (1 - a)
    return t * c * smax(1, a) ** t


def _relax_powers(e: sp.Expr) -> sp.Expr:
    """Replace b^ceil(log2 x) by (2x - 1)^log2(b) and b^floor(log2 x) by x^log2(b), sound for an
    upper bound wherever the power is multiplied by a nonnegative factor: 2^ceil(log2 x) < 2x."""
    e = sp.expand(sp.sympify(e), power_exp=True, mul=True)
    if not e.has(sp.ceiling, sp.floor) or not e.has(sp.Pow):
        return e
    replacements = {}
    for p in e.atoms(sp.Pow):
        base, ex = p.as_base_exp()
        if not (base.is_Integer and base > 1):
            continue
        coef, rounded = ex.as_independent(sp.ceiling, sp.floor, as_Add=False)
        if not (coef.is_number and coef > 0 and isinstance(rounded, (sp.ceiling, sp.floor))):
            continue
        inner = rounded.args[0]
        logs = [a for a in inner.atoms(sp.log) if not a.is_number]
        if len(logs) != 1 or sp.simplify(inner - logs[0] / sp.log(2)) != 0:
            continue
        x = logs[0].args[0]
        top = 2 * x - 1 if isinstance(rounded, sp.ceiling) else x
        replacements[p] = top ** (coef * sp.log(base, 2))
    if not replacements:
        return e
    terms = e.args if e.is_Add else (e,)
    for term in terms:
        for p in replacements:
            if term.has(p):
                factor, _ = term.as_independent(p, as_Add=False)
                if not nonneg(factor) or term != factor * p:
                    return e
    return sp.expand(e.xreplace(replacements))
