"""Relations between checker types: the join of two types, whether a value may flow into a
declared type, and the widening of a variable carried round a loop.

`ERR`, the type of an expression that already has an error, is defined here because every
relation treats it first: it matches everything, so one error does not cascade."""
from __future__ import annotations

from dataclasses import dataclass

from .. import types as T
from .intervals import _hi_max, _lo_min
from .messages import _fmt
from .names import INF
from .size_ranges import _size_value


@dataclass(frozen=True)
class ErrorType:
    """The type of an expression that already has an error; it matches everything."""

    def __str__(self):
        return "error"


ERR = ErrorType()


def _join(a, b):
    """The least type holding both, or None when there is none."""
    if a is ERR or b is ERR:
        return ERR
    if isinstance(a, T.Field) or isinstance(b, T.Field):
        if not (isinstance(a, T.Field) and isinstance(b, T.Field)) or a.axes != b.axes:
            return None
        elem = _join(a.elem, b.elem)
        return None if elem is None else T.Field(a.axes, elem, a.bits and b.bits)
    if a == b:
        return a
    match a, b:
        case T.Int(), T.Int():
            return T.Int(_lo_min(a.lo, b.lo), _hi_max(a.hi, b.hi))
        case (T.Int() | T.Frac(), T.Frac()) | (T.Frac(), T.Int()):
            return T.Frac()
        case T.Index(), T.Index() if a.axis == b.axis:
            return T.Index(a.axis, a.optional or b.optional)
        case (T.Index(), T.NoneType()) | (T.NoneType(), T.Index()):
            idx = a if isinstance(a, T.Index) else b
            return T.Index(idx.axis, True)
    ia, ib = _as_int(a), _as_int(b)
    if ia is not None and ib is not None and not _optional(a) and not _optional(b):
        if isinstance(a, T.Index) and isinstance(b, T.Index) and a.axis.kind != b.axis.kind:
            return None
        return _join(ia, ib)
    return None


def _optional(t) -> bool:
    return isinstance(t, T.Index) and t.optional


def _as_int(t, sizes: dict | None = None):
    """An integer's range, an index used as an integer, or None for other types."""
    if isinstance(t, T.Int):
        return t
    if isinstance(t, T.Index):
        if t.axis.kind == "range" and sizes is not None:
            hi = _size_value(t.axis.size, sizes).hi
            return T.Int(0, None if hi is None else hi - 1)
        return T.Int(0, None)
    return None


def _widen(old, new, first: bool):
    """The type a variable carried round a loop gets after one more pass."""
    joined = _join(old, new)
    if joined is None or joined is ERR or first:
        return old if joined is None else joined
    if isinstance(joined, T.Field):
        return T.Field(joined.axes, _widen(old.elem, joined.elem, False), joined.bits)
    if isinstance(joined, T.Int) and isinstance(old, T.Int):
        lo = old.lo if joined.lo == old.lo or joined.lo == -INF else None
        hi = old.hi if joined.hi == old.hi or joined.hi == INF else None
        return T.Int(joined.lo if joined.lo == -INF else lo, joined.hi if joined.hi == INF else hi)
    return joined


def _accepts(declared, actual) -> tuple[str, str] | None:
    """(code, message) when a value of type `actual` cannot flow into `declared`."""
    if actual is ERR or declared is ERR:
        return None
    if isinstance(declared, T.Field):
        if not isinstance(actual, T.Field) or len(actual.axes) != len(declared.axes) or any(
                d.kind != a.kind for d, a in zip(declared.axes, actual.axes)):
            return "type-mismatch", f"expected {_fmt(declared)}, got {_fmt(actual)}"
        found = _accepts(declared.elem, actual.elem)
        if found is not None and found[0] == "inf-not-allowed":
            return found[0], (f"{_fmt(actual)} may hold inf, which {_fmt(declared)} "
                              "does not allow")
        if found is not None:
            return found[0], f"expected {_fmt(declared)}, got {_fmt(actual)}"
        return None
    if isinstance(actual, (T.Field, T.Graph)):
        return "type-mismatch", f"expected {_fmt(declared)}, got {_fmt(actual)}"
    mismatch = ("type-mismatch", f"expected {_fmt(declared)}, got {_fmt(actual)}")
    match declared:
        case T.Bool() | T.Token():
            return None if actual == declared else mismatch
        case T.Frac():
            return None if isinstance(actual, (T.Int, T.Frac)) else mismatch
        case T.Index():
            if isinstance(actual, T.Index):
                return None if actual.axis.kind == declared.axis.kind else mismatch
            return None if isinstance(actual, (T.NoneType, T.Int)) else mismatch
        case T.Int():
            value = _as_int(actual)
            if value is None or _optional(actual):
                return mismatch
            if declared.lo is None:
                return None
            if ((value.hi == INF and declared.hi != INF)
                    or (value.lo == -INF and declared.lo != -INF)):
                return "inf-not-allowed", (f"this value may be inf ({_fmt(actual)}), which "
                                           f"{_fmt(declared)} does not allow")
            return None
    return mismatch
