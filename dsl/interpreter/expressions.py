"""Evaluating expressions: names, arithmetic (with its run-time checks), comparisons, and the
lazy operators, which narrow the active mask before the operand that may fail."""
from __future__ import annotations

import numpy as np

from .. import ast as A
from ..values import EXACT_INT_LIMIT, NONE_INDEX
from .values import _Ctx, RunError, Val, _and_mask, _fmt, _lift, _union


class ExpressionEval:
    """A mixin of `program._Interp`: the state it reads is the interpreter's."""

    # ------------------------------------------------------------ expressions

    def ev(self, e: A.Expr, ctx: _Ctx) -> Val:
        match e:
            case A.IntLit(value=v):
                if abs(v) >= EXACT_INT_LIMIT:
                    raise RunError(e.span, "too-large", f"{v} is too large to represent exactly "
                                                        "(beyond 2^53)")
                return Val(np.array(float(v)), (), "int")
            case A.BoolLit(value=v):
                return Val(np.array(bool(v)), (), "bool")
            case A.InfLit():
                return Val(np.array(np.inf), (), "int")
            case A.NoneLit():
                return Val(np.array(NONE_INDEX, dtype=np.int64), (), "index")
            case A.StrLit(value=v):
                arr = np.empty((), dtype=object)
                arr[()] = v
                return Val(arr, (), "token")
            case A.Name():
                return self.name(e, ctx)
            case A.Neg(operand=x):
                v = self.ev(x, ctx)
                return Val(-self.num(v, ctx, x.span), v.axes,
                           "frac" if v.kind == "frac" else "int")
            case A.Not(operand=x):
                v = self.ev(x, ctx)
                return Val(~v.data.astype(bool), v.axes, "bool")
            case A.BinOp():
                return self.arith(e, ctx)
            case A.Compare():
                return self.compare(e, ctx)
            case A.BoolOp():
                return self.boolop(e, ctx)
            case A.IfExpr():
                return self.ifexpr(e, ctx)
            case A.Index():
                return self.index(e, ctx)
            case A.Call():
                return self.call(e, ctx)
            case A.Comprehension():
                return self.comprehension(e, ctx)
            case A.Fold():
                if e.kind == "scan":
                    raise RunError(e.span, "bad-scan", "scan(…) gives a whole field: assign it "
                                                       "to a name, or index it")
                return self.reduce_fold(e, ctx)
        raise RunError(getattr(e, "span", A.NOSPAN), "internal", f"cannot evaluate {e!r}")

    def name(self, e: A.Name, ctx: _Ctx) -> Val:
        if e.id in ctx.vars:
            return ctx.vars[e.id]
        if ctx.env is not None and e.id in ctx.env:
            st = ctx.env[e.id]
            if st.data.ndim:
                raise RunError(e.span, "bad-field", f"'{e.id}' is a field; index it to read an "
                                                    "element")
            return Val(st.data, (), st.kind)
        if e.id in self.sizes:
            return Val(np.array(float(self.sizes[e.id])), (), "int")
        raise RunError(e.span, "unknown-name", f"'{e.id}' has no value here")

    def num(self, v: Val, ctx: _Ctx, span: A.Span) -> np.ndarray:
        """v as float64 numbers: booleans count 1, an index is its integer value."""
        if v.kind in ("int", "frac"):
            return v.data
        if v.kind == "index":
            self.fail_if(Val(v.data == NONE_INDEX, v.axes, "bool"), ctx, span, "none-value",
                         "none used as a number")
            return v.data.astype(np.float64)
        if v.kind == "bool":
            return v.data.astype(np.float64)
        raise RunError(span, "bad-operand", f"a {v.kind} is not a number")

    def check_int(self, r: np.ndarray, axes, ctx: _Ctx, span: A.Span) -> None:
        big = np.isfinite(r) & (np.abs(r) >= EXACT_INT_LIMIT)
        self.fail_if(Val(big, axes, "bool"), ctx, span, "too-large",
                     lambda at: f"{_fmt(at(Val(r, axes, 'int')))} is too large to represent "
                                "exactly (beyond 2^53)")

    def arith(self, e: A.BinOp, ctx: _Ctx) -> Val:
        a, b = self.ev(e.left, ctx), self.ev(e.right, ctx)
        axes = _union(a, b)
        x = _lift(Val(self.num(a, ctx, e.left.span), a.axes, a.kind), axes)
        y = _lift(Val(self.num(b, ctx, e.right.span), b.axes, b.kind), axes)
        X, Y = Val(x, axes, a.kind), Val(y, axes, b.kind)
        op = e.op
        kind = "frac" if "frac" in (a.kind, b.kind) else "int"

        def bad(mask, code, text):
            self.fail_if(Val(mask, axes, "bool"), ctx, e.span, code,
                         lambda at: f"{text}: {_fmt(at(X))} {op} {_fmt(at(Y))}")

        if op in ("/", "//", "%"):
            bad(y == 0, "div-zero", "division by zero")
        if op == "//":
            bad(np.isinf(x), "inf-arith", "inf // x is undefined")
        if op == "%":
            bad(np.isinf(x) | np.isinf(y), "inf-arith", "% with inf is undefined")
        with np.errstate(all="ignore"):
            if op == "+":
                r = x + y
            elif op == "-":
                r = x - y
            elif op == "*":
                r = x * y
            elif op == "/":
                r = x / y
                kind = "frac"
            elif op == "//":
                r = np.floor_divide(x, y)
                kind = "int"
            elif op == "%":
                r = np.mod(x, y)
            else:
                raise RunError(e.span, "internal", f"unknown operator {op}")
        undefined = {"+": "inf + -inf is undefined", "-": "inf - inf is undefined",
                     "*": "0 * inf is undefined", "/": "inf / inf is undefined"}
        bad(np.isnan(r), "inf-arith", undefined.get(op, "undefined"))
        if kind == "int":
            self.check_int(r, axes, ctx, e.span)
        return Val(r, axes, kind)

    def compare(self, e: A.Compare, ctx: _Ctx) -> Val:
        a, b = self.ev(e.left, ctx), self.ev(e.right, ctx)
        axes = _union(a, b)
        if a.kind == b.kind and a.kind in ("index", "bool", "token"):
            x, y = _lift(a, axes), _lift(b, axes)
        elif "token" in (a.kind, b.kind) or "bool" in (a.kind, b.kind):
            raise RunError(e.span, "bad-operand", f"cannot compare a {a.kind} with a {b.kind}")
        else:
            x = _lift(Val(self.num(a, ctx, e.left.span), a.axes, a.kind), axes)
            y = _lift(Val(self.num(b, ctx, e.right.span), b.axes, b.kind), axes)
        if a.kind == "token" and e.op not in ("==", "!="):
            raise RunError(e.span, "bad-operand", "tokens compare only with == and !=")
        fn = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
              ">": np.greater, ">=": np.greater_equal}[e.op]
        return Val(np.asarray(fn(x, y), dtype=bool), axes, "bool")

    def boolop(self, e: A.BoolOp, ctx: _Ctx) -> Val:
        a = self.ev(e.left, ctx)
        if e.op == "xor":
            b = self.ev(e.right, ctx)
            axes = _union(a, b)
            return Val(_lift(a, axes) ^ _lift(b, axes), axes, "bool")
        need = a if e.op == "and" else Val(~a.data, a.axes, "bool")
        sub = _and_mask(ctx.mask, need)
        if not sub.data.any():
            return a
        b = self.ev(e.right, ctx.masked(sub))
        axes = _union(a, b)
        x, y = _lift(a, axes), _lift(b, axes)
        return Val(x & y if e.op == "and" else x | y, axes, "bool")

    def ifexpr(self, e: A.IfExpr, ctx: _Ctx) -> Val:
        c = self.ev(e.cond, ctx)
        m_then = _and_mask(ctx.mask, c)
        m_else = _and_mask(ctx.mask, Val(~c.data, c.axes, "bool"))
        t = self.ev(e.then, ctx.masked(m_then)) if m_then.data.any() else None
        f = self.ev(e.orelse, ctx.masked(m_else)) if m_else.data.any() else None
        if t is None and f is None:
            t = f = self.ev(e.then, ctx.masked(m_then))
        if t is None:
            t = f
        if f is None:
            f = t
        kind, tdata, fdata = self.unify(t, f, ctx, e)
        axes = _union(c, t, f)
        ta, fa = Val(tdata, t.axes, kind), Val(fdata, f.axes, kind)
        return Val(np.where(_lift(c, axes), _lift(ta, axes), _lift(fa, axes)), axes, kind)

    def unify(self, a: Val, b: Val, ctx: _Ctx, e: A.Expr):
        if a.kind == b.kind:
            return a.kind, a.data, b.data
        numeric = {"int", "frac", "index"}
        if a.kind in numeric and b.kind in numeric:
            kind = "frac" if "frac" in (a.kind, b.kind) else "int"
            return kind, self.num(a, ctx, e.span), self.num(b, ctx, e.span)
        raise RunError(e.span, "bad-operand", f"branches give a {a.kind} and a {b.kind}")
