"""Exact evaluation of size expressions (`n - 1`, `ceil(log2(n))`, `2 * k`, …).

Sizes decide loop counts and array shapes, so they are computed on Python integers only: a float
`log2` would round `log2(2**50 + 1)` to 50.0 and silently lose a round. `floor_log2` and
`ceil_log2` are that integer arithmetic, and every exact size evaluation uses them: this module's
(on the AST), the checker's ranges of sizes, and `nclang.compiler.formula` (on a weight file's
text, which must not import more than this).
"""
from __future__ import annotations

from . import ast as A
from .diagnostics import NclError


class _Log2:
    """`log2(x)` of a non-power of two: legal only as the argument of `ceil` or `floor`."""

    def __init__(self, x: int, span: A.Span):
        self.x = x
        self.span = span


def floor_log2(x: int) -> int:
    """floor(log2(x)) of an integer x >= 1, exactly."""
    return x.bit_length() - 1


def ceil_log2(x: int) -> int:
    """ceil(log2(x)) of an integer x >= 1, exactly."""
    return (x - 1).bit_length()


def _bad(span: A.Span, message: str) -> NclError:
    return NclError.at(span, "bad-size", message)


def eval_size(expr: A.Expr, sizes: dict[str, int]) -> int:
    """The integer value of size expression `expr` given the size variables in `sizes`."""
    value = _eval(expr, sizes)
    if isinstance(value, _Log2):
        raise _bad(value.span, f"log2({value.x}) is not an integer; "
                               "use ceil(log2(…)) or floor(log2(…))")
    return value


def _int(expr: A.Expr, sizes: dict[str, int]) -> int:
    return eval_size(expr, sizes)


def _eval(expr: A.Expr, sizes: dict[str, int]) -> int | _Log2:
    match expr:
        case A.IntLit(value=v):
            return int(v)
        case A.Name(id=name):
            if name not in sizes:
                known = ", ".join(sorted(sizes)) or "none"
                raise _bad(expr.span, f"'{name}' is not a size variable (known: {known})")
            return int(sizes[name])
        case A.Neg(operand=x):
            return -_int(x, sizes)
        case A.BinOp(op=op, left=left, right=right):
            a, b = _int(left, sizes), _int(right, sizes)
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "//":
                if b == 0:
                    raise _bad(expr.span, "division by zero in a size expression")
                return a // b
            raise _bad(expr.span, f"'{op}' is not allowed in a size expression (use + - * //)")
        case A.Call(func="log2", args=(x,)):
            v = _int(x, sizes)
            if v < 1:
                raise _bad(expr.span, f"log2({v}) is undefined: its argument must be at least 1")
            if v & (v - 1) == 0:
                return floor_log2(v)
            return _Log2(v, expr.span)
        case A.Call(func=("ceil" | "floor") as func, args=(x,)):
            inner = _eval(x, sizes)
            if isinstance(inner, _Log2):
                return ceil_log2(inner.x) if func == "ceil" else floor_log2(inner.x)
            return inner
    raise _bad(getattr(expr, "span", A.NOSPAN),
               "not a size expression: sizes are built from integers, n, m, k, + - * //, "
               "ceil, floor and log2")
