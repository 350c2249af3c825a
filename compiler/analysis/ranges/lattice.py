"""The interval lattice of the range analysis: `Interval` (a finite part plus the flags `inf`,
`-inf` and `none`), its join, and the transfer function of every arithmetic operation."""
from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from .prover import le, smax, smin

NUMERIC = ("int", "frac", "index", "bool")
_INTEGRAL = ("int", "index", "bool")


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
