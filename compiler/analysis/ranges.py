"""Value ranges: an interval for every value a checked program computes, as sympy expressions in
the size variables, so that the compiler can prove float32 exact (every integer below 2^24 in
magnitude) or refuse with the name of the value that grows too large.

The analysis runs on the checked AST, not on the IR, and keys its results by `id()` of the AST
nodes (expressions and assignment statements): the IR lowering attaches them one-to-one to the
values it makes from those nodes.

Intervals keep `inf` apart from the finite bounds: Bellman-Ford's `dist` is [0, (n-1)*W] plus the
value `inf`, and folding the two together would make every shortest-path program look unbounded.
A finite bound of sympy `oo` means "no finite bound known", never the value `inf`.

Loops are solved, not widened: the bounds of every variable a `repeat` body updates become
symbols, the body is run once on them, and the resulting recurrences are solved in closed form
(fixpoints, additive growth `h + c`, geometric growth `a*h + c`, and maxima and minima of those),
then evaluated at the trip count. What cannot be solved falls back to "unbounded", with a note.

Bounds are symbolic, so they stay small however large the sizes; only substituting numbers into
them can explode (a doubling over `repeat 1000000` is 2^1000000, over `repeat n * n` at n = 2^20
it is 2^(2^40)). Every such substitution goes through `capped_subs`, which takes a power beyond
2^POW_CAP_BITS for "no finite bound" (sympy `oo`): far past any exactness limit, so no answer
changes, and the program is refused as unbounded rather than hanging the analysis.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import sympy as sp

from nclang.compiler.ir import size_formula, size_symbol
from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.pretty import pretty_expr

F32_EXACT = 2 ** 24
"""float32 represents every integer of magnitude below this exactly (and 2^24 itself, but the
first integer it loses is 2^24 + 1, so the analysis asks for strictly less)."""

NUMERIC = ("int", "frac", "index", "bool")
_INTEGRAL = ("int", "index", "bool")
_SEARCH_CAP = 2 ** 62
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


# ---------------------------------------------------------------- intervals

@dataclass(frozen=True)
class Interval:
    """The values of one expression: a finite part [lo, hi] (absent when `lo` is None), and flags
    for the values `inf`, `-inf` and `none`. `kind` is int, frac, bool, index, token or none;
    None marks the empty interval (a variable not yet assigned)."""
    lo: sp.Expr | None = None
    hi: sp.Expr | None = None
    pos_inf: bool = False
    neg_inf: bool = False
    kind: str | None = "int"
    may_none: bool = False

    @property
    def fin(self) -> bool:
        return self.lo is not None

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC

    def magnitude(self) -> sp.Expr:
        """The largest finite |value|; 0 when there is no finite numeric value."""
        if not self.fin or not self.numeric:
            return sp.Integer(0)
        return smax(self.hi, -self.lo, 0)

    def subs(self, mapping) -> "Interval":
        if not self.fin or not mapping:
            return self
        return replace(self, lo=sp.sympify(self.lo).subs(mapping),
                       hi=sp.sympify(self.hi).subs(mapping))

    def __str__(self) -> str:
        if self.kind == "token":
            return "token"
        parts = []
        if self.neg_inf:
            parts.append("{-inf}")
        if self.fin:
            parts.append(f"[{show(self.lo)}, {show(self.hi)}]")
        if self.pos_inf:
            parts.append("{inf}")
        if self.may_none:
            parts.append("{none}")
        return " ∪ ".join(parts) or "∅"

    def to_json(self) -> dict:
        return {"kind": self.kind, "lo": show(self.lo) if self.fin else None,
                "hi": show(self.hi) if self.fin else None, "inf": self.pos_inf,
                "neg_inf": self.neg_inf, "none": self.may_none}


BOTTOM = Interval(kind=None)
BOOL = Interval(sp.Integer(0), sp.Integer(1), kind="bool")
TOKEN = Interval(kind="token")
UNBOUNDED = Interval(-sp.oo, sp.oo, True, True)


def const(v: int, kind: str = "int") -> Interval:
    return Interval(sp.Integer(v), sp.Integer(v), kind=kind)


def show(e) -> str:
    """A sympy bound in its most readable form: factored when that is shorter."""
    e = sp.sympify(e)
    if e == sp.oo:
        return "unbounded"
    if e == -sp.oo:
        return "-unbounded"
    try:
        f = sp.factor(e)
    except (sp.PolynomialError, TypeError, ValueError):
        f = e
    a, b = str(f), str(e)
    return a if len(a) <= len(b) else b


def _kind_join(a: str | None, b: str | None) -> str | None:
    if a is None or a == b:
        return b
    if b is None:
        return a
    if "token" in (a, b):
        return "token"
    if "frac" in (a, b):
        return "frac"
    if a == "none":
        return b
    if b == "none":
        return a
    return "int"


def join(a: Interval, b: Interval) -> Interval:
    if a.kind is None:
        return b
    if b.kind is None:
        return a
    if a.fin and b.fin:
        lo, hi = smin(a.lo, b.lo), smax(a.hi, b.hi)
    elif a.fin:
        lo, hi = a.lo, a.hi
    else:
        lo, hi = b.lo, b.hi
    return Interval(lo, hi, a.pos_inf or b.pos_inf, a.neg_inf or b.neg_inf,
                    _kind_join(a.kind, b.kind), a.may_none or b.may_none)


def meet_declared(iv: Interval, declared: Interval) -> Interval:
    """`iv` narrowed to a declared type: sound where the interpreter enforces the declaration."""
    if not iv.fin or not declared.fin or not iv.numeric:
        return iv
    lo, hi = smax(iv.lo, declared.lo), smin(iv.hi, declared.hi)
    return replace(iv, lo=lo, hi=hi, pos_inf=iv.pos_inf and declared.pos_inf,
                   neg_inf=iv.neg_inf and declared.neg_inf)


def _shape(iv: Interval):
    """What a loop must hold fixed before its numeric bounds can become symbols: the flags, and
    the bounds themselves for values whose bounds are not grown symbolically."""
    symbolic = iv.kind in ("int", "frac") and iv.fin and _finite(iv.lo) and _finite(iv.hi)
    bounds = None if symbolic else (iv.lo, iv.hi)
    return (iv.kind, iv.fin, iv.pos_inf, iv.neg_inf, iv.may_none, symbolic, bounds)


def _finite(e) -> bool:
    return e is not None and not sp.sympify(e).has(sp.oo, -sp.oo)


# ---------------------------------------------------------------- transfer functions

def _numeric(iv: Interval) -> Interval:
    if iv.kind in ("bool", "index"):
        return replace(iv, kind="int", may_none=False)
    if iv.kind in ("token", "none", None):
        return replace(UNBOUNDED, pos_inf=False, neg_inf=False) if iv.kind == "token" else iv
    return iv


def _arith_kind(a: Interval, b: Interval) -> str:
    return "frac" if "frac" in (a.kind, b.kind) else "int"


def _negate(e: sp.Expr) -> sp.Expr:
    """-e, with -max(a, b) written as min(-a, -b) so that recurrences can see the branches."""
    e = sp.sympify(e)
    if isinstance(e, sp.Max):
        return sp.Min(*(_negate(a) for a in e.args))
    if isinstance(e, sp.Min):
        return sp.Max(*(_negate(a) for a in e.args))
    return -e


def neg(a: Interval) -> Interval:
    a = _numeric(a)
    lo, hi = (_negate(a.hi), _negate(a.lo)) if a.fin else (None, None)
    return replace(a, lo=lo, hi=hi, pos_inf=a.neg_inf, neg_inf=a.pos_inf)


def _can_pos(a: Interval) -> bool:
    return a.pos_inf or (a.fin and not le(a.hi, 0))


def _can_neg(a: Interval) -> bool:
    return a.neg_inf or (a.fin and not le(0, a.lo))


def add(a: Interval, b: Interval) -> Interval:
    a, b = _numeric(a), _numeric(b)
    lo = hi = None
    if a.fin and b.fin:
        lo, hi = a.lo + b.lo, a.hi + b.hi
    # inf - inf is an error in the language, so only like-signed infinities combine
    pos = (a.pos_inf and (b.fin or b.pos_inf)) or (b.pos_inf and (a.fin or a.pos_inf))
    negi = (a.neg_inf and (b.fin or b.neg_inf)) or (b.neg_inf and (a.fin or a.neg_inf))
    return Interval(lo, hi, pos, negi, _arith_kind(a, b))


def mul(a: Interval, b: Interval) -> Interval:
    a, b = _numeric(a), _numeric(b)
    lo = hi = None
    if a.fin and b.fin:
        if le(0, a.lo) and le(0, b.lo):
            lo, hi = a.lo * b.lo, a.hi * b.hi
        else:
            corners = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
            lo, hi = smin(*corners), smax(*corners)
    # 0 * inf is an error, so an infinite factor meets only nonzero values
    pos = ((a.pos_inf and _can_pos(b)) or (b.pos_inf and _can_pos(a))
           or (a.neg_inf and _can_neg(b)) or (b.neg_inf and _can_neg(a)))
    negi = ((a.pos_inf and _can_neg(b)) or (b.pos_inf and _can_neg(a))
            or (a.neg_inf and _can_pos(b)) or (b.neg_inf and _can_pos(a)))
    return Interval(lo, hi, pos, negi, _arith_kind(a, b))


def _abs_bound(a: Interval) -> sp.Expr:
    return smax(a.hi, -a.lo) if a.fin else sp.Integer(0)


def div(a: Interval, b: Interval, floor: bool) -> Interval:
    """`a // b` (floor) or `a / b`; b = 0 is an error, so an integer divisor has |b| >= 1."""
    a, b = _numeric(a), _numeric(b)
    kind = "int" if floor else "frac"
    if not a.fin:
        return Interval(kind=kind)
    if b.fin and b.kind != "frac" and (le(1, b.lo) or le(b.hi, -1)):
        corners = [x / y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        lo, hi = smin(*corners), smax(*corners)
        if floor:
            lo, hi = sp.floor(lo), sp.floor(hi)
    elif b.kind != "frac":
        bound = _abs_bound(a)
        lo, hi = -bound, bound
        if floor:
            lo = smin(lo, -1)
    else:
        lo, hi = -sp.oo, sp.oo
    if b.pos_inf or b.neg_inf:
        # x // inf is 0 or -1 and x / inf is 0
        lo, hi = smin(lo, -1 if floor else 0), smax(hi, 0)
    return Interval(lo, hi, kind=kind)


def mod(a: Interval, b: Interval) -> Interval:
    a, b = _numeric(a), _numeric(b)
    if not (a.fin and b.fin):
        return Interval(kind="int") if not a.fin else replace(a, pos_inf=True, neg_inf=False)
    if le(1, b.lo):
        hi = b.hi - 1
        if le(0, a.lo):
            hi = smin(hi, a.hi)
        lo, hi = sp.Integer(0), hi
    elif le(b.hi, -1):
        lo, hi = b.lo + 1, sp.Integer(0)
    else:
        bound = smax(b.hi, -b.lo) - 1
        lo, hi = -bound, bound
    out = Interval(lo, hi, kind="int")
    if b.pos_inf or b.neg_inf:
        # Python: x % inf is x for x >= 0 and inf for x < 0
        out = join(out, replace(a, pos_inf=_can_neg(a), neg_inf=False))
    return out


def minimum(args: list[Interval]) -> Interval:
    """min(a, b, ...): the finite result lies at or below every operand that cannot be inf."""
    args = [_numeric(a) for a in args]
    fins = [a for a in args if a.fin]
    kind = "frac" if any(a.kind == "frac" for a in args) else "int"
    negi = any(a.neg_inf for a in args)
    pos = all(a.pos_inf for a in args)
    if not fins:
        return Interval(None, None, pos, negi, kind)
    lo = smin(*(a.lo for a in fins))
    caps = []
    for j in fins:
        others = [a for a in args if a is not j]
        if any(not a.fin and not a.pos_inf for a in others):
            continue  # that operand is always -inf, so j never gives the result
        caps.append(smin(j.hi, *(a.hi for a in others if not a.pos_inf and a.fin)))
    if not caps:
        return Interval(None, None, pos, negi, kind)
    return Interval(lo, smax(*caps), pos, negi, kind)


def maximum(args: list[Interval]) -> Interval:
    return neg(minimum([neg(a) for a in args]))


def absolute(a: Interval) -> Interval:
    a = _numeric(a)
    inf = a.pos_inf or a.neg_inf
    if not a.fin:
        return Interval(None, None, inf, False, a.kind)
    if le(0, a.lo):
        return replace(a, pos_inf=inf, neg_inf=False)
    if le(a.hi, 0):
        return replace(neg(a), pos_inf=inf, neg_inf=False)
    return Interval(sp.Integer(0), smax(a.hi, -a.lo), inf, False, a.kind)


def scale_sum(body: Interval, size: sp.Expr, fixed: bool) -> Interval:
    """The sum of `size` values of `body` (`fixed`), or of at most `size` of them."""
    body = _numeric(body)
    if not body.fin:
        lo = hi = sp.Integer(0) if not fixed else None
        return Interval(lo, hi, body.pos_inf, body.neg_inf, body.kind)
    if fixed:
        lo, hi = size * body.lo, size * body.hi
    else:
        lo, hi = smin(0, size * body.lo), smax(0, size * body.hi)
    return Interval(lo, hi, body.pos_inf, body.neg_inf, body.kind)


# ---------------------------------------------------------------- recurrences

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


# ---------------------------------------------------------------- the analysis

@dataclass
class NamedValue:
    """A value the report can point at: a variable (or an input) and the source it comes from."""
    name: str
    span: A.Span
    interval: Interval
    magnitude: sp.Expr
    what: str  # "assignment", "result" (a returned expression), "input" or "expression"

    def where(self) -> str:
        return f"{self.span.file}:{self.span.line}:{self.span.col}"


@dataclass
class RangeReport:
    """What `value_ranges` finds for one program.

    `variables`: each variable's interval when the program returns; `held`: every value a
    variable (or input) holds at any time, over all its assignments and loop iterations;
    `exprs` and `assignments`: by `id()` of the expression node or assignment statement, joined
    over every time it runs; `results`: one interval per returned value. `max_abs` is the largest
    finite magnitude of any integer, index or boolean value (a Max where no single bound is
    provably largest at every size), and `max_value` names the one that dominates at large sizes.
    """
    program: str
    family: str
    size_vars: tuple[str, ...]
    variables: dict[str, Interval]
    held: dict[str, Interval]
    exprs: dict[int, Interval]
    assignments: dict[int, Interval]
    results: tuple[Interval, ...]
    result_names: tuple[str, ...]
    max_abs: sp.Expr
    max_value: NamedValue | None
    frac_max_abs: sp.Expr | None
    notes: list[str] = field(default_factory=list)

    # -- exactness
    def _at(self, e: sp.Expr, sizes: dict[str, int]) -> sp.Expr:
        return capped_subs(e, {size_symbol(k): sp.Integer(v) for k, v in sizes.items()})

    def value_at(self, sizes: dict[str, int]):
        """The largest integer magnitude at these sizes (a Python int, or math.inf)."""
        v = self._at(self.max_abs, sizes)
        if v.has(sp.oo) or not v.is_number:
            return math.inf
        return int(sp.floor(v))

    def exact_float32(self, sizes: dict[str, int]) -> bool:
        """Whether float32 holds every integer value exactly at these sizes. frac values (from
        `/` and `mean`) are not covered: their exactness needs a rounding analysis of its own."""
        return self.value_at(sizes) < F32_EXACT

    def float32_limit(self) -> dict[str, int | None]:
        """For each size variable the bound depends on, the largest size at which every integer
        value stays below 2^24 (None: no size breaks it; 0: none is safe). In a graph program,
        the limit for n assumes m <= n^2 (no repeated edges), and m gets a limit of its own only
        when the bound does not also depend on n."""
        f = sp.sympify(self.max_abs)
        names = sorted(s.name for s in f.free_symbols if s.name in self.size_vars)
        if f.has(sp.oo):
            return {v: 0 for v in names or self.size_vars}
        if not names:
            return {}
        out: dict[str, int | None] = {}
        n, m = size_symbol("n"), size_symbol("m")
        for name in names:
            x = size_symbol(name)
            g = f
            if name == "m" and "n" in names:
                continue
            if name == "n" and "m" in names:
                g = g.subs(m, n ** 2)
            others = {s: 1 for s in g.free_symbols if s != x}
            out[name] = _largest_below(g.subs(others), x, 0 if name == "m" else 1)
        return out

    def overflow_message(self, sizes: dict[str, int] | None = None) -> str | None:
        """"dist reaches 1000*(n - 1), which passes 2^24 at n = 16779" — or None when exact
        (at `sizes`, or at every size when no sizes are given)."""
        if self.max_value is None:
            return None
        v = self.max_value
        head = f"{v.name} reaches {show(v.magnitude)}"
        if sizes is not None:
            if self.exact_float32(sizes):
                return None
            at = ", ".join(f"{k} = {sizes[k]}" for k in sorted(sizes))
            return f"{head}, which passes 2^24 at {at}"
        limits = self.float32_limit()
        broken = {k: lim for k, lim in limits.items() if lim is not None}
        if not broken:
            return None
        where = ", ".join(f"{k} = {lim + 1}" for k, lim in sorted(broken.items()))
        return f"{head}, which passes 2^24 at {where}"

    def summary(self) -> str:
        """One line for `nclang check`."""
        if self.max_value is None:
            text = "no numeric values"
        else:
            text = f"largest value {show(self.max_value.magnitude)} ({self.max_value.name})"
        limits = self.float32_limit()
        if self.max_abs.has(sp.oo):
            text += ", unbounded: float32 exactness not guaranteed"
        elif not limits:
            exact = self.value_at({}) < F32_EXACT
            text += ", exact in float32 at every size" if exact else ", not exact in float32"
        else:
            parts = []
            for k, lim in sorted(limits.items()):
                if lim is None:
                    parts.append(f"any {k}")
                elif lim == 0:
                    parts.append(f"no {k}")
                else:
                    parts.append(f"{k} <= {lim}")
            text += ", exact in float32 for " + " and ".join(parts)
        if self.frac_max_abs is not None:
            text += "; frac values need a separate exactness check"
        return text

    def to_json(self) -> dict:
        def named(v: NamedValue | None):
            if v is None:
                return None
            return {"name": v.name, "line": v.span.line, "col": v.span.col,
                    "end_line": v.span.end_line, "end_col": v.span.end_col,
                    "interval": v.interval.to_json(), "what": v.what}
        return {
            "program": self.program,
            "max_abs": show(self.max_abs),
            "max_value": named(self.max_value),
            "float32_limit": self.float32_limit(),
            "frac_max_abs": None if self.frac_max_abs is None else show(self.frac_max_abs),
            "variables": {k: v.to_json() for k, v in self.held.items()},
            "results": {name: iv.to_json() for name, iv in zip(self.result_names, self.results)},
            "summary": self.summary(),
            "notes": list(self.notes),
        }


def _largest_below(g: sp.Expr, x: sp.Symbol, start: int) -> int | None:
    """The largest integer X >= start - 1 with g(y) < 2^24 for start <= y <= X, assuming g is
    nondecreasing (every bound the analysis builds is). None when no size passes 2^24."""
    def ok(v: int) -> bool:
        val = capped_subs(g, {x: sp.Integer(v)})
        return bool(val.is_number and not val.has(sp.oo) and val < F32_EXACT)

    if not ok(start):
        return start - 1
    guess = None
    if g.is_polynomial(x):
        try:
            roots = [r for r in sp.Poly(g - F32_EXACT, x).nroots() if abs(sp.im(r)) < 1e-9]
        except (sp.PolynomialError, sp.polys.polyerrors.PolynomialError, ValueError):
            roots = []
        real = [int(sp.floor(sp.re(r))) for r in roots if sp.re(r) >= start]
        guess = min(real) if real else None
    if guess is not None:
        lo = max(start, guess - 2)
        while not ok(lo) and lo > start:
            lo = max(start, lo - 1 - (guess - lo))
        hi = lo + 1
        step = 1
        while ok(hi):
            lo, hi, step = hi, hi + step, step * 2
            if hi > _SEARCH_CAP:
                return None
    else:
        lo, hi = start, start + 1
        while ok(hi):
            lo, hi = hi, hi * 2
            if hi > _SEARCH_CAP:
                return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


class _Analysis:
    def __init__(self, checked):
        self.checked = checked
        self.program: A.Program = checked.program
        self.defs: dict[str, A.Def] = dict(getattr(checked, "defs", None) or {})
        if not self.defs and getattr(checked, "module", None) is not None:
            self.defs = {d.name: d for d in checked.module.defs}
        self.family: str = getattr(checked, "family", None) or _family(self.program)
        self.size_vars = frozenset(getattr(checked, "size_vars", None)
                                   or _default_sizes(self.family))
        self.types: dict = getattr(checked, "types", None) or {}
        self.assign_axes: dict = getattr(checked, "assign_axes", None) or {}
        self.exprs: dict[int, Interval] = {}
        self.owner_of: dict[int, tuple[str, A.Expr]] = {}
        self.assignments: dict[int, Interval] = {}
        self.assign_nodes: dict[int, tuple[str, A.Span]] = {}
        self.var_axes: dict[str, tuple[T.Axis, ...]] = {}
        self.inputs: dict[str, tuple[Interval, A.Span]] = {}
        self.recording = True
        self.sizes_only: set[int] = set()
        self.returned: list[tuple[str, A.Expr]] = []
        self.owner = self.program.name
        self.results: list[Interval] | None = None
        self.notes: list[str] = []
        self.fresh = itertools.count()

    # -- types and axes
    def axis_size(self, axis: T.Axis) -> sp.Expr:
        match axis.kind:
            case "node" | "pos":
                return size_symbol("n")
            case "edge":
                return size_symbol("m")
        return size_to_sympy(axis.size)

    def axis_interval(self, axis: T.Axis, optional: bool = False) -> Interval:
        return Interval(sp.Integer(0), self.axis_size(axis) - 1, kind="index", may_none=optional)

    def from_type(self, t: T.Type) -> Interval:
        match t:
            case T.Field(elem=elem):
                return self.from_type(elem)
            case T.Bool():
                return BOOL
            case T.Int(lo=None):
                return UNBOUNDED
            case T.Int(lo=lo, hi=hi):
                flo = -sp.oo if lo == -T.INF else sp.Integer(lo)
                fhi = sp.oo if hi == T.INF else sp.Integer(hi)
                if flo == sp.oo or fhi == -sp.oo:
                    return Interval(None, None, hi == T.INF, lo == -T.INF)
                return Interval(flo, fhi, hi == T.INF, lo == -T.INF)
            case T.Frac():
                return replace(UNBOUNDED, kind="frac", pos_inf=False, neg_inf=False)
            case T.Index(axis=axis, optional=opt):
                return self.axis_interval(axis, opt)
            case T.NoneType():
                return Interval(kind="none", may_none=True)
            case T.Token():
                return TOKEN
        return BOTTOM

    # -- recording
    def structural(self, e: A.Expr, state: dict, scope: dict) -> Interval:
        """A size the network's shape is built from (a trip count, a range's length): keyed like
        any expression, but not a value the network computes."""
        iv = self.eval(e, state, scope)
        self.sizes_only.update(id(x) for x in _subexprs(e))
        return iv

    def record(self, node, iv: Interval) -> Interval:
        if self.recording:
            key = id(node)
            self.exprs[key] = join(self.exprs.get(key, BOTTOM), iv)
            self.owner_of[key] = (self.owner, node)
        return iv

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- expressions
    def eval(self, e: A.Expr, state: dict, scope: dict) -> Interval:
        return self.record(e, self._eval(e, state, scope))

    def _eval(self, e: A.Expr, state: dict, scope: dict) -> Interval:
        match e:
            case A.IntLit(value=v):
                return const(v)
            case A.BoolLit(value=v):
                return const(int(v), "bool")
            case A.InfLit():
                return Interval(None, None, True, False, "int")
            case A.NoneLit():
                return Interval(kind="none", may_none=True)
            case A.StrLit():
                return TOKEN
            case A.Name(id=name):
                if name in scope:
                    return scope[name]
                if name in state:
                    return state[name]
                if name in self.size_vars:
                    s = size_symbol(name)
                    return Interval(s, s, kind="int")
                self.note(f"{_at(e.span)}: no range known for '{name}'; taken as unbounded")
                return UNBOUNDED
            case A.Neg(operand=x):
                return neg(self.eval(x, state, scope))
            case A.Not(operand=x):
                self.eval(x, state, scope)
                return BOOL
            case A.BinOp(op=op, left=left, right=right):
                a, b = self.eval(left, state, scope), self.eval(right, state, scope)
                match op:
                    case "+":
                        return add(a, b)
                    case "-":
                        return add(a, neg(b))
                    case "*":
                        return mul(a, b)
                    case "//":
                        return div(a, b, floor=True)
                    case "/":
                        return div(a, b, floor=False)
                    case "%":
                        return mod(a, b)
            case A.Compare(left=left, right=right) | A.BoolOp(left=left, right=right):
                self.eval(left, state, scope)
                self.eval(right, state, scope)
                return BOOL
            case A.IfExpr(then=then, cond=cond, orelse=orelse):
                self.eval(cond, state, scope)
                return join(self.eval(then, state, scope), self.eval(orelse, state, scope))
            case A.Index(base=base, indices=indices):
                elem = self.eval(base, state, scope)
                for i in indices:
                    self.eval(i, state, scope)
                return elem
            case A.Call():
                return self.call(e, state, scope)
            case A.Comprehension():
                return self.comprehension(e, state, scope)
            case A.Fold():
                return self.fold(e, state, scope)
        self.note(f"{_at(getattr(e, 'span', A.NOSPAN))}: no transfer function; taken as unbounded")
        return UNBOUNDED

    def call(self, e: A.Call, state: dict, scope: dict) -> Interval:
        args = [self.eval(a, state, scope) for a in e.args]
        match e.func:
            case "min" if e.func not in self.defs:
                return minimum(args)
            case "max" if e.func not in self.defs:
                return maximum(args)
            case "abs" if e.func not in self.defs:
                return absolute(args[0])
            case "edge" if e.func not in self.defs:
                return BOOL
            case "src" | "dst" if e.func not in self.defs:
                return self.axis_interval(T.NODE)
            case ("ceil" | "floor") as f if e.func not in self.defs:
                a = _numeric(args[0])
                op = sp.ceiling if f == "ceil" else sp.floor
                return replace(a, lo=op(a.lo), hi=op(a.hi), kind="int") if a.fin else a
            case "log2" if e.func not in self.defs:
                a = _numeric(args[0])
                if a.fin and le(1, a.lo):
                    return Interval(sp.log(a.lo, 2), sp.log(a.hi, 2), a.pos_inf, False, "frac")
                return replace(UNBOUNDED, kind="frac")
        if e.func in self.defs:
            return self.call_def(self.defs[e.func], args)
        self.note(f"{_at(e.span)}: no range known for '{e.func}(…)'; taken as unbounded")
        return UNBOUNDED

    def call_def(self, d: A.Def, args: list[Interval]) -> Interval:
        """The def's body is run on its arguments (each narrowed to the declared parameter type,
        which the interpreter enforces), and the result narrowed to the declared result type."""
        state = {}
        for p, a in zip(d.params, args):
            declared = self.from_type(T.from_syntax(p.type))
            state[p.name] = meet_declared(a, declared)
        saved = self.owner, self.results
        self.owner, self.results = d.name, None
        try:
            self.exec_block(d.body, state)
            got = self.results[0] if self.results else BOTTOM
        finally:
            self.owner, self.results = saved
        declared = self.from_type(T.from_syntax(d.result))
        if got.kind is None:
            return declared
        return meet_declared(got, declared)

    def domain(self, dom: A.Domain, state: dict, scope: dict):
        """(interval of the bound variable, size bound, whether the size is fixed)."""
        n = size_symbol("n")
        match dom:
            case A.Nodes():
                return self.axis_interval(T.NODE), n, True
            case A.Positions():
                return self.axis_interval(T.POS), n, True
            case A.Edges():
                return self.axis_interval(T.EDGE), size_symbol("m"), True
            case A.Range(size=size):
                self.structural(size, state, scope)
                s = size_to_sympy(size)
                return self.axis_interval(T.Axis("range", size)), smax(0, s), le(1, s)
            case A.In(of=of) | A.Out(of=of):
                self.eval(of, state, scope)
                # a multigraph may repeat an edge, so m is the only sound degree bound
                return self.axis_interval(T.NODE), size_symbol("m"), False
        raise ValueError(f"unknown domain {dom!r}")

    def comprehension(self, e: A.Comprehension, state: dict, scope: dict) -> Interval:
        var_iv, size, fixed = self.domain(e.domain, state, scope)
        inner = {**scope, e.var: var_iv}
        nonempty = fixed
        if e.cond is not None:
            self.eval(e.cond, state, inner)
            fixed = False
        # can the selection be empty? only an unfiltered nodes/positions/range(>=1) cannot
        nonempty = nonempty and e.cond is None
        body = self.eval(e.body, state, inner)
        match e.agg:
            case "any" | "all":
                return BOOL
            case "count":
                return Interval(size if fixed else sp.Integer(0), size, kind="int")
            case "sum":
                return scale_sum(body, size, fixed)
            case "mean":
                b = _numeric(body)
                return replace(b, kind="frac")
            case "min":
                b = _numeric(body)
                return b if nonempty else replace(b, pos_inf=True)
            case "max":
                b = _numeric(body)
                return b if nonempty else replace(b, neg_inf=True)
            case "argmin" | "argmax":
                return replace(var_iv, may_none=not nonempty)
            case "only":
                return replace(body, may_none=body.may_none or not nonempty)
        self.note(f"{_at(e.span)}: unknown aggregation '{e.agg}'; taken as unbounded")
        return UNBOUNDED

    def axes_of(self, e: A.Expr, state: dict) -> tuple[T.Axis, ...] | None:
        t = self.types.get(id(e))
        if isinstance(t, T.Field):
            return t.axes
        if isinstance(e, A.Name):
            return self.var_axes.get(e.id)
        return None

    def fold(self, e: A.Fold, state: dict, scope: dict) -> Interval:
        xs = self.eval(e.arg, state, scope)
        axes = self.axes_of(e.arg, state)
        length = self.axis_size(axes[0]) if axes else None
        prefix = e.kind == "scan"
        match e.op:
            case "xor" | "and" | "or":
                return BOOL
            case "min" | "max":
                return _numeric(xs)
            case "+":
                if length is None:
                    return UNBOUNDED
                total = scale_sum(xs, length, True)
                return join(_numeric(xs), total) if prefix else total
            case "*":
                x = _numeric(xs)
                if length is None or not x.fin:
                    return replace(UNBOUNDED, kind=x.kind)
                if le(0, x.lo):
                    return Interval(smin(x.lo, 0), smax(x.hi, x.hi ** length), x.pos_inf, False,
                                    x.kind)
                bound = smax(1, x.hi, -x.lo) ** length
                return Interval(-bound, bound, x.pos_inf or x.neg_inf, x.pos_inf or x.neg_inf,
                                x.kind)
        if e.op in self.defs:
            d = self.defs[e.op]
            declared = [self.from_type(T.from_syntax(p.type)) for p in d.params]
            return join(xs, self.call_def(d, declared))
        self.note(f"{_at(e.span)}: unknown fold operator '{e.op}'; taken as unbounded")
        return UNBOUNDED

    # -- statements
    def exec_block(self, body, state: dict) -> dict:
        for s in body:
            state = self.exec(s, state)
        return state

    def binder_axes(self, s: A.IndexedAssign) -> tuple[T.Axis, ...]:
        axes = self.assign_axes.get(id(s))
        if axes:
            return tuple(axes)
        if all(b.domain is not None for b in s.binders):
            return tuple(T.domain_axis(b.domain) for b in s.binders)
        if s.target in self.var_axes and len(self.var_axes[s.target]) == len(s.binders):
            return self.var_axes[s.target]
        default = {"graph": T.NODE, "seq": T.POS}.get(self.family)
        if default is None:
            default = T.Axis("range", A.Name("k"))
        return tuple(T.domain_axis(b.domain) if b.domain is not None else default
                     for b in s.binders)

    def exec(self, s, state: dict) -> dict:
        match s:
            case A.Assign(target=target, value=value):
                saved, self.owner = self.owner, target if self.owner == self.program.name \
                    else self.owner
                try:
                    iv = self.eval(value, state, {})
                finally:
                    self.owner = saved
                axes = self.axes_of(value, state)
                if axes is not None:
                    self.var_axes[target] = axes
                return self.assign(s, target, iv, state)
            case A.IndexedAssign(target=target, binders=binders, value=value):
                axes = self.binder_axes(s)
                self.var_axes[target] = axes
                scope = {b.name: self.axis_interval(ax) for b, ax in zip(binders, axes)}
                saved, self.owner = self.owner, target if self.owner == self.program.name \
                    else self.owner
                try:
                    iv = self.eval(value, state, scope)
                finally:
                    self.owner = saved
                return self.assign(s, target, iv, state)
            case A.Repeat():
                return self.repeat(s, state)
            case A.Return(values=values):
                saved, self.owner = self.owner, "result" if self.owner == self.program.name \
                    else self.owner
                try:
                    got = [self.eval(v, state, {}) for v in values]
                finally:
                    self.owner = saved
                if self.results is None:
                    self.results = got
                else:
                    self.results = [join(a, b) for a, b in zip(self.results, got)]
                return state
        return state

    def assign(self, s, target: str, iv: Interval, state: dict) -> dict:
        if self.recording:
            self.assignments[id(s)] = join(self.assignments.get(id(s), BOTTOM), iv)
            if self.owner == self.program.name:
                self.assign_nodes[id(s)] = (target, s.target_span)
        return {**state, target: iv}

    def repeat(self, s: A.Repeat, state: dict) -> dict:
        trips = size_to_sympy(s.count)
        if self.recording:
            self.structural(s.count, state, {})
        if not le(0, trips):
            trips = sp.Max(0, trips)
        carried = _assigned(s.body)
        recording, self.recording = self.recording, False
        try:
            history, cur = self._stabilise(s, state, carried)
            final, at_last = self._solve_loop(s, cur, carried, trips, len(history) - 1)
        finally:
            self.recording = recording
        if recording:
            # iteration i < t0 runs on history[i]; every later one on a state inside at_last
            for st in history[:-1] + [at_last]:
                self.exec_block(s.body, dict(st))
        return final

    def _stabilise(self, s: A.Repeat, state: dict, carried: set[str]):
        """Run the body on concrete bounds until no flag changes: afterwards only the finite
        bounds of int/frac variables still grow, and those become symbols."""
        history = [state]
        cur = state
        for _ in range(8 * len(carried) + 4):
            out = self.exec_block(s.body, dict(cur))
            nxt = {**cur, **{x: join(cur.get(x, BOTTOM), out[x]) for x in carried if x in out}}
            if all(_shape(nxt[x]) == _shape(cur.get(x, BOTTOM)) for x in carried if x in nxt):
                return history, cur
            cur = nxt
            history.append(cur)
        self.note(f"{_at(s.span)}: loop state did not settle; its variables are unbounded")
        return history, {**cur, **{x: UNBOUNDED for x in carried}}

    def _solve_loop(self, s: A.Repeat, cur: dict, carried: set[str], trips, t0: int):
        """Final state after `trips` iterations and the state bounding every iteration's input,
        from the recurrences of the symbolic bounds."""
        comps = {}  # (var, "hi"|"lo") -> (symbol, base)
        sym_state = dict(cur)
        tag = next(self.fresh)
        for x in sorted(carried):
            iv = cur.get(x, BOTTOM)
            if _shape(iv)[5]:
                dh = sp.Symbol(f"_d{tag}_{x}", nonnegative=True)
                dl = sp.Symbol(f"_e{tag}_{x}", nonnegative=True)
                comps[(x, "hi")] = (dh, iv.hi)
                comps[(x, "lo")] = (dl, iv.lo)
                sym_state[x] = replace(iv, lo=iv.lo - dl, hi=iv.hi + dh)
        if not comps:
            return cur, cur
        out = self.exec_block(s.body, dict(sym_state))
        growth = {}
        for (x, side), (sym, base) in comps.items():
            o = out.get(x, BOTTOM)
            if not o.fin:
                growth[(x, side)] = (sym, sp.Integer(0))
            else:
                growth[(x, side)] = (sym, o.hi - base if side == "hi" else base - o.lo)
        t = sp.Symbol(f"_t{tag}", integer=True, nonnegative=True)
        solved = self._solve_system(growth, t, s)
        final, last = dict(cur), dict(cur)
        for x in {x for x, _ in comps}:
            iv = cur[x]
            d_end = _relax_powers(capped_subs(solved[(x, "hi")], {t: trips - t0}))
            e_end = _relax_powers(capped_subs(solved[(x, "lo")], {t: trips - t0}))
            d_last = _relax_powers(capped_subs(solved[(x, "hi")], {t: trips - 1 - t0}))
            e_last = _relax_powers(capped_subs(solved[(x, "lo")], {t: trips - 1 - t0}))
            end = replace(iv, lo=sp.expand(iv.lo - e_end), hi=sp.expand(iv.hi + d_end))
            # with t0 concrete rounds a short loop may stop before the symbolic part begins
            final[x] = join(iv, end) if t0 else end
            last[x] = replace(iv, lo=sp.expand(iv.lo - e_last), hi=sp.expand(iv.hi + d_last))
        return final, last

    def _solve_system(self, growth: dict, t: sp.Symbol, s: A.Repeat) -> dict:
        """Closed forms D(t) for the components, strongly connected groups in dependency order;
        one shared bound per group (every g is nondecreasing in every symbol, so the largest
        component's growth bounds all of them)."""
        import networkx as nx  # lazily: only loops need it, and it costs 0.1 s of every start
        graph = nx.DiGraph()
        graph.add_nodes_from(growth)
        sym_of = {sym: key for key, (sym, _) in growth.items()}
        for key, (_, g) in growth.items():
            for sym in sp.sympify(g).free_symbols:
                if sym in sym_of:
                    graph.add_edge(sym_of[sym], key)
        cond = nx.condensation(graph)
        solved: dict = {}
        closed: dict = {}
        for c in nx.topological_sort(cond):
            members = cond.nodes[c]["members"]
            d = sp.Symbol(f"_D{next(self.fresh)}", nonnegative=True)
            gs = []
            for key in members:
                g = sp.sympify(growth[key][1]).subs(closed)
                gs.append(g.subs({growth[k][0]: d for k in members}))
            if any(g.has(sp.oo) for g in gs):
                sol = sp.oo
            else:
                sol = _solve_growth(gs, d, t)
                if sol is None:
                    names = ", ".join(sorted({k[0] for k in members}))
                    self.note(f"{_at(s.span)}: the growth of {names} per iteration is not "
                              "affine or geometric; taken as unbounded")
                    sol = sp.oo
            for key in members:
                solved[key] = sol
                closed[growth[key][0]] = sol
        return solved

    # -- the whole program
    def run(self) -> RangeReport:
        state = {}
        for p in self.program.params:
            t = T.from_syntax(p.type)
            if isinstance(t, T.Graph):
                continue
            iv = self.from_type(t)
            state[p.name] = iv
            if isinstance(t, T.Field):
                self.var_axes[p.name] = t.axes
            self.inputs[p.name] = (iv, p.span)
        self.results = None
        final = self.exec_block(self.program.body, state)
        results = tuple(self.results or ())
        names = tuple(getattr(self.checked, "result_names", None) or
                      _result_names(self.program))
        ret = next((x for x in reversed(self.program.body) if isinstance(x, A.Return)), None)
        if ret is not None:
            self.returned = [(name, v) for name, v in zip(names, ret.values)
                             if not isinstance(v, A.Name) and id(v) in self.exprs]
        max_abs, max_value, frac_abs = self._largest()
        variables = {k: v for k, v in final.items() if k not in self.inputs or k in
                     _assigned(self.program.body)}
        held = {name: iv for name, (iv, _) in self.inputs.items()}
        for key, (name, _) in self.assign_nodes.items():
            held[name] = join(held.get(name, BOTTOM), self.assignments[key])
        return RangeReport(self.program.name, self.family, tuple(sorted(self.size_vars)),
                           variables, held, dict(self.exprs), dict(self.assignments), results,
                           names,
                           max_abs, max_value, frac_abs, list(self.notes))

    def _largest(self):
        candidates: list[NamedValue] = []
        for key, (name, span) in self.assign_nodes.items():
            iv = self.assignments[key]
            candidates.append(NamedValue(name, span, iv, iv.magnitude(), "assignment"))
        for name, node in self.returned:
            iv = self.exprs[id(node)]
            candidates.append(NamedValue(name, node.span, iv, iv.magnitude(), "result"))
        for name, (iv, span) in self.inputs.items():
            candidates.append(NamedValue(name, span, iv, iv.magnitude(), "input"))
        for key, (owner, node) in self.owner_of.items():
            if key in self.sizes_only:
                continue
            iv = self.exprs[key]
            text = pretty_expr(node)
            if len(text) > 40:
                text = text[:37] + "..."
            candidates.append(NamedValue(f"{text} in {owner}", node.span, iv, iv.magnitude(),
                                         "expression"))
        ints = [c for c in candidates if c.interval.kind in _INTEGRAL]
        fracs = [c for c in candidates if c.interval.kind == "frac"]
        kept: list[NamedValue] = []
        for c in ints:
            if any(le(c.magnitude, k.magnitude) for k in kept):
                continue
            kept = [k for k in kept if not le(k.magnitude, c.magnitude)] + [c]
        if not kept:
            max_abs, top = sp.Integer(0), None
        else:
            max_abs = smax(*(k.magnitude for k in kept))
            top = max(kept, key=lambda k: _at_large(k.magnitude))
        frac_abs = smax(*(c.magnitude for c in fracs)) if fracs else None
        return max_abs, top, frac_abs


def _at_large(e: sp.Expr) -> float:
    """A magnitude at large sizes (n = m = k = 2^20), to pick which of several incomparable
    bounds to name: the one that decides exactness for the sizes that matter."""
    big = {s: sp.Integer(2 ** 20) for s in sp.sympify(e).free_symbols}
    try:
        v = capped_subs(e, big)
        return math.inf if v.has(sp.oo) else float(v)
    except (TypeError, ValueError):
        return math.inf


def _at(span: A.Span) -> str:
    return f"{span.file}:{span.line}:{span.col}"


def _subexprs(e):
    yield e
    for f in getattr(e, "__dataclass_fields__", ()):
        v = getattr(e, f)
        for x in v if isinstance(v, tuple) else (v,):
            if hasattr(x, "__dataclass_fields__") and not isinstance(x, A.Span):
                yield from _subexprs(x)


def _assigned(body) -> set[str]:
    out: set[str] = set()
    for s in body:
        match s:
            case A.Assign(target=t) | A.IndexedAssign(target=t):
                out.add(t)
            case A.Repeat(body=inner):
                out |= _assigned(inner)
    return out


def _family(program: A.Program) -> str:
    types = [T.from_syntax(p.type) for p in program.params]
    if any(isinstance(t, T.Graph) for t in types):
        return "graph"
    if any(isinstance(t, T.Field) and t.axes and t.axes[0].kind == "pos" for t in types):
        return "seq"
    return "bits"


def _default_sizes(family: str) -> frozenset[str]:
    return frozenset({"graph": ("n", "m"), "seq": ("n",), "bits": ("k",)}[family])


def _result_names(program: A.Program) -> tuple[str, ...]:
    ret = next((s for s in reversed(program.body) if isinstance(s, A.Return)), None)
    if ret is None:
        return ()
    if len(ret.values) == 1:
        v = ret.values[0]
        return (v.id if isinstance(v, A.Name) else "result",)
    return tuple(v.id if isinstance(v, A.Name) else f"result{i + 1}"
                 for i, v in enumerate(ret.values))


def value_ranges(checked) -> RangeReport:
    """Interval analysis of a checked program (`nclang.dsl.checker.CheckedProgram`)."""
    return _Analysis(checked).run()
