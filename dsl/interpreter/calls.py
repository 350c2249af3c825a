"""Calls: builtins, the edge tests of a graph, and defs, run on whole values with their
arguments and result conformed to the declared types."""
from __future__ import annotations

import numpy as np

from .. import ast as A
from .. import types as T
from ..sizes import eval_size
from ..values import NONE_INDEX
from .values import _Ctx, RunError, Val, _fmt, _lift, _union

_MAX_DEF_DEPTH = 64

class CallEval:
    """A mixin of `program._Interp`: the state it reads is the interpreter's."""

    # ------------------------------------------------------------ calls

    def call(self, e: A.Call, ctx: _Ctx) -> Val:
        f = e.func
        if f in self.defs:
            return self.call_def(self.defs[f], [self.ev(a, ctx) for a in e.args], e.args,
                                 e.span, ctx)
        if f in ("ceil", "floor", "log2"):
            return Val(np.array(float(eval_size(e, self.sizes))), (), "int")
        if f == "edge" and len(e.args) == 2:
            return self.edge_test(e, ctx)
        if f in ("src", "dst") and len(e.args) == 1 and self.graph is not None:
            # the checker admits only an edge index (a binder over `edges`): always in range
            v = self.ev(e.args[0], ctx)
            ends = self.graph.src if f == "src" else self.graph.dst
            return Val(np.asarray(ends, dtype=np.int64)[v.data.astype(np.int64)], v.axes,
                       "index")
        if f in ("min", "max") and e.args:
            vals = [self.ev(a, ctx) for a in e.args]
            axes = _union(*vals)
            kind = "index" if all(v.kind == "index" for v in vals) else \
                ("frac" if any(v.kind == "frac" for v in vals) else "int")
            datas = [_lift(v if kind == "index" else Val(self.num(v, ctx, a.span), v.axes, kind),
                           axes) for v, a in zip(vals, e.args)]
            fn = np.minimum if f == "min" else np.maximum
            r = datas[0]
            for d in datas[1:]:
                r = fn(r, d)
            return Val(np.asarray(r), axes, kind)
        if f == "abs" and len(e.args) == 1:
            v = self.ev(e.args[0], ctx)
            return Val(np.abs(self.num(v, ctx, e.args[0].span)), v.axes,
                       "frac" if v.kind == "frac" else "int")
        raise RunError(e.func_span, "unknown-function", f"no function '{f}' with "
                                                        f"{len(e.args)} arguments")

    def edge_test(self, e: A.Call, ctx: _Ctx) -> Val:
        g = self.graph
        if g is None:
            raise RunError(e.span, "bad-edge", "edge(…) needs a graph")
        n = g.n
        if self._edge_keys is None:
            self._edge_keys = np.unique(g.src.astype(np.int64) * n + g.dst.astype(np.int64))
        vi, vj = self.ev(e.args[0], ctx), self.ev(e.args[1], ctx)

        def what(x: str) -> str:
            return f"edge() of node {x}, outside nodes (0..{n - 1})"

        i = Val(self.as_index(vi, n, ctx, e.args[0].span, what), vi.axes, "index")
        j = Val(self.as_index(vj, n, ctx, e.args[1].span, what), vj.axes, "index")
        axes = _union(i, j)
        q = _lift(i, axes) * n + _lift(j, axes)
        keys = self._edge_keys
        if len(keys) == 0:
            return Val(np.zeros(q.shape, dtype=bool), axes, "bool")
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        return Val(keys[pos] == q, axes, "bool")

    def call_def(self, d: A.Def, args: list[Val], arg_exprs, span: A.Span, ctx: _Ctx) -> Val:
        if ctx.depth >= _MAX_DEF_DEPTH:
            raise RunError(span, "recursion", f"'{d.name}' calls itself too deeply")
        if len(args) != len(d.params):
            raise RunError(span, "bad-call", f"{d.name}() takes {len(d.params)} arguments, "
                                             f"given {len(args)}")
        local = _Ctx({}, mask=ctx.mask, env=None, depth=ctx.depth + 1)
        for p, v, ex in zip(d.params, args, arg_exprs):
            t = T.from_syntax(p.type)
            local.vars[p.name] = self.conform(
                v, t, ctx, getattr(ex, "span", span),
                lambda x, p=p, t=t: f"argument {p.name} of {d.name}() is {x}, outside "
                                    f"{t}")
        rtype = T.from_syntax(d.result)
        for s in d.body:
            if isinstance(s, A.Assign):
                local.vars[s.target] = self.ev(s.value, local)
            elif isinstance(s, A.Return) and len(s.values) == 1:
                r = self.ev(s.values[0], local)
                return self.conform(r, rtype, ctx, span,
                                    lambda x: f"{d.name}() returned {x}, outside its result "
                                              f"type {rtype}")
            else:
                raise RunError(s.span, "bad-def", "a def holds assignments and one return")
        raise RunError(d.span, "bad-def", f"{d.name}() ended without a return")

    def conform(self, v: Val, t: T.Type, ctx: _Ctx, span: A.Span, what) -> Val:
        """v checked against a def's declared scalar type, converted to its run-time form."""
        if isinstance(t, T.Int):
            x = self.num(v, ctx, span)
            ok = ~np.isnan(x)
            if t.lo is not None:
                ok = ok & (x >= t.lo) & (x <= t.hi)
            ok = ok & (np.isinf(x) | (x == np.floor(x)))
            xv = Val(x, v.axes, "int")
            self.fail_if(Val(~ok, v.axes, "bool"), ctx, span, "range",
                         lambda at: what(_fmt(at(xv))))
            return xv
        if isinstance(t, T.Frac):
            return Val(self.num(v, ctx, span), v.axes, "frac")
        if isinstance(t, T.Index) and v.kind == "index" and self.graph is not None \
                and t.axis.kind == "node":
            ok = (v.data >= 0) & (v.data < self.graph.n)
            if t.optional:
                ok = ok | (v.data == NONE_INDEX)
            self.fail_if(Val(~ok, v.axes, "bool"), ctx, span, "range",
                         lambda at: what(_fmt(at(v))))
        return v
