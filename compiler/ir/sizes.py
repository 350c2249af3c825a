"""Size formulas: the sympy symbols of the size variables (n, m, k, …), the formula of a checked
size expression, and how a formula prints (in the language's own notation) and evaluates.

Every module takes its size symbols from here, so that the IR, the analyses and the targets speak
of the same variables.
"""
from __future__ import annotations

import math
from fractions import Fraction

import sympy
from sympy.printing.str import StrPrinter

from nclang.dsl import ast as A
from nclang.dsl.sizes import ceil_log2, floor_log2

# Size variables: nodes or positions, edges, bit width. sympy tells symbols apart by their
# assumptions as well as their names, so every module takes them from `size_symbol`: two
# definitions of `m` would be two different variables that print alike.
SIZE_SYMBOLS: dict[str, sympy.Symbol] = {
    "n": sympy.Symbol("n", integer=True, positive=True),
    # a graph may have no edges
    "m": sympy.Symbol("m", integer=True, nonnegative=True),
    "k": sympy.Symbol("k", integer=True, positive=True),
}


def size_symbol(name: str) -> sympy.Symbol:
    """The sympy symbol of size variable `name`: an integer, at least 1 except `m`, which is at
    least 0. Other names (a bit width `w` in `bits[w]`) are positive integers."""
    if name in SIZE_SYMBOLS:
        return SIZE_SYMBOLS[name]
    return _OTHER_SIZES.setdefault(name, sympy.Symbol(name, integer=True, positive=True))


_OTHER_SIZES: dict[str, sympy.Symbol] = {}


N, M, K = size_symbol("n"), size_symbol("m"), size_symbol("k")


class log2(sympy.Function):  # noqa: N801 - printed as the language writes it
    """`log2(x)`, kept symbolic so that formulas print as the language writes them."""

    @classmethod
    def eval(cls, x):
        if x.is_Integer and x > 0 and int(x) & (int(x) - 1) == 0:
            return sympy.Integer(int(x).bit_length() - 1)
        return None

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sympy.log(x) / sympy.log(2)

    def _eval_is_nonnegative(self):
        x = self.args[0]
        if x.is_positive and x.is_integer:
            return True
        return None

    def _eval_is_real(self):
        return self.args[0].is_positive


class _Printer(StrPrinter):
    def _print_ceiling(self, expr):
        return f"ceil({self._print(expr.args[0])})"

    def _print_floor(self, expr):
        return f"floor({self._print(expr.args[0])})"


def format_size(expr) -> str:
    """A size or cost formula in the language's own notation (`ceil(log2(n))`)."""
    return _Printer().doprint(sympy.sympify(expr))


def size_value(expr, sizes: dict[str, int]) -> float:
    """The numeric value of a formula at concrete sizes (floats: used to compare formulas)."""
    values = {size_symbol(name): float(v) for name, v in sizes.items()}
    return _eval(sympy.sympify(expr), values)


def size_int(expr, sizes: dict[str, int]) -> int:
    """The exact integer value of a size formula at concrete sizes: what widths, shapes and trip
    counts are built from. Exact rationals throughout (`size_value`'s floats get
    `ceil(log2(2^40 + 1))` wrong); log2 of a value below 1 is 0, as there (a tree over no leaves
    has no depth). ValueError for a formula whose value is not an integer there."""
    value = _exact(sympy.sympify(expr), {size_symbol(k): int(v) for k, v in sizes.items()})
    if value.denominator != 1:
        shown = ", ".join(f"{k} = {v}" for k, v in sorted(sizes.items()))
        raise ValueError(f"{format_size(expr)} is {value}, not an integer, at {shown}")
    return int(value)


def _log2_rounded(x: Fraction, up: bool) -> int:
    if x < 1:
        return 0
    # log2 is increasing: ceil(log2 x) = ceil(log2 ceil x), floor(log2 x) = floor(log2 floor x)
    return ceil_log2(math.ceil(x)) if up else floor_log2(math.floor(x))


def _exact(e, values: dict) -> Fraction:
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    if e.is_Symbol:
        return Fraction(values[e])
    if isinstance(e, (sympy.ceiling, sympy.floor)) and isinstance(e.args[0], log2):
        return Fraction(_log2_rounded(_exact(e.args[0].args[0], values),
                                      isinstance(e, sympy.ceiling)))
    args = [_exact(a, values) for a in e.args]
    if e.is_Add:
        return sum(args, Fraction(0))
    if e.is_Mul:
        return math.prod(args, start=Fraction(1))
    if e.is_Pow and args[1].denominator == 1:
        return args[0] ** int(args[1])
    if isinstance(e, log2):
        x = args[0]
        if x < 1:
            return Fraction(0)
        if x.denominator == 1 and x.numerator & (x.numerator - 1) == 0:
            return Fraction(floor_log2(x.numerator))
        raise ValueError(f"log2({x}) is not rational")
    if isinstance(e, sympy.ceiling):
        return Fraction(math.ceil(args[0]))
    if isinstance(e, sympy.floor):
        return Fraction(math.floor(args[0]))
    if isinstance(e, sympy.Max):
        return max(args)
    if isinstance(e, sympy.Min):
        return min(args)
    raise ValueError(f"cannot evaluate {e} exactly")


def _eval(e, values: dict) -> float:
    if e.is_Number:
        return float(e)
    if e.is_Symbol:
        return values[e]
    args = [_eval(a, values) for a in e.args]
    if e.is_Add:
        return math.fsum(args)
    if e.is_Mul:
        return math.prod(args)
    if e.is_Pow:
        return args[0] ** args[1]
    if isinstance(e, log2):
        # a tree over fewer than one leaf (range(k - 1) at k = 1) has no depth: log2 of a size
        # below 1 counts as 0 rather than a math domain error
        return math.log2(args[0]) if args[0] >= 1 else 0.0
    if isinstance(e, sympy.log):
        return math.log(args[0])
    if isinstance(e, sympy.ceiling):
        return float(math.ceil(args[0] - 1e-9))
    if isinstance(e, sympy.floor):
        return float(math.floor(args[0] + 1e-9))
    if isinstance(e, sympy.Max):
        return max(args)
    if isinstance(e, sympy.Min):
        return min(args)
    raise TypeError(f"cannot evaluate {e}")


def size_formula(expr: A.Expr, log=None) -> sympy.Expr:
    """The sympy formula of a size expression (the checker has already validated it). `log`
    builds `log2(x)`: by default the printable `log2` function; the range analysis passes sympy's
    real logarithm, which it can solve with."""
    log = log or log2
    match expr:
        case A.IntLit(value=v):
            return sympy.Integer(v)
        case A.Name(id=name):
            return size_symbol(name)
        case A.Neg(operand=x):
            return -size_formula(x, log)
        case A.BinOp(op=op, left=left, right=right):
            a, b = size_formula(left, log), size_formula(right, log)
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "//":
                return sympy.floor(a / b)
        case A.Call(func="log2", args=(x,)):
            return log(size_formula(x, log))
        case A.Call(func="ceil", args=(x,)):
            return sympy.ceiling(size_formula(x, log))
        case A.Call(func="floor", args=(x,)):
            return sympy.floor(size_formula(x, log))
    raise ValueError(f"not a size expression: {expr!r}")


def is_size_expr(expr: A.Expr, sizes: frozenset[str]) -> bool:
    """Whether `expr` is built from integers and the names in `sizes` only. `sizes` is the
    program's own size variables less every name a variable or binder shadows there: a local `m`
    of a sequence program is a variable, not the edge count of a graph it does not have."""
    match expr:
        case A.IntLit():
            return True
        case A.Name(id=name):
            return name in sizes
        case A.Neg(operand=x):
            return is_size_expr(x, sizes)
        case A.BinOp(op=op, left=left, right=right) if op in ("+", "-", "*", "//"):
            return is_size_expr(left, sizes) and is_size_expr(right, sizes)
        case A.Call(func="log2" | "ceil" | "floor", args=(x,)):
            return is_size_expr(x, sizes)
    return False


