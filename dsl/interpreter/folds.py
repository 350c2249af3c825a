"""`scan` and `reduce` over a one-axis field: inclusive prefixes of a builtin operator or of an
associative def."""
from __future__ import annotations

import numpy as np

from .. import ast as A
from .. import types as T
from .values import _Ctx, RunError, Stored, Val


class FoldEval:
    """A mixin of `program._Interp`: the state it reads is the interpreter's."""

    # ------------------------------------------------------------ scan and reduce

    _BUILTIN = {"xor": np.logical_xor, "and": np.logical_and, "or": np.logical_or,
                "+": np.add, "*": np.multiply, "min": np.minimum, "max": np.maximum}

    def fold(self, f: A.Fold, ctx: _Ctx) -> tuple[np.ndarray, str, tuple[T.Axis, ...]]:
        """The inclusive prefixes of `f.op` over f's one-axis field."""
        st, label = self.field_of(f.arg, ctx)
        if st.data.ndim != 1:
            raise RunError(f.arg.span, "bad-fold", f"{f.kind}() needs a one-axis field; "
                                                   f"'{label}' has {st.data.ndim}")
        if ctx.mask is not None and not ctx.mask.data.any():
            return st.data.copy(), st.kind, st.axes
        if len(st.data) == 0:
            raise RunError(f.span, "empty-fold", f"{f.kind}() over an empty field")
        if f.op in self.defs:
            kind = T.scalar_kind(T.from_syntax(self.defs[f.op].result))
            return self.fold_def(f, st), kind, st.axes
        fn = self._BUILTIN.get(f.op)
        if fn is None:
            raise RunError(f.op_span, "unknown-function", f"'{f.op}' is not an operator or a def")
        data = st.data
        kind = st.kind
        if f.op in ("xor", "and", "or"):
            if kind != "bool":
                raise RunError(f.op_span, "bad-operand", f"{f.op} folds booleans")
            return fn.accumulate(data), "bool", st.axes
        root = self.root()
        if kind == "index":
            data = self.num(Val(data, (), kind), root, f.arg.span)
            kind = "int"
        if kind == "bool":
            raise RunError(f.op_span, "bad-operand", f"'{f.op}' folds numbers")
        with np.errstate(all="ignore"):
            out = fn.accumulate(data.astype(np.float64))
        ax = self.new_axis(len(out), lambda i, name=label: f"{name} prefix ending at {i}")
        text = "inf + -inf is undefined" if f.op == "+" else "0 * inf is undefined"
        self.fail_if(Val(np.isnan(out), (ax,), "bool"), root, f.span, "inf-arith", text)
        if kind == "int":
            self.check_int(out, (ax,), root, f.span)
        return out, kind, st.axes

    def fold_def(self, f: A.Fold, st: Stored) -> np.ndarray:
        """Hillis–Steele: after the step of stride d, y[i] folds xs[i - 2d + 1 .. i]; the
        associativity the checker proves is what makes this equal the left-to-right fold."""
        d_ = self.defs[f.op]
        y = st.data.copy()
        kind = st.kind
        root = self.root()
        stride = 1
        while stride < len(y):
            ax = self.new_axis(len(y) - stride,
                               lambda i, s=stride: f"{f.kind} step {s}, element {i + s}")
            a = Val(y[:-stride], (ax,), kind)
            b = Val(y[stride:], (ax,), kind)
            r = self.call_def(d_, [a, b], (f.arg, f.arg), f.span, root)
            y = y.copy() if r.data.dtype == y.dtype else y.astype(r.data.dtype)
            y[stride:] = np.broadcast_to(r.data, (len(y) - stride,))
            kind = r.kind
            stride *= 2
        return y

    def scan_field(self, f: A.Fold, ctx: _Ctx) -> Stored:
        data, kind, axes = self.fold(f, ctx)
        return Stored(data, kind, axes)

    def reduce_fold(self, f: A.Fold, ctx: _Ctx) -> Val:
        data, kind, _ = self.fold(f, ctx)
        return Val(np.array(data[-1]), (), kind)
