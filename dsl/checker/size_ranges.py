"""The range of a size expression (`n - 1`, `ceil(log2(k))`) given the ranges of the size
variables: the checker types sizes by interval, before any size has a value (the exact value at
given sizes is `nclang.dsl.sizes.eval_size`)."""
from __future__ import annotations

from .. import ast as A
from .. import types as T
from ..sizes import ceil_log2, floor_log2
from .intervals import _int_add, _int_floordiv, _int_mul, _int_neg
from .names import INF


def _size_value(e: A.Expr, sizes: dict[str, T.Int]) -> T.Int:
    """The range of a (valid) size expression, given the ranges of the size variables."""
    match e:
        case A.IntLit(value=v):
            return T.Int(v, v)
        case A.Name(id=x):
            return sizes.get(x, T.Int(None, None))
        case A.BinOp(op=op, left=l, right=r):
            x, y = _size_value(l, sizes), _size_value(r, sizes)
            match op:
                case "+":
                    return _int_add(x, y)
                case "-":
                    return _int_add(x, _int_neg(y))
                case "*":
                    return _int_mul(x, y)
                case "//":
                    return _int_floordiv(x, y)
        case A.Call(func="ceil" | "floor" as f, args=(A.Call(func="log2", args=(arg,)),)):
            return _log2(_size_value(arg, sizes), f)
        case A.Call(func="log2", args=(arg,)):
            x = _size_value(arg, sizes)
            return T.Int(_log2(x, "floor").lo, _log2(x, "ceil").hi)
        case A.Call(func="ceil" | "floor", args=(arg,)):
            return _size_value(arg, sizes)
    return T.Int(None, None)


def _log2(x: T.Int, rounding: str) -> T.Int:
    def one(b):
        if b is None or b == INF or b < 1:
            return None
        b = int(b)
        return ceil_log2(b) if rounding == "ceil" else floor_log2(b)
    return T.Int(one(x.lo), one(x.hi))


def _size_vars_of(texpr) -> list[str]:
    """Names used in the sizes of `bits[...]` / `vec[..., ...]` in a type expression."""
    names = []
    for node in A.walk(texpr):
        if isinstance(node, (A.BitsType, A.VecType)):
            names += [n.id for n in A.walk(node.size) if isinstance(n, A.Name)]
    return names
