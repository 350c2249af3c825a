"""Checks of size expressions: the syntax a size may use, and the rules that make it an integer
at every size (a divisor at least 1; log2 of at least 1, rounded unless a power of two)."""
from __future__ import annotations

from .. import ast as A
from ..diagnostics import did_you_mean
from .messages import _bound_str, _expr_str
from .relations import ERR
from .size_ranges import _size_value


class SizeChecks:
    """The size half of `body._Checker`; a mixin, so it holds no state of its own."""

    # ---- sizes

    def size_expr(self, e):
        """Check a size expression and give its range: integers, size variables, + - * //,
        ceil, floor and log2."""
        bad = self.bad_size(e)
        if bad is not None:
            return ERR
        for node in A.walk(e):
            self.types[id(node)] = _size_value(node, self.sizes)
        return self.types[id(e)]

    def bad_size(self, e, rounded: bool = False):
        """The error (ERR) when `e` is not a valid size expression, else None. `rounded`: `e` is
        the argument of ceil or floor. Beyond the syntax, the rules that make a size an integer
        at every size: a divisor is at least 1, and log2 takes at least 1 and, unless its value
        is a constant power of two, sits directly under ceil or floor."""
        rule = (f"a size uses integers, {', '.join(sorted(self.sizes)) or 'size variables'}, "
                "+ - * //, ceil, floor and log2")
        match e:
            case A.BinOp(op="//", left=l, right=r):
                if self.bad_size(l) or self.bad_size(r):
                    return ERR
                divisor = _size_value(r, self.sizes)
                if divisor.lo is None or divisor.lo < 1:
                    text, low = _expr_str(r), _bound_str(divisor.lo)
                    if divisor.lo is not None and divisor.lo == divisor.hi:
                        what = f"division by {text}" + ("" if text == low else f", which is {low}")
                    else:
                        what = f"the divisor {text} of a size may be {low}"
                    return self.err(r.span, "bad-size", f"{what}: a size divides only by values "
                                    "of at least 1 at every size")
                return None
            case A.Call(func="log2", args=(arg,)):
                if self.bad_size(arg):
                    return ERR
                x = _size_value(arg, self.sizes)
                if x.lo is None or x.lo < 1:
                    return self.err(e.span, "bad-size",
                                    f"log2({_expr_str(arg)}) is undefined where its argument is "
                                    f"{_bound_str(x.lo)}; log2 needs at least 1 at every size")
                constant_power = x.lo == x.hi and int(x.lo) & (int(x.lo) - 1) == 0
                if not rounded and not constant_power:
                    return self.err(e.span, "bad-size",
                                    f"log2({_expr_str(arg)}) is not an integer at every size; "
                                    f"round it: ceil(log2({_expr_str(arg)})) or "
                                    f"floor(log2({_expr_str(arg)}))")
                return None
            case A.Call(func="ceil" | "floor", args=(arg,)):
                return self.bad_size(arg, rounded=True)
        match e:
            case A.IntLit():
                return None
            case A.Name(id=x) if x in self.sizes:
                return None
            case A.Name(id=x):
                known = (x in self.vars or x in self.params
                         or any(n == x for n, _, _ in self.scope))
                if known:
                    return self.err(e.span, "bad-size", f"'{x}' is not a size variable; {rule}")
                return self.err(e.span, "unknown-name", f"unknown size variable '{x}'"
                                + did_you_mean(x, self.sizes))
            case A.BinOp(op="+" | "-" | "*", left=l, right=r):
                return self.bad_size(l) or self.bad_size(r)
        return self.err(e.span, "bad-size", f"not a size expression; {rule}")
