"""Interval arithmetic on integer ranges (`T.Int`).

Bounds are numbers, ±inf, or None: *finite but unknown* (the upper bound of a size `n`). A bound
of ±inf means the value itself may be ±inf, so the two never mix: -inf absorbs in a lower bound,
unknown absorbs the rest."""
from __future__ import annotations

from .. import types as T
from .names import INF


def _lo_min(a, b):
    """The lower bound of a join: -inf absorbs, unknown absorbs the rest."""
    if a == -INF or b == -INF:
        return -INF
    return None if a is None or b is None else min(a, b)


def _hi_max(a, b):
    if a == INF or b == INF:
        return INF
    return None if a is None or b is None else max(a, b)


def _hi_min(a, b):
    """The upper bound of min(x, y): an unknown finite bound still sits below the other one."""
    if a is None:
        return None if b == INF else b
    if b is None:
        return None if a == INF else a
    return min(a, b)


def _lo_max(a, b):
    if a is None:
        return None if b == -INF else b
    if b is None:
        return None if a == -INF else a
    return max(a, b)


def _add_bound(a, b):
    if a is None or b is None:
        other = b if a is None else a
        return other if other in (INF, -INF) else None
    s = a + b
    return None if s != s else s


def _neg_bound(a):
    return None if a is None else -a


def _int_add(x: T.Int, y: T.Int) -> T.Int:
    return T.Int(_add_bound(x.lo, y.lo), _add_bound(x.hi, y.hi))


def _int_neg(x: T.Int) -> T.Int:
    return T.Int(_neg_bound(x.hi), _neg_bound(x.lo))


def _has_inf(*xs: T.Int) -> bool:
    return any(b in (INF, -INF) for x in xs for b in (x.lo, x.hi))


def _unknown_int(*xs: T.Int) -> T.Int:
    return T.Int(-INF, INF) if _has_inf(*xs) else T.Int(None, None)


def _int_mul(x: T.Int, y: T.Int) -> T.Int:
    if None in (x.lo, x.hi, y.lo, y.hi):
        return _mul_half_known(x, y)
    corners = [a * b for a in (x.lo, x.hi) for b in (y.lo, y.hi)]
    corners = [c for c in corners if c == c]  # 0 * inf is a run-time error, not a value
    return T.Int(min(corners), max(corners)) if corners else _unknown_int(x, y)


def _mul_half_known(x: T.Int, y: T.Int) -> T.Int:
    """x * y where a bound is unknown (None: finite, but not bounded by anything known, as the
    upper bound of a size `n` is). The product's bounds follow from the signs, as `_int_add`'s
    do: `100 * n` is int[100..] just as `n + n` is int[2..]. With a possibly infinite operand,
    or an unknown bound on both sides of one operand, nothing is known."""
    if _has_inf(x, y) or (x.lo is None and x.hi is None) or (y.lo is None and y.hi is None):
        return _unknown_int(x, y)
    # An unknown bound is an unbounded side: -oo below, +oo above (float infinities only as a
    # device here; they map back to None). 0 times an unbounded finite value is 0.
    lo = lambda b: -INF if b is None else b
    hi = lambda b: INF if b is None else b
    corners = [0 if 0 in (a, b) else a * b
               for a in (lo(x.lo), hi(x.hi)) for b in (lo(y.lo), hi(y.hi))]
    low, high = min(corners), max(corners)
    return T.Int(None if low == -INF else low, None if high == INF else high)


def _int_floordiv(x: T.Int, y: T.Int) -> T.Int:
    if _has_inf(x, y) or y.lo is None or y.hi is None or y.lo <= 0 <= y.hi:
        return _unknown_int(x, y)
    if y.lo > 0:
        # Each bound of x divides on its own, so an unknown one stays unknown alone.
        lo = None if x.lo is None else x.lo // (y.hi if x.lo >= 0 else y.lo)
        hi = None if x.hi is None else x.hi // (y.lo if x.hi >= 0 else y.hi)
        return T.Int(lo, hi)
    if x.lo is None or x.hi is None:
        return T.Int(None, None)
    corners = [a // b for a in (x.lo, x.hi) for b in (y.lo, y.hi)]
    return T.Int(min(corners), max(corners))


def _int_mod(x: T.Int, y: T.Int) -> T.Int:
    if y.lo is not None and y.hi is not None and not _has_inf(y):
        if y.lo > 0:
            if x.lo is not None and x.hi is not None and 0 <= x.lo and x.hi < y.lo:
                return x
            return T.Int(0, y.hi - 1)
        if y.hi < 0:
            return T.Int(y.lo + 1, 0)
    return T.Int(None, None)


def _int_abs(x: T.Int) -> T.Int:
    if x.lo is not None and x.lo >= 0:
        return x
    if x.hi is not None and x.hi <= 0:
        return _int_neg(x)
    return T.Int(0, _hi_max(_neg_bound(x.lo), x.hi))


def _times(bound, count):
    return 0 if count == 0 else bound * count


def _int_sum(x: T.Int, count: T.Int) -> T.Int:
    """The range of a sum of `count` values in `x` (count ≥ 0)."""
    c_lo, c_hi = count.lo or 0, count.hi
    if x.lo is None or x.lo == -INF:
        lo = x.lo
    elif x.lo >= 0:
        lo = _times(x.lo, c_lo)
    else:
        lo = None if c_hi is None else _times(x.lo, c_hi)
    if x.hi is None or x.hi == INF:
        hi = x.hi
    elif x.hi <= 0:
        hi = _times(x.hi, c_lo)
    else:
        hi = None if c_hi is None else _times(x.hi, c_hi)
    return T.Int(lo, hi)


def _may_be_inf(t: T.Int) -> bool:
    return t.lo == -INF or t.hi == INF
